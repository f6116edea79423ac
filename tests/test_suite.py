"""Suite validation (one message naming the YAML path, exit code 2) and deterministic expansion."""
import copy
import subprocess
import sys

import pytest
import yaml

from ganbench.errors import SpecError
from ganbench.specs import RunSpec
from ganbench.expand import expand, settings
from ganbench.suite import parse

BASE = {
    "name": "t",
    "datasets": [{"name": "ring"}],
    "models": [{"name": "NS GAN", "loss": "ns", "arch": "mlp"},
               {"name": "WGAN-GP", "loss": "wgan_gp", "arch": "mlp"},
               {"name": "LSGAN", "loss": "lsgan", "arch": "mlp"}],
    "hparams": {"lr": {"loguniform": [1e-5, 1e-2]}, "beta1": {"uniform": [0.0, 1.0]}, "batch_size": 32},
    "search": {"samples": 4, "include_defaults": True, "seed": 7},
    "seeds": [0, 1],
    "budget": {"steps": 20, "eval_every": 10},
    "evaluation": {"metrics": ["modes", "knn"], "n_gen": 100, "n_real": 100},
}


def doc(**changes):
    d = copy.deepcopy(BASE)
    for path, value in changes.items():
        node, *rest = path.split("__")
        target = d
        keys = [node] + rest
        for key in keys[:-1]:
            target = target[int(key)] if isinstance(target, list) else target[key]
        last = keys[-1]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
    return d


def error(d) -> str:
    with pytest.raises(SpecError) as info:
        parse(d)
    return str(info.value)


def test_unknown_loss_names_the_path_and_suggests():
    assert error(doc(models__2__loss="wgan_pg")) == "models[2].loss: unknown loss 'wgan_pg' — did you mean 'wgan_gp'?"


@pytest.mark.parametrize("changes, message", [
    ({"modls": []}, "modls: unknown key 'modls' — did you mean 'models'?"),
    ({"models__0__arch": "mpl"}, "models[0].arch: unknown architecture 'mpl' — did you mean 'mlp'?"),
    ({"datasets__0__name": "rnig"}, "datasets[0].name: unknown dataset 'rnig' — did you mean 'ring'?"),
    ({"evaluation__metrics": ["modes", "kid_"]}, "evaluation.metrics[1]: unknown metric 'kid_' — did you mean 'kid'?"),
    ({"models__1__penalty": "r11"}, "models[1].penalty: unknown penalty 'r11' — did you mean 'r1'?"),
    ({"budget__steps": "many"}, "budget.steps: expected an integer, got a string 'many'"),
    ({"budget__steps": 0}, "budget.steps: must be ≥ 1, got 0"),
    ({"hparams__lr": {"loguniform": [1e-2, 1e-5]}}, "hparams.lr.loguniform: low must be below high, got [0.01, 1e-05]"),
    ({"hparams__lr": {"loguniform": [0.0, 1e-5]}}, "hparams.lr.loguniform[0]: must be ≥ 1e-12, got 0.0"),
    ({"hparams__beta1": 1.5}, "hparams.beta1: must be ≤ 1.0, got 1.5"),
    ({"hparams__n_dics": 5}, "hparams.n_dics: unknown hyperparameter 'n_dics' — did you mean 'n_disc'?"),
    ({"hparams__d_norm": "batchnorm"}, "hparams.d_norm: must be one of batch, none, spectral, layer, got 'batchnorm'"),
    ({"hparams__lr": {"gaussian": [0, 1]}}, "hparams.lr: a distribution is one of {loguniform: ..., uniform: ..., int: ..., choice: ...} or a schedule {cosine: [start, end], linear: [start, end]}, got keys gaussian"),
    ({"hparams__n_disc": {"gaussian": [0, 1]}}, "hparams.n_disc: a distribution is one of {loguniform: ..., uniform: ..., int: ..., choice: ...}, got keys gaussian"),
    ({"seeds": []}, "seeds: expected a count or a non-empty list of integers, got a list []"),
    ({"models__0__kind": "flow"}, "models[0].kind: unknown model kind 'flow' — known: cyclegan, gan, pix2pix, vae"),
    ({"models__1__name": "NS GAN"}, "models[1].name: 'NS GAN' is also models[0]'s name; names must differ"),
])
def test_bad_input_gets_one_clear_message(changes, message):
    text = error(doc(**changes))
    assert text == message


def test_missing_required_field():
    d = doc()
    del d["models"]
    assert error(d) == "models: is required"


def test_architecture_must_handle_the_data_kind():
    text = error(doc(models__0__arch="infogan"))
    assert text.startswith("models[0].arch: architecture 'infogan' handles image data")


def test_metric_that_applies_to_no_dataset():
    assert "none of the metrics applies to dataset 'ring'" in error(doc(evaluation__metrics=["is"]))


def test_vae_takes_no_loss():
    d = doc()
    d["models"].append({"name": "VAE", "kind": "vae", "loss": "ns", "arch": "mlp"})
    assert error(d) == "models[3].loss: a VAE has no GAN loss or penalty; remove it"


def test_random_samples_need_a_distribution():
    d = doc(hparams={"lr": 1e-4})
    assert error(d).startswith("search.samples: 4 random settings asked for")


def test_expansion_counts_and_defaults_first():
    spec = parse(doc())
    runs = expand(spec).runs
    assert len(runs) == 3 * 4 * 2 + 2 * 2  # models × settings × seeds, + the floor and the copycat × seeds
    first = [r for r in runs if r.model.name == "WGAN-GP" and r.setting == 0][0]
    assert first.hparams["lr"] == 2e-4 and first.hparams["beta1"] == 0.5  # defaults, not draws
    assert first.hparams["lambda"] == 10.0 and "lambda" not in runs[0].hparams  # penalty weight only with a penalty
    assert first.hparams["batch_size"] == 32  # fixed values apply to every setting


#: The first run of ``doc()``, written out by hand: every default the resolver must fill in.
CANONICAL_FIRST_RUN = {
    "budget": {"eval_every": 10, "steps": 20},
    "dataset": "ring",
    "dataset_params": {"modes": 8, "n_test": 10000, "n_train": 100000, "radius": 1.0, "seed": 0, "sigma": 0.01},
    "evaluation": {"extractor": "raw", "extractor_options": {}, "metric_options": {}, "metrics": ["modes", "knn"],
                   "n_gen": 100, "n_real": 100, "split": "test"},
    "hparams": {"batch_size": 32, "beta1": 0.5, "beta2": 0.999, "d_norm": "none", "ema": 0.0, "g_norm": "batch",
                "instance_noise": 0.0, "lr": 0.0002, "n_disc": 1, "unroll": 0, "unroll_mode": "through",
                "width": 64, "z_dim": 64, "z_prior": "uniform"},
    "model": {"arch": "mlp", "kind": "gan", "loss": "ns", "name": "NS GAN", "penalty": "none"},
    "phase": "main",
    "revisions": {"trainer": 2},
    "seed": 0,
    "setting": 0,
}


def _sha12(content: dict) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:12]


def test_expansion_is_deterministic_and_run_ids_are_stable():
    """run_id = 12 hex digits of SHA-256 over the canonical JSON of the resolved spec minus the suite name.

    The expected spec is written by hand (the MLP's D without norm, uniform z, the author defaults, the
    trainer's revision), so a silent change to the defaults, the resolution or the hashing rule fails here.
    """
    a, b = expand(parse(doc())).runs, expand(parse(doc())).runs
    assert [r.run_id for r in a] == [r.run_id for r in b]
    assert len({r.run_id for r in a}) == len(a)
    content = a[0].to_dict()
    assert content.pop("suite") == "t"
    assert content.pop("role") == "search"  # kept out of the hash like the suite name
    assert content.pop("headline") == "mode_tv"  # the ring's declared headline: read, not computed
    assert content == CANONICAL_FIRST_RUN
    assert a[0].run_id == _sha12(CANONICAL_FIRST_RUN)


def test_specs_written_before_revisions_keep_their_run_ids():
    """A spec.json without ``revisions`` (every run stored before revisions existed) hashes as it always did."""
    old = {k: v for k, v in CANONICAL_FIRST_RUN.items() if k != "revisions"}
    spec = RunSpec.from_dict({**old, "suite": "t"})
    assert dict(spec.revisions) == {} and "revisions" not in spec.to_dict()
    assert spec.run_id == _sha12(old) != _sha12(CANONICAL_FIRST_RUN)


def test_adding_a_model_does_not_change_other_draws():
    base = parse(doc())
    bigger = doc()
    bigger["models"].append({"name": "Hinge", "loss": "hinge", "arch": "mlp"})
    ids = {r.run_id for r in expand(base).runs}
    assert ids <= {r.run_id for r in expand(parse(bigger)).runs}


def test_run_id_ignores_suite_name_but_not_content():
    renamed = expand(parse(doc(name="other"))).runs[0]
    original = expand(parse(doc())).runs[0]
    assert renamed.run_id == original.run_id and renamed.suite == "other"
    assert expand(parse(doc(budget={"steps": 21, "eval_every": 10}))).runs[0].run_id != original.run_id


def test_spec_round_trips_through_json():
    run = expand(parse(doc())).runs[5]
    assert RunSpec.from_dict(yaml.safe_load(yaml.safe_dump(run.to_dict()))).run_id == run.run_id


def test_grid_times_random_draws():
    d = doc(hparams={"lr": {"loguniform": [1e-4, 1e-3]}, "n_disc": [1, 5]}, search={"samples": 3})
    spec = parse(d)
    sets = settings(spec, spec.phases[0], spec.datasets[0], spec.models[0])
    assert len(sets) == 6 and sorted({s["n_disc"] for s in sets}) == [1, 5]
    assert all(1e-4 <= s["lr"] <= 1e-3 for s in sets)


def test_best_of_phase_waits_then_expands():
    d = doc()
    del d["search"]
    d["phases"] = [{"name": "wide", "samples": 3, "include_defaults": True, "seeds": [0]},
                   {"name": "seeds", "best_of": {"phase": "wide", "metric": "knn"}, "seeds": 5}]
    spec = parse(d)
    exp = expand(spec)
    assert len(exp.runs) == 3 * 3 + 2 * 5 and sum(p.runs for p in exp.pending) == 3 * 5  # + calibration rows
    chosen = {"lr": 1e-3}
    exp2 = expand(spec, best=lambda phase, dataset, model, metric: {**exp.runs[0].hparams, **chosen})
    seeds_runs = [r for r in exp2.runs if r.phase == "seeds"]
    assert len(seeds_runs) == 15 and {r.seed for r in seeds_runs} == set(range(5))
    assert all(r.hparams["lr"] == 1e-3 for r in seeds_runs)


def test_best_of_must_name_an_earlier_phase():
    d = doc()
    d["phases"] = [{"name": "seeds", "best_of": {"phase": "wide", "metric": "knn"}}]
    assert error(d) == "phases[0].best_of.phase: no earlier phase 'wide' (earlier: none)"


def test_best_of_metric_must_be_computed_on_every_dataset():
    """The phase would wait for ever on a dataset that never scores the metric it ranks by (fid on a suite
    that computes modes and knn; a misspelt key everywhere). Without a metric it ranks by each dataset's
    headline, which the dataset computes by construction."""
    d = doc()
    del d["search"]
    d["phases"] = [{"name": "wide", "seeds": [0]}, {"name": "seeds", "best_of": {"phase": "wide"}}]
    assert parse(d).phases[1].best_of.metric is None
    d["phases"][1]["best_of"]["metric"] = "fid"
    assert error(d) == ("phases[1].best_of.metric: no dataset computes 'fid', so the best setting could never be "
                        "chosen there (ring's metrics give: hq_share, knn, knn_gen, knn_real, mode_tv, modes, modes_1pct, "
                        "reverse_kl)")
    d["phases"][1]["best_of"]["metric"] = "knn_gne"
    assert error(d).endswith("reverse_kl — did you mean 'knn_gen'?)")
    d["phases"][1]["best_of"]["metric"] = "knn_gen"
    assert parse(d).phases[1].best_of.metric == "knn_gen"


def test_best_of_without_a_metric_retrains_the_best_by_each_datasets_headline():
    """The lookup is asked for the dataset's headline (mode_tv on the ring), not for FID."""
    d = doc()
    del d["search"]
    d["phases"] = [{"name": "wide", "seeds": [0]}, {"name": "seeds", "best_of": {"phase": "wide"}, "seeds": [1]}]
    asked = []

    def best(phase, dataset, model, metric):
        asked.append((phase, dataset, model, metric))
        return None

    expand(parse(d), best)
    assert asked and {a[3] for a in asked} == {"mode_tv"} and {a[1] for a in asked} == {"ring"}


def test_headline_resolution_per_dataset():
    """Declared by the dataset when computed; the suite's ``evaluation.headline`` wins and must be computed;
    without either the fallback order picks (knn before the mode counts' companions)."""
    spec = parse(doc())
    assert [d.headline for d in spec.datasets] == ["mode_tv"]
    assert {r.headline for r in expand(spec).runs} == {"mode_tv"}
    assert parse(doc(datasets__0__evaluation={"headline": "knn"})).datasets[0].headline == "knn"
    assert error(doc(datasets__0__evaluation={"headline": "fid"})) == (
        "datasets[0].evaluation.headline: dataset 'ring' does not compute 'fid' (its metrics give: modes, hq_share, "
        "reverse_kl, modes_1pct, mode_tv, knn, knn_real, knn_gen)")
    assert error(doc(datasets__0__evaluation={"headline": "mode_1pct"})).endswith("did you mean 'modes_1pct'?)")
    without = parse(doc(datasets__0__evaluation={"metrics": ["knn"]}))
    assert without.datasets[0].headline == "knn"  # the declared mode_tv is not computed


def test_cli_bad_suite_exits_2_without_traceback(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc(models__2__loss="wgan_pg")))
    proc = subprocess.run([sys.executable, "-m", "ganbench.cli", "plan", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: models[2].loss: unknown loss 'wgan_pg' — did you mean 'wgan_gp'?"
    assert "Traceback" not in proc.stderr


def test_cli_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\ndatasets: [ring\nmodels: []\n")
    proc = subprocess.run([sys.executable, "-m", "ganbench.cli", "plan", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2 and "not valid YAML at line" in proc.stderr and "Traceback" not in proc.stderr


def test_yaml_is_loaded_safely(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("name: !!python/object/apply:os.system ['echo pwned']\n")
    proc = subprocess.run([sys.executable, "-m", "ganbench.cli", "plan", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2 and "pwned" not in proc.stdout


@pytest.mark.parametrize("extractor, shown", [("domain", "'domain'"), ("auto", "'auto' (domain on image data)")])
def test_a_label_classifier_extractor_on_unlabelled_data_is_refused_before_any_run(extractor, shown):
    """The domain extractor trains a classifier of the dataset's labels: on triangles only (no classes) every
    run would fail at evaluation, so the suite is refused with the fix."""
    bad = doc(datasets=[{"name": "polygons", "params": {"vertices": 3}}],
              evaluation={"metrics": ["fid"], "extractor": extractor})
    assert error(bad) == (f"datasets[0].evaluation.extractor: extractor {shown} trains a classifier of the "
                          "dataset's labels, and dataset 'polygons' with these params has none; choose raw, "
                          "inception or dinov2 (`ganbench ls extractors`), or labelled data (polygons: vertices "
                          "[3, 4, 5])")
    labelled = doc(datasets=[{"name": "polygons", "params": {"vertices": [3, 4, 5]}}],
                   evaluation={"metrics": ["fid"], "extractor": extractor})
    assert parse(labelled).datasets[0].evaluation.extractor == "domain"


def test_the_data_copying_test_needs_a_held_out_split_beside_the_train_split():
    bad = doc(evaluation={"metrics": ["ct", "knn"], "split": "train"})
    assert error(bad) == ("datasets[0].evaluation.split: metric 'ct' compares the samples' distances to the train "
                          "split with a held-out split's: evaluate on split test")
    authentic = parse(doc(evaluation={"metrics": ["authenticity", "knn"], "split": "train"}))
    assert authentic.datasets[0].evaluation.metrics == ("authenticity", "knn")
