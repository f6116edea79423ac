"""``raw``: the data itself as features."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ganbench.data.base import Dataset, DatasetInfo, Split
from ganbench.errors import GanbenchError
from ganbench.features import EXTRACTORS, ExtractorContext, build_extractor


def ring() -> Dataset:
    points = torch.randn(5, 2, generator=torch.Generator().manual_seed(0))
    return Dataset(DatasetInfo(name="ring", kind="vector", shape=(2,), value_range=(-2.0, 2.0)),
                   {"train": Split(points)})


def context(dataset: Dataset, tmp_path: Path, **options) -> ExtractorContext:
    return ExtractorContext(dataset=dataset, device=torch.device("cpu"), cache_dir=tmp_path, options=options)


def test_vectors_pass_through_as_float64(tmp_path: Path) -> None:
    dataset = ring()
    extractor = build_extractor("raw", context(dataset, tmp_path))
    x = dataset.split("train").all()
    features = extractor(x)
    assert features.pool.dtype == np.float64 and features.logits is None
    np.testing.assert_array_equal(features.pool, x.double().numpy())
    assert (extractor.identity, extractor.pool_layer, extractor.logits_layer) == ("raw", "input", None)


def test_images_are_flattened_row_major(tmp_path: Path, digits: Dataset) -> None:
    x = digits.split("test").get(slice(0, 3))
    features = build_extractor("raw", context(digits, tmp_path))(x)
    assert features.pool.shape == (3, 64)
    assert features.pool[1, 9] == pytest.approx(float(x[1, 0, 1, 1]))  # row 1, column 1 of the 8×8 image


def test_options_are_refused_not_ignored(tmp_path: Path) -> None:
    with pytest.raises(GanbenchError, match="has no option 'batch_size'"):
        build_extractor("raw", context(ring(), tmp_path, batch_size=64))


def test_registry_metadata() -> None:
    meta = EXTRACTORS.meta("raw")
    assert meta["has_logits"] is False and set(meta["data_kinds"]) == {"image", "vector"}
