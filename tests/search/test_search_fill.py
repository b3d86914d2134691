"""The budget fill (hdx.search.fill): the containment order of ops (hand-written), the greedy growth
against brute force on a small space with a closed-form cost model (feasible end, maximal, only larger
ops, most probable move first), the mode rule, the records and the sweep summary's slack."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hdx.budgets import parse_budgets
from hdx.cost.feasibility import choose_accelerator, feasible_mask
from hdx.metrics import Objective
from hdx.search.config import SearchConfig
from hdx.search.fill import budget_usage, grow_to_budgets, growth_order, op_macs, resolve_mode

EDAP = Objective("edap")


def test_growth_order_by_hand():
    names = ["mb3e3", "mb3e6", "mb5e3", "mb7e6", "zero", "mb5e6"]
    g = growth_order(names)
    larger = {a: {names[j] for j in np.flatnonzero(g[i])} for i, a in enumerate(names)}
    assert larger == {
        "zero": {"mb3e3", "mb3e6", "mb5e3", "mb7e6", "mb5e6"},
        "mb3e3": {"mb3e6", "mb5e3", "mb7e6", "mb5e6"},
        "mb3e6": {"mb7e6", "mb5e6"},  # not mb5e3: fewer channels
        "mb5e3": {"mb7e6", "mb5e6"},  # not mb3e6: smaller kernel
        "mb5e6": {"mb7e6"},
        "mb7e6": set(),
    }


def test_growth_order_is_a_strict_partial_order():
    names = ["mb3e3", "mb3e6", "mb5e3", "mb5e6", "mb7e3", "mb7e6", "zero", "mb1e1", "mb9e2"]
    g = growth_order(names)
    assert not g.diagonal().any() and not (g & g.T).any()  # irreflexive, antisymmetric
    assert not ((g.astype(int) @ g.astype(int) > 0) & ~g).any()  # transitive


def _latency_range(table, space, all_archs):
    lat = table.network(all_archs(space))["latency"].min(1)  # each network on its fastest accelerator
    return float(lat.min()), float(lat.max())


def _feasible(table, idx, budgets) -> bool:
    return bool(feasible_mask(table.arch_metrics(idx), budgets).any())


def _usage(table, idx, budgets) -> float:
    """Independent u: over every accelerator meeting the area budgets, the smallest worst ratio t/T of
    the latency/energy budgets (a plain loop)."""
    m = table.arch_metrics(idx)
    best = np.inf
    for a in range(table.num_accels):
        if all(m["area"][a] <= b.limit for b in budgets if b.hard and b.metric == "area"):
            best = min(best, max([m[b.metric][a] / b.limit for b in budgets
                                  if b.hard and b.metric != "area"], default=0.0))
    return best


def _macs(space, idx) -> int:
    return space.macs(space.decode(idx))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), q=st.floats(0.02, 1.2), with_area=st.booleans())
def test_growth_against_brute_force(small_setup, all_archs, seed, q, with_area):
    space, grid, table = small_setup
    rng = np.random.default_rng(seed)
    lo, hi = _latency_range(table, space, all_archs)
    texts = [f"latency<={lo + q * (hi - lo):.9g}ms"]
    if with_area:
        texts.append(f"area<={float(np.quantile(table.area_mm2, rng.uniform(0.3, 1.0))):.9g}mm2")
    budgets = parse_budgets(texts)
    start = space.sample_indices(rng, 1)[0]
    probs = rng.dirichlet(np.ones(space.num_ops), size=space.num_positions) * table.allowed_mask
    probs /= probs.sum(1, keepdims=True)
    order = growth_order(space.op_names)
    g = grow_to_budgets(start, probs, table, budgets, EDAP, order, op_macs(small_setup[0]))
    np.testing.assert_array_equal(g.start, start)
    if not _feasible(table, start, budgets):
        assert not g.moves and np.array_equal(g.end, start)  # a missed budget is never "filled"
        return
    assert _feasible(table, g.end, budgets)  # the hard guarantee: the result meets every hard budget
    cur = start.copy()
    for p, a, b, lr, dm, du in g.moves:
        assert cur[p] == a and order[a, b] and table.allowed_mask[p, b]  # one position, a larger op
        assert lr == pytest.approx(np.log(probs[p, b]) - np.log(probs[p, a]))
        nxt = cur.copy()
        nxt[p] = b
        assert dm == _macs(space, nxt) - _macs(space, cur) > 0
        assert du == pytest.approx(_usage(table, nxt, budgets) - _usage(table, cur, budgets), abs=1e-12)
        # the move taken has the best value per budget used among the feasible ones (brute force)
        best = -np.inf
        for pp in range(space.num_positions):
            for oo in range(space.num_ops):
                if order[cur[pp], oo] and table.allowed_mask[pp, oo]:
                    nb = cur.copy()
                    nb[pp] = oo
                    if _feasible(table, nb, budgets):
                        value = (_macs(space, nb) - _macs(space, cur)) * probs[pp, oo] / probs[pp, cur[pp]]
                        used = _usage(table, nb, budgets) - _usage(table, cur, budgets)
                        best = max(best, value / used if used > 0 else np.inf)
        taken = dm * np.exp(lr)
        assert (taken / du if du > 0 else np.inf) >= best * (1 - 1e-9)
        cur = nxt
        assert _feasible(table, cur, budgets)
    np.testing.assert_array_equal(cur, g.end)
    # maximal: no single larger op fits anywhere (brute force over every neighbour)
    for p in range(space.num_positions):
        for o in range(space.num_ops):
            if order[g.end[p], o] and table.allowed_mask[p, o]:
                nb = g.end.copy()
                nb[p] = o
                assert not _feasible(table, nb, budgets)


def test_budget_usage_by_hand():
    lat = {"latency": np.array([[1.0, 3.0, 2.0]]), "energy": np.array([[5.0, 1.0, 1.0]]),
           "area": np.array([[1.0, 1.0, 9.0]])}
    b = parse_budgets(["latency<=2ms", "energy<=2mJ", "area<=4mm2"])
    # accelerator 0: max(1/2, 5/2) = 2.5; 1: max(1.5, 0.5) = 1.5; 2 is over the area budget
    assert budget_usage(lat, b)[0] == pytest.approx(1.5)
    assert budget_usage(lat, parse_budgets(["area<=4mm2"]))[0] == 0.0
    assert budget_usage(lat, parse_budgets(["area<=0.5mm2"]))[0] == np.inf


def test_evidence_weighs_the_moves(small_setup, all_archs):
    """With every budget loose the fill ends at the largest op everywhere; raising the supernet's odds
    for one op 1000x never moves its change later, and moves some earlier."""
    space, _, table = small_setup
    L = space.num_positions
    order = growth_order(space.op_names)
    zero = space.op_names.index("zero")
    start = np.array([zero if table.allowed_mask[p, zero] else 0 for p in range(L)])
    top = _latency_range(table, space, all_archs)[1]
    budgets = parse_budgets([f"latency<={top * 2:.6g}ms"])  # everything fits
    flat = table.uniform_probs()

    def rank(g, p, o) -> int:
        return next((i for i, m in enumerate(g.moves) if m[:3] == (p, start[p], o)), len(g.moves))

    base = grow_to_budgets(start, flat, table, budgets, EDAP, order, op_macs(small_setup[0]))
    assert all(not (order[base.end[q]] & table.allowed_mask[q]).any() for q in range(L))
    earlier = 0
    for p in range(L):
        for o in np.flatnonzero(order[start[p]] & table.allowed_mask[p]):
            probs = flat.copy()
            probs[p, o] *= 1000.0
            probs /= probs.sum(1, keepdims=True)
            g = grow_to_budgets(start, probs, table, budgets, EDAP, order, op_macs(small_setup[0]))
            assert rank(g, p, o) <= rank(base, p, o)
            earlier += rank(g, p, o) < rank(base, p, o)
    assert earlier > 0


def test_nothing_to_fill_without_hard_budgets_or_when_missed(small_setup, all_archs):
    space, _, table = small_setup
    start = space.sample_indices(np.random.default_rng(0), 1)[0]
    probs = table.uniform_probs()
    order = growth_order(space.op_names)
    lo, hi = _latency_range(table, space, all_archs)
    for texts in ([], [f"latency<={lo:.6g}ms:soft"], [f"latency<={lo * 0.5:.6g}ms"]):
        g = grow_to_budgets(start, probs, table, parse_budgets(texts), EDAP, order, op_macs(small_setup[0]))
        assert not g.moves and np.array_equal(g.end, start) and g.stopped


def test_fill_uses_budget_and_never_exceeds_it(small_setup, all_archs):
    """On 200 random feasible starts and budgets the grown network is at least as slow as the start on
    its fastest accelerator, and still within the budget there and on its chosen design."""
    space, _, table = small_setup
    rng = np.random.default_rng(3)
    lo, hi = _latency_range(table, space, all_archs)
    order = growth_order(space.op_names)
    n = 0
    while n < 200:
        t = lo + rng.uniform(0.1, 0.9) * (hi - lo)
        b = parse_budgets([f"latency<={t:.9g}ms"])
        start = space.sample_indices(rng, 1)[0]
        if not _feasible(table, start, b):
            continue
        n += 1
        g = grow_to_budgets(start, table.uniform_probs(), table, b, EDAP, order, op_macs(small_setup[0]))
        before = table.arch_metrics(start)["latency"].min()
        after = table.arch_metrics(g.end)["latency"].min()
        assert before <= after <= t
        c = choose_accelerator(table.arch_metrics(g.end), EDAP, b)
        assert c.feasible and c.checks[0].slack >= 0


@pytest.mark.parametrize("kw,mode", [
    ({"hw_lambda": 0.0, "budgets": ["latency<=2ms"]}, "grow"),
    ({"hw_lambda": 0.02, "budgets": ["latency<=2ms"]}, "off"),
    ({"hw_lambda": 0.0, "budgets": ["latency<=2ms", "energy<=1mJ:soft"]}, "off"),
    ({"hw_lambda": 0.5, "budgets": ["latency<=2ms"], "fill": "grow"}, "grow"),
    ({"hw_lambda": 0.0, "budgets": ["latency<=2ms"], "fill": "off"}, "off"),
    ({"hw_lambda": 0.0, "budgets": ["latency<=p50", "area<=p1"]}, "grow"),  # relative budgets, as the sweep
    ({"hw_lambda": 0.0, "budgets": ["latency<=p50", "energy<=p20:soft"]}, "off"),
])
def test_mode_rule(kw, mode):
    assert resolve_mode(SearchConfig(**kw)) == mode


def test_fill_setting_is_validated():
    from hdx.config import validate
    from hdx.errors import HDXError

    with pytest.raises(HDXError, match="fill"):
        validate(SearchConfig, {"fill": "always"}, "search options")


def test_summary_slack_counts_only_runs_meeting_the_budget():
    from hdx.sweep.results import format_summary, summary
    from hdx.sweep.spec import SweepSpec

    spec = SweepSpec(name="s", base={}, axes={"seed": [0, 1, 2]}, variants=[])
    rows = [{"trial": f"t{i}", "status": st_, "seed": str(i), "budgets": "latency<=2ms", "slack": sl,
             "val_acc": 0.5} for i, (st_, sl) in enumerate([("feasible", 0.01), ("feasible", 0.07),
                                                             ("infeasible", -0.2)])]
    (g,) = summary(rows, spec)
    assert (g["met"], g["n"]) == (2, 3)
    assert g["median_slack"] == pytest.approx(0.04) and g["max_slack"] == pytest.approx(0.07)
    assert "4.0%" in format_summary(rows, spec) and "7.0%" in format_summary(rows, spec)


@pytest.fixture(scope="module")
def grow_and_off(tmp_path_factory, tiny_run, tiny_space):
    """The same tiny HDX search (fake data, λ 0, a median latency budget) with fill grow and fill off."""
    from hdx.config import validate
    from hdx.cost import get_cost_model
    from hdx.cost.table import CostTable
    from hdx.search.finish import exhaustive_optimal
    from hdx.search.records import SearchFinal
    from hdx.space import AcceleratorSpace, NetworkSpace
    from hdx.space.network import NetworkSpaceConfig

    space = NetworkSpace(validate(NetworkSpaceConfig, tiny_space, "tiny"))
    grid = AcceleratorSpace.load()
    table = CostTable.build(space, grid, get_cost_model("analytical", grid.hardware))
    lat = exhaustive_optimal(table, space.sample_indices(np.random.default_rng(0), 400), EDAP)["latency"]
    budget = f"latency<={float(np.quantile(lat, 0.5)):.6f}ms"
    folder = tmp_path_factory.mktemp("fill")
    out = {}
    for mode in ("grow", "off"):
        d = tiny_run(folder, mode, hw_lambda=0.0, fill=mode, budgets=[budget])
        out[mode] = (d, SearchFinal.read(d))
    return out


def test_fill_off_is_the_start_of_fill_grow(grow_and_off):
    """The fill is a pure finish: the search with fill=off ends with the design the fill starts from."""
    (_, g), (_, o) = grow_and_off["grow"], grow_and_off["off"]
    assert g.fill.mode == "grow" and o.fill.mode == "off" and not o.fill.applied
    assert o.arch == g.fill.start_arch == o.fill.start_arch
    assert o.accelerator == g.fill.start == o.fill.start
    assert o.fill.grown_arch == g.fill.grown_arch  # off still states what growing would give
    assert g.feasible and o.feasible
    assert g.arch == (g.fill.grown_arch if g.fill.applied else g.fill.start_arch)
    assert g.accelerator == g.fill.grown


def test_final_reports_slack_and_fill(grow_and_off, capsys):
    from hdx.cli.search import format_result
    from hdx.search.records import SearchFinal

    d, g = grow_and_off["grow"]
    raw = json.loads((d / "final.json").read_text())
    assert raw["slack"] == {b["budget"]: b["slack"] for b in raw["accelerator"]["budgets"]}
    (budget, slack), = raw["slack"].items()
    limit = float(budget.split("<=")[1].removesuffix("ms"))
    assert slack == pytest.approx((limit - raw["accelerator"]["metrics"]["latency"]) / limit)
    assert 0 <= slack <= g.fill.start.budgets[0].slack  # growing only uses the budget
    for m in g.fill.moves:  # every recorded step met the budget on the ground truth
        assert m.slack and all(v >= 0 for v in m.slack.values())
    # an older final.json (no slack, no fill) still parses and gets its slack from the design
    old = {k: v for k, v in raw.items() if k not in ("slack", "fill")}
    assert SearchFinal.from_json(old).slack == raw["slack"]
    text = format_result(g, d)
    assert f"slack {100 * slack:+.1f}%" in text and "fill" in text
    # the check line's command finds the run's accelerator again (here without ZigZag's part)
    import shlex
    from types import SimpleNamespace

    import yaml

    from hdx.api import cost

    assert f"check        {g.check_command()}" in text
    saved = yaml.safe_load((d / "config.yaml").read_text())  # the run's spaces as given (here YAML paths)
    given = SimpleNamespace(space=saved["space"], accel_space=saved["accel_space"])
    argv = shlex.split(g.check_command(given))
    assert argv[-2:] == ["--check", "zigzag"]
    opts = dict(zip(argv[2:-2:2], argv[3:-2:2], strict=True))
    budgets = [b for f, b in zip(argv[2::2], argv[3::2], strict=False) if f == "--budget"]
    again = cost(arch=opts["--arch"], space=opts["--space"], accel_space=opts["--accel-space"],
                 objective=opts["--objective"], budgets=budgets)
    assert again.accelerator == g.accelerator.accelerator


def test_fill_off_run_states_what_its_slack_bought(grow_and_off):
    from hdx.search.fill import fill_summary

    _, o = grow_and_off["off"]
    (line,) = fill_summary(o)
    assert o.fill.moves  # a median budget leaves room to grow in this space
    gain = 1 - o.fill.objective_start / o.fill.objective_grown
    assert f"{100 * gain:.1f}% lower edap" in line and o.fill.grown_arch in line and "fill off" in line
    # a grown network that would not cost more objective: the slack bought nothing, and it says so
    fill = o.fill.model_copy(update={"objective_grown": 0.5 * o.fill.objective_start})
    cheaper = o.model_copy(update={"fill": fill})
    (line,) = fill_summary(cheaper)
    assert "bought nothing in edap" in line
    # a run that grew says so, with the published finish's network
    (line,) = fill_summary(grow_and_off["grow"][1])
    assert line.startswith("grew the derived network") and grow_and_off["grow"][1].fill.start_arch in line
