"""Fidelity of a learned evaluator against the ground-truth cost table (docs/design.md#the-evaluator-dance).

All figures are measured on **fresh** architectures drawn with a seed the build never used:

* generator: per-knob accuracy against the exhaustive-search optimum, and the regret of its choice
  (ground-truth objective of the chosen accelerator / optimum − 1);
* estimator on (one-hot network, random accelerator) pairs: RMSRE (root mean squared relative
  error, %; the paper's "MSRE" column is printed beside it), median and p95 |relative error|;
* end to end (generator + estimator) against the ground truth of the generated accelerator;
* soft architecture distributions: estimator against the exact expected cost;
* skewed one-hot architectures (each network its own op preference, so nearly all-light and all-heavy
  networks too, :func:`~hdx.evaluator.data.sample_skewed_probs`): all of the above, away from the mean;
* gradient: sign agreement of ∂cost/∂α (α = logits) between the learned evaluator and the oracle on
  random allowed coordinates;
* inference latency (forward, CPU) at batch 1 and 256.

Paper figures (DANCE, Timeloop ground truth) are printed beside ours.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from hdx.cost.table import MAX_BATCH_CELLS, CostTable
from hdx.evaluator.data import sample_arch_probs, sample_skewed_probs
from hdx.evaluator.learned import LearnedEvaluator
from hdx.evaluator.oracle import OracleEvaluator
from hdx.metrics import METRICS, Objective
from hdx.space.accelerator import KNOBS, AcceleratorSpace
from hdx.space.network import NetworkSpace

PAPER_ACC = {"pe_x": 98.9, "pe_y": 98.3, "rf_bytes": 98.3, "dataflow": 98.8}
PAPER_MSRE = {"latency": 0.4, "energy": 0.3, "area": 0.1}
PAPER_E2E = {"latency": 1.7, "energy": 1.7, "area": 0.8}


def _rel_stats(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    rel = pred / true - 1.0
    a = np.abs(rel)
    return {"msre_pct": float(100 * np.mean(rel ** 2)), "rmsre_pct": float(100 * np.sqrt(np.mean(rel ** 2))),
            "mean_pct": float(100 * a.mean()),
            "median_pct": float(100 * np.median(a)), "p95_pct": float(100 * np.percentile(a, 95)),
            "max_pct": float(100 * a.max())}


def _eval(ev: LearnedEvaluator, probs: np.ndarray, batch: int = 4096):
    out_c, out_i = [], []
    with torch.no_grad():
        for s in range(0, len(probs), batch):
            r = ev(torch.as_tensor(probs[s:s + batch], dtype=torch.float32))
            out_c.append(np.stack([r.costs[m].double().numpy() for m in METRICS], -1))
            out_i.append(r.accel_index.numpy())
    return np.concatenate(out_c), np.concatenate(out_i)


def fidelity(ev: LearnedEvaluator, space: NetworkSpace, grid: AcceleratorSpace, table: CostTable, *,
             n_archs: int = 2000, seed: int = 12345, grad_archs: int = 64, oracle_temperature: float = 0.02,
             timing: bool = True) -> dict:
    """Measure everything in the module docstring; returns a nested dict of figures."""
    rng = np.random.default_rng([seed, 99])
    weights = ev.meta.get("weights")
    obj = ev.objective
    rep: dict = {"objective": obj, "n_archs": n_archs, "seed": seed}
    for kind, frac in (("onehot", 0.0), ("soft", 1.0), ("skewed", None)):
        if frac is None:  # one-hot, across the compute range (sample_skewed_probs)
            probs = sample_skewed_probs(rng, space, n_archs)
        else:
            probs, _ = sample_arch_probs(rng, space, n_archs, frac, (0.1, 0.3, 1.0, 3.0))
        objective = Objective.from_coefficients(obj, weights)
        best_i, best_j = table.best(probs, [objective])
        best, j_best = best_i[:, 0], best_j[:, 0]
        pred, idx = _eval(ev, probs)
        m_idx = table.expected_at(probs, idx[:, None])  # the ground truth of the generated accelerator
        # generator
        kb, kp = grid.knob_indices(best), grid.knob_indices(idx)
        acc = {k: float(100 * np.mean(kb[:, KNOBS.index(k)] == kp[:, KNOBS.index(k)]))
               for k in grid.searched_knobs}
        regret = objective.of(m_idx)[:, 0] / j_best - 1.0
        # best constant predictor (most frequent optimum / knob value of this very set): a baseline
        const_acc = {k: float(100 * np.bincount(kb[:, KNOBS.index(k)]).max() / n_archs)
                     for k in grid.searched_knobs}
        mode = int(np.bincount(best).argmax())
        m_mode = table.expected_at(probs, np.full((n_archs, 1), mode))
        const_regret = objective.of(m_mode)[:, 0] / j_best - 1.0
        sec = {"accuracy_pct": acc, "exact_pct": float(100 * np.mean(idx == best)),
               "constant_accuracy_pct": const_acc, "constant_accel": str(grid[mode]),
               "constant_regret_median_pct": float(100 * np.median(const_regret)),
               "constant_regret_p95_pct": float(100 * np.percentile(const_regret, 95)),
               "regret_median_pct": float(100 * np.median(regret)),
               "regret_p95_pct": float(100 * np.percentile(regret, 95)),
               "regret_mean_pct": float(100 * regret.mean())}
        # estimator on random accelerators
        acc_r = rng.integers(0, len(grid), n_archs)
        oh = grid.one_hot(acc_r)
        with torch.no_grad():
            x = torch.as_tensor(probs.reshape(n_archs, -1), dtype=torch.float32)
            est = ev.estimator.metrics(x, {k: torch.as_tensor(oh[k]) for k in ev.knobs}).double().numpy()
        m_r = table.expected_at(probs, acc_r[:, None])
        sec["estimator"] = {mm: _rel_stats(est[:, i], m_r[mm][:, 0]) for i, mm in enumerate(METRICS)}
        sec["end_to_end"] = {mm: _rel_stats(pred[:, i], m_idx[mm][:, 0]) for i, mm in enumerate(METRICS)}
        rep[kind] = sec
    if table.on_disk:  # the oracle needs the whole table in memory: no gradient comparison
        rep["gradient_skipped"] = (f"the cost table ({table.num_accels} designs) is kept on disk, over the "
                                   f"memory budget; the exact oracle's gradients need it in memory")
    else:
        rep["gradient"] = gradient_agreement(ev, space, grid, table, n_archs=grad_archs, seed=seed,
                                             temperature=oracle_temperature)
    if timing:
        rep["latency_ms"] = inference_latency(ev, space)
    return rep


def gradient_agreement(ev: LearnedEvaluator, space: NetworkSpace, grid: AcceleratorSpace, table: CostTable,
                       *, n_archs: int = 64, seed: int = 0, temperature: float = 0.02) -> dict:
    """Sign agreement (%) of ∂cost/∂α, learned vs oracle, on random allowed coordinates of soft α.

    Cost = the objective (from the three metrics) and each metric alone; α ~ N(0, 1) logits, masked.
    ``all``: every sampled coordinate; ``top50``: those where the oracle's |gradient| is above its median.
    """
    rng = np.random.default_rng([seed, 5])
    obj = Objective.from_coefficients(ev.objective, ev.meta.get("weights"))
    oracles = {mode: OracleEvaluator(space, grid, None, obj, temperature=temperature, cost_mode=mode,
                                     table=table)
               for mode in ("expected", "argmax")}
    mask = torch.as_tensor(space.allowed_mask)
    alpha0 = torch.as_tensor(rng.standard_normal((n_archs, space.num_positions, space.num_ops)))
    coords = np.flatnonzero(np.broadcast_to(space.allowed_mask, alpha0.shape).reshape(-1))
    coords = rng.choice(coords, size=min(len(coords), 16 * n_archs), replace=False)

    def grads(evaluator, dtype) -> dict[str, np.ndarray]:
        out = {}
        step = max(1, MAX_BATCH_CELLS // len(grid))  # a large space: a few networks at a time
        for what in ("objective", *METRICS):
            a = alpha0.clone().to(dtype).masked_fill(~mask, -torch.inf).requires_grad_(True)
            for i in range(0, n_archs, step):  # each network's cost depends on its own α only
                c = evaluator(torch.softmax(a[i: i + step], -1)).costs
                val = (Objective.from_coefficients(ev.objective, ev.meta.get("weights")).of(c)
                       if what == "objective" else c[what])
                if val.requires_grad:  # not e.g. area at the oracle's fixed optimum: constant in α
                    torch.log(val).sum().backward()
            out[what] = (np.zeros(len(coords)) if a.grad is None
                         else a.grad.reshape(-1).numpy()[coords].astype(np.float64))
        return out

    g_l = grads(ev, torch.float32)
    res = {}
    for mode, orc in oracles.items():
        g_o = grads(orc, torch.float64)
        res[mode] = {}
        for what in g_o:
            go, gl = g_o[what], g_l[what]
            nz = np.abs(go) > 1e-12
            top = nz & (np.abs(go) >= np.median(np.abs(go[nz]))) if nz.any() else nz
            res[mode][what] = {"all": float(100 * np.mean(np.sign(go[nz]) == np.sign(gl[nz]))) if nz.any()
                               else float("nan"),
                               "top50": float(100 * np.mean(np.sign(go[top]) == np.sign(gl[top])))
                               if top.any() else float("nan"),
                               "cosine": float(go @ gl / (np.linalg.norm(go) * np.linalg.norm(gl) + 1e-30))}
    return res


def inference_latency(ev: torch.nn.Module, space: NetworkSpace, repeats: int = 200) -> dict[str, float]:
    """Median forward time (ms) at batch 1 and 256 (no grad), and forward+backward at batch 1."""
    out = {}
    for b in (1, 256):
        x = torch.softmax(torch.randn(b, space.num_positions, space.num_ops).masked_fill(
            ~torch.as_tensor(space.allowed_mask), -torch.inf), -1)
        ts = []
        with torch.no_grad():
            for _ in range(repeats if b == 1 else max(10, repeats // 10)):
                t = time.perf_counter()
                ev(x)
                ts.append(time.perf_counter() - t)
        out[f"forward_b{b}"] = float(1e3 * np.median(ts[len(ts) // 5:]))
    a = torch.randn(1, space.num_positions, space.num_ops).masked_fill(
        ~torch.as_tensor(space.allowed_mask), -torch.inf).requires_grad_(True)
    ts = []
    for _ in range(repeats // 2):
        t = time.perf_counter()
        r = ev(torch.softmax(a, -1))
        r.costs["latency"].sum().backward()
        ts.append(time.perf_counter() - t)
    out["fwd_bwd_b1"] = float(1e3 * np.median(ts[len(ts) // 5:]))
    return out


def format_report(rep: dict, meta: dict | None = None) -> str:
    """Plain-text tables (ours beside the paper's)."""
    L = []
    if meta:
        tr = meta.get("training", {})
        ds = tr.get("dataset", {})
        L.append(f"evaluator: space {meta['space']}, grid {meta['grid']}, objective {meta['objective']}, "
                 f"cost model {meta['model_name']} v{meta['model_version']} "
                 f"({meta['model_fingerprint'][:12]}…)")
        if ds:
            L.append(f"trained on {ds.get('n_archs')} networks ({ds.get('n_soft')} soft), "
                     f"{ds.get('n_pairs')} pairs; build {tr.get('seconds_total')} s")
    L.append(f"held-out: {rep['n_archs']} fresh networks per kind (seed {rep['seed']}), "
             f"objective {rep['objective']}")
    for kind in (k for k in ("onehot", "soft", "skewed") if k in rep):
        s = rep[kind]
        L.append("")
        L.append(f"[{kind} architectures] hardware generator")
        L.append(f"  {'knob':<10}{'accuracy %':>12}{'paper %':>10}{'constant %':>12}")
        for k, v in s["accuracy_pct"].items():
            L.append(f"  {k:<10}{v:>12.1f}{PAPER_ACC.get(k, float('nan')):>10.1f}"
                     f"{s['constant_accuracy_pct'][k]:>12.1f}")
        L.append(f"  exact accelerator {s['exact_pct']:.1f} %; regret of its choice: median "
                 f"{s['regret_median_pct']:.3f} %, p95 {s['regret_p95_pct']:.3f} %, "
                 f"mean {s['regret_mean_pct']:.3f} %")
        L.append(f"  (constant baseline = always {s['constant_accel']}, the most frequent optimum: regret "
                 f"median {s['constant_regret_median_pct']:.3f} %, p95 {s['constant_regret_p95_pct']:.3f} %)")
        for sec, title, paper in (("estimator", "cost estimator (random accelerators)", PAPER_MSRE),
                                  ("end_to_end", "end to end (generator + estimator vs truth of its choice)",
                                   PAPER_E2E)):
            L.append(f"[{kind} architectures] {title}")
            L.append(f"  {'metric':<9}{'RMSRE %':>9}{'mean|e| %':>11}{'median %':>10}{'p95 %':>8}{'max %':>8}"
                     f"{'paper %':>9}")
            for mm, st in s[sec].items():
                L.append(f"  {mm:<9}{st['rmsre_pct']:>9.3f}{st['mean_pct']:>11.3f}{st['median_pct']:>10.3f}"
                         f"{st['p95_pct']:>8.3f}{st['max_pct']:>8.2f}{paper[mm]:>9.1f}")
    g = rep.get("gradient")
    if g:
        L.append("")
        L.append("gradient sign agreement ∂log cost/∂α, learned vs oracle (goal ≥ 90 %)")
        L.append(f"  {'oracle':<10}{'cost':<11}{'all %':>8}{'top-50% %':>11}{'cosine':>8}")
        for mode, d in g.items():
            for what, st in d.items():
                L.append(f"  {mode:<10}{what:<11}{st['all']:>8.1f}{st['top50']:>11.1f}{st['cosine']:>8.3f}")
    if rep.get("gradient_skipped"):
        L.append("")
        L.append(f"gradient sign agreement: not measured ({rep['gradient_skipped']})")
    t = rep.get("latency_ms")
    if t:
        L.append("")
        L.append(f"inference (CPU, {torch.get_num_threads()} thread(s)): forward batch 1 "
                 f"{t['forward_b1']:.3f} ms "
                 f"(goal ≤ 0.5), batch 256 {t['forward_b256']:.3f} ms, forward+backward batch 1 "
                 f"{t['fwd_bwd_b1']:.3f} ms")
    return "\n".join(L)
