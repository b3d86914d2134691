"""HDX's cost-model interface over ZigZag (:class:`ZigZagModel`): each (layer, accelerator) pair is
translated in memory (:mod:`hdx.cost.zigzag.translate`) and run through ZigZag's own pipeline; results
are cached per pair. ``zigzag-dse`` is an optional extra, imported when a model is made.

Which mapping ZigZag's costs are of (``mappings``): its LOMA search's (``"loma"``), or (``"loma+hdx"``, the
default) the best ZigZag's own cost model rates — latency, then energy, ZigZag's criterion — of LOMA's and
of the analytical model's chosen mapping given to ZigZag as complete temporal orderings
(:func:`~hdx.cost.zigzag.crosscheck.hdx_orderings`). LOMA at a small ``lpf_limit`` misses the mappings
that make many designs good, so LOMA alone overstates their cost; either way every number is ZigZag's
cost model's (docs/design.md, "Which mapping ZigZag costs").

Units: latency in cycles, energy in pJ, area in µm² (see :mod:`hdx.cost.zigzag`).
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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np

from hdx.cost.base import AREA_PARTS, ENERGY_PARTS, LayerCosts
from hdx.cost.tech import TechTable, load_tech
from hdx.cost.zigzag.crosscheck import TRANSLATION_VERSION, GlbLoops
from hdx.cost.zigzag.translate import (
    _PAD_NAMES,
    PinMode,
    ZigZagTech,
    accelerator_data,
    mapping_data,
    tech_for,
    workload_data,
)
from hdx.errors import HDXError
from hdx.space.accelerator import KEEPS, Accelerator, AccelTable, HardwareParams
from hdx.workload import Layer, LayerTable

BACKEND_VERSION = "4"  # 4: the spatial unrolling is the analytical model's (one policy)
INSTALL_HINT = "pip install 'hdx[zigzag]'"
#: which mappings ZigZag costs: its LOMA search's, or the better of that and the analytical model's
Mappings = Literal["loma", "loma+hdx"]


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
    #: where ZigZag's latency comes from (cycles): ``ideal`` (the temporal loops' cycles), ``onload``
    #: and ``offload`` (the first tiles' load, the last outputs' drain) and, per memory level, the
    #: stall of its busiest port (``stall_<level>``, negative: slack; the latency adds the largest) and
    #: the cycles that port transfers data (``busy_<level>``: per link, cycles per period × periods)
    latency_parts: dict[str, float] = field(default_factory=dict)
    #: whose mapping these are the costs of: ZigZag's LOMA search (``loma``), or the analytical model's
    #: chosen mapping given to ZigZag (``hdx``; :meth:`ZigZagModel.best_known`)
    mapping_source: str = "loma"

    @property
    def energy_total_pj(self) -> float:
        return float(sum(self.energy_pj.get(p, 0.0) for p in ENERGY_PARTS))

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
    order every loop (slower). ``mappings``: ``"loma+hdx"`` (default) — :meth:`evaluate` gives, per pair,
    ZigZag's costs of the better of LOMA's mapping and the analytical model's (same hardware and
    technology) as ZigZag rates them (:meth:`best_known`; about twice LOMA's time); ``"loma"`` — LOMA's
    alone. Results are cached per (layer, accelerator, ordering) in the instance.
    """

    name = "zigzag"

    def __init__(self, hardware: HardwareParams | None = None, *, tech: TechTable | str | Path | None = None,
                 lpf_limit: int = 1, pin: PinMode = "fxfy", mappings: Mappings = "loma+hdx"):
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
        if mappings not in get_args(Mappings):
            raise HDXError(f"zigzag mappings must be one of {', '.join(get_args(Mappings))}, "
                           f"got {mappings!r}")
        self.lpf_limit = lpf_limit
        self.pin: PinMode = pin
        self.mappings: Mappings = mappings
        self._analytical = None  # the model whose mappings are offered (made when first needed)
        self.version = f"zigzag-dse {zigzag_version()} / hdx-backend {BACKEND_VERSION}"
        self._cache: dict[tuple, ZigZagResult] = {}
        self.seconds_spent = 0.0
        self.layers_run = 0

    # -- interface ---------------------------------------------------------------------------------

    def fingerprint(self) -> str:
        """Stable hash of ZigZag's version, this translation, its options and the hardware parameters."""
        blob = dict(name=self.name, version=self.version, lpf_limit=self.lpf_limit, pin=self.pin,
                    # (the analytical model's GLB buffering, ports and reuse: ZigZag models its own)
                    hardware=self.hardware.model_dump(exclude={"glb_buffering", "glb_port", "psum_port",
                                                               "glb_reuse"}),
                    tech=self.tech.model_dump(mode="json"))
        if self.mappings != "loma":  # (LOMA alone: the fingerprint LOMA's runs have always had)
            blob.update(mappings=self.mappings, offered=self.analytical().fingerprint(),
                        translation=TRANSLATION_VERSION)
        return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()

    @property
    def label(self) -> str:
        """The model as reports name it: which mappings its costs are of."""
        return "zigzag" if self.mappings == "loma" else "zigzag (best of LOMA and HDX's mapping)"

    def analytical(self):
        """The analytical model (same hardware and technology) whose chosen mappings ZigZag is offered."""
        if self._analytical is None:
            from hdx.cost.analytical import AnalyticalModel

            self._analytical = AnalyticalModel(self.hardware, self.tech)
        return self._analytical

    def evaluate(self, layers: LayerTable, accels: AccelTable, *, mapping: bool = True) -> LayerCosts:
        """Costs of every layer on every accelerator ([L, A] arrays): one ZigZag run per new pair, and with
        ``mappings="loma+hdx"`` one per translation of the analytical model's mapping of it
        (:meth:`best_known`). With ``mapping`` and ``"loma+hdx"``, ``LayerCosts.mapping["from_hdx"]`` is 1
        where the analytical model's mapping was the better, 0 where LOMA's was. ZigZag has no static
        energy: with a technology table that gives leakage, the ``static`` part is the analytical model's
        leakage power of the design (``AnalyticalModel.leakage_mw``) × ZigZag's latency, so both models
        price the same hardware."""
        L, A = len(layers), len(accels)
        lat = np.zeros((L, A))
        comp = np.zeros((L, A))
        mem = np.zeros((L, A))
        util = np.zeros((L, A))
        energy = {p: np.zeros((L, A)) for p in ENERGY_PARTS}
        area = {p: np.zeros(A) for p in AREA_PARTS}
        layer_objs = layers.to_layers()
        offered = None
        if self.mappings == "loma+hdx":
            from hdx.cost.analytical import MAPPING_FIELDS

            ours = self.analytical().evaluate(layers, accels)
            assert ours.mapping is not None
            offered = {k: ours.mapping[k] for k in MAPPING_FIELDS}
        from_hdx = np.zeros((L, A))
        for j in range(A):
            acc = accels.accelerator(j)
            for i, layer in enumerate(layer_objs):
                if offered is None:
                    r = self.evaluate_one(layer, acc)
                else:
                    r = self.best_known(layer, acc, {k: float(v[i, j]) for k, v in offered.items()})
                    from_hdx[i, j] = r.mapping_source == "hdx"
                lat[i, j], comp[i, j], mem[i, j], util[i, j] = (r.latency_cycles, r.compute_cycles,
                                                                r.memory_cycles, r.utilisation)
                for p in ENERGY_PARTS:
                    energy[p][i, j] = r.energy_pj.get(p, 0.0)  # (ZigZag has no static energy)
            for p in AREA_PARTS:
                area[p][j] = r.area_um2[p]
        if self.tech.has_leakage:  # static: the same leakage power as the analytical model's, × ZigZag's time
            leak_mw = self.analytical().leakage_mw(accels)
            energy["static"] = lat * (leak_mw[None, :] / self.hardware.clock_mhz * 1e3)  # mW·cycles/MHz → pJ
        return LayerCosts(latency_cycles=lat, compute_cycles=comp, memory_cycles=mem, energy_pj=energy,
                          area_um2=area, utilisation=util, macs=layers.macs.astype(np.int64),
                          clock_mhz=self.hardware.clock_mhz,
                          mapping={"from_hdx": from_hdx} if mapping and offered is not None else None)

    def best_known(self, layer: Layer, acc: Accelerator, mapping: dict[str, float]) -> ZigZagResult:
        """ZigZag's costs of the best mapping it knows for one pair: of LOMA's search and of the analytical
        model's ``mapping`` (its :data:`~hdx.cost.analytical.MAPPING_FIELDS` for this pair) given as each
        of :func:`~hdx.cost.zigzag.crosscheck.hdx_orderings`, the least latency, then energy, as ZigZag
        rates them (its own criterion; ties go to LOMA's). A translation ZigZag refuses (tiles that do
        not fit its memories) is skipped; where every run fails, LOMA's error is raised."""
        from hdx.cost.zigzag.crosscheck import hdx_orderings

        best: ZigZagResult | None = None
        error: HDXError | None = None
        try:
            best = self.evaluate_one(layer, acc)
        except HDXError as e:
            error = e
        for ordering, glb_loops, pe in hdx_orderings(layer, acc, mapping, self.hardware):
            try:
                r = self.evaluate_one(layer, acc, ordering, glb_loops, pe)
            except HDXError:
                continue
            if best is None or (r.latency_cycles, r.energy_total_pj) < (best.latency_cycles,
                                                                        best.energy_total_pj):
                best = replace(r, mapping_source="hdx")
        if best is None:
            assert error is not None
            raise error
        return best

    def evaluate_one(self, layer: Layer, acc: Accelerator, ordering: list[list] | None = None,
                     glb_loops: GlbLoops | None = None, pe_loops: dict[str, int] | None = None
                     ) -> ZigZagResult:
        """Run ZigZag on one layer and one accelerator (cached). ``ordering``: a complete temporal
        ordering (innermost first, ``[dim, factor]``, e.g. :func:`ordering_from_mapping`): ZigZag then
        costs that one mapping instead of searching (a bound that does not match ZigZag's temporal
        loops makes LOMA search under it as a constraint); its memory allocator decides which loops each
        memory holds. ``glb_loops`` (with a complete ``ordering``): the GLB holds, for every operand, the
        tile of the ordering's ``glb_loops`` innermost loops (those a lower memory does not hold
        already), and the loops above them are DRAM-level loops — a two-level mapping costed exactly as
        given (:func:`~hdx.cost.zigzag.crosscheck.two_level_ordering`); as a dict, the count per layer
        operand (``"W"``, ``"I"``, ``"O"``: an operand whose GLB tile spans more loops than another's);
        a tile set that does not fit ZigZag's GLB is an :class:`HDXError`. ``pe_loops`` (with
        ``glb_loops``; per layer operand): the memories below the GLB hold at most that operand's
        ``pe_loops`` innermost loops (the PE-local tile, :func:`~hdx.cost.zigzag.crosscheck.pe_loops`),
        where ZigZag's allocator would fill them with as many as fit."""
        if not isinstance(layer, Layer):
            raise HDXError(f"zigzag evaluate_one needs a Layer, got {type(layer).__name__}")
        if not isinstance(acc, Accelerator):
            raise HDXError(f"zigzag evaluate_one needs an Accelerator, got {type(acc).__name__}")
        if glb_loops is not None and ordering is None:
            raise HDXError("zigzag evaluate_one: glb_loops needs a complete ordering")
        if isinstance(glb_loops, dict) and set(glb_loops) != {"W", "I", "O"}:
            raise HDXError(f"zigzag evaluate_one: glb_loops per operand needs W, I and O, "
                           f"got {sorted(glb_loops)}")
        if pe_loops is not None and (glb_loops is None or set(pe_loops) != {"W", "I", "O"}):
            raise HDXError(f"zigzag evaluate_one: pe_loops needs glb_loops and W, I and O, "
                           f"got {sorted(pe_loops)}")
        cut = tuple(sorted(glb_loops.items())) if isinstance(glb_loops, dict) else glb_loops
        pe = None if pe_loops is None else tuple(sorted(pe_loops.items()))
        key = (layer, acc, None if ordering is None else tuple(tuple(x) for x in ordering), cut, pe)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._run(layer, acc, ordering, glb_loops, pe_loops)
            self._cache[key] = hit
        return hit

    # -- one ZigZag run ----------------------------------------------------------------------------

    def _run(self, layer: Layer, acc: Accelerator, ordering: list[list] | None = None,
             glb_loops: GlbLoops | None = None, pe_loops: dict[str, int] | None = None) -> ZigZagResult:
        zz = self._zz
        hw = self.hardware
        what = _describe(layer, acc)
        if acc.rf_bytes * 8 < hw.word_bits:
            raise HDXError(f"zigzag: {what}: the RF ({acc.rf_bytes} B) holds less than one "
                           f"{hw.word_bits}-bit word; use rf_bytes >= {math.ceil(hw.word_bits / 8)}")
        _, words = acc.storage(hw)
        if any(words[j] < 1 for j in KEEPS[acc.dataflow]):
            raise HDXError(f"zigzag: {what}: a per-PE storage the {acc.dataflow.upper()} dataflow keeps an "
                           f"operand in holds less than one {hw.word_bits}-bit word (pads {acc.text()})")
        tech = tech_for(self.tech, hw, acc)
        t0 = time.perf_counter()
        try:
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                accel = self._build_accelerator(acc, tech)
                workload = self._build_workload(layer, acc, ordering)
                main = zz["MainStage"](
                    [zz["WorkloadStage"], zz["MinimalLatencyStage"], zz["SpatialMappingGeneratorStage"],
                     zz["MinimalLatencyStage"],
                     (zz["TemporalMappingGeneratorStage"] if glb_loops is None
                      else _given_glb_stage(glb_loops, pe_loops)),
                     zz["CostModelStage"]],
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
            temporal_mapping=str(cme.temporal_mapping), latency_parts=_latency_parts(cme, compute))
        checks = (("latency", latency), ("energy", result.energy_total_pj))
        bad = [k for k, v in checks if not math.isfinite(v) or v <= 0]
        if bad:
            raise HDXError(f"zigzag gave a non-positive or non-finite {' and '.join(bad)} for "
                           f"{_describe(layer, acc)}")
        return result


def _latency_parts(cme, ideal: float) -> dict[str, float]:
    """:attr:`ZigZagResult.latency_parts` of a ZigZag cost model evaluation."""
    parts = {"ideal": ideal, "onload": float(cme.data_onloading_cycle),
             "offload": float(cme.data_offloading_cycle)}
    for level, comb, ports in zip(cme.mem_level_list, cme.stall_slack_comb_collect, cme.port_activity_collect,
                                  strict=True):
        if comb:
            parts[f"stall_{level.name}"] = max(float(v) for v in comb.values())
        busy = [sum(a.real_cycle * a.period_count for a in acts) for acts in ports.values() if acts]
        if busy:
            parts[f"busy_{level.name}"] = float(max(busy))
    return parts


def _given_glb_stage(glb_loops: GlbLoops, pe_loops: dict[str, int] | None = None):
    """ZigZag's temporal-mapping stage with its memory allocator overruled at the GLB: every operand's
    GLB tile is that of the ordering's ``glb_loops`` innermost loops, or, given per layer operand
    (``{"W": n, "I": n, "O": n}``), that operand's (ZigZag's allocator otherwise picks per operand, by
    its own estimate of the accesses above). The levels below and above are allocated as ZigZag does;
    with ``pe_loops`` (per layer operand) those below hold at most that many innermost loops of it."""
    from zigzag.opt.loma.memory_allocator import MemoryAllocator, MemoryTooSmallException
    from zigzag.stages.mapping.temporal_mapping_generator_stage import TemporalMappingGeneratorStage

    class GivenGlbAllocator(MemoryAllocator):
        def find_best_loop_combination(self, mem_ops, all_sizes, node, top_levels):
            if node.name != "glb":
                idxs = super().find_best_loop_combination(mem_ops, all_sizes, node, top_levels)
                if pe_loops is None or node.name == "dram":
                    return idxs
                # below the GLB: no more than the operand's PE loops (fewer loops: a smaller tile, so
                # what fitted still fits)
                return [min(i, max(pe_loops[str(self.mem_to_layer_op[op])] - below_of(self, op), 0))
                        for i, op in zip(idxs, mem_ops, strict=True)]
            idxs, total = [], 0
            for op in mem_ops:
                below = below_of(self, op)  # loops lower memories hold already
                cut = glb_loops if isinstance(glb_loops, int) else glb_loops[str(self.mem_to_layer_op[op])]
                i = max(cut - below, 0)
                if i >= len(all_sizes[op]):  # the sizes stop at the first slice that overflows
                    raise MemoryTooSmallException(f"the given GLB tile of {op} does not fit the GLB")
                idxs.append(i)
                total += all_sizes[op][i]
            if total > node.memory_instance.size:
                raise MemoryTooSmallException("the given GLB tiles do not fit the GLB together")
            return idxs

    def below_of(alloc, op) -> int:  # the loops of ``op`` the memories below this one hold already
        return n_loops - len(alloc.unallocated[op])

    class GivenGlbStage(TemporalMappingGeneratorStage):
        def generate_temporal_mappings(self):
            ordering = self.layer.temporal_ordering.to_legacy_format()
            nonlocal n_loops
            n_loops = len(ordering)
            yield GivenGlbAllocator(self.accelerator, self.layer, self.spatial_mapping, ordering,
                                    self.mapping_type).run()

    n_loops = 0
    return GivenGlbStage


__all__ = ["BACKEND_VERSION", "ZigZagModel", "ZigZagResult", "zigzag_version"]
