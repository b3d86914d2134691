"""Budget filling: grow the derived network into its hard budgets, on the ground truth
(docs/budget-filling.md has the design and its argument).

The HDX guard only ever pushes a budgeted cost *down*, and the search derives the argmax network as
it is, so a search whose loss is cross-entropy alone can end far below its budget with layers it
could have kept. The fill is a finishing step after the ground-truth re-check:

* **moves**: single-position changes to a *larger* op, in the containment order of the space
  (:func:`growth_order`): ``zero`` ⊂ every MBConv, and ``mb{k}e{e}`` ⊂ ``mb{k'}e{e'}`` when
  ``k' ≥ k`` and ``e' ≥ e``. The larger op can represent the smaller one (zero-padded kernel, zero
  extra channels; an MBConv with zero projection on a residual is the skip of ``zero``), so every
  move only adds capacity;
* **guarantee**: a move is accepted only if the network still meets every hard budget on some
  accelerator of the grid (the exact :class:`~hdx.cost.table.CostTable`, the same exhaustive check as
  the finish); the network it starts from meets them, so the result does too;
* **ranking**: a knapsack rule, value per unit of budget. A move's *weight* is the budget usage it
  adds, ``Δu`` (:func:`budget_usage`: the smallest ``max_i t_i/T_i`` the network reaches on an
  accelerator of the grid); its *value* the compute it adds, weighted by the supernet's own odds for
  the new op, ``ΔMACs · p(new)/p(old)``, with ``p = softmax(α + lr·Σm)``: the final α without the
  guard's corrections ``m`` (:meth:`~hdx.search.guard.BudgetGuard.unguarded`), the logits the
  search's own loss drove (the guard's pushes are cost gradients, not evidence about accuracy, and
  the budget they enforced is enforced exactly here). The feasible move with the largest value per
  weight is taken; ties (e.g. moves that use no budget) go to the larger value, then the lower
  objective on the chosen accelerator, then the lower position;
* **end**: when no larger op fits at any position. Every move strictly grows the network in a
  finite partial order, so at most ``Σ_l (chain length at l)`` moves happen.

:func:`grow_to_budgets` is the pure algorithm (numpy, no torch); :func:`finish_fill` is the search's
hook (called once after the re-check) and :func:`fill_summary` the lines the CLI and the report print.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from hdx.budgets import Budget
from hdx.cost.feasibility import choose_accelerator, feasible_mask
from hdx.cost.table import MAX_BATCH_CELLS, CostTable
from hdx.metrics import Objective
from hdx.search.records import FillMove, FillRecord
from hdx.space.network import parse_op

#: smallest probability used in log p_α (a masked-out op has p = 0; it is never a move anyway)
_P_MIN = 1e-30


def growth_order(op_names: Sequence[str]) -> np.ndarray:
    """``grows[a, b]``: op ``b`` strictly contains op ``a`` ([O, O] bool): ``zero`` ⊂ every MBConv;
    ``mb{k}e{e}`` ⊂ ``mb{k'}e{e'}`` when ``k' ≥ k``, ``e' ≥ e`` and the two differ."""
    specs = [parse_op(n) for n in op_names]
    n = len(specs)
    out = np.zeros((n, n), dtype=bool)
    for i, a in enumerate(specs):
        for j, b in enumerate(specs):
            if i == j or b.is_zero:
                continue
            out[i, j] = a.is_zero or (b.kernel >= a.kernel and b.expansion >= a.expansion
                                      and (b.kernel, b.expansion) != (a.kernel, a.expansion))
    return out


def op_macs(space) -> np.ndarray:
    """Multiply-accumulates of every (searchable position, op) [L, O] (0 for ``zero`` and for ops not
    allowed at a position)."""
    out = np.zeros((space.num_positions, space.num_ops), dtype=np.float64)
    for p in space.positions:
        for op in p.ops:
            out[p.index, space.op_names.index(op)] = sum(ly.macs for ly in space.position_layers(p.index, op))
    return out


def budget_usage(metrics: dict[str, np.ndarray], budgets: Sequence[Budget]) -> np.ndarray:
    """``u`` of networks given their metrics [..., A]: the smallest, over the accelerators meeting the
    hard budgets on accelerator-only metrics (area), of ``max_i t_i / T_i`` over the hard latency and
    energy budgets [...]; ≤ 1 exactly when the network meets every hard budget on some accelerator
    (0 without such budgets: the network does not use them; ``inf`` when no accelerator fits area)."""
    hard = [b for b in budgets if b.hard]
    steered = [b for b in hard if b.metric != "area"]
    acc_ok = feasible_mask(metrics, [b for b in hard if b.metric == "area"])
    if not steered:
        return np.where(acc_ok.any(-1), 0.0, np.inf)
    u = np.max(np.stack([np.asarray(metrics[b.metric], np.float64) / b.limit for b in steered]), axis=0)
    return np.where(acc_ok, u, np.inf).min(-1)


def _candidates(table: CostTable, cand: np.ndarray, hard: Sequence[Budget], objective: Objective
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per candidate network (op indices [K, L]): whether some accelerator meets every hard budget, its
    :func:`budget_usage` and its objective on the best such accelerator ([K] each). Candidates are
    costed a few at a time, so the [K, A] metrics of a 10⁶-design table are never held at once."""
    K = cand.shape[0]
    fits, usage, J = np.zeros(K, dtype=bool), np.empty(K), np.empty(K)
    step = max(1, MAX_BATCH_CELLS // max(1, table.num_accels))
    for i in range(0, K, step):
        metrics = table.network(cand[i: i + step])  # [k, A] each
        ok = feasible_mask(metrics, hard)
        fits[i: i + step] = ok.any(axis=1)
        usage[i: i + step] = budget_usage(metrics, hard)
        J[i: i + step] = np.where(ok, objective.of(metrics), np.inf).min(axis=1)  # on the chosen design
    return fits, usage, J


@dataclass
class Grown:
    """Result of :func:`grow_to_budgets`: start and end op indices [L], the accepted moves (position,
    old op, new op, log-ratio, MACs added, budget usage added) in order, and why it stopped."""

    start: np.ndarray
    end: np.ndarray
    moves: list[tuple[int, int, int, float, float, float]] = field(default_factory=list)
    stopped: str = ""


def grow_to_budgets(start: np.ndarray, probs: np.ndarray, table: CostTable, budgets: Sequence[Budget],
                    objective: Objective, grows: np.ndarray, macs: np.ndarray,
                    max_moves: int | None = None) -> Grown:
    """Grow ``start`` (op indices [L]) by single-position moves to larger ops while every hard budget
    stays met on some accelerator (ground truth), best value per budget used first.

    ``probs`` [L, O]: the search's op probabilities (the evidence); ``grows``: :func:`growth_order`;
    ``macs`` [L, O]: :func:`op_macs`. A move's value is the compute it adds weighted by the evidence's
    odds for the new op, ``ΔMACs · p(new)/p(old)``; its weight the budget usage it adds, ``Δu``
    (:func:`budget_usage`); the feasible move with the largest value per weight is taken (a move that
    uses no budget first). A start that misses a hard budget, or no hard budget at all, is returned
    unchanged."""
    cur = np.asarray(start, dtype=np.int64).copy()
    out = Grown(start=cur.copy(), end=cur)
    hard = [b for b in budgets if b.hard]
    if not hard:
        out.stopped = "no hard budget to fill"
        return out
    if not budget_usage(table.arch_metrics(cur), hard) <= 1.0:
        out.stopped = "the derived network misses a hard budget"
        return out
    logp = np.log(np.maximum(np.asarray(probs, dtype=np.float64), _P_MIN))
    allowed = table.allowed_mask
    limit = int(allowed.sum()) * grows.shape[0]  # more moves than the order allows cannot happen
    while max_moves is None or len(out.moves) < max_moves:
        pos, ops = np.nonzero(allowed & grows[cur])  # every larger op allowed at its position
        if len(pos) == 0:
            out.stopped = "every layer holds its largest op"
            break
        cand = np.repeat(cur[None], len(pos), axis=0)
        cand[np.arange(len(pos)), pos] = ops
        fits, usage, J = _candidates(table, cand, hard, objective)
        if not fits.any():
            out.stopped = "no larger op fits every hard budget"
            break
        log_ratio = logp[pos, ops] - logp[pos, cur[pos]]
        gain = (macs[pos, ops] - macs[pos, cur[pos]]) * np.exp(log_ratio)
        used = usage - budget_usage(table.arch_metrics(cur), hard)
        with np.errstate(divide="ignore"):
            score = np.where(used > 0, gain / np.where(used > 0, used, 1.0), np.inf)
        # best: value per budget used, then value, then lower objective, position, op index
        order = np.lexsort((ops, pos, J, -gain, -score))
        k = int(next(i for i in order if fits[i]))
        p, o = int(pos[k]), int(ops[k])
        out.moves.append((p, int(cur[p]), o, float(log_ratio[k]), float(macs[p, o] - macs[p, cur[p]]),
                          float(used[k])))
        cur[p] = o
        if len(out.moves) > limit:
            raise RuntimeError("budget fill did not terminate")
    else:
        out.stopped = f"stopped after {max_moves} moves"
    out.end = cur
    return out


# ----------------------------------------------------------------------------------------------------
# the search's hook
def resolve_mode(cfg) -> str:
    """``grow`` or ``off`` for a :class:`~hdx.search.config.SearchConfig` (``auto``: ``grow`` when the
    search's loss is cross-entropy alone, i.e. ``hw_lambda`` 0 and no soft budget)."""
    if cfg.fill != "auto":
        return cfg.fill
    from hdx.budgets import parse_budget_specs

    # relative budgets (area<=p1) count as they are: only hard or soft matters here
    ce_only = cfg.hw_lambda == 0 and all(b.hard for b in parse_budget_specs(cfg.budgets))
    return "grow" if ce_only else "off"


def _reason(mode: str, cfg, grown: Grown, applied: bool) -> str:
    if applied:
        return f"grown by {len(grown.moves)} move(s) until {grown.stopped}"
    if not grown.moves:
        return f"nothing to grow: {grown.stopped}"
    if cfg.fill == "off":
        return "fill off (the published HDX finish): the derived network is kept"
    term = f"hw_lambda {cfg.hw_lambda:g}" if cfg.hw_lambda > 0 else "a soft budget"
    return (f"kept the derived network: the loss has a hardware term ({term}), so its slack is the trade "
            f"the search made; fill=grow adopts the grown network")


def finish_fill(searcher, gt):
    """The fill of one finished search (a :class:`~hdx.search.loop.Searcher` and its ground-truth
    check ``gt``): returns ``(gt, record)``; ``gt`` is that of the grown network when the fill applies.
    ``record`` is ``None`` for methods that do not guard hard budgets or without hard budgets."""
    import torch
    import torch.nn.functional as F

    from hdx.search.finish import design_record

    s, cfg = searcher.s, searcher.cfg
    hard = [b for b in s.budgets if b.hard]
    if not (s.policy.guard and hard):
        return gt, None
    mode = resolve_mode(cfg)
    space, table = s.space, s.table
    start = space.encode(gt.arch)
    # the evidence: the final α without the guard's corrections (its budget job is the fill's here)
    logits = searcher.guard.unguarded(searcher.net.masked_alpha(), searcher.a_opt.lr)
    probs = torch.softmax(logits, dim=-1).cpu().numpy()
    grown = grow_to_budgets(start, probs, table, s.budgets, s.objective, growth_order(space.op_names),
                            op_macs(space))
    metrics = table.arch_metrics(grown.end)
    choice = choose_accelerator(metrics, s.objective, s.budgets)
    with torch.no_grad():
        onehot = F.one_hot(torch.as_tensor(grown.end, device=searcher.device), space.num_ops).float()
        gen = int(s.evaluator(onehot).accel_index[0])
    grown_gt = replace(gt, arch=space.decode(grown.end), metrics=metrics,
                       exhaustive=design_record(metrics, choice.index, s.budgets, s.grid),
                       generator=design_record(metrics, gen, s.budgets, s.grid),
                       objective_value=choice.objective_value)
    applied = mode == "grow" and bool(grown.moves)
    moves = []
    cur = start.copy()
    for p, a, b, lr, dm, du in grown.moves:
        cur[p] = b
        m = table.arch_metrics(cur)
        c = choose_accelerator(m, s.objective, s.budgets)
        moves.append(FillMove(position=p, op_from=space.op_names[a], op_to=space.op_names[b],
                              log_ratio=lr, macs_added=int(round(dm)), usage_added=du, metrics=c.metrics,
                              slack={x.budget: x.slack for x in c.checks if x.kind == "hard"}))
    record = FillRecord(
        mode=mode, applied=applied, reason=_reason(mode, cfg, grown, applied),
        start_arch=space.arch_text(gt.arch), start=gt.exhaustive, grown_arch=space.arch_text(grown_gt.arch),
        grown=grown_gt.exhaustive, moves=moves,
        objective_start=gt.objective_value, objective_grown=grown_gt.objective_value,
        start_accuracy=searcher.accuracy(gt.arch) if applied else None)
    return (grown_gt if applied else gt), record


# ----------------------------------------------------------------------------------------------------
# what is printed
def fill_summary(final) -> list[str]:
    """Lines on the budget fill of a :class:`~hdx.search.records.SearchFinal` (empty without one):
    what the fill did, and for a network that keeps its slack, what the slack bought."""
    f = final.fill
    if f is None:
        return []
    obj = final.objective
    hard = [b for b in f.start.budgets if b.kind == "hard"]

    def slacks(d) -> str:
        return ", ".join(f"{b.budget} {100 * b.slack:.1f}%" for b in d.budgets if b.kind == "hard")

    if f.applied:
        return [f"grew the derived network by {len(f.moves)} move(s) into the hard budgets (ground truth): "
                f"slack {slacks(f.start)} -> {slacks(f.grown)}; {obj} {f.objective_start:.4g} -> "
                f"{f.objective_grown:.4g}; the published HDX finish (fill=off) gives {f.start_arch}"]
    if not f.moves or not hard:
        return [f"no fill: {f.reason}"]
    other = f"the network that fills it ({f.grown_arch}: {slacks(f.grown)} left)"
    if f.objective_grown <= f.objective_start:
        return [f"the unused budget ({slacks(f.start)}) bought nothing in {obj}: {other} has {obj} "
                f"{f.objective_grown:.4g} vs {f.objective_start:.4g}; {f.reason}"]
    gain = 1 - f.objective_start / f.objective_grown
    return [f"the unused budget ({slacks(f.start)}) bought a {100 * gain:.1f}% lower {obj} "
            f"({f.objective_start:.4g} vs {f.objective_grown:.4g}) than {other}; {f.reason}"]
