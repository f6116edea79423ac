"""Grouped networks: each member computes exactly what its solo network computes — outputs in training and
inference mode, batch-norm statistics, gradients — and gives its weights back under the solo names."""
from __future__ import annotations

import copy

import pytest
import torch

from ganbench.data import load_dataset
from ganbench.ensemble.grouped import GroupedNet, supports
from ganbench.errors import GanbenchError
from ganbench.nets import NetConfig, build_nets

K = 3
CASES = {  # name → (arch, dataset, params, NetConfig)
    "mlp-ring": ("mlp", "ring", {"n_train": 256, "n_test": 64}, NetConfig(z_dim=2, width=8, d_norm="none")),
    "mlp-ring-batch-d": ("mlp", "ring", {"n_train": 256, "n_test": 64}, NetConfig(z_dim=2, width=8, d_norm="batch")),
    "dcgan-digits16": ("dcgan", "digits", {"size": 16}, NetConfig(z_dim=8, width=8)),
    "dcgan-digits8-layerless": ("dcgan", "digits", {"size": 8}, NetConfig(z_dim=8, width=8, d_norm="none",
                                                                         g_norm="none")),
    "infogan-digits16": ("infogan", "digits", {"size": 16}, NetConfig(z_dim=8, width=8)),  # the study's BN
}


def _members(case: str):
    arch, dataset, params, cfg = CASES[case]
    data = load_dataset(dataset, params)
    gs, ds = [], []
    for seed in range(K):
        torch.manual_seed(seed)
        g, d = build_nets(arch, data.info, cfg)
        gs.append(g)
        ds.append(d)
    return data, cfg, gs, ds


def _inputs(data, cfg, n: int = 6):
    x = data.split("train").get(torch.arange(K * n)).view(K, n, *data.info.shape)
    z = torch.rand(K, n, cfg.z_dim, generator=torch.Generator().manual_seed(1)) * 2 - 1
    return x, z


@pytest.mark.parametrize("case", list(CASES))
def test_each_member_computes_what_its_solo_net_computes(case):
    data, cfg, gs, ds = _members(case)
    x, z = _inputs(data, cfg)
    for solos, inputs in ((gs, z), (ds, x)):
        grouped = GroupedNet(copy.deepcopy(solos))
        for _ in range(2):  # training mode, twice: batch-norm statistics move as the solo nets'
            out = grouped(inputs)
            for k, net in enumerate(solos):
                assert torch.allclose(out[k], net(inputs[k]), atol=1e-5), case
        grouped.eval()
        for net in solos:
            net.eval()
        out = grouped(inputs)
        for k, net in enumerate(solos):
            assert torch.allclose(out[k], net(inputs[k]), atol=1e-5), case  # by the running statistics
            state = grouped.member_state_dict(k)
            solo_state = net.state_dict()
            assert state.keys() == solo_state.keys()
            assert all(torch.allclose(state[key].float(), solo_state[key].float(), atol=1e-6) for key in state)


@pytest.mark.parametrize("case", ["mlp-ring", "dcgan-digits16", "infogan-digits16"])
def test_each_members_gradient_is_its_solo_gradient(case):
    data, cfg, gs, ds = _members(case)
    x, _ = _inputs(data, cfg)
    grouped = GroupedNet(copy.deepcopy(ds))
    # each member's own loss, summed: a member's gradient is its own loss's
    (grouped(x).flatten(1).pow(2).mean(1)).sum().backward()
    for k, net in enumerate(ds):
        net(x[k]).pow(2).mean().backward()
        solo = {name: p.grad for name, p in net.named_parameters()}
        ours = _member_grads(grouped, k)
        assert ours.keys() == solo.keys()
        for name in solo:
            assert torch.allclose(ours[name], solo[name], atol=1e-6, rtol=1e-4), (case, name)


def _member_grads(grouped: GroupedNet, k: int) -> dict[str, torch.Tensor]:
    """Member k's gradients under the solo names, read the way member_state_dict reads weights."""
    saved = {name: p.data.clone() for name, p in grouped.named_parameters()}
    for p in grouped.parameters():
        p.data.copy_(p.grad)
    grads = grouped.member_state_dict(k)
    for name, p in grouped.named_parameters():
        p.data.copy_(saved[name])
    return {name: value for name, value in grads.items() if not name.endswith(("running_mean", "running_var",
                                                                               "num_batches_tracked"))}


def test_a_members_weights_load_into_a_solo_net_and_reproduce_it():
    data, cfg, gs, _ = _members("dcgan-digits16")
    grouped = GroupedNet(copy.deepcopy(gs))
    with torch.no_grad():  # move the grouped weights, so loading cannot pass by accident
        for p in grouped.parameters():
            p.add_(0.01 * torch.randn_like(p))
    _, z = _inputs(data, cfg)
    grouped.eval()
    for k in range(K):
        torch.manual_seed(99)
        solo = build_nets("dcgan", data.info, cfg)[0]
        solo.load_state_dict(grouped.member_state_dict(k), strict=True)
        solo.eval()
        assert torch.allclose(grouped(z)[k], solo(z[k]), atol=1e-5)


def test_layers_without_a_grouped_form_are_named():
    data, cfg, _, _ = _members("dcgan-digits16")
    torch.manual_seed(0)
    _, d = build_nets("dcgan", data.info, NetConfig(z_dim=8, width=8, d_norm="spectral"))
    assert "spectral norm" in supports(d)
    with pytest.raises(GanbenchError, match="cannot train as an ensemble.*spectral norm.*one by one"):
        GroupedNet([d, copy.deepcopy(d)])
    _, d = build_nets("dcgan", data.info, NetConfig(z_dim=8, width=8, d_norm="layer"))
    assert supports(d) == "GroupNorm"
    assert supports(torch.nn.Linear(2, 2)) == "Linear is not a plain stack of layers"
