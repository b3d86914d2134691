"""ZigZag (``zigzag-dse``): a second ground-truth cost model (docs/design.md#ground-truth-cost-models).

Each (layer, accelerator) pair is translated **in memory** into ZigZag inputs and run through ZigZag's
own pipeline (``AcceleratorValidator`` → ``AcceleratorFactory``, ``WorkloadValidator`` +
``MappingValidator`` → ``WorkloadFactory``, then ``MainStage`` with ``WorkloadStage,
MinimalLatencyStage, SpatialMappingGeneratorStage, MinimalLatencyStage,
TemporalMappingGeneratorStage, CostModelStage``). Nothing is written to disk, nothing is plotted and
ZigZag's bundled CACTI is never called.

Translation of the Eyeriss-like template (:mod:`hdx.space.accelerator`):

* memories, inner to outer: per PE an RF of ``rf_bytes`` holding what the dataflow keeps stationary
  (WS: weights, OS: partial sums; RS: three fixed scratchpads for weights, inputs and partial sums,
  like Eyeriss's spads, sized by ``HardwareParams.spad_words`` as in the analytical model) and a
  1-word register for every other operand; the global buffer ``glb`` (``glb_bytes``, shared by all
  operands, serves the whole array at ``glb_words_per_cycle`` words per cycle); ``dram``
  (``dram_bytes_per_cycle``). Per-PE memories move one word per operand per cycle;
* operational array ``D1 = pe_x`` (columns) × ``D2 = pe_y`` (rows) MACs;
* the dataflow is the spatial unrolling (columns × rows): WS = K × C, OS = OX × OY, RS = OY × FY, each
  axis replicating output channels (RS rows: input channels) on the PEs its first loop leaves idle,
  the same loop-to-axis assignment as :mod:`hdx.cost.analytical`. A depthwise layer has K = C = 1 per
  group, so its group dimension G takes their place (otherwise it would collapse to one PE row);
* the temporal mapping is searched by ZigZag's LOMA mapper (``loma_lpf_limit`` small, FX/FY pinned
  innermost where they are temporal loops), which is deterministic; the minimum-latency mapping wins.

Technology (per-access energies, areas) comes from the same :mod:`hdx.cost.tech` table as the
analytical model (``hardware.tech``), so the two models differ in modelling, not in technology.

Units: latency in cycles, energy in pJ, area in µm². ZigZag's latency is compute cycles of the chosen
mapping **plus** memory stalls and on/off-loading (not the max of two bounds), so here
``memory_cycles`` holds those extra cycles and ``latency_cycles = compute_cycles + memory_cycles``.
Register energy is reported in the ``rf`` part. ZigZag models no interconnect; the ``noc`` area part
holds the per-PE 1-word registers (the analytical model's NoC registers).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from hdx.cost.base import AREA_PARTS, ENERGY_PARTS, LayerCosts
from hdx.cost.tech import TechTable, load_tech
from hdx.errors import HDXError
from hdx.space.accelerator import DATAFLOWS, Accelerator, AccelTable, HardwareParams
from hdx.workload import LAYER_KINDS, Layer, LayerTable

BACKEND_VERSION = "3"
INSTALL_HINT = "pip install 'hdx[zigzag]'"
PinMode = Literal["fxfy", "none"]


# --------------------------------------------------------------------------------------------------
# optional dependency


def _import_zigzag() -> dict[str, Any]:
    """Import the ZigZag pieces we drive; a missing extra becomes one clear :class:`HDXError`."""
    try:
        from zigzag.mapping.temporal_mapping import TemporalMappingType
        from zigzag.parser.accelerator_factory import AcceleratorFactory
        from zigzag.parser.accelerator_validator import AcceleratorValidator
        from zigzag.parser.mapping_validator import MappingValidator
        from zigzag.parser.workload_factory import WorkloadFactory
        from zigzag.parser.workload_validator import WorkloadValidator
        from zigzag.stages.evaluation.cost_model_evaluation import CostModelStage
        from zigzag.stages.main import MainStage
        from zigzag.stages.mapping.spatial_mapping_generation import SpatialMappingGeneratorStage
        from zigzag.stages.mapping.temporal_mapping_generator_stage import TemporalMappingGeneratorStage
        from zigzag.stages.results.reduce_stages import MinimalLatencyStage
        from zigzag.stages.workload_iterator import WorkloadStage
    except ImportError as e:  # zigzag-dse or one of its undeclared dependencies (six) is missing
        raise HDXError(f"the zigzag cost model needs the optional extra zigzag-dse ({e}); "
                       f"install it with: {INSTALL_HINT}") from None
    _silence_zigzag()
    return dict(TemporalMappingType=TemporalMappingType, AcceleratorFactory=AcceleratorFactory,
                AcceleratorValidator=AcceleratorValidator, MappingValidator=MappingValidator,
                WorkloadFactory=WorkloadFactory, WorkloadValidator=WorkloadValidator,
                CostModelStage=CostModelStage, MainStage=MainStage,
                SpatialMappingGeneratorStage=SpatialMappingGeneratorStage,
                TemporalMappingGeneratorStage=TemporalMappingGeneratorStage,
                MinimalLatencyStage=MinimalLatencyStage, WorkloadStage=WorkloadStage)


def _silence_zigzag() -> None:
    """ZigZag logs warnings and criticals for routine events; keep them out of HDX's output."""
    lg = logging.getLogger("zigzag")
    lg.setLevel(logging.CRITICAL + 1)
    lg.propagate = False


def zigzag_version() -> str:
    try:
        from importlib.metadata import version

        return version("zigzag-dse")
    except Exception:  # noqa: BLE001 - not installed or no metadata
        return "unknown"


# --------------------------------------------------------------------------------------------------
# technology


@dataclass(frozen=True)
class ZigZagTech:
    """Per-access energies (pJ per ``word_bits`` word) and areas (µm² per instance) for one accelerator,
    taken from the same :class:`~hdx.cost.tech.TechTable` as the analytical model."""

    mac_pj: float
    mac_um2: float
    rf_pj: float
    rf_um2: float
    reg_pj: float
    reg_um2: float
    glb_pj: float
    glb_um2: float
    dram_pj: float
    #: RS scratchpads (weights, inputs, psums): (words, pJ per access, µm²) each
    pads: tuple[tuple[float, float, float], ...] = ()


def tech_for(table: TechTable, hardware: HardwareParams, acc: Accelerator) -> ZigZagTech:
    wb = hardware.word_bits
    return ZigZagTech(
        mac_pj=table.mac_energy_pj(wb), mac_um2=table.mac_area_um2(wb),
        rf_pj=float(table.sram_energy_pj(acc.rf_bytes, wb)),
        rf_um2=float(table.sram_area_um2(acc.rf_bytes)),
        reg_pj=table.register_energy_pj(wb), reg_um2=table.register_area_um2(wb),
        glb_pj=float(table.sram_energy_pj(acc.glb_bytes, wb)),
        glb_um2=float(table.sram_area_um2(acc.glb_bytes)),
        dram_pj=table.dram_energy_pj(wb),
        pads=tuple((float(w), float(table.sram_energy_pj(w * wb / 8, wb)),
                    float(table.sram_area_um2(w * wb / 8)))
                   for w in hardware.spad_words(math.floor(acc.rf_bytes * 8 / wb))))


# --------------------------------------------------------------------------------------------------
# translation

# Per-PE storage per dataflow: which operands (ZigZag names: I1 inputs, I2 weights, O outputs) the
# RF holds; every other operand gets a 1-word register in the PE (as in the analytical model).
RF_OPERANDS: dict[str, tuple[str, ...]] = {"ws": ("I2",), "os": ("O",), "rs": ("I1", "I2", "O")}
_REG_NAME = {"I1": "reg_i", "I2": "reg_w", "O": "reg_o"}
_PAD_NAMES = ("spad_w", "spad_i", "spad_o")  # RS: weights (I2), inputs (I1), psums (O)


def _port(name: str, kind: str, bw_min: int, bw_max: int, alloc: list[str]) -> dict[str, Any]:
    return dict(name=name, type=kind, bandwidth_min=int(bw_min), bandwidth_max=int(bw_max), allocation=alloc)


_ALL_RW = ["I1, fh", "I1, tl", "I2, fh", "I2, tl", "O, fh", "O, tl", "O, fl", "O, th"]


def _pe_memory(size_bits: int, energy: float, area: float, operands: tuple[str, ...],
               wb: int) -> dict[str, Any]:
    """A per-PE memory (not shared across the array) with one read and one write port per operand,
    one word per cycle each (outputs also flow back up: ``th``/``fl``)."""
    ports = []
    for i, op in enumerate(operands, start=1):
        up = op == "O"
        ports.append(_port(f"r_port_{i}", "read", wb, wb, [f"{op}, tl"] + ([f"{op}, th"] if up else [])))
        ports.append(_port(f"w_port_{i}", "write", wb, wb, [f"{op}, fh"] + ([f"{op}, fl"] if up else [])))
    return dict(size=int(size_bits), r_cost=energy, w_cost=energy, area=area, latency=1,
                operands=list(operands), ports=ports, served_dimensions=[])


def accelerator_data(acc: Accelerator, hardware: HardwareParams, tech: ZigZagTech) -> dict[str, Any]:
    """ZigZag accelerator description (the dict its YAML would hold) of one Eyeriss-like accelerator.

    ZigZag's ``r_cost``/``w_cost`` are per access of ``bandwidth_max`` bits (narrower accesses count as a
    fraction), so the per-word energies are multiplied by the words per full-width access.
    """
    wb = hardware.word_bits
    glb_bw = max(int(round(hardware.glb_words_per_cycle * wb)), wb)
    dram_bw = max(int(round(hardware.dram_bytes_per_cycle * 8)), wb)
    rf_ops = RF_OPERANDS[acc.dataflow]
    if acc.dataflow == "rs":  # three fixed scratchpads (HardwareParams.spad_words), as the analytical model
        memories: dict[str, Any] = {
            name: _pe_memory(int(words) * wb, pj, um2, (op,), wb)
            for name, op, (words, pj, um2) in zip(_PAD_NAMES, ("I2", "I1", "O"), tech.pads, strict=True)}
    else:
        memories = {"rf": _pe_memory(acc.rf_bytes * 8, tech.rf_pj, tech.rf_um2, rf_ops, wb)}
    for op in ("I1", "I2", "O"):
        if op not in rf_ops:
            memories[_REG_NAME[op]] = _pe_memory(wb, tech.reg_pj, tech.reg_um2, (op,), wb)
    memories["glb"] = dict(
        size=int(acc.glb_bytes * 8), r_cost=tech.glb_pj * glb_bw / wb, w_cost=tech.glb_pj * glb_bw / wb,
        area=tech.glb_um2, latency=1, operands=["I1", "I2", "O"],
        ports=[_port("rw_port_1", "read_write", wb, glb_bw, list(_ALL_RW))], served_dimensions=["D1", "D2"])
    memories["dram"] = dict(
        size=10**12, r_cost=tech.dram_pj * dram_bw / wb, w_cost=tech.dram_pj * dram_bw / wb, area=0.0,
        latency=1, operands=["I1", "I2", "O"],
        ports=[_port("rw_port_1", "read_write", wb, dram_bw, list(_ALL_RW))], served_dimensions=["D1", "D2"])
    return dict(name=f"hdx_{acc.pe_x}x{acc.pe_y}_rf{acc.rf_bytes}_{acc.dataflow}_glb{acc.glb_kib}",
                memories=memories,
                operational_array=dict(unit_energy=tech.mac_pj, unit_area=tech.mac_um2,
                                       dimensions=["D1", "D2"], sizes=[acc.pe_x, acc.pe_y]))


def workload_data(layer: Layer, word_bits: int) -> list[dict[str, Any]]:
    """ZigZag workload (one grouped-convolution layer) of one of our layers; fc is a 1×1 conv on 1×1."""
    g = layer.groups
    return [dict(
        id=0, name=layer.name or layer.kind, operator_type="Conv",
        equation="O[b][g][k][oy][ox]+=W[g][k][c][fy][fx]*I[b][g][c][iy][ix]",
        dimension_relations=[f"ix={layer.stride}*ox+1*fx", f"iy={layer.stride}*oy+1*fy"],
        loop_dims=["B", "G", "K", "C", "OY", "OX", "FY", "FX"],
        loop_sizes=[layer.n, g, layer.k // g, layer.c // g, layer.p, layer.q, layer.r, layer.s],
        operand_precision=dict(W=word_bits, I=word_bits, O=word_bits, O_final=word_bits),
        operand_source=dict(I=0, W=0),
        pr_loop_dims=["IX", "IY"], pr_loop_sizes=[layer.w, layer.h],
        padding=[[layer.padding, layer.padding], [layer.padding, layer.padding]],
    )]


def _tile(size: int, pes: int) -> int:
    """PEs given to a loop of bound ``size`` on ``pes`` PEs, balanced so the passes are even."""
    t = max(min(size, pes), 1)
    return math.ceil(size / math.ceil(size / t))


def _split(n: int, a_max: int, b_max: int) -> tuple[int, int]:
    """Unroll factors (a, b), a ≤ ``a_max``, b ≤ ``b_max``, of one loop of bound ``n`` spread over two
    array axes: fewest passes ``ceil(n / (a·b))``, then fewest PEs; a·b ≤ n (ZigZag cannot unroll a
    loop beyond its bound)."""
    best = (math.inf, math.inf, 1, 1)
    for a in range(max(min(a_max, n), 1), 0, -1):
        b = max(min(b_max, n // a), 1)
        passes = math.ceil(n / (a * b))
        b = max(math.ceil(n / passes / a), 1) if passes > 1 else b  # balance the last pass
        b = min(b, b_max, max(n // a, 1))
        key = (math.ceil(n / (a * b)), a * b, a, b)
        if key[:2] < best[:2]:
            best = key
    return best[2], best[3]


_GROUPS_PER_AXIS = (1, 2, 3, 4)


def _tiles(n: int, pes: int) -> list[int]:
    """Candidate PE counts for a loop of bound ``n`` on an axis of ``pes`` PEs cut into m ∈ {1..4} groups
    (the rest of the axis replicates another loop), in order of m."""
    out: list[int] = []
    for m in _GROUPS_PER_AXIS:
        t = _tile(n, max(pes // m, 1))
        if t not in out:
            out.append(t)
    return out


def spatial_unrolling(layer: Layer, acc: Accelerator) -> dict[str, dict[str, int]]:
    """Dataflow as a spatial unrolling on ``D1`` = ``pe_x`` (columns) and ``D2`` = ``pe_y`` (rows).

    WS = K × C, OS = OX × OY, RS = OY × FY, each axis replicating a second loop (output channels, or
    input channels for RS rows) on the PEs its first loop leaves idle, as in the template of
    :mod:`hdx.cost.analytical`: an axis's first loop may take 1/m of it (m ∈ 1..4) to leave room for
    the replication, and the choice with fewest passes over the array wins. A depthwise layer has
    K = C = 1 per group: its group dimension G takes the place of K (and of C). Factors of 1 are dropped.
    """
    dw = layer.kind == "depthwise"
    kd, kn = ("G", layer.groups) if dw else ("K", layer.k // layer.groups)
    cn = layer.c // layer.groups
    X, Y = acc.pe_x, acc.pe_y
    best: tuple[int, dict[str, int], dict[str, int]] | None = None

    def consider(passes: int, cols: dict[str, int], rows: dict[str, int]) -> None:
        nonlocal best
        if best is None or passes < best[0]:
            best = (passes, cols, rows)

    if acc.dataflow == "ws":
        for cy in [1] if dw else _tiles(cn, Y):
            a, b = _split(kn, Y // cy, X)
            consider(math.ceil(cn / cy) * math.ceil(kn / (a * b)), {kd: b}, {"C": cy, kd: a})
    elif acc.dataflow == "os":
        for qx in _tiles(layer.q, X):
            for py in _tiles(layer.p, Y):
                a, b = _split(kn, X // qx, Y // py)
                passes = math.ceil(layer.q / qx) * math.ceil(layer.p / py) * math.ceil(kn / (a * b))
                consider(passes, {"OX": qx, kd: a}, {"OY": py, kd: b})
    else:
        for ry in _tiles(layer.r, Y):
            for px in _tiles(layer.p, X):
                base = math.ceil(layer.r / ry) * math.ceil(layer.p / px)
                if dw:
                    a, b = _split(kn, Y // ry, X // px)
                    consider(base * math.ceil(kn / (a * b)), {"OY": px, kd: b}, {"FY": ry, kd: a})
                else:
                    c, k = _tile(cn, Y // ry), _tile(kn, X // px)
                    passes = base * math.ceil(cn / c) * math.ceil(kn / k)
                    consider(passes, {"OY": px, kd: k}, {"FY": ry, "C": c})
    assert best is not None
    _, cols, rows = best

    def drop(d: dict[str, int]) -> dict[str, int]:
        return {k: v for k, v in d.items() if v > 1} or {next(iter(d)): 1}

    return {"D1": drop(cols), "D2": drop(rows)}


def temporal_sizes(layer: Layer, acc: Accelerator,
                   unroll: dict[str, dict[str, int]] | None = None) -> dict[str, int]:
    """ZigZag's temporal loop bounds of ``layer`` on ``acc`` (> 1 only): each loop's bound divided,
    rounded up, by its spatial unrolling (``unroll``, default :func:`spatial_unrolling`), as ZigZag's
    LOMA engine computes them."""
    sizes = {"B": layer.n, "G": layer.groups, "K": layer.k // layer.groups, "C": layer.c // layer.groups,
             "OY": layer.p, "OX": layer.q, "FY": layer.r, "FX": layer.s}
    for per_dim in (unroll if unroll is not None else spatial_unrolling(layer, acc)).values():
        for d, f in per_dim.items():
            sizes[d] = math.ceil(sizes[d] / f)
    return {d: v for d, v in sizes.items() if v > 1}


def _divisor(n: int, want: float, rounding: Literal["down", "up"]) -> int:
    """The divisor of ``n`` nearest ``want`` from below (``down``) or above (``up``)."""
    divs = [d for d in range(1, n + 1) if n % d == 0]
    if rounding == "down":
        return max(d for d in divs if d <= max(want, 1))
    return min(d for d in divs if d >= min(want, n))


def _prime_factors(n: int) -> list[int]:
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


def ordering_from_mapping(layer: Layer, acc: Accelerator, m: dict[str, float],
                          rounding: Literal["down", "up"] = "down",
                          psum_words: float | None = None) -> list[list]:
    """A complete ZigZag temporal ordering (innermost first, ``[dim, factor]``) of the mapping the
    analytical model chose (:data:`hdx.cost.analytical.MAPPING_FIELDS`): its PE-local tile loops
    innermost, then the GLB-level groups in its order, each split into prime factors (ZigZag's memory
    allocator then fills each memory with as many of them as fit, as for LOMA's orderings). Tile sizes
    are rounded ``down`` or ``up`` to divisors of ZigZag's temporal bounds (ZigZag takes integer
    factors, and its spatial unrolling may differ from the analytical model's balanced one). ZigZag
    evaluating this ordering is the HDX mapping costed by ZigZag.

    ``psum_words`` (the GLB's usable half, in words): the analytical model produces outputs in tiles
    that fit it, so partial sums never go to DRAM. When the partial sums held across the outermost
    reduction loop exceed it, output loops (outermost first) move outside that loop: the DRAM-level
    loop over output tiles, inside which the GLB-level order is kept."""
    from hdx.cost.analytical import GROUPS, ORDERS  # the analytical model's loop groups

    left = temporal_sizes(layer, acc)
    out: list[list] = []
    kdim = "G" if layer.kind == "depthwise" else "K"

    def take(dim: str, want: float = math.inf) -> None:
        n = left.get(dim, 1)
        if want >= n:  # the whole remaining loop, innermost prime factor first
            out.extend([dim, f] for f in _prime_factors(n))
            left[dim] = 1
            return
        f = _divisor(n, want, rounding)
        if f > 1:
            out.append([dim, f])
            left[dim] = n // f

    taps = (("FX", m["s_in"]), ("FY", max(m["s_in"] // max(layer.s, 1), 1)))
    if acc.dataflow == "ws":
        for d, want in taps:
            take(d, want)
        take("C", m["c_in"])
    elif acc.dataflow == "os":
        if m["mode"] == 0:  # taps innermost, then the psums of k_in filters
            take("FX")
            take("FY")
            take(kdim, m["k_in"])
        else:  # k-inner: the input register is reused across k_in filters
            take(kdim, m["k_in"])
            take("FX")
            take("FY")
    else:  # the PE's innermost loop first (RS_MODES: taps, outputs of the row or filters), then the rest
        tile = [("FX", m["s_in"]), ("C", m["c_in"]), (kdim, m["k_in"]),
                ("OX", m["q_in"] if m["q_in"] > 0 else math.inf)]
        inner = ("FX", "OX", kdim)[int(m["mode"]) % 3]  # RS_MODES (3-5: inputs streamed, no window held)
        for d, want in sorted(tile, key=lambda t: t[0] != inner):
            take(d, want)
    n_tile = len(out)  # the PE-local tile loops stay innermost
    group_dims = {"pq": ("OX", "OY", "B"), "red": ("C", "FY", "FX"), "k": (kdim,)}
    for g in ORDERS[int(m["order"])]:
        for d in group_dims[GROUPS[g]]:
            take(d)
    for d in list(left):  # anything left (a grouped layer's G) goes outermost
        take(d)
    if psum_words is not None and m.get("dram_res", 0.0) != 2:  # (2: all outputs stay in the GLB)
        # output tiles along K when inputs stay resident, else along PQ
        first = (kdim,) if m.get("dram_res", 0.0) == 0 else ("OY", "OX", "B")
        out = _output_tiles_outside(out, n_tile, psum_words, layer, acc, first)
    return out


_OUT_DIMS = ("B", "G", "K", "OY", "OX")
_RED_DIMS = ("C", "FY", "FX")


def _output_tiles_outside(out: list[list], n_tile: int, cap: float, layer: Layer, acc: Accelerator,
                          first: tuple[str, ...]) -> list[list]:
    """Move output loops from inside the outermost reduction loop to the outside (the dims ``first``
    before the others, outermost first) until the partial sums held across it fit ``cap`` words (see
    :func:`ordering_from_mapping`)."""
    reds = [i for i, (d, _) in enumerate(out) if d in _RED_DIMS]
    if not reds:
        return out
    last = reds[-1]
    spatial = math.prod(f for per_dim in spatial_unrolling(layer, acc).values()
                        for d, f in per_dim.items() if d in _OUT_DIMS)
    held = spatial * math.prod(f for d, f in out[:last] if d in _OUT_DIMS)
    inner, moved = list(out[:last]), []
    for dims in (first, _OUT_DIMS):
        for i in range(len(inner) - 1, n_tile - 1, -1):
            if held <= cap:
                break
            if inner[i][0] in dims:
                held /= inner[i][1]
                moved.insert(0, inner.pop(i))
    return inner + out[last:] + moved


def mapping_data(layer: Layer, acc: Accelerator, pin: PinMode,
                 ordering: list[list] | None = None) -> list[dict[str, Any]]:
    """ZigZag mapping input: the dataflow's spatial unrolling and, as the temporal ordering, either the
    pinned kernel loops (``pin``) or a complete ``ordering`` (then ZigZag evaluates that one mapping)."""
    unroll = spatial_unrolling(layer, acc)
    ordering = [list(x) for x in ordering] if ordering is not None else []
    if pin == "fxfy" and not ordering:  # innermost first; a pinned loop must be temporal or LOMA fails
        temporal = temporal_sizes(layer, acc, unroll)
        ordering = [[d, "*"] for d in ("FX", "FY") if d in temporal]
    return [dict(name="default",
                 spatial_mapping={d: [f"{ld}, {f}" for ld, f in per.items()] for d, per in unroll.items()},
                 memory_operand_links=dict(O="O", W="I2", I="I1"),
                 temporal_ordering=ordering)]


# --------------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class ZigZagResult:
    """ZigZag's costs of one layer on one accelerator (cycles, pJ, µm²) and the time it took (s)."""

    latency_cycles: float
    compute_cycles: float
    memory_cycles: float
    energy_pj: dict[str, float]
    area_um2: dict[str, float]
    utilisation: float
    macs: int
    seconds: float
    spatial_mapping: str
    temporal_mapping: str

    @property
    def energy_total_pj(self) -> float:
        return float(sum(self.energy_pj[p] for p in ENERGY_PARTS))

    @property
    def area_total_um2(self) -> float:
        return float(sum(self.area_um2[p] for p in AREA_PARTS))


def _describe(layer: Layer, acc: Accelerator) -> str:
    name = f" '{layer.name}'" if layer.name else ""
    return (f"layer{name} ({layer.kind} c={layer.c} k={layer.k} {layer.h}x{layer.w} "
            f"kernel {layer.r}x{layer.s} stride {layer.stride}) on accelerator {acc.text(with_glb=True)}")


def _first_line(e: BaseException) -> str:
    msg = str(e).strip().splitlines()
    return f"{type(e).__name__}: {msg[0]}" if msg else type(e).__name__


class ZigZagModel:
    """ZigZag behind HDX's :class:`~hdx.cost.base.CostModel` interface.

    ``lpf_limit``: LOMA's loop-prime-factor budget (small = fast; ZigZag's API default is 6).
    ``pin``: ``fxfy`` pins the kernel loops FX, FY innermost (fast, deterministic), ``none`` lets LOMA
    order every loop (slower). Results are cached per (layer, accelerator) in the instance.
    """

    name = "zigzag"

    def __init__(self, hardware: HardwareParams | None = None, *, tech: TechTable | str | Path | None = None,
                 lpf_limit: int = 1, pin: PinMode = "fxfy"):
        self._zz = _import_zigzag()
        self.hardware = hardware if hardware is not None else HardwareParams()
        self.tech = tech if isinstance(tech, TechTable) else load_tech(tech if tech is not None
                                                                       else self.hardware.tech)
        if self.hardware.noc != "multicast":
            raise HDXError(f"zigzag cannot model PE-to-PE forwarding (hardware.noc: {self.hardware.noc}); "
                           "use noc: multicast, or the analytical model")
        if not isinstance(lpf_limit, int) or lpf_limit < 1:
            raise HDXError(f"zigzag lpf_limit must be an integer >= 1, got {lpf_limit!r}")
        if pin not in ("fxfy", "none"):
            raise HDXError(f"zigzag pin must be 'fxfy' or 'none', got {pin!r}")
        self.lpf_limit = lpf_limit
        self.pin: PinMode = pin
        self.version = f"zigzag-dse {zigzag_version()} / hdx-backend {BACKEND_VERSION}"
        self._cache: dict[tuple, ZigZagResult] = {}
        self.seconds_spent = 0.0
        self.layers_run = 0

    # -- interface ---------------------------------------------------------------------------------

    def fingerprint(self) -> str:
        """Stable hash of ZigZag's version, this translation, its options and the hardware parameters."""
        blob = dict(name=self.name, version=self.version, lpf_limit=self.lpf_limit, pin=self.pin,
                    hardware=self.hardware.model_dump(), tech=self.tech.model_dump(mode="json"))
        return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()

    def evaluate(self, layers: LayerTable, accels: AccelTable) -> LayerCosts:
        """Costs of every layer on every accelerator ([L, A] arrays); one ZigZag run per new pair."""
        L, A = len(layers), len(accels)
        lat = np.zeros((L, A))
        comp = np.zeros((L, A))
        mem = np.zeros((L, A))
        util = np.zeros((L, A))
        energy = {p: np.zeros((L, A)) for p in ENERGY_PARTS}
        area = {p: np.zeros(A) for p in AREA_PARTS}
        layer_objs = _layers_of(layers)
        for j in range(A):
            acc = accels.accelerator(j)
            for i, layer in enumerate(layer_objs):
                r = self.evaluate_one(layer, acc)
                lat[i, j], comp[i, j], mem[i, j], util[i, j] = (r.latency_cycles, r.compute_cycles,
                                                                r.memory_cycles, r.utilisation)
                for p in ENERGY_PARTS:
                    energy[p][i, j] = r.energy_pj[p]
            for p in AREA_PARTS:
                area[p][j] = r.area_um2[p]
        return LayerCosts(latency_cycles=lat, compute_cycles=comp, memory_cycles=mem, energy_pj=energy,
                          area_um2=area, utilisation=util, macs=layers.macs.astype(np.int64),
                          clock_mhz=self.hardware.clock_mhz)

    def evaluate_one(self, layer: Layer, acc: Accelerator,
                     ordering: list[list] | None = None) -> ZigZagResult:
        """Run ZigZag on one layer and one accelerator (cached). ``ordering``: a complete temporal
        ordering (innermost first, ``[dim, factor]``, e.g. :func:`ordering_from_mapping`): ZigZag then
        costs that one mapping instead of searching (a bound that does not match ZigZag's temporal
        loops makes LOMA search under it as a constraint)."""
        if not isinstance(layer, Layer):
            raise HDXError(f"zigzag evaluate_one needs a Layer, got {type(layer).__name__}")
        if not isinstance(acc, Accelerator):
            raise HDXError(f"zigzag evaluate_one needs an Accelerator, got {type(acc).__name__}")
        key = (layer, acc, None if ordering is None else tuple(tuple(x) for x in ordering))
        hit = self._cache.get(key)
        if hit is None:
            hit = self._run(layer, acc, ordering)
            self._cache[key] = hit
        return hit

    # -- one ZigZag run ----------------------------------------------------------------------------

    def _run(self, layer: Layer, acc: Accelerator, ordering: list[list] | None = None) -> ZigZagResult:
        zz = self._zz
        hw = self.hardware
        what = _describe(layer, acc)
        if acc.rf_bytes * 8 < hw.word_bits:
            raise HDXError(f"zigzag: {what}: the RF ({acc.rf_bytes} B) holds less than one "
                           f"{hw.word_bits}-bit word; use rf_bytes >= {math.ceil(hw.word_bits / 8)}")
        tech = tech_for(self.tech, hw, acc)
        t0 = time.perf_counter()
        try:
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                accel = self._build_accelerator(acc, tech)
                workload = self._build_workload(layer, acc, ordering)
                main = zz["MainStage"](
                    [zz["WorkloadStage"], zz["MinimalLatencyStage"], zz["SpatialMappingGeneratorStage"],
                     zz["MinimalLatencyStage"], zz["TemporalMappingGeneratorStage"], zz["CostModelStage"]],
                    accelerator=accel, workload=workload, loma_lpf_limit=self.lpf_limit,
                    loma_show_progress_bar=False, nb_mappings_generated=1,
                    enable_mix_spatial_mapping_generation=False,
                    access_same_data_considered_as_no_access=hw.operand_latch,
                    temporal_mapping_type=zz["TemporalMappingType"]("uneven"))
                answers = main.run()
        except HDXError:
            raise
        except Exception as e:  # noqa: BLE001 - ZigZag raises bare assertions and its own exceptions
            if type(e).__name__ == "NoValidLoopOrderingFoundException":
                why = "no loop ordering fits the memories (NoValidLoopOrderingFound): use a larger GLB"
            else:
                why = _first_line(e)
            raise HDXError(f"zigzag failed on {what}: {why}") from None
        seconds = time.perf_counter() - t0
        self.seconds_spent += seconds
        self.layers_run += 1
        if len(answers) != 1:
            raise HDXError(f"zigzag returned {len(answers)} results for {what} (expected 1)")
        return self._result(answers[0][0], layer, acc, tech, seconds)

    def _build_accelerator(self, acc: Accelerator, tech: ZigZagTech):
        zz = self._zz
        validator = zz["AcceleratorValidator"](accelerator_data(acc, self.hardware, tech))
        data = validator.normalized_data
        if not validator.validate():
            raise HDXError(f"zigzag rejected accelerator {acc.text(with_glb=True)}: "
                           f"{validator.validator.errors or 'invalid description'}")
        return zz["AcceleratorFactory"](data).create()

    def _build_workload(self, layer: Layer, acc: Accelerator, ordering: list[list] | None = None):
        zz = self._zz
        wv = zz["WorkloadValidator"](workload_data(layer, self.hardware.word_bits))
        wdata = wv.normalized_data
        if not wv.validate():
            raise HDXError(f"zigzag rejected {_describe(layer, acc)}: "
                           f"{wv.validator.errors or 'invalid layer'}")
        mv = zz["MappingValidator"](mapping_data(layer, acc, self.pin, ordering))
        mdata = mv.normalized_data
        if not mv.validate():
            raise HDXError(f"zigzag rejected the mapping of {_describe(layer, acc)}: "
                           f"{mv.validator.errors or 'invalid mapping'}")
        return zz["WorkloadFactory"](wdata, mdata).create()

    def _result(self, cme, layer: Layer, acc: Accelerator, tech: ZigZagTech, seconds: float) -> ZigZagResult:
        latency = float(cme.latency_total2)
        compute = float(cme.ideal_temporal_cycle)
        energy = {p: 0.0 for p in ENERGY_PARTS}
        energy["mac"] = float(cme.mac_energy)
        part = {"rf": "rf", "reg_i": "rf", "reg_w": "rf", "reg_o": "rf", "glb": "glb", "dram": "dram",
                **{name: "rf" for name in _PAD_NAMES}}
        hierarchy = cme.accelerator.memory_hierarchy
        for layer_op, per_level in cme.mem_energy_breakdown.items():
            mem_op = cme.memory_operand_links.layer_to_mem_op(layer_op)
            for e, level in zip(per_level, hierarchy.get_memory_levels(mem_op=mem_op), strict=True):
                energy[part[level.name]] += float(e)
        # area: memory instance × number of instances + operational array (ZigZag never sums it)
        area = {p: 0.0 for p in AREA_PARTS}
        for level in hierarchy.mem_level_list:
            if level.name != "dram":
                where = "noc" if level.name.startswith("reg_") else part[level.name]
                area[where] += float(level.memory_instance.area) * float(level.unroll_count)
        area["pe"] = float(cme.accelerator.operational_array.total_area)
        macs = layer.macs
        result = ZigZagResult(
            latency_cycles=latency, compute_cycles=compute, memory_cycles=max(latency - compute, 0.0),
            energy_pj=energy, area_um2=area, utilisation=macs / (latency * acc.num_pes), macs=macs,
            seconds=seconds, spatial_mapping=str(cme.spatial_mapping),
            temporal_mapping=str(cme.temporal_mapping))
        checks = (("latency", latency), ("energy", result.energy_total_pj))
        bad = [k for k, v in checks if not math.isfinite(v) or v <= 0]
        if bad:
            raise HDXError(f"zigzag gave a non-positive or non-finite {' and '.join(bad)} for "
                           f"{_describe(layer, acc)}")
        return result


def _layers_of(table: LayerTable) -> list[Layer]:
    """Rebuild :class:`Layer` objects from a struct-of-arrays table."""
    out = []
    for i in range(len(table)):
        out.append(Layer(kind=LAYER_KINDS[int(table.kind[i])], c=int(table.c[i]), k=int(table.k[i]),  # type: ignore[arg-type]
                         h=int(table.h[i]), w=int(table.w[i]), r=int(table.r[i]), s=int(table.s[i]),
                         stride=int(table.stride[i]), padding=int(table.padding[i]),
                         groups=int(table.groups[i]), n=int(table.n[i]), name=table.names[i]))
    return out


__all__ = ["DATAFLOWS", "ZigZagModel", "ZigZagResult", "ZigZagTech", "accelerator_data", "mapping_data",
           "ordering_from_mapping", "spatial_unrolling", "temporal_sizes", "workload_data", "zigzag_version"]
