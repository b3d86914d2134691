"""Hostile inputs against the ``hdx`` CLI: payload files, bad numbers, overflow, broken run folders.

Every case builds its own files in a temporary folder (pickles whose payload creates a marker file,
checkpoints with code or foreign keys, evaluator files with doctored metadata, binary / huge / aliased
YAML, non-finite or overflowing hardware, space and option values, unwritable or full output folders,
runs killed before their first checkpoint, Ctrl-C) and runs ``hdx`` in a subprocess. One row per case:

    case | exit code (expected) | traceback yes/no | payload ran yes/no | non-finite in output yes/no |
    first line of stderr

'payload ran' is measured (the payload creates a marker file), 'non-finite' scans stdout and every JSON
file the case wrote for nan / inf (strict JSON parse). The summary line counts cases, unexpected exit
codes, tracebacks, payloads run and non-finite outputs; the goal is 0 for all four.

    python benchmarks/bench_hostile_inputs.py [--only SUBSTRING] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

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
    add(Case("cifar huge labels (2**70)", lambda d: ["train", "--arch", ARCH, "--data", str(d / "cifar"),
             "--out", str(d / "run"), "--quiet"], setup=lambda d: cifar_with(
                 d, "data_batch_2", {"data": np.zeros((1, 3072), "uint8"), "labels": [2**70]})))
    add(Case("search checkpoint with os.system payload", lambda d: ["search", "--out", str(d / "run"),
             "--resume"], setup=lambda d: torch_ckpt(d, {"epoch": Payload(marker(d))})))
    add(Case("train checkpoint with eval payload", lambda d: ["train", "--out", str(d / "run"), "--resume",
             "--quiet"], setup=lambda d: torch_ckpt(d, {"model": EvalPayload(marker(d))}, cfg="train")))
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
    return C


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


def run_case(c: Case, root: Path, env: dict) -> dict:
    d = root / re.sub(r"[^a-z0-9]+", "_", c.name.lower()).strip("_")
    d.mkdir(parents=True)
    if c.setup:
        c.setup(d)
    args = c.args(d) if callable(c.args) else list(c.args)

    def limits() -> None:
        if c.fsize_limit:
            resource.setrlimit(resource.RLIMIT_FSIZE, (c.fsize_limit, c.fsize_limit))

    t0 = time.perf_counter()
    p = subprocess.Popen(HDX + args, cwd=d, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         preexec_fn=limits if c.fsize_limit else None)
    if c.sigint_after is not None:
        time.sleep(c.sigint_after)
        deadline = time.time() + 60
        while time.time() < deadline and p.poll() is None and not (d / "run" / "config.yaml").exists():
            time.sleep(0.2)
        time.sleep(1.0)
        p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    out_s, err_s = out.decode(errors="replace"), err.decode(errors="replace")
    lines = [ln for ln in err_s.splitlines() if ln.strip()]
    first = next((ln for ln in lines if ln.startswith(("error", "interrupted"))), lines[0] if lines else "")
    nonfinite = bool(_NONFINITE.search(out_s)) or any(_nonfinite_json(d / f) for f in c.files) or any(
        _nonfinite_json(f) for f in d.rglob("*.json"))
    return {"case": c.name, "rc": p.returncode, "ok": p.returncode in c.expect, "expect": c.expect,
            "traceback": "Traceback (most recent call last)" in err_s + out_s, "payload": marker(d).exists(),
            "nonfinite": nonfinite, "stderr": first, "seconds": time.perf_counter() - t0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=None, help="run the cases whose name contains this")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="hdx-hostile-"))
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", HDX_DATA=str(fake_cifar(root)),
               COLUMNS="200")
    sel = [c for c in cases() if args.only is None or args.only in c.name]
    print(f"{'case':<48} {'exit':>4} {'exp':>5} {'tb':>3} {'payload':>7} {'nonfinite':>9}  "
          f"first line of stderr")
    rows = []
    try:
        for c in sel:
            r = run_case(c, root, env)
            rows.append(r)
            exp = ",".join(map(str, r["expect"]))
            yn = {True: "yes", False: "no"}
            print(f"{r['case'][:48]:<48} {r['rc']:>4} {exp:>5} {yn[r['traceback']]:>3} {yn[r['payload']]:>7} "
                  f"{yn[r['nonfinite']]:>9}  {r['stderr'][:150]}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"kept {root}")
    n = len(rows)
    print(f"\n{n} cases: {sum(not r['ok'] for r in rows)} unexpected exit codes, "
          f"{sum(r['traceback'] for r in rows)} tracebacks, {sum(r['payload'] for r in rows)} payloads ran, "
          f"{sum(r['nonfinite'] for r in rows)} non-finite outputs")
    return 0 if all(r["ok"] and not (r["traceback"] or r["payload"] or r["nonfinite"]) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
