"""The Python API of HDX: what the ``hdx`` commands do, as functions with keyword arguments and typed
returns. The CLI is a thin layer over these; benchmarks and notebooks use them too.

Units everywhere: latency ms, energy mJ, area mm² (per-layer costs also in cycles and pJ).

>>> from hdx.api import best_accelerator, cost, search, train
>>> r = cost(arch="mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3", accel="16x16,rf=16,df=ws")
>>> r.total["latency_ms"], r.total["energy_pj"] * 1e-9          # ms, mJ          # doctest: +SKIP
>>> best = best_accelerator(arch="mb5e3,...", budgets="latency<=2ms")           # doctest: +SKIP
>>> best.accelerator, best.choice.metrics                                      # doctest: +SKIP
>>> run = search(budgets=["latency<=2ms"], epochs=4, out="runs/s1")             # doctest: +SKIP
>>> run.final.feasible, run.final.accelerator.accelerator                       # doctest: +SKIP
>>> train(arch=run.final.arch, epochs=30, out="runs/t1").test_accuracy          # doctest: +SKIP

Nothing here imports torch until :func:`search` or :func:`train` runs (``hdx cost`` stays light).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NotRequired, TypedDict

import numpy as np

from hdx.budgets import Budget, BudgetSpec, RelativeBudget, parse_budget_specs
from hdx.errors import HDXError
from hdx.metrics import Objective, cycles_to_ms, pj_to_mj, um2_to_mm2

if TYPE_CHECKING:
    from hdx.cost.base import CostModel, LayerCosts
    from hdx.cost.grid import BestAccelerator
    from hdx.cost.table import CostTable
    from hdx.search.config import SearchConfig
    from hdx.search.loop import SearchSetup
    from hdx.search.records import SearchFinal
    from hdx.space.accelerator import AcceleratorSpace
    from hdx.space.network import NetworkSpace
    from hdx.train.config import TrainConfig
    from hdx.train.records import TrainFinal
    from hdx.workload import LayerTable

__all__ = ["CostReport", "SearchRun", "best_accelerator", "cost", "search", "train"]


def _objective(objective: str, weights: dict[str, float] | None,
               reference: Callable[[], dict[str, float]]) -> Objective:
    """The objective (validated by :class:`Objective`); ``reference()`` gives the per-metric reference
    values, asked for only by ``weighted``."""
    obj = Objective(objective, weights if objective == "weighted" else None)
    return obj.with_reference(reference()) if objective == "weighted" else obj


# ---------------------------------------------------------------------------------------------------
# cost
class LayerCost(TypedDict):
    """One layer's costs on the reported accelerator (cycles, ms, pJ, mm², MACs, PE utilisation)."""

    name: str
    kind: str
    latency_cycles: float
    latency_ms: float
    energy_pj: float
    area_mm2: float
    macs: int
    utilisation: float
    energy_parts_pj: dict[str, float]  # mac, rf, glb, dram, static (leakage x latency)
    mapping: NotRequired[str]  # with explain=True
    schedule: NotRequired[dict]  # with explain=True (analytical model): the mapping's fields, cycles, words
    #: zigzag backend (best of LOMA and HDX's mapping): whose mapping ZigZag costed, "loma" or "hdx"
    zigzag_mapping: NotRequired[str]


class TotalCost(TypedDict):
    """The whole network's costs (cycles, ms, pJ, mm², MACs)."""

    latency_cycles: float
    latency_ms: float
    energy_pj: float
    area_mm2: float
    macs: int
    energy_parts_pj: dict[str, float]  # mac, rf, glb, dram, static (leakage x latency)


class DesignCost(TypedDict):
    """One design of the grid (``all_designs=True``): cycles, ms, pJ, mJ, mm²."""

    accelerator: str
    latency_cycles: float
    latency_ms: float
    energy_pj: float
    energy_mj: float
    area_mm2: float


class ValueDesign(TypedDict):
    """The best design at one combination of knob values (``by=...``): ms, mJ, mm²; ``feasible`` False:
    no design with these values meets the budgets, and this is the closest."""

    values: dict[str, object]
    accelerator: str
    feasible: bool
    latency_ms: float
    energy_mj: float
    area_mm2: float
    objective_value: float
    energy_parts_mj: dict[str, float]
    #: the analytical model: the share of the latency in layers bounded by compute, the GLB port or DRAM
    latency_bound_share: NotRequired[dict[str, float]]
    #: the analytical model counting the reuse over the whole layer (``glb_reuse="layer"``, the default):
    #: the design's latency (ms) with it counted per DRAM tile instead (``"tile"``), which a small GLB
    #: can raise (docs/hw-search.md, "Small GLBs")
    latency_ms_tile_reuse: NotRequired[float]


class FrontDesign(TypedDict):
    """One design of a Pareto front (``pareto=True``): ms, mJ, mm²."""

    accelerator: str
    latency_ms: float
    energy_mj: float
    area_mm2: float


@dataclass
class CostReport:
    """Costs of one network on one accelerator (per layer and total), and with ``accel="grid"`` the
    best accelerator of the grid (:class:`~hdx.cost.grid.BestAccelerator`) and optionally every design."""

    arch: str
    accelerator: str
    backend: str
    model: str
    layers: list[LayerCost]
    total: TotalCost
    best: BestAccelerator | None = None  # with accel="grid"
    designs: list[DesignCost] | None = None
    #: with pareto=True: the latency–energy–area Pareto front under the budgets, and how it was found
    pareto: list[FrontDesign] | None = None
    pareto_search: dict | None = None
    #: with by=knobs: the best design at each combination of the knobs' values, and how they were found
    by: list[ValueDesign] | None = None
    by_search: dict | None = None
    #: with check=MODEL: a second model's costs of the reported designs (hdx.cost.second_opinion)
    check: dict | None = None
    seconds: float = 0.0
    grid_name: str = ""
    notes: list[str] = field(default_factory=list)  # what each relative budget (latency<=p20) resolved to

    def to_dict(self) -> dict[str, object]:
        """The JSON of ``hdx cost --json``."""
        out: dict[str, object] = {"arch": self.arch, "accelerator": self.accelerator, "backend": self.backend,
                               "model": self.model, "total": self.total, "layers": self.layers}
        if self.best is not None:
            extra = {k: self.total[k] for k in ("latency_cycles", "energy_pj", "macs")}
            out.update(best={**self.best.to_dict(), **extra}, evaluated=self.best.evaluated,
                       seconds=self.seconds)
        if self.designs is not None:
            out["designs"] = self.designs
        if self.pareto is not None:
            out["pareto"] = self.pareto
            out["pareto_search"] = self.pareto_search
        if self.by is not None:
            out["by"] = self.by
            out["by_search"] = self.by_search
        if self.check is not None:
            out["check"] = self.check
        return out


def cost(*, arch: str | None = None, onnx: str | Path | None = None, accel: str = "grid",
         objective: str = "edap", weights: dict[str, float] | None = None,
         budgets: str | Sequence[str | Budget] | None = None, backend: str = "analytical",
         space: str = "dance_cifar10", accel_space: str = "eyeriss_like", explain: bool = False,
         all_designs: bool = False, pareto: bool = False, by: str | Sequence[str] | None = None,
         check: str | None = None, check_top: int = 1) -> CostReport:
    """Per-layer and total latency (cycles, ms), energy (pJ) and area (mm²) of a network on ``accel``.

    The network: ``arch`` (one op per searchable layer of ``space``) or ``onnx`` (the path of an ONNX
    CNN, :mod:`hdx.space.onnx_import`; exactly one of the two).

    ``accel``: one accelerator (``16x16,rf=16,df=ws[,glb=128]``) or ``"grid"`` for the exhaustive
    choice over ``accel_space`` minimising ``objective`` under the hard ``budgets`` (one-line error
    when none fits); the reported layers are then those on the chosen design. ``weights`` (objective
    ``weighted``) apply to metrics normalised by the space's reference (:mod:`hdx.metrics`; for an
    ONNX network, which is outside the space: the median over the grid of its own metrics).
    ``explain``: add the mapping the model chose per layer (models with a mapper). With ``accel="grid"``:
    ``all_designs`` lists every design, ``pareto`` adds the latency–energy–area front under the budgets,
    and ``by`` (knob names, e.g. ``"glb_kib"`` or ``"glb_kib,glb_bw"``) the best design at each value
    (each combination of values) of those knobs under the objective and budgets, exactly
    (:mod:`hdx.cost.sizing`). ``check`` (``"zigzag"``, with ``accel="grid"``): the reported designs — the
    grid's best (``check_top``: its ``check_top`` best designs meeting the budgets, on a grid of at most
    ``MAX_GRID`` designs), or with ``by`` each row's — costed again by that model, with its best design
    among them and the rank correlation of both models' objective values
    (:mod:`hdx.cost.second_opinion`; JSON key ``check``).
    """
    from hdx.cost import BACKENDS, ZIGZAG_BACKENDS, get_cost_model
    from hdx.cost.base import check_finite
    from hdx.cost.grid import best_on_grid, evaluate_grid
    from hdx.space.accelerator import MAX_GRID, AcceleratorSpace, AccelTable
    from hdx.space.network import NetworkSpace
    from hdx.workload import LayerTable

    if backend not in BACKENDS and not str(backend).endswith(".npz"):
        raise HDXError(f"unknown backend '{backend}': use one of {', '.join(BACKENDS)} or a cost table .npz "
                       f"(hdx cost tabulate)")
    grid_mode = accel.strip().lower() == "grid"
    if all_designs and not grid_mode:
        raise HDXError("all_designs (--all) lists the designs of the grid: use it with accel='grid'")
    if pareto and not grid_mode:
        raise HDXError("pareto (--pareto) is the front of the grid: use it with accel='grid'")
    if not isinstance(check_top, int) or isinstance(check_top, bool) or check_top < 1:
        raise HDXError(f"check_top (--check-top) must be a whole number >= 1, got {check_top!r}")
    if check_top > 1 and (check is None or by is not None):
        raise HDXError("check_top (--check-top) checks the grid's best designs: use it with check (--check) "
                       "and without by (--by), whose rows are checked instead")
    if check is not None and not grid_mode:
        raise HDXError("check (--check) re-costs the designs the grid search chose: use it with accel='grid' "
                       "(for one accelerator, cost it with backend='zigzag')")
    if by is not None and not grid_mode:
        raise HDXError("by (--by) gives the best design of the grid per knob value: use it with accel='grid'")
    if (arch is None) == (onnx is None):
        raise HDXError("give exactly one of arch (--arch, a network of the space) or onnx "
                       "(--onnx MODEL.onnx)")
    specs = parse_budget_specs(budgets)
    net = NetworkSpace.load(space)
    grid = AcceleratorSpace.load(accel_space)
    if onnx is not None:
        from hdx.space.onnx_import import onnx_layers

        layers, name = onnx_layers(onnx), f"onnx:{onnx}"
    else:
        layers, name = net.layers(net.parse_arch(arch)), ",".join(net.parse_arch(arch))
    table = LayerTable(layers)
    model = get_cost_model(backend, grid.hardware)  # type: ignore[arg-type]
    second = None
    if check is not None:  # an unknown check or a missing extra before any work
        from hdx.cost.second_opinion import check_model

        second = check_model(check, grid.hardware)
    if by is not None:  # bad knob names before any work
        from hdx.cost.sizing import parse_knobs

        parse_knobs(by, grid)
    Objective(objective, weights if objective == "weighted" else None)  # bad input before any work

    t0 = time.perf_counter()
    best = None
    by_found = None  # (the rows of by=, where the space's search gave them)
    notes: list[str] = []
    top_designs = None  # (designs, objective values) with check_top > 1
    if grid_mode:
        pairs = len(layers) * len(grid)
        if backend in ZIGZAG_BACKENDS and pairs > 200:
            raise HDXError(f"accel grid with backend {backend} would run {pairs} ZigZag layer evaluations "
                           f"(~0.05-0.3 s each); use backend analytical for the grid, or one accelerator")
        space_table = _SpaceTable(net, grid, model)
        if len(grid) > MAX_GRID:  # too large for one call: searched exactly (hdx.cost.hwsearch)
            if check_top > 1:
                raise HDXError(f"check_top (--check-top) ranks every design: the space has {len(grid)}, more "
                               f"than {MAX_GRID}; check by rows instead (--by) or use a smaller space")
            if all_designs:
                raise HDXError(f"all_designs (--all) lists every design: the space has {len(grid)}, more "
                               f"than {MAX_GRID}; use a smaller space")
            obj = _objective(objective, weights, lambda: space_table().reference())
            blist, notes = space_table.resolve(specs)
            notes = [*space_table.lines, *notes]
            if by is not None:  # one search answers both: the best of the rows is the space's best
                from hdx.cost.hwsearch import best_of_groups
                from hdx.cost.sizing import best_per_value

                by_found = best_per_value(model, table, grid, obj, blist, knobs=by)
                best = best_of_groups([r.best for r in by_found[0]], grid, obj, blist)
            else:
                best = _best(model, table, grid, obj, blist, True)
            acc = best.accelerator
            accels = AccelTable.from_accels([acc])
            costs, col = check_finite(model.evaluate(table, accels), table, accels, model=model.name), 0
        else:
            costs, metrics = evaluate_grid(model, table, grid)
            if onnx is None:  # the space's one reference
                obj = _objective(objective, weights, lambda: space_table().reference())
            else:  # a network outside the space: the median over the grid of its own metrics
                obj = _objective(objective, weights,
                                 lambda: {m: float(np.median(v)) for m, v in metrics.items()})
            blist, notes = space_table.resolve(specs)
            best = best_on_grid(metrics, grid, obj, blist, seconds=time.perf_counter() - t0)
            col, acc = best.index, best.accelerator
            if check_top > 1:  # the best designs meeting the budgets, best first (ties: the lower index)
                from hdx.cost.feasibility import feasible_mask

                jb = np.asarray(obj.of(metrics), dtype=np.float64)
                jb = np.where(feasible_mask(metrics, blist), jb, np.inf)
                rest = [int(j) for j in np.lexsort((np.arange(len(jb)), jb)) if j != best.index]
                order = [best.index, *rest]
                top = [j for j in order[:check_top] if np.isfinite(jb[j])]
                top_designs = ([grid[j] for j in top], [float(jb[j]) for j in top])
    else:
        if specs:
            raise HDXError("budgets apply to accel='grid' only (--accel grid); drop them or search the grid")
        acc = grid.parse(accel)
        accels = AccelTable.from_accels([acc])
        costs = check_finite(model.evaluate(table, accels), table, accels,
                             model=getattr(model, "name", backend))
        col = 0
    seconds = time.perf_counter() - t0
    mapped, mcol = costs, col
    if explain and costs.mapping is None:  # the grid is costed without mappings: the chosen design's
        one = AccelTable.from_accels([acc])
        mapped, mcol = check_finite(model.evaluate(table, one), table, one, model=model.name), 0

    area_mm2 = float(um2_to_mm2(np.asarray(costs.area_total_um2).reshape(-1)[col]))
    e_layer = costs.energy_total_pj[:, col]
    rows: list[LayerCost] = []
    for i, ly in enumerate(layers):
        cyc = float(costs.latency_cycles[i, col])
        rows.append({"name": ly.name, "kind": ly.kind, "latency_cycles": cyc,
                     "latency_ms": float(cycles_to_ms(cyc, costs.clock_mhz)), "energy_pj": float(e_layer[i]),
                     "area_mm2": area_mm2, "macs": int(ly.macs),
                     "utilisation": float(costs.utilisation[i, col]),
                     "energy_parts_pj": {p: float(v[i, col]) for p, v in costs.energy_pj.items()}})
        if costs.mapping is not None and "from_hdx" in costs.mapping:  # (the zigzag backend)
            rows[-1]["zigzag_mapping"] = "hdx" if costs.mapping["from_hdx"][i, col] else "loma"
        if explain:
            rows[-1]["mapping"], schedule = _explain(mapped, i, mcol, acc.dataflow, model)
            if schedule is not None:
                rows[-1]["schedule"] = schedule
    total_cyc = float(costs.latency_cycles[:, col].sum())
    total: TotalCost = {"latency_cycles": total_cyc,
                        "latency_ms": float(cycles_to_ms(total_cyc, costs.clock_mhz)),
                        "energy_pj": float(e_layer.sum()), "area_mm2": area_mm2,
                        "macs": int(table.macs.sum()),
                        "energy_parts_pj": {p: float(v[:, col].sum()) for p, v in costs.energy_pj.items()}}
    designs: list[DesignCost] | None = None
    if all_designs:
        lat = costs.latency_cycles.sum(0)
        en = costs.energy_total_pj.sum(0)
        ar = um2_to_mm2(np.asarray(costs.area_total_um2, dtype=np.float64))
        designs = [{"accelerator": str(grid[j]), "latency_cycles": float(lat[j]),
                    "latency_ms": float(cycles_to_ms(lat[j], costs.clock_mhz)), "energy_pj": float(en[j]),
                    "energy_mj": float(pj_to_mj(en[j])), "area_mm2": float(np.broadcast_to(ar, lat.shape)[j])}
                   for j in range(len(grid))]
    front: list[FrontDesign] | None = None
    front_search: dict | None = None
    if pareto:
        from dataclasses import asdict

        from hdx.cost.hwsearch import pareto_front

        f = pareto_front(model, table, grid, blist)
        front = [{"accelerator": str(grid[int(j)]), "latency_ms": float(f.metrics["latency"][n]),
                  "energy_mj": float(f.metrics["energy"][n]), "area_mm2": float(f.metrics["area"][n])}
                 for n, j in enumerate(f.index)]
        front_search = asdict(f.stats)
    by_rows, by_search = (None, None) if by is None else _by_values(model, table, grid, obj, blist, by,
                                                                    by_found)
    check_out = None
    if second is not None:
        check_out = _second_opinion(second, table, grid, obj, blist, by_rows, best, top_designs)
    return CostReport(name, str(acc), backend, getattr(model, "label", getattr(model, "name", backend)), rows,
                      total, best,
                      designs, front, front_search, by_rows, by_search, check_out, seconds, grid.name, notes)


def _second_opinion(second: CostModel, table: LayerTable, grid: AcceleratorSpace, obj: Objective,
                    blist: list[Budget], by_rows: list[ValueDesign] | None,
                    best: BestAccelerator | None, top: tuple[list, list[float]] | None = None) -> dict:
    """``check=``: the second model's costs of the reported designs (each ``by`` row's, the grid's ``top``
    best, else the grid's best) and whether it rates the same one best (:mod:`hdx.cost.second_opinion`)."""
    from hdx.cost.second_opinion import second_opinion

    assert best is not None  # (grid mode)
    if top is not None and top[0]:
        accels, first = top
        first_best = 0
    elif by_rows is None:
        accels, first = [best.accelerator], [float(best.choice.objective_value)]
        first_best: int | None = 0 if best.choice.feasible else None
    else:
        accels = [grid.parse(r["accelerator"]) for r in by_rows]
        first = [r["objective_value"] for r in by_rows]
        ok = [j for j, r in enumerate(by_rows) if r["feasible"]]
        first_best = min(ok, key=lambda j: first[j]) if ok else None
    return second_opinion(second, table, accels, obj, blist, first_objective=first).to_dict(first_best)


def _by_values(model: CostModel, table: LayerTable, grid: AcceleratorSpace, obj: Objective,
               blist: list[Budget], by: str | Sequence[str], found: tuple | None = None
               ) -> tuple[list[ValueDesign], dict]:
    """The rows of ``by=``: each combination's best design (:func:`hdx.cost.sizing.best_per_value`, or
    ``found``, its answer at hand) with its energy by part (one cost-model call over the chosen
    designs)."""
    from dataclasses import asdict

    from hdx.cost.base import check_finite
    from hdx.cost.sizing import best_per_value
    from hdx.space.accelerator import AccelTable

    found, stats = best_per_value(model, table, grid, obj, blist, knobs=by) if found is None else found
    accels = AccelTable.from_accels([grid[r.best.index] for r in found])
    costs = check_finite(model.evaluate(table, accels), table, accels, model=getattr(model, "name", "model"))
    parts = {p: pj_to_mj(v.sum(0)) for p, v in costs.energy_pj.items()}
    rows: list[ValueDesign] = [
        {"values": dict(r.values), "accelerator": str(grid[r.best.index]), "feasible": bool(r.best.feasible),
         "latency_ms": float(r.best.metrics["latency"]), "energy_mj": float(r.best.metrics["energy"]),
         "area_mm2": float(r.best.metrics["area"]), "objective_value": float(r.best.objective_value),
         "energy_parts_mj": {p: float(v[j]) for p, v in parts.items()}}
        for j, r in enumerate(found)]
    if costs.mapping is not None:  # what bounds each row's design (the analytical model reports it)
        from hdx.cost.analytical import bound_shares

        hw = model.hardware  # type: ignore[attr-defined]
        for j, r in enumerate(found):
            rows[j]["latency_bound_share"] = bound_shares(
                costs.mapping, j, grid[r.best.index].dataflow, latency_cycles=costs.latency_cycles[:, j],
                compute_cycles=costs.compute_cycles[:, j],
                dram_cycles_per_word=hw.dram_cycles_per_word)
    tiled = _tile_reuse_ms(model, table, accels)
    if tiled is not None:
        for j in range(len(rows)):
            rows[j]["latency_ms_tile_reuse"] = float(tiled[j])
    hard = [{"metric": b.metric, "limit": b.limit} for b in blist if b.hard]
    return rows, {**asdict(stats), "knobs": list(found[0].values), "budgets": hard}


def _tile_reuse_ms(model: CostModel, table: LayerTable, accels) -> np.ndarray | None:
    """Each design's network latency (ms, [A]) with the PE-local reuse counted per DRAM tile
    (``glb_reuse="tile"``), where ``model`` is the analytical model counting it over the whole layer and
    its other options allow the per-tile count; else None."""
    from hdx.cost.analytical import AnalyticalModel

    if not isinstance(model, AnalyticalModel) or model.glb_reuse != "layer":
        return None
    try:
        tiled = model.replace(glb_reuse="tile")
    except HDXError:  # (a GLB buffering or DRAM tiling the per-tile count does not combine with)
        return None
    lat = tiled.evaluate(table, accels, mapping=False).latency_cycles.sum(0)
    return cycles_to_ms(np.asarray(lat, dtype=np.float64), model.hardware.clock_mhz)


class _SpaceTable:
    """The space's cost table on the grid, built on first use (the ``weighted`` reference and relative
    budgets need it; a plain ``hdx cost`` does not)."""

    def __init__(self, net: NetworkSpace, grid: AcceleratorSpace, model: CostModel):
        self.net, self.grid, self.model = net, grid, model
        self._table: CostTable | None = None
        self.lines: list[str] = []  # how a large space's table was had (built in slices, or from the cache)

    def __call__(self) -> CostTable:
        from hdx.cost.table import CostTable

        if self._table is None:  # beyond MAX_GRID: built in slices and cached (hdx.cost.table_build);
            from hdx.space.accelerator import MAX_GRID  # over the memory budget read from disk

            if len(self.grid) > MAX_GRID:  # what the table is needed for, when the disk cannot hold it
                from hdx.cost.table_build import require_disk
                from hdx.data.fetch import cache_dir

                require_disk(self.net, self.grid, cache_dir(), self.model, fix="relative budgets (e.g. "
                             "latency<=p20) and the weighted objective need it: give absolute budgets (e.g. "
                             "latency<=2ms) and objective edap, latency, energy or area")
            self._table = CostTable.build(self.net, self.grid, self.model, log=self.lines.append)
        return self._table

    def resolve(self, specs: list[BudgetSpec]) -> tuple[list[Budget], list[str]]:
        """Absolute budgets (relative ones resolved on the space, :mod:`hdx.cost.relative`) and notes."""
        if not any(isinstance(b, RelativeBudget) for b in specs):
            return list(specs), []  # type: ignore[arg-type]
        from hdx.cost.relative import resolve

        return resolve(specs, self(), self.net)


def _explain(costs: LayerCosts, i: int, col: int, dataflow: str, model: CostModel
             ) -> tuple[str, dict | None]:
    """The chosen mapping of layer ``i`` on accelerator ``col`` as text and as a record
    (:func:`hdx.cost.analytical.schedule_of`; None where the cost model reports no mapping)."""
    from hdx.cost.analytical import describe_mapping, schedule_of

    if costs.mapping is None:
        return "not reported by this cost model", None
    if "from_hdx" in costs.mapping:  # the zigzag backend: whose mapping ZigZag costed
        return ("HDX's mapping, costed by ZigZag" if costs.mapping["from_hdx"][i, col]
                else "ZigZag's LOMA search"), None
    hw = model.hardware  # type: ignore[attr-defined]  (the analytical model: the one that reports mappings)
    schedule = schedule_of(costs.mapping, i, col, dataflow,
                           latency_cycles=float(costs.latency_cycles[i, col]),
                           compute_cycles=float(costs.compute_cycles[i, col]),
                           dram_cycles_per_word=hw.dram_cycles_per_word)
    return describe_mapping(costs.mapping, i, col, dataflow, schedule), schedule


def best_accelerator(*, arch: str, objective: str = "edap", weights: dict[str, float] | None = None,
                     budgets: str | Sequence[str | Budget] | None = None, space: str = "dance_cifar10",
                     accel_space: str = "eyeriss_like", backend: str = "analytical", require: bool = True
                     ) -> BestAccelerator:
    """The accelerator of ``accel_space`` minimising ``objective`` for ``arch`` under the hard ``budgets``
    (exact: every design evaluated, or for a space larger than one cost table an exact branch and bound,
    :mod:`hdx.cost.hwsearch`, whose counts are in ``.search``). ``require=False`` returns the closest
    design (``choice.feasible`` False) instead of raising when nothing fits. Returns a
    :class:`~hdx.cost.grid.BestAccelerator`."""
    from hdx.cost import get_cost_model
    from hdx.space.accelerator import AcceleratorSpace
    from hdx.space.network import NetworkSpace
    from hdx.workload import LayerTable

    net = NetworkSpace.load(space)
    grid = AcceleratorSpace.load(accel_space)
    model = get_cost_model(backend, grid.hardware)  # type: ignore[arg-type]
    space_table = _SpaceTable(net, grid, model)
    obj = _objective(objective, weights, lambda: space_table().reference())
    layers = LayerTable(net.layers(net.parse_arch(arch)))
    blist, _ = space_table.resolve(parse_budget_specs(budgets))
    return _best(model, layers, grid, obj, blist, require)


def _best(model: CostModel, layers: LayerTable, grid: AcceleratorSpace, obj: Objective, blist: list[Budget],
          require: bool) -> BestAccelerator:
    """The best design: one cost-model call over a grid that fits one table, else hdx.cost.hwsearch."""
    from hdx.cost.grid import best_for_layers
    from hdx.cost.hwsearch import best_accelerator as search_space
    from hdx.space.accelerator import MAX_GRID

    if len(grid) > MAX_GRID:
        return search_space(model, layers, grid, obj, blist, require=require)
    return best_for_layers(model, layers, grid, obj, blist, require=require)[0]


# ---------------------------------------------------------------------------------------------------
# search and train
@dataclass
class SearchRun:
    """A finished search: its :class:`~hdx.search.records.SearchFinal`, run directory and config."""

    final: SearchFinal
    out: Path
    config: SearchConfig


#: ``on_start(cfg, setup, out, threads)`` of :func:`search`
OnStart = Callable[["SearchConfig", "SearchSetup", Path, int], None]


def _given(overrides: dict[str, object] | None, fields: dict[str, object]) -> dict[str, object]:
    return {**(overrides or {}), **fields}


def search(*, config: str | Path | SearchConfig | None = None, out: str | Path | None = None,
           resume: bool = False, budgets: str | Sequence[str] | None = None,
           overrides: dict[str, object] | None = None, on_start: OnStart | None = None,
           **fields: object) -> SearchRun:
    """Run ``hdx search``: co-design a network and its accelerator under ``budgets``.

    ``config``: a shipped name, a YAML path or a :class:`~hdx.search.config.SearchConfig` (default: the
    shipped ``default``); ``fields`` / ``overrides``: any config field (``epochs=4``, ``method="dance"``);
    ``budgets``: shortcut for ``budgets=[...]`` (texts as in :mod:`hdx.budgets`). ``out``: the run
    directory (default ``runs/search-<time>``); ``resume``: continue the run in ``out`` with its saved
    config. ``on_start(cfg, setup, out, threads)`` is called once the inputs are validated, before any
    training. Bad input raises a one-line :class:`~hdx.errors.HDXError` before any work.
    """
    from hdx.config import load_config, with_overrides
    from hdx.report.rundir import RunDir
    from hdx.runtime import apply_threads
    from hdx.search.config import SearchConfig
    from hdx.search.loop import prepare, run_search

    given = _given(overrides, fields)
    if budgets is not None:
        given["budgets"] = [budgets] if isinstance(budgets, str) else list(budgets)
    if resume and out is None:
        raise HDXError("resume needs out (the run directory to continue)")
    out = Path(out or f"runs/search-{time.strftime('%Y%m%d-%H%M%S')}")
    run = RunDir.checked(out, resume=resume)  # the run-directory rule and a writable folder, once
    if resume:
        cfg = run.resumed_config(SearchConfig, given)
    else:
        base = config if isinstance(config, SearchConfig) else load_config(SearchConfig, config or "default",
                                                                            "search")
        cfg = with_overrides(base, given) if given else base
    n_threads = apply_threads(cfg.threads)
    setup = prepare(cfg)  # every input error is raised here, before any data loading or training
    if on_start is not None:
        on_start(cfg, setup, out, n_threads)
    final = run_search(cfg, run, setup=setup)
    return SearchRun(final, out, cfg)


def train(*, config: str | Path | TrainConfig | None = None, out: str | Path | None = None,
          resume: bool = False, progress: bool = True, overrides: dict[str, object] | None = None,
          **fields: object) -> TrainFinal:
    """Run ``hdx train``: train one architecture (``arch="..."``) from scratch on CIFAR-10.

    ``config``: shipped name, YAML path or :class:`~hdx.train.config.TrainConfig`; ``fields`` /
    ``overrides``: any config field; ``resume`` continues the run in ``out`` (same rule as
    :func:`search`). Returns the run's :class:`~hdx.train.records.TrainFinal` (``final.json``: test
    accuracy in [0, 1], params, MACs, ...).
    """
    from datetime import UTC, datetime

    from hdx.config import load_config, with_overrides
    from hdx.report.rundir import RunDir
    from hdx.train.config import TrainConfig
    from hdx.train.trainer import train as run_train

    given = _given(overrides, fields)
    if resume and out is None:
        raise HDXError("resume needs out (the run directory to continue)")
    out = Path(out or Path("runs") / f"train-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}")
    run = RunDir.checked(out, resume=resume)
    if resume:
        cfg = run.resumed_config(TrainConfig, given)
    else:
        base = (config if isinstance(config, TrainConfig)
                else load_config(TrainConfig, config or "default", "train"))
        cfg = with_overrides(base, given) if given else base
    return run_train(cfg, run, progress=progress)
