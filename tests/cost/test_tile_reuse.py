"""``glb_reuse="tile"``: a PE-local tile's reuse across the GLB-level loops stops at the DRAM tile
(docs/cost-model.md, "Reuse"). :class:`~hdx.cost.analytical.mapper.TileReuse` against a walk of the
whole two-level loop nest, and the model's option checked end to end."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hdx.cost.analytical import AnalyticalModel
from hdx.cost.analytical.mapper import ORDERS, TileReuse
from hdx.errors import HDXError
from hdx.space.accelerator import DATAFLOWS, Accelerator, AcceleratorSpace, AccelTable
from hdx.workload import Layer, LayerTable

HW = AcceleratorSpace.load().hardware


def _walk(t: tuple, n: tuple, rel: tuple, order: tuple, dram_order: tuple) -> tuple[int, int]:
    """Walk the loop nest: DRAM loops over the groups (counts ``n``, ``dram_order`` outermost last),
    around the GLB-level loops (bounds ``t`` per group, ``order`` innermost first). Returns how often
    the operand's PE-local tile changes (the indices of the loops it depends on, at both levels) and
    how often its GLB tile changes (those of the DRAM loops), the first of each included."""
    fills = fetches = 0
    pe = glb = None
    for d in itertools.product(*(range(n[g]) for g in reversed(dram_order))):  # the outermost first
        di = dict(zip(reversed(dram_order), d, strict=True))
        now = tuple(di[g] for g in range(3) if rel[g])
        fetches += now != glb
        glb = now
        for i in itertools.product(*(range(t[g]) for g in reversed(order))):
            gi = dict(zip(reversed(order), i, strict=True))
            tile = tuple((di[g], gi[g]) for g in range(3) if rel[g])
            fills += tile != pe
            pe = tile
    return fills, fetches


@settings(max_examples=150, deadline=None)
@given(t=st.tuples(*[st.integers(1, 3)] * 3), n=st.tuples(*[st.integers(1, 3)] * 3),
       rel=st.tuples(*[st.booleans()] * 3), order=st.sampled_from(ORDERS), dram_order=st.sampled_from(ORDERS))
def test_fills_are_a_walk_of_the_two_level_loop_nest(t, n, rel, order, dram_order):
    fills, fetches = _walk(t, n, rel, order, dram_order)
    one = np.ones(1)
    reuse = TileReuse({"n_pq": n[0] * one, "n_red": n[1] * one, "n_k": n[2] * one,
                       # the operand's GLB tile fetched `fetches` times: its DRAM words over its tile
                       "dram_w": fetches * one, "tile_w": one,
                       **{f"{k}_{x}": one for k in ("dram", "tile") for x in "io"}})
    bounds = tuple(float(t[g] * n[g]) * one for g in range(3))
    got = reuse.fills("w", 1.0, rel, order, bounds)
    assert got[0] == fills, (got, fills)


def test_the_reuse_of_a_whole_layer_is_the_reuse_of_one_dram_tile():
    # with one DRAM tile per group the two-level nest is the GLB-level one: "tile" equals "layer"
    # wherever the layer's DRAM schedule is one tile (a GLB that holds everything)
    layers = LayerTable([Layer("conv", c=16, k=32, h=8, w=8, r=3, s=3, padding=1),
                         Layer("pointwise", c=32, k=48, h=8, w=8),
                         Layer("depthwise", c=32, k=32, h=8, w=8, r=3, s=3, padding=1, groups=32)])
    accs = AccelTable.from_accels([Accelerator(pe_x=8, pe_y=8, rf_bytes=64, dataflow=df, glb_kib=4096)
                                   for df in DATAFLOWS])
    a = AnalyticalModel(HW, precision="float64").evaluate(layers, accs)
    b = AnalyticalModel(HW, precision="float64", glb_reuse="tile").evaluate(layers, accs)
    one = (a.mapping["dram_kt"] >= layers.k[:, None]) & (a.mapping["dram_bt"] >= layers.h[:, None])
    assert one.any()
    np.testing.assert_allclose(b.latency_cycles[one], a.latency_cycles[one], rtol=1e-9)
    np.testing.assert_allclose(b.energy_total_pj[one], a.energy_total_pj[one], rtol=1e-9)


def test_tile_reuse_needs_one_schedule_per_mapping():
    with pytest.raises(HDXError, match="glb_reuse='tile'"):
        AnalyticalModel(HW, dram_tiles="free", glb_reuse="tile")
    with pytest.raises(HDXError, match="glb_reuse='tile'"):
        AnalyticalModel(HW, glb_buffering="mixed", glb_reuse="tile")
    with pytest.raises(HDXError, match="glb_reuse must be"):
        AnalyticalModel(HW, glb_reuse="dram")
    from hdx.cost.hwsearch import gives_bounds

    m = AnalyticalModel(HW, glb_reuse="tile")
    # not known to be monotone: the hardware search must enumerate instead of pruning with bounds
    assert not m.monotone and not gives_bounds(m)
    assert m.fingerprint() != AnalyticalModel(HW).fingerprint()
