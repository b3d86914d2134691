"""Issue #8 regressions: loading never runs code, numbers are finite and bounded, run folders never trap
the user, every JSON file is strict, Ctrl-C says how to resume, the default thread policy."""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from hdx.cli.main import main
from hdx.config import load_config, read_yaml
from hdx.cost.base import ENERGY_PARTS, LayerCosts, check_finite
from hdx.cost.tech import TechTable, load_tech
from hdx.data.cifar import read_batch
from hdx.data.fake import fake_batch, write_fake_cifar10
from hdx.errors import ConfigError, DataError, HDXError
from hdx.report.rundir import RunDir, check_out_dir, run_state
from hdx.safeio import atomic_write_json, load_npz, load_torch, read_text
from hdx.space.accelerator import Accelerator, AcceleratorSpaceConfig, AccelTable, HardwareParams
from hdx.space.network import NetworkSpaceConfig
from hdx.workload import Layer, LayerTable

ARCH = "mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3"
pytestmark = pytest.mark.usefixtures("one_thread")


class _Payload:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _EvalPayload:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (eval, (f"open({str(self.marker)!r}, 'w').close()",))


def _one_line(capsys) -> str:
    """The one error line on stderr (the search's start-up line may precede it), and no traceback."""
    text = capsys.readouterr().err
    assert "Traceback" not in text
    err = [ln for ln in text.splitlines() if ln.startswith(("error:", "interrupted:"))]
    assert len(err) == 1 and text.rstrip().endswith(err[0]), text
    return err[0]


# ----- (1) CIFAR pickles: numpy and builtins only ----------------------------------------------------------
@pytest.mark.parametrize("payload", [_Payload, _EvalPayload])
def test_cifar_payload_never_runs_and_names_the_file(tmp_path, payload):
    marker = tmp_path / "ran"
    f = tmp_path / "data_batch_1"
    f.write_bytes(pickle.dumps(payload(marker)))
    with pytest.raises(DataError, match=r"data_batch_1 is not a plain data file: it names "):
        read_batch(f)
    nested = tmp_path / "data_batch_2"
    nested.write_bytes(pickle.dumps({"data": payload(marker), "labels": [1]}))
    with pytest.raises(DataError, match="data_batch_2"):
        read_batch(nested)
    assert not marker.exists()


def test_cifar_real_layout_still_loads(tmp_path):
    d = write_fake_cifar10(tmp_path / "c", per_batch=8, test=8)
    x, y = read_batch(d / "data_batch_1")
    assert x.shape == (8, 3, 32, 32) and x.dtype == np.uint8 and y.dtype == np.int64
    f = tmp_path / "proto2"  # the official files are protocol-2 pickles of python-2 dicts
    f.write_bytes(pickle.dumps(fake_batch(4, np.random.default_rng(0)), protocol=2))
    assert read_batch(f)[0].shape == (4, 3, 32, 32)


def test_cifar_labels_beyond_int64_are_one_line(tmp_path):
    f = tmp_path / "data_batch_1"
    f.write_bytes(pickle.dumps({"data": np.zeros((1, 3072), np.uint8), "labels": [2**70]}))
    with pytest.raises(DataError, match="not integers"):
        read_batch(f)


# ----- (2) checkpoints: weights_only, exact keys ------------------------------------------------------------
def test_checkpoint_with_code_is_refused_and_payload_never_runs(tmp_path):
    marker = tmp_path / "ran"
    run = tmp_path / "run"
    run.mkdir()
    torch.save({"epoch": _Payload(marker)}, run / "checkpoint.pt")
    with pytest.raises(HDXError, match="not plain tensors"):
        RunDir(run, resume=True).load_checkpoint()
    assert not marker.exists()


def test_checkpoint_with_unexpected_keys_is_one_line(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    torch.save({"bar": torch.zeros(1), "foo": 1}, run / "checkpoint.pt")
    with pytest.raises(HDXError, match="unexpected or missing keys: bar, epoch"):
        RunDir(run, resume=True).load_checkpoint(keys={"foo", "epoch"})
    (run / "checkpoint.pt").write_bytes(b"garbage")
    with pytest.raises(HDXError, match="corrupt or unreadable"):
        RunDir(run, resume=True).load_checkpoint()


def test_search_checkpoint_loads_weights_only(tmp_path, tiny_config):
    """A real search checkpoint holds only what weights_only accepts (the state a resume needs)."""
    from hdx.search.config import load_search_config
    from hdx.search.loop import CHECKPOINT_KEYS, run_search

    cfg = load_search_config(str(tiny_config(tmp_path, epochs=2, eval_images=0, recheck_rounds=0)))
    run_search(cfg, tmp_path / "run")
    st = load_torch(tmp_path / "run" / "checkpoint.pt")
    assert set(st) == CHECKPOINT_KEYS and st["epoch"] == 2
    json.loads((tmp_path / "run" / "final.json").read_text(), parse_constant=_no_constants)


def _no_constants(c: str):
    raise AssertionError(f"non-strict JSON constant {c}")


# ----- (3) finite numbers -----------------------------------------------------------------------------------
@pytest.mark.parametrize("field,value,msg", [
    ("clock_mhz", float("inf"), "finite"), ("clock_mhz", 0.0, "greater than or equal to 1"),
    ("clock_mhz", 2e4, "less than or equal to 10000"), ("dram_bytes_per_cycle", 1e-320, "0.001"),
    ("glb_words_per_cycle", float("nan"), "finite"), ("word_bits", 1000, "64"),
    ("rs_spads", [0, 12, 16], "proportions > 0"), ("rs_spads", [192, float("inf"), 16], "finite"),
    ("rs_spads", [192, 12], "Field required"), ("operand_latch", "sometimes", "boolean"),
    ("operand_latch", 2, "boolean"),
])
def test_hardware_fields_are_finite_and_physical(tmp_path, field, value, msg):
    p = tmp_path / "g.yaml"
    p.write_text(yaml.safe_dump({"name": "g", "knobs": {"pe_x": [8], "pe_y": [8], "rf_bytes": [16],
                                                        "dataflow": ["ws"]}, "hardware": {field: value}}))
    with pytest.raises(ConfigError, match=rf"hardware\.{field}(\.\d)?: .*{msg}"):
        load_config(AcceleratorSpaceConfig, p, "accelerator")


def test_tech_values_are_finite_and_bounded():
    base = load_tech().model_dump()
    for bad in ({"dram_pj_per_64bit": float("inf")}, {"noc_registers_per_pe": float("nan")},
                {"mac": [{"bits": 16, "energy_pj": 1e300, "area_um2": 1}]}):
        with pytest.raises(ValueError):
            TechTable.model_validate({**base, **bad})


def _costs(n_layers: int, n_accels: int, bad: tuple[str, int, int] | None) -> LayerCosts:
    z = np.ones((n_layers, n_accels))
    e = {p: z.copy() for p in ENERGY_PARTS}
    lat = z.copy()
    if bad:
        what, li, ai = bad
        (lat if what == "latency" else e[what])[li, ai] = np.inf if what != "dram" else np.nan
    area = {p: np.ones(n_accels) for p in ("pe", "rf", "glb", "noc")}
    return LayerCosts(lat, z, z, e, area, z, np.ones(n_layers), 200.0)


def test_check_finite_names_the_first_bad_layer_and_accelerator():
    layers = LayerTable([Layer("pointwise", c=8, k=8, h=4, w=4, name="a"),
                         Layer("fc", c=8, k=10, name="head")])
    accels = AccelTable.from_accels([Accelerator(8, 8, 16, "ws"), Accelerator(16, 16, 64, "rs")])
    check_finite(_costs(2, 2, None), layers, accels)
    with pytest.raises(HDXError, match=r"latency inf for layer 'head' on accelerator 16x16,rf=64,df=rs"):
        check_finite(_costs(2, 2, ("latency", 1, 1)), layers, accels, model="m")
    with pytest.raises(HDXError, match=r"dram energy nan for layer 'a' on accelerator 8x8"):
        check_finite(_costs(2, 2, ("dram", 0, 0)), layers, accels)


def test_non_finite_cost_from_a_legal_tech_table_is_an_error_not_a_result(tmp_path, capsys):
    tech = load_tech().model_dump(mode="json")
    tech["sram"] = [{"bytes": 1.0, "energy_pj": 1e-6, "area_um2": 1.0},
                    {"bytes": 1.001, "energy_pj": 1e6, "area_um2": 1e12}]  # extrapolates to inf
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(tech))
    grid = {"name": "g", "knobs": {"pe_x": [16], "pe_y": [16], "rf_bytes": [16], "dataflow": ["ws"],
                                   "glb_kib": [1 << 20]}, "hardware": {"tech": str(tmp_path / "t.yaml")}}
    (tmp_path / "g.yaml").write_text(yaml.safe_dump(grid))
    rc = main(["cost", "--arch", ARCH, "--accel-space", str(tmp_path / "g.yaml"), "--json"])
    assert rc == 2
    assert "for layer 'stem' on accelerator 16x16" in _one_line(capsys)
    assert "nan" not in capsys.readouterr().out.lower()


def test_strict_json_everywhere(tmp_path):
    with pytest.raises(HDXError, match=r"non-finite number into the x.json \(at b.c\)"):
        atomic_write_json(tmp_path / "x.json", {"a": 1, "b": {"c": float("nan")}})
    assert not (tmp_path / "x.json").exists()
    run = RunDir(tmp_path / "run")
    with pytest.raises(HDXError, match="metrics.jsonl"):
        run.log({"loss": float("inf")})


def test_search_that_diverges_stops_with_one_line_and_keeps_its_checkpoint(tmp_path, capsys, tiny_config):
    conf = tiny_config(tmp_path, epochs=2, warmup_epochs=1, supernet_mode="gumbel", tau0=1e-300)
    rc = main(["search", "--config", str(conf), "--out", str(tmp_path / "run")])
    assert rc == 2
    line = _one_line(capsys)
    assert "search diverged at epoch 2" in line and "not finite" in line and "checkpoint is kept" in line
    assert (tmp_path / "run" / "checkpoint.pt").is_file() and not (tmp_path / "run" / "final.json").exists()
    for ln in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines():
        json.loads(ln, parse_constant=_no_constants)


# ----- (4) overflow -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,msg", [
    ("16x16,rf=99999999999999999999,df=ws", "rf_bytes .* 1..1048576"),
    ("16x16,rf=16,df=ws,glb=10000000000000000", "glb_kib .* 1..1048576"),
    ("4294967296x4294967296,rf=16,df=ws", "pe_x' must be in 1..4096"),
    ("16x" + "9" * 5000 + ",rf=16,df=ws", "too long"),
])
def test_accelerator_text_overflow_is_one_line(text, msg, capsys):
    with pytest.raises(HDXError, match=msg):
        Accelerator.parse(text)
    assert main(["cost", "--arch", ARCH, "--accel", text]) == 2
    _one_line(capsys)


def test_space_sizes_are_bounded_and_macs_never_wrap(tiny_space):
    with pytest.raises(ValueError, match="less than or equal to 16384"):
        NetworkSpaceConfig.model_validate({**tiny_space, "stages": [{"channels": 4_000_000_000, "depth": 2}]})
    with pytest.raises(HDXError, match="MACs, more than"):
        Layer("conv", c=16384, k=16384, h=2048, w=2048, r=15, s=15, padding=7)
    assert Layer("pointwise", c=1 << 14, k=1 << 14, h=64, w=64).macs > 0


# ----- (5) evaluator metadata and datasets ------------------------------------------------------------------
def _doctored_evaluator(tmp_path: Path, edit) -> Path:
    from safetensors import safe_open
    from safetensors.torch import save

    from hdx.evaluator import default_evaluator_path

    src = default_evaluator_path("dance_cifar10", "eyeriss_like", "edap")
    if not src.is_file():
        pytest.skip("no shipped evaluator")
    with safe_open(str(src), framework="pt") as f:
        meta = json.loads(f.metadata()["hdx_meta"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    edit(meta)
    out = tmp_path / "ev.safetensors"
    out.write_bytes(save(tensors, metadata={"hdx_meta": json.dumps(meta)}))
    return out


@pytest.mark.parametrize("edit,msg", [
    (lambda m: m.pop("model_fingerprint"), "model_fingerprint: Field required"),
    (lambda m: m["config"]["generator"].update(width=10_000_000), "config.generator.width: .*4096"),
    (lambda m: m["config"].update(tau=float("nan")), "config.tau: .*finite"),
])
def test_evaluator_metadata_is_validated_before_use(tmp_path, edit, msg):
    from hdx.evaluator.learned import LearnedEvaluator

    with pytest.raises(HDXError, match=msg):
        LearnedEvaluator.read_meta(_doctored_evaluator(tmp_path, edit))


def test_npz_with_a_lying_header_never_allocates(tmp_path):
    import io

    p = tmp_path / "d.npz"
    npy = io.BytesIO()
    np.lib.format.write_array_header_1_0(npy, {"descr": "<f8", "fortran_order": False, "shape": (10**13,)})
    npy.write(b"\0" * 32)  # 80 TB declared, 32 bytes present
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("arch_probs.npy", npy.getvalue())
    with pytest.raises(HDXError, match="cannot hold"):
        load_npz(p, max_bytes=1 << 20)
    from hdx.evaluator.data import EvalDataset

    with pytest.raises(DataError):
        EvalDataset.load(p)


# ----- (6) run directories ----------------------------------------------------------------------------------
def test_run_directory_rule(tmp_path):
    d = tmp_path / "r"
    assert run_state(d) == "new"
    with pytest.raises(HDXError, match="nothing to resume"):
        check_out_dir(d, resume=True)
    d.mkdir()
    (d / "config.yaml").write_text("x: 1\n")
    (d / "metrics.jsonl").write_text('{"epoch": 0}\n')
    assert run_state(d) == "started" and not d.joinpath("checkpoint.pt").exists()
    assert RunDir(d, resume=True).restartable  # --resume restarts a run with no checkpoint
    RunDir(d)  # a plain start restarts it in place: stale metrics cleared
    assert not (d / "metrics.jsonl").exists()
    torch.save({}, d / "checkpoint.pt")
    assert run_state(d) == "resumable"
    with pytest.raises(HDXError, match="already holds a run; pass --resume"):
        RunDir(d)
    (d / "final.json").write_text("{}")
    with pytest.raises(HDXError, match=r"already holds a run \(finished\)"):
        check_out_dir(d)
    assert not any(p.name.startswith(".hdx-probe") for p in d.iterdir())


def test_search_killed_before_first_checkpoint_restarts_in_place(tmp_path, capsys, tiny_config):
    conf = tiny_config(tmp_path, epochs=2, eval_images=0, recheck_rounds=0)
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text(conf.read_text())
    (run / "metrics.jsonl").write_text('{"phase": "epoch", "epoch": 0}\n{"phase": "se')
    assert main(["search", "--out", str(run), "--resume"]) == 0
    assert (run / "final.json").is_file()
    recs = [json.loads(ln) for ln in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in recs if r["phase"] == "epoch"] == [0, 1]  # the stale line was dropped


@pytest.mark.parametrize("case", ["under_a_file", "probe_fails"])
def test_output_folder_problems_before_any_work(tmp_path, capsys, monkeypatch, case):
    if case == "under_a_file":
        (tmp_path / "f").write_text("x")
        out = tmp_path / "f" / "run"
    else:
        out = tmp_path / "run"

        def full(*a, **k):
            raise OSError(28, "No space left on device")
        monkeypatch.setattr("hdx.report.rundir.os.fsync", full)
    called = []
    monkeypatch.setattr("hdx.search.loop.prepare", lambda cfg: called.append(1))
    assert main(["search", "--out", str(out)]) == 2
    line = _one_line(capsys)
    assert str(out.parent) in line and not called and not out.exists()
    if case == "probe_fails":
        assert "No space left on device; free some disk space" in line


def test_full_disk_while_writing_is_one_line_naming_the_path(tmp_path, monkeypatch):
    def full(*a, **k):
        raise OSError(28, "No space left on device")
    run = RunDir(tmp_path / "run")
    monkeypatch.setattr("hdx.safeio.os.fsync", full)
    with pytest.raises(HDXError, match=r"cannot write .*checkpoint.pt: No space left on device"):
        run.save_checkpoint({"epoch": 1})
    assert not [p for p in (tmp_path / "run").iterdir() if p.name.endswith(".tmp")]


def test_ctrl_c_says_how_to_resume(tmp_path, capsys, monkeypatch):
    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr("hdx.search.loop.run_search", interrupted)
    out = tmp_path / "run"
    assert main(["search", "--out", str(out)]) == 130
    line = _one_line(capsys)
    assert line.startswith("interrupted: resume with `hdx search --out") and "--resume`" in line


def test_model_safetensors_is_written_atomically(tmp_path):
    from hdx.train import load_train_config, train

    fake = write_fake_cifar10(tmp_path / "c", per_batch=16, test=16)
    cfg = load_train_config("default", {"arch": ARCH, "data": str(fake), "epochs": 1, "batch_size": 32,
                                        "width_mult": 0.25, "device": "cpu"})
    calls = []
    import hdx.train.trainer as tr

    orig = tr.atomic_write_bytes
    monkey = lambda p, b: (calls.append(Path(p).name), orig(p, b))  # noqa: E731
    tr.atomic_write_bytes = monkey
    try:
        train(cfg, tmp_path / "run", progress=False, log=lambda s: None)
    finally:
        tr.atomic_write_bytes = orig
    assert calls == ["model.safetensors"]
    assert load_torch(tmp_path / "run" / "checkpoint.pt")["epoch"] == 0


# ----- (4)/(8) config files and options ---------------------------------------------------------------------
@pytest.mark.parametrize("content,msg", [
    (b"\x00\x01\xff" * 10, "is binary"), ("caf\xe9: 1".encode("latin-1"), "not UTF-8"),
    (b"# x\n" * 100_000, "larger than"), (b"a: &a [1]\nb: *a\n", "aliases"),
    (b"a: " + b"[" * 50_000 + b"]" * 50_000, "nested too deeply|malformed YAML"),
    (b"!!python/object/apply:os.system ['true']", "malformed YAML"),
])
def test_config_files_are_text_bounded_and_safe(tmp_path, content, msg):
    p = tmp_path / "c.yaml"
    p.write_bytes(content)
    with pytest.raises(ConfigError, match=msg):
        read_yaml(p)


def test_read_text_caps_size(tmp_path):
    p = tmp_path / "x"
    p.write_text("a" * 100)
    assert read_text(p, max_bytes=100) == "a" * 100
    with pytest.raises(HDXError, match="larger than"):
        read_text(p, max_bytes=99)


@pytest.mark.parametrize("args,needle", [
    (["--seed", "-1"], "seed"), (["--seed", str(2**70)], "seed"), (["--threads", "0"], "threads"),
    (["--threads", "5000"], "threads"), (["--subset", str(10**15)], "subset"),
    (["--width-mult", "nan"], "finite"),
    (["--epochs", str(10**30)], "epochs"),
])
def test_search_options_validated_at_the_boundary(args, needle, tmp_path, capsys):
    assert main(["search", *args, "--out", str(tmp_path / "run")]) == 2
    assert needle in _one_line(capsys)
    assert not (tmp_path / "run").exists()


def test_cost_budget_units_are_case_insensitive(capsys):
    assert main(["cost", "--arch", ARCH, "--budget", "energy<=0.8mJ", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["best"]["budgets"] == ["energy<=0.8mJ"] and out["best"]["energy_mj"] <= 0.8


def test_hardware_params_document_their_ranges():
    for name, f in HardwareParams.model_fields.items():
        if f.annotation in (int, float):
            assert ".." in (f.description or ""), name


# ----- (7) thread policy ------------------------------------------------------------------------------------
@pytest.mark.parametrize("cores,load,want", [(2, 0.0, 2), (2, 0.4, 2), (2, 0.6, 1), (2, 2.5, 1),
                                             (16, 0.0, 16), (16, 12.3, 4), (1, 3.0, 1)])
def test_default_threads_policy(monkeypatch, cores, load, want):
    from hdx import runtime

    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda _: set(range(cores)))
    monkeypatch.setattr(runtime.os, "getloadavg", lambda: (load, load, load))
    assert runtime.default_threads() == want
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    n = torch.get_num_threads()
    try:
        assert runtime.apply_threads(None) == 3 and runtime.apply_threads(2) == 2
    finally:
        torch.set_num_threads(n)


def test_a_stall_drops_to_one_thread_unless_threads_were_given():
    from hdx.runtime import StepTimer, degrade_on_stall

    t = StepTimer()
    t.recent = [0.4] * 10
    t.last = 0.5
    said: list[str] = []
    n = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert not degrade_on_stall(t, False, said.append) and "STALL" not in t.text()
        t.recent.append(9.0)
        t.last = 9.0
        assert t.text() == "9.00s/step (median 0.40) STALL"
        assert not degrade_on_stall(t, True, said.append) and torch.get_num_threads() == 2
        assert degrade_on_stall(t, False, said.append) and torch.get_num_threads() == 1
        assert len(said) == 1 and "continuing with 1 thread" in said[0]
    finally:
        torch.set_num_threads(n)


# ----- (issue 19) cost tables: the header is validated before any field or array is used ----------------
TABLE_SPACE = {"name": "tiny", "resolution": 16, "num_classes": 10, "stem": {"channels": 8},
               "first_block": {"channels": 8, "expansion": 1},
               "stages": [{"channels": 16, "depth": 2, "stride": 1},
                          {"channels": 24, "depth": 2, "stride": 2}],
               "head": {"channels": 32}, "candidate_ops": ["mb3e3", "zero"]}
TABLE_GRID = {"name": "two", "knobs": {"pe_x": [8], "pe_y": [8, 16], "rf_bytes": [32], "dataflow": ["rs"],
                                       "glb_kib": [128]}}


@pytest.fixture(scope="module")
def table_files(tmp_path_factory):
    """A real (analytical) cost table of a tiny space on a 2-accelerator grid, and its arrays."""
    from hdx.cost.tabulate import tabulate

    d = tmp_path_factory.mktemp("table")
    (d / "s.yaml").write_text(yaml.safe_dump(TABLE_SPACE))
    (d / "g.yaml").write_text(yaml.safe_dump(TABLE_GRID))
    tabulate(space=str(d / "s.yaml"), accel_space=str(d / "g.yaml"), backend="analytical", out=d / "t.npz",
             use_ray=False, log=lambda s: None)
    with np.load(d / "t.npz") as z:
        arrays = {k: z[k] for k in z.files}
    return d, arrays


def _table_with(d: Path, arrays: dict, header=None) -> Path:
    out = dict(arrays)
    if header is not None:
        raw = header if isinstance(header, bytes) else (header if isinstance(header, str)
                                                        else json.dumps(header)).encode()
        out["meta"] = np.frombuffer(raw, dtype=np.uint8)
    p = d / "doctored.npz"
    np.savez(p, **out)
    return p


def _header(arrays: dict) -> dict:
    return json.loads(arrays["meta"].tobytes().decode())


def _edit(path: str, value=None, drop: bool = False):
    def f(m: dict) -> None:
        *parents, last = path.split(".")
        for k in parents:
            m = m[int(k)] if isinstance(m, list) else m[k]
        m.pop(last) if drop else m.__setitem__(last, value)
    return f


@pytest.mark.parametrize("edit,msg", [
    (_edit("hardware", drop=True), "hardware: Field required"),  # was KeyError: 'hardware'
    (_edit("layers.0.c", "twelve"), "layers.0.c: Input should be a valid integer"),  # was int('twelve')
    (_edit("layers.0.k", 8.0), "layers.0.k: Input should be a valid integer"),
    (_edit("layers.0.h", 2**70), "layers.0: layer .* field 'h' must be in"),
    (_edit("layers.0.kind", "$x$"), "unknown kind"),
    (_edit("layers.0.macs", 1), "macs do not follow from its geometry"),
    (_edit("exec", "rm -rf /"), "exec: Extra inputs are not permitted"),
    (_edit("layers", {"0": 1}), "layers: Input should be a valid list"),
    (_edit("accels", []), "accels: List should have at least 1 item"),
    (_edit("clock_mhz", 400.0), "clock_mhz 400 differs from hardware.clock_mhz 200"),
    (_edit("hardware.clock_mhz", -1), "hardware.clock_mhz"),
    (lambda m: m["accels"].append(m["accels"][0]), "listed twice"),
])
def test_table_header_is_validated_before_use(table_files, edit, msg):
    from hdx.cost.tabulated import TabulatedModel

    d, arrays = table_files
    header = _header(arrays)
    edit(header)
    with pytest.raises(HDXError, match=msg):
        TabulatedModel(_table_with(d, arrays, header), HardwareParams())


@pytest.mark.parametrize("raw,msg", [
    ('{"format": ', "not valid JSON"), (b"\xff\xfe{}", "unreadable header"),
    ("[" * 100_000 + "]" * 100_000, "not valid JSON"), ("[1, 2]", "not an HDX cost table"),
])
def test_table_header_that_is_not_a_header(table_files, raw, msg):
    from hdx.cost.tabulated import TabulatedModel

    d, arrays = table_files
    with pytest.raises(HDXError, match=msg):
        TabulatedModel(_table_with(d, arrays, raw), HardwareParams())
    text = json.dumps(_header(arrays)).replace('"clock_mhz": 200.0', '"clock_mhz": 1e999')
    with pytest.raises(HDXError, match="overflows a float"):
        TabulatedModel(_table_with(d, arrays, text), HardwareParams())


def test_table_arrays_are_checked_against_the_header_before_reading(table_files, capsys):
    from hdx.cost.tabulated import MAX_HEADER_BYTES, TabulatedModel

    d, arrays = table_files
    n_l, n_a = arrays["latency_cycles"].shape
    assert TabulatedModel(_table_with(d, arrays), HardwareParams()).evaluate  # the intact table loads
    cases = [({k: v for k, v in arrays.items() if k != "latency_cycles"}, "lacks array 'latency_cycles'"),
             ({**arrays, "latency_cycles": arrays["latency_cycles"][:, :1]}, rf"is \[{n_l}, 1\] float64"),
             ({**arrays, "energy_mac_pj": arrays["energy_mac_pj"].astype(np.int8)}, "int8"),
             ({**arrays, "meta": arrays["meta"].astype(np.float64)}, "its header is"),
             ({**arrays, "meta": np.zeros(MAX_HEADER_BYTES + 1, np.uint8)}, "at most 8 MiB")]
    for a, msg in cases:
        with pytest.raises(HDXError, match=msg):
            TabulatedModel(_table_with(d, a), HardwareParams())
    # through the CLI: one line, exit 2
    bad = _header(arrays)
    bad.pop("hardware")
    p = _table_with(d, arrays, bad)
    capsys.readouterr()
    assert main(["cost", "--arch", "mb3e3,mb3e3,mb3e3,mb3e3", "--space", str(d / "s.yaml"), "--accel-space",
                 str(d / "g.yaml"), "--backend", str(p)]) == 2
    assert "hardware: Field required" in _one_line(capsys)


def test_npz_members_are_read_from_headers_only(tmp_path):
    from hdx.safeio import npz_members

    p = tmp_path / "a.npz"
    np.savez(p, a=np.zeros((3, 4)), b=np.arange(5, dtype=np.int8))
    assert npz_members(p, max_bytes=1 << 20) == {"a": ((3, 4), np.dtype("float64")),
                                                  "b": ((5,), np.dtype("int8"))}
    assert set(load_npz(p, max_bytes=1 << 20, only=("b",))) == {"b"}


def test_reads_never_preallocate_their_cap(tmp_path):
    """read_bytes with a cap far above memory (1 TiB) reads a small file (it once asked for cap + 1)."""
    from hdx.safeio import read_bytes

    p = tmp_path / "x"
    p.write_bytes(b"abc")
    assert read_bytes(p, max_bytes=1 << 40) == b"abc"
    p.write_bytes(b"x" * 100)
    with pytest.raises(HDXError, match="larger than"):
        read_bytes(p, max_bytes=99)


def test_strict_json_refuses_numbers_that_overflow():
    from hdx.safeio import loads_json

    assert loads_json('{"a": 1e308}') == {"a": 1e308}
    for text in ('{"a": 1e999}', '[-1e400]', '{"a": NaN}', '{"a": Infinity}'):
        with pytest.raises(HDXError, match="not valid JSON"):
            loads_json(text)


def test_compressed_checkpoint_is_refused_before_torch_inflates_it(tmp_path):
    """torch.load inflates a deflated zip member to its declared size (a 64 KB file -> 64 MB, 1000x);
    torch.save never compresses, so a compressed member is refused first."""
    p = tmp_path / "c.pt"
    torch.save({"net": {"w": torch.zeros((16 << 20) // 4)}}, p)
    with zipfile.ZipFile(p) as z:
        members = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    packed = tmp_path / "packed.pt"
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            z.writestr(name, data)
    assert packed.stat().st_size < p.stat().st_size // 50
    assert torch.load(packed, weights_only=True)["net"]["w"].numel() == (16 << 20) // 4  # torch would
    with pytest.raises(HDXError, match="compressed member"):
        load_torch(packed)
    assert load_torch(p)["net"]["w"].numel() == (16 << 20) // 4  # torch.save's own files still load


@pytest.mark.parametrize("raw", [b"cbuiltins\nbytearray\n(J\x00\x00\x00@tR.",  # bytearray(2**30): 30 bytes
                                 b"cbuiltins\nbytes\n(J\x00\x00\x00@tR.",
                                 b"cnumpy\nndarray\n((J\x00\x00\x00@ttR.",
                                 b"cnumpy.core.multiarray\n_reconstruct\n(cnumpy\nndarray\n(J\x00\x00\x00@tC\x01btR."])
def test_pickle_cannot_ask_for_gigabytes_with_a_number(tmp_path, raw):
    import tracemalloc

    from hdx.safeio import restricted_pickle_load

    tracemalloc.start()
    with pytest.raises(pickle.UnpicklingError, match="1,073,741,824 elements"):
        restricted_pickle_load(raw, source="t")
    assert tracemalloc.get_traced_memory()[1] < 1 << 20
    tracemalloc.stop()
    (tmp_path / "c").mkdir()
    write_fake_cifar10(tmp_path / "c", per_batch=8, test=8)
    (tmp_path / "c" / "data_batch_1").write_bytes(raw)
    with pytest.raises(DataError, match="corrupt"):
        read_batch(tmp_path / "c" / "data_batch_1")


def test_npz_zip_bomb_is_refused_from_the_zip_directory(tmp_path):
    """A compressed member that inflates 1000x (zeros) is refused before numpy inflates it, even under
    the caller's size cap; ordinary compressed data still loads."""
    p = tmp_path / "bomb.npz"
    np.savez_compressed(p, a=np.zeros(32 << 20, np.uint8))  # 32 MiB of zeros in ~32 KB
    assert p.stat().st_size < 100_000
    with pytest.raises(HDXError, match="zip bomb"):
        load_npz(p, max_bytes=1 << 30)
    ok = tmp_path / "ok.npz"
    np.savez_compressed(ok, a=np.random.default_rng(0).normal(size=1 << 16))
    assert load_npz(ok, max_bytes=1 << 30)["a"].shape == (1 << 16,)
