"""``hdx cost tabulate``: fill a space's (layer × accelerator) cost table with ZigZag, on Ray.

Examples::

    hdx cost tabulate --backend zigzag --out zz.npz                       # the default space and grid
    hdx cost tabulate --backend zigzag --arch mb3e3,... --arch ... --accel-space small.yaml --out t.npz
    hdx cost tabulate --backend zigzag --out zz.npz --max-chunks 4        # measure, resume later
    hdx search --config my.yaml   # with cost_backend: zz.npz  (also: hdx evaluator build --backend zz.npz)

A killed run resumes from the chunks on disk (run the same command again).
"""

from __future__ import annotations

import typer

from hdx.cli.main import app

CLUSTER_CORES = 64


@app.command("cost-tabulate", hidden=True)  # reached as `hdx cost tabulate` (see hdx.cli.main)
def tabulate_cmd(
    out: str = typer.Option(..., "--out", help="Table file (.npz); chunks go to OUT.parts/ while it fills."),
    backend: str = typer.Option("zigzag", "--backend", help="Cost model that fills the table: zigzag or "
                                "zigzag-loma."),
    space: str = typer.Option("dance_cifar10", "--space", help="Network space: shipped name or YAML path."),
    accel_space: str = typer.Option("eyeriss_like", "--accel-space", help="Accelerator space: name or YAML."),
    arch: list[str] = typer.Option(None, "--arch", help="Only the layers of this network (repeatable)."),
    address: str = typer.Option(None, "--address", help="Existing Ray cluster: auto or ray://host:port."),
    num_cpus: int = typer.Option(None, "--num-cpus", help="CPUs of the local Ray (default: all cores)."),
    serial: bool = typer.Option(False, "--serial", help="No Ray: chunks one after another in this process."),
    chunk_pairs: int = typer.Option(200, "--chunk-pairs", help="(layer, accelerator) pairs per Ray task."),
    max_chunks: int = typer.Option(None, "--max-chunks", help="Run only this many new chunks, spread over "
                                   "the grid (a speed sample; rerun to continue)."),
) -> None:
    """Tabulate (layer × accelerator) costs with a slow backend; resumable; usable as a cost backend."""
    from hdx.cost.tabulate import tabulate
    from hdx.errors import HDXError

    if serial and address:
        raise HDXError("--serial and --address exclude each other")
    r = tabulate(space=space, accel_space=accel_space, backend=backend, out=out, archs=arch or None,
                 address=address, num_cpus=num_cpus, use_ray=False if serial else None,
                 chunk_pairs=chunk_pairs, max_chunks=max_chunks, log=lambda s: typer.echo(s, err=True))
    typer.echo(f"table        {r.layers} layers x {r.accels} accelerators = {r.pairs} pairs, "
               f"{r.chunks} chunks ({r.chunks_done_before} were on disk, {r.chunks_run} run now on "
               f"{r.executor})")
    if r.labels_per_s_per_worker:
        typer.echo(f"speed        {r.labels_per_s_per_worker:.2f} labels/s per worker ({r.pairs_run} pairs "
                   f"in "
                   f"{r.seconds:.1f} s wall, {r.workers} worker(s))")
        typer.echo(f"whole table  {_hours(r.hours_for(r.workers))} on this machine ({r.workers} workers), "
                   f"{_hours(r.hours_for(CLUSTER_CORES))} on a {CLUSTER_CORES}-core cluster (extrapolated)")
    typer.echo(f"result       {'complete: ' + str(r.out) if r.complete else 'partial: rerun to continue'}")


def _hours(h: float) -> str:
    return f"{h * 60:.1f} min" if h < 1 else f"{h:.1f} h"
