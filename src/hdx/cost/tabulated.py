"""A cost table on disk (made by ``hdx cost tabulate``) used as a cost model: ``cost_backend: FILE``.

The file (``.npz``, no pickles) holds the costs of a set of distinct layers on a set of accelerators,
computed once by a slow ground-truth backend (ZigZag), plus a JSON header: the source backend, its
fingerprint, the fixed hardware parameters, the layers and the accelerators. :class:`TabulatedModel`
answers :meth:`evaluate` by lookup, so ``hdx search``, ``hdx evaluator build`` and ``hdx cost`` run on
ZigZag's numbers at the analytical model's speed. Its :meth:`fingerprint` is the source backend's, so
an evaluator built on the table fits a search on the backend, and vice versa.

A layer or accelerator missing from the table is a one-line error naming it (tabulate the space).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hdx.cost.base import AREA_PARTS, ENERGY_PARTS, LayerCosts
from hdx.errors import HDXError
from hdx.space.accelerator import AccelTable, HardwareParams
from hdx.workload import Layer, LayerTable

FORMAT = "hdx-cost-table-1"
MAX_TABLE_BYTES = 4 << 30
PAIR_ARRAYS = ("latency_cycles", "compute_cycles", "memory_cycles", "utilisation",
               *(f"energy_{p}_pj" for p in ENERGY_PARTS))
ACCEL_ARRAYS = tuple(f"area_{p}_um2" for p in AREA_PARTS)


def layer_key(ly: Layer) -> tuple:
    """Geometry of a layer (its name is not part of it)."""
    return (ly.kind, ly.c, ly.k, ly.h, ly.w, ly.r, ly.s, ly.stride, ly.padding, ly.groups, ly.n)


def layer_from_dict(d: dict) -> Layer:
    return Layer(kind=d["kind"], c=int(d["c"]), k=int(d["k"]), h=int(d["h"]), w=int(d["w"]), r=int(d["r"]),
                 s=int(d["s"]), stride=int(d["stride"]), padding=int(d["padding"]), groups=int(d["groups"]),
                 n=int(d["n"]), name=str(d.get("name", "")))


def encode_meta(meta: dict) -> np.ndarray:
    return np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)


def decode_meta(arr: np.ndarray, path: Path) -> dict:
    try:
        meta = json.loads(np.asarray(arr, dtype=np.uint8).tobytes().decode())
    except (ValueError, UnicodeDecodeError):
        raise HDXError(f"cost table {path} has an unreadable header; regenerate it with hdx cost "
                       f"tabulate") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise HDXError(f"{path} is not an HDX cost table (hdx cost tabulate); regenerate it")
    return meta


def is_table_file(backend: str) -> bool:
    """Whether ``backend`` names a cost-table file rather than a backend."""
    return str(backend).endswith(".npz")


class TabulatedModel:
    """Costs looked up in a table file (see the module docstring). Units as every cost model:
    cycles, pJ, µm²."""

    def __init__(self, path: str | Path, hardware: HardwareParams | None = None):
        from hdx.safeio import load_npz

        self.path = Path(path)
        if not self.path.is_file():
            raise HDXError(f"cost table {self.path} not found: make it with `hdx cost tabulate --out "
                           f"{self.path}` or use cost backend analytical|zigzag")
        z = load_npz(self.path, max_bytes=MAX_TABLE_BYTES, what="cost table")
        if "meta" not in z:
            raise HDXError(f"{self.path} is not an HDX cost table (hdx cost tabulate); regenerate it")
        self.meta = meta = decode_meta(z["meta"], self.path)
        hw = (hardware or HardwareParams()).model_dump(mode="json")
        if meta["hardware"] != hw:
            diff = sorted(k for k in hw if meta["hardware"].get(k) != hw[k])
            raise HDXError(f"cost table {self.path} was made for other hardware parameters "
                           f"({', '.join(diff)}); "
                           f"tabulate this accelerator space")
        n_l, n_a = len(meta["layers"]), len(meta["accels"])
        try:
            self._pair = {k: np.asarray(z[k], dtype=np.float64) for k in PAIR_ARRAYS}
            self._acc = {k: np.asarray(z[k], dtype=np.float64) for k in ACCEL_ARRAYS}
        except KeyError as e:
            raise HDXError(f"cost table {self.path} lacks array {e}; regenerate it") from None
        if any(v.shape != (n_l, n_a) for v in self._pair.values()) or any(
                v.shape != (n_a,) for v in self._acc.values()):
            raise HDXError(f"cost table {self.path}: array shapes do not match its header; regenerate it")
        if not all(np.isfinite(v).all() for v in (*self._pair.values(), *self._acc.values())):
            raise HDXError(f"cost table {self.path} holds non-finite costs; regenerate it")
        self._rows = {layer_key(layer_from_dict(d)): i for i, d in enumerate(meta["layers"])}
        self._cols = {a: j for j, a in enumerate(meta["accels"])}
        self.hardware = hardware or HardwareParams()
        self.name = f"table:{meta['backend']}"

    def fingerprint(self) -> str:
        """The fingerprint of the backend that filled the table."""
        return str(self.meta["fingerprint"])

    def evaluate(self, layers: LayerTable, accels: AccelTable) -> LayerCosts:
        rows = []
        for ly in layers.to_layers():
            i = self._rows.get(layer_key(ly))
            if i is None:
                raise HDXError(f"layer {ly.name or ly.kind} ({ly.kind} c={ly.c} k={ly.k} {ly.h}x{ly.w} "
                               f"r={ly.r} stride={ly.stride}) is not in cost table {self.path}; tabulate its "
                               f"space (hdx cost tabulate --space ...)")
            rows.append(i)
        cols = []
        for j in range(len(accels)):
            text = accels.accelerator(j).text(with_glb=True)
            c = self._cols.get(text)
            if c is None:
                raise HDXError(f"accelerator {text} is not in cost table {self.path}; tabulate its "
                               f"accelerator "
                               f"space (hdx cost tabulate --accel-space ...)")
            cols.append(c)
        r, c = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        g = {k: v[np.ix_(r, c)] for k, v in self._pair.items()}
        return LayerCosts(latency_cycles=g["latency_cycles"], compute_cycles=g["compute_cycles"],
                          memory_cycles=g["memory_cycles"],
                          energy_pj={p: g[f"energy_{p}_pj"] for p in ENERGY_PARTS},
                          area_um2={p: self._acc[f"area_{p}_um2"][c] for p in AREA_PARTS},
                          utilisation=g["utilisation"], macs=layers.macs.astype(np.int64),
                          clock_mhz=float(self.meta["clock_mhz"]))
