"""``hdx search``: co-design a network and its accelerator under budgets (the main job).

Examples::

    hdx search                                   # shipped defaults: HDX, a latency budget, CIFAR-10
    hdx search --budget latency<=2ms --budget area<=1.7mm2 epochs=10 --out runs/s1
    hdx search method=dance objective=edap hw_lambda=0.05
    hdx search --out runs/s1 --resume            # continue a killed run from its last epoch

Every field of :class:`~hdx.search.config.SearchConfig` can be set as ``key=value`` (``hdx search
--help`` lists them); the flags below are shortcuts for the most used ones and go through the same
validation. This command is a thin layer over :func:`hdx.api.search`.

Exit codes: 0 every hard budget met (ground truth), 3 the search finished but a hard budget is missed
(the closest design is reported, marked infeasible), 2 bad input (one line, before any training).
"""

from __future__ import annotations

from pathlib import Path

import typer

from hdx.cli.main import app

EXIT_INFEASIBLE = 3


@app.command("search", context_settings={"help_option_names": ["-h", "--help"]})
def search_cmd(
    overrides: list[str] = typer.Argument(None, metavar="[KEY=VALUE]...", show_default=False,
                                          help="Set any config field, e.g. epochs=12 hw_lambda=0.05 "
                                          "subset=null budgets=latency<=2ms,area<=1.7mm2 (YAML values). "
                                          "Fields: hdx.search.config.SearchConfig, commented in the "
                                          "shipped default.yaml."),
    config: str = typer.Option(None, "--config", help="Search config YAML (default: the shipped "
                               "hdx/configs/search/default.yaml); KEY=VALUE and options override it."),
    budget: list[str] = typer.Option(None, "--budget", help="A budget, repeatable: latency<=2ms, "
                                     "energy<=0.8mJ, area<=1.7mm2, latency=2 (ms); suffix :soft for a "
                                     "soft one. Replaces the config's budgets."),
    no_budget: bool = typer.Option(False, "--no-budget", help="Search without any budget."),
    method: str = typer.Option(None, "--method", help="= method=...: hdx, dance or nas-then-hw."),
    objective: str = typer.Option(None, "--objective", help="= objective=...: edap, latency, energy, area, "
                                  "weighted."),
    evaluator: str = typer.Option(None, "--evaluator", help="= evaluator=...: auto, learned, oracle, or "
                                  "a .safetensors path."),
    data: str = typer.Option(None, "--data", help="= data=...: CIFAR-10 folder (cifar-10-batches-py)."),
    subset: int = typer.Option(None, "--subset", help="= subset=..."),
    epochs: int = typer.Option(None, "--epochs", help="= epochs=..."),
    warmup_epochs: int = typer.Option(None, "--warmup-epochs", help="= warmup_epochs=..."),
    width_mult: float = typer.Option(None, "--width-mult", help="= width_mult=..."),
    seed: int = typer.Option(None, "--seed", help="= seed=..."),
    threads: int = typer.Option(None, "--threads", help="= threads=..."),
    space: str = typer.Option(None, "--space", help="= space=...: shipped name or YAML path."),
    accel_space: str = typer.Option(None, "--accel-space", help="= accel_space=...: shipped name or YAML."),
    progress: bool = typer.Option(None, "--progress/--no-progress", help="= progress=..."),
    out: str = typer.Option(None, "--out", help="Run directory (default runs/search-<time>)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last checkpoint "
                                "(its own config.yaml is used)."),
    device: str = typer.Option(None, "--device", help="= device=...: auto (CUDA when present), cpu, cuda, "
                               "cuda:N."),
    retrain_epochs: int = typer.Option(None, "--retrain-epochs", help="= retrain_epochs=...: after the "
                                       "search, train the derived network from scratch for N epochs into "
                                       "RUN/retrain (0: no retrain)."),
) -> None:
    """Search a network and its accelerator on CIFAR-10; re-check every budget with the cost model."""
    from hdx.api import search
    from hdx.config import parse_overrides
    from hdx.errors import HDXError, Interrupted
    from hdx.report.rundir import CHECKPOINT, run_state
    from hdx.search.config import SearchConfig
    from hdx.search.guard import POLICIES

    if method is not None and method not in POLICIES:
        raise HDXError(f"unknown --method '{method}': use one of {', '.join(POLICIES)}")
    if no_budget and budget:
        raise HDXError("--no-budget and --budget exclude each other")
    flags = {"method": method, "objective": objective, "evaluator": evaluator, "data": data, "subset": subset,
             "epochs": epochs, "warmup_epochs": warmup_epochs, "width_mult": width_mult, "seed": seed,
             "threads": threads, "space": space, "accel_space": accel_space, "progress": progress,
             "budgets": budget or None, "device": device, "retrain_epochs": retrain_epochs}
    given = parse_overrides(overrides, SearchConfig, flags)
    if no_budget:
        given["budgets"] = []
    if resume:
        if not out:
            raise HDXError("--resume needs --out DIR (the run to continue)")
        if config:
            raise HDXError("--resume continues the run with its saved config; drop --config")
        if run_state(out) == "started":
            typer.echo(f"{out} has no checkpoint yet (the run stopped during its first epoch): restarting it "
                       f"from the beginning with its saved config", err=True)

    def announce(cfg: SearchConfig, setup, out_dir: Path, n_threads: int) -> None:
        for note in setup.notes:
            typer.echo(f"note: {note}", err=True)
        budgets = ", ".join(b.text() for b in setup.budgets) or "none"
        typer.echo(f"hdx search: method {cfg.method}, objective {cfg.objective}, budgets {budgets}, "
                   f"evaluator {setup.evaluator_kind}, "
                   f"{cfg.epochs} epochs ({cfg.warmup_epochs} warm-up), width {cfg.width_mult}, subset "
                   f"{cfg.subset or 'all'}, seed {cfg.seed}, {n_threads} thread(s) -> {out_dir}", err=True)

    try:
        result = search(config=config, out=out, resume=resume, overrides=given, on_start=announce)
    except KeyboardInterrupt:
        raise Interrupted(f"resume with `hdx search --out {out} --resume`"
                          + ("" if out and (Path(out) / CHECKPOINT).is_file()
                             else " (no epoch finished yet: it restarts from the beginning)")) from None
    typer.echo(format_result(result.final, result.out, result.config))
    typer.echo(f"report       {_report(result.out)}")  # the HTML page of the run: printed last
    if not result.final.feasible:
        raise typer.Exit(EXIT_INFEASIBLE)


def _report(out: Path) -> str:
    """Draw the run's report; a failure to draw it does not fail the search (the run is complete)."""
    from hdx.errors import HDXError
    from hdx.report import write_report

    try:
        return str(write_report(out))
    except (HDXError, OSError, ValueError, RuntimeError) as e:
        return f"not drawn ({type(e).__name__}: {str(e).splitlines()[0][:160]}); try `hdx report {out}`"


def format_result(final, out: str | Path, config=None) -> str:
    """Human summary of a :class:`~hdx.search.records.SearchFinal`: network, accelerator(s),
    ground-truth costs, budget check, accuracy, and the command that has ZigZag cost the design
    (``config``: the run's :class:`~hdx.search.config.SearchConfig`, for its spaces' paths)."""
    acc, gen = final.accelerator, final.accelerator_generator
    m = acc.metrics
    lines = [
        f"network      {final.arch}",
        f"accelerator  {acc.accelerator}  (exhaustive ground-truth search under the hard budgets)",
        f"             {gen.accelerator}  (evaluator's generator"
        + (", same)" if gen.accel_index == acc.accel_index else
           f": latency {gen.metrics['latency']:.4g} ms, energy {gen.metrics['energy']:.4g} mJ)"),
        f"costs        latency {m['latency']:.4g} ms, energy {m['energy']:.4g} mJ, area {m['area']:.4g} mm2, "
        f"{final.objective} {final.objective_value:.4g}  (ground truth)",
    ]
    for b in acc.budgets:
        mark = "met" if b.met else "MISSED"
        lines.append(f"budget       {b.budget:<22} {b.kind:<4} value {b.value:.4g}  "
                     f"slack {100 * b.slack:+.1f}%  {mark}")
    from hdx.search.fill import fill_summary

    lines += [f"fill         {ln}" for ln in fill_summary(final)]  # what the fill did, or the slack bought
    accs = ", ".join(f"{k.replace('_acc', '')} {100 * v:.1f}%" for k, v in final.accuracy_inherited.items())
    lines.append(f"accuracy     {accs}  (inherited supernet weights; retrain: "
                 f"hdx train --arch {final.arch})")
    if final.retrained is not None:
        r = final.retrained
        lines.append(f"retrained    test {100 * r.test_accuracy:.2f}% ({r.test_images:,} test images), "
                     f"{r.params:,} params, {r.macs / 1e6:.1f} M MACs, width {r.width_mult}, "
                     f"{r.epochs} epochs from scratch ({r.config}, {r.device})")
    if final.recheck_rounds:
        lines.append(f"re-check     {len(final.recheck_rounds)} extra round(s) with tightened targets")
    lines.append(f"check        {final.check_command(config)}  (the design costed by ZigZag, an independent "
                 f"model)")
    if final.feasible:
        lines.append(f"result       FEASIBLE: every hard budget met (ground truth)   run: {out}")
    else:
        lines.append(f"result       INFEASIBLE: a hard budget is missed; the design above is the closest "
                     f"found, not a solution   run: {out}")
    return "\n".join(lines)
