"""Gradient penalties, their own registry: ``penalty(score, real, fake) -> scalar`` (unweighted).

``score`` maps a batch to D's per-sample scores (B,). The trainer adds ``λ · penalty`` to D's loss,
λ being the ``lambda`` hyperparameter. Randomness comes from torch's global generator, which the
trainer seeds and checkpoints, so runs stay reproducible and resumable.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from ganbench.catalog import PENALTIES  # noqa: F401  (declared there; re-exported for the trainer)

Score = Callable[[Tensor], Tensor]
Penalty = Callable[[Score, Tensor, Tensor], Tensor]

# compare_gan's norm: sqrt(1e-4 + Σg²) keeps the gradient of the norm finite at g = 0.
NORM_EPS = 1e-4


def _squared_input_grad(score: Score, points: Tensor) -> Tensor:
    """Per sample ‖∇ₓ score(x)‖² at ``points``, differentiable (the penalty's own gradient reaches D)."""
    points = points.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(score(points).sum(), points, create_graph=True)
    return grad.flatten(1).pow(2).sum(1)


def _grad_norm(score: Score, points: Tensor) -> Tensor:
    return torch.sqrt(NORM_EPS + _squared_input_grad(score, points))


def _per_sample_uniform(x: Tensor) -> Tensor:
    return torch.rand((x.shape[0],) + (1,) * (x.dim() - 1), device=x.device, dtype=x.dtype)


def no_penalty(score: Score, real: Tensor, fake: Tensor) -> Tensor:
    return real.new_zeros(())


def wgan_gp(score: Score, real: Tensor, fake: Tensor) -> Tensor:
    alpha = _per_sample_uniform(real)
    return (_grad_norm(score, alpha * real + (1 - alpha) * fake.detach()) - 1).pow(2).mean()


def _dragan_points(real: Tensor) -> Tensor:
    """x̃ = x + α(x_p − x), x_p = x + 0.5·std(x)·u, u ~ U[0, 1) per value, α ~ U(0, 1) per sample.

    compare_gan v1.0 ``DRAGAN.get_perturbed_batch``: one-sided uniform noise scaled by the whole batch's
    population standard deviation (numpy's ``std``, ddof 0).
    """
    alpha = _per_sample_uniform(real)
    perturbed = real + 0.5 * real.std(correction=0) * torch.rand_like(real)
    return real + alpha * (perturbed - real)


def dragan(score: Score, real: Tensor, fake: Tensor) -> Tensor:
    """The study's DRAGAN: the gradient of σ(D(x̃)), D's probability, not of its logit.

    compare_gan v1.0 ``DRAGAN.build_model`` differentiates ``D_inter``, the first value its
    ``discriminator`` returns, which is the sigmoid. Since ‖∇σ(D)‖ = σ'(D)‖∇D‖ ≤ ‖∇D‖/4, this is a
    different regulariser from :func:`dragan_logit` at the same λ. (Revision 2; revision 1 was the logit.)
    """
    return (_grad_norm(lambda v: torch.sigmoid(score(v)), _dragan_points(real)) - 1).pow(2).mean()


def dragan_logit(score: Score, real: Tensor, fake: Tensor) -> Tensor:
    """DRAGAN's penalty on the logit, the form of Kodali et al.'s paper and most re-implementations."""
    return (_grad_norm(score, _dragan_points(real)) - 1).pow(2).mean()


def _squared_grad_norm(score: Score, points: Tensor) -> Tensor:
    return _squared_input_grad(score, points).mean()


def r1(score: Score, real: Tensor, fake: Tensor) -> Tensor:
    return _squared_grad_norm(score, real)


def r2(score: Score, real: Tensor, fake: Tensor) -> Tensor:
    """E‖∇D(x̂)‖² on generated data, zero-centred: R1's counterpart (Roth et al. 2017; R3GAN)."""
    return _squared_grad_norm(score, fake)


def r1_r2(score: Score, real: Tensor, fake: Tensor) -> Tensor:
    """R1 + R2, R3GAN's regulariser: with λ = γ/2 it is R3GAN's γ/2 · (R1 + R2)."""
    return _squared_grad_norm(score, real) + _squared_grad_norm(score, fake)


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
