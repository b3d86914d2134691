"""The translation of HDX's Eyeriss-like accelerator, its layers, dataflow and technology into ZigZag's
inputs (the dicts ZigZag's YAML files would hold): :func:`accelerator_data`, :func:`workload_data`,
:func:`spatial_unrolling` / :func:`temporal_sizes` and :func:`mapping_data`, with the per-access
energies and areas of :func:`tech_for`. What each maps to is in the package docstring
(:mod:`hdx.cost.zigzag`). Units: pJ per access, µm², bits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from hdx.cost.analytical.dims import LayerDims
from hdx.cost.analytical.spatial import unroll
from hdx.cost.tech import TechTable
from hdx.space.accelerator import Accelerator, HardwareParams
from hdx.workload import Layer, LayerTable

PinMode = Literal["fxfy", "none"]


@dataclass(frozen=True)
class ZigZagTech:
    """Per-access energies (pJ per ``word_bits`` word) and areas (µm² per instance) for one accelerator,
    taken from the same :class:`~hdx.cost.tech.TechTable` as the analytical model."""

    mac_pj: float
    mac_um2: float
    rf_pj: float
    rf_um2: float
    reg_pj: float
    reg_um2: float
    glb_pj: float
    glb_um2: float
    dram_pj: float
    #: RS scratchpads (weights, inputs, psums): (words, pJ per access, µm²) each
    pads: tuple[tuple[float, float, float], ...] = ()


def tech_for(table: TechTable, hardware: HardwareParams, acc: Accelerator) -> ZigZagTech:
    wb = hardware.word_bits
    nbytes, words = acc.storage(hardware)
    rf = acc.rf_bytes_kept(hardware)
    rf_um2 = float(table.sram_area_um2(rf))
    if acc.pads is not None and acc.dataflow != "rs":  # pads the dataflow does not use still take area
        rf_um2 = sum(float(table.sram_area_um2(b)) for b in nbytes if b > 0)
    return ZigZagTech(
        mac_pj=table.mac_energy_pj(wb), mac_um2=table.mac_area_um2(wb),
        rf_pj=float(table.sram_energy_pj(rf, wb)),
        rf_um2=rf_um2,
        reg_pj=table.register_energy_pj(wb), reg_um2=table.register_area_um2(wb),
        # the GLB at its access width (glb_words_per_cycle words), as the analytical model prices it
        glb_pj=float(table.sram_energy_pj(acc.glb_bytes, wb, width_words=acc.bw(hardware))),
        glb_um2=float(table.sram_area_um2(acc.glb_bytes, width_words=acc.bw(hardware),
                                          word_bits=wb)),
        dram_pj=table.dram_energy_pj(wb),
        pads=tuple((float(w), float(table.sram_energy_pj(w * wb / 8, wb)),
                    float(table.sram_area_um2(w * wb / 8)))
                   for w in words) if acc.dataflow == "rs" else ())


# Per-PE storage per dataflow: which operands (ZigZag names: I1 inputs, I2 weights, O outputs) the
# RF holds; every other operand gets a 1-word register in the PE (as in the analytical model).
RF_OPERANDS: dict[str, tuple[str, ...]] = {"ws": ("I2",), "os": ("O",), "rs": ("I1", "I2", "O")}
_REG_NAME = {"I1": "reg_i", "I2": "reg_w", "O": "reg_o"}
_PAD_NAMES = ("spad_w", "spad_i", "spad_o")  # RS: weights (I2), inputs (I1), psums (O)


def _port(name: str, kind: str, bw_min: int, bw_max: int, alloc: list[str]) -> dict[str, Any]:
    return dict(name=name, type=kind, bandwidth_min=int(bw_min), bandwidth_max=int(bw_max), allocation=alloc)


_ALL_RW = ["I1, fh", "I1, tl", "I2, fh", "I2, tl", "O, fh", "O, tl", "O, fl", "O, th"]


def _pe_memory(size_bits: int, energy: float, area: float, operands: tuple[str, ...],
               wb: int) -> dict[str, Any]:
    """A per-PE memory (not shared across the array) with one read and one write port per operand,
    one word per cycle each (outputs also flow back up: ``th``/``fl``)."""
    ports = []
    for i, op in enumerate(operands, start=1):
        up = op == "O"
        ports.append(_port(f"r_port_{i}", "read", wb, wb, [f"{op}, tl"] + ([f"{op}, th"] if up else [])))
        ports.append(_port(f"w_port_{i}", "write", wb, wb, [f"{op}, fh"] + ([f"{op}, fl"] if up else [])))
    return dict(size=int(size_bits), r_cost=energy, w_cost=energy, area=area, latency=1,
                operands=list(operands), ports=ports, served_dimensions=[])


def accelerator_data(acc: Accelerator, hardware: HardwareParams, tech: ZigZagTech) -> dict[str, Any]:
    """ZigZag accelerator description (the dict its YAML would hold) of one Eyeriss-like accelerator.

    ZigZag's ``r_cost``/``w_cost`` are per access of ``bandwidth_max`` bits (narrower accesses count as a
    fraction), so the per-word energies are multiplied by the words per full-width access.
    """
    wb = hardware.word_bits
    glb_bw = max(int(round(acc.bw(hardware) * wb)), wb)
    dram_bw = max(int(round(hardware.dram_bytes_per_cycle * 8)), wb)
    rf_ops = RF_OPERANDS[acc.dataflow]
    if acc.dataflow == "rs":  # three scratchpads (Accelerator.storage), as the analytical model
        memories: dict[str, Any] = {
            name: _pe_memory(int(words) * wb, pj, um2, (op,), wb)
            for name, op, (words, pj, um2) in zip(_PAD_NAMES, ("I2", "I1", "O"), tech.pads, strict=True)}
    else:
        rf_bits = int(acc.rf_bytes_kept(hardware) * 8)
        memories = {"rf": _pe_memory(rf_bits, tech.rf_pj, tech.rf_um2, rf_ops, wb)}
    for op in ("I1", "I2", "O"):
        if op not in rf_ops:
            memories[_REG_NAME[op]] = _pe_memory(wb, tech.reg_pj, tech.reg_um2, (op,), wb)
    memories["glb"] = dict(
        size=int(acc.glb_bytes * 8), r_cost=tech.glb_pj * glb_bw / wb, w_cost=tech.glb_pj * glb_bw / wb,
        area=tech.glb_um2, latency=1, operands=["I1", "I2", "O"],
        ports=[_port("rw_port_1", "read_write", wb, glb_bw, list(_ALL_RW))], served_dimensions=["D1", "D2"])
    memories["dram"] = dict(
        size=10**12, r_cost=tech.dram_pj * dram_bw / wb, w_cost=tech.dram_pj * dram_bw / wb, area=0.0,
        latency=1, operands=["I1", "I2", "O"],
        ports=[_port("rw_port_1", "read_write", wb, dram_bw, list(_ALL_RW))], served_dimensions=["D1", "D2"])
    return dict(name=f"hdx_{acc.pe_x}x{acc.pe_y}_rf{acc.rf_bytes}_{acc.dataflow}_glb{acc.glb_kib}",
                memories=memories,
                operational_array=dict(unit_energy=tech.mac_pj, unit_area=tech.mac_um2,
                                       dimensions=["D1", "D2"], sizes=[acc.pe_x, acc.pe_y]))


def workload_data(layer: Layer, word_bits: int) -> list[dict[str, Any]]:
    """ZigZag workload (one grouped-convolution layer) of one of our layers; fc is a 1×1 conv on 1×1."""
    g = layer.groups
    return [dict(
        id=0, name=layer.name or layer.kind, operator_type="Conv",
        equation="O[b][g][k][oy][ox]+=W[g][k][c][fy][fx]*I[b][g][c][iy][ix]",
        dimension_relations=[f"ix={layer.stride}*ox+1*fx", f"iy={layer.stride}*oy+1*fy"],
        loop_dims=["B", "G", "K", "C", "OY", "OX", "FY", "FX"],
        loop_sizes=[layer.n, g, layer.k // g, layer.c // g, layer.p, layer.q, layer.r, layer.s],
        operand_precision=dict(W=word_bits, I=word_bits, O=word_bits, O_final=word_bits),
        operand_source=dict(I=0, W=0),
        pr_loop_dims=["IX", "IY"], pr_loop_sizes=[layer.w, layer.h],
        padding=[[layer.padding, layer.padding], [layer.padding, layer.padding]],
    )]


def _grouped_filters(k: int, g: int, fx: int, fy: int) -> tuple[dict[str, int], dict[str, int]]:
    """ZigZag's K (per group, bound ``k``) and G (bound ``g``) factors on each axis for ``fx`` and ``fy``
    of a grouped layer's filters in flight (the model counts every group's filters as one loop): on each
    axis K × G <= its filters, each loop within its bound, with the fewest passes
    ``ceil(k / Kx·Ky) · ceil(g / Gx·Gy)``, then the fewest PEs, then the most filters of one group (whose
    inputs are shared, as the model's multicast assumes), by trying every K factor."""
    best: tuple = (math.inf, math.inf, 0)
    pick = ({"K": 1, "G": 1}, {"K": 1, "G": 1})
    for k1 in range(1, min(fx, k) + 1):
        g1 = min(fx // k1, g)
        for k2 in range(1, min(fy, k // k1) + 1):
            g2 = min(fy // k2, g // g1)
            key = (math.ceil(k / (k1 * k2)) * math.ceil(g / (g1 * g2)), k1 * g1 + k2 * g2, -k1 * k2)
            if key < best:
                best, pick = key, ({"K": k1, "G": g1}, {"K": k2, "G": g2})
    return pick


def spatial_unrolling(layer: Layer, acc: Accelerator) -> dict[str, dict[str, int]]:
    """The analytical model's spatial unrolling (:func:`~hdx.cost.analytical.spatial.unroll`, one policy
    for both) as ZigZag's, on ``D1`` = ``pe_x`` (columns) and ``D2`` = ``pe_y`` (rows).

    WS = K × (C, K), OS = (OX, K) × (OY, K), RS = (OY, K) × (FY, C): each axis's first loop and the
    loop replicated on the PEs it leaves idle. A depthwise layer has K = C = 1 per group: its group
    dimension G takes the place of K (and of C). A grouped layer's filters in flight may span groups
    (the model's K loop is every group's filters): on each axis they become K per group × G, within
    ZigZag's bounds and with the fewest passes (:func:`_grouped_filters`), which can still be more than
    the model's. Factors of 1 are dropped.
    """
    ly = LayerDims.of(LayerTable([layer]), np.float64)
    one = lambda v: np.full((1, 1), float(v))  # noqa: E731
    u = {k: int(v[0, 0]) for k, v in unroll(acc.dataflow, ly, one(acc.pe_x), one(acc.pe_y)).items()}
    dw, g = bool(ly.dw[0, 0]), layer.groups
    if acc.dataflow == "ws":
        cols, rows, fk = {}, {"C": u["cy"]}, (u["kx"], u["fy"])
    elif acc.dataflow == "os":
        cols, rows, fk = {"OX": u["qx"]}, {"OY": u["py"]}, (u["fx"], u["fy"])
    elif dw:
        cols, rows, fk = {"OY": u["px"]}, {"FY": u["ry"]}, (u["fx"], u["fy"])
    else:
        cols, rows, fk = {"OY": u["px"]}, {"FY": u["ry"], "C": u["fy"]}, (u["fx"], 1)
    # the model's filters in flight on each axis (all groups' filters are its one K loop)
    if dw:
        kx, ky = {"G": fk[0]}, {"G": fk[1]}
    elif g == 1:
        kx, ky = {"K": fk[0]}, {"K": fk[1]}
    else:
        kx, ky = _grouped_filters(layer.k // g, g, *fk)
    cols.update(kx)
    rows.update(ky)

    def drop(d: dict[str, int]) -> dict[str, int]:
        return {k: v for k, v in d.items() if v > 1} or {next(iter(d)): 1}

    return {"D1": drop(cols), "D2": drop(rows)}


def temporal_sizes(layer: Layer, acc: Accelerator,
                   spatial: dict[str, dict[str, int]] | None = None) -> dict[str, int]:
    """ZigZag's temporal loop bounds of ``layer`` on ``acc`` (> 1 only): each loop's bound divided,
    rounded up, by its spatial unrolling (``spatial``, default :func:`spatial_unrolling`), as ZigZag's
    LOMA engine computes them."""
    sizes = {"B": layer.n, "G": layer.groups, "K": layer.k // layer.groups, "C": layer.c // layer.groups,
             "OY": layer.p, "OX": layer.q, "FY": layer.r, "FX": layer.s}
    for per_dim in (spatial if spatial is not None else spatial_unrolling(layer, acc)).values():
        for d, f in per_dim.items():
            sizes[d] = math.ceil(sizes[d] / f)
    return {d: v for d, v in sizes.items() if v > 1}


def mapping_data(layer: Layer, acc: Accelerator, pin: PinMode,
                 ordering: list[list] | None = None) -> list[dict[str, Any]]:
    """ZigZag mapping input: the dataflow's spatial unrolling and, as the temporal ordering, either the
    pinned kernel loops (``pin``) or a complete ``ordering`` (then ZigZag evaluates that one mapping)."""
    spatial = spatial_unrolling(layer, acc)
    ordering = [list(x) for x in ordering] if ordering is not None else []
    if pin == "fxfy" and not ordering:  # innermost first; a pinned loop must be temporal or LOMA fails
        temporal = temporal_sizes(layer, acc, spatial)
        ordering = [[d, "*"] for d in ("FX", "FY") if d in temporal]
    return [dict(name="default",
                 spatial_mapping={d: [f"{ld}, {f}" for ld, f in per.items()] for d, per in spatial.items()},
                 memory_operand_links=dict(O="O", W="I2", I="I1"),
                 temporal_ordering=ordering)]


__all__ = ["PinMode", "RF_OPERANDS", "ZigZagTech", "accelerator_data", "mapping_data", "spatial_unrolling",
           "tech_for", "temporal_sizes", "workload_data"]
