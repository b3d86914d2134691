"""Every read of a run directory's files for ``hdx report`` and ``hdx export``, as small typed records.

A search run directory (:mod:`hdx.report.rundir`) holds ``config.yaml``, ``metrics.jsonl``,
``final.json`` and ``checkpoint.pt``. This module is the ONLY place the report and the exporters read
them; figures and exporters use the dataclasses below, never the files' dicts. Units are those of
``final.json``: latency ms, energy mJ, area mm².

Loading never runs code (YAML safe loader, strict JSON, ``torch.load(weights_only=True)``); a
missing or malformed file is a one-line :class:`~hdx.errors.HDXError` naming the file and the fix.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hdx.errors import HDXError

CONFIG = "config.yaml"
METRICS = "metrics.jsonl"
FINAL = "final.json"
CHECKPOINT = "checkpoint.pt"
#: largest final.json / metrics.jsonl / config.yaml read (bytes): a run writes far less
MAX_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class RunConfig:
    """The part of the saved search config the report and exporters use."""

    method: str
    objective: str
    budgets: tuple[str, ...]
    space: str
    accel_space: str
    cost_backend: str
    width_mult: float
    epochs: int
    warmup_epochs: int
    fake_data: bool
    subset: int | None
    seed: int


@dataclass(frozen=True)
class BudgetVerdict:
    """One budget re-checked on the ground truth for one design."""

    text: str
    metric: str
    kind: str  # hard | soft
    limit: float
    value: float
    slack: float  # (limit - value) / limit
    met: bool


@dataclass(frozen=True)
class Design:
    """A (network, accelerator) design with its ground-truth metrics (ms, mJ, mm²)."""

    accelerator: str
    accel_index: int
    latency_ms: float
    energy_mj: float
    area_mm2: float
    budgets: tuple[BudgetVerdict, ...]
    feasible: bool


@dataclass(frozen=True)
class FinalResult:
    """``final.json``: the outcome of a finished search."""

    feasible: bool
    method: str
    arch: str
    chosen: Design  # exhaustive ground-truth accelerator under the hard budgets
    generator: Design  # the evaluator's generator's accelerator for the same network
    objective: str
    objective_value: float
    accuracy: dict[str, float]  # val_acc / test_acc in [0, 1] (inherited supernet weights)
    alpha_probs: tuple[tuple[float, ...], ...]  # [positions][ops] at the end of the search
    predicted_end: dict[str, float]
    recheck_rounds: int
    space: str
    accel_space: str
    min_achievable: dict[str, float]

    @property
    def budgets(self) -> tuple[BudgetVerdict, ...]:
        return self.chosen.budgets


@dataclass(frozen=True)
class ArchStep:
    """One architecture step of ``metrics.jsonl`` (phase ``search`` or ``recheck``)."""

    index: int  # 0-based order in the log
    phase: str
    epoch: int
    ce: float
    pred: dict[str, float]  # relaxed distribution's predicted metrics
    pred_argmax: dict[str, float]  # argmax network's predicted metrics
    checked: dict[str, float]  # budget key (metric, or metric_soft) -> predicted value checked
    targets: tuple[float, ...]  # internal targets of the steered hard budgets (same order as listed)
    fired: bool  # the HDX correction changed the step


@dataclass(frozen=True)
class EpochRecord:
    """The end-of-epoch line of ``metrics.jsonl``: the argmax architecture then."""

    epoch: int
    train_ce: float
    arch: tuple[str, ...]


@dataclass
class Run:
    """One run directory, read once."""

    path: Path
    config: RunConfig
    final: FinalResult
    steps: list[ArchStep] = field(default_factory=list)
    epochs: list[EpochRecord] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    def label(self) -> str:
        """Short legend label: run folder and method."""
        return f"{self.name} ({self.final.method})"


# ----------------------------------------------------------------------------------------------------
# low-level readers


def _read_text(p: Path) -> str:
    from hdx.safeio import os_errors

    if not p.is_file():
        raise HDXError(f"{p} is missing: is {p.parent} a finished `hdx search` run directory?")
    with os_errors(p, "read"):
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise HDXError(f"{p} is {size / 2**20:.0f} MiB, more than a run writes; is it the right file?")
        return p.read_bytes().decode("utf-8", errors="replace")


def _strict_json(text: str, where: str) -> Any:
    def bad_const(c: str):
        raise ValueError(f"non-finite number {c}")

    try:
        return json.loads(text, parse_constant=bad_const)
    except (json.JSONDecodeError, ValueError, RecursionError) as e:
        raise HDXError(f"{where} is not valid JSON ({str(e)[:80]}); the run directory is damaged") from None


def _num(d: Any, key: str, where: str, *, default: float | None = None) -> float:
    v = d.get(key, default) if isinstance(d, dict) else default
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise HDXError(f"{where}: field '{key}' must be a finite number, got {v!r}")
    return float(v)


def _str(d: Any, key: str, where: str, *, default: str | None = None) -> str:
    v = d.get(key, default) if isinstance(d, dict) else default
    if not isinstance(v, str):
        raise HDXError(f"{where}: field '{key}' must be text, got {type(v).__name__}")
    return v


def _dict(d: Any, key: str, where: str) -> dict:
    v = d.get(key) if isinstance(d, dict) else None
    if not isinstance(v, dict):
        raise HDXError(f"{where}: field '{key}' is missing or not an object; the run directory is damaged")
    return v


def _metrics(d: Any, where: str) -> dict[str, float]:
    if not isinstance(d, dict):
        return {}
    return {str(k): float(v) for k, v in d.items()
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)}


# ----------------------------------------------------------------------------------------------------
# files


def load_config(path: Path) -> RunConfig:
    """``config.yaml`` (YAML safe loader)."""
    import yaml

    p = Path(path) / CONFIG
    try:
        d = yaml.safe_load(_read_text(p))
    except yaml.YAMLError as e:
        raise HDXError(f"{p} is not valid YAML ({str(e).splitlines()[0][:80]})") from None
    if not isinstance(d, dict):
        raise HDXError(f"{p} is not a search config (a mapping is expected)")
    w = f"{p}"
    budgets = d.get("budgets") or []
    if not isinstance(budgets, list) or not all(isinstance(b, str) for b in budgets):
        raise HDXError(f"{w}: field 'budgets' must be a list of texts")
    subset = d.get("subset")
    return RunConfig(
        method=_str(d, "method", w, default="hdx"), objective=_str(d, "objective", w, default="edap"),
        budgets=tuple(budgets), space=_str(d, "space", w, default="dance_cifar10"),
        accel_space=_str(d, "accel_space", w, default="eyeriss_like"),
        cost_backend=_str(d, "cost_backend", w, default="analytical"),
        width_mult=_num(d, "width_mult", w, default=1.0), epochs=int(_num(d, "epochs", w, default=0)),
        warmup_epochs=int(_num(d, "warmup_epochs", w, default=0)), fake_data=bool(d.get("fake_data", False)),
        subset=int(subset) if isinstance(subset, int) and not isinstance(subset, bool) else None,
        seed=int(_num(d, "seed", w, default=0)))


def _verdicts(rows: Any, where: str) -> tuple[BudgetVerdict, ...]:
    if not isinstance(rows, list):
        raise HDXError(f"{where}: field 'budgets' must be a list")
    out = []
    for i, b in enumerate(rows):
        w = f"{where}.budgets[{i}]"
        out.append(BudgetVerdict(text=_str(b, "budget", w), metric=_str(b, "metric", w),
                                 kind=_str(b, "kind", w),
                                 limit=_num(b, "limit", w),
                                 value=_num(b, "value", w), slack=_num(b, "slack", w),
                                 met=bool(b.get("met"))))
    return tuple(out)


def _design(d: Any, where: str) -> Design:
    m = _dict(d, "metrics", where)
    return Design(accelerator=_str(d, "accelerator", where), accel_index=int(_num(d, "accel_index", where)),
                  latency_ms=_num(m, "latency", where), energy_mj=_num(m, "energy", where),
                  area_mm2=_num(m, "area", where), budgets=_verdicts(d.get("budgets", []), where),
                  feasible=bool(d.get("feasible")))


def load_final(path: Path) -> FinalResult:
    """``final.json`` (strict JSON)."""
    p = Path(path) / FINAL
    d = _strict_json(_read_text(p), str(p))
    if not isinstance(d, dict):
        raise HDXError(f"{p} is not an HDX final.json (an object is expected)")
    w = str(p)
    alpha = d.get("alpha_probs") or []
    if not (isinstance(alpha, list) and all(isinstance(r, list) for r in alpha)):
        raise HDXError(f"{w}: field 'alpha_probs' must be a list of lists")
    acc = _metrics(d.get("accuracy_inherited"), w)
    return FinalResult(
        feasible=bool(d.get("feasible")), method=_str(d, "method", w), arch=_str(d, "arch", w),
        chosen=_design(_dict(d, "accelerator", w), f"{w}: accelerator"),
        generator=_design(_dict(d, "accelerator_generator", w), f"{w}: accelerator_generator"),
        objective=_str(d, "objective", w), objective_value=_num(d, "objective_value", w),
        accuracy=acc, alpha_probs=tuple(tuple(float(x) for x in r) for r in alpha),
        predicted_end=_metrics(d.get("predicted_end"), w),
        recheck_rounds=len(d.get("recheck_rounds") or []), space=_str(d, "space", w),
        accel_space=_str(d, "accel_space", w), min_achievable=_metrics(d.get("min_achievable"), w))


def load_metrics(path: Path) -> tuple[list[ArchStep], list[EpochRecord]]:
    """``metrics.jsonl``: architecture steps and epoch lines (a line cut by a kill is skipped)."""
    p = Path(path) / METRICS
    if not p.is_file():
        return [], []
    steps: list[ArchStep] = []
    epochs: list[EpochRecord] = []
    for ln in _read_text(p).splitlines():
        try:
            r = json.loads(ln, parse_constant=lambda c: None)
        except (json.JSONDecodeError, RecursionError):
            continue
        if not isinstance(r, dict):
            continue
        phase = r.get("phase")
        try:
            if phase in ("search", "recheck"):
                budgets = r.get("budgets") if isinstance(r.get("budgets"), dict) else {}
                checked = {str(k): float(v["value"]) for k, v in budgets.items()
                           if isinstance(v, dict) and isinstance(v.get("value"), int | float)}
                targets = r.get("targets") if isinstance(r.get("targets"), list) else []
                steps.append(ArchStep(index=len(steps), phase=str(phase), epoch=int(r.get("epoch", 0)),
                                      ce=float(r.get("ce", float("nan"))), pred=_metrics(r.get("pred"), ""),
                                      pred_argmax=_metrics(r.get("pred_argmax"), ""), checked=checked,
                                      targets=tuple(float(t) for t in targets), fired=bool(r.get("fired"))))
            elif phase == "epoch" and isinstance(r.get("arch"), str):
                epochs.append(EpochRecord(epoch=int(r.get("epoch", 0)),
                                          train_ce=float(r.get("train_ce", 0.0)),
                                          arch=tuple(r["arch"].split(","))))
        except (TypeError, ValueError):
            continue  # a malformed line is skipped like a cut one
    return steps, epochs


def load_run(path: str | Path) -> Run:
    """Read one finished search run directory."""
    p = Path(path)
    if not p.is_dir():
        raise HDXError(f"run directory {p} does not exist; give the --out folder of an `hdx search` run")
    final = load_final(p)
    cfg = load_config(p)
    steps, epochs = load_metrics(p)
    return Run(path=p, config=cfg, final=final, steps=steps, epochs=epochs)


def load_supernet_state(path: str | Path) -> dict[str, Any]:
    """The supernet weights (``net`` state dict) of the run's last checkpoint; ``weights_only`` load."""
    from hdx.safeio import load_torch

    p = Path(path) / CHECKPOINT
    if not p.is_file():
        raise HDXError(f"{p} is missing: the run has no checkpoint with supernet weights; pass --weights "
                       f"model.safetensors of `hdx train`")
    st = load_torch(p)
    if not isinstance(st, dict) or not isinstance(st.get("net"), dict):
        raise HDXError(f"{p} is not an `hdx search` checkpoint (no 'net' weights); pass --weights instead")
    return st["net"]


def load_trained_weights(path: str | Path) -> tuple[dict[str, Any], float | None, str | None]:
    """Weights of ``hdx train`` (its run folder or ``model.safetensors``), its width multiplier and
    architecture from the train run's ``config.yaml`` when present (else None)."""
    import yaml
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    p = Path(path)
    folder = p if p.is_dir() else p.parent
    f = p / "model.safetensors" if p.is_dir() else p
    if not f.is_file():
        raise HDXError(f"weights file {f} is missing; pass the model.safetensors of an `hdx train` run")
    try:
        state = load_file(str(f))
    except (SafetensorError, OSError, ValueError) as e:
        raise HDXError(f"{f} is not a safetensors file ({str(e)[:80]})") from None
    width, arch = None, None
    cfg = folder / CONFIG
    if cfg.is_file():
        try:
            d = yaml.safe_load(_read_text(cfg))
        except yaml.YAMLError:
            d = None
        if isinstance(d, dict):
            w = d.get("width_mult")
            width = float(w) if isinstance(w, int | float) and not isinstance(w, bool) else None
            arch = d.get("arch") if isinstance(d.get("arch"), str) else None
    return state, width, arch
