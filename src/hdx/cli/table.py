"""``hdx cost table``: build (or resume) the exact cost table of a network space on a large accelerator
space, the one ``hdx search`` and ``hdx cost`` read from the user cache (hdx.cost.table_build).

Examples::

    hdx cost table --accel-space dse_large                   # every core of this machine
    hdx cost table --accel-space dse_large --ray             # a local Ray
    hdx cost table --accel-space dse_large --address auto    # an existing Ray cluster
    hdx search accel_space=dse_large                         # then loads it (about 2 s)

A killed build resumes from the slices on disk (run the same command again).
"""

from __future__ import annotations

from pathlib import Path

import typer

from hdx.cli.main import app

CLUSTER_CORES = 64


@app.command("cost-table", hidden=True)  # reached as `hdx cost table` (see hdx.cli.main)
def table_cmd(
    space: str = typer.Option("dance_cifar10", "--space", help="Network space: shipped name or YAML path."),
    accel_space: str = typer.Option("dse_large", "--accel-space", help="Accelerator space: name or YAML."),
    workers: int = typer.Option(None, "--workers", help="Processes (or local Ray CPUs); default: all cores."),
    ray: bool = typer.Option(False, "--ray", help="Slices as Ray tasks on a local Ray."),
    address: str = typer.Option(None, "--address", help="Existing Ray cluster: auto or ray://host:port."),
    cache: str = typer.Option(None, "--cache", help="Folder of cached tables (default: the user cache)."),
) -> None:
    """Tabulate every (position, op) of a network space on every design of an accelerator space."""
    import os

    from hdx.cost import get_cost_model
    from hdx.cost.table import CostTable
    from hdx.cost.table_build import BuildStats, require_disk, table_bytes
    from hdx.data.fetch import cache_dir
    from hdx.errors import HDXError
    from hdx.space.accelerator import AcceleratorSpace
    from hdx.space.network import NetworkSpace

    if workers is not None and workers < 1:
        raise HDXError(f"--workers must be >= 1 (got {workers})")
    net, grid = NetworkSpace.load(space), AcceleratorSpace.load(accel_space)
    model = get_cost_model("analytical", grid.hardware)
    stats = BuildStats()
    folder = cache or str(cache_dir())
    typer.echo(f"table        {net.num_positions} positions x {net.num_ops} ops x {len(grid)} designs, "
               f"{table_bytes(net, grid, compact=True) / 2**20:.0f} MiB -> {folder}", err=True)
    require_disk(net, grid, Path(folder), model)
    # built (or found) on disk and opened memory-mapped: the command never holds the table in memory
    CostTable.sliced(net, grid, model, workers=workers or max(1, os.cpu_count() or 1), cache=folder,
                     use_ray=ray, address=address, stats=stats, log=lambda s: typer.echo(s, err=True),
                     on_disk=True)
    if stats.loaded:
        typer.echo("result       already built (loaded from the cache)")
        return
    rate = stats.designs_per_s_per_worker
    typer.echo(f"slices       {stats.slices} ({stats.slices_before} were on disk, {stats.slices_run} run now "
               f"on {stats.executor}) in {stats.seconds:.1f} s wall")
    if rate:
        per = stats.seconds_for(len(grid), 1)
        costs = rate * net.num_positions * net.num_ops
        typer.echo(f"speed        {rate:.0f} designs/s per worker ({costs:.0f} (position, op, design) "
                   f"costs/s)")
        typer.echo(f"whole table  {per / stats.workers:.0f} s on this machine ({stats.workers} workers), "
                   f"{stats.seconds_for(len(grid), CLUSTER_CORES):.1f} s on a {CLUSTER_CORES}-core cluster "
                   f"(extrapolated)")
    typer.echo("result       complete")
