"""Does ZigZag confirm HDX's memory sizing under a binding latency budget? ``hdx cost --by glb_kib --check``.

An architect's first question: how big must the GLB be to meet a latency budget, and which design is best
at each size? For the README network and ``--networks`` seeded random networks of the default space, on an
accelerator space with the GLB size as a knob (default ``dse_large``, 10⁶ designs), the budget is set
``--latency-slack`` above each network's fastest design (HDX's), so it binds. ``hdx cost --by glb_kib
--budget ... --check zigzag`` (``hdx.api.cost(by=..., check="zigzag")``) gives HDX's best design at each
GLB size, exactly (branch and bound), and ZigZag's costs of those designs at its best known mapping per
layer (LOMA's or HDX's own). Per network: the smallest GLB size at which HDX meets the budget and at which
ZigZag finds HDX's design meets it; how many rows' verdicts (meets / misses) agree, over the rows ZigZag
can cost; whether ZigZag rates HDX's best row best; the rank correlation of the objective over the rows.

Run it once per accelerator space to compare cost-model options, e.g. ``dse_large`` (which counts the
PEs' reuse per DRAM tile, ``glb_reuse: tile``) and a copy of it with ``glb_reuse: layer``: ``python
benchmarks/bench_sizing_check.py [--networks 4] [--seed 0] [--latency-slack 0.4] [--accel-space
dse_large]`` (about a minute per network with ZigZag).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench_zigzag_check import networks  # (the same networks; a sibling script, on the path when run)
from hdx.api import cost
from hdx.errors import HDXError


def _smallest(rows: list[dict], ok: list[bool]) -> str:
    """The smallest GLB size (KiB) whose row meets the budget, or '-'."""
    sizes = [r["values"]["glb_kib"] for r, m in zip(rows, ok, strict=True) if m]
    return str(min(sizes)) if sizes else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", type=int, default=4,
                    help="random networks besides the README's (default 4)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--latency-slack", type=float, default=0.4,
                    help="the budget: this fraction above each network's fastest design (default 0.4)")
    ap.add_argument("--objective", default="edap")
    ap.add_argument("--accel-space", default="dse_large",
                    help="accelerator space with a glb_kib knob: shipped name or YAML path "
                         "(default dse_large)")
    args = ap.parse_args()

    nets = networks(args.networks, args.seed)
    print(f"Memory sizing under latency <= {1 + args.latency_slack:g} x each network's fastest design, "
          f"{args.accel_space}, by {args.objective}: HDX's best design per GLB size and ZigZag's costs of "
          f"them (best of LOMA and HDX's mapping); {len(nets)} networks (README + {args.networks} random, "
          f"seed {args.seed})")
    hdr = (f"{'network':<10} {'budget ms':>9} {'model':<28} {'least GLB: HDX':>14} {'ZigZag':>7} "
           f"{'verdicts agree':>14} {'same best':>9} {'rho':>6} {'seconds':>8}")
    print(hdr)
    print("-" * len(hdr))
    agree = rows_n = same = checked = 0
    least_same = 0
    rhos = []
    for name, arch in nets:
        t0 = time.perf_counter()
        fastest = cost(arch=arch, objective="latency", accel_space=args.accel_space).to_dict()["total"][
            "latency_ms"]
        budget = fastest * (1 + args.latency_slack)
        try:
            r = cost(arch=arch, objective=args.objective, budgets=f"latency<={budget:.6g}ms", by="glb_kib",
                     check="zigzag", accel_space=args.accel_space).to_dict()
        except HDXError as e:
            print(f"{name:<10} {str(e)[:100]}")
            continue
        rows, c = r["by"], r["check"]
        hdx_ok = [bool(row["feasible"]) for row in rows]
        zz = c["designs"]
        costed = [d["latency_ms"] is not None for d in zz]
        zz_ok = [bool(d["feasible"]) for d in zz]
        n_costed = sum(costed)
        n_agree = sum(h == z for h, z, k in zip(hdx_ok, zz_ok, costed, strict=True) if k)
        agree, rows_n = agree + n_agree, rows_n + n_costed
        checked += 1
        same += bool(c.get("agrees"))
        lh, lz = _smallest(rows, hdx_ok), _smallest(rows, zz_ok)
        least_same += lh == lz
        rho = c["rank_correlation"]
        if rho is not None:
            rhos.append(rho)
        print(f"{name:<10} {budget:>9.3f} {r['model']:<28} {lh:>14} {lz:>7} {f'{n_agree}/{n_costed}':>14} "
              f"{'yes' if c.get('agrees') else 'no':>9} {'-' if rho is None else f'{rho:.3f}':>6} "
              f"{time.perf_counter() - t0:>8.1f}")
    print("-" * len(hdr))
    print(f"least GLB size meeting the budget the same in both models: {least_same}/{checked} networks; row "
          f"verdicts agreeing: {agree}/{rows_n} ({agree / max(rows_n, 1):.0%}); ZigZag rates HDX's best row "
          f"best: {same}/{checked}; rank correlation over the rows: median "
          f"{np.median(rhos) if rhos else float('nan'):.3f}")


if __name__ == "__main__":
    main()
