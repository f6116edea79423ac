"""The numerical kernels of the study's statistics, on plain numpy arrays (no frames, no torch).

Expected minimum of k draws with replacement (closed form and exact quantiles), bootstrap curves of the
best score over a budget of settings or of compute hours, a bootstrap CI of a mean, and Holm's
step-down adjustment. :mod:`ganbench.results.study` applies them to groups of runs.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def bootstrap_mean_ci(values: np.ndarray, rng: np.random.Generator, n_boot: int,
                      level: float) -> tuple[float, float]:
    if len(values) < 2:
        return (np.nan, np.nan)
    means = values[rng.integers(0, len(values), size=(n_boot, len(values)))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)


def min_weights(n: int, ks: np.ndarray) -> np.ndarray:
    """W[j, i]: probability that the i-th smallest of n values is the min of ks[j] draws.

    P(min = v_(i)) = ((n-i+1)/n)^k - ((n-i)/n)^k for 1-based i (with replacement), so the
    expected minimum is W @ sorted(values).
    """
    i = np.arange(1, n + 1, dtype=float)
    k = np.asarray(ks, dtype=float)[:, None]
    return ((n - i + 1) / n) ** k - ((n - i) / n) ** k


def expected_min(values: Sequence[float] | np.ndarray, k: int | Sequence[int]) -> np.ndarray | float:
    """Exact expected minimum of ``k`` draws with replacement from ``values`` (closed form)."""
    v = np.sort(np.asarray(values, dtype=float))
    if not len(v):
        raise ValueError("expected_min needs at least one value")
    ks = np.atleast_1d(np.asarray(k, dtype=int))
    if (ks < 1).any():
        raise ValueError("k must be >= 1")
    result = min_weights(len(v), ks) @ v
    return float(result[0]) if np.ndim(k) == 0 else result


def exact_min_quantiles(sorted_v: np.ndarray, ks: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """Quantiles (inverted CDF) of the min of k draws: P(min <= v_(i)) = 1 - ((n-i)/n)^k."""
    n = len(sorted_v)
    i = np.arange(1, n + 1, dtype=float)
    cdf = 1.0 - ((n - i) / n) ** ks[:, None].astype(float)
    out = np.empty((len(qs), len(ks)))
    for row, q in enumerate(qs):
        out[row] = sorted_v[np.argmax(cdf >= q - 1e-12, axis=1)]
    return out


def settings_curve(values: np.ndarray, rng: np.random.Generator, n_boot: int | None,
                   qs: Sequence[float], max_k: int | None) -> dict[str, np.ndarray]:
    n = len(values)
    ks = np.arange(1, (min(max_k, n) if max_k else n) + 1)
    if n_boot is None:
        v = np.sort(values)
        mean = min_weights(n, ks) @ v
        bands = exact_min_quantiles(v, ks, qs)
    else:
        # The running minimum over n i.i.d. draws gives the min of the first k for every k at once.
        draws = values[rng.integers(0, n, size=(n_boot, ks[-1]))]
        mins = np.minimum.accumulate(draws, axis=1)
        mean = mins.mean(axis=0)
        bands = np.quantile(mins, qs, axis=0)
    return {"k": ks, "mean": mean, "q_low": bands[0], "q_high": bands[-1]}


def hours_curve(values: np.ndarray, hours: np.ndarray, rng: np.random.Generator, n_boot: int,
                qs: Sequence[float], n_grid: int) -> dict[str, np.ndarray]:
    """Best score so far when the runs are trained one after another in random order."""
    n = len(values)
    total = float(hours.sum())
    low = float(hours.min())
    grid = np.geomspace(low, total, n_grid) if low > 0 else np.linspace(low, total, n_grid)
    grid[-1] = total * (1 + 1e-9)  # every run finished, whatever the summation order
    order = np.argsort(rng.random((n_boot, n)), axis=1)
    done_at = np.cumsum(hours[order], axis=1)
    best = np.minimum.accumulate(values[order], axis=1)
    # One searchsorted over all draws: shift draw r by r * width so rows never overlap.
    width = 2.0 * total + 1.0
    shift = np.arange(n_boot, dtype=float)[:, None] * width
    flat = (done_at + shift).ravel()
    pos = np.searchsorted(flat, (grid[None, :] + shift).ravel(), side="right").reshape(n_boot, -1)
    last = pos - 1 - np.arange(n_boot)[:, None] * n  # index of the last finished run, -1 if none
    reached = last >= 0
    at = np.where(reached, np.take_along_axis(best, np.clip(last, 0, n - 1), axis=1), np.nan)
    share = reached.mean(axis=0)
    count = reached.sum(axis=0)
    mean = np.where(count > 0, np.where(reached, at, 0.0).sum(axis=0) / np.maximum(count, 1), np.nan)
    with np.errstate(all="ignore"):
        bands = np.full((len(qs), len(grid)), np.nan)
        cols = share > 0
        if cols.any():
            bands[:, cols] = np.nanquantile(at[:, cols], qs, axis=0)
    return {"hours": grid, "mean": mean, "q_low": bands[0], "q_high": bands[-1], "reached": share}


#: What a run that failed or diverged before its first score counts as in a budget pool: compare_gan
#: v1.0 ``eval_gan_lib.py`` scores a checkpoint with NaN samples FID 31337 (``NAN_DETECTED``) and keeps it.


def holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (monotone, capped at 1)."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    if not ok.any():
        return out
    q = p[ok]
    m = len(q)
    order = np.argsort(q)
    adjusted = np.maximum.accumulate((m - np.arange(m)) * q[order])
    result = np.empty(m)
    result[order] = np.minimum(adjusted, 1.0)
    out[ok] = result
    return out


def bootstrap_expected_min(values: np.ndarray, k: int, rng: np.random.Generator,
                           n_boot: int) -> np.ndarray:
    """Expected min at budget k for n_boot bootstrap resamples of ``values`` (closed form each)."""
    n = len(values)
    resampled = np.sort(values[rng.integers(0, n, size=(n_boot, n))], axis=1)
    return resampled @ min_weights(n, np.array([k]))[0]


#: Asymptotic relative efficiency of the Mann–Whitney U test to the t-test under normality (3/π): it needs
#: about 1/0.955 as many samples for the same power, which the power figures below account for.
MANN_WHITNEY_ARE = 3.0 / np.pi


def detectable_difference(sd_a: float, n_a: int, sd_b: float, n_b: int, alpha: float = 0.05,
                          power: float = 0.8) -> float:
    """The smallest difference in means a two-sided Mann–Whitney test at level ``alpha`` finds with
    probability ``power`` on n_a vs n_b samples of these spreads: the normal approximation
    (z_{1−α/2} + z_power)·√((sd_a²/n_a + sd_b²/n_b) / ARE). NaN without two samples a side."""
    from scipy.stats import norm

    if n_a < 2 or n_b < 2 or not (np.isfinite(sd_a) and np.isfinite(sd_b)):
        return float("nan")
    z = norm.ppf(1.0 - alpha / 2.0) + norm.ppf(power)
    return float(z * np.sqrt((sd_a**2 / n_a + sd_b**2 / n_b) / MANN_WHITNEY_ARE))


def samples_to_detect(difference: float, sd_a: float, sd_b: float, alpha: float = 0.05, power: float = 0.8,
                      *, least: int = 2, most: int = 10_000) -> int | None:
    """Samples per side for :func:`detectable_difference` to reach ``|difference|``: the normal approximation's
    ⌈(z_{1−α/2} + z_power)² (sd_a² + sd_b²) / (ARE·d²)⌉, but at least ``least`` (the fewest with which the
    rank test can reach ``alpha`` at all). None when no difference was seen or more than ``most`` would do."""
    from scipy.stats import norm

    if not (np.isfinite(difference) and np.isfinite(sd_a) and np.isfinite(sd_b)) or difference == 0:
        return None
    z = norm.ppf(1.0 - alpha / 2.0) + norm.ppf(power)
    n = int(np.ceil(z**2 * (sd_a**2 + sd_b**2) / (MANN_WHITNEY_ARE * difference**2)))
    n = max(n, least)
    return n if n <= most else None


#: "The FID Lottery" (Dufour, Efros, Pérez 2026): retraining with a new seed moves FID 3.2× more than redrawing
#: the samples of one network — the ratio :func:`seed_components` estimates as ``ratio``
LOTTERY_RATIO = 3.2


def _components(y: np.ndarray) -> tuple[float, float]:
    """(σ²_training, σ²_sampling) of a balanced one-way random-effects layout, by ANOVA (method of moments)."""
    n, s = y.shape
    within = float(y.var(axis=1, ddof=1).mean())  # E[MS_within] = σ²_s
    between = float(s * y.mean(axis=1).var(ddof=1))  # E[MS_between] = σ²_s + S σ²_t
    return max((between - within) / s, 0.0), within


def seed_components(scores: np.ndarray, rng: np.random.Generator | None = None, n_boot: int = 1000,
                    level: float = 0.95) -> dict[str, float]:
    """How much of a score's spread comes from training (which network the seed trained) and how much from
    sampling (which samples that network was scored on).

    ``scores[i, s]``: training seed i scored with sampling seed s (n ≥ 2 seeds by S ≥ 2 redraws). The model is
    y = μ + t_i + e_is, t ~ (0, σ²_t), e ~ (0, σ²_s); ANOVA gives σ²_s = MS_within and σ²_t = (MS_between −
    MS_within)/S, floored at 0. ``ratio`` = √(σ²_t + σ²_s)/σ_s: how much further a retrained network's score
    moves than a redraw of one network's — the quantity the FID Lottery puts at 3.2 (:data:`LOTTERY_RATIO`).
    With ``rng``, percentile-bootstrap intervals over training seeds (``*_low``, ``*_high``).
    """
    y = np.asarray(scores, dtype=float)
    if y.ndim != 2 or y.shape[0] < 2 or y.shape[1] < 2 or not np.isfinite(y).all():
        raise ValueError("seed_components needs finite scores of ≥ 2 training seeds × ≥ 2 sampling seeds")
    t2, s2 = _components(y)
    out = {"training_sd": float(np.sqrt(t2)), "sampling_sd": float(np.sqrt(s2)),
           "ratio": float(np.sqrt((t2 + s2) / s2)) if s2 > 0 else np.inf,
           "training_share": float(t2 / (t2 + s2)) if t2 + s2 > 0 else np.nan,
           "training_seeds": int(y.shape[0]), "sampling_seeds": int(y.shape[1])}
    if rng is not None:
        draws = np.array([_components(y[rng.integers(0, len(y), len(y))]) for _ in range(n_boot)])
        t2b, s2b = draws[:, 0], draws[:, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = np.sqrt((t2b + s2b) / s2b)
        tail = (1.0 - level) / 2.0
        for name, values in (("training_sd", np.sqrt(t2b)), ("sampling_sd", np.sqrt(s2b)), ("ratio", ratios)):
            finite = values[np.isfinite(values)]
            low, high = np.quantile(finite, [tail, 1.0 - tail]) if len(finite) else (np.nan, np.nan)
            out[f"{name}_low"], out[f"{name}_high"] = float(low), float(high)
    return out
