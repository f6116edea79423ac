"""Synthetic convex polygons (Lucic et al. 2018): a dataset whose manifold is known exactly.

Two generators, chosen by the dataset parameter ``variant``:

``lucic2018`` (the default): the study's own data, the generator of compare_gan's notebook
``colabs/Convex_Polygons_Dataset.ipynb`` (``GenerateConvexPolygon`` with ``min_segment_angle=20,
scale=0.75, raster_dim=28, subpixel_res=8, shift_to_mean=True``), reproduced pixel for pixel:

1. A *circle* is split into ``vertices`` equal segments of s = 360°/V; vertex i is at the angle
   ``i·s + 10° + U_i·(s − 10°)``, U_i ~ U[0, 1). The 10° margin (half of ``min_segment_angle``)
   lies only at the start of each segment, so neighbouring vertices are more than **10°** apart
   (not 20°, as the notebook's argument name and docstring suggest) and less than 2s − 10°.
2. The points (cos, sin) are mapped to [0, 1]² by (p + 1) / 2 and "randomly rotated" by
   θ = ``np.radians(u · 2π)``, u ~ U[0, 1): the notebook passes 2π, not 360, to ``np.radians``, so
   θ < π²/90 ≈ 0.1097 rad ≈ 6.28°, and the published polygons have a nearly fixed orientation. We
   keep that slip: it is the data the paper measured. (Row vectors times [[c, −s], [s, c]]: a turn
   by −θ in the notebook's coordinates.)
3. Scaled by 28 · 0.75 = 21 (circumradius 10.5 px), then translated so that the *vertex mean*
   (not the area centroid; the two coincide only for triangles) is at (14, 14).
4. Pixel rule: the polygon (scaled by 8) is tested with ``matplotlib.path.Path.contains_points`` at
   the integer subpixel points (i, j) of ``np.mgrid[0:224, 0:224]``, the first vertex coordinate
   against i, the *row* index; the outside mask is convolved with ``ones((8, 8))`` (``mode=
   "constant", cval=1``) and sampled at [::8, ::8], / 64. An even scipy kernel reaches 3 back and
   4 forward, so pixel (R, C) averages the points i ∈ [8R − 3, 8R + 4], j ∈ [8C − 3, 8C + 4]; the
   3 points before i = 0 (or j = 0) lie off the grid and count as outside (cval), and the points
   221..223 are never used. Our stored value is **1 − the notebook's value**, exactly: the share of
   those 64 points inside the polygon.

In ganbench's frame below, the notebook's vertex (a, b) is the point (x, y) = (b + 7/16, a + 7/16):
the axes swap (a is the row) and the 7/16 shift maps the notebook's subpixel points i/8 onto our
subpixel centres (m + 0.5)/8 with m = i + 3, so pixel r owns subpixels m ∈ [8r, 8r + 8) as in the
ellipse variant, and subpixels m < 3 do not exist. Hence the vertex mean sits at (14.4375, 14.4375).
The fast rasteriser computes each subpixel row's span in float64 and equals the notebook's pixels
exactly (1,500 polygons of 3 to 12 vertices checked against matplotlib and scipy, and the notebook
function itself run on 300 draws). A difference can arise only where a subpixel point lies on an
edge to within float64 rounding (~1e-14 px; an edge 1e-6 subpixel from a point is still resolved
alike): we count boundary points as inside, matplotlib's crossing test (half-open in one axis) need
not. Spans in float32 would differ in ~0.2 % of polygons (a subpixel point here and there).

``ellipse``: ganbench's earlier generator, kept bit for bit. An ellipse (semi-major axis 10.5 px,
aspect ratio U[0.5, 1]) is split into ``vertices`` equal segments of its parametric angle, with a
random phase; one vertex is drawn uniformly inside each segment, 10° clear of both ends, so
neighbouring vertices are at least 20° apart; the ellipse gets a full random rotation; the
polygon's area centroid is moved to the raster centre (14, 14); each pixel counts its 8×8 subpixel
centres (m + 0.5)/8 inside the polygon (boundary included), computed in float32.

Points on a circle or an ellipse are always in convex position, so every image is a convex polygon
with exactly ``vertices`` corners, in both variants.

Convention: **polygon = 1, background = 0** (pixel value = share of the pixel's 64 subpixel points
inside the polygon). The study wrote "0 inside, 1 outside"; we invert it because GAN generators end
in a sigmoid and every other ganbench dataset has a dark background, so the same networks and
feature extractors apply unchanged. :meth:`PolygonDataset.distance_to_manifold` uses this convention.

Pixel (r, c) covers [c, c+1] × [r, r+1] in (x, y) = (column, row) coordinates; the centre is (14, 14).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Mapping, Sequence, TypeVar, Union

import torch

from ganbench.data.base import DATASETS, Dataset, DatasetInfo, Split
from ganbench.data.params import choice, integer, merged
from ganbench.errors import GanbenchError

if TYPE_CHECKING:
    from ganbench.data.polygon_fit import ManifoldFit

RESOLUTION = 28
SUBPIXELS = 8  # anti-aliasing: 8 × 8 subpixel points per pixel, stored exactly as counts 0..64
SEMI_MAJOR = 0.75 * RESOLUTION / 2  # "scale 0.75 of the raster": the polygon spans 21 of 28 px
RADIUS = SEMI_MAJOR  # lucic2018: the unit circle, mapped to [0, 1]² (radius ½), times 28 · 0.75
ASPECT_RANGE = (0.5, 1.0)  # ellipse: semi-minor / semi-major
MIN_GAP = math.radians(20)  # ellipse: minimum angle between neighbouring vertices (parametric angle)
MIN_SEGMENT_ANGLE = 20.0  # lucic2018: the notebook's argument (degrees); half of it is the margin
SLIP = math.radians(2 * math.pi)  # lucic2018: θ = np.radians(u · 2π) < π²/90 rad, the notebook's slip
NOTEBOOK_SHIFT = 7 / 16  # lucic2018: our frame = the notebook's (axes swapped) + 7/16, see above
MAX_VERTICES = 12  # 360° / 12 = 30° segments still leave room for the ellipse's 20° gap
DEFAULTS: dict[str, Any] = DATASETS.meta("polygons")["params"]  # declared in ganbench/catalog.py
VARIANT = DEFAULTS["variant"]  # the study's data is the default; "ellipse" is ganbench's earlier generator


@dataclass(frozen=True)
class Raster:
    """A variant's pixel rule for :func:`rasterise_counts`: subpixels below ``first`` do not exist
    (they lie off the notebook's grid), and spans are computed in ``dtype``."""

    first: int
    dtype: torch.dtype


_P = TypeVar("_P", bound="_Batch")


class _Batch:
    """Row-aligned (N, ...) tensors of one parameter class: indexing, devices and concatenation."""

    def __len__(self) -> int:
        return len(getattr(self, fields(self)[0].name))

    @property
    def vertices(self) -> int:
        return self.offsets.shape[1]

    def __getitem__(self: _P, index: torch.Tensor | slice) -> _P:
        return type(self)(*(getattr(self, f.name)[index] for f in fields(self)))

    def to(self: _P, *args: Any, **kwargs: Any) -> _P:
        """Every field through ``Tensor.to`` (a device and/or dtype)."""
        return type(self)(*(getattr(self, f.name).to(*args, **kwargs) for f in fields(self)))

    def clone(self: _P) -> _P:
        return type(self)(*(getattr(self, f.name).clone() for f in fields(self)))

    @classmethod
    def cat(cls: type[_P], parts: Sequence[_P]) -> _P:
        return cls(*(torch.cat([getattr(p, f.name) for p in parts]) for f in fields(cls)))


@dataclass(frozen=True)
class Lucic2018Params(_Batch):
    """The notebook's random draws, per image: every value set here is a valid data image.

    ``offsets`` (N, V) in [0, 1): U_i, each vertex's place inside its segment; ``spin`` (N,) in
    [0, 1): u, the rotation draw, θ = ``np.radians(u · 2π)``. The notebook draws them in this
    order, so ``d = np.random.rand(n, V + 1)`` after ``np.random.seed(s)`` gives
    ``Lucic2018Params(d[:, :V], d[:, V])`` (as tensors) whose images are those of n successive
    ``GenerateConvexPolygon`` calls (checked; ``GenerateDataset`` then permutes them).
    """

    offsets: torch.Tensor
    spin: torch.Tensor
    variant: ClassVar[str] = "lucic2018"
    raster: ClassVar[Raster] = Raster(first=3, dtype=torch.float64)

    def angles(self) -> torch.Tensor:
        """(N, V) increasing angles (radians) on the circle before the rotation, > 10° apart."""
        segment = 360.0 / self.vertices
        start = torch.arange(self.vertices, dtype=self.offsets.dtype, device=self.offsets.device) * segment
        degrees = start + MIN_SEGMENT_ANGLE / 2 + self.offsets * (segment - MIN_SEGMENT_ANGLE / 2)
        return degrees * math.pi / 180.0

    def rotation(self) -> torch.Tensor:
        """(N,) θ in radians, in [0, π²/90): ``np.radians(u · 2π)``, as the notebook computes it."""
        return (self.spin * 2 * math.pi) * (math.pi / 180)

    def points(self) -> torch.Tensor:
        """(N, V, 2) vertices in ganbench's pixel frame (see the module docstring); differentiable."""
        angles = self.angles()
        unit = (torch.stack([torch.cos(angles), torch.sin(angles)], dim=2) + 1.0) / 2.0
        theta = self.rotation()[:, None]
        cos, sin = torch.cos(theta), torch.sin(theta)
        a, b = unit[..., 0], unit[..., 1]
        notebook = torch.stack([a * cos + b * sin, b * cos - a * sin], dim=2) * (RESOLUTION * 0.75)
        notebook = notebook + (RESOLUTION / 2.0 - notebook.mean(1, keepdim=True))
        return notebook.flip(-1) + NOTEBOOK_SHIFT

    @staticmethod
    def sample(n: int, vertices: int, generator: torch.Generator) -> Lucic2018Params:
        u = torch.rand(n, vertices + 1, generator=generator, dtype=torch.float64)
        return Lucic2018Params(offsets=u[:, :vertices], spin=u[:, vertices])


@dataclass(frozen=True)
class EllipseParams(_Batch):
    """The ellipse variant's coordinates of polygons: every value set here is a valid data image.

    ``rotation`` (N,) radians; ``aspect`` (N,) in ``ASPECT_RANGE``; ``phase`` (N,) radians, where the
    first segment starts; ``offsets`` (N, V) in [0, 1], each vertex's place inside its segment.
    """

    rotation: torch.Tensor
    aspect: torch.Tensor
    phase: torch.Tensor
    offsets: torch.Tensor
    variant: ClassVar[str] = "ellipse"
    raster: ClassVar[Raster] = Raster(first=0, dtype=torch.float32)

    def angles(self) -> torch.Tensor:
        """(N, V) increasing parametric angles on the ellipse, ≥ 20° apart, one per segment."""
        width = 2 * math.pi / self.vertices
        margin = MIN_GAP / 2
        starts = torch.arange(self.vertices, dtype=self.offsets.dtype, device=self.offsets.device) * width
        return self.phase[:, None] + starts + margin + self.offsets * (width - 2 * margin)

    def points(self) -> torch.Tensor:
        """(N, V, 2) vertices in pixel coordinates, area centroid at the raster centre; differentiable."""
        angles = self.angles()
        x = SEMI_MAJOR * torch.cos(angles)
        y = (self.aspect * SEMI_MAJOR)[:, None] * torch.sin(angles)
        cos, sin = torch.cos(self.rotation)[:, None], torch.sin(self.rotation)[:, None]
        points = torch.stack([cos * x - sin * y, sin * x + cos * y], dim=2)
        return points - centroid(points)[:, None, :] + RESOLUTION / 2

    @staticmethod
    def sample(n: int, vertices: int, generator: torch.Generator) -> EllipseParams:
        u = torch.rand(n, vertices + 3, generator=generator, dtype=torch.float64)
        aspect = ASPECT_RANGE[0] + (ASPECT_RANGE[1] - ASPECT_RANGE[0]) * u[:, 0]
        return EllipseParams(rotation=2 * math.pi * u[:, 1], aspect=aspect,
                             phase=u[:, 2] * (2 * math.pi / vertices), offsets=u[:, 3:])


PolygonParams = Union[Lucic2018Params, EllipseParams]
VARIANTS: dict[str, type[Lucic2018Params] | type[EllipseParams]] = {"lucic2018": Lucic2018Params,
                                                                    "ellipse": EllipseParams}


def params_class(variant: str) -> type[Lucic2018Params] | type[EllipseParams]:
    """The parameter class of ``variant``; an unknown name is a :class:`GanbenchError` naming the others."""
    if variant not in VARIANTS:
        raise GanbenchError(f"polygons: unknown variant {variant!r} (accepted: {', '.join(VARIANTS)})")
    return VARIANTS[variant]


def sample_params(n: int, vertices: int, generator: torch.Generator, variant: str = VARIANT) -> PolygonParams:
    """``n`` draws from ``variant``'s data distribution (float64, CPU): all coordinates uniform."""
    return params_class(variant).sample(n, vertices, generator)


def polygon_vertices(params: PolygonParams) -> torch.Tensor:
    """(N, V, 2) vertices in pixel coordinates, in cyclic order (see each variant for the centring).

    Differentiable in every parameter, which is what lets :func:`fit_polygons` project onto the manifold.
    """
    return params.points()


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


def rasterise_counts(points: torch.Tensor, chunk: int = 1024, *, first: int = 0,
                     dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(N, 28, 28) uint8: how many of each pixel's 8×8 subpixel centres lie inside the polygon.

    Subcolumn m (of 224) has its centre at (m + 0.5) / 8, so a subrow covers the subcolumns
    [m_lo, m_end). Rather than testing 64 points per pixel, each subrow adds "subcolumns below m"
    as a 4-entry difference array over pixel columns, and one cumsum per pixel row sums them:
    exact 8×8 supersampling at about 1/8 of the cost. Subrows and subcolumns below ``first`` do not
    exist (the lucic2018 grid starts at m = 3); the spans are computed in ``dtype`` (float64 for
    lucic2018: float32 would differ from matplotlib's float64 test in ~0.2 % of polygons).
    80,000 polygons on one CPU thread: triangles 1.3-1.7 s (float32) / 1.7 s (float64), hexagons
    1.6 / 2.2 s, 12-gons 2.6 / 3.5 s (chunks of 1,024: larger ones leave the cache).
    """
    n_sub = RESOLUTION * SUBPIXELS
    points = points.to(dtype)
    ys = (torch.arange(n_sub, dtype=dtype, device=points.device) + 0.5) / SUBPIXELS
    missing = torch.arange(n_sub, device=points.device) < first  # subrows off the grid
    out = torch.empty(len(points), RESOLUTION, RESOLUTION, dtype=torch.uint8, device=points.device)
    for i in range(0, len(points), chunk):
        lo, hi = _row_spans(points[i:i + chunk], ys)
        m_lo = torch.ceil(lo * SUBPIXELS - 0.5).clamp(first, n_sub)
        m_end = (torch.floor(hi * SUBPIXELS - 0.5) + 1).clamp(0, n_sub)
        empty = (m_end <= m_lo) | missing
        m_lo, m_end = m_lo.masked_fill(empty, 0), m_end.masked_fill(empty, 0)
        # below(m)[c] = clamp(m − 8c, 0, 8): +8 from column 0 (cancels between m_end and m_lo),
        # then (m mod 8) − 8 at column m // 8 and −(m mod 8) at the next one.
        q_end, q_lo = torch.floor(m_end / SUBPIXELS), torch.floor(m_lo / SUBPIXELS)
        r_end, r_lo = m_end - SUBPIXELS * q_end, m_lo - SUBPIXELS * q_lo
        index = torch.stack([q_end, q_end + 1, q_lo, q_lo + 1], -1).long()
        value = torch.stack([r_end - SUBPIXELS, -r_end, SUBPIXELS - r_lo, r_lo], -1).to(torch.float32)
        rows = len(index)
        diff = torch.zeros(rows, RESOLUTION, RESOLUTION + 2, device=points.device)
        diff.scatter_add_(2, index.view(rows, RESOLUTION, -1), value.view(rows, RESOLUTION, -1))
        out[i:i + chunk] = diff.cumsum(2)[..., :RESOLUTION].round_().to(torch.uint8)
    return out


def render_counts(params: PolygonParams) -> torch.Tensor:
    """(N, 28, 28) uint8 subpixel counts of ``params``' polygons, by their variant's pixel rule."""
    return rasterise_counts(polygon_vertices(params), first=params.raster.first, dtype=params.raster.dtype)


def render(params: PolygonParams) -> torch.Tensor:
    """The manifold generator: parameters → (N, 1, 28, 28) float32 images in [0, 1]."""
    return render_counts(params)[:, None].to(torch.float32) / SUBPIXELS ** 2


class PolygonDataset(Dataset):
    """The polygons plus what the polygon precision/recall metric needs: the manifold itself.

    ``render(params)`` is the manifold generator and ``sample_params(n, seed)`` draws its inputs
    (:class:`Lucic2018Params` or :class:`EllipseParams`, by ``variant``);
    ``distance_to_manifold(images)`` projects samples onto it (see :mod:`ganbench.data.polygon_fit`).

    With several vertex counts (``vertices: [3, 4, 5]``) every image draws its count uniformly, its
    label is the count's index (so the ``domain`` extractor learns to tell them apart), and the
    manifold is the union of the per-count manifolds.
    """

    def __init__(self, info: DatasetInfo, vertices: int | Sequence[int], sizes: Mapping[str, int], seed: int,
                 variant: str = VARIANT):
        self.vertex_counts = (vertices,) if isinstance(vertices, int) else tuple(vertices)
        self.variant = variant
        self._params_class = params_class(variant)
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
                return Split(render_counts(params)[:, None], torch.full((n,), self.vertices),
                             scale=1 / SUBPIXELS ** 2)
            labels = torch.randint(len(self.vertex_counts), (n,), generator=torch.Generator().manual_seed(stream))
            counts = torch.empty(n, RESOLUTION, RESOLUTION, dtype=torch.uint8)
            for label, vertices in enumerate(self.vertex_counts):
                rows = (labels == label).nonzero().flatten()
                generator = torch.Generator().manual_seed(stream * 16 + vertices)
                counts[rows] = render_counts(self._params_class.sample(len(rows), vertices, generator))
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
        return self._params_class.sample(n, self.vertices, torch.Generator().manual_seed(seed))

    @staticmethod
    def render(params: PolygonParams) -> torch.Tensor:
        """The manifold generator: parameters → (N, 1, 28, 28) float32 images in [0, 1]."""
        return render(params)

    def fit(self, images: torch.Tensor, **options: Any) -> ManifoldFit:
        """The nearest manifold image of every sample: a :class:`~ganbench.data.polygon_fit.ManifoldFit`."""
        from ganbench.data.polygon_fit import fit_polygons

        return fit_polygons(images, self.vertices, variant=self.variant, **options)

    def distance_to_manifold(self, images: torch.Tensor, **options: Any) -> torch.Tensor:
        """(N,) L2 distance, in pixel space on [0, 1] images, to the nearest data-manifold image.

        ``options`` (``device``, ``restarts``, ``steps``, ``lr``, ``batch_size``) go to
        :func:`~ganbench.data.polygon_fit.fit_polygons`. Real polygons score ≈ 0.12 (lucic2018) or
        ≈ 0.18 (ellipse); the ``polygon_pr`` metric counts a sample as a polygon below 1.5. With
        several vertex counts, the distance to the nearest of their manifolds.
        """
        from ganbench.data.polygon_fit import fit_polygons

        per_count = [fit_polygons(images, vertices, variant=self.variant, **options).distance
                     for vertices in self.vertex_counts]
        return torch.stack(per_count).amin(0)


def convex_polygons(params: Mapping[str, Any], data_root: Path | None = None,
                    download: bool = False) -> PolygonDataset:
    """Convex ``vertices``-gons (one count, or a list to mix) of generator ``variant``; splits train /
    test / holdout (the holdout is recall's target set)."""
    p = merged("polygons", params, DEFAULTS)
    vertices = _vertex_counts(p)
    variant = choice("polygons", p, "variant", tuple(VARIANTS))
    sizes = {split: integer("polygons", p, f"n_{split}", 1) for split in ("train", "test", "holdout")}
    mixed = len(vertices) > 1
    info = DatasetInfo(name="polygons", kind="image", shape=(1, RESOLUTION, RESOLUTION), value_range=(0.0, 1.0),
                       num_classes=len(vertices) if mixed else None, splits=tuple(sizes),
                       extras={"vertices": list(vertices) if mixed else vertices[0], "variant": variant,
                               "convention": "polygon 1 on background 0"})
    return PolygonDataset(info, vertices if mixed else vertices[0], sizes, integer("polygons", p, "seed", 0),
                          variant)


def _vertex_counts(p: Mapping[str, Any]) -> tuple[int, ...]:
    """``vertices`` as a sorted tuple of distinct counts: an integer, or a list of them (a mixture)."""
    value = p["vertices"]
    if not isinstance(value, (list, tuple)):
        return (integer("polygons", p, "vertices", 3, MAX_VERTICES),)
    if not value:
        raise GanbenchError("dataset 'polygons': parameter 'vertices' must be an integer or a non-empty list")
    counts = {integer("polygons", {"vertices": v}, "vertices", 3, MAX_VERTICES) for v in value}
    return tuple(sorted(counts))
