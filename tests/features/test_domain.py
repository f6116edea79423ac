"""``domain``: the classifier ganbench trains on a dataset's own labels.

Trained twice on sklearn's digits (≈ 4 s each on one thread): once into a shared cache, once into a
fresh one to prove the weights are bit-identical; every other check reuses the cached network.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ganbench.data.base import Dataset, DatasetInfo, Split
from ganbench.errors import GanbenchError
from ganbench.features import EXTRACTORS, ExtractorContext, build_extractor
from ganbench.features import domain as domain_module

from .conftest import make_digits

CPU = torch.device("cpu")


def context(dataset: Dataset, cache_dir: Path, **options) -> ExtractorContext:
    return ExtractorContext(dataset=dataset, device=CPU, cache_dir=cache_dir, options=options)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("domain_cache")


@pytest.fixture(scope="module")
def trained(cache_dir: Path, digits: Dataset):
    return build_extractor("domain", context(digits, cache_dir))


@pytest.fixture
def no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("the domain classifier was trained again instead of loaded from the cache")

    monkeypatch.setattr(domain_module, "train_classifier", refuse)


def test_reaches_90_percent_on_digits_and_gives_pool_and_logits(trained, digits: Dataset) -> None:
    assert trained.test_accuracy >= 0.9
    assert trained.record["eval_split"] == "test" and trained.record["eval_size"] == len(digits.split("test"))
    features = trained(digits.split("test").get(slice(0, 5)))
    assert features.pool.shape == (5, 128) and features.logits.shape == (5, 10)
    assert features.pool.dtype == np.float64 and (features.pool >= 0).all()  # post-ReLU penultimate layer
    assert trained.identity.startswith("domain-digits-sklearn@") and len(trained.identity.split("@")[1]) == 12
    assert (trained.pool_layer, trained.logits_layer) == ("penultimate", "logits")


def test_second_build_loads_the_cache_without_training(trained, cache_dir: Path, digits: Dataset,
                                                       no_training) -> None:
    files = sorted((cache_dir / "domain").iterdir())
    assert [f.suffix for f in files] == [".json", ".pt"]  # weights + record, no temporary files left
    mtimes = [f.stat().st_mtime_ns for f in files]
    again = build_extractor("domain", context(digits, cache_dir))
    assert again.identity == trained.identity and again.test_accuracy == trained.test_accuracy
    assert [f.stat().st_mtime_ns for f in files] == mtimes
    x = digits.split("test").get(slice(0, 8))
    np.testing.assert_array_equal(again(x).logits, trained(x).logits)


def test_training_is_deterministic(trained, digits: Dataset, tmp_path: Path) -> None:
    torch.manual_seed(12345)  # the caller's RNG state must not matter
    fresh = build_extractor("domain", context(digits, tmp_path))
    assert fresh.identity == trained.identity  # identity carries the weights' hash


def test_recipe_and_dataset_key_the_cache(trained, digits: Dataset, cache_dir: Path) -> None:
    short = build_extractor("domain", context(digits, cache_dir, epochs=1.0))  # 23 steps: quick
    assert short.identity != trained.identity and short.record["steps"] < trained.record["steps"]
    renamed = build_extractor("domain", context(make_digits("digits-renamed"), cache_dir, epochs=1.0))
    assert renamed.identity.startswith("domain-digits-renamed@")
    assert len(list((cache_dir / "domain").glob("*.pt"))) == 3


def test_corrupted_cache_is_retrained(digits: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real_train = domain_module.train_classifier
    monkeypatch.setattr(domain_module, "train_classifier", lambda *a: calls.append(1) or real_train(*a))
    first = build_extractor("domain", context(digits, tmp_path, epochs=1.0))
    (weights,) = (tmp_path / "domain").glob("*.pt")
    weights.write_bytes(b"not a checkpoint")
    second = build_extractor("domain", context(digits, tmp_path, epochs=1.0))
    assert len(calls) == 2 and second.identity == first.identity


def test_vectors_with_labels_get_an_mlp(tmp_path: Path) -> None:
    generator = torch.Generator().manual_seed(0)
    centres = torch.tensor([[-3.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
    labels = torch.randint(0, 3, (600,), generator=generator)
    points = centres[labels] + 0.5 * torch.randn(600, 2, generator=generator)
    info = DatasetInfo(name="blobs", kind="vector", shape=(2,), value_range=(-5.0, 5.0), num_classes=3,
                       splits=("train",))
    extractor = build_extractor("domain", context(Dataset(info, {"train": Split(points, labels)}), tmp_path))
    assert extractor.record["eval_split"] == "train-holdout" and extractor.test_accuracy >= 0.9
    features = extractor(points[:4])
    assert features.pool.shape == (4, 128) and features.logits.shape == (4, 3)


def test_without_labels_or_with_bad_options_it_says_why(tmp_path: Path, digits: Dataset) -> None:
    unlabelled = Dataset(DatasetInfo(name="ring", kind="vector", shape=(2,), value_range=(-1.0, 1.0)),
                         {"train": Split(torch.zeros(10, 2))})
    with pytest.raises(GanbenchError, match="needs class labels.*'raw'"):
        build_extractor("domain", context(unlabelled, tmp_path))
    with pytest.raises(GanbenchError, match="did you mean 'epochs'"):
        build_extractor("domain", context(digits, tmp_path, epocs=3))
    with pytest.raises(GanbenchError, match="'width' must be of type int"):
        build_extractor("domain", context(digits, tmp_path, width=3.5))
    with pytest.raises(GanbenchError, match="augmentation"):
        build_extractor("domain", context(digits, tmp_path, augmentation="flip"))


def test_wrong_sample_shape_is_refused(trained) -> None:
    with pytest.raises(GanbenchError, match=r"\(1, 8, 8\)"):
        trained(torch.zeros(2, 1, 16, 16))


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [8, 28, 32, 64])
def test_one_architecture_serves_8_to_64_px(channels: int, size: int) -> None:
    info = DatasetInfo(name="x", kind="image", shape=(channels, size, size), value_range=(0.0, 1.0), num_classes=7)
    pool, logits = domain_module.DomainClassifier(info, domain_module.Recipe())(torch.rand(2, channels, size, size))
    assert pool.shape == (2, 128) and logits.shape == (2, 7)


def test_registry_metadata() -> None:
    meta = EXTRACTORS.meta("domain")
    assert meta["has_logits"] is True
    assert (domain_module.DomainExtractor.pool_layer, domain_module.DomainExtractor.logits_layer) == \
        ("penultimate", "logits")


def test_polygons_are_classified_by_vertex_count(tmp_path: Path) -> None:
    """The study's polygons, mixed 3- and 5-gons: the domain classifier learns the vertex count."""
    from ganbench.data import load_dataset

    polygons = load_dataset("polygons", {"vertices": [3, 5], "n_train": 2000, "n_test": 500, "n_holdout": 10})
    extractor = build_extractor("domain", context(polygons, tmp_path))
    assert extractor.test_accuracy >= 0.9
    test = polygons.split("test")
    features = extractor(test.all())
    assert features.logits.shape == (500, 2) and features.pool.shape[0] == 500
    predicted = torch.as_tensor(np.asarray(features.logits)).argmax(1)
    assert float((predicted == test.labels).double().mean()) == pytest.approx(extractor.test_accuracy, abs=1e-6)


def test_single_count_polygons_have_no_classes_to_learn(tmp_path: Path) -> None:
    from ganbench.data import load_dataset

    triangles = load_dataset("polygons", {"n_train": 100, "n_test": 10, "n_holdout": 10})
    with pytest.raises(GanbenchError, match="label"):
        build_extractor("domain", context(triangles, tmp_path))
