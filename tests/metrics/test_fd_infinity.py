"""FD∞: the sample sizes dgm-eval uses, an exact line recovered, and the sample-size bias it removes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ganbench.data.base import Dataset, DatasetInfo
from ganbench.features.base import Features
from ganbench.metrics import METRICS, FrechetReference, MetricContext, fid
from ganbench.metrics.fd_infinity import fd_infinity, sample_sizes


def test_sample_sizes_follow_dgm_eval():
    assert sample_sizes(50_000, 15).tolist() == np.linspace(5000, 50_000, 15).astype(int).tolist()
    assert sample_sizes(500, 4).tolist() == [50, 200, 350, 500]  # max(n // 10, 2) below 5000
    assert sample_sizes(3, 2).tolist() == [2, 3]
    with pytest.raises(ValueError, match="at least 3"):
        sample_sizes(2, 15)
    with pytest.raises(ValueError, match="at least 2 sample sizes"):
        sample_sizes(100, 1)


def test_two_samples_of_one_gaussian_extrapolate_to_zero_while_fid_at_small_n_is_positive():
    """Real and generated drawn from the same Gaussian: FID_N = bias / N > 0, FD∞ ≈ 0 (Chong & Forsyth, Fig. 2)."""
    rng = np.random.default_rng(0)
    d = 16
    real = rng.normal(size=(20_000, d))
    gen = rng.normal(size=(4000, d))
    ref = FrechetReference.from_features(real)
    value, slope, sizes, fids = fd_infinity(ref, gen, points=15, seed=0)
    assert fids[0] > 0.05 and fids[0] > 3 * fids[-1]  # at N = 400 the bias dominates
    assert abs(value) < 0.1 * fids[0]  # the intercept removes it
    assert slope > 0  # FID_N grows as N shrinks
    assert fids[-1] == pytest.approx(fid(real, gen), rel=1e-9)  # the last point is the full set


def test_an_exact_line_in_one_over_n_is_recovered(monkeypatch):
    """With FID_N replaced by a known a + b / N, the fit returns a and b to rounding."""
    import ganbench.metrics.fd_infinity as module

    class Known:
        def distance(self, n, _):
            return 7.5 + 1200.0 / n

    monkeypatch.setattr(module, "frechet_statistics", lambda subset: (len(subset), None))  # hands N on
    value, slope, sizes, fids = module.fd_infinity(Known(), np.random.default_rng(2).normal(size=(1000, 3)),
                                                   points=6)
    assert sizes.tolist() == [100, 280, 460, 640, 820, 1000]
    assert value == pytest.approx(7.5, rel=1e-10) and slope == pytest.approx(1200.0, rel=1e-10)


def test_registered_metric_is_seeded_and_uses_fids_cached_real_side():
    rng = np.random.default_rng(3)
    real, gen = rng.normal(size=(800, 6)), rng.normal(0.3, 1.0, size=(600, 6))
    info = DatasetInfo(name="toy", kind="vector", shape=(6,), value_range=(-5.0, 5.0))

    def ctx(seed):
        return MetricContext(dataset=Dataset(info, {}), samples=torch.from_numpy(gen), gen=Features(gen),
                             real=Features(real), seed=seed)

    first, again, other = (METRICS.get("fd_inf")(ctx(s), points=15) for s in (0, 0, 1))
    assert first == again and first != other  # subsets from the evaluation's seed
    assert set(first) == {"fd_inf", "fd_inf_slope"}
    assert first["fd_inf"] < fid(real, gen)  # the finite-n FID is biased upwards
    assert METRICS.meta("fd_inf")["prepare"].path == METRICS.meta("fid")["prepare"].path  # one cached real side
