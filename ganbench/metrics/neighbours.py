"""Nearest-neighbour primitives shared by ``prc``, ``prdc`` and ``knn``: chunked, memory-bounded, exact where it counts.

Squared distances come from float32 matrix products on data centred per pass, one block of rows
at a time, so no N × M matrix is ever built: a block holds at most ``budget`` bytes of temporaries.
The product is augmented so that it directly yields a rigorous *lower bound*
lo = (1 − τ)(‖a‖² + ‖b‖²) − 2a·b ≤ ‖a − b‖² ≤ lo + 2τ(‖a‖² + ‖b‖²) (τ covers float32 rounding, see
``_tau``), which keeps the elementwise work per block to a few passes. Every decision the bounds
cannot settle — which points are among the k nearest, which side of a radius a point lies — is
re-decided on exact float64 differences ‖a − b‖². The numbers therefore equal a float64
brute-force computation, ties included, at float32 matrix-product speed.

Exact duplicates are merged before anything runs (:class:`PointSet`): every computation works on
distinct rows weighted by multiplicity, so copies sit at distance exactly 0 from each other, tie
with each other by construction, and a fully collapsed generator (thousands of identical samples)
costs no more than one distinct point.

Passes: a within-set k-NN table (radii), a cross pass that answers ball membership both ways
(precision *and* recall from one pass; density and coverage from one), and for the 1-NN test a
pass over the upper triangle of the union's distance matrix (each pair once, offered to both ends).

Distances are squared throughout: a radius handed from one pass to the next keeps its exact
float64 value, so "x_l is x_j's k-th neighbour" and "x_l lies on the edge of x_j's ball" agree
bit for bit (taking square roots in between would break exactly those ties).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterator

import numpy as np
import torch

DEFAULT_BUDGET = 256 * 2**20  # bytes of block temporaries: 10k × 10k × 2048-d peaks near 0.5 GB in all
_BYTES_PER_ENTRY = 12  # two reused float32 buffers (lower bound, scratch) + boolean masks per block entry
_U32 = 2.0**-24  # float32 unit roundoff
_ROW_CHUNK = 1024  # rows per step when hashing or centring (bounds those temporaries to a few × 16 MB at 2048-d)


def as_matrix(x: Any, name: str = "features") -> np.ndarray:
    """``x`` (numpy array, torch tensor or :class:`PointSet`; (N, d)) as a float64 array; refuses NaN/inf."""
    if isinstance(x, PointSet):
        return x.x
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (N, d) array, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contain NaN or infinite values")
    return arr


class PointSet:
    """Rows prepared once for neighbour queries: float64 data, its distinct rows and their multiplicities."""

    def __init__(self, x: Any, name: str = "features"):
        self.x = as_matrix(x, name)
        self.rep, self.inverse, self.counts = _distinct_rows(self.x)

    def __len__(self) -> int:
        return len(self.x)

    @property
    def dim(self) -> int:
        return self.x.shape[1]

    @cached_property
    def distinct(self) -> np.ndarray:
        """(U, d) the distinct rows (the data itself, not a copy, when there are no duplicates)."""
        if len(self.rep) == len(self.x):  # no duplicates: rep is 0..N−1 (first-occurrence order)
            return self.x
        return self.x[self.rep]


def as_point_set(x: Any, name: str = "features") -> PointSet:
    return x if isinstance(x, PointSet) else PointSet(x, name)


def knn_sq_distances(x: Any, k: int, *, budget: int = DEFAULT_BUDGET) -> np.ndarray:
    """(N, k) squared distances from every row to its k nearest *other* rows, ascending.

    A duplicate of a row is another row (at distance 0), as in torch-fidelity's ``kthvalue(k + 1)``
    over distances that include the row itself. Column k − 1 is the k-NN ball radius² of prc/prdc.
    """
    ps = as_point_set(x)
    return _knn_sq_distinct(ps, k, budget)[ps.inverse]


@dataclass(frozen=True)
class BallCounts:
    per_point: np.ndarray  # (N_points,) centre balls containing each point (with multiplicity)
    per_centre: np.ndarray  # (N_centres,) points lying in each centre's ball (with multiplicity)
    centre_in_point_balls: np.ndarray | None = None  # (N_centres,) point balls containing each centre


def ball_counts(points: Any, centres: Any, sq_radii: np.ndarray, *, strict: bool,
                point_sq_radii: np.ndarray | None = None, budget: int = DEFAULT_BUDGET) -> BallCounts:
    """Membership of ``points`` in the balls B(centre_j, r_j), counted both ways, in one chunked pass.

    ``sq_radii``: (N_centres,) squared radii (from :func:`knn_sq_distances`); ``strict``: ``d < r``
    (density/coverage, Naeem et al.) rather than ``d ≤ r`` (precision/recall, Kynkäänniemi et al.).
    ``point_sq_radii`` (N_points,) adds the reverse question — which point balls contain each
    centre — answered from the same distances, so precision and recall cost one pass, not two.
    """
    pts, cen = as_point_set(points, "points"), as_point_set(centres, "centres")
    _same_dim(pts, cen)
    r2_col = _radii(sq_radii, cen, "sq_radii")
    r2_row = None if point_sq_radii is None else _radii(point_sq_radii, pts, "point_sq_radii")
    rows, cols = _operands(pts.distinct, cen.distinct)
    # float32 sums of integer counts are exact below 2^24 points
    w_cols = torch.from_numpy(cen.counts.astype(np.float32))
    w_rows = torch.from_numpy(pts.counts.astype(np.float32))
    per_point = np.zeros(len(pts.rep))
    per_centre = torch.zeros(len(cen.rep), dtype=torch.float64)
    reverse = None if r2_row is None else torch.zeros(len(cen.rep), dtype=torch.float64)
    for block in _lower_bounds(rows, cols, budget):
        ids = block.ids
        up = _upper_block(block, rows, cols)
        inside = _decide(block, up, pts, cen, r2_col[None, :], strict, budget)
        inside_rev = None if r2_row is None else _decide(block, up, pts, cen, r2_row[ids][:, None], strict, budget)
        hits = block.scratch.copy_(inside)  # ``up`` lived in scratch and is no longer needed
        per_point[ids] = (hits @ w_cols).numpy()
        per_centre += (w_rows[torch.from_numpy(ids)] @ hits).to(torch.float64)
        if inside_rev is not None:
            hits = block.scratch.copy_(inside_rev)
            reverse += (w_rows[torch.from_numpy(ids)] @ hits).to(torch.float64)
    return BallCounts(per_point[pts.inverse], per_centre.numpy()[cen.inverse],
                      None if reverse is None else reverse.numpy()[cen.inverse])


def nearest_label_agreement(real: Any, gen: Any, *, budget: int = DEFAULT_BUDGET) -> tuple[np.ndarray, np.ndarray]:
    """Leave-one-out 1-NN over real ∪ gen: per point, the share of its nearest other points with its own label.

    Tie rule: every point at the exact minimum distance is a nearest neighbour, and a point scores
    the share of those with its own label — the expected accuracy of a 1-NN classifier that breaks
    ties uniformly at random. It is deterministic, independent of input order, and unbiased between
    the labels (a "first index wins" rule would favour whichever set comes first). Consequences:
    a set against an exact copy of itself scores 0 (each point's only nearest point is its copy);
    a point stored d times in its own set and c times in the other scores (d − 1) / (d − 1 + c).
    Returns (real_scores (N_real,), gen_scores (N_gen,)), each in [0, 1].
    """
    r, g = as_matrix(real, "real"), as_matrix(gen, "gen")
    if r.shape[1] != g.shape[1]:
        raise ValueError(f"real and gen differ in dimension ({r.shape[1]} vs {g.shape[1]})")
    if len(r) + len(g) < 2:
        raise ValueError("1-NN needs at least two points in total")
    union = PointSet(np.concatenate([r, g]))
    n_real = np.bincount(union.inverse[:len(r)], minlength=len(union.rep)).astype(np.float64)
    n_gen = union.counts - n_real
    best, w_real, w_gen = _nearest_with_ties(union, n_real, n_gen, budget)
    # A row stored m ≥ 2 times has its nearest points at 0: its copies, whose weights include the
    # point being scored itself — take it out of its own label.
    own = (union.counts >= 2).astype(np.float64)
    real_share = (w_real - own) / (w_real + w_gen - own)
    gen_share = (w_gen - own) / (w_real + w_gen - own)
    return real_share[union.inverse[:len(r)]], gen_share[union.inverse[len(r):]]


CACHED_NEIGHBOURS = 8  # a cached table holds at least this many: prc's k=3 and prdc's k=5 share one pass


def cached_knn_table(cache: dict[str, Any], key: str, x: np.ndarray, k: int) -> tuple[PointSet, np.ndarray]:
    """``x`` as a :class:`PointSet` and its (N, ≥k) k-NN squared-distance table, memoised in ``cache[key]``.

    Meant for the real features, fixed for a whole run: one pass then serves every metric at every
    evaluation. The entry keeps ``x`` itself and is reused only while the caller passes that very object.
    """
    entry = cache.get(key)
    if entry is None or entry[0] is not x or entry[2].shape[1] < k:
        points = PointSet(x)
        entry = cache[key] = (x, points, knn_sq_distances(points, max(k, CACHED_NEIGHBOURS)))
    return entry[1], entry[2]


def rows_per_block(n_cols: int, budget: int, bytes_per_entry: int = _BYTES_PER_ENTRY) -> int:
    """How many rows of an (·, n_cols) block of temporaries fit in ``budget`` bytes (at least one)."""
    return max(1, int(budget) // (bytes_per_entry * max(1, n_cols)))


# ---------------------------------------------------------------------------------------------- internals


def _same_dim(a: PointSet, b: PointSet) -> None:
    if a.dim != b.dim:
        raise ValueError(f"feature dimensions differ ({a.dim} vs {b.dim})")


def _distinct_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first index of each distinct row, distinct id of every row, multiplicities), without copying ``x``.

    Rows are hashed exactly (their float64 bit patterns, −0.0 read as 0.0) with wrap-around integer
    arithmetic — order-independent, unlike a floating-point projection — and every group is then
    verified value by value, so a hash collision can never merge two different rows.
    """
    n, d = x.shape
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    mult = np.random.default_rng(0).integers(1, 2**63, size=d, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    h = np.empty(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for s in range(0, n, _ROW_CHUNK):
            block = x[s:s + _ROW_CHUNK]
            bits = np.where(block == 0.0, 0.0, block).view(np.uint64)
            h[s:s + _ROW_CHUNK] = (bits * mult).sum(axis=1, dtype=np.uint64)
    _, first, inverse, counts = np.unique(h, return_index=True, return_inverse=True, return_counts=True)
    first, inverse, counts = _by_first_occurrence(first, inverse.reshape(-1), counts)
    members = np.flatnonzero(counts[inverse] > 1)
    for s in range(0, len(members), _ROW_CHUNK):
        m = members[s:s + _ROW_CHUNK]
        if not (x[m] == x[first[inverse[m]]]).all():
            return _distinct_rows_exact(x)
    return first, inverse, counts


def _distinct_rows_exact(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slow exact grouping, only reached on a 64-bit hash collision between different rows."""
    _, first, inverse, counts = np.unique(x + 0.0, axis=0, return_index=True, return_inverse=True,
                                          return_counts=True)
    return _by_first_occurrence(first, inverse.reshape(-1), counts)


def _by_first_occurrence(first: np.ndarray, inverse: np.ndarray,
                         counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Renumber distinct rows in order of first occurrence, so that without duplicates ``rep`` is 0..N−1."""
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return first[order].astype(np.int64), rank[inverse].astype(np.int64), counts[order].astype(np.int64)


def _tau(dim: int) -> float:
    """Relative slack of the float32 bounds: |float32 result − exact| ≤ τ (‖a‖² + ‖b‖²).

    The augmented product sums d + 2 terms of total magnitude ≤ 2(‖a‖² + ‖b‖²), so its rounding error
    is ≤ 2 γ_{d+2} (‖a‖² + ‖b‖²) ≈ 2(d + 2)u(‖a‖² + ‖b‖²); casting a, b and the norms to float32 adds
    ≤ 4u(‖a‖² + ‖b‖²). τ = 4(d + 8)u is twice that.
    """
    return 4 * (dim + 8) * _U32


@dataclass(frozen=True)
class _Operand:
    """One side of a pass: rows centred and cast to float32, augmented as [x, 1, (1 − τ)‖x‖²]."""

    augmented: torch.Tensor  # (n, d + 2) float32
    sq_norm: np.ndarray  # (n,) float64 squared norms of the centred rows
    tau: float

    def __len__(self) -> int:
        return len(self.sq_norm)

    def as_rows(self, ids: np.ndarray) -> torch.Tensor:
        """[−2x, (1 − τ)‖x‖², 1] for the given rows: times ``augmented``ᵀ this is the lower bound lo."""
        a = self.augmented[torch.from_numpy(ids)]  # advanced indexing: a copy
        dim = a.shape[1] - 2
        a[:, :dim] *= -2.0
        a[:, dim] = a[:, dim + 1]
        a[:, dim + 1] = 1.0
        return a


def _operands(rows: np.ndarray, cols: np.ndarray | None = None) -> tuple[_Operand, _Operand]:
    """float32 copies centred on the pass's data: centring shrinks ‖a‖², hence the width of the bounds."""
    centre = rows.mean(0) if cols is None else (rows.sum(0) + cols.sum(0)) / (len(rows) + len(cols))
    tau = _tau(rows.shape[1])

    def make(x: np.ndarray) -> _Operand:
        n, d = x.shape
        augmented = torch.empty((n, d + 2), dtype=torch.float32)
        sq = np.empty(n)
        for s in range(0, n, _ROW_CHUNK):
            c = x[s:s + _ROW_CHUNK] - centre
            sq[s:s + _ROW_CHUNK] = np.einsum("ij,ij->i", c, c)
            augmented[s:s + _ROW_CHUNK, :d] = torch.from_numpy(c)
        augmented[:, d] = 1.0
        augmented[:, d + 1] = torch.from_numpy((1 - tau) * sq)
        return _Operand(augmented, sq, tau)

    r = make(rows)
    return r, (r if cols is None else make(cols))


@dataclass(frozen=True)
class _Block:
    ids: np.ndarray  # the block's rows (indices into the row operand)
    lo: torch.Tensor  # (rows, cols) float32 lower bounds on the exact squared distances
    scratch: torch.Tensor  # (rows, cols) float32 buffer free for the consumer
    col0: int = 0  # the block's first column (index into the col operand)


def _lower_bounds(rows: _Operand, cols: _Operand, budget: int, row_ids: np.ndarray | None = None,
                  upper_triangle: bool = False) -> Iterator[_Block]:
    """Lower bounds on the exact squared distances of one block of rows to the cols at a time.

    ``upper_triangle`` (rows and cols the same operand): a block of rows [s, e) meets only cols ≥ s,
    and entries with col ≤ row are +inf, so every unordered pair appears exactly once — half the work.
    The float32 buffers are allocated once and reused for every block (views into them are valid
    only until the next block): fresh ones per block fragment the heap and let peak memory grow to
    several budgets. The upper bound of entry (i, j) is lo + 2τ(‖a_i‖² + ‖b_j‖²).
    """
    ids_all = np.arange(len(rows)) if row_ids is None else row_ids
    step = min(rows_per_block(len(cols), budget), max(1, len(ids_all)))
    buffers = torch.empty((2, step * len(cols)), dtype=torch.float32)
    for s in range(0, len(ids_all), step):
        ids = ids_all[s:s + step]
        col0 = s if upper_triangle else 0
        shape = (len(ids), len(cols) - col0)
        lo = buffers[0, :shape[0] * shape[1]].view(shape)
        torch.mm(rows.as_rows(ids), cols.augmented[col0:].T, out=lo)
        if upper_triangle:
            lo[:, :len(ids)].masked_fill_(torch.ones(len(ids), len(ids), dtype=torch.bool).tril(), float("inf"))
        yield _Block(ids, lo, buffers[1, :shape[0] * shape[1]].view(shape), col0)


def _upper(tau: float, lo: torch.Tensor, row_norm: np.ndarray, col_norm: np.ndarray) -> np.ndarray:
    """float64 upper bounds lo + 2τ(‖a‖² + ‖b‖²) for selected entries (norms broadcast against ``lo``)."""
    return lo.numpy().astype(np.float64) + 2 * tau * (row_norm + col_norm)


def _upper_block(block: _Block, rows: _Operand, cols: _Operand) -> torch.Tensor:
    """float32 upper bounds for a whole block, in ``block.scratch``: lo + c‖b_j‖² + c‖a_i‖².

    c = 2τ + 8u also covers the rounding of the two float32 additions (≤ 4u(‖a‖² + ‖b‖²)).
    """
    c = 2 * rows.tau + 8 * _U32
    up = torch.add(block.lo, torch.from_numpy(_f32_up(c * cols.sq_norm[block.col0:]))[None, :], out=block.scratch)
    return up.add_(torch.from_numpy(_f32_up(c * rows.sq_norm[block.ids]))[:, None])


def _decide(block: _Block, up: torch.Tensor, pts: PointSet, cen: PointSet, r2: np.ndarray, strict: bool,
            budget: int) -> torch.Tensor:
    """Boolean block: is exact ‖a_i − b_j‖² < r² (``strict``) or ≤ r²; ``r2`` broadcasts against the block.

    Bounds settle almost every entry; the few within rounding distance of r² are computed exactly.
    """
    inside = up < torch.from_numpy(_f32_down(r2))  # exact ≤ up < r²
    unsure = (block.lo <= torch.from_numpy(_f32_up(r2))).logical_xor_(inside)  # inside ⊆ (lo ≤ r²)
    ri, cj = _where(unsure)
    del unsure
    if len(ri):
        d2 = _exact_sq(pts.distinct, block.ids[ri], cen.distinct, block.col0 + cj, budget)
        limit = np.broadcast_to(r2, block.lo.shape)[ri, cj]
        hit = d2 < limit if strict else d2 <= limit
        inside[torch.from_numpy(ri[hit]), torch.from_numpy(cj[hit])] = True
    return inside


def _radii(sq_radii: np.ndarray, ps: PointSet, name: str) -> np.ndarray:
    """Squared radii per distinct row of ``ps`` (duplicates share neighbours, hence radii)."""
    r2 = np.asarray(sq_radii, dtype=np.float64)
    if r2.shape != (len(ps),):
        raise ValueError(f"{name} must have shape ({len(ps)},), got {r2.shape}")
    return r2[ps.rep]


def _f32_up(x: np.ndarray) -> np.ndarray:
    """float32 values ≥ ``x`` (rounding a float64 to float32 may go either way)."""
    return np.nextafter(np.asarray(x).astype(np.float32), np.float32(np.inf))


def _bound32(x: np.ndarray) -> torch.Tensor:
    """float32 thresholds ≥ ``x`` for ``lo <= bound`` tests; +inf becomes the largest float32, so
    masked (+inf) entries never pass."""
    return torch.from_numpy(np.minimum(_f32_up(x), np.finfo(np.float32).max))


def _f32_down(x: np.ndarray) -> np.ndarray:
    """float32 values ≤ ``x``."""
    return np.nextafter(np.asarray(x).astype(np.float32), np.float32(-np.inf))


def _where(mask: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the True entries of a 2-D mask, row-major; numpy's 1-D scan is ~10× torch.nonzero here."""
    flat = np.flatnonzero(mask.numpy())
    return flat // mask.shape[1], flat % mask.shape[1]


def _exact_sq(a: np.ndarray, ai: np.ndarray, b: np.ndarray, bj: np.ndarray, budget: int) -> np.ndarray:
    """Exact float64 ‖a[ai] − b[bj]‖² pair by pair (0 for identical rows, symmetric bit for bit)."""
    out = np.empty(len(ai))
    step = max(1, int(budget) // (4 * 24 * a.shape[1]))  # two gathered float64 rows and their difference
    for s in range(0, len(ai), step):
        diff = a[ai[s:s + step]] - b[bj[s:s + step]]
        np.square(diff, out=diff)
        out[s:s + step] = diff.sum(axis=1)
    return out


def _knn_sq_distinct(ps: PointSet, k: int, budget: int) -> np.ndarray:
    """(U, k) exact squared distances from each distinct row to its k nearest other rows (with multiplicity)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if len(ps) <= k:
        raise ValueError(f"k-NN with k={k} needs more than {k} points, got {len(ps)}")
    rows = ps.distinct
    op, _ = _operands(rows)
    counts = torch.from_numpy(ps.counts)
    kk = min(k, len(rows))
    out = np.empty((len(rows), k))
    for block in _lower_bounds(op, op, budget):
        ids, lo = block.ids, block.lo
        r = torch.arange(len(ids))
        own = torch.from_numpy(ids)
        w_own = counts[own] - 1  # copies of the row itself are its neighbours, at exactly 0
        lo[r, own] = torch.where(w_own > 0, 0.0, float("inf")).to(torch.float32)
        # Any entries of total multiplicity ≥ k bound the exact k-th distance by the k-th of their upper
        # bounds (counting multiplicity); every entry whose lower bound exceeds that is out, and the
        # survivors are settled exactly.
        vals, idx = torch.topk(lo, kk, dim=1, largest=False)
        weights = torch.where(idx == own[:, None], w_own[:, None], counts[idx]).numpy()
        up = _upper(op.tau, vals, op.sq_norm[ids][:, None], op.sq_norm[idx.numpy()])
        order = np.argsort(up, axis=1, kind="stable")
        up, weights = np.take_along_axis(up, order, 1), np.take_along_axis(weights, order, 1)
        first = (np.cumsum(weights, axis=1) >= k).argmax(axis=1)
        bound = up[np.arange(len(ids)), first]
        keep = lo <= _bound32(bound)[:, None]
        ri, cj = _where(keep)
        del keep
        d2 = _exact_sq(rows, ids[ri], rows, cj, budget)
        w = np.where(cj == ids[ri], ps.counts[cj] - 1, ps.counts[cj])
        out[ids] = _weighted_smallest(ri, d2, w, len(ids), k)
    return out


def _weighted_smallest(row: np.ndarray, value: np.ndarray, weight: np.ndarray, n_rows: int, k: int) -> np.ndarray:
    """Per row, the k smallest values when each value counts ``weight`` times; (n_rows, k)."""
    order = np.lexsort((value, row))
    row, value, weight = row[order], value[order], weight[order]
    cum = np.cumsum(weight)
    start = np.searchsorted(row, np.arange(n_rows))
    before = (cum - weight)[start]
    return np.stack([value[np.searchsorted(cum, before + p + 1)] for p in range(k)], axis=1)


def _nearest_with_ties(ps: PointSet, w_real: np.ndarray, w_gen: np.ndarray,
                       budget: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per distinct row: exact squared distance to its nearest other point and the (real, gen) weight at it.

    One pass over the upper triangle of the distance matrix (half the products of a row-wise pass):
    each pair (i < j) is offered to both ends, and every point keeps a running exact minimum with the
    summed label weights of all points at exactly that distance. A row stored m ≥ 2 times starts at 0
    with its own copies' weights (the caller removes the point itself).
    """
    rows = ps.distinct
    op, _ = _operands(rows)
    multi = ps.counts >= 2
    best = np.where(multi, 0.0, np.inf)
    got_real, got_gen = np.where(multi, w_real, 0.0), np.where(multi, w_gen, 0.0)
    for block in _lower_bounds(op, op, budget, upper_triangle=True):
        ids, lo, col0 = block.ids, block.lo, block.col0
        cols = np.arange(col0, col0 + lo.shape[1])
        # A candidate bound for each row and each col: its running exact best, or the upper bound of
        # its smallest lower bound in this block, whichever is smaller.
        row_lo, row_arg = lo.min(dim=1)
        col_lo, col_arg = lo.min(dim=0)
        row_bound = np.minimum(best[ids], _upper(op.tau, row_lo, op.sq_norm[ids], op.sq_norm[col0 + row_arg.numpy()]))
        col_bound = np.minimum(best[cols], _upper(op.tau, col_lo, op.sq_norm[ids[col_arg.numpy()]], op.sq_norm[cols]))
        keep = lo <= _bound32(row_bound)[:, None]
        keep |= lo <= _bound32(col_bound)[None, :]
        ri, cj = _where(keep)
        del keep
        a, b = ids[ri], cols[cj]
        d2 = _exact_sq(rows, a, rows, b, budget)
        _merge_nearest(best, got_real, got_gen, np.concatenate([a, b]), np.concatenate([d2, d2]),
                       np.concatenate([w_real[b], w_real[a]]), np.concatenate([w_gen[b], w_gen[a]]))
    return best, got_real, got_gen


def _merge_nearest(best: np.ndarray, got_real: np.ndarray, got_gen: np.ndarray, point: np.ndarray,
                   d2: np.ndarray, add_real: np.ndarray, add_gen: np.ndarray) -> None:
    """Fold offers (point, exact d², weights) into the running minimum and tie weights, in place."""
    if not len(point):
        return
    order = np.lexsort((d2, point))
    point, d2, add_real, add_gen = point[order], d2[order], add_real[order], add_gen[order]
    start = np.flatnonzero(np.r_[True, point[1:] != point[:-1]])
    group = np.repeat(np.arange(len(start)), np.diff(np.r_[start, len(point)]))
    target, low = point[start], d2[start]
    at_min = d2 == low[group]
    sum_real = np.bincount(group[at_min], weights=add_real[at_min], minlength=len(start))
    sum_gen = np.bincount(group[at_min], weights=add_gen[at_min], minlength=len(start))
    new = np.minimum(best[target], low)
    keep_old, take_new = best[target] == new, low == new
    got_real[target] = np.where(keep_old, got_real[target], 0.0) + np.where(take_new, sum_real, 0.0)
    got_gen[target] = np.where(keep_old, got_gen[target], 0.0) + np.where(take_new, sum_gen, 0.0)
    best[target] = new
