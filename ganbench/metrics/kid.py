"""Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD² with a polynomial kernel, over random subsets.

k(x, y) = (γ xᵀy + c₀)^degree with γ = 1/d by default (the cubic kernel (xᵀy/d + 1)³). Subsets are
drawn exactly as torch-fidelity's ``kid_features_to_metric`` draws them — one
``np.random.RandomState(seed)``, per subset first ``choice(N_a, m, replace=False)`` then
``choice(N_b, m, replace=False)`` — so with the same seed both give the same subsets and numbers.

The Gram products xᵀy run in float32 (the dominant cost, ~1.6× faster than float64 here); the kernel,
its sums and the estimator run in float64. Each float32 product carries ~1e-7–1e-6 relative error,
and these errors average out over the m² kernel entries: the estimate stays within ~1e-6 relative of
a float64 computation (tested), far inside its spread over subsets.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ganbench.metrics.base import MetricContext
from ganbench.metrics.neighbours import as_matrix


def mmd2_unbiased(k_xx: torch.Tensor, k_xy: torch.Tensor, k_yy: torch.Tensor) -> float:
    """Unbiased MMD² from the three m × m kernel matrices (diagonals of k_xx, k_yy excluded)."""
    m = k_xx.shape[0]
    within = (k_xx.sum() - k_xx.diagonal().sum()) + (k_yy.sum() - k_yy.diagonal().sum())
    return float(within / (m * (m - 1)) - 2.0 * k_xy.sum() / (m * m))


def kid(feat_a: Any, feat_b: Any, subsets: int = 100, subset_size: int = 1000, degree: int = 3,
        gamma: float | None = None, coef0: float = 1.0, seed: int = 0) -> dict[str, float]:
    """KID mean and standard deviation (ddof 0, as torch-fidelity) over ``subsets`` MMD² estimates.

    ``subset_size`` is clipped to the smaller set, so small evaluations still get a number (torch-fidelity
    refuses them); with it clipped, the estimate uses every sample of the smaller set in each subset.
    """
    a, b = as_matrix(feat_a, "feat_a"), as_matrix(feat_b, "feat_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature dimensions differ ({a.shape[1]} vs {b.shape[1]})")
    m = min(subset_size, len(a), len(b))
    if m < 2:
        raise ValueError(f"KID needs subsets of at least 2 samples, got {m}")
    if subsets < 1:
        raise ValueError(f"subsets must be at least 1, got {subsets}")
    g = 1.0 / a.shape[1] if gamma is None else float(gamma)
    a32 = torch.from_numpy(a.astype(np.float32))
    b32 = torch.from_numpy(b.astype(np.float32))

    def kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return (torch.mm(x, y.T).to(torch.float64) * g + coef0) ** degree

    rng = np.random.RandomState(seed)
    values = np.empty(subsets)
    for i in range(subsets):
        x = a32[torch.from_numpy(rng.choice(len(a), m, replace=False))]
        y = b32[torch.from_numpy(rng.choice(len(b), m, replace=False))]
        values[i] = mmd2_unbiased(kernel(x, x), kernel(x, y), kernel(y, y))
    return {"kid_mean": float(values.mean()), "kid_std": float(values.std())}


def compute_kid(ctx: MetricContext, *, subsets: int, subset_size: int, degree: int, gamma: float | None,
                coef0: float) -> dict[str, float]:
    """Generated first, real second (torch-fidelity's input1/input2); subsets seeded by ``ctx.seed``.

    ``kid_std`` is the spread over subsets, not a score; it is marked lower-is-better only because
    every output must declare a direction.
    """
    if ctx.gen is None or ctx.real is None:
        raise ValueError("kid needs generated and real pool features")
    return kid(ctx.gen.pool, ctx.real.pool, subsets=subsets, subset_size=subset_size, degree=degree,
               gamma=gamma, coef0=coef0, seed=ctx.seed % 2**32)
