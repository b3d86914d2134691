"""One vocabulary (issue #9): the objective's single reference, weights, feasibility, the method
policies, the BudgetGuard, typed records, key=value overrides and the Python API."""

from __future__ import annotations

import importlib
import json
import types

import numpy as np
import pytest
import torch

import hdx
from hdx import api
from hdx.budgets import Budget, parse_budgets
from hdx.cli.main import main
from hdx.config import parse_overrides, with_overrides
from hdx.cost.feasibility import choose_accelerator, constrained_min, explain_infeasible, feasible_mask
from hdx.errors import HDXError
from hdx.metrics import METRICS, Objective, parse_weights
from hdx.search.config import SearchConfig, load_search_config
from hdx.search.guard import POLICIES, BudgetGuard
from hdx.search.manipulation import manipulate
from hdx.search.records import SCHEMA_VERSION, EpochRecord, SearchFinal, StepRecord

ARCH = "mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3"


# ----- metrics and the one reference -------------------------------------------------------------------
def test_reference_is_the_grid_median_of_the_mean_network_by_brute_force(small_setup, all_archs):
    space, grid, table = small_setup
    m = table.network(all_archs(space))  # every network of the space [N, A]
    # uniform probabilities over each position's allowed ops: the expected cost is the plain mean over
    # all networks of the space (all_archs enumerates exactly the allowed ops per position)
    ref = table.reference()
    for k in METRICS:
        assert ref[k] == pytest.approx(float(np.median(m[k].mean(0))), rel=1e-12)
    obj = table.objective("weighted", {"latency": 1, "energy": 2})
    assert obj.coefficients == pytest.approx({"latency": 1 / ref["latency"], "energy": 2 / ref["energy"]})


def test_parse_weights():
    assert parse_weights("latency=1,energy=0") == {"latency": 1.0, "energy": 0.0}
    assert parse_weights(" area : 2 ") == {"area": 2.0}
    assert parse_weights(None) is None and parse_weights("") is None
    for bad, needle in (("latency=1ms", "malformed"), ("speed=1", "unknown metric"), ("latency=-1", ">= 0"),
                        ("latency=0", "at least one > 0"), ("latency=1,latency=2", "twice")):
        with pytest.raises(HDXError, match=needle):
            parse_weights(bad)


# ----- feasibility -------------------------------------------------------------------------------------
def test_feasibility_core_vs_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(50):
        m = {k: rng.uniform(0.5, 2.0, 12) for k in METRICS}
        b = [Budget("latency", float(rng.uniform(0.6, 1.5))), Budget("area", float(rng.uniform(0.6, 1.5))),
             Budget("energy", 0.7, "soft")]
        ok = (m["latency"] <= b[0].limit) & (m["area"] <= b[1].limit)  # soft budgets never restrict
        assert np.array_equal(feasible_mask(m, b), ok)
        c = choose_accelerator(m, Objective("energy"), b)
        assert c.n_feasible == ok.sum() and c.feasible == ok.any()
        if ok.any():
            assert c.index == np.flatnonzero(ok)[np.argmin(m["energy"][ok])]
        else:
            worst = np.maximum(m["latency"] / b[0].limit, m["area"] / b[1].limit)
            assert c.index == int(np.argmin(worst))
            assert "infeasible" in explain_infeasible(m, b)
        assert [k.met for k in c.checks] == [bool(m[x.metric][c.index] <= x.limit) for x in b]
        v, i, constrained = constrained_min(m, b, "latency")
        others = m["area"] <= b[1].limit
        assert constrained == others.any()
        if others.any():
            assert v == m["latency"][others].min()


# ----- method policies and the guard -------------------------------------------------------------------
def test_method_policies():
    b = parse_budgets("latency<=2ms, area<=1.5mm2, energy<=1mJ:soft")
    assert [x.text() for x in POLICIES["hdx"].guarded_budgets(b)] == ["latency<=2ms", "area<=1.5mm2"]
    assert [x.metric for x in POLICIES["hdx"].penalised_budgets(b)] == ["energy"]
    assert POLICIES["dance"].guarded_budgets(b) == [] and POLICIES["dance"].penalised_budgets(b) == b
    assert not POLICIES["nas-then-hw"].cost_term and POLICIES["nas-then-hw"].penalised_budgets(b) == []
    assert set(POLICIES) == set(SearchConfig.model_fields["method"].annotation.__args__)


def test_guard_targets_correction_and_state(small_setup, all_archs):
    space, grid, table = small_setup
    b = parse_budgets(["latency<=0.5ms", "area<=0.3mm2"])
    g = BudgetGuard(b, table, delta0=0.1, w=1.5, delta_max=1.0)
    assert [x.metric for x in g.steered] == ["latency"]
    idx = all_archs(space)[7]
    gt = table.arch_metrics(idx)
    # target by hand: T · min(1, pred / gt_min over the accelerators meeting the area budget)
    ok = gt["area"] <= 0.3
    gt_min = gt["latency"][ok].min()
    g.retarget(idx, {"latency": 0.5 * gt_min, "energy": 1.0, "area": 1.0})
    assert g.targets[0] == pytest.approx(0.5 * 0.5)
    g.retarget(idx, {"latency": 3.0 * gt_min, "energy": 1.0, "area": 1.0})
    assert g.targets[0] == pytest.approx(0.5)  # never loosened
    g.tighten({"latency": 0.6, "energy": 0.0, "area": 0.0})
    assert g.tight[0] == pytest.approx(0.97)
    # the correction: violated → the step taken descends log t at rate ≥ δ; the target decides only
    # whether it fires (∇ log(t/T) does not depend on T)
    alpha = torch.zeros(3, requires_grad=True)
    lat = torch.exp(alpha @ torch.tensor([1.0, -2.0, 0.5]))
    d = torch.tensor([0.0, 1.0, 0.0])  # ascends latency
    d1, info = g.correct(d, {"latency": lat}, {"latency": 10.0}, alpha)
    gl = torch.tensor([1.0, -2.0, 0.5])  # ∇ log t
    assert info.violated == [True] and info.fired and float(d1 @ gl) >= 0.1 - 1e-9
    ref = manipulate(d, [gl], np.array([0.1]), [True]).direction
    assert torch.allclose(d1, ref)
    assert g.delta.delta[0] == pytest.approx(0.15)  # δ grew ×w on the violating step
    d2, info2 = g.correct(d, {"latency": lat}, {"latency": 1e-6}, alpha)  # met: untouched
    assert info2.violated == [False] and not info2.fired and torch.equal(d2, d)
    g2 = BudgetGuard(b, table, delta0=0.1, w=1.5, delta_max=1.0)
    g2.load_state_dict(json.loads(json.dumps(g.state_dict())))
    assert g2.state_dict() == g.state_dict()


# ----- records -----------------------------------------------------------------------------------------
def test_records_round_trip_and_refuse_unknown_keys(tmp_path):
    step = StepRecord(phase="search", epoch=1, step=3, ce=2.3, pred={"latency": 1.0},
                      pred_argmax={"latency": 1.1}, budgets={"latency": {"value": 1.1, "slack": 0.1}},
                      fired=True, verified=True, delta=[0.1], violated=[True], targets=[1.0])
    assert StepRecord.from_json(json.dumps(step.to_json())) == step
    e = EpochRecord(epoch=0, train_ce=2.0, arch=ARCH)
    assert EpochRecord.from_json(e.to_json()) == e
    with pytest.raises(HDXError, match="field 'surprise'"):
        StepRecord.from_json({**step.to_json(), "surprise": 1})
    with pytest.raises(HDXError, match="not valid JSON"):
        SearchFinal.from_json("{NaN")


# ----- overrides and the API ---------------------------------------------------------------------------
def test_every_search_config_field_can_be_overridden():
    base = load_search_config()
    for name in SearchConfig.model_fields:
        value = getattr(base, name)
        text = json.dumps(value)  # JSON is YAML: the value's own text form
        got = parse_overrides([f"{name}={text}"], SearchConfig)
        assert got == {name: value}
        assert getattr(with_overrides(base, got), name) == value
    got = parse_overrides(["epochs=12", "subset=null", "budgets=[latency<=2ms, area<=1.7mm2]",
                           "weights={latency: 1, energy: 2}", "warmup-epochs=3"], SearchConfig)
    assert got == {"epochs": 12, "subset": None, "budgets": ["latency<=2ms", "area<=1.7mm2"],
                   "weights": {"latency": 1, "energy": 2}, "warmup_epochs": 3}
    cfg = with_overrides(base, got)
    assert cfg.epochs == 12 and cfg.subset is None and cfg.warmup_epochs == 3
    bad_cases = (("epoch=3", "did you mean epochs"), ("epochs", "key=value"), ("seed=[1", "malformed"))
    for bad, needle in bad_cases:
        with pytest.raises(HDXError, match=needle):
            parse_overrides([bad], SearchConfig)
    with pytest.raises(HDXError, match="twice"):
        parse_overrides(["seed=1", "seed=2"], SearchConfig)
    with pytest.raises(HDXError, match="epochs"):
        with_overrides(base, {"epochs": 0})


def test_cli_key_value_overrides_reach_the_run_config(tmp_path, capsys, tiny_config):
    from hdx.config import read_yaml

    conf = tiny_config(tmp_path, epochs=2, recheck_rounds=0)
    rc = main(["search", "--config", str(conf), "--no-budget", "hw_lambda=0.3", "delta0=0.07", "seed=5",
               "arch_every=2", "--out", str(tmp_path / "run")])
    assert rc == 0, capsys.readouterr().err
    saved = read_yaml(tmp_path / "run" / "config.yaml")
    assert (saved["hw_lambda"], saved["delta0"], saved["seed"], saved["arch_every"]) == (0.3, 0.07, 5, 2)
    final = SearchFinal.read(tmp_path / "run")
    assert final.schema_version == SCHEMA_VERSION and final.budgets == []
    assert SearchFinal.from_json(json.loads((tmp_path / "run" / "final.json").read_text())) == final
    for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines():
        rec = json.loads(line)
        (EpochRecord if rec["phase"] == "epoch" else StepRecord).from_json(rec)  # every line is typed


def test_cost_budget_grammars_agree(capsys):
    def best(*args):
        assert main(["cost", "--arch", ARCH, *args, "--json"]) == 0
        return json.loads(capsys.readouterr().out)["best"]

    a = best("--budget", "latency<=2ms", "--budget", "energy<=0.8mJ")
    b = best("--budget", "latency=2,energy=0.8")
    c = best("--budget", "latency<=2000us, energy<=800uJ")
    assert a["accelerator"] == b["accelerator"] == c["accelerator"]
    assert a["budgets"] == ["latency<=2ms", "energy<=0.8mJ"] and a["feasible"] is True
    assert best("--budget", "latency=4,area=1.7")["area_mm2"] <= 1.7
    api = hdx.best_accelerator(arch=ARCH, budgets=[Budget("latency", 2.0), Budget("energy", 0.8)])
    assert str(api.accelerator) == a["accelerator"] and api.choice.n_feasible == a["n_feasible"]


def test_python_api_matches_the_cli(capsys):
    r = api.cost(arch=ARCH, accel="16x16,rf=16,df=ws")
    assert main(["cost", "--arch", ARCH, "--accel", "16x16,rf=16,df=ws", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(r.to_dict()))
    assert r.total["latency_ms"] == pytest.approx(sum(x["latency_ms"] for x in r.layers))
    # hdx.api is the facade (also reachable from `import hdx`); hdx.search / hdx.train / hdx.cost are
    # plain packages, whatever was imported before
    importlib.import_module("hdx.search.loop")
    assert hdx.api is api and hdx.best_accelerator is api.best_accelerator
    assert all(isinstance(m, types.ModuleType) for m in (hdx.search, hdx.train, hdx.cost))
    with pytest.raises(HDXError, match="epochs"):
        api.search(epochs=0)
    w = hdx.best_accelerator(arch=ARCH, objective="weighted", weights={"latency": 1, "energy": 1})
    lat = hdx.best_accelerator(arch=ARCH, objective="latency")
    assert w.choice.metrics["latency"] >= lat.choice.metrics["latency"]
