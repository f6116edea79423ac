"""Vendi score: closed forms (identical, orthogonal, balanced clusters) and the n × n definition it shortcuts."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ganbench.data.base import Dataset, DatasetInfo
from ganbench.features.base import Features
from ganbench.metrics import METRICS, MetricContext
from ganbench.metrics.vendi import vendi_score


def brute_force(x: np.ndarray) -> float:
    """The definition over the n × n cosine-similarity matrix (Friedman & Dieng 2023, eq. 1)."""
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    w = np.linalg.eigvalsh(unit @ unit.T / len(x))
    w = w[w > 1e-12]
    return float(np.exp(-(w * np.log(w)).sum()))


def test_identical_samples_score_one_and_orthogonal_ones_their_count():
    assert vendi_score(np.tile([[0.3, -2.0, 1.0]], (50, 1))) == pytest.approx(1.0, abs=1e-12)
    assert vendi_score(np.eye(7) * 3.0) == pytest.approx(7.0, rel=1e-12)  # lengths do not matter


def test_k_equal_clusters_of_orthogonal_directions_score_k():
    """Mass spread evenly over k orthogonal directions, any number of copies each: exactly k."""
    x = np.repeat(np.eye(5)[:4], [10, 10, 10, 10], axis=0)
    assert vendi_score(x) == pytest.approx(4.0, rel=1e-12)
    uneven = np.repeat(np.eye(5)[:2], [30, 10], axis=0)  # shares 3/4 and 1/4: exp of their entropy
    assert vendi_score(uneven) == pytest.approx(np.exp(-(0.75 * np.log(0.75) + 0.25 * np.log(0.25))), rel=1e-12)


def test_the_d_by_d_route_equals_the_n_by_n_definition():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 16)) @ rng.normal(size=(16, 16)) + 0.5
    assert vendi_score(x) == pytest.approx(brute_force(x), rel=1e-10)
    assert 1.0 < vendi_score(x) <= 16.0


def test_refuses_empty_and_zero_vectors():
    with pytest.raises(ValueError, match="at least one"):
        vendi_score(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="zero feature vector"):
        vendi_score(np.array([[1.0, 0.0], [0.0, 0.0]]))


def test_registered_metric_scores_the_generated_pool():
    rng = np.random.default_rng(1)
    gen = rng.normal(size=(200, 8))
    info = DatasetInfo(name="toy", kind="vector", shape=(8,), value_range=(-5.0, 5.0))
    ctx = MetricContext(dataset=Dataset(info, {}), samples=torch.from_numpy(gen), gen=Features(gen))
    assert METRICS.get("vendi")(ctx) == {"vendi": pytest.approx(vendi_score(gen), rel=1e-15)}
    assert METRICS.meta("vendi")["outputs"] == {"vendi": True}
