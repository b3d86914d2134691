"""Build a learned evaluator end to end: cost table → samples → generator + estimator → file.

:func:`build_evaluator` is what ``hdx evaluator build`` runs; it is deterministic for a seed on CPU.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from hdx.cost.base import CostModel
from hdx.cost.table import CostTable
from hdx.errors import HDXError
from hdx.evaluator.data import DataSpec, EvalDataset, generate
from hdx.evaluator.learned import LearnedEvaluator, make_meta
from hdx.evaluator.train import EvaluatorConfig, split_archs, train_estimator, train_generator
from hdx.metrics import OBJECTIVES
from hdx.space.accelerator import AcceleratorSpace
from hdx.space.network import NetworkSpace


def build_evaluator(space: NetworkSpace, grid: AcceleratorSpace, model: CostModel, *, objective: str = "edap",
                    data_spec: DataSpec | None = None, config: EvaluatorConfig | None = None,
                    dataset: EvalDataset | None = None, table: CostTable | None = None, workers: int = 1,
                    work_dir=None, threads: int | None = 1, progress: bool = True,
                    log: Callable[[str], None] | None = None, use_ray: bool = False,
                    address: str | None = None) -> tuple[LearnedEvaluator, EvalDataset]:
    """Generate samples (unless ``dataset`` is given; ``use_ray`` / ``address``: as Ray tasks,
    :func:`hdx.evaluator.data.generate`), train both networks, return the evaluator.

    ``threads``: torch CPU threads while training (1 is fastest on a shared 2-core machine; None:
    leave torch's setting).
    """
    if objective not in OBJECTIVES or objective == "area":
        raise HDXError(f"objective '{objective}' cannot drive a hardware generator: use edap, latency, "
                       f"energy or weighted")
    config = config or EvaluatorConfig()
    say = log or (lambda s: None)
    old_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        t0 = time.perf_counter()
        if table is None:
            table = CostTable.build(space, grid, model)
        if dataset is None:
            say(f"generating samples: {(data_spec or DataSpec()).n_archs} architectures on {len(grid)} "
                f"accelerators")
            dataset = generate(space, grid, model, data_spec, workers=workers, work_dir=work_dir, table=table,
                               use_ray=use_ray, address=address)
            rate = dataset.meta.get("labels_per_s_per_worker")
            say(f"  {dataset.num_pairs} pairs, {dataset.num_archs} optimal-accelerator labels in "
                f"{dataset.meta['seconds']:.1f} s" + (f" ({rate:.1f} labelled networks/s per Ray worker, "
                f"{dataset.num_archs / (rate * 64) / 60:.1f} min on 64 cores)" if rate else ""))
        dataset.check_matches(space=space, grid=grid, fingerprint=model.fingerprint())
        tr, va = split_archs(dataset.num_archs, config.val_fraction, config.seed)
        say(f"training the hardware generator ({objective}) on {len(tr)} networks")
        gen, ginfo = train_generator(dataset, grid, objective, config, tr, va, progress=progress)
        say("  per-knob validation accuracy: "
            + ", ".join(f"{k} {100 * v:.1f} %" for k, v in ginfo["val_accuracy"].items()))
        say(f"training the cost estimator on {len(tr)} networks' pairs")
        est, einfo = train_estimator(dataset, grid, config, tr, va, progress=progress)
        say("  median validation |rel. err|: "
            + ", ".join(f"{k} {100 * v:.2f} %" for k, v in einfo["val_median_rel_err"].items()))
        dm = dataset.meta
        training = {
            "dataset": {k: dm[k] for k in ("n_archs", "n_pairs", "n_soft", "seconds", "spec")},
            "generator": {k: v for k, v in ginfo.items() if k != "history"},
            "estimator": {k: v for k, v in einfo.items() if k != "history"},
            "seconds_total": round(time.perf_counter() - t0, 1),
        }
        weights = dm["weights"] if objective == "weighted" else None
        meta = make_meta(space, grid, dm, objective, weights, training)
        return LearnedEvaluator(space, grid, gen, est, meta, config), dataset
    finally:
        torch.set_num_threads(old_threads)
