"""Fréchet Inception Distance (Heusel et al. 2017), with the real side factorised once and reused.

FID = ‖μ_r − μ_g‖² + Tr Σ_r + Tr Σ_g − 2 Tr (Σ_r Σ_g)^{1/2}. The expensive term is the trace of the
matrix square root. torch-fidelity takes the eigenvalues of the non-symmetric product Σ_r Σ_g
(``np.linalg.eigvals``: a Hessenberg QR sweep, seconds at 2048-d). Here Σ_r = V W Vᵀ is
diagonalised once (``eigh``; eigenvalues below numpy's rank tolerance, rounding noise of either sign,
count as 0), giving a factor S = V W^{1/2} with S Sᵀ = Σ_r. For every generated set, Sᵀ Σ_g S is
symmetric positive semi-definite and has the eigenvalues of √Σ_r Σ_g √Σ_r, i.e. of Σ_r Σ_g, so

    Tr (Σ_r Σ_g)^{1/2} = Σ_i sqrt(λ_i(Sᵀ Σ_g S))

costs two matrix products and one symmetric eigenvalue solve (``eigvalsh``). Columns of S for zero
eigenvalues are dropped, which both handles singular Σ_r (fewer samples than dimensions) and makes
the products cheaper then. Everything is float64.

The two symmetric eigen-solves run with BLAS limited to one thread: their tridiagonal reduction is
a long chain of small, memory-bound BLAS-2 calls, and threaded BLAS on a busy machine (parallel
workers, other jobs) turns a 0.4 s solve at 2048-d into several seconds; single-threaded it stays
0.4 s whatever the load. The matrix products keep all threads.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from ganbench.metrics.base import MetricContext, PrepareContext
from ganbench.metrics.neighbours import as_matrix

CACHE_KEY = "frechet_reference"  # where the registered metric keeps the real side in ``MetricContext.cache``


def frechet_statistics(features: Any) -> tuple[np.ndarray, np.ndarray]:
    """(μ, Σ) of (N, d) features in float64; Σ unbiased (ddof 1), as torch-fidelity's ``np.cov(rowvar=False)``."""
    x = as_matrix(features)
    if len(x) < 2:
        raise ValueError(f"a covariance needs at least 2 samples, got {len(x)}")
    mu = x.mean(axis=0)
    centred = x - mu
    sigma = centred.T @ centred / (len(x) - 1)
    return mu, (sigma + sigma.T) / 2  # exact symmetry: eigh/eigvalsh read one triangle


class FrechetReference:
    """The real side of FID: μ_r, Σ_r and the factor S (S Sᵀ = Σ_r), computed once, reused for every model.

    Picklable, and :meth:`state` / :meth:`from_state` round-trip through plain arrays (the evaluator
    caches it as ``.npz``), so the factorisation is paid once per (dataset, extractor), not per run.
    """

    def __init__(self, mu: np.ndarray, sigma: np.ndarray, *, factor: np.ndarray | None = None):
        self.mu = np.asarray(mu, dtype=np.float64)
        self.sigma = np.asarray(sigma, dtype=np.float64)
        d = self.mu.shape[0] if self.mu.ndim == 1 else -1
        if self.mu.ndim != 1 or self.sigma.shape != (d, d):
            raise ValueError(f"expected mu (d,) and sigma (d, d), got {self.mu.shape} and {self.sigma.shape}")
        if factor is None:
            with threadpool_limits(limits=1, user_api="blas"):
                w, v = np.linalg.eigh((self.sigma + self.sigma.T) / 2)
            # Where Σ is singular, rounding leaves eigenvalues of either sign at ~ε·d·λ_max; they are 0
            # (numpy's matrix_rank tolerance). Kept, they would add noise of order sqrt(ε) to the trace.
            keep = w > w.max(initial=0.0) * len(w) * np.finfo(np.float64).eps
            factor = v[:, keep] * np.sqrt(w[keep])
        self.factor = np.asarray(factor, dtype=np.float64)
        if self.factor.ndim != 2 or self.factor.shape[0] != d:
            raise ValueError(f"factor must have shape ({d}, r), got {self.factor.shape}")
        self.trace = float(np.trace(self.sigma))

    @classmethod
    def from_features(cls, features: Any) -> FrechetReference:
        return cls(*frechet_statistics(features))

    def distance(self, mu: np.ndarray, sigma: np.ndarray) -> float:
        """FID between this reference and a Gaussian (μ_g, Σ_g)."""
        mu = np.asarray(mu, dtype=np.float64)
        sigma = np.asarray(sigma, dtype=np.float64)
        if mu.shape != self.mu.shape or sigma.shape != self.sigma.shape:
            raise ValueError(f"statistics of dimension {mu.shape} / {sigma.shape} do not match the reference's "
                             f"{self.mu.shape} / {self.sigma.shape}")
        inner = self.factor.T @ sigma @ self.factor
        with threadpool_limits(limits=1, user_api="blas"):
            eig = np.linalg.eigvalsh((inner + inner.T) / 2)
        tr_sqrt = float(np.sqrt(np.clip(eig, 0.0, None)).sum())
        diff = self.mu - mu
        return float(diff @ diff + self.trace + np.trace(sigma) - 2.0 * tr_sqrt)

    def distance_to_features(self, features: Any) -> float:
        return self.distance(*frechet_statistics(features))

    def state(self) -> dict[str, np.ndarray]:
        return {"mu": self.mu, "sigma": self.sigma, "factor": self.factor}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> FrechetReference:
        missing = {"mu", "sigma", "factor"} - set(state)
        if missing:
            raise ValueError(f"FrechetReference state lacks {sorted(missing)}")
        return cls(state["mu"], state["sigma"], factor=state["factor"])


def fid(feat_a: Any, feat_b: Any) -> float:
    """FID between two (N, d) feature sets (symmetric in its arguments up to rounding)."""
    return FrechetReference.from_features(feat_a).distance_to_features(feat_b)


def prepare_fid(ctx: PrepareContext) -> dict[str, Any]:
    """FID's real side: the factorisation of the real features' statistics, cached on disk beside them."""
    state = ctx.cached({"what": "frechet_reference"}, lambda: FrechetReference.from_features(ctx.real.pool).state())
    return {CACHE_KEY: FrechetReference.from_state(state)}


def compute_fid(ctx: MetricContext) -> dict[str, float]:
    """Uses the real side :func:`prepare_fid` cached (an evaluator runs it); else builds and stores it."""
    if ctx.gen is None or ctx.real is None:
        raise ValueError("fid needs generated and real pool features")
    ref = ctx.cache.get(CACHE_KEY)
    if ref is None:
        ref = ctx.cache[CACHE_KEY] = FrechetReference.from_features(ctx.real.pool)
    return {"fid": ref.distance_to_features(ctx.gen.pool)}
