"""The best candidate of every corner of a grid of candidates (the DRAM-level schedules of
:mod:`.memory`: each axis a ladder of tiles from the biggest down, so the candidates whose tiles are all
at least a cell's are the cells at or before it on every axis)."""

from __future__ import annotations

import numpy as np


def prefix_best(key: np.ndarray, grid: tuple[int, ...], tie: np.ndarray | None = None) -> np.ndarray:
    """Per cell of the candidate grid (``key`` [D, ...] with D = Π ``grid``, each axis a ladder from the
    biggest tile down), the flat index of the least ``key`` (then the least ``tie``) over the cells at
    or before it on every axis: the best candidate whose tiles are all at least that cell's. Ties go to
    the first candidate in flat order, as an argmin over the cells would. ``key`` and ``tie`` are
    non-negative (DRAM words, GLB space)."""
    rest = key.shape[1:]
    steps = [((slice(None),) * ax + (i - 1,), (slice(None),) * ax + (i,))
             for ax in reversed(range(len(grid))) for i in range(1, grid[ax])]  # the first axis last
    idx = np.broadcast_to(np.arange(key.shape[0]).reshape(*grid, *([1] * len(rest))), (*grid, *rest))
    if key.dtype == np.float32 and (tie is None or tie.dtype == np.float32):
        # the key and the second key (the tie, or the index) as one int64: a non-negative float32's bits
        # order as its value does, so the least of the two keys is the least of one
        low = idx if tie is None else np.broadcast_to(tie, key.shape).reshape(*grid, *rest).view(np.int32)
        comp = (key.reshape(*grid, *rest).view(np.int32).astype(np.int64) << 32) | low
        if tie is None:  # the index is in the key: a running minimum
            for prev, cur in steps:
                np.minimum(comp[prev], comp[cur], out=comp[cur])
            return (comp & 0xFFFFFFFF).reshape(key.shape)
        idx = idx.copy()
        for prev, cur in steps:
            keep = comp[prev] <= comp[cur]
            np.minimum(comp[prev], comp[cur], out=comp[cur])
            idx[cur] = np.where(keep, idx[prev], idx[cur])
        return idx.reshape(key.shape)
    val = key.reshape(*grid, *rest).copy()
    sec = None if tie is None else np.broadcast_to(tie, key.shape).reshape(*grid, *rest).copy()
    idx = idx.copy()
    for prev, cur in steps:
        keep = val[prev] <= val[cur] if sec is None else (
            (val[prev] < val[cur]) | ((val[prev] == val[cur]) & (sec[prev] <= sec[cur])))
        val[cur] = np.where(keep, val[prev], val[cur])
        idx[cur] = np.where(keep, idx[prev], idx[cur])
        if sec is not None:
            sec[cur] = np.where(keep, sec[prev], sec[cur])
    return idx.reshape(key.shape)
