"""Adapter from torch-fidelity's feature extractors (``nn.Module``s on uint8 RGB) to ganbench's.

torch-fidelity's extractors take uint8 images in 0..255, (N, 3, H, W), and resize inside (bilinear,
TF1-compatible) to their own input size, so ganbench hands them its images untouched apart from
the value range and the channel count. They are built directly (not through
``torch_fidelity.utils.create_feature_extractor``, whose ``cuda=True`` default would move them to
a GPU), then placed on the context's device.
"""
from __future__ import annotations

import inspect
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Mapping
from urllib.parse import urlparse

import torch
from torch import nn

from ganbench.data.base import DatasetInfo
from ganbench.errors import GanbenchError
from ganbench.features.base import ExtractorContext, Features
from ganbench.features.common import extractor_options, positive_int, run_batched
from ganbench.features.weights import LocalResource, file_sha256, load_state_dict_safely, resolve


def url_file_name(url: str) -> str:
    """The file name torch.hub caches ``url`` under (the last path component)."""
    return PurePosixPath(urlparse(url).path).name


def fidelity_kwargs(cls: type, **kwargs: Any) -> dict[str, Any]:
    """``kwargs`` if ``cls.__init__`` names every one of them.

    torch-fidelity's constructors end in ``**kwargs`` and ignore what they do not read, so a
    misspelt ``feature_extractor_weights_path`` would quietly fall back to downloading. Only names
    the signature spells out are allowed through.
    """
    params = inspect.signature(cls.__init__).parameters
    known = {name for name, p in params.items()
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} - {"self", "name", "features_list"}
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise TypeError(f"{cls.__name__} does not take {', '.join(unknown)} (it takes {', '.join(sorted(known))})")
    return kwargs


def construct(cls: type, fidelity_name: str, features: list[str], what: str, **kwargs: Any) -> nn.Module:
    """Instantiate a torch-fidelity extractor; a weights file that does not fit becomes a user error."""
    try:
        return cls(fidelity_name, features, **fidelity_kwargs(cls, **kwargs))
    except (RuntimeError, ValueError) as exc:  # load_state_dict mismatch, jit archive errors, vassert
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GanbenchError(f"{what}: torch-fidelity could not build '{fidelity_name}' from "
                            f"{kwargs.get('feature_extractor_weights_path', 'its files')}: {first}") from exc


def to_uint8_rgb(x: torch.Tensor, value_range: tuple[float, float]) -> torch.Tensor:
    """Images in ``value_range`` → uint8 0..255 with 3 channels (grayscale tiled), as torch-fidelity wants.

    Rounded, not truncated: a uint8 image stored as ``u / 255`` comes back as exactly ``u``.
    """
    low, high = value_range
    x = ((x.to(torch.float32) - low) / (high - low)).clamp(0.0, 1.0)
    x = (x * 255.0).round().to(torch.uint8)
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


class FidelityExtractor:
    """A torch-fidelity module as a ganbench :class:`~ganbench.features.base.FeatureExtractor`."""

    def __init__(self, module: nn.Module, *, name: str, identity: str, pool_layer: str,
                 logits_layer: str | None, info: DatasetInfo, batch_size: int, device: torch.device):
        expected = [pool_layer] + ([logits_layer] if logits_layer else [])
        if list(module.features_list) != expected:
            raise ValueError(f"{name}: module computes {module.features_list}, expected {expected}")
        self.module = module.to(device).eval()
        self.name, self.identity = name, identity
        self.pool_layer, self.logits_layer = pool_layer, logits_layer
        self.value_range = info.value_range
        self.batch_size, self.device = batch_size, device
        self.preprocessing = (f"{info.value_range[0]:g}..{info.value_range[1]:g} → uint8 (rounded), grayscale tiled "
                              "to RGB, resized inside torch-fidelity's network to its input size (bilinear, "
                              "TF1-compatible)")

    def __call__(self, x: torch.Tensor) -> Features:
        if x.dim() != 4 or x.shape[1] not in (1, 3):
            raise GanbenchError(f"feature extractor '{self.name}' needs images (N, 1|3, H, W), got {tuple(x.shape)}")
        outputs = run_batched(lambda b: self.module(to_uint8_rgb(b, self.value_range)), x, self.batch_size,
                              self.device)
        return Features(pool=outputs[0], logits=outputs[1] if self.logits_layer else None)


def check_rgb_or_gray(name: str, info: DatasetInfo) -> None:
    """ImageNet networks see RGB; grayscale is tiled to 3 channels, anything else has no meaning to them.

    Factories call this before loading weights, so a wrong pairing fails in milliseconds.
    """
    if info.kind != "image" or info.channels not in (1, 3):
        raise GanbenchError(f"feature extractor '{name}' works on 1- or 3-channel images; dataset "
                            f"'{info.name}' is {info.kind} data of shape {tuple(info.shape)} — use 'raw' or 'domain'")


def option_choice(extractor: str, key: str, value: Any, choices: Mapping[str, Any]) -> str:
    """``value`` if it is one of ``choices``' keys, else a GanbenchError listing them."""
    if value not in choices:
        raise GanbenchError(f"feature extractor '{extractor}': option '{key}' must be one of "
                            f"{', '.join(choices)}; got {value!r}")
    return str(value)


def image_options(name: str, ctx: ExtractorContext, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Checked options (which must include ``batch_size``) for an ImageNet extractor on ``ctx.dataset``.

    Runs before any weights are touched, so a bad option or dataset fails in milliseconds.
    """
    options = extractor_options(name, ctx.options, defaults)
    positive_int(name, "batch_size", options["batch_size"])
    check_rgb_or_gray(name, ctx.dataset.info)
    return options


def from_local_weights(ctx: ExtractorContext, options: Mapping[str, Any], *, name: str, fidelity_name: str,
                       resource: LocalResource, make_module: Callable[[Path], nn.Module], pool_layer: str,
                       logits_layer: str | None = None, state_dict_file: bool = True) -> FidelityExtractor:
    """Resolve ``resource`` on disk, build the module from it, wrap it; identity = name + file hash.

    ``state_dict_file``: the file is a plain state dict that torch-fidelity will unpickle without
    ``weights_only``, so it is first proven loadable with ``weights_only=True``.
    """
    path = resolve(resource, options)
    if state_dict_file:
        load_state_dict_safely(path, resource.what)
    module = make_module(path)
    return FidelityExtractor(module, name=name, identity=f"{fidelity_name}@{file_sha256(path)[:12]}",
                             pool_layer=pool_layer, logits_layer=logits_layer, info=ctx.dataset.info,
                             batch_size=options["batch_size"], device=ctx.device)
