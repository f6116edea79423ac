"""The ``inception`` extractor's plumbing, offline: weights from option, env var and hub cache.

The weights are torch-fidelity's InceptionV3 architecture with random initialisation, saved as a
state dict here, so the real loading path runs without the 95 MB download. The numbers mean nothing
as features, but they must equal torch-fidelity's own extractor built from the same file; shapes,
dtypes, grayscale handling, identity and the error messages are checked too.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ganbench.data.base import Dataset, DatasetInfo, Split
from ganbench.errors import GanbenchError, MissingResourceError
from ganbench.features import EXTRACTORS, ExtractorContext, build_extractor
from ganbench.features.fidelity import fidelity_kwargs, to_uint8_rgb
from ganbench.features.weights import file_sha256

WEIGHTS_NAME = "weights-inception-2015-12-05-6726825d.pth"
WEIGHTS_URL = "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/" + WEIGHTS_NAME
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """torch-fidelity's InceptionV3 with random weights, saved like the real file (no download)."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    class RandomInit(FeatureExtractorInceptionV3):
        def load_state_dict(self, state_dict, strict=True, assign=False):
            return None  # keep the random initialisation instead of the (empty) file's contents

    folder = tmp_path_factory.mktemp("inception")
    empty = folder / "empty.pth"
    torch.save({}, empty)
    torch.manual_seed(0)
    module = RandomInit("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(empty))
    path = folder / WEIGHTS_NAME
    torch.save(module.state_dict(), path)
    return path


def rgb_dataset() -> Dataset:
    images = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    info = DatasetInfo(name="rgb16", kind="image", shape=(3, 16, 16), value_range=(0.0, 1.0))
    return Dataset(info, {"train": Split(images, scale=1 / 255)})


def context(dataset: Dataset, tmp_path: Path, **options) -> ExtractorContext:
    return ExtractorContext(dataset=dataset, device=CPU, cache_dir=tmp_path, options=options)


def test_weights_from_option_give_pool_and_unbiased_logits(weights_file: Path, tmp_path: Path) -> None:
    dataset = rgb_dataset()
    extractor = build_extractor("inception", context(dataset, tmp_path, weights=str(weights_file), batch_size=1))
    features = extractor(dataset.split("train").get(slice(0, 2)))  # batch_size 1: two batches
    assert features.pool.shape == (2, 2048) and features.pool.dtype == np.float64
    assert features.logits is not None and features.logits.shape == (2, 1008)
    assert np.isfinite(features.pool).all() and np.isfinite(features.logits).all()
    assert extractor.identity == f"inception-v3-compat@{file_sha256(weights_file)[:12]}"
    assert (extractor.pool_layer, extractor.logits_layer) == ("2048", "logits_unbiased")
    assert extractor.preprocessing.startswith("0..1 → uint8 (rounded), grayscale tiled to RGB, resized inside")
    assert not np.allclose(features.pool[0], features.pool[1], rtol=1e-3, atol=0)  # two images, two rows


def fidelity_reference(weights_file: Path, images_uint8: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """torch-fidelity's own InceptionV3 built from the same file, on uint8 RGB: (pool, unbiased logits)."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    module = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"],
                                         feature_extractor_weights_path=str(weights_file)).eval()
    with torch.no_grad():
        pool, logits = module(images_uint8)
    return pool.double().numpy(), logits.double().numpy()


def assert_same_features(got: np.ndarray, want: np.ndarray) -> None:
    scale = np.abs(want).max()
    assert scale > 0 and np.abs(want[0] - want[-1]).max() > 1e-3 * scale  # distinct rows, not all zero
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6 * scale)


def test_pool_and_logits_equal_torch_fidelitys_extractor_on_the_same_weights(weights_file: Path,
                                                                              tmp_path: Path) -> None:
    """ganbench's wrapper against torch-fidelity's ``FeatureExtractorInceptionV3`` loaded from the same
    state dict and fed the stored uint8 images directly, in one batch (the wrapper runs batches of 3).

    Breakages tried, each fails here: the logits taken from torch-fidelity's biased ``logits`` layer;
    the images handed over in [0, 1] (no ×255). (Truncating instead of rounding cannot show here:
    float32 ``u / 255 · 255`` is exactly u for every u; the grayscale test below catches it.)
    """
    dataset = rgb_dataset()
    extractor = build_extractor("inception", context(dataset, tmp_path, weights=str(weights_file), batch_size=3))
    features = extractor(dataset.split("train").all())
    stored = dataset.split("train").data  # the uint8 images themselves, no conversion
    want_pool, want_logits = fidelity_reference(weights_file, stored)
    assert_same_features(features.pool, want_pool)
    assert_same_features(features.logits, want_logits)


def test_env_var_and_grayscale(weights_file: Path, tmp_path: Path, digits: Dataset,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Digits (0..16, so v / 16 · 255 is rarely an integer) against torch-fidelity on the same images
    converted by hand. Breakage tried: the float → uint8 conversion truncating instead of rounding."""
    monkeypatch.setenv("GANBENCH_INCEPTION_WEIGHTS", str(weights_file))
    extractor = build_extractor("inception", context(digits, tmp_path))
    gray = digits.split("test").get(slice(0, 2))
    assert gray.shape == (2, 1, 8, 8)
    features = extractor(gray)
    assert features.pool.shape == (2, 2048) and features.logits.shape == (2, 1008)
    tiled = extractor(gray[:1].expand(-1, 3, -1, -1))  # grayscale is the same image with 3 equal channels
    np.testing.assert_allclose(features.pool[:1], tiled.pool, rtol=1e-4, atol=0)  # random init: tiny values
    # against torch-fidelity on the digits converted by hand: stored 0..16 → round(v / 16 · 255), tiled to RGB
    stored = digits.split("test").data[:2].to(torch.float64)
    by_hand = torch.round(stored / 16 * 255).to(torch.uint8).expand(-1, 3, -1, -1)
    want_pool, want_logits = fidelity_reference(weights_file, by_hand)
    assert_same_features(features.pool, want_pool)
    assert_same_features(features.logits, want_logits)


def test_weights_from_torch_hub_cache(weights_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "torch"
    (home / "hub" / "checkpoints").mkdir(parents=True)
    (home / "hub" / "checkpoints" / WEIGHTS_NAME).symlink_to(weights_file)
    monkeypatch.setenv("TORCH_HOME", str(home))
    extractor = build_extractor("inception", context(rgb_dataset(), tmp_path))
    assert extractor.identity.endswith(file_sha256(weights_file)[:12])


def test_missing_weights_message_says_what_where_and_from_where(tmp_path: Path) -> None:
    with pytest.raises(MissingResourceError) as caught:
        build_extractor("inception", context(rgb_dataset(), tmp_path))
    message = str(caught.value)
    checkpoints = Path(torch.hub.get_dir()) / "checkpoints"
    for needle in (WEIGHTS_NAME, str(checkpoints / WEIGHTS_NAME), WEIGHTS_URL, "GANBENCH_INCEPTION_WEIGHTS",
                   "--inception-weights", "never downloads"):
        assert needle in message


def test_explicit_path_that_does_not_exist_is_not_silently_replaced(weights_file: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANBENCH_INCEPTION_WEIGHTS", str(weights_file))  # a valid fallback exists...
    wrong = tmp_path / "nope.pth"
    with pytest.raises(MissingResourceError, match="nope.pth"):  # ...but the option named another file
        build_extractor("inception", context(rgb_dataset(), tmp_path, weights=str(wrong)))


def test_unreadable_or_foreign_weights_file_is_a_user_error(tmp_path: Path) -> None:
    garbage = tmp_path / WEIGHTS_NAME
    garbage.write_bytes(b"<html>rate limited</html>")
    with pytest.raises(GanbenchError, match="cannot read"):
        build_extractor("inception", context(rgb_dataset(), tmp_path, weights=str(garbage)))
    foreign = tmp_path / "foreign.pth"
    torch.save({"fc.weight": torch.zeros(3, 3)}, foreign)
    with pytest.raises(GanbenchError, match="could not build"):
        build_extractor("inception", context(rgb_dataset(), tmp_path, weights=str(foreign)))


def test_unknown_option_and_vector_data_are_refused_before_loading(tmp_path: Path) -> None:
    with pytest.raises(GanbenchError, match="did you mean 'batch_size'"):
        build_extractor("inception", context(rgb_dataset(), tmp_path, batch_sise=8))
    vectors = Dataset(DatasetInfo(name="ring", kind="vector", shape=(2,), value_range=(-2.0, 2.0)),
                      {"train": Split(torch.zeros(4, 2))})
    with pytest.raises(GanbenchError, match="'raw'"):
        build_extractor("inception", context(vectors, tmp_path))


def test_registry_metadata() -> None:
    meta = EXTRACTORS.meta("inception")
    assert meta["has_logits"] is True and meta["data_kinds"] == ("image",)
    from ganbench.features.inception import LOGITS_LAYER, POOL_LAYER

    assert (POOL_LAYER, LOGITS_LAYER) == ("2048", "logits_unbiased")


def test_only_known_keywords_reach_torch_fidelity() -> None:
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    assert fidelity_kwargs(FeatureExtractorInceptionV3, feature_extractor_weights_path="x")
    with pytest.raises(TypeError, match="feature_extractor_weight_path"):
        fidelity_kwargs(FeatureExtractorInceptionV3, feature_extractor_weight_path="x")


def test_uint8_conversion_is_exact_and_tiles_gray() -> None:
    stored = torch.arange(256, dtype=torch.uint8).reshape(1, 1, 16, 16)
    converted = to_uint8_rgb(stored.float() / 255, (0.0, 1.0))
    assert converted.dtype == torch.uint8 and converted.shape == (1, 3, 16, 16)
    assert torch.equal(converted[:, 0], stored[:, 0]) and torch.equal(converted[:, 2], stored[:, 0])
    assert torch.equal(to_uint8_rgb(torch.tensor([[[[-1.0, 1.0]]]]), (-1.0, 1.0)).flatten(), torch.tensor([0, 255] * 3,
                       dtype=torch.uint8))
