"""Per-PE storage given per operand (``pads=W/I/O``, knobs ``pad_w pad_i pad_o``): the text form, the
space knobs, and what the cost models make of it — the same costs as one RF when the pads are the RF's
own split, unused pads paid in area and leakage only, and the exports and ZigZag translation sized from
the same storage (docs/design.md#the-accelerator-space)."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from hdx.cost.analytical import AnalyticalModel
from hdx.cost.tech import load_tech
from hdx.errors import ConfigError, HDXError
from hdx.space.accelerator import Accelerator, AcceleratorSpace, AccelTable
from hdx.space.network import NetworkSpace
from hdx.workload import LayerTable

GRID = AcceleratorSpace.load()
HW = GRID.hardware
SPACE = NetworkSpace.load()
ARCH = "mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3"
LAYERS = LayerTable(SPACE.layers(SPACE.parse_arch(ARCH)))


def _costs(accs: list[Accelerator], hw=HW):
    return AnalyticalModel(hw, precision="float64").evaluate(LAYERS, AccelTable.from_accels(accs))


def test_text_form_round_trips_and_rf_is_the_total():
    a = Accelerator.parse("12x14,pads=448/24/32,df=rs,glb=108")
    assert a.pads == (448, 24, 32) and a.rf_bytes == 504 and (a.pad_w, a.pad_i, a.pad_o) == (448, 24, 32)
    assert str(a) == "12x14,pads=448/24/32,df=rs,glb=108"
    assert Accelerator.parse(a.text(with_glb=True)) == a
    assert Accelerator(12, 14, 0, "rs", 108, None, (448, 24, 32)) == a


@pytest.mark.parametrize("text, needle", [
    ("16x16,pads=0/0/0,df=ws", "gives no storage"),
    ("16x16,pads=64/0,df=ws", "three byte counts"),
    ("16x16,pads=64/0/0,rf=64,df=ws", "one of 'rf=' and 'pads='"),
    ("16x16,df=ws", "one of 'rf=' and 'pads='"),
    ("16x16,pads=2000000/0/0,df=ws", "pad_w' must be in 0..1048576"),
])
def test_bad_pads_are_one_line_errors(text, needle):
    with pytest.raises(HDXError, match=needle):
        Accelerator.parse(text)


def test_rf_that_is_not_the_pads_total_is_refused():
    with pytest.raises(HDXError, match="pads' total 96"):
        Accelerator(16, 16, 64, "rs", pads=(64, 16, 16))


@pytest.mark.parametrize("rf, df", [(64, "rs"), (200, "rs"), (16, "ws"), (128, "os")])
def test_pads_equal_to_the_rf_split_cost_exactly_the_same(rf, df):
    one = Accelerator(16, 12, rf, df)
    nbytes, _ = one.storage(HW)
    pads = Accelerator(16, 12, 0, df, pads=tuple(int(b) for b in nbytes))
    a, b = _costs([one]), _costs([pads])
    np.testing.assert_array_equal(a.latency_cycles, b.latency_cycles)
    np.testing.assert_array_equal(a.energy_total_pj, b.energy_total_pj)
    np.testing.assert_array_equal(a.area_total_um2, b.area_total_um2)


def test_the_rs_split_by_hand():
    # 64 B = 32 words of 16 bits; shares 192:12:16 of 220: inputs floor(32*12/220) = 1,
    # psums floor(32*16/220) = 2, weights the rest
    nbytes, words = Accelerator(8, 8, 64, "rs").storage(HW)
    assert words == (29.0, 1.0, 2.0) and nbytes == (58.0, 2.0, 4.0)
    assert Accelerator(8, 8, 64, "ws").storage(HW)[1] == (32.0, 0.0, 0.0)
    assert Accelerator(8, 8, 64, "os").storage(HW)[1] == (0.0, 0.0, 32.0)


def test_a_pad_the_dataflow_does_not_use_costs_area_and_leakage_only():
    hw = HW.model_copy(update={"tech": "cacti7_45nm_lstp"})  # a table with leakage
    base = Accelerator(16, 16, 0, "ws", pads=(64, 0, 0))
    extra = Accelerator(16, 16, 0, "ws", pads=(64, 32, 0))
    a, b = _costs([base], hw), _costs([extra], hw)
    np.testing.assert_array_equal(a.latency_cycles, b.latency_cycles)
    for part in ("mac", "rf", "glb", "dram"):
        np.testing.assert_array_equal(a.energy_pj[part], b.energy_pj[part])
    tech = load_tech(hw.tech)
    assert b.area_um2["rf"][0] - a.area_um2["rf"][0] == pytest.approx(256 * float(tech.sram_area_um2(32.0)))
    assert b.energy_pj["static"].sum() > a.energy_pj["static"].sum()


def test_a_kept_operand_without_storage_is_a_one_line_error():
    with pytest.raises(HDXError, match="pad_o = 0 B holds no 16-bit word"):
        _costs([Accelerator(16, 16, 0, "os", pads=(64, 0, 0))])
    with pytest.raises(HDXError, match="RS keeps its inputs"):
        _costs([Accelerator(16, 16, 0, "rs", pads=(64, 1, 8))])


def test_space_with_pads_enumerates_indexes_and_searches(tmp_path):
    g = AcceleratorSpace.load("eyeriss_pads")
    assert g.per_operand and len(g) == 28_800
    assert set(g.searched_knobs) >= {"pad_w", "pad_i", "pad_o"} and "rf_bytes" not in g.searched_knobs
    idx = np.array([0, 1, 4321, len(g) - 1])
    t = g.table_of(idx)
    for j, i in enumerate(idx):
        acc = g[int(i)]
        assert acc == t.accelerator(j) and g.index(acc) == i and acc.pads is not None
        assert t.rf_bytes[j] == sum(acc.pads)
    with pytest.raises(HDXError, match="write it as pads=W/I/O"):
        g.index("16x16,rf=64,df=rs,glb=32,bw=8")
    from hdx.cost.grid import best_for_layers
    from hdx.metrics import Objective
    sub = {"name": "pads_small", "knobs": {"pe_x": [8, 16], "pe_y": [8], "pad_w": [32, 448], "pad_i": [4, 24],
                                          "pad_o": [8, 32], "dataflow": ["rs"]}}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(sub))
    small = AcceleratorSpace.load(tmp_path / "s.yaml")
    best, costs = best_for_layers(AnalyticalModel(small.hardware), LAYERS, small, Objective("latency"))
    assert len(small) == 16 and best.accelerator.pads is not None
    assert int(np.argmin(costs.latency_cycles.sum(0))) == best.index
    assert small[best.index] == best.accelerator


@pytest.mark.parametrize("knobs, needle", [
    ({"rf_bytes": [64], "pad_w": [8], "pad_i": [8], "pad_o": [8]}, "not both"),
    ({"pad_w": [8], "pad_i": [8]}, "missing pad_o"),
    ({}, "rf_bytes is missing"),
    ({"pad_w": [8], "pad_i": [-1], "pad_o": [8]}, r"pad_i: values must be in 0\.\."),
])
def test_bad_pad_knobs_are_config_errors(tmp_path, knobs, needle):
    cfg = {"name": "bad", "knobs": {"pe_x": [8], "pe_y": [8], "dataflow": ["rs"], **knobs}}
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises((ConfigError, HDXError), match=needle):
        AcceleratorSpace.load(tmp_path / "b.yaml")


def test_zigzag_translation_and_timeloop_export_use_the_same_storage():
    from hdx.cost.zigzag.translate import accelerator_data, tech_for
    from hdx.export.timeloop import pe_buffers

    tech = load_tech(HW.tech)
    rs = Accelerator(12, 14, 0, "rs", pads=(448, 24, 32))
    mem = accelerator_data(rs, HW, tech_for(tech, HW, rs))["memories"]
    assert [mem[k]["size"] for k in ("spad_w", "spad_i", "spad_o")] == [448 * 8, 24 * 8, 32 * 8]
    assert pe_buffers(rs, HW) == [("ifmap_spad", ["Inputs"], 24), ("weights_spad", ["Weights"], 448),
                                  ("psum_spad", ["Outputs"], 32)]
    ws = Accelerator(12, 14, 0, "ws", pads=(64, 16, 0))
    zt = tech_for(tech, HW, ws)
    assert accelerator_data(ws, HW, zt)["memories"]["rf"]["size"] == 64 * 8
    assert zt.rf_um2 == pytest.approx(float(tech.sram_area_um2(64.0)) + float(tech.sram_area_um2(16.0)))
    assert pe_buffers(ws, HW)[0][2] == 64
