"""Sample once, extract once, fan out to every metric — with the protocol recorded beside the numbers.

An :class:`Evaluator` is built once per run: it builds the feature extractor and loads the real
split's features (and FID's real-side factorisation) from the on-disk cache, so each evaluation point
pays only for its generated samples.
"""
from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor, nn

from ganbench.data.base import Dataset
from ganbench.features import ExtractorContext, build_extractor
from ganbench.features.cache import cached_array, real_features, real_indices, real_key
from ganbench.metrics import METRICS, FrechetReference, MetricContext
from ganbench.specs import EvalProtocol

SAMPLE_BATCH = 500  # generated samples per forward pass


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
        if "fid" in protocol.metrics:
            key = {"what": "frechet_reference",
                   "real": real_key(self.extractor, dataset, protocol.split, protocol.n_real, seed)}
            state = cached_array(Path(cache_dir), key, lambda: FrechetReference.from_features(self.real.pool).state())
            self.cache["frechet_reference"] = FrechetReference.from_state(state)

    @property
    def record(self) -> dict[str, Any]:
        """The protocol stored next to every number."""
        return {"extractor": self.protocol.extractor, "identity": self.extractor.identity,
                "pool_layer": self.extractor.pool_layer, "logits_layer": self.extractor.logits_layer,
                "real_split": self.protocol.split, "n_real": len(self.real), "n_gen": self.protocol.n_gen,
                "metrics": list(self.protocol.metrics)}

    def samples(self, generator: nn.Module, sample_latent: Callable[..., Tensor], step: int) -> Tensor:
        """``n_gen`` samples from a frozen copy of G in inference mode, from a generator seeded by (run, step)."""
        g = torch.Generator(device=self.device).manual_seed(_seed(self.run_seed, step))
        with torch.no_grad():
            parts = [generator(sample_latent(min(SAMPLE_BATCH, self.protocol.n_gen - i), generator=g)).cpu()
                     for i in range(0, self.protocol.n_gen, SAMPLE_BATCH)]
        return torch.cat(parts)

    def __call__(self, generator: nn.Module, sample_latent: Callable[..., Tensor], step: int) -> dict[str, float]:
        frozen_g = copy.deepcopy(generator).eval().requires_grad_(False)
        samples = self.samples(frozen_g, sample_latent, step)
        self.last_samples = samples
        gen = self.extractor(samples)
        ctx = MetricContext(dataset=self.dataset, samples=samples, gen=gen, real=self.real,
                            real_samples=self.real_samples, generator=frozen_g, sample_latent=sample_latent,
                            device=self.device, seed=_seed(self.run_seed, step, "metrics"), cache=self.cache)
        out: dict[str, float] = {}
        for name in self.protocol.metrics:
            params = {**METRICS.meta(name).get("defaults", {}), **dict(self.protocol.metric_options.get(name, {}))}
            out.update({k: float(v) for k, v in METRICS.get(name)(ctx, **params).items()})
        return out

