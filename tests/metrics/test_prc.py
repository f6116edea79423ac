"""Precision/recall: extremes, torch-fidelity's own prc (generated first), duplicates, the cached real table."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_fidelity.metric_prc import prc_features_to_metric

from ganbench.data.base import Dataset, DatasetInfo
from ganbench.features.base import Features
from ganbench.metrics import METRICS, MetricContext, precision_recall


def brute_precision_recall(gen: np.ndarray, real: np.ndarray, k: int) -> tuple[float, float]:
    def radii(x: np.ndarray) -> np.ndarray:
        d = ((x[:, None] - x[None]) ** 2).sum(-1)
        np.fill_diagonal(d, np.inf)
        return np.sort(d, 1)[:, k - 1]

    d = ((gen[:, None] - real[None]) ** 2).sum(-1)
    return float((d <= radii(real)[None]).any(1).mean()), float((d.T <= radii(gen)[None]).any(1).mean())


def test_identical_sets_score_one_and_disjoint_sets_zero():
    x = np.random.default_rng(0).normal(size=(150, 8))
    assert precision_recall(x, x) == {"precision": 1.0, "recall": 1.0}
    assert precision_recall(x + 100.0, x) == {"precision": 0.0, "recall": 0.0}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_agrees_with_torch_fidelity_generated_first(seed):
    rng = np.random.default_rng(seed)
    real = rng.normal(size=(300, 16)).astype(np.float32)
    gen = (rng.normal(size=(250, 16)) * 1.2 + 0.3).astype(np.float32)
    theirs = prc_features_to_metric(torch.from_numpy(gen), torch.from_numpy(real), verbose=False)
    ours = precision_recall(gen, real)
    assert ours["precision"] == pytest.approx(theirs["precision"], abs=1e-6)
    assert ours["recall"] == pytest.approx(theirs["recall"], abs=1e-6)
    assert 0.05 < ours["precision"] < 0.95 and ours["precision"] != pytest.approx(ours["recall"], abs=0.05)
    swapped = precision_recall(real, gen)
    assert swapped == {"precision": ours["recall"], "recall": ours["precision"]}


def test_duplicates_and_k_match_brute_force():
    rng = np.random.default_rng(4)
    real = rng.normal(size=(80, 5))
    real = np.concatenate([real, real[:4], real[:4], real[:4]])  # four points stored 4×: radius 0 for k = 3
    gen = np.concatenate([rng.normal(size=(50, 5)), real[:6]])
    for k in (1, 3, 5):
        assert tuple(precision_recall(gen, real, k).values()) == brute_precision_recall(gen, real, k)


def test_registered_metric_outputs_f1_and_shares_the_real_table():
    rng = np.random.default_rng(5)
    real, gen = rng.normal(size=(200, 6)), rng.normal(size=(180, 6)) * 1.3
    info = DatasetInfo(name="toy", kind="vector", shape=(6,), value_range=(-5.0, 5.0))
    ctx = MetricContext(dataset=Dataset(info, {}), samples=torch.from_numpy(gen), gen=Features(gen),
                        real=Features(real))
    out = METRICS.get("prc")(ctx, k=3)
    want = precision_recall(gen, real, 3)
    assert out["precision"] == want["precision"] and out["recall"] == want["recall"]
    p, r = want["precision"], want["recall"]
    assert out["f1"] == pytest.approx(2 * p * r / (p + r), rel=1e-15)
    table = ctx.cache["real_neighbours"][2]
    METRICS.get("prdc")(ctx, k=5)  # k=5 fits the same table: no second real-side pass
    assert ctx.cache["real_neighbours"][2] is table
    assert set(METRICS.meta("prc")["outputs"]) == {"precision", "recall", "f1"}


# ---------------------------------------------------------------- added after mutation testing (docs/testing.md)


def test_f1_is_the_harmonic_mean_and_zero_when_both_are_zero():
    from ganbench.metrics.prc import f1

    assert f1(0.2, 0.3) == pytest.approx(2 * 0.06 / 0.5, rel=1e-15)
    assert f1(1.0, 0.5) == pytest.approx(2 / 3, rel=1e-15)
    assert f1(0.0, 0.7) == 0.0 and f1(0.0, 0.0) == 0.0


def test_given_real_radii_are_used_as_given():
    """``real_sq_radii`` replaces the real side's own k-NN radii: balls of radius² 1e9 hold every
    generated point (precision 1), balls of radius 0 hold only exact copies of real points."""
    rng = np.random.default_rng(6)
    real, gen = rng.normal(size=(60, 3)), np.concatenate([rng.normal(size=(30, 3)) + 2.0, np.zeros((10, 3))])
    real[0] = 0.0
    assert precision_recall(gen, real, 3, real_sq_radii=np.full(60, 1e9))["precision"] == 1.0
    assert precision_recall(gen, real, 3, real_sq_radii=np.zeros(60))["precision"] == pytest.approx(10 / 40)


@pytest.mark.parametrize("k", [1, 5])
def test_registered_metric_uses_its_k_with_the_shared_table(k):
    rng = np.random.default_rng(7)
    real, gen = rng.normal(size=(150, 4)), rng.normal(size=(120, 4)) * 1.4
    info = DatasetInfo(name="toy", kind="vector", shape=(4,), value_range=(-5.0, 5.0))
    ctx = MetricContext(dataset=Dataset(info, {}), samples=torch.from_numpy(gen), gen=Features(gen),
                        real=Features(real))
    out = METRICS.get("prc")(ctx, k=k)
    assert (out["precision"], out["recall"]) == brute_precision_recall(gen, real, k)
    METRICS.get("prdc")(ctx, k=k)
    assert set(ctx.cache) == {"real_neighbours"}  # prc and prdc share one real-side table


def test_registered_metric_runs_the_k_nn_pass_on_the_generated_side_only(monkeypatch):
    """With the real table cached, ``precision_recall`` computes k-NN radii for the generated points
    alone; the real radii come from the cache (one real-side pass per run, not per evaluation)."""
    import ganbench.metrics.prc as prc
    from ganbench.metrics.neighbours import knn_sq_distances

    rng = np.random.default_rng(9)
    real, gen = rng.normal(size=(90, 3)), rng.normal(size=(70, 3))
    info = DatasetInfo(name="toy", kind="vector", shape=(3,), value_range=(-5.0, 5.0))
    ctx = MetricContext(dataset=Dataset(info, {}), samples=torch.from_numpy(gen), gen=Features(gen),
                        real=Features(real))
    want = precision_recall(gen, real, 4)
    sizes = []

    def counting(x, *args, **kwargs):
        sizes.append(len(x))
        return knn_sq_distances(x, *args, **kwargs)

    monkeypatch.setattr(prc, "knn_sq_distances", counting)
    out = METRICS.get("prc")(ctx, k=4)
    assert (out["precision"], out["recall"]) == (want["precision"], want["recall"])
    assert sizes == [70]
