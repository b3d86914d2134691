"""Hostile files for the surfaces that read a user's file: ONNX models, sweep files, cost tables and
run directories (used by ``bench_hostile_inputs.py``).

Each builder writes into a case folder ``d`` and returns the path to pass to ``hdx``. The ONNX models
are built with ``onnx.helper`` around one real convolution (``x [1,3,8,8]`` → Conv 3→4, 3×3), so a
model is valid except for the one thing each case breaks. External-data cases also plant *decoy*
files where a loader would look (the model's folder, the working directory, its parent, an absolute
path): ``DECOYS`` names them, and the benchmark watches them with inotify to count opens.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np

DECOYS = ("weights.bin", "abs_weights.bin", "up_weights.bin")


def _onnx():
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    return onnx, TensorProto, helper, numpy_helper


def decoys(d: Path) -> list[Path]:
    """Plant the decoy weight files a loader resolving external data could open; return them."""
    (d / "model").mkdir(exist_ok=True)
    out = [d / "weights.bin", d / "model" / "weights.bin", d / "abs_weights.bin", d / "up_weights.bin"]
    for p in out:
        p.write_bytes(np.zeros(4 * 3 * 3 * 4, np.float32).tobytes())
    return out


def conv_graph(pre_nodes=(), pre_inits=(), pads: str | None = None, extra_outputs=(), x_shape=(1, 3, 8, 8),
               opset: int = 17):
    """A model ``x → [Pad(pads)] → Conv(w) → y`` with extra nodes/initializers before it."""
    onnx, T, helper, nh = _onnx()
    w = nh.from_array(np.zeros((4, 3, 3, 3), np.float32), "w")
    x = helper.make_tensor_value_info("x", T.FLOAT, list(x_shape))
    nodes = list(pre_nodes)
    src = "x"
    if pads:
        nodes.append(helper.make_node("Pad", ["x", pads], ["xp"], name="pad"))
        src = "xp"
    nodes.append(helper.make_node("Conv", [src, "w"], ["y"], name="conv"))
    outs = [helper.make_tensor_value_info("y", T.FLOAT, None)]
    outs += [helper.make_tensor_value_info(o, T.FLOAT, None) for o in extra_outputs]
    g = helper.make_graph(nodes, "g", [x], outs, [w, *pre_inits])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def save(model, d: Path, name: str = "m.onnx") -> Path:
    onnx = _onnx()[0]
    (d / "model").mkdir(exist_ok=True)
    p = d / "model" / name
    onnx.save(model, str(p))
    return p


def _external(t, location: str) -> None:
    t.ClearField("raw_data")
    t.ClearField("float_data")
    t.data_location = 1
    for k, v in (("location", location), ("offset", "0"), ("length", "432")):
        e = t.external_data.add()
        e.key, e.value = k, v


def onnx_external(d: Path, where: str) -> Path:
    """External data in the weight (``rel``, ``abs``, ``up``), in an If subgraph, a Constant node, a
    sparse initializer, a local function, or a bare data_location flag."""
    onnx, T, helper, nh = _onnx()
    decoys(d)
    loc = {"rel": "weights.bin", "abs": str((d / "abs_weights.bin").resolve()), "up": "../up_weights.bin"}
    # pads computed in the graph (as PyTorch's exporter writes them): shapes are static only after
    # constant folding, the step that once handed the model, external data and all, to onnxruntime
    n8 = nh.from_array(np.array([8], np.int64), "n8")
    zeros = helper.make_node("ConstantOfShape", ["n8"], ["pads"], value=nh.from_array(np.zeros(1, np.int64)))
    m = conv_graph([zeros], [n8], pads="pads")
    if where in loc:
        _external(m.graph.initializer[0], loc[where])
    elif where == "flag":
        t = m.graph.initializer[0]
        t.ClearField("raw_data")
        t.data_location = 1
    elif where == "subgraph":
        c = nh.from_array(np.zeros((4, 3, 3, 3), np.float32), "sub_w")
        _external(c, "weights.bin")
        body = helper.make_graph([helper.make_node("Identity", ["sub_w"], ["o"])], "then", [],
                                 [helper.make_tensor_value_info("o", T.FLOAT, None)], [c])
        cond = nh.from_array(np.array(True), "cond")
        m.graph.initializer.append(cond)
        m.graph.node.insert(0, helper.make_node("If", ["cond"], ["if_out"], then_branch=body,
                                                else_branch=body))
    elif where == "constant":
        c = nh.from_array(np.zeros((4, 3, 3, 3), np.float32), "cw")
        _external(c, "weights.bin")
        m.graph.node.insert(0, helper.make_node("Constant", [], ["cw"], value=c))
    elif where == "sparse":
        vals = nh.from_array(np.zeros(3, np.float32), "sp")
        _external(vals, "weights.bin")
        sp = helper.make_sparse_tensor(vals, nh.from_array(np.array([0, 1, 2], np.int64), "sp_i"), [4])
        m.graph.sparse_initializer.append(sp)
    elif where == "function":
        c = nh.from_array(np.zeros(3, np.float32), "fw")
        _external(c, "weights.bin")
        f = helper.make_function("local", "F", [], ["o"], [helper.make_node("Constant", [], ["o"], value=c)],
                                 [helper.make_opsetid("", 17)])
        m.functions.append(f)
    return save(m, d)


def onnx_bomb(d: Path, kind: str) -> Path:
    """A small file whose constants would materialise gigabytes if a runtime folded them."""
    onnx, T, helper, nh = _onnx()
    i64 = lambda name, v: nh.from_array(np.asarray(v, np.int64), name)  # noqa: E731
    one = nh.from_array(np.ones(1, np.float32), "one")
    pads_from = lambda big: [helper.make_node("Slice", [big, "s0", "s8"], ["pads_f"]),  # noqa: E731
                             helper.make_node("Cast", ["pads_f"], ["pads"], to=T.INT64)]
    cut = [i64("s0", [0]), i64("s8", [8])]
    if kind == "tile_output":  # the case: two Tile(ones[1], [1e8]) as extra outputs
        nodes = [helper.make_node("Tile", ["one", "reps"], ["t1"]),
                 helper.make_node("Tile", ["one", "reps"], ["t2"]),
                 helper.make_node("Add", ["t1", "t2"], ["t3"])]
        return save(conv_graph(nodes, [one, i64("reps", [100_000_000])], extra_outputs=["t3"]), d)
    if kind == "tile_pads":
        nodes = [helper.make_node("Tile", ["one", "reps"], ["big"]), *pads_from("big")]
        return save(conv_graph(nodes, [one, i64("reps", [100_000_000]), *cut], pads="pads"), d)
    if kind == "tile_chain":  # each Tile multiplies by 1000: 10^3, 10^6, 10^9, 10^12 elements
        nodes = [helper.make_node("Tile", ["one" if i == 0 else f"t{i}", "reps"], [f"t{i + 1}"])
                 for i in range(4)]
        nodes += pads_from("t4")
        return save(conv_graph(nodes, [one, i64("reps", [1000]), *cut], pads="pads"), d)
    if kind == "expand":
        nodes = [helper.make_node("Expand", ["one", "shape"], ["big"]), *pads_from("big")]
        return save(conv_graph(nodes, [one, i64("shape", [1_000_000_000]), *cut], pads="pads"), d)
    if kind == "constant_of_shape":
        nodes = [helper.make_node("ConstantOfShape", ["shape"], ["big"],
                                  value=nh.from_array(np.ones(1, np.float32))), *pads_from("big")]
        return save(conv_graph(nodes, [i64("shape", [10**12]), *cut], pads="pads"), d)
    if kind == "range":
        nodes = [helper.make_node("Range", ["r0", "r1", "r2"], ["big"]), *pads_from("big")]
        f32 = lambda name, v: nh.from_array(np.asarray(v, np.float32), name)  # noqa: E731
        return save(conv_graph(nodes, [f32("r0", 0), f32("r1", 1e10), f32("r2", 1), *cut], pads="pads"), d)
    if kind == "rank":  # a rank-60000 tensor through 3000 nodes: value_info of 1.8e8 dimensions
        nodes = [helper.make_node("ConstantOfShape", ["shape"], ["r0"])]
        nodes += [helper.make_node("Relu", [f"r{i}"], [f"r{i + 1}"]) for i in range(3000)]
        return save(conv_graph(nodes, [i64("shape", np.ones(60_000))], extra_outputs=["r3000"]), d)
    raise ValueError(kind)


def onnx_odd(d: Path, kind: str) -> Path:
    """Malformed or unsupported graphs that must be one line, and well-formed ones that must work."""
    onnx, T, helper, nh = _onnx()
    i64 = lambda name, v: nh.from_array(np.asarray(v, np.int64), name)  # noqa: E731
    if kind == "random":
        p = d / "model" / "m.onnx"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
        return p
    if kind == "truncated":
        p = save(conv_graph(), d)
        p.write_bytes(p.read_bytes()[:-37])
        return p
    if kind == "empty":
        p = d / "model" / "m.onnx"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(b"")
        return p
    m = conv_graph()
    conv = m.graph.node[-1]
    if kind == "conv_no_weight":  # the IndexError with an empty message
        del conv.input[1]
    elif kind == "conv_bad_attrs":
        conv.attribute.extend([helper.make_attribute("pads", [1, 2, 3]),
                               helper.make_attribute("group", "two")])
    elif kind == "deep_if":  # If inside If, 30 deep (each else branch a leaf)
        leaf = helper.make_graph([helper.make_node("Identity", ["x"], ["leaf"])], "leaf", [],
                                 [helper.make_tensor_value_info("leaf", T.FLOAT, None)])
        inner = leaf
        for i in range(30):
            nodes = [helper.make_node("If", ["cond"], [f"o{i}"], then_branch=inner, else_branch=leaf)]
            out = helper.make_tensor_value_info(f"o{i}", T.FLOAT, None)
            inner = helper.make_graph(nodes, f"g{i}", [], [out])
        m.graph.initializer.append(nh.from_array(np.array(True), "cond"))
        m.graph.node.insert(0, helper.make_node("If", ["cond"], ["deep"], then_branch=inner,
                                                else_branch=leaf))
    elif kind == "custom_domain":
        m.graph.node.insert(0, helper.make_node("Evil", ["x"], ["e"], domain="com.evil"))
    elif kind == "loop":
        body = helper.make_graph([helper.make_node("Identity", ["c"], ["c2"])], "b",
                                 [helper.make_tensor_value_info("i", T.INT64, []),
                                  helper.make_tensor_value_info("c", T.BOOL, [])],
                                 [helper.make_tensor_value_info("c2", T.BOOL, [])])
        m.graph.initializer.extend([i64("trip", 10**12), nh.from_array(np.array(True), "cond")])
        m.graph.node.insert(0, helper.make_node("Loop", ["trip", "cond"], [], body=body))
    elif kind == "huge_dims":
        m.graph.input[0].type.tensor_type.shape.dim[2].dim_value = 2**40
    elif kind == "negative_dims":
        m.graph.input[0].type.tensor_type.shape.dim[2].dim_value = -8
    elif kind == "long_names":
        m.graph.node.insert(0, helper.make_node("LSTM", ["x"], ["l"], name="n" * 200_000))
    elif kind == "many_nodes":  # more nodes than the import reads
        m.graph.node.extend(helper.make_node("Identity", [f"i{i}"], [f"i{i + 1}"]) for i in range(210_000))
    elif kind == "dynamic_batch_reshape":  # Shape → Gather → Unsqueeze → Concat → Reshape → Gemm: works
        g = m.graph
        g.input[0].type.tensor_type.shape.dim[0].dim_param = "batch"
        g.initializer.extend([i64("zero", 0), i64("minus1", [-1]), i64("ax0", [0]),
                              nh.from_array(np.zeros((144, 10), np.float32), "fc")])
        g.node.extend([helper.make_node("Shape", ["y"], ["sh"]),
                       helper.make_node("Gather", ["sh", "zero"], ["n"]),
                       helper.make_node("Unsqueeze", ["n", "ax0"], ["n1"]),
                       helper.make_node("Concat", ["n1", "minus1"], ["tgt"], axis=0),
                       helper.make_node("Reshape", ["y", "tgt"], ["flat"]),
                       helper.make_node("Gemm", ["flat", "fc"], ["logits"])])
        g.output[0].name = "logits"
    else:
        raise ValueError(kind)
    return save(m, d)


# ----- sweep files ------------------------------------------------------------------------------------------
def sweep_file(d: Path, spec: dict | str) -> Path:
    import yaml

    p = d / "sweep.yaml"
    p.write_text(spec if isinstance(spec, str) else yaml.safe_dump(spec))
    return p


# ----- cost tables -----------------------------------------------------------------------------------------
def _npz_bytes(arrays: dict, compress: bool = False) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compress else np.savez)(buf, **arrays)
    return buf.getvalue()


def table_arrays(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def header_of(arrays: dict) -> dict:
    return json.loads(arrays["meta"].tobytes().decode())


def with_header(arrays: dict, meta: dict | str | bytes) -> dict:
    raw = meta if isinstance(meta, bytes) else (meta if isinstance(meta, str) else json.dumps(meta)).encode()
    return {**arrays, "meta": np.frombuffer(raw, dtype=np.uint8)}


def write_table(d: Path, arrays: dict, compress: bool = False) -> Path:
    p = d / "t.npz"
    p.write_bytes(_npz_bytes(arrays, compress))
    return p


def zip_bomb_table(d: Path, arrays: dict, nbytes: int = 1 << 30, member: str = "padding") -> Path:
    """The table's arrays plus a member (``member``; an existing name replaces that array) that inflates
    to ``nbytes`` of zeros: about 1 MB on disk per GiB."""
    p = d / "t.npz"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        for k, v in arrays.items():
            if k != member:
                b = io.BytesIO()
                np.save(b, v)
                zf.writestr(f"{k}.npy", b.getvalue())
        with zf.open(f"{member}.npy", "w", force_zip64=True) as f:
            f.write(_magic_header((nbytes // 8,)))
            chunk = bytes(1 << 24)
            for _ in range(nbytes // len(chunk)):
                f.write(chunk)
    return p


def _magic_header(shape: tuple) -> bytes:
    b = io.BytesIO()
    np.lib.format.write_array_header_1_0(b, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return b.getvalue()  # magic string and header


def lying_member_table(d: Path, arrays: dict) -> Path:
    """A member whose header declares 10^12 float64 (8 TB) in a few bytes."""
    p = d / "t.npz"
    with zipfile.ZipFile(p, "w") as zf:
        for k, v in arrays.items():
            b = io.BytesIO()
            np.save(b, v)
            zf.writestr(f"{k}.npy", b.getvalue() if k != "latency_cycles" else _magic_header((10**6, 10**6)))
    return p


# ----- run directories -------------------------------------------------------------------------------------
def copy_run(src: Path, d: Path, name: str = "run") -> Path:
    out = d / name
    shutil.copytree(src, out)
    return out


def edit_final(run: Path, edit) -> Path:
    p = run / "final.json"
    data = json.loads(p.read_text())
    edit(data)
    p.write_text(json.dumps(data))
    return run


# ----- torch checkpoints -----------------------------------------------------------------------------------
def torch_zip_bomb(p: Path, nbytes: int = 1 << 30) -> Path:
    """A valid ``torch.save`` zip whose one uint8 tensor declares ``nbytes`` elements, stored deflated:
    about 1 MB on disk per GiB that torch would allocate and inflate."""
    import struct

    import torch

    small = p.with_suffix(".small")
    torch.save({"net": {"w": torch.zeros(5, dtype=torch.uint8)}}, small)
    with zipfile.ZipFile(small) as z:
        members = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    small.unlink()
    big = b"J" + struct.pack("<i", nbytes)
    with zipfile.ZipFile(p, "w", zipfile.ZIP_STORED) as out:
        for name, data in members:
            if name.endswith("data.pkl"):
                old = b"cpuq\x08K\x05tq\tQK\x00K\x05\x85"  # storage numel 5, tensor shape (5,)
                assert old in data, "torch.save wrote another pickle layout"
                data = data.replace(old, b"cpuq\x08" + big + b"tq\tQK\x00" + big + b"\x85")
                out.writestr(name, data)
            elif name.endswith("data/0"):
                info = zipfile.ZipInfo(name)
                info.compress_type = zipfile.ZIP_DEFLATED
                with out.open(info, "w", force_zip64=True) as f:
                    chunk = bytes(1 << 24)
                    for _ in range(nbytes // len(chunk)):
                        f.write(chunk)
                    f.write(bytes(nbytes % len(chunk)))
            else:
                out.writestr(name, data)
    return p
