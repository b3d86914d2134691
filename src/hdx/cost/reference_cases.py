"""Timeloop + Accelergy reference cases as inputs of HDX's cost model (``benchmarks/bench_cost_fidelity.py``
and its test).

For every Timeloop case with a 2-D PE array and a CNN layer (:func:`select_cases`), :func:`case_setup`
sets the model to the case's array (PEx × PEy), per-PE storage (RF bytes = all per-PE storage levels),
GLB size and bandwidth, word width and the per-access energies Timeloop applied (a technology table
built from the case's own storage levels: ``vector_access_energy_pJ / block_size`` per word,
``area_per_instance``; ``energy_per_compute_pJ`` for the MAC; 512 pJ / 64 bit DRAM), with the dataflow
of the case's ``dataflow_class``. Units: pJ, µm², bytes, words per cycle.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from hdx.cost.tech import TechTable
from hdx.space.accelerator import DATAFLOWS, AccelTable, HardwareParams
from hdx.workload import Layer, LayerTable

UNLIMITED = 1e9  # bandwidth (words or bytes per cycle) where the case sets none


def select_cases(cases: list[dict]) -> list[dict]:
    """The Timeloop cases (ids ``TL…``) on a 2-D PE array with a WS, OS or RS dataflow."""
    out = []
    for c in cases:
        if not c["id"].startswith("TL"):
            continue
        mesh = c["arch"]["pe_array"].get("mesh") or [1, 1]
        if min(mesh) < 2 or c["layer"]["R"] * c["layer"]["S"] == 1 and c["layer"]["P"] * c["layer"]["Q"] == 1:
            continue  # 1-MAC or 1-D arrays (conv1d tutorials) are not 2-D PE arrays
        if c["dataflow_class"] not in ("WS", "OS", "RS"):
            continue
        out.append(c)
    return out


def case_setup(case: dict) -> tuple[HardwareParams, TechTable, AccelTable, LayerTable]:
    """Our model's hardware, tech table, accelerator and layer for one reference case."""
    arch = case["arch"]
    pe = arch["pe_array"]
    mesh = pe["mesh"]
    n_macs = int(pe["instances"])
    levels = [lv for lv in arch["storage_levels_inner_to_outer"]]
    dram = [lv for lv in levels if lv["technology_class"] == "DRAM"]
    srams = [lv for lv in levels if lv["technology_class"] != "DRAM" and lv["keeps"]]
    glb = [lv for lv in srams if int(lv["instances"]) == 1][-1]
    per_pe = [lv for lv in srams if int(lv["instances"]) > 1]
    # data word width: the weights' storage width (8-bit data with 16-bit psums in some Eyeriss cases)
    w_lv = [lv for lv in per_pe if "Weights" in lv["keeps"]] or per_pe
    wbits = int(w_lv[-1]["word_bits"])
    points: dict[float, list[tuple[float, float]]] = defaultdict(list)
    for lv in srams:
        size_b = lv["size_words"] * lv["word_bits"] / 8
        e_word = lv["vector_access_energy_pJ"] / lv["block_size"] * wbits / lv["word_bits"]
        if e_word > 0:
            points[size_b].append((e_word, max(lv["area_per_instance_um2"], 1e-3)))
    sram = [{"bytes": b, "energy_pj": float(np.mean([e for e, _ in v])),
             "area_um2": float(np.mean([a for _, a in v]))} for b, v in sorted(points.items())]
    tech = TechTable(name=case["id"], ref_word_bits=wbits,
                     mac=[{"bits": wbits, "energy_pj": pe["energy_per_compute_pJ"], "area_um2": 1.0}],
                     sram=sram, dram_pj_per_64bit=512.0 if not dram else
                     dram[0]["vector_access_energy_pJ"] / dram[0]["block_size"] * 64 / dram[0]["word_bits"])
    rf_bytes = sum(lv["size_words"] * lv["word_bits"] / 8 * lv["instances"] / n_macs for lv in per_pe)
    glb_bw = glb["read_bandwidth"] or UNLIMITED
    dram_bw = (dram[0]["read_bandwidth"] or UNLIMITED) * wbits / 8 if dram else UNLIMITED
    # RS: the case's own scratchpad sizes (weights, inputs, psums) as the pad proportions
    pads = [sum(lv["size_words"] * lv["word_bits"] / wbits for lv in per_pe if op in lv["keeps"])
            for op in ("Weights", "Inputs", "Outputs")]
    spads = tuple(pads) if all(pads) else HardwareParams().rs_spads
    hw = HardwareParams(clock_mhz=1000.0, word_bits=wbits, glb_words_per_cycle=glb_bw,
                        dram_bytes_per_cycle=dram_bw, tech=case["id"], rs_spads=spads,
                        operand_latch=False)  # Timeloop reads every operand for every MAC
    df = DATAFLOWS.index(case["dataflow_class"].lower())
    acc = AccelTable([mesh[0]], [mesh[1]], [max(int(round(rf_bytes)), 1)], [df],
                     [int(glb["size_words"] * glb["word_bits"] / 8)])
    ly = case["layer"]
    stride = int(ly.get("stride_h") or 1)
    h = (ly["P"] - 1) * stride + ly["R"]
    w = (ly["Q"] - 1) * int(ly.get("stride_w") or 1) + ly["S"]
    layer = Layer("conv", c=ly["C"], k=ly["K"], h=h, w=w, r=ly["R"], s=ly["S"], stride=stride,
                  n=ly["N"], name=ly.get("name", case["id"]))
    return hw, tech, acc, LayerTable([layer])
