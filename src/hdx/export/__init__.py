"""Exports of a finished search run (``hdx export``): the network as ONNX, the accelerator as ZigZag and
Timeloop v4 / Accelergy YAML, and the layer list the cost model evaluated (JSON).

:func:`export_run` is the Python API; every path argument is optional and only the given ones are
written. The hardware exports describe the run's chosen accelerator (exhaustive ground-truth search)
and the network's layers at the space's width (what the cost model evaluated; the searched proxy may
have been trained at a smaller ``width_mult``, the ONNX file holds that trained network).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hdx.errors import HDXError


@dataclass
class ExportResult:
    """What :func:`export_run` wrote."""

    files: list[Path] = field(default_factory=list)
    onnx_max_abs_diff: float | None = None  # onnxruntime vs PyTorch on a random batch


def run_layers(run):
    """(space, accelerator space, layers, chosen accelerator) of a loaded run."""
    from hdx.space.accelerator import AcceleratorSpace
    from hdx.space.network import NetworkSpace

    space = NetworkSpace.load(run.config.space)
    grid = AcceleratorSpace.load(run.config.accel_space)
    return space, grid, space.layers(run.final.arch), grid.parse(run.final.accelerator.accelerator)


def layers_json(run) -> dict:
    """The layer list the cost model evaluated, with the run's network and accelerator."""
    _, grid, layers, acc = run_layers(run)
    return {"arch": run.final.arch, "space": run.config.space, "accelerator": acc.text(with_glb=True),
            "batch": 1, "units": "elements (n c k h w r s p q), MACs",
            "layers": [ly.to_dict() for ly in layers], "total_macs": int(sum(ly.macs for ly in layers))}


def export_run(run_dir: str | Path, *, onnx: str | Path | None = None, zigzag: str | Path | None = None,
               timeloop: str | Path | None = None, layers: str | Path | None = None,
               weights: str | Path | None = None, tolerance: float = 1e-4) -> ExportResult:
    """Write the requested exports of the run in ``run_dir`` (see the module docstring).

    ``weights``: ``hdx train``'s run folder or ``model.safetensors`` for the ONNX network (default:
    the supernet weights the search inherited). ``tolerance``: largest accepted max abs difference of
    the logits between onnxruntime and PyTorch.
    """
    from hdx.report.load import load_run
    from hdx.safeio import atomic_write_json

    if not any((onnx, zigzag, timeloop, layers)):
        raise HDXError("nothing to export: give --onnx FILE, --zigzag FILE, --timeloop DIR and/or "
                       "--layers FILE")
    run = load_run(run_dir)
    res = ExportResult()
    _, grid, lys, acc = run_layers(run)
    if layers:
        atomic_write_json(Path(layers), layers_json(run))
        res.files.append(Path(layers))
    if zigzag:
        from hdx.export.zigzag import write_zigzag

        res.files += write_zigzag(zigzag, acc, grid.hardware, lys)
    if timeloop:
        from hdx.export.timeloop import write_timeloop

        res.files += write_timeloop(timeloop, acc, grid.hardware, lys)
    if onnx:
        from hdx.export.network import build_network, export_onnx, input_shape, parity

        net = build_network(run, weights)
        export_onnx(net, input_shape(run), onnx)
        res.onnx_max_abs_diff = parity(net, onnx)
        if not res.onnx_max_abs_diff <= tolerance:
            raise HDXError(f"ONNX export of {run.final.arch} differs from PyTorch by "
                           f"{res.onnx_max_abs_diff:.3g} "
                           f"(> {tolerance:g}); the file {onnx} is not trustworthy")
        res.files.append(Path(onnx))
    return res


__all__ = ["ExportResult", "export_run", "layers_json"]
