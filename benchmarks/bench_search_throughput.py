"""Throughput of a search step and a retrain step (images/s), with a profile of the search step, beside
the same network as a plain ``nn.Sequential``.

    python benchmarks/bench_search_throughput.py [--threads 2] [--device cpu|cuda] [--steps 20]

* **search step** = what ``hdx search`` does per batch after the warm-up: one weight step of the
  supernet (``Searcher.weight_step``) + one architecture step (``Searcher.arch_step``: supernet
  forward on a validation batch, two evaluator calls, HDX manipulation, the metrics record), with the
  main job's settings (``hdx/configs/search/default.yaml``: width, batch, budget, evaluator). Images/s
  counts the weight batch (the unit of an epoch). The profile splits it: batch preparation
  (augmentation, loader), weight step, arch step, and inside the arch step the evaluator calls,
  the manipulation and the log write (each timed alone, in the same state).
* **retrain step** = one step of ``hdx train``'s trainer with the ``retrain_cpu`` recipe (NHWC, batch
  128, label smoothing, SGD) on the derived-network class (``hdx.model.Network``), and the same
  architecture written as a plain ``nn.Sequential`` (fixed/Sequential ratio: goal <= 1.2).

Medians over ``--steps`` timed steps after warm-up steps; the load average is printed (shared CPU).
Beside wall time, the process CPU time per step is printed (all threads together): on a shared
machine it stays close to what the step costs on an idle one (wall ≈ CPU / threads when idle), so the
two columns tell load from cost.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train_throughput import plain_sequential  # noqa: E402
from hdx.model import Network  # noqa: E402
from hdx.report.rundir import RunDir  # noqa: E402
from hdx.runtime import resolve_device  # noqa: E402
from hdx.search.config import load_search_config  # noqa: E402
from hdx.search.loop import Searcher, load_data, prepare  # noqa: E402
from hdx.search.manipulation import manipulate  # noqa: E402
from hdx.train.config import load_train_config  # noqa: E402
from hdx.train.trainer import autocast, param_groups  # noqa: E402

ARCH = "mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3"


CPU_TIMES: dict[int, list[float]] = {}  # id(list of wall times) -> process CPU seconds of the same steps


def timed(fn, n: int, dev: torch.device) -> list[float]:
    out, cpu = [], []
    for _ in range(n):
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        t, c = time.perf_counter(), time.process_time()
        fn()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        out.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    CPU_TIMES[id(out)] = cpu
    return out


def med_cpu(xs: list[float]) -> float:
    return statistics.median(CPU_TIMES.get(id(xs), [float("nan")]))


def med(xs: list[float]) -> tuple[float, float]:
    """(median wall seconds, median process CPU seconds) of the steps ``xs`` came from."""
    return statistics.median(xs), med_cpu(xs)


def search_profile(a, dev: torch.device, tmp: Path) -> list[tuple[str, float, int]]:
    cfg = load_search_config(a.config, {"fake_data": True, "subset": 4 * a.batch_search * 2 + 2,
                                        "eval_images": 0, "threads": a.threads, "progress": False,
                                        "device": str(dev), "batch_size": a.batch_search,
                                        "channels_last": a.channels_last, "retrain_epochs": 0})
    s = Searcher(prepare(cfg), load_data(cfg, dev), RunDir(tmp / "search"))
    bs = cfg.batch_size
    batches = list(s.data.train.epoch(0))
    vals = list(s.data.val.epoch(0))
    k = [0]

    def data_step():
        list(s.data.train.epoch(k[0]))
        k[0] += 1

    def wstep():
        s.weight_step(*batches[k[0] % len(batches)])
        k[0] += 1

    def astep():
        s.arch_step(*vals[k[0] % len(vals)])
        k[0] += 1

    def both():
        wstep()
        astep()

    probs = s.net.arch_probs()

    def evaluator():
        s.s.evaluator(probs.detach().requires_grad_(True))

    g = torch.randn_like(s.alpha)

    def manip():
        manipulate(g, [torch.randn_like(s.alpha)], s.delta.delta if len(s.delta.delta) else [0.05], [True])

    rec = {"phase": "bench", "ce": 1.0, "pred": {"latency": 1.0}, "budgets": {}}

    def log():
        s.run.log(rec)

    n = a.steps
    for f in (wstep, astep):
        timed(f, 2, dev)
    rows = [("search step (weight + arch)", med(timed(both, n, dev)), bs)]
    t_data = tuple(v / len(batches) for v in med(timed(data_step, max(2, n // 5), dev)))
    rows += [("  batch preparation (augment, loader)", t_data, bs),
             ("  weight step (supernet fwd+bwd, SGD)", med(timed(wstep, n, dev)), bs),
             ("  arch step (total)", med(timed(astep, n, dev)), bs),
             ("    evaluator call (x2 per arch step)", med(timed(evaluator, n, dev)), bs),
             ("    HDX manipulation", med(timed(manip, n, dev)), bs),
             ("    metrics record write", med(timed(log, n, dev)), bs)]
    return rows


def retrain_rows(a, dev: torch.device) -> list[tuple[str, float, int]]:
    from hdx.space.network import NetworkSpace

    tc = load_train_config(a.retrain_config, {"arch": ARCH, "device": str(dev)})
    width = a.width_retrain or tc.width_mult
    bs = tc.batch_size
    space = NetworkSpace.load()
    fmt = torch.channels_last
    net = Network(space, ARCH, width).to(dev, memory_format=fmt).train()
    seq = plain_sequential(net).to(dev, memory_format=fmt).train()
    assert sum(p.numel() for p in seq.parameters()) == sum(p.numel() for p in net.parameters())
    x = torch.randn(bs, 3, 32, 32, device=dev).contiguous(memory_format=fmt)
    y = torch.randint(0, 10, (bs,), device=dev)
    crit = nn.CrossEntropyLoss(label_smoothing=tc.label_smoothing)

    def stepper(m: nn.Module):
        opt = torch.optim.SGD(param_groups(m, tc.weight_decay), lr=0.01, momentum=0.9, nesterov=True)

        def step():
            with autocast(dev, tc.amp):
                out = m(x)
            loss = crit(out.float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return step

    sn, ss = stepper(net), stepper(seq)
    timed(sn, 2, dev)
    timed(ss, 2, dev)
    tn, ts, cn, cs = [], [], [], []
    for _ in range(a.steps):  # alternate so background load hits both alike
        x1, x2 = timed(sn, 1, dev), timed(ss, 1, dev)
        tn, ts, cn, cs = tn + x1, ts + x2, cn + CPU_TIMES[id(x1)], cs + CPU_TIMES[id(x2)]
    tag = f"width {width}, batch {bs}"
    return [(f"retrain step, hdx Network ({tag})", (statistics.median(tn), statistics.median(cn)), bs),
            (f"same arch as plain nn.Sequential ({tag})", (statistics.median(ts), statistics.median(cs)), bs)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="default", help="search config (default: the main job's)")
    ap.add_argument("--retrain-config", default="retrain_cpu")
    ap.add_argument("--width-retrain", type=float, default=None)
    ap.add_argument("--batch-search", type=int, default=None)
    ap.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = resolve_device(a.device)
    base = load_search_config(a.config)
    a.batch_search = a.batch_search or base.batch_size
    a.channels_last = base.channels_last if a.channels_last is None else a.channels_last
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        rows = search_profile(a, dev, Path(tmp))
    rows += retrain_rows(a, dev)
    load1 = os.getloadavg()
    where = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"CPU, {a.threads} thread(s)"
    print(f"{where}; search: config '{a.config}' (width {base.width_mult}, batch {a.batch_search}, "
          f"channels_last {a.channels_last}, budgets {', '.join(base.budgets) or 'none'}); "
          f"load average {load0[0]:.2f} before, {load1[0]:.2f} after")
    print(f"{'what':<56} {'ms/step':>9} {'images/s':>9} {'CPU ms/step':>12} {'img/CPU-s':>10}")
    for name, (t, c), bs in rows:
        print(f"{name:<56} {t * 1e3:>9.1f} {bs / t:>9.0f} {c * 1e3:>12.1f} {bs / max(c, 1e-9):>10.0f}")
    ratio = rows[-2][1][0] / rows[-1][1][0]
    print(f"hdx Network / nn.Sequential step time: {ratio:.3f}x (goal <= 1.2x); images/s per CPU-second "
          f"(all threads) is the idle-machine rate of one core")


if __name__ == "__main__":
    main()
