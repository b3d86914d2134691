"""Typed views of the arrays the analytical model computes with (docs/cost-model.md, "Loops of a layer").

:class:`LayerDims` holds a layer table's loop bounds as [L, 1] columns and :class:`ArrayDims` one
dataflow's accelerators as [1, A] rows, so every expression broadcasts to [layers × accelerators].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hdx.workload import LayerTable


@dataclass(frozen=True)
class LayerDims:
    """Loop bounds of L layers, each an [L, 1] column (float32 or float64).

    ``n`` batch, ``k`` output channels, ``c`` input channels, ``g`` groups, ``cg = c / g`` reduction
    channels (depthwise: 1), ``h``×``w`` input, ``p``×``q`` output, ``r``×``s`` kernel, ``st`` stride,
    ``pad`` padding; ``dw`` depthwise (bool); ``macs``, ``w_tot``, ``i_tot``, ``o_tot`` words of the
    whole layer (inputs unpadded).
    """

    n: np.ndarray
    k: np.ndarray
    c: np.ndarray
    g: np.ndarray
    h: np.ndarray
    w: np.ndarray
    r: np.ndarray
    s: np.ndarray
    p: np.ndarray
    q: np.ndarray
    st: np.ndarray
    pad: np.ndarray
    cg: np.ndarray
    dw: np.ndarray
    macs: np.ndarray
    w_tot: np.ndarray
    i_tot: np.ndarray
    o_tot: np.ndarray

    @classmethod
    def of(cls, layers: LayerTable, dtype) -> LayerDims:
        col = lambda a: np.asarray(a, dtype=dtype)[:, None]  # noqa: E731
        n, k, c, g = col(layers.n), col(layers.k), col(layers.c), col(layers.groups)
        h, w, r, s = col(layers.h), col(layers.w), col(layers.r), col(layers.s)
        p, q = col(layers.p), col(layers.q)
        cg = c / g
        return cls(n=n, k=k, c=c, g=g, h=h, w=w, r=r, s=s, p=p, q=q, st=col(layers.stride),
                   pad=col(layers.padding), cg=cg, dw=(cg == 1) & (k == g) & (g > 1),
                   macs=n * k * cg * p * q * r * s, w_tot=k * cg * r * s, i_tot=n * c * h * w,
                   o_tot=n * k * p * q)

    def rows(self, idx: np.ndarray) -> LayerDims:
        """The layers ``idx`` only."""
        return LayerDims(**{f: getattr(self, f)[idx] for f in self.__dataclass_fields__})


@dataclass(frozen=True)
class ArrayDims:
    """The accelerators of one dataflow as [1, A] rows: ``x`` columns and ``y`` rows of PEs, the RF in
    bytes (``rfb``) and words (``rfw``; WS and OS: the storage of the operand they keep), the per-word
    access energies of the RF (``e_rf``) and the GLB (``e_glb``) in pJ, the GLB ↔ array bandwidth
    (``bw``, words per cycle) and the per-PE storage per operand in words (``pads``: ``w``, ``i``,
    ``o``; RS's three scratchpads); ``kin`` ([A] ints, or None): designs of equal ``kin`` differ only in
    their PE-local storage (the same array, GLB and bandwidth), so an equal PE-local tile on them is the
    same scheduling problem (:mod:`.distinct`)."""

    x: np.ndarray
    y: np.ndarray
    rfb: np.ndarray
    rfw: np.ndarray
    e_rf: np.ndarray
    e_glb: np.ndarray
    bw: np.ndarray
    pads: dict | None = None
    kin: np.ndarray | None = None
