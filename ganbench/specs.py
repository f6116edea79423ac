"""Frozen dataclasses that flow one way: SuiteSpec → RunSpec → (trained, evaluated) record.

Mappings inside specs are read-only views; ``to_dict``/``from_dict`` give the JSON form stored in
``spec.json``. A RunSpec's ``run_id`` hashes everything that changes what the run computes (not the
suite's name), so re-expanding a suite finds the same runs and a renamed suite keeps its results.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from collections.abc import Mapping  # not typing's: isinstance through it is 2× slower (frozen runs per run)
from types import MappingProxyType
from typing import Any


def frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """A read-only, key-sorted copy (nested mappings frozen too)."""
    items = sorted((mapping or {}).items())
    return MappingProxyType({k: frozen(v) if isinstance(v, Mapping) else v for k, v in items})


def thaw(value: Any) -> Any:
    """Plain JSON-able copy of a (possibly frozen) value."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class ModelSpec:
    """One model of the comparison: a loss + an architecture (+ penalty, + conditioning), or the VAE baseline."""

    name: str  # display name, e.g. "NS GAN"
    kind: str  # "gan" or "vae"
    loss: str | None  # registered loss (None for the VAE)
    arch: str  # resolved for the dataset's kind
    penalty: str = "none"
    conditioning: str = "none"  # registered conditioning (ganbench/conditioning.py)
    augment: str = "none"  # registered augmentation of D's inputs (ganbench/augment.py)

    def to_dict(self) -> dict[str, Any]:
        out = {"name": self.name, "kind": self.kind, "loss": self.loss, "arch": self.arch, "penalty": self.penalty}
        if self.conditioning != "none":  # absent when unconditional: older specs hash exactly as before
            out["conditioning"] = self.conditioning
        if self.augment != "none":  # likewise
            out["augment"] = self.augment
        return out


@dataclass(frozen=True)
class Budget:
    steps: int  # D updates (the study's step); G is updated every n_disc steps
    eval_every: int  # evaluation + checkpoint interval in steps; the last step is always evaluated

    @property
    def eval_steps(self) -> tuple[int, ...]:
        points = list(range(self.eval_every, self.steps + 1, self.eval_every))
        if not points or points[-1] != self.steps:
            points.append(self.steps)
        return tuple(points)

    def to_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "eval_every": self.eval_every}


@dataclass(frozen=True)
class EvalProtocol:
    extractor: str
    metrics: tuple[str, ...]
    n_gen: int
    n_real: int
    split: str = "test"
    extractor_options: Mapping[str, Any] = field(default_factory=lambda: frozen({}))
    metric_options: Mapping[str, Any] = field(default_factory=lambda: frozen({}))
    #: sampling seeds scored at every evaluation point (the seed panel: ganbench.results.study.seed_panel)
    sampling_seeds: int = 1

    def to_dict(self) -> dict[str, Any]:
        out = {"extractor": self.extractor, "metrics": list(self.metrics), "n_gen": self.n_gen,
               "n_real": self.n_real, "split": self.split,
               "extractor_options": thaw(self.extractor_options), "metric_options": thaw(self.metric_options)}
        if self.sampling_seeds != 1:  # absent at 1: older specs hash exactly as before
            out["sampling_seeds"] = self.sampling_seeds
        return out


@dataclass(frozen=True)
class RunSpec:
    """Everything one training + evaluation run needs; nothing else influences its numbers."""

    suite: str
    phase: str
    dataset: str
    dataset_params: Mapping[str, Any]
    model: ModelSpec
    hparams: Mapping[str, Any]
    setting: int  # index of the hyperparameter setting within (phase, dataset, model)
    seed: int
    budget: Budget
    evaluation: EvalProtocol
    #: revisions (above 1) of the code computing the run, see :mod:`ganbench.revisions`
    revisions: Mapping[str, int] = field(default_factory=lambda: frozen({}))
    #: the phase's kind: "search" (a hyperparameter search) or "best_of" (the best setting retrained over
    #: seeds); like the suite's name it does not change what the run computes, so it is not in run_id
    role: str = "search"
    #: the metric key the report ranks this dataset's runs by (:mod:`ganbench.results.headline`); it changes
    #: what is read, not what is computed, so it is not in run_id either (None: resolved by the report)
    headline: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"suite": self.suite, "phase": self.phase, "dataset": self.dataset,
               "dataset_params": thaw(self.dataset_params), "model": self.model.to_dict(),
               "hparams": thaw(self.hparams), "setting": self.setting, "seed": self.seed,
               "budget": self.budget.to_dict(), "evaluation": self.evaluation.to_dict()}
        if self.revisions:  # absent at revision 1 everywhere: older specs hash exactly as before
            out["revisions"] = thaw(self.revisions)
        out["role"] = self.role
        if self.headline is not None:
            out["headline"] = self.headline
        return out

    @property
    def run_id(self) -> str:
        """12 hex digits of SHA-256 over the canonical JSON of the spec, minus the suite's name, role and
        headline (what the report reads, not what the run computes)."""
        content = self.to_dict()
        del content["suite"], content["role"]
        content.pop("headline", None)
        text = json.dumps(content, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "RunSpec":
        ev = d["evaluation"]
        return cls(
            suite=d["suite"], phase=d["phase"], dataset=d["dataset"], dataset_params=frozen(d["dataset_params"]),
            model=ModelSpec(**d["model"]), hparams=frozen(d["hparams"]), setting=int(d["setting"]),
            seed=int(d["seed"]), budget=Budget(**d["budget"]),
            evaluation=EvalProtocol(ev["extractor"], tuple(ev["metrics"]), int(ev["n_gen"]), int(ev["n_real"]),
                                    ev.get("split", "test"), frozen(ev.get("extractor_options")),
                                    frozen(ev.get("metric_options")), int(ev.get("sampling_seeds", 1))),
            revisions=frozen(d.get("revisions")), role=d.get("role", "search"), headline=d.get("headline"))


# ---- the suite: what the YAML says, validated, before expansion ----

@dataclass(frozen=True)
class Distribution:
    """A random-search dimension: loguniform/uniform [low, high], int [low, high] inclusive, choice."""

    kind: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    params: Mapping[str, Any]
    kind: str  # "image" or "vector", from the dataset registry
    budget: Budget
    evaluation: EvalProtocol
    hparams: Mapping[str, Any]
    headline: str | None = None  # the metric key its runs are ranked by (ganbench/results/headline.py)


@dataclass(frozen=True)
class ModelEntry:
    name: str
    kind: str
    loss: str | None
    arch: Mapping[str, str]  # data kind → architecture
    penalty: str
    hparams: Mapping[str, Any]  # fixed values, grids (tuples) or Distributions
    defaults: Mapping[str, Any]  # author defaults: the setting used when a phase includes defaults
    conditioning: str = "none"
    augment: str = "none"


@dataclass(frozen=True)
class BestOf:
    phase: str
    metric: str | None = None  # None: each dataset's headline metric


@dataclass(frozen=True)
class Phase:
    name: str
    samples: int  # random-search settings per (dataset, model) (× grid points)
    include_defaults: bool  # setting 0 = the model's author defaults
    seeds: tuple[int, ...]
    hparams: Mapping[str, Any]
    best_of: BestOf | None = None
    model_hparams: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: frozen({}))  # per model name
    #: per model name: this phase's author defaults where they differ from the model's (setting 0)
    model_defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: frozen({}))


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    description: str
    datasets: tuple[DatasetEntry, ...]
    models: tuple[ModelEntry, ...]
    hparams: Mapping[str, Any]
    phases: tuple[Phase, ...]
    search_seed: int
    data_root: str | None = None
    download: bool = False
    #: calibration rows added per dataset (ganbench/calibration.py); a parsed suite has both unless it says
    calibration: tuple[str, ...] = ()
