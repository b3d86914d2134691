"""``glb_buffering="zigzag"``: the DRAM schedules one array-level mapping may take (docs/cost-model.md,
"Overlap").

Under ZigZag's buffering every GLB tile is stored once, and a tile replaced during the layer gets a
second copy where one fits beside the others; a replaced tile without a copy stalls the array for the
part of its transfer beyond its update window (:class:`~.mapper.Windows`). ZigZag's own rule takes the
schedule with the fewest DRAM words that fits and grants the copies in a fixed order (outputs, weights,
inputs). A bigger GLB can make that schedule one with fewer words but more of them stalled, so a rule
alone may be slower on a bigger GLB; a search over what a smaller GLB runs cannot be. So the candidates
of a mapping whose GLB tiles must hold a corner of the ladders' grid (:func:`~.memory.held_lookup`) on a
GLB of ``G`` words are:

* the **double-buffered** schedule of the corner with the fewest DRAM words (every replaced tile with its
  copy: it never stalls; the default buffering's choice), and
* every schedule of the corner's **staircase** with fewer DRAM words than that one: the fewest-words
  schedule that fits once in each smaller GLB (the front of (space, DRAM words) of the corner's
  schedules that fit ``G``), each with every *maximal* set of second copies that fits ``G`` (no further
  replaced tile's copy fits beside them).

ZigZag's choice is one of them (its copy order grants a maximal set). A schedule on the staircase of a
smaller GLB is on this one's, with every set of copies it had contained in a maximal one here, and the
double-buffered schedule only gains words to lose: the candidates of a bigger GLB are those of a smaller
one or better, so the best latency of a mapping never rises with the GLB. The staircase is found per
corner a lookup asks for (:func:`members`), over the schedules that fit once but not double-buffered,
which are few; it is short (at most a handful of schedules).

With ``glb_reuse="tile"`` (:func:`~.reuse.best_order_windows`) each candidate also pays the refills of its
own DRAM cuts, so a schedule with more words that cuts the reused loop less can be the better one, and a
bigger GLB must not lose it: the candidates are then the staircase of *every* corner at or before the
mapping's (each schedule that fits once but not double-buffered, with fewer words than its own corner's
double-buffered schedule and no schedule at or before it with as little space and as few words,
:func:`_own_steps`) and the double-buffered fewest-words schedule of every such corner — tens of
schedules instead of a handful."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .mapper import TIE
from .prefix import prefix_best

#: the subsets of the three operands (weights, inputs, outputs) as bit masks
_SUBSETS = tuple(range(8))


@dataclass
class Cells:
    """Per cell of the ladders' grid and layer ([D, L] each, the same on every GLB size): the DRAM
    words (the fewest over the orders) and GLB space of each schedule (every tile once), per operand
    (weights, inputs, outputs) its tile, whether it is replaced during the layer and its DRAM words
    under each of the three orders of :func:`~.memory._least_words` ([3] of [D, L] each), and its DRAM
    tiles per GLB-level loop group (output pixels, reduction, filters)."""

    shape: tuple[int, ...]
    words: np.ndarray
    space: np.ndarray
    tile: tuple
    replaced: tuple
    per_order: tuple  # [operand][order] -> [D, L]
    counts: tuple


@dataclass
class Staircase:
    """What :func:`members` needs on the GLB sizes ``glb`` ([U], words): ``cells``; per (layer, GLB
    size) the schedules that fit once but not double-buffered, fewest DRAM words first (``order``, [L,
    U, E] cell indices, −1 past the end; their DRAM words, GLB space and index on each axis of the grid:
    ``words``, ``space`` [L, U, E] and ``axes`` [5, L, U, E]); per cell of the grid [D, L, U] the
    corner's fewest-words schedule that fits once (or, where none does, its smallest: ``pick``,
    ``fits``) and its double-buffered one (``double``, ``double_words``: ``inf`` where none fits); per
    layer whether it is depthwise (``dw``, [L])."""

    cells: Cells
    glb: np.ndarray
    order: np.ndarray
    words: np.ndarray
    space: np.ndarray
    axes: np.ndarray
    pick: np.ndarray
    fits: np.ndarray
    double: np.ndarray
    double_words: np.ndarray
    dw: np.ndarray
    #: with ``every_double`` (:func:`staircase`): per (layer, GLB size) the schedules that are the
    #: double-buffered fewest-words one of their own corner (``[L, U, A]`` cell indices, −1 past the end)
    #: and their index on each axis of the grid (``[5, L, U, A]``); else None
    doubles: np.ndarray | None = None
    doubles_axes: np.ndarray | None = None
    #: with ``every_double``: per entry of ``order`` ([L, U, E]) whether it is on the staircase of its own
    #: corner (no schedule at or before it on every axis has as little space and as few words; fewer
    #: words than its own corner's double-buffered schedule); else None
    own_step: np.ndarray | None = None
    #: the corners of the last :func:`members` call and what it gave (:func:`members_of`)
    last: tuple | None = None


def staircase(cells: Cells, glb: np.ndarray, pick: np.ndarray, fits: np.ndarray, dw: np.ndarray,
              every_double: bool = False) -> Staircase:
    """The :class:`Staircase` of ``cells`` on the GLB sizes ``glb`` ([U], words); ``pick``, ``fits``:
    each corner's fewest-words schedule that fits once (or its stand-in), [D, L, U]. ``every_double``
    (``glb_reuse="tile"``): also every schedule that is the double-buffered fewest-words one of its own
    corner (:func:`members` offers those of a corner's sub-corners too)."""
    double_space = sum(t * (1 + r) for t, r in zip(cells.tile, cells.replaced, strict=True))
    md = np.where(double_space[:, :, None] <= glb, cells.words[:, :, None], np.inf)  # [D, L, U]
    pd = prefix_best(md, cells.shape)  # each corner's double-buffered schedule with the fewest words
    # per (layer, GLB size) the cells that fit once but not double-buffered (a few of each layer's), by
    # words, then space, then cell
    ok = (cells.space[:, :, None] <= glb) & (double_space[:, :, None] > glb)  # [D, L, U]
    d_i, l_i, u_i = np.nonzero(ok)
    by = np.lexsort((d_i, cells.space[d_i, l_i], cells.words[d_i, l_i], u_i, l_i))
    d_i, l_i, u_i = d_i.take(by), l_i.take(by), u_i.take(by)
    n_u = len(glb)
    counts = np.bincount(l_i * n_u + u_i, minlength=ok.shape[1] * n_u)
    n_e = max(int(counts.max(initial=0)), 1)
    cell = np.full((ok.shape[1], n_u, n_e), -1, dtype=np.intp)  # [L, U, E]
    cell[l_i, u_i, np.arange(d_i.size) - (np.cumsum(counts) - counts).take(l_i * n_u + u_i)] = d_i
    c, li = np.maximum(cell, 0), np.arange(cell.shape[0])[:, None, None]
    words = np.where(cell >= 0, cells.words[c, li], np.inf)
    axes = np.stack(np.unravel_index(c, cells.shape))
    doubles = doubles_axes = own_step = None
    if every_double:
        own_step = _own_steps(cell, words, cells.space[c, li], axes,
                              np.take_along_axis(md, pd, 0)[c, li, np.arange(len(glb))[None, :, None]])
        own = (pd == np.arange(pd.shape[0])[:, None, None]) & np.isfinite(md)  # [D, L, U]
        n_a = max(int(own.sum(0).max(initial=0)), 1)
        at = np.argsort(~own, axis=0, kind="stable")[:n_a]  # [A, L, U] cells, the own ones first
        doubles = np.ascontiguousarray(np.where(np.take_along_axis(own, at, 0), at, -1).transpose(1, 2, 0))
        doubles_axes = np.stack(np.unravel_index(np.maximum(doubles, 0), cells.shape))
    return Staircase(cells, glb, cell, words, cells.space[c, li], axes, pick, fits, pd,
                     np.take_along_axis(md, pd, 0), dw, doubles, doubles_axes, own_step)


#: the most [*, E, E] comparisons :func:`_own_steps` holds at once
_BLOCK = 1 << 24


def _own_steps(cell: np.ndarray, words: np.ndarray, space: np.ndarray, axes: np.ndarray,
               own_double: np.ndarray) -> np.ndarray:
    """Per schedule of the lists ``cell`` ([L, U, E], −1 past the end; their ``words``, ``space`` and
    ``axes`` [5, L, U, E]; ``own_double``: the double-buffered fewest words of each one's own corner),
    whether it is on its own corner's staircase: fewer words than ``own_double`` and no other schedule
    of the list at or before it on every axis with no more space and no more words (the lists hold every
    schedule that fits once but not double-buffered, so a dominating one is in them). In blocks of
    layers (the comparisons are [E, E] per (layer, GLB size))."""
    n_l, n_u, n_e = cell.shape
    out = (cell >= 0) & (words < own_double)
    step = max(1, _BLOCK // max(n_u * n_e * n_e, 1))
    for lo in range(0, n_l, step):  # (blocks of layers: memory, not a loop per layer)
        sl = slice(lo, lo + step)
        dom = (cell[sl] >= 0)[:, :, None, :] & ~np.eye(n_e, dtype=bool)  # [l, U, S, S2]: S2 dominates S
        dom &= space[sl][:, :, None, :] <= space[sl][:, :, :, None]
        dom &= words[sl][:, :, None, :] <= words[sl][:, :, :, None]
        for a in axes[:, sl]:
            dom &= a[:, :, None, :] <= a[:, :, :, None]
        out[sl] &= ~dom.any(-1)
    return out


def _copies(cells: Cells, cell: np.ndarray, li: np.ndarray, glb: np.ndarray, fits: np.ndarray) -> tuple:
    """For schedules ``cell`` of layers ``li`` (−1: none) on GLB sizes ``glb`` (arrays broadcasting to
    one shape S, e.g. [P, K] and [P, 1]; ``fits`` S): per subset of second copies (:data:`_SUBSETS`,
    [8, *S]) whether it is a maximal set of copies of replaced tiles that fits (``fits`` False: the
    schedule does not fit at all, a stand-in, which takes none), and each operand's DRAM words without a
    copy (the order of the DRAM-level loops among those with the fewest words that leaves the fewest
    words without a copy)."""
    c = np.maximum(cell, 0)
    at = (c, li)
    tile = [t[at] for t in cells.tile]
    rep = [r[at] for r in cells.replaced]
    space = cells.space[at]
    need = np.stack([space + sum(tile[x] for x in range(3) if s >> x & 1) for s in _SUBSETS])
    ok = need <= glb[None]  # [8, P, K]
    sub_of_rep = np.stack([np.logical_and.reduce([rep[x] | (not s >> x & 1) for x in range(3)])
                           for s in _SUBSETS])
    good = ok & sub_of_rep
    maximal = good.copy()
    for s in _SUBSETS:
        for x in range(3):
            if not s >> x & 1:  # a replaced tile not copied whose copy would still fit: not maximal
                maximal[s] &= ~(rep[x] & good[s | 1 << x])
    none = (~fits)[None] & (np.arange(8) == 0).reshape(8, *([1] * np.ndim(fits)))  # a stand-in: no copies
    valid = np.where(fits[None], maximal, none) & (cell >= 0)[None]
    words = [[w[at] for w in cells.per_order[x]] for x in range(3)]  # [operand][order]
    best = cells.words[at]
    # per order: within the tie of the fewest words, and each operand's words where it is replaced
    tied = [words[0][j] + words[1][j] + words[2][j] <= best * (1 + TIE) for j in range(3)]
    rep_words = [np.stack([np.where(rep[x], words[x][j], 0.0) for j in range(3)]) for x in range(3)]
    zero = np.zeros(np.shape(best), dtype=np.result_type(best, 0.0))
    parts = []
    for s in _SUBSETS:
        # the first order within the tie that leaves the fewest words without a copy
        left = [[zero if s >> x & 1 else rep_words[x][j] for x in range(3)] for j in range(3)]
        st = np.stack([np.where(tied[j], left[j][0] + left[j][1] + left[j][2], np.inf) for j in range(3)])
        pick = np.argmin(st, axis=0)[None]
        parts.append([zero if s >> x & 1 else np.take_along_axis(rep_words[x], pick, 0)[0] for x in range(3)])
    return valid, parts


def members(sc: Staircase, at: np.ndarray) -> tuple:
    """The candidates (module docstring) of the corners ``at`` (flat indices into [D, L, U], [P]): how many
    each corner has ([P]) and, every corner's in turn (fewest DRAM words first, [N] each), their DRAM
    words, cell, per operand (weights, inputs, outputs) the words without a copy and the DRAM tiles per
    GLB-level loop group (output pixels, reduction, filters). A candidate with the same words, words
    without a copy and tiles per group as an earlier one of its corner is left out (it costs the same
    under every order, and a tie keeps the earlier)."""
    n_d, n_l, n_u = sc.pick.shape
    corner, rest = np.divmod(at, n_l * n_u)
    li, ui = np.divmod(rest, n_u)
    cells = sc.cells
    glb = sc.glb[ui][:, None]
    fits = sc.fits.reshape(-1)[at]
    wd = sc.double_words.reshape(-1)[at]
    # the staircase: among the corner's schedules that fit once but not double-buffered, by DRAM words,
    # each with less space than every one with fewer words (so fewer words than the double-buffered one)
    # (words inf past the end); only the rows and leading columns that hold one are scanned: most
    # corners' double-buffered schedule has the fewest words, so their staircase is empty
    base = sc.words[li, ui] < wd[:, None] if sc.own_step is None else sc.own_step[li, ui]  # [P, E]
    rows = np.flatnonzero(base.any(1))
    width = int(base.shape[1] - np.argmax(base[rows, ::-1], 1).min(initial=base.shape[1]))
    inside = base[rows, :width]
    sub_li, sub_ui = li[rows], ui[rows]
    for ca, ce in zip(np.unravel_index(corner[rows], cells.shape), sc.axes[:, sub_li, sub_ui, :width],
                      strict=True):
        inside &= ce <= ca[:, None]  # the corner's schedules: at or before it on every axis
    if sc.own_step is None:
        s = np.where(inside, sc.space[sub_li, sub_ui, :width], np.inf)
        run = np.minimum.accumulate(s, axis=1)
        front = inside & (s < np.concatenate([np.full((len(rows), 1), np.inf), run[:, :-1]], axis=1))
    else:  # glb_reuse="tile": the staircase of every corner at or before this one
        front = inside
    n_t = max(int(front.sum(1).max(initial=0)), 1)
    first = np.argsort(~front, axis=1, kind="stable")[:, :n_t]
    tail = np.full((len(at), n_t), -1, dtype=sc.order.dtype)  # [P, T]
    tail[rows, :first.shape[1]] = np.where(np.take_along_axis(front, first, 1),
                                           np.take_along_axis(sc.order[sub_li, sub_ui, :width], first, 1), -1)
    # where nothing fits, the corner's smallest schedule stands in, without copies
    tail[:, 0] = np.where(fits, tail[:, 0], sc.pick.reshape(-1)[at])
    # the copies of each schedule in the tails (by corner, then schedule; the other places hold none)
    s_p, s_t = np.nonzero(tail >= 0)
    s_cell = tail[s_p, s_t]
    valid, parts = _copies(cells, s_cell, li.take(s_p), glb[:, 0].take(s_p), fits.take(s_p))
    # every corner's (schedule, copies) in turn, fewest words first (the staircase is by words), then its
    # double-buffered schedule, which has more
    s_idx, sub = np.nonzero(valid.T)  # by corner, then schedule, then copies
    p_idx, cell = s_p.take(s_idx), s_cell.take(s_idx)
    stalled = [np.stack([pp[x] for pp in parts])[sub, s_idx] for x in range(3)]
    has_d = np.isfinite(wd)
    p_d = np.flatnonzero(has_d)
    d_cell = sc.double.reshape(-1)[at][p_d]
    if sc.doubles is not None:  # every sub-corner's double-buffered schedule too (after the corner's own)
        subs = sc.doubles[li, ui]  # [P, A]
        inside = subs >= 0
        for ca, ce in zip(np.unravel_index(corner, cells.shape), sc.doubles_axes[:, li, ui], strict=True):
            inside &= ce <= ca[:, None]
        inside &= subs != sc.double.reshape(-1)[at][:, None]
        p_x, a_x = np.nonzero(inside)
        p_d, d_cell = np.concatenate([p_d, p_x]), np.concatenate([d_cell, subs[p_x, a_x]])
    key = np.concatenate([p_idx * 2, p_d * 2 + 1])  # a corner's double-buffered schedules last
    by = np.argsort(key, kind="stable")
    cell = np.concatenate([cell, d_cell])[by]
    owner = np.concatenate([p_idx, p_d])[by]
    stalled = tuple(np.concatenate([a, np.zeros(p_d.size, dtype=a.dtype)])[by] for a in stalled)
    words = cells.words[cell, li[owner]]
    counts = tuple(n[cell, li[owner]] for n in cells.counts)
    # two schedules of a corner with the same DRAM words, words without a copy and tiles per group (cells
    # that differ only in how a group's tiles fall on its axes) cost the same under every order: the
    # first, which a tie keeps, stands for both (about a quarter of the candidates under "tile")
    keep = _first_of_equal((owner, words, *stalled, *counts))
    if not keep.all():
        owner, words, cell = owner[keep], words[keep], cell[keep]
        stalled, counts = tuple(a[keep] for a in stalled), tuple(a[keep] for a in counts)
    return np.bincount(owner, minlength=len(at)), words, cell, stalled, counts


def members_of(sc: Staircase, at: np.ndarray) -> tuple:
    """:func:`members` of the corners ``at`` (ascending, distinct), taken from the last call's where they
    are among its corners (the entries solved again after a shared run, :mod:`.schedule`, ask for
    corners their run's first entries asked for)."""
    if sc.last is not None:
        prev, out = sc.last
        pos = np.minimum(np.searchsorted(prev, at), max(prev.size - 1, 0))
        if prev.size and np.array_equal(prev.take(pos), at):
            n_c = out[0]
            start = np.cumsum(n_c) - n_c
            src = (np.repeat(start.take(pos) - (np.cumsum(n_c.take(pos)) - n_c.take(pos)), n_c.take(pos))
                   + np.arange(int(n_c.take(pos).sum())))
            return (n_c.take(pos), out[1].take(src), out[2].take(src), tuple(a.take(src) for a in out[3]),
                    tuple(a.take(src) for a in out[4]))
    out = members(sc, at)
    sc.last = (at, out)
    return out


def _first_of_equal(keys: tuple) -> np.ndarray:
    """Whether each position ([N]) is the first of those whose ``keys`` ([N] arrays) are all equal."""
    n = np.size(keys[0])
    if n < 2:
        return np.ones(n, dtype=bool)
    by = np.lexsort(keys[::-1])  # (stable: equal keys in their order)
    same = np.logical_and.reduce([k.take(by)[1:] == k.take(by)[:-1] for k in keys])
    keep = np.ones(n, dtype=bool)
    keep[by[1:][same]] = False
    return keep


def least_stalled(cells: Cells, glb: np.ndarray) -> np.ndarray:
    """``glb_buffering="mixed"``: per cell, layer and GLB size ``glb`` ([U], words), the fewest DRAM words
    left without a second copy over the sets of copies that fit ([D, L, U]; a cell that does not fit
    takes none, a stand-in): of :func:`_copies`'s maximal sets, the least (a set's subsets stall more)."""
    n_d, n_l = cells.words.shape
    fits = cells.space[:, :, None] <= glb
    valid, parts = _copies(cells, np.arange(n_d)[:, None, None], np.arange(n_l)[None, :, None], glb, fits)
    out = np.full(fits.shape, np.inf, dtype=cells.words.dtype)
    for s in _SUBSETS:
        out = np.minimum(out, np.where(valid[s], parts[s][0] + parts[s][1] + parts[s][2], np.inf))
    return out

