"""Accelerator search at scale: the exact branch and bound of ``hdx.cost.hwsearch`` against enumeration,
random search and Optuna's TPE.

``python benchmarks/bench_hw_search.py [--networks 50] [--optuna-networks 10] [--trials 1000]`` prints one
table with three parts, over random networks of the CIFAR-10 space, each with random hard budgets
(latency at a random quantile of the network's latencies over the space, area likewise, or none):

(a) **Exactness** on the subspace of ``dse_large`` (or ``--accel-space``) with every s-th PE x and PE y
    (``dse_large``: {4, 10, …, 64}, 127 050 designs), small enough to enumerate: the fraction of
    (network, budgets) where branch and bound returns the
    enumerated optimum (EDAP gap ≤ 1 %; goal ≥ 95 %), its median / max gap, the agreement on
    feasibility, and the seconds of each method.
(b) **Against black-box search** on the full ``dse_large`` (1 009 050 designs): branch and bound's
    answer (exact) against random search and TPE (Optuna, with the budgets as constraints) given the same
    number of design evaluations as branch and bound used (its relaxed runs, one per core, plus its exact
    evaluations) — and, since TPE cannot run that many trials in reasonable time, both also at
    ``--trials``; the EDAP ratio of each to the optimum (DOSA reports 2.80× over random search for its
    gradient search) and the fraction that found a feasible design.
(c) **Speed**: seconds per network of branch and bound on the full space under budgets (goal ≤ 5 s).
(d) **Pareto front** (``--pareto-networks``, default 3): the exact latency–energy–area front of the full
    space under the budgets (``hwsearch.pareto_front``) against NSGA-II (Optuna, three objectives, the
    budgets as constraints, ``--trials``) and random search given as many evaluations as the exact front
    used: the hypervolume of each one's feasible non-dominated designs as a fraction of the exact front's
    (reference point 1.1 × the front's worst value per metric).

(e) **Sizing table** (``--sizing-networks``, default 3): the best design per GLB size (``hdx cost --by
    glb_kib``, ``hdx.cost.sizing.best_per_value``: one branch and bound with one incumbent per GLB size)
    against one branch and bound per GLB size on the space restricted to it: the same designs (or, where
    none meets the budgets, the same closest design), the largest objective difference, and the seconds.

Random networks and budgets come from ``--seed`` (default 5, not a seed the search was developed on).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from hdx.budgets import Budget
from hdx.cost.analytical import AnalyticalModel
from hdx.cost.feasibility import feasible_mask
from hdx.cost.hwsearch import (
    SLICE_DESIGNS,
    _metrics,
    _nondominated,
    branch_and_bound,
    enumerate_space,
    pareto_front,
)
from hdx.cost.sizing import best_per_value
from hdx.metrics import Objective
from hdx.space.accelerator import AcceleratorSpace, AcceleratorSpaceConfig
from hdx.space.network import NetworkSpace
from hdx.workload import LayerTable

EDAP = Objective("edap")


def subspace(full: AcceleratorSpace, most: int = 150_000) -> AcceleratorSpace:
    """``full`` with every s-th value of PE x and PE y, s the least stride that leaves at most ``most``
    designs (``dse_large``: PE x, PE y ∈ {4, 10, …, 64}, 127 050 designs)."""
    d = full.config.model_dump(exclude_none=True)
    xs, ys = list(full.knob_values["pe_x"]), list(full.knob_values["pe_y"])
    s = 1
    while len(full) * len(xs[::s]) * len(ys[::s]) > most * len(xs) * len(ys) and s < max(len(xs), len(ys)):
        s += 1
    d["name"] = f"{full.name}_pe_every_{s}"
    d["knobs"]["pe_x"], d["knobs"]["pe_y"] = xs[::s], ys[::s]
    return AcceleratorSpace(AcceleratorSpaceConfig(**d))


def random_budgets(rng, sample: dict[str, np.ndarray]) -> list[Budget]:
    """Latency and/or area budgets at random quantiles of a sample of the space's designs."""
    kind = rng.integers(0, 4)  # none, latency, area, both
    out = []
    if kind in (1, 3):
        out.append(Budget("latency", float(np.quantile(sample["latency"], rng.uniform(0.01, 0.3)))))
    if kind in (2, 3):
        out.append(Budget("area", float(np.quantile(sample["area"], rng.uniform(0.05, 0.6)))))
    return out


def best_of(metrics: dict, budgets) -> float:
    ok = feasible_mask(metrics, budgets)
    return float(np.min(np.where(ok, EDAP.of(metrics), np.inf)))


def random_search(model, layers, space, budgets, n: int, rng) -> float:
    best = np.inf
    for lo in range(0, n, SLICE_DESIGNS):
        idx = rng.integers(0, len(space), size=min(SLICE_DESIGNS, n - lo))
        best = min(best, best_of(_metrics(model, layers, space.table_of(idx)), budgets))
    return best


def tpe_search(model, layers, space, budgets, n: int, seed: int) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    kv, names = space.knob_values, [k for k in space.knob_values if len(space.knob_values[k]) > 1]

    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))  # reads set_constraint

    def objective(trial):
        ki = [trial.suggest_int(k, 0, len(kv[k]) - 1) if k in names else 0 for k in kv]
        idx = space.index_of_knobs(np.array([ki]))
        m = _metrics(model, layers, space.table_of(idx))
        for b in budgets:  # feasible when every value is <= 0 (relative to the limit)
            trial.set_constraint(b.metric, float(m[b.metric][0] / b.limit - 1))
        trial.set_user_attr("feasible", bool(feasible_mask(m, budgets)[0]))
        return float(EDAP.of(m)[0])

    study.optimize(objective, n_trials=n)
    vals = [t.value for t in study.trials if t.user_attrs.get("feasible")]
    return min(vals) if vals else np.inf


def hypervolume(points: np.ndarray, ref: np.ndarray) -> float:
    """Exact hypervolume dominated by ``points`` ([N, 3], minimised) up to ``ref``: slabs along the third
    metric, each the 2-D staircase area of the points below it."""
    p = points[(points < ref).all(1)]
    if not len(p):
        return 0.0
    p = p[np.argsort(p[:, 2])]
    vol = 0.0
    for i in range(len(p)):
        top = p[i + 1, 2] if i + 1 < len(p) else ref[2]
        if top <= p[i, 2]:
            continue
        q = p[: i + 1, :2]
        q = q[np.argsort(q[:, 0])]
        area, best_y = 0.0, ref[1]
        for j in range(len(q)):  # staircase: x ascending, keep the lowest y so far
            x_next = q[j + 1, 0] if j + 1 < len(q) else ref[0]
            best_y = min(best_y, q[j, 1])
            area += (x_next - q[j, 0]) * (ref[1] - best_y)
        vol += area * (top - p[i, 2])
    return vol


def nsga2_front(model, layers, space, budgets, n: int, seed: int) -> np.ndarray:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    kv = space.knob_values
    study = optuna.create_study(directions=["minimize"] * 3, sampler=optuna.samplers.NSGAIISampler(seed=seed))
    pts = []

    def objective(trial):
        ki = [trial.suggest_int(k, 0, len(kv[k]) - 1) if len(kv[k]) > 1 else 0 for k in kv]
        m = _metrics(model, layers, space.table_of(space.index_of_knobs(np.array([ki]))))
        for b in budgets:
            trial.set_constraint(b.metric, float(m[b.metric][0] / b.limit - 1))
        vals = [float(m[k][0]) for k in ("latency", "energy", "area")]
        if feasible_mask(m, budgets)[0]:
            pts.append(vals)
        return vals

    study.optimize(objective, n_trials=n)
    return np.array(pts).reshape(-1, 3)


def random_front(model, layers, space, budgets, n: int, rng) -> np.ndarray:
    pts = []
    for lo in range(0, n, SLICE_DESIGNS):
        idx = rng.integers(0, len(space), size=min(SLICE_DESIGNS, n - lo))
        m = _metrics(model, layers, space.table_of(idx))
        ok = feasible_mask(m, budgets)
        p = np.stack([m[k][ok] for k in ("latency", "energy", "area")], 1)
        pts.append(p[_nondominated(p)] if len(p) else p)
    return np.concatenate(pts) if pts else np.empty((0, 3))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", type=int, default=50)
    ap.add_argument("--optuna-networks", type=int, default=10, help="networks of part (b) (TPE is slow)")
    ap.add_argument("--parts", default="abcde", help="which parts to run (default all: abcde)")
    ap.add_argument("--trials", type=int, default=1000, help="TPE and random trials of part (b)")
    ap.add_argument("--pareto-networks", type=int, default=3, help="networks of part (d)")
    ap.add_argument("--sizing-networks", type=int, default=3, help="networks of part (e)")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--accel-space", default="dse_large",
                    help="the large space (a shipped name or a YAML path)")
    args = ap.parse_args()
    net = NetworkSpace.load()
    full = AcceleratorSpace.load(args.accel_space)
    sub = subspace(full)
    model = AnalyticalModel(full.hardware)
    rng = np.random.default_rng(args.seed)
    nets = [LayerTable(net.layers(net.decode(i))) for i in net.sample_indices(rng, args.networks)]
    probe = rng.integers(0, len(full), size=4096)  # designs whose metrics place the random budgets
    print(f"spaces: '{full.name}' {len(full)} designs; enumerable subspace '{sub.name}' {len(sub)} "
          f"designs; {args.networks} random networks of '{net.name}' (seed {args.seed}), random budgets; "
          f"objective edap")

    cores = len(full) // (len(full.knob_values["glb_kib"]) * len(full.knob_values["glb_bw"]))

    # (a) exactness against enumeration; (a)-(c) draw their budgets from one generator in turn, so a run
    # of some of them draws other budgets than the full run; (d) has its own generator
    gaps, agree, t_en, t_bb, n_eval, rows = [], 0, [], [], [], []
    for i, layers in enumerate(nets if "a" in args.parts else []):
        budgets = random_budgets(rng, _metrics(model, layers, sub.table_of(probe % len(sub))))
        t0 = time.perf_counter()
        e = enumerate_space(model, layers, sub, EDAP, budgets)
        t_en.append(time.perf_counter() - t0)
        b = branch_and_bound(model, layers, sub, EDAP, budgets)
        t_bb.append(b.stats.seconds)
        n_eval.append(b.stats.evaluated)
        agree += e.feasible == b.feasible
        gaps.append(b.objective_value / e.objective_value - 1 if e.feasible and b.feasible else
                    (0.0 if e.feasible == b.feasible else np.inf))
        rows.append((i, [x.text() for x in budgets], e.feasible))
        print(f"  (a) network {i:2d} budgets {', '.join(x.text() for x in budgets) or 'none':34s} "
              f"gap {gaps[-1]:+.2e}  enum {t_en[-1]:.1f} s  b&b {t_bb[-1]:.2f} s ({n_eval[-1]} evaluated)",
              flush=True)
    g = np.asarray(gaps)
    within = float(np.mean(g <= 0.01)) if len(g) else np.nan

    # (b) against random search and TPE on the full space
    cmp_rows = []
    for i, layers in enumerate(nets[:args.optuna_networks] if "b" in args.parts else []):
        budgets = random_budgets(rng, _metrics(model, layers, full.table_of(probe)))
        b = branch_and_bound(model, layers, full, EDAP, budgets)
        n_bb = cores + b.stats.evaluated
        r_same = random_search(model, layers, full, budgets, n_bb, np.random.default_rng(i))
        r_few = random_search(model, layers, full, budgets, args.trials, np.random.default_rng(100 + i))
        try:
            t0 = time.perf_counter()
            tpe = tpe_search(model, layers, full, budgets, args.trials, seed=i)
            t_tpe = time.perf_counter() - t0
        except ImportError:
            tpe, t_tpe = np.nan, np.nan
        opt = b.objective_value if b.feasible else np.inf
        cmp_rows.append((opt, r_same, r_few, tpe, n_bb, b.stats.seconds, t_tpe))
        print(f"  (b) network {i:2d} budgets {', '.join(x.text() for x in budgets) or 'none':34s} b&b EDAP "
              f"{opt:.4g} ({n_bb} evaluations, {b.stats.seconds:.1f} s); random x{n_bb}: {r_same / opt:.3f}; "
              f"random x{args.trials}: {r_few / opt:.3f}; TPE x{args.trials}: {tpe / opt:.3f} "
              f"({t_tpe:.0f} s)",
              flush=True)

    # (c) speed on the full space
    secs = []
    for layers in nets if "c" in args.parts else []:
        budgets = random_budgets(rng, _metrics(model, layers, full.table_of(probe)))
        secs.append(branch_and_bound(model, layers, full, EDAP, budgets).stats.seconds)

    # (d) the Pareto front: exact against NSGA-II and random search
    hv_rows = []
    rng = np.random.default_rng(args.seed + 4)  # its own: `--parts d` draws what the full run draws
    for i, layers in enumerate(nets[:args.pareto_networks] if "d" in args.parts else []):
        budgets = random_budgets(rng, _metrics(model, layers, full.table_of(probe)))
        f = pareto_front(model, layers, full, budgets)
        exact = np.stack([f.metrics[k] for k in ("latency", "energy", "area")], 1)
        if not len(exact):
            continue
        ref = exact.max(0) * 1.1
        n_ex = f.stats.evaluated + cores  # its exact evaluations and one relaxed run per core
        hv = hypervolume(exact, ref)
        rnd = random_front(model, layers, full, budgets, n_ex, np.random.default_rng(200 + i))
        try:
            nsga = nsga2_front(model, layers, full, budgets, args.trials, seed=i)
        except ImportError:
            nsga = None
        r_hv = hypervolume(rnd, ref) / hv
        n_hv = hypervolume(nsga, ref) / hv if nsga is not None else np.nan
        hv_rows.append((len(exact), n_ex, f.stats.seconds, r_hv, n_hv))
        print(f"  (d) network {i:2d} budgets {', '.join(x.text() for x in budgets) or 'none':34s} exact "
              f"front {len(exact)} designs ({n_ex} evaluations, {f.stats.seconds:.0f} s); hypervolume vs "
              f"exact: random x{n_ex} {r_hv:.3f}, NSGA-II x{args.trials} {n_hv:.3f}", flush=True)

    # (e) the sizing table: one grouped search against one search per GLB size
    size_rows = []
    rng = np.random.default_rng(args.seed + 5)  # its own, as (d)'s
    for i, layers in enumerate(nets[:args.sizing_networks] if "e" in args.parts else []):
        budgets = random_budgets(rng, _metrics(model, layers, full.table_of(probe)))
        t0 = time.perf_counter()
        rows, _ = best_per_value(model, layers, full, EDAP, budgets, knobs="glb_kib")
        t_one = time.perf_counter() - t0
        t0, worst, same = time.perf_counter(), 0.0, 0
        for r in rows:
            d = full.config.model_dump(exclude_none=True)
            d["knobs"]["glb_kib"] = [r.values["glb_kib"]]
            one = AcceleratorSpace(AcceleratorSpaceConfig(**d))
            each = branch_and_bound(model, layers, one, EDAP, budgets)
            # the same design (feasible or, where none is, the same closest one) and objective
            same += each.feasible == r.best.feasible and one[each.index] == full[r.best.index]
            worst = max(worst, abs(r.best.objective_value / each.objective_value - 1))
        t_each = time.perf_counter() - t0
        size_rows.append((len(rows), same, worst, t_one, t_each))
        print(f"  (e) network {i:2d} budgets {', '.join(x.text() for x in budgets) or 'none':34s} "
              f"{len(rows)} GLB sizes: the same design in {same}/{len(rows)}, largest objective difference "
              f"{worst:.1e}; one grouped search {t_one:.1f} s, one search per size {t_each:.1f} s",
              flush=True)

    print()
    print("Accelerator search at scale (objective EDAP, hard budgets; ratios are found / optimum)")
    print(f"{'part':48} {'value':>30}  goal")
    print("-" * 92)
    if len(g):
        print(f"{'(a) b&b = enumerated optimum (gap <= 1 %)':48} {f'{within:.0%} of {len(g)}':>30}  >= 95 %")
        fin = g[np.isfinite(g)]
        print(f"{'(a) EDAP gap median / max':48} {f'{np.median(fin):.2e} / {fin.max():.2e}':>30}")
        print(f"{'(a) feasibility agrees':48} {f'{agree}/{len(g)}':>30}")
        print(f"{'(a) seconds: enumeration / b&b (median)':48} "
              f"{f'{np.median(t_en):.2f} / {np.median(t_bb):.2f}':>30}")
        ev = f"{np.median(n_eval):.0f} of {len(sub)}"
        print(f"{'(a) designs evaluated exactly by b&b (median)':48} {ev:>30}")
    if cmp_rows:
        c = np.array([r[:4] for r in cmp_rows], dtype=float)
        ok = np.isfinite(c[:, 0])
        ratio = lambda j: c[ok, j] / c[ok, 0]  # noqa: E731
        fmt = lambda a: f"{np.median(a):.3f} / {np.max(a):.3f}" if np.all(np.isfinite(a)) else \
            f"{np.median(a):.3f} / inf ({int(np.sum(~np.isfinite(a)))} none feasible)"  # noqa: E731
        n_bb = int(np.median([r[4] for r in cmp_rows]))
        print(f"{'(b) random, same evaluations as b&b (~' + str(n_bb) + ')':48} {fmt(ratio(1)):>30}  "
              f"median / max")
        print(f"{'(b) random, ' + str(args.trials) + ' evaluations':48} {fmt(ratio(2)):>30}")
        print(f"{'(b) TPE (Optuna), ' + str(args.trials) + ' evaluations':48} {fmt(ratio(3)):>30}  "
              f"({np.nanmedian([r[6] for r in cmp_rows]):.0f} s each)")
        print(f"{'(b) b&b seconds (median)':48} {np.median([r[5] for r in cmp_rows]):>30.2f}")
    if secs:
        print(f"{'(c) b&b seconds per network, full space (median / max)':48} "
              f"{f'{np.median(secs):.2f} / {np.max(secs):.2f}':>30}  <= 5 s")
    if hv_rows:
        h = np.array(hv_rows, dtype=float)
        _line("(d) exact front: designs / evaluations / s (median)",
              f"{np.median(h[:, 0]):.0f} / {np.median(h[:, 1]):.0f} / {np.median(h[:, 2]):.0f}")
        _line("(d) hypervolume / exact: random, same evaluations",
              f"{np.median(h[:, 3]):.3f} (min {h[:, 3].min():.3f})")
        _line(f"(d) hypervolume / exact: NSGA-II, {args.trials} evaluations",
              f"{np.nanmedian(h[:, 4]):.3f} (min {np.nanmin(h[:, 4]):.3f})")
    if size_rows:
        z = np.array(size_rows, dtype=float)
        _line("(e) sizing table = a search per GLB size (design)",
              f"{int(z[:, 1].sum())}/{int(z[:, 0].sum())} rows, max diff {z[:, 2].max():.1e}", "all")
        _line("(e) seconds: grouped / one per size (median)",
              f"{np.median(z[:, 3]):.1f} / {np.median(z[:, 4]):.1f}")


def _line(label: str, value: str, goal: str = "") -> None:
    """One row of the final table: the part, its value and the goal."""
    print(f"{label:48} {value:>30}  {goal}".rstrip())


if __name__ == "__main__":
    main()
