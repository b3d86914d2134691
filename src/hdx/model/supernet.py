"""One-shot supernet over a network space with two relaxations (docs/design.md#the-network-space).

``alpha`` [positions, ops] holds one logit per candidate (order = ``space.op_names``); disallowed
candidates (e.g. Zero on a stage's first layer) are masked to −∞ wherever a softmax is taken, so
their probability is 0 and their gradient is 0.

* ``mode="binary"`` (ProxylessNAS): in the weight phase each layer runs ONE path sampled from
  ``softmax(alpha)``; in the arch phase TWO distinct paths are sampled (Gumbel-top-2, i.e. without
  replacement ∝ the probabilities), one of them is made active with the probabilities renormalised
  over the pair, and the output is that path's alone. Binary gates g carry the gradient: the output
  is ``Σ_j (g_j + p_j − sg(p_j)) · o_j`` with the inactive output computed without a graph, so
  ``∂L/∂α_i = Σ_j ⟨∂L/∂out, o_j⟩ · p_j (δ_ij − p_i)`` over the pair — the ProxylessNAS estimator —
  while memory stays close to one network (one extra stored activation per layer).
* ``mode="gumbel"`` (TF-NAS): weights ``softmax((α + G) / τ)`` with Gumbel noise G at temperature
  ``tau``; ``hard=True`` uses the straight-through one-hot (only the sampled path keeps a graph —
  exact, since the others' forward weight is 0), ``hard=False`` the relaxed mixture of all paths.

In both modes the weight phase does not touch ``alpha``. ``eval()`` runs the argmax path of every
layer, i.e. exactly the network :meth:`SuperNet.extract` returns for :meth:`SuperNet.derive`.

Device: the path choice is Python control flow, so it needs the sample on the host. On the CPU
everything is computed as written above. On a GPU the weight phase samples from a host copy of
the masked logits (refreshed only when ``alpha`` changes, i.e. once per architecture step) with the
CPU generator, so a weight step never waits for the device.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from hdx.model.network import Head, Network, Stem, position_channels
from hdx.model.ops import Zero, build_op
from hdx.space.network import NetworkSpace

Phase = Literal["weights", "arch"]
Mode = Literal["binary", "gumbel"]


def tau_schedule(epoch: int, tau0: float = 5.0, decay: float = 0.96) -> float:
    """TF-NAS Gumbel temperature at ``epoch`` (0-based): ``tau0 · decay^epoch``."""
    return tau0 * decay ** epoch


def _gumbel_like(t: torch.Tensor) -> torch.Tensor:
    u = torch.rand_like(t).clamp_(1e-20, 1.0 - 1e-7)
    return -torch.log(-torch.log(u))


class MixedLayer(nn.Module):
    """The candidate ops of one searchable position (no residual inside; the layer adds it once)."""

    def __init__(self, op_names: tuple[str, ...], allowed: tuple[str, ...], c_in: int, c_out: int,
                 stride: int):
        super().__init__()
        self.op_names = op_names
        self.ops = nn.ModuleDict({o: build_op(o, c_in, c_out, stride, residual=False) for o in allowed})
        self.residual = stride == 1 and c_in == c_out

    def run(self, x: torch.Tensor, index: int) -> torch.Tensor:
        """Output of candidate ``index`` (into ``op_names``), without the shortcut."""
        return self.ops[self.op_names[index]](x)

    def is_zero(self, index: int) -> bool:
        return isinstance(self.ops[self.op_names[index]], Zero)


class SuperNet(nn.Module):
    """Supernet of ``space``; see the module docstring for the contract."""

    def __init__(self, space: NetworkSpace, mode: Mode = "binary", width_mult: float = 1.0, *,
                 tau: float = 5.0, hard: bool = True):
        super().__init__()
        if mode not in ("binary", "gumbel"):
            raise ValueError(f"mode must be 'binary' or 'gumbel' (got {mode!r})")
        self.space = space
        self.mode: Mode = mode
        self.width_mult = width_mult
        self.hard = hard
        self.tau = tau
        self.phase: Phase = "weights"
        self.stem = Stem(space, width_mult)
        self.layers = nn.ModuleList(
            MixedLayer(space.op_names, p.ops, ci, co, p.stride)
            for p, (ci, co) in zip(space.positions, position_channels(space, width_mult), strict=True))
        self.head = Head(space, width_mult)
        self.register_buffer("mask", torch.from_numpy(space.allowed_mask.copy()), persistent=False)
        self._allowed = [[j for j in range(space.num_ops) if space.allowed_mask[i, j]]
                         for i in range(space.num_positions)]  # host copy: no device syncs in loops
        self.alpha = nn.Parameter(torch.zeros(space.num_positions, space.num_ops))
        # ProxylessNAS two-path bookkeeping: the last arch-phase sample and the pair's logits then
        self.last_sample: dict[str, torch.Tensor] | None = None
        self.last_paths: torch.Tensor | None = None  # the weight phase's sampled op per layer
        self._host_cache: tuple[int, torch.Tensor] | None = None  # (alpha version, masked alpha on CPU)

    # ----- parameters and probabilities -----------------------------------------------------------
    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.alpha]

    def weight_parameters(self) -> list[nn.Parameter]:
        return [p for n, p in self.named_parameters() if n != "alpha"]

    def masked_alpha(self) -> torch.Tensor:
        """``alpha`` with disallowed candidates at −∞ (differentiable)."""
        return self.alpha.masked_fill(~self.mask, float("-inf"))

    def arch_probs(self) -> torch.Tensor:
        """Masked ``softmax(alpha)`` [positions, ops] (differentiable; 0 where disallowed)."""
        return torch.softmax(self.masked_alpha(), dim=-1)

    def set_phase(self, phase: Phase) -> None:
        if phase not in ("weights", "arch"):
            raise ValueError(f"phase must be 'weights' or 'arch' (got {phase!r})")
        self.phase = phase

    def set_tau(self, tau: float) -> None:
        if not tau > 0:
            raise ValueError(f"tau must be > 0 (got {tau})")
        self.tau = float(tau)

    @torch.no_grad()
    def host_masked_alpha(self) -> torch.Tensor:
        """:meth:`masked_alpha` without a graph, on the CPU (a cached copy when ``alpha`` lives on a
        GPU: refreshed only when ``alpha`` changed, so sampling needs no device synchronisation)."""
        if self.alpha.device.type == "cpu":
            return self.masked_alpha()
        ver = self.alpha._version
        if self._host_cache is None or self._host_cache[0] != ver:
            self._host_cache = (ver, self.masked_alpha().detach().cpu())
        return self._host_cache[1]

    @torch.no_grad()
    def argmax_indices(self) -> torch.Tensor:
        return self.masked_alpha().argmax(dim=-1)

    def derive(self) -> tuple[str, ...]:
        """The argmax architecture (masked, so it always respects the Zero rule)."""
        return self.space.decode(self.argmax_indices().cpu().numpy())

    # ----- forward ---------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        if not self.training:
            for layer, i in zip(self.layers, self.argmax_indices().tolist(), strict=True):
                x = self._single(layer, x, i)
        elif self.mode == "binary":
            x = self._binary(x)
        else:
            x = self._gumbel(x)
        return self.head(x)

    @staticmethod
    def _single(layer: MixedLayer, x: torch.Tensor, i: int) -> torch.Tensor:
        if layer.is_zero(i):
            return x  # Zero is only allowed where the layer has a shortcut
        y = layer.run(x, i)
        return x + y if layer.residual else y

    def _binary(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            ma = self.host_masked_alpha() if self.phase == "weights" else self.masked_alpha()
            scores = ma + _gumbel_like(ma)
        if self.phase == "weights":
            self.last_paths = scores.argmax(-1)
            for layer, i in zip(self.layers, self.last_paths.tolist(), strict=True):
                x = self._single(layer, x, i)
            return x
        # arch phase: two paths per layer, Gumbel-top-2 = sampling without replacement ∝ probs
        n_allowed = self.mask.sum(-1)
        pair = scores.topk(2, dim=-1).indices  # [L, 2]
        pair[:, 1] = torch.where(n_allowed >= 2, pair[:, 1], pair[:, 0])
        p2 = torch.softmax(self.alpha.gather(1, pair), dim=-1)  # [L, 2] differentiable
        first = torch.rand(p2.shape[0], device=p2.device) < p2[:, 0].detach()
        active = torch.where(first, 0, 1)
        self.last_sample = {"pair": pair.detach().clone(), "active": active.clone(),
                            "alpha_pair": self.alpha.detach().gather(1, pair).clone()}
        gates = torch.nn.functional.one_hot(active, 2).to(p2.dtype) + p2 - p2.detach()
        for l_idx, (layer, (a, b), k) in enumerate(zip(self.layers, pair.tolist(), active.tolist(),
                                                       strict=True)):
            # a == b: a single allowed op, nothing to choose and no alpha gradient
            x = self._single(layer, x, a) if a == b else self._gated(layer, x, [a, b], k, gates[l_idx])
        return x

    def _gumbel(self, x: torch.Tensor) -> torch.Tensor:
        if self.phase == "weights":
            ma = self.host_masked_alpha()  # no graph: the weight phase never updates alpha
            soft = torch.softmax((ma + _gumbel_like(ma)) / self.tau, dim=-1)
        else:
            ma = self.masked_alpha()
            soft = torch.softmax((ma + _gumbel_like(ma).detach()) / self.tau, dim=-1)
        if self.hard:
            idx = soft.argmax(-1)
            w = torch.nn.functional.one_hot(idx, soft.shape[-1]).to(soft.dtype) + soft - soft.detach()
            for l_idx, (layer, k) in enumerate(zip(self.layers, idx.tolist(), strict=True)):
                if self.phase == "weights":
                    x = self._single(layer, x, k)
                    continue
                cand = self._allowed[l_idx]
                x = self._gated(layer, x, cand, cand.index(k), w[l_idx, cand])
            return x
        for l_idx, layer in enumerate(self.layers):
            out = None
            for j in self._allowed[l_idx]:
                if layer.is_zero(j):
                    continue
                term = soft[l_idx, j] * layer.run(x, j)
                out = term if out is None else out + term
            x = self._with_shortcut(layer, x, out)
        return x

    def _gated(self, layer: MixedLayer, x: torch.Tensor, cand: list[int], active: int,
               gates: torch.Tensor) -> torch.Tensor:
        """``Σ_j gates_j · o_j`` where only ``cand[active]`` keeps a graph (the others' gate value is 0,
        so their outputs only feed ∂L/∂gate); plus the shortcut."""
        out = None
        for pos, j in enumerate(cand):
            if layer.is_zero(j):
                continue  # o_j = 0: contributes neither value nor gate gradient
            if pos == active:
                o = layer.run(x, j)
            else:
                with torch.no_grad():
                    o = layer.run(x, j)
            term = gates[pos] * o
            out = term if out is None else out + term
        return self._with_shortcut(layer, x, out)

    @staticmethod
    def _with_shortcut(layer: MixedLayer, x: torch.Tensor, out: torch.Tensor | None) -> torch.Tensor:
        if out is None:
            return x  # every candidate in play was Zero: only the shortcut remains
        return x + out if layer.residual else out

    # ----- ProxylessNAS alpha rescaling -------------------------------------------------------------
    @torch.no_grad()
    def rescale_two_path_alpha(self) -> None:
        """After an optimiser step on ``alpha`` in binary arch phase: shift the sampled pair's logits so
        that their total probability mass (vs. the unsampled ops) is what it was before the step
        (ProxylessNAS ``rescale_updated_arch_param``). No-op when there is no pending sample."""
        s = self.last_sample
        if self.mode != "binary" or s is None:
            return
        pair, old = s["pair"], s["alpha_pair"]
        new = self.alpha.gather(1, pair)
        # for a degenerate pair (a, a) logsumexp counts the op twice; the offset is the same either way
        offset = torch.logsumexp(new, -1) - torch.logsumexp(old, -1)
        self.alpha.scatter_(1, pair, new - offset[:, None])
        self.last_sample = None

    # ----- extraction ---------------------------------------------------------------------------------
    def extract(self, arch: str | tuple[str, ...] | list[str] | None = None) -> Network:
        """A standalone :class:`Network` for ``arch`` (default: :meth:`derive`) with these weights."""
        a = self.space.parse_arch(arch if arch is not None else self.derive())
        net = Network(self.space, a, self.width_mult).to(self.alpha.device)
        net.stem.load_state_dict(self.stem.state_dict())
        net.head.load_state_dict(self.head.state_dict())
        for block, layer, op in zip(net.blocks, self.layers, a, strict=True):
            block.load_state_dict(layer.ops[op].state_dict())
        return net


