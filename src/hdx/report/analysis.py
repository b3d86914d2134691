"""Cost-model numbers the report draws that a run directory does not store.

For the run's final network: its layers (:meth:`NetworkSpace.layers`, width 1 as the search costs
them), their costs on every accelerator of the run's grid (one vectorised analytical call) and the
per-layer costs of the chosen design with the run's ground-truth backend. Units: ms, mJ, mm²;
per-layer energy in µJ split by level (MAC / RF / GLB / DRAM).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hdx.report.load import Run


@dataclass
class GridView:
    """Every design of the grid for one network: arrays [A]."""

    latency_ms: np.ndarray
    energy_mj: np.ndarray
    area_mm2: np.ndarray
    backend: str

    @property
    def designs(self) -> int:
        return int(self.latency_ms.shape[0])

    def pareto(self, mask: np.ndarray | None = None) -> np.ndarray:
        """Indices of the latency/energy Pareto front (of the designs in ``mask``), sorted by latency."""
        idx = np.arange(self.designs) if mask is None else np.nonzero(mask)[0]
        order = idx[np.lexsort((self.energy_mj[idx], self.latency_ms[idx]))]
        e = self.energy_mj[order]
        before = np.concatenate([[np.inf], np.minimum.accumulate(e)[:-1]])  # best energy of faster designs
        return order[e < before].astype(np.int64)


@dataclass
class LayerView:
    """Per-layer costs of the chosen design."""

    names: list[str]
    kinds: list[str]
    macs: np.ndarray
    latency_ms: np.ndarray
    energy_uj: dict[str, np.ndarray]  # level -> [L]
    backend: str


def _setup(run: Run):
    from hdx.space.accelerator import AcceleratorSpace
    from hdx.space.network import NetworkSpace
    from hdx.workload import LayerTable

    space = NetworkSpace.load(run.config.space)
    grid = AcceleratorSpace.load(run.config.accel_space)
    layers = space.layers(run.final.arch)
    return space, grid, layers, LayerTable(layers)


def grid_view(run: Run) -> GridView:
    """Latency, energy and area of the final network on every accelerator of the run's grid
    (analytical model: the whole grid in one call; ZigZag would need one run per pair). A space beyond
    :data:`~hdx.space.accelerator.MAX_GRID` designs reads the search's cached cost table
    (:mod:`hdx.cost.table_build`; built again if the cache was cleared)."""
    from hdx.cost import get_cost_model
    from hdx.cost.grid import evaluate_grid
    from hdx.space.accelerator import MAX_GRID

    space, grid, _, table = _setup(run)
    model = get_cost_model("analytical", grid.hardware)
    if len(grid) > MAX_GRID:
        from hdx.cost.table import CostTable

        ct = CostTable.build(space, grid, model)
        m = ct.arch_metrics(space.encode(run.final.arch))
    else:
        _, m = evaluate_grid(model, table, grid)
    return GridView(latency_ms=m["latency"], energy_mj=m["energy"], area_mm2=np.asarray(m["area"]),
                    backend="analytical")


def layer_view(run: Run) -> LayerView:
    """Per-layer latency and energy by level of the chosen design, with the run's cost backend."""
    from hdx.cost import get_cost_model
    from hdx.cost.base import ENERGY_PARTS, check_finite
    from hdx.space.accelerator import AccelTable

    _, grid, layers, table = _setup(run)
    acc = grid.parse(run.final.accelerator.accelerator)
    backend = run.config.cost_backend
    model = get_cost_model(backend, grid.hardware)  # type: ignore[arg-type]
    accels = AccelTable.from_accels([acc])
    costs = check_finite(model.evaluate(table, accels), table, accels, model=backend)
    return LayerView(names=[ly.name for ly in layers], kinds=[ly.kind for ly in layers],
                     macs=np.asarray(table.macs), latency_ms=np.asarray(costs.latency_ms[:, 0]),
                     energy_uj={p: np.asarray(costs.energy_pj[p][:, 0]) * 1e-6 for p in ENERGY_PARTS
                                if p in costs.energy_pj},
                     backend=backend)


def op_names(run: Run) -> list[str]:
    """The space's op vocabulary (the columns of ``alpha_probs``)."""
    from hdx.space.network import NetworkSpace

    return list(NetworkSpace.load(run.config.space).op_names)
