"""Analytical ground-truth cost model of the DANCE/Eyeriss template with a vectorised mapper (DESIGN.md §5).

Every modelling assumption of :class:`AnalyticalModel` is listed here, with units.

Template and units
------------------
DRAM ↔ global buffer (GLB, ``glb_bytes``) ↔ array of ``pe_x`` (columns, X) × ``pe_y`` (rows, Y) PEs;
each PE has one MAC, an RF of ``rf_bytes`` and a 1-word register for every operand its RF does not
hold. One word = ``word_bits`` (weights, inputs, outputs and partial sums alike). Latency in cycles at
``clock_mhz``; energy in pJ; area in µm². Per-access energies and areas come from the technology table
(:mod:`hdx.cost.tech`): an SRAM/RF access costs the table's energy at that memory's capacity, a
register access the 1-word point, a MAC the table's MAC energy at ``word_bits``; DRAM costs
``dram_pj_per_64bit · word_bits / 64`` per word.

Loops of a layer
----------------
N batch, K output channels, C input channels, G groups, Cg = C/G reduction channels, P×Q output,
R×S kernel. MACs = N·K·Cg·P·Q·R·S. A depthwise layer (G = C = K) has Cg = 1: its channel loop is K,
on which weights, inputs and outputs all depend. Pointwise = 1×1 conv; FC = 1×1 conv on a 1×1 map.

Interconnect (``hardware.noc``)
-------------------------------
Spatial reuse only where the template has the wires: ``multicast`` (default) — the GLB multicasts a
word to every PE that needs it in the same cycle, and partial sums are reduced along an array axis
(adder chain); nothing moves between PEs otherwise. ``forwarding`` — additionally, inputs shift between
neighbouring PEs (systolic / sliding-window reuse, as in ShiDianNao): used by OS, where the GLB then
sends each output tile's input window (with its halo) once per channel and every other input word
costs one hop (one 1-word register write at the neighbour); it adds one 1-word register per PE of area.
WS and RS do not use it.

Spatial mapping (compute cycles)
--------------------------------
A loop of bound D unrolled on t PEs runs in ``ceil(D/t)`` passes: utilisation is lost at the edges.
Each array axis has a *primary* loop and may *replicate* a secondary loop on PEs the primary leaves
idle (Eyeriss-style folding/replication). The axis is cut into m ∈ {1, 2, 3, 4} equal groups, the
primary tile is balanced (``t = ceil(D/ceil(D/t))``) and the m with most busy PEs is kept.

* **WS** (weight-stationary): Y ← Cg (spare rows replicate K), X ← K. Inputs are multicast along
  rows, partial sums reduced down columns. RF: weights; registers: input, partial sum.
* **OS** (output-stationary): X ← Q (spare columns replicate K), Y ← P (spare rows replicate K).
  Weights are multicast to every pixel PE; each PE's input is its own (multicast only across K
  replicas). RF: partial sums; registers: weight, input.
* **RS** (row-stationary, Eyeriss): Y ← R (filter rows; spare rows replicate Cg, or K for depthwise),
  X ← P (output rows; spare columns replicate K). Weights are multicast along a row, inputs along
  diagonals (``(px−1)·stride + ry`` distinct rows), partial sums reduced down columns. RF: three fixed
  scratchpads, for weights, inputs and partial sums (Eyeriss's spads), sized from ``rf_bytes`` in the
  proportions ``hardware.rs_spads`` (default Eyeriss's 192 : 12 : 16 words; inputs and psums get at
  least one word, weights the rest; :meth:`HardwareParams.spad_words`). Each tile must fit its own pad
  and each access costs the table energy at that pad's size; the pads' areas replace the RF's.

compute_cycles = per-PE temporal iterations = MACs · Π over unrolled loops (passes / D).

Mapper (temporal mapping)
-------------------------
Per (layer, accelerator) the model enumerates a bounded set of legal mappings of the dataflow and
keeps the best under ``mapper_objective`` (default ``latency``, ties broken by energy, as ZigZag's
minimal-latency reduction; ``energy`` or ``edp`` on request). A mapping is a PE-local (RF-level) tile
and an order of the GLB-level loops; all candidates are evaluated as [layers × accelerators] arrays.

* Perfect factorisation (``mapper_tiles="divisors"``, default, as ZigZag's and Timeloop's mappers): every
  PE-local tile factor below and every tap chunk is shrunk to the largest divisor of its loop's per-PE
  bound, so no tile is partial; ``mapper_tiles="any"`` allows a partial last tile (8 + 3 filters of 11).
* PE-local tile: the kernel taps are innermost (S, then R). WS: ``c_in`` ∈ {1, 2, 4, …, 32} input
  channels' weights (all taps; else a chunk of ``min(R·S, RF words)`` taps) — the partial sum stays in
  its register across them. OS: ``k_in`` ∈ {1, …, 32} partial sums (≤ RF words), either with the taps
  innermost (``taps-inner``) or with the K loop innermost (``k-inner``: the input register is reused
  across ``k_in`` filters while the weight changes every MAC; with ``mapper_space=taps-innermost`` only
  for 1×1 kernels, where the taps are trivially innermost).
  RS: ``q_in`` outputs of a row
  (1, 4, 16 or the whole row) × ``c_in`` channels × ``s_in`` taps × ``k_in`` filters, largest ``s_in``
  then ``k_in`` such that weights ``k·c·s``, the input window ``c·((q−1)·stride + s)`` and psums
  ``k·q`` each fit their scratchpad (depthwise: one window per filter).
  Or the inputs are **streamed** (``streamed`` modes): no input window is held, every MAC's input comes
  from the GLB through the input pad (a write and a read), so the weight and psum pads alone bound the
  tile (weights ``k·c·s``, psums ``k·q``; ``q`` a single output or the whole row) — the choice ZigZag
  makes when the window does not fit the input pad. The PE's innermost loop (``RS_MODES``): the taps
  (``taps-inner``), the row's outputs (``q-inner``) or the filters (``k-inner``; streamed, a dense
  layer's input is then fetched once per ``k`` filters), the one that saves most reads (below).
* Temporal reuse only of what a PE actually holds: a 1-word register holds one word, so an operand in a
  register is refetched whenever the innermost loop it depends on moves (inputs depend on the taps:
  with taps innermost an input register gets a new word every MAC). No sliding-window reuse inside a
  PE beyond the window the tile holds.
* Operand latch (``hardware.operand_latch``, default on, as ZigZag): the MAC keeps its last weight and
  input, so one is read from its RF/pad/register once per run of the innermost PE loop it does not
  depend on (RS ``q-inner``: a weight serves ``q_in`` outputs; RS ``k-inner`` and OS ``k-inner``, dense
  layers: an input serves ``k_in`` filters). Off: every MAC re-reads both (Timeloop's assumption).
  Partial sums are read and written every MAC either way.
* GLB-level order: the remaining loops form three groups — PQ (output pixels and batch: inputs and
  outputs depend on it), RED (channel tiles, filter-row and tap chunks: weights and inputs), K (filter
  tiles: weights and outputs; inputs too for depthwise). Every order of the three (6) is evaluated;
  an operand's tile is refilled on every outer iteration except across the innermost run of groups it
  does not depend on (stationarity). The order kept is the one with least ``max(compute, GLB port
  cycles)`` (below), ties to fewer GLB words.
* GLB ↔ array words per operand = fills per PE × distinct words across the array (multicast counts
  once; a reduced partial sum counts once). Partial sums: one write per fill, one read-back for all
  but the first. Per-PE bounds are the spatial residuals ``ceil(D/t)``, so the last, partial pass of
  an unrolled loop fetches as a full one (a slight overcount at the edges).
* GLB port (one read-write port, as an SRAM's): each cycle it makes one access, for one operand in one
  direction, of at most ``glb_words_per_cycle`` words. A fill step of an operand moves its ``dist``
  distinct words (each PE takes one word per cycle), so it occupies the port ``ceil(dist / bw)`` cycles
  however few words it moves: GLB port cycles = Σ operands words × ceil(dist / bw) / dist.
  ``--explain`` prints the chosen mapping (with its GLB words and port cycles).

GLB ↔ DRAM traffic
------------------
Outputs are produced in tiles that fit the GLB, so psums never go to DRAM: outputs are written once.
Per group, one of inputs (I) or weights (W) is kept resident and the other re-fetched once per
resident tile, or — when a group's outputs fit the GLB beside one double-buffered input channel and
its filters' slice — the outputs stay resident and inputs and weights stream once each (``o_res = I +
W``, the reduction-outer schedule); the cheapest is taken (mapping field ``dram_res``: 0 inputs,
1 weights, 2 outputs resident). A resident operand that fits the whole GLB is loaded once
(no tile is replaced, so no double buffer); otherwise it is tiled in the usable half (double
buffering, ``cap`` words). Input tiles are bands of ``b`` output rows over the channels whose input
planes must be in the GLB together — all Cg of a group for a dense layer, the channels unrolled on
the array (the mapping's K replication) for a depthwise layer — and each band fetches its input rows
with the kernel halo, ``(b−1)·stride + R`` rows, ``b`` the most that fit ``cap``:
``halo = n_bands·((b−1)·stride + R) / (H + 2·pad)`` (1 when the planes fit the whole GLB). So
``reads = G·min(Ig·halo + Wg·n_bands, Wg + Ig·n_W, o_res)`` with ``n_W`` = 1 if Wg fits the GLB, else
``ceil(Wg/cap)``, and ``o_res = Ig + Wg`` where a group's outputs fit (else none); depthwise:
``I·halo + W``. No line buffer (halo rows are fetched again per band).

Latency (double-buffered GLB, pipeline fill and drain)
------------------------------------------------------
DRAM reads of the next tile overlap compute and GLB traffic (double-buffered GLB, as Timeloop assumes
for every level); the array and the GLB port overlap (double-buffered RF/registers). What cannot
overlap: the first tile of the resident operand must be in the GLB before the first MAC (*fill*;
outputs resident: the first channel slice), and the last output tile — up to half the GLB; outputs
resident: all of a group's outputs — is written to DRAM after the last MAC (*drain*; layers run one
after another). So ``latency = max(max(compute, GLB port cycles) + fill + drain,
DRAM bytes / dram_bytes_per_cycle)``. No DRAM latency term, no NoC contention.

Energy
------
MACs·E_mac + RF accesses·E_rf(size) + register accesses·E_reg + hops·E_reg (forwarding only) + GLB
accesses (array reads and writes + DRAM fills + output drain)·E_sram(glb_bytes) + DRAM words·E_dram.
Per MAC: WS one RF read (weight) and three register accesses; OS a psum RF read + write and two register
reads; RS weight and input RF reads and a psum RF read + write (weight and input reads fewer with the
operand latch, see above; a streamed input: one pad write and one read per fetch). Every fill of a
PE's RF or register is one write there; every psum fill/drain one access. (Register and hop energy
are reported inside the ``rf`` part.) No leakage, no clock, no wire energy beyond the hop.

Numerics
--------
Evaluated in float32 by default (``precision``): every cost is within 1e-6 relative of float64 and the
chosen mappings are the same (tested); results are returned as float64, MACs as exact integers. A
result that is not finite in float32 is recomputed in float64 before it is refused. Layers are
evaluated in chunks (dense and depthwise apart); a mapping candidate that coincides with an earlier one
for a whole chunk is evaluated once, and so is each distinct layer shape (a repeated shape copies the row).

Area
----
``pe`` = PEs·MAC area; ``rf`` = PEs·SRAM area(rf_bytes) (RS: the sum of its three pads' areas);
``glb`` = SRAM area(glb_bytes);
``noc`` = PEs·(``noc_registers_per_pe`` [+ 1 with forwarding])·area of a 1-word register. DRAM is off chip.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path
from typing import Literal

import numpy as np

from hdx.cost.base import LayerCosts, check_finite
from hdx.cost.tech import TechTable, load_tech
from hdx.errors import HDXError
from hdx.space.accelerator import DATAFLOWS, AccelTable, HardwareParams
from hdx.workload import LAYER_FIELDS, LayerTable

MapperObjective = Literal["latency", "energy", "edp"]
MapperSpace = Literal["full", "taps-innermost"]
MapperTiles = Literal["any", "divisors"]

# minimum RF words per dataflow (one word per operand the dataflow holds in its RF)
MIN_RF_WORDS: dict[str, tuple[int, str]] = {
    "ws": (1, "one weight"),
    "os": (1, "one partial sum"),
    "rs": (3, "one weight, one input and one partial sum"),
}
_GROUPS_PER_AXIS: tuple[int, ...] = (1, 2, 3, 4)
_CHUNK = 64  # layers per vectorised pass
_TIE = 1e-6  # mapping keys within this relative difference tie (above float32 rounding)
# internal precision: float32 (default) halves the memory traffic; its results agree with float64
# within 1e-6 relative (tests/test_cost_model.py). Results are returned as float64 either way.
Precision = Literal["float32", "float64"]
# RF tile factors the mapper tries for a channel loop (and, for RS, the output-row loop; 0 = whole row)
_FACTORS: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
_ROW_FACTORS: tuple[int, ...] = (1, 4, 16, 0)
# outer (GLB-level) loop groups and their orders, innermost first
GROUPS: tuple[str, ...] = ("pq", "red", "k")
ORDERS: tuple[tuple[int, int, int], ...] = tuple(itertools.permutations(range(3)))
# fields of the chosen mapping kept per (layer, accelerator) for ``--explain``
# dram_res: what the GLB keeps resident (0 inputs, 1 weights, 2 outputs; see "GLB <-> DRAM traffic")
MAPPING_FIELDS: tuple[str, ...] = ("mode", "order", "c_in", "k_in", "q_in", "s_in", "glb_words", "glb_cycles",
                                   "hops", "dram_res")
OS_MODES: tuple[str, ...] = ("taps-inner", "k-inner")
# RS: the PE's innermost loop, with the input window in its pad or the inputs streamed from the GLB
RS_MODES: tuple[str, ...] = ("taps-inner", "q-inner", "k-inner", "streamed taps-inner", "streamed q-inner",
                             "streamed k-inner")


def _cdiv(a, b):
    return np.ceil(a / b)


def _axis(d1: np.ndarray, d2: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unroll primary loop ``d1`` on an axis of ``size`` PEs and replicate ``d2`` on the spare PEs.

    Returns (t, f): PEs given to each ``d1`` tile (balanced) and the replication of ``d2``; the axis
    is split into m ∈ {1..4} groups and the split with most busy PEs (ties: fewest groups) is kept.
    """
    best = best_t = best_f = None
    for m in _GROUPS_PER_AXIS:
        t = np.maximum(np.minimum(d1, np.floor(size / m)), 1.0)
        t = _cdiv(d1, _cdiv(d1, t))
        f = np.maximum(np.minimum(np.floor(size / t), d2), 1.0)
        f = _cdiv(d2, _cdiv(d2, f))
        score = d1 / _cdiv(d1, t) * (d2 / _cdiv(d2, f))
        if best is None:
            best, best_t, best_f = score, t, f
        else:
            better = score > best * (1 + 1e-12)
            best = np.where(better, score, best)
            best_t = np.where(better, t, best_t)
            best_f = np.where(better, f, best_f)
    return best_t, best_f


_DIV_N, _DIV_X = 4096, 1024  # the largest-divisor table covers loops < 4096 and caps <= 1024
_div_table: np.ndarray | None = None


def _largest_divisor(n: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The largest divisor of ``n`` that is at most ``x`` (elementwise; integer-valued arrays, x >= 1):
    a table lookup (built once, 8 MB) for loops < 4096, a loop over the candidates beyond it."""
    global _div_table
    x = np.minimum(np.maximum(x, 1.0), n)
    if np.size(n) and np.max(n) < _DIV_N and np.max(x) <= _DIV_X:
        if _div_table is None:
            t = np.ones((_DIV_N, _DIV_X + 1), dtype=np.int16)
            for d in range(2, _DIV_X + 1):  # larger divisors overwrite smaller ones
                t[d::d, d:] = d
            _div_table = t.ravel()
        return _div_table.take((n * (_DIV_X + 1) + x).astype(np.intp)).astype(np.result_type(n, x))
    n, x = np.broadcast_arrays(n, x)
    best = np.ones(n.shape, dtype=n.dtype)
    for d in range(2, int(np.max(x, initial=1)) + 1):
        best = np.where((np.fmod(n, d) == 0) & (d <= x), float(d), best)
    return best


def _all_finite(c: LayerCosts) -> bool:
    return bool(np.isfinite(c.latency_cycles).all() and np.isfinite(c.compute_cycles).all()
                and all(np.isfinite(v).all() for v in c.energy_pj.values()))


def _empty_like_rows(part: LayerCosts, n: int) -> LayerCosts:
    rows = lambda a: np.empty((n, *a.shape[1:]), dtype=a.dtype)  # noqa: E731
    return LayerCosts(latency_cycles=rows(part.latency_cycles), compute_cycles=rows(part.compute_cycles),
                      memory_cycles=rows(part.memory_cycles),
                      energy_pj={k: rows(v) for k, v in part.energy_pj.items()}, area_um2=part.area_um2,
                      utilisation=rows(part.utilisation), macs=rows(part.macs), clock_mhz=part.clock_mhz,
                      mapping=None if part.mapping is None else {k: rows(v) for k, v in part.mapping.items()})


def _take_rows(part: LayerCosts, idx: np.ndarray) -> LayerCosts:
    """Rows ``idx`` of ``part`` (a layer's costs repeated for every layer of the same shape)."""
    res = _empty_like_rows(part, len(idx))
    _put_rows(res, np.arange(len(idx)), part, idx)
    return res


def _put_rows(res: LayerCosts, idx: np.ndarray, part: LayerCosts,
              src: np.ndarray | slice = slice(None)) -> None:
    for name in ("latency_cycles", "compute_cycles", "memory_cycles", "utilisation", "macs"):
        getattr(res, name)[idx] = getattr(part, name)[src]
    for k, v in part.energy_pj.items():
        res.energy_pj[k][idx] = v[src]
    if res.mapping is not None and part.mapping is not None:
        for k, v in part.mapping.items():
            res.mapping[k][idx] = v[src]


def _chunks(layers: LayerTable) -> list[np.ndarray]:
    """Layer indices in evaluation chunks: depthwise and dense layers apart, each sorted by output width
    (then kernel size), at most ``_CHUNK`` layers each."""
    n = len(layers)
    dw = np.asarray(layers.is_depthwise)
    if n <= _CHUNK and (dw.all() or not dw.any()):
        return [np.arange(n)]
    order = np.lexsort((np.asarray(layers.r), np.asarray(layers.q), dw))
    n_dw = int(dw.sum())
    groups = [order[:n - n_dw], order[n - n_dw:]]  # dense first (dw sorts last)
    return [g[i:i + _CHUNK] for g in groups for i in range(0, len(g), _CHUNK) if len(g)]


def _skipped(rel: tuple, order: tuple[int, int, int]) -> list:
    """Groups of ``order`` (innermost first) in the innermost run an operand with relevance ``rel`` does
    not depend on (array relevance: ``("a", g)``, the run continues where it is irrelevant)."""
    out: list = []
    for g in order:
        r = rel[g]
        if isinstance(r, bool | np.bool_):
            if r:
                break
            out.append(g)
        else:
            out.append(("a", g))
    return out


class _Distinct:
    """Remembers the tile parameters of the candidates evaluated so far: a candidate whose parameters
    equal an earlier one's for every (layer, accelerator) is the same mapping and is skipped (ties go to
    the first candidate anyway, so skipping it changes nothing)."""

    def __init__(self) -> None:
        self.seen: set[tuple] = set()

    def new(self, *params) -> bool:
        key = tuple((np.shape(p), np.asarray(p).tobytes()) for p in params)
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


class _Candidate:
    """Traffic of one mapping candidate on one dataflow's [L, A_d] slice (words, pJ, cycles)."""

    __slots__ = ("valid", "w", "i", "o", "port", "local_pj", "hops", "fields")

    def __init__(self, valid, w, i, o, port, local_pj, hops, fields):
        self.valid, self.w, self.i, self.o, self.port = valid, w, i, o, port
        self.local_pj, self.hops, self.fields = local_pj, hops, fields


def _port_per_word(dist, bw: float):
    """GLB port cycles per word of an operand: one access per cycle, for one operand in one direction,
    of at most ``bw`` words; each access step of an operand carries its ``dist`` distinct words (one per
    group of PEs that share them), so it takes ``ceil(dist / bw)`` cycles, however few words it moves."""
    return _cdiv(dist, bw) / dist


def _port_cycles(words: dict, dist: dict, bw: float):
    """GLB port cycles of the array-side traffic ``words`` per operand (see :func:`_port_per_word`)."""
    return sum(words[x] * _port_per_word(dist[x], bw) for x in words)


class AnalyticalModel:
    """Vectorised analytical cost model with a mapper (see the module docstring for every assumption).

    ``evaluate(layers, accels)`` broadcasts layers [L] × accelerators [A] in numpy (no Python loop over
    layers or accelerators; one pass per dataflow over the accelerators that use it, and one per mapping
    candidate of that dataflow). ``mapper_objective`` orders the mappings of one (layer, accelerator):
    ``latency`` (ties: energy; the default, as ZigZag's minimal-latency reduction), ``energy`` (ties:
    latency) or ``edp``. ``mapper_space``: ``full`` (default) or ``taps-innermost`` (the kernel taps
    always innermost, as ZigZag's LOMA with FX/FY pinned: OS's ``k-inner`` only for 1×1 kernels).
    ``mapper_tiles``: ``divisors`` (default: every PE-local tile and tap chunk is shrunk to the largest
    divisor of its loop, the perfect factorisation of ZigZag's and Timeloop's mappers) or ``any`` (a
    PE-local tile may leave a partial last tile, e.g. 8 + 3 filters of 11). ``precision``: ``float32``
    (default, faster) or ``float64`` internal arithmetic (see Numerics).
    """

    name = "analytical"
    version = "2.4"

    def __init__(self, hardware: HardwareParams | None = None, tech: TechTable | str | Path | None = None,
                 mapper_objective: MapperObjective = "latency", mapper_space: MapperSpace = "full",
                 precision: Precision = "float32", mapper_tiles: MapperTiles = "divisors"):
        self.hardware = hardware if hardware is not None else HardwareParams()
        if isinstance(tech, TechTable):
            self.tech = tech
        else:
            self.tech = load_tech(tech if tech is not None else self.hardware.tech)
        if mapper_objective not in ("latency", "energy", "edp"):
            raise HDXError(f"mapper_objective must be latency, energy or edp, got {mapper_objective!r}")
        self.mapper_objective: MapperObjective = mapper_objective
        if mapper_space not in ("full", "taps-innermost"):
            raise HDXError(f"mapper_space must be full or taps-innermost, got {mapper_space!r}")
        self.mapper_space: MapperSpace = mapper_space
        if mapper_tiles not in ("any", "divisors"):
            raise HDXError(f"mapper_tiles must be any or divisors, got {mapper_tiles!r}")
        self.mapper_tiles: MapperTiles = mapper_tiles
        if precision not in ("float32", "float64"):
            raise HDXError(f"precision must be float32 or float64, got {precision!r}")
        self.precision: Precision = precision

    def fingerprint(self) -> str:
        """sha256 of the model name, version, mapper objective, hardware parameters and technology table."""
        blob = {"model": self.name, "version": self.version, "mapper": self.mapper_objective,
                "mapper_space": self.mapper_space, "mapper_tiles": self.mapper_tiles,
                "precision": self.precision,
                "hardware": self.hardware.model_dump(mode="json"),
                "tech": self.tech.model_dump(mode="json")}
        return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()

    def __repr__(self) -> str:
        return (f"AnalyticalModel(v{self.version}, tech={self.tech.name}, "
                f"word_bits={self.hardware.word_bits}, "
                f"noc={self.hardware.noc})")

    # ------------------------------------------------------------------------------------------
    def _check_rf(self, layers: LayerTable, accels: AccelTable, rfw: np.ndarray) -> None:
        hw = self.hardware
        for d, df in enumerate(DATAFLOWS):
            need, what = MIN_RF_WORDS[df]
            bad = np.nonzero((accels.dataflow == d) & (rfw < need))[0]
            if bad.size:
                acc = accels.accelerator(int(bad[0]))
                name = layers.names[0] or "0"
                need_bytes = int(np.ceil(need * hw.word_bits / 8))
                raise HDXError(
                    f"layer '{name}' on accelerator {acc}: no tile fits the RF: {acc.rf_bytes} B holds "
                    f"{int(rfw[bad[0]])} word(s) of {hw.word_bits} bits but {df.upper()} must hold {what} "
                    f"({need} word(s)); use rf >= {need_bytes} bytes, smaller word_bits or another dataflow")

    def evaluate(self, layers: LayerTable, accels: AccelTable) -> LayerCosts:
        """Costs of every layer on every accelerator: [L, A] arrays (cycles, pJ) and area [A] (µm²);
        ``mapping`` holds the chosen mapping of each pair (:data:`MAPPING_FIELDS`). A non-finite cost
        (from extreme hardware or technology values) is an :class:`HDXError`, never a result."""
        res = self._evaluate_chunks(layers, accels, self.precision)
        if self.precision == "float32" and not _all_finite(res):
            res = self._evaluate_chunks(layers, accels, "float64")  # beyond float32's range: redo
        return check_finite(res, layers, accels, model=f"{self.name} v{self.version}")

    def _evaluate_chunks(self, layers: LayerTable, accels: AccelTable, precision: Precision) -> LayerCosts:
        # layers of the same shape cost the same: each distinct shape is evaluated once
        shapes = np.stack([layers.kind, *(getattr(layers, f) for f in LAYER_FIELDS)], axis=1)
        _, first, inverse = np.unique(shapes, axis=0, return_index=True, return_inverse=True)
        if len(first) < len(layers):
            return _take_rows(self._evaluate_chunks(layers[first], accels, precision), inverse.ravel())
        with np.errstate(over="ignore", invalid="ignore"):  # refused by check_finite
            # chunks of at most _CHUNK layers (the [L, A] temporaries stay cache-sized), depthwise and
            # dense layers apart and sorted by output width: within a chunk, more mapping candidates
            # coincide for every layer and are evaluated once (see _Distinct)
            chunks = _chunks(layers)
            if len(chunks) == 1:
                return self._evaluate(layers, accels, precision)
            res = None
            for idx in chunks:
                part = self._evaluate(layers[idx], accels, precision)
                if res is None:  # the first chunk sets the fields; every chunk writes its rows
                    res = _empty_like_rows(part, len(layers))
                _put_rows(res, idx, part)
            assert res is not None
            return res

    def _evaluate(self, layers: LayerTable, accels: AccelTable, precision: Precision) -> LayerCosts:
        hw, tech = self.hardware, self.tech
        wbits = hw.word_bits
        n_acc = len(accels)
        if n_acc == 0:
            raise HDXError("no accelerators to evaluate: give at least one")
        rfw_all = np.floor(accels.rf_bytes * 8 / wbits)
        self._check_rf(layers, accels, rfw_all)

        DT = np.float32 if precision == "float32" else np.float64  # noqa: N806
        col = lambda a: np.asarray(a, dtype=DT)[:, None]  # noqa: E731
        lay = dict(N=col(layers.n), K=col(layers.k), C=col(layers.c), G=col(layers.groups),
                   H=col(layers.h), W=col(layers.w), R=col(layers.r), S=col(layers.s),
                   P=col(layers.p), Q=col(layers.q), st=col(layers.stride), pad=col(layers.padding))
        lay["Cg"] = lay["C"] / lay["G"]
        lay["dw"] = (lay["Cg"] == 1) & (lay["K"] == lay["G"]) & (lay["G"] > 1)
        N, K, Cg, P, Q, R, S = (lay[k] for k in ("N", "K", "Cg", "P", "Q", "R", "S"))
        macs = N * K * Cg * P * Q * R * S
        w_tot = K * Cg * R * S
        i_tot = N * lay["C"] * lay["H"] * lay["W"]
        o_tot = N * K * P * Q
        lay.update(macs=macs, w_tot=w_tot, i_tot=i_tot, o_tot=o_tot)

        shape = (len(layers), n_acc)
        out = {k: np.empty(shape, dtype=DT) for k in ("compute", "glb_arr", "glb_port", "local_pj", "hops",
                                                      "inflight")}
        mapping = {k: np.zeros(shape, dtype=DT) for k in MAPPING_FIELDS}
        e = dict(reg=tech.register_energy_pj(wbits))  # a 1-word register access; a hop is one write
        for d, df in enumerate(DATAFLOWS):
            idx = np.nonzero(accels.dataflow == d)[0]
            if idx.size == 0:
                continue
            acc = dict(X=np.asarray(accels.pe_x[idx], dtype=DT)[None, :],
                       Y=np.asarray(accels.pe_y[idx], dtype=DT)[None, :],
                       rfb=np.asarray(accels.rf_bytes[idx], dtype=DT)[None, :])
            acc["rfw"] = np.floor(acc["rfb"] * 8 / wbits)
            acc["e_rf"] = tech.sram_energy_pj(acc["rfb"], wbits)
            acc["e_glb"] = tech.sram_energy_pj(accels.glb_bytes[idx].astype(DT)[None, :], wbits)
            compute, cands, inflight = getattr(self, f"_{df}")(lay, acc, e)
            out["inflight"][:, idx] = inflight
            best = self._select(compute, cands, acc["e_glb"], e["reg"])
            out["compute"][:, idx] = compute
            for k in ("glb_arr", "glb_port", "local_pj", "hops"):
                out[k][:, idx] = best[k]
            for k, v in best["fields"].items():
                mapping[k][:, idx] = v

        # GLB <-> DRAM (every dataflow, see the module docstring): one operand resident (whole if it fits
        # the GLB, else in tiles of the usable half), the other re-fetched once per tile; input tiles are
        # bands of output rows, each fetching its input rows with the kernel halo.
        glb_bytes = accels.glb_bytes.astype(DT)[None, :]
        cap = hw.glb_tile_words(glb_bytes)
        G, dw = lay["G"], lay["dw"]
        ig, wg = i_tot / G, w_tot / G
        # channels whose input planes must be in the GLB together: all Cg of a group (dense), the
        # spatially unrolled channels (depthwise)
        ch = np.where(dw, out["inflight"], lay["Cg"])
        hp = lay["H"] + 2 * lay["pad"]
        wp = lay["W"] + 2 * lay["pad"]
        st, R, P = lay["st"], lay["R"], lay["P"]
        fits = ch * N * hp * wp <= 2 * cap  # loaded once: no tile replaced, no double buffer needed
        band = np.floor((cap / (ch * N * wp) - R) / st) + 1
        band = np.where(fits, P, np.clip(band, 1.0, P))
        n_band = _cdiv(P, band)
        halo = np.where(n_band > 1, n_band * ((band - 1) * st + R) / hp, 1.0)
        halo = np.maximum(halo, 1.0)
        i_res = ig * halo + wg * n_band
        w_res = wg + ig * np.where(wg <= 2 * cap, 1.0, _cdiv(wg, cap))
        # outputs resident: a group's outputs stay in the GLB while inputs and weights stream once,
        # one input channel (its padded plane) and its filters' slice at a time, double-buffered
        og, slice_ = o_tot / G, N * hp * wp + lay["K"] / G * R * lay["S"]
        o_res = np.where(og + 2 * slice_ <= 2 * cap, ig + wg, np.inf)
        res = np.where(o_res < np.minimum(i_res, w_res), 2.0, np.where(i_res <= w_res, 0.0, 1.0))
        res = np.where(dw, 0.0, res)
        dram_rd = np.where(dw, i_tot * halo + w_tot, G * np.minimum(np.minimum(i_res, w_res), o_res))
        # the resident operand's first tile must be in the GLB before the first MAC (outputs resident:
        # the first slice); the last output tile is drained after the last MAC (outputs resident: all)
        first_tile = np.choose(res.astype(np.intp), [np.minimum(ig, cap), np.minimum(wg, cap), slice_])
        mapping["dram_res"] = res
        wbytes = wbits / 8
        dram_cyc = (dram_rd + o_tot) * wbytes / hw.dram_bytes_per_cycle
        fill = first_tile * wbytes / hw.dram_bytes_per_cycle
        drain = np.where(res == 2, og, np.minimum(o_tot, cap)) * wbytes / hw.dram_bytes_per_cycle
        glb_cyc = out["glb_port"]
        latency = np.maximum(np.maximum(out["compute"], glb_cyc) + fill + drain, dram_cyc)
        # results in float64; MACs exactly, from the integer loop bounds
        f64 = lambda a: np.broadcast_to(np.asarray(a, dtype=np.float64), shape).copy()  # noqa: E731
        macs64 = np.prod(np.stack([np.asarray(v, dtype=np.int64) for v in (
            layers.n, layers.k, np.asarray(layers.c) // np.asarray(layers.groups), layers.p, layers.q,
            layers.r, layers.s)]), axis=0)
        pes = accels.num_pes.astype(np.float64)
        e_glb = tech.sram_energy_pj(glb_bytes, wbits)
        energy = {
            "mac": f64(macs64[:, None] * tech.mac_energy_pj(wbits)),
            "rf": f64(out["local_pj"] + out["hops"] * e["reg"]),
            "glb": f64((out["glb_arr"] + dram_rd + o_tot) * e_glb),
            "dram": f64((dram_rd + o_tot) * tech.dram_energy_pj(wbits)),
        }
        fwd_regs = 1.0 if hw.noc == "forwarding" else 0.0
        pad_area = sum(tech.sram_area_um2(v * wbits / 8) for v in hw.spad_words(rfw_all))  # RS pads
        area = {
            "pe": pes * tech.mac_area_um2(wbits),
            "rf": pes * np.where(accels.dataflow == DATAFLOWS.index("rs"), pad_area,
                                 tech.sram_area_um2(accels.rf_bytes.astype(np.float64))),
            "glb": tech.sram_area_um2(accels.glb_bytes.astype(np.float64)),
            "noc": pes * (tech.noc_registers_per_pe + fwd_regs) * tech.register_area_um2(wbits),
        }
        latency, compute = f64(latency), f64(out["compute"])
        util = macs64[:, None] / (latency * pes[None, :])
        return LayerCosts(latency_cycles=latency, compute_cycles=compute, memory_cycles=latency - compute,
                          energy_pj=energy, area_um2=area, utilisation=util, macs=macs64,
                          clock_mhz=hw.clock_mhz, mapping={k: f64(v) for k, v in mapping.items()})

    # ------------------------------------------------------------------------------------------
    def _select(self, compute: np.ndarray, cands: list[_Candidate], e_glb: np.ndarray, e_hop: float) -> dict:
        """The best candidate per (layer, accelerator) under ``mapper_objective`` (each candidate already
        carries its best GLB-level order). All on the array side: DRAM traffic does not depend on the
        PE-level mapping. Ties (within ``_TIE`` relative, so float32 and float64 see the same ties) go to the
        second key, then to the first candidate."""
        shape = compute.shape
        stack = lambda vals: np.stack([np.broadcast_to(v, shape) for v in vals])  # noqa: E731
        words = stack([c.w + c.i + c.o for c in cands])
        local = stack([c.local_pj for c in cands])
        hops = stack([c.hops for c in cands])
        port = stack([c.port for c in cands])
        valid = stack([c.valid for c in cands])
        cyc = np.where(valid, np.maximum(compute[None], port), np.inf)
        energy = np.where(valid, local + words * e_glb + hops * e_hop, np.inf)
        key1, key2 = {"latency": (cyc, energy), "energy": (energy, cyc), "edp": (cyc * energy, cyc)}[
            self.mapper_objective]
        m1 = key1.min(0)
        if not np.all(np.isfinite(m1)):
            raise HDXError("no legal mapping for some (layer, accelerator) pair: the RF is too small")
        k2 = np.where(key1 <= m1 + _TIE * np.abs(m1), key2, np.inf)
        m2 = k2.min(0)
        pick = (k2 <= m2 + _TIE * np.abs(m2)).argmax(0)[None]  # the first within the tie of both keys
        take = lambda a: np.take_along_axis(a, pick, 0)[0]  # noqa: E731
        fields = {}
        for k in cands[0].fields:
            vals = [c.fields[k] for c in cands]
            if all(np.ndim(v) == 0 for v in vals):  # one number per candidate: look it up
                fields[k] = np.asarray(vals, dtype=compute.dtype)[pick[0]]
            else:
                fields[k] = take(stack(vals))
        best = dict(glb_arr=take(words), glb_port=take(port), local_pj=take(local), hops=take(hops),
                    fields=fields)
        fields.update(glb_words=best["glb_arr"], glb_cycles=best["glb_port"], hops=best["hops"])
        return best

    def _orders(self, ops: dict, bounds: tuple, o_tot: np.ndarray, compute: np.ndarray,
                fixed_port: np.ndarray | float = 0.0):
        """GLB words of the operands held in PE-local tiles under the best GLB-level loop order.

        ``ops`` maps operand (``w``, ``i``, ``o``) to (tile words ``fp``, distinct copies on the array
        ``dist``, relevance to the groups ``rel``). Returns (words per operand, fills per PE per operand,
        order index, GLB port cycles including ``fixed_port``). Fills = tile × Π bounds ÷ Π bounds of the
        innermost run of irrelevant groups, so orders that skip the same groups for every operand are the
        same mapping and computed once.
        The order kept is the best under the mapper objective: least array-side cycles
        ``max(compute, GLB port cycles)`` (``fixed_port``: the port cycles of operands not in ``ops``),
        ties to fewer GLB words; with ``mapper_objective="energy"`` fewer words first.
        """
        bw = self.hardware.glb_words_per_cycle
        total = bounds[0] * bounds[1] * bounds[2]
        per_word = {x: _port_per_word(dist, bw) for x, (_, dist, _) in ops.items()}
        energy_first = self.mapper_objective == "energy"
        opts: list[tuple] = []
        seen: set = set()
        for n, order in enumerate(ORDERS):
            # the groups each operand skips (innermost run it does not depend on); arithmetic only for
            # orders not seen before
            key = tuple((x, tuple(_skipped(rel, order))) for x, (_, _, rel) in ops.items())
            if key in seen:
                continue
            seen.add(key)
            fills, words = {}, {}
            for x, (fp, dist, rel) in ops.items():
                div, run = 1.0, True
                for g in order:
                    r = rel[g]
                    if isinstance(r, bool | np.bool_):
                        if r:
                            break
                        div = div * bounds[g] if run is True else div * np.where(run, bounds[g], 1.0)
                    else:
                        run = np.logical_and(run, ~r)
                        div = div * np.where(run, bounds[g], 1.0)
                fills[x] = fp * total / div
                words[x] = fills[x] * dist
                if x == "o":  # psum writes, and read-backs of all but the first
                    words[x] = words[x] + np.maximum(words[x] - o_tot, 0.0)
            tot = sum(words.values())
            port = fixed_port + sum(words[x] * per_word[x] for x in words)
            cyc = np.maximum(compute, port)
            opts.append((n, fills, words, port, (tot, cyc) if energy_first else (cyc, tot)))
        shape = np.broadcast_shapes(*(np.shape(k) for o in opts for k in o[4]))
        n, fills, words, port, (b1, b2) = opts[0]
        order = np.full(shape, float(n), dtype=np.result_type(b1))
        for n, f_o, w_o, p_o, (k1, k2) in opts[1:]:  # a later order replaces the best only if strictly
            b = np.where(np.abs(k1 - b1) <= _TIE * np.abs(b1), k2 < b2 * (1 - _TIE), k1 < b1)  # better
            if not b.any():
                continue
            b1, b2 = np.where(b, k1, b1), np.where(b, k2, b2)
            fills = {x: np.where(b, f_o[x], fills[x]) for x in ops}
            words = {x: np.where(b, w_o[x], words[x]) for x in ops}
            port, order = np.where(b, p_o, port), np.where(b, n, order)
        bc = lambda d: {x: np.broadcast_to(v, shape) for x, v in d.items()}  # noqa: E731
        return bc(words), bc(fills), order, np.broadcast_to(port, shape)

    # -- weight-stationary ---------------------------------------------------------------------
    def _ws(self, lay: dict, acc: dict, e: dict):
        N, K, Cg, P, Q, R, S, dw = (lay[k] for k in ("N", "K", "Cg", "P", "Q", "R", "S", "dw"))
        bw = self.hardware.glb_words_per_cycle
        X, Y, rfw, e_rf = acc["X"], acc["Y"], acc["rfw"], acc["e_rf"]
        cy, fy = _axis(Cg, K, Y)
        kx, _ = _axis(_cdiv(K, fy), np.ones_like(K), X)
        uK = fy * kx
        Kt, Ct = _cdiv(K, uK), _cdiv(Cg, cy)
        act = cy * uK
        compute = N * P * Q * R * S * Kt * Ct
        taps = R * S
        s_in = np.minimum(taps, rfw)            # taps of one weight chunk in the RF
        if self.mapper_tiles == "divisors":
            s_in = _largest_divisor(taps, s_in)
        n_tc = _cdiv(taps, s_in)
        pairs = np.floor(rfw / taps)            # (channel) filters whose taps all fit
        dist = dict(w=act, i=np.where(dw, uK, cy), o=uK)
        rel = dict(w=(False, True, True), o=(True, False, True))
        cands = []
        distinct = _Distinct()
        for c_in in _FACTORS:
            c = np.where(pairs >= c_in, np.minimum(c_in, Ct), 1.0)
            if self.mapper_tiles == "divisors":
                c = _largest_divisor(Ct, c)
            if not distinct.new(c):
                continue
            bounds = (N * P * Q, _cdiv(Ct, c) * n_tc, Kt)
            ops = dict(w=(c * s_in, dist["w"], rel["w"]), o=(np.ones_like(c), dist["o"], rel["o"]))
            i = compute * dist["i"]             # 1-word input register, taps innermost: a word per MAC
            words, f, order, port = self._orders(ops, bounds, lay["o_tot"], compute,
                                                 _port_cycles(dict(i=i), dist, bw))
            w, o = words["w"], words["o"]
            local = (lay["macs"] * (e_rf + 3 * e["reg"]) + f["w"] * act * e_rf
                     + (compute + 2 * f["o"]) * act * e["reg"])
            cands.append(_Candidate(np.ones_like(compute, dtype=bool), w, i, o, port, local,
                                    np.zeros_like(compute),
                                    dict(mode=0.0, order=order, c_in=c, k_in=1.0, q_in=1.0, s_in=s_in)))
        return compute, cands, uK

    # -- output-stationary ---------------------------------------------------------------------
    def _os(self, lay: dict, acc: dict, e: dict):
        N, K, Cg, P, Q, R, S, dw, st = (lay[k] for k in ("N", "K", "Cg", "P", "Q", "R", "S", "dw", "st"))
        bw = self.hardware.glb_words_per_cycle
        X, Y, rfw, e_rf = acc["X"], acc["Y"], acc["rfw"], acc["e_rf"]
        qx, fx = _axis(Q, K, X)
        py, fy = _axis(P, _cdiv(K, fx), Y)
        uK = fx * fy
        Pt, Qt, Kt, Ct = _cdiv(P, py), _cdiv(Q, qx), _cdiv(K, uK), Cg
        act = qx * py * uK
        compute = N * Pt * Qt * Kt * Ct * R * S
        dist = dict(w=uK, i=qx * py * np.where(dw, uK, 1.0), o=act)
        rel = dict(o=(True, False, True))
        forwarding = self.hardware.noc == "forwarding"
        tile_h = np.minimum((py - 1) * lay["st"] + R, lay["H"] + 2 * lay["pad"])
        tile_w = np.minimum((qx - 1) * st + S, lay["W"] + 2 * lay["pad"])
        cands = []
        # k-inner puts K inside the taps: outside the taps-innermost space unless the kernel is 1x1
        k_inner_ok = np.broadcast_to((R * S == 1) | (self.mapper_space == "full"), compute.shape)
        distinct = _Distinct()
        for mode, k_in in itertools.product(range(2), _FACTORS):
            k = np.minimum(np.minimum(k_in, rfw), Kt)
            if self.mapper_tiles == "divisors":
                k = _largest_divisor(Kt, k)
            if not distinct.new(mode, k):
                continue
            kb = _cdiv(Kt, k)
            bounds = (N * Pt * Qt, Ct, kb)
            w = compute * dist["w"]             # 1-word weight register, a new weight every MAC
            i_fills = compute if mode == 0 else np.where(dw, compute, N * Pt * Qt * Ct * R * S * kb)
            i = i_fills * dist["i"]
            hops = np.zeros_like(i)
            if forwarding:  # inputs shift between neighbouring PEs: the GLB sends the halo tile
                i_fwd = N * Pt * Qt * tile_h * tile_w * np.where(dw, uK * Kt, Ct * (Kt if mode == 0 else kb))
                hops = np.maximum(i - i_fwd, 0.0)
                i = np.minimum(i, i_fwd)
            words, f, order, port = self._orders(dict(o=(k, dist["o"], rel["o"])), bounds, lay["o_tot"],
                                                 compute, _port_cycles(dict(w=w, i=i), dist, bw))
            o = words["o"]
            # k-inner with the operand latch: a dense layer's input register is read once per k_in filters
            i_reads = lay["macs"] / np.where((mode == 1) & self.hardware.operand_latch & ~dw, k, 1.0)
            local = (lay["macs"] * (2 * e_rf + e["reg"]) + i_reads * e["reg"] + 2 * f["o"] * act * e_rf
                     + (compute + i_fills) * act * e["reg"])
            valid = np.ones_like(compute, dtype=bool) if mode == 0 else k_inner_ok
            cands.append(_Candidate(valid, w, i, o, port, local, hops,
                                    dict(mode=float(mode), order=order, c_in=1.0, k_in=k, q_in=1.0, s_in=S)))
        return compute, cands, uK

    # -- row-stationary ------------------------------------------------------------------------
    def _rs(self, lay: dict, acc: dict, e: dict):
        N, K, Cg, P, Q, R, S, dw, st = (lay[k] for k in ("N", "K", "Cg", "P", "Q", "R", "S", "dw", "st"))
        bw = self.hardware.glb_words_per_cycle
        X, Y, rfw = acc["X"], acc["Y"], acc["rfw"]
        wbits = self.hardware.word_bits
        # the RF is three fixed scratchpads (words): weights, inputs, partial sums
        pads = dict(zip("wio", (v.astype(rfw.dtype) for v in self.hardware.spad_words(rfw)), strict=True))
        e_b = {x: self.tech.sram_energy_pj(pads[x] * wbits / 8, wbits) for x in "wio"}
        ry, fy = _axis(R, np.where(dw, K, Cg), Y)
        px, fx = _axis(P, np.where(dw, _cdiv(K, fy), K), X)
        uC = np.where(dw, 1.0, fy)
        uK = np.where(dw, fy * fx, fx)
        Rt, Pt, Kt, Ct = _cdiv(R, ry), _cdiv(P, px), _cdiv(K, uK), _cdiv(Cg, uC)
        act = ry * fy * px * fx
        compute = N * Pt * Q * Kt * Ct * Rt * S
        diag = np.minimum((px - 1) * st + ry, px * ry)  # distinct input rows (diagonal multicast)
        dist = dict(w=ry * uC * uK, i=diag * np.where(dw, uK, uC), o=px * uK)
        rel = dict(w=(False, True, True), i=(True, True, dw), o=(True, False, True))
        cands = []
        distinct = _Distinct()
        latch = self.hardware.operand_latch
        qc: dict[tuple[int, int], tuple] = {}  # the (q, c) of each (q_in, c_in), for both variants
        for stream, q_in, c_in in itertools.product((False, True), _ROW_FACTORS, _FACTORS):
            if stream and q_in in (4, 16):  # streamed inputs: a single output or the whole row
                continue
            if (q_in, c_in) not in qc:
                q = Q if q_in == 0 else np.minimum(q_in, Q)
                c = np.where(dw, 1.0, np.minimum(c_in, Ct))
                if self.mapper_tiles == "divisors":
                    q, c = _largest_divisor(Q, q), _largest_divisor(Ct, c)
                qc[q_in, c_in] = q, c
            q, c = qc[q_in, c_in]
            if not distinct.new(stream, q, c):
                continue
            if not stream:
                # each tile fits its pad: weights k·c·s, input window c·((q−1)·stride + s) (depthwise:
                # one window per filter, k of them), partial sums k·q
                s_ = np.minimum(np.floor(pads["w"] / c), np.floor(pads["i"] / c) - (q - 1) * st)
                s_ = np.minimum(S, np.where(dw, np.minimum(pads["w"], pads["i"] - (q - 1) * st), s_))
            else:  # inputs streamed: every MAC's input comes from the GLB (no window is held)
                s_ = np.minimum(S, np.floor(pads["w"] / c))
            if self.mapper_tiles == "divisors":
                s_ = np.where(s_ >= 1, _largest_divisor(S, s_), s_)
            w_ext = (q - 1) * st + s_
            k_w = np.floor(pads["w"] / np.maximum(c * s_, 1.0))
            k_dw = k_w if stream else np.minimum(np.floor(pads["i"] / np.maximum(w_ext, 1.0)), k_w)
            k = np.minimum(np.minimum(np.where(dw, k_dw, k_w), np.floor(pads["o"] / q)), Kt)
            valid = (s_ >= 1) & (k >= 1)
            s_, k, w_ext = np.maximum(s_, 1.0), np.maximum(k, 1.0), np.maximum(w_ext, 1.0)
            if self.mapper_tiles == "divisors":
                k = _largest_divisor(Kt, k)
            bounds = (N * Pt * _cdiv(Q, q), _cdiv(Ct, c) * Rt * _cdiv(S, s_), _cdiv(Kt, k))
            fp = dict(w=k * c * s_, i=np.where(dw, k, c) * w_ext, o=k * q)
            # the PE's innermost loop (RS_MODES): a weight or input it does not depend on stays latched
            # at the MAC and is read once per run (q-inner: weights; k-inner: inputs of a dense layer)
            q_lat = q if latch else np.ones_like(q)
            if not stream:
                ops = {x: (fp[x], dist[x], rel[x]) for x in fp}
                words, f, order, port = self._orders(ops, bounds, lay["o_tot"], compute)
                k_lat = np.where(dw | (not latch), 1.0, k)
                save = np.stack([np.zeros_like(q * k), e_b["w"] * (1 - 1 / q_lat),
                                 e_b["i"] * (1 - 1 / k_lat)])
                mode = np.argmax(save >= save.max(0) * (1 - _TIE) + (save.max(0) == 0), axis=0)
                local = (lay["macs"] * (e_b["w"] + e_b["i"] + 2 * e_b["o"] - save.max(0))
                         + (f["w"] * e_b["w"] + f["i"] * e_b["i"] + 2 * f["o"] * e_b["o"]) * act)
            else:
                # every MAC's input comes from the GLB (a write into the input pad and one read), or once
                # per k filters with k innermost (dense layers: the latch holds it across them)
                kin = ~dw & (k > 1) & latch
                f_i = compute / np.where(kin, k, 1.0)
                i_words = f_i * dist["i"]
                ops = {x: (fp[x], dist[x], rel[x]) for x in ("w", "o")}
                words, f, order, port = self._orders(ops, bounds, lay["o_tot"], compute,
                                                     _port_cycles(dict(i=i_words), dist, bw))
                words = {**words, "i": i_words}
                w_reads = lay["macs"] / np.where(kin, 1.0, q_lat)
                mode = np.where(kin, 5.0, np.where(q_lat > 1, 4.0, 3.0))
                local = (w_reads * e_b["w"] + 2 * lay["macs"] * e_b["o"] + 2 * f_i * act * e_b["i"]
                         + (f["w"] * e_b["w"] + 2 * f["o"] * e_b["o"]) * act)
            w, i, o = words["w"], words["i"], words["o"]
            cands.append(_Candidate(valid, w, i, o, port, local, np.zeros_like(compute),
                                    dict(mode=mode.astype(compute.dtype), order=order, c_in=c, k_in=k, q_in=q,
                                         s_in=s_)))
        return compute, cands, uK


def describe_mapping(mapping: dict[str, np.ndarray], i: int, j: int, dataflow: str) -> str:
    """One line describing the mapping chosen for layer ``i`` on accelerator ``j`` (``--explain``)."""
    m = {k: float(v[i, j]) for k, v in mapping.items()}
    order = " < ".join(GROUPS[g].upper() for g in ORDERS[int(m["order"])])
    if dataflow == "ws":
        tile = f"RF: weights of {m['c_in']:.0f} channel(s) x {m['s_in']:.0f} tap(s); psum in a register"
    elif dataflow == "os":
        tile = f"{OS_MODES[int(m['mode'])]}, RF: {m['k_in']:.0f} psum(s)"
    else:
        tile = (f"{RS_MODES[int(m['mode'])]}, RF: {m['k_in']:.0f} filter(s) x {m['c_in']:.0f} channel(s) x "
                f"{m['s_in']:.0f} tap(s), {m['q_in']:.0f} output(s) of a row")
    hops = f", {m['hops']:,.0f} hops" if m["hops"] else ""
    return (f"{dataflow.upper()} {tile}; GLB loops {order} (inner to outer); "
            f"{m['glb_words']:,.0f} GLB words in {m['glb_cycles']:,.0f} port cycles{hops}")
