"""Hard latency budgets: HDX vs DANCE (soft cost, λ sweep) vs NAS→HW, on real CIFAR-10 — run as one
``hdx sweep`` (the shipped sweep file ``hdx/configs/sweep/paper_cifar10.yaml``) — then every compared
network retrained from scratch: accuracy at equal latency.

``python benchmarks/bench_search_budgets.py`` prints:

1. Three latency budgets from the space itself: the 20th (tight), 50th (medium) and 80th (loose)
   percentile of the latency of 2 000 random networks of the space, each on its EDAP-optimal
   accelerator (exhaustive search with the ground-truth model). They are recomputed here; when the
   cost model has moved them away from the sweep file's values the recomputed ones are used (printed).
2. The sweep: per seed one weight-only warm-up is trained and **shared** by every trial of that seed
   (``shared_warmup``: the warm-up never reads α, budgets or the method; same final.json as unshared).
   HDX (hard budget, λ=0, so ``fill: auto`` grows the derived network into the budget,
   docs/budget-filling.md) per level; DANCE (CE + λ·log(latency/ref)) per λ, each λ's network checked
   against every level (``judge_budgets``: the EDAP-best accelerator meeting the level); NAS→HW (CE
   only) checked the same way. Per run and level: ground-truth latency, met or not, and the **slack**
   ``(budget − latency)/budget``; median and max slack per method × level. ``hdx fill=off`` is the
   derived network of the same HDX search before the fill (the published HDX finish, recorded in
   final.json's ``fill.start``; a run with ``fill: off`` ends with exactly that design).
3. Two simultaneous hard budgets (latency medium + area): HDX must meet both in every seed (slack of each).
4. Accuracy at equal latency (``--retrain-epochs``, default 2; 0 skips it): the networks of HDX (with
   and without the fill), of every DANCE λ and of NAS→HW retrained from scratch with the same recipe
   (``retrain_cpu``), the same epochs and the search's seed; retrained test accuracy (10 000 images)
   against ground-truth latency, and HDX against every DANCE λ whose network meets the same budget.
   Retrains are cached per (network, seed) in ``OUT/retrain/index.json`` (a network shared by several
   runs is trained once) and each resumes from its last epoch when killed, so the benchmark can run in
   pieces: ``--out DIR`` keeps everything, ``--retrain-minutes M`` stops starting new retrains after M
   minutes, and the next call continues. The retrain is also recorded in each trial's ``final.json``,
   so ``results.csv`` (``retrained_acc``) and ``hdx report OUT/<executor>`` (its comparison figure:
   accuracy vs ground-truth latency) show it.
5. Time: seconds per epoch, and the wall time of the sweep **serially in one process vs on a local Ray
   with 2 workers** (``--executor both``, the default, runs it both ways and checks the rows agree).

Reduced runs for development: ``--seeds 1 --subset 600 --epochs 3 --warmup 1 --executor ray
--retrain-epochs 0``. Evaluator: ``auto`` = the shipped learned evaluator for EDAP (HDX, NAS→HW); the
exact oracle for DANCE's latency objective (no learned latency evaluator ships; an advantage to DANCE,
if anything).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hdx.metrics import Objective
from hdx.report.rundir import RunDir
from hdx.search.config import SearchConfig
from hdx.search.finish import exhaustive_optimal
from hdx.search.loop import prepare
from hdx.sweep import SweepSpec, load_sweep, run_sweep
from hdx.sweep.spec import expand

SHARED = Path(__file__).resolve().parents[2] / "shared"  # ../shared beside the repository
LEVELS = ("tight", "medium", "loose")
PUBLISHED = "hdx fill=off"


def levels(setup, n: int = 2000) -> dict[str, float]:
    rng = np.random.default_rng(0)
    lat = exhaustive_optimal(setup.table, setup.space.sample_indices(rng, n), Objective("edap"))["latency"]
    return dict(zip(LEVELS, (float(np.quantile(lat, q)) for q in (0.2, 0.5, 0.8)), strict=True))


def scaled_spec(args) -> tuple[SweepSpec, dict[str, str], str, object]:
    """The shipped sweep, scaled by the flags, with the latency levels recomputed for this cost model."""
    spec = load_sweep(args.sweep)
    d = spec.model_dump()
    base = {**d["base"], "data": args.data, "subset": args.subset, "epochs": args.epochs,
            "warmup_epochs": args.warmup, "width_mult": args.width, "evaluator": args.evaluator}
    if args.accel_space:
        base["accel_space"] = args.accel_space
    if args.table_memory_mb:
        base["table_memory_mb"] = args.table_memory_mb
    d["base"] = base
    d["axes"] = {**d["axes"], "seed": list(range(args.seeds))}
    d["threads_per_trial"] = args.threads
    lv_file = [t.split("<=")[1] for t in d["judge_budgets"]]
    setup = prepare(SearchConfig(**{**base, "budgets": []}))
    lv = levels(setup)
    fresh = [f"{v:.6g}ms" for v in lv.values()]
    note = ""
    if fresh != lv_file:
        note = f" (recomputed: the sweep file has {', '.join(lv_file)})"
    texts = {lvl: f"latency<={t}" for lvl, t in zip(LEVELS, fresh, strict=True)}
    swap = dict(zip([f"latency<={t}" for t in lv_file], texts.values(), strict=True))
    d["judge_budgets"] = list(texts.values())
    for var in d["variants"]:
        if "budgets" in var:
            var["budgets"] = [[swap.get(b, b) for b in bs] for bs in var["budgets"]]
        if "hw_lambda" in var and args.lambdas and args.lambdas != "none":
            var["hw_lambda"] = [float(x) for x in args.lambdas.split(",")]
    if args.lambdas == "none":  # no DANCE runs (e.g. with a learned evaluator of EDAP only)
        d["variants"] = [v for v in d["variants"] if "hw_lambda" not in v]
    return SweepSpec(**d), texts, f"{setup.evaluator_kind} evaluator" + note, setup


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", default="paper_cifar10", help="sweep file (shipped name or YAML)")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--subset", type=int, default=2400)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--width", type=float, default=0.25)
    ap.add_argument("--lambdas", type=str, default=None, help="DANCE λ values (default: the sweep file's; "
                    "none: no DANCE runs)")
    ap.add_argument("--threads", type=int, default=1, help="threads per trial")
    ap.add_argument("--evaluator", type=str, default="auto")
    ap.add_argument("--accel-space", type=str, default=None,
                    help="accelerator space of every trial (default: the sweep file's), e.g. dse_large")
    ap.add_argument("--table-memory-mb", type=int, default=None,
                    help="table_memory_mb of every trial: below the table's size it stays on disk and the "
                    "evaluator must be learned (e.g. --evaluator FILE)")
    ap.add_argument("--executor", choices=("both", "ray", "serial"), default="both",
                    help="both: run the sweep serially and on local Ray (2 workers), compare, time both")
    ap.add_argument("--out", type=str, default=None, help="keep the sweep directories here (default: temp)")
    ap.add_argument("--data", type=str,
                    default=os.environ.get("HDX_DATA", str(SHARED / "data/cifar-10-batches-py")))
    ap.add_argument("--retrain-epochs", type=int, default=2, help="retrain every compared network from "
                    "scratch for N epochs (0: no retrain)")
    ap.add_argument("--retrain-config", type=str, default="retrain_cpu", help="train recipe of every retrain")
    ap.add_argument("--retrain-threads", type=int, default=1, help="threads of each retrain")
    ap.add_argument("--retrain-minutes", type=float, default=None, help="start no new retrain after this "
                    "many minutes (the next call with the same --out continues)")
    ap.add_argument("--retrain-methods", type=str, default=None, help="retrain only these methods' networks, "
                    "comma-separated as the table names them (e.g. 'hdx,dance λ=0.02'; default: all); the "
                    "others stay as cached")
    args = ap.parse_args()
    t_start = time.perf_counter()
    spec, lv, ev_text, setup = scaled_spec(args)
    n = len(expand(spec))
    print(f"setting: CIFAR-10 subset {args.subset} (half train, half val), width {args.width}, "
          f"{args.epochs} epochs ({args.warmup} shared warm-up), batch 64, {args.threads} thread(s) per "
          f"trial, {ev_text}, analytical cost model, {args.seeds} seeds, {n} trials (hdx sweep, shipped file "
          f"{args.sweep})")
    hdx_two = [bs for v in spec.variants if v.get("method") == ["hdx"] for bs in v["budgets"]
               if len(bs) > 1][0]
    print("latency budgets (percentiles of the EDAP-optimal latency of 2000 random networks): "
          + ", ".join(f"{k} {v.split('<=')[1]}" for k, v in lv.items()) + f"; area budget {hdx_two[1]}")
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
    print_slack(res.rows, spec, lv, args)
    print_generator_regret(res, setup)
    if args.retrain_epochs:
        from hdx.report import write_report
        from hdx.sweep.results import collect, write_results

        table = cells(res.rows, spec, lv)
        index = run_retrains(res, table, spec, lv, root, args)
        write_results(res.out, collect(res.out, spec, res.trials))  # results.csv with retrained_acc
        print_accuracy(table, spec, lv, index, args)
        print(f"report (comparison figure: retrained accuracy vs ground-truth latency): "
              f"{write_report(res.out)}")
    print_time(res, runs, spec, t_start)


# ----------------------------------------------------------------------------------------------------
# what each run gives, per (method, level)
@dataclass
class Cell:
    """One search's network judged at one latency level (ground truth)."""

    seed: int
    arch: str
    latency: float | None  # ms, on the EDAP-best accelerator meeting the level (or the closest)
    met: bool
    slack: float | None  # (limit - latency) / limit
    val_acc: float | None  # inherited supernet weights
    objective: float | None = None


def _f(x) -> float | None:
    return None if x in (None, "") else float(x)


def cells(rows: list[dict], spec: SweepSpec, lv: dict[str, str]) -> dict[tuple[str, str], list[Cell]]:
    """HDX (the result, with the budget fill), HDX's derived network before the fill (the published
    finish, from the same search), each DANCE λ and NAS→HW, per latency level."""
    out: dict[tuple[str, str], list[Cell]] = {}
    for r in rows:
        if r["status"] in ("failed", "pending"):
            continue
        seed = int(r["seed"])
        if r["method"] == "hdx" and ";" not in r["budgets"]:
            lvl = next(k for k, b in lv.items() if b == r["budgets"])
            out.setdefault(("hdx", lvl), []).append(Cell(
                seed, r["arch"], _f(r["latency_ms"]), r["status"] == "feasible", _f(r["slack"]),
                _f(r["val_acc"]), _f(r["objective_value"])))
            if r["fill"]:
                s = _f(r["unfilled_slack"])
                out.setdefault((PUBLISHED, lvl), []).append(Cell(
                    seed, r["unfilled_arch"], _f(r["unfilled_latency_ms"]), s is not None and s >= 0, s,
                    _f(r["unfilled_val_acc"]), _f(r["unfilled_objective_value"])))
        elif r["method"] != "hdx":
            meth = f"dance λ={float(r['hw_lambda']):g}" if r["method"] == "dance" else r["method"]
            for lvl, b in lv.items():
                out.setdefault((meth, lvl), []).append(Cell(
                    seed, r["arch"], _f(r[f"judge_value[{b}]"]), r[f"judge[{b}]"] == "met",
                    _f(r[f"judge_slack[{b}]"]), _f(r["val_acc"])))
    return out


def methods_of(spec: SweepSpec) -> list[str]:
    lambdas = [lam for v in spec.variants if "hw_lambda" in v for lam in v["hw_lambda"]]
    return ["hdx", PUBLISHED, *[f"dance λ={lam:g}" for lam in lambdas], "nas-then-hw"]


def _pct(v: float | None, signed: bool = False) -> str:
    return "n/a" if v is None else (f"{100 * v:+.1f}%" if signed else f"{100 * v:.1f}%")


def print_slack(rows: list[dict], spec: SweepSpec, lv: dict[str, str], args) -> None:
    table = cells(rows, spec, lv)
    for r in rows:
        if r["status"] in ("failed", "pending"):
            print(f"trial {r['trial']} {r['status']}: {r['error']}")
    print("\nLatency budgets, ground truth: per seed the latency on the EDAP-best accelerator meeting the "
          "budget, met, slack = (budget - latency)/budget; slack median / max over the seeds meeting it")
    seeds = "".join(f" {'seed ' + str(s):>22}" for s in range(args.seeds))
    print(f"{'level':<7} {'budget':>9}  {'method':<16}" + seeds + f" {'met':>5} {'slack med':>9} "
          f"{'slack max':>9}")
    for lvl, b in lv.items():
        t = float(b.split("<=")[1].removesuffix("ms"))
        for meth in methods_of(spec):
            cs = table.get((meth, lvl), [])
            cell = "".join(f" {c.latency:7.3f}ms {'met ' if c.met else 'MISS'} {_pct(c.slack, True):>6}"
                           for c in cs)
            sl = [c.slack for c in cs if c.met and c.slack is not None]
            med = _pct(float(np.median(sl))) if sl else "n/a"
            mx = _pct(float(np.max(sl))) if sl else "n/a"
            print(f"{lvl:<7} {t:7.3f}ms  {meth:<16}{cell} {sum(c.met for c in cs)}/{len(cs):<3} {med:>9} "
                  f"{mx:>9}")
    print(f"({PUBLISHED}: the derived network of the same HDX search before the budget fill, i.e. the "
          f"published HDX finish, config fill=off)")
    for meth in ("hdx", PUBLISHED):
        cs = [c for lvl in lv for c in table.get((meth, lvl), [])]
        sl = [c.slack for c in cs if c.met and c.slack is not None]
        med, mx = (_pct(float(np.median(sl))), _pct(float(np.max(sl)))) if sl else ("n/a", "n/a")
        print(f"{meth:<14}: met {sum(c.met for c in cs)}/{len(cs)} latency budgets; slack median {med}, "
              f"max {mx}")
    price = [c.objective / u.objective - 1 for lvl in lv
             for c, u in zip(table.get(("hdx", lvl), []), table.get((PUBLISHED, lvl), []), strict=True)
             if c.objective and u.objective]
    if price:
        obj = next(r["objective"] for r in rows if r["method"] == "hdx")
        print(f"what the fill cost in the hardware objective (HDX's {obj} of the filled vs "
              f"the unfilled design, same search): median {_pct(float(np.median(price)), True)}, range "
              f"{_pct(min(price), True)} .. {_pct(max(price), True)}")
    two = [r for r in rows if r["method"] == "hdx" and ";" in r["budgets"]]
    if two:
        print(f"\nTwo hard budgets: {two[0]['budgets'].replace(';', ' and ')} (HDX)")
        for r in sorted(two, key=lambda r: int(r["seed"])):
            if r["status"] in ("failed", "pending"):
                continue
            sl = ", ".join(f"{x.rsplit(':', 1)[0]} slack {100 * float(x.rsplit(':', 1)[1]):+.1f}%"
                           for x in r["slacks"].split(";"))
            print(f"  seed {r['seed']}: latency {float(r['latency_ms']):.3f} ms, area "
                  f"{float(r['area_mm2']):.4f} mm2, {'both met' if r['status'] == 'feasible' else 'MISSED'}; "
                  f"{sl}")
        print(f"  HDX met both in {sum(r['status'] == 'feasible' for r in two)}/{len(two)} seeds")


def print_generator_regret(res, setup) -> None:
    """Per search: the hardware objective of the evaluator's own accelerator (the generator's, or the
    oracle's softmin argmax) for the final network against that network's optimum over the whole space
    (exhaustive, ground-truth table), and the search's chosen design (the exhaustive search under the
    hard budgets). Also the cost table: designs, memory, where it came from."""
    rows = [r for r in res.rows if r["status"] not in ("failed", "pending")]
    if not rows:
        return
    trials = Path(res.out) / "trials"
    finals = {r["trial"]: json.loads((trials / r["trial"] / "final.json").read_text()) for r in rows}
    table = setup.table
    regrets: dict[str, list[float]] = {}
    print(f"\nThe evaluator's accelerator vs the space's optimum for the final network "
          f"({setup.evaluator_kind} evaluator; {table.num_accels} designs; "
          f"ground truth from the exact table, "
          f"{table.per_op.nbytes / 2**20:.0f} MiB)")
    for r in rows:
        f = finals[r["trial"]]
        obj = Objective(f["objective"]) if f["objective"] != "weighted" else table.objective("weighted")
        m = table.arch_metrics(setup.space.encode(f["arch"]))
        j = obj.of(m)
        gen = float(j[f["accelerator_generator"]["accel_index"]])
        regrets.setdefault(f["objective"], []).append(gen / float(j.min()) - 1)
    for obj, rs in regrets.items():
        print(f"  {obj} regret of the evaluator's accelerator over {len(rs)} searches (objective {obj}): "
              f"median {_pct(float(np.median(rs)))}, max {_pct(float(np.max(rs)))}")


# ----------------------------------------------------------------------------------------------------
# retraining: every compared network from scratch, same recipe and epochs, cached per (network, seed)
def _key(arch: str, seed: int, args) -> str:
    return f"{arch}|seed={seed}|epochs={args.retrain_epochs}|{args.retrain_config}"


def retrain_jobs(table: dict[tuple[str, str], list[Cell]], spec: SweepSpec, lv, args
                 ) -> list[tuple[str, str, int]]:
    """(key, arch, seed) of every network to retrain: first HDX and every DANCE λ (the comparison the
    benchmark judges), seed by seed, then NAS→HW and HDX before its fill (only ``--retrain-methods``
    where given); a network shared by several runs once."""
    jobs, seen = [], set()
    dance = [m for m in methods_of(spec) if m.startswith("dance")]
    only = None if args.retrain_methods is None else {m.strip() for m in args.retrain_methods.split(",")}
    if only is not None and only - set(methods_of(spec)):
        raise SystemExit(f"--retrain-methods: unknown {', '.join(sorted(only - set(methods_of(spec))))}; the "
                         f"methods are {', '.join(methods_of(spec))}")
    for group in ([m for m in ("hdx", *dance) if only is None or m in only],
                  [m for m in ("nas-then-hw", PUBLISHED) if only is None or m in only]):
        for seed in range(args.seeds):
            for meth in group:
                for lvl in lv:
                    for c in table.get((meth, lvl), []):
                        k = _key(c.arch, c.seed, args)
                        if c.seed == seed and k not in seen:
                            seen.add(k)
                            jobs.append((k, c.arch, c.seed))
    return jobs


def run_retrains(res, table, spec: SweepSpec, lv, root: Path, args) -> dict[str, dict]:
    """Retrain what is not cached yet (stops starting new ones after ``--retrain-minutes``); each retrain
    resumes from its checkpoint when it was killed. Returns the cache {key: record}."""
    from hdx.safeio import atomic_write_json
    from hdx.train.retrain import retrain

    cache_dir = root / "retrain"
    cache_dir.mkdir(parents=True, exist_ok=True)
    index_file = cache_dir / "index.json"
    index = json.loads(index_file.read_text()) if index_file.is_file() else {}
    jobs = retrain_jobs(table, spec, lv, args)
    todo = [j for j in jobs if j[0] not in index]
    print(f"\nRetrain from scratch ({args.retrain_config}, {args.retrain_epochs} epochs, all 50 000 train "
          f"images, full test set, seed = the search's seed): {len(jobs)} distinct networks, "
          f"{len(jobs) - len(todo)} cached in {cache_dir}", flush=True)
    t0 = time.perf_counter()
    for key, arch, seed in todo:
        if args.retrain_minutes is not None and time.perf_counter() - t0 > 60 * args.retrain_minutes:
            left = sum(k not in index for k, *_ in jobs)
            print(f"  --retrain-minutes {args.retrain_minutes:g} reached: {left} left for the next call",
                  flush=True)
            break
        run_dir = cache_dir / hashlib.sha1(key.encode()).hexdigest()[:12]
        r = retrain(arch, run_dir, epochs=args.retrain_epochs, device="cpu", config=args.retrain_config,
                    data=args.data, seed=seed, threads=args.retrain_threads, progress=False)
        index[key] = {**r.record().to_json(), "seed": seed, "seconds": r.train_seconds}
        atomic_write_json(index_file, index)
        print(f"  {arch} seed {seed}: {100 * r.test_accuracy:.2f}% ({r.train_seconds / 60:.1f} min)",
              flush=True)
    _attach(res, index, args)
    return index


def _attach(res, index: dict[str, dict], args) -> None:
    """Record each trial's retrain in its final.json (``retrained``, as ``hdx search --retrain-epochs``
    does), so that results.csv and ``hdx report`` (its comparison figure) show retrained accuracy."""
    from hdx.search.records import RetrainRecord, SearchFinal

    for t in res.trials:
        d = res.out / "trials" / t.name
        if not (d / "final.json").is_file():
            continue
        final = SearchFinal.read(d)
        rec = index.get(_key(final.arch, t.config.seed, args))
        if rec is None or final.retrained is not None:
            continue
        final.retrained = RetrainRecord(**{k: v for k, v in rec.items() if k not in ("seed", "seconds")})
        RunDir(d, resume=True).write_final(final.to_json())


def print_accuracy(table, spec: SweepSpec, lv: dict[str, str], index: dict[str, dict], args) -> None:
    def acc(c: Cell) -> float | None:
        r = index.get(_key(c.arch, c.seed, args))
        return None if r is None else 100 * r["test_accuracy"]

    print(f"\nAccuracy at equal latency: retrained test accuracy ({args.retrain_epochs} epochs from scratch, "
          f"10 000 test images) against ground-truth latency; mean ± std over the seeds retrained")
    print(f"{'level':<7} {'method':<16} {'lat mean':>9} {'met':>5}  {'retrained acc per seed':<30} "
          f"{'mean':>7} {'± std':>6}")
    summary = {}
    for lvl in lv:
        for meth in methods_of(spec):
            cs = table.get((meth, lvl), [])
            if not cs:
                continue
            a = [(c, acc(c)) for c in cs]
            per = " ".join(f"{x:5.2f}" if x is not None else "  -  " for _, x in a)
            got = [x for _, x in a if x is not None]
            lat = np.mean([c.latency for c in cs if c.latency is not None])
            mean = f"{np.mean(got):6.2f}%" if got else "    n/a"
            sd = f"{np.std(got, ddof=1):6.2f}" if len(got) > 1 else "     -"
            print(f"{lvl:<7} {meth:<16} {lat:7.3f}ms {sum(c.met for c in cs)}/{len(cs):<3}  {per:<30} "
                  f"{mean:>7} {sd:>6}")
            summary[(meth, lvl)] = a
    print("\nHDX vs every DANCE λ whose network meets the budget (mean over the seeds where it meets it and "
          "both were retrained):")
    for lvl in lv:
        h = {c.seed: x for c, x in summary.get(("hdx", lvl), []) if x is not None and c.met}
        for meth in [m for m in methods_of(spec) if m.startswith("dance")]:
            d = {c.seed: x for c, x in summary.get((meth, lvl), []) if x is not None and c.met}
            if not d:
                n_met = sum(c.met for c in table.get((meth, lvl), []))
                print(f"  {lvl:<7} {meth:<14} " + ("does not meet it in any seed" if not n_met
                                                    else "not retrained yet"))
                continue
            if not h:
                print(f"  {lvl:<7} {meth:<14} HDX not retrained yet")
                continue
            hm, dm = float(np.mean(list(h.values()))), float(np.mean(list(d.values())))
            spread = max([float(np.std(list(v.values()), ddof=1)) for v in (h, d) if len(v) > 1],
                         default=None)
            noise = ("" if spread is None else
                     f"; seed spread (std) {spread:.2f} points: "
                     + ("within seed noise" if abs(hm - dm) <= spread else "beyond seed noise"))
            print(f"  {lvl:<7} {meth:<14} HDX {hm:.2f}% ({len(h)} seeds) vs {dm:.2f}% ({len(d)} seeds): "
                  f"{'HDX >=' if hm >= dm else 'HDX <'} ({hm - dm:+.2f} points){noise}")


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
