"""Fidelity of the analytical cost model against Timeloop + Accelergy reference cases.

For every Timeloop case of ``reference_cases.json`` with a 2-D PE array and a CNN layer, the model is
set to the case's hardware (:mod:`hdx.cost.reference_cases`: array, per-PE storage, GLB, word width,
the per-access energies Timeloop applied, dataflow); the case's layer is evaluated and compared with
Timeloop's cycles and energy.

Run: ``python benchmarks/bench_cost_fidelity.py [--ref PATH]`` (default: $HDX_REFERENCE or
/work/shared/reference/reference_cases.json).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import get_args

import numpy as np

from hdx.cost.analytical import AnalyticalModel
from hdx.cost.analytical.mapper import GlbBuffering
from hdx.cost.reference_cases import case_setup, select_cases

DEFAULT_REF = str(Path(__file__).resolve().parents[2] / "shared/reference/reference_cases.json")

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default=os.environ.get("HDX_REFERENCE", DEFAULT_REF))
    ap.add_argument("--glb-port", default="fill", choices=("step", "fill", "packed", "burst"),
                    help="the analytical model's GLB port count (glb_port; default: the model's)")
    ap.add_argument("--psum-port", default="shared", choices=("free", "shared"),
                    help="the analytical model's PE psum store ports (psum_port; default: the model's)")
    ap.add_argument("--glb-buffering", default="double", choices=get_args(GlbBuffering),
                    help="the analytical model's GLB buffering (AnalyticalModel's glb_buffering)")
    ap.add_argument("--glb-reuse", default="layer", choices=("layer", "tile"),
                    help="the analytical model's reuse of a PE-local tile across DRAM tiles (glb_reuse)")
    ap.add_argument("--halo", default="density", choices=("density", "exact"),
                    help="how the analytical model's input bands count the rows they read (halo)")
    args = ap.parse_args()
    cases = select_cases(json.loads(Path(args.ref).read_text()))
    rows = []
    for c in cases:
        hw, tech, acc, lt = case_setup(c)
        model = AnalyticalModel(hw, tech, glb_port=args.glb_port, psum_port=args.psum_port,
                                glb_buffering=args.glb_buffering, glb_reuse=args.glb_reuse,
                                halo=args.halo)
        costs = model.evaluate(lt, acc)
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
