"""An in-memory checkpoint store for training tests: states go through torch.save and come back with
torch.load(weights_only=True), exactly as the results store writes and reads ``ckpt.pt``."""
from __future__ import annotations

import io
from typing import Any, Callable

import torch

from ganbench.train import Checkpointing


def serialising_store(can_resume: bool = True) -> tuple[Checkpointing, Callable[[], "dict[str, Any] | None"]]:
    """A Checkpointing keeping the last state saved (resuming from it unless ``can_resume`` is False), and the
    function that reads that state back."""
    saved: dict[str, bytes] = {}

    def save(state: dict[str, Any]) -> None:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        saved["bytes"] = buffer.getvalue()

    def load() -> "dict[str, Any] | None":
        return torch.load(io.BytesIO(saved["bytes"]), weights_only=True) if "bytes" in saved else None

    return Checkpointing(save=save, load=load if can_resume else lambda: None), load
