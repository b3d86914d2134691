"""Every read of a run directory's files for ``hdx report`` and ``hdx export``.

A search run directory (:mod:`hdx.report.rundir`) holds ``config.yaml``, ``metrics.jsonl``,
``final.json`` and ``checkpoint.pt``. This module is the ONLY place the report and the exporters read
them; what they get are the typed run records (:mod:`hdx.search.records`: :class:`SearchFinal`,
:class:`StepRecord`, :class:`EpochRecord`) and the validated :class:`SearchConfig`, never the files'
dicts. Units are those of the records: latency ms, energy mJ, area mm².

Loading never runs code (YAML safe loader, strict JSON, ``torch.load(weights_only=True)``); a
missing or malformed file is a one-line :class:`~hdx.errors.HDXError` naming the file and the fix.
Reads are bounded: ``final.json`` at :data:`MAX_FINAL_BYTES`, ``metrics.jsonl`` at
:data:`MAX_METRICS_BYTES`, read line by line (a line above :data:`MAX_LINE_BYTES` is skipped) with at
most :data:`MAX_KEPT_STEPS` step records kept in memory (a longer trajectory is thinned evenly; the
counts stay exact), and a run is checked against its own space (architecture, α shape) before use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hdx.errors import HDXError
from hdx.report.rundir import CHECKPOINT, CONFIG, FINAL, METRICS
from hdx.safeio import loads_json
from hdx.search.config import SearchConfig
from hdx.search.records import EpochRecord, SearchFinal, StepRecord

#: largest final.json read (bytes): a run writes a few KiB
MAX_FINAL_BYTES = 8 << 20
#: largest metrics.jsonl read (bytes): about 140,000 architecture steps; a run writes far less
MAX_METRICS_BYTES = 64 << 20
#: a metrics line longer than this (bytes) is not a record of HDX's and is skipped
MAX_LINE_BYTES = 64 << 10
#: step (and epoch) records kept in memory (below twice this); a longer trajectory is thinned to every
#: 2nd, 4th, ... step (a record takes about 4 KB: a report of six runs stays under 300 MB)
MAX_KEPT_STEPS = 5_000
#: the most runs one report reads (a sweep directory's finished trials included)
MAX_RUNS = 1_000
#: largest weights file of ``hdx train`` read (bytes)
MAX_WEIGHTS_BYTES = 256 << 20


@dataclass
class Run:
    """One run directory, read once. ``steps`` may be thinned (every ``step_stride``-th architecture
    step, their indices in ``step_index``); ``step_count`` and ``fired_count`` count them all."""

    path: Path
    config: SearchConfig
    final: SearchFinal
    steps: list[StepRecord] = field(default_factory=list)
    epochs: list[EpochRecord] = field(default_factory=list)
    step_index: list[int] | None = None
    step_count: int | None = None
    fired_count: int | None = None

    def __post_init__(self) -> None:
        if self.step_index is None:
            self.step_index = list(range(len(self.steps)))
        if self.step_count is None:
            self.step_count = len(self.steps)
        if self.fired_count is None:
            self.fired_count = sum(bool(s.fired) for s in self.steps)

    @property
    def name(self) -> str:
        return self.path.name

    def label(self) -> str:
        """Short legend label: run folder and method."""
        return f"{self.name} ({self.final.method})"


# ----------------------------------------------------------------------------------------------------
# readers: the typed run records of hdx.search.records, and the validated SearchConfig


def _read_text(p: Path) -> str:
    from hdx.safeio import read_text

    if not p.is_file():
        raise HDXError(f"{p} is missing: give the --out folder of a finished `hdx search` run")
    return read_text(p, max_bytes=MAX_FINAL_BYTES, what=p.name)


def load_config(path: Path) -> SearchConfig:
    """``config.yaml``: the run's resolved search config (YAML safe loader, validated)."""
    from hdx.config import read_yaml, validate

    p = Path(path) / CONFIG
    if not p.is_file():
        raise HDXError(f"{p} is missing: give the --out folder of a finished `hdx search` run")
    return validate(SearchConfig, read_yaml(p), f"run config {p}")


def load_final(path: Path) -> SearchFinal:
    """``final.json`` (strict JSON, validated as a :class:`SearchFinal`)."""
    p = Path(path) / FINAL
    return SearchFinal.from_json(loads_json(_read_text(p), what=str(p)))


@dataclass
class Metrics:
    """What :func:`load_metrics` keeps of ``metrics.jsonl`` (see :class:`Run` for the thinning)."""

    steps: list[StepRecord] = field(default_factory=list)
    epochs: list[EpochRecord] = field(default_factory=list)
    step_index: list[int] = field(default_factory=list)
    step_count: int = 0
    fired_count: int = 0

    def __iter__(self):  # (steps, epochs) unpacking, as before
        return iter((self.steps, self.epochs))


def _thin(items: list, index: list[int] | None = None) -> None:
    """Keep every other item (in place), when a list reaches twice :data:`MAX_KEPT_STEPS`."""
    items[:] = items[::2]
    if index is not None:
        index[:] = index[::2]


def load_metrics(path: Path) -> Metrics:
    """``metrics.jsonl``: architecture steps and epoch lines (a line cut by a kill, one that is not a
    valid record, or one above :data:`MAX_LINE_BYTES` is skipped), read line by line under
    :data:`MAX_METRICS_BYTES`; beyond :data:`MAX_KEPT_STEPS` steps every other one is dropped (and the
    stride doubles), so memory stays bounded while the trajectory keeps its shape."""
    from hdx.safeio import os_errors

    p = Path(path) / METRICS
    out = Metrics()
    if not p.is_file():
        return out
    with os_errors(p, "read"):
        size = p.stat().st_size
    if size > MAX_METRICS_BYTES:
        raise HDXError(f"{p} is {size:,} bytes, more than {MAX_METRICS_BYTES:,} bytes: not the metrics of an "
                       f"`hdx search` run; give the right folder")
    stride, epoch_stride, n_epochs = 1, 1, 0
    with os_errors(p, "read"), open(p, "rb") as f:
        for raw in f:
            if len(raw) > MAX_LINE_BYTES:
                continue
            try:
                r = loads_json(raw.decode("utf-8"))
                if not isinstance(r, dict):
                    continue
                if r.get("phase") in ("search", "recheck"):
                    rec = StepRecord.from_json(r)
                    i = out.step_count
                    out.step_count += 1
                    out.fired_count += bool(rec.fired)
                    if i % stride == 0:
                        out.steps.append(rec)
                        out.step_index.append(i)
                        if len(out.steps) >= 2 * MAX_KEPT_STEPS:
                            _thin(out.steps, out.step_index)
                            stride *= 2
                elif r.get("phase") == "epoch":
                    rec = EpochRecord.from_json(r)
                    n_epochs += 1
                    if (n_epochs - 1) % epoch_stride == 0:
                        out.epochs.append(rec)
                        if len(out.epochs) >= 2 * MAX_KEPT_STEPS:
                            _thin(out.epochs)
                            epoch_stride *= 2
            except (HDXError, UnicodeDecodeError):
                continue
    return out


def check_run(run: Run) -> None:
    """A run's records against its own space: the network is an architecture of the space and
    ``alpha_probs`` is empty or one row of probabilities per searchable layer (one column per op).
    One line naming the file otherwise."""
    import math

    from hdx.space.network import NetworkSpace

    space = NetworkSpace.load(run.config.space)
    where = f"{run.path / FINAL}"
    try:
        space.parse_arch(run.final.arch)
    except HDXError as e:
        raise HDXError(f"{where}: its network does not fit the run's space ({e})") from None
    from hdx.metrics import METRICS

    for key in ("accelerator", "accelerator_generator"):
        d = getattr(run.final, key)
        lacks = sorted(set(METRICS) - set(d.metrics))
        if lacks:
            raise HDXError(f"{where}: {key}.metrics lacks {', '.join(lacks)}; the file is damaged")
        for b in d.budgets:
            if b.metric not in METRICS or b.kind not in ("hard", "soft"):
                raise HDXError(f"{where}: {key}.budgets holds a budget on '{b.metric[:40]}' ({b.kind[:20]}); "
                               f"budgets are hard or soft limits on {', '.join(METRICS)}")
    probs = run.final.alpha_probs
    if probs:
        shape_ok = len(probs) == space.num_positions and all(len(r) == space.num_ops for r in probs)
        if not shape_ok:
            raise HDXError(f"{where}: alpha_probs is not {space.num_positions} rows of {space.num_ops} "
                           f"probabilities (the run's space); the file is damaged")
        if not all(math.isfinite(v) and 0.0 <= v <= 1.0 for r in probs for v in r):
            raise HDXError(f"{where}: alpha_probs holds a value outside [0, 1]; the file is damaged")


def is_sweep_dir(path: str | Path) -> bool:
    """Whether ``path`` is an ``hdx sweep`` directory (``sweep.json`` and ``trials/``)."""
    p = Path(path)
    return (p / "sweep.json").is_file() and (p / "trials").is_dir()


def expand_run_dirs(paths: list[str | Path]) -> list[Path]:
    """Run directories to report: each path itself, or, for an ``hdx sweep`` directory, its finished
    trials (``trials/tNNNN`` holding a ``final.json``), in trial order."""
    out: list[Path] = []
    for p in map(Path, paths):
        if is_sweep_dir(p):
            done = []
            for d in (p / "trials").iterdir():
                if (d / FINAL).is_file():
                    done.append(d)
                if len(done) > MAX_RUNS:
                    break
            if not done:
                raise HDXError(f"sweep {p} has no finished trial yet; run `hdx sweep ... --resume` first")
            out.extend(sorted(done))
        else:
            out.append(p)
        if len(out) > MAX_RUNS:
            raise HDXError(f"more than {MAX_RUNS} runs to report; report a subset (or the trials of a "
                           f"smaller sweep)")
    return out


def load_run(path: str | Path, metrics: bool = True) -> Run:
    """Read one finished search run directory (``metrics=False``: not its ``metrics.jsonl``, for
    reports that compare final designs only)."""
    p = Path(path)
    if not p.is_dir():
        raise HDXError(f"run directory {p} does not exist; give the --out folder of an `hdx search` run")
    final = load_final(p)
    cfg = load_config(p)
    m = load_metrics(p) if metrics else Metrics()
    run = Run(path=p, config=cfg, final=final, steps=m.steps, epochs=m.epochs, step_index=m.step_index,
              step_count=m.step_count, fired_count=m.fired_count)
    check_run(run)
    return run


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
    from safetensors.torch import load_file

    p = Path(path)
    folder = p if p.is_dir() else p.parent
    f = p / "model.safetensors" if p.is_dir() else p
    if not f.is_file():
        raise HDXError(f"weights file {f} is missing; pass the model.safetensors of an `hdx train` run")
    if f.stat().st_size > MAX_WEIGHTS_BYTES:
        raise HDXError(f"weights file {f} is {f.stat().st_size >> 20} MiB, more than "
                       f"{MAX_WEIGHTS_BYTES >> 20} MiB: not the weights of an `hdx train` run")
    try:
        state = load_file(str(f))
    except Exception as e:  # noqa: BLE001 - SafetensorError, OSError, a header the library refuses
        from hdx.safeio import first_line

        raise HDXError(f"{f} is not a safetensors file ({type(e).__name__}: {first_line(e, 80)})") from None
    width, arch = None, None
    cfg = folder / CONFIG
    if cfg.is_file():
        from hdx.config import read_yaml

        try:
            d = read_yaml(cfg)
        except HDXError:
            d = None
        if isinstance(d, dict):
            w = d.get("width_mult")
            ok = isinstance(w, int | float) and not isinstance(w, bool) and 0 < w <= 4
            width = float(w) if ok else None  # the bounds of TrainConfig.width_mult
            arch = d.get("arch") if isinstance(d.get("arch"), str) else None
    return state, width, arch
