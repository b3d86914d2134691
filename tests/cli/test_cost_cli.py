"""``hdx cost`` end to end through :func:`hdx.cli.main.main` (exit codes, JSON keys, one-line errors)."""

from __future__ import annotations

import json

import pytest

from hdx.cli.main import main

ARCH = "mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3"
KEYS = {"latency_cycles", "latency_ms", "energy_pj", "area_mm2", "macs"}


def run(capsys, *args: str) -> tuple[int, str, str]:
    rc = main(["cost", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_json_single_accelerator(capsys):
    rc, out, err = run(capsys, "--arch", ARCH, "--accel", "16x16,rf=16,df=ws", "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert set(d["total"]) >= KEYS
    assert d["layers"] and all(KEYS | {"name", "kind"} <= set(r) for r in d["layers"])
    assert d["total"]["macs"] == sum(r["macs"] for r in d["layers"])
    assert d["total"]["latency_cycles"] == pytest.approx(sum(r["latency_cycles"] for r in d["layers"]))
    assert d["total"]["energy_pj"] == pytest.approx(sum(r["energy_pj"] for r in d["layers"]))
    assert d["total"]["latency_ms"] == pytest.approx(d["total"]["latency_cycles"] / 200e3)  # 200 MHz
    assert "best" not in d


def test_json_grid(capsys):
    rc, out, err = run(capsys, "--arch", ARCH, "--accel", "grid", "--objective", "latency", "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert d["evaluated"] == 1152 and d["seconds"] > 0
    best = d["best"]
    assert best["accelerator"] == d["accelerator"]
    assert best["latency_ms"] == pytest.approx(d["total"]["latency_ms"])
    # the best by latency is no slower than a named design
    rc, out2, _ = run(capsys, "--arch", ARCH, "--accel", "16x16,rf=16,df=ws", "--json")
    assert best["latency_ms"] <= json.loads(out2)["total"]["latency_ms"]


def test_grid_with_budget_and_table_output(capsys):
    rc, out, err = run(capsys, "--arch", ARCH, "--objective", "energy", "--budget", "area=1.4", "--json")
    assert rc == 0, err
    assert json.loads(out)["best"]["area_mm2"] <= 1.4
    rc, out, err = run(capsys, "--arch", ARCH, "--accel", "12x8,rf=32,df=rs")
    assert rc == 0 and "total" in out and "head.fc" in out


@pytest.mark.parametrize("args, needle", [
    (["--accel", "0x16,rf=16,df=ws"], "pe_x"),
    (["--accel", "16x16,rf=-4,df=ws"], "rf"),
    (["--accel", "16x16,rf=16,df=xs"], "unknown dataflow"),
    (["--accel", "16by16"], "malformed accelerator"),
    (["--accel", "16x16,rf=1,df=rs"], "no tile fits the RF"),
    (["--objective", "speed"], "--objective"),
    (["--backend", "timeloop"], "--backend"),
    (["--budget", "latency=0.001"], "minimum achievable"),
    (["--budget", "latency=abc"], "budget"),
    (["--space", "/nonexistent/space.yaml"], "not found"),
])
def test_bad_input_exit_2_one_line(capsys, args, needle):
    rc, out, err = run(capsys, "--arch", ARCH, *args)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], err
    assert "Traceback" not in err


def test_bad_arch_and_yaml(capsys, tmp_path):
    rc, _, err = run(capsys, "--arch", "mb9x3," + ARCH)
    assert rc == 2 and err.count("\n") == 1 and "error:" in err
    bad = tmp_path / "grid.yaml"
    bad.write_text("name: g\nknobs: {pe_x: [0, 4]\n")
    rc, _, err = run(capsys, "--arch", ARCH, "--accel-space", str(bad))
    assert rc == 2 and "malformed YAML" in err and err.count("\n") == 1
    bad.write_text("name: g\nknobs: {pe_x: [0], pe_y: [4], rf_bytes: [8], dataflow: [ws]}\n")
    rc, _, err = run(capsys, "--arch", ARCH, "--accel-space", str(bad))
    assert rc == 2 and "pe_x" in err and err.count("\n") == 1


def test_zigzag_extra_missing(capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "zigzag", None)
    rc, _, err = run(capsys, "--arch", ARCH, "--accel", "16x16,rf=16,df=ws", "--backend", "zigzag")
    assert rc == 2 and "pip install 'hdx[zigzag]'" in err and err.count("\n") == 1


@pytest.mark.zigzag
def test_zigzag_backend_says_whose_mapping_each_layer_is(capsys):
    pytest.importorskip("zigzag", reason="zigzag-dse not installed (pip install 'hdx[zigzag]')")
    rc, out, err = run(capsys, "--arch", ARCH, "--accel", "16x8,rf=64,df=rs", "--backend", "zigzag", "--json",
                       "--explain")
    assert rc == 0, err
    d = json.loads(out)
    assert d["model"] == "zigzag (best of LOMA and HDX's mapping)"
    assert {r["zigzag_mapping"] for r in d["layers"]} <= {"loma", "hdx"}
    said = {"loma": "ZigZag's LOMA search", "hdx": "HDX's mapping, costed by ZigZag"}
    assert all(r["mapping"] == said[r["zigzag_mapping"]] for r in d["layers"])
    rc, out, err = run(capsys, "--arch", ARCH, "--accel", "16x8,rf=64,df=rs", "--backend", "zigzag")
    n_hdx = sum(r["zigzag_mapping"] == "hdx" for r in d["layers"])
    assert rc == 0 and f"HDX's own ({n_hdx} layers)" in " ".join(out.split())
    # LOMA alone: never faster than the best of both, layer by layer, and equal where LOMA's won
    rc, out, err = run(capsys, "--arch", ARCH, "--accel", "16x8,rf=64,df=rs", "--backend", "zigzag-loma",
                       "--json")
    loma = json.loads(out)
    assert rc == 0 and loma["model"] == "zigzag" and "zigzag_mapping" not in loma["layers"][0]
    for a, b in zip(d["layers"], loma["layers"], strict=True):
        assert a["latency_cycles"] <= b["latency_cycles"]
        if a["zigzag_mapping"] == "loma":
            assert a["latency_cycles"] == b["latency_cycles"]


def test_explain_prints_the_mapping_per_layer(capsys):
    rc, out, err = run(capsys, "--arch", ARCH, "--accel", "12x8,rf=32,df=rs", "--explain", "--json")
    assert rc == 0, err
    d = json.loads(out)
    from hdx.cost.analytical import RS_MODES

    assert all(r["mapping"].split(",")[0] in {f"RS {m}" for m in RS_MODES}
               and "RF:" in r["mapping"] and "GLB loops" in r["mapping"] for r in d["layers"])
    rc, out, err = run(capsys, "--arch", ARCH, "--accel", "16x16,rf=16,df=os", "--explain")
    assert rc == 0, err
    assert "head.conv" in out and "OS " in out and "psum(s)" in out


def test_all_lists_every_design_of_the_grid(capsys):
    rc, out, err = run(capsys, "--arch", ARCH, "--accel", "grid", "--all", "--json")
    assert rc == 0, err
    d = json.loads(out)
    designs = d["designs"]
    assert len(designs) == d["evaluated"] == 1152
    assert len({r["accelerator"] for r in designs}) == 1152
    best = next(r for r in designs if r["accelerator"] == d["best"]["accelerator"])
    # the best design by EDAP is the minimum of latency * energy * area over the listed rows
    edap = [r["latency_ms"] * r["energy_pj"] * r["area_mm2"] for r in designs]
    assert best["latency_ms"] * best["energy_pj"] * best["area_mm2"] == pytest.approx(min(edap))
    rc, out, err = run(capsys, "--arch", ARCH, "--accel", "16x16,rf=16,df=ws", "--all")
    assert rc == 2 and "--all" in err


def test_grid_beyond_one_table_is_searched_exactly(capsys, tmp_path, monkeypatch, big_space_yaml):
    """Beyond one table `--accel grid` is the branch and bound: the design it prints is the best of the
    space, checked here against every design of the space evaluated slice by slice."""
    from hdx.budgets import parse_budget
    from hdx.cost.analytical import AnalyticalModel
    from hdx.cost.hwsearch import enumerate_space
    from hdx.metrics import Objective
    from hdx.space.accelerator import MAX_GRID, AcceleratorSpace
    from hdx.space.network import NetworkSpace
    from hdx.workload import LayerTable

    path = big_space_yaml(tmp_path)  # 215 040 designs
    space = AcceleratorSpace.load(path)
    assert len(space) > MAX_GRID
    rc, out, err = run(capsys, "--arch", ARCH, "--accel-space", path, "--budget", "latency<=3ms", "--json")
    assert rc == 0, err
    d = json.loads(out)
    s = d["best"]["search"]
    assert s["method"] == "branch and bound" and s["designs"] == len(space)
    assert s["pruned_budget"] + s["pruned_bound"] + s["evaluated"] == len(space)
    net = NetworkSpace.load()
    truth = enumerate_space(AnalyticalModel(space.hardware), LayerTable(net.layers(ARCH)), space,
                            Objective("edap"), [parse_budget("latency<=3ms")])
    assert d["best"]["accelerator"] == str(space[truth.index])
    assert d["best"]["latency_ms"] <= 3
    # the table output names the search; a relative budget whose table would fit neither the memory cap
    # nor the most HDX keeps on disk is one line, exit 2
    rc, out, err = run(capsys, "--arch", ARCH, "--accel-space", path, "--budget", "latency<=3ms")
    assert rc == 0 and "by branch and bound" in out
    import hdx.cost.table_build as tb

    monkeypatch.setattr(tb, "TABLE_MEMORY_MB", 64)
    monkeypatch.setattr(tb, "MAX_TABLE_BYTES", 64 << 20)
    rc, out, err = run(capsys, "--arch", ARCH, "--accel-space", path, "--budget", "latency<=p20")
    assert rc == 2 and "relative budgets" in err and "GiB" in err and len(err.strip().splitlines()) == 1


def test_relative_budget_beyond_one_table(capsys, monkeypatch):
    """Beyond one cost-model call (MAX_GRID lowered to 100 here) a relative budget is resolved on the
    sliced table: the same value, and the same best design, as on the one-call table."""
    import hdx.cost.table as ct
    import hdx.space.accelerator as acc

    rc, out, err = run(capsys, "--arch", ARCH, "--budget", "latency<=p20", "--json")
    assert rc == 0, err
    ref = json.loads(out)
    monkeypatch.setattr(acc, "MAX_GRID", 100)
    monkeypatch.setattr(ct, "MAX_GRID", 100)
    rc, out, err = run(capsys, "--arch", ARCH, "--budget", "latency<=p20", "--json")
    assert rc == 0, err
    d = json.loads(out)
    import os
    from pathlib import Path

    assert list((Path(os.environ["HDX_CACHE_DIR"]) / "tables").glob("dance_cifar10_eyeriss_like_*.table"))
    assert d["best"]["budgets"] == ref["best"]["budgets"]  # the resolved value, to the printed digits
    assert d["best"]["accelerator"] == ref["best"]["accelerator"]
    # over the memory budget the table is read from disk, memory-mapped: the same answer
    import hdx.cost.table_build as tb

    monkeypatch.setattr(tb, "TABLE_MEMORY_MB", 0)
    rc, out, err = run(capsys, "--arch", ARCH, "--budget", "latency<=p20", "--json")
    assert rc == 0, err
    def same(b: dict) -> dict:  # all but the search's statistics (its seconds)
        return {k: v for k, v in b.items() if k != "search"}

    assert same(json.loads(out)["best"]) == same(d["best"])


def test_best_design_per_knob_value(capsys):
    """`--by dataflow`: one row per dataflow, each the best design of that dataflow (checked against the
    designs of the grid listed by `--all`), the best row the grid's best; energy parts add up."""
    rc, out, err = run(capsys, "--arch", ARCH, "--by", "dataflow", "--all", "--json")
    assert rc == 0, err
    d = json.loads(out)
    rows = d["by"]
    assert [r["values"] for r in rows] == [{"dataflow": df} for df in ("ws", "os", "rs")]
    assert d["by_search"]["knobs"] == ["dataflow"] and d["by_search"]["designs"] == 1152
    designs = d["designs"]
    for r in rows:
        assert f"df={r['values']['dataflow']}" in r["accelerator"] and r["feasible"]
        mine = [x for x in designs if f"df={r['values']['dataflow']}" in x["accelerator"]]
        edap = min(x["latency_ms"] * x["energy_mj"] * x["area_mm2"] for x in mine)
        assert r["objective_value"] == pytest.approx(edap, rel=1e-6)
        assert sum(r["energy_parts_mj"].values()) == pytest.approx(r["energy_mj"], rel=1e-6)
    assert min(r["objective_value"] for r in rows) == pytest.approx(d["best"]["objective_value"], rel=1e-9)
    rc, out, err = run(capsys, "--arch", ARCH, "--by", "pe_x", "--budget", "latency<=1.6ms")
    assert rc == 0, err
    assert "Best design per pe_x" in out and "none meets the budgets" in out  # 4-wide arrays are too slow


@pytest.mark.parametrize("args, needle", [
    (["--by", "glb"], "unknown knob 'glb' for the table: use one of pe_x"),
    (["--by", "pe_x,pe_x"], "each knob once"),
    (["--by", "glb_kib", "--accel", "16x16,rf=16,df=ws"], "use it with accel='grid'"),
    (["--by", "pad_w"], "knob 'pad_w' is not one of space 'eyeriss_like': its designs have one RF"),
    (["--by", "rf_bytes", "--accel-space", "dse_pads"], "it gives the storage per operand; use pad_w"),
    (["--by", "glb_kib", "--plot", "fig.pdf"], "--plot writes a PNG figure: give a path ending in .png"),
    (["--by", "glb_kib", "--plot", " "], "--plot needs a file path ending in .png"),
])
def test_by_bad_input_is_one_line(capsys, args, needle):
    rc, out, err = run(capsys, "--arch", ARCH, *args)
    assert rc == 2 and needle in err and len(err.strip().splitlines()) == 1, err


def test_plot_never_replaces_what_is_not_a_file(capsys, tmp_path):
    """`--plot` onto a folder (or a device) is refused before the search, and the folder stays."""
    folder = tmp_path / "looks.png"
    folder.mkdir()
    rc, out, err = run(capsys, "--arch", ARCH, "--by", "dataflow", "--plot", str(folder))
    assert rc == 2 and "exists and is not a regular file" in err and folder.is_dir()
    afile = tmp_path / "afile"
    afile.write_text("keep")
    rc, out, err = run(capsys, "--arch", ARCH, "--by", "dataflow", "--plot", str(afile / "x.png"))
    assert rc == 2 and "is a file, not a folder" in err and afile.read_text() == "keep"


def test_by_plot_writes_the_sizing_figure(capsys, tmp_path):
    png = tmp_path / "fig" / "sizing.png"
    rc, out, err = run(capsys, "--arch", ARCH, "--by", "dataflow", "--budget", "latency<=1.6ms", "--plot",
                       str(png))
    assert rc == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"sizing figure: {png}" in err
    for args in (["--plot", str(png)], ["--by", "pe_x,pe_y,rf_bytes", "--plot", str(png)]):
        rc, out, err = run(capsys, "--arch", ARCH, *args)
        assert rc == 2 and "--plot draws the table of --by with one or two knobs" in err, err
        assert len(err.strip().splitlines()) == 1


SIZING_SPACE = ("name: s\nknobs:\n  pe_x: [4, 56]\n  pe_y: [56, 64]\n  rf_bytes: [8, 16]\n"
                "  dataflow: [os, ws]\n  glb_kib: [8, 32, 128]\n  glb_bw: [64]\n")


def _sizing(capsys, space, *extra: str) -> dict:
    rc, out, err = run(capsys, "--arch", ARCH, "--accel-space", str(space), "--by", "glb_kib", "--json",
                       *extra)
    assert rc == 0, err
    return json.loads(out)


def test_sizing_rows_give_the_latency_with_reuse_per_dram_tile(capsys, tmp_path):
    """Each row's ``latency_ms_tile_reuse`` is its design's latency under ``glb_reuse="tile"`` (computed
    again here), never below the table's; at 8 KiB the DRAM tiles cut the reuse, at 128 KiB hardly. A
    space whose model already counts it per tile has no such field."""
    from hdx.cost.analytical import AnalyticalModel
    from hdx.metrics import cycles_to_ms
    from hdx.space.accelerator import AcceleratorSpace, AccelTable
    from hdx.space.network import NetworkSpace
    from hdx.workload import LayerTable

    space = tmp_path / "s.yaml"
    space.write_text(SIZING_SPACE)
    rows = _sizing(capsys, space)["by"]
    grid = AcceleratorSpace.load(str(space))
    layers = LayerTable(NetworkSpace.load().layers(ARCH))
    tiled = AnalyticalModel(grid.hardware, glb_reuse="tile")
    for r in rows:
        lat = tiled.evaluate(layers, AccelTable.from_accels([grid.parse(r["accelerator"])])).latency_cycles
        want = float(cycles_to_ms(lat.sum(), grid.hardware.clock_mhz))
        assert r["latency_ms_tile_reuse"] == pytest.approx(want, rel=1e-9)
        assert r["latency_ms_tile_reuse"] >= r["latency_ms"] * (1 - 1e-6)
    ratio = {r["values"]["glb_kib"]: r["latency_ms_tile_reuse"] / r["latency_ms"] for r in rows}
    assert ratio[8] > 1.1 and ratio[128] < 1.05
    space.write_text(SIZING_SPACE + "hardware:\n  glb_reuse: tile\n")
    assert all("latency_ms_tile_reuse" not in r for r in _sizing(capsys, space)["by"])


def test_sizing_table_names_the_rows_a_latency_budget_misses_with_reuse_per_dram_tile(capsys, tmp_path):
    space = tmp_path / "s.yaml"
    space.write_text(SIZING_SPACE)
    rows = _sizing(capsys, space)["by"]
    at8 = next(r for r in rows if r["values"]["glb_kib"] == 8)
    limit = (at8["latency_ms"] + at8["latency_ms_tile_reuse"]) / 2  # met by the table's count, not per tile
    budget = f"latency<={limit:.6f}ms"
    rows = _sizing(capsys, space, "--budget", budget)["by"]
    missed = [r["values"]["glb_kib"] for r in rows if r["feasible"] and r["latency_ms_tile_reuse"] > limit]
    assert missed  # (here the 8 KiB row's design: no design of that size meets the limit per tile)
    rc, out, err = run(capsys, "--arch", ARCH, "--accel-space", str(space), "--by", "glb_kib", "--budget",
                       budget)
    assert rc == 0, err
    line = next(x for x in out.splitlines() if x.startswith("tile reuse ms:"))
    assert f"{len(missed)} meeting the latency budget here miss it then" in line
    for g in missed:
        assert f"glb_kib={g}" in line
