"""The shared helpers: resolution plan, exact transposed convs, config checks, output range."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from ganbench.errors import GanbenchError
from ganbench.nets import NetConfig
from ganbench.nets.layers import (ToRange, check_config, conv_out, d_norm, g_norm, image_shape, output_layer,
                                  plan_shape, plan_sizes, scaled, up_conv, uses_bias)

from .netcases import RING, image_info


@pytest.mark.parametrize("side,max_stages,min_base,expected", [
    (64, 4, 2, [4, 8, 16, 32, 64]),
    (28, 4, 2, [2, 4, 7, 14, 28]),
    (28, 2, 1, [7, 14, 28]),
    (32, 3, 4, [4, 8, 16, 32]),
    (8, 3, 4, [4, 8]),
    (7, 3, 4, [4, 7]),
    (6, 3, 4, [6]),  # halving would go under min_base: no stage
])
def test_plan_sizes(side: int, max_stages: int, min_base: int, expected: list[int]) -> None:
    assert plan_sizes(side, max_stages, min_base) == expected


def test_plan_shape_uses_the_shorter_sides_stage_count() -> None:
    assert plan_shape(64, 16, 4, 2) == [(8, 2), (16, 4), (32, 8), (64, 16)]


@pytest.mark.parametrize("kernel", (4, 5))
def test_up_conv_hits_every_planned_size(kernel: int) -> None:
    for n in range(1, 20):
        for out in (2 * n - 1, 2 * n):
            if out < 1:
                continue
            layer = up_conv(1, 1, kernel, (n, n + 1), (out, 2 * (n + 1)))
            assert layer(torch.zeros(1, 1, n, n + 1)).shape[-2:] == (out, 2 * (n + 1))
    with pytest.raises(ValueError):
        up_conv(1, 1, kernel, (4, 4), (9, 8))


def test_conv_out() -> None:
    assert conv_out((28, 7), 4, 2, 1) == (14, 3)
    assert conv_out((28, 7), 5, 2, 2) == (14, 4)


@pytest.mark.parametrize("field,cfg", [
    ("d_norm", NetConfig(d_norm="bn")),
    ("g_norm", NetConfig(g_norm="spectral")),
    ("width", NetConfig(width=0)),
])
def test_check_config_names_the_bad_field(field: str, cfg: NetConfig) -> None:
    with pytest.raises(GanbenchError, match=field):
        check_config(cfg)


def test_norm_choice() -> None:
    assert isinstance(d_norm("batch", 4), nn.BatchNorm2d)
    assert isinstance(d_norm("batch", 4, spatial=False), nn.BatchNorm1d)
    layer = d_norm("layer", 4)
    assert isinstance(layer, nn.GroupNorm) and layer.num_groups == 1
    assert isinstance(d_norm("layer", 4, spatial=False), nn.LayerNorm)
    assert isinstance(d_norm("spectral", 4), nn.Identity) and isinstance(d_norm("none", 4), nn.Identity)
    assert isinstance(g_norm("none", 4), nn.Identity) and isinstance(g_norm("batch", 4), nn.BatchNorm2d)
    assert not uses_bias("batch") and uses_bias("layer") and uses_bias("none")


def test_scaled() -> None:
    assert scaled(NetConfig(width=64), 1024) == 1024
    assert scaled(NetConfig(width=8), 1024) == 128
    assert scaled(NetConfig(width=1), 10) == 1


def test_output_layer() -> None:
    assert isinstance(output_layer(RING), nn.Identity)
    assert isinstance(output_layer(image_info(1, 8)), nn.Sigmoid)
    squash = output_layer(image_info(1, 8, value_range=(-1.0, 3.0)))
    assert isinstance(squash, ToRange)
    out = squash(torch.tensor([-100.0, 0.0, 100.0]))
    assert torch.allclose(out, torch.tensor([-1.0, 1.0, 3.0]))


def test_image_shape_rejects_vectors_and_tiny_images() -> None:
    assert image_shape(image_info(3, 8), "dcgan") == (3, 8, 8)
    with pytest.raises(GanbenchError, match="needs image data"):
        image_shape(RING, "dcgan")
    with pytest.raises(GanbenchError, match="at least 8×8"):
        image_shape(image_info(1, 4), "dcgan")
