"""The metric registry. A metric is ``compute(ctx: MetricContext, **params) -> dict[str, float]``.

Metadata, declared for every metric in :mod:`ganbench.catalog` (read there without importing torch):
  ``outputs``: {key: higher_is_better} for every number it returns (keys are global and unique,
               e.g. "fid", "is_mean", "precision");
  ``ranges``:  {key: (low, high)}, the values the number can take, each bound a float (±inf when
               unbounded) or a function of the dataset's :class:`DatasetInfo` (e.g. the number of modes);
               keys left out are unbounded. A regression gate needs them: a tolerance reaching past
               the bad end of the range can never fail;
  ``needs``:   subset of {"pool", "logits", "samples", "generator", "real", "real_samples", "real_labels",
               "labels", "codes", "classifier", "train"} (what the context must hold: "train" — the train
               split's features, ``n_train`` of them (a metric option), for the memorisation metrics; "labels" — a conditional G's labels,
               "codes" — InfoGAN's code, metrics needing either are dropped for models that give neither;
               "classifier" — the dataset's domain classifier's class of every sample);
  ``defaults``: default parameters; ``data_kinds``: ("image", "vector"); ``extractors``: optional, the
               feature extractors it is defined on (CMMD: CLIP only) — on any other it does not apply;
  ``prepare``: optional ``prepare(ctx: PrepareContext) -> {cache key: value}`` (a :class:`~ganbench.registry.Lazy`),
               run once per evaluator: a metric owns its cached real side (FID's factorisation), found
               in ``MetricContext.cache``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import torch

from ganbench.data.base import Dataset, DatasetInfo
from ganbench.features.base import Features
from ganbench.catalog import METRICS  # declared there


@dataclass
class MetricContext:
    dataset: Dataset
    samples: torch.Tensor  # generated samples, (N, *shape), CPU float in the data range
    gen: Features | None = None  # features of ``samples``
    real: Features | None = None  # features of the real evaluation split (cached)
    real_samples: torch.Tensor | None = None  # the real evaluation samples themselves
    generator: torch.nn.Module | None = None  # for metrics that invert G (polygon recall)
    sample_latent: Callable[[int], torch.Tensor] | None = None  # n -> (n, z_dim) from the prior
    device: torch.device = torch.device("cpu")
    seed: int = 0
    cache: dict[str, Any] = field(default_factory=dict)  # per-evaluation memo shared by metrics
    extractor: str | None = None  # the feature extractor's identity (network + weights), e.g. "clip-vit-b-32@…"
    gen_labels: torch.Tensor | None = None  # (N,) the labels a conditional G was given for ``samples``
    gen_codes: torch.Tensor | None = None  # (N,) InfoGAN's categorical code of each sample
    gen_predicted: "np.ndarray | None" = None  # (N,) the dataset's domain classifier's class of each sample
    real_labels: torch.Tensor | None = None  # (M,) the labels of the real evaluation samples (``real``)
    train: Features | None = None  # features of the train split (memorisation metrics), cached like ``real``


@dataclass(frozen=True)
class PrepareContext:
    """What a metric's ``prepare`` hook gets: the real features, and ``cached(what, compute)`` — arrays
    stored on disk under ``what`` plus the identity of those real features, computed once."""

    real: Features
    cached: Callable[[Mapping[str, Any], Callable[[], Mapping[str, Any]]], dict[str, Any]]


MetricFn = Callable[..., Mapping[str, float]]


Bound = "float | Callable[[DatasetInfo], float]"


def output_range(key: str, info: DatasetInfo | None = None) -> tuple[float, float]:
    """(low, high) of output ``key``; a bound that depends on the dataset is infinite without ``info``."""
    for entry in METRICS:
        ranges = entry.metadata.get("ranges", {})
        if key in ranges:
            return tuple(_bound(b, info, sign) for b, sign in zip(ranges[key], (-1.0, 1.0)))  # type: ignore[return-value]
    return (-math.inf, math.inf)


def _bound(bound: Any, info: DatasetInfo | None, sign: float) -> float:
    if callable(bound):
        return float(bound(info)) if info is not None else sign * math.inf
    return float(bound)


def higher_is_better(key: str) -> bool | None:
    """Direction of an output key (e.g. "fid" → False), or None when no metric declares it."""
    for entry in METRICS:
        outputs = entry.metadata.get("outputs", {})
        if key in outputs:
            return bool(outputs[key])
    return None
