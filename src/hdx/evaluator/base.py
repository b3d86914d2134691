"""The evaluator interface (docs/design.md#the-evaluator-dance): the learned DANCE evaluator and the oracle.

An :class:`Evaluator` maps architecture probabilities ``softmax(α)`` — ``[B, L, n_ops]`` (or
``[L, n_ops]``, then B = 1) — to an :class:`EvalResult`:

* ``costs``: ``latency`` (ms), ``energy`` (mJ), ``area`` (mm²), each ``[B]`` and differentiable with
  respect to ``arch_probs``;
* ``accel_probs``: per searched knob of the grid (:attr:`AcceleratorSpace.searched_knobs`) a
  distribution ``[B, n_values]`` over that knob's values (the chosen accelerator, relaxed);
* ``accel_index``: ``[B]`` int64 grid index of the most likely accelerator.

Both evaluators are frozen during search (no trainable parameters are exposed to the search) and
record which space, grid, cost model (fingerprint) and hardware objective they were built for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hdx.errors import HDXError


@dataclass
class EvalResult:
    """Output of an :class:`Evaluator` for a batch of B architecture distributions."""

    costs: dict[str, torch.Tensor]  # "latency" (ms), "energy" (mJ), "area" (mm²): each [B]
    accel_probs: dict[str, torch.Tensor]  # per searched knob: [B, n_values]
    accel_index: torch.Tensor  # [B] int64 grid index of the argmax accelerator


class Evaluator(torch.nn.Module):
    """Abstract evaluator: ``forward(arch_probs) -> EvalResult``.

    Attributes: ``space_name``, ``grid_name``, ``model_fingerprint`` (the cost model it imitates or
    uses), ``objective`` (the hardware objective its accelerator choice minimises).
    """

    space_name: str
    grid_name: str
    model_fingerprint: str
    objective: str

    def __init__(self, *, num_positions: int, num_ops: int, allowed_mask: np.ndarray) -> None:
        super().__init__()
        self.num_positions = int(num_positions)
        self.num_ops = int(num_ops)
        self.register_buffer("disallowed", torch.as_tensor(~np.asarray(allowed_mask, dtype=bool)),
                             persistent=False)
        self.check_inputs = True

    def forward(self, arch_probs: torch.Tensor) -> EvalResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def _batch(self, arch_probs: torch.Tensor) -> torch.Tensor:
        """Validate ``arch_probs`` and return it as ``[B, L, n_ops]``."""
        if not isinstance(arch_probs, torch.Tensor):
            arch_probs = torch.as_tensor(np.asarray(arch_probs), dtype=torch.float32)
        if arch_probs.dim() == 2:
            arch_probs = arch_probs.unsqueeze(0)
        want = (self.num_positions, self.num_ops)
        if arch_probs.dim() != 3 or tuple(arch_probs.shape[1:]) != want:
            raise HDXError(f"arch_probs has shape {tuple(arch_probs.shape)}; the evaluator of space "
                           f"'{self.space_name}' expects [B, {want[0]}, {want[1]}] (softmax of the logits)")
        if self.check_inputs:
            with torch.no_grad():
                if arch_probs.shape[0] and bool((arch_probs.detach()[:, self.disallowed].abs() > 1e-6).any()):
                    raise HDXError("arch_probs puts probability on an op not allowed at its position "
                                   "(e.g. zero at a stage start); mask those logits to -inf before softmax")
        return arch_probs


def knob_marginals(weights: torch.Tensor, radices: tuple[int, ...], knobs: tuple[str, ...],
                   searched: tuple[str, ...]) -> dict[str, torch.Tensor]:
    """Per searched knob the marginal ``[B, n_values]`` of a distribution ``[B, A]`` over the grid
    (grid order is row-major over ``knobs`` with ``radices``)."""
    w = weights.reshape(weights.shape[0], *radices)
    out = {}
    for j, name in enumerate(knobs):
        if name in searched:
            dims = tuple(d + 1 for d in range(len(knobs)) if d != j)
            out[name] = w.sum(dim=dims)
    return out
