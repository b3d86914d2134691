"""Exact oracle evaluator and evaluator sample generation, against independent ground truth."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hdx.cost import get_cost_model
from hdx.cost.table import CostTable
from hdx.errors import DataError, HDXError
from hdx.evaluator import load_evaluator
from hdx.evaluator.data import DataSpec, EvalDataset, generate
from hdx.evaluator.oracle import OracleEvaluator
from hdx.metrics import METRICS, Objective
from hdx.space.accelerator import KNOBS, AcceleratorSpace, AccelTable
from hdx.space.network import NetworkSpace
from hdx.workload import LayerTable


@pytest.fixture(scope="module")
def setup():
    space = NetworkSpace.load("dance_cifar10")
    grid = AcceleratorSpace.load("eyeriss_like")
    model = get_cost_model("analytical", grid.hardware)
    return space, grid, model, CostTable.build(space, grid, model)


def _direct(space, grid, model, arch_idx, accel_idx) -> dict[str, float]:
    """Cost of one architecture on one accelerator straight from the cost model (no table)."""
    layers = LayerTable(space.layers(space.decode(arch_idx)))
    acc = AccelTable.from_accels([grid[int(accel_idx)]])
    c = model.evaluate(layers, acc).network()
    return {"latency": float(c.latency_ms[0]), "energy": float(c.energy_total_pj[0]) * 1e-9,
            "area": float(c.area_mm2[0])}


def _onehot(space, idx) -> torch.Tensor:
    return torch.as_tensor(np.stack([space.one_hot(space.decode(i)) for i in idx]), dtype=torch.float64)


def test_oracle_equals_ground_truth_on_one_hot(setup):
    space, grid, model, table = setup
    idx = space.sample_indices(np.random.default_rng(3), 6)
    ev = load_evaluator("oracle", space=space, grid=grid, model=model, objective="edap", cost_mode="argmax",
                        table=table)
    r = ev(_onehot(space, idx))
    truth = table.network(idx)  # [B, A]
    J = Objective("edap").of(truth)
    best = J.argmin(-1)
    assert np.array_equal(r.accel_index.numpy(), best)
    for m in METRICS:
        np.testing.assert_allclose(r.costs[m].numpy(), truth[m][np.arange(6), best], rtol=1e-12)
    # and against the cost model evaluated directly on the layer list (no table, no gather)
    for b in (0, 3):
        d = _direct(space, grid, model, idx[b], best[b])
        for m in METRICS:
            assert r.costs[m][b].item() == pytest.approx(d[m], rel=1e-9)
    # an explicitly chosen accelerator also matches (exhaustive optimum is not special)
    acc = grid.index("16x16,rf=16,df=ws")
    d = _direct(space, grid, model, idx[1], acc)
    g = ev.accel_metrics(_onehot(space, idx[1:2]))
    for m in METRICS:
        assert g[m][0, acc].item() == pytest.approx(d[m], rel=1e-9)


def test_oracle_expected_is_the_mixture_of_two_networks(setup):
    space, grid, model, table = setup
    a = space.sample_indices(np.random.default_rng(5), 1)[0]
    b = a.copy()
    pos = 4
    allowed = np.flatnonzero(space.allowed_mask[pos])
    b[pos] = [o for o in allowed if o != a[pos]][0]
    p = 0.3
    probs = _onehot(space, [a])
    probs[0, pos] = 0.0
    probs[0, pos, a[pos]] = p
    probs[0, pos, b[pos]] = 1 - p
    ev = OracleEvaluator(space, grid, model, table=table)
    g = ev.accel_metrics(probs)
    acc = grid.index("12x8,rf=32,df=rs")
    da, db = _direct(space, grid, model, a, acc), _direct(space, grid, model, b, acc)
    for m in ("latency", "energy"):
        assert g[m][0, acc].item() == pytest.approx(p * da[m] + (1 - p) * db[m], rel=1e-9)


def test_oracle_softmin_limits_and_marginals(setup):
    space, grid, model, table = setup
    idx = space.sample_indices(np.random.default_rng(8), 4)
    x = _onehot(space, idx)
    cold = OracleEvaluator(space, grid, model, temperature=1e-5, table=table)(x)
    exact = OracleEvaluator(space, grid, model, cost_mode="argmax", table=table)(x)
    for m in METRICS:
        torch.testing.assert_close(cold.costs[m], exact.costs[m], rtol=1e-6, atol=0)
    warm = OracleEvaluator(space, grid, model, temperature=0.5, table=table)(x)
    assert set(warm.accel_probs) == set(grid.searched_knobs)
    for k, p in warm.accel_probs.items():
        assert p.shape == (4, len(grid.knob_values[k]))
        torch.testing.assert_close(p.sum(-1), torch.ones(4, dtype=p.dtype))
        # the optimum's knob value carries the largest marginal at a cold temperature (ties: shared)
        ki = grid.knob_indices(cold.accel_index.numpy())[:, KNOBS.index(k)]
        pc = cold.accel_probs[k]
        assert torch.all(pc[torch.arange(4), torch.as_tensor(ki)] >= pc.max(-1).values - 1e-9)


@pytest.mark.parametrize("mode", ["expected", "argmax"])
def test_oracle_gradcheck(setup, mode):
    space, grid, model, table = setup
    ev = OracleEvaluator(space, grid, model, temperature=0.05, cost_mode=mode, table=table)
    ev.check_inputs = False  # gradcheck perturbs the (zero) disallowed entries too
    z = torch.randn(2, space.num_positions, space.num_ops, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(0))
    p = torch.softmax(z.masked_fill(~torch.as_tensor(space.allowed_mask), -1e9), -1).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda q: (ev(q).costs["latency"], ev(q).costs["energy"]), (p,))


def test_oracle_input_errors(setup):
    space, grid, model, table = setup
    ev = OracleEvaluator(space, grid, model, table=table)
    with pytest.raises(HDXError, match="expects"):
        ev(torch.rand(2, 3, 7))
    bad = torch.full((space.num_positions, space.num_ops), 1 / space.num_ops)  # mass on zero at stage start
    with pytest.raises(HDXError, match="not allowed"):
        ev(bad)
    with pytest.raises(HDXError, match="objective"):
        OracleEvaluator(space, grid, model, objective="speed", table=table)


def test_dataset_labels_roundtrip_determinism_and_resume(setup, tmp_path):
    space, grid, model, table = setup
    spec = DataSpec(n_archs=50, pairs_per_arch=6, soft_fraction=0.5, chunk_size=20, seed=4)
    ds = generate(space, grid, model, spec, table=table)
    assert ds.num_archs == 50 and ds.num_pairs == 300
    # labels: exhaustive argmin over the table, recomputed independently for the one-hot networks
    hard = np.flatnonzero(~ds.is_soft)
    idx = ds.arch_probs[hard].argmax(-1)
    assert np.all(ds.arch_probs[hard].max(-1) == 1.0)
    truth = table.network(idx)
    for obj in ("edap", "latency", "energy"):
        J = Objective(obj).of(truth)
        assert np.array_equal(ds.labels(obj)[hard], J.argmin(-1))
    # pairs carry ground-truth metrics of (their network, their accelerator)
    sel = np.isin(ds.pair_arch, hard)
    rows = np.searchsorted(hard, ds.pair_arch[sel])
    for i, m in enumerate(METRICS):
        np.testing.assert_allclose(ds.pair_costs[sel, i], truth[m][rows, ds.pair_accel[sel]], rtol=1e-6)
    # soft rows are proper distributions on allowed ops only
    soft = ds.arch_probs[ds.is_soft]
    np.testing.assert_allclose(soft.sum(-1), 1.0, rtol=1e-5)
    assert np.all(soft[:, ~space.allowed_mask] == 0)
    # round trip
    path = ds.save(tmp_path / "d.npz")
    back = EvalDataset.load(path)
    assert back.meta == ds.meta
    for k in EvalDataset._ARRAYS:
        assert np.array_equal(getattr(back, k), getattr(ds, k))
    assert back.meta["model_fingerprint"] == model.fingerprint() and back.meta["space"] == space.name
    back.check_matches(space=space, grid=grid, fingerprint=model.fingerprint())
    with pytest.raises(DataError, match="fingerprint"):
        back.check_matches(space=space, grid=grid, fingerprint="0" * 64)
    # deterministic, independent of workers, resumable from chunk files
    work = tmp_path / "chunks"
    again = generate(space, grid, model, spec, table=table, workers=2, work_dir=work)
    assert np.array_equal(again.pair_costs, ds.pair_costs) and np.array_equal(again.opt_index, ds.opt_index)
    (work / "chunk_00001.npz").unlink()
    (work / "chunk_00002.npz").write_bytes(b"garbage")
    resumed = generate(space, grid, model, spec, table=table, work_dir=work)
    assert np.array_equal(resumed.arch_probs, ds.arch_probs)
    assert np.array_equal(resumed.pair_arch, ds.pair_arch)


def test_dataset_skewed_fraction_replaces_only_one_hot_networks(setup):
    space, grid, model, table = setup
    base = DataSpec(n_archs=60, pairs_per_arch=6, soft_fraction=0.5, skewed_fraction=0.0, chunk_size=30,
                    seed=9)
    ds0 = generate(space, grid, model, base, table=table)
    ds1 = generate(space, grid, model, base.model_copy(update={"skewed_fraction": 0.6}), table=table)
    assert np.array_equal(ds1.is_soft, ds0.is_soft)
    soft = ds0.is_soft
    assert np.array_equal(ds1.arch_probs[soft], ds0.arch_probs[soft])  # soft networks as before
    changed = np.any(ds1.arch_probs != ds0.arch_probs, axis=(1, 2))
    assert changed[~soft].sum() >= 5 and not changed[soft].any()
    # the redrawn networks are one-hot on allowed ops and labelled with their own exhaustive optimum
    hard = np.flatnonzero(~soft)
    assert np.all(ds1.arch_probs[hard].max(-1) == 1.0)
    assert not np.any(ds1.arch_probs[hard][:, ~space.allowed_mask])
    J = Objective("edap").of(table.network(ds1.arch_probs[hard].argmax(-1)))
    assert np.array_equal(ds1.labels("edap")[hard], J.argmin(-1))


def test_dataset_corrupt_file(tmp_path):
    p = tmp_path / "bad.npz"
    p.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match="corrupt"):
        EvalDataset.load(p)
    with pytest.raises(DataError, match="not found"):
        EvalDataset.load(tmp_path / "missing.npz")


def test_dataset_as_ray_tasks(setup, tmp_path, ray_local):
    """Sample chunks as Ray tasks: the same dataset as in one process (chunk i draws from its own seed),
    with the labelled networks per second of one worker in the metadata."""
    space, grid, model, table = setup
    spec = DataSpec(n_archs=60, pairs_per_arch=6, chunk_size=20, seed=4)
    ref = generate(space, grid, model, spec, table=table)
    ds = generate(space, grid, model, spec, table=table, use_ray=True, work_dir=tmp_path / "w")
    for k in EvalDataset._ARRAYS:
        assert np.array_equal(getattr(ds, k), getattr(ref, k)), k
    assert ds.meta["labels_per_s_per_worker"] > 0


def test_shipped_evaluator_config_by_name(tmp_path, capsys):
    """`--config large` names the shipped config for large spaces; an unknown name is one line, exit 2."""
    from hdx.cli.main import main
    from hdx.config import load_config
    from hdx.evaluator.train import EvaluatorConfig

    cfg = load_config(EvaluatorConfig, "large", "evaluator")
    assert cfg.estimator.width > EvaluatorConfig().estimator.width
    rc = main(["evaluator", "build", "--config", "nope", "--networks", "10", "--pairs", "40",
               "--out", str(tmp_path / "e.safetensors")])
    err = capsys.readouterr().err
    assert rc == 2 and "large" in err and len(err.strip().splitlines()) == 1


def test_skewed_networks_are_one_hot_allowed_and_spread_over_the_compute_range():
    from hdx.evaluator.data import sample_arch_probs, sample_skewed_probs
    space = NetworkSpace.load()
    rng = np.random.default_rng(0)
    skew = sample_skewed_probs(rng, space, 300)
    assert skew.shape == (300, space.num_positions, space.num_ops)
    assert np.all(skew.sum(-1) == 1.0) and np.all((skew == 0) | (skew == 1))
    assert not np.any(skew * ~space.allowed_mask[None])  # only allowed ops
    uni, _ = sample_arch_probs(rng, space, 300, 0.0, (1.0,))

    def macs(probs):
        return np.array([space.macs(space.decode(p.argmax(-1))) for p in probs], dtype=float)
    # the skewed draws reach further from the mean on both sides than uniform ones
    m_skew, m_uni = macs(skew), macs(uni)
    assert m_skew.std() > 1.5 * m_uni.std()
    assert m_skew.min() < m_uni.min() and m_skew.max() > m_uni.max()
