"""HDX's mapping costed by ZigZag: the analytical model's chosen mapping as a complete ZigZag temporal
ordering (:func:`ordering_from_mapping`), so that ZigZag evaluates that one mapping instead of searching
its own. :func:`hdx_orderings` lists the translations of one mapping that ZigZag is offered beside its
own search (``ZigZagModel(mappings="loma+hdx")``, the default; ``bench_zigzag_decisions``).
"""

from __future__ import annotations

import math
from typing import Literal

from hdx.cost.zigzag.translate import spatial_unrolling, temporal_sizes
from hdx.space.accelerator import Accelerator, HardwareParams
from hdx.workload import Layer


def _divisor(n: int, want: float, rounding: Literal["down", "up"]) -> int:
    """The divisor of ``n`` nearest ``want`` from below (``down``) or above (``up``)."""
    divs = [d for d in range(1, n + 1) if n % d == 0]
    if rounding == "down":
        return max(d for d in divs if d <= max(want, 1))
    return min(d for d in divs if d >= min(want, n))


def _prime_factors(n: int) -> list[int]:
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


#: how the analytical model's mappings are translated for ZigZag (part of the fingerprint of ZigZag's costs
#: of the best of LOMA's and HDX's mappings); 2: the weights' GLB tile spans the kernel-row chunks, and a
#: DRAM tile of a whole loop puts all of it in the GLB tile; 3: each two-level translation also with the
#: memories below the GLB holding the PE-local tile alone (:func:`pe_loops`)
TRANSLATION_VERSION = "3"
#: the loops of a given ordering that ZigZag's GLB holds (``ZigZagModel.evaluate_one``'s ``glb_loops``): the
#: same innermost count for every operand, or one per layer operand ("W", "I", "O")
GlbLoops = int | dict[str, int]
#: the loop dimensions (ZigZag's names) each layer operand depends on, partly relevant ones included (a
#: grouped or depthwise layer's ``G``: every operand)
RELEVANT: dict[str, frozenset[str]] = {"W": frozenset({"G", "K", "C", "FX", "FY"}),
                                       "I": frozenset({"G", "B", "C", "OX", "OY", "FX", "FY"}),
                                       "O": frozenset({"G", "B", "K", "OX", "OY"})}


def hdx_orderings(layer: Layer, acc: Accelerator, m: dict[str, float], hardware: HardwareParams
                  ) -> list[tuple[list[list], GlbLoops | None, dict[str, int] | None]]:
    """Every translation of the analytical model's mapping ``m`` (:data:`hdx.cost.analytical.MAPPING_FIELDS`
    of one pair) that ZigZag is offered, as (complete temporal ordering, GLB loops or None, PE loops or
    None), distinct and in a fixed order: its tile sizes rounded down and up to ZigZag's integer factors,
    each with the DRAM level left to ZigZag's memory allocator (output tiles in the GLB's usable half,
    :func:`ordering_from_mapping`), with the analytical model's own DRAM schedule (``dram``), and with that
    schedule's GLB tiles given to ZigZag instead of chosen by its allocator (:func:`two_level_ordering`:
    each operand's own GLB tile, and the same tile loops for every operand), each of these once with
    ZigZag's allocator filling the memories below the GLB and once with them holding the PE-local tile
    (:func:`pe_loops`). ZigZag costs each exactly as given; the best it rates is HDX's mapping in
    ZigZag's terms."""
    out: list[tuple[list[list], GlbLoops | None, dict[str, int] | None]] = []
    rounding: Literal["down", "up"]
    for rounding, dram in (("down", False), ("up", False), ("down", True), ("up", True)):
        ordering = ordering_from_mapping(layer, acc, m, rounding, dram=dram,
                                         psum_words=hardware.glb_tile_words(acc.glb_bytes))
        cands: list[tuple[list[list], GlbLoops | None, dict[str, int] | None]] = [(ordering, None, None)]
        for p in (False, True) if dram else ():
            given, cut = two_level_ordering(layer, acc, m, rounding, per_operand=p)
            cands += [(given, cut, None), (given, cut, pe_loops(layer, acc, m, rounding, cut))]
        for cand in cands:
            if cand not in out:
                out.append(cand)
    return out


def pe_loops(layer: Layer, acc: Accelerator, m: dict[str, float], rounding: Literal["down", "up"],
             glb_loops: GlbLoops) -> dict[str, int]:
    """Per layer operand (``"W"``, ``"I"``, ``"O"``), how many innermost loops of the two-level ordering
    (:func:`two_level_ordering`) the memories below the GLB may hold: the PE-local tile's loops, and
    above them the run of loops the operand does not depend on (the PE keeps its tile across them: the
    reuse the analytical model counts), within the operand's GLB tile (``glb_loops``). Given to
    ``ZigZagModel.evaluate_one(pe_loops=)``, it keeps ZigZag's allocator from filling a PE memory with
    loops beyond the PE-local tile (more filters' weights in a WS RF, say): those would pull the loops
    between into the GLB tile above, which may then not fit the GLB, and the mapping costed would not
    be HDX's."""
    ordering, _, _, n_tile = _ordering(layer, acc, m, rounding, None, True)
    out = {}
    for op, rel in RELEVANT.items():
        cut = glb_loops if isinstance(glb_loops, int) else glb_loops[op]
        n = n_tile
        while n < cut and ordering[n][0] not in rel:
            n += 1
        out[op] = n
    return out


def two_level_ordering(layer: Layer, acc: Accelerator, m: dict[str, float],
                       rounding: Literal["down", "up"] = "down", per_operand: bool = True
                       ) -> tuple[list[list], GlbLoops]:
    """HDX's whole two-level mapping (:func:`ordering_from_mapping` with ``dram``) and how many of its
    innermost loops the chosen DRAM schedule's GLB tile holds: given both, ZigZag costs the mapping with
    HDX's GLB tiles instead of its own allocator's (``ZigZagModel.evaluate_one(..., glb_loops=)``).

    ``per_operand`` (default): each operand's own tile, as the analytical model's schedule holds it. The
    DRAM-level loop over kernel-row chunks of the input tile (innermost) chunks the inputs only: the
    weights' GLB tile holds every kernel row of its filters (weights do not depend on that loop in the
    model, ``memory.REL``), so their tile also spans the chunk loop and stays across the loops over
    output rows and columns above it. Where the schedule has no such loop, or with ``per_operand`` off,
    every operand's tile is the same innermost loops (an int)."""
    ordering, n_glb, n_rows, _ = _ordering(layer, acc, m, rounding, None, True)
    if not per_operand or n_rows == 0:
        return ordering, n_glb
    return ordering, {"W": n_glb + n_rows, "I": n_glb, "O": n_glb}


def ordering_from_mapping(layer: Layer, acc: Accelerator, m: dict[str, float],
                          rounding: Literal["down", "up"] = "down",
                          psum_words: float | None = None, dram: bool = False) -> list[list]:
    """A complete ZigZag temporal ordering (innermost first, ``[dim, factor]``) of the mapping the
    analytical model chose (:data:`hdx.cost.analytical.MAPPING_FIELDS`): its PE-local tile loops
    innermost, then the GLB-level groups in its order, each split into prime factors (ZigZag's memory
    allocator then fills each memory with as many of them as fit, as for LOMA's orderings). Tile sizes
    are rounded ``down`` or ``up`` to divisors of ZigZag's temporal bounds (ZigZag takes integer
    factors, and its spatial unrolling may differ from the analytical model's balanced one). ZigZag
    evaluating this ordering is the HDX mapping costed by ZigZag.

    ``psum_words`` (the GLB's usable half, in words): the analytical model produces outputs in tiles
    that fit it, so partial sums never go to DRAM. When the partial sums held across the outermost
    reduction loop exceed it, output loops (outermost first) move outside that loop: the DRAM-level
    loop over output tiles, inside which the GLB-level order is kept.

    ``dram``: the whole two-level mapping instead — the GLB-level groups within the GLB tile of the
    chosen DRAM schedule (``dram_kt`` filters, ``dram_ct`` channels, ``dram_bt`` output rows of
    ``dram_qt`` columns, whole kernels, one image), then the DRAM-level loops over those tiles in the
    schedule's order (``dram_order``; docs/cost-model.md, "GLB ↔ DRAM"), so that ZigZag costs the DRAM
    traffic of HDX's schedule too (``psum_words`` is then not used: the schedule says where partial sums
    go). The schedule's GLB tile holds the spatial unrolling's working set; where it is smaller than what
    the PE-local tile covers as well, the tile loops already hold more than the GLB tile and the
    ordering is HDX's mapping only approximately."""
    return _ordering(layer, acc, m, rounding, psum_words, dram)[0]


def _ordering(layer: Layer, acc: Accelerator, m: dict[str, float], rounding: Literal["down", "up"],
              psum_words: float | None, dram: bool) -> tuple[list[list], int, int, int]:
    """The ordering, how many of its innermost loops the GLB tile holds, how many DRAM-level loops over
    kernel-row chunks follow them (``dram``; else 0) and how many innermost loops are the PE-local
    tile's."""
    from hdx.cost.analytical import GROUPS, ORDERS  # the analytical model's loop groups
    from hdx.cost.analytical.memory import DRAM_LOOPS
    from hdx.cost.analytical.memory import ORDERS as DRAM_ORDERS

    left = temporal_sizes(layer, acc)
    out: list[list] = []
    kdim = "G" if layer.kind == "depthwise" else "K"

    def take(dim: str, want: float = math.inf) -> None:
        n = left.get(dim, 1)
        if want >= n:  # the whole remaining loop, innermost prime factor first
            out.extend([dim, f] for f in _prime_factors(n))
            left[dim] = 1
            return
        f = _divisor(n, want, rounding)
        if f > 1:
            out.append([dim, f])
            left[dim] = n // f

    taps = (("FX", m["s_in"]), ("FY", max(m["s_in"] // max(layer.s, 1), 1)))
    if acc.dataflow == "ws":
        for d, want in taps:
            take(d, want)
        take("C", m["c_in"])
    elif acc.dataflow == "os":
        if m["mode"] == 0:  # taps innermost, then the psums of k_in filters
            take("FX")
            take("FY")
            take(kdim, m["k_in"])
        else:  # k-inner: the input register is reused across k_in filters
            take(kdim, m["k_in"])
            take("FX")
            take("FY")
    else:  # the PE's innermost loop first (RS_MODES: taps, outputs of the row or filters), then the rest
        tile = [("FX", m["s_in"]), ("C", m["c_in"]), (kdim, m["k_in"]),
                ("OX", m["q_in"] if m["q_in"] > 0 else math.inf)]
        inner = ("FX", "OX", kdim)[int(m["mode"]) % 3]  # RS_MODES (3-5: inputs streamed, no window held)
        for d, want in sorted(tile, key=lambda t: t[0] != inner):
            take(d, want)
    n_tile = len(out)  # the PE-local tile loops stay innermost
    group_dims = {"pq": ("OX", "OY", "B"), "red": ("C", "FY", "FX"), "k": (kdim,)}
    dram = dram and "dram_order" in m
    cap: dict[str, float] = {}  # dram: the GLB-level loops stay within the schedule's GLB tile
    if dram:
        covered: dict[str, int] = {}  # what the spatial unrolling and the PE-local tile loops cover
        spatial = [kv for per_dim in spatial_unrolling(layer, acc).values() for kv in per_dim.items()]
        for d, f in spatial + out:
            covered[d] = covered.get(d, 1) * f
        # a DRAM tile of the whole loop: the GLB tile takes all of it (ZigZag's spatial factors need not
        # divide the loop, and a rounded cap would leave a DRAM-level loop the schedule does not have)
        whole = temporal_sizes(layer, acc, spatial={})  # every loop's whole bound (> 1 only)
        cap = {d: math.inf if tile >= whole.get(d, math.inf) else tile / covered.get(d, 1) for d, tile in
               ((kdim, m["dram_kt"]), ("C", m["dram_ct"]), ("OY", m["dram_bt"]),
                ("OX", m.get("dram_qt", math.inf)), ("FY", m.get("dram_rt", math.inf)), ("B", 1.0))}
    for g in ORDERS[int(m["order"])]:
        for d in group_dims[GROUPS[g]]:
            take(d, cap.get(d, math.inf))
    n_glb = len(out)  # the loops of the GLB tile (dram)
    n_rows = 0
    if dram:  # the DRAM-level loops over the GLB tiles, in the schedule's order
        take("FY")  # kernel-row chunks of the input tile (dram_rt), innermost
        n_rows = len(out) - n_glb
        dram_dims = {"k": (kdim,), "c": ("C",), "y": ("OY", "B"), "x": ("OX",)}
        for lp in DRAM_ORDERS[int(m["dram_order"])]:
            for d in dram_dims[DRAM_LOOPS[lp]]:
                take(d)
    for d in list(left):  # anything left (a grouped layer's G: groups one after another) goes outermost
        take(d)
    # (dram_res 2: all outputs stay in the GLB; with dram the schedule says where partial sums go)
    if psum_words is not None and not dram and m.get("dram_res", 0.0) != 2:
        # output tiles along K when inputs stay resident, else along PQ
        first = (kdim,) if m.get("dram_res", 0.0) == 0 else ("OY", "OX", "B")
        out = _output_tiles_outside(out, n_tile, psum_words, layer, acc, first)
    return out, n_glb, n_rows, n_tile


_OUT_DIMS = ("B", "G", "K", "OY", "OX")
_RED_DIMS = ("C", "FY", "FX")


def _output_tiles_outside(out: list[list], n_tile: int, cap: float, layer: Layer, acc: Accelerator,
                          first: tuple[str, ...]) -> list[list]:
    """Move output loops from inside the outermost reduction loop to the outside (the dims ``first``
    before the others, outermost first) until the partial sums held across it fit ``cap`` words (see
    :func:`ordering_from_mapping`)."""
    reds = [i for i, (d, _) in enumerate(out) if d in _RED_DIMS]
    if not reds:
        return out
    last = reds[-1]
    spatial = math.prod(f for per_dim in spatial_unrolling(layer, acc).values()
                        for d, f in per_dim.items() if d in _OUT_DIMS)
    held = spatial * math.prod(f for d, f in out[:last] if d in _OUT_DIMS)
    inner, moved = list(out[:last]), []
    for dims in (first, _OUT_DIMS):
        for i in range(len(inner) - 1, n_tile - 1, -1):
            if held <= cap:
                break
            if inner[i][0] in dims:
                held /= inner[i][1]
                moved.insert(0, inner.pop(i))
    return inner + out[last:] + moved


__all__ = ["hdx_orderings", "ordering_from_mapping", "pe_loops", "two_level_ordering"]
