"""Improved precision and recall (Kynkäänniemi et al. 2019) on k-NN balls.

Every real feature gets a ball reaching its k-th nearest real neighbour (itself excluded, its
duplicates included); precision = share of generated features inside at least one real ball;
recall = share of real features inside at least one generated ball; membership is ``≤``. Same
convention as torch-fidelity's ``prc_features_to_metric(input1=generated, input2=real)``; swapping
the arguments swaps the two numbers. All distance work is in :mod:`ganbench.metrics.neighbours`.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ganbench.metrics.base import MetricContext
from ganbench.metrics.neighbours import DEFAULT_BUDGET, as_point_set, ball_counts, cached_knn_table, knn_sq_distances


def precision_recall(gen: Any, real: Any, k: int = 3, *, real_sq_radii: np.ndarray | None = None,
                     budget: int = DEFAULT_BUDGET) -> dict[str, float]:
    """Precision and recall of ``gen`` against ``real`` with k-NN balls (``real_sq_radii`` reuses a real-side table)."""
    g, r = as_point_set(gen, "gen"), as_point_set(real, "real")
    r2_real = knn_sq_distances(r, k, budget=budget)[:, k - 1] if real_sq_radii is None else real_sq_radii
    r2_gen = knn_sq_distances(g, k, budget=budget)[:, k - 1]
    counts = ball_counts(g, r, r2_real, strict=False, point_sq_radii=r2_gen, budget=budget)  # one pass for both
    return {"precision": float(np.mean(counts.per_point > 0)),
            "recall": float(np.mean(counts.centre_in_point_balls > 0))}


def f1(precision: float, recall: float) -> float:
    """Harmonic mean; 0 when both are 0 (torch-fidelity's ``f_score`` divides by max(1e-5, p + r) instead)."""
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def compute_prc(ctx: MetricContext, *, k: int) -> dict[str, float]:
    if ctx.gen is None:
        raise ValueError("prc needs generated pool features")
    if ctx.real is None:
        raise ValueError("prc needs real pool features")
    real, table = cached_knn_table(ctx.cache, "real_neighbours", ctx.real.pool, k)
    out = precision_recall(ctx.gen.pool, real, k, real_sq_radii=table[:, k - 1])
    return {**out, "f1": f1(out["precision"], out["recall"])}
