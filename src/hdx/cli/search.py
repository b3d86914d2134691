"""``hdx search``: co-design a network and its accelerator under budgets (the main job).

Examples::

    hdx search                                   # shipped defaults: HDX, a latency budget, CIFAR-10
    hdx search --budget latency<=2ms --budget area<=1.7mm2 --epochs 10 --out runs/s1
    hdx search --method dance --objective edap
    hdx search --out runs/s1 --resume            # continue a killed run from its last epoch

Exit codes: 0 every hard budget met (ground truth), 3 the search finished but a hard budget is missed
(the closest design is reported, marked infeasible), 2 bad input (one line, before any training).
"""

from __future__ import annotations

import time
from pathlib import Path

import typer

from hdx.cli.main import app

EXIT_INFEASIBLE = 3


def _overrides(**kw) -> dict:
    return {k: v for k, v in kw.items() if v is not None and v != []}


@app.command("search")
def search_cmd(
    config: str = typer.Option(None, "--config", help="Search config YAML (default: the shipped "
                               "hdx/configs/search/default.yaml). Options below override it."),
    method: str = typer.Option(None, "--method", help="hdx (hard budgets, gradient manipulation), dance "
                               "(soft cost), or nas-then-hw (CE only, then the best accelerator)."),
    budget: list[str] = typer.Option(None, "--budget", help="A budget, repeatable: latency<=2ms, "
                                     "energy<=0.8mJ, area<=1.7mm2; suffix :soft for a soft one (hard by "
                                     "default). Replaces the config's budgets."),
    no_budget: bool = typer.Option(False, "--no-budget", help="Search without any budget."),
    objective: str = typer.Option(None, "--objective", help="edap, latency, energy, area, or weighted."),
    evaluator: str = typer.Option(None, "--evaluator", help="auto, learned, oracle, or the path of an "
                                  "evaluator file (.safetensors)."),
    data: str = typer.Option(None, "--data", help="CIFAR-10 folder (cifar-10-batches-py); default "
                             "$HDX_DATA."),
    subset: int = typer.Option(None, "--subset", help="Train-set images used (split into train/val)."),
    epochs: int = typer.Option(None, "--epochs", help="Search epochs (including warm-up)."),
    warmup_epochs: int = typer.Option(None, "--warmup-epochs", help="Weight-only epochs first."),
    width_mult: float = typer.Option(None, "--width-mult", help="Supernet channel multiplier."),
    seed: int = typer.Option(None, "--seed", help="Random seed."),
    threads: int = typer.Option(None, "--threads", help="torch CPU threads."),
    out: str = typer.Option(None, "--out", help="Run directory (default runs/search-<time>)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last checkpoint "
                                "(its own config.yaml is used)."),
    space: str = typer.Option(None, "--space", help="Network space: shipped name or YAML path."),
    accel_space: str = typer.Option(None, "--accel-space", help="Accelerator space: shipped name or YAML."),
    progress: bool = typer.Option(None, "--progress/--no-progress", help="Show the progress bar."),
    device: str = typer.Option(None, "--device", help="auto (CUDA when present), cpu, cuda, cuda:N."),
    retrain_epochs: int = typer.Option(None, "--retrain-epochs", help="After the search, train the derived "
                                       "network from scratch for N epochs into RUN/retrain (0: no retrain)."),
) -> None:
    """Search a network and its accelerator on CIFAR-10; re-check every budget with the cost model."""
    from hdx.config import read_yaml, validate
    from hdx.errors import HDXError, Interrupted
    from hdx.report.rundir import CHECKPOINT, check_out_dir
    from hdx.runtime import apply_threads
    from hdx.search.config import METHODS, SearchConfig, load_search_config
    from hdx.search.loop import prepare, run_search

    if method is not None and method not in METHODS:
        raise HDXError(f"unknown --method '{method}': use one of {', '.join(METHODS)}")
    if no_budget and budget:
        raise HDXError("--no-budget and --budget exclude each other")
    given = _overrides(method=method, budgets=budget or None, objective=objective, evaluator=evaluator,
                       data=data, subset=subset, epochs=epochs, warmup_epochs=warmup_epochs,
                       width_mult=width_mult, seed=seed, threads=threads, space=space,
                       accel_space=accel_space, progress=progress, device=device,
                       retrain_epochs=retrain_epochs)
    if no_budget:
        given["budgets"] = []
    if resume:
        if not out:
            raise HDXError("--resume needs --out DIR (the run to continue)")
        extra = set(given) - {"progress", "threads"}
        if config or extra:
            raise HDXError(f"--resume continues the run with its saved config; drop "
                           f"{', '.join(sorted(extra)) or '--config'}")
        if check_out_dir(out, resume=True) == "started":
            typer.echo(f"{out} has no checkpoint yet (the run stopped during its first epoch): restarting it "
                       f"from the beginning with its saved config", err=True)
        cfg_path = Path(out) / "config.yaml"
        if not cfg_path.is_file():
            raise HDXError(f"nothing to resume in {out}: no config.yaml there (start without --resume)")
        cfg = validate(SearchConfig, read_yaml(cfg_path), f"saved config {cfg_path}")
        if given:
            cfg = validate(SearchConfig, {**cfg.model_dump(), **given}, "search options")
    else:
        cfg = load_search_config(config or "default", given)
        out = out or f"runs/search-{time.strftime('%Y%m%d-%H%M%S')}"
        check_out_dir(out)  # the run-directory rule and a writable folder, before any work
    n_threads = apply_threads(cfg.threads)
    setup = prepare(cfg)  # every input error is raised here, before any data loading or training
    typer.echo(f"hdx search: method {cfg.method}, objective {cfg.objective}, budgets "
               f"{', '.join(cfg.budgets) or 'none'}, evaluator {setup.evaluator_kind}, "
               f"{cfg.epochs} epochs ({cfg.warmup_epochs} warm-up), width {cfg.width_mult}, subset "
               f"{cfg.subset or 'all'}, seed {cfg.seed}, {n_threads} thread(s) -> {out}", err=True)
    try:
        final = run_search(cfg, out, resume=resume, setup=setup)
    except KeyboardInterrupt:
        saved = (Path(out) / CHECKPOINT).is_file()
        raise Interrupted(f"resume with `hdx search --out {out} --resume`"
                          + ("" if saved else " (no epoch finished yet: it restarts from the beginning)")
                          ) from None
    typer.echo(format_result(final, out))
    if not final["feasible"]:
        raise typer.Exit(EXIT_INFEASIBLE)


def format_result(final: dict, out: str | Path) -> str:
    """Human summary: network, accelerator(s), ground-truth costs, budget check, accuracy."""
    acc = final["accelerator"]
    gen = final["accelerator_generator"]
    m = acc["metrics"]
    lines = [
        f"network      {final['arch']}",
        f"accelerator  {acc['accelerator']}  (exhaustive ground-truth search under the hard budgets)",
        f"             {gen['accelerator']}  (evaluator's generator"
        + (", same)" if gen["accel_index"] == acc["accel_index"] else
           f": latency {gen['metrics']['latency']:.4g} ms, energy {gen['metrics']['energy']:.4g} mJ)"),
        f"costs        latency {m['latency']:.4g} ms, energy {m['energy']:.4g} mJ, area {m['area']:.4g} mm2, "
        f"{final['objective']} {final['objective_value']:.4g}  (ground truth)",
    ]
    for b in acc["budgets"]:
        mark = "met" if b["met"] else "MISSED"
        lines.append(f"budget       {b['budget']:<22} {b['kind']:<4} value {b['value']:.4g}  "
                     f"slack {100 * b['slack']:+.1f}%  {mark}")
    a = final["accuracy_inherited"]
    accs = ", ".join(f"{k.replace('_acc', '')} {100 * v:.1f}%" for k, v in a.items())
    lines.append(f"accuracy     {accs}  (inherited supernet weights; retrain: "
                 f"hdx train --arch {final['arch']})")
    if final.get("retrained"):
        r = final["retrained"]
        lines.append(f"retrained    test {100 * r['test_accuracy']:.2f}% ({r['test_images']:,} test images), "
                     f"{r['params']:,} params, {r['macs'] / 1e6:.1f} M MACs, width {r['width_mult']}, "
                     f"{r['epochs']} epochs from scratch ({r['config']}, {r['device']})")
    if final["recheck_rounds"]:
        lines.append(f"re-check     {len(final['recheck_rounds'])} extra round(s) with tightened targets")
    if final["feasible"]:
        lines.append(f"result       FEASIBLE: every hard budget met (ground truth)   run: {out}")
    else:
        lines.append(f"result       INFEASIBLE: a hard budget is missed; the design above is the closest "
                     f"found, not a solution   run: {out}")
    return "\n".join(lines)
