"""Op modules of the search space (docs/design.md#the-network-space): conv-BN-ReLU6, MBConv, Zero.

An MBConv is 1×1 expand conv (omitted when the expansion is 1) → k×k depthwise conv (stride) →
1×1 project conv; BN + ReLU6 after the first two convs, BN after the project. ``residual`` adds the
input when stride = 1 and c_in = c_out (``None``: decide from the shapes). The supernet builds its
candidates with ``residual=False`` and adds the shortcut once per layer, which is equivalent
because the path weights sum to 1.
"""

from __future__ import annotations

import torch
from torch import nn

from hdx.space.network import parse_op


def make_divisible(v: float, divisor: int = 8) -> int:
    """Round a scaled channel count to a multiple of ``divisor`` (≥ ``divisor``), never down by >10 %."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new < 0.9 * v:
        new += divisor
    return new


def scale_channels(c: int, width_mult: float) -> int:
    """Channels after the width multiplier (unchanged at 1.0)."""
    return c if width_mult == 1.0 else make_divisible(c * width_mult)


class ConvBNAct(nn.Sequential):
    """k×k conv (no bias, 'same' padding) → BN → optional ReLU6."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 1, stride: int = 1, groups: int = 1,
                 act: bool = True):
        layers: list[nn.Module] = [
            nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
            nn.BatchNorm2d(c_out)]
        if act:
            layers.append(nn.ReLU6(inplace=True))
        super().__init__(*layers)


class MBConv(nn.Module):
    """Mobile inverted bottleneck: [expand 1×1] → depthwise k×k (stride) → project 1×1."""

    def __init__(self, c_in: int, c_out: int, kernel: int, expansion: int, stride: int = 1,
                 residual: bool | None = None):
        super().__init__()
        mid = c_in * expansion
        self.expand = ConvBNAct(c_in, mid, 1) if expansion != 1 else None
        self.dw = ConvBNAct(mid, mid, kernel, stride, groups=mid)
        self.project = ConvBNAct(mid, c_out, 1, act=False)
        can = stride == 1 and c_in == c_out
        if residual and not can:
            raise ValueError(f"MBConv residual needs stride 1 and c_in == c_out "
                             f"(got {stride}, {c_in}→{c_out})")
        self.residual = can if residual is None else residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.expand(x) if self.expand is not None else x
        y = self.project(self.dw(y))
        return x + y if self.residual else y


class Zero(nn.Module):
    """The Zero op: outputs zeros of the layer's output shape (the layer then reduces to its shortcut)."""

    def __init__(self, c_out: int, stride: int = 1):
        super().__init__()
        self.c_out = c_out
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        s = self.stride
        return x.new_zeros(b, self.c_out, (h + s - 1) // s, (w + s - 1) // s)


def build_op(name: str, c_in: int, c_out: int, stride: int, residual: bool | None = None) -> nn.Module:
    """An op module from its name (``mb{k}e{e}`` or ``zero``)."""
    spec = parse_op(name)
    if spec.is_zero:
        return Zero(c_out, stride)
    return MBConv(c_in, c_out, spec.kernel, spec.expansion, stride, residual=residual)
