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


def second_copies(loop, first, spare):
    """Copies of a loop of bound ``loop`` already unrolled ``first`` times on one axis that ``spare`` PEs
    of the other axis take: balanced, and never more than the loop has left (``first`` × copies <=
    ``loop``, as ZigZag requires of a loop on two axes)."""
    return np.minimum(balanced_tile(cdiv(loop, first), spare), np.maximum(np.floor(loop / first), 1.0))


def _pick(cands: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The candidate unrolling with the fewest passes over the array on each pair; ties: the fewest PEs
    given to loops, then the earliest candidate (fewest groups)."""
    passes = np.stack([c["passes"] for c in cands])
    act = np.stack([c["act"] for c in cands])
    act = np.where(passes == passes.min(axis=0), act, np.inf)
    pick = np.argmin(act, axis=0)[None]
    return {k: np.take_along_axis(np.stack([c[k] for c in cands]), pick, 0)[0] for k in cands[0]}


def _unroll(dataflow: str, k, cg, dw, q, p, r, x, y) -> dict[str, np.ndarray]:
    """Every candidate unrolling of :func:`unroll` (an axis's first loop on 1/m of it, m per axis),
    and the pick among them."""
    ladder = [(np.floor(x / m), np.floor(y / m)) for m in GROUPS_PER_AXIS]
    cands = []
    if dataflow == "ws":  # Y <- Cg, spare rows replicate K (fy); X <- K (kx)
        for _, ym in ladder:
            cy = balanced_tile(cg, ym)
            fy = balanced_tile(k, np.floor(y / cy))
            kx = second_copies(k, fy, x)
            cands.append(dict(cy=cy, fy=fy, kx=kx, passes=cdiv(cg, cy) * cdiv(k, fy * kx), act=cy * fy * kx))
    elif dataflow == "os":  # X <- Q, spare columns replicate K (fx); Y <- P, spare rows replicate K (fy)
        for xm, _ in ladder:
            qx = balanced_tile(q, xm)
            fx = balanced_tile(k, np.floor(x / qx))
            for _, ym in ladder:
                py = balanced_tile(p, ym)
                fy = second_copies(k, fx, np.floor(y / py))
                cands.append(dict(qx=qx, fx=fx, py=py, fy=fy,
                                  passes=cdiv(q, qx) * cdiv(p, py) * cdiv(k, fx * fy), act=qx * fx * py * fy))
    else:  # Y <- R, spare rows replicate Cg (depthwise: K) (fy); X <- P, spare columns replicate K (fx)
        rep_y = np.where(dw, k, cg)
        for _, ym in ladder:
            ry = balanced_tile(r, ym)
            fy = balanced_tile(rep_y, np.floor(y / ry))
            for xm, _ in ladder:
                px = balanced_tile(p, xm)
                fx = np.where(dw, second_copies(k, fy, np.floor(x / px)), balanced_tile(k, np.floor(x / px)))
                rest = np.where(dw, cdiv(k, fy * fx), cdiv(cg, fy) * cdiv(k, fx))
                cands.append(dict(ry=ry, fy=fy, px=px, fx=fx, passes=cdiv(r, ry) * cdiv(p, px) * rest,
                                  act=ry * fy * px * fx))
    return _pick(cands)


def unroll(dataflow: str, ly, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """The spatial unrolling of ``dataflow`` ([L, A] arrays of PEs per loop; ``ly`` a
    :class:`~hdx.cost.analytical.dims.LayerDims`, ``x``/``y`` the array's columns and rows, [1, A]):

    * ``ws``: ``cy`` reduction channels on Y, ``fy`` copies of them replicating K on the spare rows,
      ``kx`` filters on X;
    * ``os``: ``qx`` output columns on X, ``py`` output rows on Y, K replicated ``fx`` times on the
      spare columns and ``fy`` times on the spare rows;
    * ``rs``: ``ry`` filter rows on Y, ``px`` output rows on X, ``fy`` channels (depthwise: filters)
      replicated on the spare rows, ``fx`` filters on the spare columns.

    Each axis's first loop may take 1/m of the axis (m in ``GROUPS_PER_AXIS``, its tile balanced) and
    leave the rest to a replicated loop; of the m on both axes, the unrolling with the fewest passes
    over the array is kept (ties: fewest PEs given to loops, then fewest groups). A loop replicated on
    both axes (K) never gets more copies than its bound (:func:`second_copies`). The ZigZag translation
    (:func:`hdx.cost.zigzag.translate.spatial_unrolling`) gives ZigZag this unrolling.

    Also: ``uK`` filters (depthwise: channels) and, RS, ``uC`` channels in flight; ``act`` the PEs given
    to loops; ``passes`` over the array (docs/cost-model.md, "Spatial mapping").
    """
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 2 and x.shape[0] == 1 and y.shape == x.shape and x.shape[1] > 1:
        # the unrolling depends on the array's shape only: each distinct shape once
        key = x[0].astype(np.float64) * 65536.0 + y[0]
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        if len(first) < x.shape[1]:
            u = unroll(dataflow, ly, x[:, first], y[:, first])
            return {key: v.take(inverse.ravel(), axis=1) for key, v in u.items()}
    k, cg, dw = ly.k, ly.cg, ly.dw
    u = _unroll(dataflow, k, cg, dw, ly.q, ly.p, ly.r, x, y)
    if dataflow == "ws":
        u["uK"] = u["fy"] * u["kx"]
    elif dataflow == "os":
        u["uK"] = u["fx"] * u["fy"]
    else:
        u["uC"] = np.where(dw, 1.0, u["fy"])
        u["uK"] = np.where(dw, u["fy"] * u["fx"], u["fx"])
    shape = np.broadcast_shapes(k.shape, x.shape)
    return {key: np.broadcast_to(v, shape) for key, v in u.items()}


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
