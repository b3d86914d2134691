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
per DRAM word. Both fall with the DRAM words alone, so the schedule with the fewest DRAM words is the
best under every mapper objective (latency, energy, EDP), whatever the array-level mapping: the joint
search separates exactly, and the schedule is chosen once per (layer, GLB size).

The candidate tilings come from a fixed ladder of tile counts (:data:`LADDER`) that does not depend on
the GLB size; only their feasibility does. So a bigger GLB keeps every schedule of a smaller one, and
neither the DRAM words nor the latency can rise with capacity (nor with DRAM bandwidth, which scales
the DRAM term down).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .dims import LayerDims
from .mapper import ORDERS, TIE

#: tile counts tried per DRAM-level loop; 0 = one tile per element of the loop (tile size 1)
LADDER: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 0)
#: DRAM-level loops, in the order their indices are used in ORDERS (innermost first there)
DRAM_LOOPS: tuple[str, ...] = ("k", "c", "y")
#: what the innermost non-trivial DRAM-level loop keeps resident: K -> inputs, Y -> weights, C -> outputs
RESIDENT: tuple[str, ...] = ("inputs", "weights", "outputs")
DRAM_FIELDS: tuple[str, ...] = ("dram_res", "dram_order", "dram_kt", "dram_ct", "dram_bt", "dram_w", "dram_i",
                                "dram_o")


@dataclass
class Schedules:
    """The best schedule of every column (layer × key, flattened ``l · U + u``): its DRAM words ``words``
    and its fields (:data:`DRAM_FIELDS`), each a [cols] array."""

    words: np.ndarray
    fields: dict[str, np.ndarray]


def _refetch(rel: tuple, order: tuple[int, int, int], n: tuple, single: tuple | None = None) -> np.ndarray:
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


def _refetch_key(rel: tuple, order: tuple[int, int, int]) -> tuple:
    """What :func:`_refetch` depends on in ``order``: each loop the operand may not depend on (``rel`` not
    True), in order, with the set of loops inside it (their effect on the run does not depend on their
    order), so two orders with the same key fetch the operand equally often."""
    return tuple((lp, frozenset(order[:k])) for k, lp in enumerate(order) if rel[lp] is not True)


def schedules(ly: LayerDims, glb_words: np.ndarray, infl: np.ndarray, fields: bool = True) -> Schedules:
    """Every schedule of :data:`LADDER` for layers ``ly`` ([L, 1]) on the keys ``glb_words`` ([1, U] or
    [L, U], the GLB in words) with ``infl`` ([L, U]) filters in flight on the array (a depthwise layer's
    GLB tile holds at least the channels the array works on); the best of each of the L × U columns
    (``fields=False``: its DRAM words only)."""
    dw = ly.dw
    dense_any = not bool(np.all(dw))
    lad = np.asarray(LADDER, dtype=ly.k.dtype)
    c_lad = lad if dense_any else lad[:1]
    req = np.array(list(itertools.product(lad, c_lad, lad)), dtype=ly.k.dtype)  # [D, 3]
    rk, rc, ry = (req[:, j][:, None, None] for j in range(3))
    gm = np.where(dw, 1.0, ly.g)                     # groups processed one after another
    kg = np.where(dw, ly.k, ly.k / ly.g)             # filters per group (depthwise: all channels)
    cg, p = ly.cg, ly.p
    hp, wp = ly.h + 2 * ly.pad, ly.w + 2 * ly.pad

    def tile(dim, r):
        n = np.where(r == 0, dim, np.minimum(r, dim))
        return np.ceil(dim / n)

    kt = tile(kg, rk)
    kt = np.where(dw, np.maximum(kt, np.minimum(infl, kg)), kt)
    ct, bt = tile(cg, rc), tile(p, ry)
    nk, nc, nyb = np.ceil(kg / kt), np.ceil(cg / ct), np.ceil(p / bt)
    ny = ly.n * nyb                                   # bands of every image
    rows = np.minimum((bt - 1) * ly.st + ly.r, hp)
    w_t = kt * ct * ly.r * ly.s
    i_t = np.where(dw, kt, ct) * wp * rows
    o_t = kt * bt * ly.q
    # whole-layer words per group (inputs unpadded; bands re-fetch their halo rows)
    halo = np.maximum(np.minimum(p * ly.st + nyb * (ly.r - ly.st), nyb * hp) / hp, 1.0)
    w_all, i_all, o_all = ly.w_tot / gm, ly.i_tot / gm * halo, ly.o_tot / gm
    n = (nk, nc, ny)
    single = tuple(x <= 1 for x in n)
    rel_w, rel_i, rel_o = (True, True, False), (dw, True, True), (True, False, True)
    # each operand's words under an order depend on it only through _refetch_key: computed once per key
    words: dict[tuple, np.ndarray] = {}

    def traffic(x: str, rel: tuple, order: tuple[int, int, int], whole, spill: bool = False):
        key = (x, _refetch_key(rel, order))
        if key not in words:
            f = _refetch(rel, order, n, single)
            words[key] = whole * (2 * f - 1) if spill else whole * f
        return words[key]

    best = best_order = None
    for j, order in enumerate(ORDERS):
        m = (traffic("w", rel_w, order, w_all) + traffic("i", rel_i, order, i_all)
             + traffic("o", rel_o, order, o_all, spill=True))
        if best is None:
            best, best_order = m, np.zeros(m.shape)
        else:
            better = m < best * (1 - TIE)
            best = np.where(better, m, best)
            if fields:  # the order kept (the words alone need only the least)
                best_order = np.where(better, float(j), best_order)
    assert best is not None and best_order is not None
    several = gm > 1
    rep_w = several | (nk * nc > 1)
    rep_i = several | (nc * ny * np.where(dw, nk, 1.0) > 1)
    rep_o = several | (nk * ny > 1)
    space = w_t * (1 + rep_w) + i_t * (1 + rep_i) + o_t * (1 + rep_o)
    fits = space <= glb_words
    # a GLB too small for any schedule: the smallest one stands in (the model still gives a number)
    fits = fits | ((~fits.any(0)) & (space <= space.min(0)))
    m = np.where(fits, best * gm, np.inf)
    shape = m.shape
    cols = shape[1] * shape[2]
    m2 = m.reshape(shape[0], cols)
    pick = m2.argmin(0)  # the fewest DRAM words; ties to the first candidate
    if not fields:
        return Schedules(words=m2[pick, np.arange(cols)], fields={})
    # the chosen schedule's fields, from its tile counts and order ([cols] arrays)
    take = lambda a: np.broadcast_to(a, shape).reshape(shape[0], cols)[pick, np.arange(cols)]  # noqa: E731
    order = take(best_order).astype(np.intp)
    n_c = tuple(take(x) for x in n)
    dw_c, gm_c = take(dw), take(gm)
    f = {x: np.choose(order, [np.broadcast_to(_refetch(rel, o, n_c), order.shape) for o in ORDERS])
         for x, rel in (("w", rel_w), ("i", (dw_c, True, True)), ("o", rel_o))}
    # innermost non-trivial DRAM loop -> resident operand (K: inputs, Y: weights, C/none: outputs)
    res = np.full(order.shape, 2.0)
    for pos in (2, 1, 0):  # from outermost to innermost, the last non-trivial one wins
        lp = np.asarray(ORDERS, dtype=np.intp)[order, pos]
        nontriv = np.choose(lp, n_c) > 1
        res = np.where(nontriv, np.asarray([0.0, 2.0, 1.0])[lp], res)
    fields = dict(dram_res=res, dram_order=order.astype(float), dram_kt=take(kt), dram_ct=take(ct),
                  dram_bt=take(bt), dram_w=take(w_all) * f["w"] * gm_c, dram_i=take(i_all) * f["i"] * gm_c,
                  dram_o=take(o_all) * (2 * f["o"] - 1) * gm_c)
    return Schedules(words=m2[pick, np.arange(cols)], fields=fields)
