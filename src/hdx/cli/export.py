"""``hdx export``: take a search run's network and accelerator to other tools.

Examples::

    hdx export runs/s1 --onnx net.onnx --zigzag accel.yaml --timeloop timeloop/ --layers layers.json
    hdx export runs/s1 --onnx net.onnx --weights runs/train1     # weights of `hdx train`
"""

from __future__ import annotations

import typer

from hdx.cli.main import app


@app.command("export")
def export_cmd(
    run_dir: str = typer.Argument(..., help="An `hdx search` run directory."),
    onnx: str = typer.Option(None, "--onnx", help="Write the derived network as ONNX (checked with "
                             "onnx.checker and onnxruntime; needs hdx[export])."),
    zigzag: str = typer.Option(None, "--zigzag", help="Write the accelerator as ZigZag hardware YAML (and "
                               "<stem>.workload.yaml, <stem>.mapping.yaml beside it; needs hdx[zigzag])."),
    timeloop: str = typer.Option(None, "--timeloop", help="Folder for Timeloop v4 / Accelergy YAML "
                                 "(arch, ERT, constraints, one problem per layer)."),
    layers: str = typer.Option(None, "--layers", help="Write the layer list the cost model evaluated "
                               "(JSON)."),
    weights: str = typer.Option(None, "--weights", help="Weights for --onnx: an `hdx train` run folder or "
                                "its model.safetensors (default: the search's inherited supernet weights)."),
) -> None:
    """Export the run's network (ONNX), accelerator (ZigZag, Timeloop) and layer list (JSON)."""
    from hdx.export import export_run

    res = export_run(run_dir, onnx=onnx, zigzag=zigzag, timeloop=timeloop, layers=layers, weights=weights)
    for p in res.files:
        typer.echo(f"wrote {p}")
    if res.onnx_max_abs_diff is not None:
        typer.echo(f"onnx: onnx.checker ok; onnxruntime vs PyTorch max abs diff {res.onnx_max_abs_diff:.2e}")
