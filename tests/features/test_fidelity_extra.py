"""``dinov2``, ``clip``, ``vgg16``: offline weight resolution and its messages, DINOv2's local hub path.

The real networks are 90–530 MB downloads. Here DINOv2 runs through a stand-in hub repository (a
``hubconf.py`` with a tiny backbone) laid out where torch.hub keeps it, and CLIP through a toy
TorchScript archive with the tensor names of OpenAI's, so ganbench's own loading paths and
torch-fidelity's forward run without the network. Their features are checked against the stand-in
network called directly on the same preprocessed input. VGG16 (530 MB even at random init) is checked
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


# Same tensor names (so one checkpoint fits both), different output: a second repository built from this
# one gives other features, so a test can tell which repository ganbench loaded.
MAX_POOLED_HUBCONF = HUBCONF.replace("mean-pooled", "max-pooled").replace(".mean(dim=(2, 3))", ".amax(dim=(2, 3))")
assert MAX_POOLED_HUBCONF != HUBCONF

DINOV2_MEAN = (0.485, 0.456, 0.406)  # ImageNet statistics torch-fidelity's DINOv2 forward normalises with
DINOV2_STD = (0.229, 0.224, 0.225)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)  # OpenAI CLIP's, likewise
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def preprocessed(images_uint8: torch.Tensor, size: int, mean: tuple[float, ...],
                 std: tuple[float, ...]) -> torch.Tensor:
    """What torch-fidelity's DINOv2 / CLIP forward hands its network, spelled out: float32, TF1-style
    bilinear resize to ``size``, (x − 255·mean) / (255·std) per channel."""
    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

    x = interpolate_bilinear_2d_like_tensorflow1x(images_uint8.to(torch.float32), size=(size, size),
                                                  align_corners=False)
    return (x - 255 * torch.tensor(mean)[:, None, None]) / (255 * torch.tensor(std)[:, None, None])


def load_backbone(repo: Path, weights: Path) -> torch.nn.Module:
    """The stand-in backbone of ``repo`` filled from ``weights``, outside ganbench."""
    backbone = torch.hub.load(str(repo), "dinov2_vits14", source="local", pretrained=False)
    backbone.load_state_dict(torch.load(weights, weights_only=True))
    return backbone.eval()


def assert_features_equal(got: np.ndarray, want: torch.Tensor) -> None:
    want = want.double().numpy()
    assert np.abs(want[0] - want[-1]).max() > 1e-3 * np.abs(want).max() > 0  # rows differ, not all zero
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6 * np.abs(want).max())


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


def save_tiny_backbone_weights(path: Path, repo: Path | None = None) -> Path:
    """A checkpoint with the stand-in backbone's tensor names, made by loading its hubconf locally
    (from ``repo``, by default the one in the hub cache)."""
    torch.manual_seed(0)
    backbone = torch.hub.load(str(repo or hub_dir() / "facebookresearch_dinov2_main"), "dinov2_vits14",
                              source="local", pretrained=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(backbone.state_dict(), path)
    return path


def test_dinov2_from_the_hub_cache_runs_torch_fidelitys_forward(tmp_path: Path) -> None:
    """Values: the stand-in backbone, built and filled from the checkpoint outside ganbench, called on
    the stored uint8 images preprocessed as torch-fidelity's DINOv2 forward does.

    Breakages tried, each fails here: the checkpoint not loaded into the backbone (the hub code's own
    random initialisation kept); the last, partial batch replaced by rows of the batch before (shapes
    intact)."""
    repo = make_fake_dinov2_repo(hub_dir())
    weights = save_tiny_backbone_weights(hub_dir() / "checkpoints" / "dinov2_vits14_pretrain.pth")
    torch.manual_seed(1)  # a backbone left at its initialisation would now get other weights
    extractor = build_extractor("dinov2", context(tmp_path, batch_size=2))
    features = extractor(rgb_dataset().split("train").all())
    assert features.pool.shape == (3, 8) and features.pool.dtype == np.float64 and features.logits is None
    with torch.no_grad():
        want = load_backbone(repo, weights)(preprocessed(rgb_dataset().split("train").data, 224, DINOV2_MEAN,
                                                         DINOV2_STD))
    assert_features_equal(features.pool, want)
    assert extractor.identity == f"dinov2-vit-s-14@{file_sha256(weights)[:12]}"
    from torch_fidelity.feature_extractor_dinov2 import FeatureExtractorDinoV2

    assert isinstance(extractor.module, FeatureExtractorDinoV2)  # torch-fidelity's preprocessing and forward


def test_dinov2_repo_and_weights_from_options(tmp_path: Path) -> None:
    """The ``repo`` option's code is used, not the hub cache's: the two repositories hold different
    backbones (mean- vs max-pooled) that fit one checkpoint, so the features tell them apart, and the
    ``weights`` option's file is used, not the hub cache's (another checkpoint).

    Breakages tried, each fails here: the ``repo`` option ignored (the hub cache's repository loaded);
    the ``weights`` option ignored (the hub cache's checkpoint loaded)."""
    repo = make_fake_dinov2_repo(tmp_path / "elsewhere")
    cached_repo = make_fake_dinov2_repo(hub_dir(), MAX_POOLED_HUBCONF)  # what ignoring the option would load
    weights = save_tiny_backbone_weights(tmp_path / "my_dinov2.pth", repo)
    torch.manual_seed(1)
    cached_weights = hub_dir() / "checkpoints" / "dinov2_vits14_pretrain.pth"
    cached_weights.parent.mkdir(parents=True, exist_ok=True)
    torch.save(torch.hub.load(str(repo), "dinov2_vits14", source="local", pretrained=False).state_dict(),
               cached_weights)
    extractor = build_extractor("dinov2", context(tmp_path, repo=str(repo), weights=str(weights)))
    images = rgb_dataset().split("train").data
    features = extractor(rgb_dataset().split("train").all())
    x = preprocessed(images, 224, DINOV2_MEAN, DINOV2_STD)
    with torch.no_grad():
        assert_features_equal(features.pool, load_backbone(repo, weights)(x))
        for other_repo, other_weights in ((cached_repo, weights), (repo, cached_weights)):
            other = load_backbone(other_repo, other_weights)(x).double().numpy()
            assert not np.allclose(features.pool, other, rtol=1e-2, atol=0)  # the alternatives really differ


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
    """Values: the stand-in's visual tower called directly on the stored uint8 images preprocessed as
    torch-fidelity's CLIP forward does (resize to the archive's 28 px, CLIP's normalisation).

    Breakages tried, each fails here: images converted with the value range taken as (0, 2) instead
    of the dataset's (0, 1); the last, partial batch replaced by rows of the batch before (shapes
    intact)."""
    torch.manual_seed(0)
    archive = tmp_path / "tiny-clip.pt"
    stand_in = TinyClipArchive().eval()
    with torch.no_grad():  # torch-fidelity keeps CLIP's weights in float16, as OpenAI ships them: make ours exact there
        for parameter in stand_in.parameters():
            parameter.copy_(parameter.half().float())
    with pytest.warns(FutureWarning):  # torch.jit.script is deprecated; OpenAI's files are such archives
        torch.jit.script(stand_in).save(str(archive))
    extractor = build_extractor("clip", context(tmp_path, weights=str(archive), batch_size=2))
    features = extractor(rgb_dataset().split("train").all())
    assert features.pool.shape == (3, 16) and features.logits is None and np.isfinite(features.pool).all()
    assert extractor.identity == f"clip-vit-b-32@{file_sha256(archive)[:12]}"
    with torch.no_grad():  # the stand-in's own visual tower, on input preprocessed as torch-fidelity's CLIP forward
        want = stand_in.visual(preprocessed(rgb_dataset().split("train").data, 28, CLIP_MEAN, CLIP_STD))
    assert_features_equal(features.pool, want)


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
    for name in ("dinov2", "clip", "vgg16"):
        meta = EXTRACTORS.meta(name)
        assert meta["has_logits"] is False and "layers" not in meta  # the layer is the extractor's own fact
