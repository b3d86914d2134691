"""Count parameters and multiply-accumulates of a module by running it once with hooks."""

from __future__ import annotations

import torch
from torch import nn


def count_params(module: nn.Module) -> int:
    """Number of parameters (elements)."""
    return sum(p.numel() for p in module.parameters())


@torch.no_grad()
def count_macs(module: nn.Module, input_shape: tuple[int, ...]) -> int:
    """MACs of one forward pass of a batch-1 input of ``input_shape`` (C, H, W): every Conv2d counts
    ``C_out · H_out · W_out · C_in / groups · k_h · k_w`` and every Linear ``in · out``; BN, activations,
    pooling and additions are not counted (the convention of the cost model's layer list)."""
    total = 0

    def conv_hook(m: nn.Conv2d, _inp, out) -> None:
        nonlocal total
        kh, kw = m.kernel_size
        total += out[0].numel() * (m.in_channels // m.groups) * kh * kw

    def fc_hook(m: nn.Linear, _inp, out) -> None:
        nonlocal total
        total += out[0].numel() * m.in_features

    handles = []
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(fc_hook))
    was_training = module.training
    module.eval()
    try:
        p = next(module.parameters(), None)
        module(torch.zeros(1, *input_shape, device=p.device if p is not None else "cpu"))
    finally:
        module.train(was_training)
        for h in handles:
            h.remove()
    return total
