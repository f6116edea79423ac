"""The "InfoGAN-style" network, the main architecture of Lucic et al. (2018).

D: conv 64 4×4 s2 → LReLU(0.2) → conv 128 4×4 s2 → [norm] → LReLU → FC 1024 → [norm] → LReLU → FC out.
G: FC 1024 → BN → ReLU → FC 128·(h/4)·(w/4) → BN → ReLU → deconv 64 4×4 s2 → BN → ReLU → deconv c 4×4 s2
→ sigmoid. Channel counts scale with ``cfg.width / 64``. Sides not divisible by 4 use ⌈h/4⌉, ⌈h/2⌉
and deconvs solved to land on h exactly (28 → 7 → 14 → 28 needs no rounding at all).
"""
from __future__ import annotations

from torch import nn

from ganbench.data.base import DatasetInfo
from ganbench.nets.base import ARCHS, Architecture, NetConfig
from ganbench.nets.layers import (SequentialNet, check_config, conv_out, d_norm, g_norm, image_shape,
                                  output_layer, plan_shape, scaled, up_conv, uses_bias)

NAME = "infogan"
RESOLUTIONS = (8, 16, 28, 32, 64)  # tested; any side ≥ 8 works


class InfoGANGenerator(SequentialNet):
    def __init__(self, info: DatasetInfo, cfg: NetConfig):
        check_config(cfg)
        c, h, w = image_shape(info, NAME)
        base, mid, full = plan_shape(h, w, max_stages=2, min_base=1)  # always two stride-2 stages
        fc, ch2, ch1 = scaled(cfg, 1024), scaled(cfg, 128), scaled(cfg, 64)
        first = ch2 * base[0] * base[1]
        bias = uses_bias(cfg.g_norm)
        super().__init__([
            nn.Linear(cfg.z_dim, fc, bias=bias), g_norm(cfg.g_norm, fc, spatial=False), nn.ReLU(),
            nn.Linear(fc, first, bias=bias), g_norm(cfg.g_norm, first, spatial=False), nn.ReLU(),
            nn.Unflatten(1, (ch2, *base)),
            up_conv(ch2, ch1, 4, base, mid, bias=bias), g_norm(cfg.g_norm, ch1), nn.ReLU(),
            up_conv(ch1, c, 4, mid, full), output_layer(info),
        ])


class InfoGANDiscriminator(SequentialNet):
    def __init__(self, info: DatasetInfo, cfg: NetConfig, out_dim: int = 1):
        check_config(cfg)
        c, h, w = image_shape(info, NAME)
        ch1, ch2, fc = scaled(cfg, 64), scaled(cfg, 128), scaled(cfg, 1024)
        end = conv_out(conv_out((h, w), 4, 2, 1), 4, 2, 1)
        bias = uses_bias(cfg.d_norm)
        super().__init__([
            nn.Conv2d(c, ch1, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(ch1, ch2, 4, 2, 1, bias=bias), d_norm(cfg.d_norm, ch2), nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(ch2 * end[0] * end[1], fc, bias=bias), d_norm(cfg.d_norm, fc, spatial=False),
            nn.LeakyReLU(0.2),
            nn.Linear(fc, out_dim),
        ], spectral=cfg.d_norm == "spectral")


INFOGAN = Architecture(
    name=NAME, generator=InfoGANGenerator, discriminator=InfoGANDiscriminator, data_kinds=("image",),
    description="InfoGAN-style conv net, the main network of Lucic et al. 2018 (2 stride-2 stages, FC 1024)",
)
ARCHS.add(NAME, INFOGAN, data_kinds=INFOGAN.data_kinds, description=INFOGAN.description,
          resolutions=RESOLUTIONS)
