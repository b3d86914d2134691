"""Exact oracle evaluator: no network, no surrogate error (docs/design.md#the-evaluator-dance).

Costs come straight from the :class:`~hdx.cost.table.CostTable` of the ground-truth model:

1. expected latency and energy of every accelerator under ``softmax(α)``, exact and linear in the
   probabilities (``fixed + Σ_l Σ_o p[l, o] · table[l, o, a]``); area per accelerator;
2. in place of the hardware generator, a **softmin over the grid** of the log objective:
   ``w_a = softmax_a(−log J_a / τ)`` with ``J`` the objective (EDAP, latency, ...) of accelerator a
   and τ = ``temperature`` in units of log objective (τ = 0.02: accelerators within ~2 % of the best
   share the weight). ``accel_probs`` are the per-knob marginals of ``w``; ``accel_index`` is its
   argmax, i.e. the exhaustive-search optimum for the expected costs.
3. ``costs`` (choice ``cost_mode``):

   * ``"expected"`` (default): ``Σ_a w_a · metric_a`` — smooth in α through both the costs and the
     soft accelerator choice (the analogue of the learned generator + estimator); → the optimum's
     cost as τ → 0.
   * ``"argmax"``: the metrics of the optimal accelerator (exact ground truth of the exhaustive
     choice); the gradient is that of the costs at the fixed optimum (Danskin: the gradient of
     ``min_a J_a`` almost everywhere).

Internally float64; costs are returned in the dtype of ``arch_probs``. ``torch.autograd.gradcheck``
passes in float64.
"""

from __future__ import annotations

from typing import Literal

import torch

from hdx.cost.base import CostModel
from hdx.cost.table import CostTable
from hdx.errors import HDXError
from hdx.evaluator.base import EvalResult, Evaluator, knob_marginals
from hdx.metrics import Objective
from hdx.space.accelerator import KNOBS, AcceleratorSpace
from hdx.space.network import NetworkSpace

CostMode = Literal["expected", "argmax"]


class OracleEvaluator(Evaluator):
    """Exact evaluator from the ground-truth cost table (see the module docstring)."""

    def __init__(self, space: NetworkSpace, grid: AcceleratorSpace, model: CostModel | None = None,
                 objective: str | Objective = "edap", *, temperature: float = 0.02,
                 cost_mode: CostMode = "expected",
                 weights: dict[str, float] | None = None, table: CostTable | None = None) -> None:
        if cost_mode not in ("expected", "argmax"):
            raise HDXError(f"unknown cost_mode '{cost_mode}': use expected or argmax")
        if not temperature > 0:
            raise HDXError(f"oracle temperature must be > 0 (got {temperature})")
        if table is None:
            if model is None:
                raise HDXError("the oracle evaluator needs a cost model (or a prebuilt CostTable)")
            table = CostTable.build(space, grid, model, on_disk=False)  # differentiated whole: in memory
        if table.space_name != space.name or table.grid_name != grid.name:
            raise HDXError(f"cost table is for space '{table.space_name}' / grid '{table.grid_name}', "
                           f"not '{space.name}' / '{grid.name}'; rebuild it")
        super().__init__(num_positions=space.num_positions, num_ops=space.num_ops,
                         allowed_mask=space.allowed_mask)
        self.space_name = space.name
        self.grid_name = grid.name
        self.model_fingerprint = table.model_fingerprint
        # one normalisation (hdx.metrics): user weights of `weighted` apply to metrics / table reference
        self.obj = objective if isinstance(objective, Objective) else table.objective(objective, weights)
        self.objective = self.obj.name
        self.temperature = float(temperature)
        self.cost_mode: CostMode = cost_mode
        self.radices = grid.radices
        self.searched_knobs = grid.searched_knobs
        self.table = table
        # a compact (float32) table of a large space is viewed as it is: no float64 copy of it
        self.view = table.torch_view(torch.float64 if table.per_op.dtype.itemsize == 8 else torch.float32)

    def accel_metrics(self, arch_probs: torch.Tensor) -> dict[str, torch.Tensor]:
        """Exact expected metrics of every accelerator: ``latency`` / ``energy`` / ``area`` [B, A]."""
        return self.view.expected(self._batch(arch_probs))

    def forward(self, arch_probs: torch.Tensor) -> EvalResult:
        dtype = arch_probs.dtype if isinstance(arch_probs, torch.Tensor) and arch_probs.is_floating_point() \
            else torch.float32
        m = self.accel_metrics(arch_probs)
        J = self.obj.of(m)  # [B, A]
        logits = -torch.log(J) / self.temperature
        w = torch.softmax(logits, dim=-1)
        best = torch.argmax(logits, dim=-1)
        if self.cost_mode == "expected":
            costs = {k: (w * v).sum(-1) for k, v in m.items()}
        else:
            costs = {k: v.gather(1, best[:, None]).squeeze(1) for k, v in m.items()}
        costs = {k: v.to(dtype) for k, v in costs.items()}
        probs = knob_marginals(w.to(dtype), self.radices, KNOBS, self.searched_knobs)
        return EvalResult(costs=costs, accel_probs=probs, accel_index=best)
