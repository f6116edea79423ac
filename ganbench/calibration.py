"""Calibration rows: real data scored as if it were a model, so every table says what its numbers can reach.

A FID of 100 on the 8×8 digits means little until the reader knows that 300 held-out real digits score 12.4
against the same 300 reference digits, and 300 copied training digits 12.9. So every suite adds, per
dataset, two rows that need no training (dgm-eval's real-data row; FLS's copycat):

- ``floor``: held-out real data — samples the evaluation uses nowhere else (not the real side of the
  metrics, not the train samples the memorisation metrics read) — the best a metric can do at this n;
- ``copycat``: training images returned as samples — a memoriser, near the floor on FID and caught only by
  the memorisation metrics (authenticity, C_T).

Each row is scored by the very evaluator the models are (:meth:`ganbench.evaluate.Evaluator.score`), over
the seeds of the suite's last phase; a seed changes which real images are drawn. Metrics that need a
generator to invert or the labels a conditional G was given are dropped from their protocol.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ganbench.errors import GanbenchError
from ganbench.specs import Budget, EvalProtocol, ModelSpec

if TYPE_CHECKING:  # torch is imported where samples are drawn: suites expand without it
    import torch

    from ganbench.data.base import Dataset

DEFAULT = ("floor", "copycat", "identity")
#: a calibration row's budget: nothing to train, one evaluation at step 0
BUDGET = Budget(steps=0, eval_every=1)
#: what a calibration row cannot provide: a generator to invert, labels or codes asked of G
UNFED_NEEDS = {"generator", "labels", "codes"}


@dataclass(frozen=True)
class Draw:
    """A calibration row's samples and, in words, where they came from (stored in its protocol)."""

    samples: torch.Tensor
    source: str


def is_calibration(kind: str | None) -> bool:
    from ganbench.catalog import CALIBRATIONS

    return kind is not None and kind in CALIBRATIONS


def model_spec(name: str) -> ModelSpec:
    """The ModelSpec of a calibration row: its kind is the row's registered name, with nothing to train."""
    from ganbench.catalog import CALIBRATIONS

    name = CALIBRATIONS.canonical(name)
    return ModelSpec(CALIBRATIONS.meta(name)["label"], name, None, "none")


def protocol(evaluation: EvalProtocol) -> EvalProtocol:
    """The dataset's protocol less the metrics real data cannot feed (:data:`UNFED_NEEDS`), scored once: a
    row's seed is what redraws its samples, so a sampling panel would only repeat it."""
    from ganbench.catalog import METRICS

    kept = tuple(m for m in evaluation.metrics if not set(METRICS.meta(m).get("needs", ())) & UNFED_NEEDS)
    return replace(evaluation, metrics=kept, sampling_seeds=1)


def _choose(pool: torch.Tensor, n: int, seed: int, what: str) -> torch.Tensor:
    """``n`` entries of ``pool`` without replacement, chosen by the row's seed."""
    import torch

    digest = hashlib.sha256(f"{what}/{seed}".encode()).digest()
    generator = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") % (2**63))
    return pool[torch.randperm(len(pool), generator=generator)[:n]]


def floor_samples(dataset: Dataset, evaluation: EvalProtocol, *, seed: int, n_train_used: int,
                  real_seed: int = 0) -> Draw:
    """``n_gen`` real samples no metric sees otherwise: the evaluation split beyond its real side, else the
    train split beyond the memorisation metrics' draw (``n_train_used``: 0 when none is computed).

    Raises a GanbenchError naming the counts and the fixes when neither has ``n_gen`` samples left: a floor
    at a smaller n would not be the floor at the models' n.
    """
    from ganbench.features.cache import real_order

    n = evaluation.n_gen
    options = [(evaluation.split, evaluation.n_real)]
    if evaluation.split != "train" and "train" in dataset.info.splits:
        options.append(("train", n_train_used))
    left = []
    for split_name, used in options:
        split = dataset.split(split_name)
        rest = real_order(len(split), real_seed)[min(used, len(split)):]
        left.append(f"{split_name} {len(split)} − {min(used, len(split))} used = {len(rest)}")
        if len(rest) >= n:
            chosen = _choose(rest, n, seed, "floor")
            return Draw(split.get(chosen), f"{n} {split_name} samples outside the {used} the metrics read")
    raise GanbenchError(
        f"calibration row 'floor' on {dataset.info.name}: needs {n} real samples the evaluation uses nowhere "
        f"else (n_gen), and has {'; '.join(left)} — lower evaluation.n_gen or n_real, give the dataset a larger "
        f"split (e.g. params.n_test), or leave the floor out (calibration: [copycat])")


def copycat_samples(dataset: Dataset, evaluation: EvalProtocol, *, seed: int, n_train_used: int = 0,
                    real_seed: int = 0) -> Draw:
    """``n_gen`` training images, without replacement while the train split lasts (then with)."""
    import torch

    del n_train_used, real_seed  # a memoriser copies any training image, not only those the metrics read
    split = dataset.split("train")
    n = evaluation.n_gen
    everything = torch.arange(len(split))
    if n <= len(split):
        return Draw(split.get(_choose(everything, n, seed, "copycat")), f"{n} train images, copied")
    generator = torch.Generator().manual_seed(seed)
    index = torch.cat([everything, torch.randint(len(split), (n - len(split),), generator=generator)])
    return Draw(split.get(index), f"{n} train images, copied ({len(split)} distinct: the split is smaller)")


def draw(kind: str, dataset: Dataset, evaluation: EvalProtocol, *, seed: int, n_train_used: int,
         real_seed: int = 0) -> Draw:
    """The samples of calibration row ``kind`` (a registered name), from its registered function;
    ``real_seed``: the evaluator's, which chose its real side (and the train samples it reads)."""
    from ganbench.catalog import CALIBRATIONS

    sample: Any = CALIBRATIONS.get(kind)
    return sample(dataset, evaluation, seed=seed, n_train_used=n_train_used, real_seed=real_seed)
