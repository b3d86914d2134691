"""HDX: co-design a neural network and its hardware accelerator by gradient descent under hard budgets.

The Python API is :mod:`hdx.api` (the ``hdx`` commands are a thin layer over it)::

    from hdx.api import best_accelerator, cost, search, train

    cost(arch=..., accel="16x16,rf=16,df=ws" | "grid", budgets=..., objective=...)  -> CostReport
    best_accelerator(arch=..., budgets="latency<=2ms", objective="edap")           -> BestAccelerator
    search(budgets=["latency<=2ms"], epochs=8, out="runs/s1")                      -> SearchRun
    train(arch=..., epochs=30, out="runs/t1")                                       -> TrainFinal

``hdx.best_accelerator`` and ``hdx.api`` are also reachable from ``import hdx`` alone (loaded on first
use: ``import hdx`` imports neither numpy nor torch). ``hdx.cost``, ``hdx.search`` and ``hdx.train``
are the packages of those names (cost models, the search, training), not the API functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hdx.version import __version__

if TYPE_CHECKING:
    from hdx import api
    from hdx.api import best_accelerator

__all__ = ["__version__", "api", "best_accelerator"]


def __getattr__(name: str) -> object:
    # PEP 562, lazy: `import hdx` stays light until the API is used
    if name == "api":
        import hdx.api  # sets the attribute; `from hdx import api` here would recurse into __getattr__

        return hdx.api
    if name == "best_accelerator":
        from hdx.api import best_accelerator

        return best_accelerator
    raise AttributeError(f"module 'hdx' has no attribute '{name}'")
