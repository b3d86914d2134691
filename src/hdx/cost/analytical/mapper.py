"""The array-level mapper: candidate PE-local tiles, the GLB-level loop order of each, and the choice of
the best candidate per (layer, accelerator) (docs/cost-model.md, "Mapper").

A dataflow (:mod:`.dataflows`) proposes a ladder of PE-local tiles as a [candidates × layers ×
accelerators] stack; :class:`Flat` keeps, per (layer, accelerator), the candidates whose tile differs
from every earlier one's, as one flat array of entries; :func:`best_order` gives each entry its best
order of the three GLB-level loop groups and :func:`select` keeps the best entry of each pair under the
mapper objective. Everything is vectorised: the only Python loops run over candidate groups and orders.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

import numpy as np

from hdx.cost.tech import TechTable
from hdx.errors import HDXError
from hdx.space.accelerator import (  # noqa: F401  (re-exported)
    GlbBuffering,
    GlbPort,
    GlbReuse,
    HardwareParams,
    PsumPort,
)

from .spatial import cdiv

MapperObjective = Literal["latency", "energy", "edp"]
MapperSpace = Literal["full", "taps-innermost"]
MapperTiles = Literal["any", "divisors"]
DramTiles = Literal["free", "hold-array"]
#: how a DRAM schedule's input bands count the rows and columns they read (``AnalyticalModel(halo=)``)
Halo = Literal["density", "exact"]

TIE = 1e-6  # mapping keys within this relative difference tie (above float32 rounding)
# outer (GLB-level) loop groups and their orders, innermost first
GROUPS: tuple[str, ...] = ("pq", "red", "k")
ORDERS: tuple[tuple[int, int, int], ...] = tuple(itertools.permutations(range(3)))


@dataclass(frozen=True)
class MapperSettings:
    """What the mapper needs besides the arrays: the template's fixed parameters, the technology table
    and the mapper's options (see :class:`~hdx.cost.analytical.AnalyticalModel`)."""

    hardware: HardwareParams
    tech: TechTable
    objective: MapperObjective
    space: MapperSpace
    tiles: MapperTiles
    bounds: bool = False  # also track the least cost of every tile over all orders (Least; for bounds)
    #: DRAM transfers overlap the array (double-buffered GLB): cycles max(array, DRAM); else array + DRAM
    dram_overlap: bool = True
    #: how the GLB port's accesses carry words (``AnalyticalModel(glb_port=...)``, :func:`port_per_word`)
    port: GlbPort = "fill"
    #: the PE's partial-sum store: ``shared`` — its read and write ports serve both the MAC's accumulation
    #: and the psums drained to (read) and read back from (write) the GLB (``AnalyticalModel(psum_port=...)``)
    psum_port: PsumPort = "shared"
    #: keep every PE-local tile that fits (``glb_buffering="zigzag"``, whose stalls depend on a tile's
    #: GLB-level loop bounds, and ``mapper_tiles="any"``, whose partial tiles a smaller RF of any size may
    #: take): the dataflows leave out no tile as no better by the other bufferings' costs (fewer taps with
    #: as many filters, fewer filters on the same DRAM tiles, a smaller tap chunk or filter count than
    #: fits, an OS count between powers of two), so a bigger RF of any size keeps every tile of a smaller one
    every_tile: bool = False
    #: solve the entries with the same inputs once (:mod:`.distinct`): where each entry's DRAM schedule is a
    #: search of its own (``glb_reuse="tile"``, ``glb_buffering`` ``"zigzag"`` or ``"mixed"``); elsewhere
    #: the bookkeeping costs about what it saves
    share: bool = False

    @property
    def serial(self) -> tuple[str, ...]:
        """The operands whose PE-local fills take port cycles from the MAC (:func:`best_order`)."""
        return ("o",) if self.psum_port == "shared" else ()


class Flat:
    """The entries of one group of mapping candidates that are evaluated, flattened.

    A group's candidate tiles form a [C, L, A] stack; ``keep`` marks, per (layer, accelerator) pair, the
    candidates whose tile differs from every earlier candidate's on that pair (an equal tile is the same
    mapping, and ties go to the first candidate anyway, so skipping it changes nothing). Calling the
    object gathers an array that broadcasts to [C, L, A] (or [L, A]) at the kept entries, so everything
    after the tile choice runs on [M] arrays of distinct (candidate, pair) entries only. ``gid``: each
    candidate's place in the dataflow's candidate order (ties go to the smaller)."""

    def __init__(self, keep: np.ndarray, gid) -> None:
        n_c, n_l, n_a = keep.shape
        self.shape = keep.shape
        self.flat = np.flatnonzero(keep)  # entry -> position in [C, L, A]
        self.c = self.flat // (n_l * n_a)
        self.pair = self.flat - self.c * (n_l * n_a)
        self.gid = np.asarray(gid, dtype=np.intp).reshape(n_c)[self.c]
        self._index: dict[tuple[int, int, int], np.ndarray] = {}

    def __len__(self) -> int:
        return int(self.pair.size)

    def subset(self, idx: np.ndarray) -> Flat:
        """The entries ``idx`` (e.g. the legal ones) of this set, as a set of their own."""
        out = Flat.__new__(Flat)
        out.shape, out._index = self.shape, {}
        out.flat, out.c, out.pair, out.gid = self.flat[idx], self.c[idx], self.pair[idx], self.gid[idx]
        return out

    def __call__(self, x, cand: np.ndarray | None = None):
        """``x`` (broadcasting to [K, L, A] or [L, A]) at the entries; ``cand``: the index into ``x``'s
        first axis of each entry (default: its candidate)."""
        if np.ndim(x) == 0:
            return x
        x = np.asarray(x)
        shape = (1,) * (3 - x.ndim) + x.shape
        key = shape if cand is None else None
        idx = self._index.get(key) if key is not None else None
        if idx is None:  # the entries' positions in x, flattened (an axis of 1 broadcasts)
            n_c, n_l, n_a = shape
            if n_l > 1 and n_a > 1:
                idx = self.pair if n_c == 1 else (self.flat if cand is None else None)
            if idx is None:
                n_la = self.shape[2]
                idx = self.pair % n_la if n_a > 1 else np.zeros_like(self.pair)
                if n_l > 1:
                    idx = idx + (self.pair // n_la) * n_a
                if n_c > 1:
                    idx = idx + (self.c if cand is None else cand) * (n_l * n_a)
            if key is not None:
                self._index[key] = idx
        return np.ascontiguousarray(x).reshape(-1).take(idx)


def first_of_runs(vals: np.ndarray, axis: int) -> np.ndarray:
    """True where ``vals`` differs from its predecessor along ``axis`` (the first is always True): for a
    tile that does not fall along a candidate ladder, the first candidate of each run of equal tiles."""
    vals = np.moveaxis(vals, axis, 0)
    out = np.ones(vals.shape, dtype=bool)
    out[1:] = vals[1:] != vals[:-1]
    return np.moveaxis(out, 0, axis)


def ladder(dtype, *values) -> tuple[np.ndarray, ...]:
    """The candidate parameters of ``itertools.product(*values)`` as [C, 1, 1] arrays, one per factor."""
    grid = np.array(list(itertools.product(*values)), dtype=dtype).reshape(-1, len(values))
    return tuple(grid[:, j].reshape(-1, 1, 1) for j in range(len(values)))


@dataclass
class Least:
    """The least value over every GLB-level order of one PE-local tile (each taken separately): the
    array-side cycles, and per operand the fills per PE and the GLB words. The PE-local energy and the GLB
    words of a tile grow with its fills, so these bound every order's (hdx.cost.hwsearch)."""

    cycles: np.ndarray | float
    fills: dict
    words: dict


class Entries:
    """Traffic of a group of mapping candidates at its :class:`Flat` entries ([M] arrays or scalars), all
    legal (the dataflows drop illegal tiles first): GLB words per operand ``w i o``, GLB port cycles,
    PE-local energy (pJ), hops, the array-side cycles ``max(compute + stall, port, floor)`` of each entry's
    kept GLB-level order (:func:`best_order`'s), the mapping fields it reports; ``stall``: the cycles the
    PE's psum store ports add to the compute (``psum_port="shared"``, else 0); ``lb``: (least cycles, least
    GLB words, least PE-local energy) over every GLB-level order of its tile (:class:`Least`; for
    bounds); ``dram``: with a DRAM level chosen per entry (``dram_tiles="hold-array"``, the default),
    (DRAM words, schedule index, whether its GLB tiles fit, whether its cover has the working set's
    corner) of each entry (:class:`.memory.EntryDram`), else None."""

    __slots__ = ("flat", "w", "i", "o", "port", "local_pj", "hops", "cycles", "fields", "lb", "dram", "stall")

    def __init__(self, flat: Flat, w, i, o, port, local_pj, hops, cycles, fields, lb=None, dram=None,
                 stall=0.0):
        self.flat, self.w, self.i, self.o, self.port = flat, w, i, o, port
        self.local_pj, self.hops, self.cycles, self.fields, self.lb = local_pj, hops, cycles, fields, lb
        self.dram, self.stall = dram, stall


def port_per_word(dist, bw: float, port: GlbPort = "step"):
    """GLB port cycles per word of an operand: one access per cycle, for one operand in one direction,
    of at most ``bw`` words; each access step of an operand carries its ``dist`` distinct words (one per
    group of PEs that share them), so it takes ``ceil(dist / bw)`` cycles, however few words it moves.
    ``"packed"``: the words of consecutive steps share an access (a line of ``bw`` words, the rest staged
    at the array's edge), so ``1 / bw`` cycles per word, as Timeloop counts bandwidth. (``"fill"``, a
    PE-local tile's fill as one burst, is :func:`best_order`'s: it passes the fill's words as ``dist``.)"""
    return 1.0 / bw if port == "packed" else cdiv(dist, bw) / dist


def fill_per_word(fp, dist, bw, port: GlbPort = "step"):
    """GLB port cycles per word of an operand filled in PE-local tiles of ``fp`` words (``dist`` distinct
    copies): :func:`port_per_word`'s count, or by fill — ``"fill"``: a fill's ``fp · dist`` words are one
    burst aligned to the port's accesses, ``ceil(fp · dist / bw)`` cycles; ``"burst"``: one burst at an
    arbitrary alignment, ``(fp · dist + bw − 1) / bw`` accesses on average (a burst of n words from a
    uniformly random offset spans exactly that many in expectation), or by step where that is fewer —
    never more per word for a bigger tile, so the model stays monotone in the RF and pads."""
    if port == "fill":
        return port_per_word(fp * dist, bw)
    if port == "burst":
        n = fp * dist
        return np.minimum(port_per_word(dist, bw), (n + bw - 1) / (bw * n))
    return port_per_word(dist, bw, port)


def port_cycles(words: dict, dist: dict, bw: float, port: GlbPort = "step"):
    """GLB port cycles of the array-side traffic ``words`` per operand (see :func:`port_per_word`)."""
    return sum(words[x] * port_per_word(dist[x], bw, port) for x in words)


def with_dram(array, floor, overlap: bool = True):
    """Cycles of an array side ``array`` with DRAM transfers of ``floor`` cycles: ``max(array, floor)``
    where they overlap the array, ``array + floor`` where they stall it (``overlap`` False), and for a
    pair (overlapped, stalled) ``max(array, overlapped) + stalled``."""
    if isinstance(floor, tuple):
        return np.maximum(array, floor[0]) + floor[1]
    return np.maximum(array, floor) if overlap else array + floor


#: per GLB-level loop group (:data:`GROUPS`), whether the weights and the outputs do not depend on it
_IRRELEVANT = {"w": (True, False, False), "o": (False, True, False)}


def _unreused_group(irr: tuple) -> int | None:
    """The GLB-level loop group an operand does not depend on (at most one: ``irr``, per group True,
    False or per entry), or None where it depends on every group."""
    return next((g for g in range(3) if irr[g] is not False), None)


class Windows:
    """``glb_buffering="zigzag"``: an entry's DRAM transfers with ZigZag's update windows. A GLB tile
    without a second copy can only be replaced while the array reads it for the last time: in the last
    iteration of the outermost GLB-level loops it does not depend on (ZigZag's ``top_ir_loop_size``:
    their product ``top``; 1 where the outermost loop is relevant, so the whole period). Over the layer
    that leaves it ``array / top`` cycles, and its transfer cycles beyond those stall the array
    (ZigZag's ``calc_allowed_and_real_data_transfer_cycle_per_data_transfer_link``); every other
    transfer overlaps: latency ``max(array + stalled, all DRAM cycles)``. The GLB has one port (as ZigZag's
    ``read_write`` port of the translation): the DRAM words it is filled with and drains take its cycles
    beside the array's, so a candidate's array side is ``max(busy, GLB port + its DRAM words / bw)``.

    Each entry has a few candidate DRAM schedules (:mod:`.staircase`), of which the one of least latency
    is taken (of equal ones the first: the fewest DRAM words). They come as flat arrays [N] of every
    entry's candidates in turn (``seg``: each one's entry, ascending): ``total``, the cycles of all its
    DRAM words; ``parts``, those of the weights, inputs and outputs without a copy; ``counts``, the
    schedule's DRAM tiles per group (a GLB-level loop of bound ``b`` iterates ``max(b / count, 1)`` times
    in one DRAM tile); ``dw``, depthwise (inputs depend on the filters); ``cyc``: DRAM cycles per word
    (docs/cost-model.md "Overlap")."""

    __slots__ = ("total", "parts", "counts", "cyc", "seg", "first", "kept", "kept_k", "last_k", "_irrelevant",
                 "_sparse", "_term_of", "weight", "tied")

    def __init__(self, total, parts: tuple, counts: tuple, dw, cyc: float, seg: np.ndarray):
        self.total, self.parts, self.counts, self.cyc, self.seg = total, parts, counts, cyc, seg
        # each entry's first candidate
        self.first = np.flatnonzero(np.concatenate([[seg.size > 0], seg[1:] != seg[:-1]]))
        dw = np.asarray(dw, dtype=bool)
        # the inputs do not depend on the filters unless the layer is depthwise (a plain bool where every
        # entry agrees: no arithmetic spent on it)
        k_in = True if not dw.any() else False if dw.all() else ~dw
        self._irrelevant = dict(_IRRELEVANT, i=(False, False, k_in))
        self._sparse: tuple | None = None  # (_stalled)
        self._term_of: tuple | None = None  # (_terms)
        #: per entry, the stalled cycles under the GLB-level order :func:`best_order` kept, and the index
        #: (into the flat arrays) of the candidate it kept; ``last_k``: that of the last :meth:`cycles`
        self.kept: np.ndarray | None = None
        self.kept_k: np.ndarray | None = None
        self.last_k: np.ndarray | None = None
        #: ``glb_reuse="tile"``: per entry, the energy of a DRAM word in GLB accesses (the candidates'
        #: refills are then counted per DRAM tile, :func:`~.reuse.best_order_windows`); None: ``"layer"``
        self.weight: np.ndarray | None = None
        #: (``glb_reuse="tile"``) per entry, whether its choice may depend on its fills' energy
        self.tied: np.ndarray | None = None

    def _at(self, a):
        """An entry's value ([M] or a scalar) at each of its candidates."""
        return a.take(self.seg) if np.ndim(a) else a

    def stall(self, array, order: tuple[int, int, int], bounds: tuple):
        """The cycles each candidate's array side of ``array`` cycles ([N]) waits under the GLB-level
        ``order`` (groups, innermost first) with loop bounds ``bounds`` ([M] each) over the layer.
        A faster array shortens the windows, and where the operands without a copy have ``Σ 1 / top > 1``
        the stall grows faster than the array side falls; but then ``array + stall`` is below those
        operands' transfer cycles, so below ``total``: the latency :meth:`cycles` gives never falls
        with a slower array."""
        at, parts, tiles, one, irrs = self._stalled(bounds)
        if at is None:  # no candidate leaves words without a copy
            return np.zeros(np.shape(self.total))
        terms = self._terms(array, bounds)
        out = None
        for (full, plain), irr in zip(terms, irrs, strict=True):
            if plain is None:  # (no candidate leaves this operand's words without a copy)
                continue
            cond = self._reached(irr, order, one)
            term = full if cond is True else plain if cond is False else np.where(cond, full, plain)
            out = term if out is None else out + term
        if at is True:
            return out
        # (the candidates whose words all have a copy add nothing: only the others computed)
        full = np.zeros(np.shape(self.total), dtype=out.dtype)
        full[at] = out
        return full

    @staticmethod
    def _reached(irr: tuple, order: tuple[int, int, int], one: list):
        """Whether an operand's window is the array side over ``top`` (the GLB-level iterations in one
        DRAM tile of the group it does not depend on, ``irr``) rather than the whole array side: where
        every loop outside that group has one iteration (per candidate, or True / False for all)."""
        g = _unreused_group(irr)
        if g is None:  # it depends on every group: its window is the whole period
            return False
        run = True
        for pos in range(2, order.index(g), -1):  # the loops outside it, the outermost first
            o = one[order[pos]]
            run = o if run is True else run if o is True else False if o is False else run & o
            if run is False:
                return False
        return run if irr[g] is True else irr[g] if run is True else run & irr[g]

    def _terms(self, array, bounds: tuple) -> tuple:
        """Per operand, its stalled cycles at each candidate that leaves words without a copy, with its
        window reached (``array / top``) and not (the whole ``array``); (None, None) where it has none.
        Kept for the last ``array`` (an order's class shares it)."""
        if self._term_of is not None and self._term_of[0] is array and self._term_of[1] is bounds:
            return self._term_of[2]
        at, parts, tiles, _, irrs = self._stalled(bounds)
        arr = array if at is True else array.take(at) if np.ndim(array) else array
        out = []
        for part, irr in zip(parts, irrs, strict=True):
            if part is None:
                out.append((None, None))
                continue
            g = _unreused_group(irr)
            plain = np.maximum(part - arr, 0.0)
            out.append((None if g is None else np.maximum(part - arr / tiles[g], 0.0), plain))
        self._term_of = (array, bounds, tuple(out))
        return self._term_of[2]

    def stall_any(self) -> bool:
        """Whether any candidate leaves words without a copy (else no order stalls)."""
        return any(bool(np.any(p > 0)) for p in self.parts)

    def _stalled(self, bounds: tuple) -> tuple:
        """What :meth:`stall` reads, at the candidates that leave words without a copy (``at``: their
        indices; True where most do, so every candidate; None where none does): per operand (weights,
        inputs, outputs) those words' cycles (None where no candidate has any), each group's GLB-level
        iterations in one DRAM tile and whether that is one, and per operand its irrelevance per group
        (cached for the ``bounds`` of one :func:`best_order` call)."""
        if self._sparse is None or self._sparse[0] is not bounds:
            tiles = [np.maximum(self._at(b) / n, 1.0) for b, n in zip(bounds, self.counts, strict=True)]
            one = [t <= 1 for t in tiles]
            some = sum(self.parts) > 0
            at = np.flatnonzero(some)
            at = None if at.size == 0 else True if 2 * at.size > some.size else at
            sub = (lambda v: v) if at is True or at is None else (lambda v: v.take(at) if np.ndim(v) else v)
            parts = tuple(sub(p) if np.any(p > 0) else None for p in self.parts)
            irrs = tuple(tuple(sub(r) for r in self._irrelevant[x]) for x in "wio")
            # (each group's "one iteration" as True or False where it is so for every candidate)
            one = [bool(o.all()) if o.all() or not o.any() else o for o in (sub(o) for o in one)]
            self._sparse = (bounds, (at, parts, [sub(t) for t in tiles], one, irrs))
        return self._sparse[1]

    def port(self, bw) -> np.ndarray:
        """Each candidate's cycles on the GLB's one port for its DRAM words (filled from DRAM and drained
        to it, at the GLB's ``bw`` words per cycle, [M] or a scalar)."""
        return self.total / self.cyc / self._at(bw)

    def cycles(self, busy, port, dport, order, bounds: tuple) -> tuple:
        """Per entry ([M] each), the latency ``max(array + stalled, total)`` of its best candidate, the
        cycles that one stalls and its GLB port cycles, for the MACs' ``busy`` cycles and the array
        side's GLB ``port`` cycles ([M]): each candidate's array side is ``max(busy, port + dport)``
        (``dport``: its DRAM words' port cycles, :meth:`port`, [N])."""
        p = self._at(port) + dport
        a = np.broadcast_to(np.maximum(self._at(busy), p), self.seg.shape)
        if self.seg.size == 0:  # (a group without entries)
            self.last_k = np.zeros(0, dtype=np.intp)
            return a.copy(), a.copy(), a.copy()
        st = self.stall(a, order, bounds)
        lat = np.maximum(a + st, self.total)
        least = np.minimum.reduceat(lat, self.first)
        ok = lat <= (least * (1 + TIE)).take(self.seg)
        k = np.minimum.reduceat(np.where(ok, np.arange(lat.size), lat.size), self.first)
        self.last_k = k
        return lat.take(k), np.broadcast_to(st, lat.shape).take(k), np.broadcast_to(p, lat.shape).take(k)


def _skipped(rel: tuple, order: tuple[int, int, int]) -> list:
    """Groups of ``order`` (innermost first) in the innermost run an operand with relevance ``rel`` does
    not depend on (array relevance: ``("a", g)``, the run continues where it is irrelevant)."""
    out: list = []
    for g in order:
        r = rel[g]
        if isinstance(r, bool | np.bool_):
            if r:
                break
            out.append(g)
        else:
            out.append(("a", g))
    return out


def best_order(cfg: MapperSettings, bw: np.ndarray | float, floor: np.ndarray | float, ops: dict,
               bounds: tuple, o_tot: np.ndarray, compute: np.ndarray, fixed_port: np.ndarray | float = 0.0,
               serial: tuple[str, ...] = ()):
    """GLB words of the operands held in PE-local tiles under the best GLB-level loop order.

    ``ops`` maps operand (``w``, ``i``, ``o``) to (tile words ``fp``, distinct copies on the array
    ``dist``, relevance to the groups ``rel``). Returns (words per operand, fills per PE per operand,
    order index, GLB port cycles including ``fixed_port``, :class:`Least`, array-side cycles, PE port stall
    cycles). Fills = tile ×
    Π bounds ÷ Π bounds of the innermost run of irrelevant groups, so orders that skip the same groups
    for every operand are the same mapping and computed once.
    The order kept is the best under the mapper objective: least array-side cycles
    ``max(compute + stall, GLB port cycles, floor)`` (``fixed_port``: the port cycles of operands not in
    ``ops``; ``floor``: the DRAM bound; ``max(compute + stall, GLB port cycles) + floor`` where the DRAM
    transfers do not overlap the array, ``cfg.dram_overlap`` False; ``floor`` a pair (overlapped,
    stalled): ``max(compute + stall, GLB port cycles, overlapped) + stalled``, for ``"mixed"`` [K, M]
    arrays, a front of schedules per entry, of which the least is taken; for ``glb_buffering="zigzag"``
    :class:`Windows`, whose stall depends on the order;
    ``stall``: with
    ``psum_port="shared"``, the partial sums each PE drains to the GLB, one cycle of its psum store's
    read port each, which the MAC's accumulation then waits for), ties to fewer GLB words; with
    ``objective="energy"`` fewer words first. ``serial``: the operands of ``ops`` whose fills are psums
    in a PE store the MAC accumulates in (:attr:`MapperSettings.serial`).
    ``bw``: the GLB ↔ array bandwidth of each accelerator (words per cycle; a scalar or [1, A]).
    """
    total = bounds[0] * bounds[1] * bounds[2]
    per_word = {x: fill_per_word(fp, dist, bw, cfg.port) for x, (fp, dist, _) in ops.items()}
    energy_first = cfg.objective == "energy"
    opts: list[tuple] = []  # (order index, skips) of each distinct option, in order
    shapes: list[tuple] = []
    least = Least(np.inf, {x: np.inf for x in ops}, {x: np.inf for x in ops}) if cfg.bounds else None
    # an operand's fills depend on the order only through the groups it skips: each distinct skip list
    # of an operand is computed once (its fills, GLB words and their port cycles)
    variants: dict[str, dict[tuple, tuple]] = {x: {} for x in ops}
    seen: set = set()
    dport = floor.port(bw) if isinstance(floor, Windows) else None  # (zigzag: once for every order)
    for n, order in enumerate(ORDERS):
        # the groups each operand skips (innermost run it does not depend on); arithmetic only for
        # orders not seen before
        skips = {x: tuple(_skipped(rel, order)) for x, (_, _, rel) in ops.items()}
        # (zigzag: the stall depends on the outermost loops too, so every order is its own)
        key = (n,) if isinstance(floor, Windows) else tuple(skips.items())
        if key in seen:
            continue
        seen.add(key)
        for x, (fp, dist, _) in ops.items():
            if skips[x] not in variants[x]:
                variants[x][skips[x]] = _fills(x, fp, dist, per_word[x], skips[x], ops[x][2], bounds, total,
                                               o_tot)
        fills = {x: variants[x][skips[x]][0] for x in ops}
        words = {x: variants[x][skips[x]][1] for x in ops}
        tot = sum(words.values())
        port = fixed_port + sum(variants[x][skips[x]][2] for x in ops)
        stall = sum(fills[x] for x in serial) if serial else 0.0
        busy = compute + stall if serial else compute
        dstall = None
        if isinstance(floor, Windows):  # zigzag: the stall depends on the order; the GLB's one port also
            # carries the chosen schedule's DRAM words
            cyc, dstall, port = floor.cycles(busy, port, dport, order, bounds)
        else:
            cyc = with_dram(np.maximum(busy, port), floor, cfg.dram_overlap)
        if np.ndim(cyc) == 2:  # a front of DRAM schedules per entry ("mixed"): its best for this order
            cyc = cyc.min(0)
        k1, k2 = (tot, cyc) if energy_first else (cyc, tot)
        j = len(opts)
        opts.append((n, skips))
        shapes += [np.shape(k1), np.shape(k2)]
        if j == 0:
            b1, b2, best_port, best_stall, best_dstall = k1, k2, port, stall, dstall
            best_k = floor.last_k if isinstance(floor, Windows) else None
            first = np.broadcast_shapes(np.shape(k1), np.shape(k2))
            best_order = np.full(first, float(n), dtype=np.result_type(k1))
            pick = np.zeros(first, dtype=np.intp)  # the option (index in opts) kept
        else:  # a later order replaces the best only if strictly better (kept as it goes: no option's
            # arrays outlive its turn)
            b = np.where(np.abs(k1 - b1) <= TIE * np.abs(b1), k2 < b2 * (1 - TIE), k1 < b1)
            if b.any():
                b1, b2 = np.where(b, k1, b1), np.where(b, k2, b2)
                best_port, best_order, pick = (np.where(b, port, best_port), np.where(b, n, best_order),
                                               np.where(b, j, pick))
                if serial:
                    best_stall = np.where(b, stall, best_stall)
                if dstall is not None:
                    best_dstall = np.where(b, dstall, best_dstall)
                    if best_k is not None:
                        best_k = np.where(b, floor.last_k, best_k)
        if least is None:
            continue
        least.cycles = np.minimum(least.cycles, cyc)
        for x in ops:
            least.fills[x] = np.minimum(least.fills[x], fills[x])
            least.words[x] = np.minimum(least.words[x], words[x])
    shape = np.broadcast_shapes(*shapes)
    if isinstance(floor, Windows):
        floor.kept = np.broadcast_to(best_dstall, shape)
        floor.kept_k = None if best_k is None else np.broadcast_to(best_k, shape)
    order, port = best_order, best_port
    if order.shape != shape:
        order, pick = np.broadcast_to(order, shape).copy(), np.broadcast_to(pick, shape)
    fills, words = {}, {}
    for x in ops:  # the kept option's fills and words: one of the operand's few variants
        keys = list(variants[x])
        var = np.asarray([keys.index(o[1][x]) for o in opts])[pick] if len(keys) > 1 else 0
        fills[x], words[x] = variants[x][keys[0]][:2]
        for v, k in enumerate(keys[1:], 1):
            fills[x] = np.where(var == v, variants[x][k][0], fills[x])
            words[x] = np.where(var == v, variants[x][k][1], words[x])
    bc = lambda d: {x: np.broadcast_to(v, shape) for x, v in d.items()}  # noqa: E731
    cycles = b2 if energy_first else b1  # the kept order's max(compute + stall, port, floor)
    return (bc(words), bc(fills), order, np.broadcast_to(port, shape), least, np.broadcast_to(cycles, shape),
            np.broadcast_to(best_stall, shape) if serial else 0.0)


def _fills(x: str, fp, dist, per_word, skipped: tuple, rel: tuple, bounds: tuple, total, o_tot) -> tuple:
    """Fills per PE, GLB words and their GLB port cycles of operand ``x`` (tile ``fp``, ``dist`` copies)
    when the innermost run of groups it does not depend on is ``skipped`` (:func:`_skipped`): fills =
    tile × Π bounds ÷ Π bounds of that run (array relevance: only where the operand does not depend on
    the group)."""
    div, run = 1.0, True
    for g in skipped:
        if isinstance(g, tuple):  # ("a", group): relevance that differs per (layer, accelerator)
            run = np.logical_and(run, ~rel[g[1]])
            div = div * np.where(run, bounds[g[1]], 1.0)
        else:
            div = div * bounds[g] if run is True else div * np.where(run, bounds[g], 1.0)
    fills = fp * total / div
    words = fills * dist
    if x == "o":  # psum writes, and read-backs of all but the first
        words = words + np.maximum(words - o_tot, 0.0)
    return fills, words, words * per_word


def _seg_min(v: np.ndarray, seg: np.ndarray, n: int) -> np.ndarray:
    """Per segment ``seg`` (ids < ``n``), the least of ``v`` (inf, or the largest integer, where empty)."""
    big = np.inf if np.issubdtype(v.dtype, np.floating) else np.iinfo(v.dtype).max
    out = np.full(n, big, dtype=v.dtype)
    np.minimum.at(out, seg, v)
    return out


def _seg_any(v: np.ndarray, seg: np.ndarray, n: int) -> np.ndarray:
    """Per segment ``seg`` (ids < ``n``), whether any of ``v`` is true."""
    out = np.zeros(n, dtype=bool)
    out[seg[v]] = True
    return out


def select(cfg: MapperSettings, compute: np.ndarray, groups: list[Entries], e_glb: np.ndarray,
           e_hop: float, bounds: bool = False, fields: bool = True, e_dram: float = 0.0) -> dict:
    """The best candidate per (layer, accelerator) under the mapper objective (each candidate already
    carries its best GLB-level order): latency ``max(compute, GLB port cycles, floor)`` (the entries'
    ``cycles``; ``floor`` the DRAM cycles of the layer's DRAM schedule, :mod:`.memory`, the same for
    every candidate) and the
    energy of the PE-local and GLB↔array accesses (the DRAM energy is the same for every candidate). So a
    DRAM-bound layer takes the cheapest array mapping that the DRAM hides. Ties (within :data:`TIE`
    relative, so float32 and float64 see the same ties) go to the second key, then to the first candidate.

    ``groups`` hold the candidates' :class:`Entries` (each at the distinct (candidate, pair) entries of its
    :class:`Flat`); the choice is a minimum per pair over them. Returns [L, A] arrays.

    ``fields``: also the chosen mapping's fields (``--explain``). ``bounds``: also the least value over
    *every* legal mapping (candidate and order) of the array-side
    cycles (``lb_cycles``), of the GLB words (``lb_glb_words``) and of the PE-local energy with hops
    (``lb_local_pj``): each mapping of this accelerator is at least as costly in each, separately.

    With a DRAM level per entry (``Entries.dram``; ``dram_tiles="hold-array"``) the entries' cycles
    include their own DRAM bound already, their energy adds a DRAM and a GLB access (``e_dram``,
    ``e_glb``) per DRAM word, and an entry whose GLB tiles do not fit is not a legal mapping — unless no
    entry of the pair fits: then the entries whose cover is the spatial unrolling's alone (the least
    PE-local tiles) are, with the smallest schedule of their corner (a stand-in, so the model still
    gives a number; were every entry allowed, a big PE-local tile's stand-in on a small GLB could beat
    every tile that fits a bigger one, and latency would rise with the GLB; a pair with no such entry
    allows all). The result adds ``dram`` (DRAM words) and ``dram_pick`` (schedule index) of the chosen
    entry, and with ``glb_buffering`` ``"zigzag"`` or ``"mixed"`` ``dram_stall`` (those of its DRAM words
    that stall)."""
    shape = compute.shape
    n_pairs = int(np.prod(shape))
    dt = compute.dtype
    cat = lambda vals: np.concatenate([np.broadcast_to(np.asarray(v, dtype=dt), (len(g.flat),))  # noqa: E731
                                       for v, g in zip(vals, groups, strict=True)])
    pair = np.concatenate([g.flat.pair for g in groups])
    gid = np.concatenate([g.flat.gid for g in groups])
    words = cat([g.w + g.i + g.o for g in groups])
    local = cat([g.local_pj for g in groups])
    hops = cat([g.hops for g in groups])
    port = cat([g.port for g in groups])
    # the psum store's stall (psum_port="shared"; a scalar 0 in every group otherwise)
    stall = None if all(np.ndim(g.stall) == 0 and g.stall == 0 for g in groups) else cat(
        [g.stall for g in groups])
    cyc = cat([g.cycles for g in groups])
    e_glb_pair = np.broadcast_to(e_glb, shape).reshape(-1)[pair]
    energy = local + words * e_glb_pair + hops * e_hop
    joint = groups[0].dram is not None
    if joint:  # each entry's own DRAM schedule: a DRAM and a GLB access per word
        d_words = np.concatenate([g.dram[0] for g in groups]).astype(dt, copy=False)
        energy = energy + d_words * (e_dram + e_glb_pair)
    keys = {"latency": (cyc, energy), "energy": (energy, cyc), "edp": (cyc * energy, cyc)}
    key1, key2 = keys[cfg.objective]
    if joint:  # legal: the entries that fit; where none does, those of the least cover; else all
        fits, least = (np.concatenate([g.dram[j] for g in groups]) for j in (2, 3))
        legal = fits | ~_seg_any(fits, pair, n_pairs)[pair] & least
        legal = legal | ~_seg_any(legal, pair, n_pairs)[pair]
        key1 = np.where(legal, key1, np.inf)
    m1 = _seg_min(key1, pair, n_pairs)
    if not np.all(np.isfinite(m1)):
        raise HDXError("no legal mapping for some (layer, accelerator) pair: the RF is too small")
    m1 = m1[pair]
    k2 = np.where(key1 <= m1 + TIE * np.abs(m1), key2, np.inf)
    m2 = _seg_min(k2, pair, n_pairs)[pair]
    tie = k2 <= m2 + TIE * np.abs(m2)
    first = _seg_min(np.where(tie, gid, np.iinfo(np.intp).max), pair, n_pairs)  # the first within the tie
    win = np.nonzero(tie & (gid == first[pair]))[0]
    pick = np.full(n_pairs, -1, dtype=np.intp)
    pick[pair[win]] = win
    if win.size < n_pairs:  # keys that compare with nothing (a NaN cost, refused later): the first entry
        lost = pick < 0
        pick[lost] = _seg_min(np.arange(len(pair)), pair, n_pairs)[lost]
    take = lambda a: a[pick].reshape(shape)  # noqa: E731
    best = dict(glb_arr=take(words), glb_port=take(port), local_pj=take(local), hops=take(hops),
                stall=0.0 if stall is None else take(stall), fields={})
    if joint:
        best["dram"] = take(d_words)
        if groups[0].dram[4] is not None:  # zigzag, mixed: the chosen schedules' stalled words
            best["dram_stall"] = take(np.concatenate([g.dram[4] for g in groups]).astype(dt, copy=False))
        best["dram_pick"] = np.concatenate([g.dram[1] for g in groups])[pick].reshape(shape)
    if fields:
        best["fields"] = {k: take(cat([g.fields[k] for g in groups])) for k in groups[0].fields}
        best["fields"].update(glb_words=best["glb_arr"], glb_cycles=best["glb_port"], hops=best["hops"],
                              psum_stall=best["stall"])
    if bounds:
        least = lambda vals: _seg_min(cat(vals), pair, n_pairs).reshape(shape)  # noqa: E731
        best["bounds"] = dict(
            lb_cycles=least([g.lb[0] for g in groups]),
            lb_glb_words=least([g.lb[1] for g in groups]),
            lb_local_pj=least([g.lb[2] + g.hops * e_hop for g in groups]))
    return best
