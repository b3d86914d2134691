"""A second model's opinion of chosen designs (hdx.cost.second_opinion, ``hdx cost --check``): network totals
against the model's own whole-table evaluation, the best design and budget verdicts by hand, errors kept per
design, and the check through the API and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hdx.budgets import parse_budget
from hdx.cost.analytical import AnalyticalModel
from hdx.cost.second_opinion import rank_correlation, second_opinion
from hdx.errors import HDXError
from hdx.metrics import Objective, cycles_to_ms, pj_to_mj, um2_to_mm2
from hdx.space.accelerator import Accelerator, AccelTable, HardwareParams
from hdx.space.network import NetworkSpace
from hdx.workload import LayerTable

NET = NetworkSpace.load()
ARCH = "mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3"
LAYERS = LayerTable(NET.layers(NET.parse_arch(ARCH)))  # repeated shapes: totals must count each
DESIGNS = [Accelerator(16, 16, 64, "rs"), Accelerator(8, 8, 16, "ws", glb_kib=32),
           Accelerator(32, 8, 128, "os"), Accelerator(4, 4, 16, "os", glb_kib=16)]
MODEL = AnalyticalModel(HardwareParams())


def test_totals_objective_and_best_against_the_whole_table():
    full = MODEL.evaluate(LAYERS, AccelTable.from_accels(DESIGNS))  # every layer, not only distinct ones
    lat = cycles_to_ms(full.latency_cycles.sum(0), full.clock_mhz)
    en = pj_to_mj(full.energy_total_pj.sum(0))
    area = um2_to_mm2(np.asarray(full.area_total_um2))
    limit = float(np.sort(lat)[2])  # the two fastest designs miss a budget between them and the third
    budget = parse_budget(f"latency<={0.999 * limit}ms")
    op = second_opinion(MODEL, LAYERS, DESIGNS, Objective("edap"), [budget], first_objective=lat * en * area)
    np.testing.assert_allclose(op.metrics["latency"], lat, rtol=1e-9)
    np.testing.assert_allclose(op.metrics["energy"], en, rtol=1e-9)
    np.testing.assert_allclose(op.metrics["area"], area, rtol=1e-9)
    np.testing.assert_allclose(op.objective, lat * en * area, rtol=1e-9)
    assert list(op.feasible) == list(lat < 0.999 * limit) and op.feasible.sum() == 2
    ok = np.flatnonzero(lat < 0.999 * limit)
    assert op.best == int(ok[np.argmin((lat * en * area)[ok])])
    assert op.rank_correlation == pytest.approx(1.0)  # the same model: the same ranking
    d = op.to_dict(first_best=op.best)
    assert d["agrees"] is True and d["best"] == str(DESIGNS[op.best]) and len(d["designs"]) == len(DESIGNS)


class _Failing:
    """A model that cannot cost designs with a 16 KiB GLB (as ZigZag when no mapping fits its memories)."""

    name = label = "failing"

    def evaluate(self, layers, accels, mapping=True):
        if accels.accelerator(0).glb_kib == 16:
            raise HDXError("failing: no loop ordering fits the memories")
        return MODEL.evaluate(layers, accels, mapping=mapping)


def test_a_design_the_model_cannot_cost_is_reported_not_fatal():
    op = second_opinion(_Failing(), LAYERS, DESIGNS, Objective("edap"), first_objective=[1.0, 2.0, 3.0, 4.0])
    assert op.errors[3] and all(e is None for e in op.errors[:3])
    assert not op.feasible[3] and op.best is not None and op.best != 3
    d = op.to_dict()
    assert d["designs"][3]["latency_ms"] is None and d["designs"][3]["error"].startswith("failing")
    json.dumps(d, allow_nan=False)  # no NaN in the record


def test_rank_correlation():
    assert rank_correlation([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert rank_correlation([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert rank_correlation([1, 2], [1, 2]) is None and rank_correlation([1, 2, 3], [5, 5, 5]) is None


def test_check_needs_the_grid_and_a_known_model():
    from hdx.api import cost

    with pytest.raises(HDXError, match="use it with accel='grid'"):
        cost(arch=ARCH, accel="16x16,rf=16,df=ws", check="zigzag")
    with pytest.raises(HDXError, match="unknown check 'timeloop': use one of zigzag"):
        cost(arch=ARCH, check="timeloop")


def test_cli_unknown_check_is_one_line(capsys):
    from hdx.cli.main import main

    rc = main(["cost", "--arch", ARCH, "--check", "timeloop"])
    err = capsys.readouterr().err
    assert rc == 2 and "unknown check" in err and err.count("\n") == 1


@pytest.mark.zigzag
def test_cli_check_zigzag_on_a_sizing_table(capsys, tmp_path):
    """Each row's design costed by ZigZag equals ``hdx cost --backend zigzag`` on that design."""
    pytest.importorskip("zigzag", reason="zigzag-dse not installed (pip install 'hdx[zigzag]')")
    from hdx.cli.main import main

    space = tmp_path / "s.yaml"
    space.write_text("name: s\nknobs:\n  pe_x: [8, 16]\n  pe_y: [8]\n  rf_bytes: [64]\n  dataflow: [os, rs]\n"
                     "  glb_kib: [32, 128]\n")
    rc = main(["cost", "--arch", ARCH, "--accel-space", str(space), "--by", "glb_kib", "--check", "zigzag",
               "--json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    d = json.loads(out.out)
    c = d["check"]
    assert [x["accelerator"] for x in c["designs"]] == [r["accelerator"] for r in d["by"]]
    assert c["model"] == "zigzag (best of LOMA and HDX's mapping)" and isinstance(c["agrees"], bool)
    for x in c["designs"]:
        rc = main(["cost", "--arch", ARCH, "--accel-space", str(space), "--accel", x["accelerator"],
                   "--backend", "zigzag", "--json"])
        one = json.loads(capsys.readouterr().out)
        assert rc == 0 and x["latency_ms"] == pytest.approx(one["total"]["latency_ms"], rel=1e-9)
        assert x["energy_mj"] == pytest.approx(one["total"]["energy_pj"] * 1e-9, rel=1e-9)


def test_check_top_is_the_grids_best_designs_in_order(monkeypatch):
    """With the first model as its own second opinion (check_model patched): the checked designs are the
    grid's K best meeting the budgets, best first, as enumeration ranks them; the opinion agrees."""
    from hdx import api
    from hdx.cost import second_opinion as so
    from hdx.cost.feasibility import feasible_mask
    from hdx.cost.grid import evaluate_grid
    from hdx.space.accelerator import AcceleratorSpace

    monkeypatch.setattr(so, "check_model", lambda name, hw: AnalyticalModel(hw))
    r = api.cost(arch=ARCH, budgets=["latency<=2ms"], check="zigzag", check_top=5).to_dict()
    grid = AcceleratorSpace.load()
    _, metrics = evaluate_grid(AnalyticalModel(grid.hardware), LAYERS, grid)
    jb = np.where(feasible_mask(metrics, [parse_budget("latency<=2ms")]),
                  np.asarray(Objective("edap").of(metrics)), np.inf)
    want = [str(grid[int(j)]) for j in np.lexsort((np.arange(len(jb)), jb))[:5]]
    c = r["check"]
    assert [d["accelerator"] for d in c["designs"]] == want and want[0] == r["accelerator"]
    assert c["agrees"] is True and c["regret"] == 0.0 and c["rank_correlation"] == pytest.approx(1.0)
    assert c["first_best"] == r["accelerator"]
    np.testing.assert_allclose([d["first_objective_value"] for d in c["designs"]], np.sort(jb)[:5], rtol=1e-9)


def test_check_top_errors():
    from hdx.api import cost

    with pytest.raises(HDXError, match="whole number >= 1"):
        cost(arch=ARCH, check="zigzag", check_top=0)
    with pytest.raises(HDXError, match="without by"):
        cost(arch=ARCH, check="zigzag", check_top=3, by="dataflow")
    with pytest.raises(HDXError, match="use it with check"):
        cost(arch=ARCH, check_top=3)
