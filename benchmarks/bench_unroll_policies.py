"""The spatial unrolling: one policy for the analytical model and the ZigZag translation, and what it
changed against an earlier revision's two.

The analytical model (:func:`hdx.cost.analytical.spatial.unroll`) picks, jointly over both array axes,
the unrolling with the fewest passes over the array; the ZigZag translation
(:func:`hdx.cost.zigzag.translate.spatial_unrolling`) gives ZigZag that same unrolling. This prints, per
dataflow, over every distinct layer of a network space on every array shape of an accelerator space:

* ``now: model vs ZigZag``: pairs whose passes differ between the model's unrolling and the one ZigZag
  is given (one policy: 0 for every layer that is not a grouped convolution);
* ``vs REV model`` / ``vs REV ZigZag`` (with ``--against REV``): pairs whose passes differ from the
  analytical model's and from the translation's unrolling at git revision ``REV`` (loaded from git in
  the same process), how many take fewer or more passes now, and the ratio of passes where they differ.

    python benchmarks/bench_unroll_policies.py --against 51db548
    python benchmarks/bench_unroll_policies.py --space dance_cifar10 --accel-space dse_large
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from hdx.cost.analytical.dims import LayerDims
from hdx.cost.analytical.spatial import unroll
from hdx.cost.table_build import grouped_layers
from hdx.cost.zigzag.translate import spatial_unrolling, temporal_sizes
from hdx.space.accelerator import Accelerator, AcceleratorSpace
from hdx.space.network import NetworkSpace

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cost_speed import analytical_at, file_at  # noqa: E402  (revisions loaded from git)

#: the loops each dataflow unrolls (dense, depthwise), as ZigZag names them: their temporal remainders
#: multiply to the passes over the array
_LOOPS = {"ws": (("C", "K"), ("G",)), "os": (("OX", "OY", "K"), ("OX", "OY", "G")),
          "rs": (("FY", "OY", "C", "K"), ("FY", "OY", "G"))}


def model_passes(df: str, ly: LayerDims, u: dict, i: int) -> int:
    """Passes over the array of layer ``i`` under an analytical unrolling ``u`` (one array shape), from
    its filters and channels in flight (the fields every revision's ``unroll`` returns)."""
    k, cg, dw = ly.k[i, 0], ly.cg[i, 0], bool(ly.dw[i, 0])
    per_k = math.ceil(k / u["uK"][i, 0])
    if df == "ws":
        return (1 if dw else math.ceil(cg / u["cy"][i, 0])) * per_k
    if df == "os":
        return math.ceil(ly.q[i, 0] / u["qx"][i, 0]) * math.ceil(ly.p[i, 0] / u["py"][i, 0]) * per_k
    return (math.ceil(ly.r[i, 0] / u["ry"][i, 0]) * math.ceil(ly.p[i, 0] / u["px"][i, 0]) * per_k
            * (1 if dw else math.ceil(cg / u["uC"][i, 0])))


def zigzag_passes(df: str, layer, acc: Accelerator, translate_fn, dw: bool) -> int:
    tz = temporal_sizes(layer, acc, translate_fn(layer, acc))
    return math.prod(tz.get(d, 1) for d in _LOOPS[df][dw])


class Tally:
    def __init__(self) -> None:
        self.n = self.diff = self.fewer = self.more = 0
        self.ratios: list[float] = []

    def add(self, now: int, then: int) -> None:
        self.n += 1
        if now != then:
            self.diff += 1
            self.fewer += now < then
            self.more += now > then
            self.ratios.append(now / then)

    def text(self) -> str:
        med = f"{np.median(self.ratios):.2f}" if self.ratios else "-"
        lo = f"{min(self.ratios):.2f}" if self.ratios else "-"
        return (f"{self.diff:>6} ({100 * self.diff / max(self.n, 1):4.1f}%) {self.fewer:>6} {self.more:>5} "
                f"{med:>7} {lo:>6}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default="dance_cifar10")
    ap.add_argument("--accel-space", default="eyeriss_like")
    ap.add_argument("--against", default=None, metavar="REV",
                    help="also compare with the analytical model and the ZigZag translation of this revision")
    a = ap.parse_args()
    old_model = analytical_at(a.against) if a.against else None
    old_translate = (file_at(a.against, "src/hdx/cost/zigzag/translate.py", "translate_at_rev")
                     if a.against else None)
    net, grid = NetworkSpace.load(a.space), AcceleratorSpace.load(a.accel_space)
    lt, _ = grouped_layers(net)
    lt = lt[lt.distinct()[0]]
    layers, ly = lt.to_layers(), LayerDims.of(lt, np.float64)
    t = grid.table_of(np.arange(min(len(grid), 200_000))) if len(grid) > 200_000 else grid.table
    shapes = sorted(set(zip(t.pe_x.tolist(), t.pe_y.tolist(), strict=True)))
    print(f"{len(layers)} distinct layers of '{net.name}' x {len(shapes)} array shapes of '{grid.name}'")
    cols = "differ (%)  fewer  more  median    min"
    head = f"{'dataflow':<9}{'pairs':>7}  {'now: model vs ZigZag':>22}"
    if a.against:
        head += f"  | vs {a.against[:8]} model: {cols}  | vs {a.against[:8]} ZigZag: {cols}"
    print(head)
    for df in ("ws", "os", "rs"):
        same, vs_model, vs_zz = Tally(), Tally(), Tally()
        for x, y in shapes:
            ax, ay = np.full((1, 1), float(x)), np.full((1, 1), float(y))
            u = unroll(df, ly, ax, ay)
            u_old = old_model.spatial.unroll(df, ly, ax, ay) if old_model else None
            acc = Accelerator(x, y, 16, df)  # type: ignore[arg-type]
            for i, layer in enumerate(layers):
                dw = bool(ly.dw[i, 0])
                now = model_passes(df, ly, u, i)
                same.add(zigzag_passes(df, layer, acc, spatial_unrolling, dw), now)
                if u_old is not None:
                    vs_model.add(now, model_passes(df, ly, u_old, i))
                    vs_zz.add(now, zigzag_passes(df, layer, acc, old_translate.spatial_unrolling, dw))
        line = f"{df:<9}{same.n:>7}  {same.diff:>14} ({100 * same.diff / same.n:4.1f}%)"
        if a.against:
            line += f"  | {'':>16}{vs_model.text()}  | {'':>17}{vs_zz.text()}"
        print(line)
    if a.against:
        print(f"fewer / more: pairs whose unrolling takes fewer / more passes now than at {a.against}; median"
              f" and min: the ratio of passes now / then where they differ")


if __name__ == "__main__":
    main()
