"""Each mapping candidate's DRAM schedule and GLB-level loop order (docs/cost-model.md, "Mapper" and
"GLB ↔ DRAM: the memory level"): the dataflows (:mod:`.dataflows`) give their entries' PE-local tiles,
what the array works on at once (the ``cover``) and their traffic per operand; :func:`schedule` looks up
or searches each entry's DRAM schedule for the GLB buffering and reuse in force (:func:`_dram_floor`),
takes its best GLB-level order (:func:`best_order`) and the schedule that order keeps (:func:`_settle`),
once per run of entries with the same inputs where that pays (:mod:`.distinct`)."""

from __future__ import annotations

import numpy as np

from .dims import ArrayDims
from .distinct import distinct, put, spread
from .mapper import TIE, Flat, Least, MapperSettings, Windows, with_dram
from .mapper import best_order as _best_order_layer
from .memory import EntryDram
from .reuse import Fronts, best_order_tile, best_order_windows, held_fronts


def best_order(cfg: MapperSettings, bw, floor, ops: dict, bounds: tuple, o_tot, compute, fixed_port=0.0,
               serial: tuple[str, ...] = (), fill_e=None, ties: bool = False):
    """The GLB-level order of each entry: :func:`~.mapper.best_order`, or with the DRAM schedules of
    ``glb_reuse="tile"`` (a :class:`~.reuse.Fronts` floor) :func:`~.reuse.best_order_tile`, which also
    weighs each operand's PE-local fills (``fill_e()``: per operand, a fill's PE-local energy in GLB
    accesses)."""
    if isinstance(floor, Fronts):
        return best_order_tile(cfg, bw, floor, ops, bounds, o_tot, compute, fixed_port, serial,
                               None if fill_e is None else fill_e(), ties)
    if isinstance(floor, Windows) and floor.weight is not None:  # tile under zigzag: the same per candidate
        return best_order_windows(cfg, bw, floor, ops, bounds, o_tot, compute, fixed_port, serial,
                                  None if fill_e is None else fill_e(), ties)
    return _best_order_layer(cfg, bw, floor, ops, bounds, o_tot, compute, fixed_port, serial)


def _dram_floor(floor, fl: Flat, cover):
    """Each entry's DRAM bound (cycles, [M]; ``glb_buffering="zigzag"``: a :class:`~.mapper.Windows`;
    ``"mixed"``: the pair (cycles the array overlaps, cycles it stalls) of [K, M] arrays, each entry's
    front of schedules, :func:`~.mapper.with_dram`) and, per entry, (DRAM words, schedule
    index, fits the GLB, its cover has the working set's corner, stalled words or None) or None: the
    layer's bound ``floor`` ([L, A]) or, for an
    :class:`~.memory.EntryDram`, the best schedule whose GLB tiles hold the entry's ``cover()``
    (filters, reduction channels, output rows, output columns, kernel rows; [M] arrays or floats,
    ``inf``: the whole loop; a callable, called only here)."""
    if isinstance(floor, EntryDram):
        if floor.dram_weight is not None and not floor.windowed:  # glb_reuse="tile": the schedule is chosen
            # with the order (reuse);
            # its words, index and fit come from the member kept (Fronts.settle)
            li, ai = np.divmod(fl.pair, floor.n_acc)
            fronts, here, corner, cells = held_fronts(floor.grid, cover(), li, floor.glb_of[ai])
            fr = Fronts(fronts, here, floor.cyc, floor.dram_weight.take(ai), floor.grid.fronts, cells)
            return fr, (None, None, None, corner == floor.base_corner.take(fl.pair), None)
        words, pick, fits, least, stall, windows = floor.lookup(fl.pair, cover())
        if windows is not None:  # zigzag: each entry's candidates ([K, M]), with the stall of each per
            # GLB-level order (best_order); the one kept (_settle) gives the words and the schedule
            c = floor.cyc
            # every entry's candidates in turn ([N]: its entry, then fewest words first)
            entry, p_w, p_i, p_o, n_pq, n_red, n_k, cand, cand_words, dw = windows
            win = Windows(cand_words * c, (p_w * c, p_i * c, p_o * c), (n_pq, n_red, n_k), dw.take(entry), c,
                          entry)
            if floor.dram_weight is not None:  # glb_reuse="tile": the refills counted per candidate (reuse)
                win.weight = floor.dram_weight.take(fl.pair % floor.n_acc)
            assert win.first.size == len(fl), "every entry has a candidate (staircase.members)"
            return win, (cand_words, cand, fits, least, None)
        if stall is None:
            return words * floor.cyc, (words, pick, fits, least, None)
        # glb_buffering "mixed" (a front of schedules per entry, [K, M]): the words that stall add to the
        # array side, the others overlap it
        over = words - stall if np.ndim(words) < 2 else np.where(np.isfinite(words), words - stall, np.inf)
        return (over * floor.cyc, stall * floor.cyc), (words, pick, fits, least, stall)
    return fl(floor), None


def schedule(cfg: MapperSettings, ad: ArrayDims, fl: Flat, floor, cover, bw, ops: dict, bounds: tuple, o_tot,
              comp, fixed=0.0, serial: tuple[str, ...] = (), fill_e=None) -> tuple:
    """Each entry's DRAM schedule and best GLB-level order: :func:`_dram_floor`, :func:`best_order` and
    :func:`_settle`, solved once for each group of entries whose inputs are the same bits — the same
    layer on designs of one kind (``ad.kin``), the same cover (``cover()``) and the same ``ops``,
    ``bounds``, compute and port cycles (:mod:`.distinct`) — and spread back to every entry. Returns
    ``best_order``'s seven results and the settled ``dram`` record. (Only where ``cfg.share``: elsewhere
    every entry is solved.) ``fill_e``: a callable giving, per operand of ``ops``, the PE-local energy
    of one fill of its tile in GLB accesses ([M] or scalars; called only under ``glb_reuse="tile"``,
    whose choice of DRAM schedule trades DRAM words against PE-local refills, :func:`best_order`)."""
    tile = isinstance(floor, EntryDram) and floor.dram_weight is not None
    fe = fill_e() if tile and fill_e is not None else None
    if not cfg.share:
        return _solve(cfg, fl, floor, cover, bw, ops, bounds, o_tot, comp, fixed, serial, fe)
    cov = cover()
    n_a = fl.shape[2]
    ident = fl.pair if ad.kin is None else (fl.pair // n_a) * (int(ad.kin.max(initial=0)) + 1) + ad.kin.take(
        fl.pair % n_a)
    cols = [ident, *cov, bw, o_tot, comp, fixed, *bounds]
    for fp, dist, rel in ops.values():
        cols += [fp, dist, *rel]
    if not isinstance(floor, EntryDram):
        cols.append(fl(floor))
    shared = distinct(cols, len(fl))
    if shared is None:
        return _solve(cfg, fl, floor, lambda: cov, bw, ops, bounds, o_tot, comp, fixed, serial, fe)
    first, inv = shared
    out = _solve(cfg, fl.subset(first), floor, *_at(first, cov, bw, ops, bounds, o_tot, comp, fixed), serial,
                 _at_fe(fe, first), ties=fe is not None)
    tied = None
    if fe is not None:  # tile: a run's first entry's fills' energy stands for the run's
        out, tied = out
    res = _spread(out, inv, first.size)
    if tied is not None:
        # where a run's choice may depend on the energy, its other entries (their own PE-local storage,
        # so their own fills' energy) are solved on their own
        redo = tied.take(inv)
        redo[first] = False
        redo = np.flatnonzero(redo)
        if redo.size:
            part = _solve(cfg, fl.subset(redo), floor, *_at(redo, cov, bw, ops, bounds, o_tot, comp, fixed),
                          serial, _at_fe(fe, redo))
            _put(res, redo, part)
    return res


def _take(v, idx):
    """``v`` at entries ``idx`` (an [M] array; a scalar is the same for every entry)."""
    return v.take(idx) if np.ndim(v) == 1 else v


def _at(idx, cov, bw, ops, bounds, o_tot, comp, fixed) -> tuple:
    """The inputs of :func:`_solve` (after ``floor``, before ``serial``) at entries ``idx``."""
    ops = {x: (_take(fp, idx), _take(dist, idx), tuple(_take(r, idx) for r in rel))
           for x, (fp, dist, rel) in ops.items()}
    cov = tuple(_take(v, idx) for v in cov)
    return (lambda: cov, _take(bw, idx), ops, tuple(_take(b, idx) for b in bounds), _take(o_tot, idx),
            _take(comp, idx), _take(fixed, idx))


def _at_fe(fe: dict | None, idx) -> dict | None:
    """The fills' energy (:func:`schedule`'s ``fill_e``, evaluated) at entries ``idx``."""
    return None if fe is None else {x: _take(v, idx) for x, v in fe.items()}


def _spread(out: tuple, inv, n: int) -> tuple:
    """:func:`_solve`'s results of ``n`` distinct entries at every entry (``inv``, :func:`.distinct`)."""
    words, f, order, port, least, cyc, stall, dram = (spread(out[:4], inv, n) + (out[4],)
                                                      + spread(out[5:], inv, n))
    if least is not None:
        least = Least(*spread((least.cycles, least.fills, least.words), inv, n))
    return words, f, order, port, least, cyc, stall, dram


def _put(res: tuple, idx: np.ndarray, part: tuple) -> None:
    """Write :func:`_solve`'s results ``part`` of entries ``idx`` into ``res`` (every entry's, in place;
    :func:`_spread`'s counterpart)."""
    put(res[:4] + res[5:], idx, part[:4] + part[5:])
    if res[4] is not None:
        put((res[4].cycles, res[4].fills, res[4].words), idx, (part[4].cycles, part[4].fills, part[4].words))


def _solve(cfg: MapperSettings, fl: Flat, floor, cover, bw, ops: dict, bounds: tuple, o_tot, comp, fixed,
           serial: tuple[str, ...], fill_e: dict | None = None, ties: bool = False):
    """:func:`schedule` on every entry of ``fl`` (``fill_e``: the fills' energy, evaluated); ``ties``
    (``glb_reuse="tile"``): (the results, whether each entry's choice may depend on ``fill_e``)."""
    floor, dram = _dram_floor(floor, fl, cover)
    words, f, order, port, least, cyc, stall = best_order(cfg, bw, floor, ops, bounds, o_tot, comp, fixed,
                                                          serial, None if fill_e is None else lambda: fill_e,
                                                          ties)
    out = words, f, order, port, least, cyc, stall, _settle(dram, floor, comp + stall, port)
    return (out, floor.tied) if ties else out


def _settle(dram, floor, busy, port):
    """``glb_buffering="mixed"``: of each entry's front of schedules ([K, M] in ``dram`` and ``floor``,
    :func:`_dram_floor`), the one :func:`~.mapper.best_order` took for the entry's kept GLB-level
    order, whose array side is ``max(busy, port)``: the least latency
    ``max(array, overlapped) + stalled``, of equal ones the fewest DRAM words (the front's last);
    ``"zigzag"``: the stalled words become the cycles the kept order stalls, in words (so the latency is
    ``max(array, DRAM − stalled) + stalled``, :func:`~.mapper.with_dram`); ``dram`` as it is otherwise."""
    if isinstance(floor, Fronts):  # glb_reuse="tile": the schedule of the kept order (best_order_tile's)
        return floor.settle(dram)
    if isinstance(floor, Windows):  # the candidate and the stall of the kept order (best_order's)
        return (dram[0].take(floor.kept_k), dram[1].take(floor.kept_k), *dram[2:4], floor.kept / floor.cyc)
    if dram is None or np.ndim(dram[0]) < 2:
        return dram
    words, pick, fits, least, stall = dram
    cyc = with_dram(np.maximum(busy, port), floor)  # [K, M]
    ok = cyc <= cyc.min(0) * (1 + TIE)
    k = (len(cyc) - 1 - np.argmax(ok[::-1], axis=0))[None]  # the last point within the tie
    return (np.take_along_axis(words, k, 0)[0], np.take_along_axis(pick, k, 0)[0], fits, least,
            np.take_along_axis(stall, k, 0)[0])
