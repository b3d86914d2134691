"""The bilevel co-exploration search (DESIGN.md §7): ``hdx search``.

Setup (:func:`prepare`, everything that can fail on bad input, before any training):
budgets parsed → spaces and cost model → exact :class:`~hdx.cost.table.CostTable` → budgets below
the minimum achievable refused → evaluator loaded and checked against this space/grid/cost model →
objective calibrated on the uniform architecture distribution.

Search (:class:`Searcher`), per epoch over the train split:

* weight step: supernet weights, SGD (Nesterov, cosine decay) on CE of a train batch (one sampled
  path per layer, ProxylessNAS binary gates; or Gumbel);
* after ``warmup_epochs``, one architecture step per ``arch_every`` weight steps on a batch of the
  held-out split: ``L = CE + λ·log(J/J_ref)`` (DANCE term; hdx, dance) ``+ Σ_soft λ_b|t/T − 1|``
  (TF-NAS; every budget is soft under ``dance``). ``nas-then-hw`` uses CE only. The step direction
  ``d`` comes from :class:`~hdx.search.manipulation.ArchAdam`; under ``hdx`` the
  :class:`~hdx.search.guard.BudgetGuard` corrects ``d`` for every violated hard budget before
  ``α ← α − lr·d``. What each method puts in the loss is a :class:`~hdx.search.guard.MethodPolicy`.

ProxylessNAS' two-path α rescaling is *not* applied: it would partly undo the manipulated step on
the sampled pair and void the descent guarantee.

A checkpoint is written at every epoch end (atomic); ``resume`` continues from it with the saved RNG
state, so a killed and resumed run ends with the same ``final.json`` as an uninterrupted one (CPU,
same thread count). Wall-clock figures go to ``timing.json`` only.

Finish (:mod:`hdx.search.finish`): derive the argmax network, take its accelerator from the
evaluator's generator and from exhaustive ground-truth search under the hard budgets, and re-check
every budget with the ground-truth table. Under ``hdx`` a miss triggers up to ``recheck_rounds``
rounds of ``recheck_steps`` extra arch steps with internally tightened targets; still missing →
``feasible: false`` with the closest design. Then (``hdx``) the budget fill (:mod:`hdx.search.fill`,
config ``fill``) may grow the derived network into its hard budgets on the ground truth. Records
(:mod:`hdx.search.records`): a :class:`StepRecord` per arch step in ``metrics.jsonl``, the
:class:`SearchFinal` in ``final.json``.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from hdx.budgets import Budget, parse_budgets
from hdx.cost import get_cost_model
from hdx.cost.feasibility import choose_accelerator
from hdx.cost.table import CostTable
from hdx.errors import HDXError
from hdx.metrics import METRICS, UNITS, Objective
from hdx.model.supernet import tau_schedule
from hdx.report.rundir import RunDir, atomic_write_json, versions
from hdx.runtime import StepTimer, apply_threads, degrade_on_stall
from hdx.search.config import SearchConfig
from hdx.search.finish import Achievable, design_record, ensure_compatible, require_achievable
from hdx.search.guard import BudgetGuard, Correction, MethodPolicy, policy
from hdx.search.manipulation import ArchAdam
from hdx.search.objectives import CostTerm, tfnas_term
from hdx.search.records import (
    BudgetValue,
    DesignRecord,
    EpochRecord,
    RecheckRound,
    SearchFinal,
    StepRecord,
)
from hdx.space.accelerator import AcceleratorSpace
from hdx.space.network import NetworkSpace


# ----------------------------------------------------------------------------------------------------
# setup
@dataclass
class SearchSetup:
    """Everything a search needs except data and the supernet (built by :func:`prepare`)."""

    cfg: SearchConfig
    space: NetworkSpace
    grid: AcceleratorSpace
    table: CostTable
    budgets: list[Budget]
    evaluator: torch.nn.Module
    evaluator_kind: str
    objective: Objective
    cost_term: CostTerm
    achievable: Achievable

    @property
    def policy(self) -> MethodPolicy:
        return policy(self.cfg.method)

    @property
    def penalised(self) -> list[Budget]:
        """Budgets that add a TF-NAS penalty under this method."""
        return self.policy.penalised_budgets(self.budgets)

    def guard(self) -> BudgetGuard:
        """A fresh :class:`BudgetGuard` for the budgets this method guards (none but under ``hdx``)."""
        c = self.cfg
        return BudgetGuard(self.policy.guarded_budgets(self.budgets), self.table, delta0=c.delta0,
                           w=c.delta_w, delta_max=c.delta_max, violation_check=c.violation_check,
                           tighten=c.tighten)


def _load_evaluator(cfg: SearchConfig, space, grid, model, table, objective: Objective
                    ) -> tuple[torch.nn.Module, str]:
    from hdx.evaluator import default_evaluator_path, load_evaluator

    kind = cfg.evaluator
    if kind == "auto":
        shipped = default_evaluator_path(space.name, grid.name, cfg.objective).is_file()
        kind = "learned" if shipped else "oracle"
    if kind == "oracle":
        ev = load_evaluator("oracle", space=space, grid=grid, model=model, objective=objective,
                            table=table, temperature=cfg.oracle_temperature)
        label = "oracle"
    elif kind == "learned":
        ev = load_evaluator("learned", None, space=space, grid=grid, model=model, objective=cfg.objective)
        label = "learned (shipped)"
    else:
        p = Path(kind)
        if not p.is_file():
            raise HDXError(f"evaluator '{kind}': use auto, learned, oracle or the path of an evaluator file")
        ev = load_evaluator("learned", p, space=space, grid=grid, model=model, objective=cfg.objective)
        label = f"learned ({p})"
    ensure_compatible(ev, table)
    ev.eval()
    for prm in ev.parameters():
        prm.requires_grad_(False)
    return ev, label


def prepare(cfg: SearchConfig) -> SearchSetup:
    """Validate everything that does not need training; one-line :class:`HDXError` on bad input."""
    budgets = parse_budgets(cfg.budgets)
    space = NetworkSpace.load(cfg.space)
    grid = AcceleratorSpace.load(cfg.accel_space)
    model = get_cost_model(cfg.cost_backend, grid.hardware)
    table = CostTable.build(space, grid, model)
    achievable = require_achievable(table, budgets, grid)
    from hdx.train.retrain import check_retrain

    check_retrain(cfg)  # a bad retrain option never costs a search
    objective = table.objective(cfg.objective, cfg.weights)
    evaluator, kind = _load_evaluator(cfg, space, grid, model, table, objective)
    cost_term = CostTerm(objective)
    uniform = torch.as_tensor(table.uniform_probs(), dtype=torch.float32)
    with torch.no_grad():
        cost_term.calibrate(evaluator(uniform).costs)
    return SearchSetup(cfg, space, grid, table, budgets, evaluator, kind, objective, cost_term, achievable)


@dataclass
class SearchData:
    """Loaders of one search: train (augmented), val (arch steps), BN calibration, test subset."""

    train: object
    val: object
    calib: object
    val_eval: object
    test: object | None
    sizes: dict = field(default_factory=dict)


def load_data(cfg: SearchConfig, device: torch.device | str = "cpu") -> SearchData:
    from hdx.data import Augment, BatchLoader, load_cifar10, split_train_val, subset

    dev = {"device": device, "device_rng": torch.device(device).type == "cuda"}  # data held on the device

    if cfg.fake_data:
        from hdx.data.fake import fake_images

        x, y = fake_images(cfg.subset or 512, cfg.seed + 12345)
        test_x, test_y = x[: cfg.eval_images], y[: cfg.eval_images]
    else:
        ds = load_cifar10(cfg.data)
        x, y = subset(ds.train_x, ds.train_y, cfg.subset, seed=cfg.seed)
        test_x, test_y = subset(ds.test_x, ds.test_y, max(1, cfg.eval_images), seed=cfg.seed)
    n_val = max(1, int(round(x.shape[0] * cfg.val_fraction)))
    (tx, ty), (vx, vy) = split_train_val(x, y, val_size=n_val, seed=cfg.seed)
    bs = cfg.batch_size
    train = BatchLoader(tx, ty, batch_size=bs, augment=Augment(), shuffle=True, drop_last=True, seed=cfg.seed,
                        **dev)
    val = BatchLoader(vx, vy, batch_size=bs, augment=None, shuffle=True, drop_last=True, seed=cfg.seed + 1,
                      **dev)
    if len(train) == 0 or len(val) == 0:
        raise HDXError(f"subset too small for batch size {bs}: {tx.shape[0]} train / {vx.shape[0]} val "
                       f"images; raise --subset or lower batch_size")
    calib = BatchLoader(tx, ty, batch_size=bs, augment=None, shuffle=False, **dev)
    val_eval = BatchLoader(vx, vy, batch_size=500, augment=None, shuffle=False, **dev)
    test = (BatchLoader(test_x, test_y, batch_size=500, augment=None, shuffle=False, **dev) if cfg.eval_images
            else None)
    return SearchData(train, val, calib, val_eval, test,
                      {"train": int(tx.shape[0]), "val": int(vx.shape[0]), "test": int(test_x.shape[0])})


# ----------------------------------------------------------------------------------------------------
# search
class Diverged(HDXError):
    """The search produced a non-finite loss, α or cost: it stops; the last good checkpoint is kept."""


CHECKPOINT_KEYS = {"epoch", "wstep", "astep", "net", "w_opt", "a_opt", "guard", "rng", "cuda_rng",
                   "epoch_times"}
WARM_KEYS = ("epoch", "wstep", "net", "w_opt", "rng", "cuda_rng", "epoch_times")


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


class Searcher:
    """One search run in a :class:`RunDir` (see the module docstring)."""

    def __init__(self, setup: SearchSetup, data: SearchData, run: RunDir):
        from hdx.model.supernet import SuperNet
        from hdx.train.trainer import resolve_device

        cfg = self.cfg = setup.cfg
        self.s, self.data, self.run = setup, data, run
        apply_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        # device: CUDA runs NHWC + bf16 autocast and reads the loss back every log_every steps only
        self.device = resolve_device(cfg.device)
        self.cuda = self.device.type == "cuda"
        self.fmt = torch.channels_last if (cfg.channels_last or self.cuda) else torch.contiguous_format
        if self.cuda:
            torch.backends.cudnn.benchmark = True
        self.net = SuperNet(setup.space, cfg.supernet_mode, cfg.width_mult, tau=cfg.tau0).to(
            self.device, memory_format=self.fmt)
        setup.evaluator.to(self.device)
        self.alpha = self.net.alpha
        self.w_opt = torch.optim.SGD(self.net.weight_parameters(), lr=cfg.w_lr, momentum=cfg.w_momentum,
                                     nesterov=cfg.w_momentum > 0, weight_decay=cfg.w_weight_decay)
        self.a_opt = ArchAdam(self.alpha, lr=cfg.arch_lr, kind=cfg.arch_optimizer)
        self.guard = setup.guard()
        self.epoch = 0
        self.wstep = 0
        self.astep = 0
        self.epoch_times: list[float] = []
        self.total_wsteps = cfg.epochs * len(data.train)

    # ----- state -------------------------------------------------------------------------------------
    def state(self) -> dict:
        return {"epoch": self.epoch, "wstep": self.wstep, "astep": self.astep, "net": self.net.state_dict(),
                "w_opt": self.w_opt.state_dict(), "a_opt": self.a_opt.state_dict(),
                "guard": self.guard.state_dict(), "rng": torch.get_rng_state(),
                "cuda_rng": (torch.cuda.get_rng_state(self.device) if self.cuda
                             else torch.empty(0, dtype=torch.uint8)),
                "epoch_times": list(self.epoch_times)}

    def load_state(self, st: dict) -> None:
        try:
            self.load_warm_state(st)
            self.astep = int(st["astep"])
            self.a_opt.load_state_dict(st["a_opt"])
            self.guard.load_state_dict(st["guard"])
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise HDXError(f"checkpoint {self.run.file(RunDir.CHECKPOINT)} does not fit this run "
                           f"({type(e).__name__}: {str(e).splitlines()[0][:120]}); delete it to start over "
                           f"or choose another --out") from None

    def warm_state(self) -> dict:
        """The part of the state a weight-only warm-up determines (shareable across methods/budgets)."""
        return {k: v for k, v in self.state().items() if k in WARM_KEYS}

    def load_warm_state(self, st: dict) -> None:
        """Start from a shared warm-up (see :meth:`warm_state`); arch state stays at its initial value."""
        self.epoch, self.wstep = int(st["epoch"]), int(st["wstep"])
        self.net.load_state_dict(st["net"])
        self.w_opt.load_state_dict(st["w_opt"])
        torch.set_rng_state(st["rng"])
        if self.cuda and st["cuda_rng"].numel():
            torch.cuda.set_rng_state(st["cuda_rng"], self.device)
        self.epoch_times = list(st["epoch_times"])

    def warm_up(self) -> None:
        """Run the weight-only warm-up epochs (no arch step happens before ``warmup_epochs``)."""
        while self.epoch < self.cfg.warmup_epochs:
            te = time.perf_counter()
            self.train_epoch(self.cfg.progress)
            self.epoch_times.append(time.perf_counter() - te)
            self.epoch += 1

    # ----- steps -------------------------------------------------------------------------------------
    def forward(self, xb: torch.Tensor) -> torch.Tensor:
        """Supernet logits (NHWC when configured; bf16 autocast on CUDA; the CPU path is unchanged)."""
        ctx = torch.autocast("cuda", dtype=torch.bfloat16) if self.cuda else contextlib.nullcontext()
        with ctx:
            return self.net(xb.contiguous(memory_format=self.fmt)).float()

    def weight_step(self, xb: torch.Tensor, yb: torch.Tensor) -> float | torch.Tensor:
        """One weight step; returns the loss (a float; on CUDA a device tensor, read back by the caller
        every ``log_every`` steps, so the step does not wait for the device)."""
        cfg = self.cfg
        lr = 0.5 * cfg.w_lr * (1 + math.cos(math.pi * self.wstep / max(1, self.total_wsteps)))
        for gp in self.w_opt.param_groups:
            gp["lr"] = lr
        self.net.set_phase("weights")
        self.net.train()
        self.w_opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self.forward(xb), yb)
        if not self.cuda:
            self._finite("weight-step loss", loss)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.net.weight_parameters(), 5.0)
        self.w_opt.step()
        self.wstep += 1
        return loss.detach() if self.cuda else float(loss.detach())

    def arch_step(self, xb: torch.Tensor, yb: torch.Tensor, phase: str = "search") -> StepRecord:
        """One architecture step: loss → Adam direction → guard correction → α update; logged."""
        ce = self._arch_ce(xb, yb)
        costs = {m: v[0] for m, v in self.s.evaluator(self.net.arch_probs()).costs.items()}
        loss = self._loss(ce, costs)
        g = torch.autograd.grad(loss, self.alpha, retain_graph=bool(self.guard))[0]
        pred_argmax = self._predict_argmax()
        d = self.a_opt.direction(g)
        correction = None
        if self.guard:
            self.guard.retarget(self._arch_idx(), pred_argmax)
            d, correction = self.guard.correct(d, costs, pred_argmax, self.alpha)
        self._finite("architecture step", d)
        self.a_opt.apply(d)
        self._finite("architecture parameters α", self.alpha)
        rec = self._step_record(phase, ce, costs, pred_argmax, correction)
        self.astep += 1
        self.run.log(rec.to_json())
        return rec

    def _arch_ce(self, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        """CE of a validation batch with the supernet weights frozen (graph to α only)."""
        weights = self.net.weight_parameters()
        for p in weights:
            p.requires_grad_(False)
        try:
            self.net.set_phase("arch")
            self.net.train()
            return F.cross_entropy(self.forward(xb), yb)
        finally:
            for p in weights:
                p.requires_grad_(True)

    def _loss(self, ce: torch.Tensor, costs: dict[str, torch.Tensor]) -> torch.Tensor:
        """``CE [+ λ·log(J/J_ref)] [+ Σ TF-NAS penalties]`` as the method's policy says."""
        s, cfg = self.s, self.cfg
        loss = ce
        if s.policy.cost_term and cfg.hw_lambda > 0:
            loss = loss + s.cost_term.dance_term(costs, cfg.hw_lambda)
        for b in s.penalised:
            loss = loss + tfnas_term(costs[b.metric], b, cfg.soft_lambda)
        self._finite("architecture loss", loss)
        for m, v in costs.items():
            self._finite(f"predicted {m}", float(v.detach()))
        return loss

    def _arch_idx(self) -> np.ndarray:
        return self.s.space.encode(self.net.derive())

    @torch.no_grad()
    def _evaluate_argmax(self):
        """The evaluator's :class:`EvalResult` for the argmax network (one-hot probabilities)."""
        onehot = F.one_hot(self.net.argmax_indices(), self.s.space.num_ops).to(torch.float32)
        return self.s.evaluator(onehot)

    def _predict_argmax(self) -> dict[str, float]:
        """The evaluator's predicted costs of the argmax network."""
        return {m: float(v[0]) for m, v in self._evaluate_argmax().costs.items()}

    def _step_record(self, phase: str, ce: torch.Tensor, costs: dict[str, torch.Tensor],
                     pred_argmax: dict[str, float], corr: Correction | None) -> StepRecord:
        relaxed = {m: float(costs[m].detach()) for m in METRICS}
        budgets = {}
        for b in self.s.budgets:
            v = self.guard.check_value(relaxed[b.metric], pred_argmax[b.metric])
            budgets[b.key] = BudgetValue(value=v, slack=b.slack(v))
        extra = {} if corr is None else {"delta": corr.delta, "violated": corr.violated, "fired": corr.fired,
                                         "verified": corr.verified, "targets": corr.targets}
        return StepRecord(phase=phase, epoch=self.epoch, step=self.astep, ce=float(ce.detach()), pred=relaxed,
                          pred_argmax=pred_argmax, budgets=budgets, **extra)

    def _finite(self, what: str, value) -> None:
        """Stop with one line (the run keeps its last good checkpoint) on a non-finite number."""
        ok = bool(torch.isfinite(value).all()) if isinstance(value, torch.Tensor) else math.isfinite(value)
        if not ok:
            raise Diverged(f"search diverged at epoch {self.epoch + 1}, step {self.wstep}: the {what} is not "
                           f"finite; nothing was written as a result, the last good checkpoint is kept in "
                           f"{self.run.path} (lower arch_lr / w_lr / hw_lambda, raise tau0 / "
                           f"oracle_temperature, and start a new run)")

    def _val_batches(self, epoch: int):
        k = 0
        while True:
            yield from self.data.val.epoch(1000 + 7 * epoch + k)
            k += 1

    # ----- epochs -------------------------------------------------------------------------------------
    def train_epoch(self, progress: bool) -> None:
        from tqdm import tqdm

        cfg, e = self.cfg, self.epoch
        if cfg.supernet_mode == "gumbel":
            self.net.set_tau(tau_schedule(e, cfg.tau0, cfg.tau_decay))
        arch_on = e >= cfg.warmup_epochs
        val_iter = self._val_batches(e)
        bar = tqdm(self.data.train.epoch(e), total=len(self.data.train), disable=not progress, leave=False,
                   desc=f"epoch {e + 1}/{cfg.epochs}" + ("" if arch_on else " (warm-up)"), dynamic_ncols=True)
        ce_sum, n = 0.0, 0
        timer = StepTimer()
        for i, (xb, yb) in enumerate(bar):
            ce_sum += self.weight_step(xb, yb)
            n += 1
            rec = None
            if arch_on and (i + 1) % cfg.arch_every == 0:
                vx, vy = next(val_iter)
                rec = self.arch_step(vx, vy)
            timer.tick()
            if self.cuda:  # the only read-back of the weight loss: every log_every steps
                if n % cfg.log_every == 0 or n == len(self.data.train):
                    self._finite("weight-step loss", ce_sum)
                    if progress:
                        bar.set_postfix_str(f"ce {float(ce_sum) / n:.3f}")
                continue
            degrade_on_stall(timer, cfg.threads is not None, bar.write if progress else print)
            if progress:
                bar.set_postfix_str(timer.text() + (" " + self._postfix(rec, ce_sum / n) if rec else ""))
        bar.close()
        self.run.log(EpochRecord(epoch=e, train_ce=float(ce_sum) / max(1, n),
                                 arch=self.s.space.arch_text(self.net.derive())).to_json())

    @staticmethod
    def _postfix(rec: StepRecord, train_ce: float) -> str:
        parts = [f"ce {train_ce:.2f}", f"pred lat {rec.pred_argmax['latency']:.3g}ms"]
        parts += [f"{k} slack {100 * v.slack:+.1f}%" for k, v in rec.budgets.items()]
        if rec.fired:
            parts.append("manip")
        return " ".join(parts)

    # ----- finish ---------------------------------------------------------------------------------------
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

    # ----- driver ----------------------------------------------------------------------------------------
    def run_all(self, *, resume: bool = False) -> SearchFinal:
        cfg = self.cfg
        if resume:
            st = self.run.load_checkpoint(keys=CHECKPOINT_KEYS)
            if st is not None:
                self.load_state(st)
            start = self.epoch  # 0 when the run died before its first checkpoint: restart from scratch
            self.run.truncate_metrics(lambda r: r.get("phase") in ("search", "epoch")
                                      and isinstance(r.get("epoch"), int) and r["epoch"] < start)
        if self.epoch == 0 and cfg.warmup_from:  # start from a shared warm-up (hdx.search.warmup)
            from hdx.search.warmup import load_warmup

            self.load_warm_state(load_warmup(cfg.warmup_from, cfg))
        t0 = time.perf_counter()
        while self.epoch < cfg.epochs:
            te = time.perf_counter()
            self.train_epoch(cfg.progress)
            self.epoch_times.append(time.perf_counter() - te)
            self.epoch += 1
            self.run.save_checkpoint(self.state())
        tf = time.perf_counter()
        gt, rounds = self.recheck()
        from hdx.search.fill import finish_fill  # grow the derived network into its hard budgets

        gt, fill = finish_fill(self, gt)
        acc = self.accuracy(gt.arch)
        final = self.final(gt, rounds, acc)
        final.fill = fill
        tr = time.perf_counter()
        retrained = None
        if cfg.retrain_epochs:  # search -> retrain: the derived network from scratch, in RUN/retrain
            from hdx.train.retrain import retrain_after_search

            retrained = retrain_after_search(cfg, self.run.path, final.arch)
            final.retrained = retrained.record()
        self.run.write_final(final.to_json())
        atomic_write_json(self.run.file("timing.json"), {
            **({"retrain_seconds_per_epoch": retrained.seconds_per_epoch,
                "retrain_seconds": time.perf_counter() - tr} if retrained else {}),
            "seconds_per_epoch": self.epoch_times, "mean_seconds_per_epoch": float(np.mean(self.epoch_times)),
            "search_seconds": float(sum(self.epoch_times)), "finish_seconds": tr - tf,
            "this_process_seconds": time.perf_counter() - t0})
        return final


def run_search(cfg: SearchConfig, out: str | Path, *, resume: bool = False,
               setup: SearchSetup | None = None) -> SearchFinal:
    """Prepare (unless given), load data, search, finish; returns the :class:`SearchFinal` (final.json)."""
    from hdx.report.rundir import check_out_dir

    check_out_dir(out, resume=resume)  # output-folder problems before any work
    from hdx.train.trainer import resolve_device

    setup = setup or prepare(cfg)
    data = load_data(cfg, resolve_device(cfg.device))
    run = RunDir(out, resume=resume)
    if not resume or run.restartable:
        run.write_config(cfg)
    return Searcher(setup, data, run).run_all(resume=resume)
