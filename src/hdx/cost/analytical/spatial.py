"""Spatial unrolling of a layer's loops on the PE array, and the tile arithmetic shared by the mapper
(docs/cost-model.md, "Spatial mapping").

Everything here is vectorised over numpy arrays: ``_axis`` over [layers × accelerators], the divisor
lookup over any shape.
"""

from __future__ import annotations

import numpy as np

_GROUPS_PER_AXIS: tuple[int, ...] = (1, 2, 3, 4)


def cdiv(a, b):
    """Elementwise ceil(a / b) (float arrays)."""
    return np.ceil(a / b)


def axis(d1: np.ndarray, d2: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unroll primary loop ``d1`` on an axis of ``size`` PEs and replicate ``d2`` on the spare PEs.

    Returns (t, f): PEs given to each ``d1`` tile (balanced) and the replication of ``d2``; the axis
    is split into m ∈ {1..4} groups and the split with most busy PEs (ties: fewest groups) is kept.
    """
    best = best_t = best_f = None
    for m in _GROUPS_PER_AXIS:
        t = np.maximum(np.minimum(d1, np.floor(size / m)), 1.0)
        t = cdiv(d1, cdiv(d1, t))
        f = np.maximum(np.minimum(np.floor(size / t), d2), 1.0)
        f = cdiv(d2, cdiv(d2, f))
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


_DIV_N, _DIV_X = 4096, 1024  # the largest-divisor table covers loops < 4096 and caps <= 1024
_div_table: np.ndarray | None = None


def largest_divisor(n: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The largest divisor of ``n`` that is at most ``x`` (elementwise; integer-valued arrays, x >= 1):
    a table lookup (built once, 8 MB) for loops < 4096, a loop over the candidates beyond it."""
    global _div_table
    x = np.minimum(np.maximum(x, 1.0), n)
    if np.size(n) and np.max(n) < _DIV_N and np.max(x) <= _DIV_X:
        if _div_table is None:
            t = np.ones((_DIV_N, _DIV_X + 1), dtype=np.int16)
            for d in range(2, _DIV_X + 1):  # larger divisors overwrite smaller ones
                t[d::d, d:] = d
            _div_table = t.ravel()
        return _div_table.take((n * (_DIV_X + 1) + x).astype(np.intp)).astype(np.result_type(n, x))
    n, x = np.broadcast_arrays(n, x)
    best = np.ones(n.shape, dtype=n.dtype)
    for d in range(2, int(np.max(x, initial=1)) + 1):
        best = np.where((np.fmod(n, d) == 0) & (d <= x), float(d), best)
    return best
