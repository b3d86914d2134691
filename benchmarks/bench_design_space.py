"""Is the accelerator design space alive? Which designs are optimal across random networks.

For ``--networks`` seeded random networks of the default space, the exhaustive optimum of the default
grid under latency, energy and EDAP (ground-truth analytical model, cost table lookup). Printed per
objective: share of the most common optimal design, number of distinct optimal designs, and which
dataflows, RF sizes and array sizes occur (share of networks). Then where DANCE's two published designs
(latency-oriented ``16x16,rf=16,df=ws``, energy-oriented ``12x8,rf=32,df=rs``) rank among the 1152
designs under the objective they were chosen for (median and best rank over the networks; 1 = optimal).

No target is set on these numbers: they must follow from the model's agreement with mapper-based tools
(``bench_zigzag_decisions.py``), not from tuning.

Run: ``python benchmarks/bench_design_space.py [--networks 2000] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import collections
import time

import numpy as np

from hdx.cost import get_cost_model
from hdx.cost.table import CostTable
from hdx.space.accelerator import DATAFLOWS, AcceleratorSpace
from hdx.space.network import NetworkSpace

PUBLISHED = (("16x16,rf=16,df=ws", "latency"), ("12x8,rf=32,df=rs", "energy"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    space, grid = NetworkSpace.load(), AcceleratorSpace.load()
    model = get_cost_model("analytical", grid.hardware)
    t0 = time.perf_counter()
    table = CostTable.build(space, grid, model)
    idx = space.sample_indices(np.random.default_rng(args.seed), args.networks)
    m = table.network(idx)
    objectives = {"latency": m["latency"], "energy": m["energy"],
                  "edap": m["latency"] * m["energy"] * m["area"]}
    print(f"Optimal designs over {args.networks} random networks of '{space.name}' on grid '{grid.name}' "
          f"({len(grid)} designs), {model.name} v{model.version} ({time.perf_counter() - t0:.1f} s)")
    print()
    hdr = (f"{'objective':<10}{'top design':<20}{'share':>7}{'distinct':>9}  {'dataflows':<26}"
           f"{'RF sizes (B)':<34}arrays")
    print(hdr)
    print("-" * (len(hdr) + 20))
    for name, v in objectives.items():
        best = v.argmin(1)
        count = collections.Counter(best.tolist())
        top, n_top = count.most_common(1)[0]
        accs = [grid[int(b)] for b in best]
        dfs = collections.Counter(a.dataflow for a in accs)
        rfs = collections.Counter(a.rf_bytes for a in accs)
        arrays = collections.Counter(f"{a.pe_x}x{a.pe_y}" for a in accs)
        def share(c: collections.Counter | dict, n_all: int = len(accs)) -> str:
            return " ".join(f"{k}:{n / n_all:.0%}" for k, n in sorted(c.items()))

        print(f"{name:<10}{grid[top].text():<20}{n_top / len(accs):>7.1%}{len(count):>9}  "
              f"{share({d: dfs[d] for d in DATAFLOWS if dfs[d]}):<26}{share(rfs):<34}{len(arrays)} distinct, "
              f"top {arrays.most_common(1)[0][0]}")
    print()
    print("DANCE's published designs: rank among the grid under the objective they were chosen for")
    for text, obj in PUBLISHED:
        j = grid.index(text)
        ranks = (objectives[obj] < objectives[obj][:, [j]]).sum(1) + 1
        near = np.mean(objectives[obj][:, j] <= 1.1 * objectives[obj].min(1))
        print(f"  {text:<20} {obj:<8} median rank {int(np.median(ranks)):>4} / {len(grid)}, "
              f"best {int(ranks.min())}, within 10 % of the optimum for {near:.0%} of networks")


if __name__ == "__main__":
    main()
