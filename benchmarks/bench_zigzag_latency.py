"""Where HDX's and ZigZag's latencies part, layer by layer, on the mapping HDX chose.

For each layer of a network on one accelerator, the analytical model's latency and its parts — the
compute cycles, the array side ``max(compute + psum stall, GLB port)``, the DRAM cycles of its chosen
schedule and the cycles the array waits for DRAM — beside ZigZag's cost of the *same* two-level mapping
(``two_level_ordering``: HDX's GLB tiles and loop orders, so only the two latency models differ): its
ideal cycles, the stall of the busiest port of each memory level (``stall_<level>``, ZigZag takes the
largest; negative: slack), the first tiles' load and the last outputs' drain. The last column is HDX's
latency over ZigZag's. Use it to see which memory level's timing two settings disagree on
(docs/results.md, "Memory sizing").

``--energy``: instead, each layer's energy parts (RF, GLB, DRAM; µJ) in both models on the same mapping,
with HDX's DRAM words per operand, and the network totals per part (MAC, RF, GLB, DRAM). ZigZag is given
each operand's own GLB tile (``two_level_ordering``); ``--uniform-glb``: one tile for every operand, as
before 2026-12-07.

Run: ``python benchmarks/bench_zigzag_latency.py [--arch ARCH] [--accel 8x8,rf=64,df=os,glb=16,bw=16]
[--tech cacti7_45nm_lstp] [--glb-buffering zigzag] [--layers 12] [--energy]``.
"""

from __future__ import annotations

import argparse
from typing import get_args

import numpy as np

from hdx.cost.analytical import AnalyticalModel
from hdx.cost.analytical.mapper import GlbBuffering
from hdx.cost.analytical.model import MAPPING_FIELDS
from hdx.cost.zigzag.adapter import ZigZagModel
from hdx.cost.zigzag.crosscheck import two_level_ordering
from hdx.errors import HDXError
from hdx.space.accelerator import AcceleratorSpace, AccelTable
from hdx.space.network import NetworkSpace
from hdx.workload import LayerTable

ARCH = "mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default=ARCH)
    ap.add_argument("--accel", default="8x8,rf=64,df=os,glb=16,bw=16")
    ap.add_argument("--tech", default=None, help="technology table for both models (default: the grid's)")
    ap.add_argument("--glb-buffering", default=None, choices=get_args(GlbBuffering),
                    help="the analytical model's GLB buffering (default: the grid hardware's, zigzag on "
                         "eyeriss_like)")
    ap.add_argument("--glb-reuse", default="layer", choices=("layer", "tile"),
                    help="the analytical model's reuse of a PE-local tile across DRAM tiles (glb_reuse)")
    ap.add_argument("--halo", default="density", choices=("density", "exact"),
                    help="how the analytical model's input bands count the rows they read (halo)")
    ap.add_argument("--layers", type=int, default=12,
                    help="the first N layers (fully connected ones left out)")
    ap.add_argument("--energy", action="store_true",
                    help="the energy parts per layer in both models instead of the latency parts")
    ap.add_argument("--uniform-glb", action="store_true",
                    help="give ZigZag one GLB tile for every operand (the translation before 2026-12-07) "
                         "instead of each operand's own")
    args = ap.parse_args()
    grid = AcceleratorSpace.load()
    hw = grid.hardware
    acc = grid.parse(args.accel)
    layers = [ly for ly in NetworkSpace.load().layers(args.arch) if ly.kind != "fc"][: args.layers]
    model = AnalyticalModel(hw, tech=args.tech, glb_buffering=args.glb_buffering, precision="float64",
                            glb_reuse=args.glb_reuse, halo=args.halo)
    zz = ZigZagModel(hw, tech=args.tech, mappings="loma")
    res = model.evaluate(LayerTable(layers), AccelTable.from_accels([acc]))
    cyc = hw.word_bytes / hw.dram_bytes_per_cycle
    rows = []
    for u, ly in enumerate(layers):
        m = {k: float(res.mapping[k][u, 0]) for k in MAPPING_FIELDS}
        array = max(res.compute_cycles[u, 0] + m["psum_stall"], m["glb_cycles"])
        dram = (m["dram_w"] + m["dram_i"] + m["dram_o"]) * cyc
        lat = float(res.latency_cycles[u, 0])
        try:
            z = zz.evaluate_one(ly, acc, *two_level_ordering(ly, acc, m, "down",
                                                             per_operand=not args.uniform_glb))
        except HDXError as e:
            rows.append((ly, lat, array, dram, None, str(e)))
            continue
        rows.append((ly, lat, array, dram, z, ""))
    if args.energy:
        print_energy(args, hw, res, rows)
        return
    head = (f"{'layer':32s} {'HDX lat':>8s} {'compute':>8s} {'GLB port':>8s} {'DRAM':>7s} {'waits':>6s} | "
            f"{'ZZ lat':>8s} {'ideal':>8s} {'GLB busy':>8s} {'stall':>7s} {'DRAM busy':>9s} {'stall':>7s} "
            f"{'lower':>6s} {'onload':>6s} {'offload':>7s}  HDX/ZZ")
    print(f"{args.accel} ({args.tech or hw.tech}), glb_buffering={model.glb_buffering}, "
          f"glb_reuse={args.glb_reuse}, halo={args.halo}: HDX's mapping of "
          f"each layer costed by both models (cycles; ZigZag: the busiest port of the GLB and of DRAM, the "
          f"cycles it transfers and its stall, and the largest stall of the levels below the GLB)")
    print(head)
    print("-" * len(head))
    ratios = []
    for u, (ly, lat, array, dram, z, err) in enumerate(rows):
        name = f"{ly.name or ly.kind} {ly.c}>{ly.k} {ly.h}x{ly.w} {ly.r}x{ly.s}/{ly.stride}"
        waits = lat - max(array, dram)
        hdx = (f"{name:32s} {lat:8.0f} {res.compute_cycles[u, 0]:8.0f} "
               f"{res.mapping['glb_cycles'][u, 0]:8.0f} {dram:7.0f} {waits:6.0f} | ")
        if z is None:
            print(hdx + f"ZigZag failed: {err}")
            continue
        p = z.latency_parts
        lower = max([v for k, v in p.items()
                     if k.startswith("stall_") and k not in ("stall_glb", "stall_dram")], default=0.0)
        ratios.append(lat / z.latency_cycles)
        print(hdx + f"{z.latency_cycles:8.0f} {p['ideal']:8.0f} {p.get('busy_glb', 0.0):8.0f} "
              f"{p.get('stall_glb', 0.0):7.0f} {p.get('busy_dram', 0.0):9.0f} "
              f"{p.get('stall_dram', 0.0):7.0f} {lower:6.0f} {p['onload']:6.0f} {p['offload']:7.0f}  "
              f"{ratios[-1]:.2f}")
    if ratios:
        print(f"HDX / ZigZag latency: median {np.median(ratios):.2f}, range [{min(ratios):.2f}, "
              f"{max(ratios):.2f}] over {len(ratios)} layers")


def print_energy(args, hw, res, rows) -> None:
    """Per layer, the energy parts of HDX's mapping in both models (µJ) and HDX's DRAM words per operand;
    then the network totals per part (the layers ZigZag costed)."""
    parts = ("rf", "glb", "dram")
    print(f"{args.accel} ({args.tech or hw.tech}), glb_buffering={args.glb_buffering or hw.glb_buffering}, "
          f"glb_reuse={args.glb_reuse}, halo={args.halo}: HDX's mapping of each layer, energy in µJ, "
          f"HDX / ZigZag")
    head = (f"{'layer':32s} " + " ".join(f"{p + ' HDX':>9s} {'ZZ':>8s}" for p in parts)
            + f" | {'DRAM w':>8s} {'DRAM i':>9s} {'DRAM o':>8s}")
    print(head)
    print("-" * len(head))
    tot = {who: dict.fromkeys(("mac", *parts), 0.0) for who in ("hdx", "zz")}  # (ZigZag has no static)
    for u, (ly, _, _, _, z, err) in enumerate(rows):
        name = f"{ly.name or ly.kind} {ly.c}>{ly.k} {ly.h}x{ly.w} {ly.r}x{ly.s}/{ly.stride}"
        if z is None:
            print(f"{name:32s} ZigZag failed: {err}")
            continue
        ours = {p: float(v[u, 0]) for p, v in res.energy_pj.items()}
        for p in tot["hdx"]:
            tot["hdx"][p] += ours[p]
            tot["zz"][p] += z.energy_pj.get(p, 0.0)
        words = " ".join(f"{float(res.mapping[k][u, 0]):>{w}.0f}" for k, w in (("dram_w", 8), ("dram_i", 9),
                                                                               ("dram_o", 8)))
        print(f"{name:32s} " + " ".join(f"{ours[p] / 1e6:9.2f} {z.energy_pj.get(p, 0.0) / 1e6:8.2f}"
                                        for p in parts) + f" | {words}")
    print("network, the layers both costed (µJ), HDX / ZigZag: " + ", ".join(
        f"{p} {tot['hdx'][p] / 1e6:.1f} / {tot['zz'][p] / 1e6:.1f}" for p in tot["hdx"]))


if __name__ == "__main__":
    main()
