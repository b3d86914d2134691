"""Shared test fixtures (tests import no other test module and no benchmark: what they share is here)."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml


def pytest_configure(config):
    """No test downloads anything or touches the user's data cache: ``HDX_OFFLINE`` is set (the data
    tests that serve an archive from a local server lift it) and ``HDX_CACHE_DIR`` is a fresh folder."""
    import os
    import tempfile

    os.environ["HDX_OFFLINE"] = "1"
    os.environ["HDX_CACHE_DIR"] = tempfile.mkdtemp(prefix="hdx-test-cache-")


#: a 6-position network space small enough for a search in a few seconds
TINY_SPACE = {
    "name": "tiny", "resolution": 16, "num_classes": 10,
    "stem": {"channels": 8}, "first_block": {"channels": 8, "expansion": 1},
    "stages": [{"channels": 16, "depth": 3, "stride": 1}, {"channels": 24, "depth": 3, "stride": 2}],
    "head": {"channels": 64}, "candidate_ops": ["mb3e3", "mb3e6", "mb5e3", "mb7e6", "zero"],
}


def _tiny_config(folder: Path, name: str = "search", **kw) -> Path:
    """Write ``folder/tiny_space.yaml`` and a search config on it (fake data, a few seconds per run)
    as ``folder/<name>.yaml``, with the config fields ``kw`` applied; returns the config's path."""
    folder.mkdir(parents=True, exist_ok=True)
    space = folder / "tiny_space.yaml"
    space.write_text(yaml.safe_dump(TINY_SPACE))
    cfg = {"space": str(space), "fake_data": True, "subset": 192, "val_fraction": 0.5, "eval_images": 64,
           "batch_size": 32, "width_mult": 0.5, "epochs": 4, "warmup_epochs": 1, "arch_lr": 0.1,
           "threads": 1, "progress": False, "bn_batches": 2, "recheck_steps": 10, "budgets": []}
    cfg.update(kw)
    p = folder / f"{name}.yaml"
    p.write_text(yaml.safe_dump(cfg))
    return p


def _tiny_run(folder: Path, name: str, **kw) -> Path:
    """Run a tiny search (3 epochs, a latency and an area budget) into ``folder/name``; returns the
    run directory."""
    from hdx.search.config import load_search_config
    from hdx.search.loop import run_search

    conf = _tiny_config(folder, name, **{"epochs": 3, "budgets": ["latency<=0.09ms", "area<=2mm2"], **kw})
    run_search(load_search_config(str(conf)), folder / name)
    return folder / name


def _big_space_yaml(folder: Path, name: str = "big", pe_to: int = 34, glb_kib=(16, 2048),
                    glb_bw=(8, 16, 32, 64, 128)) -> str:
    """Write ``folder/<name>.yaml``: an accelerator space of more designs than one cost-model call holds
    (defaults: 215 040 designs; ``pe_to=64, glb_kib=(8, 4096), glb_bw=(4, 8, 16, 32, 64)``: dse_large's
    1 009 050); returns its path."""
    p = folder / f"{name}.yaml"
    p.write_text(f"name: {name}\nknobs:\n  pe_x: {{from: 4, to: {pe_to}, step: 2}}\n"
                 f"  pe_y: {{from: 4, to: {pe_to}, step: 2}}\n  rf_bytes: {{from: 8, to: 512, times: 2}}\n"
                 f"  dataflow: [ws, os, rs]\n  glb_kib: {{from: {glb_kib[0]}, to: {glb_kib[1]}, times: 2}}\n"
                 f"  glb_bw: {list(glb_bw)}\n")
    return str(p)


@pytest.fixture(scope="session")
def big_space_yaml() -> Callable[..., str]:
    """``big_space_yaml(folder, name="big", pe_to=34, glb_kib=(16, 2048), glb_bw=(8, ..., 128))``: the
    path of a large accelerator space's YAML (:func:`_big_space_yaml`)."""
    return _big_space_yaml


@pytest.fixture(scope="session")
def tiny_space() -> dict:
    """The tiny network space's config (:data:`TINY_SPACE`, a fresh copy)."""
    return copy.deepcopy(TINY_SPACE)


@pytest.fixture(scope="session")
def tiny_config() -> Callable[..., Path]:
    """``tiny_config(folder, name="search", **config_fields)``: a tiny search config file."""
    return _tiny_config


@pytest.fixture(scope="session")
def tiny_run() -> Callable[..., Path]:
    """``tiny_run(folder, name, **config_fields)``: a finished tiny search run directory (report and
    export tests)."""
    return _tiny_run


# ---------------------------------------------------------------------------------------------------
# a small space on a small grid under a closed-form cost model: small enough to enumerate every network
class FakeCostModel:
    """A small closed-form cost model (not the real one): more PEs → faster but larger; bigger RF →
    less DRAM energy but larger; dataflows differ in utilisation. Enough trade-offs to test search."""

    name = "fake"
    version = "1"

    def fingerprint(self) -> str:
        return "fake-1"

    def evaluate(self, layers, accels):
        from hdx.cost.base import LayerCosts

        macs = layers.macs.astype(np.float64)[:, None]
        pes = (accels.pe_x * accels.pe_y).astype(np.float64)[None]
        rf = accels.rf_bytes.astype(np.float64)[None]
        util = np.array([0.9, 0.7, 0.8])[accels.dataflow][None]
        dw = layers.is_depthwise[:, None]
        util = np.where(dw, util * 0.35, util)
        compute = np.ceil(macs / (pes * util))
        data = (layers.c * layers.h * layers.w + layers.k * layers.p * layers.q).astype(np.float64)[:, None]
        memory = data / 8.0 + 0 * pes
        e_mac = macs * 1.0 + 0 * pes
        e_rf = macs * 0.02 * np.sqrt(rf)
        e_dram = data * 200.0 / np.log2(rf + 1) * np.array([1.0, 1.3, 0.8])[accels.dataflow][None]
        zeros = np.zeros_like(e_mac)
        area = {"pe": accels.pe_x * accels.pe_y * 400.0, "rf": accels.pe_x * accels.pe_y * rf[0] * 60.0,
                "glb": accels.glb_bytes * 1.0, "noc": (accels.pe_x + accels.pe_y) * 50.0}
        return LayerCosts(latency_cycles=np.maximum(compute, memory), compute_cycles=compute,
                          memory_cycles=memory, energy_pj={"mac": e_mac, "rf": e_rf, "glb": zeros,
                                                           "dram": e_dram},
                          area_um2={k: np.asarray(v, dtype=np.float64) for k, v in area.items()},
                          utilisation=np.minimum(1.0, macs / (compute * pes)), macs=layers.macs,
                          clock_mhz=200.0)


SMALL_SPACE = {
    "name": "tiny", "resolution": 16, "num_classes": 10,
    "stem": {"channels": 8}, "first_block": {"channels": 8, "expansion": 1},
    "stages": [{"channels": 8, "depth": 2, "stride": 1}, {"channels": 16, "depth": 2, "stride": 2}],
    "head": {"channels": 32}, "candidate_ops": ["mb3e3", "mb5e3", "mb3e6", "zero"],
}
SMALL_GRID = {"name": "tinygrid", "knobs": {"pe_x": [4, 8, 16], "pe_y": [4, 8], "rf_bytes": [16, 64],
                                            "dataflow": ["ws", "os", "rs"], "glb_kib": [64]}}


@pytest.fixture(scope="session")
def small_setup():
    """(space, grid, table): :data:`SMALL_SPACE` on :data:`SMALL_GRID` under :class:`FakeCostModel`."""
    from hdx.config import validate
    from hdx.cost.table import CostTable
    from hdx.space.accelerator import AcceleratorSpace, AcceleratorSpaceConfig
    from hdx.space.network import NetworkSpace, NetworkSpaceConfig

    space = NetworkSpace(validate(NetworkSpaceConfig, SMALL_SPACE, "test space"))
    grid = AcceleratorSpace(validate(AcceleratorSpaceConfig, SMALL_GRID, "test grid"))
    return space, grid, CostTable.build(space, grid, FakeCostModel())


def _all_archs(space) -> np.ndarray:
    choices = [[space.op_names.index(o) for o in p.ops] for p in space.positions]
    return np.array(list(itertools.product(*choices)), dtype=np.int64)


@pytest.fixture(scope="session")
def all_archs() -> Callable[..., np.ndarray]:
    """``all_archs(space)``: every network of a space as op indices [N, L]."""
    return _all_archs


@pytest.fixture
def one_thread():
    """Run a test with one torch CPU thread (stable timings and results on a shared 2-core CPU)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def ray_local():
    """A local Ray with 2 CPUs for the whole session (shut down at the end); skips without Ray."""
    ray = pytest.importorskip("ray", reason="ray not installed (pip install 'hdx[ray]')")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _band_walk(n_out: int, stride: int, k: int, pad: int, size: int, bt: int, kt: int) -> int:
    """The real input rows (or columns) a DRAM schedule's bands read: every band of ``bt`` outputs, chunk
    of ``kt`` kernel taps by chunk, its window intersected with the real input ``[0, size)``."""
    total = 0
    for b in range(-(-n_out // bt)):
        m = min(bt, n_out - b * bt)  # outputs of this band (the last may have fewer)
        for j in range(-(-k // kt)):
            kj = min(kt, k - j * kt)  # taps of this chunk
            lo = b * bt * stride + j * kt - pad
            hi = lo + (m - 1) * stride + kj
            total += max(0, min(hi, size) - max(lo, 0))
    return total


@pytest.fixture(scope="session")
def band_walk() -> Callable[..., int]:
    """``band_walk(n_out, stride, k, pad, size, bt, kt)``: the real input rows the bands read, walked."""
    return _band_walk


def _cost_arrays(costs) -> dict[str, np.ndarray]:
    """Every array a LayerCosts holds: latency, compute cycles, utilisation, each energy part and each
    mapping field."""
    return {"latency": costs.latency_cycles, "compute": costs.compute_cycles, "util": costs.utilisation,
            **{f"energy {k}": v for k, v in costs.energy_pj.items()},
            **{f"mapping {k}": v for k, v in (costs.mapping or {}).items()}}


def _assert_same_costs(a, b, bounds_a: dict | None = None, bounds_b: dict | None = None,
                       subset: bool = False) -> None:
    """Two LayerCosts (and optionally two ``mapping_bounds`` dicts) hold the same arrays, bit for bit;
    ``subset``: ``b``'s arrays are a subset of ``a``'s (a result without the mapping report)."""
    x, y = _cost_arrays(a), _cost_arrays(b)
    assert set(y) <= set(x) if subset else x.keys() == y.keys()
    for k in y:
        np.testing.assert_array_equal(x[k], y[k], err_msg=k)
    if bounds_a is not None:
        assert bounds_b is not None and bounds_a.keys() == bounds_b.keys()
        for k in bounds_a:
            np.testing.assert_array_equal(bounds_a[k], bounds_b[k], err_msg=f"bound {k}")


@pytest.fixture(scope="session")
def assert_same_costs() -> Callable[..., None]:
    """``assert_same_costs(a, b, bounds_a=None, bounds_b=None, subset=False)``: every cost, energy part
    and mapping field of two results (and of two ``mapping_bounds``) equal bit for bit."""
    return _assert_same_costs
