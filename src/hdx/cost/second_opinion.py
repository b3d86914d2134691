"""A second cost model's opinion of designs the first one chose.

``hdx cost --check zigzag`` (``hdx.api.cost(check="zigzag")``): the designs the analytical model reports —
the grid's best, its ``--check-top N`` best, or with ``by`` the best design at each knob value (a sizing
table) — are costed again, the same network on each, by an independent model (ZigZag, at the best mapping
it knows per layer: :meth:`~hdx.cost.zigzag.ZigZagModel.best_known`), and compared: each design's
metrics, objective value and budget verdict in the second model, the design it rates best among them,
the regret of the first model's pick in the second's terms, and the rank correlation of the two models'
objective values over the designs. It answers "would ZigZag choose the same GLB size (design) among
these, and does the budget hold in it?" for the designs at hand, not ZigZag's own best design at each
value (that would take a ZigZag search over the whole space). :func:`check_command` writes the command
that re-checks a search's result (printed by ``hdx search``, shown on the report page).

Units: latency in ms, energy in mJ, area in mm².
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hdx.budgets import Budget
from hdx.cost.base import CostModel, check_finite
from hdx.cost.feasibility import feasible_mask
from hdx.errors import HDXError
from hdx.metrics import Objective, cycles_to_ms, pj_to_mj, um2_to_mm2
from hdx.space.accelerator import Accelerator, AccelTable
from hdx.workload import LayerTable

#: the second models ``check`` accepts
CHECKS: tuple[str, ...] = ("zigzag",)
#: at most this many (layer, design) pairs are re-costed (ZigZag: about 0.1 s each)
MAX_CHECK_PAIRS = 2000


@dataclass
class SecondOpinion:
    """The second model's costs of designs ``[D]`` (ms, mJ, mm²), its objective values and budget verdicts,
    the index of the design it rates best (among those meeting the budgets in it; None: none does) and
    the Spearman rank correlation of the two models' objective values (None: fewer than 3 designs or a
    constant side)."""

    model: str
    accelerators: list[str]
    metrics: dict[str, np.ndarray]
    objective: np.ndarray
    feasible: np.ndarray
    best: int | None
    rank_correlation: float | None
    seconds: float
    #: per design, why the second model could not cost it (None: costed)
    errors: list[str | None]
    #: the first model's objective values of the same designs, where given
    first_objective: list[float] | None = None

    def to_dict(self, first_best: int | None = None) -> dict:
        """The JSON record (``check`` of ``hdx cost --json``); ``first_best``: the index of the design the
        first model rates best among them (named as ``first_best``), for ``agrees`` and ``regret`` (that
        design's objective in the second model over the second model's best, minus 1)."""
        m = self.metrics

        def num(x) -> float | None:  # (a design not costed: null, never NaN)
            return float(x) if np.isfinite(x) else None
        designs = [{"accelerator": a, "latency_ms": num(m["latency"][d]), "energy_mj": num(m["energy"][d]),
                    "area_mm2": num(m["area"][d]), "objective_value": num(self.objective[d]),
                    "feasible": bool(self.feasible[d]),
                    **({"first_objective_value": self.first_objective[d]} if self.first_objective else {}),
                    **({"error": self.errors[d]} if self.errors[d] else {})}
                   for d, a in enumerate(self.accelerators)]
        out: dict = {"model": self.model, "seconds": self.seconds, "designs": designs,
                     "best": None if self.best is None else self.accelerators[self.best],
                     "rank_correlation": self.rank_correlation}
        if first_best is not None:
            out["first_best"] = self.accelerators[first_best]
            out["agrees"] = self.best == first_best
            # the first model's pick in the second's terms: its objective over the second's best, minus 1
            # (None where the second model finds it over a budget or cannot cost it)
            out["regret"] = (float(self.objective[first_best] / self.objective[self.best] - 1)
                             if self.best is not None and self.feasible[first_best] else None)
        return out


def check_model(name: str, hardware) -> CostModel:
    """The second model ``name`` (one of :data:`CHECKS`) for ``hardware``; a one-line error otherwise."""
    if name not in CHECKS:
        raise HDXError(f"unknown check '{name}': use one of {', '.join(CHECKS)}")
    from hdx.cost import get_cost_model

    return get_cost_model(name, hardware)


def second_opinion(model: CostModel, layers: LayerTable, accels: Sequence[Accelerator], objective: Objective,
                   budgets: Sequence[Budget] = (), *, first_objective: Sequence[float] | None = None,
                   progress: bool | None = None) -> SecondOpinion:
    """``model``'s costs of the network ``layers`` on each of ``accels``, its objective values and budget
    verdicts (a design it cannot cost: NaN metrics, not feasible, its error kept), its best design among
    them and, given the first model's objective values of the same designs (``first_objective``), the
    rank correlation of the two over the designs both costed (see the module docstring).
    ``objective`` must carry its reference values where it needs them (``weighted``). ``progress``: a bar
    on stderr (default: when stderr is a terminal)."""
    if not accels:
        raise HDXError("a second opinion needs at least one design")
    name = getattr(model, "label", getattr(model, "name", "model"))
    first, inverse = layers.distinct()  # each distinct layer once (ZigZag runs are slow)
    pairs = len(first) * len(accels)
    if pairs > MAX_CHECK_PAIRS:
        raise HDXError(f"the check would cost {pairs} (layer, design) pairs with {name} (at most "
                       f"{MAX_CHECK_PAIRS}, about 0.1 s each with ZigZag): check fewer designs (a smaller "
                       f"--check-top, or fewer knobs in --by)")
    from tqdm import tqdm

    t0 = time.perf_counter()
    distinct = layers[first]
    show = sys.stderr.isatty() if progress is None else progress
    lat, energy, area, clock = [], [], [], 0.0
    # a design's network totals: each distinct layer's costs times how often the network has it
    counts = np.bincount(np.asarray(inverse).reshape(-1), minlength=len(distinct)).astype(np.float64)
    errors: list[str | None] = []
    for acc in tqdm(accels, desc=f"check: {name}", unit="design", file=sys.stderr, disable=not show,
                    leave=False):
        one = AccelTable.from_accels([acc])
        try:  # a design the second model cannot cost (ZigZag: no mapping fits its memories) is reported
            c = check_finite(model.evaluate(distinct, one), distinct, one, model=name)
        except HDXError as e:
            errors.append(str(e))
            for values in (lat, energy, area):
                values.append(np.nan)
            continue
        errors.append(None)
        lat.append(float(counts @ c.latency_cycles[:, 0]))
        energy.append(float(counts @ c.energy_total_pj[:, 0]))
        area.append(float(np.asarray(c.area_total_um2).reshape(-1)[0]))
        clock = c.clock_mhz
    clock = clock or float(getattr(getattr(model, "hardware", None), "clock_mhz", 1.0))
    metrics = {"latency": cycles_to_ms(np.array(lat), clock), "energy": pj_to_mj(np.array(energy)),
               "area": um2_to_mm2(np.array(area))}
    with np.errstate(invalid="ignore"):
        obj = np.asarray(objective.of(metrics), dtype=np.float64)
        ok = feasible_mask(metrics, budgets) & np.isfinite(obj)
    best = int(np.flatnonzero(ok)[np.argmin(obj[ok])]) if ok.any() else None
    rho = None
    if first_objective is not None:  # over the designs both models costed
        costed = np.isfinite(obj)
        rho = rank_correlation(np.asarray(first_objective, dtype=np.float64)[costed], obj[costed])
    firsts = None if first_objective is None else [float(v) for v in first_objective]
    seconds = time.perf_counter() - t0
    return SecondOpinion(name, [str(a) for a in accels], metrics, obj, ok, best, rho, seconds, errors, firsts)


def rank_correlation(a, b) -> float | None:
    """Spearman's ρ of ``a`` and ``b`` (ties averaged); None with fewer than 3 values or a constant side."""
    from scipy.stats import spearmanr

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.size < 3 or np.all(a == a[0]) or np.all(b == b[0]):
        return None
    rho = float(spearmanr(a, b).statistic)
    return rho if math.isfinite(rho) else None


def check_command(*, arch: str, space: str, accel_space: str, objective: str, budgets: Sequence[str]) -> str:
    """The ``hdx cost`` command that finds a search's accelerator again — the same network, spaces, objective
    (``weighted(latency=1,...)`` as ``--objective weighted --weights ...``) and budgets: the exhaustive
    ground-truth choice — and has ZigZag cost it (``--check zigzag``), quoted for a POSIX shell."""
    import shlex

    args = ["hdx", "cost", "--arch", arch, "--space", space, "--accel-space", accel_space]
    if objective.startswith("weighted(") and objective.endswith(")"):
        args += ["--objective", "weighted", "--weights", objective[len("weighted("):-1]]
    else:
        args += ["--objective", objective]
    for b in budgets:
        args += ["--budget", b]
    return " ".join(shlex.quote(a) for a in [*args, "--check", "zigzag"])
