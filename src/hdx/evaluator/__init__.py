"""Hardware-cost evaluators behind one interface (docs/design.md#the-evaluator-dance).

* ``"learned"``: the DANCE evaluator (hardware generator + cost estimator networks,
  :mod:`hdx.evaluator.learned`), pre-trained on ground-truth samples; a default ships in
  ``hdx/assets`` for the default space, grid and objective.
* ``"oracle"``: exact costs from the ground-truth cost table with a softmin over the accelerator grid
  (:mod:`hdx.evaluator.oracle`): no surrogate error, the reference the learned one is measured against.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from hdx.cost.base import CostModel
from hdx.errors import HDXError
from hdx.evaluator.base import EvalResult, Evaluator
from hdx.space.accelerator import AcceleratorSpace
from hdx.space.network import NetworkSpace

__all__ = ["EvalResult", "Evaluator", "default_evaluator_path", "load_evaluator"]


def default_evaluator_path(space_name: str, grid_name: str, objective: str = "edap") -> Path:
    """Where the shipped evaluator for (space, grid, objective) lives (it may not exist)."""
    from importlib import resources

    name = f"evaluator_{space_name}_{grid_name}_{objective}.safetensors"
    return Path(str(resources.files("hdx") / "assets" / name))


def load_evaluator(kind: Literal["learned", "oracle"] = "learned", path: str | Path | None = None, *,
                   space: NetworkSpace, grid: AcceleratorSpace, model: CostModel, objective: str = "edap",
                   **opts) -> Evaluator:
    """Load the evaluator a search uses.

    ``kind="learned"`` reads ``path`` (default: the shipped file for this space/grid/objective) and
    refuses a file built for another space, grid, cost model or objective. ``kind="oracle"`` builds
    the exact evaluator (``opts``: ``temperature``, ``cost_mode``, ``weights``, ``table``).
    """
    if kind == "oracle":
        from hdx.evaluator.oracle import OracleEvaluator

        return OracleEvaluator(space, grid, model, objective, **opts)
    if kind == "learned":
        from hdx.evaluator.learned import LearnedEvaluator

        if path is None:
            path = default_evaluator_path(space.name, grid.name, objective)
            if not path.is_file():
                raise HDXError(f"no shipped evaluator for space '{space.name}', grid '{grid.name}', "
                               f"objective '{objective}': build one with `hdx evaluator build --space "
                               f"{space.name} --accel-space {grid.name} --objective {objective} --out FILE` "
                               f"and pass its path")
        return LearnedEvaluator.load(path, space=space, grid=grid, model=model, objective=objective, **opts)
    raise HDXError(f"unknown evaluator kind '{kind}': use learned or oracle")
