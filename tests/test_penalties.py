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


@pytest.mark.parametrize("name", ["wgan_gp", "dragan"])
def test_gradient_norm_penalties_match_closed_form(name):
    value = PENALTIES.get(name)(linear_critic(W), REAL, FAKE)
    expected = ((NORM_EPS + 25.0) ** 0.5 - 1) ** 2
    assert float(value) == pytest.approx(expected, rel=1e-6)


def test_r1_is_squared_gradient_norm_on_real():
    assert float(PENALTIES.get("r1")(linear_critic(W), REAL, FAKE)) == pytest.approx(25.0)


def test_none_is_zero():
    assert float(PENALTIES.get("none")(linear_critic(W), REAL, FAKE)) == 0.0


def test_wgan_gp_evaluates_on_interpolates():
    """With D(x) = ½‖x‖², ∇D = x; the penalty must use points between real and fake."""
    torch.manual_seed(0)
    real, fake = torch.full((4096, 1), 3.0), torch.zeros(4096, 1)
    value = PENALTIES.get("wgan_gp")(lambda x: 0.5 * x.pow(2).sum(1), real, fake)
    # x̃ = 3α with α ~ U(0,1): E(|3α| − 1)² = 3 − 3 + 1 = 1 (E α² = 1/3, E α = 1/2 → 9/3 − 2·3/2 + 1)
    assert float(value.detach()) == pytest.approx(1.0, abs=0.05)


def test_dragan_perturbs_real_data_only():
    torch.manual_seed(0)
    real = torch.randn(2048, 1)
    fake = torch.full((2048, 1), 1e6)  # would explode the penalty if it were used
    value = PENALTIES.get("dragan")(lambda x: 0.5 * x.pow(2).sum(1), real, fake)
    assert float(value.detach()) < 10.0


def test_penalties_are_differentiable_wrt_critic():
    w = W.clone().requires_grad_(True)
    PENALTIES.get("wgan_gp")(linear_critic(w), REAL, FAKE).backward()
    assert w.grad is not None and torch.isfinite(w.grad).all() and w.grad.abs().sum() > 0
