"""Does ZigZag pick HDX's accelerator among HDX's best designs? ``hdx cost --check zigzag --check-top N``.

For each of ``--networks`` seeded random networks of the default space (and the README network), the grid
search of the default accelerator space (1152 designs) under ``--budget`` (default none) picks HDX's best
design by ``--objective``; its ``--top`` best designs meeting the budgets are costed again by ZigZag at the
best mapping ZigZag knows per layer (its LOMA search's or HDX's own, whichever it rates better:
``ZigZagModel(mappings="loma+hdx")``) through the same API call a user makes
(``hdx.api.cost(check="zigzag", check_top=N)``). Per network: whether ZigZag rates HDX's pick best among
them, HDX's pick's regret in ZigZag's terms (its objective over ZigZag's best of the N, minus 1), the rank
correlation of the two models' objectives over the N, and how many of the N designs meet the budgets in
ZigZag. Then the summary over networks.

This measures the decision near the optimum on the full grid, where ``bench_zigzag_decisions.py`` and
``bench_memory_sizing.py`` rank every design of smaller grids against ZigZag's own search.

Run: ``python benchmarks/bench_zigzag_check.py [--networks 10] [--seed 0] [--top 10] [--objective edap]
[--budget 'latency<=2ms'] [--latency-slack 0.3] [--accel-space eyeriss_like]`` (about 2 s per design and
network with ZigZag).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from hdx.api import cost
from hdx.errors import HDXError
from hdx.space.network import NetworkSpace

README = "mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3"


def networks(n: int, seed: int) -> list[tuple[str, str]]:
    """(name, architecture) of the README network and ``n`` seeded random networks of the default space."""
    space = NetworkSpace.load()
    rng = np.random.default_rng(seed)
    return [("readme", README)] + [(f"random-{i}", ",".join(space.sample(rng))) for i in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", type=int, default=10,
                    help="random networks besides the README's (default 10)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--top", type=int, default=10, help="HDX's best designs checked per network (default 10)")
    ap.add_argument("--objective", default="edap")
    ap.add_argument("--budget", action="append", default=[], help="hard budget(s), e.g. 'latency<=2ms'")
    ap.add_argument("--accel-space", default="eyeriss_like",
                    help="accelerator space: shipped name or YAML path (default eyeriss_like)")
    ap.add_argument("--latency-slack", type=float, default=None,
                    help="per network, a latency budget this fraction above its fastest design on the grid "
                         "(HDX's), e.g. 0.3: a budget that binds on every network")
    args = ap.parse_args()

    nets = networks(args.networks, args.seed)
    under = list(args.budget)
    if args.latency_slack is not None:
        under.append(f"latency <= {1 + args.latency_slack:g} x the network's fastest")
    print(f"HDX's {args.top} best designs of {args.accel_space} per network by {args.objective} under "
          f"{', '.join(under) or 'no budget'}, costed by ZigZag (best of LOMA and HDX's mapping); "
          f"{len(nets)} networks (README + {args.networks} random, seed {args.seed})")
    hdr = (f"{'network':<10} {'HDX pick':<20} {'ZigZag pick':<20} {'same':>5} {'regret':>7} {'rank rho':>9} "
           f"{'meet in ZZ':>10} {'seconds':>8}")
    print(hdr)
    print("-" * len(hdr))
    same, checked, regrets, rhos, meets, total = 0, 0, [], [], [], 0.0
    for name, arch in nets:
        t0 = time.perf_counter()
        budgets = list(args.budget)
        if args.latency_slack is not None:  # the fastest design's latency (HDX's), plus the slack
            fastest = cost(arch=arch, objective="latency", accel_space=args.accel_space).to_dict()["total"][
                "latency_ms"]
            budgets.append(f"latency<={fastest * (1 + args.latency_slack):.6g}ms")
        try:
            r = cost(arch=arch, objective=args.objective, budgets=budgets or None, check="zigzag",
                     check_top=args.top, accel_space=args.accel_space).to_dict()
        except HDXError as e:  # no design meets the budgets (HDX's one-line answer)
            print(f"{name:<10} {str(e)[:90]}")
            continue
        c = r["check"]
        checked += 1
        n = len(c["designs"])
        ok = sum(d["feasible"] for d in c["designs"])
        same += bool(c["agrees"])
        if c["regret"] is not None:
            regrets.append(c["regret"])
        if c["rank_correlation"] is not None:
            rhos.append(c["rank_correlation"])
        meets.append(ok / n)
        sec = time.perf_counter() - t0
        total += sec
        reg = "-" if c["regret"] is None else f"{c['regret']:.1%}"
        rho = "-" if c["rank_correlation"] is None else f"{c['rank_correlation']:.3f}"
        print(f"{name:<10} {r['accelerator']:<20} {c['best'] or '-':<20} {'yes' if c['agrees'] else 'no':>5} "
              f"{reg:>7} {rho:>9} {f'{ok}/{n}':>10} {sec:>8.1f}")
    print("-" * len(hdr))
    print(f"ZigZag rates HDX's pick best among HDX's {args.top} best: {same}/{checked} networks checked; "
          f"regret of HDX's pick in ZigZag's terms: median {np.median(regrets):.1%}, "
          f"max {np.max(regrets):.1%} "
          f"(over {len(regrets)} networks where ZigZag finds it within the budgets)")
    print(f"rank correlation of the two objectives over the {args.top}: median {np.median(rhos):.3f}, "
          f"min {np.min(rhos):.3f}; designs meeting the budgets in ZigZag: {np.mean(meets):.0%} of those HDX "
          f"has meet them; total {total:.0f} s")


if __name__ == "__main__":
    main()
