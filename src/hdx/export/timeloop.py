"""The accelerator and each layer as Timeloop v4 / Accelergy YAML (``hdx export --timeloop DIR``).

Files written in DIR:

* ``arch.yaml`` — ``architecture`` (version 0.4): ``system`` container → ``DRAM`` → ``glb``
  (shared SRAM, ``glb_bytes``) → ``PE`` container with ``spatial: {meshX: pe_x, meshY: pe_y}`` →
  per-PE ``rf`` (``rf_bytes``; RS: ``ifmap_spad``, ``weights_spad``, ``psum_spad``, the cost models'
  three fixed scratchpads) → ``mac``. Every component carries its word width (``datawidth``),
  size and the per-access energy (pJ per word) of the technology table HDX costs with.
* ``ert.yaml`` — Accelergy energy reference table (``ERT``, version 0.4): read/write energy per
  component, the same numbers, so Timeloop can run without estimating them.
* ``constraints.yaml`` — the dataflow: which data space the RF keeps (WS: Weights, OS: Outputs;
  RS: each pad its own) and the loops unrolled on the PE mesh (WS: M on X, C on Y; OS: Q on X, P on Y;
  RS: Q on X, R on Y), as in :mod:`hdx.cost.analytical`.
* ``problem_<NNN>_<name>.yaml`` — one per layer: a grouped-convolution shape (``G`` groups, ``C``/``M``
  per group) and its instance (``N C M P Q R S G``, strides); padding is folded into the input size.

Tags are Timeloop's (``!Container``, ``!Component``); :func:`loader` reads them back for tests.

Not expressed: the operand latch (``hardware.operand_latch``; Timeloop re-reads every operand for every
MAC, as the cost model with the latch off) and the GLB's single read-write port granularity (Timeloop
divides words by the ``read_bandwidth``/``write_bandwidth`` written here). Timeloop searches its own
mapping, so HDX's chosen mapping is not exported.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from hdx.space.accelerator import Accelerator, HardwareParams
from hdx.workload import Layer

VERSION = 0.4
KEEP = {"ws": ["Weights"], "os": ["Outputs"], "rs": ["Weights", "Inputs", "Outputs"]}
SPATIAL = {"ws": ("M", "C"), "os": ("Q", "P"), "rs": ("Q", "R")}


class Tagged(dict):
    """A mapping written with a YAML tag (``!Component`` ...)."""

    def __init__(self, tag: str, *a, **kw):
        super().__init__(*a, **kw)
        self.tag = tag


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(Tagged, lambda d, v: d.represent_mapping(v.tag, dict(v)))


def loader() -> type[yaml.SafeLoader]:
    """A safe loader that reads ``!Container``/``!Component``/``!Parallel`` mappings as dicts with a
    ``_tag`` key."""

    class L(yaml.SafeLoader):
        pass

    for tag in ("!Container", "!Component", "!Parallel", "!Hierarchical"):
        L.add_constructor(tag, lambda ld, node, t=tag: {"_tag": t, **ld.construct_mapping(node, deep=True)})
    return L


def _dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False)


def pe_buffers(acc: Accelerator, hardware: HardwareParams) -> list[tuple[str, list[str], int]]:
    """The per-PE storage, outer to inner: (name, data spaces kept, bytes). WS/OS: one ``rf``; RS: the
    three fixed scratchpads of the cost models (``HardwareParams.spad_words``), as in Timeloop's Eyeriss."""
    if acc.dataflow != "rs":
        return [("rf", KEEP[acc.dataflow], int(acc.rf_bytes_kept(hardware)))]
    wb = hardware.word_bits
    w, i, o = (int(v) * wb // 8 for v in acc.storage(hardware)[1])
    return [("ifmap_spad", ["Inputs"], i), ("weights_spad", ["Weights"], w), ("psum_spad", ["Outputs"], o)]


def energies(acc: Accelerator, hardware: HardwareParams) -> dict[str, float]:
    """Per-word access energies (pJ) of DRAM, GLB, the per-PE buffers and the MAC (the tables HDX's
    models use)."""
    from hdx.cost.tech import load_tech

    t = load_tech(hardware.tech)
    wb = hardware.word_bits
    glb = float(t.sram_energy_pj(acc.glb_bytes, wb, width_words=acc.bw(hardware)))  # at its access width
    return {"DRAM": float(t.dram_energy_pj(wb)), "glb": glb,
            **{name: float(t.sram_energy_pj(nbytes, wb)) for name, _, nbytes in pe_buffers(acc, hardware)},
            "mac": float(t.mac_energy_pj(wb))}


def architecture(acc: Accelerator, hardware: HardwareParams) -> dict:
    wb = hardware.word_bits
    e = energies(acc, hardware)
    words = lambda nbytes: max(1, int(nbytes * 8 // wb))  # noqa: E731
    return {"architecture": {"version": VERSION, "nodes": [
        Tagged("!Container", name="system", attributes={
            "technology": hardware.tech, "global_cycle_seconds": 1e-6 / hardware.clock_mhz, "datawidth": wb}),
        Tagged("!Component", name="DRAM", **{"class": "DRAM"}, attributes={
            "width": max(wb, int(round(hardware.dram_bytes_per_cycle * 8))), "datawidth": wb,
            "depth": 2**40, "read_energy": e["DRAM"], "write_energy": e["DRAM"]}),
        Tagged("!Component", name="glb", **{"class": "smartbuffer_SRAM"}, attributes={
            "depth": words(acc.glb_bytes), "width": max(wb, int(round(acc.bw(hardware) * wb))),
            "datawidth": wb, "size_bytes": acc.glb_bytes, "read_energy": e["glb"], "write_energy": e["glb"],
            "read_bandwidth": acc.bw(hardware), "write_bandwidth": acc.bw(hardware)}),
        Tagged("!Container", name="PE", spatial={"meshX": acc.pe_x, "meshY": acc.pe_y}),
        *(Tagged("!Component", name=name, **{"class": "smartbuffer_RF"}, attributes={
            "depth": words(nbytes), "width": wb, "datawidth": wb, "size_bytes": nbytes,
            "read_energy": e[name], "write_energy": e[name]})
          for name, _, nbytes in pe_buffers(acc, hardware)),
        Tagged("!Component", name="mac", **{"class": "intmac"}, attributes={
            "datawidth": wb, "energy": e["mac"]}),
    ]}}


def ert(acc: Accelerator, hardware: HardwareParams) -> dict:
    e = energies(acc, hardware)
    tables = []
    comps = [("DRAM", "system.DRAM"), ("glb", "system.glb")]
    comps += [(name, f"system.PE.{name}") for name, _, _ in pe_buffers(acc, hardware)]
    for comp, path in comps:
        tables.append({"name": path, "actions": [{"name": a, "arguments": {}, "energy": e[comp]}
                                                 for a in ("read", "write", "update")]})
    tables.append({"name": "system.PE.mac",
                   "actions": [{"name": "compute", "arguments": {}, "energy": e["mac"]}]})
    return {"ERT": {"version": VERSION, "tables": tables}}


def constraints(acc: Accelerator, hardware: HardwareParams) -> dict:
    x, y = SPATIAL[acc.dataflow]
    all_spaces = ("Weights", "Inputs", "Outputs")
    return {"constraints": {"version": VERSION, "targets": [
        *({"target": name, "type": "dataspace", "keep": keep,
           "bypass": [d for d in all_spaces if d not in keep]}
          for name, keep, _ in pe_buffers(acc, hardware)),
        {"target": "glb", "type": "dataspace", "keep": ["Weights", "Inputs", "Outputs"], "bypass": []},
        {"target": "PE", "type": "spatial", "permutation": [x, y], "split": 1,
         "factors": f"{x}<={acc.pe_x} {y}<={acc.pe_y}"},
    ]}}


SHAPE = {
    "name": "CNN_Layer_grouped",
    "dimensions": ["G", "C", "M", "R", "S", "N", "P", "Q"],
    "coefficients": [{"name": "Wstride", "default": 1}, {"name": "Hstride", "default": 1},
                     {"name": "Wdilation", "default": 1}, {"name": "Hdilation", "default": 1}],
    "data_spaces": [
        {"name": "Weights", "projection": [[["G"]], [["C"]], [["M"]], [["R"]], [["S"]]]},
        {"name": "Inputs", "projection": [[["N"]], [["G"]], [["C"]], [["R", "Wdilation"], ["P", "Wstride"]],
                                          [["S", "Hdilation"], ["Q", "Hstride"]]]},
        {"name": "Outputs", "projection": [[["N"]], [["G"]], [["M"]], [["P"]], [["Q"]]], "read_write": True},
    ],
}


def problem(layer: Layer) -> dict:
    g = layer.groups
    return {"problem": {"version": VERSION, "shape": SHAPE, "instance": {
        "G": g, "C": layer.c // g, "M": layer.k // g, "R": layer.r, "S": layer.s, "N": layer.n,
        "P": layer.p, "Q": layer.q, "Wstride": layer.stride, "Hstride": layer.stride,
        "Wdilation": 1, "Hdilation": 1}}}


def write_timeloop(folder: str | Path, acc: Accelerator, hardware: HardwareParams, layers: list[Layer]
                   ) -> list[Path]:
    """Write arch.yaml, ert.yaml, constraints.yaml and one problem file per layer into ``folder``."""
    from hdx.safeio import atomic_write_text, os_errors

    d = Path(folder)
    with os_errors(d, "create folder"):
        d.mkdir(parents=True, exist_ok=True)
    head = f"# HDX accelerator {acc.text(with_glb=True)}: Timeloop v4 / Accelergy; energies in pJ per word\n"
    files = {"arch.yaml": architecture(acc, hardware), "ert.yaml": ert(acc, hardware),
             "constraints.yaml": constraints(acc, hardware)}
    for i, ly in enumerate(layers):
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", ly.name or ly.kind)[:60]
        files[f"problem_{i:03d}_{safe}.yaml"] = problem(ly)
    out = []
    for name, data in files.items():
        atomic_write_text(d / name, head + _dump(data))
        out.append(d / name)
    return out
