"""Labelled samples for the DANCE evaluator networks (docs/design.md#the-evaluator-dance), exact cost table.

For ``n_archs`` architectures of a space — uniform one-hot ones (:meth:`NetworkSpace.sample_indices`)
and *soft* distributions like those a search visits (softmax of N(0, 1) logits at a temperature drawn
per position from ``temperatures``, masked by :attr:`NetworkSpace.allowed_mask`) — the exact expected
latency (ms), energy (mJ) and area (mm²) on **every** accelerator of the grid are gathered from a
:class:`~hdx.cost.table.CostTable` (one matrix product per chunk), then

* **optimal-accelerator labels**: for every objective in :data:`LABEL_OBJECTIVES`, the grid index
  minimising it (exhaustive search over the table) and its objective value;
* **pairs** for the cost estimator: ``pairs_per_arch`` accelerators per architecture — the optimum of
  each objective, the rest uniform over the grid — with their three ground-truth metrics.

Work is split into chunks of ``chunk_size`` architectures; chunk ``i`` draws from
``default_rng([seed, i])``, so the result does not depend on how many workers ran (deterministic).
Chunks are written atomically into a work folder with a ``manifest.json``; an interrupted run
resumes from the chunks already there. The output is one ``.npz`` file (no pickle) with a JSON
metadata record (space, grid, cost model name/version/fingerprint, seed, counts, weights).
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hdx.config import StrictModel, config_hash, format_validation_error
from hdx.cost.base import CostModel
from hdx.cost.table import CostTable
from hdx.errors import DataError, HDXError
from hdx.metrics import METRICS, UNITS, Objective
from hdx.safeio import atomic_write_bytes, atomic_write_text, dumps_json, load_npz, read_text
from hdx.space.accelerator import AcceleratorSpace
from hdx.space.network import NetworkSpace

DATASET_VERSION = 1
LABEL_OBJECTIVES: tuple[str, ...] = ("edap", "latency", "energy", "weighted")


class DataSpec(StrictModel):
    """What to generate. 50 K architectures × 36 pairs = the paper's 1.8 M pairs and 50 K labels."""

    n_archs: int = Field(50_000, gt=0, le=2_000_000,
                         description="architectures (each gets optimal-accelerator labels), 1..2e6")
    pairs_per_arch: int = Field(36, ge=len(LABEL_OBJECTIVES), le=10_000,
                                description="accelerators per architecture, 4..10000")
    soft_fraction: float = Field(0.5, ge=0.0, le=1.0, description="share of soft (non one-hot) archs")
    skewed_fraction: float = Field(0.3, ge=0.0, le=1.0,
                                   description="share of the one-hot archs drawn across the compute range "
                                               "(sample_skewed_probs) instead of uniformly")
    temperatures: tuple[float, ...] = Field((0.1, 0.3, 1.0, 3.0), min_length=1,
                                            description="softmax temperatures of soft archs")
    seed: int = Field(0, ge=0, le=2**32 - 1)
    chunk_size: int = Field(2000, gt=0, le=100_000, description="architectures per chunk (bounds memory)")

    @field_validator("temperatures")
    @classmethod
    def _positive(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if any(not t > 0 for t in v):
            raise ValueError(f"temperatures must be > 0, got {list(v)}")
        return v


#: the largest evaluator dataset file HDX opens
MAX_DATASET_BYTES = 4 << 30


class _DatasetMeta(BaseModel):
    """The fields of a dataset's metadata that HDX reads (validated before use)."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    space: str = Field(max_length=200)
    space_hash: str = Field(max_length=128)
    grid: str = Field(max_length=200)
    grid_hash: str = Field(max_length=128)
    model_fingerprint: str = Field(max_length=128)
    objectives: list[str] = Field(min_length=1, max_length=16)
    metrics: list[str] = Field(min_length=1, max_length=8)


def _check_dataset(path: Path, meta: dict, a: dict[str, np.ndarray]) -> None:
    """Schema of the metadata and consistency of the array shapes and index ranges."""
    try:
        m = _DatasetMeta.model_validate(meta)
    except ValidationError as e:
        raise DataError(format_validation_error(e, f"metadata of evaluator dataset {path}")) from None
    n, p, k = a["arch_probs"].shape[0] if a["arch_probs"].ndim == 3 else -1, a["pair_arch"].shape[0], \
        len(m.objectives)
    want = {"is_soft": (n,), "opt_index": (n, k), "opt_value": (n, k), "pair_accel": (p,),
            "pair_costs": (p, len(m.metrics))}
    bad = [f"{name} {a[name].shape}" for name, shp in want.items() if a[name].shape != shp]
    if n < 0 or a["pair_arch"].ndim != 1 or bad:
        what = ", ".join(bad) or "arch_probs"
        raise DataError(f"evaluator dataset {path} has inconsistent arrays ({what}); regenerate it")
    if p and (a["pair_arch"].min() < 0 or a["pair_arch"].max() >= n):
        raise DataError(f"evaluator dataset {path}: pair_arch indexes rows outside 0..{n - 1}; regenerate it")
    for name in ("arch_probs", "opt_value", "pair_costs"):
        if not np.isfinite(a[name]).all():
            raise DataError(f"evaluator dataset {path}: {name} holds NaN or inf; regenerate it")


@dataclass
class EvalDataset:
    """Samples in memory. N architectures, P = N · pairs_per_arch pairs.

    ``arch_probs`` float32 [N, L, n_ops]; ``is_soft`` bool [N]; ``opt_index`` int32 [N, n_obj] and
    ``opt_value`` float64 [N, n_obj] per objective of ``meta["objectives"]``; ``pair_arch`` int32 [P]
    (row of ``arch_probs``), ``pair_accel`` int32 [P] (grid index), ``pair_costs`` float32 [P, 3]
    (latency ms, energy mJ, area mm²).
    """

    arch_probs: np.ndarray
    is_soft: np.ndarray
    opt_index: np.ndarray
    opt_value: np.ndarray
    pair_arch: np.ndarray
    pair_accel: np.ndarray
    pair_costs: np.ndarray
    meta: dict

    _ARRAYS = ("arch_probs", "is_soft", "opt_index", "opt_value", "pair_arch", "pair_accel", "pair_costs")

    @property
    def num_archs(self) -> int:
        return int(self.arch_probs.shape[0])

    @property
    def num_pairs(self) -> int:
        return int(self.pair_arch.shape[0])

    def labels(self, objective: str) -> np.ndarray:
        """Optimal grid index per architecture for ``objective`` (int32 [N])."""
        objs = self.meta["objectives"]
        if objective not in objs:
            raise HDXError(f"dataset has no labels for objective '{objective}' (has {', '.join(objs)})")
        return self.opt_index[:, objs.index(objective)]

    def save(self, path: str | Path) -> Path:
        """Write one ``.npz`` (atomically); metadata as a JSON string in ``meta_json``."""
        path = Path(path)
        buf = io.BytesIO()
        arrays = {k: getattr(self, k) for k in self._ARRAYS}
        np.savez(buf, meta_json=np.array(dumps_json(self.meta, what="dataset metadata")), **arrays)
        atomic_write_bytes(path, buf.getvalue())
        return path

    @classmethod
    def load(cls, path: str | Path) -> EvalDataset:
        """Read a dataset file; a missing, corrupt or incompatible file raises :class:`DataError`."""
        path = Path(path)
        if not path.is_file():
            raise DataError(f"evaluator dataset not found: {path} (generate it with `hdx evaluator build`)")
        try:
            z = load_npz(path, max_bytes=MAX_DATASET_BYTES, what="evaluator dataset")
            meta = json.loads(str(z["meta_json"]))
            arrays = {k: z[k] for k in cls._ARRAYS}
        except HDXError as e:
            raise DataError(str(e)) from None
        except Exception as e:  # missing member, bad JSON
            raise DataError(f"corrupt evaluator dataset {path}: {type(e).__name__}; regenerate it") from None
        if not isinstance(meta, dict) or meta.get("format") != "hdx-evaluator-dataset" \
                or meta.get("version") != DATASET_VERSION:
            got = (meta.get("format"), meta.get("version")) if isinstance(meta, dict) else type(meta).__name__
            raise DataError(f"{path} is not an HDX evaluator dataset of version {DATASET_VERSION} "
                            f"(found {got}); regenerate it")
        _check_dataset(path, meta, arrays)
        return cls(meta=meta, **arrays)

    def check_matches(self, *, space: NetworkSpace, grid: AcceleratorSpace, fingerprint: str) -> None:
        """Refuse samples of another space, grid or cost model (one line naming the mismatch)."""
        m = self.meta
        for what, have, want in (("space", m["space"], space.name), ("grid", m["grid"], grid.name),
                                 ("cost-model fingerprint", m["model_fingerprint"], fingerprint)):
            if have != want:
                raise DataError(f"dataset was generated for {what} '{have}', not '{want}'; regenerate it")
        if m.get("space_hash") != config_hash(space.config) or m.get("grid_hash") != config_hash(grid.config):
            raise DataError("dataset was generated for another version of the space or grid config; "
                            "regenerate it")


# ----- generation --------------------------------------------------------------------------------
_W: dict = {}  # per-process state for the worker pool


def _init_worker(state: dict) -> None:
    _W.clear()
    _W.update(state)


def _one_hot(idx: np.ndarray, n_ops: int) -> np.ndarray:
    """One-hot architectures float64 [n, L, n_ops] of op indices ``idx`` [n, L]."""
    probs = np.zeros((*idx.shape, n_ops))
    np.put_along_axis(probs, idx[..., None], 1.0, axis=-1)
    return probs


def sample_arch_probs(rng: np.random.Generator, space: NetworkSpace, n: int, soft_fraction: float,
                      temperatures: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """``n`` architecture distributions float64 [n, L, n_ops] and the soft flags bool [n]."""
    L, n_ops = space.num_positions, space.num_ops
    is_soft = rng.random(n) < soft_fraction
    probs = _one_hot(space.sample_indices(rng, n), n_ops)
    n_soft = int(is_soft.sum())
    if n_soft:
        temps = np.asarray(temperatures, dtype=np.float64)[rng.integers(0, len(temperatures), (n_soft, L, 1))]
        logits = rng.standard_normal((n_soft, L, n_ops)) / temps
        logits = np.where(space.allowed_mask[None], logits, -np.inf)
        logits -= logits.max(-1, keepdims=True)
        e = np.exp(logits)
        probs[is_soft] = e / e.sum(-1, keepdims=True)
    return probs, is_soft


def sample_skewed_probs(rng: np.random.Generator, space: NetworkSpace, n: int,
                        concentration: float = 0.3) -> np.ndarray:
    """``n`` one-hot architectures [n, L, n_ops] spread over the compute range: each network draws its
    own preference over the ops from a Dirichlet(``concentration``) and each position an allowed op from
    it, so some networks are nearly all one op (all light, all heavy) where uniform draws sit near the
    mean."""
    L, n_ops = space.num_positions, space.num_ops
    pref = rng.dirichlet(np.full(n_ops, concentration), size=n)  # [n, n_ops]
    p = pref[:, None, :] * space.allowed_mask[None]
    cum = np.cumsum(p / p.sum(-1, keepdims=True), axis=-1)
    return _one_hot(np.minimum((rng.random((n, L, 1)) > cum).sum(-1), n_ops - 1), n_ops)


def _make_chunk(i: int) -> dict[str, np.ndarray]:
    spec: DataSpec = _W["spec"]
    table: CostTable = _W["table"]
    space: NetworkSpace = _W["space"]
    weights: dict[str, float] = _W["weights"]  # effective coefficients of `weighted`
    rng = np.random.default_rng([spec.seed, i])
    n = min(spec.chunk_size, spec.n_archs - i * spec.chunk_size)
    probs, is_soft = sample_arch_probs(rng, space, n, spec.soft_fraction, spec.temperatures)
    if spec.skewed_fraction > 0:  # (a stream of its own: the other draws stay as without it)
        side = np.random.default_rng([spec.seed, i, 1])
        skew = np.nonzero(~is_soft & (side.random(n) < spec.skewed_fraction))[0]
        probs[skew] = sample_skewed_probs(side, space, len(skew))
    A = table.num_accels
    index, opt_value = table.best(probs, [Objective.from_coefficients(o, weights) for o in LABEL_OBJECTIVES])
    opt_index = index.astype(np.int32)
    k = spec.pairs_per_arch
    accel = np.empty((n, k), dtype=np.int32)
    accel[:, :len(LABEL_OBJECTIVES)] = opt_index
    accel[:, len(LABEL_OBJECTIVES):] = rng.integers(0, A, (n, k - len(LABEL_OBJECTIVES)))
    rows = np.repeat(np.arange(n), k)
    cols = accel.reshape(-1)
    m = table.expected_at(probs, accel)
    costs = np.stack([m[x].reshape(-1) for x in METRICS], axis=-1).astype(np.float32)
    return {"arch_probs": probs.astype(np.float32), "is_soft": is_soft, "opt_index": opt_index,
            "opt_value": opt_value, "pair_arch": rows.astype(np.int32), "pair_accel": cols,
            "pair_costs": costs}


def _ray_chunk(state: dict, i: int) -> tuple[dict[str, np.ndarray], float]:
    """One Ray task: chunk ``i`` and its seconds (the state, with the cost table, is set once per worker
    process and shared through Ray's object store)."""
    t0 = time.perf_counter()
    if _W.get("key") != state["key"]:
        _init_worker(state)
    return _make_chunk(i), time.perf_counter() - t0


def generate(space: NetworkSpace, grid: AcceleratorSpace, model: CostModel, spec: DataSpec | None = None, *,
             workers: int = 1, work_dir: str | Path | None = None, table: CostTable | None = None,
             progress: Callable[[int, int], None] | None = None, use_ray: bool = False,
             address: str | None = None) -> EvalDataset:
    """Generate an :class:`EvalDataset` (see the module docstring).

    ``workers`` > 1 runs chunks in a process pool; ``use_ray`` / ``address``: as Ray tasks instead (a
    local Ray of ``workers`` CPUs, or the cluster at ``address``; ``meta["labels_per_s_per_worker"]``
    then says the labelled networks per second of one worker); ``work_dir`` keeps chunk files and a
    manifest so that a second call with the same arguments resumes; ``progress(done, total)`` is called
    per chunk.
    """
    spec = spec or DataSpec()
    if workers < 1:
        raise HDXError(f"workers must be >= 1 (got {workers})")
    t0 = time.perf_counter()
    if table is None:
        table = CostTable.build(space, grid, model)
    fingerprint = model.fingerprint() if model is not None else table.model_fingerprint
    if table.model_fingerprint != fingerprint:
        raise HDXError("cost table and cost model disagree (fingerprints differ); rebuild the table")
    weights = table.objective("weighted").coefficients  # unit weights on the table's reference
    meta = {
        "format": "hdx-evaluator-dataset", "version": DATASET_VERSION,
        "space": space.name, "space_hash": config_hash(space.config),
        "grid": grid.name, "grid_hash": config_hash(grid.config),
        "model_name": getattr(model, "name", "?"), "model_version": getattr(model, "version", "?"),
        "model_fingerprint": fingerprint, "objectives": list(LABEL_OBJECTIVES), "weights": weights,
        "metrics": list(METRICS), "units": dict(UNITS),
        "op_names": list(space.op_names), "searched_knobs": list(grid.searched_knobs),
        "spec": spec.model_dump(mode="json"),
    }
    n_chunks = -(-spec.n_archs // spec.chunk_size)
    chunk_dir = Path(work_dir) if work_dir is not None else None
    done: dict[int, dict[str, np.ndarray]] = {}
    if chunk_dir is not None:
        chunk_dir.mkdir(parents=True, exist_ok=True)
        manifest = chunk_dir / "manifest.json"
        key = {k: meta[k] for k in ("space_hash", "grid_hash", "model_fingerprint", "spec", "version")}
        if manifest.is_file():
            try:
                old = json.loads(read_text(manifest, what="chunk manifest"))
            except (HDXError, ValueError):
                old = {}
            if old.get("key") != key:
                raise HDXError(f"work folder {chunk_dir} holds chunks of other settings; use an empty folder")
        atomic_write_text(manifest, dumps_json({"key": key, "n_chunks": n_chunks}, indent=1))
        for i in range(n_chunks):
            f = chunk_dir / f"chunk_{i:05d}.npz"
            if f.is_file():
                try:
                    z = load_npz(f, max_bytes=MAX_DATASET_BYTES, what="sample chunk")
                    done[i] = {k: z[k] for k in EvalDataset._ARRAYS}
                except Exception:  # a broken chunk is simply made again
                    f.unlink()
    todo = [i for i in range(n_chunks) if i not in done]
    state = {"spec": spec, "table": table, "space": space, "weights": weights,
             "key": (meta["space_hash"], meta["grid_hash"], fingerprint, spec.model_dump_json())}

    def _store(i: int, c: dict[str, np.ndarray]) -> None:
        done[i] = c
        if chunk_dir is not None:
            buf = io.BytesIO()
            np.savez(buf, **c)
            atomic_write_bytes(chunk_dir / f"chunk_{i:05d}.npz", buf.getvalue())
        if progress:
            progress(len(done), n_chunks)

    if use_ray or address:
        from hdx.raytasks import run_tasks

        timed = {"archs": 0, "seconds": 0.0}

        def _store_timed(i: int, result: tuple[dict[str, np.ndarray], float]) -> None:
            timed["archs"] += result[0]["arch_probs"].shape[0]
            timed["seconds"] += result[1]
            _store(i, result[0])

        run_tasks(_ray_chunk, state, todo, _store_timed, num_cpus=workers, address=address,
                  what="sample chunk")
        if timed["seconds"] > 0:
            meta["labels_per_s_per_worker"] = round(timed["archs"] / timed["seconds"], 2)
    elif workers == 1 or len(todo) <= 1:
        _init_worker(state)
        for i in todo:
            _store(i, _make_chunk(i))
    else:
        with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(state,)) as ex:
            for i, c in zip(todo, ex.map(_make_chunk, todo), strict=True):
                _store(i, c)
    parts = [done[i] for i in range(n_chunks)]
    offsets = np.cumsum([0] + [p["arch_probs"].shape[0] for p in parts[:-1]])
    out = {k: np.concatenate([p[k] for p in parts]) for k in EvalDataset._ARRAYS if k != "pair_arch"}
    out["pair_arch"] = np.concatenate([p["pair_arch"] + o for p, o in zip(parts, offsets, strict=True)]
                                      ).astype(np.int32)
    meta.update(n_archs=int(out["arch_probs"].shape[0]), n_pairs=int(out["pair_arch"].shape[0]),
                n_soft=int(out["is_soft"].sum()), seconds=round(time.perf_counter() - t0, 3))
    return EvalDataset(meta=meta, **out)
