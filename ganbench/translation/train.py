"""One translation run, read top to bottom: build → (resume) → loop of named steps → evaluate/checkpoint.

A *step* is one update of the generators and one of the discriminators, on one batch of each domain.

- **CycleGAN** (Zhu et al. 2017, in the order of its authors' code): G_AB and G_BA translate the step's A and
  B batches and back; the generators' update minimises each direction's adversarial G loss against the other
  domain's D, plus λ_cyc·(‖G_BA(G_AB(a)) − a‖₁ + ‖G_AB(G_BA(b)) − b‖₁) and, when λ_id > 0,
  λ_id·λ_cyc·(‖G_AB(b) − b‖₁ + ‖G_BA(a) − a‖₁); then each D is updated on its domain's real batch against fakes
  drawn through a history buffer (:class:`ImagePool`, 50 in the paper), its loss halved as theirs. The two
  domains' batches come from separate samplers: the training never sees which A goes with which B.
- **pix2pix** (Isola et al. 2017), per direction: D, conditioned on the input (the pair concatenated on
  channels), is updated first (loss halved), then G on its adversarial loss + λ_L1·‖G(a) − b‖₁ to the true
  counterpart; A and B batches share their rows (the pairing is the method's input).

The adversarial part is any loss of the zoo with a logit D (:mod:`ganbench.losses`), on the PatchGAN's patch
scores, with its penalty (λ·penalty on D's loss) and its hook (WGAN's clipping). Everything random flows from
torch's global generator (seeded from the run's seed) and the samplers' own generators, all checkpointed, so a
resumed run ends bit-identical to an uninterrupted one on CPU; evaluation never draws from them.
"""
from __future__ import annotations

import hashlib
import itertools
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import Tensor, nn

from ganbench.data.base import BatchSampler
from ganbench.data.pairs import DomainPair
from ganbench.errors import GanbenchError
from ganbench.hparams import kind_params
from ganbench.losses import GanLoss, build_loss
from ganbench.nets import NetConfig, architecture_for
from ganbench.nets.translation import paired_info
from ganbench.penalties import PENALTIES, Penalty
from ganbench.schedules import is_schedule, value_at
from ganbench.specs import RunSpec
from ganbench.train import Checkpointing, first_non_finite, params_finite, rng_state, set_rng_state

DIVERGENCE_CHECK_EVERY = 50
D_LOSS_SCALE = 0.5  # both papers' code halves D's loss "to slow down the rate at which D learns relative to G"

#: evaluate(G_AB, G_BA, step) → an Evaluation (ganbench.translation.evaluate.TranslationEvaluator)
EvaluateTranslation = Callable[[nn.Module, nn.Module, int], Any]


@dataclass
class TranslationOutcome:
    status: str  # "done" or "diverged"
    history: list[dict[str, Any]]
    g_ab: nn.Module
    g_ba: nn.Module
    compute: dict[str, Any]
    diverged_at: int | None = None
    diverged_what: str | None = None


class ImagePool:
    """CycleGAN's history of generated samples: D sees, for each new fake, with probability ½ one stored earlier
    (which the new one replaces) once the buffer is full; until then the new fakes themselves, stored."""

    def __init__(self, size: int):
        self.size, self.stored = size, []

    def query(self, fakes: Tensor) -> Tensor:
        if self.size == 0:
            return fakes
        out = []
        for fake in fakes.detach():
            if len(self.stored) < self.size:
                self.stored.append(fake.clone())
                out.append(fake)
            elif float(torch.rand(())) < 0.5:
                i = int(torch.randint(len(self.stored), ()))
                out.append(self.stored[i].clone())
                self.stored[i] = fake.clone()
            else:
                out.append(fake)
        return torch.stack(out)

    def state_dict(self) -> dict[str, Any]:
        return {"stored": [t.cpu() for t in self.stored]}

    def load_state_dict(self, state: dict[str, Any], device: torch.device) -> None:
        self.stored = [t.to(device) for t in state["stored"]]


@dataclass
class _Run:
    spec: RunSpec
    pair: DomainPair
    device: torch.device
    g_ab: nn.Module
    g_ba: nn.Module
    d_a: nn.Module  # scores domain A (pix2pix: (B input, A output) pairs)
    d_b: nn.Module
    opt_g: torch.optim.Adam
    opt_d: torch.optim.Adam
    loss: GanLoss
    penalty: Penalty
    lam: float
    samplers: dict[str, BatchSampler]  # "a", "b" (CycleGAN) or "pair" (pix2pix)
    pools: dict[str, ImagePool] = field(default_factory=dict)

    @property
    def hp(self) -> Any:
        return self.spec.hparams

    def own(self, name: str) -> Any:
        """The method's own hyperparameter (λ_cyc, λ_L1, ...): the spec's, else its registered default."""
        return self.hp.get(name, kind_params(self.spec.model.kind)[name])

    def batches(self) -> tuple[Tensor, Tensor]:
        """The step's A and B batches: from one sampler (paired rows, pix2pix) or one per domain (CycleGAN)."""
        if "pair" in self.samplers:
            index_a = index_b = self.samplers["pair"].next_index()
        else:
            index_a, index_b = self.samplers["a"].next_index(), self.samplers["b"].next_index()
        a = self.pair.split("train_a").get(index_a).to(self.device, non_blocking=True)
        b = self.pair.split("train_b").get(index_b).to(self.device, non_blocking=True)
        return a, b

    def d_loss(self, net: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        """D's loss on one domain (real vs fake, patch scores flattened), with the penalty when λ > 0: on the
        gradient of each sample's summed patch scores, as CycleGAN's code computes it."""
        def score(v: Tensor) -> Tensor:
            return net(v).flatten()

        loss, _ = self.loss(score(real), score(fake.detach()))
        if self.lam:
            loss = loss + self.lam * self.penalty(lambda v: net(v).flatten(1).sum(1), real, fake.detach())
        return loss

    def g_adversarial(self, net: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        """G's adversarial loss against D ``net`` (a relativistic loss reads D's real scores, without gradient)."""
        d_real = net(real).flatten().detach() if self.loss.g_uses_real_scores else torch.zeros(0, device=fake.device)
        return self.loss(d_real, net(fake).flatten())[1]


def _sampler_seed(seed: int, what: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}/{what}".encode()).digest()[:8], "little") % (2**63)


def build_translators(spec: RunSpec, pair: DomainPair) -> tuple[nn.Module, nn.Module, nn.Module, nn.Module]:
    """(G_AB, G_BA, D_A, D_B) of the run's architecture; pix2pix's Ds take (input, output) pairs."""
    info = pair.info
    arch = architecture_for(spec.model.arch, info)
    cfg = NetConfig(width=spec.hparams["width"])
    d_info = paired_info(info) if spec.model.kind == "pix2pix" else info
    return (arch.generator(info, cfg), arch.generator(info, cfg), arch.discriminator(d_info, cfg, 1),
            arch.discriminator(d_info, cfg, 1))


def _build(spec: RunSpec, pair: DomainPair, device: torch.device) -> _Run:
    kind = spec.model.kind
    if kind not in STEPS:
        raise GanbenchError(f"model.kind: '{kind}' is not a translation method (one of: {', '.join(STEPS)})")
    if kind == "pix2pix" and not pair.paired:
        raise GanbenchError(f"model.kind: pix2pix trains on pairs, and dataset '{pair.info.name}' is unpaired "
                            "(two folders of unrelated images); use kind: cyclegan")
    torch.manual_seed(spec.seed)
    hp = spec.hparams
    loss = build_loss(spec.model.loss, dict(hp))
    if loss.d_output != "logit":
        raise GanbenchError(f"model.loss: '{spec.model.loss}' has an autoencoder D, and translation's Ds score "
                            "patches with logits; use a loss with a logit D (e.g. lsgan, ns, hinge)")
    g_ab, g_ba, d_a, d_b = (net.to(device) for net in build_translators(spec, pair))
    lr = value_at(hp["lr"], 1, spec.budget.steps)
    betas = (value_at(hp["beta1"], 1, spec.budget.steps), value_at(hp["beta2"], 1, spec.budget.steps))
    n_train = len(pair.split("train_a"))
    if kind == "pix2pix":
        samplers = {"pair": BatchSampler(n_train, hp["batch_size"], seed=spec.seed)}
    else:
        samplers = {side: BatchSampler(len(pair.split(f"train_{side}")), hp["batch_size"],
                                       seed=_sampler_seed(spec.seed, side)) for side in ("a", "b")}
    run = _Run(spec=spec, pair=pair, device=device, g_ab=g_ab, g_ba=g_ba, d_a=d_a, d_b=d_b,
               opt_g=torch.optim.Adam(itertools.chain(g_ab.parameters(), g_ba.parameters()), lr=lr, betas=betas),
               opt_d=torch.optim.Adam(itertools.chain(d_a.parameters(), d_b.parameters()), lr=lr, betas=betas),
               loss=loss, penalty=PENALTIES.get(spec.model.penalty),
               lam=value_at(hp.get("lambda", 0.0), 1, spec.budget.steps) if spec.model.penalty != "none" else 0.0,
               samplers=samplers)
    if kind == "cyclegan":
        run.pools = {side: ImagePool(int(run.own("pool_size"))) for side in ("a", "b")}
    return run


def _set_requires_grad(value: bool, *nets: nn.Module) -> None:
    for net in nets:
        net.requires_grad_(value)


# ---- the named steps ------------------------------------------------------------------------------

def cyclegan_step(run: _Run, a: Tensor, b: Tensor) -> dict[str, Tensor]:
    """One CycleGAN step on batches (a, b): the generators' update, then the discriminators'."""
    fake_b, fake_a = run.g_ab(a), run.g_ba(b)
    rec_a, rec_b = run.g_ba(fake_b), run.g_ab(fake_a)
    _set_requires_grad(False, run.d_a, run.d_b)
    adversarial = run.g_adversarial(run.d_b, b, fake_b) + run.g_adversarial(run.d_a, a, fake_a)
    lam_cyc = float(run.own("lambda_cyc"))
    cycle = lam_cyc * ((rec_a - a).abs().mean() + (rec_b - b).abs().mean())
    g_loss = adversarial + cycle
    lam_id = float(run.own("lambda_id"))
    if lam_id > 0:
        g_loss = g_loss + lam_id * lam_cyc * ((run.g_ab(b) - b).abs().mean() + (run.g_ba(a) - a).abs().mean())
    run.opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    run.opt_g.step()
    _set_requires_grad(True, run.d_a, run.d_b)

    d_loss = D_LOSS_SCALE * (run.d_loss(run.d_b, b, run.pools["b"].query(fake_b))
                             + run.d_loss(run.d_a, a, run.pools["a"].query(fake_a)))
    run.opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    run.opt_d.step()
    run.loss.after_d_step(run.d_a)
    run.loss.after_d_step(run.d_b)
    return {"d": d_loss.detach(), "g": g_loss.detach(), "cycle": cycle.detach()}


def pix2pix_step(run: _Run, a: Tensor, b: Tensor) -> dict[str, Tensor]:
    """One pix2pix step on paired batches (a, b), both directions: the conditional Ds' update, then the Gs'."""
    fake_b, fake_a = run.g_ab(a), run.g_ba(b)
    d_loss = D_LOSS_SCALE * (run.d_loss(run.d_b, torch.cat([a, b], 1), torch.cat([a, fake_b], 1))
                             + run.d_loss(run.d_a, torch.cat([b, a], 1), torch.cat([b, fake_a], 1)))
    run.opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    run.opt_d.step()
    run.loss.after_d_step(run.d_a)
    run.loss.after_d_step(run.d_b)

    _set_requires_grad(False, run.d_a, run.d_b)
    adversarial = (run.g_adversarial(run.d_b, torch.cat([a, b], 1), torch.cat([a, fake_b], 1))
                   + run.g_adversarial(run.d_a, torch.cat([b, a], 1), torch.cat([b, fake_a], 1)))
    l1 = float(run.own("lambda_l1")) * ((fake_b - b).abs().mean() + (fake_a - a).abs().mean())
    g_loss = adversarial + l1
    run.opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    run.opt_g.step()
    _set_requires_grad(True, run.d_a, run.d_b)
    return {"d": d_loss.detach(), "g": g_loss.detach(), "l1": l1.detach()}


#: translation kind → its training step (the kinds are declared in ganbench.catalog.KINDS, task "translation")
STEPS: dict[str, Callable[[_Run, Tensor, Tensor], dict[str, Tensor]]] = {
    "cyclegan": cyclegan_step, "pix2pix": pix2pix_step}


def _apply_schedules(run: _Run, step: int) -> None:
    """This step's lr, betas and penalty weight where the spec gives them a schedule."""
    hp, steps = run.hp, run.spec.budget.steps
    if run.spec.model.penalty != "none" and is_schedule(hp.get("lambda")):
        run.lam = value_at(hp["lambda"], step, steps)
    if not any(is_schedule(hp[k]) for k in ("lr", "beta1", "beta2")):
        return
    lr, betas = value_at(hp["lr"], step, steps), (value_at(hp["beta1"], step, steps), value_at(hp["beta2"], step, steps))
    for opt in (run.opt_g, run.opt_d):
        for group in opt.param_groups:
            group["lr"], group["betas"] = lr, betas


_NETS = ("g_ab", "g_ba", "d_a", "d_b")


# ---- the loop -------------------------------------------------------------------------------------

def train_translation(spec: RunSpec, pair: DomainPair, *, device: torch.device | str = "cpu",
                      evaluate: EvaluateTranslation | None = None, checkpointing: Checkpointing | None = None,
                      progress: Callable[[int], None] | None = None) -> TranslationOutcome:
    device = torch.device(device)
    run = _build(spec, pair, device)
    step_fn = STEPS[spec.model.kind]
    steps, eval_steps = spec.budget.steps, set(spec.budget.eval_steps)

    # ---- resume
    start, history = 0, []
    compute: dict[str, Any] = {"train_seconds": 0.0, "eval_seconds": 0.0}
    state = checkpointing.load() if checkpointing else None
    if state is not None:
        for name in _NETS:
            getattr(run, name).load_state_dict(state[name])
        run.opt_g.load_state_dict(state["opt_g"])
        run.opt_d.load_state_dict(state["opt_d"])
        run.loss.load_state_dict(state["loss"])
        for side, pool in run.pools.items():
            pool.load_state_dict(state["pools"][side], device)
        for name, sampler in run.samplers.items():
            sampler.load_state_dict(state["samplers"][name])
        set_rng_state(state["rng"], device)
        start, history, compute = int(state["step"]), list(state["history"]), dict(state["compute"])

    # ---- the loop
    pending: list[Tensor] = []
    log: dict[str, Tensor] = {}
    tic = time.perf_counter()
    for step in range(start + 1, steps + 1):
        _apply_schedules(run, step)
        a, b = run.batches()
        log = step_fn(run, a, b)
        pending.extend(log.values())
        if progress:
            progress(step)

        # ---- divergence check, evaluation and checkpoint
        if step % DIVERGENCE_CHECK_EVERY == 0 or step in eval_steps:
            bad = first_non_finite(pending)
            pending.clear()
            if bad is not None or not params_finite(*(getattr(run, n) for n in _NETS)):
                compute["train_seconds"] += time.perf_counter() - tic
                compute["steps"] = step
                what = "non-finite loss" if bad is not None else "non-finite parameters"
                return TranslationOutcome("diverged", history, run.g_ab, run.g_ba, compute, diverged_at=step,
                                          diverged_what=what)
        if step in eval_steps:
            compute["train_seconds"] += time.perf_counter() - tic
            row: dict[str, Any] = {"step": step, "losses": {k: float(v) for k, v in log.items()},
                                   "seconds": compute["train_seconds"]}
            if evaluate is not None:
                tic_eval = time.perf_counter()
                row["metrics"] = dict(evaluate(run.g_ab, run.g_ba, step).metrics)
                compute["eval_seconds"] += time.perf_counter() - tic_eval
            history.append(row)
            compute["steps"] = step
            if checkpointing is not None:
                checkpointing.save({
                    "step": step, **{name: getattr(run, name).state_dict() for name in _NETS},
                    "opt_g": run.opt_g.state_dict(), "opt_d": run.opt_d.state_dict(),
                    "loss": run.loss.state_dict(),
                    "pools": {side: pool.state_dict() for side, pool in run.pools.items()},
                    "samplers": {name: s.state_dict() for name, s in run.samplers.items()},
                    "rng": rng_state(device), "history": history, "compute": compute})
                checkpointing.on_history(history)
            tic = time.perf_counter()
    compute["steps"] = steps
    return TranslationOutcome("done", history, run.g_ab, run.g_ba, compute)

