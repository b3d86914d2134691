"""One line per (layer, accelerator) describing the mapping the analytical model chose (``--explain``)."""

from __future__ import annotations

import numpy as np

from .dataflows import OS_MODES, RS_MODES
from .mapper import GROUPS, ORDERS
from .memory import DRAM_LOOPS, RESIDENT
from .memory import ORDERS as DRAM_ORDERS


def describe_mapping(mapping: dict[str, np.ndarray], i: int, j: int, dataflow: str) -> str:
    """The array level (PE-local tile, GLB-level loop order, GLB words and port cycles) and the DRAM level
    (resident operand, GLB tiles, loop order, DRAM words per operand) of layer ``i`` on
    accelerator ``j``."""
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
    if "dram_res" not in m:
        return text
    d_order = " < ".join(DRAM_LOOPS[g].upper() for g in DRAM_ORDERS[int(m["dram_order"])])
    return (f"{text}; DRAM: {RESIDENT[int(m['dram_res'])]} resident, GLB tile {m['dram_kt']:.0f} filter(s) x "
            f"{m['dram_ct']:.0f} channel(s) x {m['dram_bt']:.0f} row(s) x {m.get('dram_qt', 0):.0f} "
            f"column(s), inputs of {m.get('dram_rt', 0):.0f} kernel row(s), loops {d_order}; "
            f"DRAM words W {m['dram_w']:,.0f} I {m['dram_i']:,.0f} "
            f"O {m['dram_o']:,.0f}")
