"""Mode metrics for 2-D Gaussian mixtures (Srivastava et al. 2017; the PacGAN protocol, Lin et al. 2018).

Each generated point goes to its nearest mode centre and is *high quality* when within 3σ of it.
modes = modes with at least one high-quality point; hq_share = high-quality points / all points;
reverse_kl = KL(p ‖ u) with p the histogram of high-quality points over modes and u uniform over
the M modes, i.e. Σ_{p_i > 0} p_i log(p_i M): an empty mode contributes 0 (0 log 0 = 0), so the value
is finite, 0 for perfect balance and log M when one mode holds everything. With no high-quality point
at all p does not exist and reverse_kl is NaN (undefined, not 0 — which would read as perfect).
A single stray hit counts as "captured", which flatters short runs, so modes_1pct counts the modes
holding at least 1 % of *all* generated points as high-quality samples, and the per-mode counts are
returned as well.

Neither count sees *how* a mode is held: a generator that draws a thin circle through the ring's modes
holds ≥ 1 % in each of them with most of its points between modes, and hq_share rewards collapse onto
one mode. mode_tv puts both in one number, the total-variation distance between where the generated
points fall — each mode's high-quality share p_i and the share off every mode, 1 − Σ p_i — and where the
mixture puts them, 1/M in each mode and nothing off:
½ (Σ_i |p_i − 1/M| + (1 − Σ p_i)) = 1 − Σ_i min(p_i, 1/M).
0 is the ideal, 1 − 1/M everything in one mode, 1 nothing near any mode. The mixture's own samples are
not at 0: a 2-D Gaussian leaves exp(−9/2) ≈ 1.1 % beyond 3σ, its floor. It is the headline of the
mixtures (:mod:`ganbench.results.headline`).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ganbench.metrics.base import MetricContext
from ganbench.metrics.neighbours import as_matrix

HQ_SIGMAS = 3.0  # "high quality" = within 3σ of the nearest centre (VEEGAN, PacGAN)
MIN_SHARE = 0.01  # modes_1pct: a mode needs this share of all samples


def mode_metrics(samples: Any, centres: Any, sigma: float) -> dict[str, Any]:
    """Mode statistics of (N, D) samples for (M, D) centres of std ``sigma``; ``mode_counts``: hq points per mode."""
    x, c = as_matrix(samples, "samples"), as_matrix(centres, "centres")
    if x.shape[1] != c.shape[1] or len(c) == 0 or len(x) == 0:
        raise ValueError(f"need samples (N, D) and centres (M, D) with N, M ≥ 1, got {x.shape} and {c.shape}")
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    d2 = ((x[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)  # (N, M): M is a few dozen at most
    nearest = d2.argmin(axis=1)
    hq = d2[np.arange(len(x)), nearest] <= (HQ_SIGMAS * sigma) ** 2
    counts = np.bincount(nearest[hq], minlength=len(c))
    n_hq = int(counts.sum())
    if n_hq:
        p = counts[counts > 0] / n_hq
        reverse_kl = float(np.sum(p * np.log(p * len(c))))
    else:
        reverse_kl = float("nan")
    shares = counts / len(x)
    return {"modes": float(np.count_nonzero(counts)), "hq_share": n_hq / len(x), "reverse_kl": reverse_kl,
            "modes_1pct": float(np.count_nonzero(counts >= MIN_SHARE * len(x))),
            "mode_tv": float(1.0 - np.minimum(shares, 1.0 / len(c)).sum()),
            "mode_counts": counts.tolist()}


def compute_modes(ctx: MetricContext) -> dict[str, float]:
    """Reads the mixture from ``ctx.dataset.info.extras`` (``centres``, ``sigma``)."""
    extras = ctx.dataset.info.extras
    if "centres" not in extras or "sigma" not in extras:
        raise ValueError(f"dataset '{ctx.dataset.info.name}' has no mixture centres/sigma; modes applies to mixtures")
    samples = ctx.samples.reshape(len(ctx.samples), -1)
    out = mode_metrics(samples, np.asarray(extras["centres"], dtype=np.float64), float(extras["sigma"]))
    return {key: float(out[key]) for key in ("modes", "hq_share", "reverse_kl", "modes_1pct", "mode_tv")}
