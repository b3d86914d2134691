"""Feasibility under budgets and the choice of an accelerator: the one place ``metric ≤ limit`` lives.

Input everywhere: per-accelerator metrics ``{"latency": [A], "energy": [A], "area": [A]}`` in canonical
units (:mod:`hdx.metrics`) and a list of :class:`~hdx.budgets.Budget`. Only *hard* budgets decide
feasibility; soft ones are reported in the checks.

* :func:`feasible_mask` — the accelerators meeting every hard budget.
* :func:`choose_accelerator` — the feasible accelerator minimising the objective, or, when none is
  feasible, the closest one (smallest worst ratio ``t/T``, ties by objective) with ``feasible=False``.
  The caller decides whether "nothing fits" is an error (:func:`require_feasible`, ``hdx cost``) or a
  closest-design report (the search's finish).
* :func:`constrained_min` — the minimum of one metric over the accelerators meeting the *other* hard
  budgets; :func:`explain_infeasible` turns it into one line. Both also serve the whole-space check
  (:func:`hdx.search.finish.min_achievable`) with per-accelerator minima over all networks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from hdx.budgets import Budget, BudgetCheck
from hdx.errors import HDXError
from hdx.metrics import METRICS, Objective

Metrics = dict[str, np.ndarray]


def _hard(budgets: Sequence[Budget]) -> list[Budget]:
    return [b for b in budgets if b.hard]


def _shape(metrics: Metrics) -> tuple[int, ...]:
    return np.shape(next(iter(metrics.values())))


def feasible_mask(metrics: Metrics, budgets: Sequence[Budget]) -> np.ndarray:
    """Boolean [A]: every hard budget met (all True without hard budgets)."""
    ok = np.ones(_shape(metrics), dtype=bool)
    for b in _hard(budgets):
        ok &= np.asarray(b.met(np.asarray(metrics[b.metric], dtype=np.float64)))
    return ok


def worst_ratio(metrics: Metrics, budgets: Sequence[Budget]) -> np.ndarray:
    """``max_i t_i / T_i`` over the hard budgets [A] (≤ 1: all met; 0 without hard budgets)."""
    hard = _hard(budgets)
    if not hard:
        return np.zeros(_shape(metrics))
    with np.errstate(over="ignore"):  # a limit of 1e-300: the ratio is +inf, which only orders designs
        ratios = [b.ratio(np.asarray(metrics[b.metric], dtype=np.float64)) for b in hard]
    return np.max(np.stack(ratios), axis=0)


def checks(metrics: Metrics, index: int, budgets: Sequence[Budget]) -> list[BudgetCheck]:
    """Every budget's verdict for accelerator ``index``."""
    return [b.check(float(np.asarray(metrics[b.metric])[index])) for b in budgets]


@dataclass
class Choice:
    """An accelerator chosen under budgets: its grid index, whether it meets every hard budget, how many
    accelerators do, its metrics (ms, mJ, mm²), objective value and the verdict of every budget."""

    index: int
    feasible: bool
    n_feasible: int
    metrics: dict[str, float]
    objective_value: float
    checks: list[BudgetCheck] = field(default_factory=list)


def choose_accelerator(metrics: Metrics, objective: Objective, budgets: Sequence[Budget] = ()) -> Choice:
    """The accelerator minimising ``objective`` among those meeting every hard budget; when none does,
    the closest (smallest worst ratio, ties: lower objective) with ``feasible=False``."""
    J = np.asarray(objective.of(metrics), dtype=np.float64)
    ok = feasible_mask(metrics, budgets)
    if ok.any():
        i = int(np.argmin(np.where(ok, J, np.inf)))
    else:
        i = int(np.lexsort((J, worst_ratio(metrics, budgets)))[0])
    vals = {m: float(np.asarray(metrics[m])[i]) for m in METRICS}
    return Choice(i, bool(ok[i]), int(ok.sum()), vals, float(J[i]), checks(metrics, i, budgets))


def constrained_min(metrics: Metrics, budgets: Sequence[Budget], metric: str) -> tuple[float, int, bool]:
    """Minimum of ``metric`` over the accelerators meeting the hard budgets on the *other* metrics:
    ``(value, index, constrained)``; ``constrained`` is False when no accelerator meets the others
    (then the unconstrained minimum)."""
    vals = np.asarray(metrics[metric], dtype=np.float64)
    others = feasible_mask(metrics, [b for b in budgets if b.metric != metric])
    if others.any():
        masked = np.where(others, vals, np.inf)
        i = int(np.argmin(masked))
        return float(masked[i]), i, True
    i = int(np.argmin(vals))
    return float(vals[i]), i, False


def explain_infeasible(metrics: Metrics, budgets: Sequence[Budget],
                       labels: Callable[[int], str] | None = None) -> str:
    """Why no accelerator meets the hard budgets: per budget, the minimum achievable (under the others)."""
    hard = _hard(budgets)
    parts = []
    for b in hard:
        v, i, constrained = constrained_min(metrics, hard, b.metric)
        if v > b.limit:
            cond = " under the other budgets" if constrained and len(hard) > 1 else ""
            where = f" ({labels(i)})" if labels else ""
            parts.append(f"{b.text()} is infeasible: the minimum achievable{cond} is {v:.4g} {b.unit}{where}")
    return "; ".join(parts) or "the budgets cannot be met together"


def require_feasible(metrics: Metrics, objective: Objective, budgets: Sequence[Budget] = (),
                     labels: Callable[[int], str] | None = None) -> Choice:
    """:func:`choose_accelerator`, raising a one-line :class:`HDXError` when nothing meets the budgets."""
    c = choose_accelerator(metrics, objective, budgets)
    if not c.feasible:
        raise HDXError(f"no accelerator of the grid meets the budget: "
                       f"{explain_infeasible(metrics, budgets, labels)}; relax the budget")
    return c
