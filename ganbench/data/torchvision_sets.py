"""Datasets read from disk: MNIST, Fashion-MNIST, CIFAR-10, CelebA and a user's own image folder.

Files live under a root directory: the ``data_root`` argument, else ``$GANBENCH_DATA_ROOT``, else
``~/.cache/ganbench/data``, in torchvision's layout, so an existing torchvision download is reused.
The network is touched only when ``download=True`` *and* files are missing; otherwise a missing
file raises :class:`MissingResourceError` whose one message lists the files, the full directory
and how to fetch them.

MNIST and Fashion-MNIST go through torchvision's classes (they check only that the IDX files exist;
``.gz`` files from a manual download are unpacked in place first). CIFAR-10 and CelebA are
downloaded by torchvision's classes but read by the small readers below: torchvision refuses files
whose MD5 differs from the official release (and checks it on every load), which would rule out
test fixtures and re-packed copies, while the on-disk format itself is all we need.

Memory: MNIST-like sets and CIFAR-10 are held as uint8 (≈ 55 MB and 180 MB). CelebA (202,599
JPEGs) and image folders are decoded on demand per batch by :class:`LazyImageSplit`, which keeps
each decoded image (uint8, after crop and resize) so every file is decoded once: memory grows with
use, up to 2.0 GB for CelebA's 162,770 training images at 64×64; ``cache: false`` holds file names only.
"""
from __future__ import annotations

import gzip
import os
import pickle
import shutil
import zipfile
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from PIL import Image

from ganbench.data.base import DATASETS, Dataset, DatasetInfo, Split
from ganbench.data.params import choice, integer, merged, real
from ganbench.errors import GanbenchError, MissingResourceError

ENV_ROOT = "GANBENCH_DATA_ROOT"
DEFAULT_ROOT = Path("~/.cache/ganbench/data")
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte")
CIFAR_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch", "batches.meta")
CELEBA_PARTITION = "list_eval_partition.txt"
CELEBA_IMAGES = "img_align_celeba"


def resolve_data_root(data_root: str | Path | None = None) -> Path:
    """The absolute data root: the argument, else ``$GANBENCH_DATA_ROOT``, else ``~/.cache/ganbench/data``."""
    root = data_root if data_root not in (None, "") else os.environ.get(ENV_ROOT) or DEFAULT_ROOT
    return Path(root).expanduser().resolve()


def missing_error(dataset: str, directory: Path, files: Sequence[str], root: Path | None = None,
                  reason: str = "") -> MissingResourceError:
    """One message: what is missing, the full directory it must be in, and the ways to fix it."""
    text = (f"dataset '{dataset}' is not available: expected {', '.join(files)} in {directory}. "
            f"Fetch it with `ganbench run SUITE --download` (or `download: true` in the suite) or copy "
            f"the files there yourself")
    if root is not None:
        inside = directory.relative_to(root) if directory.is_relative_to(root) else directory
        text += (f"; if you already have them elsewhere, point --data-root or ${ENV_ROOT} at the "
                 f"directory that contains {inside}/ (now {root})")
    return MissingResourceError(f"{text}. {reason}".strip())


def _fetch(dataset: str, root: Path, directory: Path, download: bool, missing: Callable[[], list[str]],
           fetch: Callable[[], Any]) -> None:
    """Return once no file is missing, downloading first when allowed; raise otherwise."""
    absent = missing()
    if not absent:
        return
    if download:
        try:
            fetch()
        except Exception as err:  # noqa: BLE001 — any failure becomes the one actionable message
            raise missing_error(dataset, directory, absent, root, f"Download failed: {err}") from err
        absent = missing()
    if absent:
        raise missing_error(dataset, directory, absent, root)


# ---------------------------------------------------------------- MNIST and Fashion-MNIST


def _idx_missing(raw: Path) -> list[str]:
    """IDX files absent from ``raw``; a ``.gz`` next to a missing file is unpacked instead."""
    missing = []
    for name in IDX_FILES:
        target, packed = raw / name, raw / f"{name}.gz"
        if not target.is_file() and packed.is_file():
            with gzip.open(packed, "rb") as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
        if not target.is_file():
            missing.append(f"{name}[.gz]")
    return missing


def _mnist_like(name: str, cls_name: str, params: Mapping[str, Any], data_root: Path | None,
                download: bool) -> Dataset:
    import torchvision.datasets as tvd

    merged(name, params, {})
    root = resolve_data_root(data_root)
    raw = root / cls_name / "raw"
    cls = getattr(tvd, cls_name)
    _fetch(name, root, raw, download, lambda: _idx_missing(raw), lambda: cls(str(root), download=True))
    splits = {}
    for split, train in (("train", True), ("test", False)):
        data = cls(str(root), train=train)
        splits[split] = Split(data.data[:, None].clone(), data.targets.clone(), scale=1 / 255)
    info = DatasetInfo(name=name, kind="image", shape=(1, 28, 28), value_range=(0.0, 1.0), num_classes=10)
    return Dataset(info, splits)


def mnist(params: Mapping[str, Any], data_root: Path | None = None, download: bool = False) -> Dataset:
    """MNIST from ``<root>/MNIST/raw/`` (IDX files, as torchvision stores them)."""
    return _mnist_like("mnist", "MNIST", params, data_root, download)


def fashion_mnist(params: Mapping[str, Any], data_root: Path | None = None, download: bool = False) -> Dataset:
    """Fashion-MNIST from ``<root>/FashionMNIST/raw/``."""
    return _mnist_like("fashion_mnist", "FashionMNIST", params, data_root, download)


# ---------------------------------------------------------------- CIFAR-10


def read_cifar_batch(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """One pickled CIFAR batch → (N, 3, 32, 32) uint8 images and (N,) labels."""
    with open(path, "rb") as f:
        entry = pickle.load(f, encoding="latin1")
    data = np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    labels = entry["labels"] if "labels" in entry else entry["fine_labels"]
    return torch.from_numpy(data.copy()), torch.as_tensor(labels, dtype=torch.long)


def cifar10(params: Mapping[str, Any], data_root: Path | None = None, download: bool = False) -> Dataset:
    """CIFAR-10 from ``<root>/cifar-10-batches-py/`` (the python pickles of the official archive)."""
    import torchvision.datasets as tvd

    merged("cifar10", params, {})
    root = resolve_data_root(data_root)
    folder = root / "cifar-10-batches-py"
    _fetch("cifar10", root, folder, download, lambda: [f for f in CIFAR_FILES if not (folder / f).is_file()],
           lambda: tvd.CIFAR10(str(root), train=True, download=True))
    with open(folder / "batches.meta", "rb") as f:
        classes = list(pickle.load(f, encoding="latin1")["label_names"])
    parts = [read_cifar_batch(folder / f"data_batch_{i}") for i in range(1, 6)]
    train = Split(torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts]), scale=1 / 255)
    test = Split(*read_cifar_batch(folder / "test_batch"), scale=1 / 255)
    info = DatasetInfo(name="cifar10", kind="image", shape=(3, 32, 32), value_range=(0.0, 1.0),
                       num_classes=len(classes), extras={"classes": classes})
    return Dataset(info, {"train": train, "test": test})


# ---------------------------------------------------------------- images read per batch


class LazyImageSplit(Split):
    """A split of image files decoded on demand (and, with ``cache``, kept after the first read)."""

    def __init__(self, paths: Sequence[Path], load: Callable[[Path], torch.Tensor], shape: tuple[int, ...],
                 labels: torch.Tensor | None = None, cache: bool = True):
        if labels is not None and len(labels) != len(paths):
            raise ValueError("labels and paths differ in length")
        self.paths, self.load, self.shape, self.labels = list(paths), load, shape, labels
        self.scale, self.offset = 1 / 255, 0.0
        self._cache = torch.empty((len(self.paths), *shape), dtype=torch.uint8) if cache else None
        self._filled = torch.zeros(len(self.paths), dtype=torch.bool)

    def __len__(self) -> int:
        return len(self.paths)

    def _read(self, i: int) -> torch.Tensor:
        try:
            return self.load(self.paths[i])
        except (OSError, ValueError) as err:
            raise GanbenchError(f"cannot read image {self.paths[i]}: {err}") from err

    def get(self, index: torch.Tensor | slice | int) -> torch.Tensor:
        if isinstance(index, int):
            rows = torch.tensor([index])
        elif isinstance(index, slice):
            rows = torch.arange(len(self))[index]
        else:
            rows = index.nonzero().reshape(-1) if index.dtype == torch.bool else index.reshape(-1).long()
        if self._cache is None:
            data = torch.stack([self._read(int(i)) for i in rows]) if len(rows) else \
                torch.empty((0, *self.shape), dtype=torch.uint8)
        else:
            for i in rows[~self._filled[rows]].unique().tolist():
                self._cache[i] = self._read(i)
                self._filled[i] = True
            data = self._cache[rows]
        out = data.to(torch.float32) * self.scale + self.offset
        return out[0] if isinstance(index, int) else out


def image_loader(size: int, channels: int, crop: int | None = None) -> Callable[[Path], torch.Tensor]:
    """File → (C, size, size) uint8: centre crop (``crop`` px, else the largest square), then resize."""

    def load(path: Path) -> torch.Tensor:
        with Image.open(path) as img:
            img = img.convert("L" if channels == 1 else "RGB")
            side = crop or min(img.size)
            left, top = (img.size[0] - side) // 2, (img.size[1] - side) // 2
            img = img.crop((left, top, left + side, top + side))
            if side != size:
                img = img.resize((size, size), Image.BILINEAR)  # PIL antialiases when shrinking
            array = np.asarray(img, dtype=np.uint8)
        array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
        return torch.from_numpy(array.copy())

    return load


# ---------------------------------------------------------------- CelebA

CELEBA_DEFAULTS: dict[str, Any] = DATASETS.meta("celeba")["params"]  # declared in ganbench/catalog.py


def read_celeba_partition(path: Path) -> dict[str, list[str]]:
    """``list_eval_partition.txt`` ("000001.jpg 0" per line) → file names per split."""
    names = {0: "train", 1: "valid", 2: "test"}
    splits: dict[str, list[str]] = {"train": [], "valid": [], "test": []}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
            raise GanbenchError(f"{path}:{number}: expected '<file> <0|1|2>', got {line!r}")
        splits[names[int(parts[1])]].append(parts[0])
    return splits


def _celeba_missing(folder: Path) -> list[str]:
    images, archive = folder / CELEBA_IMAGES, folder / f"{CELEBA_IMAGES}.zip"
    if not images.is_dir() and archive.is_file():  # downloaded by hand but not unpacked
        with zipfile.ZipFile(archive) as z:
            z.extractall(folder)
    return [name for name, ok in ((CELEBA_PARTITION, (folder / CELEBA_PARTITION).is_file()),
                                  (f"{CELEBA_IMAGES}/ (the aligned JPEGs)", images.is_dir())) if not ok]


def celeba(params: Mapping[str, Any], data_root: Path | None = None, download: bool = False) -> Dataset:
    """CelebA from ``<root>/celeba/``: its own train / valid / test partition, decoded per batch."""
    import torchvision.datasets as tvd

    p = merged("celeba", params, CELEBA_DEFAULTS)
    size, crop = integer("celeba", p, "size", 8, 256), integer("celeba", p, "crop", 8, 178)
    cache = choice("celeba", p, "cache", (True, False))
    root = resolve_data_root(data_root)
    folder = root / "celeba"
    _fetch("celeba", root, folder, download, lambda: _celeba_missing(folder),
           lambda: tvd.CelebA(str(root), split="all", target_type=[], download=True))
    partition = read_celeba_partition(folder / CELEBA_PARTITION)
    images = folder / CELEBA_IMAGES
    on_disk = set(os.listdir(images))
    absent = [n for files in partition.values() for n in files if n not in on_disk]
    if absent:
        more = [f"and {len(absent) - 3} more listed in {CELEBA_PARTITION}"] if len(absent) > 3 else []
        raise missing_error("celeba", images, absent[:3] + more, root)
    load = image_loader(size, 3, crop)
    splits = {name: LazyImageSplit([images / n for n in files], load, (3, size, size), cache=cache)
              for name, files in partition.items()}
    info = DatasetInfo(name="celeba", kind="image", shape=(3, size, size), value_range=(0.0, 1.0),
                       splits=("train", "valid", "test"))
    return Dataset(info, splits)


# ---------------------------------------------------------------- a user's own images

FOLDER_DEFAULTS: dict[str, Any] = DATASETS.meta("image_folder")["params"]  # declared in ganbench/catalog.py


def list_images(path: Path) -> tuple[list[Path], torch.Tensor | None, list[str]]:
    """Image files under ``path``: class subfolders (ImageFolder layout, labelled) or one flat folder."""
    from torchvision.datasets.folder import IMG_EXTENSIONS, make_dataset

    subdirs = sorted(d.name for d in path.iterdir() if d.is_dir())
    classes = [d for d in subdirs if any(f.suffix.lower() in IMG_EXTENSIONS for f in (path / d).rglob("*"))]
    if classes:
        samples = make_dataset(str(path), {c: i for i, c in enumerate(classes)}, extensions=IMG_EXTENSIONS)
        return [Path(s) for s, _ in samples], torch.tensor([t for _, t in samples]), classes
    files = sorted(f for f in path.iterdir() if f.is_file() and f.suffix.lower() in IMG_EXTENSIONS)
    return files, None, []


def image_folder(params: Mapping[str, Any], data_root: Path | None = None, download: bool = False) -> Dataset:
    """Images under ``path`` (relative paths are taken from the working directory), split by seed."""
    p = merged("image_folder", params, FOLDER_DEFAULTS)
    if not p["path"]:
        raise GanbenchError("dataset 'image_folder' needs the parameter 'path' (a folder of images)")
    path = Path(str(p["path"])).expanduser().resolve()
    size = integer("image_folder", p, "size", 4, 1024)
    channels = choice("image_folder", p, "channels", (1, 3))
    fraction = real("image_folder", p, "test_fraction", 0.0, 1.0, lo_open=True, hi_open=True)
    seed, cache = integer("image_folder", p, "seed", 0), choice("image_folder", p, "cache", (True, False))
    if not path.is_dir():
        raise MissingResourceError(f"dataset 'image_folder': {path} is not a folder; set 'path' to a folder "
                                   f"of images ({', '.join(('png', 'jpg', 'jpeg', 'bmp', 'webp'))}) or of class "
                                   f"subfolders holding them")
    files, labels, classes = list_images(path)
    if len(files) < 2:
        raise MissingResourceError(f"dataset 'image_folder': found {len(files)} image(s) in {path}; "
                                   f"it needs at least 2 (png, jpg, jpeg, bmp, webp, ...)")
    n_test = min(max(1, round(len(files) * fraction)), len(files) - 1)
    order = torch.randperm(len(files), generator=torch.Generator().manual_seed(seed))
    load, shape = image_loader(size, channels), (channels, size, size)

    def part(rows: torch.Tensor) -> LazyImageSplit:
        return LazyImageSplit([files[i] for i in rows.tolist()], load, shape,
                              None if labels is None else labels[rows], cache=cache)

    info = DatasetInfo(name="image_folder", kind="image", shape=shape, value_range=(0.0, 1.0),
                       num_classes=len(classes) or None, extras={"path": str(path), "classes": classes})
    return Dataset(info, {"train": part(order[n_test:]), "test": part(order[:n_test])})
