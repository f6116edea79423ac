"""The InfoGAN-style network matches the layer sizes of Lucic et al. (2018), counted by hand."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from ganbench.nets import NetConfig, build_nets

from .netcases import image_info


def count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def layers(net: nn.Module, kind: type) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, kind)]


def test_parameter_counts_on_mnist_match_the_reference_layers() -> None:
    G, D = build_nets("infogan", image_info(1, 28), NetConfig(z_dim=64, width=64, d_norm="batch"))
    # Weights + biases, no bias where batch norm follows (BN's own shift replaces it), BN = 2 per unit.
    d_expected = ((1 * 64 * 4 * 4 + 64)               # conv 64 4×4 s2
                  + (64 * 128 * 4 * 4 + 2 * 128)      # conv 128 4×4 s2, BN
                  + (128 * 7 * 7 * 1024 + 2 * 1024)   # FC 1024 on the 7×7×128 map, BN
                  + (1024 * 1 + 1))                   # FC 1
    g_expected = ((64 * 1024 + 2 * 1024)              # FC 1024, BN
                  + (1024 * 128 * 7 * 7 + 2 * 128 * 7 * 7)  # FC 128·(h/4)·(w/4), BN
                  + (128 * 64 * 4 * 4 + 2 * 64)       # deconv 64 4×4 s2, BN
                  + (64 * 1 * 4 * 4 + 1))             # deconv c 4×4 s2
    assert count(D) == d_expected == 6_558_017
    assert count(G) == g_expected == 6_634_881


def test_parameter_count_without_norm_in_d_keeps_the_biases() -> None:
    _, D = build_nets("infogan", image_info(1, 28), NetConfig(width=64, d_norm="none"))
    assert count(D) == (1 * 64 * 16 + 64) + (64 * 128 * 16 + 128) + (128 * 7 * 7 * 1024 + 1024) + (1024 + 1)


def test_layer_shapes_follow_the_reference() -> None:
    G, D = build_nets("infogan", image_info(3, 64), NetConfig(width=64))
    convs = layers(D, nn.Conv2d)
    assert [(m.in_channels, m.out_channels, m.kernel_size, m.stride) for m in convs] == [
        (3, 64, (4, 4), (2, 2)), (64, 128, (4, 4), (2, 2))]
    assert [(m.in_features, m.out_features) for m in layers(D, nn.Linear)] == [
        (128 * 16 * 16, 1024), (1024, 1)]
    assert all(m.negative_slope == 0.2 for m in layers(D, nn.LeakyReLU))
    assert [(m.in_features, m.out_features) for m in layers(G, nn.Linear)] == [
        (64, 1024), (1024, 128 * 16 * 16)]
    deconvs = layers(G, nn.ConvTranspose2d)
    assert [(m.in_channels, m.out_channels, m.kernel_size, m.stride) for m in deconvs] == [
        (128, 64, (4, 4), (2, 2)), (64, 3, (4, 4), (2, 2))]
    assert isinstance(list(G.modules())[-1], nn.Sigmoid)


@pytest.mark.parametrize("width", (16, 32, 128))
def test_width_scales_every_layer(width: int) -> None:
    G, D = build_nets("infogan", image_info(1, 16), NetConfig(width=width))
    k = width / 64
    assert [m.out_channels for m in layers(D, nn.Conv2d)] == [64 * k, 128 * k]
    assert layers(D, nn.Linear)[0].out_features == 1024 * k
    assert layers(G, nn.Linear)[0].out_features == 1024 * k
    assert [m.out_channels for m in layers(G, nn.ConvTranspose2d)] == [64 * k, 1]


def test_generator_starts_from_a_quarter_resolution_map() -> None:
    G, _ = build_nets("infogan", image_info(1, 28), NetConfig(z_dim=8, width=8))
    sizes: list[tuple[int, ...]] = []
    for m in layers(G, nn.ConvTranspose2d):
        m.register_forward_hook(lambda mod, inp, out: sizes.append(tuple(inp[0].shape[-2:])))
    G(torch.randn(2, 8))
    assert sizes == [(7, 7), (14, 14)]
