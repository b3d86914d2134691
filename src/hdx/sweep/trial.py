"""One trial of a sweep = one ordinary ``hdx search`` run directory.

:func:`run_trial` is the single adapter between the sweep and the search: it runs exactly what
``hdx search --config CONFIG --out OUT_DIR [--resume]`` runs (:func:`hdx.api.search`),
catches any failure and records the outcome in ``OUT_DIR/trial.json`` (status, error, wall time).
It never raises, so one failing trial cannot stop a sweep.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path

TRIAL_FILE = "trial.json"


def _error_line(e: BaseException) -> str:
    from hdx.errors import HDXError

    if isinstance(e, HDXError):
        return " ".join(str(e).split())[:500]
    tb = traceback.extract_tb(e.__traceback__)
    where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
    msg = " ".join(str(e).split())[:400]
    return f"{type(e).__name__}: {msg}{where}"


def run_trial(config, out_dir: str | Path, resume: bool = False) -> dict:
    """Run one search (``config``: a :class:`~hdx.search.config.SearchConfig`) in ``out_dir``.

    ``resume``: continue a run that holds a checkpoint (or restart one that died before its first).
    Returns ``{"status": "finished" | "failed", "error": str | None, "wall_s": float}`` (seconds of
    this call), also written to ``out_dir/trial.json``.
    """
    from hdx.api import search
    from hdx.report.rundir import run_state
    from hdx.safeio import atomic_write_json

    out = Path(out_dir)
    t0 = time.perf_counter()
    (out / TRIAL_FILE).unlink(missing_ok=True)  # a stale outcome of an earlier attempt
    try:
        search(config=config, out=out, resume=resume and run_state(out) != "new")
        rec = {"status": "finished", "error": None}
    except Exception as e:  # noqa: BLE001 - any failure is recorded; the sweep goes on
        rec = {"status": "failed", "error": _error_line(e)}
    rec["wall_s"] = time.perf_counter() - t0
    try:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out / TRIAL_FILE, rec)
    except Exception as e:  # noqa: BLE001 - the caller still gets the record
        rec["error"] = (rec["error"] or "") + f" (and {TRIAL_FILE} not written: {_error_line(e)})"
    return rec


def run_warmup(config, path: str | Path) -> dict:
    """Make the shared warm-up file of ``config`` at ``path`` (:func:`hdx.search.loop.make_warmup`);
    never raises: ``{"status", "error", "wall_s", "path"}``."""
    from hdx.runtime import apply_threads
    from hdx.search.loop import make_warmup

    t0 = time.perf_counter()
    try:
        apply_threads(config.threads)
        make_warmup(config, path)
        rec = {"status": "finished", "error": None}
    except Exception as e:  # noqa: BLE001
        rec = {"status": "failed", "error": _error_line(e)}
    return {**rec, "wall_s": time.perf_counter() - t0, "path": str(path)}
