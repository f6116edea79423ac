"""K runs trained as one: the steps of :func:`ganbench.train.train`, each taken once for all members.

Each member is first built exactly as its solo run (:func:`ganbench.train.build_run`: seeded from its seed, its
networks initialised, its data sampler seeded); the global generator's state right after is the member's own
:class:`torch.Generator`, from which its latents and its penalty's draws come in the solo run's order. The
members' networks then become one :class:`~ganbench.ensemble.grouped.GroupedNet` each for G and D, updated by
:class:`~ganbench.ensemble.optim.MemberAdam` with each member's lr and betas. Every loss is a mean over one
member's batch (the loss's own formula, mapped over the member dimension with ``torch.func.vmap``), and the
step's loss is the members' sum, so each member's gradient is its own. Penalties weigh each member's value by
its λ (:meth:`~ganbench.penalties.GradientPenalty.members`); a clipping loss clips each member by its bound.

Per member, as a solo run: divergence checks (a member that diverges is frozen and its outcome handed out at
once; the others go on bit for bit as without it, since no op mixes members), evaluation by its own
evaluator of its own solo G (its weights copied in; the members' samples go through the extractor together,
:func:`~ganbench.evaluate.evaluate_together`), and a checkpoint in the solo run's format at each
evaluation point, from which the ensemble resumes exactly (members whose checkpoints are at different steps
resume as separate ensembles).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

import torch
from torch import Tensor, nn

from ganbench.data.base import Dataset
from ganbench.ensemble.grouped import GroupedNet
from ganbench.ensemble.optim import MemberAdam
from ganbench.ensemble.plan import MEMBER_HPARAMS, ensemble_blocker, ensemble_key
from ganbench.errors import GanbenchError
from ganbench.evaluate import Evaluation, Evaluator, evaluate_together
from ganbench.hparams import value as hp_value
from ganbench.losses import GanLoss
from ganbench.specs import RunSpec
from ganbench.train import (DIVERGENCE_CHECK_EVERY, Checkpointing, Outcome, TrainingRun, build_run, ema_update,
                            generator_turn, rng_kept, train)

OnOutcome = Callable[[int, Outcome], None]  # (member index, its outcome), as soon as the member is finished
OnEvaluation = Callable[[int, int, Evaluation], None]  # (member index, step, its evaluation there)


@dataclass
class Member:
    """One run of the ensemble: its solo run's state (whose networks serve as its solo copies for evaluation
    and checkpoints), its random stream, and what it has done so far."""

    run: TrainingRun
    generator: torch.Generator
    evaluator: Evaluator | None
    checkpointing: Checkpointing | None
    history: list[dict[str, Any]] = field(default_factory=list)
    compute: dict[str, Any] = field(default_factory=dict)
    log: dict[str, float] = field(default_factory=lambda: {"d": float("nan"), "g": float("nan")})
    samples: Tensor | None = None
    active: bool = True

    def rand(self, shape: tuple[int, ...], like: Tensor) -> Tensor:
        return torch.rand(shape, device=like.device, dtype=like.dtype, generator=self.generator)


def train_ensemble(specs: Sequence[RunSpec], dataset: Dataset, *, device: torch.device | str = "cpu",
                   evaluators: Sequence[Evaluator | None] | None = None,
                   checkpointings: Sequence[Checkpointing | None] | None = None,
                   on_outcome: OnOutcome | None = None, on_evaluation: OnEvaluation | None = None,
                   progress: Callable[[int], None] | None = None) -> list[Outcome]:
    """Train ``specs`` (runs sharing an :func:`~ganbench.ensemble.plan.ensemble_key`) as one ensemble;
    returns each member's :class:`~ganbench.train.Outcome`, in order, each also handed to ``on_outcome`` as
    soon as that member is finished (diverged or done). ``evaluators``: each member's, best made with
    :meth:`~ganbench.evaluate.Evaluator.for_run` from one, so they share one extractor; ``on_evaluation`` sees
    each member's evaluation before its history row is stored (TensorBoard's samples). Raises
    :class:`GanbenchError` when the runs cannot train together (a blocker, different keys, or a network with no
    grouped form)."""
    device = torch.device(device)
    k = len(specs)
    evaluators = list(evaluators) if evaluators is not None else [None] * k
    checkpointings = list(checkpointings) if checkpointings is not None else [None] * k
    for spec in specs:
        why = ensemble_blocker(spec)
        if why is not None:
            raise GanbenchError(f"run {spec.run_id} cannot train in an ensemble: {why}")
    if len({ensemble_key(spec) for spec in specs}) > 1:
        raise GanbenchError("runs of one ensemble must differ only in seed and " + ", ".join(MEMBER_HPARAMS))
    states = [cp.load() if cp is not None else None for cp in checkpointings]
    starts = [int(state["step"]) if state is not None else 0 for state in states]
    if len(set(starts)) > 1:  # killed between two members' checkpoints: each step's members resume together
        outcomes: dict[int, Outcome] = {}

        def renumbered(index: list[int]) -> OnOutcome | None:  # a part's member j is this ensemble's index[j]
            return (lambda j, outcome: on_outcome(index[j], outcome)) if on_outcome is not None else None

        for start in sorted(set(starts)):
            index = [i for i in range(k) if starts[i] == start]
            forward = renumbered(index)
            parts = train_ensemble([specs[i] for i in index], dataset, device=device,
                                   evaluators=[evaluators[i] for i in index],
                                   checkpointings=[checkpointings[i] for i in index], on_outcome=forward,
                                   on_evaluation=_renumbered_evaluation(on_evaluation, index), progress=progress)
            outcomes.update(zip(index, parts))
        return [outcomes[i] for i in range(k)]
    return _Ensemble(specs, dataset, device, evaluators, checkpointings, states, on_evaluation).train(
        on_outcome, progress)


def _renumbered_evaluation(on_evaluation: OnEvaluation | None, index: list[int]) -> OnEvaluation | None:
    return (lambda j, step, evaluation: on_evaluation(index[j], step, evaluation)) if on_evaluation else None


class _Ensemble:
    """The members, their grouped networks and optimisers; :meth:`train` is the loop."""

    def __init__(self, specs: Sequence[RunSpec], dataset: Dataset, device: torch.device,
                 evaluators: Sequence[Evaluator | None], checkpointings: Sequence[Checkpointing | None],
                 states: Sequence[dict[str, Any] | None], on_evaluation: OnEvaluation | None = None):
        self.specs, self.device, self.k = list(specs), device, len(specs)
        self.on_evaluation = on_evaluation
        self.members = [self._member(spec, dataset, evaluator, cp)
                        for spec, evaluator, cp in zip(specs, evaluators, checkpointings)]
        runs = [m.run for m in self.members]
        first = runs[0]
        self.G = GroupedNet([run.G for run in runs])
        self.D = GroupedNet([run.D for run in runs])
        self.G_ema = GroupedNet([run.G_ema for run in runs]) if first.G_ema is not None else None
        column = {name: [hp_value(run.hp, name) for run in runs] for name in ("lr", "beta1", "beta2")}
        self.opt_g = MemberAdam(self.G.parameters(), self.k, lr=column["lr"], beta1=column["beta1"],
                                beta2=column["beta2"])
        self.opt_d = MemberAdam(self.D.parameters(), self.k, lr=column["lr"], beta1=column["beta1"],
                                beta2=column["beta2"])
        self.loss: GanLoss = first.loss
        self.terms = torch.func.vmap(self.loss.terms)  # each member's (d_loss, g_loss): a mean over its batch
        self.clips = type(self.loss).constrain is not GanLoss.constrain
        self.penalty, self.every = first.penalty, hp_value(first.hp, "penalty_every")
        self.lam = torch.tensor([run.lam * self.every for run in runs], device=device)  # λ·k, as the solo run
        self.start = 0
        if states[0] is not None:
            self._resume(states)
        for i, member in enumerate(self.members):  # provenance: members' float paths differ from a solo run's
            member.compute["ensemble"] = {"members": self.k, "member": i}

    def _member(self, spec: RunSpec, dataset: Dataset, evaluator: Evaluator | None,
                checkpointing: Checkpointing | None) -> Member:
        run = build_run(spec, dataset, self.device)  # seeds the global generator and draws the initialisation
        generator = torch.Generator(device=self.device)
        generator.set_state(torch.cuda.get_rng_state(self.device) if self.device.type == "cuda"
                            else torch.get_rng_state())
        compute = {"train_seconds": 0.0, "eval_seconds": 0.0, "flops_per_step": None}
        return Member(run, generator, evaluator, checkpointing, compute=compute)

    # ---- the steps, for all members at once

    def latents(self) -> Tensor:
        """(K, B, z): each member's next training latents, from its own stream."""
        return torch.stack([m.run.prior(m.run.batch_size, generator=m.generator) for m in self.members])

    def real_batches(self) -> Tensor:
        """(K, B, …): each member's next real batch, from its own sampler."""
        return torch.stack([m.run.real_batch() for m in self.members])

    def scores(self, net: nn.Module, x: Tensor) -> Tensor:
        return net(x).reshape(self.k, -1)

    def discriminator_step(self, x: Tensor, z: Tensor, step: int) -> tuple[Tensor, Tensor]:
        """One D update of every member; returns (each member's D loss, its scores on x), detached."""
        with torch.no_grad():
            fake = self.G(z)
        d_real, d_fake = self.scores(self.D, x), self.scores(self.D, fake)
        d_loss, _ = self.terms(d_real, d_fake)
        if self.lam.any() and step % self.every == 0:
            rands = [m.rand for m in self.members]
            d_loss = d_loss + self.lam * self.penalty.members(lambda v: self.scores(self.D, v), x, fake, rands)
        self.opt_d.zero_grad()
        d_loss.sum().backward()
        self.opt_d.step()
        if self.clips:
            self._clip()
        return d_loss.detach(), d_real.detach()

    @torch.no_grad()
    def _clip(self) -> None:
        """Each active member's D weights as its own loss allows them (WGAN's clipping bound)."""
        for p in self.D.parameters():
            view = p.view(self.k, -1)
            for i, member in enumerate(self.members):
                if member.active:
                    view[i].copy_(member.run.loss.constrain(view[i]))

    def generator_step(self, x: Tensor, z: Tensor, d_real: Tensor, step: int) -> Tensor:
        """One G update of every member (fresh latents for a loss that resamples); returns G's losses."""
        if self.loss.resamples_latents_for_g:
            z = self.latents()
        if self.loss.g_uses_real_scores:
            with torch.no_grad():
                d_real = self.scores(self.D, x)
        self.D.requires_grad_(False)
        try:
            _, g_loss = self.terms(d_real, self.scores(self.D, self.G(z)))
            self.opt_g.zero_grad()
            g_loss.sum().backward()
            self.opt_g.step()
        finally:
            self.D.requires_grad_(True)
        if self.G_ema is not None:
            ema_update(self.G_ema, self.G, self.members[0].run.at("ema", step))
        return g_loss.detach()

    # ---- per member: faults, evaluation, checkpoints

    def finite(self, losses: list[Tensor]) -> tuple[Tensor, Tensor]:
        """(K,) each, on the CPU: whether each member's losses since the last check are all finite, and whether
        its weights are (one device sync for all members)."""
        losses_ok = torch.isfinite(torch.stack(losses)).all(0) if losses else torch.ones(self.k, dtype=torch.bool)
        weights_ok = torch.ones(self.k, dtype=torch.bool, device=losses_ok.device)
        for net in (self.G, self.D):
            for p in net.parameters():
                weights_ok = weights_ok & torch.isfinite(p.detach().view(self.k, -1)).all(1)
        return losses_ok.cpu(), weights_ok.cpu()

    def solo(self, i: int) -> tuple[nn.Module, nn.Module]:
        """Member ``i``'s (evaluated G, D) as solo networks holding its current weights."""
        run = self.members[i].run
        run.G.load_state_dict(self.G.member_state_dict(i))
        run.D.load_state_dict(self.D.member_state_dict(i))
        if self.G_ema is not None:
            run.G_ema.load_state_dict(self.G_ema.member_state_dict(i))
        return run.G_ema or run.G, run.D

    def outcome(self, i: int, status: str, step: int | None = None, what: str | None = None) -> Outcome:
        member = self.members[i]
        generator, discriminator = self.solo(i)
        return Outcome(status, member.history, generator, member.run.sample_latent, member.compute, discriminator,
                       diverged_at=step, diverged_what=what, samples=member.samples)

    def evaluate(self, index: list[int], step: int) -> None:
        """Members ``index``'s history rows at ``step``: their losses and, with an evaluator, their metrics, all
        evaluated together (each member is charged its share of the time)."""
        evaluating = [i for i in index if self.members[i].evaluator is not None]
        evaluations: dict[int, Evaluation] = {}
        if evaluating:
            tic = time.perf_counter()
            generators = [self.solo(i)[0] for i in evaluating]
            with rng_kept(self.device):
                together = evaluate_together([self.members[i].evaluator for i in evaluating], generators,
                                             [self.members[i].run.sample_latent for i in evaluating], step)
            evaluations = dict(zip(evaluating, together))
            share = (time.perf_counter() - tic) / len(evaluating)
        for i in index:
            member = self.members[i]
            row: dict[str, Any] = {"step": step, "losses": dict(member.log),
                                   "seconds": member.compute["train_seconds"]}
            if i in evaluations:
                evaluation = evaluations[i]
                row["metrics"], member.samples = dict(evaluation.metrics), evaluation.samples
                if evaluation.panel:
                    row["sampling_panel"] = {key: list(v) for key, v in evaluation.panel.items()}
                member.compute["eval_seconds"] += share
                if self.on_evaluation is not None:
                    self.on_evaluation(i, step, evaluation)
            member.history.append(row)
            member.compute["steps"] = step

    def checkpoint(self, i: int, step: int) -> None:
        """Member ``i``'s state in a solo run's checkpoint format (it resumes alone or in an ensemble)."""
        member = self.members[i]
        if member.checkpointing is None:
            return
        run = member.run
        rng = {"cpu": member.generator.get_state()} if self.device.type != "cuda" else \
            {"cpu": torch.get_rng_state(), "cuda": member.generator.get_state()}
        member.checkpointing.save({
            "step": step, "G": self.G.member_state_dict(i), "D": self.D.member_state_dict(i),
            "G_ema": self.G_ema.member_state_dict(i) if self.G_ema is not None else None,
            "opt_g": _adam_state(self.opt_g, self.G, i, run.G, run.opt_g),
            "opt_d": _adam_state(self.opt_d, self.D, i, run.D, run.opt_d),
            "loss": run.loss.state_dict(), "augment": run.augment.state_dict(), "lecam": {},
            "sampler": run.sampler.state_dict(), "rng": rng, "history": list(member.history),
            "compute": dict(member.compute)})
        member.checkpointing.on_history(member.history)

    def _resume(self, states: Sequence[dict[str, Any]]) -> None:
        for i, (member, state) in enumerate(zip(self.members, states)):
            run = member.run
            self.G.load_member(i, state["G"])
            self.D.load_member(i, state["D"])
            if self.G_ema is not None:
                self.G_ema.load_member(i, state["G_ema"])
            _load_adam(self.opt_g, self.G, i, run.G, state["opt_g"])
            _load_adam(self.opt_d, self.D, i, run.D, state["opt_d"])
            run.sampler.load_state_dict(state["sampler"])
            member.generator.set_state(state["rng"]["cuda" if self.device.type == "cuda" else "cpu"])
            member.history, member.compute = list(state["history"]), dict(state["compute"])
        self.start = int(states[0]["step"])

    # ---- the loop

    def train(self, on_outcome: OnOutcome | None, progress: Callable[[int], None] | None) -> list[Outcome]:
        first = self.members[0].run
        steps, eval_steps = first.spec.budget.steps, set(first.spec.budget.eval_steps)
        n_disc = first.hp.get("n_disc", 1)
        outcomes: dict[int, Outcome] = {}

        def settle(i: int, outcome: Outcome) -> None:
            outcomes[i] = outcome
            if on_outcome is not None:
                on_outcome(i, outcome)

        pending: list[Tensor] = []
        last: dict[str, Tensor] = {}  # the latest D and G losses, read into a member's row at evaluation
        if self.start == 0:
            flops = solo_step_flops(first.spec, first.dataset, self.device)
            for member in self.members:
                member.compute["flops_per_step"] = flops
        tic = time.perf_counter()
        for step in range(self.start + 1, steps + 1):
            z, x = self.latents(), self.real_batches()
            last["d"], d_real = self.discriminator_step(x, z, step)
            pending.append(last["d"])
            if generator_turn(step, n_disc):
                last["g"] = self.generator_step(x, z, d_real, step)
                pending.append(last["g"])
            if progress:
                progress(step)

            # ---- per member: divergence check, evaluation and checkpoint
            if step % DIVERGENCE_CHECK_EVERY != 0 and step not in eval_steps:
                continue
            losses_ok, weights_ok = self.finite(pending)
            pending.clear()
            self._charge(time.perf_counter() - tic, step)
            for i, member in enumerate(self.members):
                if member.active and not (losses_ok[i] and weights_ok[i]):
                    member.active = False  # frozen: the others go on as if it were not there
                    self.opt_g.freeze(i)
                    self.opt_d.freeze(i)
                    what = "non-finite loss" if not losses_ok[i] else "non-finite parameters"
                    settle(i, self.outcome(i, "diverged", step, what))
            if step in eval_steps:
                values = {name: losses.tolist() for name, losses in last.items()}
                active = [i for i, member in enumerate(self.members) if member.active]
                for i in active:
                    self.members[i].log.update({name: v[i] for name, v in values.items()})
                self.evaluate(active, step)
                for i in active:
                    self.checkpoint(i, step)
            if not any(m.active for m in self.members):
                break
            tic = time.perf_counter()
        for i, member in enumerate(self.members):
            if member.active:
                member.compute["steps"] = steps
                settle(i, self.outcome(i, "done"))
        return [outcomes[i] for i in range(self.k)]

    def _charge(self, elapsed: float, step: int) -> None:
        """Each active member's share of the ensemble's training time since the last check."""
        for member in self.members:
            if member.active:
                member.compute["train_seconds"] += elapsed / self.k
                member.compute["steps"] = step


def solo_step_flops(spec: RunSpec, dataset: Dataset, device: torch.device) -> float:
    """FLOPs of one step of ``spec`` trained alone, as the solo trainer counts them (its first step), so a
    member's record states the work of its run, not of the grouped kernels (PyTorch's FLOP counter reads
    grouped convolutions differently). Counted on a throwaway one-step run; the caller's random state is kept."""
    one_step = replace(spec, budget=replace(spec.budget, steps=1, eval_every=1))
    with rng_kept(device):
        return float(train(one_step, dataset, device=device).compute["flops_per_step"])


def _solo_names(net: nn.Module) -> list[str]:
    return [name for name, _ in net.named_parameters()]


def _moments(opt: MemberAdam, grouped: GroupedNet) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    names = [name for name, _ in grouped.named_parameters()]
    return dict(zip(names, opt.exp_avg)), dict(zip(names, opt.exp_avg_sq))


def _adam_state(opt: MemberAdam, grouped: GroupedNet, i: int, solo: nn.Module,
                solo_opt: torch.optim.Adam) -> dict[str, Any]:
    """Member ``i``'s optimiser state as ``torch.optim.Adam.state_dict()`` of its solo network would hold it."""
    exp_avg, exp_avg_sq = (grouped.member_state_dict(i, moments) for moments in _moments(opt, grouped))
    step = torch.tensor(float(opt.steps[i, 0]))
    state = {index: {"step": step.clone(), "exp_avg": exp_avg[name], "exp_avg_sq": exp_avg_sq[name]}
             for index, name in enumerate(_solo_names(solo))}
    groups = solo_opt.state_dict()["param_groups"]
    for group in groups:
        group["lr"], group["betas"] = float(opt.lr[i, 0]), (float(opt.beta1[i, 0]), float(opt.beta2[i, 0]))
    return {"state": state, "param_groups": groups}


def _load_adam(opt: MemberAdam, grouped: GroupedNet, i: int, solo: nn.Module, state: dict[str, Any]) -> None:
    """Member ``i``'s moments and step count from a solo run's Adam state (the inverse of :func:`_adam_state`)."""
    names = _solo_names(solo)
    per_param = state["state"]
    if not per_param:  # checkpointed before its first step
        return
    for which, moments in zip(("exp_avg", "exp_avg_sq"), _moments(opt, grouped)):
        grouped.load_member(i, {name: per_param[index][which] for index, name in enumerate(names)}, moments)
    opt.steps[i, 0] = float(per_param[0]["step"])
