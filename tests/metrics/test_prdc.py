"""Density/coverage: exact values for a set against itself, the large-sample limits, brute force."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ganbench.data.base import Dataset, DatasetInfo
from ganbench.features.base import Features
from ganbench.metrics import METRICS, MetricContext, density_coverage


def brute_density_coverage(gen: np.ndarray, real: np.ndarray, k: int) -> tuple[float, float]:
    rr = ((real[:, None] - real[None]) ** 2).sum(-1)
    np.fill_diagonal(rr, np.inf)
    radii = np.sort(rr, 1)[:, k - 1]
    inside = ((gen[:, None] - real[None]) ** 2).sum(-1) < radii[None]
    return float(inside.sum() / (k * len(gen))), float(inside.any(0).mean())


def test_a_set_against_itself_is_exactly_one_and_one():
    # Ball j strictly contains x_j itself and its k − 1 nearest neighbours (the k-th sits on the edge),
    # so the balls hold N·k points in all and density is exactly 1 — if the radius pass and the
    # membership pass agree bit for bit on that edge. With ties (the lattice) brute force decides.
    x = np.random.default_rng(0).normal(size=(300, 12))
    assert density_coverage(x, x, k=5) == {"density": 1.0, "coverage": 1.0}
    lattice = np.random.default_rng(1).integers(0, 5, size=(120, 2)).astype(float)  # many exact ties
    assert tuple(density_coverage(lattice, lattice, k=3).values()) == pytest.approx(
        brute_density_coverage(lattice, lattice, 3), rel=1e-15)


def test_two_samples_of_one_distribution_approach_one_and_one_minus_two_to_the_minus_k():
    rng = np.random.default_rng(2)
    real, gen = rng.normal(size=(2500, 6)), rng.normal(size=(2500, 6))
    out = density_coverage(gen, real, k=5)
    assert out["density"] == pytest.approx(1.0, abs=0.05)
    assert out["coverage"] == pytest.approx(1 - 2**-5, abs=0.015)


def test_disjoint_sets_score_zero_and_brute_force_agrees():
    rng = np.random.default_rng(3)
    real, gen = rng.normal(size=(120, 4)), rng.normal(size=(90, 4)) * 0.7 + 0.4
    assert density_coverage(gen + 50.0, real) == {"density": 0.0, "coverage": 0.0}
    gen = np.concatenate([gen, real[:5], real[:5]])
    for k in (2, 5):
        assert tuple(density_coverage(gen, real, k).values()) == pytest.approx(brute_density_coverage(gen, real, k),
                                                                                rel=1e-15)


def test_registered_metric_matches_the_function():
    rng = np.random.default_rng(4)
    real, gen = rng.normal(size=(150, 5)), rng.normal(size=(140, 5)) + 0.3
    info = DatasetInfo(name="toy", kind="vector", shape=(5,), value_range=(-5.0, 5.0))
    ctx = MetricContext(dataset=Dataset(info, {}), samples=torch.from_numpy(gen), gen=Features(gen),
                        real=Features(real))
    assert METRICS.get("prdc")(ctx, k=5) == density_coverage(gen, real, 5)
    assert METRICS.meta("prdc")["outputs"] == {"density": True, "coverage": True}


# ---------------------------------------------------------------- added after mutation testing (docs/testing.md)


def test_default_k_is_five_and_a_single_generated_sample_is_valid():
    """Naeem et al.'s k = 5; one generated point: density = (balls holding it) / 5, coverage = share of
    balls holding it (brute force)."""
    rng = np.random.default_rng(5)
    real, gen = rng.normal(size=(100, 3)), rng.normal(size=(80, 3)) * 0.8
    assert tuple(density_coverage(gen, real).values()) == pytest.approx(brute_density_coverage(gen, real, 5),
                                                                        rel=1e-15)
    one = real[:1] + 0.01
    assert tuple(density_coverage(one, real, 5).values()) == pytest.approx(brute_density_coverage(one, real, 5),
                                                                           rel=1e-15)
    with pytest.raises(ValueError, match=r"^density/coverage need at least one generated sample$"):
        density_coverage(np.zeros((0, 3)), real)


def test_registered_metric_uses_its_k():
    rng = np.random.default_rng(6)
    real, gen = rng.normal(size=(120, 4)), rng.normal(size=(100, 4)) + 0.2
    info = DatasetInfo(name="toy", kind="vector", shape=(4,), value_range=(-5.0, 5.0))
    ctx = MetricContext(dataset=Dataset(info, {}), samples=torch.from_numpy(gen), gen=Features(gen),
                        real=Features(real))
    out = METRICS.get("prdc")(ctx, k=3)
    assert (out["density"], out["coverage"]) == pytest.approx(brute_density_coverage(gen, real, 3), rel=1e-15)


def test_given_real_radii_are_used_as_given():
    """``real_sq_radii`` replaces the real side's own radii: radius² 1e9 balls hold every generated point
    (coverage 1, density N_real / k), radius-0 balls none under the strict ``<``."""
    rng = np.random.default_rng(7)
    real, gen = rng.normal(size=(40, 3)), rng.normal(size=(30, 3)) + 1.0
    assert density_coverage(gen, real, 5, real_sq_radii=np.full(40, 1e9)) == {"density": 40 / 5, "coverage": 1.0}
    assert density_coverage(gen, real, 5, real_sq_radii=np.zeros(40)) == {"density": 0.0, "coverage": 0.0}


def test_registered_metric_takes_the_real_radii_from_the_cached_table(monkeypatch):
    """The real side's k-NN pass runs once per run (``cached_knn_table``), never again inside the metric:
    with the table in the cache, ``density_coverage`` is handed its radii and computes none."""
    import ganbench.metrics.prdc as prdc
    from ganbench.metrics.neighbours import knn_sq_distances

    rng = np.random.default_rng(8)
    real, gen = rng.normal(size=(90, 3)), rng.normal(size=(70, 3))
    info = DatasetInfo(name="toy", kind="vector", shape=(3,), value_range=(-5.0, 5.0))
    ctx = MetricContext(dataset=Dataset(info, {}), samples=torch.from_numpy(gen), gen=Features(gen),
                        real=Features(real))
    want = density_coverage(gen, real, 4)
    sizes = []

    def counting(x, *args, **kwargs):
        sizes.append(len(x))
        return knn_sq_distances(x, *args, **kwargs)

    monkeypatch.setattr(prdc, "knn_sq_distances", counting)
    assert METRICS.get("prdc")(ctx, k=4) == want
    assert sizes == []
