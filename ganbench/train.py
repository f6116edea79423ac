"""One training run, read top to bottom: build → (resume) → loop of D and G steps → evaluate/checkpoint.

One *step* is one D update (the study's convention); G is updated every ``n_disc`` steps. Everything
random flows from torch's global generator (seeded from the run's seed) and the data sampler's own
generator; both are checkpointed with the networks, optimizers, EMA and the loss's state, so a run
resumed from a checkpoint ends bit-identical to an uninterrupted one on CPU. Evaluation draws from its
own generator and a frozen copy of G, so evaluating never perturbs training.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganbench.data.base import BatchSampler, Dataset
from ganbench.flops import StepFlopCounter
from ganbench.losses import GanLoss, build_loss
from ganbench.nets import AutoencoderD, NetConfig, architecture_for
from ganbench.penalties import PENALTIES
from ganbench.specs import RunSpec

DIVERGENCE_CHECK_EVERY = 50  # steps between non-finite checks (each check syncs the device once)
BEGAN_CODE_DIM = 64  # the study's BEGAN autoencoder code size

Evaluate = Callable[[nn.Module, Callable[..., Tensor], int], "dict[str, float]"]


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


def latent_sampler(kind: str, z_dim: int, device: torch.device) -> Callable[..., Tensor]:
    """n ↦ (n, z_dim) latents from the prior; pass ``generator=`` for draws that leave the global RNG alone."""

    def sample(n: int, generator: torch.Generator | None = None) -> Tensor:
        if kind == "normal":
            return torch.randn(n, z_dim, device=device, generator=generator)
        return torch.rand(n, z_dim, device=device, generator=generator) * 2 - 1

    return sample


def build_networks(spec: RunSpec, dataset: Dataset, loss: GanLoss | None) -> tuple[nn.Module, nn.Module]:
    """(G, D) for a GAN; (decoder, encoder) for the VAE, the encoder being a D trunk with 2·z_dim outputs."""
    hp = spec.hparams
    info = dataset.info
    arch = architecture_for(spec.model.arch, info)
    cfg = NetConfig(z_dim=hp["z_dim"], width=hp["width"], d_norm=hp["d_norm"], g_norm=hp["g_norm"])
    if spec.model.kind == "vae":
        return arch.generator(info, cfg), arch.discriminator(info, cfg, 2 * cfg.z_dim)
    if loss is not None and loss.d_output == "reconstruction":
        return arch.generator(info, cfg), AutoencoderD(arch, info, cfg, BEGAN_CODE_DIM)
    return arch.generator(info, cfg), arch.discriminator(info, cfg, 1)


def discriminator_score(D: nn.Module, x: Tensor, d_output: str) -> Tensor:
    """Per-sample scores: D's logit, or an autoencoder D's L1 reconstruction error (BEGAN)."""
    if d_output == "reconstruction":
        return (x - D(x)).abs().flatten(1).mean(1)
    return D(x).reshape(-1)


def _finite(tensors: list[Tensor]) -> int | None:
    """Index of the first non-finite value, or None (one device sync for the whole list)."""
    if not tensors:
        return None
    bad = ~torch.isfinite(torch.stack(tensors))
    return int(bad.nonzero()[0, 0]) if bool(bad.any()) else None


def _params_finite(*modules: nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for m in modules for p in m.parameters())


def _rng_state(device: torch.device) -> dict[str, Any]:
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def _ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    with torch.no_grad():
        for p_ema, p in zip(ema.parameters(), model.parameters()):
            p_ema.lerp_(p, 1 - decay)
        for b_ema, b in zip(ema.buffers(), model.buffers()):
            b_ema.copy_(b)


def train(spec: RunSpec, dataset: Dataset, *, device: torch.device | str = "cpu",
          evaluate: Evaluate | None = None, checkpointing: Checkpointing | None = None,
          progress: Callable[[int], None] | None = None) -> Outcome:
    device = torch.device(device)
    hp = spec.hparams
    is_gan = spec.model.kind == "gan"
    steps, eval_steps = spec.budget.steps, set(spec.budget.eval_steps)

    # ---- build everything from the seed
    torch.manual_seed(spec.seed)
    loss = build_loss(spec.model.loss, dict(hp)) if is_gan else None
    d_output = loss.d_output if loss else "logit"
    penalty = PENALTIES.get(spec.model.penalty)
    lam = hp.get("lambda", 0.0) if spec.model.penalty != "none" else 0.0
    G, D = (net.to(device) for net in build_networks(spec, dataset, loss))
    betas = (hp["beta1"], hp["beta2"])
    opt_g = torch.optim.Adam(G.parameters(), lr=hp["lr"], betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=hp["lr"], betas=betas)
    ema_decay = hp["ema"]
    G_ema = copy.deepcopy(G) if ema_decay > 0 else None
    sample_latent = latent_sampler(hp.get("z_prior", "normal") if is_gan else "normal", hp["z_dim"], device)
    train_split = dataset.split("train")
    batch_size = hp["batch_size"]
    sampler = BatchSampler(len(train_split), batch_size, seed=spec.seed)
    n_disc = hp.get("n_disc", 1)
    noise0, unroll = hp.get("instance_noise", 0.0), hp.get("unroll", 0)

    def real_batch() -> Tensor:
        return train_split.get(sampler.next_index()).to(device, non_blocking=True)

    def noisy(x: Tensor, step: int) -> Tensor:
        if noise0 <= 0:
            return x
        return x + torch.randn_like(x) * noise0 * max(0.0, 1.0 - step / steps)

    def score(net: nn.Module, x: Tensor) -> Tensor:
        return discriminator_score(net, x, d_output)

    def d_objective(net: nn.Module, x: Tensor, fake: Tensor, step: int) -> tuple[Tensor, Tensor, Tensor]:
        x_in, fake_in = noisy(x, step), noisy(fake, step)
        d_real, d_fake = score(net, x_in), score(net, fake_in)
        d_loss, _ = loss(d_real, d_fake)
        if lam:
            d_loss = d_loss + lam * penalty(lambda v: score(net, v), x_in, fake_in)
        return d_loss, d_real, d_fake

    # ---- resume
    start, history = 0, []
    compute = {"train_seconds": 0.0, "eval_seconds": 0.0, "flops_per_step": None}
    state = checkpointing.load() if checkpointing else None
    if state is not None:
        G.load_state_dict(state["G"])
        D.load_state_dict(state["D"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        if G_ema is not None:
            G_ema.load_state_dict(state["G_ema"])
        if loss is not None:
            loss.load_state_dict(state["loss"])
        sampler.load_state_dict(state["sampler"])
        _set_rng_state(state["rng"], device)
        start, history, compute = int(state["step"]), list(state["history"]), dict(state["compute"])

    # ---- the loop
    pending_losses: list[Tensor] = []
    last_d_real = torch.zeros(batch_size, device=device)
    log = {"d": math.nan, "g": math.nan}
    extras: dict[str, float] = {}
    counter = StepFlopCounter() if compute["flops_per_step"] is None and start == 0 else None
    tic = time.perf_counter()
    for step in range(start + 1, steps + 1):
        if counter is not None and step == 1:
            counter.__enter__()
        x = real_batch()
        if is_gan:
            # D step
            with torch.no_grad():
                fake = G(sample_latent(batch_size))
            d_loss, d_real, d_fake = d_objective(D, x, fake, step)
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            extras.update(loss.after_d_step(D, d_real.detach(), d_fake.detach()))
            last_d_real = d_real.detach()
            pending_losses.append(d_loss.detach())
            log["d"] = d_loss.detach()
            # G step, every n_disc D steps (through an unrolled copy of D when asked)
            if step % n_disc == 0:
                critic = D
                if unroll:
                    critic = copy.deepcopy(D)
                    opt_u = torch.optim.Adam(critic.parameters(), lr=hp["lr"], betas=betas)
                    opt_u.load_state_dict(opt_d.state_dict())
                    for _ in range(unroll):
                        with torch.no_grad():
                            fake_u = G(sample_latent(batch_size))
                        u_loss = d_objective(critic, real_batch(), fake_u, step)[0]
                        opt_u.zero_grad(set_to_none=True)
                        u_loss.backward()
                        opt_u.step()
                critic.requires_grad_(False)
                _, g_loss = loss(last_d_real, score(critic, noisy(G(sample_latent(batch_size)), step)))
                opt_g.zero_grad(set_to_none=True)
                g_loss.backward()
                opt_g.step()
                critic.requires_grad_(True)
                if G_ema is not None:
                    _ema_update(G_ema, G, ema_decay)
                pending_losses.append(g_loss.detach())
                log["g"] = g_loss.detach()
        else:
            # VAE step: Bernoulli decoder for images, unit-variance Gaussian for vectors; KL to N(0, I)
            mu, logvar = D(x).chunk(2, dim=1)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            recon = G(z)
            if dataset.info.kind == "image":
                rec = F.binary_cross_entropy(recon.clamp(1e-6, 1 - 1e-6), x, reduction="none").flatten(1).sum(1)
            else:
                rec = 0.5 * (recon - x).pow(2).flatten(1).sum(1)
            kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)
            vae_loss = (rec + kl).mean()
            opt_g.zero_grad(set_to_none=True)
            opt_d.zero_grad(set_to_none=True)
            vae_loss.backward()
            opt_g.step()
            opt_d.step()
            if G_ema is not None:
                _ema_update(G_ema, G, ema_decay)
            pending_losses.append(vae_loss.detach())
            log["d"] = log["g"] = vae_loss.detach()
        if counter is not None and step == min(n_disc, steps):
            counter.__exit__(None, None, None)
            compute["flops_per_step"] = counter.get_total_flops() / step
            counter = None
        if progress:
            progress(step)

        # ---- divergence check, evaluation and checkpoint
        if step % DIVERGENCE_CHECK_EVERY == 0 or step in eval_steps:
            bad = _finite(pending_losses)
            pending_losses.clear()
            if bad is not None or not _params_finite(G, D):
                compute["train_seconds"] += time.perf_counter() - tic
                compute["steps"] = step
                what = "non-finite loss" if bad is not None else "non-finite parameters"
                return Outcome("diverged", history, G_ema or G, sample_latent, compute, D,
                               diverged_at=step, diverged_what=what, extras=extras)
        if step in eval_steps:
            compute["train_seconds"] += time.perf_counter() - tic
            row: dict[str, Any] = {"step": step, "losses": {k: float(v) for k, v in log.items()},
                                   "seconds": compute["train_seconds"]}
            row["losses"].update({k: float(v) for k, v in extras.items()})
            if evaluate is not None:
                tic_eval = time.perf_counter()
                row["metrics"] = evaluate(G_ema or G, sample_latent, step)
                compute["eval_seconds"] += time.perf_counter() - tic_eval
            history.append(row)
            compute["steps"] = step
            if checkpointing is not None:
                checkpointing.save({
                    "step": step, "G": G.state_dict(), "D": D.state_dict(),
                    "G_ema": G_ema.state_dict() if G_ema is not None else None,
                    "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
                    "loss": loss.state_dict() if loss is not None else {},
                    "sampler": sampler.state_dict(), "rng": _rng_state(device),
                    "history": history, "compute": compute})
                checkpointing.on_history(history)
            tic = time.perf_counter()
    compute["steps"] = steps
    return Outcome("done", history, G_ema or G, sample_latent, compute, D, extras=extras)
