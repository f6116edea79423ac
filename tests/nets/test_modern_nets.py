"""SAGAN's self-attention and StyleGAN2's pieces against their definitions, and a short run where each learns."""
from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganbench.data.base import DatasetInfo
from ganbench.nets import NetConfig, build_nets
from ganbench.nets.layers import has_spectral_norm
from ganbench.nets.sagan import SelfAttention
from ganbench.nets.stylegan2 import (EqualConv2d, EqualLinear, MinibatchStd, ModulatedConv2d, NoiseInput,
                                     mbstd_group)
from ganbench.penalties import dragan, wgan_gp

from .netcases import image_info

Z = 8


def small(norm: str = "none", width: int = 8) -> NetConfig:
    return NetConfig(z_dim=Z, width=width, d_norm=norm)


# --- SAGAN ---------------------------------------------------------------------------------------

def test_attention_is_the_identity_at_init_and_not_after_gamma_moves() -> None:
    torch.manual_seed(0)
    block = SelfAttention(16)
    x = torch.randn(2, 16, 4, 4)
    assert float(block.gamma.detach()) == 0.0 and torch.equal(block(x), x)
    opt = torch.optim.Adam(block.parameters(), lr=1e-2)
    (block(x) - torch.randn_like(x)).pow(2).sum().backward()
    opt.step()
    assert float(block.gamma.detach()) != 0.0
    assert not torch.allclose(block(x), x)


def test_attention_matches_softmax_of_query_key_times_value_by_hand() -> None:
    torch.manual_seed(0)
    block = SelfAttention(16)  # query/key 2 channels, value 8
    with torch.no_grad():
        block.gamma.fill_(0.7)
    x = torch.randn(1, 16, 2, 3)
    flat = x[0].flatten(1)  # (C, N)
    q, k = block.query.weight[:, :, 0, 0] @ flat, block.key.weight[:, :, 0, 0] @ flat
    v = block.value.weight[:, :, 0, 0] @ flat
    expected = torch.empty_like(flat)
    for j in range(flat.shape[1]):
        weights = torch.softmax(torch.stack([q[:, j] @ k[:, i] for i in range(flat.shape[1])]), dim=0)
        attended = sum(weights[i] * v[:, i] for i in range(flat.shape[1]))
        expected[:, j] = flat[:, j] + 0.7 * block.out.weight[:, :, 0, 0] @ attended
    assert torch.allclose(block(x)[0].flatten(1), expected, atol=1e-5)
    assert torch.allclose(block.attention(x).sum(-1), torch.ones(1, 6))


def test_attention_projections_keep_at_least_one_channel() -> None:
    for channels, qk, v in ((1, 1, 1), (4, 1, 2), (16, 2, 8)):
        block = SelfAttention(channels)
        assert (block.query.out_channels, block.key.out_channels, block.value.out_channels) == (qk, qk, v)
        x = torch.randn(2, channels, 3, 3)
        assert block(x).shape == x.shape


@pytest.mark.parametrize("side,g_side,d_side", [(8, 4, 4), (16, 8, 8), (28, 14, 14), (32, 16, 16)])
def test_sagan_attends_at_half_the_output_side_in_g_and_after_the_input_block_in_d(side, g_side, d_side) -> None:
    G, D = build_nets("sagan", image_info(3, side), small())
    seen: list[tuple[str, int]] = []
    for name, net in (("G", G), ("D", D)):
        blocks = [m for m in net.modules() if isinstance(m, SelfAttention)]
        assert len(blocks) == 1
        blocks[0].register_forward_pre_hook(lambda m, inputs, name=name: seen.append((name, inputs[0].shape[-1])))
    D(G(torch.randn(2, Z)))
    assert seen == [("G", g_side), ("D", d_side)]


def test_sagan_at_init_is_the_resnet_it_extends() -> None:
    """γ = 0: removing the attention blocks leaves the outputs unchanged."""
    torch.manual_seed(0)
    G, D = build_nets("sagan", image_info(3, 16), small("spectral"))
    G.eval(), D.eval()
    z = torch.randn(3, Z)
    fake, score = G(z), D(G(z))
    for net in (G, D):
        net.blocks = nn.Sequential(*(m for m in net.blocks if not isinstance(m, SelfAttention)))
    assert torch.equal(G(z), fake) and torch.equal(D(G(z)), score)


# --- StyleGAN2: modulated conv, noise, mapping ---------------------------------------------------

def test_demodulated_weights_match_a_hand_computation_and_have_unit_norm() -> None:
    torch.manual_seed(0)
    conv = ModulatedConv2d(5, 4, 3)
    style = torch.randn(3, 5)
    weight = conv.modulated_weight(style).detach()
    assert weight.shape == (3, 4, 5, 3, 3)
    for b in range(3):
        for o in range(4):
            w = conv.weight[o] / math.sqrt(5 * 9) * style[b][:, None, None]
            assert torch.allclose(weight[b, o], w / torch.sqrt((w ** 2).sum() + 1e-8), atol=1e-6)
            assert abs(float(weight[b, o].norm()) - 1.0) < 1e-5


def test_modulated_conv_is_a_grouped_conv_with_the_per_sample_weights() -> None:
    torch.manual_seed(0)
    for demodulate in (True, False):
        conv = ModulatedConv2d(5, 4, 3, demodulate=demodulate)
        x, style = torch.randn(3, 5, 6, 7), torch.randn(3, 5)
        grouped = F.conv2d(x.reshape(1, 15, 6, 7), conv.modulated_weight(style).reshape(12, 5, 3, 3),
                           padding=1, groups=3).reshape(3, 4, 6, 7)
        assert torch.allclose(conv(x, style), grouped, atol=1e-5)


def test_unit_style_without_demodulation_is_a_plain_conv_with_the_equalized_weight() -> None:
    torch.manual_seed(0)
    conv = ModulatedConv2d(5, 4, 3, demodulate=False)
    x = torch.randn(2, 5, 6, 6)
    plain = F.conv2d(x, conv.weight / math.sqrt(5 * 9), padding=1)
    assert torch.allclose(conv(x, torch.ones(2, 5)), plain, atol=1e-6)


def test_equalized_layers_store_unit_normals_and_scale_at_run_time() -> None:
    torch.manual_seed(0)
    fc = EqualLinear(400, 300, bias_init=1.0, lr_mul=0.01)
    assert abs(float(fc.weight.detach().std()) - 100.0) < 2.0 and torch.allclose(fc.bias, torch.full((300,), 100.0))
    x = torch.randn(2, 400)
    assert torch.allclose(fc(x), F.linear(x, fc.weight * 0.01 / 20.0, fc.bias * 0.01), atol=1e-5)
    conv = EqualConv2d(64, 8, 3)
    assert abs(float(conv.weight.detach().std()) - 1.0) < 0.05
    y = torch.randn(2, 64, 5, 5)
    assert torch.allclose(conv(y), F.conv2d(y, conv.weight / 24.0, conv.bias, padding=1), atol=1e-5)


def noise_inputs(G: nn.Module) -> list[NoiseInput]:
    return [m for m in G.modules() if isinstance(m, NoiseInput)]


def test_noise_strength_starts_at_zero_and_changes_outputs_once_non_zero() -> None:
    torch.manual_seed(0)
    G, _ = build_nets("stylegan2", image_info(3, 16), small())
    G.eval()  # eval mode still draws noise (StyleGAN2's 'random' noise mode)
    z = torch.randn(4, Z)
    assert noise_inputs(G) and all(torch.equal(m.strength, torch.zeros_like(m.strength)) for m in noise_inputs(G))
    assert torch.equal(G(z), G(z))
    with torch.no_grad():
        for m in noise_inputs(G):
            m.strength.fill_(0.5)
    assert not torch.allclose(G(z), G(z))
    torch.manual_seed(1)
    first = G(z)
    torch.manual_seed(1)
    assert torch.equal(G(z), first)  # the noise comes from torch's global generator


def test_mapping_normalises_z_so_its_scale_does_not_matter() -> None:
    torch.manual_seed(0)
    G, _ = build_nets("stylegan2", image_info(1, 8), small())
    z = torch.randn(3, Z)
    assert torch.allclose(G.mapping(z), G.mapping(50 * z), atol=1e-5)


@pytest.mark.parametrize("side,channels", [(8, 1), (28, 1), (32, 3)])
def test_stylegan2_images_are_in_the_unit_range_and_repeat_with_the_seed(side, channels) -> None:
    info = image_info(channels, side)

    def sample() -> torch.Tensor:
        torch.manual_seed(3)
        G, _ = build_nets("stylegan2", info, small())
        with torch.no_grad():
            for m in noise_inputs(G):
                m.strength.fill_(1.0)
        return G(torch.randn(5, Z) * 10)

    fake = sample()
    assert fake.shape == (5, channels, side, side)
    assert fake.min() >= 0.0 and fake.max() <= 1.0 and fake.std() > 0.01
    assert torch.equal(sample(), fake)


def test_stylegan2_g_has_no_batch_norm_whatever_g_norm_says() -> None:
    for g_norm in ("batch", "layer", "none"):
        G, _ = build_nets("stylegan2", image_info(1, 8), NetConfig(z_dim=Z, width=8, g_norm=g_norm))
        assert not any(isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm)) for m in G.modules())


def test_a_deep_copy_of_either_g_samples_the_same_images() -> None:
    for arch in ("sagan", "stylegan2"):
        torch.manual_seed(0)
        G, _ = build_nets(arch, image_info(3, 16), small())
        twin = copy.deepcopy(G)
        z = torch.randn(2, Z)
        torch.manual_seed(5)
        a = G(z)
        torch.manual_seed(5)
        assert torch.equal(twin(z), a)


# --- StyleGAN2: discriminator --------------------------------------------------------------------

def test_minibatch_std_groups_divide_the_batch() -> None:
    assert [mbstd_group(b) for b in (1, 2, 3, 4, 5, 6, 8, 16, 64)] == [1, 2, 3, 4, 1, 3, 4, 4, 4]


def test_minibatch_std_feature_matches_a_hand_computation() -> None:
    torch.manual_seed(0)
    x = torch.randn(6, 2, 3, 3)  # groups of 3: samples {0, 2, 4} and {1, 3, 5}
    out = MinibatchStd()(x)
    assert out.shape == (6, 3, 3, 3) and torch.equal(out[:, :2], x)
    for group in ((0, 2, 4), (1, 3, 5)):
        members = x[list(group)]
        deviation = members - members.mean(dim=0)
        value = torch.sqrt((deviation ** 2).mean(dim=0) + 1e-8).mean()
        for i in group:
            assert torch.allclose(out[i, 2], value.expand(3, 3), atol=1e-6)


def test_stylegan2_d_halves_to_at_most_4x4_and_is_residual() -> None:
    for side, blocks in ((8, 1), (16, 2), (28, 3), (32, 3), (64, 4)):
        _, D = build_nets("stylegan2", image_info(3, side), small())
        assert len(D.blocks) == blocks
        assert D.fc.in_features == D.conv.out_channels * 16
        assert all(m.skip.bias is None for m in D.blocks)


@pytest.mark.parametrize("arch", ("sagan", "stylegan2"))
def test_spectral_norm_reaches_every_d_weight_and_drops_the_equalized_gain(arch: str) -> None:
    _, D = build_nets(arch, image_info(3, 32), small("spectral"))
    weighted = [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(weighted) > 5 and all(has_spectral_norm(m) for m in weighted)
    if arch == "stylegan2":
        D.eval()  # no power iteration: the weight read below is the one the forward used
        x = torch.randn(2, 3, 32, 32)
        assert torch.allclose(D.from_rgb(x), F.conv2d(x, D.from_rgb.weight, D.from_rgb.bias), atol=1e-5)


@pytest.mark.parametrize("norm", ("none", "batch", "spectral"))
@pytest.mark.parametrize("arch", ("sagan", "stylegan2"))
def test_gradient_penalties_backpropagate_through_either_d(arch: str, norm: str) -> None:
    """WGAN-GP and DRAGAN take D's input gradient with create_graph=True; their backward must reach D."""
    torch.manual_seed(0)
    G, D = build_nets(arch, image_info(3, 16), small(norm))
    real, fake = torch.rand(4, 3, 16, 16), G(torch.randn(4, Z))
    for penalty in (wgan_gp, dragan):
        D.zero_grad()
        penalty(lambda v: D(v).reshape(-1), real, fake).backward()
        grads = [p.grad for p in D.parameters() if p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads)
        assert sum(float(g.abs().sum()) for g in grads) > 0


# --- learning ------------------------------------------------------------------------------------

TWO_IMAGES = torch.zeros(2, 1, 8, 8)
TWO_IMAGES[0, :, :, :4] = 1.0  # left half bright
TWO_IMAGES[1, :, :4, :] = 1.0  # top half bright


def distance_to_nearest_image(G: nn.Module) -> float:
    """Mean over 256 samples of the RMS pixel distance to the closest training image (0.5 for a gray G)."""
    with torch.no_grad():
        fake = G(torch.randn(256, Z)).flatten(1)
    return float((torch.cdist(fake, TWO_IMAGES.flatten(1)).min(dim=1).values / 8.0).mean())


@pytest.mark.parametrize("arch,norm,steps", [("stylegan2", "none", 100), ("sagan", "spectral", 100)])
def test_a_short_run_learns_a_two_image_dataset(arch: str, norm: str, steps: int) -> None:
    """100 non-saturating steps bring every sample close to one of two 8×8 images, from ~0.5 at init."""
    torch.manual_seed(0)
    G, D = build_nets(arch, DatasetInfo("two", "image", (1, 8, 8), (0.0, 1.0)), small(norm))
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-3, betas=(0.0, 0.99))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.0, 0.99))
    before = distance_to_nearest_image(G)
    for _ in range(steps):
        real, z = TWO_IMAGES[torch.randint(2, (16,))], torch.randn(16, Z)
        d_loss = F.softplus(-D(real)).mean() + F.softplus(D(G(z).detach())).mean()
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = F.softplus(-D(G(z))).mean()
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
    after = distance_to_nearest_image(G)
    assert before > 0.35 and after < 0.2 and after < 0.4 * before, (before, after)
