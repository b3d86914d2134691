"""Tabulated costs of a whole network space on a whole accelerator grid.

Layer costs are additive, so the cost of *any* architecture of a space on *every* accelerator of a
grid follows from one table: the cost of the fixed layers (stem, fixed block, head) and of every
(searchable position, op) on every accelerator. :meth:`CostTable.build` evaluates all distinct
layers in a single vectorised :meth:`~hdx.cost.base.CostModel.evaluate` call; afterwards

* :meth:`CostTable.network` gives exact ground-truth costs of a batch of architectures on all
  accelerators by gathering and summing (no cost-model call), and
* :meth:`CostTable.expected` gives the exact *expected* cost under per-position op probabilities
  (linear in the probabilities), which is what the exact oracle differentiates.

Canonical metrics and units used across HDX: ``latency`` in ms, ``energy`` in mJ, ``area`` in mm².
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from hdx.cost.base import AREA_PARTS, ENERGY_PARTS, CostModel, check_finite
from hdx.errors import HDXError
from hdx.space.accelerator import AcceleratorSpace
from hdx.space.network import NetworkSpace
from hdx.workload import LayerTable

METRICS: tuple[str, ...] = ("latency", "energy", "area")
UNITS: dict[str, str] = {"latency": "ms", "energy": "mJ", "area": "mm2"}
Objective = Literal["edap", "latency", "energy", "area", "weighted"]
OBJECTIVES: tuple[str, ...] = ("edap", "latency", "energy", "area", "weighted")

# columns of the additive part of the table: latency (cycles) and energy per part (pJ)
_COLS: tuple[str, ...] = ("latency_cycles", *(f"energy_{p}_pj" for p in ENERGY_PARTS))


def check_weights(weights: dict[str, float] | None) -> dict[str, float]:
    """Validate the per-metric weights of the ``weighted`` objective (≥ 0, at least one > 0)."""
    if not weights:
        raise HDXError("objective 'weighted' needs weights, e.g. --weights latency=1,energy=1")
    unknown = set(weights) - set(METRICS)
    if unknown:
        raise HDXError(f"unknown metric(s) in weights: {sorted(unknown)} (use {', '.join(METRICS)})")
    if any(w < 0 for w in weights.values()) or not any(w > 0 for w in weights.values()):
        raise HDXError("objective weights must be >= 0 with at least one > 0")
    return weights


def objective_value(latency, energy, area, objective: Objective = "edap",
                    weights: dict[str, float] | None = None):
    """Scalar hardware objective from canonical metrics (ms, mJ, mm²); numpy or torch, elementwise.

    ``edap`` = energy · latency · area (mJ·ms·mm²); ``weighted`` = Σ weights[m] · m (give weights that
    normalise the scales, e.g. 1 / reference value); a single metric returns that metric.
    """
    if objective == "edap":
        return energy * latency * area
    if objective == "latency":
        return latency
    if objective == "energy":
        return energy
    if objective == "area":
        return area
    if objective == "weighted":
        check_weights(weights)
        vals = {"latency": latency, "energy": energy, "area": area}
        return sum(w * vals[m] for m, w in weights.items())
    raise HDXError(f"unknown objective '{objective}': use one of {', '.join(OBJECTIVES)}")


@dataclass
class CostTable:
    """Per-(position, op, accelerator) cost table of one space on one grid under one cost model.

    ``fixed`` [A, C] and ``per_op`` [L, n_ops, A, C] hold latency (cycles) and energy parts (pJ)
    in the columns ``latency_cycles, energy_{mac,rf,glb,dram}_pj``; Zero and disallowed ops are 0
    (disallowed ones are also excluded by ``allowed_mask``). ``area_um2`` [A, 4] per area part.
    """

    space_name: str
    grid_name: str
    model_fingerprint: str
    clock_mhz: float
    fixed: np.ndarray
    per_op: np.ndarray
    area_um2: np.ndarray
    allowed_mask: np.ndarray

    @classmethod
    def build(cls, space: NetworkSpace, grid: AcceleratorSpace, model: CostModel,
              batch: int = 1) -> CostTable:
        """Evaluate every distinct layer of the space on every accelerator of the grid (one call)."""
        layers, group = [], []
        for ly in space.prefix_layers(batch) + space.suffix_layers(batch):
            layers.append(ly)
            group.append(-1)
        n_ops = space.num_ops
        for p in space.positions:
            for op in p.ops:
                g = p.index * n_ops + space.op_names.index(op)
                for ly in space.position_layers(p.index, op, batch):
                    layers.append(ly)
                    group.append(g)
        lt = LayerTable(layers)
        costs = check_finite(model.evaluate(lt, grid.table), lt, grid.table,
                             model=getattr(model, "name", "cost model"))
        cols = np.stack([costs.latency_cycles] + [costs.energy_pj[p] for p in ENERGY_PARTS], axis=-1)
        group_arr = np.asarray(group)
        fixed = cols[group_arr == -1].sum(0)
        per_op = np.zeros((space.num_positions * n_ops, len(grid), len(_COLS)))
        sel = group_arr >= 0
        np.add.at(per_op, group_arr[sel], cols[sel])
        area = np.stack([np.broadcast_to(costs.area_um2[p], (len(grid),)) for p in AREA_PARTS], axis=-1)
        return cls(space.name, grid.name, model.fingerprint(), float(costs.clock_mhz), fixed,
                   per_op.reshape(space.num_positions, n_ops, len(grid), len(_COLS)), area,
                   space.allowed_mask.copy())

    @property
    def num_accels(self) -> int:
        return int(self.fixed.shape[0])

    def _to_metrics(self, additive: np.ndarray) -> dict[str, np.ndarray]:
        lat_ms = additive[..., 0] / (self.clock_mhz * 1e3)
        energy_mj = additive[..., 1:].sum(-1) * 1e-9
        area_mm2 = np.broadcast_to(self.area_um2.sum(-1) * 1e-6, lat_ms.shape)
        return {"latency": lat_ms, "energy": energy_mj, "area": area_mm2}

    def network_additive(self, op_idx: np.ndarray) -> np.ndarray:
        """Raw additive columns [B, A, C] for architectures given as op indices [B, L]."""
        op_idx = np.atleast_2d(np.asarray(op_idx, dtype=np.int64))
        L = self.per_op.shape[0]
        if op_idx.shape[-1] != L:
            raise HDXError(f"architecture has {op_idx.shape[-1]} positions, table has {L}")
        if not np.all(self.allowed_mask[np.arange(L), op_idx]):
            raise HDXError("architecture uses an op not allowed at its position (e.g. zero at a stage start)")
        return self.fixed[None] + self.per_op[np.arange(L)[None, :], op_idx].sum(1)

    def network(self, op_idx: np.ndarray) -> dict[str, np.ndarray]:
        """Ground-truth metrics (ms, mJ, mm²) of architectures [B, L] on every accelerator: [B, A] each."""
        return self._to_metrics(self.network_additive(op_idx))

    def expected(self, probs: np.ndarray) -> dict[str, np.ndarray]:
        """Exact expected metrics under op probabilities [B, L, n_ops] (rows sum to 1): [B, A] each.

        Latency and energy are linear in the probabilities; area does not depend on the network.
        """
        probs = np.asarray(probs, dtype=np.float64)
        if probs.ndim == 2:
            probs = probs[None]
        add = self.fixed[None] + np.einsum("blo,loac->bac", probs, self.per_op)
        return self._to_metrics(add)
