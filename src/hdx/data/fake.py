"""Small synthetic CIFAR-10 folders in the real pickle layout, for tests and smoke runs.

The images are random but class-dependent (each class has its own mean colour), so a network can
learn them; nothing here is real data.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from hdx.data.cifar import TEST_FILE, TRAIN_FILES


def fake_batch(n: int, rng: np.random.Generator, num_classes: int = 10) -> dict:
    labels = rng.integers(0, num_classes, size=n)
    base = (labels[:, None] * 23 % 256).astype(np.int64)
    noise = rng.integers(-40, 41, size=(n, 3072))
    data = np.clip(base + noise, 0, 255).astype(np.uint8)
    return {"batch_label": "fake", "labels": labels.tolist(), "data": data,
            "filenames": [f"img{i}.png" for i in range(n)]}


def fake_images(n: int, seed: int, num_classes: int = 10):
    """``n`` random images as CIFAR-10 tensors (uint8 [n, 3, 32, 32], int64 labels [n]): uniform noise
    with random labels (nothing to learn: the cross-entropy gradient carries no signal, so a search
    on them exercises the hardware side alone). ``hdx search fake_data=true`` uses these."""
    import torch

    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g)
    y = torch.randint(0, num_classes, (n,), generator=g)
    return x, y


def write_fake_cifar10(folder: str | Path, *, per_batch: int = 20, test: int = 20, seed: int = 0) -> Path:
    """Write ``data_batch_1..5`` (``per_batch`` images each), ``test_batch`` and ``batches.meta``."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name in TRAIN_FILES:
        with open(root / name, "wb") as f:
            pickle.dump(fake_batch(per_batch, rng), f)
    with open(root / TEST_FILE, "wb") as f:
        pickle.dump(fake_batch(test, rng), f)
    with open(root / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)], "num_vis": 3072}, f)
    return root
