"""``dinov2``, ``clip``, ``vgg16``: offline weight resolution and its messages, DINOv2's local hub path.

The real networks are 90–530 MB downloads. Here DINOv2 runs through a stand-in hub repository (a
``hubconf.py`` with a tiny backbone) laid out where torch.hub keeps it, and CLIP through a toy
TorchScript archive with the tensor names of OpenAI's, so ganbench's own loading paths and
torch-fidelity's forward run without the network. VGG16 (530 MB even at random init) is checked
for its resolution and messages only.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from ganbench.data.base import Dataset, DatasetInfo, Split
from ganbench.errors import GanbenchError, MissingResourceError
from ganbench.features import EXTRACTORS, ExtractorContext, build_extractor
from ganbench.features.weights import file_sha256

HUBCONF = textwrap.dedent('''
    import torch
    from torch import nn

    dependencies = ["torch"]


    class TinyBackbone(nn.Module):
        """Stands in for a DINOv2 ViT: one 14x14 patch embedding, mean-pooled to an 8-d vector."""

        def __init__(self):
            super().__init__()
            self.patch_embed = nn.Conv2d(3, 8, kernel_size=14, stride=14)

        def forward(self, x):
            return self.patch_embed(x).mean(dim=(2, 3))


    def dinov2_vits14(*, pretrained=True, **kwargs):
        if pretrained:
            raise RuntimeError("ganbench must build the backbone with pretrained=False")
        return TinyBackbone()
''')


def rgb_dataset() -> Dataset:
    images = torch.randint(0, 256, (3, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    info = DatasetInfo(name="rgb16", kind="image", shape=(3, 16, 16), value_range=(0.0, 1.0))
    return Dataset(info, {"train": Split(images, scale=1 / 255)})


def context(tmp_path: Path, **options) -> ExtractorContext:
    return ExtractorContext(dataset=rgb_dataset(), device=torch.device("cpu"), cache_dir=tmp_path, options=options)


def hub_dir() -> Path:
    return Path(torch.hub.get_dir())  # under the TORCH_HOME the conftest points at an empty folder


def make_fake_dinov2_repo(root: Path, hubconf: str = HUBCONF) -> Path:
    repo = root / "facebookresearch_dinov2_main"
    repo.mkdir(parents=True)
    (repo / "hubconf.py").write_text(hubconf)
    return repo


def save_tiny_backbone_weights(path: Path) -> Path:
    """A checkpoint with the stand-in backbone's tensor names, made by loading its hubconf locally."""
    torch.manual_seed(0)
    backbone = torch.hub.load(str(hub_dir() / "facebookresearch_dinov2_main"), "dinov2_vits14", source="local",
                              pretrained=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(backbone.state_dict(), path)
    return path


def test_dinov2_from_the_hub_cache_runs_torch_fidelitys_forward(tmp_path: Path) -> None:
    make_fake_dinov2_repo(hub_dir())
    weights = save_tiny_backbone_weights(hub_dir() / "checkpoints" / "dinov2_vits14_pretrain.pth")
    extractor = build_extractor("dinov2", context(tmp_path, batch_size=2))
    features = extractor(rgb_dataset().split("train").all())
    assert features.pool.shape == (3, 8) and features.pool.dtype == np.float64 and features.logits is None
    assert extractor.identity == f"dinov2-vit-s-14@{file_sha256(weights)[:12]}"
    from torch_fidelity.feature_extractor_dinov2 import FeatureExtractorDinoV2

    assert isinstance(extractor.module, FeatureExtractorDinoV2)  # torch-fidelity's preprocessing and forward


def test_dinov2_repo_and_weights_from_options(tmp_path: Path) -> None:
    repo = make_fake_dinov2_repo(tmp_path / "elsewhere")
    make_fake_dinov2_repo(hub_dir())  # only to make the checkpoint below; the option wins
    weights = save_tiny_backbone_weights(tmp_path / "my_dinov2.pth")
    extractor = build_extractor("dinov2", context(tmp_path, repo=str(repo), weights=str(weights)))
    assert extractor(rgb_dataset().split("train").get(slice(0, 1))).pool.shape == (1, 8)


def test_dinov2_missing_repo_then_missing_weights(tmp_path: Path) -> None:
    with pytest.raises(MissingResourceError) as caught:
        build_extractor("dinov2", context(tmp_path))
    message = str(caught.value)
    for needle in ("facebookresearch_dinov2_main", str(hub_dir()), "https://github.com/facebookresearch/dinov2",
                   "GANBENCH_DINOV2_REPO", "git clone"):
        assert needle in message
    make_fake_dinov2_repo(hub_dir())
    with pytest.raises(MissingResourceError) as caught:
        build_extractor("dinov2", context(tmp_path))
    message = str(caught.value)
    for needle in ("dinov2_vits14_pretrain.pth", str(hub_dir() / "checkpoints"),
                   "https://dl.fbaipublicfiles.com/dinov2/dinov2_vits14/dinov2_vits14_pretrain.pth",
                   "GANBENCH_DINOV2_WEIGHTS"):
        assert needle in message


def test_dinov2_code_needing_a_missing_package_names_it(tmp_path: Path) -> None:
    make_fake_dinov2_repo(hub_dir(), "import ganbench_surely_not_installed\n" + HUBCONF)
    (hub_dir() / "checkpoints").mkdir(parents=True, exist_ok=True)
    torch.save({}, hub_dir() / "checkpoints" / "dinov2_vits14_pretrain.pth")
    with pytest.raises(GanbenchError, match="ganbench_surely_not_installed"):
        build_extractor("dinov2", context(tmp_path))


class TinyClipArchive(torch.nn.Module):
    """The tensors torch-fidelity's CLIP loader reads from OpenAI's TorchScript file, at toy size."""

    def __init__(self):
        super().__init__()
        from torch_fidelity.feature_extractor_clip import CLIPVisual

        self.visual = CLIPVisual(embed_dim=16, image_resolution=28, vision_layers=1, vision_width=64,
                                 vision_patch_size=14).visual
        self.text_projection = torch.nn.Parameter(torch.zeros(8, 16))  # read for the embedding width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.visual(x)


def test_clip_from_a_local_torchscript_archive(tmp_path: Path) -> None:
    torch.manual_seed(0)
    archive = tmp_path / "tiny-clip.pt"
    with pytest.warns(FutureWarning):  # torch.jit.script is deprecated; OpenAI's files are such archives
        torch.jit.script(TinyClipArchive()).save(str(archive))
    extractor = build_extractor("clip", context(tmp_path, weights=str(archive)))
    features = extractor(rgb_dataset().split("train").all())
    assert features.pool.shape == (3, 16) and features.logits is None and np.isfinite(features.pool).all()
    assert extractor.identity == f"clip-vit-b-32@{file_sha256(archive)[:12]}"


def test_clip_and_vgg16_missing_weights_messages(tmp_path: Path) -> None:
    from torch_fidelity.feature_extractor_clip import MODEL_METADATA

    clip_file = f"clip-vit-b-32-{MODEL_METADATA['clip-vit-b-32']['hash']}.pt"
    expected = {"clip": (clip_file, "GANBENCH_CLIP_WEIGHTS", "https://openaipublic.azureedge.net/clip/models/"),
                "vgg16": ("vgg16-397923af.pth", "GANBENCH_VGG16_WEIGHTS",
                          "https://download.pytorch.org/models/vgg16-397923af.pth")}
    for name, needles in expected.items():
        with pytest.raises(MissingResourceError) as caught:
            build_extractor(name, context(tmp_path))
        message = str(caught.value)
        assert str(hub_dir() / "checkpoints" / needles[0]) in message
        for needle in needles:
            assert needle in message


def test_unknown_variant_lists_the_choices(tmp_path: Path) -> None:
    with pytest.raises(GanbenchError, match="clip-vit-b-16"):
        build_extractor("clip", context(tmp_path, variant="clip-vit-z-99"))
    with pytest.raises(GanbenchError, match="dinov2-vit-b-14"):
        build_extractor("dinov2", context(tmp_path, variant="dinov3"))


def test_registered_without_logits() -> None:
    for name, pool in (("dinov2", "dinov2"), ("clip", "clip"), ("vgg16", "fc2_relu")):
        meta = EXTRACTORS.meta(name)
        assert meta["has_logits"] is False and meta["layers"] == {"pool": pool, "logits": None}
