"""hdx train: schedule, exact resume, run directory, CLI errors (exit code 2, one line)."""

from __future__ import annotations

import json
import math
import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from hdx.cli.main import main
from hdx.data.fake import write_fake_cifar10
from hdx.errors import ConfigError, HDXError
from hdx.train import TrainConfig, load_train_config, train
from hdx.train.trainer import cosine_lambda

DANCE_LAT = "mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3"


@pytest.fixture(scope="module")
def fake(tmp_path_factory) -> Path:
    return write_fake_cifar10(tmp_path_factory.mktemp("data") / "cifar", per_batch=16, test=16, seed=1)


pytestmark = pytest.mark.usefixtures("one_thread")


def _cfg(fake: Path, **kw) -> TrainConfig:
    base = dict(arch=DANCE_LAT, data=str(fake), epochs=3, batch_size=32, width_mult=0.25, lr=0.05,
                device="cpu", eval_batch_size=16, seed=7)
    base.update(kw)
    return load_train_config("default", base)


def test_default_config_and_overrides():
    cfg = load_train_config()
    assert cfg.epochs == 100 and cfg.nesterov and cfg.arch is None
    assert load_train_config("default", {"epochs": 3, "lr": None}).epochs == 3
    with pytest.raises(ConfigError, match="epochs"):
        load_train_config("default", {"epochs": 0})


def test_cosine_schedule():
    f = cosine_lambda(100, 0)
    assert f(0) == 1.0 and f(50) == pytest.approx(0.5) and f(100) == pytest.approx(0.0)
    assert f(25) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    g = cosine_lambda(100, 10)
    assert g(0) == pytest.approx(0.1) and g(9) == pytest.approx(1.0) and g(55) == pytest.approx(0.5)


def test_run_directory_and_final(fake, tmp_path):
    out = tmp_path / "run"
    final = train(_cfg(fake), out, progress=False, log=lambda s: None)
    for name in ("config.yaml", "metrics.jsonl", "final.json", "checkpoint.pt", "model.safetensors"):
        assert (out / name).is_file(), name
    recs = [json.loads(ln) for ln in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in recs] == [0, 1, 2]
    assert all({"loss", "train_acc", "lr", "seconds"} <= r.keys() for r in recs)
    assert recs[-1]["lr"] == pytest.approx(0.0, abs=1e-12)  # cosine ends at 0
    disk = json.loads((out / "final.json").read_text())
    assert disk["arch"] == DANCE_LAT and disk["epochs"] == 3 and 0 <= disk["test_accuracy"] <= 1
    assert disk["params"] > 0 and disk["macs"] > 0 and "torch" in disk["versions"]
    assert final.test_accuracy == disk["test_accuracy"]
    with pytest.raises(HDXError, match="already holds a run"):
        train(_cfg(fake), out, progress=False, log=lambda s: None)


class _Stop(Exception):
    pass


def test_interrupted_and_resumed_equals_uninterrupted(fake, tmp_path):
    a = tmp_path / "a"
    b = tmp_path / "b"
    train(_cfg(fake), a, progress=False, log=lambda s: None)

    def stop(epoch, _rec):
        if epoch == 0:
            raise _Stop

    with pytest.raises(_Stop):
        train(_cfg(fake), b, progress=False, log=lambda s: None, on_epoch_end=stop)
    assert not (b / "final.json").exists()
    # a line logged after the checkpoint (as if killed between the two) must be dropped on resume
    with open(b / "metrics.jsonl", "a") as f:
        f.write('{"epoch": 1, "loss": 99}\n{"epoch": 2, "lo')
    train(_cfg(fake), b, resume=True, progress=False, log=lambda s: None)
    wa, wb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k
    la = [json.loads(ln)["loss"] for ln in (a / "metrics.jsonl").read_text().splitlines()]
    lb = [json.loads(ln)["loss"] for ln in (b / "metrics.jsonl").read_text().splitlines()]
    assert la == lb
    # resuming with other options is refused
    with pytest.raises(ConfigError, match="lr"):
        train(_cfg(fake, lr=0.2), b, resume=True, progress=False, log=lambda s: None)


def test_training_learns_fake_data(fake, tmp_path):
    # the fake classes differ by mean colour: a few epochs should beat chance (10 %) clearly
    final = train(_cfg(fake, epochs=6, lr=0.1, width_mult=0.5), tmp_path / "r", progress=False,
                  log=lambda s: None)
    assert final.final_train_accuracy > 0.3


# ----- CLI -------------------------------------------------------------------------------------------
def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_cli_runs(fake, tmp_path, capsys):
    out = tmp_path / "cli"
    code, stdout, _ = _cli(capsys, "train", "--arch", DANCE_LAT, "--data", str(fake), "--epochs", "1",
                           "--width-mult", "0.25", "--batch-size", "40", "--out", str(out), "--quiet",
                           "--device", "cpu", "--subset", "40")
    assert code == 0, stdout
    assert "test accuracy" in stdout
    assert json.loads((out / "final.json").read_text())["train_images"] == 40
    code, _, err = _cli(capsys, "train", "--out", str(out), "--resume", "--quiet", "--epochs", "2")
    assert code == 2 and "epochs" in err  # options must match the run being resumed


def _bad_space(tmp_path: Path) -> Path:
    p = tmp_path / "bad_space.yaml"
    p.write_text("name: bad\nresolution: 32\nnum_classes: 10\nstem: {channels: 16}\n"
                 "stages:\n  - {channels: 32, depth: 2, stride: 3}\ncandidate_ops: [mb3e3, zero]\n")
    return p


def _truncated(tmp_path: Path, fake: Path) -> Path:
    d = write_fake_cifar10(tmp_path / "trunc", per_batch=4, test=4)
    p = d / "data_batch_5"
    p.write_bytes(p.read_bytes()[:1000])
    return d


def _bad_labels(tmp_path: Path, fake: Path) -> Path:
    d = write_fake_cifar10(tmp_path / "labels", per_batch=4, test=4)
    with open(d / "test_batch", "rb") as f:
        t = pickle.load(f)
    t["labels"] = [0, 1, 2, 11]
    with open(d / "test_batch", "wb") as f:
        pickle.dump(t, f)
    return d


@pytest.mark.parametrize("case,expect", [
    ("missing_data", "CIFAR-10 folder not found"),
    ("truncated", "data_batch_5 is truncated or corrupt"),
    ("labels", "test_batch: label 11 out of range"),
    ("unknown_op", "unknown op 'conv3'"),
    ("zero_first", "zero at layer 3 is not allowed"),
    ("bad_space", "stages.0.stride=3 does not divide"),
    ("no_arch", "no architecture given"),
    ("imagenet_space", "hdx train trains on CIFAR-10"),
    ("resume_nothing", "nothing to resume"),
])
def test_cli_errors_are_one_line_exit_2(case, expect, fake, tmp_path, capsys):
    arch, data, extra = DANCE_LAT, str(fake), []
    if case == "missing_data":
        data = str(tmp_path / "missing")
    elif case == "truncated":
        data = str(_truncated(tmp_path, fake))
    elif case == "labels":
        data = str(_bad_labels(tmp_path, fake))
    elif case == "unknown_op":
        arch = DANCE_LAT.replace("mb7e6", "conv3")
    elif case == "zero_first":
        arch = "mb5e3,zero,zero,zero,mb3e3,zero,mb7e6,mb5e3,mb7e3"
    elif case == "bad_space":
        extra = ["--space", str(_bad_space(tmp_path))]
    elif case == "imagenet_space":
        extra = ["--space", "proxyless_mobile"]
        arch = ",".join(["mb3e3"] * 21)
    elif case == "resume_nothing":
        extra = ["--resume"]
    args = ["train", "--data", data, "--epochs", "1", "--out", str(tmp_path / "o"), "--quiet", *extra]
    if case != "no_arch":
        args += ["--arch", arch]
    code, _, err = _cli(capsys, *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expect in lines[0], err
    assert not (tmp_path / "o" / "checkpoint.pt").exists()
    if case in ("missing_data", "truncated", "labels"):
        assert not (tmp_path / "o").exists()  # data is checked before the run directory is made
