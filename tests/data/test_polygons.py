"""Convex polygons: both generators' geometry, the notebook's pixel rule, splits, speed, and the manifold."""
from __future__ import annotations

import hashlib
import math
import time

import numpy as np
import pytest
import torch

from ganbench.data import DATASETS
from ganbench.data.polygon_fit import fit_polygons
from ganbench.data.polygons import (MIN_GAP, RESOLUTION, EllipseParams, Lucic2018Params,
                                    PolygonDataset, centroid, convex_polygons, polygon_vertices, rasterise_counts,
                                    render, sample_params, signed_area)
from ganbench.errors import GanbenchError

SMALL = {"n_train": 300, "n_test": 200, "n_holdout": 50}
VARIANTS = ("lucic2018", "ellipse")
# The notebook's convolution reaches 3 subpixels back and 4 forward (scipy's even-kernel origin), so
# its integer subpixel point i/8 is our subpixel centre (i + 3 + 0.5)/8: our frame is its own + 7/16.
SHIFT = (3 + 0.5) / 8


@pytest.fixture(scope="module", params=VARIANTS)
def triangles(request) -> PolygonDataset:
    return convex_polygons({**SMALL, "variant": request.param})


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


# --- The notebook's generator, written here from its definition (compare_gan,
# colabs/Convex_Polygons_Dataset.ipynb, GenerateConvexPolygon with min_segment_angle 20, scale 0.75,
# raster_dim 28, subpixel_res 8, shift_to_mean True), with its random draws passed in.

def notebook_vertices(offsets: np.ndarray, u: float) -> np.ndarray:
    """(V, 2) vertices in the notebook's coordinates: circle segments, the np.radians(u·2π) turn, ×21, mean → 14."""
    n = len(offsets)
    segment = 360.0 / n
    degrees = segment * np.arange(n) + 10.0 + offsets * (segment - 10.0)
    unit = (np.stack([np.cos(np.deg2rad(degrees)), np.sin(np.deg2rad(degrees))], axis=1) + 1.0) / 2.0
    theta = np.radians(u * 2 * np.pi)
    turned = unit @ np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    scaled = turned * 28 * 0.75
    return scaled - scaled.mean(axis=0) + 14.0


def notebook_pixels(vertices: np.ndarray) -> np.ndarray:
    """(28, 28) the notebook's pixel values: outside share of each pixel's 8×8 integer subpixel points."""
    from matplotlib.path import Path
    from scipy import ndimage

    rows, cols = np.mgrid[0:224, 0:224]
    inside = Path(vertices * 8).contains_points(np.stack([rows.ravel(), cols.ravel()], axis=1)).reshape(224, 224)
    outside = ndimage.convolve((~inside).astype(np.float32), np.ones((8, 8)), mode="constant", cval=1.0)
    return outside[::8, ::8] / 64


def circle_angles(points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Least-squares circle through each polygon's vertices, in the notebook's (row, column) frame:
    (N, 2) centre, (N, V) radii, (N, V) angles in degrees in [0, 360)."""
    notebook = (points - SHIFT).flip(-1)  # our (x, y) frame → the notebook's (a, b)
    # |p − c|² = r²  ⇔  2 p·c + (r² − |c|²) = |p|²: linear in (c, r² − |c|²)
    design = torch.cat([2 * notebook, torch.ones_like(notebook[..., :1])], dim=2)
    rhs = notebook.square().sum(2, keepdim=True)
    centre = torch.linalg.lstsq(design, rhs).solution[:, :2, 0]
    rel = notebook - centre[:, None]
    return centre, rel.norm(dim=2), torch.rad2deg(torch.atan2(rel[..., 1], rel[..., 0])) % 360


def test_info_splits_and_value_convention(triangles):
    """Bright polygons on black in both variants (breakage tried: lucic2018 stored as the notebook's own
    value, 0 inside and 1 outside)."""
    info = triangles.info
    assert (info.kind, info.shape, info.value_range, info.splits) == ("image", (1, 28, 28), (0.0, 1.0),
                                                                      ("train", "test", "holdout"))
    assert info.extras["variant"] == triangles.variant
    assert [len(triangles.split(s)) for s in info.splits] == [300, 200, 50]
    x = triangles.split("train").all()
    assert x.dtype == torch.float32 and x.shape == (300, 1, 28, 28)
    assert x.min() == 0 and x.max() == 1
    corners = x[:, 0, [0, 0, -1, -1], [0, -1, 0, -1]]
    assert (corners == 0).all() and (x[:, 0, 14, 14] > 0).float().mean() > 0.9  # bright polygon on black
    assert torch.equal(triangles.split("holdout").labels, torch.full((50,), 3))
    meta = DATASETS.meta("polygons")
    assert meta["kind"] == "image" and meta["source"] == "embedded" and meta["params"]["n_train"] == 60_000


def test_the_study_s_generator_is_the_default():
    """The study's choice is the default (breakage tried: DEFAULTS variant "ellipse")."""
    assert DATASETS.meta("polygons")["params"]["variant"] == "lucic2018"
    default = convex_polygons({"n_train": 5, "n_test": 5, "n_holdout": 5})
    assert default.variant == "lucic2018" and isinstance(default.split_params("train"), Lucic2018Params)
    assert torch.equal(default.split("train").all(),
                       convex_polygons({"n_train": 5, "n_test": 5, "n_holdout": 5, "variant": "lucic2018"})
                       .split("train").all())


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("vertices", [3, 4, 6, 12])
def test_vertices_are_convex_with_the_requested_count(variant, vertices):
    """Breakage tried: lucic2018's angles drawn anywhere on the circle (U·360°, out of cyclic order)."""
    params = sample_params(2000, vertices, torch.Generator().manual_seed(vertices), variant)
    points = polygon_vertices(params)
    assert points.shape == (2000, vertices, 2)
    edges = points.roll(-1, dims=1) - points
    turns = edges[..., 0] * edges.roll(-1, dims=1)[..., 1] - edges[..., 1] * edges.roll(-1, dims=1)[..., 0]
    sign = 1 if variant == "ellipse" else -1  # lucic2018's axes are swapped: its vertices turn clockwise
    assert (sign * turns > 1e-6).all()  # every corner turns the same way: strictly convex, no collinear vertex
    if variant == "ellipse":
        gaps = torch.diff(params.angles(), dim=1, append=params.angles()[:, :1] + 2 * math.pi)
        assert gaps.min() >= MIN_GAP - 1e-9
    assert (points > 0).all() and (points < RESOLUTION).all()  # never clipped by the raster


def test_ellipse_rasteriser_matches_brute_force_supersampling_and_shoelace_area():
    params = sample_params(40, 5, torch.Generator().manual_seed(1), "ellipse")
    points = polygon_vertices(params)
    counts = rasterise_counts(points)
    assert torch.equal(counts.long(), brute_force_counts(points.to(torch.float32).double()))
    area = counts.double().sum((1, 2)) / 64
    assert torch.allclose(area, signed_area(points), rtol=0.02, atol=0.5)


def test_lucic2018_pixels_equal_one_minus_the_notebook_s_exactly():
    """300 polygons of 3 to 12 vertices, rendered by the fast torch rasteriser and by the notebook's
    rule written out with matplotlib and scipy: the same vertices and the same pixel values, exactly.

    Breakages tried, each fails here: the convolution window taken as [8R − 4, 8R + 3] (the 7/16
    shift as 9/16), the axes not swapped (the first vertex coordinate as the column), the area
    centroid instead of the vertex mean, and the rotation by +θ.
    """
    for vertices, n in ((3, 120), (4, 60), (5, 60), (8, 40), (12, 20)):
        params = sample_params(n, vertices, torch.Generator().manual_seed(100 + vertices), "lucic2018")
        ours, points = render(params)[:, 0].numpy(), polygon_vertices(params).numpy()
        for k in range(n):
            reference = notebook_vertices(params.offsets[k].numpy(), float(params.spin[k]))
            np.testing.assert_allclose(points[k], reference[:, ::-1] + SHIFT, rtol=0, atol=1e-12)
            expected = 1 - notebook_pixels(reference)
            assert np.array_equal(ours[k], expected), (vertices, k, np.argwhere(ours[k] != expected))


def _lucic_counts(notebook: np.ndarray) -> np.ndarray:
    """(N, 28, 28) our lucic2018 pixel values of arbitrary (N, V, 2) vertices in the notebook's frame."""
    points = torch.from_numpy(np.ascontiguousarray(notebook[..., ::-1])) + SHIFT
    raster = Lucic2018Params.raster
    return rasterise_counts(points, first=raster.first, dtype=raster.dtype).numpy() / 64


def test_lucic2018_pixel_rule_holds_off_the_raster_and_a_hair_from_an_edge():
    """The rule beyond the data's reach: polygons spilling over each side of the raster (the notebook's
    off-grid points count as outside, its points 221..223 are never used), and polygons moved so that
    an edge passes 1e-6 subpixel inside or outside an integer subpixel point (float64 spans resolve
    it as matplotlib does; float32 spans differ in ~0.2 % of data polygons and in most of these).

    Breakages tried: the three off-grid subpixels of row and column 0 counted (first = 0), and the
    spans computed in float32.
    """
    params = sample_params(40, 4, torch.Generator().manual_seed(11), "lucic2018")
    base = np.stack([notebook_vertices(params.offsets[k].numpy(), float(params.spin[k])) for k in range(40)])
    moves = np.array([[-11.5, 0], [12, 0], [0, -11.5], [0, 12], [-11, -11], [11.5, 11.5], [-12, 11], [11, -12]])
    spilled = base[:, None] * 1.2 + moves[None, :, None] - 14 * 0.2  # (40, 8, V, 2): larger, over an edge
    spilled = spilled.reshape(-1, 4, 2)
    assert spilled.min() < -3 and spilled.max() > 31  # past both grid ends, along both axes
    ours = _lucic_counts(spilled)
    for k in range(len(spilled)):
        assert np.array_equal(ours[k], 1 - notebook_pixels(spilled[k])), k
    # a hair from an edge: move each polygon so that edge 0 passes ±1e-6 subpixel from a grid point
    from matplotlib.path import Path

    hair = []
    for k, sign in zip(range(40), [1, -1] * 20):
        sub = base[k] * 8  # subpixel units, as matplotlib sees them
        p, q = sub[0], sub[1]
        normal = np.array([p[1] - q[1], q[0] - p[0]]) / np.linalg.norm(q - p)
        if normal @ (sub.mean(0) - p) < 0:
            normal = -normal  # pointing into the polygon
        point = np.round((p + q) / 2)
        moved = sub + (normal @ (point - p) - sign * 1e-6) * normal
        assert Path(moved).contains_point(point) == (sign > 0)  # the hair's width decides this point
        hair.append(moved / 8)
    hair = np.stack(hair)
    ours = _lucic_counts(hair)
    for k in range(len(hair)):
        assert np.array_equal(ours[k], 1 - notebook_pixels(hair[k])), k


def test_lucic2018_orientation_slips_by_at_most_radians_of_two_pi():
    """The notebook turns by θ = np.radians(u·2π) < 0.1097 rad (≈ 6.28°): vertex i, measured about its
    circle's centre, sits at i·s + 10° + U·(s − 10°) − θ, so its offset from i·s spans (3.72°, s).

    Breakages tried: a full turn (θ = 2π·u: offsets everywhere in [0°, 360°)), no turn (θ = 0: none
    below 10°), the turn the other way (+θ: none below 10°, up to s + 6.28°).
    """
    params = sample_params(20_000, 3, torch.Generator().manual_seed(7), "lucic2018")
    theta = params.rotation()
    assert (params.spin >= 0).all() and (params.spin < 1).all()
    assert float(theta.max()) < np.radians(2 * np.pi) and float(theta.max()) > 0.999 * np.radians(2 * np.pi)
    _, _, angles = circle_angles(polygon_vertices(params))
    offset = (angles - 120.0 * torch.arange(3)) % 360  # vertex i's place from its segment's start
    slip = math.degrees(np.radians(2 * np.pi))  # 6.2832°
    assert float(offset.min()) > 10 - slip - 1e-9 and float(offset.min()) < 10 - 0.9 * slip
    assert float(offset.max()) < 120
    # the per-triangle turn recovered from the geometry alone never exceeds the slip either
    turn = (10.0 - offset).amax(1)  # θ ≥ 10° − offset_i for every vertex
    assert float(turn.max()) < slip + 1e-9


@pytest.mark.parametrize("vertices", [3, 5, 12])
def test_lucic2018_vertices_are_on_a_circle_of_radius_10_5_with_their_mean_at_the_centre(vertices):
    """Circumradius 21 / 2 = 10.5 px; the *vertex mean* (not the area centroid, nor the circle's centre)
    is the notebook's (14, 14), our (14.4375, 14.4375). For triangles the two centres coincide.

    Breakages tried: an ellipse of aspect 0.9 (radii differ), the area centroid moved to the
    centre (for 5- and 12-gons the vertex mean then misses it), and the 7/16 shift left out.
    """
    points = polygon_vertices(sample_params(3000, vertices, torch.Generator().manual_seed(vertices), "lucic2018"))
    centre, radii, _ = circle_angles(points)
    assert torch.allclose(radii, torch.full_like(radii, 10.5), rtol=0, atol=1e-9)
    assert torch.allclose(points.mean(1), torch.full((3000, 2), 14 + SHIFT, dtype=torch.float64),
                          rtol=0, atol=1e-12)
    apart = (centroid(points) - points.mean(1)).norm(dim=1).max()
    assert float(apart) < 1e-9 if vertices == 3 else float(apart) > 0.1  # the area centroid is another point
    if vertices == 3:
        assert float((centre - 14).norm(dim=1).max()) > 4  # the circle's centre wanders far from (14, 14)


@pytest.mark.parametrize("vertices", [3, 5, 12])
def test_lucic2018_neighbouring_vertices_are_more_than_ten_degrees_apart(vertices):
    """The notebook's margin, min_segment_angle / 2 = 10°, lies only at the start of each segment, so
    neighbours are > 10° apart and the bound is tight (not 20°, as the argument's name suggests); each
    vertex stays in its own segment, [i·s + 10°, (i + 1)·s) before the turn.

    Breakages tried: the margin at both ends (gaps ≥ 20°: the tightness check fails), no margin
    (gaps near 0°), and offsets spread over the whole segment (a vertex leaves its segment).
    """
    params = sample_params(20_000, vertices, torch.Generator().manual_seed(vertices), "lucic2018")
    segment = 360.0 / vertices
    start = torch.rad2deg(params.angles()) - segment * torch.arange(vertices)
    assert float(start.min()) >= 10 - 1e-9 and float(start.max()) < segment
    _, _, angles = circle_angles(polygon_vertices(params))
    gaps = torch.diff(angles, dim=1, append=angles[:, :1] + 360) % 360
    assert float(gaps.min()) > 10 - 1e-7 and float(gaps.min()) < 12
    assert abs(float(gaps.sum(1).mean()) - 360) < 1e-6  # one lap, in order


def test_ellipse_centre_of_mass_is_the_raster_centre():
    x = convex_polygons({**SMALL, "variant": "ellipse"}).split("test").all()[:, 0].double()
    grid = torch.arange(RESOLUTION, dtype=torch.float64) + 0.5
    mass = x.sum((1, 2))
    cy, cx = (x.sum(2) * grid).sum(1) / mass, (x.sum(1) * grid).sum(1) / mass
    assert (cy - 14).abs().max() < 0.2 and (cx - 14).abs().max() < 0.2


def _digest(tensor: torch.Tensor) -> str:
    return hashlib.sha256(tensor.contiguous().numpy().tobytes()).hexdigest()[:16]


# SHA-256 prefixes of the stored uint8 counts and the labels, computed by ganbench/data/polygons.py as
# of commit ebc10f6 (before the lucic2018 variant existed), from ``git show HEAD:...`` imported alone.
ELLIPSE_DIGESTS = [
    ({"n_train": 300, "n_test": 200, "n_holdout": 50},
     {"train": ("a77940269856426f", "200deb5f414101bc"), "test": ("0e0220edc25cb4e7", "61bd54223d8067e6"),
      "holdout": ("7f22bf3c0c7c25db", "3274ac49911ab04b")}),
    ({"vertices": 5, "n_train": 100, "n_test": 100, "n_holdout": 100, "seed": 7},
     {"train": ("49ea627a82981013", "20ebbc6a43af1bca"), "test": ("2ae64f72ce75f4f1", "20ebbc6a43af1bca"),
      "holdout": ("529b8c4886e47bca", "20ebbc6a43af1bca")}),
    ({"vertices": [3, 4, 5], "n_train": 300, "n_test": 60, "n_holdout": 20},
     {"train": ("0f7acc2b76da6874", "8e3ab65fd6f7c057"), "test": ("b11e0ec6cbea98b5", "52c151655be157bc"),
      "holdout": ("6d311070f5a27673", "fce5e8cd9c08c7fc")}),
]


@pytest.mark.parametrize("params, digests", ELLIPSE_DIGESTS)
def test_ellipse_variant_is_bit_identical_to_the_earlier_generator(params, digests):
    """``variant: ellipse`` reproduces the pre-variant dataset byte for byte, mixtures included.

    Breakages tried: its spans computed in float64 (as lucic2018's are: some pixels change), and the
    mixture seeds changed.
    """
    dataset = convex_polygons({**params, "variant": "ellipse"})
    for split, (data, labels) in digests.items():
        assert (_digest(dataset.split(split).data), _digest(dataset.split(split).labels)) == (data, labels), split
    one = sample_params(64, 4, torch.Generator().manual_seed(3), "ellipse")
    assert isinstance(one, EllipseParams) and _digest(render(one)) == "f4e041b82dfe7d14"


def test_seed_determinism_and_independent_splits(triangles):
    """Breakage tried: the dataset seed left out of the split streams."""
    variant = triangles.variant
    again = convex_polygons({**SMALL, "variant": variant})
    assert torch.equal(triangles.split("train").all(), again.split("train").all())
    other_seed = convex_polygons({**SMALL, "seed": 1, "variant": variant})
    assert not torch.equal(other_seed.split("test").all(), triangles.split("test").all())
    bigger = convex_polygons({**SMALL, "n_train": 400, "variant": variant})
    assert torch.equal(bigger.split("holdout").all(), triangles.split("holdout").all())
    params = triangles.split_params("test")
    assert type(params).variant == variant
    assert torch.equal(render(params), triangles.split("test").all())


@pytest.mark.parametrize("variant", VARIANTS)
def test_eighty_thousand_images_generate_in_seconds(variant):
    """Breakage tried: the rasteriser called once per image (≈ 1 ms each: 80 s)."""
    start = time.perf_counter()
    params = sample_params(80_000, 3, torch.Generator().manual_seed(0), variant)
    images = render(params)
    assert images.shape == (80_000, 1, 28, 28)
    assert time.perf_counter() - start < 20  # ~1.5-2 s on one thread; generous for a loaded machine


def test_bad_vertex_count_or_variant_is_a_user_error():
    """Breakage tried: an unknown variant falling back to the default silently."""
    with pytest.raises(GanbenchError, match="vertices"):
        convex_polygons({"vertices": 2})
    with pytest.raises(GanbenchError, match="n_holdout"):
        convex_polygons({"n_holdout": 0})
    with pytest.raises(GanbenchError, match="variant.*'lucic2018', 'ellipse'.*'circle'"):
        convex_polygons({"variant": "circle"})
    with pytest.raises(GanbenchError, match="lucic2018, ellipse"):
        sample_params(3, 3, torch.Generator(), "circle")
    with pytest.raises(GanbenchError, match="lucic2018, ellipse"):
        fit_polygons(torch.zeros(1, 1, 28, 28), 3, variant="circle")


def _discs(n: int) -> torch.Tensor:
    grid = torch.arange(RESOLUTION, dtype=torch.float32) + 0.5
    ys, xs = torch.meshgrid(grid, grid, indexing="ij")
    one = ((xs - 8) ** 2 + (ys - 8) ** 2 < 16) | ((xs - 20) ** 2 + (ys - 19) ** 2 < 16)
    return one.float().expand(n, 1, 28, 28).clone()


def test_distance_is_near_zero_for_polygons_and_large_for_other_images(triangles):
    """Real polygons fit closely (lucic2018: median 0.12, 99th percentile 0.29 over 10,000); other shapes
    do not. Breakage tried: the soft renderer assuming counter-clockwise vertices (lucic2018's real
    triangles then sit at ≈ 0.6, their bank neighbours, and nothing is refined)."""
    real = triangles.split("test").all()
    d_real = triangles.distance_to_manifold(real)
    assert d_real.shape == (200,)
    assert d_real.max() < 1.0 and d_real.median() < (0.35 if triangles.variant == "ellipse" else 0.2)
    noise = torch.rand(20, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    assert triangles.distance_to_manifold(noise).min() > 10
    assert triangles.distance_to_manifold(torch.zeros(2, 1, 28, 28)).min() > 2.5
    assert triangles.distance_to_manifold(_discs(2)).min() > 5
    squares = PolygonDataset.render(sample_params(20, 4, torch.Generator().manual_seed(2), triangles.variant))
    assert triangles.distance_to_manifold(squares).min() > 2.0
    shifted = torch.roll(real[:20], shifts=3, dims=3)  # a polygon, but not centred like the data
    assert triangles.distance_to_manifold(shifted).min() > 1.5


def test_lucic2018_manifold_is_not_the_ellipse_s():
    """Triangles of the other generator mostly lie off each manifold (full turns and ellipses vs the
    notebook's nearly fixed orientation on a circle): the variants are different data.

    Breakage tried: "lucic2018" drawing the ellipse's polygons (VARIANTS naming EllipseParams for it).
    """
    lucic = convex_polygons({"n_train": 5, "n_test": 5, "n_holdout": 5})
    ellipse = convex_polygons({"n_train": 5, "n_test": 5, "n_holdout": 5, "variant": "ellipse"})
    from_ellipse = render(sample_params(40, 3, torch.Generator().manual_seed(9), "ellipse"))
    from_lucic = render(sample_params(40, 3, torch.Generator().manual_seed(9), "lucic2018"))
    assert float((lucic.distance_to_manifold(from_ellipse) > 1.5).float().mean()) > 0.8
    assert float((ellipse.distance_to_manifold(from_lucic) > 1.5).float().mean()) > 0.7
    assert float(lucic.distance_to_manifold(from_lucic).max()) < 1.0


def test_fit_is_deterministic_and_consistent(triangles):
    x = triangles.split("holdout").all()[:30] * 0.9 + 0.05  # slightly off-manifold
    fit = triangles.fit(x)
    with torch.no_grad():  # the projection optimises internally whatever the caller's grad mode
        again = triangles.distance_to_manifold(x)
    assert torch.equal(fit.distance, again)
    assert type(fit.params).variant == triangles.variant
    assert torch.allclose((fit.images - x).flatten(1).norm(dim=1), fit.distance, atol=1e-5)
    assert torch.equal(render(fit.params), fit.images)
    with pytest.raises(GanbenchError, match="28"):
        triangles.distance_to_manifold(torch.zeros(3, 1, 32, 32))


@pytest.mark.parametrize("variant", VARIANTS)
def test_mixed_vertex_counts_are_labelled_classes_with_a_union_manifold(variant):
    """Breakage tried: mixtures drawn from the default variant whatever ``variant`` says."""
    sizes = {"n_train": 3000, "n_test": 200, "n_holdout": 50, "variant": variant}
    mixed = convex_polygons({"vertices": [5, 3, 3], **sizes})
    assert mixed.vertex_counts == (3, 5) and mixed.info.num_classes == 2
    assert mixed.info.extras["vertices"] == [3, 5] and mixed.info.extras["variant"] == variant
    train = mixed.split("train")
    assert set(train.labels.tolist()) == {0, 1} and abs(float(train.labels.float().mean()) - 0.5) < 0.05
    # each label's images lie on its own count's manifold: triangles fit 3-gons far better than 5-gons
    test = mixed.split("test")
    tri, penta = test.get(test.labels == 0)[:30], test.get(test.labels == 1)[:30]
    fit = {v: lambda x, v=v: fit_polygons(x, v, variant=variant).distance for v in (3, 5)}
    assert fit[3](tri).median() < 0.5 < fit[5](tri).median()
    assert fit[5](penta).median() < 0.5
    # the union manifold: real images of either count are near it, noise is not
    union = mixed.distance_to_manifold(test.get(slice(0, 60)))
    assert float((union < 1.5).float().mean()) >= 0.95
    assert float(mixed.distance_to_manifold(torch.rand(10, 1, 28, 28)).min()) > 1.5
    again = convex_polygons({"vertices": [3, 5], **sizes})
    assert torch.equal(again.split("train").data, train.data) and torch.equal(again.split("train").labels, train.labels)
    with pytest.raises(ValueError, match="vertex_counts"):
        mixed.vertices
    with pytest.raises(GanbenchError, match="vertices"):
        convex_polygons({"vertices": []})
    with pytest.raises(GanbenchError, match="between 3 and"):
        convex_polygons({"vertices": [3, 2]})
