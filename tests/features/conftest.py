"""Shared fixtures for the feature tests: a tiny labelled image dataset built from sklearn's digits.

Built here rather than taken from ``ganbench.data`` so these tests depend only on the Dataset
interface, not on another module's registration.
"""
from __future__ import annotations

import pytest
import torch
from sklearn.datasets import load_digits

from ganbench.data.base import Dataset, DatasetInfo, Split


def make_digits(name: str = "digits-sklearn") -> Dataset:
    """sklearn's 1,797 8×8 digits (values 0..16) as uint8 (N, 1, 8, 8) scaled to [0, 1]; a seeded 80/20 split."""
    bunch = load_digits()
    images = torch.as_tensor(bunch.images, dtype=torch.uint8).unsqueeze(1)
    labels = torch.as_tensor(bunch.target, dtype=torch.long)
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    cut = int(0.8 * len(images))
    train, test = order[:cut], order[cut:]
    info = DatasetInfo(name=name, kind="image", shape=(1, 8, 8), value_range=(0.0, 1.0), num_classes=10)
    return Dataset(info, {"train": Split(images[train], labels[train], scale=1 / 16),
                          "test": Split(images[test], labels[test], scale=1 / 16)})


@pytest.fixture(scope="session")
def digits() -> Dataset:
    return make_digits()


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test here may reach the network or a real torch hub cache: any connection attempt fails
    loudly, ``TORCH_HOME`` points at an empty folder, and no GANBENCH_*_WEIGHTS leaks in."""
    import os
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("a feature test tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path_factory.mktemp("torch_home")))
    for key in list(os.environ):
        if key.startswith("GANBENCH_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("GANBENCH_OFFLINE", "1")  # missing weights raise as offline; test_weights_fetch lifts it
