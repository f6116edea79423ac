"""Validated SuiteSpec → RunSpecs: grid points × seeded random draws × seeds.

A pure function of the spec: each (phase, dataset, model) draws from its own generator, so adding a
model never changes another's runs; a ``best_of`` phase expands once its source phase has a finished run
(``best`` looks it up) and is :class:`Pending` until then. Parsing and validation live in
:mod:`ganbench.suite`.
"""
from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping

import numpy as np

from ganbench.hparams import applies, defaults_for, without_opt_in_defaults
from ganbench.specs import (Budget, DatasetEntry, Distribution, EvalProtocol, ModelEntry, ModelSpec, Phase, RunSpec,
                            SuiteSpec, frozen)

BestLookup = Callable[[str, str, str, str], "Mapping[str, Any] | None"]
"""(phase, dataset, model name, metric) → the hyperparameters of that phase's best run, if known."""


@dataclass(frozen=True)
class Pending:
    """A best_of phase that cannot be expanded yet: its source phase has no finished run to pick from."""

    phase: str
    dataset: str
    model: str
    runs: int  # how many runs it will add (one per seed)
    waits_for: str


@dataclass(frozen=True)
class Expansion:
    runs: tuple[RunSpec, ...]
    pending: tuple[Pending, ...]


def search_space(spec: SuiteSpec, phase: Phase, dataset: DatasetEntry, model: ModelEntry) -> dict[str, Any]:
    """Merged search space for one (phase, dataset, model): suite < phase < dataset < model < the phase's
    overrides for that model; applicable keys only."""
    from ganbench.catalog import AUGMENTATIONS, CONDITIONINGS, LOSSES

    loss_params = tuple(LOSSES.meta(model.loss)["params"]) if model.loss else ()
    cond_params = tuple(CONDITIONINGS.meta(model.conditioning)["params"])
    aug_params = tuple(AUGMENTATIONS.meta(augment_for(model, dataset.kind))["params"])
    merged = {**spec.hparams, **phase.hparams, **dataset.hparams, **model.hparams,
              **phase.model_hparams.get(model.name, {})}
    return {k: v for k, v in merged.items()
            if applies(k, model.kind, loss_params, model.penalty, cond_params, aug_params)}


def _base(model: ModelEntry, data_kind: str) -> dict[str, Any]:
    """Every applicable hyperparameter at its default: the registry's, the loss's own, then the
    architecture's (e.g. no norm in the MLP's D)."""
    from ganbench.catalog import ARCHS, AUGMENTATIONS, CONDITIONINGS, LOSSES

    own = dict(CONDITIONINGS.meta(model.conditioning)["params"])
    aug = dict(AUGMENTATIONS.meta(augment_for(model, data_kind))["params"])
    if model.loss is None:
        values = defaults_for(model.kind, (), model.penalty, conditioning_defaults=own, augment_defaults=aug)
    else:
        meta = LOSSES.meta(model.loss)
        values = defaults_for(model.kind, tuple(meta["params"]), model.penalty, dict(meta["params"]), own, aug)
    arch_defaults = ARCHS.meta(model.arch[data_kind])["hparam_defaults"]
    values.update({k: v for k, v in arch_defaults.items() if k in values})
    return values


def augment_for(model: ModelEntry, data_kind: str) -> str:
    """The model's augmentation of D's inputs on data of this kind: DiffAugment transforms images, so a model
    that asks for it trains plain on vector data (as ``arch`` resolves per data kind)."""
    from ganbench.catalog import AUGMENTATIONS

    return model.augment if data_kind in AUGMENTATIONS.meta(model.augment)["data_kinds"] else "none"


def _rng(*parts: Any) -> np.random.Generator:
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _draw(dist: Distribution, rng: np.random.Generator) -> Any:
    if dist.kind == "choice":
        return dist.args[int(rng.integers(len(dist.args)))]
    low, high = dist.args
    if dist.kind == "int":
        return int(rng.integers(low, high + 1))
    if dist.kind == "loguniform":
        return float(10 ** rng.uniform(math.log10(low), math.log10(high)))
    return float(rng.uniform(low, high))


def settings(spec: SuiteSpec, phase: Phase, dataset: DatasetEntry, model: ModelEntry) -> list[dict[str, Any]]:
    """The hyperparameter settings of one (phase, dataset, model), fully resolved, in a fixed order."""
    space = search_space(spec, phase, dataset, model)
    base = _base(model, dataset.kind)
    base.update({k: v for k, v in space.items() if not isinstance(v, (tuple, Distribution))})
    grid_keys = sorted(k for k, v in space.items() if isinstance(v, tuple))
    dist_keys = sorted(k for k, v in space.items() if isinstance(v, Distribution))
    out: list[dict[str, Any]] = []
    if phase.include_defaults:
        first = {**base, **{k: space[k][0] for k in grid_keys}}
        defaults = {**model.defaults, **phase.model_defaults.get(model.name, {})}
        first.update({k: v for k, v in defaults.items() if k in base})
        out.append(first)
    n_random = phase.samples - len(out) if dist_keys else 1
    rng = _rng(spec.search_seed, phase.name, dataset.name, model.name)
    for point in itertools.product(*(space[k] for k in grid_keys)):
        for _ in range(max(n_random, 0)):
            setting = {**base, **dict(zip(grid_keys, point))}
            setting.update({k: _draw(space[k], rng) for k in dist_keys})
            out.append(setting)
    return [without_opt_in_defaults(setting) for setting in out]


def _run(spec: SuiteSpec, phase: Phase, dataset: DatasetEntry, model: ModelEntry, hparams: Mapping[str, Any],
         setting: int, seed: int) -> RunSpec:
    from ganbench.revisions import revisions

    model_spec = ModelSpec(model.name, model.kind, model.loss, model.arch[dataset.kind], model.penalty,
                           model.conditioning, augment_for(model, dataset.kind))
    code = revisions(model.kind, model.loss, model_spec.arch, model.penalty, dataset.name)
    return RunSpec(spec.name, phase.name, dataset.name, dataset.params, model_spec, frozen(hparams), setting, seed,
                   dataset.budget, evaluation_for(dataset.evaluation, model.conditioning), frozen(code),
                   role="best_of" if phase.best_of else "search", headline=dataset.headline)


def evaluation_for(protocol: EvalProtocol, conditioning: str) -> EvalProtocol:
    """The dataset's protocol less the metrics this model's samples cannot feed: label consistency needs the
    labels a conditional G was given, code fidelity InfoGAN's codes; the unconditional metrics apply to all."""
    from ganbench.catalog import CONDITIONINGS, METRICS

    provides = set(CONDITIONINGS.meta(conditioning)["provides"])
    wanted = {"labels", "codes"}
    kept = tuple(m for m in protocol.metrics if set(METRICS.meta(m).get("needs", ())) & wanted <= provides)
    return protocol if kept == protocol.metrics else replace(protocol, metrics=kept)


def expand(spec: SuiteSpec, best: BestLookup | None = None) -> Expansion:
    """All runs of the suite, in order (phase, dataset, model, setting, seed); best_of phases need ``best``."""
    runs: list[RunSpec] = []
    pending: list[Pending] = []
    for phase in spec.phases:
        for dataset in spec.datasets:
            for model in spec.models:
                if phase.best_of:
                    chosen = best(phase.best_of.phase, dataset.name, model.name,
                                  phase.best_of.metric or dataset.headline) if best else None
                    if chosen is None:
                        pending.append(Pending(phase.name, dataset.name, model.name, len(phase.seeds), phase.best_of.phase))
                        continue
                    candidates = [dict(chosen)]
                else:
                    candidates = settings(spec, phase, dataset, model)
                for index, hparams in enumerate(candidates):
                    runs.extend(_run(spec, phase, dataset, model, hparams, index, seed) for seed in phase.seeds)
    runs.extend(calibration_runs(spec))
    return Expansion(tuple(runs), tuple(pending))


CALIBRATION_PHASE = "calibration"


def calibration_runs(spec: SuiteSpec) -> list[RunSpec]:
    """The suite's calibration rows (:mod:`ganbench.calibration`): per dataset and row of its task (floor and
    copycat for generation, identity for translation), one run per seed of the
    last phase (the one the report compares models on), scored on the dataset's protocol less what real data
    cannot feed. Nothing of the models enters them, so adding a model never changes them."""
    from ganbench import calibration
    from ganbench.catalog import CALIBRATIONS, dataset_task, task_of

    if not spec.calibration or not spec.phases:
        return []
    seeds = spec.phases[-1].seeds
    return [RunSpec(spec.name, CALIBRATION_PHASE, dataset.name, dataset.params, calibration.model_spec(name),
                    frozen({}), 0, seed, calibration.BUDGET, calibration.protocol(dataset.evaluation),
                    role="calibration", headline=dataset.headline)
            for dataset in spec.datasets for name in spec.calibration
            if task_of(CALIBRATIONS, name) == dataset_task(dataset.name)  # identity on domain pairs, the rest elsewhere
            for seed in seeds]


def with_overrides(spec: SuiteSpec, steps: int | None = None) -> SuiteSpec:
    """The suite with every dataset's step budget replaced (``ganbench run --steps`` for smoke tests)."""
    if steps is None:
        return spec
    datasets = tuple(replace(d, budget=Budget(steps, min(d.budget.eval_every, steps))) for d in spec.datasets)
    return replace(spec, datasets=datasets)
