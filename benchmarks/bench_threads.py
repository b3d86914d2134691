"""Search-step speed under the default CPU thread policy, idle and with busy background processes.

Times real ``hdx search`` steps (shipped default config: supernet width 0.25, batch 64, one weight step +
one architecture step per step, real CIFAR-10 images) with

* ``before``: torch's own default (every core: ``torch.get_num_threads()`` at start-up), and
* ``after``: HDX's default policy (:func:`hdx.runtime.default_threads`, evaluated under each load),

first on the machine as it is, then with ``--burners`` (default 2) ``python -c 'while 1: pass'``
processes running. Prints one row per (load, policy): threads, median and max seconds per step,
steps/s (steps done / seconds, stalls included).

    python benchmarks/bench_threads.py [--steps 6] [--burners 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from hdx.runtime import StepTimer, available_cpus, default_threads
from hdx.search.config import load_search_config
from hdx.search.loop import Searcher, load_data, prepare

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar-10-batches-py"


def time_steps(searcher: Searcher, threads: int | None, steps: int, cap_s: float, adapt: bool = False,
               timer=None) -> list[float]:
    """Seconds of each of ``steps`` search steps (fewer if ``cap_s`` seconds run out); ``adapt``: with
    HDX's stall fallback (:func:`hdx.runtime.degrade_on_stall`), as in ``hdx search``; ``timer``: the
    step timer of the steps before (the run so far); ``threads`` None: keep the current count."""
    from hdx.runtime import StepTimer, degrade_on_stall

    if threads is not None:
        torch.set_num_threads(threads)
    timer = timer or StepTimer()
    it = iter(searcher.data.train.epoch(0))
    val = searcher._val_batches(0)
    out: list[float] = []
    start = time.perf_counter()
    while len(out) < steps and time.perf_counter() - start < cap_s:
        t0 = time.perf_counter()
        xb, yb = next(it)
        searcher.weight_step(xb, yb)
        vx, vy = next(val)
        searcher.arch_step(vx, vy)
        out.append(time.perf_counter() - t0)
        timer.tick()
        if adapt:
            degrade_on_stall(timer, False, lambda s: print(f"    [{s[:60]}...]"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--burners", type=int, default=2)
    ap.add_argument("--cap", type=float, default=120, help="seconds per row at most")
    ap.add_argument("--settle", type=float, default=60, help="seconds for the load average to see the load")
    args = ap.parse_args()
    torch_default = torch.get_num_threads()
    policy_at_start = default_threads()  # what `hdx search` picks when it starts now
    data = os.environ.get("HDX_DATA", str(DATA))
    real = Path(data).is_dir()
    cfg = load_search_config("default", {"data": data, "subset": 2000, "eval_images": 0, "progress": False,
                                         "fake_data": not real, "threads": 1, "retrain_epochs": 0})
    setup = prepare(cfg)
    from hdx.report.rundir import RunDir

    with tempfile.TemporaryDirectory() as tmp:
        run = RunDir(Path(tmp) / "run")
        searcher = Searcher(setup, load_data(cfg), run)
        time_steps(searcher, 1, 2, 60)  # warm-up (allocations, caches), not timed
        print(f"cores available {available_cpus()}, torch default threads {torch_default}, "
              f"{'real CIFAR-10' if real else 'fake data'}, {args.steps} steps per row "
              f"(weight step + arch step each)")
        print(f"{'load':<30} {'policy':<16} {'threads':>7} {'median s/step':>14} {'max s/step':>11} "
              f"{'steps/s':>8}")
        print(f"(machine load at start: {os.getloadavg()[0]:.2f}; other users' jobs count as 'idle' load)")
        procs: list[subprocess.Popen] = []

        def row(load: str, policy: str, n: int, adapt: bool = False, before_load: int = 0) -> None:
            timer = StepTimer()
            if before_load:  # the run so far, on the machine as it was: the timer's baseline
                time_steps(searcher, n, before_load, args.cap, adapt, timer)
                procs.extend(subprocess.Popen([sys.executable, "-c", "while 1: pass"])
                             for _ in range(args.burners))
                time.sleep(2)
            ts = time_steps(searcher, None if before_load else n, args.steps, args.cap, adapt, timer)
            med = statistics.median(ts)
            print(f"{load:<30} {policy:<16} {n:>7} {med:>14.2f} {max(ts):>11.2f} "
                  f"{len(ts) / sum(ts):>8.2f}  ({len(ts)} steps, ends at {torch.get_num_threads()} "
                  f"thread(s))", flush=True)
            if before_load:
                stop(procs)

        try:
            row("as is", "before (torch)", torch_default)
            row("as is", "after (hdx)", policy_at_start, adapt=True)
            # load arriving during a run that started on an idle machine (every core, as the policy
            # gives at load 0): 8 steps as is, then the busy processes start
            start_policy = available_cpus()
            later = f"+{args.burners} busy, arriving later"
            row(later, "before (torch)", torch_default, before_load=8)
            row(later, "after (hdx)*", start_policy, adapt=True, before_load=8)
            procs.extend(subprocess.Popen([sys.executable, "-c", "while 1: pass"])
                         for _ in range(args.burners))
            # load already there when the run starts (the 1-minute load average has seen it)
            time.sleep(args.settle)
            policy_busy = default_threads()
            row(f"+{args.burners} busy, already there", "before (torch)", torch_default)
            row(f"+{args.burners} busy, already there", "after (hdx)", policy_busy, adapt=True)
            print(f"(load average now {os.getloadavg()[0]:.2f}; * starts at every core, as the policy does "
                  f"on an idle machine, and drops to 1 thread at the first stall)")
        finally:
            stop(procs)


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.kill()
        p.wait()
    procs.clear()


if __name__ == "__main__":
    main()
