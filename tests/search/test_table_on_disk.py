"""A search whose exact cost table exceeds ``table_memory_mb``: the table stays on disk, memory-mapped,
the evaluator is learned, and the ground truth (relative budgets, minimum achievable, guard, fill,
finish) reads the mapped table — the same values as the table in memory."""

from __future__ import annotations

import numpy as np
import pytest

from hdx.budgets import parse_budget_specs
from hdx.cost import get_cost_model
from hdx.cost.relative import resolve
from hdx.cost.table import CostTable
from hdx.cost.table_build import table_bytes
from hdx.errors import HDXError
from hdx.evaluator.build import build_evaluator
from hdx.evaluator.data import DataSpec, generate
from hdx.evaluator.networks import NetConfig
from hdx.evaluator.train import EvaluatorConfig, TrainConfig
from hdx.search.config import load_search_config
from hdx.search.loop import run_search
from hdx.search.setup import prepare
from hdx.space.accelerator import AcceleratorSpace
from hdx.space.network import NetworkSpace


def test_search_with_the_table_on_disk(tmp_path, monkeypatch, tiny_config, big_space_yaml):
    import hdx.cost.table as ct
    import hdx.space.accelerator as acc

    monkeypatch.setattr(acc, "MAX_GRID", 100)  # 6174 designs count as a large space here
    monkeypatch.setattr(ct, "MAX_GRID", 100)
    big = big_space_yaml(tmp_path, pe_to=16, glb_kib=(16, 64), glb_bw=(8, 16))
    conf = tiny_config(tmp_path, epochs=2, hw_lambda=0.0, accel_space=big, table_memory_mb=1,
                       budgets=["latency<=p30"])
    cfg = load_search_config(str(conf))
    space, grid = NetworkSpace.load(cfg.space), AcceleratorSpace.load(big)
    assert len(grid) == 6174 and table_bytes(space, grid, compact=True) > 2**20  # over table_memory_mb

    # auto without a learned evaluator, and the oracle: refused in one line before anything is built
    with pytest.raises(HDXError, match=r"more than table_memory_mb 1, and no learned evaluator "
                                       r".*hdx evaluator build --space"):
        prepare(cfg)
    with pytest.raises(HDXError, match="the exact oracle needs it in memory"):
        prepare(cfg.model_copy(update={"evaluator": "oracle"}))

    model = get_cost_model("analytical", grid.hardware)
    small = EvaluatorConfig(generator=NetConfig(width=16, blocks=1), estimator=NetConfig(width=16, blocks=1),
                            gen_train=TrainConfig(epochs=1, steps_per_epoch=5, batch_size=64, lr=3e-3),
                            est_train=TrainConfig(epochs=1, steps_per_epoch=5, batch_size=64, lr=3e-3))
    # built on the table on disk, its samples in two worker processes (which map the table again)
    on_disk = CostTable.build(space, grid, model, on_disk=True)
    assert on_disk.on_disk
    ev, ds = build_evaluator(space, grid, model, objective="edap", config=small, progress=False, workers=2,
                             table=on_disk, data_spec=DataSpec(n_archs=100, pairs_per_arch=4, chunk_size=50,
                                                               seed=2))
    ref = generate(space, grid, model, DataSpec(n_archs=100, pairs_per_arch=4, chunk_size=50, seed=2),
                   table=CostTable.build(space, grid, model, on_disk=False))
    for k in ("opt_index", "opt_value", "pair_accel", "pair_costs"):
        assert np.array_equal(getattr(ds, k), getattr(ref, k)), k
    cfg = cfg.model_copy(update={"evaluator": str(ev.save(tmp_path / "big.safetensors"))})
    setup = prepare(cfg)
    assert setup.table.on_disk and setup.evaluator_kind.startswith("learned")
    assert any("on disk, memory-mapped: more than table_memory_mb 1" in n for n in setup.notes)

    # the ground truth on disk is the table in memory: the same relative budget and the same answers
    mem = CostTable.build(space, grid, model, on_disk=False)
    assert not mem.on_disk
    (budget,) = setup.budgets
    assert resolve(parse_budget_specs(["latency<=p30"]), mem, space)[0][0].limit == budget.limit

    final = run_search(cfg, tmp_path / "run").to_json()
    assert final["feasible"] and final["accelerator"]["budgets"][0]["met"]
    arch = space.encode(final["arch"])
    truth = mem.arch_metrics(arch)
    i = final["accelerator"]["accel_index"]
    assert final["accelerator"]["metrics"]["latency"] == pytest.approx(float(truth["latency"][i]), rel=1e-12)
    # the finish's accelerator is the EDAP optimum under the budget of the in-memory table
    edap = truth["energy"] * truth["latency"] * truth["area"]
    edap = np.where(truth["latency"] <= budget.limit, edap, np.inf)
    assert i == int(np.argmin(edap))
