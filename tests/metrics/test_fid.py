"""FID: closed forms, an independent scipy computation, torch-fidelity's own function, singular Σ, caching."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.linalg
import torch
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

from ganbench.data.base import Dataset, DatasetInfo
from ganbench.features.base import Features
from ganbench.metrics import METRICS, FrechetReference, MetricContext, fid, frechet_statistics


def scipy_fid(a: np.ndarray, b: np.ndarray) -> float:
    """The textbook route: np.cov statistics and scipy's general matrix square root."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def test_shifted_identity_gaussians_give_p_alpha_squared():
    p, alpha = 64, 0.3
    ref = FrechetReference(np.zeros(p), np.eye(p))
    assert ref.distance(np.full(p, alpha), np.eye(p)) == pytest.approx(p * alpha**2, rel=1e-12)


def test_scaled_identity_gives_p_beta_minus_one_squared():
    p, beta = 32, 1.7
    ref = FrechetReference(np.zeros(p), np.eye(p))
    assert ref.distance(np.zeros(p), beta**2 * np.eye(p)) == pytest.approx(p * (beta - 1) ** 2, rel=1e-12)


def test_samples_agree_with_scipy_sqrtm():
    rng = np.random.default_rng(0)
    mix = rng.normal(size=(24, 24)) / 5
    a = rng.normal(size=(600, 24)) @ mix + 0.1
    b = rng.normal(size=(500, 24)) @ (mix + 0.05 * rng.normal(size=(24, 24)))
    want = scipy_fid(a, b)
    assert fid(a, b) == pytest.approx(want, rel=1e-6)
    assert fid(b, a) == pytest.approx(want, rel=1e-6)


def test_samples_from_the_analytic_pair_approach_p_alpha_squared():
    rng = np.random.default_rng(1)
    p, alpha, n = 8, 0.5, 20_000
    value = fid(rng.normal(size=(n, p)), rng.normal(size=(n, p)) + alpha)
    assert value == pytest.approx(p * alpha**2, abs=0.05)


def test_agrees_with_torch_fidelity_on_the_same_statistics():
    rng = np.random.default_rng(2)
    a = torch.from_numpy(rng.normal(size=(300, 40)))
    b = torch.from_numpy(rng.normal(size=(250, 40)) * 1.2 + 0.3)
    s1, s2 = fid_features_to_statistics(a), fid_features_to_statistics(b)
    want = fid_statistics_to_metric(s1, s2, verbose=False)["frechet_inception_distance"]
    assert FrechetReference(s1["mu"], s1["sigma"]).distance(s2["mu"], s2["sigma"]) == pytest.approx(want, rel=1e-9)
    assert fid(a, b) == pytest.approx(want, rel=1e-9)


def test_statistics_match_numpy_cov():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 6))
    mu, sigma = frechet_statistics(torch.from_numpy(x))
    np.testing.assert_allclose(mu, x.mean(0), rtol=1e-13)
    np.testing.assert_allclose(sigma, np.cov(x, rowvar=False), rtol=1e-12, atol=1e-14)
    assert (sigma == sigma.T).all()


def test_fewer_samples_than_dimensions_is_finite_and_matches_torch_fidelity():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(20, 64)), rng.normal(size=(30, 64)) + 0.2
    value = fid(a, b)
    assert np.isfinite(value) and value > 0
    s1, s2 = fid_features_to_statistics(torch.from_numpy(a)), fid_features_to_statistics(torch.from_numpy(b))
    want = fid_statistics_to_metric(s1, s2, verbose=False)["frechet_inception_distance"]
    assert value == pytest.approx(want, rel=1e-6)
    assert FrechetReference.from_features(a).factor.shape[1] <= 19  # rank ≤ N − 1: zero directions dropped


def test_identical_sets_are_zero():
    x = np.random.default_rng(5).normal(size=(200, 16))
    assert abs(fid(x, x)) < 1e-9


def test_state_round_trip_and_pickle_give_identical_numbers():
    rng = np.random.default_rng(6)
    ref = FrechetReference.from_features(rng.normal(size=(100, 12)))
    mu, sigma = frechet_statistics(rng.normal(size=(80, 12)) + 0.1)
    state = ref.state()
    assert set(state) == {"mu", "sigma", "factor"} and all(isinstance(v, np.ndarray) for v in state.values())
    assert FrechetReference.from_state(state).distance(mu, sigma) == ref.distance(mu, sigma)
    assert pickle.loads(pickle.dumps(ref)).distance(mu, sigma) == ref.distance(mu, sigma)
    with pytest.raises(ValueError, match="do not match"):
        ref.distance(mu[:5], sigma[:5, :5])


def _context(gen: np.ndarray, real: np.ndarray) -> MetricContext:
    info = DatasetInfo(name="toy", kind="vector", shape=(gen.shape[1],), value_range=(-1.0, 1.0))
    return MetricContext(dataset=Dataset(info, {}), samples=torch.from_numpy(gen), gen=Features(gen),
                         real=Features(real))


def test_registered_metric_builds_then_reuses_the_cached_reference():
    rng = np.random.default_rng(7)
    real, gen = rng.normal(size=(120, 10)), rng.normal(size=(100, 10)) + 0.2
    ctx = _context(gen, real)
    out = METRICS.get("fid")(ctx)
    assert out == {"fid": pytest.approx(fid(real, gen), rel=1e-12)}
    cached = ctx.cache["frechet_reference"]
    assert isinstance(cached, FrechetReference)
    METRICS.get("fid")(ctx)
    assert ctx.cache["frechet_reference"] is cached
    assert METRICS.meta("fid")["outputs"] == {"fid": False}
