"""The search's setup (:func:`prepare`): everything that can fail on bad input, before any training —
budgets parsed (relative ones resolved on the space: :mod:`hdx.cost.relative`) → spaces and cost model →
exact :class:`~hdx.cost.table.CostTable` → budgets below the minimum achievable refused → evaluator
loaded and checked against this space/grid/cost model (``auto``: the shipped one only where it fits,
else the exact oracle) → objective calibrated on the uniform architecture distribution. And the data
of a search (:func:`load_data`: train, held-out, BN-calibration and test loaders).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from hdx.budgets import Budget, parse_budget_specs
from hdx.cost import get_cost_model
from hdx.cost.relative import resolve as resolve_relative
from hdx.cost.table import CostTable
from hdx.errors import HDXError
from hdx.metrics import Objective
from hdx.search.config import SearchConfig
from hdx.search.finish import Achievable, ensure_compatible, require_achievable
from hdx.search.guard import BudgetGuard, MethodPolicy, policy
from hdx.search.objectives import CostTerm
from hdx.space.accelerator import AcceleratorSpace
from hdx.space.network import NetworkSpace


@dataclass
class SearchSetup:
    """Everything a search needs except data and the supernet (built by :func:`prepare`)."""

    cfg: SearchConfig
    space: NetworkSpace
    grid: AcceleratorSpace
    table: CostTable
    budgets: list[Budget]
    evaluator: torch.nn.Module
    evaluator_kind: str
    objective: Objective
    cost_term: CostTerm
    achievable: Achievable
    notes: list[str] = field(default_factory=list)  # one line each, said before the search starts

    @property
    def policy(self) -> MethodPolicy:
        return policy(self.cfg.method)

    @property
    def penalised(self) -> list[Budget]:
        """Budgets that add a TF-NAS penalty under this method."""
        return self.policy.penalised_budgets(self.budgets)

    def guard(self) -> BudgetGuard:
        """A fresh :class:`BudgetGuard` for the budgets this method guards (none but under ``hdx``)."""
        c = self.cfg
        return BudgetGuard(self.policy.guarded_budgets(self.budgets), self.table, delta0=c.delta0,
                           w=c.delta_w, delta_max=c.delta_max, violation_check=c.violation_check,
                           tighten=c.tighten)


def _shipped_learned(cfg: SearchConfig, space, grid, model) -> tuple[Path | None, str]:
    """The learned evaluator ``auto`` would take for this run (its path), or None and why not."""
    from hdx.evaluator import default_evaluator_path

    shipped = default_evaluator_path(space.name, grid.name, cfg.objective)
    if not shipped.is_file():
        return None, (f"no learned evaluator ships for space '{space.name}' on '{grid.name}' "
                      f"({cfg.objective})")
    from hdx.evaluator.learned import LearnedEvaluator, mismatch

    problem = mismatch(LearnedEvaluator.read_meta(shipped)[0], space=space, grid=grid, model=model,
                       objective=cfg.objective)
    if problem:
        return None, f"the shipped learned evaluator was built for {problem}"
    return shipped, ""


def _load_evaluator(cfg: SearchConfig, space, grid, model, table, objective: Objective, notes: list[str]
                    ) -> tuple[torch.nn.Module, str]:
    """The evaluator ``cfg.evaluator`` names. ``auto``: the shipped learned evaluator for this space,
    grid and objective when its metadata fits the run (space and grid configs, cost-model fingerprint),
    else the exact oracle with a note in ``notes`` (a table kept on disk has been checked to have a learned
    one: :func:`_plan_table`); a file or ``learned`` named explicitly is refused with one line when it
    does not fit."""
    from hdx.evaluator import load_evaluator

    kind = cfg.evaluator
    if kind == "auto":
        shipped, why = _shipped_learned(cfg, space, grid, model)
        kind = "learned" if shipped is not None else "oracle"
        if shipped is None:
            notes.append(f"evaluator auto: {why}; the exact oracle over the cost table's "
                         f"{table.num_accels} designs")
        elif table.on_disk:
            notes.append("evaluator auto: the learned evaluator (the cost table is kept on disk; the exact "
                         "oracle needs it in memory)")
    if kind == "oracle":
        ev = load_evaluator("oracle", space=space, grid=grid, model=model, objective=objective,
                            table=table, temperature=cfg.oracle_temperature)
        label = "oracle"
    elif kind == "learned":
        ev = load_evaluator("learned", None, space=space, grid=grid, model=model, objective=cfg.objective)
        label = "learned (shipped)"
    else:
        p = Path(kind)
        if not p.is_file():
            raise HDXError(f"evaluator '{kind}': use auto, learned, oracle or the path of an evaluator file")
        ev = load_evaluator("learned", p, space=space, grid=grid, model=model, objective=cfg.objective)
        label = f"learned ({p})"
    ensure_compatible(ev, table)
    ev.eval()
    for prm in ev.parameters():
        prm.requires_grad_(False)
    return ev, label


def _plan_table(cfg: SearchConfig, space: NetworkSpace, grid: AcceleratorSpace, model) -> tuple[int, bool]:
    """The bytes of the exact cost table and whether it stays on disk (memory-mapped): a table of more
    than :data:`~hdx.space.accelerator.MAX_GRID` designs beyond ``table_memory_mb`` does, when the
    evaluator is learned (``auto`` only if a learned one is there for this space and grid; the exact
    oracle needs the table in memory). Refused in one line otherwise, before anything is built (the disk
    itself is checked by :meth:`CostTable.build`)."""
    from hdx.cost.table_build import require_fits, table_bytes
    from hdx.space.accelerator import MAX_GRID

    kind = cfg.evaluator  # a learned evaluator that is not there is refused before any table is built
    build = (f"hdx evaluator build --space {cfg.space} --accel-space {cfg.accel_space} --objective "
             f"{cfg.objective}")
    if kind == "learned":
        shipped, why = _shipped_learned(cfg, space, grid, model)
        if shipped is None:
            raise HDXError(f"evaluator learned: {why}; build one with `{build}` or use evaluator auto")
    elif kind not in ("auto", "oracle") and not Path(kind).is_file():
        raise HDXError(f"evaluator '{kind}': use auto, learned, oracle or the path of an evaluator file")
    if len(grid) <= MAX_GRID:
        return require_fits(space, grid, cfg.table_memory_mb, "raise table_memory_mb (search config) or "
                            "fix some knobs of the space"), False
    need = table_bytes(space, grid, compact=True)
    if need <= cfg.table_memory_mb * 2**20:
        return need, False
    if kind == "oracle":  # refused: the oracle differentiates through the whole table
        require_fits(space, grid, cfg.table_memory_mb, f"the exact oracle needs it in memory: raise "
                     f"table_memory_mb (search config), or build a learned evaluator ({build}) and use "
                     f"evaluator auto")
    if kind == "auto":
        shipped, why = _shipped_learned(cfg, space, grid, model)
        if shipped is None:
            raise HDXError(f"evaluator auto: the exact cost table of {len(grid)} designs needs "
                           f"{need / 2**20:.0f} MiB, more than table_memory_mb {cfg.table_memory_mb}, and "
                           f"{why}: build one with `{build}` (auto then finds it), or raise table_memory_mb")
    return need, True


def _build_table(cfg: SearchConfig, space: NetworkSpace, grid: AcceleratorSpace, model
                 ) -> tuple[CostTable, str | None]:
    """The exact cost table (planned by :func:`_plan_table`). A space beyond
    :data:`~hdx.space.accelerator.MAX_GRID` designs is built in slices on every core, with a progress
    bar, and cached in the user cache (:mod:`hdx.cost.table_build`): the note says so, and whether the
    table is held in memory or read from disk."""
    from hdx.space.accelerator import MAX_GRID

    need, on_disk = _plan_table(cfg, space, grid, model)
    if len(grid) <= MAX_GRID:
        return CostTable.build(space, grid, model), None
    from tqdm import tqdm

    lines: list[str] = []
    bars: list = []  # a bar only while slices are built (none when the table comes from the cache)

    def progress(done: int, total: int) -> None:
        if not bars:
            bars.append(tqdm(total=total, desc="cost table (slices)", disable=not cfg.progress, leave=False))
        bars[0].n = done
        bars[0].refresh()
    try:
        table = CostTable.build(space, grid, model, progress=progress, log=lines.append, on_disk=on_disk)
    finally:
        for bar in bars:
            bar.close()
    where = (f"{need / 2**20:.0f} MiB on disk, memory-mapped: more than table_memory_mb "
             f"{cfg.table_memory_mb}" if on_disk else f"{need / 2**20:.0f} MiB in memory")
    return table, f"{'; '.join(lines)} ({where})"


def prepare(cfg: SearchConfig) -> SearchSetup:
    """Validate everything that does not need training; one-line :class:`HDXError` on bad input."""
    specs = parse_budget_specs(cfg.budgets)
    space = NetworkSpace.load(cfg.space)
    grid = AcceleratorSpace.load(cfg.accel_space)
    model = get_cost_model(cfg.cost_backend, grid.hardware)
    table, table_note = _build_table(cfg, space, grid, model)
    budgets, notes = resolve_relative(specs, table, space)  # latency<=p20 -> its value on this space
    notes[:0] = [table_note] if table_note else []
    achievable = require_achievable(table, budgets, grid)
    from hdx.train.retrain import check_retrain

    check_retrain(cfg)  # a bad retrain option never costs a search
    objective = table.objective(cfg.objective, cfg.weights)
    evaluator, kind = _load_evaluator(cfg, space, grid, model, table, objective, notes)
    cost_term = CostTerm(objective)
    uniform = torch.as_tensor(table.uniform_probs(), dtype=torch.float32)
    with torch.no_grad():
        cost_term.calibrate(evaluator(uniform).costs)
    return SearchSetup(cfg, space, grid, table, budgets, evaluator, kind, objective, cost_term, achievable,
                       notes)


@dataclass
class SearchData:
    """Loaders of one search: train (augmented), val (arch steps), BN calibration, test subset."""

    train: object
    val: object
    calib: object
    val_eval: object
    test: object | None
    sizes: dict = field(default_factory=dict)


def load_data(cfg: SearchConfig, device: torch.device | str = "cpu") -> SearchData:
    from hdx.data import Augment, BatchLoader, load_cifar10, split_train_val, subset

    dev = {"device": device, "device_rng": torch.device(device).type == "cuda"}  # data held on the device

    if cfg.fake_data:
        from hdx.data.fake import fake_images

        x, y = fake_images(cfg.subset or 512, cfg.seed + 12345)
        test_x, test_y = x[: cfg.eval_images], y[: cfg.eval_images]
    else:
        ds = load_cifar10(cfg.data, download=True, progress=cfg.progress)  # fetched on first use
        x, y = subset(ds.train_x, ds.train_y, cfg.subset, seed=cfg.seed)
        test_x, test_y = subset(ds.test_x, ds.test_y, max(1, cfg.eval_images), seed=cfg.seed)
    n_val = max(1, int(round(x.shape[0] * cfg.val_fraction)))
    (tx, ty), (vx, vy) = split_train_val(x, y, val_size=n_val, seed=cfg.seed)
    bs = cfg.batch_size
    train = BatchLoader(tx, ty, batch_size=bs, augment=Augment(), shuffle=True, drop_last=True, seed=cfg.seed,
                        **dev)
    val = BatchLoader(vx, vy, batch_size=bs, augment=None, shuffle=True, drop_last=True, seed=cfg.seed + 1,
                      **dev)
    if len(train) == 0 or len(val) == 0:
        raise HDXError(f"subset too small for batch size {bs}: {tx.shape[0]} train / {vx.shape[0]} val "
                       f"images; raise --subset or lower batch_size")
    calib = BatchLoader(tx, ty, batch_size=bs, augment=None, shuffle=False, **dev)
    val_eval = BatchLoader(vx, vy, batch_size=500, augment=None, shuffle=False, **dev)
    test = (BatchLoader(test_x, test_y, batch_size=500, augment=None, shuffle=False, **dev) if cfg.eval_images
            else None)
    return SearchData(train, val, calib, val_eval, test,
                      {"train": int(tx.shape[0]), "val": int(vx.shape[0]), "test": int(test_x.shape[0])})
