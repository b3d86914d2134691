"""hdx.cost.heap: glibc's thresholds are raised once per process, a heap reserve is advised to use huge
pages without being touched, and HDX_KEEP_HEAP=0 leaves everything as it was."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

glibc_only = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                                reason="glibc only")

CODE = "from hdx.cost.heap import keep_freed_memory as k; print(k(), k())"
# resident memory (VmRSS, KiB) before and after, and the KiB of mappings advised to use huge pages ("hg"
# in smaps' VmFlags)
PROBE = """
import re
from pathlib import Path
def rss():
    return int(re.search(r"VmRSS:\\s+(\\d+)", Path("/proc/self/status").read_text()).group(1))
def huge_kib():
    kib, size = 0, 0
    for line in Path("/proc/self/smaps").read_text().splitlines():
        if line.startswith("Size:"):
            size = int(line.split()[1])
        elif line.startswith("VmFlags:") and "hg" in line.split()[1:]:
            kib += size
    return kib
from hdx.cost.heap import keep_freed_memory
before, huge_before = rss(), huge_kib()
keep_freed_memory()
print(rss() - before, huge_kib() - huge_before)
"""


def _run(env_value: str | None, code: str = CODE) -> list[str]:
    env = dict(os.environ)
    env.pop("HDX_KEEP_HEAP", None)
    if env_value is not None:
        env["HDX_KEEP_HEAP"] = env_value
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.split()


@glibc_only
def test_thresholds_set_once_and_opt_out():
    assert _run(None) == ["True", "True"]
    assert _run("0") == ["False", "False"]  # left alone


@glibc_only
@pytest.mark.skipif(not Path("/sys/kernel/mm/transparent_hugepage/enabled").exists(),
                    reason="kernel without transparent huge pages")
def test_huge_page_reserve_is_advised_not_touched():
    from hdx.cost.heap import HEAP_RESERVE
    grown_kib, huge_kib = map(int, _run(None, PROBE))
    # most of the reserve is advised (all but the unaligned ends), and nothing of it is touched
    assert huge_kib >= (HEAP_RESERVE - 4 * 2**20) // 1024
    assert grown_kib < 2048
    grown_kib, huge_kib = map(int, _run("0", PROBE))
    assert huge_kib == 0
