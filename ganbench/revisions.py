"""Which revision of the code computes a run: folded into its ``run_id``, so changed numerics get new ids.

A run's id hashes its spec, not the code that trains it. When a component changes what it computes —
a network's layers, a loss's update rule, the training loop — results stored by the old code must
not be resumed or reused as if the new code had made them. Each registered component may declare
``revision=N`` in its registry metadata (architectures, losses, penalties, datasets); the training
loops declare theirs here. Only revisions above 1 enter the spec, so every run whose code did not
change keeps the run_id it always had.
"""
from __future__ import annotations

from typing import Any

#: Training-loop revisions by model kind. GAN 2: the G step reuses the D step's latents (but for
#: WGAN-GP, which resamples) and G is updated on D steps 1, 2, 2 + n_disc, … (compare_gan v1.0
#: ``run_single_train_step``); EMA averages batch-norm statistics. VAE 2: σ = 1e-6 + softplus, likelihood summed over pixels and averaged over
#: channels (v1.0 ``VAE.py``).
TRAINER = {"gan": 2, "vae": 2}


def _revision(registry: Any, name: str | None) -> int:
    return int(registry.meta(name).get("revision", 1)) if name else 1


def revisions(kind: str, loss: str | None, arch: str, penalty: str, dataset: str) -> dict[str, int]:
    """The revisions (above 1) of the trainer, architecture, loss, penalty and dataset of one run."""
    from ganbench.catalog import ARCHS, DATASETS, LOSSES, PENALTIES

    found = {"trainer": TRAINER.get(kind, 1), "arch": _revision(ARCHS, arch),
             "loss": _revision(LOSSES, loss), "penalty": _revision(PENALTIES, penalty),
             "dataset": _revision(DATASETS, dataset)}
    return {component: number for component, number in found.items() if number > 1}
