"""MemberAdam: each member of a grouped network moves exactly as its own torch.optim.Adam moves it, with its own
lr and betas; a frozen (diverged) member stays put and changes nothing for the others."""
from __future__ import annotations

import copy

import pytest
import torch

from ganbench.data import load_dataset
from ganbench.ensemble.grouped import GroupedNet
from ganbench.ensemble.optim import MemberAdam
from ganbench.nets import NetConfig, build_nets

LR, BETA1, BETA2 = [1e-3, 3e-4, 2e-3], [0.5, 0.0, 0.9], [0.999, 0.9, 0.99]


def _members(arch: str = "dcgan"):
    data = load_dataset("digits", {"size": 8}) if arch == "dcgan" else load_dataset("ring", {"n_train": 256,
                                                                                          "n_test": 64})
    cfg = NetConfig(z_dim=4, width=8, d_norm="batch" if arch == "dcgan" else "none")
    nets = []
    for seed in range(3):
        torch.manual_seed(seed)
        nets.append(build_nets(arch, data.info, cfg)[1])
    x = data.split("train").get(torch.arange(3 * 8)).view(3, 8, *data.info.shape)
    return nets, x


def _train(grouped: GroupedNet, opt: MemberAdam, x: torch.Tensor, steps: int, freeze_at: int | None = None):
    for step in range(1, steps + 1):
        opt.zero_grad()
        (grouped(x).flatten(1).pow(2).mean(1) * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
        opt.step()
        if freeze_at == step:
            opt.freeze(1)


@pytest.mark.parametrize("arch", ["dcgan", "mlp"])
def test_each_member_follows_its_own_torch_adam(arch):
    solos, x = _members(arch)
    grouped = GroupedNet(copy.deepcopy(solos))
    opt = MemberAdam(grouped.parameters(), 3, lr=LR, beta1=BETA1, beta2=BETA2)
    _train(grouped, opt, x, 5)
    for k, net in enumerate(solos):
        adam = torch.optim.Adam(net.parameters(), lr=LR[k], betas=(BETA1[k], BETA2[k]))
        for _ in range(5):
            adam.zero_grad()
            ((k + 1.0) * net(x[k]).pow(2).mean()).backward()
            adam.step()
        ours, theirs = grouped.member_state_dict(k), net.state_dict()
        moved = 0
        for name in theirs:
            assert torch.allclose(ours[name].float(), theirs[name].float(), atol=1e-6, rtol=1e-5), (arch, k, name)
            moved += not torch.equal(ours[name], solos[k].state_dict()[name])
        assert moved  # the comparison is of trained weights


def test_a_frozen_member_stays_and_the_others_are_untouched():
    solos, x = _members()
    runs = {}
    for freeze in (None, 2):
        grouped = GroupedNet(copy.deepcopy(solos))
        opt = MemberAdam(grouped.parameters(), 3, lr=LR, beta1=BETA1, beta2=BETA2)
        _train(grouped, opt, x, 2)
        at_two = grouped.member_state_dict(1)
        if freeze:
            opt.freeze(1)
        _train(grouped, opt, x, 3)
        runs[freeze] = (grouped, at_two, opt)
    frozen, at_two, opt = runs[2]
    free = runs[None][0]
    for k in (0, 2):  # bit for bit: freezing member 1 changes nothing for them
        a, b = frozen.member_state_dict(k), free.member_state_dict(k)
        assert all(torch.equal(a[n], b[n]) for n in a if not n.endswith(("running_mean", "running_var")))
    held = frozen.member_state_dict(1)
    assert all(torch.equal(held[n], at_two[n]) for n in held if not n.endswith(("running_mean", "running_var",
                                                                                 "num_batches_tracked")))
    assert opt.steps.flatten().tolist() == [5.0, 2.0, 5.0]


def test_state_round_trips_and_hyperparameters_are_checked():
    solos, x = _members("mlp")
    grouped = GroupedNet(copy.deepcopy(solos))
    opt = MemberAdam(grouped.parameters(), 3, lr=LR)
    _train(grouped, opt, x, 2)
    twin = copy.deepcopy(grouped)
    twin_opt = MemberAdam(twin.parameters(), 3)
    twin_opt.load_state_dict(opt.state_dict())
    _train(grouped, opt, x, 2)
    _train(twin, twin_opt, x, 2)
    assert all(torch.equal(a, b) for a, b in zip(grouped.parameters(), twin.parameters()))
    with pytest.raises(ValueError, match="2 values for an ensemble of 3"):
        opt.set(lr=[1e-3, 1e-4])
