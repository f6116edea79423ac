"""Inception Score (Salimans et al. 2016): exp E_x KL(p(y|x) ‖ p(y)), mean ± std over splits.

Same procedure as torch-fidelity's ``isc_features_to_metric``: rows shuffled by
``np.random.RandomState(seed).permutation`` (seed 2020 is torch-fidelity's default), split into
``splits`` contiguous parts ``[i·N//splits, (i+1)·N//splits)``, p(y) estimated per part, standard
deviation over parts with ddof 0. Computed in float64, log-probabilities from ``log_softmax`` so
confident rows do not lose precision; 0 · log 0 counts as 0 when probabilities are given directly.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ganbench.metrics.base import MetricContext
from ganbench.metrics.neighbours import as_matrix

TORCH_FIDELITY_SEED = 2020  # torch-fidelity's default ``rng_seed``: same shuffle, same numbers


def inception_score(logits: Any, splits: int = 10, *, probs: bool = False, shuffle: bool = True,
                    seed: int = TORCH_FIDELITY_SEED) -> dict[str, float]:
    """IS of (N, classes) classifier outputs: logits (softmax applied here) or, with ``probs=True``, probabilities.

    One-hot rows spread evenly over k classes score k and identical rows score 1 — per split, so the
    rows of every split must show that balance (e.g. ``splits=1``, or ``shuffle=False`` with the
    classes laid out accordingly).
    """
    x = torch.from_numpy(as_matrix(logits, "logits"))
    n = len(x)
    if not 1 <= splits <= n:
        raise ValueError(f"splits must be between 1 and the number of rows ({n}), got {splits}")
    if shuffle:
        x = x[torch.from_numpy(np.random.RandomState(seed).permutation(n))]
    if probs:
        if (x < 0).any():
            raise ValueError("probabilities must be non-negative")
        p = x / x.sum(dim=1, keepdim=True)
        log_p = torch.log(p)
    else:
        p, log_p = x.softmax(dim=1), x.log_softmax(dim=1)
    scores = []
    for i in range(splits):
        part, log_part = p[i * n // splits:(i + 1) * n // splits], log_p[i * n // splits:(i + 1) * n // splits]
        log_marginal = part.mean(dim=0).log()
        kl = torch.where(part > 0, part * (log_part - log_marginal), 0.0).sum(dim=1)
        scores.append(float(kl.mean().exp()))
    return {"is_mean": float(np.mean(scores)), "is_std": float(np.std(scores))}


def compute_is(ctx: MetricContext, *, splits: int) -> dict[str, float]:
    """``is_std`` is the spread over splits, not a score; it is marked lower-is-better only because
    every output must declare a direction."""
    if ctx.gen is None or ctx.gen.logits is None:
        raise ValueError("is needs classifier logits of the generated samples (an extractor with a classifier)")
    return inception_score(ctx.gen.logits, splits=splits)
