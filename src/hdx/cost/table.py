"""Tabulated costs of a whole network space on a whole accelerator grid.

Layer costs are additive, so the cost of *any* architecture of a space on *every* accelerator of a
grid follows from one table: the cost of the fixed layers (stem, fixed block, head) and of every
(searchable position, op) on every accelerator. :meth:`CostTable.build` evaluates all distinct
layers in a single vectorised :meth:`~hdx.cost.base.CostModel.evaluate` call; afterwards

* :meth:`CostTable.network` gives exact ground-truth costs of a batch of architectures on all
  accelerators by gathering and summing (no cost-model call), and
* :meth:`CostTable.expected` gives the exact *expected* cost under per-position op probabilities
  (linear in the probabilities), which is what the exact oracle differentiates.

Nothing outside this class reads the table's column layout: the expected cost under α (numpy,
:meth:`CostTable.expected`, or torch, :meth:`CostTable.torch_view`), the minimum over all networks per
accelerator (:meth:`CostTable.min_per_accel`) and the reference values of the ``weighted`` objective
(:meth:`CostTable.reference`) all live here. Metrics are canonical (:mod:`hdx.metrics`: ms, mJ, mm²).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hdx.cost.base import AREA_PARTS, ENERGY_PARTS, CostModel, check_finite, costs_only
from hdx.cost.table_build import TABLE_MEMORY_MB, grouped_layers, require_disk, table_bytes
from hdx.errors import HDXError
from hdx.metrics import METRICS, Objective, cycles_to_ms, pj_to_mj, um2_to_mm2
from hdx.space.accelerator import MAX_GRID, AcceleratorSpace
from hdx.space.network import NetworkSpace

if TYPE_CHECKING:
    from hdx.cost.table_torch import CostTableTorch

#: architectures gathered at once by :meth:`CostTable.network_additive` (bounds its [B, L, A, C] temporary)
CHUNK = 128
#: the most (architecture × design) metric values one step of a batch computes (bounds the [B, A]
#: temporaries of a table of 10⁶ designs: a few architectures at a time)
MAX_BATCH_CELLS = 1 << 22
#: the largest [CHUNK, L, A, C] gather :meth:`CostTable.network_additive` makes in one step (512 MB in
#: float64); a larger table is summed position by position instead
MAX_GATHER_CELLS = 16 * MAX_BATCH_CELLS
# columns of the additive part of the table: latency (cycles) and energy per part (pJ)
_COLS: tuple[str, ...] = ("latency_cycles", *(f"energy_{p}_pj" for p in ENERGY_PARTS))


@dataclass(frozen=True)
class _Mapped:
    """A memory-mapped array of a table on disk, by path (see :meth:`CostTable.__getstate__`)."""

    path: str
    shape: tuple[int, ...]
    dtype: str

    def open(self) -> np.ndarray:
        try:
            a = np.load(self.path, mmap_mode="r", allow_pickle=False)
        except OSError as e:
            raise HDXError(f"cost table file {self.path} cannot be opened here ({e.strerror or e}): a table "
                           f"kept on disk is read by every worker from its cache folder, which must be "
                           f"shared by every Ray node (HDX_CACHE_DIR on a shared file system)") from None
        if a.shape != self.shape or str(a.dtype) != self.dtype:
            raise HDXError(f"cost table file {self.path} changed while in use; rebuild the table")
        return a


@dataclass
class CostTable:
    """Per-(position, op, accelerator) cost table of one space on one grid under one cost model.

    ``fixed`` [A, C] and ``per_op`` [L, n_ops, A, C] hold latency (cycles) and energy (pJ): in float64
    the columns ``latency_cycles, energy_{mac,rf,glb,dram,static}_pj``, or — a table of more than
    :data:`~hdx.space.accelerator.MAX_GRID` designs (:mod:`hdx.cost.table_build`) — float32 columns
    ``latency_cycles, energy_pj`` (the total); sums are taken in float64 either way. Zero and disallowed
    ops are 0 (disallowed ones are also excluded by ``allowed_mask``). ``area_um2`` [A, 4] per area part.
    """

    space_name: str
    grid_name: str
    model_fingerprint: str
    clock_mhz: float
    fixed: np.ndarray
    per_op: np.ndarray
    area_um2: np.ndarray
    allowed_mask: np.ndarray

    @classmethod
    def build(cls, space: NetworkSpace, grid: AcceleratorSpace, model: CostModel, batch: int = 1, *,
              workers: int | None = None, cache: str | Path | bool = True,
              progress: Callable[[int, int], None] | None = None,
              log: Callable[[str], None] | None = None, on_disk: bool | None = None) -> CostTable:
        """Evaluate every distinct layer of the space on every accelerator of the grid: one call up to
        :data:`~hdx.space.accelerator.MAX_GRID` designs (float64, the energy by part); beyond, the compact
        table in slices of designs (:func:`hdx.cost.table_build.build_sliced`: float32, latency and total
        energy; ``workers`` processes (None: every core, at most 8), ``cache``: True the user cache
        (:func:`hdx.data.fetch.cache_dir`), a folder, or False; ``progress``, ``log``; ``on_disk``: the
        compact table stays in its cache folder, memory-mapped, instead of being read into memory; None:
        when it takes more than :data:`~hdx.cost.table_build.TABLE_MEMORY_MB`)."""
        if len(grid) > MAX_GRID:
            import os

            from hdx.data.fetch import cache_dir

            folder = cache_dir() if cache is True else (cache or None)
            workers = workers or max(1, min(8, os.cpu_count() or 1))
            if on_disk is None:
                on_disk = table_bytes(space, grid, compact=True) > TABLE_MEMORY_MB * 2**20
            if folder is not None:  # the disk can hold the build (or the table is there): one line if not
                require_disk(space, grid, Path(folder), model, batch)
            return cls.sliced(space, grid, model, batch, workers=workers, cache=folder, progress=progress,
                              log=log, on_disk=on_disk)
        lt, group_arr = grouped_layers(space, batch)
        n_ops = space.num_ops
        costs = check_finite(costs_only(model, lt, grid.table), lt, grid.table,
                             model=getattr(model, "name", "cost model"))
        zero = np.zeros_like(costs.latency_cycles)  # a part a model does not report (e.g. static) is 0
        parts = [costs.energy_pj.get(p, zero) for p in ENERGY_PARTS]
        cols = np.stack([costs.latency_cycles, *parts], axis=-1)
        fixed = cols[group_arr == -1].sum(0)
        per_op = np.zeros((space.num_positions * n_ops, len(grid), len(_COLS)))
        sel = group_arr >= 0
        np.add.at(per_op, group_arr[sel], cols[sel])
        area = np.stack([np.broadcast_to(costs.area_um2[p], (len(grid),)) for p in AREA_PARTS], axis=-1)
        return cls(space.name, grid.name, model.fingerprint(), float(costs.clock_mhz), fixed,
                   per_op.reshape(space.num_positions, n_ops, len(grid), len(_COLS)), area,
                   space.allowed_mask.copy())

    @classmethod
    def sliced(cls, space: NetworkSpace, grid: AcceleratorSpace, model: CostModel, batch: int = 1,
               **opts) -> CostTable:
        """The compact table built in slices of designs (:func:`hdx.cost.table_build.build_sliced`, whose
        keyword options ``opts`` are: ``workers``, ``cache``, ``slice_designs``, ``progress``, ``log``,
        ``use_ray``, ``address``, ``stats``, ``on_disk``)."""
        from hdx.cost.table_build import build_sliced

        z = build_sliced(space, grid, model, batch, **opts)
        return cls(space.name, grid.name, model.fingerprint(), float(z["clock_mhz"]), z["fixed"], z["per_op"],
                   z["area_um2"], space.allowed_mask.copy())

    @property
    def num_accels(self) -> int:
        return int(self.fixed.shape[0])

    @property
    def num_positions(self) -> int:
        return int(self.per_op.shape[0])

    def __getstate__(self) -> dict:
        """A table on disk pickles as the paths of its arrays (a process pool or a Ray worker maps them
        again instead of receiving gigabytes)."""
        state = {k: v for k, v in self.__dict__.items() if k != "area_mm2"}  # derived: computed again
        for k in ("per_op", "fixed", "area_um2"):
            v = state[k]
            if isinstance(v, np.memmap) and v.filename:
                state[k] = _Mapped(str(v.filename), tuple(v.shape), str(v.dtype))
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update({k: v.open() if isinstance(v, _Mapped) else v for k, v in state.items()})

    @property
    def on_disk(self) -> bool:
        """Whether the table is memory-mapped from its cache folder rather than held in memory."""
        return isinstance(self.per_op, np.memmap)

    @cached_property
    def area_mm2(self) -> np.ndarray:
        """Area of every accelerator [A] (mm²; computed once)."""
        return um2_to_mm2(np.asarray(self.area_um2).sum(-1))

    def _to_metrics(self, additive: np.ndarray, area: np.ndarray | None = None) -> dict[str, np.ndarray]:
        lat_ms = cycles_to_ms(additive[..., 0], self.clock_mhz)
        energy_mj = pj_to_mj(additive[..., 1] if additive.shape[-1] == 2 else additive[..., 1:].sum(-1))
        area = self.area_mm2 if area is None else area
        return {"latency": lat_ms, "energy": energy_mj, "area": np.broadcast_to(area, lat_ms.shape)}

    def network_additive(self, op_idx: np.ndarray) -> np.ndarray:
        """Raw additive columns [B, A, C] for architectures given as op indices [B, L] (gathered in
        chunks of :data:`CHUNK` architectures: the [B, L, A, C] gather stays small)."""
        op_idx = np.atleast_2d(np.asarray(op_idx, dtype=np.int64))
        L = self.num_positions
        if op_idx.shape[-1] != L:
            raise HDXError(f"architecture has {op_idx.shape[-1]} positions, table has {L}")
        if not np.all(self.allowed_mask[np.arange(L), op_idx]):
            raise HDXError("architecture uses an op not allowed at its position (e.g. zero at a stage start)")
        A, C = self.per_op.shape[2:]
        if CHUNK * L * A * C <= MAX_GATHER_CELLS:
            pos = np.arange(L)[None, :]
            parts = [self.fixed[None] + self.per_op[pos, op_idx[i: i + CHUNK]].sum(1, dtype=np.float64)
                     for i in range(0, op_idx.shape[0], CHUNK)]
            return parts[0] if len(parts) == 1 else np.concatenate(parts)
        out = np.empty((op_idx.shape[0], A, C))  # a large table: summed position by position
        step = max(1, MAX_BATCH_CELLS // (A * C))
        for i in range(0, op_idx.shape[0], step):
            rows = op_idx[i: i + step]
            acc = np.broadcast_to(self.fixed, (len(rows), A, C)).astype(np.float64)
            for p in range(L):
                acc += self.per_op[p, rows[:, p]]
            out[i: i + step] = acc
        return out

    def network(self, op_idx: np.ndarray) -> dict[str, np.ndarray]:
        """Ground-truth metrics (ms, mJ, mm²) of architectures [B, L] on every accelerator: [B, A] each."""
        return self._to_metrics(self.network_additive(op_idx))

    def optimal(self, op_idx: np.ndarray, objective: Objective) -> dict[str, np.ndarray]:
        """Metrics of each network (op indices [B, L]) on its ``objective``-optimal accelerator: [B] each
        (ms, mJ, mm²), plus ``accel_index`` [B] (exhaustive over the grid)."""
        op_idx = np.atleast_2d(np.asarray(op_idx, dtype=np.int64))
        out: dict[str, list[np.ndarray]] = {}
        step = max(1, min(CHUNK, MAX_BATCH_CELLS // self.num_accels))
        for i in range(0, op_idx.shape[0], step):
            m = self.network(op_idx[i: i + step])
            best = np.argmin(objective.of(m), axis=1)
            for k, v in m.items():
                out.setdefault(k, []).append(np.take_along_axis(v, best[:, None], 1)[:, 0])
            out.setdefault("accel_index", []).append(best)
        return {k: np.concatenate(v) for k, v in out.items()}

    def arch_metrics(self, op_idx: np.ndarray) -> dict[str, np.ndarray]:
        """Ground-truth metrics of one architecture (op indices [L]) on every accelerator: [A] each."""
        return {k: np.ascontiguousarray(v[0]) for k, v in self.network(np.asarray(op_idx)[None, :]).items()}

    def expected(self, probs: np.ndarray) -> dict[str, np.ndarray]:
        """Exact expected metrics under op probabilities [B, L, n_ops] (rows sum to 1): [B, A] each.

        Latency and energy are linear in the probabilities (one matrix product); area does not depend
        on the network.
        """
        probs = np.asarray(probs, dtype=np.float64)
        if probs.ndim == 2:
            probs = probs[None]
        n = probs.shape[0]
        L, n_ops, A, C = self.per_op.shape
        flat = self.per_op.reshape(L * n_ops, A * C)
        step = max(1, MAX_BATCH_CELLS // A) if A > MAX_GRID else max(n, 1)  # large tables: a few rows a step
        probs = probs.astype(flat.dtype, copy=False)  # float32 table: the product in float32 (no copy)
        add = np.concatenate([self.fixed[None] + (probs[i: i + step].reshape(-1, L * n_ops) @ flat
                                                  ).reshape(-1, A, C).astype(np.float64)
                              for i in range(0, n, step)]) if n else np.zeros((0, A, C))
        return {k: np.ascontiguousarray(v) for k, v in self._to_metrics(add).items()}

    def best(self, probs: np.ndarray, objectives: Sequence[Objective]) -> tuple[np.ndarray, np.ndarray]:
        """Per distribution (op probabilities [n, L, n_ops]) and objective, the grid index minimising the
        objective of the exact expected metrics, and that minimum: int64 [n, k], float64 [n, k] for k
        objectives (exhaustive over the grid, in blocks of designs: never [n, A] whole)."""
        probs = np.asarray(probs, dtype=np.float64)
        n = probs.shape[0]
        L, n_ops, A, C = self.per_op.shape
        p = probs.reshape(n, L * n_ops).astype(self.per_op.dtype, copy=False)
        index = np.zeros((n, len(objectives)), dtype=np.int64)
        value = np.full((n, len(objectives)), np.inf)
        rows, area = np.arange(n), self.area_mm2
        # designs per pass (the table is read once per call): bounds both the [L·n_ops, block] slice of the
        # table and the [n, block] costs
        block = max(1, MAX_BATCH_CELLS // (max(n, L * n_ops) * C))
        for a0 in range(0, A, block):
            a1 = min(A, a0 + block)
            cols = self.per_op[:, :, a0:a1].reshape(L * n_ops, (a1 - a0) * C)
            add = self.fixed[a0:a1][None] + (p @ cols).reshape(n, a1 - a0, C)  # a compact table: float32
            m = self._to_metrics(add, area[a0:a1])
            for j, obj in enumerate(objectives):
                J = obj.of(m)
                arg = J.argmin(-1)
                v = J[rows, arg]
                better = v < value[:, j]  # strictly: ties keep the earlier design, as one argmin would
                index[better, j] = a0 + arg[better]
                value[better, j] = v[better]
        return index, value

    def expected_at(self, probs: np.ndarray, designs: np.ndarray) -> dict[str, np.ndarray]:
        """Exact expected metrics of distribution ``i`` (op probabilities [n, L, n_ops]) on the designs
        ``designs[i]`` (grid indices [n, k]): [n, k] each (ms, mJ, mm²); only those columns are read."""
        probs = np.asarray(probs, dtype=np.float64)
        designs = np.asarray(designs, dtype=np.int64)
        n, k = designs.shape
        L, n_ops, A, C = self.per_op.shape
        p = probs.reshape(n, L * n_ops)
        out = np.empty((n, k, C))
        step = max(1, MAX_BATCH_CELLS // max(1, L * n_ops * k))
        for i in range(0, n, step):
            d = designs[i: i + step]
            cols = self.per_op.reshape(L * n_ops, A, C)[:, d]  # [L·n_ops, b, k, C]
            out[i: i + step] = self.fixed[d] + np.einsum("bl,lbkc->bkc", p[i: i + step], cols,
                                                         dtype=np.float64)
        return self._to_metrics(out, self.area_mm2[designs])

    def min_per_accel(self, metric: str, argmin: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """Minimum over all networks of ``metric`` on each accelerator [A] (canonical unit), and the
        argmin op per position [A, L] (None when not ``argmin``: an [A, L] array a 10⁷-design table need
        not hold). Exact: costs are additive per position, so the minimum is
        ``fixed + Σ_pos min_op cost[pos, op]``; area depends on the accelerator only."""
        if metric not in METRICS:
            raise HDXError(f"unknown metric '{metric}': use one of {', '.join(METRICS)}")
        if metric == "area":
            return self.area_mm2, (np.zeros((self.num_accels, self.num_positions), dtype=np.int64)
                                   if argmin else None)
        L, _, A, C = self.per_op.shape
        total, arg = np.empty(A), (np.empty((A, L), dtype=np.int64) if argmin else None)
        step = max(1, MAX_BATCH_CELLS // max(1, self.per_op[:, :, :1].size))  # designs per block
        for a0 in range(0, A, step):  # in blocks of designs: a table on disk is never read whole
            per = np.asarray(self.per_op[:, :, a0: a0 + step], dtype=np.float64)
            col = per[..., 0] if metric == "latency" else per[..., 1:].sum(-1)  # [L, O, a]
            fx = np.asarray(self.fixed[a0: a0 + step], dtype=np.float64)
            fixed = fx[:, 0] if metric == "latency" else fx[:, 1:].sum(-1)  # [a]
            col = np.where(self.allowed_mask[:, :, None], col, np.inf)
            total[a0: a0 + step] = fixed + col.min(1).sum(0)
            if arg is not None:
                arg[a0: a0 + step] = col.argmin(1).T
        conv = cycles_to_ms(total, self.clock_mhz) if metric == "latency" else pj_to_mj(total)
        return conv, arg

    def uniform_probs(self) -> np.ndarray:
        """The uniform distribution over the allowed ops of every position [L, n_ops]."""
        mask = self.allowed_mask.astype(np.float64)
        return mask / mask.sum(-1, keepdims=True)

    def reference(self) -> dict[str, float]:
        """Reference value of each metric (ms, mJ, mm²): the median over the grid of the exact expected
        cost of the uniform architecture distribution. The one normalisation of ``weighted``."""
        exp = self.expected(self.uniform_probs()[None])
        return {m: float(np.median(exp[m][0])) for m in METRICS}

    def objective(self, name: str = "edap", weights: dict[str, float] | None = None) -> Objective:
        """The :class:`~hdx.metrics.Objective` ``name`` with this table's reference values (``weighted``
        without weights: every metric weighs 1)."""
        if name != "weighted":
            return Objective(name)
        return Objective(name, weights or {m: 1.0 for m in METRICS}).with_reference(self.reference())

    def torch_view(self, dtype=None) -> CostTableTorch:
        """The table as a torch module (buffers follow ``.to(device)``) for differentiable lookups
        (:mod:`hdx.cost.table_torch`; torch is imported here, never by this module)."""
        from hdx.cost.table_torch import CostTableTorch

        if self.on_disk:
            raise HDXError(f"the exact oracle differentiates through the whole cost table, and this one "
                           f"({self.num_accels} designs) is kept on disk, over the memory budget: build "
                           f"it in memory (CostTable.build(..., on_disk=False); hdx search: raise "
                           f"table_memory_mb) or use a learned evaluator")
        return CostTableTorch(self, dtype)
