"""How often the analytical model's spatial unrolling and the ZigZag translation's differ.

Both unroll a dataflow's loops on the PE array with the same tile rule
(:func:`hdx.cost.analytical.spatial.balanced_tile`, an axis cut into m ∈ ``GROUPS_PER_AXIS`` groups),
but choose differently: the analytical model (:func:`hdx.cost.analytical.spatial.unroll`) takes, per
axis, the split with the most busy PEs and may pad a replicated loop beyond its bound; the translation
(:func:`hdx.cost.zigzag.translate.spatial_unrolling`) takes the split with the fewest passes over both
axes jointly and never unrolls a loop beyond its bound (ZigZag cannot). This prints, per dataflow, over
every distinct layer of a network space on every array shape of an accelerator space: the pairs whose
number of array passes differs, in which direction, the ratio of passes where they differ, and the
pairs whose busy PEs differ.

    python benchmarks/bench_unroll_policies.py
    python benchmarks/bench_unroll_policies.py --space dance_cifar10 --accel-space dse_large
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from hdx.cost.analytical.dims import LayerDims
from hdx.cost.analytical.spatial import unroll
from hdx.cost.table_build import grouped_layers
from hdx.cost.zigzag.translate import spatial_unrolling, temporal_sizes
from hdx.space.accelerator import Accelerator, AcceleratorSpace
from hdx.space.network import NetworkSpace

#: the loops each dataflow unrolls (dense, depthwise), as ZigZag names them: their temporal remainders
#: multiply to the passes over the array
_LOOPS = {"ws": (("C", "K"), ("G",)), "os": (("OX", "OY", "K"), ("OX", "OY", "G")),
          "rs": (("FY", "OY", "C", "K"), ("FY", "OY", "G"))}


def analytical_passes(df: str, ly: LayerDims, u: dict, i: int) -> int:
    """Passes over the array of layer ``i`` under the analytical unrolling ``u`` (one array shape)."""
    k, cg, dw = ly.k[i, 0], ly.cg[i, 0], bool(ly.dw[i, 0])
    per_k = math.ceil(k / u["uK"][i, 0])
    if df == "ws":
        return (1 if dw else math.ceil(cg / u["cy"][i, 0])) * per_k
    if df == "os":
        return math.ceil(ly.q[i, 0] / u["qx"][i, 0]) * math.ceil(ly.p[i, 0] / u["py"][i, 0]) * per_k
    return (math.ceil(ly.r[i, 0] / u["ry"][i, 0]) * math.ceil(ly.p[i, 0] / u["px"][i, 0]) * per_k
            * (1 if dw else math.ceil(cg / u["uC"][i, 0])))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default="dance_cifar10")
    ap.add_argument("--accel-space", default="eyeriss_like")
    a = ap.parse_args()
    net, grid = NetworkSpace.load(a.space), AcceleratorSpace.load(a.accel_space)
    lt, _ = grouped_layers(net)
    lt = lt[lt.distinct()[0]]
    layers, ly = lt.to_layers(), LayerDims.of(lt, np.float64)
    t = grid.table_of(np.arange(min(len(grid), 200_000))) if len(grid) > 200_000 else grid.table
    shapes = sorted(set(zip(t.pe_x.tolist(), t.pe_y.tolist(), strict=True)))
    print(f"{len(layers)} distinct layers of '{net.name}' x {len(shapes)} array shapes of '{grid.name}'")
    print(f"{'dataflow':<9}{'pairs':>7}{'passes differ':>15}{'analytical more':>17}{'fewer':>7}"
          f"{'ratio median':>14}{'ratio max':>11}{'busy PEs differ':>17}")
    for df in ("ws", "os", "rs"):
        n = diff = more = fewer = pe_diff = 0
        ratios: list[float] = []
        for x, y in shapes:
            u = unroll(df, ly, np.full((1, 1), float(x)), np.full((1, 1), float(y)))
            acc = Accelerator(x, y, 16, df)  # type: ignore[arg-type]
            for i, layer in enumerate(layers):
                zu = spatial_unrolling(layer, acc)
                tz = temporal_sizes(layer, acc, zu)
                pz = math.prod(tz.get(d, 1) for d in _LOOPS[df][bool(ly.dw[i, 0])])
                pa = analytical_passes(df, ly, u, i)
                busy = math.prod(f for per in zu.values() for f in per.values())
                n += 1
                diff += pa != pz
                more += pa > pz
                fewer += pa < pz
                pe_diff += busy != u["act"][i, 0]
                if pa != pz:
                    ratios.append(pa / pz)
        med = f"{np.median(ratios):.2f}" if ratios else "-"
        mx = f"{max(ratios):.2f}" if ratios else "-"
        print(f"{df:<9}{n:>7}{diff:>9} ({100 * diff / n:4.1f}%){more:>17}{fewer:>7}{med:>14}{mx:>11}"
              f"{pe_diff:>10} ({100 * pe_diff / n:4.1f}%)")
    print("ratio = analytical passes / translation passes where they differ (> 1: the analytical model's "
          "unrolling is the slower one)")


if __name__ == "__main__":
    main()
