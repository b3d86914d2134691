"""The PE's partial-sum store ports (``AnalyticalModel(psum_port=...)``, docs/cost-model.md, "Mapper").

``shared``: an RS or OS PE accumulates in its psum pad or RF, whose read and write ports serve the MAC's
read-modify-write every cycle; a psum drained to the GLB takes one of the read port's cycles (a
read-back, one of the write port's, beside it), so the MAC waits one cycle per psum word its PE drains
(the default since v3.4). ``free`` (v3.3's) moves them without delaying the MAC. WS accumulates in a
register and is the same under both.

By hand: a 1×1 layer with one input channel finishes every output in one MAC, so each PE drains one
psum per MAC: the stall equals the compute cycles."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hdx.cost.analytical import AnalyticalModel
from hdx.errors import HDXError
from hdx.space.accelerator import DATAFLOWS, Accelerator, AcceleratorSpace, AccelTable
from hdx.workload import Layer, LayerTable

HW = AcceleratorSpace.load().hardware
FREE = AnalyticalModel(HW, psum_port="free")
SHARED = AnalyticalModel(HW, psum_port="shared")


def _costs(model: AnalyticalModel, layer: Layer, accs: list[Accelerator]):
    return model.evaluate(LayerTable([layer]), AccelTable.from_accels(accs))


@pytest.mark.parametrize("shape", [(4, 4), (8, 8), (16, 4), (3, 5)])
@pytest.mark.parametrize("df", ["rs", "os"])
def test_one_mac_per_output_drains_a_psum_every_mac(shape, df):
    layer = Layer("pointwise", c=1, k=16, h=8, w=8, r=1, s=1)
    acc = [Accelerator(*shape, 64, df)]
    free, shared = _costs(FREE, layer, acc), _costs(SHARED, layer, acc)
    compute = shared.compute_cycles[0, 0]
    assert shared.mapping["psum_stall"][0, 0] == compute  # one drain per MAC, per PE
    assert free.mapping["psum_stall"][0, 0] == 0.0
    assert free.compute_cycles[0, 0] == compute
    # the MAC's cycles and the drains' add up: at least twice the compute, and the port and DRAM bounds
    # are the same mapping's
    assert shared.latency_cycles[0, 0] >= 2 * compute
    assert shared.latency_cycles[0, 0] >= free.latency_cycles[0, 0]


def test_ws_accumulates_in_a_register_and_is_unchanged():
    layer = Layer("conv", c=16, k=32, h=14, w=14, r=3, s=3, padding=1)
    accs = [Accelerator(x, y, rf, "ws") for x, y, rf in ((8, 8, 16), (16, 8, 64), (4, 32, 256))]
    free, shared = _costs(FREE, layer, accs), _costs(SHARED, layer, accs)
    np.testing.assert_array_equal(shared.latency_cycles, free.latency_cycles)
    np.testing.assert_array_equal(shared.energy_total_pj, free.energy_total_pj)
    assert not shared.mapping["psum_stall"].any()


def test_the_latency_is_the_busiest_of_mac_port_and_dram():
    # latency = max(compute + psum stall, GLB port cycles, DRAM cycles) of the chosen mapping
    layers = [Layer("conv", c=3, k=16, h=8, w=8, r=3, s=3, padding=1),
              Layer("pointwise", c=64, k=128, h=14, w=14, r=1, s=1),
              Layer("depthwise", c=96, k=96, h=14, w=14, r=5, s=5, padding=2, groups=96)]
    accs = [Accelerator(x, y, rf, df, glb_kib=g) for x, y, rf, df, g in
            ((8, 8, 64, "rs", 32), (16, 16, 256, "rs", 128), (8, 16, 16, "os", 16), (32, 8, 64, "os", 512))]
    c = SHARED.evaluate(LayerTable(layers), AccelTable.from_accels(accs))
    m = c.mapping
    dram = (m["dram_w"] + m["dram_i"] + m["dram_o"]) * HW.word_bytes / HW.dram_bytes_per_cycle
    want = np.maximum(np.maximum(c.compute_cycles + m["psum_stall"], m["glb_cycles"]), dram)
    np.testing.assert_allclose(c.latency_cycles, want, rtol=1e-6)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["conv", "pointwise", "depthwise"]), st.sampled_from([1, 3, 16, 96]),
       st.sampled_from([8, 32, 128]), st.sampled_from([4, 8, 14]),
       st.tuples(st.integers(2, 32), st.integers(2, 32), st.sampled_from([16, 64, 256]),
                 st.sampled_from(DATAFLOWS)))
def test_shared_ports_never_make_a_layer_faster(kind, c, k, hw_, d):
    # every mapping costs at least as many cycles with the ports shared, so the best one does too
    r = 1 if kind == "pointwise" else 3
    k = c if kind == "depthwise" else k
    groups = c if kind == "depthwise" else 1
    layer = Layer(kind, c=c, k=k, h=hw_, w=hw_, r=r, s=r, padding=r // 2, groups=groups)
    acc = [Accelerator(*d)]
    free, shared = _costs(FREE, layer, acc), _costs(SHARED, layer, acc)
    assert shared.latency_cycles[0, 0] >= free.latency_cycles[0, 0] * (1 - 1e-6)
    assert shared.mapping["psum_stall"][0, 0] >= 0.0


def test_the_option_is_validated_and_in_the_fingerprint():
    with pytest.raises(HDXError, match="psum_port"):
        AnalyticalModel(HW, psum_port="dual")
    assert SHARED.fingerprint() != FREE.fingerprint()
    assert AnalyticalModel(HW).fingerprint() == SHARED.fingerprint()  # the default
