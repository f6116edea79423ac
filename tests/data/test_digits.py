"""scikit-learn digits: all 1,797 images, a seeded disjoint split, [0, 1] values, upsampling."""
from __future__ import annotations

import pytest
import torch

from ganbench.data import DATASETS
from ganbench.data.digits import digits
from ganbench.errors import GanbenchError


def rows(images: torch.Tensor) -> set[bytes]:
    return {r.numpy().tobytes() for r in images.flatten(1)}


def test_all_digits_split_disjointly_by_seed():
    ds = digits({})
    train, test = ds.split("train"), ds.split("test")
    assert (len(train), len(test)) == (1497, 300)
    x, y = train.all(), test.all()
    assert x.shape == (1497, 1, 8, 8) and x.dtype == torch.float32
    assert x.min() == 0 and x.max() == 1 and y.max() == 1
    assert ds.info.num_classes == 10 and set(train.labels.tolist()) == set(range(10))
    from sklearn.datasets import load_digits

    everything = torch.as_tensor(load_digits().images, dtype=torch.float32)[:, None] / 16
    assert len(x) + len(y) == 1797 and rows(torch.cat([x, y])) == rows(everything)
    again = digits({"seed": 0})
    assert torch.equal(again.split("test").all(), y)
    assert not torch.equal(digits({"seed": 1}).split("test").all(), y)
    assert len(digits({"n_test": 97}).split("train")) == 1700


@pytest.mark.parametrize("size", [16, 28, 32])
def test_upsampling_keeps_range_and_labels(size):
    ds = digits({"size": size})
    x = ds.split("test").all()
    assert x.shape == (300, 1, size, size) and ds.info.shape == (1, size, size)
    assert 0 <= x.min() and x.max() <= 1 and x.max() > 0.9
    small = digits({}).split("test")
    assert torch.equal(ds.split("test").labels, small.labels)
    down = torch.nn.functional.interpolate(x, size=(8, 8), mode="area").flatten(1)
    closest = torch.cdist(down, small.all().flatten(1)).argmin(1)
    assert (closest == torch.arange(300)).float().mean() > 0.95  # the same digits, only resampled


def test_metadata_and_bad_size():
    meta = DATASETS.meta("digits")
    assert meta["kind"] == "image" and meta["source"] == "embedded" and meta["params"]["size"] == 8
    with pytest.raises(GanbenchError, match="size"):
        digits({"size": 20})
    with pytest.raises(GanbenchError, match="n_test"):
        digits({"n_test": 1797})
