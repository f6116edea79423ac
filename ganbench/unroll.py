"""The unrolled GAN's look-ahead critic (Metz et al. 2017, "Unrolled Generative Adversarial Networks").

G's update uses the surrogate loss f(θ_G, θ_D^K(θ_G, θ_D)): θ_D^K is D's parameters after K optimiser
steps on D's loss from the current θ_D, and G's gradient flows *through* those K steps, because the fakes
inside each unrolled D objective are G's outputs built with gradient. :func:`unrolled_critic` returns
D's forward under θ_K; the trainer scores G's fakes with it and back-propagates as usual.

How, and why this way:

- **Adam as tensor ops.** Each step is torch.optim.Adam's single-tensor update written out of place
  (``lerp`` for the first moment, ``addcmul`` for the second, bias corrections from the parameter's own
  step count, ``addcdiv`` for the update), so θ_K equals what torch's optimiser would reach from the same
  state, and autograd can differentiate it. The inner gradients are taken with ``create_graph=True``;
  the trainer's objective may itself contain a gradient penalty (a ``create_graph`` gradient on D's
  input), so G's backward is then a third-order pass, which every op D uses supports.
- **The sqrt guard.** d√v/dv = 1/(2√v) is infinite at v = 0, and v is exactly 0 for any entry whose
  gradient has been exactly 0 so far (a dead unit, an unused input); its incoming derivative is then 0
  and the chain gives inf·0 = NaN, which would reach G. We take √max(v, tiny), tiny being the dtype's
  smallest normal number (1.2e-38 in float32, 2.2e-308 in float64): the clamp passes no gradient where
  v < tiny, so the inf never forms, and the value changes only where v < tiny, by at most
  √tiny / √(1 − β2) ≈ 3.4e-18 (float32, β2 = 0.999, first step) against Adam's eps = 1e-8 in the same
  denominator — a relative change of 3e-10, far below float32's resolution, so θ_K still matches torch.
- **Nothing of D changes.** θ_0 is D's parameters *detached* (new leaves on the same storage), so G's
  backward stops there: D's real parameters get no ``.grad`` and no compute is spent on them. Buffers
  (batch-norm running statistics, spectral-norm u/v vectors) are cloned once and carried through the K
  steps, so the look-ahead D's statistics evolve as the real D's would while D's own stay put. The
  optimiser's state is read, never written (``optimizer.state`` is a defaultdict; we never index it).
- **Parametrisations.** D runs through :func:`torch.func.functional_call` with the names
  ``named_parameters()`` gives. For a spectral-normalised layer that is
  ``…parametrizations.weight.original``, which functional_call substitutes *under* the parametrisation
  (σ-normalisation still applies; passing ``…weight`` instead would silently switch it off). The power
  iteration's in-place update of u and v lands in our cloned buffers.
- **Batch norm.** torch's fused ``batch_norm`` kernel has derivatives of order two at most, and a
  gradient penalty inside the unrolled objective makes G's backward third order through D. So while
  D runs under θ_k, a thread-local :class:`~torch.overrides.TorchFunctionMode` answers every
  ``F.batch_norm`` call — from ``nn.BatchNorm*`` or any subclass with its own forward, such as
  :class:`~ganbench.nets.layers.StudyBatchNorm` — with the same normalisation in plain tensor ops
  (``var_mean``, ``rsqrt``; running statistics updated as the kernel does, from the unbiased variance),
  which autograd differentiates to any order. Values agree with the kernel to rounding (~1e-16 relative
  in float64, ~1e-7 in float32). It is switched on only for a D that has batch-norm layers, and only
  inside D's forward: G, the penalty's gradient and everything else run untouched.
- **What is trained.** A parameter is updated when it belongs to one of the optimiser's param groups
  (that group's hyperparameters apply), whatever its ``requires_grad`` flag says at the time (trainers
  switch D's flags off around the G step). As in torch's Adam, a parameter that gets no gradient at a
  step (``None``: it does not enter the loss) is skipped — no update, no state change — while a
  gradient of exact zeros is a real step. Parameters outside the optimiser stay constant.
- **Constraints.** ``constrain`` (a loss's own rule, e.g. WGAN's clip to ±c) is applied to every
  parameter after every unrolled step, as the loss's ``after_d_step`` hook does after every real step.
"""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call
from torch.nn.modules.batchnorm import _BatchNorm
from torch.overrides import TorchFunctionMode

Net = Callable[[Tensor], Tensor]
Objective = Callable[[Net], Tensor]


@dataclass(frozen=True)
class AdamSettings:
    """One param group's Adam hyperparameters, as plain floats."""

    lr: float
    beta1: float
    beta2: float
    eps: float
    weight_decay: float
    maximize: bool
    decoupled_weight_decay: bool  # AdamW

    @classmethod
    def from_group(cls, group: dict) -> "AdamSettings":
        if group.get("amsgrad", False):
            raise ValueError("unrolled_critic does not support Adam(amsgrad=True): its running maximum of "
                             "the second moment is not written here; use amsgrad=False")
        beta1, beta2 = (float(b) for b in group["betas"])
        return cls(lr=float(group["lr"]), beta1=beta1, beta2=beta2, eps=float(group["eps"]),
                   weight_decay=float(group["weight_decay"]), maximize=bool(group.get("maximize", False)),
                   decoupled_weight_decay=bool(group.get("decoupled_weight_decay", False)))


@dataclass
class AdamSlot:
    """One parameter's Adam state inside the unroll: moments (in the graph) and the step count."""

    settings: AdamSettings
    exp_avg: Tensor
    exp_avg_sq: Tensor
    step: float


def adam_step(param: Tensor, grad: Tensor, slot: AdamSlot) -> Tensor:
    """torch.optim.Adam's single-tensor update, out of place and differentiable; updates ``slot``."""
    s = slot.settings
    if s.maximize:
        grad = -grad
    slot.step += 1
    if s.weight_decay != 0:
        if s.decoupled_weight_decay:
            param = param * (1 - s.lr * s.weight_decay)
        else:
            grad = grad + s.weight_decay * param
    slot.exp_avg = torch.lerp(slot.exp_avg, grad, 1 - s.beta1)
    slot.exp_avg_sq = torch.addcmul(slot.exp_avg_sq * s.beta2, grad, grad, value=1 - s.beta2)
    bias_correction1 = 1 - s.beta1 ** slot.step
    bias_correction2_sqrt = (1 - s.beta2 ** slot.step) ** 0.5
    floor = torch.finfo(slot.exp_avg_sq.dtype).tiny  # the sqrt guard: see the module docstring
    denom = slot.exp_avg_sq.clamp_min(floor).sqrt() / bias_correction2_sqrt + s.eps
    return torch.addcdiv(param, slot.exp_avg, denom, value=-s.lr / bias_correction1)


def _slots(D: nn.Module, optimizer: torch.optim.Adam) -> dict[str, AdamSlot]:
    """Name ↦ Adam slot for each of D's parameters the optimiser trains (state copied by reference)."""
    group_of = {id(p): group for group in optimizer.param_groups for p in group["params"]}
    slots = {}
    for name, p in D.named_parameters():
        group = group_of.get(id(p))
        if group is None:
            continue
        if p.is_complex():
            raise ValueError(f"unrolled_critic does not support complex parameters ({name})")
        state = optimizer.state.get(p) or {}  # .get: indexing the defaultdict would add an entry
        if state:
            exp_avg, exp_avg_sq, step = state["exp_avg"].detach(), state["exp_avg_sq"].detach(), float(state["step"])
        else:
            exp_avg, exp_avg_sq, step = torch.zeros_like(p), torch.zeros_like(p), 0.0
        slots[name] = AdamSlot(AdamSettings.from_group(group), exp_avg, exp_avg_sq, step)
    if not slots:
        raise ValueError("the optimizer trains none of D's parameters (was G's optimizer passed?)")
    return slots


def batch_norm_in_plain_ops(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
                            weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
                            momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """``F.batch_norm`` written in differentiable-to-any-order ops, with the kernel's side effects."""
    dims, shape = [0, *range(2, input.dim())], [1, -1] + [1] * (input.dim() - 2)
    if training:
        n = input.numel() // input.shape[1]
        if n < 2:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                             f"{tuple(input.shape)}")
        var, mean = torch.var_mean(input, dim=dims, correction=0)
        with torch.no_grad():
            if running_mean is not None:
                running_mean.lerp_(mean, momentum)
            if running_var is not None:
                running_var.lerp_(var * (n / (n - 1)), momentum)
    else:
        mean, var = running_mean, running_var
    out = (input - mean.reshape(shape)) * torch.rsqrt(var.reshape(shape) + eps)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


class PlainBatchNorm(TorchFunctionMode):
    """Within this (thread-local) mode, ``F.batch_norm`` is :func:`batch_norm_in_plain_ops`."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.batch_norm:
            return batch_norm_in_plain_ops(*args, **kwargs)
        return func(*args, **kwargs)


class UnrolledCritic:
    """D's forward under fixed parameters and buffers; called like D. ``params`` is θ_K by name."""

    def __init__(self, module: nn.Module, params: dict[str, Tensor], buffers: dict[str, Tensor]):
        self.module, self.params, self.buffers = module, params, buffers
        self.plain_batch_norm = any(isinstance(m, _BatchNorm) for m in module.modules())

    def __call__(self, x: Tensor) -> Tensor:
        with PlainBatchNorm() if self.plain_batch_norm else nullcontext():
            return functional_call(self.module, {**self.params, **self.buffers}, (x,))


def unrolled_critic(D: nn.Module, optimizer: torch.optim.Adam, steps: int, objective: Objective,
                    constrain: Callable[[Tensor], Tensor] | None = None) -> Net:
    """forward(x) = D's output under θ_K, θ_K = ``steps`` differentiable Adam steps from D's current
    parameters and ``optimizer``'s current state (a fresh state where it has none yet), step k minimising
    ``objective(forward_k)``, forward_k being D under θ_k.

    ``objective(net)`` returns D's scalar loss, drawing its own batches and calling ``net(x)`` for D's raw
    output; for G's gradient to flow through the unroll its fakes must carry G's graph. ``constrain``
    maps each parameter to its allowed set after every step (WGAN: ``lambda p: p.clamp(-c, c)``).
    With ``steps == 0`` the forward is D itself. D, its buffers and the optimiser are left unchanged;
    the unrolled forward holds the graph of all K steps until G's backward frees it.
    """
    if steps < 0:
        raise ValueError(f"steps must be ≥ 0, got {steps}")
    if steps == 0:
        return D
    if not isinstance(optimizer, torch.optim.Adam):
        raise TypeError(f"unrolled_critic unrolls torch.optim.Adam (or AdamW), got {type(optimizer).__name__}")
    slots = _slots(D, optimizer)
    params = {name: p.detach().requires_grad_(name in slots) for name, p in D.named_parameters()}
    buffers = {name: b.detach().clone() for name, b in D.named_buffers()}
    trained = list(slots)
    with torch.enable_grad():
        for _ in range(steps):
            loss = objective(UnrolledCritic(D, params, buffers))
            if loss.dim() != 0:
                raise ValueError(f"objective must return a scalar loss, got shape {tuple(loss.shape)}")
            if not loss.requires_grad:
                raise ValueError("objective's loss does not depend on the net it was given: "
                                 "it must score its batches with the net passed in")
            grads = torch.autograd.grad(loss, [params[n] for n in trained], create_graph=True, allow_unused=True)
            params = dict(params)
            for name, grad in zip(trained, grads):
                if grad is not None:  # as torch's Adam: no gradient, no step
                    params[name] = adam_step(params[name], grad, slots[name])
            if constrain is not None:
                params = {name: constrain(p) for name, p in params.items()}
    return UnrolledCritic(D, params, buffers)
