"""Translation metrics against closed forms and independent computations."""
import math

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from ganbench.metrics.translation import (Direction, TranslationContext, compute_content, compute_cycle,
                                          compute_ground_truth, psnr, ssim)


def _ssim_reference(x: np.ndarray, y: np.ndarray, data_range: float = 1.0) -> float:
    """scikit-image's structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=True) for one
    2-D image, written from its documented algorithm with scipy's Gaussian filter (truncate 3.5 → 11×11)."""
    sigma, truncate = 1.5, 3.5
    win = 2 * int(truncate * sigma + 0.5) + 1
    n = win * win
    norm = n / (n - 1)

    def f(v):
        return gaussian_filter(v, sigma=sigma, truncate=truncate, mode="reflect")

    ux, uy = f(x), f(y)
    vx, vy, vxy = norm * (f(x * x) - ux * ux), norm * (f(y * y) - uy * uy), norm * (f(x * y) - ux * uy)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux ** 2 + uy ** 2 + c1) * (vx + vy + c2))
    pad = (win - 1) // 2
    return float(s[pad:-pad, pad:-pad].mean())


def test_ssim_matches_an_independent_implementation_of_scikit_images():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 1, 24, 20, generator=g, dtype=torch.float64)
    y = (x + 0.2 * torch.randn(4, 1, 24, 20, generator=g, dtype=torch.float64)).clamp(0, 1)
    ours = ssim(x, y)
    for i in range(4):
        assert ours[i].item() == pytest.approx(_ssim_reference(x[i, 0].numpy(), y[i, 0].numpy()), abs=1e-10)
    # channels are averaged; identical images score exactly 1; range scales the constants
    rgb = torch.rand(2, 3, 16, 16, generator=g, dtype=torch.float64)
    assert torch.allclose(ssim(rgb, rgb), torch.ones(2, dtype=torch.float64))
    other = rgb.flip(-1)
    per_channel = [_ssim_reference(rgb[0, c].numpy(), other[0, c].numpy()) for c in range(3)]
    assert ssim(rgb, other)[0].item() == pytest.approx(np.mean(per_channel), abs=1e-10)
    wide, wide_other = 2 * rgb - 1, 2 * other - 1  # data on [−1, 1]: the constants take its range, 2
    expected = np.mean([_ssim_reference(wide[0, c].numpy(), wide_other[0, c].numpy(), 2.0) for c in range(3)])
    assert ssim(wide, wide_other, (-1.0, 1.0))[0].item() == pytest.approx(expected, abs=1e-10)


def test_psnr_is_its_closed_form():
    x = torch.rand(3, 1, 8, 8, dtype=torch.float64)
    for delta in (0.5, 0.1, 0.01):
        assert torch.allclose(psnr(x, x + delta), torch.full((3,), 10 * math.log10(1 / delta ** 2), dtype=torch.float64))
    assert psnr(2 * x, 2 * x + 0.2, (0.0, 2.0))[0].item() == pytest.approx(10 * math.log10(4 / 0.04))
    assert psnr(x, x)[0].item() == pytest.approx(100.0)  # an exact copy: the documented cap


def _ctx(**directions) -> TranslationContext:
    return TranslationContext(directions=directions, kind="image", value_range=(0.0, 1.0))


def test_ground_truth_against_hand_computed_values_and_the_mean_of_directions():
    g = torch.Generator().manual_seed(1)
    a, b = torch.rand(5, 1, 12, 12, generator=g), torch.rand(5, 1, 12, 12, generator=g)
    out_ab, out_ba = b + 0.1, a.clone()
    ctx = _ctx(ab=Direction(a, out_ab, targets=b), ba=Direction(b, out_ba, targets=a))
    values = compute_ground_truth(ctx)
    assert values["l1_ab"] == pytest.approx(0.1, abs=1e-6) and values["l1_ba"] == 0.0
    assert values["l1"] == pytest.approx(0.05, abs=1e-6)
    assert values["psnr_ab"] == pytest.approx(20.0, abs=1e-4) and values["ssim_ba"] == pytest.approx(1.0)
    assert values["ssim"] == pytest.approx((values["ssim_ab"] + values["ssim_ba"]) / 2)
    # vectors: L1 only; unpaired data (no targets): nothing
    vec = TranslationContext({"ab": Direction(a.flatten(1), b.flatten(1), targets=a.flatten(1))}, "vector", (0, 1))
    assert set(compute_ground_truth(vec)) == {"l1_ab", "l1"}  # one direction: its mean is itself
    assert compute_ground_truth(_ctx(ab=Direction(a, b), ba=Direction(b, a))) == {}


def test_content_is_the_classifiers_agreement_with_the_source_label():
    labels = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    predicted = torch.tensor([0, 1, 2, 0, 0, 1, 1, 3])  # 6 of 8 agree

    def classify(x):
        return predicted[: len(x)]

    x = torch.zeros(8, 1, 8, 8)
    values = compute_content(_ctx(ab=Direction(x, x, labels=labels, classify=classify),
                                  ba=Direction(x, x, labels=labels, classify=lambda v: labels)))
    assert values == {"content_ab": 0.75, "content_ba": 1.0, "content": 0.875}
    assert compute_content(_ctx(ab=Direction(x, x))) == {}  # no labels, no content


def test_cycle_is_the_round_trips_l1():
    x = torch.rand(4, 1, 8, 8)
    values = compute_cycle(_ctx(ab=Direction(x, x, reconstructions=x + 0.2), ba=Direction(x, x, reconstructions=x)))
    assert values["cycle_ab"] == pytest.approx(0.2, abs=1e-6) and values["cycle_ba"] == 0.0
    assert values["cycle"] == pytest.approx(0.1, abs=1e-6)
