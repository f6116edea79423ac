"""Density and coverage (Naeem et al. 2020) on real k-NN balls, strict ``<``.

With real features X_i (N of them), generated Y_j (M), and r_i the distance from X_i to its k-th
nearest real neighbour: density = (1/kM) Σ_j Σ_i 1[‖Y_j − X_i‖ < r_i]; coverage = (1/N) Σ_i
1[∃ j: ‖Y_j − X_i‖ < r_i]. Both come from one chunked pass (the two reductions of one membership
matrix). For two samples of one distribution density ≈ 1 and coverage ≈ 1 − 2^−k; a set against
itself gives exactly density 1 and coverage 1.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ganbench.metrics.base import MetricContext
from ganbench.metrics.neighbours import DEFAULT_BUDGET, as_point_set, ball_counts, cached_knn_table, knn_sq_distances


def density_coverage(gen: Any, real: Any, k: int = 5, *, real_sq_radii: np.ndarray | None = None,
                     budget: int = DEFAULT_BUDGET) -> dict[str, float]:
    """Density and coverage of ``gen`` against ``real`` (``real_sq_radii`` reuses a real-side k-NN table)."""
    g, r = as_point_set(gen, "gen"), as_point_set(real, "real")
    if len(g) == 0:
        raise ValueError("density/coverage need at least one generated sample")
    r2 = knn_sq_distances(r, k, budget=budget)[:, k - 1] if real_sq_radii is None else real_sq_radii
    counts = ball_counts(g, r, r2, strict=True, budget=budget)
    return {"density": float(counts.per_point.sum() / (k * len(g))),
            "coverage": float(np.mean(counts.per_centre > 0))}


def compute_prdc(ctx: MetricContext, *, k: int) -> dict[str, float]:
    if ctx.gen is None or ctx.real is None:
        raise ValueError("prdc needs generated and real pool features")
    real, table = cached_knn_table(ctx.cache, "real_neighbours", ctx.real.pool, k)
    return density_coverage(ctx.gen.pool, real, k, real_sq_radii=table[:, k - 1])
