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
  ``d`` comes from :class:`~hdx.search.manipulation.ArchAdam`; under ``hdx`` every hard budget whose
  predicted value is violated (by the relaxed distribution or by its argmax network) adds the
  constraint ``d·∇_α log(t/T) ≥ δ`` and ``d`` is corrected by the joint minimal-norm manipulation
  before ``α ← α − lr·d``.

ProxylessNAS' two-path α rescaling is *not* applied: it would partly undo the manipulated step on
the sampled pair and void the descent guarantee.

A checkpoint is written at every epoch end (atomic); ``resume`` continues from it with the saved RNG
state, so a killed and resumed run ends with the same ``final.json`` as an uninterrupted one (CPU,
same thread count). Wall-clock figures go to ``timing.json`` only.

Finish (:mod:`hdx.search.finish`): derive the argmax network, take its accelerator from the
evaluator's generator and from exhaustive ground-truth search under the hard budgets, and re-check
every budget with the ground-truth table. Under ``hdx`` a miss triggers up to ``recheck_rounds``
rounds of ``recheck_steps`` extra arch steps with internally tightened targets; still missing →
``feasible: false`` with the closest design.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from hdx.cost import get_cost_model
from hdx.cost.search import table_metrics
from hdx.cost.table import METRICS, UNITS, CostTable
from hdx.errors import HDXError
from hdx.report.rundir import RunDir, atomic_write_json, versions
from hdx.runtime import StepTimer, apply_threads, degrade_on_stall
from hdx.search.budgets import Budget, parse_budgets
from hdx.search.config import SearchConfig
from hdx.search.finish import (
    Achievable,
    best_accelerator,
    check_design,
    ensure_compatible,
    require_achievable,
)
from hdx.search.manipulation import ArchAdam, DeltaSchedule, manipulate
from hdx.search.objectives import HardwareObjective, constraint_value, tfnas_term
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
    objective: HardwareObjective
    achievable: Achievable

    @property
    def hard(self) -> list[Budget]:
        """Budgets the search enforces by manipulation (only under ``hdx``)."""
        return [b for b in self.budgets if b.hard] if self.cfg.method == "hdx" else []

    @property
    def steered(self) -> list[Budget]:
        """Hard budgets the manipulation acts on: latency and energy. Area depends on the accelerator
        only, so it is met by the accelerator choice (exhaustive under the budgets) and by mapping the
        other budgets onto accelerators that meet it (:meth:`Searcher.map_targets`)."""
        return [b for b in self.hard if b.metric != "area"]

    @property
    def soft(self) -> list[Budget]:
        """Budgets that add a TF-NAS penalty: soft ones, and every budget under ``dance``."""
        if self.cfg.method == "dance":
            return list(self.budgets)
        if self.cfg.method == "hdx":
            return [b for b in self.budgets if not b.hard]
        return []


def _load_evaluator(cfg: SearchConfig, space, grid, model, table) -> tuple[torch.nn.Module, str]:
    from hdx.evaluator import default_evaluator_path, load_evaluator
    from hdx.evaluator.base import reference_weights

    kind = cfg.evaluator
    if kind == "auto":
        shipped = default_evaluator_path(space.name, grid.name, cfg.objective).is_file()
        kind = "learned" if shipped else "oracle"
    if kind == "oracle":
        weights = None
        if cfg.objective == "weighted":
            ref = reference_weights(table)
            weights = {m: w * ref[m] for m, w in (cfg.weights or {}).items()}
        ev = load_evaluator("oracle", space=space, grid=grid, model=model, objective=cfg.objective,
                            table=table, temperature=cfg.oracle_temperature, weights=weights)
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
    evaluator, kind = _load_evaluator(cfg, space, grid, model, table)
    objective = HardwareObjective(cfg.objective, cfg.weights)
    mask = space.allowed_mask.astype(np.float32)
    uniform = torch.as_tensor(mask / mask.sum(-1, keepdims=True))
    with torch.no_grad():
        objective.calibrate(evaluator(uniform).costs)
    return SearchSetup(cfg, space, grid, table, budgets, evaluator, kind, objective, achievable)


@dataclass
class SearchData:
    """Loaders of one search: train (augmented), val (arch steps), BN calibration, test subset."""

    train: object
    val: object
    calib: object
    val_eval: object
    test: object | None
    sizes: dict = field(default_factory=dict)


def load_data(cfg: SearchConfig) -> SearchData:
    from hdx.data import Augment, BatchLoader, load_cifar10, split_train_val, subset

    if cfg.fake_data:
        g = torch.Generator().manual_seed(cfg.seed + 12345)
        n = cfg.subset or 512
        x = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g)
        y = torch.randint(0, 10, (n,), generator=g)
        test_x, test_y = x[: cfg.eval_images], y[: cfg.eval_images]
    else:
        ds = load_cifar10(cfg.data)
        x, y = subset(ds.train_x, ds.train_y, cfg.subset, seed=cfg.seed)
        test_x, test_y = subset(ds.test_x, ds.test_y, max(1, cfg.eval_images), seed=cfg.seed)
    n_val = max(1, int(round(x.shape[0] * cfg.val_fraction)))
    (tx, ty), (vx, vy) = split_train_val(x, y, val_size=n_val, seed=cfg.seed)
    bs = cfg.batch_size
    train = BatchLoader(tx, ty, batch_size=bs, augment=Augment(), shuffle=True, drop_last=True, seed=cfg.seed)
    val = BatchLoader(vx, vy, batch_size=bs, augment=None, shuffle=True, drop_last=True, seed=cfg.seed + 1)
    if len(train) == 0 or len(val) == 0:
        raise HDXError(f"subset too small for batch size {bs}: {tx.shape[0]} train / {vx.shape[0]} val "
                       f"images; raise --subset or lower batch_size")
    calib = BatchLoader(tx, ty, batch_size=bs, augment=None, shuffle=False)
    val_eval = BatchLoader(vx, vy, batch_size=500, augment=None, shuffle=False)
    test = (BatchLoader(test_x, test_y, batch_size=500, augment=None, shuffle=False) if cfg.eval_images
            else None)
    return SearchData(train, val, calib, val_eval, test,
                      {"train": int(tx.shape[0]), "val": int(vx.shape[0]), "test": int(test_x.shape[0])})


# ----------------------------------------------------------------------------------------------------
# search
class Diverged(HDXError):
    """The search produced a non-finite loss, α or cost: it stops; the last good checkpoint is kept."""


CHECKPOINT_KEYS = {"epoch", "wstep", "astep", "net", "w_opt", "a_opt", "delta", "targets", "tight", "rng",
                   "epoch_times"}


class Searcher:
    """One search run in a :class:`RunDir` (see the module docstring)."""

    def __init__(self, setup: SearchSetup, data: SearchData, run: RunDir):
        from hdx.model.supernet import SuperNet

        cfg = self.cfg = setup.cfg
        self.s, self.data, self.run = setup, data, run
        apply_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        self.net = SuperNet(setup.space, cfg.supernet_mode, cfg.width_mult, tau=cfg.tau0)
        self.alpha = self.net.alpha
        self.w_opt = torch.optim.SGD(self.net.weight_parameters(), lr=cfg.w_lr, momentum=cfg.w_momentum,
                                     nesterov=cfg.w_momentum > 0, weight_decay=cfg.w_weight_decay)
        self.a_opt = ArchAdam(self.alpha, lr=cfg.arch_lr, kind=cfg.arch_optimizer)
        steered = setup.steered
        self.delta = DeltaSchedule(len(steered), delta0=cfg.delta0, w=cfg.delta_w, delta_max=cfg.delta_max)
        self.targets = np.array([b.limit for b in steered], dtype=np.float64)  # internal targets
        self.tight = np.ones(len(steered))  # extra factor from re-check rounds
        self.epoch = 0
        self.wstep = 0
        self.astep = 0
        self.epoch_times: list[float] = []
        self.total_wsteps = cfg.epochs * len(data.train)

    # ----- state -------------------------------------------------------------------------------------
    def state(self) -> dict:
        return {"epoch": self.epoch, "wstep": self.wstep, "astep": self.astep, "net": self.net.state_dict(),
                "w_opt": self.w_opt.state_dict(), "a_opt": self.a_opt.state_dict(),
                "delta": self.delta.state_dict(), "targets": self.targets.tolist(),
                "tight": self.tight.tolist(), "rng": torch.get_rng_state(),
                "epoch_times": list(self.epoch_times)}

    def load_state(self, st: dict) -> None:
        try:
            self._load_state(st)
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise HDXError(f"checkpoint {self.run.file(RunDir.CHECKPOINT)} does not fit this run "
                           f"({type(e).__name__}: {str(e).splitlines()[0][:120]}); delete it to start over "
                           f"or choose another --out") from None

    def _load_state(self, st: dict) -> None:
        self.epoch, self.wstep, self.astep = int(st["epoch"]), int(st["wstep"]), int(st["astep"])
        self.net.load_state_dict(st["net"])
        self.w_opt.load_state_dict(st["w_opt"])
        self.a_opt.load_state_dict(st["a_opt"])
        self.delta.load_state_dict(st["delta"])
        self.targets = np.asarray(st["targets"], dtype=np.float64)
        self.tight = np.asarray(st["tight"], dtype=np.float64)
        torch.set_rng_state(st["rng"])
        self.epoch_times = list(st["epoch_times"])

    def warm_state(self) -> dict:
        """The part of the state a weight-only warm-up determines (shareable across methods/budgets)."""
        return {k: v for k, v in self.state().items() if k in ("epoch", "wstep", "net", "w_opt", "rng",
                                                              "epoch_times")}

    def load_warm_state(self, st: dict) -> None:
        """Start from a shared warm-up (see :meth:`warm_state`); arch state stays at its initial value."""
        self.epoch, self.wstep = int(st["epoch"]), int(st["wstep"])
        self.net.load_state_dict(st["net"])
        self.w_opt.load_state_dict(st["w_opt"])
        torch.set_rng_state(st["rng"])
        self.epoch_times = list(st["epoch_times"])

    def warm_up(self) -> None:
        """Run the weight-only warm-up epochs (no arch step happens before ``warmup_epochs``)."""
        while self.epoch < self.cfg.warmup_epochs:
            te = time.perf_counter()
            self.train_epoch(self.cfg.progress)
            self.epoch_times.append(time.perf_counter() - te)
            self.epoch += 1

    # ----- steps -------------------------------------------------------------------------------------
    def weight_step(self, xb: torch.Tensor, yb: torch.Tensor) -> float:
        cfg = self.cfg
        lr = 0.5 * cfg.w_lr * (1 + math.cos(math.pi * self.wstep / max(1, self.total_wsteps)))
        for gp in self.w_opt.param_groups:
            gp["lr"] = lr
        self.net.set_phase("weights")
        self.net.train()
        self.w_opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self.net(xb), yb)
        self._finite("weight-step loss", loss)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.net.weight_parameters(), 5.0)
        self.w_opt.step()
        self.wstep += 1
        return float(loss.detach())

    def _one_hot_argmax(self) -> torch.Tensor:
        idx = self.net.argmax_indices()
        return F.one_hot(idx, self.s.space.num_ops).to(torch.float32)

    def arch_step(self, xb: torch.Tensor, yb: torch.Tensor, phase: str = "search") -> dict:
        """One architecture step; returns the metrics record (also logged)."""
        s, cfg = self.s, self.cfg
        weights = self.net.weight_parameters()
        for p in weights:
            p.requires_grad_(False)
        try:
            self.net.set_phase("arch")
            self.net.train()
            ce = F.cross_entropy(self.net(xb), yb)
        finally:
            for p in weights:
                p.requires_grad_(True)
        probs = self.net.arch_probs()
        costs = {m: v[0] for m, v in s.evaluator(probs).costs.items()}
        cval = {m: float(v.detach()) for m, v in costs.items()}
        loss = ce
        if cfg.method in ("hdx", "dance") and cfg.hw_lambda > 0:
            loss = loss + s.objective.dance_term(costs, cfg.hw_lambda)
        for b in s.soft:
            loss = loss + tfnas_term(costs[b.metric], b, cfg.soft_lambda)
        hard = s.steered
        self._finite("architecture loss", loss)
        for m, v in cval.items():
            self._finite(f"predicted {m}", v)
        g = torch.autograd.grad(loss, self.alpha, retain_graph=bool(hard))[0]
        with torch.no_grad():
            pred_hard = {m: float(v[0]) for m, v in s.evaluator(self._one_hot_argmax()).costs.items()}
        d = self.a_opt.direction(g)
        rec: dict = {"phase": phase, "epoch": self.epoch, "step": self.astep, "ce": float(ce.detach()),
                     "pred": {m: cval[m] for m in METRICS}, "pred_argmax": pred_hard}
        if hard:
            self.map_targets(pred_hard)
            gts, violated = [], []
            for i, b in enumerate(hard):
                c = constraint_value(costs[b.metric], float(self.targets[i]))
                gts.append(torch.autograd.grad(c, self.alpha, retain_graph=i < len(hard) - 1)[0])
                violated.append(self._check_value(cval[b.metric], pred_hard[b.metric])
                                >= self.targets[i])
            man = manipulate(d, gts, self.delta.delta, violated)
            d = man.direction
            rec.update({"delta": self.delta.delta.tolist(), "violated": violated,
                        "fired": bool(man.any_fired), "verified": bool(man.verified)})
            self.delta.update(violated)
        else:
            rec.update({"fired": False})
        self._finite("architecture step", d)
        self.a_opt.apply(d)
        self._finite("architecture parameters α", self.alpha)
        checked = {b.key: self._check_value(cval[b.metric], pred_hard[b.metric]) for b in s.budgets}
        rec["budgets"] = {k: {"value": v, "slack": b.slack(v)}
                          for b, (k, v) in zip(s.budgets, checked.items(), strict=True)}
        if hard:
            rec["targets"] = self.targets.tolist()
        self.astep += 1
        self.run.log(rec)
        return rec

    def _finite(self, what: str, value) -> None:
        """Stop with one line (the run keeps its last good checkpoint) on a non-finite number."""
        ok = bool(torch.isfinite(value).all()) if isinstance(value, torch.Tensor) else math.isfinite(value)
        if not ok:
            raise Diverged(f"search diverged at epoch {self.epoch + 1}, step {self.wstep}: the {what} is not "
                           f"finite; nothing was written as a result, the last good checkpoint is kept in "
                           f"{self.run.path} (lower arch_lr / w_lr / hw_lambda, raise tau0 / "
                           f"oracle_temperature, and start a new run)")

    def _check_value(self, relaxed: float, argmax: float) -> float:
        """The predicted value a budget is checked against (config ``violation_check``)."""
        mode = self.cfg.violation_check
        return argmax if mode == "argmax" else relaxed if mode == "relaxed" else max(relaxed, argmax)

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
            self.net.set_tau(cfg.tau0 * cfg.tau_decay ** e)
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
            degrade_on_stall(timer, cfg.threads is not None, bar.write if progress else print)
            if progress:
                bar.set_postfix_str(timer.text() + (" " + self._postfix(rec, ce_sum / n) if rec else ""))
        bar.close()
        self.run.log({"phase": "epoch", "epoch": e, "train_ce": ce_sum / max(1, n),
                      "arch": self.s.space.arch_text(self.net.derive())})

    @staticmethod
    def _postfix(rec: dict, train_ce: float) -> str:
        parts = [f"ce {train_ce:.2f}", f"pred lat {rec['pred_argmax']['latency']:.3g}ms"]
        for k, v in rec["budgets"].items():
            parts.append(f"{k} slack {100 * v['slack']:+.1f}%")
        if rec.get("fired"):
            parts.append("manip")
        return " ".join(parts)

    # ----- finish ---------------------------------------------------------------------------------------
    def ground_truth(self) -> dict:
        s = self.s
        arch = self.net.derive()
        idx = s.space.encode(arch)
        metrics = table_metrics(s.table, idx)
        w = s.objective.weights
        exh, ok = best_accelerator(metrics, s.budgets, s.cfg.objective, w)
        with torch.no_grad():
            gen = int(s.evaluator(self._one_hot_argmax()).accel_index[0])
        return {"arch": arch, "metrics": metrics, "exhaustive": check_design(metrics, exh, s.budgets),
                "generator": check_design(metrics, gen, s.budgets), "feasible": ok}

    def map_targets(self, pred: dict[str, float] | None = None) -> None:
        """Internal targets of the steered budgets in the evaluator's frame, for the current argmax net:
        ``T_i · min(1, pred_i / gt_i) · tight_i`` where ``pred_i`` is the evaluator's prediction for the
        argmax network and ``gt_i`` its ground-truth minimum over the accelerators meeting the
        accelerator-only (area) hard budgets. This corrects both the evaluator's error and the
        difference between its accelerator choice and those the budgets allow; it never loosens T_i."""
        s = self.s
        if not s.steered:
            return
        idx = s.space.encode(self.net.derive())
        metrics = table_metrics(s.table, idx)
        ok = np.ones(s.table.num_accels, dtype=bool)
        for b in s.hard:
            if b.metric == "area":
                ok &= metrics["area"] <= b.limit
        if pred is None:
            with torch.no_grad():
                pred = {m: float(v[0]) for m, v in s.evaluator(self._one_hot_argmax()).costs.items()}
        for i, b in enumerate(s.steered):
            gt = float(metrics[b.metric][ok].min()) if ok.any() else float(metrics[b.metric].min())
            self.targets[i] = b.limit * min(1.0, pred[b.metric] / gt) * self.tight[i]

    def recheck(self) -> tuple[dict, list[dict]]:
        """Ground-truth check; under hdx, bounded extra arch steps with tightened targets on a miss."""
        s, cfg = self.s, self.cfg
        gt = self.ground_truth()
        rounds = []
        if cfg.method != "hdx" or not s.steered:
            return gt, rounds
        val_iter = self._val_batches(10_000 + self.epoch)
        for r in range(cfg.recheck_rounds):
            if gt["feasible"]:
                break
            vals = gt["exhaustive"].metrics
            for i, b in enumerate(s.steered):
                if vals[b.metric] > b.limit:
                    self.tight[i] *= cfg.tighten
            self.map_targets()
            for _ in range(cfg.recheck_steps):
                vx, vy = next(val_iter)
                self.arch_step(vx, vy, phase="recheck")
            gt = self.ground_truth()
            rounds.append({"round": r + 1, "targets": self.targets.tolist(),
                           "arch": s.space.arch_text(gt["arch"]), "feasible": gt["feasible"]})
        return gt, rounds

    @torch.no_grad()
    def accuracy(self, arch: tuple[str, ...]) -> dict:
        """Accuracy of the derived network with inherited supernet weights (BN recalibrated)."""
        net = self.net.extract(arch)
        for m in net.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.reset_running_stats()
                m.momentum = None  # cumulative average over the calibration batches
        net.train()
        for i, (xb, _) in enumerate(self.data.calib.epoch(0)):
            if i >= self.cfg.bn_batches:
                break
            net(xb)
        net.eval()

        def acc(loader) -> float:
            correct = total = 0
            for xb, yb in loader.epoch(0):
                correct += int((net(xb).argmax(1) == yb).sum())
                total += int(yb.numel())
            return correct / max(1, total)

        out = {"val_acc": acc(self.data.val_eval)}
        if self.data.test is not None:
            out["test_acc"] = acc(self.data.test)
        return out

    def final(self, gt: dict, rounds: list[dict], acc: dict) -> dict:
        s, cfg = self.s, self.cfg
        exh, gen = gt["exhaustive"], gt["generator"]
        with torch.no_grad():
            pred = {m: float(v[0]) for m, v in s.evaluator(self.net.arch_probs()).costs.items()}
        hard_all = [b for b in s.budgets if b.hard]
        return {
            "status": "feasible" if gt["feasible"] else "infeasible",
            "feasible": bool(gt["feasible"]),
            "method": cfg.method,
            "arch": s.space.arch_text(gt["arch"]),
            "accelerator": exh.as_dict(s.grid),
            "accelerator_generator": gen.as_dict(s.grid),
            "budgets": [b.text() for b in s.budgets],
            "hard_budgets_met": {b.text(): bool(exh.metrics[b.metric] <= b.limit) for b in hard_all},
            "accuracy_inherited": acc,
            "objective": cfg.objective,
            "objective_value": float(s.objective.raw({m: torch.tensor(exh.metrics[m]) for m in METRICS})),
            "predicted_end": pred,
            "alpha_probs": self.net.arch_probs().detach().numpy().round(6).tolist(),
            "recheck_rounds": rounds,
            "min_achievable": s.achievable.minima,
            "evaluator": s.evaluator_kind,
            "space": s.space.name, "accel_space": s.grid.name, "cost_model": s.table.model_fingerprint[:16],
            "data": self.data.sizes, "arch_steps": self.astep, "weight_steps": self.wstep,
            "versions": versions(), "units": dict(UNITS),
        }

    # ----- driver ----------------------------------------------------------------------------------------
    def run_all(self, *, resume: bool = False) -> dict:
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
        acc = self.accuracy(gt["arch"])
        final = self.final(gt, rounds, acc)
        self.run.write_final(final)
        atomic_write_json(self.run.file("timing.json"), {
            "seconds_per_epoch": self.epoch_times, "mean_seconds_per_epoch": float(np.mean(self.epoch_times)),
            "search_seconds": float(sum(self.epoch_times)), "finish_seconds": time.perf_counter() - tf,
            "this_process_seconds": time.perf_counter() - t0})
        return final


def run_search(cfg: SearchConfig, out: str | Path, *, resume: bool = False,
               setup: SearchSetup | None = None) -> dict:
    """Prepare (unless given), load data, search, finish; returns final.json's content."""
    from hdx.report.rundir import check_out_dir

    check_out_dir(out, resume=resume)  # output-folder problems before any work
    setup = setup or prepare(cfg)
    data = load_data(cfg)
    run = RunDir(out, resume=resume)
    if not resume or run.restartable:
        run.write_config(cfg)
    return Searcher(setup, data, run).run_all(resume=resume)
