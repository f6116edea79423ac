"""Sample once, extract once, fan out to every metric — with the protocol recorded beside the numbers.

An :class:`Evaluator` is built once per run: it builds the feature extractor, loads the real split's
features from the on-disk cache, and lets each metric with a ``prepare`` hook set up its own cached real
side (FID's factorisation), so each evaluation point pays only for its generated samples. Calling it
returns an :class:`Evaluation`: the numbers and the samples they were computed on. An ensemble's members
share one evaluator's set-up (:meth:`Evaluator.for_run`) and are evaluated together (:func:`evaluate_together`).
"""
from __future__ import annotations

import copy
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch
from torch import Tensor, nn

from ganbench.data.base import Dataset
from ganbench.features import ExtractorContext, Features, build_extractor
from ganbench.features.cache import cached_array, real_features, real_indices, real_key
from ganbench.metrics import METRICS, MetricContext, PrepareContext
from ganbench.specs import EvalProtocol

SAMPLE_BATCH = 500  # generated samples per forward pass
GRID_COLUMNS = 8  # latents per row of a conditional G's class grid
TOGETHER_BYTES = 4 * 2**20  # the most float32 sample memory a pass of several runs holds (evaluate_together)


@dataclass(frozen=True)
class Evaluation:
    """What one evaluation point computed: every metric's numbers and the generated samples scored.

    With S > 1 sampling seeds (``EvalProtocol.sampling_seeds``), ``metrics`` is the mean over the S redraws and
    ``panel`` maps each output key to its S values (redraw 0 first: the draw a one-seed protocol makes);
    ``samples`` are redraw 0's."""

    metrics: Mapping[str, float]
    samples: Tensor | None = None
    panel: Mapping[str, tuple[float, ...]] | None = None


def panel_mean(panel: Mapping[str, tuple[float, ...]]) -> dict[str, float]:
    """Each key's mean over the redraws that computed it (NaN when none did)."""
    out = {}
    for key, values in panel.items():
        finite = [v for v in values if v == v]
        out[key] = sum(finite) / len(finite) if finite else float("nan")
    return out


def library_versions() -> dict[str, str]:
    """The versions of what computes the numbers: torch (kernels), torch-fidelity (the ImageNet extractors'
    resizing and weights handling), numpy, scikit-learn and scipy (neighbours, k-means, statistics), ganbench."""
    from importlib.metadata import PackageNotFoundError, version

    from ganbench import __version__

    out = {"ganbench": __version__, "torch": torch.__version__}
    for package in ("torchvision", "torch-fidelity", "numpy", "scipy", "scikit-learn"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "absent"
    return out


def _seed(*parts: Any) -> int:
    return int.from_bytes(hashlib.sha256("/".join(map(str, parts)).encode()).digest()[:8], "little") % (2**63)


class Evaluator:
    def __init__(self, protocol: EvalProtocol, dataset: Dataset, *, device: torch.device | str = "cpu",
                 cache_dir: Path, seed: int = 0, run_seed: int = 0):
        self.protocol, self.dataset = protocol, dataset
        self.device = torch.device(device)
        self.run_seed, self.seed = run_seed, seed
        metas = {m: METRICS.meta(m) for m in protocol.metrics}
        needs = set().union(*(set(meta.get("needs", ())) for meta in metas.values())) if metas else set()
        self.extractor = build_extractor(protocol.extractor, ExtractorContext(
            dataset, self.device, Path(cache_dir), protocol.extractor_options, seed))
        self.real = real_features(self.extractor, dataset, protocol.split, protocol.n_real, Path(cache_dir), seed=seed)
        self.train = None
        if "train" in needs:  # the memorisation metrics: as many train samples as the largest n_train asked
            wanted = max(int(self._params(m)["n_train"]) for m in protocol.metrics
                         if "train" in metas[m].get("needs", ()))
            n_train = min(wanted, len(dataset.split("train")))
            self.train = real_features(self.extractor, dataset, "train", n_train, Path(cache_dir), seed=seed)
        self.real_samples = self.real_labels = None
        if needs & {"real_samples", "real_labels"}:  # the very samples whose features are cached
            split = dataset.split(protocol.split)
            index = real_indices(split, protocol.n_real, seed)
            self.real_samples = split.get(index) if "real_samples" in needs else None
            self.real_labels = split.labels[index] if split.labels is not None else None
        # the dataset's domain classifier, which labels generated samples (label consistency, code fidelity)
        self.classifier = None
        if "classifier" in needs:
            self.classifier = self.extractor if protocol.extractor == "domain" and not protocol.extractor_options \
                else build_extractor("domain", ExtractorContext(dataset, self.device, Path(cache_dir), {}, seed))
        self.cache: dict[str, Any] = {}
        real = real_key(self.extractor, dataset, protocol.split, protocol.n_real, seed)
        prepare = PrepareContext(
            real=self.real, cached=lambda what, compute: cached_array(Path(cache_dir), {**what, "real": real}, compute))
        for name in protocol.metrics:
            hook = METRICS.meta(name).get("prepare")
            if hook is not None:
                self.cache.update(hook(prepare))

    def _params(self, metric: str) -> dict[str, Any]:
        """A metric's parameters: its registered defaults, then the suite's metric_options."""
        return {**METRICS.meta(metric).get("defaults", {}), **dict(self.protocol.metric_options.get(metric, {}))}

    @property
    def record(self) -> dict[str, Any]:
        """The protocol stored next to every number: what moved it (the protocol card a report prints)."""
        out = {"extractor": self.protocol.extractor, "identity": self.extractor.identity,
               "pool_layer": self.extractor.pool_layer, "logits_layer": self.extractor.logits_layer,
               "preprocessing": getattr(self.extractor, "preprocessing", None),
               "feature_dtype": str(self.real.pool.dtype),
               "real_split": self.protocol.split, "n_real": len(self.real), "n_gen": self.protocol.n_gen,
               "sampling": "latents from a generator seeded by sha256(run seed, step): every evaluation point "
                           "draws its own, the same on every resume"
                           + (f"; {self.protocol.sampling_seeds} sampling seeds per point, numbers their mean"
                              if self.protocol.sampling_seeds > 1 else ""),
               "sampling_seeds": self.protocol.sampling_seeds,
               "metrics": list(self.protocol.metrics), "versions": library_versions()}
        if self.train is not None:
            out["n_train"] = len(self.train)
        if self.classifier is not None:
            out["classifier"] = {"identity": self.classifier.identity,
                                 "test_accuracy": getattr(self.classifier, "test_accuracy", None)}
        return out

    @property
    def directions(self) -> dict[str, bool]:
        """Output key → higher is better, from each metric's declared outputs (stored in the record)."""
        return {key: bool(up) for name in self.protocol.metrics
                for key, up in METRICS.meta(name).get("outputs", {}).items()}

    def samples(self, generator: nn.Module, sample_latent: Callable[..., Tensor], step: int) -> Tensor:
        """``n_gen`` samples from a frozen copy of G in inference mode, from a generator seeded by (run, step)."""
        return self.labelled_samples(generator, sample_latent, step)[0]

    def labelled_samples(self, generator: nn.Module, sample_latent: Callable[..., Tensor], step: int,
                         redraw: int = 0) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """The samples of :meth:`samples`, with the labels a conditional G was given and InfoGAN's categorical
        codes (None when the latent sampler carries none: ``ganbench.conditioning.LatentSampler``). ``redraw``
        k > 0 draws the seed panel's k-th other set of latents at this step."""
        material = (self.run_seed, step) if redraw == 0 else (self.run_seed, step, "sampling seed", redraw)
        g = torch.Generator(device=self.device).manual_seed(_seed(*material))
        parts: list[Tensor] = []
        labels: list[Tensor] = []
        codes: list[Tensor] = []
        read_labels, read_codes = getattr(sample_latent, "labels", None), getattr(sample_latent, "codes", None)
        with torch.no_grad():
            for i in range(0, self.protocol.n_gen, SAMPLE_BATCH):
                latent = sample_latent(min(SAMPLE_BATCH, self.protocol.n_gen - i), generator=g)
                parts.append(generator(latent).cpu())
                for read, out in ((read_labels, labels), (read_codes, codes)):
                    value = read(latent) if read is not None else None
                    if value is not None:
                        out.append(value.cpu())
        return torch.cat(parts), torch.cat(labels) if labels else None, torch.cat(codes) if codes else None

    def class_grid(self, generator: nn.Module, sample_latent: Callable[..., Tensor],
                   columns: int = GRID_COLUMNS) -> Tensor | None:
        """One row per class (a conditional G) or per categorical code value (InfoGAN, its continuous codes at
        0), the same ``columns`` latents z down each column; None for a G that takes neither."""
        grid_latent = getattr(sample_latent, "grid_latent", None)
        g = torch.Generator(device=self.device).manual_seed(_seed(self.run_seed, "class grid"))
        latent = grid_latent(columns, generator=g) if grid_latent is not None else None
        if latent is None:
            return None
        with torch.no_grad():
            return copy.deepcopy(generator).eval()(latent).cpu()

    def __call__(self, generator: nn.Module, sample_latent: Callable[..., Tensor], step: int) -> Evaluation:
        return evaluate_together([self], [generator], [sample_latent], step)[0]

    def for_run(self, run_seed: int) -> Evaluator:
        """This evaluator for another run of the same protocol on the same data, which draws its latents and
        seeds its metrics from ``run_seed``. It shares this one's extractor, real features and real-side caches
        (FID's reference, the real k-NN tables): an ensemble's members set up once, and their samples go through
        the extractor together (:func:`evaluate_together`)."""
        other = copy.copy(self)
        other.run_seed = run_seed
        return other

    def score(self, samples: Tensor, step: int, *, labels: Tensor | None = None, codes: Tensor | None = None,
              generator: nn.Module | None = None, sample_latent: Callable[..., Tensor] | None = None,
              redraw: int = 0, features: Features | None = None) -> Evaluation:
        """Every metric of the protocol on ``samples``: a generator's (:meth:`__call__`), or real data scored
        as if it were one (:mod:`ganbench.calibration`, which has no generator, labels or codes to give). A
        metric's own randomness is seeded by (run, step[, redraw]). ``features``: the extractor's on
        ``samples``, when already computed (:func:`evaluate_together`)."""
        gen = self.extractor(samples) if features is None else features
        predicted = None
        if self.classifier is not None:
            logits = gen.logits if self.classifier is self.extractor else self.classifier(samples).logits
            predicted = logits.argmax(axis=1)
        ctx = MetricContext(dataset=self.dataset, samples=samples, gen=gen, real=self.real,
                            real_samples=self.real_samples, generator=generator, sample_latent=sample_latent,
                            device=self.device, cache=self.cache,
                            seed=_seed(self.run_seed, step, "metrics", *((redraw,) if redraw else ())),
                            extractor=self.extractor.identity, gen_labels=labels, gen_codes=codes,
                            gen_predicted=predicted, real_labels=self.real_labels, train=self.train)
        out: dict[str, float] = {}
        for name in self.protocol.metrics:
            out.update({k: float(v) for k, v in METRICS.get(name)(ctx, **self._params(name)).items()})
        return Evaluation(out, samples)


Draw = tuple[Tensor, Tensor | None, Tensor | None]  # one set of generated samples, their labels and codes


def evaluate_together(evaluators: Sequence[Evaluator], generators: Sequence[nn.Module],
                      sample_latents: Sequence[Callable[..., Tensor]], step: int) -> list[Evaluation]:
    """Each run's evaluation at ``step``, as its own evaluator's call gives it, for several runs at once (an
    ensemble's members). Each run draws its samples from a frozen copy of its G (every redraw of a seed panel);
    then the samples of all runs whose evaluators share an extractor (:meth:`Evaluator.for_run`) go through it
    in one pass, in full batches, and each run's metrics are computed on its own rows of the result.

    A pass holds at most ``TOGETHER_BYTES`` of samples (and always one run): small sample sets (the tails of
    the extractor's batches are most of their passes) go through together, larger ones one run at a time. On a
    CPU, eight runs' 2,000 28×28 samples held at once took 1.5–1.7× as long as one run a pass: glibc handed the
    freed activations back to the system and faulted them in again (2.2–2.6 M page faults), while fuller batches
    saved nothing (``benchmarks/README.md``, members evaluated together)."""
    out: list[Evaluation] = []
    sizes = [ev.protocol.n_gen * ev.protocol.sampling_seeds * math.prod(ev.dataset.info.shape) * 4
             for ev in evaluators]
    for runs in _passes(sizes):
        evs = [evaluators[i] for i in runs]
        frozen = [copy.deepcopy(generators[i]).eval().requires_grad_(False) for i in runs]
        latents = [sample_latents[i] for i in runs]
        draws = [[ev.labelled_samples(g, latent, step, redraw) for redraw in range(ev.protocol.sampling_seeds)]
                 for ev, g, latent in zip(evs, frozen, latents)]
        features = _extract_together(evs, draws)
        for ev, g, latent, run_draws, run_features in zip(evs, frozen, latents, draws, features):
            redraws = [ev.score(samples, step, labels=labels, codes=codes, generator=g, sample_latent=latent,
                                redraw=redraw, features=feats)
                       for redraw, ((samples, labels, codes), feats) in enumerate(zip(run_draws, run_features))]
            out.append(_panel(redraws))
    return out


def _passes(sizes: Sequence[int]) -> list[list[int]]:
    """The runs' indices in order, cut into passes of at most ``TOGETHER_BYTES`` (at least one run each)."""
    passes: list[list[int]] = [[]]
    held = 0
    for i, size in enumerate(sizes):
        if passes[-1] and held + size > TOGETHER_BYTES:
            passes.append([])
            held = 0
        passes[-1].append(i)
        held += size
    return passes if passes[0] else []


def _panel(redraws: list[Evaluation]) -> Evaluation:
    """One evaluation point from its seed panel's redraws (itself when there is one)."""
    if len(redraws) == 1:
        return redraws[0]
    keys = list(dict.fromkeys(k for r in redraws for k in r.metrics))
    panel = {k: tuple(float(r.metrics.get(k, float("nan"))) for r in redraws) for k in keys}
    return Evaluation(panel_mean(panel), redraws[0].samples, panel)


def _extract_together(evaluators: Sequence[Evaluator], draws: list[list[Draw]]) -> list[list[Features]]:
    """Each draw's features, ``[run][redraw]``: the draws of the runs sharing one extractor concatenated, passed
    through it once, and split back."""
    features: list[list[Any]] = [[None] * len(run_draws) for run_draws in draws]
    sharing: dict[int, list[int]] = {}
    for i, ev in enumerate(evaluators):
        sharing.setdefault(id(ev.extractor), []).append(i)
    for runs in sharing.values():
        parts = [(i, redraw) for i in runs for redraw in range(len(draws[i]))]
        joined = evaluators[runs[0]].extractor(torch.cat([draws[i][redraw][0] for i, redraw in parts]))
        start = 0
        for i, redraw in parts:
            stop = start + len(draws[i][redraw][0])
            features[i][redraw] = Features(joined.pool[start:stop],
                                           joined.logits[start:stop] if joined.logits is not None else None)
            start = stop
    return features
