"""Hostile inputs against the ``hdx`` CLI: payload files, bad numbers, overflow, broken run folders, and
every surface that reads a user's file (ONNX models, sweep files, cost tables, run directories).

Every case builds its own files in a temporary folder (pickles whose payload creates a marker file,
checkpoints with code or foreign keys, evaluator files with doctored metadata, binary / huge / aliased
YAML, non-finite or overflowing hardware, space and option values, unwritable or full output folders,
runs killed before their first checkpoint, Ctrl-C; ONNX models with external data, constant bombs
and malformed graphs (:mod:`hostile_files`); sweep files with huge products; cost tables with damaged
headers and arrays; run directories with markup, mathtext and oversized fields) and runs ``hdx`` in a
subprocess **under an address-space limit** (``RLIMIT_AS`` = the interpreter's own peak after importing
HDX's libraries + 1 GiB), so a memory blow-up fails the case instead of slowing the machine. One row per
case:

    case | exit code (expected) | traceback | payload ran | non-finite output | external file opened |
    peak memory (MiB) | check | first line of stderr

'payload ran' is measured (the payload creates a marker file); 'non-finite' scans stdout and every JSON
file the case wrote for nan / inf (strict JSON parse); 'external file opened' watches decoy weight files
(beside the model, in the working directory, its parent, an absolute path) with inotify; 'peak' is the
largest resident set of the case's process and its children (``wait4``); 'check' is a per-case check of
what was written (e.g. no unescaped ``<script>`` in a report). The summary line counts cases, unexpected
exit codes, tracebacks, payloads run, non-finite outputs, external files opened, cases above 1 GiB peak
memory and failed checks; the goal is 0 for all.

    python benchmarks/bench_hostile_inputs.py [--only SUBSTRING] [--keep]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import pickle
import re
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hostile_files as H  # noqa: E402
from hostile_files import DECOYS  # noqa: E402

HDX = [sys.executable, "-c", "from hdx.cli.main import run; run()"]
ARCH = "mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3"
TINY_SPACE = {
    "name": "tiny", "resolution": 16, "num_classes": 10,
    "stem": {"channels": 8}, "first_block": {"channels": 8, "expansion": 1},
    "stages": [{"channels": 16, "depth": 2, "stride": 1}, {"channels": 24, "depth": 2, "stride": 2}],
    "head": {"channels": 64}, "candidate_ops": ["mb3e3", "mb5e3", "zero"],
}
ACCEL_SPACE = {"name": "g", "knobs": {"pe_x": [8, 16], "pe_y": [8, 16], "rf_bytes": [16, 64],
                                      "dataflow": ["ws", "rs"]}}
SHARED: dict = {}  # root folder and environment for files built once and copied into cases
_NONFINITE = re.compile(r"(?<![a-z_])(nan|-?inf|infinity)(?![a-z_])", re.IGNORECASE)


@dataclass
class Case:
    name: str
    args: list[str] | Callable[[Path], list[str]]
    expect: tuple[int, ...] = (2,)
    setup: Callable[[Path], None] | None = None
    sigint_after: float | None = None  # send Ctrl-C this many seconds after the first stderr line
    fsize_limit: int | None = None  # RLIMIT_FSIZE (bytes): writes beyond it fail like a full disk
    files: list[str] = field(default_factory=list)  # JSON files (relative to the case folder) to scan
    decoys: bool = False  # watch the decoy weight files of hostile_files (external data) for opens
    check: Callable[[Path], str] | None = None  # after the run: "" if what it wrote is right, else why


class Payload:
    """Unpickling this runs ``touch MARKER`` (the thing a safe loader must never do)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class EvalPayload:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (eval, (f"open({str(self.marker)!r}, 'w').close()",))


# ----- builders ------------------------------------------------------------------------------------------
def fake_cifar(d: Path) -> Path:
    from hdx.data.fake import write_fake_cifar10

    return write_fake_cifar10(d / "cifar", per_batch=64, test=64)


def cifar_with(d: Path, name: str, payload: object) -> None:
    root = fake_cifar(d)
    with open(root / name, "wb") as f:
        pickle.dump(payload, f)


def write_yaml(p: Path, obj) -> Path:
    p.write_text(yaml.safe_dump(obj))
    return p


def tiny_search(d: Path, **kw) -> Path:
    write_yaml(d / "tiny_space.yaml", TINY_SPACE)
    cfg = {"space": str(d / "tiny_space.yaml"), "fake_data": True, "subset": 128, "val_fraction": 0.5,
           "eval_images": 32, "batch_size": 32, "width_mult": 0.5, "epochs": 2, "warmup_epochs": 1,
           "threads": 1, "progress": False, "bn_batches": 1, "recheck_steps": 2, "recheck_rounds": 1,
           "budgets": []}
    cfg.update(kw)
    return write_yaml(d / "search.yaml", cfg)


def accel_space(d: Path, hardware: dict | None = None, knobs: dict | None = None, tech: dict | None = None
                ) -> Path:
    sp = {"name": "g", "knobs": dict(ACCEL_SPACE["knobs"], **(knobs or {}))}
    if hardware is not None or tech is not None:
        sp["hardware"] = dict(hardware or {})
        if tech is not None:
            sp["hardware"]["tech"] = str(write_yaml(d / "tech.yaml", tech))
    return write_yaml(d / "accel.yaml", sp)


def shipped_tech() -> dict:
    from hdx.cost.tech import load_tech

    return load_tech().model_dump(mode="json")


def evaluator_file(d: Path, edit: Callable[[dict], None] | None = None, raw: bytes | None = None) -> Path:
    """A copy of the shipped evaluator with its metadata edited (or raw bytes)."""
    from safetensors import safe_open
    from safetensors.torch import save

    from hdx.evaluator import default_evaluator_path

    out = d / "ev.safetensors"
    if raw is not None:
        out.write_bytes(raw)
        return out
    src = default_evaluator_path("dance_cifar10", "eyeriss_like", "edap")
    with safe_open(str(src), framework="pt") as f:
        meta = json.loads(f.metadata()["hdx_meta"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    if edit:
        edit(meta)
    out.write_bytes(save(tensors, metadata={"hdx_meta": json.dumps(meta)}))
    return out


def torch_ckpt(d: Path, obj, cfg: str | None = "search") -> None:
    import torch

    run = d / "run"
    run.mkdir(parents=True, exist_ok=True)
    if cfg == "search":
        shutil.copy(tiny_search(d), run / "config.yaml")
    elif cfg == "train":
        from hdx.train.config import load_train_config

        c = load_train_config("default", {"arch": ARCH, "data": str(fake_cifar(d)), "epochs": 2,
                                          "subset": 64, "batch_size": 32, "width_mult": 0.25})
        (run / "config.yaml").write_text(yaml.safe_dump(c.model_dump(mode="json")))
    torch.save(obj, run / "checkpoint.pt")


def stuck_run(d: Path) -> None:
    """A search killed before its first checkpoint: config.yaml and metrics.jsonl, no checkpoint.pt."""
    run = d / "run"
    run.mkdir()
    shutil.copy(tiny_search(d), run / "config.yaml")
    (run / "metrics.jsonl").write_text('{"phase": "epoch", "epoch": 0, "train_ce": 2.3}\n{"phase": "se')


def marker(d: Path) -> Path:
    """The file a payload creates if it runs."""
    return d / "PAYLOAD_RAN"


def cost(*extra: str) -> list[str]:
    return ["cost", "--arch", ARCH, *extra]


def search_tiny(*extra: str, **kw) -> Callable[[Path], list[str]]:
    return lambda d: ["search", "--config", str(tiny_search(d, **kw)), "--out", str(d / "run"), *extra]


def train_fake(*extra: str) -> Callable[[Path], list[str]]:
    return lambda d: ["train", "--arch", ARCH, "--data", str(fake_cifar(d)), "--epochs", "1", "--subset",
                      "64", "--batch-size", "32", "--width-mult", "0.25", "--quiet", "--out", str(d / "run"),
                      *extra]


def _del(key: str) -> Callable[[dict], None]:
    return lambda m: m.pop(key)


def _set(path: str, value) -> Callable[[dict], None]:
    def f(m: dict) -> None:
        *parents, last = path.split(".")
        for p in parents:
            m = m[p]
        m[last] = value
    return f


# ----- the cases -------------------------------------------------------------------------------------------
def cases() -> list[Case]:
    C: list[Case] = []
    add = C.append
    # --- code in data files
    add(Case("cifar pickle os.system payload", lambda d: ["train", "--arch", ARCH, "--data", str(d / "cifar"),
             "--out", str(d / "run"), "--quiet"],
             setup=lambda d: cifar_with(d, "data_batch_1", Payload(marker(d)))))
    add(Case("cifar pickle eval payload (test_batch)", lambda d: ["train", "--arch", ARCH, "--data",
             str(d / "cifar"), "--out", str(d / "run"), "--quiet"],
             setup=lambda d: cifar_with(d, "test_batch", EvalPayload(marker(d)))))
    add(Case("cifar payload nested in the batch dict", lambda d: ["train", "--arch", ARCH, "--data",
             str(d / "cifar"), "--out", str(d / "run"), "--quiet"],
             setup=lambda d: cifar_with(d, "data_batch_3", {"data": Payload(marker(d)), "labels": [0]})))
    for raw, text in [(b"cbuiltins\nbytearray\n(J\xff\xff\xff\x7ftR.", "bytearray(2**31-1)"),
                      (b"cnumpy\nndarray\n((J\x00\x00\x00@J\x00\x00\x00@ttR.",
                       "numpy.ndarray((2**30, 2**30))")]:
        add(Case(f"cifar pickle asks for {text}", lambda d: ["train", "--arch", ARCH, "--data",
                 str(d / "cifar"), "--out", str(d / "run"), "--quiet"],
                 setup=lambda d, r=raw: (fake_cifar(d), (d / "cifar" / "data_batch_1").write_bytes(r))))
    add(Case("cifar huge labels (2**70)", lambda d: ["train", "--arch", ARCH, "--data", str(d / "cifar"),
             "--out", str(d / "run"), "--quiet"], setup=lambda d: cifar_with(
                 d, "data_batch_2", {"data": np.zeros((1, 3072), "uint8"), "labels": [2**70]})))
    add(Case("search checkpoint with os.system payload", lambda d: ["search", "--out", str(d / "run"),
             "--resume"], setup=lambda d: torch_ckpt(d, {"epoch": Payload(marker(d))})))
    add(Case("train checkpoint with eval payload", lambda d: ["train", "--out", str(d / "run"), "--resume",
             "--quiet"], setup=lambda d: torch_ckpt(d, {"model": EvalPayload(marker(d))}, cfg="train")))
    add(Case("search checkpoint zip bomb (1 GiB from 1 MB)", lambda d: ["search", "--out", str(d / "run"),
             "--resume"], setup=lambda d: (torch_ckpt(d, {}), H.torch_zip_bomb(d / "run" / "checkpoint.pt"))))
    add(Case("search checkpoint with unexpected keys", lambda d: ["search", "--out", str(d / "run"),
             "--resume"], setup=lambda d: torch_ckpt(d, {"foo": 1, "epoch": 0})))
    add(Case("train checkpoint with unexpected keys", lambda d: ["train", "--out", str(d / "run"),
             "--resume", "--quiet"], setup=lambda d: torch_ckpt(d, {"foo": 1}, cfg="train")))
    add(Case("search checkpoint of random bytes", lambda d: ["search", "--out", str(d / "run"), "--resume"],
             setup=lambda d: (torch_ckpt(d, {}), (d / "run" / "checkpoint.pt").write_bytes(os.urandom(999)))))
    add(Case("search checkpoint with wrong value types", lambda d: ["search", "--out", str(d / "run"),
             "--resume"], setup=lambda d: torch_ckpt(d, {k: "x" for k in (
                 "epoch", "wstep", "astep", "net", "w_opt", "a_opt", "delta", "targets", "tight", "rng",
                 "epoch_times")})))
    # --- evaluator files
    ev = "--evaluator"
    add(Case("evaluator metadata key removed", lambda d: ["search", ev, str(evaluator_file(d, _del("grid"))),
             "--out", str(d / "run")]))
    add(Case("evaluator generator.width 1e7", lambda d: ["search", ev, str(evaluator_file(
             d, _set("config.generator.width", 10_000_000))), "--out", str(d / "run")]))
    add(Case("evaluator metadata not a dict", lambda d: ["search", ev, str(evaluator_file(
             d, lambda m: (m.clear(), m.update(format="hdx-evaluator", version=1, config=[1])))),
             "--out", str(d / "run")]))
    add(Case("evaluator tau = nan", lambda d: ["search", ev, str(evaluator_file(
             d, _set("config.tau", float("nan")))), "--out", str(d / "run")]))
    add(Case("evaluator file of random bytes", lambda d: ["search", ev, str(evaluator_file(
             d, raw=os.urandom(4096))), "--out", str(d / "run")]))
    add(Case("evaluator knob_sizes wrong", lambda d: ["search", ev, str(evaluator_file(
             d, _set("knob_sizes", {"pe_x": 999}))), "--out", str(d / "run")]))
    # --- config files
    add(Case("config file is binary", lambda d: ["search", "--config", str(d / "c.yaml")],
             setup=lambda d: (d / "c.yaml").write_bytes(b"\x00\x01\xff" * 100)))
    add(Case("config file not UTF-8", lambda d: ["search", "--config", str(d / "c.yaml")],
             setup=lambda d: (d / "c.yaml").write_bytes("epochs: 3 # caf\xe9".encode("latin-1"))))
    add(Case("config file 3 MB", lambda d: ["search", "--config", str(d / "c.yaml")],
             setup=lambda d: (d / "c.yaml").write_text("# x\n" * 800_000)))
    add(Case("config python tag payload", lambda d: ["search", "--config", str(d / "c.yaml")],
             setup=lambda d: (d / "c.yaml").write_text(
                 f'epochs: !!python/object/apply:os.system ["touch {marker(d)}"]\n')))
    add(Case("config billion-laughs aliases", lambda d: ["search", "--config", str(d / "c.yaml")],
             setup=lambda d: (d / "c.yaml").write_text("a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
                 f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n"
                 for p, c in zip("abcdefgh", "bcdefghi", strict=True))
                 + "budgets: *i\n")))
    add(Case("config nested 100000 deep", lambda d: ["search", "--config", str(d / "c.yaml")],
             setup=lambda d: (d / "c.yaml").write_text("budgets: " + "[" * 100_000 + "]" * 100_000 + "\n")))
    add(Case("config is a list", lambda d: ["search", "--config", str(d / "c.yaml")],
             setup=lambda d: (d / "c.yaml").write_text("- 1\n- 2\n")))
    add(Case("config arch_lr: .inf", search_tiny(arch_lr=float("inf"))))
    add(Case("config arch_lr: .nan", search_tiny(arch_lr=float("nan"))))
    add(Case("config seed 2**70", search_tiny(seed=2**70)))
    add(Case("config subset 10**12", search_tiny(subset=10**12)))
    add(Case("search diverges (gumbel tau0 1e-300): stops", search_tiny(supernet_mode="gumbel", tau0=1e-300),
             files=["run/final.json", "run/metrics.jsonl"]))
    add(Case("search arch_lr 1000: finishes finite or stops", search_tiny(arch_lr=1000.0), expect=(0, 2, 3),
             files=["run/final.json", "run/metrics.jsonl"]))
    add(Case("train lr 100: finishes finite or stops", train_fake("--lr", "100"), expect=(0, 2),
             files=["run/final.json", "run/metrics.jsonl"]))
    # --- hardware / tech / space values (hdx cost)
    sp = "--accel-space"
    add(Case("hardware clock_mhz .inf", lambda d: cost(sp, str(accel_space(d, {"clock_mhz": float("inf")})))))
    add(Case("hardware clock_mhz 0", lambda d: cost(sp, str(accel_space(d, {"clock_mhz": 0})))))
    add(Case("hardware dram bandwidth 1e-320", lambda d: cost(sp, str(accel_space(
             d, {"dram_bytes_per_cycle": 1e-320})))))
    add(Case("hardware glb bandwidth -5", lambda d: cost(sp, str(accel_space(
             d, {"glb_words_per_cycle": -5})))))
    add(Case("hardware word_bits 1000", lambda d: cost(sp, str(accel_space(d, {"word_bits": 1000})))))
    add(Case("knobs pe_x 4294967296", lambda d: cost(sp, str(accel_space(d, knobs={"pe_x": [4294967296]})))))
    add(Case("knobs grid of 10^9 accelerators", lambda d: cost(sp, str(accel_space(d, knobs={
             "pe_x": list(range(1, 1001)), "pe_y": list(range(1, 1001)),
             "rf_bytes": list(range(1, 1001))})))))
    add(Case("tech dram energy .inf", lambda d: cost(sp, str(accel_space(
             d, {}, tech=dict(shipped_tech(), dram_pj_per_64bit=float("inf")))))))
    add(Case("tech mac energy 1e300", lambda d: cost(sp, str(accel_space(
             d, {}, tech=dict(shipped_tech(), mac=[{"bits": 16, "energy_pj": 1e300, "area_um2": 1}]))))))
    steep = [{"bytes": 1.0, "energy_pj": 1e-6, "area_um2": 1.0},
             {"bytes": 1.001, "energy_pj": 1e6, "area_um2": 1e12}]
    add(Case("tech extrapolates to inf (cost check)", lambda d: cost(sp, str(accel_space(
             d, {}, knobs={"glb_kib": [1048576]}, tech=dict(shipped_tech(), sram=steep))),
             "--accel", "16x16,rf=16,df=ws,glb=1048576", "--json")))
    add(Case("space channels 4e9", lambda d: cost("--space", str(write_yaml(d / "s.yaml", dict(
             TINY_SPACE, stages=[{"channels": 4_000_000_000, "depth": 2, "stride": 1}])))),
             ))
    add(Case("space resolution 10^6", lambda d: cost("--space", str(write_yaml(d / "s.yaml", dict(
             TINY_SPACE, resolution=1_048_576))))))
    big = dict(TINY_SPACE, resolution=2048, candidate_ops=["mb15e16"], stem={"channels": 16384},
               stages=[{"channels": 16384, "depth": 2, "stride": 1}, {"channels": 16384, "depth": 2}])
    add(Case("space MACs beyond 1e13 per layer", lambda d: ["cost", "--arch", ",".join(["mb15e16"] * 4),
             "--space", str(write_yaml(d / "s.yaml", big))]))
    # --- text forms on the command line
    add(Case("accel rf=99999999999999999999", cost("--accel", "16x16,rf=99999999999999999999,df=ws")))
    add(Case("accel glb=10^16", cost("--accel", "16x16,rf=16,df=ws,glb=10000000000000000")))
    add(Case("accel 4294967296x4294967296", cost("--accel", "4294967296x4294967296,rf=16,df=ws")))
    add(Case("accel 5000-digit number", cost("--accel", "16x" + "9" * 5000 + ",rf=16,df=ws")))
    add(Case("accel unicode digits", cost("--accel", "\u0661\u0666x16,rf=16,df=ws")))
    add(Case("arch op mb99999999999e3", lambda d: ["cost", "--arch", ARCH.replace("mb7e6", "mb99999999999e3"),
             "--accel", "16x16,rf=16,df=ws"]))
    add(Case("arch empty", ["cost", "--arch", "", "--accel", "16x16,rf=16,df=ws"]))
    add(Case("cost budget energy<=0.8mJ works", cost("--budget", "energy<=0.8mJ", "--json"), expect=(0,)))
    # --- the second opinion (--check) and the zigzag backends
    add(Case("cost --check unknown model", cost("--check", "timeloop")))
    add(Case("cost --check on one accelerator", cost("--check", "zigzag", "--accel", "16x16,rf=16,df=ws")))
    add(Case("cost --check-top 0", cost("--check", "zigzag", "--check-top", "0")))
    add(Case("cost --check-top 10^12 beyond the pairs cap", cost("--check", "zigzag", "--check-top",
                                                                  "1000000000000")))
    add(Case("cost --check-top with --by", cost("--check", "zigzag", "--check-top", "3", "--by", "dataflow")))
    add(Case("cost --check-top on a space beyond one table",
             cost("--check", "zigzag", "--check-top", "3", "--accel-space", "dse_large")))
    add(Case("cost --backend zigzag-loma on the whole grid", cost("--backend", "zigzag-loma")))
    add(Case("cost budget latency=nan", cost("--budget", "latency=nan")))
    add(Case("cost budget latency=1e999", cost("--budget", "latency=1e999")))
    add(Case("cost budget latency=-1", cost("--budget", "latency=-1")))
    add(Case("cost weights latency=inf", cost("--objective", "weighted", "--weights", "latency=inf")))
    add(Case("cost one accel JSON is strict", cost("--accel", "32x32,rf=256,df=os,glb=1048576", "--json"),
             expect=(0,)))
    # --- search / train options
    add(Case("search --seed -1", ["search", "--seed", "-1"]))
    add(Case("search --seed 99999999999999999999", ["search", "--seed", "99999999999999999999"]))
    add(Case("search --threads 0", ["search", "--threads", "0"]))
    add(Case("search --threads 100000", ["search", "--threads", "100000"]))
    add(Case("search --subset 10**15", ["search", "--subset", str(10**15)]))
    add(Case("search --width-mult nan", ["search", "--width-mult", "nan"]))
    add(Case("search --epochs 10**30", ["search", "--epochs", str(10**30)]))
    add(Case("search --budget latency<=1e400ms", ["search", "--budget", "latency<=1e400ms"]))
    add(Case("train --batch-size 10**9", train_fake("--batch-size", str(10**9))))
    add(Case("train --warmup-epochs inf", train_fake("--warmup-epochs", "inf")))
    add(Case("evaluator build --width 10000000", ["evaluator", "build", "--width", "10000000", "--networks",
                                                  "10", "--pairs", "100"]))
    add(Case("evaluator build --networks 10**12", ["evaluator", "build", "--networks", str(10**12)]))
    # --- run directories
    add(Case("search --out below a file", lambda d: ["search", "--out", str(d / "f" / "run")],
             setup=lambda d: (d / "f").write_text("x")))
    add(Case("search --out in /proc (unwritable)", ["search", "--out", "/proc/hdx-run"]))
    add(Case("train --out in /sys (read-only)", train_fake("--out", "/sys/hdx-run")))
    add(Case("search --resume on an empty folder", lambda d: ["search", "--out", str(d), "--resume"]))
    add(Case("stuck run (no checkpoint) --resume restarts", lambda d: ["search", "--out", str(d / "run"),
             "--resume"], expect=(0,), setup=stuck_run, files=["run/final.json"]))
    add(Case("stuck run (no checkpoint) plain start restarts", lambda d: ["search", "--config",
             str(d / "search.yaml"), "--out", str(d / "run")], expect=(0,), setup=stuck_run,
             files=["run/final.json"]))
    add(Case("finished run, plain start refused", lambda d: ["search", "--config", str(d / "search.yaml"),
             "--out", str(d / "run")],
             setup=lambda d: (stuck_run(d), (d / "run" / "final.json").write_text("{}"))))
    add(Case("full disk during search (64 KiB file limit)", search_tiny(), fsize_limit=64 * 1024))
    add(Case("full disk during train (64 KiB file limit)", train_fake(), fsize_limit=64 * 1024))
    add(Case("Ctrl-C during search says how to resume", search_tiny(epochs=50), expect=(130,),
             sigint_after=4.0))
    add(Case("Ctrl-C during train says how to resume", train_fake("--epochs", "500"), expect=(130,),
             sigint_after=4.0))
    return C + onnx_cases() + sweep_cases() + table_cases() + run_dir_cases()


# ----- files of the newer surfaces (ONNX, sweeps, cost tables, run directories) -----------------------------
TINY_ARCH = "mb3e3,mb5e3,mb3e3,mb5e3"
ONNX_COST = ["--accel", "16x16,rf=16,df=ws"]


def _hdx_once(args: list[str]) -> None:
    r = subprocess.run(HDX + args, env=SHARED["env"], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"building a shared file failed: hdx {' '.join(args)}: {r.stderr[-500:]}")


def shared_run() -> Path:
    """A finished tiny search run with budgets (built once; each report case gets a copy)."""
    root = SHARED["root"]
    run = root / "run"
    if not (run / "final.json").is_file():
        root.mkdir(parents=True, exist_ok=True)
        cfg = tiny_search(root, budgets=["latency<=0.5ms", "area<=5mm2"])
        _hdx_once(["search", "--config", str(cfg), "--out", str(run)])
    return run


def shared_table() -> Path:
    """A cost table of the tiny space on a 16-accelerator grid (analytical; built once)."""
    root = SHARED["root"]
    t = root / "table.npz"
    if not t.is_file():
        root.mkdir(parents=True, exist_ok=True)
        write_yaml(root / "tiny_space.yaml", TINY_SPACE)
        accel_space(root)
        _hdx_once(["cost", "tabulate", "--backend", "analytical", "--space", str(root / "tiny_space.yaml"),
                   "--accel-space", str(root / "accel.yaml"), "--out", str(t), "--serial"])
    return t


def onnx_cases() -> list[Case]:
    C: list[Case] = []
    m = lambda d: str(d / "model" / "m.onnx")  # noqa: E731
    for where, text in [("rel", "relative location (weights.bin)"), ("abs", "absolute location"),
                        ("up", "location ../up_weights.bin"), ("flag", "data_location flag only"),
                        ("subgraph", "in an If subgraph"), ("constant", "in a Constant node"),
                        ("sparse", "in a sparse initializer"), ("function", "in a local function")]:
        C.append(Case(f"onnx external data {text}", lambda d: ["cost", "--onnx", m(d), *ONNX_COST],
                      setup=lambda d, w=where: H.onnx_external(d, w), decoys=True))
    for kind, text, exp in [("tile_output", "2x Tile(ones[1], 1e8) as outputs", (0,)),
                            ("tile_pads", "Tile 1e8 feeding Pad's pads", (2,)),
                            ("tile_chain", "Tile chain x1000 x4 (1e12)", (2,)),
                            ("expand", "Expand to 1e9 feeding pads", (2,)),
                            ("constant_of_shape", "ConstantOfShape 1e12 -> pads", (2,)),
                            ("range", "Range(0, 1e10) -> pads", (2,)),
                            ("rank", "rank-60000 tensor x 3000 nodes", (2,))]:
        C.append(Case(f"onnx bomb: {text}", lambda d: ["cost", "--onnx", m(d), *ONNX_COST], expect=exp,
                      setup=lambda d, k=kind: H.onnx_bomb(d, k), decoys=True))
    for kind, text, exp in [("random", "random bytes", (2,)), ("truncated", "truncated", (2,)),
                            ("empty", "empty file", (2,)),
                            ("conv_no_weight", "Conv without weight (IndexError)", (2,)),
                            ("conv_bad_attrs", "Conv pads of 3, group 'two'", (2,)),
                            ("deep_if", "If nested 30 deep", (2,)),
                            ("custom_domain", "custom domain op", (2,)),
                            ("loop", "Loop of 1e12 trips", (2,)), ("huge_dims", "input 2^40 x 2^40", (2,)),
                            ("negative_dims", "negative dimension", (2,)),
                            ("long_names", "200k-char node name", (2,)),
                            ("many_nodes", "210,000 nodes", (2,)),
                            ("dynamic_batch_reshape", "dynamic batch Shape->Reshape works", (0,))]:
        C.append(Case(f"onnx {text}", lambda d: ["cost", "--onnx", m(d), *ONNX_COST], expect=exp,
                      setup=lambda d, k=kind: H.onnx_odd(d, k)))
    C.append(Case("onnx model path is /dev/zero", ["cost", "--onnx", "/dev/zero", *ONNX_COST]))
    C.append(Case("onnx model path is a folder", lambda d: ["cost", "--onnx", str(d), *ONNX_COST]))
    return C


def sweep_cases() -> list[Case]:
    base = {"fake_data": True, "subset": 64, "epochs": 2, "warmup_epochs": 1}
    fields = ["seed", "epochs", "subset", "eval_images", "batch_size", "width_mult", "hw_lambda",
              "soft_lambda",
              "arch_lr", "w_lr", "w_momentum", "w_weight_decay", "tau_decay", "delta_w", "delta_max",
              "recheck_rounds", "recheck_steps", "bn_batches", "log_every", "arch_every"]
    specs = [
        ("sweep four axes of 1000 values (1e12 trials)",
         {"base": base, "axes": {k: list(range(1, 1001)) for k in fields[:4]}}),
        ("sweep 20 axes of 2 values (2^20 trials)", {"base": base, "axes": {k: [1, 2] for k in fields}}),
        ("sweep 1000 variants x 20 seeds", {"base": base, "axes": {"seed": list(range(20))},
                                            "variants": [{"hw_lambda": [i / 1000]} for i in range(1000)]}),
        ("sweep one variant of 10^6",
         {"base": base, "variants": [{k: list(range(1, 101)) for k in fields[:3]}]}),
        ("sweep axis is a scalar", {"base": base, "axes": {"seed": 3}}),
        ("sweep axis is an empty list", {"base": base, "axes": {"seed": []}}),
        ("sweep axis is not a config field", {"base": base, "axes": {"rm -rf": [1]}}),
        ("sweep name of 100k characters", {"base": base, "name": "n" * 100_000}),
        ("sweep base_config /dev/zero", {"base": base, "base_config": "/dev/zero"}),
    ]
    C = [Case(name, lambda d, sp=spec: ["sweep", str(H.sweep_file(d, sp)), "--out", str(d / "sw"),
                                         "--serial"])
         for name, spec in specs]
    C.append(Case("sweep --resume with sweep.json nested 100000 deep", lambda d: [
        "sweep", str(H.sweep_file(d, {"base": base, "axes": {"seed": [0]}})), "--out", str(d / "sw"),
        "--resume", "--serial"], setup=lambda d: ((d / "sw").mkdir(), (d / "sw" / "sweep.json").write_text(
            "[" * 100_000 + "]" * 100_000))))
    C.append(Case("sweep python tag payload", lambda d: ["sweep", str(H.sweep_file(
        d, f'name: !!python/object/apply:os.system ["touch {marker(d)}"]\n')), "--out", str(d / "sw"),
        "--serial"]))
    C.append(Case("sweep billion-laughs aliases", lambda d: ["sweep", str(H.sweep_file(
        d, "a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\naxes: {seed: *b}\n")),
        "--out", str(d / "sw"), "--serial"]))
    return C


def _table_case(name: str, build: Callable[[Path, dict], Path], expect=(2,)) -> Case:
    def args(d: Path) -> list[str]:
        root = SHARED["root"]
        t = build(d, H.table_arrays(shared_table()))
        return ["cost", "--arch", TINY_ARCH, "--space", str(root / "tiny_space.yaml"), "--accel-space",
                str(root / "accel.yaml"), "--backend", str(t), "--json"]
    return Case(name, args, expect=expect)


def _header(edit: Callable[[dict], object]) -> Callable[[Path, dict], Path]:
    def build(d: Path, a: dict) -> Path:
        meta = H.header_of(a)
        new = edit(meta)  # edits in place, or returns the raw header text
        return H.write_table(d, H.with_header(a, new if isinstance(new, str | bytes) else meta))
    return build


def _arrays(edit: Callable[[dict], None]) -> Callable[[Path, dict], Path]:
    def build(d: Path, a: dict) -> Path:
        edit(a)
        return H.write_table(d, a)
    return build


def table_cases() -> list[Case]:
    def set_layer(field: str, value):
        return lambda m: m["layers"][0].__setitem__(field, value)

    return [
        _table_case("table intact (control)", lambda d, a: H.write_table(d, a), expect=(0,)),
        _table_case("table header lacks 'hardware'", _header(lambda m: m.pop("hardware"))),
        _table_case("table header lacks 'layers'", _header(lambda m: m.pop("layers"))),
        _table_case("table layer field holds a string", _header(set_layer("c", "twelve"))),
        _table_case("table layer field holds a float", _header(set_layer("k", 8.5))),
        _table_case("table layer field 2**70", _header(set_layer("h", 2**70))),
        _table_case("table layer of unknown kind", _header(set_layer("kind", "$\\frac{1}{$"))),
        _table_case("table layer p/q/macs lie", _header(set_layer("macs", 1))),
        _table_case("table header extra key", _header(lambda m: m.__setitem__("exec", "rm -rf /"))),
        _table_case("table layers is a dict", _header(lambda m: m.__setitem__("layers", {"0": 1}))),
        _table_case("table accels hold numbers", _header(lambda m: m.__setitem__("accels", [1, 2]))),
        _table_case("table clock_mhz 1e999", _header(lambda m: json.dumps(m).replace(
            '"clock_mhz": 200.0', '"clock_mhz": 1e999'))),
        _table_case("table clock_mhz differs from hardware",
                    _header(lambda m: m.__setitem__("clock_mhz", 400.0))),
        _table_case("table header not JSON", _header(lambda m: '{"format": ')),
        _table_case("table header not UTF-8", _header(lambda m: b"\xff\xfe{}")),
        _table_case("table header nested 100000 deep", _header(lambda m: "[" * 100_000 + "]" * 100_000)),
        _table_case("table header of 9 MiB", _header(lambda m: m.__setitem__("archs", ["x" * 90] * 100_000))),
        _table_case("table header 25000 layers", _header(lambda m: m.__setitem__("layers", m["layers"] * (
            25_000 // len(m["layers"]) + 1))), expect=(2,)),
        _table_case("table header stored as float64", _arrays(lambda a: a.__setitem__(
            "meta", a["meta"].astype(np.float64)))),
        _table_case("table lacks a cost array", _arrays(lambda a: a.pop("latency_cycles"))),
        _table_case("table array of the wrong shape", _arrays(lambda a: a.__setitem__(
            "latency_cycles", a["latency_cycles"][:, :1]))),
        _table_case("table array of int8", _arrays(lambda a: a.__setitem__(
            "energy_mac_pj", a["energy_mac_pj"].astype(np.int8)))),
        _table_case("table NaN cost", _arrays(lambda a: a["latency_cycles"].__setitem__((0, 0), np.nan))),
        _table_case("table zip bomb member (1 GiB of zeros)", lambda d, a: H.zip_bomb_table(d, a)),
        _table_case("table zip bomb under the size cap (256 MiB)", lambda d, a: H.zip_bomb_table(
            d, a, 256 << 20, "latency_cycles")),
        _table_case("table member header declares 8 TB", lambda d, a: H.lying_member_table(d, a)),
        _table_case("table object array (pickle)", lambda d, a: _pickled_table(d, a)),
    ]


def _pickled_table(d: Path, a: dict) -> Path:
    import io

    p = d / "t.npz"
    buf = io.BytesIO()
    np.savez(buf, **{**a, "latency_cycles": np.array([Payload(marker(d))], dtype=object)})
    p.write_bytes(buf.getvalue())
    return p


def _report(d: Path, run: str = "run") -> list[str]:
    return ["report", str(d / run), "--out", str(d / "rep")]


def _clean_report(d: Path) -> str:
    """The report page exists, holds every figure, and no run text became markup."""
    page = d / "rep" / "report.html"
    if not page.is_file():
        return "no report.html"
    html = page.read_text()
    if re.search(r"<script", html, re.IGNORECASE) or "<img src=x" in html:
        return "unescaped markup from a run field in report.html"
    pngs = list((d / "rep").glob("*.png"))
    return "" if len(pngs) == 4 else f"{len(pngs)} figures instead of 4"


def _run_with(edit_final=None, metrics: Callable[[Path], None] | None = None, name: str = "run",
              config: Callable[[dict], None] | None = None) -> Callable[[Path], None]:
    def setup(d: Path) -> None:
        run = H.copy_run(shared_run(), d, name)
        if edit_final is not None:
            H.edit_final(run, edit_final)
        if metrics is not None:
            metrics(run / "metrics.jsonl")
        if config is not None:
            cfg = yaml.safe_load((run / "config.yaml").read_text())
            config(cfg)
            (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    return setup


MARKUP = "$\\frac{1}{$ \\ <script>alert(1)</script> <img src=x onerror=alert(1)> {} {0} %s $$"


def _many_steps(n: int) -> Callable[[Path], None]:
    def write(p: Path) -> None:
        line = next(ln for ln in p.read_text().splitlines() if '"phase": "search"' in ln)
        with open(p, "a") as f:
            for _ in range(n // 1000):
                f.write((line + "\n") * 1000)
    return write


def run_dir_cases() -> list[Case]:
    def setv(key: str, value):
        return lambda f: f.__setitem__(key, value)

    def budget_text(f: dict) -> None:
        f["accelerator"]["budgets"][0]["budget"] = MARKUP

    rep = _report
    return [
        Case("report run fields hold $, \\, <script>, {}", rep, expect=(0,),
             setup=_run_with(lambda f: (setv("method", MARKUP)(f), budget_text(f),
                                        setv("evaluator", MARKUP)(f), setv("cost_model", MARKUP)(f))),
             check=_clean_report),
        Case("report run folder named $x$ <script>", lambda d: rep(d, "r$x$<script>{}"), expect=(0,),
             setup=_run_with(name="r$x$<script>{}"), check=_clean_report),
        Case("report method of 1 MB", rep, expect=(0,), setup=_run_with(setv("method", "$" * 1_000_000)),
             check=_clean_report),
        Case("report two runs compared, markup in both", lambda d: ["report", str(d / "run"), str(d / "b"),
                                                                    "--out", str(d / "rep")], expect=(0,),
             setup=lambda d: (_run_with(setv("method", MARKUP))(d),
                              _run_with(setv("method", "$x"), name="b")(d))),
        Case("report arch not of the run's space", rep, setup=_run_with(setv("arch", "mb3e3,zero"))),
        Case("report alpha_probs ragged", rep,
             setup=_run_with(setv("alpha_probs", [[0.5], [0.1, 0.9, 0.0]]))),
        Case("report alpha_probs 1e300", rep,
             setup=_run_with(lambda f: f["alpha_probs"][0].__setitem__(0, 1e300))),
        Case("report budget on an unknown metric", rep, setup=_run_with(
            lambda f: f["accelerator"]["budgets"][0].__setitem__("metric", "$joy$"))),
        Case("report final.json number 1e999", rep, setup=lambda d: (_run_with()(d), _replace(
            d / "run" / "final.json", '"objective_value": ', '"objective_value": 1e999, "x": '))),
        Case("report final.json of 9 MB", rep, setup=_run_with(setv("method", "m" * 9_000_000))),
        Case("report metrics.jsonl of 70 MB", rep, setup=_run_with(metrics=lambda p: p.write_text(
            ("{\"phase\": \"x\"}" + " " * 990 + "\n") * 70_000))),
        Case("report metrics.jsonl 100k steps (bounded memory)", rep, expect=(0,),
             setup=_run_with(metrics=_many_steps(100_000)), check=_clean_report),
        Case("report metrics.jsonl one 10 MB line", rep, expect=(0,), setup=_run_with(metrics=lambda p: open(
            p, "a").write('{"phase": "search", "pred": {"' + "x" * 10_000_000 + '": 1}}\n')),
             check=_clean_report),
        Case("report metrics.jsonl 50k epoch lines", rep, expect=(0,), setup=_run_with(metrics=lambda p: open(
            p, "a").write(('{"phase": "epoch", "epoch": 1, "train_ce": 2.0, "arch": "' + TINY_ARCH.replace(
                "mb5e3", "mb3e3") + '"}\n') * 50_000)), check=_clean_report),
        Case("report config space is /dev/zero", rep, setup=_run_with(config=lambda c: c.__setitem__(
            "space", "/dev/zero"))),
        Case("export --layers of a run with markup fields", lambda d: ["export", str(d / "run"), "--layers",
                                                                       str(d / "layers.json")],
             expect=(0,), setup=_run_with(setv("method", MARKUP))),
        Case("export --weights with a lying safetensors header", lambda d: [
            "export", str(d / "run"), "--onnx", str(d / "x.onnx"), "--weights", str(d / "w.safetensors")],
             setup=lambda d: (_run_with()(d), (d / "w.safetensors").write_bytes(
                 struct.pack("<Q", 90) + b'{"w": {"dtype": "F32", "shape": [1000000, 1000000], '
                 b'"data_offsets": [0, 4000000000000]}}' + b" " * 4))),
        Case("export --weights with width_mult 1e9 in its config", lambda d: [
            "export", str(d / "run"), "--onnx", str(d / "x.onnx"), "--weights", str(d / "tr")],
             setup=lambda d: (_run_with()(d), _train_dir(d / "tr"))),
    ]


def _replace(p: Path, old: str, new: str) -> None:
    p.write_text(p.read_text().replace(old, new, 1))


def _train_dir(tr: Path) -> None:
    import torch
    from safetensors.torch import save_file

    tr.mkdir()
    save_file({"stem.0.weight": torch.zeros(2, 2)}, str(tr / "model.safetensors"))
    (tr / "config.yaml").write_text(yaml.safe_dump({"width_mult": 1e9}))


# ----- running ---------------------------------------------------------------------------------------------
def _nonfinite_json(path: Path) -> bool:
    def bad(_c: str):
        raise ValueError
    if not path.is_file():
        return False
    for ln in (path.read_text().splitlines() if path.suffix == ".jsonl" else [path.read_text()]):
        if not ln.strip():
            continue
        try:
            json.loads(ln, parse_constant=bad)
        except ValueError:
            return True
    return False


GIB = 1 << 30
IN_OPEN, IN_Q_OVERFLOW = 0x20, 0x4000


class OpenWatch:
    """Which files of some folders a process opens (Linux inotify, IN_OPEN; not recursive)."""

    def __init__(self, folders: list[Path]):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        for f in folders:
            if self.libc.inotify_add_watch(self.fd, str(f).encode(), IN_OPEN) < 0:
                raise OSError(ctypes.get_errno(), f"inotify_add_watch {f}")

    def names(self) -> set[str]:
        """Names opened since the watch began ('*' if the event queue overflowed)."""
        out: set[str] = set()
        while True:
            try:
                buf = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                break
            i = 0
            while i + 16 <= len(buf):
                _, mask, _, n = struct.unpack_from("iIII", buf, i)
                out.add("*" if mask & IN_Q_OVERFLOW else buf[i + 16:i + 16 + n].rstrip(b"\0").decode())
                i += 16 + n
        os.close(self.fd)
        return out


def baseline_vm() -> int:
    """Peak virtual memory (bytes) of this interpreter after importing what ``hdx`` commands import."""
    code = ("import torch, numpy, matplotlib, onnx, pydantic, yaml, hdx.cli.main as m; m._register(); "
            "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmPeak')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip()) * 1024


def _snapshot(d: Path) -> dict[Path, int]:
    return {f: f.stat().st_mtime_ns for f in d.rglob("*.json*") if f.is_file()}


def _alive(pid: int) -> bool:
    """Whether the child still runs (without reaping it: wait4 collects its resource usage later)."""
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None


def run_case(c: Case, root: Path, env: dict, as_limit: int) -> dict:
    d = root / re.sub(r"[^a-z0-9]+", "_", c.name.lower()).strip("_")
    d.mkdir(parents=True)
    if c.setup:
        c.setup(d)
    args = c.args(d) if callable(c.args) else list(c.args)
    before = _snapshot(d)
    watch = OpenWatch([d, d / "model"]) if c.decoys else None

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (as_limit, as_limit))
        if c.fsize_limit:
            resource.setrlimit(resource.RLIMIT_FSIZE, (c.fsize_limit, c.fsize_limit))

    t0 = time.perf_counter()
    with open(d / ".stdout", "w+b") as fo, open(d / ".stderr", "w+b") as fe:
        p = subprocess.Popen(HDX + args, cwd=d, env=env, stdout=fo, stderr=fe, preexec_fn=limits)
        killer = threading.Timer(600, lambda: os.kill(p.pid, signal.SIGKILL))
        killer.start()
        if c.sigint_after is not None:
            time.sleep(c.sigint_after)
            deadline = time.time() + 60
            while time.time() < deadline and _alive(p.pid) and not (d / "run" / "config.yaml").exists():
                time.sleep(0.2)
            time.sleep(1.0)
            if _alive(p.pid):
                p.send_signal(signal.SIGINT)
        _, status, usage = os.wait4(p.pid, 0)
        killer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        fo.seek(0)
        fe.seek(0)
        out_s, err_s = fo.read().decode(errors="replace"), fe.read().decode(errors="replace")
    opened = sorted(n for n in watch.names() if n in DECOYS or n == "*") if watch else []
    lines = [ln for ln in err_s.splitlines() if ln.strip()]
    first = next((ln for ln in lines if ln.startswith(("error", "interrupted"))), lines[0] if lines else "")
    written = [f for f, t in _snapshot(d).items() if before.get(f) != t]
    nonfinite = bool(_NONFINITE.search(out_s)) or any(_nonfinite_json(d / f) for f in c.files) or any(
        _nonfinite_json(f) for f in written)
    why = ""
    if c.check is not None:
        try:
            why = c.check(d)
        except Exception as e:  # noqa: BLE001 - a check that cannot read what it needs fails
            why = f"check failed: {type(e).__name__}: {e}"
    return {"case": c.name, "rc": p.returncode, "ok": p.returncode in c.expect, "expect": c.expect,
            "traceback": "Traceback (most recent call last)" in err_s + out_s, "payload": marker(d).exists(),
            "nonfinite": nonfinite, "opened": opened, "peak_mib": usage.ru_maxrss / 1024, "check": why,
            "stderr": first, "seconds": time.perf_counter() - t0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=None, help="run the cases whose name contains this")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="hdx-hostile-"))
    SHARED["root"] = root / "_shared"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", HDX_DATA=str(fake_cifar(root)),
               COLUMNS="200")
    SHARED["env"] = env
    base = baseline_vm()
    as_limit = base + GIB
    sel = [c for c in cases() if args.only is None or args.only in c.name]
    print(f"address-space limit per case: {as_limit / GIB:.2f} GiB (this interpreter with HDX's libraries: "
          f"{base / GIB:.2f} GiB, + 1 GiB)\n")
    print(f"{'case':<48} {'exit':>4} {'exp':>5} {'tb':>3} {'payload':>7} {'nonfinite':>9} {'ext':>3} "
          f"{'peak MiB':>8} {'check':>5}  first line of stderr")
    rows = []
    yn = {True: "yes", False: "no"}
    try:
        for c in sel:
            r = run_case(c, root, env, as_limit)
            rows.append(r)
            exp = ",".join(map(str, r["expect"]))
            print(f"{r['case'][:48]:<48} {r['rc']:>4} {exp:>5} {yn[r['traceback']]:>3} {yn[r['payload']]:>7} "
                  f"{yn[r['nonfinite']]:>9} {yn[bool(r['opened'])]:>3} {r['peak_mib']:>8.0f} "
                  f"{'ok' if not r['check'] else 'FAIL':>5}  {(r['check'] or r['stderr'])[:150]}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"kept {root}")
    n = len(rows)
    bad = {"unexpected exit codes": sum(not r["ok"] for r in rows),
           "tracebacks": sum(r["traceback"] for r in rows),
           "payloads run": sum(r["payload"] for r in rows),
           "non-finite outputs": sum(r["nonfinite"] for r in rows),
           "external files opened": sum(len(r["opened"]) for r in rows),
           "cases above 1 GiB peak memory": sum(r["peak_mib"] > 1024 for r in rows),
           "failed checks": sum(bool(r["check"]) for r in rows)}
    peak = max((r["peak_mib"] for r in rows), default=0.0)
    print(f"\n{n} cases: " + ", ".join(f"{v} {k}" for k, v in bad.items())
          + f" (largest peak {peak:.0f} MiB)")
    return 0 if not any(bad.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
