"""CIFAR-10 from a folder in the standard python pickle layout (docs/reference.md#data).

The folder holds ``data_batch_1`` … ``data_batch_5`` and ``test_batch`` (each a pickled dict with
``data``: uint8 [N, 3072] in CHW order and ``labels``: N ints in 0..9). The files are read, validated
(shape, dtype, label range; the archive's md5 is checked when :mod:`hdx.data.fetch` downloads it) and
returned as tensors. Where the folder is found: :func:`resolve_data_dir` (an explicit path, then
``$HDX_DATA``, then the user cache, then a download where the command allows it).

The pickles are read with :class:`hdx.safeio.RestrictedUnpickler`: numpy array reconstruction and plain
builtins only, so a crafted file can never run code; a file naming any other global is refused with
one line naming the file. Each file is capped at :data:`MAX_BATCH_BYTES` before it is parsed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hdx.errors import DataError
from hdx.safeio import RefusedPickle, read_bytes, restricted_pickle_load

ENV_VAR = "HDX_DATA"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
NUM_CLASSES = 10
IMAGE_SHAPE = (3, 32, 32)
#: a real batch is ~31 MB (10 000 images); refuse anything far larger before parsing it
MAX_BATCH_BYTES = 64 << 20

_WHERE = (f"fetch it with `hdx data fetch cifar10`, or put the CIFAR-10 python files (cifar-10-batches-py: "
          f"data_batch_1..5, test_batch) in a folder and point to it with --data PATH or the {ENV_VAR} "
          f"environment variable")


@dataclass(frozen=True)
class Cifar10:
    """The data set in memory: images uint8 [N, 3, 32, 32], labels int64 [N]."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    path: Path


def _cifar_in(folder: Path) -> Path | None:
    """``folder`` or ``folder/cifar-10-batches-py``, whichever holds the CIFAR-10 files (None: neither)."""
    from hdx.data.fetch import CIFAR10, complete

    for cand in (folder, folder / CIFAR10.folder):
        if complete(cand, CIFAR10):
            return cand
    return None


def _partial(folder: Path) -> bool:
    """Whether ``folder`` holds some CIFAR-10 batch file (a damaged copy: reading it names what is wrong)."""
    return folder.is_dir() and any((folder / f).exists() for f in (*TRAIN_FILES, TEST_FILE))


def resolve_data_dir(path: str | Path | None = None, *, download: bool = False,
                     progress: bool = True, log: Callable[[str], None] | None = None) -> Path:
    """The CIFAR-10 folder: ``path`` if given (the folder itself or one holding
    ``cifar-10-batches-py``), else the first of ``$HDX_DATA`` and the user cache
    (:func:`hdx.data.fetch.cache_dir`) that holds it, else — with ``download`` and unless
    ``HDX_OFFLINE`` is set — a download (:func:`hdx.data.fetch.fetch`, said on ``log``). One-line
    :class:`DataError` otherwise."""
    from hdx.data import fetch

    if path is not None:
        p = Path(path).expanduser()
        found = _cifar_in(p)
        if found is None and not p.is_dir():
            raise DataError(f"CIFAR-10 folder not found: {p}; {_WHERE}")
        return found or p  # a folder with missing or damaged files: reading it names the file
    env = os.environ.get(ENV_VAR)
    places = ([Path(env).expanduser()] if env else []) + [fetch.cache_dir()]
    for place in places:
        found = _cifar_in(place)
        if found is not None:
            return found
        if _partial(place):
            return place
    looked = " nor ".join(str(p) for p in places)
    if not download:
        raise DataError(f"no CIFAR-10 in {looked} ({ENV_VAR} {'is ' + env if env else 'unset'}); {_WHERE}")
    if fetch.offline():
        raise DataError(fetch.offline_message(fetch.source(), f"{fetch.ENV_OFFLINE} is set"))
    say = log or (lambda s: print(s, file=sys.stderr, flush=True))
    say(f"CIFAR-10 is neither in {looked}: downloading it once into {fetch.download_dir()} "
        f"(`hdx data fetch cifar10` does the same)")
    return fetch.fetch("cifar10", progress=progress, log=say)


def read_batch(file: Path) -> tuple[np.ndarray, np.ndarray]:
    """One pickle batch → (uint8 [N, 3, 32, 32], int64 [N]); errors name the file and the problem."""
    if not file.is_file():
        raise DataError(f"CIFAR-10 file missing: {file}; {_WHERE}")
    raw = read_bytes(file, max_bytes=MAX_BATCH_BYTES, what="CIFAR-10 file")
    try:
        d = restricted_pickle_load(raw, source=f"CIFAR-10 file {file}")
    except RefusedPickle as e:
        raise DataError(str(e)) from None
    except Exception as e:  # noqa: BLE001 - any unpickling failure means a damaged file
        raise DataError(f"CIFAR-10 file {file} is truncated or corrupt ({type(e).__name__}); "
                        f"replace it with an intact copy") from None
    if not isinstance(d, dict) or "data" not in d or "labels" not in d:
        raise DataError(f"CIFAR-10 file {file} is not a CIFAR-10 batch (expected a dict with 'data' and "
                        f"'labels'); replace it with an intact copy")
    x = np.asarray(d["data"])
    n_pix = int(np.prod(IMAGE_SHAPE))
    if x.dtype != np.uint8:
        raise DataError(f"CIFAR-10 file {file}: 'data' has dtype {x.dtype}, expected uint8")
    if x.ndim != 2 or x.shape[1] != n_pix or x.shape[0] == 0:
        raise DataError(f"CIFAR-10 file {file}: 'data' has shape {tuple(x.shape)}, expected (N, {n_pix})")
    try:
        y = np.asarray(d["labels"], dtype=np.int64)
    except (TypeError, ValueError, OverflowError):
        raise DataError(f"CIFAR-10 file {file}: 'labels' are not integers") from None
    if y.shape != (x.shape[0],):
        raise DataError(f"CIFAR-10 file {file}: {y.size} labels for {x.shape[0]} images")
    if y.min() < 0 or y.max() >= NUM_CLASSES:
        bad = int(y[(y < 0) | (y >= NUM_CLASSES)][0])
        raise DataError(f"CIFAR-10 file {file}: label {bad} out of range 0..{NUM_CLASSES - 1}")
    return x.reshape(-1, *IMAGE_SHAPE), y


def load_cifar10(path: str | Path | None = None, *, download: bool = False, progress: bool = True,
                 log: Callable[[str], None] | None = None) -> Cifar10:
    """Read and validate CIFAR-10 from the folder :func:`resolve_data_dir` finds (``download``: fetch
    it when it is nowhere; ``hdx search`` and ``hdx train`` allow that)."""
    root = resolve_data_dir(path, download=download, progress=progress, log=log)
    tr = [read_batch(root / f) for f in TRAIN_FILES]
    tx, ty = read_batch(root / TEST_FILE)
    return Cifar10(train_x=torch.from_numpy(np.concatenate([b[0] for b in tr])),
                   train_y=torch.from_numpy(np.concatenate([b[1] for b in tr])),
                   test_x=torch.from_numpy(tx), test_y=torch.from_numpy(ty), path=root)


def split_train_val(x: torch.Tensor, y: torch.Tensor, *, val_size: int = 5000, seed: int = 0
                    ) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Seeded random split into (train, validation) for bilevel search (default 45k / 5k)."""
    n = x.shape[0]
    if not 0 < val_size < n:
        raise DataError(f"validation size {val_size} must be between 1 and {n - 1} (the training set has "
                        f"{n} images)")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    va, tr = perm[:val_size], perm[val_size:]
    return (x[tr], y[tr]), (x[va], y[va])


def subset(x: torch.Tensor, y: torch.Tensor, n: int | None, *, seed: int = 0
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded random subset of ``n`` samples (all when ``n`` is None or ≥ the size)."""
    if n is None or n >= x.shape[0]:
        return x, y
    if n < 1:
        raise DataError(f"--subset must be >= 1 (got {n})")
    idx = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed + 7919))[:n]
    return x[idx], y[idx]
