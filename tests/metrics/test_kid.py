"""KID: torch-fidelity's own function with the same subsets, a float64 reference, ≈ 0 for one distribution."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_fidelity.metric_kid import kid_features_to_metric

from ganbench.data.base import Dataset, DatasetInfo
from ganbench.features.base import Features
from ganbench.metrics import METRICS, MetricContext, kid


def float64_kid(a: np.ndarray, b: np.ndarray, subsets: int, m: int, seed: int) -> tuple[float, float]:
    """Independent float64 computation of the same estimator on the same subsets."""
    rng = np.random.RandomState(seed)
    values = []
    for _ in range(subsets):
        x, y = a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)]
        kxx, kyy, kxy = (((u @ v.T) / a.shape[1] + 1) ** 3 for u, v in ((x, x), (y, y), (x, y)))
        values.append((kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                      - 2 * kxy.sum() / m**2)
    return float(np.mean(values)), float(np.std(values))


@pytest.fixture
def pair() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return np.abs(rng.normal(size=(400, 64))), np.abs(rng.normal(size=(300, 64)) * 1.1 + 0.05)


def test_agrees_with_torch_fidelity_given_the_same_seed(pair):
    a, b = pair
    ours = kid(a, b, subsets=10, subset_size=200, seed=11)
    theirs = kid_features_to_metric(torch.from_numpy(a), torch.from_numpy(b), kid_subsets=10, kid_subset_size=200,
                                    rng_seed=11, verbose=False)
    assert ours["kid_mean"] == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-6)
    assert ours["kid_std"] == pytest.approx(theirs["kernel_inception_distance_std"], rel=1e-5)


def test_float32_gram_stays_within_1e_6_of_float64(pair):
    a, b = pair
    want_mean, want_std = float64_kid(a, b, subsets=5, m=150, seed=3)
    ours = kid(a, b, subsets=5, subset_size=150, seed=3)
    assert ours["kid_mean"] == pytest.approx(want_mean, rel=1e-6)
    assert ours["kid_std"] == pytest.approx(want_std, rel=1e-5)


def test_one_distribution_is_near_zero_and_a_shift_is_not():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(600, 16)), rng.normal(size=(600, 16))
    same = kid(a, b, subsets=20, subset_size=300, seed=0)
    shifted = kid(a, b + 0.5, subsets=20, subset_size=300, seed=0)
    assert abs(same["kid_mean"]) < 3 * same["kid_std"] + 1e-3
    assert shifted["kid_mean"] > 50 * abs(same["kid_mean"])


def test_deterministic_by_seed_and_subset_size_clipped(pair):
    a, b = pair
    assert kid(a, b, subsets=3, subset_size=50, seed=5) == kid(a, b, subsets=3, subset_size=50, seed=5)
    assert kid(a, b, subsets=3, subset_size=50, seed=5) != kid(a, b, subsets=3, subset_size=50, seed=6)
    small = kid(a[:40], b, subsets=2, subset_size=1000, seed=0)  # torch-fidelity would refuse this
    assert np.isfinite(small["kid_mean"])
    with pytest.raises(ValueError, match="at least 2"):
        kid(a[:1], b)


def test_registered_metric_passes_generated_first_and_seeds_from_the_context(pair):
    real, gen = pair
    info = DatasetInfo(name="toy", kind="vector", shape=(64,), value_range=(0.0, 1.0))
    ctx = MetricContext(dataset=Dataset(info, {}), samples=torch.zeros(1), gen=Features(gen), real=Features(real),
                        seed=9)
    params = METRICS.meta("kid")["defaults"] | {"subsets": 4, "subset_size": 100}
    assert METRICS.get("kid")(ctx, **params) == kid(gen, real, subsets=4, subset_size=100, seed=9)
    with pytest.raises(TypeError):
        METRICS.get("kid")(ctx, **params, subset=3)  # misspelt option: refused, never ignored
