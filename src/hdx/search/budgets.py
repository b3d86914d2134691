"""Hardware budgets as objects: ``latency<=16.6ms``, ``area<=2mm2:hard``, ``energy<=1.5mJ:soft``.

A budget bounds one canonical metric from above. Limits are stored in the canonical units used
across HDX (:data:`hdx.cost.table.UNITS`): latency in ms, energy in mJ, area in mm².

Text form: ``<metric><=<number><unit>[:hard|:soft]`` (spaces allowed, ``<`` accepted as ``<=``).
Units: latency ``ms s us µs ns``; energy ``mJ uJ µJ nJ pJ J``; area ``mm2 mm² um2 µm2 µm²``.
A budget is hard unless it says ``:soft``. Hard budgets are enforced by gradient manipulation and
re-checked with the ground-truth model; soft budgets add a TF-NAS style penalty
``λ·|t/T − 1|`` to the loss and are only reported.

Every malformed text raises one-line :class:`~hdx.errors.HDXError` (no training has started yet).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from hdx.cost.table import METRICS, UNITS
from hdx.errors import HDXError

Metric = Literal["latency", "energy", "area"]
Kind = Literal["hard", "soft"]

# unit → factor to the canonical unit of its metric
_UNITS: dict[str, dict[str, float]] = {
    "latency": {"ms": 1.0, "s": 1e3, "us": 1e-3, "µs": 1e-3, "μs": 1e-3, "ns": 1e-6},
    "energy": {"mj": 1.0, "j": 1e3, "uj": 1e-3, "µj": 1e-3, "μj": 1e-3, "nj": 1e-6, "pj": 1e-9},
    "area": {"mm2": 1.0, "mm²": 1.0, "mm^2": 1.0, "um2": 1e-6, "µm2": 1e-6, "μm2": 1e-6, "µm²": 1e-6,
             "μm²": 1e-6, "um^2": 1e-6},
}
_UNIT_OF: dict[str, str] = {u: m for m, us in _UNITS.items() for u in us}
_EXAMPLE = "e.g. latency<=16.6ms, energy<=1.5mJ:soft, area<=2mm2"
_RE = re.compile(r"^\s*([A-Za-z_]+)\s*(<=|<|≤)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*"
                 r"([^\s:]*)\s*(?::\s*([A-Za-z]*))?\s*$")


@dataclass(frozen=True)
class Budget:
    """Upper bound ``metric ≤ limit`` in canonical units (ms, mJ, mm²); ``hard`` or ``soft``."""

    metric: Metric
    limit: float
    kind: Kind = "hard"

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise HDXError(f"unknown budget metric '{self.metric}': use one of {', '.join(METRICS)}")
        if not (math.isfinite(self.limit) and self.limit > 0):
            raise HDXError(f"budget on {self.metric} must be a positive finite number, got {self.limit}")
        if self.kind not in ("hard", "soft"):
            raise HDXError(f"budget kind must be hard or soft, got '{self.kind}'")

    @property
    def unit(self) -> str:
        return UNITS[self.metric]

    @property
    def hard(self) -> bool:
        return self.kind == "hard"

    @property
    def key(self) -> str:
        """Short name used in metric logs, e.g. ``latency`` or ``latency_soft``."""
        return self.metric if self.hard else f"{self.metric}_soft"

    def text(self) -> str:
        """Canonical text form (parses back to an equal budget)."""
        return f"{self.metric}<={self.limit:.6g}{self.unit}" + ("" if self.hard else ":soft")

    def __str__(self) -> str:
        return self.text()

    def slack(self, value: float) -> float:
        """Relative slack ``(limit − value) / limit``: ≥ 0 when met, < 0 when violated."""
        return (self.limit - value) / self.limit

    def met(self, value: float) -> bool:
        """Whether ``value`` (canonical unit) satisfies the budget (``value ≤ limit``)."""
        return bool(value <= self.limit)


def parse_budget(text: str) -> Budget:
    """Parse one budget text; a one-line :class:`HDXError` names the problem otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise HDXError(f"empty budget: write <metric><=<value><unit>, {_EXAMPLE}")
    m = _RE.match(text)
    if not m:
        if ">" in text:
            raise HDXError(f"budget '{text}': only upper bounds (<=) are supported, {_EXAMPLE}")
        raise HDXError(f"malformed budget '{text}': write <metric><=<value><unit>[:hard|:soft], {_EXAMPLE}")
    metric, _, num, unit, kind = m.groups()
    metric = metric.lower()
    if metric not in METRICS:
        raise HDXError(f"budget '{text}': unknown metric '{metric}', use one of {', '.join(METRICS)}")
    if not unit:
        raise HDXError(f"budget '{text}': missing unit, give one of {', '.join(_UNITS[metric])}")
    unit_l = unit.lower()
    if unit_l not in _UNIT_OF:
        raise HDXError(f"budget '{text}': unknown unit '{unit}', for {metric} use one of "
                       f"{', '.join(_UNITS[metric])}")
    if _UNIT_OF[unit_l] != metric:
        raise HDXError(f"budget '{text}': unit '{unit}' is a unit of {_UNIT_OF[unit_l]}, not of {metric} "
                       f"(use one of {', '.join(_UNITS[metric])})")
    if kind is not None:
        kind = kind.lower()
        if kind not in ("hard", "soft"):
            raise HDXError(f"budget '{text}': unknown suffix ':{kind}', use :hard or :soft")
    value = float(num)
    if not (math.isfinite(value) and value > 0):
        raise HDXError(f"budget '{text}': the limit must be a positive number")
    return Budget(metric, value * _UNITS[metric][unit_l], kind or "hard")  # type: ignore[arg-type]


def parse_budgets(texts: Iterable[str | Budget]) -> list[Budget]:
    """Parse several budgets; refuse two budgets of the same kind on the same metric."""
    out: list[Budget] = []
    seen: dict[tuple[str, str], Budget] = {}
    for t in texts:
        b = t if isinstance(t, Budget) else parse_budget(t)
        if (b.metric, b.kind) in seen:
            raise HDXError(f"two {b.kind} budgets on {b.metric} ({seen[b.metric, b.kind]} and {b}): keep one")
        seen[b.metric, b.kind] = b
        out.append(b)
    return out


def hard_budgets(budgets: Iterable[Budget]) -> list[Budget]:
    return [b for b in budgets if b.hard]


def soft_budgets(budgets: Iterable[Budget]) -> list[Budget]:
    return [b for b in budgets if not b.hard]
