"""A small StyleGAN2 (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN"), sized by
resolution for 8–64 px images.

G: mapping net (z divided by its RMS, "pixel norm", then 4 FC layers of ``w_dim`` units, leaky ReLU 0.2) →
w; synthesis from a learned constant at the first planned size (:func:`plan_shape`: 4×4 for 8–64 px, and
28 px runs 4 → 7 → 14 → 28), each resolution two modulated 3×3 convs (style = affine(w), bias initialised
to 1; weight scaled per input channel by the style and demodulated to unit norm per output channel), each
followed by a per-pixel noise input (a learned per-channel strength, 0 at init), a bias and leaky ReLU 0.2
× √2. Maps and images are up-sampled bilinearly to the next planned size. "Skip" output: a modulated 1×1
toRGB (no demodulation) at every resolution, summed onto the up-sampled image so far, then
:func:`output_layer` (the data's range, a sigmoid on [0, 1] images; StyleGAN2 itself outputs a linear
[-1, 1] image). Unlike the official net the first resolution has two convs too (it has one).
Not included: style mixing, truncation and path-length regularisation. StyleGAN2's lazy R1 is a training
choice: penalty ``r1`` with ``penalty_every``.

D (the "residual" D): fromRGB 1×1 → blocks [conv 3×3, lrelu, conv 3×3, lrelu, 2× average pool; skip:
pool then 1×1 conv without bias; sum × 1/√2] until the map is at most 4×4 (at least one block; odd
sides pool with the last window half-full, so 28 → 14 → 7 → 4 keeps every pixel) → minibatch standard
deviation (one extra map) → conv 3×3, lrelu → flatten → FC, lrelu → FC to ``out_dim``. StyleGAN2 pools
with a [1, 3, 3, 1] filter; a plain 2× average is its box-filter form. ``d_norm``: batch or layer
normalisation after every conv that feeds an activation (not the 1×1 skips), spectral norm on every
conv and linear weight, or none (the catalog's default, StyleGAN2's own).

Minibatch std: groups of min(4, B) samples, falling back to the largest size ≤ 4 that divides B (B = 6:
groups of 3; a prime B > 4 gives groups of 1, whose feature is the constant √1e-8). As in StyleGAN2,
sample i belongs to group i mod (B / group): the per-position std over the group, averaged over channels
and positions, is one number per group, broadcast as an extra map to its members.

Channels at width 64: 256 at the lowest resolution, halving at each higher one and at least 32
(32 px: 256, 128, 64, 32; D mirrors G by resolution); ``w_dim`` is 256. All scale with ``cfg.width``.

Equalized learning rate, StyleGAN2's defining trick: every weight is stored ~ N(0, 1) and multiplied
at run time by 1/√fan_in, so Adam's per-parameter steps move every layer at the same relative rate;
the mapping net also has a learning-rate multiplier of 0.01 (stored weights N(0, 1/0.01²) and biases
scaled up by 100, both multiplied by 0.01 at run time), so it learns 100× slower. This makes the
effective learning rate of this architecture differ from the other nets' at the same ``lr``: compare
tuned learning rates, not equal ones. Under spectral norm (``d_norm: spectral``, or BEGAN's decoder of an
SN-D) the run-time 1/√fan_in gain is dropped: spectral norm already fixes the weight's scale, and the gain
would shrink every 1-Lipschitz layer by √fan_in.

Noise inputs draw from torch's global generator, which the trainer seeds and checkpoints, so runs are
reproducible. In eval mode noise is still drawn (StyleGAN2's 'random' noise mode): samples from a fixed
latent vary slightly from call to call once the strengths have grown, and evaluating G consumes the
global generator. G ignores ``cfg.g_norm``: demodulation is StyleGAN2's replacement for normalisation.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganbench.data.base import DatasetInfo
from ganbench.nets.base import Architecture, NetConfig
from ganbench.nets.layers import (Size, add_spectral_norm, check_config, d_norm, has_spectral_norm, image_shape,
                                  output_layer, plan_shape, scaled, uses_bias)

NAME = "stylegan2"
MAX_STAGES, MIN_BASE = 4, 4  # G starts at 4×4 up to 64 px, as StyleGAN2 does; larger images start larger
LOW_RES_CHANNELS, MIN_CHANNELS = 256, 32  # at width 64: the lowest resolution's channels, halving upwards
MAPPING_LAYERS, MAPPING_LR_MUL = 4, 0.01  # StyleGAN2: 8 layers at 512 units; 2 in its CIFAR-10 config
LRELU_SLOPE, ACT_GAIN = 0.2, math.sqrt(2.0)  # the √2 gain keeps leaky-ReLU activations at unit variance
EPS = 1e-8  # demodulation, pixel norm and minibatch std
MBSTD_GROUP = 4
D_MAX_SIDE = 4  # D's blocks halve the map until it is at most 4×4


def channels(cfg: NetConfig, level: int) -> int:
    """Channels ``level`` resolutions above the lowest: 256, 128, 64, 32, 32, ... at width 64."""
    return scaled(cfg, max(MIN_CHANNELS, LOW_RES_CHANNELS >> level))


def lrelu(x: Tensor) -> Tensor:
    return F.leaky_relu(x, LRELU_SLOPE) * ACT_GAIN


def run_time_gain(module: nn.Module, fan_in: int, lr_mul: float = 1.0) -> float:
    """Equalized lr's weight multiplier, lr_mul/√fan_in; 1 under spectral norm, which sets the scale itself."""
    return 1.0 if has_spectral_norm(module) else lr_mul / math.sqrt(fan_in)


# --- equalized-lr layers (subclasses of torch's, so spectral norm and projection D find them) ----

class EqualLinear(nn.Linear):
    """A linear layer with equalized learning rate and an optional lr multiplier (see the module doc)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, bias_init: float = 0.0,
                 lr_mul: float = 1.0):
        super().__init__(in_features, out_features, bias=bias)
        self.lr_mul = lr_mul
        nn.init.normal_(self.weight, 0.0, 1.0 / lr_mul)
        if self.bias is not None:
            nn.init.constant_(self.bias, bias_init / lr_mul)

    def forward(self, x: Tensor) -> Tensor:
        bias = None if self.bias is None else self.bias * self.lr_mul
        return F.linear(x, self.weight * run_time_gain(self, self.in_features, self.lr_mul), bias)


class EqualConv2d(nn.Conv2d):
    """A stride-1 'same' conv with equalized learning rate."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, bias: bool = True):
        super().__init__(in_ch, out_ch, kernel, padding=kernel // 2, bias=bias)
        nn.init.normal_(self.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        gain = run_time_gain(self, self.in_channels * self.kernel_size[0] * self.kernel_size[1])
        return F.conv2d(x, self.weight * gain, self.bias, padding=self.padding)


class ModulatedConv2d(nn.Conv2d):
    """StyleGAN2's modulated conv: per sample b, w'_oik = g · w_oik · s_bi, demodulated by
    1/√(Σ_ik w'_oik² + 1e-8) per output channel o (g: the equalized-lr gain; no bias here).

    Computed as the equivalent per-sample form: scale the input channels by s, run one conv shared by the
    batch, scale the output channels by the demodulation factor (which needs only Σ_k w_oik² and s²).
    :meth:`modulated_weight` gives the per-sample weights themselves (a grouped conv over the batch with
    them is the same map; the tests check it).
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, demodulate: bool = True):
        super().__init__(in_ch, out_ch, kernel, padding=kernel // 2, bias=False)
        self.demodulate = demodulate
        nn.init.normal_(self.weight)

    def scaled_weight(self) -> Tensor:
        """The shared weight times the equalized-lr gain (read once per call: spectral norm iterates on read)."""
        return self.weight * run_time_gain(self, self.in_channels * self.kernel_size[0] * self.kernel_size[1])

    def modulated_weight(self, style: Tensor) -> Tensor:
        """``(B, out, in, k, k)``: the weights sample b is convolved with."""
        weight = self.scaled_weight()[None] * style[:, None, :, None, None]
        if self.demodulate:
            weight = weight * torch.rsqrt(weight.pow(2).sum(dim=(2, 3, 4), keepdim=True) + EPS)
        return weight

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        weight = self.scaled_weight()
        out = F.conv2d(x * style[:, :, None, None], weight, padding=self.padding)
        if self.demodulate:  # Σ_ik (w_oik s_bi)² = Σ_i s_bi² Σ_k w_oik²
            out = out * torch.rsqrt(style.pow(2) @ weight.pow(2).sum(dim=(2, 3)).t() + EPS)[:, :, None, None]
        return out


# --- generator -----------------------------------------------------------------------------------

class NoiseInput(nn.Module):
    """Adds per-pixel N(0, 1) noise (one map shared by the channels) times a learned per-channel strength.

    Drawn from torch's global generator in training and eval mode alike (see the module doc)."""

    def __init__(self, channels: int):
        super().__init__()
        self.strength = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> Tensor:
        noise = torch.randn(len(x), 1, *x.shape[2:], device=x.device, dtype=x.dtype)
        return x + noise * self.strength.view(1, -1, 1, 1)


class StyledConv(nn.Module):
    """Modulated 3×3 conv → noise → bias → leaky ReLU × √2; the style is this layer's affine map of w."""

    def __init__(self, in_ch: int, out_ch: int, w_dim: int):
        super().__init__()
        self.affine = EqualLinear(w_dim, in_ch, bias_init=1.0)
        self.conv = ModulatedConv2d(in_ch, out_ch, 3)
        self.noise = NoiseInput(out_ch)
        self.bias = nn.Parameter(torch.zeros(out_ch))

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        return lrelu(self.noise(self.conv(x, self.affine(w))) + self.bias.view(1, -1, 1, 1))


class ToRGB(nn.Module):
    """Modulated 1×1 conv to the image's channels, without demodulation, plus a bias (no activation)."""

    def __init__(self, in_ch: int, out_ch: int, w_dim: int):
        super().__init__()
        self.affine = EqualLinear(w_dim, in_ch, bias_init=1.0)
        self.conv = ModulatedConv2d(in_ch, out_ch, 1, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(out_ch))

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        return self.conv(x, self.affine(w)) + self.bias.view(1, -1, 1, 1)


def upsample(x: Tensor, size: Size) -> Tensor:
    return x if tuple(x.shape[2:]) == tuple(size) else F.interpolate(x, size=size, mode="bilinear",
                                                                      align_corners=False)


class SynthesisBlock(nn.Module):
    """One resolution: up-sample, two styled convs, and the toRGB added to the up-sampled image so far."""

    def __init__(self, in_ch: int, out_ch: int, size: Size, w_dim: int, image_channels: int):
        super().__init__()
        self.size = size
        self.conv0 = StyledConv(in_ch, out_ch, w_dim)
        self.conv1 = StyledConv(out_ch, out_ch, w_dim)
        self.to_rgb = ToRGB(out_ch, image_channels, w_dim)

    def forward(self, x: Tensor, image: Tensor | None, w: Tensor) -> tuple[Tensor, Tensor]:
        x = self.conv1(self.conv0(upsample(x, self.size), w), w)
        rgb = self.to_rgb(x, w)
        return x, rgb if image is None else upsample(image, self.size) + rgb


class MappingNetwork(nn.Module):
    """z → pixel norm → FC layers with leaky ReLU × √2, at lr multiplier 0.01 → w."""

    def __init__(self, z_dim: int, w_dim: int, layers: int = MAPPING_LAYERS):
        super().__init__()
        dims = [z_dim] + [w_dim] * layers
        self.layers = nn.ModuleList(EqualLinear(a, b, lr_mul=MAPPING_LR_MUL) for a, b in zip(dims, dims[1:]))

    def forward(self, z: Tensor) -> Tensor:
        x = z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + EPS)
        for layer in self.layers:
            x = lrelu(layer(x))
        return x


class StyleGAN2Generator(nn.Module):
    def __init__(self, info: DatasetInfo, cfg: NetConfig):
        super().__init__()
        check_config(cfg)
        c, h, w = image_shape(info, NAME)
        sizes = plan_shape(h, w, MAX_STAGES, MIN_BASE)
        chans = [channels(cfg, level) for level in range(len(sizes))]
        w_dim = scaled(cfg, LOW_RES_CHANNELS)
        self.mapping = MappingNetwork(cfg.z_dim, w_dim)
        self.const = nn.Parameter(torch.randn(chans[0], *sizes[0]))
        self.blocks = nn.ModuleList(SynthesisBlock(a, b, size, w_dim, c)
                                    for a, b, size in zip([chans[0], *chans[:-1]], chans, sizes))
        self.out = output_layer(info)

    def forward(self, z: Tensor) -> Tensor:
        w = self.mapping(z)
        x, image = self.const.expand(len(z), -1, -1, -1), None
        for block in self.blocks:
            x, image = block(x, image, w)
        return self.out(image)


# --- discriminator -------------------------------------------------------------------------------

def downsample(x: Tensor) -> Tensor:
    """2× average pool; an odd side's last window is half-full and averages what it covers."""
    return F.avg_pool2d(x, 2, ceil_mode=True)


def d_sizes(h: int, w: int) -> list[Size]:
    """D's map sizes, input first, halving (rounding up) until both sides are at most 4, at least once."""
    sizes = [(h, w)]
    while len(sizes) == 1 or max(sizes[-1]) > D_MAX_SIDE:
        sizes.append((math.ceil(sizes[-1][0] / 2), math.ceil(sizes[-1][1] / 2)))
    return sizes


class DBlock(nn.Module):
    """(lrelu(conv) twice, pool) + (pool, 1×1 conv without bias), summed and × 1/√2 to keep the variance."""

    def __init__(self, in_ch: int, out_ch: int, norm: str):
        super().__init__()
        self.conv0 = EqualConv2d(in_ch, in_ch, 3, bias=uses_bias(norm))
        self.norm0 = d_norm(norm, in_ch)
        self.conv1 = EqualConv2d(in_ch, out_ch, 3, bias=uses_bias(norm))
        self.norm1 = d_norm(norm, out_ch)
        self.skip = EqualConv2d(in_ch, out_ch, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        y = lrelu(self.norm1(self.conv1(lrelu(self.norm0(self.conv0(x))))))
        return (downsample(y) + self.skip(downsample(x))) / math.sqrt(2.0)


def mbstd_group(batch: int, preferred: int = MBSTD_GROUP) -> int:
    """The largest group size ≤ min(preferred, batch) that divides ``batch``."""
    group = min(preferred, batch)
    while batch % group:
        group -= 1
    return group


class MinibatchStd(nn.Module):
    """Appends one map: the std over the sample's group, averaged over channels and positions (see module doc)."""

    def __init__(self, group: int = MBSTD_GROUP):
        super().__init__()
        self.group = group

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        g = mbstd_group(b, self.group)
        y = x.reshape(g, b // g, c, h, w)  # sample i is member i // (b/g) of group i mod (b/g)
        std = (y.var(dim=0, correction=0) + EPS).sqrt()
        feature = std.mean(dim=(1, 2, 3)).repeat(g)  # per sample, its group's value
        return torch.cat([x, feature.view(b, 1, 1, 1).expand(b, 1, h, w)], dim=1)


class StyleGAN2Discriminator(nn.Module):
    def __init__(self, info: DatasetInfo, cfg: NetConfig, out_dim: int = 1):
        super().__init__()
        check_config(cfg)
        c, h, w = image_shape(info, NAME)
        sizes = d_sizes(h, w)
        levels = len(sizes) - 1  # the input is this many resolutions above D's last map
        chans = [channels(cfg, levels - k) for k in range(len(sizes))]
        norm, bias = cfg.d_norm, uses_bias(cfg.d_norm)
        self.from_rgb = EqualConv2d(c, chans[0], 1, bias=bias)
        self.from_rgb_norm = d_norm(norm, chans[0])
        self.blocks = nn.Sequential(*(DBlock(a, b, norm) for a, b in zip(chans, chans[1:])))
        self.mbstd = MinibatchStd()
        self.conv = EqualConv2d(chans[-1] + 1, chans[-1], 3, bias=bias)
        self.conv_norm = d_norm(norm, chans[-1])
        self.fc = EqualLinear(chans[-1] * sizes[-1][0] * sizes[-1][1], chans[-1])
        self.out = EqualLinear(chans[-1], out_dim)  # registered last: projection D hooks D's last linear
        if norm == "spectral":
            add_spectral_norm(self)

    def forward(self, x: Tensor) -> Tensor:
        x = self.blocks(lrelu(self.from_rgb_norm(self.from_rgb(x))))
        x = lrelu(self.conv_norm(self.conv(self.mbstd(x))))
        return self.out(lrelu(self.fc(x.flatten(1))))


STYLEGAN2 = Architecture.declared(NAME, generator=StyleGAN2Generator, discriminator=StyleGAN2Discriminator)
