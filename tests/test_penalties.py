"""Penalties against their formulas on a critic whose gradient is known in closed form."""
import pytest
import torch

from ganbench.penalties import NORM_EPS, PENALTIES


def linear_critic(w: torch.Tensor):
    """D(x) = x·w: ∇D = w everywhere, so every gradient penalty has a closed form."""
    return lambda x: x.flatten(1) @ w


W = torch.tensor([3.0, 4.0])  # ‖w‖ = 5
REAL = torch.tensor([[1.0, 2.0], [0.5, -1.0], [2.0, 0.0]])
FAKE = torch.tensor([[0.0, 0.0], [1.0, 1.0], [-1.0, 3.0]])


@pytest.mark.parametrize("name", ["wgan_gp", "dragan_logit"])
def test_gradient_norm_penalties_match_closed_form(name):
    value = PENALTIES.get(name)(linear_critic(W), REAL, FAKE)
    expected = ((NORM_EPS + 25.0) ** 0.5 - 1) ** 2
    assert float(value.detach()) == pytest.approx(expected, rel=1e-6)


def _dragan_points_by_hand(real: torch.Tensor, seed: int) -> torch.Tensor:
    """compare_gan v1.0 DRAGAN: x̃ = x + α·(x_p − x), x_p = x + 0.5·std(x)·u (numpy std: ddof 0)."""
    torch.manual_seed(seed)
    alpha = torch.rand(real.shape[0], 1)
    u = torch.rand_like(real)
    std = float(((real - real.mean()) ** 2).mean().sqrt())
    return real + alpha * (0.5 * std * u)


def test_dragan_differentiates_the_sigmoid_as_the_study():
    """On D(x) = x·w, ∇σ(D(x̃)) = σ(x̃·w)(1 − σ(x̃·w))·w: the penalty is E(√(1e-4 + (σ'·5)²) − 1)² at the
    same x̃ (recomputed by hand from the same seed). Fails on the logit's gradient (‖w‖ = 5 → 16), on
    the unbiased std, and on noise scaled by anything but 0.5·std."""
    torch.manual_seed(3)
    real = torch.randn(64, 2)
    points = _dragan_points_by_hand(real, seed=11)
    s = torch.sigmoid(points @ W)
    expected = ((NORM_EPS + (s * (1 - s) * 5.0) ** 2).sqrt() - 1).pow(2).mean()
    torch.manual_seed(11)
    value = PENALTIES.get("dragan")(linear_critic(W), real, FAKE[:1].expand(64, 2))
    assert float(value.detach()) == pytest.approx(float(expected), rel=1e-6)
    assert float(expected) > 0.5  # σ' ≤ 1/4, so the σ-penalty sits near (0.01·…−1)² ≈ 1, not at the logit's 16
    torch.manual_seed(11)
    logit = PENALTIES.get("dragan_logit")(linear_critic(W), real, FAKE[:1].expand(64, 2))
    assert float(logit.detach()) == pytest.approx(((NORM_EPS + 25.0) ** 0.5 - 1) ** 2, rel=1e-6)


def test_r1_is_squared_gradient_norm_on_real():
    assert float(PENALTIES.get("r1")(linear_critic(W), REAL, FAKE)) == pytest.approx(25.0)


def test_r2_is_squared_gradient_norm_on_generated_and_r1_r2_the_sum():
    assert float(PENALTIES.get("r2")(linear_critic(W), REAL, FAKE)) == pytest.approx(25.0)
    assert float(PENALTIES.get("r1_r2")(linear_critic(W), REAL, FAKE)) == pytest.approx(50.0)


@pytest.mark.parametrize("name, points", [("r1", "real"), ("r2", "fake")])
def test_zero_centred_penalties_match_a_finite_difference_gradient(name, points):
    """On D(x) = Σ sin(x·a) x² (a non-linear critic), the penalty's ∇D is checked against central differences
    at the very points it is taken on (real for R1, generated for R2)."""
    a = torch.tensor([0.7, -1.3], dtype=torch.float64)

    def critic(x):
        return torch.sin(x @ a) * x.pow(2).sum(1)

    real, fake = REAL.double(), FAKE.double()
    at = real if points == "real" else fake
    h = 1e-6
    grads = torch.zeros_like(at)
    for j in range(at.shape[1]):
        step = torch.zeros_like(at)
        step[:, j] = h
        grads[:, j] = (critic(at + step) - critic(at - step)) / (2 * h)
    expected = grads.pow(2).sum(1).mean()
    value = PENALTIES.get(name)(critic, real, fake).detach()
    assert float(value) == pytest.approx(float(expected), rel=1e-7)
    both = PENALTIES.get("r1_r2")(critic, real, fake).detach()
    apart = PENALTIES.get("r1")(critic, real, fake) + PENALTIES.get("r2")(critic, real, fake)
    assert float(both) == pytest.approx(float(apart.detach()))


def test_none_is_zero():
    assert float(PENALTIES.get("none")(linear_critic(W), REAL, FAKE)) == 0.0


def test_wgan_gp_evaluates_on_interpolates():
    """With D(x) = ½‖x‖², ∇D = x. Real 3, fake 1: interpolates x̃ = 1 + 2α give E(|x̃| − 1)² = 4/3,
    fake-only points give 0 and real-only ones 4, so the placement is pinned. Compared exactly with the
    same α recomputed from the same seed."""
    real, fake = torch.full((4096, 1), 3.0), torch.ones(4096, 1)
    torch.manual_seed(0)
    value = PENALTIES.get("wgan_gp")(lambda x: 0.5 * x.pow(2).sum(1), real, fake)
    torch.manual_seed(0)
    alpha = torch.rand(4096, 1)
    points = alpha * real + (1 - alpha) * fake
    expected = ((NORM_EPS + points.pow(2).sum(1)).sqrt() - 1).pow(2).mean()
    assert float(value.detach()) == pytest.approx(float(expected), rel=1e-6)
    assert float(expected) == pytest.approx(4 / 3, abs=0.08)  # and clearly neither 0 nor 4


def test_dragan_perturbs_real_data_only():
    """The fakes never enter DRAGAN's penalty: the same value with wildly different fakes."""
    torch.manual_seed(0)
    real = torch.randn(2048, 1)
    values = []
    for fake_value in (0.0, 1e6):
        torch.manual_seed(5)
        fake = torch.full((2048, 1), fake_value)
        values.append(float(PENALTIES.get("dragan")(lambda x: 0.5 * x.pow(2).sum(1), real, fake).detach()))
    assert values[0] == values[1]
    torch.manual_seed(5)
    points = _dragan_points_by_hand(real, seed=5)
    s = torch.sigmoid(0.5 * points.pow(2).sum(1))
    grad = s * (1 - s) * points.abs().squeeze(1)  # |∇σ(½x²)| = σ'·|x|
    assert values[0] == pytest.approx(float(((NORM_EPS + grad ** 2).sqrt() - 1).pow(2).mean()), rel=1e-6)


def test_penalties_are_differentiable_wrt_critic():
    w = W.clone().requires_grad_(True)
    PENALTIES.get("wgan_gp")(linear_critic(w), REAL, FAKE).backward()
    assert w.grad is not None and torch.isfinite(w.grad).all() and w.grad.abs().sum() > 0


# ---------------------------------------------------------------- added after mutation testing (docs/testing.md)


def quadratic_critic(x: torch.Tensor) -> torch.Tensor:
    """D(x) = ½‖x‖²: ∇D(x) = x, so a penalty's value pins the points it was evaluated at."""
    return 0.5 * x.flatten(1).pow(2).sum(1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_wgan_gp_interpolates_arbitrary_reals_and_fakes_in_their_dtype(dtype):
    """x̃ = αx + (1 − α)x̂ on spread-out reals and fakes (not all ones), α drawn in the inputs' dtype
    from the same seed; E(√(1e-4 + ‖x̃‖²) − 1)² recomputed by hand. Catches (1 − α)/x̂ for (1 − α)·x̂,
    which fakes of 1 cannot tell apart, and α drawn in float32 for float64 inputs."""
    gen = torch.Generator().manual_seed(1)
    real = torch.randn(256, 3, generator=gen, dtype=dtype) * 2 + 1
    fake = torch.randn(256, 3, generator=gen, dtype=dtype) - 2
    torch.manual_seed(4)
    value = PENALTIES.get("wgan_gp")(quadratic_critic, real, fake)
    torch.manual_seed(4)
    alpha = torch.rand(256, 1, dtype=dtype)
    points = alpha * real + (1 - alpha) * fake
    expected = ((NORM_EPS + points.pow(2).sum(1)).sqrt() - 1).pow(2).mean()
    assert value.dtype == dtype
    assert float(value.detach()) == pytest.approx(float(expected), rel=1e-12 if dtype == torch.float64 else 1e-6)


@pytest.mark.parametrize("name", ["wgan_gp", "dragan", "dragan_logit", "r1", "r2", "r1_r2"])
def test_penalties_follow_their_inputs_device(name):
    """On the ``meta`` device (shapes only, no data) every tensor a penalty makes must stay there: a
    random α or noise drawn on the default (CPU) device cannot be combined with the inputs. Stands in
    for a CUDA run on a machine without a GPU."""
    w = torch.ones(2, device="meta", requires_grad=True)
    real, fake = torch.empty(8, 2, device="meta"), torch.empty(8, 2, device="meta")
    value = PENALTIES.get(name)(linear_critic(w), real, fake)
    assert value.device.type == "meta" and value.shape == ()


@pytest.mark.parametrize("name", ["wgan_gp", "dragan_logit", "r1", "r2", "r1_r2"])
def test_penalty_gradient_wrt_the_critic_matches_closed_form(name):
    """On D(x) = x·w the penalties are functions of w alone: R1 = ‖w‖² with ∇_w = 2w; the norm
    penalties (s − 1)², s = √(1e-4 + ‖w‖²), with ∇_w = 2(s − 1)w / s. Fails when the input gradient is
    taken without ``create_graph`` (the penalty would then not train D at all)."""
    w = torch.tensor([3.0, 4.0], dtype=torch.float64, requires_grad=True)
    torch.manual_seed(0)
    PENALTIES.get(name)(linear_critic(w), REAL.double(), FAKE.double()).backward()
    plain = w.detach()
    if name in ("r1", "r2"):
        expected = 2 * plain
    elif name == "r1_r2":
        expected = 4 * plain
    else:
        s = (NORM_EPS + plain.pow(2).sum()).sqrt()
        expected = 2 * (s - 1) * plain / s
    torch.testing.assert_close(w.grad, expected, rtol=1e-12, atol=0)


def test_norm_epsilon_is_compare_gans():
    """The other tests take ``NORM_EPS`` from the module, so they cannot notice it changing; pin it to
    compare_gan's sqrt(1e-4 + Σg²) here (the mutation tester does not mutate module constants)."""
    assert NORM_EPS == 1e-4
