"""The GLB port's three counts (``AnalyticalModel(glb_port=...)``, docs/cost-model.md, "Mapper"): by
access step (``step``, the default), by PE-local tile fill (``fill``) and packed (``packed``).

By hand here; that the best latency never rises from ``step`` to ``fill`` to ``packed`` (each count
charges a mapping at most what the one before it does, over the same candidates) is a property test in
``test_monotone.py``. A port one word wide charges the same under all three."""

from __future__ import annotations

import numpy as np
import pytest

from hdx.cost.analytical import AnalyticalModel
from hdx.cost.analytical.mapper import port_per_word
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


def test_the_counts_agree_where_the_port_is_one_word_wide():
    # one word a cycle: every step of d words takes d cycles under every count
    hw = HW.model_copy(update={"glb_words_per_cycle": 1.0})
    layer = Layer("conv", c=16, k=32, h=14, w=14, r=3, s=3, padding=1)
    accs = AccelTable.from_accels([Accelerator(8, 8, 64, df) for df in ("ws", "os", "rs")])
    lat = [AnalyticalModel(hw, glb_port=p).evaluate(LayerTable([layer]), accs).latency_cycles
           for p in ("step", "fill", "packed")]
    np.testing.assert_allclose(lat[1], lat[0], rtol=1e-6)
    np.testing.assert_allclose(lat[2], lat[0], rtol=1e-6)


def test_an_unknown_port_count_is_refused():
    with pytest.raises(HDXError, match="glb_port"):
        AnalyticalModel(HW, glb_port="wide")
