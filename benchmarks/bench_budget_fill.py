"""The budget fill (``hdx.search.fill``) on budgets nobody tuned it for: ground truth only, no training.

``python benchmarks/bench_budget_fill.py`` draws, per budget kind, ``--n`` random (budget, start network,
evidence) triples on the shipped space and grid with the analytical cost model and prints the slack of
the chosen design (the EDAP-best accelerator meeting every hard budget) before and after the fill:

* budget kinds: a latency budget, an energy budget, latency + energy, latency + area; each limit at a
  uniformly random percentile (5–95) of that metric over 2 000 random networks on their EDAP-optimal
  accelerators (the area limit: a random percentile of the grid's areas, kept jointly feasible);
* start: a random network of the space meeting every hard budget (as the search's derived network does
  when it finishes feasible); evidence: random op probabilities (Dirichlet(1) per layer).

Every grown network is re-checked (exhaustive accelerator choice on the cost table): ``met`` must be n/n.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from hdx.budgets import parse_budgets
from hdx.cost.feasibility import choose_accelerator
from hdx.metrics import Objective
from hdx.search.config import SearchConfig
from hdx.search.fill import grow_to_budgets, growth_order, op_macs
from hdx.search.finish import exhaustive_optimal
from hdx.search.loop import prepare

KINDS = ("latency", "energy", "latency+energy", "latency+area")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="random cases per budget kind")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    setup = prepare(SearchConfig(budgets=[], evaluator="oracle"))
    space, table, obj = setup.space, setup.table, Objective("edap")
    rng = np.random.default_rng(args.seed)
    opt = exhaustive_optimal(table, space.sample_indices(rng, 2000), obj)
    areas = np.sort(table.area_mm2)
    order, macs = growth_order(space.op_names), op_macs(space)
    print(f"space {space.name}, grid {setup.grid.name} ({table.num_accels} accelerators), analytical model; "
          f"{args.n} random cases per budget kind")
    print(f"{'budgets':<16} {'met':>8} {'slack before: med':>18} {'max':>6} {'after: med':>11} {'p90':>6} "
          f"{'max':>6} {'moves med':>9} {'ms/case':>8}")
    for kind in KINDS:
        before, after, moves, met, t = [], [], [], 0, 0.0
        n = 0
        while n < args.n:
            texts = []
            for m in kind.split("+"):
                if m == "area":
                    texts.append(f"area<={areas[int(rng.uniform(0.05, 0.95) * len(areas))] * 1.0001:.6g}mm2")
                else:
                    unit = "ms" if m == "latency" else "mJ"
                    texts.append(f"{m}<={float(np.quantile(opt[m], rng.uniform(0.05, 0.95))):.6g}{unit}")
            budgets = parse_budgets(texts)
            start = None
            for _ in range(200):  # a random network meeting every hard budget
                cand = space.sample_indices(rng, 1)[0]
                if choose_accelerator(table.arch_metrics(cand), obj, budgets).feasible:
                    start = cand
                    break
            if start is None:
                continue
            n += 1
            probs = rng.dirichlet(np.ones(space.num_ops), size=space.num_positions) * table.allowed_mask
            probs /= probs.sum(1, keepdims=True)
            t0 = time.perf_counter()
            g = grow_to_budgets(start, probs, table, budgets, obj, order, macs)
            t += time.perf_counter() - t0
            c0 = choose_accelerator(table.arch_metrics(start), obj, budgets)
            c1 = choose_accelerator(table.arch_metrics(g.end), obj, budgets)
            met += c1.feasible
            steer = [i for i, b in enumerate(budgets) if b.metric != "area"]
            before.append(min(c0.checks[i].slack for i in steer))  # the binding network budget
            after.append(min(c1.checks[i].slack for i in steer))
            moves.append(len(g.moves))
        b, a = np.array(before), np.array(after)
        print(f"{kind:<16} {met:>4}/{n:<3} {100 * np.median(b):17.1f}% {100 * b.max():5.1f}% "
              f"{100 * np.median(a):10.1f}% {100 * np.quantile(a, 0.9):5.1f}% {100 * a.max():5.1f}% "
              f"{np.median(moves):9.0f} {1e3 * t / n:8.1f}")
    print("slack: (limit - value)/limit of the binding latency/energy budget on the chosen design "
          "(EDAP-best accelerator meeting every hard budget), ground truth")


if __name__ == "__main__":
    main()
