"""GAN losses: one registry, one signature, no knowledge of architectures.

A loss is built by :func:`build_loss` (its own parameters from the hyperparameters, defaults from its
declaration in :mod:`ganbench.catalog` — stated there only) and called as ``loss(d_real, d_fake) ->
(d_loss, g_loss)``, where ``d_real``/``d_fake`` are the discriminator's per-sample scores (B,) on
real and generated batches. The trainer back-propagates ``d_loss`` into D and ``g_loss`` into G.
Hooks let the few stateful losses act: after each D update WGAN clips D's weights
(``constrain``); at the end of each training step, after the G update, BEGAN updates its
equilibrium term k_t from the step's batch scored again (``after_step``, asked for by
``rescores_after_step``). The class attribute ``d_output`` says what the score is ("logit", or for
BEGAN the per-sample L1 "reconstruction" error of an autoencoder D); the catalog's metadata gives
``params``, the loss's own hyperparameters with defaults, and ``default_penalty``, the penalty the
model uses unless told otherwise.
Formulas follow ../shared/reference/lucic2018.md (and compare_gan's ``loss_lib``).
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganbench.catalog import LOSSES


class GanLoss:
    """Base: stateless loss terms; subclasses override ``terms`` and, if needed, the hooks."""

    d_output = "logit"
    #: whether the trainer must score the step's real and generated batch again after the G update
    #: and hand the scores to :meth:`after_step` (costs a forward pass of D on both)
    rescores_after_step = False
    #: whether G's update draws fresh latents instead of reusing the D step's (compare_gan v1.0
    #: ``resample_before_generator``: True for WGAN-GP only)
    resamples_latents_for_g = False
    #: whether G's loss reads D's scores on the step's real batch: the trainer then scores it again with the
    #: D that scores the fakes (after the D update), without gradient (relativistic losses)
    g_uses_real_scores = False

    def __call__(self, d_real: Tensor, d_fake: Tensor) -> tuple[Tensor, Tensor]:
        return self.terms(d_real, d_fake)

    def terms(self, d_real: Tensor, d_fake: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def constrain(self, parameter: Tensor) -> Tensor:
        """A D parameter as this loss allows it after an update (identity unless overridden).

        Functional, so an unrolled look-ahead copy of D obeys the same rule as D itself.
        """
        return parameter

    def after_d_step(self, discriminator: nn.Module) -> None:
        """Called after each D update: applies :meth:`constrain` to D's parameters in place."""
        if type(self).constrain is GanLoss.constrain:
            return
        with torch.no_grad():
            for p in discriminator.parameters():
                p.copy_(self.constrain(p))

    def after_step(self, d_real: Tensor, d_fake: Tensor) -> dict[str, float]:
        """Called at the end of every training step (after the G update, when there was one) with
        the step's batch scored again, when :attr:`rescores_after_step`; returns values to log."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


class Minimax(GanLoss):
    def terms(self, d_real, d_fake):
        d_loss = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
        g_loss = -F.softplus(d_fake).mean()  # log(1 − σ(f)) = −softplus(f)
        return d_loss, g_loss


class NonSaturating(GanLoss):
    def terms(self, d_real, d_fake):
        d_loss = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
        return d_loss, F.softplus(-d_fake).mean()


class Wasserstein(GanLoss):
    def terms(self, d_real, d_fake):
        return d_fake.mean() - d_real.mean(), -d_fake.mean()


class WassersteinClipped(Wasserstein):
    def __init__(self, clip: float):
        self.clip = float(clip)

    def constrain(self, parameter):
        return parameter.clamp(-self.clip, self.clip)


class WassersteinGP(Wasserstein):
    resamples_latents_for_g = True  # v1.0 WGAN_GP.resample_before_generator


class LeastSquares(GanLoss):
    def terms(self, d_real, d_fake):
        p_real, p_fake = torch.sigmoid(d_real), torch.sigmoid(d_fake)
        d_loss = 0.5 * (p_real - 1).pow(2).mean() + 0.5 * p_fake.pow(2).mean()
        return d_loss, 0.5 * (p_fake - 1).pow(2).mean()


class Dragan(NonSaturating):
    pass


class Hinge(GanLoss):
    def terms(self, d_real, d_fake):
        return F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean(), -d_fake.mean()


class RelativisticPairing(GanLoss):
    """RpGAN (Jolicoeur-Martineau 2019; the loss of R3GAN, Huang et al. 2024): each real sample is paired with
    a generated one, D minimises softplus(−(D(x) − D(x̂))) and G the mirror, softplus(−(D(x̂) − D(x)))."""

    g_uses_real_scores = True

    def terms(self, d_real, d_fake):
        return F.softplus(d_fake - d_real).mean(), F.softplus(d_real - d_fake).mean()


class RelativisticAverage(GanLoss):
    """RaGAN (Jolicoeur-Martineau 2019, RaSGAN): each score relative to the other side's mean. D minimises
    softplus(−(D(x) − E D(x̂))) + softplus(D(x̂) − E D(x)); G the same with real and generated swapped."""

    g_uses_real_scores = True

    def terms(self, d_real, d_fake):
        real_rel, fake_rel = d_real - d_fake.mean(), d_fake - d_real.mean()
        d_loss = F.softplus(-real_rel).mean() + F.softplus(fake_rel).mean()
        g_loss = F.softplus(-fake_rel).mean() + F.softplus(real_rel).mean()
        return d_loss, g_loss


class Began(GanLoss):
    """Scores are per-sample L1 reconstruction errors L(v) = mean|v − AE(v)|.

    As the study ran it (compare_gan v1.0 ``BEGAN.update_k``, an ``after_training_step_hook``): at
    the end of every step, after the G update, k ← k + λ_k(γ·L(x) − L(G(z))) on that step's batch
    scored again by the updated networks, and **not clipped**, so with γ near 0 k goes negative.
    ``clip_k`` keeps the BEGAN paper's clip to [0, 1]. (Revision 2; revision 1 clipped and updated
    from the scores before the D update.)
    """

    d_output = "reconstruction"
    rescores_after_step = True

    def __init__(self, gamma: float, lambda_k: float, clip_k: bool):
        self.gamma, self.lambda_k, self.clip_k, self.k = float(gamma), float(lambda_k), bool(clip_k), 0.0

    def terms(self, d_real, d_fake):
        return d_real.mean() - self.k * d_fake.mean(), d_fake.mean()

    def after_step(self, d_real, d_fake):
        real, fake = float(d_real.mean()), float(d_fake.mean())
        self.k += self.lambda_k * (self.gamma * real - fake)
        if self.clip_k:
            self.k = min(max(self.k, 0.0), 1.0)
        return {"k": self.k, "convergence": real + abs(self.gamma * real - fake)}

    def state_dict(self):
        return {"k": self.k}

    def load_state_dict(self, state):
        self.k = float(state["k"])


def build_loss(name: str, hparams: dict[str, Any]) -> GanLoss:
    """The loss ``name`` with its own parameters taken from ``hparams`` (others ignored by design)."""
    entry = LOSSES.entry(name)
    own = {key: hparams.get(key, default) for key, default in entry.metadata["params"].items()}
    return entry.obj(**own)
