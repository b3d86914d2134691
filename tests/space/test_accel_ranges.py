"""Large accelerator spaces: knob ranges in YAML, the GLB bandwidth knob and its text form, slices of a
space that no table holds, and one-line errors for hostile values."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hdx.config import load_config
from hdx.errors import ConfigError, HDXError
from hdx.space.accelerator import (
    MAX_GRID,
    Accelerator,
    AcceleratorSpace,
    AcceleratorSpaceConfig,
    AccelTable,
    expand_range,
)


def _space(**knobs) -> AcceleratorSpace:
    base = dict(pe_x=[4, 8], pe_y=[4, 8], rf_bytes=[16, 64], dataflow=["ws", "rs"])
    return AcceleratorSpace(AcceleratorSpaceConfig(name="t", knobs={**base, **knobs}))


def test_ranges_expand_linear_and_geometric():
    assert expand_range({"from": 4, "to": 64, "step": 2}, True) == list(range(4, 65, 2))
    assert expand_range({"from": 8, "to": 4096, "times": 2}, True) == [8 * 2**i for i in range(10)]
    assert expand_range({"from": 8, "to": 100, "times": 2}, True) == [8, 16, 32, 64]
    assert expand_range({"from": 4, "to": 8, "step": 1.5}, False) == [4, 5.5, 7]
    assert expand_range([3, 1], True) == [3, 1]  # a list is taken as it is (then sorted by the model)


def test_shipped_large_space():
    big = AcceleratorSpace.load("dse_large")
    assert len(big) == 31 * 31 * 7 * 3 * 10 * 5 == 1_009_050
    assert big.knob_values["glb_kib"] == tuple(8 * 2**i for i in range(10))
    assert big.searched_knobs == ("pe_x", "pe_y", "rf_bytes", "dataflow", "glb_kib", "glb_bw")
    with pytest.raises(HDXError, match=f"more than the {MAX_GRID} one cost table holds"):
        _ = big.table
    # a slice of a space too large for one table: the same designs as indexing one by one
    idx = np.array([0, 1, 4999, 123_456, len(big) - 1])
    sl = big.table_of(idx)
    for n, i in enumerate(idx):
        assert sl.accelerator(n) == big[int(i)]
        assert big.index(big[int(i)]) == i


def test_bandwidth_text_round_trip_and_index():
    sp = _space(glb_kib=[32, 128], glb_bw=[8, 32])
    for i in range(len(sp)):
        acc = sp[i]
        assert acc.glb_bw in (8.0, 32.0)
        assert sp.index(sp.parse(acc.text(with_glb=True))) == i
    assert str(Accelerator(16, 16, 64, "rs", 64, 16.0)) == "16x16,rf=64,df=rs,glb=64,bw=16"
    assert Accelerator.parse("16x16,rf=64,df=rs,bw=2.5").glb_bw == 2.5
    assert sp.parse("4x4,rf=16,df=ws").glb_bw == 8.0  # the space's first bandwidth
    # a space without the knob: designs carry none, and the template's bandwidth prices them
    plain = _space()
    assert plain[0].glb_bw is None and "bw=" not in str(plain[0])
    tab = AccelTable.from_accels([plain[0]])
    assert tab.bandwidth(plain.hardware)[0] == plain.hardware.glb_words_per_cycle


@pytest.mark.parametrize("name", ["eyeriss_like", "eyeriss_pads", "dse_large", "dse_pads"])
def test_printed_designs_read_back_as_themselves(name):
    """Every design's text (as `hdx cost`, the search and the report print it) parses back to the same
    design of its space — also the 128 KiB designs of a space whose first GLB size is another, whose
    text leaves out glb= (run records, reports and exports read the design back from that text)."""
    sp = AcceleratorSpace.load(name)
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(sp), 200)
    if 128 in sp.knob_values["glb_kib"]:  # the designs whose text has no glb=
        g = sp.knob_values["glb_kib"].index(128)
        plain = (i for i in range(len(sp)) if sp.knob_indices(i)[7] == g)
        idx = np.concatenate([idx, list(itertools.islice(plain, 50))])  # the first 50 (no walk of all)
    for i in idx:
        assert sp.index(sp.parse(str(sp[int(i)]))) == i, str(sp[int(i)])
    other = _space(glb_kib=[32, 64])  # no 128 KiB: a missing glb= is the first size
    assert other.parse("4x4,rf=16,df=ws").glb_kib == 32


def test_fingerprint_of_a_space_without_the_new_knob_is_unchanged():
    """Spaces written before glb_bw existed dump (and so hash) exactly as they did."""
    assert "glb_bw" not in AcceleratorSpace.load().config.knobs.model_dump()
    assert "glb_bw" in _space(glb_bw=[8]).config.knobs.model_dump()


@pytest.mark.parametrize("knob,value,msg", [
    ("pe_x", {"from": 1, "to": 10**9, "step": 1}, "more than 4096"),
    ("glb_kib", {"from": 1, "to": 10**300, "times": 1.0000001}, "more than 4096"),
    ("pe_x", {"from": 4, "to": 64, "step": 0}, "step must be > 0"),
    ("pe_x", {"from": 4, "to": 64, "step": -2}, "step must be > 0"),
    ("glb_kib", {"from": 8, "to": 64, "times": 1}, "times must be > 1"),
    ("pe_x", {"from": 8, "to": 4, "step": 1}, "0 < from <= to"),
    ("pe_x", {"from": 4, "to": 64}, "a range is"),
    ("pe_x", {"from": 4, "to": 64, "step": 2, "times": 2}, "a range is"),
    ("pe_x", {"from": 4, "to": 64, "stride": 2}, "a range is"),
    ("pe_x", {"from": 4.5, "to": 64, "step": 2}, "must be an integer"),
    ("pe_x", {"from": True, "to": 64, "step": 2}, "finite number"),
    ("pe_x", {"from": "4", "to": 64, "step": 2}, "finite number"),
    ("glb_bw", [0], "values must be in"),
    ("glb_bw", [8, 8], "distinct"),
    ("pe_x", {"from": 4, "to": 8192, "step": 4}, "values must be in"),
])
def test_hostile_ranges_are_one_line_errors(tmp_path, knob, value, msg):
    import yaml

    knobs = {"pe_x": [4], "pe_y": [4], "rf_bytes": [16], "dataflow": ["ws"], knob: value}
    d = {"name": "bad", "knobs": knobs}
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(d))
    with pytest.raises(ConfigError, match=msg) as e:
        load_config(AcceleratorSpaceConfig, p, "accelerator")
    assert "\n" not in str(e.value)


def test_space_size_limit():
    with pytest.raises(Exception, match="more than 1000000000000"):
        _space(pe_x={"from": 1, "to": 4096, "step": 1}, pe_y={"from": 1, "to": 4096, "step": 1},
               rf_bytes={"from": 1, "to": 1024, "step": 1}, glb_kib={"from": 1, "to": 64, "step": 1})


@pytest.mark.parametrize("text,msg", [
    ("16x16,rf=64,df=ws,bw=0", "glb_bw"),
    ("16x16,rf=64,df=ws,bw=1e999", "bw"),
    ("16x16,rf=64,df=ws,bw=nan", "bw"),
    ("16x16,rf=64,df=ws,bw=-4", "bw"),
    ("16x16,rf=64,df=ws,bw=8,bw=8", "given twice"),
])
def test_bad_bandwidth_text(text, msg):
    with pytest.raises(HDXError, match=msg):
        Accelerator.parse(text)
