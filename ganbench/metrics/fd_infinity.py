"""FD∞ (Chong & Forsyth 2020): the Fréchet distance extrapolated to infinitely many generated samples.

FID is biased upwards at finite n, by an amount that depends on the generator, so FIDs computed at
different n cannot be compared and even the ranking at one n can differ from the ranking at another.
Chong & Forsyth observe that FID_N is linear in 1/N; FD∞ is the intercept of a least-squares line
through (1/N, FID_N). As dgm-eval's ``compute_FD_infinity``: ``points`` sample sizes evenly spaced from
min(5000, max(n / 10, 2)) to n, each a subset of the generated features drawn without replacement,
the real side held fixed. Here the subsets come from a generator seeded by the evaluation's seed
(dgm-eval's is unseeded), the real side is FID's cached factorisation (:mod:`ganbench.metrics.fid`),
and the slope is returned too: FID_N ≈ fd_inf + fd_inf_slope / N, so a report can show how much of a
model's FID at its n is sample-size bias. FD∞ can come out slightly negative for a generator that
matches the real data (the extrapolation is a fit, not a distance).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ganbench.metrics.base import MetricContext
from ganbench.metrics.fid import CACHE_KEY, FrechetReference, frechet_statistics
from ganbench.metrics.neighbours import as_matrix


def sample_sizes(n: int, points: int) -> np.ndarray:
    """The N at which FID_N is measured: dgm-eval's ``linspace(min(5000, max(n // 10, 2)), n, points)``."""
    if n < 3:  # two distinct sizes, each a covariance of at least 2 samples
        raise ValueError(f"FD∞ needs at least 3 generated samples, got {n}")
    if points < 2:
        raise ValueError(f"a line needs at least 2 sample sizes, got points={points}")
    return np.linspace(min(5000, max(n // 10, 2)), n, points).astype(np.int64)


def fd_infinity(reference: FrechetReference, features: Any, *, points: int = 15,
                seed: int = 0) -> tuple[float, float, np.ndarray, np.ndarray]:
    """(FD∞, slope, the sample sizes N, FID_N at each) of generated ``features`` against ``reference``."""
    x = as_matrix(features)
    sizes = sample_sizes(len(x), points)
    rng = np.random.default_rng(seed)
    fids = np.array([reference.distance(*frechet_statistics(x[rng.choice(len(x), size=int(n), replace=False)]))
                     for n in sizes])
    slope, intercept = np.polyfit(1.0 / sizes, fids, 1)  # least squares, as sklearn's LinearRegression
    return float(intercept), float(slope), sizes, fids


def compute_fd_infinity(ctx: MetricContext, *, points: int) -> dict[str, float]:
    """Uses FID's cached real side when the evaluation prepared it, else builds it; ``points``: the
    number of sample sizes (declared default 15, dgm-eval's)."""
    if ctx.gen is None or ctx.real is None:
        raise ValueError("fd_inf needs generated and real pool features")
    ref = ctx.cache.get(CACHE_KEY)
    if ref is None:
        ref = ctx.cache[CACHE_KEY] = FrechetReference.from_features(ctx.real.pool)
    value, slope, _, _ = fd_infinity(ref, ctx.gen.pool, points=points, seed=ctx.seed)
    return {"fd_inf": value, "fd_inf_slope": slope}
