"""Adam for an ensemble: one optimiser over a grouped network, with each member's own hyperparameters.

Every parameter of a :class:`~ganbench.ensemble.grouped.GroupedNet` is member-major: its first dimension
splits into K equal, contiguous chunks, one per member. So it views as (K, -1), and :class:`MemberAdam` runs
PyTorch's Adam update on that view with a (K, 1) column each for lr, β1 and β2. Each member gets the update its
own ``torch.optim.Adam`` would give, with its own bias-correction step count. A member that is not ``active``
(it diverged) neither moves nor counts steps, so the other members go on exactly as if it were not there.
tests/ensemble/test_optim.py compares every member with PyTorch's Adam.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import torch
from torch import Tensor, nn


def _column(values: float | Sequence[float], k: int) -> Tensor:
    """K per-member values as a (K, 1) float64 column (one value repeated when given one)."""
    column = torch.as_tensor(values, dtype=torch.float64).reshape(-1, 1)
    if column.shape[0] == 1:
        column = column.expand(k, 1)
    if column.shape[0] != k:
        raise ValueError(f"{column.shape[0]} values for an ensemble of {k}")
    return column.clone()


class MemberAdam:
    """PyTorch's Adam (no weight decay, no amsgrad) per member, over parameters whose first dimension holds K
    members' chunks. ``lr``, ``beta1``, ``beta2``: one value, or one per member; they may be set between steps
    (schedules) with :meth:`set`."""

    def __init__(self, params: Iterable[nn.Parameter], members: int, *, lr: float | Sequence[float] = 2e-4,
                 beta1: float | Sequence[float] = 0.5, beta2: float | Sequence[float] = 0.999, eps: float = 1e-8):
        self.params = [p for p in params if p.requires_grad]
        self.k, self.eps = members, eps
        for p in self.params:
            if p.shape[0] % members:
                raise ValueError(f"a parameter of shape {tuple(p.shape)} does not split into {members} members")
        self.set(lr=lr, beta1=beta1, beta2=beta2)
        self.steps = torch.zeros(members, 1, dtype=torch.float64)
        self.active = torch.ones(members, 1, dtype=torch.bool)
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]

    def set(self, *, lr: float | Sequence[float] | None = None, beta1: float | Sequence[float] | None = None,
            beta2: float | Sequence[float] | None = None) -> None:
        """This step's per-member lr and betas (None: unchanged)."""
        if lr is not None:
            self.lr = _column(lr, self.k)
        if beta1 is not None:
            self.beta1 = _column(beta1, self.k)
        if beta2 is not None:
            self.beta2 = _column(beta2, self.k)

    def freeze(self, member: int) -> None:
        """Stop updating ``member`` (it diverged): its weights and moments stay as they are from now on."""
        self.active[member] = False

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.steps += self.active.to(self.steps.dtype)
        t = self.steps.clamp_min(1)  # a frozen member before its first step: no division by zero
        step_size = self.lr / (1 - self.beta1 ** t)  # per member, in float64 as torch's Python scalars
        bias2_sqrt = (1 - self.beta2 ** t).sqrt()
        columns: dict[torch.dtype, tuple[Tensor, ...]] = {}
        frozen = (~self.active[:, 0]).nonzero()[:, 0]
        for p, m, v in zip(self.params, self.exp_avg, self.exp_avg_sq):
            if p.grad is None:
                continue
            if p.dtype not in columns:  # once per step and dtype, not per parameter
                columns[p.dtype] = tuple(c.to(device=p.device, dtype=p.dtype) for c in (
                    1 - self.beta1, self.beta2, 1 - self.beta2, step_size, bias2_sqrt))
            w1, b2, w2, size, b2_sqrt = columns[p.dtype]
            grad, pv, mv, vv = (x.view(self.k, -1) for x in (p.grad, p, m, v))
            held = [x[frozen.to(x.device)].clone() for x in (pv, mv, vv)] if len(frozen) else None
            # PyTorch's Adam arithmetic, in place, with a column per member; every member takes the same ops,
            # so a frozen member (put back below) changes nothing for the others
            mv.lerp_(grad, w1)
            vv.mul_(b2).addcmul_(grad * w2, grad)  # (1 − β2)·g·g, in torch's order
            pv.sub_(size * mv / (vv.sqrt() / b2_sqrt + self.eps))
            if held is not None:
                for x, kept in zip((pv, mv, vv), held):
                    x[frozen.to(x.device)] = kept

    def state_dict(self) -> dict[str, Any]:
        return {"lr": self.lr.clone(), "beta1": self.beta1.clone(), "beta2": self.beta2.clone(),
                "steps": self.steps.clone(), "active": self.active.clone(),
                "exp_avg": [m.clone() for m in self.exp_avg], "exp_avg_sq": [v.clone() for v in self.exp_avg_sq]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name in ("lr", "beta1", "beta2", "steps", "active"):
            setattr(self, name, state[name].clone())
        for mine, theirs in ((self.exp_avg, state["exp_avg"]), (self.exp_avg_sq, state["exp_avg_sq"])):
            for m, t in zip(mine, theirs):
                m.copy_(t)
