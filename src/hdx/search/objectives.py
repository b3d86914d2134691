"""Search objectives: the hardware cost term and the soft penalties (DESIGN.md §7).

The hardware objective ``J`` is EDAP (energy·latency·area), a weighted sum of the metrics, or one
metric (:func:`hdx.cost.table.objective_value`). It enters the loss *normalised* so that λ is
scale-free and unit-free: ``log(J / J_ref)`` with ``J_ref`` the objective of the evaluator's
prediction for the uniform architecture distribution, computed once at the start. A 1 % change of
the cost therefore moves the loss by ≈ λ·0.01 whatever the metric, unit or space.

Soft terms:

* DANCE: ``λ · log(J / J_ref)`` (:meth:`HardwareObjective.dance_term`).
* TF-NAS (soft budget): ``λ_b · |t / T − 1|`` (:func:`tfnas_term`).

Hard budgets are not part of the loss; they act on the gradient (:mod:`hdx.search.manipulation`)
through the scale-free constraint value ``c = log(t / T)`` (violated when ``c ≥ 0``).
"""

from __future__ import annotations

import math

import torch

from hdx.cost.table import METRICS, OBJECTIVES, check_weights, objective_value
from hdx.errors import HDXError
from hdx.search.budgets import Budget


class HardwareObjective:
    """``J`` from canonical metrics and its normalised form ``log(J / J_ref)``.

    ``weighted``: ``weights`` per metric multiply the metric divided by its reference value, so
    ``{latency: 1, energy: 1}`` counts a 1 % latency change like a 1 % energy change.
    """

    def __init__(self, objective: str = "edap", weights: dict[str, float] | None = None):
        if objective not in OBJECTIVES:
            raise HDXError(f"unknown objective '{objective}': use one of {', '.join(OBJECTIVES)}")
        if objective == "weighted":
            check_weights(weights)
        self.objective = objective
        self.user_weights = dict(weights or {})
        self.metric_ref: dict[str, float] = {}
        self.ref: float | None = None

    def calibrate(self, costs: dict[str, torch.Tensor | float]) -> None:
        """Set the references from the costs of the reference (uniform) distribution."""
        self.metric_ref = {m: float(torch.as_tensor(costs[m]).detach().double().mean()) for m in METRICS}
        if any(not (math.isfinite(v) and v > 0) for v in self.metric_ref.values()):
            raise HDXError(f"reference costs must be positive and finite, got {self.metric_ref}")
        self.ref = float(torch.as_tensor(self.raw(costs)).detach().double().mean())

    @property
    def weights(self) -> dict[str, float] | None:
        """Effective weights of ``weighted`` (user weight / metric reference)."""
        if self.objective != "weighted":
            return None
        if not self.metric_ref:
            raise HDXError("objective not calibrated: call calibrate() first")
        return {m: w / self.metric_ref[m] for m, w in self.user_weights.items()}

    def raw(self, costs: dict) -> torch.Tensor:
        """``J`` in its own units (EDAP: mJ·ms·mm²)."""
        return objective_value(costs["latency"], costs["energy"], costs["area"], self.objective, self.weights)

    def normalised(self, costs: dict) -> torch.Tensor:
        """``log(J / J_ref)``: 0 at the reference, scale-free."""
        if self.ref is None:
            raise HDXError("objective not calibrated: call calibrate() first")
        return torch.log(self.raw(costs) / self.ref)

    def dance_term(self, costs: dict, lam: float) -> torch.Tensor:
        """DANCE soft cost ``λ·log(J / J_ref)``."""
        return lam * self.normalised(costs)

    def state_dict(self) -> dict:
        return {"metric_ref": dict(self.metric_ref), "ref": self.ref}

    def load_state_dict(self, s: dict) -> None:
        self.metric_ref = dict(s["metric_ref"])
        self.ref = s["ref"]


def tfnas_term(value: torch.Tensor, budget: Budget, lam: float) -> torch.Tensor:
    """TF-NAS soft budget ``λ·|t / T − 1|`` (penalises both overshoot and undershoot)."""
    return lam * torch.abs(value / budget.limit - 1.0)


def constraint_value(value: torch.Tensor, limit: float) -> torch.Tensor:
    """Scale-free constraint ``log(t / T)``: ≥ 0 when the budget is violated."""
    return torch.log(value / limit)
