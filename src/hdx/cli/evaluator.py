"""``hdx evaluator``: build the DANCE evaluator (samples + training) and check its fidelity.

Examples::

    hdx evaluator build                       # regenerates the shipped default (src/hdx/assets)
    hdx evaluator build --objective latency --out my_eval.safetensors --pairs 600000 --networks 20000
    hdx evaluator check                       # fidelity report of the shipped default
    hdx evaluator check --path my_eval.safetensors --objective latency
"""

from __future__ import annotations

from pathlib import Path

import typer

from hdx.cli.main import app

evaluator_app = typer.Typer(no_args_is_help=True, help="Build or check the learned hardware-cost evaluator.")
app.add_typer(evaluator_app, name="evaluator")

_SPACE = typer.Option("dance_cifar10", "--space", help="Network space: shipped name or YAML path.")
_ACCEL = typer.Option("eyeriss_like", "--accel-space", help="Accelerator space: shipped name or YAML path.")
_OBJ = typer.Option("edap", "--objective", help="Objective the hardware generator minimises: edap, "
                    "latency, energy or weighted.")
_BACKEND = typer.Option("analytical", "--backend", help="Ground-truth cost model: analytical, zigzag, or a "
                        "cost table .npz made by hdx cost tabulate.")


def _setup(space: str, accel_space: str, backend: str):
    from hdx.cost import BACKENDS, get_cost_model
    from hdx.errors import HDXError
    from hdx.space.accelerator import AcceleratorSpace
    from hdx.space.network import NetworkSpace

    if backend not in BACKENDS and not backend.endswith(".npz"):  # .npz: a table from `hdx cost tabulate`
        raise HDXError(f"unknown --backend '{backend}': use one of {', '.join(BACKENDS)} or a cost "
                       f"table .npz")
    net = NetworkSpace.load(space)
    grid = AcceleratorSpace.load(accel_space)
    return net, grid, get_cost_model(backend, grid.hardware)  # type: ignore[arg-type]


@evaluator_app.command("build")
def build_cmd(
    space: str = _SPACE,
    accel_space: str = _ACCEL,
    objective: str = _OBJ,
    backend: str = _BACKEND,
    pairs: int = typer.Option(1_800_000, "--pairs", help="(network, accelerator) pairs for the estimator."),
    networks: int = typer.Option(50_000, "--networks", help="Networks (each labelled with its optimal "
                                 "accelerator by exhaustive search)."),
    soft_fraction: float = typer.Option(0.5, "--soft-fraction", help="Share of soft architecture "
                                        "distributions among the networks."),
    skewed_fraction: float = typer.Option(0.3, "--skewed-fraction", help="Share of the one-hot networks "
                                          "drawn across the compute range (each its own op preference) "
                                          "instead of uniformly."),
    out: Path = typer.Option(None, "--out", help="Output .safetensors (default: the shipped asset for "
                             "this space/grid/objective)."),
    seed: int = typer.Option(0, "--seed", help="Seed of sampling and training."),
    width: int = typer.Option(None, "--width", help="Hidden width of both networks (default from config)."),
    epochs: int = typer.Option(None, "--epochs", help="Training epochs of each network (default: config)."),
    config: str = typer.Option(None, "--config", help="EvaluatorConfig (networks and training): a YAML path "
                               "or a shipped name (large: for 10^6-design spaces)."),
    workers: int = typer.Option(1, "--workers", help="Processes (or local Ray CPUs) for sample generation."),
    ray: bool = typer.Option(False, "--ray", help="Sample chunks as Ray tasks on a local Ray."),
    address: str = typer.Option(None, "--address", help="Sample chunks on an existing Ray cluster: auto or "
                                "ray://host:port."),
    threads: int = typer.Option(1, "--threads", help="Torch CPU threads for training."),
    work_dir: Path = typer.Option(None, "--work-dir", help="Keep sample chunks here (resumable)."),
    save_data: Path = typer.Option(None, "--save-data", help="Also write the samples as .npz here."),
    samples: Path = typer.Option(None, "--samples", help="Train on these samples (a --save-data file of the "
                                 "same space, grid and cost model) instead of generating them."),
) -> None:
    """Generate labelled samples with the ground-truth model and train generator + estimator."""
    from hdx.config import load_config, validate
    from hdx.errors import HDXError
    from hdx.evaluator import default_evaluator_path
    from hdx.evaluator.build import build_evaluator
    from hdx.evaluator.data import DataSpec

    if not (0 < networks <= 2_000_000 and 0 < pairs <= 200_000_000):
        raise HDXError("--networks must be in 1..2000000 and --pairs in 1..200000000")
    if not (1 <= workers <= 256 and 1 <= threads <= 1024 and 0 <= seed <= 2**32 - 1):
        raise HDXError("--workers must be in 1..256, --threads in 1..1024, --seed in 0..4294967295")
    per = max(1, round(pairs / networks))
    if per < 4:
        raise HDXError(f"--pairs {pairs} / --networks {networks} gives {per} pairs per network; "
                       f"at least 4 are needed (one per labelled objective)")
    net, grid, model = _setup(space, accel_space, backend)
    from hdx.evaluator.train import EvaluatorConfig

    cfg = load_config(EvaluatorConfig, config, "evaluator") if config is not None else EvaluatorConfig()
    data = cfg.model_dump()
    data["seed"] = seed
    for part in ("generator", "estimator"):
        if width is not None:
            data[part]["width"] = width
    for part in ("gen_train", "est_train"):
        if epochs is not None:
            data[part]["epochs"] = epochs
    cfg = validate(EvaluatorConfig, data, "evaluator options (--width, --epochs)")  # bounds re-checked
    spec = validate(DataSpec, {"n_archs": networks, "pairs_per_arch": per, "soft_fraction": soft_fraction,
                               "skewed_fraction": skewed_fraction, "seed": seed},
                    "evaluator options (--networks, --pairs, --soft-fraction, --skewed-fraction)")
    out = out or default_evaluator_path(net.name, grid.name, objective)
    dataset = None
    if samples is not None:
        from hdx.evaluator.data import EvalDataset

        dataset = EvalDataset.load(samples)  # checked against this space, grid and model by the build
        typer.echo(f"samples: {samples} ({dataset.num_archs} networks, {dataset.num_pairs} pairs; --networks "
                   f"and --pairs do not apply)")
    ev, ds = build_evaluator(net, grid, model, objective=objective, data_spec=spec, config=cfg,
                             dataset=dataset, workers=workers, work_dir=work_dir, threads=threads,
                             progress=True, log=typer.echo, use_ray=ray, address=address)
    if save_data:
        ds.save(save_data)
        typer.echo(f"samples: {save_data}")
    ev.save(out)
    typer.echo(f"evaluator: {out} ({out.stat().st_size / 1e6:.2f} MB, "
               f"{ev.meta['training']['seconds_total']} s)")


@evaluator_app.command("check")
def check_cmd(
    path: Path = typer.Option(None, "--path", help="Evaluator file (default: the shipped one)."),
    space: str = _SPACE,
    accel_space: str = _ACCEL,
    objective: str = _OBJ,
    backend: str = _BACKEND,
    networks: int = typer.Option(2000, "--networks", help="Fresh held-out networks per kind."),
    seed: int = typer.Option(12345, "--seed", help="Seed of the held-out networks."),
    threads: int = typer.Option(1, "--threads", help="Torch CPU threads."),
) -> None:
    """Fidelity of the learned evaluator against the ground-truth model (tables beside the paper's)."""
    import torch

    from hdx.cost.table import CostTable
    from hdx.errors import HDXError
    from hdx.evaluator import load_evaluator
    from hdx.evaluator.check import fidelity, format_report

    if not (1 <= threads <= 1024 and 1 <= networks <= 1_000_000 and 0 <= seed <= 2**32 - 1):
        raise HDXError("--threads must be in 1..1024, --networks in 1..1000000, --seed in 0..4294967295")
    torch.set_num_threads(threads)
    net, grid, model = _setup(space, accel_space, backend)
    ev = load_evaluator("learned", path, space=net, grid=grid, model=model, objective=objective)
    table = CostTable.build(net, grid, model)
    rep = fidelity(ev, net, grid, table, n_archs=networks, seed=seed)
    typer.echo(format_report(rep, ev.meta))
