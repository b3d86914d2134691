"""``hdx cost tabulate``: a (layer × accelerator) table filled chunk by chunk (Ray or serial),
resumable after a kill, equal to a direct evaluation by its backend, and usable as a cost backend
(``hdx cost --backend TABLE``, ``cost_backend: TABLE`` of ``hdx search``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from hdx.cli.main import main
from hdx.cost import get_cost_model
from hdx.cost.tabulate import distinct_layers, tabulate
from hdx.errors import HDXError
from hdx.space import AcceleratorSpace, NetworkSpace
from hdx.workload import LayerTable

ARCH = "mb3e3,zero,zero,mb3e3,mb3e3,zero,mb3e3,mb3e3,mb3e3"
GRID = {"name": "two", "knobs": {"pe_x": [8], "pe_y": [8, 16], "rf_bytes": [32], "dataflow": ["rs"],
                                 "glb_kib": [128]},
        "hardware": {"clock_mhz": 200, "word_bits": 16, "glb_words_per_cycle": 32, "dram_bytes_per_cycle": 16,
                     "tech": "accelergy_45nm"}}
TINY_SPACE = {
    "name": "tiny", "resolution": 16, "num_classes": 10,
    "stem": {"channels": 8}, "first_block": {"channels": 8, "expansion": 1},
    "stages": [{"channels": 16, "depth": 2, "stride": 1}, {"channels": 24, "depth": 2, "stride": 2}],
    "head": {"channels": 32}, "candidate_ops": ["mb3e3", "mb5e3", "zero"],
}


def _grid(tmp: Path) -> Path:
    p = tmp / "grid.yaml"
    p.write_text(yaml.safe_dump(GRID))
    return p


def test_distinct_layers_are_unique_and_cover_the_networks():
    space = NetworkSpace.load("dance_cifar10")
    layers = distinct_layers(space, [ARCH])
    keys = {(ly.kind, ly.c, ly.k, ly.h, ly.w, ly.r, ly.stride, ly.groups) for ly in layers}
    assert len(keys) == len(layers)
    geo = lambda ly: (ly.kind, ly.c, ly.k, ly.h, ly.w, ly.r, ly.stride, ly.groups)  # noqa: E731
    assert keys == {geo(ly) for ly in space.layers(ARCH)}
    full = distinct_layers(space)
    assert len(full) > len(layers)


@pytest.mark.zigzag
def test_zigzag_table_resumes_after_kill_and_equals_direct_evaluation(tmp_path, ray_local, capsys):
    pytest.importorskip("zigzag", reason="zigzag-dse not installed (pip install 'hdx[zigzag]')")
    grid = _grid(tmp_path)
    out = tmp_path / "zz.npz"
    args = ["cost", "tabulate", "--backend", "zigzag", "--accel-space", str(grid), "--arch", ARCH,
            "--out", str(out), "--chunk-pairs", "1"]  # one accelerator per chunk: 2 chunks
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    p = subprocess.Popen([sys.executable, "-c", "from hdx.cli.main import run; run()", *args, "--serial"],
                         env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    first = Path(str(out) + ".parts") / "chunk-00000.npz"
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not first.exists():
            time.sleep(0.02)
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    assert first.exists() and not out.exists()  # killed after the first chunk, before the table
    # resume on Ray: only the missing chunk runs
    assert main(args) == 0
    text = capsys.readouterr()
    assert "1 were on disk, 1 run now on ray" in text.out and "labels/s per worker" in text.out
    assert out.is_file()
    # equal to ZigZag evaluating the network directly, pair by pair
    space, g = NetworkSpace.load("dance_cifar10"), AcceleratorSpace.load(grid)
    layers = LayerTable(space.layers(ARCH))
    direct = get_cost_model("zigzag", g.hardware).evaluate(layers, g.table)
    table = get_cost_model(str(out), g.hardware)
    via = table.evaluate(layers, g.table)
    for k in ("latency_cycles", "compute_cycles", "memory_cycles", "utilisation"):
        np.testing.assert_array_equal(getattr(via, k), getattr(direct, k))
    for part in direct.energy_pj:
        np.testing.assert_array_equal(via.energy_pj[part], direct.energy_pj[part])
    for part in direct.area_um2:
        np.testing.assert_array_equal(via.area_um2[part], direct.area_um2[part])
    assert table.fingerprint() == get_cost_model("zigzag", g.hardware).fingerprint()
    # and through the CLI: hdx cost --backend TABLE == --backend zigzag
    outs = []
    for b in ("zigzag", str(out)):
        assert main(["cost", "--arch", ARCH, "--accel", "8x16,rf=32,df=rs", "--accel-space", str(grid),
                     "--backend", b, "--json"]) == 0
        outs.append(json.loads(capsys.readouterr().out)["total"])
    assert outs[0] == outs[1]


def test_analytical_table_is_a_cost_backend_for_search(tmp_path, capsys):
    """A table filled with the analytical model (fast) serves as cost_backend of a search: same
    final.json as the analytical backend itself; a layer outside the table is a one-line error."""
    from hdx.search.config import load_search_config
    from hdx.search.loop import run_search

    sp = tmp_path / "tiny.yaml"
    sp.write_text(yaml.safe_dump(TINY_SPACE))
    grid = tmp_path / "grid.yaml"
    g4 = {**GRID, "knobs": {**GRID["knobs"], "dataflow": ["ws", "rs"]}}
    grid.write_text(yaml.safe_dump(g4))
    out = tmp_path / "an.npz"
    r = tabulate(space=str(sp), accel_space=str(grid), backend="analytical", out=out, use_ray=False,
                 log=lambda s: None)
    assert r.complete and r.accels == 4 and out.is_file()
    cfg = dict(space=str(sp), accel_space=str(grid), fake_data=True, subset=96, batch_size=24, epochs=2,
               warmup_epochs=1, eval_images=0, evaluator="oracle", bn_batches=1, threads=1, progress=False,
               budgets=[], method="nas-then-hw", retrain_epochs=0)
    finals = []
    for i, backend in enumerate(("analytical", str(out))):
        run_search(load_search_config("default", {**cfg, "cost_backend": backend}), tmp_path / f"r{i}")
        finals.append(json.loads((tmp_path / f"r{i}/final.json").read_text()))
    assert finals[0] == finals[1]
    # the default space has layers the tiny table lacks
    g = AcceleratorSpace.load(grid)
    with pytest.raises(HDXError, match="not in cost table"):
        big = LayerTable(NetworkSpace.load("dance_cifar10").layers(ARCH))
        get_cost_model(str(out), g.hardware).evaluate(big, g.table)
    # a table for other hardware, a non-table file, and a partial table of other inputs are refused
    other = AcceleratorSpace.load("eyeriss_like").hardware.model_copy(update={"clock_mhz": 400})
    with pytest.raises(HDXError, match="other hardware"):
        get_cost_model(str(out), other)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(HDXError, match="corrupt"):
        get_cost_model(str(bad), g.hardware)
    assert main(["cost", "tabulate", "--backend", "analytical", "--space", str(sp), "--out", str(out),
                 "--serial"]) == 2
    assert "partial table of other inputs" in capsys.readouterr().err
