"""The two DANCE evaluator networks (docs/design.md#the-evaluator-dance).

* :class:`HardwareGenerator`: ``softmax(α)`` flattened (L·n_ops numbers) → residual MLP → one
  categorical head per searched knob (logits), relaxed by :func:`relax` (Gumbel-softmax, optional
  straight-through) into per-knob one-hots.
* :class:`CostEstimator`: concat(arch encoding, per-knob accelerator one-hots) → residual MLP →
  log latency (ms), log energy (mJ), log area (mm²), predicted standardised and de-standardised by
  buffers fitted on the training targets.

A residual block is ``x + W₂·GELU(W₁·LayerNorm(x))`` (pre-norm); widths and depth come from
:class:`NetConfig`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from hdx.config import StrictModel


class NetConfig(StrictModel):
    """Size of one residual MLP."""

    width: int = Field(256, ge=1, le=4096, description="hidden width, 1..4096")
    blocks: int = Field(5, ge=0, le=64, description="residual FC blocks, 0..64")
    hidden_mult: float = Field(1.0, gt=0, le=16, description="inner width of a block / width, up to 16")


class ResidualMLP(nn.Module):
    """``Linear(in → width)`` → ``blocks`` pre-norm residual FC blocks → ``LayerNorm`` ([*, width])."""

    def __init__(self, in_dim: int, cfg: NetConfig) -> None:
        super().__init__()
        inner = max(1, round(cfg.width * cfg.hidden_mult))
        self.inp = nn.Linear(in_dim, cfg.width)
        self.norms = nn.ModuleList(nn.LayerNorm(cfg.width) for _ in range(cfg.blocks))
        self.fc1 = nn.ModuleList(nn.Linear(cfg.width, inner) for _ in range(cfg.blocks))
        self.fc2 = nn.ModuleList(nn.Linear(inner, cfg.width) for _ in range(cfg.blocks))
        self.out_norm = nn.LayerNorm(cfg.width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x)
        for norm, fc1, fc2 in zip(self.norms, self.fc1, self.fc2, strict=True):
            h = h + fc2(F.gelu(fc1(norm(h))))
        return self.out_norm(h)


class HardwareGenerator(nn.Module):
    """Architecture distribution [B, L·n_ops] → per-knob logits ``{knob: [B, n_values]}``."""

    def __init__(self, arch_dim: int, knob_sizes: dict[str, int], cfg: NetConfig) -> None:
        super().__init__()
        self.knob_sizes = dict(knob_sizes)
        self.body = ResidualMLP(arch_dim, cfg)
        self.heads = nn.ModuleDict({k: nn.Linear(cfg.width, n) for k, n in knob_sizes.items()})

    def forward(self, arch: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.body(arch)
        return {k: head(h) for k, head in self.heads.items()}


def relax(logits: dict[str, torch.Tensor], *, tau: float = 1.0, hard: bool = True, noise: bool = False,
          generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Per-knob relaxed one-hots: ``softmax((logits + g) / tau)`` with Gumbel noise ``g`` if ``noise``.

    ``hard``: straight-through — the forward value is the one-hot of the argmax, the gradient that
    of the soft sample (the estimator then always sees a real accelerator).
    """
    out = {}
    for k, lg in logits.items():
        if noise:
            u = torch.rand(lg.shape, generator=generator, dtype=lg.dtype, device=lg.device)
            lg = lg - torch.log(-torch.log(u.clamp_min(1e-20)).clamp_min(1e-20))
        y = torch.softmax(lg / tau, dim=-1)
        if hard:
            y_hard = F.one_hot(y.argmax(-1), y.shape[-1]).to(y.dtype)
            y = y_hard - y.detach() + y
        out[k] = y
    return out


class CostEstimator(nn.Module):
    """concat(arch [B, L·n_ops], knob one-hots [B, Σ n_values]) → metrics (ms, mJ, mm²) [B, 3].

    ``forward`` returns standardised log metrics; :meth:`metrics` the de-standardised values.
    """

    def __init__(self, arch_dim: int, knob_sizes: dict[str, int], cfg: NetConfig, n_out: int = 3) -> None:
        super().__init__()
        self.knobs = tuple(knob_sizes)
        self.body = ResidualMLP(arch_dim + sum(knob_sizes.values()), cfg)
        self.head = nn.Linear(cfg.width, n_out)
        self.register_buffer("log_mean", torch.zeros(n_out))
        self.register_buffer("log_std", torch.ones(n_out))

    def forward(self, arch: torch.Tensor, knobs: dict[str, torch.Tensor]) -> torch.Tensor:
        x = torch.cat([arch, *(knobs[k] for k in self.knobs)], dim=-1)
        return self.head(self.body(x))

    def log_metrics(self, arch: torch.Tensor, knobs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self(arch, knobs) * self.log_std + self.log_mean

    def metrics(self, arch: torch.Tensor, knobs: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.exp(self.log_metrics(arch, knobs))
