"""The spatial unrolling (hdx.cost.analytical.spatial): one policy for the analytical model and the
ZigZag translation, checked against exhaustive enumeration (independent of its closed form)."""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hdx.cost.analytical.dims import LayerDims
from hdx.cost.analytical.spatial import GROUPS_PER_AXIS, split, unroll
from hdx.cost.zigzag.translate import spatial_unrolling, temporal_sizes
from hdx.space.accelerator import Accelerator
from hdx.workload import Layer, LayerTable


def _fewest_passes(n: int, a_max: int, b_max: int) -> int:
    """The fewest passes of a loop of bound n over a <= a_max, b <= b_max PEs with a·b <= n, by trying
    every (a, b)."""
    return min(math.ceil(n / (a * b)) for a in range(1, min(a_max, n) + 1)
               for b in range(1, min(b_max, n) + 1) if a * b <= n)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 600), st.integers(1, 64), st.integers(1, 64)),
                min_size=1, max_size=20))
def test_split_takes_the_fewest_passes_within_bounds(cases):
    n, a_max, b_max = (np.array(v, dtype=np.float64) for v in zip(*cases, strict=True))
    a, b = split(n, a_max, b_max)
    for i, (nn, am, bm) in enumerate(cases):
        assert 1 <= a[i] <= am and 1 <= b[i] <= bm and a[i] * b[i] <= nn  # ZigZag's bounds
        assert math.ceil(nn / (a[i] * b[i])) == _fewest_passes(nn, am, bm), (nn, am, bm, a[i], b[i])


def test_split_hand_cases():
    # 32 filters over 5 x 7 spare PEs: 35 slots would take one pass but exceed the loop, so two passes
    # (e.g. 4 x 4 = 16 PEs, no more than two passes need)
    a, b = split(np.array([32.0]), np.array([5.0]), np.array([7.0]))
    assert math.ceil(32 / (a[0] * b[0])) == 2 and a[0] <= 5 and b[0] <= 7 and a[0] * b[0] <= 32
    # 64 filters over 3 x 32: 2 x 32 = 64 is one pass (a balanced 3 x 21 = 63 would need two)
    a, b = split(np.array([64.0]), np.array([3.0]), np.array([32.0]))
    assert (a[0], b[0]) == (2.0, 32.0)
    # a loop that fits one axis: no second-axis copies needed beyond it
    a, b = split(np.array([6.0]), np.array([8.0]), np.array([8.0]))
    assert a[0] * b[0] == 6.0


def _brute_passes(df: str, layer: Layer, x: int, y: int) -> int:
    """The fewest passes over an x × y array of every unrolling of the dataflow's template: each axis's
    first loop on any t <= x (y) PEs it leaves a group count m of, the replicated loops over the spare
    PEs within their bounds, by enumeration."""
    g = layer.groups
    dw = layer.kind == "depthwise"
    k, cg = layer.k, layer.c // g
    best = math.inf
    axes = [(m, m2) for m in GROUPS_PER_AXIS for m2 in GROUPS_PER_AXIS]

    def bal(loop: int, pes: int) -> int:
        t = max(min(loop, pes), 1)
        return math.ceil(loop / math.ceil(loop / t))

    for mx, my in axes:
        if df == "ws":
            cy = bal(cg, y // my) if not dw else 1
            best = min(best, math.ceil(cg / cy) * _fewest_passes(k, y // cy, x))
        elif df == "os":
            qx, py = bal(layer.q, x // mx), bal(layer.p, y // my)
            best = min(best, math.ceil(layer.q / qx) * math.ceil(layer.p / py)
                       * _fewest_passes(k, x // qx, y // py))
        else:
            ry, px = bal(layer.r, y // my), bal(layer.p, x // mx)
            base = math.ceil(layer.r / ry) * math.ceil(layer.p / px)
            if dw:
                best = min(best, base * _fewest_passes(k, y // ry, x // px))
            else:
                best = min(best, base * math.ceil(cg / bal(cg, y // ry)) * math.ceil(k / bal(k, x // px)))
    return best


LAYERS = [Layer("conv", c=64, k=32, h=8, w=8, name="c"), Layer("conv", c=3, k=24, h=32, w=32, name="stem"),
          Layer("pointwise", c=40, k=240, h=16, w=16, name="pw"),
          Layer("depthwise", c=96, k=96, h=16, w=16, r=5, s=5, padding=2, groups=96, name="dw"),
          Layer("conv", c=128, k=1280, h=4, w=4, r=1, s=1, name="head"),
          Layer("fc", c=1280, k=10, h=1, w=1, r=1, s=1, name="fc")]


def test_unroll_takes_the_fewest_passes_of_its_template_and_zigzag_gets_it():
    """On every layer kind, dataflow and a range of array shapes: the model's unrolling takes the fewest
    passes of every candidate of its template (enumerated), every factor within its loop and axis, and
    the ZigZag translation's temporal loops give the same passes (one policy)."""
    ly = LayerDims.of(LayerTable(LAYERS), np.float64)
    loops = {"ws": (("C", "K"), ("G",)), "os": (("OX", "OY", "K"), ("OX", "OY", "G")),
             "rs": (("FY", "OY", "C", "K"), ("FY", "OY", "G"))}
    for x, y in itertools.product((4, 7, 12, 20, 32), (3, 8, 14, 28)):
        for df in ("ws", "os", "rs"):
            u = unroll(df, ly, np.full((1, 1), float(x)), np.full((1, 1), float(y)))
            for i, layer in enumerate(LAYERS):
                passes = int(u["passes"][i, 0])
                assert passes == _brute_passes(df, layer, x, y), (layer.name, df, x, y)
                acc = Accelerator(x, y, 16, df)  # type: ignore[arg-type]
                sp = spatial_unrolling(layer, acc)
                assert math.prod(sp["D1"].values()) <= x and math.prod(sp["D2"].values()) <= y
                tz = temporal_sizes(layer, acc, sp)
                zz = math.prod(tz.get(d, 1) for d in loops[df][layer.kind == "depthwise"])
                assert zz == passes, (layer.name, df, x, y, sp)


def test_unroll_per_shape_equals_per_design():
    # the unrolling is computed once per distinct array shape: the same as design by design
    ly = LayerDims.of(LayerTable(LAYERS), np.float32)
    xs = np.array([[8.0, 16.0, 8.0, 32.0, 16.0, 8.0]], dtype=np.float32)
    ys = np.array([[8.0, 16.0, 8.0, 4.0, 16.0, 12.0]], dtype=np.float32)
    for df in ("ws", "os", "rs"):
        together = unroll(df, ly, xs, ys)
        for j in range(xs.shape[1]):
            alone = unroll(df, ly, xs[:, j:j + 1], ys[:, j:j + 1])
            for key, v in alone.items():
                np.testing.assert_array_equal(together[key][:, j], v[:, 0], err_msg=f"{df} {key}")


def test_grouped_layers_get_the_fewest_zigzag_passes_within_bounds():
    """A grouped (not depthwise) layer: the model counts every group's filters as one K loop, ZigZag has K
    per group and G. On every axis the translation's K × G stays within the model's filters on that
    axis and within ZigZag's bounds, and its passes are the fewest of every such split (enumerated)."""
    from hdx.cost.analytical.spatial import unroll as model_unroll

    for g in (2, 4, 8, 32):
        layer = Layer("conv", c=32, k=64, h=16, w=16, r=3, s=3, padding=1, groups=g, name=f"g{g}")
        kn = layer.k // g
        ly = LayerDims.of(LayerTable([layer]), np.float64)
        for x, y in itertools.product((1, 3, 7, 16, 32), (1, 5, 16, 100)):
            for df in ("ws", "os", "rs"):
                acc = Accelerator(x, y, 16, df)  # type: ignore[arg-type]
                sp = spatial_unrolling(layer, acc)
                assert math.prod(sp["D1"].values()) <= x and math.prod(sp["D2"].values()) <= y
                tot = {d: math.prod(a.get(d, 1) for a in sp.values()) for d in ("K", "G")}
                assert tot["K"] <= kn and tot["G"] <= g
                u = model_unroll(df, ly, np.full((1, 1), float(x)), np.full((1, 1), float(y)))
                fx = int(u["kx"][0, 0] if df == "ws" else u["fx"][0, 0])
                fy = int(u["fy"][0, 0]) if df in ("ws", "os") else 1
                for axis, f in (("D1", fx), ("D2", fy)):
                    assert sp[axis].get("K", 1) * sp[axis].get("G", 1) <= f
                best = min(math.ceil(kn / (k1 * k2)) * math.ceil(g / (g1 * g2))
                           for k1, g1, k2, g2 in itertools.product(range(1, kn + 1), range(1, g + 1),
                                                                   range(1, kn + 1), range(1, g + 1))
                           if k1 * g1 <= fx and k2 * g2 <= fy and k1 * k2 <= kn and g1 * g2 <= g)
                assert math.ceil(kn / tot["K"]) * math.ceil(g / tot["G"]) == best, (g, x, y, df, sp)
