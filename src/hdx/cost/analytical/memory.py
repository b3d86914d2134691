"""The GLB ↔ DRAM level of the mapping: a search over the tilings of a layer into GLB tiles and the
order of the DRAM-level loops (docs/cost-model.md, "GLB ↔ DRAM").

A *schedule* cuts a group's filters into ``n_k`` tiles, its reduction channels into ``n_c`` and its
output rows into ``n_y`` bands (per image), and orders the three DRAM-level loops K, C, Y. Its GLB
tiles are ``kt·ct·R·S`` weights, ``ct`` (depthwise: ``kt``) input planes of ``(bt−1)·stride + R`` padded
rows and ``kt·bt·Q`` outputs; a tile that is replaced during the layer is double-buffered, and all
tiles together must fit the GLB. An operand is re-fetched from DRAM on every DRAM-level iteration
except across the innermost run of loops it does not depend on; outputs re-visited across a reduction
loop spill partial sums (written, and read back for all but the first visit). An input band fetches
its kernel halo, so ``n_y`` bands read ``P·stride + n_y·(R − stride)`` rows.

The GLB is double-buffered and filled by a stream in the order the array consumes the data, so a
schedule's DRAM transfers overlap the computation: its latency is ``max(A, DRAM words · c)`` (``A`` the
array side's cycles, ``c`` = word bytes / DRAM bytes per cycle) and its energy a DRAM and a GLB access
per DRAM word.

By default (``dram_tiles="hold-array"``) the schedule also cuts each output row into ``n_x`` column
bands (a fourth DRAM-level loop X, :data:`X_LADDER`; bands read their halo columns) and may hold one
kernel row's input rows at a time (a fifth loop R, innermost, :data:`R_LADDER`), and it is chosen per
array-level mapping candidate among those whose tiles hold what the candidate covers (:func:`held_grid`
once per layer chunk, :func:`held_lookup` / :class:`EntryDram` per candidate). With
``dram_tiles="free"`` (:func:`schedules`) the tiles keep whole rows and kernels (one band, X innermost,
which changes nothing) and need not hold what the array covers; then latency and energy both fall with
the DRAM words alone, so the schedule with the fewest DRAM words is the best under every mapper
objective whatever the array-level mapping, and it is chosen once per (layer, GLB size).

The candidate tilings come from a fixed ladder of tile counts (:data:`LADDER`) that does not depend on
the GLB size; only their feasibility does. So a bigger GLB keeps every schedule of a smaller one, and
neither the DRAM words nor the latency can rise with capacity (nor with DRAM bandwidth, which scales
the DRAM term down).
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np

from .dims import LayerDims
from .distinct import spread, unique_ints
from .mapper import TIE, Halo
from .prefix import prefix_best
from .staircase import Cells, Staircase, least_stalled, members_of, staircase

#: tile counts tried per DRAM-level loop; 0 = one tile per element of the loop (tile size 1)
LADDER: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 0)
#: ``glb_buffering="mixed"``: the points of a corner's (stalled, DRAM words) front kept at first (doubled
#: until no front has more, so the fronts are exact)
FRONT_K = 4
#: column bands tried (an output row cut into that many bands)
X_LADDER: tuple[int, ...] = (1, 2, 4, 8)
#: kernel-row chunks tried for the input tile: all kernel rows at once (1) or one row at a time (0)
R_LADDER: tuple[int, ...] = (1, 0)
#: ``dram_tiles="hold-array"``: tile counts per loop (K, C, Y, X). (A finer ladder for K, C and Y, with
#: the counts 3, 6, 12 and 24 that make more working sets a tile exactly, was measured against ZigZag:
#: better on one memory-sizing run, worse on the other; docs/results.md, "Memory sizing")
HELD_LADDERS: tuple[tuple[int, ...], ...] = (LADDER, LADDER, LADDER, X_LADDER, R_LADDER)
#: DRAM-level loops, in the order their indices are used in ORDERS (innermost first there)
DRAM_LOOPS: tuple[str, ...] = ("k", "c", "y", "x")
#: orders of the four DRAM-level loops, innermost first
ORDERS: tuple[tuple[int, ...], ...] = tuple(itertools.permutations(range(4)))
#: what the innermost non-trivial DRAM-level loop keeps resident: K -> inputs, C -> outputs, Y and X ->
#: weights
RESIDENT: tuple[str, ...] = ("inputs", "weights", "outputs")
_RES_OF_LOOP = (0.0, 2.0, 1.0, 1.0)  # index into RESIDENT per DRAM loop
DRAM_FIELDS: tuple[str, ...] = ("dram_res", "dram_order", "dram_kt", "dram_ct", "dram_bt", "dram_qt",
                                "dram_rt", "dram_w", "dram_i", "dram_o")
#: the DRAM-level loop over kernel-row chunks of the input tile (index 4): always innermost
R_LOOP = 4


@dataclass
class Schedules:
    """The best schedule of every column: its DRAM words ``words`` and its fields (:data:`DRAM_FIELDS`),
    each a [cols] array; ``stall``: with ``glb_buffering="mixed"``, the words among them whose transfers
    stall the array (:func:`_stalled`), else None."""

    words: np.ndarray
    fields: dict[str, np.ndarray]
    stall: np.ndarray | None = None
    #: ``glb_buffering="zigzag"``: every column's candidate schedules in turn (:func:`held_lookup`):
    #: (column of each [N], its weights', inputs' and outputs' words without a copy, its DRAM tiles per
    #: GLB-level loop group, its schedule index and DRAM words [N] each; whether each column's layer is
    #: depthwise [cols]), what :class:`~.mapper.Windows` needs
    windows: tuple | None = None


def _refetch(rel: tuple, order: tuple[int, ...], n: tuple, single: tuple | None = None) -> np.ndarray:
    """How often an operand with relevance ``rel`` (per DRAM loop) is fetched whole: the product of the
    bounds of the loops it does not depend on, outside the innermost run of such loops (a loop of bound
    1 does not end the run). ``single``: ``n[lp] <= 1`` per loop, if already computed."""
    single = tuple(x <= 1 for x in n) if single is None else single
    in_run = True  # still in the innermost run of loops the operand does not depend on
    f = 1.0
    for lp in order:
        r = rel[lp]
        if isinstance(r, bool | np.bool_):  # the same for every layer: no arithmetic where it cannot matter
            if r:
                in_run = single[lp] if in_run is True else in_run & single[lp]
            elif in_run is not True:
                f = f * np.where(~in_run, n[lp], 1.0)
            continue
        r = np.asarray(r)
        f = f * np.where(~r & ~np.asarray(in_run), n[lp], 1.0)
        in_run = in_run & ~(r & ~single[lp])
    return np.asarray(f)


def _refetch_key(rel: tuple, order: tuple[int, ...]) -> tuple:
    """What :func:`_refetch` depends on in ``order``: each loop the operand may not depend on (``rel`` not
    True), in order, with the set of loops inside it (their effect on the run does not depend on their
    order), so two orders with the same key fetch the operand equally often."""
    return tuple((lp, frozenset(order[:k])) for k, lp in enumerate(order) if rel[lp] is not True)


@dataclass
class _Grid:
    """Every candidate schedule of a set of layers (D = Π ``shape`` cells of the ladders' grid): its GLB
    space and fewest DRAM words per group over the orders (``space``, ``best``: [D, L, 1] or [D, L, U]);
    its tiles, loop counts and whole-layer words per axis of the grid (arrays broadcasting to
    [*shape, L, U], each computed on the axes it depends on: :func:`_spread` or :func:`_taker` spread
    them)."""

    shape: tuple[int, ...]
    orders: tuple
    tiles: tuple
    n: tuple
    space: np.ndarray
    best: np.ndarray
    whole: tuple
    gm: np.ndarray
    dw: np.ndarray
    inner: tuple = ()  # loops innermost of every order: (R_LOOP,) where kernel rows are chunked
    #: ``glb_buffering`` ``"zigzag"``, ``"mixed"``: (per operand w, i, o: its GLB tile, whether it is
    #: replaced during the layer, its DRAM words under each of the three orders of :func:`_least_words`),
    #: else None
    per_operand: tuple | None = None


def _spread(a, shape: tuple[int, ...]) -> np.ndarray:
    """``a`` (per axis of a grid of ``shape``, broadcasting to [*shape, L, U]) as a [D, L, U] array."""
    a = np.asarray(a)
    if a.ndim <= 2:  # [L, U]: the same in every cell
        return a.reshape(1, *((1,) * (2 - a.ndim)), *a.shape)
    return np.broadcast_to(a, (*shape, *a.shape[-2:])).reshape(-1, *a.shape[-2:])


def ladder_tile(dim, count):
    """The tile of a loop of bound ``dim`` cut into ``count`` tiles of a ladder (0: one per element):
    ``ceil(dim / min(count, dim))`` (elementwise)."""
    return np.ceil(dim / np.where(count == 0, dim, np.minimum(count, dim)))


@functools.lru_cache(maxsize=64)
def _axis(values: tuple, axis: int, n_axes: int, dtype) -> np.ndarray:
    """A ladder as an array on ``axis`` of a grid of ``n_axes`` axes followed by [L, U] (read-only)."""
    a = np.array(values, dtype=dtype).reshape((1,) * axis + (-1,) + (1,) * (n_axes - axis - 1 + 2))
    a.flags.writeable = False
    return a


def _ramp_sum(n, d, step, length):
    """``sum_{b=0}^{n-1} clip(d - b*step, 0, length)`` (``step`` > 0), elementwise, in closed form."""
    n_full = np.clip(np.floor((d - length) / step) + 1, 0, n)
    n_pos = np.clip(np.ceil(d / step), 0, n)
    n_part = np.maximum(n_pos - n_full, 0)
    return n_full * length + n_part * d - step * (n_full + n_pos - 1) * n_part / 2


def _halo(n_out, st, k, pad, size, bt, kt, chunks: int):
    """How many times the real (unpadded) input rows (or columns) are read, at least once: over the
    bands of ``bt`` outputs and the chunks of ``kt`` kernel taps, the input positions inside ``[0,
    size)`` of each band's window, over ``size``. ``chunks``: the most chunks of any layer."""
    n_out, st, k, pad, size, bt, kt = (np.asarray(v, dtype=np.float64) for v in (n_out, st, k, pad, size, bt,
                                                                                  kt))
    nb, nk, step = np.ceil(n_out / bt), np.ceil(k / kt), bt * st
    n, m_last = nb - 1, n_out - (nb - 1) * bt
    total = 0.0
    for j in range(chunks):
        kj = np.minimum(kt, k - j * kt)
        a, ln = j * kt - pad, (bt - 1) * st + kj  # the first band's window: [a, a + ln)
        full = n * ln - _ramp_sum(n, -a, step, ln) - _ramp_sum(n, a + ln - size + (n - 1) * step, step, ln)
        x = a + n * step  # the last band's window: [x, x + its rows)
        last = np.maximum(np.minimum(x + (m_last - 1) * st + kj, size) - np.maximum(x, 0.0), 0.0)
        total = total + np.where(j < nk, full + last, 0.0)
    return np.maximum(total / size, 1.0)


def _grid(ly: LayerDims, ladders: tuple, orders: tuple, infl=None, fields: bool = True,
          double: bool = True, per_operand: bool = False, halo: Halo = "density") -> _Grid:
    """The candidate schedules of the ``ladders`` (tile counts for K, C, Y and X, and kernel-row chunks
    of the input tile) under ``orders``; ``infl`` ([L, U]): a depthwise tile's filters are raised to at
    least that many. Each quantity is computed on the axes of the grid it depends on (a tile on its
    loop's axis only), and only the GLB space and the DRAM words on the whole grid. ``per_operand``
    (``glb_buffering`` ``"zigzag"`` or ``"mixed"``, with ``double`` False): also what :func:`_stalled`
    needs. ``halo``: how the input rows and columns the bands read are counted (``AnalyticalModel(halo=)``:
    ``"density"``, the padded plane's density of real rows over the rows read; ``"exact"``, :func:`_halo`)."""
    dw = ly.dw
    k_lad, c_lad, y_lad, x_ladder, r_ladder = ladders
    if np.all(dw):  # one reduction channel per group: its ladder is one tile
        c_lad = c_lad[:1]
    if np.all(ly.r <= 1):  # one kernel row: nothing to chunk
        r_ladder = r_ladder[:1]
    lads = (k_lad, c_lad, y_lad, x_ladder, r_ladder)
    shape = tuple(len(v) for v in lads)
    rk, rc, ry, rx, rr = (_axis(tuple(v), j, 5, ly.k.dtype) for j, v in enumerate(lads))
    gm = np.where(dw, 1.0, ly.g)                     # groups processed one after another
    kg = np.where(dw, ly.k, ly.k / ly.g)             # filters per group (depthwise: all channels)
    cg, p, q = ly.cg, ly.p, ly.q
    hp, wp = ly.h + 2 * ly.pad, ly.w + 2 * ly.pad

    kt, ct, bt = ladder_tile(kg, rk), ladder_tile(cg, rc), ladder_tile(p, ry)
    if infl is not None:
        kt = np.where(dw, np.maximum(kt, np.minimum(infl, kg)), kt)
    nk, nc, nyb = np.ceil(kg / kt), np.ceil(cg / ct), np.ceil(p / bt)
    ny = ly.n * nyb                                   # row bands of every image
    if tuple(r_ladder) == (1,):  # every kernel row in the tile (a plain 1: no arithmetic spent on it)
        rt, nr, inner = ly.r, 1, ()
    else:  # the input tile holds rt kernel rows' input rows; the chunks are the innermost DRAM loop
        rt = ladder_tile(ly.r, rr)
        nr, inner = np.ceil(ly.r / rt), (R_LOOP,)
    rows = np.minimum((bt - 1) * ly.st + rt, hp)
    if tuple(x_ladder) == (1,):  # whole rows: one band (a plain 1, so no loop arithmetic is spent on X)
        qt, nxb, cols, halo_x = q, 1, wp, 1.0
    else:
        qt = ladder_tile(q, rx)
        nxb = np.ceil(q / qt)
        cols = np.where(nxb > 1, np.minimum((qt - 1) * ly.st + ly.s, wp), wp)
        halo_x = np.maximum(np.minimum(q * ly.st + nxb * (ly.s - ly.st), nxb * wp) / wp, 1.0)
    w_t = kt * ct * ly.r * ly.s
    i_t = np.where(dw, kt, ct) * cols * rows
    o_t = kt * bt * qt
    # whole-layer words per group (inputs unpadded; bands re-fetch their halo rows and columns)
    if halo == "exact":
        chunks = int(np.max(ly.r)) if inner else 1
        halo_y = _halo(p, ly.st, ly.r, ly.pad, ly.h, bt, rt, chunks).astype(p.dtype)
        if tuple(x_ladder) != (1,):
            halo_x = _halo(q, ly.st, ly.s, ly.pad, ly.w, qt, ly.s, 1).astype(p.dtype)
    elif inner:  # each chunk of rt kernel rows reads its own rows of every band
        halo_y = np.maximum(np.minimum(p * ly.st + nyb * (rt - ly.st), nyb * hp) * nr / hp, 1.0)
    else:
        halo_y = np.maximum(np.minimum(p * ly.st + nyb * (ly.r - ly.st), nyb * hp) / hp, 1.0)
    whole = (ly.w_tot / gm, ly.i_tot / gm * halo_y * halo_x, ly.o_tot / gm)
    n = (nk, nc, ny, nxb, nr)
    assert _every_order(orders, x_ladder), orders
    best = _least_words(whole, n, dw) * gm  # in closed form; the order is found where a schedule is chosen
    several = gm > 1
    rep_w = several | (nk * nc > 1)
    rep_i = several | (nc * ny * nxb * nr * np.where(dw, nk, 1.0) > 1)
    rep_o = several | (nk * ny * nxb > 1)
    # double-buffered: a replaced tile's next one streams in beside it; single: each tile has its space
    # once (its transfers then stall the array)
    space = (w_t * (1 + rep_w) + i_t * (1 + rep_i) + o_t * (1 + rep_o)) if double else w_t + i_t + o_t
    if space.dtype != ly.k.dtype and space.max() < 2.0 ** 24:  # whole words, exact in float32 too:
        space = space.astype(ly.k.dtype)  # in the layers' precision (prefix_best's fast path)
    extra = None
    if per_operand:
        per_order = [tuple(v * gm for v in o) for o in _three_orders(whole, n, dw)]  # 3 x (w, i, o)
        extra = tuple((t, r, tuple(o[x] for o in per_order))
                      for x, (t, r) in enumerate(((w_t, rep_w), (i_t, rep_i), (o_t, rep_o))))
    return _Grid(shape, tuple(orders), (kt, ct, bt, qt, rt), n, _spread(space, shape), _spread(best, shape),
                 whole, gm, dw, inner, extra)


def _scan(orders: tuple, inner: tuple, n: tuple, whole: tuple, dw, fields: bool = True) -> tuple:
    """The fewest DRAM words over ``orders`` (in turn: a later order replaces the kept one only if it is
    better by more than :data:`TIE`) and (``fields``) the index in :data:`ORDERS` of the order kept, of
    schedules with loop counts ``n`` and whole-layer words ``whole`` (arrays of any one shape)."""
    single = tuple(x <= 1 if isinstance(x, np.ndarray) else bool(x <= 1) for x in n)
    # each operand's words under an order depend on it only through _refetch_key: computed once per key
    words: dict[tuple, np.ndarray] = {}

    def traffic(x: str, rel: tuple, order: tuple[int, ...], all_, spill: bool = False):
        key = (x, _refetch_key(rel, inner + order))
        if key not in words:
            f = _refetch(rel, inner + order, n, single)
            words[key] = all_ * (2 * f - 1) if spill else all_ * f
        return words[key]

    best = best_order = None
    for order in orders:
        j = ORDERS.index(order)  # the field indexes every order of the four loops
        m = (traffic("w", REL["w"], order, whole[0])
             + traffic("i", (dw, True, True, True, True), order, whole[1])
             + traffic("o", REL["o"], order, whole[2], spill=True))
        if best is None:
            best, best_order = m, np.full(m.shape, float(j))
        else:
            better = m < best * (1 - TIE)
            best = np.where(better, m, best)
            if fields:  # the order kept (the words alone need only the least)
                best_order = np.where(better, float(j), best_order)
    assert best is not None and best_order is not None
    return best, best_order


def _every_order(orders: tuple, x_ladder: tuple) -> bool:
    """Whether ``orders`` put each of the loops K, C, Y and X that can have more than one tile innermost
    (after R) in every way :func:`_least_words` needs: all 24 orders, or those with X innermost where X
    has one tile."""
    return tuple(orders) == ORDERS or (tuple(orders) == ROW_ORDERS and tuple(x_ladder) == (1,))


def _three_orders(whole: tuple, n: tuple, dw) -> tuple:
    """Per order of :func:`_least_words` (K, C, then Y or X innermost), the DRAM words of each operand:
    three (weights, inputs, outputs) triples."""
    w_all, i_all, o_all = whole
    nk, nc, ny, nx, nr = n
    f_i = np.where(dw, 1.0, nk)  # depthwise inputs belong to one filter tile; dense: every filter tile
    f_i_k = np.where(dw | (nr <= 1), 1.0, nk)  # K innermost: the inputs stay, unless kernel rows are chunked
    w_yx = w_all * (ny * nx)
    o_spill = o_all * (2 * nc - 1)
    return ((w_yx, i_all * f_i_k, o_spill), (w_yx, i_all * f_i, o_all * 1.0),
            (w_all * 1.0, i_all * f_i, o_spill))


def _stalled(g: _Grid, glb_words: np.ndarray) -> np.ndarray:
    """``glb_buffering="mixed"``: the DRAM words that stall the array when every GLB tile is stored once
    and a tile replaced during the layer gets a second copy (which its next tile streams into while the
    array works) only where it fits, the copies the set that fits and leaves the fewest words stalled
    (never more with a bigger GLB; ZigZag's own order, outputs, weights, inputs, may not); the
    words of a replaced tile without one stall. Per cell of the grid and GLB size ([D, L, U]), for the
    schedule's order with the fewest DRAM words (of those within :data:`TIE`, the one that stalls
    least) (:func:`.staircase.least_stalled`)."""
    return least_stalled(_cells(g), np.asarray(glb_words).reshape(-1)).astype(g.best.dtype, copy=False)


def _prefix_front(words: np.ndarray, stall: np.ndarray, grid: tuple[int, ...], k: int) -> tuple:
    """Per cell of the candidate grid (``words``, ``stall`` [D, ...], ``inf`` where a schedule does not
    fit), the Pareto front of (stalled words, DRAM words) over the cells at or before it on every axis
    (:func:`prefix_best`'s corners): up to ``k`` points, fewest stalled words first (so most DRAM words
    first), as ([k, D, ...] each) cell index (−1 where no point), DRAM words and stalled words
    (``inf``), and whether some corner's front had more than ``k`` points (then call again with a
    bigger ``k``). Of equal points the first in flat order is kept."""
    rest = words.shape[1:]
    shape = (k, *grid, *rest)
    fw, fs = np.full(shape, np.inf, dtype=words.dtype), np.full(shape, np.inf, dtype=words.dtype)
    fi = np.full(shape, -1, dtype=np.intp)
    fw[0], fs[0] = words.reshape(*grid, *rest), stall.reshape(*grid, *rest)
    idx = np.broadcast_to(np.arange(words.shape[0]).reshape(*grid, *([1] * len(rest))), (*grid, *rest))
    fi[0] = np.where(np.isfinite(fw[0]), idx, -1)
    cut = False
    every = (slice(None),)
    for ax in reversed(range(len(grid))):  # the first axis last, as prefix_best
        for i in range(1, grid[ax]):
            prev, cur = every + (slice(None),) * ax + (i - 1,), every + (slice(None),) * ax + (i,)
            w = np.concatenate([fw[prev], fw[cur]])  # [2k, ...]: the earlier cells first
            st, ix = np.concatenate([fs[prev], fs[cur]]), np.concatenate([fi[prev], fi[cur]])
            o = np.argsort(w, axis=0, kind="stable")  # by words, then (stable) by stalled words
            w, st, ix = (np.take_along_axis(a, o, 0) for a in (w, st, ix))
            o = np.argsort(st, axis=0, kind="stable")
            w, st, ix = (np.take_along_axis(a, o, 0) for a in (w, st, ix))
            run = np.minimum.accumulate(w, axis=0)
            keep = np.concatenate([np.isfinite(w[:1]), w[1:] < run[:-1]])  # fewer words than every earlier
            cut = cut or bool((keep.sum(0) > k).any())
            o = np.argsort(~keep, axis=0, kind="stable")[:k]
            kept = np.take_along_axis(keep, o, 0)
            fw[cur] = np.where(kept, np.take_along_axis(w, o, 0), np.inf)
            fs[cur] = np.where(kept, np.take_along_axis(st, o, 0), np.inf)
            fi[cur] = np.where(kept, np.take_along_axis(ix, o, 0), -1)
    return fi.reshape(k, *words.shape), fw.reshape(k, *words.shape), fs.reshape(k, *words.shape), cut


def _least_words(whole: tuple, n: tuple, dw) -> np.ndarray:
    """The fewest DRAM words over every order of the loops K, C, Y, X (R innermost) of schedules with
    loop counts ``n`` (K, C, Y, X, R) and whole-layer words ``whole`` (weights, inputs, outputs):
    exactly the least of :func:`_refetch` over the orders, in three closed forms. Only the first
    loop with more than one tile matters: under K the inputs stay (unless R chunks them), the weights are
    fetched per row and column band and the partial sums spill per channel tile; under C the outputs
    stay; under Y (X) with X (Y) next the weights stay. Every other order is at least one of these."""
    k_inner, c_inner, yx_inner = (w + i + o for w, i, o in _three_orders(whole, n, dw))
    return np.minimum(np.minimum(k_inner, c_inner), yx_inner)


#: each operand's relevance to the DRAM loops K, C, Y, X and R (depthwise inputs depend on K too; a
#: chunk of kernel rows changes the input rows only: the weight tile holds every row, and the outputs
#: stay in the GLB across the chunks)
REL = {"w": (True, True, False, False, False), "o": (True, False, True, True, False)}
#: the orders of the GLB tiling that does not cut columns: X innermost, where its one tile changes nothing
ROW_ORDERS = tuple(o for o in ORDERS if o[0] == 3)


def _chosen(g: _Grid, take, fields: bool) -> Schedules:
    """The schedule ``take`` picks per column (``take``: an array broadcasting to [D, L, U] -> [cols])."""
    words = take(g.best)
    if not fields:
        return Schedules(words=words, fields={})
    tiles = tuple(take(t) for t in g.tiles)
    n_c = tuple(take(x) for x in g.n)
    dw_c, gm_c = take(g.dw), take(g.gm)
    # the order the scan over the orders keeps, found at the chosen cells only (the same words)
    order = _scan(g.orders, g.inner, n_c, tuple(take(a) for a in g.whole), dw_c)[1].astype(np.intp)
    at = np.zeros(len(ORDERS), dtype=np.intp)  # each order's place among those searched
    at[[ORDERS.index(o) for o in g.orders]] = np.arange(len(g.orders))
    single = tuple(x <= 1 for x in n_c)
    f = {x: np.choose(at[order], [np.broadcast_to(_refetch(rel, g.inner + o, n_c, single), order.shape)
                                  for o in g.orders])
         for x, rel in (("w", REL["w"]), ("i", (dw_c, True, True, True, True)), ("o", REL["o"]))}
    # innermost non-trivial DRAM loop -> resident operand (K: inputs, Y/X: weights, C/none: outputs)
    res = np.full(order.shape, 2.0)
    for pos in (3, 2, 1, 0):  # from outermost to innermost, the last non-trivial one wins
        lp = np.asarray(ORDERS, dtype=np.intp)[order, pos]
        nontriv = np.choose(lp, n_c) > 1
        res = np.where(nontriv, np.asarray(_RES_OF_LOOP)[lp], res)
    w_all, i_all, o_all = (take(a) for a in g.whole)
    out = dict(dram_res=res, dram_order=order.astype(float), dram_kt=tiles[0], dram_ct=tiles[1],
               dram_bt=tiles[2], dram_qt=tiles[3], dram_rt=tiles[4], dram_w=w_all * f["w"] * gm_c,
               dram_i=i_all * f["i"] * gm_c,
               dram_o=o_all * (2 * f["o"] - 1) * gm_c)
    return Schedules(words=words, fields=out)


def _taker(pick, li, gi, shape: tuple[int, ...]):
    """A function giving the chosen cells' values (``pick``: cells of a grid of ``shape``, ``li``, ``gi``:
    layers and columns) of an array broadcasting to [D, L, U] or, per axis, to [*shape, L, U]."""
    cell: list = []

    def take(a):
        a = np.asarray(a)
        if a.ndim > 3:  # per axis of the grid: the cell's index on each
            if not cell:
                cell.extend(np.unravel_index(pick, shape))
            at = tuple(c if n > 1 else 0 for c, n in zip(cell, a.shape, strict=False))
            got = a[(*at, li if a.shape[-2] > 1 else 0, gi if a.shape[-1] > 1 else 0)]
            return np.broadcast_to(got, pick.shape)
        a = a.reshape((1,) * (3 - a.ndim) + a.shape)
        got = a[pick if a.shape[0] > 1 else 0, li if a.shape[1] > 1 else 0, gi if a.shape[2] > 1 else 0]
        return np.broadcast_to(got, pick.shape)
    return take


def schedules(ly: LayerDims, glb_words: np.ndarray, infl: np.ndarray, fields: bool = True,
              double: bool = True, halo: Halo = "density") -> Schedules:
    """Every schedule of :data:`LADDER` tiling K, C and output rows (whole rows) for layers ``ly`` ([L, 1])
    on the keys ``glb_words`` ([1, U] or [L, U], the GLB in words) with ``infl`` ([L, U]) filters in
    flight on the array (a depthwise layer's GLB tile holds at least the channels the array works on);
    the best of each of the L × U columns, flattened ``l · U + u`` (``fields=False``: its DRAM words
    only). The DRAM level of ``dram_tiles="free"`` (v3.1's default). ``halo``: as :func:`_grid`."""
    g = _grid(ly, (LADDER, LADDER, LADDER, (1,), (1,)), ROW_ORDERS, infl, fields, double, halo=halo)
    fits = g.space <= glb_words
    # a GLB too small for any schedule: the smallest one stands in (the model still gives a number)
    fits = fits | ((~fits.any(0)) & (g.space <= g.space.min(0)))
    m = np.where(fits, g.best, np.inf)
    shape = m.shape
    m2 = m.reshape(shape[0], -1)
    pick = m2.argmin(0)  # the fewest DRAM words; ties to the first candidate
    li, gi = (a.reshape(-1) for a in np.indices(shape[1:]))
    return _chosen(g, _taker(pick, li, gi, g.shape), fields)


@dataclass
class _HeldPart:
    """The schedules of some layers on each distinct GLB size and, per cell of the ladders' grid [D, L, U],
    the schedule a cover with that corner takes (:func:`held_lookup`): the best fitting one at or before
    the cell on every axis or, if none fits, the smallest one (``pick``), whether it fits (``fits``) and
    its DRAM words (``words``)."""

    grid: _Grid
    pick: np.ndarray
    fits: np.ndarray
    words: np.ndarray
    #: per axis, [L, W]: the corner's index on that axis (times the axis' stride in the flat grid) of a
    #: tile of each integer size 0 … W − 1; sizes beyond a layer's loop bound count as the whole loop
    pos: tuple
    #: ``glb_buffering="mixed"``: ``pick``, ``words`` and ``stall`` are [K, D, L, U], each cell's front of
    #: (stalled, DRAM words) (:func:`_prefix_front`, the stand-in alone where nothing fits)
    stall: np.ndarray | None = None
    #: ``"zigzag"``: what each corner's candidate schedules are found from
    #: (:class:`~.staircase.Staircase`, :func:`~.staircase.members`)
    windows: Staircase | None = None

    @property
    def n_layers(self) -> int:
        return self.pick.shape[-2]


@dataclass
class HeldGrid:
    """``dram_tiles="hold-array"``: every schedule of a set of layers on each distinct GLB size and the
    best of every corner of the ladders' grid (:func:`held_grid`; the layers with one kernel row apart
    from the others, whose grid has a kernel-row axis); :func:`held_lookup` finds a cover's corner.
    A schedule's index counts across the parts (``offset``)."""

    parts: list
    part_of: np.ndarray  # [L] each layer's part
    local: np.ndarray  # [L] its index in the part
    offset: np.ndarray  # [P] the first schedule index of each part
    #: ``glb_reuse="tile"``: each cell's fronts of schedules per GLB-level loop group, built on first use
    #: (:class:`.reuse._FrontTable`)
    fronts: object | None = None


def _held_part(ly: LayerDims, glb_words: np.ndarray, fields: bool, double: bool, stalls: str | None = None,
               halo: Halo = "density", every_double: bool = False) -> _HeldPart:
    g = _grid(ly, HELD_LADDERS, ORDERS, None, fields, double and stalls is None, stalls is not None, halo)
    m = np.where(g.space <= glb_words, g.best, np.inf)          # [D, L, U]
    fit = np.isfinite(m)
    space = np.broadcast_to(g.space, m.shape)
    ps = prefix_best(space, g.shape, np.broadcast_to(g.best, m.shape))  # smallest per corner
    stall = windows = None
    if stalls == "mixed":  # the front of (stalled, DRAM words) per corner, with every point it has
        st_all = _stalled(g, glb_words)
        k, cut = FRONT_K, True
        while cut:
            fpick, fwords, fstall, cut = _prefix_front(m, np.where(fit, st_all, np.inf), g.shape, k)
            k *= 2
        none = fpick[0] < 0  # nothing fits: the smallest schedule of the corner stands in
        fpick[0] = np.where(none, ps, fpick[0])
        fwords[0] = np.where(none, np.take_along_axis(np.broadcast_to(g.best, m.shape), ps, 0), fwords[0])
        fstall[0] = np.where(none, np.take_along_axis(st_all, ps, 0), fstall[0])
        pick, words, stall, fits = fpick, fwords, fstall, ~none
    else:
        pw = prefix_best(m, g.shape)                                # best fitting schedule per corner
        pick = np.where(np.take_along_axis(fit, pw, 0), pw, ps)
        words = np.take_along_axis(np.broadcast_to(g.best, m.shape), pick, 0)
        fits = np.take_along_axis(fit, pick, 0)
        if stalls == "zigzag":  # what each corner's candidates need (staircase.members, per lookup)
            windows = _staircase(g, glb_words, pick, fits, every_double)
    n_l = m.shape[1]
    dims = tuple(np.asarray(d, dtype=np.float64)[:, 0] for d in (
        np.where(ly.dw, ly.k, ly.k / ly.g), ly.cg, ly.p, ly.q, ly.r))
    strides = np.cumprod((1,) + g.shape[:0:-1])[::-1]  # of each axis in the flat grid
    pos = []  # per axis and layer, the corner's index for every integer size up to the largest bound
    for j, (t, dim) in enumerate(zip(g.tiles, dims, strict=True)):
        line = along_axis(t, g.shape, j, n_l)  # [n_j, L]
        sizes = np.minimum(np.arange(int(dim.max()) + 1, dtype=np.float64)[None, :], dim[:, None])  # [L, W]
        pos.append(((line[:, :, None] >= sizes[None]).sum(0) - 1).astype(np.intp) * int(strides[j]))
    return _HeldPart(g, pick, fits, words, tuple(pos), stall, windows)


def along_axis(a, shape: tuple[int, ...], j: int, n_l: int) -> np.ndarray:
    """A quantity of the ladders' grid of ``shape`` that varies along axis ``j`` only (an array
    broadcasting to [*shape, L, 1], or a number), as [n_j, L]: its value at each rung, per layer."""
    a = np.asarray(a)
    a = a.reshape((1,) * (len(shape) + 2 - a.ndim) + a.shape)
    return np.broadcast_to(a, (*shape, n_l, 1))[tuple(slice(None) if b == j else 0
                                                      for b in range(len(shape)))][..., 0]


def _cells(g: _Grid) -> Cells:
    """``glb_buffering="zigzag"``: the schedules of grid ``g`` (each tile once, ``per_operand``) as
    :mod:`.staircase` reads them ([D, L] each: none depends on the GLB size)."""
    assert g.per_operand is not None
    words = np.ascontiguousarray(g.best[:, :, 0])  # (best and space are [D, L, 1] already)

    def at(a):
        a = np.asarray(a)
        a = a if a.ndim == 3 and a.shape[0] == words.shape[0] else _spread(a, g.shape)
        return np.ascontiguousarray(np.broadcast_to(a[:, :, 0], words.shape))
    nk, nc, ny, nx, nr = (at(a) for a in g.n)
    return Cells(g.shape, words, at(g.space), tuple(at(t) for t, _, _ in g.per_operand),
                 tuple(at(r).astype(bool) for _, r, _ in g.per_operand),
                 tuple(tuple(at(w) for w in ws) for _, _, ws in g.per_operand), (ny * nx, nc * nr, nk))


def _staircase(g: _Grid, glb_words: np.ndarray, pick: np.ndarray, fits: np.ndarray,
               every_double: bool = False) -> Staircase:
    """``glb_buffering="zigzag"``: what :func:`.staircase.members` needs of grid ``g`` on the GLB sizes
    ``glb_words`` ([1, U]); ``pick``, ``fits``: each corner's fewest-words schedule that fits (or its
    stand-in), [D, L, U]; ``every_double``: as :func:`.staircase.staircase`."""
    cells = _cells(g)
    return staircase(cells, np.asarray(glb_words, dtype=cells.space.dtype).reshape(-1), pick, fits,
                     np.asarray(g.dw, dtype=bool).reshape(-1), every_double)


def held_grid(ly: LayerDims, glb_words: np.ndarray, fields: bool = True, double: bool = True,
              stalls: str | None = None, halo: Halo = "density", every_double: bool = False) -> HeldGrid:
    """Every schedule of :data:`HELD_LADDERS` (K, C, output rows, output columns, kernel-row chunks of
    the input tile; 24 orders) of layers ``ly`` ([L, 1]) on the GLB sizes ``glb_words`` ([1, U], words),
    and the best of every corner of the ladders' grid (:func:`prefix_best`), computed once (the layers
    with one kernel row apart: their grid has no kernel-row axis, half the schedules). ``double``: a
    replaced tile takes twice its space; ``stalls``: each tile once, and the words that stall
    (``"mixed"``: each corner's front of (stalled, DRAM words), :func:`_stalled`, :func:`_prefix_front`;
    ``"zigzag"``: what each corner's candidate schedules are found from, :mod:`.staircase`); ``halo``: as
    :func:`_grid`."""
    n_l = ly.k.shape[0]
    one_row = np.asarray(ly.r)[:, 0] <= 1
    groups = ([np.arange(n_l)] if one_row.all() or not one_row.any()
              else [np.flatnonzero(one_row), np.flatnonzero(~one_row)])
    parts = [_held_part(ly if len(groups) == 1 else ly.rows(idx), glb_words, fields, double, stalls, halo,
                        every_double) for idx in groups]
    part_of, local = np.zeros(n_l, dtype=np.intp), np.zeros(n_l, dtype=np.intp)
    for p, idx in enumerate(groups):
        part_of[idx], local[idx] = p, np.arange(idx.size)
    offset = np.cumsum([0] + [h.pick.shape[-3] for h in parts[:-1]]).astype(np.intp)
    return HeldGrid(parts, part_of, local, offset)


def _per_part(h: HeldGrid, li: np.ndarray):
    """(part, the entries in it or None for all, their layers in the part) for the entries' layers."""
    if len(h.parts) == 1:
        yield 0, None, li
        return
    pid = h.part_of[li]
    for p in range(len(h.parts)):
        sel = np.flatnonzero(pid == p)
        if sel.size:
            yield p, sel, h.local[li[sel]]


def _merge(n: int, pieces: list) -> tuple:
    """The (schedules, pick, fits, corner) of the entries of each part, ``pieces`` = [(entries, result)], as
    one."""
    if len(pieces) == 1 and pieces[0][0] is None:
        return pieces[0][1]
    first = pieces[0][1]
    front = first[0].words.ndim == 2  # [K, M] fronts ("mixed"): padded to the parts' largest K
    lead = (max(pc[1][0].words.shape[0] for pc in pieces),) if front else ()
    words = np.full((*lead, n), np.inf, dtype=first[0].words.dtype)
    pick = np.full((*lead, n), -1, dtype=np.intp)
    fits, corner = np.empty(n, dtype=bool), np.empty(n, dtype=np.intp)
    fields = {k: np.empty(n, dtype=v.dtype) for k, v in first[0].fields.items()}
    stall = None if first[0].stall is None else np.full((*lead, n), np.inf, dtype=first[0].stall.dtype)
    windows = None
    if first[0].windows is not None:  # zigzag: every entry's candidates in turn ([N]), by entry
        seg = np.concatenate([sel.take(sched.windows[0]) for sel, (sched, *_) in pieces])
        by = np.argsort(seg, kind="stable")
        windows = (seg.take(by), *(np.concatenate([sched.windows[j] for _, (sched, *_) in pieces]).take(by)
                                   for j in range(1, len(first[0].windows) - 1)),
                   np.empty(n, dtype=first[0].windows[-1].dtype))
        for sel, (sched, *_) in pieces:
            windows[-1][sel] = sched.windows[-1]
    for sel, (sched, pk, ft, cn) in pieces:
        rows = slice(0, sched.words.shape[0]) if front else ()
        at = (rows, sel) if front else sel
        words[at], pick[at], fits[sel], corner[sel] = sched.words, pk, ft, cn
        for k in fields:
            fields[k][sel] = sched.fields[k]
        if stall is not None:
            stall[at] = sched.stall
    return Schedules(words=words, fields=fields, stall=stall, windows=windows), pick, fits, corner


def held_lookup(h: HeldGrid, floor: tuple, li: np.ndarray, gi: np.ndarray,
                fields: bool = True) -> tuple[Schedules, np.ndarray, np.ndarray, np.ndarray]:
    """The best schedule whose tiles hold ``floor`` (filters, reduction channels, output rows, output
    columns, kernel rows; [M] arrays or floats, ``inf``: the whole loop) of layer ``li`` on GLB size
    ``gi`` ([M] indices into :func:`held_grid`'s layers and sizes), for M entries at once: the PEs work
    on that much at once, so a smaller tile cannot feed them. The ladders' tiles fall along each axis, so
    the candidates that hold a floor are a corner of the grid, and its best is a lookup; if none of them
    fits, the smallest stands in (``"mixed"``: each entry's front, [K, M], of which the dataflow takes
    one). Returns the schedules ([M]), the index of each ([M],
    :func:`held_fields` takes it), whether it fits the GLB and the id of the floor's corner
    (:func:`held_corner`) ([M] each)."""
    pieces = []
    for p, sel, lp in _per_part(h, li):
        part = h.parts[p]
        sub = floor if sel is None else tuple(f if np.ndim(f) == 0 else np.asarray(f)[sel] for f in floor)
        g_sub = gi if sel is None else gi[sel]
        corner = _corner(part, sub, lp)
        n_l, n_u = part.pick.shape[-2:]
        at = (corner * n_l + lp) * n_u + g_sub
        fits = part.fits.reshape(-1).take(at)
        if part.pick.ndim == 4:  # a front per corner ("mixed"): [K, M] per entry
            assert not fields, "a front of schedules has no single schedule's fields"
            k = part.pick.shape[0]
            pick = part.pick.reshape(k, -1)[:, at]
            sched = Schedules(words=part.words.reshape(k, -1)[:, at], fields={},
                              stall=part.stall.reshape(k, -1)[:, at])
            pick = np.where(pick >= 0, pick + h.offset[p], -1)
            pieces.append((sel, (sched, pick, fits, corner + h.offset[p])))
            continue
        pick = part.pick.reshape(-1).take(at)
        sched = (_chosen(part.grid, _taker(pick, lp, g_sub, part.grid.shape), True) if fields
                 else Schedules(words=part.words.reshape(-1).take(at), fields={}))
        if part.stall is not None:
            sched.stall = part.stall.reshape(-1).take(at)
        if part.windows is not None:  # zigzag: each entry's candidates, every entry's in turn
            uniq, _, inv = unique_ints(at, part.pick.size)
            n_c, words, cell, stalled, counts = members_of(part.windows, uniq)
            n_e = n_c.take(inv)  # per entry
            seg = np.repeat(np.arange(inv.size), n_e)
            ends = np.cumsum(n_e)
            src = np.repeat((np.cumsum(n_c) - n_c).take(inv) - (ends - n_e), n_e) + np.arange(int(ends[-1]))
            sched.windows = (seg, *(a.take(src) for a in (*stalled, *counts, cell + h.offset[p], words)),
                             part.windows.dw.take(lp))
        pieces.append((sel, (sched, pick + h.offset[p], fits, corner + h.offset[p])))
    return _merge(np.size(li), pieces)


def _corner(part: _HeldPart, floor: tuple, lp: np.ndarray) -> np.ndarray:
    """The flat grid cell of each entry's corner: per axis, how many of the ladder's tiles hold the
    floor (the first, the whole loop, always does); tiles are integers, so a floor is its ceiling."""
    corner = None
    for tab, f in zip(part.pos, floor, strict=True):
        w = tab.shape[1]
        if np.ndim(f) == 0:  # the same size for every entry: a column of the table
            at = tab[:, int(np.ceil(min(float(f), w - 1)))].take(lp)
        else:
            at = tab.reshape(-1).take(lp * w + np.minimum(np.ceil(f), w - 1).astype(np.intp))
        corner = at if corner is None else corner + at
    return np.broadcast_to(corner, np.shape(lp))


def held_corner(h: HeldGrid, floor: tuple, li: np.ndarray) -> np.ndarray:
    """An id of the corner of the grid that holds ``floor`` for each entry of layer ``li`` ([M])."""
    out = np.empty(np.size(li), dtype=np.intp)
    for p, sel, lp in _per_part(h, li):
        sub = floor if sel is None else tuple(f if np.ndim(f) == 0 else np.asarray(f)[sel] for f in floor)
        c = _corner(h.parts[p], sub, lp) + h.offset[p]
        out[slice(None) if sel is None else sel] = c
    return out


def held_bound(h: HeldGrid, floor: tuple, glb_of: np.ndarray) -> np.ndarray:
    """A lower bound ([L · A], columns ``l · A + a``) of the DRAM words of every mapping that
    ``dram_tiles="hold-array"`` can choose on accelerators whose working set is ``floor`` (five [L, A]
    arrays), from the grid ``h`` of their layers (:func:`held_grid`, ``fields=False``; ``glb_of`` [A]:
    each accelerator's GLB size's index among the grid's sizes). Every candidate's cover holds the working
    set, so its schedule lies in the working set's corner of the grid: where a schedule of that corner
    fits the GLB, so does the least-cover candidate's (its corner is that one), a fitting candidate is
    chosen, and its words are at least the fewest of the corner's fitting schedules; elsewhere no
    candidate fits and a stand-in is taken, at least the fewest words of the corner, fitting or not."""
    (sched, _, fits, corner), li, _ = _lookup_pairs(h, floor, glb_of, False)
    anywhere = np.empty(li.size, dtype=sched.words.dtype)
    for p, sel, lp in _per_part(h, li):
        part = h.parts[p]
        best = np.asarray(part.grid.best)[:, :, :1]  # (the words do not depend on the GLB size)
        at = (corner if sel is None else corner[sel]) - h.offset[p]
        least = best.reshape(-1).take(prefix_best(best, part.grid.shape).reshape(-1).take(
            at * best.shape[1] + lp) * best.shape[1] + lp)
        anywhere[slice(None) if sel is None else sel] = least
    return np.where(fits, sched.words, anywhere)


def held_fields(h: HeldGrid, pick: np.ndarray, li: np.ndarray, gi: np.ndarray,
                fields: bool = True) -> Schedules:
    """The schedules ``pick`` (:func:`held_lookup`'s indices, [M]) of layers ``li`` on GLB sizes ``gi``:
    their DRAM words and (``fields``) :data:`DRAM_FIELDS`."""
    pieces = []
    for p, sel, lp in _per_part(h, li):
        pk = (pick if sel is None else pick[sel]) - h.offset[p]
        g_sub = gi if sel is None else gi[sel]
        grid = h.parts[p].grid
        # each distinct (schedule, layer, GLB size) once: many designs take the same schedule of a layer
        n_d, n_g = grid.space.shape[0], max(int(g_sub.max(initial=0)) + 1, 1)
        key = (np.asarray(lp, dtype=np.int64) * (n_d + 1) + pk + 1) * n_g + g_sub
        uniq, first, inv = unique_ints(key, (int(lp.max(initial=0)) + 1) * (n_d + 1) * n_g)
        sch = _chosen(grid, _taker(pk.take(first), lp.take(first), g_sub.take(first), grid.shape), fields)
        sch = Schedules(words=spread(sch.words, inv, uniq.size), fields=spread(sch.fields, inv, uniq.size))
        pieces.append((sel, (sch, pk, pk >= 0, pk)))
    return _merge(np.size(li), pieces)[0]


def held_schedules(ly: LayerDims, glb_words: np.ndarray, floor: tuple, glb_of: np.ndarray,
                   fields: bool = True, double: bool = True, halo: Halo = "density") -> Schedules:
    """The best schedule (:func:`held_lookup`) of layers ``ly`` ([L, 1]) on each (layer, accelerator)
    column ``l · A + a``, among those whose GLB tiles hold the accelerator's working set ``floor`` (five
    [L, A] arrays, :func:`held_lookup`); ``glb_words``: the distinct GLB sizes ([1, U], words),
    ``glb_of`` ([A]): each accelerator's (docs/cost-model.md, "GLB ↔ DRAM")."""
    return _lookup_pairs(held_grid(ly, glb_words, fields, double, halo=halo), floor, glb_of, fields)[0][0]


def _lookup_pairs(h: HeldGrid, floor: tuple, glb_of: np.ndarray, fields: bool) -> tuple:
    """:func:`held_lookup` of every (layer, accelerator) column ``l · A + a`` of ``floor`` (five [L, A]
    arrays or floats) on the accelerators' GLB sizes ``glb_of`` ([A]); also the columns' layers and
    floors."""
    n_l, n_a = int(sum(p.n_layers for p in h.parts)), len(glb_of)
    li = np.repeat(np.arange(n_l), n_a)
    gi = np.tile(np.asarray(glb_of, dtype=np.intp).reshape(-1), n_l)
    fl = tuple(f if np.ndim(f) == 0 else np.broadcast_to(f, (n_l, n_a)).reshape(-1) for f in floor)
    return held_lookup(h, fl, li, gi, fields), li, fl


class EntryDram:
    """``dram_tiles="hold-array"``: the DRAM level of each array-level mapping candidate, chosen with it.
    A candidate's GLB tiles must hold what the array works on at once *including* its PE-local tile
    (the ``cover`` a dataflow gives: filters, reduction channels, output rows, output columns, kernel
    rows), so its DRAM words depend on the candidate: they are looked up per entry in the schedules of
    :func:`held_grid` (one grid per layer chunk; ``glb_of``: the GLB-size index of each of the
    dataflow's ``n_acc`` accelerators; ``cyc_per_word``: DRAM cycles per word; ``base``: the dataflow's
    working set, :func:`~.spatial.working_set`, five [L, A] arrays or floats, whose corner is found once
    per (layer, accelerator); ``dram_weight``: with ``glb_reuse="tile"``, see the attribute)."""

    def __init__(self, grid: HeldGrid, glb_of: np.ndarray, n_acc: int, cyc_per_word: float, base: tuple,
                 dram_weight: np.ndarray | None = None):
        self.grid, self.glb_of, self.n_acc, self.cyc = grid, glb_of, n_acc, cyc_per_word
        #: ``glb_reuse="tile"``: per accelerator, the energy of a DRAM word in GLB accesses (its DRAM access
        #: and GLB write over a GLB access); the schedules are then chosen with each GLB-level order
        #: (:mod:`.reuse`); None: ``glb_reuse="layer"``
        self.dram_weight = dram_weight
        #: whether each entry's DRAM schedules come as ZigZag's candidates (``glb_buffering="zigzag"``)
        self.windowed = grid.parts[0].windows is not None
        n_l = int(sum(p.n_layers for p in grid.parts))
        li = np.repeat(np.arange(n_l), n_acc)
        fl = tuple(f if np.ndim(f) == 0 else np.broadcast_to(f, (n_l, n_acc)).reshape(-1) for f in base)
        self.base_corner = held_corner(grid, fl, li)  # [L · n_acc]

    def lookup(self, pair: np.ndarray, cover: tuple) -> tuple:
        """DRAM words, grid index, whether it fits the GLB, whether the entry's cover has the corner of
        the working set ``base`` and (``glb_buffering="mixed"``; else None) the words whose transfers
        stall the array ([M] each; ``"mixed"``: words, index and stalled words [K, M], each entry's
        front), of the schedule of the entries of (layer, accelerator) ``pair`` (``l · n_acc
        + a``): the best whose GLB tiles hold ``cover`` (:func:`held_lookup`; the smallest if none
        fits), and (``"zigzag"``; else None) every entry's candidate schedules, as
        :attr:`Schedules.windows`, for :class:`~.mapper.Windows`."""
        li, ai = np.divmod(pair, self.n_acc)
        sched, pick, fits, corner = held_lookup(self.grid, cover, li, self.glb_of[ai], fields=False)
        return sched.words, pick, fits, corner == self.base_corner.take(pair), sched.stall, sched.windows
