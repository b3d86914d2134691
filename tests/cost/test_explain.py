"""The chosen mapping as a record (``schedule_of``, ``hdx cost --explain --json``'s ``schedule``): its DRAM
words, fill and drain cycles and the latency's parts against hand-computed values and the model's own
latency, under the default buffering (DRAM transfers overlap the array) and ``single`` (they stall it)."""

from __future__ import annotations

import numpy as np
import pytest

from hdx.api import cost
from hdx.cost.analytical import AnalyticalModel, describe_mapping, schedule_of
from hdx.space.accelerator import Accelerator, AcceleratorSpace, AccelTable
from hdx.workload import Layer, LayerTable

HW = AcceleratorSpace.load().hardware
CPW = HW.word_bytes / HW.dram_bytes_per_cycle  # DRAM cycles per word
ARCH = "mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3"


def _schedule(model: AnalyticalModel, layer: Layer, acc: Accelerator) -> tuple[dict, float, str]:
    accels = AccelTable.from_accels([acc])
    c = model.evaluate(LayerTable([layer]), accels)
    s = schedule_of(c.mapping, 0, 0, acc.dataflow, latency_cycles=float(c.latency_cycles[0, 0]),
                    compute_cycles=float(c.compute_cycles[0, 0]), dram_cycles_per_word=CPW)
    return s, float(c.latency_cycles[0, 0]), describe_mapping(c.mapping, 0, 0, acc.dataflow, s)


@pytest.mark.parametrize("df", ["ws", "os", "rs"])
def test_a_layer_that_fits_moves_each_word_once(df):
    # an FC layer of 64 inputs and 32 outputs fits a 128 KiB GLB whole: 2 048 weights, 64 inputs and 32
    # outputs cross the DRAM once, in (2 048 + 64) and 32 words' cycles
    s, lat, text = _schedule(AnalyticalModel(HW), Layer("fc", c=64, k=32), Accelerator(8, 8, 64, df))
    d = s["dram"]
    assert d["words"] == {"weights": 2048.0, "inputs": 64.0, "outputs": 32.0}
    assert d["fill_cycles"] == pytest.approx(2112 * CPW) and d["drain_cycles"] == pytest.approx(32 * CPW)
    assert s["dram_cycles"] == pytest.approx(2144 * CPW)
    assert f"(fill {2112 * CPW:,.0f}, drain {32 * CPW:,.0f} cycles)" in text and "bound: " in text


@pytest.mark.parametrize("buffering", ["double", "single"])
def test_the_latency_is_its_parts(buffering):
    # double-buffered, DRAM transfers overlap: latency = the largest of the array's busy cycles, the GLB
    # port's and the DRAM's, and nothing waits; single: the DRAM's are added to the array side's
    model = AnalyticalModel(HW, glb_buffering=buffering)
    layer = Layer("conv", c=32, k=64, h=16, w=16, r=3, s=3, padding=1)
    for glb in (8, 64, 512):
        for df in ("ws", "os", "rs"):
            s, lat, text = _schedule(model, layer, Accelerator(16, 16, 64, df, glb_kib=glb))
            parts = (s["busy_cycles"], s["glb_port_cycles"], s["dram_cycles"])
            assert s["busy_cycles"] == s["compute_cycles"] + s["psum_stall_cycles"]
            assert s["latency_cycles"] == lat
            assert s["bound"] == ("compute", "GLB port", "DRAM")[int(np.argmax(parts))]
            if buffering == "double":
                assert lat == pytest.approx(max(parts), rel=1e-5) and s["dram_stall_cycles"] == 0
            else:
                assert lat == pytest.approx(max(parts[:2]) + parts[2], rel=1e-5)
                assert s["dram_stall_cycles"] == pytest.approx(lat - max(parts), rel=1e-5)
                if s["dram_stall_cycles"]:
                    assert f"waits {s['dram_stall_cycles']:,.0f} cycles for DRAM" in text


def test_cost_explain_json_has_a_schedule_per_layer():
    out = cost(arch=ARCH, accel="16x16,rf=64,df=os,glb=32", explain=True)
    for row in out.layers:
        s = row["schedule"]
        assert s["latency_cycles"] == row["latency_cycles"] and s["dataflow"] == "os"
        assert set(s["dram"]["words"]) == {"weights", "inputs", "outputs"}
        assert s["dram"]["fill_cycles"] + s["dram"]["drain_cycles"] == pytest.approx(s["dram_cycles"])
        assert row["mapping"].endswith(s["bound"]) or f"bound: {s['bound']}" in row["mapping"]


def test_the_sizing_rows_bound_shares_are_their_layers_bounds():
    # `by=`'s rows: the share of each design's latency in layers bounded by compute, GLB port or DRAM is
    # what --explain says of that design's layers, one by one
    out = cost(arch=ARCH, by="dataflow")
    assert len(out.by) == 3
    for row in out.by:
        share = row["latency_bound_share"]
        assert set(share) == {"compute", "GLB port", "DRAM"} and sum(share.values()) == pytest.approx(1.0)
        layers = cost(arch=ARCH, accel=row["accelerator"], explain=True).layers
        total = sum(r["latency_cycles"] for r in layers)
        for bound, value in share.items():
            mine = sum(r["latency_cycles"] for r in layers if r["schedule"]["bound"] == bound)
            assert value == pytest.approx(mine / total)
