"""The DRAM schedules of recent layer sets, kept between calls (docs/cost-model.md, "GLB ↔ DRAM").

:func:`~.memory.held_grid` costs every schedule of a set of layers on each GLB size, whatever the designs
asked about. A search that evaluates one network's layers on many small batches of designs (the branch
and bound of :mod:`hdx.cost.hwsearch`, a sizing table) would rebuild the same grid, and, under
``glb_reuse="tile"``, the same fronts (:mod:`.reuse`), for every batch. :class:`HeldCache` keeps the
grids of the last few layer sets, each on the union of the GLB sizes asked for so far: each GLB size's
column of a grid is computed on its own, so a grid on more sizes gives every size bit for bit what a grid
on that size alone gives. Only the buffering whose grid is columnwise is kept (``stalls`` None:
``double``, ``single``, ``overlap``); the grids of ``zigzag`` and ``mixed`` are built per call. The
branch and bound's DRAM-word bounds (``AnalyticalModel.dram_words``, :func:`~.memory.held_bound`) ask
for no stalls, so they read the kept grids under every buffering.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np

from .dims import LayerDims
from .memory import HeldGrid, held_grid

#: layer sets kept (the least recently used is dropped; layers beyond KEEP evaluation chunks,
#: :func:`.rows.chunks`, do not gain; a kept set with its fronts takes up to about 100 MB)
KEEP = 4
#: the most GLB sizes one kept grid may span (beyond: a grid for the call's sizes alone, not kept)
MAX_SIZES = 64


def _key(ly: LayerDims, dtype, fields: bool, double: bool, halo: str) -> tuple:
    """What a grid depends on besides its GLB sizes: the layers' loop bounds (a digest), the precision
    and the options (``fields``: the DRAM orders kept for the mapping report)."""
    h = hashlib.blake2b(digest_size=16)
    for f in ("n", "k", "c", "g", "h", "w", "r", "s", "p", "q", "st", "pad"):
        h.update(np.ascontiguousarray(getattr(ly, f)).tobytes())
    return (h.hexdigest(), np.dtype(dtype).str, fields, double, halo)


class HeldCache:
    """The held grids of the last :data:`KEEP` layer sets (:func:`~.memory.held_grid`'s ``stalls=None``),
    one cache per thread (a grid's fronts grow on use, so threads never share one)."""

    def __init__(self) -> None:
        self._local = threading.local()

    @property
    def _items(self) -> OrderedDict[tuple, tuple[np.ndarray, HeldGrid]]:
        """This thread's grids, least recently used first."""
        items = getattr(self._local, "items", None)
        if items is None:
            items = self._local.items = OrderedDict()
        return items

    def grid(self, ly: LayerDims, g_vals: np.ndarray, dtype, *, fields: bool, double: bool,
             halo: str) -> tuple[HeldGrid, np.ndarray]:
        """The grid of layers ``ly`` on (at least) the GLB sizes ``g_vals`` (words, sorted, distinct) and
        each size's index among the grid's sizes."""
        key = _key(ly, dtype, fields, double, halo)
        items = self._items
        kept = items.get(key)
        vals = g_vals
        if kept is not None:
            have, grid = kept
            if np.isin(g_vals, have).all():
                items.move_to_end(key)
                return grid, np.searchsorted(have, g_vals)
            vals = np.union1d(have, g_vals)
        if vals.size > MAX_SIZES:
            vals = g_vals
        grid = held_grid(ly, vals.astype(dtype)[None, :], fields=fields, double=double, halo=halo)
        if vals.size <= MAX_SIZES:
            items[key] = (vals, grid)
            items.move_to_end(key)
            while len(items) > KEEP:
                items.popitem(last=False)
        return grid, np.searchsorted(vals, g_vals)
