"""Feature extractors: samples in → feature arrays out, computed once and shared by every metric.

A registered factory ``factory(ctx: ExtractorContext) -> FeatureExtractor`` builds one. An extractor
returns :class:`Features`: ``pool`` (N, d) for FID/KID/PR/KNN and, when it is a classifier,
``logits`` (N, classes) for IS. ``identity`` names the network *and its weights* (e.g. a file hash),
so it is recorded in every result's protocol and keys the on-disk cache of real-data features.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol

import numpy as np
import torch

from ganbench.data.base import Dataset
from ganbench.catalog import EXTRACTORS  # noqa: F401  (declared there; re-exported)


@dataclass(frozen=True)
class Features:
    pool: np.ndarray  # (N, d) float64
    logits: np.ndarray | None = None  # (N, classes), unnormalised

    def __len__(self) -> int:
        return len(self.pool)


@dataclass(frozen=True)
class ExtractorContext:
    dataset: Dataset
    device: torch.device
    cache_dir: Path  # where trained/converted weights and real features are cached
    options: Mapping[str, Any] = field(default_factory=dict)  # from the suite's evaluation.extractor_options
    seed: int = 0


class FeatureExtractor(Protocol):
    name: str
    identity: str  # network + weights identity, e.g. "inception-v3-compat@<sha256[:12]>"
    pool_layer: str  # e.g. "2048"
    logits_layer: str | None  # e.g. "logits_unbiased"; None when the extractor has no classifier
    preprocessing: str  # what happens to an image before the network sees it, in words (the protocol card)

    def __call__(self, x: torch.Tensor) -> Features:
        """``x``: (N, *info.shape) float in the dataset's value range, any device."""
        ...


ExtractorFactory = Callable[[ExtractorContext], FeatureExtractor]
