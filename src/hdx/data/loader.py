"""Seeded in-memory batch loader: uint8 tensors on the target device → (float x, int64 y) batches.

Epoch ``e`` shuffles and augments with a generator seeded by ``(seed, e)``, so a resumed run sees
exactly the batches an uninterrupted one would, without saving any loader state.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from hdx.data.augment import Augment, normalize


class BatchLoader:
    """Batches of a whole in-memory data set.

    ``augment=None`` gives the evaluation transform (normalise only, no shuffling unless asked).
    ``device_rng=True`` draws the order and the augmentation on the data's device (a GPU: no
    host-device copy per batch, hence no synchronisation; the numbers then differ from the CPU
    generator's). The default draws them on the CPU (the same batches on every device).
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, *, batch_size: int,
                 device: str | torch.device = "cpu", augment: Augment | None = None,
                 shuffle: bool = True, drop_last: bool = False,
                 seed: int = 0, device_rng: bool = False):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1 (got {batch_size})")
        self.device = torch.device(device)
        self.x = x.to(self.device)
        self.y = y.to(self.device)
        self.batch_size = batch_size
        self.augment = augment
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        self.rng_device = self.device if device_rng else torch.device("cpu")

    def __len__(self) -> int:
        n = self.x.shape[0]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    @property
    def num_samples(self) -> int:
        return int(self.x.shape[0])

    def epoch(self, epoch: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The batches of epoch ``epoch`` (deterministic given seed and epoch)."""
        gen = torch.Generator(device=self.rng_device).manual_seed(self.seed * 1_000_003 + epoch)
        n = self.x.shape[0]
        order = (torch.randperm(n, generator=gen, device=self.rng_device).to(self.device) if self.shuffle
                 else None)
        for i in range(len(self)):
            sl = slice(i * self.batch_size, min(n, (i + 1) * self.batch_size))
            if order is None:
                xb, yb = self.x[sl], self.y[sl]
            else:
                idx = order[sl]
                xb, yb = self.x[idx], self.y[idx]
            xb = self.augment(xb, gen) if self.augment is not None else normalize(xb)
            yield xb, yb

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self.epoch(0)
