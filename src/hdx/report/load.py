"""Every read of a run directory's files for ``hdx report`` and ``hdx export``.

A search run directory (:mod:`hdx.report.rundir`) holds ``config.yaml``, ``metrics.jsonl``,
``final.json`` and ``checkpoint.pt``. This module is the ONLY place the report and the exporters read
them; what they get are the typed run records (:mod:`hdx.search.records`: :class:`SearchFinal`,
:class:`StepRecord`, :class:`EpochRecord`) and the validated :class:`SearchConfig`, never the files'
dicts. Units are those of the records: latency ms, energy mJ, area mm².

Loading never runs code (YAML safe loader, strict JSON, ``torch.load(weights_only=True)``); a
missing or malformed file is a one-line :class:`~hdx.errors.HDXError` naming the file and the fix.
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

#: largest final.json / metrics.jsonl / config.yaml read (bytes): a run writes far less
MAX_BYTES = 256 * 1024 * 1024


@dataclass
class Run:
    """One run directory, read once."""

    path: Path
    config: SearchConfig
    final: SearchFinal
    steps: list[StepRecord] = field(default_factory=list)
    epochs: list[EpochRecord] = field(default_factory=list)

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
    return read_text(p, max_bytes=MAX_BYTES, what=p.name)


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


def load_metrics(path: Path) -> tuple[list[StepRecord], list[EpochRecord]]:
    """``metrics.jsonl``: architecture steps and epoch lines (a line cut by a kill, or one that is not a
    valid record, is skipped)."""
    p = Path(path) / METRICS
    if not p.is_file():
        return [], []
    steps: list[StepRecord] = []
    epochs: list[EpochRecord] = []
    for ln in _read_text(p).splitlines():
        try:
            r = loads_json(ln)
            if isinstance(r, dict) and r.get("phase") in ("search", "recheck"):
                steps.append(StepRecord.from_json(r))
            elif isinstance(r, dict) and r.get("phase") == "epoch":
                epochs.append(EpochRecord.from_json(r))
        except HDXError:
            continue
    return steps, epochs


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
            done = sorted(d for d in (p / "trials").iterdir() if (d / FINAL).is_file())
            if not done:
                raise HDXError(f"sweep {p} has no finished trial yet; run `hdx sweep ... --resume` first")
            out.extend(done)
        else:
            out.append(p)
    return out


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
