"""FLOPs of a training step, counted by torch's own FLOP registry.

``torch.utils.flop_counter.FlopCounterMode`` also tracks modules with backward hooks, and those hooks
break ``torch.autograd.grad`` — which every gradient penalty calls. We only need the global total, so
the module tracker is replaced by one that attributes everything to "Global" and installs no hooks.
"""
from __future__ import annotations

from torch.utils.flop_counter import FlopCounterMode


class _GlobalOnly:
    parents = {"Global"}

    def __enter__(self) -> "_GlobalOnly":
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class StepFlopCounter(FlopCounterMode):
    """A FlopCounterMode that counts every op under "Global" and leaves autograd untouched."""

    def __init__(self) -> None:
        super().__init__(display=False)
        self.mod_tracker = _GlobalOnly()
