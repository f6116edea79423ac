"""Hyperparameters that change over a run: a value in a suite may be a schedule instead of a number.

R3GAN (Huang et al. 2024) anneals its learning rate, Adam's β2, the R1/R2 weight γ and the EMA with
cosine schedules; a fixed-value benchmark cannot reproduce it. A schedule is written in the suite as a
one-key mapping, ``lr: {cosine: [2e-4, 5e-5]}`` (start, end), and stored in the run spec the same way, so
it enters the run id and reads back from ``spec.json`` unchanged. Kinds:

- ``cosine: [a, b]``: ``b + (a − b) · ½(1 + cos(π t / T))`` — a at the first step, b at the last;
- ``linear: [a, b]``: ``a + (b − a) · t / T``.

``t`` counts steps from 0 (the first D step) to ``T = steps − 1`` (the last), so both ends are reached.
Only hyperparameters marked ``schedulable`` in :mod:`ganbench.hparams` may take one.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping

SCHEDULES: dict[str, Callable[[float, float, float], float]] = {
    "cosine": lambda a, b, f: b + (a - b) * 0.5 * (1 + math.cos(math.pi * f)),
    "linear": lambda a, b, f: a + (b - a) * f,
}


def is_schedule(value: Any) -> bool:
    """Whether a stored hyperparameter value is a schedule (a one-key mapping naming a kind)."""
    return isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in SCHEDULES


def ends(value: Any) -> tuple[float, float]:
    """(start, end) of a schedule; (v, v) for a fixed value."""
    if is_schedule(value):
        start, end = next(iter(value.values()))
        return float(start), float(end)
    return float(value), float(value)


def value_at(value: Any, step: int, steps: int) -> Any:
    """The hyperparameter at (1-based) D step ``step`` of a ``steps``-step run: a fixed value is itself."""
    if not is_schedule(value):
        return value
    kind, (start, end) = next(iter(value.items()))
    fraction = min(max(step - 1, 0) / (steps - 1), 1.0) if steps > 1 else 1.0
    return SCHEDULES[kind](float(start), float(end), fraction)


def describe(value: Any) -> str:
    """A schedule in words for tables and departures (``cosine 0.0002→5e-05``); a fixed value as itself."""
    if not is_schedule(value):
        return str(value)
    kind, (start, end) = next(iter(value.items()))
    return f"{kind} {start:g}→{end:g}"
