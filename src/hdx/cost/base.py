"""The one cost interface every ground-truth model implements.

A cost model evaluates a batch of layers on a batch of accelerators in one call:
``model.evaluate(layers, accels)`` → :class:`LayerCosts` whose per-layer arrays have shape
``[len(layers), len(accels)]`` and per-accelerator arrays shape ``[len(accels)]``.

Units: latency in cycles (ms at ``clock_mhz``), energy in pJ, area in µm².
Network cost = sum over its layers (layer costs are additive); area depends on the accelerator only.
The search never knows which model sits behind this interface.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from hdx.errors import HDXError
from hdx.metrics import cycles_to_ms, um2_to_mm2
from hdx.space.accelerator import AccelTable
from hdx.workload import LayerTable

# ``static``: leakage power × latency (zero with a technology table without leakage); a model that does
# not report a part (e.g. ZigZag has no leakage) counts it as zero
ENERGY_PARTS: tuple[str, ...] = ("mac", "rf", "glb", "dram", "static")
AREA_PARTS: tuple[str, ...] = ("pe", "rf", "glb", "noc")


@dataclass
class LayerCosts:
    """Costs of every (layer, accelerator) pair. Arrays [L, A] unless noted; float64.

    ``compute_cycles`` and ``memory_cycles`` are the two bounds; ``latency_cycles`` their max
    (double-buffered). ``energy_pj[part]`` for ``mac rf glb dram``. ``area_um2[part]`` [A] for
    ``pe rf glb noc``. ``utilisation`` = MACs / (cycles · PEs) ∈ (0, 1].
    """

    latency_cycles: np.ndarray
    compute_cycles: np.ndarray
    memory_cycles: np.ndarray
    energy_pj: dict[str, np.ndarray]
    area_um2: dict[str, np.ndarray]
    utilisation: np.ndarray
    macs: np.ndarray  # [L]
    clock_mhz: float
    mapping: dict[str, np.ndarray] | None = None  # chosen mapping per pair (models with a mapper)

    @property
    def energy_total_pj(self) -> np.ndarray:
        return sum(self.energy_pj.get(p, 0.0) for p in ENERGY_PARTS)

    @property
    def area_total_um2(self) -> np.ndarray:
        return sum(self.area_um2[p] for p in AREA_PARTS)

    @property
    def latency_ms(self) -> np.ndarray:
        return cycles_to_ms(self.latency_cycles, self.clock_mhz)

    @classmethod
    def concat(cls, parts: list[LayerCosts]) -> LayerCosts:
        """Stack the layers of several results on the same accelerators (area from the first)."""
        cat = lambda xs: np.concatenate(xs, axis=0)  # noqa: E731
        first = parts[0]
        mapping = (None if first.mapping is None
                   else {k: cat([p.mapping[k] for p in parts]) for k in first.mapping})
        return cls(latency_cycles=cat([p.latency_cycles for p in parts]),
                   compute_cycles=cat([p.compute_cycles for p in parts]),
                   memory_cycles=cat([p.memory_cycles for p in parts]),
                   energy_pj={k: cat([p.energy_pj[k] for p in parts]) for k in first.energy_pj},
                   area_um2=first.area_um2, utilisation=cat([p.utilisation for p in parts]),
                   macs=cat([p.macs for p in parts]), clock_mhz=first.clock_mhz, mapping=mapping)

    def network(self) -> NetworkCosts:
        """Sum over layers → one cost per accelerator."""
        return NetworkCosts(
            latency_cycles=self.latency_cycles.sum(0),
            energy_pj={p: v.sum(0) for p, v in self.energy_pj.items()},
            area_um2=self.area_um2,
            macs=int(self.macs.sum()),
            clock_mhz=self.clock_mhz,
        )


@dataclass
class NetworkCosts:
    """Whole-network costs per accelerator: arrays [A]."""

    latency_cycles: np.ndarray
    energy_pj: dict[str, np.ndarray]
    area_um2: dict[str, np.ndarray]
    macs: int
    clock_mhz: float

    @property
    def latency_ms(self) -> np.ndarray:
        return cycles_to_ms(self.latency_cycles, self.clock_mhz)

    @property
    def energy_total_pj(self) -> np.ndarray:
        return sum(self.energy_pj.get(p, 0.0) for p in ENERGY_PARTS)

    @property
    def area_total_um2(self) -> np.ndarray:
        return sum(self.area_um2[p] for p in AREA_PARTS)

    @property
    def area_mm2(self) -> np.ndarray:
        return um2_to_mm2(self.area_total_um2)


def check_finite(costs: LayerCosts, layers: LayerTable, accels: AccelTable, *, model: str = "cost model"
                 ) -> LayerCosts:
    """Refuse non-finite or negative costs: a one-line :class:`HDXError` naming the first bad layer and
    accelerator (a cost is never NaN/inf as a result). Returns ``costs`` for chaining.

    Every cost model's output passes through here where it is consumed (the cost table, ``hdx cost``,
    exhaustive grid search); models may also call it on their own outputs.
    """
    per_layer = {"latency": costs.latency_cycles, "compute cycles": costs.compute_cycles,
                 "memory cycles": costs.memory_cycles, "utilisation": costs.utilisation,
                 **{f"{p} energy": costs.energy_pj[p] for p in ENERGY_PARTS if p in costs.energy_pj}}
    for what, arr in per_layer.items():
        a = np.broadcast_to(np.asarray(arr, dtype=np.float64), (len(layers), len(accels)))
        bad = ~np.isfinite(a) | (a < 0)
        if bad.any():
            li, ai = (int(i) for i in np.argwhere(bad)[0])
            name = layers.names[li] or f"#{li}"
            raise HDXError(f"{model} gave {what} {a[li, ai]} for layer '{name}' on accelerator "
                           f"{accels.accelerator(ai)}; check the hardware parameters and technology table "
                           f"(clock, bandwidths, energies)")
    for p in AREA_PARTS:
        a = np.broadcast_to(np.asarray(costs.area_um2[p], dtype=np.float64), (len(accels),))
        bad = ~np.isfinite(a) | (a < 0)
        if bad.any():
            ai = int(np.flatnonzero(bad)[0])
            raise HDXError(f"{model} gave {p} area {a[ai]} for accelerator {accels.accelerator(ai)}; check "
                           f"the technology table")
    if not (np.isfinite(costs.clock_mhz) and costs.clock_mhz > 0):
        raise HDXError(f"{model} reports clock {costs.clock_mhz} MHz; check hardware.clock_mhz")
    return costs


@runtime_checkable
class CostModel(Protocol):
    """A ground-truth hardware cost model."""

    name: str
    version: str

    def evaluate(self, layers: LayerTable, accels: AccelTable) -> LayerCosts:
        """Costs of every layer on every accelerator ([L, A] arrays). A model with a mapper may take
        ``mapping=False`` to skip reporting the chosen mappings (see :func:`costs_only`)."""
        ...

    def fingerprint(self) -> str:
        """Stable hash of the model version and all its parameters (evaluators are tied to it)."""
        ...


def costs_only(model: CostModel, layers: LayerTable, accels: AccelTable) -> LayerCosts:
    """``model.evaluate(layers, accels)`` where only the costs count (a search over designs, a table): a
    model whose ``evaluate`` takes ``mapping`` is asked not to report the chosen mappings."""
    try:
        takes_mapping = "mapping" in inspect.signature(model.evaluate).parameters
    except (TypeError, ValueError):
        takes_mapping = False
    return model.evaluate(layers, accels, mapping=False) if takes_mapping else model.evaluate(layers, accels)
