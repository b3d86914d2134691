"""The search of a whole accelerator space (hdx.cost.hwsearch) against enumeration, the independent truth:
branch and bound must return the enumerated optimum, under any objective and hard budgets, and its
bounds must never exceed the exact costs they bound."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hdx.budgets import Budget
from hdx.cost import hwsearch
from hdx.cost.analytical import AnalyticalModel
from hdx.cost.feasibility import feasible_mask
from hdx.cost.hwsearch import _Bounds, branch_and_bound, enumerate_space
from hdx.errors import HDXError
from hdx.metrics import Objective
from hdx.space.accelerator import Accelerator, AcceleratorSpace, AcceleratorSpaceConfig, AccelTable
from hdx.space.network import NetworkSpace
from hdx.workload import Layer, LayerTable

NET = NetworkSpace.load()


def _space(**knobs) -> AcceleratorSpace:
    base = dict(pe_x=[4, 8, 16], pe_y=[4, 12, 32], rf_bytes=[16, 64, 256], dataflow=["ws", "os", "rs"],
                glb_kib=[8, 32, 128, 1024], glb_bw=[4, 16, 64])
    return AcceleratorSpace(AcceleratorSpaceConfig(name="t", knobs={**base, **knobs}))


def _network(seed: int) -> LayerTable:
    rng = np.random.default_rng(seed)
    return LayerTable(NET.layers(NET.decode(NET.sample_indices(rng, 1)[0])))


@pytest.mark.parametrize("objective", ["edap", "latency", "energy", "area"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_branch_and_bound_returns_the_enumerated_optimum(objective, seed):
    space, model = _space(), AnalyticalModel(_space().hardware)
    layers = _network(seed)
    obj = Objective(objective)
    e = enumerate_space(model, layers, space, obj)
    b = branch_and_bound(model, layers, space, obj)
    assert b.objective_value == pytest.approx(e.objective_value, rel=1e-9)
    assert b.feasible and e.feasible
    assert b.stats.evaluated < len(space)  # it did prune


@pytest.mark.parametrize("seed", [3, 4, 5, 6])
def test_branch_and_bound_under_hard_budgets(seed):
    space = _space()
    model = AnalyticalModel(space.hardware)
    layers = _network(seed)
    m = hwsearch._metrics(model, layers, space.table)
    rng = np.random.default_rng(seed)
    lat = float(np.quantile(m["latency"], rng.uniform(0.05, 0.5)))
    area = float(np.quantile(m["area"], rng.uniform(0.2, 0.8)))
    budgets = [Budget("latency", lat), Budget("area", area)]
    e = enumerate_space(model, layers, space, Objective("edap"), budgets)
    b = branch_and_bound(model, layers, space, Objective("edap"), budgets)
    assert e.feasible == b.feasible
    if e.feasible:
        assert b.objective_value == pytest.approx(e.objective_value, rel=1e-9)
        assert b.metrics["latency"] <= lat and b.metrics["area"] <= area
        assert b.stats.pruned_budget > 0


def test_no_design_meets_the_budget_is_reported_not_invented():
    space = _space()
    model = AnalyticalModel(space.hardware)
    layers = _network(7)
    budgets = [Budget("latency", 1e-6)]
    b = branch_and_bound(model, layers, space, Objective("edap"), budgets)
    assert not b.feasible and b.index >= 0
    with pytest.raises(HDXError, match="no accelerator of space .t. meets latency<=1e-06ms: the closest"):
        hwsearch.require_found(b, space, budgets)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["ws", "os", "rs"]), st.integers(2, 40), st.integers(2, 40),
       st.sampled_from([8, 16, 32, 64, 256]))
def test_bounds_never_exceed_the_exact_costs(seed, df, x, y, rf):
    """For one core, the bounds of every memory option are at most its exact latency, energy and area."""
    space = _space(pe_x=[x], pe_y=[y], rf_bytes=[rf], dataflow=[df])
    model = AnalyticalModel(space.hardware)
    layers = _network(seed)
    idx, lb = _Bounds(model, layers, space).slice(0, 1)
    exact = hwsearch._metrics(model, layers, space.table_of(idx))
    for k in ("latency", "energy", "area"):
        assert np.all(lb[k] <= exact[k]), (k, lb[k] / exact[k])
        assert np.all(lb[k] > 0)


def test_mapping_bounds_are_below_the_chosen_mapping():
    space = _space()
    model = AnalyticalModel(space.hardware)
    layers = _network(8)
    acc = space.table
    b = model.mapping_bounds(layers, acc)
    c = model.evaluate(layers, acc)
    tol = 1 + 1e-5
    assert np.all(b["lb_cycles"] <= c.latency_cycles * tol)
    assert np.all(b["lb_glb_words"] <= c.mapping["glb_words"] * tol)
    assert np.all(b["lb_local_pj"] <= c.energy_pj["rf"] * tol)


def test_dram_words_are_the_models_own():
    # the GLB level of dram_tiles="free" is one schedule per (layer, GLB size): the bound is that
    # schedule's words; with the default (one per mapping candidate) it is a lower bound of every
    # chosen mapping's (tests/cost/test_joint_dram.py)
    space = _space()
    layers = _network(9)
    for tiles in ("free", "hold-array"):
        model = AnalyticalModel(space.hardware, dram_tiles=tiles)
        c = model.evaluate(layers, space.table)
        own = c.mapping["dram_w"] + c.mapping["dram_i"] + c.mapping["dram_o"]
        bound = model.dram_words(layers, space.table)
        if tiles == "free":
            np.testing.assert_allclose(bound, own, rtol=1e-5)
        else:
            assert np.all(bound <= own * (1 + 1e-5)) and np.any(bound < own * (1 - 1e-3))


def test_slices_cover_the_space_once(monkeypatch):
    """With tiny slices the search still sees every design exactly once (bounded + pruned + evaluated)."""
    monkeypatch.setattr(hwsearch, "SLICE_DESIGNS", 50)
    space = _space()
    model = AnalyticalModel(space.hardware)
    layers = _network(10)
    b = branch_and_bound(model, layers, space, Objective("edap"))
    e = enumerate_space(model, layers, space, Objective("edap"))
    assert b.stats.bounded == len(space)
    assert b.stats.pruned_budget + b.stats.pruned_bound + b.stats.evaluated == len(space)
    assert b.objective_value == pytest.approx(e.objective_value, rel=1e-9)


def test_glb_bandwidth_knob_prices_each_design():
    """A design's own bandwidth is its GLB's access width: the same as the template at that width."""
    space = _space()
    model = AnalyticalModel(space.hardware)
    layer = LayerTable([Layer("conv", c=32, k=64, h=16, w=16, r=3, s=3, padding=1)])
    for bw in (4, 16, 64):
        hw = space.hardware.model_copy(update={"glb_words_per_cycle": float(bw)})
        own = model.evaluate(layer, AccelTable.from_accels([Accelerator(8, 8, 64, "ws", 128, bw)]))
        tmpl = AnalyticalModel(hw).evaluate(layer, AccelTable.from_accels([Accelerator(8, 8, 64, "ws", 128)]))
        assert own.latency_cycles[0, 0] == tmpl.latency_cycles[0, 0]
        assert own.energy_total_pj[0, 0] == pytest.approx(tmpl.energy_total_pj[0, 0], rel=1e-12)
        assert float(np.sum(own.area_total_um2)) == pytest.approx(float(np.sum(tmpl.area_total_um2)))


def test_more_glb_bandwidth_never_slower():
    model = AnalyticalModel(_space().hardware)
    layers = _network(11)
    for df in ("ws", "os", "rs"):
        accs = [Accelerator(12, 8, 64, df, 64, bw) for bw in (1, 2, 4, 8, 16, 32, 64, 128)]
        lat = model.evaluate(layers, AccelTable.from_accels(accs)).latency_cycles.sum(0)
        assert np.all(lat[1:] <= lat[:-1] * (1 + 1e-6)), (df, lat)


@pytest.mark.parametrize("seed,with_budget", [(12, False), (13, True)])
def test_pareto_front_with_bounds_is_the_enumerated_front(seed, with_budget):
    space = _space()
    model = AnalyticalModel(space.hardware)
    layers = _network(seed)
    m = hwsearch._metrics(model, layers, space.table)
    budgets = [Budget("latency", float(np.quantile(m["latency"], 0.3)))] if with_budget else []
    f = hwsearch.pareto_front(model, layers, space, budgets)
    ok = feasible_mask(m, budgets)
    pts = np.stack([m[k] for k in ("latency", "energy", "area")], 1)
    idx = np.nonzero(ok)[0]
    truth = idx[hwsearch._nondominated(pts[ok])]
    assert set(f.index.tolist()) == set(truth.tolist())
    assert f.stats.evaluated < len(space)
    # every front design: no other feasible design is at least as good in all three metrics and better in one
    for j in f.index[:20]:
        p = pts[j]
        better = ok & (pts <= p).all(1) & (pts < p).any(1)
        assert not better.any()


def test_nondominated_against_brute_force():
    rng = np.random.default_rng(0)
    p = np.round(rng.uniform(size=(700, 3)), 2)  # ties included
    keep = hwsearch._nondominated(p)
    for i in range(len(p)):
        dominated = ((p <= p[i]).all(1) & (p < p[i]).any(1)).any()
        dup_before = ((p == p[i]).all(1) & (np.arange(len(p)) != i)).any()
        if dominated:
            assert not keep[i]
        elif not dup_before:
            assert keep[i]
    assert len(np.unique(p[keep], axis=0)) == keep.sum()


@pytest.mark.parametrize("seed", [7, 8])
def test_branch_and_bound_with_storage_per_operand(seed):
    # the pads are part of a design's core (relaxed like the array); the memories stay the relaxation
    base = dict(pe_x=[4, 16], pe_y=[8, 32], pad_w=[16, 128], pad_i=[4, 32], pad_o=[4, 32],
                dataflow=["ws", "os", "rs"], glb_kib=[8, 128, 1024], glb_bw=[4, 64])
    space = AcceleratorSpace(AcceleratorSpaceConfig(name="pads", knobs=base))
    model = AnalyticalModel(space.hardware)
    layers = _network(seed)
    m = hwsearch._metrics(model, layers, space.table)
    budgets = [Budget("latency", float(np.quantile(m["latency"], 0.3)))]
    e = enumerate_space(model, layers, space, Objective("edap"), budgets)
    b = branch_and_bound(model, layers, space, Objective("edap"), budgets)
    assert b.feasible and e.feasible
    assert b.objective_value == pytest.approx(e.objective_value, rel=1e-9)
    assert space[b.index].pads is not None and b.stats.evaluated < len(space)


@pytest.mark.parametrize("options", [{"glb_buffering": "mixed"}, {"glb_buffering": "zigzag"},
                                     {"glb_reuse": "tile"}])
def test_branch_and_bound_under_the_searched_glb_options(options, seed=7):
    # glb_buffering "mixed" and "zigzag" are monotone in the memories (zigzag: each mapping's candidate
    # schedules of a smaller GLB are matched on a bigger one), and so is glb_reuse "tile" (each cap's
    # schedule only gains with a bigger GLB, its penalty counted at the cap): their bounds prune, stay
    # below their exact costs and find the enumerated optimum
    space = _space(pe_x=[4, 16], pe_y=[4, 32], rf_bytes=[16, 256])
    layers = _network(seed)
    model = AnalyticalModel(space.hardware, **options)
    e = enumerate_space(model, layers, space, Objective("edap"))
    b = branch_and_bound(model, layers, space, Objective("edap"))
    assert b.objective_value == pytest.approx(e.objective_value, rel=1e-9)
    bounds = _Bounds(model, layers, space)
    idx, lb = bounds.slice(0, len(space) // bounds.n_mem)  # every core
    exact = hwsearch._metrics(model, layers, space.table_of(idx))
    for k in ("latency", "energy", "area"):
        assert np.all(lb[k] <= exact[k]), (k, lb[k] / exact[k])


def test_exact_metrics_are_kept_once_per_design():
    """A search's store of evaluated designs (``_Exact``): batches that overlap earlier ones return each
    design's metrics as the model gives them, evaluate only the designs not seen before, and keep a few
    sorted runs (each at most half the one before), however the batches fall."""
    space = _space()
    model = AnalyticalModel(space.hardware)
    layers = _network(1)
    direct = hwsearch._metrics(model, layers, space.table)
    exact = hwsearch._Exact(model, layers, space)
    rng = np.random.default_rng(0)
    seen: set[int] = set()
    for _ in range(40):
        idx = rng.choice(len(space), size=int(rng.integers(1, 40)), replace=False)
        got, n_new = exact(idx)
        assert n_new == len(set(idx.tolist()) - seen)
        seen |= set(idx.tolist())
        for k, v in direct.items():
            np.testing.assert_array_equal(got[k], np.broadcast_to(v, (len(space),))[idx])
        sizes = [r[0].size for r in exact.runs]
        assert all(2 * b <= a for a, b in zip(sizes, sizes[1:], strict=False))
        assert sum(sizes) == len(seen)
    assert len(exact.runs) > 1  # (the runs merged, and some stayed apart)
