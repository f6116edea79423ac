"""``load_dataset``: registry lookup, parameter validation, defaults, and the in-process memo."""
from __future__ import annotations

import pytest

import ganbench.data as data
from ganbench.data import DATASETS, BatchSampler, Dataset, DatasetInfo, Split, load_dataset
from ganbench.errors import GanbenchError, UnknownNameError


@pytest.fixture(autouse=True)
def fresh_cache():
    data.clear_cache()
    yield
    data.clear_cache()


def test_every_builtin_is_registered_with_the_required_metadata():
    assert {"ring", "grid", "polygons", "digits", "mnist", "fashion_mnist", "cifar10", "celeba",
            "image_folder"} <= set(DATASETS.names())
    for entry in DATASETS:
        meta = entry.metadata
        assert meta["kind"] in ("image", "vector") and meta["source"] in ("embedded", "torchvision", "folder")
        assert isinstance(meta["params"], dict) and meta["description"]
    assert all(callable(x) for x in (BatchSampler, Dataset, DatasetInfo, Split))


def test_defaults_are_filled_and_datasets_are_memoised(tmp_path):
    a = load_dataset("ring", {"n_train": 50, "n_test": 10})
    assert len(a.split("train")) == 50 and a.info.extras["sigma"] == 0.01
    assert load_dataset("ring", {"n_test": 10, "n_train": 50}) is a  # key order does not matter
    assert load_dataset("ring", {"n_train": 50, "n_test": 10, "seed": 0}) is a  # explicit default, same key
    assert load_dataset("ring", {"n_train": 51, "n_test": 10}) is not a
    assert load_dataset("ring", {"n_train": 50, "n_test": 10}, data_root=tmp_path) is not a
    assert load_dataset("triangles", {"n_train": 5, "n_test": 5, "n_holdout": 5}).info.name == "polygons"


def test_unknown_name_and_parameter_are_user_errors():
    with pytest.raises(UnknownNameError, match="did you mean 'grid'"):
        load_dataset("gird")
    with pytest.raises(GanbenchError, match=r"'radius'.*accepted: n_test, n_train, seed, side, sigma, spacing"):
        load_dataset("grid", {"radius": 2})
