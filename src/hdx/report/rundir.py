"""A run directory per run: ``config.yaml``, ``metrics.jsonl``, ``final.json``, checkpoints, plots.

Every file is written atomically (:mod:`hdx.safeio`), so an interrupted run never leaves a half-written
result, checkpoint or model behind; every JSON file is strict (no NaN/inf).

**The one rule** (shared by ``hdx search`` and ``hdx train``): a folder *holds a run* when it has a
``checkpoint.pt`` or a ``final.json``. A plain start refuses such a folder (pass ``--resume`` or choose
another ``--out``); ``--resume`` continues it. A folder with only ``config.yaml`` / ``metrics.jsonl``
is a run that died before its first checkpoint: a plain start restarts it in place (its stale metrics
are cleared), and ``--resume`` restarts it from the beginning with its saved config.

:func:`check_out_dir` applies the rule and probes that the folder can be written *before any work
starts*, without creating anything; :class:`RunDir` is one run's folder: checked once
(:meth:`RunDir.checked`), opened when the work starts (:meth:`RunDir.open`), and every file written
atomically. **Resume rule** (:func:`resume_config`): a resumed run keeps its saved config; only the
fields its config class declares free (``RESUME_FREE``: those that cannot change the result, e.g.
threads, progress, the data path) may take new values.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from hdx.config import dump_yaml
from hdx.errors import ConfigError, HDXError
from hdx.safeio import (
    append_line,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    dumps_json,
    load_torch,
    os_errors,
)
from hdx.version import __version__

M = TypeVar("M", bound=BaseModel)

CONFIG = "config.yaml"
METRICS = "metrics.jsonl"
FINAL = "final.json"
CHECKPOINT = "checkpoint.pt"
#: files of a run that can be cleared when a run that never checkpointed is restarted in place
_STALE = (METRICS, FINAL, "timing.json")


def run_state(path: str | Path) -> str:
    """``new`` (absent or empty of run files), ``started`` (config/metrics but no checkpoint: died
    before its first checkpoint), ``resumable`` (a checkpoint, no final.json) or ``finished``."""
    p = Path(path)
    if not p.is_dir():
        return "new"
    if (p / FINAL).exists():
        return "finished"
    if (p / CHECKPOINT).exists():
        return "resumable"
    if (p / CONFIG).exists() or (p / METRICS).exists():
        return "started"
    return "new"


def holds_run(path: str | Path) -> bool:
    """Whether ``path`` holds a run a plain start must not overwrite (the one rule above)."""
    return run_state(path) in ("resumable", "finished")


def _probe_writable(folder: Path) -> None:
    """Create and delete a probe file in ``folder`` (an existing directory)."""
    import tempfile

    with os_errors(folder, "write into"):
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".hdx-probe.")
        try:
            os.write(fd, b"x" * 4096)
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(tmp)


def check_out_dir(path: str | Path, *, resume: bool = False) -> str:
    """Apply the run-directory rule and probe writability before any work; creates nothing.

    Returns the :func:`run_state`. Errors are one line naming the folder and the fix.
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise HDXError(f"run directory {p} is a file; choose another --out")
    state = run_state(p)
    if resume:
        if state == "new":
            raise HDXError(f"nothing to resume in {p}: no {CONFIG} or {CHECKPOINT} there "
                           f"(start without --resume)")
    elif state in ("resumable", "finished"):
        what = " (finished)" if state == "finished" else ""
        raise HDXError(f"run directory {p} already holds a run{what}; pass --resume to continue it "
                       f"or choose another --out")
    folder = p
    while not folder.exists():
        if folder.parent == folder:
            break
        folder = folder.parent
    if not folder.is_dir():
        raise HDXError(f"cannot create run directory {p}: {folder} is a file; choose another --out")
    _probe_writable(folder)
    return state


def resume_rule(saved: M, given: dict[str, Any], *, free: tuple[str, ...], where: str | Path) -> M:
    """The config a resumed run continues with: ``saved`` with the ``free`` fields of ``given`` applied;
    any other field of ``given`` must equal the saved value (after validation), else one line names the
    field and the fix. The one resume rule of ``hdx search``, ``hdx train`` and the retrain."""
    from hdx.config import validate

    model = type(saved)
    data = saved.model_dump()
    for k, v in given.items():
        if k in free:
            data[k] = v
        elif data.get(k) != v and validate(model, {**data, k: v}, "options").model_dump()[k] != data[k]:
            raise ConfigError(f"--resume continues the run in {where} with its saved config: {k} is "
                              f"{data.get(k)!r} there, not {v!r}; drop that option or choose another --out")
    return validate(model, data, f"saved config in {where}")


def resume_config(model: type[M], out: str | Path, overrides: dict[str, Any], *,
                  free: tuple[str, ...] | None = None) -> M:
    """The config of the run being resumed in ``out`` (its saved ``config.yaml``) under
    :func:`resume_rule`; ``free`` defaults to ``model.RESUME_FREE``. Checks the folder first."""
    return RunDir.checked(out, resume=True).resumed_config(model, overrides, free=free)


def versions() -> dict[str, str]:
    """Versions of HDX and its main dependencies (recorded in every final.json)."""
    import numpy
    import torch

    return {"hdx": __version__, "torch": torch.__version__, "numpy": numpy.__version__,
            "python": platform.python_version()}


class RunDir:
    """One run's folder under the rule of the module docstring.

    ``resume=False`` refuses a folder that holds a run and restarts one that died before its first
    checkpoint; ``resume=True`` needs a started run. ``RunDir(path)`` checks and opens at once;
    :meth:`checked` checks only (creates nothing), so that bad input fails before any work, and
    :meth:`open` creates the folder when the work starts (the folder is checked once per run).
    """

    CONFIG = CONFIG
    METRICS = METRICS
    FINAL = FINAL
    CHECKPOINT = CHECKPOINT

    def __init__(self, path: str | Path, *, resume: bool = False, open: bool = True):
        self.path = Path(path)
        self.resume = resume
        self.state = check_out_dir(self.path, resume=resume)
        self.opened = False
        if open:
            self.open()

    @classmethod
    def checked(cls, path: str | Path, *, resume: bool = False) -> RunDir:
        """The run directory checked (rule + writable), not yet created: :meth:`open` it to start."""
        return cls(path, resume=resume, open=False)

    @classmethod
    def of(cls, run: str | Path | RunDir, *, resume: bool = False) -> RunDir:
        """``run`` if it is a :class:`RunDir` already (checked by the caller), else the path checked."""
        return run if isinstance(run, RunDir) else cls.checked(run, resume=resume)

    def open(self) -> RunDir:
        """Create the folder; a plain start of a run that died before its first checkpoint clears its
        stale files (restart in place). Idempotent."""
        if self.opened:
            return self
        with os_errors(self.path, "create run directory"):
            self.path.mkdir(parents=True, exist_ok=True)
        if not self.resume and self.state == "started":  # restart in place: a run with no checkpoint
            for name in _STALE:
                with os_errors(self.file(name), "remove"):
                    self.file(name).unlink(missing_ok=True)
        self.opened = True
        return self

    def resumed_config(self, model: type[M], overrides: dict[str, Any], *,
                       free: tuple[str, ...] | None = None) -> M:
        """The saved ``config.yaml`` of this (resumed) run under :func:`resume_rule` with ``overrides``;
        ``free`` defaults to ``model.RESUME_FREE``."""
        from hdx.config import read_yaml, validate

        p = self.file(CONFIG)
        if not p.is_file():
            raise HDXError(f"nothing to resume in {self.path}: no {CONFIG} there (start without --resume)")
        saved = validate(model, read_yaml(p), f"saved config {p}")
        return resume_rule(saved, overrides, free=getattr(model, "RESUME_FREE", ()) if free is None else free,
                           where=self.path)

    @property
    def config_to_write(self) -> bool:
        """Whether this run writes its ``config.yaml``: a new run, a restart in place, or a resumed run
        that never checkpointed."""
        return not self.resume or self.restartable

    @property
    def restartable(self) -> bool:
        """Resumed, but nothing was checkpointed yet: the run starts from the beginning."""
        return self.state == "started"

    def file(self, name: str) -> Path:
        return self.path / name

    def write_config(self, config: BaseModel | dict) -> None:
        """The resolved config as YAML."""
        atomic_write_text(self.file(self.CONFIG), dump_yaml(config))

    def log(self, record: dict[str, Any]) -> None:
        """Append one strict-JSON line to metrics.jsonl (flushed)."""
        append_line(self.file(self.METRICS), dumps_json(record, what=self.METRICS))

    def _metric_lines(self) -> list[str]:
        return _metric_lines(self.file(self.METRICS))

    def truncate_metrics(self, keep: Callable[[dict[str, Any]], bool]) -> None:
        """On resume: keep only the metric lines for which ``keep(record)`` is true (drops steps
        logged after the checkpoint that is resumed)."""
        if not self.file(self.METRICS).exists():
            return
        kept = []
        for ln in self._metric_lines():
            rec = _parse_line(ln)
            if rec is not None and keep(rec):
                kept.append(ln)
        atomic_write_text(self.file(self.METRICS), "".join(k + "\n" for k in kept))

    def read_metrics(self) -> list[dict[str, Any]]:
        """The records of ``metrics.jsonl`` (a line cut by a kill is skipped)."""
        return read_metrics(self.path)

    def write_final(self, final: dict[str, Any]) -> None:
        atomic_write_json(self.file(self.FINAL), final)

    def save_checkpoint(self, state: dict[str, Any], name: str = CHECKPOINT) -> None:
        """``torch.save`` the state atomically (plain tensors, numbers, strings, lists and dicts only:
        it must load with ``weights_only=True``)."""
        import io

        import torch

        buf = io.BytesIO()
        torch.save(state, buf)
        atomic_write_bytes(self.file(name), buf.getvalue())

    def load_checkpoint(self, name: str = CHECKPOINT, *, keys: set[str] | None = None
                        ) -> dict[str, Any] | None:
        """The saved state (``weights_only=True``: no code runs), or None if there is none.

        ``keys``: the exact top-level keys a valid checkpoint has; anything else is a one-line error.
        """
        p = self.file(name)
        if not p.is_file():
            return None
        st = load_torch(p)
        if not isinstance(st, dict):
            raise HDXError(f"checkpoint {p} is not an HDX checkpoint (a {type(st).__name__}); delete it to "
                           f"start over")
        if keys is not None and set(st) != keys:
            diff = sorted(map(str, set(st) ^ keys))[:4]
            raise HDXError(f"checkpoint {p} is not a checkpoint of this command (unexpected or missing "
                           f"keys: {', '.join(diff)}); delete it to start over or choose another --out")
        return st


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The records of the ``metrics.jsonl`` of the run in ``path`` (a line cut by a kill is skipped)."""
    return [r for r in map(_parse_line, _metric_lines(Path(path) / METRICS)) if r is not None]


def _metric_lines(p: Path) -> list[str]:
    if not p.exists():
        return []
    with os_errors(p, "read"):
        raw = p.read_bytes()
    return raw.decode("utf-8", errors="replace").splitlines()


def _parse_line(ln: str) -> dict | None:
    try:
        rec = json.loads(ln)
    except json.JSONDecodeError:
        return None  # a line cut by a kill
    return rec if isinstance(rec, dict) else None
