"""The best design at each value of some knobs: a sizing table ("how big must the GLB be, and how wide?").

For the knobs given (e.g. ``glb_kib``, or ``glb_kib`` and ``glb_bw``), the space's designs fall into one
group per combination of the knobs' values; each group's best design under the objective and the hard
budgets is found exactly, all groups in one pass of :func:`hdx.cost.hwsearch.best_per_group` (enumeration,
or on a large space one branch and bound whose relaxation serves every group: a design is pruned only by
its own group's best). A group none of whose designs meets the budgets reports its closest design.

So the table shows what the objective gains from each step of a resource with everything else chosen
freely: where the DRAM words stop falling, a bigger buffer only adds area, access energy and leakage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hdx.budgets import Budget
from hdx.cost.hwsearch import Groups, SearchStats, SpaceBest, best_per_group
from hdx.errors import HDXError
from hdx.metrics import Objective
from hdx.space.accelerator import KNOBS, PADS, AcceleratorSpace
from hdx.workload import LayerTable

#: the most groups (combinations of the knobs' values) one table may have
MAX_GROUPS = 1024


@dataclass
class ValueBest:
    """The best design of one group: the knobs' values (``glb_bw`` None: the template's bandwidth) and
    the search's answer for the designs with those values."""

    values: dict[str, object]
    best: SpaceBest


def value_text(knob: str, value: object) -> str:
    """A knob value as the table and the figure print it (``glb_bw`` None: the template's bandwidth)."""
    if knob == "glb_bw" and value is None:
        return "template"
    return f"{value:g}" if isinstance(value, float) else str(value)


def parse_knobs(knobs: str | Sequence[str], space: AcceleratorSpace) -> tuple[str, ...]:
    """The knob names of ``knobs`` (comma-separated text or a sequence), checked against the space: each
    a knob of :data:`~hdx.space.accelerator.KNOBS`, once, and at most :data:`MAX_GROUPS` combinations."""
    items = knobs.split(",") if isinstance(knobs, str) else knobs
    if not isinstance(items, Sequence) or not all(isinstance(k, str) for k in items):
        raise HDXError(f"knobs of the table must be names (text), e.g. 'glb_kib' or ['glb_kib', 'glb_bw']; "
                       f"got {str(knobs)[:80]!r}")
    names = [k.strip() for k in items]
    if not names or any(not k for k in names):
        raise HDXError(f"give knob names for the table, e.g. glb_kib or glb_kib,glb_bw; got "
                       f"{str(knobs)[:80]!r}")
    for k in names:
        if k not in KNOBS:
            raise HDXError(f"unknown knob '{k[:40]}' for the table: use one of {', '.join(KNOBS)}")
        if k in PADS and not space.per_operand:
            raise HDXError(f"knob '{k}' is not one of space '{space.name}': its designs have one RF split by "
                           f"the dataflow; use rf_bytes")
        if k == "rf_bytes" and space.per_operand:
            raise HDXError(f"knob 'rf_bytes' is not one of space '{space.name}': it gives the storage per "
                           f"operand; use pad_w, pad_i or pad_o")
    if len(set(names)) != len(names):
        raise HDXError(f"each knob once in the table, got {','.join(names)}")
    n = int(np.prod([len(space.knob_values[k]) for k in names]))
    if n > MAX_GROUPS:
        raise HDXError(f"the knobs {','.join(names)} of space '{space.name}' make {n} combinations, more "
                       f"than {MAX_GROUPS}; give fewer knobs")
    return tuple(names)


def best_per_value(model, layers: LayerTable, space: AcceleratorSpace, objective: Objective,
                   budgets: Sequence[Budget] = (), *, knobs: str | Sequence[str] = "glb_kib",
                   method: str = "auto") -> tuple[list[ValueBest], SearchStats]:
    """The best design of ``space`` for ``layers`` at each combination of the values of ``knobs``, in
    the space's order of the values (the last knob fastest), and the statistics of the one search."""
    names = parse_knobs(knobs, space)
    cols = [KNOBS.index(k) for k in names]
    radix = [len(space.knob_values[k]) for k in names]
    strides = np.cumprod([1, *radix[:0:-1]])[::-1].astype(np.int64)  # mixed radix, the last knob fastest

    def group_of(index: np.ndarray) -> np.ndarray:
        return space.knob_indices(index)[..., cols] @ strides

    n = int(np.prod(radix))
    found = best_per_group(model, layers, space, objective, budgets, groups=Groups(n, group_of),
                           method=method)
    rows = []
    for g, best in enumerate(found):
        at = [(g // int(s)) % r for s, r in zip(strides, radix, strict=True)]
        rows.append(ValueBest({k: space.knob_values[k][j] for k, j in zip(names, at, strict=True)}, best))
    return rows, found[0].stats
