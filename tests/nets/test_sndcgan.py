"""SNDCGAN: Miyato et al.'s Table 3 layers, and spectral norm whatever ``d_norm`` says."""
from __future__ import annotations

import pytest
from torch import nn

from ganbench.nets import D_NORMS, NetConfig, build_nets
from ganbench.nets.layers import has_spectral_norm

from .netcases import image_info


def test_discriminator_layers_at_32() -> None:
    _, D = build_nets("sndcgan", image_info(3, 32), NetConfig(width=64, d_norm="none"))
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.kernel_size[0], m.stride[0], m.out_channels) for m in convs] == [
        (3, 1, 64), (4, 2, 64), (3, 1, 128), (4, 2, 128), (3, 1, 256), (4, 2, 256), (3, 1, 512)]
    assert [m.in_features for m in D.modules() if isinstance(m, nn.Linear)] == [512 * 4 * 4]
    assert all(m.negative_slope == 0.1 for m in D.modules() if isinstance(m, nn.LeakyReLU))


def test_generator_layers_at_32() -> None:
    G, _ = build_nets("sndcgan", image_info(3, 32), NetConfig(width=64))
    assert G.net[0].out_features == 512 * 4 * 4
    deconvs = [m for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels, m.kernel_size[0]) for m in deconvs] == [
        (512, 256, 4), (256, 128, 4), (128, 64, 4)]
    final = [m for m in G.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.in_channels, m.out_channels, m.kernel_size[0]) for m in final] == [(64, 3, 3)]
    assert len([m for m in G.modules() if isinstance(m, nn.BatchNorm2d)]) == 4


@pytest.mark.parametrize("norm", D_NORMS)
def test_spectral_norm_is_always_on(norm: str) -> None:
    _, D = build_nets("sndcgan", image_info(1, 16), NetConfig(width=8, d_norm=norm))
    weighted = [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert weighted and all(has_spectral_norm(m) for m in weighted)
    extra = [m for m in D.modules() if isinstance(m, (nn.BatchNorm2d, nn.GroupNorm))]
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert len(extra) == (len(convs) - 1 if norm in ("batch", "layer") else 0)  # all convs but the first
