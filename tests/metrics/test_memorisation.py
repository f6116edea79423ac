"""Memorisation metrics: authenticity and C_T on a generator that copies training points vs a fresh draw of the
same distribution, against brute-force recomputations of their definitions, and wired into the evaluator."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans

from ganbench.data.base import Dataset, DatasetInfo
from ganbench.features.base import Features
from ganbench.metrics import METRICS, MetricContext
from ganbench.metrics.memorisation import authenticity, ct_score, z_u

RNG = np.random.default_rng(0)
TRAIN = RNG.normal(size=(600, 5))
TEST = RNG.normal(size=(400, 5))
FRESH = RNG.normal(size=(400, 5))
COPIES = TRAIN[RNG.integers(0, 600, 400)]
NEAR_COPIES = COPIES + RNG.normal(scale=0.01, size=COPIES.shape)


def brute_authenticity(train: np.ndarray, gen: np.ndarray) -> float:
    """The definition with full distance matrices: authentic iff d(g, t*) > min over t ≠ t* of d(t*, t)."""
    d_tt = np.linalg.norm(train[:, None] - train[None], axis=2)
    np.fill_diagonal(d_tt, np.inf)
    d_gt = np.linalg.norm(gen[:, None] - train[None], axis=2)
    nearest = d_gt.argmin(axis=1)
    return float(np.mean(d_tt[nearest].min(axis=1) < d_gt[np.arange(len(gen)), nearest]))


def test_authenticity_is_zero_for_copies_about_half_for_a_fresh_draw_and_its_definition():
    assert authenticity(TRAIN, COPIES) == 0.0
    assert authenticity(TRAIN, NEAR_COPIES) < 0.05
    fresh = authenticity(TRAIN, FRESH)
    assert 0.4 < fresh < 0.9
    assert fresh == pytest.approx(brute_authenticity(TRAIN, FRESH), abs=0)
    assert authenticity(TRAIN, NEAR_COPIES) == brute_authenticity(TRAIN, NEAR_COPIES)
    # a training set with a duplicate: a copy of it sits at 0 from it, as far as the duplicate: not authentic
    doubled = np.vstack([TRAIN, TRAIN[:1]])
    assert authenticity(doubled, TRAIN[:1]) == 0.0 == brute_authenticity(doubled, TRAIN[:1])


def test_z_u_is_the_z_scored_pair_count_with_the_reference_continuity_correction():
    test, gen = RNG.exponential(size=37), RNG.exponential(size=23)
    pairs = sum((g > t) + 0.5 * (g == t) for g in gen for t in test)
    n, m = len(test), len(gen)
    assert z_u(test, gen) == pytest.approx((pairs - (n * m / 2 - 0.5)) / math.sqrt(n * m * (n + m + 1) / 12))


def brute_ct(train, test, gen, cells=3, min_gen=20):
    """C_T from the paper's steps, with the same k-means cells (sklearn, seed 0) and brute-force distances."""
    km = KMeans(n_clusters=cells, n_init=10, random_state=0).fit(train)
    lt, lp, lq = km.labels_, km.predict(test), km.predict(gen)
    num = den = 0.0
    for c in range(cells):
        t, p, q = train[lt == c], test[lp == c], gen[lq == c]
        if len(q) <= min_gen:
            continue
        dp = np.linalg.norm(p[:, None] - t[None], axis=2).min(axis=1)
        dq = np.linalg.norm(q[:, None] - t[None], axis=2).min(axis=1)
        u = sum((a > b) + 0.5 * (a == b) for a in dq for b in dp)
        n, m = len(p), len(q)
        z = (u - (n * m / 2 - 0.5)) / math.sqrt(n * m * (n + m + 1) / 12)
        num, den = num + len(p) / len(test) * z, den + len(p) / len(test)
    return num / den


def test_ct_is_very_negative_for_copies_near_zero_for_a_fresh_draw_positive_for_underfitting():
    copying = ct_score(TRAIN, TEST, NEAR_COPIES)
    fresh = ct_score(TRAIN, TEST, FRESH)
    underfit = ct_score(TRAIN, TEST, FRESH * 1.5)  # spread past the data: farther from the training set
    assert copying < -10 and abs(fresh) < 3 and underfit > 3
    for gen in (NEAR_COPIES, FRESH):
        assert ct_score(TRAIN, TEST, gen) == pytest.approx(brute_ct(TRAIN, TEST, gen), rel=1e-9)


def test_ct_leaves_out_cells_with_too_few_generated_samples_and_refuses_when_none_is_left():
    """All generated samples in one cell: only that cell counts (Π_τ); fewer than min_gen anywhere: an error."""
    km = KMeans(n_clusters=3, n_init=10, random_state=0).fit(TRAIN)
    one_cell = FRESH[km.predict(FRESH) == 0]
    assert ct_score(TRAIN, TEST, one_cell) == pytest.approx(brute_ct(TRAIN, TEST, one_cell), rel=1e-9)
    with pytest.raises(ValueError, match="ct needs a cell with more than 20 generated samples; raise n_gen"):
        ct_score(TRAIN, TEST, FRESH[:15])


def test_ct_reduces_wide_features_to_64_principal_components_first():
    rng = np.random.default_rng(3)
    basis = rng.normal(size=(5, 300))
    wide = [x @ basis for x in (TRAIN, TEST, NEAR_COPIES)]
    assert ct_score(*wide) < -10


def test_the_registered_metrics_read_the_train_features_of_the_context():
    info = DatasetInfo(name="toy", kind="vector", shape=(5,), value_range=(-9.0, 9.0))
    ctx = MetricContext(dataset=Dataset(info, {}), samples=torch.zeros(400, 5), gen=Features(NEAR_COPIES),
                        real=Features(TEST), train=Features(TRAIN))
    assert METRICS.get("authenticity")(ctx, n_train=600)["authenticity"] == authenticity(TRAIN, NEAR_COPIES)
    assert METRICS.get("ct")(ctx, n_train=600, cells=3, min_gen=20)["ct"] < -10
    bare = MetricContext(dataset=Dataset(info, {}), samples=torch.zeros(4, 5), gen=Features(FRESH), real=Features(TEST))
    with pytest.raises(ValueError, match="^authenticity needs generated and train-split pool features$"):
        METRICS.get("authenticity")(bare, n_train=600)


def test_the_evaluator_featurises_the_train_split_and_a_copying_generator_is_caught(tmp_path):
    """End to end on the ring: a 'generator' that returns training points passes for a good model on FID-like
    scores but not on authenticity and C_T; one that draws fresh points from the mixture does."""
    from ganbench.data import load_dataset
    from ganbench.evaluate import Evaluator
    from ganbench.specs import EvalProtocol, frozen

    dataset = load_dataset("ring", {"n_train": 2000, "n_test": 1000})
    protocol = EvalProtocol("raw", ("authenticity", "ct", "knn"), 500, 1000, "test", frozen({}),
                            frozen({"authenticity": {"n_train": 2000}, "ct": {"n_train": 2000}}))
    evaluator = Evaluator(protocol, dataset, cache_dir=tmp_path)
    assert evaluator.record["n_train"] == 2000 and len(evaluator.train) == 2000
    train = dataset.split("train")

    class Copycat(torch.nn.Module):
        def forward(self, z):  # z ∈ [−1, 1): an index into the training set
            return train.get(((z[:, 0] + 1) / 2 * (len(train) - 1)).long())

    fresh_pool = load_dataset("ring", {"n_train": 2000, "n_test": 1000, "seed": 7}).split("train")

    class Fresh(torch.nn.Module):
        def forward(self, z):
            return fresh_pool.get(((z[:, 0] + 1) / 2 * (len(fresh_pool) - 1)).long())

    def latent(n, generator=None):
        return torch.rand(n, 2, generator=generator) * 2 - 1

    copied = evaluator(Copycat(), latent, 1).metrics
    fresh = evaluator(Fresh(), latent, 1).metrics
    assert copied["authenticity"] == 0.0 and copied["ct"] < -5
    assert fresh["authenticity"] > 0.3 and abs(fresh["ct"]) < 4
