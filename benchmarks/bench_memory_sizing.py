"""Memory sizing against ZigZag: decision agreement at every GLB size and bandwidth, and the GLB size
each model would pick.

For every setting of GLB size (``--glbs``, KiB) × GLB bandwidth (``--bws``, words per cycle), HDX's
analytical model and ZigZag (LOMA, through ``hdx.cost.zigzag``; cached as in
``bench_zigzag_decisions.py``, whose machinery this script reuses) cost the same networks (3 fixed +
``--random`` seeded ones; default seed 11, not the seed the model was developed on) on the same designs
(PEx, PEy ∈ ``--pes``, RF ∈ ``--rf``, WS/OS/RS). One row per setting: the median over networks of the
Spearman rank correlation of the designs' latency, energy and EDAP, and the median and maximum EDAP
regret of HDX's pick measured in ZigZag — against ZigZag's LOMA alone and, with ``--hdx-mappings``,
against the better of LOMA's mapping and HDX's own mapping costed by ZigZag (the strengthened reference).

Leakage: ZigZag has no static energy. Where the technology table gives leakage, the same leakage power ×
ZigZag's own latency is added to ZigZag's energy, so both models price the same hardware.

``--parts``: also, per setting and dataflow, against the last reference: the median over networks of
the energy Spearman within that dataflow's designs, and of the ratio HDX / ZigZag of each energy part
(network totals per design; ZigZag's static part is its latency × the same leakage power) — where an
energy disagreement comes from.

Last table, per bandwidth: with the GLB size a searched knob (the designs × every ``--glbs`` size), the
fraction of networks whose EDAP-best design has the same GLB size in both models (goal ≥ 80 %), and the
sizes each model picks.

Run: ``python benchmarks/bench_memory_sizing.py [--random 5] [--seed 11] [--lpf 1] [--jobs 2]
[--hdx-mappings] [--zigzag-only] [--parts] [--dram-tiles free] [--glb-buffering single]
[--glb-port packed] [--picks] [--portfolio] [--portfolio-buffering] [--halo exact] [--dump FILE.csv]``.
``--portfolio`` / ``--portfolio-buffering``: a further reference, also offered the mappings HDX chooses
under each of its other GLB port options / GLB bufferings, costed by ZigZag (a reference nearer the best
ZigZag's cost model knows, the same for every model measured against it). ``--picks``: per setting,
reference and network, the EDAP-best design of each model and the regret (where a regret comes from).
``--dump``: every (setting, reference, network, design)'s network latency and energy in both models, as a
CSV (which designs the two models rank apart).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import get_args

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_zigzag_decisions import (  # noqa: E402  (the ZigZag machinery of the per-setting benchmark)
    agreement_rows,
    buffering_variants,
    design_table,
    hdx_mapping_runs,
    networks,
    portfolio_runs,
    spearman,
    zigzag_costs,
    zz_arrays,
)
from hdx.cost.analytical import AnalyticalModel  # noqa: E402
from hdx.cost.analytical.mapper import GlbBuffering  # noqa: E402
from hdx.cost.tech import load_tech  # noqa: E402
from hdx.cost.zigzag import ZigZagModel  # noqa: E402
from hdx.space.accelerator import DATAFLOWS, AcceleratorSpace  # noqa: E402
from hdx.space.network import NetworkSpace  # noqa: E402
from hdx.workload import Layer, LayerTable  # noqa: E402


def leakage_mw(model: AnalyticalModel, accels) -> np.ndarray:
    """Leakage power per design (mW) as the analytical model charges it (0 without leakage)."""
    c = model.evaluate(LayerTable([Layer("fc", c=1, k=1)]), accels)
    return c.energy_pj["static"][0] / c.latency_cycles[0] * model.hardware.clock_mhz / 1e3


def print_parts(parts_out: dict, nets, net_layers, index) -> None:
    """Per setting and dataflow: median over networks of the energy Spearman within the dataflow's
    designs, of the HDX / ZigZag ratio of the latency and of each energy part (network totals per
    design)."""
    print()
    names = None
    for (g, bw), (label, accels, ours, zparts, zlat) in parts_out.items():
        if names is None:
            names = [p for p in ours.energy_pj if p in zparts]
            print(f"Energy by part against {label}: median over networks of the Spearman within each "
                  f"dataflow and of HDX / ZigZag of the latency and per energy part")
            head = f"{'GLB KiB':>7} {'words/cy':>8}  {'df':<3}{'rho E':>7}{'latency':>8}"
            print(head + "".join(f"{p:>8}" for p in names))
        for d, df in enumerate(DATAFLOWS):
            cols = accels.dataflow == d
            rhos, ratios, lats = [], {p: [] for p in names}, []
            for layers in net_layers:
                ids = np.array([index[ly] for ly in layers])
                with np.errstate(divide="ignore", invalid="ignore"):
                    rl = ours.latency_cycles[ids].sum(0)[cols] / zlat[ids].sum(0)[cols]
                rl = rl[np.isfinite(rl)]
                lats.append(float(np.median(rl)) if rl.size else np.nan)
                mine = {p: ours.energy_pj[p][ids].sum(0)[cols] for p in names}
                theirs = {p: zparts[p][ids].sum(0)[cols] for p in names}
                zt, mt = sum(theirs.values()), sum(mine.values())
                ok = np.isfinite(zt)
                rhos.append(spearman(mt[ok], zt[ok]) if ok.sum() > 2 else np.nan)
                for p in names:
                    with np.errstate(divide="ignore", invalid="ignore"):
                        r = mine[p][ok] / theirs[p][ok]  # 0 / 0 (no leakage in the table): no ratio
                    r = r[np.isfinite(r)]
                    ratios[p].append(float(np.median(r)) if r.size else np.nan)
            cells = [np.array([v for v in ratios[p] if np.isfinite(v)]) for p in names]
            print(f"{g:>7} {bw:>8g}  {df:<3}{np.nanmedian(rhos):>7.3f}{np.nanmedian(lats):>8.2f}"
                  + "".join(f"{np.median(c):>8.2f}" if c.size else f"{'-':>8}" for c in cells))


def print_picks(picks_out: dict) -> None:
    """Per setting, reference and network: HDX's EDAP-best design, the reference's, and the regret."""
    print()
    print(f"{'GLB KiB':>7} {'words/cy':>8}  {'reference':<10}{'network':<14}{'HDX pick':<28}"
          f"{'ZigZag pick':<28}{'regret':>7}")
    for (g, bw), refs in picks_out.items():
        for label, (rows, texts) in refs.items():
            for name, _, vals, mine, theirs in rows:
                print(f"{g:>7} {bw:>8g}  {label:<10}{name[:13]:<14}{texts[mine]:<28}{texts[theirs]:<28}"
                      f"{vals[3]:>7.1%}")


def _meets(rho_lat: float, rho_e: float, rho_edap: float, regret: float, max_regret: float) -> bool:
    """The goal of one setting: median Spearman >= 0.85 (latency, energy, EDAP), median EDAP regret <= 5 %
    and max <= 15 %."""
    return min(rho_lat, rho_e, rho_edap) >= 0.85 and regret <= 0.05 and max_regret <= 0.15


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--glbs", default="32,128,512", help="GLB sizes in KiB (default 32,128,512)")
    ap.add_argument("--bws", default="8,32", help="GLB <-> array words per cycle (default 8,32)")
    ap.add_argument("--random", type=int, default=5, help="random networks besides the 3 fixed (default 5)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--pes", default="8,16,32")
    ap.add_argument("--rf", default="16,64,256")
    ap.add_argument("--lpf", type=int, default=1)
    ap.add_argument("--pin", choices=("fxfy", "none"), default="fxfy")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--tech", default=None, help="technology table for both models (default: the grid's)")
    ap.add_argument("--hdx-mappings", action="store_true",
                    help="also offer ZigZag HDX's own mapping of every pair (the strengthened reference)")
    ap.add_argument("--portfolio", action="store_true",
                    help="with --hdx-mappings: a third reference, also offered the mappings HDX chooses "
                         "under each of its GLB port counts and psum store ports (bench_zigzag_decisions."
                         "PORTFOLIO)")
    ap.add_argument("--portfolio-buffering", action="store_true",
                    help="with --hdx-mappings: a reference also offered the mappings HDX chooses under "
                         "each other GLB buffering (bench_zigzag_decisions.BUFFERINGS: tiles stored once, "
                         "so bigger GLB tiles)")
    ap.add_argument("--zigzag-only", action="store_true", help="fill the ZigZag caches and stop")
    ap.add_argument("--parts", action="store_true",
                    help="also print, per setting and dataflow, the energy rank and HDX / ZigZag per part")
    ap.add_argument("--mapper-tiles", default="divisors")
    ap.add_argument("--mapper-space", default="full")
    ap.add_argument("--dram-tiles", default="hold-array", choices=("free", "hold-array"),
                    help="the analytical model's GLB tiles (AnalyticalModel's dram_tiles)")
    ap.add_argument("--glb-buffering", default=None, choices=get_args(GlbBuffering),
                    help="the analytical model's GLB buffering (default: the grid hardware's, zigzag on "
                         "eyeriss_like)")
    ap.add_argument("--glb-reuse", default="layer", choices=("layer", "tile"),
                    help="the analytical model's reuse of a PE-local tile across DRAM tiles (glb_reuse)")
    ap.add_argument("--halo", default="density", choices=("density", "exact"),
                    help="how the analytical model's input bands count the rows they read (halo)")
    ap.add_argument("--picks", action="store_true",
                    help="also, per setting and network, each model's EDAP-best design and the regret")
    ap.add_argument("--glb-port", default="fill", choices=("step", "fill", "packed", "burst"),
                    help="the analytical model's GLB port count (glb_port; default: the model's)")
    ap.add_argument("--psum-port", default="shared", choices=("free", "shared"),
                    help="the analytical model's PE psum store ports (psum_port; default: the model's)")
    ap.add_argument("--dump", type=Path, default=None,
                    help="also write every (setting, reference, network, design)'s network latency (cycles) "
                         "and energy (pJ) in both models to this CSV")
    args = ap.parse_args()

    space, grid = NetworkSpace.load(), AcceleratorSpace.load()
    nets = networks(space, args.random, args.seed)
    net_layers = [space.layers(a) for _, a in nets]
    unique: list[Layer] = list(dict.fromkeys(ly for layers in net_layers for ly in layers))
    index = {ly: u for u, ly in enumerate(unique)}
    glbs = [int(v) for v in args.glbs.split(",")]
    bws = [float(v) for v in args.bws.split(",")]
    hw0 = grid.hardware if args.tech is None else grid.hardware.model_copy(update={"tech": args.tech})
    tech = load_tech(hw0.tech)
    per_bw: dict[float, list[tuple]] = {}
    parts_out: dict[tuple, tuple] = {}  # per setting: the last reference's energy parts
    rows_out = []
    picks_out: dict = {}
    dump_rows: list[tuple] = []
    t_start = time.perf_counter()
    for bw in bws:
        hw = hw0.model_copy(update={"glb_words_per_cycle": bw})
        for g in glbs:
            accels = design_table(grid, [int(v) for v in args.pes.split(",")],
                                  [int(v) for v in args.rf.split(",")], g)
            zz_model = ZigZagModel(hw, lpf_limit=args.lpf, pin=args.pin, mappings="loma")
            zz_fp = zz_model.fingerprint()[:12]
            cache = HERE / ".cache" / f"zigzag-{zz_fp}.jsonl"
            zz = zigzag_costs(unique, accels, hw, cache, max(args.jobs, 1), args.lpf, args.pin)
            if args.zigzag_only and not args.hdx_mappings:
                continue
            model = AnalyticalModel(hw, tech, mapper_space=args.mapper_space, mapper_tiles=args.mapper_tiles,
                                    dram_tiles=args.dram_tiles, glb_buffering=args.glb_buffering,
                                    glb_port=args.glb_port, psum_port=args.psum_port,
                                    glb_reuse=args.glb_reuse, halo=args.halo)
            ours = model.evaluate(LayerTable(unique), accels)
            ztexts = [accels.accelerator(j).text(with_glb=True) for j in range(len(accels))]
            seeded = every = buffers = None
            if args.hdx_mappings:
                class _A:  # the options hdx_mapping_runs reads
                    jobs, lpf, pin = args.jobs, args.lpf, args.pin
                seeded, _ = hdx_mapping_runs(unique, accels, ours, ztexts, hw, _A, zz_fp)
                if args.portfolio:
                    every = portfolio_runs(unique, accels, model, ztexts, hw, _A, zz_fp, seeded)
                if args.portfolio_buffering:
                    buffers = portfolio_runs(unique, accels, model, ztexts, hw, _A, zz_fp, seeded,
                                             buffering_variants(model))
            if args.zigzag_only:
                continue
            leak = leakage_mw(model, accels)  # the same leakage power on ZigZag's latency
            o = (ours.latency_cycles, ours.energy_total_pj, ours.area_total_um2)
            refs = {}
            for label, sd in (("LOMA", None), ("LOMA+HDX", seeded), ("+HDX ports", every),
                              ("+HDX bufs", buffers)):
                if label != "LOMA" and sd is None:
                    continue
                zparts: dict = {}
                zl, ze, za, failed, _ = zz_arrays(zz, unique, ztexts, None, zparts, None,
                                                  None if sd is None else dict(sd))
                zparts["static"] = zl * leak[None, :] / hw.clock_mhz * 1e3
                ze = ze + zparts["static"]
                parts_out[(g, bw)] = (label, accels, ours, zparts, zl)
                refs[label] = (zl, ze, za)
                if args.dump is not None:
                    dump_rows += network_rows(g, bw, label, nets, net_layers, index, ztexts, o, (zl, ze))
                rows = agreement_rows(nets, net_layers, index, o, (zl, ze, za))
                r = np.array([row[2] for row in rows])
                if args.picks:
                    picks_out.setdefault((g, bw), {})[label] = (rows, ztexts)
                med = np.nanmedian(r, axis=0)
                rows_out.append((g, bw, label, med[0], med[1], med[2], med[3], np.nanmax(r[:, 3]),
                                 float(np.nanmin(r[:, :3])), failed))
            per_bw.setdefault(bw, []).append((g, accels, o, refs))
    if args.zigzag_only:
        print(f"ZigZag caches filled in {time.perf_counter() - t_start:.0f} s")
        return
    if args.dump is not None:
        write_dump(args.dump, dump_rows)

    n_des = len(per_bw[bws[0]][0][1])
    print(f"Memory sizing vs ZigZag: {len(nets)} networks (3 fixed + {args.random} random, seed {args.seed}) "
          f"x {n_des} designs per setting (PEx, PEy in {{{args.pes}}}, RF in {{{args.rf}}} B, WS/OS/RS); "
          f"tech '{tech.name}'; ZigZag LOMA lpf {args.lpf}, pin {args.pin}; "
          f"HDX {AnalyticalModel.name} v{AnalyticalModel.version}, dram_tiles {args.dram_tiles}, "
          f"glb_buffering {args.glb_buffering or hw0.glb_buffering}, glb_port {args.glb_port}, "
          f"psum_port {args.psum_port}, "
          f"glb_reuse {args.glb_reuse}, halo {args.halo}")
    hdr = (f"{'GLB KiB':>7} {'words/cy':>8}  {'reference':<10}{'rho lat':>8}{'rho E':>7}{'rho EDAP':>9}"
           f"{'regret':>8}{'max reg':>8}{'min rho':>8}{'fail':>5}  goal")
    print(hdr)
    print("-" * len(hdr))
    for g, bw, label, rl, re_, rd, reg, mreg, mn, failed in rows_out:
        ok = _meets(rl, re_, rd, reg, mreg)
        print(f"{g:>7} {bw:>8g}  {label:<10}{rl:>8.3f}{re_:>7.3f}{rd:>9.3f}{reg:>7.1%}{mreg:>8.1%}{mn:>8.3f}"
              f"{failed:>5}  {'met' if ok else 'NOT met'}")
    print("goal per setting: median Spearman >= 0.85 (latency, energy, EDAP), median EDAP regret <= 5 %, "
          "max <= 15 %")
    for ref in dict.fromkeys(row[2] for row in rows_out):
        met = [_meets(*row[3:8]) for row in rows_out if row[2] == ref]
        print(f"settings met against {ref}: {sum(met)} of {len(met)}")

    if args.parts:
        print_parts(parts_out, nets, net_layers, index)
    if args.picks:
        print_picks(picks_out)
    print()
    print("GLB size as a searched knob: the EDAP-best design over designs x GLB sizes, per network")
    for bw, settings in per_bw.items():
        for label in settings[0][3]:
            same, picks = 0, []
            for (_, layers) in zip(nets, net_layers, strict=True):
                ids = np.array([index[ly] for ly in layers])
                best = {}
                for who in ("hdx", label):
                    vals = []
                    for g, _, o, refs in settings:
                        lat, en, area = o if who == "hdx" else refs[label]
                        e = lat[ids].sum(0) * en[ids].sum(0) * area
                        vals.append((np.nanmin(e), g))
                    best[who] = min(vals)[1]
                same += best["hdx"] == best[label]
                picks.append(f"{best['hdx']}/{best[label]}")
            print(f"  {bw:g} words/cycle, vs {label:<9}: same GLB size for {same}/{len(nets)} networks "
                  f"({same / len(nets):.0%}; goal >= 80 %); HDX/ZigZag picks (KiB): {' '.join(picks)}")
    print(f"total {time.perf_counter() - t_start:.0f} s")


DUMP_FIELDS = ("glb_kib", "words_per_cycle", "reference", "network", "design", "dataflow",
               "hdx_latency_cycles", "hdx_energy_pj", "ref_latency_cycles", "ref_energy_pj")


def network_rows(g: int, bw: float, label: str, nets, net_layers, index, ztexts: list[str], ours: tuple,
                 ref: tuple) -> list[tuple]:
    """One row per (network, design) of a setting and reference: both models' network totals."""
    out = []
    for (name, _), layers in zip(nets, net_layers, strict=True):
        ids = np.array([index[ly] for ly in layers])
        sums = [np.asarray(a)[ids].sum(0) for a in (ours[0], ours[1], ref[0], ref[1])]
        for j, text in enumerate(ztexts):
            df = text.split("df=")[1].split(",")[0]
            out.append((g, bw, label, name, text, df, *(float(a[j]) for a in sums)))
    return out


def write_dump(path: Path, rows: list[tuple]) -> None:
    """The rows of :func:`network_rows` as a CSV, written atomically."""
    import csv
    import io

    from hdx.safeio import atomic_write_text

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(DUMP_FIELDS)
    w.writerows(rows)
    atomic_write_text(path, buf.getvalue())
    print(f"wrote {len(rows)} rows to {path}")


if __name__ == "__main__":
    main()
