"""``hdx cost``: hardware cost of one architecture on one accelerator, or the best of the grid.

Examples::

    hdx cost --arch mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3 --accel 16x16,rf=16,df=ws
    hdx cost --arch ... --accel grid --objective edap --budget latency=2,area=1.5 --json

Units: latency in cycles and ms (at the grid's clock), energy in pJ (per layer) and mJ (best),
area in mm².
"""

from __future__ import annotations

import time

import numpy as np
import typer

from hdx.cli.main import app


def _weights(text: str | None) -> dict[str, float] | None:
    from hdx.cost.search import parse_limits

    if not text:
        return None
    # same syntax as budgets (metric=value); values are weights, not limits
    return {m: v for m, v in parse_limits(text.replace("<=", "=")).items()}


@app.command("cost")
def cost_cmd(
    arch: str = typer.Option(..., "--arch", help="Architecture: one op per searchable layer, comma-separated "
                             "(e.g. mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3)."),
    accel: str = typer.Option("grid", "--accel", help="One accelerator, e.g. 16x16,rf=16,df=ws[,glb=128], "
                              "or 'grid' for an exhaustive search of the accelerator space."),
    objective: str = typer.Option("edap", "--objective", help="Search objective: edap, latency, energy, "
                                  "area, or weighted (with --weights)."),
    weights: str = typer.Option(None, "--weights", help="Weights for --objective weighted, e.g. "
                                "latency=1,energy=2,area=0.5 (on ms, mJ, mm2)."),
    budget: str = typer.Option(None, "--budget", help="Hard limits for the grid search, e.g. "
                               "latency=16.6,area=2 (latency ms, energy mJ, area mm2)."),
    backend: str = typer.Option("analytical", "--backend", help="Cost model: analytical or zigzag."),
    space: str = typer.Option("dance_cifar10", "--space", help="Network space: shipped name or YAML path."),
    accel_space: str = typer.Option("eyeriss_like", "--accel-space", help="Accelerator space (grid and "
                                    "fixed hardware parameters): shipped name or YAML path."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    explain: bool = typer.Option(False, "--explain", help="Show the mapping the model chose for each layer "
                                 "(analytical backend)."),
    all_designs: bool = typer.Option(False, "--all", help="With --accel grid: also list every design of the "
                                     "grid (latency, energy, area; JSON key 'designs')."),
) -> None:
    """Per-layer and total latency, energy and area; with --accel grid, the best accelerator."""
    from hdx.cost import BACKENDS, get_cost_model
    from hdx.cost.base import check_finite
    from hdx.cost.search import grid_metrics, parse_limits, search
    from hdx.cost.table import OBJECTIVES
    from hdx.errors import HDXError
    from hdx.space.accelerator import AcceleratorSpace, AccelTable
    from hdx.space.network import NetworkSpace
    from hdx.workload import LayerTable

    if objective not in OBJECTIVES:
        raise HDXError(f"unknown --objective '{objective}': use one of {', '.join(OBJECTIVES)}")
    if backend not in BACKENDS and not backend.endswith(".npz"):  # .npz: a table from `hdx cost tabulate`
        raise HDXError(f"unknown --backend '{backend}': use one of {', '.join(BACKENDS)} or a cost "
                       f"table .npz")
    if all_designs and accel.strip().lower() != "grid":
        raise HDXError("--all lists the designs of the grid: use it with --accel grid")
    w = _weights(weights)
    if objective == "weighted" and not w:
        raise HDXError("--objective weighted needs --weights, e.g. latency=1,energy=1,area=1")
    limits = parse_limits(budget)
    net = NetworkSpace.load(space)
    grid = AcceleratorSpace.load(accel_space)
    layers = net.layers(net.parse_arch(arch))
    table = LayerTable(layers)
    model = get_cost_model(backend, grid.hardware)  # type: ignore[arg-type]

    t0 = time.perf_counter()
    result = None
    if accel.strip().lower() == "grid":
        pairs = len(layers) * len(grid)
        if backend == "zigzag" and pairs > 200:
            raise HDXError(f"--accel grid with --backend zigzag would run {pairs} ZigZag layer evaluations "
                           f"(~0.05-0.3 s each); use --backend analytical for the grid, or one --accel")
        costs, metrics = grid_metrics(model, table, grid)
        result = search(metrics, grid, objective, w, limits,  # type: ignore[arg-type]
                        seconds=time.perf_counter() - t0)
        col = result.index
        acc = result.accelerator
    else:
        if limits:
            raise HDXError("--budget applies to --accel grid only; drop it or search the grid")
        acc = grid.parse(accel)
        accels = AccelTable.from_accels([acc])
        costs = check_finite(model.evaluate(table, accels), table, accels,
                             model=getattr(model, "name", backend))
        col = 0
    seconds = time.perf_counter() - t0

    clock_khz = costs.clock_mhz * 1e3
    area_mm2 = float(np.asarray(costs.area_total_um2).reshape(-1)[col]) / 1e6
    e_layer = costs.energy_total_pj[:, col]
    rows = []
    for i, ly in enumerate(layers):
        cyc = float(costs.latency_cycles[i, col])
        rows.append({"name": ly.name, "kind": ly.kind, "latency_cycles": cyc, "latency_ms": cyc / clock_khz,
                     "energy_pj": float(e_layer[i]), "area_mm2": area_mm2, "macs": int(ly.macs),
                     "utilisation": float(costs.utilisation[i, col])})
        if explain:
            rows[-1]["mapping"] = _explain(costs, i, col, acc.dataflow)
    total_cyc = float(costs.latency_cycles[:, col].sum())
    total = {"latency_cycles": total_cyc, "latency_ms": total_cyc / clock_khz,
             "energy_pj": float(e_layer.sum()), "area_mm2": area_mm2, "macs": int(table.macs.sum())}
    out = {"arch": ",".join(net.parse_arch(arch)), "accelerator": str(acc), "backend": backend,
           "model": getattr(model, "name", backend), "total": total, "layers": rows}
    if result is not None:
        extra = {k: total[k] for k in ("latency_cycles", "energy_pj", "macs")}
        out.update(best={**result.to_dict(), **extra}, evaluated=result.evaluated, seconds=seconds)
        if all_designs:
            lat = costs.latency_cycles.sum(0)
            en = costs.energy_total_pj.sum(0)
            ar = np.asarray(costs.area_total_um2) / 1e6
            out["designs"] = [{"accelerator": str(grid[j]), "latency_cycles": float(lat[j]),
                               "latency_ms": float(lat[j]) / clock_khz, "energy_pj": float(en[j]),
                               "area_mm2": float(ar[j])} for j in range(len(grid))]
    if as_json:
        from hdx.safeio import dumps_json

        typer.echo(dumps_json(out))
        return
    _print_tables(out, grid.name)


def _explain(costs, i: int, col: int, dataflow: str) -> str:
    from hdx.cost.analytical import describe_mapping

    if costs.mapping is None:
        return "not reported by this cost model"
    return describe_mapping(costs.mapping, i, col, dataflow)


def _print_tables(out: dict, grid_name: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    t = Table(title=f"{out['arch']} on {out['accelerator']} ({out['model']})")
    for c in ("layer", "kind", "MACs", "cycles", "ms", "energy µJ", "util"):
        t.add_column(c, justify="left" if c in ("layer", "kind") else "right")
    for r in out["layers"]:
        t.add_row(r["name"], r["kind"], f"{r['macs']:,}", f"{r['latency_cycles']:,.0f}",
                  f"{r['latency_ms']:.4f}", f"{r['energy_pj'] / 1e6:.3f}", f"{r['utilisation']:.0%}")
    tot = out["total"]
    t.add_row("total", "", f"{tot['macs']:,}", f"{tot['latency_cycles']:,.0f}", f"{tot['latency_ms']:.4f}",
              f"{tot['energy_pj'] / 1e6:.3f}", "", end_section=True)
    console.print(t)
    if any("mapping" in r for r in out["layers"]):
        for r in out["layers"]:
            console.print(f"  {r['name']:<16} {r['mapping']}", soft_wrap=True)
    if "designs" in out:
        console.print(f"{len(out['designs'])} designs listed (use --json to read them)")
    console.print(f"area {tot['area_mm2']:.4f} mm²   latency {tot['latency_ms']:.4f} ms   "
                  f"energy {tot['energy_pj'] * 1e-9:.5f} mJ")
    if "best" in out:
        b = out["best"]
        lim = ", ".join(f"{k} <= {v:g}" for k, v in b["limits"].items()) or "none"
        console.print(f"best of {out['evaluated']} accelerators of grid '{grid_name}' by {b['objective']} "
                      f"(limits: {lim}; {b['feasible']} feasible): [bold]{b['accelerator']}[/bold]  "
                      f"objective {b['objective_value']:.4g}  ({out['seconds'] * 1e3:.1f} ms)")
