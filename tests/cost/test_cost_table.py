"""CostTable: tabulated network costs equal direct cost-model evaluation; expected cost is exact."""

from __future__ import annotations

import numpy as np
import pytest

from hdx.cost import get_cost_model
from hdx.cost.table import CostTable
from hdx.errors import HDXError
from hdx.metrics import Objective
from hdx.space import AcceleratorSpace, NetworkSpace
from hdx.workload import LayerTable


@pytest.fixture(scope="module")
def setup():
    space, grid = NetworkSpace.load(), AcceleratorSpace.load()
    model = get_cost_model("analytical", grid.hardware)
    return space, grid, model, CostTable.build(space, grid, model)


def test_network_equals_direct_evaluation(setup):
    space, grid, model, table = setup
    idx = space.sample_indices(np.random.default_rng(3), 3)
    got = table.network(idx)
    for b in range(3):
        direct = model.evaluate(LayerTable(space.layers(space.decode(idx[b]))), grid.table).network()
        np.testing.assert_allclose(got["latency"][b], direct.latency_ms, rtol=1e-12)
        np.testing.assert_allclose(got["energy"][b], direct.energy_total_pj * 1e-9, rtol=1e-12)
        np.testing.assert_allclose(got["area"][b], direct.area_mm2, rtol=1e-12)


def test_expected_is_exact_mixture(setup):
    space, _, _, table = setup
    a = space.encode("mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3")
    b = a.copy()
    b[4] = space.op_names.index("mb7e6")
    probs = space.one_hot(space.decode(a)).astype(np.float64)
    probs[4] = 0.3 * probs[4] + 0.7 * space.one_hot(space.decode(b))[4].astype(np.float64)
    exp = table.expected(probs)
    na, nb = table.network(a), table.network(b)
    for m in ("latency", "energy", "area"):
        np.testing.assert_allclose(exp[m][0], 0.3 * na[m][0] + 0.7 * nb[m][0], rtol=1e-12)
    one_hot = table.expected(space.one_hot(space.decode(a)))
    np.testing.assert_allclose(one_hot["latency"], na["latency"], rtol=1e-12)


def test_table_rejects_disallowed_ops(setup):
    space, _, _, table = setup
    idx = space.encode("mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3")
    idx[0] = space.op_names.index("zero")
    with pytest.raises(HDXError, match="not allowed"):
        table.network(idx)


def test_objective_value():
    assert Objective("edap")(2.0, 3.0, 5.0) == 30.0
    unit_ref = {"latency": 1.0, "energy": 1.0, "area": 1.0}
    assert Objective("weighted", {"latency": 1.0, "area": 2.0}, unit_ref)(2.0, 3.0, 5.0) == 12.0
    # weights apply to metrics normalised by the reference: 1·2/4 + 2·5/10 = 1.5
    ref = {"latency": 4.0, "energy": 1.0, "area": 10.0}
    assert Objective("weighted", {"latency": 1.0, "area": 2.0}, ref)(2.0, 3.0, 5.0) == pytest.approx(1.5)
    with pytest.raises(HDXError, match="needs weights"):
        Objective("weighted")
    with pytest.raises(HDXError, match="unknown objective"):
        Objective("edp")
