"""Bounded constant folding of an untrusted ONNX graph, in numpy, for :mod:`hdx.space.onnx_import`.

Exporters often compute a shape-carrying tensor inside the graph (the pads of a ``Pad``, the target
of a ``Reshape``: ``Shape → Gather → Concat``, ``ConstantOfShape → Concat → Slice → Transpose →
Cast``); ONNX shape inference alone then leaves the tensors after it dynamic. This module evaluates
such constant subgraphs itself, for a short list of shape-handling ops, and never hands the graph to a
runtime. Every node's output size is computed arithmetically from its inputs **before** anything is
allocated, and a node is left unfolded (the model keeps it; the layer import then names the dynamic
tensor) when folding it would exceed:

* :data:`MAX_TENSOR_ELEMENTS` elements in one tensor (shape tensors hold a handful),
* :data:`MAX_TOTAL_ELEMENTS` elements over every folded tensor of the model,
* :data:`MAX_SECONDS` seconds of folding.

Folded nodes become ``Constant`` nodes holding their value, so a following ONNX shape inference sees
the data. Only numeric tensors (bool, integers, float16/32/64) are evaluated.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

MAX_TENSOR_ELEMENTS = 1 << 16
MAX_TOTAL_ELEMENTS = 1 << 22
MAX_SECONDS = 10.0

_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32, 7: np.int64,
           9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64}


class _Skip(Exception):
    """This node is not folded (unsupported input, bad attribute, or a limit): the reason is kept."""


@dataclass
class Budget:
    """What folding may still spend: elements over all folded tensors, and seconds of folding (the time
    between :func:`fold` calls, e.g. shape inference, does not count)."""

    elements_left: int = MAX_TOTAL_ELEMENTS
    seconds_left: float = MAX_SECONDS
    stopped: str = ""  # why the last node over a limit was not folded ("" when none was)

    def take(self, shape: tuple[int, ...] | list[int], what: str) -> tuple[int, ...]:
        """Reserve the elements of an output of ``shape`` before it is allocated."""
        shape = tuple(int(d) for d in shape)
        if any(d < 0 for d in shape):
            raise _Skip(f"{what}: negative dimension in {list(shape)}")
        n = math.prod(shape)
        if n > MAX_TENSOR_ELEMENTS:
            self.stopped = f"{what} would hold {n:,} elements (limit {MAX_TENSOR_ELEMENTS:,} per tensor)"
            raise _Skip(self.stopped)
        if n > self.elements_left:
            self.stopped = f"{what}: folded tensors would exceed {MAX_TOTAL_ELEMENTS:,} elements in all"
            raise _Skip(self.stopped)
        self.elements_left -= n
        return shape


def tensor_value(t) -> np.ndarray | None:
    """A TensorProto's value, or None when it is not a small numeric tensor held in the file (a
    stripped or external payload, strings, a declared size above the limit or not matching its data)."""
    from onnx import numpy_helper

    dims = [int(d) for d in t.dims]
    if t.data_type not in _DTYPES or any(d < 0 for d in dims) or math.prod(dims) > MAX_TENSOR_ELEMENTS:
        return None
    if t.data_location == 1 or len(t.external_data):
        return None
    try:
        a = numpy_helper.to_array(t)
    except Exception:  # noqa: BLE001 - data that does not match its dims or type
        return None
    return a if a.shape == tuple(dims) and a.dtype == _DTYPES[t.data_type] else None


def _attr_value(a):
    from onnx import helper

    return helper.get_attribute_value(a)


def _ints(v, what: str) -> list[int]:
    arr = np.asarray(v)
    if arr.dtype.kind not in "iub" or arr.ndim > 1:
        raise _Skip(f"{what} must be integers")
    return [int(x) for x in arr.reshape(-1)]


def _axis(ax: int, rank: int, what: str) -> int:
    if not -rank <= ax < max(rank, 1):
        raise _Skip(f"{what}: axis {ax} out of range for rank {rank}")
    return ax % max(rank, 1)


def _same_type(what: str, *xs: np.ndarray) -> None:
    if len({v.dtype for v in xs}) > 1:  # ONNX needs one type; numpy would promote silently
        raise _Skip(f"{what}: inputs of different types")


def _bshape(budget: Budget, what: str, *shapes) -> tuple[int, ...]:
    try:
        out = np.broadcast_shapes(*(tuple(s) for s in shapes))
    except ValueError:
        raise _Skip(f"{what}: shapes do not broadcast") from None
    return budget.take(out, what)


_UNARY = {"Identity": lambda x: x.copy(), "Neg": np.negative, "Abs": np.abs, "Floor": np.floor,
          "Ceil": np.ceil, "Not": np.logical_not, "Sign": np.sign}
_BINARY = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Equal": np.equal, "Less": np.less,
           "Greater": np.greater, "LessOrEqual": np.less_equal, "GreaterOrEqual": np.greater_equal,
           "And": np.logical_and, "Or": np.logical_or}
FOLDABLE = frozenset({*_UNARY, *_BINARY, "Div", "Min", "Max", "Where", "Cast", "Shape", "Size", "Gather",
                      "Unsqueeze", "Squeeze", "Concat", "Reshape", "Flatten", "Transpose", "Slice",
                      "ConstantOfShape", "Tile", "Expand", "Range"})


def evaluate(op: str, x: list[np.ndarray | None], attrs: dict, budget: Budget, what: str,
             in_shape: list[int] | None = None) -> np.ndarray:
    """The output of one node whose inputs ``x`` are known (``None``: an omitted optional input);
    ``in_shape``: the static shape of the first input, for ``Shape`` / ``Size``. Raises :class:`_Skip`
    before allocating anything above the budget."""
    def arg(i: int) -> np.ndarray:
        if i >= len(x) or x[i] is None:
            raise _Skip(f"{what}: input {i} missing")
        return x[i]

    if op == "Shape":
        start, end = int(attrs.get("start", 0)), attrs.get("end")
        dims = in_shape[start:(None if end is None else int(end))]
        return np.asarray(dims, dtype=np.int64).reshape(budget.take((len(dims),), what))
    if op == "Size":
        budget.take((), what)
        return np.asarray(math.prod(in_shape), dtype=np.int64)
    a = arg(0)
    if op in _UNARY:
        budget.take(a.shape, what)
        return np.asarray(_UNARY[op](a))
    if op in _BINARY or op == "Div":
        b = arg(1)
        _same_type(what, a, b)
        _bshape(budget, what, a.shape, b.shape)
        if op != "Div":
            return np.asarray(_BINARY[op](a, b))
        if a.dtype.kind in "iu":
            if np.any(b == 0):
                raise _Skip(f"{what}: integer division by zero")
            q = np.abs(a) // np.abs(b)  # ONNX integer division truncates toward zero
            return np.asarray(np.where((a < 0) ^ (b < 0), -q, q).astype(a.dtype))
        return np.asarray(np.divide(a, b))
    if op in ("Min", "Max"):
        xs = [arg(i) for i in range(len(x))]
        _same_type(what, *xs)
        _bshape(budget, what, *(v.shape for v in xs))
        f = np.minimum if op == "Min" else np.maximum
        out = xs[0]
        for v in xs[1:]:
            out = f(out, v)
        return np.asarray(out)
    if op == "Where":
        b, c = arg(1), arg(2)
        _same_type(what, b, c)
        _bshape(budget, what, a.shape, b.shape, c.shape)
        return np.asarray(np.where(a.astype(bool), b, c))
    if op == "Cast":
        to = int(attrs.get("to", 0))
        if to not in _DTYPES:
            raise _Skip(f"{what}: cast to type {to}")
        budget.take(a.shape, what)
        return a.astype(_DTYPES[to])
    if op == "Gather":
        idx = arg(1)
        if idx.dtype.kind not in "iu":
            raise _Skip(f"{what}: indices must be integers")
        ax = _axis(int(attrs.get("axis", 0)), a.ndim, what)
        budget.take(a.shape[:ax] + idx.shape + a.shape[ax + 1:], what)
        n = a.shape[ax]
        if np.any((idx < -n) | (idx >= n)):
            raise _Skip(f"{what}: index out of range")
        return np.take(a, idx.astype(np.int64), axis=ax)
    if op in ("Unsqueeze", "Squeeze"):
        raw = _ints(x[1], what) if len(x) > 1 and x[1] is not None else attrs.get("axes")
        budget.take(a.shape, what)
        if op == "Squeeze" and raw is None:
            return a.reshape([d for d in a.shape if d != 1])
        if raw is None:
            raise _Skip(f"{what}: no axes")
        rank = a.ndim if op == "Squeeze" else a.ndim + len(raw)
        axes = {_axis(int(v), rank, what) for v in raw}
        if len(axes) != len(raw):
            raise _Skip(f"{what}: repeated axes")
        if op == "Squeeze":
            if any(a.shape[v] != 1 for v in axes):
                raise _Skip(f"{what}: squeezing a dimension that is not 1")
            return a.reshape([d for i, d in enumerate(a.shape) if i not in axes])
        it = iter(a.shape)
        return a.reshape([1 if i in axes else next(it) for i in range(rank)])
    if op == "Concat":
        xs = [arg(i) for i in range(len(x))]
        _same_type(what, *xs)
        if any(v.ndim != xs[0].ndim for v in xs) or xs[0].ndim == 0:
            raise _Skip(f"{what}: ranks differ")
        ax = _axis(int(attrs.get("axis", 0)), xs[0].ndim, what)
        shape = list(xs[0].shape)
        shape[ax] = sum(v.shape[ax] for v in xs)
        budget.take(shape, what)
        try:
            return np.concatenate(xs, axis=ax)
        except ValueError:
            raise _Skip(f"{what}: shapes do not concatenate") from None
    if op in ("Reshape", "Flatten"):
        if op == "Flatten":
            ax = _axis(int(attrs.get("axis", 1)), a.ndim + 1, what)
            target = [math.prod(a.shape[:ax]), math.prod(a.shape[ax:])]
        else:
            target = _ints(arg(1), what)
            if len(target) > 64:
                raise _Skip(f"{what}: rank above 64")
            if not attrs.get("allowzero", 0):
                target = [a.shape[i] if v == 0 and i < a.ndim else v for i, v in enumerate(target)]
        budget.take(a.shape, what)
        try:
            return a.reshape(target)
        except ValueError:
            raise _Skip(f"{what}: cannot reshape {list(a.shape)} to {target}") from None
    if op == "Transpose":
        perm = attrs.get("perm")
        perm = list(range(a.ndim))[::-1] if perm is None else [int(v) for v in perm]
        if sorted(perm) != list(range(a.ndim)):
            raise _Skip(f"{what}: bad perm {perm}")
        budget.take(a.shape, what)
        return np.transpose(a, perm)
    if op == "Slice":
        if len(x) > 1:
            starts, ends = _ints(arg(1), what), _ints(arg(2), what)
            axes = _ints(x[3], what) if len(x) > 3 and x[3] is not None else list(range(len(starts)))
            steps = _ints(x[4], what) if len(x) > 4 and x[4] is not None else [1] * len(starts)
        else:  # opset < 10: attributes
            starts, ends = list(attrs.get("starts", [])), list(attrs.get("ends", []))
            axes = list(attrs.get("axes", range(len(starts))))
            steps = [1] * len(starts)
        if not len(starts) == len(ends) == len(axes) == len(steps) or 0 in steps:
            raise _Skip(f"{what}: starts, ends, axes and steps differ in length or a step is 0")
        sl = [slice(None)] * a.ndim
        for s, e, ax, st in zip(starts, ends, axes, steps, strict=True):
            clamp = lambda v: max(min(v, 2**62), -(2**62))  # noqa: E731 - INT64 sentinels
            sl[_axis(ax, a.ndim, what)] = slice(clamp(s), clamp(e), clamp(st))
        budget.take(a.shape, what)
        return np.asarray(a[tuple(sl)]).copy()
    if op == "ConstantOfShape":
        shape = _ints(a, what)
        budget.take(shape, what)
        v = attrs.get("value")
        fill = tensor_value(v) if v is not None else np.zeros(1, np.float32)
        if fill is None or fill.size != 1:
            raise _Skip(f"{what}: value must be one number")
        return np.full(shape, fill.reshape(()), dtype=fill.dtype)
    if op == "Tile":
        reps = _ints(arg(1), what)
        if len(reps) != a.ndim or any(r < 0 for r in reps):
            raise _Skip(f"{what}: repeats do not match the rank")
        budget.take([d * r for d, r in zip(a.shape, reps, strict=True)], what)
        return np.tile(a, reps)
    if op == "Expand":
        shape = _ints(arg(1), what)
        out = _bshape(budget, what, a.shape, shape)
        return np.broadcast_to(a, out).copy()
    if op == "Range":
        start, limit, delta = (arg(i) for i in range(3))
        if any(v.size != 1 for v in (start, limit, delta)) or float(delta.reshape(())) == 0:
            raise _Skip(f"{what}: start, limit and delta must be scalars, delta not 0")
        s, lim, d = (float(v.reshape(())) for v in (start, limit, delta))
        if not all(math.isfinite(v) for v in (s, lim, d)):
            raise _Skip(f"{what}: non-finite range")
        budget.take((max(math.ceil((lim - s) / d), 0),), what)
        return np.arange(start.reshape(()), limit.reshape(()), delta.reshape(()), dtype=start.dtype)
    raise _Skip(f"{what}: op {op} is not folded")


def fold(graph, shapes: dict[str, list[int]], budget: Budget) -> int:
    """Fold every node of ``graph`` (in place) whose inputs are constants of the graph (initializers
    held in the file, ``Constant`` nodes, folded outputs) or, for ``Shape`` / ``Size``, whose input has a
    static shape in ``shapes``. Returns the number of nodes folded (they become ``Constant`` nodes).
    Constants are converted to arrays only when a foldable node needs them, within the budget."""
    from onnx import helper, numpy_helper

    protos: dict[str, object] = {t.name: t for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx") and len(node.output) == 1:
            protos[node.output[0]] = node
    known: dict[str, np.ndarray] = {}

    def lookup(name: str, what: str) -> np.ndarray:
        if name not in known:
            v = _constant(protos.get(name))
            if v is None:
                raise _Skip(f"{what}: input '{name}' is not a constant")
            budget.take(v.shape, what)
            known[name] = v
        return known[name]

    folded = 0
    deadline = time.monotonic() + budget.seconds_left
    for i, node in enumerate(graph.node):
        if time.monotonic() > deadline:
            budget.stopped = f"constant folding took more than {MAX_SECONDS:g} s"
            break
        if (node.domain not in ("", "ai.onnx") or node.op_type not in FOLDABLE or len(node.output) != 1
                or not node.output[0]):
            continue
        what = f"node '{node.name or node.op_type + '_' + str(i)}' ({node.op_type})"
        ins = list(node.input)
        try:
            attrs = {a.name: _attr_value(a) for a in node.attribute}
            if node.op_type in ("Shape", "Size"):
                shape = shapes.get(ins[0]) if ins else None
                if shape is None:
                    continue
                out = evaluate(node.op_type, [], attrs, budget, what, shape)
            else:
                if not ins or any(n and n not in known and n not in protos for n in ins):
                    continue
                out = evaluate(node.op_type, [lookup(n, what) if n else None for n in ins], attrs, budget,
                               what)
            out = np.array(out, order="C")  # (np.ascontiguousarray would turn a 0-d result into 1-d)
            if out.dtype not in _NP_DTYPES:
                continue
            tensor = numpy_helper.from_array(out, node.output[0])
        except Exception:  # noqa: BLE001 - _Skip, or a malformed attribute or input: leave the node as is
            continue
        known[node.output[0]] = out
        graph.node[i].CopyFrom(helper.make_node("Constant", [], [node.output[0]], name=node.name,
                                                value=tensor))
        protos[node.output[0]] = graph.node[i]
        folded += 1
    budget.seconds_left = max(0.0, deadline - time.monotonic())
    return folded


_NP_DTYPES = frozenset(np.dtype(t) for t in _DTYPES.values())


def _constant(proto) -> np.ndarray | None:
    """The value of an initializer or a ``Constant`` node, None when it is not a small numeric one."""
    if proto is None:
        return None
    if not hasattr(proto, "op_type"):
        return tensor_value(proto)
    if len(proto.attribute) != 1:
        return None
    a = proto.attribute[0]
    if a.name == "value":
        return tensor_value(a.t)
    if a.name in ("value_int", "value_float"):
        return np.asarray(_attr_value(a), dtype=np.int64 if a.name == "value_int" else np.float32)
    if a.name in ("value_ints", "value_floats"):
        seq = a.ints if a.name == "value_ints" else a.floats
        if len(seq) > MAX_TENSOR_ELEMENTS:
            return None
        return np.asarray(list(seq), dtype=np.int64 if a.name == "value_ints" else np.float32)
    return None
