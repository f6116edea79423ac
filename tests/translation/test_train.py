"""Translation training: shapes of the nets, one step of every (method × loss × architecture), exact resume,
the history buffer, and learning on the embedded pairs within a CPU budget."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from ganbench.catalog import LOSSES
from ganbench.data import load_dataset
from ganbench.data.base import DatasetInfo
from ganbench.errors import GanbenchError, SpecError
from ganbench.expand import expand
from ganbench.nets import NetConfig
from ganbench.nets.translation import (MLPCritic, MLPTranslator, PatchDiscriminator, ResnetTranslator, paired_info,
                                       patch_stages)
from ganbench.suite import parse
from ganbench.translation.evaluate import TranslationEvaluator, identity_translators
from ganbench.translation.train import ImagePool, build_translators, train_translation
from helpers.checkpoints import serialising_store
from helpers.specs import translation_spec
from helpers.pairs import write_pair_folders

LOGIT_LOSSES = [e.name for e in LOSSES if e.metadata.get("d_output", "logit") == "logit"]


@pytest.mark.parametrize("side", [8, 16, 28, 32])
@pytest.mark.parametrize("channels", [1, 3])
def test_resnet_translator_and_patch_discriminator_shapes(side, channels):
    info = DatasetInfo("x", "image", (channels, side, side), (0.0, 1.0))
    cfg = NetConfig(width=8)
    g, d = ResnetTranslator(info, cfg), PatchDiscriminator(info, cfg)
    x = torch.rand(3, channels, side, side)
    y = g(x)
    y = y.detach()
    assert y.shape == x.shape and float(y.min()) >= 0.0 and float(y.max()) <= 1.0
    patches = d(x)
    assert patches.dim() == 2 and patches.shape[0] == 3 and patches.shape[1] >= 1
    paired = PatchDiscriminator(paired_info(info), cfg)(torch.cat([x, y], 1))
    assert paired.shape == patches.shape


def test_patchgan_receptive_field_follows_the_papers_sizes():
    # three stride-2 layers at 128 px and up (the papers' 70×70 patch), two from 32 px, one below
    assert [patch_stages(s) for s in (8, 16, 28, 32, 64, 128, 256)] == [1, 1, 1, 2, 2, 3, 3]


def test_mlp_pair_shapes():
    info = DatasetInfo("x", "vector", (2,), (-3.0, 3.0))
    g, d = MLPTranslator(info, NetConfig(width=8)), MLPCritic(paired_info(info), NetConfig(width=8))
    x = torch.randn(5, 2)
    assert g(x).shape == (5, 2) and d(torch.cat([x, g(x)], 1)).shape == (5, 1)


def _params(nets) -> list[torch.Tensor]:
    return [p.detach().clone() for net in nets for p in net.parameters()]


@pytest.mark.parametrize("dataset", ["ring_warp", "digit_styles"])
@pytest.mark.parametrize("kind", ["cyclegan", "pix2pix"])
@pytest.mark.parametrize("loss", LOGIT_LOSSES)
def test_one_training_step_of_every_method_loss_and_architecture(kind, loss, dataset):
    spec = translation_spec(kind, loss, dataset, steps=2)
    pair = load_dataset(spec.dataset, dict(spec.dataset_params))
    torch.manual_seed(spec.seed)
    before = _params(build_translators(spec, pair))
    outcome = train_translation(spec, pair)
    assert outcome.status == "done" and outcome.compute["steps"] == 2
    row = outcome.history[-1]
    assert all(torch.isfinite(torch.tensor(v)) for v in row["losses"].values())
    after = _params((outcome.g_ab, outcome.g_ba))
    assert any(not torch.equal(a, b) for a, b in zip(before, after))  # the generators moved


def test_the_same_seed_trains_the_same_numbers_and_resume_is_exact():
    spec = translation_spec("cyclegan", "lsgan", "digit_styles", steps=6, eval_every=3)
    pair = load_dataset(spec.dataset, dict(spec.dataset_params))
    whole = train_translation(spec, pair)
    again = train_translation(spec, pair)
    store, _ = serialising_store()
    calls = {"n": 0}

    def interrupt(step):
        calls["n"] = step
        if step == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_translation(spec, pair, checkpointing=store, progress=interrupt)
    resumed = train_translation(spec, pair, checkpointing=store)
    for net in ("g_ab", "g_ba"):
        a, b, c = (getattr(o, net).state_dict() for o in (whole, again, resumed))
        assert all(torch.equal(a[k], b[k]) and torch.equal(a[k], c[k]) for k in a)
    assert [r["losses"] for r in resumed.history] == [r["losses"] for r in whole.history]


def test_cyclegan_draws_the_two_domains_apart_and_pix2pix_draws_pairs():
    cycle = translation_spec("cyclegan")
    pair = load_dataset(cycle.dataset, dict(cycle.dataset_params))
    from ganbench.translation.train import _build

    run = _build(cycle, pair, torch.device("cpu"))
    a_index, b_index = run.samplers["a"].next_index(), run.samplers["b"].next_index()
    assert not torch.equal(a_index, b_index)  # the true pairing is never what a CycleGAN batch holds
    run = _build(translation_spec("pix2pix"), pair, torch.device("cpu"))
    a, b = run.batches()
    from ganbench.data.pairs import warp

    assert torch.allclose(b, warp(a))  # pix2pix: rows paired


def test_history_buffer_fills_then_mixes_old_and_new_fakes():
    torch.manual_seed(0)
    pool = ImagePool(4)
    first = torch.arange(4.0).view(4, 1)
    assert torch.equal(pool.query(first), first)  # filling: the fakes themselves
    new = torch.full((64, 1), 100.0)
    out = pool.query(new)
    old_seen = int((out < 100).sum())
    assert 1 <= old_seen <= 4 and int((out == 100).sum()) == 64 - old_seen  # each old fake returned once at most
    assert torch.equal(ImagePool(0).query(new), new)
    state = pool.state_dict()
    copy = ImagePool(4)
    copy.load_state_dict(state, torch.device("cpu"))
    assert all(torch.equal(x, y) for x, y in zip(copy.stored, pool.stored))


def test_pix2pix_refuses_an_unpaired_dataset(tmp_path):
    write_pair_folders(tmp_path)
    params = {"path": str(tmp_path), "size": 8}
    doc = {"name": "t", "datasets": [{"name": "image_pairs", "params": params}],
           "models": [{"name": "p", "kind": "pix2pix", "loss": "ns", "arch": "resnet_patch"}],
           "hparams": {"batch_size": 2, "width": 8}, "budget": {"steps": 1},
           "evaluation": {"metrics": ["fid"], "n_gen": 3, "n_real": 3, "extractor": "raw"}}
    with pytest.raises(SpecError, match=r"models\[0\]\.kind.*unpaired.*use kind: cyclegan"):
        parse(doc)
    doc["models"][0]["kind"] = "cyclegan"
    spec = expand(parse(doc)).runs[0]
    pix2pix = replace(spec, model=replace(spec.model, kind="pix2pix"))  # past the parser: the trainer refuses too
    with pytest.raises(GanbenchError, match="unpaired.*use kind: cyclegan"):
        train_translation(pix2pix, load_dataset("image_pairs", params))
    assert train_translation(spec, load_dataset("image_pairs", params)).status == "done"  # CycleGAN trains on it


def _evaluate(spec, tmp_path: Path):
    pair = load_dataset(spec.dataset, dict(spec.dataset_params))
    return pair, TranslationEvaluator(spec.evaluation, pair, cache_dir=tmp_path)


@pytest.mark.slow
def test_cyclegan_learns_digit_styles_unpaired(tmp_path):
    """Within 200 steps on 16×16 digits, unpaired CycleGAN keeps the digit (content well above the 10 % of chance
    and above copying the input) and lands nearer the hidden true counterpart than the identity does."""
    spec = translation_spec("cyclegan", "lsgan", "digit_styles", steps=200, params={"size": 16, "n_test": 200},
                            hparams={"lr": 1e-3, "batch_size": 16}, n=200)
    pair, evaluator = _evaluate(spec, tmp_path)
    identity = evaluator(*identity_translators(), 0).metrics
    outcome = train_translation(spec, pair, evaluate=evaluator)
    learnt = outcome.history[-1]["metrics"]
    assert learnt["content"] > 0.4 and learnt["content"] > identity["content"]
    assert learnt["l1"] < 0.75 * identity["l1"] and learnt["ssim"] > identity["ssim"]
    assert learnt["fid"] < identity["fid"]


def test_pix2pix_learns_the_ring_warp_from_pairs(tmp_path):
    spec = translation_spec("pix2pix", "ns", "ring_warp", steps=300, hparams={"lr": 1e-3, "batch_size": 64,
                                                                              "width": 16}, n=500)
    pair, evaluator = _evaluate(spec, tmp_path)
    identity = evaluator(*identity_translators(), 0).metrics
    learnt = train_translation(spec, pair, evaluate=evaluator).history[-1]["metrics"]
    assert learnt["l1"] < 0.35 * identity["l1"] and learnt["content"] > 0.9
    by_hand = float((evaluator.inputs["ab"] - evaluator.truth["ab"]).abs().double().mean())
    assert identity["cycle"] == 0.0 and identity["l1"] == pytest.approx(by_hand, rel=1e-6)


class _Oracle(torch.nn.Module):
    """A translator that knows the pair's true map (and, where it exists, its inverse)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def test_content_is_one_on_the_true_counterparts_of_the_warped_ring(tmp_path):
    from ganbench.data.pairs import unwarp, warp

    spec = translation_spec("cyclegan", "lsgan", "ring_warp", n=200)
    pair, evaluator = _evaluate(spec, tmp_path)
    oracle = evaluator(_Oracle(warp), _Oracle(unwarp), 1).metrics
    assert oracle["content"] == 1.0 and oracle["l1"] < 1e-5 and oracle["cycle"] < 1e-5
    assert oracle["fid_ab"] < 1e-6  # the translations are the very reference samples of B


def test_content_of_the_true_digit_counterparts_is_the_target_classifiers_accuracy(tmp_path):
    from ganbench.data.pairs import thick_turned
    from ganbench.features import ExtractorContext, build_extractor

    spec = translation_spec("cyclegan", "lsgan", "digit_styles", n=100)
    pair, evaluator = _evaluate(spec, tmp_path)
    metrics = evaluator(_Oracle(lambda x: thick_turned(x, 30.0)), torch.nn.Identity(), 1).metrics
    classifier = build_extractor("domain", ExtractorContext(pair.domain("b"), torch.device("cpu"), tmp_path, {}, 0))
    truth, labels = evaluator.truth["ab"], evaluator.labels["ab"]
    accuracy = float((torch.as_tensor(classifier(truth).logits).argmax(1) == labels).double().mean())
    assert metrics["content_ab"] == pytest.approx(accuracy) and accuracy > 0.8
    assert metrics["l1_ab"] < 1e-6 and metrics["ssim_ab"] == pytest.approx(1.0)


def test_schedules_set_lr_and_the_penalty_weight_at_every_step():
    from ganbench.schedules import value_at
    from ganbench.translation.train import _apply_schedules, _build

    spec = translation_spec("cyclegan", "wgan_gp", steps=10,
                            hparams={"lr": {"cosine": [1e-3, 1e-4]}, "lambda": {"linear": [0.0, 10.0]}})
    pair = load_dataset(spec.dataset, dict(spec.dataset_params))
    run = _build(spec, pair, torch.device("cpu"))
    for step in (1, 5, 10):
        _apply_schedules(run, step)
        assert run.opt_g.param_groups[0]["lr"] == run.opt_d.param_groups[0]["lr"] == pytest.approx(
            value_at(spec.hparams["lr"], step, 10))
        assert run.lam == pytest.approx(value_at(spec.hparams["lambda"], step, 10))
    assert train_translation(spec, pair).status == "done"


def test_cyclegan_trains_and_is_scored_on_the_polygon_pair(tmp_path):
    spec = translation_spec("cyclegan", "lsgan", "polygon_styles", steps=2, n=32)
    pair, evaluator = _evaluate(spec, tmp_path)
    metrics = train_translation(spec, pair, evaluate=evaluator).history[-1]["metrics"]
    assert 0.0 <= metrics["content"] <= 1.0 and metrics["l1"] > 0 and "ssim_ba" in metrics
    identity = evaluator(*identity_translators(), 0).metrics
    assert identity["l1"] == pytest.approx(float((evaluator.inputs["ab"] - evaluator.truth["ab"]).abs().double().mean()))
