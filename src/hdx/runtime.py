"""Where a run computes: the device (:func:`resolve_device`), the CPU thread policy and step timing,
shared by ``hdx search`` and ``hdx train``.

**Default thread policy** (``threads: null``). torch's own default uses every core, and its OpenMP
workers spin-wait for each other: when other processes keep cores busy, one descheduled worker stalls
every parallel region, so a search step went from ~0.4-1 s to 7-40 s on a shared 2-core machine. HDX
instead

1. starts with :func:`default_threads`: the cores this process may run on minus the cores other
   processes already keep busy (the 1-minute load average, rounded), at least 1; on an idle machine
   that is every core (as fast as before), on a busy one fewer;
2. watches the step times (:class:`StepTimer`): when load arrives later and a step takes more than
   :data:`STALL_FACTOR` x the median of the steps so far, it drops to one thread for the rest of the
   run (:func:`degrade_on_stall`) and says so once.

``--threads N`` (or ``threads: N``) fixes the count and disables both; an ``OMP_NUM_THREADS`` in the
environment is respected as given. Results are bit-identical across a kill and ``--resume`` for a fixed
thread count (pass ``--threads`` when that matters). Measured by ``benchmarks/bench_threads.py``.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from hdx.errors import HDXError

if TYPE_CHECKING:
    import torch

#: device names every config accepts (besides ``cuda:N``)
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")


def check_device(v: str) -> str:
    """A device name HDX accepts: auto, cpu, cuda, cuda:N (or mps); ValueError otherwise (a config
    validator turns it into one line naming the field)."""
    if v not in DEVICES and not (v.startswith("cuda:") and v[5:].isdigit()):
        raise ValueError(f"device '{v}': use auto, cpu, cuda or cuda:N")
    return v


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA when present, else CPU; an unavailable CUDA device is a clear error."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise HDXError(f"device '{name}' requested but CUDA is not available here; use --device cpu or auto")
    return dev

#: the most threads any option accepts
MAX_THREADS = 1024


def available_cpus() -> int:
    """Cores this process may run on (CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_threads() -> int:
    """Threads for torch when none are given: ``cores − busy``, at least 1, where ``busy`` is the
    1-minute load average rounded to the nearest integer (processes already running elsewhere)."""
    n = available_cpus()
    try:
        busy = int(os.getloadavg()[0] + 0.5)
    except (AttributeError, OSError):
        busy = 0
    return max(1, n - busy)


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


#: a step this many times slower than the median so far is a stall
STALL_FACTOR = 4.0


class StepTimer:
    """Seconds per step (last and median of the last 50) for a progress bar that shows a stall."""

    def __init__(self) -> None:
        self.t = time.perf_counter()
        self.last = 0.0
        self.recent: list[float] = []

    def tick(self) -> float:
        now = time.perf_counter()
        self.last, self.t = now - self.t, now
        self.recent = [*self.recent[-49:], self.last]
        return self.last

    @property
    def median(self) -> float:
        r = sorted(self.recent)
        return r[len(r) // 2] if r else 0.0

    @property
    def stalled(self) -> bool:
        return len(self.recent) > 5 and self.last > STALL_FACTOR * self.median

    def text(self) -> str:
        return f"{self.last:.2f}s/step (median {self.median:.2f})" + (" STALL" if self.stalled else "")


def degrade_on_stall(timer: StepTimer, fixed: bool, say) -> bool:
    """Under the default policy (``fixed`` False), drop to one torch thread after a stalled step;
    ``say`` reports it once. Returns whether it changed the thread count."""
    import torch

    if fixed or not timer.stalled or torch.get_num_threads() == 1:
        return False
    torch.set_num_threads(1)
    say(f"step took {timer.last:.1f} s against a median of {timer.median:.2f} s: the CPU is shared, "
        f"continuing with 1 thread (pass --threads N to fix the count)")
    return True
