"""Monotonicity in resources: does more of a resource ever make the best mapping slower?

With everything else equal, a bigger GLB, more GLB bandwidth, more DRAM bandwidth or a bigger RF keeps
every mapping of the smaller machine runnable, so the best latency can never rise. This benchmark walks
a ladder of each resource for ``--networks`` seeded random networks of the default space on every
design of the default grid (1152: PE array, RF size, dataflow) and counts the steps where a network's
latency rises (relative tolerance ``--tol``, above float32 rounding). The per-operand scratchpads
(``pad_w``, ``pad_i``, ``pad_o``) are walked one at a time on the grid's RS designs, the other two at the
split of the design's RF.

Energy: a bigger memory costs more per access (and leaks more), so energy may rise with it; what must
not rise is the energy of the *accesses the mapping makes*. The second count re-prices the bigger
machine's mapping with a technology table whose SRAM energy does not depend on the capacity (and no
leakage): at equal latency (the same cycles exactly) the access energy must not rise (goal 0). Where the
latency falls (by any amount) the latency-first mapper may spend energy for it: those steps are counted
apart, for information.

``--dram-tiles free`` (v3.1's GLB level) / ``--glb-buffering single`` walk the analytical model's other
GLB levels instead of the default; ``--mapper-tiles any`` its partial last tiles; ``--ladder
rf_bytes=8,12,16,24,32`` walks another ladder of a resource (repeatable).

Run: ``python benchmarks/bench_monotone.py [--networks 50] [--seed 0] [--dram-tiles free]
[--glb-buffering single] [--mapper-tiles any] [--ladder KNOB=V1,V2,...]``.
"""

from __future__ import annotations

import argparse
import time
from typing import get_args

import numpy as np

from hdx.cost.analytical import AnalyticalModel
from hdx.cost.analytical.mapper import GlbBuffering
from hdx.space.accelerator import DATAFLOWS, AcceleratorSpace, AccelTable
from hdx.space.network import NetworkSpace
from hdx.workload import LayerTable

LADDERS = {
    "glb_kib": [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096],
    "glb_words_per_cycle": [2, 4, 8, 16, 32, 64, 128],
    "dram_bytes_per_cycle": [2, 4, 8, 16, 32, 64],
    "rf_bytes": [8, 16, 32, 64, 128, 256, 512],
    "pad_w": [8, 16, 32, 64, 128, 256, 512],
    "pad_i": [2, 4, 8, 16, 32, 64],
    "pad_o": [2, 4, 8, 16, 32, 64],
}
PADS = ("pad_w", "pad_i", "pad_o")


def network_rows(space: NetworkSpace, n: int, seed: int) -> tuple[LayerTable, list[np.ndarray]]:
    """The layers of ``n`` random networks in one table, and each network's row indices."""
    rng = np.random.default_rng(seed)
    layers, rows = [], []
    for _ in range(n):
        ls = space.layers(space.sample(rng))
        rows.append(np.arange(len(layers), len(layers) + len(ls)))
        layers += ls
    return LayerTable(layers), rows


def ladder_costs(model: AnalyticalModel, layers: LayerTable, rows: list[np.ndarray], accels: AccelTable):
    c = model.evaluate(layers, accels)
    lat = np.stack([c.latency_cycles[r].sum(0) for r in rows])          # [networks, accels]
    en = np.stack([c.energy_total_pj[r].sum(0) for r in rows])
    return lat, en


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--networks", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tol", type=float, default=1e-6, help="relative rise counted as a violation")
    ap.add_argument("--dram-tiles", default="hold-array", choices=("free", "hold-array"))
    ap.add_argument("--glb-buffering", default=None, choices=get_args(GlbBuffering),
                    help="the analytical model's GLB buffering (default: the grid hardware's, zigzag on "
                         "eyeriss_like)")
    ap.add_argument("--glb-reuse", default="layer", choices=("layer", "tile"),
                    help="the analytical model's reuse of a PE-local tile across DRAM tiles (glb_reuse)")
    ap.add_argument("--halo", default="density", choices=("density", "exact"),
                    help="how the analytical model's input bands count the rows they read (halo)")
    ap.add_argument("--glb-port", default="fill", choices=("step", "fill", "packed", "burst"),
                    help="the analytical model's GLB port count (glb_port; default: the model's)")
    ap.add_argument("--psum-port", default="shared", choices=("free", "shared"),
                    help="the analytical model's PE psum store ports (psum_port; default: the model's)")
    ap.add_argument("--mapper-tiles", default="divisors", choices=("divisors", "any"),
                    help="the analytical model's PE-local tiles (mapper_tiles; default: the model's)")
    ap.add_argument("--ladder", action="append", default=[], metavar="KNOB=V1,V2,...",
                    help="walk this ladder of a resource instead of its default (repeatable)")
    ap.add_argument("--knobs", default=",".join(LADDERS), help="the resources to walk (comma-separated; "
                    f"default all: {','.join(LADDERS)})")
    args = ap.parse_args()
    knobs = [k.strip() for k in args.knobs.split(",") if k.strip()]
    if unknown := [k for k in knobs if k not in LADDERS]:
        ap.error(f"--knobs: unknown resource {unknown[0]!r}; choose from {', '.join(LADDERS)}")
    ladders = dict(LADDERS)
    for item in args.ladder:
        knob, _, values = item.partition("=")
        if knob not in LADDERS:
            ap.error(f"--ladder: unknown resource {knob!r}; choose from {', '.join(LADDERS)}")
        try:
            ladders[knob] = sorted({int(v) for v in values.split(",") if v.strip()})
        except ValueError:
            ap.error(f"--ladder {knob}: give whole numbers separated by commas, e.g. {knob}=8,12,16")
        if len(ladders[knob]) < 2 or ladders[knob][0] <= 0:
            ap.error(f"--ladder {knob}: give at least two positive values")
    opts = dict(dram_tiles=args.dram_tiles, glb_buffering=args.glb_buffering, glb_port=args.glb_port,
                psum_port=args.psum_port, mapper_tiles=args.mapper_tiles, glb_reuse=args.glb_reuse,
                halo=args.halo)
    grid = AcceleratorSpace.load()
    space = NetworkSpace.load()
    layers, rows = network_rows(space, args.networks, args.seed)
    t = grid.table
    print(f"{args.networks} random networks ({len(layers)} layers) x {len(t)} designs of {grid.name}; "
          f"a step = one design of one network, one rung up the ladder; tolerance {args.tol:g}; "
          f"dram_tiles {args.dram_tiles}, glb_buffering {args.glb_buffering or grid.hardware.glb_buffering}, "
          f"glb_port {args.glb_port}, "
          f"psum_port {args.psum_port}, mapper_tiles {args.mapper_tiles}, glb_reuse {args.glb_reuse}, "
          f"halo {args.halo}")
    print(f"{'resource':<22} {'ladder':<34} {'steps':>8} {'latency up':>10} {'worst':>8} "
          f"{'E up, =lat':>10} {'E up, lat down':>14} {'seconds':>8}")
    total_viol = 0
    for knob in knobs:
        ladder = ladders[knob]
        t0 = time.perf_counter()
        lats, ens_flat = [], []
        for v in ladder:
            hw = grid.hardware
            if knob in ("glb_words_per_cycle", "dram_bytes_per_cycle"):
                hw = hw.model_copy(update={knob: float(v)})
                acc = t
            elif knob == "glb_kib":
                acc = AccelTable(t.pe_x, t.pe_y, t.rf_bytes, t.dataflow, np.full(len(t), v * 1024))
            elif knob in PADS:  # the grid's RS designs, this pad set to v, the others as the RF's split
                rs = t[t.dataflow == DATAFLOWS.index("rs")]
                pads = [b.astype(np.int64) for b in rs.storage(hw)[0]]
                pads[PADS.index(knob)] = np.full(len(rs), v)
                acc = AccelTable(rs.pe_x, rs.pe_y, sum(pads), rs.dataflow, rs.glb_bytes, None, pads)
            else:
                acc = AccelTable(t.pe_x, t.pe_y, np.full(len(t), v), t.dataflow, t.glb_bytes)
            model = AnalyticalModel(hw, **opts)
            lat, _ = ladder_costs(model, layers, rows, acc)
            lats.append(lat)
            flat = AnalyticalModel(hw, model.tech.flat_prices(), **opts)
            ens_flat.append(ladder_costs(flat, layers, rows, acc))
        lat = np.stack(lats)                                             # [rungs, networks, designs]
        up = lat[1:] > lat[:-1] * (1 + args.tol)
        lat_f, en = (np.stack([x[i] for x in ens_flat]) for i in (0, 1))  # the same under flat prices
        # equal latency: the same cycles exactly (a layer one cycle faster is a fall, however small beside
        # the network's latency: the latency-first mapper may spend energy for it)
        same = lat_f[1:] == lat_f[:-1]
        e_up = en[1:] > en[:-1] * (1 + args.tol)
        worst = float(np.max(lat[1:] / lat[:-1]) - 1)
        total_viol += int(up.sum())
        print(f"{knob:<22} {','.join(map(str, ladder)):<34} {up.size:>8} {int(up.sum()):>10} "
              f"{max(worst, 0.0):>7.2%} {int((e_up & same).sum()):>10} {int((e_up & ~same).sum()):>14} "
              f"{time.perf_counter() - t0:>8.1f}")
    print(f"latency violations in all: {total_viol} (goal 0)")


if __name__ == "__main__":
    main()
