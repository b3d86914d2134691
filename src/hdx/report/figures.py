"""The report's figures (matplotlib, headless Agg backend), each drawn from :mod:`hdx.report.load`'s
records and :mod:`hdx.report.analysis`' views, saved as PNG.

Each ``fig_*`` function returns a :class:`matplotlib.figure.Figure`; :func:`save` writes it.

Every text that comes from a run directory is drawn literally: figures are built and saved with
mathtext and TeX off (``text.parse_math`` / ``text.usetex`` false, so ``$x$``, ``\\frac`` or ``%`` in
a run field are just characters), and :func:`plain` turns each such string into one short line
(control characters become spaces, at most :data:`MAX_LABEL_CHARS` characters), so no field can
make a figure too large to draw.
"""

from __future__ import annotations

import functools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: never open a window or need a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from hdx.report.analysis import GridView, LayerView  # noqa: E402
from hdx.report.load import Run  # noqa: E402

UNITS = {"latency": "ms", "energy": "mJ", "area": "mm²"}
#: a grid of more designs than this is drawn as a density (hexbin) instead of one point per design
DENSITY_ABOVE = 20_000
LEVEL_COLOURS = {"mac": "#4c72b0", "rf": "#55a868", "glb": "#dd8452", "dram": "#c44e52"}
DPI = 110
MAX_LABEL_CHARS = 120
#: more epochs than this: the architecture grid is drawn without per-cell op names and epoch ticks
MAX_LABELLED_EPOCHS = 40
_LITERAL = {"text.parse_math": False, "text.usetex": False}


def plain(text: object, limit: int = MAX_LABEL_CHARS) -> str:
    """``text`` as one literal line for a figure: control characters (newlines, tabs, ...) become
    spaces, runs of spaces collapse, and a longer text is cut to ``limit`` characters with an ellipsis.
    (Mathtext is off while figures are built and saved, see :func:`literal`, so ``$`` stays a dollar.)"""
    s = " ".join("".join(ch if ch.isprintable() else " " for ch in str(text)[:4 * limit]).split())
    return s if len(s) <= limit else s[:limit - 1] + "…"


def literal(fn):
    """Run ``fn`` with mathtext and TeX off: every Text it creates (titles, legends, tick labels, also
    those made while saving) is drawn as plain characters."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(_LITERAL):
            return fn(*args, **kwargs)

    return wrapper


def _plain_log(*axes) -> None:
    """Plain tick labels (1, 2, 5, 10, 0.2 ...) on log axes: the default ones are mathtext, which
    :func:`literal` turns off."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    fmt = FuncFormatter(lambda v, _: f"{v:g}")
    for axis in axes:
        axis.set_major_locator(LogLocator(base=10))
        axis.set_major_formatter(fmt)
        axis.set_minor_locator(LogLocator(base=10, subs=(2, 5)))
        axis.set_minor_formatter(fmt)


@literal
def save(fig: Figure, path: Path) -> Path:
    """Write ``fig`` as PNG (atomically) and close it."""
    import io

    from hdx.safeio import atomic_write_bytes

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return path


def _final_value(run: Run, metric: str) -> float:
    return run.final.accelerator.metrics[metric]


@literal
def fig_trajectory(run: Run) -> Figure:
    """Predicted value of each budgeted metric per architecture step against its limit and internal
    target; steps where the HDX correction fired; re-check phase; the ground-truth value of the final
    design."""
    budgets = list(run.final.accelerator.budgets)
    metrics = [b.metric for b in budgets] or ["latency", "energy"]
    fig, axes = plt.subplots(len(metrics), 1, figsize=(9, 2.8 * len(metrics)), squeeze=False, sharex=True)
    steered = ([b for b in budgets if b.kind == "hard" and b.metric != "area"]
               if run.final.method == "hdx" else [])
    x = np.asarray(run.step_index if run.step_index is not None else range(len(run.steps)), dtype=np.int64)
    fired = np.array([s.fired for s in run.steps], dtype=bool)
    recheck = np.array([s.phase == "recheck" for s in run.steps], dtype=bool)
    for i, metric in enumerate(metrics):
        ax = axes[i, 0]
        b = budgets[i] if budgets else None
        key = (b.metric if b.kind == "hard" else f"{b.metric}_soft") if b else metric
        checked = np.array([s.budgets[key].value if key in s.budgets else s.pred_argmax.get(metric, np.nan)
                            for s in run.steps])
        relaxed = np.array([s.pred.get(metric, np.nan) for s in run.steps])
        if len(x):
            ax.plot(x, relaxed, color="#9aa9c7", lw=1, label="predicted (relaxed α)")
            ax.plot(x, checked, color="#1f3b73", lw=1.4, label="predicted, checked value")
            if fired.any():
                ax.scatter(x[fired], checked[fired], s=14, color="#d62728", zorder=3,
                           label=f"HDX correction fired ({run.fired_count} steps)")
            if recheck.any():
                ax.axvspan(x[recheck].min() - 0.5, x[recheck].max() + 0.5, color="#f3e6c4", alpha=0.6,
                           label="re-check steps")
            if b is not None and b in steered:
                j = steered.index(b)
                tg = np.array([s.targets[j] if s.targets and j < len(s.targets) else np.nan
                               for s in run.steps])
                ax.plot(x, tg, color="#2ca02c", lw=1.3, ls="--", zorder=3, label="internal target")
        if b is not None:
            ax.axhline(b.limit, color="#d62728", lw=1.2, ls="-", label=f"limit {plain(b.budget)}")
        gt = _final_value(run, metric)
        xe = (x.max() + 1) if len(x) else 0
        ok = b.met if b is not None else True
        ax.scatter([xe], [gt], marker="*", s=180, color="#2ca02c" if ok else "#d62728", edgecolor="k",
                   zorder=4, label=f"final design, ground truth {gt:.4g} {UNITS[metric]}"
                   + ("" if b is None else (" (met)" if ok else " (MISSED)")))
        ax.set_ylabel(f"{metric} ({UNITS[metric]})")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper right")
    axes[-1, 0].set_xlabel("architecture step")
    axes[0, 0].set_title(f"Search trajectory: {plain(run.label())}")
    fig.tight_layout()
    return fig


@literal
def fig_architecture(run: Run, op_names: list[str]) -> Figure:
    """Argmax op per layer at the end of every epoch, and the final α distribution per layer."""
    epochs = run.epochs
    probs = np.array(run.final.alpha_probs, dtype=np.float64)
    n_pos = probs.shape[0] if probs.ndim == 2 and probs.size else len(run.final.arch.split(","))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, max(3.0, 0.42 * n_pos + 1.2)),
                                 gridspec_kw={"width_ratios": [max(2, len(epochs)), max(2, len(op_names))]})
    cmap = plt.get_cmap("tab10", max(1, len(op_names)))
    if epochs:
        grid = np.full((n_pos, len(epochs)), np.nan)
        for j, e in enumerate(epochs):
            for p, op in enumerate(e.arch.split(",", n_pos)[:n_pos]):
                if op in op_names:
                    grid[p, j] = op_names.index(op)
        a1.imshow(grid, aspect="auto", cmap=cmap, vmin=-0.5, vmax=len(op_names) - 0.5,
                  interpolation="nearest")
        if len(epochs) <= MAX_LABELLED_EPOCHS:
            for p in range(n_pos):
                for j in range(len(epochs)):
                    if not np.isnan(grid[p, j]):
                        a1.text(j, p, plain(op_names[int(grid[p, j])]), ha="center", va="center", fontsize=7)
            a1.set_xticks(range(len(epochs)), [str(e.epoch + 1) for e in epochs])
    else:
        a1.text(0.5, 0.5, "no epoch records", ha="center", va="center", transform=a1.transAxes)
    a1.set_yticks(range(n_pos), [f"layer {p}" for p in range(n_pos)])
    a1.set_xlabel("epoch")
    a1.set_title("argmax op per layer at each epoch end")
    if probs.ndim == 2 and probs.size:
        im = a2.imshow(probs, aspect="auto", cmap="viridis", vmin=0, vmax=1)
        a2.set_xticks(range(len(op_names)), [plain(o) for o in op_names], rotation=45, ha="right")
        a2.set_yticks(range(n_pos), [f"layer {p}" for p in range(n_pos)])
        final = run.final.arch.split(",", n_pos)
        for p, op in enumerate(final[:n_pos]):
            if op in op_names:
                a2.add_patch(plt.Rectangle((op_names.index(op) - 0.5, p - 0.5), 1, 1, fill=False,
                                           edgecolor="#d62728", lw=1.5))
        fig.colorbar(im, ax=a2, fraction=0.05, label="probability")
    a2.set_title("final α distribution (red: derived network)")
    fig.tight_layout()
    return fig


@literal
def fig_grid(run: Run, gv: GridView) -> Figure:
    """Latency vs energy of every accelerator of the grid for the final network (area as colour), the
    Pareto front, the budget lines, the chosen design and the generator's choice."""
    fig, ax = plt.subplots(figsize=(8.5, 6))
    dense = gv.designs > DENSITY_ABOVE
    if dense:  # too many points to see: their density (log count per hexagon)
        from matplotlib.colors import LogNorm

        hb = ax.hexbin(gv.latency_ms, gv.energy_mj, xscale="log", yscale="log", norm=LogNorm(), gridsize=70,
                       cmap="Greys", mincnt=1, linewidths=0)
        _plain_log(fig.colorbar(hb, ax=ax, label="designs per cell").ax.yaxis)
    else:
        sc = ax.scatter(gv.latency_ms, gv.energy_mj, c=gv.area_mm2, cmap="viridis", s=10, alpha=0.75,
                        linewidths=0)
        fig.colorbar(sc, ax=ax, label="area (mm²)")
    front = gv.pareto()
    ax.plot(gv.latency_ms[front], gv.energy_mj[front], color="k", lw=1.2, drawstyle="steps-post",
            label=f"Pareto front ({len(front)} designs)")
    for b in run.final.accelerator.budgets:
        if b.metric == "latency":
            ax.axvline(b.limit, color="#d62728", ls="--", lw=1.2, label=f"budget {plain(b.budget)}")
        elif b.metric == "energy":
            ax.axhline(b.limit, color="#d62728", ls=":", lw=1.2, label=f"budget {plain(b.budget)}")
        elif b.metric == "area":
            hi = gv.area_mm2 > b.limit
            if dense and hi.any():  # the front of the designs the area budget allows
                ok = gv.pareto(~hi)
                ax.plot(gv.latency_ms[ok], gv.energy_mj[ok], color="#2ca02c", lw=1.2, drawstyle="steps-post",
                        label=f"front within {plain(b.budget)} ({len(ok)} designs)")
            elif hi.any():
                ax.scatter(gv.latency_ms[hi], gv.energy_mj[hi], marker="x", s=8, color="#bbbbbb", lw=0.6,
                           label=f"over budget {plain(b.budget)}")
    c, g = run.final.accelerator, run.final.accelerator_generator
    ax.scatter([c.latency_ms], [c.energy_mj], marker="*", s=320, color="#ff7f0e", edgecolor="k", zorder=5,
               label=f"chosen: {plain(c.accelerator)}")
    ax.scatter([g.latency_ms], [g.energy_mj], marker="D", s=80, facecolor="none", edgecolor="#d62728",
               lw=2, zorder=6, label=f"generator's choice: {plain(g.accelerator)}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_log(ax.xaxis, ax.yaxis)
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("energy (mJ)")
    ax.set_title(f"Accelerator grid for {plain(run.final.arch)} ({gv.designs} designs, "
                 f"{plain(gv.backend, 60)})", fontsize=9)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig


@literal
def fig_layers(run: Run, lv: LayerView) -> Figure:
    """Latency and energy per layer of the chosen design; energy split by level (MAC/RF/GLB/DRAM)."""
    n = len(lv.names)
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(max(8, 0.32 * n + 2), 7), sharex=True)
    x = np.arange(n)
    a1.bar(x, lv.latency_ms * 1e3, color="#4c72b0")
    a1.set_ylabel("latency (µs)")
    a1.set_title(f"Per-layer costs of {plain(run.final.arch)} on {plain(run.final.accelerator.accelerator)} "
                 f"({plain(lv.backend, 60)})", fontsize=9)
    bottom = np.zeros(n)
    for level, e in lv.energy_uj.items():
        a2.bar(x, e, bottom=bottom, color=LEVEL_COLOURS.get(level), label=f"{level.upper()} "
               f"({e.sum():.3g} µJ total)")
        bottom += e
    a2.set_ylabel("energy (µJ)")
    a2.legend(fontsize=8)
    a2.set_xticks(x, [plain(n, 40) for n in lv.names], rotation=90, fontsize=7)
    for ax in (a1, a2):
        ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def accuracy_of(run: Run) -> tuple[float, str]:
    """(accuracy in %, which): the retrained test accuracy if the network was retrained (accuracy at
    equal latency compares trained networks), else the inherited test, else validation; NaN if none."""
    if run.final.retrained is not None:
        return 100 * run.final.retrained.test_accuracy, "retrained"
    for k in ("test_acc", "val_acc"):
        if k in run.final.accuracy_inherited:
            return 100 * run.final.accuracy_inherited[k], k.replace("_acc", "")
    return float("nan"), "none"


@literal
def fig_compare(runs: list[Run]) -> Figure:
    """The HDX paper's comparison: accuracy vs ground-truth latency, one marker per method, budget
    lines; filled markers met every hard budget, hollow red-edged ones missed one."""
    markers = {"hdx": "o", "dance": "s", "nas-then-hw": "^"}
    fig, ax = plt.subplots(figsize=(8, 5.5))
    seen = set()
    for r in runs:
        acc, _ = accuracy_of(r)
        m = r.final.method
        ok = r.final.feasible
        ax.scatter([r.final.accelerator.latency_ms], [acc], marker=markers.get(m, "P"), s=90,
                   facecolor=f"C{list(markers).index(m) if m in markers else 3}" if ok else "none",
                   edgecolor="k" if ok else "#d62728", lw=1.5 if ok else 2.2,
                   label=plain(m, 40) if m not in seen else None, zorder=3)
        seen.add(m)
        ax.annotate(f"{plain(r.name, 60)} ({'met' if ok else 'MISSED'})",
                    (r.final.accelerator.latency_ms, acc), textcoords="offset points", xytext=(6, 4),
                    fontsize=7)
    limits = sorted({(b.limit, b.budget) for r in runs for b in r.final.accelerator.budgets
                     if b.metric == "latency"})
    for lim, text in limits:
        ax.axvline(lim, color="#d62728", ls="--", lw=1, label=f"budget {plain(text)}")
    ax.set_xlabel("latency, ground truth (ms)")
    ax.set_ylabel("accuracy (%): retrained test where measured, else inherited")
    ax.set_title("Runs compared: accuracy vs ground-truth latency (hollow red = hard budget missed)",
                 fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
