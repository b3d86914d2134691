"""Which costs a change of the analytical model moves: git revision ``--against``'s model against the
working tree's, in one process, on the same layers and designs.

For each accelerator space of ``--spaces`` (every design of a space with at most ``--sample`` designs,
else a seeded sample of that many) and the layers of ``--networks`` seeded random networks of the
default network space (each distinct layer shape once), both models cost every (layer, design) pair
with their default options (``--glb-buffering`` / ``--mapper-tiles`` for both). Printed per space: the
pairs whose latency, energy (total) or chosen mapping (any ``--explain`` field) differ at all, the
largest relative change of a pair's latency and energy, and over (network, design) the median and the
largest ratio of the network's latency (working tree / REV) where it differs. ``--rf-bytes 12,24,48``:
also the default grid's designs with their RF set to each of these sizes (sizes no shipped space has).

Run: ``python benchmarks/bench_model_diff.py --against REV [--networks 20] [--spaces
eyeriss_like,dse_large,dse_pads] [--sample 20000] [--rf-bytes 12,24,48] [--halo exact] [--glb-reuse tile]
[--by-glb]``
(``--halo`` / ``--glb-reuse``: the working tree's model with that option, against REV's default — with
``--against HEAD``, what the option moves; ``--glb-reuse`` and ``--ref-reuse`` default to each space's
own setting, e.g. ``tile`` on ``dse_large``: ``--glb-reuse tile --ref-reuse layer`` compares the two
counts on every space).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import get_args

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_cost_speed import model_at  # noqa: E402  (REV's model, loaded from git)
from hdx.cost.analytical import AnalyticalModel  # noqa: E402
from hdx.cost.analytical.mapper import GlbBuffering, Halo, MapperTiles  # noqa: E402
from hdx.space.accelerator import AcceleratorSpace, AccelTable  # noqa: E402
from hdx.space.network import NetworkSpace  # noqa: E402
from hdx.workload import LayerTable  # noqa: E402


def compare(now: AnalyticalModel, then, layers: LayerTable, accels: AccelTable, nets: list[np.ndarray]
            ) -> dict:
    """Pairs ([L, A]) whose latency, total energy or mapping fields differ between the two models, the
    largest relative change of latency and energy, and the ratio of the networks' latencies (``nets``:
    each network's rows of ``layers``) where it is not 1."""
    a, b = now.evaluate(layers, accels), then.evaluate(layers, accels)
    lat_a, lat_b = a.latency_cycles, b.latency_cycles
    net = np.stack([lat_a[r].sum(0) / lat_b[r].sum(0) for r in nets])  # [networks, A]
    moved_net = net[net != 1.0]
    e_a = sum(np.asarray(v, dtype=np.float64) for v in a.energy_pj.values())
    e_b = sum(np.asarray(v, dtype=np.float64) for v in b.energy_pj.values())
    fields = sorted(set(a.mapping or {}) & set(b.mapping or {}))
    moved = np.zeros(lat_a.shape, dtype=bool)
    for k in fields:
        moved |= ~np.isclose(a.mapping[k], b.mapping[k], rtol=0, atol=0, equal_nan=True)
    return {"ratio": net, "pairs": lat_a.size, "latency": int((lat_a != lat_b).sum()),
            "energy": int((e_a != e_b).sum()),
            "mapping": int(moved.sum()), "lat_max": float(np.max(np.abs(lat_a / lat_b - 1))),
            "e_max": float(np.max(np.abs(e_a / e_b - 1))),
            "net": (moved_net.size, net.size, float(np.median(moved_net)) if moved_net.size else 1.0,
                    float(moved_net.max()) if moved_net.size else 1.0)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--against", required=True, metavar="REV", help="the git revision to compare with")
    ap.add_argument("--networks", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--spaces", default="eyeriss_like,dse_large,dse_pads")
    ap.add_argument("--sample", type=int, default=20000, help="designs of a larger space (seeded sample)")
    ap.add_argument("--rf-bytes", default="", help="also the default grid's designs at these RF sizes")
    ap.add_argument("--glb-buffering", default=None, choices=get_args(GlbBuffering),
                    help="both models' GLB buffering (default: each space's hardware's)")
    ap.add_argument("--mapper-tiles", default="divisors", choices=get_args(MapperTiles))
    ap.add_argument("--halo", default="density", choices=get_args(Halo),
                    help="the working tree's model's halo count (REV's: its default)")
    ap.add_argument("--glb-reuse", default="space", choices=("space", "layer", "tile"),
                    help="the working tree's model's reuse across DRAM tiles (default: each space's own)")
    ap.add_argument("--ref-reuse", default="space", choices=("space", "layer", "tile"),
                    help="REV's model's reuse across DRAM tiles (default: each space's own)")
    ap.add_argument("--by-glb", action="store_true",
                    help="also, per space and GLB size, the network latency ratio (now / REV) over every "
                         "(network, design) pair: median, 90th percentile, largest, share above 1.1")
    args = ap.parse_args()
    try:
        rfs = [int(v) for v in args.rf_bytes.split(",") if v.strip()]
    except ValueError:
        ap.error("--rf-bytes: give whole numbers of bytes separated by commas, e.g. 12,24,48")
    space = NetworkSpace.load()
    rng = np.random.default_rng(args.seed)
    layers, sizes = [], []
    for _ in range(args.networks):
        ls = space.layers(space.sample(rng))
        layers += ls
        sizes.append(len(ls))
    full = LayerTable(layers)
    first, inverse = full.distinct()
    lt = full[first]
    nets, at = [], 0  # each network's rows of the distinct layers
    for ls in sizes:
        nets.append(np.asarray(inverse).reshape(-1)[at:at + ls])
        at += ls
    opts = dict(glb_buffering=args.glb_buffering, mapper_tiles=args.mapper_tiles)
    rows = []
    for name in [s.strip() for s in args.spaces.split(",") if s.strip()]:
        grid = AcceleratorSpace.load(name)
        if len(grid) <= args.sample:
            accels, what = grid.table, f"all {len(grid)}"
        else:
            idx = np.sort(np.random.default_rng(args.seed).choice(len(grid), args.sample, replace=False))
            accels, what = grid.table_of(idx), f"{args.sample} of {len(grid)}"
        rows.append((name, what, grid.hardware, accels))
    if rfs:
        grid = AcceleratorSpace.load()
        t = grid.table
        for rf in rfs:
            rows.append((f"{grid.name}, RF {rf} B", f"all {len(t)}", grid.hardware,
                         AccelTable(t.pe_x, t.pe_y, np.full(len(t), rf), t.dataflow, t.glb_bytes)))
    print(f"{args.against} against the working tree: {args.networks} random networks ({len(lt)} distinct "
          f"layer shapes), glb_buffering {args.glb_buffering or 'each space hardware'}, "
          f"mapper_tiles {args.mapper_tiles}, halo (now) "
          f"{args.halo}, glb_reuse now {args.glb_reuse}, at REV {args.ref_reuse}; net lat: "
          f"(network, design) pairs whose network latency differs, median and max of its ratio (now / REV)")
    hdr = (f"{'designs':<28} {'of':>16} {'pairs':>10} {'lat differs':>11} {'E differs':>10} "
           f"{'map differs':>11} {'max |dlat|':>10} {'max |dE|':>9} {'net lat differs':>17} "
           f"{'median':>7} {'max':>7} {'seconds':>8}")
    print(hdr)
    print("-" * len(hdr))
    by_glb = []
    for name, what, hw, accels in rows:
        t0 = time.perf_counter()
        now = AnalyticalModel(hw, **opts, **({"halo": args.halo} if args.halo != "density" else {}),
                              **({"glb_reuse": args.glb_reuse} if args.glb_reuse != "space" else {}))
        ref = model_at(args.against, hw, **opts,  # (a revision before the option: never given it)
                       **({"glb_reuse": args.ref_reuse} if args.ref_reuse != "space" else {}))
        r = compare(now, ref, lt, accels, nets)
        secs = time.perf_counter() - t0
        n_moved, n_all, med, top = r["net"]
        print(f"{name:<28} {what:>16} {r['pairs']:>10,} {r['latency']:>11,} {r['energy']:>10,} "
              f"{r['mapping']:>11,} {r['lat_max']:>10.2%} {r['e_max']:>9.2%} {f'{n_moved:,}/{n_all:,}':>17} "
              f"{med:>7.4f} {top:>7.4f} {secs:>8.1f}")
        by_glb.append((name, accels.glb_bytes // 1024, r["ratio"]))
    if args.by_glb:
        print_by_glb(by_glb)


def print_by_glb(rows: list) -> None:
    """Per space and GLB size: the network latency ratio (now / REV) over every (network, design) pair."""
    print()
    print("network latency, now / REV, per GLB size, over every (network, design) pair")
    hdr = f"{'designs':<28} {'GLB KiB':>8} {'designs':>8} {'median':>8} {'p90':>8} {'max':>8} {'> 1.1':>7}"
    print(hdr)
    print("-" * len(hdr))
    for name, glb, ratio in rows:
        for g in np.unique(glb):
            r = ratio[:, glb == g]
            print(f"{name:<28} {int(g):>8} {r.shape[1]:>8} {np.median(r):>8.4f} {np.quantile(r, 0.9):>8.3f} "
                  f"{r.max():>8.2f} {np.mean(r > 1.1):>7.1%}")


if __name__ == "__main__":
    main()
