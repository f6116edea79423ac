"""The on-disk cache: keys, verification on load, atomic writes, real-feature selection."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from ganbench.data.base import Dataset
from ganbench.features import Features, cached_array, default_cache_dir, real_features, real_indices, real_key
from ganbench.features.cache import canonical_json, split_digest

from .conftest import make_digits


class CountingExtractor:
    """Flattened data (+ optional fake logits), counting how many samples it was asked for."""

    pool_layer = "input"

    def __init__(self, identity: str = "counting@1", logits: bool = False):
        self.name, self.identity = "counting", identity
        self.logits_layer = "sum" if logits else None
        self.seen = 0

    def __call__(self, x: torch.Tensor) -> Features:
        self.seen += len(x)
        pool = x.reshape(len(x), -1).double().numpy()
        return Features(pool=pool, logits=pool.sum(axis=1, keepdims=True) if self.logits_layer else None)


def entries(cache_dir: Path) -> list[Path]:
    return sorted((cache_dir / "arrays").iterdir())


def test_cached_array_computes_once_per_key(tmp_path: Path) -> None:
    calls = []

    def compute() -> dict[str, np.ndarray]:
        calls.append(1)
        return {"mu": np.arange(3.0), "sigma": np.eye(3)}

    key = {"kind": "fid-stats", "extractor": "raw", "n": 10}
    first = cached_array(tmp_path, key, compute)
    second = cached_array(tmp_path, dict(reversed(list(key.items()))), compute)  # key order is irrelevant
    assert len(calls) == 1 and len(entries(tmp_path)) == 1
    np.testing.assert_array_equal(second["sigma"], np.eye(3))
    assert first.keys() == second.keys() == {"mu", "sigma"}
    cached_array(tmp_path, {**key, "n": 11}, compute)
    assert len(calls) == 2 and len(entries(tmp_path)) == 2
    assert all(p.name.startswith("fid-stats-") and p.suffix == ".npz" for p in entries(tmp_path))


def test_entry_holding_another_key_or_garbage_is_recomputed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    one = {"kind": "t", "v": 1}
    cached_array(tmp_path, one, lambda: {"x": np.array([1.0])})
    (path,) = entries(tmp_path)
    cached_array(tmp_path, {"kind": "t", "v": 2}, lambda: {"x": np.array([2.0])})
    (other,) = [p for p in entries(tmp_path) if p != path]
    path.write_bytes(other.read_bytes())  # an entry copied under the wrong name
    with caplog.at_level(logging.WARNING):
        assert cached_array(tmp_path, one, lambda: {"x": np.array([1.0])})["x"][0] == 1.0
    assert "another key" in caplog.text
    path.write_bytes(b"\x00garbage")  # a torn or corrupted file
    with caplog.at_level(logging.WARNING):
        assert cached_array(tmp_path, one, lambda: {"x": np.array([3.0])})["x"][0] == 3.0
    assert "unreadable" in caplog.text
    assert cached_array(tmp_path, one, lambda: {"x": np.array([4.0])})["x"][0] == 3.0  # rewritten, reused


def test_failed_compute_leaves_no_file_and_no_temporary(tmp_path: Path) -> None:
    def boom() -> dict[str, np.ndarray]:
        raise RuntimeError("extractor crashed")

    with pytest.raises(RuntimeError):
        cached_array(tmp_path, {"kind": "t"}, boom)
    assert not (tmp_path / "arrays").exists() or not list((tmp_path / "arrays").iterdir())
    cached_array(tmp_path, {"kind": "t"}, lambda: {"x": np.zeros(2)})
    assert [p.name for p in (tmp_path / "arrays").iterdir() if p.name.endswith(".tmp")] == []


def test_key_material_must_be_plain_data(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="object"):
        cached_array(tmp_path, {"kind": "t", "extractor": object()}, lambda: {"x": np.zeros(1)})


def test_real_features_are_cached_per_split_n_seed_and_extractor(tmp_path: Path, digits: Dataset) -> None:
    extractor = CountingExtractor()
    first = real_features(extractor, digits, "test", 50, tmp_path, seed=0)
    again = real_features(extractor, digits, "test", 50, tmp_path, seed=0)
    assert extractor.seen == 50 and len(entries(tmp_path)) == 1
    np.testing.assert_array_equal(first.pool, again.pool)
    expected = digits.split("test").get(real_indices(digits.split("test"), 50, seed=0)).reshape(50, -1)
    np.testing.assert_array_equal(first.pool, expected.double().numpy())  # the documented seeded selection
    for variant in ({"split": "train"}, {"n": 40}, {"seed": 1}):
        args = {"split": "test", "n": 50, "seed": 0, **variant}
        real_features(extractor, digits, args["split"], args["n"], tmp_path, seed=args["seed"])
    real_features(CountingExtractor(identity="counting@2"), digits, "test", 50, tmp_path)
    assert len(entries(tmp_path)) == 5


def test_n_beyond_the_split_uses_all_of_it_and_says_so(tmp_path: Path, digits: Dataset,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    size = len(digits.split("test"))
    with caplog.at_level(logging.WARNING):
        features = real_features(CountingExtractor(logits=True), digits, "test", 10_000, tmp_path)
    assert len(features) == size and features.logits.shape == (size, 1)
    assert "using the whole split" in caplog.text
    (entry,) = entries(tmp_path)
    key = real_key(CountingExtractor(logits=True), digits, "test", 10_000)
    assert key["whole_split"] is True and key["n"] == size
    with np.load(entry) as stored:
        assert str(stored["__key__"]) == canonical_json(key)  # the key material travels with the arrays
        assert sorted(stored["index"].tolist()) == list(range(size))


def test_split_digest_sees_changed_data() -> None:
    split = make_digits().split("test")  # a private copy: the shared fixture stays untouched
    before = split_digest(split)
    assert split_digest(make_digits().split("test")) == before
    split.data[0] += 1  # row 0 is always among the hashed rows
    assert split_digest(split) != before


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("GANBENCH_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / ".cache" / "ganbench"
