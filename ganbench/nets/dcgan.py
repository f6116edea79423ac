"""DCGAN (Radford et al. 2016) in the form of the follow-up study (Kurach et al. 2019, compare_gan).

D: conv 64/128/256/512 5×5 s2 (no norm on the first) with LeakyReLU(0.2) → FC out.
G: FC → (512, h/16, w/16) → BN → ReLU → deconvs 5×5 s2 512→256→128→64→c → sigmoid.
The stage count adapts to the resolution: up to 4 halvings while the first map keeps ≥ 2 pixels,
rounding up as compare_gan did (64 → 4×4 base; 32 → 2×2; 28 → 2, 4, 7, 14, 28; 16 → 2×2 in 3 stages;
8 → 2×2 in 2 stages). With k < 4 stages the top (widest) layers are the ones dropped.
"""
from __future__ import annotations

from torch import nn

from ganbench.data.base import DatasetInfo
from ganbench.nets.base import Architecture, NetConfig
from ganbench.nets.layers import (SequentialNet, check_config, conv_out, d_norm, g_norm, image_shape,
                                  output_layer, plan_shape, scaled, up_conv, uses_bias)

NAME = "dcgan"
MAX_STAGES, MIN_BASE = 4, 2


class ConvGenerator(SequentialNet):
    """FC → first feature map → stride-2 deconvs with norm and ReLU → image (DCGAN and SNDCGAN G).

    ``channels`` are the maps' channel counts from the first map on, one more than the deconvs; with
    ``to_image_conv`` a 3×3 conv turns the last map into the image (SNDCGAN), otherwise the last deconv
    outputs the image channels itself (DCGAN) and ``channels`` ends with them.
    """

    def __init__(self, info: DatasetInfo, cfg: NetConfig, sizes: list[tuple[int, int]],
                 channels: list[int], kernel: int, to_image_conv: bool):
        check_config(cfg)
        c = info.shape[0]
        bias = uses_bias(cfg.g_norm)
        layers: list[nn.Module] = [
            nn.Linear(cfg.z_dim, channels[0] * sizes[0][0] * sizes[0][1]),
            nn.Unflatten(1, (channels[0], *sizes[0])), g_norm(cfg.g_norm, channels[0]), nn.ReLU(),
        ]
        for i in range(len(sizes) - 1):
            last = i == len(sizes) - 2 and not to_image_conv
            layers.append(up_conv(channels[i], channels[i + 1], kernel, sizes[i], sizes[i + 1],
                                  bias=bias or last))
            if not last:
                layers += [g_norm(cfg.g_norm, channels[i + 1]), nn.ReLU()]
        if to_image_conv:
            layers.append(nn.Conv2d(channels[-1], c, 3, 1, 1))
        layers.append(output_layer(info))
        super().__init__(layers)


def dcgan_generator(info: DatasetInfo, cfg: NetConfig) -> ConvGenerator:
    """G with ``k`` 5×5 deconvs; channels 512→256→128→64→c at k=4 and width 64."""
    c, h, w = image_shape(info, NAME)
    sizes = plan_shape(h, w, MAX_STAGES, MIN_BASE)
    stages = len(sizes) - 1
    channels = [scaled(cfg, 64 * 2 ** (stages - 1 - i)) for i in range(stages)] + [c]
    return ConvGenerator(info, cfg, sizes, channels, kernel=5, to_image_conv=False)


class DCGANDiscriminator(SequentialNet):
    """``k`` 5×5 stride-2 convs, 64·2^i channels, mirroring the generator's stage plan."""

    def __init__(self, info: DatasetInfo, cfg: NetConfig, out_dim: int = 1):
        check_config(cfg)
        c, h, w = image_shape(info, NAME)
        stages = len(plan_shape(h, w, MAX_STAGES, MIN_BASE)) - 1
        layers: list[nn.Module] = []
        size, in_ch = (h, w), c
        for i in range(stages):
            out_ch = scaled(cfg, 64 * 2 ** i)
            norm = nn.Identity() if i == 0 else d_norm(cfg.d_norm, out_ch)
            layers += [nn.Conv2d(in_ch, out_ch, 5, 2, 2, bias=i == 0 or uses_bias(cfg.d_norm)), norm,
                       nn.LeakyReLU(0.2)]
            size, in_ch = conv_out(size, 5, 2, 2), out_ch
        layers += [nn.Flatten(), nn.Linear(in_ch * size[0] * size[1], out_dim)]
        super().__init__(layers, spectral=cfg.d_norm == "spectral")


DCGAN = Architecture.declared(NAME, generator=dcgan_generator, discriminator=DCGANDiscriminator)
