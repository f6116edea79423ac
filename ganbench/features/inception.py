"""``inception``: torch-fidelity's ``inception-v3-compat``, the network FID and IS are defined on.

Pool features are layer ``2048``; logits are ``logits_unbiased`` (no final bias), which is what
torch-fidelity's Inception Score uses. The weights file is found locally (see
:mod:`ganbench.features.weights`) and its SHA-256 prefix is part of ``identity``, so numbers
computed with a different file never share a cache entry or pass as comparable.
"""
from __future__ import annotations

from pathlib import Path

from torch import nn

from ganbench.features.base import ExtractorContext
from ganbench.features.fidelity import FidelityExtractor, construct, from_local_weights, image_options, url_file_name
from ganbench.features.weights import LocalResource, hub_hash_prefix

FIDELITY_NAME = "inception-v3-compat"
POOL_LAYER, LOGITS_LAYER = "2048", "logits_unbiased"
DEFAULTS = {
    "weights": None,  # path to torch-fidelity's weights file; the CLI's --inception-weights fills it
    "batch_size": 64,  # torch-fidelity's own default
}


def inception_weights() -> LocalResource:
    """The weights torch-fidelity would download, named as torch-fidelity names them in the hub cache.

    No full digest is published; the name follows torch.hub's convention (``...-6726825d.pth``, the
    SHA-256 prefix), which is what a fetched file is checked against.
    """
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

    file_name = url_file_name(URL_INCEPTION_V3)
    return LocalResource(extractor="inception", what=f"Inception-v3 weights (torch-fidelity '{FIDELITY_NAME}')",
                         file_name=file_name, url=URL_INCEPTION_V3, flag="--inception-weights",
                         sha256=hub_hash_prefix(file_name))


def build_inception(ctx: ExtractorContext) -> FidelityExtractor:
    options = image_options("inception", ctx, DEFAULTS)
    resource = inception_weights()
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    def make_module(path: Path) -> nn.Module:
        return construct(FeatureExtractorInceptionV3, FIDELITY_NAME, [POOL_LAYER, LOGITS_LAYER], resource.what,
                         feature_extractor_weights_path=str(path))

    return from_local_weights(ctx, options, name="inception", fidelity_name=FIDELITY_NAME, resource=resource,
                              make_module=make_module, pool_layer=POOL_LAYER, logits_layer=LOGITS_LAYER)
