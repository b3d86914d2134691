"""Typed configuration of ``hdx train`` (defaults in ``hdx/configs/train/default.yaml``)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator

from hdx.config import StrictModel, load_config
from hdx.runtime import check_device


class TrainConfig(StrictModel):
    """Training of one fixed architecture from scratch on CIFAR-10."""

    #: fields a resumed run may change (they cannot change its result; :func:`hdx.report.rundir.resume_rule`)
    RESUME_FREE: ClassVar[tuple[str, ...]] = ("data", "device", "threads", "channels_last")

    arch: str | None = Field(None, max_length=4096,
                             description="one op per searchable layer, comma-separated")
    space: str = Field("dance_cifar10", max_length=4096)
    data: str | None = Field(None, max_length=4096, description="CIFAR-10 folder; None: $HDX_DATA")
    epochs: int = Field(100, gt=0, le=10_000)
    batch_size: int = Field(128, gt=0, le=4096)
    lr: float = Field(0.1, gt=0, le=100)
    warmup_epochs: float = Field(0.0, ge=0, le=10_000)
    schedule: Literal["cosine", "linear"] = Field("cosine", description="decay after the warm-up: cosine "
                                                 "or linear to 0 (one-cycle / budgeted-training style)")
    momentum: float = Field(0.9, ge=0, lt=1)
    nesterov: bool = True
    weight_decay: float = Field(5e-4, ge=0, le=1)
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    cutout: int = Field(0, ge=0, le=32, description="cutout side (pixels); 0: off")
    subset: int | None = Field(None, gt=0, le=50_000, description="train on this many images (None: all)")
    width_mult: float = Field(1.0, gt=0, le=4)
    seed: int = Field(0, ge=0, le=2**32 - 1, description="random seed, 0..4294967295")
    device: str = Field("auto", max_length=32)
    threads: int | None = Field(None, gt=0, le=1024, description="1..1024; null: HDX's default policy")
    channels_last: bool = Field(True, description="NHWC memory format (about 2x faster on CPU)")
    eval_batch_size: int = Field(500, gt=0, le=10_000)
    tta_flip: bool = Field(False, description="test accuracy on the mean logits of each image and its "
                           "mirror image")
    amp: bool = Field(True, description="CUDA only: bf16 autocast (the CPU always trains in float32)")

    @field_validator("arch")
    @classmethod
    def _arch(cls, v: str | None) -> str | None:
        return None if v is None else "".join(v.split()).lower()  # the space parses it case-insensitively

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        return check_device(v)


def load_train_config(name_or_path: str = "default", overrides: dict | None = None) -> TrainConfig:
    """The shipped/default YAML (or a user YAML) with ``overrides`` (non-None values) applied."""
    base = load_config(TrainConfig, name_or_path, "train")
    return apply_overrides(base, overrides or {})


def apply_overrides(cfg: TrainConfig, overrides: dict) -> TrainConfig:
    """A copy of ``cfg`` with the non-None ``overrides``, re-validated (one-line errors)."""
    from hdx.config import validate

    data = cfg.model_dump()
    data.update({k: v for k, v in overrides.items() if v is not None})
    return validate(TrainConfig, data, "training options")
