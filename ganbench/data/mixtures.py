"""2D Gaussian mixtures for mode-collapse studies: the ring and grid of VEEGAN / PacGAN.

Each point picks a mode uniformly at random and adds isotropic Gaussian noise of std ``sigma``.
The mode metrics read ``info.extras["centres"]`` (a list of ``[x, y]``) and ``info.extras["sigma"]``,
so the centres are published exactly as generated rather than re-derived elsewhere.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import torch

from ganbench.data.base import DATASETS, Dataset, DatasetInfo, Split
from ganbench.data.params import integer, merged, real

RING_DEFAULTS: dict[str, Any] = DATASETS.meta("ring")["params"]  # declared in ganbench/catalog.py
GRID_DEFAULTS: dict[str, Any] = DATASETS.meta("grid")["params"]


def ring_centres(modes: int, radius: float) -> torch.Tensor:
    """``modes`` points evenly spaced on a circle, the first on the positive x axis."""
    angles = torch.arange(modes, dtype=torch.float64) * (2 * math.pi / modes)
    return torch.stack([radius * torch.cos(angles), radius * torch.sin(angles)], dim=1)


def grid_centres(side: int, spacing: float) -> torch.Tensor:
    """A ``side`` × ``side`` lattice centred on the origin (5, 2.0 → {−4, −2, 0, 2, 4}²)."""
    axis = (torch.arange(side, dtype=torch.float64) - (side - 1) / 2) * spacing
    xs, ys = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)


def sample_mixture(centres: torch.Tensor, sigma: float, n: int, generator: torch.Generator
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` points (float32) and the index of the mode each was drawn from."""
    modes = torch.randint(len(centres), (n,), generator=generator)
    noise = torch.randn(n, 2, generator=generator, dtype=torch.float64)
    return (centres[modes] + sigma * noise).to(torch.float32), modes


def _mixture_dataset(name: str, centres: torch.Tensor, sigma: float, n_train: int, n_test: int,
                     seed: int) -> Dataset:
    # Each split has its own stream, so changing n_train never changes the test points.
    def make(split_index: int, n: int):
        def build() -> Split:
            generator = torch.Generator().manual_seed(seed * 1_000_003 + split_index)
            points, modes = sample_mixture(centres, sigma, n, generator)
            return Split(points, modes)

        return build

    extent = float(centres.abs().max()) + 4 * sigma
    info = DatasetInfo(name=name, kind="vector", shape=(2,), value_range=(-extent, extent),
                       num_classes=len(centres), splits=("train", "test"),
                       extras={"centres": centres.tolist(), "sigma": sigma})
    return Dataset(info, {"train": make(0, n_train), "test": make(1, n_test)})


def _common(name: str, p: Mapping[str, Any]) -> tuple[float, int, int, int]:
    return (real(name, p, "sigma", 0.0, lo_open=True), integer(name, p, "n_train", 1),
            integer(name, p, "n_test", 1), integer(name, p, "seed", 0))


def ring(params: Mapping[str, Any], data_root: Path | None = None, download: bool = False) -> Dataset:
    """The ring mixture; labels are the mode index of each point."""
    p = merged("ring", params, RING_DEFAULTS)
    modes, radius = integer("ring", p, "modes", 1), real("ring", p, "radius", 0.0, lo_open=True)
    return _mixture_dataset("ring", ring_centres(modes, radius), *_common("ring", p))


def grid(params: Mapping[str, Any], data_root: Path | None = None, download: bool = False) -> Dataset:
    """The grid mixture; labels are the mode index of each point (row-major over x, then y)."""
    p = merged("grid", params, GRID_DEFAULTS)
    side, spacing = integer("grid", p, "side", 1), real("grid", p, "spacing", 0.0, lo_open=True)
    return _mixture_dataset("grid", grid_centres(side, spacing), *_common("grid", p))
