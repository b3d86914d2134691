"""The sweep file of ``hdx sweep``: a base search config and axes, expanded into trials.

A sweep file (YAML, validated by :class:`SweepSpec`)::

    name: budgets                     # optional label
    base_config: default              # a shipped search config name or a YAML path (optional)
    base: {epochs: 6, subset: 2400}   # SearchConfig keys applied on top of base_config
    axes:                             # crossed with every variant: cartesian product
      seed: [0, 1, 2]
    variants:                         # optional; the trials are variants x product(axes)
      - {method: [hdx], budgets: [[latency<=2.5ms], [latency<=3ms]]}
      - {method: [dance], objective: [latency], hw_lambda: [0.02, 0.1]}
    judge_budgets: [latency<=2.5ms]   # trials without budgets of their own are also checked against these
    shared_warmup: true               # trials that agree on the warm-up share one (hdx.search.warmup)
    threads_per_trial: 1

Every axis (and variant entry) maps a :class:`~hdx.search.config.SearchConfig` field to the **list**
of its values (``budgets`` therefore takes a list of lists). Each trial's config is validated up front:
one line naming the trial and the field.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from hdx.budgets import parse_budget_specs
from hdx.config import StrictModel, read_yaml, validate
from hdx.errors import ConfigError, HDXError
from hdx.search.config import SearchConfig, load_search_config

MAX_TRIALS = 10_000
#: fields a sweep sets itself; an axis over them is refused
RESERVED = ("warmup_from", "progress")


def _check_axes(v: dict[str, list[Any]], where: str) -> dict[str, list[Any]]:
    fields = SearchConfig.model_fields
    for k, vals in v.items():
        if k not in fields:
            raise ValueError(f"key '{k}' is not a search config field (e.g. seed, method, budgets, "
                             f"hw_lambda, objective)")
        if k in RESERVED:
            raise ValueError(f"key '{k}' is set by the sweep itself; drop it")
        if not isinstance(vals, list) or not vals:
            raise ValueError(f"'{k}' must be a non-empty list of values, e.g. {k}: [a, b]")
    return v


class SweepSpec(StrictModel):
    """A sweep: base config, axes (cartesian product), variants, judging budgets, warm-up sharing."""

    name: str = Field("sweep", max_length=200)
    base_config: str = Field("default", max_length=4096,
                             description="shipped search config name or YAML path the base starts from")
    base: dict[str, Any] = Field(default_factory=dict, description="SearchConfig keys over base_config")
    axes: dict[str, Any] = Field(default_factory=dict, description="key -> list of values (product)")
    variants: list[dict[str, Any]] = Field(default_factory=lambda: [{}], max_length=1000)
    judge_budgets: list[str] = Field(default_factory=list, max_length=64,
                                     description="budgets every trial without budgets of its own is checked "
                                     "against (EDAP-best accelerator meeting each)")
    shared_warmup: bool = True
    threads_per_trial: int = Field(1, gt=0, le=1024)

    @field_validator("base")
    @classmethod
    def _base(cls, v: dict[str, Any]) -> dict[str, Any]:
        for k in v:
            if k in RESERVED:
                raise ValueError(f"base key '{k}' is set by the sweep itself; drop it")
        return v

    @field_validator("axes")
    @classmethod
    def _axes(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        return _check_axes(v, "axes")

    @field_validator("variants")
    @classmethod
    def _variants(cls, v: list[dict[str, list[Any]]]) -> list[dict[str, list[Any]]]:
        if not v:
            return [{}]
        for i, var in enumerate(v):
            _check_axes(var, f"variants.{i}")
        return v

    @field_validator("judge_budgets")
    @classmethod
    def _judge(cls, v: list[str]) -> list[str]:
        try:  # each judge budget is checked on its own: several on one metric are fine
            return [parse_budget_specs([b])[0].text() for b in v]
        except HDXError as e:
            raise ValueError(str(e)) from None


@dataclass(frozen=True)
class Trial:
    """One point of the sweep: its name (run directory), its axis values and its resolved config."""

    index: int
    name: str
    axes: dict[str, Any]
    config: SearchConfig


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file (shipped name under ``configs/sweep`` or a YAML path); a sweep of
    more than :data:`MAX_TRIALS` trials is refused before anything is built."""
    from hdx.config import resolve_config_path

    p = resolve_config_path(path, "sweep")
    spec = validate(SweepSpec, read_yaml(p), f"sweep file {p.name}")
    check_size(spec)
    return spec


def _product(axes: dict[str, list[Any]]) -> Iterator[dict[str, Any]]:
    keys = list(axes)
    return (dict(zip(keys, vals, strict=True)) for vals in itertools.product(*(axes[k] for k in keys)))


def count_trials(spec: SweepSpec) -> int:
    """The number of trials, counted arithmetically (nothing is built): Σ over variants of the product of
    their list lengths, times the product of the axes' list lengths."""
    per_variant = sum(math.prod(len(v) for v in var.values()) for var in spec.variants)
    return per_variant * math.prod(len(v) for v in spec.axes.values())


def _count_text(spec: SweepSpec) -> str:
    def prod(d: dict[str, list[Any]]) -> str:
        sizes = [str(len(v)) for v in d.values()]
        return " x ".join(sizes[:6]) + (f" x ... ({len(sizes)} lists)" if len(sizes) > 6 else "") or "1"

    variants = " + ".join(f"({prod(v)})" for v in spec.variants[:4]) + (" + ..." if len(spec.variants) > 4
                                                                         else "")
    return f"variants {variants} x axes ({prod(spec.axes)})"


def check_size(spec: SweepSpec) -> int:
    """:func:`count_trials`, refused in one line above :data:`MAX_TRIALS` (the count and how it comes)."""
    n = count_trials(spec)
    if n > MAX_TRIALS:
        raise ConfigError(f"sweep '{spec.name[:60]}' has {n:,} trials ({_count_text(spec)}), more than "
                          f"{MAX_TRIALS:,}; shorten the axes or split the sweep")
    return n


def axis_keys(spec: SweepSpec) -> list[str]:
    """Every key some trial varies, in first-seen order (variant keys, then axes)."""
    keys: list[str] = []
    for var in spec.variants:
        keys += [k for k in var if k not in keys]
    return keys + [k for k in spec.axes if k not in keys]


def expand(spec: SweepSpec) -> list[Trial]:
    """The trials of a sweep: every variant crossed with the product of the axes, each config validated.
    The count is checked (:func:`check_size`) before any trial or config is built."""
    check_size(spec)
    base = load_search_config(spec.base_config, spec.base)
    base_d = base.model_dump()
    if "threads" not in spec.base:
        base_d["threads"] = spec.threads_per_trial
    base_d["progress"] = False
    trials: list[Trial] = []
    seen: dict[str, int] = {}
    for var in spec.variants:
        for vpoint in _product(var):
            for apoint in _product(spec.axes):
                point = {**vpoint, **apoint}
                i = len(trials)
                name = f"t{i:04d}"
                cfg = validate(SearchConfig, {**base_d, **point}, f"trial {name} ({_label(point)})")
                key = json.dumps(cfg.model_dump(mode="json"), sort_keys=True)
                if key in seen:
                    raise ConfigError(f"trial {name} ({_label(point)}) repeats trial t{seen[key]:04d}: "
                                      f"remove the duplicate axis values")
                seen[key] = i
                dumped = cfg.model_dump(mode="json")
                trials.append(Trial(i, name, {k: dumped[k] for k in point}, cfg))
    return trials


def _label(point: dict[str, Any]) -> str:
    return ", ".join(f"{k}={axis_text(v)}" for k, v in point.items()) or "base"


def axis_text(v: Any) -> str:
    """An axis value as one CSV cell (lists joined with ';')."""
    if isinstance(v, list | tuple):
        return ";".join(axis_text(x) for x in v)
    if v is None:
        return ""
    return str(v)
