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


def test_registered_metric_caches_the_real_statistics_and_reuses_them():
    """The cached real side holds the real features' own μ and Σ (numpy's mean and ``np.cov``), a
    factor with S Sᵀ = Σ, and FID through it equals the scipy ``sqrtm`` formula from scratch, for a
    second generated set too.

    Breakages tried, each fails here: the reference built from the generated features instead of
    the real ones; a biased (ddof 0) covariance in the reference; a factor without the square root
    of the eigenvalues. (Ignoring the cache is caught by the next test.)
    """
    rng = np.random.default_rng(7)
    real, gen = rng.normal(size=(120, 10)) * 1.5 + 0.3, rng.normal(size=(100, 10)) + 0.2
    ctx = _context(gen, real)
    out = METRICS.get("fid")(ctx)
    assert out == {"fid": pytest.approx(scipy_fid(real, gen), rel=1e-9)}
    cached = ctx.cache["frechet_reference"]
    assert isinstance(cached, FrechetReference)
    np.testing.assert_allclose(cached.mu, real.mean(axis=0), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(cached.sigma, np.cov(real, rowvar=False), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(cached.factor @ cached.factor.T, np.cov(real, rowvar=False), rtol=1e-10, atol=1e-12)
    assert cached.trace == pytest.approx(np.trace(np.cov(real, rowvar=False)), rel=1e-12)

    gen2 = rng.normal(size=(90, 10)) * 0.8 - 0.1
    ctx.gen = Features(gen2)
    assert METRICS.get("fid")(ctx) == {"fid": pytest.approx(scipy_fid(real, gen2), rel=1e-9)}
    assert ctx.cache["frechet_reference"] is cached
    assert METRICS.meta("fid")["outputs"] == {"fid": False}


def test_registered_metric_reads_a_preloaded_reference_instead_of_recomputing():
    """An evaluator that loaded the real side from disk puts it in ``ctx.cache``; the metric must use
    it as it is. Here the preloaded reference is of *other* features, so a metric that recomputed from
    ``ctx.real`` would give a different number (the breakage tried: ignoring the cache)."""
    rng = np.random.default_rng(8)
    real, other, gen = rng.normal(size=(120, 6)), rng.normal(size=(150, 6)) * 2.0, rng.normal(size=(100, 6)) + 0.5
    ctx = _context(gen, real)
    ctx.cache["frechet_reference"] = FrechetReference.from_features(other)
    value = METRICS.get("fid")(ctx)["fid"]
    assert value == pytest.approx(scipy_fid(other, gen), rel=1e-9)
    assert value != pytest.approx(scipy_fid(real, gen), rel=1e-2)


# ---------------------------------------------------------------- added after mutation testing (docs/testing.md)


def test_two_samples_are_enough_and_one_is_refused():
    x = np.array([[0.0, 1.0, 2.0], [2.0, -1.0, 0.5]])
    mu, sigma = frechet_statistics(x)
    np.testing.assert_allclose(sigma, np.cov(x, rowvar=False), rtol=1e-14)
    with pytest.raises(ValueError, match=r"^a covariance needs at least 2 samples, got 1$"):
        frechet_statistics(x[:1])


def test_scaling_the_features_by_s_scales_fid_by_s_squared():
    """FID is homogeneous of degree 2. At s = 1e-9 every variance is ~1e-18: the rank tolerance must
    be relative to Σ's own largest eigenvalue (an absolute floor would drop every direction)."""
    rng = np.random.default_rng(9)
    a, b = rng.normal(size=(300, 12)), rng.normal(size=(250, 12)) * 1.3 + 0.2
    base = scipy_fid(a, b)
    for s in (1e-9, 1e3):
        assert fid(a * s, b * s) / s**2 == pytest.approx(base, rel=1e-8)  # divided: approx's abs floor is 1e-12


def test_fewer_generated_samples_than_dimensions_stays_finite_and_matches_scipy():
    """Σ_g of rank 4 in 16-d: Sᵀ Σ_g S has twelve eigenvalues that are 0 up to rounding, some slightly
    negative; they must count as 0, not become NaN under the square root."""
    rng = np.random.default_rng(10)
    real, gen = rng.normal(size=(400, 16)), rng.normal(size=(5, 16)) + 0.3
    value = fid(real, gen)
    assert np.isfinite(value) and value == pytest.approx(scipy_fid(real, gen), rel=1e-6)


def test_float32_statistics_are_computed_in_float64():
    rng = np.random.default_rng(11)
    a, b = rng.normal(size=(200, 8)), rng.normal(size=(150, 8)) * 1.1
    (mu_a, s_a), (mu_b, s_b) = frechet_statistics(a), frechet_statistics(b)
    single = [v.astype(np.float32) for v in (mu_a, s_a, mu_b, s_b)]
    ref = FrechetReference(single[0], single[1])
    assert ref.mu.dtype == ref.sigma.dtype == ref.factor.dtype == np.float64
    exact = FrechetReference(single[0].astype(np.float64), single[1].astype(np.float64))
    want = exact.distance(single[2].astype(np.float64), single[3].astype(np.float64))
    assert ref.distance(single[2], single[3]) == pytest.approx(want, rel=1e-12)
    state = {key: value.astype(np.float32) for key, value in exact.state().items()}
    assert FrechetReference.from_state(state).factor.dtype == np.float64


def test_from_state_keeps_the_stored_factor():
    """Any S Q with Q orthogonal is as valid a factor as S (S Q Qᵀ Sᵀ = Σ) and gives the same FID; the
    stored one must be used as it is, not recomputed (the factorisation is what the cache saves)."""
    rng = np.random.default_rng(12)
    ref = FrechetReference.from_features(rng.normal(size=(100, 6)))
    q, _ = np.linalg.qr(rng.normal(size=(ref.factor.shape[1],) * 2))
    state = {**ref.state(), "factor": ref.factor @ q}
    loaded = FrechetReference.from_state(state)
    assert np.array_equal(loaded.factor, ref.factor @ q)
    mu, sigma = frechet_statistics(rng.normal(size=(80, 6)) + 0.4)
    assert loaded.distance(mu, sigma) == pytest.approx(ref.distance(mu, sigma), rel=1e-10)
    with pytest.raises(ValueError, match=r"^FrechetReference state lacks \['factor'\]$"):
        FrechetReference.from_state({"mu": ref.mu, "sigma": ref.sigma})


def test_inconsistent_shapes_are_refused():
    mu, sigma = np.zeros(3), np.eye(3)
    with pytest.raises(ValueError, match=r"^expected mu \(d,\) and sigma \(d, d\), got \(3,\) and \(2, 2\)$"):
        FrechetReference(mu, np.eye(2))
    with pytest.raises(ValueError, match=r"^expected mu \(d,\) and sigma"):
        FrechetReference(np.zeros((1, 3)), sigma)
    with pytest.raises(ValueError, match=r"^factor must have shape \(3, r\), got \(2, 2\)$"):
        FrechetReference(mu, sigma, factor=np.eye(2))
    with pytest.raises(ValueError, match=r"^factor must have shape \(3, r\), got \(3,\)$"):
        FrechetReference(mu, sigma, factor=np.ones(3))
    ref = FrechetReference(mu, sigma)
    with pytest.raises(ValueError, match="do not match"):
        ref.distance(np.zeros(2), sigma)  # μ alone of the wrong size
    with pytest.raises(ValueError, match="do not match"):
        ref.distance(mu, np.eye(2))  # Σ alone
