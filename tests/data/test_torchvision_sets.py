"""Disk-backed datasets, read from tiny fixtures written here in the real on-disk formats.

No mocks: MNIST/Fashion-MNIST IDX files (plain and gzip), CIFAR-10 pickles, CelebA JPEGs with its
partition list, and image folders go through the same loading code as real downloads.
"""
from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganbench.data import DATASETS
from ganbench.data.torchvision_sets import (CIFAR_FILES, IDX_FILES, celeba, cifar10, fashion_mnist,
                                            image_folder, mnist, resolve_data_root)
from ganbench.errors import GanbenchError, MissingResourceError


def write_idx(path: Path, array: np.ndarray, compress: bool) -> None:
    """IDX: zero, type byte 0x08 (ubyte), ndim, then big-endian int32 sizes and the raw bytes."""
    payload = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload += array.astype(np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        with gzip.open(f"{path}.gz", "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)


def write_mnist_like(root: Path, folder: str, n_train: int, n_test: int, compress: bool) -> np.ndarray:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n_train + n_test, 28, 28), dtype=np.uint8)
    labels = np.arange(n_train + n_test, dtype=np.uint8) % 10
    raw = root / folder / "raw"
    write_idx(raw / "train-images-idx3-ubyte", images[:n_train], compress)
    write_idx(raw / "train-labels-idx1-ubyte", labels[:n_train], compress)
    write_idx(raw / "t10k-images-idx3-ubyte", images[n_train:], compress)
    write_idx(raw / "t10k-labels-idx1-ubyte", labels[n_train:], compress)
    return images


def write_cifar(root: Path, per_batch: int) -> np.ndarray:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (6 * per_batch, 3, 32, 32), dtype=np.uint8)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for k, name in enumerate(names):
        chunk = images[k * per_batch:(k + 1) * per_batch]
        batch = {"batch_label": name, "labels": [int(i % 10) for i in range(len(chunk))],
                 "data": chunk.reshape(len(chunk), -1), "filenames": [f"{i}.png" for i in range(len(chunk))]}
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                                     "ship", "truck"], "num_cases_per_batch": per_batch, "num_vis": 3072}, f)
    return images


def write_celeba(root: Path, n: int) -> None:
    """Aligned-CelebA-sized JPEGs (178 × 218): red frame, green 160 × 160 centre."""
    folder = root / "celeba"
    (folder / "img_align_celeba").mkdir(parents=True)
    lines = []
    for i in range(1, n + 1):
        img = np.zeros((218, 178, 3), dtype=np.uint8)
        img[..., 0] = 255
        top, left = (218 - 160) // 2, (178 - 160) // 2
        img[top:top + 160, left:left + 160] = (0, 255, 0)
        Image.fromarray(img).save(folder / "img_align_celeba" / f"{i:06d}.jpg", quality=95)
        lines.append(f"{i:06d}.jpg {0 if i <= n - 3 else (1 if i == n - 2 else 2)}")
    (folder / "list_eval_partition.txt").write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("factory,folder,compress", [(mnist, "MNIST", False), (fashion_mnist, "FashionMNIST", True)])
def test_mnist_like_reads_idx_files(tmp_path, factory, folder, compress):
    images = write_mnist_like(tmp_path, folder, 12, 5, compress)
    ds = factory({}, tmp_path, False)
    train, test = ds.split("train"), ds.split("test")
    assert (len(train), len(test)) == (12, 5) and ds.info.shape == (1, 28, 28)
    assert train.data.dtype == torch.uint8  # held compactly in memory
    x = train.all()
    assert x.shape == (12, 1, 28, 28) and x.dtype == torch.float32
    assert torch.allclose(x[:, 0] * 255, torch.from_numpy(images[:12]).float(), atol=1e-3)
    assert torch.equal(test.labels, torch.tensor([2, 3, 4, 5, 6]))


def test_cifar10_reads_pickled_batches(tmp_path):
    images = write_cifar(tmp_path, per_batch=4)
    ds = cifar10({}, tmp_path, False)
    assert (len(ds.split("train")), len(ds.split("test"))) == (20, 4)
    assert ds.info.shape == (3, 32, 32) and ds.info.extras["classes"][0] == "airplane"
    assert torch.equal(ds.split("test").data, torch.from_numpy(images[20:]))
    assert torch.allclose(ds.split("train").get(slice(0, 1)) * 255, torch.from_numpy(images[:1]).float(),
                          atol=1e-3)


def test_celeba_crops_resizes_and_reads_lazily(tmp_path):
    write_celeba(tmp_path, 8)
    ds = celeba({}, tmp_path, False)
    assert [len(ds.split(s)) for s in ("train", "valid", "test")] == [5, 1, 2]
    x = ds.split("train").get(torch.tensor([0, 3]))
    assert x.shape == (2, 3, 64, 64) and ds.info.shape == (3, 64, 64)
    # Only the green centre 160 × 160 remains (JPEG chroma bleeds a little into its outermost pixels).
    assert x[:, 1].mean() > 0.95 and x[:, 0].mean() < 0.05 and x[:, 0, 2:-2, 2:-2].max() < 0.1
    small = celeba({"size": 32, "cache": False}, tmp_path, False)
    assert small.split("test").get(slice(None)).shape == (2, 3, 32, 32)
    # Decoded once, then served from memory: the file is no longer needed (unless cache is off).
    (tmp_path / "celeba" / "img_align_celeba" / "000001.jpg").unlink()
    assert torch.equal(ds.split("train").get(torch.tensor([0])), x[:1])
    with pytest.raises(GanbenchError, match="000001.jpg"):
        small.split("train").get(0)


def test_celeba_lists_images_missing_from_its_partition(tmp_path):
    write_celeba(tmp_path, 4)
    (tmp_path / "celeba" / "img_align_celeba" / "000002.jpg").unlink()
    with pytest.raises(MissingResourceError, match="000002.jpg"):
        celeba({}, tmp_path, False)


@pytest.mark.parametrize("factory,subdir,files", [
    (mnist, "MNIST/raw", IDX_FILES), (fashion_mnist, "FashionMNIST/raw", IDX_FILES),
    (cifar10, "cifar-10-batches-py", CIFAR_FILES), (celeba, "celeba", ("list_eval_partition.txt", "img_align_celeba")),
])
def test_missing_files_name_the_files_the_directory_and_the_fix(tmp_path, factory, subdir, files):
    with pytest.raises(MissingResourceError) as info:
        factory({}, tmp_path, False)
    message = str(info.value)
    assert str(tmp_path / subdir) in message
    assert all(name in message for name in files)
    assert "--download" in message and "download: true" in message and "GANBENCH_DATA_ROOT" in message
    assert not any(tmp_path.iterdir())  # nothing was fetched or created


def test_failed_download_is_the_same_actionable_error(tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    monkeypatch.setattr(tvd.MNIST, "mirrors", ["http://127.0.0.1:9/"])  # refused at once, no network
    with pytest.raises(MissingResourceError, match="Download failed") as info:
        mnist({}, tmp_path, True)
    assert str(tmp_path / "MNIST" / "raw") in str(info.value)


def test_root_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv("GANBENCH_DATA_ROOT", str(tmp_path / "env"))
    assert resolve_data_root(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_data_root(None) == tmp_path / "env"
    monkeypatch.delenv("GANBENCH_DATA_ROOT")
    assert resolve_data_root(None) == Path("~/.cache/ganbench/data").expanduser().resolve()
    write_mnist_like(tmp_path / "env", "MNIST", 3, 2, False)
    monkeypatch.setenv("GANBENCH_DATA_ROOT", str(tmp_path / "env"))
    assert len(mnist({}, None, False).split("test")) == 2


def _save(path: Path, size: tuple[int, int], colour: tuple[int, int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)


def test_image_folder_flat_and_class_layouts(tmp_path):
    for i in range(10):
        _save(tmp_path / "flat" / f"{i}.png", (40 + i, 30), (200, 10 * i, 0))
    (tmp_path / "flat" / "notes.txt").write_text("not an image")
    ds = image_folder({"path": str(tmp_path / "flat"), "size": 16, "test_fraction": 0.2}, None, False)
    assert (len(ds.split("train")), len(ds.split("test"))) == (8, 2) and ds.info.num_classes is None
    x = ds.split("train").all()
    assert x.shape == (8, 3, 16, 16) and x[:, 0].mean() == pytest.approx(200 / 255, abs=0.01)
    same = image_folder({"path": str(tmp_path / "flat"), "size": 16, "test_fraction": 0.2}, None, False)
    assert torch.equal(same.split("test").all(), ds.split("test").all())

    for label, name in enumerate(("cats", "dogs")):
        for i in range(3):
            _save(tmp_path / "classes" / name / f"{i}.jpg", (20, 20), (255 * label, 255 * label, 255 * label))
    ds = image_folder({"path": str(tmp_path / "classes"), "size": 8, "channels": 1, "test_fraction": 0.5},
                      None, False)
    assert ds.info.num_classes == 2 and ds.info.extras["classes"] == ["cats", "dogs"]
    for split in ("train", "test"):
        part = ds.split(split)
        x = part.all()
        assert x.shape == (3, 1, 8, 8)
        assert torch.allclose(x.mean((1, 2, 3)), part.labels.float(), atol=0.02)  # dogs white, cats black


def test_image_folder_errors(tmp_path):
    with pytest.raises(GanbenchError, match="path"):
        image_folder({}, None, False)
    with pytest.raises(MissingResourceError, match=str(tmp_path / "nowhere")):
        image_folder({"path": str(tmp_path / "nowhere")}, None, False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingResourceError, match="found 0 image"):
        image_folder({"path": str(tmp_path / "empty")}, None, False)
    with pytest.raises(GanbenchError, match="test_fraction"):
        image_folder({"path": str(tmp_path / "empty"), "test_fraction": 1.0}, None, False)


def test_metadata():
    for name, source in (("mnist", "torchvision"), ("fashion_mnist", "torchvision"), ("cifar10", "torchvision"),
                         ("celeba", "torchvision"), ("image_folder", "folder")):
        meta = DATASETS.meta(name)
        assert meta["kind"] == "image" and meta["source"] == source and meta["description"]
        assert isinstance(meta["params"], dict)
    assert DATASETS.meta("celeba")["params"] == {"size": 64, "crop": 160, "cache": True}
