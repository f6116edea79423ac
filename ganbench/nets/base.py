"""What an architecture provides: a generator and a discriminator trunk built for a dataset.

``generator(info, cfg)`` maps ``(B, cfg.z_dim)`` to ``(B, *info.shape)`` inside ``info.value_range``.
``discriminator(info, cfg, out_dim)`` maps ``(B, *info.shape)`` to ``(B, out_dim)``; ``out_dim=1``
is a GAN critic (a logit), a larger ``out_dim`` makes the same trunk an encoder, which is how the VAE
baseline and BEGAN's autoencoder discriminator reuse every architecture. An architecture whose paper
defines its own VAE decoder or BEGAN autoencoder (the study's InfoGAN-style net) says so in
``decoder`` / ``autoencoder``. Nets know nothing of losses.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from torch import nn

from ganbench.data.base import DatasetInfo
from ganbench.catalog import ARCHS

D_NORMS = ("batch", "none", "spectral", "layer")


@dataclass(frozen=True)
class NetConfig:
    z_dim: int = 64
    width: int = 64  # base channel count (convs) or hidden units (MLP)
    d_norm: str = "batch"  # normalisation in D: one of D_NORMS
    g_norm: str = "batch"  # normalisation in G: "batch", "layer" or "none"


@dataclass(frozen=True)
class Architecture:
    name: str
    generator: Callable[[DatasetInfo, NetConfig], nn.Module]
    discriminator: Callable[[DatasetInfo, NetConfig, int], nn.Module]
    data_kinds: tuple[str, ...]  # ("image",) or ("vector",)
    description: str = ""
    #: the VAE's decoder, when it is not the generator itself: ``decoder(info, cfg)``
    decoder: Callable[[DatasetInfo, NetConfig], nn.Module] | None = None
    #: BEGAN's autoencoder D, when the architecture defines one: ``autoencoder(info, cfg, code_dim)``
    autoencoder: Callable[[DatasetInfo, NetConfig, int], nn.Module] | None = None
    #: defaults this architecture's papers use where they differ from the hyperparameter registry's
    hparam_defaults: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def declared(cls, name: str, **builders: Any) -> "Architecture":
        """The architecture ``name`` with ``builders`` (generator, discriminator, ...) and the data kinds,
        description and hparam defaults of its catalog entry, stated there only: suite validation and
        ``ganbench plan`` read them without importing the networks."""
        meta = ARCHS.meta(name)
        return cls(name=name, data_kinds=tuple(meta["data_kinds"]), description=meta["description"],
                   hparam_defaults=dict(meta["hparam_defaults"]), **builders)
