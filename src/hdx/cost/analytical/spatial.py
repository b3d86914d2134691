"""Spatial unrolling of a layer's loops on the PE array, and the tile arithmetic shared by the mapper
(docs/cost-model.md, "Spatial mapping").

Everything here is vectorised over numpy arrays: :func:`unroll` over [layers × distinct array shapes]
with every candidate stacked, :func:`split` and the divisor lookup over any shape.
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


def split(n, a_max, b_max):
    """Unroll factors (a, b) of one loop of bound ``n`` spread over two axes, a <= ``a_max`` and
    b <= ``b_max`` PEs, with a·b <= n (as ZigZag requires of a loop on two axes), taking the fewest
    passes ``ceil(n / (a·b))``. Elementwise, integer-valued float arrays.

    Exact without a search over a: while a <= n / b_max, b = b_max and the passes fall as a grows, so
    the largest such a is the best there; beyond it b = floor(n / a) and a·b > n - a, so one pass needs a
    divisor of n (the largest <= a_max) and otherwise the largest a takes the fewest passes. Of these
    three candidates, each with the least b that keeps its passes, the one with the fewest passes and
    then the fewest PEs is kept (not always the fewest PEs of every split with those passes)."""
    n = np.maximum(n, 1.0)
    a_max, b_max = np.clip(a_max, 1.0, n), np.clip(b_max, 1.0, n)
    best = None
    for a in (np.maximum(np.minimum(a_max, np.floor(n / b_max)), 1.0), largest_divisor(n, a_max), a_max):
        b = np.minimum(b_max, np.floor(n / a))
        p = cdiv(n, a * b)
        b = np.minimum(cdiv(n, p * a), b)  # the least b that keeps the passes
        if best is None:
            best = [p, a, b]
            continue
        better = (p < best[0]) | ((p == best[0]) & (a * b < best[1] * best[2]))
        for j, v in enumerate((p, a, b)):
            np.copyto(best[j], v, where=better)
    return best[1], best[2]


def _pick(cands: dict[str, np.ndarray], n_axes: int) -> dict[str, np.ndarray]:
    """Of candidate unrollings stacked on the first ``n_axes`` axes (``[m, ..., L, A]``, or broadcasting
    to it), on each pair the one with the fewest passes over the array (candidates in C order); ties:
    the fewest PEs given to loops, then the first (fewest groups). Only ``passes`` and ``act`` are
    expanded to every candidate; the other fields are gathered at the pick."""
    shape = np.broadcast_shapes(*(v.shape for v in cands.values()))
    flat = lambda v: np.broadcast_to(v, shape).reshape(-1, *shape[n_axes:])  # noqa: E731
    passes = flat(cands["passes"])
    act = np.where(passes == passes.min(axis=0), flat(cands["act"]), np.inf)
    pick = np.unravel_index(np.argmin(act, axis=0), shape[:n_axes])  # the candidate's index on each axis
    rest = tuple(np.indices(shape[n_axes:], sparse=True))
    return {k: np.broadcast_to(v, shape)[(*pick, *rest)] for k, v in cands.items()}


def _unroll(dataflow: str, k, cg, dw, q, p, r, x, y) -> dict[str, np.ndarray]:
    """Every candidate unrolling of :func:`unroll` (an axis's first loop on 1/m of it, m per axis;
    stacked as [m, ...] or [m_first, m_second, ...] and flattened in that order), and the pick."""
    m = np.asarray(GROUPS_PER_AXIS, dtype=x.dtype).reshape(-1, 1, 1)
    xm, ym = np.floor(x / m), np.floor(y / m)  # [m, 1, A]
    if dataflow == "ws":  # Y <- Cg, spare rows replicate K (fy); X <- K (kx)
        cy = balanced_tile(cg, ym)
        fy, kx = split(k, np.floor(y / cy), x)
        c = dict(cy=cy, fy=fy, kx=kx, passes=cdiv(cg, cy) * cdiv(k, fy * kx), act=cy * fy * kx)
    elif dataflow == "os":  # X <- Q, spare columns replicate K (fx); Y <- P, spare rows replicate K (fy)
        qx, py = balanced_tile(q, xm)[:, None], balanced_tile(p, ym)[None]
        fx, fy = split(k, np.floor(x / qx), np.floor(y / py))
        c = dict(qx=qx, fx=fx, py=py, fy=fy, passes=cdiv(q, qx) * cdiv(p, py) * cdiv(k, fx * fy),
                 act=qx * fx * py * fy)
    else:  # Y <- R, spare rows replicate Cg (depthwise: K) (fy); X <- P, spare columns replicate K (fx)
        ry, px = balanced_tile(r, ym)[:, None], balanced_tile(p, xm)[None]
        spare_y, spare_x = np.floor(y / ry), np.floor(x / px)
        dy, dx = split(k, spare_y, spare_x)  # depthwise: the filters on both axes
        fy = np.where(dw, dy, balanced_tile(cg, spare_y))
        fx = np.where(dw, dx, balanced_tile(k, spare_x))
        rest = np.where(dw, cdiv(k, fy * fx), cdiv(cg, fy) * cdiv(k, fx))
        c = dict(ry=ry, fy=fy, px=px, fx=fx, passes=cdiv(r, ry) * cdiv(p, px) * rest, act=ry * fy * px * fx)
    return _pick(c, 2 if dataflow != "ws" else 1)


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
    both axes (K) is spread by :func:`split`, never beyond its bound. The ZigZag translation
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
            return {name: v.take(inverse.ravel(), axis=1) for name, v in u.items()}
    k, cg, dw = ly.k, ly.cg, ly.dw
    u = _unroll(dataflow, k, cg, dw, ly.q, ly.p, ly.r, x, y)
    if dataflow == "ws":
        u["uK"] = u["fy"] * u["kx"]
    elif dataflow == "os":
        u["uK"] = u["fx"] * u["fy"]
    else:
        u["uC"] = np.where(dw, 1.0, u["fy"])
        u["uK"] = np.where(dw, u["fy"] * u["fx"], u["fx"])
    return u


_DIV_N, _DIV_X = 4096, 1024  # the largest-divisor lookup covers loops < 4096 and caps <= 1024
# one row per loop bound n met so far: row[x] = the largest divisor of n that is <= x (x <= _DIV_X)
_div_rows = np.zeros((0, _DIV_X + 1), dtype=np.int16)
_div_row_of = np.full(_DIV_N, -1, dtype=np.intp)  # n -> its row in _div_rows (-1: not built yet)


def _add_divisor_rows(ns: np.ndarray) -> None:
    global _div_rows
    d, n = np.arange(_DIV_X + 1), ns[:, None]
    rows = np.where((d >= 1) & (d <= n) & (n % np.maximum(d, 1) == 0), d, 0).astype(np.int16)  # divisors
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


def working_set(dataflow: str, u: dict[str, np.ndarray]) -> tuple:
    """The array's working set of a dataflow's unrolling ``u`` (:func:`unroll`): the filters (depthwise:
    channels), reduction channels, output rows, output columns and kernel rows its PEs work on at once
    ([L, A] arrays or floats; ``inf``: all of the loop). A mapping candidate's GLB tiles hold all five
    times its PE-local tile (the default ``dram_tiles="hold-array"``, :mod:`.dataflows`), and this alone
    bounds every candidate's DRAM words from below (:meth:`.model.AnalyticalModel.dram_words`). Kernel
    rows: WS takes one tap chunk after another with the band's pixels innermost (its partial sums
    return to the GLB after each chunk), so its input tile may hold the inputs of a chunk's kernel rows;
    OS keeps a pixel's partial sum in the PE across every tap and RS puts the kernel rows on the array,
    so theirs hold all of them. ``dram_tiles="free"`` uses the first only, as a depthwise tile's channels
    (:func:`.memory.schedules`)."""
    if dataflow == "ws":  # Y <- Cg: cy channels; X and the spare rows: uK filters
        return u["uK"], u["cy"], 1.0, 1.0, 1.0
    if dataflow == "os":  # X <- Q, Y <- P: qx columns of py rows; uK filters on the spare PEs
        return u["uK"], 1.0, u["py"], u["qx"], np.inf
    return u["uK"], u["uC"], u["px"], 1.0, np.inf  # RS: X <- P: px output rows; uC channels, uK filters
