"""``hdx cost --onnx``: ONNX CNNs built in PyTorch and exported become HDX layer lists whose MACs equal
an independent count (PyTorch forward hooks, and a hand count), HDX's own network costs the same by
``--onnx`` and ``--arch``, and unsupported or malformed models are one-line errors (exit 2)."""

from __future__ import annotations

import json
import warnings

import pytest
import torch
from torch import nn

from hdx.cli.main import main

onnx = pytest.importorskip("onnx")


def export(model: nn.Module, shape: tuple[int, ...], path, **kw) -> str:
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(*shape),), str(path), dynamo=False, **kw)
    return str(path)


def hook_macs(model: nn.Module, shape: tuple[int, ...]) -> int:
    """MACs counted from PyTorch's own modules and output shapes (independent of ONNX)."""
    total = 0

    def conv(m, _i, out):
        nonlocal total
        total += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def lin(m, _i, out):
        nonlocal total
        total += out.numel() * m.in_features

    hs = [m.register_forward_hook(conv if isinstance(m, nn.Conv2d) else lin)
          for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    with torch.no_grad():
        model.eval()(torch.randn(*shape))
    for h in hs:
        h.remove()
    return total


def cost_json(capsys, *args) -> dict:
    capsys.readouterr()
    assert main(["cost", *args, "--accel", "16x16,rf=16,df=ws", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


class InvRes(nn.Module):
    def __init__(self, c_in, c_out, e, k, stride):
        super().__init__()
        mid = c_in * e
        self.body = nn.Sequential(nn.Conv2d(c_in, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU6(),
                                  nn.Conv2d(mid, mid, k, stride, k // 2, groups=mid, bias=False),
                                  nn.BatchNorm2d(mid), nn.ReLU6(), nn.Conv2d(mid, c_out, 1, bias=False),
                                  nn.BatchNorm2d(c_out))
        self.res = stride == 1 and c_in == c_out

    def forward(self, x):
        y = self.body(x)
        return x + y if self.res else y


def mobilenet_like() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.BatchNorm2d(16), nn.ReLU6(),
                         InvRes(16, 24, 6, 3, 2), InvRes(24, 24, 6, 5, 1), InvRes(24, 40, 4, 7, 2),
                         nn.Conv2d(40, 128, 1), nn.ReLU6(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(128, 10))


class Bottleneck(nn.Module):
    def __init__(self, c, groups, stride):
        super().__init__()
        self.a = nn.Conv2d(c, c, 1)
        self.b = nn.Conv2d(c, c, 3, stride, 1, groups=groups)
        self.c = nn.Conv2d(c, 2 * c, 1)
        self.short = nn.Conv2d(c, 2 * c, 1, stride)

    def forward(self, x):
        return torch.relu(self.c(torch.relu(self.b(torch.relu(self.a(x))))) + self.short(x))


def resnet_like() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 32, 7, 2, 3), nn.MaxPool2d(3, 2, 1), Bottleneck(32, 8, 1),
                         Bottleneck(64, 4, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 100))


class FCModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 5)
        self.fc1 = nn.Linear(4 * 24 * 24, 64)
        self.fc2 = nn.Linear(64, 32)
        self.w = nn.Parameter(torch.randn(32, 10))  # a MatMul with a weight matrix

    def forward(self, x):
        x = torch.flatten(torch.relu(self.conv(x)), 1)
        return torch.relu(self.fc2(torch.relu(self.fc1(x)))) @ self.w


@pytest.mark.parametrize("build,shape", [(mobilenet_like, (1, 3, 64, 64)), (resnet_like, (1, 3, 56, 56)),
                                         (FCModel, (1, 1, 28, 28))])
def test_macs_equal_an_independent_count(build, shape, tmp_path, capsys):
    torch.manual_seed(0)
    model = build()
    path = export(model, shape, tmp_path / "m.onnx")
    out = cost_json(capsys, "--onnx", path)
    extra = 32 * 10 if isinstance(model, FCModel) else 0  # the MatMul with w (no module to hook)
    assert out["total"]["macs"] == hook_macs(model, shape) + extra
    assert sum(r["macs"] for r in out["layers"]) == out["total"]["macs"]
    n_mac_modules = sum(isinstance(m, nn.Conv2d | nn.Linear) for m in model.modules())
    assert len(out["layers"]) == n_mac_modules + isinstance(model, FCModel)  # + the MatMul
    assert out["total"]["latency_ms"] > 0 and out["total"]["energy_pj"] > 0


def test_layer_kinds_and_groups(tmp_path):
    from hdx.space.onnx_import import onnx_layers

    layers = onnx_layers(export(resnet_like(), (1, 3, 56, 56), tmp_path / "r.onnx"))
    grouped = [ly for ly in layers if ly.groups > 1]
    assert [ly.groups for ly in grouped] == [8, 4] and all(ly.kind == "conv" for ly in grouped)
    assert layers[0].kind == "conv" and (layers[0].r, layers[0].stride, layers[0].padding) == (7, 2, 3)
    layers = onnx_layers(export(mobilenet_like(), (1, 3, 64, 64), tmp_path / "m.onnx"))
    dws = [ly for ly in layers if ly.kind == "depthwise"]
    assert [(ly.c, ly.r, ly.stride) for ly in dws] == [(96, 3, 2), (144, 5, 1), (96, 7, 2)]
    assert layers[-1].kind == "fc" and (layers[-1].c, layers[-1].k) == (128, 10)


def test_hand_count(tmp_path, capsys):
    # conv 3->8, 3x3, pad 1 on 8x8: 8*8*8*3*9 = 13824 MACs; FC 8*4*4 -> 10 after 2x2 pooling: 1280
    model = nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(128, 10))
    out = cost_json(capsys, "--onnx", export(model, (1, 3, 8, 8), tmp_path / "h.onnx"))
    assert [r["macs"] for r in out["layers"]] == [13824, 1280]


def test_pads_computed_in_the_graph_are_folded(tmp_path, capsys):
    # the TorchScript exporter writes ZeroPad2d's pads as a computed tensor: shapes after it are only
    # static once the constant subgraph is folded. Pad (1, 2, 1, 2) on 32x32 -> 35x35, conv 3x3 -> 33x33:
    # 33*33*8*3*9 = 235224 MACs; FC 8 -> 10: 80
    model = nn.Sequential(nn.ZeroPad2d((1, 2, 1, 2)), nn.Conv2d(3, 8, 3), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(8, 10))
    out = cost_json(capsys, "--onnx", export(model, (1, 3, 32, 32), tmp_path / "pad.onnx"))
    assert [r["macs"] for r in out["layers"]] == [235224, 80]


def test_uneven_padding_keeps_loop_bounds(tmp_path):
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    from hdx.space.onnx_import import onnx_layers

    # Conv 3->4, 3x3, stride 2, pads top/left 0, bottom/right 1 on 10x10 (TF "SAME"): 5x5 output
    w = numpy_helper.from_array(np.zeros((4, 3, 3, 3), np.float32), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="same_conv", strides=[2, 2],
                            pads=[0, 0, 1, 1])
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 10, 10])
    g = helper.make_graph([node], "g", [x],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    p = tmp_path / "same.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(p))
    ly = onnx_layers(p)[0]
    assert (ly.p, ly.q, ly.macs, ly.name) == (5, 5, 5 * 5 * 4 * 3 * 9, "same_conv")


def test_hdx_own_network_costs_the_same_by_onnx_and_arch(tmp_path, capsys):
    from hdx.model.network import Network
    from hdx.space.network import NetworkSpace

    space = NetworkSpace.load("dance_cifar10")
    arch = "mb5e6,mb5e3,zero,mb7e6,mb3e3,mb3e6,mb7e3,zero,mb3e6"
    path = export(Network(space, arch, 1.0), (1, 3, 32, 32), tmp_path / "own.onnx")
    by_onnx = cost_json(capsys, "--onnx", path)
    by_arch = cost_json(capsys, "--arch", arch)
    assert by_onnx["total"] == by_arch["total"]
    strip = lambda rows: [{k: v for k, v in r.items() if k != "name"} for r in rows]  # noqa: E731
    assert strip(by_onnx["layers"]) == strip(by_arch["layers"])


def _err(capsys, *args) -> str:
    capsys.readouterr()
    assert main(["cost", *args, "--accel", "16x16,rf=16,df=ws"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def test_unsupported_op_names_op_and_node(tmp_path, capsys):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ConvTranspose2d(4, 4, 2, 2))
    err = _err(capsys, "--onnx", export(model, (1, 3, 8, 8), tmp_path / "t.onnx"))
    assert "unsupported op 'ConvTranspose'" in err and "node '" in err


def test_bad_files_and_shapes(tmp_path, capsys):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage" * 10)
    assert "not an ONNX model" in _err(capsys, "--onnx", str(bad)) or "error:" in capsys.readouterr().err
    assert "does not exist" in _err(capsys, "--onnx", str(tmp_path / "none.onnx"))
    dyn = export(nn.Conv2d(3, 4, 3), (1, 3, 8, 8), tmp_path / "d.onnx", input_names=["x"],
                 dynamic_axes={"x": {0: "batch", 2: "h", 3: "w"}})
    assert "dynamic" in _err(capsys, "--onnx", dyn)
    dil = export(nn.Conv2d(3, 4, 3, dilation=2), (1, 3, 9, 9), tmp_path / "dil.onnx")
    assert "dilation" in _err(capsys, "--onnx", dil)
    assert "exactly one of --arch" in _err(capsys)
    m = export(nn.Conv2d(3, 4, 3), (1, 3, 8, 8), tmp_path / "ok.onnx")
    assert "exactly one of --arch" in _err(capsys, "--onnx", m, "--arch", "x")


def test_symbolic_batch_is_batch_one(tmp_path):
    from hdx.space.onnx_import import onnx_layers

    p = export(nn.Conv2d(3, 4, 3), (2, 3, 8, 8), tmp_path / "b.onnx", input_names=["x"],
               dynamic_axes={"x": {0: "batch"}})
    assert onnx_layers(p)[0].n == 1 and onnx_layers(p)[0].macs == 4 * 6 * 6 * 27
