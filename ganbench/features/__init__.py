"""Feature extractors (declared in :mod:`ganbench.catalog`) and the on-disk cache of real-data features.

``build_extractor(name, ctx)`` is the one way to get an extractor: it checks that the extractor
works on the dataset's kind of data before any weights are loaded or any classifier is trained.
"""
from __future__ import annotations

from ganbench.errors import GanbenchError
from ganbench.features.base import EXTRACTORS, ExtractorContext, ExtractorFactory, FeatureExtractor, Features
from ganbench.features.cache import cached_array, default_cache_dir, real_features, real_indices, real_key

__all__ = ["EXTRACTORS", "ExtractorContext", "ExtractorFactory", "FeatureExtractor", "Features",
           "build_extractor", "cached_array", "default_cache_dir", "real_features", "real_indices", "real_key"]


def build_extractor(name: str, ctx: ExtractorContext) -> FeatureExtractor:
    """The extractor ``name`` built for ``ctx``; unknown names and unsuitable data are user errors."""
    entry = EXTRACTORS.entry(name)  # UnknownNameError with "did you mean"
    info = ctx.dataset.info
    kinds = tuple(entry.metadata.get("data_kinds", ()))
    if info.kind not in kinds:
        others = [e.name for e in EXTRACTORS if info.kind in e.metadata.get("data_kinds", ())]
        raise GanbenchError(f"feature extractor '{entry.name}' works on {' or '.join(kinds)} data, and dataset "
                            f"'{info.name}' is {info.kind} data; use {' or '.join(repr(o) for o in others)} "
                            "(e.g. 'raw' for low-dimensional data, 'domain' for a classifier of its own labels)")
    return entry.obj(ctx)
