"""Small domain-pair folders in CycleGAN's layout (trainA/ trainB/ testA/ testB/) for loader and suite tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_images(folder: Path, n: int, mode: str, size: tuple[int, int] = (20, 12), seed: int = 0) -> None:
    """``n`` random PNGs of ``size`` (width, height) in PIL ``mode`` ("L" or "RGB")."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        shape = size[::-1] + ((3,) if mode == "RGB" else ())
        Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), mode).save(folder / f"{i}.png")


def write_pair_folders(root: Path, modes: tuple[str, str] = ("RGB", "RGB"), n_train: int = 6, n_test: int = 3) -> Path:
    """trainA/ trainB/ testA/ testB/ under ``root``, domain A in ``modes[0]`` and B in ``modes[1]``."""
    for split, n in (("train", n_train), ("test", n_test)):
        write_images(root / f"{split}A", n, modes[0])
        write_images(root / f"{split}B", n, modes[1], seed=1)
    return root
