"""Typed configuration of ``hdx search`` (defaults: ``hdx/configs/search/default.yaml``).

Every field can be overridden on the command line; the resolved config is written to the run
directory as ``config.yaml``. Validation errors are one line naming the field.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from hdx.budgets import parse_budget_specs
from hdx.config import StrictModel, load_config, validate
from hdx.cost.table_build import TABLE_MEMORY_MB
from hdx.metrics import OBJECTIVES
from hdx.runtime import check_device

Method = Literal["hdx", "dance", "nas-then-hw"]


class SearchConfig(StrictModel):
    """One co-exploration search (network + accelerator) on CIFAR-10."""

    #: fields a resumed run may change (they cannot change its result; :func:`hdx.report.rundir.resume_rule`)
    RESUME_FREE: ClassVar[tuple[str, ...]] = ("progress", "threads", "data")

    method: Method = Field("hdx", description="hdx (hard budgets), dance (soft cost), nas-then-hw")
    budgets: list[str] = Field(default_factory=list, max_length=16,
                               description="e.g. latency<=2ms, area<=1.7mm2:soft, latency<=p20 (the 20th "
                               "percentile of the space: hdx.cost.relative)")
    objective: str = Field("edap", description="hardware objective: edap, latency, energy, area, weighted")
    weights: dict[str, float] | None = Field(None, description="per-metric weights of 'weighted'")
    hw_lambda: float = Field(0.1, ge=0, le=1000, description="λ of the DANCE cost term λ·log(J/J_ref)")
    soft_lambda: float = Field(0.5, ge=0, le=1000, description="λ of TF-NAS soft budgets λ·|t/T−1|")
    evaluator: str = Field("auto", max_length=4096,
                           description="auto (the shipped learned evaluator when it was built for this "
                           "space, grid, cost model and objective, else the exact oracle, with a note), "
                           "learned, oracle, or a .safetensors path")
    oracle_temperature: float = Field(0.02, gt=0, le=1000,
                                      description="softmin temperature of the oracle evaluator")
    table_memory_mb: int = Field(TABLE_MEMORY_MB, ge=1, le=1 << 24,
                                 description="the most memory (MiB) the exact cost table of the space on the "
                                 "accelerator space may take in memory (hdx.cost.table_build.table_bytes); "
                                 "a larger one of more than 200 000 designs stays on disk, memory-mapped, "
                                 "with a learned evaluator (the exact oracle needs it in memory: refused "
                                 "before anything is built)")
    space: str = Field("dance_cifar10", max_length=4096)
    accel_space: str = Field("eyeriss_like", max_length=4096)
    cost_backend: str = Field("analytical", max_length=4096, description="analytical, zigzag, or a cost "
                              "table file made by `hdx cost tabulate`")
    data: str | None = Field(None, max_length=4096, description="CIFAR-10 folder; null: $HDX_DATA")
    fake_data: bool = Field(False, description="random images instead of CIFAR-10 (tests only)")
    subset: int | None = Field(6000, gt=1, le=50_000, description="images of the train set used, 2..50000 "
                               "(null: all 50k)")
    val_fraction: float = Field(0.5, gt=0, lt=1, description="share of the subset held out for arch steps")
    eval_images: int = Field(2000, ge=0, le=10_000,
                             description="CIFAR-10 test images for the final accuracy (0: none)")
    epochs: int = Field(8, gt=0, le=10_000, description="search epochs (including warm-up)")
    warmup_epochs: int = Field(2, ge=0, le=10_000, description="weight-only epochs before arch steps start")
    batch_size: int = Field(96, gt=0, le=4096)
    width_mult: float = Field(0.25, gt=0, le=4)
    supernet_mode: Literal["binary", "gumbel"] = "binary"
    tau0: float = Field(5.0, gt=0, le=1000, description="Gumbel temperature at epoch 0 (gumbel mode)")
    tau_decay: float = Field(0.96, gt=0, le=1, description="Gumbel temperature decay per epoch")
    w_lr: float = Field(0.05, gt=0, le=100, description="supernet weight SGD learning rate (cosine decay)")
    w_momentum: float = Field(0.9, ge=0, lt=1)
    w_weight_decay: float = Field(4e-5, ge=0, le=1)
    arch_optimizer: Literal["adam", "sgd"] = "adam"
    arch_lr: float = Field(0.02, gt=0, le=1000)
    arch_every: int = Field(1, gt=0, le=10_000, description="one arch step per this many weight steps")
    violation_check: Literal["argmax", "relaxed", "both"] = Field(
        "argmax", description="budget violated when the predicted cost of the argmax network (or the "
        "relaxed distribution, or either) reaches the target")
    delta0: float = Field(0.05, gt=0, le=1000, description="HDX initial descent rate δ")
    delta_w: float = Field(1.02, ge=1, le=10, description="HDX δ growth factor w per violating step")
    delta_max: float = Field(5.0, gt=0, le=1000)
    recheck_rounds: int = Field(3, ge=0, le=100,
                                description="HDX: extra arch-step rounds after a ground-truth miss")
    recheck_steps: int = Field(20, gt=0, le=100_000, description="arch steps per re-check round")
    tighten: float = Field(0.97, gt=0, lt=1, description="internal target factor per re-check round")
    fill: Literal["auto", "grow", "off"] = Field(
        "auto", description="HDX finish: grow the derived network into its hard budgets (ground truth; "
        "docs/budget-filling.md); auto: grow when the loss is CE alone (hw_lambda 0, no soft budget), "
        "else keep the network and report what its slack bought; off: the published HDX finish")
    bn_batches: int = Field(10, ge=0, le=10_000,
                            description="train batches to recalibrate BN of the derived network")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="random seed, 0..4294967295")
    threads: int | None = Field(None, gt=0, le=1024, description="torch CPU threads, 1..1024 (null: HDX's "
                                 "default policy, hdx.runtime.default_threads)")
    progress: bool = True
    # device and search -> retrain (issue 12)
    device: str = Field("auto", max_length=32, description="auto (cuda when present), cpu, cuda, cuda:N")
    channels_last: bool = Field(False, description="NHWC supernet on the CPU (always on with CUDA)")
    log_every: int = Field(50, gt=0, le=1_000_000, description="GPU: read the loss back every N steps")
    retrain_epochs: int = Field(0, ge=0, le=10_000, description="train the derived network from scratch "
                                "for N epochs after the search (0: no retrain)")
    retrain_config: str = Field("auto", max_length=4096, description="train config of the retrain: "
                                "auto (retrain_cpu / retrain_gpu by device), a shipped name or a YAML")
    warmup_from: str | None = Field(None, max_length=4096, description="start from this shared warm-up "
                                    "file (hdx.search.warmup) instead of running the warm-up epochs")

    @field_validator("objective")
    @classmethod
    def _objective(cls, v: str) -> str:
        if v not in OBJECTIVES:
            raise ValueError(f"unknown objective '{v}': use one of {', '.join(OBJECTIVES)}")
        return v

    @field_validator("budgets", mode="before")
    @classmethod
    def _budget_text(cls, v):
        return [v] if isinstance(v, str) else v  # one text may hold several: latency<=2ms,area<=1.7mm2
    @field_validator("cost_backend")
    @classmethod
    def _cost_backend(cls, v: str) -> str:
        from hdx.cost import BACKENDS

        if v not in BACKENDS and not v.endswith(".npz"):
            raise ValueError(f"unknown cost backend '{v}': use {', '.join(BACKENDS)} or a cost table .npz "
                             f"(hdx cost tabulate)")
        return v

    @field_validator("budgets")
    @classmethod
    def _budgets(cls, v: list[str]) -> list[str]:
        return [b.text() for b in parse_budget_specs(v)]  # canonical text (p20 stays p20); one-line errors

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        return check_device(v)

    @model_validator(mode="after")
    def _consistent(self) -> SearchConfig:
        if self.objective == "weighted" and not self.weights:
            raise ValueError("objective 'weighted' needs weights, e.g. {latency: 1, energy: 1}")
        if self.delta_max < self.delta0:
            raise ValueError("delta_max must be >= delta0")
        if self.warmup_epochs >= self.epochs:
            raise ValueError(f"warmup_epochs ({self.warmup_epochs}) must be < epochs ({self.epochs}): "
                             f"no architecture steps would run")
        return self


def load_search_config(name_or_path: str = "default", overrides: dict | None = None) -> SearchConfig:
    """The shipped/default YAML (or a user YAML) with the non-None ``overrides`` applied."""
    base = load_config(SearchConfig, name_or_path, "search")
    data = base.model_dump()
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return validate(SearchConfig, data, "search options")
