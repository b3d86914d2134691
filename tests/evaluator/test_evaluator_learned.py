"""Learned DANCE evaluator: training beats a constant, gradients, files, refusals, shipped default."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hdx.cost import get_cost_model
from hdx.cost.table import CostTable
from hdx.errors import HDXError
from hdx.evaluator import default_evaluator_path, load_evaluator
from hdx.evaluator.build import build_evaluator
from hdx.evaluator.data import DataSpec
from hdx.evaluator.learned import LearnedEvaluator
from hdx.evaluator.networks import NetConfig
from hdx.evaluator.train import EvaluatorConfig, TrainConfig
from hdx.space.accelerator import AcceleratorSpace, HardwareParams
from hdx.space.network import NetworkSpace


def _build(grid: AcceleratorSpace, widths: tuple[int, int, int], train: tuple[int, ...], data: DataSpec):
    """A small learned evaluator on ``grid``: generator / estimator ``widths`` (and blocks), ``train`` =
    (generator epochs, steps, batch, estimator epochs, steps, batch)."""
    space = NetworkSpace.load("dance_cifar10")
    model = get_cost_model("analytical", grid.hardware)
    table = CostTable.build(space, grid, model)
    gw, ew, blocks = widths
    ge, gs, gb, ee, es, eb = train
    cfg = EvaluatorConfig(generator=NetConfig(width=gw, blocks=blocks),
                          estimator=NetConfig(width=ew, blocks=blocks),
                          gen_train=TrainConfig(epochs=ge, steps_per_epoch=gs, batch_size=gb, lr=3e-3),
                          est_train=TrainConfig(epochs=ee, steps_per_epoch=es, batch_size=eb, lr=3e-3))
    ev, ds = build_evaluator(space, grid, model, objective="edap", table=table, config=cfg, progress=False,
                             data_spec=data)
    return space, model, table, ev, ds


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    grid = AcceleratorSpace.load("eyeriss_like")
    space, model, table, ev, ds = _build(grid, (32, 48, 2), (6, 40, 128, 10, 60, 256),
                                         DataSpec(n_archs=800, pairs_per_arch=12, chunk_size=400, seed=1))
    path = ev.save(tmp_path_factory.mktemp("ev") / "tiny.safetensors")
    return space, grid, model, table, ev, ds, path


def test_tiny_estimator_beats_constant_predictor(tiny):
    space, grid, model, table, ev, ds, path = tiny
    # fresh networks and accelerators never seen in training
    rng = np.random.default_rng(77)
    idx = space.sample_indices(rng, 300)
    acc = rng.integers(0, len(grid), 300)
    truth = table.network(idx)
    x = torch.as_tensor(np.stack([space.one_hot(space.decode(i)) for i in idx]).reshape(300, -1))
    oh = {k: torch.as_tensor(v) for k, v in grid.one_hot(acc).items()}
    with torch.no_grad():
        pred = np.log(ev.estimator.metrics(x, oh).double().numpy())
    for i, m in enumerate(("latency", "energy", "area")):
        y = np.log(truth[m][np.arange(300), acc])
        const = np.mean((y - np.log(ds.pair_costs[:, i]).mean()) ** 2)  # best constant of the training set
        mse = np.mean((pred[:, i] - y) ** 2)
        assert mse < 0.1 * const, (m, mse, const)
    gen = ev.meta["training"]["generator"]
    assert set(gen["val_accuracy"]) == set(grid.searched_knobs)


def test_learned_gradient_reaches_arch_through_both_paths(tiny):
    space, grid, model, table, ev, ds, path = tiny
    mask = torch.as_tensor(space.allowed_mask)
    a = torch.randn(3, space.num_positions, space.num_ops).masked_fill(~mask, -torch.inf).requires_grad_(True)
    r = ev(torch.softmax(a, -1))
    assert r.accel_index.dtype == torch.int64 and r.accel_index.shape == (3,)
    assert {k: v.shape for k, v in r.accel_probs.items()} == {
        k: (3, len(grid.knob_values[k])) for k in grid.searched_knobs}
    assert all(torch.isfinite(v).all() and (v > 0).all() for v in r.costs.values())
    r.costs["latency"].sum().backward()
    g_full = a.grad.clone()
    assert torch.isfinite(g_full[mask.expand_as(g_full)]).all() and g_full.abs().sum() > 0
    # cut the generator path: the gradient changes, so it did flow through the relaxed accelerator
    p = torch.softmax(a.detach(), -1).requires_grad_(True)
    x = p.reshape(3, -1)
    from hdx.evaluator.networks import relax
    y = relax(ev.generator(x.detach()), tau=ev.tau, hard=ev.hard)
    ev.estimator.metrics(x, y)[:, 0].sum().backward()
    p2 = torch.softmax(a.detach(), -1).requires_grad_(True)
    ev(p2).costs["latency"].sum().backward()
    assert not torch.allclose(p.grad, p2.grad)
    # argmax index equals the grid index of the per-knob argmax
    assert np.array_equal(r.accel_index.numpy(), grid.from_one_hot({k: v.detach().numpy()
                                                                      for k, v in r.accel_probs.items()}))


def test_file_round_trip(tiny):
    space, grid, model, table, ev, ds, path = tiny
    back = load_evaluator("learned", path, space=space, grid=grid, model=model, objective="edap")
    x = torch.softmax(torch.randn(4, space.num_positions, space.num_ops).masked_fill(
        ~torch.as_tensor(space.allowed_mask), -torch.inf), -1)
    r1, r2 = ev(x), back(x)
    for m in r1.costs:
        torch.testing.assert_close(r1.costs[m], r2.costs[m])
    assert back.model_fingerprint == model.fingerprint() and back.objective == "edap"
    assert back.meta["training"]["dataset"]["n_archs"] == 800


def test_mismatch_refused_with_one_line(tiny, tmp_path):
    space, grid, model, table, ev, ds, path = tiny
    other_model = get_cost_model("analytical", HardwareParams(clock_mhz=400))
    with pytest.raises(HDXError, match="cost-model fingerprint.*hdx evaluator build") as e:
        load_evaluator("learned", path, space=space, grid=grid, model=other_model)
    assert "\n" not in str(e.value)
    with pytest.raises(HDXError, match="objective 'edap'.*'latency'"):
        load_evaluator("learned", path, space=space, grid=grid, model=model, objective="latency")
    other_space = NetworkSpace(space.config.model_copy(update={"name": "other"}))
    with pytest.raises(HDXError, match="space 'dance_cifar10'"):
        load_evaluator("learned", path, space=other_space, grid=grid, model=model)
    edited = AcceleratorSpace(grid.config.model_copy(update={
        "knobs": grid.config.knobs.model_copy(update={"rf_bytes": [8, 16, 32]})}))
    with pytest.raises(HDXError, match="grid config"):
        load_evaluator("learned", path, space=space, grid=edited, model=model)


def test_corrupt_or_missing_file_clear_error(tiny, tmp_path):
    space, grid, model, table, ev, ds, path = tiny
    data = path.read_bytes()
    trunc = tmp_path / "trunc.safetensors"
    trunc.write_bytes(data[: len(data) // 2])
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 64)
    for p in (trunc, junk):
        with pytest.raises(HDXError, match="corrupt"):
            LearnedEvaluator.load(p, space=space, grid=grid, model=model)
    with pytest.raises(HDXError, match="not found"):
        load_evaluator("learned", tmp_path / "nope.safetensors", space=space, grid=grid, model=model)


def test_shipped_default_matches_current_cost_model():
    """Fails when the shipped evaluator is stale (cost model, space or grid changed): run
    `hdx evaluator build` to refresh src/hdx/assets."""
    space = NetworkSpace.load("dance_cifar10")
    grid = AcceleratorSpace.load("eyeriss_like")
    model = get_cost_model("analytical", grid.hardware)
    assert default_evaluator_path(space.name, grid.name, "edap").is_file()
    ev = load_evaluator("learned", space=space, grid=grid, model=model)
    r = ev(torch.as_tensor(space.one_hot(space.sample(np.random.default_rng(0)))))
    assert all(torch.isfinite(v).all() for v in r.costs.values())
    # behaviour, not only the fingerprint: on fresh networks its predicted costs of its own choice match
    # the current ground truth (a model change that kept the version would fail here)
    from hdx.cost.table import CostTable

    table = CostTable.build(space, grid, model)
    idx = space.sample_indices(np.random.default_rng(7), 32)
    onehot = torch.as_tensor(np.stack([space.one_hot(space.decode(i)) for i in idx]))
    with torch.no_grad():
        r = ev(onehot)
    truth = table.network(idx)
    pick = r.accel_index.numpy()
    for m in ("latency", "energy"):
        err = np.abs(r.costs[m].numpy() / truth[m][np.arange(len(idx)), pick] - 1)
        assert np.median(err) < 0.03, (m, float(np.median(err)))


def test_shipped_large_space_evaluator_matches_current_cost_model():
    """The learned evaluator shipped for the 10⁶-design ``dse_pads`` (where ``evaluator: auto`` takes it,
    and where a table over ``table_memory_mb`` needs it) fits the current space, grid and cost model, and
    its predicted costs of its own choice match the cost model on fresh networks (no table needed: the
    model on each network's layers and its chosen design)."""
    from hdx.cost.base import costs_only
    from hdx.evaluator.learned import mismatch
    from hdx.metrics import cycles_to_ms, pj_to_mj
    from hdx.space.accelerator import AccelTable
    from hdx.workload import LayerTable

    space = NetworkSpace.load("dance_cifar10")
    grid = AcceleratorSpace.load("dse_pads")
    model = get_cost_model("analytical", grid.hardware)
    path = default_evaluator_path(space.name, grid.name, "edap")
    assert path.is_file()
    assert mismatch(LearnedEvaluator.read_meta(path)[0], space=space, grid=grid, model=model,
                    objective="edap") is None
    ev = load_evaluator("learned", space=space, grid=grid, model=model)
    idx = space.sample_indices(np.random.default_rng(11), 24)
    with torch.no_grad():
        r = ev(torch.as_tensor(np.stack([space.one_hot(space.decode(i)) for i in idx])))
    err = {"latency": [], "energy": []}
    for b, i in enumerate(idx):
        lt = LayerTable(space.layers(space.decode(i)))
        acc = AccelTable.from_accels([grid[int(r.accel_index[b])]])
        c = costs_only(model, lt, acc)
        truth = {"latency": cycles_to_ms(c.latency_cycles.sum(0), c.clock_mhz)[0],
                 "energy": pj_to_mj(c.energy_total_pj.sum(0))[0]}
        for m in err:
            err[m].append(abs(float(r.costs[m][b]) / float(truth[m]) - 1))
    for m, e in err.items():
        assert np.median(e) < 0.03, (m, float(np.median(e)))


def test_cli_check_prints_report(tiny, capsys):
    from hdx.cli.main import main

    path = tiny[-1]
    assert main(["evaluator", "check", "--path", str(path), "--networks", "40"]) == 0
    out = capsys.readouterr().out
    assert "hardware generator" in out and "end to end" in out and "gradient sign agreement" in out
    assert main(["evaluator", "check", "--path", str(path), "--objective", "energy"]) == 2
    assert "objective" in capsys.readouterr().err


def test_generator_has_a_head_per_storage_knob_of_a_per_operand_space(tmp_path):
    # a space that sizes each operand's storage: the generator predicts every pad knob and the file
    # round-trips against the same space
    import yaml

    cfg = {"name": "pads_tiny", "knobs": {"pe_x": [8, 16], "pe_y": [8], "pad_w": [32, 128], "pad_i": [4, 16],
                                          "pad_o": [8, 32], "dataflow": ["ws", "rs"]}}
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(cfg))
    grid = AcceleratorSpace.load(tmp_path / "p.yaml")
    space, model, _, ev, _ = _build(grid, (16, 16, 1), (1, 5, 64, 1, 5, 64),
                                    DataSpec(n_archs=100, pairs_per_arch=4, chunk_size=100, seed=2))
    assert {"pad_w", "pad_i", "pad_o", "pe_x", "dataflow"} <= set(grid.searched_knobs)
    assert set(ev.meta["training"]["generator"]["val_accuracy"]) == set(grid.searched_knobs)
    path = ev.save(tmp_path / "pads.safetensors")
    back = load_evaluator("learned", path, space=space, grid=grid, model=model, objective="edap")
    x = torch.softmax(torch.randn(2, space.num_positions, space.num_ops).masked_fill(
        ~torch.as_tensor(space.allowed_mask), -torch.inf), -1)
    for m, v in ev(x).costs.items():
        torch.testing.assert_close(v, back(x).costs[m])
