"""DiffAugment and ADA: each transformation against its definition, differentiable (gradients reach G), the
same transformation for real and generated batches under the same seed, ADA's p moving by its heuristic, and
both wired into training, checkpoints and suites."""
from __future__ import annotations

import pytest
import torch

from ganbench.augment import (CUTOUT_RATIO, TRANSLATION_RATIO, AdaptiveAugment, ada_augment, ada_colour, ada_geometry,
                              ada_step, diff_augment)
from ganbench.data import load_dataset
from ganbench.errors import SpecError
from ganbench.suite import parse
from ganbench.train import train

from helpers.specs import run_spec


def test_gradients_flow_through_every_policy():
    x = torch.rand(4, 3, 16, 16, requires_grad=True)
    diff_augment(x, "color,translation,cutout").square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_the_same_seed_gives_real_and_generated_batches_the_same_transformation():
    """Under one seed a real and a generated batch get the same draws: a pixel at different places in the two
    moves by the same offset, and the same squares are cut out."""
    real, fake = torch.zeros(50, 1, 16, 16), torch.zeros(50, 1, 16, 16)
    real[:, 0, 6, 6] = 1.0
    fake[:, 0, 9, 7] = 1.0
    torch.manual_seed(3)
    moved_real = diff_augment(real, "translation")
    torch.manual_seed(3)
    moved_fake = diff_augment(fake, "translation")
    offsets_real = [tuple(((img > 0.99).nonzero()[0] - torch.tensor([6, 6])).tolist()) for img in moved_real[:, 0]]
    offsets_fake = [tuple(((img > 0.99).nonzero()[0] - torch.tensor([9, 7])).tolist()) for img in moved_fake[:, 0]]
    assert offsets_real == offsets_fake and len(set(offsets_real)) > 5
    torch.manual_seed(4)
    cut_real = diff_augment(torch.ones(50, 1, 16, 16), "cutout")
    torch.manual_seed(4)
    cut_fake = diff_augment(torch.ones(50, 1, 16, 16) * 0.9, "cutout")
    assert torch.equal(cut_real == 0.5, cut_fake == 0.5)


def test_brightness_moves_a_flat_image_by_at_most_a_quarter_of_the_unit_range():
    """On a flat grey image saturation and contrast change nothing, so colour is brightness alone: a shift
    of U(−½, ½) in [−1, 1] units, ±¼ in [0, 1]."""
    torch.manual_seed(0)
    out = diff_augment(torch.full((500, 1, 4, 4), 0.5), "color")
    per_image = out.flatten(1)
    assert torch.allclose(per_image, per_image[:, :1].expand_as(per_image))  # still flat
    shift = per_image[:, 0] - 0.5
    assert shift.abs().max() <= 0.25 + 1e-6 and shift.min() < -0.2 and shift.max() > 0.2


def test_translation_moves_a_pixel_by_at_most_an_eighth_of_the_side():
    side = 16
    x = torch.zeros(400, 1, side, side)
    x[:, 0, 8, 8] = 1.0
    torch.manual_seed(1)
    out = diff_augment(x, "translation")
    limit = int(side * TRANSLATION_RATIO + 0.5)
    for image in out[:, 0]:
        bright = (image > 0.99).nonzero()
        assert len(bright) == 1
        dy, dx = (bright[0] - 8).abs().tolist()
        assert dy <= limit and dx <= limit
    shifts = {tuple(((img > 0.99).nonzero()[0] - 8).tolist()) for img in out[:, 0]}
    assert len(shifts) > 20  # many different shifts drawn
    # the uncovered border is the range's middle (0 in [−1, 1])
    assert set(torch.unique(out).tolist()) <= {0.5, 1.0, 0.0} and (out == 0.5).any()


def test_cutout_blanks_a_square_of_half_the_side():
    side = 16
    torch.manual_seed(2)
    out = diff_augment(torch.ones(300, 1, side, side), "cutout")
    blank = (out == 0.5).flatten(1).sum(1)
    size = int(side * CUTOUT_RATIO + 0.5)
    assert blank.max() == size * size and blank.min() >= 1
    assert ((out == 0.5) | (out == 1.0)).all()


def test_an_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="augmentation policy 'flip'"):
        diff_augment(torch.rand(2, 1, 8, 8), "flip")


def test_an_augmented_gan_trains_and_g_gets_gradient_through_the_augmentation():
    spec = run_spec("digits", "ns", "dcgan", steps=2, dataset_params={"size": 8},
                    hparams={"lr": 1e-3, "augment_policy": "color,translation"}, metrics=("knn",))
    assert "augment_policy" not in spec.hparams  # it applies to augmented models only
    model = {"name": "A", "loss": "ns", "arch": "dcgan", "augment": "diffaugment"}
    doc = {"name": "aug", "datasets": [{"name": "digits", "params": {"size": 8}}], "models": [model],
           "hparams": {"batch_size": 16, "width": 8, "augment_policy": "translation"}, "seeds": [0],
           "budget": {"steps": 2}, "evaluation": {"metrics": ["knn"], "n_gen": 50, "n_real": 50}}
    from ganbench.expand import expand

    augmented = expand(parse(doc)).runs[0]
    assert augmented.model.augment == "diffaugment" and augmented.hparams["augment_policy"] == "translation"
    assert augmented.run_id != spec.run_id and "augment" not in spec.to_dict()["model"]
    dataset = load_dataset("digits", {"size": 8})
    out = train(augmented, dataset)
    again = train(augmented, dataset)
    assert out.status == "done"
    assert all(torch.equal(a, b) for a, b in zip(out.generator.state_dict().values(),
                                                  again.generator.state_dict().values()))
    plain = train(expand(parse({**doc, "models": [{**model, "augment": "none"}]})).runs[0], dataset)
    assert not all(torch.equal(a, b) for a, b in zip(out.generator.state_dict().values(),
                                                      plain.generator.state_dict().values()))


def test_augmentation_resolves_per_data_kind_and_the_vae_refuses_it():
    """DiffAugment transforms images: on the ring the same model trains plain (its spec says so), as ``arch``
    resolves per data kind."""
    from ganbench.expand import expand

    doc = {"name": "aug", "datasets": ["ring", {"name": "digits", "params": {"size": 8}}], "budget": {"steps": 2},
           "evaluation": {"metrics": ["knn"]},
           "models": [{"name": "A", "loss": "ns", "arch": {"vector": "mlp", "image": "dcgan"},
                       "augment": "diffaugment"}]}
    runs = {r.dataset: r for r in expand(parse(doc)).runs if r.role != "calibration"}
    assert runs["ring"].model.augment == "none" and "augment_policy" not in runs["ring"].hparams
    assert runs["digits"].model.augment == "diffaugment" and "augment_policy" in runs["digits"].hparams
    vae = {**doc, "models": [{"name": "V", "kind": "vae", "arch": "mlp", "augment": "diffaugment"}],
           "datasets": ["ring"]}
    with pytest.raises(SpecError, match=r"models\[0\].augment: augmentation feeds a GAN's D, and a VAE has none"):
        parse(vae)


# ---- ADA ------------------------------------------------------------------------------------------

ADA = {"ada_target": 0.6, "ada_kimg": 500.0, "ada_interval": 4}


def test_ada_at_p_zero_leaves_images_as_they_are_and_gradients_flow_at_any_p():
    torch.manual_seed(0)
    x = torch.rand(6, 3, 16, 16)
    assert torch.allclose(ada_augment(x, 0.0), x, atol=1e-5)
    assert torch.equal(ada_geometry(6, 0.0, (16, 16), x), torch.eye(3).repeat(6, 1, 1))
    assert torch.equal(ada_colour(6, 0.0, x), torch.eye(4).repeat(6, 1, 1))
    moved = ada_augment(x, 1.0)
    assert (moved - x).abs().mean() > 0.1
    grey = torch.rand(6, 1, 12, 12, requires_grad=True)
    ada_augment(grey, torch.tensor(0.5)).square().sum().backward()
    assert grey.grad is not None and grey.grad.abs().sum() > 0


def test_ada_applies_each_transformation_with_probability_p():
    """x-flip is applied with probability p, then flips half the time: a share p/2 of the sampling maps reverse
    orientation (negative determinant; every other transformation keeps it)."""
    torch.manual_seed(1)
    like = torch.zeros(1)
    for p in (0.0, 0.4, 1.0):
        det = torch.linalg.det(ada_geometry(20_000, p, (16, 16), like)[:, :2, :2])
        assert abs(float((det < 0).float().mean()) - p / 2) < 0.015


def test_ada_warps_pad_by_reflection_so_a_flat_image_stays_flat():
    """ADA pads by reflection: translated, rotated and scaled, a flat image stays flat (colour moves its level)."""
    torch.manual_seed(2)
    shifts = ada_geometry(5000, 1.0, (16, 16), torch.zeros(1))[:, :2, 2]
    assert shifts.abs().max() > 1  # the maps do translate
    torch.manual_seed(3)
    per_image = ada_augment(torch.full((50, 1, 16, 16), 0.3), 1.0).flatten(1)
    assert torch.allclose(per_image, per_image[:, :1].expand_as(per_image), atol=1e-5)
    assert per_image[:, 0].std() > 0.05


def test_ada_colour_keeps_grey_grey_and_hue_and_saturation_fix_the_luma_axis():
    """Hue rotates about the luma axis and saturation scales orthogonally to it: a grey RGB image stays grey
    (equal channels) under every colour draw; brightness and contrast alone move it."""
    torch.manual_seed(4)
    grey = torch.rand(200, 1, 4, 4).expand(200, 3, 4, 4).contiguous()
    no_warp = ada_colour(200, 1.0, grey)
    rgb = torch.einsum("nij,njhw->nihw", no_warp[:, :3, :3], grey * 2 - 1) + no_warp[:, :3, 3, None, None]
    assert torch.allclose(rgb[:, 0], rgb[:, 1], atol=1e-5) and torch.allclose(rgb[:, 1], rgb[:, 2], atol=1e-5)
    v = torch.full((3,), 3 ** -0.5)
    m = no_warp[:, :3, :3]
    luma_out = torch.einsum("nij,j->ni", m, v)
    assert torch.allclose(torch.cross(luma_out, v.expand_as(luma_out), dim=1), torch.zeros_like(luma_out), atol=1e-5)


def test_ada_draws_the_same_transformations_for_real_and_generated_batches_under_one_seed():
    """The draws depend on the seed, not on the images: under one seed a batch and the same batch brighter by a
    constant come out differing by a per-image constant (same warp, same affine colour map); under another
    seed they would not."""
    real = torch.rand(20, 3, 16, 16)
    torch.manual_seed(5)
    a = ada_augment(real, 0.8)
    torch.manual_seed(5)
    b = ada_augment(real + 0.1, 0.8)
    torch.manual_seed(6)
    c = ada_augment(real + 0.1, 0.8)
    diff = (b - a).flatten(2)
    assert torch.allclose(diff, diff[:, :, :1].expand_as(diff), atol=1e-4)
    other = (c - a).flatten(2)
    assert not torch.allclose(other, other[:, :, :1].expand_as(other), atol=1e-2)


def test_ada_p_moves_up_when_d_overfits_and_down_when_it_does_not():
    """r_t = E[sign D(x_real)]: above the target p grows by batch × interval / (kimg · 1000) per adjustment,
    below it shrinks (never below 0 or above 1)."""
    p = ada_step(torch.tensor(0.5), torch.tensor(0.9), 0.6, 256, 1.0)
    assert float(p) == pytest.approx(0.5 + 0.256)
    assert float(ada_step(torch.tensor(0.5), torch.tensor(0.1), 0.6, 256, 1.0)) == pytest.approx(0.5 - 0.256)
    assert float(ada_step(torch.tensor(0.9), torch.tensor(1.0), 0.6, 256, 0.1)) == 1.0
    assert float(ada_step(torch.tensor(0.1), torch.tensor(-1.0), 0.6, 256, 0.1)) == 0.0

    overfit = AdaptiveAugment({**ADA, "ada_kimg": 1.0}, (0.0, 1.0), batch_size=16)
    for step in range(1, 13):
        overfit.observe(torch.full((16,), 3.0))  # D confidently right on every real image: r_t = 1
        if step % 4:
            assert overfit.log()["augment_p"] == pytest.approx(0.064 * (step // 4))  # only every interval
    assert overfit.log()["augment_p"] == pytest.approx(3 * 0.064)
    healthy = AdaptiveAugment({**ADA, "ada_kimg": 1.0}, (0.0, 1.0), batch_size=16)
    healthy.load_state_dict(overfit.state_dict())
    for _ in range(8):  # a D at chance on the real data: r_t = 0 < 0.6
        healthy.observe(torch.tensor([1.0, -1.0] * 8))
    assert healthy.log()["augment_p"] == pytest.approx(0.064)


def test_an_ada_run_logs_p_and_resumes_bit_identical():
    from helpers.checkpoints import serialising_store

    spec = run_spec("digits", "ns", "dcgan", steps=12, eval_every=4, dataset_params={"size": 8}, augment="ada",
                    hparams={"lr": 1e-3, "ada_kimg": 0.5, "ada_interval": 2})
    assert spec.model.augment == "ada" and spec.hparams["ada_kimg"] == 0.5 and spec.hparams["ada_target"] == 0.6
    dataset = load_dataset("digits", {"size": 8})
    full = train(spec, dataset)
    ps = [row["losses"]["augment_p"] for row in full.history]
    assert ps[-1] > 0 and len(set(ps)) > 1  # p moved (a fresh D on 8×8 digits overfits at once)

    store, load = serialising_store()

    class Stop(Exception):
        pass

    def kill(step):
        if step == 6:
            raise Stop

    with pytest.raises(Stop):
        train(spec, dataset, checkpointing=store, progress=kill)
    assert float(load()["augment"]["p"]) == ps[0]
    resumed = train(spec, dataset, checkpointing=store)
    assert [row["losses"] for row in resumed.history] == [row["losses"] for row in full.history]
    assert all(torch.equal(a, b) for a, b in zip(full.generator.state_dict().values(),
                                                  resumed.generator.state_dict().values()))


def test_ada_needs_a_logit_d():
    from ganbench.errors import GanbenchError

    spec = run_spec("digits", "began", "dcgan", steps=2, dataset_params={"size": 8}, augment="ada")
    with pytest.raises(GanbenchError, match="model.augment: ada reads D's scores"):
        train(spec, load_dataset("digits", {"size": 8}))
