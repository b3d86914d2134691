"""``hdx sweep``: run a sweep file's trials on Ray (or serially without it) and tabulate them.

Examples::

    hdx sweep my_sweep.yaml --out runs/sweep1                 # local Ray, all cores
    hdx sweep my_sweep.yaml --out runs/sweep1 --num-cpus 2
    hdx sweep my_sweep.yaml --out runs/sweep1 --address auto  # an existing Ray cluster
    hdx sweep my_sweep.yaml --out runs/sweep1 --resume        # after a kill: finish the rest

Exit codes: 0 every trial finished (feasible or not), 4 some trial failed (see results.csv), 2 bad input.
"""

from __future__ import annotations

import time

import typer

from hdx.cli.main import app

EXIT_TRIAL_FAILED = 4


@app.command("sweep")
def sweep_cmd(
    sweep_file: str = typer.Argument(..., help="Sweep file (YAML): base config, axes, variants; or a "
                                     "shipped name (e.g. paper_cifar10)."),
    out: str = typer.Option(None, "--out", help="Sweep directory (default runs/sweep-<time>)."),
    address: str = typer.Option(None, "--address", help="Existing Ray cluster: auto or ray://host:port "
                                "(default: start a local Ray)."),
    num_cpus: int = typer.Option(None, "--num-cpus", help="CPUs of the local Ray (default: all cores)."),
    gpus_per_trial: float = typer.Option(0.0, "--gpus-per-trial", help="GPUs Ray reserves per trial."),
    resume: bool = typer.Option(False, "--resume", help="Continue the sweep in --out: skip finished trials, "
                                "resume killed ones from their checkpoints."),
    serial: bool = typer.Option(False, "--serial", help="Run the trials one after another in this process "
                                "(no Ray)."),
) -> None:
    """Run every trial of a sweep; write results.csv / results.json and print a summary."""
    from hdx.errors import HDXError
    from hdx.sweep import format_summary, run_sweep

    if serial and address:
        raise HDXError("--serial and --address exclude each other")
    if resume and not out:
        raise HDXError("--resume needs --out DIR (the sweep to continue)")
    out = out or f"runs/sweep-{time.strftime('%Y%m%d-%H%M%S')}"
    res = run_sweep(sweep_file, out, address=address, num_cpus=num_cpus, gpus_per_trial=gpus_per_trial,
                    resume=resume, use_ray=False if serial else (True if address else None),
                    log=lambda s: typer.echo(s, err=True))
    typer.echo(format_summary(res.rows, res.spec))
    failed = sum(r["status"] == "failed" for r in res.rows)
    typer.echo(f"{len(res.rows)} trials ({res.ran} run now, {failed} failed) on {res.executor} in "
               f"{res.wall_s:.1f} s -> {res.out}/results.csv")
    if failed:
        raise typer.Exit(EXIT_TRIAL_FAILED)
