"""Entries that pose the same scheduling problem, solved once (docs/cost-model.md, "Mapper").

A dataflow's entries (:class:`~.mapper.Flat`) are distinct per (layer, accelerator) pair, but designs
that differ only in their PE-local storage (the RF, or the pads) share everything else the GLB-level
order and the DRAM schedule of an entry depend on: the spatial unrolling, the GLB and its bandwidth.
Where such designs end up with the same PE-local tile (a tile clamped to the layer's loops rather than
to the RF; on the default grid about three entries in five), the order and the schedule are the
same computation. :func:`distinct` finds those entries from the inputs of that computation, exactly:
every input of an entry is compared bit for bit with the previous entry's, so entries share a result
only where all their inputs are the same bits. The results are computed once per run of such entries
and spread back (:func:`spread`), so they are bit for bit those of solving every entry.
"""

from __future__ import annotations

import numpy as np

#: solve each distinct entry once (False: every entry, which gives the same bits, only slower; the tests
#: compare the two)
SHARE = True
#: below this share of distinct entries sharing pays for its bookkeeping
WORTH = 0.8


def _bits(a, m: int) -> np.ndarray:
    """The bits of ``a`` at each of ``m`` entries, as unsigned integers of its item size (a view)."""
    a = np.ascontiguousarray(np.broadcast_to(np.asarray(a), (m,)))
    return a.view(f"u{a.dtype.itemsize}")


def distinct(cols, m: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Runs of entries with the same inputs: ``cols`` are the inputs, each [M] (a scalar, the same for
    every entry, is left out). An entry whose every input has the bits of its predecessor's joins its
    run (the same bits as the run's first entry, so the same result); the designs of one kind are
    adjacent (:func:`~.model._kin`), so the same tile on designs with more storage follows its first.
    Returns (each run's first entry [U], each entry's run [M]), or None where sharing does not pay (more
    than :data:`WORTH` of the entries start a run, or :data:`SHARE` off)."""
    if not SHARE or m < 2:
        return None
    same = np.ones(m - 1, dtype=bool)
    for c in cols:
        if np.ndim(c) > 0:
            b = _bits(c, m)
            same &= b[1:] == b[:-1]
    start = np.empty(m, dtype=bool)
    start[0] = True
    np.logical_not(same, out=start[1:])
    first = np.flatnonzero(start)
    if first.size > WORTH * m:
        return None
    return first, np.cumsum(start) - 1


def spread(v, inv: np.ndarray, n: int):
    """``v`` (an [n] result of the distinct entries, a dict or tuple of them, or a scalar or None, which
    is the same for every entry) at every entry (``inv``, :func:`distinct`'s)."""
    if isinstance(v, dict):
        return {k: spread(x, inv, n) for k, x in v.items()}
    if isinstance(v, tuple):
        return tuple(spread(x, inv, n) for x in v)
    if isinstance(v, np.ndarray) and v.ndim >= 1 and v.shape[-1] == n:
        return v.take(inv, axis=-1)
    return v


def put(dst, idx: np.ndarray, src) -> None:
    """Write ``src`` (results of entries ``idx``: arrays, or dicts or tuples of them) into ``dst`` (every
    entry's, as :func:`spread` gives them) in place; a scalar or None, the same for every entry, stays."""
    if isinstance(dst, dict):
        for k in dst:
            put(dst[k], idx, src[k])
    elif isinstance(dst, tuple):
        for d, s in zip(dst, src, strict=True):
            put(d, idx, s)
    elif isinstance(dst, np.ndarray) and dst.ndim >= 1:
        dst[..., idx] = src
    else:
        assert dst is src or np.all(dst == src), "a result the same for every entry differs"


def unique_ints(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct values of ``keys`` (integers in ``[0, size)``, [M]) ascending, an entry holding each
    and each entry's index among them: ``np.unique(keys, return_index=True, return_inverse=True)``
    (the entry may be another one with the same key), by marking a table of ``size`` where that is not
    much bigger than ``keys`` (no sort)."""
    keys = np.asarray(keys).reshape(-1)
    if size > 8 * keys.size + 4096:
        return np.unique(keys, return_index=True, return_inverse=True)
    mark = np.zeros(size, dtype=bool)
    mark[keys] = True
    uniq = np.flatnonzero(mark)
    inv = (np.cumsum(mark) - 1).take(keys)
    held = np.empty(uniq.size, dtype=np.intp)
    held[inv] = np.arange(keys.size)
    return uniq, held, inv
