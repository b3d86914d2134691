"""Tiny finished search runs (fake data, a 6-position space; a few seconds each) shared by the report
and export tests."""

from __future__ import annotations

from pathlib import Path

import yaml

TINY_SPACE = {
    "name": "tiny", "resolution": 16, "num_classes": 10,
    "stem": {"channels": 8}, "first_block": {"channels": 8, "expansion": 1},
    "stages": [{"channels": 16, "depth": 3, "stride": 1}, {"channels": 24, "depth": 3, "stride": 2}],
    "head": {"channels": 64}, "candidate_ops": ["mb3e3", "mb3e6", "mb5e3", "mb7e6", "zero"],
}


def tiny_run(folder: Path, name: str, **kw) -> Path:
    """Run a tiny search into ``folder/name`` and return the run directory."""
    from hdx.search.config import load_search_config
    from hdx.search.loop import run_search

    folder.mkdir(parents=True, exist_ok=True)
    space = folder / "tiny_space.yaml"
    space.write_text(yaml.safe_dump(TINY_SPACE))
    cfg = {"space": str(space), "fake_data": True, "subset": 192, "val_fraction": 0.5, "eval_images": 64,
           "batch_size": 32, "width_mult": 0.5, "epochs": 3, "warmup_epochs": 1, "arch_lr": 0.1,
           "threads": 1, "progress": False, "bn_batches": 2, "recheck_steps": 10,
           "budgets": ["latency<=0.09ms", "area<=2mm2"]}
    cfg.update(kw)
    p = folder / f"{name}.yaml"
    p.write_text(yaml.safe_dump(cfg))
    run_search(load_search_config(str(p)), folder / name)
    return folder / name
