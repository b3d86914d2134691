"""Mapping candidates of the three dataflows (docs/cost-model.md, "Spatial mapping" and "Mapper").

Each function returns ``(compute cycles, candidates, uK)`` for one dataflow's accelerators: [L, A]
arrays of per-PE temporal iterations, a list of :class:`~.mapper.Candidate` (PE-local tile + its best
GLB-level order), and the filters (depthwise: channels) in flight on the array. ``floor`` ([L, A]
cycles) is the DRAM schedule's bound, which no array mapping can beat: GLB-level orders faster than it
tie, and the one with fewer GLB words is kept.
"""

from __future__ import annotations

import itertools

import numpy as np

from .dims import ArrayDims, LayerDims
from .mapper import TIE, Candidate, Distinct, MapperSettings, best_order, port_cycles
from .spatial import cdiv, largest_divisor, unroll

# RF tile factors the mapper tries for a channel loop (and, for RS, the output-row loop; 0 = whole row)
FACTORS: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
ROW_FACTORS: tuple[int, ...] = (1, 4, 16, 0)
OS_MODES: tuple[str, ...] = ("taps-inner", "k-inner")
# RS: the PE's innermost loop, with the input window in its pad or the inputs streamed from the GLB
RS_MODES: tuple[str, ...] = ("taps-inner", "q-inner", "k-inner", "streamed taps-inner", "streamed q-inner",
                             "streamed k-inner")


def ws(cfg: MapperSettings, ly: LayerDims, ad: ArrayDims, e_reg: float, floor=0.0):
    """Weight-stationary: Y ← Cg (spare rows replicate K), X ← K; RF: weights of ``c_in`` channels."""
    bw = ad.bw
    rfw, e_rf = ad.rfw, ad.e_rf
    u = unroll("ws", ly, ad.x, ad.y)
    uk, act = u["uK"], u["act"]
    kt, ct = cdiv(ly.k, uk), cdiv(ly.cg, u["cy"])
    compute = ly.n * ly.p * ly.q * ly.r * ly.s * kt * ct
    taps = ly.r * ly.s
    s_in = np.minimum(taps, rfw)            # taps of one weight chunk in the RF
    if cfg.tiles == "divisors":
        s_in = largest_divisor(taps, s_in)
    n_tc = cdiv(taps, s_in)
    pairs = np.floor(rfw / taps)            # (channel) filters whose taps all fit
    dist = dict(w=act, i=np.where(ly.dw, uk, u["cy"]), o=uk)
    rel = dict(w=(False, True, True), o=(True, False, True))
    cands = []
    distinct = Distinct()
    for c_in in FACTORS:
        c = np.where(pairs >= c_in, np.minimum(c_in, ct), 1.0)
        if cfg.tiles == "divisors":
            c = largest_divisor(ct, c)
        if not distinct.new(c):
            continue
        bounds = (ly.n * ly.p * ly.q, cdiv(ct, c) * n_tc, kt)
        ops = dict(w=(c * s_in, dist["w"], rel["w"]), o=(np.ones_like(c), dist["o"], rel["o"]))
        i = compute * dist["i"]             # 1-word input register, taps innermost: a word per MAC
        words, f, order, port, least = best_order(cfg, bw, floor, ops, bounds, ly.o_tot, compute,
                                                  port_cycles(dict(i=i), dist, bw))
        w, o = words["w"], words["o"]

        def local(f):
            return ly.macs * (e_rf + 3 * e_reg) + f["w"] * act * e_rf + (compute + 2 * f["o"]) * act * e_reg
        lb = None if least is None else (least.cycles, least.words["w"] + i + least.words["o"],
                                         local(least.fills))
        cands.append(Candidate(np.ones_like(compute, dtype=bool), w, i, o, port, local(f),
                               np.zeros_like(compute),
                               dict(mode=0.0, order=order, c_in=c, k_in=1.0, q_in=1.0, s_in=s_in), lb))
    return compute, cands, uk


def os_(cfg: MapperSettings, ly: LayerDims, ad: ArrayDims, e_reg: float, floor=0.0):
    """Output-stationary: X ← Q, Y ← P (spare PEs replicate K); RF: ``k_in`` partial sums."""
    bw = ad.bw
    rfw, e_rf, dw, st = ad.rfw, ad.e_rf, ly.dw, ly.st
    u = unroll("os", ly, ad.x, ad.y)
    qx, py, uk, act = u["qx"], u["py"], u["uK"], u["act"]
    pt, qt, kt, ct = cdiv(ly.p, py), cdiv(ly.q, qx), cdiv(ly.k, uk), ly.cg
    compute = ly.n * pt * qt * kt * ct * ly.r * ly.s
    dist = dict(w=uk, i=qx * py * np.where(dw, uk, 1.0), o=act)
    rel = dict(o=(True, False, True))
    forwarding = cfg.hardware.noc == "forwarding"
    tile_h = np.minimum((py - 1) * st + ly.r, ly.h + 2 * ly.pad)
    tile_w = np.minimum((qx - 1) * st + ly.s, ly.w + 2 * ly.pad)
    cands = []
    # k-inner puts K inside the taps: outside the taps-innermost space unless the kernel is 1x1
    k_inner_ok = np.broadcast_to((ly.r * ly.s == 1) | (cfg.space == "full"), compute.shape)
    distinct = Distinct()
    for mode, k_in in itertools.product(range(2), FACTORS):
        k = np.minimum(np.minimum(k_in, rfw), kt)
        if cfg.tiles == "divisors":
            k = largest_divisor(kt, k)
        if not distinct.new(mode, k):
            continue
        kb = cdiv(kt, k)
        bounds = (ly.n * pt * qt, ct, kb)
        w = compute * dist["w"]             # 1-word weight register, a new weight every MAC
        i_fills = compute if mode == 0 else np.where(dw, compute, ly.n * pt * qt * ct * ly.r * ly.s * kb)
        i = i_fills * dist["i"]
        hops = np.zeros_like(i)
        if forwarding:  # inputs shift between neighbouring PEs: the GLB sends the halo tile
            i_fwd = ly.n * pt * qt * tile_h * tile_w * np.where(dw, uk * kt, ct * (kt if mode == 0 else kb))
            hops = np.maximum(i - i_fwd, 0.0)
            i = np.minimum(i, i_fwd)
        words, f, order, port, least = best_order(cfg, bw, floor, dict(o=(k, dist["o"], rel["o"])), bounds,
                                                  ly.o_tot, compute, port_cycles(dict(w=w, i=i), dist, bw))
        o = words["o"]
        # k-inner with the operand latch: a dense layer's input register is read once per k_in filters
        i_reads = ly.macs / np.where((mode == 1) & cfg.hardware.operand_latch & ~dw, k, 1.0)

        def local(f, i_reads=i_reads, i_fills=i_fills):
            return (ly.macs * (2 * e_rf + e_reg) + i_reads * e_reg + 2 * f["o"] * act * e_rf
                    + (compute + i_fills) * act * e_reg)
        lb = None if least is None else (least.cycles, w + i + least.words["o"], local(least.fills))
        valid = np.ones_like(compute, dtype=bool) if mode == 0 else k_inner_ok
        cands.append(Candidate(valid, w, i, o, port, local(f), hops,
                               dict(mode=float(mode), order=order, c_in=1.0, k_in=k, q_in=1.0, s_in=ly.s),
                               lb))
    return compute, cands, uk


def rs(cfg: MapperSettings, ly: LayerDims, ad: ArrayDims, e_reg: float, floor=0.0):
    """Row-stationary (Eyeriss): Y ← R, X ← P; three scratchpads for weights, inputs and psums."""
    hw, tech = cfg.hardware, cfg.tech
    bw, dw, st, latch = ad.bw, ly.dw, ly.st, hw.operand_latch
    wbits = hw.word_bits
    # the RF is three fixed scratchpads (words): weights, inputs, partial sums
    pads = dict(zip("wio", (v.astype(ad.rfw.dtype) for v in hw.spad_words(ad.rfw)), strict=True))
    e_b = {x: tech.sram_energy_pj(pads[x] * wbits / 8, wbits) for x in "wio"}
    u = unroll("rs", ly, ad.x, ad.y)
    ry, px, uc, uk, act = u["ry"], u["px"], u["uC"], u["uK"], u["act"]
    rt, pt, kt, ct = cdiv(ly.r, ry), cdiv(ly.p, px), cdiv(ly.k, uk), cdiv(ly.cg, uc)
    compute = ly.n * pt * ly.q * kt * ct * rt * ly.s
    diag = np.minimum((px - 1) * st + ry, px * ry)  # distinct input rows (diagonal multicast)
    dist = dict(w=ry * uc * uk, i=diag * np.where(dw, uk, uc), o=px * uk)
    rel = dict(w=(False, True, True), i=(True, True, dw), o=(True, False, True))
    cands = []
    distinct = Distinct()
    qc: dict[tuple[int, int], tuple] = {}  # the (q, c) of each (q_in, c_in), for both variants
    for stream, q_in, c_in in itertools.product((False, True), ROW_FACTORS, FACTORS):
        if stream and q_in in (4, 16):  # streamed inputs: a single output or the whole row
            continue
        if (q_in, c_in) not in qc:
            q = ly.q if q_in == 0 else np.minimum(q_in, ly.q)
            c = np.where(dw, 1.0, np.minimum(c_in, ct))
            if cfg.tiles == "divisors":
                q, c = largest_divisor(ly.q, q), largest_divisor(ct, c)
            qc[q_in, c_in] = q, c
        q, c = qc[q_in, c_in]
        if not distinct.new(stream, q, c):
            continue
        if not stream:
            # each tile fits its pad: weights k·c·s, input window c·((q−1)·stride + s) (depthwise:
            # one window per filter, k of them), partial sums k·q
            s_ = np.minimum(np.floor(pads["w"] / c), np.floor(pads["i"] / c) - (q - 1) * st)
            s_ = np.minimum(ly.s, np.where(dw, np.minimum(pads["w"], pads["i"] - (q - 1) * st), s_))
        else:  # inputs streamed: every MAC's input comes from the GLB (no window is held)
            s_ = np.minimum(ly.s, np.floor(pads["w"] / c))
        if cfg.tiles == "divisors":
            s_ = np.where(s_ >= 1, largest_divisor(ly.s, s_), s_)
        w_ext = (q - 1) * st + s_
        k_w = np.floor(pads["w"] / np.maximum(c * s_, 1.0))
        k_dw = k_w if stream else np.minimum(np.floor(pads["i"] / np.maximum(w_ext, 1.0)), k_w)
        k = np.minimum(np.minimum(np.where(dw, k_dw, k_w), np.floor(pads["o"] / q)), kt)
        valid = (s_ >= 1) & (k >= 1)
        s_, k, w_ext = np.maximum(s_, 1.0), np.maximum(k, 1.0), np.maximum(w_ext, 1.0)
        if cfg.tiles == "divisors":
            k = largest_divisor(kt, k)
        bounds = (ly.n * pt * cdiv(ly.q, q), cdiv(ct, c) * rt * cdiv(ly.s, s_), cdiv(kt, k))
        fp = dict(w=k * c * s_, i=np.where(dw, k, c) * w_ext, o=k * q)
        # the PE's innermost loop (RS_MODES): a weight or input it does not depend on stays latched
        # at the MAC and is read once per run (q-inner: weights; k-inner: inputs of a dense layer)
        q_lat = q if latch else np.ones_like(q)
        if not stream:
            ops = {x: (fp[x], dist[x], rel[x]) for x in fp}
            words, f, order, port, least = best_order(cfg, bw, floor, ops, bounds, ly.o_tot, compute)
            k_lat = np.where(dw | (not latch), 1.0, k)
            save = np.stack([np.zeros_like(q * k), e_b["w"] * (1 - 1 / q_lat), e_b["i"] * (1 - 1 / k_lat)])
            mode = np.argmax(save >= save.max(0) * (1 - TIE) + (save.max(0) == 0), axis=0)

            def local(f, saved=save.max(0)):
                return (ly.macs * (e_b["w"] + e_b["i"] + 2 * e_b["o"] - saved)
                        + (f["w"] * e_b["w"] + f["i"] * e_b["i"] + 2 * f["o"] * e_b["o"]) * act)
            lb = None if least is None else (least.cycles, sum(least.words.values()), local(least.fills))
        else:
            # every MAC's input comes from the GLB (a write into the input pad and one read), or once
            # per k filters with k innermost (dense layers: the latch holds it across them)
            kin = ~dw & (k > 1) & latch
            f_i = compute / np.where(kin, k, 1.0)
            i_words = f_i * dist["i"]
            ops = {x: (fp[x], dist[x], rel[x]) for x in ("w", "o")}
            words, f, order, port, least = best_order(cfg, bw, floor, ops, bounds, ly.o_tot, compute,
                                                      port_cycles(dict(i=i_words), dist, bw))
            words = {**words, "i": i_words}
            w_reads = ly.macs / np.where(kin, 1.0, q_lat)
            mode = np.where(kin, 5.0, np.where(q_lat > 1, 4.0, 3.0))

            def local(f, w_reads=w_reads, f_i=f_i):
                return (w_reads * e_b["w"] + 2 * ly.macs * e_b["o"] + 2 * f_i * act * e_b["i"]
                        + (f["w"] * e_b["w"] + 2 * f["o"] * e_b["o"]) * act)
            lb = None if least is None else (least.cycles, least.words["w"] + i_words + least.words["o"],
                                             local(least.fills))
        cands.append(Candidate(valid, words["w"], words["i"], words["o"], port, local(f), 0.0 * compute,
                               dict(mode=mode.astype(compute.dtype), order=order, c_in=c, k_in=k, q_in=q,
                                    s_in=s_), lb))
    return compute, cands, uk


DATAFLOW_MAPPERS = {"ws": ws, "os": os_, "rs": rs}
