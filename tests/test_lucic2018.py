"""suites/lucic.yaml, the registries and the report's departure check against the study's code facts.

Each fact in :mod:`ganbench.lucic2018` names its compare_gan v1.0 file; these tests fail when the
shipped suite or a component drifts from it (or the facts themselves drift from the literal formula).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ganbench import lucic2018 as study
from ganbench.specs import Distribution
from ganbench.expand import expand, settings
from ganbench.suite import load

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "suites" / "lucic.yaml"


@pytest.fixture(scope="module")
def suite():
    return load(SUITE)


def test_budget_formula_is_the_studys():
    """generate_tasks_lib.TuneParams: 20/100/40 epochs of 50,000/50,000/162,000 images at batch 64,
    a checkpoint every 5 epochs. CelebA was 31,250 / 3,907 steps before (an epoch of 50,000)."""
    assert study.budget_steps("mnist") == 20 * 50_000 // 64 == 15_625
    assert study.budget_steps("cifar10") == 100 * 50_000 // 64 == 78_125
    assert study.budget_steps("celeba") == 40 * 162_000 // 64 == 101_250
    assert study.checkpoint_every("mnist") == 5 * 50_000 // 64 == 3_906
    assert study.checkpoint_every("celeba") == 5 * 162_000 // 64 == 12_656


def test_suite_budgets_and_evaluation_are_the_studys(suite):
    for entry in suite.datasets:
        assert (entry.budget.steps, entry.budget.eval_every) == \
            (study.budget_steps(entry.name), study.checkpoint_every(entry.name)), entry.name
        assert entry.evaluation.n_gen == entry.evaluation.n_real == study.N_EVAL
        assert entry.evaluation.split == study.EVAL_SPLIT and entry.evaluation.extractor == study.EXTRACTOR
        assert entry.evaluation.metric_options["is"]["splits"] == study.IS_SPLITS


def test_plan_counts_the_studys_celeba_budget():
    """`ganbench plan --json`: 100 wide settings × 101,250 steps on CelebA per model."""
    out = subprocess.run([sys.executable, "-m", "ganbench.cli", "plan", str(SUITE), "--json"],
                         capture_output=True, text=True, check=True)
    rows = json.loads(out.stdout)["rows"]
    celeba = [r for r in rows if r["dataset"] == "celeba" and r["phase"] == "wide"]
    assert len(celeba) == 8 and all(r["runs"] == 100 and r["steps"] == 100 * 101_250 for r in celeba)
    narrow = [r for r in rows if r["dataset"] == "celeba" and r["phase"] == "narrow"]
    assert all(r["settings"] == 50 and r["steps"] == 50 * 101_250 for r in narrow)


def test_author_defaults_are_setting_zero_of_both_search_phases(suite):
    """params.py *HyperParams UpdateDefaults, prepended by TuneParams to the wide and the narrow range
    alike; the narrow range's VAE default has BN off (its AddRange default is False)."""
    for model in suite.models:
        loss, defaults = study.AUTHOR_DEFAULTS[model.name]
        assert model.loss == loss and model.arch["image"] == study.ARCH
        for phase in suite.phases[:2]:
            first = settings(suite, phase, suite.datasets[0], model)[0]
            expected = {**defaults, **(study.NARROW_DEFAULTS.get(model.name, {}) if phase.name == "narrow" else {})}
            if model.kind == "vae":
                expected.setdefault("d_norm", "batch")  # the wide range's default for every model
            assert {k: first[k] for k in expected} == expected, (phase.name, model.name)


def _spaces(suite, phase_name: str):
    phase = next(p for p in suite.phases if p.name == phase_name)
    return phase, {m.name: settings(suite, phase, suite.datasets[0], m) for m in suite.models}


def test_narrow_phase_samples_batch_norm_for_all_but_wgan_gp_and_dragan(suite):
    """params.py: the narrow range still draws BN in D from {on, off} for GAN, MM GAN, LSGAN, WGAN,
    BEGAN and the VAE; only WGAN-GP and DRAGAN fix it off. (Revision 1 of the suite fixed it for all.)"""
    phase, drawn = _spaces(suite, "narrow")
    for name, runs in drawn.items():
        assert len(runs) == study.NARROW_SETTINGS
        norms = {r["d_norm"] for r in runs[1:]}
        if name in study.NARROW_BN_OFF:
            assert norms == {"none"}, name
        else:
            assert norms == {"batch", "none"}, name
            share = sum(r["d_norm"] == "batch" for r in runs[1:]) / len(runs[1:])
            assert 0.25 < share < 0.75, (name, share)  # a fair coin over 49 draws


def test_search_ranges_are_the_studys(suite):
    for phase_name, ranges in (("wide", study.WIDE_RANGE), ("narrow", study.NARROW_RANGE)):
        phase = next(p for p in suite.phases if p.name == phase_name)
        for key, value in ranges.items():
            got = phase.hparams[key]
            if isinstance(value, tuple):
                assert isinstance(got, Distribution) and got.kind == value[0], (phase_name, key)
                assert tuple(got.args) == (tuple(value[1]) if value[0] == "choice" else value[1:]), (phase_name, key)
            else:
                assert got == value, (phase_name, key)
    wide, drawn = _spaces(suite, "wide")
    assert all(len(runs) == study.WIDE_SETTINGS for runs in drawn.values())
    seeds = next(p for p in suite.phases if p.best_of)
    assert seeds.best_of.phase == "wide" and seeds.best_of.metric == "fid" and len(seeds.seeds) == study.SEEDS


def test_every_run_of_the_lucic_suite_is_the_study(suite):
    runs = expand(suite).runs
    assert runs and all(study.departures(r.to_dict()) == [] for r in runs)


def test_departures_name_what_differs(suite):
    run = expand(suite).runs[0].to_dict()
    run["evaluation"]["n_gen"] = 5000
    run["budget"]["steps"] = 100
    run["hparams"]["z_prior"] = "normal"
    run["revisions"] = {}
    found = study.departures(run)
    assert "generated samples 5000 (study: 10000)" in found
    assert "steps 100 (study: 15625)" in found and "z prior normal (study: uniform)" in found
    assert any("older arch (revision 1" in f for f in found) and any("older trainer" in f for f in found)
    assert study.departures(expand(suite).runs[0].to_dict()) == []  # the study's own run departs from nothing
    modern = expand(suite).runs[0].to_dict()
    modern["model"]["augment"] = "ada"
    modern["hparams"].update(lr={"cosine": [2e-4, 5e-5]}, beta2={"linear": [0.9, 0.99]}, lecam=0.3, penalty_every=4)
    assert set(study.departures(modern)) == {
        "D's inputs augmented by ada (study: none)", "LeCam regularisation 0.3 (study: none)",
        "lazy regularisation every 4 (study: none)", "lr scheduled cosine 0.0002→5e-05 (study: fixed)",
        "beta2 linear 0.9→0.99 (study: 0.999)"}
    embedded = expand(load(ROOT / "suites" / "ci.yaml")).runs[0].to_dict()
    assert study.departures(embedded) == ["dataset 'ring' is not one of the study's (MNIST, Fashion-MNIST, "
                                          "CIFAR-10, CelebA)"]
    conditional = expand(suite).runs[0].to_dict()
    conditional["model"]["conditioning"] = "projection"
    assert study.departures(conditional) == ["conditioning 'projection': the study's GANs are unconditional"]


def test_study_revisions_match_the_registries():
    from ganbench.catalog import registries
    from ganbench.revisions import TRAINER

    reg = registries()
    assert TRAINER == {"gan": study.REVISIONS["trainer"], "vae": study.REVISIONS["trainer"]}
    for name, revision in study.REVISIONS["arch"].items():
        assert reg["architectures"].meta(name)["revision"] == revision
    for name, revision in study.REVISIONS["loss"].items():
        assert reg["losses"].meta(name)["revision"] == revision
    for name, revision in study.REVISIONS["penalty"].items():
        assert reg["penalties"].meta(name)["revision"] == revision


def test_network_constants_are_the_studys():
    from ganbench.nets.infogan import LEAK
    from ganbench.nets.layers import StudyBatchNorm
    from ganbench.train import BEGAN_CODE_DIM

    assert (StudyBatchNorm.DECAY, StudyBatchNorm.EPS) == (study.BN_DECAY, study.BN_EPS)
    assert LEAK == study.LEAK and BEGAN_CODE_DIM == study.BEGAN_CODE


def test_default_is_splits_known_to_the_departure_check_is_the_metrics():
    from ganbench.metrics import METRICS

    assert METRICS.meta("is")["defaults"]["splits"] == study.DEFAULT_IS_SPLITS


def test_failure_score_is_the_studys_nan_fid():
    from ganbench.results.study import STUDY_FAILURE_SCORE

    assert STUDY_FAILURE_SCORE["fid"] == study.NAN_FID == 31337.0
