"""``hdx cost``: hardware cost of one architecture on one accelerator, or the best of the grid.

Examples::

    hdx cost --arch mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3 --accel 16x16,rf=16,df=ws
    hdx cost --arch ... --accel grid --objective edap --budget latency=2,area=1.5 --json
    hdx cost --arch ... --budget 'latency<=2ms' --budget 'energy<=0.8mJ'
    hdx cost --arch ... --accel-space dse_large --by glb_kib --budget 'latency<=2ms'

A thin layer over :func:`hdx.api.cost`.

Units: latency in cycles and ms (at the grid's clock), energy in pJ (per layer) and mJ (best),
area in mm².
"""

from __future__ import annotations

import typer

from hdx.cli.main import app


@app.command("cost")
def cost_cmd(
    arch: str = typer.Option(None, "--arch", help="Architecture: one op per searchable layer, "
                             "comma-separated (e.g. mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3)."),
    onnx: str = typer.Option(None, "--onnx", help="Cost an ONNX CNN instead of --arch (Conv, Gemm, MatMul; "
                             "static shapes, batch 1; needs hdx[export])."),
    accel: str = typer.Option("grid", "--accel", help="One accelerator, e.g. 16x16,rf=16,df=ws[,glb=128], "
                              "or 'grid' for an exhaustive search of the accelerator space."),
    objective: str = typer.Option("edap", "--objective", help="Search objective: edap, latency, energy, "
                                  "area, or weighted (with --weights)."),
    weights: str = typer.Option(None, "--weights", help="Weights for --objective weighted, e.g. "
                                "latency=1,energy=2,area=0.5 (on metrics normalised by the space's "
                                "reference, so equal weights count 1 % of each alike)."),
    budget: list[str] = typer.Option(None, "--budget", help="Hard budgets for the grid search, repeatable or "
                                     "comma-separated: 'latency<=2ms', 'energy<=0.8mJ', latency=2,area=1.5 "
                                     "(no unit: ms, mJ, mm2), 'latency<=p20' (the space's 20th percentile)."),
    backend: str = typer.Option("analytical", "--backend", help="Cost model: analytical, zigzag (the best "
                                "mapping ZigZag rates of its LOMA search's and HDX's) or zigzag-loma "
                                "(LOMA's alone)."),
    space: str = typer.Option("dance_cifar10", "--space", help="Network space: shipped name or YAML path."),
    accel_space: str = typer.Option("eyeriss_like", "--accel-space", help="Accelerator space (grid and "
                                    "fixed hardware parameters): shipped name or YAML path."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    explain: bool = typer.Option(False, "--explain", help="Show the mapping the model chose for each layer "
                                 "(analytical backend)."),
    all_designs: bool = typer.Option(False, "--all", help="With --accel grid: also list every design of the "
                                     "grid (latency, energy, area; JSON key 'designs')."),
    pareto: bool = typer.Option(False, "--pareto", help="With --accel grid: also the latency-energy-area "
                                "Pareto front of the space under the budgets (exact; JSON key 'pareto')."),
    by: str = typer.Option(None, "--by", help="With --accel grid: also the best design at each value of "
                           "these knobs, e.g. glb_kib (the GLB size) or glb_kib,glb_bw (each combination), "
                           "under the objective and budgets (exact; JSON key 'by')."),
    plot: str = typer.Option(None, "--plot", help="With --by (one or two knobs): also draw the table as a "
                             "PNG figure at this path (objective, latency, energy, area per value)."),
    check: str = typer.Option(None, "--check", help="With --accel grid: cost the reported designs (the best, "
                              "or each --by row's) again with this model (zigzag: its best known mapping "
                              "per layer, about 0.1 s per layer and design) and say which it rates best "
                              "(JSON key 'check')."),
    check_top: int = typer.Option(1, "--check-top", help="With --check and no --by: check the grid's N best "
                                  "designs meeting the budgets (best first), not only the best."),
) -> None:
    """Per-layer and total latency, energy and area; with --accel grid, the best accelerator."""
    from hdx.api import cost
    from hdx.cost import BACKENDS
    from hdx.errors import HDXError
    from hdx.metrics import OBJECTIVES, parse_weights

    if objective not in OBJECTIVES:  # named by their flags here; the API names the keyword
        raise HDXError(f"unknown --objective '{objective}': use one of {', '.join(OBJECTIVES)}")
    if backend not in BACKENDS and not backend.endswith(".npz"):  # .npz: a table from `hdx cost tabulate`
        raise HDXError(f"unknown --backend '{backend}': use one of {', '.join(BACKENDS)} or a cost "
                       f"table .npz")
    if objective == "weighted" and not weights:
        raise HDXError("--objective weighted needs --weights, e.g. latency=1,energy=1,area=1")
    if (arch is None) == (onnx is None):
        raise HDXError("give exactly one of --arch (a network of the space) or --onnx MODEL.onnx")
    if plot is not None:
        if by is None or len([k for k in by.split(",") if k.strip()]) > 2:
            raise HDXError("--plot draws the table of --by with one or two knobs, e.g. --by glb_kib --plot "
                           "sizing.png")
        from hdx.report.sizing import check_plot_path

        check_plot_path(plot)  # before the search
    report = cost(arch=arch, onnx=onnx, accel=accel, objective=objective, weights=parse_weights(weights),
                  budgets=budget, backend=backend, space=space, accel_space=accel_space, explain=explain,
                  all_designs=all_designs, pareto=pareto, by=by, check=check, check_top=check_top)
    for note in report.notes:
        typer.echo(f"note: {note}", err=True)
    out = report.to_dict()
    if plot is not None:
        from hdx.report.sizing import save_sizing

        path = save_sizing(out["by"], out["by_search"]["knobs"], plot, out["by_search"]["budgets"],
                           title=f"{report.grid_name}: ")
        typer.echo(f"sizing figure: {path}", err=True)
    if as_json:
        from hdx.safeio import dumps_json

        typer.echo(dumps_json(out))
        return
    _print_tables(out, report.grid_name)


def _print_front(console, front: list[dict], s: dict, rows: int = 40) -> None:
    from rich.table import Table

    how = (f"{s['designs']} designs, {s['evaluated']} evaluated exactly ({s['pruned_budget']} pruned by a "
           f"budget bound, {s['pruned_bound']} dominated by their bounds), {s['seconds']:.1f} s")
    t = Table(title=f"Pareto front: {len(front)} designs (latency, energy, area; {how})")
    for c in ("accelerator", "latency ms", "energy mJ", "area mm²"):
        t.add_column(c, justify="left" if c == "accelerator" else "right")
    pick = range(len(front)) if len(front) <= rows else sorted({round(i * (len(front) - 1) / (rows - 1))
                                                                for i in range(rows)})
    for i in pick:
        d = front[i]
        t.add_row(d["accelerator"], f"{d['latency_ms']:.4f}", f"{d['energy_mj']:.5f}", f"{d['area_mm2']:.4f}")
    console.print(t)
    if len(front) > rows:
        console.print(f"{rows} of {len(front)} front designs shown, evenly by latency (all in --json)")


def _print_by(rows: list[dict], s: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    from hdx.cost.sizing import value_text

    knobs = s["knobs"]
    ok = [r["objective_value"] for r in rows if r["feasible"]]
    best = min(ok) if ok else None
    static = any(r["energy_parts_mj"].get("static", 0.0) > 0 for r in rows)
    how = f"{s['designs']} designs, {s['evaluated']} evaluated exactly by {s['method']}, {s['seconds']:.1f} s"
    if s.get("closest_evaluated"):
        how += f"; {s['closest_evaluated']} more for the closest designs"
    t = Table(title=f"Best design per {', '.join(knobs)} ({how})")
    bound = all("latency_bound_share" in r for r in rows)  # (the analytical model reports it)
    tiled = all("latency_ms_tile_reuse" in r for r in rows)  # (the analytical model, reuse per layer)
    cols = [*knobs, "best design", "latency ms", *(["tile reuse ms"] if tiled else []),
            *(["DRAM-bound"] if bound else []), "energy mJ", "DRAM mJ",
            *(["static mJ"] if static else []), "area mm²", "objective", "x best"]
    for c in cols:
        t.add_column(c, justify="left" if c == "best design" else "right", no_wrap=True)
    for r in rows:
        parts = r["energy_parts_mj"]
        rel = f"{r['objective_value'] / best:.2f}" if best and r["feasible"] else "none meets the budgets"
        t.add_row(*(value_text(k, r["values"][k]) for k in knobs), r["accelerator"], f"{r['latency_ms']:.4f}",
                  *([f"{r['latency_ms_tile_reuse']:.4f}"] if tiled else []),
                  *([f"{r['latency_bound_share']['DRAM']:.0%}"] if bound else []),
                  f"{r['energy_mj']:.5f}", f"{parts.get('dram', 0.0):.5f}",
                  *([f"{parts.get('static', 0.0):.5f}"] if static else []),
                  f"{r['area_mm2']:.4f}", f"{r['objective_value']:.4g}", rel,
                  style=None if r["feasible"] else "dim")
    wide = Console()
    wide.width = max(wide.width, 150)  # one row per design, never cut (a narrower terminal wraps it)
    wide.print(t)
    if tiled:
        _print_tile_reuse(rows, knobs, s.get("budgets", []))


def _print_tile_reuse(rows: list[dict], knobs: list[str], budgets: list[dict]) -> None:
    """The line under a sizing table whose rows' latency rises with the PEs' reuse counted per DRAM tile:
    how many rows need over 10 % more, and which rows meeting a latency budget miss it then."""
    from hdx.cost.sizing import value_text

    far = [r for r in rows if r["latency_ms_tile_reuse"] > 1.1 * r["latency_ms"]]
    limits = [b["limit"] for b in budgets if b["metric"] == "latency"]
    missed = [r for r in rows if r["feasible"] and limits and r["latency_ms_tile_reuse"] > min(limits)]
    if not far and not missed:
        return
    line = (f"tile reuse ms: the latency with the PEs' reuse counted per DRAM tile (small GLBs: the table's "
            f"count is a lower bound there); {len(far)} of {len(rows)} rows need over 10 % more")
    if missed:
        where = "; ".join(", ".join(f"{k}={value_text(k, r['values'][k])}" for k in knobs) for r in missed)
        line += f"; {len(missed)} meeting the latency budget here miss it then ({where})"
    print(line + ". Size small GLBs with hardware.glb_reuse: tile (docs/hw-search.md).")


def _print_check(out: dict) -> None:
    """``--check``: the second model's costs of the reported designs beside the first model's."""
    from rich.console import Console
    from rich.table import Table

    from hdx.cost.sizing import value_text

    c = out["check"]
    b = out["best"]
    rows = out.get("by") or [{"values": {}, "accelerator": d["accelerator"],
                              "objective_value": d["first_objective_value"], "feasible": b["feasible"]}
                             for d in c["designs"]]
    knobs = list(rows[0]["values"])
    first_ok = [r["objective_value"] for r in rows if r["feasible"]]
    second_ok = [d["objective_value"] for d in c["designs"] if d["feasible"]]
    t = Table(title=f"The same designs costed by {c['model']} ({c['seconds']:.1f} s)")
    for col in (*knobs, "design", "objective", "x best", "latency ms", "energy mJ", "area mm²",
                "objective", "x best", "budgets"):
        t.add_column(col, justify="left" if col == "design" else "right", no_wrap=True)
    for r, d in zip(rows, c["designs"], strict=True):
        if d.get("error"):
            t.add_row(*(value_text(k, r["values"][k]) for k in knobs), d["accelerator"],
                      f"{r['objective_value']:.4g}", "", "not costed", "", "", "", "", "-", style="dim")
            continue
        rel1 = f"{r['objective_value'] / min(first_ok):.2f}" if first_ok and r["feasible"] else "-"
        rel2 = f"{d['objective_value'] / min(second_ok):.2f}" if second_ok and d["feasible"] else "-"
        t.add_row(*(value_text(k, r["values"][k]) for k in knobs), d["accelerator"],
                  f"{r['objective_value']:.4g}", rel1, f"{d['latency_ms']:.4f}", f"{d['energy_mj']:.5f}",
                  f"{d['area_mm2']:.4f}",
                  f"{d['objective_value']:.4g}", rel2, "met" if d["feasible"] else "NOT met")
    wide = Console()
    wide.width = max(wide.width, 150)
    wide.print(t)
    rho = c["rank_correlation"]
    for d in c["designs"]:
        if d.get("error"):
            wide.print(f"not costed by {c['model']}: {d['error']}", soft_wrap=True)
    none = "none (no design meets the budgets)"
    same = "the same design" if c.get("agrees") else "not the same design"
    regret = c.get("regret")
    wide.print(f"best of these designs: {c.get('first_best') or none} by {out['model']}, "
               f"{c['best'] or none} by {c['model']} ({same}"
               + ("" if regret is None or c.get("agrees") else f"; {regret:.1%} worse in {c['model']}") + ")"
               + ("" if rho is None else f"; rank correlation of the objective over the designs {rho:.3f}"))


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
    if sources := [r["zigzag_mapping"] for r in out["layers"] if "zigzag_mapping" in r]:
        console.print(f"ZigZag's costs of the better mapping it rates (latency, then energy) of its LOMA "
                      f"search ({sources.count('loma')} layers) and HDX's own "
                      f"({sources.count('hdx')} layers)")
    if any("mapping" in r for r in out["layers"]):
        for r in out["layers"]:
            console.print(f"  {r['name']:<16} {r['mapping']}", soft_wrap=True)
        parts = tot.get("energy_parts_pj", {})
        console.print("energy by part (µJ): " + ", ".join(f"{p} {v / 1e6:.3f}" for p, v in parts.items())
                      + " (static: leakage power x latency)")
    if "designs" in out:
        console.print(f"{len(out['designs'])} designs listed (use --json to read them)")
    if "pareto" in out:
        _print_front(console, out["pareto"], out["pareto_search"])
    if "by" in out:
        _print_by(out["by"], out["by_search"])
    if "check" in out:
        _print_check(out)
    console.print(f"area {tot['area_mm2']:.4f} mm²   latency {tot['latency_ms']:.4f} ms   "
                  f"energy {tot['energy_pj'] * 1e-9:.5f} mJ")
    if "best" in out:
        b = out["best"]
        lim = ", ".join(b["budgets"]) or "none"
        if "search" in b:  # a space beyond one table, searched exactly (hdx.cost.hwsearch)
            s = b["search"]
            how = (f"{s['designs']} designs of space '{grid_name}' by {s['method']} ({s['pruned_budget']} "
                   f"pruned by a budget bound, {s['pruned_bound']} by the objective bound, {s['evaluated']} "
                   f"evaluated)")
        else:
            how = f"{out['evaluated']} accelerators of grid '{grid_name}' ({b['n_feasible']} feasible)"
        console.print(f"best of {how} by {b['objective']} (budgets: {lim}): [bold]{b['accelerator']}[/bold]  "
                      f"objective {b['objective_value']:.4g}  ({out['seconds'] * 1e3:.1f} ms)")
