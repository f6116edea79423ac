"""The small CIFAR ResNet of SNGAN (Miyato et al. 2018) as used by Kurach et al. (2019).

G: FC → (256, h/8, w/8) → 3 up-blocks [BN, ReLU, nearest ×2, conv 3×3, BN, ReLU, conv 3×3; shortcut
×2 + conv 1×1] → BN → ReLU → conv 3×3 c → sigmoid.
D: pre-activation blocks of 128 channels: SNGAN's "optimised" input block (no activation on the
image), more down-sampling blocks until the map is at most 8×8, two plain blocks → ReLU → global sum
pooling → FC out. At 32×32 that is the published 4 blocks (32 → 16 → 8); 8 and 16 get one down block,
28 two (→ 7×7), and 64 three, so the sum always runs over at most 8×8 positions: over 16×16 one Adam
step at lr 1e-3 swung a width-8 D's logits by ~45 and saturated the non-saturating G loss.
At width 64 the channels are the published 256 (G) and 128 (D). G uses up to 3 up-blocks while the
first map keeps ≥ 4 pixels (32 → 4×4, 64 → 8×8, 16 → 2 blocks, 8 → 1); its up-sampling is nearest to
the planned size, which at sides not divisible by 8 includes one uneven step (28: 4 → 7 → 14 → 28).
Init: N(0, 0.02) as in compare_gan, the follow-up study's code. SNGAN's Glorot init (√2 gain, meant
for an always spectral-normalised D) gave batch- or layer-normed Ds logits near 100 at 28–64 px.
"""
from __future__ import annotations

from torch import Tensor, nn

from ganbench.data.base import DatasetInfo
from ganbench.nets.base import Architecture, NetConfig
from ganbench.nets.layers import (add_spectral_norm, check_config, d_norm, g_norm, image_shape, init_normal,
                                  output_layer, plan_shape, scaled, uses_bias)

NAME = "resnet"
MAX_STAGES, MIN_BASE = 3, 4
D_MAX_SIDE = 8  # D down-samples until its maps are at most this big, as on CIFAR


def down_blocks(side: int) -> int:
    """How many of D's blocks halve the map: until it is at most 8 pixels (CIFAR: 32 → 8 in two), ≥ 1."""
    downs = 1
    while side // 2 ** downs > D_MAX_SIDE:
        downs += 1
    return downs


class Residual(nn.Module):
    """``residual(x) + shortcut(x)``; subclasses fill both paths."""

    residual: nn.Sequential
    shortcut: nn.Module

    def forward(self, x: Tensor) -> Tensor:
        return self.residual(x) + self.shortcut(x)


class UpBlock(Residual):
    def __init__(self, in_ch: int, out_ch: int, out_size: tuple[int, int], norm: str):
        super().__init__()
        self.residual = nn.Sequential(
            g_norm(norm, in_ch), nn.ReLU(), nn.Upsample(size=out_size, mode="nearest"),
            nn.Conv2d(in_ch, out_ch, 3, 1, 1, bias=uses_bias(norm)), g_norm(norm, out_ch), nn.ReLU(),
            nn.Conv2d(out_ch, out_ch, 3, 1, 1),
        )
        self.shortcut = nn.Sequential(nn.Upsample(size=out_size, mode="nearest"), nn.Conv2d(in_ch, out_ch, 1))


class DownBlock(Residual):
    """Pre-activation block; ``first`` is SNGAN's optimised input block (no activation on the image)."""

    def __init__(self, in_ch: int, out_ch: int, norm: str, down: bool, first: bool = False):
        super().__init__()
        pool = [nn.AvgPool2d(2)] if down else []
        pre = [] if first else [d_norm(norm, in_ch), nn.ReLU()]
        self.residual = nn.Sequential(
            *pre, nn.Conv2d(in_ch, out_ch, 3, 1, 1, bias=uses_bias(norm)), d_norm(norm, out_ch), nn.ReLU(),
            nn.Conv2d(out_ch, out_ch, 3, 1, 1), *pool,
        )
        if first:
            self.shortcut = nn.Sequential(*pool, nn.Conv2d(in_ch, out_ch, 1))
        elif down or in_ch != out_ch:
            self.shortcut = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1), *pool)
        else:
            self.shortcut = nn.Identity()


class ResNetGenerator(nn.Module):
    def __init__(self, info: DatasetInfo, cfg: NetConfig):
        super().__init__()
        check_config(cfg)
        c, h, w = image_shape(info, NAME)
        sizes = plan_shape(h, w, MAX_STAGES, MIN_BASE)
        ch = scaled(cfg, 256)
        self.stem = nn.Sequential(nn.Linear(cfg.z_dim, ch * sizes[0][0] * sizes[0][1]),
                                  nn.Unflatten(1, (ch, *sizes[0])))
        self.blocks = nn.Sequential(*(UpBlock(ch, ch, size, cfg.g_norm) for size in sizes[1:]))
        self.head = nn.Sequential(g_norm(cfg.g_norm, ch), nn.ReLU(), nn.Conv2d(ch, c, 3, 1, 1),
                                  output_layer(info))
        init_normal(self)

    def forward(self, z: Tensor) -> Tensor:
        return self.head(self.blocks(self.stem(z)))


class ResNetDiscriminator(nn.Module):
    def __init__(self, info: DatasetInfo, cfg: NetConfig, out_dim: int = 1):
        super().__init__()
        check_config(cfg)
        c, h, w = image_shape(info, NAME)
        ch = scaled(cfg, 128)
        downs = down_blocks(min(h, w))
        self.blocks = nn.Sequential(
            DownBlock(c, ch, cfg.d_norm, down=True, first=True),
            *(DownBlock(ch, ch, cfg.d_norm, down=True) for _ in range(downs - 1)),
            DownBlock(ch, ch, cfg.d_norm, down=False),
            DownBlock(ch, ch, cfg.d_norm, down=False),
        )
        self.act = nn.ReLU()
        self.out = nn.Linear(ch, out_dim)
        init_normal(self)
        if cfg.d_norm == "spectral":
            add_spectral_norm(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.out(self.act(self.blocks(x)).sum(dim=(2, 3)))


RESNET = Architecture.declared(NAME, generator=ResNetGenerator, discriminator=ResNetDiscriminator)
