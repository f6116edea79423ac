"""The chunked neighbour primitives against float64 brute force: tiny blocks, duplicates, exact ties, memory."""
from __future__ import annotations

import numpy as np
import pytest

from ganbench.metrics.neighbours import (PointSet, ball_counts, cached_knn_table, knn_sq_distances,
                                         nearest_label_agreement, rows_per_block)

TINY = 1  # budget of 1 byte: one row per block, the most chunk boundaries possible


def sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)


def brute_knn(x: np.ndarray, k: int) -> np.ndarray:
    d = sq_dists(x, x)
    np.fill_diagonal(d, np.inf)
    return np.sort(d, axis=1)[:, :k]


def brute_agreement(real: np.ndarray, gen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    u = np.concatenate([real, gen])
    label = np.r_[np.ones(len(real)), np.zeros(len(gen))]
    d = sq_dists(u, u)
    np.fill_diagonal(d, np.inf)
    tie = d == d.min(axis=1, keepdims=True)
    share = (tie & (label[None, :] == label[:, None])).sum(1) / tie.sum(1)
    return share[:len(real)], share[len(real):]


@pytest.fixture
def with_duplicates() -> tuple[np.ndarray, np.ndarray]:
    """Odd dimension, rows duplicated inside each set and across sets, one row stored 5 times (radius 0 for k ≤ 4)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(70, 7))
    x = np.concatenate([x, x[:6], x[:2], np.repeat(x[10:11], 4, axis=0)])
    y = np.concatenate([rng.normal(size=(45, 7)), x[3:12], x[:1]])
    return x, y


@pytest.fixture
def lattice() -> tuple[np.ndarray, np.ndarray]:
    """Integer points: many distinct points at exactly equal distances, and points exactly on ball edges."""
    rng = np.random.default_rng(1)
    return rng.integers(0, 4, size=(90, 3)).astype(float), rng.integers(0, 4, size=(60, 3)).astype(float)


@pytest.mark.parametrize("budget", [TINY, 10_000, None])
@pytest.mark.parametrize("data", ["with_duplicates", "lattice"])
def test_knn_distances_equal_brute_force(data, budget, request):
    x, _ = request.getfixturevalue(data)
    kwargs = {} if budget is None else {"budget": budget}
    for k in (1, 3, 5):
        np.testing.assert_array_equal(knn_sq_distances(x, k, **kwargs), brute_knn(x, k))


@pytest.mark.parametrize("budget", [TINY, 10_000])
@pytest.mark.parametrize("data", ["with_duplicates", "lattice"])
@pytest.mark.parametrize("strict", [False, True])
def test_ball_counts_equal_brute_force_both_ways(data, budget, strict, request):
    x, y = request.getfixturevalue(data)
    r2, r2_y = brute_knn(x, 3)[:, 2], brute_knn(y, 2)[:, 1]
    d = sq_dists(y, x)
    inside = d < r2[None, :] if strict else d <= r2[None, :]
    reverse = d < r2_y[:, None] if strict else d <= r2_y[:, None]  # x_j inside y_i's ball
    counts = ball_counts(y, x, r2, strict=strict, point_sq_radii=r2_y, budget=budget)
    np.testing.assert_array_equal(counts.per_point, inside.sum(axis=1))
    np.testing.assert_array_equal(counts.per_centre, inside.sum(axis=0))
    np.testing.assert_array_equal(counts.centre_in_point_balls, reverse.sum(axis=0))
    assert ball_counts(y, x, r2, strict=strict, budget=budget).centre_in_point_balls is None


def test_radius_zero_balls_hold_exact_duplicates_only_under_le():
    x = np.array([[0.0, 0.0]] * 4 + [[5.0, 5.0], [6.0, 5.0], [5.0, 6.0], [6.0, 6.0]])
    r2 = knn_sq_distances(x, 3)[:, 2]
    assert (r2[:4] == 0).all()
    query = np.array([[0.0, 0.0], [1e-12, 0.0]])
    assert ball_counts(query, x, r2, strict=False).per_point.tolist() == [4, 0]
    assert ball_counts(query, x, r2, strict=True).per_point.tolist() == [0, 0]


@pytest.mark.parametrize("budget", [TINY, 10_000])
@pytest.mark.parametrize("data", ["with_duplicates", "lattice"])
def test_label_agreement_equals_brute_force_tie_rule(data, budget, request):
    x, y = request.getfixturevalue(data)
    got_real, got_gen = nearest_label_agreement(x, y, budget=budget)
    want_real, want_gen = brute_agreement(x, y)
    np.testing.assert_allclose(got_real, want_real, rtol=0, atol=1e-15)
    np.testing.assert_allclose(got_gen, want_gen, rtol=0, atol=1e-15)


def test_near_duplicates_do_not_tie_with_exact_copies():
    """A real point 1e-9 away loses to an exact (generated) copy, though float32 cannot tell the distances apart."""
    rng = np.random.default_rng(2)
    base = rng.normal(size=(30, 16)) * 100
    real = np.concatenate([base, base[:1] + 1e-9])
    real_ok, gen_ok = nearest_label_agreement(real, base[:1])
    assert real_ok[0] == 0.0  # its only nearest point is the copy, not the real point 1e-9 away
    assert gen_ok[0] == 0.0  # and the copy's only nearest point is the original


def test_point_set_merges_exact_duplicates_only():
    x = np.array([[0.0, 1.0], [-0.0, 1.0], [0.0, 1.0 + 2**-52], [0.0, 1.0]])
    ps = PointSet(x)
    assert ps.counts.tolist() == [3, 1]
    assert ps.inverse.tolist() == [0, 0, 1, 0]
    assert ps.rep.tolist() == [0, 2]
    assert PointSet(np.eye(3)).distinct is not None and PointSet(np.eye(3)).rep.tolist() == [0, 1, 2]


def test_fully_collapsed_set_costs_one_distinct_point():
    x = np.concatenate([np.zeros((20_000, 64)), np.ones((3, 64))])
    assert (knn_sq_distances(x, 5)[:20_000] == 0).all()
    real_ok, gen_ok = nearest_label_agreement(np.ones((3, 64)) * 2, x)
    assert gen_ok[:20_000].mean() == 1.0 and real_ok.tolist() == [1.0, 1.0, 1.0]


def test_cached_table_is_reused_only_for_the_same_array():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 3))
    cache: dict = {}
    ps, table = cached_knn_table(cache, "real", x, 3)
    assert table.shape[1] >= 5  # one pass covers prc's k=3 and prdc's k=5
    assert cached_knn_table(cache, "real", x, 5)[1] is table
    assert cached_knn_table(cache, "real", x.copy(), 3)[1] is not table
    np.testing.assert_array_equal(table[:, :3], brute_knn(x, 3))


def test_too_few_points_and_bad_input_are_refused():
    with pytest.raises(ValueError, match="more than 3 points"):
        knn_sq_distances(np.zeros((3, 2)), 3)
    with pytest.raises(ValueError, match="NaN"):
        PointSet(np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError, match="dimensions differ"):
        ball_counts(np.zeros((2, 3)), np.zeros((2, 2)), np.zeros(2), strict=False)


def _peak_rss_bytes() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM"))


def test_memory_stays_within_the_budget_not_the_pair_matrix():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the peak-RSS watermark
    except OSError:
        pytest.skip("peak RSS cannot be reset on this system")
    rng = np.random.default_rng(4)
    n, d, budget = 6000, 64, 8 * 2**20
    x, y = rng.normal(size=(n, d)), rng.normal(size=(n, d))
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = _peak_rss_bytes()
    radii = knn_sq_distances(x, 3, budget=budget)[:, 2]
    ball_counts(y, x, radii, strict=False, budget=budget)
    nearest_label_agreement(x, y, budget=budget)
    extra = _peak_rss_bytes() - before
    all_pairs = (2 * n) ** 2 * 4  # the float32 union distance matrix a naive 1-NN would build: 576 MB
    assert extra < 100 * 2**20, f"peak grew by {extra / 2**20:.0f} MiB"
    assert extra < all_pairs / 5
    assert rows_per_block(2 * n, budget) < 2 * n


# ---------------------------------------------------------------- added after mutation testing (docs/testing.md)


def colliding_rows() -> np.ndarray:
    """Two different 2-d rows with the same 64-bit row hash, built from the hash's definition
    (Σ bits(x_i)·m_i mod 2⁶⁴, m_i odd from ``default_rng(0)``): x₁ moves one ulp up and x₂'s bit
    pattern moves by −m₁/m₂ mod 2⁶⁴ (from 1e-30 it lands on ~4e-282). Every component is below 1e-17,
    so the two rows would also collapse under any arithmetic that adds 1 before comparing them."""
    m = np.random.default_rng(0).integers(1, 2**63, size=2, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    m1, m2 = int(m[0]), int(m[1])
    a = np.array([1e-20, 1e-30])
    b = np.array([np.nextafter(1e-20, 1.0), 0.0])
    b_bits = (int(a[1:].view(np.uint64)[0]) - m1 * pow(m2, -1, 2**64)) % 2**64
    b[1] = np.array([b_bits], dtype=np.uint64).view(np.float64)[0]
    rows = np.stack([a, b])
    with np.errstate(over="ignore"):
        h = (rows.view(np.uint64) * m).sum(axis=1, dtype=np.uint64)
    assert h[0] == h[1] and not (rows[0] == rows[1]).any()
    assert ((0 < np.abs(rows)) & (np.abs(rows) < 1e-17)).all()
    return rows


def test_a_hash_collision_never_merges_different_rows():
    """The documented guarantee behind :class:`PointSet`: rows that share a hash are compared value by
    value, and different rows stay apart (through the exact fallback), in a group of two or of three."""
    pair = colliding_rows()
    ps = PointSet(pair)
    assert ps.counts.tolist() == [1, 1] and ps.inverse.tolist() == [0, 1] and ps.rep.tolist() == [0, 1]
    ps = PointSet(np.concatenate([pair, pair[:1]]))
    assert ps.counts.tolist() == [2, 1] and ps.inverse.tolist() == [0, 1, 0] and ps.rep.tolist() == [0, 1]
    # behind 2100 genuine duplicates: every group is verified, not only those among the first rows
    ps = PointSet(np.concatenate([np.ones((2100, 2)), pair]))
    assert ps.counts.tolist() == [2100, 1, 1]


def test_single_and_empty_point_sets():
    one = PointSet(np.array([[1.0, 2.0]]))
    assert (one.rep.tolist(), one.inverse.tolist(), one.counts.tolist()) == ([0], [0], [1])
    empty = PointSet(np.zeros((0, 3)))
    assert len(empty) == 0 and empty.rep.shape == empty.inverse.shape == empty.counts.shape == (0,)
    assert empty.rep.dtype == empty.inverse.dtype == empty.counts.dtype == np.int64  # usable as indices


@pytest.mark.parametrize("budget", [TINY, None])
def test_duplicates_among_close_neighbours_equal_brute_force(with_duplicates, budget):
    """The fixture shrunk by 1e-3: all distances ≪ 1, so a row's own copies (at exactly 0) must enter
    its neighbour search with a lower bound of 0, not of anything larger."""
    x, _ = with_duplicates
    kwargs = {} if budget is None else {"budget": budget}
    for k in (1, 3, 5):
        np.testing.assert_array_equal(knn_sq_distances(x * 1e-3, k, **kwargs), brute_knn(x * 1e-3, k))


def test_radius_zero_ball_at_the_centre_of_the_pass_holds_nothing_under_strict():
    """The pass centres the data on its mean. Here the mean is the origin, where four copies give a
    radius-0 ball and the query sits: its float32 bounds are all exactly 0, and only ``d < r`` with the
    exact values decides (0 < 0 is false; the outer points' balls, radius 1, hold it only under ≤)."""
    x = np.array([[0.0, 0.0]] * 4 + [[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    r2 = knn_sq_distances(x, 3)[:, 2]
    query = np.zeros((1, 2))
    assert ball_counts(query, x, r2, strict=True).per_point.tolist() == [0]
    assert ball_counts(query, x, r2, strict=False).per_point.tolist() == [8]


def test_smallest_inputs_and_bad_arguments_are_refused_with_their_names():
    assert [v.tolist() for v in nearest_label_agreement(np.zeros((1, 2)), np.ones((1, 2)))] == [[0.0], [0.0]]
    with pytest.raises(ValueError, match=r"^1-NN needs at least two points in total$"):
        nearest_label_agreement(np.zeros((1, 2)), np.zeros((0, 2)))
    with pytest.raises(ValueError, match=r"^real and gen differ in dimension \(2 vs 3\)$"):
        nearest_label_agreement(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"^k must be at least 1, got 0$"):
        knn_sq_distances(np.zeros((3, 2)), 0)
    x = np.arange(10.0).reshape(5, 2)
    with pytest.raises(ValueError, match=r"^sq_radii must have shape \(5,\), got \(4,\)$"):
        ball_counts(x, x, np.ones(4), strict=False)
    with pytest.raises(ValueError, match=r"^point_sq_radii must have shape \(5,\), got \(2,\)$"):
        ball_counts(x, x, np.ones(5), strict=False, point_sq_radii=np.ones(2))
    with pytest.raises(ValueError, match=r"^features must be a 2-D \(N, d\) array, got shape \(3,\)$"):
        PointSet(np.zeros(3))
    with pytest.raises(ValueError, match=r"^features contain NaN or infinite values$"):
        PointSet(np.array([[np.inf, 0.0]]))
    for name, call in (("points", lambda bad: ball_counts(bad, x, np.ones(5), strict=False)),
                       ("centres", lambda bad: ball_counts(x, bad, np.ones(1), strict=False)),
                       ("real", lambda bad: nearest_label_agreement(bad, x)),
                       ("gen", lambda bad: nearest_label_agreement(x, bad))):
        with pytest.raises(ValueError, match=rf"^{name} contain NaN"):
            call(np.array([[np.nan, 0.0]]))


def test_cached_table_is_reused_up_to_its_width():
    x = np.random.default_rng(5).normal(size=(40, 3))
    cache: dict = {}
    _, table = cached_knn_table(cache, "real", x, 3)
    assert cached_knn_table(cache, "real", x, table.shape[1])[1] is table
    wider = cached_knn_table(cache, "real", x, table.shape[1] + 1)[1]
    assert wider is not table and wider.shape[1] == table.shape[1] + 1
