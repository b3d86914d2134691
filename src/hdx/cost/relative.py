"""Budgets relative to the space: ``latency<=p20`` resolved for one space, grid and cost model.

The value of ``<metric><=p<q>`` is the ``q``-th percentile (``numpy.quantile``, linear interpolation)
of ``metric`` over :data:`N_NETWORKS` random networks of the space, drawn with
:meth:`~hdx.space.network.NetworkSpace.sample_indices` from ``numpy.random.default_rng(SEED)`` (uniform
over each position's allowed ops), each network on its **best accelerator**: the EDAP-optimal design
of the grid (exhaustive, ground-truth table), the same for every method and objective, so one text
means one number across the trials of a sweep. Units are canonical (ms, mJ, mm²).

``latency<=p20`` is then the tight budget that 80 % of random networks miss on their EDAP-best
accelerator; a cost-model change moves the number, never the meaning.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from hdx.budgets import Budget, BudgetSpec, RelativeBudget, resolve_budgets
from hdx.cost.table import CostTable
from hdx.metrics import METRICS, Objective
from hdx.space.network import NetworkSpace

#: random networks of the space the percentiles are taken over
N_NETWORKS = 2000
#: seed of their draw
SEED = 0


class SpaceDistribution:
    """Per-network best values (EDAP-optimal accelerator) of :data:`N_NETWORKS` random networks of a
    space on a grid; computed once, on the first percentile asked for."""

    def __init__(self, table: CostTable, space: NetworkSpace, n: int = N_NETWORKS, seed: int = SEED):
        self.table, self.space, self.n, self.seed = table, space, n, seed
        self._values: dict[str, np.ndarray] | None = None

    @property
    def values(self) -> dict[str, np.ndarray]:
        """Each metric [n] (ms, mJ, mm²) of the random networks on their EDAP-optimal accelerators."""
        if self._values is None:
            idx = self.space.sample_indices(np.random.default_rng(self.seed), self.n)
            best = self.table.optimal(idx, Objective("edap"))
            self._values = {m: best[m] for m in METRICS}
        return self._values

    def percentile(self, metric: str, q: float) -> float:
        """The ``q``-th percentile (0..100) of ``metric`` (canonical unit)."""
        return float(np.quantile(self.values[metric], q / 100.0))

    def describe(self, spec: RelativeBudget, budget: Budget) -> str:
        """One line: what a relative budget resolved to."""
        return (f"budget {spec.text()} is {budget.text()}: percentile {spec.percentile:g} of the "
                f"{spec.metric} of {self.n} random networks of {self.space.name} (seed {self.seed}), each on "
                f"its EDAP-optimal accelerator of {self.table.grid_name}")


def resolve(specs: Iterable[BudgetSpec], table: CostTable, space: NetworkSpace,
            dist: SpaceDistribution | None = None) -> tuple[list[Budget], list[str]]:
    """Absolute budgets for ``specs`` on this space and table, and one line per relative budget saying
    what it resolved to. Nothing is computed when no budget is relative."""
    specs = list(specs)
    dist = dist or SpaceDistribution(table, space)
    budgets = resolve_budgets(specs, dist.percentile)
    notes = [dist.describe(s, b) for s, b in zip(specs, budgets, strict=True)
             if isinstance(s, RelativeBudget)]
    return budgets, notes
