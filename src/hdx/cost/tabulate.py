"""Fill the (layer × accelerator) cost table of a space with a slow ground-truth backend, on Ray.

``hdx cost tabulate --backend zigzag --space S --accel-space G --out TABLE.npz`` evaluates every
distinct layer of the space (or only the layers of ``archs``) on every accelerator of the grid:

* the pairs are cut into chunks of whole accelerators (``chunk_pairs`` pairs each at most); each chunk
  is one Ray task (local Ray by default, a cluster with ``address``) or, without Ray, a serial loop;
* every finished chunk is written atomically to ``TABLE.npz.parts/chunk-NNNNN.npz``, so a killed run
  resumes from the chunks on disk (the parts folder's ``meta.json`` must match the inputs);
* when every chunk is there, they are assembled into ``TABLE.npz`` (:mod:`hdx.cost.tabulated`),
  usable as ``cost_backend`` of ``hdx search`` and ``--backend`` of ``hdx evaluator build`` / ``hdx cost``.

Speed is measured per chunk (labels/s per worker = pairs / seconds of the task), and the time of the
whole table is extrapolated to a number of workers.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hdx.cost.base import AREA_PARTS, ENERGY_PARTS, costs_only
from hdx.cost.tabulated import ACCEL_ARRAYS, FORMAT, PAIR_ARRAYS, encode_meta, layer_from_dict, layer_key
from hdx.errors import HDXError
from hdx.safeio import atomic_write_bytes, atomic_write_json, load_npz, os_errors, read_text


def distinct_layers(space, archs: list[str] | None = None, batch: int = 1) -> list:
    """Every distinct layer (by geometry) of the space, or of the networks ``archs`` only."""
    if archs:
        layers = [ly for a in archs for ly in space.layers(space.parse_arch(a), batch)]
    else:
        layers = space.prefix_layers(batch) + space.suffix_layers(batch)
        for p in space.positions:
            for op in p.ops:
                layers += space.position_layers(p.index, op, batch)
    seen, out = set(), []
    for ly in layers:
        if layer_key(ly) not in seen:
            seen.add(layer_key(ly))
            out.append(ly)
    return out


@dataclass
class TabulateResult:
    """What :func:`tabulate` did. ``seconds`` wall time of this call; rates in labels (pairs)/s."""

    out: Path
    layers: int
    accels: int
    pairs: int
    chunks: int
    chunks_done_before: int
    chunks_run: int
    pairs_run: int
    seconds: float
    workers: int
    executor: str
    labels_per_s_per_worker: float | None  # mean over the chunks run now (pairs / task seconds)
    complete: bool

    def hours_for(self, workers: int, pairs: int | None = None) -> float | None:
        """Extrapolated hours to tabulate ``pairs`` (default: this table) on ``workers`` workers."""
        if not self.labels_per_s_per_worker:
            return None
        return (pairs if pairs is not None else self.pairs) / (self.labels_per_s_per_worker * workers) / 3600


def _chunk(meta: dict, cols: list[int], path: str) -> dict:
    """One Ray task: evaluate every layer on accelerators ``cols``; write the chunk atomically."""
    import io

    from hdx.cost import get_cost_model
    from hdx.space.accelerator import Accelerator, AccelTable, HardwareParams
    from hdx.workload import LayerTable

    t0 = time.perf_counter()
    hw = HardwareParams(**meta["hardware"])
    model = get_cost_model(meta["backend"], hw)
    layers = LayerTable([layer_from_dict(d) for d in meta["layers"]])
    accels = AccelTable.from_accels([Accelerator.parse(meta["accels"][j]) for j in cols])
    c = costs_only(model, layers, accels)
    arrays = {"cols": np.asarray(cols, dtype=np.int64), "latency_cycles": c.latency_cycles,
              "compute_cycles": c.compute_cycles, "memory_cycles": c.memory_cycles,
              "utilisation": c.utilisation,
              **{f"energy_{p}_pj": c.energy_pj.get(p, np.zeros_like(c.latency_cycles)) for p in ENERGY_PARTS},
              **{f"area_{p}_um2": np.broadcast_to(np.asarray(c.area_um2[p], dtype=np.float64), (len(cols),))
                 for p in AREA_PARTS}}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())
    return {"pairs": len(cols) * len(layers), "seconds": time.perf_counter() - t0}


def _meta(space, grid, backend: str, archs) -> dict:
    from hdx.cost import get_cost_model

    model = get_cost_model(backend, grid.hardware)
    layers = distinct_layers(space, archs)
    clock = float(grid.hardware.clock_mhz)
    return {"format": FORMAT, "backend": backend, "fingerprint": model.fingerprint(),
            "model": getattr(model, "version", backend), "hardware": grid.hardware.model_dump(mode="json"),
            "space": space.name, "grid": grid.name, "archs": list(archs or []), "clock_mhz": clock,
            "layers": [{**ly.to_dict(), "name": ly.name} for ly in layers],
            "accels": [grid[j].text(with_glb=True) for j in range(len(grid))]}


def tabulate(*, space: str = "dance_cifar10", accel_space: str = "eyeriss_like", backend: str = "zigzag",
             out: str | Path, archs: list[str] | None = None, address: str | None = None,
             num_cpus: int | None = None, use_ray: bool | None = None, chunk_pairs: int = 200,
             max_chunks: int | None = None, log: Callable[[str], None] = print) -> TabulateResult:
    """Fill (or resume) the cost table ``out`` (see the module docstring); ``max_chunks`` stops after
    that many new chunks (a partial table: rerun to continue)."""
    from hdx.cost import BACKENDS
    from hdx.cost.tabulated import is_table_file
    from hdx.space.accelerator import AcceleratorSpace
    from hdx.space.network import NetworkSpace

    out = Path(out)
    if not is_table_file(str(out)):
        raise HDXError(f"--out {out}: a cost table file name must end in .npz")
    if backend not in BACKENDS:
        raise HDXError(f"unknown --backend '{backend}': use one of {', '.join(BACKENDS)}")
    if chunk_pairs < 1 or (max_chunks is not None and max_chunks < 0):
        raise HDXError("--chunk-pairs must be >= 1 and --max-chunks >= 0")
    net, grid = NetworkSpace.load(space), AcceleratorSpace.load(accel_space)
    meta = _meta(net, grid, backend, archs)
    n_l, n_a = len(meta["layers"]), len(meta["accels"])
    per = max(1, chunk_pairs // n_l)
    chunks = [list(range(s, min(n_a, s + per))) for s in range(0, n_a, per)]
    parts = out.with_name(out.name + ".parts")
    if out.is_file() and not parts.is_dir():
        raise HDXError(f"{out} already exists; choose another --out or delete it")
    with os_errors(parts, "create folder"):
        parts.mkdir(parents=True, exist_ok=True)
    mf = parts / "meta.json"
    if mf.is_file():
        try:
            saved = json.loads(read_text(mf, what="table header"))
        except (ValueError, RecursionError):
            saved = None
        if saved != {**meta, "chunk_accels": per}:
            raise HDXError(f"{parts} holds a partial table of other inputs (space, grid, backend, layers or "
                           f"--chunk-pairs); delete it or choose another --out")
    else:
        atomic_write_json(mf, {**meta, "chunk_accels": per})
    path = lambda i: parts / f"chunk-{i:05d}.npz"  # noqa: E731
    todo = [i for i in range(len(chunks)) if not path(i).is_file()]
    before = len(chunks) - len(todo)
    if max_chunks is not None and max_chunks < len(todo):  # spread over the grid: a fair speed sample
        todo = [todo[(k * len(todo)) // max_chunks] for k in range(max_chunks)]
    log(f"{n_l} distinct layers x {n_a} accelerators = {n_l * n_a} pairs in {len(chunks)} chunks "
        f"({before} on disk, {len(todo)} to run now)")
    t0 = time.perf_counter()
    stats: list[dict] = []
    if use_ray is None:
        try:
            import ray  # noqa: F401
            use_ray = True
        except ImportError:
            use_ray = False
            log("note: Ray is not installed (pip install 'hdx[ray]'): chunks run one after another here")
    if use_ray:
        executor, workers = _run_ray(meta, chunks, todo, path, address, num_cpus, stats, log)
    else:
        if address:
            raise HDXError("--address needs Ray: pip install 'hdx[ray]'")
        executor, workers = "serial (in this process)", 1
        for k, i in enumerate(todo):
            stats.append(_chunk(meta, chunks[i], str(path(i))))
            st = stats[-1]
            log(f"[{k + 1}/{len(todo)}] chunk {i}: {st['pairs']} pairs in {st['seconds']:.1f} s")
    complete = all(path(i).is_file() for i in range(len(chunks)))
    if complete:
        _assemble(out, meta, chunks, path)
    rate = (sum(s["pairs"] for s in stats) / sum(s["seconds"] for s in stats)) if stats else None
    return TabulateResult(out, n_l, n_a, n_l * n_a, len(chunks), before, len(todo),
                          sum(s["pairs"] for s in stats), time.perf_counter() - t0, workers, executor, rate,
                          complete)


def _run_ray(meta, chunks, todo, path, address, num_cpus, stats, log) -> tuple[str, int]:
    from hdx.raytasks import run_tasks

    def done(item: tuple[int, tuple], st: dict) -> None:
        stats.append(st)
        log(f"[{len(stats)}/{len(todo)}] chunk {item[0]}: {st['pairs']} pairs in {st['seconds']:.1f} s")

    items = [(i, (chunks[i], str(path(i)))) for i in todo]
    return run_tasks(_ray_indexed, meta, items, done, num_cpus=num_cpus or os.cpu_count() or 1,
                     address=address, what="chunk", label=lambda item: item[0])


def _ray_indexed(meta: dict, item: tuple[int, tuple[list[int], str]]) -> dict:
    return _chunk(meta, *item[1])


def _assemble(out: Path, meta: dict, chunks: list[list[int]], path) -> None:
    import io

    n_l, n_a = len(meta["layers"]), len(meta["accels"])
    full = {k: np.full((n_l, n_a), np.nan) for k in PAIR_ARRAYS}
    full.update({k: np.full(n_a, np.nan) for k in ACCEL_ARRAYS})
    for i, cols in enumerate(chunks):
        z = load_npz(path(i), max_bytes=1 << 30, what="table chunk")
        try:  # a damaged or foreign chunk (missing array, other shape or type) is one line
            if np.asarray(z.get("cols", [])).tolist() != cols:
                raise KeyError("cols")
            for k in PAIR_ARRAYS:
                full[k][:, cols] = np.reshape(z[k], (n_l, len(cols)))
            for k in ACCEL_ARRAYS:
                full[k][cols] = np.reshape(z[k], (len(cols),))
        except (KeyError, ValueError, TypeError):
            raise HDXError(f"{path(i)} does not hold chunk {i} of this table; delete it and rerun") from None
    if not all(np.isfinite(v).all() for v in full.values()):
        raise HDXError(f"{out}: some chunk holds non-finite costs; delete {path(0).parent} and rerun")
    buf = io.BytesIO()
    np.savez(buf, meta=encode_meta(meta), **full)
    atomic_write_bytes(out, buf.getvalue())
