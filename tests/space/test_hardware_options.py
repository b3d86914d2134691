"""The GLB buffering and ports as hardware parameters of an accelerator space (``hardware:`` in its YAML):
every path that builds the cost model from the space's hardware uses them, a file without them
serialises (and so fingerprints) exactly as before, and a bad value is a one-line error."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from hdx.cli.main import main
from hdx.config import config_hash
from hdx.cost import get_cost_model
from hdx.cost.analytical import AnalyticalModel
from hdx.errors import HDXError
from hdx.space.accelerator import Accelerator, AcceleratorSpace, AccelTable, HardwareParams
from hdx.space.network import NetworkSpace
from hdx.workload import LayerTable

ARCH = "mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3"
DEFAULT_FINGERPRINT = "f2ce1b49d6e2"  # eyeriss_like's numbers at the defaults: unchanged by these fields
GRID_FINGERPRINT = "15d8604d5134"  # eyeriss_like's own (glb_buffering: zigzag)


def _space_yaml(tmp_path, **hardware) -> str:
    cfg = AcceleratorSpace.load().config.model_dump(mode="json")
    cfg["name"] = "eyeriss_options"
    cfg["hardware"].update(hardware)
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def test_defaults_serialise_and_fingerprint_as_before():
    hw = HardwareParams()
    assert not {"glb_buffering", "glb_port", "psum_port", "glb_reuse"} & set(hw.model_dump())
    grid = AcceleratorSpace.load().hardware
    assert grid.glb_buffering == "zigzag" and grid.model_dump()["glb_buffering"] == "zigzag"
    at_defaults = grid.model_copy(update={"glb_buffering": "double"})
    assert "glb_buffering" not in at_defaults.model_dump()
    assert AnalyticalModel(at_defaults).fingerprint()[:12] == DEFAULT_FINGERPRINT
    assert AnalyticalModel(grid).fingerprint()[:12] == GRID_FINGERPRINT
    given = HardwareParams(glb_buffering="zigzag", glb_port="step")
    assert given.model_dump()["glb_buffering"] == "zigzag" and given.model_dump()["glb_port"] == "step"
    assert "psum_port" not in given.model_dump()


@pytest.mark.parametrize("options", [{"glb_buffering": "double"}, {"glb_port": "step", "psum_port": "free"},
                                     {"glb_reuse": "tile"}])
def test_a_space_with_options_costs_as_the_model_given_them(tmp_path, options):
    space = AcceleratorSpace.load(_space_yaml(tmp_path, **options))
    assert config_hash(space.config) != config_hash(AcceleratorSpace.load().config)
    model = get_cost_model("analytical", space.hardware)
    for k, v in options.items():
        assert getattr(model, k) == v
    ref = AnalyticalModel(AcceleratorSpace.load().hardware, **options)
    assert model.fingerprint() == ref.fingerprint() and model.label == ref.label
    layers = LayerTable(NetworkSpace.load().layers(ARCH))
    accels = AccelTable.from_accels([Accelerator(16, 16, 64, df, glb_kib=32) for df in ("ws", "os", "rs")])
    a, b = model.evaluate(layers, accels), ref.evaluate(layers, accels)
    assert np.array_equal(a.latency_cycles, b.latency_cycles)
    assert np.array_equal(a.energy_total_pj, b.energy_total_pj)
    # ... and they are not the default's (else the option would not reach the model)
    assert not np.array_equal(a.latency_cycles, AnalyticalModel(AcceleratorSpace.load().hardware)
                              .evaluate(layers, accels).latency_cycles)


def test_a_given_option_overrides_the_hardware():
    hw = HardwareParams(glb_buffering="zigzag")
    assert AnalyticalModel(hw).glb_buffering == "zigzag"
    assert AnalyticalModel(hw, glb_buffering="double").glb_buffering == "double"


def test_hdx_cost_reports_the_options(tmp_path, capsys):
    path = _space_yaml(tmp_path, glb_buffering="zigzag")
    rc = main(["cost", "--arch", ARCH, "--accel", "16x16,rf=64,df=rs,glb=32", "--accel-space", path,
               "--json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert json.loads(out.out)["model"] == "analytical (glb_buffering=zigzag)"


def test_a_bad_option_is_a_one_line_error(tmp_path, capsys):
    path = _space_yaml(tmp_path, glb_buffering="triple")
    with pytest.raises(HDXError, match="glb_buffering"):
        AcceleratorSpace.load(path)
    rc = main(["cost", "--arch", ARCH, "--accel", "16x16,rf=64,df=rs", "--accel-space", path])
    err = capsys.readouterr().err
    assert rc == 2 and "glb_buffering" in err and err.strip().count("\n") == 0


def test_tile_reuse_with_a_stalling_buffering_is_a_one_line_error(tmp_path, capsys):
    path = _space_yaml(tmp_path, glb_buffering="mixed", glb_reuse="tile")
    with pytest.raises(HDXError, match="glb_reuse"):
        AcceleratorSpace.load(path)
    rc = main(["cost", "--arch", ARCH, "--accel", "16x16,rf=64,df=rs", "--accel-space", path])
    err = capsys.readouterr().err
    assert rc == 2 and "glb_reuse" in err and err.strip().count("\n") == 0
