"""The cost table of an accelerator space too large for one cost-model call (more than
:data:`~hdx.space.accelerator.MAX_GRID` designs): built in slices of designs, in a process pool, cached
on disk and resumable (docs/hw-search.md, "The exact table at scale").

:func:`build_sliced` evaluates the space's *distinct* layers on ``slice_designs`` designs at a time
(each slice one vectorised cost-model call, its temporaries bounded), sums them per (position, op) with
one matrix product, and keeps two columns per design — latency (cycles) and total energy (pJ, static
included) — in float32: 2 × 4 bytes per (position, op, design) instead of 6 × 8, so a 10⁶-design space of
the shipped network space holds in about 0.5 GB (:func:`table_bytes` says it before anything is built).
The energy breakdown of a chosen design comes from the cost model (``hdx cost --explain``), not the table.

Every finished slice is written atomically under ``<cache>/tables/<key>.parts/``; the assembled table is
the folder ``<cache>/tables/<key>.table/`` (``key``: the space and grid configs, the cost model's
fingerprint and the batch) of three ``.npy`` arrays and a ``meta.json`` written last, assembled slice by
slice on disk (one slice in memory at a time) and renamed into place. A killed build resumes from its
slices; a second build with the same inputs opens the folder. A damaged table or slice is rebuilt, never
trusted (no pickle is read; shapes, dtypes and finiteness are checked).

A table larger than the memory a run may give it (``table_memory_mb``) stays **on disk**:
``on_disk=True`` opens its arrays memory-mapped (read-only ``np.memmap``), so the ground truth of a search
(:class:`~hdx.cost.table.CostTable`'s gathers, minima and exhaustive argmins, all in blocks of designs)
reads it from the page cache without holding it; only the exact oracle, which differentiates through the
whole table every step, needs it in memory (docs/hw-search.md, "Spaces beyond the memory budget").
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hdx.config import config_hash
from hdx.cost.base import AREA_PARTS, CostModel, check_finite, costs_only
from hdx.errors import HDXError
from hdx.safeio import atomic_write_bytes, atomic_write_json, load_npz, read_text
from hdx.space.accelerator import AcceleratorSpace
from hdx.space.network import NetworkSpace
from hdx.workload import LayerTable

#: designs per slice: one cost-model call on (distinct layers × this many designs) stays ~0.3 GB
SLICE_DESIGNS = 16_384
#: format of the cached table (bumped when the layout changes; 2: a folder of .npy arrays)
FORMAT_VERSION = 2
#: the largest cached table file HDX opens
MAX_TABLE_BYTES = 64 << 30
#: the most memory (MiB) a cost table may take by default (hdx search's table_memory_mb; hdx cost)
TABLE_MEMORY_MB = 4096


def table_bytes(space: NetworkSpace, grid: AcceleratorSpace, compact: bool) -> int:
    """Bytes the cost table of ``space`` on ``grid`` takes in memory: the (position, op) and fixed
    columns per design (float32 × 2 when ``compact``, float64 × 6 otherwise) and the area parts."""
    cells = (space.num_positions * space.num_ops + 1) * (2 * 4 if compact else 6 * 8)
    per_design = cells + len(AREA_PARTS) * 8
    return per_design * len(grid)


def require_fits(space: NetworkSpace, grid: AcceleratorSpace, limit_mb: float, fix: str) -> int:
    """The bytes of the cost table of ``space`` on ``grid`` (compact beyond
    :data:`~hdx.space.accelerator.MAX_GRID` designs); a one-line :class:`HDXError` ending in ``fix`` when
    they exceed ``limit_mb`` MiB."""
    from hdx.space.accelerator import MAX_GRID

    need = table_bytes(space, grid, compact=len(grid) > MAX_GRID)
    if need > limit_mb * 2**20:
        raise HDXError(f"the exact cost table of space '{space.name}' on accelerator space '{grid.name}' "
                       f"({len(grid)} designs) needs {need / 2**20:.0f} MiB, more than {limit_mb:g}; {fix}")
    return need


def require_disk(space: NetworkSpace, grid: AcceleratorSpace, cache: Path, model: CostModel | None = None,
                 batch: int = 1, fix: str = "fix some knobs of the space") -> int:
    """The bytes of the compact table of ``space`` on ``grid`` kept on disk under ``cache``; a one-line
    :class:`HDXError` ending in ``fix`` when they exceed :data:`MAX_TABLE_BYTES`, or when the disk there
    has less free space than a build needs (its slices and the assembled table: twice the table, less the
    slices already there) and the table (of ``model``'s key, when given) is not built yet."""
    need = table_bytes(space, grid, compact=True)
    if need > MAX_TABLE_BYTES:
        raise HDXError(f"the cost table of space '{space.name}' on accelerator space '{grid.name}' "
                       f"({len(grid)} designs) needs {need / 2**30:.1f} GiB, more than HDX keeps on disk "
                       f"({MAX_TABLE_BYTES / 2**30:.0f} GiB); {fix}")
    folder = Path(cache) / "tables"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{space.name}_{grid.name}_{cache_key(space, grid, model, batch)}" if model is not None else None
    if name is not None and (folder / f"{name}.table" / "meta.json").is_file():
        return need
    have = sum(f.stat().st_size for f in (folder / f"{name}.parts").glob("slice-*.npz")) if name else 0
    want, free = 2 * need - have, shutil.disk_usage(folder).free
    if want > free:
        raise HDXError(f"building the cost table of space '{space.name}' on '{grid.name}' needs "
                       f"{want / 2**30:.1f} GiB on disk, {free / 2**30:.1f} GiB are free in {folder}; free "
                       f"some or set HDX_CACHE_DIR to a larger disk")
    return need


def grouped_layers(space: NetworkSpace, batch: int = 1) -> tuple[LayerTable, np.ndarray]:
    """Every layer of the space and its group [layers]: ``p · n_ops + o`` for a layer of op o at
    position p, -1 for the fixed layers (stem, fixed block, head)."""
    layers, group = [], []
    for ly in space.prefix_layers(batch) + space.suffix_layers(batch):
        layers.append(ly)
        group.append(-1)
    n_ops = space.num_ops
    for p in space.positions:
        for op in p.ops:
            g = p.index * n_ops + space.op_names.index(op)
            for ly in space.position_layers(p.index, op, batch):
                layers.append(ly)
                group.append(g)
    return LayerTable(layers), np.asarray(group, dtype=np.int64)


def _layers(space: NetworkSpace, batch: int) -> tuple[LayerTable, np.ndarray]:
    """The space's distinct layers and the [groups, distinct] count matrix that sums them per group:
    row ``p · n_ops + o`` for (position p, op o), the last row for the fixed layers."""
    lt, group = grouped_layers(space, batch)
    first, inverse = lt.distinct()
    count = np.zeros((space.num_positions * space.num_ops + 1, len(first)))
    np.add.at(count, (group, inverse), 1.0)  # group -1 is the last row
    return lt[first], count


_W: dict = {}  # per-process state of the pool


def _init(state: dict) -> None:
    _W.clear()
    _W.update(state)


def _slice(i: int) -> dict[str, np.ndarray]:
    """Columns [groups, designs, 2] (float32), area parts [designs, 4] and the seconds of slice ``i``."""
    t0 = time.perf_counter()
    grid: AcceleratorSpace = _W["grid"]
    model: CostModel = _W["model"]
    lt: LayerTable = _W["layers"]
    lo = i * _W["slice"]
    idx = np.arange(lo, min(lo + _W["slice"], len(grid)))
    accels = grid.table_of(idx)
    costs = check_finite(costs_only(model, lt, accels), lt, accels,
                         model=getattr(model, "name", "cost model"))
    count: np.ndarray = _W["count"]
    cols = np.stack([count @ costs.latency_cycles, count @ costs.energy_total_pj], axis=-1)
    area = np.stack([np.broadcast_to(costs.area_um2[p], (len(idx),)) for p in AREA_PARTS], axis=-1)
    return {"cols": cols.astype(np.float32), "area": area.astype(np.float64),
            "clock_mhz": np.float64(costs.clock_mhz), "seconds": np.float64(time.perf_counter() - t0)}


def _ray_slice(state: dict, i: int) -> dict[str, np.ndarray]:
    """One Ray task: slice ``i`` (the state is set once per worker process)."""
    if _W.get("key") != state["key"]:
        _init(state)
    return _slice(i)


@dataclass
class BuildStats:
    """What :func:`build_sliced` did: slices run now and on disk before, designs per second of one worker
    (designs of the slices run now / the seconds of their tasks), workers and where they ran."""

    slices: int = 0
    slices_before: int = 0
    slices_run: int = 0
    designs_run: int = 0
    task_seconds: float = 0.0
    seconds: float = 0.0
    workers: int = 1
    executor: str = "this process"
    loaded: bool = False

    @property
    def designs_per_s_per_worker(self) -> float | None:
        return self.designs_run / self.task_seconds if self.task_seconds > 0 else None

    def seconds_for(self, designs: int, workers: int) -> float | None:
        """Extrapolated seconds to tabulate ``designs`` on ``workers`` workers."""
        rate = self.designs_per_s_per_worker
        return designs / (rate * workers) if rate else None


def cache_key(space: NetworkSpace, grid: AcceleratorSpace, model: CostModel, batch: int) -> str:
    blob = json.dumps({"space": config_hash(space.config), "grid": config_hash(grid.config),
                       "model": model.fingerprint(), "batch": batch, "format": FORMAT_VERSION},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def build_sliced(space: NetworkSpace, grid: AcceleratorSpace, model: CostModel, batch: int = 1, *,
                 workers: int = 1, cache: str | Path | None = None, slice_designs: int = SLICE_DESIGNS,
                 progress: Callable[[int, int], None] | None = None,
                 log: Callable[[str], None] | None = None, use_ray: bool = False, address: str | None = None,
                 stats: BuildStats | None = None, on_disk: bool = False) -> dict[str, np.ndarray]:
    """The arrays of the compact cost table of ``space`` on ``grid`` (see the module docstring):
    ``per_op`` float32 [L, n_ops, A, 2], ``fixed`` float32 [A, 2], ``area_um2`` [A, 4], ``clock_mhz``
    (:meth:`hdx.cost.table.CostTable.sliced` makes the table of them).

    ``cache``: the folder of cached tables (None: no file is read or written); ``on_disk``: the arrays
    memory-mapped from the cached table instead of read into memory (needs ``cache``); ``workers``:
    processes (1: in this one); ``use_ray`` / ``address``: the slices as Ray tasks instead (a local Ray of
    ``workers`` CPUs, or the cluster at ``address``); ``progress(done, total)`` after every slice;
    ``log``: one line when the table is loaded from the cache or built (with the designs/s); ``stats``:
    filled with what was done (:class:`BuildStats`).
    """
    stats = stats if stats is not None else BuildStats()

    if workers < 1:
        raise HDXError(f"workers must be >= 1 (got {workers})")
    if slice_designs < 1:
        raise HDXError(f"slice_designs must be >= 1 (got {slice_designs})")
    if cache is None:
        if on_disk:
            raise HDXError("a cost table kept on disk needs a cache folder (no cache folder was given)")
        return _build(space, grid, model, batch, None, workers, slice_designs, progress, log, use_ray,
                      address, stats, False)
    lock = Path(cache) / "tables" / f"{space.name}_{grid.name}_{cache_key(space, grid, model, batch)}.lock"
    with _exclusive(lock):  # one process builds, the others then load its file
        return _build(space, grid, model, batch, Path(cache), workers, slice_designs, progress, log, use_ray,
                      address, stats, on_disk)


@contextmanager
def _exclusive(path: Path):
    """An exclusive lock on ``path`` (POSIX ``flock``; no lock where the platform has none)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _build(space: NetworkSpace, grid: AcceleratorSpace, model: CostModel, batch: int, cache: Path | None,
           workers: int, slice_designs: int, progress, log, use_ray: bool, address: str | None,
           stats: BuildStats, on_disk: bool) -> dict[str, np.ndarray]:
    say = log or (lambda s: None)
    t0 = time.perf_counter()
    key = cache_key(space, grid, model, batch)
    name = f"{space.name}_{grid.name}_{key}"
    folder = parts = None
    if cache is not None:
        folder = cache / "tables" / f"{name}.table"
        parts = cache / "tables" / f"{name}.parts"
        for old in (*folder.parent.glob(f"{folder.name}.tmp-*"),  # a build killed while assembling
                    *folder.parent.glob(f"{space.name}_{grid.name}_*.npz")):  # format 1 (one .npz)
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)
        if folder.is_dir():
            try:
                z = _open(folder, space, grid, on_disk)
                say(f"cost table of {len(grid)} designs {'opened on disk' if on_disk else 'loaded'} "
                    f"from {folder}")
                stats.loaded = True
                return z
            except (HDXError, KeyError, ValueError, EOFError, FileNotFoundError):
                shutil.rmtree(folder, ignore_errors=True)  # damaged or another layout: rebuilt below
            except OSError as e:  # the table may be fine (memory, file handles, permissions): kept
                raise HDXError(f"cannot open the cost table {folder}: {e.strerror or e}; fix that and run "
                               f"again (the table is kept)") from None
    lt, count = _layers(space, batch)
    n_slices = -(-len(grid) // slice_designs)
    held: dict[int, dict[str, np.ndarray]] = {}  # slices in memory (without a cache folder only)
    done: set[int] = set()
    if parts is not None:
        parts.mkdir(parents=True, exist_ok=True)
        manifest = parts / "manifest.json"
        want = {"key": key, "slice": slice_designs, "designs": len(grid)}
        try:
            have = json.loads(read_text(manifest, what="slice manifest")) if manifest.is_file() else None
        except (HDXError, ValueError):
            have = None
        if have != want:  # slices of other settings are never mixed in
            for f in parts.glob("slice-*.npz"):
                f.unlink()
            atomic_write_json(manifest, want)
        for i in range(n_slices):
            if _read_slice(parts, i, count.shape[0], _slice_len(i, slice_designs, len(grid))) is not None:
                done.add(i)
    todo = [i for i in range(n_slices) if i not in done]
    before = len(done)
    state = {"grid": grid, "model": model, "layers": lt, "count": count, "slice": slice_designs, "key": key}
    stats.slices, stats.slices_before, stats.slices_run = n_slices, before, len(todo)

    def store(i: int, part: dict[str, np.ndarray]) -> None:
        done.add(i)
        stats.designs_run += part["cols"].shape[1]
        stats.task_seconds += float(part["seconds"])
        if parts is not None:  # on disk only: a large table's slices never pile up in memory
            atomic_write_bytes(parts / f"slice-{i:05d}.npz", _npz(part))
        else:
            held[i] = part
        if progress:
            progress(len(done), n_slices)

    if use_ray or address:
        from hdx.raytasks import run_tasks

        stats.executor, stats.workers = run_tasks(_ray_slice, state, todo, store, num_cpus=workers,
                                                  address=address, what="cost table slice")
    elif workers == 1 or len(todo) <= 1:
        stats.workers, stats.executor = 1, "this process"
        _init(state)
        for i in todo:
            store(i, _slice(i))
    else:
        stats.workers, stats.executor = workers, f"a pool of {workers} processes"
        with ProcessPoolExecutor(max_workers=workers, initializer=_init, initargs=(state,)) as ex:
            for i, part in zip(todo, ex.map(_slice, todo), strict=True):
                store(i, part)
    if folder is None or parts is None:
        arrays = _checked(_assemble([held[i] for i in range(n_slices)], space), space, grid)
    else:
        def read(i: int) -> dict[str, np.ndarray]:
            z = _read_slice(parts, i, count.shape[0], _slice_len(i, slice_designs, len(grid)))
            if z is None:
                raise HDXError(f"cost table slice {i} vanished from {parts} while assembling; build again")
            return z
        _write(folder, read, n_slices, space, len(grid))
        for f in parts.glob("slice-*.npz"):
            f.unlink(missing_ok=True)
        (parts / "manifest.json").unlink(missing_ok=True)
        with suppress(OSError):  # something else was put there: left as it is
            parts.rmdir()
        arrays = _open(folder, space, grid, on_disk)
    secs = stats.seconds = time.perf_counter() - t0
    say(f"cost table of {len(grid)} designs x {len(lt)} distinct layers built in {secs:.1f} s "
        f"({stats.designs_run / max(secs, 1e-9):.0f} designs/s on {stats.executor}"
        + (f", {before} of {n_slices} slices from an earlier run" if before else "")
        + (f"; kept on disk in {folder}" if on_disk else "") + ")")
    return arrays


def _slice_len(i: int, slice_designs: int, designs: int) -> int:
    return min(slice_designs, designs - i * slice_designs)


def _read_slice(parts: Path, i: int, groups: int, n: int) -> dict[str, np.ndarray] | None:
    """Slice ``i`` from ``parts`` when it is there and whole (a damaged one is deleted), else None."""
    f = parts / f"slice-{i:05d}.npz"
    if not f.is_file():
        return None
    try:
        z = load_npz(f, max_bytes=MAX_TABLE_BYTES, what="cost table slice")
        if z["cols"].shape == (groups, n, 2) and z["area"].shape == (n, len(AREA_PARTS)):
            return z
    except (HDXError, KeyError):
        pass
    f.unlink(missing_ok=True)
    return None


def _write(folder: Path, read: Callable[[int], dict[str, np.ndarray]], n_slices: int, space: NetworkSpace,
           designs: int) -> None:
    """Assemble the slices ``read(i)`` into the table folder ``folder``, one slice in memory at a time:
    the arrays are written memory-mapped into a fresh folder beside it, ``meta.json`` last, then the
    folder is renamed into place."""
    L, n_ops = space.num_positions, space.num_ops
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    per_op = _mapped_file(tmp / "per_op.npy", np.float32, (L, n_ops, designs, 2))
    fixed = _mapped_file(tmp / "fixed.npy", np.float32, (designs, 2))
    area = _mapped_file(tmp / "area_um2.npy", np.float64, (designs, len(AREA_PARTS)))
    lo, clock = 0, None
    for i in range(n_slices):
        z = read(i)
        cols = z["cols"]
        n = cols.shape[1]
        per_op[:, :, lo: lo + n] = cols[:-1].reshape(L, n_ops, n, 2)
        fixed[lo: lo + n] = cols[-1]
        area[lo: lo + n] = z["area"]
        clock = float(z["clock_mhz"])
        lo += n
    for a in (per_op, fixed, area):
        a.flush()
    del per_op, fixed, area
    atomic_write_json(tmp / "meta.json", {"format": FORMAT_VERSION, "designs": designs, "clock_mhz": clock})
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)


def _mapped_file(path: Path, dtype, shape: tuple[int, ...]) -> np.memmap:
    """A new ``.npy`` file of ``shape`` mapped for writing, its blocks reserved first: a full disk is a
    one-line error here, not a SIGBUS while the mapped pages are written."""
    a = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
    if hasattr(os, "posix_fallocate"):
        fd = os.open(path, os.O_RDWR)
        try:
            os.posix_fallocate(fd, 0, os.fstat(fd).st_size)
        except OSError as e:
            del a
            shutil.rmtree(path.parent, ignore_errors=True)
            raise HDXError(f"cannot write the cost table in {path.parent.parent}: {e.strerror or e}; free "
                           f"some disk or set HDX_CACHE_DIR to a larger disk") from None
        finally:
            os.close(fd)
    return a


def _open(folder: Path, space: NetworkSpace, grid: AcceleratorSpace, on_disk: bool) -> dict[str, np.ndarray]:
    """The arrays of the table folder ``folder``, checked (:func:`_checked`): memory-mapped read-only
    when ``on_disk``, else read into memory. Each array is opened memory-mapped first, so a header that
    claims another shape costs nothing."""
    meta = json.loads(read_text(folder / "meta.json", what="cost table metadata"))
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION or meta.get("designs") != len(grid):
        raise HDXError(f"cost table {folder} has another format")
    z = {k: np.load(folder / f"{k}.npy", mmap_mode="r", allow_pickle=False)
         for k in ("per_op", "fixed", "area_um2")}
    z["clock_mhz"] = np.float64(meta["clock_mhz"])
    if not (np.isfinite(z["clock_mhz"]) and z["clock_mhz"] > 0):
        raise HDXError(f"cost table {folder} has a clock of {z['clock_mhz']} MHz")
    z = _checked(z, space, grid)
    if not on_disk:
        z = {k: np.array(v) for k, v in z.items()}
    return z


def _assemble(slices: list[dict[str, np.ndarray]], space: NetworkSpace) -> dict[str, np.ndarray]:
    cols = np.concatenate([s["cols"] for s in slices], axis=1)  # [groups, A, 2]
    L, n_ops = space.num_positions, space.num_ops
    return {"per_op": np.ascontiguousarray(cols[:-1].reshape(L, n_ops, cols.shape[1], 2)),
            "fixed": np.ascontiguousarray(cols[-1]), "area_um2": np.concatenate([s["area"] for s in slices]),
            "clock_mhz": np.float64(slices[0]["clock_mhz"])}


def _checked(z: dict[str, np.ndarray], space: NetworkSpace, grid: AcceleratorSpace) -> dict[str, np.ndarray]:
    """The table's arrays if their shapes and values are those of ``space`` on ``grid``, else HDXError
    (finiteness checked in blocks of designs: a memory-mapped table is never read whole at once)."""
    A = len(grid)
    per_op, fixed, area = z["per_op"], z["fixed"], z["area_um2"]
    if per_op.shape != (space.num_positions, space.num_ops, A, 2) or fixed.shape != (A, 2) \
            or area.shape != (A, len(AREA_PARTS)) or per_op.dtype != np.float32 \
            or fixed.dtype != np.float32 or area.dtype != np.float64:
        raise HDXError("cached cost table has another shape")
    step = max(1, (1 << 24) // max(1, space.num_positions * space.num_ops * 2))
    for a0 in range(0, A, step):
        sl = slice(a0, a0 + step)
        if not (np.isfinite(per_op[:, :, sl]).all() and np.isfinite(fixed[sl]).all()
                and np.isfinite(area[sl]).all()):
            raise HDXError("cached cost table holds NaN or inf")
    return {"per_op": per_op, "fixed": fixed, "area_um2": area, "clock_mhz": np.float64(z["clock_mhz"])}
