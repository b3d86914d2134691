"""The search end to end on a tiny space and fake data: a short HDX search meets a tight budget
(ground truth), DANCE without a cost term misses it and is reported infeasible, a SIGKILLed and
resumed run ends with the same final.json, and bad CLI input exits 2 with one line before training."""

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
from hdx.cost.table import CostTable
from hdx.metrics import Objective
from hdx.search.config import load_search_config
from hdx.search.finish import exhaustive_optimal
from hdx.search.loop import run_search
from hdx.space import AcceleratorSpace, NetworkSpace


def tight_latency(tmp: Path, tiny_config) -> float:
    """~20th percentile of the exhaustive-optimal latency of random networks of the tiny space, and
    below the latency of the initial argmax network (so the search must act)."""
    space = NetworkSpace.load(tiny_config(tmp).parent / "tiny_space.yaml")
    grid = AcceleratorSpace.load()
    table = CostTable.build(space, grid, get_cost_model("analytical", grid.hardware))
    rng = np.random.default_rng(0)
    lat = exhaustive_optimal(table, space.sample_indices(rng, 400), Objective("edap"))["latency"]
    init = np.zeros(space.num_positions, dtype=np.int64)  # argmax of all-zero logits: the first op
    init_lat = exhaustive_optimal(table, init[None], Objective("edap"))["latency"][0]
    return float(min(np.quantile(lat, 0.2), 0.9 * init_lat))


def test_short_hdx_search_meets_tight_budget(tmp_path, tiny_config):
    t = tight_latency(tmp_path, tiny_config)
    # no DANCE cost term: only the manipulation can bring latency down
    cfg = load_search_config(str(tiny_config(tmp_path, hw_lambda=0.0, budgets=[f"latency<={t:.6f}ms"])))
    final = run_search(cfg, tmp_path / "run").to_json()
    assert final["feasible"] and final["status"] == "feasible"
    acc = final["accelerator"]
    assert acc["metrics"]["latency"] <= t  # ground truth, exhaustive accelerator under the budget
    assert acc["budgets"][0]["met"] and acc["budgets"][0]["value"] == acc["metrics"]["latency"]
    recs = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in recs if r["phase"] == "search"]
    assert steps and any(r["fired"] for r in steps)  # the manipulation acted
    assert all(r["verified"] for r in steps)
    assert {"ce", "pred", "budgets", "delta", "violated"} <= set(steps[0])
    for name in ("config.yaml", "final.json", "timing.json", "checkpoint.pt"):
        assert (tmp_path / "run" / name).is_file()
    assert "seconds" not in json.dumps(final)  # wall-clock only in timing.json


def test_missed_budget_is_reported_infeasible_never_as_success(tmp_path, capsys, tiny_config, tiny_space):
    # a budget 1 % above the fastest design of the whole space: a CE-only search (NAS->HW) will not
    # find that network, and the result must say so (exit code 3, feasible false, closest design)
    space = NetworkSpace.load(tiny_config(tmp_path).parent / "tiny_space.yaml")
    grid = AcceleratorSpace.load()
    table = CostTable.build(space, grid, get_cost_model("analytical", grid.hardware))
    t = float(table.min_per_accel("latency")[0].min()) * 1.01
    conf = tiny_config(tmp_path, method="nas-then-hw", epochs=2, budgets=[f"latency<={t:.6f}ms"])
    rc = main(["search", "--config", str(conf), "--out", str(tmp_path / "run")])
    out = capsys.readouterr().out
    final = json.loads((tmp_path / "run" / "final.json").read_text())
    assert rc == 3 and "INFEASIBLE" in out and "MISSED" in out
    assert final["status"] == "infeasible" and final["feasible"] is False
    b = final["accelerator"]["budgets"][0]
    assert not b["met"] and b["value"] > t and final["hard_budgets_met"] == {b["budget"]: False}


def _cli(args: list[str], cwd: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-c", "from hdx.cli.main import run; run()", "search", *args]
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_sigkill_and_resume_gives_identical_final(tmp_path, tiny_config):
    t = tight_latency(tmp_path, tiny_config)
    conf = tiny_config(tmp_path, epochs=5, budgets=[f"latency<={t:.6f}ms"])
    a = _cli(["--config", str(conf), "--out", "A"], tmp_path)
    assert a.wait(timeout=600) == 0, a.stderr.read()
    b = _cli(["--config", str(conf), "--out", "B"], tmp_path)
    ckpt = tmp_path / "B" / "checkpoint.pt"
    deadline = time.time() + 300
    while not ckpt.exists() and time.time() < deadline and b.poll() is None:
        time.sleep(0.05)
    assert b.poll() is None, "run finished before it could be killed"
    os.kill(b.pid, signal.SIGKILL)
    b.wait()
    assert not (tmp_path / "B" / "final.json").exists()
    c = _cli(["--out", "B", "--resume"], tmp_path)
    assert c.wait(timeout=600) == 0, c.stderr.read()
    fa = json.loads((tmp_path / "A" / "final.json").read_text())
    fb = json.loads((tmp_path / "B" / "final.json").read_text())
    assert fa == fb
    # the per-step log is the same too (steps logged after the checkpoint were dropped on resume)
    assert (tmp_path / "A" / "metrics.jsonl").read_text() == (tmp_path / "B" / "metrics.jsonl").read_text()


@pytest.mark.parametrize("args,needle", [
    (["--budget", "latency<=3mm2"], "unit of area"),
    (["--budget", "latency<=16parsecs"], "unknown unit"),
    (["epochs=0"], "epochs"),
    (["no_such_key=1"], "unknown key"),
    (["--budget", "power<=1W"], "unknown metric"),
    (["--budget", "latency<=0.01ms"], "below the minimum achievable"),
    (["--budget", "area<=0.2mm2"], "below the minimum achievable"),
    (["--method", "magic"], "unknown --method"),
    (["--objective", "speed"], "objective"),
    (["--evaluator", "nowhere.safetensors"], "evaluator"),
    (["--epochs", "0"], "epochs"),
    (["--resume"], "--resume needs --out"),
    (["--space", "nospace"], "unknown network config"),
    (["--data", "/nonexistent/cifar"], "CIFAR-10 folder not found"),
])
def test_cli_bad_input_exits_2_with_one_line_before_training(args, needle, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HDX_DATA", raising=False)
    out = tmp_path / "run"
    rc = main(["search", *args, "--out", str(out)] if "--resume" not in args else ["search", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    errors = [e for e in err if e.startswith("error:")]
    assert len(errors) == 1 and needle in errors[0]
    assert not out.exists()  # nothing trained, no run directory


def test_cli_resume_refuses_other_options(tmp_path, capsys, tiny_config):
    from hdx.config import dump_yaml

    (tmp_path / "config.yaml").write_text(dump_yaml(load_search_config(str(tiny_config(tmp_path)))))
    rc = main(["search", "--out", str(tmp_path), "--resume", "--epochs", "3"])
    assert rc == 2 and "saved config" in capsys.readouterr().err
    rc = main(["search", "--out", str(tmp_path), "--resume", "hw_lambda=0.5"])
    assert rc == 2 and "saved config" in capsys.readouterr().err
    rc = main(["search", "--out", str(tmp_path), "--resume", "--config", "default"])
    assert rc == 2 and "drop --config" in capsys.readouterr().err


def test_cli_refuses_an_evaluator_of_another_space_grid_or_objective(tmp_path, capsys, tiny_space):
    from hdx.evaluator import default_evaluator_path

    shipped = default_evaluator_path("dance_cifar10", "eyeriss_like", "edap")
    if not shipped.is_file():
        pytest.skip("no shipped learned evaluator in this build")
    space = tmp_path / "tiny.yaml"
    space.write_text(yaml.safe_dump(tiny_space))
    grid = tmp_path / "grid.yaml"
    knobs = {"pe_x": [8, 16], "pe_y": [8, 16], "rf_bytes": [16, 64], "dataflow": ["ws"]}
    grid.write_text(yaml.safe_dump({"name": "othergrid", "knobs": knobs}))
    cases = [(["--space", str(space), "--no-budget"], "space"),
             (["--accel-space", str(grid), "--budget", "latency<=9ms"], "grid"),
             (["--objective", "latency"], "objective")]
    for args, needle in cases:
        out = tmp_path / "run"
        rc = main(["search", "--evaluator", str(shipped), *args, "--out", str(out)])
        errors = [e for e in capsys.readouterr().err.splitlines() if e.startswith("error:")]
        assert rc == 2 and len(errors) == 1 and needle in errors[0] and "built for" in errors[0]
        assert not out.exists()


def test_short_hdx_search_meets_latency_and_area_together(tmp_path, tiny_config, tiny_space):
    from hdx.budgets import Budget
    from hdx.search.finish import min_achievable

    space = NetworkSpace.load(tiny_config(tmp_path).parent / "tiny_space.yaml")
    grid = AcceleratorSpace.load()
    table = CostTable.build(space, grid, get_cost_model("analytical", grid.hardware))
    opt = exhaustive_optimal(table, space.sample_indices(np.random.default_rng(0), 400),
                             Objective("edap"))
    t_lat = float(np.quantile(opt["latency"], 0.5))
    typical = float(np.median(opt["area"]))
    all_areas = np.unique(table.area_um2.sum(-1) * 1e-6)
    areas = sorted(all_areas[all_areas < typical])
    # an area budget a few grid steps below the EDAP-optimal accelerators, still jointly feasible
    t_area = next(float(a) * 1.0001 for a in reversed(areas[:-2])
                  if min_achievable(table, [Budget("latency", t_lat), Budget("area", float(a) * 1.0001)],
                                    grid).feasible)
    cfg = load_search_config(str(tiny_config(tmp_path, hw_lambda=0.0, budgets=[
        f"latency<={t_lat:.6f}ms", f"area<={t_area:.6f}mm2"])))
    final = run_search(cfg, tmp_path / "run").to_json()
    m = final["accelerator"]["metrics"]
    assert final["feasible"] and m["latency"] <= t_lat and m["area"] <= t_area
    assert all(b["met"] for b in final["accelerator"]["budgets"])
