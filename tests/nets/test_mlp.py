"""MLP: PacGAN's 2D-mixture sizes at width 64, maxout, linear output for vectors."""
from __future__ import annotations

import torch
from torch import nn

from ganbench.nets import NetConfig, build_nets
from ganbench.nets.mlp import Maxout

from .netcases import RING, image_info


def test_pacgan_sizes_at_width_64() -> None:
    G, D = build_nets("mlp", RING, NetConfig(z_dim=2, width=64, d_norm="none"))
    assert [(m.in_features, m.out_features) for m in G.modules() if isinstance(m, nn.Linear)] == [
        (2, 400), (400, 400), (400, 400), (400, 400), (400, 2)]
    assert len([m for m in G.modules() if isinstance(m, nn.BatchNorm1d)]) == 4
    assert not any(isinstance(m, (nn.Sigmoid, nn.Tanh)) for m in G.modules())  # vectors are unbounded
    maxouts = [m for m in D.modules() if isinstance(m, Maxout)]
    assert [(m.linear.in_features, m.units, m.pieces) for m in maxouts] == [(2, 200, 5), (200, 200, 5),
                                                                            (200, 200, 5)]
    assert (D.net[-1].in_features, D.net[-1].out_features) == (200, 1)


def test_width_scales_hidden_units() -> None:
    G, D = build_nets("mlp", RING, NetConfig(width=16))
    assert G.net[0].out_features == 100
    assert [m.units for m in D.modules() if isinstance(m, Maxout)] == [50, 50, 50]


def test_maxout_keeps_the_largest_piece() -> None:
    layer = Maxout(1, units=2, pieces=3)
    with torch.no_grad():
        layer.linear.weight.copy_(torch.tensor([[1.0], [-1.0], [2.0], [0.0], [3.0], [-3.0]]))
        layer.linear.bias.zero_()
    assert torch.equal(layer(torch.tensor([[1.0], [-1.0]])), torch.tensor([[2.0, 3.0], [1.0, 3.0]]))


def test_generator_output_is_linear_for_vectors() -> None:
    torch.manual_seed(0)
    G, _ = build_nets("mlp", RING, NetConfig(z_dim=4, width=8))
    with torch.no_grad():
        G.net[-3].bias.fill_(5.0)  # far outside the ring's value range: nothing clips it back
    assert (G(torch.randn(8, 4)) > 4.0).all()


def test_images_are_flattened() -> None:
    _, D = build_nets("mlp", image_info(1, 28), NetConfig(width=8))
    assert [m for m in D.modules() if isinstance(m, Maxout)][0].linear.in_features == 28 * 28
