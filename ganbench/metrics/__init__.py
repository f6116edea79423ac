"""Metrics: the registry (:data:`METRICS`) and the numeric functions behind each registered metric.

Each metric is declared in :mod:`ganbench.catalog` and imported on first use. The public functions
take numpy arrays or torch tensors and return plain floats or small dicts, so they can be used (and
tested) without a dataset, an extractor or a run.
"""
from __future__ import annotations

from ganbench.metrics.base import METRICS, MetricContext, PrepareContext, higher_is_better
from ganbench.metrics.fid import FrechetReference, fid, frechet_statistics
from ganbench.metrics.inception_score import inception_score
from ganbench.metrics.kid import kid
from ganbench.metrics.knn import knn_score
from ganbench.metrics.modes import mode_metrics
from ganbench.metrics.prc import precision_recall
from ganbench.metrics.prdc import density_coverage

__all__ = [
    "PrepareContext",
    "METRICS", "MetricContext", "higher_is_better",
    "FrechetReference", "fid", "frechet_statistics", "inception_score", "kid", "knn_score", "mode_metrics",
    "precision_recall", "density_coverage",
]
