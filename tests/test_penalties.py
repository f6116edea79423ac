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


# ---- LeCam and lazy regularisation ------------------------------------------------------------------

def test_lecam_anchors_are_debiased_emas_and_the_term_is_its_authors_formula():
    """α: TensorFlow's zero-debiased EMA of the batch means (updated before use); R_LC = E relu(D(x) − α_F)² +
    E relu(α_R − D(x̂))², computed by hand on fixed scores over three updates."""
    from ganbench.penalties import LeCam

    lecam, decay = LeCam(0.9), 0.9
    batches = [(torch.tensor([1.0, 3.0]), torch.tensor([-2.0, 0.0])),
               (torch.tensor([0.0, 2.0]), torch.tensor([1.0, -1.0])),
               (torch.tensor([4.0, 4.0]), torch.tensor([-3.0, 5.0]))]
    biased_r = biased_f = 0.0
    for t, (real, fake) in enumerate(batches, start=1):
        lecam.update(real, fake)
        biased_r = decay * biased_r + (1 - decay) * float(real.mean())
        biased_f = decay * biased_f + (1 - decay) * float(fake.mean())
        a_r, a_f = biased_r / (1 - decay ** t), biased_f / (1 - decay ** t)
        assert [float(v) for v in lecam.anchors()] == pytest.approx([a_r, a_f])
        expected = (sum(max(r - a_f, 0.0) ** 2 for r in real.tolist()) / 2
                    + sum(max(a_r - f, 0.0) ** 2 for f in fake.tolist()) / 2)
        assert float(lecam(real, fake)) == pytest.approx(expected)
    assert float(LeCam(0.99).anchors()[0]) == 0.0  # before any update


def test_lecam_pulls_only_the_scores_that_ran_past_the_other_sides_anchor():
    from ganbench.penalties import LeCam

    lecam = LeCam(0.0)  # anchors = this batch's means
    real, fake = torch.tensor([2.0, 2.0], requires_grad=True), torch.tensor([-2.0, -2.0], requires_grad=True)
    lecam.update(real, fake)
    lecam(real, fake).backward()
    # d/dD(x) relu(D(x) − α_F)² / 2 = (2 − (−2)) = 4 per score; generated: −(α_R − D(x̂)) = −4
    assert real.grad.tolist() == pytest.approx([4.0, 4.0]) and fake.grad.tolist() == pytest.approx([-4.0, -4.0])
    inside = LeCam(0.0)
    r, f = torch.tensor([-1.0, -1.0]), torch.tensor([1.0, 1.0])  # real below the fake anchor: no pull
    inside.update(r, f)
    assert float(inside(r, f)) == 0.0


def _d_loss(spec, step, *, update=False):
    """D's objective of a freshly built run on a fixed batch at ``step``."""
    import ganbench.train as train_module
    from ganbench.data import load_dataset

    run = train_module.build_run(spec, load_dataset(spec.dataset, dict(spec.dataset_params)), torch.device("cpu"))
    torch.manual_seed(7)
    x = run.real_batch()
    fake = run.G(run.prior(run.batch_size)).detach()
    torch.manual_seed(8)
    loss, d_real, d_fake = run.d_objective(run.D, x, fake, step, update_anchors=update)
    return run, (loss.detach(), d_real.detach(), d_fake.detach())


def test_lazy_regularisation_applies_the_penalty_every_kth_step_weighted_by_k():
    from helpers.specs import run_spec

    ring = {"dataset": "ring", "dataset_params": {"n_train": 500, "n_test": 100}}
    lam = 1e6  # the MLP's input gradients start near 1e-4: a weight that makes R1 visible next to the loss
    plain = run_spec(loss="ns", penalty="r1", steps=20, hparams={"lambda": lam}, **ring)
    lazy = run_spec(loss="ns", penalty="r1", steps=20, hparams={"lambda": lam, "penalty_every": 4}, **ring)
    free = run_spec(loss="ns", steps=20, **ring)
    assert "penalty_every" not in plain.hparams and lazy.hparams["penalty_every"] == 4
    _, (every_step, _, _) = _d_loss(plain, 3)
    _, (off_step, _, _) = _d_loss(lazy, 3)
    _, (on_step, _, _) = _d_loss(lazy, 4)
    run, (no_penalty, d_real, _) = _d_loss(free, 3)
    assert float(off_step) == float(no_penalty)
    weighted = float(every_step) - float(no_penalty)
    assert weighted > 1e-3 and float(on_step) == pytest.approx(float(no_penalty) + 4 * weighted, rel=1e-4)


def test_lecam_enters_ds_loss_with_its_weight_and_only_real_d_steps_move_its_anchors():
    from helpers.specs import run_spec

    ring = {"dataset": "ring", "dataset_params": {"n_train": 500, "n_test": 100}}
    free = run_spec(loss="ns", steps=20, **ring)
    reg = run_spec(loss="ns", steps=20, hparams={"lecam": 0.5, "lecam_decay": 0.9}, **ring)
    assert "lecam" not in free.hparams and "lecam_decay" not in free.hparams
    assert run_spec(loss="ns", steps=20, hparams={"lecam": 0.0}, **ring).run_id == free.run_id  # off = absent
    _, (base, _, _) = _d_loss(free, 1)
    run, (with_reg, d_real, d_fake) = _d_loss(reg, 1, update=True)
    a_r, a_f = float(d_real.mean()), float(d_fake.mean())  # one debiased update: the batch means
    expected = (torch.relu(d_real - a_f).pow(2).mean() + torch.relu(a_r - d_fake).pow(2).mean()).item()
    assert float(with_reg) == pytest.approx(float(base) + 0.5 * expected, rel=1e-5)
    before = [float(v) for v in run.lecam.anchors()]
    run.d_objective(run.D, run.real_batch(), run.G(run.prior(16)).detach(), 2)  # a look-ahead evaluation
    assert [float(v) for v in run.lecam.anchors()] == before
