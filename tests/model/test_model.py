"""Op modules, the standalone network and the supernet (contract, relaxations, gradient estimator)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hdx.errors import HDXError
from hdx.model import MBConv, Network, SuperNet, Zero, build_op, count_macs, tau_schedule
from hdx.space.network import NetworkSpace, NetworkSpaceConfig

DANCE_LAT = "mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3"

# A hand-countable space: 8x8x3 input, stem 3x3 conv to 8 channels, one stage of 2 layers (8 channels,
# first stride 2), head 1x1 conv to 16, FC to 4 classes; candidates mb3e2 and zero.
TINY = {"name": "tiny", "resolution": 8, "in_channels": 3, "num_classes": 4,
        "stem": {"channels": 8, "kernel": 3, "stride": 1},
        "stages": [{"channels": 8, "depth": 2, "stride": 2}],
        "head": {"channels": 16}, "candidate_ops": ["mb3e2", "zero"]}


@pytest.fixture(scope="module")
def space() -> NetworkSpace:
    return NetworkSpace.load()


@pytest.fixture(scope="module")
def tiny() -> NetworkSpace:
    return NetworkSpace(NetworkSpaceConfig.model_validate(TINY))


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("op", ["mb3e3", "mb3e6", "mb5e3", "mb5e6", "mb7e3", "mb7e6", "mb3e1", "zero"])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("c_in,c_out", [(8, 8), (8, 16)])
def test_op_output_shapes(op, stride, c_in, c_out):
    m = build_op(op, c_in, c_out, stride)
    x = torch.randn(2, c_in, 12, 12)
    y = m(x)
    assert y.shape == (2, c_out, 12 // stride, 12 // stride)
    if op == "zero":
        assert isinstance(m, Zero) and not y.any()
    else:
        assert isinstance(m, MBConv) and m.residual == (stride == 1 and c_in == c_out)
        assert (m.expand is None) == op.endswith("e1")


def test_mbconv_residual_adds_input():
    m = MBConv(8, 8, 3, 3, 1).eval()
    torch.nn.init.zeros_(m.project[1].weight)  # BN gamma 0 → branch output = BN beta = 0
    x = torch.randn(2, 8, 6, 6)
    assert torch.allclose(m(x), x)
    with pytest.raises(ValueError):
        MBConv(8, 16, 3, 3, 1, residual=True)


def test_network_shapes_dance_and_imagenet_space(space):
    net = Network(space, DANCE_LAT)
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    mob = NetworkSpace.load("proxyless_mobile")
    arch = ",".join(p.ops[0] for p in mob.positions)
    net2 = Network(mob, arch, width_mult=0.25).eval()
    assert net2(torch.randn(1, 3, 224, 224)).shape == (1, 1000)


def test_zero_rule(space):
    bad = "zero" + DANCE_LAT[DANCE_LAT.index(","):]
    with pytest.raises(HDXError, match="zero at layer 0 is not allowed"):
        Network(space, bad)
    with pytest.raises(HDXError, match="unknown op 'conv3'"):
        Network(space, DANCE_LAT.replace("mb5e3", "conv3", 1))
    # Zero has the largest logit everywhere: derive keeps it off every stage's first layer
    sn = SuperNet(space, "binary")
    with torch.no_grad():
        sn.alpha.zero_()
        sn.alpha[:, space.op_names.index("zero")] = 5.0
    arch = sn.derive()
    assert [a == "zero" for a in arch] == [p.zero_allowed for p in space.positions]
    probs = sn.arch_probs()
    assert torch.allclose(probs.sum(-1), torch.ones(space.num_positions))
    assert (probs[~torch.from_numpy(space.allowed_mask)] == 0).all()


def test_macs_hand_count(tiny):
    # stem: 8x8 out, 8 ch, 3x3x3 reduction        = 64*8*27   = 13824
    # layer 0 (mb3e2, stride 2): expand 8→16 @8x8 = 64*16*8   =  8192
    #                            dw 3x3 16 ch @4x4 = 16*16*9   =  2304
    #                            project 16→8 @4x4 = 16*8*16   =  2048
    # layer 1 (mb3e2): expand 8→16 @4x4            = 16*16*8   =  2048
    #                  dw 3x3 @4x4                 = 16*16*9   =  2304
    #                  project 16→8 @4x4           = 16*8*16   =  2048
    # head 1x1 8→16 @4x4                           = 16*16*8   =  2048
    # FC 16→4                                      =              64
    full = 13824 + 8192 + 2304 + 2048 + 2048 + 2304 + 2048 + 2048 + 64
    assert full == 34880
    assert count_macs(Network(tiny, "mb3e2,mb3e2"), (3, 8, 8)) == full == tiny.macs("mb3e2,mb3e2")
    skip = full - (2048 + 2304 + 2048)
    assert count_macs(Network(tiny, "mb3e2,zero"), (3, 8, 8)) == skip == tiny.macs("mb3e2,zero")


def test_macs_model_equals_layer_list(space):
    rng = np.random.default_rng(0)
    for arch in [DANCE_LAT, *[space.sample(rng) for _ in range(3)]]:
        assert count_macs(Network(space, arch), (3, 32, 32)) == space.macs(arch)


def test_width_mult_scales_channels(space):
    n = Network(space, DANCE_LAT, width_mult=0.5)
    assert n.stem.conv[0].out_channels == 16 and n.blocks[0].project[0].out_channels == 16
    assert n.head.conv[0].out_channels == 640 and n.head.fc.out_features == 10
    assert count_macs(n, (3, 32, 32)) < space.macs(DANCE_LAT)


def test_supernet_contract(space):
    for mode in ("binary", "gumbel"):
        sn = SuperNet(space, mode, width_mult=0.25)
        assert sn.alpha.shape == (9, 7)
        assert sn.arch_parameters() == [sn.alpha]
        w_ids = {id(p) for p in sn.weight_parameters()}
        assert id(sn.alpha) not in w_ids and len(w_ids) + 1 == len(list(sn.parameters()))
        with pytest.raises(ValueError):
            sn.set_phase("both")
    with pytest.raises(ValueError):
        SuperNet(space, "darts")


def _one_hot_alpha(sn: SuperNet, arch: tuple[str, ...]) -> None:
    with torch.no_grad():
        sn.alpha.fill_(-1e4)
        idx = torch.as_tensor(sn.space.encode(arch))
        sn.alpha[torch.arange(len(arch)), idx] = 1e4


@pytest.mark.parametrize("mode", ["binary", "gumbel"])
def test_supernet_equals_extracted_network(space, mode):
    torch.manual_seed(0)
    sn = SuperNet(space, mode, width_mult=0.25)
    arch = space.sample(np.random.default_rng(4))
    _one_hot_alpha(sn, arch)
    assert sn.derive() == arch
    net = sn.extract()
    assert net.arch == arch
    x = torch.randn(4, 3, 32, 32)
    sn.eval()
    net.eval()
    assert torch.allclose(sn(x), net(x), atol=1e-5)
    # training mode (batch-norm batch statistics, sampling): one-hot logits sample that path
    sn.train()
    net.train()
    for phase in ("weights", "arch"):
        sn.set_phase(phase)
        assert torch.allclose(sn(x), net(x), atol=1e-5)
    # the extracted weights are copies of the supernet's
    i = next(i for i, a in enumerate(arch) if a != "zero")
    assert torch.equal(net.blocks[i].dw[0].weight, sn.layers[i].ops[arch[i]].dw[0].weight)


def test_single_op_layer_in_arch_phase(tiny):
    # tiny's first layer allows one op only (mb3e2): the two-path sample degenerates to that op
    torch.manual_seed(5)
    sn = SuperNet(tiny, "binary").train()
    sn.set_phase("arch")
    _one_hot_alpha(sn, ("mb3e2", "mb3e2"))
    net = sn.extract(("mb3e2", "mb3e2")).train()
    x = torch.randn(4, 3, 8, 8)
    for _ in range(6):
        assert torch.allclose(sn(x), net(x), atol=1e-5)
        assert sn.last_sample["pair"][0].tolist() == [0, 0]


def _count_op_calls(sn: SuperNet) -> list[int]:
    calls = [0] * len(sn.layers)
    for li, layer in enumerate(sn.layers):
        for op in layer.ops.values():
            op.register_forward_hook(lambda *_, li=li: calls.__setitem__(li, calls[li] + 1))
    return calls


def test_binary_paths_per_phase(space):
    torch.manual_seed(1)
    sn = SuperNet(space, "binary", width_mult=0.25).train()
    calls = _count_op_calls(sn)
    zero = space.op_names.index("zero")
    x = torch.randn(2, 3, 32, 32)
    sn.set_phase("weights")
    for _ in range(3):
        calls[:] = [0] * 9
        sn(x)
        assert calls == [int(i != zero) for i in sn.last_paths.tolist()]  # one path (Zero: no call)
    sn.set_phase("arch")
    for _ in range(3):
        calls[:] = [0] * 9
        sn(x)
        pair = sn.last_sample["pair"]
        assert (pair[:, 0] != pair[:, 1]).all()  # two distinct paths per layer
        assert calls == (pair != zero).sum(-1).tolist()
        assert sn.mask.gather(1, pair).all()  # never a disallowed op


def test_binary_gradient_is_proxylessnas_estimator(space):
    """alpha.grad equals Σ_j ∂L/∂g_j · p_j (δ_ij − p_i) with ∂L/∂g from full autograd on explicit gates."""
    torch.manual_seed(2)
    sn = SuperNet(space, "binary", width_mult=0.25).train()
    with torch.no_grad():
        sn.alpha.normal_(0, 0.5)
    x = torch.randn(4, 3, 32, 32)
    y = torch.randint(0, 10, (4,))
    sn.set_phase("arch")
    torch.nn.functional.cross_entropy(sn(x), y).backward()
    got = sn.alpha.grad.clone()
    pair, active = sn.last_sample["pair"], sn.last_sample["active"]
    # reference: same forward with leaf gate vectors, every path of the pair in the graph
    h = sn.stem(x)
    gates = []
    for li, layer in enumerate(sn.layers):
        g = torch.nn.functional.one_hot(active[li], 2).float().requires_grad_()
        gates.append(g)
        out = sum(g[k] * layer.run(h, int(j)) for k, j in enumerate(pair[li]))
        h = h + out if layer.residual else out
    torch.nn.functional.cross_entropy(sn.head(h), y).backward()
    want = torch.zeros_like(got)
    for li in range(9):
        p = torch.softmax(sn.alpha.detach()[li, pair[li]], 0)
        dg = gates[li].grad
        for a in range(2):
            want[li, pair[li, a]] = sum(dg[j] * p[j] * (float(a == j) - p[a]) for j in range(2))
    assert want.abs().sum() > 0
    assert torch.allclose(got, want, atol=1e-6, rtol=1e-4)


def test_rescale_two_path_alpha_keeps_pair_mass(space):
    torch.manual_seed(3)
    sn = SuperNet(space, "binary", width_mult=0.25).train()
    with torch.no_grad():
        sn.alpha.normal_(0, 1)
    sn.set_phase("arch")
    sn(torch.randn(2, 3, 32, 32))
    pair = sn.last_sample["pair"]
    before = sn.alpha.detach().clone()
    with torch.no_grad():
        sn.alpha.scatter_add_(1, pair, torch.tensor([[0.7, -0.2]]).expand(9, 2).contiguous())
    sn.rescale_two_path_alpha()
    after = sn.alpha.detach()
    lse = torch.logsumexp
    assert torch.allclose(lse(after.gather(1, pair), -1), lse(before.gather(1, pair), -1), atol=1e-6)
    others = torch.ones_like(after, dtype=torch.bool).scatter_(1, pair, False)
    assert torch.equal(after[others], before[others])
    # the relative preference inside the pair is the updated one
    d_after = after.gather(1, pair).diff(dim=-1)
    d_before = before.gather(1, pair).diff(dim=-1)
    assert torch.allclose(d_after - d_before, torch.full_like(d_after, -0.9), atol=1e-5)


@pytest.mark.parametrize("hard", [True, False])
def test_gumbel_mode_gradients(space, hard):
    torch.manual_seed(4)
    sn = SuperNet(space, "gumbel", width_mult=0.25, hard=hard).train()
    x = torch.randn(2, 3, 32, 32)
    y = torch.randint(0, 10, (2,))
    sn.set_phase("weights")
    torch.nn.functional.cross_entropy(sn(x), y).backward()
    assert sn.alpha.grad is None
    sn.set_phase("arch")
    sn.set_tau(1.0)
    torch.nn.functional.cross_entropy(sn(x), y).backward()
    g = sn.alpha.grad
    assert torch.isfinite(g).all() and g.abs().sum() > 0
    assert (g[~sn.mask] == 0).all()
    with pytest.raises(ValueError):
        sn.set_tau(0.0)


def test_tau_schedule():
    assert tau_schedule(0) == 5.0
    assert tau_schedule(10) == pytest.approx(5.0 * 0.96 ** 10)
    assert tau_schedule(3, tau0=2.0, decay=0.5) == pytest.approx(0.25)
