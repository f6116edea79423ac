"""Memorisation: does G copy its training set? Two tests on the train split's features beside the generated ones.

A generator that returns training images scores a fine FID against the test split (the "copycat" of
Jiralerspong et al.'s FLS paper); these metrics catch it, as dgm-eval (Stein et al. 2023) computes them.

- ``authenticity`` (Alaa et al. 2022, "How faithful is your synthetic data?"; dgm-eval's ``authpct`` from the
  FLS code): a generated sample is *authentic* unless it lies closer to its nearest training sample than that
  training sample lies to its own nearest other training sample. The share of authentic samples, in [0, 1]:
  copies of training points score 0; a fresh draw of the data distribution about half or more.
- ``ct`` (Meehan, Chaudhuri & Dasgupta 2020, "A non-parametric test to detect data-copying in generative
  models"; their ``data_copying_tests.py``, as dgm-eval calls it): the space is cut into ``cells`` k-means
  cells fitted on the training features (after a PCA to 64 dimensions when they have more, fitted on the
  training features too); in each cell the distances from the test and from the generated samples to their
  nearest training sample *of that cell* are compared by a Mann–Whitney U, Z-scored under the null with the
  reference code's continuity correction (mean nm/2 − ½, variance nm(n + m + 1)/12); C_T is the average of
  the cells' Z over the cells holding more than ``min_gen`` generated samples, weighted by their share of
  the test samples. C_T ≪ 0: generated samples sit closer to the training set than fresh data do — copying;
  ≫ 0: farther — underfitting; ≈ 0: neither. Its stated direction (higher is better) is the copying one: a
  regression gate on C_T catches a model that starts to copy.

Both read the train split's features (``MetricContext.train``, cached by the evaluator like the test split's:
``n_train`` of them, the whole split when it is smaller) and the evaluation's real split as the fresh data C_T
compares with (the test split by default).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.stats import mannwhitneyu
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

from ganbench.metrics.base import MetricContext
from ganbench.metrics.neighbours import as_matrix

CT_PCA_DIM = 64  # dgm-eval's preprocessing: the first 64 principal components of the training features
KMEANS_INIT = 10  # dgm-eval: KMeans(n_clusters=3, n_init=10)


def authenticity(train: np.ndarray, gen: np.ndarray) -> float:
    """Share of generated rows farther from their nearest training row than it is from its own nearest
    other training row (duplicates in the training set are each other's neighbours, at 0)."""
    train, gen = as_matrix(train, "train"), as_matrix(gen, "gen")
    if len(train) < 2:
        raise ValueError("authenticity needs at least two training samples")
    index = NearestNeighbors(n_neighbors=2).fit(train)
    own, _ = index.kneighbors(train, n_neighbors=2)  # column 0: the row itself (or a copy of it), at 0
    to_train, nearest = index.kneighbors(gen, n_neighbors=1)
    return float(np.mean(own[nearest[:, 0], 1] < to_train[:, 0]))


def z_u(test_dist: np.ndarray, gen_dist: np.ndarray) -> float:
    """Meehan et al.'s Z_U: U of the generated distances against the test ones (the count of pairs where the
    generated sample is the farther, ties ½), centred and scaled under the null with their correction."""
    n, m = len(test_dist), len(gen_dist)
    u = mannwhitneyu(gen_dist, test_dist, alternative="less").statistic
    return float((u - (n * m / 2 - 0.5)) / math.sqrt(n * m * (n + m + 1) / 12))


def ct_score(train: np.ndarray, test: np.ndarray, gen: np.ndarray, *, cells: int = 3, min_gen: int = 20,
             seed: int = 0) -> float:
    """C_T of generated rows against the training rows, with the test rows as the fresh draw (see module doc)."""
    train, test, gen = as_matrix(train, "train"), as_matrix(test, "test"), as_matrix(gen, "gen")
    if train.shape[1] > CT_PCA_DIM:
        pca = PCA(n_components=CT_PCA_DIM, random_state=seed).fit(train)
        train, test, gen = pca.transform(train), pca.transform(test), pca.transform(gen)
    km = KMeans(n_clusters=cells, n_init=KMEANS_INIT, random_state=seed).fit(train)
    cell_train, cell_test, cell_gen = km.labels_, km.predict(test), km.predict(gen)
    weights, scores = [], []
    for c in range(cells):
        t, p, q = train[cell_train == c], test[cell_test == c], gen[cell_gen == c]
        if len(p) == 0:
            raise ValueError(f"ct: k-means cell {c} of {cells} holds no test sample; lower metric option 'cells' "
                             "or raise n_real")
        if len(q) <= min_gen:  # Π_τ: cells with more than τ = min_gen / m of the generated samples
            continue
        index = NearestNeighbors(n_neighbors=1).fit(t)
        scores.append(z_u(index.kneighbors(p)[0][:, 0], index.kneighbors(q)[0][:, 0]))
        weights.append(len(p) / len(test))
    if not scores:
        raise ValueError(f"ct needs a cell with more than {min_gen} generated samples; raise n_gen "
                         f"(now {len(gen)})")
    return float(np.dot(weights, scores) / np.sum(weights))


def _train(ctx: MetricContext, name: str) -> np.ndarray:
    if ctx.gen is None or ctx.train is None:
        raise ValueError(f"{name} needs generated and train-split pool features")
    return ctx.train.pool


def compute_authenticity(ctx: MetricContext, *, n_train: int) -> dict[str, float]:
    """``n_train``: how many training samples the evaluator featurised (it reads them; stated for the record)."""
    train = _train(ctx, "authenticity")
    with threadpool_limits(limits=1):  # many small BLAS and OpenMP calls: one thread (see fid.py)
        return {"authenticity": authenticity(train, ctx.gen.pool)}


def compute_ct(ctx: MetricContext, *, n_train: int, cells: int, min_gen: int) -> dict[str, float]:
    train = _train(ctx, "ct")
    if ctx.real is None:
        raise ValueError("ct needs the real (test) split's pool features")
    with threadpool_limits(limits=1):
        # seed 0, not the evaluation's: the cells are a function of the training features alone, the same
        # partition for every model and evaluation point
        return {"ct": ct_score(train, ctx.real.pool, ctx.gen.pool, cells=cells, min_gen=min_gen, seed=0)}
