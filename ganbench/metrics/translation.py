"""Metrics of a translation: content kept, distance to the hidden ground truth, cycle reconstruction.

Each reads a :class:`TranslationContext`: for both directions (``ab``: A → B, ``ba``: B → A) the source inputs,
their translations and, where the method has the opposite translator, the reconstructions; the true counterparts
when the pair is paired; the source labels and the target domain's classifier. Every metric reports one value per
direction (``_ab``, ``_ba``) and their mean (no suffix), the number a table ranks by.

- ``content``: the share of translations the *target* domain's classifier assigns the source's label (a
  translation that turns a 3 into an 8 is wrong however real it looks); on the true counterparts it is that
  classifier's accuracy on the target test split.
- ``ground_truth``: mean L1 to the true counterpart (per value), and for images PSNR (10·log10(range² / MSE),
  per image, averaged) and SSIM (Wang et al. 2004: 11×11 Gaussian window of σ 1.5, K1 = 0.01, K2 = 0.03, the
  window kept inside the image — scikit-image's ``structural_similarity(gaussian_weights=True)``).
- ``cycle``: mean L1 between an input and its round trip, a diagnostic of cycle consistency.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor

DIRECTIONS = ("ab", "ba")
PSNR_MSE_FLOOR = 1e-10  # an exact copy would give PSNR ∞: capped at 10·log10(range² / 1e-10) (100 dB on [0, 1])
SSIM_WINDOW, SSIM_SIGMA, SSIM_K1, SSIM_K2 = 11, 1.5, 0.01, 0.03


@dataclass(frozen=True)
class Direction:
    """One direction's material: inputs (source domain), translations (target domain), and what may be known."""

    inputs: Tensor
    translations: Tensor
    reconstructions: Tensor | None = None  # the opposite translator applied to the translations
    targets: Tensor | None = None  # the true counterparts (paired data only)
    labels: Tensor | None = None  # the inputs' class labels
    classify: Callable[[Tensor], Tensor] | None = None  # target-domain classifier: samples → predicted labels


@dataclass(frozen=True)
class TranslationContext:
    directions: Mapping[str, Direction]  # "ab" and "ba"
    kind: str  # "image" or "vector"
    value_range: tuple[float, float]


def _both(per_direction: dict[str, dict[str, float]]) -> dict[str, float]:
    """Each key per direction (``key_ab``, ``key_ba``) and, when both have it, their mean (``key``)."""
    out: dict[str, float] = {}
    keys = list(dict.fromkeys(k for values in per_direction.values() for k in values))
    for key in keys:
        for d, values in per_direction.items():
            if key in values:
                out[f"{key}_{d}"] = values[key]
        if all(key in values for values in per_direction.values()):
            out[key] = sum(values[key] for values in per_direction.values()) / len(per_direction)
    return out


def compute_content(ctx: TranslationContext) -> dict[str, float]:
    per: dict[str, dict[str, float]] = {}
    for d, side in ctx.directions.items():
        if side.labels is None or side.classify is None:
            continue
        predicted = side.classify(side.translations)
        per[d] = {"content": float((predicted.cpu() == side.labels.cpu()).double().mean())}
    return _both(per)


def compute_ground_truth(ctx: TranslationContext) -> dict[str, float]:
    per: dict[str, dict[str, float]] = {}
    for d, side in ctx.directions.items():
        if side.targets is None:
            continue
        out, true = side.translations.double(), side.targets.double()
        values = {"l1": float((out - true).abs().mean())}
        if ctx.kind == "image":
            values["psnr"] = float(psnr(out, true, ctx.value_range).mean())
            values["ssim"] = float(ssim(out, true, ctx.value_range).mean())
        per[d] = values
    return _both(per)


def compute_cycle(ctx: TranslationContext) -> dict[str, float]:
    per = {d: {"cycle": float((side.reconstructions.double() - side.inputs.double()).abs().mean())}
           for d, side in ctx.directions.items() if side.reconstructions is not None}
    return _both(per)


# ---------------------------------------------------------------- image similarity

def psnr(x: Tensor, y: Tensor, value_range: tuple[float, float] = (0.0, 1.0)) -> Tensor:
    """Per image 10·log10(R² / MSE), R the data's range; MSE floored at 1e-10 so an exact copy is finite."""
    span = value_range[1] - value_range[0]
    mse = (x - y).pow(2).flatten(1).mean(1).clamp_min(PSNR_MSE_FLOOR)
    return 10 * torch.log10(span ** 2 / mse)


def _gaussian_window(size: int, sigma: float, dtype: torch.dtype) -> Tensor:
    axis = torch.arange(size, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-axis.pow(2) / (2 * sigma ** 2))
    g = g / g.sum()
    return g[:, None] * g[None, :]


def ssim(x: Tensor, y: Tensor, value_range: tuple[float, float] = (0.0, 1.0)) -> Tensor:
    """Per image mean SSIM over the positions where the whole window fits, channels averaged.

    Local statistics under a normalised Gaussian window; the covariance terms are the window's weighted
    (co)variances scaled by n / (n − 1), as scikit-image's ``structural_similarity(gaussian_weights=True,
    use_sample_covariance=True)`` does. Images smaller than the window use a window of their smaller side
    (odd) with the same σ scaled down.
    """
    span = value_range[1] - value_range[0]
    c1, c2 = (SSIM_K1 * span) ** 2, (SSIM_K2 * span) ** 2
    side = min(x.shape[-2:])
    size = SSIM_WINDOW if side >= SSIM_WINDOW else side - (1 - side % 2)
    sigma = SSIM_SIGMA * size / SSIM_WINDOW
    channels = x.shape[1]
    window = _gaussian_window(size, sigma, x.dtype).to(x.device).expand(channels, 1, size, size)

    def local(v: Tensor) -> Tensor:
        return F.conv2d(v, window, groups=channels)

    n = size * size
    cov_norm = n / (n - 1) if n > 1 else 1.0
    mx, my = local(x), local(y)
    vx = cov_norm * (local(x * x) - mx * mx)
    vy = cov_norm * (local(y * y) - my * my)
    vxy = cov_norm * (local(x * y) - mx * my)
    num = (2 * mx * my + c1) * (2 * vxy + c2)
    den = (mx * mx + my * my + c1) * (vx + vy + c2)
    return (num / den).flatten(1).mean(1)

