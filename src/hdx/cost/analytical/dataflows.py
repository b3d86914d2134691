"""Mapping candidates of the three dataflows (docs/cost-model.md, "Spatial mapping" and "Mapper").

Each function returns ``(compute cycles, groups, uK)`` for one dataflow's accelerators: the [L, A]
per-PE temporal iterations, a list of :class:`~.mapper.Entries` (PE-local tiles + the best GLB-level
order of each, at the distinct (candidate, pair) entries of a :class:`~.mapper.Flat`), and the filters
(depthwise: channels) in flight on the array. ``u``: the dataflow's :func:`~.spatial.unroll`, if
already computed. ``floor`` ([L, A] cycles) is the DRAM schedule's bound,
which no array mapping can beat: GLB-level orders faster than it tie, and the one with fewer GLB words
is kept. With ``dram_tiles="hold-array"``, ``floor`` is a :class:`~.memory.EntryDram` instead: each
candidate's GLB tiles must hold what it covers (the spatial unrolling times its PE-local tile), so each
entry gets its own DRAM schedule, words and bound (:func:`~.schedule.schedule`).

A dataflow's candidates are a ladder of tile factors (:data:`FACTORS`, :data:`ROW_FACTORS`) whose tiles
are clamped to the loops and the RF, so on a given pair many candidates coincide. The tile of a ladder
never falls as its factor grows (a clamp, and the largest divisor below a cap, are non-decreasing), so a
candidate equals an earlier one exactly where it equals its predecessor on some ladder: that test
(:func:`~.mapper.first_of_runs`) finds the distinct entries without comparing all candidates.
"""

from __future__ import annotations

import numpy as np

from . import memory
from .dims import ArrayDims, LayerDims
from .mapper import (
    TIE,
    Entries,
    Flat,
    MapperSettings,
    fill_per_word,
    first_of_runs,
    ladder,
    port_cycles,
)
from .memory import EntryDram
from .schedule import schedule
from .spatial import cdiv, largest_divisor, unroll

# RF tile factors the mapper tries for a channel loop (and, for RS, the output-row loop; 0 = whole row)
FACTORS: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
ROW_FACTORS: tuple[int, ...] = (1, 4, 16, 0)
OS_MODES: tuple[str, ...] = ("taps-inner", "k-inner")
#: skip a candidate whose tile equals an earlier candidate's on a pair (False: evaluate every candidate on
#: every pair, which gives the same result, only slower; the tests compare the two)
DEDUPLICATE = True
#: with the GLB port counted per fill: keep only the fewer-filter counts that no larger count matches
#: (:func:`_fill_counts`; False: every count, which gives the same costs, only slower; the tests compare)
PRUNE_FILL_COUNTS = True
# RS: the PE's innermost loop, with the input window in its pad or the inputs streamed from the GLB
RS_MODES: tuple[str, ...] = ("taps-inner", "q-inner", "k-inner", "streamed taps-inner", "streamed q-inner",
                             "streamed k-inner")


def ws(cfg: MapperSettings, ly: LayerDims, ad: ArrayDims, e_reg: float, floor=0.0, u=None):
    """Weight-stationary: Y ← Cg (spare rows replicate K), X ← K; RF: weights of ``c_in`` channels × a
    chunk of taps (as many as fit). With a DRAM level per candidate (``dram_tiles="hold-array"``) also
    the tiles whose tap chunk stays within one kernel row, whose GLB input tile may then hold one kernel
    row's inputs: a bigger RF must not force a bigger input tile (resources stay monotone)."""
    u = unroll("ws", ly, ad.x, ad.y) if u is None else u
    compute = ly.n * ly.p * ly.q * ly.r * ly.s * cdiv(ly.k, u["uK"]) * cdiv(ly.cg, u["cy"])
    groups = [_ws_group(cfg, ly, ad, e_reg, floor, u, compute, False)]
    if cfg.every_tile:  # every smaller tap chunk too, in one group: under "divisors" each divisor of the
        # taps; under "any" (a smaller RF's chunk may be any count) the least chunk of each number of
        # chunks n, ceil(taps / n), which holds fewer words than any other chunk taking n and leaves
        # every channel count of theirs
        taps = np.unique(ly.r * ly.s).astype(int)
        sizes = sorted({-(-t // n) for t in taps for n in range(2, t + 1)
                        if cfg.tiles == "any" or t % n == 0})
        g = _ws_group(cfg, ly, ad, e_reg, floor, u, compute, False, gid=2 * len(FACTORS), chunk=sizes)
        if g is not None:
            groups.append(g)
        return compute, groups, u["uK"]
    if isinstance(floor, EntryDram) and np.any(ly.r > 1):
        row = _ws_group(cfg, ly, ad, e_reg, floor, u, compute, True, gid=len(FACTORS))
        if row is not None:
            groups.append(row)
    return compute, groups, u["uK"]


def _ws_group(cfg: MapperSettings, ly: LayerDims, ad: ArrayDims, e_reg: float, floor, u, compute,
              one_row: bool, gid: int = 0, chunk: list[int] | None = None) -> Entries | None:
    """The WS candidates of a ladder of ``c_in`` whose tap chunk is as many taps as fit the RF, or
    (``one_row``) at most one kernel row's (only where that is a smaller chunk; None if nowhere), or
    (``chunk``) each of these many taps, where it is smaller than what fits (and, under ``"divisors"``,
    divides the taps): a ladder of ``c_in`` per chunk, chunk after chunk."""
    rfw, e_rf = ad.rfw, ad.e_rf
    uk, act = u["uK"], u["act"]
    kt, ct = cdiv(ly.k, uk), cdiv(ly.cg, u["cy"])
    taps = ly.r * ly.s
    s_in = np.minimum(taps, rfw)            # taps of one weight chunk in the RF
    if cfg.tiles == "divisors":
        s_in = largest_divisor(taps, s_in)
    keep = True
    if chunk is not None:  # given chunks [T, 1, 1]: below the chunk that fits (under "divisors", dividing
        # the taps)
        ch = np.asarray(chunk, dtype=s_in.dtype).reshape(-1, 1, 1)
        keep = (ch < s_in) & ((np.fmod(taps, ch) == 0) if cfg.tiles == "divisors" else True)  # [T, L, A]
        if not np.any(keep):
            return None
        s_in = ch
        one_row = True  # (its channels: as many as fit with a chunk of this many taps)
    elif one_row:  # the chunk within one kernel row: only where it is smaller than the chunk that fits
        s_row = np.minimum(ly.s, rfw)
        if cfg.tiles == "divisors":
            s_row = largest_divisor(taps, s_row)
        keep = s_row < s_in
        if not np.any(keep):
            return None
        s_in = s_row
    n_tc = cdiv(taps, s_in)
    pairs = np.floor(rfw / (s_in if one_row else taps))  # (channel) filters whose chunk of taps fits
    dist = dict(w=act, i=np.where(ly.dw, uk, u["cy"]), o=uk)
    rel = dict(w=(False, True, True), o=(True, False, True))
    (c_in,) = ladder(compute.dtype, FACTORS)
    c = np.where((pairs if chunk is None else pairs[:, None]) >= c_in, np.minimum(c_in, ct), 1.0)
    if cfg.tiles == "divisors":  # ([C, L, A], or [T, C, L, A] per chunk)
        c = largest_divisor(ct, c)
    # c rises along the ladder while the channels' taps fit, then falls back to c_in = 1's tile
    new = first_of_runs(c, -3) & ((c != c[..., :1, :, :]) | (np.arange(len(FACTORS)) == 0)[:, None, None])
    if chunk is not None:  # chunk after chunk: [T · C, L, A]
        keep = np.broadcast_to(keep[:, None], c.shape).reshape(-1, *c.shape[2:])
        c, new = c.reshape(keep.shape), new.reshape(keep.shape)
    fl = Flat((new if DEDUPLICATE else np.ones(c.shape, dtype=bool)) & keep, range(gid, gid + len(c)))
    tile = None if chunk is None else fl.c // len(FACTORS)  # each entry's chunk
    s_in, n_tc = fl(s_in, tile), fl(n_tc, tile)
    c, comp = fl(c), fl(compute)
    d = {x: fl(v) for x, v in dist.items()}
    bw = fl(ad.bw)
    bounds = (fl(ly.n * ly.p * ly.q), cdiv(fl(ct), c) * n_tc, fl(kt))
    ops = dict(w=(c * s_in, d["w"], rel["w"]), o=(np.ones_like(c), d["o"], rel["o"]))
    i = comp * d["i"]                       # 1-word input register, taps innermost: a word per MAC
    # what the array works on at once: uK filters, cy × c channels, the kernel rows of a tap chunk
    # (a fill's PE-local energy in GLB accesses, as local() below counts it)
    fill_e = lambda: dict(w=fl(act * e_rf / ad.e_glb), o=fl(2 * act * e_reg / ad.e_glb))  # noqa: E731
    words, f, order, port, least, cyc, _, dram = schedule(
        cfg, ad, fl, floor, lambda: (fl(uk), fl(u["cy"]) * c, 1.0, 1.0, cdiv(s_in, fl(ly.s))), bw, ops,
        bounds, fl(ly.o_tot), comp, port_cycles(dict(i=i), d, bw, cfg.port), fill_e=fill_e)
    macs, act, e_rf = fl(ly.macs), fl(act), fl(e_rf)

    def local(f):
        return macs * (e_rf + 3 * e_reg) + f["w"] * act * e_rf + (comp + 2 * f["o"]) * act * e_reg
    lb = None if least is None else (least.cycles, least.words["w"] + i + least.words["o"],
                                     local(least.fills))
    return Entries(fl, words["w"], i, words["o"], port, local(f), 0.0, cyc,
                   dict(mode=0.0, order=order, c_in=c, k_in=1.0, q_in=1.0, s_in=s_in), lb, dram)


def os_(cfg: MapperSettings, ly: LayerDims, ad: ArrayDims, e_reg: float, floor=0.0, u=None):
    """Output-stationary: X ← Q, Y ← P (spare PEs replicate K); RF: ``k_in`` partial sums."""
    rfw, e_rf, dw, st = ad.rfw, ad.e_rf, ly.dw, ly.st
    u = unroll("os", ly, ad.x, ad.y) if u is None else u
    qx, py, uk, act = u["qx"], u["py"], u["uK"], u["act"]
    pt, qt, kt, ct = cdiv(ly.p, py), cdiv(ly.q, qx), cdiv(ly.k, uk), ly.cg
    compute = ly.n * pt * qt * kt * ct * ly.r * ly.s
    dist = dict(w=uk, i=qx * py * np.where(dw, uk, 1.0), o=act)
    rel = dict(o=(True, False, True))
    forwarding = cfg.hardware.noc == "forwarding"
    tile_h = np.minimum((py - 1) * st + ly.r, ly.h + 2 * ly.pad)
    tile_w = np.minimum((qx - 1) * st + ly.s, ly.w + 2 * ly.pad)
    # k-inner puts K inside the taps: outside the taps-innermost space unless the kernel is 1x1
    k_inner_ok = (ly.r * ly.s == 1) | (cfg.space == "full")
    # (every_tile: every count up to the ladder's largest, not its powers of two alone, so the count a
    # smaller RF of any size holds is one of them)
    (k_in,) = ladder(compute.dtype, range(1, FACTORS[-1] + 1) if cfg.every_tile else FACTORS)
    k = np.minimum(np.minimum(k_in, rfw), kt)  # [C/2, L, A], the same for both modes
    if cfg.tiles == "divisors":
        k = largest_divisor(kt, k)
    new = first_of_runs(k, 0)
    mode = np.repeat(np.arange(2, dtype=compute.dtype), len(k)).reshape(-1, 1, 1)  # [C, 1, 1]
    k, new = np.concatenate([k, k]), np.concatenate([new, new])  # [C, L, A]: taps-inner, then k-inner
    # a depthwise layer's input is read once per MAC either way: its k-inner tile is its taps-inner one
    new = new & ((mode == 0) | ~dw) if DEDUPLICATE else np.ones(k.shape, dtype=bool)
    fl = Flat(new & ((mode == 0) | k_inner_ok), range(len(k)))
    k, mode, comp, dwf, ktf = fl(k), fl(mode), fl(compute), fl(dw), fl(kt)
    d = {x: fl(v) for x, v in dist.items()}
    bw = fl(ad.bw)
    kb = cdiv(ktf, k)
    bounds = (fl(ly.n * pt * qt), fl(ct), kb)
    w = comp * d["w"]                       # 1-word weight register, a new weight every MAC
    i_fills = np.where(mode == 0, comp, np.where(dwf, comp, fl(ly.n * pt * qt * ct * ly.r * ly.s) * kb))
    i = i_fills * d["i"]
    hops = 0.0
    if forwarding:  # inputs shift between neighbouring PEs: the GLB sends the halo tile
        i_fwd = fl(ly.n * pt * qt * tile_h * tile_w) * np.where(
            dwf, fl(uk * kt), fl(np.broadcast_to(ct, kt.shape)) * np.where(mode == 0, ktf, kb))
        hops = np.maximum(i - i_fwd, 0.0)
        i = np.minimum(i, i_fwd)
    # what the array works on at once: uK × k filters, py rows of qx columns, every kernel row
    fixed = port_cycles(dict(w=w, i=i), d, bw, cfg.port)
    words, f, order, port, least, cyc, stall, dram = schedule(
        cfg, ad, fl, floor, lambda: (fl(uk) * k, 1.0, fl(py), fl(qx), np.inf), bw,
        dict(o=(k, d["o"], rel["o"])), bounds, fl(ly.o_tot), comp, fixed, cfg.serial,
        fill_e=lambda: dict(o=fl(2 * act * e_rf / ad.e_glb)))  # (a fill's energy, as local() counts it)
    # k-inner with the operand latch: a dense layer's input register is read once per k_in filters
    macs, act, e_rf = fl(ly.macs), fl(act), fl(e_rf)
    i_reads = macs / np.where((mode == 1) & cfg.hardware.operand_latch & ~dwf, k, 1.0)

    def local(f):
        return (macs * (2 * e_rf + e_reg) + i_reads * e_reg + 2 * f["o"] * act * e_rf
                + (comp + i_fills) * act * e_reg)
    lb = None if least is None else (least.cycles, w + i + least.words["o"], local(least.fills))
    group = Entries(fl, w, i, words["o"], port, local(f), hops, cyc,
                    dict(mode=mode, order=order, c_in=1.0, k_in=k, q_in=1.0, s_in=fl(ly.s)), lb, dram, stall)
    return compute, [group], uk


def rs(cfg: MapperSettings, ly: LayerDims, ad: ArrayDims, e_reg: float, floor=0.0, u=None):
    """Row-stationary (Eyeriss): Y ← R, X ← P; three scratchpads for weights, inputs and psums."""
    hw, tech = cfg.hardware, cfg.tech
    dw, latch = ly.dw, hw.operand_latch
    wbits = hw.word_bits
    # three scratchpads (words): weights, inputs, partial sums (the RF split by hardware.rs_spads, or as
    # given per operand)
    pads = ad.pads if ad.pads is not None else dict(
        zip("wio", (v.astype(ad.rfw.dtype) for v in hw.spad_words(ad.rfw)), strict=True))
    e_b = {x: tech.sram_energy_pj(pads[x] * wbits / 8, wbits) for x in "wio"}
    u = unroll("rs", ly, ad.x, ad.y) if u is None else u
    ry, px, uc, uk, act = u["ry"], u["px"], u["uC"], u["uK"], u["act"]
    rt, pt, kt, ct = cdiv(ly.r, ry), cdiv(ly.p, px), cdiv(ly.k, uk), cdiv(ly.cg, uc)
    compute = ly.n * pt * ly.q * kt * ct * rt * ly.s
    diag = np.minimum((px - 1) * ly.st + ry, px * ry)  # distinct input rows (diagonal multicast)
    dist = dict(w=ry * uc * uk, i=diag * np.where(dw, uk, uc), o=px * uk)
    arrays = dict(pads=pads, e_b=e_b, dist=dist, compute=compute, kt=kt, ct=ct, rt=rt, pt=pt, act=act,
                  bw=ad.bw, floor=floor, u=u, ad=ad)
    if isinstance(floor, EntryDram):
        arrays["caps"] = _filter_caps(cfg, ly, uk, kt, pads["w"])
    groups = []
    gid = 0
    # each candidate also comes with fewer taps per PE and, with a DRAM level per candidate, fewer
    # filters (_rs_group): its variants take the places between it and the next candidate
    # (and, with the port counted per fill, fewer filters again, _fill_counts: ``sub`` places each)
    arrays["sub"] = int(np.max(pads["w"], initial=0)) + 1 if cfg.port == "fill" or cfg.every_tile else 1
    arrays["stride"] = (len(memory.LADDER) + 1 if isinstance(floor, EntryDram) else 1) * arrays["sub"]
    scale = arrays["stride"] * max(int(np.max(ly.s)), 1)
    for stream in (False, True):
        rows = ROW_FACTORS if not stream else tuple(v for v in ROW_FACTORS if v not in (4, 16))
        (q_in,), (c_in,) = ladder(compute.dtype, rows), ladder(compute.dtype, FACTORS)
        q = np.where(q_in == 0, ly.q, np.minimum(q_in, ly.q))  # [Q, L, 1]
        c = np.where(dw, 1.0, np.minimum(c_in, ct))            # [F, L, A]
        if cfg.tiles == "divisors":
            q, c = largest_divisor(ly.q, q), largest_divisor(ct, c)
        n_q, n_c = len(rows), len(FACTORS)  # candidates: every (q_in, c_in), c_in innermost
        new = first_of_runs(q, 0)[:, None] & first_of_runs(c, 0)[None]
        if not DEDUPLICATE:
            new = np.ones(new.shape, dtype=bool)
        # a tile is legal only if its q partial sums fit the psum pad and one tap of its c channels the
        # weight pad (_rs_tile): the others are dropped here already
        new = new & (q <= pads["o"])[:, None] & (c <= pads["w"])[None]
        fl = Flat(np.broadcast_to(new, (n_q, n_c, *c.shape[1:])).reshape(n_q * n_c, *c.shape[1:]),
                  np.arange(gid, gid + n_q * n_c) * scale)
        groups.append(_rs_group(cfg, ly, fl, stream, fl(q, fl.c // n_c), fl(c, fl.c % n_c), arrays, latch))
        gid += n_q * n_c
    if isinstance(floor, EntryDram):
        # the least PE-local tile (one filter, one channel, one output; inputs streamed): its GLB tile
        # holds the spatial unrolling's working set alone, the legal fall-back where no tile fits the GLB
        # (mapper.select); the tiles above take as many filters as the pads hold
        fl = Flat(np.ones((1, *compute.shape), dtype=bool), [gid * scale])
        one = np.ones(len(fl), dtype=compute.dtype)
        groups.append(_rs_group(cfg, ly, fl, True, one, one, arrays, latch, k_one=True))
    return compute, groups, uk


def _rs_tile(cfg: MapperSettings, ly: LayerDims, fl: Flat, stream: bool, q, c, pads, kt):
    """The RS PE-local tile of the entries of ``fl`` (``q``, ``c``, ``pads``, ``kt`` gathered, [M]): the
    taps ``s``, filters ``k`` and input window width that fit the pads, and whether the tile is legal."""
    dw, st, s_l = fl(ly.dw), fl(ly.st), fl(ly.s)
    if not stream:
        # each tile fits its pad: weights k·c·s, input window c·((q−1)·stride + s) (depthwise:
        # one window per filter, k of them), partial sums k·q
        s_ = np.minimum(np.floor(pads["w"] / c), np.floor(pads["i"] / c) - (q - 1) * st)
        s_ = np.minimum(s_l, np.where(dw, np.minimum(pads["w"], pads["i"] - (q - 1) * st), s_))
    else:  # inputs streamed: every MAC's input comes from the GLB (no window is held)
        s_ = np.minimum(s_l, np.floor(pads["w"] / c))
    if cfg.tiles == "divisors":
        s_ = np.where(s_ >= 1, largest_divisor(s_l, s_), s_)
    k, w_ext = _rs_filters(dw, st, stream, pads, q, c, s_, kt)
    valid = (s_ >= 1) & (k >= 1)
    s_, k, w_ext = np.maximum(s_, 1.0), np.maximum(k, 1.0), np.maximum(w_ext, 1.0)
    if cfg.tiles == "divisors":
        k = largest_divisor(kt, k)
    return s_, k, w_ext, valid


def _rs_filters(dw, st, stream: bool, pads, q, c, s_, kt) -> tuple:
    """The most filters per PE (up to the PE's filter loop ``kt``) of an RS tile of ``q`` outputs,
    ``c`` channels and ``s_`` taps, and its input window's width: weights k·c·s and partial sums k·q fit
    their pads, and, inputs held, a depthwise layer's k windows the input pad."""
    w_ext = (q - 1) * st + s_
    k_w = np.floor(pads["w"] / np.maximum(c * s_, 1.0))
    k_dw = k_w if stream else np.minimum(np.floor(pads["i"] / np.maximum(w_ext, 1.0)), k_w)
    return np.minimum(np.minimum(np.where(dw, k_dw, k_w), np.floor(pads["o"] / q)), kt), w_ext


def _with_variants(fl: Flat, at: np.ndarray, gid_add: np.ndarray, q, c, s_, k, w_ext, *, s_at=None, k_at=None,
                   w_at=None) -> tuple:
    """The entries of ``fl`` and, after them, a variant of entry ``at[i]`` for each ``i``: its ``gid``
    plus ``gid_add[i]``, its tile factors the entry's except the taps ``s_at``, filters ``k_at`` and input
    window ``w_at`` given. Returns (entries, q, c, s_, k, w_ext) of both."""
    every = np.concatenate([np.arange(len(fl)), at])
    out = fl.subset(every)
    out.gid = out.gid + np.concatenate([np.zeros(len(fl), dtype=np.intp), gid_add.astype(np.intp)])

    def joined(a, new):
        return a[every] if new is None else np.concatenate([a, new])
    return out, q[every], c[every], joined(s_, s_at), joined(k, k_at), joined(w_ext, w_at)


def _fewer_taps(cfg: MapperSettings, ly: LayerDims, fl: Flat, stream: bool, q, c, s_, k, w_ext, pads, kt,
                stride: int) -> tuple:
    """Each RS entry (``s_`` taps per PE, as many as fit, and ``k`` filters) and, after it, the same
    tile with fewer taps wherever that holds more filters: taking the most taps first would let a bigger
    weight pad, by fitting one more tap, leave fewer filters per PE and a slower mapping (resources stay
    monotone). Every tap count below ``s_`` (a divisor of the kernel width under ``"divisors"``) is
    tried; one is kept where it holds more filters than the next larger count tried (fewer taps with as
    many filters only reload partial sums more often). The variants' ``gid`` is the entry's plus
    ``stride`` per tap left out. Returns the entries with their variants."""
    top = int(s_.max()) if len(fl) else 1
    if top <= 1:
        return fl, q, c, s_, k, w_ext
    d = np.arange(top - 1, 0, -1, dtype=s_.dtype)  # [T], the larger counts first
    some = np.nonzero(s_ > 1)[0]
    tried = d < s_[some, None]  # [M', T]
    if cfg.tiles == "divisors":
        s_l = fl(ly.s)[some, None]
        tried &= s_l == np.floor(s_l / d) * d
    at, t = np.nonzero(tried)  # by entry, then fewer taps
    at, dd = some[at], d[t]
    kd, wd = _rs_filters(fl(ly.dw)[at], fl(ly.st)[at], stream, {x: v[at] for x, v in pads.items()}, q[at],
                         c[at], dd, kt[at])
    if cfg.tiles == "divisors":
        kd = np.where(kd >= 1, largest_divisor(kt[at], np.maximum(kd, 1.0)), kd)
    # the next larger count tried: the entry itself for an entry's first
    prev = k[at]
    later = np.nonzero(at[1:] == at[:-1])[0] + 1
    prev[later] = kd[later - 1]
    keep = np.nonzero((kd >= 1) if cfg.every_tile else (kd > prev))[0]
    if keep.size == 0:
        return fl, q, c, s_, k, w_ext
    at, dd, kd, wd = at[keep], dd[keep], kd[keep], wd[keep]
    gid_add = (s_[at] - dd).astype(np.intp) * stride
    return _with_variants(fl, at, gid_add, q, c, s_, k, w_ext, s_at=dd, k_at=kd, w_at=wd)


def _filter_caps(cfg: MapperSettings, ly: LayerDims, uk, kt, most) -> np.ndarray:
    """Per rung of the DRAM ladder's filter tiles (:data:`.memory.LADDER`) and (layer, accelerator), the
    most filters per PE whose ``uK`` copies fit the rung's tile, up to ``most`` (the weight pad: no tile
    holds more) ([J, L, A]; 0: none; with ``mapper_tiles="divisors"`` the largest divisor of the PE's
    filter loop ``kt`` that fits). The tiles fall along the ladder, and so do these."""
    kg = np.where(ly.dw, ly.k, ly.k / ly.g)
    tile = memory.ladder_tile(kg, np.asarray(memory.LADDER, dtype=kg.dtype).reshape(-1, 1, 1))  # [J, L, 1]
    cap = np.minimum(np.floor(tile / uk), most)
    cap = np.broadcast_to(cap, (len(memory.LADDER), *np.broadcast_shapes(kg.shape, np.shape(uk))))
    if cfg.tiles == "divisors":
        cap = np.where(cap >= 1, largest_divisor(np.broadcast_to(kt, cap.shape), np.maximum(cap, 1.0)), 0.0)
    return cap


def _fewer_filters(fl: Flat, caps: np.ndarray, q, c, s_, k, w_ext, sub: int = 1, lower: bool = False
                   ) -> tuple:
    """With a DRAM level per candidate: each RS entry (``k`` filters per PE, as many as its pads hold)
    and, after it, the same tile with fewer filters, as many as fit each smaller filter tile of the DRAM
    ladder (``caps``, :func:`_filter_caps`): the GLB tiles must hold ``uK × k`` filters, so a tile with
    more filters may leave only worse DRAM schedules, and a bigger pad (more filters) must not take away
    the schedules a smaller one had (resources stay monotone). ``k`` is at most the weight pad and,
    under ``"divisors"``, a divisor of the PE's filter loop, so the filters a rung leaves are
    ``min(cap, k)``. Returns the entries with their variants (``gid``: the entry's plus ``sub`` per
    rung) and, last, with ``lower`` the most filters below each entry's that a smaller filter tile holds
    (0: none; :func:`_fill_counts` tries no fewer), else None."""
    kv = np.minimum(caps.reshape(len(caps), -1).take(fl.pair, axis=1), k)  # [J, M]
    # a rung adds a variant where it holds fewer filters than the rung before (or the entry itself)
    step, at = np.nonzero((kv >= 1) & (kv < np.concatenate([k[None], kv[:-1]])))
    kd = kv[step, at]
    out = (fl, q, c, s_, k, w_ext) if at.size == 0 else _with_variants(fl, at, (step + 1) * sub, q, c, s_, k,
                                                                       w_ext, k_at=kd)
    if not lower:
        return *out, None
    below = np.max(np.where(kv < k, kv, 0.0), axis=0)
    if at.size:
        kv_at = kv[:, at]
        below = np.concatenate([below, np.max(np.where(kv_at < kd, kv_at, 0.0), axis=0)])
    return *out, below


def _fill_counts(cfg: MapperSettings, ly: LayerDims, fl: Flat, stream: bool, latch: bool, q, c, s_, k, w_ext,
                 arrays: dict, lower) -> tuple:
    """With the GLB port counted per tile fill (``glb_port="fill"``): each RS entry (``k`` filters per
    PE) and, after it, the same tile with each fewer filter count that no larger count between it and
    ``k`` matches in every respect. A fill of ``n`` words takes ``ceil(n / bw)`` port cycles, so a
    smaller fill may end on an access boundary where a bigger one does not: a bigger pad, by fitting
    more filters, must not take away the better-aligned fills a smaller pad had (resources stay
    monotone). A count ``d`` is matched by a larger count ``d''`` (between ``d`` and ``k``) that fits
    the same GLB filter tiles of the DRAM ladder (above ``lower``, the entry's next smaller rung of
    :func:`_fewer_filters`, 0 without a DRAM level per candidate), fills
    no more PE tiles (``d'' · ceil(kt / d'') <= d · ceil(kt / d)``, equal under ``"divisors"``) and
    costs no more port cycles per word of each operand whose tile holds the filters (weights, partial
    sums; a depthwise layer's held inputs); a streamed dense tile of one filter takes another innermost
    loop (its inputs are not latched across filters) and is always kept. Only counts of the tile ladder
    are tried (divisors of the PE's filter loop ``kt`` under ``"divisors"``). Returns the entries with
    their variants (``gid``: the entry's plus the filters left out)."""
    kt = fl(arrays["kt"])
    some = np.nonzero(k > lower + 1)[0]
    if some.size == 0:
        return fl, q, c, s_, k, w_ext
    dw = fl(ly.dw)[some]
    bw, kt_s, k_s, lo = fl(arrays["bw"])[some], kt[some], k[some], lower[some]
    dist = {x: fl(v)[some] for x, v in arrays["dist"].items()}
    per_w = {"w": c[some] * s_[some], "o": q[some], "i": np.where(dw & (not stream), w_ext[some], 0.0)}
    streamed_one = stream and latch  # a streamed dense tile of one filter: another innermost loop

    def key(d):  # what a count costs: per-word port cycles of the operands it sizes, PE tiles filled
        out = [fill_per_word(d * per_w[x], dist[x], bw, cfg.port) for x in ("w", "o")]
        out.append(np.where(per_w["i"] > 0, fill_per_word(np.maximum(d * per_w["i"], 1.0), dist["i"], bw,
                                                          cfg.port), 0.0))
        out.append(d * cdiv(kt_s, d))
        return out

    seen = [key(k_s)]
    rows, counts = [], []
    d = k_s
    while True:
        prev_d = d
        d = largest_divisor(kt_s, d - 1) if cfg.tiles == "divisors" else np.maximum(d - 1, 1.0)
        live = (d > lo) & (d < prev_d)
        if not np.any(live):
            break
        kd = key(d)
        matched = np.zeros(d.shape, dtype=bool)
        for prev in seen:
            matched |= np.logical_and.reduce([p <= x for p, x in zip(prev, kd, strict=True)])
        if streamed_one:
            matched &= ~((d == 1) & ~dw)
        if not PRUNE_FILL_COUNTS or cfg.every_tile:
            matched[:] = False
        new = np.nonzero(live & ~matched)[0]
        rows.append(some[new])
        counts.append(d[new])
        seen.append(kd)
        d = np.where(live, d, 1.0)  # a finished row stays at 1 (no count below it)
    at = np.concatenate(rows) if rows else np.zeros(0, dtype=np.intp)
    if at.size == 0:
        return fl, q, c, s_, k, w_ext
    kd = np.concatenate(counts)
    order = np.argsort(at, kind="stable")  # by entry, then fewer filters
    at, kd = at[order], kd[order]
    return _with_variants(fl, at, k[at] - kd, q, c, s_, k, w_ext, k_at=kd)


def _rs_group(cfg: MapperSettings, ly: LayerDims, fl: Flat, stream: bool, q, c, arrays: dict,
              latch: bool, k_one: bool = False) -> Entries:
    """One RS candidate group (inputs held in the input pad, or ``stream``-ed from the GLB) at the
    entries of ``fl``; ``q``, ``c``: the entries' tile factors, ``arrays``: the dataflow's [L, A]
    quantities. Only the legal tiles go on to the GLB-level order and the choice."""
    pads, kt = {x: fl(v) for x, v in arrays["pads"].items()}, fl(arrays["kt"])
    s_, k, w_ext, valid = _rs_tile(cfg, ly, fl, stream, q, c, pads, kt)
    if k_one:  # one filter per PE (fits the pads whenever one tap of one channel does)
        k, valid = np.ones_like(k), s_ >= 1
    if not valid.all():  # an illegal tile is never chosen: drop it here
        idx = np.nonzero(valid)[0]
        fl, q, c, s_, k, w_ext = fl.subset(idx), q[idx], c[idx], s_[idx], k[idx], w_ext[idx]
        pads, kt = {x: v[idx] for x, v in pads.items()}, kt[idx]
    if not k_one:
        fl, q, c, s_, k, w_ext = _fewer_taps(cfg, ly, fl, stream, q, c, s_, k, w_ext, pads, kt,
                                             arrays["stride"])
    fill = (cfg.port == "fill" or cfg.every_tile) and not k_one
    lower = np.zeros_like(k)  # the most filters below k that a smaller GLB filter tile holds (0: none)
    if isinstance(arrays["floor"], EntryDram) and not k_one:
        fl, q, c, s_, k, w_ext, below = _fewer_filters(fl, arrays["caps"], q, c, s_, k, w_ext, arrays["sub"],
                                                       lower=fill)
        lower = lower if below is None else below
    if fill:
        fl, q, c, s_, k, w_ext = _fill_counts(cfg, ly, fl, stream, latch, q, c, s_, k, w_ext, arrays, lower)
    g = {x: fl(arrays[x]) for x in ("compute", "kt", "ct", "rt", "pt", "act", "bw")}
    e_b = {x: fl(v) for x, v in arrays["e_b"].items()}
    dist = {x: fl(v) for x, v in arrays["dist"].items()}
    compute, act, bw = g["compute"], g["act"], g["bw"]
    # what the array works on at once: uK × k filters, uC × c channels, px rows of q columns, every
    # kernel row
    u = arrays["u"]
    cover = lambda: (fl(u["uK"]) * k, fl(u["uC"]) * c, fl(u["px"]), q, np.inf)  # noqa: E731
    dw, s_l, q_l = fl(ly.dw), fl(ly.s), fl(ly.q)
    rel = dict(w=(False, True, True), i=(True, True, dw), o=(True, False, True))
    bounds = (fl(ly.n) * g["pt"] * cdiv(q_l, q), cdiv(g["ct"], c) * g["rt"] * cdiv(s_l, s_), cdiv(g["kt"], k))
    fp = dict(w=k * c * s_, i=np.where(dw, k, c) * w_ext, o=k * q)
    macs = fl(ly.macs)
    # the PE's innermost loop (RS_MODES): a weight or input it does not depend on stays latched
    # at the MAC and is read once per run (q-inner: weights; k-inner: inputs of a dense layer)
    q_lat = q if latch else np.ones_like(q)

    def fill_e(xs):  # a fill's PE-local energy in GLB accesses, as local() below counts it
        e_glb = fl(arrays["ad"].e_glb)
        return {x: (2 if x == "o" else 1) * e_b[x] * act / e_glb for x in xs}
    if not stream:
        ops = {x: (fp[x], dist[x], rel[x]) for x in fp}
        words, f, order, port, least, cyc, stall, dram = schedule(
            cfg, arrays["ad"], fl, arrays["floor"], cover, bw, ops, bounds, fl(ly.o_tot), compute,
            serial=cfg.serial, fill_e=lambda: fill_e(("w", "i", "o")))
        k_lat = np.where(dw | (not latch), 1.0, k)
        save = np.stack([np.zeros_like(q * k), e_b["w"] * (1 - 1 / q_lat), e_b["i"] * (1 - 1 / k_lat)])
        mode = np.argmax(save >= save.max(0) * (1 - TIE) + (save.max(0) == 0), axis=0)

        def local(f, saved=save.max(0)):
            return (macs * (e_b["w"] + e_b["i"] + 2 * e_b["o"] - saved)
                    + (f["w"] * e_b["w"] + f["i"] * e_b["i"] + 2 * f["o"] * e_b["o"]) * act)
        lb = None if least is None else (least.cycles, sum(least.words.values()), local(least.fills))
    else:
        # every MAC's input comes from the GLB (a write into the input pad and one read), or once
        # per k filters with k innermost (dense layers: the latch holds it across them)
        kin = ~dw & (k > 1) & latch
        f_i = compute / np.where(kin, k, 1.0)
        i_words = f_i * dist["i"]
        ops = {x: (fp[x], dist[x], rel[x]) for x in ("w", "o")}
        i_port = port_cycles(dict(i=i_words), dist, bw, cfg.port)
        words, f, order, port, least, cyc, stall, dram = schedule(
            cfg, arrays["ad"], fl, arrays["floor"], cover, bw, ops, bounds, fl(ly.o_tot), compute, i_port,
            cfg.serial, fill_e=lambda: fill_e(("w", "o")))
        words = {**words, "i": i_words}
        w_reads = macs / np.where(kin, 1.0, q_lat)
        mode = np.where(kin, 5.0, np.where(q_lat > 1, 4.0, 3.0))

        def local(f):
            return (w_reads * e_b["w"] + 2 * macs * e_b["o"] + 2 * f_i * act * e_b["i"]
                    + (f["w"] * e_b["w"] + 2 * f["o"] * e_b["o"]) * act)
        lb = None if least is None else (least.cycles, least.words["w"] + i_words + least.words["o"],
                                         local(least.fills))
    fields = dict(mode=mode.astype(compute.dtype), order=order, c_in=c, k_in=k, q_in=q, s_in=s_)
    return Entries(fl, words["w"], words["i"], words["o"], port, local(f), 0.0, cyc, fields, lb, dram, stall)


DATAFLOW_MAPPERS = {"ws": ws, "os": os_, "rs": rs}
