"""The unrolled critic against torch.optim.Adam (values), finite differences (the gradient through the
unroll), and the promise to leave D, its buffers and its optimiser untouched.

Each test names in its docstring the broken implementation it was seen to fail on.
"""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganbench.data import load_dataset
from ganbench.nets import ARCHS, AutoencoderD, NetConfig, build_nets
from ganbench.penalties import PENALTIES
from ganbench.unroll import UnrolledCritic, unrolled_critic


def ns_d_loss(net, real: Tensor, fake: Tensor) -> Tensor:
    return F.softplus(-net(real)).mean() + F.softplus(net(fake)).mean()


def ns_g_loss(net, fake: Tensor) -> Tensor:
    return F.softplus(-net(fake)).mean()


def tiny_mlp(inputs: int = 2, hidden: int = 6, dtype=torch.float32, seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(inputs, hidden), nn.Tanh(), nn.Linear(hidden, 1)).to(dtype)


def real_steps(D: nn.Module, opt: torch.optim.Optimizer, objective, n: int, constrain=None) -> None:
    """``n`` ordinary optimiser steps on D, as the trainer's D step takes them."""
    for _ in range(n):
        opt.zero_grad(set_to_none=True)
        objective(D).backward()
        opt.step()
        if constrain is not None:
            with torch.no_grad():
                for p in D.parameters():
                    p.copy_(constrain(p))


def torch_adam_lookahead(D: nn.Module, opt: torch.optim.Optimizer, steps: int, objective, constrain=None) -> nn.Module:
    """The reference: ``steps`` torch Adam steps on a deepcopy of D with a loaded copy of the optimiser.

    The state dict is deep-copied: ``load_state_dict`` keeps the very tensors it is given (same dtype
    and device), so loading ``opt.state_dict()`` as is would let the copy's steps advance ``opt``'s state.
    """
    critic = copy.deepcopy(D)
    opt_u = type(opt)(critic.parameters())
    opt_u.load_state_dict(copy.deepcopy(opt.state_dict()))
    real_steps(critic, opt_u, objective, steps, constrain)
    return critic


def state_copy(opt: torch.optim.Optimizer) -> dict:
    return copy.deepcopy(opt.state_dict())


def assert_same(a, b) -> None:
    """Bit-identical nested dicts / lists of tensors and plain values."""
    if isinstance(a, Tensor):
        assert isinstance(b, Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    else:
        assert a == b


# ---- 1. values ------------------------------------------------------------------------------------

ADAM_SETTINGS = [
    pytest.param(dict(lr=2e-3, betas=(0.5, 0.9)), id="lr2e-3-betas0.5,0.9"),
    pytest.param(dict(lr=1e-2, betas=(0.0, 0.99), eps=1e-6, weight_decay=0.1), id="l2-weight-decay"),
    pytest.param(dict(lr=5e-3, betas=(0.3, 0.95), weight_decay=0.05, decoupled_weight_decay=True), id="adamw"),
    pytest.param(dict(lr=1e-3, betas=(0.6, 0.99), maximize=True), id="maximize"),
]


@pytest.mark.parametrize("warmup", [0, 3], ids=["fresh-state", "after-3-real-steps"])
@pytest.mark.parametrize("settings", ADAM_SETTINGS)
def test_unrolled_parameters_equal_torch_adam_steps_on_a_copy(settings, warmup):
    """θ_K is K steps of torch.optim.Adam from D and the optimiser's state, to 1e-6.

    Broken implementations it fails on: bias correction counted from the unroll's own step (k + 1)
    instead of the state's step; bias correction without the square root on the second moment;
    a parameter that gets no gradient updated as if its gradient were zero (caught by weight decay).
    """
    D = tiny_mlp()
    D.register_parameter("unused", nn.Parameter(torch.full((3,), 0.5)))  # never enters the loss
    opt = torch.optim.Adam(D.parameters(), **settings)
    gen = torch.Generator().manual_seed(1)
    real, fake = torch.randn(32, 2, generator=gen) + 1.0, torch.randn(32, 2, generator=gen)

    def objective(net):
        return ns_d_loss(net, real, fake)

    real_steps(D, opt, objective, warmup)
    critic = unrolled_critic(D, opt, 3, objective)
    reference = torch_adam_lookahead(D, opt, 3, objective)
    for name, p in reference.named_parameters():
        torch.testing.assert_close(critic.params[name], p, rtol=0, atol=1e-6)
    assert not torch.equal(critic.params["0.weight"], D[0].weight)  # it did move


# ---- 2. the gradient through the unroll ----------------------------------------------------------

class AffineG:
    """G: z ↦ a·z + b on scalars (float64), fixed latents and real points: no randomness anywhere."""

    gen = torch.Generator().manual_seed(3)
    z = torch.randn(16, 1, generator=gen, dtype=torch.float64)
    real = 2.0 + 0.5 * torch.randn(16, 1, generator=gen, dtype=torch.float64)

    def __init__(self, a: float, b: float):
        self.a = torch.tensor(a, dtype=torch.float64, requires_grad=True)
        self.b = torch.tensor(b, dtype=torch.float64, requires_grad=True)

    def fake(self) -> Tensor:
        return self.a * self.z + self.b

    def objective(self, net) -> Tensor:
        return ns_d_loss(net, self.real, self.fake())


def warmed_up_d() -> tuple[nn.Module, torch.optim.Adam]:
    """A 1-3-1 tanh D (10 weights) after 4 real Adam steps against G(0.8, 0.3)'s fakes.

    The warm state matters: from a fresh state Adam's first step is ≈ lr·sign(g), whose derivative in
    g is ~eps/|g|, so a one-step unroll would carry almost no second-order signal.
    """
    D = tiny_mlp(inputs=1, hidden=3, dtype=torch.float64, seed=4)
    opt = torch.optim.Adam(D.parameters(), lr=0.05, betas=(0.5, 0.9))
    g = AffineG(0.8, 0.3)
    real_steps(D, opt, lambda net: ns_d_loss(net, g.real, g.fake().detach()), 4)
    return D, opt


@pytest.mark.parametrize("steps", [1, 3])
def test_generator_gradient_flows_through_the_unrolled_steps(steps):
    """∂/∂(a, b) of G's loss under θ_K(a, b) matches central differences of torch-Adam look-aheads,
    and differs clearly from the first-order gradient (θ_K held constant).

    Broken implementations it fails on: inner gradients taken with create_graph=False; the gradient
    detached before entering the Adam update — both give the first-order gradient.
    """
    D, opt = warmed_up_d()
    a0, b0 = 1.1, -0.2
    g = AffineG(a0, b0)
    critic = unrolled_critic(D, opt, steps, g.objective)
    through = torch.stack(torch.autograd.grad(ns_g_loss(critic, g.fake()), (g.a, g.b)))

    frozen = UnrolledCritic(D, {n: p.detach() for n, p in critic.params.items()}, critic.buffers)
    g = AffineG(a0, b0)
    first_order = torch.stack(torch.autograd.grad(ns_g_loss(frozen, g.fake()), (g.a, g.b)))

    def surrogate(a: float, b: float) -> float:
        g = AffineG(a, b)
        with torch.no_grad():
            fake = g.fake()
        lookahead = torch_adam_lookahead(D, opt, steps, lambda net: ns_d_loss(net, g.real, fake))
        return float(ns_g_loss(lookahead, fake).detach())

    h = 1e-5
    numeric = torch.tensor([(surrogate(a0 + h, b0) - surrogate(a0 - h, b0)) / (2 * h),
                            (surrogate(a0, b0 + h) - surrogate(a0, b0 - h)) / (2 * h)], dtype=torch.float64)
    torch.testing.assert_close(through, numeric, rtol=1e-6, atol=1e-9)
    assert (first_order - numeric).norm() > 0.05 * numeric.norm()  # the look-ahead's own share


# ---- 3. D, its buffers and its optimiser are left alone ------------------------------------------

@pytest.mark.parametrize("warmup", [0, 2], ids=["fresh-state", "after-2-real-steps"])
def test_discriminator_buffers_and_optimizer_are_untouched(warmup):
    """Parameters, batch-norm statistics and optimiser state are bit-identical afterwards; D has no .grad.

    Broken implementations it fails on: D's own buffers passed to functional_call (running stats move);
    θ_0 = D's parameters undetached (D gets .grad); ``optimizer.state[p]`` read by indexing (the
    defaultdict gains empty entries in the fresh state); Adam moments updated in place.
    """
    torch.manual_seed(0)
    D = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
    G = nn.Linear(2, 2)
    opt = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))

    def objective(net, detach=False):
        fake = G(torch.randn(16, 2))
        return ns_d_loss(net, torch.randn(16, 2) + 2.0, fake.detach() if detach else fake)

    real_steps(D, opt, lambda net: objective(net, detach=True), warmup)
    params = {n: p.detach().clone() for n, p in D.named_parameters()}
    buffers = {n: b.clone() for n, b in D.named_buffers()}
    state, n_state = state_copy(opt), len(opt.state)
    for p in D.parameters():
        p.grad = None

    critic = unrolled_critic(D, opt, 2, objective)
    ns_g_loss(critic, G(torch.randn(16, 2))).backward()

    assert_same({n: p.detach() for n, p in D.named_parameters()}, params)
    assert_same(dict(D.named_buffers()), buffers)
    assert_same(state_copy(opt), state)
    assert len(opt.state) == n_state
    assert all(p.grad is None for p in D.parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in G.parameters())
    assert not torch.equal(critic.buffers["1.running_mean"], D[1].running_mean)  # the copy's stats ran


# ---- 4. constraints -------------------------------------------------------------------------------

def test_constraint_holds_after_every_unrolled_step():
    """Every parameter of θ_K is within ±0.01, and θ_K equals torch Adam with a clamp after each step.

    Broken implementations it fails on: constrain not applied (bound broken); constrain applied once
    at the end instead of after each step (values differ from the reference).
    """
    clip = 0.01
    constrain = lambda p: p.clamp(-clip, clip)  # noqa: E731
    D = tiny_mlp()
    opt = torch.optim.Adam(D.parameters(), lr=5e-3, betas=(0.5, 0.9))
    gen = torch.Generator().manual_seed(2)
    real, fake = torch.randn(32, 2, generator=gen) + 1.0, torch.randn(32, 2, generator=gen)

    def wgan(net):
        return net(fake).mean() - net(real).mean()

    real_steps(D, opt, wgan, 2, constrain)
    critic = unrolled_critic(D, opt, 3, wgan, constrain)
    assert max(float(p.detach().abs().max()) for p in critic.params.values()) <= clip
    reference = torch_adam_lookahead(D, opt, 3, wgan, constrain)
    for name, p in reference.named_parameters():
        torch.testing.assert_close(critic.params[name], p, rtol=0, atol=1e-9)


# ---- 5. ganbench's networks ------------------------------------------------------------------------

NET_CASES = [pytest.param("mlp", "ring", norm, id=f"mlp-ring-{norm}") for norm in ("batch", "spectral", "layer")]
NET_CASES += [pytest.param(arch, "digits", norm, id=f"{arch}-digits8-{norm}")
              for arch in ("dcgan", "infogan") for norm in ("batch", "spectral", "layer", "none")]
NET_CASES += [pytest.param("mlp", "ring", "autoencoder", id="mlp-ring-autoencoder-d")]


@pytest.mark.parametrize("arch, dataset, norm", NET_CASES)
def test_real_networks_unroll_with_a_gradient_penalty(arch, dataset, norm):
    """Through-unrolling runs on ganbench's nets (batch norm, the study's batch norm, spectral norm,
    layer norm, an autoencoder D) with NS terms + a WGAN-GP penalty in the objective: the look-ahead D's
    buffers and outputs match the torch-Adam look-ahead under the same random draws, G gets finite
    non-zero gradients, D none.

    Broken implementations it fails on: spectral-normalised weights passed under their plain name
    ``weight`` (functional_call then switches σ-normalisation off: outputs differ); buffers re-cloned
    from D at every step (spectral-norm u/v and BN statistics stop evolving); torch's fused batch norm
    kept (its derivatives stop at second order: G's backward raises); the sqrt guard removed (the maxout
    MLP's losing pieces get exactly zero gradient: NaN in G's gradient); θ_0 not detached.
    """
    data = load_dataset(dataset, {"size": 8} if dataset == "digits" else None)
    info, train = data.info, data.split("train")
    cfg = NetConfig(z_dim=8, width=8, d_norm="batch" if norm == "autoencoder" else norm)
    torch.manual_seed(0)
    G, D = build_nets(arch, info, cfg)
    if norm == "autoencoder":
        D = AutoencoderD(ARCHS.get(arch), info, cfg, code_dim=4)
        score = lambda net, x: (x - net(x)).abs().flatten(1).mean(1)  # noqa: E731  (BEGAN's L1 error)
    else:
        score = lambda net, x: net(x).reshape(-1)  # noqa: E731
    # float64: some of these gradients sit at rounding level (the maxout MLP's at this init, biases that
    # batch norm cancels), and Adam's normalisation turns float32 noise in them into changes of order lr.
    G, D = G.double(), D.double()
    gp = PENALTIES.get("wgan_gp")
    opt = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.9))
    batch = 8

    def objective(net, detach=False):  # every draw from torch's global RNG, reseeded for each path
        x = train.get(torch.randint(len(train), (batch,))).double()
        fake = G(torch.randn(batch, cfg.z_dim, dtype=torch.float64))
        fake = fake.detach() if detach else fake
        d_real, d_fake = score(net, x), score(net, fake)
        ns = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
        return ns + 10.0 * gp(lambda v: score(net, v), x, fake)

    real_steps(D, opt, lambda net: objective(net, detach=True), 1)
    torch.manual_seed(1)
    critic = unrolled_critic(D, opt, 2, objective)
    torch.manual_seed(1)
    reference = torch_adam_lookahead(D, opt, 2, lambda net: objective(net, detach=True))
    # Buffers and outputs, not raw parameters, and at 1e-5: a bias that batch norm cancels has a gradient
    # of pure rounding noise, which Adam's normalisation blows up to updates of up to ~lr; the plain-op
    # batch norm rounds differently from torch's kernel, and through the maxout MLP at this init that
    # 1e-16 grows to ~1e-7 in D's output after 2 steps (with torch's kernel both paths are bit-identical).
    for name, b in reference.named_buffers():
        torch.testing.assert_close(critic.buffers[name], b, rtol=1e-5, atol=1e-6)
    probe = train.get(torch.arange(batch)).double()
    torch.testing.assert_close(critic(probe), reference(probe), rtol=1e-5, atol=1e-8)

    probe_latent = torch.randn(batch, cfg.z_dim, dtype=torch.float64)
    for p in [*G.parameters(), *D.parameters()]:
        p.grad = None
    (-score(critic, G(probe_latent)).mean()).backward()
    grads = [p.grad for p in G.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads) and any(g.abs().sum() > 0 for g in grads)
    assert all(p.grad is None for p in D.parameters())


# ---- 6. a zero second moment ----------------------------------------------------------------------

@pytest.mark.parametrize("steps", [1, 2])
def test_zero_second_moment_gives_finite_gradients(steps):
    """A hidden unit with zero outgoing weight gets exactly zero gradient on its incoming weights, so
    their Adam second moment is exactly 0 at the first step; G's gradient stays finite.

    Broken implementations it fails on: the sqrt guard removed (√v at v = 0 gives inf·0 = NaN in G's
    gradient); Adam's moments updated in place on the optimiser's own tensors.
    """
    D = tiny_mlp(inputs=1, hidden=3, dtype=torch.float64, seed=5)
    with torch.no_grad():
        D[2].weight[0, 0] = 0.0
    opt = torch.optim.Adam(D.parameters(), lr=0.05, betas=(0.5, 0.9))
    g = AffineG(1.1, -0.2)
    critic = unrolled_critic(D, opt, steps, g.objective)
    grads = torch.autograd.grad(ns_g_loss(critic, g.fake()), (g.a, g.b))
    assert all(torch.isfinite(x) for x in grads)
    if steps == 1:  # the dead unit's weights did take a (zero) step: v stayed exactly 0
        assert torch.equal(critic.params["0.weight"][0], D[0].weight[0].detach())


# ---- the edges of the API --------------------------------------------------------------------------

def test_zero_steps_is_d_itself():
    D = tiny_mlp()
    assert unrolled_critic(D, torch.optim.Adam(D.parameters()), 0, lambda net: net(torch.zeros(1, 2)).sum()) is D


def test_unsupported_optimizer_settings_are_refused():
    D = tiny_mlp()
    objective = lambda net: net(torch.ones(4, 2)).mean()  # noqa: E731
    with pytest.raises(ValueError, match="amsgrad"):
        unrolled_critic(D, torch.optim.Adam(D.parameters(), amsgrad=True), 1, objective)
    with pytest.raises(ValueError, match="none of D's parameters"):
        unrolled_critic(D, torch.optim.Adam(tiny_mlp().parameters()), 1, objective)
    with pytest.raises(TypeError, match="Adam"):
        unrolled_critic(D, torch.optim.SGD(D.parameters(), lr=0.1), 1, objective)
