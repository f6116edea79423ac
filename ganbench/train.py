"""One training run, read top to bottom: build → (resume) → loop of named steps → evaluate/checkpoint.

One *step* is one D update (the study's convention). As compare_gan v1.0's ``run_single_train_step``
ran it, each step draws one latent batch z and one real batch x; D is updated on (x, G(z)); G is
updated on the same z (fresh latents for WGAN-GP, as v1.0's ``resample_before_generator``) on the
steps where :func:`generator_turn` says so (D steps 1, 2, 2 + n_disc, 2 + 2·n_disc, …); then a loss that keeps state from the step's outcome (BEGAN's k) scores the batch
again and updates it. The VAE baseline takes one ELBO step instead.

Modern recipes ride on the same steps: an augmentation (:mod:`ganbench.augment`) transforms everything D
sees and, for ADA, is told D's real scores after each D update; LeCam's regulariser and a lazy (every k-th
step, × k) penalty add to D's loss; schedulable hyperparameters (lr, β1, β2, λ, EMA; :mod:`ganbench.schedules`)
are set at the start of each step.

A conditioning (:mod:`ganbench.conditioning`) puts the real batch's labels (or InfoGAN's codes) into the
step's latent, scores D through its own ``score`` and adds its terms to both losses; unconditional runs take
exactly the steps above.

Everything random flows from torch's global generator (seeded from the run's seed) and the data
sampler's own generator; both are checkpointed with the networks, optimizers, EMA and the loss's state,
so a run resumed from a checkpoint ends bit-identical to an uninterrupted one on CPU. Evaluation draws
from its own generator and a frozen copy of G, and the global generators are restored after it (a G with noise
inputs draws from them), so evaluating never perturbs training.
"""
from __future__ import annotations

import contextlib
import copy
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganbench.augment import Augmentation
from ganbench.catalog import AUGMENTATIONS
from ganbench.conditioning import Conditioning, LatentSampler, build_conditioning, discriminator_score
from ganbench.data.base import BatchSampler, Dataset
from ganbench.errors import GanbenchError
from ganbench.flops import StepFlopCounter
from ganbench.hparams import value as hp_value
from ganbench.losses import GanLoss, build_loss
from ganbench.nets import AutoencoderD, NetConfig, architecture_for
from ganbench.penalties import PENALTIES, LeCam, Penalty
from ganbench.schedules import ends, is_schedule, value_at
from ganbench.specs import RunSpec
from ganbench.unroll import unrolled_critic

if TYPE_CHECKING:
    from ganbench.evaluate import Evaluation

DIVERGENCE_CHECK_EVERY = 50  # steps between non-finite checks (each check syncs the device once)
BEGAN_CODE_DIM = 64  # the study's BEGAN autoencoder code size (BEGAN.py: d_fc6, 64 units)
VAE_MIN_STD = 1e-6  # VAE.encoder: σ = 1e-6 + softplus(·)
VAE_PROB_CLIP = 1e-8  # VAE.build_model: the decoder's output clipped to [1e-8, 1 − 1e-8]
VAE_LOG_EPS = 1e-8  # VAE.build_model: the KL's log(1e-8 + σ²)

Evaluate = Callable[[nn.Module, Callable[..., Tensor], int], "Evaluation"]  # an Evaluator


@dataclass
class Checkpointing:
    """Where checkpoints go: the store in real runs, a dict in tests."""

    save: Callable[[dict[str, Any]], None]
    load: Callable[[], "dict[str, Any] | None"]
    on_history: Callable[[list[dict[str, Any]]], None] = lambda history: None


@dataclass
class Outcome:
    status: str  # "done" or "diverged"
    history: list[dict[str, Any]]
    generator: nn.Module  # the network evaluated (the EMA copy when EMA is on)
    sample_latent: Callable[..., Tensor]
    compute: dict[str, Any]
    discriminator: nn.Module | None = None  # D (the encoder, for the VAE)
    diverged_at: int | None = None
    diverged_what: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    samples: Tensor | None = None  # the samples of the last evaluation, when one ran


def latent_sampler(kind: str, z_dim: int, device: torch.device) -> Callable[..., Tensor]:
    """n ↦ (n, z_dim) latents from the prior; pass ``generator=`` for draws that leave the global RNG alone."""

    def sample(n: int, generator: torch.Generator | None = None) -> Tensor:
        if kind == "normal":
            return torch.randn(n, z_dim, device=device, generator=generator)
        return torch.rand(n, z_dim, device=device, generator=generator) * 2 - 1

    return sample


def build_networks(spec: RunSpec, dataset: Dataset, loss: GanLoss | None,
                   conditioning: Conditioning | None = None) -> tuple[nn.Module, nn.Module]:
    """(G, D) for a GAN; (decoder, encoder) for the VAE, the encoder being a D trunk with 2·z_dim outputs.

    An architecture's own VAE decoder and BEGAN autoencoder are used where it defines them (the study's
    InfoGAN-style net does); otherwise the generator decodes and :class:`AutoencoderD` is BEGAN's D. A GAN's
    conditioning (:mod:`ganbench.conditioning`, built here unless given) shapes its G and D.
    """
    hp = spec.hparams
    info = dataset.info
    arch = architecture_for(spec.model.arch, info)
    cfg = NetConfig(z_dim=hp["z_dim"], width=hp["width"], d_norm=hp["d_norm"], g_norm=hp["g_norm"])
    if spec.model.kind == "vae":
        decoder = (arch.decoder or arch.generator)(info, cfg)
        return decoder, arch.discriminator(info, cfg, 2 * cfg.z_dim)
    if loss is not None and loss.d_output == "reconstruction":
        autoencoder = arch.autoencoder(info, cfg, BEGAN_CODE_DIM) if arch.autoencoder else \
            AutoencoderD(arch, info, cfg, BEGAN_CODE_DIM)
        return arch.generator(info, cfg), autoencoder
    if conditioning is None:
        conditioning = build_conditioning(spec.model.conditioning, dataset, hp, spec.evaluation.metrics)
    return conditioning.networks(arch, cfg)


def generator_turn(step: int, n_disc: int) -> bool:
    """Whether G is updated at (1-based) D step ``step``: steps 1, 2, 2 + n_disc, 2 + 2·n_disc, …

    compare_gan v1.0 updates G when ``(counter − 1) % disc_iters == 0`` for its 0-based counter, and
    on the very first step (``g_loss is None``). Over a run that is one more G update than
    ``steps // n_disc``; with n_disc = 1, every step.
    """
    return step == 1 or (step - 2) % n_disc == 0


# ---- one run's state, built from its seed ---------------------------------------------------------

@dataclass
class TrainingRun:
    """Everything a training run holds; the step functions below read it and update it."""

    spec: RunSpec
    dataset: Dataset
    device: torch.device
    G: nn.Module
    D: nn.Module
    opt_g: torch.optim.Adam
    opt_d: torch.optim.Adam
    G_ema: nn.Module | None
    loss: GanLoss | None
    penalty: Penalty
    lam: float
    prior: Callable[..., Tensor]  # n ↦ z
    sample_latent: LatentSampler  # n ↦ evaluation latents: z and what the conditioning asks G for
    sampler: BatchSampler
    cond: Conditioning
    augment: Augmentation  # D's input augmentation (ganbench/augment.py): identity unless asked
    lecam: LeCam | None = None  # LeCam's anchors, when its weight is set
    scheduled: tuple[str, ...] = ()  # hyperparameters that follow a schedule

    def at(self, name: str, step: int) -> Any:
        """Hyperparameter ``name`` at (1-based) step ``step``: its schedule's value, or the fixed one."""
        return value_at(hp_value(self.hp, name), step, self.spec.budget.steps)

    @property
    def hp(self) -> Any:
        return self.spec.hparams

    @property
    def batch_size(self) -> int:
        return self.hp["batch_size"]

    @property
    def d_output(self) -> str:
        return self.loss.d_output if self.loss else "logit"

    def real_batch(self) -> Tensor:
        return self.real_labelled()[0]

    def real_labelled(self) -> tuple[Tensor, Tensor | None]:
        """The next real batch and its labels (None when the split has none or the conditioning needs none)."""
        split = self.dataset.split("train")
        index = self.sampler.next_index()
        labels = split.labels[index].to(self.device) if self.cond.uses_labels and split.labels is not None \
            else None
        return split.get(index).to(self.device, non_blocking=True), labels

    def fake_latent(self, y: Tensor | None) -> Tensor:
        """A fresh training latent: z from the prior, with the real batch's labels ``y`` (or InfoGAN's codes)."""
        return self.cond.train_latent(self.prior(self.batch_size), y)

    def noisy(self, x: Tensor, step: int) -> Tensor:
        """Instance noise (when asked for), annealed linearly to 0 over the run."""
        noise0 = self.hp.get("instance_noise", 0.0)
        if noise0 <= 0:
            return x
        return x + torch.randn_like(x) * noise0 * max(0.0, 1.0 - step / self.spec.budget.steps)

    def d_input(self, x: Tensor, step: int) -> Tensor:
        """What D is shown of a batch: instance noise, then the model's augmentation (both off by default)."""
        return self.augment(self.noisy(x, step))

    def d_objective(self, net: Callable[..., Tensor], x: Tensor, fake: Tensor, step: int,
                    y: Tensor | None = None, latent: Tensor | None = None,
                    update_anchors: bool = False) -> tuple[Tensor, Tensor, Tensor]:
        """D's loss on (x, fake) with its penalty, LeCam's term and its conditioning's term, and the two score
        vectors; ``y``: the real batch's labels (the fakes' too), ``latent``: the fakes' latent;
        ``update_anchors``: a real D step (LeCam's anchors move), not a look-ahead one."""
        x_in, fake_in = self.d_input(x, step), self.d_input(fake, step)
        d_real, aux_real = self.cond.score(net, x_in, y, self.d_output)
        d_fake, aux_fake = self.cond.score(net, fake_in, y, self.d_output)
        d_loss, _ = self.loss(d_real, d_fake)
        every = hp_value(self.hp, "penalty_every")
        if self.lam and step % every == 0:  # lazy regularisation: every k-th step, weighted × k
            d_loss = d_loss + self.lam * every * self.penalty(
                lambda v: self.cond.score(net, v, y, self.d_output)[0], x_in, fake_in)
        if self.lecam is not None:
            if update_anchors:
                self.lecam.update(d_real, d_fake)
            d_loss = d_loss + hp_value(self.hp, "lecam") * self.lecam(d_real, d_fake)
        extra = self.cond.d_extra(aux_real, aux_fake, y, latent)
        if extra is not None:
            d_loss = d_loss + extra
        return d_loss, d_real, d_fake


def build_run(spec: RunSpec, dataset: Dataset, device: torch.device) -> TrainingRun:
    """A run ready for its first step. The global generator is seeded from ``spec.seed`` before the networks
    are initialised, and what it holds afterwards is the run's stream from then on; the ensemble trainer
    builds each member with this, so a member starts exactly as its solo run."""
    torch.manual_seed(spec.seed)
    hp = spec.hparams
    is_gan = spec.model.kind == "gan"
    loss = build_loss(spec.model.loss, dict(hp)) if is_gan else None
    cond = build_conditioning(spec.model.conditioning, dataset, hp, spec.evaluation.metrics) if is_gan else \
        Conditioning(dataset, hp)
    if cond.name != "none" and hp.get("unroll", 0):
        raise GanbenchError(f"hparams.unroll: unrolled D steps do not take conditioning '{cond.name}' (its labels "
                            "and codes); set unroll: 0 for this model")
    if cond.name != "none" and loss is not None and loss.d_output != "logit":
        raise GanbenchError(f"model.conditioning: loss '{spec.model.loss}' has an autoencoder D, which conditioning "
                            f"'{cond.name}' does not extend; use a loss with a logit D")
    logit_only = [what for what, wanted in (("hparams.lecam", hp_value(hp, "lecam") > 0),
                                            ("model.augment: ada", spec.model.augment == "ada")) if wanted]
    if logit_only and loss is not None and loss.d_output != "logit":
        raise GanbenchError(f"{logit_only[0]} reads D's scores, and loss '{spec.model.loss}' has an autoencoder D "
                            "(reconstruction errors); use a loss with a logit D")
    G, D = (net.to(device) for net in build_networks(spec, dataset, loss, cond))
    scheduled = tuple(sorted(name for name, v in hp.items() if is_schedule(v)))
    betas = (value_at(hp["beta1"], 1, spec.budget.steps), value_at(hp["beta2"], 1, spec.budget.steps))
    lr = value_at(hp["lr"], 1, spec.budget.steps)
    prior_kind = hp.get("z_prior", "uniform") if is_gan else "normal"  # the study's U[−1, 1]; the VAE's N(0, I)
    prior = latent_sampler(prior_kind, hp["z_dim"], device)
    return TrainingRun(
        spec=spec, dataset=dataset, device=device, G=G, D=D,
        opt_g=torch.optim.Adam(G.parameters(), lr=lr, betas=betas),
        opt_d=torch.optim.Adam(D.parameters(), lr=lr, betas=betas),
        G_ema=copy.deepcopy(G) if max(ends(hp["ema"])) > 0 else None, loss=loss,
        penalty=PENALTIES.get(spec.model.penalty),
        lam=value_at(hp.get("lambda", 0.0), 1, spec.budget.steps) if spec.model.penalty != "none" else 0.0,
        prior=prior, sample_latent=LatentSampler(prior, cond),
        sampler=BatchSampler(len(dataset.split("train")), hp["batch_size"], seed=spec.seed), cond=cond,
        augment=_augmentation(spec, dataset),
        lecam=LeCam(hp_value(hp, "lecam_decay")) if is_gan and hp_value(hp, "lecam") > 0 else None,
        scheduled=scheduled)


def _augmentation(spec: RunSpec, dataset: Dataset) -> Augmentation:
    """The model's augmentation of D's inputs with its parameters, in the dataset's value range."""
    augment = spec.model.augment
    if augment != "none" and dataset.info.kind != "image":
        raise GanbenchError(f"model.augment: '{augment}' transforms images, and dataset '{dataset.info.name}' is "
                            f"{dataset.info.kind} data")
    return AUGMENTATIONS.get(augment)(spec.hparams, dataset.info.value_range, spec.hparams["batch_size"])


def _apply_schedules(run: TrainingRun, step: int) -> None:
    """Set this step's value of every scheduled hyperparameter where the step functions read it."""
    if "lambda" in run.scheduled and run.spec.model.penalty != "none":
        run.lam = run.at("lambda", step)
    if {"lr", "beta1", "beta2"} & set(run.scheduled):
        lr, betas = run.at("lr", step), (run.at("beta1", step), run.at("beta2", step))
        for opt in (run.opt_g, run.opt_d):
            for group in opt.param_groups:
                group["lr"], group["betas"] = lr, betas


# ---- the named steps ------------------------------------------------------------------------------

def discriminator_step(run: TrainingRun, x: Tensor, z: Tensor, step: int,
                       y: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """One D update on (x, G(z)), ``z`` the fakes' latent and ``y`` the real batch's labels (a conditional
    run's); returns (D's loss, its scores on x), detached."""
    with torch.no_grad():
        fake = run.G(z)
    d_loss, d_real, _ = run.d_objective(run.D, x, fake, step, y, z, update_anchors=True)
    run.opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    run.opt_d.step()
    run.loss.after_d_step(run.D)
    run.augment.observe(d_real)
    return d_loss.detach(), d_real.detach()


def _first_order_critic(run: TrainingRun, step: int) -> nn.Module:
    """``unroll`` look-ahead D updates on a copy of D, G's gradient treating them as constants."""
    critic = copy.deepcopy(run.D)
    group = run.opt_d.param_groups[0]  # this step's lr and betas (a schedule's value)
    opt = torch.optim.Adam(critic.parameters(), lr=group["lr"], betas=group["betas"])
    # A deep copy: Optimizer.load_state_dict keeps the very tensors it is given (same dtype and device),
    # so the look-ahead steps would otherwise advance the real D's Adam moments and step counts.
    opt.load_state_dict(copy.deepcopy(run.opt_d.state_dict()))
    for _ in range(run.hp["unroll"]):
        with torch.no_grad():
            fake = run.G(run.prior(run.batch_size))
        loss = run.d_objective(critic, run.real_batch(), fake, step)[0]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        run.loss.after_d_step(critic)
    return critic.requires_grad_(False)


def _critic(run: TrainingRun, step: int) -> Callable[[Tensor], Tensor]:
    """The D that G's update is scored by: D itself, or D after ``unroll`` look-ahead updates.

    ``unroll_mode: through`` is Metz et al.'s unrolled GAN: G's gradient flows through the K
    differentiable Adam updates (:func:`ganbench.unroll.unrolled_critic`), whose fakes come from G
    with gradient; ``first_order`` treats the look-ahead D as a constant. Either way the look-ahead D
    obeys the loss's own rule (WGAN's clipping) and the real D, its buffers and optimizer stay as they were.
    """
    if not run.hp.get("unroll", 0):
        return run.D
    if run.hp.get("unroll_mode", "through") == "first_order":
        return _first_order_critic(run, step)

    def objective(net: Callable[[Tensor], Tensor]) -> Tensor:
        return run.d_objective(net, run.real_batch(), run.G(run.prior(run.batch_size)), step)[0]

    return unrolled_critic(run.D, run.opt_d, run.hp["unroll"], objective, constrain=run.loss.constrain)


def generator_step(run: TrainingRun, z: Tensor, d_real: Tensor, step: int, y: Tensor | None = None,
                   x: Tensor | None = None) -> Tensor:
    """One G update on the step's latents z (fresh ones for a loss that resamples, WGAN-GP) and labels y,
    scored by :func:`_critic` plus the conditioning's term; returns G's loss, detached. A relativistic loss
    reads D's scores on the step's real batch ``x`` as that critic gives them (no gradient)."""
    if run.loss.resamples_latents_for_g:
        z = run.fake_latent(y)
    critic = _critic(run, step)
    if run.loss.g_uses_real_scores:
        if x is None:
            raise ValueError(f"loss '{run.spec.model.loss}' scores G against D's real scores: pass the step's x")
        with torch.no_grad():
            d_real = run.cond.score(critic, run.d_input(x, step), y, run.d_output)[0]
    run.D.requires_grad_(False)
    try:
        fake = run.d_input(run.G(z), step)
        d_fake, aux_fake = run.cond.score(critic, fake, y, run.d_output)
        _, g_loss = run.loss(d_real, d_fake)
        extra = run.cond.g_extra(aux_fake, z)
        if extra is not None:
            g_loss = g_loss + extra
        run.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        run.opt_g.step()
    finally:
        run.D.requires_grad_(True)
    if run.G_ema is not None:
        ema_update(run.G_ema, run.G, run.at("ema", step))
    return g_loss.detach()


def rescore_step(run: TrainingRun, x: Tensor, z: Tensor) -> dict[str, float]:
    """The loss's end-of-step update on the step's batch scored by the updated networks (BEGAN's k).

    As v1.0 ``BEGAN.after_training_step_hook``: the same x and z, networks in training mode.
    """
    with torch.no_grad():
        d_real = discriminator_score(run.D, x, run.d_output)
        d_fake = discriminator_score(run.D, run.G(z), run.d_output)
    return run.loss.after_step(d_real, d_fake)


def vae_step(run: TrainingRun, x: Tensor, step: int) -> Tensor:
    """One ELBO step of the VAE baseline (v1.0 ``VAE.py``); returns the loss, detached.

    Encoder: μ and σ = 1e-6 + softplus(·). Images: a Bernoulli decoder whose output is clipped to
    [1e-8, 1 − 1e-8], the log-likelihood summed over height and width and averaged over batch *and
    channels* (the study's ``reduce_sum(..., [1, 2])`` on NHWC), so on colour data the reconstruction
    term is a third of a per-pixel sum. Vectors: a unit-variance Gaussian decoder, summed. KL to N(0, I)
    with the study's log(1e-8 + σ²).
    """
    mu, raw = run.D(x).chunk(2, dim=1)
    std = VAE_MIN_STD + F.softplus(raw)
    recon = run.G(mu + std * torch.randn_like(mu))
    if run.dataset.info.kind == "image":
        prob = recon.clamp(VAE_PROB_CLIP, 1 - VAE_PROB_CLIP)
        nll = F.binary_cross_entropy(prob, x, reduction="none").sum((2, 3)).mean(1)
    else:
        nll = 0.5 * (recon - x).pow(2).flatten(1).sum(1)
    var = std.pow(2)
    kl = 0.5 * (mu.pow(2) + var - torch.log(VAE_LOG_EPS + var) - 1).sum(1)
    loss = (nll + kl).mean()
    run.opt_g.zero_grad(set_to_none=True)
    run.opt_d.zero_grad(set_to_none=True)
    loss.backward()
    run.opt_g.step()
    run.opt_d.step()
    if run.G_ema is not None:
        ema_update(run.G_ema, run.G, run.at("ema", step))
    return loss.detach()


# ---- helpers --------------------------------------------------------------------------------------

def first_non_finite(tensors: list[Tensor]) -> int | None:
    """Index of the first non-finite value, or None (one device sync for the whole list)."""
    if not tensors:
        return None
    bad = ~torch.isfinite(torch.stack(tensors))
    return int(bad.nonzero()[0, 0]) if bool(bad.any()) else None


def params_finite(*modules: nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for m in modules for p in m.parameters())


def rng_state(device: torch.device) -> dict[str, Any]:
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def rng_kept(device: torch.device) -> contextlib.AbstractContextManager:
    """The global generators as they were after the block: evaluation draws its latents from its own
    generator, but whatever else it runs (a G with noise inputs) may draw from the global one."""
    return torch.random.fork_rng(devices=[device] if device.type == "cuda" else [], device_type=device.type)


def ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """EMA of G's weights *and* of its floating buffers (batch-norm statistics), counters copied.

    Copying the raw G's running statistics into the averaged G would normalise the averaged weights'
    activations with statistics of other weights; averaging them with the same decay keeps the pair
    consistent (what most EMA implementations for GANs do when they do not re-estimate).
    """
    with torch.no_grad():
        for p_ema, p in zip(ema.parameters(), model.parameters()):
            p_ema.lerp_(p, 1 - decay)
        for b_ema, b in zip(ema.buffers(), model.buffers()):
            if b.is_floating_point():
                b_ema.lerp_(b, 1 - decay)
            else:
                b_ema.copy_(b)


@contextlib.contextmanager
def _flops(active: bool) -> Iterator[StepFlopCounter | None]:
    """A FLOP counter around a block when ``active``, else nothing."""
    if not active:
        yield None
        return
    with StepFlopCounter() as counter:
        yield counter


def _total(counter: StepFlopCounter | None) -> float:
    return float(counter.get_total_flops()) if counter is not None else 0.0


# ---- the loop -------------------------------------------------------------------------------------

def train(spec: RunSpec, dataset: Dataset, *, device: torch.device | str = "cpu",
          evaluate: Evaluate | None = None, checkpointing: Checkpointing | None = None,
          progress: Callable[[int], None] | None = None) -> Outcome:
    device = torch.device(device)
    run = build_run(spec, dataset, device)
    is_gan = run.loss is not None
    steps, eval_steps, n_disc = spec.budget.steps, set(spec.budget.eval_steps), spec.hparams.get("n_disc", 1)

    # ---- resume
    start, history = 0, []
    compute: dict[str, Any] = {"train_seconds": 0.0, "eval_seconds": 0.0, "flops_per_step": None}
    state = checkpointing.load() if checkpointing else None
    if state is not None:
        run.G.load_state_dict(state["G"])
        run.D.load_state_dict(state["D"])
        run.opt_g.load_state_dict(state["opt_g"])
        run.opt_d.load_state_dict(state["opt_d"])
        if run.G_ema is not None:
            run.G_ema.load_state_dict(state["G_ema"])
        if run.loss is not None:
            run.loss.load_state_dict(state["loss"])
        if state.get("augment"):  # ADA's p (older checkpoints and stateless augmentations have none)
            run.augment.load_state_dict(state["augment"])
        if run.lecam is not None:
            run.lecam.load_state_dict(state["lecam"])
        run.sampler.load_state_dict(state["sampler"])
        set_rng_state(state["rng"], device)
        start, history, compute = int(state["step"]), list(state["history"]), dict(state["compute"])

    # ---- the loop
    pending_losses: list[Tensor] = []
    log: dict[str, Any] = {"d": math.nan, "g": math.nan}
    extras: dict[str, float] = {}
    samples: Tensor | None = None
    count_flops = compute["flops_per_step"] is None and start == 0  # measured on step 1: D, G and the rest
    tic = time.perf_counter()
    for step in range(start + 1, steps + 1):
        counting = count_flops and step == 1
        if run.scheduled:
            _apply_schedules(run, step)
        if is_gan:
            z = run.prior(run.batch_size)
            x, y = run.real_labelled()
            z = run.cond.train_latent(z, y)  # with the batch's labels (or InfoGAN's codes); z itself when none
            with _flops(counting) as d_count:
                log["d"], d_real = discriminator_step(run, x, z, step, y)
            pending_losses.append(log["d"])
            g_count = None
            if generator_turn(step, n_disc):
                with _flops(counting) as g_count:
                    log["g"] = generator_step(run, z, d_real, step, y, x)
                pending_losses.append(log["g"])
            if run.loss.rescores_after_step:
                with _flops(counting) as r_count:
                    extras.update(rescore_step(run, x, z))
                d_flops = _total(d_count) + _total(r_count)
            else:
                d_flops = _total(d_count)
            if counting:
                compute["flops_per_step"] = d_flops + _total(g_count) / n_disc
        else:
            x = run.real_batch()
            with _flops(counting) as v_count:
                log["d"] = log["g"] = vae_step(run, x, step)
            pending_losses.append(log["d"])
            if counting:
                compute["flops_per_step"] = _total(v_count)
        if progress:
            progress(step)

        # ---- divergence check, evaluation and checkpoint
        if step % DIVERGENCE_CHECK_EVERY == 0 or step in eval_steps:
            bad = first_non_finite(pending_losses)
            pending_losses.clear()
            if bad is not None or not params_finite(run.G, run.D):
                compute["train_seconds"] += time.perf_counter() - tic
                compute["steps"] = step
                what = "non-finite loss" if bad is not None else "non-finite parameters"
                return Outcome("diverged", history, run.G_ema or run.G, run.sample_latent, compute, run.D,
                               diverged_at=step, diverged_what=what, extras=extras, samples=samples)
        if step in eval_steps:
            compute["train_seconds"] += time.perf_counter() - tic
            row: dict[str, Any] = {"step": step, "losses": {k: float(v) for k, v in log.items()},
                                   "seconds": compute["train_seconds"]}
            row["losses"].update({k: float(v) for k, v in extras.items()})
            row["losses"].update(run.augment.log())  # ADA's p: what the augmentation did by this point
            if evaluate is not None:
                tic_eval = time.perf_counter()
                with rng_kept(device):  # a G that draws noise (stylegan2) must not move training's stream
                    evaluation = evaluate(run.G_ema or run.G, run.sample_latent, step)
                row["metrics"], samples = dict(evaluation.metrics), evaluation.samples
                if evaluation.panel:  # the seed panel: each metric's value under every sampling seed
                    row["sampling_panel"] = {k: list(v) for k, v in evaluation.panel.items()}
                compute["eval_seconds"] += time.perf_counter() - tic_eval
            history.append(row)
            compute["steps"] = step
            if checkpointing is not None:
                checkpointing.save({
                    "step": step, "G": run.G.state_dict(), "D": run.D.state_dict(),
                    "G_ema": run.G_ema.state_dict() if run.G_ema is not None else None,
                    "opt_g": run.opt_g.state_dict(), "opt_d": run.opt_d.state_dict(),
                    "loss": run.loss.state_dict() if run.loss is not None else {},
                    "augment": run.augment.state_dict(),
                    "lecam": run.lecam.state_dict() if run.lecam is not None else {},
                    "sampler": run.sampler.state_dict(), "rng": rng_state(device),
                    "history": history, "compute": compute})
                checkpointing.on_history(history)
            tic = time.perf_counter()
    compute["steps"] = steps
    return Outcome("done", history, run.G_ema or run.G, run.sample_latent, compute, run.D, extras=extras,
                   samples=samples)
