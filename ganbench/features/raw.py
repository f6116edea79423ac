"""``raw``: the samples themselves, flattened, as features.

For 2D mixtures (and other low-dimensional data) the data space *is* the right feature space:
precision/recall, KNN and FID there need no network, and nothing about them depends on weights,
so the identity is simply "raw".
"""
from __future__ import annotations

import torch

from ganbench.features.base import ExtractorContext, Features
from ganbench.features.common import extractor_options


class RawExtractor:
    name = "raw"
    identity = "raw"
    pool_layer = "input"
    logits_layer = None
    preprocessing = "none: the samples' own values, flattened, float64"

    def __call__(self, x: torch.Tensor) -> Features:
        if len(x) == 0:
            raise ValueError("feature extraction needs at least one sample")
        return Features(pool=x.detach().reshape(len(x), -1).to("cpu", torch.float64).numpy())


def build_raw(ctx: ExtractorContext) -> RawExtractor:
    extractor_options("raw", ctx.options, {})  # it takes none; refuse any rather than ignore them
    return RawExtractor()
