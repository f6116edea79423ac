"""CMMD: zero against itself, the reference's estimator written out in full, keys named by the CLIP backbone."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ganbench.data.base import Dataset, DatasetInfo
from ganbench.features.base import Features
from ganbench.metrics import METRICS, MetricContext
from ganbench.metrics.cmmd import cmmd, output_key


def brute_force(x: np.ndarray, y: np.ndarray, sigma: float = 10.0) -> float:
    """google-research cmmd/distance.py's formula on whole matrices: 1000 (mean K_xx + mean K_yy − 2 mean K_xy)."""
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    y = y / np.linalg.norm(y, axis=1, keepdims=True)

    def k(a, b):
        d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
        return np.exp(-d2 / (2 * sigma**2)).mean()

    return 1000.0 * (k(x, x) + k(y, y) - 2 * k(x, y))


def test_a_set_against_itself_is_zero_and_the_estimator_matches_the_reference_formula():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(150, 12)), rng.normal(0.4, 1.0, size=(90, 12))
    assert cmmd(x, x) == pytest.approx(0.0, abs=1e-10)
    assert cmmd(x, y) == pytest.approx(brute_force(x, y), rel=1e-9)
    assert cmmd(x, y) > 0 and cmmd(x, y) == pytest.approx(cmmd(y, x), rel=1e-12)
    assert cmmd(3.0 * x, y) == pytest.approx(cmmd(x, y), rel=1e-12)  # embeddings are normalised first


def test_blocks_do_not_change_the_sum(monkeypatch):
    import ganbench.metrics.cmmd as module

    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(70, 5)), rng.normal(size=(40, 5))
    whole = cmmd(x, y)
    monkeypatch.setattr(module, "_BLOCK", 16)
    assert cmmd(x, y) == pytest.approx(whole, rel=1e-12)


def test_the_key_names_the_backbone_and_other_extractors_are_refused():
    assert output_key("clip-vit-l-14-336px@0123456789ab") == "cmmd"  # the paper's
    assert output_key("clip-vit-b-32@0123456789ab") == "cmmd_vit_b32"
    with pytest.raises(ValueError, match="cmmd is defined on CLIP embeddings.*inception-v3-compat@"):
        output_key("inception-v3-compat@abc")
    rng = np.random.default_rng(2)
    gen, real = rng.normal(size=(30, 8)), rng.normal(size=(40, 8))
    info = DatasetInfo(name="toy", kind="image", shape=(1, 2, 4), value_range=(0.0, 1.0))
    ctx = MetricContext(dataset=Dataset(info, {}), samples=torch.zeros(30, 1, 2, 4), gen=Features(gen),
                        real=Features(real), extractor="clip-vit-b-32@0123456789ab")
    assert METRICS.get("cmmd")(ctx) == {"cmmd_vit_b32": pytest.approx(brute_force(real, gen), rel=1e-9)}


def test_cmmd_applies_only_on_the_clip_extractor():
    from ganbench.suite import parse

    def metrics(extractor):
        doc = {"name": "t", "datasets": [{"name": "digits"}], "models": [{"name": "m", "loss": "ns", "arch": "dcgan"}],
               "budget": {"steps": 2}, "evaluation": {"extractor": extractor, "metrics": ["fid", "cmmd"]}}
        return parse(doc).datasets[0].evaluation.metrics

    assert metrics("clip") == ("fid", "cmmd")
    assert metrics("inception") == ("fid",) and metrics("domain") == ("fid",)
