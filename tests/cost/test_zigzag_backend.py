"""The ZigZag backend (optional extra ``hdx[zigzag]``): invariants on small layers, determinism, errors."""

from __future__ import annotations

import builtins
import contextlib
import json
import math

import numpy as np
import pytest

from hdx.errors import HDXError
from hdx.space.accelerator import Accelerator, AccelTable, HardwareParams
from hdx.workload import Layer, LayerTable

LAYERS = [
    Layer("conv", c=3, k=16, h=16, w=16, r=3, s=3, padding=1, name="conv"),
    Layer("depthwise", c=32, k=32, h=16, w=16, r=3, s=3, padding=1, groups=32, name="dw"),
    Layer("depthwise", c=48, k=48, h=16, w=16, r=5, s=5, stride=2, padding=2, groups=48, name="dw5s2"),
    Layer("pointwise", c=32, k=48, h=8, w=8, name="pw"),
    Layer("fc", c=256, k=10, name="fc"),
]
ACCELS = [Accelerator(16, 16, 16, "ws"), Accelerator(8, 12, 32, "rs"), Accelerator(12, 8, 64, "os")]


@pytest.fixture(scope="module")
def model():
    pytest.importorskip("zigzag", reason="zigzag-dse not installed (pip install 'hdx[zigzag]')")
    from hdx.cost.zigzag.adapter import ZigZagModel

    return ZigZagModel(HardwareParams())


@pytest.fixture(scope="module")
def costs(model):
    return model.evaluate(LayerTable(LAYERS), AccelTable.from_accels(ACCELS))


@pytest.mark.zigzag
def test_costs_finite_positive_and_shaped(costs):
    L, A = len(LAYERS), len(ACCELS)
    assert costs.latency_cycles.shape == (L, A)
    for arr in (costs.latency_cycles, costs.compute_cycles, costs.energy_total_pj, costs.utilisation):
        assert np.all(np.isfinite(arr)) and np.all(arr > 0)
    for part in ("mac", "rf", "glb", "dram"):
        assert costs.energy_pj[part].shape == (L, A) and np.all(costs.energy_pj[part] >= 0)
    assert costs.area_um2["pe"].shape == (A,) and np.all(costs.area_total_um2 > 0)


@pytest.mark.zigzag
def test_latency_at_least_macs_over_pes(costs):
    macs = np.array([ly.macs for ly in LAYERS], dtype=float)[:, None]
    pes = np.array([a.num_pes for a in ACCELS], dtype=float)[None, :]
    assert np.all(costs.compute_cycles >= np.ceil(macs / pes))
    assert np.all(costs.latency_cycles >= costs.compute_cycles)
    assert np.all(costs.utilisation <= 1.0 + 1e-9)


@pytest.mark.zigzag
def test_mac_energy_and_area_from_tech_table(model, costs):
    tech = model.tech
    wb = model.hardware.word_bits
    macs = np.array([ly.macs for ly in LAYERS], dtype=float)[:, None]
    expected = macs * tech.mac_energy_pj(wb) * np.ones((1, len(ACCELS)))
    np.testing.assert_allclose(costs.energy_pj["mac"], expected)
    pes = np.array([a.num_pes for a in ACCELS], dtype=float)
    np.testing.assert_allclose(costs.area_um2["pe"], pes * tech.mac_area_um2(wb))
    glb = tech.sram_area_um2(128 * 1024, width_words=model.hardware.glb_words_per_cycle, word_bits=wb)
    np.testing.assert_allclose(costs.area_um2["glb"], glb * np.ones(len(ACCELS)))  # at the GLB's access width
    # WS/OS: one RF of rf_bytes; RS (8x12, 32 B = 16 words): pads of 14, 1 and 1 words (Eyeriss
    # proportions 192:12:16, inputs and psums at least one word) = 28 B + 2 B + 2 B
    rf = np.array([tech.sram_area_um2(16), tech.sram_area_um2(28) + 2 * tech.sram_area_um2(2),
                   tech.sram_area_um2(64)])
    np.testing.assert_allclose(costs.area_um2["rf"], pes * rf)


@pytest.mark.zigzag
def test_depthwise_uses_more_than_one_row(model):
    """G is unrolled: a depthwise layer with 32 channels keeps far more than one 16-PE row busy."""
    dw = LAYERS[1]
    r = model.evaluate_one(dw, Accelerator(16, 16, 16, "ws"))
    assert r.compute_cycles <= math.ceil(dw.macs / 32)


@pytest.mark.zigzag
def test_deterministic(model):
    from hdx.cost.zigzag.adapter import ZigZagModel

    fresh = ZigZagModel(HardwareParams())  # no shared cache
    for layer in (LAYERS[0], LAYERS[2]):
        a = model.evaluate_one(layer, ACCELS[1])
        b = fresh.evaluate_one(layer, ACCELS[1])
        assert a.latency_cycles == b.latency_cycles
        assert a.energy_pj == b.energy_pj
    assert model.fingerprint() == fresh.fingerprint()
    assert ZigZagModel(HardwareParams(word_bits=8)).fingerprint() != model.fingerprint()


@pytest.mark.zigzag
def test_bad_inputs_raise_hdx_error(model):
    with pytest.raises(HDXError, match="Layer"):
        model.evaluate_one("conv", ACCELS[0])  # type: ignore[arg-type]
    with pytest.raises(HDXError, match="RF"):
        model.evaluate_one(LAYERS[0], Accelerator(4, 4, 1, "rs"))  # 1 byte holds no 16-bit word
    from hdx.cost.zigzag.adapter import ZigZagModel

    with pytest.raises(HDXError, match="lpf_limit"):
        ZigZagModel(HardwareParams(), lpf_limit=0)


@pytest.mark.zigzag
def test_zigzag_failure_is_wrapped(model):
    """A GLB too small for any loop ordering: ZigZag's own exception becomes an HDXError naming both."""
    big = Layer("conv", c=64, k=64, h=32, w=32, r=3, s=3, padding=1, name="big")
    with pytest.raises(HDXError, match=r"zigzag failed on layer 'big'.*16x16,rf=16,df=ws,glb=1.*larger GLB"):
        model.evaluate_one(big, Accelerator(16, 16, 16, "ws", glb_kib=1))


def test_missing_extra_gives_install_hint(monkeypatch):
    """Without zigzag-dse the backend says how to install it (no ImportError traceback)."""
    from hdx.cost.zigzag import adapter

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "zigzag" or name.startswith("zigzag."):
            raise ModuleNotFoundError(f"No module named '{name}'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(HDXError, match=r"pip install 'hdx\[zigzag\]'"):
        adapter.ZigZagModel(HardwareParams())


def test_spatial_unrolling_fits_loops_and_array():
    """Pure translation (no ZigZag needed): every unrolled loop stays within its bound, every axis within
    its PEs, and a depthwise layer unrolls G (never K or C)."""
    from hdx.cost.zigzag.translate import spatial_unrolling

    for layer in LAYERS + [Layer("conv", c=64, k=10, h=7, w=7, r=7, s=7, padding=3, name="k7")]:
        bounds = {"K": layer.k // layer.groups, "C": layer.c // layer.groups, "G": layer.groups,
                  "OX": layer.q, "OY": layer.p, "FY": layer.r}
        for pe_x in (4, 12, 32):
            for pe_y in (4, 20, 32):
                for df in ("ws", "os", "rs"):
                    u = spatial_unrolling(layer, Accelerator(pe_x, pe_y, 16, df))  # type: ignore[arg-type]
                    assert math.prod(u["D1"].values()) <= pe_x and math.prod(u["D2"].values()) <= pe_y
                    total: dict[str, int] = {}
                    for per_axis in u.values():
                        for dim, f in per_axis.items():
                            total[dim] = total.get(dim, 1) * f
                    assert all(f <= bounds[d] for d, f in total.items()), (layer.name, df, u)
                    if layer.kind == "depthwise":
                        assert not ({"K", "C"} & {d for d, f in total.items() if f > 1})


@pytest.mark.zigzag
def test_forwarding_noc_is_refused_not_silently_ignored(model):
    # ZigZag has no PE-to-PE forwarding: a forwarding template must not be costed as if multicast
    with pytest.raises(HDXError, match="cannot model PE-to-PE forwarding"):
        type(model)(HardwareParams(noc="forwarding"))


def _hdx_mappings(accels: list[Accelerator]):
    from hdx.cost.analytical import MAPPING_FIELDS, AnalyticalModel

    ours = AnalyticalModel(HardwareParams(), precision="float64").evaluate(LayerTable(LAYERS),
                                                                          AccelTable.from_accels(accels))
    return ours, lambda i, j: {k: float(ours.mapping[k][i, j]) for k in MAPPING_FIELDS}


def test_ordering_from_mapping_is_complete():
    # the ordering must cover exactly ZigZag's temporal loops (else ZigZag would search instead of
    # costing the given mapping), for every layer kind, dataflow and both roundings
    from hdx.cost.zigzag.crosscheck import ordering_from_mapping
    from hdx.cost.zigzag.translate import temporal_sizes

    accels = ACCELS + [Accelerator(4, 4, 8, "rs"), Accelerator(32, 8, 256, "ws"),
                       Accelerator(8, 32, 16, "os")]
    _, mapping = _hdx_mappings(accels)
    for i, layer in enumerate(LAYERS):
        for j, acc in enumerate(accels):
            for rounding, cap, dram in (("down", None, False), ("up", None, False), ("down", 64.0, False),
                                        ("down", None, True), ("up", None, True)):
                ordering = ordering_from_mapping(layer, acc, mapping(i, j), rounding, psum_words=cap,
                                                 dram=dram)
                got: dict[str, int] = {}
                for dim, f in ordering:
                    assert isinstance(f, int) and f > 1
                    got[dim] = got.get(dim, 1) * f
                assert got == temporal_sizes(layer, acc), (layer.name, str(acc), rounding)
                if cap is not None:  # the same loops; the tile loops stay innermost
                    plain = ordering_from_mapping(layer, acc, mapping(i, j), rounding)
                    assert sorted(map(tuple, ordering)) == sorted(map(tuple, plain))


def test_output_tiles_move_outside_the_reduction():
    # 1280 filters x 8x8 outputs on 16x32 RS: with the reduction (C) outermost, every psum would be held
    # across it (more than a 128 KiB GLB's half); with psum_words the output loops move outside C until
    # the psums held fit, as the analytical model's output tiles
    from hdx.cost.zigzag.crosscheck import _RED_DIMS, ordering_from_mapping
    from hdx.cost.zigzag.translate import spatial_unrolling

    layer = Layer("pointwise", c=128, k=1280, h=8, w=8, name="pw")
    acc = Accelerator(16, 32, 16, "rs")
    m = dict(mode=0.0, order=4.0, c_in=1.0, k_in=1.0, q_in=1.0, s_in=1.0)  # GLB loops K < PQ < RED
    plain = ordering_from_mapping(layer, acc, m)
    tiled = ordering_from_mapping(layer, acc, m, psum_words=32768.0)
    assert plain != tiled

    def held(order):
        last = max(i for i, (d, _) in enumerate(order) if d in _RED_DIMS)
        sp = math.prod(f for per in spatial_unrolling(layer, acc).values() for d, f in per.items()
                       if d in ("B", "G", "K", "OY", "OX"))
        return sp * math.prod(f for d, f in order[:last] if d in ("B", "G", "K", "OY", "OX"))

    assert held(plain) > 32768 >= held(tiled)


@pytest.mark.zigzag
def test_same_mapping_same_energy_in_both_models(model):
    # an independent truth for the analytical model's cost arithmetic: ZigZag's cost model, given the
    # mapping the analytical mapper chose (as a complete temporal ordering), over the same hardware
    # and technology table. Energy per (layer, accelerator): MAC energy equal; total within 20 % on
    # every pair, and the median |log ratio| below 0.1 (benchmarks/bench_zigzag_decisions.py
    # --hdx-mappings prints the same comparison over 7,000+ pairs)
    from hdx.cost.zigzag.crosscheck import ordering_from_mapping

    ours, mapping = _hdx_mappings(ACCELS)
    logs = []
    for i, layer in enumerate(LAYERS):
        for j, acc in enumerate(ACCELS):
            r = model.evaluate_one(layer, acc, ordering_from_mapping(layer, acc, mapping(i, j)))
            assert r.energy_pj["mac"] == pytest.approx(ours.energy_pj["mac"][i, j])
            ratio = r.energy_total_pj / ours.energy_total_pj[i, j]
            assert 0.8 <= ratio <= 1.2, (layer.name, str(acc), ratio)
            logs.append(abs(math.log(ratio)))
    assert np.median(logs) < 0.1


@pytest.mark.zigzag
def test_grouped_convolutions_same_mapping_same_energy(model):
    # grouped (not depthwise) convolutions: G groups of C/G -> K/G channels. The same independent truth
    # as above: ZigZag's cost of the analytical mapper's own mapping, energy within 20 % on every pair
    from hdx.cost.analytical import MAPPING_FIELDS, AnalyticalModel
    from hdx.cost.zigzag.crosscheck import ordering_from_mapping

    layers = [Layer("conv", c=32, k=64, h=16, w=16, r=3, s=3, padding=1, groups=4, name="g4"),
              Layer("conv", c=64, k=64, h=8, w=8, groups=8, name="g8pw")]
    accels = ACCELS + [Accelerator(16, 8, 256, "rs")]
    hw = HardwareParams()
    ours = AnalyticalModel(hw).evaluate(LayerTable(layers), AccelTable.from_accels(accels))
    for i, layer in enumerate(layers):
        for j, acc in enumerate(accels):
            m = {k: float(ours.mapping[k][i, j]) for k in MAPPING_FIELDS}
            r = model.evaluate_one(layer, acc, ordering_from_mapping(
                layer, acc, m, psum_words=hw.glb_tile_words(acc.glb_bytes)))
            assert r.energy_pj["mac"] == pytest.approx(ours.energy_pj["mac"][i, j])
            assert 0.8 <= r.energy_total_pj / ours.energy_total_pj[i, j] <= 1.2, (layer.name, str(acc))


RELEVANT = {"W": {"K", "C", "FX", "FY"}, "I": {"C", "OX", "OY", "FX", "FY", "B"}, "O": {"K", "OX", "OY", "B"}}


def _tm_levels(tm: str) -> dict[str, list[list[tuple[str, int]]]]:
    """ZigZag's printed temporal mapping ``{O: [[(K, 2), ...], ...], W: ...}`` as per-operand levels."""
    import ast
    import re

    return ast.literal_eval(re.sub(r"\b([A-Z]+)\b", r"'\1'", tm))


@pytest.mark.zigzag
def test_given_glb_tiles_are_what_zigzag_costs(model):
    # hold-array's two-level mapping with its GLB tiles given: ZigZag's DRAM level of every operand is
    # exactly the ordering's loops above the GLB tile (ZigZag's own allocator would choose per operand)
    from hdx.cost.analytical import MAPPING_FIELDS, AnalyticalModel
    from hdx.cost.zigzag.crosscheck import two_level_ordering

    held = AnalyticalModel(HardwareParams(), dram_tiles="hold-array", precision="float64")
    accels = [Accelerator(8, 8, 64, df, glb_kib=8) for df in ("ws", "os", "rs")]
    ours = held.evaluate(LayerTable(LAYERS), AccelTable.from_accels(accels))
    done = per_op = 0
    for i, layer in enumerate(LAYERS):
        for j, acc in enumerate(accels):
            m = {k: float(ours.mapping[k][i, j]) for k in MAPPING_FIELDS}
            ordering, n_glb = two_level_ordering(layer, acc, m)
            try:
                r = model.evaluate_one(layer, acc, ordering, glb_loops=n_glb)
            except HDXError as e:  # tiles rounded to ZigZag's factors may not fit its GLB: said so
                assert "do not fit" in str(e) or "does not fit" in str(e)
                continue
            for op, levels in _tm_levels(r.temporal_mapping).items():
                # the loops an operand depends on keep the ordering's order across its levels (ZigZag
                # moves the others between levels freely: the same schedule of that operand); none of
                # the operand's GLB tile's is at the DRAM level, and none above it at the GLB level (a
                # memory below the GLB may hold some: ZigZag fills those first)
                cut = n_glb if isinstance(n_glb, int) else n_glb[op]
                rel = RELEVANT[op] | ({"G"} if layer.kind == "depthwise" else set())
                pos = [i for i, x in enumerate(ordering) if x[0] in rel]
                level = [lv for lv, loops in enumerate(levels) for x in loops if x[0] in rel]
                assert [tuple(x) for loops in levels for x in loops if x[0] in rel] == \
                    [tuple(ordering[i]) for i in pos], (layer.name, str(acc), op)
                top = len(levels) - 1
                for at, lv in zip(pos, level, strict=True):
                    assert (lv < top) if at < cut else (lv != top - 1), (layer.name, str(acc), op, at)
            done += 1
            per_op += isinstance(n_glb, dict)
    assert done >= len(LAYERS) * len(accels) // 2
    assert per_op > 0  # some schedules chunk the kernel rows: the weights' tile spans that loop
    # a GLB tile of the whole layer on a 1 KiB GLB: refused with the reason, not costed
    acc = Accelerator(8, 8, 64, "os", glb_kib=1)
    layer = LAYERS[3]
    m = {k: float(v[3, 1]) for k, v in ours.mapping.items()}
    ordering, _ = two_level_ordering(layer, acc, m)
    with pytest.raises(HDXError, match="MemoryTooSmallException"):
        model.evaluate_one(layer, acc, ordering, glb_loops=len(ordering))


#: schedules that chunk the kernel rows of the input tile (the analytical model's innermost DRAM loop):
#: a 7x7 depthwise and a 5x5 conv on small GLBs
CHUNKED = [(Layer("depthwise", c=64, k=64, h=16, w=16, r=7, s=7, padding=3, groups=64, name="dw7"),
            Accelerator(8, 8, 16, "ws", glb_kib=8)),
           (Layer("conv", c=16, k=32, h=16, w=16, r=5, s=5, padding=2, name="c5"),
            Accelerator(8, 8, 16, "ws", glb_kib=4))]


def _chunked_mapping(layer: Layer, acc: Accelerator) -> dict[str, float]:
    from hdx.cost.analytical import MAPPING_FIELDS, AnalyticalModel

    res = AnalyticalModel(HardwareParams(), precision="float64").evaluate(LayerTable([layer]),
                                                                         AccelTable.from_accels([acc]))
    m = {k: float(res.mapping[k][0, 0]) for k in MAPPING_FIELDS}
    assert m["dram_rt"] < layer.r, "the schedule chunks the kernel rows (else the case tests nothing)"
    return m


def test_the_weights_tile_spans_the_kernel_row_chunks():
    """Pure translation: where HDX's schedule chunks the kernel rows, each operand's own GLB tile is given:
    inputs and outputs that of the uniform translation, the weights' also every kernel-row loop above it
    (the model keeps every kernel row of its filter tile in the GLB) and nothing past them; both are
    offered. A DRAM tile of the whole kernel gives one tile for every operand."""
    from hdx.cost.zigzag.crosscheck import hdx_orderings, two_level_ordering

    for layer, acc in CHUNKED:
        m = _chunked_mapping(layer, acc)
        uniform, n = two_level_ordering(layer, acc, m, per_operand=False)
        ordering, cut = two_level_ordering(layer, acc, m)
        assert ordering == uniform and isinstance(n, int) and isinstance(cut, dict)
        assert cut["I"] == cut["O"] == n < cut["W"] <= len(ordering)
        assert all(d == "FY" for d, _ in ordering[n:cut["W"]])
        assert cut["W"] == len(ordering) or ordering[cut["W"]][0] != "FY"
        offered = hdx_orderings(layer, acc, m, HardwareParams())
        assert (uniform, n, None) in offered and (ordering, cut, None) in offered
        whole = dict(m, dram_rt=float(layer.r))
        ordering, cut = two_level_ordering(layer, acc, whole)
        assert isinstance(cut, int) and all(d != "FY" for d, _ in ordering[cut:])


@pytest.mark.zigzag
def test_zigzag_keeps_the_weights_across_the_chunks(model):
    # the per-operand tile in ZigZag: no kernel-row loop at the weights' DRAM level (fetched once per
    # filter tile), the inputs' chunk loop still there, and less DRAM energy than with every operand's
    # tile the same (which fetched the weights again with every chunk)
    from hdx.cost.zigzag.crosscheck import two_level_ordering

    for layer, acc in CHUNKED:
        m = _chunked_mapping(layer, acc)
        uniform = model.evaluate_one(layer, acc, *two_level_ordering(layer, acc, m, per_operand=False))
        own = model.evaluate_one(layer, acc, *two_level_ordering(layer, acc, m))
        levels = _tm_levels(own.temporal_mapping)
        assert all(d != "FY" for d, _ in levels["W"][-1]), layer.name
        assert any(d == "FY" for d, _ in levels["I"][-1]), layer.name
        assert own.energy_pj["dram"] < uniform.energy_pj["dram"], layer.name


@pytest.mark.zigzag
def test_latency_parts_add_up_to_zigzags_latency(model):
    # ZigZag's latency is its ideal cycles, the largest port stall (none if every port has slack), the
    # first tiles' load and the last outputs' drain; the busiest GLB port moves data at least as long
    # as its stall adds beyond the ideal cycles (it stalls only for transfers)
    for ly in LAYERS[:4]:
        for acc in ACCELS:
            r = model.evaluate_one(ly, acc)
            p = r.latency_parts
            stall = max([0.0] + [v for k, v in p.items() if k.startswith("stall_")])
            assert p["ideal"] == r.compute_cycles
            total = p["ideal"] + stall + p["onload"] + p["offload"]
            assert math.isclose(r.latency_cycles, total, rel_tol=1e-9)
            assert p["busy_glb"] >= p.get("stall_glb", 0.0)


def test_hdx_orderings_are_distinct_complete_translations():
    """Pure translation (no ZigZag needed): the orderings ZigZag is offered are distinct, each covers
    exactly ZigZag's temporal loops, the first is the plain rounded-down one, and a given GLB tile holds
    some but not all of its loops."""
    from hdx.cost.zigzag.crosscheck import hdx_orderings, ordering_from_mapping
    from hdx.cost.zigzag.translate import temporal_sizes

    hw = HardwareParams()
    accels = ACCELS + [Accelerator(4, 4, 8, "rs"), Accelerator(32, 8, 256, "ws", glb_kib=16)]
    _, mapping = _hdx_mappings(accels)
    for i, layer in enumerate(LAYERS):
        for j, acc in enumerate(accels):
            offered = hdx_orderings(layer, acc, mapping(i, j), hw)
            assert 1 <= len(offered) <= 12
            assert len({json.dumps(c) for c in offered}) == len(offered)
            first = ordering_from_mapping(layer, acc, mapping(i, j), "down",
                                          psum_words=hw.glb_tile_words(acc.glb_bytes))
            assert offered[0] == (first, None, None)
            for ordering, n_glb, pe in offered:
                got: dict[str, int] = {}
                for dim, f in ordering:
                    got[dim] = got.get(dim, 1) * f
                assert got == temporal_sizes(layer, acc), (layer.name, str(acc))
                cuts = [] if n_glb is None else [n_glb] if isinstance(n_glb, int) else list(n_glb.values())
                assert all(0 <= c <= len(ordering) for c in cuts)
                assert pe is None or (n_glb is not None and set(pe) == {"W", "I", "O"}
                                      and all(0 <= n <= len(ordering) for n in pe.values()))
                if isinstance(n_glb, dict):  # the weights' tile also spans the kernel-row chunks above
                    assert n_glb["I"] == n_glb["O"] < n_glb["W"]
                    assert all(d == "FY" for d, _ in ordering[n_glb["I"]:n_glb["W"]])


@pytest.mark.zigzag
def test_best_known_is_zigzags_own_cost_of_one_offered_mapping(model):
    """ZigZag's best known mapping: never worse (latency, then energy) than LOMA's, and exactly ZigZag's
    costs of LOMA's mapping or of one of the analytical model's translations (every number is ZigZag's)."""
    from hdx.cost.zigzag.crosscheck import hdx_orderings

    _, mapping = _hdx_mappings(ACCELS)
    taken = 0
    for i, layer in enumerate(LAYERS):
        for j, acc in enumerate(ACCELS):
            best = model.best_known(layer, acc, mapping(i, j))
            loma = model.evaluate_one(layer, acc)
            key = (best.latency_cycles, best.energy_total_pj)
            assert key <= (loma.latency_cycles, loma.energy_total_pj)
            runs = [loma]
            for ordering, n_glb, pe in hdx_orderings(layer, acc, mapping(i, j), model.hardware):
                with contextlib.suppress(HDXError):
                    runs.append(model.evaluate_one(layer, acc, ordering, n_glb, pe))
            assert key == min((r.latency_cycles, r.energy_total_pj) for r in runs)
            assert best.mapping_source == ("loma" if key == (loma.latency_cycles, loma.energy_total_pj)
                                           else "hdx")
            taken += best.mapping_source == "hdx"
    assert taken > 0  # on these pairs LOMA at lpf 1 misses mappings ZigZag rates better


@pytest.mark.zigzag
def test_evaluate_reports_whose_mapping_and_loma_alone_is_an_option(model, costs):
    from hdx.cost.zigzag.adapter import ZigZagModel

    flags = costs.mapping["from_hdx"]
    assert flags.shape == (len(LAYERS), len(ACCELS)) and set(np.unique(flags)) <= {0.0, 1.0}
    loma = ZigZagModel(HardwareParams(), mappings="loma")
    alone = loma.evaluate(LayerTable(LAYERS), AccelTable.from_accels(ACCELS))
    assert alone.mapping is None
    assert np.all(costs.latency_cycles <= alone.latency_cycles)
    np.testing.assert_array_equal(costs.latency_cycles[flags == 0], alone.latency_cycles[flags == 0])
    assert loma.fingerprint() != model.fingerprint() and loma.label == "zigzag"
    with pytest.raises(HDXError, match="mappings must be one of loma, loma\\+hdx"):
        ZigZagModel(HardwareParams(), mappings="lomax")  # type: ignore[arg-type]


@pytest.mark.zigzag
def test_static_energy_is_the_analytical_leakage_times_zigzags_latency(model):
    """ZigZag has no static energy: with a technology table that gives leakage, the backend adds the same
    leakage power the analytical model prices (mW) times ZigZag's own latency; without leakage, none."""
    from hdx.cost.analytical import AnalyticalModel
    from hdx.cost.zigzag.adapter import ZigZagModel

    hw = HardwareParams(tech="cacti7_45nm_lstp")
    accels = AccelTable.from_accels(ACCELS[:2])
    zz = ZigZagModel(hw, mappings="loma").evaluate(LayerTable(LAYERS[3:]), accels)
    leak_mw = AnalyticalModel(hw).leakage_mw(accels)
    assert np.all(leak_mw > 0)
    seconds = zz.latency_cycles / (hw.clock_mhz * 1e6)
    np.testing.assert_allclose(zz.energy_pj["static"], seconds * leak_mw[None, :] * 1e-3 * 1e12, rtol=1e-9)
    plain = model.evaluate(LayerTable(LAYERS[3:]), AccelTable.from_accels(ACCELS[:2]))
    assert np.all(plain.energy_pj["static"] == 0)  # accelergy_45nm: no leakage


#: a mapping whose PE-local tile ZigZag's allocator overfills: HDX's WS tile holds 4 channels of one
#: filter on a 32-word RF; ZigZag's allocator adds filters up to 32 words, which pulls every loop below
#: them into the weights' GLB tile (16 384 words on a 32 KiB GLB)
PE_CASE = (Layer("pointwise", c=128, k=384, h=8, w=8, name="pw384"), Accelerator(16, 32, 64, "ws", glb_kib=32,
                                                                                    glb_bw=8))


def _pe_case_mapping(hw: HardwareParams) -> dict[str, float]:
    from hdx.cost.analytical import MAPPING_FIELDS, AnalyticalModel

    layer, acc = PE_CASE
    res = AnalyticalModel(hw, precision="float64").evaluate(LayerTable([layer]),
                                                            AccelTable.from_accels([acc]))
    return {k: float(res.mapping[k][0, 0]) for k in MAPPING_FIELDS}


def test_pe_loops_are_the_tile_and_the_run_it_does_not_depend_on():
    """Pure translation: each operand's PE loops are the PE-local tile's loops and, above them, the loops
    it does not depend on, up to the first it depends on or its GLB tile's end; both variants of each
    two-level translation are offered."""
    from hdx.cost.analytical import MAPPING_FIELDS, AnalyticalModel
    from hdx.cost.zigzag.crosscheck import RELEVANT, _ordering, hdx_orderings, pe_loops, two_level_ordering

    hw = HardwareParams()
    m = _pe_case_mapping(hw)
    layer, acc = PE_CASE
    ordering, cut = two_level_ordering(layer, acc, m)
    pe = pe_loops(layer, acc, m, "down", cut)
    n_tile = _ordering(layer, acc, m, "down", None, True)[3]
    assert [d for d, _ in ordering[:n_tile]] == ["C"] * n_tile and n_tile >= 1  # 4 channels: C2 C2
    # weights: the tile, then every output-pixel loop above it (the PE keeps its weights across them)
    assert {d for d, _ in ordering[n_tile:pe["W"]]} == {"OX", "OY"}
    assert pe["I"] == n_tile  # the next loop (an output pixel) moves the inputs
    assert pe["O"] == n_tile  # psums depend on the pixels too (the channel loops below them do not)
    # the invariants on every mapping of a few layers and designs
    held = AnalyticalModel(hw, precision="float64")
    accels = [Accelerator(8, 8, 64, df, glb_kib=8) for df in ("ws", "os", "rs")] + [PE_CASE[1]]
    ours = held.evaluate(LayerTable(LAYERS[:4]), AccelTable.from_accels(accels))
    checked = 0
    for i, layer in enumerate(LAYERS[:4]):
        for j, acc in enumerate(accels):
            m = {k: float(ours.mapping[k][i, j]) for k in MAPPING_FIELDS}
            for rounding in ("down", "up"):
                ordering, cut = two_level_ordering(layer, acc, m, rounding)
                n_tile = _ordering(layer, acc, m, rounding, None, True)[3]
                pe = pe_loops(layer, acc, m, rounding, cut)
                for op, n in pe.items():
                    end = cut if isinstance(cut, int) else cut[op]
                    rel = RELEVANT[op]
                    assert min(n_tile, end) <= n <= max(n_tile, end), (layer.name, str(acc), op)
                    assert all(d not in rel for d, _ in ordering[n_tile:n]), (layer.name, str(acc), op)
                    assert n >= end or ordering[n][0] in rel, (layer.name, str(acc), op)
                offered = hdx_orderings(layer, acc, m, hw)
                assert (ordering, cut, None) in offered and (ordering, cut, pe) in offered
                checked += 1
    assert checked == 2 * 4 * len(accels)


@pytest.mark.zigzag
def test_pe_loops_keep_zigzag_to_the_pe_tile(model):
    # the PE case: with ZigZag's allocator below the GLB the given GLB tiles do not fit; held to the PE
    # loops they do, no memory below the GLB holds more, and ZigZag's DRAM traffic is the schedule's
    # (HDX's DRAM energy of the mapping: a 1x1 layer, no halo to count differently)
    from hdx.cost.analytical import AnalyticalModel
    from hdx.cost.zigzag.crosscheck import pe_loops, two_level_ordering

    hw = HardwareParams()
    layer, acc = PE_CASE
    m = _pe_case_mapping(hw)
    ordering, cut = two_level_ordering(layer, acc, m)
    with pytest.raises(HDXError, match="do not fit the GLB together"):
        model.evaluate_one(layer, acc, ordering, cut)
    pe = pe_loops(layer, acc, m, "down", cut)
    r = model.evaluate_one(layer, acc, ordering, cut, pe)
    for op, levels in _tm_levels(r.temporal_mapping).items():
        below = sum(len(loops) for loops in levels[:-2])  # the levels under the GLB (then GLB, DRAM)
        assert below <= pe[op], (op, levels)
    ours = AnalyticalModel(hw, precision="float64").evaluate(LayerTable([layer]),
                                                             AccelTable.from_accels([acc]))
    assert r.energy_pj["dram"] == pytest.approx(float(ours.energy_pj["dram"][0, 0]), rel=1e-9)
    with pytest.raises(HDXError, match="pe_loops needs glb_loops"):
        model.evaluate_one(layer, acc, ordering, None, pe)
