"""``dram_tiles="hold-array"``: the DRAM schedule is chosen per array-level mapping candidate, so the
GLB tile of the mapping the model reports holds everything the array works on at once — the spatial
unrolling times the PE-local tile (docs/cost-model.md, "GLB ↔ DRAM") — and the reported schedule costs
what the model charges. Checked over hypothesis layers and designs, with every GLB size from one that
holds nothing to one that holds everything."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hdx.cost.analytical import AnalyticalModel, memory
from hdx.cost.analytical.dims import LayerDims
from hdx.cost.analytical.spatial import unroll, working_set
from hdx.space.accelerator import DATAFLOWS, Accelerator, AcceleratorSpace, AccelTable
from hdx.workload import Layer, LayerTable

# the double buffering's (eyeriss_like's own is zigzag): the options below are given explicitly
HW = AcceleratorSpace.load().hardware.model_copy(update={"glb_buffering": "double"})
HELD = AnalyticalModel(HW, dram_tiles="hold-array", precision="float64")
SINGLE = AnalyticalModel(HW, dram_tiles="hold-array", precision="float64", glb_buffering="single")
OVERLAP = AnalyticalModel(HW, dram_tiles="hold-array", precision="float64", glb_buffering="overlap")


@st.composite
def cases(draw):
    kind = draw(st.sampled_from(["conv", "depthwise", "pointwise"]))
    c = draw(st.sampled_from([3, 8, 16, 48, 96, 384]))
    k = c if kind == "depthwise" else draw(st.sampled_from([8, 16, 40, 64, 128]))
    hw_ = draw(st.sampled_from([4, 7, 8, 16, 32]))
    r = 1 if kind == "pointwise" else draw(st.sampled_from([3, 5, 7]))
    stride = draw(st.sampled_from([1, 2]))
    layer = Layer(kind, c=c, k=k, h=hw_, w=hw_, r=r, s=r, stride=stride, padding=r // 2,
                  groups=c if kind == "depthwise" else 1)
    accs = [Accelerator(pe_x=draw(st.integers(2, 32)), pe_y=draw(st.integers(2, 32)),
                        rf_bytes=draw(st.sampled_from([16, 64, 256])), dataflow=df,
                        glb_kib=draw(st.sampled_from([1, 4, 16, 64, 512]))) for df in DATAFLOWS]
    return layer, accs


def _cover(layer: Layer, acc: Accelerator, m: dict) -> tuple:
    """The spatial unrolling of ``acc`` on ``layer`` and what a mapping ``m`` (one pair's fields) covers
    at once: (K, C, rows, columns, kernel rows)."""
    ly = LayerDims.of(LayerTable([layer]), np.float64)
    q = int(ly.q[0, 0])
    u = {key: np.asarray(v).reshape(-1)[0] for key, v in
         unroll(acc.dataflow, ly, np.array([[float(acc.pe_x)]]), np.array([[float(acc.pe_y)]])).items()}
    if acc.dataflow == "ws":  # uK filters, cy x c_in channels, the kernel rows of a tap chunk
        return u, (u["uK"], u["cy"] * m["c_in"], 1, 1, np.ceil(m["s_in"] / layer.s))
    if acc.dataflow == "os":  # uK x k_in filters, py rows of qx columns, every kernel row
        return u, (u["uK"] * m["k_in"], 1, u["py"], u["qx"], layer.r)
    # RS: uK x k_in filters, uC x c_in channels, px rows of q_in columns, every kernel row
    return u, (u["uK"] * m["k_in"], u["uC"] * m["c_in"], u["px"], q if m["q_in"] == 0 else m["q_in"], layer.r)


def _fits(layer: Layer, acc: Accelerator):
    """Whether some double-buffered schedule of ``layer`` on ``acc``'s GLB holds a cover."""
    ly = LayerDims.of(LayerTable([layer]), np.float64)
    grid = memory.held_grid(ly, np.array([[acc.glb_kib * 1024 * 8 / HW.word_bits]]), fields=False)

    def fits(c) -> bool:
        _, _, fit, _ = memory.held_lookup(grid, tuple(np.array([float(f)]) for f in c), np.array([0]),
                                          np.array([0]), fields=False)
        return bool(fit[0])
    return fits


# a GLB too small for the whole layer, where a WS PE-local tile of many channels pays (found by hand)
TIGHT = (Layer("pointwise", c=128, k=384, h=8, w=8),
         [Accelerator(pe_x=8, pe_y=8, rf_bytes=64, dataflow=df, glb_kib=4) for df in DATAFLOWS])


@settings(max_examples=40, deadline=None)
@given(cases())
@example(TIGHT)
@example((Layer("pointwise", c=48, k=40, h=7, w=7),
          [Accelerator(pe_x=4, pe_y=4, rf_bytes=64, dataflow=df, glb_kib=1) for df in DATAFLOWS]))
def test_the_glb_tile_holds_what_the_chosen_mapping_covers(case):
    layer, accs = case
    table = AccelTable.from_accels(accs)
    res = HELD.evaluate(LayerTable([layer]), table)
    m = {k: v[0] for k, v in res.mapping.items()}
    ly = LayerDims.of(LayerTable([layer]), np.float64)
    kg = layer.k if layer.kind == "depthwise" else layer.k // layer.groups
    cg = layer.c // layer.groups
    p, q = int(ly.p[0, 0]), int(ly.q[0, 0])
    for j, acc in enumerate(accs):
        u, cover = _cover(layer, acc, {k: v[j] for k, v in m.items()})
        tile = (m["dram_kt"][j], m["dram_ct"][j], m["dram_bt"][j], m["dram_qt"][j], m["dram_rt"][j])
        e_d = HELD.tech.dram_energy_pj(HW.word_bits)
        words = m["dram_w"][j] + m["dram_i"][j] + m["dram_o"][j]
        holds = all(t >= min(f, dim) for t, f, dim in zip(tile, cover, (kg, cg, p, q, layer.r), strict=True))
        # the mapping's GLB tiles hold what it covers (fitting the GLB, or the smallest that holds it)
        assert holds, (acc, tile, cover)
        # tiles that do not fit the GLB only where no candidate's fit, not even the least cover's (the
        # spatial unrolling's working set alone)
        fits = _fits(layer, acc)
        if not fits(cover):
            assert not fits(working_set(acc.dataflow, u)), (acc, tile, cover)
        # the reported schedule's words are what the model charges for DRAM
        np.testing.assert_allclose(res.energy_pj["dram"][0, j], words * e_d, rtol=1e-9)
        # double-buffered: the transfers overlap the array side (compute and the psum store's stall, GLB
        # port)
        array = max(res.compute_cycles[0, j] + m["psum_stall"][j], m["glb_cycles"][j])
        np.testing.assert_allclose(res.latency_cycles[0, j],
                                   max(array, words * HW.word_bytes / HW.dram_bytes_per_cycle), rtol=1e-9)


def _dram_words(model: AnalyticalModel, case) -> tuple:
    """(costs, DRAM words of the chosen mappings [A], dram_words [A]) of ``case`` on ``model``."""
    layer, accs = case
    lt, table = LayerTable([layer]), AccelTable.from_accels(accs)
    res = model.evaluate(lt, table)
    words = res.energy_pj["dram"][0] / model.tech.dram_energy_pj(HW.word_bits)
    return res, words, model.dram_words(lt, table)[0]


@settings(max_examples=30, deadline=None)
@given(cases())
def test_a_single_buffered_glb_stalls_for_dram(case):
    # glb_buffering="single": latency = array side + DRAM cycles
    res, words, _ = _dram_words(SINGLE, case)
    array = np.maximum(res.compute_cycles[0] + res.mapping["psum_stall"][0], res.mapping["glb_cycles"][0])
    np.testing.assert_allclose(res.latency_cycles[0], array + words * HW.word_bytes / HW.dram_bytes_per_cycle,
                               rtol=1e-9)


@settings(max_examples=30, deadline=None)
@given(cases())
def test_an_overlapped_glb_stores_each_tile_once(case):
    # glb_buffering="overlap" (Timeloop's steady state): the transfers overlap the array side as with
    # "double", while every tile takes its space once as with "single" — so the fewest DRAM words it
    # allows are single's
    res, words, lower = _dram_words(OVERLAP, case)
    array = np.maximum(res.compute_cycles[0] + res.mapping["psum_stall"][0], res.mapping["glb_cycles"][0])
    np.testing.assert_allclose(res.latency_cycles[0],
                               np.maximum(array, words * HW.word_bytes / HW.dram_bytes_per_cycle), rtol=1e-9)
    np.testing.assert_array_equal(lower, _dram_words(SINGLE, case)[2])


@settings(max_examples=30, deadline=None)
@given(cases(), st.sampled_from([HELD, SINGLE, OVERLAP]))
def test_dram_words_bound_the_chosen_mappings_from_below(case, model):
    # dram_words (no array mapping: the best schedule holding the spatial unrolling's working set that
    # fits the GLB, or the fewest words holding it where none fits) is at most what any chosen mapping
    # moves, as the hardware search's bounds need
    _, words, lower = _dram_words(model, case)
    assert np.all(lower <= words * (1 + 1e-9))


@settings(max_examples=40, deadline=None)
@given(cases())
# found by a review: K = 512 on a 6x10 RS array (3 filters on the spare columns, 171 per PE) took 5
@example((Layer("pointwise", c=16, k=512, h=8, w=8),
          [Accelerator(pe_x=6, pe_y=10, rf_bytes=256, dataflow="rs", glb_kib=8)]))
def test_rs_tiles_with_fewer_filters_still_divide_the_filter_loop(case):
    # mapper_tiles="divisors" (the default): the RS tiles with fewer filters per PE (kept so that a bigger
    # pad never takes a schedule away) are perfect factorisations too
    layer, accs = case
    rs = [a for a in accs if a.dataflow == "rs"]
    table = AccelTable.from_accels(rs)
    k_in = HELD.evaluate(LayerTable([layer]), table).mapping["k_in"][0]
    ly = LayerDims.of(LayerTable([layer]), np.float64)
    u = unroll("rs", ly, table.pe_x[None, :].astype(float), table.pe_y[None, :].astype(float))
    kt = np.ceil(layer.k / u["uK"][0])
    assert np.all(np.fmod(kt, k_in) == 0), (kt, k_in)


ZIGZAG = AnalyticalModel(HW, dram_tiles="hold-array", precision="float64", glb_buffering="zigzag")


def _two_filter_tiles(c: int, k: int) -> tuple:
    """The schedule grid (each tile once, per-operand parts) of a 1x1 conv, ``c`` -> ``k`` on 8x8
    outputs, and its cell of two filter tiles (one of C, Y, X, whole kernel rows)."""
    ly = LayerDims.of(LayerTable([Layer("pointwise", c=c, k=k, h=8, w=8)]), np.float64)
    g = memory._grid(ly, memory.HELD_LADDERS, memory.ORDERS, None, False, False, True)
    return g, np.ravel_multi_index((1, 0, 0, 0, 0), g.shape)


def _copy_options(g, cell: int, glbs) -> list[set]:
    """Per GLB size, the words without a copy (weights, inputs, outputs) of each maximal set of second
    copies of the schedule ``cell`` that fits (glb_buffering="zigzag", staircase._copies)."""
    from hdx.cost.analytical import staircase

    cells = memory._cells(g)
    out = []
    for glb in glbs:
        valid, parts = staircase._copies(cells, np.array([[cell]]), np.array([[0]]), np.array([[glb]]),
                                         np.array([[True]]))
        out.append({tuple(float(parts[s][x][0, 0]) for x in range(3)) for s in range(8) if valid[s, 0, 0]})
    return out


def test_zigzag_offers_every_maximal_set_of_second_copies():
    # by hand: K = C = 64; two filter tiles have GLB tiles W 32*64 = 2048, I 64*64 = 4096, O 32*64 = 2048
    # words, 8192 stored once. Its fewest DRAM words: K innermost, the inputs resident (loaded once, never
    # replaced), W 4096 + I 4096 + O 4096 = 12288. W and O are replaced: below 10240 words no copy fits
    # (both stall), from 10240 one of the two (ZigZag's order gives it to the outputs, so the weights
    # stall; the other set is a candidate too), from 12288 both
    g, cell = _two_filter_tiles(64, 64)
    assert g.space[cell, 0, 0] == 8192 and g.best[cell, 0, 0] == 12288
    got = _copy_options(g, cell, (10239.0, 10240.0, 12287.0, 12288.0, 1e9))
    one = {(4096.0, 0.0, 0.0), (0.0, 0.0, 4096.0)}
    assert got == [{(4096.0, 0.0, 4096.0)}, one, one, {(0.0, 0.0, 0.0)}, {(0.0, 0.0, 0.0)}]


MIXED = AnalyticalModel(HW, dram_tiles="hold-array", precision="float64", glb_buffering="mixed")


def test_zigzag_offers_both_copies_where_one_fits_and_mixed_takes_the_set_that_stalls_least():
    # by hand: K = 64, C = 128; two filter tiles have GLB tiles W 32*128 = 4096, I 128*64 = 8192, O 32*64
    # = 2048 words (14336 stored once); fewest DRAM words with K innermost: W 8192 + I 8192 (resident) +
    # O 4096 = 20480. From 16384 words the outputs' copy fits; at 18432 one more copy fits, W's or O's:
    # ZigZag's order gives it to the outputs, so the weights' 8192 words stall; the set that stalls least
    # gives it to the weights, so only the outputs' 4096 do ("zigzag" offers both). At 20480 both fit.
    g, cell = _two_filter_tiles(128, 64)
    assert g.space[cell, 0, 0] == 14336 and g.best[cell, 0, 0] == 20480
    glb = (16383.0, 16384.0, 18432.0, 20480.0)
    assert _copy_options(g, cell, glb) == [{(8192.0, 0.0, 4096.0)}, {(8192.0, 0.0, 0.0)},
                                           {(8192.0, 0.0, 0.0), (0.0, 0.0, 4096.0)}, {(0.0, 0.0, 0.0)}]
    np.testing.assert_array_equal(memory._stalled(g, np.array([glb]))[cell, 0], [12288, 8192, 4096, 0])


def test_a_corner_keeps_its_whole_front_of_stalled_and_dram_words():
    # _prefix_front against a brute force over the corner's cells: the Pareto front of (stalled, words)
    rng = np.random.default_rng(5)
    grid = (3, 4, 2)
    words = rng.integers(1, 9, size=(24, 2, 1)).astype(float)
    stall = rng.integers(0, 9, size=(24, 2, 1)).astype(float)
    words[rng.random(words.shape) < 0.2] = np.inf  # schedules that do not fit
    stall = np.where(np.isfinite(words), np.minimum(stall, words), np.inf)
    pick, fw, fs, cut = memory._prefix_front(words, stall, grid, 2)
    while cut:  # doubled until nothing is cut, as _held_part does
        pick, fw, fs, cut = memory._prefix_front(words, stall, grid, 2 * len(pick))
    cells = np.array(np.unravel_index(np.arange(24), grid)).T
    for c in range(24):
        for l_ in range(2):
            inside = np.all(cells <= cells[c], axis=1) & np.isfinite(words[:, l_, 0])
            pts = {(stall[j, l_, 0], words[j, l_, 0]) for j in np.nonzero(inside)[0]}
            front = sorted(p for p in pts if not any(q != p and q[0] <= p[0] and q[1] <= p[1] for q in pts))
            got = [(fs[k, c, l_, 0], fw[k, c, l_, 0]) for k in range(len(pick)) if pick[k, c, l_, 0] >= 0]
            assert got == front, (c, l_, got, front)
            for k in range(len(got)):  # each point names a cell of the corner that has it
                j = pick[k, c, l_, 0]
                assert inside[j] and (stall[j, l_, 0], words[j, l_, 0]) == got[k]


@settings(max_examples=30, deadline=None)
@given(cases())
@example((Layer("conv", c=3, k=8, h=4, w=4, r=7, s=7, padding=3),  # a 1 KiB GLB: the default's stand-in
          [Accelerator(pe_x=2, pe_y=2, rf_bytes=16, dataflow="ws", glb_kib=1),
           Accelerator(pe_x=2, pe_y=2, rf_bytes=16, dataflow="os", glb_kib=1),
           Accelerator(pe_x=2, pe_y=21, rf_bytes=16, dataflow="rs", glb_kib=1)]))
def test_the_bufferings_that_store_each_tile_once_order_their_latencies(case):
    # the same schedules (each tile once): "overlap" overlaps every transfer, "single" stalls for every
    # one; "mixed" stalls for part of the transfers of the replaced tiles without a copy: between the two.
    # "zigzag" has every array mapping of the others (and more tiles: every_tile) and, for each, their
    # schedules — the fewest words (as "single" takes them) with copies where they fit, stalling for part
    # of the rest, and the double-buffered one (as the default takes it) — on a GLB with one port, which
    # also moves the schedule's DRAM words: never slower than either with its DRAM words on the port
    res = {m.glb_buffering: _dram_words(m, case) for m in (OVERLAP, MIXED, ZIGZAG, SINGLE, HELD)}
    lat = {k: r[0].latency_cycles[0] for k, r in res.items()}
    bw = np.array([a.bw(HW) for a in case[1]])
    assert np.all(lat["overlap"] <= lat["mixed"] * (1 + 1e-9))
    assert np.all(lat["mixed"] <= lat["single"] * (1 + 1e-9))
    bound = {other: lat[other] + res[other][1] / bw for other in ("single", "double")}
    assert np.all(lat["zigzag"] <= bound["single"] * (1 + 1e-9))
    # (where the default's schedule does not fit double-buffered it costs a stand-in that cannot run,
    # whose fewer DRAM words bound nothing on the one port)
    m = res["double"][0].mapping
    for j, acc in enumerate(case[1]):
        if _fits(case[0], acc)(_cover(case[0], acc, {k: v[0, j] for k, v in m.items()})[1]):
            assert lat["zigzag"][j] <= bound["double"][j] * (1 + 1e-9)


def _array_side(res) -> np.ndarray:
    return np.maximum(res.compute_cycles[0] + res.mapping["psum_stall"][0], res.mapping["glb_cycles"][0])


@settings(max_examples=30, deadline=None)
@given(cases())
def test_zigzag_stalls_at_most_for_the_replaced_tiles_of_its_schedule_without_a_copy(case):
    # "zigzag" overlaps the transfers of the tiles with a second copy (and of those loaded once) and
    # stalls for part of the others (those beyond their update window): its latency is at least
    # max(array, DRAM) and at most max(array, overlapped) + stalled, the stalled words those of the
    # replaced tiles of the reported schedule that get no copy in ZigZag's order (recomputed here from
    # the reported tiles); each tile once, so single's schedules
    layer, accs = case
    res, words, lower = _dram_words(ZIGZAG, case)
    np.testing.assert_array_equal(lower, _dram_words(SINGLE, case)[2])
    c = HW.word_bytes / HW.dram_bytes_per_cycle
    array, m = _array_side(res), {k: v[0] for k, v in res.mapping.items()}
    stall = (res.latency_cycles[0] - np.maximum(array, words * c)) / c  # >= the stalled words
    kg = layer.k if layer.kind == "depthwise" else layer.k // layer.groups
    for j, acc in enumerate(accs):
        kt, ct, bt, qt, rt = (m[f"dram_{x}t"][j] for x in "kcbqr")
        ly = LayerDims.of(LayerTable([layer]), np.float64)
        rows = min((bt - 1) * layer.stride + rt, layer.h + 2 * layer.padding)
        nxb = np.ceil(ly.q[0, 0] / qt)
        cols = min((qt - 1) * layer.stride + layer.s, layer.w + 2 * layer.padding) if nxb > 1 else (
            layer.w + 2 * layer.padding)
        dw = layer.kind == "depthwise"
        tile = dict(w=kt * ct * layer.r * layer.s, i=(kt if dw else ct) * cols * rows, o=kt * bt * qt)
        n = dict(k=np.ceil(kg / kt), c=np.ceil(layer.c // layer.groups / ct), y=np.ceil(ly.p[0, 0] / bt),
                 x=nxb, r=np.ceil(layer.r / rt))
        several = layer.groups > 1 and not dw
        rep = dict(w=several or n["k"] * n["c"] > 1,
                   i=several or n["c"] * n["y"] * n["x"] * n["r"] * (n["k"] if dw else 1) > 1,
                   o=several or n["k"] * n["y"] * n["x"] > 1)
        glb = acc.glb_kib * 1024 * 8 / HW.word_bits
        if sum(tile.values()) > glb:  # a stand-in schedule where nothing fits: not ZigZag's rule
            continue
        used, no_copy = sum(tile.values()), 0.0
        for x in "owi":  # second copies in ZigZag's order while they fit
            if rep[x] and used + tile[x] <= glb:
                used += tile[x]
            elif rep[x]:
                no_copy += m[f"dram_{x}"][j]
        assert stall[j] >= -1e-6 and stall[j] <= words[j] * (1 + 1e-9) + 1e-6
        lat_rep = max(array[j], (words[j] - no_copy) * c) + no_copy * c
        assert res.latency_cycles[0, j] <= lat_rep * (1 + 1e-9), (acc, res.latency_cycles[0, j], lat_rep)


def test_the_stalling_bufferings_need_the_glb_tiles_chosen_with_the_mapping():
    from hdx.cost.hwsearch import gives_bounds
    from hdx.errors import HDXError

    with pytest.raises(HDXError, match="dram_tiles='hold-array'"):
        AnalyticalModel(HW, dram_tiles="free", glb_buffering="zigzag")
    # each is monotone in the memories (zigzag since its revision 3), so the hardware search prunes with
    # its bounds (test_hwsearch checks them against the enumeration)
    assert all(m.monotone and gives_bounds(m) for m in (HELD, SINGLE, OVERLAP, MIXED, ZIGZAG))
    with pytest.raises(HDXError, match="dram_tiles='hold-array'"):
        AnalyticalModel(HW, dram_tiles="free", glb_buffering="mixed")


def test_zigzag_stalls_only_beyond_the_update_window_of_a_tile_without_a_copy():
    # mapper.Windows by hand (ZigZag's top_ir_loop_size and allowed update window): array 1000 cycles,
    # the weights' 600 transfer cycles without a second copy, 800 DRAM cycles in all; GLB-level loop
    # bounds over the layer pq 10, red 4, k 2; orders innermost first over (pq, red, k)
    from hdx.cost.analytical.mapper import ORDERS, Windows

    def win(w=0.0, i=0.0, o=0.0, counts=(1.0, 1.0, 1.0), dw=False):
        return Windows(np.array([800.0]), (np.array([w]), np.array([i]), np.array([o])),
                       tuple(np.array([c]) for c in counts), np.array([dw]), 1.0, np.array([0]))

    array, bounds = np.array([1000.0]), (np.array([10.0]), np.array([4.0]), np.array([2.0]))
    # K outermost: the weights depend on it, so their window is the whole period: no stall
    assert win(600).cycles(array, 0.0, 0.0, (0, 1, 2), bounds)[:2] == (1000.0, 0.0)
    # pixels outermost (10 iterations, not the weights'), then K: a tenth of the time, 500 cycles stall
    assert win(600).cycles(array, 0.0, 0.0, (1, 2, 0), bounds)[:2] == (1500.0, 500.0)
    assert win(600).stall(array, (2, 1, 0), bounds) == 500.0
    # a loop of one iteration does not end the run: with K of bound 1 the pixels and K give top 10 too
    assert win(600).stall(array, (1, 2, 0), (bounds[0], bounds[1], np.array([1.0]))) == 500.0
    # the DRAM tiles cut the pixel loop: 5 row bands leave 2 iterations per tile, window 500, stall 100
    assert win(600, counts=(5.0, 1.0, 1.0)).stall(array, (1, 2, 0), bounds) == 100.0
    # outputs do not depend on the reduction: red outermost (4) then K (relevant): window 250
    assert win(o=600).stall(array, (0, 2, 1), bounds) == 350.0
    # dense inputs do not depend on the filters (K outermost: top 2), depthwise ones do (top 1)
    assert win(i=600).stall(array, (0, 1, 2), bounds) == 100.0
    assert win(i=600, dw=True).stall(array, (0, 1, 2), bounds) == 0.0
    # stalls add: weights and outputs, pixels then reduction outermost: top_w 10 (then red, relevant),
    # top_o 1 (pixels relevant): 500 + 0; the DRAM total bounds the latency from below
    w = win(600, o=900)
    assert w.cycles(array, 0.0, 0.0, (2, 1, 0), bounds)[:2] == (1500.0, 500.0)
    # the GLB-level order search sees it: dense inputs (600 cycles without a copy) stall under every
    # order with K outermost; orders that fill the weights alike but differ in their outermost loop
    # are different mappings here, and the one without K outermost is kept
    from hdx.cost.analytical.mapper import MapperSettings, best_order

    cfg = MapperSettings(HW, HELD.tech, "latency", "full", "divisors")
    *_, order, port, _, cyc, _ = best_order(cfg, 1e9, win(i=600), dict(w=(1.0, 1.0, (False, True, True))),
                                            bounds, np.array([1e12]), array)
    assert cyc[0] == 1000.0 and ORDERS[int(order[0])][2] != 2
    assert win(i=600).cycles(array, 0.0, 0.0, ORDERS[int(order[0])], bounds)[1] == 0.0



@pytest.mark.parametrize("share", [0.1, 0.9])
def test_zigzag_stall_of_many_candidates_equals_each_ones_window_by_hand(share):
    # mapper.Windows.stall over candidates of several entries, where a few (share 0.1: only those are
    # computed) or most (0.9) leave words without a copy, against each candidate's stall by hand: per
    # operand without a copy, its transfer cycles beyond array / top, top the product of the GLB-level
    # iterations per DRAM tile of the outermost loops it does not depend on (a loop of one iteration
    # does not end the run); dense inputs do not depend on the filters, depthwise ones do
    from hdx.cost.analytical.mapper import ORDERS, Windows

    rng = np.random.default_rng(int(share * 10))
    n_e, seg = 5, np.repeat(np.arange(5), [3, 1, 4, 2, 5])
    parts = tuple(np.where(rng.random(seg.size) < share, rng.integers(1, 900, seg.size), 0).astype(float)
                  for _ in range(3))
    counts = tuple(rng.integers(1, 6, seg.size).astype(float) for _ in range(3))
    dw = rng.random(n_e) < 0.4
    bounds = tuple(rng.integers(1, 8, n_e).astype(float) for _ in range(3))
    array = rng.integers(100, 2000, seg.size).astype(float)
    win = Windows(np.full(seg.size, 5000.0), parts, counts, dw.take(seg), 1.0, seg)
    deps = {0: (False, True, True), 1: (True, True, False), 2: (True, False, True)}  # w, i, o on pq, red, k
    for order in ORDERS:
        got = win.stall(array, order, bounds)
        for c in range(seg.size):
            e, want = seg[c], 0.0
            for x in range(3):
                if parts[x][c] == 0:
                    continue
                dep = list(deps[x])
                if x == 1 and dw[e]:
                    dep[2] = True
                top = 1.0
                for g in reversed(order):  # the outermost first
                    per_tile = max(bounds[g][e] / counts[g][c], 1.0)
                    if not dep[g]:
                        top *= per_tile
                    elif per_tile > 1:
                        break
                want += max(parts[x][c] - array[c] / top, 0.0)
            assert got[c] == pytest.approx(want, rel=1e-12), (order, c)
    assert (win._stalled(bounds)[0] is True) == (share > 0.5)  # (each way of computing it was checked)


def test_zigzag_glb_port_also_moves_each_candidates_dram_words():
    # glb_buffering="zigzag": the GLB has one port (ZigZag's read_write port), which carries the DRAM
    # words a schedule fills it with and drains besides the array's traffic. One entry, MACs 1000 cycles,
    # array-side port 900, 10 words per cycle: a schedule of 1000 DRAM words (port 900 + 100 = 1000) and
    # a double-buffered one of 3000 (port 1200); neither stalls, a DRAM cycle per word
    from hdx.cost.analytical.mapper import Windows

    w = Windows(np.array([1000.0, 3000.0]), (np.zeros(2),) * 3, (np.ones(2),) * 3, np.zeros(2, dtype=bool),
                1.0, np.array([0, 0]))
    bounds = (np.array([10.0]), np.array([4.0]), np.array([2.0]))
    busy = np.array([1000.0])
    lat, st, port = w.cycles(busy, np.array([900.0]), w.port(np.array([10.0])), (0, 1, 2), bounds)
    assert list(lat) == [1000.0] and list(port) == [1000.0] and list(w.last_k) == [0]
    # a faster GLB port (100 words per cycle): the array side is the MACs' either way, the fewer words kept
    lat, st, port = w.cycles(busy, np.array([900.0]), w.port(np.array([100.0])), (0, 1, 2), bounds)
    assert list(lat) == [1000.0] and list(port) == [910.0] and list(w.last_k) == [0]
    # an array-side port of 950 at 10 words per cycle: the 1000-word schedule's port is 1050, the latency
    lat, _, port = w.cycles(busy, np.array([950.0]), w.port(np.array([10.0])), (0, 1, 2), bounds)
    assert list(lat) == [1050.0] and list(port) == [1050.0]


def test_zigzag_takes_each_entrys_candidate_of_least_latency_then_fewest_words():
    # two entries' candidates in turn (mapper.Windows, flat): entry 0 has ZigZag's schedule (800 DRAM
    # cycles, 600 of the weights without a copy) and a double-buffered one (900 cycles, no stall); entry 1
    # the same two and one with the same latency as the double-buffered one but more words (950)
    from hdx.cost.analytical.mapper import Windows

    seg = np.array([0, 0, 1, 1, 1])
    total = np.array([800.0, 900.0, 800.0, 900.0, 950.0])
    w = Windows(total, (np.array([600.0, 0, 600, 0, 0]), np.zeros(5), np.zeros(5)), (np.ones(5),) * 3,
                np.zeros(5, dtype=bool), 1.0, seg)
    bounds = (np.array([10.0, 10.0]), np.array([4.0, 4.0]), np.array([2.0, 2.0]))
    # K outermost: no stall, ZigZag's schedule (fewer words) wins both
    lat, st, _ = w.cycles(np.array([1000.0, 1000.0]), 0.0, 0.0, (0, 1, 2), bounds)
    assert list(lat) == [1000.0, 1000.0] and list(st) == [0.0, 0.0] and list(w.last_k) == [0, 2]
    # pixels outermost: ZigZag's schedule stalls 500 (1500), the double-buffered one does not (1000);
    # of the two at 1000 in entry 1 the one with fewer words
    lat, st, _ = w.cycles(np.array([1000.0, 1000.0]), 0.0, 0.0, (1, 2, 0), bounds)
    assert list(lat) == [1000.0, 1000.0] and list(w.last_k) == [1, 3]
    # a short array side (100): every candidate is DRAM-bound, ZigZag's 800 (its 600 stall hidden) wins
    lat, _, _ = w.cycles(np.array([100.0, 100.0]), 0.0, 0.0, (1, 2, 0), bounds)
    assert list(lat) == [800.0, 800.0] and list(w.last_k) == [0, 2]

