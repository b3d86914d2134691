"""The cost table of a space beyond one cost-model call (hdx.cost.table_build): built in slices, in a
process pool, cached and resumable; the same numbers as the one-call table and as the cost model."""

from __future__ import annotations

import numpy as np
import pytest

from hdx.cost.analytical import AnalyticalModel
from hdx.cost.table import CostTable
from hdx.cost.table_build import table_bytes
from hdx.errors import HDXError
from hdx.metrics import cycles_to_ms, pj_to_mj
from hdx.space.accelerator import AcceleratorSpace
from hdx.space.network import NetworkSpace
from hdx.workload import LayerTable


@pytest.fixture(scope="module")
def setup():
    space = NetworkSpace.load("dance_cifar10")
    grid = AcceleratorSpace.load("eyeriss_like")
    model = AnalyticalModel(grid.hardware)
    return space, grid, model, CostTable.build(space, grid, model)


def test_sliced_table_is_the_cost_model(setup, tmp_path):
    """Networks on the sliced table = the model on the network's own layers (an independent path: no
    table, no grouping), and = the one-call table, within float32 rounding."""
    space, grid, model, full = setup
    sliced = CostTable.sliced(space, grid, model, slice_designs=257)
    assert sliced.per_op.dtype == np.float32 and sliced.per_op.shape[-1] == 2
    rng = np.random.default_rng(3)
    archs = space.sample_indices(rng, 6)
    got = sliced.network(archs)
    ref = full.network(archs)
    for k in ("latency", "energy", "area"):
        np.testing.assert_allclose(got[k], ref[k], rtol=2e-6)
    cols = rng.choice(len(grid), 5, replace=False)
    for b, arch in enumerate(archs):
        lt = LayerTable(space.layers(space.decode(arch)))
        c = model.evaluate(lt, grid.table_of(cols))
        np.testing.assert_allclose(got["latency"][b, cols],
                                   cycles_to_ms(c.latency_cycles.sum(0), c.clock_mhz), rtol=2e-6)
        np.testing.assert_allclose(got["energy"][b, cols], pj_to_mj(c.energy_total_pj.sum(0)), rtol=2e-6)
    # expected costs under soft distributions and the per-design minimum agree too
    p = rng.random((3, space.num_positions, space.num_ops)) * space.allowed_mask
    p /= p.sum(-1, keepdims=True)
    e1, e2 = sliced.expected(p), full.expected(p)
    for k in ("latency", "energy"):
        np.testing.assert_allclose(e1[k], e2[k], rtol=2e-6)
        np.testing.assert_allclose(sliced.min_per_accel(k)[0], full.min_per_accel(k)[0], rtol=2e-6)
    for t, compact in ((sliced, True), (full, False)):
        assert table_bytes(space, grid, compact) == t.per_op.nbytes + t.fixed.nbytes + t.area_um2.nbytes


def test_workers_and_cache_give_the_same_table(setup, tmp_path):
    space, grid, model, _ = setup
    lines: list[str] = []
    a = CostTable.sliced(space, grid, model, slice_designs=400, workers=2, cache=tmp_path, log=lines.append)
    assert "built" in lines[-1]
    b = CostTable.sliced(space, grid, model, slice_designs=400, cache=tmp_path, log=lines.append)
    assert "loaded" in lines[-1]
    assert np.array_equal(a.per_op, b.per_op) and np.array_equal(a.fixed, b.fixed)
    # a damaged cache file is rebuilt, never trusted: truncated, or a NaN written into it
    (folder,) = (tmp_path / "tables").glob("*.table")
    f = folder / "per_op.npy"
    f.write_bytes(f.read_bytes()[:1000])
    c = CostTable.sliced(space, grid, model, slice_designs=400, cache=tmp_path, log=lines.append)
    assert "built" in lines[-1] and np.array_equal(a.per_op, c.per_op)
    m = np.load(f, mmap_mode="r+")
    m[3, 2, 7, 0] = np.nan
    m.flush()
    del m
    d = CostTable.sliced(space, grid, model, slice_designs=400, cache=tmp_path, log=lines.append)
    assert "built" in lines[-1] and np.array_equal(a.per_op, d.per_op)
    # a metadata file that is not the table's (not JSON, another format, a clock that is no number)
    import json

    for meta in ("{not json", json.dumps([1, 2]), json.dumps({"format": 2, "designs": len(grid),
                                                               "clock_mhz": float("nan")})):
        (folder / "meta.json").write_text(meta)
        e = CostTable.sliced(space, grid, model, slice_designs=400, cache=tmp_path, log=lines.append)
        assert "built" in lines[-1] and np.array_equal(a.per_op, e.per_op) and e.clock_mhz == a.clock_mhz


def test_table_on_disk_is_the_table_in_memory(setup, tmp_path):
    """A table kept on disk (memory-mapped) gives bit for bit the in-memory table's networks, expected
    costs, exhaustive optima and per-design minima; it pickles as paths (a worker maps it again); the
    exact oracle refuses it in one line."""
    import pickle

    space, grid, model, _ = setup
    mem = CostTable.sliced(space, grid, model, slice_designs=500, cache=tmp_path)
    disk = CostTable.sliced(space, grid, model, slice_designs=500, cache=tmp_path, on_disk=True)
    assert disk.on_disk and not mem.on_disk and isinstance(disk.per_op, np.memmap)
    archs = space.sample_indices(np.random.default_rng(8), 5)
    for k, v in mem.network(archs).items():
        assert np.array_equal(disk.network(archs)[k], v)
    p = np.random.default_rng(9).random((3, space.num_positions, space.num_ops)) * space.allowed_mask
    p /= p.sum(-1, keepdims=True)
    obj = [mem.objective("edap"), mem.objective("latency")]
    assert all(np.array_equal(x, y) for x, y in zip(mem.best(p, obj), disk.best(p, obj), strict=True))
    for metric in ("latency", "energy", "area"):
        for x, y in zip(mem.min_per_accel(metric), disk.min_per_accel(metric), strict=True):
            assert np.array_equal(x, y)
    blob = pickle.dumps(disk)
    assert len(blob) < 100_000 < disk.per_op.nbytes  # paths, not the arrays
    back = pickle.loads(blob)
    assert back.on_disk and np.array_equal(back.network(archs)["latency"], mem.network(archs)["latency"])
    with pytest.raises(HDXError, match="kept on disk"):
        disk.torch_view()
    with pytest.raises(HDXError, match="cache folder"):
        CostTable.sliced(space, grid, model, slice_designs=500, on_disk=True)


def test_a_killed_build_resumes_from_its_slices(setup, tmp_path, monkeypatch):
    import hdx.cost.table_build as tb

    space, grid, model, _ = setup
    real, calls = tb._slice, []

    def dies_on_third(i):
        calls.append(i)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(i)

    monkeypatch.setattr(tb, "_slice", dies_on_third)
    with pytest.raises(KeyboardInterrupt):
        CostTable.sliced(space, grid, model, slice_designs=300, cache=tmp_path)
    monkeypatch.setattr(tb, "_slice", real)
    lines: list[str] = []
    t = CostTable.sliced(space, grid, model, slice_designs=300, cache=tmp_path, log=lines.append)
    assert "2 of 4 slices from an earlier run" in lines[-1]
    ref = CostTable.sliced(space, grid, model, slice_designs=300)
    assert np.array_equal(t.per_op, ref.per_op)
    assert not list((tmp_path / "tables").glob("*.parts"))  # the slices are gone once assembled


def test_large_table_batches_match_small(setup, monkeypatch):
    """The position-by-position sum of a large table (bounded temporaries) = the one-gather sum."""
    import hdx.cost.table as ct

    space, grid, _, full = setup
    archs = space.sample_indices(np.random.default_rng(5), 9)
    ref = full.network_additive(archs)
    monkeypatch.setattr(ct, "MAX_BATCH_CELLS", 3000)
    np.testing.assert_allclose(full.network_additive(archs), ref, rtol=1e-12)
    opt = full.optimal(archs, full.objective("edap"))
    assert np.array_equal(opt["accel_index"], full.objective("edap").of(full.network(archs)).argmin(1))


def test_search_beyond_one_table(tmp_path, monkeypatch, tiny_config, big_space_yaml):
    """A space beyond MAX_GRID designs (here: the limit lowered to 100) is searched end to end on its
    sliced table without ever building the whole AccelTable; a table over table_memory_mb is refused."""
    import hdx.cost.table as ct
    import hdx.space.accelerator as acc
    from hdx.search.config import load_search_config
    from hdx.search.loop import run_search
    from hdx.search.setup import prepare

    monkeypatch.setattr(acc, "MAX_GRID", 100)
    monkeypatch.setattr(ct, "MAX_GRID", 100)
    conf = tiny_config(tmp_path, epochs=2, budgets=["latency<=0.09ms"])
    cfg = load_search_config(str(conf))
    setup = prepare(cfg)
    assert setup.table.per_op.dtype == np.float32 and setup.table.num_accels == 1152
    assert any("cost table of 1152 designs" in n for n in setup.notes)
    run_search(cfg, tmp_path / "run")
    import json

    final = json.loads((tmp_path / "run" / "final.json").read_text())
    assert final["accelerator"]["feasible"] is True
    small = load_search_config(str(conf), {"table_memory_mb": 1})
    monkeypatch.setattr(acc, "MAX_GRID", 1)
    with pytest.raises(HDXError, match="table_memory_mb"):
        big = big_space_yaml(tmp_path, pe_to=64, glb_kib=(8, 4096), glb_bw=(4, 8, 16, 32, 64))
        bigger = small.model_copy(update={"accel_space": big})
        prepare(bigger)


def test_slices_as_ray_tasks(setup, tmp_path, ray_local):
    """The slices as Ray tasks give the same table, and the stats say where they ran and how fast."""
    from hdx.cost.table_build import BuildStats

    space, grid, model, _ = setup
    stats = BuildStats()
    t = CostTable.sliced(space, grid, model, slice_designs=400, use_ray=True, cache=tmp_path, stats=stats)
    ref = CostTable.sliced(space, grid, model, slice_designs=400)
    assert np.array_equal(t.per_op, ref.per_op) and np.array_equal(t.area_um2, ref.area_um2)
    assert stats.executor.startswith("ray") and stats.slices == stats.slices_run == 3
    assert stats.designs_run == len(grid) and stats.designs_per_s_per_worker > 0
    assert stats.seconds_for(2 * len(grid), 2) == pytest.approx(stats.seconds_for(len(grid), 1))


def test_cost_table_command(tmp_path, capsys):
    """`hdx cost table` builds the cached table (speed and extrapolation printed), then finds it."""
    from hdx.cli.main import main

    args = ["cost", "table", "--accel-space", "eyeriss_like", "--workers", "1", "--cache", str(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "designs/s per worker" in out and "64-core cluster" in out and "complete" in out
    assert main(args) == 0
    assert "already built" in capsys.readouterr().out
    assert main(["cost", "table", "--workers", "0"]) == 2


def test_concurrent_builds_build_once(setup, tmp_path):
    """Two processes asking for the same cached table: one builds it, the other waits and loads it."""
    import multiprocessing as mp

    space, grid, model, _ = setup
    ctx = mp.get_context("spawn")
    with ctx.Pool(2) as pool:
        lines = pool.starmap(_build_and_say, [(str(tmp_path),)] * 2)
    assert sorted("loaded" if "loaded from" in s else "built" if " built in " in s else s for s in lines) \
        == ["built", "loaded"]
    assert not list((tmp_path / "tables").glob("*.parts"))


def _build_and_say(cache: str) -> str:
    space = NetworkSpace.load("dance_cifar10")
    grid = AcceleratorSpace.load("eyeriss_like")
    lines: list[str] = []
    CostTable.sliced(space, grid, AnalyticalModel(grid.hardware), slice_designs=300, cache=cache,
                     log=lines.append)
    return lines[-1]


def test_oracle_on_the_sliced_table(setup):
    """The exact oracle over a sliced (float32) table: the same costs and choice as over the float64 one,
    and its torch view shares the table's memory (no float64 copy of a 0.5 GB table)."""
    import torch

    from hdx.evaluator.oracle import OracleEvaluator

    space, grid, model, full = setup
    sliced = CostTable.sliced(space, grid, model, slice_designs=500)
    a = OracleEvaluator(space, grid, model, table=full)
    b = OracleEvaluator(space, grid, model, table=sliced)
    assert b.view.per_op.dtype == torch.float32
    assert b.view.per_op.data_ptr() == sliced.per_op.__array_interface__["data"][0]
    p = torch.as_tensor(np.random.default_rng(2).random((4, space.num_positions, space.num_ops))
                        * space.allowed_mask)
    p = p / p.sum(-1, keepdim=True)
    ra, rb = a(p), b(p)
    assert torch.equal(ra.accel_index, rb.accel_index)
    for k in ("latency", "energy", "area"):
        np.testing.assert_allclose(rb.costs[k].double().numpy(), ra.costs[k].numpy(), rtol=1e-5)
