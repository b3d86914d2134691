"""The best design per knob value (hdx.cost.sizing, ``hdx cost --by``) against the independent truth: every
design of the space evaluated, the designs of each value combination masked out by hand and the best of
them picked by the objective under the budgets (or, where none meets them, the least worst budget ratio)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hdx.budgets import Budget
from hdx.cost import hwsearch
from hdx.cost.analytical import AnalyticalModel
from hdx.cost.feasibility import feasible_mask, worst_ratio
from hdx.cost.sizing import MAX_GROUPS, best_per_value, parse_knobs
from hdx.errors import HDXError
from hdx.metrics import Objective
from hdx.space.accelerator import KNOBS, AcceleratorSpace, AcceleratorSpaceConfig
from hdx.space.network import NetworkSpace
from hdx.workload import LayerTable

NET = NetworkSpace.load()
SPACE = AcceleratorSpace(AcceleratorSpaceConfig(name="t", knobs=dict(
    pe_x=[4, 8, 16], pe_y=[4, 12, 32], rf_bytes=[16, 64, 256], dataflow=["ws", "os", "rs"],
    glb_kib=[8, 32, 128, 1024], glb_bw=[4, 16, 64])))
MODEL = AnalyticalModel(SPACE.hardware)


def _network(seed: int) -> LayerTable:
    rng = np.random.default_rng(seed)
    return LayerTable(NET.layers(NET.decode(NET.sample_indices(rng, 1)[0])))


def _truth(metrics: dict, values: dict, objective: Objective, budgets: list[Budget]) -> tuple[bool, int]:
    """Enumeration's answer for the designs with ``values``, from every design's metrics: (whether one
    meets the budgets, the index of the best of those — least objective, then lowest index — or, where
    none does, of the closest — least worst ratio metric / limit, then objective, then index)."""
    ki = SPACE.knob_indices(np.arange(len(SPACE)))
    sel = np.ones(len(SPACE), dtype=bool)
    for k, v in values.items():
        sel &= ki[:, KNOBS.index(k)] == SPACE.knob_values[k].index(v)
    idx = np.flatnonzero(sel)
    jb = np.asarray(objective.of(metrics), dtype=np.float64)[idx]
    ok = feasible_mask(metrics, budgets)[idx]
    if ok.any():
        return True, int(idx[np.lexsort((idx, np.where(ok, jb, np.inf)))[0]])
    return False, int(idx[np.lexsort((idx, jb, worst_ratio(metrics, budgets)[idx]))[0]])


def _check(rows, metrics, objective, budgets) -> None:
    for r in rows:
        feasible, want = _truth(metrics, r.values, objective, budgets)
        assert r.best.feasible == feasible, r.values
        design = SPACE[r.best.index]
        for k, v in r.values.items():  # the design has the row's values
            assert getattr(design, k) == v, (k, getattr(design, k), v)
        assert r.best.index == want, (r.values, str(design), str(SPACE[want]))


@pytest.mark.parametrize("knobs", ["glb_kib", "glb_kib,glb_bw", "dataflow", "pe_x,rf_bytes"])
@pytest.mark.parametrize("method, slice_designs", [("enumerate", None), ("bound", None), ("bound", 60)])
def test_each_value_gets_its_own_optimum(knobs, method, slice_designs, monkeypatch):
    if slice_designs:  # many slices: a group's designs are pruned by its own incumbent, slice after slice
        monkeypatch.setattr(hwsearch, "SLICE_DESIGNS", slice_designs)
    layers = _network(3)
    metrics = hwsearch._metrics(MODEL, layers, SPACE.table)
    obj = Objective("edap")
    rows, stats = best_per_value(MODEL, layers, SPACE, obj, knobs=knobs, method=method)
    n = int(np.prod([len(SPACE.knob_values[k]) for k in knobs.split(",")]))
    assert len(rows) == n and len({tuple(r.values.items()) for r in rows}) == n
    _check(rows, metrics, obj, [])
    # the best row is the space's best
    whole = hwsearch.best_in_space(MODEL, layers, SPACE, obj)
    assert min(r.best.objective_value for r in rows) == pytest.approx(whole.objective_value, rel=1e-9)
    if method == "bound":
        assert stats.evaluated < len(SPACE)  # one branch and bound for all the groups, and it pruned


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["edap", "latency", "energy", "area"]),
       st.lists(st.sampled_from(["pe_x", "pe_y", "rf_bytes", "dataflow", "glb_kib", "glb_bw"]), min_size=1,
                max_size=2, unique=True),
       st.lists(st.tuples(st.sampled_from(["latency", "energy", "area"]), st.floats(0.01, 0.6)), min_size=1,
                max_size=3, unique_by=lambda b: b[0]),
       st.sampled_from([("enumerate", None), ("bound", None), ("bound", 60)]))
def test_per_value_optimum_under_budgets(seed, objective, knobs, limits, how):
    """Random networks, objectives, knobs and budgets on latency, energy and area (each at a random
    quantile of the space), searched whole or slice by slice: every group's answer is enumeration's —
    the best of its designs that meet the budgets, or where none does its closest (least worst ratio,
    then objective, then index: area ties across bandwidths are common)."""
    method, slice_designs = how
    old = hwsearch.SLICE_DESIGNS
    hwsearch.SLICE_DESIGNS = slice_designs or old
    try:
        layers = _network(seed)
        metrics = hwsearch._metrics(MODEL, layers, SPACE.table)
        budgets = [Budget(m, float(np.quantile(metrics[m], q))) for m, q in limits]
        obj = Objective(objective)
        rows, stats = best_per_value(MODEL, layers, SPACE, obj, budgets, knobs=knobs, method=method)
    finally:
        hwsearch.SLICE_DESIGNS = old
    _check(rows, metrics, obj, budgets)
    if method == "bound":  # the main pass sees every design once; the closest-design pass apart
        assert stats.pruned_budget + stats.pruned_bound + stats.evaluated == stats.bounded == len(SPACE)


def test_knob_names_are_checked():
    assert parse_knobs("glb_kib, glb_bw", SPACE) == ("glb_kib", "glb_bw")
    assert parse_knobs(["dataflow"], SPACE) == ("dataflow",)
    with pytest.raises(HDXError, match="unknown knob 'glb' for the table: use one of pe_x"):
        parse_knobs("glb", SPACE)
    with pytest.raises(HDXError, match="each knob once"):
        parse_knobs("glb_kib,glb_kib", SPACE)
    with pytest.raises(HDXError, match="give knob names"):
        parse_knobs("glb_kib,", SPACE)
    for bad in ([1], ["glb_kib", None], 5):  # the Python API's keyword: names only, one line
        with pytest.raises(HDXError, match="knobs of the table must be names"):
            parse_knobs(bad, SPACE)  # type: ignore[arg-type]
    big = AcceleratorSpace(AcceleratorSpaceConfig(name="b", knobs=dict(
        pe_x=list(range(1, 41)), pe_y=list(range(1, 41)), rf_bytes=[16], dataflow=["ws"])))
    with pytest.raises(HDXError, match=f"1600 combinations, more than {MAX_GROUPS}; give fewer knobs"):
        parse_knobs("pe_x,pe_y", big)


@pytest.mark.parametrize("method", ["enumerate", "bound"])
def test_exact_ties_go_to_the_lower_index(method):
    """A case where designs tie exactly (RS 16x32 with a 64 B or a 256 B RF: the same latency): every
    search order answers as enumeration does, the lower grid index (found by a review)."""
    layers = _network(0)
    metrics = hwsearch._metrics(MODEL, layers, SPACE.table)
    budgets, obj = [Budget("energy", 1.82027)], Objective("latency")
    rows, _ = best_per_value(MODEL, layers, SPACE, obj, budgets, knobs="glb_kib", method=method)
    row = rows[0]
    ties = np.flatnonzero(np.asarray(obj.of(metrics)) == row.best.objective_value)
    assert len(ties) > 1  # the case has a tie
    _check(rows, metrics, obj, budgets)


@pytest.mark.parametrize("method", ["enumerate", "bound"])
def test_a_limit_so_small_every_ratio_overflows(method):
    """A budget limit like 1e-310 makes every worst ratio infinite: all designs tie on it, and each group's
    closest design is its least objective (found by a review: the search used to fail there)."""
    layers = _network(3)
    metrics = hwsearch._metrics(MODEL, layers, SPACE.table)
    budgets, obj = [Budget("area", 1e-310)], Objective("edap")
    rows, _ = best_per_value(MODEL, layers, SPACE, obj, budgets, knobs="glb_kib", method=method)
    assert not any(r.best.feasible for r in rows)
    _check(rows, metrics, obj, budgets)


def test_a_search_of_some_groups_evaluates_only_their_designs(monkeypatch):
    """The closest-design pass searches only the rows no design meets (``only``): no design of another
    group is evaluated, and each searched group's answer is the same as in a search of every group."""
    layers = _network(3)
    glb = SPACE.knob_indices(np.arange(len(SPACE)))[:, KNOBS.index("glb_kib")]
    groups = hwsearch.Groups(int(glb.max()) + 1, lambda idx: glb[idx])
    obj = Objective("latency")
    whole = hwsearch._branch_and_bound(MODEL, layers, SPACE, obj, (), groups)
    seen: list[np.ndarray] = []
    real = hwsearch._metrics

    def spy(model, lt, accels):
        seen.append(np.asarray(accels.glb_bytes) // 1024)
        return real(model, lt, accels)
    monkeypatch.setattr(hwsearch, "_metrics", spy)
    some = hwsearch._branch_and_bound(MODEL, layers, SPACE, obj, (), groups, only=[1])
    assert seen and set(np.concatenate(seen).tolist()) == {SPACE.knob_values["glb_kib"][1]}
    assert some[1].index == whole[1].index and some[1].objective_value == whole[1].objective_value
    assert all(some[g].index < 0 for g in range(groups.n) if g != 1)


def test_the_closest_pass_reuses_the_relaxation(monkeypatch):
    """A table with rows no design meets runs three passes (the search, the closest designs' least
    ratio, their ties); each slice of the space is relaxed once for all of them."""
    layers = _network(3)
    metrics = hwsearch._metrics(MODEL, layers, SPACE.table)
    calls: list[tuple[int, int]] = []
    real = hwsearch._Bounds._slice

    def spy(self, lo, hi):
        calls.append((lo, hi))
        return real(self, lo, hi)
    monkeypatch.setattr(hwsearch._Bounds, "_slice", spy)
    monkeypatch.setattr(hwsearch, "SLICE_DESIGNS", 60)  # several slices
    budgets = [Budget("latency", float(np.quantile(metrics["latency"], 0.02)))]
    rows, stats = best_per_value(MODEL, layers, SPACE, Objective("edap"), budgets, knobs="glb_kib",
                                 method="bound")
    assert any(not r.best.feasible for r in rows) and stats.closest_evaluated > 0
    assert len(calls) > 1 and len(calls) == len(set(calls))
    _check(rows, metrics, Objective("edap"), budgets)


def test_a_search_evaluates_each_design_once(monkeypatch):
    """The closest designs' passes ask again for designs the search evaluated: the model evaluates each
    design once per search (a design is its row of knob values), the counts printed are those
    evaluations, and the answers are enumeration's."""
    layers = _network(3)
    metrics = hwsearch._metrics(MODEL, layers, SPACE.table)
    rows_seen: list[np.ndarray] = []
    real = hwsearch._metrics

    def spy(model, lt, accels):
        rows_seen.append(np.stack([np.asarray(getattr(accels, k), dtype=np.float64) for k in
                                   ("pe_x", "pe_y", "rf_bytes", "dataflow", "glb_bytes", "glb_bw")], 1))
        return real(model, lt, accels)
    monkeypatch.setattr(hwsearch, "_metrics", spy)
    budgets = [Budget("latency", float(np.quantile(metrics["latency"], 0.02)))]
    rows, stats = best_per_value(MODEL, layers, SPACE, Objective("edap"), budgets, knobs="glb_kib",
                                 method="bound")
    every = np.concatenate(rows_seen)
    assert any(not r.best.feasible for r in rows) and stats.closest_evaluated > 0
    assert len(every) == len(np.unique(every, axis=0)) == stats.evaluated + stats.closest_evaluated
    _check(rows, metrics, Objective("edap"), budgets)


@pytest.mark.parametrize("q", [0.3, 0.02, 0.0])
@pytest.mark.parametrize("knobs", ["glb_kib", "dataflow,glb_bw"])
def test_the_best_row_is_the_space_best(q, knobs):
    """``hdx cost --by`` reports the space's best design from its rows (one search for both): the best of
    the rows is enumeration's best of the whole space, where many, few or no designs meet the budget (then
    the closest: least worst ratio, then objective, then index)."""
    layers = _network(5)
    metrics = hwsearch._metrics(MODEL, layers, SPACE.table)
    limit = float(np.quantile(metrics["latency"], q)) * (1.0 if q else 0.5)
    budgets, obj = [Budget("latency", limit)], Objective("edap")
    rows, _ = best_per_value(MODEL, layers, SPACE, obj, budgets, knobs=knobs, method="bound")
    got = hwsearch.best_of_groups([r.best for r in rows], SPACE, obj, budgets, require=False)
    want = hwsearch.best_accelerator(MODEL, layers, SPACE, obj, budgets, require=False, method="enumerate")
    assert (got.choice.index, got.choice.feasible) == (want.choice.index, want.choice.feasible)
    assert got.choice.feasible == (q > 0)
    if not q:
        with pytest.raises(HDXError, match="no accelerator of space 't' meets latency"):
            hwsearch.best_of_groups([r.best for r in rows], SPACE, obj, budgets)
