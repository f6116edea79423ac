"""Translation networks: a generator maps a sample of one domain to the other, a discriminator scores patches.

``resnet_patch`` (images) is CycleGAN's pair (Zhu et al. 2017, after Johnson et al. 2016), sized by resolution:

- G: c7s1-k → stride-2 3×3 convs doubling the channels (2 stages at ≥ 16 px, 1 below) → residual blocks of two
  3×3 convs (9 at ≥ 256 px, 6 at ≥ 128, 4 at ≥ 64, else 2) → stride-2 transposed convs back → c7s1 to the image
  channels and the data's range (a sigmoid; CycleGAN's tanh on [−1, 1]). Reflection padding, instance norm.
- D: PatchGAN — 4×4 convs C64 (no norm) then C128, C256, … with stride 2, one stride-1 C·2 and a stride-1 conv to
  one logit per patch, LeakyReLU 0.2, instance norm. Three stride-2 layers at ≥ 128 px (the papers' 70×70
  receptive field), two at ≥ 32 px (34×34), one below (16×16): each patch sees about half the image.

``mlp_pair`` (vectors): G and D are 3-hidden-layer MLPs (ReLU in G, LeakyReLU 0.2 in D), scaled(256) units.

Channel counts scale with ``cfg.width / 64`` as every net here; pix2pix's conditional D is the same D built for
the two domains' samples concatenated (``info`` with twice the channels). Normalisation is fixed (instance
norm, as CycleGAN's code): these nets take no ``d_norm`` / ``g_norm``.
"""
from __future__ import annotations

import math
from dataclasses import replace

from torch import Tensor, nn

from ganbench.data.base import DatasetInfo
from ganbench.nets.base import Architecture, NetConfig
from ganbench.nets.layers import image_shape, init_normal, output_layer, scaled

IMAGE_NAME, VECTOR_NAME = "resnet_patch", "mlp_pair"
MLP_UNITS, MLP_LAYERS = 256, 3


def residual_blocks(side: int) -> int:
    """CycleGAN's 9 blocks at 256 px and 6 at 128, fewer for the small images ganbench trains on CPU."""
    return 9 if side >= 256 else 6 if side >= 128 else 4 if side >= 64 else 2


def down_stages(side: int) -> int:
    return 2 if side >= 16 else 1


def patch_stages(side: int) -> int:
    """Stride-2 layers of the PatchGAN: 3 (70×70 receptive field) from 128 px, 2 (34×34) from 32, else 1."""
    return 3 if side >= 128 else 2 if side >= 32 else 1


def _norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=True)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels), nn.ReLU(),
                                  nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResnetTranslator(nn.Module):
    """CycleGAN's ResNet generator, image → image of the same shape (see the module docstring)."""

    def __init__(self, info: DatasetInfo, cfg: NetConfig):
        super().__init__()
        c, h, w = image_shape(info, IMAGE_NAME)
        side, k = min(h, w), scaled(cfg, 64)
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(c, k, 7), _norm(k), nn.ReLU()]
        ch = k
        for _ in range(down_stages(side)):
            layers += [nn.Conv2d(ch, 2 * ch, 3, stride=2, padding=1), _norm(2 * ch), nn.ReLU()]
            ch *= 2
        layers += [ResidualBlock(ch) for _ in range(residual_blocks(side))]
        for _ in range(down_stages(side)):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 3, stride=2, padding=1, output_padding=1), _norm(ch // 2),
                       nn.ReLU()]
            ch //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, c, 7), output_layer(info)]
        self.net = nn.Sequential(*layers)
        init_normal(self)

    def forward(self, x: Tensor) -> Tensor:
        out = self.net(x)
        if out.shape[-2:] != x.shape[-2:]:  # an odd side comes back one pixel larger from the transposed convs
            out = out[..., : x.shape[-2], : x.shape[-1]]
        return out


class PatchDiscriminator(nn.Module):
    """PatchGAN: one logit per overlapping patch, returned flattened to (B, patches) (see the module docstring)."""

    def __init__(self, info: DatasetInfo, cfg: NetConfig, out_dim: int = 1):
        super().__init__()
        c, h, w = image_shape(info, IMAGE_NAME)
        if out_dim != 1:
            raise ValueError("a PatchGAN discriminator scores patches with one logit each (out_dim 1)")
        k = scaled(cfg, 64)
        layers: list[nn.Module] = [nn.Conv2d(c, k, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        ch = k
        for _ in range(patch_stages(min(h, w)) - 1):
            layers += [nn.Conv2d(ch, 2 * ch, 4, stride=2, padding=1), _norm(2 * ch), nn.LeakyReLU(0.2)]
            ch *= 2
        layers += [nn.Conv2d(ch, 2 * ch, 4, stride=1, padding=1), _norm(2 * ch), nn.LeakyReLU(0.2),
                   nn.Conv2d(2 * ch, 1, 4, stride=1, padding=1)]
        self.net = nn.Sequential(*layers)
        init_normal(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).flatten(1)


def _mlp(sizes: list[int], activation: type[nn.Module], **kw) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(activation(**kw))
    return nn.Sequential(*layers)


class MLPTranslator(nn.Module):
    """Vector → vector of the same size: 3 hidden ReLU layers."""

    def __init__(self, info: DatasetInfo, cfg: NetConfig):
        super().__init__()
        d, hidden = math.prod(info.shape), scaled(cfg, MLP_UNITS)
        self.net = _mlp([d] + [hidden] * MLP_LAYERS + [d], nn.ReLU)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x.flatten(1)).view_as(x)


class MLPCritic(nn.Module):
    """Vector → one logit: 3 hidden LeakyReLU(0.2) layers."""

    def __init__(self, info: DatasetInfo, cfg: NetConfig, out_dim: int = 1):
        super().__init__()
        d, hidden = math.prod(info.shape), scaled(cfg, MLP_UNITS)
        self.net = _mlp([d] + [hidden] * MLP_LAYERS + [out_dim], nn.LeakyReLU, negative_slope=0.2)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x.flatten(1))


def paired_info(info: DatasetInfo) -> DatasetInfo:
    """What pix2pix's conditional D sees: a source sample and a target sample, concatenated (channels or features)."""
    return replace(info, shape=(2 * info.shape[0], *info.shape[1:]))


RESNET_PATCH = Architecture.declared(IMAGE_NAME, generator=ResnetTranslator, discriminator=PatchDiscriminator)
MLP_PAIR = Architecture.declared(VECTOR_NAME, generator=MLPTranslator, discriminator=MLPCritic)
