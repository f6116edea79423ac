"""DCGAN: the follow-up study's layer sizes at 64×64, and the stage plan at other resolutions."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from ganbench.nets import NetConfig, build_nets

from .netcases import image_info


def deconv_inputs(G: nn.Module, z_dim: int) -> list[tuple[int, ...]]:
    """Spatial sizes of the maps entering each transposed conv of ``G``."""
    sizes: list[tuple[int, ...]] = []
    for m in G.modules():
        if isinstance(m, nn.ConvTranspose2d):
            m.register_forward_hook(lambda mod, inp, out: sizes.append(tuple(inp[0].shape[-2:])))
    G(torch.randn(2, z_dim))
    return sizes


def test_layer_sizes_at_64() -> None:
    G, D = build_nets("dcgan", image_info(3, 64), NetConfig(width=64))
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.out_channels, m.kernel_size, m.stride) for m in convs] == [
        (c, (5, 5), (2, 2)) for c in (64, 128, 256, 512)]
    assert [m.in_features for m in D.modules() if isinstance(m, nn.Linear)] == [512 * 4 * 4]
    assert all(m.negative_slope == 0.2 for m in D.modules() if isinstance(m, nn.LeakyReLU))
    assert not isinstance(D.net[1], nn.BatchNorm2d)  # no norm on the first conv, as in Radford et al.
    deconvs = [m for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels, m.kernel_size) for m in deconvs] == [
        (512, 256, (5, 5)), (256, 128, (5, 5)), (128, 64, (5, 5)), (64, 3, (5, 5))]
    assert G.net[0].out_features == 512 * 4 * 4


@pytest.mark.parametrize("side,maps", [
    (64, [(4, 4), (8, 8), (16, 16), (32, 32)]),
    (32, [(2, 2), (4, 4), (8, 8), (16, 16)]),
    (28, [(2, 2), (4, 4), (7, 7), (14, 14)]),  # compare_gan's rounding-up plan, no crop
    (16, [(2, 2), (4, 4), (8, 8)]),
    (8, [(2, 2), (4, 4)]),
])
def test_stage_plan(side: int, maps: list[tuple[int, int]]) -> None:
    G, D = build_nets("dcgan", image_info(1, side), NetConfig(z_dim=8, width=8))
    assert deconv_inputs(G, 8) == maps
    # D mirrors G: as many stride-2 convs, ending on the map G starts from (width 8: 8·2^(k−1) channels).
    assert len([m for m in D.modules() if isinstance(m, nn.Conv2d)]) == len(maps)
    assert D.net[-1].in_features == 8 * 2 ** (len(maps) - 1) * maps[0][0] * maps[0][1]
    assert D(torch.rand(2, 1, side, side)).shape == (2, 1)
