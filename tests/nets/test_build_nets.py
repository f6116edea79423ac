"""``build_nets`` and the registry entries every architecture module adds."""
from __future__ import annotations

import pytest
import torch

from ganbench.errors import GanbenchError, UnknownNameError
from ganbench.catalog import arch_names
from ganbench.nets import ARCHS, Architecture, NetConfig, build_nets

from .netcases import RING, image_info

CONV = {"infogan", "dcgan", "sndcgan", "resnet", "sagan", "stylegan2"}


def test_every_family_is_registered_with_its_facts() -> None:
    assert set(arch_names()) == CONV | {"mlp"}
    assert set(arch_names("translation")) == {"resnet_patch", "mlp_pair"}  # tests/translation/
    for entry in (e for e in ARCHS if e.name in CONV | {"mlp"}):
        arch = entry.obj
        assert isinstance(arch, Architecture) and arch.name == entry.name
        assert entry.metadata["data_kinds"] == arch.data_kinds
        assert entry.metadata["description"] == arch.description and entry.doc
        expected = (8, 16, 28, 32, 64) if entry.name in CONV else None
        assert entry.metadata["resolutions"] == expected
    assert ARCHS.get("mlp").data_kinds == ("vector", "image")


def test_wrong_data_kind_points_to_an_architecture_that_fits() -> None:
    with pytest.raises(GanbenchError) as err:
        build_nets("infogan", RING, NetConfig())
    assert str(err.value) == ("architecture 'infogan' needs image data; dataset 'ring' is vector data — "
                              "use 'mlp'")


def test_unknown_architecture_suggests_the_closest() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'infogan'"):
        build_nets("infogna", RING, NetConfig())


def test_returns_generator_and_critic() -> None:
    G, D = build_nets("dcgan", image_info(3, 16), NetConfig(z_dim=8, width=8))
    fake = G(torch.randn(3, 8))
    assert fake.shape == (3, 3, 16, 16) and D(fake).shape == (3, 1)


def test_bad_config_and_tiny_images_are_user_errors() -> None:
    with pytest.raises(GanbenchError, match="d_norm"):
        build_nets("mlp", RING, NetConfig(d_norm="instance"))
    with pytest.raises(GanbenchError, match="at least 8×8"):
        build_nets("resnet", image_info(1, 4), NetConfig())
