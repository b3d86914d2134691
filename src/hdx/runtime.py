"""CPU thread policy and step timing shared by ``hdx search`` and ``hdx train``.

**Default thread policy** (``threads: null``): torch's own default uses every core, and its OpenMP
workers spin-wait for each other; when other processes keep cores busy, one descheduled worker stalls
every parallel region, so a search step went from ~1 s to 7–40 s on a shared 2-core machine.
:func:`default_threads` instead takes half of the cores this process may run on (at least 1), and fewer
when the 1-minute load average says other processes already keep cores busy. ``--threads N`` (or
``threads: N``) overrides it; an ``OMP_NUM_THREADS`` in the environment is respected as given.
Measured by ``benchmarks/bench_threads.py``.
"""

from __future__ import annotations

import os
import time

#: the most threads any option accepts
MAX_THREADS = 1024


def available_cpus() -> int:
    """Cores this process may run on (CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_threads() -> int:
    """Threads for torch when none are given: ``min(cores // 2, cores − busy)``, at least 1, where
    ``busy`` is the 1-minute load average rounded down (processes already running elsewhere)."""
    n = available_cpus()
    try:
        busy = int(os.getloadavg()[0])
    except (AttributeError, OSError):
        busy = 0
    return max(1, min(n // 2, n - busy))


def apply_threads(threads: int | None) -> int:
    """Set torch's CPU threads: ``threads`` if given, else the environment's ``OMP_NUM_THREADS``, else
    :func:`default_threads`. Returns the number in use."""
    import torch

    if threads is None:
        env = os.environ.get("OMP_NUM_THREADS", "").strip()
        threads = int(env) if env.isdigit() and int(env) > 0 else default_threads()
    threads = max(1, min(int(threads), MAX_THREADS))
    torch.set_num_threads(threads)
    return threads


class StepTimer:
    """Seconds of the last step and a running mean, for a progress bar that shows a stall."""

    def __init__(self) -> None:
        self.t = time.perf_counter()
        self.last = 0.0
        self.total = 0.0
        self.n = 0

    def tick(self) -> float:
        now = time.perf_counter()
        self.last, self.t = now - self.t, now
        self.total += self.last
        self.n += 1
        return self.last

    def text(self) -> str:
        mean = self.total / max(1, self.n)
        slow = " SLOW" if self.n > 3 and self.last > 3 * mean else ""
        return f"{self.last:.2f}s/step (mean {mean:.2f}){slow}"
