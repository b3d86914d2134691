"""``hdx export``: ONNX of the derived network (onnx.checker, onnxruntime parity with PyTorch), the
accelerator as ZigZag YAML (ZigZag's validator; its evaluation from the file equals ``hdx cost
--backend zigzag``), Timeloop v4 / Accelergy YAML (structure and loop bounds), the layer list (JSON),
and one-line errors for a missing extra or nothing to export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from hdx.cli.main import main


@pytest.fixture(scope="module")
def run(tiny_run, tmp_path_factory) -> Path:
    return tiny_run(tmp_path_factory.mktemp("runs"), "hdx")


def _final(run: Path) -> dict:
    return json.loads((run / "final.json").read_text())


def test_onnx_checker_and_onnxruntime_parity(run, tmp_path, capsys):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    import torch

    from hdx.export.network import build_network
    from hdx.report.load import load_run

    out = tmp_path / "net.onnx"
    capsys.readouterr()
    assert main(["export", str(run), "--onnx", str(out)]) == 0
    assert "max abs diff" in capsys.readouterr().out
    onnx.checker.check_model(onnx.load(str(out)), full_check=True)
    net = build_network(load_run(run))
    x = torch.randn(16, 3, 16, 16, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        ref = net(x).numpy()
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"image": x.numpy()})[0]
    assert got.shape == (16, 10)
    assert np.max(np.abs(ref - got)) <= 1e-4
    # the network really is the run's: its convs are the run's layers at the searched width
    convs = [n for n in onnx.load(str(out)).graph.node if n.op_type == "Conv"]
    assert len(convs) == sum(1 for m in net.modules() if isinstance(m, torch.nn.Conv2d))


def test_onnx_with_trained_weights(run, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    import torch
    from safetensors.torch import save_file

    from hdx.export import export_run
    from hdx.model.network import Network
    from hdx.space.network import NetworkSpace

    space = NetworkSpace.load(str(run.parent / "tiny_space.yaml"))
    net = Network(space, _final(run)["arch"], 0.5)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.01)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp_path / "model.safetensors"))
    res = export_run(run, onnx=tmp_path / "t.onnx", weights=tmp_path / "model.safetensors")
    assert res.onnx_max_abs_diff is not None and res.onnx_max_abs_diff <= 1e-4
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    from hdx.errors import HDXError

    with pytest.raises(HDXError, match="safetensors"):
        export_run(run, onnx=tmp_path / "u.onnx", weights=tmp_path / "bad.safetensors")


@pytest.mark.zigzag
def test_zigzag_yaml_validates_and_equals_backend(run, tmp_path, capsys, monkeypatch):
    pytest.importorskip("zigzag")
    from zigzag.parser.accelerator_validator import AcceleratorValidator

    from hdx.cost.zigzag import adapter

    out = tmp_path / "accel.yaml"
    assert main(["export", str(run), "--zigzag", str(out)]) == 0
    data = yaml.safe_load(out.read_text())
    assert AcceleratorValidator(data).validate()
    work = yaml.safe_load((tmp_path / "accel.workload.yaml").read_text())
    maps = yaml.safe_load((tmp_path / "accel.mapping.yaml").read_text())
    assert len(maps) == len(work) + 1 and {m["name"] for m in maps} >= {w["name"] for w in work}

    final = _final(run)
    space = str(run.parent / "tiny_space.yaml")
    args = ["cost", "--arch", final["arch"], "--space", space, "--accel", final["accelerator"]["accelerator"],
            "--backend", "zigzag", "--json"]
    capsys.readouterr()
    assert main(args) == 0
    ref = json.loads(capsys.readouterr().out)
    # ZigZag again, now fed the exported file's accelerator instead of the backend's own description
    monkeypatch.setattr(adapter, "accelerator_data", lambda *a, **k: yaml.safe_load(out.read_text()))
    assert main(args) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["total"] == ref["total"] and got["layers"] == ref["layers"]


def test_timeloop_structure(run, tmp_path):
    from hdx.cost.tech import load_tech
    from hdx.export.timeloop import loader
    from hdx.report.load import load_run
    from hdx.space.accelerator import AcceleratorSpace
    from hdx.space.network import NetworkSpace

    assert main(["export", str(run), "--timeloop", str(tmp_path / "tl")]) == 0
    final = _final(run)
    grid = AcceleratorSpace.load()
    acc = grid.parse(final["accelerator"]["accelerator"])
    hw = grid.hardware
    L = loader()
    arch = yaml.load((tmp_path / "tl" / "arch.yaml").read_text(), Loader=L)["architecture"]
    assert arch["version"] == 0.4
    nodes = arch["nodes"]
    # the RF: one node (WS/OS) or RS's three scratchpads (their sizes: test_timeloop_rs_scratchpads)
    rfs = ["ifmap_spad", "weights_spad", "psum_spad"] if acc.dataflow == "rs" else ["rf"]
    assert [n["name"] for n in nodes] == ["system", "DRAM", "glb", "PE", *rfs, "mac"]
    assert [n["_tag"] for n in nodes] == ["!Container", "!Component", "!Component", "!Container",
                                          *["!Component"] * len(rfs), "!Component"]
    assert nodes[3]["spatial"] == {"meshX": acc.pe_x, "meshY": acc.pe_y}
    by = {n["name"]: n for n in nodes}
    assert by["glb"]["attributes"]["depth"] * hw.word_bits == acc.glb_bytes * 8
    assert all(by[c]["attributes"]["datawidth"] == hw.word_bits for c in ("DRAM", "glb", *rfs, "mac"))
    tech = load_tech(hw.tech)
    assert by["DRAM"]["attributes"]["read_energy"] == pytest.approx(tech.dram_energy_pj(hw.word_bits))
    ert = yaml.safe_load((tmp_path / "tl" / "ert.yaml").read_text())["ERT"]
    names = {"system.DRAM", "system.glb", "system.PE.mac", *(f"system.PE.{r}" for r in rfs)}
    assert {t["name"] for t in ert["tables"]} == names
    if acc.dataflow != "rs":
        assert by["rf"]["attributes"]["depth"] * hw.word_bits == acc.rf_bytes * 8
        assert by["rf"]["attributes"]["read_energy"] == pytest.approx(
            float(tech.sram_energy_pj(acc.rf_bytes, hw.word_bits)))
        cons = yaml.safe_load((tmp_path / "tl" / "constraints.yaml").read_text())["constraints"]["targets"]
        keep = {"ws": ["Weights"], "os": ["Outputs"]}[acc.dataflow]
        assert cons[0]["target"] == "rf" and cons[0]["keep"] == keep
        assert sorted(cons[0]["keep"] + cons[0]["bypass"]) == ["Inputs", "Outputs", "Weights"]
    # one problem per layer, whose loop bounds multiply to the layer's MACs (independent of HDX's count)
    space = NetworkSpace.load(load_run(run).config.space)
    layers = space.layers(final["arch"])
    probs = sorted((tmp_path / "tl").glob("problem_*.yaml"))
    assert len(probs) == len(layers)
    for f, ly in zip(probs, layers, strict=True):
        inst = yaml.safe_load(f.read_text())["problem"]["instance"]
        assert np.prod([inst[d] for d in "GCMRSNPQ"]) == ly.macs
        assert inst["Hstride"] == inst["Wstride"] == ly.stride


def test_layers_json(run, tmp_path):
    from hdx.space.network import NetworkSpace

    assert main(["export", str(run), "--layers", str(tmp_path / "l.json")]) == 0
    d = json.loads((tmp_path / "l.json").read_text())
    final = _final(run)
    space = NetworkSpace.load(str(run.parent / "tiny_space.yaml"))
    assert d["arch"] == final["arch"] and d["total_macs"] == space.macs(final["arch"])
    assert [ly["name"] for ly in d["layers"]] == [ly.name for ly in space.layers(final["arch"])]


def test_errors(run, tmp_path, capsys, monkeypatch):
    import sys

    assert main(["export", str(run)]) == 2
    assert "nothing to export" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "onnx", None)  # the optional extra is missing
    assert main(["export", str(run), "--onnx", str(tmp_path / "n.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "hdx[export]" in err
    assert main(["cost", "--onnx", str(tmp_path / "x.onnx"), "--accel", "16x16,rf=16,df=ws"]) == 2
    assert "hdx[export]" in capsys.readouterr().err


def test_timeloop_rs_has_the_cost_models_three_pads():
    # RS on 8x8, rf=64 B (32 words): Eyeriss proportions 192:12:16 -> inputs floor(32*12/220) = 1 word,
    # psums floor(32*16/220) = 2 words, weights 29 words: 2 B, 4 B and 58 B, each keeping one data space
    from hdx.cost.tech import load_tech
    from hdx.export.timeloop import _dump, architecture, constraints, ert, loader
    from hdx.space.accelerator import Accelerator, HardwareParams

    hw, acc = HardwareParams(), Accelerator(8, 8, 64, "rs")
    nodes = yaml.load(_dump(architecture(acc, hw)), Loader=loader())["architecture"]["nodes"]
    assert [n["name"] for n in nodes] == ["system", "DRAM", "glb", "PE", "ifmap_spad", "weights_spad",
                                          "psum_spad", "mac"]
    by = {n["name"]: n.get("attributes", {}) for n in nodes}
    assert [by[p]["size_bytes"] for p in ("ifmap_spad", "weights_spad", "psum_spad")] == [2, 58, 4]
    tech = load_tech(hw.tech)
    assert by["weights_spad"]["read_energy"] == pytest.approx(float(tech.sram_energy_pj(58, 16)))
    targets = {t["target"]: t for t in constraints(acc, hw)["constraints"]["targets"]}
    assert targets["ifmap_spad"]["keep"] == ["Inputs"] and targets["psum_spad"]["keep"] == ["Outputs"]
    assert targets["weights_spad"]["bypass"] == ["Inputs", "Outputs"]
    assert "system.PE.psum_spad" in {t["name"] for t in ert(acc, hw)["ERT"]["tables"]}


@pytest.mark.parametrize("bw", [None, 4.0, 64.0])
def test_exports_carry_the_designs_own_glb_bandwidth(bw):
    """A design's GLB bandwidth (bw=) reaches both exports: the port width and the per-word energy the
    analytical model charges (its GLB at that access width)."""
    from hdx.cost.analytical import AnalyticalModel
    from hdx.cost.tech import load_tech
    from hdx.cost.zigzag.translate import accelerator_data, tech_for
    from hdx.export.timeloop import _dump, architecture, loader
    from hdx.space.accelerator import Accelerator, AccelTable, HardwareParams

    hw = HardwareParams()
    acc = Accelerator(8, 8, 64, "ws", 256, bw)
    want_bw = bw if bw is not None else hw.glb_words_per_cycle
    e_model = float(AnalyticalModel(hw).glb_energy_pj(AccelTable.from_accels([acc]))[0])
    glb = {n["name"]: n.get("attributes", {}) for n in
           yaml.load(_dump(architecture(acc, hw)), Loader=loader())["architecture"]["nodes"]}["glb"]
    assert glb["read_bandwidth"] == want_bw and glb["width"] == int(want_bw * hw.word_bits)
    assert glb["read_energy"] == pytest.approx(e_model)
    zz = tech_for(load_tech(hw.tech), hw, acc)
    assert zz.glb_pj == pytest.approx(e_model)
    ports = accelerator_data(acc, hw, zz)
    assert str(int(want_bw * hw.word_bits)) in str(ports)
