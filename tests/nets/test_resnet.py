"""ResNet: SNGAN's CIFAR channel counts at width 64, and the block plan at other resolutions."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from ganbench.nets import NetConfig, build_nets
from ganbench.nets.resnet import DownBlock, UpBlock, down_blocks

from .netcases import image_info


def test_cifar_layout_at_width_64() -> None:
    G, D = build_nets("resnet", image_info(3, 32), NetConfig(width=64))
    ups = [m for m in G.modules() if isinstance(m, UpBlock)]
    assert len(ups) == 3 and all(m.residual[3].out_channels == 256 for m in ups)
    assert G.stem[0].out_features == 256 * 4 * 4
    downs = [m for m in D.modules() if isinstance(m, DownBlock)]
    assert len(downs) == 4
    assert {m.out_channels for m in D.modules() if isinstance(m, nn.Conv2d)} == {128}
    pools = [any(isinstance(layer, nn.AvgPool2d) for layer in m.residual) for m in downs]
    assert pools == [True, True, False, False]
    assert isinstance(downs[0].residual[0], nn.Conv2d)  # the optimised block: no activation on the image
    assert isinstance(downs[2].shortcut, nn.Identity)
    assert (D.out.in_features, D.out.out_features) == (128, 1)


@pytest.mark.parametrize("side,downs", [(8, 1), (16, 1), (28, 2), (32, 2), (64, 3)])
def test_discriminator_pools_over_at_most_8x8(side: int, downs: int) -> None:
    assert down_blocks(side) == downs
    _, D = build_nets("resnet", image_info(1, side), NetConfig(width=8))
    seen: list[tuple[int, ...]] = []
    D.act.register_forward_hook(lambda mod, inp, out: seen.append(tuple(out.shape[-2:])))
    D(torch.rand(2, 1, side, side))
    assert max(seen[0]) <= 8
    assert len([m for m in D.modules() if isinstance(m, DownBlock)]) == downs + 2


@pytest.mark.parametrize("side,maps", [(32, [(4, 4), (8, 8), (16, 16)]), (64, [(8, 8), (16, 16), (32, 32)]),
                                       (28, [(4, 4), (7, 7), (14, 14)]), (8, [(4, 4)])])
def test_generator_block_plan(side: int, maps: list[tuple[int, int]]) -> None:
    G, _ = build_nets("resnet", image_info(1, side), NetConfig(z_dim=8, width=8))
    seen: list[tuple[int, ...]] = []
    for block in G.blocks:
        block.register_forward_hook(lambda mod, inp, out: seen.append(tuple(inp[0].shape[-2:])))
    assert G(torch.randn(2, 8)).shape == (2, 1, side, side)
    assert seen == maps
