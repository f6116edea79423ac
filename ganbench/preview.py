"""A look at a dataset before training on it: ``ganbench preview DATASET --out FILE.png``.

Images become a grid of ``n`` real training samples; 2D mixtures a scatter plot with the mode
centres marked, which is the quickest way to check parameters such as ``sigma`` or ``radius``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import torch

from ganbench.data import Dataset, load_dataset


def _rows(dataset: Dataset, n: int, seed: int) -> torch.Tensor:
    train = dataset.split("train")
    if len(train) == 0:
        return train.get(slice(0, 0))
    index = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[:n]
    return train.get(index)


def _image_grid(images: torch.Tensor, out: Path) -> None:
    from torchvision.utils import save_image

    save_image(images.clamp(0, 1), str(out), nrow=max(1, int(round(len(images) ** 0.5))), padding=2, pad_value=0.5)


def _scatter(points: torch.Tensor, dataset: Dataset, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display needed; safe to call repeatedly
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5), dpi=120)
    ax.scatter(points[:, 0].numpy(), points[:, 1].numpy(), s=4, alpha=0.5, label=f"{len(points)} samples")
    centres = dataset.info.extras.get("centres")
    if centres:
        c = torch.as_tensor(centres)
        ax.scatter(c[:, 0].numpy(), c[:, 1].numpy(), marker="x", s=60, color="red", label="mode centres")
    low, high = dataset.info.value_range
    pad = 0.05 * (high - low)
    ax.set_xlim(low - pad, high + pad)
    ax.set_ylim(low - pad, high + pad)
    ax.set_aspect("equal")
    ax.set_title(dataset.info.name)
    fig.legend(loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(out)
    plt.close(fig)


def preview(name: str, params: Mapping[str, Any] | None, out: Path, data_root: str | Path | None = None,
            download: bool = False, n: int | None = None, seed: int = 0) -> Path:
    """Write a PNG of ``n`` training samples of dataset ``name`` to ``out`` and return its path.

    ``n`` defaults to 64 images, or 2,500 points for vector data (the size of the mode metrics'
    sample), since 64 dots say little about a mixture.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    dataset = load_dataset(name, params, data_root=data_root, download=download)
    if dataset.info.kind == "vector":
        _scatter(_rows(dataset, n or 2500, seed), dataset, out)
    else:
        _image_grid(_rows(dataset, n or 64, seed), out)
    return out
