"""Budgets relative to the space: ``latency<=p20`` parses, round-trips and resolves to the percentile of
the per-network best value (brute force on a small space: each random network on its EDAP-minimal
accelerator), in the search, in ``hdx cost`` and in a sweep's judge budgets."""

from __future__ import annotations

import numpy as np
import pytest

from hdx.api import cost
from hdx.budgets import Budget, RelativeBudget, parse_budget_spec, parse_budget_specs, parse_budgets
from hdx.cost.relative import SpaceDistribution, resolve
from hdx.errors import HDXError

ARCH = "mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3"


@pytest.mark.parametrize("text,metric,q,kind", [
    ("latency<=p20", "latency", 20.0, "hard"),
    ("energy <= P12.5:soft", "energy", 12.5, "soft"),
    ("area=p0", "area", 0.0, "hard"),
    ("latency<p100:HARD", "latency", 100.0, "hard"),
])
def test_parse_relative(text, metric, q, kind):
    b = parse_budget_spec(text)
    assert b == RelativeBudget(metric, q, kind)
    assert parse_budget_spec(b.text()) == b  # canonical text round-trips


@pytest.mark.parametrize("text,needle", [
    ("latency<=p150", "p0..p100"),
    ("latency<=p-1", "p0..p100"),
    ("power<=p20", "unknown metric"),
    ("latency<=p", "malformed"),
    ("latency<=p20:maybe", "suffix"),
])
def test_bad_relative_budgets_are_one_line(text, needle):
    with pytest.raises(HDXError) as e:
        parse_budget_spec(text)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_absolute_only_callers_refuse_a_relative_budget_and_duplicates_count_both_kinds():
    with pytest.raises(HDXError, match="relative to the space"):
        parse_budgets("latency<=p20")
    with pytest.raises(HDXError, match="two hard budgets on latency"):
        parse_budget_specs("latency<=p20, latency<=2ms")
    texts = [b.text() for b in parse_budget_specs("latency<=p20, area<=2mm2")]
    assert texts == ["latency<=p20", "area<=2mm2"]


def _brute_force(table, space, n, seed, metric):
    """Per sampled network: every accelerator's metrics, the EDAP-minimal one, its ``metric``."""
    idx = space.sample_indices(np.random.default_rng(seed), n)
    out = []
    for row in idx:
        m = table.arch_metrics(row)
        best = int(np.argmin(m["latency"] * m["energy"] * m["area"]))
        out.append(m[metric][best])
    return np.asarray(out)


@pytest.mark.parametrize("metric", ["latency", "energy", "area"])
def test_percentile_of_the_per_network_best_value_by_brute_force(small_setup, metric):
    space, grid, table = small_setup
    dist = SpaceDistribution(table, space, n=300, seed=1)  # 300 > the table's gather chunk
    truth = _brute_force(table, space, 300, 1, metric)
    for q in (0, 20, 50, 80, 100):
        assert dist.percentile(metric, q) == pytest.approx(float(np.quantile(truth, q / 100)), rel=1e-12)
    assert dist.percentile(metric, 0) == pytest.approx(truth.min()) and dist.percentile(metric, 100) == \
        pytest.approx(truth.max())


def test_resolve_keeps_absolute_budgets_and_says_what_each_relative_one_is(small_setup):
    space, grid, table = small_setup
    specs = parse_budget_specs("latency<=p30, area<=2mm2:soft")
    budgets, notes = resolve(specs, table, space)
    want = SpaceDistribution(table, space).percentile("latency", 30)
    assert budgets == [Budget("latency", want), Budget("area", 2.0, "soft")]
    assert len(notes) == 1 and notes[0].startswith(f"budget latency<=p30 is {budgets[0].text()}")
    assert resolve(parse_budget_specs("area<=2mm2"), table, space)[1] == []


def test_search_setup_resolves_and_reports_it(tiny_config, tmp_path):
    from hdx.search.config import load_search_config
    from hdx.search.loop import prepare

    cfg = load_search_config(str(tiny_config(tmp_path, budgets=["latency<=p50"], evaluator="oracle")))
    assert cfg.budgets == ["latency<=p50"]  # the config keeps the relative text
    setup = prepare(cfg)
    want = SpaceDistribution(setup.table, setup.space).percentile("latency", 50)
    assert setup.budgets == [Budget("latency", want)]
    assert any(n.startswith("budget latency<=p50 is latency<=") for n in setup.notes)


def test_hdx_cost_resolves_relative_budgets():
    r = cost(arch=ARCH, accel="grid", budgets="latency<=p50")
    assert len(r.notes) == 1 and r.best is not None
    (limit,) = [float(t.split("<=")[1].removesuffix("ms")) for t in r.best.budgets]
    assert r.best.choice.metrics["latency"] <= limit
    assert r.notes[0].startswith(f"budget latency<=p50 is {r.best.budgets[0]}")


def test_sweep_judges_with_the_resolved_budget(tiny_config, tmp_path):
    from hdx.search.config import load_search_config
    from hdx.sweep.results import _Judge
    from hdx.sweep.spec import SweepSpec

    assert SweepSpec(judge_budgets=["latency<=p50"]).judge_budgets == ["latency<=p50"]
    cfg = load_search_config(str(tiny_config(tmp_path)))
    judge = _Judge()
    space, table, dist = judge.setup(cfg)
    arch = space.arch_text(space.positions[i].ops[0] for i in range(space.num_positions))
    absolute = Budget("latency", dist.percentile("latency", 50))
    assert judge.check(cfg, arch, RelativeBudget("latency", 50)) == judge.check(cfg, arch, absolute)
