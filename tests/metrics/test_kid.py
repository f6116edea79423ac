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


def test_deterministic_by_seed(pair):
    a, b = pair
    assert kid(a, b, subsets=3, subset_size=50, seed=5) == kid(a, b, subsets=3, subset_size=50, seed=5)
    assert kid(a, b, subsets=3, subset_size=50, seed=5) != kid(a, b, subsets=3, subset_size=50, seed=6)
    with pytest.raises(ValueError, match="at least 2"):
        kid(a[:1], b)


@pytest.mark.parametrize("side", ["a", "b"])
def test_subset_size_clipped_to_the_smaller_set_is_the_unbiased_mmd_with_that_size(pair, side):
    """``subset_size`` 1000 against 40 (or 30) samples: the estimate is the unbiased MMD² with
    m = 40 (30), recomputed in float64 on the same subsets. torch-fidelity would refuse this input.

    Breakages tried, each fails here: m clipped one lower (min(...) − 1); the within-set sums divided
    by m² (the biased estimator) instead of m(m − 1); the diagonals of k_xx, k_yy kept.
    """
    a, b = pair
    if side == "a":
        a = a[:40]
    else:
        b = b[:30]
    m = min(len(a), len(b))
    want_mean, want_std = float64_kid(a, b, subsets=3, m=m, seed=4)
    got = kid(a, b, subsets=3, subset_size=1000, seed=4)
    assert got["kid_mean"] == pytest.approx(want_mean, rel=1e-6)
    assert got["kid_std"] == pytest.approx(want_std, rel=1e-5)
    assert got == kid(a, b, subsets=3, subset_size=m, seed=4)  # clipping is exactly asking for m


def test_registered_metric_passes_generated_first_and_seeds_from_the_context(pair):
    real, gen = pair
    info = DatasetInfo(name="toy", kind="vector", shape=(64,), value_range=(0.0, 1.0))
    ctx = MetricContext(dataset=Dataset(info, {}), samples=torch.zeros(1), gen=Features(gen), real=Features(real),
                        seed=9)
    params = METRICS.meta("kid")["defaults"] | {"subsets": 4, "subset_size": 100}
    assert METRICS.get("kid")(ctx, **params) == kid(gen, real, subsets=4, subset_size=100, seed=9)
    with pytest.raises(TypeError):
        METRICS.get("kid")(ctx, **params, subset=3)  # misspelt option: refused, never ignored


# ---------------------------------------------------------------- added after mutation testing (docs/testing.md)


def general_float64_kid(a, b, subsets, m, seed, degree, gamma, coef0):
    """The same estimator with any polynomial kernel (γ xᵀy + c₀)^degree, in float64."""
    rng = np.random.RandomState(seed)
    values = []
    for _ in range(subsets):
        x, y = a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)]
        kxx, kyy, kxy = ((gamma * (u @ v.T) + coef0) ** degree for u, v in ((x, x), (y, y), (x, y)))
        values.append((kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                      - 2 * kxy.sum() / m**2)
    return float(np.mean(values)), float(np.std(values))


def test_kernel_options_gamma_coef0_and_degree_are_used(pair):
    a, b = pair
    want = general_float64_kid(a, b, subsets=3, m=100, seed=2, degree=2, gamma=0.05, coef0=0.5)
    got = kid(a, b, subsets=3, subset_size=100, seed=2, degree=2, gamma=0.05, coef0=0.5)
    assert got["kid_mean"] == pytest.approx(want[0], rel=1e-6) and got["kid_std"] == pytest.approx(want[1], rel=1e-4)


def test_registered_metric_forwards_every_kernel_option(pair):
    real, gen = pair
    info = DatasetInfo(name="toy", kind="vector", shape=(64,), value_range=(0.0, 1.0))
    ctx = MetricContext(dataset=Dataset(info, {}), samples=torch.zeros(1), gen=Features(gen), real=Features(real),
                        seed=3)
    out = METRICS.get("kid")(ctx, subsets=2, subset_size=80, degree=2, gamma=0.05, coef0=0.5)
    want = general_float64_kid(gen, real, subsets=2, m=80, seed=3, degree=2, gamma=0.05, coef0=0.5)
    assert out["kid_mean"] == pytest.approx(want[0], rel=1e-6) and out["kid_std"] == pytest.approx(want[1], rel=1e-4)


def test_registered_metric_reduces_a_large_seed_modulo_2_to_the_32(pair):
    real, gen = pair
    info = DatasetInfo(name="toy", kind="vector", shape=(64,), value_range=(0.0, 1.0))
    ctx = MetricContext(dataset=Dataset(info, {}), samples=torch.zeros(1), gen=Features(gen), real=Features(real),
                        seed=2**32 + 7)
    assert METRICS.get("kid")(ctx, subsets=2, subset_size=50, degree=3, gamma=None, coef0=1.0) == kid(
        gen, real, subsets=2, subset_size=50, seed=7)


def test_smallest_sizes_work_and_below_them_are_refused(pair):
    """Subsets of 2 samples and a single subset are valid (float64 reference; with 2 samples the
    float32 Gram error does not average out, hence 1e-4); 1 sample, 0 subsets, and features of
    different widths are refused with messages that say so."""
    a, b = pair
    assert kid(a, b, subsets=4, subset_size=2, seed=1)["kid_mean"] == pytest.approx(
        float64_kid(a, b, subsets=4, m=2, seed=1)[0], rel=1e-4)
    one = kid(a, b, subsets=1, subset_size=50, seed=1)
    assert one == {"kid_mean": pytest.approx(float64_kid(a, b, 1, 50, 1)[0], rel=1e-6), "kid_std": 0.0}
    with pytest.raises(ValueError, match=r"^KID needs subsets of at least 2 samples, got 1$"):
        kid(a, b, subset_size=1)
    with pytest.raises(ValueError, match=r"^subsets must be at least 1, got 0$"):
        kid(a, b, subsets=0)
    with pytest.raises(ValueError, match=r"^feature dimensions differ \(64 vs 32\)$"):
        kid(a, b[:, :32])


def test_defaults_are_torch_fidelitys_subsets_and_subset_size():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(1100, 8)), rng.normal(size=(1050, 8)) + 0.1
    theirs = kid_features_to_metric(torch.from_numpy(a), torch.from_numpy(b), rng_seed=0, verbose=False)
    ours = kid(a, b)  # 100 subsets of 1000, seed 0
    assert ours["kid_mean"] == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-6)
    assert ours["kid_std"] == pytest.approx(theirs["kernel_inception_distance_std"], rel=1e-5)


def test_near_zero_kid_keeps_float64_kernel_precision():
    """Two samples of one distribution: MMD² ≈ 2e-3 is a difference of kernel means ≈ 1, where a kernel
    raised to the cube in float32 loses ~4e-5 relative. The float32 Gram product alone stays ~1e-7."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 64)), rng.normal(size=(400, 64))
    want, _ = float64_kid(a, b, subsets=5, m=300, seed=3)
    assert kid(a, b, subsets=5, subset_size=300, seed=3)["kid_mean"] == pytest.approx(want, rel=1e-6)
