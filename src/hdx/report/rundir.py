"""A run directory per run: ``config.yaml``, ``metrics.jsonl``, ``final.json``, checkpoints, plots.

Every file is written atomically (temporary file in the same folder, then :func:`os.replace`), so an
interrupted run never leaves a half-written result or checkpoint behind.
"""

from __future__ import annotations

import io
import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from hdx import __version__
from hdx.config import dump_yaml
from hdx.errors import HDXError


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(o: Any) -> Any:
    if isinstance(o, BaseModel):
        return o.model_dump(mode="json")
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def versions() -> dict[str, str]:
    """Versions of HDX and its main dependencies (recorded in every final.json)."""
    import numpy
    import torch

    return {"hdx": __version__, "torch": torch.__version__, "numpy": numpy.__version__,
            "python": platform.python_version()}


class RunDir:
    """One run's folder. ``resume=False`` refuses a folder that already holds a run."""

    CONFIG = "config.yaml"
    METRICS = "metrics.jsonl"
    FINAL = "final.json"
    CHECKPOINT = "checkpoint.pt"

    def __init__(self, path: str | Path, *, resume: bool = False):
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise HDXError(f"run directory {self.path} is a file; choose another --out")
        if not resume and self.path.is_dir() and any(
                (self.path / n).exists() for n in (self.METRICS, self.FINAL, self.CHECKPOINT)):
            raise HDXError(f"run directory {self.path} already holds a run; pass --resume to continue it "
                           f"or choose another --out")
        if resume and not (self.path / self.CHECKPOINT).is_file():
            raise HDXError(f"nothing to resume in {self.path}: no {self.CHECKPOINT} there "
                           f"(start without --resume)")
        self.path.mkdir(parents=True, exist_ok=True)

    def file(self, name: str) -> Path:
        return self.path / name

    def write_config(self, config: BaseModel | dict) -> None:
        """The resolved config as YAML."""
        atomic_write_text(self.file(self.CONFIG), dump_yaml(config))

    def log(self, record: dict[str, Any]) -> None:
        """Append one JSON line to metrics.jsonl (flushed)."""
        with open(self.file(self.METRICS), "a") as f:
            f.write(json.dumps(record, default=_json_default) + "\n")
            f.flush()

    def truncate_metrics(self, keep: callable) -> None:
        """On resume: keep only the metric lines for which ``keep(record)`` is true (drops steps
        logged after the checkpoint that is resumed)."""
        p = self.file(self.METRICS)
        if not p.exists():
            return
        lines = [ln for ln in p.read_text().splitlines() if ln.strip()]
        kept = []
        for ln in lines:
            try:
                rec = json.loads(ln)
            except json.JSONDecodeError:
                continue  # a line cut by a kill
            if keep(rec):
                kept.append(ln)
        atomic_write_text(p, "".join(k + "\n" for k in kept))

    def read_metrics(self) -> list[dict[str, Any]]:
        p = self.file(self.METRICS)
        if not p.exists():
            return []
        out = []
        for ln in p.read_text().splitlines():
            try:
                out.append(json.loads(ln))
            except json.JSONDecodeError:
                continue
        return out

    def write_final(self, final: dict[str, Any]) -> None:
        atomic_write_json(self.file(self.FINAL), final)

    def save_checkpoint(self, state: dict[str, Any], name: str = CHECKPOINT) -> None:
        """``torch.save`` the state atomically."""
        import torch

        buf = io.BytesIO()
        torch.save(state, buf)
        atomic_write_bytes(self.file(name), buf.getvalue())

    def load_checkpoint(self, name: str = CHECKPOINT) -> dict[str, Any] | None:
        """The saved state, or None if there is none; a corrupt file is a clear error."""
        import torch

        p = self.file(name)
        if not p.is_file():
            return None
        try:
            return torch.load(p, map_location="cpu", weights_only=False)
        except Exception as e:  # noqa: BLE001 - any unpickling failure means a corrupt file
            raise HDXError(f"checkpoint {p} is corrupt or unreadable ({type(e).__name__}); delete it to "
                           f"start over") from None
