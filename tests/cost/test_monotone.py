"""Monotone in resources (hypothesis): with everything else equal, a bigger GLB, more GLB bandwidth, more
DRAM bandwidth, a bigger RF or RS pad never raises the best latency of a layer (both GLB levels:
the default, chosen with the array mapping, and dram_tiles="free"), and a bigger GLB never raises the
energy of its accesses at equal latency (priced with one energy per SRAM access, so that the bigger
memory's own per-access energy is not counted). Any mapping of the smaller machine runs on the bigger
one; these tests check that the mapper's candidate sets keep them (docs/cost-model.md). Also: a coarser
GLB port count (``glb_port``: step, burst, fill, packed) never charges more, so it is never slower. Each
resource test also runs with the PE's psum store ports shared (``psum_port="shared"``), alone and with
the GLB port counted by unaligned burst (``glb_port="burst"``) or by aligned fill (``glb_port="fill"``,
whose RS candidates keep the fewer-filter counts whose fills align better)."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hdx.cost.analytical import AnalyticalModel
from hdx.space.accelerator import DATAFLOWS, Accelerator, AcceleratorSpace, AccelTable
from hdx.workload import Layer, LayerTable

HW = AcceleratorSpace.load().hardware
MODEL = AnalyticalModel(HW)  # the default: GLB tiles chosen with the array mapping, holding what it covers
HELD = MODEL
HELD_SINGLE = AnalyticalModel(HW, dram_tiles="hold-array", glb_buffering="single")  # and stall for DRAM
HELD_OVERLAP = AnalyticalModel(HW, glb_buffering="overlap")  # tiles once, transfers overlapped
# tiles once, second copies where they fit, the others' transfers stall; the schedule per mapping
HELD_MIXED = AnalyticalModel(HW, glb_buffering="mixed")
# ZigZag's buffering: tiles once, copies where they fit, stalls beyond the update windows; each mapping's
# candidate schedules include every one of a smaller GLB, and its candidate tiles every one of a smaller RF
HELD_ZIGZAG = AnalyticalModel(HW, glb_buffering="zigzag")
ZIGZAG_STEP = AnalyticalModel(HW, glb_buffering="zigzag", glb_port="step", psum_port="shared")
ZIGZAG_TILE = AnalyticalModel(HW, glb_buffering="zigzag", glb_reuse="tile")
FREE = AnalyticalModel(HW, dram_tiles="free", glb_buffering="double")  # v3.1's: one schedule per layer, GLB
PACKED = AnalyticalModel(HW, glb_port="packed")  # the GLB port's words packed (each costs the same)
SHARED = AnalyticalModel(HW, psum_port="shared")  # psum drains and refills take the MAC's port cycles
BURST = AnalyticalModel(HW, glb_port="burst", psum_port="shared")  # a fill is one unaligned burst
FILL = AnalyticalModel(HW, glb_port="fill", psum_port="shared")  # a fill is one aligned burst
TOL = 1e-6
SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def layers(draw) -> Layer:
    kind = draw(st.sampled_from(["conv", "depthwise", "pointwise", "fc"]))
    c = draw(st.sampled_from([1, 3, 8, 16, 24, 48, 96, 160, 384, 768]))
    k = c if kind == "depthwise" else draw(st.sampled_from([8, 10, 16, 40, 64, 96, 128, 320, 1280]))
    hw_ = 1 if kind == "fc" else draw(st.sampled_from([1, 4, 7, 8, 14, 16, 28, 32, 56]))
    r = 1 if kind in ("pointwise", "fc") else draw(st.sampled_from([1, 3, 5, 7]))
    r = min(r, hw_ + 2 * (r // 2))
    stride = draw(st.sampled_from([1, 2])) if kind in ("conv", "depthwise") else 1
    groups = c if kind == "depthwise" else 1
    return Layer(kind, c=c, k=k, h=hw_, w=hw_, r=r, s=r, stride=stride, padding=r // 2, groups=groups)


designs = st.tuples(st.integers(2, 40), st.integers(2, 40), st.sampled_from([8, 16, 32, 64, 128, 256]),
                    st.sampled_from(DATAFLOWS))


def _ladder(layer: Layer, accs: list[Accelerator], model: AnalyticalModel = MODEL):
    c = model.evaluate(LayerTable([layer]), AccelTable.from_accels(accs))
    return c.latency_cycles[0], c.energy_total_pj[0]


def _non_increasing(a: np.ndarray) -> bool:
    return bool(np.all(a[1:] <= a[:-1] * (1 + TOL)))


@SETTINGS
@given(layers(), designs, st.sampled_from([MODEL, FREE, SHARED, BURST, FILL]))
def test_more_glb_capacity_never_slower(layer, d, model):
    x, y, rf, df = d
    glbs = (4, 8, 16, 32, 64, 128, 512, 2048)
    lat, _ = _ladder(layer, [Accelerator(x, y, rf, df, glb_kib=g) for g in glbs], model)
    assert _non_increasing(lat), lat


@SETTINGS
@given(layers(), designs, st.sampled_from([MODEL, FREE, SHARED, BURST, FILL]))
def test_more_rf_never_slower(layer, d, model):
    x, y, _, df = d
    lat, _ = _ladder(layer, [Accelerator(x, y, rf, df) for rf in (8, 16, 32, 64, 128, 256, 512)], model)
    assert _non_increasing(lat), lat


@settings(max_examples=40, deadline=None)
@given(layers(), designs,
       st.sampled_from([HELD, HELD_SINGLE, HELD_OVERLAP, HELD_MIXED, HELD_ZIGZAG, SHARED, BURST, FILL]))
# a bigger RF takes longer tap chunks: WS keeps the one-row chunks too (found by a search over layers)
@example(Layer("depthwise", c=96, k=96, h=8, w=8, r=3, s=3, padding=1, groups=96), (8, 8, 8, "ws"), HELD)
@example(Layer("depthwise", c=96, k=96, h=8, w=8, r=5, s=5, padding=2, groups=96), (16, 16, 8, "ws"), HELD)
# zigzag, found by a search over layers before it kept every tile: an RS tile of 5 channels × 1 tap on 32
# bytes of RF stalled less than the 3-tap tile a 64-byte RF fits (1725 cycles against 1761)
@example(Layer("conv", c=48, k=8, h=8, w=8, r=3, s=3, padding=1), (24, 30, 8, "rs"), HELD_ZIGZAG)
def test_hold_array_more_glb_or_rf_never_slower(layer, d, model):
    # every candidate of a smaller machine stays a candidate with its schedule: more GLB or RF
    x, y, rf, df = d
    glbs = (4, 8, 16, 32, 64, 128, 512, 2048)
    lat, _ = _ladder(layer, [Accelerator(x, y, rf, df, glb_kib=g) for g in glbs], model)
    assert _non_increasing(lat), lat
    glb = 4 if df == "ws" else 128  # (a small GLB, where the tap chunk decides what fits)
    lat, _ = _ladder(layer, [Accelerator(x, y, r, df, glb_kib=glb) for r in (8, 16, 32, 64, 128, 256, 512)],
                     model)
    assert _non_increasing(lat), lat


@settings(max_examples=60, deadline=None)
@given(layers(), designs, st.sampled_from([HELD_ZIGZAG, ZIGZAG_STEP, ZIGZAG_TILE]))
# found by a search over layers: ZigZag's rule alone (the fewest DRAM words) takes the whole-row tile at
# 6 KiB, whose inputs stall, where 4 KiB ran the column bands without a stall
@example(Layer("conv", c=1, k=64, h=4, w=4, r=7, s=7, padding=3), (4, 8, 8, "ws"), HELD_ZIGZAG)
def test_zigzag_more_glb_never_slower(layer, d, model):
    # a finer GLB ladder than the other tests: the candidates of every size in between are kept
    x, y, rf, df = d
    glbs = (2, 3, 4, 5, 6, 8, 12, 16, 24, 32, 48, 64, 128, 512, 2048)
    lat, _ = _ladder(layer, [Accelerator(x, y, rf, df, glb_kib=g) for g in glbs], model)
    assert _non_increasing(lat), lat


PAD_LADDERS = {"w": (8, 16, 32, 64, 128, 256), "i": (2, 4, 8, 16, 32, 64), "o": (2, 4, 8, 16, 32, 64)}
#: the other two pads (weights, inputs, psums in bytes): the default split of a 64-byte, a 256-byte and an
#: 8-byte RF
PAD_SPLITS = [(32, 12, 16), (226, 12, 18), (4, 2, 2)]


@settings(max_examples=60, deadline=None)
@given(layers(), designs, st.sampled_from("wio"), st.sampled_from(PAD_SPLITS),
       st.sampled_from([MODEL, FREE, HELD_SINGLE, HELD_MIXED, HELD_ZIGZAG, PACKED, SHARED, BURST, FILL]),
       st.sampled_from([16, 128]))
# found by walking the pads of the grid's RS designs (benchmarks/bench_monotone.py), before the RS tiles
# with fewer filters per PE
@example(Layer("depthwise", c=32, k=32, h=32, w=32, r=3, s=3, padding=1, groups=32), (4, 20, 8, "rs"), "i",
         (226, 12, 18), HELD, 128)
@example(Layer("depthwise", c=384, k=384, h=8, w=8, r=3, s=3, padding=1, groups=384), (20, 32, 8, "rs"), "o",
         (4, 2, 2), HELD, 128)
# found by this test before the RS tiles with fewer taps per PE: an 8-byte weight pad (4 words) held 4
# filters × 1 tap, a 16-byte one 1 filter × all 5 taps (95 cycles against 79)
@example(Layer("conv", c=1, k=8, h=1, w=1, r=5, s=5, padding=2), (2, 2, 8, "rs"), "w", (32, 12, 16), MODEL,
         16)
# found by walking the pads under glb_port="fill" (benchmarks/bench_monotone.py) before the fewer-filter
# counts of _fill_counts: 8 bytes of psum pad held 4 filters of a 7x7 depthwise row (46 236 port-bound
# cycles), 4 bytes 2 filters, whose fills waste less of the 32-word port's last accesses (46 080)
@example(Layer("depthwise", c=96, k=96, h=32, w=32, r=7, s=7, padding=3, groups=96), (16, 16, 8, "rs"), "o",
         (114, 6, 8), FILL, 128)
@example(Layer("depthwise", c=96, k=96, h=32, w=32, r=5, s=5, stride=2, padding=2, groups=96),
         (32, 4, 8, "rs"), "w", (226, 12, 18), FILL, 128)
def test_a_bigger_rs_pad_never_slower(layer, d, pad, split, model, glb):
    # RS with its RF as three pads: one pad grows, the other two stay (a bigger pad lets a PE hold more
    # filters; where the GLB tiles must hold them, the tiles with fewer filters stay candidates)
    x, y, _, _ = d
    others = dict(zip("wio", split, strict=True))
    sets = [{**others, pad: v} for v in PAD_LADDERS[pad]]
    accs = [Accelerator(x, y, sum(p.values()), "rs", glb_kib=glb, pads=tuple(p[k] for k in "wio"))
            for p in sets]
    lat, _ = _ladder(layer, accs, model)
    assert _non_increasing(lat), lat


@settings(max_examples=30, deadline=None)
@given(layers(), designs, st.sampled_from(["glb_words_per_cycle", "dram_bytes_per_cycle"]),
       st.sampled_from([("hold-array", "double"), ("free", "double"), ("hold-array", "mixed"),
                        ("hold-array", "zigzag")]),
       st.sampled_from([("step", "free"), ("burst", "shared"), ("fill", "shared")]))
def test_more_bandwidth_never_slower(layer, d, knob, tiles, ports):
    acc = [Accelerator(*d)]
    models = [AnalyticalModel(HW.model_copy(update={knob: v}), dram_tiles=tiles[0], glb_buffering=tiles[1],
                              glb_port=ports[0], psum_port=ports[1])
              for v in (2.0, 4.0, 8.0, 16.0, 32.0, 64.0)]
    lat = np.array([_ladder(layer, acc, m)[0][0] for m in models])
    assert _non_increasing(lat), lat


def _flat(model: AnalyticalModel) -> AnalyticalModel:
    return AnalyticalModel(model.hardware, model.tech.flat_prices())


@SETTINGS
@given(layers(), designs)
def test_more_glb_capacity_never_costs_more_accesses_at_equal_latency(layer, d):
    x, y, rf, df = d
    lat, en = _ladder(layer, [Accelerator(x, y, rf, df, glb_kib=g) for g in (4, 8, 16, 32, 64, 128, 512)],
                      _flat(MODEL))
    same = np.abs(lat[1:] - lat[:-1]) <= lat[:-1] * TOL
    assert np.all(en[1:][same] <= en[:-1][same] * (1 + TOL)), (lat, en)


def test_dram_words_fall_with_capacity_on_a_layer_that_does_not_fit():
    # pointwise 768 -> 128 on 8x8 (I 49152, W 98304, O 8192 words): from 16 KiB to 512 KiB the DRAM words
    # fall to the compulsory 155648 (every word once) and never rise on the way; latency follows
    layer = Layer("pointwise", c=768, k=128, h=8, w=8)
    c = MODEL.evaluate(LayerTable([layer]), AccelTable.from_accels(
        [Accelerator(8, 8, 64, "os", glb_kib=g) for g in (16, 32, 64, 128, 512)]))
    words = c.mapping["dram_w"][0] + c.mapping["dram_i"][0] + c.mapping["dram_o"][0]
    assert _non_increasing(words) and words[0] > words[-1]
    assert words[-1] == 49152 + 98304 + 8192
    assert _non_increasing(c.latency_cycles[0])


PORTS = {p: AnalyticalModel(HW, glb_port=p) for p in ("step", "burst", "fill", "packed")}


@settings(max_examples=40, deadline=None)
@given(layers(), designs)
def test_a_coarser_port_count_is_never_slower(layer, d):
    x, y, rf, df = d
    accs = AccelTable.from_accels([Accelerator(x, y, rf, df, glb_kib=g) for g in (16, 128)])
    lat = {p: m.evaluate(LayerTable([layer]), accs).latency_cycles[0] for p, m in PORTS.items()}
    assert np.all(lat["burst"] <= lat["step"] * (1 + 1e-6)), (lat["burst"], lat["step"])
    assert np.all(lat["fill"] <= lat["burst"] * (1 + 1e-6)), (lat["fill"], lat["burst"])
    assert np.all(lat["packed"] <= lat["fill"] * (1 + 1e-6)), (lat["packed"], lat["fill"])



#: a finer RF ladder (bytes) than the grid's: sizes in between hold tile counts and tap chunks that the
#: powers of two do not
FINE_RF = (8, 12, 16, 24, 32, 48, 64, 128, 256)
#: the models that keep every tile that fits (MapperSettings.every_tile): partial last tiles
#: (mapper_tiles="any") under every GLB buffering, and ZigZag's buffering with perfect factorisations (the
#: default's OS filter counts are the powers of two clamped to the RF: monotone along powers of two only,
#: docs/cost-model.md "Mapper")
TILED = {("any", b): AnalyticalModel(HW, mapper_tiles="any", glb_buffering=b)
         for b in ("double", "single", "overlap", "mixed", "zigzag")} | {("divisors", "zigzag"): HELD_ZIGZAG}


@settings(max_examples=80, deadline=None)
@given(layers(), designs, st.sampled_from(sorted(TILED)), st.sampled_from([2, 4, 8, 32, 128]))
# found by a search over layers before mapper_tiles="any" kept every smaller tile (each a partial tile a
# smaller RF takes): WS, a 12-byte RF's chunk of 6 of 9 taps, lost at 16 bytes (8 + 1 taps, 12 328
# cycles against 12 336); OS, 6 partial sums per PE, lost at 16 bytes (460 against 487); RS, a 7x7
# depthwise layer's tile on 12 bytes (210 cycles against 222 on 16); WS under zigzag (774 against 776)
@example(Layer("depthwise", c=96, k=96, h=16, w=16, r=3, s=3, padding=1, groups=96), (4, 7, 8, "ws"),
         ("any", "double"), 4)
@example(Layer("conv", c=1, k=40, h=8, w=8, r=3, s=3, padding=1), (39, 3, 8, "os"), ("any", "double"), 8)
@example(Layer("depthwise", c=3, k=3, h=7, w=7, r=7, s=7, padding=3, groups=3), (7, 9, 8, "rs"),
         ("any", "double"), 2)
@example(Layer("depthwise", c=16, k=16, h=16, w=16, r=3, s=3, stride=2, padding=1, groups=16),
         (16, 16, 8, "ws"), ("any", "zigzag"), 32)
def test_more_rf_never_slower_on_a_finer_ladder(layer, d, model, glb):
    # a smaller RF of any size holds a tile (tap chunk, filter count) that a bigger one keeps as a candidate
    x, y, _, df = d
    lat, _ = _ladder(layer, [Accelerator(x, y, rf, df, glb_kib=glb) for rf in FINE_RF], TILED[model])
    assert _non_increasing(lat), lat


#: template parameters the tests above keep at the grid's: word width, technology (CACTI's with leakage),
#: the RS scratchpad split, the interconnect, the operand latch and both bandwidths
templates = st.builds(
    lambda wb, tech, spads, noc, latch, glb_bw, dram_bw: HW.model_copy(update=dict(
        word_bits=wb, tech=tech, rs_spads=spads, noc=noc, operand_latch=latch, glb_words_per_cycle=glb_bw,
        dram_bytes_per_cycle=dram_bw)),
    st.sampled_from([8, 16, 32]), st.sampled_from(["accelergy_45nm", "cacti7_45nm_lstp", "cacti7_45nm_hp"]),
    st.sampled_from([(192.0, 12.0, 16.0), (64.0, 16.0, 16.0), (100.0, 20.0, 30.0), (8.0, 8.0, 8.0)]),
    st.sampled_from(["multicast", "forwarding"]), st.booleans(), st.sampled_from([2.0, 5.0, 32.0]),
    st.sampled_from([2.0, 7.0, 64.0]))


@settings(max_examples=40, deadline=None)
@given(layers(), designs, templates, st.lists(st.integers(4, 2048), min_size=2, max_size=5, unique=True))
def test_monotone_on_any_template(layer, d, hw, glbs):
    """The default model on other templates: a bigger GLB (of any size) or a bigger RF (powers of two, from
    the smallest holding what the dataflow keeps) never slower."""
    x, y, _, df = d
    model = AnalyticalModel(hw)
    lat, _ = _ladder(layer, [Accelerator(x, y, 64 * hw.word_bits // 16, df, glb_kib=g) for g in sorted(glbs)],
                     model)
    assert _non_increasing(lat), (lat, sorted(glbs))
    rfs = [b * hw.word_bits // 16 for b in (8, 16, 32, 64, 128, 256, 512)]  # (RS: three words at least)
    lat, _ = _ladder(layer, [Accelerator(x, y, r, df) for r in rfs], model)
    assert _non_increasing(lat), (lat, rfs)
