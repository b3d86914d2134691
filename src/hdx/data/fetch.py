"""Data that comes by itself: download, verify and unpack CIFAR-10 (``hdx data fetch cifar10``).

:func:`fetch` downloads the official archive (or a mirror: ``url`` and ``md5``, or the environment
variables ``HDX_CIFAR10_URL`` / ``HDX_CIFAR10_MD5``) with the standard library (``urllib``), shows
progress (tqdm, on stderr), verifies the archive's md5 and unpacks it **atomically**: into a temporary
folder beside the target, then one rename, so a folder named ``cifar-10-batches-py`` is always
complete. The archive is removed once unpacked.

* **Resume or restart**: the download goes to ``<archive>.part``; a later call asks the server for the
  rest (HTTP ``Range``) and appends when it answers 206, or starts over when it sends the whole file.
  A download cut short (truncated, server gone) is a one-line error that says to run the command
  again; a wrong checksum deletes the file and says so.
* **Safe unpacking**: only regular files and folders are extracted; a member with an absolute path,
  a ``..`` component, a link or a device is refused (one line, nothing extracted).
* **One at a time**: a lock file in the target folder serialises concurrent fetches (sweep workers).

Where the data is looked for (:func:`hdx.data.cifar.resolve_data_dir`): an explicit path, then
``$HDX_DATA``, then the user cache (:func:`cache_dir`), then — where the command allows it (``hdx
search`` and ``hdx train`` do, and say so; ``HDX_OFFLINE=1`` forbids it) — a download into
``$HDX_DATA`` if it is set, else into the user cache.

Sizes in bytes; the CIFAR-10 archive is 170 498 071 bytes (163 MiB), its folder 177 MiB.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import re
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from hdx.errors import DataError, HDXError
from hdx.safeio import os_errors

ENV_DATA = "HDX_DATA"
ENV_CACHE = "HDX_CACHE_DIR"
ENV_OFFLINE = "HDX_OFFLINE"
CHUNK = 1 << 20
TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Source:
    """A data set archive: where it is, its md5, and the folder it unpacks to."""

    name: str
    url: str
    md5: str
    archive: str  # file name of the downloaded archive
    folder: str  # the folder the archive holds
    files: tuple[str, ...]  # files a complete folder has
    size: int | None = None  # bytes of the official archive (None: unknown)


CIFAR10 = Source("cifar10", "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                 "c58f30108f718f92721af3b95e74349a", "cifar-10-python.tar.gz", "cifar-10-batches-py",
                 (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"), 170_498_071)
SOURCES = {CIFAR10.name: CIFAR10}
_MD5 = re.compile(r"^[0-9a-fA-F]{32}$")


def cache_dir() -> Path:
    """The user cache of HDX: ``$HDX_CACHE_DIR``, else ``$XDG_CACHE_HOME/hdx``, else ``~/.cache/hdx``."""
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "hdx"


def download_dir() -> Path:
    """Where a download goes when no folder is given: ``$HDX_DATA`` if set, else :func:`cache_dir`."""
    env = os.environ.get(ENV_DATA)
    return Path(env).expanduser() if env else cache_dir()


def offline() -> bool:
    """Whether ``HDX_OFFLINE`` forbids downloads (any value but empty / 0 / false / no)."""
    return os.environ.get(ENV_OFFLINE, "").strip().lower() not in ("", "0", "false", "no")


def source(name: str = "cifar10", url: str | None = None, md5: str | None = None) -> Source:
    """The source ``name`` with a mirror's ``url`` and ``md5`` (or ``HDX_CIFAR10_URL`` / ``_MD5``)."""
    if name not in SOURCES:
        raise HDXError(f"unknown data set '{name}': use one of {', '.join(SOURCES)}")
    src = SOURCES[name]
    prefix = f"HDX_{name.upper()}_"
    url = url or os.environ.get(prefix + "URL") or None
    md5 = md5 or os.environ.get(prefix + "MD5") or None
    if url is None and md5 is None:
        return src
    if url is None or md5 is None:
        raise HDXError(f"a mirror needs both its URL and the md5 of its archive: give --url and --md5 "
                       f"(or {prefix}URL and {prefix}MD5)")
    if not _MD5.match(md5):
        raise HDXError(f"--md5 '{md5[:40]}' is not an md5 checksum (32 hexadecimal digits)")
    if not re.match(r"^(https?|file)://", url):
        raise HDXError(f"--url '{url[:80]}' must start with http://, https:// or file://")
    return Source(src.name, url, md5.lower(), src.archive, src.folder, src.files, None)


def complete(folder: Path, src: Source = CIFAR10) -> bool:
    """Whether ``folder`` holds every file of the data set."""
    return all((folder / f).is_file() for f in src.files)


def offline_message(src: Source, why: str) -> str:
    """The one line said when the data is nowhere and cannot be downloaded."""
    env = os.environ.get(ENV_DATA)
    return (f"cannot download {src.name} from {src.url} ({why}); put {src.folder} in the user cache "
            f"{cache_dir()} or point {ENV_DATA} at a folder holding it ({ENV_DATA} is "
            f"{'set to ' + env if env else 'unset'}), or fetch it from a mirror with `hdx data fetch "
            f"{src.name} --url URL --md5 HEX`")


def fetch(name: str = "cifar10", *, dir: str | Path | None = None, url: str | None = None,
          md5: str | None = None, progress: bool = True, log: Callable[[str], None] | None = None) -> Path:
    """Download, verify and unpack data set ``name`` into ``dir`` (default :func:`download_dir`);
    returns the data folder (``dir/cifar-10-batches-py``). Nothing is downloaded when it is there."""
    say = log or (lambda s: print(s, file=sys.stderr, flush=True))
    src = source(name, url, md5)
    target = Path(dir).expanduser() if dir is not None else download_dir()
    final = target / src.folder
    if complete(final, src):
        say(f"{src.name} is already in {final}")
        return final
    if final.exists():
        raise DataError(f"{final} exists but is not a complete {src.name} folder (missing "
                        f"{', '.join(f for f in src.files if not (final / f).is_file())[:80]}); "
                        f"delete it and fetch again")
    with os_errors(target, "create folder"):
        target.mkdir(parents=True, exist_ok=True)
    with _lock(target):
        if complete(final, src):  # fetched by another process meanwhile
            return final
        archive = target / src.archive
        download(src, archive, progress=progress, log=say)
        say(f"unpacking {archive.name} into {final}")
        extract(archive, target, src)
        with os_errors(archive, "remove"):
            archive.unlink()
    say(f"{src.name} ready in {final}")
    return final


# ----- download -------------------------------------------------------------------------------------------
def md5sum(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with os_errors(path, "read"), open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def download(src: Source, dest: Path, *, progress: bool = True, log: Callable[[str], None] = print,
             timeout: float = TIMEOUT_S) -> Path:
    """Download ``src.url`` to ``dest`` through ``dest.part`` (resumed when present) and verify its md5.

    One-line :class:`DataError`: server unreachable (names the URL, the cache and ``$HDX_DATA``), an HTTP
    error, a download cut short (the part is kept: run again to resume), a wrong checksum (deleted)."""
    if dest.is_file():
        if md5sum(dest) == src.md5:
            return dest
        dest.unlink()
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.is_file() else 0
    req = urllib.request.Request(src.url, headers={"User-Agent": "hdx", "Accept-Encoding": "identity",
                                                   **({"Range": f"bytes={have}-"} if have else {})})
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 - http(s)/file URLs only
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # nothing left to send: the part is the whole file
            return _verified(part, dest, src)
        raise DataError(f"download of {src.url} failed: HTTP {e.code} {e.reason}; check the URL "
                        f"(or use a mirror: --url URL --md5 HEX)") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        why = getattr(e, "reason", None) or type(e).__name__
        raise DataError(offline_message(src, str(why))) from None
    with resp:
        start = have if getattr(resp, "status", 200) == 206 else 0
        if start:
            log(f"resuming the download of {src.url} at {start:,} bytes")
        else:
            log(f"downloading {src.url} -> {part}" + (f" ({src.size / 2**20:.0f} MiB)" if src.size else ""))
        length = resp.headers.get("Content-Length")
        total = start + int(length) if length and length.isdigit() else None
        got = _stream(resp, part, start, total, progress)
    if total is not None and got < total:
        raise DataError(f"download of {src.url} stopped at {got:,} of {total:,} bytes (connection closed); "
                        f"run the command again to resume it")
    return _verified(part, dest, src)


def _stream(resp, part: Path, start: int, total: int | None, progress: bool) -> int:
    """Copy the response into ``part`` (appending from ``start``); returns the bytes ``part`` holds."""
    from tqdm import tqdm

    got = start
    bar = tqdm(total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr,
               disable=not progress, leave=False, desc=part.name.removesuffix(".part"), dynamic_ncols=True)
    try:
        with os_errors(part, "write"), open(part, "ab" if start else "wb") as f:
            while True:
                try:
                    block = resp.read(CHUNK)
                except (http.client.IncompleteRead, ConnectionError, TimeoutError, OSError) as e:
                    block = getattr(e, "partial", b"") or b""
                    f.write(block)
                    got += len(block)
                    break
                if not block:
                    break
                f.write(block)
                got += len(block)
                bar.update(len(block))
            f.flush()
            os.fsync(f.fileno())
    finally:
        bar.close()
    return got


def _verified(part: Path, dest: Path, src: Source) -> Path:
    digest = md5sum(part)
    if digest != src.md5:
        part.unlink(missing_ok=True)
        raise DataError(f"checksum mismatch: {src.url} gave an archive with md5 {digest}, expected "
                        f"{src.md5}; the file was deleted: run the command again, or check --url / --md5")
    with os_errors(dest, "write"):
        os.replace(part, dest)
    return dest


# ----- unpacking ------------------------------------------------------------------------------------------
def safe_members(tf: tarfile.TarFile, archive: Path) -> list[tarfile.TarInfo]:
    """Every member of ``tf`` after checking it: regular files and folders with relative paths inside
    the archive's root only (no absolute path, no ``..``, no link or device); one line otherwise."""
    out = []
    for m in tf.getmembers():
        p = Path(m.name)
        if p.is_absolute() or ".." in p.parts or m.name.startswith(("/", "\\")):
            raise DataError(f"archive {archive} has a member outside its folder ({m.name[:80]}); refused, "
                            f"nothing was extracted")
        if not (m.isfile() or m.isdir()):
            raise DataError(f"archive {archive} has a link or special file ({m.name[:80]}); refused, "
                            f"nothing was extracted")
        out.append(m)
    return out


def extract(archive: Path, target: Path, src: Source = CIFAR10) -> Path:
    """Unpack ``archive`` (tar.gz) into ``target/src.folder`` atomically: into a temporary folder in
    ``target``, checked complete, then renamed. Returns the folder."""
    final = target / src.folder
    with os_errors(target, "unpack into"):
        tmp = Path(tempfile.mkdtemp(prefix=".hdx-unpack-", dir=target))
    try:
        try:
            with tarfile.open(archive, "r:*") as tf:
                members = safe_members(tf, archive)
                kw = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                with os_errors(tmp, "unpack into"):
                    tf.extractall(tmp, members=members, **kw)
        except (tarfile.TarError, EOFError, OSError, ValueError) as e:
            raise DataError(f"archive {archive} is damaged ({type(e).__name__}); delete it and fetch "
                            f"again") from None
        got = tmp / src.folder
        if not complete(got, src):
            raise DataError(f"archive {archive} does not hold a complete {src.folder} folder "
                            f"({', '.join(src.files)}); check --url")
        with os_errors(final, "create"):
            os.rename(got, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


@contextlib.contextmanager
def _lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder/.hdx-fetch.lock`` (POSIX; elsewhere no lock)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with os_errors(folder, "lock"), open(folder / ".hdx-fetch.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
