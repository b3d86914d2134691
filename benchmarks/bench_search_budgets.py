"""Hard latency budgets: HDX vs DANCE (soft cost, best λ of a sweep) vs NAS→HW, on real CIFAR-10 —
run as one ``hdx sweep`` (the shipped sweep file ``hdx/configs/sweep/paper_cifar10.yaml``).

``python benchmarks/bench_search_budgets.py`` prints:

1. Three latency budgets from the space itself: ``latency<=p20`` (tight), ``p50`` (medium) and ``p80``
   (loose), the percentiles of the latency of 2 000 random networks of the space, each on its
   EDAP-optimal accelerator (exhaustive search with the ground-truth model; :mod:`hdx.cost.relative`).
   Every run resolves them for the cost model it uses; their values are printed.
2. The sweep: per seed one weight-only warm-up is trained and **shared** by every trial of that seed
   (``shared_warmup``: the warm-up never reads α, budgets or the method; same final.json as unshared).
   HDX (hard budget, λ=0) per level; DANCE (CE + λ·log(latency/ref)) per λ, each λ's network checked
   against every level (``judge_budgets``: the EDAP-best accelerator meeting the level), the reported
   λ per level the best one (most seeds meeting it, then accuracy); NAS→HW (CE only) checked the same way.
   Per run: ground-truth latency, met or not, validation accuracy with inherited weights.
3. Two simultaneous hard budgets (latency medium + area): HDX must meet both in every seed.
4. Time: seconds per epoch, and the wall time of the sweep **serially in one process vs on a local Ray
   with 2 workers** (``--executor both``, the default, runs it both ways and checks the rows agree).

Reduced runs for development: ``--seeds 1 --subset 600 --epochs 3 --warmup 1 --executor ray``.
Evaluator: ``auto`` = the shipped learned evaluator for EDAP (HDX, NAS→HW); the exact oracle for DANCE's
latency objective (no learned latency evaluator ships; an advantage to DANCE, if anything).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from hdx.budgets import parse_budget_specs
from hdx.cost.relative import SpaceDistribution
from hdx.search.config import SearchConfig
from hdx.search.loop import prepare
from hdx.sweep import SweepSpec, load_sweep, run_sweep
from hdx.sweep.spec import expand

SHARED = Path(__file__).resolve().parents[2] / "shared"  # ../shared beside the repository
LEVELS = ("tight", "medium", "loose")


def scaled_spec(args) -> tuple[SweepSpec, dict[str, str], dict[str, float], str]:
    """The shipped sweep, scaled by the flags; its judge budgets (tight, medium, loose) with their values
    on this space, grid and cost model."""
    spec = load_sweep(args.sweep)
    d = spec.model_dump()
    base = {**d["base"], "data": args.data, "subset": args.subset, "epochs": args.epochs,
            "warmup_epochs": args.warmup, "width_mult": args.width, "evaluator": args.evaluator}
    d["base"] = base
    d["axes"] = {**d["axes"], "seed": list(range(args.seeds))}
    d["threads_per_trial"] = args.threads
    for var in d["variants"]:
        if "hw_lambda" in var and args.lambdas:
            var["hw_lambda"] = [float(x) for x in args.lambdas.split(",")]
    setup = prepare(SearchConfig(**{**base, "budgets": []}))
    dist = SpaceDistribution(setup.table, setup.space)
    texts = dict(zip(LEVELS, d["judge_budgets"], strict=True))
    values = {}
    for lvl, text in texts.items():
        b = parse_budget_specs(text)[0]
        values[lvl] = dist.percentile(b.metric, b.percentile) if hasattr(b, "percentile") else b.limit
    return SweepSpec(**d), texts, values, f"{setup.evaluator_kind} evaluator"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", default="paper_cifar10", help="sweep file (shipped name or YAML)")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--subset", type=int, default=2400)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--width", type=float, default=0.25)
    ap.add_argument("--lambdas", type=str, default=None, help="DANCE λ values (default: the sweep file's)")
    ap.add_argument("--threads", type=int, default=1, help="threads per trial")
    ap.add_argument("--evaluator", type=str, default="auto")
    ap.add_argument("--executor", choices=("both", "ray", "serial"), default="both",
                    help="both: run the sweep serially and on local Ray (2 workers), compare, time both")
    ap.add_argument("--out", type=str, default=None, help="keep the sweep directories here (default: temp)")
    ap.add_argument("--data", type=str,
                    default=os.environ.get("HDX_DATA", str(SHARED / "data/cifar-10-batches-py")))
    args = ap.parse_args()
    t_start = time.perf_counter()
    spec, lv, lv_ms, ev_text = scaled_spec(args)
    n = len(expand(spec))
    print(f"setting: CIFAR-10 subset {args.subset} (half train, half val), width {args.width}, "
          f"{args.epochs} epochs ({args.warmup} shared warm-up), batch 64, {args.threads} thread(s) per "
          f"trial, {ev_text}, analytical cost model, {args.seeds} seeds, {n} trials (hdx sweep, shipped file "
          f"{args.sweep})")
    hdx_two = [bs for v in spec.variants if v.get("method") == ["hdx"] for bs in v["budgets"]
               if len(bs) > 1][0]
    print("latency budgets (percentiles of the EDAP-optimal latency of 2000 random networks): "
          + ", ".join(f"{k} {v.split('<=')[1]} = {lv_ms[k]:.6g} ms" for k, v in lv.items())
          + f"; area budget {hdx_two[1]} (every run prints its value)")
    tmp = tempfile.TemporaryDirectory(prefix="bench_sweep_")
    root = Path(args.out) if args.out else Path(tmp.name)
    runs = {}
    for ex in (("serial", "ray") if args.executor == "both" else (args.executor,)):
        out = root / ex
        t0 = time.perf_counter()
        res = run_sweep(spec, out, use_ray=ex == "ray", num_cpus=2, resume=(out / "sweep.json").is_file(),
                        log=lambda s: None)
        runs[ex] = (res, time.perf_counter() - t0)
        print(f"sweep on {res.executor}: {res.ran} of {n} trials run now (the others were finished in "
              f"{out}) in {runs[ex][1] / 60:.1f} min", flush=True)
    res = runs.get("ray", runs.get("serial"))[0]
    print_tables(res.rows, spec, lv, lv_ms, args)
    print_time(res, runs, spec, t_start)


def print_tables(rows: list[dict], spec: SweepSpec, lv: dict[str, str], lv_ms: dict[str, float],
                 args) -> None:
    lambdas = [lam for v in spec.variants if "hw_lambda" in v for lam in v["hw_lambda"]]
    table: dict[tuple[str, str], list[tuple[float, bool, float]]] = {}
    two = []
    failed = [r for r in rows if r["status"] in ("failed", "pending")]
    for r in failed:
        print(f"trial {r['trial']} {r['status']}: {r['error']}")
    for r in rows:
        if r["status"] in ("failed", "pending"):
            continue
        acc = r["val_acc"]
        if r["method"] == "hdx" and ";" in r["budgets"]:
            two.append((r["latency_ms"], r["area_mm2"], r["status"] == "feasible", acc))
        elif r["method"] == "hdx":
            lvl = next(k for k, b in lv.items() if b == r["budgets"])
            table.setdefault(("hdx", lvl), []).append((r["latency_ms"], r["status"] == "feasible", acc))
        else:
            meth = f"dance λ={float(r['hw_lambda']):g}" if r["method"] == "dance" else r["method"]
            for lvl, b in lv.items():
                met = r[f"judge[{b}]"] == "met"
                table.setdefault((meth, lvl), []).append((r[f"judge_value[{b}]"], met, acc))
    print("\nLatency budgets (ground truth; lat = latency on the EDAP-best accelerator meeting the budget, "
          "acc = val accuracy, inherited weights)")
    seeds = "".join(f" {'seed ' + str(s):>22}" for s in range(args.seeds))
    print(f"{'level':<7} {'budget':>9}  {'method':<16}" + seeds + f" {'met':>5} {'mean acc':>9}")
    methods = ["hdx", *[f"dance λ={lam:g}" for lam in lambdas], "nas-then-hw"]
    best_dance = {}
    for lvl in lv:
        t = lv_ms[lvl]
        cands = [(sum(ok for _, ok, _ in table[(f"dance λ={lam:g}", lvl)]),
                  np.mean([a for _, ok, a in table[(f"dance λ={lam:g}", lvl)] if ok] or [0.0]), lam)
                 for lam in lambdas]
        best_dance[lvl] = max(cands)[2]
        for meth in methods:
            r = table.get((meth, lvl), [])
            cells = "".join(f" {lat:7.3f}ms {'met ' if ok else 'MISS'} {100 * a:5.1f}%" for lat, ok, a in r)
            tag = " *" if meth == f"dance λ={best_dance[lvl]:g}" else ""
            mean = f"{100 * np.mean([a for _, _, a in r]):8.1f}%" if r else "     n/a"
            met = f"{sum(ok for _, ok, _ in r)}/{len(r):<3}"
            print(f"{lvl:<7} {t:7.3f}ms  {meth + tag:<16}{cells} {met} {mean}")
    print("(* = best DANCE λ for that level: most seeds meeting the budget, then accuracy)")
    hdx_met = sum(ok for lvl in lv for _, ok, _ in table.get(("hdx", lvl), []))
    print(f"\nHDX met {hdx_met}/{len(lv) * args.seeds} latency budgets")
    for lvl in lv:
        h = [a for _, ok, a in table.get(("hdx", lvl), []) if ok]
        d = [a for _, ok, a in table[(f"dance λ={best_dance[lvl]:g}", lvl)] if ok]
        hs = f"{100 * np.mean(h):.1f}%" if h else "n/a"
        ds = f"{100 * np.mean(d):.1f}%" if d else "n/a (no run met it)"
        print(f"  {lvl:<7} mean acc of runs meeting the budget: HDX {hs} vs best DANCE "
              f"(λ={best_dance[lvl]:g}) {ds}")
    two_b = next(r["budgets"] for r in rows if r["method"] == "hdx" and ";" in r["budgets"])
    print(f"\nTwo hard budgets: {two_b.replace(';', ' and ')} (HDX)")
    for s, (lat, area, ok, a) in enumerate(two):
        print(f"  seed {s}: latency {lat:.3f} ms, area {area:.4f} mm2, {'both met' if ok else 'MISSED'}, "
              f"acc {100 * a:.1f}%")
    print(f"  HDX met both in {sum(ok for *_, ok, _ in two)}/{len(two)} seeds")


def print_time(res, runs: dict, spec: SweepSpec, t_start: float) -> None:
    warm, search = [], []
    for t in res.trials:
        p = res.out / "trials" / t.name / "timing.json"
        if p.is_file():
            ep = json.loads(p.read_text())["seconds_per_epoch"]
            warm += ep[: t.config.warmup_epochs]
            search += ep[t.config.warmup_epochs:]
    print(f"\nTime: warm-up epoch {np.mean(warm):.1f} s (weights only), search epoch {np.mean(search):.1f} s "
          f"(weights + arch steps), whole script {(time.perf_counter() - t_start) / 60:.1f} min")
    if len(runs) == 2:
        (rs, ts), (rr, tr) = runs["serial"], runs["ray"]
        same = [{k: v for k, v in r.items() if k != "wall_s"} for r in rs.rows] == \
               [{k: v for k, v in r.items() if k != "wall_s"} for r in rr.rows]
        print(f"Wall time of the sweep ({len(rs.rows)} trials): serial in one process {ts / 60:.1f} min, "
              f"local Ray with 2 workers {tr / 60:.1f} min ({ts / tr:.2f}x); rows identical: "
              f"{'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
