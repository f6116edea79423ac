"""Sample once, extract once, fan out to every metric — with the protocol recorded beside the numbers.

An :class:`Evaluator` is built once per run: it builds the feature extractor, loads the real split's
features from the on-disk cache, and lets each metric with a ``prepare`` hook set up its own cached real
side (FID's factorisation), so each evaluation point pays only for its generated samples. Calling it
returns an :class:`Evaluation`: the numbers and the samples they were computed on.
"""
from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import Tensor, nn

from ganbench.data.base import Dataset
from ganbench.features import ExtractorContext, build_extractor
from ganbench.features.cache import cached_array, real_features, real_indices, real_key
from ganbench.metrics import METRICS, MetricContext, PrepareContext
from ganbench.specs import EvalProtocol

SAMPLE_BATCH = 500  # generated samples per forward pass


@dataclass(frozen=True)
class Evaluation:
    """What one evaluation point computed: every metric's numbers and the generated samples scored."""

    metrics: Mapping[str, float]
    samples: Tensor | None = None


def _seed(*parts: Any) -> int:
    return int.from_bytes(hashlib.sha256("/".join(map(str, parts)).encode()).digest()[:8], "little") % (2**63)


class Evaluator:
    def __init__(self, protocol: EvalProtocol, dataset: Dataset, *, device: torch.device | str = "cpu",
                 cache_dir: Path, seed: int = 0, run_seed: int = 0):
        self.protocol, self.dataset = protocol, dataset
        self.device = torch.device(device)
        self.run_seed = run_seed
        metas = {m: METRICS.meta(m) for m in protocol.metrics}
        needs = set().union(*(set(meta.get("needs", ())) for meta in metas.values())) if metas else set()
        self.extractor = build_extractor(protocol.extractor, ExtractorContext(
            dataset, self.device, Path(cache_dir), protocol.extractor_options, seed))
        self.real = real_features(self.extractor, dataset, protocol.split, protocol.n_real, Path(cache_dir), seed=seed)
        self.real_samples = None
        if "real_samples" in needs:  # the very samples whose features are cached
            split = dataset.split(protocol.split)
            self.real_samples = split.get(real_indices(split, protocol.n_real, seed))
        self.cache: dict[str, Any] = {}
        real = real_key(self.extractor, dataset, protocol.split, protocol.n_real, seed)
        prepare = PrepareContext(
            real=self.real, cached=lambda what, compute: cached_array(Path(cache_dir), {**what, "real": real}, compute))
        for name in protocol.metrics:
            hook = METRICS.meta(name).get("prepare")
            if hook is not None:
                self.cache.update(hook(prepare))

    @property
    def record(self) -> dict[str, Any]:
        """The protocol stored next to every number."""
        return {"extractor": self.protocol.extractor, "identity": self.extractor.identity,
                "pool_layer": self.extractor.pool_layer, "logits_layer": self.extractor.logits_layer,
                "real_split": self.protocol.split, "n_real": len(self.real), "n_gen": self.protocol.n_gen,
                "metrics": list(self.protocol.metrics)}

    @property
    def directions(self) -> dict[str, bool]:
        """Output key → higher is better, from each metric's declared outputs (stored in the record)."""
        return {key: bool(up) for name in self.protocol.metrics
                for key, up in METRICS.meta(name).get("outputs", {}).items()}

    def samples(self, generator: nn.Module, sample_latent: Callable[..., Tensor], step: int) -> Tensor:
        """``n_gen`` samples from a frozen copy of G in inference mode, from a generator seeded by (run, step)."""
        g = torch.Generator(device=self.device).manual_seed(_seed(self.run_seed, step))
        with torch.no_grad():
            parts = [generator(sample_latent(min(SAMPLE_BATCH, self.protocol.n_gen - i), generator=g)).cpu()
                     for i in range(0, self.protocol.n_gen, SAMPLE_BATCH)]
        return torch.cat(parts)

    def __call__(self, generator: nn.Module, sample_latent: Callable[..., Tensor], step: int) -> Evaluation:
        frozen_g = copy.deepcopy(generator).eval().requires_grad_(False)
        samples = self.samples(frozen_g, sample_latent, step)
        gen = self.extractor(samples)
        ctx = MetricContext(dataset=self.dataset, samples=samples, gen=gen, real=self.real,
                            real_samples=self.real_samples, generator=frozen_g, sample_latent=sample_latent,
                            device=self.device, seed=_seed(self.run_seed, step, "metrics"), cache=self.cache,
                            extractor=self.extractor.identity)
        out: dict[str, float] = {}
        for name in self.protocol.metrics:
            params = {**METRICS.meta(name).get("defaults", {}), **dict(self.protocol.metric_options.get(name, {}))}
            out.update({k: float(v) for k, v in METRICS.get(name)(ctx, **params).items()})
        return Evaluation(out, samples)

