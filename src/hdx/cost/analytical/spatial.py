"""Spatial unrolling of a layer's loops on the PE array, and the tile arithmetic shared by the mapper
(docs/cost-model.md, "Spatial mapping").

Everything here is vectorised over numpy arrays: ``_axis`` over [layers × accelerators], the divisor
lookup over any shape.
"""

from __future__ import annotations

import numpy as np

#: an axis's first loop may take 1/m of it, m in these, and leave the rest to replicate another loop
GROUPS_PER_AXIS: tuple[int, ...] = (1, 2, 3, 4)


def cdiv(a, b):
    """Elementwise ceil(a / b) (float arrays)."""
    return np.ceil(a / b)


def balanced_tile(loop, pes):
    """PEs given to a loop of bound ``loop`` on ``pes`` PEs (at least 1), balanced so that its passes are
    even: ``ceil(loop / ceil(loop / min(loop, pes)))`` (elementwise; numpy arrays or Python numbers). The
    one tile rule of the analytical model's unrolling and of the ZigZag translation's."""
    t = np.maximum(np.minimum(loop, pes), 1.0)
    return cdiv(loop, cdiv(loop, t))


def axis(d1: np.ndarray, d2: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unroll primary loop ``d1`` on an axis of ``size`` PEs and replicate ``d2`` on the spare PEs.

    Returns (t, f): PEs given to each ``d1`` tile (balanced) and the replication of ``d2``; the axis
    is split into m ∈ {1..4} groups and the split with most busy PEs (ties: fewest groups) is kept.
    """
    best = best_t = best_f = None
    for m in GROUPS_PER_AXIS:
        t = balanced_tile(d1, np.floor(size / m))
        f = balanced_tile(d2, np.floor(size / t))
        score = d1 / cdiv(d1, t) * (d2 / cdiv(d2, f))
        if best is None:
            best, best_t, best_f = score, t, f
        else:
            better = score > best * (1 + 1e-12)
            best = np.where(better, score, best)
            best_t = np.where(better, t, best_t)
            best_f = np.where(better, f, best_f)
    return best_t, best_f


def unroll(dataflow: str, ly, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """The spatial unrolling of ``dataflow`` ([L, A] arrays of PEs per loop; ``ly`` a
    :class:`~hdx.cost.analytical.dims.LayerDims`, ``x``/``y`` the array's columns and rows):

    * ``ws``: ``cy`` reduction channels on Y, ``uK`` filters (Y replicas × X);
    * ``os``: ``qx`` output columns on X, ``py`` output rows on Y, ``uK`` filters replicated on both;
    * ``rs``: ``ry`` filter rows on Y, ``px`` output rows on X, ``uC`` channels and ``uK`` filters
      replicated (depthwise: the channel loop is K).

    ``act`` is the number of busy PEs and ``uK`` the filters (depthwise: channels) in flight.
    """
    k, cg, dw = ly.k, ly.cg, ly.dw
    if dataflow == "ws":
        cy, fy = axis(cg, k, y)
        kx, _ = axis(cdiv(k, fy), np.ones_like(k), x)
        uk = fy * kx
        return dict(cy=cy, uK=uk, act=cy * uk)
    if dataflow == "os":
        qx, fx = axis(ly.q, k, x)
        py, fy = axis(ly.p, cdiv(k, fx), y)
        uk = fx * fy
        return dict(qx=qx, py=py, uK=uk, act=qx * py * uk)
    ry, fy = axis(ly.r, np.where(dw, k, cg), y)
    px, fx = axis(ly.p, np.where(dw, cdiv(k, fy), k), x)
    return dict(ry=ry, px=px, uC=np.where(dw, 1.0, fy), uK=np.where(dw, fy * fx, fx), act=ry * fy * px * fx)


_DIV_N, _DIV_X = 4096, 1024  # the largest-divisor lookup covers loops < 4096 and caps <= 1024
# one row per loop bound n met so far: row[x] = the largest divisor of n that is <= x (x <= _DIV_X)
_div_rows = np.zeros((0, _DIV_X + 1), dtype=np.int16)
_div_row_of = np.full(_DIV_N, -1, dtype=np.intp)  # n -> its row in _div_rows (-1: not built yet)


def _add_divisor_rows(ns: np.ndarray) -> None:
    global _div_rows
    rows = np.zeros((len(ns), _DIV_X + 1), dtype=np.int16)
    for j, n in enumerate(ns.tolist()):
        d = np.arange(1, min(n, _DIV_X) + 1)
        divs = d[n % d == 0]
        rows[j, divs] = divs
    _div_row_of[ns] = np.arange(len(_div_rows), len(_div_rows) + len(ns))
    _div_rows = np.concatenate([_div_rows, np.maximum.accumulate(rows, axis=1)])


def largest_divisor(n: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The largest divisor of ``n`` that is at most ``x`` (elementwise; integer-valued arrays, x >= 1):
    a lookup in rows built once per loop bound for loops < 4096, a loop over the candidates beyond it."""
    x = np.minimum(np.maximum(x, 1.0), n)
    if np.size(n) and np.max(n) < _DIV_N and np.max(x) <= _DIV_X:
        rows = _div_row_of.take(np.asarray(n, dtype=np.intp))
        if rows.min(initial=0) < 0:
            ni = np.asarray(n, dtype=np.intp)
            _add_divisor_rows(np.array(sorted(set(ni[rows < 0].tolist())), dtype=np.intp))
            rows = _div_row_of.take(ni)
        idx = rows * (_DIV_X + 1) + np.asarray(x, dtype=np.intp)
        return _div_rows.reshape(-1).take(idx).astype(np.result_type(n, x))
    n, x = np.broadcast_arrays(n, x)
    best = np.ones(n.shape, dtype=n.dtype)
    for d in range(2, int(np.max(x, initial=1)) + 1):
        best = np.where((np.fmod(n, d) == 0) & (d <= x), float(d), best)
    return best
