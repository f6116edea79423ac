"""Networks: the ARCHS registry (declared in :mod:`ganbench.catalog`, one module per family), and ``build_nets``.

Families: ``mlp`` (vectors, or flattened images), ``infogan`` (Lucic et al. 2018's main network),
``dcgan``, ``sndcgan`` and ``resnet`` (Kurach et al. 2019). See :mod:`ganbench.nets.base` for the
interface and :mod:`ganbench.nets.layers` for the shared normalisation, init and resolution plan.
"""
from __future__ import annotations

from torch import nn

from ganbench.catalog import names_of_task, task_of
from ganbench.data.base import DatasetInfo
from ganbench.errors import GanbenchError
from ganbench.nets.base import ARCHS, D_NORMS, Architecture, NetConfig
from ganbench.nets.layers import G_NORMS, AutoencoderD

__all__ = ["ARCHS", "D_NORMS", "G_NORMS", "Architecture", "AutoencoderD", "NetConfig", "architecture_for", "build_nets"]


def architecture_for(arch: str, info: DatasetInfo) -> Architecture:
    """The registered architecture ``arch``, checked to handle ``info``'s kind of data.

    Fails with a :class:`GanbenchError` naming the architectures that fit when the data kind is wrong.
    """
    name = ARCHS.canonical(arch)
    spec = ARCHS.get(name)
    if info.kind not in spec.data_kinds:
        fits = [a for a in names_of_task(ARCHS, task_of(ARCHS, name)) if info.kind in ARCHS.meta(a)["data_kinds"]]
        hint = " or ".join(f"'{n}'" for n in fits) or "(none registered)"
        raise GanbenchError(f"architecture '{name}' needs {' or '.join(spec.data_kinds)} data; dataset "
                            f"'{info.name}' is {info.kind} data — use {hint}")
    return spec


def build_nets(arch: str, info: DatasetInfo, cfg: NetConfig) -> tuple[nn.Module, nn.Module]:
    """``(G, D)`` of architecture ``arch`` for dataset ``info``; D is a critic (one logit per sample)."""
    spec = architecture_for(arch, info)
    return spec.generator(info, cfg), spec.discriminator(info, cfg, 1)
