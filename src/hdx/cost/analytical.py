"""Analytical ground-truth cost model of the DANCE/Eyeriss template (DESIGN.md §5).

Every modelling assumption of :class:`AnalyticalModel` is listed here, with units.

Template and units
------------------
DRAM ↔ global buffer (GLB, ``glb_bytes``) ↔ array of ``pe_x`` (columns, X) × ``pe_y`` (rows, Y) PEs;
each PE has one MAC and an RF of ``rf_bytes``. One word = ``word_bits`` (weights, inputs, outputs and
partial sums alike). Latency in cycles at ``clock_mhz``; energy in pJ; area in µm². Per-access
energies and areas come from the technology table (:mod:`hdx.cost.tech`): an SRAM/RF access costs the
table's energy at that memory's capacity; a MAC costs the table's MAC energy at ``word_bits``;
DRAM costs ``dram_pj_per_64bit · word_bits / 64`` per word.

Loops of a layer
----------------
N batch, K output channels, C input channels, G groups, Cg = C/G reduction channels, P×Q output,
R×S kernel. MACs = N·K·Cg·P·Q·R·S. A depthwise layer (G = C = K) has Cg = 1: there is no reduction
over channels and its channel dimension (K = G) is the one that can be unrolled; its inputs are
never shared between channels. Pointwise = 1×1 conv; FC = 1×1 conv on a 1×1 map. Other grouped
convs are treated like dense ones with Cg = C/G (input multicast across groups is then optimistic).

Spatial mapping (compute cycles)
--------------------------------
A loop of bound D unrolled on t PEs runs in ``ceil(D/t)`` passes: utilisation is lost at the edges.
Each array axis has a *primary* loop and may *replicate* a secondary loop on PEs the primary leaves
idle (Eyeriss-style folding/replication). The axis is cut into m ∈ {1, 2, 3, 4} equal groups, the
primary tile is balanced (``t = ceil(D/ceil(D/t))``) and the m with most busy PEs is kept.

* **WS** (weight-stationary, NVDLA/Simba-like): Y ← Cg (input channels; spare rows replicate K),
  X ← K (output channels). Reduction over Cg is spatial (column adder chain).
* **OS** (output-stationary): X ← Q (output columns; spare columns replicate K),
  Y ← P (output rows; spare rows replicate K). Each PE accumulates its outputs in its RF.
* **RS** (row-stationary, Eyeriss): Y ← R (filter rows; spare rows replicate Cg, or K for depthwise),
  X ← P (output rows; spare columns replicate K). A PE runs a 1-D convolution of one filter row
  over one output row; psums are summed down the column.

compute_cycles = MACs · Π over unrolled loops (passes / D) ≥ MACs / (pe_x·pe_y).

RF contents (per PE, ``rfw = floor(rf_bytes·8 / word_bits)`` words) and RF accesses
--------------------------------------------------------------------------------------
* WS: the RF holds weights: ``t = min(R·S, rfw)`` taps of each (input channel, output channel) pair
  it is given; when all R·S taps fit, it holds ``floor(rfw/(R·S))`` pairs, split as ``cr`` input
  channels (accumulated into the same psum: fewer psum round trips to the GLB) × ``kr`` output
  channels (the same input reused: fewer input fetches), cr ∈ {1, 2, 4, …, 32}, the split with the
  least GLB traffic is kept (depthwise: cr = kr = 1, no input to share). Per MAC: 1 RF weight read;
  the input and the psum (read + write) use 1-word pipeline registers (accumulators). Fills: each
  weight once. Minimum: 1 word (one weight).
* OS: the RF holds ``ko = clip(rfw, 1, K passes)`` psums (output channels of the PE's pixel).
  Per MAC: psum read + write in the RF; weight and input from 1-word registers. Drain: 1 RF read
  per output. Minimum: 1 word (one psum).
* RS: the RF is banked (Eyeriss spads): a filter-row chunk of ``s = min(S, floor((rfw−1)/2))`` taps
  of ``cr`` channels for ``kr`` filters (``kr·cr·s`` weights), an input window of ``cr·s`` words and
  ``kr`` psums, ``kr = floor((rfw − cr·s)/(cr·s + 1)) ≥ 1``; cr ∈ {1, 2, 4, …, 32} with the least GLB
  traffic is kept (depthwise: cr = kr = 1). Each bank gets the share of ``rf_bytes`` its tile needs
  and costs the table energy at that bank size. Per MAC: weight read, input read, psum read + write.
  Fills: weights × PE-row fan-out, inputs × filter-row fan-out. Minimum: 3 words.
  An RF below the minimum raises :class:`~hdx.errors.HDXError` (no tile fits).

GLB ↔ array traffic (words; multicast counts once)
--------------------------------------------------
* WS: weights once; inputs once per group of kr K passes, ``N·P·Q·R·S·Cg·ceil(K passes / kr)``
  (every (output, tap) input is fetched: no sliding-window reuse, as in Timeloop's WS mappings),
  depthwise ``N·P·Q·R·S·K`` (= MACs). Psums: written once per reduction pass (``ceil(Cg passes / cr)``
  × tap chunks), read back for all but the first.
* OS: weights once per output tile (broadcast to the array): ``W·N·passes_P·passes_Q``; inputs once
  per output tile with the halo, ``((py−1)·stride+R)·((qx−1)·stride+S)`` per channel, for every group
  of ``uK·ko`` output channels (dense) or once per channel (depthwise); outputs written once.
* RS: weights once per output-row strip, ``W·N·passes_P``; inputs: strip rows
  ``(px−1)·stride+R`` × padded width per channel, per group of ``uK·kr`` filters (dense) or once
  (depthwise), × filter-row chunks; psums written per reduction pass (``ceil(Cg passes / cr)`` × R
  passes × S chunks), read back for all but the first.

GLB ↔ DRAM traffic
------------------
Usable GLB = half its capacity (double buffering). Outputs are produced in tiles that fit it, so
psums never go to DRAM: outputs are written once. Per group, one of inputs (I) or weights (W) is
kept resident in tiles of that capacity and the other re-fetched once per tile; the cheaper order is
taken: ``reads = G·min(Ig + Wg·ceil(Ig/cap), Wg + Ig·ceil(Wg/cap))`` (depthwise: ≈ I + W).

Latency (double-buffered)
-------------------------
latency = max(compute_cycles, GLB words (array side) / ``glb_words_per_cycle``,
DRAM bytes / ``dram_bytes_per_cycle``). No pipeline fill/drain or DRAM latency term.

Energy
------
MACs·E_mac + RF accesses·E_rf(size) + register accesses·E_reg(1 word) + GLB accesses (array reads
and writes + DRAM fills + output drain)·E_sram(glb_bytes) + DRAM words·E_dram. (Register energy is
reported inside the ``rf`` part.) No leakage and no NoC wire energy.

Area
----
``pe`` = PEs·MAC area; ``rf`` = PEs·SRAM area(rf_bytes); ``glb`` = SRAM area(glb_bytes);
``noc`` = PEs·``noc_registers_per_pe``·area of a 1-word register. DRAM is off chip.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from hdx.cost.base import LayerCosts
from hdx.cost.tech import TechTable, load_tech
from hdx.errors import HDXError
from hdx.space.accelerator import DATAFLOWS, AccelTable, HardwareParams
from hdx.workload import LayerTable

# minimum RF words per dataflow (one word per operand the dataflow holds in its RF)
MIN_RF_WORDS: dict[str, tuple[int, str]] = {
    "ws": (1, "one weight"),
    "os": (1, "one partial sum"),
    "rs": (3, "one weight, one input and one partial sum"),
}
_GROUPS_PER_AXIS: tuple[int, ...] = (1, 2, 3, 4)
# channels a PE may accumulate temporally into the same psum (WS, RS); the cheapest is chosen
_CHANNEL_CANDIDATES: tuple[int, ...] = (1, 2, 4, 8, 16, 32)


def _cdiv(a, b):
    return np.ceil(a / b)


def _axis(d1: np.ndarray, d2: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unroll primary loop ``d1`` on an axis of ``size`` PEs and replicate ``d2`` on the spare PEs.

    Returns (t, f): PEs given to each ``d1`` tile (balanced) and the replication of ``d2``; the axis
    is split into m ∈ {1..4} groups and the split with most busy PEs (ties: fewest groups) is kept.
    """
    best = best_t = best_f = None
    for m in _GROUPS_PER_AXIS:
        t = np.maximum(np.minimum(d1, np.floor(size / m)), 1.0)
        t = _cdiv(d1, _cdiv(d1, t))
        f = np.maximum(np.minimum(np.floor(size / t), d2), 1.0)
        f = _cdiv(d2, _cdiv(d2, f))
        score = d1 / _cdiv(d1, t) * (d2 / _cdiv(d2, f))
        if best is None:
            best, best_t, best_f = score, t, f
        else:
            better = score > best * (1 + 1e-12)
            best = np.where(better, score, best)
            best_t = np.where(better, t, best_t)
            best_f = np.where(better, f, best_f)
    return best_t, best_f


class AnalyticalModel:
    """Vectorised analytical cost model (see the module docstring for every assumption).

    ``evaluate(layers, accels)`` broadcasts layers [L] × accelerators [A] in numpy (no Python loop
    over layers or accelerators; one pass per dataflow over the accelerators that use it).
    """

    name = "analytical"
    version = "1.1"

    def __init__(self, hardware: HardwareParams | None = None, tech: TechTable | str | Path | None = None):
        self.hardware = hardware if hardware is not None else HardwareParams()
        if isinstance(tech, TechTable):
            self.tech = tech
        else:
            self.tech = load_tech(tech if tech is not None else self.hardware.tech)

    def fingerprint(self) -> str:
        """sha256 of the model name, version, hardware parameters and technology table."""
        blob = {"model": self.name, "version": self.version,
                "hardware": self.hardware.model_dump(mode="json"),
                "tech": self.tech.model_dump(mode="json")}
        return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()

    def __repr__(self) -> str:
        return f"AnalyticalModel(v{self.version}, tech={self.tech.name}, word_bits={self.hardware.word_bits})"

    # ------------------------------------------------------------------------------------------
    def _check_rf(self, layers: LayerTable, accels: AccelTable, rfw: np.ndarray) -> None:
        hw = self.hardware
        for d, df in enumerate(DATAFLOWS):
            need, what = MIN_RF_WORDS[df]
            bad = np.nonzero((accels.dataflow == d) & (rfw < need))[0]
            if bad.size:
                acc = accels.accelerator(int(bad[0]))
                name = layers.names[0] or "0"
                need_bytes = int(np.ceil(need * hw.word_bits / 8))
                raise HDXError(
                    f"layer '{name}' on accelerator {acc}: no tile fits the RF: {acc.rf_bytes} B holds "
                    f"{int(rfw[bad[0]])} word(s) of {hw.word_bits} bits but {df.upper()} must hold {what} "
                    f"({need} word(s)); use rf >= {need_bytes} bytes, smaller word_bits or another dataflow")

    def evaluate(self, layers: LayerTable, accels: AccelTable) -> LayerCosts:
        """Costs of every layer on every accelerator: [L, A] arrays (cycles, pJ) and area [A] (µm²)."""
        hw, tech = self.hardware, self.tech
        wbits = hw.word_bits
        n_acc = len(accels)
        if n_acc == 0:
            raise HDXError("no accelerators to evaluate: give at least one")
        rfw_all = np.floor(accels.rf_bytes * 8 / wbits)
        self._check_rf(layers, accels, rfw_all)

        col = lambda a: np.asarray(a, dtype=np.float64)[:, None]  # noqa: E731
        N, K, C, G = col(layers.n), col(layers.k), col(layers.c), col(layers.groups)
        H, W, R, S = col(layers.h), col(layers.w), col(layers.r), col(layers.s)
        P, Q, st, pad = col(layers.p), col(layers.q), col(layers.stride), col(layers.padding)
        Cg = C / G
        dw = (Cg == 1) & (K == G) & (G > 1)
        macs = N * K * Cg * P * Q * R * S
        w_tot = K * Cg * R * S
        i_tot = N * C * H * W
        o_tot = N * K * P * Q
        Hp, Wp = H + 2 * pad, W + 2 * pad

        shape = (len(layers), n_acc)
        out = {k: np.empty(shape) for k in ("compute", "glb_arr", "glb_all", "dram", "rf_pj")}

        e_reg = tech.register_energy_pj(wbits)
        for d, df in enumerate(DATAFLOWS):
            idx = np.nonzero(accels.dataflow == d)[0]
            if idx.size == 0:
                continue
            X = np.asarray(accels.pe_x[idx], dtype=np.float64)[None, :]
            Y = np.asarray(accels.pe_y[idx], dtype=np.float64)[None, :]
            rfb = np.asarray(accels.rf_bytes[idx], dtype=np.float64)[None, :]
            rfw = np.floor(rfb * 8 / wbits)
            if df == "ws":
                cy, fy = _axis(Cg, K, Y)
                kx, _ = _axis(_cdiv(K, fy), np.ones_like(K), X)
                uK = fy * kx
                pK, pC = _cdiv(K, uK), _cdiv(Cg, cy)
                compute = macs * (pK / K) * (pC / Cg)
                taps = np.minimum(R * S, rfw)
                n_tc = _cdiv(R * S, taps)
                pairs = np.floor(rfw / (R * S))  # (channel, filter) pairs whose taps all fit the RF
                best = None
                for cr in _CHANNEL_CANDIDATES:
                    c_r = np.where(dw | (pairs < cr), 1.0, np.minimum(cr, pC))
                    k_r = np.where(dw, 1.0, np.clip(np.floor(pairs / c_r), 1.0, pK))
                    i_c = np.where(dw, macs, N * P * Q * R * S * Cg * _cdiv(pK, k_r))
                    red_c = _cdiv(pC, c_r) * n_tc
                    traffic = i_c + o_tot * (2 * red_c - 1)
                    if best is None:
                        best, i_rd, n_red = traffic, i_c, red_c
                    else:
                        better = traffic < best
                        best = np.where(better, traffic, best)
                        i_rd, n_red = np.where(better, i_c, i_rd), np.where(better, red_c, n_red)
                w_rd = w_tot * np.ones_like(compute)
                ps_w, ps_r = o_tot * n_red, o_tot * (n_red - 1)
                e_rf = tech.sram_energy_pj(rfb, wbits)
                rf_pj = (macs + w_tot) * e_rf + macs * 3 * e_reg
            elif df == "os":
                qx, fx = _axis(Q, K, X)
                py, fy = _axis(P, _cdiv(K, fx), Y)
                uK = fx * fy
                pP, pQ, pK = _cdiv(P, py), _cdiv(Q, qx), _cdiv(K, uK)
                compute = macs * (pP / P) * (pQ / Q) * (pK / K)
                ko = np.clip(rfw, 1.0, pK)
                tile_h = np.minimum((py - 1) * st + R, Hp)
                tile_w = np.minimum((qx - 1) * st + S, Wp)
                w_rd = w_tot * N * pP * pQ
                i_rd = N * pP * pQ * tile_h * tile_w * np.where(dw, K, Cg * _cdiv(pK, ko))
                ps_w, ps_r = o_tot * np.ones_like(compute), np.zeros_like(compute)
                e_rf = tech.sram_energy_pj(rfb, wbits)
                rf_pj = (2 * macs + o_tot) * e_rf + macs * 2 * e_reg
            else:  # rs
                ry, fy = _axis(R, np.where(dw, K, Cg), Y)
                px, fx = _axis(P, np.where(dw, _cdiv(K, fy), K), X)
                uC = np.where(dw, 1.0, fy)
                uK = np.where(dw, fy * fx, fx)
                pR, pP, pC, pK = _cdiv(R, ry), _cdiv(P, px), _cdiv(Cg, uC), _cdiv(K, uK)
                compute = macs * (pR / R) * (pP / P) * (pC / Cg) * (pK / K)
                s_t = np.minimum(S, np.floor((rfw - 1) / 2))
                n_s = _cdiv(S, s_t)
                rows = np.minimum((px - 1) * st + R, Hp)
                best = None
                for cr in _CHANNEL_CANDIDATES:
                    c_r = np.where(dw, 1.0, np.minimum(cr, pC))
                    k_r = np.where(dw, 1.0, np.minimum(np.floor((rfw - c_r * s_t) / (c_r * s_t + 1)), pK))
                    i_c = N * pP * rows * Wp * np.where(dw, K, Cg * _cdiv(pK, np.maximum(k_r, 1.0))) * n_s
                    red_c = _cdiv(pC, c_r) * pR * n_s
                    traffic = np.where(k_r >= 1, i_c + o_tot * (2 * red_c - 1), np.inf)
                    if best is None:
                        best, i_rd, n_red, kr, crr = traffic, i_c, red_c, k_r, c_r
                    else:
                        b = traffic < best
                        best = np.where(b, traffic, best)
                        i_rd, n_red = np.where(b, i_c, i_rd), np.where(b, red_c, n_red)
                        kr, crr = np.where(b, k_r, kr), np.where(b, c_r, crr)
                w_rd = w_tot * N * pP * np.ones_like(compute)
                ps_w, ps_r = o_tot * n_red, o_tot * (n_red - 1)
                bank_w, bank_i, bank_o = kr * crr * s_t, crr * s_t, kr
                tot = bank_w + bank_i + bank_o
                e_w = tech.sram_energy_pj(rfb * bank_w / tot, wbits)
                e_i = tech.sram_energy_pj(rfb * bank_i / tot, wbits)
                e_o = tech.sram_energy_pj(rfb * bank_o / tot, wbits)
                rf_pj = (macs * (e_w + e_i + 2 * e_o) + w_rd * px * e_w + i_rd * np.minimum(ry, R) * e_i)
            # GLB <-> DRAM (same for every dataflow): one operand resident per group, the other refetched
            glbw = np.asarray(accels.glb_bytes[idx], dtype=np.float64)[None, :] * 8 / wbits
            cap = glbw / 2
            ig, wg = i_tot / G, w_tot / G
            dram_rd = G * np.minimum(ig + wg * _cdiv(ig, cap), wg + ig * _cdiv(wg, cap))
            glb_arr = w_rd + i_rd + ps_w + ps_r
            out["compute"][:, idx] = compute
            out["glb_arr"][:, idx] = glb_arr
            out["glb_all"][:, idx] = glb_arr + dram_rd + o_tot
            out["dram"][:, idx] = dram_rd + o_tot
            out["rf_pj"][:, idx] = rf_pj

        glb_bytes = accels.glb_bytes.astype(np.float64)[None, :]
        mem_cycles = np.maximum(out["glb_arr"] / hw.glb_words_per_cycle,
                                out["dram"] * (wbits / 8) / hw.dram_bytes_per_cycle)
        latency = np.maximum(out["compute"], mem_cycles)
        pes = accels.num_pes.astype(np.float64)
        energy = {
            "mac": np.broadcast_to(macs * tech.mac_energy_pj(wbits), shape).copy(),
            "rf": out["rf_pj"],
            "glb": out["glb_all"] * tech.sram_energy_pj(glb_bytes, wbits),
            "dram": out["dram"] * tech.dram_energy_pj(wbits),
        }
        area = {
            "pe": pes * tech.mac_area_um2(wbits),
            "rf": pes * tech.sram_area_um2(accels.rf_bytes.astype(np.float64)),
            "glb": tech.sram_area_um2(accels.glb_bytes.astype(np.float64)),
            "noc": pes * tech.noc_registers_per_pe * tech.register_area_um2(wbits),
        }
        return LayerCosts(latency_cycles=latency, compute_cycles=out["compute"], memory_cycles=mem_cycles,
                          energy_pj=energy, area_um2=area, utilisation=macs / (latency * pes[None, :]),
                          macs=macs[:, 0].astype(np.int64), clock_mhz=hw.clock_mhz)
