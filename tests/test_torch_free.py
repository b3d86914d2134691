"""The cost path imports no torch: ``import hdx.cost``, ``hdx cost``, ``hdx.best_accelerator`` and
``hdx export --zigzag/--timeloop`` run in a fresh interpreter that ends without ``torch`` in
``sys.modules`` (torch costs ~2 s to import; only searching, training and the evaluators need it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ARCH = "mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3"


def _fresh(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it leaves its result in ``out``; returns
    ``{"out": ..., "torch": whether torch was imported}``."""
    prog = ("import io, json, sys, contextlib\nout = None\n" + code
            + "\nprint('\\n' + json.dumps({'out': out, 'torch': 'torch' in sys.modules}))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    r = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def _cli(args: list[str]) -> str:
    return ("from hdx.cli.main import main\nbuf = io.StringIO()\n"
            f"with contextlib.redirect_stdout(buf):\n    rc = main({args!r})\nout = [rc, buf.getvalue()]")


def test_the_control_imports_torch():
    # the probe can fail: a search module does import torch
    assert _fresh("import hdx.search.manipulation")["torch"]


def test_import_hdx_and_hdx_cost_import_no_torch():
    r = _fresh("import hdx, hdx.cost, hdx.api, hdx.cost.table, hdx.cost.grid\nout = hdx.__version__")
    assert r["out"] and not r["torch"]


@pytest.mark.parametrize("accel", ["16x16,rf=16,df=ws", "grid"])
def test_hdx_cost_imports_no_torch(accel):
    r = _fresh(_cli(["cost", "--arch", ARCH, "--accel", accel, "--json"]))
    rc, text = r["out"]
    assert rc == 0 and json.loads(text)["total"]["latency_ms"] > 0
    assert not r["torch"]


def test_best_accelerator_imports_no_torch():
    best = f"hdx.best_accelerator(arch={ARCH!r}, budgets='latency<=4ms')"
    r = _fresh(f"import hdx\nout = str({best}.accelerator)")
    assert "x" in r["out"] and not r["torch"]


def test_export_zigzag_and_timeloop_import_no_torch(tiny_run, tmp_path):
    pytest.importorskip("zigzag", reason="needs the zigzag extra (pip install 'hdx[zigzag]')")
    run = tiny_run(tmp_path / "runs", "hdx")
    r = _fresh(_cli(["export", str(run), "--zigzag", str(tmp_path / "acc.yaml"),
                     "--timeloop", str(tmp_path / "tl"), "--layers", str(tmp_path / "layers.json")]))
    assert r["out"][0] == 0 and (tmp_path / "acc.yaml").is_file() and (tmp_path / "tl").is_dir()
    assert not r["torch"]


def test_hdx_help_imports_no_torch():
    r = _fresh(_cli(["--help"]))
    assert r["out"][0] == 0 and "cost" in r["out"][1] and not r["torch"]

