"""The "InfoGAN-style" network, the main architecture of Lucic et al. (2018), as compare_gan v1.0 ran it.

Every layer follows ``compare_gan/src/gans/abstract_gan.py`` (G and D), ``BEGAN.py`` (BEGAN's
autoencoder D) and ``VAE.py`` (the VAE's decoder), with ``ops.py``'s constants:

D: conv 64 4×4 s2 → LReLU(0.2) → conv 128 4×4 s2 → [norm] → LReLU → FC 1024 → [norm] → LReLU → FC out.
G: FC 1024 → BN → LReLU(0.2) → FC 128·(h/4)·(w/4) → BN → LReLU → deconv 64 4×4 s2 → BN → LReLU →
deconv c 4×4 s2 → sigmoid. (LeakyReLU, not the InfoGAN paper's ReLU: ``abstract_gan.generator`` applies
``lrelu`` after every batch norm.)
VAE decoder: the same layers with ReLU (``VAE.decoder``); the encoder is D's trunk with 2·z_dim outputs.
BEGAN's D (``BEGAN.discriminator``, ≈1.07M parameters on 28×28×1 against the standard D's 6.5M):
encoder conv 64 4×4 s2 → LReLU → conv 128 4×4 s2 → FC 64 → [norm] → LReLU; decoder FC 128·(h/4)·(w/4)
→ [norm] → LReLU → deconv 64 4×4 s2 → [norm] → LReLU → deconv c 4×4 s2 → sigmoid.

Batch norm is the study's (decay 0.999, ε 1e-3, :class:`~ganbench.nets.layers.StudyBatchNorm`); conv
weights start from a normal truncated at ±2σ, linear and deconv weights from a plain N(0, 0.02). A
layer feeding a batch norm has no bias (TensorFlow's had one, which batch norm cancels exactly). D's
norm layers follow ``d_norm`` (batch, layer, spectral or none), BEGAN's decoder included. Channel
counts scale with ``cfg.width / 64``. Sides not divisible by 4 use ⌈h/4⌉, ⌈h/2⌉ and deconvs solved to
land on h exactly (28 → 7 → 14 → 28 needs no rounding at all).
"""
from __future__ import annotations

from torch import nn

from ganbench.data.base import DatasetInfo
from ganbench.nets.base import Architecture, NetConfig
from ganbench.nets.layers import (SequentialNet, check_config, conv_out, d_norm, g_norm, image_shape,
                                  output_layer, plan_shape, scaled, study_batch_norm, up_conv, uses_bias)

NAME = "infogan"
LEAK = 0.2  # ops.lrelu


def _activation(kind: str) -> nn.Module:
    return nn.LeakyReLU(LEAK) if kind == "lrelu" else nn.ReLU()


class InfoGANGenerator(SequentialNet):
    """The study's G (``activation="lrelu"``) or its VAE decoder (``activation="relu"``)."""

    def __init__(self, info: DatasetInfo, cfg: NetConfig, activation: str = "lrelu"):
        check_config(cfg)
        c, h, w = image_shape(info, NAME)
        base, mid, full = plan_shape(h, w, max_stages=2, min_base=1)  # always two stride-2 stages
        fc, ch2, ch1 = scaled(cfg, 1024), scaled(cfg, 128), scaled(cfg, 64)
        first = ch2 * base[0] * base[1]
        bias = uses_bias(cfg.g_norm)

        def norm(features: int, spatial: bool = True) -> nn.Module:
            return g_norm(cfg.g_norm, features, spatial, batch=study_batch_norm)

        super().__init__([
            nn.Linear(cfg.z_dim, fc, bias=bias), norm(fc, spatial=False), _activation(activation),
            nn.Linear(fc, first, bias=bias), norm(first, spatial=False), _activation(activation),
            nn.Unflatten(1, (ch2, *base)),
            up_conv(ch2, ch1, 4, base, mid, bias=bias), norm(ch1), _activation(activation),
            up_conv(ch1, c, 4, mid, full), output_layer(info),
        ], truncated_convs=True)


def vae_decoder(info: DatasetInfo, cfg: NetConfig) -> nn.Module:
    """``VAE.decoder``: the generator's layers with ReLU after each batch norm."""
    return InfoGANGenerator(info, cfg, activation="relu")


class InfoGANDiscriminator(SequentialNet):
    def __init__(self, info: DatasetInfo, cfg: NetConfig, out_dim: int = 1):
        check_config(cfg)
        c, h, w = image_shape(info, NAME)
        ch1, ch2, fc = scaled(cfg, 64), scaled(cfg, 128), scaled(cfg, 1024)
        end = conv_out(conv_out((h, w), 4, 2, 1), 4, 2, 1)
        bias = uses_bias(cfg.d_norm)
        super().__init__([
            nn.Conv2d(c, ch1, 4, 2, 1), nn.LeakyReLU(LEAK),
            nn.Conv2d(ch1, ch2, 4, 2, 1, bias=bias), d_norm(cfg.d_norm, ch2, batch=study_batch_norm),
            nn.LeakyReLU(LEAK),
            nn.Flatten(),
            nn.Linear(ch2 * end[0] * end[1], fc, bias=bias),
            d_norm(cfg.d_norm, fc, spatial=False, batch=study_batch_norm), nn.LeakyReLU(LEAK),
            nn.Linear(fc, out_dim),
        ], spectral=cfg.d_norm == "spectral", truncated_convs=True)


class BeganAutoencoder(SequentialNet):
    """The study's BEGAN discriminator: a small conv autoencoder with a ``code_dim`` bottleneck.

    Unlike the standard D it has no FC 1024 layer and no norm after its second conv (``BEGAN.py``);
    its three norm layers (code, decoder FC, first deconv) follow ``d_norm``.
    """

    def __init__(self, info: DatasetInfo, cfg: NetConfig, code_dim: int = 64):
        check_config(cfg)
        c, h, w = image_shape(info, NAME)
        base, mid, full = plan_shape(h, w, max_stages=2, min_base=1)
        ch1, ch2 = scaled(cfg, 64), scaled(cfg, 128)
        end = conv_out(conv_out((h, w), 4, 2, 1), 4, 2, 1)
        bias = uses_bias(cfg.d_norm)

        def norm(features: int, spatial: bool = True) -> nn.Module:
            return d_norm(cfg.d_norm, features, spatial, batch=study_batch_norm)

        super().__init__([
            # encoder: [B, c, h, w] → [B, code_dim]
            nn.Conv2d(c, ch1, 4, 2, 1), nn.LeakyReLU(LEAK),
            nn.Conv2d(ch1, ch2, 4, 2, 1), nn.Flatten(),
            nn.Linear(ch2 * end[0] * end[1], code_dim, bias=bias), norm(code_dim, spatial=False),
            nn.LeakyReLU(LEAK),
            # decoder: [B, code_dim] → [B, c, h, w]
            nn.Linear(code_dim, ch2 * base[0] * base[1], bias=bias), norm(ch2 * base[0] * base[1], spatial=False),
            nn.LeakyReLU(LEAK), nn.Unflatten(1, (ch2, *base)),
            up_conv(ch2, ch1, 4, base, mid, bias=bias), norm(ch1), nn.LeakyReLU(LEAK),
            up_conv(ch1, c, 4, mid, full), output_layer(info),
        ], spectral=cfg.d_norm == "spectral", truncated_convs=True)


INFOGAN = Architecture.declared(NAME, generator=InfoGANGenerator, discriminator=InfoGANDiscriminator,
                                decoder=vae_decoder, autoencoder=BeganAutoencoder)
