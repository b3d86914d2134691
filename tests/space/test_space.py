"""Network and accelerator spaces: structure, encodings, rules, text forms, bad configs."""

from __future__ import annotations

import numpy as np
import pytest

from hdx.errors import ConfigError, HDXError
from hdx.space import Accelerator, AcceleratorSpace, NetworkSpace
from hdx.space.network import NetworkSpaceConfig

DANCE_LAT = "mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3"


@pytest.fixture(scope="module")
def space() -> NetworkSpace:
    return NetworkSpace.load()


@pytest.fixture(scope="module")
def grid() -> AcceleratorSpace:
    return AcceleratorSpace.load()


def test_dance_space_size(space):
    # 3 stage-first layers take 6 ops (no zero), 6 others take 7: 6^3 * 7^6
    assert space.num_positions == 9
    assert space.size == 6**3 * 7**6 == 25_412_184
    assert [p.zero_allowed for p in space.positions] == [False, True, True] * 3


def test_arch_roundtrip_and_onehot(space):
    a = space.parse_arch(DANCE_LAT)
    assert space.arch_text(a) == DANCE_LAT
    idx = space.encode(a)
    assert space.decode(idx) == a
    oh = space.one_hot(a)
    assert oh.shape == (9, 7) and np.all(oh.sum(1) == 1)
    assert np.all(space.allowed_mask[np.arange(9), idx])


def test_sampling_respects_zero_rule(space):
    idx = space.sample_indices(np.random.default_rng(0), 5000)
    assert np.all(space.allowed_mask[np.arange(9)[None, :], idx])
    zero = space.op_names.index("zero")
    assert not np.any(idx[:, [0, 3, 6]] == zero)
    assert np.any(idx[:, 1] == zero)


def test_zero_at_stage_start_rejected(space):
    with pytest.raises(HDXError, match="first layer of stage"):
        space.parse_arch("zero,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3")


@pytest.mark.parametrize("bad,msg", [("mb4e3", "kernel must be odd"), ("conv9", "unknown op"),
                                     ("mb9e3", "not a candidate")])
def test_bad_ops(space, bad, msg):
    with pytest.raises(HDXError, match=msg):
        space.parse_arch(f"{bad},zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3")


def test_layers_macs_hand_count(space):
    # Hand count for the all-zero-where-allowed net "mb3e3,zero,zero,mb3e3,zero,zero,mb3e3,zero,zero":
    # stem 3x3 3->32 @32x32: 32*32*32*27            =   884,736
    # block0 dw3 32 @32: 32*32*32*9 = 294,912; proj 32->16 @32: 32*32*16*32 = 524,288
    # l0 (16->32,s1,@32): exp 16->48: 1024*48*16=786,432; dw3 48: 1024*48*9=442,368;
    #                      proj 48->32: 1024*32*48=1,572,864
    # l3 (32->64,s2,@32->16): exp 32->96: 1024*96*32=3,145,728; dw3 96 s2 @16: 256*96*9=221,184;
    #                          proj 96->64 @16: 256*64*96=1,572,864
    # l6 (64->128,s2,@16->8): exp 64->192: 256*192*64=3,145,728; dw3 192 s2 @8: 64*192*9=110,592;
    #                          proj 192->128 @8: 64*128*192=1,572,864
    # head 1x1 128->1280 @8: 64*1280*128 = 10,485,760; fc 1280->10 = 12,800
    expected = (884_736 + 294_912 + 524_288 + 786_432 + 442_368 + 1_572_864 + 3_145_728 + 221_184
                + 1_572_864 + 3_145_728 + 110_592 + 1_572_864 + 10_485_760 + 12_800)
    arch = "mb3e3,zero,zero,mb3e3,zero,zero,mb3e3,zero,zero"
    assert space.macs(arch) == expected
    kinds = [ly.kind for ly in space.layers(arch)]
    assert kinds[0] == "conv" and kinds[-1] == "fc" and kinds.count("depthwise") == 4


def test_space_config_inconsistent_strides():
    data = NetworkSpace.load().config.model_dump()
    data["resolution"] = 30
    data["stages"][2]["stride"] = 4
    with pytest.raises(ConfigError, match="stride"):
        from hdx.config import validate
        validate(NetworkSpaceConfig, data, "test")


def test_imagenet_space_loads():
    s = NetworkSpace.load("proxyless_mobile")
    assert s.num_positions == 21 and s.config.resolution == 224
    arch = s.sample(np.random.default_rng(1))
    assert s.layers(arch)[-1].k == 1000


def test_grid(grid):
    assert len(grid) == 8 * 8 * 6 * 3 == 1152
    assert grid.searched_knobs == ("pe_x", "pe_y", "rf_bytes", "dataflow")
    for text in ("16x16,rf=16,df=ws", "12x8,rf=32,df=rs"):  # DANCE's published designs lie inside
        acc = grid.parse(text)
        i = grid.index(acc)
        assert grid[i] == acc and str(acc) == text
        oh = grid.one_hot(i)
        assert grid.from_one_hot(oh) == i
    t = grid.table
    assert len(t) == 1152 and t.accelerator(777) == grid[777]


@pytest.mark.parametrize("text,msg", [("16x16,rf=16", "missing 'df='"), ("16*16,rf=16,df=ws", "PExxPEy"),
                                      ("16x16,rf=16,df=xs", "unknown dataflow"),
                                      ("0x16,rf=16,df=ws", "pe_x.* 1..4096"),
                                      ("16x16,rf=a,df=ws", "must be an integer")])
def test_bad_accel_text(text, msg):
    with pytest.raises(HDXError, match=msg):
        Accelerator.parse(text)


def test_accel_not_in_grid(grid):
    with pytest.raises(HDXError, match="rf_bytes=48 is not in grid"):
        grid.index("16x16,rf=48,df=ws")
