"""Safe file I/O: every file HDX reads or writes goes through here.

* **Writes are atomic** (temporary file in the same folder, fsync, :func:`os.replace`): an interrupted
  run never leaves a half-written result, checkpoint or model behind.
* **JSON is strict**: :func:`dumps_json` refuses NaN and ±inf (``allow_nan=False``); a non-finite
  number in a result is a bug upstream, never something to write.
* **Reads are bounded**: :func:`read_text` caps the size and refuses non-UTF-8 (binary) input.
* **Loading never runs code**: :func:`load_torch` uses ``weights_only=True``; CIFAR pickles go through
  :class:`RestrictedUnpickler` (numpy array reconstruction and plain builtins only).
* **Every OSError becomes one line naming the path** (:func:`os_errors`); :func:`first_line` gives a
  printable line for any exception, even one whose message is empty.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import pickle
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hdx.errors import HDXError

#: default cap on a text/config file read (bytes); configs are a few KiB
MAX_TEXT_BYTES = 1 << 20
#: cap on a checkpoint file (bytes): the search/train checkpoints are a few MB
MAX_CHECKPOINT_BYTES = 2 << 30
#: an .npz member may inflate at most this many times (plus 1 MiB): more is a zip bomb, not data
MAX_INFLATION = 100


def first_line(e: BaseException, limit: int = 160) -> str:
    """The first non-empty line of ``e``'s message (at most ``limit`` characters), or the exception's type
    name when the message is empty (``IndexError()``) or cannot be turned into text."""
    try:
        text = str(e)
    except Exception:  # noqa: BLE001 - a broken __str__ must not break the error path
        text = ""
    for ln in text.splitlines():
        if ln.strip():
            return " ".join(ln.split())[:limit]
    return type(e).__name__


@contextlib.contextmanager
def os_errors(path: str | Path, action: str = "write") -> Iterator[None]:
    """Turn any :class:`OSError` raised inside into a one-line :class:`HDXError` naming ``path``."""
    try:
        yield
    except OSError as e:
        why = e.strerror or type(e).__name__
        hint = {28: "free some disk space", 27: "free some disk space or raise the file-size limit",
                122: "free some space in your quota", 13: "choose a folder you can write to",
                30: "choose a writable folder", 2: "check that the folder exists and is writable"
                }.get(e.errno or 0, "check the path")
        raise HDXError(f"cannot {action} {path}: {why}; {hint}") from None


# ----- writing -----------------------------------------------------------------------------------------
def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically; an OSError (full disk, no permission) is one line."""
    path = Path(path)
    with os_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def _json_default(o: Any) -> Any:
    from pydantic import BaseModel

    if isinstance(o, BaseModel):
        return o.model_dump(mode="json")
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _first_non_finite(obj: Any, where: str = "") -> str | None:
    if isinstance(obj, float) and not math.isfinite(obj):
        return where or "(top level)"
    if isinstance(obj, dict):
        for k, v in obj.items():
            bad = _first_non_finite(v, f"{where}.{k}" if where else str(k))
            if bad:
                return bad
    if isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            bad = _first_non_finite(v, f"{where}[{i}]")
            if bad:
                return bad
    return None


def dumps_json(obj: Any, *, indent: int | None = None, what: str = "result") -> str:
    """Strict JSON text (no NaN/inf: a non-finite number is an error naming its key)."""
    try:
        return json.dumps(obj, indent=indent, default=_json_default, allow_nan=False)
    except ValueError:
        plain = json.loads(json.dumps(obj, default=_json_default))  # NaN survives the round trip
        raise HDXError(f"refusing to write a non-finite number into the {what} "
                       f"(at {_first_non_finite(plain)}); the computation diverged") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name} (strict JSON has none)")


def _finite_float(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):  # 1e999 parses as inf
        raise ValueError(f"number {text[:40]} overflows a float (strict JSON has no inf)")
    return v


def loads_json(text: str, *, what: str = "JSON") -> Any:
    """Parse strict JSON (NaN/Infinity and numbers that overflow to inf, such as ``1e999``, refused); a
    one-line :class:`HDXError` names ``what``."""
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as e:
        raise HDXError(f"{what} is not valid JSON: {first_line(e, 120)}") from None


def atomic_write_json(path: str | Path, obj: Any) -> None:
    """Strict JSON, written atomically."""
    atomic_write_text(path, dumps_json(obj, indent=2, what=str(Path(path).name)) + "\n")


def append_line(path: str | Path, line: str) -> None:
    """Append one line (flushed); an OSError is one line naming the path."""
    with os_errors(path), open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")
        f.flush()


# ----- reading -----------------------------------------------------------------------------------------
def read_bytes(path: str | Path, *, max_bytes: int, what: str = "file") -> bytes:
    """The bytes of ``path``, refusing a file larger than ``max_bytes`` (read at most that much)."""
    path = Path(path)
    with os_errors(path, "read"):
        if not path.is_file():
            raise HDXError(f"{what} {path} is not a regular file")
        with open(path, "rb") as f:  # read what is there (a read of max_bytes would allocate it all)
            data = f.read(min(max_bytes, os.fstat(f.fileno()).st_size) + 1)
            while len(data) <= max_bytes:  # a file that grew, or reports size 0 (/proc): read on
                more = f.read(min(1 << 20, max_bytes + 1 - len(data)))
                if not more:
                    break
                data += more
    if len(data) > max_bytes:
        raise HDXError(f"{what} {path} is larger than {max_bytes // 1024} KiB; is it the right file?")
    return data


def read_text(path: str | Path, *, max_bytes: int = MAX_TEXT_BYTES, what: str = "file") -> str:
    """UTF-8 text of ``path`` with a size cap; binary input is a one-line error."""
    data = read_bytes(path, max_bytes=max_bytes, what=what)
    if b"\x00" in data:
        raise HDXError(f"{what} {path} is binary, not text; give a UTF-8 text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise HDXError(f"{what} {path} is not UTF-8 text (bad byte at offset {e.start}); "
                       f"give a UTF-8 text file") from None


def _check_torch_zip(path: Path, what: str) -> None:
    """A zip checkpoint inflates to its members' declared sizes: ``torch.save`` stores them uncompressed,
    so a compressed member (a 1 MB file that would inflate to gigabytes) or a declared total above the
    cap is refused before torch reads it."""
    import zipfile

    try:
        if not zipfile.is_zipfile(path):
            return  # the legacy format (or garbage): its bytes are all there is
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (OSError, zipfile.BadZipFile, ValueError):
        return  # torch.load reports it as corrupt
    packed = [i.filename for i in infos if i.compress_type != zipfile.ZIP_STORED]
    if packed or len(infos) > 1_000_000 or sum(i.file_size for i in infos) > MAX_CHECKPOINT_BYTES:
        why = f"compressed member {packed[0][:60]}" if packed else "members larger than any HDX checkpoint"
        raise HDXError(f"{what} {path} is not a checkpoint written by HDX ({why}); delete it to start over")


def load_torch(path: str | Path, *, what: str = "checkpoint") -> Any:
    """``torch.load`` with ``weights_only=True`` (tensors, containers and numbers only; no code runs)."""
    import torch

    path = Path(path)
    with os_errors(path, "read"):
        size = path.stat().st_size
    if size > MAX_CHECKPOINT_BYTES:
        raise HDXError(f"{what} {path} is {size >> 20} MiB, larger than any HDX {what}; delete it to "
                       f"start over")
    _check_torch_zip(path, what)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - corrupt, truncated, or a refused (code-carrying) pickle
        refused = "Unsupported global" in str(e) or "GLOBAL" in str(e)
        kind = "holds objects that are not plain tensors" if refused else \
            f"is corrupt or unreadable ({type(e).__name__})"
        raise HDXError(f"{what} {path} {kind}; delete it to start over") from None


def npz_members(path: str | Path, *, max_bytes: int, what: str = "array file"
                ) -> dict[str, tuple[tuple[int, ...], Any]]:
    """The members of an ``.npz`` as ``{name: (shape, dtype)}``, from their headers only (no array is
    read). Refused in one line: a file or a declared total above ``max_bytes``, more than 256 members,
    object (pickled) arrays, and a member whose declared shape needs more bytes than it holds (a crafted
    header that would make numpy allocate terabytes). The declared sizes bound what :func:`load_npz`
    allocates: the zip reader never inflates a member past its declared size."""
    import zipfile

    import numpy as np

    path = Path(path)
    with os_errors(path, "read"):
        if not path.is_file():
            raise HDXError(f"{what} {path} is not a regular file")
        size = path.stat().st_size
    if size > max_bytes:
        raise HDXError(f"{what} {path} is {size >> 20} MiB, more than {max_bytes >> 20} MiB")
    out: dict[str, tuple[tuple[int, ...], Any]] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > 256 or sum(i.file_size for i in infos) > max_bytes:
                raise HDXError(f"{what} {path} expands to more than {max_bytes >> 20} MiB or holds more "
                               f"than 256 arrays; is it the right file?")
            inflating = (i for i in infos if i.file_size > MAX_INFLATION * i.compress_size + (1 << 20))
            bomb = next(inflating, None)
            if bomb is not None:  # HDX writes .npz uncompressed; real data never inflates 100x
                raise HDXError(f"{what} {path}: member {bomb.filename[:60]} inflates from "
                               f"{bomb.compress_size:,} to {bomb.file_size:,} bytes (a zip bomb?); "
                               f"regenerate the file")
            for info in infos:
                with zf.open(info) as f:
                    fmt = np.lib.format
                    version = fmt.read_magic(f)
                    read_header = fmt.read_array_header_1_0 if version == (1, 0) else \
                        fmt.read_array_header_2_0
                    shape, _, dtype = read_header(f, max_header_size=10_000)
                    need = int(np.prod(shape, dtype=object)) * dtype.itemsize
                    if dtype.hasobject or need > info.file_size:
                        raise HDXError(f"{what} {path}: member {info.filename} declares {shape} {dtype}, "
                                       f"which its {info.file_size} bytes cannot hold; regenerate the file")
                out[info.filename.removesuffix(".npy")] = (tuple(int(d) for d in shape), dtype)
    except HDXError:
        raise
    except Exception as e:  # noqa: BLE001 - zip or header errors of a truncated or foreign file
        raise HDXError(f"{what} {path} is corrupt or not an .npz ({type(e).__name__}); "
                       f"regenerate it") from None
    return out


def load_npz(path: str | Path, *, max_bytes: int, what: str = "array file",
             only: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Arrays of an ``.npz`` without pickles, after checking every member's header
    (:func:`npz_members`); ``only``: read just these members (those present)."""
    import numpy as np

    path = Path(path)
    members = npz_members(path, max_bytes=max_bytes, what=what)
    out: dict[str, Any] = {}
    try:
        with np.load(path, allow_pickle=False) as z:
            for k in z.files:
                if k in members and (only is None or k in only):
                    out[k] = z[k]
    except Exception as e:  # noqa: BLE001 - zip, CRC or array errors of a damaged file
        raise HDXError(f"{what} {path} is corrupt or not an .npz ({type(e).__name__}); "
                       f"regenerate it") from None
    return out


# ----- restricted unpickling -----------------------------------------------------------------------------
#: the most bytes / elements a pickle may ask an allowed constructor to create from a number (the data
#: of a real array is in the file; ``bytearray(2**31)`` in a 30-byte pickle is not)
MAX_PICKLE_ALLOC = 1 << 20


def _refuse_size(what: str, n: int) -> None:
    if n > MAX_PICKLE_ALLOC:
        raise pickle.UnpicklingError(f"a {what} of {n:,} elements asked for by a number in the pickle")


def _count(shape: Any) -> int:
    dims = [shape] if isinstance(shape, int) else list(shape) if isinstance(shape, tuple | list) else []
    n = 1
    for d in dims:
        n *= d if isinstance(d, int) and d >= 0 else MAX_PICKLE_ALLOC + 1
    return n


class _SizedNdarray:
    """``numpy.ndarray`` as a pickle sees it: a direct call is sized first; :func:`_sized_reconstruct`
    maps it back to the class."""

    def __call__(self, shape=(), *args: Any, **kwargs: Any) -> Any:
        import numpy as np

        _refuse_size("numpy array", _count(shape))
        return np.ndarray(shape, *args, **kwargs)


_NDARRAY = _SizedNdarray()


def _sized_reconstruct(subtype: Any, shape: Any, dtype: Any) -> Any:
    """numpy's ``_reconstruct`` (the empty array a pickled array's state then fills), sized first."""
    import numpy as np

    _refuse_size("numpy array", _count(shape))
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct
    return _reconstruct(np.ndarray if subtype is _NDARRAY else subtype, shape, dtype)


def _sized_bytes(kind: type) -> Any:
    def make(*args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], int) and not isinstance(args[0], bool):
            _refuse_size(kind.__name__, args[0])
        return kind(*args, **kwargs)
    return make


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild numpy arrays and plain builtins and nothing else.

    Any other global a pickle names (``os.system``, ``builtins.eval``, ``subprocess.Popen``…) is refused
    before it is looked up, so a payload never runs. The allowed constructors that could allocate from a
    bare number (``bytes(n)``, ``bytearray(n)``, an empty numpy array of a given shape) are sized first:
    at most :data:`MAX_PICKLE_ALLOC`, so a tiny pickle cannot ask for gigabytes.
    """

    ALLOWED: frozenset[tuple[str, str]] = frozenset({
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("builtins", "dict"), ("builtins", "list"), ("builtins", "tuple"), ("builtins", "set"),
        ("builtins", "frozenset"), ("builtins", "bytes"), ("builtins", "bytearray"),
        ("builtins", "str"), ("builtins", "int"), ("builtins", "float"), ("builtins", "bool"),
        ("builtins", "complex"), ("_codecs", "encode"),
    })

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refused global {module}.{name}")
        if name == "_reconstruct":
            return _sized_reconstruct
        if (module, name) == ("numpy", "ndarray"):
            return _NDARRAY
        if (module, name) in (("builtins", "bytes"), ("builtins", "bytearray")):
            return _sized_bytes(bytes if name == "bytes" else bytearray)
        return super().find_class(module, name)


class RefusedPickle(HDXError):
    """A pickle that names a global outside :attr:`RestrictedUnpickler.ALLOWED`."""


def restricted_pickle_load(data: bytes, *, source: str, encoding: str = "latin1") -> Any:
    """Unpickle ``data`` with :class:`RestrictedUnpickler`; a refused global is a one-line error."""
    try:
        return RestrictedUnpickler(io.BytesIO(data), encoding=encoding).load()
    except pickle.UnpicklingError as e:
        if str(e).startswith("refused global"):
            raise RefusedPickle(f"{source} is not a plain data file: it names {str(e)[15:]}, which HDX "
                                f"never loads; replace it with an intact copy") from None
        raise
