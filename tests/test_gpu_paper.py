"""benchmarks/gpu_paper.py --smoke: the GPU paper test's code end to end, tiny, on the CPU and a fake
CIFAR-10 folder (search warm-up shared by HDX and DANCE, ground-truth budget check, both retrained)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from hdx.data.fake import write_fake_cifar10

pytestmark = pytest.mark.usefixtures("one_thread")
SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_paper.py"


def test_gpu_paper_smoke(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("gpu_paper", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    data = write_fake_cifar10(tmp_path / "cifar", per_batch=60, test=50, seed=0)
    res = mod.main(["--smoke", "--data", str(data), "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert "TEST ACC" in out and "goal: HDX meets the budget" in out
    assert set(res["runs"]) == {"hdx", "dance"}
    for r in res["runs"].values():
        assert r["met"] == (r["lat"] <= res["budget_ms"])  # the verdict is the ground-truth comparison
        assert 0.0 <= r["test_acc"] <= 1.0
    # HDX enforces the budget as a hard constraint: it must meet it even in the smoke run
    assert res["runs"]["hdx"]["met"]
    for tag in ("warmup", "hdx", "dance_0.02", "retrain_hdx", "retrain_dance"):
        assert (tmp_path / "out" / tag).is_dir(), tag
    assert (tmp_path / "out" / "retrain_hdx" / "final.json").is_file()
