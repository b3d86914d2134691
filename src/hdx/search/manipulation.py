"""HDX gradient manipulation for hard budgets (docs/design.md#the-hdx-rule), pure tensor math.

Let ``d`` be the direction the architecture step will move *against* (``α ← α − lr·d``) and ``g_i``
the gradient of the i-th constrained metric ``t_i`` wrt α. While a budget is violated (``t_i ≥ T_i``)
the step must reduce ``t_i`` at rate at least ``δ_i``: ``d·g_i ≥ δ_i``. With one constraint the
smallest change is ``m = ((δ − d·g_t)/‖g_t‖²)·g_t`` (only the component along ``g_t`` changes; the
part orthogonal to ``g_t`` is untouched). With several violated budgets the correction is the
minimal-norm ``m`` with ``(d + m)·g_i ≥ δ_i`` for all i *at once*:

    min ½‖m‖²  s.t.  G m ≥ b,   b = δ − G d

whose dual is ``max_{λ≥0} bᵀλ − ½ λᵀ(GGᵀ)λ`` with ``m = Gᵀλ``. With few constraints (one per
metric, so ≤ 3) the dual is solved exactly by enumerating active sets (KKT: λ_S = (G_S G_Sᵀ)⁺ b_S,
λ_S ≥ 0, all constraints met) and keeping the smallest feasible ``m``; the result is verified.
Sequential projections are not used: a later projection can undo an earlier one.

Which ``d`` is manipulated matters for the guarantee. With SGD the step is ``lr·g`` so ``d = g``.
Adam rescales coordinates by ``1/√v̂``, which can turn a corrected gradient into a step that no
longer descends ``t``; HDX therefore manipulates the *final update direction* (Adam's
``m̂/(√v̂+ε)``) — the vector actually applied — so ``d·g_t ≥ δ`` holds for the step taken
(:class:`ArchAdam`). δ adapts per budget (:class:`DeltaSchedule`): ×w on each violating step,
÷w (not below its initial value) once the budget holds (DPM: δ 0.01–1.0, w 1.001–1.03).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Manipulation:
    """Result of :func:`manipulate`: the corrected direction and diagnostics.

    ``fired`` [k] which constraints needed a correction (``d·g_i < δ_i`` while violated);
    ``multipliers`` λ [k] (``m = Σ λ_i g_i``); ``verified``: every active constraint holds after
    correction (False only for contradictory or degenerate constraints, e.g. ``g_i = 0``).
    """

    direction: torch.Tensor
    correction: torch.Tensor
    fired: np.ndarray
    multipliers: np.ndarray
    verified: bool

    @property
    def any_fired(self) -> bool:
        return bool(self.fired.any())


def min_norm_correction(d: np.ndarray, G: np.ndarray, delta: np.ndarray, *, rtol: float = 1e-9
                        ) -> tuple[np.ndarray, np.ndarray, bool]:
    """Minimal-norm ``m`` with ``G (d + m) ≥ delta`` (float64 numpy; ``G`` [k, n], ``d`` [n]).

    Returns ``(m, λ, ok)`` with ``m = Gᵀλ``, ``λ ≥ 0``; ``ok`` False when no such ``m`` exists
    (then the active set with the smallest worst violation is returned).
    """
    d = np.asarray(d, np.float64)
    G = np.atleast_2d(np.asarray(G, np.float64))
    delta = np.asarray(delta, np.float64).reshape(-1)
    k = G.shape[0]
    b = delta - G @ d
    scale = max(1.0, float(np.abs(delta).max(initial=0.0)), float(np.abs(G @ d).max(initial=0.0)))
    tol = rtol * scale
    if np.all(b <= tol):
        return np.zeros_like(d), np.zeros(k), True
    Q = G @ G.T
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    fallback: tuple[float, np.ndarray, np.ndarray] | None = None
    for r in range(1, k + 1):
        for S in itertools.combinations(range(k), r):
            S = list(S)
            lam_s = np.linalg.pinv(Q[np.ix_(S, S)]) @ b[S]
            lam = np.zeros(k)
            lam[S] = lam_s
            m = G.T @ lam
            worst = float((b - G @ m).max())  # > 0: some constraint still missed
            if fallback is None or worst < fallback[0]:
                fallback = (worst, m, lam)
            if lam_s.min() < -tol or worst > tol:
                continue
            norm = float(m @ m)
            if best is None or norm < best[0]:
                best = (norm, m, lam)
    if best is not None:
        return best[1], np.clip(best[2], 0.0, None), True
    assert fallback is not None
    return fallback[1], fallback[2], False


def manipulate(direction: torch.Tensor, grads: list[torch.Tensor], delta: torch.Tensor | np.ndarray,
               violated: torch.Tensor | np.ndarray | list[bool]) -> Manipulation:
    """Correct ``direction`` so that every *violated* constraint i gets ``direction·grads[i] ≥ δ_i``.

    ``direction`` and each ``grads[i]`` have the shape of the architecture logits (any shape; they
    are flattened). Constraints that are not violated impose nothing. The returned direction has
    the input's dtype and shape. Computation is in float64.
    """
    shape, dtype = direction.shape, direction.dtype
    d = direction.detach().reshape(-1).double().cpu().numpy()
    violated = np.asarray(violated, dtype=bool).reshape(-1)
    delta = np.asarray(delta.detach().cpu() if isinstance(delta, torch.Tensor) else delta,
                       np.float64).reshape(-1)
    k = len(grads)
    if not (len(violated) == len(delta) == k):
        raise ValueError(f"need one delta and one violated flag per constraint ({k}), "
                         f"got {len(delta)} and {len(violated)}")
    fired = np.zeros(k, dtype=bool)
    lam_full = np.zeros(k)
    idx = np.flatnonzero(violated)
    if len(idx) == 0:
        return Manipulation(direction.clone(), torch.zeros_like(direction), fired, lam_full, True)
    G = np.stack([grads[i].detach().reshape(-1).double().cpu().numpy() for i in idx])
    fired[idx] = G @ d < delta[idx]
    usable = np.linalg.norm(G, axis=1) > 0
    m, lam, ok = min_norm_correction(d, G[usable], delta[idx][usable])
    lam_full[idx[usable]] = lam
    ok = ok and bool(usable.all() or not fired[idx][~usable].any())
    m_t = torch.as_tensor(m, dtype=dtype, device=direction.device).reshape(shape)
    return Manipulation(direction + m_t, m_t, fired, lam_full, ok)


class DeltaSchedule:
    """Per-budget descent rate δ: ×w after a violating step, ÷w (down to δ₀) after a satisfied one,
    capped at ``delta_max``."""

    def __init__(self, n: int, *, delta0: float = 0.1, w: float = 1.02, delta_max: float = 100.0):
        if not (delta0 > 0 and w >= 1.0 and delta_max >= delta0):
            raise ValueError("need delta0 > 0, w >= 1 and delta_max >= delta0")
        self.delta0, self.w, self.delta_max = float(delta0), float(w), float(delta_max)
        self.delta = np.full(n, self.delta0)

    def update(self, violated: np.ndarray | list[bool]) -> None:
        v = np.asarray(violated, dtype=bool)
        grown = np.minimum(self.delta * self.w, self.delta_max)
        relaxed = np.maximum(self.delta / self.w, self.delta0)
        self.delta = np.where(v, grown, relaxed)

    def state_dict(self) -> dict:
        return {"delta": self.delta.tolist()}

    def load_state_dict(self, state: dict) -> None:
        self.delta = np.asarray(state["delta"], dtype=np.float64)


class ArchAdam:
    """Adam for the architecture logits whose *update direction* can be manipulated before it is
    applied: ``d = direction(g)`` → (HDX correction of d) → :meth:`apply` does ``α ← α − lr·d``.

    Plain tensors (no torch.optim) so the state checkpoints exactly and the applied step is the one
    the correction was computed for. ``kind='sgd'`` gives ``d = g`` (optionally with momentum 0).
    """

    def __init__(self, param: torch.Tensor, *, lr: float, kind: str = "adam", betas=(0.5, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        if kind not in ("adam", "sgd"):
            raise ValueError(f"arch optimizer must be adam or sgd, got {kind}")
        self.param, self.lr, self.kind = param, float(lr), kind
        self.b1, self.b2 = betas
        self.eps, self.wd = eps, weight_decay
        self.m = torch.zeros_like(param)
        self.v = torch.zeros_like(param)
        self.t = 0

    @torch.no_grad()
    def direction(self, grad: torch.Tensor) -> torch.Tensor:
        """Advance the moment estimates with ``grad`` and return the step direction ``d``."""
        g = grad + self.wd * self.param if self.wd else grad
        if self.kind == "sgd":
            return g.clone()
        self.t += 1
        self.m.mul_(self.b1).add_(g, alpha=1 - self.b1)
        self.v.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
        mhat = self.m / (1 - self.b1 ** self.t)
        vhat = self.v / (1 - self.b2 ** self.t)
        return mhat / (vhat.sqrt() + self.eps)

    @torch.no_grad()
    def apply(self, d: torch.Tensor) -> None:
        self.param.sub_(self.lr * d)

    def state_dict(self) -> dict:
        return {"m": self.m.clone(), "v": self.v.clone(), "t": self.t, "lr": self.lr}

    def load_state_dict(self, s: dict) -> None:
        self.m.copy_(s["m"])
        self.v.copy_(s["v"])
        self.t = int(s["t"])
        self.lr = float(s["lr"])
