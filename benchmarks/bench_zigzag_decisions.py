"""Decision agreement with ZigZag: for whole networks, do HDX's cost model and ZigZag rank the
accelerator designs the same way and pick the same design?

Networks: ``--fixed`` named networks of the default space (smallest, largest, the README example)
plus ``--random`` seeded random ones. Designs: a sub-grid of the default accelerator grid spanning
every dataflow and RF size (default PEx, PEy ∈ {8, 16, 24, 32}, RF ∈ {16, 64, 256} B, WS/OS/RS: 144).
Both models use the grid's hardware parameters and technology table. ZigZag is driven through HDX's
own translation (``hdx.cost.zigzag``, LOMA with ``--lpf``, default ``lpf_limit=1``, FX/FY innermost).

ZigZag runs once per *unique* (layer shape, design) and its results are cached, one JSON line each, in
``--cache`` (default ``benchmarks/.cache/zigzag-<fingerprint>.jsonl``, keyed by ZigZag's fingerprint:
version, translation, options, hardware, tech), so a re-run only costs the analytical side. ``--jobs``
runs ZigZag in several processes.

Printed, per network and as the median: Spearman rank correlation of the designs' latency, energy and
EDAP (HDX vs ZigZag); each model's EDAP-optimal design; the regret of HDX's EDAP pick measured in
ZigZag (ZigZag EDAP of HDX's pick / ZigZag's best − 1); the same for latency and energy picks; then
the median latency and energy ratio ZigZag/HDX per dataflow, and which dataflow wins each unique layer
(EDP over the designs) per layer kind in each model.

The reference is ZigZag's cost model with its LOMA mapper, which is incomplete at a small ``lpf``.
``--refine-lpf N`` (with ``--refine-slice DF:KIND`` and a random control ``--refine-sample``) takes the
lower-latency mapping of a larger search where it was run; ``--hdx-mappings`` also offers ZigZag the
mapping HDX chose (complete temporal orderings: the array level with ZigZag's allocator placing the
DRAM-level loops, and the whole two-level mapping with HDX's DRAM schedule, once with ZigZag's allocator
choosing each operand's GLB tile and once with HDX's GLB tiles given to it; costed by ZigZag's own
model) and takes the best of them where ZigZag rates it better. The run prints the same-mapping
agreement (both cost models, one mapping) and the medians against each reference.

Run: ``python benchmarks/bench_zigzag_decisions.py --lpf 5 --pin none --refine-lpf 6 --refine-slice
os:pointwise --refine-sample 96 --hdx-mappings [--random 7] [--seed 0] [--jobs 2] [--portfolio]
[--portfolio-buffering]``. ``--portfolio`` / ``--portfolio-buffering``: the reference is also offered the
mappings HDX chooses under its other GLB port options / GLB bufferings (the same set of mappings whichever
of these the measured model uses).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path
from typing import get_args

import numpy as np
from scipy.stats import spearmanr

from hdx.cost.analytical import MAPPING_FIELDS, AnalyticalModel
from hdx.cost.analytical.mapper import GlbBuffering
from hdx.cost.zigzag.adapter import ZigZagModel
from hdx.cost.zigzag.crosscheck import hdx_orderings
from hdx.errors import HDXError
from hdx.space.accelerator import DATAFLOWS, AcceleratorSpace, AccelTable
from hdx.space.network import NetworkSpace
from hdx.workload import Layer, LayerTable

HERE = Path(__file__).resolve().parent
README_ARCH = "mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3"


def networks(space: NetworkSpace, n_random: int, seed: int) -> list[tuple[str, tuple[str, ...]]]:
    """Fixed networks (smallest and largest op everywhere, the README example) + seeded random ones."""
    n = space.num_positions
    out = [("all-mb3e3", space.parse_arch(",".join(["mb3e3"] * n))),
           ("all-mb7e6", space.parse_arch(",".join(["mb7e6"] * n))),
           ("readme", space.parse_arch(README_ARCH))]
    rng = np.random.default_rng(seed)
    for i in range(n_random):
        out.append((f"random-{i}", space.sample(rng)))
    return out


def design_table(grid: AcceleratorSpace, pes: list[int], rfs: list[int],
                 glb_kib: int | None = None) -> AccelTable:
    keep = [i for i in range(len(grid))
            if grid[i].pe_x in pes and grid[i].pe_y in pes and grid[i].rf_bytes in rfs]
    if not keep:
        raise SystemExit("no design of the grid matches --pes/--rf")
    t = grid.table[np.array(keep)]
    if glb_kib is None:
        return t
    return AccelTable(t.pe_x, t.pe_y, t.rf_bytes, t.dataflow, np.full(len(t), glb_kib * 1024))


def layer_key(layer: Layer, acc_text: str) -> str:
    d = layer.to_dict()
    d.pop("name", None)
    return json.dumps([d, acc_text], sort_keys=True)


# --------------------------------------------------------------------------------------------------
# ZigZag runs (cached, optionally in worker processes)

_ZZ: ZigZagModel | None = None


def _worker_init(hw_json: str, lpf: int, pin: str = "fxfy") -> None:
    global _ZZ
    from hdx.space.accelerator import HardwareParams

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _ZZ = ZigZagModel(HardwareParams.model_validate_json(hw_json), lpf_limit=lpf, pin=pin,
                      mappings="loma")


def _run_one(job: tuple) -> tuple[str, dict | None, str | None]:
    key, layer, acc, *given = job  # given: (ordering[, GLB loops])
    assert _ZZ is not None
    try:
        r = _ZZ.evaluate_one(layer, acc, *given)
    except HDXError as e:
        return key, None, str(e)
    return key, dict(latency=r.latency_cycles, compute=r.compute_cycles, energy=r.energy_pj,
                     area=r.area_um2, seconds=r.seconds, sm=r.spatial_mapping, tm=r.temporal_mapping), None


def read_cache(cache: Path) -> dict[str, dict]:
    """The ZigZag results cached in ``cache`` by key (none if it does not exist; a line cut by a kill
    is skipped, so that pair runs again)."""
    done: dict[str, dict] = {}
    if cache.exists():
        with cache.open() as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                done[rec["key"]] = rec
    return done


def zigzag_costs(layers: list[Layer], accels: AccelTable, hw, cache: Path, jobs: int,
                 lpf: int = 1, pin: str = "fxfy",
                 only: set[tuple[int, int]] | None = None, seeds: list[tuple] | None = None
                 ) -> dict[str, dict]:
    """ZigZag results of every (layer, design) pair (``only``: of these (layer index, design index)
    pairs; ``seeds``: instead, these (key, layer, accelerator, ordering) runs of given mappings), read
    from ``cache`` and run (then appended there) where missing."""
    done = read_cache(cache)
    todo: list[tuple] = []
    if seeds is not None:  # (key, layer, accelerator, ordering) runs of given mappings
        todo = [job for job in seeds if job[0] not in done]
    for j in range(len(accels) if seeds is None else 0):
        acc = accels.accelerator(j)
        for u, layer in enumerate(layers):
            if only is not None and (u, j) not in only:
                continue
            key = layer_key(layer, acc.text(with_glb=True))
            if key not in done:
                todo.append((key, layer, acc))
    what = f"{len(seeds)} given mappings" if seeds is not None else "designs"
    print(f"ZigZag: {len(layers)} unique layers x {len(accels)} {what}; cached {len(done)}, "
          f"to run {len(todo)} with {jobs} process(es); cache {cache}", flush=True)
    if not todo:
        return done
    cache.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with cache.open("a") as f, mp.get_context("fork").Pool(jobs, _worker_init,
                                                             (hw.model_dump_json(), lpf, pin)) as pool:
        for n, (key, res, err) in enumerate(pool.imap_unordered(_run_one, todo, chunksize=4), 1):
            rec = {"key": key, "error": err} if res is None else {"key": key, **res}
            f.write(json.dumps(rec) + "\n")
            f.flush()
            done[key] = rec
            if n % 200 == 0 or n == len(todo):
                el = time.perf_counter() - t0
                print(f"  {n}/{len(todo)} in {el:.0f} s (eta {el / n * (len(todo) - n):.0f} s)", flush=True)
    return done


# --------------------------------------------------------------------------------------------------


def zz_arrays(zz: dict, unique: list[Layer], ztexts: list[str], refine: dict | None = None,
              parts: dict | None = None, pairs: list | None = None, seeded: dict | None = None):
    """ZigZag latency and energy per unique layer [U, A], area [A] (NaN where ZigZag failed).

    ``seeded``: ZigZag's costs of HDX's own mapping per pair (the best of its orderings); where
    ZigZag rates it better than its search's mapping (latency, then energy), it is the reference
    (``seeded["taken"]`` counts those pairs on return).

    ``refine``: results of a second ZigZag search (a larger ``lpf``) for some pairs; where it found a
    mapping with lower latency (ZigZag's own criterion; ties: energy), that one is the reference.
    ``parts``: filled with the energy per part [U, A] when given; ``pairs``: with (u, j, latency, energy,
    refined latency, refined energy) of every pair ``refine`` holds. Returns (..., failed, refined)."""
    A = len(ztexts)
    z_lat = np.full((len(unique), A), np.nan)
    z_en = np.full((len(unique), A), np.nan)
    z_area = np.full(A, np.nan)
    failed = refined = 0
    n_seeded = [0]
    for u, layer in enumerate(unique):
        for j in range(A):
            key = layer_key(layer, ztexts[j])
            rec = zz[key]
            alt = (refine or {}).get(key)
            if pairs is not None and alt is not None and not alt.get("error") and not rec.get("error"):
                pairs.append((u, j, rec["latency"], sum(rec["energy"].values()), alt["latency"],
                              sum(alt["energy"].values())))
            if alt is not None and not alt.get("error") and (
                    rec.get("error") or (alt["latency"], sum(alt["energy"].values()))
                    < (rec["latency"], sum(rec["energy"].values()))):
                rec = alt
                refined += 1
            alt = (seeded or {}).get(key)
            if alt is not None and (rec.get("error") or (alt["latency"], sum(alt["energy"].values()))
                                    < (rec["latency"], sum(rec["energy"].values()))):
                rec = alt
                n_seeded[0] += 1
            if rec.get("error"):
                failed += 1
                continue
            z_lat[u, j] = rec["latency"]
            z_en[u, j] = sum(rec["energy"].values())
            z_area[j] = sum(rec["area"].values())
            if parts is not None:
                for p, v in rec["energy"].items():
                    parts.setdefault(p, np.full((len(unique), A), np.nan))[u, j] = v
    if seeded is not None:
        seeded["taken"] = n_seeded[0]
    return z_lat, z_en, z_area, failed, refined


def agreement_rows(nets, net_layers, index, a: tuple, b: tuple) -> list[tuple[str, float, list, int, int]]:
    """Per network: Spearman of (latency, energy, EDAP) of model ``a`` vs reference ``b`` over the designs,
    the picks of both by EDAP and the regrets (in ``b``) of ``a``'s EDAP, latency and energy picks.
    ``a`` and ``b`` are (latency [U, A], energy [U, A], area [A])."""
    rows = []
    for (name, _), layers in zip(nets, net_layers, strict=True):
        ids = np.array([index[ly] for ly in layers])
        al, ae, bl, be = a[0][ids].sum(0), a[1][ids].sum(0), b[0][ids].sum(0), b[1][ids].sum(0)
        ok = np.isfinite(al) & np.isfinite(ae) & np.isfinite(bl) & np.isfinite(be)
        a_edap, b_edap = al * ae * a[2], bl * be * b[2]
        rho = [spearman(al[ok], bl[ok]), spearman(ae[ok], be[ok]), spearman(a_edap[ok], b_edap[ok])]

        def pick(v: np.ndarray, ok: np.ndarray = ok) -> int:
            return int(np.flatnonzero(ok)[np.argmin(v[ok])])

        regrets = [bv[pick(av)] / bv[ok].min() - 1 for av, bv in ((a_edap, b_edap), (al, bl), (ae, be))]
        macs = sum(ly.macs for ly in layers) / 1e6
        rows.append((name, macs, rho + regrets, pick(a_edap), pick(b_edap)))
    return rows


def diagnose(nets, net_layers, index, ours, z_parts: dict, accels: AccelTable, kinds: list[str],
             top: int = 8) -> None:
    """Where the energy rank disagreement comes from: the median (over networks) energy Spearman if
    one energy part of HDX, for one dataflow and layer kind, were replaced by ZigZag's (a diagnostic
    only: nothing of it feeds back into the model)."""
    parts = list(z_parts)
    kind_arr = np.array(kinds)

    def median_rho(swap: np.ndarray | None, part: str | None) -> float:
        rhos = []
        for layers in net_layers:
            ids = np.array([index[ly] for ly in layers])
            zt = sum(z_parts[p][ids] for p in parts).sum(0)
            mine = sum(ours.energy_pj[p][ids] for p in parts)
            if swap is not None and part is not None:
                mine = np.where(swap[ids], mine - ours.energy_pj[part][ids] + z_parts[part][ids], mine)
            mt = mine.sum(0)
            ok = np.isfinite(zt) & np.isfinite(mt)
            rhos.append(spearman(mt[ok], zt[ok]))
        return float(np.nanmedian(rhos))

    base = median_rho(None, None)
    rows = []
    for part in parts:
        for d, df in enumerate(DATAFLOWS):
            for k in sorted(set(kinds)):
                swap = (kind_arr == k)[:, None] & (accels.dataflow == d)[None, :]
                rows.append((median_rho(swap, part), part, df, k))
    rows.sort(reverse=True)
    print(f"Diagnosis: median energy Spearman {base:.3f}; with one HDX energy part replaced by ZigZag's for "
          f"one dataflow x layer kind (largest changes):")
    for rho, part, df, k in rows[:top]:
        print(f"  {part:<5} {df:<3} {k:<10} -> {rho:.3f}")


def hdx_mapping_runs(unique: list[Layer], accels: AccelTable, ours, ztexts: list[str], hw, args,
                     zz_fp: str) -> tuple[dict, dict]:
    """ZigZag's costs of the mapping HDX chose for every (layer, design) pair, as a complete temporal
    ordering (``ordering_from_mapping``, tiles rounded down and up to ZigZag's integer factors, with the
    DRAM level left to ZigZag's allocator and with HDX's own DRAM schedule, the latter also with HDX's
    GLB tiles given to ZigZag's allocator instead of chosen by it, ``two_level_ordering``; cached).
    Returns (per pair the best of these by latency then energy, per pair the rounded-down one without
    the DRAM schedule)."""
    jobs: list[tuple] = []
    per_pair: dict[str, list[str]] = {}
    for u, ly in enumerate(unique):
        for j in range(len(accels)):
            acc = accels.accelerator(j)
            m = {k: float(ours.mapping[k][u, j]) for k in MAPPING_FIELDS}
            base = layer_key(ly, ztexts[j])
            keys = per_pair.setdefault(base, [])
            # (the translations ZigZagModel.best_known offers; with HDX's GLB tiles unless --no-given-glb)
            for ordering, n_glb, pe in hdx_orderings(ly, acc, m, hw):
                if n_glb is None:
                    key, job = json.dumps([base, ordering]), (ly, acc, ordering)
                elif not getattr(args, "given_glb", True):
                    continue
                elif pe is None:
                    key, job = json.dumps([base, ordering, {"glb_loops": n_glb}]), (ly, acc, ordering, n_glb)
                else:
                    key = json.dumps([base, ordering, {"glb_loops": n_glb, "pe_loops": pe}])
                    job = (ly, acc, ordering, n_glb, pe)
                if key not in keys:
                    keys.append(key)
                    jobs.append((key, *job))
    cache = HERE / ".cache" / f"zigzag-{zz_fp}-hdxmap.jsonl"
    zs = zigzag_costs(unique, accels, hw, cache, max(args.jobs, 1), args.lpf, args.pin, seeds=jobs)
    seeded: dict = {}
    faithful: dict = {}
    for base, keys in per_pair.items():
        recs = [zs[k] for k in keys if not zs[k].get("error")]
        if recs:
            seeded[base] = min(recs, key=lambda r: (r["latency"], sum(r["energy"].values())))
        faithful[base] = None if zs[keys[0]].get("error") else zs[keys[0]]
    return seeded, faithful


#: the model options whose mappings ``--portfolio`` offers ZigZag besides the measured model's: HDX's
#: documented GLB port counts and PE psum store ports (docs/cost-model.md, "Mapper")
PORTFOLIO: tuple[tuple[str, str], ...] = tuple((gp, pp) for gp in ("step", "fill", "packed")
                                               for pp in ("free", "shared"))
#: the GLB bufferings whose mappings ``--portfolio-buffering`` (here and in bench_memory_sizing.py) offers
#: ZigZag besides the measured model's: a tile stored once (``single``, ``overlap``) leaves room for bigger
#: GLB tiles, as ZigZag's own allocation fills its GLB (docs/cost-model.md, "Overlap")
BUFFERINGS: tuple[str, ...] = get_args(GlbBuffering)


def port_variants(model: AnalyticalModel) -> list[dict]:
    """The options of :data:`PORTFOLIO` other than ``model``'s own, as keyword arguments."""
    return [dict(glb_port=gp, psum_port=pp) for gp, pp in PORTFOLIO if (gp, pp) != (model.glb_port,
                                                                                     model.psum_port)]


def buffering_variants(model: AnalyticalModel) -> list[dict]:
    """The GLB bufferings of :data:`BUFFERINGS` other than ``model``'s own, as keyword arguments."""
    return [dict(glb_buffering=b) for b in BUFFERINGS if b != model.glb_buffering]


def portfolio_runs(unique: list[Layer], accels: AccelTable, model: AnalyticalModel, ztexts: list[str], hw,
                   args, zz_fp: str, seeded: dict, variants: list[dict] | None = None) -> dict:
    """Per pair, the best by ZigZag (latency, then energy) of ``seeded`` (the measured model's mappings,
    :func:`hdx_mapping_runs`) and of the mappings HDX chooses under each option set of ``variants``
    (keyword arguments of :class:`AnalyticalModel`; default :func:`port_variants`; the measured model's
    other options kept): more complete mappings costed by ZigZag's own model, so a reference nearer the
    best its cost model knows."""
    best = {k: r for k, r in seeded.items() if k != "taken"}
    key = lambda r: (r["latency"], sum(r["energy"].values()))  # noqa: E731
    base = dict(mapper_objective=model.mapper_objective, mapper_space=model.mapper_space,
                mapper_tiles=model.mapper_tiles, dram_tiles=model.dram_tiles,
                glb_buffering=model.glb_buffering, glb_port=model.glb_port, psum_port=model.psum_port)
    for opts in port_variants(model) if variants is None else variants:
        other = AnalyticalModel(model.hardware, model.tech, **{**base, **opts})
        more, _ = hdx_mapping_runs(unique, accels, other.evaluate(LayerTable(unique), accels), ztexts, hw,
                                   args, zz_fp)
        for k, r in more.items():
            if k not in best or key(r) < key(best[k]):
                best[k] = r
    return best


def others(args) -> str:
    """What ``--portfolio`` / ``--portfolio-buffering`` add to the reference, in words."""
    return " and ".join(w for w, on in (("its other port options", args.portfolio),
                                         ("its other GLB bufferings", args.portfolio_buffering)) if on)


def refine_pairs(unique: list[Layer], accels: AccelTable, slices: list[str], sample: int,
                 seed: int) -> set[tuple[int, int]]:
    """(layer, design) index pairs for the larger ZigZag search: every pair of each ``DF:KIND`` slice,
    plus ``sample`` seeded random pairs outside them (the control)."""
    chosen: set[tuple[int, int]] = set()
    for sl in slices:
        df, _, kind = sl.partition(":")
        if df not in DATAFLOWS or not kind:
            raise SystemExit(f"--refine-slice {sl!r}: give DATAFLOW:KIND, e.g. os:pointwise")
        d = DATAFLOWS.index(df)
        chosen |= {(u, int(j)) for u, ly in enumerate(unique) if ly.kind == kind
                   for j in np.flatnonzero(accels.dataflow == d)}
    rest = [(u, j) for u in range(len(unique)) for j in range(len(accels)) if (u, j) not in chosen]
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(rest), size=min(sample, len(rest)), replace=False) if sample else []
    return chosen | {rest[i] for i in pick}


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or np.all(a == a[0]) or np.all(b == b[0]):
        return float("nan")
    return float(spearmanr(a, b).statistic)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--random", type=int, default=7, help="random networks besides the 3 fixed (default 7)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pes", default="8,16,24,32", help="PEx and PEy values (default 8,16,24,32)")
    ap.add_argument("--rf", default="16,64,256", help="RF sizes in bytes (default 16,64,256)")
    ap.add_argument("--jobs", type=int, default=1, help="ZigZag worker processes (default 1)")
    ap.add_argument("--lpf", type=int, default=1, help="ZigZag LOMA lpf_limit: 1 (default, ~0.05 s/layer) "
                    "or more for a stronger temporal mapper (5: ~0.2 s/layer)")
    ap.add_argument("--cache", default=None, help="ZigZag result cache (jsonl)")
    ap.add_argument("--zigzag-only", action="store_true", help="fill the ZigZag cache and stop")
    ap.add_argument("--pin", choices=("fxfy", "none"), default="fxfy",
                    help="ZigZag: pin the kernel loops innermost (fxfy, default: fast) or let LOMA order "
                         "every loop (none: the mapping space of HDX's full mapper; ~0.2-0.6 s/layer, lpf 5)")
    ap.add_argument("--self-lpf", type=int, default=0, help="also compare ZigZag at this lpf_limit with "
                    "ZigZag at --lpf (the reference's own stability); runs it if not cached")
    ap.add_argument("--refine-lpf", type=int, default=0, metavar="N",
                    help="also read the cache of ZigZag at lpf N (same --pin; nothing is run): for the pairs "
                         "it holds, the reference is the lower-latency mapping of the two searches")
    ap.add_argument("--refine-slice", action="append", default=[], metavar="DF:KIND",
                    help="with --refine-lpf: run ZigZag at that lpf (cached) on every pair of this "
                         "dataflow x layer kind (e.g. os:pointwise); repeatable")
    ap.add_argument("--refine-sample", type=int, default=0, metavar="N",
                    help="with --refine-lpf: also run it on N seeded random pairs outside the slices (the "
                         "control: does the larger search change the reference elsewhere?)")
    ap.add_argument("--hdx-mappings", action="store_true",
                    help="also cost HDX's own mapping of every pair in ZigZag (a complete temporal "
                         "ordering, cached; ~0.02 s per pair): prints the same-mapping agreement, and the "
                         "reference takes it where ZigZag rates it better than its LOMA search's mapping")
    ap.add_argument("--portfolio", action="store_true",
                    help="with --hdx-mappings: also offer ZigZag the mappings HDX chooses under each of its "
                         "GLB port counts and psum store ports (PORTFOLIO; the measured model's other "
                         "options kept); the reference takes the best ZigZag rates")
    ap.add_argument("--portfolio-buffering", action="store_true",
                    help="with --hdx-mappings: also offer ZigZag the mappings HDX chooses under each other "
                         "GLB buffering (BUFFERINGS: a tile stored once leaves room for bigger GLB tiles)")
    ap.add_argument("--glb-port", default="fill", choices=("step", "fill", "packed", "burst"),
                    help="the analytical model's GLB port count (glb_port; default: the model's)")
    ap.add_argument("--psum-port", default="shared", choices=("free", "shared"),
                    help="the analytical model's PE psum store ports (psum_port; default: the model's)")
    ap.add_argument("--glb-kib", type=int, default=None,
                    help="GLB size of every design in KiB (default: the grid's) — another template")
    ap.add_argument("--glb-bw", type=float, default=None,
                    help="GLB <-> array words per cycle for both models (default: the grid's)")
    ap.add_argument("--rs-spads", default=None, metavar="W,I,O",
                    help="RS scratchpad proportions for both models (default: the grid's, Eyeriss 192,12,16)")
    ap.add_argument("--diagnose", action="store_true",
                    help="print which energy part, dataflow and layer kind the energy rank disagreement "
                         "comes from")
    ap.add_argument("--mapper-tiles", choices=("any", "divisors"), default="divisors",
                    help="HDX mapper: PE-local tiles that divide their loops (default: the perfect "
                         "factorisation of ZigZag's and Timeloop's mappers) or of any size (a partial "
                         "last tile, e.g. 8 + 3 filters of 11)")
    ap.add_argument("--mapper-space", choices=("full", "taps-innermost"), default="full",
                    help="HDX mapper: full (default) or taps-innermost, the loop orders ZigZag's pinned LOMA "
                         "can reach")
    args = ap.parse_args()

    space = NetworkSpace.load()
    grid = AcceleratorSpace.load()
    hw = grid.hardware
    if args.rs_spads:  # the same RS scratchpad split in both models (a sensitivity check)
        spads = [float(v) for v in args.rs_spads.split(",")]
        hw = type(hw).model_validate({**hw.model_dump(), "rs_spads": spads})
    if args.glb_bw:
        hw = type(hw).model_validate({**hw.model_dump(), "glb_words_per_cycle": args.glb_bw})
    accels = design_table(grid, [int(v) for v in args.pes.split(",")], [int(v) for v in args.rf.split(",")],
                          args.glb_kib)
    nets = networks(space, args.random, args.seed)
    net_layers = [space.layers(a) for _, a in nets]
    unique: list[Layer] = list(dict.fromkeys(ly for layers in net_layers for ly in layers))

    zz_model = ZigZagModel(hw, lpf_limit=args.lpf, pin=args.pin, mappings="loma")
    zz_fp = zz_model.fingerprint()[:12]
    cache = Path(args.cache) if args.cache else HERE / ".cache" / f"zigzag-{zz_fp}.jsonl"
    zz = zigzag_costs(unique, accels, hw, cache, max(args.jobs, 1), args.lpf, args.pin)
    if args.zigzag_only:
        return

    model = AnalyticalModel(hw, mapper_space=args.mapper_space, mapper_tiles=args.mapper_tiles,
                            glb_port=args.glb_port, psum_port=args.psum_port)
    t0 = time.perf_counter()
    ours = model.evaluate(LayerTable(unique), accels)
    t_ours = time.perf_counter() - t0
    A = len(accels)
    texts = [accels.accelerator(j).text() for j in range(A)]
    ztexts = [accels.accelerator(j).text(with_glb=True) for j in range(A)]
    refine = None
    if args.refine_lpf:
        r_model = ZigZagModel(hw, lpf_limit=args.refine_lpf, pin=args.pin, mappings="loma")
        r_cache = HERE / ".cache" / f"zigzag-{r_model.fingerprint()[:12]}.jsonl"
        only = refine_pairs(unique, accels, args.refine_slice, args.refine_sample, args.seed)
        refine = (zigzag_costs(unique, accels, hw, r_cache, max(args.jobs, 1), args.refine_lpf, args.pin,
                               only) if only else read_cache(r_cache))
    seeded = faithful = own = None
    if args.hdx_mappings:
        seeded, faithful = hdx_mapping_runs(unique, accels, ours, ztexts, hw, args, zz_fp)
        extra = ((port_variants(model) if args.portfolio else [])
                 + (buffering_variants(model) if args.portfolio_buffering else []))
        if extra:  # the strongest reference: HDX's mappings under its other port options / bufferings too
            own, seeded = seeded, portfolio_runs(unique, accels, model, ztexts, hw, args, zz_fp, seeded,
                                                 extra)
    z_parts: dict[str, np.ndarray] = {}
    r_pairs: list = []
    z_lat, z_en, z_area, failed, refined = zz_arrays(zz, unique, ztexts, refine, z_parts, r_pairs, seeded)
    o_lat, o_en = ours.latency_cycles, ours.energy_total_pj
    o_area = ours.area_total_um2
    index = {ly: u for u, ly in enumerate(unique)}

    print(f"Decision agreement with ZigZag: {len(nets)} networks x {A} designs "
          f"(PEx, PEy in {{{args.pes}}}, RF in {{{args.rf}}} B, {'/'.join(DATAFLOWS).upper()}), "
          f"grid '{grid.name}', tech '{hw.tech}', RS pads {':'.join(f'{v:g}' for v in hw.rs_spads)}, "
          f"GLB {int(accels.glb_bytes[0]) // 1024} KiB at {hw.glb_words_per_cycle:g} words/cycle")
    print(f"HDX {model.name} v{model.version}, mapper {args.mapper_space}, tiles {args.mapper_tiles}, "
          f"GLB port {args.glb_port}, psum port {args.psum_port} ({len(unique)} unique layers x {A} "
          f"designs in "
          f"{t_ours * 1e3:.1f} ms); ZigZag {zz_model.version}, LOMA lpf {args.lpf}, pin {args.pin}; "
          f"ZigZag failures: {failed}")
    if refine is not None:
        print(f"reference refined by ZigZag at lpf {args.refine_lpf}: {len(refine)} cached pairs, "
              f"{refined} with a lower-latency mapping taken")
        if r_pairs:
            rp = np.array(r_pairs)
            u, j = rp[:, 0].astype(int), rp[:, 1].astype(int)
            dev = [np.median(np.abs(np.log(rp[:, c] / ref[u, j])))
                   for c, ref in ((2, ours.latency_cycles), (4, ours.latency_cycles),
                                  (3, ours.energy_total_pj), (5, ours.energy_total_pj))]
            print(f"  on those pairs, median |log(ZigZag/HDX)|: latency {dev[0]:.3f} at lpf {args.lpf} -> "
                  f"{dev[1]:.3f} at lpf {args.refine_lpf}; energy {dev[2]:.3f} -> {dev[3]:.3f}")
    if seeded is not None and faithful is not None:
        n_pairs = sum(1 for k in faithful if faithful[k] is not None)
        whose = "own mapping" if own is None else f"own mapping and its mappings under {others(args)}"
        print(f"reference also offered HDX's {whose} of each pair, costed by ZigZag (--hdx-mappings): "
              f"{n_pairs} pairs, {seeded['taken']} where ZigZag rates one better than its LOMA mapping")
        print("  the same mapping in both models, median |log(ZigZag/HDX)| per dataflow (0.1 ~ 10 %):")
        for d, df in enumerate(DATAFLOWS):
            lat_r, en_r, vs_max, vs_sum = [], [], [], []
            for u, ly in enumerate(unique):
                for j in np.flatnonzero(accels.dataflow == d):
                    rec = faithful.get(layer_key(ly, ztexts[j]))
                    if rec is not None:
                        lat_r.append(abs(np.log(rec["latency"] / o_lat[u, j])))
                        en_r.append(abs(np.log(sum(rec["energy"].values()) / o_en[u, j])))
                        # HDX overlaps GLB transfers with compute (max); without overlap it would be the sum
                        comp = ours.compute_cycles[u, j]
                        glb = ours.mapping["glb_words"][u, j] / hw.glb_words_per_cycle
                        vs_max.append(rec["latency"] / o_lat[u, j])
                        vs_sum.append(rec["latency"] / (o_lat[u, j] - max(comp, glb) + comp + glb))
            print(f"    {df}: latency {np.median(lat_r):.3f}, energy {np.median(en_r):.3f} "
                  f"(p90 {np.percentile(lat_r, 90):.3f} / {np.percentile(en_r, 90):.3f}; "
                  f"{len(lat_r)} pairs);\n        "
                  f"ZigZag latency / HDX's: {np.median(vs_max):.2f}, / HDX's without overlap: "
                  f"{np.median(vs_sum):.2f} (median)")
    print()
    hdr = (f"{'network':<11}{'MMACs':>7}{'rho lat':>8}{'rho E':>7}{'rho EDAP':>9}  {'HDX EDAP pick':<20}"
           f"{'ZigZag EDAP pick':<20}{'regret':>8}{'reg lat':>8}{'reg E':>7}")
    print(hdr)
    print("-" * len(hdr))
    rows = []
    for name, macs, r, p_ours, p_zz in agreement_rows(nets, net_layers, index, (o_lat, o_en, o_area),
                                                        (z_lat, z_en, z_area)):
        rows.append(r)
        print(f"{name:<11}{macs:>7.1f}{r[0]:>8.3f}{r[1]:>7.3f}{r[2]:>9.3f}  {texts[p_ours]:<20}"
              f"{texts[p_zz]:<20}{r[3]:>7.1%}{r[4]:>8.1%}{r[5]:>7.1%}")
    med = np.nanmedian(np.array(rows), axis=0)
    print("-" * len(hdr))
    print(f"{'median':<11}{'':>7}{med[0]:>8.3f}{med[1]:>7.3f}{med[2]:>9.3f}  {'':<40}{med[3]:>7.1%}"
          f"{med[4]:>8.1%}{med[5]:>7.1%}")
    worst = np.nanmin(np.array(rows)[:, :3])
    goal = med[0] >= 0.8 and med[1] >= 0.8 and med[2] >= 0.8 and med[3] <= 0.10
    print(f"goal median Spearman >= 0.8 (lat, E, EDAP) and median EDAP regret <= 10 %: "
          f"{'met' if goal else 'NOT met'} (lowest per-network Spearman {worst:.3f})")
    if refine is not None or seeded is not None:  # the same medians against each reference on the way
        print()
        print("Medians against each reference (how much each addition to ZigZag's search moves them)")
        print(f"{'reference':<48}{'rho lat':>8}{'rho E':>7}{'rho EDAP':>9}{'regret':>8}{'max regret':>11}")
        variants = [(f"ZigZag LOMA lpf {args.lpf}", None, None)]
        if refine is not None:
            variants.append((f"  + lpf {args.refine_lpf} where run", refine, None))
        if own is not None:
            variants.append(("  + HDX's mapping where ZigZag rates it better", refine, own))
            variants.append((f"  + HDX's mappings under {others(args)}", refine, seeded))
        elif seeded is not None:
            variants.append(("  + HDX's mapping where ZigZag rates it better", refine, seeded))
        for label, ref_, seed_ in variants:
            zl_, ze_, za_, *_ = zz_arrays(zz, unique, ztexts, ref_, None, None,
                                          None if seed_ is None else dict(seed_))
            rr = np.array([row[2] for row in agreement_rows(nets, net_layers, index, (o_lat, o_en, o_area),
                                                             (zl_, ze_, za_))])
            m_ = np.nanmedian(rr, axis=0)
            print(f"{label:<48}{m_[0]:>8.3f}{m_[1]:>7.3f}{m_[2]:>9.3f}{m_[3]:>7.1%}"
                  f"{np.nanmax(rr[:, 3]):>10.1%}")

    if args.self_lpf:
        other = ZigZagModel(hw, lpf_limit=args.self_lpf, pin=args.pin, mappings="loma")
        o_cache = HERE / ".cache" / f"zigzag-{other.fingerprint()[:12]}.jsonl"
        zz2 = zigzag_costs(unique, accels, hw, o_cache, max(args.jobs, 1), args.self_lpf, args.pin)
        z2 = zz_arrays(zz2, unique, ztexts)
        print()
        print(f"The reference against itself: ZigZag at lpf {args.self_lpf} (as the model) vs ZigZag at lpf "
              f"{args.lpf} (as the reference): how stable its design ranking is under its own mapper budget")
        srows = [row[2] for row in agreement_rows(nets, net_layers, index, z2[:3], (z_lat, z_en, z_area))]
        sm = np.nanmedian(np.array(srows), axis=0)
        print(f"{'median':<11}{'':>7}{sm[0]:>8.3f}{sm[1]:>7.3f}{sm[2]:>9.3f}  {'':<40}{sm[3]:>7.1%}"
              f"{sm[4]:>8.1%}{sm[5]:>7.1%}   (min per-network Spearman "
              f"{np.nanmin(np.array(srows)[:, :3]):.3f})")

    print()
    print("Per dataflow, over unique layers x designs: median ZigZag/HDX ratio")
    print(f"{'dataflow':<10}{'latency':>9}{'energy':>9}")
    for d, df in enumerate(DATAFLOWS):
        m = accels.dataflow == d
        print(f"{df:<10}{np.nanmedian(z_lat[:, m] / o_lat[:, m]):>9.2f}"
              f"{np.nanmedian(z_en[:, m] / o_en[:, m]):>9.2f}")

    print()
    print("Per energy part, over unique layers x designs: |log(ZigZag/HDX)|, median / 90th percentile / mean "
          "(0 = same; 0.1 ~ 10 %)")
    print(f"{'dataflow':<10}" + "".join(f"{p:>21}" for p in z_parts))
    for d, df in enumerate(DATAFLOWS):
        m = accels.dataflow == d
        cells = []
        for p, zv in z_parts.items():
            zo, oo = zv[:, m], ours.energy_pj[p][:, m]
            both = (zo > 0) & (oo > 0)  # a part neither model prices (no leakage) has no ratio
            if not both.any():  # (a failed ZigZag run is NaN, not a price)
                z_any, o_any = bool(np.nanmax(zo, initial=0.0) > 0), bool(np.nanmax(oo, initial=0.0) > 0)
                zero = "both" if not (z_any or o_any) else ("ZigZag" if not z_any else "HDX")
                cells.append(f"{'- (0 in ' + zero + ')':>21}")
                continue
            r = np.abs(np.log(zo[both] / oo[both]))
            cells.append(f"{np.median(r):>8.3f} /{np.percentile(r, 90):>5.2f} /{np.mean(r):>5.3f}")
        print(f"{df:<10}" + "".join(cells))

    print()
    print("Winning dataflow per unique layer (lowest EDP over the designs), share per layer kind")
    kinds = [ly.kind for ly in unique]
    print(f"{'kind':<11}{'layers':>7}   {'HDX ws/os/rs':<18}{'ZigZag ws/os/rs':<18}{'same':>6}")
    o_win = np.array([int(accels.dataflow[np.argmin(o_lat[u] * o_en[u])]) for u in range(len(unique))])
    z_win = np.array([int(accels.dataflow[np.nanargmin(z_lat[u] * z_en[u])]) for u in range(len(unique))])
    for k in ("conv", "depthwise", "pointwise", "fc"):
        m = np.array([kk == k for kk in kinds])
        if not m.any():
            continue
        def share(w: np.ndarray, m: np.ndarray = m) -> str:
            return "/".join(f"{np.mean(w[m] == d):.0%}" for d in range(3))

        same = np.mean(o_win[m] == z_win[m])
        print(f"{k:<11}{int(m.sum()):>7}   {share(o_win):<18}{share(z_win):<18}{same:>6.0%}")
    if args.diagnose:
        print()
        diagnose(nets, net_layers, index, ours, z_parts, accels, kinds)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
