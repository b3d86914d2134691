"""Batched CIFAR augmentation in torch on uint8 tensors (no per-sample Python).

Random crop with zero padding, horizontal flip, optional cutout, then normalisation to float. Random
numbers come from an explicit :class:`torch.Generator`: a CPU one (results identical on every
device; the numbers are copied to the batch's device) or one on the batch's device (GPU: no
host-device copy, so no synchronisation per batch; ``BatchLoader(device_rng=True)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)


def normalize(x: torch.Tensor, mean: tuple[float, ...] = CIFAR_MEAN,
              std: tuple[float, ...] = CIFAR_STD) -> torch.Tensor:
    """uint8 [B, C, H, W] → float32, scaled to [0, 1] then standardised per channel."""
    m, s = _stats(mean, std, x.device)
    return (x.float().div_(255.0) - m).div_(s)


_STATS: dict = {}


def _stats(mean: tuple[float, ...], std: tuple[float, ...], device: torch.device
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean/std as [1, C, 1, 1] tensors on ``device``, made once (a fresh copy to a GPU per batch
    would synchronise the host with the device)."""
    key = (tuple(mean), tuple(std), str(device))
    if key not in _STATS:
        _STATS[key] = (torch.tensor(mean, device=device).view(1, -1, 1, 1),
                       torch.tensor(std, device=device).view(1, -1, 1, 1))
    return _STATS[key]


def _randint(high: int, n: int, gen: torch.Generator, device: torch.device) -> torch.Tensor:
    """``n`` ints in [0, high) from ``gen`` (drawn on the generator's device), on ``device``."""
    return torch.randint(0, high, (n,), generator=gen, device=gen.device).to(device)


def random_crop(x: torch.Tensor, padding: int, gen: torch.Generator) -> torch.Tensor:
    """Pad by ``padding`` zeros on every side and crop back to H×W at a random offset per sample."""
    if padding <= 0:
        return x
    b, c, h, w = x.shape
    xp = torch.nn.functional.pad(x, (padding, padding, padding, padding))
    oy = _randint(2 * padding + 1, b, gen, x.device)
    ox = _randint(2 * padding + 1, b, gen, x.device)
    rows = (oy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]  # [B,1,H,1]
    cols = (ox[:, None] + torch.arange(w, device=x.device))[:, None, None, :]  # [B,1,1,W]
    bi = torch.arange(b, device=x.device)[:, None, None, None]
    ci = torch.arange(c, device=x.device)[None, :, None, None]
    return xp[bi, ci, rows, cols]


def random_flip(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Mirror each sample horizontally with probability 1/2."""
    flip = (torch.rand(x.shape[0], generator=gen, device=gen.device) < 0.5).to(x.device)
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def cutout(x: torch.Tensor, length: int, gen: torch.Generator) -> torch.Tensor:
    """Zero a ``length``×``length`` square (clipped at the border) at a random centre per sample."""
    if length <= 0:
        return x
    b, _, h, w = x.shape
    cy = _randint(h, b, gen, x.device)
    cx = _randint(w, b, gen, x.device)
    ys = torch.arange(h, device=x.device)[None, :]
    xs = torch.arange(w, device=x.device)[None, :]
    in_y = (ys >= (cy[:, None] - length // 2)) & (ys < (cy[:, None] - length // 2 + length))  # [B,H]
    in_x = (xs >= (cx[:, None] - length // 2)) & (xs < (cx[:, None] - length // 2 + length))  # [B,W]
    hole = (in_y[:, :, None] & in_x[:, None, :])[:, None]  # [B,1,H,W]
    return x.masked_fill(hole, 0)


@dataclass(frozen=True)
class Augment:
    """The training transform: crop (padding), flip, normalise, cutout (0: off)."""

    crop_padding: int = 4
    flip: bool = True
    cutout: int = 0

    def __call__(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """uint8 [B, C, H, W] → augmented float32 [B, C, H, W]."""
        x = random_crop(x, self.crop_padding, gen)
        if self.flip:
            x = random_flip(x, gen)
        x = normalize(x)
        return cutout(x, self.cutout, gen)
