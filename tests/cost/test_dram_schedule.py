"""The GLB <-> DRAM level (hdx.cost.analytical.memory) against a walk of the DRAM-level loop nest.

For every tiling of the ladder and every order of the three DRAM loops (K, C, Y), the loops are walked
one iteration at a time: an operand's tile is fetched whenever the iteration needs another tile than
the one the GLB holds, and an output tile visited again after leaving it spills its partial sums
(written on every visit, read back on all but the first). The fewest DRAM words over the schedules
whose tiles fit the GLB (docs/cost-model.md, "GLB <-> DRAM") must be the model's, and the schedule it
reports must cost what it says. The depthwise columns the model shares between accelerators must give
every (layer, accelerator) pair what it gets on its own.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hdx.cost.analytical import memory, prefix
from hdx.cost.analytical.dims import LayerDims
from hdx.cost.analytical.model import _dram_level
from hdx.workload import Layer, LayerTable

K_, C_, Y_, X_, R_ = 0, 1, 2, 3, 4  # the DRAM loops, as indexed by memory.ORDERS (R: always innermost)


def _walk(order: tuple[int, ...], bounds: tuple[int, ...], depends: tuple[int, ...]) -> float:
    """Fetches per tile of an operand that depends on the loops ``depends``, walking the nest ``order``
    (innermost first): a fetch each time the needed tile changes, the first iteration included."""
    nest = order[::-1]  # outermost first: np.indices' last axis runs fastest
    it = np.indices([bounds[lp] for lp in nest]).reshape(len(nest), -1)
    tile = np.zeros(it.shape[1], dtype=np.int64)
    for pos, lp in enumerate(nest):
        if lp in depends:
            tile = tile * bounds[lp] + it[pos]
    fetches = 1 + int(np.count_nonzero(tile[1:] != tile[:-1]))
    return fetches / len(np.unique(tile))


def _brute_force(layer: Layer, glb_words: float, inflight: float | None = None,
                 floor: tuple | None = None, double: bool = True, halo: str = "density", span=None
                 ) -> tuple[float, dict]:
    """The fewest DRAM words over every ladder schedule that fits (the smallest ones if none fits), and
    the words of every schedule by (k tile, c tile, band rows, band columns, kernel rows, order index).
    Without ``floor``: memory.schedules (whole rows and kernels; a depthwise tile raised to ``inflight``
    channels); with it: memory.held_schedules (column bands and kernel-row chunks of the input tile too;
    only the tiles that hold the floor)."""
    dw = layer.kind == "depthwise"
    gm = 1 if dw else layer.groups
    kg = layer.k if dw else layer.k // layer.groups
    cg = layer.c // layer.groups
    p, q = (layer.h + 2 * layer.padding - layer.r) // layer.stride + 1, \
        (layer.w + 2 * layer.padding - layer.s) // layer.stride + 1
    hp, wp = layer.h + 2 * layer.padding, layer.w + 2 * layer.padding
    w_tot = layer.k * cg * layer.r * layer.s
    i_tot, o_tot = layer.n * layer.c * layer.h * layer.w, layer.n * layer.k * p * q

    def tile(dim: int, req: int) -> int:  # tile size of `req` tiles (0: tiles of one element)
        n = dim if req == 0 else min(req, dim)
        return -(-dim // n)

    words, space = {}, {}
    k_lad, c_lad, y_lad, x_lad, r_lad = (((memory.LADDER,) * 3 + ((1,), (1,))) if floor is None
                                         else memory.HELD_LADDERS)
    c_lad = c_lad[:1] if dw else c_lad
    orders = memory.ROW_ORDERS if floor is None else memory.ORDERS
    for rk, rc, ry, rx, rr in itertools.product(k_lad, c_lad, y_lad, x_lad, r_lad):
        kt = tile(kg, rk)
        if dw and inflight is not None:  # a depthwise GLB tile holds at least the channels in flight
            kt = max(kt, min(inflight, kg))
        ct, bt, qt, rt = tile(cg, rc), tile(p, ry), tile(q, rx), tile(layer.r, rr)
        if floor is not None and not all(t >= min(f, d) for t, f, d in zip(
                (kt, ct, bt, qt, rt), floor, (kg, cg, p, q, layer.r), strict=True)):
            continue  # the tile does not hold the array's working set
        nk, nc, nyb, nxb, nr = -(-kg // kt), -(-cg // ct), -(-p // bt), -(-q // qt), -(-layer.r // rt)
        bounds = (int(nk), int(nc), int(layer.n * nyb), int(nxb), int(nr))
        # the input tile holds rt kernel rows' input rows; each chunk of them reads its rows of a band
        rows = min((bt - 1) * layer.stride + rt, hp)
        cols = min((qt - 1) * layer.stride + layer.s, wp) if nxb > 1 else wp
        if halo == "exact":  # the real rows and columns every band's window reads (``span``: band_walk)
            read = max(span(p, layer.stride, layer.r, layer.padding, layer.h, bt, rt) / layer.h, 1.0)
            read *= max(span(q, layer.stride, layer.s, layer.padding, layer.w, qt, layer.s) / layer.w, 1.0)
        else:  # the padded rows read, at the padded plane's density of real rows
            read = max(min(p * layer.stride + nyb * (rt - layer.stride), nyb * hp) * nr / hp, 1.0)
            read *= max(min(q * layer.stride + nxb * (layer.s - layer.stride), nxb * wp) / wp, 1.0)
        w_all, i_all, o_all = w_tot / gm, i_tot / gm * read, o_tot / gm
        dep_i = (K_, C_, Y_, X_, R_) if dw else (C_, Y_, X_, R_)
        # a tile replaced during the layer (more than one of them, or several groups) is double-buffered
        several = gm > 1
        rep = {"w": several or nk * nc > 1,
               "i": several or nc * bounds[Y_] * nxb * nr * (nk if dw else 1) > 1,
               "o": several or nk * bounds[Y_] * nxb > 1}
        size = {"w": kt * ct * layer.r * layer.s, "i": (kt if dw else ct) * cols * rows, "o": kt * bt * qt}
        s = sum(size[x] * (1 + rep[x]) if double else size[x] for x in "wio")  # single: each tile once
        for order in orders:
            j = memory.ORDERS.index(order)
            nest = (R_, *order)  # the kernel-row chunks innermost
            f_w, f_i = _walk(nest, bounds, (K_, C_)), _walk(nest, bounds, dep_i)
            f_o = _walk(nest, bounds, (K_, Y_, X_))
            words[(kt, ct, bt, qt, rt, j)] = gm * (w_all * f_w + i_all * f_i + o_all * (2 * f_o - 1))
            space[(kt, ct, bt, qt, rt, j)] = s
    fits = [key for key in words if space[key] <= glb_words]
    if not fits:
        smallest = min(space.values())
        fits = [key for key in words if space[key] <= smallest]
    return min(words[key] for key in fits), words


# each operand's relevance to (K, C, Y) as memory.schedules gives it, and the loops it depends on
OPERANDS = {"w": ((True, True, False, False), (K_, C_)), "i": ((False, True, True, True), (C_, Y_, X_)),
            "i (depthwise)": ((np.array([True]), True, True, True), (K_, C_, Y_, X_)),
            "o": ((True, False, True, True), (K_, Y_, X_))}
BOUNDS = list(itertools.product((1, 2, 3), (1, 2, 4), (1, 3, 5), (1, 2)))


def test_refetch_matches_a_walk_of_the_loop_nest():
    for (rel, depends), order, n in itertools.product(OPERANDS.values(), memory.ORDERS, BOUNDS):
        got = float(memory._refetch(rel, order, tuple(np.array([float(b)]) for b in n)).reshape(-1)[0])
        assert got == _walk(order, n, depends), (rel, order, n)


def test_orders_with_one_refetch_key_fetch_alike():
    # schedules() computes an operand's traffic once per key: orders that share a key must fetch alike
    for name, (rel, depends) in OPERANDS.items():
        for a, b in itertools.combinations(memory.ORDERS, 2):
            if memory._refetch_key(rel, a) == memory._refetch_key(rel, b):
                assert all(_walk(a, n, depends) == _walk(b, n, depends) for n in BOUNDS), (name, a, b)


def test_least_words_closed_form_is_the_least_over_every_order():
    # the closed forms (memory._least_words) against the scan over the 24 orders, on loop counts with
    # and without a trivial loop, dense and depthwise, kernel rows chunked or not (the walk above checks
    # the scan's fetch counts)
    counts = (1, 2, 3, 7)
    n = [np.array([float(v) for v in col]) for col in zip(*itertools.product(counts, counts, counts, counts,
                                                                              (1, 3)), strict=True)]
    rng = np.random.default_rng(0)
    m = n[0].size
    whole = tuple(np.exp(rng.uniform(0.0, 12.0, m)) for _ in range(3))  # words of very different sizes
    for dw in (np.zeros(m, dtype=bool), np.ones(m, dtype=bool)):
        for inner in ((), (memory.R_LOOP,)):
            nn = tuple(n[:4]) + ((n[4],) if inner else (np.ones(m),))
            scanned, _ = memory._scan(memory.ORDERS, inner, nn, whole, dw)
            np.testing.assert_array_equal(memory._least_words(whole, nn, dw), scanned)


@st.composite
def small_layers(draw) -> Layer:
    kind = draw(st.sampled_from(["conv", "depthwise", "pointwise", "grouped"]))
    c = draw(st.sampled_from([2, 3, 6, 8, 12]))
    hw = draw(st.sampled_from([3, 5, 7, 8]))
    r = 1 if kind == "pointwise" else draw(st.sampled_from([1, 3]))
    stride = draw(st.sampled_from([1, 2]))
    if kind == "depthwise":
        return Layer("depthwise", c=c, k=c, h=hw, w=hw, r=r, s=r, stride=stride, padding=r // 2, groups=c)
    if kind == "grouped":
        g = 2
        c = c * g // np.gcd(c, g)
        return Layer("conv", c=c, k=draw(st.sampled_from([2, 4, 8])) * g, h=hw, w=hw, r=r, s=r,
                     stride=stride, padding=r // 2, groups=g)
    return Layer("pointwise" if r == 1 else "conv", c=c, k=draw(st.sampled_from([1, 4, 10, 16])), h=hw,
                 w=hw, r=r, s=r, stride=stride, padding=r // 2)


@settings(max_examples=40, deadline=None)
@given(small_layers(), st.sampled_from([0.02, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.2, 2.5]), st.integers(1, 20),
       st.sampled_from(["density", "exact"]))
def test_fewest_dram_words_match_a_walk_of_the_loop_nest(band_walk, layer, glb_share, inflight, halo):
    ly = LayerDims.of(LayerTable([layer]), np.float64)
    # a GLB of a share of the layer's words: from none of the schedules fitting to all of them
    glb_words = glb_share * float(ly.w_tot[0, 0] + ly.i_tot[0, 0] + ly.o_tot[0, 0])
    sched = memory.schedules(ly, np.array([[glb_words]]), np.array([[float(inflight)]]), halo=halo)
    best, every = _brute_force(layer, glb_words, inflight, halo=halo, span=band_walk)
    np.testing.assert_allclose(sched.words[0], best, rtol=1e-9)
    # the reported schedule is one of the ladder's and costs what the model says
    f = {k: float(v[0]) for k, v in sched.fields.items()}
    key = (f["dram_kt"], f["dram_ct"], f["dram_bt"], f["dram_qt"], f["dram_rt"], int(f["dram_order"]))
    np.testing.assert_allclose(every[key], best, rtol=1e-9)
    np.testing.assert_allclose(f["dram_w"] + f["dram_i"] + f["dram_o"], best, rtol=1e-9)


def test_depthwise_columns_give_each_pair_its_own_schedule():
    rng = np.random.default_rng(5)
    layers = [Layer("depthwise", c=c, k=c, h=hw, w=hw, r=r, s=r, stride=st_, padding=r // 2, groups=c)
              for c, hw, r, st_ in ((8, 8, 3, 1), (24, 14, 5, 2), (96, 7, 3, 1), (16, 28, 7, 2))]
    ly = LayerDims.of(LayerTable(layers), np.float64)
    glb = np.array([256.0, 4096.0, 4096.0, 65536.0, 256.0, 65536.0])
    uk = rng.integers(1, 200, size=(len(layers), len(glb))).astype(np.float64)
    words, fields = _dram_level(ly, uk, glb, np.float64)
    for i, j in itertools.product(range(len(layers)), range(len(glb))):
        one = memory.schedules(ly.rows(np.array([i])), glb[None, j:j + 1], uk[i:i + 1, j:j + 1])
        assert words[i, j] == one.words[0]
        for k in memory.DRAM_FIELDS:
            assert fields[k][i, j] == one.fields[k][0], k


HELD_CASES = (small_layers(), st.sampled_from([0.02, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.2, 2.5]),
              st.tuples(*(st.integers(1, 20) for _ in range(4)), st.sampled_from([1, 99])), st.booleans(),
              st.sampled_from(["density", "exact"]))


@settings(max_examples=30, deadline=None)
@given(*HELD_CASES)
def test_held_schedules_match_a_walk_of_the_loop_nest(band_walk, layer, glb_share, floor, double, halo):
    _held_matches_the_walk(band_walk, layer, glb_share, floor, double, halo)


@pytest.mark.slow  # (the same property on ten times the cases: about 2 minutes)
@settings(max_examples=300, deadline=None)
@given(*HELD_CASES)
def test_held_schedules_match_a_walk_of_the_loop_nest_on_more_cases(band_walk, layer, glb_share, floor,
                                                                    double, halo):
    _held_matches_the_walk(band_walk, layer, glb_share, floor, double, halo)


def _held_matches_the_walk(band_walk, layer, glb_share, floor, double, halo):
    # dram_tiles="hold-array": column bands too, and only the tiles that hold the working set; a
    # double-buffered GLB (default) or a single-buffered one (glb_buffering="single")
    ly = LayerDims.of(LayerTable([layer]), np.float64)
    glb_words = glb_share * float(ly.w_tot[0, 0] + ly.i_tot[0, 0] + ly.o_tot[0, 0])
    fl = tuple(np.array([[float(v)]]) for v in floor)
    sched = memory.held_schedules(ly, np.array([[glb_words]]), fl, np.array([0]), double=double, halo=halo)
    best, every = _brute_force(layer, glb_words, floor=floor, double=double, halo=halo, span=band_walk)
    np.testing.assert_allclose(sched.words[0], best, rtol=1e-9)
    f = {k: float(v[0]) for k, v in sched.fields.items()}
    key = (f["dram_kt"], f["dram_ct"], f["dram_bt"], f["dram_qt"], f["dram_rt"], int(f["dram_order"]))
    np.testing.assert_allclose(every[key], best, rtol=1e-9)  # one of the candidates, costed as reported
    np.testing.assert_allclose(f["dram_w"] + f["dram_i"] + f["dram_o"], best, rtol=1e-9)


def test_held_schedules_look_up_each_accelerators_corner():
    # the corner lookup over several accelerators and GLB sizes gives each pair what it gets on its own
    rng = np.random.default_rng(7)
    layers = [Layer("conv", c=16, k=32, h=16, w=16, r=3, s=3, padding=1),
              Layer("depthwise", c=24, k=24, h=14, w=14, r=5, s=5, stride=2, padding=2, groups=24),
              Layer("pointwise", c=40, k=12, h=8, w=8)]
    ly = LayerDims.of(LayerTable(layers), np.float64)
    glb = np.array([512.0, 4096.0, 512.0, 65536.0, 4096.0])
    g_vals, g_of = np.unique(glb, return_inverse=True)
    floor = tuple(rng.integers(1, 40, size=(len(layers), len(glb))).astype(np.float64) for _ in range(4)) + (
        rng.choice([1.0, np.inf], size=(len(layers), len(glb))),)
    both = memory.held_schedules(ly, g_vals[None, :], floor, g_of)
    for i, j in itertools.product(range(len(layers)), range(len(glb))):
        one = memory.held_schedules(ly.rows(np.array([i])), glb[None, j:j + 1],
                                    tuple(f[i:i + 1, j:j + 1] for f in floor), np.array([0]))
        assert both.words[i * len(glb) + j] == one.words[0]
        for k in memory.DRAM_FIELDS:
            assert both.fields[k][i * len(glb) + j] == one.fields[k][0], k


def test_held_words_never_rise_with_the_glb_and_the_floor_only_raises_them():
    layer = Layer("conv", c=32, k=64, h=16, w=16, r=3, s=3, padding=1)
    ly = LayerDims.of(LayerTable([layer]), np.float64)
    sizes = np.array([[256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0]])
    none = tuple(np.ones((1, sizes.size)) for _ in range(5))
    big = tuple(np.full((1, sizes.size), v) for v in (16.0, 8.0, 8.0, 8.0, 3.0))
    free = memory.held_schedules(ly, sizes, none, np.arange(sizes.size)).words
    held = memory.held_schedules(ly, sizes, big, np.arange(sizes.size)).words
    fits = sizes[0] >= 4096  # the floor's smallest tile fits from there on
    assert np.all(np.diff(held[fits]) <= 0) and np.all(np.diff(free) <= 0)
    assert np.all(held[fits] >= free[fits])


def _corner_argmin(key: np.ndarray, grid: tuple, tie: np.ndarray | None) -> np.ndarray:
    """Brute force: per cell and column, the flat index of the least (key, tie, index) over the cells at
    or before it on every axis."""
    cells = np.array(list(itertools.product(*(range(n) for n in grid))))
    flat_key = key.reshape(len(cells), -1)
    flat_tie = (np.zeros_like(flat_key) if tie is None
                else np.broadcast_to(tie, key.shape).reshape(len(cells), -1))
    out = np.empty(flat_key.shape, dtype=np.intp)
    for c, cell in enumerate(cells):
        inside = np.flatnonzero((cells <= cell).all(axis=1))
        for col in range(flat_key.shape[1]):
            out[c, col] = min(inside, key=lambda j: (flat_key[j, col], flat_tie[j, col], j))
    return out.reshape(key.shape)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([np.float32, np.float64]), st.booleans())
def test_prefix_best_is_the_least_of_each_corner(seed, dtype, with_tie):
    """Every path of prefix.prefix_best (float32 packed into one integer key, or the general one) is the
    lexicographic least (key, tie, flat index) of the cells at or before each cell; small integer values
    force ties, and inf stands for a schedule that does not fit."""
    rng = np.random.default_rng(seed)
    grid = tuple(int(n) for n in rng.integers(1, 4, size=3))
    shape = (int(np.prod(grid)), 2, 3)
    key = rng.integers(0, 4, size=shape).astype(dtype)
    key[rng.random(shape) < 0.2] = np.inf
    tie = rng.integers(0, 3, size=shape).astype(dtype) if with_tie else None
    got = prefix.prefix_best(key, grid, tie)
    assert np.array_equal(got, _corner_argmin(key, grid, tie))
