"""Training of the DANCE evaluator networks on an :class:`~hdx.evaluator.data.EvalDataset`.

* Hardware generator: per-knob classification (sum of cross-entropies) towards the knob values of
  the exhaustive-search optimum for the objective.
* Cost estimator: regression of standardised log metrics (MSE in log space ≈ squared relative error).

Both: AdamW, one-cycle or cosine learning-rate schedule over the planned steps, early stopping on a
validation split of *architectures* (held-out networks, shared by the two networks), the best
validation state kept. Deterministic for a seed (CPU). Progress via tqdm.
"""

from __future__ import annotations

import math
import time
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field
from tqdm.auto import tqdm

from hdx.config import StrictModel
from hdx.errors import HDXError
from hdx.evaluator.data import EvalDataset
from hdx.evaluator.networks import CostEstimator, HardwareGenerator, NetConfig
from hdx.space.accelerator import KNOBS, AcceleratorSpace


class TrainConfig(StrictModel):
    """Optimisation of one network."""

    epochs: int = Field(40, gt=0)
    steps_per_epoch: int | None = Field(None, gt=0, description="None: one pass over the training set")
    batch_size: int = Field(512, gt=0)
    lr: float = Field(2e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    schedule: Literal["onecycle", "cosine"] = "onecycle"
    patience: int = Field(6, gt=0, description="epochs without validation improvement before stopping")
    max_minutes: float | None = Field(None, gt=0, description="wall-clock cap (stops early if reached)")
    label_smoothing: float = Field(0.0, ge=0, lt=1)


class EvaluatorConfig(StrictModel):
    """Architecture and training of both networks, and how the generator's choice is relaxed."""

    generator: NetConfig = NetConfig(width=128)
    estimator: NetConfig = NetConfig(width=128)
    gen_train: TrainConfig = TrainConfig(epochs=15, steps_per_epoch=100)
    # 80 epochs without early stopping: the one-cycle schedule's best epochs come at its end (v2.4's cost
    # surface: validation error 0.38 % -> 0.21 % latency against 40 epochs with patience 6)
    est_train: TrainConfig = TrainConfig(epochs=80, steps_per_epoch=200, lr=3e-3, patience=80)
    val_fraction: float = Field(0.1, gt=0, lt=1, description="share of architectures held out")
    tau: float = Field(1.0, gt=0, description="temperature of the relaxed accelerator choice")
    hard: bool = Field(True, description="straight-through: the estimator sees the argmax one-hot")
    noise: bool = Field(False, description="Gumbel noise in the relaxed choice during search")
    seed: int = Field(0, ge=0, le=2**32 - 1)


def split_archs(n_archs: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint (train, val) architecture rows; deterministic for a seed."""
    perm = np.random.default_rng([seed, 7]).permutation(n_archs)
    n_val = max(1, int(round(n_archs * val_fraction)))
    if n_val >= n_archs:
        raise HDXError(f"too few architectures ({n_archs}) for a validation split of {val_fraction}")
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def knob_targets(grid: AcceleratorSpace, index: np.ndarray) -> dict[str, torch.Tensor]:
    """Per searched knob the value index (int64 [N]) of grid indices [N]."""
    ki = grid.knob_indices(np.asarray(index, dtype=np.int64))
    return {k: torch.as_tensor(ki[:, KNOBS.index(k)]) for k in grid.searched_knobs}


def one_hots(targets: dict[str, torch.Tensor], sizes: dict[str, int]) -> dict[str, torch.Tensor]:
    return {k: F.one_hot(targets[k], sizes[k]).float() for k in sizes}


def _scheduler(opt: torch.optim.Optimizer, cfg: TrainConfig, total_steps: int):
    if cfg.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=max(total_steps, 2),
                                                   pct_start=0.15)
    warm = max(1, total_steps // 50)
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / total_steps))))


def _fit(name: str, model: torch.nn.Module, cfg: TrainConfig, n_train: int, batch_loss, val_loss,
         seed: int, progress: bool) -> dict:
    """Generic loop: ``batch_loss(idx) -> loss`` on training rows, ``val_loss() -> float``."""
    g = torch.Generator().manual_seed(seed)
    steps = cfg.steps_per_epoch or max(1, n_train // cfg.batch_size)
    total = steps * cfg.epochs
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = _scheduler(opt, cfg, total)
    best, best_state, bad, history = math.inf, None, 0, []
    t0 = time.perf_counter()
    bar = tqdm(range(cfg.epochs), desc=f"train {name}", disable=not progress, leave=False)
    stop_reason = "epochs"
    perm, pos = torch.randperm(n_train, generator=g), 0
    for epoch in bar:
        model.train()
        run = 0.0
        for _ in range(steps):
            if pos + cfg.batch_size > n_train:
                perm, pos = torch.randperm(n_train, generator=g), 0
            idx = perm[pos:pos + cfg.batch_size]
            pos += cfg.batch_size
            loss = batch_loss(idx)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            run += float(loss.detach())
        model.eval()
        with torch.no_grad():
            v = float(val_loss())
        history.append({"epoch": epoch + 1, "train_loss": run / steps, "val_loss": v})
        bar.set_postfix(train=f"{run / steps:.4g}", val=f"{v:.4g}")
        if v < best - 1e-12:
            best, bad = v, 0
            best_state = {k: t.detach().clone() for k, t in model.state_dict().items()}
        else:
            bad += 1
            if bad >= cfg.patience:
                stop_reason = "early stop"
                break
        if cfg.max_minutes and time.perf_counter() - t0 > 60 * cfg.max_minutes:
            stop_reason = "time cap"
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return {"best_val_loss": best, "epochs_run": len(history), "stop": stop_reason,
            "seconds": round(time.perf_counter() - t0, 2), "history": history}


def train_generator(ds: EvalDataset, grid: AcceleratorSpace, objective: str, cfg: EvaluatorConfig,
                    train_rows: np.ndarray, val_rows: np.ndarray, *, progress: bool = True
                    ) -> tuple[HardwareGenerator, dict]:
    """Fit the generator to the optimal accelerator of ``objective`` for every architecture."""
    torch.manual_seed(cfg.seed)
    sizes = {k: len(grid.knob_values[k]) for k in grid.searched_knobs}
    x = torch.as_tensor(ds.arch_probs.reshape(ds.num_archs, -1))
    y = knob_targets(grid, ds.labels(objective))
    gen = HardwareGenerator(x.shape[1], sizes, cfg.generator)
    tr, va = torch.as_tensor(train_rows), torch.as_tensor(val_rows)
    ls = cfg.gen_train.label_smoothing

    def batch_loss(idx):
        rows = tr[idx]
        logits = gen(x[rows])
        return sum(F.cross_entropy(logits[k], y[k][rows], label_smoothing=ls) for k in sizes)

    def val_loss():
        logits = gen(x[va])
        return sum(F.cross_entropy(logits[k], y[k][va]) for k in sizes)

    info = _fit("generator", gen, cfg.gen_train, len(tr), batch_loss, val_loss, cfg.seed, progress)
    with torch.no_grad():
        logits = gen(x[va])
        info["val_accuracy"] = {k: float((logits[k].argmax(-1) == y[k][va]).float().mean()) for k in sizes}
    return gen, info


def train_estimator(ds: EvalDataset, grid: AcceleratorSpace, cfg: EvaluatorConfig,
                    train_rows: np.ndarray, val_rows: np.ndarray, *, progress: bool = True,
                    max_val_pairs: int = 50_000) -> tuple[CostEstimator, dict]:
    """Fit the estimator to log (latency, energy, area) of every (architecture, accelerator) pair."""
    torch.manual_seed(cfg.seed + 1)
    sizes = {k: len(grid.knob_values[k]) for k in grid.searched_knobs}
    x = torch.as_tensor(ds.arch_probs.reshape(ds.num_archs, -1))
    is_val = np.zeros(ds.num_archs, dtype=bool)
    is_val[val_rows] = True
    pair_val = is_val[ds.pair_arch]
    p_tr = np.flatnonzero(~pair_val)
    p_va = np.flatnonzero(pair_val)
    if len(p_va) > max_val_pairs:
        p_va = p_va[np.random.default_rng([cfg.seed, 11]).choice(len(p_va), max_val_pairs, replace=False)]
    logy = torch.as_tensor(np.log(ds.pair_costs.astype(np.float64)), dtype=torch.float32)
    est = CostEstimator(x.shape[1], sizes, cfg.estimator, n_out=logy.shape[1])
    est.log_mean.copy_(logy[p_tr].mean(0))
    est.log_std.copy_(logy[p_tr].std(0).clamp_min(1e-6))
    target = (logy - est.log_mean) / est.log_std
    arch_of = torch.as_tensor(ds.pair_arch.astype(np.int64))
    kt = knob_targets(grid, ds.pair_accel)
    p_tr_t, p_va_t = torch.as_tensor(p_tr), torch.as_tensor(p_va)

    def pred(rows):
        return est(x[arch_of[rows]], one_hots({k: kt[k][rows] for k in sizes}, sizes))

    def batch_loss(idx):
        rows = p_tr_t[idx]
        return F.mse_loss(pred(rows), target[rows])

    def val_loss():
        return F.mse_loss(pred(p_va_t), target[p_va_t])

    info = _fit("estimator", est, cfg.est_train, len(p_tr), batch_loss, val_loss, cfg.seed + 1, progress)
    with torch.no_grad():
        rel = (torch.exp(pred(p_va_t) * est.log_std + est.log_mean) / torch.exp(logy[p_va_t]) - 1).abs()
        info["val_median_rel_err"] = {m: float(rel[:, i].median()) for i, m in enumerate(ds.meta["metrics"])}
    return est, info
