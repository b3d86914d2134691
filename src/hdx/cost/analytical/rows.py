"""Row bookkeeping of the analytical model's results: evaluation chunks, distinct layer shapes evaluated
once, and the float32 → float64 fallback check (docs/cost-model.md, "Numerics")."""

from __future__ import annotations

from typing import Literal

import numpy as np

from hdx.cost.base import LayerCosts
from hdx.workload import LayerTable

# internal precision: float32 (default) halves the memory traffic; its results agree with float64
# within 1e-6 relative (tests/cost/test_cost_model.py). Results are returned as float64 either way.
Precision = Literal["float32", "float64"]
CHUNK = 64  # layers per vectorised pass


def all_finite(c: LayerCosts) -> bool:
    return bool(np.isfinite(c.latency_cycles).all() and np.isfinite(c.compute_cycles).all()
                and all(np.isfinite(v).all() for v in c.energy_pj.values()))


def _each_row_array(part: LayerCosts, rows) -> LayerCosts:
    """``part`` with ``rows`` applied to each of its per-layer arrays (area is per design: kept)."""
    return LayerCosts(latency_cycles=rows(part.latency_cycles), compute_cycles=rows(part.compute_cycles),
                      memory_cycles=rows(part.memory_cycles),
                      energy_pj={k: rows(v) for k, v in part.energy_pj.items()}, area_um2=part.area_um2,
                      utilisation=rows(part.utilisation), macs=rows(part.macs), clock_mhz=part.clock_mhz,
                      mapping=None if part.mapping is None else {k: rows(v) for k, v in part.mapping.items()})


def empty_like_rows(part: LayerCosts, n: int) -> LayerCosts:
    return _each_row_array(part, lambda a: np.empty((n, *a.shape[1:]), dtype=a.dtype))


def take_rows(part: LayerCosts, idx: np.ndarray) -> LayerCosts:
    """Rows ``idx`` of ``part`` (a layer's costs repeated for every layer of the same shape; each array
    copied once)."""
    return _each_row_array(part, lambda a: a.take(idx, axis=0))


def put_rows(res: LayerCosts, idx: np.ndarray, part: LayerCosts,
             src: np.ndarray | slice = slice(None)) -> None:
    for name in ("latency_cycles", "compute_cycles", "memory_cycles", "utilisation", "macs"):
        getattr(res, name)[idx] = getattr(part, name)[src]
    for k, v in part.energy_pj.items():
        res.energy_pj[k][idx] = v[src]
    if res.mapping is not None and part.mapping is not None:
        for k, v in part.mapping.items():
            res.mapping[k][idx] = v[src]


def chunks(layers: LayerTable) -> list[np.ndarray]:
    """Layer indices in evaluation chunks of at most :data:`CHUNK` layers (the [L, A] temporaries stay
    cache-sized; the mapper deduplicates candidates per (layer, accelerator), so any layers may share a
    chunk)."""
    n = len(layers)
    return [np.arange(i, min(i + CHUNK, n)) for i in range(0, n, CHUNK)]
