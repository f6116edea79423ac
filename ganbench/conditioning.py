"""Conditioning: how a GAN is told what to generate, orthogonal to its loss and its architecture.

Each entry of the CONDITIONINGS registry (declared in :mod:`ganbench.catalog`) builds G and D from any
architecture's builders and says where labels or codes enter:

- **G takes one tensor, the latent**: z, then the one-hot label (cgan, acgan, projection) or InfoGAN's
  code (one-hot categorical part, then the continuous part). So EMA, the evaluator, the sample grids and
  the latent searches of polygon recall treat every G alike, and a CGAN's "embedding of y concatenated to
  z" is G's first layer applied to the one-hot columns (a linear map of a one-hot vector is an embedding).
- **D is scored by** :meth:`Conditioning.score` ``(D, x, y) → (scores, aux)``: the per-sample logits the
  loss sees and the auxiliary outputs (AC-GAN's class logits, InfoGAN's Q head) or None.
- **Extra terms**: :meth:`Conditioning.d_extra` and :meth:`Conditioning.g_extra` return what the
  conditioning adds to D's and G's losses (None when nothing), so a loss never knows about labels.

In training, the fakes of a step take the labels of the step's real batch: they follow the data's label
distribution, and a penalty's interpolates between x and x̂ share one label. In evaluation, labels are drawn
from the train split's label frequencies with the evaluation's own generator (recorded in the protocol as
``label_sampling``); InfoGAN's codes from their prior (uniform categorical, U(−1, 1) continuous).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganbench.catalog import CONDITIONINGS
from ganbench.data.base import Dataset
from ganbench.errors import GanbenchError
from ganbench.nets.base import Architecture, NetConfig
from ganbench.nets.layers import has_spectral_norm

__all__ = ["CONDITIONINGS", "Conditioning", "LatentSampler", "build_conditioning", "discriminator_score"]

Prior = Callable[..., Tensor]  # (n, generator=None) -> (n, z_dim)


def discriminator_score(D: Callable[[Tensor], Tensor], x: Tensor, d_output: str) -> Tensor:
    """Per-sample scores: D's logit, or an autoencoder D's L1 reconstruction error (BEGAN)."""
    if d_output == "reconstruction":
        return (x - D(x)).abs().flatten(1).mean(1)
    return D(x).reshape(-1)


class Conditioning:
    """Unconditional (the ``none`` entry): G(z), D(x); every hook is the identity or nothing."""

    name = "none"
    uses_labels = False  # whether training needs the real batch's labels
    extra_latent = 0  # latent columns after z
    label_sampling: str | None = None  # how evaluation draws what G is asked for (recorded in the protocol)

    def __init__(self, dataset: Dataset, hparams: Mapping[str, Any], metrics: tuple[str, ...] = ()):
        self.info, self.hp = dataset.info, hparams

    # --- networks
    def networks(self, arch: Architecture, cfg: NetConfig) -> tuple[nn.Module, nn.Module]:
        return arch.generator(self.info, cfg), arch.discriminator(self.info, cfg, 1)

    # --- latents
    def train_latent(self, z: Tensor, y: Tensor | None) -> Tensor:
        """The latent of a training step's fakes, given the real batch's labels ``y``."""
        return z

    def eval_latent(self, z: Tensor, generator: torch.Generator | None) -> Tensor:
        """The latent of evaluation samples, what G is asked for drawn from ``generator``."""
        return z

    def labels(self, latent: Tensor) -> Tensor | None:
        """The class labels G was given in ``latent`` (None: G takes none)."""
        return None

    def codes(self, latent: Tensor) -> Tensor | None:
        """InfoGAN's categorical code in ``latent`` (None: there is none)."""
        return None

    def grid_latent(self, z: Tensor) -> Tensor | None:
        """Latents for a grid whose rows are the classes (InfoGAN: its latent traversals) and columns the rows
        of ``z``, the same z down a column; None when G takes no labels or codes."""
        return None

    # --- D's outputs and the extra loss terms
    def score(self, D: Callable[..., Any], x: Tensor, y: Tensor | None, d_output: str) -> tuple[Tensor, Tensor | None]:
        return discriminator_score(D, x, d_output), None

    def d_extra(self, aux_real: Tensor | None, aux_fake: Tensor | None, y: Tensor | None,
                latent: Tensor) -> Tensor | None:
        return None

    def g_extra(self, aux_fake: Tensor | None, latent: Tensor) -> Tensor | None:
        return None


Unconditional = Conditioning


class _Labelled(Conditioning):
    """What the label-conditioned entries share: K classes, one-hot labels after z, label sampling."""

    label_sampling = "train label frequencies"
    uses_labels = True

    def __init__(self, dataset: Dataset, hparams: Mapping[str, Any], metrics: tuple[str, ...] = ()):
        super().__init__(dataset, hparams)
        train = dataset.split("train")
        k = int(self.info.num_classes or 0)
        if k < 2 or train.labels is None:
            raise GanbenchError(f"conditioning '{self.name}' feeds G and D class labels, and dataset "
                                f"'{self.info.name}' has none (num_classes={self.info.num_classes}); use "
                                "'infogan' (no labels) or a labelled dataset")
        self.classes = k
        counts = torch.bincount(train.labels.to(torch.long), minlength=k).to(torch.float64)
        self.frequencies = counts / counts.sum()
        self.extra_latent = k

    def _one_hot(self, y: Tensor, like: Tensor) -> Tensor:
        return F.one_hot(y.to(device=like.device, dtype=torch.long), self.classes).to(like.dtype)

    def train_latent(self, z: Tensor, y: Tensor | None) -> Tensor:
        if y is None:
            raise GanbenchError(f"conditioning '{self.name}' needs the labels of every real batch")
        return torch.cat([z, self._one_hot(y, z)], dim=1)

    def eval_latent(self, z: Tensor, generator: torch.Generator | None) -> Tensor:
        y = torch.multinomial(self.frequencies.to(torch.float32).to(z.device), len(z), replacement=True,
                              generator=generator)
        return torch.cat([z, self._one_hot(y, z)], dim=1)

    def labels(self, latent: Tensor) -> Tensor:
        return latent[:, -self.classes:].argmax(dim=1)

    def grid_latent(self, z: Tensor) -> Tensor:
        y = torch.arange(self.classes, device=z.device).repeat_interleave(len(z))
        return torch.cat([z.repeat(self.classes, 1), self._one_hot(y, z)], dim=1)

    def _wider_g(self, arch: Architecture, cfg: NetConfig) -> nn.Module:
        """The architecture's G on z and the one-hot label (its first layer embeds the label)."""
        return arch.generator(self.info, dataclasses.replace(cfg, z_dim=cfg.z_dim + self.classes))


class ConcatConditioning(_Labelled):
    """CGAN: y concatenated to z, and to D's input (to a vector, or as K constant label maps on an image)."""

    name = "cgan"

    def networks(self, arch: Architecture, cfg: NetConfig) -> tuple[nn.Module, nn.Module]:
        shape = self.info.shape
        wider = (shape[0] + self.classes, *shape[1:])
        d_info = dataclasses.replace(self.info, shape=wider)
        return self._wider_g(arch, cfg), LabelInputD(arch.discriminator(d_info, cfg, 1), self.classes)

    def score(self, D, x, y, d_output):
        return D(x, y).reshape(-1), None


class LabelInputD(nn.Module):
    """D on (x, y): the one-hot label appended to a vector, or broadcast to K maps appended to an image's channels."""

    def __init__(self, trunk: nn.Module, classes: int):
        super().__init__()
        self.trunk, self.classes = trunk, classes

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        onehot = F.one_hot(y.to(device=x.device, dtype=torch.long), self.classes).to(x.dtype)
        if x.dim() > 2:
            onehot = onehot[:, :, None, None].expand(-1, -1, *x.shape[2:])
        return self.trunk(torch.cat([x, onehot], dim=1))


class AuxiliaryClassifier(_Labelled):
    """AC-GAN: y concatenated to z; D's trunk has 1 + K outputs, the logit and the class logits.

    Odena et al.: D maximises L_S + L_C, G maximises L_C − L_S, so D adds the classifier's cross-entropy on
    real and on generated samples and G on its generated ones, each weighted by ``aux_weight``.
    """

    name = "acgan"

    def networks(self, arch: Architecture, cfg: NetConfig) -> tuple[nn.Module, nn.Module]:
        return self._wider_g(arch, cfg), arch.discriminator(self.info, cfg, 1 + self.classes)

    def score(self, D, x, y, d_output):
        out = D(x)
        return out[:, 0], out[:, 1:]

    def d_extra(self, aux_real, aux_fake, y, latent):
        return self.hp["aux_weight"] * (F.cross_entropy(aux_real, y.to(aux_real.device, torch.long))
                                        + F.cross_entropy(aux_fake, self.labels(latent)))

    def g_extra(self, aux_fake, latent):
        return self.hp["aux_weight"] * F.cross_entropy(aux_fake, self.labels(latent))


class Projection(_Labelled):
    """Projection D with conditional batch norm in G (Miyato & Koyama 2018; SNGAN's and BigGAN's conditioning).

    D(x, y) = ψ(φ(x)) + ⟨E y, φ(x)⟩, φ(x) being the input of the architecture's last linear layer ψ (read by
    a forward pre-hook, so every architecture works), E a class embedding (spectrally normalised when D is).
    G takes z alone; each of its batch norms is followed by a per-class scale and shift (initialised to the
    identity), so G's classes differ through its normalisation, not through its input.
    """

    name = "projection"

    def networks(self, arch: Architecture, cfg: NetConfig) -> tuple[nn.Module, nn.Module]:
        G = ConditionalBNGenerator(arch.generator(self.info, cfg), self.classes, cfg.z_dim)
        return G, ProjectionD(arch.discriminator(self.info, cfg, 1), self.classes)

    def score(self, D, x, y, d_output):
        return D(x, y), None


_BATCH_NORMS = (nn.modules.batchnorm._BatchNorm,)


class ClassAffine(nn.Module):
    """A batch-norm layer followed by a per-class scale and shift: γ_y ⊙ BN(x) + β_y."""

    def __init__(self, norm: nn.Module, classes: int):
        super().__init__()
        features = norm.num_features
        self.norm = norm
        self.scale = nn.Embedding(classes, features)
        self.shift = nn.Embedding(classes, features)
        nn.init.ones_(self.scale.weight)
        nn.init.zeros_(self.shift.weight)
        self.labels: Tensor | None = None  # set by ConditionalBNGenerator before every forward

    def forward(self, x: Tensor) -> Tensor:
        if self.labels is None:
            raise RuntimeError("conditional batch norm called without labels")
        shape = (len(x), -1) + (1,) * (x.dim() - 2)
        return self.scale(self.labels).view(shape) * self.norm(x) + self.shift(self.labels).view(shape)


class ConditionalBNGenerator(nn.Module):
    """An architecture's G whose batch norms became :class:`ClassAffine`; takes (z, one-hot y) as one latent."""

    def __init__(self, net: nn.Module, classes: int, z_dim: int):
        super().__init__()
        self.classes, self.z_dim = classes, z_dim
        replaced = 0
        for parent in list(net.modules()):
            for child_name, child in list(parent.named_children()):
                if isinstance(child, _BATCH_NORMS):
                    setattr(parent, child_name, ClassAffine(child, classes))
                    replaced += 1
        if not replaced:
            raise GanbenchError("conditioning 'projection' conditions G through its batch norms, and this G has "
                                "none; set hparams.g_norm: batch, or use 'cgan' with a G that has no batch norm "
                                "(stylegan2)")
        self.net = net
        # a plain list, not registered: copies (EMA, evaluation) map it onto their own modules
        self._norms = [module for module in net.modules() if isinstance(module, ClassAffine)]

    def forward(self, latent: Tensor) -> Tensor:
        labels = latent[:, self.z_dim:].argmax(dim=1)
        for module in self._norms:
            module.labels = labels
        try:
            return self.net(latent[:, :self.z_dim])
        finally:
            for module in self._norms:
                module.labels = None


class ProjectionD(nn.Module):
    """ψ(φ(x)) + ⟨E y, φ(x)⟩ around an architecture's critic, φ captured at its last linear layer's input."""

    def __init__(self, trunk: nn.Module, classes: int):
        super().__init__()
        linears = [m for m in trunk.modules() if isinstance(m, nn.Linear)]
        if not linears or linears[-1].out_features != 1:
            raise GanbenchError("conditioning 'projection' needs a D that ends in a linear layer to one logit")
        self.trunk = trunk
        self.embed = nn.Embedding(classes, linears[-1].in_features)
        nn.init.xavier_uniform_(self.embed.weight)
        if has_spectral_norm(trunk):
            nn.utils.spectral_norm(self.embed)
        self._features: list[Tensor] = []
        linears[-1].register_forward_pre_hook(self._capture)

    def _capture(self, module: nn.Module, inputs: tuple[Tensor, ...]) -> None:
        self._features.append(inputs[0])

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        self._features.clear()
        logit = self.trunk(x).reshape(-1)
        phi = self._features.pop()
        return logit + (self.embed(y.to(device=x.device, dtype=torch.long)) * phi).sum(dim=1)


class InfoGan(Conditioning):
    """InfoGAN: G(z, c), c = a one-hot categorical code of ``info_cat`` values and ``info_cont`` U(−1, 1) codes;
    a Q head on D's trunk (its outputs after the logit) predicts c.

    G and Q add ``info_weight`` × (the mutual-information lower bound's negative): the categorical code's
    cross-entropy plus, for the continuous codes, the Gaussian negative log-likelihood at unit variance
    (½‖c − μ‖² up to a constant; the InfoGAN code's default ``fix_std``). D's step trains Q on its fakes with
    D's optimiser (Q shares D's trunk); G's step adds the same term for G.
    """

    name = "infogan"
    label_sampling = "uniform categorical code, U(−1, 1) continuous codes"

    def __init__(self, dataset: Dataset, hparams: Mapping[str, Any], metrics: tuple[str, ...] = ()):
        super().__init__(dataset, hparams)
        self.cat, self.cont = int(hparams["info_cat"]), int(hparams["info_cont"])
        if self.cat == 1 or self.cat + self.cont == 0:
            raise GanbenchError(f"conditioning 'infogan' needs a code: hparams.info_cat is {self.cat} and "
                                f"hparams.info_cont {self.cont}; set info_cat ≥ 2 (e.g. the number of classes) "
                                "or info_cont ≥ 1")
        classes = self.info.num_classes
        if "code_fidelity" in metrics and (not self.cat or not classes or self.cat > classes):
            have = f"{classes} classes" if classes else "no class labels"
            raise GanbenchError(f"metric 'code_fidelity' matches InfoGAN's categorical code to the classes one to "
                                f"one, and hparams.info_cat is {self.cat} while dataset '{self.info.name}' has "
                                f"{have}; set info_cat to 2..{classes or 'the number of classes'} or drop "
                                "code_fidelity from evaluation.metrics")
        self.extra_latent = self.cat + self.cont

    def networks(self, arch: Architecture, cfg: NetConfig) -> tuple[nn.Module, nn.Module]:
        G = arch.generator(self.info, dataclasses.replace(cfg, z_dim=cfg.z_dim + self.extra_latent))
        return G, arch.discriminator(self.info, cfg, 1 + self.cat + self.cont)

    def _code(self, n: int, like: Tensor, generator: torch.Generator | None) -> Tensor:
        parts = []
        if self.cat:
            c = torch.randint(self.cat, (n,), device=like.device, generator=generator)
            parts.append(F.one_hot(c, self.cat).to(like.dtype))
        if self.cont:
            parts.append(torch.rand(n, self.cont, device=like.device, generator=generator, dtype=like.dtype) * 2 - 1)
        return torch.cat(parts, dim=1)

    def train_latent(self, z, y):
        return torch.cat([z, self._code(len(z), z, None)], dim=1)

    def eval_latent(self, z, generator):
        return torch.cat([z, self._code(len(z), z, generator)], dim=1)

    def codes(self, latent):
        if not self.cat:
            return None
        start = latent.shape[1] - self.extra_latent
        return latent[:, start:start + self.cat].argmax(dim=1)

    def grid_latent(self, z):
        """The latent traversals: one row per value of the categorical code, the rows of z across (the
        continuous codes at 0); then one row per continuous code, swept from −1 to 1 across, z and the
        categorical code held at z's first row and value 0."""
        columns = len(z)
        blocks = []
        if self.cat:
            c = torch.arange(self.cat, device=z.device).repeat_interleave(columns)
            cont = torch.zeros(len(c), self.cont, device=z.device, dtype=z.dtype)
            blocks.append(torch.cat([z.repeat(self.cat, 1), F.one_hot(c, self.cat).to(z.dtype), cont], dim=1))
        for j in range(self.cont):
            cont = torch.zeros(columns, self.cont, device=z.device, dtype=z.dtype)
            cont[:, j] = torch.linspace(-1, 1, columns, device=z.device, dtype=z.dtype)
            cat = torch.zeros(columns, self.cat, device=z.device, dtype=z.dtype)
            if self.cat:
                cat[:, 0] = 1
            blocks.append(torch.cat([z[:1].repeat(columns, 1), cat, cont], dim=1))
        return torch.cat(blocks)

    def score(self, D, x, y, d_output):
        out = D(x)
        return out[:, 0], out[:, 1:]

    def _information_loss(self, q: Tensor, latent: Tensor) -> Tensor:
        start = latent.shape[1] - self.extra_latent
        loss = q.new_zeros(())
        if self.cat:
            loss = loss + F.cross_entropy(q[:, :self.cat], latent[:, start:start + self.cat].argmax(dim=1))
        if self.cont:
            loss = loss + 0.5 * (q[:, self.cat:] - latent[:, start + self.cat:]).pow(2).sum(dim=1).mean()
        return self.hp["info_weight"] * loss

    def d_extra(self, aux_real, aux_fake, y, latent):
        return self._information_loss(aux_fake, latent)

    def g_extra(self, aux_fake, latent):
        return self._information_loss(aux_fake, latent)


def build_conditioning(name: str, dataset: Dataset, hparams: Mapping[str, Any],
                       metrics: tuple[str, ...] = ()) -> Conditioning:
    """The registered conditioning ``name`` for ``dataset`` and the run's ``metrics``: an unlabelled dataset
    refuses label conditioning, and a code that cannot be matched to the classes refuses code_fidelity."""
    return CONDITIONINGS.get(name)(dataset, hparams, metrics)


class LatentSampler:
    """n ↦ evaluation latents: z from the prior, then what the conditioning asks G for, from one generator.

    Called as the prior was (``sample(n, generator=g)``); ``labels``/``codes`` read a latent back, and
    ``label_sampling`` says how they were drawn. Unconditional: exactly the prior.
    """

    def __init__(self, prior: Prior, conditioning: Conditioning):
        self.prior, self.conditioning = prior, conditioning
        self.label_sampling = conditioning.label_sampling

    def __call__(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return self.conditioning.eval_latent(self.prior(n, generator=generator), generator)

    def labels(self, latent: Tensor) -> Tensor | None:
        return self.conditioning.labels(latent)

    def codes(self, latent: Tensor) -> Tensor | None:
        return self.conditioning.codes(latent)

    def grid_latent(self, n_columns: int, generator: torch.Generator | None = None) -> Tensor | None:
        return self.conditioning.grid_latent(self.prior(n_columns, generator=generator))
