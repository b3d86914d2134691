"""Keep freed memory in the process heap, in huge pages, so that the cost model's temporaries cost few
page faults.

The analytical model allocates and frees many arrays of 0.1-5 MB per call. glibc's malloc serves
blocks above ``M_MMAP_THRESHOLD`` (128 KiB at start, raised dynamically) with fresh ``mmap`` pages and
gives them back on ``free``, and trims the heap top above ``M_TRIM_THRESHOLD``: until the dynamic
threshold has grown, calls touch pages the kernel must fault in and zero again (the first search of one
network on the 1152-design grid: about 4 500 page faults). :func:`keep_freed_memory` raises both
thresholds once per process (32 MiB, glibc's largest mmap threshold, and 128 MiB), so blocks up to 32 MiB
come from the heap and freed ones are reused: the same results, fewer page faults (about 3 000 on that
first search, each one 4 KiB page zeroed on first touch). Larger blocks (big cost tables) still get
their own mappings.

It then grows the heap by :data:`HEAP_RESERVE` (address space only: nothing is touched) and asks the
kernel to back that part with transparent huge pages (``madvise(MADV_HUGEPAGE)``, what glibc's own
``glibc.malloc.hugetlb=1`` tunable does, which can only be set before a process starts): a first touch
then maps a zeroed 2 MiB page instead of a 4 KiB one, so the first search takes a few hundred page
faults instead of about 3 000, at the price of at most the reserve in resident memory. Where the
kernel's THP mode is ``never`` the advice changes nothing; under ``always`` it is not needed. With
``defrag`` at ``madvise`` (a common default) a first touch may make the kernel compact memory where it
is fragmented; ``HDX_KEEP_HEAP=0`` opts out.

A no-op where the C library is not glibc or ``HDX_KEEP_HEAP=0`` is set (measured by
``benchmarks/bench_cost_speed.py``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 128 * 2**20
#: heap grown (and advised to use huge pages) once per process: below MMAP_THRESHOLD, so that malloc
#: serves it from the heap, and below TRIM_THRESHOLD, so that freeing it keeps it
HEAP_RESERVE = 24 * 2**20
_MADV_HUGEPAGE = 14  # linux/mman.h
_HUGE = 2 * 2**20  # a transparent huge page (x86-64, arm64 with 4 KiB base pages)


@functools.cache
def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds and advise a huge-page heap reserve (once per process: the
    answer is kept); True when the thresholds are set."""
    if os.environ.get("HDX_KEEP_HEAP", "1") == "0":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows): nothing to tune
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    ok = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    if ok:
        _huge_heap(libc)
    return ok


def _huge_heap(libc) -> int:
    """Grow the heap by :data:`HEAP_RESERVE` without touching it and advise huge pages for the new part;
    the bytes advised (0 where nothing was: no ``sbrk``/``madvise``, or the heap did not grow)."""
    try:
        sbrk, malloc, free, madvise = libc.sbrk, libc.malloc, libc.free, libc.madvise
    except AttributeError:
        return 0
    sbrk.restype, sbrk.argtypes = ctypes.c_void_p, (ctypes.c_ssize_t,)
    malloc.restype, malloc.argtypes = ctypes.c_void_p, (ctypes.c_size_t,)
    free.restype, free.argtypes = None, (ctypes.c_void_p,)
    madvise.restype, madvise.argtypes = ctypes.c_int, (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    start = sbrk(0)
    block = malloc(HEAP_RESERVE)  # from the heap top (below the mmap threshold): moves the break only
    if not block:
        return 0
    free(block)  # merges into the top chunk, which stays (below the trim threshold)
    end = sbrk(0)
    if not start or not end:
        return 0
    lo, hi = -(-start // _HUGE) * _HUGE, end // _HUGE * _HUGE
    if hi <= lo or madvise(lo, hi - lo, _MADV_HUGEPAGE) != 0:
        return 0
    return hi - lo
