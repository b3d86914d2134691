"""The array-level mapper: candidate PE-local tiles, the GLB-level loop order of each, and the choice of
the best candidate per (layer, accelerator) (docs/cost-model.md, "Mapper").

A dataflow (:mod:`.dataflows`) proposes :class:`Candidate` tiles as [L, A] arrays; :func:`best_order`
gives each its best order of the three GLB-level loop groups and :func:`select` keeps the best
candidate under the mapper objective. Everything is vectorised over [layers × accelerators]: the only
Python loops run over candidates and orders.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

import numpy as np

from hdx.cost.tech import TechTable
from hdx.errors import HDXError
from hdx.space.accelerator import HardwareParams

from .spatial import cdiv

MapperObjective = Literal["latency", "energy", "edp"]
MapperSpace = Literal["full", "taps-innermost"]
MapperTiles = Literal["any", "divisors"]

TIE = 1e-6  # mapping keys within this relative difference tie (above float32 rounding)
# outer (GLB-level) loop groups and their orders, innermost first
GROUPS: tuple[str, ...] = ("pq", "red", "k")
ORDERS: tuple[tuple[int, int, int], ...] = tuple(itertools.permutations(range(3)))


@dataclass(frozen=True)
class MapperSettings:
    """What the mapper needs besides the arrays: the template's fixed parameters, the technology table
    and the mapper's options (see :class:`~hdx.cost.analytical.AnalyticalModel`)."""

    hardware: HardwareParams
    tech: TechTable
    objective: MapperObjective
    space: MapperSpace
    tiles: MapperTiles
    bounds: bool = False  # also track the least cost of every tile over all orders (Least; for bounds)


class Distinct:
    """Remembers the tile parameters of the candidates evaluated so far: a candidate whose parameters
    equal an earlier one's for every (layer, accelerator) is the same mapping and is skipped (ties go to
    the first candidate anyway, so skipping it changes nothing)."""

    def __init__(self) -> None:
        self.seen: set[tuple] = set()

    def new(self, *params) -> bool:
        key = tuple((np.shape(p), np.asarray(p).tobytes()) for p in params)
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


@dataclass
class Least:
    """The least value over every GLB-level order of one PE-local tile (each taken separately): the
    array-side cycles, and per operand the fills per PE and the GLB words. The PE-local energy and the GLB
    words of a tile grow with its fills, so these bound every order's (hdx.cost.hwsearch)."""

    cycles: np.ndarray | float
    fills: dict
    words: dict


class Candidate:
    """Traffic of one mapping candidate on one dataflow's [L, A_d] slice: GLB words per operand ``w i
    o``, GLB port cycles, PE-local energy (pJ), hops, validity and the mapping fields it reports;
    ``lb``: (least cycles, least GLB words, least PE-local energy) over every GLB-level order of its tile
    (:class:`Least`; for bounds)."""

    __slots__ = ("valid", "w", "i", "o", "port", "local_pj", "hops", "fields", "lb")

    def __init__(self, valid, w, i, o, port, local_pj, hops, fields, lb=None):
        self.valid, self.w, self.i, self.o, self.port = valid, w, i, o, port
        self.local_pj, self.hops, self.fields, self.lb = local_pj, hops, fields, lb


def port_per_word(dist, bw: float):
    """GLB port cycles per word of an operand: one access per cycle, for one operand in one direction,
    of at most ``bw`` words; each access step of an operand carries its ``dist`` distinct words (one per
    group of PEs that share them), so it takes ``ceil(dist / bw)`` cycles, however few words it moves."""
    return cdiv(dist, bw) / dist


def port_cycles(words: dict, dist: dict, bw: float):
    """GLB port cycles of the array-side traffic ``words`` per operand (see :func:`port_per_word`)."""
    return sum(words[x] * port_per_word(dist[x], bw) for x in words)


def _skipped(rel: tuple, order: tuple[int, int, int]) -> list:
    """Groups of ``order`` (innermost first) in the innermost run an operand with relevance ``rel`` does
    not depend on (array relevance: ``("a", g)``, the run continues where it is irrelevant)."""
    out: list = []
    for g in order:
        r = rel[g]
        if isinstance(r, bool | np.bool_):
            if r:
                break
            out.append(g)
        else:
            out.append(("a", g))
    return out


def best_order(cfg: MapperSettings, bw: np.ndarray | float, floor: np.ndarray | float, ops: dict,
               bounds: tuple, o_tot: np.ndarray, compute: np.ndarray, fixed_port: np.ndarray | float = 0.0):
    """GLB words of the operands held in PE-local tiles under the best GLB-level loop order.

    ``ops`` maps operand (``w``, ``i``, ``o``) to (tile words ``fp``, distinct copies on the array
    ``dist``, relevance to the groups ``rel``). Returns (words per operand, fills per PE per operand,
    order index, GLB port cycles including ``fixed_port``, :class:`Least`). Fills = tile ×
    Π bounds ÷ Π bounds of the innermost run of irrelevant groups, so orders that skip the same groups
    for every operand are the same mapping and computed once.
    The order kept is the best under the mapper objective: least array-side cycles
    ``max(compute, GLB port cycles, floor)`` (``fixed_port``: the port cycles of operands not in ``ops``;
    ``floor``: the DRAM bound), ties to fewer GLB words; with ``objective="energy"`` fewer words first.
    ``bw``: the GLB ↔ array bandwidth of each accelerator (words per cycle; a scalar or [1, A]).
    """
    total = bounds[0] * bounds[1] * bounds[2]
    per_word = {x: port_per_word(dist, bw) for x, (_, dist, _) in ops.items()}
    energy_first = cfg.objective == "energy"
    opts: list[tuple] = []
    least = Least(np.inf, {x: np.inf for x in ops}, {x: np.inf for x in ops}) if cfg.bounds else None
    seen: set = set()
    for n, order in enumerate(ORDERS):
        # the groups each operand skips (innermost run it does not depend on); arithmetic only for
        # orders not seen before
        key = tuple((x, tuple(_skipped(rel, order))) for x, (_, _, rel) in ops.items())
        if key in seen:
            continue
        seen.add(key)
        fills, words = {}, {}
        for x, (fp, dist, rel) in ops.items():
            div, run = 1.0, True
            for g in order:
                r = rel[g]
                if isinstance(r, bool | np.bool_):
                    if r:
                        break
                    div = div * bounds[g] if run is True else div * np.where(run, bounds[g], 1.0)
                else:
                    run = np.logical_and(run, ~r)
                    div = div * np.where(run, bounds[g], 1.0)
            fills[x] = fp * total / div
            words[x] = fills[x] * dist
            if x == "o":  # psum writes, and read-backs of all but the first
                words[x] = words[x] + np.maximum(words[x] - o_tot, 0.0)
        tot = sum(words.values())
        port = fixed_port + sum(words[x] * per_word[x] for x in words)
        cyc = np.maximum(np.maximum(compute, port), floor)
        opts.append((n, fills, words, port, (tot, cyc) if energy_first else (cyc, tot)))
        if least is None:
            continue
        least.cycles = np.minimum(least.cycles, cyc)
        for x in ops:
            least.fills[x] = np.minimum(least.fills[x], fills[x])
            least.words[x] = np.minimum(least.words[x], words[x])
    shape = np.broadcast_shapes(*(np.shape(k) for o in opts for k in o[4]))
    n, fills, words, port, (b1, b2) = opts[0]
    order = np.full(shape, float(n), dtype=np.result_type(b1))
    for n, f_o, w_o, p_o, (k1, k2) in opts[1:]:  # a later order replaces the best only if strictly
        b = np.where(np.abs(k1 - b1) <= TIE * np.abs(b1), k2 < b2 * (1 - TIE), k1 < b1)  # better
        if not b.any():
            continue
        b1, b2 = np.where(b, k1, b1), np.where(b, k2, b2)
        fills = {x: np.where(b, f_o[x], fills[x]) for x in ops}
        words = {x: np.where(b, w_o[x], words[x]) for x in ops}
        port, order = np.where(b, p_o, port), np.where(b, n, order)
    bc = lambda d: {x: np.broadcast_to(v, shape) for x, v in d.items()}  # noqa: E731
    return bc(words), bc(fills), order, np.broadcast_to(port, shape), least


def select(cfg: MapperSettings, compute: np.ndarray, cands: list[Candidate], e_glb: np.ndarray,
           e_hop: float, floor: np.ndarray | float = 0.0, bounds: bool = False) -> dict:
    """The best candidate per (layer, accelerator) under the mapper objective (each candidate already
    carries its best GLB-level order): latency ``max(compute, GLB port cycles, floor)`` — ``floor`` the
    DRAM cycles of the layer's DRAM schedule (:mod:`.memory`), the same for every candidate — and the
    energy of the PE-local and GLB↔array accesses (the DRAM energy is the same for every candidate). So a
    DRAM-bound layer takes the cheapest array mapping that the DRAM hides. Ties (within :data:`TIE`
    relative, so float32 and float64 see the same ties) go to the second key, then to the first candidate.

    ``bounds``: also the least value over *every* legal mapping (candidate and order) of the array-side
    cycles (``lb_cycles``), of the GLB words (``lb_glb_words``) and of the PE-local energy with hops
    (``lb_local_pj``): each mapping of this accelerator is at least as costly in each, separately."""
    shape = compute.shape
    stack = lambda vals: np.stack([np.broadcast_to(v, shape) for v in vals])  # noqa: E731
    words = stack([c.w + c.i + c.o for c in cands])
    local = stack([c.local_pj for c in cands])
    hops = stack([c.hops for c in cands])
    port = stack([c.port for c in cands])
    valid = stack([c.valid for c in cands])
    cyc = np.where(valid, np.maximum(np.maximum(compute[None], port), floor), np.inf)
    energy = np.where(valid, local + words * e_glb + hops * e_hop, np.inf)
    keys = {"latency": (cyc, energy), "energy": (energy, cyc), "edp": (cyc * energy, cyc)}
    key1, key2 = keys[cfg.objective]
    m1 = key1.min(0)
    if not np.all(np.isfinite(m1)):
        raise HDXError("no legal mapping for some (layer, accelerator) pair: the RF is too small")
    k2 = np.where(key1 <= m1 + TIE * np.abs(m1), key2, np.inf)
    m2 = k2.min(0)
    pick = (k2 <= m2 + TIE * np.abs(m2)).argmax(0)[None]  # the first within the tie of both keys
    take = lambda a: np.take_along_axis(a, pick, 0)[0]  # noqa: E731
    fields = {}
    for k in cands[0].fields:
        vals = [c.fields[k] for c in cands]
        if all(np.ndim(v) == 0 for v in vals):  # one number per candidate: look it up
            fields[k] = np.asarray(vals, dtype=compute.dtype)[pick[0]]
        else:
            fields[k] = take(stack(vals))
    best = dict(glb_arr=take(words), glb_port=take(port), local_pj=take(local), hops=take(hops),
                fields=fields)
    fields.update(glb_words=best["glb_arr"], glb_cycles=best["glb_port"], hops=best["hops"])
    if bounds:
        best["bounds"] = dict(
            lb_cycles=np.where(valid, stack([c.lb[0] for c in cands]), np.inf).min(0),
            lb_glb_words=np.where(valid, stack([c.lb[1] for c in cands]), np.inf).min(0),
            lb_local_pj=np.where(valid, stack([c.lb[2] for c in cands]) + hops * e_hop, np.inf).min(0))
    return best
