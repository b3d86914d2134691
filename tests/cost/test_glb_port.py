"""The GLB port's three counts (``AnalyticalModel(glb_port=...)``, docs/cost-model.md, "Mapper"): by
access step (``step``, the default), by PE-local tile fill (``fill``) and packed (``packed``).

By hand here; that the best latency never rises from ``step`` to ``fill`` to ``packed`` (each count
charges a mapping at most what the one before it does, over the same candidates) is a property test in
``test_monotone.py``. A port one word wide charges the same under all three."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hdx.cost.analytical import AnalyticalModel
from hdx.cost.analytical.mapper import fill_per_word, port_per_word
from hdx.errors import HDXError
from hdx.space.accelerator import Accelerator, AcceleratorSpace, AccelTable
from hdx.workload import Layer, LayerTable

HW = AcceleratorSpace.load().hardware


def test_port_per_word_by_hand():
    # a fill of 2 words per PE to 8 PE groups (16 distinct words) on a 16-word port: by step, each of
    # the tile's 2 words is its own step of 8 words, one cycle each (2 cycles); by fill, one burst of 16
    # words (1 cycle); packed, 16 words / 16 per cycle (1 cycle)
    assert 16 * port_per_word(8.0, 16.0) == 2.0
    assert 16 * port_per_word(2.0 * 8.0, 16.0) == 1.0
    assert 16 * port_per_word(8.0, 16.0, "packed") == 1.0
    # 24 distinct words a step on a 16-word port: 2 cycles (8 of the second access's lanes idle)
    assert 24 * port_per_word(24.0, 16.0) == 2.0
    assert 24 * port_per_word(24.0, 16.0, "packed") == 1.5


def test_burst_by_hand():
    # a fill of 2 words per PE to 8 PE groups on a 16-word port: 16 words from a random offset span
    # (16 + 15) / 16 accesses on average (aligned: 1, else 2), fewer than the 2 steps of 8 words
    assert 16 * fill_per_word(2.0, 8.0, 16.0, "burst") == pytest.approx(31 / 16)
    assert 16 * fill_per_word(2.0, 8.0, 16.0, "fill") == 1.0
    # one word per PE: a step of 8 words fits one access, which an unaligned burst (23/16) would not
    assert 8 * fill_per_word(1.0, 8.0, 16.0, "burst") == 1.0
    # a big fill: 4 x 8 = 32 words on a 32-word port, (32 + 31) / 32 accesses against 4 steps
    assert 32 * fill_per_word(4.0, 8.0, 32.0, "burst") == pytest.approx(63 / 32)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 64), st.integers(1, 64), st.integers(1, 128), st.integers(1, 128))
def test_a_bigger_tile_never_costs_more_per_word_in_bursts(fp, more, dist, bw):
    # why "burst" keeps the model monotone in the RF and pads and "fill" does not: the aligned burst's
    # rounding can waste more of a bigger tile's last access (2 x 7 words on 16 lanes: 1 access for 14
    # words; 3 x 7: 2 for 21)
    small = fill_per_word(float(fp), float(dist), float(bw), "burst")
    big = fill_per_word(float(fp + more), float(dist), float(bw), "burst")
    assert big <= small * (1 + 1e-12)
    assert fill_per_word(float(fp), float(dist), float(bw), "fill") <= small * (1 + 1e-12)
    assert small <= port_per_word(float(dist), float(bw)) * (1 + 1e-12)


def test_the_counts_agree_where_the_port_is_one_word_wide():
    # one word a cycle: every step of d words takes d cycles under every count
    hw = HW.model_copy(update={"glb_words_per_cycle": 1.0})
    layer = Layer("conv", c=16, k=32, h=14, w=14, r=3, s=3, padding=1)
    accs = AccelTable.from_accels([Accelerator(8, 8, 64, df) for df in ("ws", "os", "rs")])
    lat = [AnalyticalModel(hw, glb_port=p).evaluate(LayerTable([layer]), accs).latency_cycles
           for p in ("step", "fill", "packed", "burst")]
    for other in lat[1:]:
        np.testing.assert_allclose(other, lat[0], rtol=1e-6)


def test_an_unknown_port_count_is_refused():
    with pytest.raises(HDXError, match="glb_port"):
        AnalyticalModel(HW, glb_port="wide")
