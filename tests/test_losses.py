"""Each loss against its formula in ../shared/reference/lucic2018.md, on fixed tensors, both sides."""
import math

import pytest
import torch
from torch import nn

from ganbench.errors import UnknownNameError
from ganbench.losses import LOSSES, build_loss

REAL = [1.0, -0.5, 2.0]
FAKE = [0.2, -1.0, 0.5]


def sig(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def terms(name: str, **params):
    d, g = build_loss(name, params)(torch.tensor(REAL), torch.tensor(FAKE))
    return float(d), float(g)


def test_minimax_matches_formula():
    d, g = terms("mm")
    assert d == pytest.approx(mean(-math.log(sig(r)) for r in REAL) + mean(-math.log(1 - sig(f)) for f in FAKE))
    assert g == pytest.approx(mean(math.log(1 - sig(f)) for f in FAKE))  # minimised: saturating


def test_non_saturating_matches_formula():
    d, g = terms("ns")
    assert d == pytest.approx(mean(-math.log(sig(r)) for r in REAL) + mean(-math.log(1 - sig(f)) for f in FAKE))
    assert g == pytest.approx(mean(-math.log(sig(f)) for f in FAKE))


@pytest.mark.parametrize("name", ["wgan", "wgan_gp"])
def test_wasserstein_matches_formula(name):
    d, g = terms(name)
    assert d == pytest.approx(-mean(REAL) + mean(FAKE))
    assert g == pytest.approx(-mean(FAKE))


def test_lsgan_on_sigmoid_output_as_compare_gan():
    d, g = terms("lsgan")
    assert d == pytest.approx(0.5 * mean((sig(r) - 1) ** 2 for r in REAL) + 0.5 * mean(sig(f) ** 2 for f in FAKE))
    assert g == pytest.approx(0.5 * mean((sig(f) - 1) ** 2 for f in FAKE))


def test_hinge_matches_formula():
    d, g = terms("hinge")
    assert d == pytest.approx(mean(max(0, 1 - r) for r in REAL) + mean(max(0, 1 + f) for f in FAKE))
    assert g == pytest.approx(-mean(FAKE))


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_rpgan_pairs_each_real_sample_with_a_generated_one():
    d, g = terms("rpgan")
    assert d == pytest.approx(mean(softplus(-(r - f)) for r, f in zip(REAL, FAKE)))
    assert g == pytest.approx(mean(softplus(-(f - r)) for r, f in zip(REAL, FAKE)))


def test_ragan_compares_each_score_with_the_other_sides_mean():
    d, g = terms("ragan")
    mr, mf = mean(REAL), mean(FAKE)
    assert d == pytest.approx(mean(-math.log(sig(r - mf)) for r in REAL) + mean(-math.log(1 - sig(f - mr)) for f in FAKE))
    assert g == pytest.approx(mean(-math.log(sig(f - mr)) for f in FAKE) + mean(-math.log(1 - sig(r - mf)) for r in REAL))


def test_only_the_relativistic_losses_read_real_scores_for_g():
    assert {name for name in LOSSES.names() if build_loss(name, {}).g_uses_real_scores} == {"rpgan", "ragan"}


def test_dragan_uses_ns_terms_and_its_penalty():
    assert terms("dragan") == pytest.approx(terms("ns"))
    assert LOSSES.meta("dragan")["default_penalty"] == "dragan"
    assert LOSSES.meta("wgan_gp")["default_penalty"] == "wgan_gp"


def test_wgan_clipping_actually_clips():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(100)
    loss = build_loss("wgan", {"clip": 0.05, "lr": 1.0})
    loss.after_d_step(net)
    values = torch.cat([p.detach().flatten() for p in net.parameters()])
    assert float(values.abs().max()) == pytest.approx(0.05)
    assert int((values.abs() == 0.05).sum()) > len(values) // 2


def test_began_terms_and_unclipped_k_update_as_the_study():
    """compare_gan v1.0 ``update_k``: k ← k + λ_k(γ·L(x) − L(x̂)), never clipped.

    Fails on the BEGAN paper's clamp to [0, 1] (revision 1 of this loss).
    """
    loss = build_loss("began", {"gamma": 0.5, "lambda_k": 0.1})
    assert loss.rescores_after_step and not build_loss("ns", {}).rescores_after_step
    real, fake = torch.tensor([0.4, 0.6]), torch.tensor([0.1, 0.3])  # L(x) = 0.5, L(x̂) = 0.2
    loss.k = 0.3
    d, g = loss(real, fake)
    assert float(d) == pytest.approx(0.5 - 0.3 * 0.2)
    assert float(g) == pytest.approx(0.2)
    logged = loss.after_step(real, fake)
    assert loss.k == pytest.approx(0.3 + 0.1 * (0.5 * 0.5 - 0.2))
    assert logged["convergence"] == pytest.approx(0.5 + abs(0.25 - 0.2))
    loss.k = 0.999
    loss.after_step(torch.tensor([10.0]), torch.tensor([0.0]))
    assert loss.k == pytest.approx(0.999 + 0.1 * 5.0)  # above 1: not clamped
    restored = build_loss("began", {})
    restored.load_state_dict({"k": 0.25})
    assert restored.k == 0.25 and restored.state_dict() == {"k": 0.25}


def test_began_k_goes_negative_with_gamma_zero():
    """With γ = 0 every update subtracts λ_k·L(x̂) > 0: the study's k falls below 0 at once."""
    loss = build_loss("began", {"gamma": 0.0, "lambda_k": 1e-3})
    for _ in range(3):
        loss.after_step(torch.tensor([0.5]), torch.tensor([0.2]))
    assert loss.k == pytest.approx(-3 * 1e-3 * 0.2)


def test_began_clip_k_option_keeps_the_papers_clamp():
    loss = build_loss("began", {"gamma": 0.0, "lambda_k": 0.1, "clip_k": True})
    loss.after_step(torch.tensor([0.5]), torch.tensor([0.2]))
    assert loss.k == 0.0  # clamped below
    loss.k = 0.999
    loss.gamma = 1.0
    loss.after_step(torch.tensor([10.0]), torch.tensor([0.0]))
    assert loss.k == 1.0  # clamped above


def test_only_wgan_constrains_parameters():
    p = torch.tensor([-1.0, 0.001, 2.0])
    assert torch.equal(build_loss("wgan", {"clip": 0.01}).constrain(p), torch.tensor([-0.01, 0.001, 0.01]))
    for name in ("ns", "mm", "wgan_gp", "lsgan", "began", "hinge", "dragan"):
        assert torch.equal(build_loss(name, {}).constrain(p), p)


def test_build_loss_takes_only_its_own_params():
    assert build_loss("wgan", {"clip": 0.3, "lambda": 5.0}).clip == 0.3
    assert build_loss("wgan", {}).clip == 0.01  # the study's author default


def test_unknown_loss_suggests_closest_name():
    with pytest.raises(UnknownNameError, match=r"unknown loss 'wgan_pg' — did you mean 'wgan_gp'\?"):
        LOSSES.get("wgan_pg")


def test_aliases_resolve():
    assert LOSSES.canonical("minimax") == "mm"
    assert LOSSES.canonical("ns_gan") == "ns"
    assert LOSSES.get("wgangp") is LOSSES.get("wgan_gp")


# ---------------------------------------------------------------- added after mutation testing (docs/testing.md)


def test_loss_parameter_defaults_are_stated_once_as_the_studys():
    """The registration is the one place: a loss built with no parameters and a resolved spec both get
    WGAN clip 0.01; BEGAN γ 0.75, λ_k 1e-3, k unclipped (the study's values); the hyperparameter registry
    holds no second default and the constructors none at all."""
    import inspect

    from ganbench.hparams import HPARAMS, defaults_for

    assert build_loss("wgan", {}).clip == LOSSES.meta("wgan")["params"]["clip"] == 0.01
    began = build_loss("began", {})
    assert (began.gamma, began.lambda_k, began.clip_k) == (0.75, 1e-3, False)
    assert LOSSES.meta("began")["params"] == {"gamma": 0.75, "lambda_k": 1e-3, "clip_k": False}
    for name in ("clip", "gamma", "lambda_k", "clip_k"):
        assert HPARAMS.get(name).default is None
    for name in ("wgan", "began"):
        signature = inspect.signature(LOSSES.get(name).__init__)
        assert all(p.default is inspect.Parameter.empty for p in list(signature.parameters.values())[1:])
    params = tuple(LOSSES.meta("began")["params"])
    resolved = defaults_for("gan", params, "none", dict(LOSSES.meta("began")["params"]))
    assert {k: resolved[k] for k in params} == {"gamma": 0.75, "lambda_k": 1e-3, "clip_k": False}


def test_began_logs_k_and_convergence_under_their_names():
    loss = build_loss("began", {"gamma": 0.5, "lambda_k": 0.1})
    logged = loss.after_step(torch.tensor([0.4, 0.6]), torch.tensor([0.1, 0.3]))  # L(x) = 0.5, L(x̂) = 0.2
    assert logged == {"k": pytest.approx(0.1 * (0.25 - 0.2)), "convergence": pytest.approx(0.5 + 0.05)}
