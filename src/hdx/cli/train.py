"""``hdx train``: train one fixed architecture from scratch on CIFAR-10."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from hdx.cli.main import app


@app.command("train")
def train_cmd(
    arch: str = typer.Option(None, "--arch", help="Architecture: one op per searchable layer, "
                             "comma-separated (e.g. mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3)."),
    space: str = typer.Option(None, "--space", help="Network space: shipped name or YAML path "
                              "(default: dance_cifar10)."),
    data: str = typer.Option(None, "--data", help="CIFAR-10 folder (cifar-10-batches-py) "
                             "(default: $HDX_DATA)."),
    config: str = typer.Option("default", "--config", help="Training config: shipped name or YAML path."),
    epochs: int = typer.Option(None, "--epochs", help="Epochs (default: 100)."),
    subset: int = typer.Option(None, "--subset", help="Train on a seeded random subset of N images."),
    width_mult: float = typer.Option(None, "--width-mult", help="Channel width multiplier (default: 1.0)."),
    batch_size: int = typer.Option(None, "--batch-size", help="Batch size (default: 128)."),
    lr: float = typer.Option(None, "--lr", help="Peak learning rate (cosine schedule) (default: 0.1)."),
    weight_decay: float = typer.Option(None, "--weight-decay", help="Weight decay (default: 5e-4)."),
    warmup_epochs: float = typer.Option(None, "--warmup-epochs", help="Linear warm-up epochs (default: 0)."),
    label_smoothing: float = typer.Option(None, "--label-smoothing", help="Label smoothing (default: 0)."),
    cutout: int = typer.Option(None, "--cutout", help="Cutout square side in pixels, 0: off (default: 0)."),
    seed: int = typer.Option(None, "--seed", help="Random seed (default: 0)."),
    device: str = typer.Option(None, "--device", help="auto, cpu, cuda, cuda:N (default: auto)."),
    threads: int = typer.Option(None, "--threads", help="CPU threads for torch (default: torch's)."),
    out: Path = typer.Option(None, "--out", help="Run directory (default: runs/train-<UTC time>)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its checkpoint."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Train an architecture from scratch on CIFAR-10; report test accuracy, params and MACs."""
    from hdx.errors import HDXError, Interrupted
    from hdx.train.config import apply_overrides, load_train_config
    from hdx.train.trainer import saved_config, train

    overrides = {"arch": arch, "space": space, "data": data, "epochs": epochs, "subset": subset,
                 "width_mult": width_mult, "batch_size": batch_size, "lr": lr, "weight_decay": weight_decay,
                 "warmup_epochs": warmup_epochs, "label_smoothing": label_smoothing, "cutout": cutout,
                 "seed": seed, "device": device, "threads": threads}
    if resume:
        if out is None:
            raise HDXError("--resume needs --out DIR (the run directory to continue)")
        cfg = apply_overrides(saved_config(out), overrides)
    else:
        cfg = load_train_config(config, overrides)
        if out is None:
            out = Path("runs") / f"train-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"
    try:
        final = train(cfg, out, resume=resume, progress=not quiet)
    except KeyboardInterrupt:
        raise Interrupted(f"resume with `hdx train --out {out} --resume`") from None
    typer.echo(f"arch {final['arch']}  test accuracy {final['test_accuracy']:.2%}  "
               f"params {final['params']:,}  "
               f"MACs {final['macs'] / 1e6:.1f} M  epochs {final['epochs']}  "
               f"train {final['train_seconds']:.0f} s")
