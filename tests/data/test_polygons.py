"""Convex polygons: geometry, rasterisation, splits, speed, and the distance to the manifold."""
from __future__ import annotations

import math
import time

import pytest
import torch

from ganbench.data import DATASETS
from ganbench.data.polygons import (MIN_GAP, RESOLUTION, PolygonDataset, convex_polygons, polygon_vertices,
                                    rasterise_counts, render, sample_params, signed_area)
from ganbench.errors import GanbenchError

SMALL = {"n_train": 300, "n_test": 200, "n_holdout": 50}


@pytest.fixture(scope="module")
def triangles() -> PolygonDataset:
    return convex_polygons(SMALL)


def brute_force_counts(points: torch.Tensor) -> torch.Tensor:
    """Reference rasteriser: test all 64 subpixel centres of every pixel against every edge."""
    sub = (torch.arange(RESOLUTION * 8, dtype=torch.float64) + 0.5) / 8
    ys, xs = torch.meshgrid(sub, sub, indexing="ij")
    inside = torch.ones(len(points), *xs.shape, dtype=torch.bool)
    for k in range(points.shape[1]):
        a, b = points[:, k], points[:, (k + 1) % points.shape[1]]
        cross = ((b[:, 0] - a[:, 0])[:, None, None] * (ys - a[:, 1, None, None])
                 - (b[:, 1] - a[:, 1])[:, None, None] * (xs - a[:, 0, None, None]))
        inside &= cross >= 0
    return inside.view(len(points), RESOLUTION, 8, RESOLUTION, 8).sum((2, 4))


def test_info_splits_and_value_convention(triangles):
    info = triangles.info
    assert (info.kind, info.shape, info.value_range, info.splits) == ("image", (1, 28, 28), (0.0, 1.0),
                                                                      ("train", "test", "holdout"))
    assert [len(triangles.split(s)) for s in info.splits] == [300, 200, 50]
    x = triangles.split("train").all()
    assert x.dtype == torch.float32 and x.shape == (300, 1, 28, 28)
    assert x.min() == 0 and x.max() == 1
    corners = x[:, 0, [0, 0, -1, -1], [0, -1, 0, -1]]
    assert (corners == 0).all() and (x[:, 0, 14, 14] > 0).float().mean() > 0.9  # bright polygon on black
    assert torch.equal(triangles.split("holdout").labels, torch.full((50,), 3))
    meta = DATASETS.meta("polygons")
    assert meta["kind"] == "image" and meta["source"] == "embedded" and meta["params"]["n_train"] == 60_000


@pytest.mark.parametrize("vertices", [3, 4, 6])
def test_vertices_are_convex_with_the_requested_count(vertices):
    params = sample_params(2000, vertices, torch.Generator().manual_seed(vertices))
    points = polygon_vertices(params)
    assert points.shape == (2000, vertices, 2)
    edges = points.roll(-1, dims=1) - points
    turns = edges[..., 0] * edges.roll(-1, dims=1)[..., 1] - edges[..., 1] * edges.roll(-1, dims=1)[..., 0]
    assert (turns > 1e-6).all()  # every corner turns the same way: strictly convex, no collinear vertex
    gaps = torch.diff(params.angles(), dim=1, append=params.angles()[:, :1] + 2 * math.pi)
    assert gaps.min() >= MIN_GAP - 1e-9
    assert (points > 0).all() and (points < RESOLUTION).all()  # never clipped by the raster


def test_rasteriser_matches_brute_force_supersampling_and_shoelace_area():
    params = sample_params(40, 5, torch.Generator().manual_seed(1))
    points = polygon_vertices(params)
    counts = rasterise_counts(points)
    assert torch.equal(counts.long(), brute_force_counts(points.to(torch.float32).double()))
    area = counts.double().sum((1, 2)) / 64
    assert torch.allclose(area, signed_area(points), rtol=0.02, atol=0.5)


def test_centre_of_mass_is_the_raster_centre(triangles):
    x = triangles.split("test").all()[:, 0].double()
    grid = torch.arange(RESOLUTION, dtype=torch.float64) + 0.5
    mass = x.sum((1, 2))
    cy, cx = (x.sum(2) * grid).sum(1) / mass, (x.sum(1) * grid).sum(1) / mass
    assert (cy - 14).abs().max() < 0.2 and (cx - 14).abs().max() < 0.2


def test_seed_determinism_and_independent_splits(triangles):
    again = convex_polygons(SMALL)
    assert torch.equal(triangles.split("train").all(), again.split("train").all())
    assert not torch.equal(convex_polygons({**SMALL, "seed": 1}).split("test").all(), triangles.split("test").all())
    bigger = convex_polygons({**SMALL, "n_train": 400})
    assert torch.equal(bigger.split("holdout").all(), triangles.split("holdout").all())
    params = triangles.split_params("test")
    assert torch.equal(render(params), triangles.split("test").all())


def test_eighty_thousand_images_generate_in_seconds():
    start = time.perf_counter()
    images = rasterise_counts(polygon_vertices(sample_params(80_000, 3, torch.Generator().manual_seed(0))))
    assert images.shape == (80_000, 28, 28)
    assert time.perf_counter() - start < 20  # ~1-2 s on one thread; generous for a loaded machine


def test_bad_vertex_count_is_a_user_error():
    with pytest.raises(GanbenchError, match="vertices"):
        convex_polygons({"vertices": 2})
    with pytest.raises(GanbenchError, match="n_holdout"):
        convex_polygons({"n_holdout": 0})


def _discs(n: int) -> torch.Tensor:
    grid = torch.arange(RESOLUTION, dtype=torch.float32) + 0.5
    ys, xs = torch.meshgrid(grid, grid, indexing="ij")
    one = ((xs - 8) ** 2 + (ys - 8) ** 2 < 16) | ((xs - 20) ** 2 + (ys - 19) ** 2 < 16)
    return one.float().expand(n, 1, 28, 28).clone()


def test_distance_is_near_zero_for_polygons_and_large_for_other_images(triangles):
    real = triangles.split("test").all()
    d_real = triangles.distance_to_manifold(real)
    assert d_real.shape == (200,)
    assert d_real.max() < 1.0 and d_real.median() < 0.35
    noise = torch.rand(20, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    assert triangles.distance_to_manifold(noise).min() > 10
    assert triangles.distance_to_manifold(torch.zeros(2, 1, 28, 28)).min() > 2.5
    assert triangles.distance_to_manifold(_discs(2)).min() > 5
    squares = PolygonDataset.render(sample_params(20, 4, torch.Generator().manual_seed(2)))
    assert triangles.distance_to_manifold(squares).min() > 2.0
    shifted = torch.roll(real[:20], shifts=3, dims=3)  # a polygon, but not centred like the data
    assert triangles.distance_to_manifold(shifted).min() > 1.5


def test_fit_is_deterministic_and_consistent(triangles):
    x = triangles.split("holdout").all()[:30] * 0.9 + 0.05  # slightly off-manifold
    fit = triangles.fit(x)
    with torch.no_grad():  # the projection optimises internally whatever the caller's grad mode
        again = triangles.distance_to_manifold(x)
    assert torch.equal(fit.distance, again)
    assert torch.allclose((fit.images - x).flatten(1).norm(dim=1), fit.distance, atol=1e-5)
    assert torch.equal(render(fit.params), fit.images)
    with pytest.raises(GanbenchError, match="28"):
        triangles.distance_to_manifold(torch.zeros(3, 1, 32, 32))


def test_mixed_vertex_counts_are_labelled_classes_with_a_union_manifold():
    mixed = convex_polygons({"vertices": [5, 3, 3], "n_train": 3000, "n_test": 200, "n_holdout": 50})
    assert mixed.vertex_counts == (3, 5) and mixed.info.num_classes == 2
    assert mixed.info.extras["vertices"] == [3, 5]
    train = mixed.split("train")
    assert set(train.labels.tolist()) == {0, 1} and abs(float(train.labels.float().mean()) - 0.5) < 0.05
    # each label's images lie on its own count's manifold: triangles fit 3-gons far better than 5-gons
    from ganbench.data.polygon_fit import fit_polygons

    test = mixed.split("test")
    tri, penta = test.get(test.labels == 0)[:30], test.get(test.labels == 1)[:30]
    assert fit_polygons(tri, 3).distance.median() < 0.5 < fit_polygons(tri, 5).distance.median()
    assert fit_polygons(penta, 5).distance.median() < 0.5
    # the union manifold: real images of either count are near it, noise is not
    union = mixed.distance_to_manifold(test.get(slice(0, 60)))
    assert float((union < 1.5).float().mean()) >= 0.95
    assert float(mixed.distance_to_manifold(torch.rand(10, 1, 28, 28)).min()) > 1.5
    again = convex_polygons({"vertices": [3, 5], "n_train": 3000, "n_test": 200, "n_holdout": 50})
    assert torch.equal(again.split("train").data, train.data) and torch.equal(again.split("train").labels, train.labels)
    with pytest.raises(ValueError, match="vertex_counts"):
        mixed.vertices
    with pytest.raises(GanbenchError, match="vertices"):
        convex_polygons({"vertices": []})
    with pytest.raises(GanbenchError, match="between 3 and"):
        convex_polygons({"vertices": [3, 2]})
