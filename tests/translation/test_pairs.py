"""Domain pairs: the embedded ones render one sample in both domains row for row; the folder one reads
CycleGAN's layout and says what is missing or mismatched."""
import math

import pytest
import torch
from helpers.pairs import write_pair_folders

from ganbench.data import load_dataset
from ganbench.data.pairs import SPLITS, thick_turned, unwarp, warp
from ganbench.errors import GanbenchError, MissingResourceError


def test_digit_styles_renders_each_digit_in_both_domains_row_for_row():
    pair = load_dataset("digit_styles", {"size": 16, "n_test": 100})
    assert pair.paired and pair.info.shape == (1, 16, 16) and pair.info.splits == SPLITS
    for split in ("train", "test"):
        a, b = pair.split(f"{split}_a"), pair.split(f"{split}_b")
        assert len(a) == len(b) and torch.equal(a.labels, b.labels)
        assert torch.allclose(b.all(), thick_turned(a.all(), 30.0))
    assert len(pair.split("test_a")) == 100 and len(pair.split("train_a")) == 1797 - 100
    # B is A turned and thickened: more ink, and not A
    a, b = pair.split("test_a").all(), pair.split("test_b").all()
    assert b.sum() > 1.5 * a.sum() and (a - b).abs().mean() > 0.1


def test_thick_turned_turns_anticlockwise_by_the_angle():
    image = torch.zeros(1, 1, 17, 17)
    image[0, 0, 8, 12:15] = 1.0  # a dash right of the centre, on the horizontal axis
    turned = thick_turned(image, 90.0)[0, 0]
    rows, cols = turned.nonzero(as_tuple=True)
    # a quarter turn anticlockwise puts it above the centre (smaller row index), on the vertical axis
    assert rows.float().mean() < 6 and abs(cols.float().mean() - 8) < 0.5
    assert torch.allclose(thick_turned(image, 0.0), torch.nn.functional.max_pool2d(image, 3, 1, 1))


def test_ring_warp_is_the_ring_and_its_invertible_warp():
    pair = load_dataset("ring_warp", {"n_train": 500, "n_test": 200})
    a, b = pair.split("test_a"), pair.split("test_b")
    assert torch.allclose(b.all(), warp(a.all())) and torch.equal(a.labels, b.labels)
    assert torch.allclose(unwarp(warp(a.all())), a.all(), atol=1e-5)
    x, y = a.all()[:, 0], a.all()[:, 1]
    v = y + 0.8 * torch.sin(2 * x)
    assert torch.allclose(b.all(), torch.stack([x + 0.3 * v ** 2, v], 1))  # the documented map, written out
    view_b = pair.domain("b")
    assert view_b.info.name == "ring_warp:B" and view_b.split("test") is b
    centres = torch.tensor(view_b.info.extras["centres"])
    assert torch.allclose(centres.float(), warp(torch.tensor(pair.domain("a").info.extras["centres"]).float()), atol=1e-6)
    lo, hi = pair.info.value_range
    assert lo <= float(torch.cat([a.all(), b.all()]).min()) and float(torch.cat([a.all(), b.all()]).max()) <= hi


def test_image_pairs_reads_cyclegans_layout(tmp_path):
    write_pair_folders(tmp_path)
    pair = load_dataset("image_pairs", {"path": str(tmp_path), "size": 8})
    assert not pair.paired and pair.info.shape == (3, 8, 8)
    assert [len(pair.split(s)) for s in SPLITS] == [6, 6, 3, 3]
    x = pair.split("train_b").all()
    assert x.shape == (6, 3, 8, 8) and 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    # centre crop of the 20×12 file to 12×12, resized: the view of a domain is an ordinary dataset
    assert pair.domain("a").split("train") is pair.split("train_a")


def test_a_missing_domain_folder_names_the_path_and_the_layout(tmp_path):
    write_pair_folders(tmp_path)
    for f in (tmp_path / "testB").iterdir():
        f.unlink()
    (tmp_path / "testB").rmdir()
    with pytest.raises(MissingResourceError) as err:
        load_dataset("image_pairs", {"path": str(tmp_path), "size": 8})
    message = str(err.value)
    assert str(tmp_path / "testB") in message and "trainA,trainB,testA,testB" in message
    (tmp_path / "testB").mkdir()
    with pytest.raises(MissingResourceError, match="holds no images"):
        load_dataset("image_pairs", {"path": str(tmp_path), "size": 8})


def test_mismatched_channels_name_both_folders_and_the_fix(tmp_path):
    write_pair_folders(tmp_path, modes=("L", "RGB"))
    with pytest.raises(GanbenchError) as err:
        load_dataset("image_pairs", {"path": str(tmp_path), "size": 8})
    message = str(err.value)
    assert str(tmp_path / "trainA") in message and str(tmp_path / "trainB") in message
    assert "grey-scale" in message and "channels to 1 or 3" in message
    pair = load_dataset("image_pairs", {"path": str(tmp_path), "size": 8, "channels": 1})  # the fix works
    assert pair.split("train_b").all().shape == (6, 1, 8, 8)


def test_image_pairs_without_a_path_says_what_to_give():
    with pytest.raises(GanbenchError, match="trainA/, trainB/"):
        load_dataset("image_pairs", {})


def test_domain_views_are_named_apart_so_caches_never_mix():
    pair = load_dataset("digit_styles", {"size": 8})
    a, b = pair.domain("a"), pair.domain("b")
    assert (a.info.name, b.info.name) == ("digit_styles:A", "digit_styles:B")
    assert a.info.splits == ("train", "test") and a.info.num_classes == 10
    with pytest.raises(ValueError):
        pair.domain("c")
    assert math.isclose(float(a.split("test").all().mean()), float(pair.split("test_a").all().mean()))


def test_polygon_styles_outlines_each_filled_polygon_row_for_row():
    from ganbench.data.pairs import outline

    pair = load_dataset("polygon_styles", {"n_train": 40, "n_test": 20})
    assert pair.paired and pair.info.shape == (1, 28, 28) and pair.info.num_classes == 3
    a, b = pair.split("test_a"), pair.split("test_b")
    assert torch.equal(a.labels, b.labels) and set(a.labels.tolist()) <= {0, 1, 2}
    assert torch.allclose(a.all(), outline(b.all()))
    # an outline: inside the filled shape, much less ink, and empty where the shape is solid far from its edge
    assert bool((a.all() <= b.all() + 1e-6).all()) and a.all().sum() < 0.8 * b.all().sum()
    square = torch.zeros(1, 1, 9, 9)
    square[..., 2:7, 2:7] = 1.0
    ring = outline(square)[0, 0]
    assert ring[4, 4] == 0 and ring[2, 2] == 1 and ring[2, 4] == 1 and ring[0, 0] == 0
    with pytest.raises(GanbenchError, match="two or more vertex counts"):
        load_dataset("polygon_styles", {"vertices": 4})
