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
    """Why ``spec`` cannot train in an ensemble, or None when it can. Read from the spec and the catalog's
    metadata, without torch; the networks are checked again when the ensemble is built (a layer with no
    grouped form sends its members back to solo training)."""
    from ganbench.catalog import ARCHS, LOSSES, dataset_task  # metadata only: no torch
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
    if LOSSES.meta(spec.model.loss).get("d_output", "logit") != "logit":
        return f"loss '{spec.model.loss}' has an autoencoder D and keeps state across steps (BEGAN's k)"
    if not ARCHS.meta(spec.model.arch).get("ensemble_pays"):
        return f"architecture '{spec.model.arch}' has no grouped form"
    norms = sorted({hp.get("d_norm"), hp.get("g_norm")} & {"spectral", "layer"})
    if norms:
        return f"{norms[0]} norm has no grouped form"
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


def describe_units(units: Sequence[Unit], ensemble: int | str, device: str = "cpu") -> str:
    """One line for the user: how ``--ensemble`` grouped the runs, and why the others train alone, e.g.
    "--ensemble auto: 30 runs in 6 ensembles of 5, 38 alone (kind 'floor' …: 10; no other run to group: 8)"."""
    groups = [len(u) for u in units if len(u) > 1]
    alone = [u[0] for u in units if len(u) == 1]
    why: dict[str, int] = {}
    for spec in alone:
        reason = ensemble_blocker(spec)
        if reason is None:
            reason = f"grouping does not pay on {device}" if ensemble == "auto" and not pays_on(spec, device) \
                else "no other run to group with"
        why[reason] = why.get(reason, 0) + 1
    sizes = sorted(set(groups))
    size_text = str(sizes[0]) if len(sizes) == 1 else f"{sizes[0]}–{sizes[-1]}" if sizes else ""
    text = f"--ensemble {ensemble}: {sum(groups)} runs in {len(groups)} ensemble{'s' * (len(groups) != 1)}" + \
        (f" of {size_text}" if groups else "")
    if alone:
        reasons = "; ".join(f"{reason}: {n}" for reason, n in sorted(why.items(), key=lambda kv: -kv[1]))
        text += f", {len(alone)} alone ({reasons})"
    return text
