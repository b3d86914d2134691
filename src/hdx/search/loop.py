"""The bilevel co-exploration search, ``hdx search`` (docs/design.md#the-search): setup → steps →
finish → the run.

* :mod:`hdx.search.setup` — :func:`prepare` (every input checked before any training) and the data;
* :mod:`hdx.search.steps` — the searcher's weight and architecture steps, epochs and state;
* :mod:`hdx.search.finish` — the ground-truth finish (derive, exhaustive accelerator, budget re-check);
* here — the :class:`Searcher` (steps + finish) and its driver :meth:`Searcher.run_all`, the one entry
  :func:`run_search`, and :func:`make_warmup` (a shared warm-up, :mod:`hdx.search.warmup`).

A checkpoint is written at every epoch end (atomic); ``resume`` continues from it with the saved RNG
state, so a killed and resumed run ends with the same ``final.json`` as an uninterrupted one (CPU,
same thread count). Wall-clock figures go to ``timing.json`` only. After the finish, under ``hdx``,
the budget fill (:mod:`hdx.search.fill`, config ``fill``) may grow the derived network into its hard
budgets on the ground truth. Records
(:mod:`hdx.search.records`): a :class:`StepRecord` per arch step in ``metrics.jsonl``, the
:class:`SearchFinal` in ``final.json``.
"""

from __future__ import annotations

import io
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from hdx.errors import HDXError
from hdx.report.rundir import RunDir
from hdx.runtime import apply_threads, resolve_device
from hdx.safeio import atomic_write_bytes, atomic_write_json, os_errors
from hdx.search.config import SearchConfig
from hdx.search.finish import GroundTruth, SearchFinish
from hdx.search.records import SearchFinal
from hdx.search.setup import SearchData, SearchSetup, load_data, prepare
from hdx.search.steps import CHECKPOINT_KEYS, WARM_KEYS, Diverged, SearchSteps
from hdx.search.warmup import FORMAT, load_warmup, warmup_config

__all__ = ["CHECKPOINT_KEYS", "WARM_KEYS", "Diverged", "GroundTruth", "SearchData", "SearchSetup", "Searcher",
           "load_data", "make_warmup", "prepare", "run_search"]


class Searcher(SearchFinish, SearchSteps):
    """One search run in a :class:`RunDir`: the steps (:class:`~hdx.search.steps.SearchSteps`), the
    ground-truth finish (:class:`~hdx.search.finish.SearchFinish`) and the driver :meth:`run_all`."""

    # ----- driver ----------------------------------------------------------------------------------------
    def run_all(self, *, resume: bool = False) -> SearchFinal:
        cfg = self.cfg
        if resume:
            st = self.run.load_checkpoint(keys=CHECKPOINT_KEYS)
            if st is not None:
                self.load_state(st)
            start = self.epoch  # 0 when the run died before its first checkpoint: restart from scratch
            self.run.truncate_metrics(lambda r: r.get("phase") in ("search", "epoch")
                                      and isinstance(r.get("epoch"), int) and r["epoch"] < start)
        if self.epoch == 0 and cfg.warmup_from:  # start from a shared warm-up (hdx.search.warmup)
            self.load_warm_state(load_warmup(cfg.warmup_from, cfg))
        t0 = time.perf_counter()
        while self.epoch < cfg.epochs:
            te = time.perf_counter()
            self.train_epoch(cfg.progress)
            self.epoch_times.append(time.perf_counter() - te)
            self.epoch += 1
            self.run.save_checkpoint(self.state())
        tf = time.perf_counter()
        gt, rounds = self.recheck()
        from hdx.search.fill import finish_fill  # grow the derived network into its hard budgets

        gt, fill = finish_fill(self, gt)
        acc = self.accuracy(gt.arch)
        final = self.final(gt, rounds, acc)
        final.fill = fill
        tr = time.perf_counter()
        retrained = None
        if cfg.retrain_epochs:  # search -> retrain: the derived network from scratch, in RUN/retrain
            from hdx.train.retrain import retrain_after_search

            retrained = retrain_after_search(cfg, self.run.path, final.arch)
            final.retrained = retrained.record()
        self.run.write_final(final.to_json())
        atomic_write_json(self.run.file("timing.json"), {
            **({"retrain_seconds_per_epoch": retrained.seconds_per_epoch,
                "retrain_seconds": time.perf_counter() - tr} if retrained else {}),
            "seconds_per_epoch": self.epoch_times, "mean_seconds_per_epoch": float(np.mean(self.epoch_times)),
            "search_seconds": float(sum(self.epoch_times)), "finish_seconds": tr - tf,
            "this_process_seconds": time.perf_counter() - t0})
        return final


def run_search(cfg: SearchConfig, out: str | Path | RunDir, *, resume: bool = False,
               setup: SearchSetup | None = None) -> SearchFinal:
    """Prepare (unless given), load data, search, finish; returns the :class:`SearchFinal` (final.json).

    ``out``: the run directory (a path, or a :class:`RunDir` its caller checked already, whose
    ``resume`` flag then applies)."""
    run = RunDir.of(out, resume=resume)  # output-folder problems before any work
    setup = setup or prepare(cfg)
    data = load_data(cfg, resolve_device(cfg.device))
    run.open()
    if run.config_to_write:
        run.write_config(cfg)
    return Searcher(setup, data, run).run_all(resume=run.resume)


def make_warmup(cfg, path: str | Path) -> Path:
    """Run the weight-only warm-up of ``cfg`` and save it to ``path`` (atomic). Returns the path.

    Wall time: ``warmup_epochs`` weight-only epochs of ``cfg``.
    """
    path = Path(path)
    if cfg.warmup_epochs == 0:
        raise HDXError("warmup_epochs is 0: there is no warm-up to share")
    apply_threads(cfg.threads)
    cfg = cfg.model_copy(update={"warmup_from": None})
    with tempfile.TemporaryDirectory(prefix="hdx-warmup-") as tmp:
        s = Searcher(prepare(cfg), load_data(cfg, resolve_device(cfg.device)), RunDir(Path(tmp) / "run"))
        s.warm_up()
        st = {**s.warm_state(), "warmup_config": json.dumps(warmup_config(cfg), sort_keys=True),
              "format": FORMAT}
    buf = io.BytesIO()
    torch.save(st, buf)
    with os_errors(path.parent, "create folder"):
        path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buf.getvalue())
    return path
