"""Every architecture × resolution × channels × D normalisation: shapes, ranges, one D and one G step."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganbench.data.base import DatasetInfo
from ganbench.nets import ARCHS, D_NORMS, AutoencoderD, NetConfig, build_nets
from ganbench.nets.layers import has_spectral_norm
from ganbench.nets.sagan import SelfAttention

from .netcases import RING, image_info

CONV_ARCHS = ("infogan", "dcgan", "sndcgan", "resnet", "sagan", "stylegan2")
NORMLESS_G = ("stylegan2",)  # demodulation instead of normalisation: G ignores g_norm
SIDES = (8, 16, 28, 32, 64)
Z, WIDTH, BATCH = 8, 8, 4


def cases() -> list:
    params = []
    for arch in CONV_ARCHS:
        for side in SIDES:
            for c in (1, 3):
                for norm in D_NORMS:
                    case_id = f"{arch}-{side}px-{c}ch-{norm}"
                    params.append(pytest.param(arch, image_info(c, side), norm, id=case_id))
    for info in (RING, image_info(1, 28), image_info(3, 8)):
        for norm in D_NORMS:
            params.append(pytest.param("mlp", info, norm, id=f"mlp-{'x'.join(map(str, info.shape))}-{norm}"))
    return params


def config(norm: str) -> NetConfig:
    return NetConfig(z_dim=Z, width=WIDTH, d_norm=norm)


def real_batch(info: DatasetInfo) -> torch.Tensor:
    return torch.rand(BATCH, *info.shape) if info.kind == "image" else torch.randn(BATCH, *info.shape)


def snapshot(net: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in net.named_parameters()}


def unmoved(net: nn.Module, before: dict[str, torch.Tensor]) -> list[str]:
    return [name for name, p in net.named_parameters() if torch.equal(p.detach(), before[name])]


def gated(net: nn.Module) -> set[str]:
    """Parameters whose gradient is 0 at init by design: SAGAN's attention projections behind γ = 0."""
    return {f"{prefix}.{name}" for prefix, module in net.named_modules() if isinstance(module, SelfAttention)
            for name, _ in module.named_parameters() if name != "gamma"}


@pytest.mark.parametrize("arch,info,norm", cases())
def test_shapes_and_range(arch: str, info: DatasetInfo, norm: str) -> None:
    torch.manual_seed(0)
    cfg = config(norm)
    spec = ARCHS.get(arch)
    G = spec.generator(info, cfg)
    fake = G(torch.randn(BATCH, Z))
    assert fake.shape == (BATCH, *info.shape)
    if info.kind == "image":
        assert fake.min() >= 0.0 and fake.max() <= 1.0
    for out_dim in (1, 16):
        assert spec.discriminator(info, cfg, out_dim)(fake).shape == (BATCH, out_dim)
    autoencoder = AutoencoderD(spec, info, cfg, code_dim=16)
    assert autoencoder(fake).shape == fake.shape
    G.eval()
    assert G(torch.randn(1, Z)).shape == (1, *info.shape)  # sampling one image with BN in inference mode


@pytest.mark.parametrize("arch,info,norm", cases())
def test_one_training_step(arch: str, info: DatasetInfo, norm: str) -> None:
    """One non-saturating D step then one G step: finite losses, every parameter of the stepped net moves
    (but those γ = 0 keeps from any gradient on the first step)."""
    torch.manual_seed(0)
    G, D = build_nets(arch, info, config(norm))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
    ones, zeros = torch.ones(BATCH, 1), torch.zeros(BATCH, 1)
    z = torch.randn(BATCH, Z)

    before = snapshot(D)
    d_loss = (F.binary_cross_entropy_with_logits(D(real_batch(info)), ones)
              + F.binary_cross_entropy_with_logits(D(G(z).detach()), zeros))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    assert torch.isfinite(d_loss)
    assert set(unmoved(D, before)) == gated(D)

    before_g, before_d = snapshot(G), snapshot(D)
    g_loss = F.binary_cross_entropy_with_logits(D(G(z)), ones)
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    assert torch.isfinite(g_loss)
    assert set(unmoved(G, before_g)) == gated(G)
    assert len(unmoved(D, before_d)) == len(before_d)  # the G step leaves D alone


NORM_LAYERS = {"batch": (nn.modules.batchnorm._BatchNorm,), "layer": (nn.LayerNorm, nn.GroupNorm)}


@pytest.mark.parametrize("norm", D_NORMS)
@pytest.mark.parametrize("arch", (*CONV_ARCHS, "mlp"))
def test_d_norm_selects_the_layers(arch: str, norm: str) -> None:
    info = RING if arch == "mlp" else image_info(3, 32)
    G, D = build_nets(arch, info, config(norm))
    weighted = [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    spectral = norm == "spectral" or arch == "sndcgan"
    assert weighted and all(has_spectral_norm(m) == spectral for m in weighted)
    assert not any(has_spectral_norm(m) for m in G.modules())
    for kind, layers in NORM_LAYERS.items():
        present = any(isinstance(m, layers) for m in D.modules())
        assert present == (norm == kind), f"{kind} layers present={present} with d_norm={norm}"


@pytest.mark.parametrize("g_norm", ("batch", "none"))
@pytest.mark.parametrize("arch", (*(a for a in CONV_ARCHS if a not in NORMLESS_G), "mlp"))
def test_g_norm_selects_batch_norm(arch: str, g_norm: str) -> None:
    info = RING if arch == "mlp" else image_info(1, 16)
    G, _ = build_nets(arch, info, NetConfig(z_dim=Z, width=WIDTH, g_norm=g_norm))
    has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in G.modules())
    assert has_bn == (g_norm == "batch")


@pytest.mark.parametrize("arch", (*CONV_ARCHS, "mlp"))
def test_same_seed_same_initial_weights(arch: str) -> None:
    info = RING if arch == "mlp" else image_info(3, 16)
    cfg = config("spectral")  # spectral norm's random power-iteration vectors must repeat too

    def build(seed: int) -> list[dict[str, torch.Tensor]]:
        torch.manual_seed(seed)
        return [net.state_dict() for net in build_nets(arch, info, cfg)]

    first, again, other = build(0), build(0), build(1)
    for a, b, c in zip(first, again, other):
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a)
        assert any(not torch.equal(a[k], c[k]) for k in a if a[k].is_floating_point() and a[k].numel() > 1)


@pytest.mark.parametrize("arch", CONV_ARCHS)
def test_non_square_and_odd_sides(arch: str) -> None:
    """Sides outside the tested list still map exactly: no cropping, no padding of the output."""
    info = DatasetInfo("odd", "image", (3, 30, 20), (0.0, 1.0))
    G, D = build_nets(arch, info, config("batch"))
    fake = G(torch.randn(BATCH, Z))
    assert fake.shape == (BATCH, 3, 30, 20)
    assert D(fake).shape == (BATCH, 1)


@pytest.mark.parametrize("arch", (*CONV_ARCHS, "mlp"))
def test_images_land_in_a_non_unit_value_range(arch: str) -> None:
    info = image_info(1, 8, value_range=(-1.0, 1.0))
    G, _ = build_nets(arch, info, config("none"))
    fake = G(torch.randn(BATCH, Z) * 50)
    assert fake.min() >= -1.0 and fake.max() <= 1.0 and fake.min() < 0.0
