"""Fidelity of the analytical cost model against Timeloop + Accelergy reference cases.

For every Timeloop case of ``reference_cases.json`` with a 2-D PE array and a CNN layer, the model is
set to the case's array (PEx × PEy), per-PE storage (RF bytes = all per-PE storage levels), GLB size
and bandwidth, word width and the per-access energies Timeloop applied (a technology table built from
the case's own storage levels: ``vector_access_energy_pJ / block_size`` per word, ``area_per_instance``;
``energy_per_compute_pJ`` for the MAC; 512 pJ / 64 bit DRAM), with the dataflow of the case's
``dataflow_class``. The case's layer is evaluated and compared with Timeloop's cycles and energy.

Run: ``python benchmarks/bench_cost_fidelity.py [--ref PATH]`` (default: $HDX_REFERENCE or
/work/shared/reference/reference_cases.json).
"""

from __future__ import annotations

import argparse
import json
import os
from collections import defaultdict
from pathlib import Path

import numpy as np

from hdx.cost.analytical import AnalyticalModel
from hdx.cost.tech import TechTable
from hdx.space.accelerator import DATAFLOWS, AccelTable, HardwareParams
from hdx.workload import Layer, LayerTable

DEFAULT_REF = str(Path(__file__).resolve().parents[2] / "shared/reference/reference_cases.json")
UNLIMITED = 1e9  # bandwidth (words or bytes per cycle) where the case sets none

# Why a case may differ by more than 50 % (printed next to such cases): properties of the reference
# architecture or of the mapping Timeloop's constrained random mapper search reported (mapping_txt).
REASONS = {
    "simba_like": "Simba: 4-MAC vector PEs with 32-64 KiB per-PE buffers, outside the PE+RF template",
    "simple_output_stationary": "ref. mapping unrolls M x C (no output pixel) on {ref_util:.0%} of PEs; "
                                "ours unrolls output pixels ({our_util:.0%})",
    "simple_weight_stationary": "ref. mapping unrolls M x C without replication on {ref_util:.0%} of PEs; "
                                "ours replicates M on spare rows ({our_util:.0%})",
}


def case_reason(case: dict, our_util: float) -> str:
    label = case["arch"]["label"]
    for key, why in REASONS.items():
        if label.startswith(key):
            return why.format(ref_util=case["result"]["utilization"], our_util=our_util)
    return ""


def select_cases(cases: list[dict]) -> list[dict]:
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default=os.environ.get("HDX_REFERENCE", DEFAULT_REF))
    args = ap.parse_args()
    cases = select_cases(json.loads(Path(args.ref).read_text()))
    rows = []
    for c in cases:
        hw, tech, acc, lt = case_setup(c)
        costs = AnalyticalModel(hw, tech).evaluate(lt, acc)
        cyc, en = float(costs.latency_cycles[0, 0]), float(costs.energy_total_pj[0, 0])
        ref_c, ref_e = float(c["result"]["cycles"]), float(c["result"]["energy_pJ"])
        rows.append((c, acc, cyc, en, cyc / ref_c - 1, en / ref_e - 1, float(costs.utilisation[0, 0])))
    head = (f"{'case':5} {'df':3} {'array':6} {'rf B':>6} {'layer (C,K,PxQ,RxS,s,N)':26} {'ref cycles':>11} "
            f"{'our cycles':>11} {'err':>7} {'ref pJ':>10} {'our pJ':>10} {'err':>7}  reason if |err| > 50 %")
    print(head)
    print("-" * len(head))
    for c, acc, cyc, en, ec, ee, util in rows:
        ly = c["layer"]
        shape = f"{ly['C']},{ly['K']},{ly['P']}x{ly['Q']},{ly['R']}x{ly['S']},s{ly.get('stride_h')},{ly['N']}"
        why = case_reason(c, util) if max(abs(ec), abs(ee)) > 0.5 else ""
        print(f"{c['id']:5} {c['dataflow_class']:3} {acc.pe_x[0]}x{acc.pe_y[0]:<3} {acc.rf_bytes[0]:>6} "
              f"{shape:26} {c['result']['cycles']:>11.4g} {cyc:>11.4g} {ec:>+7.1%} "
              f"{c['result']['energy_pJ']:>10.4g} {en:>10.4g} {ee:>+7.1%}  {why}")
    ec = np.abs([r[4] for r in rows])
    ee = np.abs([r[5] for r in rows])
    print("-" * len(head))
    print(f"cases: {len(rows)}   median |rel. err| cycles: {np.median(ec):.1%} (goal <= 15 %)   "
          f"energy: {np.median(ee):.1%} (goal <= 25 %)")
    print(f"mean |rel. err| cycles: {ec.mean():.1%}   energy: {ee.mean():.1%};   cases > 50 %: "
          f"{int((np.maximum(ec, ee) > 0.5).sum())}")


if __name__ == "__main__":
    main()
