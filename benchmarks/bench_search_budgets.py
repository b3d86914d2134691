"""Hard latency budgets: HDX vs DANCE (soft cost, best λ of a sweep) vs NAS→HW, on real CIFAR-10.

One script, one run, printed tables (``python benchmarks/bench_search_budgets.py``):

1. Three latency budgets from the space itself: the 20th (tight), 50th (medium) and 80th (loose)
   percentile of the latency of 2 000 random networks of the space, each on its EDAP-optimal
   accelerator (exhaustive search of the grid with the ground-truth model).
2. For each of ``--seeds`` seeds one weight-only supernet warm-up is trained and **shared** by every
   run of that seed (the warm-up never looks at α, budgets or the method, so every method starts from
   the same weights; the data split and the warm-up are identical to what each run would have done
   alone). From it:

   * HDX (``--method hdx``, CE + hard budget, λ=0): one search per budget level;
   * DANCE (``--method dance``, CE + λ·log(latency/ref)): one search per λ of the sweep; its result
     does not depend on the budget, so each λ's network is checked against every level and the
     reported λ per level is the best one (most seeds meeting the budget, then accuracy);
   * NAS→HW (CE only): one search, then per level the EDAP-best accelerator meeting the budget.

   Per run: ground-truth latency of the derived network on its accelerator (exhaustive under the
   budget), met or not, and validation accuracy of the derived network with inherited supernet weights
   (BN recalibrated) on the held-out split.
3. Two simultaneous hard budgets (latency medium and an area budget below the area of the typical
   EDAP-optimal accelerator): HDX must meet both (ground truth) in every seed.
4. Seconds per epoch (warm-up and search) and the total.

Evaluator: ``--evaluator auto`` gives HDX and NAS→HW (objective EDAP) the shipped learned evaluator;
the DANCE runs (objective latency) fall back to the exact oracle, as no learned latency-objective
evaluator ships (an advantage to DANCE, if anything).

CPU-sized setting (printed): small subset, width 0.25, few epochs, 1 thread. Accuracies are those of a
barely trained supernet and are only comparable between methods of the same seed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from hdx.budgets import Budget
from hdx.cost.feasibility import choose_accelerator
from hdx.metrics import Objective
from hdx.report.rundir import RunDir
from hdx.search.config import SearchConfig
from hdx.search.finish import exhaustive_optimal, min_achievable
from hdx.search.loop import Searcher, load_data, prepare

EDAP = Objective("edap")
SHARED = Path(__file__).resolve().parents[2] / "shared"  # ../shared beside the repository


def levels(setup, n: int = 2000) -> dict[str, float]:
    rng = np.random.default_rng(0)
    lat = exhaustive_optimal(setup.table, setup.space.sample_indices(rng, n), Objective("edap"))["latency"]
    return {
        "tight": float(np.quantile(lat, 0.2)),
        "medium": float(np.quantile(lat, 0.5)),
        "loose": float(np.quantile(lat, 0.8)),
    }


def area_level(setup, t_lat: float) -> float:
    """An area budget below the typical EDAP-optimal accelerator's area, jointly feasible with t_lat."""
    rng = np.random.default_rng(1)
    typical = float(
        np.median(exhaustive_optimal(setup.table, setup.space.sample_indices(rng, 500), EDAP)["area"])
    )
    areas = np.unique(setup.table.area_mm2)
    for a in sorted(areas[areas < typical], reverse=True)[2:]:  # a few grid steps below the typical area
        limit = float(a) * 1.0001
        if min_achievable(
            setup.table, [Budget("latency", t_lat), Budget("area", limit)], setup.grid
        ).feasible:
            return limit
    return typical * 0.99


def run_one(base: dict, warm: dict, data, out: Path, **kw) -> tuple[dict, Searcher]:
    cfg = SearchConfig(**{**base, **kw})
    setup = prepare(cfg)
    s = Searcher(setup, data, RunDir(out))
    s.load_warm_state(warm)
    final = s.run_all().to_json()
    return final, s


def level_check(setup, arch: str, budget: Budget) -> tuple[float, bool]:
    """Ground-truth latency of ``arch`` on the EDAP-best accelerator meeting ``budget``, and met."""
    c = choose_accelerator(setup.table.arch_metrics(setup.space.encode(arch)), EDAP, [budget])
    return c.metrics["latency"], c.feasible


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--subset", type=int, default=2400)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--width", type=float, default=0.25)
    ap.add_argument("--lambdas", type=str, default="0.02,0.1,0.5")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--evaluator", type=str, default="auto", help="auto (shipped learned), oracle, or a path")
    ap.add_argument(
        "--data", type=str,
        default=os.environ.get("HDX_DATA", str(SHARED / "data/cifar-10-batches-py")),
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    lambdas = [float(x) for x in args.lambdas.split(",")]
    base = dict(
        data=args.data,
        subset=args.subset,
        val_fraction=0.5,
        eval_images=0,
        epochs=args.epochs,
        warmup_epochs=args.warmup,
        batch_size=64,
        width_mult=args.width,
        arch_lr=0.05,
        threads=args.threads,
        progress=False,
        evaluator=args.evaluator,
        objective="edap",
        hw_lambda=0.0,
        bn_batches=8,
        recheck_rounds=3,
        recheck_steps=15,
    )
    setup0 = prepare(SearchConfig(**base))
    lv = levels(setup0)
    t_area = area_level(setup0, lv["medium"])
    print(
        f"setting: CIFAR-10 subset {args.subset} (half train, half val), width {args.width}, {args.epochs} "
        f"epochs ({args.warmup} shared warm-up), batch 64, {args.threads} thread(s), "
        f"{setup0.evaluator_kind} evaluator, "
        f"analytical cost model, {args.seeds} seeds"
    )
    print(
        "latency budgets (percentiles of the EDAP-optimal latency of 2000 random networks): "
        + ", ".join(f"{k} {v:.3f} ms" for k, v in lv.items())
        + f"; area budget {t_area:.4f} mm2"
    )
    rows: dict[tuple[str, str], list[tuple[float, bool, float]]] = {}
    two: list[tuple[float, float, bool, float]] = []
    warm_times, search_times = [], []
    tmp_dir = tempfile.TemporaryDirectory(prefix="bench_search_")  # run dirs; removed at exit
    tmp = Path(tmp_dir.name)
    for seed in range(args.seeds):
        cfg_w = SearchConfig(**{**base, "seed": seed})
        data = load_data(cfg_w)
        w = Searcher(prepare(cfg_w), data, RunDir(tmp / f"warm{seed}"))
        w.warm_up()
        warm = w.warm_state()
        warm_times += warm["epoch_times"]
        print(f"seed {seed}: warm-up {sum(warm['epoch_times']):.0f} s", flush=True)

        def go(name: str, seed=seed, warm=warm, data=data, **kw):
            final, s = run_one({**base, "seed": seed}, warm, data, tmp / f"{name}_{seed}", **kw)
            search_times.extend(s.epoch_times[len(warm["epoch_times"]) :])
            return final, s

        for lvl, t in lv.items():
            final, _ = go(f"hdx_{lvl}", method="hdx", budgets=[f"latency<={t:.6f}ms"])
            rows.setdefault(("hdx", lvl), []).append(
                (
                    final["accelerator"]["metrics"]["latency"],
                    final["feasible"],
                    final["accuracy_inherited"]["val_acc"],
                )
            )
        for lam in lambdas:
            final, s = go(f"dance_{lam}", method="dance", objective="latency", hw_lambda=lam)
            for lvl, t in lv.items():
                lat, ok = level_check(s.s, final["arch"], Budget("latency", t))
                rows.setdefault((f"dance λ={lam}", lvl), []).append(
                    (lat, ok, final["accuracy_inherited"]["val_acc"])
                )
        final, s = go("nas", method="nas-then-hw")
        for lvl, t in lv.items():
            lat, ok = level_check(s.s, final["arch"], Budget("latency", t))
            rows.setdefault(("nas-then-hw", lvl), []).append(
                (lat, ok, final["accuracy_inherited"]["val_acc"])
            )
        final, _ = go(
            "hdx_two", method="hdx", budgets=[f"latency<={lv['medium']:.6f}ms", f"area<={t_area:.6f}mm2"]
        )
        m = final["accelerator"]["metrics"]
        two.append((m["latency"], m["area"], final["feasible"], final["accuracy_inherited"]["val_acc"]))
        print(f"seed {seed}: done at {time.perf_counter() - t_start:.0f} s", flush=True)

    print(
        "\nLatency budgets (ground truth; lat = latency on the EDAP-best accelerator meeting the budget, "
        "acc = val accuracy, inherited weights)"
    )
    hdr = f"{'level':<7} {'budget':>9}  {'method':<16}" + "".join(
        f" {'seed ' + str(s):>22}" for s in range(args.seeds)
    )
    print(hdr + f" {'met':>5} {'mean acc':>9}")
    best_dance = {}
    for lvl, t in lv.items():
        cands = [
            (
                sum(ok for _, ok, _ in rows[(f"dance λ={lam}", lvl)]),
                np.mean([a for _, ok, a in rows[(f"dance λ={lam}", lvl)] if ok] or [0.0]),
                lam,
            )
            for lam in lambdas
        ]
        best_dance[lvl] = max(cands)[2]
        for meth in ["hdx", *[f"dance λ={lam}" for lam in lambdas], "nas-then-hw"]:
            r = rows[(meth, lvl)]
            cells = "".join(
                f" {lat:7.3f}ms {'met ' if ok else 'MISS'} {100 * a:5.1f}%" for lat, ok, a in r
            )
            tag = " *" if meth == f"dance λ={best_dance[lvl]}" else ""
            print(
                f"{lvl:<7} {t:7.3f}ms  {meth + tag:<16}{cells} {sum(ok for _, ok, _ in r)}/{len(r):<3} "
                f"{100 * np.mean([a for _, _, a in r]):8.1f}%"
            )
    print("(* = best DANCE λ for that level: most seeds meeting the budget, then accuracy)")
    hdx_met = sum(ok for lvl in lv for _, ok, _ in rows[("hdx", lvl)])
    print(f"\nHDX met {hdx_met}/{len(lv) * args.seeds} latency budgets")
    for lvl in lv:
        h = [a for _, ok, a in rows[("hdx", lvl)] if ok]
        d = [a for _, ok, a in rows[(f"dance λ={best_dance[lvl]}", lvl)] if ok]
        hs = f"{100 * np.mean(h):.1f}%" if h else "n/a"
        ds = f"{100 * np.mean(d):.1f}%" if d else "n/a (no run met it)"
        print(
            f"  {lvl:<7} mean acc of runs meeting the budget: HDX {hs} vs best DANCE "
            f"(λ={best_dance[lvl]}) {ds}"
        )
    print(f"\nTwo hard budgets: latency<={lv['medium']:.3f}ms and area<={t_area:.4f}mm2 (HDX)")
    for s, (lat, area, ok, a) in enumerate(two):
        print(
            f"  seed {s}: latency {lat:.3f} ms, area {area:.4f} mm2, {'both met' if ok else 'MISSED'}, "
            f"acc {100 * a:.1f}%"
        )
    print(f"  HDX met both in {sum(ok for *_, ok, _ in two)}/{len(two)} seeds")
    total = time.perf_counter() - t_start
    print(
        f"\nTime: warm-up epoch {np.mean(warm_times):.1f} s (weights only), search epoch "
        f"{np.mean(search_times):.1f} s (weights + arch steps), {len(search_times) + len(warm_times)} epochs "
        f"in total, whole script {total / 60:.1f} min"
    )


if __name__ == "__main__":
    main()
