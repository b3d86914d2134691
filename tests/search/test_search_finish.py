"""Ground-truth finish: minimum achievable budgets (vs brute force on a small space), exhaustive
accelerator choice under budgets, budget re-check, evaluator compatibility."""

from __future__ import annotations

import numpy as np
import pytest

from hdx.budgets import parse_budgets
from hdx.cost.feasibility import choose_accelerator
from hdx.errors import HDXError
from hdx.metrics import Objective
from hdx.search.finish import (
    design_record,
    ensure_compatible,
    exhaustive_optimal,
    min_achievable,
    require_achievable,
)


@pytest.fixture(scope="module")
def setup(small_setup):
    return small_setup


def test_min_per_accel_matches_brute_force(setup, all_archs):
    space, grid, table = setup
    archs = all_archs(space)
    assert len(archs) == space.size
    m = table.network(archs)  # [N, A]
    for metric in ("latency", "energy", "area"):
        got, arg = table.min_per_accel(metric)
        np.testing.assert_allclose(got, m[metric].min(0), rtol=1e-12)
        if metric != "area":  # the argmin architecture reaches the minimum on its accelerator
            for a in (0, len(grid) - 1):
                np.testing.assert_allclose(table.network(arg[a][None])[metric][0, a], got[a], rtol=1e-12)


def test_single_budget_detection_vs_brute_force(setup, all_archs):
    space, grid, table = setup
    m = table.network(all_archs(space))
    for metric, unit in (("latency", "ms"), ("energy", "mJ"), ("area", "mm2")):
        lo = float(m[metric].min())
        below = parse_budgets([f"{metric}<={lo * 0.999}{unit}"])
        r = min_achievable(table, below, grid)
        assert not r.feasible and r.minima[metric] == pytest.approx(lo, rel=1e-12)
        assert f"{lo:.4g}" in r.message and "\n" not in r.message
        with pytest.raises(HDXError, match="below the minimum achievable"):
            require_achievable(table, below, grid)
        assert min_achievable(table, parse_budgets([f"{metric}<={lo * 1.001}{unit}"]), grid).feasible
        # a soft budget is never refused
        assert min_achievable(table, parse_budgets([f"{metric}<={lo * 0.5}{unit}:soft"]), grid).feasible


def test_joint_latency_area_detection_vs_brute_force(setup, all_archs):
    space, grid, table = setup
    m = table.network(all_archs(space))
    lat, area = m["latency"], m["area"]
    rng = np.random.default_rng(0)
    lat_qs = np.quantile(lat.min(0), [0.0, 0.2, 0.5, 0.9])
    area_qs = np.quantile(area[0], [0.0, 0.1, 0.5, 1.0])
    seen = set()
    for t_lat in lat_qs * rng.uniform(0.98, 1.02, 4):
        for t_area in area_qs * rng.uniform(0.99, 1.01, 4):
            truth = bool(np.any((lat <= t_lat) & (area <= t_area)))  # any (network, accelerator) pair
            r = min_achievable(table, parse_budgets([f"latency<={t_lat}ms", f"area<={t_area}mm2"]), grid)
            assert r.feasible == truth
            seen.add(truth)
    assert seen == {True, False}  # both outcomes exercised


def test_joint_message_names_the_conflict(setup):
    space, grid, table = setup
    lat_min, _ = table.min_per_accel("latency")
    area = table.area_um2.sum(-1) * 1e-6
    t_lat = float(lat_min.min()) * 1.0001  # only the fastest (largest) accelerator reaches it
    t_area = float(area.min()) * 1.0001  # only the smallest accelerator fits
    r = min_achievable(table, parse_budgets([f"latency<={t_lat}ms", f"area<={t_area}mm2"]), grid)
    assert not r.feasible and "cannot all be met" in r.message


def test_best_accelerator_under_budgets_vs_brute_force(setup, all_archs):
    space, grid, table = setup
    rng = np.random.default_rng(1)
    archs = all_archs(space)[rng.choice(space.size, 20, replace=False)]
    for op_idx in archs:
        m = table.network(op_idx[None])
        mm = {k: v[0] for k, v in m.items()}
        J = Objective("edap").of(mm)
        t = float(np.quantile(mm["latency"], 0.3))
        b = parse_budgets([f"latency<={t}ms"])
        c = choose_accelerator(mm, Objective("edap"), b)
        feas = np.flatnonzero(mm["latency"] <= t)
        assert c.feasible and c.index == feas[np.argmin(J[feas])] and c.n_feasible == len(feas)
        chk = design_record(mm, c.index, b, grid)
        assert chk.feasible and chk.budgets[0].slack >= 0 and chk.budgets[0].met
        # unconstrained = the exhaustive optimum
        assert choose_accelerator(mm, Objective("edap"), []).index == int(np.argmin(J))
        best = exhaustive_optimal(table, op_idx[None], Objective("edap"))["accel_index"][0]
        assert best == int(np.argmin(J))
        # impossible budget: infeasible, closest design returned, never reported as met
        tight = parse_budgets([f"latency<={mm['latency'].min() * 0.9}ms"])
        c2 = choose_accelerator(mm, Objective("edap"), tight)
        assert not c2.feasible and c2.index == int(np.argmin(mm["latency"])) and c2.n_feasible == 0
        assert not design_record(mm, c2.index, tight, grid).feasible
        # soft budgets do not restrict the choice
        soft = parse_budgets([f"latency<={t}ms:soft"])
        assert choose_accelerator(mm, Objective("edap"), soft).index == int(np.argmin(J))


def test_evaluator_compatibility(setup):
    _, _, table = setup

    class E:
        space_name, grid_name, model_fingerprint = table.space_name, table.grid_name, table.model_fingerprint

    ensure_compatible(E(), table)
    for attr in ("space_name", "grid_name", "model_fingerprint"):
        e = E()
        setattr(e, attr, "other")
        with pytest.raises(HDXError, match="built for another"):
            ensure_compatible(e, table)
