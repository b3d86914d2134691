"""Search on a device and search → retrain in one run (issue 12).

* ``--device cpu`` and the default (auto, on a machine without CUDA) give the same ``final.json``;
* ``hdx search --retrain-epochs N`` trains the derived network from scratch into ``RUN/retrain`` and
  ``final.json`` gains its test accuracy (whole test set), params (= the saved weights' count) and MACs;
* the retrain resumes from its checkpoint after an interruption and ends with the same result;
* bad retrain options stop the command with one line and exit code 2 before any training;
* the linear LR schedule and flip test-time augmentation against hand-computed values;
* a tiny search on CUDA (skipped where there is no GPU; no test depends on one).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from hdx.cli.main import main
from hdx.data import BatchLoader
from hdx.data.fake import write_fake_cifar10
from hdx.search.config import load_search_config
from hdx.search.loop import run_search
from hdx.train.trainer import cosine_lambda, evaluate

pytestmark = pytest.mark.usefixtures("one_thread")
CUDA = torch.cuda.is_available()


@pytest.fixture(scope="module")
def fake(tmp_path_factory) -> Path:
    return write_fake_cifar10(tmp_path_factory.mktemp("data") / "cifar", per_batch=24, test=40, seed=3)


def cifar_search_config(tmp: Path, data: Path, **kw) -> Path:
    """A very short search of the real (32x32) space on a fake CIFAR-10 folder."""
    cfg = {"data": str(data), "subset": 96, "val_fraction": 0.5, "eval_images": 32, "batch_size": 16,
           "width_mult": 0.25, "epochs": 2, "warmup_epochs": 1, "threads": 1, "progress": False,
           "bn_batches": 1, "recheck_rounds": 0, "budgets": [], "evaluator": "oracle"}
    cfg.update(kw)
    p = tmp / "search.yaml"
    p.write_text(yaml.safe_dump(cfg))
    return p


def _final(path: Path) -> dict:
    d = json.loads((path / "final.json").read_text())
    d.pop("versions")
    return d


@pytest.mark.skipif(CUDA, reason="the default device is CUDA here")
def test_device_cpu_equals_default(tmp_path, tiny_config):
    conf = tiny_config(tmp_path, epochs=2)
    assert main(["search", "--config", str(conf), "--out", str(tmp_path / "A")]) == 0
    assert main(["search", "--config", str(conf), "--device", "cpu", "--out", str(tmp_path / "B")]) == 0
    a, b = _final(tmp_path / "A"), _final(tmp_path / "B")
    assert a == b
    assert yaml.safe_load((tmp_path / "B" / "config.yaml").read_text())["device"] == "cpu"


def test_search_then_retrain_into_run_dir(tmp_path, fake, capsys):
    conf = cifar_search_config(tmp_path, fake)
    out = tmp_path / "run"
    rc = main(["search", "--config", str(conf), "--retrain-epochs", "1", "--device", "cpu",
               "--out", str(out)])
    assert rc == 0
    final = json.loads((out / "final.json").read_text())
    r = final["retrained"]
    assert r["arch"] == final["arch"] and r["epochs"] == 1 and r["device"] == "cpu"
    assert r["test_images"] == 40  # the whole test set of the folder, not the search's eval subset
    assert r["train_images"] == 5 * 24 and r["run_dir"] == "retrain" and r["config"] == "retrain_cpu"
    assert 0.0 <= r["test_accuracy"] <= 1.0
    for name in ("final.json", "model.safetensors", "checkpoint.pt", "config.yaml"):
        assert (out / "retrain" / name).is_file(), name
    # params: every trainable tensor that was saved (BN running statistics are buffers, not params)
    saved = load_file(str(out / "retrain" / "model.safetensors"))
    n = sum(v.numel() for k, v in saved.items()
            if not k.endswith(("running_mean", "running_var", "num_batches_tracked")))
    assert r["params"] == n
    sub = json.loads((out / "retrain" / "final.json").read_text())
    assert sub["test_accuracy"] == r["test_accuracy"] and sub["macs"] == r["macs"] > 0
    timing = json.loads((out / "timing.json").read_text())
    assert len(timing["retrain_seconds_per_epoch"]) == 1 and timing["retrain_seconds"] > 0
    assert "seconds" not in json.dumps(final)
    assert "retrained    test" in capsys.readouterr().out


def test_retrain_resumes_after_interruption(tmp_path, fake, monkeypatch):
    import hdx.train.trainer as trainer
    from hdx.train.retrain import retrain

    arch = "mb3e3,zero,zero,mb3e3,zero,zero,mb3e3,zero,zero"
    kw = {"epochs": 2, "device": "cpu", "data": str(fake), "threads": 1, "progress": False,
          "log": lambda s: None, "overrides": {"batch_size": 32}}
    a = retrain(arch, tmp_path / "A", **kw)
    real, calls = trainer._train_epoch, []

    def dying(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(trainer, "_train_epoch", dying)
    with pytest.raises(KeyboardInterrupt):
        retrain(arch, tmp_path / "B", **kw)
    assert (tmp_path / "B" / "checkpoint.pt").is_file() and not (tmp_path / "B" / "final.json").exists()
    monkeypatch.setattr(trainer, "_train_epoch", real)
    b = retrain(arch, tmp_path / "B", **kw)
    assert a.test_accuracy == b.test_accuracy and a.params == b.params and a.macs == b.macs
    wa = load_file(str(tmp_path / "A" / "model.safetensors"))
    wb = load_file(str(tmp_path / "B" / "model.safetensors"))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.mark.parametrize("extra, field", [
    ({"fake_data": True}, "fake_data"),
    ({"retrain_config": "no_such_recipe"}, "no_such_recipe"),
])
def test_bad_retrain_options_exit_2_before_training(tmp_path, fake, capsys, extra, field):
    conf = cifar_search_config(tmp_path, fake, retrain_epochs=1, **extra)
    rc = main(["search", "--config", str(conf), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and field in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "run" / "metrics.jsonl").exists()  # nothing trained


def test_bad_device_is_one_line():
    from hdx.errors import ConfigError

    with pytest.raises(ConfigError, match="device"):
        load_search_config("default", {"device": "tpu"})
    if not CUDA:
        assert main(["search", "--device", "cuda", "--epochs", "2", "--warmup-epochs", "1",
                     "--out", "/nonexistent-hdx-out"]) == 2


def test_linear_schedule_hand_values():
    f = cosine_lambda(100, 10, "linear")
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(10) == pytest.approx(1.0) and f(55) == pytest.approx(0.5) and f(100) == pytest.approx(0.0)


def test_flip_tta_is_mean_of_both_views():
    torch.manual_seed(0)
    x = torch.randint(0, 256, (12, 3, 32, 32), dtype=torch.uint8)
    y = torch.randint(0, 10, (12,))
    lin = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 10))
    loader = BatchLoader(x, y, batch_size=5, shuffle=False)
    xs = torch.cat([b for b, _ in loader.epoch(0)])
    with torch.no_grad():
        want = 0.5 * (lin(xs) + lin(xs.flip(3)))
    _, acc = evaluate(lin, loader, tta_flip=True)
    assert acc == pytest.approx(float((want.argmax(1) == y).float().mean()))
    _, acc_plain = evaluate(lin, loader)
    with torch.no_grad():
        assert acc_plain == pytest.approx(float((lin(xs).argmax(1) == y).float().mean()))


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_search_on_cuda(tmp_path, fake):
    cfg = load_search_config(str(cifar_search_config(tmp_path, fake, device="cuda", log_every=2)))
    final = run_search(cfg, tmp_path / "run").to_json()
    assert final["arch"] and final["accuracy_inherited"]["val_acc"] >= 0


def test_search_killed_during_retrain_resumes_to_the_same_final(tmp_path, fake, monkeypatch):
    import hdx.train.trainer as trainer

    conf = cifar_search_config(tmp_path, fake, retrain_epochs=2, retrain_config="retrain_cpu", device="cpu")
    assert main(["search", "--config", str(conf), "--out", str(tmp_path / "A")]) == 0
    real, calls = trainer._train_epoch, []

    def dying(*args, **kwargs):  # the search's own epochs do not use the trainer: this hits the retrain
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(trainer, "_train_epoch", dying)
    assert main(["search", "--config", str(conf), "--out", str(tmp_path / "B")]) == 130
    assert not (tmp_path / "B" / "final.json").exists()
    assert (tmp_path / "B" / "retrain" / "checkpoint.pt").is_file()
    monkeypatch.setattr(trainer, "_train_epoch", real)
    assert main(["search", "--out", str(tmp_path / "B"), "--resume"]) == 0
    assert _final(tmp_path / "A") == _final(tmp_path / "B")
