"""Every registered metric refuses a context without the features it needs, and every public function
names the argument that holds NaN — with their own messages, matched whole (added after mutation
testing, docs/testing.md)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ganbench.data.base import Dataset, DatasetInfo
from ganbench.features.base import Features
from ganbench.metrics import METRICS, MetricContext, density_coverage, inception_score, kid, mode_metrics
from ganbench.metrics import precision_recall

INFO = DatasetInfo(name="toy", kind="vector", shape=(3,), value_range=(-5.0, 5.0))
FEATURES = Features(np.random.default_rng(0).normal(size=(20, 3)))

NEEDS_BOTH = {
    "fid": ({}, "fid needs generated and real pool features"),
    "kid": ({"subsets": 2, "subset_size": 5, "degree": 3, "gamma": None, "coef0": 1.0},
            "kid needs generated and real pool features"),
    "prdc": ({"k": 3}, "prdc needs generated and real pool features"),
    "knn": ({}, "knn needs generated and real pool features"),
    "fd_inf": ({"points": 3}, "fd_inf needs generated and real pool features"),
    "cmmd": ({}, "cmmd needs generated and real pool features"),
    "prc": ({"k": 3}, None),  # two messages, one per missing side
}


def test_vendi_refuses_a_context_without_generated_features():
    ctx = MetricContext(dataset=Dataset(INFO, {}), samples=torch.zeros(20, 3), real=FEATURES)
    with pytest.raises(ValueError, match="^vendi needs generated pool features$"):
        METRICS.get("vendi")(ctx)


@pytest.mark.parametrize("name", sorted(NEEDS_BOTH))
@pytest.mark.parametrize("missing", ["gen", "real"])
def test_a_missing_side_is_refused_with_the_metrics_message(name, missing):
    params, message = NEEDS_BOTH[name]
    if message is None:
        message = "prc needs generated pool features" if missing == "gen" else "prc needs real pool features"
    sides = {"gen": FEATURES, "real": FEATURES, missing: None}
    ctx = MetricContext(dataset=Dataset(INFO, {}), samples=torch.zeros(20, 3), **sides)
    with pytest.raises(ValueError, match=f"^{message}$"):
        METRICS.get(name)(ctx, **params)


GOOD = np.random.default_rng(1).normal(size=(12, 2))
BAD = GOOD.copy()
BAD[3, 1] = np.nan


@pytest.mark.parametrize("name,call", [
    ("feat_a", lambda: kid(BAD, GOOD, subsets=1, subset_size=4)),
    ("feat_b", lambda: kid(GOOD, BAD, subsets=1, subset_size=4)),
    ("gen", lambda: precision_recall(BAD, GOOD)),
    ("real", lambda: precision_recall(GOOD, BAD)),
    ("gen", lambda: density_coverage(BAD, GOOD)),
    ("real", lambda: density_coverage(GOOD, BAD)),
    ("samples", lambda: mode_metrics(BAD, GOOD, 0.1)),
    ("centres", lambda: mode_metrics(GOOD, BAD, 0.1)),
    ("logits", lambda: inception_score(BAD, splits=1)),
])
def test_nan_input_is_refused_naming_the_argument(name, call):
    with pytest.raises(ValueError, match=f"^{name} contain NaN or infinite values$"):
        call()
