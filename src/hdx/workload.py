"""Workload description shared by the network space, the cost models and the evaluator.

A :class:`Layer` is one convolution-like operator with the loop bounds a hardware cost model needs:

* ``n`` batch, ``c`` input channels, ``k`` output channels, ``h``×``w`` input feature map,
  ``r``×``s`` kernel (rows × columns), ``stride``, ``padding``, ``groups``.
* ``kind``: ``conv`` (dense k×k), ``depthwise`` (groups = c = k, no reduction over channels),
  ``pointwise`` (1×1 dense), ``fc`` (fully connected: h = w = r = s = 1).

Output size: ``p = (h + 2·padding − r) // stride + 1`` and likewise ``q`` from ``w`` and ``s``.
MACs = ``n · k · p · q · (c / groups) · r · s``.

:class:`LayerTable` is the struct-of-arrays form (one numpy int64 array per field) that the
vectorised cost models consume.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

from hdx.errors import HDXError

LayerKind = Literal["conv", "depthwise", "pointwise", "fc"]
LAYER_KINDS: tuple[str, ...] = ("conv", "depthwise", "pointwise", "fc")
KIND_CODE = {k: i for i, k in enumerate(LAYER_KINDS)}

#: integer shape fields of a layer (with ``kind``, they decide its cost on any accelerator)
LAYER_FIELDS = ("n", "c", "k", "h", "w", "r", "s", "stride", "padding", "groups")
#: largest value of any loop bound, and of a layer's MAC count: keeps every product the cost models
#: form (MACs x accesses x bytes) far inside int64 / exact float64
MAX_DIM = 1 << 20
MAX_MACS = 10**13


@dataclass(frozen=True)
class Layer:
    """One operator. Sizes are element counts; see the module docstring for the loop names."""

    kind: LayerKind
    c: int
    k: int
    h: int = 1
    w: int = 1
    r: int = 1
    s: int = 1
    stride: int = 1
    padding: int = 0
    groups: int = 1
    n: int = 1
    name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        label = f"layer '{self.name}'" if self.name else "layer"
        if self.kind not in LAYER_KINDS:
            raise HDXError(f"{label}: unknown kind '{self.kind}' (use one of {', '.join(LAYER_KINDS)})")
        for f in LAYER_FIELDS:
            v = getattr(self, f)
            if not isinstance(v, int | np.integer) or isinstance(v, bool):
                raise HDXError(f"{label}: field '{f}' must be an integer, got {v!r}")
            minimum = 0 if f == "padding" else 1
            if not minimum <= v <= MAX_DIM:
                raise HDXError(f"{label}: field '{f}' must be in {minimum}..{MAX_DIM}, got {v}")
        if self.kind == "depthwise" and not (self.groups == self.c == self.k):
            raise HDXError(f"{label}: a depthwise layer needs groups = c = k "
                           f"(got groups={self.groups}, c={self.c}, k={self.k})")
        if self.kind in ("pointwise", "fc") and (self.r, self.s) != (1, 1):
            raise HDXError(f"{label}: a {self.kind} layer has a 1x1 kernel (got r={self.r}, s={self.s})")
        if self.kind == "fc" and (self.h, self.w) != (1, 1):
            raise HDXError(f"{label}: an fc layer has h = w = 1 (got {self.h}x{self.w}); "
                           f"flatten or pool first")
        if self.kind in ("conv", "pointwise", "fc") and (self.c % self.groups or self.k % self.groups):
            raise HDXError(f"{label}: groups={self.groups} must divide c={self.c} and k={self.k}")
        if self.h + 2 * self.padding < self.r or self.w + 2 * self.padding < self.s:
            raise HDXError(f"{label}: kernel {self.r}x{self.s} is larger than the padded input "
                           f"{self.h + 2 * self.padding}x{self.w + 2 * self.padding}")
        if self.macs > MAX_MACS:
            raise HDXError(f"{label}: {self.macs:.3g} MACs, more than {MAX_MACS:.0e} per layer; "
                           f"use fewer channels or a lower resolution")

    @property
    def p(self) -> int:
        """Output rows."""
        return (self.h + 2 * self.padding - self.r) // self.stride + 1

    @property
    def q(self) -> int:
        """Output columns."""
        return (self.w + 2 * self.padding - self.s) // self.stride + 1

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the layer."""
        return self.n * self.k * self.p * self.q * (self.c // self.groups) * self.r * self.s

    @property
    def weights(self) -> int:
        """Weight elements."""
        return self.k * (self.c // self.groups) * self.r * self.s

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(p=self.p, q=self.q, macs=self.macs)
        return d


class LayerTable:
    """Struct-of-arrays view of a list of layers (numpy int64 columns, length ``len(self)``).

    Columns: ``kind`` (code into :data:`LAYER_KINDS`), ``n c k h w r s stride padding groups``,
    and derived ``p q macs``.
    """

    __slots__ = ("kind", *LAYER_FIELDS, "p", "q", "macs", "names")

    def __init__(self, layers: list[Layer] | tuple[Layer, ...]):
        if len(layers) == 0:
            raise HDXError("empty workload: at least one layer is needed")
        self.names = [ly.name for ly in layers]
        self.kind = np.array([KIND_CODE[ly.kind] for ly in layers], dtype=np.int64)
        for f in LAYER_FIELDS:
            setattr(self, f, np.array([getattr(ly, f) for ly in layers], dtype=np.int64))
        self.p = (self.h + 2 * self.padding - self.r) // self.stride + 1
        self.q = (self.w + 2 * self.padding - self.s) // self.stride + 1
        self.macs = self.n * self.k * self.p * self.q * (self.c // self.groups) * self.r * self.s

    def __len__(self) -> int:
        return int(self.kind.shape[0])

    def __getitem__(self, idx: slice | np.ndarray) -> LayerTable:
        """The layers ``idx`` (a slice or an integer index array) as a new table."""
        if isinstance(idx, np.ndarray) and idx.ndim == 1 and idx.dtype.kind in "iu":
            names = [self.names[i] for i in idx.tolist()]
        elif isinstance(idx, slice):
            names = self.names[idx]
        else:
            raise TypeError("LayerTable supports slices and integer index arrays only")
        out = object.__new__(LayerTable)
        for f in ("kind", *LAYER_FIELDS, "p", "q", "macs"):
            setattr(out, f, getattr(self, f)[idx])
        out.names = names
        if len(out) == 0:
            raise HDXError("empty workload: at least one layer is needed")
        return out

    def distinct(self) -> tuple[np.ndarray, np.ndarray]:
        """Layers of the same shape (kind and :data:`LAYER_FIELDS`) cost the same: the index of the first
        layer of each distinct shape [U] and, per layer, the row of its shape among them [len(self)]."""
        shapes = np.stack([self.kind, *(getattr(self, f) for f in LAYER_FIELDS)], axis=1)
        _, first, inverse = np.unique(shapes, axis=0, return_index=True, return_inverse=True)
        return first, inverse.ravel()

    def to_layers(self) -> list[Layer]:
        """The table's rows as :class:`Layer` objects (names kept)."""
        return [Layer(kind=LAYER_KINDS[int(self.kind[i])], c=int(self.c[i]), k=int(self.k[i]),  # type: ignore[arg-type]
                      h=int(self.h[i]), w=int(self.w[i]), r=int(self.r[i]), s=int(self.s[i]),
                      stride=int(self.stride[i]), padding=int(self.padding[i]), groups=int(self.groups[i]),
                      n=int(self.n[i]), name=self.names[i]) for i in range(len(self))]

    @property
    def is_depthwise(self) -> np.ndarray:
        return self.kind == KIND_CODE["depthwise"]
