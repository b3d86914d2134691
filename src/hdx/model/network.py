"""A standalone network for one fixed architecture of any configured space.

Layout (all from the space config): stem conv-BN-ReLU6 → fixed first block (MBConv) → one block per
searchable position (MBConv, or the identity for Zero, which only sits where the shapes match) →
head 1×1 conv-BN-ReLU6 → global average pool → FC.
"""

from __future__ import annotations

import torch
from torch import nn

from hdx.model.ops import ConvBNAct, MBConv, build_op, scale_channels
from hdx.space.network import NetworkSpace, parse_op


class Stem(nn.Module):
    """Stem conv and the optional fixed first block (shared by :class:`Network` and the supernet)."""

    def __init__(self, space: NetworkSpace, width_mult: float):
        super().__init__()
        cfg = space.config
        c_stem = scale_channels(cfg.stem.channels, width_mult)
        self.conv = ConvBNAct(cfg.in_channels, c_stem, cfg.stem.kernel, cfg.stem.stride)
        fb = cfg.first_block
        self.block = (MBConv(c_stem, scale_channels(fb.channels, width_mult), fb.kernel, fb.expansion,
                             fb.stride) if fb else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        return self.block(x) if self.block is not None else x


class Head(nn.Module):
    """Optional 1×1 conv-BN-ReLU6 → global average pool → FC to the classes."""

    def __init__(self, space: NetworkSpace, width_mult: float):
        super().__init__()
        cfg = space.config
        c = scale_channels(space.positions[-1].c_out, width_mult)
        self.conv = None
        if cfg.head.channels:
            c_head = scale_channels(cfg.head.channels, width_mult)
            self.conv = ConvBNAct(c, c_head, 1)
            c = c_head
        self.fc = nn.Linear(c, cfg.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.conv is not None:
            x = self.conv(x)
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def position_channels(space: NetworkSpace, width_mult: float) -> list[tuple[int, int]]:
    """(c_in, c_out) of every searchable position after the width multiplier."""
    return [(scale_channels(p.c_in, width_mult), scale_channels(p.c_out, width_mult))
            for p in space.positions]


class Network(nn.Module):
    """A fixed architecture of ``space`` as a plain module (input [B, C, R, R] float → logits)."""

    def __init__(self, space: NetworkSpace, arch: str | tuple[str, ...] | list[str], width_mult: float = 1.0):
        super().__init__()
        if width_mult <= 0:
            raise ValueError(f"width_mult must be > 0 (got {width_mult})")
        self.space = space
        self.arch = space.parse_arch(arch)
        self.width_mult = width_mult
        self.stem = Stem(space, width_mult)
        blocks = []
        for p, op, (ci, co) in zip(space.positions, self.arch, position_channels(space, width_mult),
                                   strict=True):
            blocks.append(nn.Identity() if parse_op(op).is_zero else build_op(op, ci, co, p.stride))
        self.blocks = nn.ModuleList(blocks)
        self.head = Head(space, width_mult)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for b in self.blocks:
            x = b(x)
        return self.head(x)
