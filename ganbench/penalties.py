"""Gradient penalties, their own registry: ``penalty(score, real, fake) -> scalar`` (unweighted).

``score`` maps a batch to D's per-sample scores (B,). The trainer adds ``λ · penalty`` to D's loss,
λ being the ``lambda`` hyperparameter. Randomness comes from torch's global generator, which the
trainer seeds and checkpoints, so runs stay reproducible and resumable. Each penalty is a
:class:`GradientPenalty` (where the gradient is taken, and how its norm is penalised), which also computes
every member's penalty of an ensemble (:mod:`ganbench.ensemble`) in one pass.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import Tensor

from ganbench.catalog import PENALTIES  # noqa: F401  (declared there; re-exported for the trainer)

Score = Callable[[Tensor], Tensor]
Penalty = Callable[[Score, Tensor, Tensor], Tensor]  # (score, real, fake) ↦ the unweighted penalty
Rand = Callable[[tuple[int, ...], Tensor], Tensor]  # (shape, like) ↦ U[0, 1) values of like's dtype and device
Points = Callable[[Tensor, Tensor, Rand], Tensor]  # (real, fake, rand) ↦ where the gradient is taken

# compare_gan's norm: sqrt(1e-4 + Σg²) keeps the gradient of the norm finite at g = 0.
NORM_EPS = 1e-4


def global_rand(shape: tuple[int, ...], like: Tensor) -> Tensor:
    """Draws from torch's global generator: what a solo run's penalties use."""
    return torch.rand(shape, device=like.device, dtype=like.dtype)


def _interpolates(real: Tensor, fake: Tensor, rand: Rand) -> Tensor:
    """α·x + (1 − α)·x̂, α ~ U[0, 1) per sample (WGAN-GP)."""
    alpha = rand((real.shape[0],) + (1,) * (real.dim() - 1), real)
    return alpha * real + (1 - alpha) * fake.detach()


def _dragan_points(real: Tensor, fake: Tensor, rand: Rand) -> Tensor:
    """x̃ = x + α(x_p − x), x_p = x + 0.5·std(x)·u, u ~ U[0, 1) per value, α ~ U(0, 1) per sample.

    compare_gan v1.0 ``DRAGAN.get_perturbed_batch``: one-sided uniform noise scaled by the whole batch's
    population standard deviation (numpy's ``std``, ddof 0).
    """
    alpha = rand((real.shape[0],) + (1,) * (real.dim() - 1), real)
    perturbed = real + 0.5 * real.std(correction=0) * rand(tuple(real.shape), real)
    return real + alpha * (perturbed - real)


def _real(real: Tensor, fake: Tensor, rand: Rand) -> Tensor:
    return real


def _fake(real: Tensor, fake: Tensor, rand: Rand) -> Tensor:
    return fake


@dataclass(frozen=True)
class GradientPenalty:
    """A penalty on D's input gradient: at each set of ``points``, per sample ‖∇ₓ s(x)‖² (``centred``:
    (√(1e-4 + ‖∇ₓ s(x)‖²) − 1)², the study's two-sided form), averaged over the batch, summed over the sets.
    s is D's score, or its sigmoid when ``on_probability`` (the study's DRAGAN).

    Called as ``penalty(score, real, fake)`` for one run (draws from torch's global generator, which the
    trainer seeds and checkpoints), or :meth:`members` for an ensemble's K members at once: one backward
    pass for all of them, each member's draws from its own generator, so each gets its solo run's value.
    """

    points: tuple[Points, ...] = ()
    centred: bool = False
    on_probability: bool = False

    def __call__(self, score: Score, real: Tensor, fake: Tensor) -> Tensor:
        total = real.new_zeros(())
        for where in self.points:
            total = total + self._per_sample(score, where(real, fake, global_rand), 1).mean()
        return total

    def members(self, score: Score, real: Tensor, fake: Tensor, rands: Sequence[Rand]) -> Tensor:
        """Each member's penalty, shape (K,): ``real``, ``fake`` member-major (K, B, …), ``score`` maps such a
        batch to (K, B) scores, ``rands[k]`` draws from member k's generator."""
        total = real.new_zeros(real.shape[0])
        for where in self.points:
            at = torch.stack([where(r, f, rand) for r, f, rand in zip(real, fake, rands)])
            total = total + self._per_sample(score, at, 2).mean(1)
        return total

    def _per_sample(self, score: Score, points: Tensor, sample_dims_from: int) -> Tensor:
        """The penalty of each sample: its gradient's squared norm, or the centred form of its norm. The
        gradient is differentiable, so the penalty's own gradient reaches D."""
        points = points.detach().requires_grad_(True)
        values = torch.sigmoid(score(points)) if self.on_probability else score(points)
        (grad,) = torch.autograd.grad(values.sum(), points, create_graph=True)
        squared = grad.flatten(sample_dims_from).pow(2).sum(-1)
        return (torch.sqrt(NORM_EPS + squared) - 1).pow(2) if self.centred else squared


no_penalty = GradientPenalty()
wgan_gp = GradientPenalty((_interpolates,), centred=True)
#: The study's DRAGAN: the gradient of σ(D(x̃)), D's probability, not of its logit. compare_gan v1.0
#: ``DRAGAN.build_model`` differentiates ``D_inter``, the first value its ``discriminator`` returns, which is
#: the sigmoid. Since ‖∇σ(D)‖ = σ'(D)‖∇D‖ ≤ ‖∇D‖/4, this is a different regulariser from
#: :data:`dragan_logit` at the same λ. (Revision 2; revision 1 was the logit.)
dragan = GradientPenalty((_dragan_points,), centred=True, on_probability=True)
#: DRAGAN's penalty on the logit, the form of Kodali et al.'s paper and most re-implementations.
dragan_logit = GradientPenalty((_dragan_points,), centred=True)
r1 = GradientPenalty((_real,))
#: E‖∇D(x̂)‖² on generated data, zero-centred: R1's counterpart (Roth et al. 2017; R3GAN).
r2 = GradientPenalty((_fake,))
#: R1 + R2, R3GAN's regulariser: with λ = γ/2 it is R3GAN's γ/2 · (R1 + R2).
r1_r2 = GradientPenalty((_real, _fake))


class LeCam:
    """LeCam regularisation of D (Tseng et al. 2021), as its authors' code computes it.

    Anchors α_R, α_F: exponential moving averages (decay 0.99, zero-debiased as TensorFlow's
    ``assign_moving_average(zero_debias=True)``) of D's mean score on real and on generated data, updated with
    the step's batch before use. R_LC = E[relu(D(x) − α_F)²] + E[relu(α_R − D(x̂))²]: real scores are pulled
    down towards the generated anchor and generated scores up towards the real one, only from the side where
    they have run past it (the paper's equation (3) states it without the relu; google/lecam-gan's
    ``lecamreg`` has it). The trainer adds ``lecam`` × R_LC to D's loss.
    """

    def __init__(self, decay: float):
        self.decay = decay
        self._real, self._fake, self._updates = torch.zeros(()), torch.zeros(()), 0

    def anchors(self) -> tuple[Tensor, Tensor]:
        """(α_R, α_F), debiased; zeros before the first update."""
        if not self._updates:
            return self._real, self._fake
        debias = 1 - self.decay ** self._updates
        return self._real / debias, self._fake / debias

    def update(self, d_real: Tensor, d_fake: Tensor) -> None:
        self._real = self._real.to(d_real.device).lerp(d_real.detach().mean(), 1 - self.decay)
        self._fake = self._fake.to(d_fake.device).lerp(d_fake.detach().mean(), 1 - self.decay)
        self._updates += 1

    def __call__(self, d_real: Tensor, d_fake: Tensor) -> Tensor:
        anchor_real, anchor_fake = self.anchors()
        return (torch.relu(d_real - anchor_fake).pow(2).mean()
                + torch.relu(anchor_real - d_fake).pow(2).mean())

    def state_dict(self) -> dict:
        return {"real": self._real.cpu(), "fake": self._fake.cpu(), "updates": self._updates}

    def load_state_dict(self, state: dict) -> None:
        self._real, self._fake = state["real"].clone(), state["fake"].clone()
        self._updates = int(state["updates"])
