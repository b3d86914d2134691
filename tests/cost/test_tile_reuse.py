"""``glb_reuse="tile"``: a PE-local tile's reuse across the GLB-level loops stops at the DRAM tile, and
the DRAM schedule is chosen with the GLB-level order (docs/cost-model.md, "Reuse across DRAM tiles").
The fills against a walk of the whole two-level loop nest; the model's option end to end."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hdx.cost.analytical import AnalyticalModel
from hdx.cost.analytical.mapper import ORDERS, _fills, _skipped
from hdx.cost.analytical.reuse import _penalty
from hdx.errors import HDXError
from hdx.space.accelerator import DATAFLOWS, Accelerator, AcceleratorSpace, AccelTable
from hdx.workload import Layer, LayerTable

# the double buffering's (eyeriss_like's own is zigzag): the options below are given explicitly
HW = AcceleratorSpace.load().hardware.model_copy(update={"glb_buffering": "double"})


def _walk(t: tuple, n: tuple, rel: tuple, order: tuple, dram_order: tuple) -> int:
    """Walk the loop nest: DRAM loops over the groups (counts ``n``, ``dram_order`` innermost first),
    around the GLB-level loops (``t`` iterations per group in a DRAM tile, ``order`` innermost first).
    Returns how often the operand's PE-local tile changes (the indices of the loops it depends on, at
    both levels), the first fill included."""
    fills, pe = 0, None
    for d in itertools.product(*(range(n[g]) for g in reversed(dram_order))):  # the outermost first
        di = dict(zip(reversed(dram_order), d, strict=True))
        for i in itertools.product(*(range(t[g]) for g in reversed(order))):
            gi = dict(zip(reversed(order), i, strict=True))
            tile = tuple((di[g], gi[g]) for g in range(3) if rel[g])
            fills += tile != pe
            pe = tile
    return fills


def _model_fills(t: tuple, n: tuple, rel: tuple, order: tuple) -> float:
    bounds = tuple(np.array([float(t[g] * n[g])]) for g in range(3))
    total = bounds[0] * bounds[1] * bounds[2]
    skipped = _skipped(rel, order)
    layer = _fills("w", 1.0, 1.0, 0.0, skipped, rel, bounds, total, 0.0)[0]
    tiles = [np.array([float(n[g])]) for g in range(3)]
    return float((layer * _penalty(list(skipped), rel, bounds, tiles))[0])


@settings(max_examples=300, deadline=None)
@given(t=st.tuples(*[st.integers(1, 3)] * 3), n=st.tuples(*[st.integers(1, 3)] * 3),
       rel=st.tuples(*[st.booleans()] * 3).filter(any), order=st.sampled_from(ORDERS),
       dram_order=st.sampled_from(ORDERS))
def test_fills_are_a_walk_of_the_two_level_loop_nest(t, n, rel, order, dram_order):
    walk = _walk(t, n, rel, order, dram_order)
    got = _model_fills(t, n, rel, order)
    # never fewer fills than the nest has; exactly its count where every loop the operand depends on
    # runs more than once in a DRAM tile (one that runs once would let the reuse continue past it, which
    # the layer-wide count the penalty scales does not see either), whatever the DRAM loops' order
    assert got >= walk
    if all(t[g] >= 2 for g in range(3) if rel[g]):
        assert got == walk, (got, walk)


def test_the_penalty_is_the_dram_cuts_of_the_run():
    # weights (not relevant to the output pixels) reused across the pixels innermost: cut into 4 DRAM
    # bands, their PE-local tiles are filled 4 times as often; with the channels innermost, not at all
    rel = (False, True, True)
    bounds = (np.array([64.0]), np.array([12.0]), np.array([8.0]))
    tiles = [np.array([4.0]), np.array([1.0]), np.array([1.0])]
    assert _penalty(_skipped(rel, (0, 1, 2)), rel, bounds, tiles)[0] == 4.0
    assert _penalty(_skipped(rel, (1, 0, 2)), rel, bounds, tiles)[0] == 1.0
    # no more than the GLB-level loop's bound: a DRAM tile holds at least one iteration
    assert _penalty(_skipped(rel, (0, 1, 2)), rel, bounds, [np.array([100.0]), *tiles[1:]])[0] == 64.0


LAYERS = LayerTable([Layer("conv", c=16, k=32, h=8, w=8, r=3, s=3, padding=1),
                     Layer("pointwise", c=384, k=128, h=8, w=8),
                     Layer("pointwise", c=32, k=192, h=16, w=16),
                     Layer("depthwise", c=32, k=32, h=8, w=8, r=3, s=3, padding=1, groups=32),
                     Layer("fc", c=1280, k=10, h=1, w=1)])


def _accels(glb_kib: int, pes=(8, 16, 32)) -> AccelTable:
    return AccelTable.from_accels([Accelerator(pe_x=x, pe_y=y, rf_bytes=64, dataflow=df, glb_kib=glb_kib)
                                   for df in DATAFLOWS for x in pes for y in pes])


@pytest.mark.parametrize("buffering", ["double", "zigzag"])
def test_one_dram_tile_is_the_layer_wide_reuse(buffering):
    # a GLB that holds every layer whole: one DRAM tile per group, so the two counts agree
    accs = _accels(8192)
    a = AnalyticalModel(HW, precision="float64", glb_buffering=buffering).evaluate(LAYERS, accs)
    b = AnalyticalModel(HW, precision="float64", glb_buffering=buffering, glb_reuse="tile").evaluate(LAYERS,
                                                                                                      accs)
    np.testing.assert_allclose(b.latency_cycles, a.latency_cycles, rtol=1e-9)
    np.testing.assert_allclose(b.energy_total_pj, a.energy_total_pj, rtol=1e-9)


@pytest.mark.parametrize("glb_kib", [8, 32, 128])
@pytest.mark.parametrize("buffering", ["double", "zigzag"])
def test_tile_reuse_is_never_faster_than_the_layer_wide_count(glb_kib, buffering):
    # every mapping's fills only grow and its schedule is one the layer-wide model could take too (under
    # zigzag, of more candidates: the layer-wide count's best is among them, so the latency is within the
    # tie of at least its)
    accs = _accels(glb_kib)
    a = AnalyticalModel(HW, precision="float64", glb_buffering=buffering).evaluate(LAYERS, accs,
                                                                                    mapping=False)
    b = AnalyticalModel(HW, precision="float64", glb_buffering=buffering, glb_reuse="tile").evaluate(
        LAYERS, accs, mapping=False)
    assert np.all(b.latency_cycles >= a.latency_cycles * (1 - 1e-6))
    if buffering == "double" or glb_kib < 128:  # (zigzag at 128 KiB: a schedule that keeps the reuse is
        # among the candidates of every pair, for the same cycles)
        assert np.any(b.latency_cycles > a.latency_cycles * 1.01)  # somewhere the cut reuse costs time


def test_the_schedule_is_chosen_with_the_order():
    # a 384 -> 128 pointwise layer on 8x8 pixels, 32x12 RS, 128 KiB: weights (49 152 words), inputs
    # (24 576) and outputs (8 192) do not all fit, so the DRAM schedule cuts a loop. Layer-wide, the
    # fewest-words schedule cuts the output columns into 4 bands while the weights' PE-local tiles are
    # reused across the pixels innermost (filled once); per DRAM tile, those tiles would be filled 4
    # times, and a schedule with the same 81 920 DRAM words that cuts the channels instead (outputs
    # resident) keeps the reuse: the latency is unchanged and the columns are not cut
    layer = LayerTable([Layer("pointwise", c=384, k=128, h=8, w=8)])
    acc = AccelTable.from_accels([Accelerator(pe_x=32, pe_y=12, rf_bytes=128, dataflow="rs", glb_kib=128)])
    a = AnalyticalModel(HW, precision="float64").evaluate(layer, acc)
    b = AnalyticalModel(HW, precision="float64", glb_reuse="tile").evaluate(layer, acc)
    assert a.mapping["order"][0, 0] == b.mapping["order"][0, 0] == 0  # the pixels innermost
    assert a.mapping["dram_qt"][0, 0] == 2 and b.mapping["dram_qt"][0, 0] == 8
    assert b.mapping["dram_ct"][0, 0] < 384
    for m in (a, b):
        assert sum(m.mapping[f"dram_{x}"][0, 0] for x in "wio") == 49152 + 24576 + 8192
    assert b.latency_cycles[0, 0] == a.latency_cycles[0, 0]


def test_under_zigzag_each_candidate_schedule_counts_its_own_cuts():
    # the layer and design above under ZigZag's buffering: layer-wide, the candidate with the fewest DRAM
    # words cuts the output columns into 4 bands (the weights' PE-local tiles reused across the pixels
    # innermost, filled once); per DRAM tile they would be filled 4 times, and the schedule of a corner
    # before it that cuts the channels in two instead keeps the reuse for the same words and cycles
    layer = LayerTable([Layer("pointwise", c=384, k=128, h=8, w=8)])
    acc = AccelTable.from_accels([Accelerator(pe_x=32, pe_y=12, rf_bytes=128, dataflow="rs", glb_kib=128)])
    a = AnalyticalModel(HW, precision="float64", glb_buffering="zigzag").evaluate(layer, acc)
    b = AnalyticalModel(HW, precision="float64", glb_buffering="zigzag",
                        glb_reuse="tile").evaluate(layer, acc)
    assert a.mapping["order"][0, 0] == b.mapping["order"][0, 0] == 0  # the pixels innermost
    assert a.mapping["dram_qt"][0, 0] == 2 and a.mapping["dram_ct"][0, 0] == 384
    assert b.mapping["dram_qt"][0, 0] == 8 and b.mapping["dram_ct"][0, 0] == 192
    for m in (a, b):
        assert [m.mapping[f"dram_{x}"][0, 0] for x in "wio"] == [49152, 24576, 8192]
    # the GLB's one port: the array side's 9 472 cycles (the double-buffered default's, the same mapping)
    # and the 81 920 DRAM words at 32 words per cycle, 2 560: above the 10 240 DRAM cycles
    assert b.latency_cycles[0, 0] == a.latency_cycles[0, 0] == 9472 + 81920 / 32


@settings(max_examples=25, deadline=None)
@given(c=st.integers(1, 512), k=st.integers(1, 512), hw=st.sampled_from([1, 4, 7, 8, 14, 16, 28]),
       r=st.sampled_from([1, 3, 5]), dw=st.booleans(), d=st.sampled_from(DATAFLOWS),
       x=st.sampled_from([4, 8, 12, 16, 32]), y=st.sampled_from([4, 8, 12, 16, 32]))
def test_tile_reuse_more_glb_never_slower(c, k, hw, r, dw, d, x, y):
    layer = (Layer("depthwise", c=c, k=c, h=hw, w=hw, r=r, s=r, padding=r // 2, groups=c) if dw
             else Layer("conv", c=c, k=k, h=hw, w=hw, r=r, s=r, padding=r // 2))
    accs = AccelTable.from_accels([Accelerator(pe_x=x, pe_y=y, rf_bytes=64, dataflow=d, glb_kib=g)
                                   for g in (4, 8, 16, 32, 64, 128, 256, 1024)])
    lat = AnalyticalModel(HW, glb_reuse="tile").evaluate(LayerTable([layer]), accs,
                                                         mapping=False).latency_cycles[0]
    assert np.all(np.diff(lat) <= np.abs(lat[:-1]) * 1e-6), lat


TILE_FLAT = AnalyticalModel(HW, AnalyticalModel(HW).tech.flat_prices(), glb_reuse="tile")
TILE_FLAT_ZIGZAG = TILE_FLAT.replace(glb_buffering="zigzag")


def test_a_bigger_glb_does_not_trade_pe_refills_for_dram_words():
    # pointwise 64 -> 192 on 16x16 pixels, 24x4 RS with a 256-byte RF, one price per SRAM access: at 24
    # KiB the chosen schedule cuts the filters into 16 DRAM tiles (114 688 DRAM words); at 40 KiB a
    # schedule with 36 864 DRAM words fewer cuts the pixels the weights are reused across, so the PEs'
    # pads are refilled: 20 % more RF energy for the same cycles. Counted in the choice, 40 KiB keeps
    # the 24 KiB energy (it once rose 7.7 %, from 252.4 to 271.9 µJ)
    layer = LayerTable([Layer("pointwise", c=64, k=192, h=16, w=16)])
    accs = AccelTable.from_accels([Accelerator(pe_x=24, pe_y=4, rf_bytes=256, dataflow="rs", glb_kib=g)
                                   for g in (24, 40)])
    c = TILE_FLAT.evaluate(layer, accs)
    assert c.latency_cycles[0, 0] == c.latency_cycles[0, 1] == 34816
    assert c.energy_total_pj[0, 1] <= c.energy_total_pj[0, 0]
    assert c.energy_pj["rf"][0, 1] == c.energy_pj["rf"][0, 0]


@settings(max_examples=40, deadline=None)
@given(c=st.sampled_from([3, 16, 48, 64, 96, 384]), k=st.sampled_from([16, 40, 96, 192, 320]),
       hw=st.sampled_from([4, 7, 8, 14, 16, 28]), r=st.sampled_from([1, 3, 5]), dw=st.booleans(),
       d=st.sampled_from(DATAFLOWS), x=st.sampled_from([4, 8, 12, 24, 32]), y=st.sampled_from([4, 8, 12, 16]),
       rf=st.sampled_from([16, 64, 256]), zigzag=st.booleans())
@example(c=64, k=192, hw=16, r=1, dw=False, d="rs", x=24, y=4, rf=256, zigzag=False)
# (6 -> 8 words/cycle: +0.5 % once)
@example(c=32, k=96, hw=32, r=1, dw=False, d="rs", x=12, y=8, rf=256, zigzag=False)
def test_tile_reuse_more_glb_never_costs_more_accesses_at_equal_latency(c, k, hw, r, dw, d, x, y, rf, zigzag):
    # priced with one energy per SRAM access (the bigger memory's own per-access energy not counted), the
    # latency-best mapping's energy never rises with the GLB where its latency stays (a finer ladder
    # than powers of two), nor with the GLB's bandwidth
    layer = (Layer("depthwise", c=c, k=c, h=hw, w=hw, r=r, s=r, padding=r // 2, groups=c) if dw
             else Layer("conv", c=c, k=k, h=hw, w=hw, r=r, s=r, padding=r // 2))
    for accs in ([Accelerator(pe_x=x, pe_y=y, rf_bytes=rf, dataflow=d, glb_kib=g)
                  for g in (6, 10, 16, 20, 24, 40, 48, 80, 96, 160, 384)],
                 [Accelerator(pe_x=x, pe_y=y, rf_bytes=rf, dataflow=d, glb_kib=128, glb_bw=b)
                  for b in (2, 3, 4, 6, 8, 12, 16, 32, 64)]):
        _equal_latency_energy_never_rises(layer, AccelTable.from_accels(accs),
                                          TILE_FLAT_ZIGZAG if zigzag else TILE_FLAT)


def _equal_latency_energy_never_rises(layer: Layer, accs: AccelTable,
                                      model: AnalyticalModel = TILE_FLAT) -> None:
    cost = model.evaluate(LayerTable([layer]), accs, mapping=False)
    lat, en = cost.latency_cycles[0], cost.energy_total_pj[0]
    same = lat[1:] == lat[:-1]
    assert np.all(en[1:][same] <= en[:-1][same] * (1 + 1e-6)), (lat, en)


def test_tile_reuse_options():
    with pytest.raises(HDXError, match="glb_reuse='tile'"):
        AnalyticalModel(HW, dram_tiles="free", glb_reuse="tile")
    with pytest.raises(HDXError, match="glb_reuse='tile'"):
        AnalyticalModel(HW, glb_buffering="mixed", glb_reuse="tile")
    with pytest.raises(HDXError, match="glb_reuse must be"):
        AnalyticalModel(HW, glb_reuse="dram")
    m = AnalyticalModel(HW, glb_reuse="tile")
    assert m.fingerprint() != AnalyticalModel(HW).fingerprint()
    assert m.label == "analytical (glb_reuse=tile)"
