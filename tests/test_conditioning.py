"""Conditional GANs and InfoGAN: shapes, one D and one G step for every allowed combination, each
conditioning's mechanism against its definition, exact resume, and short runs that really learn."""
from __future__ import annotations

import pytest
import torch

from ganbench.catalog import CONDITIONINGS, LOSSES, arch_names
from ganbench.conditioning import ClassAffine, ConditionalBNGenerator, ProjectionD, build_conditioning
from ganbench.data import load_dataset
from ganbench.errors import GanbenchError
from ganbench.evaluate import Evaluator
from ganbench.nets import ARCHS
from ganbench.train import train

from helpers.checkpoints import serialising_store
from helpers.specs import run_spec

DIGITS = {"dataset": "digits", "dataset_params": {"size": 8}}
RING = {"dataset": "ring", "dataset_params": {"n_train": 2000, "n_test": 500, "sigma": 0.05}}
CONDITIONAL = [name for name in CONDITIONINGS.names() if name != "none"]
LOGIT_LOSSES = [name for name in LOSSES.names() if LOSSES.meta(name).get("d_output", "logit") == "logit"]
INFO = {"info_cat": 4, "info_cont": 2}


def data_for(arch: str) -> dict:
    return RING if "vector" in ARCHS.get(arch).data_kinds else DIGITS


def params(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def moved(a: torch.nn.Module, b: list[torch.Tensor]) -> bool:
    return any(not torch.equal(x, y) for x, y in zip(params(a), b))


def one_step(conditioning: str, loss: str, arch: str):
    spec = run_spec(loss=loss, arch=arch, steps=1, conditioning=conditioning, hparams={"lr": 1e-3, **INFO},
                    **data_for(arch))
    dataset = load_dataset(spec.dataset, dict(spec.dataset_params))
    torch.manual_seed(spec.seed)
    cond = build_conditioning(conditioning, dataset, spec.hparams)
    from ganbench.nets import NetConfig, architecture_for

    hp = spec.hparams
    g0, d0 = cond.networks(architecture_for(arch, dataset.info),
                           NetConfig(z_dim=hp["z_dim"], width=hp["width"], d_norm=hp["d_norm"], g_norm=hp["g_norm"]))
    return spec, dataset, cond, params(g0), params(d0), train(spec, dataset)


COMBOS = [(c, loss, "dcgan") for c in CONDITIONAL for loss in LOGIT_LOSSES]
COMBOS += [(c, "ns", arch) for c in CONDITIONAL for arch in arch_names() if arch != "dcgan"
           and (c != "projection" or ARCHS.meta(arch).get("g_batch_norm", True))]  # stylegan2: refused, below
COMBOS += [(c, "hinge", "sndcgan") for c in CONDITIONAL]  # the SNGAN recipe: spectral norm throughout D


@pytest.mark.parametrize("conditioning, loss, arch", COMBOS)
def test_one_d_and_g_step_for_every_combination(conditioning, loss, arch):
    spec, dataset, cond, g0, d0, out = one_step(conditioning, loss, arch)
    assert out.status == "done" and out.compute["steps"] == 1
    assert all(torch.isfinite(v).all() for v in [*params(out.generator), *params(out.discriminator)])
    assert moved(out.generator, g0), "G did not move"
    assert moved(out.discriminator, d0), "D did not move"
    latent = out.sample_latent(6)
    assert latent.shape == (6, spec.hparams["z_dim"] + cond.extra_latent)
    assert out.generator(latent).shape == (6, *dataset.info.shape)
    x = dataset.split("train").get(torch.arange(6))
    y = dataset.split("train").labels[:6]
    scores, aux = cond.score(out.discriminator, x, y, "logit")
    assert scores.shape == (6,)
    width = {"acgan": dataset.info.num_classes, "infogan": INFO["info_cat"] + INFO["info_cont"]}.get(conditioning)
    assert (aux is None) == (width is None) and (aux is None or aux.shape == (6, width))


def test_labels_and_codes_are_read_back_from_the_latent():
    dataset = load_dataset("digits", {"size": 8})
    hp = {"aux_weight": 1.0, **INFO, "info_weight": 1.0}
    for name in ("cgan", "acgan", "projection"):
        cond = build_conditioning(name, dataset, hp)
        y = torch.tensor([3, 0, 9, 9])
        latent = cond.train_latent(torch.rand(4, 5), y)
        assert torch.equal(cond.labels(latent), y) and cond.codes(latent) is None
        grid = cond.grid_latent(torch.rand(3, 5))
        assert torch.equal(cond.labels(grid), torch.arange(10).repeat_interleave(3))
        assert torch.equal(grid[:3, :5], grid[3:6, :5])  # the same z down each column
    info = build_conditioning("infogan", dataset, hp)
    latent = info.train_latent(torch.rand(100, 5), None)
    assert latent.shape == (100, 5 + 4 + 2) and info.labels(latent) is None
    assert set(info.codes(latent).tolist()) <= {0, 1, 2, 3}
    cont = latent[:, -2:]
    assert cont.min() >= -1 and cont.max() <= 1 and cont.std() > 0.3
    z = torch.rand(8, 5)
    grid = info.grid_latent(z)  # 4 rows of code values, then one sweep per continuous code
    assert grid.shape == (4 * 8 + 2 * 8, 11)
    assert torch.equal(info.codes(grid[:32]), torch.arange(4).repeat_interleave(8))
    assert torch.equal(grid[32:40, 9], torch.linspace(-1, 1, 8)) and torch.equal(grid[32:40, 10], torch.zeros(8))
    assert torch.equal(grid[40:48, 10], torch.linspace(-1, 1, 8)) and (grid[32:, :5] == z[0]).all()


def test_evaluation_labels_follow_the_train_label_frequencies():
    dataset = load_dataset("polygons", {"vertices": [3, 4], "n_train": 400, "n_test": 50, "n_holdout": 10})
    cond = build_conditioning("cgan", dataset, {})
    share = float((dataset.split("train").labels == 1).float().mean())
    g = torch.Generator().manual_seed(0)
    drawn = cond.labels(cond.eval_latent(torch.rand(20000, 3), g)).float().mean()
    assert abs(float(drawn) - share) < 4 * (share * (1 - share) / 20000) ** 0.5


def test_projection_d_adds_the_inner_product_of_the_class_embedding_and_the_features():
    dataset = load_dataset("digits", {"size": 8})
    spec = run_spec(arch="dcgan", steps=1, conditioning="projection", **DIGITS)
    torch.manual_seed(0)
    from ganbench.train import build_networks

    _, D = build_networks(spec, dataset, None)
    assert isinstance(D, ProjectionD)
    x, y = torch.rand(5, 1, 8, 8), torch.tensor([0, 1, 2, 3, 4])
    last = [m for m in D.trunk.modules() if isinstance(m, torch.nn.Linear)][-1]
    seen = []
    handle = last.register_forward_pre_hook(lambda module, inputs: seen.append(inputs[0]))
    logit = D.trunk(x).reshape(-1)
    handle.remove()
    expected = logit + (D.embed.weight[y] * seen[0]).sum(1)
    assert torch.allclose(D(x, y), expected)
    assert not torch.allclose(D(x, y), D(x, (y + 1) % 10))


def test_conditional_batch_norm_gives_each_class_its_own_scale_and_shift():
    dataset = load_dataset("digits", {"size": 8})
    spec = run_spec(arch="dcgan", steps=1, conditioning="projection", **DIGITS)
    from ganbench.train import build_networks

    G, _ = build_networks(spec, dataset, None)
    assert isinstance(G, ConditionalBNGenerator)
    norms = [m for m in G.modules() if isinstance(m, ClassAffine)]
    assert norms and not any(isinstance(m, torch.nn.BatchNorm2d) and not isinstance(p, ClassAffine)
                             for p in G.modules() for m in p.children())
    z = torch.rand(1, spec.hparams["z_dim"]).repeat(2, 1)
    onehot = torch.eye(10)[[0, 1]]
    G.eval()
    same = G(torch.cat([z, onehot], 1))
    assert torch.equal(same[0], same[1])  # at initialisation every class's affine is the identity
    with torch.no_grad():
        norms[0].shift.weight[1] += 1.0
    differ = G(torch.cat([z, onehot], 1))
    assert torch.equal(differ[0], same[0]) and not torch.equal(differ[1], same[1])


def test_acgan_adds_the_weighted_cross_entropy_for_both_players():
    dataset = load_dataset("digits", {"size": 8})
    cond = build_conditioning("acgan", dataset, {"aux_weight": 0.5})
    aux_real, aux_fake = torch.randn(4, 10), torch.randn(4, 10)
    y = torch.tensor([1, 2, 3, 4])
    latent = cond.train_latent(torch.rand(4, 3), torch.tensor([5, 6, 7, 8]))
    ce = torch.nn.functional.cross_entropy
    assert torch.allclose(cond.d_extra(aux_real, aux_fake, y, latent),
                          0.5 * (ce(aux_real, y) + ce(aux_fake, torch.tensor([5, 6, 7, 8]))))
    assert torch.allclose(cond.g_extra(aux_fake, latent), 0.5 * ce(aux_fake, torch.tensor([5, 6, 7, 8])))


def test_infogan_adds_the_mutual_information_bound():
    dataset = load_dataset("ring", {"n_train": 100, "n_test": 10})
    cond = build_conditioning("infogan", dataset, {"info_cat": 3, "info_cont": 1, "info_weight": 2.0})
    latent = torch.cat([torch.zeros(2, 2), torch.tensor([[0.0, 1, 0, 0.5], [1, 0, 0, -0.5]])], 1)
    q = torch.tensor([[0.1, 2.0, -1.0, 0.3], [0.5, 0.0, 0.2, 0.0]])
    expected = 2.0 * (torch.nn.functional.cross_entropy(q[:, :3], torch.tensor([1, 0]))
                      + 0.5 * ((0.3 - 0.5) ** 2 + 0.5 ** 2) / 2)
    assert torch.allclose(cond.g_extra(q, latent), expected)
    assert torch.allclose(cond.d_extra(None, q, None, latent), expected)


def test_unconditional_specs_and_their_run_ids_are_unchanged():
    plain = run_spec(arch="mlp", steps=1, **RING)
    explicit = run_spec(arch="mlp", steps=1, conditioning="none", **RING)
    assert "conditioning" not in plain.to_dict()["model"] and plain.run_id == explicit.run_id
    cgan = run_spec(arch="mlp", steps=1, conditioning="cgan", **RING)
    assert cgan.to_dict()["model"]["conditioning"] == "cgan" and cgan.run_id != plain.run_id


def test_metrics_a_model_cannot_feed_are_left_out_of_its_protocol():
    metrics = ("knn", "label_consistency", "intra_fid", "code_fidelity")
    by = {c: run_spec(arch="mlp", steps=1, conditioning=c, metrics=metrics, hparams=INFO, **RING).evaluation.metrics
          for c in ("none", "cgan", "infogan")}
    assert by == {"none": ("knn",), "cgan": ("knn", "label_consistency", "intra_fid"),
                  "infogan": ("knn", "code_fidelity")}


def test_a_code_that_cannot_be_matched_to_the_classes_is_refused_before_training():
    """The suite refuses it where the classes are declared (tests/test_suite_errors.py); where only the files
    tell (an image folder), training refuses it before its first step."""
    from dataclasses import replace

    from ganbench.specs import frozen

    spec = run_spec(arch="mlp", steps=1, conditioning="infogan", metrics=("code_fidelity",), hparams={"info_cat": 8},
                    **RING)
    spec = replace(spec, hparams=frozen({**spec.hparams, "info_cat": 9}))
    with pytest.raises(GanbenchError, match=r"hparams.info_cat is 9 while dataset 'ring' has 8 classes"):
        train(spec, load_dataset(spec.dataset, dict(spec.dataset_params)))


def test_unrolled_d_steps_are_refused_with_conditioning():
    spec = run_spec(arch="mlp", steps=1, conditioning="cgan", hparams={"unroll": 2}, **RING)
    with pytest.raises(GanbenchError, match=r"^hparams.unroll: unrolled D steps do not take conditioning 'cgan'"):
        train(spec, load_dataset(spec.dataset, dict(spec.dataset_params)))


def test_label_conditioning_refuses_a_dataset_without_labels_at_run_time():
    dataset = load_dataset("polygons", {"n_train": 20, "n_test": 10, "n_holdout": 5})
    with pytest.raises(GanbenchError, match=r"conditioning 'cgan' feeds G and D class labels, and dataset "
                                            r"'polygons' has none"):
        build_conditioning("cgan", dataset, {})


class Interrupt(Exception):
    pass


@pytest.mark.parametrize("conditioning, loss, arch", [("infogan", "wgan_gp", "mlp"), ("projection", "ns", "dcgan"),
                                                      ("acgan", "hinge", "mlp")])
def test_resumed_conditional_run_is_bit_identical(conditioning, loss, arch):
    spec = run_spec(loss=loss, arch=arch, steps=12, eval_every=4, conditioning=conditioning,
                    hparams={"ema": 0.9, **INFO}, **data_for(arch))
    dataset = load_dataset(spec.dataset, dict(spec.dataset_params))
    full = train(spec, dataset)
    store, load = serialising_store()

    def kill_at(step):
        if step == 6:
            raise Interrupt

    with pytest.raises(Interrupt):
        train(spec, dataset, checkpointing=store, progress=kill_at)
    torch.manual_seed(12345)
    resumed = train(spec, dataset, checkpointing=store)
    for a, b in [(full.generator, resumed.generator), (full.discriminator, resumed.discriminator)]:
        assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert [h["losses"] for h in full.history] == [h["losses"] for h in resumed.history]


def test_evaluation_passes_labels_codes_and_the_classifiers_classes_to_the_metrics(tmp_path):
    spec = run_spec(arch="mlp", steps=2, conditioning="cgan", metrics=("label_consistency", "intra_fid"),
                    n=200, **RING)
    dataset = load_dataset(spec.dataset, dict(spec.dataset_params))
    evaluator = Evaluator(spec.evaluation, dataset, cache_dir=tmp_path, run_seed=0)
    out = train(spec, dataset)
    samples, labels, codes = evaluator.labelled_samples(out.generator.eval(), out.sample_latent, 2)
    assert samples.shape == (200, 2) and labels.shape == (200,) and codes is None
    again = evaluator.labelled_samples(out.generator.eval(), out.sample_latent, 2)
    assert torch.equal(again[0], samples) and torch.equal(again[1], labels)
    assert evaluator.record["classifier"]["identity"].startswith("domain-ring@")
    assert evaluator.record["classifier"]["test_accuracy"] > 0.95


def test_a_conditional_runs_samples_png_has_one_row_per_class(tmp_path):
    from PIL import Image

    from ganbench.results.store import Store
    from ganbench.run_one import RunOptions, execute

    spec = run_spec(arch="dcgan", steps=2, conditioning="acgan", metrics=("fid",), n=100, **DIGITS)
    store = Store(tmp_path / "results")
    assert execute(spec, store, RunOptions(cache_dir=str(tmp_path / "cache"))) == "done"
    record = store.record(spec)
    image = Image.open(store.run_dir(spec) / record.samples)
    side = 8 + 2  # torchvision's grid: 8-pixel digits with 2-pixel padding
    assert image.size == (8 * side + 2, 10 * side + 2)
    assert record.protocol["label_sampling"] == "train label frequencies"


@pytest.mark.slow
def test_cgan_learns_to_draw_the_digit_it_is_asked_for(tmp_path):
    """Label consistency well above chance (0.1) after 300 CPU steps (measured: 0.89 at 500 steps)."""
    spec = run_spec(arch="dcgan", loss="ns", steps=300, conditioning="cgan", metrics=("label_consistency",),
                    n=500, extractor="domain", hparams={"width": 16, "lr": 1e-3, "batch_size": 64}, **DIGITS)
    dataset = load_dataset(spec.dataset, dict(spec.dataset_params))
    out = train(spec, dataset, evaluate=Evaluator(spec.evaluation, dataset, cache_dir=tmp_path, run_seed=0))
    assert out.history[-1]["metrics"]["label_consistency"] > 0.5


@pytest.mark.slow
def test_infogans_code_finds_the_rings_modes(tmp_path):
    """The categorical code's accuracy as a classifier of the 8 modes, well above chance (1/8)."""
    spec = run_spec(arch="mlp", loss="ns", steps=300, conditioning="infogan", metrics=("code_fidelity",), n=1000,
                    hparams={"batch_size": 100, "z_dim": 2, "z_prior": "normal", "width": 16, "d_norm": "none",
                             "lr": 1e-3, "info_cat": 8, "info_cont": 0},
                    dataset="ring", dataset_params={"sigma": 0.05, "n_train": 20000, "n_test": 2500})
    dataset = load_dataset(spec.dataset, dict(spec.dataset_params))
    out = train(spec, dataset, evaluate=Evaluator(spec.evaluation, dataset, cache_dir=tmp_path, run_seed=0))
    metrics = out.history[-1]["metrics"]
    assert metrics["code_accuracy"] > 0.5 and metrics["code_nmi"] > 0.5


def test_an_image_folder_conditions_by_its_class_subfolders_and_a_flat_one_refuses(tmp_path):
    from PIL import Image

    for folder, count in (("cats", 3), ("dogs", 4)):
        (tmp_path / "by_class" / folder).mkdir(parents=True)
        for i in range(count):
            Image.new("RGB", (10, 10), (40 * i, 90, 200)).save(tmp_path / "by_class" / folder / f"{i}.png")
    (tmp_path / "flat").mkdir()
    for i in range(4):
        Image.new("RGB", (10, 10), (50 * i, 0, 0)).save(tmp_path / "flat" / f"{i}.png")
    labelled = load_dataset("image_folder", {"path": str(tmp_path / "by_class"), "size": 8, "test_fraction": 0.3})
    cond = build_conditioning("projection", labelled, {})
    assert cond.classes == 2 and cond.frequencies.sum() == pytest.approx(1.0)
    flat = load_dataset("image_folder", {"path": str(tmp_path / "flat"), "size": 8})
    with pytest.raises(GanbenchError, match="dataset 'image_folder' has none"):
        build_conditioning("cgan", flat, {})


def test_a_copied_conditional_bn_generator_sets_labels_on_its_own_norms():
    """EMA and evaluation deep-copy G: the copy's label hand-off must reach the copy's norms, not the original's."""
    import copy

    dataset = load_dataset("digits", {"size": 8})
    spec = run_spec(arch="dcgan", steps=1, conditioning="projection", **DIGITS)
    from ganbench.train import build_networks

    G, _ = build_networks(spec, dataset, None)
    clone = copy.deepcopy(G).eval()
    assert all(a is not b for a, b in zip(clone._norms, G._norms))
    assert [id(m) for m in clone._norms] == [id(m) for m in clone.modules() if isinstance(m, ClassAffine)]
    latent = torch.cat([torch.rand(2, spec.hparams["z_dim"]), torch.eye(10)[[0, 1]]], 1)
    with torch.no_grad():
        clone(latent)
    assert all(m.labels is None for m in clone._norms)


def test_projection_is_refused_for_a_g_without_batch_norm_and_cgan_feeds_its_mapping_network():
    """StyleGAN2's G has no batch norm for conditional BN to extend: the suite says so and names the way that
    works (the label into the mapping network, which cgan does by widening G's latent)."""
    from ganbench.errors import SpecError
    from ganbench.suite import parse

    doc = {"name": "c", "datasets": [{"name": "digits", "params": {"size": 8}}], "budget": {"steps": 1},
           "evaluation": {"metrics": ["fid"]},
           "models": [{"name": "P", "loss": "ns", "arch": "stylegan2", "conditioning": "projection"}]}
    with pytest.raises(SpecError, match=r"models\[0\].conditioning: 'projection' conditions G through its batch "
                                        r"norms, and architecture 'stylegan2' has none in G; use 'cgan'"):
        parse(doc)
    spec, dataset, cond, g0, d0, out = one_step("cgan", "ns", "stylegan2")
    assert out.status == "done" and moved(out.generator, g0)
    z = torch.rand(1, spec.hparams["z_dim"]).repeat(2, 1) * 2 - 1
    latent = cond.train_latent(z, torch.tensor([2, 7]))  # the same z with two labels
    assert latent.shape[1] == spec.hparams["z_dim"] + dataset.info.num_classes
    w = out.generator.mapping(latent)
    assert not torch.allclose(w[0], w[1])  # the label reaches the style through the mapping network
