"""Vendi score (Friedman & Dieng 2023): the effective number of distinct samples, for diversity.

With a similarity kernel k (k(x, x) = 1) and K_ij = k(x_i, x_j) over n samples, the Vendi score is the
exponential of the Shannon entropy of the eigenvalues λ of K / n (they are non-negative and sum to 1):
VS = exp(−Σ λ_i log λ_i). n identical samples score 1, n mutually orthogonal ones n. As dgm-eval
computes it: the cosine kernel, i.e. features scaled to unit length and K = X Xᵀ. The non-zero
eigenvalues of X Xᵀ / n are those of Xᵀ X / n, a d × d matrix, so the cost is one d × d symmetric
eigen-solve whatever n (2048-d: under a second). Eigenvalues that rounding leaves slightly negative
or at ~ε count as 0 (0 log 0 = 0). Higher is more diverse; the real data's own score is the reference a
report compares with — a model below it lacks diversity, one far above it may be drawing noise.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from ganbench.metrics.base import MetricContext
from ganbench.metrics.neighbours import as_matrix


def vendi_score(features: Any) -> float:
    """Vendi score of (n, d) features under the cosine kernel (rows of zero length are refused)."""
    x = as_matrix(features)
    if len(x) == 0:
        raise ValueError("the Vendi score needs at least one sample")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if not (norms > 0).all():
        raise ValueError("the cosine kernel is undefined for a zero feature vector")
    x = x / norms
    with threadpool_limits(limits=1, user_api="blas"):  # a long chain of small BLAS-2 calls (see fid.py)
        w = np.linalg.eigvalsh(x.T @ x / len(x))
    w = w[w > w.max() * len(w) * np.finfo(np.float64).eps]
    w = w / w.sum()  # exactly 1 despite rounding (the trace is n / n)
    return float(np.exp(-(w * np.log(w)).sum()))


def compute_vendi(ctx: MetricContext) -> dict[str, float]:
    """Of the generated pool features (the evaluation's extractor)."""
    if ctx.gen is None:
        raise ValueError("vendi needs generated pool features")
    return {"vendi": vendi_score(ctx.gen.pool)}
