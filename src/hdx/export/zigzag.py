"""The accelerator as ZigZag inputs (``hdx export --zigzag FILE``).

The hardware YAML is exactly the description :mod:`hdx.cost.zigzag` feeds ZigZag for
``hdx cost --backend zigzag`` (:func:`~hdx.cost.zigzag.translate.accelerator_data`, same technology
table), validated by ZigZag's own ``AcceleratorValidator`` before it is written. Beside it go the
network's workload (``<stem>.workload.yaml``: one grouped-convolution layer per HDX layer, ids in
order) and the per-layer spatial mappings (``<stem>.mapping.yaml``: each layer's dataflow unrolling,
matched by layer name), so ZigZag can be run on the pair directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from hdx.errors import HDXError
from hdx.space.accelerator import Accelerator, HardwareParams
from hdx.workload import Layer


def hardware_data(acc: Accelerator, hardware: HardwareParams) -> dict[str, Any]:
    """ZigZag accelerator description of ``acc``, checked by ZigZag's validator."""
    from hdx.cost.tech import load_tech
    from hdx.cost.zigzag.adapter import _import_zigzag
    from hdx.cost.zigzag.translate import accelerator_data, tech_for

    zz = _import_zigzag()
    data = accelerator_data(acc, hardware, tech_for(load_tech(hardware.tech), hardware, acc))
    v = zz["AcceleratorValidator"](yaml.safe_load(yaml.safe_dump(data)))
    if not v.validate():
        raise HDXError(f"ZigZag's validator rejected accelerator {acc}: {v.validator.errors}")
    return data


def workload_and_mapping(layers: list[Layer], acc: Accelerator, word_bits: int
                         ) -> tuple[list[dict], list[dict]]:
    """ZigZag workload (one entry per layer, ids 0..L-1, unique names) and per-layer mappings."""
    from hdx.cost.zigzag.translate import mapping_data, workload_data

    work, maps = [], []
    for i, ly in enumerate(layers):
        w = workload_data(ly, word_bits)[0]
        name = f"{i:03d}_{ly.name or ly.kind}"
        w.update(id=i, name=name, operand_source=dict(I=i, W=i))  # each layer's input read from memory
        work.append(w)
        m = mapping_data(ly, acc, "fxfy")[0]
        m["name"] = name
        maps.append(m)
    maps.append({**mapping_data(layers[0], acc, "fxfy")[0], "name": "default"})
    return work, maps


def write_zigzag(path: str | Path, acc: Accelerator, hardware: HardwareParams, layers: list[Layer]
                 ) -> list[Path]:
    """Write the hardware YAML at ``path`` and the workload / mapping YAMLs beside it."""
    from hdx.safeio import atomic_write_text

    p = Path(path)
    hw = hardware_data(acc, hardware)
    work, maps = workload_and_mapping(layers, acc, hardware.word_bits)
    stem = p.with_suffix("")
    out = [p, stem.with_name(stem.name + ".workload.yaml"), stem.with_name(stem.name + ".mapping.yaml")]
    head = f"# HDX accelerator {acc.text(with_glb=True)} for ZigZag (zigzag-dse); units: pJ, um2, bits\n"
    atomic_write_text(out[0], head + yaml.safe_dump(hw, sort_keys=False))
    atomic_write_text(out[1], yaml.safe_dump(work, sort_keys=False))
    atomic_write_text(out[2], yaml.safe_dump(maps, sort_keys=False))
    return out
