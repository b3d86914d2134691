"""The best accelerator of one network over a space of any size, exactly, in bounded memory.

A space of up to :data:`~hdx.space.accelerator.MAX_GRID` designs is enumerated (one cost-model call,
:func:`hdx.cost.grid.best_for_layers`). A larger one is searched by **branch and bound** over slices of
the space, with bounds that come from the analytical model itself (docs/hw-search.md):

* A design is a *core* (PE x, PE y, RF, dataflow) with *memories* (GLB size, GLB bandwidth). Grid
  order puts the memories last, so the designs of a run of cores are one contiguous range of indices.
* **Relaxation.** Per core, the model is run once on the core with the space's largest GLB and
  bandwidth and returns, per layer, the least array-side cycles ``Lr``, the least GLB words ``Wr`` and
  the least PE-local energy ``Pr`` over *every* legal mapping
  (:meth:`~hdx.cost.analytical.AnalyticalModel.mapping_bounds`). The candidate tiles and their words
  depend only on the core, and the GLB port is never slower with more bandwidth, so no mapping of a
  design with smaller memories beats these (``bench_monotone.py`` and the hypothesis tests check the
  monotonicity this rests on).
* **Per-design bounds, no mapper.** From the design's own DRAM words ``D`` (its GLB size, exact),
  GLB energy per word ``e``, leakage ``P`` and area ``A`` (all exact and cheap):
  ``L ≥ Σ_l max(Lr, D·c)``, ``E ≥ Σ_l (MACs·e_mac + Pr + (Wr + D)·e + D·e_dram) + P·L_lb``; so the
  objective (monotone in latency, energy and area) ≥ its value at the bounds, and a design whose bound
  misses a hard budget misses it.
* **Search.** Slice by slice, designs whose bound misses a budget or cannot beat the best design found
  so far are dropped; the best few of each slice by bound are evaluated exactly (the incumbent), and at
  the end the survivors are evaluated in order of their bound until the next bound is no better than the
  incumbent. The result is the enumerated optimum (within the model's float32 rounding, which the bounds'
  margin :data:`MARGIN` covers); the counts of designs bounded, pruned and evaluated are returned.

Other cost models have no bounds: spaces beyond one table are then enumerated slice by slice
(:func:`enumerate_space`), exact but as slow as the model.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from hdx.budgets import Budget
from hdx.cost.base import CostModel, check_finite, costs_only
from hdx.cost.feasibility import Choice, checks, feasible_mask, worst_ratio
from hdx.cost.grid import BestAccelerator, metrics_from_costs
from hdx.errors import HDXError
from hdx.metrics import METRICS, Objective, cycles_to_ms, pj_to_mj, um2_to_mm2
from hdx.space.accelerator import AcceleratorSpace, AccelTable
from hdx.workload import LayerTable

#: relative margin on every bound (the exact model computes in float32; its results may sit this far
#: below the float64 bound without the bound being wrong)
MARGIN = 1e-4
#: designs bounded per slice (the per-layer bound arrays of one slice: layers × this many floats)
SLICE_DESIGNS = 1 << 17
#: designs evaluated exactly per batch
BATCH = 1024
#: positions of the bound order scanned at once for the designs of a batch
WINDOW = 8 * BATCH
#: designs of each slice evaluated at once to improve the incumbent
PROBE = 16
#: the most designs a search keeps the relaxation's bounds of, for its later passes (about 64 MB)
KEEP_BOUNDS = 2_000_000


def gives_bounds(model) -> bool:
    """Whether ``model`` gives the bounds the search rests on: the analytical model's, where it is
    monotone in the memories (``AnalyticalModel.monotone``)."""
    return (all(hasattr(model, a) for a in ("mapping_bounds", "dram_words", "area_um2", "leakage_mw"))
            and getattr(model, "monotone", True))


@dataclass
class SearchStats:
    """What a search over a space did: designs in the space, bounded, pruned by a budget, pruned by the
    incumbent, evaluated exactly, and the wall time (s)."""

    method: str
    designs: int
    bounded: int = 0
    pruned_budget: int = 0
    pruned_bound: int = 0
    evaluated: int = 0
    seconds: float = 0.0
    #: designs evaluated exactly to find the closest design where none meets the budgets (a second pass,
    #: outside ``bounded = pruned_budget + pruned_bound + evaluated``)
    closest_evaluated: int = 0


@dataclass
class SpaceBest:
    """The best design found: its grid index, metrics (ms, mJ, mm²), objective value, whether it meets
    every hard budget (when none does, the closest design evaluated), and the search's statistics."""

    index: int
    metrics: dict[str, float]
    objective_value: float
    feasible: bool
    stats: SearchStats


def _metrics(model: CostModel, layers: LayerTable, accels: AccelTable) -> dict[str, np.ndarray]:
    name = getattr(model, "name", "cost model")
    return metrics_from_costs(check_finite(costs_only(model, layers, accels), layers, accels,
                                           model=name))


class _Exact:
    """The exact metrics of the designs of one search (``model``, ``layers``, ``space``), each design
    evaluated once: the passes of a search for the closest designs ask again for many designs an earlier
    pass evaluated. Kept as a few sorted runs of design indices with their metrics, each run at most half
    the size of the one before it (two runs merge when the newer is not): memory grows with what the
    search evaluates, not with the space, and a lookup is one binary search per run."""

    def __init__(self, model, layers: LayerTable, space: AcceleratorSpace):
        self.model, self.layers, self.space = model, layers, space
        self.runs: list[tuple[np.ndarray, dict[str, np.ndarray]]] = []

    def __call__(self, index: np.ndarray) -> tuple[dict[str, np.ndarray], int]:
        """The metrics of designs ``index`` ([N], distinct) and how many of them the model evaluated."""
        index = np.asarray(index, dtype=np.int64)
        run_of = np.full(index.size, -1, dtype=np.intp)
        pos = np.zeros(index.size, dtype=np.intp)
        for r, (idx, _) in enumerate(self.runs):  # (a few runs: not a loop over designs)
            at = np.minimum(np.searchsorted(idx, index), idx.size - 1)
            hit = (run_of < 0) & (idx[at] == index)
            run_of[hit], pos[hit] = r, at[hit]
        out: dict[str, np.ndarray] = {}
        for r, (_, vals) in enumerate(self.runs):
            sel = np.flatnonzero(run_of == r)
            if sel.size:
                for k, v in vals.items():
                    out.setdefault(k, np.empty(index.size, dtype=np.float64))[sel] = v[pos[sel]]
        new = np.flatnonzero(run_of < 0)
        if new.size:  # (after the lookups: a new run may merge the runs they point into)
            m = _metrics(self.model, self.layers, self.space.table_of(index[new]))
            for k, v in m.items():
                out.setdefault(k, np.empty(index.size, dtype=np.float64))[new] = np.broadcast_to(v, new.shape)
            by = np.argsort(index[new], kind="stable")
            self._add(index[new][by], {k: out[k][new][by] for k in out})
        return out, int(new.size)

    def _add(self, idx: np.ndarray, vals: dict[str, np.ndarray]) -> None:
        """A new sorted run (indices ``idx`` and their metrics), merged while it is not at most half the
        size of the run before it."""
        self.runs.append((idx, vals))
        while len(self.runs) > 1 and 2 * self.runs[-1][0].size > self.runs[-2][0].size:
            (a, va), (b, vb) = self.runs[-2], self.runs[-1]
            merged = np.concatenate([a, b])
            by = np.argsort(merged, kind="stable")
            self.runs[-2:] = [(merged[by], {k: np.concatenate([va[k], vb[k]])[by] for k in va})]


class _Incumbent:
    """The best design evaluated so far: feasible ones by objective; while none is feasible, the
    closest (smallest worst budget ratio, then objective)."""

    def __init__(self, objective: Objective, budgets: Sequence[Budget]):
        self.objective, self.budgets = objective, list(budgets)
        self.index, self.value, self.feasible, self.ratio = -1, np.inf, False, np.inf
        self.metrics: dict[str, float] = {}

    def offer(self, index: np.ndarray, metrics: dict[str, np.ndarray]) -> None:
        """Take the best of designs ``index`` if it beats the incumbent; exact ties go to the lower grid
        index, within a batch as across batches, so every search order gives enumeration's answer."""
        index = np.asarray(index)
        jb = np.asarray(self.objective.of(metrics), dtype=np.float64)
        ok = feasible_mask(metrics, self.budgets)
        mine = self.index if self.index >= 0 else np.iinfo(np.int64).max
        if ok.any():
            j = int(np.lexsort((index, np.where(ok, jb, np.inf)))[0])
            if not self.feasible or (jb[j], index[j]) < (self.value, mine):
                self._take(j, index, metrics, jb[j], True, 0.0)
        elif not self.feasible:
            r = worst_ratio(metrics, self.budgets)
            j = int(np.lexsort((index, jb, r))[0])
            if (r[j], jb[j], index[j]) < (self.ratio, self.value, mine):
                self._take(j, index, metrics, jb[j], False, float(r[j]))

    def _take(self, j, index, metrics, value, feasible, ratio) -> None:
        self.index, self.value, self.feasible, self.ratio = int(index[j]), float(value), feasible, ratio
        self.metrics = {m: float(np.asarray(metrics[m])[j]) for m in METRICS}

    @property
    def cutoff(self) -> float:
        """A design whose objective bound is not below this cannot improve the answer."""
        return self.value if self.feasible else np.inf


class Groups:
    """The groups of a search that keeps one best design per group (:func:`best_per_group`): ``n``
    groups and the group of each grid index (``of``); the plain search has one group."""

    def __init__(self, n: int = 1, of=None):
        self.n, self._of = n, of

    def of(self, index: np.ndarray) -> np.ndarray:
        return np.zeros(np.shape(index), dtype=np.int64) if self._of is None else self._of(index)


class _Incumbents:
    """One :class:`_Incumbent` per group and the cutoff of each."""

    def __init__(self, objective: Objective, budgets: Sequence[Budget], groups: Groups):
        self.items = [_Incumbent(objective, budgets) for _ in range(groups.n)]
        self.cut = np.full(groups.n, np.inf)

    def offer(self, index: np.ndarray, group: np.ndarray, metrics: dict[str, np.ndarray]) -> None:
        for g in np.unique(group):
            sel = np.flatnonzero(group == g)
            inc = self.items[int(g)]
            inc.offer(index[sel], {k: np.asarray(v)[sel] for k, v in metrics.items()})
            self.cut[g] = inc.cutoff


class _Bounds:
    """Lower bounds of latency, energy and objective of every design of a slice of cores, from one
    relaxed model run per core (see the module docstring)."""

    def __init__(self, model, layers: LayerTable, space: AcceleratorSpace):
        self.model, self.layers, self.space = model, layers, space
        kv = space.knob_values
        self.n_mem = len(kv["glb_kib"]) * len(kv["glb_bw"])
        hw, tech = model.hardware, model.tech
        self.cyc_per_word = hw.dram_cycles_per_word
        self.e_mac = float(np.sum(layers.macs, dtype=np.float64) * tech.mac_energy_pj(hw.word_bits))
        self.e_dram = tech.dram_energy_pj(hw.word_bits)
        self.clock = hw.clock_mhz
        # the relaxed memories: the largest GLB and the widest GLB port of the space
        self.glb_max = max(kv["glb_kib"]) * 1024
        bws = [b for b in kv["glb_bw"] if b is not None]
        self.bw_max = max(bws) if bws else 0.0
        # each slice's bounds, kept (read-only) for the search's later passes (the closest designs) where
        # the space is small enough to keep them all (32 bytes a design)
        self._kept: dict[tuple[int, int], tuple] | None = {} if len(space) <= KEEP_BOUNDS else None

    def slice(self, core_lo: int, core_hi: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Grid indices of the designs of cores ``core_lo..core_hi-1`` and their bounds (ms, mJ, mm²)."""
        if self._kept is not None and (core_lo, core_hi) in self._kept:
            return self._kept[core_lo, core_hi]
        out = self._slice(core_lo, core_hi)
        if self._kept is not None:
            for a in (out[0], *out[1].values()):
                a.flags.writeable = False
            self._kept[core_lo, core_hi] = out
        return out

    def _slice(self, core_lo: int, core_hi: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        idx = np.arange(core_lo * self.n_mem, core_hi * self.n_mem, dtype=np.int64)
        acc = self.space.table_of(idx)
        n_core = core_hi - core_lo
        core_of = np.repeat(np.arange(n_core), self.n_mem)
        first = acc[np.arange(n_core) * self.n_mem]  # one design per core
        relaxed = AccelTable(first.pe_x, first.pe_y, first.rf_bytes, first.dataflow,
                             np.full(n_core, self.glb_max), np.full(n_core, self.bw_max),
                             (first.pad_w, first.pad_i, first.pad_o))
        b = self.model.mapping_bounds(self.layers, relaxed)                     # [L, cores]
        # the DRAM words and the latency bound do not depend on the bandwidth: per (core, GLB size)
        n_bw = len(self.space.knob_values["glb_bw"])
        cg = acc[::n_bw]
        dram = self.model.dram_words(self.layers, cg)                           # [L, cores x GLB sizes]
        core_cg = core_of[::n_bw]
        lat_cg = np.maximum(b["lb_cycles"][:, core_cg], dram * self.cyc_per_word).sum(0)
        lat, dram_tot = np.repeat(lat_cg, n_bw), np.repeat(dram.sum(0), n_bw)
        e_glb = self.model.glb_energy_pj(acc)
        words = b["lb_glb_words"].sum(0)[core_of] + dram_tot  # GLB accesses: array side and DRAM fills
        energy = (self.e_mac + b["lb_local_pj"].sum(0)[core_of] + words * e_glb + dram_tot * self.e_dram
                  + lat * self.model.leakage_mw(acc) / self.clock * 1e3)
        area = sum(self.model.area_um2(acc).values())
        m = {"latency": cycles_to_ms(lat, self.clock), "energy": pj_to_mj(energy), "area": um2_to_mm2(area)}
        return idx, {k: v * (1 - MARGIN) for k, v in m.items()}


def _slices(space: AcceleratorSpace, n_mem: int):
    n_core = len(space) // n_mem
    step = max(1, SLICE_DESIGNS // n_mem)
    for lo in range(0, n_core, step):
        yield lo, min(n_core, lo + step)


def branch_and_bound(model, layers: LayerTable, space: AcceleratorSpace, objective: Objective,
                     budgets: Sequence[Budget] = ()) -> SpaceBest:
    """Exact best design of ``space`` for ``layers`` under the hard ``budgets`` (analytical model only;
    see the module docstring). When no design meets the budgets, the closest design evaluated is
    returned with ``feasible=False`` (the caller decides whether that is an error)."""
    return _branch_and_bound(model, layers, space, objective, budgets, Groups())[0]


def _branch_and_bound(model, layers: LayerTable, space: AcceleratorSpace, objective: Objective,
                      budgets: Sequence[Budget], groups: Groups, only: Sequence[int] | None = None,
                      bounds: _Bounds | None = None, exact: _Exact | None = None) -> list[SpaceBest]:
    """:func:`branch_and_bound` keeping the best design of each group: a design is pruned by its own
    group's incumbent, so every group's answer is its exact optimum (one relaxation for all). ``only``:
    search these groups alone (the others' designs are never evaluated; their answers have no design);
    ``bounds``, ``exact``: the relaxation and the designs evaluated of an earlier pass on the same network
    and space, if at hand."""
    if not gives_bounds(model):
        raise HDXError(f"cost model '{getattr(model, 'name', model)}' gives no bounds: the space's "
                       f"{len(space)} designs can only be enumerated (hdx.cost.hwsearch.enumerate_space)")
    t0 = time.perf_counter()
    hard = [b for b in budgets if b.hard]
    bounds = _Bounds(model, layers, space) if bounds is None else bounds
    exact = _Exact(model, layers, space) if exact is None else exact
    inc = _Incumbents(objective, hard, groups)
    if only is not None:  # (a cutoff no bound is below: nothing of the other groups is live)
        inc.cut[np.setdiff1d(np.arange(groups.n), np.asarray(only, dtype=np.int64))] = -np.inf
    stats = SearchStats("branch and bound", len(space))
    keep_j: list[np.ndarray] = []
    keep_i: list[np.ndarray] = []
    for lo, hi in _slices(space, bounds.n_mem):
        idx, m = bounds.slice(lo, hi)
        stats.bounded += idx.size
        ok = feasible_mask(m, hard)
        stats.pruned_budget += int((~ok).sum())
        jb = np.asarray(objective.of(m), dtype=np.float64)
        grp = groups.of(idx)
        live = ok & (inc.cut[grp] > jb)
        idx, jb, grp = idx[live], jb[live], grp[live]
        if idx.size:
            order = _probe(jb, grp)  # the most promising of the slice (of each group), exactly
            m, n_new = exact(idx[order])
            inc.offer(idx[order], grp[order], m)
            stats.evaluated += n_new
            rest = np.ones(idx.size, dtype=bool)
            rest[order] = False
            live = rest & (inc.cut[grp] > jb)
            keep_j.append(jb[live])
            keep_i.append(idx[live])
        if len(keep_j) > 64:  # bounded memory: merge and drop what the incumbents already beat
            keep_j, keep_i = _merge(keep_j, keep_i, inc, groups)
    keep_j, keep_i = _merge(keep_j, keep_i, inc, groups)
    stats.evaluated += _in_bound_order(exact, keep_j, keep_i, groups, inc, lambda: inc.cut)
    stats.pruned_bound = stats.bounded - stats.pruned_budget - stats.evaluated
    lost = [g for g, i in enumerate(inc.items) if not i.feasible]
    if lost and hard:
        _closest(exact, objective, hard, groups, bounds, inc, lost, stats)
    stats.seconds = time.perf_counter() - t0
    return [SpaceBest(i.index, i.metrics, i.value, i.feasible, stats) for i in inc.items]


def _closest(exact: _Exact, objective: Objective, hard: list[Budget], groups: Groups, bounds: _Bounds,
             inc: _Incumbents, lost: list[int], stats: SearchStats) -> None:
    """The closest design of each group ``lost`` (none of whose designs meets the ``hard`` budgets), as
    enumeration chooses it: the least worst ratio metric / limit, then the least objective, then the
    lowest index. The least ratio ``r*`` comes from the same search with that ratio as the objective (it is
    monotone in the metrics too) and gives a first such design; then the designs of the group that may tie
    with it — ratio bound at most ``r*`` — and may beat it — objective bound at most its objective — are
    evaluated, least objective bound first, until none is left below the group's closest design."""
    model, layers, space = exact.model, exact.layers, exact.space
    near = _branch_and_bound(model, layers, space, _WorstRatio(hard), (), groups, only=lost, bounds=bounds,
                             exact=exact)
    stats.closest_evaluated += near[0].stats.evaluated  # (one pass for every lost group)
    ties = _Incumbents(objective, hard, groups)
    r_star = np.full(groups.n, -np.inf)
    for g in lost:
        r_star[g] = near[g].objective_value  # inf where every ratio overflows (a limit like 1e-310): all tie
        if near[g].index >= 0:
            one = {k: np.array([v]) for k, v in near[g].metrics.items()}
            ties.items[g].offer(np.array([near[g].index]), one)
    def best() -> np.ndarray:  # each group's closest design's objective (its incumbents are infeasible)
        return np.array([i.value for i in ties.items])

    keep_j: list[np.ndarray] = []
    keep_i: list[np.ndarray] = []
    for lo, hi in _slices(space, bounds.n_mem):
        idx, m = bounds.slice(lo, hi)
        grp = groups.of(idx)
        jb = np.asarray(objective.of(m), dtype=np.float64)
        may = (worst_ratio(m, hard) <= r_star[grp]) & (jb < best()[grp])
        keep_j.append(jb[may])
        keep_i.append(idx[may])
    stats.closest_evaluated += _in_bound_order(exact, keep_j, keep_i, groups, ties, best)
    for g in lost:
        inc.items[g] = ties.items[g]


def _in_bound_order(exact: _Exact, js: list[np.ndarray], ix: list[np.ndarray], groups: Groups,
                    inc: _Incumbents, cut) -> int:
    """Evaluate the designs ``ix`` (lists of arrays) least objective bound ``js`` first, in batches, each
    only while its bound is below its group's ``cut()`` (which falls as ``inc`` takes better designs; the
    bounds' :data:`MARGIN` keeps a design that ties exactly below it); how many the model evaluated (a design
    an earlier pass evaluated is taken from ``exact``)."""
    jb = np.concatenate(js) if js else np.empty(0)
    order = np.argsort(jb, kind="stable")
    jb, idx = jb[order], (np.concatenate(ix) if ix else np.empty(0, dtype=np.int64))[order]
    grp = groups.of(idx)
    done, pos = 0, 0
    while pos < jb.size:
        c = cut()
        if jb[pos] >= c.max():  # sorted: nothing left can beat any group
            break
        # the next BATCH designs still below their group's cut (one call of the model: its cost is mostly
        # a fixed part per call, so a batch of the designs alive, not of positions, where groups thin them)
        at, end = [], pos
        while end < jb.size and sum(a.size for a in at) < BATCH and jb[end] < c.max():
            seg = slice(end, min(end + WINDOW, jb.size))
            at.append(end + np.flatnonzero(jb[seg] < c[grp[seg]]))
            end = seg.stop
        live = np.concatenate(at)[:BATCH]
        pos = int(live[-1]) + 1 if live.size == BATCH else end
        if live.size:
            m, n_new = exact(idx[live])
            inc.offer(idx[live], grp[live], m)
            done += n_new
    return done


def _probe(jb: np.ndarray, grp: np.ndarray) -> np.ndarray:
    """Positions of the designs of a slice evaluated at once: the :data:`PROBE` least bounds, and the
    least two of each group (so each group has an incumbent early)."""
    order = np.argsort(jb, kind="stable")
    if not grp.any():
        return order[:PROBE]
    by_group = order[np.argsort(grp[order], kind="stable")]  # by group, then by bound
    g = grp[by_group]
    start = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    rank = np.arange(g.size) - np.repeat(start, np.diff(np.r_[start, g.size]))
    return np.union1d(order[:PROBE], by_group[rank < 2])


class _WorstRatio:
    """``max_i metric_i / limit_i`` over hard budgets, as an objective (for the closest design)."""

    def __init__(self, budgets: Sequence[Budget]):
        self.budgets = list(budgets)

    def of(self, metrics: dict) -> np.ndarray:
        return worst_ratio(metrics, self.budgets)

    def __str__(self) -> str:
        return "worst budget ratio"


def _merge(js: list[np.ndarray], ix: list[np.ndarray], inc: _Incumbents, groups: Groups
           ) -> tuple[list, list]:
    if not js:
        return [], []
    jb, ix_ = np.concatenate(js), np.concatenate(ix)
    live = inc.cut[groups.of(ix_)] > jb
    return [jb[live]], [ix_[live]]


def enumerate_space(model: CostModel, layers: LayerTable, space: AcceleratorSpace, objective: Objective,
                    budgets: Sequence[Budget] = ()) -> SpaceBest:
    """Exact best design by evaluating every design, slice by slice (bounded memory; any cost model)."""
    return _enumerate(model, layers, space, objective, budgets, Groups())[0]


def _enumerate(model: CostModel, layers: LayerTable, space: AcceleratorSpace, objective: Objective,
               budgets: Sequence[Budget], groups: Groups) -> list[SpaceBest]:
    """:func:`enumerate_space` keeping the best design of each group."""
    t0 = time.perf_counter()
    hard = [b for b in budgets if b.hard]
    inc = _Incumbents(objective, hard, groups)
    stats = SearchStats("enumeration", len(space))
    for lo in range(0, len(space), SLICE_DESIGNS):
        idx = np.arange(lo, min(len(space), lo + SLICE_DESIGNS), dtype=np.int64)
        inc.offer(idx, groups.of(idx), _metrics(model, layers, space.table_of(idx)))
        stats.evaluated += idx.size
    stats.bounded = stats.evaluated
    stats.seconds = time.perf_counter() - t0
    return [SpaceBest(i.index, i.metrics, i.value, i.feasible, stats) for i in inc.items]


def best_in_space(model, layers: LayerTable, space: AcceleratorSpace, objective: Objective,
                  budgets: Sequence[Budget] = (), *, method: str = "auto") -> SpaceBest:
    """The best design of ``space``: ``method`` ``enumerate`` (every design), ``bound`` (branch and
    bound, analytical model) or ``auto`` (branch and bound where the model gives bounds, the space has
    several memory options per core and more than a quarter slice of designs; else enumeration)."""
    return best_per_group(model, layers, space, objective, budgets, method=method)[0]


def best_per_group(model, layers: LayerTable, space: AcceleratorSpace, objective: Objective,
                   budgets: Sequence[Budget] = (), *, groups: Groups | None = None,
                   method: str = "auto") -> list[SpaceBest]:
    """:func:`best_in_space` for each group of ``groups`` (default: the whole space, one group) in one
    pass: each group's best design, exactly (a design is pruned only by its own group's incumbent), or
    where none of a group meets the budgets its closest (``feasible`` False). The statistics are the
    pass's, shared by the groups."""
    if method not in ("auto", "enumerate", "bound"):
        raise HDXError(f"search method must be auto, enumerate or bound, got {method!r}")
    groups = groups if groups is not None else Groups()
    has_bounds = gives_bounds(model)
    kv = space.knob_values
    memories = len(kv["glb_kib"]) * len(kv["glb_bw"])  # designs per core: what one relaxed run bounds
    large = len(space) > SLICE_DESIGNS // 4
    if method == "bound" or (method == "auto" and has_bounds and memories > 1 and large):
        return _branch_and_bound(model, layers, space, objective, budgets, groups)
    return _enumerate(model, layers, space, objective, budgets, groups)


@dataclass
class Front:
    """The latency–energy–area Pareto front of a space for one network under hard budgets: grid indices
    and metrics (ms, mJ, mm², each [F], sorted by latency), and the search's statistics."""

    index: np.ndarray
    metrics: dict[str, np.ndarray]
    stats: SearchStats


def _nondominated(p: np.ndarray) -> np.ndarray:
    """Mask of the rows of ``p`` ([N, 3], lower is better) that no other row dominates (≤ in every
    column, < in one; of equal rows the first is kept)."""
    order = np.lexsort(p.T[::-1])
    keep = np.zeros(len(p), dtype=bool)
    front = np.empty((0, p.shape[1]))
    for lo in range(0, len(order), 512):
        blk = order[lo:lo + 512]
        q = p[blk]
        dom = (front[None, :, :] <= q[:, None, :]).all(-1).any(-1) if len(front) else np.zeros(len(q), bool)
        # within the block: sorted, so only an earlier row can dominate (or equal) a later one, and a
        # dominated dominator is itself dominated by a kept row (transitivity): any earlier row counts
        le = (q[None, :, :] <= q[:, None, :]).all(-1) & np.tri(len(q), k=-1, dtype=bool)
        ok = ~dom & ~le.any(-1)
        keep[blk[ok]] = True
        front = np.concatenate([front, q[ok]])
    return keep


def pareto_front(model, layers: LayerTable, space: AcceleratorSpace, budgets: Sequence[Budget] = ()) -> Front:
    """Every design of ``space`` that meets the hard ``budgets`` and that no other such design beats in
    latency, energy and area together. A space that fits one table is evaluated whole; a larger one
    with the analytical model's bounds: a design whose lower-bound vector (latency, energy, area) is
    already matched or beaten by a front design cannot be on the front, so only the others are
    evaluated, most promising first (exact: the bounds never exceed the costs)."""
    t0 = time.perf_counter()
    hard = [b for b in budgets if b.hard]
    bounded = gives_bounds(model)
    stats = SearchStats("bounds" if bounded else "enumeration", len(space))
    if not bounded:
        idx_all, met = [], []
        for lo in range(0, len(space), SLICE_DESIGNS):
            idx = np.arange(lo, min(len(space), lo + SLICE_DESIGNS), dtype=np.int64)
            m = _metrics(model, layers, space.table_of(idx))
            ok = feasible_mask(m, hard)
            idx_all.append(idx[ok])
            met.append(np.stack([m[k][ok] for k in METRICS], 1))
            stats.evaluated += idx.size
        ix, pts = np.concatenate(idx_all), np.concatenate(met)
    else:
        bounds = _Bounds(model, layers, space)
        lb_i, lb_p = [], []
        for lo, hi in _slices(space, bounds.n_mem):
            idx, m = bounds.slice(lo, hi)
            stats.bounded += idx.size
            ok = feasible_mask(m, hard)
            stats.pruned_budget += int((~ok).sum())
            # every bound is kept: a design whose bound another design's *bound* dominates may still
            # be on the front; designs are pruned only against evaluated front designs below
            lb_i.append(idx[ok])
            lb_p.append(np.stack([m[k][ok] for k in METRICS], 1))
        bi, bp = np.concatenate(lb_i), np.concatenate(lb_p)
        order = np.argsort(np.prod(bp, axis=1), kind="stable")  # most promising (least EDAP bound) first
        bi, bp = bi[order], bp[order]
        front_i, front_p = np.empty(0, np.int64), np.empty((0, 3))
        lo, step = 0, 64  # small batches first, while the front that prunes is still small
        while lo < len(bi):
            ci, cp = bi[lo:lo + step], bp[lo:lo + step]
            lo, step = lo + step, min(step * 2, BATCH * 4)
            if len(front_p):
                dom = np.zeros(len(cp), bool)
                for f in range(0, len(front_p), 2048):
                    fp = front_p[f:f + 2048]
                    dom |= (fp[None, :, :] <= cp[:, None, :]).all(-1).any(-1)
                ci = ci[~dom]
            if not len(ci):
                continue
            m = _metrics(model, layers, space.table_of(ci))
            stats.evaluated += ci.size
            ok = feasible_mask(m, hard)
            cand_i = np.concatenate([front_i, ci[ok]])
            cand_p = np.concatenate([front_p, np.stack([m[k][ok] for k in METRICS], 1)])
            keep = _nondominated(cand_p)
            front_i, front_p = cand_i[keep], cand_p[keep]
        ix, pts = front_i, front_p
        stats.pruned_bound = stats.bounded - stats.pruned_budget - stats.evaluated
    keep = _nondominated(pts) if len(pts) else np.zeros(0, bool)
    ix, pts = ix[keep], pts[keep]
    order = np.lexsort(pts.T[::-1])
    stats.seconds = time.perf_counter() - t0
    return Front(ix[order], {k: pts[order, j] for j, k in enumerate(METRICS)}, stats)


def best_accelerator(model, layers: LayerTable, space: AcceleratorSpace, objective: Objective,
                     budgets: Sequence[Budget] = (), *, require: bool = True, method: str = "auto"
                     ) -> BestAccelerator:
    """:func:`best_in_space` as a :class:`~hdx.cost.grid.BestAccelerator` (what ``hdx cost --accel
    grid`` and :func:`hdx.best_accelerator` report); ``require``: a one-line error when no design meets
    the hard budgets, else the closest design with ``choice.feasible`` False. ``n_feasible`` is -1: a
    search that prunes does not count the feasible designs."""
    best = best_in_space(model, layers, space, objective, budgets, method=method)
    return _reported(best, space, objective, budgets, require)


def best_of_groups(found: Sequence[SpaceBest], space: AcceleratorSpace, objective: Objective,
                   budgets: Sequence[Budget] = (), *, require: bool = True) -> BestAccelerator:
    """:func:`best_accelerator` from the answers of :func:`best_per_group` over groups that cover the
    space (e.g. the rows of a sizing table, :mod:`.sizing`), without a search of its own: the least
    objective of the groups' designs that meet the budgets (ties: the lower index), else the least worst
    ratio, then objective, then index of their closest designs — what enumeration chooses, as each
    group's answer is its own."""
    hard = [b for b in budgets if b.hard]
    live = [f for f in found if f.index >= 0]
    if not live:
        raise HDXError(f"no design of space '{space.name}' was searched")
    ok = [f for f in live if f.feasible]
    if ok:
        best = min(ok, key=lambda f: (f.objective_value, f.index))
    else:
        best = min(live, key=lambda f: (float(worst_ratio({m: np.array([v]) for m, v in f.metrics.items()},
                                                          hard)[0]), f.objective_value, f.index))
    return _reported(best, space, objective, budgets, require)


def _reported(best: SpaceBest, space: AcceleratorSpace, objective: Objective, budgets: Sequence[Budget],
              require: bool) -> BestAccelerator:
    """A search's answer as the :class:`~hdx.cost.grid.BestAccelerator` it reports (``require``: the
    one-line error where no design meets the budgets)."""
    if require:
        require_found(best, space, budgets)
    choice = Choice(best.index, best.feasible, -1, dict(best.metrics), best.objective_value,
                    checks({m: np.array([v]) for m, v in best.metrics.items()}, 0, budgets))
    s = best.stats
    return BestAccelerator(space[best.index], choice, str(objective), s.evaluated, s.seconds,
                           [b.text() for b in budgets], search=asdict(s))


def require_found(best: SpaceBest, space: AcceleratorSpace, budgets: Sequence[Budget]) -> None:
    """A one-line error when no design of ``space`` meets the hard budgets (naming the closest)."""
    if best.feasible:
        return
    hard = [b for b in budgets if b.hard]
    has = ", ".join(f"{b.metric} {best.metrics[b.metric]:.4g} {b.unit}" for b in hard)
    raise HDXError(f"no accelerator of space '{space.name}' meets {', '.join(b.text() for b in hard)}: the "
                   f"closest ({space[best.index]}, least worst ratio value/limit) has {has}; relax the "
                   f"budget")

