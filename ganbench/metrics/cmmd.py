"""CMMD (Jayasumana et al. 2024): maximum mean discrepancy on CLIP image embeddings, in place of FID's Gaussians.

As the reference implementation (google-research ``cmmd/distance.py``): a Gaussian RBF kernel of bandwidth
σ = 10, k(x, y) = exp(−‖x − y‖² / (2σ²)), the minimum-variance (biased) estimator
MMD² = mean K_xx + mean K_yy − 2 mean K_xy over all entries (diagonals included), scaled by 1000, on
L2-normalised CLIP embeddings (the reference's CLIP head returns unit vectors). It is a squared distance
between kernel mean embeddings, so it is ≥ 0 and 0 for a set against itself. The n × m kernel matrices
are summed in row blocks in float64, never built whole.

The paper's number is on CLIP ViT-L/14 at 336 px; ganbench's ``clip`` extractor defaults to ViT-B/32 (the
FD-CLIP convention), whose CMMD is a different number. So the output key names the backbone: ``cmmd`` only
for ViT-L/14@336px (``extractor_options: {variant: clip-vit-l-14-336px}``), ``cmmd_vit_b32`` for ViT-B/32;
any other extractor is refused, so that no other number is ever called CMMD.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ganbench.metrics.base import MetricContext
from ganbench.metrics.neighbours import as_matrix

SIGMA = 10.0  # the reference's bandwidth
SCALE = 1000.0  # the reference's scale, "to make the metric more human readable"
#: CLIP backbone (the identity's prefix, torch-fidelity's variant name) → the output key its CMMD is stored under
KEYS = {"clip-vit-l-14-336px": "cmmd", "clip-vit-b-32": "cmmd_vit_b32"}
_BLOCK = 2048  # rows per kernel block: 2048 × 10k float64 = 160 MB at most


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if not (norms > 0).all():
        raise ValueError("CLIP embeddings of zero length cannot be normalised")
    return x / norms


def _kernel_mean(a: np.ndarray, b: np.ndarray, gamma: float) -> float:
    """mean over all (i, j) of exp(−γ ‖a_i − b_j‖²), block by block."""
    b_sq = (b * b).sum(axis=1)
    total = 0.0
    for start in range(0, len(a), _BLOCK):
        block = a[start:start + _BLOCK]
        d2 = (block * block).sum(axis=1)[:, None] + b_sq[None, :] - 2.0 * block @ b.T
        total += float(np.exp(-gamma * np.maximum(d2, 0.0)).sum())
    return total / (len(a) * len(b))


def cmmd(x: Any, y: Any, *, sigma: float = SIGMA, scale: float = SCALE) -> float:
    """The reference's CMMD between two sets of embeddings (normalised here), as a float."""
    a, b = _unit(as_matrix(x, "x")), _unit(as_matrix(y, "y"))
    if len(a) == 0 or len(b) == 0 or a.shape[1] != b.shape[1]:
        raise ValueError(f"need two non-empty sets of embeddings of one width, got {a.shape} and {b.shape}")
    gamma = 1.0 / (2.0 * sigma**2)
    return scale * (_kernel_mean(a, a, gamma) + _kernel_mean(b, b, gamma) - 2.0 * _kernel_mean(a, b, gamma))


def output_key(identity: str | None) -> str:
    """The key a CMMD on this extractor is stored under, or a ValueError saying which backbones have one."""
    backbone = (identity or "").split("@", 1)[0]
    if backbone not in KEYS:
        raise ValueError(f"cmmd is defined on CLIP embeddings ({', '.join(KEYS)}); this evaluation's extractor is "
                         f"{identity or 'unknown'}: use extractor clip")
    return KEYS[backbone]


def compute_cmmd(ctx: MetricContext) -> dict[str, float]:
    if ctx.gen is None or ctx.real is None:
        raise ValueError("cmmd needs generated and real pool features")
    return {output_key(ctx.extractor): cmmd(ctx.real.pool, ctx.gen.pool)}
