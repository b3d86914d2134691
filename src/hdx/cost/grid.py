"""A network on a whole accelerator grid: its metrics on every design, and the best design.

The costs of a network on *every* accelerator of a grid come from one vectorised call
(:func:`evaluate_grid`: a cost model over the network's layers) or from a gather in a tabulated
:class:`~hdx.cost.table.CostTable` (:meth:`CostTable.arch_metrics`, no cost-model call).
:func:`best_on_grid` then chooses the accelerator minimising an :class:`~hdx.metrics.Objective`
among those meeting the hard budgets (:mod:`hdx.cost.feasibility`); with ``require=True`` (the
default, as ``hdx cost`` uses it) a grid where nothing fits is a one-line error naming the minimum
achievable value.

Canonical metrics and units: latency in ms, energy in mJ, area in mm².
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from hdx.budgets import Budget
from hdx.cost.base import CostModel, LayerCosts, check_finite, costs_only
from hdx.cost.feasibility import Choice, choose_accelerator, require_feasible
from hdx.cost.table import CostTable
from hdx.errors import HDXError
from hdx.metrics import Objective, cycles_to_ms, pj_to_mj, um2_to_mm2
from hdx.space.accelerator import Accelerator, AcceleratorSpace
from hdx.workload import LayerTable


@dataclass
class BestAccelerator:
    """The accelerator chosen on a grid (see :func:`best_on_grid`); metrics in ms, mJ, mm²."""

    accelerator: Accelerator
    choice: Choice
    objective: str
    evaluated: int
    seconds: float
    budgets: list[str] = field(default_factory=list)
    #: how a space too large for one table was searched (hdx.cost.hwsearch.SearchStats as a dict)
    search: dict | None = None

    @property
    def index(self) -> int:
        return self.choice.index

    def to_dict(self) -> dict:
        c = self.choice
        return {"accelerator": str(self.accelerator), "index": c.index, "latency_ms": c.metrics["latency"],
                "energy_mj": c.metrics["energy"], "area_mm2": c.metrics["area"], "objective": self.objective,
                "objective_value": c.objective_value, "feasible": c.feasible, "n_feasible": c.n_feasible,
                "budgets": list(self.budgets), "checks": [k.model_dump() for k in c.checks],
                **({"search": self.search} if self.search is not None else {})}


def metrics_from_costs(costs: LayerCosts) -> dict[str, np.ndarray]:
    """Whole-network metrics per accelerator ([A] each: ms, mJ, mm²) from per-layer costs."""
    net = costs.network()
    lat = cycles_to_ms(np.asarray(net.latency_cycles, dtype=np.float64), float(costs.clock_mhz))
    return {"latency": lat,
            "energy": pj_to_mj(np.asarray(net.energy_total_pj, dtype=np.float64)),
            "area": np.broadcast_to(um2_to_mm2(np.asarray(net.area_total_um2, dtype=np.float64)), lat.shape)}


def evaluate_grid(model: CostModel, layers: LayerTable, grid: AcceleratorSpace
                  ) -> tuple[LayerCosts, dict[str, np.ndarray]]:
    """Per-layer costs of a network on every accelerator of ``grid`` (one call; no mappings) and its
    metrics."""
    costs = costs_only(model, layers, grid.table)
    if not getattr(model, "checks_finite", False):  # the analytical model checks its own results
        costs = check_finite(costs, layers, grid.table, model=getattr(model, "name", "cost model"))
    return costs, metrics_from_costs(costs)


def best_on_grid(metrics: dict[str, np.ndarray], grid: AcceleratorSpace, objective: Objective,
                 budgets: Sequence[Budget] = (), *, require: bool = True, seconds: float = 0.0
                 ) -> BestAccelerator:
    """The best accelerator of ``grid`` given per-accelerator metrics [A].

    ``require``: raise a one-line :class:`HDXError` when no accelerator meets the hard budgets
    (otherwise the closest design is returned with ``choice.feasible == False``).
    """
    if len(np.shape(metrics["latency"])) != 1 or np.shape(metrics["latency"])[0] != len(grid):
        raise HDXError(f"metrics are for {np.shape(metrics['latency'])} accelerators but grid '{grid.name}' "
                       f"has {len(grid)}")
    t0 = time.perf_counter()
    if require:
        choice = require_feasible(metrics, objective, budgets, labels=lambda j: str(grid[j]))
    else:
        choice = choose_accelerator(metrics, objective, budgets)
    return BestAccelerator(grid[choice.index], choice, str(objective), len(grid),
                           seconds + time.perf_counter() - t0, [b.text() for b in budgets])


def best_for_layers(model: CostModel, layers: LayerTable, grid: AcceleratorSpace, objective: Objective,
                    budgets: Sequence[Budget] = (), *, require: bool = True
                    ) -> tuple[BestAccelerator, LayerCosts]:
    """Exhaustive choice for a network given as layers: one cost-model call over the whole grid."""
    t0 = time.perf_counter()
    costs, metrics = evaluate_grid(model, layers, grid)
    return best_on_grid(metrics, grid, objective, budgets, require=require,
                        seconds=time.perf_counter() - t0), costs


def best_for_arch(table: CostTable, op_idx: np.ndarray, grid: AcceleratorSpace, objective: Objective,
                  budgets: Sequence[Budget] = (), *, require: bool = True) -> BestAccelerator:
    """Exhaustive choice for an architecture (op indices [L]) by lookup in a tabulated CostTable."""
    if table.num_accels != len(grid):
        raise HDXError(f"cost table has {table.num_accels} accelerators but grid '{grid.name}' has "
                       f"{len(grid)}; build the table on the same grid")
    t0 = time.perf_counter()
    metrics = table.arch_metrics(op_idx)
    return best_on_grid(metrics, grid, objective, budgets, require=require, seconds=time.perf_counter() - t0)
