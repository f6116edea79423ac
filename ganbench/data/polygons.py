"""Synthetic convex polygons (Lucic et al. 2018): a dataset whose manifold is known exactly.

Generation, per image: an ellipse (semi-major axis ``0.75 × 28 / 2`` = 10.5 px, aspect ratio
U[0.5, 1]) is split into ``vertices`` equal segments of its parametric angle, with a random phase;
one vertex is drawn uniformly inside each segment, 10° clear of both ends, so neighbouring vertices
are at least 20° apart; the ellipse gets a random rotation; the polygon's centre of mass (its area
centroid) is moved to the raster centre; it is rasterised on 28×28 pixels with 8×8 subpixels per
pixel. Points on an ellipse are always in convex position, so every image is a convex polygon with
exactly ``vertices`` corners.

Convention: **polygon = 1, background = 0** (pixel value = share of the pixel's 64 subpixel centres
inside the polygon). The study wrote "0 inside, 1 outside"; we invert it because GAN generators end
in a sigmoid and every other ganbench dataset has a dark background, so the same networks and
feature extractors apply unchanged. :meth:`PolygonDataset.distance_to_manifold` uses this convention.

Pixel (r, c) covers [c, c+1] × [r, r+1] in (x, y) = (column, row) coordinates; the centre is (14, 14).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import torch

from ganbench.data.base import DATASETS, Dataset, DatasetInfo, Split
from ganbench.data.params import integer, merged
from ganbench.errors import GanbenchError

if TYPE_CHECKING:
    from ganbench.data.polygon_fit import ManifoldFit

RESOLUTION = 28
SUBPIXELS = 8  # anti-aliasing: 8 × 8 subpixel centres per pixel, stored exactly as counts 0..64
SEMI_MAJOR = 0.75 * RESOLUTION / 2  # "scale 0.75 of the raster": the ellipse spans 21 of 28 px
ASPECT_RANGE = (0.5, 1.0)  # semi-minor / semi-major
MIN_GAP = math.radians(20)  # minimum angle between neighbouring vertices (parametric angle)
MAX_VERTICES = 12  # 360° / 12 = 30° segments still leave room for the 20° gap
DEFAULTS: dict[str, Any] = {"vertices": 3, "n_train": 60_000, "n_test": 10_000, "n_holdout": 10_000,
                            "seed": 0}


@dataclass(frozen=True)
class PolygonParams:
    """The data distribution's coordinates of polygons: every value set here is a valid data image.

    ``rotation`` (N,) radians; ``aspect`` (N,) in ``ASPECT_RANGE``; ``phase`` (N,) radians, where the
    first segment starts; ``offsets`` (N, V) in [0, 1], each vertex's place inside its segment.
    """

    rotation: torch.Tensor
    aspect: torch.Tensor
    phase: torch.Tensor
    offsets: torch.Tensor

    def __len__(self) -> int:
        return len(self.rotation)

    @property
    def vertices(self) -> int:
        return self.offsets.shape[1]

    def angles(self) -> torch.Tensor:
        """(N, V) increasing parametric angles on the ellipse, ≥ 20° apart, one per segment."""
        width = 2 * math.pi / self.vertices
        margin = MIN_GAP / 2
        starts = torch.arange(self.vertices, dtype=self.offsets.dtype, device=self.offsets.device) * width
        return self.phase[:, None] + starts + margin + self.offsets * (width - 2 * margin)

    def __getitem__(self, index: torch.Tensor | slice) -> PolygonParams:
        return PolygonParams(self.rotation[index], self.aspect[index], self.phase[index], self.offsets[index])

    def to(self, *args: Any, **kwargs: Any) -> PolygonParams:
        """Every field through ``Tensor.to`` (a device and/or dtype)."""
        return PolygonParams(*(getattr(self, f.name).to(*args, **kwargs) for f in fields(self)))

    def clone(self) -> PolygonParams:
        return PolygonParams(*(getattr(self, f.name).clone() for f in fields(self)))

    @staticmethod
    def cat(parts: Sequence[PolygonParams]) -> PolygonParams:
        return PolygonParams(*(torch.cat([getattr(p, f.name) for p in parts]) for f in fields(PolygonParams)))


def sample_params(n: int, vertices: int, generator: torch.Generator) -> PolygonParams:
    """``n`` draws from the data distribution (float64, CPU): all coordinates uniform."""
    u = torch.rand(n, vertices + 3, generator=generator, dtype=torch.float64)
    aspect = ASPECT_RANGE[0] + (ASPECT_RANGE[1] - ASPECT_RANGE[0]) * u[:, 0]
    return PolygonParams(rotation=2 * math.pi * u[:, 1], aspect=aspect,
                         phase=u[:, 2] * (2 * math.pi / vertices), offsets=u[:, 3:])


def polygon_vertices(params: PolygonParams) -> torch.Tensor:
    """(N, V, 2) vertices in pixel coordinates, in cyclic order, area centroid at the raster centre.

    Differentiable in every parameter, which is what lets :func:`fit_polygons` project onto the manifold.
    """
    angles = params.angles()
    x = SEMI_MAJOR * torch.cos(angles)
    y = (params.aspect * SEMI_MAJOR)[:, None] * torch.sin(angles)
    cos, sin = torch.cos(params.rotation)[:, None], torch.sin(params.rotation)[:, None]
    points = torch.stack([cos * x - sin * y, sin * x + cos * y], dim=2)
    return points - centroid(points)[:, None, :] + RESOLUTION / 2


def signed_area(points: torch.Tensor) -> torch.Tensor:
    """Shoelace area of (N, V, 2) polygons; positive for increasing parametric angle."""
    nxt = points.roll(-1, dims=1)
    return 0.5 * (points[..., 0] * nxt[..., 1] - nxt[..., 0] * points[..., 1]).sum(1)


def centroid(points: torch.Tensor) -> torch.Tensor:
    """Area centroid (N, 2) of simple polygons (N, V, 2)."""
    nxt = points.roll(-1, dims=1)
    cross = points[..., 0] * nxt[..., 1] - nxt[..., 0] * points[..., 1]
    area6 = 3 * cross.sum(1, keepdim=True)
    return ((points + nxt) * cross[..., None]).sum(1) / area6


def _row_spans(points: torch.Tensor, ys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For each polygon and horizontal line y, the x interval [lo, hi] inside it (lo > hi: none).

    The polygon is the intersection of the half-planes left of its edges (positive orientation),
    so any vertex list renders as a convex region: the renderer cannot draw a non-convex shape.
    """
    flip = signed_area(points) < 0
    points = torch.where(flip[:, None, None], points.flip(1), points)
    start, d = points, points.roll(-1, dims=1) - points
    dx, dy = d[..., 0:1], d[..., 1:2]
    t = ys - start[..., 1:2]  # (N, V, R)
    safe = torch.where(dy == 0, torch.ones_like(dy), dy)
    x_at = start[..., 0:1] + dx * t / safe
    inf = torch.full_like(x_at, math.inf)
    lo = torch.where(dy < 0, x_at, -inf).amax(1)
    hi = torch.where(dy > 0, x_at, inf).amin(1)
    outside = ((dy == 0) & (dx * t < 0)).any(1)  # beyond a horizontal edge
    return torch.where(outside, inf[:, 0], lo), hi


def rasterise_counts(points: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """(N, 28, 28) uint8: how many of each pixel's 8×8 subpixel centres lie inside the polygon.

    Subcolumn m (of 224) has its centre at (m + 0.5) / 8, so a subrow covers the subcolumns
    [m_lo, m_end). Rather than testing 64 points per pixel, each subrow adds "subcolumns below m"
    as a 4-entry difference array over pixel columns, and one cumsum per pixel row sums them:
    exact 8×8 supersampling at about 1/8 of the cost (80k triangles in ~2 s on one CPU thread).
    """
    n_sub = RESOLUTION * SUBPIXELS
    points = points.to(torch.float32)
    ys = (torch.arange(n_sub, dtype=torch.float32, device=points.device) + 0.5) / SUBPIXELS
    out = torch.empty(len(points), RESOLUTION, RESOLUTION, dtype=torch.uint8, device=points.device)
    for i in range(0, len(points), chunk):
        lo, hi = _row_spans(points[i:i + chunk], ys)
        m_lo = torch.ceil(lo * SUBPIXELS - 0.5).clamp(0, n_sub)
        m_end = (torch.floor(hi * SUBPIXELS - 0.5) + 1).clamp(0, n_sub)
        empty = m_end <= m_lo
        m_lo, m_end = m_lo.masked_fill(empty, 0), m_end.masked_fill(empty, 0)
        # below(m)[c] = clamp(m − 8c, 0, 8): +8 from column 0 (cancels between m_end and m_lo),
        # then (m mod 8) − 8 at column m // 8 and −(m mod 8) at the next one.
        q_end, q_lo = torch.floor(m_end / SUBPIXELS), torch.floor(m_lo / SUBPIXELS)
        r_end, r_lo = m_end - SUBPIXELS * q_end, m_lo - SUBPIXELS * q_lo
        index = torch.stack([q_end, q_end + 1, q_lo, q_lo + 1], -1).long()
        value = torch.stack([r_end - SUBPIXELS, -r_end, SUBPIXELS - r_lo, r_lo], -1)
        rows = len(index)
        diff = torch.zeros(rows, RESOLUTION, RESOLUTION + 2, device=points.device)
        diff.scatter_add_(2, index.view(rows, RESOLUTION, -1), value.view(rows, RESOLUTION, -1))
        out[i:i + chunk] = diff.cumsum(2)[..., :RESOLUTION].round_().to(torch.uint8)
    return out


def render(params: PolygonParams) -> torch.Tensor:
    """The manifold generator: parameters → (N, 1, 28, 28) float32 images in [0, 1]."""
    counts = rasterise_counts(polygon_vertices(params))
    return counts[:, None].to(torch.float32) / SUBPIXELS ** 2


class PolygonDataset(Dataset):
    """The polygons plus what the polygon precision/recall metric needs: the manifold itself.

    ``render(params)`` is the manifold generator and ``sample_params(n, seed)`` draws its inputs;
    ``distance_to_manifold(images)`` projects samples onto it (see :mod:`ganbench.data.polygon_fit`).

    With several vertex counts (``vertices: [3, 4, 5]``) every image draws its count uniformly, its
    label is the count's index (so the ``domain`` extractor learns to tell them apart), and the
    manifold is the union of the per-count manifolds.
    """

    def __init__(self, info: DatasetInfo, vertices: int | Sequence[int], sizes: Mapping[str, int], seed: int):
        self.vertex_counts = (vertices,) if isinstance(vertices, int) else tuple(vertices)
        self._params: dict[str, PolygonParams] = {}
        splits = {name: self._builder(name, index, n, seed) for index, (name, n) in enumerate(sizes.items())}
        super().__init__(info, splits)

    @property
    def vertices(self) -> int:
        """The vertex count of a single-count dataset (mixtures have ``vertex_counts``)."""
        if len(self.vertex_counts) > 1:
            raise ValueError(f"these polygons mix vertex counts {list(self.vertex_counts)}: use vertex_counts")
        return self.vertex_counts[0]

    def _builder(self, name: str, index: int, n: int, seed: int):
        # One stream per split: changing n_train never changes the test or holdout polygons.
        stream = seed * 1_000_003 + index

        def build() -> Split:
            if len(self.vertex_counts) == 1:
                params = self.sample_params(n, stream)
                self._params[name] = params
                counts = rasterise_counts(polygon_vertices(params))
                return Split(counts[:, None], torch.full((n,), self.vertices), scale=1 / SUBPIXELS ** 2)
            labels = torch.randint(len(self.vertex_counts), (n,), generator=torch.Generator().manual_seed(stream))
            counts = torch.empty(n, RESOLUTION, RESOLUTION, dtype=torch.uint8)
            for label, vertices in enumerate(self.vertex_counts):
                rows = (labels == label).nonzero().flatten()
                params = sample_params(len(rows), vertices, torch.Generator().manual_seed(stream * 16 + vertices))
                counts[rows] = rasterise_counts(polygon_vertices(params))
            return Split(counts[:, None], labels, scale=1 / SUBPIXELS ** 2)

        return build

    def split_params(self, name: str) -> PolygonParams:
        """The generating parameters of every image in split ``name`` (row-aligned with it; one count only)."""
        self.split(name)
        if name not in self._params:
            raise ValueError("a mixture of vertex counts has no single parameter array per split")
        return self._params[name]

    def sample_params(self, n: int, seed: int) -> PolygonParams:
        """``n`` parameter draws from the data distribution, reproducible by ``seed``."""
        return sample_params(n, self.vertices, torch.Generator().manual_seed(seed))

    @staticmethod
    def render(params: PolygonParams) -> torch.Tensor:
        """The manifold generator: parameters → (N, 1, 28, 28) float32 images in [0, 1]."""
        return render(params)

    def fit(self, images: torch.Tensor, **options: Any) -> ManifoldFit:
        """The nearest manifold image of every sample: a :class:`~ganbench.data.polygon_fit.ManifoldFit`."""
        from ganbench.data.polygon_fit import fit_polygons

        return fit_polygons(images, self.vertices, **options)

    def distance_to_manifold(self, images: torch.Tensor, **options: Any) -> torch.Tensor:
        """(N,) L2 distance, in pixel space on [0, 1] images, to the nearest data-manifold image.

        ``options`` (``device``, ``restarts``, ``steps``, ``lr``, ``batch_size``) go to
        :func:`~ganbench.data.polygon_fit.fit_polygons`. Real polygons score ≈ 0.2; the
        ``polygon_pr`` metric counts a sample as a polygon below 1.5. With several vertex counts,
        the distance to the nearest of their manifolds.
        """
        from ganbench.data.polygon_fit import fit_polygons

        per_count = [fit_polygons(images, vertices, **options).distance for vertices in self.vertex_counts]
        return torch.stack(per_count).amin(0)


@DATASETS.register("polygons", aliases=("triangles",), kind="image", source="embedded", params=DEFAULTS,
                   description="Synthetic convex polygons, 28×28×1, with a known manifold (Lucic et al. 2018); "
                               "vertices: a count, or a list to mix counts as classes")
def convex_polygons(params: Mapping[str, Any], data_root: Path | None = None,
                    download: bool = False) -> PolygonDataset:
    """Convex ``vertices``-gons (one count, or a list to mix); splits train / test / holdout (the holdout
    is recall's target set)."""
    p = merged("polygons", params, DEFAULTS)
    vertices = _vertex_counts(p)
    sizes = {split: integer("polygons", p, f"n_{split}", 1) for split in ("train", "test", "holdout")}
    mixed = len(vertices) > 1
    info = DatasetInfo(name="polygons", kind="image", shape=(1, RESOLUTION, RESOLUTION), value_range=(0.0, 1.0),
                       num_classes=len(vertices) if mixed else None, splits=tuple(sizes),
                       extras={"vertices": list(vertices) if mixed else vertices[0],
                               "convention": "polygon 1 on background 0"})
    return PolygonDataset(info, vertices if mixed else vertices[0], sizes, integer("polygons", p, "seed", 0))


def _vertex_counts(p: Mapping[str, Any]) -> tuple[int, ...]:
    """``vertices`` as a sorted tuple of distinct counts: an integer, or a list of them (a mixture)."""
    value = p["vertices"]
    if not isinstance(value, (list, tuple)):
        return (integer("polygons", p, "vertices", 3, MAX_VERTICES),)
    if not value:
        raise GanbenchError("dataset 'polygons': parameter 'vertices' must be an integer or a non-empty list")
    counts = {integer("polygons", {"vertices": v}, "vertices", 3, MAX_VERTICES) for v in value}
    return tuple(sorted(counts))
