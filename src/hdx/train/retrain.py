"""Search → retrain: train the derived network of a search from scratch (``hdx search --retrain-epochs``).

:func:`retrain` trains one architecture with ``hdx train``'s trainer (:func:`hdx.train.trainer.train`)
into a run directory and returns a typed :class:`RetrainResult` (test accuracy on the full 10 000-image
CIFAR-10 test set, params, MACs). It is resumable: when the folder already holds a run (a
checkpoint, or a final result) it continues from there, so a killed ``hdx search … --resume`` finishes
the retrain where it stopped.

The recipe is a train config (``hdx/configs/train/``): ``auto`` picks ``retrain_cpu`` (a short-budget
recipe for a 2-core CPU) or ``retrain_gpu`` (full width, long cosine run with cutout and bf16) by
device; each file cites where its choices come from.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import Field

from hdx.errors import ConfigError
from hdx.report.rundir import holds_run, read_metrics
from hdx.runtime import resolve_device
from hdx.search.records import RetrainRecord
from hdx.train.config import TrainConfig, load_train_config
from hdx.train.trainer import train

RETRAIN_DIR = "retrain"


class RetrainResult(RetrainRecord):
    """Outcome of :func:`retrain`: the :class:`~hdx.search.records.RetrainRecord` (accuracy in [0, 1];
    MACs per 32×32 image) plus the wall time per epoch (seconds), which stays out of ``final.json``."""

    seconds_per_epoch: list[float] = Field(default_factory=list)

    @property
    def train_seconds(self) -> float:
        return float(sum(self.seconds_per_epoch))

    def record(self) -> RetrainRecord:
        """The part that goes into a search's ``final.json`` (no wall-clock figures: those go to
        ``timing.json``, so that the result of a resumed run equals an uninterrupted one)."""
        return RetrainRecord(**self.model_dump(exclude={"seconds_per_epoch"}))


def retrain_train_config(arch: str, *, epochs: int, device: str = "auto", config: str = "auto",
                         space: str = "dance_cifar10", data: str | None = None, seed: int = 0,
                         threads: int | None = None, overrides: dict | None = None) -> TrainConfig:
    """The validated train config of a retrain (``config`` ``auto``: ``retrain_gpu`` on CUDA, else
    ``retrain_cpu``); ``overrides`` (TrainConfig fields) win over everything else."""
    name = _auto_name(device) if config == "auto" else config
    given = {"arch": arch, "epochs": epochs, "device": device, "space": space, "data": data, "seed": seed,
             "threads": threads, **(overrides or {})}
    return load_train_config(name, given)


def retrain(arch: str, out_dir: str | Path, *, epochs: int, device: str = "auto", config: str = "auto",
            space: str = "dance_cifar10", data: str | None = None, seed: int = 0, threads: int | None = None,
            overrides: dict | None = None, progress: bool = True,
            log: Callable[[str], None] | None = None) -> RetrainResult:
    """Train ``arch`` from scratch for ``epochs`` epochs into ``out_dir`` and return the result.

    Continues the run already in ``out_dir`` (resumable); the full CIFAR-10 test set is evaluated.
    """
    if epochs < 1:
        raise ConfigError(f"retrain epochs must be >= 1 (got {epochs})")
    cfg = retrain_train_config(arch, epochs=epochs, device=device, config=config, space=space, data=data,
                               seed=seed, threads=threads, overrides=overrides)
    out = Path(out_dir)
    final = train(cfg, out, resume=holds_run(out), progress=progress, log=log)
    hist = read_metrics(out)
    return RetrainResult(
        arch=final.arch, width_mult=final.width_mult, epochs=final.epochs, test_accuracy=final.test_accuracy,
        test_images=final.test_images, params=final.params, macs=final.macs, train_images=final.train_images,
        device=final.device, config=config if config != "auto" else _auto_name(device),
        run_dir=str(out), seconds_per_epoch=[float(r["seconds"]) for r in hist if "seconds" in r])


def _auto_name(device: str) -> str:
    return "retrain_gpu" if resolve_device(device).type == "cuda" else "retrain_cpu"


def retrain_after_search(cfg, run_path: str | Path, arch: str, *, log: Callable[[str], None] | None = None
                         ) -> RetrainResult:
    """The retrain step of ``hdx search`` (``cfg``: a :class:`~hdx.search.config.SearchConfig` with
    ``retrain_epochs`` > 0): the derived ``arch`` into ``run_path/retrain`` on the search's device."""
    res = retrain(arch, Path(run_path) / RETRAIN_DIR, epochs=cfg.retrain_epochs, device=cfg.device,
                  config=cfg.retrain_config, space=cfg.space, data=cfg.data, seed=cfg.seed,
                  threads=cfg.threads, progress=cfg.progress, log=log)
    return res.model_copy(update={"run_dir": RETRAIN_DIR})  # relative to the search's run directory


def check_retrain(cfg) -> None:
    """Before a search with ``retrain_epochs`` > 0: the retrain config resolves and fits (one-line
    errors), so a bad retrain option never costs a search."""
    if not cfg.retrain_epochs:
        return
    if cfg.fake_data:
        raise ConfigError("retrain_epochs needs real CIFAR-10 (fake_data is for tests): set data / $HDX_DATA "
                          "and fake_data false, or retrain_epochs 0")
    retrain_train_config("x", epochs=cfg.retrain_epochs, device=cfg.device, config=cfg.retrain_config,
                         space=cfg.space, data=cfg.data, seed=cfg.seed, threads=cfg.threads)
