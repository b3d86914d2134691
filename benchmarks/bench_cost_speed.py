"""Speed of the analytical cost model on this machine.

1. Batched evaluation rate: (layer, accelerator) pairs per second of one ``evaluate`` call over the
   whole 1152-accelerator grid, for the distinct layers of the CIFAR-10 space and for the layers of 50
   random networks (best of 5 repeats).
2. Exhaustive accelerator search of one CIFAR-10 search-space network over the grid: (a) from its
   layers (evaluate all layers × 1152, sum, objective, argmin: tabulation *included*); (b) by lookup in a
   CostTable built once (tabulation *excluded*; its one-off build time is printed separately).
   ``--fresh N``: (c) the figure a user sees, ``hdx cost --arch ARCH --accel grid --json``'s ``seconds``
   in N fresh processes (median and range), with each process's whole wall time (imports included,
   so nothing is moved out of the timed part unseen), with the heap tuning (``hdx.cost.heap``) and
   without it (``HDX_KEEP_HEAP=0``).
3. ZigZag (``hdx.cost.zigzag``), if importable: seconds per layer on one accelerator for a few
   layers, measured in the same run, and the speed ratio to the analytical model.

The machine is shared, so absolute rates move with its load. ``--against REV`` also times the
analytical model of git revision ``REV`` (its ``src/hdx/cost/analytical.py``, loaded from git) on the
same batches in the same process, interleaved with the current one, and prints the speed ratio: a
before/after figure that does not depend on the load.

``--dram-tiles free`` times v3.1's GLB level instead of the default (``hold-array`` since v3.2;
``--against REV`` times REV's default); ``--glb-buffering X`` times that GLB buffering of the model, and
``--ref-buffering Y`` that of REV's; ``--glb-reuse tile`` and ``--ref-reuse tile`` the same for the reuse
across DRAM tiles.

Run: ``python benchmarks/bench_cost_speed.py [--zigzag-layers 3] [--no-zigzag] [--against REV] [--fresh N]
[--dram-tiles free] [--glb-buffering zigzag] [--ref-buffering zigzag] [--glb-reuse tile] [--ref-reuse tile]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import get_args

import numpy as np

from hdx.cost.analytical import AnalyticalModel
from hdx.cost.analytical.mapper import GlbBuffering
from hdx.cost.grid import best_for_arch, best_for_layers
from hdx.cost.table import CostTable
from hdx.metrics import Objective
from hdx.space.accelerator import Accelerator, AcceleratorSpace, AccelTable
from hdx.space.network import NetworkSpace
from hdx.workload import LAYER_FIELDS, LayerTable

ARCH = "mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3"


def best_of(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def analytical_at(rev: str):
    """The analytical model package (module) of git revision ``rev``, loaded as a separate module: the
    single file ``src/hdx/cost/analytical.py`` (up to v2.4) or the package ``src/hdx/cost/analytical/``
    (v3.0 on)."""
    root = Path(__file__).resolve().parents[1]
    tmp = Path(tempfile.mkdtemp())
    git = lambda *a: subprocess.run(["git", *a], cwd=root, check=True, capture_output=True)  # noqa: E731
    try:
        try:
            single = git("show", f"{rev}:src/hdx/cost/analytical.py").stdout
            (tmp / "analytical_at_rev.py").write_bytes(single)
            path, search = tmp / "analytical_at_rev.py", None
        except subprocess.CalledProcessError:
            with tarfile.open(fileobj=io.BytesIO(git("archive", rev, "src/hdx/cost/analytical").stdout)) as t:
                t.extractall(tmp, filter="data")
            pkg = tmp / "src/hdx/cost/analytical"
            path, search = pkg / "__init__.py", [str(pkg)]
    except (OSError, subprocess.CalledProcessError) as e:
        raise SystemExit(f"--against: cannot read the analytical model at {rev!r}: {e}") from None
    return _load("analytical_at_rev", path, search)


def file_at(rev: str, path: str, name: str):
    """One module file of git revision ``rev`` (``path`` from the repository root) loaded as ``name``
    (its imports resolve against the installed package)."""
    root = Path(__file__).resolve().parents[1]
    try:
        text = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=root, check=True,
                              capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise SystemExit(f"--against: cannot read {path} at {rev!r}: {e}") from None
    target = Path(tempfile.mkdtemp()) / f"{name}.py"
    target.write_bytes(text)
    return _load(name, target, None)


def _load(name: str, path: Path, search):
    spec = importlib.util.spec_from_file_location(name, path, submodule_search_locations=search)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def cold(model) -> None:
    """Forget what ``model`` kept from earlier calls (``clear_cache``, where its revision has one), so
    that a repeat is timed as the first call on its layers."""
    getattr(model, "clear_cache", lambda: None)()


def model_at(rev: str, hardware, **options):
    """The AnalyticalModel of git revision ``rev`` (:func:`analytical_at`) with ``options``."""
    return analytical_at(rev).AnalyticalModel(hardware, **options)


def best_pair(fn_a, fn_b, repeats: int = 5) -> tuple[float, float]:
    """Best times of two functions, run alternately (the same load for both)."""
    ta, tb = [], []
    for _ in range(repeats):
        for fn, ts in ((fn_a, ta), (fn_b, tb)):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    return min(ta), min(tb)


def fresh_processes(n: int) -> float:
    """``hdx cost --arch ARCH --accel grid --json`` in ``n`` fresh processes, with and without the heap
    tuning (alternating, so both see the same load): its ``seconds`` and each process's wall time."""
    cmd = [sys.executable, "-m", "hdx", "cost", "--arch", ARCH, "--accel", "grid", "--json"]
    runs: dict[str, tuple[list[float], list[float]]] = {"1": ([], []), "0": ([], [])}
    for _ in range(n):
        for keep, (secs, walls) in runs.items():
            env = {**os.environ, "HDX_KEEP_HEAP": keep}
            t0 = time.perf_counter()
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
            walls.append(time.perf_counter() - t0)
            secs.append(json.loads(out)["seconds"])
    head = f"  fresh processes ({n} each): hdx cost --json's seconds, median [min, max]"
    print(f"{head:58} {'ms':>8}  process wall (median)")
    for keep, label in (("1", "heap tuned (default)"), ("0", "HDX_KEEP_HEAP=0")):
        secs, walls = runs[keep]
        print(f"{'    ' + label:58} {statistics.median(secs) * 1e3:>8.2f}  "
              f"[{min(secs) * 1e3:.2f}, {max(secs) * 1e3:.2f}]  {statistics.median(walls):.2f} s")
    return statistics.median(runs["1"][0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zigzag-layers", type=int, default=3)
    ap.add_argument("--no-zigzag", action="store_true")
    ap.add_argument("--against", default=None, metavar="REV",
                    help="also time the analytical model of this git revision, interleaved; print the ratio")
    ap.add_argument("--fresh", type=int, default=0, metavar="N",
                    help="also run `hdx cost --accel grid --json` in N fresh processes (its seconds)")
    ap.add_argument("--glb-buffering", default=None, choices=get_args(GlbBuffering),
                    help="the timed model's GLB buffering (default: the grid hardware's; --against times "
                         "REV's default)")
    ap.add_argument("--ref-buffering", default=None, choices=get_args(GlbBuffering),
                    help="the GLB buffering of --against's model (default: its default)")
    ap.add_argument("--dram-tiles", default="hold-array", choices=("free", "hold-array"),
                    help="the timed model's GLB level (--against times its default)")
    ap.add_argument("--glb-reuse", default="layer", choices=("layer", "tile"),
                    help="the timed model's reuse across DRAM tiles (--against times its default)")
    ap.add_argument("--ref-reuse", default=None, choices=("layer", "tile"),
                    help="the reuse across DRAM tiles of --against's model (default: its default)")
    args = ap.parse_args()
    space, grid = NetworkSpace.load(), AcceleratorSpace.load()
    model = AnalyticalModel(grid.hardware, dram_tiles=args.dram_tiles, glb_buffering=args.glb_buffering,
                            glb_reuse=args.glb_reuse)
    ref = None
    if args.against:
        ref = model_at(args.against, grid.hardware,
                       **({"glb_buffering": args.ref_buffering} if args.ref_buffering else {}),
                       **({"glb_reuse": args.ref_reuse} if args.ref_reuse else {}))
    print(f"machine: {os.cpu_count()} CPU cores visible; numpy {np.__version__}; "
          f"grid {len(grid)} accelerators; dram_tiles {args.dram_tiles}; "
          f"glb_buffering {model.glb_buffering}; "
          f"glb_reuse {args.glb_reuse}")
    print()
    # the first search of this process, before anything else ran (what one `hdx cost --accel grid` reports)
    lt_arch = LayerTable(space.layers(ARCH))
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    t0 = time.perf_counter()
    best_for_layers(model, lt_arch, grid, Objective("edap"))
    t_first = time.perf_counter() - t0
    faults_first = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0

    # 1. batched evaluation rate
    distinct = space.prefix_layers() + space.suffix_layers()
    for p in space.positions:
        for op in p.ops:
            distinct += space.position_layers(p.index, op)
    rng = np.random.default_rng(0)
    many = []
    for idx in space.sample_indices(rng, 50):
        many += space.layers(space.decode(idx))
    hdr = f"{'batch':48} {'layers':>7} {'pairs':>10} {'seconds':>9} {'pairs/s':>12}"
    if ref is not None:
        hdr += f" {'at ' + args.against[:10]:>14} {'ratio':>6}"
    print(hdr)
    print("-" * len(hdr))
    rates = []
    # the model evaluates each distinct shape once, so a batch's rate counts its repeats as served pairs;
    # the first row (every shape once) is the per-evaluation rate
    shapes = list({(ly.kind, *(getattr(ly, f) for f in LAYER_FIELDS)): ly for ly in distinct}.values())
    batches = (("distinct layer shapes of the space (each once)", shapes),
               ("layers of the CIFAR-10 space (with repeats)", distinct),
               ("layers of 50 random networks", many))
    for label, layers in batches:
        lt = LayerTable(layers)
        pairs = len(lt) * len(grid)
        if ref is None:
            t = best_of(lambda lt=lt: (cold(model), model.evaluate(lt, grid.table)))
            print(f"{label:48} {len(lt):>7} {pairs:>10,} {t:>9.4f} {pairs / t:>12,.0f}")
        else:
            t, t_ref = best_pair(lambda lt=lt: (cold(model), model.evaluate(lt, grid.table)),
                                 lambda lt=lt: (cold(ref), ref.evaluate(lt, grid.table)))
            print(f"{label:48} {len(lt):>7} {pairs:>10,} {t:>9.4f} {pairs / t:>12,.0f} "
                  f"{pairs / t_ref:>14,.0f} {t_ref / t:>5.2f}x")
        rates.append(pairs / t)
    print(f"goal >= 1,000,000 pairs/s: {'met' if min(rates) >= 1e6 else 'NOT met'}"
          + ("" if ref is None else f" (ratio: this model's speed over {args.against}'s, same process)"))
    print()

    # 2. exhaustive search of one network over the grid
    lt = lt_arch
    # each repeat cold: a search of a network not searched before (what the model keeps of its layers
    # dropped); the same network again is timed below
    search = lambda m: (cold(m), best_for_layers(m, lt, grid, Objective("edap")))  # noqa: E731
    if ref is None:
        t_layers, t_ref_layers = best_of(lambda: search(model), repeats=15), None
    else:
        t_layers, t_ref_layers = best_pair(lambda: search(model), lambda: search(ref), repeats=15)
    t_again = best_of(lambda: best_for_layers(model, lt, grid, Objective("edap")), repeats=15)
    cold(model)
    t0 = time.perf_counter()
    table = CostTable.build(space, grid, model)
    t_build = time.perf_counter() - t0
    op_idx = space.encode(ARCH)
    t_table = best_of(lambda: best_for_arch(table, op_idx, grid, Objective("edap")))
    r1, _ = best_for_layers(model, lt, grid, Objective("edap"))
    r2 = best_for_arch(table, op_idx, grid, Objective("edap"))
    print(f"exhaustive EDAP search of {ARCH} ({len(lt)} layers) over {len(grid)} accelerators")
    print(f"{'method':58} {'ms':>8}  best")
    print("-" * 84)
    print(f"{'from layers: evaluate + sum + argmin (tabulation included)':58} {t_layers * 1e3:>8.2f}  "
          f"{r1.accelerator}")
    print(f"{'  the same, first call of the process (hdx cost --accel grid)':58} {t_first * 1e3:>8.2f}")
    print(f"{'  the same network again (its DRAM schedules kept)':58} {t_again * 1e3:>8.2f}")
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    best_for_layers(model, lt_arch, grid, Objective("edap"))
    faults_later = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
    print(f"{'  page faults (memory touched for the first time): first call':58} {faults_first:>8d}  "
          f"a later call {faults_later}")
    if t_ref_layers is not None:
        r_ref, _ = best_for_layers(ref, lt, grid, Objective("edap"))
        print(f"{'  the same at ' + args.against[:10] + ' (same process)':58} {t_ref_layers * 1e3:>8.2f}  "
              f"{r_ref.accelerator}  ({t_ref_layers / t_layers:.2f}x slower than now)")
    print(f"{'CostTable lookup (tabulation excluded)':58} {t_table * 1e3:>8.2f}  {r2.accelerator}")
    print(f"{'  one-off CostTable.build of the whole space':58} {t_build * 1e3:>8.2f}")
    t_fresh = fresh_processes(args.fresh) if args.fresh > 0 else None
    print(f"goal <= 20 ms: {'met' if t_layers <= 0.02 else 'NOT met'} (tabulation included), "
          f"{'met' if t_first <= 0.02 else 'NOT met'} (first call of the process), "
          + ("" if t_fresh is None
             else f"{'met' if t_fresh <= 0.02 else 'NOT met'} (fresh processes, median), ")
          + f"{'met' if t_table <= 0.02 else 'NOT met'} (lookup)")
    print()

    # 3. ZigZag in the same run
    if args.no_zigzag:
        return
    try:
        from hdx.cost.zigzag.adapter import ZigZagModel

        zz = ZigZagModel(grid.hardware, mappings="loma")
    except Exception as e:  # optional extra missing or backend unavailable
        print(f"ZigZag not measured: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
        return
    acc = Accelerator.parse("16x16,rf=16,df=ws")
    layers = [ly for ly in space.layers(ARCH) if ly.kind != "fc"][1: 1 + args.zigzag_layers]
    one = AccelTable.from_accels([acc])
    t0 = time.perf_counter()
    zc = zz.evaluate(LayerTable(layers), one)
    t_zz = (time.perf_counter() - t0) / len(layers)
    t_an = best_of(lambda: model.evaluate(LayerTable(layers), one)) / len(layers)
    ac = model.evaluate(LayerTable(layers), one)
    print(f"ZigZag vs analytical on {acc} ({len(layers)} layers, fresh ZigZag cache)")
    print(f"{'layer':16} {'zigzag cycles':>14} {'ours cycles':>12} {'zigzag pJ':>12} {'ours pJ':>12}")
    for i, ly in enumerate(layers):
        print(f"{ly.name:16} {zc.latency_cycles[i, 0]:>14,.0f} {ac.latency_cycles[i, 0]:>12,.0f} "
              f"{zc.energy_total_pj[i, 0]:>12,.0f} {ac.energy_total_pj[i, 0]:>12,.0f}")
    print(f"ZigZag: {t_zz * 1e3:.1f} ms per layer;  analytical: {t_an * 1e6:.1f} µs per layer (single pair), "
          f"{1e6 / max(rates):.3f} µs per pair batched")
    print(f"speed ratio: {t_zz / t_an:,.0f}x per single layer, {t_zz * max(rates):,.0f}x against the "
          f"batched rate")


if __name__ == "__main__":
    main()
