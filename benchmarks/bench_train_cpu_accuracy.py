"""Train a fixed mid-size architecture on real CIFAR-10 on this CPU within a wall-time budget and
report the test accuracy (goal: >= 65 % in <= 15 minutes on the 2-core machine).

    python benchmarks/bench_train_cpu_accuracy.py [--data PATH] [--out DIR] [--epochs 2] ...

Equivalent command (same defaults):

    hdx train --arch mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3 --width-mult 0.5 --epochs 2 \
        --batch-size 128 --lr 0.1 --warmup-epochs 0.2 --threads 1 --out DIR

Besides accuracy and wall time it prints the CPU time the run actually got (process CPU seconds
over wall seconds) and the load average, so that slow-downs from other processes on the shared
machine are visible in the numbers.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time

from hdx.train import load_train_config, train

ARCH = "mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="CIFAR-10 folder (default: $HDX_DATA)")
    ap.add_argument("--out", default=None, help="run directory (default: a temporary folder)")
    ap.add_argument("--arch", default=ARCH)
    ap.add_argument("--width-mult", type=float, default=0.5)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--warmup-epochs", type=float, default=0.2)
    ap.add_argument("--subset", type=int, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--budget-min", type=float, default=15.0, help="wall-time goal (minutes)")
    ap.add_argument("--goal", type=float, default=0.65, help="test-accuracy goal")
    a = ap.parse_args()
    cfg = load_train_config("default", {
        "arch": a.arch, "data": a.data, "width_mult": a.width_mult, "epochs": a.epochs,
        "batch_size": a.batch_size, "lr": a.lr, "warmup_epochs": a.warmup_epochs, "subset": a.subset,
        "threads": a.threads})
    out = a.out or tempfile.mkdtemp(prefix="hdx-cpu-acc-")
    load0 = os.getloadavg()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    final = train(cfg, out, progress=True)
    wall = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    load1 = os.getloadavg()
    print()
    print(f"{'item':<30} value")
    rows = [
        ("architecture", final.arch),
        ("width multiplier", f"{cfg.width_mult}"),
        ("params / MACs", f"{final.params:,} / {final.macs / 1e6:.1f} M"),
        ("training images x epochs", f"{final.train_images:,} x {cfg.epochs} (batch {cfg.batch_size}, "
                                     f"lr {cfg.lr})"),
        ("final train accuracy", f"{final.final_train_accuracy:.2%}"),
        ("TEST ACCURACY (10 000 images)", f"{final.test_accuracy:.2%}  (goal >= {a.goal:.0%})"),
        ("wall time, total", f"{wall / 60:.1f} min  (goal <= {a.budget_min:.0f} min)"),
        ("  of which training", f"{final.train_seconds / 60:.1f} min"),
        ("CPU time obtained", f"{cpu / 60:.1f} min = {cpu / wall:.2f} cores on average "
                              f"({cfg.threads} thread(s) requested)"),
        ("load average before / after", f"{load0[0]:.2f} / {load1[0]:.2f} (1-min)"),
        ("run directory", out),
    ]
    for k, v in rows:
        print(f"{k:<30} {v}")
    ok = final.test_accuracy >= a.goal and wall <= a.budget_min * 60
    print(f"result: {'PASS' if ok else 'MISS'}")


if __name__ == "__main__":
    main()
