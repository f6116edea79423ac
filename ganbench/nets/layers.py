"""Pieces every architecture shares, written once so a change reaches all of them.

Normalisation choice (``cfg.d_norm`` / ``cfg.g_norm``), weight init, spectral norm, the output
squashing into the data's range, and the resolution plan: how many stride-2 stages a network uses for
a given image side, and transposed convs that hit each planned size exactly, so no network crops or
pads its output.
"""
from __future__ import annotations

import math

from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from ganbench.data.base import DatasetInfo
from ganbench.errors import GanbenchError
from ganbench.nets.base import D_NORMS, NetConfig

G_NORMS = ("batch", "none")
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

def d_norm(kind: str, features: int, spatial: bool = True) -> nn.Module:
    """D's normalisation layer: batch, layer (GroupNorm(1, C) on maps, LayerNorm on vectors) or none.

    "spectral" adds no layer here: it reparametrises the weights (see :func:`add_spectral_norm`).
    """
    if kind == "batch":
        return nn.BatchNorm2d(features) if spatial else nn.BatchNorm1d(features)
    if kind == "layer":
        return nn.GroupNorm(1, features) if spatial else nn.LayerNorm(features)
    return nn.Identity()


def g_norm(kind: str, features: int, spatial: bool = True) -> nn.Module:
    """G's normalisation layer: batch norm or none."""
    if kind == "batch":
        return nn.BatchNorm2d(features) if spatial else nn.BatchNorm1d(features)
    return nn.Identity()


def uses_bias(norm_kind: str) -> bool:
    """Whether a layer feeding this normalisation needs a bias: batch norm subtracts it right away."""
    return norm_kind != "batch"


def add_spectral_norm(net: nn.Module) -> nn.Module:
    """Spectral-normalise every conv and linear weight of ``net`` (Miyato et al. 2018), in place."""
    for module in list(net.modules()):
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            spectral_norm(module)
    return net


def has_spectral_norm(module: nn.Module) -> bool:
    """Whether ``module``'s weight goes through a spectral-norm parametrisation."""
    plist = getattr(getattr(module, "parametrizations", None), "weight", None)
    return plist is not None and any(type(p).__name__ == "_SpectralNorm" for p in plist)


# --- initialisation ------------------------------------------------------------------------------

_WEIGHTED = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def init_normal(net: nn.Module, std: float = 0.02) -> nn.Module:
    """Weights ~ N(0, std), biases 0, norm layers at (1, 0): the init of DCGAN, PacGAN and compare_gan."""
    for module in net.modules():
        if isinstance(module, _WEIGHTED):
            nn.init.normal_(module.weight, 0.0, std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return net


class SequentialNet(nn.Module):
    """Layers in sequence, DCGAN-style normal init, spectral norm on request: every plain G and D here.

    Subclasses build their layer list first, then hand it over; the stack lives in ``self.net`` (the
    checkpoints' parameter names).
    """

    def __init__(self, layers: list[nn.Module], *, spectral: bool = False):
        super().__init__()
        self.net = nn.Sequential(*layers)
        init_normal(self)
        if spectral:
            add_spectral_norm(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


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
