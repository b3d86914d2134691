"""benchmarks/gpu_paper.py --smoke: the GPU paper test's code end to end, tiny, on the CPU and a fake
CIFAR-10 folder (search warm-up shared by HDX and DANCE, ground-truth budget check, both retrained).
The script runs as a command, as a user runs it (tests import no benchmark)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hdx.data.fake import write_fake_cifar10

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_paper.py"


def test_gpu_paper_smoke(tmp_path):
    data = write_fake_cifar10(tmp_path / "cifar", per_batch=60, test=50, seed=0)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--threads", "1", "--data", str(data),
                        "--out", str(tmp_path / "out"), "--json", str(tmp_path / "res.json")],
                       capture_output=True, text=True, env=env, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "TEST ACC" in r.stdout and "goal: HDX meets the budget" in r.stdout
    res = json.loads((tmp_path / "res.json").read_text())
    assert set(res["runs"]) == {"hdx", "dance"}
    for run in res["runs"].values():
        assert run["met"] == (run["lat"] <= res["budget_ms"])  # the verdict is the ground-truth comparison
        assert 0.0 <= run["test_acc"] <= 1.0
    # HDX enforces the budget as a hard constraint: it must meet it even in the smoke run
    assert res["runs"]["hdx"]["met"]
    for tag in ("warmup", "hdx", "dance_0.02", "retrain_hdx", "retrain_dance"):
        assert (tmp_path / "out" / tag).is_dir(), tag
    assert (tmp_path / "out" / "retrain_hdx" / "final.json").is_file()
