"""The input rows (and columns) a schedule's bands read from DRAM (hdx.cost.analytical.memory._halo): over
the bands of ``bt`` outputs and the chunks of ``kt`` kernel taps, the real (unpadded) input positions
inside each band's window, counted in closed form. Checked against a walk of every band and chunk, and
by hand on the case that showed the uniform-density approximation it replaced undercounting (a 7x7
depthwise kernel on an 8x8 map with one-row bands: 44 real rows read, where the padded plane's density
gave 32). The walk is ``band_walk`` (tests/conftest.py), which the DRAM schedules' walk uses too."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hdx.cost.analytical import AnalyticalModel
from hdx.cost.analytical.memory import _halo
from hdx.errors import HDXError


@settings(max_examples=400, deadline=None)
@given(k=st.integers(1, 11), stride=st.integers(1, 4), pad_frac=st.floats(0, 1), size=st.integers(1, 64),
       band=st.floats(0, 1), chunk=st.sampled_from(["one", "all", "any"]), any_kt=st.integers(1, 11),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_the_rows_read_are_those_of_a_walk_of_every_band(band_walk, k, stride, pad_frac, size, band, chunk,
                                                          any_kt, dtype):
    pad = int(pad_frac * (k - 1))
    n_out = (size + 2 * pad - k) // stride + 1
    if n_out < 1:
        return
    bt = 1 + int(band * (n_out - 1))
    kt = {"one": 1, "all": k, "any": min(any_kt, k)}[chunk]
    got = _halo(*(np.asarray([v], dtype=dtype) for v in (n_out, stride, k, pad, size, bt, kt)), chunks=11)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got[0], max(band_walk(n_out, stride, k, pad, size, bt, kt) / size, 1.0),
                               rtol=1e-12)


def test_by_hand():
    # 7x7 kernel, pad 3, an 8x8 map, bands of one output row: the windows of rows 0..7 hold 4, 5, 6, 7, 7,
    # 6, 5, 4 real rows (44); the padded plane's density (8 of 14 rows) over 56 rows read gave 32
    assert _halo(8.0, 1.0, 7.0, 3.0, 8.0, 1.0, 7.0, chunks=1) == 44 / 8
    # one kernel row at a time gives the same rows for one-row bands
    assert _halo(8.0, 1.0, 7.0, 3.0, 8.0, 1.0, 1.0, chunks=7) == 44 / 8
    # a whole band: every real row once
    assert _halo(32.0, 1.0, 3.0, 1.0, 32.0, 32.0, 3.0, chunks=1) == 1.0
    # 3x3, pad 1, bands of 8 rows of a 32-row map: 9 + 10 + 10 + 9 = 38 rows
    assert _halo(32.0, 1.0, 3.0, 1.0, 32.0, 8.0, 3.0, chunks=1) == 38 / 32
    # stride 2, 1x1: one-row bands read every other row, but never less than the input once
    assert _halo(16.0, 2.0, 1.0, 0.0, 32.0, 1.0, 1.0, chunks=1) == 1.0


def test_the_option():
    default, exact = AnalyticalModel(), AnalyticalModel(halo="exact")
    assert default.fingerprint().startswith("f2ce1b49d6e2")  # v3.4's default, unchanged by the option
    assert exact.fingerprint() != default.fingerprint() and "halo" in exact.label
    with pytest.raises(HDXError, match="halo must be density or exact"):
        AnalyticalModel(halo="padded")
