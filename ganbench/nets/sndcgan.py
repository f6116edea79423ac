"""SNDCGAN, the standard CNN of Miyato et al. (2018), Table 3.

D: per stage a 3×3 s1 conv then a 4×4 s2 conv (64, 64 │ 128, 128 │ 256, 256), a 3×3 conv 512, LReLU(0.1)
throughout, FC out; spectral norm on every layer ALWAYS — it defines the network, so ``cfg.d_norm``
cannot remove it; "batch" or "layer" add that normalisation after every conv but the first (so the
study's "BN in D" switch still means something), "none"/"spectral" leave SN alone.
G: FC → (512, h/8, w/8) → BN → ReLU → deconvs 4×4 s2 256, 128, 64 (BN, ReLU) → conv 3×3 c → sigmoid.
Up to 3 stages while the first map keeps ≥ 4 pixels (32 → 4×4, 64 → 8×8, 28 → 4, 7, 14, 28, 8 → 1 stage).
"""
from __future__ import annotations

from torch import nn

from ganbench.data.base import DatasetInfo
from ganbench.nets.base import Architecture, NetConfig
from ganbench.nets.dcgan import ConvGenerator
from ganbench.nets.layers import (SequentialNet, check_config, conv_out, d_norm, image_shape, plan_shape, scaled,
                                  uses_bias)

NAME = "sndcgan"
MAX_STAGES, MIN_BASE = 3, 4


def _stages(info: DatasetInfo) -> tuple[list[tuple[int, int]], int]:
    c, h, w = image_shape(info, NAME)
    sizes = plan_shape(h, w, MAX_STAGES, MIN_BASE)
    return sizes, len(sizes) - 1


def sndcgan_generator(info: DatasetInfo, cfg: NetConfig) -> ConvGenerator:
    """G with ``k`` 4×4 deconvs; maps of 512→256→128→64 channels at k=3 and width 64, then a 3×3 conv."""
    sizes, stages = _stages(info)
    channels = [scaled(cfg, 64 * 2 ** (stages - i)) for i in range(stages + 1)]
    return ConvGenerator(info, cfg, sizes, channels, kernel=4, to_image_conv=True)


class SNDCGANDiscriminator(SequentialNet):
    def __init__(self, info: DatasetInfo, cfg: NetConfig, out_dim: int = 1):
        check_config(cfg)
        c, h, w = image_shape(info, NAME)
        _, stages = _stages(info)
        bias = uses_bias(cfg.d_norm)
        layers: list[nn.Module] = []
        size, in_ch = (h, w), c
        for i in range(stages):
            ch = scaled(cfg, 64 * 2 ** i)
            norm = nn.Identity() if i == 0 else d_norm(cfg.d_norm, ch)
            layers += [nn.Conv2d(in_ch, ch, 3, 1, 1, bias=i == 0 or bias), norm, nn.LeakyReLU(0.1),
                       nn.Conv2d(ch, ch, 4, 2, 1, bias=bias), d_norm(cfg.d_norm, ch), nn.LeakyReLU(0.1)]
            size, in_ch = conv_out(size, 4, 2, 1), ch
        top = scaled(cfg, 64 * 2 ** stages)
        layers += [nn.Conv2d(in_ch, top, 3, 1, 1, bias=bias), d_norm(cfg.d_norm, top), nn.LeakyReLU(0.1),
                   nn.Flatten(), nn.Linear(top * size[0] * size[1], out_dim)]
        super().__init__(layers, spectral=True)  # always: the architecture is defined with it


SNDCGAN = Architecture.declared(NAME, generator=sndcgan_generator, discriminator=SNDCGANDiscriminator)
