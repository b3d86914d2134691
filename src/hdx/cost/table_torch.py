"""Torch view of a :class:`~hdx.cost.table.CostTable` (the exact oracle's differentiable lookup).

Kept apart from :mod:`hdx.cost.table` so that the cost path (``hdx cost``, :func:`hdx.best_accelerator`,
the exports) never imports torch. Metrics are canonical (:mod:`hdx.metrics`: ms, mJ, mm²).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from hdx.metrics import cycles_to_ms, pj_to_mj

if TYPE_CHECKING:
    from hdx.cost.table import CostTable


class CostTableTorch(torch.nn.Module):
    """Torch view of a :class:`CostTable`: :meth:`expected` is differentiable in the probabilities."""

    def __init__(self, table: CostTable, dtype=None):
        super().__init__()
        dtype = dtype or torch.float64
        L, n_ops, A, C = table.per_op.shape
        self.register_buffer("fixed", torch.as_tensor(table.fixed, dtype=dtype), persistent=False)
        self.register_buffer("per_op", torch.as_tensor(table.per_op.reshape(L * n_ops, A * C), dtype=dtype),
                             persistent=False)
        self.register_buffer("area", torch.as_tensor(table.area_mm2, dtype=dtype), persistent=False)
        self.clock_mhz = float(table.clock_mhz)
        self.shape = (A, C)

    def expected(self, probs: torch.Tensor) -> dict[str, torch.Tensor]:
        """Exact expected metrics of every accelerator [B, A] under probabilities [B, L, n_ops]."""
        B = probs.shape[0]
        A, C = self.shape
        add = self.fixed + (probs.to(self.per_op.dtype).reshape(B, -1) @ self.per_op).reshape(B, A, C)
        return {"latency": cycles_to_ms(add[..., 0], self.clock_mhz),
                "energy": pj_to_mj(add[..., 1:].sum(-1)), "area": self.area.expand(B, -1)}
