"""Run the trials of a sweep on Ray (local or a cluster), or serially in this process without Ray.

Sweep directory layout::

    OUT/sweep.json            the validated sweep file and its trials (refuses a changed file on --resume)
    OUT/warmup/<key>.pt       shared warm-ups (hdx.search.warmup), one per distinct warm-up config
    OUT/trials/tNNNN/         one ordinary search run directory per trial (+ trial.json: status, error)
    OUT/results.csv, .json    one row per trial (hdx.sweep.results)

Fault tolerance: a trial that fails (bad budget, divergence, a crashed Ray worker) is recorded with
its error in its ``trial.json`` and the others go on. ``resume=True`` skips finished run directories
(``final.json``), continues killed ones from their checkpoints and re-runs failed or never-started
ones, so a killed sweep resumed ends with the same results as an uninterrupted one (same seeds, same
threads per trial).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hdx.errors import HDXError
from hdx.sweep.spec import SweepSpec, Trial, expand, load_sweep
from hdx.sweep.trial import TRIAL_FILE, run_trial, run_warmup

SWEEP_FILE = "sweep.json"


@dataclass
class SweepResult:
    """What :func:`run_sweep` did: the rows of ``results.csv`` and how the trials were run."""

    out: Path
    spec: SweepSpec
    trials: list[Trial]
    rows: list[dict]
    executor: str
    wall_s: float  # seconds, whole sweep (this call)
    ran: int  # trials run by this call (the others were finished already)
    notes: list[str] = field(default_factory=list)


def _ray_available() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def _prepare_dir(out: Path, spec: SweepSpec, trials: list[Trial], resume: bool) -> None:
    import json

    from hdx.safeio import atomic_write_json, os_errors, read_text

    record = {"spec": spec.model_dump(mode="json"), "trials": [{"name": t.name, "axes": t.axes}
                                                               for t in trials]}
    f = out / SWEEP_FILE
    if out.exists() and not out.is_dir():
        raise HDXError(f"sweep directory {out} is a file; choose another --out")
    if f.is_file():
        if not resume:
            raise HDXError(f"{out} already holds a sweep; pass --resume to continue it or choose another "
                           f"--out")
        try:
            saved = json.loads(read_text(f, what="sweep record"))
        except (ValueError, RecursionError):
            raise HDXError(f"{f} is corrupt; delete {out} to start over") from None
        if saved != json.loads(json.dumps(record)):
            raise HDXError(f"the sweep file differs from the one {out} was started with; resume with the "
                           f"same file or choose another --out")
    elif resume:
        raise HDXError(f"nothing to resume in {out}: no {SWEEP_FILE} there (start without --resume)")
    with os_errors(out, "create sweep directory"):
        (out / "trials").mkdir(parents=True, exist_ok=True)
    atomic_write_json(f, record)


def _plan(out: Path, spec: SweepSpec, trials: list[Trial]) -> tuple[list[tuple[Trial, bool]], dict]:
    """Trials to run with their resume flag, and the shared warm-ups they need {path: config}."""
    from hdx.report.rundir import run_state
    from hdx.search.warmup import warmup_key

    todo: list[tuple[Trial, bool]] = []
    for t in trials:
        state = run_state(out / "trials" / t.name)
        if state != "finished":
            todo.append((t, state != "new"))
    warm: dict[str, list[Trial]] = {}
    if spec.shared_warmup:
        for t, _ in todo:
            if t.config.warmup_epochs > 0:
                warm.setdefault(warmup_key(t.config), []).append(t)
    warmups = {}
    plan = []
    for t, resume in todo:
        cfg = t.config
        if spec.shared_warmup and cfg.warmup_epochs > 0:
            group = warm[warmup_key(cfg)]
            path = out / "warmup" / f"{warmup_key(cfg)}.pt"
            if len(group) > 1 or path.is_file():  # a warm-up only one trial needs is run inside that trial
                warmups.setdefault(str(path), group[0].config)
                t = Trial(t.index, t.name, t.axes, cfg.model_copy(update={"warmup_from": str(path)}))
        plan.append((t, resume))
    return plan, warmups


def run_sweep(sweep: SweepSpec | str | Path, out: str | Path, *, address: str | None = None,
              num_cpus: int | None = None, gpus_per_trial: float = 0.0, resume: bool = False,
              use_ray: bool | None = None, log: Callable[[str], None] = print) -> SweepResult:
    """Run every trial of ``sweep`` (a spec or a sweep-file path) into ``out``; write the results.

    ``use_ray``: None = Ray when installed (else serial, with a note), True = Ray (error if missing),
    False = serially in this process. ``address``: an existing Ray cluster (``auto``, ``ray://host:port``);
    default a local Ray with ``num_cpus`` CPUs (default: all cores). Each trial reserves
    ``threads_per_trial`` CPUs and ``gpus_per_trial`` GPUs. With a cluster, ``out`` must be on a
    filesystem every node sees.
    """
    from hdx.sweep.results import collect, write_results

    spec = sweep if isinstance(sweep, SweepSpec) else load_sweep(sweep)
    trials = expand(spec)
    out = Path(out)
    if num_cpus is not None and num_cpus < 1:
        raise HDXError(f"--num-cpus must be >= 1, got {num_cpus}")
    if not 0 <= gpus_per_trial <= 64:
        raise HDXError(f"--gpus-per-trial must be between 0 and 64, got {gpus_per_trial}")
    notes: list[str] = []
    if use_ray is None:
        use_ray = _ray_available()
        if not use_ray:
            notes.append("Ray is not installed (pip install 'hdx[ray]'): the trials run one after another "
                         "in this process")
    elif use_ray and not _ray_available():
        raise HDXError("running on Ray needs the optional extra: pip install 'hdx[ray]' (or drop --address)")
    if not use_ray and (address or gpus_per_trial):
        raise HDXError("--address and --gpus-per-trial need Ray: pip install 'hdx[ray]'")
    _prepare_dir(out, spec, trials, resume)
    plan, warmups = _plan(out, spec, trials)
    for n in notes:
        log(f"note: {n}")
    t0 = time.perf_counter()
    if use_ray:
        executor = _run_ray(plan, warmups, out, spec, address, num_cpus, gpus_per_trial, log)
    else:
        executor = _run_serial(plan, warmups, out, log)
    rows = collect(out, spec, trials)
    write_results(out, rows)
    return SweepResult(out, spec, trials, rows, executor, time.perf_counter() - t0, len(plan), notes)


def _describe(t: Trial) -> str:
    from hdx.sweep.spec import axis_text

    return ", ".join(f"{k}={axis_text(v)}" for k, v in t.axes.items()) or "base"


def _report(log, done: int, total: int, t: Trial, rec: dict) -> None:
    what = rec["status"] if rec["status"] != "failed" else f"FAILED: {rec['error']}"
    log(f"[{done}/{total}] {t.name} ({_describe(t)}): {what} ({rec['wall_s']:.1f} s)")


def _failed_warmup(t: Trial, out: Path, warm: dict) -> dict:
    from hdx.safeio import atomic_write_json

    rec = {"status": "failed", "error": f"shared warm-up failed: {warm['error']}", "wall_s": 0.0}
    d = out / "trials" / t.name
    d.mkdir(parents=True, exist_ok=True)
    atomic_write_json(d / TRIAL_FILE, rec)
    return rec


def _run_serial(plan, warmups: dict, out: Path, log) -> str:
    warm_rec = {}
    for path, cfg in warmups.items():
        if Path(path).is_file():
            warm_rec[path] = {"status": "finished"}
            continue
        log(f"shared warm-up {Path(path).name} ({cfg.warmup_epochs} epochs) ...")
        warm_rec[path] = run_warmup(cfg, path)
    for i, (t, resume) in enumerate(plan):
        w = warm_rec.get(str(t.config.warmup_from)) if t.config.warmup_from else None
        if w is not None and w["status"] == "failed":
            rec = _failed_warmup(t, out, w)
        else:
            rec = run_trial(t.config, out / "trials" / t.name, resume)
        _report(log, i + 1, len(plan), t, rec)
    return "serial (in this process)"


def _ray_trial(config, out_dir: str, resume: bool, warm: dict | None) -> dict:
    if warm is not None and warm["status"] == "failed":
        from hdx.safeio import atomic_write_json

        rec = {"status": "failed", "error": f"shared warm-up failed: {warm['error']}", "wall_s": 0.0}
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        atomic_write_json(Path(out_dir) / TRIAL_FILE, rec)
        return rec
    return run_trial(config, out_dir, resume)


def _run_ray(plan, warmups: dict, out: Path, spec: SweepSpec, address, num_cpus, gpus, log) -> str:
    import ray

    started = False
    if not ray.is_initialized():
        kw = {"include_dashboard": False, "log_to_driver": False}
        if address:
            ray.init(address=address, **kw)
        else:
            ray.init(num_cpus=num_cpus or os.cpu_count() or 1, **kw)
        started = True
    try:
        res = ray.cluster_resources()
        cpus, n_gpus = int(res.get("CPU", 0)), float(res.get("GPU", 0))
        if spec.threads_per_trial > cpus:  # the tasks would wait forever
            raise HDXError(f"threads_per_trial {spec.threads_per_trial} is more than the Ray cluster's "
                           f"{cpus} CPUs; lower it or raise --num-cpus")
        if gpus > n_gpus:
            raise HDXError(f"--gpus-per-trial {gpus:g} but the Ray cluster has {n_gpus:g} GPUs; lower it")
        opts = {"num_cpus": spec.threads_per_trial, "num_gpus": gpus, "max_retries": 0}
        warm_task = ray.remote(run_warmup).options(**opts)
        trial_task = ray.remote(_ray_trial).options(**opts)
        warm_refs = {}
        for path, cfg in warmups.items():
            warm_refs[path] = ({"status": "finished"} if Path(path).is_file()
                               else warm_task.remote(cfg, path))
        pending = {}
        for t, resume in plan:
            w = warm_refs.get(str(t.config.warmup_from)) if t.config.warmup_from else None
            ref = trial_task.remote(t.config, str(out / "trials" / t.name), resume, w)
            pending[ref] = t
        log(f"{len(plan)} trial(s) and {sum(not isinstance(r, dict) for r in warm_refs.values())} shared "
            f"warm-up(s) submitted to Ray ({cpus} CPUs, {spec.threads_per_trial} per trial)")
        done = 0
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            t = pending.pop(ready[0])
            try:
                rec = ray.get(ready[0])
            except Exception as e:  # noqa: BLE001 - a crashed worker or a lost node: record it, go on
                rec = _crashed(out, t, e)
            done += 1
            _report(log, done, len(plan), t, rec)
        return f"ray ({cpus} CPUs{', ' + address if address else ', local'})"
    finally:
        if started:
            ray.shutdown()


def _crashed(out: Path, t: Trial, e: BaseException) -> dict:
    from hdx.safeio import atomic_write_json

    msg = " ".join(str(e).split())[:300]
    rec = {"status": "failed", "error": f"Ray task failed ({type(e).__name__}): {msg}", "wall_s": 0.0}
    d = out / "trials" / t.name
    d.mkdir(parents=True, exist_ok=True)
    atomic_write_json(d / TRIAL_FILE, rec)
    return rec
