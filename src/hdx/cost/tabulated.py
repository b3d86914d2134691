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
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from hdx.cost.base import AREA_PARTS, ENERGY_PARTS, LayerCosts
from hdx.errors import HDXError
from hdx.space.accelerator import AccelTable, HardwareParams
from hdx.workload import Layer, LayerTable

FORMAT = "hdx-cost-table-1"
#: the largest table read (bytes, as declared by its arrays): 1000 layers x 5000 accelerators fit
MAX_TABLE_BYTES = 512 << 20
#: the largest JSON header (bytes): 20,000 layers and 100,000 accelerator names fit
MAX_HEADER_BYTES = 8 << 20
MAX_TABLE_LAYERS = 20_000
MAX_TABLE_ACCELS = 200_000
PAIR_ARRAYS = ("latency_cycles", "compute_cycles", "memory_cycles", "utilisation",
               *(f"energy_{p}_pj" for p in ENERGY_PARTS))
ACCEL_ARRAYS = tuple(f"area_{p}_um2" for p in AREA_PARTS)


class TableLayer(BaseModel):
    """One layer of the header: :class:`~hdx.workload.Layer`'s fields (integers, no strings or floats in
    their place), its name, and the derived ``p q macs`` written beside them."""

    model_config = ConfigDict(extra="forbid", strict=True)

    kind: str = Field(max_length=32)
    c: StrictInt
    k: StrictInt
    h: StrictInt
    w: StrictInt
    r: StrictInt
    s: StrictInt
    stride: StrictInt
    padding: StrictInt
    groups: StrictInt
    n: StrictInt
    name: str = Field("", max_length=400)
    p: StrictInt | None = None
    q: StrictInt | None = None
    macs: StrictInt | None = None


class TableHeader(BaseModel):
    """Schema of a cost table's JSON header, validated before any field is used or any array read."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    format: str = Field(max_length=64)
    backend: str = Field(max_length=64)
    fingerprint: str = Field(max_length=128)
    model: str = Field(max_length=200)
    hardware: HardwareParams
    space: str = Field(max_length=200)
    grid: str = Field(max_length=200)
    archs: list[str] = Field(max_length=10_000)
    clock_mhz: float = Field(gt=0)
    layers: list[TableLayer] = Field(min_length=1, max_length=MAX_TABLE_LAYERS)
    accels: list[str] = Field(min_length=1, max_length=MAX_TABLE_ACCELS)


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
    """The header of a table file, parsed (strict JSON) and validated against :class:`TableHeader`
    and the layers' own rules; any defect is one line naming the field."""
    from hdx.safeio import loads_json

    fix = "regenerate it with hdx cost tabulate"
    try:
        text = np.asarray(arr, dtype=np.uint8).tobytes().decode()
    except (ValueError, UnicodeDecodeError):
        raise HDXError(f"cost table {path} has an unreadable header; {fix}") from None
    meta = loads_json(text, what=f"the header of cost table {path}")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise HDXError(f"{path} is not an HDX cost table ({FORMAT}); {fix}")
    try:
        header = TableHeader.model_validate(meta)
    except ValidationError as e:
        from hdx.config import format_validation_error

        raise HDXError(f"{format_validation_error(e, f'header of cost table {path}')}; {fix}") from None
    for i, d in enumerate(header.layers):
        try:
            ly = layer_from_dict(d.model_dump())
        except HDXError as e:
            raise HDXError(f"header of cost table {path}: layers.{i}: {e}; {fix}") from None
        derived = {"p": ly.p, "q": ly.q, "macs": ly.macs}
        bad = [k for k, v in derived.items() if getattr(d, k) not in (None, v)]
        if bad:
            raise HDXError(f"header of cost table {path}: layers.{i}: {', '.join(bad)} do not follow from "
                           f"its geometry; {fix}")
    if len(set(header.accels)) != len(header.accels):
        raise HDXError(f"header of cost table {path}: an accelerator is listed twice; {fix}")
    if header.clock_mhz != header.hardware.clock_mhz:
        raise HDXError(f"header of cost table {path}: clock_mhz {header.clock_mhz:g} differs from "
                       f"hardware.clock_mhz {header.hardware.clock_mhz:g}; {fix}")
    return header.model_dump(mode="json")


def is_table_file(backend: str) -> bool:
    """Whether ``backend`` names a cost-table file rather than a backend."""
    return str(backend).endswith(".npz")


class TabulatedModel:
    """Costs looked up in a table file (see the module docstring). Units as every cost model:
    cycles, pJ, µm².

    Reading is bounded and checked in order: the members' headers (:func:`hdx.safeio.npz_members`:
    sizes, no pickles), then the JSON header alone (at most :data:`MAX_HEADER_BYTES`, validated by
    :class:`TableHeader`), then each cost array's declared shape and type against the header, and only
    then the arrays themselves (float64, finite)."""

    def __init__(self, path: str | Path, hardware: HardwareParams | None = None):
        from hdx.safeio import load_npz, npz_members

        self.path = Path(path)
        fix = "regenerate it with hdx cost tabulate"
        if not self.path.is_file():
            raise HDXError(f"cost table {self.path} not found: make it with `hdx cost tabulate --out "
                           f"{self.path}` or use cost backend analytical|zigzag")
        members = npz_members(self.path, max_bytes=MAX_TABLE_BYTES, what="cost table")
        m_shape, m_dtype = members.get("meta", ((), None))
        if m_dtype is None:
            raise HDXError(f"{self.path} is not an HDX cost table (no header); {fix}")
        if m_dtype != np.uint8 or len(m_shape) != 1 or m_shape[0] > MAX_HEADER_BYTES:
            raise HDXError(f"cost table {self.path}: its header is {m_shape} {m_dtype}, not a text of at "
                           f"most {MAX_HEADER_BYTES >> 20} MiB; {fix}")
        self.meta = meta = decode_meta(load_npz(self.path, max_bytes=MAX_TABLE_BYTES, what="cost table",
                                                only=("meta",))["meta"], self.path)
        hw = (hardware or HardwareParams()).model_dump(mode="json")
        if meta["hardware"] != hw:
            diff = sorted(k for k in hw if meta["hardware"].get(k) != hw[k])
            raise HDXError(f"cost table {self.path} was made for other hardware parameters "
                           f"({', '.join(diff)}); "
                           f"tabulate this accelerator space")
        n_l, n_a = len(meta["layers"]), len(meta["accels"])
        want = {**{k: (n_l, n_a) for k in PAIR_ARRAYS}, **{k: (n_a,) for k in ACCEL_ARRAYS}}
        for k, shape in want.items():
            if k not in members:
                raise HDXError(f"cost table {self.path} lacks array '{k}'; {fix}")
            have, dtype = members[k]
            if have != shape or dtype != np.float64:
                raise HDXError(f"cost table {self.path}: array '{k}' is {list(have)} {dtype}, its header "
                               f"({n_l} layers, {n_a} accelerators) needs {list(shape)} float64; {fix}")
        z = load_npz(self.path, max_bytes=MAX_TABLE_BYTES, what="cost table", only=tuple(want))
        self._pair = {k: z[k] for k in PAIR_ARRAYS}
        self._acc = {k: z[k] for k in ACCEL_ARRAYS}
        if not all(np.isfinite(v).all() for v in (*self._pair.values(), *self._acc.values())):
            raise HDXError(f"cost table {self.path} holds non-finite costs; {fix}")
        self._rows = {layer_key(layer_from_dict(d)): i for i, d in enumerate(meta["layers"])}
        self._cols = {a: j for j, a in enumerate(meta["accels"])}
        self.hardware = hardware or HardwareParams()
        self.name = f"table:{meta['backend']}"

    def fingerprint(self) -> str:
        """The fingerprint of the backend that filled the table."""
        return str(self.meta["fingerprint"])

    def evaluate(self, layers: LayerTable, accels: AccelTable, *, mapping: bool = True) -> LayerCosts:
        """The tabulated costs of every layer on every accelerator (a table holds no mapping)."""
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
