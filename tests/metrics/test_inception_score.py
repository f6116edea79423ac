"""Inception Score: the closed forms of metrics.md and torch-fidelity's own function."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_fidelity.metric_isc import isc_features_to_metric

from ganbench.data.base import Dataset, DatasetInfo
from ganbench.features.base import Features
from ganbench.metrics import METRICS, MetricContext, inception_score


def test_one_hot_rows_of_k_classes_score_k():
    assert inception_score(np.eye(3), splits=1, probs=True) == {"is_mean": pytest.approx(3.0, rel=1e-14),
                                                                "is_std": 0.0}
    # every split of 10 holds each of the 7 classes once
    rows = np.tile(np.eye(7), (10, 1))
    out = inception_score(rows, splits=10, probs=True, shuffle=False)
    assert out["is_mean"] == pytest.approx(7.0, rel=1e-14) and out["is_std"] == pytest.approx(0.0, abs=1e-12)


def test_confident_logits_approach_k_and_uniform_rows_score_one():
    assert inception_score(60.0 * np.eye(5), splits=1)["is_mean"] == pytest.approx(5.0, rel=1e-12)
    assert inception_score(np.full((40, 5), 0.2), splits=4, probs=True) == {"is_mean": pytest.approx(1.0),
                                                                             "is_std": pytest.approx(0.0)}
    assert inception_score(np.zeros((40, 5)), splits=4)["is_mean"] == pytest.approx(1.0, rel=1e-14)


def test_agrees_with_torch_fidelity():
    logits = torch.from_numpy(np.random.default_rng(0).normal(size=(500, 10)) * 3)
    want = isc_features_to_metric(logits, splits=10)
    ours = inception_score(logits, splits=10)
    assert ours["is_mean"] == pytest.approx(want["inception_score_mean"], rel=1e-12)
    assert ours["is_std"] == pytest.approx(want["inception_score_std"], rel=1e-9)
    unshuffled = isc_features_to_metric(logits, splits=5, shuffle=False)
    assert inception_score(logits, splits=5, shuffle=False)["is_mean"] == pytest.approx(
        unshuffled["inception_score_mean"], rel=1e-12)


def test_probabilities_route_equals_logits_route():
    logits = np.random.default_rng(1).normal(size=(200, 8)) * 2
    probs = torch.softmax(torch.from_numpy(logits), dim=1).numpy()
    a, b = inception_score(logits), inception_score(probs, probs=True)
    assert a["is_mean"] == pytest.approx(b["is_mean"], rel=1e-12)
    assert a["is_std"] == pytest.approx(b["is_std"], rel=1e-9)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="splits"):
        inception_score(np.eye(3), splits=4)
    with pytest.raises(ValueError, match="non-negative"):
        inception_score(-np.eye(3), splits=1, probs=True)


def test_registered_metric_reads_generated_logits():
    info = DatasetInfo(name="toy", kind="image", shape=(1, 2, 2), value_range=(0.0, 1.0))
    logits = np.random.default_rng(2).normal(size=(100, 4))
    ctx = MetricContext(dataset=Dataset(info, {}), samples=torch.zeros(100, 1, 2, 2),
                        gen=Features(np.zeros((100, 3)), logits))
    assert METRICS.get("is")(ctx, splits=10) == inception_score(logits, splits=10)
    with pytest.raises(ValueError, match="logits"):
        METRICS.get("is")(MetricContext(dataset=Dataset(info, {}), samples=torch.zeros(1),
                                        gen=Features(np.zeros((3, 3)))), splits=1)
    assert METRICS.meta("is")["outputs"] == {"is_mean": True, "is_std": False}


# ---------------------------------------------------------------- added after mutation testing (docs/testing.md)


def test_defaults_are_torch_fidelitys():
    """10 splits, shuffled with seed 2020: the same call without arguments on both sides."""
    logits = torch.from_numpy(np.random.default_rng(3).normal(size=(300, 6)) * 2)
    want = isc_features_to_metric(logits)
    ours = inception_score(logits)
    assert ours["is_mean"] == pytest.approx(want["inception_score_mean"], rel=1e-12)
    assert ours["is_std"] == pytest.approx(want["inception_score_std"], rel=1e-9)


def test_one_row_per_split_scores_exactly_one():
    """With splits = N each split's p(y) is its only row, so every KL is 0 and IS is exp(0) = 1."""
    logits = np.random.default_rng(4).normal(size=(12, 5))
    assert inception_score(logits, splits=12) == {"is_mean": pytest.approx(1.0, abs=1e-12),
                                                   "is_std": pytest.approx(0.0, abs=1e-12)}


def test_unnormalised_probability_rows_are_normalised():
    """``probs=True`` rows are divided by their sums: counts give the score of their frequencies,
    here computed by hand (exp of the mean KL to the marginal)."""
    counts = np.array([[3.0, 1.0, 0.0], [0.0, 2.0, 2.0], [5.0, 0.0, 5.0], [1.0, 1.0, 1.0]])
    p = counts / counts.sum(1, keepdims=True)
    marginal = p.mean(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(p > 0, p * np.log(p / marginal), 0.0).sum(1)
    want = float(np.exp(kl.mean()))
    assert inception_score(counts, splits=1, probs=True)["is_mean"] == pytest.approx(want, rel=1e-12)
    assert inception_score(counts * 7.5, splits=1, probs=True)["is_mean"] == pytest.approx(want, rel=1e-12)


def test_registered_metric_forwards_splits_and_names_what_is_missing():
    info = DatasetInfo(name="toy", kind="image", shape=(1, 2, 2), value_range=(0.0, 1.0))
    logits = np.random.default_rng(5).normal(size=(60, 4))
    ctx = MetricContext(dataset=Dataset(info, {}), samples=torch.zeros(60, 1, 2, 2),
                        gen=Features(np.zeros((60, 3)), logits))
    assert METRICS.get("is")(ctx, splits=3) == inception_score(logits, splits=3)
    message = r"^is needs classifier logits of the generated samples \(an extractor with a classifier\)$"
    for gen in (None, Features(np.zeros((3, 3)))):
        with pytest.raises(ValueError, match=message):
            METRICS.get("is")(MetricContext(dataset=Dataset(info, {}), samples=torch.zeros(1), gen=gen), splits=1)
