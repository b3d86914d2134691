"""``hdx cost --onnx``: ONNX CNNs built in PyTorch and exported become HDX layer lists whose MACs equal
an independent count (PyTorch forward hooks, and a hand count), HDX's own network costs the same by
``--onnx`` and ``--arch``, and unsupported or malformed models are one-line errors (exit 2)."""

from __future__ import annotations

import json
import warnings

import numpy as np
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


# ----- issue 19: untrusted models ------------------------------------------------------------------------
def _conv_model(pre_nodes=(), pre_inits=(), pads=None, extra_outputs=()):
    """x [1,3,8,8] -> [Pad(pads)] -> Conv 3->4 3x3 -> y, with extra nodes and initializers before it."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.zeros((4, 3, 3, 3), np.float32), "w")
    nodes, src = list(pre_nodes), "x"
    if pads:
        nodes.append(helper.make_node("Pad", ["x", pads], ["xp"], name="pad"))
        src = "xp"
    nodes.append(helper.make_node("Conv", [src, "w"], ["y"], name="conv"))
    outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in ("y", *extra_outputs)]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          outs, [w, *pre_inits])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def _computed_pads(hw: int = 0):
    """pads = Cast(ConstantOfShape([8], 1.0) * [0, 0, hw, hw, 0, 0, hw, hw]): static only after constant
    folding (shape inference alone does not evaluate Cast or Mul)."""
    from onnx import TensorProto, helper, numpy_helper

    n8 = numpy_helper.from_array(np.array([8], np.int64), "n8")
    mask = numpy_helper.from_array(np.array([0, 0, hw, hw, 0, 0, hw, hw], np.float32), "mask")
    nodes = [helper.make_node("ConstantOfShape", ["n8"], ["ones"],
                              value=numpy_helper.from_array(np.array([1.0], np.float32))),
             helper.make_node("Mul", ["ones", "mask"], ["pf"]),
             helper.make_node("Cast", ["pf"], ["pads"], to=TensorProto.INT64)]
    return nodes, [n8, mask]


def _external(t, location: str) -> None:
    t.ClearField("raw_data")
    t.data_location = 1
    e = t.external_data.add()
    e.key, e.value = "location", location


@pytest.mark.parametrize("where", ["weight", "absolute", "subgraph", "constant", "flag"])
def test_external_data_is_refused_before_anything_reads_it(where, tmp_path, capsys, monkeypatch):
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    # pads computed in the graph: the old import folded such a model with onnxruntime, which opened
    # the external file relative to the working directory
    monkeypatch.chdir(tmp_path)
    decoy = tmp_path / "weights.bin"
    decoy.write_bytes(np.zeros(108, np.float32).tobytes())
    nodes, inits = _computed_pads()
    m = _conv_model(nodes, inits, pads="pads")
    if where == "weight":
        _external(m.graph.initializer[0], "weights.bin")
    elif where == "absolute":
        _external(m.graph.initializer[0], str(decoy))
    elif where == "flag":
        m.graph.initializer[0].ClearField("raw_data")
        m.graph.initializer[0].data_location = 1
    elif where == "subgraph":
        c = numpy_helper.from_array(np.zeros(3, np.float32), "sub_w")
        _external(c, "../weights.bin")
        body = helper.make_graph([helper.make_node("Identity", ["sub_w"], ["o"])], "b", [],
                                 [helper.make_tensor_value_info("o", TensorProto.FLOAT, None)], [c])
        m.graph.initializer.append(numpy_helper.from_array(np.array(True), "cond"))
        m.graph.node.insert(0, helper.make_node("If", ["cond"], ["i"], then_branch=body, else_branch=body))
    else:
        c = numpy_helper.from_array(np.zeros(3, np.float32), "cw")
        _external(c, "weights.bin")
        m.graph.node.insert(0, helper.make_node("Constant", [], ["cw"], value=c))
    (tmp_path / "m").mkdir()
    p = tmp_path / "m" / "m.onnx"
    onnx.save(m, str(p))
    before = decoy.stat().st_atime_ns
    err = _err(capsys, "--onnx", str(p))
    assert "external file" in err and "self-contained" in err
    assert decoy.stat().st_atime_ns == before  # a fresh file's atime moves on a read (relatime too)


def test_onnxruntime_never_runs(tmp_path, capsys, monkeypatch):
    import sys

    class Trap:
        def __getattr__(self, name):
            raise AssertionError(f"onnxruntime.{name} used on an untrusted model")

    monkeypatch.setitem(sys.modules, "onnxruntime", Trap())
    nodes, inits = _computed_pads(1)  # pads of 1 on every side: 10x10 input, 8x8 output
    p = tmp_path / "p.onnx"
    onnx.save(_conv_model(nodes, inits, pads="pads"), str(p))
    out = cost_json(capsys, "--onnx", str(p))
    assert [r["macs"] for r in out["layers"]] == [8 * 8 * 4 * 3 * 9]


@pytest.mark.parametrize("kind", ["tile", "tile_chain", "expand", "constant_of_shape", "range"])
def test_constant_bombs_are_refused_before_allocating(kind, tmp_path, capsys):
    import tracemalloc

    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    from hdx.space import onnx_fold
    from hdx.space.onnx_import import _load

    i64 = lambda n, v: numpy_helper.from_array(np.asarray(v, np.int64), n)  # noqa: E731
    one = numpy_helper.from_array(np.ones(1, np.float32), "one")
    node = helper.make_node
    big = {"tile": ([node("Tile", ["one", "r"], ["big"])], [one, i64("r", [10**8])]),
           "tile_chain": ([node("Tile", ["one", "r"], ["t1"]), node("Tile", ["t1", "r"], ["t2"]),
                           node("Tile", ["t2", "r"], ["big"])], [one, i64("r", [1000])]),
           "expand": ([node("Expand", ["one", "s"], ["big"])], [one, i64("s", [10**9])]),
           "constant_of_shape": ([node("ConstantOfShape", ["s"], ["big"])], [i64("s", [10**12])]),
           "range": ([node("Range", ["a", "b", "c"], ["big"])],
                     [numpy_helper.from_array(np.asarray(v, np.float32), n)
                      for n, v in (("a", 0), ("b", 1e10), ("c", 1))])}[kind]
    cut = [node("Slice", ["big", "s0", "s8"], ["pf"]), node("Cast", ["pf"], ["pads"], to=TensorProto.INT64)]
    m = _conv_model(big[0] + cut, big[1] + [i64("s0", [0]), i64("s8", [8])], pads="pads")
    p = tmp_path / "b.onnx"
    onnx.save(m, str(p))
    tracemalloc.start()
    _, stopped = _load(p)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 64 << 20 and "would hold" in stopped and f"{onnx_fold.MAX_TENSOR_ELEMENTS:,}" in stopped
    err = _err(capsys, "--onnx", str(p))
    assert "constant folding stopped" in err and "dynamic" in err


def test_issue_tile_outputs_do_not_block_the_costs(tmp_path, capsys):
    """The issue's 1.2 KB file: two Tile(ones[1], [1e8]) as graph outputs; the convolution is costed."""
    import numpy as np
    from onnx import helper, numpy_helper

    nodes = [helper.make_node("Tile", ["one", "r"], ["t1"]), helper.make_node("Tile", ["one", "r"], ["t2"]),
             helper.make_node("Add", ["t1", "t2"], ["t3"])]
    inits = [numpy_helper.from_array(np.ones(1, np.float32), "one"),
             numpy_helper.from_array(np.array([10**8], np.int64), "r")]
    p = tmp_path / "t.onnx"
    onnx.save(_conv_model(nodes, inits, extra_outputs=["t3"]), str(p))
    assert p.stat().st_size < 2000
    assert [r["macs"] for r in cost_json(capsys, "--onnx", str(p))["layers"]] == [6 * 6 * 4 * 3 * 9]


def test_shapes_that_ranks_blow_up_are_one_line(tmp_path, capsys):
    """A rank-60000 tensor through 3000 nodes: ONNX's own inference would build 1.8e8 dimensions; it
    runs in a memory-limited child and the answer is one line."""
    import numpy as np
    from onnx import helper, numpy_helper

    nodes = [helper.make_node("ConstantOfShape", ["s"], ["r0"])]
    nodes += [helper.make_node("Relu", [f"r{i}"], [f"r{i + 1}"]) for i in range(3000)]
    p = tmp_path / "r.onnx"
    onnx.save(_conv_model(nodes, [numpy_helper.from_array(np.ones(60_000, np.int64), "s")],
                          extra_outputs=["r3000"]), str(p))
    err = _err(capsys, "--onnx", str(p))
    assert "shape inference" in err


@pytest.mark.parametrize("breakage,needle", [
    ("no_weight", "IndexError"), ("pads", "pads"), ("deep", "deep"), ("negative", "positive"),
])
def test_malformed_graphs_are_one_line_even_without_a_message(breakage, needle, tmp_path, capsys):
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    m = _conv_model()
    conv = m.graph.node[-1]
    if breakage == "no_weight":  # IndexError() has an empty message: the line must still say something
        del conv.input[1]
    elif breakage == "pads":
        conv.attribute.append(helper.make_attribute("pads", [1, 2, 3]))
    elif breakage == "negative":
        m.graph.input[0].type.tensor_type.shape.dim[2].dim_value = -8
    else:
        leaf = helper.make_graph([helper.make_node("Identity", ["x"], ["l"])], "l", [],
                                 [helper.make_tensor_value_info("l", TensorProto.FLOAT, None)])
        g = leaf
        for i in range(20):
            out = helper.make_tensor_value_info(f"o{i}", TensorProto.FLOAT, None)
            g = helper.make_graph([helper.make_node("If", ["c"], [f"o{i}"], then_branch=g, else_branch=leaf)],
                                  f"g{i}", [], [out])
        m.graph.initializer.append(numpy_helper.from_array(np.array(True), "c"))
        m.graph.node.insert(0, helper.make_node("If", ["c"], ["d"], then_branch=g, else_branch=leaf))
    p = tmp_path / "m.onnx"
    onnx.save(m, str(p))
    assert needle in _err(capsys, "--onnx", str(p))


def test_first_line_of_an_empty_exception():
    from hdx.safeio import first_line

    assert first_line(IndexError()) == "IndexError"
    assert first_line(ValueError("\n\n  two  words \nmore")) == "two words"
    assert len(first_line(ValueError("x" * 1000), 50)) == 50


# the bounded evaluator against ONNX's reference implementation (an independent truth), op by op
_FOLD_CASES = [
    ("Add", [[1, 2, 3], [10]], {}), ("Sub", [[[1.5], [2.5]], [1.0, 2.0]], {}), ("Mul", [[2, -3], [4, 5]], {}),
    ("Div", [[7, -7, 7, -7], [2, 2, -2, -2]], {}), ("Div", [[1.0, -3.0], [4.0, 2.0]], {}),
    ("Equal", [[1, 2, 3], [1, 0, 3]], {}), ("Where", [[True, False], [1, 2], [3, 4]], {}),
    ("Cast", [[1.7, -2.2]], {"to": 7}), ("Neg", [[1, -2]], {}), ("Abs", [[-1.5]], {}),
    ("Floor", [[-1.5, 2.5]], {}), ("Ceil", [[-1.5, 2.5]], {}), ("Min", [[1, 5], [3, 2], [4, 0]], {}),
    ("Max", [[1, 5], [3, 2]], {}),
    ("Gather", [[[1, 2, 3], [4, 5, 6]], [-1, 0]], {"axis": 1}), ("Gather", [[5, 6, 7], 1], {}),
    ("Unsqueeze", [[1, 2], [0, -1]], {}), ("Squeeze", [[[[3]], [[4]]], [1]], {}),
    ("Concat", [[[1], [2]], [[3, 4], [5, 6]]], {"axis": -1}),
    ("Reshape", [[[1, 2, 3], [4, 5, 6]], [0, -1, 1]], {}),
    ("Flatten", [np.arange(24).reshape(2, 3, 4)], {"axis": 2}),
    ("Transpose", [np.arange(6).reshape(1, 2, 3)], {"perm": [2, 0, 1]}),
    ("Slice", [np.arange(10), [8], [-(2**63)], [0], [-3]], {}),
    ("Slice", [np.arange(12).reshape(3, 4), [1, 0], [2**63 - 1, 3], [0, 1]], {}),
    ("ConstantOfShape", [[2, 3]], {"value": "i7"}), ("Tile", [[[1, 2]], [2, 3]], {}),
    ("Expand", [[[1], [2]], [2, 1, 3]], {}), ("Range", [np.int64(3), np.int64(-5), np.int64(-2)], {}),
    ("Range", [np.float32(0), np.float32(1), np.float32(0.25)], {}),
]


@pytest.mark.parametrize("op,inputs,attrs", _FOLD_CASES,
                         ids=[f"{c[0]}{i}" for i, c in enumerate(_FOLD_CASES)])
def test_folding_matches_onnx_reference(op, inputs, attrs):
    import numpy as np
    from onnx import helper, numpy_helper
    from onnx.reference import ReferenceEvaluator

    from hdx.space.onnx_fold import Budget, evaluate

    arrays = [np.asarray(v) for v in inputs]
    arrays = [a.astype({"i": np.int64, "f": np.float32}.get(a.dtype.kind, a.dtype)) for a in arrays]
    if op == "ConstantOfShape":
        attrs = {"value": numpy_helper.from_array(np.array([7], np.int64))}
    names = [f"i{k}" for k in range(len(arrays))]
    node = helper.make_node(op, names, ["o"], **attrs)
    g = helper.make_graph([node], "g", [], [helper.make_tensor_value_info("o", 0, None)],
                          [numpy_helper.from_array(a, n) for a, n in zip(arrays, names, strict=True)])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    want = ReferenceEvaluator(model).run(None, {})[0]
    got = evaluate(op, arrays, {a.name: helper.get_attribute_value(a) for a in node.attribute}, Budget(), op)
    assert got.shape == want.shape and got.dtype == want.dtype and np.array_equal(got, want)


def test_shape_and_size_fold_from_static_shapes():
    from hdx.space.onnx_fold import Budget, evaluate

    assert evaluate("Shape", [], {"start": 1, "end": -1}, Budget(), "s", [2, 3, 5, 7]).tolist() == [3, 5]
    assert evaluate("Size", [], {}, Budget(), "s", [2, 3, 5]).tolist() == 30


def test_weights_are_never_read_only_shapes(tmp_path):
    """The wire-level copy leaves out large payloads without reading them: it parses to the same model as
    the full file with those payloads cleared, and costs a small fraction of the file in memory."""
    import tracemalloc

    from onnx import TensorProto, helper, numpy_helper

    from hdx.space.onnx_import import onnx_layers
    from hdx.space.onnx_wire import KEEP_DATA_BYTES, slim_bytes

    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    fc = numpy_helper.from_array(np.ones((144, 20_000), np.float32), "fc")  # 11.5 MB
    cw = numpy_helper.from_array(np.ones((20_000, 10), np.float32), "cw")  # 800 KB, in a Constant node
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv"),
             helper.make_node("Flatten", ["y"], ["f"]),
             helper.make_node("MatMul", ["f", "fc"], ["h"], name="fc"),
             helper.make_node("Constant", [], ["cw"], value=cw),
             helper.make_node("MatMul", ["h", "cw"], ["o"])]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    out = helper.make_tensor_value_info("o", TensorProto.FLOAT, None)
    g = helper.make_graph(nodes, "g", [x], [out], [w, fc])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    p = tmp_path / "w.onnx"
    onnx.save(m, str(p))
    tracemalloc.start()
    data, dropped = slim_bytes(p)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert dropped > 12_000_000 and len(data) < 10_000 and peak < 1_000_000
    for t in [m.graph.initializer[1], m.graph.node[3].attribute[0].t]:
        assert len(t.raw_data) > KEEP_DATA_BYTES
        t.ClearField("raw_data")
    assert onnx.ModelProto.FromString(data) == m
    assert [(ly.kind, ly.c, ly.k) for ly in onnx_layers(p)] == [("conv", 3, 4), ("fc", 144, 20_000),
                                                                 ("fc", 20_000, 10)]


@pytest.mark.parametrize("raw", [b"\x0a\xff\xff\xff\xff\x0f", b"\x3a\x05abc", b"\x0b\x0c", b"\x00\x01",
                                 b"\xff" * 20])
def test_malformed_wire_data_is_one_line(raw, tmp_path, capsys):
    p = tmp_path / "bad.onnx"
    p.write_bytes(raw)  # a length past the end, a field past its message, a group, field 0, a long varint
    assert "not an ONNX model" in _err(capsys, "--onnx", str(p))
