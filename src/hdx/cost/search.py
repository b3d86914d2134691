"""Exhaustive accelerator search: the best accelerator of a grid for one network.

The costs of a network on *every* accelerator of the grid come from one vectorised call
(:func:`grid_metrics`: a cost model over the network's layers, or :func:`table_metrics`: a gather
from a tabulated :class:`~hdx.cost.table.CostTable`, no cost-model call). :func:`best_accelerator`
then picks the accelerator minimising an objective (``edap`` = E·L·A, ``latency``, ``energy``,
``area`` or ``weighted``) among those meeting optional hard limits (``latency`` ms, ``energy`` mJ,
``area`` mm²). Infeasible limits raise :class:`~hdx.errors.HDXError` reporting the minimum
achievable value.

Canonical metrics and units: latency in ms, energy in mJ, area in mm².
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np

from hdx.cost.base import CostModel, LayerCosts, check_finite
from hdx.cost.table import METRICS, OBJECTIVES, UNITS, CostTable, Objective, objective_value
from hdx.errors import HDXError
from hdx.space.accelerator import Accelerator, AcceleratorSpace
from hdx.workload import LayerTable


@dataclass
class SearchResult:
    """Best accelerator of a grid and its metrics (ms, mJ, mm²)."""

    index: int
    accelerator: Accelerator
    latency_ms: float
    energy_mj: float
    area_mm2: float
    objective: str
    objective_value: float
    evaluated: int
    feasible: int
    seconds: float
    limits: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"accelerator": str(self.accelerator), "index": self.index, "latency_ms": self.latency_ms,
                "energy_mj": self.energy_mj, "area_mm2": self.area_mm2, "objective": self.objective,
                "objective_value": self.objective_value, "feasible": self.feasible,
                "limits": dict(self.limits)}


def metrics_from_costs(costs: LayerCosts) -> dict[str, np.ndarray]:
    """Whole-network metrics per accelerator ([A] each: ms, mJ, mm²) from per-layer costs."""
    net = costs.network()
    return {"latency": np.asarray(net.latency_ms, dtype=np.float64),
            "energy": np.asarray(net.energy_total_pj, dtype=np.float64) * 1e-9,
            "area": np.broadcast_to(np.asarray(net.area_mm2, dtype=np.float64), net.latency_ms.shape)}


def grid_metrics(model: CostModel, layers: LayerTable, grid: AcceleratorSpace
                 ) -> tuple[LayerCosts, dict[str, np.ndarray]]:
    """Evaluate a network's layers on every accelerator of ``grid`` in one call."""
    costs = check_finite(model.evaluate(layers, grid.table), layers, grid.table,
                         model=getattr(model, "name", "cost model"))
    return costs, metrics_from_costs(costs)


def table_metrics(table: CostTable, op_idx: np.ndarray) -> dict[str, np.ndarray]:
    """Metrics of one architecture (op indices [positions]) on every accelerator, from a CostTable."""
    m = table.network(np.asarray(op_idx)[None, :])
    return {k: v[0] for k, v in m.items()}


def parse_limits(text: str | None) -> dict[str, float]:
    """Parse hard limits ``latency=16.6,area=2`` (also ``latency<=16.6ms``): metric → max value.

    Units: latency ms, energy mJ, area mm² (a unit suffix, if given, must be that one).
    """
    if not text or not text.strip():
        return {}
    out: dict[str, float] = {}
    fmt = "expected e.g. 'latency=16.6,area=2' (latency ms, energy mJ, area mm2)"
    for part in (p.strip() for p in text.split(",") if p.strip()):
        m = re.fullmatch(r"([A-Za-z]+)\s*(<=|=|<)\s*([0-9.eE+-]+)\s*([A-Za-z0-9²]*)", part)
        if not m:
            raise HDXError(f"malformed budget '{part}': {fmt}")
        metric, _, val, unit = m.groups()
        metric = metric.lower()
        if metric not in METRICS:
            raise HDXError(f"unknown budget metric '{metric}': use one of {', '.join(METRICS)}")
        if unit and unit.replace("²", "2").lower() != UNITS[metric].lower():
            raise HDXError(f"budget '{part}': {metric} is in {UNITS[metric]}, not '{unit}'")
        try:
            v = float(val)
        except ValueError:
            raise HDXError(f"budget '{part}': '{val}' is not a number; {fmt}") from None
        if not np.isfinite(v) or v <= 0:
            raise HDXError(f"budget '{part}': the limit must be a positive number")
        if metric in out:
            raise HDXError(f"budget metric '{metric}' given twice")
        out[metric] = v
    return out


def best_accelerator(metrics: dict[str, np.ndarray], objective: Objective = "edap",
                     weights: dict[str, float] | None = None, limits: dict[str, float] | None = None,
                     labels=None) -> tuple[int, np.ndarray, np.ndarray]:
    """Index of the best accelerator, objective values [A] and the feasibility mask [A].

    ``labels(i)`` (optional) names accelerator ``i`` in error messages.
    """
    if objective not in OBJECTIVES:
        raise HDXError(f"unknown objective '{objective}': use one of {', '.join(OBJECTIVES)}")
    obj = np.asarray(objective_value(metrics["latency"], metrics["energy"], metrics["area"],
                                     objective, weights), dtype=np.float64)
    feasible = np.ones(obj.shape, dtype=bool)
    limits = limits or {}
    for m, v in limits.items():
        if m not in METRICS:
            raise HDXError(f"unknown limit metric '{m}': use one of {', '.join(METRICS)}")
        feasible &= metrics[m] <= v
    if not feasible.any():
        parts = []
        for m, v in limits.items():
            others = np.ones_like(feasible)
            for m2, v2 in limits.items():
                if m2 != m:
                    others &= metrics[m2] <= v2
            vals = np.where(others, metrics[m], np.inf) if others.any() else metrics[m]
            i_min = int(np.argmin(vals))
            where = f" ({labels(i_min)})" if labels else ""
            cond = " under the other limits" if len(limits) > 1 and others.any() else ""
            if vals[i_min] > v:
                parts.append(f"{m} <= {v:g} {UNITS[m]} is infeasible: the minimum achievable{cond} is "
                             f"{vals[i_min]:.4g} {UNITS[m]}{where}")
        msg = "; ".join(parts) or "the limits cannot be met together"
        raise HDXError(f"no accelerator of the grid meets the budget: {msg}; relax the limit")
    masked = np.where(feasible, obj, np.inf)
    return int(np.argmin(masked)), obj, feasible


def search(metrics: dict[str, np.ndarray], grid: AcceleratorSpace, objective: Objective = "edap",
           weights: dict[str, float] | None = None, limits: dict[str, float] | None = None,
           seconds: float = 0.0) -> SearchResult:
    """Best accelerator of ``grid`` given per-accelerator metrics (see :func:`best_accelerator`)."""
    t0 = time.perf_counter()
    i, obj, feas = best_accelerator(metrics, objective, weights, limits, labels=lambda j: str(grid[j]))
    return SearchResult(index=i, accelerator=grid[i], latency_ms=float(metrics["latency"][i]),
                        energy_mj=float(metrics["energy"][i]), area_mm2=float(metrics["area"][i]),
                        objective=objective, objective_value=float(obj[i]), evaluated=int(obj.size),
                        feasible=int(feas.sum()), seconds=seconds + time.perf_counter() - t0,
                        limits=dict(limits or {}))


def search_layers(model: CostModel, layers: LayerTable, grid: AcceleratorSpace, objective: Objective = "edap",
                  weights: dict[str, float] | None = None, limits: dict[str, float] | None = None
                  ) -> tuple[SearchResult, LayerCosts]:
    """Exhaustive search for a network given as layers: one cost-model call over the whole grid."""
    t0 = time.perf_counter()
    costs, metrics = grid_metrics(model, layers, grid)
    res = search(metrics, grid, objective, weights, limits, seconds=time.perf_counter() - t0)
    return res, costs


def search_table(table: CostTable, op_idx: np.ndarray, grid: AcceleratorSpace, objective: Objective = "edap",
                 weights: dict[str, float] | None = None, limits: dict[str, float] | None = None
                 ) -> SearchResult:
    """Exhaustive search for an architecture (op indices) by lookup in a tabulated CostTable."""
    if table.num_accels != len(grid):
        raise HDXError(f"cost table has {table.num_accels} accelerators but grid '{grid.name}' has "
                       f"{len(grid)}; build the table on the same grid")
    t0 = time.perf_counter()
    metrics = table_metrics(table, op_idx)
    return search(metrics, grid, objective, weights, limits, seconds=time.perf_counter() - t0)
