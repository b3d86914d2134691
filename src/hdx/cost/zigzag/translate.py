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

from hdx.cost.analytical.spatial import GROUPS_PER_AXIS, balanced_tile
from hdx.cost.tech import TechTable
from hdx.space.accelerator import Accelerator, HardwareParams
from hdx.workload import Layer

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


def _tile(size: int, pes: int) -> int:
    """PEs given to a loop of bound ``size`` on ``pes`` PEs, balanced so the passes are even (the
    analytical model's rule, :func:`~hdx.cost.analytical.spatial.balanced_tile`)."""
    return int(balanced_tile(float(size), float(pes)))


def _split(n: int, a_max: int, b_max: int) -> tuple[int, int]:
    """Unroll factors (a, b), a ≤ ``a_max``, b ≤ ``b_max``, of one loop of bound ``n`` spread over two
    array axes: fewest passes ``ceil(n / (a·b))``, then fewest PEs; a·b ≤ n (ZigZag cannot unroll a
    loop beyond its bound)."""
    best = (math.inf, math.inf, 1, 1)
    for a in range(max(min(a_max, n), 1), 0, -1):
        b = max(min(b_max, n // a), 1)
        passes = math.ceil(n / (a * b))
        b = max(math.ceil(n / passes / a), 1) if passes > 1 else b  # balance the last pass
        b = min(b, b_max, max(n // a, 1))
        key = (math.ceil(n / (a * b)), a * b, a, b)
        if key[:2] < best[:2]:
            best = key
    return best[2], best[3]


def _tiles(n: int, pes: int) -> list[int]:
    """Candidate PE counts for a loop of bound ``n`` on an axis of ``pes`` PEs cut into m ∈ {1..4} groups
    (the rest of the axis replicates another loop), in order of m."""
    out: list[int] = []
    for m in GROUPS_PER_AXIS:
        t = _tile(n, max(pes // m, 1))
        if t not in out:
            out.append(t)
    return out


def spatial_unrolling(layer: Layer, acc: Accelerator) -> dict[str, dict[str, int]]:
    """Dataflow as a spatial unrolling on ``D1`` = ``pe_x`` (columns) and ``D2`` = ``pe_y`` (rows).

    WS = K × C, OS = OX × OY, RS = OY × FY, each axis replicating a second loop (output channels, or
    input channels for RS rows) on the PEs its first loop leaves idle, as in the template of
    :mod:`hdx.cost.analytical`: an axis's first loop may take 1/m of it (m ∈ 1..4) to leave room for
    the replication, and the choice with fewest passes over the array wins. A depthwise layer has
    K = C = 1 per group: its group dimension G takes the place of K (and of C). Factors of 1 are dropped.
    """
    dw = layer.kind == "depthwise"
    kd, kn = ("G", layer.groups) if dw else ("K", layer.k // layer.groups)
    cn = layer.c // layer.groups
    X, Y = acc.pe_x, acc.pe_y
    best: tuple[int, dict[str, int], dict[str, int]] | None = None

    def consider(passes: int, cols: dict[str, int], rows: dict[str, int]) -> None:
        nonlocal best
        if best is None or passes < best[0]:
            best = (passes, cols, rows)

    if acc.dataflow == "ws":
        for cy in [1] if dw else _tiles(cn, Y):
            a, b = _split(kn, Y // cy, X)
            consider(math.ceil(cn / cy) * math.ceil(kn / (a * b)), {kd: b}, {"C": cy, kd: a})
    elif acc.dataflow == "os":
        for qx in _tiles(layer.q, X):
            for py in _tiles(layer.p, Y):
                a, b = _split(kn, X // qx, Y // py)
                passes = math.ceil(layer.q / qx) * math.ceil(layer.p / py) * math.ceil(kn / (a * b))
                consider(passes, {"OX": qx, kd: a}, {"OY": py, kd: b})
    else:
        for ry in _tiles(layer.r, Y):
            for px in _tiles(layer.p, X):
                base = math.ceil(layer.r / ry) * math.ceil(layer.p / px)
                if dw:
                    a, b = _split(kn, Y // ry, X // px)
                    consider(base * math.ceil(kn / (a * b)), {"OY": px, kd: b}, {"FY": ry, kd: a})
                else:
                    c, k = _tile(cn, Y // ry), _tile(kn, X // px)
                    passes = base * math.ceil(cn / c) * math.ceil(kn / k)
                    consider(passes, {"OY": px, kd: k}, {"FY": ry, "C": c})
    assert best is not None
    _, cols, rows = best

    def drop(d: dict[str, int]) -> dict[str, int]:
        return {k: v for k, v in d.items() if v > 1} or {next(iter(d)): 1}

    return {"D1": drop(cols), "D2": drop(rows)}


def temporal_sizes(layer: Layer, acc: Accelerator,
                   unroll: dict[str, dict[str, int]] | None = None) -> dict[str, int]:
    """ZigZag's temporal loop bounds of ``layer`` on ``acc`` (> 1 only): each loop's bound divided,
    rounded up, by its spatial unrolling (``unroll``, default :func:`spatial_unrolling`), as ZigZag's
    LOMA engine computes them."""
    sizes = {"B": layer.n, "G": layer.groups, "K": layer.k // layer.groups, "C": layer.c // layer.groups,
             "OY": layer.p, "OX": layer.q, "FY": layer.r, "FX": layer.s}
    for per_dim in (unroll if unroll is not None else spatial_unrolling(layer, acc)).values():
        for d, f in per_dim.items():
            sizes[d] = math.ceil(sizes[d] / f)
    return {d: v for d, v in sizes.items() if v > 1}


def mapping_data(layer: Layer, acc: Accelerator, pin: PinMode,
                 ordering: list[list] | None = None) -> list[dict[str, Any]]:
    """ZigZag mapping input: the dataflow's spatial unrolling and, as the temporal ordering, either the
    pinned kernel loops (``pin``) or a complete ``ordering`` (then ZigZag evaluates that one mapping)."""
    unroll = spatial_unrolling(layer, acc)
    ordering = [list(x) for x in ordering] if ordering is not None else []
    if pin == "fxfy" and not ordering:  # innermost first; a pinned loop must be temporal or LOMA fails
        temporal = temporal_sizes(layer, acc, unroll)
        ordering = [[d, "*"] for d in ("FX", "FY") if d in temporal]
    return [dict(name="default",
                 spatial_mapping={d: [f"{ld}, {f}" for ld, f in per.items()] for d, per in unroll.items()},
                 memory_operand_links=dict(O="O", W="I2", I="I1"),
                 temporal_ordering=ordering)]


__all__ = ["PinMode", "RF_OPERANDS", "ZigZagTech", "accelerator_data", "mapping_data", "spatial_unrolling",
           "tech_for", "temporal_sizes", "workload_data"]
