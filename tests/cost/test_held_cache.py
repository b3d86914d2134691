"""The DRAM schedules kept between calls (``hdx.cost.analytical.held_cache``): a model that evaluates the
same layers again, on other designs, other GLB sizes (fewer, more) or with the mapping report, gives bit
for bit what a fresh model gives; the cache stays out of a pickled model and is bounded."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from hdx.cost.analytical import AnalyticalModel
from hdx.cost.analytical import held_cache as hc
from hdx.space.accelerator import AcceleratorSpace
from hdx.space.network import NetworkSpace
from hdx.workload import LayerTable

BIG = AcceleratorSpace.load("dse_large")


def _layers(seed: int) -> LayerTable:
    space = NetworkSpace.load()
    return LayerTable(space.layers(space.decode(space.sample_indices(np.random.default_rng(seed), 1)[0])))


def _designs(seed: int, n: int, glb_kib: tuple[int, ...]):
    """``n`` random designs of ``dse_large`` with their GLB size among ``glb_kib``."""
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(BIG), 40 * n, replace=False))
    t = BIG.table_of(idx)
    keep = np.isin(np.asarray(t.glb_bytes) // 1024, glb_kib)
    return BIG.table_of(idx[keep][:n])


@pytest.mark.parametrize("reuse", ["layer", "tile"])
def test_a_kept_grid_gives_what_a_fresh_model_gives(reuse, assert_same_costs):
    lt = _layers(5)
    model = AnalyticalModel(BIG.hardware, glb_reuse=reuse)
    calls = [(_designs(1, 60, (16, 64, 256)), False),   # a first set of GLB sizes
             (_designs(2, 60, (64,)), False),            # fewer: the kept grid, its sizes' columns
             (_designs(3, 60, (8, 64, 4096)), False),    # more: a grid on the union
             (_designs(4, 60, (16, 4096)), True),        # with the mapping report: a grid of its own
             (_designs(5, 60, (16, 64)), False)]         # the union's grid again
    for acc, mapping in calls:
        assert len(acc) == 60
        got = model.evaluate(lt, acc, mapping=mapping)
        fresh = AnalyticalModel(BIG.hardware, glb_reuse=reuse).evaluate(lt, acc, mapping=mapping)
        assert_same_costs(got, fresh)
    kept = list(model._held._items.values())
    assert {v.size for v, _ in kept} == {5, 2}  # the union of the three calls without fields; with: 2
    # the same designs again (the fronts of the cells reached kept): a fresh model's costs again
    acc = calls[0][0]
    fresh = AnalyticalModel(BIG.hardware, glb_reuse=reuse)
    assert_same_costs(model.evaluate(lt, acc), fresh.evaluate(lt, acc))
    assert_same_costs(model.evaluate(lt, acc), fresh.evaluate(lt, acc))
    model.clear_cache()
    assert not model._held._items


def test_the_cache_is_bounded_and_not_pickled(monkeypatch, assert_same_costs):
    monkeypatch.setattr(hc, "KEEP", 2)
    model = AnalyticalModel(BIG.hardware)
    acc = _designs(7, 40, (32, 128))
    for seed in (11, 12, 13):
        model.evaluate(_layers(seed), acc, mapping=False)
    assert len(model._held._items) == 2
    copy = pickle.loads(pickle.dumps(model))
    assert not copy._held._items
    lt = _layers(13)
    assert_same_costs(copy.evaluate(lt, acc), model.evaluate(lt, acc))
    assert copy.fingerprint() == model.fingerprint()


def test_threads_keep_their_own_grids(assert_same_costs, monkeypatch):
    # eviction in one thread never touches another's grids (a shared LRU raised KeyError: a review)
    import threading

    monkeypatch.setattr(hc, "KEEP", 1)
    model = AnalyticalModel(BIG.hardware)
    acc = _designs(9, 30, (16, 64))
    nets = [_layers(s) for s in (21, 22, 23, 24)]
    want = [AnalyticalModel(BIG.hardware).evaluate(lt, acc, mapping=False) for lt in nets]
    got: dict[int, list] = {}
    errors: list[BaseException] = []

    def run(t: int) -> None:
        try:
            got[t] = [model.evaluate(nets[(t + i) % 4], acc, mapping=False) for i in range(4)]
        except BaseException as e:  # noqa: BLE001  (reported below)
            errors.append(e)
    threads = [threading.Thread(target=run, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    for t, res in got.items():
        for i, r in enumerate(res):
            assert_same_costs(r, want[(t + i) % 4])


def test_buffering_with_stalls_is_not_kept():
    # zigzag's and mixed's grids are not computed per GLB size alone: built per call, never kept
    model = AnalyticalModel(BIG.hardware, glb_reuse="layer", glb_buffering="zigzag")
    model.evaluate(_layers(3), _designs(8, 20, (32, 64)), mapping=False)
    assert not model._held._items


@pytest.mark.parametrize("buffering", ["double", "zigzag"])
def test_dram_words_bound_uses_the_kept_grid(buffering, monkeypatch):
    # the branch and bound asks for the DRAM-word bounds per slice of designs: the grid of its layers is
    # built once and each later slice reads it, with what a fresh model gives
    from hdx.cost.analytical import memory

    built = []
    real = memory.held_grid
    monkeypatch.setattr(hc, "held_grid", lambda *a, **k: built.append(1) or real(*a, **k))
    lt = _layers(6)
    opts = dict(glb_buffering=buffering, glb_reuse="tile" if buffering == "double" else "layer")
    model = AnalyticalModel(BIG.hardware, **opts)
    for seed, sizes in ((1, (16, 64, 256)), (2, (64,)), (3, (8, 4096)), (4, (16, 256))):
        acc = _designs(seed, 50, sizes)
        got = model.dram_words(lt, acc)
        want = AnalyticalModel(BIG.hardware, **opts).dram_words(lt, acc)
        np.testing.assert_array_equal(got, want)
    assert len(built) == 2 + 4  # this model's: the first sizes and their union with 8 and 4096 KiB
