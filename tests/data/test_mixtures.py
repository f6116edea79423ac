"""Ring and grid mixtures: points sit at the declared modes, every mode is used, seeds reproduce."""
from __future__ import annotations

import math

import pytest
import scipy.stats
import torch

from ganbench.data import DATASETS
from ganbench.data.mixtures import grid, grid_centres, ring, ring_centres, sample_mixture
from ganbench.errors import GanbenchError

SMALL = {"n_train": 4000, "n_test": 500}
# Level of the per-mode chi-square goodness-of-fit test. The data are seeded, so each test is
# deterministic; at this level a correct sampler would fail for about 1 seed in 1000. An empty or doubled
# mode gives p < 1e-20; on the ring (8 modes, 4000 points) one mode 25 % above its share gives p ≈ 1e-5.
ALPHA = 1e-3


def nearest(points: torch.Tensor, centres: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    dist = torch.cdist(points.double(), centres.double())
    return dist.min(1)


def uniform_fit_pvalue(points: torch.Tensor, centres: torch.Tensor) -> float:
    """Pearson chi-square p-value of the nearest-declared-centre counts against equal shares."""
    counts = torch.bincount(nearest(points, centres)[1], minlength=len(centres)).numpy()
    return float(scipy.stats.chisquare(counts).pvalue)  # expected: len(points) / len(centres) each


@pytest.mark.parametrize("factory,n_modes,sigma", [(ring, 8, 0.01), (grid, 25, 0.05)])
def test_points_sit_at_modes_and_fill_them_evenly(factory, n_modes, sigma):
    """Breakages tried, each fails here: the sampler drawing modes from ``randint(M − 1)`` (last mode
    dropped); a fifth of mode 1's draws moved to mode 0 (both inside the old ±30 % band)."""
    ds = factory(SMALL)
    centres = torch.tensor(ds.info.extras["centres"])
    assert centres.shape == (n_modes, 2) and ds.info.extras["sigma"] == sigma
    train = ds.split("train")
    points = train.all()
    assert points.shape == (4000, 2) and points.dtype == torch.float32
    dist, mode = nearest(points, centres)
    assert dist.max() < 6 * sigma  # P(‖N(0, σ²I₂)‖ > 6σ) ≈ 1.5e-8
    within_3 = (dist < 3 * sigma).float().mean().item()
    assert abs(within_3 - (1 - math.exp(-4.5))) < 0.01  # Rayleigh: 98.9 % within 3σ
    assert torch.equal(mode, train.labels)  # labels are the generating mode
    assert uniform_fit_pvalue(points, centres) > ALPHA  # every mode drawn with probability 1/M
    low, high = ds.info.value_range
    assert low <= points.min() and points.max() <= high


@pytest.mark.parametrize("factory", [ring, grid])
def test_goodness_of_fit_catches_a_dropped_or_a_duplicated_mode(factory):
    """The real sampler fed a broken centre list, judged against the *declared* centres: one mode
    missing (its share drawn from the others), or one mode replaced by a copy of its neighbour (that
    neighbour drawn twice as often). The chi-square test rejects both and passes the intact list on the
    same draw size."""
    ds = factory(SMALL)
    centres = torch.tensor(ds.info.extras["centres"], dtype=torch.float64)
    sigma = ds.info.extras["sigma"]

    def draw(sampler_centres: torch.Tensor) -> torch.Tensor:
        return sample_mixture(sampler_centres, sigma, 4000, torch.Generator().manual_seed(3))[0]

    assert uniform_fit_pvalue(draw(centres), centres) > ALPHA
    assert uniform_fit_pvalue(draw(centres[:-1]), centres) < 1e-12  # dropped
    assert uniform_fit_pvalue(draw(torch.cat([centres[:-1], centres[-2:-1]])), centres) < 1e-12  # duplicated


def test_goodness_of_fit_catches_a_mode_drawn_a_quarter_too_often():
    """Ring, 4000 points: mode 0 drawn with weight 1.3 against 1 for the others (≈ 25 % above its
    share). The ±30 % band this test replaced let that through; the chi-square test at ALPHA does not."""
    centres = ring_centres(8, 1.0)
    weights = torch.ones(8, dtype=torch.float64)
    weights[0] = 1.3
    picks = torch.multinomial(weights, 4000, replacement=True, generator=torch.Generator().manual_seed(4))
    noise = torch.randn(4000, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    points = (centres[picks] + 0.01 * noise).float()
    counts = torch.bincount(nearest(points, centres)[1], minlength=8).float()
    assert counts.max() < 1.3 * 500 and counts.min() > 0.7 * 500  # inside the old band
    assert uniform_fit_pvalue(points, centres) < ALPHA


def test_declared_centres_match_the_study():
    assert torch.allclose(ring_centres(8, 1.0).norm(dim=1), torch.ones(8, dtype=torch.float64))
    angles = torch.atan2(ring_centres(8, 1.0)[:, 1], ring_centres(8, 1.0)[:, 0])
    gaps = torch.diff(torch.sort(torch.remainder(angles, 2 * math.pi)).values)
    assert torch.allclose(gaps, torch.full((7,), math.pi / 4, dtype=torch.float64))
    lattice = {tuple(p) for p in grid_centres(5, 2.0).tolist()}
    assert lattice == {(float(x), float(y)) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)}


@pytest.mark.parametrize("factory", [ring, grid])
def test_seed_reproduces_and_splits_are_independent_streams(factory):
    a, b = factory(SMALL), factory(SMALL)
    assert torch.equal(a.split("train").all(), b.split("train").all())
    assert len(a.split("test")) == 500
    other = factory({**SMALL, "seed": 1})
    assert not torch.equal(a.split("train").all(), other.split("train").all())
    bigger = factory({**SMALL, "n_train": 5000})
    assert torch.equal(a.split("test").all(), bigger.split("test").all())
    assert not torch.equal(a.split("train").all(), a.split("test").all()[:1].expand(4000, 2))


def test_defaults_and_metadata():
    for name, defaults in (("ring", {"modes": 8, "radius": 1.0, "sigma": 0.01}),
                           ("grid", {"side": 5, "spacing": 2.0, "sigma": 0.05})):
        meta = DATASETS.meta(name)
        assert meta["kind"] == "vector" and meta["source"] == "embedded" and meta["description"]
        assert defaults.items() <= meta["params"].items()
        assert meta["params"]["n_train"] == 100_000 and meta["params"]["seed"] == 0
    ds = ring({"modes": 5, "radius": 2.0, "sigma": 0.1, "n_train": 10, "n_test": 10})
    assert len(ds.info.extras["centres"]) == 5 and ds.info.num_classes == 5
    assert ds.info.value_range == pytest.approx((-2.4, 2.4))


@pytest.mark.parametrize("factory,params,needle", [
    (ring, {"sigma": 0}, "sigma"), (ring, {"modes": 0}, "modes"), (grid, {"n_train": 1.5}, "n_train"),
    (grid, {"spacing": "wide"}, "spacing"), (ring, {"colour": 1}, "colour"),
])
def test_bad_params_are_user_errors(factory, params, needle):
    with pytest.raises(GanbenchError, match=needle):
        factory(params)
