"""Independent pieces of work as Ray tasks: the one runner of the cost table's slices
(:mod:`hdx.cost.table_build`), the evaluator's sample chunks (:mod:`hdx.evaluator.data`) and the slow
backends' table chunks (:mod:`hdx.cost.tabulate`).

Ray is optional (``pip install 'hdx[ray]'``): without it a caller that asked for Ray gets one line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from hdx.errors import HDXError


def run_tasks(fn: Callable, shared: Any, items: Iterable, done: Callable[[Any, Any], None], *,
              num_cpus: int, address: str | None = None, what: str = "task",
              label: Callable[[Any], object] = str) -> tuple[str, int]:
    """Run ``fn(shared, item)`` for every item as a Ray task (one CPU each, retried twice) on a local Ray
    of ``num_cpus`` CPUs or the cluster at ``address``, calling ``done(item, result)`` here as each one
    finishes (in completion order), so a caller that stores each result can resume after a failure.
    ``shared`` goes to the object store once. A failed task is one :class:`HDXError` line naming
    ``what`` and ``label(item)``. Returns (where it ran, the CPUs of the cluster). A Ray already initialised
    by the caller is used and left running."""
    try:
        import ray
    except ImportError:
        raise HDXError("running on Ray needs the optional extra: pip install 'hdx[ray]' (or run without "
                       "Ray / --address)") from None
    started = False
    if not ray.is_initialized():
        kw = {"include_dashboard": False, "log_to_driver": False}
        ray.init(address=address, **kw) if address else ray.init(num_cpus=num_cpus, **kw)
        started = True
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        task = ray.remote(fn).options(num_cpus=1, max_retries=2)
        ref = ray.put(shared)
        pending = {task.remote(ref, item): item for item in items}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            item = pending.pop(ready[0])
            try:
                result = ray.get(ready[0])
            except Exception as e:  # noqa: BLE001 - the piece stays missing; a rerun retries it
                why = " ".join(str(e).split())[:200]
                raise HDXError(f"{what} {label(item)} failed ({type(e).__name__}: {why}); finished ones are "
                               f"kept, rerun to resume") from None
            done(item, result)
        return f"ray ({cpus} CPUs, {address or 'local'})", cpus
    finally:
        if started:
            ray.shutdown()
