"""Fully connected G and D (Goodfellow et al. 2014), sized as in PacGAN's 2D-mixture experiments.

G: z → 4 × (linear 400, BN, ReLU) → linear to the data size (linear output for vectors, sigmoid for
images). D: 3 maxout layers of 200 units × 5 pieces → linear out, with no normalisation unless asked
(PacGAN's and the original GAN's D have none, so this architecture's ``d_norm`` default is "none");
``cfg.d_norm`` "batch"/"layer" normalise after every maxout layer but the first, "spectral"
reparametrises every linear layer.
Hidden sizes scale with ``cfg.width / 64`` (width 64 = the published 400 and 200). Image data is
flattened, as in the original GAN's MNIST MLP, so any shape works.
"""
from __future__ import annotations

import math

from torch import Tensor, nn

from ganbench.data.base import DatasetInfo
from ganbench.nets.base import Architecture, NetConfig
from ganbench.nets.layers import (SequentialNet, check_config, d_norm, g_norm, output_layer, scaled, uses_bias)

NAME = "mlp"
G_LAYERS, G_UNITS = 4, 400
D_LAYERS, D_UNITS, PIECES = 3, 200, 5


class Maxout(nn.Module):
    """A linear layer to ``units × pieces`` outputs, keeping the largest piece of each unit."""

    def __init__(self, in_features: int, units: int, pieces: int):
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_features, units * pieces)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x).unflatten(1, (self.units, self.pieces)).amax(dim=2)


class MLPGenerator(SequentialNet):
    def __init__(self, info: DatasetInfo, cfg: NetConfig):
        check_config(cfg)
        hidden, bias = scaled(cfg, G_UNITS), uses_bias(cfg.g_norm)
        layers: list[nn.Module] = []
        for i in range(G_LAYERS):
            layers += [nn.Linear(cfg.z_dim if i == 0 else hidden, hidden, bias=bias),
                       g_norm(cfg.g_norm, hidden, spatial=False), nn.ReLU()]
        layers += [nn.Linear(hidden, math.prod(info.shape)), nn.Unflatten(1, tuple(info.shape)),
                   output_layer(info)]
        super().__init__(layers)


class MLPDiscriminator(SequentialNet):
    def __init__(self, info: DatasetInfo, cfg: NetConfig, out_dim: int = 1):
        check_config(cfg)
        hidden = scaled(cfg, D_UNITS)
        layers: list[nn.Module] = [nn.Flatten()]
        for i in range(D_LAYERS):
            layers.append(Maxout(math.prod(info.shape) if i == 0 else hidden, hidden, PIECES))
            if i > 0:
                layers.append(d_norm(cfg.d_norm, hidden, spatial=False))
        layers.append(nn.Linear(hidden, out_dim))
        super().__init__(layers, spectral=cfg.d_norm == "spectral")


MLP = Architecture.declared(NAME, generator=MLPGenerator, discriminator=MLPDiscriminator)
