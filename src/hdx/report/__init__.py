"""Run directories, result files, the report (figures + HTML) and exports.

:func:`write_report` draws the figures of one or several search runs and writes one self-contained
HTML page; it returns the page's path.
"""

from __future__ import annotations

from pathlib import Path


def write_report(run_dirs: list[str | Path] | str | Path, out: str | Path | None = None) -> Path:
    """See :func:`hdx.report.html.write_report`."""
    from hdx.report.html import write_report as _write

    return _write(run_dirs, out)


__all__ = ["write_report"]
