"""Entries with the same inputs share one solution of their DRAM schedule and GLB-level order
(hdx.cost.analytical.distinct): it must change no cost, no chosen mapping and no bound. Checked bit for bit
against the same model with the sharing off, on random layers and on designs of a few kinds (the same
array, GLB and bandwidth) with several RF sizes or pads each, in a shuffled order, under every GLB
buffering and reuse option; and the run finding itself by hand."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hdx.cost.analytical import AnalyticalModel, distinct
from hdx.space.accelerator import DATAFLOWS, Accelerator, AcceleratorSpace, AccelTable
from hdx.space.network import NetworkSpace
from hdx.workload import Layer, LayerTable

# the double buffering's (eyeriss_like's own is zigzag): the options below are given explicitly
HW = AcceleratorSpace.load().hardware.model_copy(update={"glb_buffering": "double"})
OPTIONS = ({}, {"glb_reuse": "tile"}, {"glb_buffering": "zigzag"}, {"glb_buffering": "mixed"},
           {"glb_buffering": "zigzag", "glb_reuse": "tile"},
           {"glb_buffering": "single"}, {"mapper_tiles": "any"}, {"dram_tiles": "free"},
           {"mapper_objective": "energy"})


SPACE = NetworkSpace.load()


def _layers(rng: np.random.Generator, n: int) -> LayerTable:
    """The distinct layers of ``n`` random networks of the default space (convolutions, depthwise and
    pointwise layers of CIFAR-10 networks)."""
    layers = [ly for idx in SPACE.sample_indices(rng, n) for ly in SPACE.layers(SPACE.decode(idx))]
    return LayerTable(list(dict.fromkeys(layers)))


def _kinds(rng: np.random.Generator, n_kinds: int) -> AccelTable:
    """Designs of ``n_kinds`` kinds, each with 2-5 RF sizes or pads, shuffled."""
    out = []
    for _ in range(n_kinds):
        x, y, df = int(rng.integers(2, 34)), int(rng.integers(2, 34)), DATAFLOWS[rng.integers(3)]
        glb, bw = int(rng.choice([8, 32, 128, 512])), float(rng.choice([4, 16, 32]))
        for _ in range(int(rng.integers(2, 6))):
            if df == "rs" and rng.random() < 0.5:
                pads = tuple(int(v) for v in rng.choice([2, 4, 8, 16, 48, 96, 448], size=3))
                out.append(Accelerator(x, y, sum(pads), df, glb_kib=glb, glb_bw=bw, pads=pads))
            else:
                out.append(Accelerator(x, y, int(rng.choice([8, 16, 24, 32, 64, 128, 256, 512])), df,
                                       glb_kib=glb, glb_bw=bw))
    rng.shuffle(out)
    return AccelTable.from_accels(out)


def _count_runs(mp: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Record (entries, runs solved) of every call of the sharing (a list filled as the model runs)."""
    runs: list[tuple[int, int]] = []
    real = distinct.distinct

    def counted(cols, m):
        out = real(cols, m)
        runs.append((m, m if out is None else out[0].size))
        return out
    mp.setattr("hdx.cost.analytical.schedule.distinct", counted)
    return runs


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(OPTIONS))
def test_shared_entries_give_the_same_costs_mappings_and_bounds(assert_same_costs, seed, options):
    rng = np.random.default_rng(seed)
    layers, accels = _layers(rng, 2), _kinds(rng, 8)
    model = AnalyticalModel(HW, **options)
    settings_of = AnalyticalModel.settings.fget
    with pytest.MonkeyPatch.context() as mp:
        # shared under every option (the model shares only where it pays: the bits must not depend on it)
        mp.setattr(AnalyticalModel, "settings", property(lambda self: replace(settings_of(self), share=True)))
        runs = _count_runs(mp)
        shared, shared_bounds = model.evaluate(layers, accels), model.mapping_bounds(layers, accels)
        mp.setattr(distinct, "SHARE", False)
        alone, alone_bounds = model.evaluate(layers, accels), model.mapping_bounds(layers, accels)
    assert_same_costs(shared, alone, shared_bounds, alone_bounds)
    assert any(u < m for m, u in runs), "no entries were shared: the test would not see a wrong share"


def test_shared_where_each_schedule_is_a_search():
    assert not AnalyticalModel(HW).settings.share
    assert not AnalyticalModel(HW, glb_buffering="single").settings.share
    for options in ({"glb_reuse": "tile"}, {"glb_buffering": "zigzag"}, {"glb_buffering": "mixed"}):
        assert AnalyticalModel(HW, **options).settings.share, options


def test_the_grid_shares_most_entries():
    """On the default grid (8 × 8 arrays × 6 RF sizes per dataflow) the same tile recurs on bigger RFs."""
    rng = np.random.default_rng(0)
    grid = AcceleratorSpace.load()
    with pytest.MonkeyPatch.context() as mp:
        runs = _count_runs(mp)
        AnalyticalModel(grid.hardware, glb_reuse="tile").evaluate(_layers(rng, 3), grid.table)
    m, u = (sum(v) for v in zip(*runs, strict=True))
    assert u < 0.6 * m


def test_runs_by_hand():
    a = np.array([1.0, 1.0, 2.0, 2.0, 2.0, 1.0], dtype=np.float32)
    b = np.array([5, 5, 5, 6, 6, 6])
    first, inv = distinct.distinct([a, b, 3.0], 6)  # a scalar is the same for every entry
    np.testing.assert_array_equal(first, [0, 2, 3, 5])
    np.testing.assert_array_equal(inv, [0, 0, 1, 2, 2, 3])
    # equal values of different bits (a signed zero, a NaN of another payload) are not the same input
    z = np.array([0.0, -0.0, 0.0, 0.0])
    nan = np.array([1.0, 1.0, np.nan, np.nan])
    nan[3] = np.frombuffer(np.uint64(0x7FF8000000000001).tobytes(), dtype=np.float64)[0]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(distinct, "WORTH", 1.0)
        first, inv = distinct.distinct([z], 4)
        np.testing.assert_array_equal(first, [0, 1, 2])
        first, inv = distinct.distinct([nan], 4)
        np.testing.assert_array_equal(first, [0, 2, 3])
    # the results of the runs spread back to every entry; scalars and None stay as they are
    out = distinct.spread(({"w": np.array([10.0, 20.0, 30.0, 40.0])}, 0.0, None, np.array([[1, 2, 3, 4]])),
                          np.array([0, 0, 1, 2, 2, 3]), 4)
    np.testing.assert_array_equal(out[0]["w"], [10, 10, 20, 30, 30, 40])
    assert out[1] == 0.0 and out[2] is None
    np.testing.assert_array_equal(out[3], [[1, 1, 2, 3, 3, 4]])


def test_no_sharing_where_it_does_not_pay():
    a = np.arange(10.0)
    assert distinct.distinct([a], 10) is None
    assert distinct.distinct([np.ones(1)], 1) is None
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(distinct, "SHARE", False)
        assert distinct.distinct([np.ones(10)], 10) is None


@pytest.mark.parametrize("options", [{"glb_reuse": "tile"}, {"glb_reuse": "tile", "glb_buffering": "single"},
                                     {"glb_reuse": "tile", "mapper_objective": "energy"}])
def test_tile_runs_whose_choice_turns_on_the_pe_energy_are_solved_per_entry(assert_same_costs, options):
    # under glb_reuse="tile" the choice weighs each entry's PE-local refills, whose energy differs with the
    # RF or pads: a run is solved with its first entry's, and where another (order, member) ties with the
    # choice in latency its other entries are solved on their own. The same bits as no sharing, on the
    # grid's designs (six RF sizes per array) and on designs of many kinds with pads
    from hdx.cost.analytical import schedule

    rng = np.random.default_rng(7)
    layers = _layers(rng, 3)
    redone = []
    real = schedule._put

    def counted(res, idx, part):
        redone.append(idx.size)
        return real(res, idx, part)
    for accels in (AcceleratorSpace.load().table, _kinds(rng, 40)):
        model = AnalyticalModel(HW, **options)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(schedule, "_put", counted)
            shared, shared_bounds = model.evaluate(layers, accels), model.mapping_bounds(layers, accels)
            mp.setattr(distinct, "SHARE", False)
            alone, alone_bounds = model.evaluate(layers, accels), model.mapping_bounds(layers, accels)
        assert_same_costs(shared, alone, shared_bounds, alone_bounds)
    assert sum(redone) > 0  # (runs were solved again per entry: the path is exercised)


def test_a_run_whose_choice_differs_with_the_rf():
    # the stem conv on 21x18 RS designs, 16 KiB, 32 words/cycle, RF 8-512 bytes: one run; solved with
    # the first design's PE energy alone, the 512-byte design's energy came out 0.75 % high
    accels = AccelTable.from_accels([Accelerator(21, 18, rf, "rs", glb_kib=16, glb_bw=32)
                                     for rf in (8, 16, 32, 64, 128, 256, 512)])
    layer = LayerTable([Layer("conv", c=3, k=32, h=32, w=32, r=3, s=3, padding=1)])
    model = AnalyticalModel(HW, glb_reuse="tile")
    shared = model.evaluate(layer, accels)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(distinct, "SHARE", False)
        alone = model.evaluate(layer, accels)
    np.testing.assert_array_equal(shared.energy_total_pj, alone.energy_total_pj)
    np.testing.assert_array_equal(shared.mapping["dram_kt"], alone.mapping["dram_kt"])


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 20000), st.lists(st.integers(0, 19999), min_size=1, max_size=400))
def test_unique_ints_is_numpys_unique(size, raw):
    """The table-marking unique (no sort) gives np.unique's values and inverse, and an entry of each
    value, on small and large tables (above 8 keys per table cell it falls back to np.unique)."""
    keys = np.asarray([k % size for k in raw], dtype=np.int64)
    uniq, held, inv = distinct.unique_ints(keys, size)
    u2, _, inv2 = np.unique(keys, return_index=True, return_inverse=True)
    assert np.array_equal(uniq, u2) and np.array_equal(inv, inv2.reshape(-1))
    assert np.array_equal(keys[held], uniq)
