"""``hdx sweep`` on fake data and tiny configs: a 4-trial sweep on a local Ray (2 CPUs) writes
results.csv whose rows are the trials' own final.json (each trial = an ordinary search run directory,
the same as a plain search of that config without the shared warm-up); a trial made to fail is
reported and the others complete; a sweep killed mid-trial and resumed gives the same results.csv; the
serial fallback gives the same rows; bad sweep files are one-line errors."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from hdx.cli.main import main
from hdx.errors import HDXError
from hdx.search.loop import make_warmup, run_search
from hdx.search.warmup import load_warmup
from hdx.sweep import SweepSpec, expand, run_sweep
from hdx.sweep import runner as sweep_runner

BASE = {"fake_data": True, "subset": 96, "batch_size": 24, "epochs": 3, "warmup_epochs": 1,
        "eval_images": 0, "evaluator": "oracle", "bn_batches": 1, "recheck_rounds": 1, "recheck_steps": 2,
        "budgets": [], "retrain_epochs": 0}
SWEEP = {"name": "t4", "base": BASE, "axes": {"seed": [0, 1]},
         "variants": [{"method": ["hdx"], "budgets": [["latency<=3ms"]]}, {"method": ["nas-then-hw"]}],
         "judge_budgets": ["latency<=3ms", "latency<=1.5ms"]}
NO_WALL = lambda rows: [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]  # noqa: E731


def _csv(path: Path, drop=("wall_s",)) -> list[dict]:
    with open(path) as f:
        return [{k: v for k, v in r.items() if k not in drop} for r in csv.DictReader(f)]


@pytest.fixture(scope="module")
def ray_session(ray_local):
    return ray_local


@pytest.fixture(scope="module")
def serial_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial") / "sweep"
    return run_sweep(SweepSpec(**SWEEP), out, use_ray=False, log=lambda s: None)


@pytest.fixture(scope="module")
def ray_run(tmp_path_factory, ray_session):
    out = tmp_path_factory.mktemp("ray") / "sweep"
    return run_sweep(SweepSpec(**SWEEP), out, use_ray=True, log=lambda s: None)


def test_expand_is_variants_times_axes():
    trials = expand(SweepSpec(**SWEEP))
    assert [(t.config.method, t.config.seed, tuple(t.config.budgets)) for t in trials] == [
        ("hdx", 0, ("latency<=3ms",)), ("hdx", 1, ("latency<=3ms",)), ("nas-then-hw", 0, ()),
        ("nas-then-hw", 1, ())]
    assert all(t.config.threads == 1 and not t.config.progress for t in trials)


def test_ray_sweep_writes_results(ray_run):
    out = ray_run.out
    assert ray_run.executor.startswith("ray (2 CPUs")
    rows = _csv(out / "results.csv")
    assert [r["trial"] for r in rows] == ["t0000", "t0001", "t0002", "t0003"]
    for r in rows:
        final = json.loads((out / "trials" / r["trial"] / "final.json").read_text())
        assert r["status"] == ("feasible" if final["feasible"] else "infeasible")
        assert r["arch"] == final["arch"]
        assert float(r["latency_ms"]) == pytest.approx(final["accelerator"]["metrics"]["latency"])
        assert float(r["val_acc"]) == pytest.approx(final["accuracy_inherited"]["val_acc"])
        assert float(json.loads((out / "trials" / r["trial"] / "trial.json").read_text())["wall_s"]) > 0
    # HDX trials carry their own budget; the others are judged against the sweep's judge budgets
    hdx = [r for r in rows if r["method"] == "hdx"]
    assert all(r["budgets"] == "latency<=3ms" and r["judge[latency<=3ms]"] == "" for r in hdx)
    for r in rows:
        if r["method"] == "nas-then-hw":
            lat = float(r["judge_value[latency<=1.5ms]"])
            assert r["judge[latency<=1.5ms]"] == ("met" if lat <= 1.5 else "missed")
    assert json.loads((out / "results.json").read_text())["rows"][0]["trial"] == "t0000"


def test_results_carry_slack_and_the_fill(serial_run):
    """Slack columns agree with final.json and the budget; HDX rows carry the fill, the others none."""
    out = serial_run.out
    for r in _csv(out / "results.csv"):
        final = json.loads((out / "trials" / r["trial"] / "final.json").read_text())
        if r["method"] == "hdx":
            assert float(r["slack"]) == pytest.approx(final["slack"]["latency<=3ms"])
            assert float(r["slack"]) == pytest.approx((3 - float(r["latency_ms"])) / 3)
            assert r["fill"] == final["fill"]["mode"] and r["unfilled_arch"] == final["fill"]["start_arch"]
            if final["feasible"]:  # the fill only uses budget
                assert float(r["unfilled_slack"]) >= float(r["slack"]) - 1e-12
            assert r["judge_slack[latency<=3ms]"] == ""
        else:
            assert r["slack"] == r["fill"] == r["unfilled_arch"] == ""
            for b, t in (("latency<=3ms", 3.0), ("latency<=1.5ms", 1.5)):
                lat = float(r[f"judge_value[{b}]"])
                assert float(r[f"judge_slack[{b}]"]) == pytest.approx((t - lat) / t)


def test_report_of_a_sweep_directory_compares_its_trials(serial_run):
    from hdx.report import write_report

    page = write_report(serial_run.out)
    assert page == serial_run.out / "report" / "report.html" and (page.parent / "compare.png").is_file()
    html = page.read_text()
    for t in ("t0000", "t0001", "t0002", "t0003"):  # one table row per finished trial
        assert f"<code>{t}</code>" in html
    assert "trajectory.png" in html  # 4 runs: per-run sections are drawn too


def test_trial_equals_a_plain_search_without_shared_warmup(ray_run, tmp_path):
    """The shared warm-up (warmup_from) changes nothing: a plain run_search of trial t0000's config
    (its own warm-up) writes the same final.json."""
    trial = expand(SweepSpec(**SWEEP))[0]
    cfg_saved = yaml.safe_load((ray_run.out / "trials/t0000/config.yaml").read_text())
    assert cfg_saved["warmup_from"].endswith(".pt")  # it did start from a shared warm-up
    run_search(trial.config, tmp_path / "plain")
    a = json.loads((tmp_path / "plain/final.json").read_text())
    b = json.loads((ray_run.out / "trials/t0000/final.json").read_text())
    assert a == b


def test_serial_fallback_gives_the_same_rows(serial_run, ray_run, monkeypatch, tmp_path):
    assert serial_run.executor.startswith("serial")
    assert NO_WALL(serial_run.rows) == NO_WALL(ray_run.rows)
    assert _csv(serial_run.out / "results.csv") == _csv(ray_run.out / "results.csv")
    # without Ray installed the sweep runs serially and says so
    monkeypatch.setattr(sweep_runner, "_ray_available", lambda: False)
    one = {**SWEEP, "axes": {"seed": [0]}, "variants": [{"method": ["nas-then-hw"]}]}
    notes = []
    res = run_sweep(SweepSpec(**one), tmp_path / "s", log=notes.append)
    assert res.executor.startswith("serial") and any("Ray is not installed" in n for n in notes)
    assert NO_WALL(res.rows)[0] == {**NO_WALL(serial_run.rows)[2], "trial": "t0000"}


def test_failing_trial_is_reported_and_others_complete(ray_session, tmp_path, capsys):
    spec = {**SWEEP, "axes": {"seed": [0]},
            "variants": [{"method": ["hdx"], "budgets": [["latency<=3ms"], ["latency<=0.001ms"]]},
                         {"method": ["nas-then-hw"]}]}
    f = tmp_path / "sweep.yaml"
    f.write_text(yaml.safe_dump(spec))
    rc = main(["sweep", str(f), "--out", str(tmp_path / "s")])
    assert rc == 4
    rows = _csv(tmp_path / "s/results.csv")
    assert [r["status"] for r in rows][1] == "failed"
    assert "latency" in rows[1]["error"] and "minimum" in rows[1]["error"]
    assert rows[0]["status"] in ("feasible", "infeasible") and rows[2]["status"] in ("feasible", "infeasible")
    captured = capsys.readouterr()
    assert "1 failed" in captured.out and "FAILED" in captured.err


def test_killed_sweep_resumed_gives_same_results(serial_run, ray_session, tmp_path):
    """SIGKILL the whole `hdx sweep --serial` process while a trial is mid-search, then --resume (on
    Ray): results.csv equals the uninterrupted sweep's."""
    f = tmp_path / "sweep.yaml"
    f.write_text(yaml.safe_dump(SWEEP))
    out = tmp_path / "s"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    p = subprocess.Popen([sys.executable, "-c", "from hdx.cli.main import run; run()", "sweep", str(f),
                          "--out", str(out), "--serial"], env=env, start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    target = out / "trials/t0001"
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (target / "checkpoint.pt").exists():
            time.sleep(0.02)
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    assert (target / "checkpoint.pt").exists(), "the sweep never reached trial t0001"
    assert not (out / "trials/t0003/final.json").exists()
    res = run_sweep(f, out, resume=True, use_ray=True, log=lambda s: None)
    assert res.ran < 4  # finished trials were skipped
    assert _csv(out / "results.csv") == _csv(serial_run.out / "results.csv")
    # resuming a finished sweep runs nothing and changes nothing
    assert run_sweep(f, out, resume=True, use_ray=False, log=lambda s: None).ran == 0


def test_bad_sweep_files_are_one_line_errors(tmp_path, capsys):
    cases = [
        ({"axes": {"sed": [0, 1]}}, "axes: key 'sed' is not a search config field"),
        ({"axes": {"seed": 3}}, "non-empty list"),
        ({"variants": [{"method": ["hdx", "bogus"]}]}, "method"),
        ({"base": {"warmup_from": "x.pt"}}, "set by the sweep"),
        ({"judge_budgets": ["latency<=-1ms"]}, "judge_budgets"),
        ({"axes": {"seed": [0, 0]}}, "repeats trial"),
    ]
    for i, (spec, needle) in enumerate(cases):
        f = tmp_path / f"bad{i}.yaml"
        f.write_text(yaml.safe_dump({"base": BASE, **spec}))
        assert main(["sweep", str(f), "--out", str(tmp_path / f"o{i}"), "--serial"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and needle in err, err
    # a started sweep refuses a plain start and a changed file on --resume
    good = tmp_path / "good.yaml"
    one = {"base": BASE, "variants": [{"method": ["nas-then-hw"]}]}
    good.write_text(yaml.safe_dump({**one, "axes": {"seed": [0]}}))
    assert main(["sweep", str(good), "--out", str(tmp_path / "g"), "--serial"]) == 0
    assert main(["sweep", str(good), "--out", str(tmp_path / "g"), "--serial"]) == 2
    good.write_text(yaml.safe_dump({**one, "axes": {"seed": [1]}}))
    assert main(["sweep", str(good), "--out", str(tmp_path / "g"), "--resume", "--serial"]) == 2
    assert "differs" in capsys.readouterr().err


def test_count_is_arithmetic_and_equals_the_trials():
    from hdx.sweep.spec import count_trials

    for axes, variants in [({"seed": [0, 1, 2]}, [{}]), ({}, [{"method": ["hdx", "dance"]}]),
                           ({"seed": [0, 1]}, [{"method": ["hdx"], "hw_lambda": [0.1, 0.2, 0.3]},
                                               {"method": ["nas-then-hw"]}])]:
        spec = SweepSpec(base=BASE, axes=axes, variants=variants)
        assert count_trials(spec) == len(expand(spec))  # 3, 2, (3 + 1) * 2 = 8


def test_huge_sweep_is_refused_with_its_count_before_anything_is_built(tmp_path, capsys, monkeypatch):
    import time

    from hdx.sweep import spec as spec_mod

    # four axes of 1000 values: 10^12 trials. Counting must not build a single trial or config
    monkeypatch.setattr(spec_mod, "load_search_config", lambda *a, **k: pytest.fail("built a config"))
    spec = SweepSpec(axes={k: list(range(1000)) for k in ("seed", "epochs", "subset", "eval_images")})
    t0 = time.perf_counter()
    with pytest.raises(HDXError, match="1,000,000,000,000 trials"):
        expand(spec)
    assert time.perf_counter() - t0 < 1.0
    # the same through the CLI: one line, exit 2, the count in it
    f = tmp_path / "huge.yaml"
    f.write_text(yaml.safe_dump({"base": BASE, "axes": {"seed": list(range(1000)),
                                                         "epochs": list(range(1, 1001)),
                                                         "subset": list(range(1000, 2000)),
                                                         "eval_images": list(range(1000))}}))
    capsys.readouterr()
    assert main(["sweep", str(f), "--out", str(tmp_path / "o"), "--serial"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "1,000,000,000,000 trials" in err and "10,000" in err
    # 10,000 is allowed by the count (it is the limit), 10,001 is not
    ok = SweepSpec(axes={"seed": list(range(100)), "epochs": list(range(1, 101))})
    assert spec_mod.count_trials(ok) == spec_mod.MAX_TRIALS and spec_mod.check_size(ok) == 10_000
    with pytest.raises(HDXError, match="10,100 trials"):
        spec_mod.check_size(SweepSpec(axes={"seed": list(range(101)), "epochs": list(range(1, 101))}))


def test_warmup_file_is_refused_for_another_config(tmp_path):
    trial = expand(SweepSpec(**SWEEP))[0]
    path = make_warmup(trial.config, tmp_path / "w.pt")
    assert load_warmup(path, trial.config)["epoch"] == 1
    other = trial.config.model_copy(update={"w_lr": 0.1})
    with pytest.raises(HDXError, match="w_lr"):
        load_warmup(path, other)
    # method, budgets, λ do not enter the warm-up: the same file serves them
    load_warmup(path, trial.config.model_copy(update={"method": "dance", "hw_lambda": 0.5, "budgets": []}))


def test_resources_the_cluster_lacks_are_refused(ray_session, tmp_path):
    one = SweepSpec(**{**SWEEP, "axes": {"seed": [0]}, "variants": [{"method": ["nas-then-hw"]}]})
    with pytest.raises(HDXError, match="GPUs"):
        run_sweep(one, tmp_path / "g", use_ray=True, gpus_per_trial=1, log=lambda s: None)
    many = SweepSpec(**{**one.model_dump(), "threads_per_trial": 3})
    with pytest.raises(HDXError, match="threads_per_trial 3"):
        run_sweep(many, tmp_path / "t", use_ray=True, log=lambda s: None)
