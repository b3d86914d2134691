"""The mapper evaluates each distinct (candidate tile, layer, accelerator) entry once
(hdx.cost.analytical.mapper.Flat): skipping a candidate whose tile equals an earlier one's on a pair, and
the illegal RS tiles, must change no cost and no chosen mapping. Checked against the same model with the
deduplication off (every candidate on every pair), bit for bit, on random layers and designs with random
GLB sizes and bandwidths, for every mapper objective, space and tile rule."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hdx.cost.analytical import AnalyticalModel, dataflows
from hdx.cost.analytical.mapper import Flat, first_of_runs
from hdx.space.accelerator import DATAFLOWS, Accelerator, AcceleratorSpace, AccelTable
from hdx.workload import Layer, LayerTable

# the double buffering's (eyeriss_like's own is zigzag): the options below are given explicitly
HW = AcceleratorSpace.load().hardware.model_copy(update={"glb_buffering": "double"})
KINDS = ("conv", "depthwise", "pointwise", "fc")


def _layers(rng: np.random.Generator, n: int) -> LayerTable:
    out = []
    for _ in range(n):
        kind = KINDS[rng.integers(len(KINDS))]
        c = int(rng.choice([1, 3, 8, 16, 24, 48, 96, 160, 384]))
        k = c if kind == "depthwise" else int(rng.choice([8, 10, 16, 40, 64, 96, 128, 320, 1280]))
        hw = 1 if kind == "fc" else int(rng.choice([1, 4, 7, 8, 14, 16, 28, 32]))
        r = 1 if kind in ("pointwise", "fc") else int(rng.choice([1, 3, 5, 7]))
        stride = int(rng.choice([1, 2])) if kind in ("conv", "depthwise") else 1
        out.append(Layer(kind, c=c, k=k, h=hw, w=hw, r=r, s=r, stride=stride, padding=r // 2,
                         groups=c if kind == "depthwise" else 1))
    return LayerTable(out)


def _designs(rng: np.random.Generator, n: int) -> AccelTable:
    return AccelTable.from_accels([
        Accelerator(int(rng.integers(2, 40)), int(rng.integers(2, 40)), int(rng.choice([8, 16, 32, 64, 256])),
                    DATAFLOWS[rng.integers(3)], glb_kib=int(rng.choice([8, 32, 128, 1024])),
                    glb_bw=float(rng.choice([2, 8, 32]))) for _ in range(n)])


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["latency", "energy", "edp"]),
       st.sampled_from(["full", "taps-innermost"]), st.sampled_from(["divisors", "any"]))
def test_deduplicated_entries_give_the_same_costs_and_mappings(assert_same_costs, seed, objective, space,
                                                               tiles):
    rng = np.random.default_rng(seed)
    layers, accels = _layers(rng, 12), _designs(rng, 24)
    model = AnalyticalModel(HW, mapper_objective=objective, mapper_space=space, mapper_tiles=tiles)
    fast, bounds = model.evaluate(layers, accels), model.mapping_bounds(layers, accels)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(dataflows, "DEDUPLICATE", False)
        full, full_bounds = model.evaluate(layers, accels), model.mapping_bounds(layers, accels)
    assert_same_costs(fast, full, bounds, full_bounds)


def test_costs_without_the_mapping_report_are_the_same(assert_same_costs):
    rng = np.random.default_rng(3)
    layers, accels = _layers(rng, 16), _designs(rng, 40)
    model = AnalyticalModel(HW)
    with_map, without = model.evaluate(layers, accels), model.evaluate(layers, accels, mapping=False)
    assert with_map.mapping is not None and without.mapping is None
    assert_same_costs(with_map, without, subset=True)


def test_first_of_runs_marks_the_first_of_each_run_of_equal_values():
    v = np.array([[1, 5], [1, 5], [2, 5], [2, 6], [1, 6]])
    np.testing.assert_array_equal(first_of_runs(v, 0), [[True, True], [False, False], [True, False],
                                                        [False, True], [True, False]])
    np.testing.assert_array_equal(first_of_runs(v.T, 1), first_of_runs(v, 0).T)


@pytest.mark.parametrize("shape", [(3, 4, 5), (3, 4, 1), (3, 1, 5), (1, 4, 5), (4, 5), (4, 1), (1, 5)])
def test_flat_gathers_like_broadcast_indexing(shape):
    rng = np.random.default_rng(0)
    keep = rng.random((3, 4, 5)) < 0.4
    fl = Flat(keep, [7, 8, 9])
    x = rng.random(shape)
    c, l_, a = np.nonzero(keep)
    want = np.broadcast_to(x, keep.shape)[c, l_, a]
    np.testing.assert_array_equal(fl(x), want)
    np.testing.assert_array_equal(fl.gid, np.asarray([7, 8, 9])[c])
    np.testing.assert_array_equal(fl.pair, l_ * 5 + a)
    sub = fl.subset(np.arange(0, len(fl), 2))
    np.testing.assert_array_equal(sub(x), want[::2])
    other = (2 - c) % 3  # another index into x's first axis
    np.testing.assert_array_equal(fl(x, other), np.broadcast_to(x, keep.shape)[other, l_, a])


def _rs_pad_designs(rng: np.random.Generator, n: int) -> AccelTable:
    # RS designs with their RF as three pads of random sizes (bytes), random GLB sizes and bandwidths
    out = []
    for _ in range(n):
        pads = tuple(int(rng.choice(v)) for v in ((4, 8, 16, 32, 64, 128, 226), (2, 4, 6, 12, 32),
                                                  (2, 4, 8, 18, 64)))
        out.append(Accelerator(int(rng.integers(2, 33)), int(rng.integers(2, 33)), sum(pads), "rs",
                               glb_kib=int(rng.choice([8, 32, 128, 1024])),
                               glb_bw=float(rng.choice([4, 8, 16, 32])), pads=pads))
    return AccelTable.from_accels(out)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["free", "shared"]), st.sampled_from(["divisors", "any"]),
       st.sampled_from(["hold-array", "free"]))
def test_pruned_fill_counts_cost_the_same_as_every_count(seed, psum_port, tiles, dram_tiles):
    # with the GLB port counted per fill, an RS entry keeps only the fewer-filter counts that no larger
    # count matches (dataflows._fill_counts): trying every count instead must find the same costs
    rng = np.random.default_rng(seed)
    layers = _layers(rng, 12)
    accels = _rs_pad_designs(rng, 16) if seed % 2 else _designs(rng, 24)
    model = AnalyticalModel(HW, glb_port="fill", psum_port=psum_port, mapper_tiles=tiles,
                            dram_tiles=dram_tiles)
    pruned = model.evaluate(layers, accels, mapping=False)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(dataflows, "PRUNE_FILL_COUNTS", False)
        every = model.evaluate(layers, accels, mapping=False)
    np.testing.assert_allclose(pruned.latency_cycles, every.latency_cycles, rtol=1e-6)
    np.testing.assert_allclose(pruned.energy_total_pj, every.energy_total_pj, rtol=1e-6)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_fewer_filters_variants_and_next_smaller_rung_by_definition(seed):
    # dataflows._fewer_filters: after the entries, one variant per rung of the DRAM ladder that holds fewer
    # filters than the rung before (min(cap, k)); with lower=True also, per entry and variant, the most
    # filters below its own that any rung holds (_fill_counts tries no fewer) — checked by brute force
    rng = np.random.default_rng(seed)
    n_j, shape = 7, (3, 4, 5)
    keep = rng.random(shape) < 0.6
    fl = Flat(keep, np.arange(shape[0]))
    caps = -np.sort(-rng.integers(0, 40, size=(n_j, *shape[1:])).astype(np.float64), axis=0)  # falling
    m = len(fl)
    k = rng.integers(1, 48, size=m).astype(np.float64)
    q, c, s_, w_ext = (rng.integers(1, 9, size=m).astype(np.float64) for _ in range(4))
    out, q2, c2, s2, k2, w2, lower = dataflows._fewer_filters(fl, caps, q, c, s_, k, w_ext, sub=10,
                                                              lower=True)
    at_pair = caps.reshape(n_j, -1)
    want_k, want_at, want_gid = list(k), list(range(m)), list(fl.gid)
    for j in range(n_j):  # the variants rung by rung, as _fewer_filters orders them
        for e in range(m):
            kv = min(at_pair[j, fl.pair[e]], k[e])
            before = k[e] if j == 0 else min(at_pair[j - 1, fl.pair[e]], k[e])
            if 1 <= kv < before:
                want_k.append(kv)
                want_at.append(e)
                want_gid.append(fl.gid[e] + (j + 1) * 10)
    np.testing.assert_array_equal(k2, want_k)
    np.testing.assert_array_equal(out.pair, fl.pair[want_at])
    np.testing.assert_array_equal(out.gid, want_gid)
    for a, b in ((q2, q), (c2, c), (s2, s_), (w2, w_ext)):
        np.testing.assert_array_equal(a, b[want_at])
    for i, (e, kk) in enumerate(zip(want_at, want_k, strict=True)):
        below = [v for v in at_pair[:, fl.pair[e]] if v < kk]
        assert lower[i] == (max(below) if below else 0.0)
