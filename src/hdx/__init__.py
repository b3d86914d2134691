"""HDX: co-design a neural network and its hardware accelerator by gradient descent under hard budgets.

The Python API (:mod:`hdx.api`; the ``hdx`` commands are a thin layer over it)::

    hdx.cost(arch=..., accel="16x16,rf=16,df=ws" | "grid", budgets=..., objective=...)  -> CostReport
    hdx.best_accelerator(arch=..., budgets="latency<=2ms", objective="edap")           -> BestAccelerator
    hdx.search(budgets=["latency<=2ms"], epochs=8, out="runs/s1")                      -> SearchRun
    hdx.train(arch=..., epochs=30, out="runs/t1")                                       -> dict (final.json)
"""

__version__ = "0.1.0"

__all__ = ["__version__", "best_accelerator", "cost", "search", "train"]


def __getattr__(name: str):
    # lazy: `import hdx` stays light (no torch) until an API function is used
    if name in ("cost", "search", "train"):  # callable packages (hdx._callable)
        import importlib

        return importlib.import_module(f"hdx.{name}")
    if name == "best_accelerator":
        from hdx import api

        return api.best_accelerator
    raise AttributeError(f"module 'hdx' has no attribute '{name}'")
