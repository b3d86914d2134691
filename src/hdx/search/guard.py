"""The hard-budget guard of HDX (docs/design.md#the-hdx-rule) and the methods as a small table of policies.

:class:`BudgetGuard` is the one object that enforces hard budgets during a search. The loop calls it
at three points:

* :meth:`BudgetGuard.retarget` — before a correction: the internal target ``T'_i`` of each steered
  budget for the current argmax network (see below);
* :meth:`BudgetGuard.correct` — every architecture step: for every steered budget whose predicted
  value (:meth:`check_value`) reaches ``T'_i``, the step direction ``d`` is corrected to the
  minimal-norm ``d + m`` with ``(d + m)·∇_α log t_i ≥ δ_i`` for all of them at once
  (:func:`~hdx.search.manipulation.manipulate`); δ grows ×w per violating step
  (:class:`~hdx.search.manipulation.DeltaSchedule`);
* :meth:`BudgetGuard.tighten` — after a ground-truth miss: the targets of the missed budgets shrink by
  ``tighten`` for the next round of re-check steps.

**What the targets do.** ``∇_α log(t/T) = ∇_α log t`` does not depend on ``T``: the target only decides
*when* the correction fires, never *which way* it pushes. Internal targets translate the user's limit
into the evaluator's frame: ``T'_i = T_i · min(1, pred_i / gt_i) · tight_i``, with ``pred_i`` the
evaluator's prediction for the argmax network and ``gt_i`` that network's ground-truth minimum over
the accelerators meeting the accelerator-only (area) budgets. This corrects both the evaluator's error
and the difference between its accelerator choice and those the budgets allow; it never loosens T_i.

**What the guard did** (:attr:`BudgetGuard.pushed`): the sum of every correction ``m`` it added to
the step direction. With ``α ← α − lr·(d + m)`` the logits the search's own loss would have reached
without the guard are exactly ``α + lr·pushed``: the evidence the budget fill ranks its moves by
(:mod:`hdx.search.fill`), since there the budgets are enforced on the ground truth instead.

**Steered budgets**: hard latency and energy budgets. Area depends on the accelerator only, so it is
met by the accelerator choice (exhaustive, under the budgets) and enters through ``gt_i``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from hdx.budgets import Budget
from hdx.cost.feasibility import constrained_min
from hdx.cost.table import CostTable
from hdx.errors import HDXError
from hdx.search.manipulation import DeltaSchedule, manipulate
from hdx.search.objectives import constraint_value

ViolationCheck = Literal["argmax", "relaxed", "both"]


# ---------------------------------------------------------------------------------------------------
# methods
@dataclass(frozen=True)
class MethodPolicy:
    """What a search method puts in the loss and whether hard budgets are guarded.

    ``cost_term``: the DANCE term ``λ·log(J/J_ref)``; ``guard``: hard budgets enforced by the
    :class:`BudgetGuard` and re-check rounds, and the derived network grown into them at the finish
    (:mod:`hdx.search.fill`, config ``fill``); ``penalised``: the budgets that add a TF-NAS penalty
    (``soft`` ones, ``all`` of them, or ``none``).
    """

    name: str
    cost_term: bool
    guard: bool
    penalised: Literal["soft", "all", "none"]
    summary: str

    def penalised_budgets(self, budgets: Sequence[Budget]) -> list[Budget]:
        if self.penalised == "all":
            return list(budgets)
        if self.penalised == "soft":
            return [b for b in budgets if not b.hard]
        return []

    def guarded_budgets(self, budgets: Sequence[Budget]) -> list[Budget]:
        return [b for b in budgets if b.hard] if self.guard else []


POLICIES: dict[str, MethodPolicy] = {
    "hdx": MethodPolicy("hdx", cost_term=True, guard=True, penalised="soft",
                        summary="hard budgets by gradient manipulation, soft cost term"),
    "dance": MethodPolicy("dance", cost_term=True, guard=False, penalised="all",
                          summary="soft cost term; every budget a TF-NAS penalty"),
    "nas-then-hw": MethodPolicy("nas-then-hw", cost_term=False, guard=False, penalised="none",
                                summary="CE only, then the best accelerator under the budgets"),
}


def policy(method: str) -> MethodPolicy:
    try:
        return POLICIES[method]
    except KeyError:
        raise HDXError(f"unknown method '{method}': use one of {', '.join(POLICIES)}") from None


# ---------------------------------------------------------------------------------------------------
# the guard
@dataclass
class Correction:
    """What :meth:`BudgetGuard.correct` did in one step (logged in the step record)."""

    delta: list[float]
    violated: list[bool]
    fired: bool
    verified: bool
    targets: list[float]


class BudgetGuard:
    """Hard-budget enforcement of one search (see the module docstring).

    ``budgets``: the guarded (hard) budgets; latency/energy ones are steered, area ones constrain the
    ground-truth minimum used for the targets. ``table``: the ground-truth cost table.
    """

    def __init__(self, budgets: Sequence[Budget], table: CostTable, *, delta0: float, w: float,
                 delta_max: float, violation_check: ViolationCheck = "argmax", tighten: float = 0.97):
        self.budgets = [b for b in budgets if b.hard]
        self.steered = [b for b in self.budgets if b.metric != "area"]
        self.table = table
        self.violation_check = violation_check
        self.tighten_factor = float(tighten)
        self.delta = DeltaSchedule(len(self.steered), delta0=delta0, w=w, delta_max=delta_max)
        self.targets = np.array([b.limit for b in self.steered], dtype=np.float64)
        self.tight = np.ones(len(self.steered))
        self.pushed: torch.Tensor | None = None  # Σ of the corrections m (shape of α), once one happened

    def __bool__(self) -> bool:
        return bool(self.steered)

    # ----- targets -----------------------------------------------------------------------------------
    def check_value(self, relaxed: float, argmax: float) -> float:
        """The predicted value a budget is checked against (config ``violation_check``)."""
        mode = self.violation_check
        return argmax if mode == "argmax" else relaxed if mode == "relaxed" else max(relaxed, argmax)

    def retarget(self, arch_idx: np.ndarray, pred_argmax: dict[str, float]) -> None:
        """Internal targets for the argmax network (op indices [L]) and its predicted costs."""
        if not self.steered:
            return
        gt = self.table.arch_metrics(arch_idx)
        area = [b for b in self.budgets if b.metric == "area"]
        for i, b in enumerate(self.steered):
            gt_min = constrained_min(gt, area, b.metric)[0]
            self.targets[i] = b.limit * min(1.0, pred_argmax[b.metric] / gt_min) * self.tight[i]

    def tighten(self, gt_values: dict[str, float]) -> None:
        """After a ground-truth miss: shrink the targets of the missed budgets (next :meth:`retarget`)."""
        for i, b in enumerate(self.steered):
            if not b.met(gt_values[b.metric]):
                self.tight[i] *= self.tighten_factor

    # ----- the correction ----------------------------------------------------------------------------
    def correct(self, direction: torch.Tensor, costs: dict[str, torch.Tensor], pred_argmax: dict[str, float],
                alpha: torch.Tensor) -> tuple[torch.Tensor, Correction]:
        """Correct the step direction for every violated steered budget.

        ``costs``: the relaxed predicted costs (scalars with a graph to ``alpha``); ``pred_argmax``:
        the predicted costs of the argmax network. Returns the direction to apply and what happened.
        """
        violated = [bool(self.check_value(float(costs[b.metric].detach()), pred_argmax[b.metric])
                         >= self.targets[i]) for i, b in enumerate(self.steered)]
        # a budget that holds imposes nothing: its gradient is never read (zeros stand in)
        grads = [torch.autograd.grad(constraint_value(costs[b.metric], float(self.targets[i])), alpha,
                                     retain_graph=True)[0] if v else torch.zeros_like(alpha)
                 for i, (b, v) in enumerate(zip(self.steered, violated, strict=True))]
        man = manipulate(direction, grads, self.delta.delta, violated)
        if man.any_fired or self.pushed is not None:
            m = man.correction.detach()
            self.pushed = m.clone() if self.pushed is None else self.pushed.to(m.device) + m
        info = Correction(self.delta.delta.tolist(), violated, bool(man.any_fired), bool(man.verified),
                          self.targets.tolist())
        self.delta.update(violated)
        return man.direction, info

    # ----- state -------------------------------------------------------------------------------------
    def unguarded(self, alpha: torch.Tensor, lr: float) -> torch.Tensor:
        """The logits without this guard's corrections, ``α + lr·pushed`` (``lr``: the arch step size of
        every applied step, constant in :class:`~hdx.search.manipulation.ArchAdam`)."""
        a = alpha.detach()
        return a if self.pushed is None else a + lr * self.pushed.to(a.device, a.dtype)

    def state_dict(self) -> dict:
        # plain JSON values only (the state is also written as JSON): the correction sum as nested lists
        pushed = [] if self.pushed is None else self.pushed.detach().cpu().tolist()
        dtype = "" if self.pushed is None else str(self.pushed.dtype).removeprefix("torch.")
        return {"delta": self.delta.state_dict(), "targets": self.targets.tolist(),
                "tight": self.tight.tolist(), "pushed": pushed, "pushed_dtype": dtype}

    def load_state_dict(self, s: dict) -> None:
        pushed = s.get("pushed")  # absent in checkpoints written before the budget fill
        if isinstance(pushed, torch.Tensor):
            pushed = pushed.tolist()
        dtype = getattr(torch, s.get("pushed_dtype") or "float64", torch.float64)
        self.pushed = torch.tensor(pushed, dtype=dtype) if pushed else None
        self.delta.load_state_dict(s["delta"])
        targets = np.asarray(s["targets"], dtype=np.float64)
        tight = np.asarray(s["tight"], dtype=np.float64)
        if targets.shape != self.targets.shape or tight.shape != self.tight.shape:
            raise ValueError(f"guard state has {targets.size} budgets, this run {self.targets.size}")
        self.targets, self.tight = targets, tight
