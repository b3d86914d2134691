"""HDX gradient manipulation: single-constraint closed form, several constraints (minimal norm, all
satisfied, checked against a brute-force QP), δ schedule, and the Adam-direction guarantee."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from hdx.search.manipulation import ArchAdam, DeltaSchedule, manipulate, min_norm_correction


def _rand(rng, *shape):
    return torch.as_tensor(rng.standard_normal(shape), dtype=torch.float64)


@pytest.mark.parametrize("seed", range(20))
def test_single_constraint_closed_form(seed):
    rng = np.random.default_rng(seed)
    g, gt = _rand(rng, 9, 7), _rand(rng, 9, 7)
    delta = float(abs(rng.standard_normal())) + 0.01
    # make the constraint active half of the time by flipping g's component along gt
    if seed % 2:
        g = g - 3 * (g * gt).sum() / (gt * gt).sum() * gt
    r = manipulate(g, [gt], [delta], [True])
    dot_before = float((g * gt).sum())
    dot_after = float((r.direction * gt).sum())
    if dot_before >= delta:
        assert not r.any_fired and torch.equal(r.direction, g)
    else:
        assert r.any_fired and r.verified
        assert dot_after == pytest.approx(delta, rel=1e-9, abs=1e-12)  # minimal: exactly on the boundary
        # the spec's formula m = ((δ − g·g_t)/‖g_t‖²)·g_t
        m_ref = (delta - dot_before) / float((gt * gt).sum()) * gt
        torch.testing.assert_close(r.correction, m_ref)
    # the component orthogonal to gt is unchanged
    u = gt / gt.norm()
    perp = lambda v: v - (v * u).sum() * u  # noqa: E731
    torch.testing.assert_close(perp(r.direction), perp(g))


def test_not_violated_means_no_change():
    rng = np.random.default_rng(0)
    g, gt = _rand(rng, 20), _rand(rng, 20)
    g = g - 2 * (g @ gt) / (gt @ gt) * gt if g @ gt > 0 else g  # would need a correction...
    r = manipulate(g, [gt], [1.0], [False])  # ...but the budget holds
    assert torch.equal(r.direction, g) and not r.any_fired


def _brute_force(d, G, delta):
    """Reference QP solution with a generic solver (SLSQP), many restarts."""
    cons = [{"type": "ineq", "fun": (lambda m, i=i: G[i] @ (d + m) - delta[i]), "jac": (lambda m, i=i: G[i])}
            for i in range(len(G))]
    best = None
    for x0 in (np.zeros_like(d), G.sum(0), -G.sum(0)):
        res = minimize(lambda m: 0.5 * m @ m, x0, jac=lambda m: m, constraints=cons, method="SLSQP",
                       options={"ftol": 1e-14, "maxiter": 500})
        if res.success and (best is None or res.fun < best.fun):
            best = res
    return best.x


@pytest.mark.parametrize("seed", range(25))
@pytest.mark.parametrize("k", [2, 3])
def test_several_constraints_minimal_norm(seed, k):
    rng = np.random.default_rng(100 * k + seed)
    n = 12
    d = rng.standard_normal(n)
    G = rng.standard_normal((k, n))
    if seed % 3 == 0:  # strongly correlated constraints: sequential projections would interfere
        G[1] = G[0] + 0.3 * rng.standard_normal(n)
    delta = np.abs(rng.standard_normal(k)) + 0.05
    m, lam, ok = min_norm_correction(d, G, delta)
    assert ok
    assert np.all(G @ (d + m) >= delta - 1e-9)  # all satisfied at once
    assert np.all(lam >= 0)
    np.testing.assert_allclose(m, G.T @ lam, atol=1e-10)
    ref = _brute_force(d, G, delta)
    assert m @ m <= ref @ ref * (1 + 1e-6) + 1e-10  # no feasible correction is shorter
    np.testing.assert_allclose(m, ref, atol=1e-5)  # the optimum is unique (strictly convex)


def test_sequential_projection_would_fail_but_joint_succeeds():
    # two constraints at an obtuse angle: projecting on the second undoes the first
    d = np.zeros(2)
    G = np.array([[1.0, 0.0], [-0.6, 0.8]])
    delta = np.array([1.0, 1.0])
    m1 = (delta[0] - G[0] @ d) / (G[0] @ G[0]) * G[0]
    x = d + m1
    x = x + max(0.0, delta[1] - G[1] @ x) / (G[1] @ G[1]) * G[1]
    assert G[0] @ x < delta[0] - 1e-3  # sequential fails the first constraint
    m, _, ok = min_norm_correction(d, G, delta)
    assert ok and np.all(G @ (d + m) >= delta - 1e-12)
    # brute force on a fine grid of the 2-D plane confirms minimality
    xs = np.linspace(-6, 6, 1201)
    X, Y = np.meshgrid(xs, xs)
    P = np.stack([X.ravel(), Y.ravel()], 1)
    slack = P @ G.T - delta
    feas = np.all(slack >= -1e-12, axis=1)
    assert m @ m <= (P[feas] ** 2).sum(1).min() + 1e-9


def test_contradictory_constraints_reported_unverified():
    g = torch.tensor([0.0, 0.0], dtype=torch.float64)
    G = [torch.tensor([1.0, 0.0], dtype=torch.float64), torch.tensor([-1.0, 0.0], dtype=torch.float64)]
    r = manipulate(g, G, [1.0, 1.0], [True, True])
    assert not r.verified
    r0 = manipulate(g, [torch.zeros(2, dtype=torch.float64)], [1.0], [True])  # no descent direction
    assert not r0.verified


def test_only_violated_constraints_count():
    rng = np.random.default_rng(7)
    g, g1, g2 = _rand(rng, 10), _rand(rng, 10), _rand(rng, 10)
    g = g - 2 * g1 * (g @ g1) / (g1 @ g1) if g @ g1 > 0 else g
    r = manipulate(g, [g1, g2], [0.5, 0.5], [True, False])
    assert float(r.direction @ g1) >= 0.5 - 1e-9
    assert r.multipliers[1] == 0 and not r.fired[1]


def test_delta_schedule():
    s = DeltaSchedule(2, delta0=0.1, w=1.1, delta_max=0.12)
    s.update([True, False])
    np.testing.assert_allclose(s.delta, [0.11, 0.1])
    s.update([True, True])
    np.testing.assert_allclose(s.delta, [0.12, 0.11])  # capped
    for _ in range(10):
        s.update([False, False])
    np.testing.assert_allclose(s.delta, [0.1, 0.1])  # relaxes down to delta0
    s2 = DeltaSchedule(2)
    s2.load_state_dict(s.state_dict())
    np.testing.assert_array_equal(s2.delta, s.delta)


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_manipulated_adam_step_descends_constraint(kind):
    """The guarantee holds for the step actually applied: on a linear t(α) = c·α every manipulated step
    lowers t by at least lr·δ, whatever the (adversarial) loss gradient."""
    rng = np.random.default_rng(3)
    alpha = torch.zeros(9, 7, dtype=torch.float64)
    c = _rand(rng, 9, 7)
    opt = ArchAdam(alpha, lr=0.05, kind=kind)
    delta = 0.2
    for _ in range(30):
        g = -5.0 * c + _rand(rng, 9, 7)  # the loss pushes t up
        d = opt.direction(g)
        before = float((c * alpha).sum())
        r = manipulate(d, [c], [delta], [True])
        opt.apply(r.direction)
        after = float((c * alpha).sum())
        assert before - after >= 0.05 * delta - 1e-12


def test_adam_matches_torch_adam():
    p1 = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    p2 = torch.zeros(5, dtype=torch.float64)
    ref = torch.optim.Adam([p1], lr=0.01, betas=(0.5, 0.999), eps=1e-8)
    mine = ArchAdam(p2, lr=0.01, betas=(0.5, 0.999), eps=1e-8)
    rng = np.random.default_rng(1)
    for _ in range(5):
        g = _rand(rng, 5)
        p1.grad = g.clone()
        ref.step()
        mine.apply(mine.direction(g))
    torch.testing.assert_close(p1.detach(), p2, rtol=1e-6, atol=1e-9)


def test_exhaustive_active_sets_agree_with_kkt():
    # KKT check on random 3-constraint problems: complementary slackness holds
    rng = np.random.default_rng(11)
    for _ in range(50):
        d, G, delta = rng.standard_normal(6), rng.standard_normal((3, 6)), np.abs(rng.standard_normal(3))
        m, lam, ok = min_norm_correction(d, G, delta)
        assert ok
        slack = G @ (d + m) - delta
        assert np.all(np.abs(lam * slack) < 1e-8)
        for i, j in itertools.combinations(range(3), 2):
            assert np.isfinite(lam[i] + lam[j])


def test_guard_records_its_corrections_so_the_unguarded_logits_are_exact(small_setup):
    """α + lr·pushed equals the logits the same directions reach without any correction, and the sum
    survives a checkpoint (an older checkpoint without it loads as no correction yet)."""
    from hdx.budgets import parse_budgets
    from hdx.search.guard import BudgetGuard

    space, _, table = small_setup
    view = table.torch_view()
    mask = torch.as_tensor(table.allowed_mask)
    lat_min = float(table.min_per_accel("latency")[0].min())
    guard = BudgetGuard(parse_budgets([f"latency<={lat_min:.6g}ms"]), table, delta0=0.5, w=1.05, delta_max=5)
    rng = np.random.default_rng(0)
    alpha = torch.zeros(space.num_positions, space.num_ops, dtype=torch.float64, requires_grad=True)
    raw = alpha.detach().clone()
    lr, fired = 0.05, 0
    for _ in range(25):
        probs = torch.softmax(alpha.masked_fill(~mask, float("-inf")), -1)
        lat = view.expected(probs[None])["latency"].mean()  # a cost with a graph to α
        d = _rand(rng, *alpha.shape)
        # always over the target (the limit is the minimum of the whole space): every step is checked
        out, corr = guard.correct(d, {"latency": lat}, {"latency": 10 * lat_min}, alpha)
        fired += corr.fired
        with torch.no_grad():
            alpha -= lr * out
        raw -= lr * d
    assert fired > 0
    torch.testing.assert_close(guard.unguarded(alpha, lr), raw)
    again = BudgetGuard(guard.budgets, table, delta0=0.5, w=1.05, delta_max=5)
    again.load_state_dict(guard.state_dict())
    torch.testing.assert_close(again.unguarded(alpha, lr), raw)
    old = {k: v for k, v in guard.state_dict().items() if k != "pushed"}
    again.load_state_dict(old)
    assert torch.equal(again.unguarded(alpha, lr), alpha.detach())
