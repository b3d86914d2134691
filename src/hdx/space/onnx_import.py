"""An ONNX CNN as an HDX layer list (:class:`~hdx.workload.Layer`), for ``hdx cost --onnx``.

What becomes a layer:

* ``Conv`` (2-D, any ``group``): dense k×k → ``conv`` (1×1 → ``pointwise``), ``group = C = M`` →
  ``depthwise``, other groups → ``conv`` with ``groups``. Weight shape ``[M, C/group, kH, kW]`` gives
  ``k``, ``r``, ``s``; the input's inferred shape ``[N, C, H, W]`` gives ``n c h w``. Symmetric pads
  become ``padding``; asymmetric or unequal H/W pads are folded into the input size (``h + top +
  bottom``, padding 0), which gives the same loop bounds and MACs. Dilation ≠ 1, unequal strides and
  ``auto_pad`` other than NOTSET/VALID are refused.
* ``Gemm`` and ``MatMul`` (2-D weights or activations): ``fc`` with ``c`` = reduction length,
  ``k`` = output features, ``n`` = rows (the product of the leading dimensions).
* Shape-only and element-wise ops (activations, BatchNormalization, Add/Mul, pooling, Flatten,
  Reshape, Concat, ...) carry no MACs in HDX's model and are skipped.

Anything else (recurrent ops, control flow, ConvTranspose, custom domains) is a one-line
:class:`~hdx.errors.HDXError` naming the op and its node. Shapes must be static (a symbolic batch
dimension is taken as 1). Loading never runs code: the protobuf is parsed, external weight data is
not read (only shapes are needed), and the file size, node count and layer count are bounded.
"""

from __future__ import annotations

from pathlib import Path

from hdx.errors import HDXError
from hdx.workload import Layer

MAX_BYTES = 2 * 1024**3  # protobuf's own limit
MAX_NODES = 200_000
MAX_LAYERS = 20_000
INSTALL_HINT = "pip install 'hdx[export]'"

#: ops that carry no MACs in HDX's cost model (element-wise, normalisation, pooling, shape handling)
_SHAPE_ONLY_TEXT = """
Abs Add AveragePool BatchNormalization Cast Ceil Celu Clip Concat Constant ConstantOfShape DepthToSpace
Div Dropout Elu Equal Erf Exp Expand Flatten Floor Gather GatherElements Gelu GlobalAveragePool
GlobalMaxPool Greater HardSigmoid HardSwish Identity InstanceNormalization LayerNormalization LeakyRelu
Less Log LRN MaxPool Max Mean Min Mish Mul Neg Not Pad Pow PRelu Range Reciprocal ReduceL2 ReduceMax
ReduceMean ReduceMin ReduceSum Relu Reshape Resize Round Selu Shape Sigmoid Sign Size Slice Softmax
LogSoftmax Softplus Softsign SpaceToDepth Split Sqrt Squeeze Sub Sum Tanh Tile Transpose Unsqueeze
Upsample Where ArgMax ArgMin QuantizeLinear DequantizeLinear
"""
SHAPE_ONLY = frozenset(_SHAPE_ONLY_TEXT.split())


def _onnx():
    try:
        import onnx
    except ImportError:
        raise HDXError(f"reading ONNX models needs the optional extra onnx; install it with: "
                       f"{INSTALL_HINT}") from None
    return onnx


def _attrs(node) -> dict:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _dims(vi, what: str) -> list[int]:
    t = vi.type.tensor_type
    if not t.HasField("shape"):
        raise HDXError(f"{what}: shape unknown; export the model with static shapes")
    out = []
    for i, d in enumerate(t.shape.dim):
        if d.HasField("dim_value") and d.dim_value > 0:
            out.append(int(d.dim_value))
        else:
            raise HDXError(f"{what}: dimension {i} is dynamic ('{d.dim_param}'); export the model with "
                           f"static shapes (batch 1)")
    return out


def load_model(path: str | Path):
    """Parse an ONNX file (no external data, bounded size) and infer every tensor's shape at batch 1."""
    onnx = _onnx()
    p = Path(path)
    if not p.is_file():
        raise HDXError(f"ONNX model {p} does not exist; give the path of a .onnx file")
    size = p.stat().st_size
    if size > MAX_BYTES:
        raise HDXError(f"ONNX model {p} is {size / 2**30:.1f} GiB, more than {MAX_BYTES / 2**30:.0f} GiB")
    try:
        model = onnx.load(str(p), load_external_data=False)
    except Exception as e:  # noqa: BLE001 - protobuf raises DecodeError and others on a bad file
        raise HDXError(f"{p} is not an ONNX model ({type(e).__name__}); give a .onnx file") from None
    g = model.graph
    if len(g.node) > MAX_NODES:
        raise HDXError(f"ONNX model {p} has {len(g.node)} nodes, more than {MAX_NODES}")
    for n in g.node:
        if n.domain not in ("", "ai.onnx"):
            raise HDXError(f"unsupported op '{n.domain}.{n.op_type}' (node '{n.name}'): HDX reads the "
                           f"standard ONNX domain only")
    init = {t.name for t in g.initializer}
    for vi in g.input:  # a symbolic batch dimension becomes 1 (batch-1 costs)
        if vi.name in init:
            continue
        dims = vi.type.tensor_type.shape.dim
        if len(dims) and not dims[0].HasField("dim_value"):
            dims[0].dim_value = 1
    model = _infer(model, p)
    if not _all_static(model):  # e.g. pads computed in the graph (PyTorch's TorchScript exporter)
        model = _infer(_fold_constants(model, p), p)
    return model


def _infer(model, p: Path):
    onnx = _onnx()
    try:
        return onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    except Exception as e:  # noqa: BLE001 - InferenceError and protobuf errors
        raise HDXError(f"ONNX shape inference failed on {p}: {str(e).splitlines()[0][:160]}") from None


def _all_static(model) -> bool:
    for vi in list(model.graph.value_info) + list(model.graph.output):
        t = vi.type.tensor_type
        if not t.HasField("shape") or any(not d.HasField("dim_value") for d in t.shape.dim):
            return False
    return True


def _fold_constants(model, p: Path):
    """The model with its constant subgraphs folded (onnxruntime's basic graph optimisations: constant
    folding and shape-preserving fusions; no custom op can run, only the standard domain is accepted),
    so that shapes computed from constants (e.g. a Pad's pads) become static. Unchanged without
    onnxruntime or when folding fails (the shape check then names the dynamic tensor)."""
    import tempfile

    try:
        import onnxruntime as ort
    except ImportError:
        return model
    onnx = _onnx()
    with tempfile.TemporaryDirectory(prefix="hdx-onnx-") as tmp:
        out = Path(tmp) / "folded.onnx"
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        so.optimized_model_filepath = str(out)
        so.log_severity_level = 3
        try:
            ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
            return onnx.load(str(out), load_external_data=False)
        except Exception:  # noqa: BLE001 - keep the original; its dynamic tensor is reported by name
            return model


def onnx_layers(path: str | Path) -> list[Layer]:
    """The HDX layer list of an ONNX CNN (see the module docstring)."""
    import numpy as np

    model = load_model(path)
    g = model.graph
    shapes = {}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        shapes[vi.name] = vi
    inits = {t.name: list(t.dims) for t in g.initializer}
    for n in g.node:  # Constant nodes holding weights
        if n.op_type == "Constant":
            a = _attrs(n)
            if "value" in a:
                inits[n.output[0]] = list(a["value"].dims)

    def shape(name: str, node_what: str) -> list[int]:
        if name in inits:
            return inits[name]
        if name not in shapes:
            raise HDXError(f"{node_what}: the shape of '{name}' could not be inferred; export the model with "
                           f"static shapes")
        return _dims(shapes[name], f"{node_what}: tensor '{name}'")

    layers: list[Layer] = []
    for i, n in enumerate(g.node):
        op = n.op_type
        label = n.name or f"{op}_{i}"
        what = f"node '{label}' ({op})"
        if op in SHAPE_ONLY:
            continue
        if op == "Conv":
            layers.append(_conv(n, label, what, shape))
        elif op in ("Gemm", "MatMul"):
            layers.append(_matmul(n, label, what, shape, np))
        else:
            raise HDXError(f"unsupported op '{op}' at node '{label}': HDX costs Conv (dense, depthwise, "
                           f"grouped), Gemm and MatMul, and skips shape-only ops")
        if len(layers) > MAX_LAYERS:
            raise HDXError(f"ONNX model has more than {MAX_LAYERS} Conv/Gemm/MatMul layers")
    if not layers:
        raise HDXError(f"ONNX model {path} has no Conv, Gemm or MatMul node: nothing to cost")
    return layers


def _conv(n, label: str, what: str, shape) -> Layer:
    a = _attrs(n)
    x = shape(n.input[0], what)
    w = shape(n.input[1], what)
    if len(x) != 4 or len(w) != 4:
        raise HDXError(f"unsupported {what}: only 2-D convolutions (4-D tensors) are costed, got input "
                       f"{x} and weight {w}")
    nb, c, h, wd = x
    m, cg, kh, kw = w
    group = int(a.get("group", 1))
    if any(int(d) != 1 for d in a.get("dilations", [1, 1])):
        raise HDXError(f"unsupported {what}: dilation {list(a['dilations'])}; HDX costs undilated convs")
    strides = [int(s) for s in a.get("strides", [1, 1])]
    if len(set(strides)) != 1:
        raise HDXError(f"unsupported {what}: unequal strides {strides}")
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    if auto not in ("NOTSET", "VALID"):
        raise HDXError(f"unsupported {what}: auto_pad {auto}; export with explicit pads")
    pads = [int(v) for v in a.get("pads", [0, 0, 0, 0])] if auto == "NOTSET" else [0, 0, 0, 0]
    if group < 1 or c != cg * group:
        raise HDXError(f"{what}: input channels {c} != weight channels {cg} x group {group}")
    top, left, bottom, right = pads
    if top == bottom == left == right:
        padding = top
    else:  # fold uneven padding into the input size: same loop bounds and MACs
        h, wd, padding = h + top + bottom, wd + left + right, 0
    if group == c == m and group > 1:
        kind = "depthwise"
    elif kh == kw == 1:
        kind = "pointwise"
    else:
        kind = "conv"
    return Layer(kind, c=c, k=m, h=h, w=wd, r=kh, s=kw, stride=strides[0], padding=padding, groups=group,
                 n=nb, name=label)


def _matmul(n, label: str, what: str, shape, np) -> Layer:
    a_shape = shape(n.input[0], what)
    b_shape = shape(n.input[1], what)
    if n.op_type == "Gemm":
        at = _attrs(n)
        if len(a_shape) != 2 or len(b_shape) != 2:
            raise HDXError(f"{what}: Gemm needs 2-D inputs, got {a_shape} and {b_shape}")
        rows, red = (a_shape[::-1] if at.get("transA", 0) else a_shape)
        red_b, out = (b_shape[::-1] if at.get("transB", 0) else b_shape)
    else:
        if len(a_shape) < 1 or len(b_shape) < 1:
            raise HDXError(f"{what}: MatMul needs tensors, got shapes {a_shape} and {b_shape}")
        a2 = a_shape if len(a_shape) > 1 else [1, *a_shape]
        b2 = b_shape if len(b_shape) > 1 else [*b_shape, 1]
        try:  # batched matmul: broadcast leading dimensions multiply the rows
            lead = int(np.prod(np.broadcast_shapes(tuple(a2[:-2]), tuple(b2[:-2])), dtype=np.int64))
        except ValueError:
            raise HDXError(f"{what}: shapes {a_shape} and {b_shape} do not broadcast") from None
        rows, red = lead * a2[-2], a2[-1]
        red_b, out = b2[-2], b2[-1]
    if red != red_b:
        raise HDXError(f"{what}: reduction lengths differ ({red} vs {red_b})")
    return Layer("fc", c=int(red), k=int(out), n=int(rows), name=label)
