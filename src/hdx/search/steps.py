"""The searcher's steps (:class:`SearchSteps`), per epoch over the train split:

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

The state (:meth:`SearchSteps.state`: weights, optimisers, guard, RNG) is what a checkpoint holds;
on CUDA the supernet runs NHWC with bf16 autocast and the weight loss is read back every
``log_every`` steps only; on the CPU a stalled step drops to one thread (:mod:`hdx.runtime`).
"""

from __future__ import annotations

import contextlib
import math
import time

import numpy as np
import torch
import torch.nn.functional as F

from hdx.errors import HDXError
from hdx.metrics import METRICS
from hdx.model.supernet import tau_schedule
from hdx.report.rundir import RunDir
from hdx.runtime import StepTimer, apply_threads, degrade_on_stall
from hdx.search.guard import Correction
from hdx.search.manipulation import ArchAdam
from hdx.search.objectives import tfnas_term
from hdx.search.records import BudgetValue, EpochRecord, StepRecord
from hdx.search.setup import SearchData, SearchSetup


class Diverged(HDXError):
    """The search produced a non-finite loss, α or cost: it stops; the last good checkpoint is kept."""


CHECKPOINT_KEYS = {"epoch", "wstep", "astep", "net", "w_opt", "a_opt", "guard", "rng", "cuda_rng",
                   "epoch_times"}
WARM_KEYS = ("epoch", "wstep", "net", "w_opt", "rng", "cuda_rng", "epoch_times")


class SearchSteps:
    """The state and the steps of one search run in a :class:`RunDir` (see the module docstring)."""

    def __init__(self, setup: SearchSetup, data: SearchData, run: RunDir):
        from hdx.model.supernet import SuperNet
        from hdx.runtime import resolve_device

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
