"""Polygon precision, recall and F1 (Lucic et al. 2018): quality and coverage on a known manifold.

* Precision: the share of generated samples within ``threshold`` (pixel L2 on [0, 1] images) of
  the polygon manifold, measured by :meth:`PolygonDataset.distance_to_manifold`.
* Recall: the share of held-out polygons (the first ``n_recall`` of the "holdout" split, the same
  targets for every model) that the generator can reach: ``min_z ‖G(z) − x‖ ≤ threshold``, searched
  by Adam on z from ``recall_restarts`` prior draws, keeping the best distance seen on the way.
  z stays inside the per-coordinate range of 4,096 prior draws, so a bounded prior (U[−1, 1]) is
  respected and a Gaussian one is searched within about ±3.5σ; steps are taken in units of the
  prior's standard deviation, so ``recall_lr`` means the same for either prior.
* F1: the harmonic mean of the two (0 when both are 0).
* ``polygon_precision_se`` and ``polygon_recall_se``: each share's binomial standard error
  ``sqrt(p (1 − p) / n)``, n the samples or targets actually used (0 when p is 0 or 1). Recall
  rests on only ``n_recall`` = 100 targets by default (SE up to 5 %), because each target costs a
  latent search: 1,000 targets took 610 s per evaluation on one CPU thread with the InfoGAN-style
  generator (100: 55 s). Compare recalls with their SE, or raise ``n_recall`` on a GPU.

Threshold 1.5, for both dataset variants (distances measured on one CPU thread at the defaults;
"real": the 10,000 test polygons, the rest on 500 of them; triangles unless said):

=============================================  ============================  ===========================
                                               ``lucic2018`` (the study's)    ``ellipse``
=============================================  ============================  ===========================
real polygons: median / 99th pct / max         0.12 / 0.29 / 0.94 (0 > 1.5)   0.18 / 0.62 / 1.65 (1 > 1.5)
edges blurred by a 0.5 px Gaussian             0.86 (max 0.94)                0.81 (max 1.12)
pixel noise, std 0.05 / 0.1 (clamped)          1.02 (max 1.13) / 2.0          1.03 (max 1.33) / 2.0
shifted by 1 px: 1st percentile / median       1.73 / 3.5                     1.53 / 3.1
blank image                                    3.17                           3.22
4-gons to the 3-gon manifold (1st pct)         4.98                           2.38
3-gons to the 4-gon manifold (1st pct)         4.18                           1.09 (a third < 1.5)
the other variant's triangles (median, > 1.5)  3.34, 96 %                     2.22, 92 %
uniform noise                                  15.5                           15.5
distinct triangles' nearest of 500 (median)    1.98 (25 % < 1.5)              2.60 (6 % < 1.5)
=============================================  ============================  ===========================

So 1.5 passes every real polygon and mildly degraded ones (blur, noise of std 0.05) and rejects
blanks, wrong vertex counts, shifted polygons and the other generator's shapes; one threshold
serves both variants. The study's triangles, on a circle with a nearly fixed orientation, form a
4-dimensional manifold (V offsets and the rotation draw): wrong vertex counts are far from it,
but distinct triangles are closer together than the ellipse's, so a sample under 1.5 names a
small neighbourhood of triangles rather than one. (The ellipse's 3-gons lie near its 4-gon manifold,
a 4-gon with two close vertices: only relevant to mixtures, where the manifold is the union.)
Recall uses the same threshold so the two numbers mean the same thing from both sides.

Cost (measured): precision ≈ 2-4 s per 1,000 samples on one CPU thread, 0.4 s on an H200; recall
at the defaults (300 latent searches of 100 steps, in one batch) with the InfoGAN-style generator
≈ 35-55 s on one CPU thread (a shared machine), under 1 s on the GPU.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import torch

from ganbench.errors import GanbenchError
from ganbench.metrics.base import METRICS, MetricContext

DEFAULTS: dict[str, Any] = METRICS.meta("polygon_pr")["defaults"]  # declared, with why, in ganbench/catalog.py
PRIOR_DRAWS = 4096


@contextmanager
def frozen(module: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """``module`` in eval mode with no parameter gradients; both restored afterwards."""
    training = module.training
    flags = [(p, p.requires_grad) for p in module.parameters()]
    module.eval()
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield module
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)
        module.train(training)


def reach_distances(generator: torch.nn.Module, sample_latent: Callable[[int], torch.Tensor],
                    targets: torch.Tensor, *, restarts: int, steps: int, lr: float,
                    device: torch.device, seed: int) -> torch.Tensor:
    """(n,) the smallest ``‖G(z) − x‖`` found for each target ``x``, searching z by Adam."""
    n = len(targets)
    devices = [device] if device.type == "cuda" else []
    # The search needs gradients even when the evaluator runs under no_grad or inference_mode.
    with torch.inference_mode(False), torch.enable_grad(), frozen(generator):
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)  # makes samplers that use the global RNG reproducible too
            prior = sample_latent(PRIOR_DRAWS).to(device=device, dtype=torch.float32).clone()
            start = sample_latent(n * restarts).to(device=device, dtype=torch.float32).clone()
        mean, std = prior.mean(0), prior.std(0).clamp_min(1e-8)
        low, high = (prior.amin(0) - mean) / std, (prior.amax(0) - mean) / std
        u = ((start - mean) / std).clamp(low, high).requires_grad_()
        goal = targets.to(device=device, dtype=torch.float32).clone()
        goal = goal.reshape(n, -1).repeat(restarts, 1)
        best = torch.full((n * restarts,), float("inf"), device=device)
        optimiser = torch.optim.Adam([u], lr=lr)
        for step in range(steps + 1):
            out = generator(mean + std * u)
            dist = (out.reshape(len(out), -1) - goal).norm(dim=1)
            best = torch.minimum(best, dist.detach())
            if step == steps or not out.requires_grad:  # a G that ignores z has nothing to search
                break
            optimiser.zero_grad()
            dist.square().sum().backward()
            optimiser.step()
            with torch.no_grad():
                u.copy_(torch.maximum(torch.minimum(u, high), low))
    return best.view(restarts, n).amin(0).cpu()


def _check(params: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        raise GanbenchError(f"metric 'polygon_pr' has no parameter {', '.join(map(repr, unknown))} "
                            f"(accepted: {', '.join(DEFAULTS)})")
    p = {**DEFAULTS, **params}
    if not p["threshold"] > 0 or not p["recall_lr"] > 0:
        raise GanbenchError("metric 'polygon_pr': threshold and recall_lr must be positive")
    for key in ("n_precision", "n_recall", "recall_restarts", "fit_restarts"):
        if int(p[key]) < 1:
            raise GanbenchError(f"metric 'polygon_pr': {key} must be at least 1, got {p[key]}")
    return p


def binomial_se(share: float, n: int) -> float:
    """The standard error of a share ``share`` of ``n`` independent trials: ``sqrt(p (1 − p) / n)``."""
    return math.sqrt(share * (1 - share) / n) if n > 0 else 0.0


def polygon_pr(ctx: MetricContext, **params: Any) -> dict[str, float]:
    """Share of samples on the manifold, share of held-out polygons G reaches, their F1, and the two
    shares' binomial standard errors."""
    from ganbench.data.polygons import PolygonDataset

    p = _check(params)
    dataset = ctx.dataset
    if not isinstance(dataset, PolygonDataset):
        raise GanbenchError(f"metric 'polygon_pr' needs the 'polygons' dataset, not '{dataset.info.name}'")
    if ctx.generator is None or ctx.sample_latent is None:
        raise GanbenchError("metric 'polygon_pr' needs the generator and its latent sampler for recall")
    samples = ctx.samples[:int(p["n_precision"])]
    on_manifold = dataset.distance_to_manifold(samples, device=ctx.device, restarts=int(p["fit_restarts"]),
                                               steps=int(p["fit_steps"])) <= p["threshold"]
    holdout = dataset.split("holdout")
    targets = holdout.get(slice(0, min(int(p["n_recall"]), len(holdout))))
    reached = reach_distances(ctx.generator, ctx.sample_latent, targets, restarts=int(p["recall_restarts"]),
                              steps=int(p["recall_steps"]), lr=float(p["recall_lr"]), device=ctx.device,
                              seed=ctx.seed) <= p["threshold"]
    precision = on_manifold.float().mean().item() if len(on_manifold) else 0.0
    recall = reached.float().mean().item()
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"polygon_precision": precision, "polygon_recall": recall, "polygon_f1": f1,
            "polygon_precision_se": binomial_se(precision, len(on_manifold)),
            "polygon_recall_se": binomial_se(recall, len(reached))}
