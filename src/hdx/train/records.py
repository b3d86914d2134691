"""The typed result of ``hdx train`` (:class:`TrainFinal`, the run's ``final.json``)."""

from __future__ import annotations

from typing import Any

from hdx.search.records import Record


class TrainFinal(Record):
    """One trained network: test accuracy in [0, 1] (and mean cross-entropy) on ``test_images`` CIFAR-10
    test images, params, MACs per 32×32 image (``macs_space_width1``: the space's layers at width 1),
    wall times in seconds, and the versions that produced it."""

    arch: str
    space: str
    width_mult: float
    test_accuracy: float
    test_loss: float
    test_images: int
    tta_flip: bool
    epochs: int
    train_images: int
    final_train_accuracy: float | None
    train_seconds: float
    eval_seconds: float
    params: int
    macs: int
    macs_space_width1: int
    device: str
    seed: int
    versions: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        """The ``final.json`` content (every field, ``None`` included)."""
        return self.model_dump(mode="json")
