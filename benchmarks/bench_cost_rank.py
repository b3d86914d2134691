"""Rank fidelity: Spearman correlation of our cycles with MAESTRO runtimes (254 layer rows).

Each MAESTRO row (ResNet-50 / MobileNetV2 on a 256- or 1024-PE accelerator, KCP weight-stationary or
row-stationary) is evaluated by the analytical model on the matching template: a 16×16 (256 PEs) or
32×32 (1024 PEs) array, RF = MAESTRO L1Size (512 B), GLB = L2Size (32 KiB), GLB bandwidth = NoC_BW
(1024 words/cycle), no DRAM limit (MAESTRO has no DRAM level), dataflow WS for KCP-WS and RS for RS.
MAESTRO's layer shapes are used as given (no padding); DSCONV rows are depthwise (the K=1, 1×1
``*_Residual`` rows are element-wise adds, modelled as 1×1 depthwise, which is what MAESTRO computes).

Run: ``python benchmarks/bench_cost_rank.py [--ref PATH]``.
"""

from __future__ import annotations

import argparse
import json
import os
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from hdx.cost.analytical import AnalyticalModel
from hdx.space.accelerator import DATAFLOWS, AccelTable, HardwareParams
from hdx.workload import Layer, LayerTable

DEFAULT_REF = str(Path(__file__).resolve().parents[2] / "shared/reference/reference_cases.json")


def maestro_layer(ly: dict) -> Layer:
    common = dict(h=ly["Y_in"], w=ly["X_in"], r=ly["R"], s=ly["S"], stride=ly["stride_h"], n=ly["N"],
                  name=ly["name"])
    if ly["type"] == "DSCONV":
        return Layer("depthwise", c=ly["C"], k=ly["C"], groups=ly["C"], **common)
    return Layer("conv", c=ly["C"], k=ly["K"], **common)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default=os.environ.get("HDX_REFERENCE", DEFAULT_REF))
    ap.add_argument("--glb-port", default="fill", choices=("step", "fill", "packed", "burst"),
                    help="the analytical model's GLB port count (glb_port; default: the model's)")
    ap.add_argument("--psum-port", default="shared", choices=("free", "shared"),
                    help="the analytical model's PE psum store ports (psum_port; default: the model's)")
    args = ap.parse_args()
    rows = [c for c in json.loads(Path(args.ref).read_text()) if c["id"].startswith("MA")]
    groups: dict[str, list[dict]] = defaultdict(list)
    for c in rows:
        groups[Path(c["path"]).stem].append(c)
    ours_all, ref_all, one_all, phys_all = [], [], [], []
    print(f"{'group (MAESTRO csv)':30} {'rows':>4} {'array':>6} {'df':>3} {'Spearman':>9} "
          f"{'median ours/ref':>16} {'Spearman 1x1':>13} {'max MACs/PE/cycle':>18} {'<=1':>5} "
          f"{'Spearman <=1':>9}")
    print("-" * 133)
    for name, cases in sorted(groups.items()):
        hwf = cases[0]["arch"]["hw_file_at_commit"]
        side = int(round(np.sqrt(hwf["NumPEs"])))
        df = cases[0]["dataflow_class"].lower()
        hw = HardwareParams(clock_mhz=1000.0, word_bits=16, glb_words_per_cycle=float(hwf["NoC_BW"]),
                            dram_bytes_per_cycle=1e9, operand_latch=False)  # MAESTRO reads L1 every MAC
        acc = AccelTable([side], [side], [int(hwf["L1Size"])], [DATAFLOWS.index(df)], [int(hwf["L2Size"])])
        lt = LayerTable([maestro_layer(c["layer"]) for c in cases])
        model = AnalyticalModel(hw, glb_port=args.glb_port, psum_port=args.psum_port)
        ours = model.evaluate(lt, acc).latency_cycles[:, 0]
        ref = np.array([c["result"]["cycles"] for c in cases], dtype=float)
        rho = spearmanr(ours, ref).statistic
        one = np.array([c["layer"]["R"] * c["layer"]["S"] == 1 for c in cases])
        rho1 = spearmanr(ours[one], ref[one]).statistic
        rate = lt.macs / ref / hwf["NumPEs"]
        phys = rate <= 1.0
        rho_p = spearmanr(ours[phys], ref[phys]).statistic if phys.sum() > 2 else float("nan")
        print(f"{name:30} {len(cases):>4} {side}x{side:<3} {df:>3} {rho:>9.3f} {np.median(ours / ref):>16.2f}"
              f" {rho1:>13.3f} {rate.max():>18.2f} {int(phys.sum()):>5} {rho_p:>9.3f}")
        ours_all.append(ours)
        ref_all.append(ref)
        one_all.append(one)
        phys_all.append(phys)
    ours, ref = np.concatenate(ours_all), np.concatenate(ref_all)
    one, phys = np.concatenate(one_all), np.concatenate(phys_all)
    rho = spearmanr(ours, ref).statistic
    print("-" * 133)
    print(f"{'overall':30} {len(ours):>4} {'':>6} {'':>3} {rho:>9.3f} {np.median(ours / ref):>16.2f}"
          f" {spearmanr(ours[one], ref[one]).statistic:>13.3f} {'':>18} {int(phys.sum()):>5} "
          f"{spearmanr(ours[phys], ref[phys]).statistic:>9.3f}   (goal >= 0.9)")
    print("Spearman 1x1: rows with a 1x1 kernel only. 'max MACs/PE/cycle' is MAESTRO's own throughput: "
          "above 1, MAESTRO\nruns a PE faster than one MAC per cycle (its R x S kernels), which no "
          "1-MAC-per-PE model can reproduce.\n'<=1' / 'Spearman <=1': the rows where MAESTRO runs at most "
          "one MAC per PE per cycle (physically comparable) and the Spearman over them.")


if __name__ == "__main__":
    main()
