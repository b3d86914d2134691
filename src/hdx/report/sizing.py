"""The sizing figure of ``hdx cost --by KNOBS --plot FILE``: the best design at each knob value
(:mod:`hdx.cost.sizing`) as four panels on log scales — objective, latency, energy (its DRAM part
dashed) and area — against the first knob's values, one line per value of the second knob; a value none
of whose designs meets the budgets is a hollow marker (its closest design), each hard budget a dotted
line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hdx.cost.sizing import value_text
from hdx.report.figures import UNITS, _plain_log, literal, plain, plt, save


@literal
def fig_sizing(rows: list[dict], knobs: list[str], budgets: list[dict] | None = None, title: str = ""):
    """The figure of ``rows`` (``hdx.api.cost(by=...)``'s ``by``; one or two ``knobs``, the first on the
    x axis in the table's order). ``budgets``: ``{"metric", "limit"}`` of the hard budgets (ms, mJ, mm²)."""
    if not rows or not 1 <= len(knobs) <= 2:
        raise ValueError("the sizing figure draws rows of one or two knobs")
    first = list(dict.fromkeys(value_text(knobs[0], r["values"][knobs[0]]) for r in rows))
    series: dict[str, list[dict]] = {}
    for r in rows:
        key = ", ".join(f"{k}={value_text(k, r['values'][k])}" for k in knobs[1:2])
        series.setdefault(key, []).append(r)
    fig, grid = plt.subplots(2, 2, figsize=(11, 7.5))
    axes = grid.ravel()
    panels = [("objective", "objective", lambda r: r["objective_value"]),
              ("latency", f"latency ({UNITS['latency']})", lambda r: r["latency_ms"]),
              ("energy", f"energy ({UNITS['energy']}); DRAM dashed", lambda r: r["energy_mj"]),
              ("area", f"area ({UNITS['area']})", lambda r: r["area_mm2"])]
    limits = {b["metric"]: b["limit"] for b in budgets or []}
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for n, (key, rs) in enumerate(series.items()):
        c = colours[n % len(colours)]
        x = np.array([first.index(value_text(knobs[0], r["values"][knobs[0]])) for r in rs])
        ok = np.array([r["feasible"] for r in rs])
        for ax, (metric, _, get) in zip(axes, panels, strict=True):
            y = np.array([get(r) for r in rs], dtype=float)
            ax.plot(x, y, "-", color=c, label=plain(key) if key else None)
            ax.plot(x[ok], y[ok], "o", color=c)
            ax.plot(x[~ok], y[~ok], "o", mfc="none", color=c)
            if metric == "energy":
                ax.plot(x, [r["energy_parts_mj"].get("dram", 0.0) for r in rs], "--", color=c)
    for ax, (metric, ylabel, _) in zip(axes, panels, strict=True):
        ax.set_xticks(range(len(first)), [plain(v, 12) for v in first], rotation=45 if len(first) > 6 else 0)
        ax.set_xlabel(plain(knobs[0]))
        ax.set_ylabel(ylabel)
        ax.set_yscale("log")
        _plain_log(ax.yaxis)
        if metric in limits:
            ax.axhline(limits[metric], color="black", ls=":", lw=1, label="budget")
        ax.grid(alpha=0.3)
    if len(series) > 1 or limits:
        axes[1].legend(fontsize=7, loc="best")
    hollow = ("" if all(r["feasible"] for r in rows)
              else "; hollow: no design meets the budgets (its closest shown)")
    fig.suptitle(plain(f"{title}best design per {', '.join(knobs)}{hollow}", 200), fontsize=10)
    fig.tight_layout()
    return fig


def check_plot_path(path: str | Path) -> Path:
    """``path`` if the figure may be written there (before any search runs): it names a ``.png`` file
    that does not exist yet or is a regular file; else a one-line :class:`HDXError`."""
    from hdx.errors import HDXError

    text = str(path).strip()
    if not text:
        raise HDXError("--plot needs a file path ending in .png, e.g. --plot sizing.png")
    p = Path(text)
    if p.suffix.lower() != ".png":
        raise HDXError(f"--plot writes a PNG figure: give a path ending in .png, got '{plain(text, 80)}'")
    if p.exists() and not p.is_file():
        raise HDXError(f"--plot {plain(text, 80)} exists and is not a regular file; give a new file path")
    folder = next((a for a in p.parents if a.exists()), None)  # the nearest part of the path that exists
    if folder is not None and not folder.is_dir():
        raise HDXError(f"--plot {plain(text, 80)}: {plain(folder, 80)} is a file, not a folder; give a path "
                       f"in a folder")
    return p


def save_sizing(rows: list[dict], knobs: list[str], path: str | Path, budgets: list[dict] | None = None,
                title: str = "") -> Path:
    """Draw :func:`fig_sizing` and write it as PNG at ``path`` (atomically)."""
    return save(fig_sizing(rows, knobs, budgets, title), Path(path))
