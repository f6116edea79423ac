"""Gradient penalties, their own registry: ``penalty(score, real, fake) -> scalar`` (unweighted).

``score`` maps a batch to D's per-sample scores (B,). The trainer adds ``λ · penalty`` to D's loss,
λ being the ``lambda`` hyperparameter. Randomness comes from torch's global generator, which the
trainer seeds and checkpoints, so runs stay reproducible and resumable.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from ganbench.registry import Registry

Score = Callable[[Tensor], Tensor]
Penalty = Callable[[Score, Tensor, Tensor], Tensor]
PENALTIES: Registry[Penalty] = Registry("penalty")

# compare_gan's norm: sqrt(1e-4 + Σg²) keeps the gradient of the norm finite at g = 0.
NORM_EPS = 1e-4


def _grad_norm(score: Score, points: Tensor) -> Tensor:
    points = points.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(score(points).sum(), points, create_graph=True)
    return torch.sqrt(NORM_EPS + grad.flatten(1).pow(2).sum(1))


def _per_sample_uniform(x: Tensor) -> Tensor:
    return torch.rand((x.shape[0],) + (1,) * (x.dim() - 1), device=x.device, dtype=x.dtype)


@PENALTIES.register("none", description="No penalty.")
def no_penalty(score: Score, real: Tensor, fake: Tensor) -> Tensor:
    return real.new_zeros(())


@PENALTIES.register("wgan_gp", aliases=("gp",),
                    description="E(‖∇D(x̃)‖ − 1)², x̃ = αx + (1 − α)x̂, α ~ U(0,1) per sample (Gulrajani et al.).")
def wgan_gp(score: Score, real: Tensor, fake: Tensor) -> Tensor:
    alpha = _per_sample_uniform(real)
    return (_grad_norm(score, alpha * real + (1 - alpha) * fake.detach()) - 1).pow(2).mean()


@PENALTIES.register("dragan",
                    description="E(‖∇D(x̃)‖ − 1)², x̃ = x + α·0.5·std(x)·u near real data (Kodali et al.).")
def dragan(score: Score, real: Tensor, fake: Tensor) -> Tensor:
    alpha = _per_sample_uniform(real)
    perturbed = real + 0.5 * real.std() * torch.rand_like(real)
    return (_grad_norm(score, real + alpha * (perturbed - real)) - 1).pow(2).mean()


@PENALTIES.register("r1", description="E‖∇D(x)‖² on real data, zero-centred (Mescheder et al.); λ = γ/2.")
def r1(score: Score, real: Tensor, fake: Tensor) -> Tensor:
    points = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(score(points).sum(), points, create_graph=True)
    return grad.flatten(1).pow(2).sum(1).mean()
