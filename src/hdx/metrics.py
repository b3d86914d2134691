"""The hardware metrics, their units and the hardware objective: one vocabulary for all of HDX.

Canonical metrics and units everywhere above the cost models: ``latency`` in ms, ``energy`` in mJ,
``area`` in mm². Cost models report cycles, pJ and µm² per layer; the conversions are here and
nowhere else (:func:`cycles_to_ms`, :func:`pj_to_mj`, :func:`um2_to_mm2`).

The hardware **objective** ``J`` (:class:`Objective`) is one of

* ``edap`` = energy · latency · area (mJ·ms·mm²),
* ``latency``, ``energy`` or ``area`` alone,
* ``weighted`` = Σ_m w_m · metric_m / ref_m: user weights on metrics *normalised by one reference*
  (``ref``: the median over the accelerator grid of the exact expected cost of the uniform
  architecture distribution, :meth:`hdx.cost.table.CostTable.reference`), so that
  ``{latency: 1, energy: 1}`` counts a 1 % latency change like a 1 % energy change.

The same :class:`Objective` (and so the same reference) is used by the exact oracle, by the labels the
learned evaluator is trained on, by the search's cost term and by the final accelerator choice.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Literal

from hdx.errors import HDXError

METRICS: tuple[str, ...] = ("latency", "energy", "area")
UNITS: dict[str, str] = {"latency": "ms", "energy": "mJ", "area": "mm2"}
ObjectiveName = Literal["edap", "latency", "energy", "area", "weighted"]
OBJECTIVES: tuple[str, ...] = ("edap", "latency", "energy", "area", "weighted")


# ---------------------------------------------------------------------------------------------------
# units
def cycles_to_ms(cycles, clock_mhz: float):
    """Cycles at ``clock_mhz`` to milliseconds (numpy, torch or float)."""
    return cycles / (clock_mhz * 1e3)


def pj_to_mj(pj):
    """Picojoules to millijoules."""
    return pj * 1e-9


def um2_to_mm2(um2):
    """Square micrometres to square millimetres."""
    return um2 * 1e-6


# ---------------------------------------------------------------------------------------------------
# weights
def check_weights(weights: dict[str, float] | None) -> dict[str, float]:
    """Validate the per-metric weights of ``weighted`` (finite, ≥ 0, at least one > 0)."""
    if not weights:
        raise HDXError("objective 'weighted' needs weights, e.g. --weights latency=1,energy=1")
    unknown = set(weights) - set(METRICS)
    if unknown:
        raise HDXError(f"unknown metric(s) in weights: {sorted(unknown)} (use {', '.join(METRICS)})")
    vals = list(weights.values())
    if any(not math.isfinite(w) or w < 0 for w in vals) or not any(w > 0 for w in vals):
        raise HDXError("objective weights must be finite and >= 0, with at least one > 0")
    return dict(weights)


_WEIGHT = re.compile(r"^\s*([A-Za-z_]+)\s*[=:]\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


def parse_weights(text: str | None) -> dict[str, float] | None:
    """Parse ``latency=1,energy=0.5`` (metric=number, no units: weights multiply normalised metrics).

    ``None`` or empty text gives ``None``; a malformed part is a one-line :class:`HDXError`.
    """
    if text is None or not str(text).strip():
        return None
    out: dict[str, float] = {}
    for part in (p for p in str(text).split(",") if p.strip()):
        m = _WEIGHT.match(part)
        if not m:
            raise HDXError(f"malformed weight '{part.strip()}': write metric=number, e.g. "
                           f"latency=1,energy=0.5 (no units: weights apply to normalised metrics)")
        metric, val = m.group(1).lower(), float(m.group(2))
        if metric not in METRICS:
            raise HDXError(f"weight '{part.strip()}': unknown metric '{metric}', "
                           f"use one of {', '.join(METRICS)}")
        if metric in out:
            raise HDXError(f"weight of {metric} given twice")
        out[metric] = val
    return check_weights(out)


# ---------------------------------------------------------------------------------------------------
# the objective
@dataclass(frozen=True)
class Objective:
    """The hardware objective ``J`` (see the module docstring).

    ``weights`` are the user's per-metric weights of ``weighted`` (ignored otherwise); ``reference``
    the per-metric reference values (ms, mJ, mm²) they apply to. ``weighted`` needs both.
    """

    name: str = "edap"
    weights: dict[str, float] | None = None
    reference: dict[str, float] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.name not in OBJECTIVES:
            raise HDXError(f"unknown objective '{self.name}': use one of {', '.join(OBJECTIVES)}")
        if self.name == "weighted":
            object.__setattr__(self, "weights", check_weights(self.weights))
            ref = self.reference
            if ref is not None and any(not (math.isfinite(ref.get(m, float("nan"))) and ref[m] > 0)
                                       for m in self.weights):
                raise HDXError(f"objective reference values must be positive and finite, got {ref}")

    def with_reference(self, reference: dict[str, float]) -> Objective:
        """This objective with its reference values set (only ``weighted`` uses them)."""
        return Objective(self.name, self.weights, {m: float(reference[m]) for m in METRICS})

    @classmethod
    def from_coefficients(cls, name: str, coefficients: dict[str, float] | None) -> Objective:
        """An objective given by its effective coefficients (as stored in evaluator metadata)."""
        if name != "weighted":
            return cls(name)
        return cls(name, dict(coefficients or {}), {m: 1.0 for m in METRICS})

    @property
    def coefficients(self) -> dict[str, float] | None:
        """Effective per-metric coefficients of ``weighted`` (weight / reference), else ``None``."""
        if self.name != "weighted":
            return None
        if self.reference is None:
            raise HDXError("objective 'weighted' has no reference values: build it with "
                           "CostTable.objective(...) or Objective.with_reference(...)")
        return {m: w / self.reference[m] for m, w in self.weights.items()}

    def __call__(self, latency, energy, area):
        """``J`` from canonical metrics; numpy arrays, torch tensors or floats, elementwise."""
        if self.name == "edap":
            return energy * latency * area
        if self.name == "latency":
            return latency
        if self.name == "energy":
            return energy
        if self.name == "area":
            return area
        vals = {"latency": latency, "energy": energy, "area": area}
        return sum(c * vals[m] for m, c in self.coefficients.items())

    def of(self, metrics: dict):
        """``J`` of a metrics mapping with keys latency, energy, area."""
        return self(metrics["latency"], metrics["energy"], metrics["area"])

    def __str__(self) -> str:
        if self.name != "weighted":
            return self.name
        return "weighted(" + ",".join(f"{m}={w:g}" for m, w in self.weights.items()) + ")"
