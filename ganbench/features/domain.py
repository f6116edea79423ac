"""``domain``: a small classifier ganbench trains on the dataset's own labelled train split.

Inception features mean little on 8×8 digits or polygons; a classifier of the data's own classes
gives IS-style logits and a feature space that sees what matters there. It must be the *same*
network for every run it compares, so it is trained deterministically (fixed seed, fixed sample
order) from a recipe with fixed defaults, and cached on disk, keyed by the dataset (its identity and
digests of its labelled splits) and the recipe. Its test accuracy is stored next to the weights
and reported, since a weak classifier makes every number computed through it weak.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from torch import nn

from ganbench.atomic import atomic_write
from ganbench.data.base import BatchSampler, Dataset, DatasetInfo, Split
from ganbench.errors import GanbenchError
from ganbench.features.base import ExtractorContext, Features
from ganbench.features.cache import (CACHE_VERSION, canonical_json, dataset_identity, split_digest,
                                     stable_hash)
from ganbench.features.common import extractor_options, positive_int, run_batched

log = logging.getLogger(__name__)

HOLDOUT_SHARE = 0.1  # share of train held out to measure accuracy when there is no labelled test split
STATS_ROWS = 4096  # train rows used for the input standardisation statistics


@dataclass(frozen=True)
class Recipe:
    """How the classifier is trained; every field is part of the cache key."""

    epochs: float = 10.0  # passes over train; small sets (digits) need several to pass 90 %
    max_steps: int = 3000  # ...but at most this many steps: ~3 epochs of MNIST, minutes on a CPU
    train_batch_size: int = 64
    lr: float = 2e-3  # Adam, cosine-decayed to 0 over the run
    weight_decay: float = 0.0
    width: int = 32  # conv channels of the first layer (doubled after); MLP hidden = 4 × width
    features: int = 128  # width of the penultimate layer, the extractor's ``pool``
    augmentation: str = "none"  # the only value: augmentation would change what "real" looks like
    seed: int = 0  # fixed, not the run's seed: every run must be measured by the same network


class DomainClassifier(nn.Module):
    """Standardise → trunk → ``features``-d ReLU embedding (pool) → linear head (logits).

    Images: three 3×3 convs with batch norm (strides 1, 2, 2; 2, 2, 2 above 32 px, which keeps
    64 px as cheap as 32 px) and an adaptive average pool to 4×4, so one design serves 8 to 64 px.
    Vectors: a two-layer MLP.
    """

    def __init__(self, info: DatasetInfo, recipe: Recipe):
        super().__init__()
        width, classes = recipe.width, int(info.num_classes or 0)
        if info.kind == "image":
            channels = info.shape[0]
            self.register_buffer("mean", torch.zeros(1, channels, 1, 1))
            self.register_buffer("std", torch.ones(1, channels, 1, 1))
            self.trunk = nn.Sequential(
                _conv_block(channels, width, stride=2 if info.shape[-1] > 32 else 1),
                _conv_block(width, 2 * width, stride=2),
                _conv_block(2 * width, 2 * width, stride=2), nn.AdaptiveAvgPool2d(4), nn.Flatten())
            trunk_out = 2 * width * 16
        else:
            dim = int(np.prod(info.shape))
            self.register_buffer("mean", torch.zeros(1, dim))
            self.register_buffer("std", torch.ones(1, dim))
            self.trunk = nn.Sequential(nn.Flatten(), nn.Linear(dim, 4 * width), nn.ReLU())
            trunk_out = 4 * width
        self.embed = nn.Sequential(nn.Linear(trunk_out, recipe.features), nn.ReLU())
        self.head = nn.Linear(recipe.features, classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pool = self.embed(self.trunk((x - self.mean) / self.std))
        return pool, self.head(pool)


def _conv_block(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU())


class DomainExtractor:
    """The trained classifier as a FeatureExtractor: ``pool`` = penultimate layer, ``logits`` = head."""

    name = "domain"
    pool_layer = "penultimate"
    logits_layer = "logits"
    preprocessing = "none: the dataset's own resolution and value range, float32"

    def __init__(self, model: DomainClassifier, info: DatasetInfo, *, identity: str, test_accuracy: float,
                 record: dict[str, Any], batch_size: int, device: torch.device):
        self.model = model.to(device).eval()
        self.info, self.identity, self.test_accuracy = info, identity, test_accuracy
        self.record = record  # the stored json: recipe, eval split, training time, ...
        self.batch_size, self.device = batch_size, device

    def __call__(self, x: torch.Tensor) -> Features:
        if tuple(x.shape[1:]) != tuple(self.info.shape):
            raise GanbenchError(f"feature extractor 'domain' of {self.info.name} takes samples of shape "
                                f"{tuple(self.info.shape)}, got {tuple(x.shape[1:])}")
        pool, logits = run_batched(lambda b: self.model(b.to(torch.float32)), x, self.batch_size, self.device)
        return Features(pool=pool, logits=logits)


def build_domain(ctx: ExtractorContext) -> DomainExtractor:
    defaults = {**asdict(Recipe()), "batch_size": 256}  # batch_size: inference only
    options = extractor_options("domain", ctx.options, defaults)
    recipe = parse_recipe({key: value for key, value in options.items() if key != "batch_size"})
    batch_size = positive_int("domain", "batch_size", options["batch_size"])
    dataset = ctx.dataset
    train, evaluation = labelled_splits(dataset)
    material = {"kind": "domain-classifier", "version": CACHE_VERSION, "dataset": dataset_identity(dataset),
                "train_digest": split_digest(train),
                "eval_digest": split_digest(evaluation) if evaluation is not None else "train-holdout",
                "recipe": asdict(recipe)}
    stem = Path(ctx.cache_dir) / "domain" / f"{_safe(dataset.info.name)}-{stable_hash(material)[:16]}"
    loaded = _load(stem, material, dataset.info, recipe)
    if loaded is None:
        # Always on one CPU thread, whatever device evaluates: the same weights (and identity) on every
        # machine, so a number computed on a GPU box compares with one from a laptop.
        model, record = train_classifier(dataset.info, train, evaluation, recipe, torch.device("cpu"))
        record["key_material"] = material
        _save(stem, model, record)
    else:
        model, record = loaded
    return DomainExtractor(model, dataset.info, identity=record["identity"], test_accuracy=record["test_accuracy"],
                           record=record, batch_size=batch_size, device=ctx.device)


def parse_recipe(options: dict[str, Any]) -> Recipe:
    """A :class:`Recipe` from option values, each checked against its field's type."""
    values: dict[str, Any] = {}
    for field in fields(Recipe):
        value, default = options[field.name], getattr(Recipe, field.name)
        kind = type(default)
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool)) if kind is float else (
            isinstance(value, kind) and not (kind is int and isinstance(value, bool)))
        if not ok:
            raise GanbenchError(f"feature extractor 'domain': option '{field.name}' must be of type {kind.__name__}, "
                                f"got {value!r}")
        values[field.name] = kind(value)
    recipe = Recipe(**values)
    if recipe.augmentation != "none":
        raise GanbenchError("feature extractor 'domain': option 'augmentation' supports only 'none'")
    if min(recipe.epochs, recipe.lr) <= 0 or min(recipe.max_steps, recipe.train_batch_size, recipe.width,
                                                 recipe.features) < 1 or recipe.weight_decay < 0:
        raise GanbenchError(f"feature extractor 'domain': recipe values must be positive, got {recipe}")
    return recipe


def labelled_splits(dataset: Dataset) -> tuple[Split, Split | None]:
    """(train, test) with labels; test is None when there is no labelled test split (then hold out)."""
    info = dataset.info
    if not info.num_classes or info.num_classes < 2:
        raise GanbenchError(f"feature extractor 'domain' needs class labels, and dataset '{info.name}' declares "
                            f"none (num_classes={info.num_classes}); use 'raw' for low-dimensional data or "
                            "'inception' for natural images")
    train = dataset.split("train")
    if train.labels is None:
        raise GanbenchError(f"feature extractor 'domain' needs labels on the train split of '{info.name}', "
                            "and it has none")
    labels = train.labels
    if labels.min() < 0 or labels.max() >= info.num_classes:
        raise GanbenchError(f"dataset '{info.name}': train labels must lie in 0..{info.num_classes - 1}")
    test = dataset.split("test") if "test" in info.splits else None
    return train, test if test is not None and test.labels is not None else None


def train_classifier(info: DatasetInfo, train: Split, test: Split | None, recipe: Recipe,
                     device: torch.device) -> tuple[DomainClassifier, dict[str, Any]]:
    """Train on ``train`` (seeded init and batch order) and measure accuracy on ``test``, or on a
    seeded held-out share of ``train`` when ``test`` is None; returns (model, record)."""
    started = time.perf_counter()
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(recipe.seed))
    holdout = max(1, int(len(train) * HOLDOUT_SHARE)) if test is None else 0
    fit_index = order[holdout:] if test is None else torch.arange(len(train))
    with _one_cpu_thread(device):
        with torch.random.fork_rng(devices=[]):  # seeded init without disturbing the caller's RNG
            torch.manual_seed(recipe.seed)
            model = DomainClassifier(info, recipe)
        _set_standardisation(model, train.get(order[:STATS_ROWS]))
        model.to(device).train()
        steps = min(recipe.max_steps, math.ceil(recipe.epochs * len(fit_index) / recipe.train_batch_size))
        optimizer = torch.optim.Adam(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer,
                                                      lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
        sampler = BatchSampler(len(fit_index), recipe.train_batch_size, seed=recipe.seed)
        for _ in range(steps):
            index = fit_index[sampler.next_index()]
            _, logits = model(train.get(index).to(device))
            loss = nn.functional.cross_entropy(logits, train.labels[index].to(device, torch.long))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        model.eval()
        if test is None:
            eval_name, x, y = "train-holdout", train.get(order[:holdout]), train.labels[order[:holdout]]
        else:
            eval_name, x, y = "test", test.all(), test.labels
        (logits,) = run_batched(lambda b: (model(b)[1],), x, 1024, device)
        accuracy = float((logits.argmax(axis=1) == y.numpy()).mean())
    seconds = time.perf_counter() - started
    model.cpu()
    sha = state_sha256(model.state_dict())
    log.info("trained domain classifier for %s: %d steps, %.1f s, %s accuracy %.4f",
             info.name, steps, seconds, eval_name, accuracy)
    record = {"identity": f"domain-{info.name}@{sha[:12]}", "weights_sha256": sha,
              "test_accuracy": accuracy, "eval_split": eval_name, "eval_size": len(y), "steps": steps,
              "train_seconds": round(seconds, 3), "recipe": asdict(recipe), "torch": torch.__version__}
    return model, record


@contextlib.contextmanager
def _one_cpu_thread(device: torch.device) -> Iterator[None]:
    """Train on one CPU thread: reduction order, hence the weights, then do not depend on the
    caller's thread count (small nets lose little speed; the result is cached anyway)."""
    if device.type != "cpu":
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def state_sha256(state: dict[str, torch.Tensor]) -> str:
    """Hash of the tensors themselves (names, dtypes, shapes, bytes), independent of file format."""
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def _set_standardisation(model: DomainClassifier, sample: torch.Tensor) -> None:
    """Per-channel (images) or per-dimension (vectors) mean/std of train, stored as buffers."""
    dims = (0, 2, 3) if sample.dim() == 4 else (0,)
    model.mean.copy_(sample.mean(dim=dims, keepdim=True).reshape(model.mean.shape))
    model.std.copy_(sample.std(dim=dims, keepdim=True).clamp_min(1e-6).reshape(model.std.shape))


def _save(stem: Path, model: DomainClassifier, record: dict[str, Any]) -> None:
    """Weights, then the json; the json is written last, so its presence marks a complete entry."""
    weights = stem.with_suffix(".pt")
    atomic_write(weights, lambda handle: torch.save(model.state_dict(), handle))
    atomic_write(stem.with_suffix(".json"), lambda handle: handle.write(json.dumps(record, indent=1).encode()))


def _load(stem: Path, material: dict[str, Any], info: DatasetInfo,
          recipe: Recipe) -> tuple[DomainClassifier, dict[str, Any]] | None:
    """The cached classifier if its json matches ``material`` and its weights hash to the stored value."""
    meta, weights = stem.with_suffix(".json"), stem.with_suffix(".pt")
    if not (meta.exists() and weights.exists()):
        return None
    try:
        record = json.loads(meta.read_text())
        if canonical_json(record["key_material"]) != canonical_json(material):
            log.warning("domain classifier cache %s was written for another key; retraining", stem)
            return None
        state = torch.load(weights, map_location="cpu", weights_only=True)
        if state_sha256(state) != record["weights_sha256"]:
            log.warning("domain classifier weights %s do not match their record; retraining", weights)
            return None
        model = DomainClassifier(info, recipe)
        model.load_state_dict(state)
    except Exception as exc:  # unreadable json or weights: retrain rather than fail an evaluation
        log.warning("domain classifier cache %s is unreadable (%s: %s); retraining", stem, type(exc).__name__, exc)
        return None
    return model.eval(), record


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
