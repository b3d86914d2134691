"""``hdx report``: figures (PNG) and one self-contained HTML page of one or several search runs.

Examples::

    hdx report runs/s1                       # -> runs/s1/report/report.html
    hdx report runs/hdx runs/dance --out cmp # comparison figure and table, then each run
    hdx report runs/paper                    # an hdx sweep directory: the paper's comparison of its trials
"""

from __future__ import annotations

import typer

from hdx.cli.main import app


@app.command("report")
def report_cmd(
    run_dirs: list[str] = typer.Argument(..., help="One or more `hdx search` run directories, or an "
                                         "`hdx sweep` directory."),
    out: str = typer.Option(None, "--out", help="Output folder (default RUN_DIR/report for one run, "
                            "<parent>/compare-report for several)."),
) -> None:
    """Draw the search trajectory, architecture over time, accelerator grid, per-layer costs (and a
    comparison of several runs); print the path of the HTML page."""
    from hdx.report import write_report

    path = write_report(run_dirs, out)
    typer.echo(str(path))
