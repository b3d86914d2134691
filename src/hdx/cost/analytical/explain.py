"""The mapping the analytical model chose for a (layer, accelerator) pair (``--explain``): as one line of
text (:func:`describe_mapping`) and as a record of named fields with units (:func:`schedule_of`, the
``schedule`` of ``hdx cost --explain --json``)."""

from __future__ import annotations

import numpy as np

from .dataflows import OS_MODES, RS_MODES
from .mapper import GROUPS, ORDERS
from .memory import DRAM_LOOPS, RESIDENT
from .memory import ORDERS as DRAM_ORDERS

#: what bounds a layer's latency (:func:`schedule_of`'s ``bound``), in the order ties go
BOUNDS: tuple[str, ...] = ("compute", "GLB port", "DRAM")


def schedule_of(mapping: dict[str, np.ndarray], i: int, j: int, dataflow: str, *, latency_cycles: float,
                compute_cycles: float, dram_cycles_per_word: float) -> dict:
    """The chosen mapping of layer ``i`` on accelerator ``j`` as named fields: the array level (mode,
    PE-local tile, GLB-level loop order inner to outer, GLB ↔ array words and the GLB port's cycles) and,
    where the model chose one, the DRAM level (resident operand, GLB tile, loop order inner to outer,
    DRAM words per operand, and the DRAM cycles that fill the GLB with weights and inputs and drain the
    outputs, partial sums read back included), then the latency's parts: the MACs' cycles with the cycles
    they wait for the PE's psum store (``busy_cycles``), the GLB port's and the DRAM's, the part of the
    latency beyond the largest of them (``dram_stall_cycles``: DRAM transfers the array waits for, under
    a buffering that does not hide them all) and ``bound``, the largest part (ties to the first of
    :data:`BOUNDS`). Cycles of the accelerator's clock, words of its word size."""
    m = {k: float(v[i, j]) for k, v in mapping.items()}
    if dataflow == "ws":
        mode, tile = "weights stationary", {"channels": m["c_in"], "taps": m["s_in"]}
    elif dataflow == "os":
        mode, tile = OS_MODES[int(m["mode"])], {"psums": m["k_in"]}
    else:
        mode = RS_MODES[int(m["mode"])]
        tile = {"filters": m["k_in"], "channels": m["c_in"], "taps": m["s_in"], "outputs": m["q_in"]}
    busy = compute_cycles + m.get("psum_stall", 0.0)
    out: dict = {"dataflow": dataflow, "mode": mode, "pe_tile": tile,
                 "glb_loops": [GROUPS[g] for g in ORDERS[int(m["order"])]],
                 "glb_words": m["glb_words"], "glb_port_cycles": m["glb_cycles"], "hops": m["hops"],
                 "compute_cycles": compute_cycles, "psum_stall_cycles": m.get("psum_stall", 0.0),
                 "busy_cycles": busy}
    dram = 0.0
    if "dram_res" in m:
        words = {"weights": m["dram_w"], "inputs": m["dram_i"], "outputs": m["dram_o"]}
        fill = (words["weights"] + words["inputs"]) * dram_cycles_per_word
        drain = words["outputs"] * dram_cycles_per_word
        dram = fill + drain
        out["dram"] = {"resident": RESIDENT[int(m["dram_res"])],
                       "glb_tile": {"filters": m["dram_kt"], "channels": m["dram_ct"], "rows": m["dram_bt"],
                                    "columns": m.get("dram_qt", 0.0), "kernel_rows": m.get("dram_rt", 0.0)},
                       "loops": [DRAM_LOOPS[g] for g in DRAM_ORDERS[int(m["dram_order"])]],
                       "words": words, "fill_cycles": fill, "drain_cycles": drain}
    parts = (busy, m["glb_cycles"], dram)
    out["dram_cycles"] = dram
    stall = latency_cycles - max(parts)  # (the model's parts in float32: a rounding is no stall)
    out["dram_stall_cycles"] = stall if stall > 1e-5 * latency_cycles else 0.0
    out["latency_cycles"] = latency_cycles
    out["bound"] = BOUNDS[int(np.argmax(parts))]
    return out


def bound_shares(mapping: dict[str, np.ndarray], j: int, dataflow: str, *, latency_cycles: np.ndarray,
                 compute_cycles: np.ndarray, dram_cycles_per_word: float) -> dict[str, float]:
    """Per :data:`BOUNDS`, the share of a network's latency (layers ``latency_cycles`` [L] on accelerator
    ``j``, which :func:`schedule_of` reads) spent in the layers that it bounds."""
    lat = np.asarray(latency_cycles, dtype=np.float64)
    out = dict.fromkeys(BOUNDS, 0.0)
    for i in range(lat.size):
        s = schedule_of(mapping, i, j, dataflow, latency_cycles=float(lat[i]),
                        compute_cycles=float(compute_cycles[i]), dram_cycles_per_word=dram_cycles_per_word)
        out[s["bound"]] += float(lat[i])
    total = float(lat.sum())
    return {k: v / total if total > 0 else 0.0 for k, v in out.items()}


def describe_mapping(mapping: dict[str, np.ndarray], i: int, j: int, dataflow: str,
                     schedule: dict | None = None) -> str:
    """The array level (PE-local tile, GLB-level loop order, GLB words and port cycles) and the DRAM level
    (resident operand, GLB tiles, loop order, DRAM words per operand) of layer ``i`` on
    accelerator ``j``; with its ``schedule`` (:func:`schedule_of`) also the DRAM's fill and drain cycles
    and what bounds the latency."""
    m = {k: float(v[i, j]) for k, v in mapping.items()}
    order = " < ".join(GROUPS[g].upper() for g in ORDERS[int(m["order"])])
    if dataflow == "ws":
        tile = f"RF: weights of {m['c_in']:.0f} channel(s) x {m['s_in']:.0f} tap(s); psum in a register"
    elif dataflow == "os":
        tile = f"{OS_MODES[int(m['mode'])]}, RF: {m['k_in']:.0f} psum(s)"
    else:
        tile = (f"{RS_MODES[int(m['mode'])]}, RF: {m['k_in']:.0f} filter(s) x {m['c_in']:.0f} channel(s) x "
                f"{m['s_in']:.0f} tap(s), {m['q_in']:.0f} output(s) of a row")
    hops = f", {m['hops']:,.0f} hops" if m["hops"] else ""
    if m.get("psum_stall"):  # psum_port="shared": the psum store's port cycles the MAC waits for
        hops += f", MAC waits {m['psum_stall']:,.0f} cycles for psum store ports"
    text = (f"{dataflow.upper()} {tile}; GLB loops {order} (inner to outer); "
            f"{m['glb_words']:,.0f} GLB words in {m['glb_cycles']:,.0f} port cycles{hops}")
    if "dram_res" in m:
        d_order = " < ".join(DRAM_LOOPS[g].upper() for g in DRAM_ORDERS[int(m["dram_order"])])
        text += (f"; DRAM: {RESIDENT[int(m['dram_res'])]} resident, GLB tile {m['dram_kt']:.0f} filter(s) x "
                 f"{m['dram_ct']:.0f} channel(s) x {m['dram_bt']:.0f} row(s) x {m.get('dram_qt', 0):.0f} "
                 f"column(s), inputs of {m.get('dram_rt', 0):.0f} kernel row(s), loops {d_order}; "
                 f"DRAM words W {m['dram_w']:,.0f} I {m['dram_i']:,.0f} "
                 f"O {m['dram_o']:,.0f}")
    if schedule is None:
        return text
    if "dram" in schedule:
        d = schedule["dram"]
        text += f" (fill {d['fill_cycles']:,.0f}, drain {d['drain_cycles']:,.0f} cycles)"
    stall = schedule["dram_stall_cycles"]
    return text + f"; bound: {schedule['bound']}" + (f", waits {stall:,.0f} cycles for DRAM" if stall else "")
