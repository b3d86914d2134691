"""Train one fixed architecture from scratch on CIFAR-10, with exact resume.

SGD with Nesterov momentum, per-step cosine or linear-to-zero learning rate (optional linear
warm-up), weight decay on conv/FC weights only, optional label smoothing; batched in-memory
augmentation (crop, flip, cutout); optional flip test-time augmentation. On CUDA the data set is held
on the GPU and augmented there (device generator), NHWC and bf16 autocast (``amp``), and the loss is
read back once per epoch.
A checkpoint (model, optimiser, scheduler, RNG states, epoch) is written atomically after every
epoch; because epoch ``e`` draws its data order and augmentation from a generator seeded by
``(seed, e)``, a resumed run ends with the same weights as an uninterrupted one.

Run directory (:class:`~hdx.report.rundir.RunDir`): ``config.yaml`` (resolved config),
``metrics.jsonl`` (per epoch: loss, train accuracy, lr, seconds), ``checkpoint.pt``,
``model.safetensors`` (final weights) and ``final.json``.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hdx.data import Augment, BatchLoader, load_cifar10, subset
from hdx.data.cifar import IMAGE_SHAPE, NUM_CLASSES
from hdx.errors import ConfigError, HDXError
from hdx.model import Network, count_macs, count_params
from hdx.report.rundir import RunDir, resume_rule, versions
from hdx.runtime import StepTimer, apply_threads, degrade_on_stall, resolve_device
from hdx.safeio import atomic_write_bytes
from hdx.space.network import NetworkSpace
from hdx.train.config import TrainConfig
from hdx.train.records import TrainFinal

EpochCallback = Callable[[int, dict[str, Any]], None]
CHECKPOINT_KEYS = {"model", "optimizer", "scheduler", "rng", "epoch", "config"}


def param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Weight decay on conv/FC weights (ndim > 1); none on BN parameters and biases."""
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def cosine_lambda(total_steps: int, warmup_steps: int, shape: str = "cosine") -> Callable[[int], float]:
    """LR factor at step ``t``: linear warm-up to 1, then cosine (or, ``shape="linear"``, a straight
    line) to 0 at ``total_steps``."""
    def f(t: int) -> float:
        if t < warmup_steps:
            return (t + 1) / warmup_steps
        span = max(1, total_steps - warmup_steps)
        frac = min(1.0, (t - warmup_steps) / span)
        return 1.0 - frac if shape == "linear" else 0.5 * (1.0 + math.cos(math.pi * frac))
    return f


def autocast(device: torch.device, enabled: bool = True):
    """bf16 autocast on CUDA (when ``enabled``); a no-op context elsewhere."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _rng_state() -> dict[str, Any]:
    st: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        st["cuda"] = torch.cuda.get_rng_state_all()
    return st


def _set_rng_state(st: dict[str, Any]) -> None:
    torch.set_rng_state(st["torch"])
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(st["cuda"])


@torch.no_grad()
def evaluate(model: nn.Module, loader: BatchLoader,
             memory_format: torch.memory_format = torch.contiguous_format, *, tta_flip: bool = False
             ) -> tuple[float, float]:
    """(mean cross-entropy, accuracy in [0, 1]) of ``model`` on every batch of ``loader``
    (``tta_flip``: on the mean logits of each image and its mirror image)."""
    model.eval()
    loss_sum, correct, n = 0.0, 0, 0
    for x, y in loader.epoch(0):
        x = x.contiguous(memory_format=memory_format)
        out = model(x).float()
        if tta_flip:
            out = 0.5 * (out + model(x.flip(3)).float())
        loss_sum += float(nn.functional.cross_entropy(out, y, reduction="sum"))
        correct += int((out.argmax(1) == y).sum())
        n += y.numel()
    return loss_sum / n, correct / n


def _check_space(space: NetworkSpace) -> None:
    cfg = space.config
    if (cfg.resolution, cfg.in_channels, cfg.num_classes) != (IMAGE_SHAPE[1], IMAGE_SHAPE[0], NUM_CLASSES):
        raise ConfigError(f"space '{space.name}' is for {cfg.resolution}x{cfg.resolution}x{cfg.in_channels} "
                          f"inputs and {cfg.num_classes} classes; hdx train trains on CIFAR-10 (32x32x3, "
                          f"10 classes): use a CIFAR-10 space such as dance_cifar10")


def train(cfg: TrainConfig, out: str | Path | RunDir, *, resume: bool = False, progress: bool = True,
          on_epoch_end: EpochCallback | None = None, log: Callable[[str], None] | None = None
          ) -> TrainFinal:
    """Train ``cfg.arch`` and return the final record (also written to ``out/final.json``).

    ``out``: the run directory (a path, or a :class:`RunDir` its caller checked already). With
    ``resume=True`` the run in ``out`` continues from its last checkpoint; ``cfg`` must equal the run's
    saved config except for the fields of ``TrainConfig.RESUME_FREE`` (:func:`resume_rule`).
    """
    say = log or (lambda s: print(s, flush=True))
    if cfg.arch is None:
        raise ConfigError("no architecture given: pass --arch OP,OP,... (one op per searchable layer)")
    space = NetworkSpace.load(cfg.space)
    _check_space(space)
    arch = space.parse_arch(cfg.arch)
    run = RunDir.of(out, resume=resume)  # run-directory rule + writable, once; creates nothing
    resume = run.resume
    data = load_cifar10(cfg.data, download=True, progress=progress, log=say)  # before the folder is made
    run.open()
    state = run.load_checkpoint(keys=CHECKPOINT_KEYS) if resume else None
    if state is not None:
        from hdx.config import validate

        saved = validate(TrainConfig, state["config"], f"config saved in {run.path}")
        resume_rule(saved, cfg.model_dump(), free=TrainConfig.RESUME_FREE, where=run.path)
    cfg = cfg.model_copy(update={"arch": space.arch_text(arch), "data": str(data.path)})

    apply_threads(cfg.threads)
    device = resolve_device(cfg.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(cfg.seed)
    fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
    model = Network(space, arch, cfg.width_mult).to(device, memory_format=fmt)
    tx, ty = subset(data.train_x, data.train_y, cfg.subset, seed=cfg.seed)
    train_loader = BatchLoader(tx, ty, batch_size=cfg.batch_size, device=device, shuffle=True,
                               augment=Augment(crop_padding=4, flip=True, cutout=cfg.cutout), seed=cfg.seed,
                               device_rng=device.type == "cuda")
    test_loader = BatchLoader(data.test_x, data.test_y, batch_size=cfg.eval_batch_size, device=device,
                              shuffle=False)
    steps = len(train_loader)
    opt = torch.optim.SGD(param_groups(model, cfg.weight_decay), lr=cfg.lr, momentum=cfg.momentum,
                          nesterov=cfg.nesterov)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, cosine_lambda(cfg.epochs * steps, round(cfg.warmup_epochs * steps), cfg.schedule))
    criterion = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)

    start = 0
    if state is not None:
        try:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            sched.load_state_dict(state["scheduler"])
            _set_rng_state(state["rng"])
            start = int(state["epoch"]) + 1
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise HDXError(f"checkpoint {run.file(RunDir.CHECKPOINT)} does not fit this run "
                           f"({type(e).__name__}); delete it to start over or choose another --out") from None
        run.truncate_metrics(lambda r: r.get("epoch", -1) < start)
        say(f"resuming {run.path} at epoch {start + 1}/{cfg.epochs}")
    else:
        run.write_config(cfg)
    params = count_params(model)
    say(f"training {space.arch_text(arch)} (width x{cfg.width_mult}, {params:,} params) on "
        f"{train_loader.num_samples:,} images for {cfg.epochs} epochs on {device}")

    for epoch in range(start, cfg.epochs):
        rec = _train_epoch(model, train_loader, opt, sched, criterion, epoch, cfg.epochs, progress, fmt,
                           threads_fixed=cfg.threads is not None or device.type != "cpu", amp=cfg.amp)
        run.log(rec)
        run.save_checkpoint({"model": model.state_dict(), "optimizer": opt.state_dict(),
                             "scheduler": sched.state_dict(), "rng": _rng_state(), "epoch": epoch,
                             "config": cfg.model_dump(mode="json")})
        say(f"epoch {epoch + 1}/{cfg.epochs}: loss {rec['loss']:.4f}  train acc {rec['train_acc']:.2%}  "
            f"lr {rec['lr']:.4g}  {rec['seconds']:.1f} s")
        if on_epoch_end is not None:
            on_epoch_end(epoch, rec)

    t0 = time.perf_counter()
    test_loss, test_acc = evaluate(model, test_loader, memory_format=fmt, tta_flip=cfg.tta_flip)
    from safetensors.torch import save

    atomic_write_bytes(run.file("model.safetensors"),
                       save({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}))
    history = run.read_metrics()
    final = TrainFinal(
        arch=space.arch_text(arch), space=space.name, width_mult=cfg.width_mult, test_accuracy=test_acc,
        test_loss=test_loss, test_images=test_loader.num_samples, tta_flip=cfg.tta_flip, epochs=cfg.epochs,
        train_images=train_loader.num_samples,
        final_train_accuracy=history[-1]["train_acc"] if history else None,
        train_seconds=sum(r["seconds"] for r in history), eval_seconds=time.perf_counter() - t0,
        params=params, macs=count_macs(model, IMAGE_SHAPE), macs_space_width1=space.macs(arch),
        device=str(device), seed=cfg.seed, versions=versions())
    run.write_final(final.to_json())
    say(f"test accuracy {test_acc:.2%} (loss {test_loss:.4f}); run directory {run.path}")
    return final


def _train_epoch(model: nn.Module, loader: BatchLoader, opt: torch.optim.Optimizer,
                 sched: torch.optim.lr_scheduler.LRScheduler, criterion: nn.Module, epoch: int,
                 epochs: int, progress: bool, fmt: torch.memory_format, *,
                 threads_fixed: bool = True, amp: bool = True) -> dict[str, Any]:
    model.train()
    t0 = time.perf_counter()
    loss_sum = torch.zeros((), device=loader.device)
    correct = torch.zeros((), dtype=torch.int64, device=loader.device)
    n = 0
    bar = _bar(len(loader), f"epoch {epoch + 1}/{epochs}", progress)
    timer = StepTimer()
    for x, y in loader.epoch(epoch):
        with autocast(loader.device, amp):
            out = model(x.contiguous(memory_format=fmt))
        loss = criterion(out.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        loss_sum += loss.detach() * y.numel()
        correct += (out.detach().argmax(1) == y).sum()
        n += y.numel()
        timer.tick()
        degrade_on_stall(timer, threads_fixed, bar.write if bar is not None else print)
        if bar is not None:
            bar.set_postfix_str(timer.text(), refresh=False)
            bar.update(1)
    if bar is not None:
        bar.close()
    loss_avg = float(loss_sum) / n
    if not math.isfinite(loss_avg):
        raise HDXError(f"training diverged at epoch {epoch + 1} (loss {loss_avg}); lower --lr")
    return {"epoch": epoch, "loss": loss_avg, "train_acc": int(correct) / n,
            "lr": opt.param_groups[0]["lr"], "seconds": time.perf_counter() - t0}


def _bar(total: int, desc: str, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, leave=False, file=sys.stderr, dynamic_ncols=True)
