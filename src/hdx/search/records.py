"""Typed records of a search run: what ``metrics.jsonl`` and ``final.json`` hold.

One schema for the loop that writes them, the run directory, the CLI printout, the report and the
benchmarks. Every record is a strict pydantic model (unknown keys refused) with ``to_json`` and
``from_json``; ``final.json`` carries :data:`SCHEMA_VERSION`. Metrics are canonical (ms, mJ, mm²).

* :class:`StepRecord` — one architecture step (``phase`` ``search`` or ``recheck``);
* :class:`EpochRecord` — one epoch's end;
* :class:`DesignRecord` — a (network, accelerator) design re-checked on the ground truth, with a
  :class:`~hdx.budgets.BudgetCheck` per budget;
* :class:`FillRecord` — what the budget-filling finish did (:mod:`hdx.search.fill`);
* :class:`SearchFinal` — the result of a search (``final.json``), with each budget's ground-truth
  ``slack`` as a first-class figure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hdx.budgets import BudgetCheck
from hdx.errors import HDXError

SCHEMA_VERSION = 1


class Record(BaseModel):
    """Base of the run records: strict, JSON round-trip."""

    model_config = ConfigDict(extra="forbid")

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``None`` fields left out)."""
        return self.model_dump(mode="json", exclude_none=True)

    @classmethod
    def from_json(cls, data: dict | str | Path):
        """Parse a dict, a JSON text or a JSON file (read safely); one-line :class:`HDXError` if invalid."""
        from hdx.safeio import loads_json, read_text

        what = cls.__name__
        if isinstance(data, Path):
            what = str(data)
            data = loads_json(read_text(data, what=what), what=what)
        elif isinstance(data, str):
            data = loads_json(data, what=what)
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            err = e.errors()[0]
            loc = ".".join(str(x) for x in err.get("loc", ())) or "(top level)"
            raise HDXError(f"{what} is not a valid {cls.__name__}: field '{loc}': {err.get('msg')}") from None


class BudgetValue(Record):
    """A budget's predicted value (canonical unit) and relative slack ``(limit − value)/limit``."""

    value: float
    slack: float


class StepRecord(Record):
    """One architecture step: CE, predicted costs (relaxed and argmax network), each budget's predicted
    value and slack, and (guarded searches) what the :class:`~hdx.search.guard.BudgetGuard` did."""

    phase: Literal["search", "recheck"]
    epoch: int
    step: int
    ce: float
    pred: dict[str, float]
    pred_argmax: dict[str, float]
    budgets: dict[str, BudgetValue] = Field(default_factory=dict)
    fired: bool = False
    verified: bool | None = None
    delta: list[float] | None = None
    violated: list[bool] | None = None
    targets: list[float] | None = None


class EpochRecord(Record):
    """End of one epoch: mean train CE and the argmax network."""

    phase: Literal["epoch"] = "epoch"
    epoch: int
    train_ce: float
    arch: str


class DesignRecord(Record):
    """A design re-checked on the ground truth: accelerator, metrics (ms, mJ, mm²), budget verdicts."""

    accelerator: str
    accel_index: int
    metrics: dict[str, float]
    budgets: list[BudgetCheck]
    feasible: bool  # every hard budget met

    @property
    def latency_ms(self) -> float:
        return self.metrics["latency"]

    @property
    def energy_mj(self) -> float:
        return self.metrics["energy"]

    @property
    def area_mm2(self) -> float:
        return self.metrics["area"]


class RecheckRound(Record):
    """One HDX re-check round after a ground-truth miss."""

    round: int
    targets: list[float]
    arch: str
    feasible: bool


class RetrainRecord(Record):
    """The derived network trained from scratch after the search (``hdx search --retrain-epochs N``):
    test accuracy in [0, 1] on ``test_images`` CIFAR-10 test images, params, MACs per 32×32 image."""

    arch: str
    width_mult: float
    epochs: int
    test_accuracy: float
    test_images: int
    params: int
    macs: int
    train_images: int
    device: str
    config: str
    run_dir: str


class FillMove(Record):
    """One accepted change of the budget fill: layer ``position`` from ``op_from`` to the larger
    ``op_to``; ``log_ratio`` = log p(op_to) − log p(op_from) at that position under the search's
    evidence (α without the guard's corrections, :mod:`hdx.search.fill`); ``macs_added`` (per
    image) and ``usage_added`` (the share of the binding budget it took, :func:`~hdx.search.fill.
    budget_usage`); ``metrics`` and ``slack`` (per hard budget) of the network after the change on its
    chosen accelerator (ground truth)."""

    position: int
    op_from: str
    op_to: str
    log_ratio: float
    macs_added: int
    usage_added: float
    metrics: dict[str, float]
    slack: dict[str, float]


class FillRecord(Record):
    """The budget-filling finish of an HDX search (:mod:`hdx.search.fill`, docs/budget-filling.md).

    ``mode``: the resolved setting (``grow``: the grown network is the result; ``off``: the published
    HDX finish, the argmax network as it is). ``applied``: the result is the grown network (it differs
    from the start). ``start``: the derived (argmax) network's design, the published HDX result;
    ``grown``: the network grown into the hard budgets from it (computed in every mode, so a run that
    keeps its slack states what the slack bought: ``objective_start`` vs ``objective_grown``).
    ``start_accuracy``: inherited accuracy of the start network when the grown one replaced it.
    """

    mode: Literal["grow", "off"]
    applied: bool
    reason: str
    start_arch: str
    start: DesignRecord
    grown_arch: str
    grown: DesignRecord
    moves: list[FillMove]
    objective_start: float
    objective_grown: float
    start_accuracy: dict[str, float] | None = None


class SearchFinal(Record):
    """The result of a search (``final.json``); deterministic (no wall-clock figures)."""

    schema_version: int = SCHEMA_VERSION
    status: Literal["feasible", "infeasible"]
    feasible: bool
    method: str
    arch: str
    accelerator: DesignRecord  # exhaustive ground-truth choice under the hard budgets
    accelerator_generator: DesignRecord  # the evaluator's generator's choice
    budgets: list[str]
    hard_budgets_met: dict[str, bool]
    accuracy_inherited: dict[str, float]
    objective: str
    objective_value: float
    predicted_end: dict[str, float]
    alpha_probs: list[list[float]]
    recheck_rounds: list[RecheckRound]
    min_achievable: dict[str, float]
    evaluator: str
    space: str
    accel_space: str
    cost_model: str
    data: dict[str, int]
    arch_steps: int
    weight_steps: int
    versions: dict[str, str]
    units: dict[str, str]
    retrained: RetrainRecord | None = None  # with retrain_epochs > 0
    slack: dict[str, float] = Field(default_factory=dict)  # per budget: (limit − value)/limit, ground truth
    fill: FillRecord | None = None  # HDX: the budget-filling finish (hdx.search.fill)

    @model_validator(mode="after")
    def _slack(self) -> SearchFinal:
        """Each budget's slack on the chosen design (ground truth), filled in from ``accelerator``."""
        if not self.slack:
            self.slack = {b.budget: b.slack for b in self.accelerator.budgets}
        return self

    def check_command(self, config: Any = None) -> str:
        """The ``hdx cost ... --check zigzag`` command that finds this run's accelerator again and has ZigZag
        cost it (:func:`hdx.cost.second_opinion.check_command`); the spaces as the run's ``config``
        (:class:`~hdx.search.config.SearchConfig`) gives them, a name or a YAML path, else the names kept
        here."""
        from hdx.cost.second_opinion import check_command

        return check_command(arch=self.arch, space=self.space if config is None else str(config.space),
                             accel_space=self.accel_space if config is None else str(config.accel_space),
                             objective=str(self.objective), budgets=self.budgets)

    @classmethod
    def read(cls, run_dir: str | Path) -> SearchFinal:
        """The ``final.json`` of a run directory."""
        return cls.from_json(Path(run_dir) / "final.json")
