"""After the search: ground-truth re-check, exhaustive accelerator choice, feasibility (DESIGN.md §7).

Everything here uses the exact :class:`~hdx.cost.table.CostTable` of the ground-truth model, never
the evaluator:

* :func:`best_accelerator` — the accelerator of the grid minimising the hardware objective for one
  network *subject to every hard budget* (exhaustive: a table lookup over all A accelerators); if no
  accelerator meets them, the closest one (smallest worst ratio ``t/T``) and ``feasible=False``.
* :func:`check_design` — every budget re-checked for a (network, accelerator) pair.
* :func:`min_achievable` — before any training: is a hard budget below what the *whole space* can
  reach? Costs are additive per position, so for each accelerator the minimum over all networks of
  latency (or energy) is ``fixed + Σ_pos min_op cost[pos, op]`` (exact, O(L·n_ops·A)); area depends
  on the accelerator only. Several hard budgets are handled jointly per accelerator: an accelerator
  can host a feasible design only if each budgeted metric's minimum there meets its budget. With
  at most one of latency/energy budgeted this is exact; with both it is a necessary condition (the
  two minima may come from different networks), so a passing check does not promise feasibility.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hdx.cost.table import METRICS, CostTable, objective_value
from hdx.errors import HDXError
from hdx.search.budgets import Budget, hard_budgets
from hdx.space.accelerator import AcceleratorSpace


@dataclass
class DesignCheck:
    """Ground-truth metrics of one design and the verdict per budget."""

    accel_index: int
    metrics: dict[str, float]
    budgets: list[dict] = field(default_factory=list)

    @property
    def feasible(self) -> bool:
        """Every *hard* budget met."""
        return all(b["met"] for b in self.budgets if b["kind"] == "hard")

    def as_dict(self, grid: AcceleratorSpace) -> dict:
        return {"accelerator": str(grid[self.accel_index]), "accel_index": int(self.accel_index),
                "metrics": {k: float(v) for k, v in self.metrics.items()}, "budgets": self.budgets,
                "feasible": self.feasible}


def budget_ratio(metrics: dict[str, np.ndarray], budgets: list[Budget]) -> np.ndarray:
    """Worst ratio ``max_i t_i / T_i`` over the given budgets (≤ 1: all met); [A] or scalar."""
    if not budgets:
        return np.zeros_like(np.asarray(metrics["latency"], dtype=np.float64))
    return np.max(np.stack([np.asarray(metrics[b.metric]) / b.limit for b in budgets]), axis=0)


def check_design(metrics_all: dict[str, np.ndarray], accel_index: int, budgets: list[Budget]) -> DesignCheck:
    """Re-check every budget for accelerator ``accel_index`` from per-accelerator metrics [A]."""
    vals = {m: float(np.asarray(metrics_all[m])[accel_index]) for m in METRICS}
    rows = [{"budget": b.text(), "metric": b.metric, "kind": b.kind, "limit": b.limit,
             "value": vals[b.metric], "slack": b.slack(vals[b.metric]), "met": b.met(vals[b.metric])}
            for b in budgets]
    return DesignCheck(int(accel_index), vals, rows)


def best_accelerator(metrics_all: dict[str, np.ndarray], budgets: list[Budget], objective: str = "edap",
                     weights: dict[str, float] | None = None) -> tuple[int, bool]:
    """Grid index minimising the objective among accelerators meeting every hard budget.

    Returns ``(index, feasible)``; when none meets them, the accelerator with the smallest worst
    budget ratio (ties: lower objective) and ``False``.
    """
    J = np.asarray(objective_value(metrics_all["latency"], metrics_all["energy"], metrics_all["area"],
                                   objective, weights), dtype=np.float64)
    hard = hard_budgets(budgets)
    ratio = budget_ratio(metrics_all, hard)
    ok = ratio <= 1.0
    if ok.any():
        return int(np.argmin(np.where(ok, J, np.inf))), True
    order = np.lexsort((J, ratio))
    return int(order[0]), False


@dataclass
class Achievable:
    """Result of :func:`min_achievable`."""

    feasible: bool
    minima: dict[str, float]  # per budgeted metric: the minimum over the whole space (all accels)
    joint_minima: dict[str, float]  # per budgeted metric: min over accelerators passing the others
    message: str = ""


def min_metric_per_accel(table: CostTable, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Minimum over all networks of ``metric`` on each accelerator [A], and the argmin op per
    position [A, L] (exact: costs are additive per position)."""
    if metric == "area":
        area = table.area_um2.sum(-1) * 1e-6
        return area, np.zeros((len(area), table.per_op.shape[0]), dtype=np.int64)
    col = table.per_op[..., 0] if metric == "latency" else table.per_op[..., 1:].sum(-1)  # [L, O, A]
    fixed = table.fixed[:, 0] if metric == "latency" else table.fixed[:, 1:].sum(-1)  # [A]
    col = np.where(table.allowed_mask[:, :, None], col, np.inf)
    best_op = col.argmin(1)  # [L, A]
    total = fixed + col.min(1).sum(0)
    scale = 1.0 / (table.clock_mhz * 1e3) if metric == "latency" else 1e-9
    return total * scale, best_op.T


def min_achievable(table: CostTable, budgets: list[Budget], grid: AcceleratorSpace) -> Achievable:
    """Check the hard budgets against the minimum achievable anywhere in (network space × grid)."""
    hard = hard_budgets(budgets)
    if not hard:
        return Achievable(True, {}, {})
    per_acc = {b.metric: min_metric_per_accel(table, b.metric)[0] for b in hard}
    minima = {m: float(v.min()) for m, v in per_acc.items()}
    ok_each = {b.metric: per_acc[b.metric] <= b.limit for b in hard}
    joint = np.logical_and.reduce(list(ok_each.values()))
    joint_min = {}
    for b in hard:
        others = [ok_each[o.metric] for o in hard if o.metric != b.metric]
        mask = np.logical_and.reduce(others) if others else np.ones_like(joint)
        joint_min[b.metric] = float(per_acc[b.metric][mask].min()) if mask.any() else float("inf")
    if joint.any():
        return Achievable(True, minima, joint_min)
    for b in hard:
        if minima[b.metric] > b.limit:
            a = int(per_acc[b.metric].argmin())
            msg = (f"budget {b.text()} is below the minimum achievable in this space and grid: "
                   f"{minima[b.metric]:.4g} {b.unit} (on {grid[a]}); relax it to at least that")
            return Achievable(False, minima, joint_min, msg)
    parts = [f"{b.metric} >= {joint_min[b.metric]:.4g} {b.unit}" for b in hard
             if joint_min[b.metric] > b.limit]
    msg = (f"budgets {', '.join(b.text() for b in hard)} cannot all be met on any one accelerator of the "
           f"grid (each alone can); given the others the minimum is " + "; ".join(parts)
           + ": relax one of them")
    return Achievable(False, minima, joint_min, msg)


def require_achievable(table: CostTable, budgets: list[Budget], grid: AcceleratorSpace) -> Achievable:
    """:func:`min_achievable`, raising a one-line :class:`HDXError` when the budgets are impossible."""
    r = min_achievable(table, budgets, grid)
    if not r.feasible:
        raise HDXError(r.message)
    return r


def exhaustive_optimal(table: CostTable, op_idx: np.ndarray, objective: str = "edap",
                       weights: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    """Metrics of each network (op indices [B, L]) on its objective-optimal accelerator: [B] each, plus
    ``accel_index`` [B]."""
    m = table.network(op_idx)
    J = objective_value(m["latency"], m["energy"], m["area"], objective, weights)
    best = np.argmin(J, axis=1)
    out = {k: np.take_along_axis(v, best[:, None], 1)[:, 0] for k, v in m.items()}
    out["accel_index"] = best
    return out


def ensure_compatible(evaluator, table: CostTable) -> None:
    """Refuse an evaluator built for another space, grid or cost model than the table's."""
    for attr, want, what in (("space_name", table.space_name, "network space"),
                             ("grid_name", table.grid_name, "accelerator grid"),
                             ("model_fingerprint", table.model_fingerprint, "cost model")):
        got = getattr(evaluator, attr, None)
        if got is not None and got != want:
            raise HDXError(f"the evaluator was built for another {what} ({got!s:.40} vs {want!s:.40}); "
                           f"rebuild it for this one or use --evaluator oracle")
