"""``dinov2``, ``clip``, ``vgg16``: torch-fidelity 0.4.0's other extractors, from local weights files.

These give the "FID in another feature space" numbers (FD-DINOv2, FD-CLIP) that later work prefers
to Inception. None has a classifier head ganbench uses, so they offer pool features only. Weights
are resolved like Inception's (option ``weights``, ``GANBENCH_<NAME>_WEIGHTS``, torch.hub cache, else
fetched and verified when online: :mod:`ganbench.features.weights`).

DINOv2 takes one extra step: torch-fidelity 0.4.0 builds it only through
``torch.hub.load("facebookresearch/dinov2", ...)`` (a weights path raises NotImplementedError),
which asks github.com for the default branch before using any cache. ganbench instead loads the
same hub repository from disk (``source="local"``), fills the backbone from the local checkpoint,
and runs torch-fidelity's own preprocessing and forward on it.
"""
from __future__ import annotations

import functools
import warnings
from pathlib import Path

import torch
from torch import nn

from ganbench.errors import GanbenchError
from ganbench.features.base import ExtractorContext
from ganbench.features.fidelity import (FidelityExtractor, construct, from_local_weights, image_options,
                                        option_choice, url_file_name)
from ganbench.features.weights import LocalResource, hub_hash_prefix, load_state_dict_safely, resolve

DINOV2_BASE_URL = "https://dl.fbaipublicfiles.com/dinov2"  # where the hub repository's code fetches from
DINOV2_REPO = LocalResource(extractor="dinov2", what="DINOv2 model code (torch.hub repository facebookresearch/dinov2)",
                            file_name="facebookresearch_dinov2_main", url="https://github.com/facebookresearch/dinov2",
                            option="repo", env_var="GANBENCH_DINOV2_REPO", hub_subdir="", is_dir=True)
VGG16_URL = "https://download.pytorch.org/models/vgg16-397923af.pth"  # torchvision's VGG16_Weights.IMAGENET1K_V1
VGG16_WEIGHTS = LocalResource(extractor="vgg16", what="VGG16 weights (torchvision IMAGENET1K_V1, torch-fidelity 'vgg16')",
                              file_name=url_file_name(VGG16_URL), url=VGG16_URL,
                              sha256=hub_hash_prefix(url_file_name(VGG16_URL)))  # torchvision checks this prefix


def dinov2_weights(variant: str, entry: str) -> LocalResource:
    """The backbone checkpoint of hub entry ``entry`` (e.g. ``dinov2_vits14``). Meta publishes no digest
    and the hub code loads it unchecked, so a fetched file is not verified (``check == "none"``)."""
    return LocalResource(extractor="dinov2", what=f"DINOv2 weights (torch-fidelity '{variant}')",
                         file_name=f"{entry}_pretrain.pth", url=f"{DINOV2_BASE_URL}/{entry}/{entry}_pretrain.pth")


def clip_weights(variant: str) -> LocalResource:
    """OpenAI's TorchScript file for ``variant``, under the name torch-fidelity saves it as
    (``load_state_dict_from_url(..., file_name=...)``). The hex in its URL is the file's full SHA-256,
    which OpenAI's own ``clip`` package verifies."""
    from torch_fidelity.feature_extractor_clip import MODEL_METADATA, MODEL_URLS

    digest = MODEL_METADATA[variant]["hash"]
    return LocalResource(extractor="clip", what=f"CLIP weights (torch-fidelity '{variant}')",
                         file_name=f"{variant}-{digest}.pt", url=MODEL_URLS[variant], sha256=digest)


def build_dinov2(ctx: ExtractorContext) -> FidelityExtractor:
    options = image_options("dinov2", ctx, {"weights": None, "repo": None, "batch_size": 64,
                                            "variant": "dinov2-vit-s-14"})  # ViT-S/14: 384-d, the cheapest
    from torch_fidelity.feature_extractor_dinov2 import MODEL_METADATA

    variant = option_choice("dinov2", "variant", options["variant"], MODEL_METADATA)
    entry = MODEL_METADATA[variant]  # hub entry point, e.g. "dinov2_vits14"
    weights = dinov2_weights(variant, entry)
    repo = resolve(DINOV2_REPO, options)  # before the weights: without code the weights are no use

    def make_module(path: Path) -> nn.Module:
        return _local_dinov2_class()(variant, ["dinov2"], _dinov2_backbone(repo, entry, path, weights.what))

    return from_local_weights(ctx, options, name="dinov2", fidelity_name=variant, resource=weights,
                              make_module=make_module, pool_layer="dinov2", state_dict_file=False)


def _dinov2_backbone(repo: Path, entry: str, weights: Path, what: str) -> nn.Module:
    """The hub repository's ``entry`` built without its download, then filled from ``weights``."""
    try:
        backbone = torch.hub.load(str(repo), entry, source="local", pretrained=False)
    except ImportError as exc:
        raise GanbenchError(f"DINOv2's model code in {repo} imports '{exc.name}', which is not installed: "
                            f"pip install the package that provides it") from exc
    except RuntimeError as exc:
        if "Missing dependencies" not in str(exc):
            raise
        raise GanbenchError(f"DINOv2's model code in {repo} says: {exc}; pip install them") from exc
    missing, _unexpected = backbone.load_state_dict(load_state_dict_safely(weights, what), strict=False)
    if missing:  # the hub code itself loads non-strictly; a missing parameter still means a wrong file
        raise GanbenchError(f"{what}: {weights} lacks {len(missing)} of the network's tensors "
                            f"(e.g. {missing[0]}); is it the checkpoint of '{entry}'?")
    return backbone


@functools.cache
def _local_dinov2_class() -> type:
    """torch-fidelity's DINOv2 extractor, constructed around a given backbone instead of a hub download.

    Only ``__init__`` changes; ``forward`` (TF1-style resize to 224, ImageNet normalisation, CLS
    embedding) stays torch-fidelity's. Built on first use so importing ganbench does not import
    torch-fidelity.
    """
    from torch_fidelity.feature_extractor_base import FeatureExtractorBase
    from torch_fidelity.feature_extractor_dinov2 import FeatureExtractorDinoV2

    class LocalDinoV2(FeatureExtractorDinoV2):
        def __init__(self, name: str, features_list: list[str], backbone: nn.Module):
            FeatureExtractorBase.__init__(self, name, features_list)  # skips the parent's torch.hub.load
            self.feature_extractor_internal_dtype = torch.float32
            self.model = backbone.to(torch.float32)
            self.requires_grad_(False)
            self.eval()

    return LocalDinoV2


def build_clip(ctx: ExtractorContext) -> FidelityExtractor:
    options = image_options("clip", ctx, {"weights": None, "batch_size": 64,
                                          "variant": "clip-vit-b-32"})  # ViT-B/32: the FD-CLIP convention
    from torch_fidelity.feature_extractor_clip import MODEL_METADATA, FeatureExtractorCLIP

    variant = option_choice("clip", "variant", options["variant"], MODEL_METADATA)
    resource = clip_weights(variant)

    def make_module(path: Path) -> nn.Module:
        with warnings.catch_warnings():  # torch-fidelity's own torch.jit.load call; nothing a user can change
            warnings.filterwarnings("ignore", message=r".*torch\.jit\.load. is deprecated", category=FutureWarning)
            return construct(FeatureExtractorCLIP, variant, ["clip"], resource.what,
                             feature_extractor_weights_path=str(path))

    # OpenAI's file is a TorchScript archive (torch.jit.load), not a pickled state dict.
    return from_local_weights(ctx, options, name="clip", fidelity_name=variant, resource=resource,
                              make_module=make_module, pool_layer="clip", state_dict_file=False)


def build_vgg16(ctx: ExtractorContext) -> FidelityExtractor:
    options = image_options("vgg16", ctx, {"weights": None, "batch_size": 64})
    from torch_fidelity.feature_extractor_vgg16 import FeatureExtractorVGG16

    def make_module(path: Path) -> nn.Module:
        return construct(FeatureExtractorVGG16, "vgg16", ["fc2_relu"], VGG16_WEIGHTS.what,
                         feature_extractor_weights_path=str(path))

    return from_local_weights(ctx, options, name="vgg16", fidelity_name="vgg16", resource=VGG16_WEIGHTS,
                              make_module=make_module, pool_layer="fc2_relu")
