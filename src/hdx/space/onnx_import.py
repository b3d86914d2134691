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
dimension is taken as 1).

Loading an untrusted file is bounded and never runs the graph:

* the file is memory-mapped and copied without its weight payloads (:mod:`hdx.space.onnx_wire`: the
  skipped bytes are never read; only shapes are used), so memory follows the graph, not the weights;
* the rest is parsed as a protobuf; a model that keeps any tensor in an external file (in the main
  graph, a subgraph, a function or a sparse tensor) is refused before any library sees it, so nothing
  outside the given path is ever opened;
* shapes come from ONNX's shape inference (no kernel runs) and from :mod:`hdx.space.onnx_fold`, a
  small numpy evaluator of shape-handling ops that sizes every output before allocating it and stops
  at explicit element and time limits (no onnxruntime);
* node count, subgraph nesting and layer count are bounded; any failure is one line (exit 2) naming the
  node, even when the underlying exception has no message.
"""

from __future__ import annotations

from pathlib import Path

from hdx.errors import HDXError
from hdx.safeio import first_line
from hdx.workload import Layer

MAX_BYTES = 2 * 1024**3 - 1  # protobuf's own limit
MAX_NODES = 200_000  # in all graphs and functions together
MAX_DEPTH = 16  # subgraphs inside subgraphs
MAX_LAYERS = 20_000
MAX_FOLD_ROUNDS = 8  # shape inference / constant folding alternations
#: weight payloads above this many elements are dropped after parsing (HDX reads their shapes only)
KEEP_DATA_ELEMENTS = 1 << 16
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


def _dims(vi, what: str, why: str = "") -> list[int]:
    t = vi.type.tensor_type
    if not t.HasField("shape"):
        raise HDXError(f"{what}: shape unknown{why}; export the model with static shapes")
    out = []
    for i, d in enumerate(t.shape.dim):
        if d.HasField("dim_value") and d.dim_value > 0:
            out.append(int(d.dim_value))
        elif d.HasField("dim_value"):
            raise HDXError(f"{what}: dimension {i} is {d.dim_value}; every dimension must be positive")
        else:
            raise HDXError(f"{what}: dimension {i} is dynamic ('{d.dim_param[:40]}'){why}; export the model "
                           f"with static shapes (batch 1)")
    return out


def _q(name: str) -> str:
    """A name from the file, shortened for a one-line message."""
    return name if len(name) <= 60 else name[:57] + "..."


def _tensors(model):
    """Every TensorProto of the model, with a label: initializers, sparse tensors, node attributes (also
    in subgraphs, functions and training graphs). Yields (label, tensor); raises past MAX_DEPTH."""
    def graph(g, where: str, depth: int):
        if depth > MAX_DEPTH:
            raise HDXError(f"ONNX model nests subgraphs more than {MAX_DEPTH} deep at {where}")
        for t in g.initializer:
            yield f"initializer '{_q(t.name)}' of {where}", t
        for st in g.sparse_initializer:
            yield f"sparse initializer '{_q(st.values.name)}' of {where}", st.values
            yield f"sparse initializer '{_q(st.values.name)}' of {where}", st.indices
        yield from nodes(g.node, where, depth)

    def nodes(ns, where: str, depth: int):
        for n in ns:
            for a in n.attribute:
                label = f"attribute '{_q(a.name)}' of node '{_q(n.name or n.op_type)}' in {where}"
                if a.HasField("t"):
                    yield label, a.t
                yield from ((label, t) for t in a.tensors)
                if a.HasField("sparse_tensor"):
                    yield label, a.sparse_tensor.values
                    yield label, a.sparse_tensor.indices
                for st in a.sparse_tensors:
                    yield label, st.values
                    yield label, st.indices
                sub = f"subgraph '{_q(a.name)}' of node '{_q(n.name or n.op_type)}'"
                if a.HasField("g"):
                    yield from graph(a.g, sub, depth + 1)
                for sg in a.graphs:
                    yield from graph(sg, sub, depth + 1)

    yield from graph(model.graph, "the main graph", 0)
    for f in model.functions:
        yield from nodes(f.node, f"function '{_q(f.name)}'", 1)
    for ti in model.training_info:
        yield from graph(ti.initialization, "a training graph", 1)
        yield from graph(ti.algorithm, "a training graph", 1)


def _count_nodes(model) -> int:
    def graph(g) -> int:
        return sum(1 + sum(graph(a.g) if a.HasField("g") else 0 for a in n.attribute)
                   + sum(graph(sg) for a in n.attribute for sg in a.graphs) for n in g.node)

    return graph(model.graph) + sum(len(f.node) for f in model.functions)


def _check_untrusted(model, p: Path) -> None:
    """Refuse, before any library touches the model: external data anywhere, too many nodes, too deep
    subgraphs, ops outside the standard domain."""
    for label, t in _tensors(model):
        if t.data_location == 1 or len(t.external_data):
            loc = next((e.value for e in t.external_data if e.key == "location"), "")
            where = f" ('{loc[:80]}')" if loc else ""
            raise HDXError(f"ONNX model {p}: {label} is stored in an external file{where}; HDX reads "
                           f"self-contained models only and never opens other files: save the model with "
                           f"its weights inside (onnx.save(model, path, save_as_external_data=False))")
    n = _count_nodes(model)
    if n > MAX_NODES:
        raise HDXError(f"ONNX model {p} has {n} nodes, more than {MAX_NODES}")
    for node in model.graph.node:
        if node.domain not in ("", "ai.onnx"):
            raise HDXError(f"unsupported op '{_q(node.domain)}.{_q(node.op_type)}' (node '{_q(node.name)}'): "
                           f"HDX reads the standard ONNX domain only")


def _drop_payloads(model) -> None:
    """Clear the data of large initializers and Constant values (their dims and types stay): only their
    shapes are used, and the copies shape inference makes stay small."""
    def big(t) -> bool:
        n = 1
        for d in t.dims:
            n *= max(int(d), 0)
        return n > KEEP_DATA_ELEMENTS or len(t.raw_data) > 8 * KEEP_DATA_ELEMENTS

    def clear(t) -> None:
        for f in ("raw_data", "float_data", "int32_data", "string_data", "int64_data", "double_data",
                  "uint64_data"):
            t.ClearField(f)

    for t in model.graph.initializer:
        if big(t):
            clear(t)
    for n in model.graph.node:
        for a in n.attribute:
            if a.HasField("t") and big(a.t):
                clear(a.t)
            for f in ("ints", "floats", "strings"):
                if len(getattr(a, f)) > KEEP_DATA_ELEMENTS:
                    a.ClearField(f)
    model.ClearField("training_info")  # never used for shapes


def load_model(path: str | Path):
    """Parse an ONNX file (bounded size, no external data), infer every tensor's shape at batch 1 and
    fold shape-computing constants within limits (see the module docstring)."""
    return _load(path)[0]


def _load(path: str | Path):
    """(model with inferred shapes, why constant folding stopped early or "")."""
    from hdx.space.onnx_wire import slim_bytes

    onnx = _onnx()
    p = Path(path)
    if not p.is_file():
        what = "is not a regular file" if p.exists() else "does not exist"
        raise HDXError(f"ONNX model {p} {what}; give the path of a .onnx file")
    size = p.stat().st_size
    if size > MAX_BYTES:
        raise HDXError(f"ONNX model {p} is {size / 2**30:.1f} GiB, more than {MAX_BYTES / 2**30:.0f} GiB")
    data, _ = slim_bytes(p)  # the file without its weight payloads (never read): memory ~ the graph
    try:
        model = onnx.ModelProto.FromString(data)
    except Exception as e:  # noqa: BLE001 - protobuf raises DecodeError and others on a bad file
        raise HDXError(f"{p} is not an ONNX model ({type(e).__name__}); give a .onnx file") from None
    del data
    _check_untrusted(model, p)
    _drop_payloads(model)
    g = model.graph
    init = {t.name for t in g.initializer}
    for vi in g.input:  # a symbolic batch dimension becomes 1 (batch-1 costs)
        if vi.name in init:
            continue
        dims = vi.type.tensor_type.shape.dim
        if len(dims) and not dims[0].HasField("dim_value"):
            dims[0].dim_value = 1
    model = _infer(model, p)
    from hdx.space.onnx_fold import Budget, fold

    budget = Budget()  # one budget (elements and time) for every round
    for _ in range(MAX_FOLD_ROUNDS):  # e.g. pads computed in the graph (PyTorch's TorchScript exporter)
        if _all_static(model) or not fold(model.graph, _static_shapes(model), budget):
            break
        model = _infer(model, p)
    return model, budget.stopped


def _static_shapes(model) -> dict[str, list[int]]:
    out = {}
    for vi in list(model.graph.input) + list(model.graph.value_info) + list(model.graph.output):
        t = vi.type.tensor_type
        if t.HasField("shape") and all(d.HasField("dim_value") and d.dim_value >= 0 for d in t.shape.dim):
            out[vi.name] = [int(d.dim_value) for d in t.shape.dim]
    for t in model.graph.initializer:
        out.setdefault(t.name, [int(d) for d in t.dims])
    return out


#: ONNX shape inference runs in a child process under these limits (its own C++ can be made to build
#: huge shapes by a small file: a rank-60000 tensor times a chain of nodes)
INFER_MEMORY_BYTES = 512 << 20  # address space above the child's own after importing onnx
INFER_SECONDS = 60
MAX_RANK = 64
MAX_INFERRED_BYTES = 64 << 20
_INFER_CHILD = r"""
import sys
import onnx
try:
    import resource
    resource.setrlimit(resource.RLIMIT_CPU, (int(sys.argv[2]), int(sys.argv[2]) + 5))
    vm = next(int(ln.split()[1]) * 1024 for ln in open("/proc/self/status") if ln.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (vm + int(sys.argv[1]), vm + int(sys.argv[1])))
except Exception:  # no resource module or /proc (not Linux): the wall-clock timeout still holds
    pass
out = sys.stdout.buffer
try:
    m = onnx.ModelProto.FromString(sys.stdin.buffer.read())
    r = onnx.shape_inference.infer_shapes(m, strict_mode=True, data_prop=False)
    del m
    g = r.graph
    rank = max([len(v.type.tensor_type.shape.dim) for v in list(g.value_info) + list(g.output)] + [0])
    if rank > int(sys.argv[3]):
        out.write(b"E" + f"a tensor of rank {rank} (more than {sys.argv[3]})".encode())
    elif r.ByteSize() > int(sys.argv[4]):
        out.write(b"E" + f"the inferred shapes take {r.ByteSize() >> 20} MiB".encode())
    else:
        out.write(b"K" + r.SerializeToString())
except MemoryError:
    out.write(b"M")
except BaseException as e:
    msg = next((ln.strip() for ln in str(e).splitlines() if ln.strip()), type(e).__name__)
    out.write(b"E" + msg[:200].encode(errors="replace"))
"""


def _infer(model, p: Path):
    """``model`` with ONNX's inferred shapes (strict mode, no data propagation: that one materialises
    tensors), computed in a child process limited to :data:`INFER_MEMORY_BYTES` of memory and
    :data:`INFER_SECONDS` of CPU; ranks above :data:`MAX_RANK` are refused."""
    import subprocess
    import sys

    onnx = _onnx()
    data = model.SerializeToString()
    args = [str(INFER_MEMORY_BYTES), str(INFER_SECONDS), str(MAX_RANK), str(MAX_INFERRED_BYTES)]
    try:
        r = subprocess.run([sys.executable, "-c", _INFER_CHILD, *args], input=data, capture_output=True,
                           timeout=2 * INFER_SECONDS + 30)
    except subprocess.TimeoutExpired:
        raise HDXError(f"ONNX shape inference of {p} took more than {2 * INFER_SECONDS + 30} s; the model "
                       f"is too large or malformed") from None
    except OSError as e:
        raise HDXError(f"cannot start ONNX shape inference for {p}: {first_line(e)}") from None
    out = r.stdout
    if r.returncode == 0 and out[:1] == b"K":
        try:
            return onnx.ModelProto.FromString(out[1:])
        except Exception as e:  # noqa: BLE001 - never expected: the child wrote what it parsed
            raise HDXError(f"ONNX shape inference of {p} returned a broken model: {first_line(e)}") from None
    if out[:1] == b"E":
        why = " ".join(out[1:].decode(errors="replace").split())[:200] or "unknown error"
        raise HDXError(f"ONNX shape inference failed on {p}: {why}")
    if out[:1] == b"M":
        raise HDXError(f"ONNX shape inference of {p} needs more than {INFER_MEMORY_BYTES >> 20} MiB of "
                       f"memory; the model builds huge shapes (malformed or hostile)")
    raise HDXError(f"ONNX shape inference of {p} stopped without an answer (exit code {r.returncode}): the "
                   f"model needs more than {INFER_MEMORY_BYTES >> 20} MiB or {INFER_SECONDS} s of CPU to "
                   f"infer, or crashes ONNX; it is malformed or hostile")


def _all_static(model) -> bool:
    for vi in list(model.graph.value_info) + list(model.graph.output):
        t = vi.type.tensor_type
        if not t.HasField("shape") or any(not d.HasField("dim_value") for d in t.shape.dim):
            return False
    return True


def onnx_layers(path: str | Path) -> list[Layer]:
    """The HDX layer list of an ONNX CNN (see the module docstring)."""
    import numpy as np

    model, stopped = _load(path)
    why = f" (constant folding stopped: {stopped})" if stopped else ""
    g = model.graph
    shapes = {}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        shapes[vi.name] = vi
    inits = {t.name: list(t.dims) for t in g.initializer}
    for n in g.node:  # Constant nodes holding weights
        if n.op_type == "Constant" and len(n.output) == 1:
            for a in n.attribute:
                if a.name == "value" and a.HasField("t"):
                    inits[n.output[0]] = list(a.t.dims)

    def shape(name: str, node_what: str) -> list[int]:
        if name in inits:
            return inits[name]
        if name not in shapes:
            raise HDXError(f"{node_what}: the shape of '{_q(name)}' could not be inferred{why}; export the "
                           f"model with static shapes")
        return _dims(shapes[name], f"{node_what}: tensor '{_q(name)}'", why)

    layers: list[Layer] = []
    for i, n in enumerate(g.node):
        op = n.op_type
        label = _q(n.name or f"{op}_{i}")
        what = f"node '{label}' ({op})"
        if op in SHAPE_ONLY:
            continue
        if op not in ("Conv", "Gemm", "MatMul"):
            raise HDXError(f"unsupported op '{_q(op)}' at node '{label}': HDX costs Conv (dense, depthwise, "
                           f"grouped), Gemm and MatMul, and skips shape-only ops")
        try:
            layers.append(_conv(n, label, what, shape) if op == "Conv"
                          else _matmul(n, label, what, shape, np))
        except HDXError:
            raise
        except Exception as e:  # noqa: BLE001 - missing inputs, attributes of the wrong type or length
            raise HDXError(f"malformed {what}: {type(e).__name__}: {first_line(e, 120)}; check the model "
                           f"with onnx.checker") from None
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
