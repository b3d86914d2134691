"""Hardware budgets as objects, with one text grammar for every command and file.

A budget bounds one canonical metric from above (:mod:`hdx.metrics`: latency ms, energy mJ, area mm²).

Grammar (``hdx search --budget``, ``hdx cost --budget``, config files, the Python API)::

    <metric> (<=|<|≤|=) <number>[<unit>][:hard|:soft]     e.g. latency<=16.6ms, energy<=1.5mJ:soft
    <metric> (<=|<|≤|=) p<percentile>[:hard|:soft]        e.g. latency<=p20 (relative to the space)
    several budgets in one text are separated by commas:    latency=2,area=1.5

``=`` means ``<=`` and a missing unit means the canonical unit (``latency=2`` is ``latency<=2ms``), so
``hdx cost --budget latency=2,area=1.5`` scripts keep working. Units (case-insensitive): latency
``ms s us µs ns``; energy ``mJ uJ µJ nJ pJ J``; area ``mm2 mm² um2 µm2 µm²``. A budget is hard unless
it says ``:soft``: hard budgets are guaranteed (gradient manipulation during the search, re-checked on
the ground truth after it); soft budgets add a TF-NAS penalty ``λ·|t/T − 1|`` and are only reported.

**Relative budgets** (:class:`RelativeBudget`): ``latency<=p20`` is the 20th percentile (0..100) of
the metric over the space's random networks, each on its best accelerator — resolved when the run's
space, grid and cost model are known (:mod:`hdx.cost.relative`: 2000 networks, seed 0, the
EDAP-optimal accelerator of each), and printed with its value. A number then never has to be re-frozen
when the cost model changes. :func:`parse_budget_specs` reads both kinds; :func:`parse_budgets` reads
absolute budgets only (a relative one is a one-line error saying where it can be used).

Every malformed text raises one one-line :class:`~hdx.errors.HDXError`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from hdx.errors import HDXError
from hdx.metrics import METRICS, UNITS

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
_EXAMPLE = "e.g. latency<=16.6ms, energy<=1.5mJ:soft, area<=2mm2 (or latency=16.6 in ms)"
_RE = re.compile(r"^\s*([A-Za-z_]+)\s*(<=|<|≤|=)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*"
                 r"([^\s:]*)\s*(?::\s*([A-Za-z]*))?\s*$")
_RE_REL = re.compile(r"^\s*([A-Za-z_]+)\s*(<=|<|≤|=)\s*[pP]\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*"
                     r"(?::\s*([A-Za-z]*))?\s*$")


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

    def met(self, value):
        """Whether ``value`` (canonical unit; a float or an array) satisfies ``value ≤ limit``."""
        return value <= self.limit if hasattr(value, "shape") else bool(value <= self.limit)

    def ratio(self, value):
        """``value / limit``: ≤ 1 when met (a float or an array)."""
        return value / self.limit

    def check(self, value: float) -> BudgetCheck:
        """The verdict of this budget for one ground-truth or predicted ``value``."""
        v = float(value)
        return BudgetCheck(budget=self.text(), metric=self.metric, kind=self.kind, limit=self.limit, value=v,
                           slack=self.slack(v), met=bool(self.met(v)))


class BudgetCheck(BaseModel):
    """One budget's verdict for one design: ``value ≤ limit``? (canonical units)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    budget: str
    metric: str
    kind: str
    limit: float
    value: float
    slack: float
    met: bool


@dataclass(frozen=True)
class RelativeBudget:
    """``metric ≤ p<percentile>``: a budget relative to the space, resolved to a :class:`Budget` once the
    run's space, grid and cost model are known (:mod:`hdx.cost.relative`)."""

    metric: Metric
    percentile: float  # 0..100
    kind: Kind = "hard"

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise HDXError(f"unknown budget metric '{self.metric}': use one of {', '.join(METRICS)}")
        if not (math.isfinite(self.percentile) and 0 <= self.percentile <= 100):
            raise HDXError(f"budget on {self.metric}: percentile p{self.percentile:g} must be in p0..p100 "
                           f"(e.g. latency<=p20)")
        if self.kind not in ("hard", "soft"):
            raise HDXError(f"budget kind must be hard or soft, got '{self.kind}'")

    @property
    def hard(self) -> bool:
        return self.kind == "hard"

    def text(self) -> str:
        """Canonical text form (parses back to an equal budget)."""
        return f"{self.metric}<=p{self.percentile:g}" + ("" if self.hard else ":soft")

    def __str__(self) -> str:
        return self.text()

    def resolve(self, limit: float) -> Budget:
        """The absolute budget this one stands for, given the percentile's value (canonical unit)."""
        return Budget(self.metric, limit, self.kind)


def _kind(text: str, kind: str | None) -> Kind:
    if kind is None:
        return "hard"
    kind = kind.lower()
    if kind not in ("hard", "soft"):
        raise HDXError(f"budget '{text}': unknown suffix ':{kind}', use :hard or :soft")
    return kind  # type: ignore[return-value]


def parse_budget_spec(text: str) -> Budget | RelativeBudget:
    """Parse one budget text, absolute (``latency<=2ms``) or relative (``latency<=p20``)."""
    m = _RE_REL.match(text) if isinstance(text, str) else None
    if m is None:
        return _parse_absolute(text)
    metric, _, num, kind = m.groups()
    metric = metric.lower()
    if metric not in METRICS:
        raise HDXError(f"budget '{text}': unknown metric '{metric}', use one of {', '.join(METRICS)}")
    return RelativeBudget(metric, float(num), _kind(text, kind))  # type: ignore[arg-type]


def parse_budget(text: str) -> Budget:
    """Parse one absolute budget text; a one-line :class:`HDXError` names the problem otherwise (a
    relative one included: it needs a space to be resolved)."""
    if isinstance(text, str) and _RE_REL.match(text):
        raise HDXError(f"budget '{text}' is relative to the space: hdx search, hdx cost and hdx sweep "
                       f"resolve it (hdx.cost.relative); here give a value, {_EXAMPLE}")
    return _parse_absolute(text)


def _parse_absolute(text: str) -> Budget:
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
    unit_l = unit.lower() if unit else UNITS[metric].lower()  # no unit: the canonical one
    if unit_l not in _UNIT_OF:
        raise HDXError(f"budget '{text}': unknown unit '{unit}', for {metric} use one of "
                       f"{', '.join(_UNITS[metric])}")
    if _UNIT_OF[unit_l] != metric:
        raise HDXError(f"budget '{text}': unit '{unit}' is a unit of {_UNIT_OF[unit_l]}, not of {metric} "
                       f"(use one of {', '.join(_UNITS[metric])})")
    kind_ = _kind(text, kind)
    value = float(num)
    if not (math.isfinite(value) and value > 0):
        raise HDXError(f"budget '{text}': the limit must be a positive number")
    return Budget(metric, value * _UNITS[metric][unit_l], kind_)  # type: ignore[arg-type]


BudgetSpec = Budget | RelativeBudget


def parse_budget_specs(texts: Iterable[str | BudgetSpec] | str | BudgetSpec | None) -> list[BudgetSpec]:
    """Parse several budgets, absolute or relative (each text may hold several, comma-separated); refuse
    two budgets of the same kind on the same metric."""
    if texts is None:
        return []
    if isinstance(texts, str | Budget | RelativeBudget):
        texts = [texts]
    items: list[str | BudgetSpec] = []
    for t in texts:
        if isinstance(t, str) and "," in t:
            items.extend(p for p in t.split(",") if p.strip())
        else:
            items.append(t)
    out: list[BudgetSpec] = []
    seen: dict[tuple[str, str], BudgetSpec] = {}
    for t in items:
        b = t if isinstance(t, Budget | RelativeBudget) else parse_budget_spec(t)
        if (b.metric, b.kind) in seen:
            raise HDXError(f"two {b.kind} budgets on {b.metric} ({seen[b.metric, b.kind]} and {b}): keep one")
        seen[b.metric, b.kind] = b
        out.append(b)
    return out


def parse_budgets(texts: Iterable[str | Budget] | str | Budget | None) -> list[Budget]:
    """Parse several absolute budgets (as :func:`parse_budget_specs`); a relative one is a one-line error
    (resolve it with :func:`resolve_budgets`)."""
    out = parse_budget_specs(texts)
    for b in out:
        if isinstance(b, RelativeBudget):
            parse_budget(b.text())  # raises the one line that says where relative budgets are resolved
    return out  # type: ignore[return-value]


def resolve_budgets(specs: Iterable[BudgetSpec], value: Callable[[str, float], float]) -> list[Budget]:
    """Absolute budgets: each relative one resolved by ``value(metric, percentile)`` (canonical unit)."""
    return [b.resolve(value(b.metric, b.percentile)) if isinstance(b, RelativeBudget) else b for b in specs]
