"""The conditional metrics against their definitions and closed forms: label consistency (1/k for labels
G ignores), intra-class FID (the per-class FID computed directly; 0 for real data against itself), CAS
(a perfect generator — real samples — scores exactly the real-data ceiling) and InfoGAN's code fidelity
(the Hungarian matching against a brute force over every matching)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from ganbench.data import load_dataset
from ganbench.features.base import Features
from ganbench.metrics import METRICS, MetricContext
from ganbench.metrics.conditional import (class_references, code_fidelity, intra_fid, label_consistency,
                                          real_ceiling)
from ganbench.metrics.fid import fid


def test_label_consistency_of_labels_g_ignores_is_one_over_k():
    rng = np.random.default_rng(0)
    k, n = 10, 200_000
    predicted, labels = rng.integers(k, size=n), rng.integers(k, size=n)
    assert abs(label_consistency(predicted, labels) - 1 / k) < 4 * np.sqrt(0.1 * 0.9 / n)
    assert label_consistency(labels, labels) == 1.0
    assert label_consistency(labels, (labels + 1) % k) == 0.0


def test_label_consistency_is_the_share_of_agreeing_samples():
    assert label_consistency([0, 1, 2, 2], [0, 1, 1, 2]) == 0.75
    with pytest.raises(ValueError, match="equally long"):
        label_consistency([0, 1], [0])


MEANS = np.random.default_rng(99).normal(scale=3.0, size=(3, 4))  # three classes in four dimensions


def _labelled_features(seed: int = 0, n: int = 600):
    """Samples of the same three-class mixture (one seed per draw)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(len(MEANS), size=n)
    return MEANS[labels] + rng.normal(size=(n, MEANS.shape[1])), labels


def test_intra_fid_of_class_shuffled_real_data_is_the_per_class_definition():
    real, real_labels = _labelled_features(0)
    gen, gen_labels = _labelled_features(1)
    shuffled = np.random.default_rng(2).permutation(gen_labels)
    per_class = intra_fid(gen, shuffled, class_references(real, real_labels))
    direct = {c: fid(real[real_labels == c], gen[shuffled == c]) for c in range(3)}
    assert per_class.keys() == direct.keys()
    for c in direct:
        assert per_class[c] == pytest.approx(direct[c], rel=1e-9, abs=1e-9)
    matched = intra_fid(gen, gen_labels, class_references(real, real_labels))
    assert max(matched.values()) < min(per_class.values())  # the right labels match far better


def test_intra_fid_of_real_data_against_itself_is_zero():
    real, labels = _labelled_features(3)
    values = intra_fid(real, labels, class_references(real, labels))
    assert all(abs(v) < 1e-8 for v in values.values())


def test_intra_fid_metric_reports_the_mean_and_the_worst_class():
    real, real_labels = _labelled_features(0)
    gen, gen_labels = _labelled_features(1)
    ctx = MetricContext(dataset=None, samples=torch.zeros(len(gen), 4), gen=Features(gen), real=Features(real),
                        gen_labels=torch.as_tensor(gen_labels), real_labels=torch.as_tensor(real_labels))
    out = METRICS.get("intra_fid")(ctx)
    per_class = intra_fid(gen, gen_labels, class_references(real, real_labels))
    assert out["intra_fid"] == pytest.approx(np.mean(list(per_class.values())))
    assert out["intra_fid_worst"] == pytest.approx(max(per_class.values()))


def test_cas_of_a_perfect_generator_is_the_real_data_ceiling():
    dataset = load_dataset("digits", {"size": 8})
    train = dataset.split("train")
    n = 400
    index = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:n]  # real_ceiling's rows
    ctx = MetricContext(dataset=dataset, samples=train.get(index), gen_labels=train.labels[index])
    out = METRICS.get("cas")(ctx)
    assert out["cas"] == out["cas_real"] == real_ceiling(dataset, n)
    assert out["cas_real"] > 0.85  # the domain recipe on 400 real digits
    wrong = MetricContext(dataset=dataset, samples=train.get(index), gen_labels=(train.labels[index] + 1) % 10)
    assert METRICS.get("cas")(wrong)["cas"] < 0.1  # every label shifted: the classifier learns the shift


def _brute_force_accuracy(codes: np.ndarray, classes: np.ndarray) -> float:
    k, c = int(codes.max()) + 1, int(classes.max()) + 1
    best = 0
    for perm in itertools.permutations(range(max(k, c)), k):
        best = max(best, sum(int(((codes == i) & (classes == perm[i])).sum()) for i in range(k)))
    return best / len(codes)


@pytest.mark.parametrize("seed", range(4))
def test_code_accuracy_is_the_best_one_to_one_matching(seed):
    rng = np.random.default_rng(seed)
    classes = rng.integers(4, size=300)
    codes = np.where(rng.random(300) < 0.6, (classes + 1) % 4, rng.integers(4, size=300))
    accuracy, _ = code_fidelity(codes, classes)
    assert accuracy == pytest.approx(_brute_force_accuracy(codes, classes))


def test_a_relabelled_code_is_perfect_and_an_independent_one_carries_no_information():
    rng = np.random.default_rng(0)
    classes = rng.integers(5, size=5000)
    assert code_fidelity((classes * 3 + 1) % 5, classes) == (1.0, pytest.approx(1.0))
    accuracy, nmi = code_fidelity(rng.integers(5, size=5000), classes)
    assert nmi < 0.01 and accuracy < 0.25


def test_conditional_metrics_refuse_a_context_without_labels_or_codes():
    features = Features(np.zeros((10, 2)))
    ctx = MetricContext(dataset=None, samples=torch.zeros(10, 2), gen=features, real=features,
                        gen_predicted=np.zeros(10, dtype=np.int64))
    for name, message in [("label_consistency", "label_consistency needs the labels a conditional G was given"),
                          ("intra_fid", "intra_fid needs the labels of the generated and of the real samples"),
                          ("cas", "cas needs the labels a conditional G was given"),
                          ("code_fidelity", "code_fidelity needs InfoGAN's categorical codes of the samples")]:
        with pytest.raises(ValueError, match=f"^{message}$"):
            METRICS.get(name)(ctx)
    no_classifier = MetricContext(dataset=None, samples=torch.zeros(10, 2), gen_labels=torch.zeros(10),
                                  gen_codes=torch.zeros(10, dtype=torch.long))
    with pytest.raises(ValueError, match="^label_consistency needs the domain classifier's classes of the samples$"):
        METRICS.get("label_consistency")(no_classifier)
    with pytest.raises(ValueError, match="^code_fidelity needs the domain classifier's classes of the samples$"):
        METRICS.get("code_fidelity")(no_classifier)
