"""Differentiable augmentation of D's inputs: the same random transformation family for real and generated
images, so D never sees un-augmented data and G's gradient flows back through the augmentation.

DiffAugment (Zhao et al. 2020) composes three policies, each drawn afresh per sample and per call:

- ``color``: brightness + U(−½, ½), saturation × U(0, 2) around each pixel's channel mean, contrast
  × U(½, 3/2) around the image mean;
- ``translation``: a shift by up to ⅛ of each side in whole pixels, the uncovered border filled with 0;
- ``cutout``: a square of half each side, at a uniform position, set to 0 (0 of [−1, 1]: the range's middle).

ADA (Karras et al. 2020, "Training Generative Adversarial Networks with Limited Data") applies its
geometric and colour transformations ("bgc") each with probability p, and moves p during training by
the overfitting heuristic r_t = E[sign D(x_real)]: every ``ada_interval`` D steps, p grows when r_t is
above ``ada_target`` (0.6) and shrinks when below, by batch × interval / (``ada_kimg`` · 1000), so p can
cross [0, 1] in ``ada_kimg`` thousand real images (the paper: 500). Its transformations, drawn per sample:
x-flip; rotation by a multiple of 90°; integer translation U(−⅛, ⅛) of the side; isotropic scale
2^N(0, 0.2²); rotation U(−180°, 180°) with probability 1 − √(1 − p), before and after an anisotropic
scale 2^N(0, 0.2²); fractional translation N(0, 0.125²) of the side; then brightness + N(0, 0.2²),
contrast × 2^N(0, 0.5²), luma flip, hue rotation U(−180°, 180°) about the luma axis and saturation
× 2^N(0, 1) (the colour ones act on RGB; a grey image is treated as equal RGB channels and averaged
back). One departure, stated: the geometric warp is one bilinear ``grid_sample`` with reflection
padding, without ADA's anti-aliasing wavelet filter (an up-/down-sampling pair around the warp).

The published transformations are stated for images in [−1, 1]; ganbench's images live in their dataset's
value range (``[0, 1]``), so each image is mapped to [−1, 1], augmented and mapped back: the same
transformation in the data's own units. Randomness comes from torch's global generator, which the trainer
seeds and checkpoints, so augmented runs stay reproducible and resumable; ADA's p and its running r_t
are checkpointed with the run.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor

POLICIES = ("color", "translation", "cutout")
TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5



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


def _to_unit(x: Tensor, value_range: tuple[float, float]) -> tuple[Tensor, Callable[[Tensor], Tensor]]:
    """``x`` mapped to [−1, 1] and the map back to ``value_range``."""
    low, high = value_range
    scale = (high - low) / 2
    return (x - low) / scale - 1, lambda y: (y + 1) * scale + low


def diff_augment(x: Tensor, policy: str, value_range: tuple[float, float] = (0.0, 1.0)) -> Tensor:
    """``x`` (N, C, H, W) in ``value_range`` with each policy of the comma-separated ``policy`` applied in
    DiffAugment's order (color, translation, cutout), differentiably."""
    names = [p for p in policy.split(",") if p]
    unknown = sorted(set(names) - set(POLICIES))
    if unknown or not names:
        raise ValueError(f"augmentation policy {policy!r}: use a comma-separated subset of {', '.join(POLICIES)}")
    y, back = _to_unit(x, value_range)
    for name in POLICIES:
        if name in names:
            y = _TRANSFORMS[name](y)
    return back(y)


# ---- ADA's pipeline -------------------------------------------------------------------------------

ADA_XINT_MAX, ADA_SCALE_STD, ADA_ANISO_STD, ADA_XFRAC_STD = 0.125, 0.2, 0.2, 0.125
ADA_BRIGHTNESS_STD, ADA_CONTRAST_STD, ADA_SATURATION_STD = 0.2, 0.5, 1.0
_LUMA = torch.full((3,), 3 ** -0.5)  # the luma axis of ADA's colour transformations, unit length


def _chance(n: int, p: Tensor | float, like: Tensor) -> Tensor:
    """Which of ``n`` samples take a transformation applied with probability ``p``."""
    return torch.rand(n, device=like.device) < p


def _planar(n: int, like: Tensor) -> Tensor:
    return torch.eye(3, device=like.device, dtype=like.dtype).repeat(n, 1, 1)


def _rotation(theta: Tensor) -> Tensor:
    m = _planar(len(theta), theta)
    c, s = torch.cos(theta), torch.sin(theta)
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = c, -s, s, c
    return m


def _scaling(sx: Tensor, sy: Tensor) -> Tensor:
    m = _planar(len(sx), sx)
    m[:, 0, 0], m[:, 1, 1] = sx, sy
    return m


def _shift(tx: Tensor, ty: Tensor) -> Tensor:
    m = _planar(len(tx), tx)
    m[:, 0, 2], m[:, 1, 2] = tx, ty
    return m


def ada_geometry(n: int, p: Tensor | float, side: tuple[int, int], like: Tensor) -> Tensor:
    """(n, 3, 3) sampling matrices in pixel units about the image centre: output pixel → input position.

    Each transformation's distribution is symmetric (flip, quarter turns, translations, scales in log,
    rotations), so drawing the sampling map directly is distributed as ADA's inverse of a drawn forward map.
    """
    h, w = side
    zero = torch.zeros(n, device=like.device, dtype=like.dtype)
    one = zero + 1
    m = _planar(n, like)
    flip = _chance(n, p, like) & (torch.randint(2, (n,), device=like.device) == 1)
    m = m @ _scaling(torch.where(flip, -one, one), one)
    quarter = torch.where(_chance(n, p, like), torch.randint(4, (n,), device=like.device), 0).to(like.dtype)
    m = m @ _rotation(quarter * (math.pi / 2))
    take = _chance(n, p, like)
    tx = ((torch.rand(n, device=like.device, dtype=like.dtype) * 2 - 1) * ADA_XINT_MAX * w).round()
    ty = ((torch.rand(n, device=like.device, dtype=like.dtype) * 2 - 1) * ADA_XINT_MAX * h).round()
    m = m @ _shift(torch.where(take, tx, zero), torch.where(take, ty, zero))
    iso = torch.exp2(torch.randn(n, device=like.device, dtype=like.dtype) * ADA_SCALE_STD)
    iso = torch.where(_chance(n, p, like), iso, one)
    m = m @ _scaling(iso, iso)
    p_rot = 1 - torch.sqrt(1 - torch.as_tensor(p, dtype=like.dtype).clamp(0, 1))  # two rotations: ~p in all

    def rotation() -> Tensor:
        theta = (torch.rand(n, device=like.device, dtype=like.dtype) * 2 - 1) * math.pi
        return _rotation(torch.where(_chance(n, p_rot, like), theta, zero))

    m = m @ rotation()
    aniso = torch.exp2(torch.randn(n, device=like.device, dtype=like.dtype) * ADA_ANISO_STD)
    aniso = torch.where(_chance(n, p, like), aniso, one)
    m = m @ _scaling(aniso, 1 / aniso) @ rotation()
    take = _chance(n, p, like)
    fx = torch.randn(n, device=like.device, dtype=like.dtype) * ADA_XFRAC_STD * w
    fy = torch.randn(n, device=like.device, dtype=like.dtype) * ADA_XFRAC_STD * h
    return m @ _shift(torch.where(take, fx, zero), torch.where(take, fy, zero))


def ada_colour(n: int, p: Tensor | float, like: Tensor) -> Tensor:
    """(n, 4, 4) homogeneous RGB matrices: brightness, contrast, luma flip, hue, saturation (in that order)."""
    dev, dt = like.device, like.dtype
    eye4 = torch.eye(4, device=dev, dtype=dt).repeat(n, 1, 1)
    zero, one = torch.zeros(n, device=dev, dtype=dt), torch.ones(n, device=dev, dtype=dt)
    v = _LUMA.to(device=dev, dtype=dt)
    vv = torch.outer(v, v)
    eye3 = torch.eye(3, device=dev, dtype=dt)

    def lift(m3: Tensor) -> Tensor:
        out = eye4.clone()
        out[:, :3, :3] = m3
        return out

    b = torch.where(_chance(n, p, like), torch.randn(n, device=dev, dtype=dt) * ADA_BRIGHTNESS_STD, zero)
    c = torch.where(_chance(n, p, like), torch.exp2(torch.randn(n, device=dev, dtype=dt) * ADA_CONTRAST_STD), one)
    flip = torch.where(_chance(n, p, like), torch.randint(2, (n,), device=dev).to(dt), zero)
    theta = torch.where(_chance(n, p, like), (torch.rand(n, device=dev, dtype=dt) * 2 - 1) * math.pi, zero)
    sat = torch.where(_chance(n, p, like), torch.exp2(torch.randn(n, device=dev, dtype=dt) * ADA_SATURATION_STD),
                      one)
    brightness = eye4.clone()
    brightness[:, :3, 3] = b[:, None]
    contrast = lift(c[:, None, None] * eye3)
    lumaflip = lift(eye3 - 2 * flip[:, None, None] * vv)
    cross = torch.tensor([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]], device=dev, dtype=dt)
    hue = lift(torch.cos(theta)[:, None, None] * eye3 + torch.sin(theta)[:, None, None] * cross
               + (1 - torch.cos(theta))[:, None, None] * vv)
    saturation = lift(vv + sat[:, None, None] * (eye3 - vv))
    return saturation @ hue @ lumaflip @ contrast @ brightness


def ada_augment(x: Tensor, p: Tensor | float, value_range: tuple[float, float] = (0.0, 1.0)) -> Tensor:
    """``x`` (N, C, H, W) in ``value_range`` through ADA's geometric and colour transformations, each with
    probability ``p`` per sample, differentiably."""
    y, back = _to_unit(x, value_range)
    n, c, h, w = y.shape
    m = ada_geometry(n, p, (h, w), y)
    # pixel units about the centre → affine_grid's normalised units (±1 at the image's edges)
    to_pixels = torch.diag(torch.tensor([w / 2, h / 2, 1.0], device=y.device, dtype=y.dtype))
    to_unit = torch.diag(torch.tensor([2 / w, 2 / h, 1.0], device=y.device, dtype=y.dtype))
    theta = (to_unit @ m @ to_pixels)[:, :2, :]
    grid = F.affine_grid(theta, [n, c, h, w], align_corners=False)
    y = F.grid_sample(y, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    colour = ada_colour(n, p, y)
    if c == 3:
        y = torch.einsum("nij,njhw->nihw", colour[:, :3, :3], y) + colour[:, :3, 3, None, None]
    elif c == 1:  # a grey image as equal RGB channels, averaged back
        rgb = torch.einsum("nij,njhw->nihw", colour[:, :3, :3], y.expand(n, 3, h, w))
        y = (rgb + colour[:, :3, 3, None, None]).mean(dim=1, keepdim=True)
    else:  # no luma axis: brightness and contrast only
        gain = colour[:, :3, :3].diagonal(dim1=1, dim2=2).mean(dim=1)
        y = y * gain[:, None, None, None] + colour[:, 0, 3, None, None, None]
    return back(y)


def ada_step(p: Tensor, signs: Tensor, target: float, images: int, kimg: float) -> Tensor:
    """ADA's update of p from the mean sign of D's real scores over ``images`` real images."""
    return (p + torch.sign(signs - target) * images / (kimg * 1000)).clamp(0.0, 1.0)


# ---- what a run holds -----------------------------------------------------------------------------

class Augmentation:
    """What D's inputs go through during training (identity here): called on every batch D sees, told D's
    scores on each step's real batch, and checkpointed with the run."""

    def __init__(self, hparams: Mapping[str, Any], value_range: tuple[float, float], batch_size: int):
        self.value_range, self.batch_size = value_range, batch_size

    def __call__(self, x: Tensor) -> Tensor:
        return x

    def observe(self, d_real: Tensor) -> None:
        """D's scores on the step's (augmented) real batch, after its update."""

    def log(self) -> dict[str, float]:
        """What to record at each evaluation point (ADA's p)."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        pass


class NoAugment(Augmentation):
    """D sees its inputs as they are (every model of the study)."""


class DiffAugment(Augmentation):
    def __init__(self, hparams: Mapping[str, Any], value_range: tuple[float, float], batch_size: int):
        super().__init__(hparams, value_range, batch_size)
        self.policy = hparams["augment_policy"]

    def __call__(self, x: Tensor) -> Tensor:
        return diff_augment(x, self.policy, self.value_range)


class AdaptiveAugment(Augmentation):
    """ADA: the pipeline at probability p, p tuned by r_t; p and r_t's running sums stay on the device, so
    adapting costs no synchronisation."""

    def __init__(self, hparams: Mapping[str, Any], value_range: tuple[float, float], batch_size: int):
        super().__init__(hparams, value_range, batch_size)
        self.target, self.kimg = float(hparams["ada_target"]), float(hparams["ada_kimg"])
        self.interval = int(hparams["ada_interval"])
        self.p = torch.zeros(())
        self._signs, self._count, self._steps = torch.zeros(()), torch.zeros(()), 0

    def __call__(self, x: Tensor) -> Tensor:
        self.p = self.p.to(x.device)
        return ada_augment(x, self.p, self.value_range)

    def observe(self, d_real: Tensor) -> None:
        scores = d_real.detach().reshape(-1)
        self._signs = self._signs.to(scores.device) + torch.sign(scores).sum()
        self._count = self._count.to(scores.device) + scores.numel()
        self._steps += 1
        if self._steps % self.interval == 0:
            self.p = ada_step(self.p.to(scores.device), self._signs / self._count, self.target,
                              self.batch_size * self.interval, self.kimg)
            self._signs, self._count = torch.zeros_like(self._signs), torch.zeros_like(self._count)

    def log(self) -> dict[str, float]:
        return {"augment_p": float(self.p)}

    def state_dict(self) -> dict[str, Any]:
        return {"p": self.p.cpu(), "signs": self._signs.cpu(), "count": self._count.cpu(), "steps": self._steps}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.p, self._signs, self._count = state["p"].clone(), state["signs"].clone(), state["count"].clone()
        self._steps = int(state["steps"])
