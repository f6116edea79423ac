"""Differentiable augmentation of D's inputs: the same random transformation family for real and generated
images, so D never sees un-augmented data and G's gradient flows back through the augmentation.

DiffAugment (Zhao et al. 2020) composes three policies, each drawn afresh per sample and per call:

- ``color``: brightness + U(−½, ½), saturation × U(0, 2) around each pixel's channel mean, contrast
  × U(½, 3/2) around the image mean;
- ``translation``: a shift by up to ⅛ of each side in whole pixels, the uncovered border filled with 0;
- ``cutout``: a square of half each side, at a uniform position, set to 0 (0 of [−1, 1]: the range's middle).

The published transformations are stated for images in [−1, 1]; ganbench's images live in their dataset's
value range (``[0, 1]``), so each image is mapped to [−1, 1], augmented and mapped back: the same
transformation in the data's own units. Randomness comes from torch's global generator, which the trainer
seeds and checkpoints, so augmented runs stay reproducible and resumable.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

POLICIES = ("color", "translation", "cutout")
TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5

Augment = Callable[[Tensor], Tensor]


def _color(x: Tensor) -> Tensor:
    n = len(x)
    x = x + (torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5) + mean


def _translation(x: Tensor) -> Tensor:
    n, _, h, w = x.shape
    sh, sw = int(h * TRANSLATION_RATIO + 0.5), int(w * TRANSLATION_RATIO + 0.5)
    dy = torch.randint(-sh, sh + 1, (n, 1, 1), device=x.device)
    dx = torch.randint(-sw, sw + 1, (n, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1) - dy  # source row of each output row
    cols = torch.arange(w, device=x.device).view(1, 1, w) - dx
    inside = ((rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)).unsqueeze(1).to(x.dtype)
    rows, cols = rows.clamp(0, h - 1).expand(n, h, w), cols.clamp(0, w - 1).expand(n, h, w)
    flat = (rows * w + cols).reshape(n, 1, h * w).expand(-1, x.shape[1], -1)
    return x.flatten(2).gather(2, flat).view_as(x) * inside


def _cutout(x: Tensor) -> Tensor:
    n, _, h, w = x.shape
    ch, cw = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
    top = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device) - ch // 2
    left = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device) - cw // 2
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    hole = (rows >= top) & (rows < top + ch) & (cols >= left) & (cols < left + cw)
    return x * (~hole).unsqueeze(1).to(x.dtype)


_TRANSFORMS = {"color": _color, "translation": _translation, "cutout": _cutout}


def no_augment(x: Tensor, policy: str, value_range: tuple[float, float] = (0.0, 1.0)) -> Tensor:
    """D sees its inputs as they are (every model of the study)."""
    return x


def diff_augment(x: Tensor, policy: str, value_range: tuple[float, float] = (0.0, 1.0)) -> Tensor:
    """``x`` (N, C, H, W) in ``value_range`` with each policy of the comma-separated ``policy`` applied in
    DiffAugment's order (color, translation, cutout), differentiably."""
    names = [p for p in policy.split(",") if p]
    unknown = sorted(set(names) - set(POLICIES))
    if unknown or not names:
        raise ValueError(f"augmentation policy {policy!r}: use a comma-separated subset of {', '.join(POLICIES)}")
    low, high = value_range
    scale = (high - low) / 2
    y = (x - low) / scale - 1  # to [−1, 1]
    for name in POLICIES:
        if name in names:
            y = _TRANSFORMS[name](y)
    return (y + 1) * scale + low
