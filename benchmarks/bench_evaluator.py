"""DANCE evaluator figures (issue 4): sample-generation speed and evaluator fidelity vs the paper.

    python benchmarks/bench_evaluator.py                 # shipped default evaluator
    python benchmarks/bench_evaluator.py --path my.safetensors --objective latency --networks 5000

Prints (1) the time to tabulate the ground-truth model and generate 1.8 M labelled pairs + 50 K
optimal-accelerator labels with 1 and 2 worker processes (goal ≤ 5 min on 2 cores), (2) the
fidelity report of ``hdx evaluator check`` (generator accuracy and regret, estimator and end-to-end
errors, soft distributions, gradient sign agreement with the exact oracle, inference latency), and
(3) the exact oracle's own inference latency for comparison.
"""

from __future__ import annotations

import argparse
import time

import torch

from hdx.cost import get_cost_model
from hdx.cost.table import CostTable
from hdx.evaluator import load_evaluator
from hdx.evaluator.check import fidelity, format_report, inference_latency
from hdx.evaluator.data import DataSpec, generate
from hdx.space.accelerator import AcceleratorSpace
from hdx.space.network import NetworkSpace


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--path", default=None, help="evaluator file (default: shipped)")
    ap.add_argument("--space", default="dance_cifar10")
    ap.add_argument("--accel-space", default="eyeriss_like")
    ap.add_argument("--objective", default="edap")
    ap.add_argument("--networks", type=int, default=2000, help="held-out networks per kind")
    ap.add_argument("--gen-networks", type=int, default=50_000)
    ap.add_argument("--gen-pairs-per-net", type=int, default=36)
    ap.add_argument("--skip-gen", action="store_true", help="skip the generation-speed part")
    ap.add_argument("--ray", action="store_true", help="generation also as Ray tasks on a local Ray of 2 "
                    "CPUs (labelled networks/s per worker, extrapolated to 64 cores)")
    ap.add_argument("--skip-fidelity", action="store_true", help="only the generation-speed part")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    space = NetworkSpace.load(a.space)
    grid = AcceleratorSpace.load(a.accel_space)
    model = get_cost_model("analytical", grid.hardware)

    t = time.perf_counter()
    table = CostTable.build(space, grid, model)
    t_table = time.perf_counter() - t
    print(f"cost table: {space.num_positions} positions x {space.num_ops} ops x {len(grid)} accelerators "
          f"({model.name} v{model.version}) in {t_table:.2f} s")
    if not a.skip_gen:
        spec = DataSpec(n_archs=a.gen_networks, pairs_per_arch=a.gen_pairs_per_net)
        print()
        print(f"sample generation: {spec.n_archs} networks x {spec.pairs_per_arch} pairs = "
              f"{spec.n_archs * spec.pairs_per_arch} labelled pairs + {spec.n_archs} optimal-accelerator "
              f"labels x 4 objectives (goal <= 300 s)")
        print(f"  {'workers':>7} {'seconds':>9} {'pairs/s':>12}")
        for w in (1, 2):
            t = time.perf_counter()
            ds = generate(space, grid, model, spec, workers=w, table=table)
            dt = time.perf_counter() - t + t_table
            print(f"  {w:>7} {dt:>9.2f} {ds.num_pairs / dt:>12,.0f}")
        if a.ray:
            t = time.perf_counter()
            ds = generate(space, grid, model, spec, workers=2, table=table, use_ray=True)
            dt = time.perf_counter() - t + t_table
            rate = ds.meta["labels_per_s_per_worker"]
            print(f"  {'ray 2':>7} {dt:>9.2f} {ds.num_pairs / dt:>12,.0f}   {rate:.1f} labelled networks/s "
                  f"per worker: {spec.n_archs / (rate * 64):.1f} s for these on 64 cores, "
                  f"{50_000 / (rate * 64) / 60:.1f} min for 50 000 (extrapolated; the table itself: "
                  f"hdx cost table)")
        del ds
    if a.skip_fidelity:
        return
    print()
    ev = load_evaluator("learned", a.path, space=space, grid=grid, model=model, objective=a.objective)
    rep = fidelity(ev, space, grid, table, n_archs=a.networks)
    print(format_report(rep, ev.meta))
    if table.on_disk:
        print("exact oracle for comparison: not run (its table is kept on disk, over the memory budget)")
        return
    oracle = load_evaluator("oracle", space=space, grid=grid, model=model, objective=a.objective, table=table)
    t = inference_latency(oracle, space)
    print(f"exact oracle for comparison: forward batch 1 {t['forward_b1']:.3f} ms, batch 256 "
          f"{t['forward_b256']:.3f} ms, forward+backward batch 1 {t['fwd_bwd_b1']:.3f} ms")


if __name__ == "__main__":
    main()
