"""Domain pairs for image-to-image (and point-to-point) translation: two domains, A and B, per split.

A :class:`DomainPair` holds four splits — ``train_a``, ``train_b``, ``test_a``, ``test_b`` — and offers each
domain as an ordinary :class:`Dataset` (:meth:`DomainPair.domain`), so every extractor, cached real side and
metric of the unconditional task serves a target domain unchanged.

The embedded pairs render one underlying sample in both domains, row for row (``train_a[i]`` and
``train_b[i]`` are the same digit), so a translation can be scored against its true counterpart; they are
``paired``. Unpaired methods never see that pairing: CycleGAN draws the two domains' batches from separate
samplers. Each pair keeps the class label across domains (content preservation reads it).

- ``digit_styles``: scikit-learn's digits, A upright with thin strokes, B turned by ``angle`` (30°) and thickened
  (a 3×3 grey-scale dilation).
- ``polygon_styles``: the study's convex polygons, A outlined and B filled; labelled by vertex count.
- ``ring_warp``: the 8-mode ring (A) and its image under an invertible nonlinear map (B), two coupling steps
  v = y + 0.8·sin(2x), u = x + 0.3·v².
- ``image_pairs``: your own two folders in CycleGAN's layout (``trainA/ trainB/ testA/ testB/`` under
  ``path``: horse2zebra, monet2photo, …), centre-cropped and resized; unpaired, unlabelled.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import torch
import torch.nn.functional as F

from ganbench.data.base import DATASETS, Dataset, DatasetInfo, Split
from ganbench.data.params import choice, integer, merged, real
from ganbench.errors import GanbenchError, MissingResourceError

SIDES = ("a", "b")
SPLITS = ("train_a", "train_b", "test_a", "test_b")
FOLDERS = {"train_a": "trainA", "train_b": "trainB", "test_a": "testA", "test_b": "testB"}
WARP_SIN, WARP_SQUARE = 0.8, 0.3  # ring_warp's coupling coefficients


class DomainPair(Dataset):
    """Two domains' train and test splits; ``info`` describes one domain's samples (both share a shape)."""

    def __init__(self, info: DatasetInfo, splits: Mapping[str, Split], *, paired: bool,
                 domain_extras: Mapping[str, Mapping[str, Any]] | None = None):
        super().__init__(info, splits)
        self.paired = paired
        self._domain_extras = dict(domain_extras or {})
        self._views: dict[str, Dataset] = {}

    def domain(self, side: str) -> Dataset:
        """Domain ``side`` ("a" or "b") as a dataset of its own, splits ``train`` and ``test``; its name
        (``<pair>:A``) keys the feature caches and the domain classifier apart from the other domain's."""
        if side not in SIDES:
            raise ValueError(f"a domain is 'a' or 'b', not {side!r}")
        if side not in self._views:
            info = DatasetInfo(name=f"{self.info.name}:{side.upper()}", kind=self.info.kind, shape=self.info.shape,
                               value_range=self.info.value_range, num_classes=self.info.num_classes,
                               splits=("train", "test"), extras=dict(self._domain_extras.get(side, {})))
            self._views[side] = Dataset(info, {"train": self.split(f"train_{side}"),
                                               "test": self.split(f"test_{side}")})
        return self._views[side]


def other(side: str) -> str:
    return "b" if side == "a" else "a"


def is_domain_pair(dataset: Dataset) -> bool:
    return isinstance(dataset, DomainPair)


# ---------------------------------------------------------------- digit_styles

def thick_turned(images: torch.Tensor, degrees: float) -> torch.Tensor:
    """Domain B of ``digit_styles``: each digit turned ``degrees`` anticlockwise about its centre (bilinear,
    zeros outside), then its strokes dilated by a 3×3 maximum."""
    angle = math.radians(degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    # affine_grid maps output coordinates to input ones: the inverse rotation turns the image by +angle
    theta = torch.tensor([[cos, -sin, 0.0], [sin, cos, 0.0]], dtype=images.dtype).expand(len(images), 2, 3)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    turned = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return F.max_pool2d(turned, kernel_size=3, stride=1, padding=1).clamp_(0.0, 1.0)


def digit_styles(params: Mapping[str, Any], data_root: Path | None = None, download: bool = False) -> DomainPair:
    """scikit-learn's digits in two styles, the same digit in row i of A and of B (default 16×16)."""
    from ganbench.data.digits import SIZES, TOTAL, load_digit_images

    p = merged("digit_styles", params, DATASETS.meta("digit_styles")["params"])
    size = choice("digit_styles", p, "size", SIZES)
    n_test = integer("digit_styles", p, "n_test", 1, TOTAL - 1)
    seed = integer("digit_styles", p, "seed", 0)
    degrees = real("digit_styles", p, "angle", -180.0, 180.0)
    images, labels = load_digit_images(size)
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    test, train = order[:n_test], order[n_test:]
    b = thick_turned(images, degrees)
    info = DatasetInfo(name="digit_styles", kind="image", shape=(1, size, size), value_range=(0.0, 1.0),
                       num_classes=10, splits=SPLITS, extras={"paired": True})
    splits = {"train_a": Split(images[train], labels[train]), "train_b": Split(b[train], labels[train]),
              "test_a": Split(images[test], labels[test]), "test_b": Split(b[test], labels[test])}
    return DomainPair(info, splits, paired=True)


# ---------------------------------------------------------------- polygon_styles

def outline(images: torch.Tensor) -> torch.Tensor:
    """Domain A of ``polygon_styles``: a filled shape's outline, the shape less its 3×3 grey-scale erosion
    (a morphological gradient), about two pixels wide."""
    eroded = -F.max_pool2d(-images, kernel_size=3, stride=1, padding=1)
    return (images - eroded).clamp_(0.0, 1.0)


def polygon_styles(params: Mapping[str, Any], data_root: Path | None = None, download: bool = False) -> DomainPair:
    """The study's convex polygons (28×28) outlined (A) and filled (B), the same polygon in row i of both; the
    label is the vertex count's index among ``vertices``."""
    from ganbench.data.polygons import convex_polygons

    p = merged("polygon_styles", params, DATASETS.meta("polygon_styles")["params"])
    vertices = p["vertices"]
    if not isinstance(vertices, list) or len(vertices) < 2 or not all(isinstance(v, int) and v >= 3
                                                                        for v in vertices):
        raise GanbenchError(f"dataset 'polygon_styles': parameter 'vertices' must list two or more vertex counts "
                            f"(each ≥ 3) so the pair has labels to keep, e.g. [3, 4, 5]; got {vertices!r}")
    n_train, n_test = integer("polygon_styles", p, "n_train", 1), integer("polygon_styles", p, "n_test", 1)
    polygons = convex_polygons({"vertices": vertices, "n_train": n_train, "n_test": n_test, "n_holdout": 1,
                                "seed": integer("polygon_styles", p, "seed", 0)})
    splits: dict[str, Split] = {}
    for name in ("train", "test"):
        filled = polygons.split(name)
        splits[f"{name}_a"] = Split(outline(filled.all()), filled.labels)
        splits[f"{name}_b"] = Split(filled.all(), filled.labels)
    info = DatasetInfo(name="polygon_styles", kind="image", shape=polygons.info.shape, value_range=(0.0, 1.0),
                       num_classes=len(vertices), splits=SPLITS, extras={"paired": True, "vertices": vertices})
    return DomainPair(info, splits, paired=True)


# ---------------------------------------------------------------- ring_warp

def warp(points: torch.Tensor) -> torch.Tensor:
    """``ring_warp``'s map A → B: v = y + 0.8·sin(2x), then u = x + 0.3·v² (each step invertible)."""
    x, y = points[..., 0], points[..., 1]
    v = y + WARP_SIN * torch.sin(2 * x)
    return torch.stack([x + WARP_SQUARE * v.pow(2), v], dim=-1)


def unwarp(points: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`warp`: x = u − 0.3·v², y = v − 0.8·sin(2x)."""
    u, v = points[..., 0], points[..., 1]
    x = u - WARP_SQUARE * v.pow(2)
    return torch.stack([x, v - WARP_SIN * torch.sin(2 * x)], dim=-1)


def ring_warp(params: Mapping[str, Any], data_root: Path | None = None, download: bool = False) -> DomainPair:
    """The ring (A) and its warp (B), point for point; labels are the modes, B's centres the warped ones."""
    from ganbench.data.mixtures import ring_centres, sample_mixture

    p = merged("ring_warp", params, DATASETS.meta("ring_warp")["params"])
    modes, sigma = integer("ring_warp", p, "modes", 2), real("ring_warp", p, "sigma", 0.0, lo_open=True)
    n_train, n_test = integer("ring_warp", p, "n_train", 1), integer("ring_warp", p, "n_test", 1)
    seed = integer("ring_warp", p, "seed", 0)
    centres = ring_centres(modes, 1.0)
    splits: dict[str, Split] = {}
    for index, (name, n) in enumerate((("train", n_train), ("test", n_test))):
        points, labels = sample_mixture(centres, sigma, n, torch.Generator().manual_seed(seed * 1_000_003 + index))
        splits[f"{name}_a"], splits[f"{name}_b"] = Split(points, labels), Split(warp(points), labels)
    warped = warp(centres.to(torch.float32)).to(torch.float64)
    both = torch.cat([centres, warped])
    extent = float(both.abs().max()) + 4 * sigma
    info = DatasetInfo(name="ring_warp", kind="vector", shape=(2,), value_range=(-extent, extent),
                       num_classes=modes, splits=SPLITS, extras={"paired": True})
    return DomainPair(info, splits, paired=True, domain_extras={
        "a": {"centres": centres.tolist(), "sigma": sigma}, "b": {"centres": warped.tolist()}})


# ---------------------------------------------------------------- image_pairs (CycleGAN's folders)

def image_pairs(params: Mapping[str, Any], data_root: Path | None = None, download: bool = False) -> DomainPair:
    """``trainA/ trainB/ testA/ testB/`` under ``path``: two unpaired domains, centre crop + resize to ``size``.

    ``channels``: 1 or 3 converts both domains; 0 (the default) keeps what the files hold, and the two domains
    must then agree (a grey-scale domain beside a colour one is refused, naming both folders).
    """
    from PIL import Image

    from ganbench.data.torchvision_sets import LazyImageSplit, image_loader, list_images

    p = merged("image_pairs", params, DATASETS.meta("image_pairs")["params"])
    if not p["path"]:
        raise GanbenchError("dataset 'image_pairs' needs the parameter 'path': a folder holding trainA/, trainB/, "
                            "testA/ and testB/ (CycleGAN's layout)")
    path = Path(str(p["path"])).expanduser().resolve()
    size = integer("image_pairs", p, "size", 8, 1024)
    channels = choice("image_pairs", p, "channels", (0, 1, 3))
    cache = choice("image_pairs", p, "cache", (True, False))
    files: dict[str, list[Path]] = {}
    for split, folder in FOLDERS.items():
        where = path / folder
        if not where.is_dir():
            raise MissingResourceError(f"dataset 'image_pairs': {where} is missing; put domain "
                                       f"{split[-1].upper()}'s {split[:-2]} images there (the layout is "
                                       f"{path}/{{trainA,trainB,testA,testB}}/*.jpg, as CycleGAN's datasets ship)")
        files[split], _, _ = list_images(where)
        if not files[split]:
            raise MissingResourceError(f"dataset 'image_pairs': {where} holds no images (png, jpg, jpeg, bmp, "
                                       "webp, ...); put domain images there")
    found: dict[str, int] = {}
    for split, paths in files.items():
        with Image.open(paths[0]) as img:
            found[split] = 1 if img.mode in ("1", "L", "LA", "I", "I;16", "F") else 3
    if channels == 0:
        if found["train_a"] != found["train_b"]:
            raise GanbenchError(
                f"dataset 'image_pairs': {path / 'trainA'} holds {_channels(found['train_a'])} images and "
                f"{path / 'trainB'} {_channels(found['train_b'])} ones; set params.channels to 1 or 3 to convert "
                "both domains to one")
        channels = found["train_a"]
    load, shape = image_loader(size, channels), (channels, size, size)
    splits = {split: LazyImageSplit(paths, load, shape, cache=cache) for split, paths in files.items()}
    info = DatasetInfo(name="image_pairs", kind="image", shape=shape, value_range=(0.0, 1.0), num_classes=None,
                       splits=SPLITS, extras={"path": str(path), "paired": False})
    return DomainPair(info, splits, paired=False)


def _channels(n: int) -> str:
    return "grey-scale" if n == 1 else "colour"
