"""Keep freed memory in the process heap, so that the cost model's temporaries reuse pages.

The analytical model allocates and frees many arrays of 0.1-5 MB per call. glibc's malloc serves
blocks above ``M_MMAP_THRESHOLD`` (128 KiB at start, raised dynamically) with fresh ``mmap`` pages and
gives them back on ``free``, and trims the heap top above ``M_TRIM_THRESHOLD``: until the dynamic
threshold has grown, calls touch pages the kernel must fault in and zero again (the first search of one
network on the 1152-design grid: about 4 500 page faults, 3 000 with the thresholds raised; several
milliseconds on a virtual machine). :func:`keep_freed_memory` raises both
thresholds once per process (32 MiB, glibc's largest mmap threshold, and 128 MiB), so blocks up to 32 MiB
come from the heap and freed ones are reused: the same results, fewer page faults. Larger blocks (big
cost tables) still get their own mappings. A no-op where the C library is not glibc or
``HDX_KEEP_HEAP=0`` is set (measured by ``benchmarks/bench_cost_speed.py``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 128 * 2**20


@functools.cache
def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds (once per process: the answer is kept); True when set."""
    if os.environ.get("HDX_KEEP_HEAP", "1") == "0":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows): nothing to tune
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    return bool(ok) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
