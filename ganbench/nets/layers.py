"""Pieces every architecture shares, written once so a change reaches all of them.

Normalisation choice (``cfg.d_norm`` / ``cfg.g_norm``), weight init, spectral norm, the output
squashing into the data's range, and the resolution plan: how many stride-2 stages a network uses for
a given image side, and transposed convs that hit each planned size exactly, so no network crops or
pads its output.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from ganbench.data.base import DatasetInfo
from ganbench.errors import GanbenchError
from ganbench.nets.base import D_NORMS, Architecture, NetConfig

G_NORMS = ("batch", "layer", "none")
MIN_SIDE = 8  # smallest image side the conv architectures accept (every one is tested there)
REFERENCE_WIDTH = 64  # cfg.width at which every network has its published layer sizes

Size = tuple[int, int]


def check_config(cfg: NetConfig) -> None:
    """Reject a config no network can honour, naming the field and the allowed values."""
    if cfg.d_norm not in D_NORMS:
        raise GanbenchError(f"d_norm '{cfg.d_norm}' is not one of: {', '.join(D_NORMS)}")
    if cfg.g_norm not in G_NORMS:
        raise GanbenchError(f"g_norm '{cfg.g_norm}' is not one of: {', '.join(G_NORMS)}")
    if cfg.width < 1 or cfg.z_dim < 1:
        raise GanbenchError(f"width and z_dim must be positive (got width={cfg.width}, z_dim={cfg.z_dim})")


def scaled(cfg: NetConfig, units: int) -> int:
    """A published layer size (``units`` at width 64) scaled by ``cfg.width / 64``, at least 1."""
    return max(1, round(units * cfg.width / REFERENCE_WIDTH))


def image_shape(info: DatasetInfo, arch: str) -> tuple[int, int, int]:
    """``(C, H, W)`` of an image dataset, or a clear error for data a conv network cannot take."""
    if info.kind != "image" or len(info.shape) != 3:
        raise GanbenchError(f"architecture '{arch}' needs image data of shape (C, H, W); "
                            f"dataset '{info.name}' is {info.kind} data of shape {tuple(info.shape)}")
    c, h, w = info.shape
    if min(h, w) < MIN_SIDE:
        raise GanbenchError(f"architecture '{arch}' needs images of at least {MIN_SIDE}×{MIN_SIDE}; "
                            f"dataset '{info.name}' has {h}×{w}")
    return c, h, w


# --- normalisation -------------------------------------------------------------------------------

class StudyBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch norm as the study ran it (compare_gan v1.0 ``ops.batch_norm``), for maps or vectors.

    ``tf.contrib.layers.batch_norm(decay=0.999, epsilon=0.001, scale=True)``: PyTorch momentum 0.001
    and eps 1e-3 (PyTorch's defaults are 0.1 and 1e-5), and the moving variance is averaged from the
    *biased* batch variance (``tf.nn.moments``), where PyTorch's own layer uses the unbiased one (at
    batch 64 a vector layer's running variance would otherwise come out 64/63 too large). Samples for
    FID come from G in inference mode, so these running statistics shape the scored images.
    """

    DECAY, EPS = 0.999, 1e-3

    def __init__(self, features: int):
        super().__init__(features, eps=self.EPS, momentum=1 - self.DECAY)

    def _check_input_dim(self, x: Tensor) -> None:
        if x.dim() not in (2, 4):
            raise ValueError(f"expected a (B, C) or (B, C, H, W) input, got {x.dim()} dimensions")

    def forward(self, x: Tensor) -> Tensor:
        self._check_input_dim(x)
        if not self.training:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        with torch.no_grad():
            dims = [0, *range(2, x.dim())]
            var, mean = torch.var_mean(x, dim=dims, correction=0)
            self.running_mean.lerp_(mean, self.momentum)
            self.running_var.lerp_(var, self.momentum)
            self.num_batches_tracked.add_(1)
        return F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)


BatchNormFactory = Callable[[int, bool], nn.Module]


def torch_batch_norm(features: int, spatial: bool) -> nn.Module:
    """PyTorch's batch norm at its defaults (momentum 0.1, eps 1e-5): DCGAN, SNDCGAN, ResNet and MLP nets."""
    return nn.BatchNorm2d(features) if spatial else nn.BatchNorm1d(features)


def study_batch_norm(features: int, spatial: bool) -> nn.Module:
    """:class:`StudyBatchNorm`: the constants of the study's own networks (InfoGAN-style, BEGAN, VAE)."""
    return StudyBatchNorm(features)


def d_norm(kind: str, features: int, spatial: bool = True, batch: BatchNormFactory = torch_batch_norm) -> nn.Module:
    """D's normalisation layer: batch, layer (GroupNorm(1, C) on maps, LayerNorm on vectors) or none.

    "spectral" adds no layer here: it reparametrises the weights (see :func:`add_spectral_norm`).
    ``batch`` builds the batch-norm layer, so a network states its constants once.
    """
    if kind == "batch":
        return batch(features, spatial)
    if kind == "layer":
        return nn.GroupNorm(1, features) if spatial else nn.LayerNorm(features)
    return nn.Identity()


def g_norm(kind: str, features: int, spatial: bool = True, batch: BatchNormFactory = torch_batch_norm) -> nn.Module:
    """G's normalisation layer: batch, layer or none (layer serves decoders that follow a D's ``d_norm``)."""
    return d_norm(kind if kind in G_NORMS else "none", features, spatial, batch)


def uses_bias(norm_kind: str) -> bool:
    """Whether a layer feeding this normalisation needs a bias: batch norm subtracts it right away."""
    return norm_kind != "batch"


def add_spectral_norm(net: nn.Module) -> nn.Module:
    """Spectral-normalise every conv, transposed-conv and linear weight of ``net`` (Miyato et al. 2018),
    in place (a transposed conv's output dimension is its weight's dim 1, which torch handles)."""
    for module in list(net.modules()):
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            spectral_norm(module)
    return net


def has_spectral_norm(module: nn.Module) -> bool:
    """Whether ``module``'s weight goes through a spectral-norm parametrisation."""
    plist = getattr(getattr(module, "parametrizations", None), "weight", None)
    return plist is not None and any(type(p).__name__ == "_SpectralNorm" for p in plist)


# --- initialisation ------------------------------------------------------------------------------

_WEIGHTED = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def init_normal(net: nn.Module, std: float = 0.02, truncated_convs: bool = False) -> nn.Module:
    """Weights ~ N(0, std), biases 0, norm layers at (1, 0): the init of DCGAN, PacGAN and compare_gan.

    ``truncated_convs``: conv (not transposed-conv) weights from N(0, std) truncated at ±2 std, as
    compare_gan v1.0's ``ops.conv2d`` (``tf.truncated_normal_initializer``); its ``linear`` and
    ``deconv2d`` draw plain normals.
    """
    for module in net.modules():
        if isinstance(module, _WEIGHTED):
            if truncated_convs and type(module) is nn.Conv2d:
                nn.init.trunc_normal_(module.weight, 0.0, std, -2 * std, 2 * std)
            else:
                nn.init.normal_(module.weight, 0.0, std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return net


class SequentialNet(nn.Module):
    """Layers in sequence, DCGAN-style normal init, spectral norm on request: every plain G and D here.

    Subclasses build their layer list first, then hand it over; the stack lives in ``self.net`` (the
    checkpoints' parameter names). ``truncated_convs`` is the study's conv init (see :func:`init_normal`).
    """

    def __init__(self, layers: list[nn.Module], *, spectral: bool = False, truncated_convs: bool = False):
        super().__init__()
        self.net = nn.Sequential(*layers)
        init_normal(self, truncated_convs=truncated_convs)
        if spectral:
            add_spectral_norm(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


# --- BEGAN's generic autoencoder ---------------------------------------------------------------

class AutoencoderD(nn.Module):
    """Encoder (a D trunk with ``code_dim`` outputs) followed by a decoder (a generator).

    BEGAN's discriminator for architectures that define none of their own; the loss sees the
    per-sample L1 reconstruction error. The whole autoencoder is D, so the decoder's normalisation
    follows ``d_norm`` too: batch or layer norm where the generator has its norms, spectral norm on
    every decoder weight, or none.
    """

    def __init__(self, arch: Architecture, info: DatasetInfo, cfg: NetConfig, code_dim: int = 64):
        super().__init__()
        self.encoder = arch.discriminator(info, cfg, code_dim)
        decoder_norm = cfg.d_norm if cfg.d_norm in ("batch", "layer") else "none"
        self.decoder = arch.generator(info, NetConfig(z_dim=code_dim, width=cfg.width, d_norm=cfg.d_norm,
                                                      g_norm=decoder_norm))
        if cfg.d_norm == "spectral":
            add_spectral_norm(self.decoder)

    def forward(self, x):
        return self.decoder(self.encoder(x))


# --- output range --------------------------------------------------------------------------------

class ToRange(nn.Module):
    """A sigmoid stretched onto ``[low, high]``, for image data whose range is not (0, 1)."""

    def __init__(self, low: float, high: float):
        super().__init__()
        self.low, self.span = float(low), float(high - low)

    def forward(self, x: Tensor) -> Tensor:
        return self.low + self.span * x.sigmoid()

    def extra_repr(self) -> str:
        return f"low={self.low}, high={self.low + self.span}"


def output_layer(info: DatasetInfo) -> nn.Module:
    """What squashes G's last layer: a sigmoid for images (always (0, 1) in ganbench), nothing for vectors.

    Vector data (2D mixtures) is unbounded in the literature's generators, so its output is linear.
    """
    if info.kind != "image":
        return nn.Identity()
    low, high = info.value_range
    return nn.Sigmoid() if (low, high) == (0.0, 1.0) else ToRange(low, high)


# --- resolution plan -----------------------------------------------------------------------------

def plan_sizes(side: int, max_stages: int, min_base: int) -> list[int]:
    """Sides of a generator's feature maps, first map to output, halving at most ``max_stages`` times.

    Each halving rounds up (TensorFlow's 'SAME' rule, which compare_gan's networks used), and stops
    before a map would fall under ``min_base``: 64 → [4, 8, 16, 32, 64], 28 → [2, 4, 7, 14, 28].
    """
    sizes = [side]
    while len(sizes) <= max_stages and math.ceil(sizes[-1] / 2) >= min_base:
        sizes.append(math.ceil(sizes[-1] / 2))
    return sizes[::-1]


def plan_shape(h: int, w: int, max_stages: int, min_base: int) -> list[Size]:
    """:func:`plan_sizes` for both sides, with one stage count (the smaller side's)."""
    hs, ws = plan_sizes(h, max_stages, min_base), plan_sizes(w, max_stages, min_base)
    stages = min(len(hs), len(ws))
    return list(zip(hs[-stages:], ws[-stages:]))


def up_conv(in_ch: int, out_ch: int, kernel: int, in_size: Size, out_size: Size,
            bias: bool = True) -> nn.ConvTranspose2d:
    """A stride-2 transposed conv mapping ``in_size`` to ``out_size`` exactly (each side 2n or 2n − 1).

    Output side = 2(n − 1) − 2p + k + op, so padding p and output_padding op ∈ {0, 1} are solved per side;
    for even sizes this is the usual (k=4, p=1) or (k=5, p=2, op=1).
    """
    pads, extras = [], []
    for n, out in zip(in_size, out_size):
        if out not in (2 * n, 2 * n - 1):
            raise ValueError(f"a stride-2 stage cannot map side {n} to {out}")
        need = kernel - 2 - (out - 2 * n)  # = 2p − op
        pad = math.ceil(need / 2)
        pads.append(pad)
        extras.append(2 * pad - need)
    return nn.ConvTranspose2d(in_ch, out_ch, kernel, stride=2, padding=tuple(pads),
                              output_padding=tuple(extras), bias=bias)


def conv_out(size: Size, kernel: int, stride: int, padding: int) -> Size:
    """Spatial size after a conv, to size the linear layer that follows a D's conv trunk."""
    return tuple((n + 2 * padding - kernel) // stride + 1 for n in size)  # type: ignore[return-value]
