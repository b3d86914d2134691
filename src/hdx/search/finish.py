"""After the search (docs/design.md#the-search): ground-truth re-check and whole-space feasibility.

Everything here uses the exact :class:`~hdx.cost.table.CostTable` of the ground-truth model, never
the evaluator; the accelerator choice itself is :func:`hdx.cost.feasibility.choose_accelerator`
(exhaustive over all A accelerators; the closest design with ``feasible=False`` when none fits).

* :class:`SearchFinish` — the searcher's finish: derive the argmax network, take its accelerator from
  the evaluator's generator and from exhaustive ground-truth search under the hard budgets, re-check
  every budget with the ground-truth table; under ``hdx`` a miss triggers up to ``recheck_rounds``
  rounds of ``recheck_steps`` extra arch steps with internally tightened targets (still missing →
  ``feasible: false`` with the closest design); the inherited-weight accuracy; the
  :class:`~hdx.search.records.SearchFinal`.
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
import torch

from hdx.budgets import Budget
from hdx.cost.feasibility import checks, choose_accelerator, constrained_min, feasible_mask
from hdx.cost.table import CostTable
from hdx.errors import HDXError
from hdx.metrics import METRICS, UNITS, Objective
from hdx.report.rundir import versions
from hdx.search.records import DesignRecord, RecheckRound, SearchFinal
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
    per_acc = {b.metric: table.min_per_accel(b.metric, argmin=False)[0] for b in hard}
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


@dataclass
class GroundTruth:
    """The derived network re-checked on the ground truth (see :meth:`Searcher.ground_truth`)."""

    arch: tuple[str, ...]
    metrics: dict[str, np.ndarray]  # [A] each
    exhaustive: DesignRecord  # best accelerator under the hard budgets (or the closest)
    generator: DesignRecord  # the evaluator's own choice
    objective_value: float

    @property
    def feasible(self) -> bool:
        return self.exhaustive.feasible


class SearchFinish:
    """The finish of a search (see the module docstring), mixed into the searcher
    (:class:`hdx.search.loop.Searcher`): it uses the state and the architecture step of its
    :class:`~hdx.search.steps.SearchSteps` (``s``, ``cfg``, ``net``, ``guard``, ``data``, ``arch_step``)."""

    def ground_truth(self) -> GroundTruth:
        """The derived network on the ground truth: the best accelerator under the hard budgets
        (exhaustive; the closest when none fits) and the evaluator generator's choice."""
        s = self.s
        arch = self.net.derive()
        metrics = s.table.arch_metrics(s.space.encode(arch))
        choice = choose_accelerator(metrics, s.objective, s.budgets)
        gen = int(self._evaluate_argmax().accel_index[0])
        return GroundTruth(arch, metrics, design_record(metrics, choice.index, s.budgets, s.grid),
                           design_record(metrics, gen, s.budgets, s.grid), choice.objective_value)

    def recheck(self) -> tuple[GroundTruth, list[RecheckRound]]:
        """Ground-truth check; when guarded, bounded extra arch steps with tightened targets on a miss."""
        cfg = self.cfg
        gt = self.ground_truth()
        rounds: list[RecheckRound] = []
        if not self.guard:
            return gt, rounds
        val_iter = self._val_batches(10_000 + self.epoch)
        for r in range(cfg.recheck_rounds):
            if gt.feasible:
                break
            self.guard.tighten(gt.exhaustive.metrics)
            for _ in range(cfg.recheck_steps):
                vx, vy = next(val_iter)
                self.arch_step(vx, vy, phase="recheck")
            gt = self.ground_truth()
            rounds.append(RecheckRound(round=r + 1, targets=self.guard.targets.tolist(),
                                       arch=self.s.space.arch_text(gt.arch), feasible=gt.feasible))
        return gt, rounds

    @torch.no_grad()
    def accuracy(self, arch: tuple[str, ...]) -> dict:
        """Accuracy of the derived network with inherited supernet weights (BN recalibrated)."""
        net = self.net.extract(arch).to(memory_format=self.fmt)
        for m in net.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.reset_running_stats()
                m.momentum = None  # cumulative average over the calibration batches
        net.train()
        for i, (xb, _) in enumerate(self.data.calib.epoch(0)):
            if i >= self.cfg.bn_batches:
                break
            net(xb.contiguous(memory_format=self.fmt))
        net.eval()

        def acc(loader) -> float:
            correct = total = 0
            for xb, yb in loader.epoch(0):
                correct += int((net(xb.contiguous(memory_format=self.fmt)).argmax(1) == yb).sum())
                total += int(yb.numel())
            return correct / max(1, total)

        out = {"val_acc": acc(self.data.val_eval)}
        if self.data.test is not None:
            out["test_acc"] = acc(self.data.test)
        return out

    def final(self, gt: GroundTruth, rounds: list[RecheckRound], acc: dict) -> SearchFinal:
        s, cfg = self.s, self.cfg
        exh = gt.exhaustive
        with torch.no_grad():
            pred = {m: float(v[0]) for m, v in s.evaluator(self.net.arch_probs()).costs.items()}
        return SearchFinal(
            status="feasible" if gt.feasible else "infeasible", feasible=gt.feasible, method=cfg.method,
            arch=s.space.arch_text(gt.arch), accelerator=exh, accelerator_generator=gt.generator,
            budgets=[b.text() for b in s.budgets],
            hard_budgets_met={c.budget: c.met for c in exh.budgets if c.kind == "hard"},
            accuracy_inherited=acc, objective=cfg.objective, objective_value=gt.objective_value,
            predicted_end=pred, alpha_probs=self.net.arch_probs().detach().cpu().numpy().round(6).tolist(),
            recheck_rounds=rounds, min_achievable=s.achievable.minima, evaluator=s.evaluator_kind,
            space=s.space.name, accel_space=s.grid.name, cost_model=s.table.model_fingerprint[:16],
            data=self.data.sizes, arch_steps=self.astep, weight_steps=self.wstep, versions=versions(),
            units=dict(UNITS))
