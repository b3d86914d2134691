"""The one cost interface every ground-truth model implements.

A cost model evaluates a batch of layers on a batch of accelerators in one call:
``model.evaluate(layers, accels)`` → :class:`LayerCosts` whose per-layer arrays have shape
``[len(layers), len(accels)]`` and per-accelerator arrays shape ``[len(accels)]``.

Units: latency in cycles (ms at ``clock_mhz``), energy in pJ, area in µm².
Network cost = sum over its layers (layer costs are additive); area depends on the accelerator only.
The search never knows which model sits behind this interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from hdx.space.accelerator import AccelTable
from hdx.workload import LayerTable

ENERGY_PARTS: tuple[str, ...] = ("mac", "rf", "glb", "dram")
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
        return sum(self.energy_pj[p] for p in ENERGY_PARTS)

    @property
    def area_total_um2(self) -> np.ndarray:
        return sum(self.area_um2[p] for p in AREA_PARTS)

    @property
    def latency_ms(self) -> np.ndarray:
        return self.latency_cycles / (self.clock_mhz * 1e3)

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
        return self.latency_cycles / (self.clock_mhz * 1e3)

    @property
    def energy_total_pj(self) -> np.ndarray:
        return sum(self.energy_pj[p] for p in ENERGY_PARTS)

    @property
    def area_total_um2(self) -> np.ndarray:
        return sum(self.area_um2[p] for p in AREA_PARTS)

    @property
    def area_mm2(self) -> np.ndarray:
        return self.area_total_um2 / 1e6


@runtime_checkable
class CostModel(Protocol):
    """A ground-truth hardware cost model."""

    name: str
    version: str

    def evaluate(self, layers: LayerTable, accels: AccelTable) -> LayerCosts:
        """Costs of every layer on every accelerator ([L, A] arrays)."""
        ...

    def fingerprint(self) -> str:
        """Stable hash of the model version and all its parameters (evaluators are tied to it)."""
        ...
