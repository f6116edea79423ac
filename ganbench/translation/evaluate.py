"""Score a translation run: both directions, each against its target domain, on the shared feature pass.

A :class:`TranslationEvaluator` translates the first ``n_gen`` test inputs of each domain (a seeded order, the
same at every evaluation point) and hands each direction's translations to an ordinary
:class:`~ganbench.evaluate.Evaluator` of the *target* domain (:meth:`DomainPair.domain`), so FID, KID, precision/
recall, … are computed exactly as for a generator, against that domain's cached real test features; their keys
come back per direction (``fid_ab``: A → B against real B) and averaged (``fid``). The translation metrics
(:mod:`ganbench.metrics.translation`) read the same translations with their inputs, round trips, true
counterparts (paired pairs) and the target domain's classifier: the domain classifier on images, a 5-NN
classifier fitted on the target's train split on vectors.
"""
from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor, nn

from ganbench.data.pairs import SIDES, DomainPair, other
from ganbench.evaluate import GRID_COLUMNS, SAMPLE_BATCH, Evaluation, Evaluator
from ganbench.features import ExtractorContext, build_extractor, real_indices
from ganbench.metrics import METRICS
from ganbench.metrics.translation import DIRECTIONS, Direction, TranslationContext
from ganbench.specs import EvalProtocol

KNN_NEIGHBOURS = 5  # the vector domains' content classifier
KNN_TRAIN = 10_000  # at most this many target train samples fit it


def identity_translators(*_: Any) -> tuple[nn.Module, nn.Module]:
    """The identity baseline's translators (a calibration row): each direction returns its input."""
    return nn.Identity(), nn.Identity()


def is_translation_metric(name: str) -> bool:
    from ganbench.catalog import task_of

    return task_of(METRICS, name) == "translation"


def _direction_of(side: str) -> str:
    """The direction whose *source* is domain ``side``: "a" → "ab"."""
    return side + other(side)


def translate(net: nn.Module, x: Tensor, device: torch.device) -> Tensor:
    """``net`` over ``x`` in batches, without gradient, back on the CPU."""
    with torch.no_grad():
        return torch.cat([net(x[i:i + SAMPLE_BATCH].to(device)).cpu() for i in range(0, len(x), SAMPLE_BATCH)])


class TranslationEvaluator:
    def __init__(self, protocol: EvalProtocol, pair: DomainPair, *, device: torch.device | str = "cpu",
                 cache_dir: Path, seed: int = 0, run_seed: int = 0):
        self.protocol, self.pair, self.device = protocol, pair, torch.device(device)
        self.run_seed, self.seed = run_seed, seed
        self.own_metrics = tuple(m for m in protocol.metrics if is_translation_metric(m))
        inner = replace(protocol, metrics=tuple(m for m in protocol.metrics if m not in self.own_metrics),
                        sampling_seeds=1)
        #: direction → the evaluator of its target domain ("ab" → domain B)
        self.targets = {_direction_of(side): Evaluator(inner, pair.domain(other(side)), device=self.device,
                                                       cache_dir=cache_dir, seed=seed, run_seed=run_seed)
                        for side in SIDES}
        self.inputs: dict[str, Tensor] = {}
        self.labels: dict[str, Tensor | None] = {}
        self.truth: dict[str, Tensor | None] = {}
        for side in SIDES:
            d = _direction_of(side)
            source = pair.split(f"{protocol.split}_{side}")
            index = real_indices(source, protocol.n_gen, seed)
            self.inputs[d] = source.get(index)
            self.labels[d] = source.labels[index] if source.labels is not None else None
            self.truth[d] = pair.split(f"{protocol.split}_{other(side)}").get(index) if pair.paired else None
        self.classifiers = {d: self._classifier(d, Path(cache_dir)) for d in DIRECTIONS} \
            if "content" in self.own_metrics else {}

    def _classifier(self, direction: str, cache_dir: Path) -> Callable[[Tensor], Tensor]:
        """Samples of the direction's target domain → predicted labels."""
        target = self.targets[direction]
        if self.pair.info.kind == "image":
            net = target.extractor if self.protocol.extractor == "domain" and not self.protocol.extractor_options \
                else build_extractor("domain", ExtractorContext(target.dataset, self.device, cache_dir, {}, self.seed))
            return lambda x: torch.as_tensor(net(x).logits).argmax(dim=1)
        from sklearn.neighbors import KNeighborsClassifier

        train = target.dataset.split("train")
        rows = real_indices(train, KNN_TRAIN, self.seed)
        knn = KNeighborsClassifier(KNN_NEIGHBOURS).fit(train.get(rows).flatten(1).numpy(), train.labels[rows].numpy())
        return lambda x: torch.as_tensor(knn.predict(x.flatten(1).numpy()))

    @property
    def record(self) -> dict[str, Any]:
        """The protocol card: the target domains' evaluation records and what was translated."""
        out = dict(self.targets["ab"].record)
        out.pop("sampling", None)
        out.update({"metrics": list(self.protocol.metrics), "n_gen": len(self.inputs["ab"]),
                    "translation": {"inputs": "the first n_gen test inputs of each domain (seeded order), the same "
                                              "at every evaluation point",
                                    "paired": self.pair.paired,
                                    "reference": {d: t.record["identity"] for d, t in self.targets.items()}}})
        return out

    @property
    def directions(self) -> dict[str, bool]:
        """Output key → higher is better: the target evaluators' keys per direction and averaged, then ours."""
        out: dict[str, bool] = {}
        for key, up in self.targets["ab"].directions.items():
            out.update({key: up, f"{key}_ab": up, f"{key}_ba": up})
        for name in self.own_metrics:
            out.update({k: bool(v) for k, v in METRICS.meta(name)["outputs"].items()})
        return out

    def translations(self, g_ab: nn.Module, g_ba: nn.Module, first: int | None = None
                     ) -> dict[str, tuple[Tensor, Tensor]]:
        """Direction → (translations, round trips) of its inputs (the ``first`` of them, else all), from frozen
        copies in inference mode."""
        nets = {"ab": copy.deepcopy(g_ab).eval(), "ba": copy.deepcopy(g_ba).eval()}
        out = {}
        for d in DIRECTIONS:
            there = translate(nets[d], self.inputs[d][:first], self.device)
            out[d] = there, translate(nets[d[::-1]], there, self.device)
        return out

    def __call__(self, g_ab: nn.Module, g_ba: nn.Module, step: int) -> Evaluation:
        done = self.translations(g_ab, g_ba)
        metrics: dict[str, float] = {}
        per: dict[str, dict[str, float]] = {}
        for d, (there, _) in done.items():
            per[d] = dict(self.targets[d].score(there, step).metrics)
            metrics.update({f"{k}_{d}": v for k, v in per[d].items()})
        for key in per["ab"]:
            if key in per["ba"]:
                metrics[key] = (per["ab"][key] + per["ba"][key]) / 2
        ctx = TranslationContext(
            directions={d: Direction(self.inputs[d], there, back, self.truth[d], self.labels[d],
                                     self.classifiers.get(d)) for d, (there, back) in done.items()},
            kind=self.pair.info.kind, value_range=self.pair.info.value_range)
        for name in self.own_metrics:
            metrics.update({k: float(v) for k, v in METRICS.get(name)(ctx).items()})
        return Evaluation(metrics, done["ab"][0])

    def grid(self, g_ab: nn.Module, g_ba: nn.Module, columns: int = GRID_COLUMNS) -> Tensor:
        """The report's translation grid, ``columns`` inputs wide: rows A, A → B, A → B → A, B, B → A, B → A → B
        (image data); for vector data, the A → B translations of every input (the samples' points)."""
        if self.pair.info.kind != "image":
            return self.translations(g_ab, g_ba)["ab"][0]
        done = self.translations(g_ab, g_ba, first=columns)  # only what the grid shows
        rows = []
        for d in DIRECTIONS:
            there, back = done[d]
            rows += [self.inputs[d][:columns], there[:columns], back[:columns]]
        return torch.cat(rows)
