"""Metrics of conditional generators and of InfoGAN's code, on the shared evaluation pass.

- **Label consistency**: the share of samples the dataset's domain classifier (the ``domain`` extractor's
  network, trained once per dataset) puts in the class G was asked for. A G that ignores its labels scores
  the chance of agreeing with them (1/K for uniform labels); the classifier's own test accuracy, stored in
  the protocol, is the ceiling.
- **Intra-class FID** (Miyato & Koyama 2018): FID between the generated and the real samples of each class,
  on the evaluation's features; the mean over classes and the worst class. Each real class's Fréchet
  reference is factorised once per evaluator.
- **CAS** (Ravuri & Vinyals 2019): a classifier trained on the generated samples and their labels, tested
  on the real test split, beside the same recipe trained on as many real train samples (``cas_real``, the
  ceiling). The recipe is the domain classifier's (:class:`ganbench.features.domain.Recipe`), seeded, so
  the same samples give the same score.
- **Code fidelity**: InfoGAN's categorical code read as a classifier of the samples' classes (by the domain
  classifier): accuracy under the best one-to-one matching of codes to classes (Hungarian algorithm,
  ``scipy.optimize.linear_sum_assignment``) and the normalised mutual information (scikit-learn's,
  arithmetic normalisation) between code and class.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ganbench.metrics.base import MetricContext
from ganbench.metrics.fid import FrechetReference, frechet_statistics
from ganbench.metrics.neighbours import as_matrix

INTRA_CACHE_KEY = "intra_fid_references"
CAS_CACHE_KEY = "cas_real_accuracy"


def _ints(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values.cpu() if isinstance(values, torch.Tensor) else values).reshape(-1)
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must be integer class indices, got dtype {array.dtype}")
    return array.astype(np.int64)


# ---- label consistency ----------------------------------------------------------------------------

def label_consistency(predicted: Any, labels: Any) -> float:
    """Share of samples whose predicted class equals the label they were generated for."""
    p, y = _ints(predicted, "predicted"), _ints(labels, "labels")
    if len(p) != len(y) or not len(y):
        raise ValueError(f"predicted and labels must be equally long and non-empty, got {len(p)} and {len(y)}")
    return float((p == y).mean())


def compute_label_consistency(ctx: MetricContext) -> dict[str, float]:
    if ctx.gen_labels is None:
        raise ValueError("label_consistency needs the labels a conditional G was given")
    if ctx.gen_predicted is None:
        raise ValueError("label_consistency needs the domain classifier's classes of the samples")
    return {"label_consistency": label_consistency(ctx.gen_predicted, ctx.gen_labels)}


# ---- intra-class FID ------------------------------------------------------------------------------

def class_references(real: Any, real_labels: Any) -> dict[int, FrechetReference]:
    """Per class with at least two real samples, the Fréchet reference of its real features."""
    x, y = as_matrix(real), _ints(real_labels, "real_labels")
    if len(x) != len(y):
        raise ValueError(f"real features and real_labels differ in length ({len(x)} and {len(y)})")
    return {int(c): FrechetReference.from_features(x[y == c]) for c in np.unique(y) if (y == c).sum() >= 2}


def intra_fid(gen: Any, gen_labels: Any, references: dict[int, FrechetReference]) -> dict[int, float]:
    """FID per class between the generated features of that class and its real reference; classes with
    fewer than two samples on either side are left out (their covariance is undefined)."""
    x, y = as_matrix(gen), _ints(gen_labels, "gen_labels")
    if len(x) != len(y):
        raise ValueError(f"generated features and gen_labels differ in length ({len(x)} and {len(y)})")
    out = {}
    for c, ref in sorted(references.items()):
        rows = x[y == c]
        if len(rows) >= 2:
            out[c] = ref.distance(*frechet_statistics(rows))
    return out


def compute_intra_fid(ctx: MetricContext) -> dict[str, float]:
    if ctx.gen is None or ctx.real is None:
        raise ValueError("intra_fid needs generated and real pool features")
    if ctx.gen_labels is None or ctx.real_labels is None:
        raise ValueError("intra_fid needs the labels of the generated and of the real samples")
    refs = ctx.cache.get(INTRA_CACHE_KEY)
    if refs is None:
        refs = ctx.cache[INTRA_CACHE_KEY] = class_references(ctx.real.pool, ctx.real_labels)
    per_class = intra_fid(ctx.gen.pool, ctx.gen_labels, refs)
    if not per_class:
        raise ValueError("intra_fid: no class has two generated and two real samples; raise n_gen / n_real")
    values = np.array(list(per_class.values()))
    return {"intra_fid": float(values.mean()), "intra_fid_worst": float(values.max())}


# ---- classification accuracy score ----------------------------------------------------------------

def classifier_accuracy(dataset: Any, x: torch.Tensor, y: torch.Tensor,
                        device: torch.device = torch.device("cpu")) -> float:
    """Test accuracy on the dataset's real test split of the domain recipe trained on (x, y) on ``device``
    (one thread on a CPU, so the score does not depend on the machine's thread count)."""
    from ganbench.data.base import Split
    from ganbench.features.domain import Recipe, labelled_splits, train_classifier

    _, test = labelled_splits(dataset)
    if test is None:
        raise ValueError(f"cas needs a labelled test split, and dataset '{dataset.info.name}' has none")
    _, record = train_classifier(dataset.info, Split(x.detach().cpu().to(torch.float32), y.cpu().to(torch.long)),
                                 test, Recipe(), torch.device(device))
    return float(record["test_accuracy"])


def real_ceiling(dataset: Any, n: int, device: torch.device = torch.device("cpu")) -> float:
    """The same recipe trained on ``n`` real train samples (a fixed seeded choice): CAS's ceiling."""
    train = dataset.split("train")
    index = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:n]
    return classifier_accuracy(dataset, train.get(index), train.labels[index], device)


def compute_cas(ctx: MetricContext) -> dict[str, float]:
    if ctx.gen_labels is None:
        raise ValueError("cas needs the labels a conditional G was given")
    n = len(ctx.samples)
    ceilings = ctx.cache.setdefault(CAS_CACHE_KEY, {})
    if n not in ceilings:
        ceilings[n] = real_ceiling(ctx.dataset, n, ctx.device)
    return {"cas": classifier_accuracy(ctx.dataset, ctx.samples, ctx.gen_labels, ctx.device),
            "cas_real": ceilings[n]}


# ---- InfoGAN code fidelity ------------------------------------------------------------------------

def code_fidelity(codes: Any, classes: Any) -> tuple[float, float]:
    """(accuracy under the best one-to-one code → class matching, normalised mutual information)."""
    from scipy.optimize import linear_sum_assignment
    from sklearn.metrics import normalized_mutual_info_score

    c, y = _ints(codes, "codes"), _ints(classes, "classes")
    if len(c) != len(y) or not len(y):
        raise ValueError(f"codes and classes must be equally long and non-empty, got {len(c)} and {len(y)}")
    _, code_index = np.unique(c, return_inverse=True)
    _, class_index = np.unique(y, return_inverse=True)
    table = np.zeros((code_index.max() + 1, class_index.max() + 1), dtype=np.int64)
    np.add.at(table, (code_index, class_index), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    accuracy = float(table[rows, cols].sum() / len(y))
    return accuracy, float(normalized_mutual_info_score(y, c))


def compute_code_fidelity(ctx: MetricContext) -> dict[str, float]:
    if ctx.gen_codes is None:
        raise ValueError("code_fidelity needs InfoGAN's categorical codes of the samples")
    if ctx.gen_predicted is None:
        raise ValueError("code_fidelity needs the domain classifier's classes of the samples")
    accuracy, nmi = code_fidelity(ctx.gen_codes, ctx.gen_predicted)
    return {"code_accuracy": accuracy, "code_nmi": nmi}
