"""``preview``: a PNG grid of real images, or a scatter with the mode centres for 2D mixtures."""
from __future__ import annotations

import numpy as np
from PIL import Image

from ganbench.preview import preview


def test_image_grid_has_the_requested_layout(tmp_path):
    out = preview("digits", None, tmp_path / "sub" / "digits.png", n=16)
    assert out == tmp_path / "sub" / "digits.png"
    with Image.open(out) as img:
        assert img.size == (4 * (8 + 2) + 2, 4 * (8 + 2) + 2)  # 4 × 4 tiles of 8 px, 2 px padding
        assert len(np.unique(np.asarray(img.convert("L")))) > 10  # real content, not a blank canvas


def test_polygons_preview_is_deterministic(tmp_path):
    params = {"n_train": 20, "n_test": 2, "n_holdout": 2}
    a = preview("polygons", params, tmp_path / "a.png", n=9, seed=3).read_bytes()
    b = preview("polygons", params, tmp_path / "b.png", n=9, seed=3).read_bytes()
    assert a == b


def test_mixture_scatter_is_written(tmp_path):
    out = preview("grid", {"n_train": 500, "n_test": 10}, tmp_path / "grid.png")
    with Image.open(out) as img:
        assert img.format == "PNG" and img.size[0] >= 400
        rgb = np.asarray(img.convert("RGB")).astype(int)
        reds = ((rgb[..., 0] > 200) & (rgb[..., 1] < 60) & (rgb[..., 2] < 60)).sum()
        assert reds > 25 * 10  # 25 red centre markers
