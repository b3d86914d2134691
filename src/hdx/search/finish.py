"""After the search: ground-truth re-check and whole-space feasibility (docs/design.md#the-hdx-rule).

Everything here uses the exact :class:`~hdx.cost.table.CostTable` of the ground-truth model, never
the evaluator; the accelerator choice itself is :func:`hdx.cost.feasibility.choose_accelerator`
(exhaustive over all A accelerators; the closest design with ``feasible=False`` when none fits).

* :func:`design_record` — every budget re-checked for one (network, accelerator) pair.
* :func:`min_achievable` — before any training: is a hard budget below what the *whole space* can
  reach? Costs are additive per position, so for each accelerator the minimum over all networks of
  latency (or energy) is exact (:meth:`CostTable.min_per_accel`); area depends on the accelerator
  only. Several hard budgets are handled jointly per accelerator (:mod:`hdx.cost.feasibility` on the
  per-accelerator minima): an accelerator can host a feasible design only if each budgeted metric's
  minimum there meets its budget. With at most one of latency/energy budgeted this is exact; with
  both it is a necessary condition (the two minima may come from different networks), so a passing
  check does not promise feasibility.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hdx.budgets import Budget
from hdx.cost.feasibility import checks, constrained_min, feasible_mask
from hdx.cost.table import CostTable
from hdx.errors import HDXError
from hdx.metrics import METRICS, Objective
from hdx.search.records import DesignRecord
from hdx.space.accelerator import AcceleratorSpace


def design_record(metrics: dict[str, np.ndarray], index: int, budgets: Sequence[Budget],
                  grid: AcceleratorSpace) -> DesignRecord:
    """The ground-truth record of accelerator ``index`` given per-accelerator metrics [A]."""
    vals = {m: float(np.asarray(metrics[m])[index]) for m in METRICS}
    rows = checks(metrics, index, budgets)
    return DesignRecord(accelerator=str(grid[index]), accel_index=int(index), metrics=vals, budgets=rows,
                        feasible=all(c.met for c in rows if c.kind == "hard"))


@dataclass
class Achievable:
    """Result of :func:`min_achievable`."""

    feasible: bool
    minima: dict[str, float]  # per budgeted metric: the minimum over the whole space (all accels)
    joint_minima: dict[str, float]  # per budgeted metric: min over accelerators passing the others
    message: str = ""


def min_achievable(table: CostTable, budgets: list[Budget], grid: AcceleratorSpace) -> Achievable:
    """Check the hard budgets against the minimum achievable anywhere in (network space × grid)."""
    hard = [b for b in budgets if b.hard]
    if not hard:
        return Achievable(True, {}, {})
    per_acc = {b.metric: table.min_per_accel(b.metric)[0] for b in hard}
    minima = {m: float(v.min()) for m, v in per_acc.items()}
    joint = feasible_mask(per_acc, hard)
    joint_min = {}
    for b in hard:
        v, _, constrained = constrained_min(per_acc, hard, b.metric)
        joint_min[b.metric] = v if constrained else float("inf")
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


def exhaustive_optimal(table: CostTable, op_idx: np.ndarray, objective: Objective) -> dict[str, np.ndarray]:
    """Metrics of each network (op indices [B, L]) on its objective-optimal accelerator: [B] each, plus
    ``accel_index`` [B] (:meth:`CostTable.optimal`)."""
    return table.optimal(op_idx, objective)


def ensure_compatible(evaluator, table: CostTable) -> None:
    """Refuse an evaluator built for another space, grid or cost model than the table's."""
    for attr, want, what in (("space_name", table.space_name, "network space"),
                             ("grid_name", table.grid_name, "accelerator grid"),
                             ("model_fingerprint", table.model_fingerprint, "cost model")):
        got = getattr(evaluator, attr, None)
        if got is not None and got != want:
            raise HDXError(f"the evaluator was built for another {what} ({got!s:.40} vs {want!s:.40}); "
                           f"rebuild it for this one or use --evaluator oracle")
