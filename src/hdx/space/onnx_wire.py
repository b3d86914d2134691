"""Read an ONNX file without its weight payloads, straight from the protobuf wire format.

HDX needs the graph and every tensor's *shape*, never the weights' values (beyond small shape-carrying
constants). :func:`slim_bytes` maps the file and copies it field by field, leaving out every tensor
data field (``raw_data``, ``float_data``, ...) longer than :data:`KEEP_DATA_BYTES`; the skipped bytes
are never read, so a 2 GB model costs a few MB of memory. What is kept is ordinary ONNX protobuf (the
same messages, with those fields absent), parsed afterwards by ``onnx``.

The walk is bounded: at most :data:`MAX_FIELDS` fields in all, :data:`MAX_KEPT_BYTES` kept, messages
nested at most :data:`MAX_DEPTH` deep; malformed wire data (a varint or length past its message,
deprecated groups) is a one-line :class:`~hdx.errors.HDXError`.
"""

from __future__ import annotations

import mmap
from pathlib import Path

from hdx.errors import HDXError

KEEP_DATA_BYTES = 512 << 10  # tensor data fields above this are left out (weights, not shapes)
MAX_KEPT_BYTES = 64 << 20  # the graph without its weights: 200,000 nodes take about 30 MB
MAX_FIELDS = 10_000_000
MAX_DEPTH = 48

_DATA = "data"  # a tensor data field: dropped when long
#: field numbers of the ONNX messages that can hold tensors (onnx.proto3), and what each field holds
_SCHEMA: dict[str, dict[int, str]] = {
    "model": {7: "graph", 25: "function", 20: "skip"},  # training_info is never used: left out
    "graph": {1: "node", 5: "tensor", 15: "sparse"},
    "node": {5: "attr"},
    "attr": {5: "tensor", 10: "tensor", 6: "graph", 11: "graph", 22: "sparse", 23: "sparse"},
    "sparse": {1: "tensor", 2: "tensor"},
    "function": {7: "node"},
    "tensor": {4: _DATA, 5: _DATA, 6: _DATA, 7: _DATA, 9: _DATA, 10: _DATA, 11: _DATA},
}


class _Bad(Exception):
    pass


class _Walk:
    """One pass over the mapped file (``buf``: an mmap; ``buf[i]`` an int, ``buf[a:b]`` a copy)."""

    def __init__(self, buf):
        self.buf = buf
        self.fields = 0
        self.dropped = 0

    def varint(self, i: int, end: int) -> tuple[int, int]:
        buf, shift, out = self.buf, 0, 0
        while True:
            if i >= end or shift > 63:
                raise _Bad("a varint runs past its message")
            b = buf[i]
            i += 1
            out |= (b & 0x7F) << shift
            if b < 0x80:
                return out, i
            shift += 7

    def message(self, start: int, end: int, kind: str, depth: int) -> bytearray:
        """The message in ``buf[start:end]`` of type ``kind``, re-encoded without long data fields."""
        if depth > MAX_DEPTH:
            raise _Bad(f"messages nested more than {MAX_DEPTH} deep")
        schema = _SCHEMA[kind]
        out = bytearray()
        i = start
        while i < end:
            self.fields += 1
            if self.fields > MAX_FIELDS:
                raise HDXError(f"the model has more than {MAX_FIELDS:,} protobuf fields; HDX reads CNNs of "
                               f"at most 200,000 nodes")
            tag_start = i
            tag, i = self.varint(i, end)
            tag_end = value = i
            field, wire = tag >> 3, tag & 7
            if field == 0:
                raise _Bad("field number 0")
            if wire == 0:
                _, i = self.varint(i, end)
            elif wire in (1, 5):
                i += 8 if wire == 1 else 4
            elif wire == 2:
                n, value = self.varint(i, end)
                i = value + n
            else:
                raise _Bad(f"wire type {wire}")
            if i > end:
                raise _Bad("a field runs past its message")
            sub = schema.get(field) if wire == 2 else None
            if sub == "skip" or (sub == _DATA and i - value > KEEP_DATA_BYTES):
                self.dropped += i - tag_start
                continue
            if sub is None or sub == _DATA:
                out += self.buf[tag_start:i]
            else:
                inner = self.message(value, i, sub, depth + 1)
                out += self.buf[tag_start:tag_end]
                out += _encode_varint(len(inner))
                out += inner
            if len(out) > MAX_KEPT_BYTES:
                raise HDXError(f"the model's graph (without weights) is larger than {MAX_KEPT_BYTES >> 20} "
                               f"MiB; HDX reads CNNs of at most 200,000 nodes")
        return out


def _encode_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if not n:
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)


def slim_bytes(path: str | Path) -> tuple[bytes, int]:
    """The ONNX file at ``path`` as protobuf bytes without its large tensor payloads, and the number of
    bytes left out. The file is memory-mapped; skipped payloads are never read."""
    from hdx.safeio import os_errors

    p = Path(path)
    with os_errors(p, "read"), open(p, "rb") as f:
        size = f.seek(0, 2)
        if size == 0:
            return b"", 0
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            w = _Walk(mm)
            try:
                out = w.message(0, size, "model", 0)
            except _Bad as e:
                raise HDXError(f"{p} is not an ONNX model (malformed protobuf: {e}); give a .onnx "
                               f"file") from None
            finally:
                w.buf = None
            return bytes(out), w.dropped
