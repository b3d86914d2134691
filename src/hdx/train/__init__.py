"""Training from scratch of a fixed architecture (:mod:`.trainer`) with a typed config (:mod:`.config`).

Running it is :func:`hdx.api.train` (``hdx train``). The trainer's names are loaded on first use, so
that importing :mod:`hdx.train.config` never imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hdx.train.config import TrainConfig, load_train_config

if TYPE_CHECKING:
    from hdx.train.trainer import evaluate, train

__all__ = ["TrainConfig", "evaluate", "load_train_config", "train"]


def __getattr__(name: str) -> object:
    # PEP 562: the trainer (torch) is imported when one of its names is used
    if name in ("evaluate", "train"):
        from hdx.train import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module 'hdx.train' has no attribute '{name}'")
