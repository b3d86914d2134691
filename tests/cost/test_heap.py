"""hdx.cost.heap: glibc's thresholds are raised once per process, and HDX_KEEP_HEAP=0 leaves them."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

CODE = "from hdx.cost.heap import keep_freed_memory as k; print(k(), k())"


def _run(env_value: str | None) -> str:
    env = dict(os.environ)
    env.pop("HDX_KEEP_HEAP", None)
    if env_value is not None:
        env["HDX_KEEP_HEAP"] = env_value
    return subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True,
                          check=True).stdout.split()


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_thresholds_set_once_and_opt_out():
    assert _run(None) == ["True", "True"]
    assert _run("0") == ["False", "False"]  # left alone
