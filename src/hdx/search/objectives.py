"""Search objectives: the hardware cost term and the soft penalties (docs/design.md#the-search).

The hardware objective ``J`` is a :class:`hdx.metrics.Objective` (EDAP, one metric, or ``weighted`` on
metrics normalised by the cost table's reference). It enters the loss *normalised* so that λ is
scale-free and unit-free: ``log(J / J_ref)`` with ``J_ref`` the objective of the evaluator's
prediction for the uniform architecture distribution, computed once at the start. A 1 % change of
the cost therefore moves the loss by ≈ λ·0.01 whatever the metric, unit or space.

Soft terms:

* DANCE: ``λ · log(J / J_ref)`` (:meth:`CostTerm.dance_term`).
* TF-NAS (soft budget): ``λ_b · |t / T − 1|`` (:func:`tfnas_term`).

Hard budgets are not part of the loss; they act on the step direction
(:class:`~hdx.search.guard.BudgetGuard`) through the scale-free constraint value ``c = log(t / T)``
(violated when ``c ≥ 0``).
"""

from __future__ import annotations

import math

import torch

from hdx.budgets import Budget
from hdx.errors import HDXError
from hdx.metrics import Objective


class CostTerm:
    """The DANCE cost term: ``J`` (an :class:`~hdx.metrics.Objective`) and ``log(J / J_ref)``."""

    def __init__(self, objective: Objective):
        self.objective = objective
        self.ref: float | None = None

    def calibrate(self, costs: dict[str, torch.Tensor | float]) -> None:
        """Set ``J_ref`` from the costs of the reference (uniform) distribution."""
        ref = float(torch.as_tensor(self.raw(costs)).detach().double().mean())
        if not (math.isfinite(ref) and ref > 0):
            raise HDXError(f"reference objective must be positive and finite, got {ref}")
        self.ref = ref

    def raw(self, costs: dict) -> torch.Tensor:
        """``J`` in its own units (EDAP: mJ·ms·mm²)."""
        return self.objective.of(costs)

    def normalised(self, costs: dict) -> torch.Tensor:
        """``log(J / J_ref)``: 0 at the reference, scale-free."""
        if self.ref is None:
            raise HDXError("objective not calibrated: call calibrate() first")
        return torch.log(self.raw(costs) / self.ref)

    def dance_term(self, costs: dict, lam: float) -> torch.Tensor:
        """DANCE soft cost ``λ·log(J / J_ref)``."""
        return lam * self.normalised(costs)


def tfnas_term(value: torch.Tensor, budget: Budget, lam: float) -> torch.Tensor:
    """TF-NAS soft budget ``λ·|t / T − 1|`` (penalises both overshoot and undershoot)."""
    return lam * torch.abs(value / budget.limit - 1.0)


def constraint_value(value: torch.Tensor, limit: float) -> torch.Tensor:
    """Scale-free constraint ``log(t / T)``: ≥ 0 when the budget is violated."""
    return torch.log(value / limit)
