"""``hdx data fetch``: a small CIFAR-format archive (built here) served by a local HTTP server thread:
a good checksum, a bad one, a truncated download resumed (HTTP Range) or restarted, a server gone
mid-way, unsafe archives; the resolution order (explicit path, $HDX_DATA, the user cache, a download)
and the one line said offline; ``hdx search`` fetching on first use."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from hdx.cli.main import main
from hdx.data import load_cifar10
from hdx.data.cifar import resolve_data_dir
from hdx.data.fake import write_fake_cifar10
from hdx.data.fetch import CIFAR10, extract, fetch
from hdx.errors import DataError


def _tar_gz(folder: Path, arcname: str = CIFAR10.folder) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        tf.add(folder, arcname=arcname)
    return buf.getvalue()


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> tuple[bytes, str]:
    """A tiny CIFAR-10 archive in the official layout (200 train, 40 test images) and its md5."""
    src = write_fake_cifar10(tmp_path_factory.mktemp("src") / CIFAR10.folder, per_batch=40, test=40, seed=3)
    data = _tar_gz(src)
    return data, hashlib.md5(data).hexdigest()


class Server:
    """A local HTTP server for one archive. ``mode``: ``ok`` (honours Range), ``no-range`` (always the
    whole file, status 200), ``truncate`` (announces the whole length, sends half, closes)."""

    def __init__(self, data: bytes):
        self.data, self.mode, self.ranges = data, "ok", []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def do_GET(self):  # noqa: N802 - http.server API
                rng = self.headers.get("Range")
                server.ranges.append(rng)
                body, start = server.data, 0
                if rng and server.mode == "ok":
                    start = int(rng.removeprefix("bytes=").split("-")[0])
                    if start >= len(body):
                        self.send_response(416)
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                if server.mode == "truncate":
                    self.wfile.write(body[start: start + (len(body) - start) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body[start:])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/cifar-10-python.tar.gz"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(archive):
    s = Server(archive[0])
    yield s
    s.stop()


@pytest.fixture
def online(monkeypatch):
    monkeypatch.delenv("HDX_OFFLINE", raising=False)


def _leftovers(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name != ".hdx-fetch.lock")


def test_good_checksum_unpacks_atomically(archive, server, online, tmp_path):
    d = tmp_path / "d"
    folder = fetch("cifar10", dir=d, url=server.url, md5=archive[1], progress=False, log=lambda s: None)
    assert folder == d / "cifar-10-batches-py"
    assert load_cifar10(folder).train_x.shape[0] == 200
    assert _leftovers(d) == ["cifar-10-batches-py"]  # archive removed, no temporary folder left
    assert fetch("cifar10", dir=d, url=server.url, md5=archive[1], log=lambda s: None) == folder
    assert len(server.ranges) == 1  # the second call downloaded nothing


def test_bad_checksum_deletes_the_file_and_says_so(archive, server, online, tmp_path):
    with pytest.raises(DataError, match="checksum mismatch") as e:
        fetch("cifar10", dir=tmp_path, url=server.url, md5="0" * 32, progress=False, log=lambda s: None)
    assert archive[1] in str(e.value) and "\n" not in str(e.value)
    assert _leftovers(tmp_path) == []


def test_truncated_download_resumes_with_a_range_request(archive, server, online, tmp_path):
    server.mode = "truncate"
    with pytest.raises(DataError, match="stopped at .* run the command again to resume"):
        fetch("cifar10", dir=tmp_path, url=server.url, md5=archive[1], progress=False, log=lambda s: None)
    part = tmp_path / (CIFAR10.archive + ".part")
    half = len(archive[0]) // 2
    assert part.stat().st_size == half and not (tmp_path / CIFAR10.folder).exists()
    server.mode = "ok"
    folder = fetch("cifar10", dir=tmp_path, url=server.url, md5=archive[1], progress=False, log=print)
    assert server.ranges[-1] == f"bytes={half}-"  # only the rest was asked for
    assert load_cifar10(folder).test_x.shape[0] == 40 and _leftovers(tmp_path) == [CIFAR10.folder]


def test_a_server_without_range_support_restarts_the_download(archive, server, online, tmp_path):
    part = tmp_path / (CIFAR10.archive + ".part")
    part.write_bytes(b"\xff" * 1000)  # a stale part that is not a prefix of the file
    server.mode = "no-range"
    folder = fetch("cifar10", dir=tmp_path, url=server.url, md5=archive[1], progress=False, log=print)
    assert server.ranges == ["bytes=1000-"] and load_cifar10(folder).train_x.shape[0] == 200


def test_server_gone_midway_then_offline(archive, server, online, tmp_path, capsys, monkeypatch):
    server.mode = "truncate"
    with pytest.raises(DataError, match="stopped at"):
        fetch("cifar10", dir=tmp_path, url=server.url, md5=archive[1], progress=False, log=lambda s: None)
    server.stop()  # the server is gone: the next attempt cannot connect
    monkeypatch.setenv("HDX_DATA", str(tmp_path / "mydata"))
    rc = main(["data", "fetch", "cifar10", "--dir", str(tmp_path), "--url", server.url, "--md5", archive[1],
               "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    errors = [ln for ln in err if ln.startswith("error:")]
    assert rc == 2 and len(errors) == 1
    line = errors[0]
    assert server.url in line and os.environ["HDX_CACHE_DIR"] in line and str(tmp_path / "mydata") in line
    assert (tmp_path / (CIFAR10.archive + ".part")).is_file()  # kept for the next try


@pytest.mark.parametrize("evil", ["dotdot", "absolute", "symlink"])
def test_unsafe_archives_are_refused_and_nothing_is_extracted(evil, tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        info = tarfile.TarInfo({"dotdot": "cifar-10-batches-py/../../evil", "absolute": "/tmp/evil",
                                "symlink": "cifar-10-batches-py/data_batch_1"}[evil])
        if evil == "symlink":
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tf.addfile(info)
        else:
            info.size = 4
            tf.addfile(info, io.BytesIO(b"evil"))
    (tmp_path / "a.tar.gz").write_bytes(buf.getvalue())
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(DataError, match="refused, nothing was extracted"):
        extract(tmp_path / "a.tar.gz", out)
    assert list(out.iterdir()) == [] and not (tmp_path / "evil").exists()


def test_resolution_order(archive, server, online, tmp_path, monkeypatch):
    cache = Path(os.environ["HDX_CACHE_DIR"])
    env_dir, explicit = tmp_path / "env", tmp_path / "explicit"
    write_fake_cifar10(explicit, per_batch=4, test=4)
    write_fake_cifar10(env_dir / CIFAR10.folder, per_batch=4, test=4)  # $HDX_DATA may hold the folder
    monkeypatch.setenv("HDX_DATA", str(env_dir))
    assert resolve_data_dir(explicit) == explicit
    assert resolve_data_dir() == env_dir / CIFAR10.folder
    monkeypatch.setenv("HDX_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("HDX_CACHE_DIR", str(tmp_path / "cache"))
    write_fake_cifar10(tmp_path / "cache" / CIFAR10.folder, per_batch=4, test=4)
    assert resolve_data_dir() == tmp_path / "cache" / CIFAR10.folder  # $HDX_DATA empty: the cache
    monkeypatch.setenv("HDX_CACHE_DIR", str(cache / "nothing"))
    with pytest.raises(DataError, match="no CIFAR-10 in .*hdx data fetch cifar10"):
        resolve_data_dir()  # nowhere, and this caller does not allow a download
    monkeypatch.setenv("HDX_CIFAR10_URL", server.url)
    monkeypatch.setenv("HDX_CIFAR10_MD5", archive[1])
    said = []
    got = resolve_data_dir(download=True, progress=False, log=said.append)
    assert got == tmp_path / "empty" / CIFAR10.folder  # downloaded into $HDX_DATA
    assert "downloading it once" in said[0] and load_cifar10(got).train_x.shape[0] == 200
    monkeypatch.setenv("HDX_OFFLINE", "1")
    monkeypatch.setenv("HDX_DATA", str(tmp_path / "empty2"))
    with pytest.raises(DataError, match="HDX_OFFLINE is set"):
        resolve_data_dir(download=True)


@pytest.mark.parametrize("args,needle", [
    (["imagenet"], "unknown data set"),
    (["cifar10", "--url", "http://x/a.tar.gz"], "needs both"),
    (["cifar10", "--url", "http://x/a.tar.gz", "--md5", "xyz"], "not an md5"),
    (["cifar10", "--url", "ftp://x/a", "--md5", "0" * 32], "must start with"),
])
def test_cli_bad_input_is_one_line(args, needle, capsys):
    assert main(["data", "fetch", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and needle in err[0]


@pytest.mark.slow  # ~20 s: two fresh interpreters and a search
def test_fresh_checkout_fetches_then_searches(archive, server, tmp_path):
    """No ../shared, $HDX_DATA an empty folder: `hdx data fetch` from a local mirror, then `hdx search`
    on the fetched data (real CIFAR layout; tiny settings), each as a command in a fresh process."""
    data_dir = tmp_path / "cache"
    data_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "HDX_OFFLINE"}
    env.update(HDX_DATA=str(data_dir), PYTHONPATH=os.pathsep.join(sys.path), OMP_NUM_THREADS="1")
    hdx = [sys.executable, "-m", "hdx"]
    r = subprocess.run([*hdx, "data", "fetch", "cifar10", "--url", server.url, "--md5", archive[1],
                        "--quiet"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(data_dir / CIFAR10.folder)
    r = subprocess.run([*hdx, "search", "--no-budget", "--no-progress", "--out", "run", "subset=120",
                        "batch_size=32", "epochs=2", "warmup_epochs=1", "width_mult=0.25", "eval_images=40",
                        "recheck_rounds=0", "bn_batches=1", "threads=1", "retrain_epochs=0",
                        "evaluator=oracle"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "downloading" not in r.stderr  # found in $HDX_DATA
    assert (tmp_path / "run" / "final.json").is_file() and "FEASIBLE" in r.stdout


def test_search_fetches_on_first_use_and_says_so(archive, server, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("HDX_OFFLINE", raising=False)
    monkeypatch.setenv("HDX_DATA", str(tmp_path / "fresh"))
    monkeypatch.setenv("HDX_CIFAR10_URL", server.url)
    monkeypatch.setenv("HDX_CIFAR10_MD5", archive[1])
    rc = main(["search", "--no-budget", "--no-progress", "--out", str(tmp_path / "run"), "subset=120",
               "batch_size=32", "epochs=2", "warmup_epochs=1", "width_mult=0.25", "eval_images=40",
               "recheck_rounds=0", "bn_batches=1", "threads=1", "retrain_epochs=0", "evaluator=oracle"])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "downloading it once into " + str(tmp_path / "fresh") in err
    assert (tmp_path / "fresh" / CIFAR10.folder / "test_batch").is_file()
