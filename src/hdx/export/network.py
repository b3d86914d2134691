"""The searched network as a PyTorch module and as ONNX (``hdx export --onnx``).

Weights: ``hdx train``'s ``model.safetensors`` when given, else the supernet weights the search
inherited (its last ``checkpoint.pt``; BatchNorm statistics are the supernet's running averages, so
retrain with ``hdx train`` for deployment accuracy). The ONNX graph has one input ``image``
``[batch, C, R, R]`` (float32, dynamic batch) and one output ``logits`` ``[batch, classes]``; it is
checked with ``onnx.checker`` and against PyTorch with ``onnxruntime`` (:func:`parity`).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import numpy as np
import torch

from hdx.errors import HDXError
from hdx.report.load import Run, load_supernet_state, load_trained_weights

INSTALL_HINT = "pip install 'hdx[export]'"


def _need(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise HDXError(f"ONNX export needs the optional extra {module}; install it with: "
                       f"{INSTALL_HINT}") from None


def build_network(run: Run, weights: str | Path | None = None) -> torch.nn.Module:
    """The run's derived network (eval mode) with trained or inherited weights."""
    from hdx.model.network import Network
    from hdx.model.supernet import SuperNet
    from hdx.space.network import NetworkSpace

    space = NetworkSpace.load(run.config.space)
    arch = space.parse_arch(run.final.arch)
    if weights is not None:
        state, width, t_arch = load_trained_weights(weights)
        if t_arch is not None and space.parse_arch(t_arch) != arch:
            raise HDXError(f"--weights {weights} were trained for {t_arch}, not this run's {run.final.arch}")
        net = Network(space, arch, width if width is not None else run.config.width_mult)
        try:
            net.load_state_dict(state)
        except RuntimeError as e:
            raise HDXError(f"--weights {weights} do not fit network {run.final.arch} "
                           f"({str(e).splitlines()[0][:100]})") from None
    else:
        sup = SuperNet(space, width_mult=run.config.width_mult)
        try:
            sup.load_state_dict(load_supernet_state(run.path))
        except RuntimeError as e:
            raise HDXError(f"checkpoint of {run.path} does not fit its config "
                           f"({str(e).splitlines()[0][:100]})") from None
        net = sup.extract(arch)
    return net.eval()


def input_shape(run: Run) -> tuple[int, int, int]:
    """(channels, height, width) of one input image of the run's space."""
    from hdx.space.network import NetworkSpace

    cfg = NetworkSpace.load(run.config.space).config
    return cfg.in_channels, cfg.resolution, cfg.resolution


def export_onnx(net: torch.nn.Module, shape: tuple[int, int, int], path: str | Path) -> Path:
    """Write ``net`` as ONNX (opset 18, dynamic batch) and check it with ``onnx.checker``."""
    onnx = _need("onnx")
    _need("onnxscript")
    from hdx.safeio import atomic_write_bytes

    x = torch.zeros(1, *shape)
    buf = io.BytesIO()
    with contextlib.redirect_stdout(io.StringIO()), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation chatter
        prog = torch.onnx.export(net, (x,), None, dynamo=True, input_names=["image"],
                                 output_names=["logits"], dynamic_shapes=({0: torch.export.Dim("batch")},),
                                 opset_version=18, verbose=False)
    model = prog.model_proto
    onnx.checker.check_model(model, full_check=True)
    buf.write(model.SerializeToString())
    p = Path(path)
    atomic_write_bytes(p, buf.getvalue())
    return p


def parity(net: torch.nn.Module, path: str | Path, batch: int = 8, seed: int = 0) -> float:
    """Max absolute difference of the logits of ``net`` (PyTorch) and the ONNX file (onnxruntime) on a
    random batch."""
    ort = _need("onnxruntime")
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    shape = sess.get_inputs()[0].shape[1:]
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, *[int(s) for s in shape], generator=g)
    with torch.no_grad():
        ref = net(x).numpy()
    got = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    return float(np.max(np.abs(ref - got)))
