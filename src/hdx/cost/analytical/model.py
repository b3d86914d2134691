"""The analytical cost model: dispatch per dataflow, the array-level mapper, the GLB ↔ DRAM schedule
and the assembly of latency, energy and area (every assumption, with units: docs/cost-model.md).

Read top to bottom, :meth:`AnalyticalModel._evaluate` is the model: per dataflow, the candidates of
:mod:`.dataflows` and the best one of :func:`.mapper.select`; then the DRAM schedule of
:mod:`.memory` for each (layer, accelerator) given the array side's cycles; then the totals.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from dataclasses import replace
from pathlib import Path
from typing import get_args

import numpy as np

from hdx.cost.base import LayerCosts, check_finite
from hdx.cost.heap import keep_freed_memory
from hdx.cost.tech import TechTable, load_tech
from hdx.errors import HDXError
from hdx.space.accelerator import DATAFLOWS, KEEPS, PADS, AccelTable, HardwareParams
from hdx.workload import LayerTable

from . import memory
from .dataflows import DATAFLOW_MAPPERS
from .dims import ArrayDims, LayerDims
from .held_cache import HeldCache
from .mapper import (
    DramTiles,
    GlbBuffering,
    GlbPort,
    GlbReuse,
    Halo,
    MapperObjective,
    MapperSettings,
    MapperSpace,
    MapperTiles,
    PsumPort,
    select,
    with_dram,
)
from .rows import Precision, all_finite, chunks, empty_like_rows, put_rows, take_rows
from .spatial import unroll, working_set

# minimum RF words per dataflow (one word per operand the dataflow holds in its RF)
MIN_RF_WORDS: dict[str, tuple[int, str]] = {
    "ws": (1, "one weight"),
    "os": (1, "one partial sum"),
    "rs": (3, "one weight, one input and one partial sum"),
}
OPERAND_NAMES: tuple[str, ...] = ("weights", "inputs", "partial sums")
# fields of the chosen mapping kept per (layer, accelerator) for ``--explain``: the array level (mode,
# GLB-level order, PE-local tile, GLB words and port cycles, hops) and the DRAM level (memory.DRAM_FIELDS)
MAPPING_FIELDS: tuple[str, ...] = ("mode", "order", "c_in", "k_in", "q_in", "s_in", "glb_words", "glb_cycles",
                                   "hops", "psum_stall", *memory.DRAM_FIELDS)
# per (layer, accelerator), the least over every legal mapping of each cost part (mapper.select(bounds=True))
BOUND_FIELDS: tuple[str, ...] = ("lb_cycles", "lb_glb_words", "lb_local_pj")
#: the opt-in bufferings whose costs changed after they were added (so their fingerprints change, and
#: tables built with them are not reused): "zigzag" 2, ZigZag's update windows; 3, each mapping's candidate
#: schedules (:mod:`.staircase`)
BUFFERING_REVISION: dict[str, int] = {"zigzag": 3}
#: the same for the opt-in ``glb_reuse`` counts: "tile" 2, the PE-local refills' energy weighed in the
#: choice of DRAM schedule and GLB-level order (:func:`.reuse.best_order_tile`)
REUSE_REVISION: dict[str, int] = {"tile": 2}
REVISIONS: dict[str, dict[str, int]] = {"glb_buffering": BUFFERING_REVISION, "glb_reuse": REUSE_REVISION}


def _option(name: str, value, allowed):
    """``value`` if it is one of the Literal type ``allowed``'s values, else an :class:`HDXError` that
    names them."""
    choices = get_args(allowed)
    if value not in choices:
        raise HDXError(f"{name} must be {', '.join(map(str, choices[:-1]))} or {choices[-1]}, got {value!r}")
    return value


#: the model's options (its keywords but the hardware and the technology table), in the order its label
#: names them
OPTIONS: tuple[str, ...] = ("mapper_objective", "mapper_space", "mapper_tiles", "dram_tiles", "precision",
                            "glb_buffering", "glb_port", "psum_port", "glb_reuse", "halo")


class AnalyticalModel:
    """Vectorised analytical cost model with a mapper (docs/cost-model.md lists every assumption).

    ``evaluate(layers, accels)`` broadcasts layers [L] × accelerators [A] in numpy (no Python loop over
    layers or accelerators; one pass per dataflow over the accelerators that use it, and one per mapping
    candidate of that dataflow). ``mapper_objective`` orders the mappings of one (layer, accelerator):
    ``latency`` (ties: energy; the default, as ZigZag's minimal-latency reduction), ``energy`` (ties:
    latency) or ``edp``. ``mapper_space``: ``full`` (default) or ``taps-innermost`` (the kernel taps
    always innermost, as ZigZag's LOMA with FX/FY pinned: OS's ``k-inner`` only for 1×1 kernels).
    ``mapper_tiles``: ``divisors`` (default: every PE-local tile and tap chunk is shrunk to the largest
    divisor of its loop, the perfect factorisation of ZigZag's and Timeloop's mappers) or ``any`` (a
    PE-local tile may leave a partial last tile, e.g. 8 + 3 filters of 11). ``precision``: ``float32``
    (default, faster) or ``float64`` internal arithmetic. ``dram_tiles``: ``hold-array`` (default since
    v3.2: the GLB tiles, which may also cut output columns and kernel rows, are chosen with each
    array-level mapping candidate and must hold what it covers, the spatial unrolling times its PE-local
    tile, :class:`.memory.EntryDram`) or ``free`` (v3.1's: GLB tiles cut K, C and whole output rows, of
    any size, chosen once per layer and GLB size, :func:`.memory.schedules`); docs/cost-model.md,
    "GLB ↔ DRAM". ``glb_buffering``, ``glb_port``, ``psum_port`` and ``glb_reuse`` are the hardware's
    (:class:`~hdx.space.accelerator.HardwareParams`, an accelerator space's ``hardware:`` section) unless
    given here. ``glb_buffering``: ``double``
    (default: a tile replaced during a layer takes twice its space, and the DRAM transfers overlap the
    array, latency ``max(array, DRAM)``) or ``single`` (every tile takes its space once and the
    transfers stall the array, latency ``array + DRAM``, as ZigZag's latency model has it) or ``overlap``
    (every tile takes its space once and the transfers still overlap the array: Timeloop's steady state)
    or ``zigzag`` (ZigZag's buffering: every tile takes its space once and a tile replaced during the
    layer gets a second copy where it still fits; a replaced tile without one stalls the array for the
    transfer cycles beyond its update window, the last iteration of the outermost GLB-level loops it
    does not depend on, as in ZigZag's latency model, the others overlap it: latency
    ``max(array + stalled, DRAM)``, :class:`.mapper.Windows`; each array mapping takes the least latency
    of its candidate schedules, :mod:`.staircase`: ZigZag's own choice — the fewest DRAM words, the
    copies in ZigZag's order — is one, and every one a smaller GLB has, so it is monotone in the GLB
    size) or ``mixed`` (tiles once, the second copies that leave the
    fewest words stalled, and the schedule chosen with each array mapping for the least latency over the
    front of (stalled, DRAM words); monotone); both with ``dram_tiles="hold-array"`` only.
    ``glb_port``: how the GLB port's accesses carry words — ``fill`` (default since v3.4: a PE-local
    tile's fill is one burst aligned to the port's accesses, ``ceil(words / bw)`` cycles), ``step``
    (v3.3's: each access step of an operand its distinct words on the array, ``ceil(dist / bw)``
    cycles), ``burst`` (one burst at an arbitrary alignment, ``(words + bw − 1) / bw`` accesses on
    average, or by step where fewer) or ``packed`` (words / bw);
    docs/cost-model.md, "Mapper". ``psum_port``: ``shared`` (default since v3.4: the PE's psum store's
    read and write ports serve the MAC's accumulation and the transfers to and from the GLB, so each
    psum drained costs the MAC one cycle; RS and OS, whose PEs accumulate in a pad or RF) or ``free``
    (v3.3's: partial sums move between a PE's psum store and the GLB without delaying its MAC);
    docs/cost-model.md, "Mapper". ``glb_reuse``: ``layer`` (default: a PE-local tile is reused across the
    GLB-level loops of the whole layer) or ``tile`` (only within one DRAM tile, as the two-level loop nest
    has it, and the DRAM schedule is chosen with each GLB-level order: :mod:`.reuse`; with
    ``dram_tiles="hold-array"`` and ``glb_buffering`` double, single, overlap or zigzag — under zigzag each
    candidate schedule's refills at its own DRAM tiles, over the staircases of every corner at or before
    the mapping's, :func:`.reuse.best_order_windows`); docs/cost-model.md, "Reuse across DRAM tiles".
    ``halo``: how the DRAM schedule's input bands count the rows and columns they read — ``density``
    (default: the rows of every band's window over the padded plane, times its real rows: the padding's
    share as if spread evenly) or ``exact`` (the real rows and columns inside each
    band's window: a band at the border reads fewer of the padding's rows than its share, so small bands
    read more real rows than ``density`` counts, up to 1.9× on a 7×7 kernel over an 8×8 map);
    docs/cost-model.md, "GLB ↔ DRAM".
    """

    name = "analytical"
    version = "3.4"
    #: every result of :meth:`evaluate` has passed :func:`~hdx.cost.base.check_finite` already
    checks_finite = True

    def __init__(self, hardware: HardwareParams | None = None, tech: TechTable | str | Path | None = None,
                 mapper_objective: MapperObjective = "latency", mapper_space: MapperSpace = "full",
                 precision: Precision = "float32", mapper_tiles: MapperTiles = "divisors",
                 dram_tiles: DramTiles = "hold-array", glb_buffering: GlbBuffering | None = None,
                 glb_port: GlbPort | None = None, psum_port: PsumPort | None = None,
                 glb_reuse: GlbReuse | None = None, halo: Halo = "density"):
        keep_freed_memory()  # freed temporaries stay in the heap (hdx.cost.heap): fewer page faults
        self.clear_cache()  # (the DRAM schedules of recent layer sets, self._held; not pickled)
        self.hardware = hardware if hardware is not None else HardwareParams()
        if isinstance(tech, TechTable):
            self.tech = tech
        else:
            self.tech = load_tech(tech if tech is not None else self.hardware.tech)
        self.mapper_objective: MapperObjective = _option("mapper_objective", mapper_objective,
                                                         MapperObjective)
        self.mapper_space: MapperSpace = _option("mapper_space", mapper_space, MapperSpace)
        self.mapper_tiles: MapperTiles = _option("mapper_tiles", mapper_tiles, MapperTiles)
        self.precision: Precision = _option("precision", precision, Precision)
        self.dram_tiles: DramTiles = _option("dram_tiles", dram_tiles, DramTiles)
        self.halo: Halo = _option("halo", halo, Halo)
        # the GLB buffering and the ports are the hardware's (HardwareParams) unless given here
        hw = self.hardware
        self.glb_buffering: GlbBuffering = _option(
            "glb_buffering", hw.glb_buffering if glb_buffering is None else glb_buffering, GlbBuffering)
        self.glb_port: GlbPort = _option("glb_port", hw.glb_port if glb_port is None else glb_port, GlbPort)
        self.psum_port: PsumPort = _option("psum_port", hw.psum_port if psum_port is None else psum_port,
                                           PsumPort)
        self.glb_reuse: GlbReuse = _option("glb_reuse", hw.glb_reuse if glb_reuse is None else glb_reuse,
                                           GlbReuse)
        if self.glb_reuse == "tile" and (self.dram_tiles != "hold-array" or self._stalls == "mixed"):
            raise HDXError(f"glb_reuse='tile' chooses the DRAM schedule with each GLB-level order: use it "
                           f"with dram_tiles='hold-array' and glb_buffering double, single, overlap or "
                           f"zigzag (got dram_tiles='{self.dram_tiles}', "
                           f"glb_buffering='{self.glb_buffering}')")
        if self._stalls is not None and self.dram_tiles != "hold-array":
            raise HDXError(f"glb_buffering='{self.glb_buffering}' chooses the GLB tiles with each array "
                           f"mapping: use it with dram_tiles='hold-array'")

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_held"}  # (a cache: rebuilt where used)

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.clear_cache()

    def clear_cache(self) -> None:
        """Forget the DRAM schedules kept from earlier calls (:mod:`.held_cache`): the next call on any
        layers costs as the first call on them does (for timing a cold search; the results never
        differ)."""
        self._held = HeldCache()

    def replace(self, **options) -> AnalyticalModel:
        """The same model (hardware, technology table, every option) with ``options`` changed, e.g.
        ``model.replace(glb_reuse="tile")``; an option that does not combine with the others is the
        constructor's one-line :class:`HDXError`."""
        keep = {k: getattr(self, k) for k in OPTIONS}
        unknown = sorted(set(options) - set(keep))
        if unknown:
            raise HDXError(f"AnalyticalModel.replace: unknown option(s) {', '.join(unknown)}; "
                           f"one of {', '.join(keep)}")
        return AnalyticalModel(self.hardware, self.tech, **{**keep, **options})

    @property
    def settings(self) -> MapperSettings:
        return MapperSettings(self.hardware, self.tech, self.mapper_objective, self.mapper_space,
                              self.mapper_tiles, dram_overlap=self.glb_buffering != "single",
                              port=self.glb_port, psum_port=self.psum_port,
                              every_tile=self.glb_buffering == "zigzag" or self.mapper_tiles == "any",
                              share=self.glb_reuse == "tile" or self.glb_buffering in ("zigzag", "mixed"))

    def fingerprint(self) -> str:
        """sha256 of the model name, version, mapper objective, hardware parameters and technology table."""
        blob = {"model": self.name, "version": self.version, "mapper": self.mapper_objective,
                "mapper_space": self.mapper_space, "mapper_tiles": self.mapper_tiles,
                "precision": self.precision,
                # (the hardware's buffering and ports as the model uses them, below: given here or not)
                "hardware": self.hardware.model_dump(mode="json", exclude={"glb_buffering", "glb_port",
                                                                            "psum_port", "glb_reuse"}),
                "tech": self.tech.model_dump(mode="json")}
        changed = self._changed_options()
        for k in ("dram_tiles", "glb_buffering", "glb_port", "psum_port", "glb_reuse", "halo"):  # not default
            if k in changed:  # a buffering or count with its revision where it changed since it was added
                rev = REVISIONS.get(k, {}).get(changed[k])
                blob[k] = changed[k] if rev is None else f"{changed[k]}/{rev}"
        return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()

    def __repr__(self) -> str:
        return (f"AnalyticalModel(v{self.version}, tech={self.tech.name}, "
                f"word_bits={self.hardware.word_bits}, noc={self.hardware.noc})")

    def _changed_options(self) -> dict[str, str]:
        """The model's options that are not at their defaults (the keywords' defaults, and for the
        hardware's buffering and ports :class:`HardwareParams`'), in the keywords' order."""
        params = inspect.signature(AnalyticalModel.__init__).parameters
        out = {}
        for k in OPTIONS:
            default = params[k].default
            if default is None:  # the hardware's option: its default is HardwareParams'
                default = HardwareParams.model_fields[k].default
            if getattr(self, k) != default:
                out[k] = getattr(self, k)
        return out

    @property
    def label(self) -> str:
        """The model's name and the options it does not take at their defaults (what ``hdx cost`` reports
        as its model), e.g. ``analytical (glb_buffering=zigzag)``."""
        changed = ", ".join(f"{k}={v}" for k, v in self._changed_options().items())
        return self.name + (f" ({changed})" if changed else "")

    # ------------------------------------------------------------------------------------------
    def _check_rf(self, layers: LayerTable, accels: AccelTable, rfw: np.ndarray) -> None:
        hw = self.hardware
        _, words = accels.storage(hw)
        given = accels.per_operand
        for d, df in enumerate(DATAFLOWS):
            # storage per operand: each operand the dataflow keeps in the PE needs a word of its own
            for j in KEEPS[df]:
                bad = np.nonzero((accels.dataflow == d) & given & (words[j] < 1))[0]
                if bad.size:
                    acc = accels.accelerator(int(bad[0]))
                    pad = PADS[j]
                    raise HDXError(
                        f"layer '{layers.names[0] or '0'}' on accelerator {acc}: {df.upper()} keeps its "
                        f"{OPERAND_NAMES[j]} in the PE but {pad} = {int(getattr(acc, pad))} B holds no "
                        f"{hw.word_bits}-bit word; use {pad} >= {int(np.ceil(hw.word_bits / 8))} bytes")
            need, what = MIN_RF_WORDS[df]
            bad = np.nonzero((accels.dataflow == d) & ~given & (rfw < need))[0]
            if bad.size:
                acc = accels.accelerator(int(bad[0]))
                name = layers.names[0] or "0"
                need_bytes = int(np.ceil(need * hw.word_bits / 8))
                raise HDXError(
                    f"layer '{name}' on accelerator {acc}: no tile fits the RF: {acc.rf_bytes} B holds "
                    f"{int(rfw[bad[0]])} word(s) of {hw.word_bits} bits but {df.upper()} must hold {what} "
                    f"({need} word(s)); use rf >= {need_bytes} bytes, smaller word_bits or another dataflow")

    def evaluate(self, layers: LayerTable, accels: AccelTable, *, mapping: bool = True) -> LayerCosts:
        """Costs of every layer on every accelerator: [L, A] arrays (cycles, pJ) and area [A] (µm²);
        with ``mapping``, ``LayerCosts.mapping`` holds the chosen mapping of each pair
        (:data:`MAPPING_FIELDS`; ``False``: not reported, which a search over designs does not need). A
        non-finite cost (from extreme hardware or technology values) is an :class:`HDXError`, never a
        result."""
        res = self._evaluate_chunks(layers, accels, self.precision, mapping=mapping)
        if self.precision == "float32" and not all_finite(res):  # beyond float32's range: redo
            res = self._evaluate_chunks(layers, accels, "float64", mapping=mapping)
        return check_finite(res, layers, accels, model=f"{self.name} v{self.version}")

    # ---- per-design parts without the mapper (hdx.cost.hwsearch bounds whole spaces with them) ----
    def _per_operand(self, accels: AccelTable, per_pad) -> np.ndarray:
        """Σ over the pads of designs with storage per operand of ``per_pad(bytes)`` (a pad of 0 bytes is
        a register, counted with the interconnect registers); 0 for the others."""
        given = accels.per_operand
        if not given.any():
            return np.zeros(len(accels))
        nbytes, _ = accels.storage(self.hardware)
        return sum(np.where(given & (b > 0), per_pad(np.maximum(b, 1.0)), 0.0) for b in nbytes)

    def area_um2(self, accels: AccelTable) -> dict[str, np.ndarray]:
        """Area of each accelerator by part (µm², float64 [A]): MACs, RFs (RS: its three pads; storage per
        operand: every pad, used by the dataflow or not), the GLB at its access width, and the
        interconnect registers."""
        hw, tech, wbits = self.hardware, self.tech, self.hardware.word_bits
        pes = accels.num_pes.astype(np.float64)
        rfw = np.floor(accels.rf_bytes * 8 / wbits)
        pad_area = sum(tech.sram_area_um2(v * wbits / 8) for v in hw.spad_words(rfw))  # RS pads
        is_rs = accels.dataflow == DATAFLOWS.index("rs")
        fwd_regs = 1.0 if hw.noc == "forwarding" else 0.0
        one_rf = np.where(is_rs, pad_area, tech.sram_area_um2(accels.rf_bytes.astype(np.float64)))
        rf = np.where(accels.per_operand, self._per_operand(accels, tech.sram_area_um2), one_rf)
        return {
            "pe": pes * tech.mac_area_um2(wbits),
            "rf": pes * rf,
            "glb": tech.sram_area_um2(accels.glb_bytes.astype(np.float64), width_words=accels.bandwidth(hw),
                                      word_bits=wbits),
            "noc": pes * (tech.noc_registers_per_pe + fwd_regs) * tech.register_area_um2(wbits),
        }

    def leakage_mw(self, accels: AccelTable) -> np.ndarray:
        """Leakage power of each accelerator (mW, float64 [A]): the GLB (at its access width), and per PE
        its RF (RS: its three pads), its MAC and its interconnect registers. Zero with a technology table
        without leakage."""
        tech, hw = self.tech, self.hardware
        if not tech.has_leakage:
            return np.zeros(len(accels))
        wbits = hw.word_bits
        rfw = np.floor(accels.rf_bytes * 8 / wbits)
        is_rs = accels.dataflow == DATAFLOWS.index("rs")
        pads = sum(tech.sram_leakage_mw(v * wbits / 8) for v in hw.spad_words(rfw))
        rf = np.where(is_rs, pads, tech.sram_leakage_mw(accels.rf_bytes.astype(np.float64)))
        rf = np.where(accels.per_operand, self._per_operand(accels, tech.sram_leakage_mw), rf)
        n_regs = tech.noc_registers_per_pe + (1.0 if hw.noc == "forwarding" else 0.0)
        regs = n_regs * tech.register_leakage_mw(wbits)
        glb = tech.sram_leakage_mw(accels.glb_bytes.astype(np.float64), width_words=accels.bandwidth(hw),
                                   word_bits=wbits)
        return np.asarray(glb + accels.num_pes * (rf + tech.mac_leakage_mw(wbits) + regs), dtype=np.float64)

    def glb_energy_pj(self, accels: AccelTable) -> np.ndarray:
        """Energy of one GLB word access of each accelerator (pJ, float64 [A]), at its access width."""
        e = self.tech.sram_energy_pj(accels.glb_bytes.astype(np.float64), self.hardware.word_bits,
                                     width_words=accels.bandwidth(self.hardware))
        return np.asarray(e, dtype=np.float64)

    def dram_words(self, layers: LayerTable, accels: AccelTable) -> np.ndarray:
        """DRAM words of each (layer, accelerator) under its DRAM schedule (float64 [L, A]): the fewest
        the accelerator's GLB size allows (docs/cost-model.md, "GLB ↔ DRAM"); no array-level mapping.
        With ``dram_tiles="hold-array"`` (the default), where the schedule is chosen per array mapping, a
        lower bound of every mapping's: the fewest of the schedules holding the spatial unrolling's
        working set that fit the GLB, or of all of them where none fits (:func:`.memory.held_bound`)."""
        # the schedule depends on the PE array, the dataflow and the GLB size only: distinct ones once
        key = np.stack([accels.pe_x, accels.pe_y, accels.dataflow, accels.glb_bytes], axis=1)
        uniq, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
        if len(uniq) < len(accels):
            return self.dram_words(layers, accels[first])[:, inverse.ravel()]
        ly = LayerDims.of(layers, np.float64)
        floors = tuple(np.empty((len(layers), len(accels))) for _ in range(self._n_floors))
        for d, df in enumerate(DATAFLOWS):
            idx = np.nonzero(accels.dataflow == d)[0]
            if idx.size:
                x, y = (np.asarray(a[idx], dtype=np.float64)[None, :] for a in (accels.pe_x, accels.pe_y))
                for fl, f in zip(floors, working_set(df, unroll(df, ly, x, y)), strict=False):
                    fl[:, idx] = f
        glb_words = np.asarray(accels.glb_bytes, dtype=np.float64) * 8 / self.hardware.word_bits
        if self.dram_tiles == "hold-array":
            g_vals, g_of = np.unique(glb_words, return_inverse=True)
            # (the grid kept between calls on the same layers, as evaluate's: a search asks per slice)
            grid, at = self._held.grid(ly, g_vals, np.float64, fields=False, double=self._two_tiles,
                                       halo=self.halo)
            words = memory.held_bound(grid, floors, at[g_of])
            return words.reshape(len(layers), len(accels)).astype(np.float64)
        return _dram_level(ly, floors[0], glb_words, np.float64, False, self._two_tiles, self.halo)[0]

    @property
    def monotone(self) -> bool:
        """Whether more GLB capacity or bandwidth or DRAM bandwidth never raises any mapping's latency
        (what the bounds of :mod:`hdx.cost.hwsearch` rest on): every buffering (``zigzag`` since its
        revision 3, docs/cost-model.md "Overlap"), and ``glb_reuse="tile"`` (its fronts' penalties are
        counted at their caps, :mod:`.reuse`; under ``zigzag``, the staircases of every corner at or
        before a mapping's). A bigger RF or pad never raises the best latency either:
        along powers of two under the default, and at any size under ``glb_buffering="zigzag"`` or
        ``mapper_tiles="any"`` (every tile that fits, ``MapperSettings.every_tile``)."""
        return True

    @property
    def _stalls(self) -> str | None:
        """How the DRAM words that stall the array are found (:func:`.memory.held_grid`), or None where
        all of them overlap it or all stall."""
        return self.glb_buffering if self.glb_buffering in ("zigzag", "mixed") else None

    @property
    def _two_tiles(self) -> bool:
        """Whether a GLB tile replaced during a layer takes twice its space (``glb_buffering="double"``)."""
        return self.glb_buffering == "double"

    @property
    def _n_floors(self) -> int:
        """How many parts of the working set (:func:`working_set`) the DRAM level uses."""
        return 5 if self.dram_tiles == "hold-array" else 1

    def mapping_bounds(self, layers: LayerTable, accels: AccelTable) -> dict[str, np.ndarray]:
        """Per (layer, accelerator), the least over every legal mapping (PE-local tile and GLB-level
        order) of: the cycles ``max(compute, GLB port, DRAM)`` (``lb_cycles``), the GLB ↔ array words
        (``lb_glb_words``) and the PE-local energy with hops in pJ (``lb_local_pj``), each float64
        [L, A]. Each minimum is taken separately, so every mapping — the one the mapper picks under any
        objective included — costs at least these. The candidate tiles and their words depend only on
        the PE array, the RF and the dataflow, so these bounds of a design with the largest GLB and
        bandwidth hold for every design that differs from it only in smaller memories
        (:mod:`hdx.cost.hwsearch`)."""
        with np.errstate(over="ignore", invalid="ignore"):
            res = self._evaluate_chunks(layers, accels, self.precision, bounds=True, mapping=False)
        assert res.mapping is not None
        return {k: res.mapping[k] for k in BOUND_FIELDS}

    def _evaluate_chunks(self, layers: LayerTable, accels: AccelTable, precision: Precision,
                         bounds: bool = False, mapping: bool = True) -> LayerCosts:
        # layers of the same shape cost the same: each distinct shape is evaluated once
        first, inverse = layers.distinct()
        if len(first) < len(layers):
            part = self._evaluate_chunks(layers[first], accels, precision, bounds, mapping)
            return take_rows(part, inverse)
        with np.errstate(over="ignore", invalid="ignore"):  # refused by check_finite
            # chunks of layers (the [L, A] temporaries stay cache-sized)
            parts = chunks(layers)
            if len(parts) == 1:
                return self._evaluate(layers, accels, precision, bounds, mapping)
            res = None
            for idx in parts:
                part = self._evaluate(layers[idx], accels, precision, bounds, mapping)
                if res is None:  # the first chunk sets the fields; every chunk writes its rows
                    res = empty_like_rows(part, len(layers))
                put_rows(res, idx, part)
            assert res is not None
            return res

    def _evaluate(self, layers: LayerTable, accels: AccelTable, precision: Precision,
                  bounds: bool = False, report: bool = True) -> LayerCosts:
        hw, tech, cfg = self.hardware, self.tech, replace(self.settings, bounds=bounds)
        wbits = hw.word_bits
        n_acc = len(accels)
        if n_acc == 0:
            raise HDXError("no accelerators to evaluate: give at least one")
        rfw_all = np.floor(accels.rf_bytes * 8 / wbits)
        self._check_rf(layers, accels, rfw_all)
        dt = np.float32 if precision == "float32" else np.float64
        ly = LayerDims.of(layers, dt)
        shape = (len(layers), n_acc)
        out = {k: np.empty(shape, dtype=dt)
               for k in ("compute", "glb_arr", "glb_port", "local_pj", "hops", "stall")}
        mapping = {k: np.zeros(shape, dtype=dt)
                   for k in (MAPPING_FIELDS if report else ()) + (BOUND_FIELDS if bounds else ())}
        e_reg = tech.register_energy_pj(wbits)  # a 1-word register access; a hop is one write
        glb_bytes = accels.glb_bytes.astype(dt)[None, :]
        # each design's GLB <-> array bandwidth is the GLB's access width in words: its per-word energy,
        # area and leakage
        bw = accels.bandwidth(hw).astype(dt)[None, :]
        e_glb = tech.sram_energy_pj(glb_bytes, wbits, width_words=bw)

        glb_words = np.asarray(accels.glb_bytes, dtype=np.float64) * 8 / wbits
        cyc_per_word = hw.dram_cycles_per_word
        # each dataflow's accelerators and their spatial unrolling
        arrays: dict[str, tuple] = {}
        joint = self.dram_tiles == "hold-array"  # (the DRAM level per array candidate: no floors here)
        floors = tuple(np.empty(shape, dtype=dt) for _ in range(0 if joint else 1))  # the working set
        store_bytes, store_words = accels.storage(hw)  # per-PE storage of weights, inputs, psums
        for d, df in enumerate(DATAFLOWS):
            idx = np.nonzero(accels.dataflow == d)[0]
            if idx.size == 0:
                continue
            kin = None
            if cfg.share:  # the designs of one kind side by side (as the grid has them where its memories
                # are fixed), so that an entry's twin on a design with more storage is the entry before it
                kin = _kin(accels, idx, glb_words, bw)
                by_kin = np.argsort(kin, kind="stable")
                idx, kin = idx[by_kin], kin[by_kin]
            # WS and OS: the RF is the storage of the one operand they keep; RS: three pads
            kept = KEEPS[df][0] if len(KEEPS[df]) == 1 else None
            rfb = accels.rf_bytes[idx] if kept is None else store_bytes[kept][idx]
            rfb = np.asarray(rfb, dtype=dt)[None, :]
            ad = ArrayDims(x=np.asarray(accels.pe_x[idx], dtype=dt)[None, :],
                           y=np.asarray(accels.pe_y[idx], dtype=dt)[None, :],
                           rfb=rfb, rfw=np.floor(rfb * 8 / wbits), e_rf=tech.sram_energy_pj(rfb, wbits),
                           e_glb=e_glb[:, idx], bw=bw[:, idx],
                           pads={x: np.asarray(w[idx], dtype=dt)[None, :] for x, w in zip("wio", store_words,
                                                                                        strict=True)},
                           kin=kin)
            arrays[df] = idx, ad, unroll(df, ly, ad.x, ad.y)
            for fl, f in zip(floors, working_set(df, arrays[df][2]), strict=False):
                fl[:, idx] = f
        e_dram = tech.dram_energy_pj(wbits)
        double = self._two_tiles  # a replaced GLB tile takes twice its space
        dram_stall = np.zeros(shape, dtype=dt) if self._stalls is not None else None
        if joint:
            # 1'. the DRAM level per array mapping candidate: every schedule of each (layer, GLB size)
            #     once; each candidate takes the best whose GLB tiles hold what it covers (memory)
            g_vals, g_of = np.unique(glb_words, return_inverse=True)
            if self._stalls is None:  # (kept between calls on the same layers: held_cache)
                grid, at = self._held.grid(ly, g_vals, dt, fields=report, double=double, halo=self.halo)
                g_of = at[g_of]
            else:
                grid = memory.held_grid(ly, g_vals.astype(dt)[None, :], fields=report, double=double,
                                        stalls=self._stalls, halo=self.halo,
                                        every_double=self.glb_reuse == "tile")
            dram_words = np.empty(shape, dtype=dt)
        else:
            # 1. the DRAM level: the schedule with the fewest DRAM words on each (layer, GLB size, working
            #    set of the array); its transfers overlap the array side (double-buffered GLB), so a
            #    mapping's latency is max(array side, DRAM)
            dram_words, fields = _dram_level(ly, floors[0], glb_words, dt, report, double, self.halo)
            for k in memory.DRAM_FIELDS if report else ():
                mapping[k][:] = fields[k]
        for df, (idx, ad, u) in arrays.items():
            if joint:
                # (glb_reuse="tile": a DRAM word's energy in GLB accesses, for the schedule's choice)
                weight = (None if self.glb_reuse == "layer" else
                          np.asarray((e_dram + ad.e_glb[0]) / ad.e_glb[0], dtype=dt))
                floor = memory.EntryDram(grid, g_of.reshape(-1)[idx], idx.size, cyc_per_word,
                                         working_set(df, u), weight)
            else:
                floor = dram_words[:, idx] * cyc_per_word
            # 2. the array level: the dataflow's PE-local tile candidates, each with its best GLB-level order
            compute, cands, _ = DATAFLOW_MAPPERS[df](cfg, ly, ad, e_reg, floor, u)
            # 3. the best array mapping given the DRAM bound (one objective for both levels: the DRAM
            #    schedule is the best for every array mapping, see memory; hold-array: the best pair of
            #    both)
            best = select(cfg, compute, cands, ad.e_glb, e_reg, bounds=bounds, fields=report, e_dram=e_dram)
            if joint:
                dram_words[:, idx] = best["dram"]
                if dram_stall is not None:
                    dram_stall[:, idx] = best["dram_stall"]
                if report:
                    li = np.broadcast_to(np.arange(shape[0])[:, None], best["dram_pick"].shape).reshape(-1)
                    gi = np.broadcast_to(g_of.reshape(-1)[idx][None, :], best["dram_pick"].shape).reshape(-1)
                    sched = memory.held_fields(grid, best["dram_pick"].reshape(-1), li, gi)
                    for k in memory.DRAM_FIELDS:
                        mapping[k][:, idx] = sched.fields[k].reshape(shape[0], idx.size)
            out["compute"][:, idx] = compute
            for k in ("glb_arr", "glb_port", "local_pj", "hops", "stall"):
                out[k][:, idx] = best[k]
            for k, v in {**best["fields"], **best.get("bounds", {})}.items():
                mapping[k][:, idx] = v
        busy = out["compute"] + out["stall"]  # the MACs' cycles and those the psum store's ports add
        # the DRAM transfers overlap the array, stall it (single) or (zigzag, mixed) those of the tiles
        # without a second copy stall it
        dram = dram_words * cyc_per_word if dram_stall is None else (
            (dram_words - dram_stall) * cyc_per_word, dram_stall * cyc_per_word)
        latency = with_dram(np.maximum(busy, out["glb_port"]), dram, cfg.dram_overlap)

        # 4. totals: results in float64; MACs exactly, from the integer loop bounds
        def f64(a) -> np.ndarray:  # a float64 [L, A] array of its own (one copy)
            a = np.asarray(a)
            if a.shape == shape and a.dtype != np.float64:
                return a.astype(np.float64)
            return np.broadcast_to(a.astype(np.float64, copy=False), shape).copy()
        macs64 = np.prod(np.stack([np.asarray(v, dtype=np.int64) for v in (
            layers.n, layers.k, np.asarray(layers.c) // np.asarray(layers.groups), layers.p, layers.q,
            layers.r, layers.s)]), axis=0)
        pes = accels.num_pes.astype(np.float64)
        latency64 = f64(latency)
        leak_mw = self.leakage_mw(accels)
        energy = {
            "mac": f64(macs64[:, None] * tech.mac_energy_pj(wbits)),
            "rf": f64(out["local_pj"] + out["hops"] * e_reg),
            "glb": f64((out["glb_arr"] + dram_words) * e_glb),
            "dram": f64(dram_words * e_dram),
            # leakage power (mW) × time: mW · cycles / MHz = nJ → pJ
            "static": latency64 * (leak_mw[None, :] / hw.clock_mhz * 1e3),
        }
        area = self.area_um2(accels)
        compute = f64(out["compute"])
        util = macs64[:, None] / (latency64 * pes[None, :])
        return LayerCosts(latency_cycles=latency64, compute_cycles=compute, memory_cycles=latency64 - compute,
                          energy_pj=energy, area_um2=area, utilisation=util, macs=macs64,
                          clock_mhz=hw.clock_mhz,
                          mapping={k: f64(v) for k, v in mapping.items()} if mapping else None)


def _kin(accels: AccelTable, idx: np.ndarray, glb_words: np.ndarray, bw: np.ndarray) -> np.ndarray:
    """Per accelerator ``idx`` of one dataflow, the id of its kind: the designs that differ only in their
    PE-local storage (the same array, GLB size and bandwidth) share one (:mod:`.distinct`)."""
    rows = np.stack([np.asarray(accels.pe_x[idx], dtype=np.float64),
                     np.asarray(accels.pe_y[idx], dtype=np.float64), glb_words[idx],
                     np.asarray(bw, dtype=np.float64).reshape(-1)[idx]], axis=1)
    return np.unique(rows, axis=0, return_inverse=True)[1].reshape(-1)


def _dram_level(ly: LayerDims, uk: np.ndarray, glb_words: np.ndarray, dt, fields: bool = True,
                double: bool = True, halo: Halo = "density") -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The DRAM words and (with ``fields``) schedule fields ([L, A] each) of layers ``ly`` on accelerators
    with ``uk`` ([L, A]) filters in flight and ``glb_words`` ([A]) (:func:`_dram_schedules`; dense and
    depthwise layers apart, as their schedules have different keys)."""
    dw = np.asarray(ly.dw)[:, 0]
    parts = [np.arange(len(dw))] if dw.all() or not dw.any() else [np.nonzero(~dw)[0], np.nonzero(dw)[0]]
    shape = (len(dw), glb_words.size)
    names = memory.DRAM_FIELDS if fields else ()
    words, out = np.empty(shape, dtype=dt), {k: np.empty(shape, dtype=dt) for k in names}
    for rows in parts:
        sub = ly if len(parts) == 1 else ly.rows(rows)
        sched, col = _dram_schedules(sub, np.broadcast_to(uk, shape)[rows], glb_words, dt, fields, double,
                                     halo)
        words[rows] = sched.words[col]
        for k in names:
            out[k][rows] = sched.fields[k][col]
    return words, out


def _dram_schedules(ly: LayerDims, uk: np.ndarray, glb_words: np.ndarray, dt, fields: bool = True,
                    double: bool = True, halo: Halo = "density") -> tuple[memory.Schedules, np.ndarray]:
    """The DRAM schedules of layers ``ly`` (all dense or all depthwise) on accelerators with ``uk``
    ([L, A]) filters in flight on the array (:func:`~.spatial.unroll`) and ``glb_words`` ([A]) and, per
    (layer, accelerator), the column of its schedule: each distinct (GLB size, and for depthwise layers
    filters in flight) key is computed once, for the layers that meet it."""
    dw = np.asarray(ly.dw)[:, 0]
    infl = np.broadcast_to(uk, (ly.k.shape[0], glb_words.size))
    col, layer, keys_glb, keys_infl = _schedule_keys(glb_words, infl, dw, np.asarray(ly.k)[:, 0])
    if layer is None:  # dense: every layer on every GLB size
        return memory.schedules(ly, keys_glb.astype(dt)[None, :], keys_infl.astype(dt)[None, :], fields,
                                double, halo), col
    return memory.schedules(ly.rows(layer), keys_glb.astype(dt)[:, None], keys_infl.astype(dt)[:, None],
                            fields, double, halo), col


def _schedule_keys(glb_words: np.ndarray, inflight: np.ndarray, dw: np.ndarray, k: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """The columns of the DRAM schedules and, per (layer, accelerator), its column. Dense layers: one
    column per (layer, GLB size), ``layer`` None (column ``l · G + g``). Depthwise layers: one column per
    distinct (layer, GLB size, filters in flight) triple that occurs, with its ``layer``; the filters in
    flight count only up to the layer's ``k`` (a GLB tile holds at least ``min(in flight, K)`` channels,
    :func:`.memory.schedules`), so the accelerators that differ beyond it share a column. Returns
    (column per (layer, accelerator), layer per column, GLB words per column, filters in flight per
    column)."""
    g_vals, g_inv = np.unique(glb_words, return_inverse=True)
    n_l = len(dw)
    if not dw.any():
        col = np.arange(n_l)[:, None] * len(g_vals) + g_inv[None, :]
        return col, None, g_vals, np.ones(len(g_vals))
    infl = np.where(dw[:, None], np.minimum(inflight, np.asarray(k, dtype=np.float64)[:, None]), 0.0)
    n_inf = float(infl.max()) + 1.0
    key = (np.arange(n_l)[:, None] * len(g_vals) + g_inv[None, :]) * n_inf + infl  # exact in float64
    k_vals, col = np.unique(key, return_inverse=True)
    lg = np.floor(k_vals / n_inf)  # layer · G + GLB size index
    layer, g = np.divmod(lg.astype(np.intp), len(g_vals))
    return col.reshape(key.shape), layer, g_vals[g], np.maximum(k_vals - lg * n_inf, 1.0)
