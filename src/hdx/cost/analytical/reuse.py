"""``glb_reuse="tile"``: a PE-local tile is reused across the GLB-level loops only within one DRAM tile
(docs/cost-model.md, "Reuse across DRAM tiles").

The GLB-level loops (:data:`~.mapper.GROUPS`: output pixels ``pq``, reduction ``red``, filters ``k``)
and the DRAM-level loops over the GLB tiles are one loop nest: every DRAM tile runs the GLB-level nest
again, over its share of each group. So where the DRAM schedule cuts a group into ``n`` tiles, an
operand whose PE-local tile stays in the PEs across that group (the innermost run of GLB-level groups
it does not depend on, :func:`~.mapper._skipped`) is filled again in each of them: its fills are the
layer-wide count times ``Π min(n_g, b_g)`` over the groups ``g`` of its run (``b_g``: the group's
GLB-level loop bound). Where the operand depends on no group of more than one iteration outside its
run, its PE-local tile changes only with its GLB tile, and nothing is added. (The default,
``glb_reuse="layer"``, counts the reuse over the whole layer, as if the GLB-level nest were not cut.)

The DRAM schedule is then chosen with the GLB-level order: a schedule with fewer DRAM words may cut the
group the order reuses across. For each group, every *cap* of the group's ladder axes (at most as many
tiles as the cap's ladder rung on each axis; the other axes at the entry's corner) gives the best
schedule of that smaller corner (one lookup in :func:`~.memory.held_grid`'s prefix table) with at most
the cap's tiles of the group: the caps of a group are a front of (DRAM words, tiles of the group), and
the penalty is counted at the cap, so the best member of the front is the best schedule for an order
whose run is that group (each schedule is matched by the cap of its own tile counts), and a bigger GLB,
which only lowers each cap's words, never raises the cost (monotone in the GLB size).

Under ``glb_buffering="zigzag"`` a mapping's candidates are whole schedules with their own DRAM tiles of
every group (:mod:`.staircase`), so :func:`best_order_windows` counts each candidate's penalty at its own
tiles instead of at caps.
"""

from __future__ import annotations

import itertools

import numpy as np

from .mapper import ORDERS, TIE, Least, Windows, _fills, _skipped, fill_per_word, with_dram
from .memory import _corner, _per_part, along_axis

#: the axes of the DRAM ladders' grid (K, C, Y, X, R: :data:`~.memory.HELD_LADDERS`) that cut each
#: GLB-level loop group (pq: output rows and columns; red: channels and kernel-row chunks; k: filters)
GROUP_AXES: tuple[tuple[int, ...], ...] = ((2, 3), (1, 4), (0,))


def _counts_along(part, j: int) -> np.ndarray:
    """Per rung of axis ``j`` of a part's grid and per layer of the part, the DRAM tiles of that loop
    ([n_j, L]; the output rows' count includes every image's bands)."""
    return along_axis(np.asarray(part.grid.n[j], dtype=np.float64), part.grid.shape, j, part.pick.shape[-2])


class _Part:
    """What :class:`_FrontTable` reads of one part of a :class:`~.memory.HeldGrid`: its grid's shape and
    strides, its prefix table flattened (schedule index, DRAM words, fits; [D · L · U]), each axis' DRAM
    tiles per rung and layer, its first schedule index across the parts (``offset``) and its first cell
    in the table (``base``)."""

    def __init__(self, part, offset: int, base: int):
        self.shape = part.grid.shape
        self.n_cells = int(np.prod(self.shape))
        self.n_l, self.n_u = part.pick.shape[-2:]
        self.n_lu = self.n_l * self.n_u
        self.strides = np.cumprod((1,) + self.shape[:0:-1])[::-1]
        self.flat = (part.pick.reshape(-1), part.words.reshape(-1), part.fits.reshape(-1))
        self.counts = [_counts_along(part, j) for j in range(len(self.shape))]  # per axis [n_j, L]
        self.caps = [np.array(list(itertools.product(*(range(self.shape[a]) for a in axes))), dtype=np.intp)
                     for axes in GROUP_AXES]  # per group [K, A]
        # per group, each cap's tiles of the group per layer and the caps in order of them ([K, L] each)
        self.tiles, self.by = [], []
        for axes, caps in zip(GROUP_AXES, self.caps, strict=True):
            tiles = np.ones((len(caps), self.n_l))
            for a_i, a in enumerate(axes):
                tiles = tiles * self.counts[a][caps[:, a_i]]
            self.tiles.append(tiles)
            self.by.append(np.argsort(tiles, axis=0, kind="stable"))
        self.offset, self.base = int(offset), int(base)

    @property
    def size(self) -> int:
        return self.n_cells * self.n_lu


class _FrontTable:
    """The fronts of the cells of a :class:`~.memory.HeldGrid` (every part's [D, L, U] flattened, one
    after another: N cells), each built on first use and kept in a column of its own (``slot``: each
    cell's column, -1 until built; only the cells reached take memory): per group, (DRAM words, schedule
    index across the parts, fits, tiles of the group) of each member ([K, S] each for S columns, the
    members first by tiles; inf / -1 / False / 1 past a cell's front, ``count`` members per column), and
    the groups' tiles at each column's cell (``here``, [3, S]). A member is a cap of the group's ladder
    axes at or below the cell's rungs (the other axes at the cell's): the best schedule of that smaller
    corner (the part's prefix table), kept where it has fewer DRAM words than every cap with no more tiles
    of the group, among the caps whose schedules fit the GLB (where none does, the cell's own stand-in
    alone)."""

    def __init__(self, h):
        self.parts, base = [], 0
        for part, offset in zip(h.parts, h.offset, strict=True):
            self.parts.append(_Part(part, offset, base))
            base += self.parts[-1].size
        self.dtype = h.parts[0].words.dtype
        self.slot = np.full(base, -1, dtype=np.intp)
        self.used = 0  # columns taken
        self.store = [self._rows(4, 0) for _ in GROUP_AXES]  # (grown where a front is longer)
        self.count = np.zeros((len(GROUP_AXES), 0), dtype=np.intp)
        self.here = np.ones((len(GROUP_AXES), 0))

    def _rows(self, k: int, n: int) -> tuple:
        """``k`` empty member rows of ``n`` columns (inf, -1, False, 1)."""
        return (np.full((k, n), np.inf, dtype=self.dtype), np.full((k, n), -1, dtype=np.intp),
                np.zeros((k, n), dtype=bool), np.ones((k, n)))

    def _columns(self, n: int) -> None:
        """Room for ``n`` more columns (grown at least twofold: a growth copies what is kept)."""
        have = self.count.shape[1]
        if self.used + n <= have:
            return
        more = max(self.used + n, 2 * have) - have
        self.store = [tuple(np.concatenate([a, b], axis=1)
                            for a, b in zip(st, self._rows(st[0].shape[0], more), strict=True))
                      for st in self.store]
        self.count = np.concatenate([self.count, np.zeros((len(GROUP_AXES), more), dtype=np.intp)], axis=1)
        self.here = np.concatenate([self.here, np.ones((len(GROUP_AXES), more))], axis=1)

    def take(self, at: np.ndarray) -> tuple:
        """The fronts of the cells ``at`` ([M]): per group, four [K, M] arrays, and their ``here``."""
        need = at[self.slot.take(at) < 0]
        if need.size:
            mark = np.zeros(self.slot.size, dtype=bool)  # each cell once, in order
            mark[need] = True
            need = np.flatnonzero(mark)
            self._columns(need.size)
            self.slot[need] = self.used + np.arange(need.size)
            self.used += need.size
            for p in self.parts:
                sel = need[(need >= p.base) & (need < p.base + p.size)]
                if sel.size:
                    self._build(p, sel, self.slot.take(sel))
        cols = self.slot.take(at)
        fronts = []
        for g, st in enumerate(self.store):
            k = max(int(self.count[g].take(cols).max(initial=0)), 1)
            # (the schedule indices only of the members kept, :meth:`picks`)
            fronts.append(tuple(None if j == 1 else v[:k].take(cols, axis=1) for j, v in enumerate(st)))
        return tuple(fronts), self.here.take(cols, axis=1)

    def picks(self, g: int, member: np.ndarray, at: np.ndarray) -> np.ndarray:
        """The schedule index (across the parts) of member ``member`` of group ``g``'s front of each cell
        ``at`` ([M] each)."""
        pick = self.store[g][1]
        return pick.reshape(-1).take(member * pick.shape[1] + self.slot.take(at))

    def _build(self, p: _Part, idx: np.ndarray, cols: np.ndarray) -> None:
        """Build the fronts of cells ``idx`` of part ``p`` into columns ``cols``."""
        cell, lu = np.divmod(idx - p.base, p.n_lu)
        layer = lu // p.n_u
        rung = np.unravel_index(cell, p.shape)
        pick_all, words_all, fits_all = p.flat
        for g, (axes, caps) in enumerate(zip(GROUP_AXES, p.caps, strict=True)):
            here = np.ones(idx.size)  # the group's tiles at the cell
            for a in axes:
                here = here * p.counts[a][rung[a], layer]
            self.here[g, cols] = here
            valid = np.ones((len(caps), idx.size), dtype=bool)
            capped = np.broadcast_to(cell, valid.shape).copy()
            tiles, by = p.tiles[g].take(layer, axis=1), p.by[g].take(layer, axis=1)
            for a_i, a in enumerate(axes):
                c = caps[:, a_i][:, None]
                valid &= c <= rung[a][None]
                capped -= (rung[a][None] - c) * int(p.strides[a])
            own = valid & (capped == cell[None])  # the cell's own corner (no cap below it)
            at = np.where(valid, capped * p.n_lu + lu, 0)
            words, fits = words_all.take(at), fits_all.take(at) & valid
            # where no cap's schedule fits, the cell's own stand-in alone (the smallest schedule of its
            # corner, as without the fronts: a number for a mapping that cannot run, monotone in the GLB)
            valid = fits | (~fits.any(0)[None] & own)
            key = np.take_along_axis(np.where(valid, words, np.inf), by, 0)
            prev = np.minimum.accumulate(key, axis=0)
            front = key < np.concatenate([np.full((1, idx.size), np.inf, dtype=key.dtype), prev[:-1]])
            slot = np.cumsum(front, axis=0) - 1
            longest = int(slot[-1].max(initial=0)) + 1
            have = self.store[g][0].shape[0]
            if longest > have:
                more = self._rows(longest - have, self.store[g][0].shape[1])
                self.store[g] = tuple(np.concatenate([a, b])
                                      for a, b in zip(self.store[g], more, strict=True))
            kk, ss = np.nonzero(front)
            cap = by[kk, ss]
            w, pk, f, t = self.store[g]
            dest = (slot[kk, ss], cols[ss])
            w[dest], f[dest], t[dest] = words[cap, ss], fits[cap, ss], tiles[cap, ss]
            pk[dest] = pick_all.take(at[cap, ss]) + p.offset
            self.count[g, cols] = front.sum(0)


def held_fronts(h, cover: tuple, li: np.ndarray, gi: np.ndarray) -> tuple:
    """The fronts (:class:`_FrontTable`, built on the grid ``h`` once) of the entries of layers ``li`` on
    GLB sizes ``gi`` ([M] each; ``cover`` as in :func:`~.memory.held_lookup`): per group, four [K, M]
    arrays (the schedule indices None: :meth:`_FrontTable.picks` gives those of the members kept), the
    groups' tiles at the entries' corners ([3, M]), each entry's corner id (:func:`~.memory.held_corner`'s,
    [M]) and its cell of the table ([M])."""
    if h.fronts is None:
        h.fronts = _FrontTable(h)
    at, corner = np.empty(np.size(li), dtype=np.intp), np.empty(np.size(li), dtype=np.intp)
    for p, sel, lp in _per_part(h, li):
        part, meta = h.parts[p], h.fronts.parts[p]
        sub = cover if sel is None else tuple(f if np.ndim(f) == 0 else np.asarray(f)[sel] for f in cover)
        c = _corner(part, sub, lp)
        cells = (c * meta.n_l + lp) * meta.n_u + (gi if sel is None else gi[sel])
        at[slice(None) if sel is None else sel] = cells + meta.base
        corner[slice(None) if sel is None else sel] = c + h.offset[p]
    return (*h.fronts.take(at), corner, at)


class Fronts:
    """Each entry's candidate DRAM schedules per GLB-level loop group (:func:`held_fronts`): DRAM words,
    schedule index, fits, the group's DRAM tiles ([K_g, M] each, per group), the groups' tiles at the
    entry's corner ([3, M]), DRAM cycles per word ``cyc`` and the energy of a DRAM word in GLB words
    ``weight`` ([M]: a DRAM access and a GLB write against a GLB access). :func:`best_order_tile` keeps, per
    entry, the group and the member of its kept order (``kept``)."""

    __slots__ = ("fronts", "here", "cyc", "weight", "kept", "table", "cells", "tied")

    def __init__(self, fronts: tuple, here: np.ndarray, cyc: float, weight, table: _FrontTable,
                 cells: np.ndarray):
        self.fronts, self.here, self.cyc, self.weight = fronts, here, cyc, weight
        self.table, self.cells = table, cells  # where the schedule indices are (_FrontTable.picks)
        self.kept: tuple[np.ndarray, np.ndarray] | None = None
        #: per entry, whether its choice may depend on the energy (:func:`best_order_tile`'s ``ties``)
        self.tied: np.ndarray | None = None

    def settle(self, dram: tuple) -> tuple:
        """The entries' ``dram`` record (:func:`~.schedule._dram_floor`) with the kept member's DRAM words,
        schedule index and fit."""
        assert self.kept is not None
        group, member = self.kept
        words, fits = (np.empty(group.shape, dtype=a.dtype) for a in (self.fronts[0][0], self.fronts[0][2]))
        pick = np.empty(group.shape, dtype=np.intp)
        for g, fr in enumerate(self.fronts):
            sel = np.flatnonzero(group == g)
            if sel.size:
                kept = member.take(sel)
                at = kept * group.size + sel
                words[sel], fits[sel] = fr[0].reshape(-1).take(at), fr[2].reshape(-1).take(at)
                pick[sel] = self.table.picks(g, kept, self.cells.take(sel))
        return (words, pick, fits, *dram[3:])


def _penalty(skipped: list, rel: tuple, bounds: tuple, tiles: list, more: list | None = None):
    """How many times more often an operand is filled than the layer-wide count (:func:`~.mapper._fills`)
    when the DRAM schedule cuts the groups into ``tiles`` (per group, [K, M] or [M]): the product of
    ``min(tiles, bound)`` over the groups of its innermost run (``skipped``), or 1 where every group
    outside the run has one iteration (``more``: ``bounds[g] > 1`` per group, if already at hand)."""
    more = [b > 1 for b in bounds] if more is None else more
    pen, run = 1.0, True
    inside = [False, False, False]
    for g in skipped:
        if isinstance(g, tuple):  # ("a", group): relevance per entry
            run = np.logical_and(run, ~rel[g[1]])
            pen = pen * np.where(run, np.minimum(tiles[g[1]], bounds[g[1]]), 1.0)
            inside[g[1]] = run
        else:
            f = np.minimum(tiles[g], bounds[g])
            pen = pen * f if run is True else pen * np.where(run, f, 1.0)
            inside[g] = run
    outside_more = False
    for g in range(3):
        if inside[g] is True:
            continue
        outside_more = outside_more | (more[g] if inside[g] is False else more[g] & ~inside[g])
    return np.where(outside_more, pen, 1.0)


def _keep(best: dict | None, opt: dict) -> dict:
    """The per-entry options kept so far (``best``, a dict of [M] arrays with the keys ``k1`` and ``k2``)
    with ``opt``'s where it is strictly better: its first key lower by more than :data:`~.mapper.TIE`, or
    within it its second key lower by more (ties keep the earlier option)."""
    if best is None:
        return opt
    b = np.where(np.abs(opt["k1"] - best["k1"]) <= TIE * np.abs(best["k1"]),
                 opt["k2"] < best["k2"] * (1 - TIE), opt["k1"] < best["k1"])
    return {name: np.where(b, v, best[name]) for name, v in opt.items()} if b.any() else best


def best_order_tile(cfg, bw, fr: Fronts, ops: dict, bounds: tuple, o_tot, compute, fixed_port=0.0,
                    serial: tuple[str, ...] = (), fill_e: dict | None = None, ties: bool = False):
    """:func:`~.mapper.best_order` under ``glb_reuse="tile"``: for each GLB-level order, each operand's
    fills are the layer-wide count times its :func:`_penalty` at each member of the front of the order's
    innermost group (the other groups at the entry's corner), the member of least latency (ties: least
    energy) is the order's schedule, and the order kept is the best as in :func:`~.mapper.best_order`
    with the same energy in the second key. The energy, in GLB accesses: the GLB words, the DRAM words
    weighted by ``fr.weight`` and each operand's fills by ``fill_e[x]`` (a fill's PE-local energy: a
    schedule with fewer DRAM words may cut the loop an operand is reused across, and its refills are
    written into the PEs again; without them, a bigger GLB could trade the PEs' energy for DRAM words at
    equal latency and raise the mapping's energy). Returns what ``best_order`` does; the kept (group,
    member) of each entry is left in ``fr.kept``. ``ties``: also ``fr.tied``, whether an entry's choice
    may depend on its energy, so on ``fill_e`` (conservatively: another legal (order, member) within
    twice :data:`~.mapper.TIE` of the chosen latency, or the energy first); where not, every ``fill_e``
    gives the same choice."""
    total = bounds[0] * bounds[1] * bounds[2]
    more = [b > 1 for b in bounds]
    per_word = {x: fill_per_word(fp, dist, bw, cfg.port) for x, (fp, dist, _) in ops.items()}
    energy_first = cfg.objective == "energy"
    least = Least(np.inf, {x: np.inf for x in ops}, {x: np.inf for x in ops}) if cfg.bounds else None
    base: dict[str, dict] = {x: {} for x in ops}
    seen: set = set()
    best = None
    firsts = []  # each order's first keys (ties)
    for n, order in enumerate(ORDERS):
        skips = {x: tuple(_skipped(rel, order)) for x, (_, _, rel) in ops.items()}
        g1 = order[0]
        key = (g1, tuple(skips.items()))
        if key in seen:
            continue
        seen.add(key)
        d_words, _, d_fits, d_tiles = fr.fronts[g1]
        tiles = [(d_tiles if g == g1 else fr.here[g][None]).astype(compute.dtype, copy=False)
                 for g in range(3)]
        fills, words, port = {}, {}, fixed_port
        for x, (fp, dist, rel) in ops.items():
            if skips[x] not in base[x]:
                base[x][skips[x]] = _fills(x, fp, dist, per_word[x], skips[x], rel, bounds, total, o_tot)[0]
            f = base[x][skips[x]] * _penalty(list(skips[x]), rel, bounds, tiles, more)
            w = f * dist
            if x == "o":  # psum writes, and read-backs of all but the first
                w = w + np.maximum(w - o_tot, 0.0)
            fills[x], words[x] = f, w
            port = port + w * per_word[x]
        stall = sum(fills[x] for x in serial) if serial else 0.0
        busy = compute + stall if serial else compute
        cyc = with_dram(np.maximum(busy, port), d_words * fr.cyc, cfg.dram_overlap)
        glb = sum(words.values())
        energy = glb + fr.weight * d_words
        if fill_e is not None:
            energy = energy + sum(fills[x] * fill_e[x] for x in ops)
        # a member whose GLB tiles do not fit only where none of the entry's does (then the stand-in)
        legal = d_fits | ~d_fits.any(0)[None]
        a1, a2 = (energy, cyc) if energy_first else (cyc, energy)
        a1 = np.where(legal, a1, np.inf)
        if ties:
            firsts.append(a1)
        if a1.shape[0] == 1:  # one member per entry
            k = np.zeros(a1.shape[1], dtype=np.intp)
        else:
            m1 = a1.min(0)
            k = np.argmin(np.where(a1 <= m1 * (1 + TIE), a2, np.inf), axis=0)
        shp = np.broadcast_shapes(np.shape(cyc), np.shape(energy))
        flat_k = k * shp[1] + np.arange(shp[1])

        def at(v, flat_k=flat_k, shp=shp):  # each entry's kept member of v ([K, M], or [M] alike for all)
            v = np.asarray(v)
            if v.ndim < 2 or v.shape[0] == 1:
                return np.broadcast_to(v, shp[1:]) if v.ndim < 2 else v[0]
            return v.reshape(-1).take(flat_k)
        opt = dict(k1=at(a1), k2=at(a2), cyc=at(cyc), port=at(port), stall=at(stall) if serial else 0.0,
                   order=np.full(k.shape, float(n)), group=np.full(k.shape, g1), member=k,
                   **{f"f_{x}": at(v) for x, v in fills.items()},
                   **{f"w_{x}": at(v) for x, v in words.items()})
        best = _keep(best, opt)
        if least is not None:
            real = np.isfinite(d_words)  # the front's members (past them: padding)
            least.cycles = np.minimum(least.cycles, np.where(legal, cyc, np.inf).min(0))
            for x in ops:
                least.fills[x] = np.minimum(least.fills[x], np.where(real, fills[x], np.inf).min(0))
                least.words[x] = np.minimum(least.words[x], np.where(real, words[x], np.inf).min(0))
    assert best is not None
    fr.kept = (best["group"].astype(np.intp), best["member"].astype(np.intp))
    if ties:
        if energy_first:
            fr.tied = np.ones(best["k1"].shape, dtype=bool)
        else:  # where the chosen option is the only one within 2 TIE of its latency, every other is more
            # than TIE from it in each comparison (within an order and across orders), so it wins on the
            # latency alone, whatever the energies
            near = best["k1"] * (1 + 2 * TIE)
            fr.tied = sum((a <= near).sum(0) for a in firsts) > 1
    words = {x: best[f"w_{x}"] for x in ops}
    fills = {x: best[f"f_{x}"] for x in ops}
    return words, fills, best["order"], best["port"], least, best["cyc"], best["stall"] if serial else 0.0


def best_order_windows(cfg, bw, win: Windows, ops: dict, bounds: tuple, o_tot, compute, fixed_port=0.0,
                       serial: tuple[str, ...] = (), fill_e: dict | None = None, ties: bool = False):
    """:func:`best_order_tile` under ``glb_buffering="zigzag"`` (:class:`~.mapper.Windows`): an entry's
    candidates are whole schedules (its corner's staircase and double-buffered one, :mod:`.staircase`),
    each with its own DRAM tiles of every group, so an operand's fills are the layer-wide count times its
    :func:`_penalty` at the candidate's tiles. For each GLB-level order, each candidate's array side
    ``max(compute + psum stall, GLB port)`` counts its own refills and DRAM words (the GLB's one port,
    :meth:`~.mapper.Windows.port`), its latency is ``max(array + stalled,
    DRAM)`` (:meth:`~.mapper.Windows.stall`, whose windows shorten with the array side), and the candidate
    of least latency (ties: least energy, as :func:`best_order_tile` weighs it) is the order's schedule;
    the order kept is the best as there. Returns what :func:`~.mapper.best_order` does and leaves the
    kept candidate and its stalled cycles in ``win.kept_k`` and ``win.kept`` (``ties``: ``win.tied``, as
    :func:`best_order_tile`'s ``fr.tied``)."""
    n, first, at = win.seg.size, win.first, win._at
    dt = np.result_type(compute, win.total)
    total = bounds[0] * bounds[1] * bounds[2]
    per_word = {x: fill_per_word(fp, dist, bw, cfg.port) for x, (fp, dist, _) in ops.items()}
    energy_first = cfg.objective == "energy"
    least = Least(np.inf, {x: np.inf for x in ops}, {x: np.inf for x in ops}) if cfg.bounds else None
    # each candidate's own tiles of every group, and the entry's loop bounds and relevance at it
    tiles = [np.asarray(c, dtype=dt) for c in win.counts]
    b_c = tuple(at(b) for b in bounds)
    more = [b > 1 for b in b_c]
    rel_c = {x: tuple(at(r) if np.ndim(r) else r for r in rel) for x, (_, _, rel) in ops.items()}
    d_words = win.total / win.cyc
    weight = at(win.weight) * d_words
    m = len(first)

    def per_entry(v):  # each entry's least of v ([N] -> [M])
        return np.minimum.reduceat(v, first) if m else np.zeros(0, dtype=dt)
    # an operand's fills, GLB words, port cycles and fill energy at each candidate depend on the order
    # only through the groups it skips: each distinct skip list computed once
    variants: dict[tuple, tuple] = {}
    # each operand's distinct copies, port cycles per word and fill energy at the candidates (taken once)
    per_c = {x: (at(dist), at(per_word[x]), None if fill_e is None else at(fill_e[x]))
             for x, (_, dist, _) in ops.items()}
    o_tot_c = at(o_tot) if "o" in ops else None

    def variant(x: str, skipped: tuple) -> tuple:
        if (x, skipped) not in variants:
            fp, dist, rel = ops[x]
            dist_c, word_c, fill_c = per_c[x]
            f0 = at(_fills(x, fp, dist, per_word[x], skipped, rel, bounds, total, o_tot)[0])
            f = np.broadcast_to(f0 * _penalty(list(skipped), rel_c[x], b_c, tiles, more), (n,))
            w = f * dist_c
            if x == "o":  # psum writes, and read-backs of all but the first
                w = w + np.maximum(w - o_tot_c, 0.0)
            variants[(x, skipped)] = (f, w, w * word_c, None if fill_c is None else f * fill_c)
        return variants[(x, skipped)]
    comp_c, port0 = at(compute), at(fixed_port)
    dport = win.port(bw)
    idx = np.arange(n)
    stalls = win.stall_any()
    best = None
    # per class of orders (the same groups skipped by every operand, so the same fills, words, port and
    # energy at each candidate; only the stall differs): those, and the least first key of its orders
    # per candidate (ties)
    classes: dict[tuple, list] = {}
    for n_o, order in enumerate(ORDERS):  # (the stall depends on the outermost loops: every order its own)
        skips = {x: tuple(_skipped(rel, order)) for x, (_, _, rel) in ops.items()}
        key = tuple(skips.items())
        if key in classes and not stalls:  # the same costs as an earlier order: a tie keeps that one
            continue
        if key not in classes:
            v = {x: variant(x, skips[x]) for x in ops}
            fills, words = {x: v[x][0] for x in ops}, {x: v[x][1] for x in ops}
            # (the GLB's one port also carries each candidate's DRAM words, Windows.port)
            port = np.broadcast_to(port0 + sum(v[x][2] for x in ops) + dport, (n,))
            stall = sum(fills[x] for x in serial) if serial else np.zeros(n, dtype=dt)
            array = np.maximum(comp_c + stall, port)
            energy = sum(words.values()) + weight
            if fill_e is not None:
                energy = energy + sum(v[x][3] for x in ops)
            classes[key] = [(fills, words, port, stall, array, energy), None]
        (fills, words, port, stall, array, energy), low = classes[key]
        dstall = win.stall(array, order, bounds)
        lat = np.maximum(array + dstall, win.total)
        a1, a2 = (energy, lat) if energy_first else (lat, energy)
        if ties:
            classes[key][1] = a1 if low is None else np.minimum(low, a1)
        # each entry's candidate: the least a1, of those within TIE the least a2, of equal ones the first
        near = np.where(a1 <= (per_entry(a1) * (1 + TIE)).take(win.seg), a2, np.inf)
        k = (np.minimum.reduceat(np.where(near <= per_entry(near).take(win.seg), idx, n), first)
             if m else np.zeros(0, dtype=np.intp))
        opt = dict(k1=a1.take(k), k2=a2.take(k), cyc=lat.take(k), port=port.take(k), stall=stall.take(k),
                   dstall=np.broadcast_to(dstall, (n,)).take(k), order=np.full(k.shape, float(n_o)), cand=k,
                   **{f"f_{x}": v.take(k) for x, v in fills.items()},
                   **{f"w_{x}": v.take(k) for x, v in words.items()})
        best = _keep(best, opt)
        if least is not None:
            least.cycles = np.minimum(least.cycles, per_entry(lat))
            for x in ops:
                least.fills[x] = np.minimum(least.fills[x], per_entry(fills[x]))
                least.words[x] = np.minimum(least.words[x], per_entry(words[x]))
    assert best is not None
    win.kept, win.kept_k = best["dstall"], best["cand"].astype(np.intp)
    if ties:
        if energy_first:
            win.tied = np.ones(m, dtype=bool)
        else:  # as best_order_tile: another option within 2 TIE of the chosen latency whose energy may
            # differ from the chosen one's: a candidate of another class of orders, or another candidate
            # (the orders of one class have the same energy at a candidate, whatever the fills' energy)
            near = (best["k1"] * (1 + 2 * TIE)).take(win.seg)
            count = sum(np.add.reduceat((low <= near).astype(np.intp), first) if m else np.zeros(0, np.intp)
                        for _, low in classes.values())
            win.tied = count > 1
    words = {x: best[f"w_{x}"] for x in ops}
    fills = {x: best[f"f_{x}"] for x in ops}
    return words, fills, best["order"], best["port"], least, best["cyc"], best["stall"] if serial else 0.0
