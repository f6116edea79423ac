"""Which runs train together (--ensemble): the key, the blockers, the units and the option's values."""
from __future__ import annotations

import pytest

from ganbench.ensemble.plan import (AUTO_MEMBERS, describe_units, ensemble_blocker, ensemble_key, parse_ensemble,
                                    plan_units)
from ganbench.errors import GanbenchError
from helpers.specs import run_spec


def test_seeds_and_member_hyperparameters_share_a_key():
    base = ensemble_key(run_spec(seed=0))
    assert ensemble_key(run_spec(seed=3, hparams={"lr": 5e-4, "beta1": 0.1, "beta2": 0.9})) == base
    assert ensemble_key(run_spec("ring", "wgan", hparams={"clip": 0.1})) == \
        ensemble_key(run_spec("ring", "wgan", seed=2, hparams={"clip": 0.5}))


@pytest.mark.parametrize("change", [dict(hparams={"width": 16}), dict(hparams={"batch_size": 32}),
                                    dict(loss="lsgan"), dict(steps=30), dict(n=50), dict(hparams={"n_disc": 2}),
                                    dict(dataset_params={"sigma": 0.1})])
def test_what_members_must_share_splits_the_key(change):
    assert ensemble_key(run_spec(**change)) != ensemble_key(run_spec())


def test_a_penalty_weight_of_zero_is_not_grouped_with_a_penalised_run():
    """λ = 0 skips the penalty and its random draws, so such a run's latent stream is not a penalised one's."""
    assert ensemble_key(run_spec("ring", "wgan_gp", hparams={"lambda": 0.0})) != \
        ensemble_key(run_spec("ring", "wgan_gp", hparams={"lambda": 1.0}))
    assert ensemble_key(run_spec("ring", "wgan_gp", hparams={"lambda": 2.0})) == \
        ensemble_key(run_spec("ring", "wgan_gp", hparams={"lambda": 1.0}))


@pytest.mark.parametrize("spec, why", [
    (lambda: run_spec(kind="vae"), "kind 'vae'"),
    (lambda: run_spec("ring", "began"), "BEGAN"),
    (lambda: run_spec(hparams={"lr": {"linear": [1e-3, 1e-4]}}), "hparams.lr follows a schedule"),
    (lambda: run_spec(hparams={"instance_noise": 0.1}), "instance_noise"),
    (lambda: run_spec("digits", arch="dcgan", dataset_params={"size": 8}, conditioning="cgan"), "conditioning"),
    (lambda: run_spec("digits", arch="dcgan", dataset_params={"size": 8}, augment="diffaug"), "augment"),
])
def test_what_the_ensemble_trainer_cannot_take_is_named(spec, why):
    assert why in ensemble_blocker(spec())


def test_units_group_by_key_in_order_and_leave_others_alone():
    ns = [run_spec(seed=s) for s in range(3)]
    ls = [run_spec("ring", "lsgan", seed=s) for s in range(2)]
    vae = run_spec(kind="vae")
    units = plan_units([ns[0], ls[0], vae, ns[1], ls[1], ns[2]], 8)
    assert units == [tuple(ns), tuple(ls), (vae,)]
    assert plan_units(ns, None) == [(r,) for r in ns]


def test_a_member_count_caps_each_ensemble_and_auto_fills_the_slots():
    runs = [run_spec(seed=s) for s in range(7)]
    assert [len(u) for u in plan_units(runs, 3)] == [3, 2, 2]
    assert sorted(r.seed for u in plan_units(runs, 3) for r in u) == list(range(7))
    assert [len(u) for u in plan_units(runs, "auto", slots=1)] == [7]
    assert sorted(len(u) for u in plan_units(runs, "auto", slots=2)) == [3, 4]
    many = [run_spec(seed=s) for s in range(AUTO_MEMBERS + 1)]
    assert max(len(u) for u in plan_units(many, "auto", slots=1)) <= AUTO_MEMBERS


@pytest.mark.parametrize("value, expected", [(None, None), ("off", None), ("auto", "auto"), ("4", 4), (2, 2)])
def test_the_option_reads_off_auto_or_a_count(value, expected):
    assert parse_ensemble(value) == expected


@pytest.mark.parametrize("value", ["0", "-2", "many"])
def test_a_bad_option_names_the_values(value):
    with pytest.raises(GanbenchError, match="--ensemble: expected 'auto', 'off' or a number"):
        parse_ensemble(value)


def test_auto_groups_on_a_cpu_only_what_was_measured_to_pay_there():
    """Grouped convolutions cost more than their members' on a CPU (benchmarks/README.md): auto leaves the conv
    nets alone there, groups them on a GPU, and an explicit member count groups them anywhere."""
    dcgan = [run_spec("digits", arch="dcgan", dataset_params={"size": 8}, seed=s) for s in range(4)]
    mlp = [run_spec(seed=s) for s in range(4)]
    assert [len(u) for u in plan_units(dcgan + mlp, "auto", device="cpu")] == [1, 1, 1, 1, 4]
    assert [len(u) for u in plan_units(dcgan + mlp, "auto", device="cuda")] == [4, 4]
    assert [len(u) for u in plan_units(dcgan, 4, device="cpu")] == [4]


def test_the_blocker_reads_metadata_that_agrees_with_the_classes():
    """The planner reads the catalog without torch; the metadata must say what the classes do: every loss
    with an autoencoder D or a per-step update is declared so, and every architecture declared groupable
    builds a grouped network (and the others do not)."""
    import torch

    from ganbench.catalog import ARCHS, LOSSES
    from ganbench.data import load_dataset
    from ganbench.ensemble.grouped import supports
    from ganbench.train import build_run

    for entry in LOSSES:
        stateful = entry.obj.d_output != "logit" or entry.obj.rescores_after_step
        assert stateful == (entry.metadata.get("d_output", "logit") != "logit"), entry.name
    for entry in ARCHS:
        if entry.metadata.get("task") == "translation":
            continue
        image = "image" in entry.metadata["data_kinds"]
        spec = run_spec("digits", arch=entry.name, dataset_params={"size": 8}) if image else run_spec(arch=entry.name)
        run = build_run(spec, load_dataset(spec.dataset, dict(spec.dataset_params)), torch.device("cpu"))
        groupable = supports(run.G) is None and supports(run.D) is None
        assert groupable == bool(entry.metadata.get("ensemble_pays")), entry.name


@pytest.mark.parametrize("spec, why", [
    (lambda: run_spec("digits", arch="resnet", dataset_params={"size": 8}), "architecture 'resnet' has no grouped"),
    (lambda: run_spec(hparams={"d_norm": "spectral"}), "spectral norm has no grouped form"),
])
def test_networks_without_a_grouped_form_are_named_before_anything_is_built(spec, why):
    assert why in ensemble_blocker(spec())


def test_the_plan_is_told_in_one_line():
    ns = [run_spec(seed=s) for s in range(4)]
    lone = run_spec("ring", "lsgan")
    vae = [run_spec(kind="vae", seed=s) for s in range(2)]
    dcgan = [run_spec("digits", arch="dcgan", dataset_params={"size": 8}, seed=s) for s in range(2)]
    units = plan_units(ns + [lone] + vae + dcgan, "auto", device="cpu")
    assert describe_units(units, "auto", "cpu") == (
        "--ensemble auto: 4 runs in 1 ensemble of 4, 5 alone (kind 'vae' (the ensemble trainer takes GANs): 2; "
        "grouping does not pay on cpu: 2; no other run to group with: 1)")
    assert describe_units(plan_units(ns, 2), 2) == "--ensemble 2: 4 runs in 2 ensembles of 2"
