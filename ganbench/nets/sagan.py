"""SAGAN (Zhang et al. 2019): SNGAN's ResNet (:mod:`ganbench.nets.resnet`) with one self-attention block in G
and one in D.

Attention: q = W_q x, k = W_k x (1×1 convs C → C/8), v = W_v x (C → C/2); position j attends to every
position i with weights softmax_i(q_jᵀ k_i), o_j = Σ_i a_ji v_i, and the block returns x + γ · W_o o (W_o: 1×1,
C/2 → C) with a learnable scalar γ that starts at 0, so at init the net is exactly the ResNet it extends
and attention is learned in gradually (the paper's point; while γ = 0 the projections get no gradient).
Each projection keeps at least one channel at small widths. The convs have no bias, as in the authors'
BigGAN-style attention; the query/key naming is the usual one (the paper's f and g are the same two
symmetric 1×1 convs).

Placement: in G after the up-block that reaches the second-to-last planned size, so attention runs at half
the output side (16×16 for 32×32, 14×14 for 28×28; G at 8 px has one up-block and attends at 4×4, after the
stem); in D after the first (input) down block, at half the input side. Both are where the paper found
attention helps most (mid-to-high-level feature maps).

Spectral norm: D's ``d_norm: spectral`` reaches the attention convs as it reaches every other D weight.
SAGAN also spectral-normalises G; ganbench keeps G as ResNet's G (batch norm, no spectral norm), so the
two architectures differ only by the attention blocks and a comparison isolates them. SAGAN's TTUR
learning rates and hinge loss are a suite's choice, not the architecture's.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ganbench.data.base import DatasetInfo
from ganbench.nets.base import Architecture, NetConfig
from ganbench.nets.layers import add_spectral_norm, init_normal
from ganbench.nets.resnet import ResNetDiscriminator, ResNetGenerator

NAME = "sagan"
QK_DIVISOR, V_DIVISOR = 8, 2  # query/key and value channels: C/8 and C/2 (SAGAN, BigGAN)


class SelfAttention(nn.Module):
    """``x + γ · W_o softmax(QᵀK) V`` over the H·W positions of a map; the identity while γ = 0."""

    def __init__(self, channels: int):
        super().__init__()
        qk, v = max(1, channels // QK_DIVISOR), max(1, channels // V_DIVISOR)
        self.query = nn.Conv2d(channels, qk, 1, bias=False)
        self.key = nn.Conv2d(channels, qk, 1, bias=False)
        self.value = nn.Conv2d(channels, v, 1, bias=False)
        self.out = nn.Conv2d(v, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))

    def attention(self, x: Tensor) -> Tensor:
        """``(B, N, N)`` weights, row j = where position j looks (rows sum to 1), N = H·W."""
        q, k = self.query(x).flatten(2), self.key(x).flatten(2)  # (B, C/8, N)
        return torch.softmax(q.transpose(1, 2) @ k, dim=-1)

    def forward(self, x: Tensor) -> Tensor:
        v = self.value(x).flatten(2)  # (B, C/2, N)
        attended = (v @ self.attention(x).transpose(1, 2)).view(len(x), -1, *x.shape[2:])
        return x + self.gamma * self.out(attended)


def _with_attention(blocks: nn.Sequential, index: int, channels: int) -> tuple[nn.Sequential, SelfAttention]:
    """``blocks`` with a fresh attention block inserted before position ``index`` (N(0, 0.02) init, as ResNet)."""
    attention = init_normal(SelfAttention(channels))
    layers = list(blocks)
    return nn.Sequential(*layers[:index], attention, *layers[index:]), attention


class SAGANGenerator(ResNetGenerator):
    def __init__(self, info: DatasetInfo, cfg: NetConfig):
        super().__init__(info, cfg)
        # blocks[i] reaches planned size i + 1, so inserting before index len(blocks) − 1 puts attention
        # after the block that reaches the second-to-last size (after the stem when there is one block)
        channels = self.head[-2].in_channels
        self.blocks, _ = _with_attention(self.blocks, len(self.blocks) - 1, channels)


class SAGANDiscriminator(ResNetDiscriminator):
    def __init__(self, info: DatasetInfo, cfg: NetConfig, out_dim: int = 1):
        super().__init__(info, cfg, out_dim)  # spectral-normalises the ResNet's weights when asked
        self.blocks, attention = _with_attention(self.blocks, 1, self.out.in_features)
        if cfg.d_norm == "spectral":
            add_spectral_norm(attention)  # only the new convs: the ResNet's are parametrised already


SAGAN = Architecture.declared(NAME, generator=SAGANGenerator, discriminator=SAGANDiscriminator)
