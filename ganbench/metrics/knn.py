"""KNN score: the leave-one-out 1-NN two-sample test (Lopez-Paz & Oquab 2017; Xu et al. 2018).

Real samples are labelled 1, generated 0; each sample of the union is classified by its nearest
other sample, and the score is the accuracy. ≈ 0.5: the sets look alike; → 1: they differ; → 0:
one set copies the other. Ties (several points at exactly the minimum distance, e.g. duplicates)
count fractionally — a point scores the share of its tied nearest points that carry its own label,
the expected accuracy under uniformly random tie-breaking (see
:func:`ganbench.metrics.neighbours.nearest_label_agreement`).

Worked cases. A set against an exact copy: 0 (every point's unique nearest point is its copy).
Generated = c copies each of a few real points, the other real points distinct and away from them:
a generated copy's nearest points are its c − 1 twins and the real original, so ``knn_gen`` is
(c − 1)/c, near 1; a copied real point sees only its c copies (scores 0) and every other real point
scores 1 when its nearest neighbour is another uncopied real point, so ``knn_real`` stays near 1 and
the overall score near 1 — collapse onto memorised points reads as "different distributions", not
as ≈ 0.5. ``knn_real`` near 0 with ``knn_gen`` near 1 (overall ≈ 0.5) needs generated points crowding
around every real point, closer to it than other real points are.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ganbench.metrics.base import MetricContext
from ganbench.metrics.neighbours import DEFAULT_BUDGET, nearest_label_agreement


def knn_score(real: Any, gen: Any, *, budget: int = DEFAULT_BUDGET) -> dict[str, float]:
    """1-NN leave-one-out accuracy over real ∪ gen: overall (``knn``), on real (``knn_real``) and on
    generated samples (``knn_gen``)."""
    real_ok, gen_ok = nearest_label_agreement(real, gen, budget=budget)
    if len(real_ok) == 0 or len(gen_ok) == 0:
        raise ValueError("the KNN score needs at least one real and one generated sample")
    return {"knn": float((real_ok.sum() + gen_ok.sum()) / (len(real_ok) + len(gen_ok))),
            "knn_real": float(np.mean(real_ok)), "knn_gen": float(np.mean(gen_ok))}


def compute_knn(ctx: MetricContext) -> dict[str, float]:
    """Raw accuracies, marked lower-is-better: above 0.5 (the usual case) lower is better down to the ideal
    0.5; values below 0.5 mean memorisation, which a ranking on these keys alone does not penalise."""
    if ctx.gen is None or ctx.real is None:
        raise ValueError("knn needs generated and real pool features")
    return knn_score(ctx.real.pool, ctx.gen.pool)
