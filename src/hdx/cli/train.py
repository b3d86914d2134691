"""``hdx train``: train one fixed architecture from scratch on CIFAR-10."""

from __future__ import annotations

from pathlib import Path

import typer

from hdx.cli.main import app


@app.command("train")
def train_cmd(
    overrides: list[str] = typer.Argument(None, metavar="[KEY=VALUE]...", show_default=False,
                                          help="Set any training config field, e.g. epochs=30 lr=0.05 "
                                          "momentum=0.85 (see hdx.train.config.TrainConfig)."),
    arch: str = typer.Option(None, "--arch", help="Architecture: one op per searchable layer, "
                             "comma-separated (e.g. mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3)."),
    space: str = typer.Option(None, "--space", help="Network space: shipped name or YAML path."),
    data: str = typer.Option(None, "--data", help="CIFAR-10 folder (cifar-10-batches-py)."),
    config: str = typer.Option(None, "--config", help="Training config: shipped name or YAML path."),
    epochs: int = typer.Option(None, "--epochs", help="Epochs."),
    subset: int = typer.Option(None, "--subset", help="Train on a seeded random subset of N images."),
    width_mult: float = typer.Option(None, "--width-mult", help="Channel width multiplier."),
    batch_size: int = typer.Option(None, "--batch-size", help="Batch size."),
    lr: float = typer.Option(None, "--lr", help="Peak learning rate (cosine schedule)."),
    weight_decay: float = typer.Option(None, "--weight-decay", help="Weight decay."),
    warmup_epochs: float = typer.Option(None, "--warmup-epochs", help="Linear warm-up epochs."),
    label_smoothing: float = typer.Option(None, "--label-smoothing", help="Label smoothing."),
    cutout: int = typer.Option(None, "--cutout", help="Cutout square side in pixels, 0: off"),
    seed: int = typer.Option(None, "--seed", help="Random seed."),
    device: str = typer.Option(None, "--device", help="auto, cpu, cuda, cuda:N"),
    threads: int = typer.Option(None, "--threads", help="CPU threads for torch."),
    out: Path = typer.Option(None, "--out", help="Run directory."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its checkpoint."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Train an architecture from scratch on CIFAR-10; report test accuracy, params and MACs."""
    from hdx.api import train
    from hdx.config import parse_overrides
    from hdx.errors import HDXError, Interrupted
    from hdx.train.config import TrainConfig

    flags = {"arch": arch, "space": space, "data": data, "epochs": epochs, "subset": subset,
             "width_mult": width_mult, "batch_size": batch_size, "lr": lr, "weight_decay": weight_decay,
             "warmup_epochs": warmup_epochs, "label_smoothing": label_smoothing, "cutout": cutout,
             "seed": seed, "device": device, "threads": threads}
    given = parse_overrides(overrides, TrainConfig, flags)
    if resume and config:
        raise HDXError("--resume continues the run with its saved config; drop --config")
    try:
        final = train(config=config, out=out, resume=resume, progress=not quiet, overrides=given)
    except KeyboardInterrupt:
        raise Interrupted(f"resume with `hdx train --out {out} --resume`") from None
    typer.echo(f"arch {final.arch}  test accuracy {final.test_accuracy:.2%}  params {final.params:,}  "
               f"MACs {final.macs / 1e6:.1f} M  epochs {final.epochs}  train {final.train_seconds:.0f} s")
