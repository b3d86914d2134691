"""Training-step throughput on this CPU (batch 128): supernet (binary-gate / Gumbel, weight / arch
phase) and a fixed network, plus the fixed network vs the same architecture written as a plain
``nn.Sequential`` (goal: within 1.2x).

    python benchmarks/bench_train_throughput.py [--width-mult 0.5] [--steps 6] [--threads 1]

A step = forward + cross-entropy + backward + optimiser step (SGD on weights in the weight phase,
Adam on alpha in the arch phase), channels-last memory format. Times are medians over ``--steps``
timed steps after 2 warm-up steps; fixed vs Sequential is measured in alternating rounds so that
load from other processes hits both alike.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from hdx.model import Network, SuperNet
from hdx.space.network import NetworkSpace, parse_op

ARCH = "mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3"


class Residual(nn.Sequential):
    """``x + body(x)`` (the only non-Sequential piece of an MBConv network)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + super().forward(x)


def cbr(ci: int, co: int, k: int = 1, s: int = 1, g: int = 1, act: bool = True) -> list[nn.Module]:
    m: list[nn.Module] = [nn.Conv2d(ci, co, k, s, k // 2, groups=g, bias=False), nn.BatchNorm2d(co)]
    return m + [nn.ReLU6(inplace=True)] if act else m


def mbconv_seq(ci: int, co: int, k: int, e: int, s: int) -> nn.Module:
    mid = ci * e
    body = (cbr(ci, mid) if e != 1 else []) + cbr(mid, mid, k, s, mid) + cbr(mid, co, act=False)
    return Residual(*body) if s == 1 and ci == co else nn.Sequential(*body)


def plain_sequential(net: Network) -> nn.Sequential:
    """The same architecture as ``net``, hand-written with the channel counts read off ``net``."""
    stem, blocks, head = net.stem, net.blocks, net.head
    c0 = stem.conv[0]
    layers: list[nn.Module] = cbr(3, c0.out_channels, c0.kernel_size[0], c0.stride[0])
    fb = stem.block
    layers.append(mbconv_seq(c0.out_channels, fb.project[0].out_channels, fb.dw[0].kernel_size[0], 1, 1))
    for p, op, b in zip(net.space.positions, net.arch, blocks, strict=True):
        spec = parse_op(op)
        if spec.is_zero:
            continue
        ci = b.expand[0].in_channels if b.expand is not None else b.dw[0].in_channels
        layers.append(mbconv_seq(ci, b.project[0].out_channels, spec.kernel, spec.expansion, p.stride))
    hc = head.conv[0]
    layers += cbr(hc.in_channels, hc.out_channels)
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(hc.out_channels, head.fc.out_features)]
    return nn.Sequential(*layers)


def step_fn(model: nn.Module, x: torch.Tensor, y: torch.Tensor, params: list[torch.Tensor], adam: bool):
    opt = torch.optim.Adam(params, lr=1e-3) if adam else torch.optim.SGD(params, lr=0.01, momentum=0.9)

    def step() -> None:
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def timed(step, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        step()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width-mult", type=float, default=0.5)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    space = NetworkSpace.load()
    cl = torch.channels_last
    x = torch.randn(a.batch, 3, 32, 32).contiguous(memory_format=cl)
    y = torch.randint(0, 10, (a.batch,))
    print(f"batch {a.batch}, width x{a.width_mult}, {a.threads} thread(s), channels-last, arch {ARCH}")
    rows = []
    for mode in ("binary", "gumbel"):
        sn = SuperNet(space, mode, a.width_mult).to(memory_format=cl).train()
        for phase in ("weights", "arch"):
            sn.set_phase(phase)
            params = sn.weight_parameters() if phase == "weights" else sn.arch_parameters()
            step = step_fn(sn, x, y, params, adam=phase == "arch")
            timed(step, 2)
            t = statistics.median(timed(step, a.steps))
            rows.append((f"supernet {mode}, {phase} phase", t))
    net = Network(space, ARCH, a.width_mult).to(memory_format=cl).train()
    seq = plain_sequential(net).to(memory_format=cl).train()
    assert sum(p.numel() for p in seq.parameters()) == sum(p.numel() for p in net.parameters())
    s_net = step_fn(net, x, y, list(net.parameters()), adam=False)
    s_seq = step_fn(seq, x, y, list(seq.parameters()), adam=False)
    timed(s_net, 2)
    timed(s_seq, 2)
    t_net, t_seq = [], []
    for _ in range(a.steps):  # alternate so background load hits both alike
        t_net += timed(s_net, 1)
        t_seq += timed(s_seq, 1)
    tn, ts = statistics.median(t_net), statistics.median(t_seq)
    rows += [("fixed Network (hdx.model)", tn), ("same arch as plain nn.Sequential", ts)]
    print(f"{'what':<36} {'ms/step':>9} {'images/s':>9}")
    for name, t in rows:
        print(f"{name:<36} {t * 1e3:>9.0f} {a.batch / t:>9.0f}")
    print(f"fixed Network / nn.Sequential step time: {tn / ts:.3f}x (goal <= 1.2x)")


if __name__ == "__main__":
    main()
