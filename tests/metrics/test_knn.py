"""KNN score (1-NN two-sample test): copies, one distribution, disjoint sets, collapse onto memorised points."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ganbench.data.base import Dataset, DatasetInfo
from ganbench.features.base import Features
from ganbench.metrics import METRICS, MetricContext, knn_score


def test_a_set_against_its_own_copy_scores_exactly_zero():
    x = np.random.default_rng(0).normal(size=(300, 32)) * 50  # large norms: float32 alone could not see the copy
    assert knn_score(x, x.copy()) == {"knn": 0.0, "knn_real": 0.0, "knn_gen": 0.0}


def test_two_samples_of_one_distribution_score_about_half():
    rng = np.random.default_rng(1)
    out = knn_score(rng.normal(size=(1000, 4)), rng.normal(size=(1000, 4)))
    assert out["knn"] == pytest.approx(0.5, abs=0.04)
    assert out["knn_real"] == pytest.approx(0.5, abs=0.06) and out["knn_gen"] == pytest.approx(0.5, abs=0.06)


def test_disjoint_sets_score_exactly_one():
    rng = np.random.default_rng(2)
    assert knn_score(rng.normal(size=(100, 3)), rng.normal(size=(80, 3)) + 100.0) == {
        "knn": 1.0, "knn_real": 1.0, "knn_gen": 1.0}


def test_collapse_onto_copies_of_a_few_real_points_reads_as_different_not_as_half():
    """gen = c copies of each of m real points. Worked out from the definition (fractional ties):
    a copy ties at 0 with its c − 1 twins and the original → (c − 1)/c; a copied real point sees only
    its c copies → 0; any other real point scores 1 if its nearest real neighbour is uncopied and
    1/(c + 1) if it is a copied one (that location holds 1 real + c generated points)."""
    rng = np.random.default_rng(3)
    n, m, c = 200, 10, 20
    real = rng.normal(size=(n, 3))
    gen = np.repeat(real[:m], c, axis=0)
    d = ((real[:, None] - real[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nearest_is_copied = d.argmin(1) < m
    want_real = np.where(nearest_is_copied, 1 / (c + 1), 1.0)
    want_real[:m] = 0.0
    out = knn_score(real, gen)
    assert out["knn_gen"] == pytest.approx((c - 1) / c, rel=1e-15)
    assert out["knn_real"] == pytest.approx(want_real.mean(), rel=1e-14)
    assert out["knn"] == pytest.approx((want_real.sum() + n * (c - 1) / c) / (2 * n), rel=1e-14)
    assert out["knn_real"] > 0.85 and out["knn"] > 0.85


def test_generated_clusters_crowding_every_real_point_give_real_zero_generated_one():
    """The pattern metrics.md describes (real-side ≈ 0, generated-side ≈ 1): each real point has a tight
    pair of generated points next to it, closer to each other than to it."""
    rng = np.random.default_rng(4)
    real = rng.normal(size=(150, 3))
    offset = np.array([1e-3, 0.0, 0.0])
    gen = np.concatenate([real + offset, real + offset * 1.01])
    out = knn_score(real, gen)
    assert out["knn_real"] == 0.0 and out["knn_gen"] == 1.0
    assert out["knn"] == pytest.approx(2 / 3)


def test_duplicates_inside_a_set_count_fractionally():
    real = np.array([[0.0, 0.0], [0.0, 0.0], [10.0, 0.0], [10.0, 1.0]])
    gen = np.array([[0.0, 0.0], [20.0, 0.0], [20.0, 1.0]])
    out = knn_score(real, gen)
    # origin: 2 real + 1 gen → each real scores 1/2 (one real twin, one gen copy), the gen copy 0
    assert out["knn_real"] == pytest.approx((0.5 + 0.5 + 1 + 1) / 4)
    assert out["knn_gen"] == pytest.approx((0 + 1 + 1) / 3)


def test_registered_metric_takes_real_then_generated():
    rng = np.random.default_rng(5)
    real, gen = rng.normal(size=(60, 4)), rng.normal(size=(50, 4)) + 0.5
    info = DatasetInfo(name="toy", kind="vector", shape=(4,), value_range=(-5.0, 5.0))
    ctx = MetricContext(dataset=Dataset(info, {}), samples=torch.from_numpy(gen), gen=Features(gen),
                        real=Features(real))
    assert METRICS.get("knn")(ctx) == knn_score(real, gen)
    assert METRICS.meta("knn")["outputs"] == {"knn": False, "knn_real": False, "knn_gen": False}


# ---------------------------------------------------------------- added after mutation testing (docs/testing.md)


def test_one_real_and_one_generated_point_each_see_only_the_other():
    assert knn_score(np.zeros((1, 2)), np.ones((1, 2))) == {"knn": 0.0, "knn_real": 0.0, "knn_gen": 0.0}
    # one real point among generated ones: its nearest point is generated (0), theirs is each other (1)
    out = knn_score(np.zeros((1, 1)), np.array([[5.0], [6.0]]))
    assert out == {"knn": pytest.approx(2 / 3), "knn_real": 0.0, "knn_gen": 1.0}


def test_an_empty_side_is_refused():
    message = r"^the KNN score needs at least one real and one generated sample$"
    with pytest.raises(ValueError, match=message):
        knn_score(np.zeros((0, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match=message):
        knn_score(np.ones((3, 2)), np.zeros((0, 2)))
