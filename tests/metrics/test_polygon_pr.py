"""Polygon precision / recall / F1 against generators whose answers are known.

The "generators" are lookup tables: z (a U[−1, 1] vector, one coordinate per table row) picks a
softmax mixture of rows. Every row is reachable by gradient descent from a random z, so recall
measures only which polygons the table holds: all held-out ones, half of them, or a single one.
"""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ganbench.data.polygons import PolygonDataset, convex_polygons
from ganbench.errors import GanbenchError
from ganbench.metrics.base import METRICS, MetricContext, higher_is_better
from ganbench.metrics.polygon_pr import binomial_se, polygon_pr

N_RECALL = 30
FAST = {"n_recall": N_RECALL, "n_precision": 100}  # the latent search runs at its defaults


class Lookup(nn.Module):
    """G(z) = softmax(β z) · table: a differentiable table lookup with BatchNorm-free eval behaviour."""

    def __init__(self, table: torch.Tensor, beta: float = 8.0):
        super().__init__()
        self.table = nn.Parameter(table.flatten(1).clone())
        self.beta = beta
        self.out_shape = table.shape[1:]
        self.dropout = nn.Dropout(0.5)  # active only in train mode: the metric must switch to eval

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        weights = self.dropout(torch.softmax(self.beta * z, dim=1))
        return (weights @ self.table).view(len(z), *self.out_shape)


class Constant(nn.Module):
    def __init__(self, image: torch.Tensor):
        super().__init__()
        self.image = nn.Parameter(image.clone())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.image.expand(len(z), *self.image.shape)


@pytest.fixture(scope="module")
def polygons() -> PolygonDataset:
    return convex_polygons({"n_train": 60, "n_test": 100, "n_holdout": N_RECALL})


def context(dataset: PolygonDataset, generator: nn.Module, samples: torch.Tensor) -> MetricContext:
    rows = generator.table.shape[0] if isinstance(generator, Lookup) else 4
    return MetricContext(dataset=dataset, samples=samples, generator=generator,
                         sample_latent=lambda n: torch.rand(n, rows) * 2 - 1, seed=0)


def test_registered_with_its_metadata():
    meta = METRICS.meta("polygon_pr")
    assert meta["outputs"] == {"polygon_precision": True, "polygon_recall": True, "polygon_f1": True,
                               "polygon_precision_se": False, "polygon_recall_se": False}
    assert higher_is_better("polygon_recall_se") is False and higher_is_better("polygon_recall") is True
    assert set(meta["ranges"]) == set(meta["outputs"]) and meta["ranges"]["polygon_recall_se"] == (0.0, 0.5)
    assert meta["needs"] == ("samples", "generator") and meta["datasets"] == ("polygons",)
    assert meta["data_kinds"] == ("image",) and meta["defaults"]["threshold"] == 1.5
    assert meta["defaults"]["n_recall"] == 100  # 1,000 cost 610 s per evaluation on a CPU thread


@pytest.fixture(scope="module")
def ellipses() -> PolygonDataset:
    return convex_polygons({"n_train": 60, "n_test": 100, "n_holdout": N_RECALL, "variant": "ellipse"})


def test_a_generator_that_holds_every_target_scores_one(polygons):
    holdout, train = polygons.split("holdout").all(), polygons.split("train").all()
    generator = Lookup(torch.cat([holdout, train]))  # targets among distractors
    generator.train()
    result = polygon_pr(context(polygons, generator, polygons.split("test").all()), **FAST)
    assert result["polygon_precision"] > 0.97 and result["polygon_recall"] > 0.95
    p, r = result["polygon_precision"], result["polygon_recall"]
    assert result["polygon_f1"] == pytest.approx(2 * p * r / (p + r))
    assert generator.training and all(q.requires_grad for q in generator.parameters())  # state restored
    again = polygon_pr(context(polygons, generator, polygons.split("test").all()), **FAST)
    assert again == result  # seeded by ctx.seed


def test_the_ellipse_variant_measures_against_its_own_manifold(polygons, ellipses):
    """A table of ellipse polygons: perfect on the ellipse dataset, nearly nothing on the study's
    (breakage tried: the metric fitting every dataset to the default variant's manifold)."""
    table = Lookup(torch.cat([ellipses.split("holdout").all(), ellipses.split("train").all()]))
    samples = ellipses.split("test").all()[:40]
    own = polygon_pr(context(ellipses, table, samples), **FAST)
    assert own["polygon_precision"] > 0.95 and own["polygon_recall"] > 0.95
    study = polygon_pr(context(polygons, table, samples), **{**FAST, "n_recall": 10})
    assert study["polygon_precision"] < 0.2


def test_standard_errors_are_binomial_on_the_shares_actually_used(polygons):
    """Half real polygons, half uniform noise: precision is exactly 1/2, its SE sqrt(¼ / n) with n the
    samples used; recall's n is the targets used, capped by the holdout's size (breakages tried: the
    SE with n − 1, and with the requested n_recall = 500 instead of the 30 targets there are)."""
    real = polygons.split("test").all()[:20]
    noise = torch.rand(20, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    half = Lookup(torch.cat([polygons.split("holdout").all()[:N_RECALL // 2], polygons.split("train").all()]))
    result = polygon_pr(context(polygons, half, torch.cat([real, noise])), **{**FAST, "n_recall": 500})
    assert result["polygon_precision"] == 0.5
    assert result["polygon_precision_se"] == pytest.approx(math.sqrt(0.25 / 40), rel=1e-12)
    recall = result["polygon_recall"]
    assert 0 < recall < 1 and recall * N_RECALL == pytest.approx(round(recall * N_RECALL))
    assert result["polygon_recall_se"] == pytest.approx(math.sqrt(recall * (1 - recall) / N_RECALL), rel=1e-12)
    assert binomial_se(0.0, 10) == binomial_se(1.0, 10) == 0.0 and binomial_se(0.5, 0) == 0.0


def test_recall_counts_only_the_reachable_half(polygons):
    holdout, train = polygons.split("holdout").all(), polygons.split("train").all()
    half = Lookup(torch.cat([holdout[:N_RECALL // 2], train]))
    with torch.inference_mode():  # as an evaluator may call it: the searches still get gradients
        result = polygon_pr(context(polygons, half, polygons.split("test").all()), **FAST)
    assert 0.45 <= result["polygon_recall"] <= 0.6  # a distractor may happen to sit near a target


def test_noise_and_a_constant_generator_score_low(polygons):
    noise = torch.rand(50, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    constant = Constant(polygons.split("train").all()[0])
    result = polygon_pr(context(polygons, constant, noise), **FAST)
    assert result["polygon_precision"] == 0.0 and result["polygon_recall"] <= 0.1
    assert result["polygon_f1"] == pytest.approx(0.0, abs=0.2)


def test_wrong_dataset_or_parameter_is_a_user_error(polygons):
    from ganbench.data.mixtures import ring

    other = ring({"n_train": 10, "n_test": 10})
    with pytest.raises(GanbenchError, match="polygons"):
        polygon_pr(MetricContext(dataset=other, samples=torch.zeros(2, 2)))
    with pytest.raises(GanbenchError, match="treshold"):
        polygon_pr(context(polygons, Constant(torch.zeros(1, 28, 28)), torch.zeros(2, 1, 28, 28)), treshold=1)
