"""Which runs may train together, and in which ensembles (``ganbench run --ensemble K|auto``).

Runs train as one ensemble when they differ only in what each member can hold on its own: the seed (its
initialisation, data order and latent stream) and the hyperparameters in :data:`MEMBER_HPARAMS` (per-member
Adam columns, penalty weights and clipping bounds). Everything else — dataset, architecture, loss, penalty,
n_disc, batch size, budget, evaluation, every other hyperparameter — is one key (:func:`ensemble_key`). A run
the ensemble trainer cannot take (:func:`ensemble_blocker`) trains alone, as without ``--ensemble``.
"""
from __future__ import annotations

import json
import math
from typing import Sequence

from ganbench.errors import GanbenchError
from ganbench.specs import RunSpec

#: hyperparameters each member of an ensemble holds its own value of
MEMBER_HPARAMS = ("lr", "beta1", "beta2", "lambda", "clip")
#: the largest ensemble ``--ensemble auto`` forms: per-member speed stopped growing past 8–16 members on CPU
#: (benchmarks/bench_ensemble_routes.py)
AUTO_MEMBERS = 16

Unit = tuple[RunSpec, ...]  # what one worker trains at once: one run, or the members of one ensemble


def ensemble_blocker(spec: RunSpec) -> str | None:
    """Why ``spec`` cannot train in an ensemble, or None when it can (its architecture is checked when the
    ensemble is built: a network with no grouped form sends its members back to solo training)."""
    from ganbench.catalog import LOSSES, dataset_task
    from ganbench.schedules import is_schedule

    hp = spec.hparams
    if spec.model.kind != "gan":
        return f"kind '{spec.model.kind}' (the ensemble trainer takes GANs)"
    if dataset_task(spec.dataset) != "generation":
        return f"dataset '{spec.dataset}' is a {dataset_task(spec.dataset)} task"
    for what, used in (("conditioning", spec.model.conditioning != "none"), ("augment", spec.model.augment != "none"),
                       ("unroll", bool(hp.get("unroll", 0))), ("lecam", float(hp.get("lecam", 0) or 0) > 0),
                       ("instance_noise", float(hp.get("instance_noise", 0) or 0) > 0)):
        if used:
            return f"{what} is not supported by the ensemble trainer"
    loss = LOSSES.entry(spec.model.loss).obj
    if loss.d_output != "logit" or loss.rescores_after_step:
        return f"loss '{spec.model.loss}' keeps state across steps (BEGAN's k)"
    scheduled = sorted(name for name, value in hp.items() if is_schedule(value))
    if scheduled:
        return f"hparams.{scheduled[0]} follows a schedule"
    return None


def ensemble_key(spec: RunSpec) -> str:
    """What members of one ensemble share: the spec without its seed, setting and per-member hyperparameters
    (suite, phase and role do not change what a run computes)."""
    content = spec.to_dict()
    for name in ("suite", "phase", "role", "headline", "setting", "seed"):
        content.pop(name, None)
    content["hparams"] = {k: v for k, v in content["hparams"].items() if k not in MEMBER_HPARAMS}
    if spec.model.penalty != "none":  # λ = 0 draws no penalty points: such a run's stream is another's
        content["penalised"] = bool(spec.hparams.get("lambda", 0))
    return json.dumps(content, sort_keys=True, separators=(",", ":"))


def parse_ensemble(value: str | int | None) -> int | str | None:
    """``--ensemble``: None (off), a member count ≥ 1, or "auto"."""
    if value is None or value == "off":
        return None
    if value == "auto":
        return "auto"
    try:
        count = int(value)
    except (TypeError, ValueError):
        count = 0
    if count < 1:
        raise GanbenchError(f"--ensemble: expected 'auto', 'off' or a number of members ≥ 1, got '{value}'")
    return count


def pays_on(spec: RunSpec, device: str) -> bool:
    """Whether grouping ``spec``'s architecture was measured to pay on ``device`` (catalog ``ensemble_pays``)."""
    from ganbench.catalog import ARCHS

    return device in ARCHS.meta(spec.model.arch).get("ensemble_pays", ())


def plan_units(specs: Sequence[RunSpec], ensemble: int | str | None, slots: int = 1,
               device: str = "cpu") -> list[Unit]:
    """The work units of ``specs``: each run alone when ``ensemble`` is None, else runs sharing a key grouped
    into ensembles of at most ``ensemble`` members. "auto": up to :data:`AUTO_MEMBERS`, only architectures
    whose grouping pays on ``device`` (on a CPU, not the conv nets), split further while there are fewer units
    than ``slots`` so every worker has an ensemble. Order follows the runs'."""
    if ensemble is None:
        return [(spec,) for spec in specs]
    limit = AUTO_MEMBERS if ensemble == "auto" else int(ensemble)
    groups: dict[str, list[RunSpec]] = {}
    units: list[list[RunSpec]] = []
    for spec in specs:
        if ensemble_blocker(spec) is not None or (ensemble == "auto" and not pays_on(spec, device)):
            units.append([spec])
            continue
        key = ensemble_key(spec)
        if key not in groups:
            groups[key] = []
            units.append(groups[key])
        groups[key].append(spec)
    chunked: list[list[RunSpec]] = []
    for unit in units:
        parts = math.ceil(len(unit) / limit)
        chunked += [unit[i::parts] for i in range(parts)] if parts > 1 else [unit]
    while ensemble == "auto" and len(chunked) < slots:
        largest = max(range(len(chunked)), key=lambda i: len(chunked[i]))
        if len(chunked[largest]) < 2:
            break
        unit = chunked.pop(largest)
        chunked[largest:largest] = [unit[0::2], unit[1::2]]
    return [tuple(unit) for unit in chunked]
