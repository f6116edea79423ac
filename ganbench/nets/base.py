"""What an architecture provides: a generator and a discriminator trunk built for a dataset.

``generator(info, cfg)`` maps ``(B, cfg.z_dim)`` to ``(B, *info.shape)`` inside ``info.value_range``.
``discriminator(info, cfg, out_dim)`` maps ``(B, *info.shape)`` to ``(B, out_dim)``; ``out_dim=1``
is a GAN critic (a logit), a larger ``out_dim`` makes the same trunk an encoder, which is how the VAE
baseline and BEGAN's autoencoder discriminator reuse every architecture. Nets know nothing of losses.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn

from ganbench.data.base import DatasetInfo
from ganbench.registry import Registry

D_NORMS = ("batch", "none", "spectral", "layer")


@dataclass(frozen=True)
class NetConfig:
    z_dim: int = 64
    width: int = 64  # base channel count (convs) or hidden units (MLP)
    d_norm: str = "batch"  # normalisation in D: one of D_NORMS
    g_norm: str = "batch"  # normalisation in G: "batch" or "none"


@dataclass(frozen=True)
class Architecture:
    name: str
    generator: Callable[[DatasetInfo, NetConfig], nn.Module]
    discriminator: Callable[[DatasetInfo, NetConfig, int], nn.Module]
    data_kinds: tuple[str, ...]  # ("image",) or ("vector",)
    description: str = ""


class AutoencoderD(nn.Module):
    """Encoder (a D trunk with ``code_dim`` outputs) followed by a decoder (a generator).

    BEGAN's discriminator; the loss sees the per-sample L1 reconstruction error.
    """

    def __init__(self, arch: Architecture, info: DatasetInfo, cfg: NetConfig, code_dim: int = 64):
        super().__init__()
        self.encoder = arch.discriminator(info, cfg, code_dim)
        self.decoder = arch.generator(info, NetConfig(z_dim=code_dim, width=cfg.width, d_norm=cfg.d_norm,
                                                      g_norm="none" if cfg.d_norm == "none" else "batch"))

    def forward(self, x):
        return self.decoder(self.encoder(x))


ARCHS: Registry[Architecture] = Registry("architecture")
