"""``hdx report``: PNG figures and one self-contained HTML page for one or several search runs.

The page embeds every figure as a ``data:image/png;base64`` URI (the PNGs are also written beside
it), uses inline CSS only and loads nothing from the network. Every text taken from a run is
HTML-escaped (and drawn literally in the figures, :func:`hdx.report.figures.plain`). A figure that
cannot be drawn from a run's records (a damaged run directory the schema let through) is one line
naming the run and the figure, never a traceback.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from hdx.errors import HDXError
from hdx.report.load import Run, expand_run_dirs, is_sweep_dir, load_run

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1100px;
color:#222;padding:0 16px}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:2em}
table{border-collapse:collapse;margin:8px 0;font-size:.9em}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:left}th{background:#f3f3f3}.ok{color:#1a7f37;font-weight:bold}.bad{color:#c62828;font-weight:bold}
.verdict{font-size:1.15em;padding:8px 12px;border-radius:6px;display:inline-block;margin:6px 0}
.verdict.ok{background:#e6f4ea}.verdict.bad{background:#fdecea}figure{margin:16px 0}
figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:.85em;color:#555}
code{background:#f5f5f5;padding:1px 4px;border-radius:3px}
"""


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _img(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{_e(caption)}" '
            f'data-file="{_e(path.name)}"><figcaption>{_e(caption)} '
            f'(<code>{_e(path.name)}</code>)</figcaption></figure>')


def verdict_text(run: Run) -> str:
    """The budget verdict line shown on the page."""
    if run.final.feasible:
        return "FEASIBLE: every hard budget met (ground truth)"
    return "INFEASIBLE: a hard budget is missed; the design shown is the closest found, not a solution"


def _run_section(run: Run, figs: list[tuple[Path, str]]) -> str:
    from hdx.search.fill import fill_summary

    f = run.final
    c, g = f.accelerator, f.accelerator_generator
    acc = (", ".join(f"{k.replace('_acc', '')} {100 * v:.1f}%" for k, v in f.accuracy_inherited.items())
           or "not measured")
    rows = "".join(
        f"<tr><td>{_e(b.budget)}</td><td>{_e(b.kind)}</td><td>{b.limit:.4g}</td><td>{b.value:.4g}</td>"
        f"<td>{100 * b.slack:+.1f}%</td><td class=\"{'ok' if b.met else 'bad'}\">"
        f"{'met' if b.met else 'MISSED'}</td></tr>" for b in f.accelerator.budgets)
    budgets = (f"<table><tr><th>budget</th><th>kind</th><th>limit</th><th>ground truth</th><th>slack</th>"
               f"<th>verdict</th></tr>{rows}</table>" if rows
               else "<p>No budgets (unconstrained search).</p>")
    cfg = run.config
    data = "fake data (test)" if cfg.fake_data else f"CIFAR-10, subset {cfg.subset or 'all'}"
    ok = "ok" if f.feasible else "bad"
    same = " (same as chosen)" if g.accel_index == c.accel_index else ""
    out = [
        f'<section class="run" id="run-{_e(run.name)}"><h2>Run <code>{_e(run.path)}</code></h2>',
        f'<div class="verdict {ok}" id="verdict">{_e(verdict_text(run))}</div>',
        "<table>",
        f'<tr><th>network</th><td class="network"><code>{_e(f.arch)}</code> (space {_e(f.space)})</td></tr>',
        f'<tr><th>accelerator</th><td class="accelerator"><code>{_e(c.accelerator)}</code> (exhaustive '
        f"ground-truth search of grid {_e(f.accel_space)} under the hard budgets)</td></tr>",
        f"<tr><th>generator's accelerator</th><td><code>{_e(g.accelerator)}</code>{same}</td></tr>",
        f"<tr><th>ground-truth costs</th><td>latency {c.latency_ms:.4g} ms, energy {c.energy_mj:.4g} mJ, "
        f"area {c.area_mm2:.4g} mm², {_e(f.objective)} {f.objective_value:.4g}</td></tr>",
        f"<tr><th>accuracy</th><td>{_e(acc)} (inherited supernet weights)</td></tr>",
        *([f"<tr><th>retrained</th><td class=\"retrained\">test {100 * f.retrained.test_accuracy:.2f}% "
           f"({f.retrained.test_images:,} test images), {f.retrained.params:,} params, "
           f"{f.retrained.macs / 1e6:.1f} M MACs, width {f.retrained.width_mult:g}, {f.retrained.epochs} "
           f"epochs from scratch ({_e(f.retrained.config)})</td></tr>"] if f.retrained is not None else []),
        f"<tr><th>search</th><td>method {_e(f.method)}, {cfg.epochs} epochs ({cfg.warmup_epochs} warm-up), "
        f"width {cfg.width_mult:g}, seed {cfg.seed}, {_e(data)}, {len(run.steps)} architecture steps, "
        f"{len(f.recheck_rounds)} re-check round(s)</td></tr>",
        *[f"<tr><th>budget fill</th><td class=\"fill\">{_e(x)}</td></tr>" for x in fill_summary(f)],
        f'<tr><th>second opinion</th><td class="check">ZigZag, an independent cost model, costs this design '
        f"with <code>{_e(f.check_command(cfg))}</code></td></tr>",
        "</table>", budgets,
    ]
    out += [_img(p, cap) for p, cap in figs]
    out.append("</section>")
    return "\n".join(out)


def _compare_table(runs: list[Run]) -> str:
    from hdx.report.figures import accuracy_of

    rows = []
    for r in runs:
        f, c = r.final, r.final.accelerator
        acc, which = accuracy_of(r)
        budgets = "; ".join(f"{b.budget} {'met' if b.met else 'MISSED'}, slack {100 * b.slack:+.1f}%"
                            for b in f.accelerator.budgets) or "none"
        rows.append(f"<tr><td><code>{_e(r.name)}</code></td><td>{_e(f.method)}</td><td><code>{_e(f.arch)}"
                    f"</code></td><td><code>{_e(c.accelerator)}</code></td><td>{c.latency_ms:.4g}</td>"
                    f"<td>{c.energy_mj:.4g}</td><td>{c.area_mm2:.4g}</td><td>{acc:.1f} ({which})</td>"
                    f"<td>{_e(budgets)}</td><td class=\"{'ok' if f.feasible else 'bad'}\">"
                    f"{'feasible' if f.feasible else 'INFEASIBLE'}</td></tr>")
    return ("<table><tr><th>run</th><th>method</th><th>network</th><th>accelerator</th><th>latency ms</th>"
            "<th>energy mJ</th><th>area mm²</th><th>accuracy %</th><th>budgets (ground truth)</th>"
            "<th>verdict</th></tr>" + "".join(rows) + "</table>")


def _draw(what: str, runs: list[Run], make):
    """``make()`` (draw and save one figure); an unexpected error of the drawing libraries on a run's
    records becomes one line naming the figure and the run(s)."""
    from hdx.safeio import first_line

    try:
        return make()
    except HDXError:
        raise
    except (ValueError, TypeError, IndexError, KeyError, OverflowError, ZeroDivisionError, RuntimeError,
            AttributeError, MemoryError) as e:
        names = ", ".join(str(r.path) for r in runs[:3]) + (" ..." if len(runs) > 3 else "")
        raise HDXError(f"cannot draw the {what} figure of {names}: {type(e).__name__}: {first_line(e, 120)}; "
                       f"the run directory is damaged or from another HDX version") from None


#: the figures of each run: (file stem, how to draw it from (figures, analysis, run), caption)
_RUN_FIGURES = [
    ("trajectory", lambda F, A, r: F.fig_trajectory(r),
     "Search trajectory: predicted budgeted metrics per architecture step vs limit and internal target, "
     "HDX correction steps, ground-truth value of the final design"),
    ("architecture", lambda F, A, r: F.fig_architecture(r, A.op_names(r)),
     "Architecture over time: argmax op per layer per epoch, final α distribution"),
    ("grid", lambda F, A, r: F.fig_grid(r, A.grid_view(r)),
     "Accelerator grid for the final network: latency vs energy (area as colour), Pareto front, budgets, "
     "chosen design and the generator's choice"),
    ("layers", lambda F, A, r: F.fig_layers(r, A.layer_view(r)),
     "Per-layer latency and energy by level (MAC / RF / GLB / DRAM) of the chosen design"),
]


def _slug(run: Run, i: int, n: int) -> str:
    import re

    return "" if n == 1 else f"{i:02d}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', run.name)[:40]}-"


MAX_RUN_SECTIONS = 6


def write_report(run_dirs: list[str | Path] | str | Path, out: str | Path | None = None) -> Path:
    """Draw every figure of one or several finished search runs and write ``report.html``.

    A run directory may also be an ``hdx sweep`` directory: its finished trials are the runs (the
    paper's comparison figure and a table of them). With more than :data:`MAX_RUN_SECTIONS` runs only
    the comparison and the table are drawn (per-run figures: ``hdx report`` on a trial's folder).
    ``out``: output folder (default ``RUN_DIR/report`` for one run or one sweep, ``<parent of the
    first>/compare-report`` for several). Returns the path of the HTML page.
    """
    from hdx.report import analysis
    from hdx.report import figures as F
    from hdx.safeio import atomic_write_text, os_errors

    dirs = [run_dirs] if isinstance(run_dirs, str | Path) else list(run_dirs)
    if not dirs:
        raise HDXError("no run directory given: pass at least one `hdx search` --out folder")
    sweep = len(dirs) == 1 and is_sweep_dir(dirs[0])
    found = expand_run_dirs(dirs)
    # more runs than sections: only the comparison is drawn, which needs no trajectory
    runs = [load_run(d, metrics=len(found) <= MAX_RUN_SECTIONS) for d in found]
    if out is None:
        out = (Path(dirs[0]) / "report" if sweep or len(runs) == 1
               else runs[0].path.parent / "compare-report")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise HDXError(f"--out {out} is a file; choose a folder")
    with os_errors(out, "create report folder"):
        out.mkdir(parents=True, exist_ok=True)
    parts = []
    if len(runs) > 1:
        p = _draw("comparison", runs, lambda: F.save(F.fig_compare(runs), out / "compare.png"))
        parts.append("<section id=\"compare\"><h2>Comparison</h2>" + _img(
            p, "Accuracy vs ground-truth latency of every run, budget lines; hollow red = missed")
            + _compare_table(runs) + "</section>")
    if len(runs) > MAX_RUN_SECTIONS:
        parts.append(f"<p>{len(runs)} runs: per-run figures are left out (more than {MAX_RUN_SECTIONS}); "
                     f"draw them with <code>hdx report RUN_DIR</code> on a run's folder.</p>")
    for i, run in enumerate(runs if len(runs) <= MAX_RUN_SECTIONS else []):
        s = _slug(run, i, len(runs))
        figs = []
        for name, make, caption in _RUN_FIGURES:
            png = out / f"{s}{name}.png"
            draw = lambda r=run, m=make, f=png: F.save(m(F, analysis, r), f)  # noqa: E731
            figs.append((_draw(name, [run], draw), caption))
        parts.append(_run_section(run, figs))
    title = (f"HDX report: {runs[0].final.arch}" if len(runs) == 1 else f"HDX report: {len(runs)} runs")
    page = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{_e(title)}</title>"
            f"<style>{_CSS}</style></head><body><h1>{_e(title)}</h1>" + "\n".join(parts) + "</body></html>")
    path = out / "report.html"
    atomic_write_text(path, page)
    return path
