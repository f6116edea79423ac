"""Mode metrics on constructed samples: every mode, one mode, off-mode noise, the 3σ and 1 % edges."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganbench.data.base import Dataset, DatasetInfo
from ganbench.metrics import METRICS, MetricContext, mode_metrics

SIGMA = 0.01
RING = np.array([[math.cos(2 * math.pi * i / 8), math.sin(2 * math.pi * i / 8)] for i in range(8)])


def near(centres: np.ndarray, per_mode: int, spread: float, seed: int = 0) -> np.ndarray:
    """``per_mode`` points around each centre, at most ``spread`` away."""
    rng = np.random.default_rng(seed)
    noise = rng.uniform(-1, 1, size=(len(centres) * per_mode, 2)) * spread / math.sqrt(2)
    return np.repeat(centres, per_mode, axis=0) + noise


def test_all_modes_evenly_hit():
    out = mode_metrics(near(RING, 10, 2 * SIGMA), RING, SIGMA)
    assert out == {"modes": 8.0, "hq_share": 1.0, "reverse_kl": pytest.approx(0.0, abs=1e-15),
                   "modes_1pct": 8.0, "mode_tv": pytest.approx(0.0, abs=1e-15), "mode_counts": [10] * 8}


def test_one_mode_only_gives_log_m():
    out = mode_metrics(near(RING[2:3], 50, 2 * SIGMA), RING, SIGMA)
    assert out["modes"] == 1.0 and out["hq_share"] == 1.0 and out["modes_1pct"] == 1.0
    assert out["reverse_kl"] == pytest.approx(math.log(8), rel=1e-15)
    assert out["mode_counts"] == [0, 0, 50, 0, 0, 0, 0, 0]
    assert out["mode_tv"] == pytest.approx(1 - 1 / 8, rel=1e-15)  # a full collapse: 7/8 of the mass misplaced


def test_off_mode_noise_has_no_high_quality_points():
    samples = np.random.default_rng(1).uniform(-0.5, 0.5, size=(500, 2))  # inside the ring, far from every mode
    out = mode_metrics(samples, RING, SIGMA)
    assert out["hq_share"] == 0.0 and out["modes"] == 0.0 and out["modes_1pct"] == 0.0
    assert out["mode_tv"] == 1.0  # nothing where the mixture is
    assert math.isnan(out["reverse_kl"])  # no high-quality histogram: undefined, not "perfectly balanced"


def test_partial_capture_share_and_kl():
    hq = near(RING[:2], 30, 2 * SIGMA)
    off = np.zeros((40, 2))
    out = mode_metrics(np.concatenate([hq, off]), RING, SIGMA)
    assert out["modes"] == 2.0 and out["hq_share"] == pytest.approx(60 / 100)
    assert out["reverse_kl"] == pytest.approx(math.log(8 / 2), rel=1e-14)  # two equal modes of eight
    # shares (0.3, 0.3, 0 × 6, off 0.4) against (1/8 × 8, off 0): ½ (2 × 0.175 + 6 × 0.125 + 0.4) = 0.75
    assert out["mode_tv"] == pytest.approx(0.75, rel=1e-14)


def test_three_sigma_and_one_percent_edges():
    inside = RING[0] + [2.99 * SIGMA, 0.0]
    outside = RING[1] + [0.0, 3.01 * SIGMA]
    assert mode_metrics(np.array([inside, outside]), RING, SIGMA)["mode_counts"] == [1, 0, 0, 0, 0, 0, 0, 0]
    samples = np.concatenate([np.repeat(RING[:1], 980, 0), np.repeat(RING[1:2], 10, 0), np.repeat(RING[2:3], 9, 0),
                              np.zeros((1, 2))])  # 1000 points: 10 = 1 % exactly counts, 9 does not
    out = mode_metrics(samples, RING, SIGMA)
    assert out["modes"] == 3.0 and out["modes_1pct"] == 2.0


def test_registered_metric_reads_the_mixture_from_the_dataset():
    info = DatasetInfo(name="ring", kind="vector", shape=(2,), value_range=(-1.1, 1.1),
                       extras={"centres": RING.tolist(), "sigma": SIGMA})
    samples = torch.from_numpy(near(RING[:5], 20, 2 * SIGMA))
    ctx = MetricContext(dataset=Dataset(info, {}), samples=samples)
    out = METRICS.get("modes")(ctx)
    want = mode_metrics(samples, RING, SIGMA)
    assert out == {key: want[key] for key in ("modes", "hq_share", "reverse_kl", "modes_1pct", "mode_tv")}
    assert all(type(v) is float for v in out.values())
    bare = DatasetInfo(name="toy", kind="vector", shape=(2,), value_range=(-1.0, 1.0))
    with pytest.raises(ValueError, match="mixture"):
        METRICS.get("modes")(MetricContext(dataset=Dataset(bare, {}), samples=samples))
    assert METRICS.meta("modes")["data_kinds"] == ("vector",)


def test_mode_tv_is_half_the_l1_distance_to_the_mixtures_shares():
    """Against the definition written out (½ Σ |p − q| over the modes and the off-mode bin), on an uneven draw;
    a thin circle through every mode holds ≥ 1 % in each (modes_1pct 8) yet scores far from the ideal."""
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 40, size=8)
    hq = np.concatenate([near(RING[i:i + 1], int(n), 2 * SIGMA, seed=i) for i, n in enumerate(counts)])
    off = np.zeros((37, 2))
    out = mode_metrics(np.concatenate([hq, off]), RING, SIGMA)
    n = counts.sum() + 37
    p = np.append(counts / n, 37 / n)
    q = np.append(np.full(8, 1 / 8), 0.0)
    assert out["mode_tv"] == pytest.approx(0.5 * np.abs(p - q).sum(), rel=1e-12)
    angles = np.linspace(0, 2 * math.pi, 4000, endpoint=False)
    circle = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    thin = mode_metrics(circle, RING, 0.05)  # the default suite's σ: each mode's 3σ arc holds 4.8 % of the circle
    assert thin["modes_1pct"] == 8.0 and thin["mode_tv"] == pytest.approx(1 - 8 * 0.3 / (2 * math.pi), abs=2e-3)


# ---------------------------------------------------------------- added after mutation testing (docs/testing.md)


def test_a_single_mode_and_a_single_sample_are_valid():
    one = mode_metrics(np.array([[0.1, 0.0]]), np.array([[0.0, 0.0]]), sigma=0.1)
    assert one == {"modes": 1.0, "hq_share": 1.0, "reverse_kl": 0.0, "modes_1pct": 1.0, "mode_tv": 0.0,
                   "mode_counts": [1]}


def test_bad_shapes_and_sigma_are_refused():
    message = r"^need samples \(N, D\) and centres \(M, D\) with N, M ≥ 1"
    for samples, centres in ((np.zeros((3, 2)), np.zeros((2, 3))), (np.zeros((3, 2)), np.zeros((0, 2))),
                             (np.zeros((0, 2)), RING)):
        with pytest.raises(ValueError, match=message):
            mode_metrics(samples, centres, SIGMA)
    with pytest.raises(ValueError, match=r"^sigma must be positive, got 0.0$"):
        mode_metrics(RING, RING, 0.0)


def test_exactly_three_sigma_counts_as_high_quality():
    """σ = 0.5 and a point 1.5 from its centre: 1.5² = (3 · 0.5)² exactly in binary, so this is the edge
    itself, and "within 3σ" includes it."""
    out = mode_metrics(np.array([[1.5, 0.0], [0.0, 1.5 + 1e-12]]), np.array([[0.0, 0.0], [0.0, 10.0]]), 0.5)
    assert out["mode_counts"] == [1, 0] and out["hq_share"] == 0.5


def test_reverse_kl_counts_modes_holding_a_single_point():
    """Counts (1, 3, 0, …) over 8 modes: p = (1/4, 3/4), KL(p ‖ u) = ¼ log(8/4) + ¾ log(8·3/4)."""
    samples = np.concatenate([RING[:1], np.repeat(RING[1:2], 3, axis=0)])
    out = mode_metrics(samples, RING, SIGMA)
    assert out["reverse_kl"] == pytest.approx(0.25 * math.log(2) + 0.75 * math.log(6), rel=1e-14)


def test_registered_metric_needs_both_centres_and_sigma():
    samples = torch.from_numpy(near(RING, 2, SIGMA))
    for extras in ({"centres": RING.tolist()}, {"sigma": SIGMA}):
        info = DatasetInfo(name="half", kind="vector", shape=(2,), value_range=(-1.1, 1.1), extras=extras)
        with pytest.raises(ValueError, match=r"^dataset 'half' has no mixture centres/sigma"):
            METRICS.get("modes")(MetricContext(dataset=Dataset(info, {}), samples=samples))
