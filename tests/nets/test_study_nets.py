"""The study's own networks against compare_gan v1.0 (``abstract_gan.py``, ``BEGAN.py``, ``VAE.py``, ``ops.py``).

Parameter counts are computed here from the v1.0 layer list by hand; layer types and constants are
read off the modules. Each test names the departure it would catch.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn

from ganbench.data.base import DatasetInfo
from ganbench.nets import ARCHS, AutoencoderD, NetConfig
from ganbench.nets.infogan import BeganAutoencoder, InfoGANDiscriminator, InfoGANGenerator, vae_decoder
from ganbench.nets.layers import StudyBatchNorm, has_spectral_norm

MNIST = DatasetInfo(name="mnist", kind="image", shape=(1, 28, 28), value_range=(0.0, 1.0))
CIFAR = DatasetInfo(name="cifar10", kind="image", shape=(3, 32, 32), value_range=(0.0, 1.0))


def count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def linear(n_in: int, n_out: int, bias: bool = True) -> int:
    return n_in * n_out + (n_out if bias else 0)


def conv(c_in: int, c_out: int, k: int = 4, bias: bool = True) -> int:
    return c_in * c_out * k * k + (c_out if bias else 0)


def test_began_discriminator_is_the_studys_small_autoencoder():
    """v1.0 BEGAN.discriminator on 28×28×1 without BN: 1,073,601 parameters (the whole InfoGAN D + G,
    ganbench's revision 1, had 13.3M)."""
    net = BeganAutoencoder(MNIST, NetConfig(d_norm="none"), code_dim=64)
    expected = (conv(1, 64) + conv(64, 128) + linear(128 * 7 * 7, 64)
                + linear(64, 128 * 7 * 7) + conv(128, 64) + conv(64, 1))
    assert expected == 1_073_601
    assert count(net) == expected
    kinds = [type(m).__name__ for m in net.net]
    assert kinds == ["Conv2d", "LeakyReLU", "Conv2d", "Flatten", "Linear", "Identity", "LeakyReLU",
                     "Linear", "Identity", "LeakyReLU", "Unflatten", "ConvTranspose2d", "Identity", "LeakyReLU",
                     "ConvTranspose2d", "Sigmoid"]
    x = torch.rand(5, 1, 28, 28)
    assert net(x).shape == x.shape


def test_standard_infogan_nets_have_the_studys_sizes():
    """v1.0 abstract_gan D and G on 28×28×1 (no bias before a batch norm, which cancels it)."""
    d = InfoGANDiscriminator(MNIST, NetConfig(d_norm="none"))
    assert count(d) == conv(1, 64) + conv(64, 128) + linear(6272, 1024) + linear(1024, 1) == 6_556_865
    g = InfoGANGenerator(MNIST, NetConfig())
    bn = lambda n: 2 * n  # noqa: E731  (scale and shift)
    assert count(g) == (linear(64, 1024, False) + bn(1024) + linear(1024, 6272, False) + bn(6272)
                        + conv(128, 64, bias=False) + bn(64) + conv(64, 1))


def test_generator_uses_leaky_relu_and_the_vae_decoder_relu():
    """v1.0 generator: lrelu(0.2) after every BN (the InfoGAN paper's ReLU is not what the study ran);
    VAE.decoder: relu."""
    g = InfoGANGenerator(MNIST, NetConfig())
    leaks = [m for m in g.modules() if isinstance(m, nn.LeakyReLU)]
    assert len(leaks) == 3 and all(m.negative_slope == 0.2 for m in leaks)
    assert not any(type(m) is nn.ReLU for m in g.modules())
    decoder = vae_decoder(MNIST, NetConfig())
    assert sum(type(m) is nn.ReLU for m in decoder.modules()) == 3
    assert not any(isinstance(m, nn.LeakyReLU) for m in decoder.modules())
    assert ARCHS.get("infogan").decoder is vae_decoder


@pytest.mark.parametrize("build", [
    lambda: InfoGANGenerator(CIFAR, NetConfig()),
    lambda: InfoGANDiscriminator(CIFAR, NetConfig(d_norm="batch")),
    lambda: BeganAutoencoder(CIFAR, NetConfig(d_norm="batch")),
    lambda: vae_decoder(CIFAR, NetConfig()),
])
def test_every_batch_norm_has_the_studys_constants(build):
    """ops.batch_norm: decay 0.999 (momentum 0.001), epsilon 1e-3 — not PyTorch's 0.1 and 1e-5."""
    norms = [m for m in build().modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert norms and all(type(m) is StudyBatchNorm for m in norms)
    assert all(m.momentum == pytest.approx(0.001) and m.eps == 1e-3 for m in norms)


def test_study_batch_norm_tracks_the_biased_variance_and_normalises_like_tf():
    """tf.nn.moments' population variance enters the moving average; outputs equal the formula."""
    torch.manual_seed(0)
    bn = StudyBatchNorm(3)
    x = torch.randn(8, 3) * torch.tensor([1.0, 2.0, 3.0]) + 5
    y = bn(x)
    mean, var = x.mean(0), x.var(0, unbiased=False)
    assert torch.allclose(y, (x - mean) / torch.sqrt(var + 1e-3), atol=1e-5)
    assert torch.allclose(bn.running_mean, 0.001 * mean)
    assert torch.allclose(bn.running_var, 0.999 + 0.001 * var)  # with the unbiased variance: 8/7 of it
    bn.eval()
    assert torch.allclose(bn(x), (x - bn.running_mean) / torch.sqrt(bn.running_var + 1e-3), atol=1e-5)
    maps = torch.randn(4, 3, 5, 5)
    StudyBatchNorm(3)(maps)  # maps work too


def test_conv_weights_start_from_a_truncated_normal():
    """ops.conv2d: truncated_normal(0.02) (|w| ≤ 0.04); linear and deconv2d: plain normals."""
    torch.manual_seed(0)
    d = InfoGANDiscriminator(MNIST, NetConfig())
    g = InfoGANGenerator(MNIST, NetConfig())
    convs = [m.weight for m in d.modules() if type(m) is nn.Conv2d]
    assert convs and all(float(w.detach().abs().max()) <= 0.04 for w in convs)
    assert float(torch.cat([w.detach().flatten() for w in convs]).std()) == pytest.approx(0.02 * 0.88, rel=0.05)
    deconvs = [m.weight for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert float(max(w.detach().abs().max() for w in deconvs)) > 0.06  # not truncated


NORM_OF = {"batch": (StudyBatchNorm,), "layer": (nn.LayerNorm, nn.GroupNorm)}


@pytest.mark.parametrize("norm", ["batch", "layer", "spectral", "none"])
def test_began_autoencoders_follow_d_norm_everywhere(norm):
    """Both the study's autoencoder and the generic one (other architectures) normalise their
    decoder as ``d_norm`` says; revision 1 silently used batch norm for spectral and layer."""
    study = BeganAutoencoder(MNIST, NetConfig(d_norm=norm))
    info = DatasetInfo(name="x", kind="image", shape=(1, 16, 16), value_range=(0.0, 1.0))
    generic = AutoencoderD(ARCHS.get("dcgan"), info, NetConfig(d_norm=norm, width=8), code_dim=16)
    for net, decoder in ((study, study.net[7:]), (generic, generic.decoder)):
        weighted = [m for m in decoder.modules() if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))]
        assert weighted and all(has_spectral_norm(m) == (norm == "spectral") for m in weighted)
        for kind, layers in NORM_OF.items():
            if net is generic and kind == "batch":
                layers = (nn.modules.batchnorm._BatchNorm,)
            assert any(isinstance(m, layers) for m in decoder.modules()) == (norm == kind), kind
