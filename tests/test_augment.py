"""DiffAugment: each policy against its definition, differentiable (gradients reach G), the same transformation
for real and generated batches under the same seed, and wired into training and suites."""
from __future__ import annotations

import pytest
import torch

from ganbench.augment import CUTOUT_RATIO, TRANSLATION_RATIO, diff_augment
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
    runs = {r.dataset: r for r in expand(parse(doc)).runs}
    assert runs["ring"].model.augment == "none" and "augment_policy" not in runs["ring"].hparams
    assert runs["digits"].model.augment == "diffaugment" and "augment_policy" in runs["digits"].hparams
    vae = {**doc, "models": [{"name": "V", "kind": "vae", "arch": "mlp", "augment": "diffaugment"}],
           "datasets": ["ring"]}
    with pytest.raises(SpecError, match=r"models\[0\].augment: augmentation feeds a GAN's D, and a VAE has none"):
        parse(vae)
