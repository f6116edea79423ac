"""scikit-learn's bundled 8×8 handwritten digits: a real image dataset that needs no download.

1,797 images in 10 classes with pixel values 0..16, scaled to [0, 1]. Small enough to train a GAN
on a laptop in minutes and to run the full pipeline in tests and CI. ``size`` > 8 upsamples
bilinearly (deterministic), e.g. 28 to reuse the MNIST-sized networks.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import torch
import torch.nn.functional as F

from ganbench.data.base import DATASETS, Dataset, DatasetInfo, Split
from ganbench.data.params import choice, integer, merged

DEFAULTS: dict[str, Any] = DATASETS.meta("digits")["params"]  # declared in ganbench/catalog.py
SIZES = (8, 16, 28, 32)
TOTAL = 1797


def load_digit_images(size: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 digits as (N, 1, size, size) float32 in [0, 1] and their labels (N,)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.as_tensor(bunch.images, dtype=torch.float32)[:, None] / 16.0
    if size != images.shape[-1]:
        images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False,
                               antialias=True).clamp_(0.0, 1.0)
    return images, torch.as_tensor(bunch.target, dtype=torch.long)


def digits(params: Mapping[str, Any], data_root: Path | None = None, download: bool = False) -> Dataset:
    """Digits split train / test by a seeded permutation (default 1,497 / 300)."""
    p = merged("digits", params, DEFAULTS)
    size = choice("digits", p, "size", SIZES)
    n_test = integer("digits", p, "n_test", 1, TOTAL - 1)
    seed = integer("digits", p, "seed", 0)
    images, labels = load_digit_images(size)
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    test, train = order[:n_test], order[n_test:]
    info = DatasetInfo(name="digits", kind="image", shape=(1, size, size), value_range=(0.0, 1.0),
                       num_classes=10, splits=("train", "test"))
    return Dataset(info, {"train": Split(images[train], labels[train]), "test": Split(images[test], labels[test])})
