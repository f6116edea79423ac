"""Calibration rows: real data scored as a model (ganbench/calibration.py), from the suite to the report."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from ganbench import calibration
from ganbench.check import aggregate
from ganbench.data import load_dataset
from ganbench.errors import GanbenchError, SpecError
from ganbench.expand import expand
from ganbench.features.cache import real_indices
from ganbench.report import build
from ganbench.results import load_results
from ganbench.results.store import Store
from ganbench.run_one import execute
from ganbench.specs import EvalProtocol
from ganbench.suite import parse

RING = {"name": "ring", "params": {"n_train": 3000, "n_test": 900, "sigma": 0.05}}
DIGITS = {"name": "digits", "params": {"size": 8, "n_test": 600}}


def suite(**changes):
    doc = {"name": "calib", "datasets": [RING], "models": [{"name": "NS GAN", "loss": "ns", "arch": "mlp"}],
           "hparams": {"batch_size": 32, "width": 8, "z_dim": 2}, "seeds": [3, 4],
           "budget": {"steps": 20, "eval_every": 20},
           "evaluation": {"metrics": ["modes", "knn", "fid"], "n_gen": 300, "n_real": 300, "extractor": "raw"}}
    doc.update(changes)
    return parse(doc)


def calibration_runs(spec):
    return [r for r in expand(spec).runs if r.role == "calibration"]


# ---------------------------------------------------------------- the suite and its expansion

def test_every_suite_gets_a_floor_and_a_copycat_per_dataset_over_the_last_phase_seeds():
    spec = suite(datasets=[RING, {"name": "grid", "params": {"n_train": 2000, "n_test": 900}}])
    assert spec.calibration == ("floor", "copycat", "identity")  # identity: on domain pairs only (translation)
    runs = calibration_runs(spec)
    got = sorted((r.dataset, r.model.kind, r.seed) for r in runs)
    assert got == sorted((d, k, s) for d in ("ring", "grid") for k in ("floor", "copycat") for s in (3, 4))
    for run in runs:
        assert run.phase == "calibration" and run.budget.steps == 0 and run.hparams == {}
        assert run.model.loss is None and run.model.name == calibration.model_spec(run.model.kind).name
    models = [r for r in expand(spec).runs if r.role != "calibration"]
    assert len(models) == 2 * 2  # the model's runs are what they were


def test_calibration_runs_do_not_depend_on_the_models_and_follow_the_last_phase():
    one = calibration_runs(suite())
    two = calibration_runs(suite(models=[{"name": "NS GAN", "loss": "ns", "arch": "mlp"},
                                         {"name": "WGAN", "loss": "wgan", "arch": "mlp"}]))
    assert [r.run_id for r in one] == [r.run_id for r in two]
    phased = suite(phases=[{"name": "wide", "samples": 2, "seeds": [0], "hparams": {"lr": {"loguniform": [1e-4, 1e-3]}}},
                           {"name": "seeds", "best_of": {"phase": "wide"}, "seeds": [7, 8, 9]}])
    assert sorted({r.seed for r in calibration_runs(phased)}) == [7, 8, 9]  # the phase the report compares on


def test_a_suite_can_ask_for_one_row_or_none_and_a_wrong_name_is_one_clear_message():
    assert {r.model.kind for r in calibration_runs(suite(calibration=["copycat"]))} == {"copycat"}
    assert calibration_runs(suite(calibration=[])) == []
    assert {r.model.kind for r in calibration_runs(suite(calibration=["real"]))} == {"floor"}  # an alias
    with pytest.raises(SpecError, match=r"calibration\[0\].*'flor'.*floor"):
        suite(calibration=["flor"])
    with pytest.raises(SpecError, match="calibration: expected a list"):
        suite(calibration="floor")
    with pytest.raises(SpecError, match="named twice"):
        suite(calibration=["floor", "real"])


def test_metrics_real_data_cannot_feed_are_dropped_from_a_calibration_protocol():
    protocol = EvalProtocol("raw", ("fid", "polygon_pr", "label_consistency", "knn"), 10, 10)
    assert calibration.protocol(protocol).metrics == ("fid", "knn")
    spec = suite(datasets=[{"name": "polygons", "params": {"vertices": [3, 4], "n_train": 200, "n_test": 300,
                                                           "n_holdout": 100}}],
                 models=[{"name": "NS GAN", "loss": "ns", "arch": "dcgan"}],
                 evaluation={"metrics": ["polygon_pr", "fid"], "n_gen": 50, "n_real": 50, "extractor": "raw"})
    assert {r.evaluation.metrics for r in calibration_runs(spec)} == {("fid",)}


# ---------------------------------------------------------------- the samples

def test_the_floor_takes_real_samples_no_metric_reads_otherwise():
    dataset = load_dataset("ring", RING["params"])
    protocol = EvalProtocol("raw", ("fid",), n_gen=500, n_real=300)
    test = dataset.split("test")
    reference = {tuple(row) for row in test.get(real_indices(test, 300)).tolist()}
    draw = calibration.floor_samples(dataset, protocol, seed=1, n_train_used=0)
    rows = [tuple(row) for row in draw.samples.tolist()]
    test_rows = {tuple(row) for row in test.all().tolist()}
    assert len(rows) == 500 == len(set(rows)) and set(rows) <= test_rows and not set(rows) & reference
    assert "test" in draw.source
    other = calibration.floor_samples(dataset, protocol, seed=2, n_train_used=0).samples
    assert not torch.equal(other, draw.samples)  # a seed redraws the floor
    assert torch.equal(calibration.floor_samples(dataset, protocol, seed=1, n_train_used=0).samples, draw.samples)


def test_the_floor_falls_back_on_train_samples_the_memorisation_metrics_do_not_read():
    dataset = load_dataset("ring", RING["params"])
    protocol = EvalProtocol("raw", ("fid",), n_gen=700, n_real=300)  # the test split has 600 left
    train = dataset.split("train")
    read = {tuple(row) for row in train.get(real_indices(train, 2000)).tolist()}
    draw = calibration.floor_samples(dataset, protocol, seed=0, n_train_used=2000)
    rows = {tuple(row) for row in draw.samples.tolist()}
    assert len(rows) == 700 and rows <= {tuple(r) for r in train.all().tolist()} and not rows & read
    assert "train" in draw.source
    with pytest.raises(GanbenchError, match=r"'floor' on ring.*test 900 − 300 used = 600; train 3000 − 2500 used "
                                            r"= 500.*calibration: \[copycat\]"):
        calibration.floor_samples(dataset, protocol, seed=0, n_train_used=2500)


def test_the_copycat_returns_training_images():
    dataset = load_dataset("digits", DIGITS["params"])
    train = dataset.split("train")
    draw = calibration.copycat_samples(dataset, EvalProtocol("domain", ("fid",), 300, 300), seed=0)
    flat = train.all().flatten(1)
    assert all(bool((flat == image.flatten()).all(dim=1).any()) for image in draw.samples)
    assert len({tuple(x.flatten().tolist()) for x in draw.samples}) == 300  # without replacement
    many = calibration.copycat_samples(dataset, EvalProtocol("domain", ("fid",), 1500, 300), seed=0)
    assert len(many.samples) == 1500 and "1197 distinct" in many.source


# ---------------------------------------------------------------- end to end

@pytest.fixture(scope="module")
def digits_results(tmp_path_factory):
    """A tiny digits suite's calibration rows, run and stored (2 seeds each; the model runs are not trained)."""
    root = tmp_path_factory.mktemp("calibration")
    spec = suite(datasets=[DIGITS], models=[{"name": "NS GAN", "loss": "ns", "arch": "dcgan"}],
                 hparams={"batch_size": 32, "width": 8},
                 evaluation={"metrics": ["fid", "authenticity", "ct", "knn"], "n_gen": 300, "n_real": 300,
                             "extractor": "domain"})
    store = Store(root)
    runs = expand(spec).runs
    for run in runs:
        assert execute(run, store) == "done"
    return root, runs


def test_a_calibration_record_is_an_ordinary_finished_run_with_its_source(digits_results):
    root, runs = digits_results
    frame = load_results(root)
    calib = frame[frame["role"].astype(str) == "calibration"]
    assert set(calib["model"].astype(str)) == {"real data (floor)", "copycat (train images)"}
    assert set(calib["status"].astype(str)) == {"done"} and set(calib["step"]) == {0}
    record = json.loads(next((root / "calib").glob("*/result.json")).read_text())
    floor_dir = next(d for d in (root / "calib").iterdir()
                     if json.loads((d / "spec.json").read_text())["model"]["kind"] == "floor")
    protocol = json.loads((floor_dir / "result.json").read_text())["protocol"]
    assert protocol["calibration_samples"] == "300 test samples outside the 300 the metrics read"
    assert (floor_dir / "samples.png").is_file() and "protocol" in record


def test_the_copycat_is_near_the_floor_on_fid_and_caught_by_the_memorisation_metrics(digits_results):
    root, _ = digits_results
    frame = load_results(root)
    final = frame[frame["is_final"]]

    def value(model: str, metric: str) -> np.ndarray:
        rows = final[(final["model"].astype(str) == model) & (final["metric"].astype(str) == metric)]
        return rows["value"].to_numpy(dtype=float)

    floor, copycat, untrained = "real data (floor)", "copycat (train images)", "NS GAN"
    assert (value(floor, "fid") < 0.05 * value(untrained, "fid").min()).all()  # real data is near the floor
    assert abs(value(copycat, "fid").mean() - value(floor, "fid").mean()) < 0.5 * value(floor, "fid").mean()
    assert (value(copycat, "authenticity") < 0.05).all() and (value(floor, "authenticity") > 0.3).all()
    assert (value(copycat, "ct") < -5).all() and (np.abs(value(floor, "ct")) < 3).all()


def test_reports_show_calibration_rows_beside_the_models_and_keep_them_out_of_tests_and_the_gate(
        digits_results, tmp_path):
    root, _ = digits_results
    frame = load_results(root)
    index = build(frame, tmp_path / "report", n_boot=50, formats=("png",))
    tables = tmp_path / "report" / "tables"
    summary = (tables / "summary.md").read_text()
    assert "real data (floor) †" in summary and "copycat (train images) †" in summary
    assert summary.index("NS GAN") < summary.index("real data (floor)") < summary.index("copycat")
    floor_line = next(line for line in summary.splitlines() if "floor" in line)
    assert "**" not in floor_line  # far better than the untrained model, and still not marked best
    page = index.read_text()
    assert "calibration.md" in page
    assert "Grey lines: real data scored as a model" in page  # the floor and the copycat across the boxes
    assert "authenticity" in (tables / "calibration.md").read_text()
    findings = (tables / "findings.md").read_text()
    assert "real data (floor)" in findings and "they tell copying apart" in findings
    scores = (tables / "run_scores.csv").read_text()
    assert "floor" not in scores  # no ranking, test or curve reads them
    assert set(aggregate(frame)["model"]) == {"NS GAN"}  # nor the regression gate


def test_the_check_prints_the_calibration_rows_beside_the_gated_metrics_and_never_fails_on_them(digits_results):
    from ganbench.check import Entry, compare, failed, format_table

    root, _ = digits_results
    frame = load_results(root)
    fid = float(aggregate(frame).set_index(["model", "metric"]).loc[("NS GAN", "fid"), "value"])
    table = compare(frame, [Entry("digits", "NS GAN", "fid", fid, 1.0, 2, False, 0.1 * fid)])
    rows = table[table["status"] == "calibration"]
    assert set(rows["model"]) == {"real data (floor)", "copycat (train images)"} and set(rows["metric"]) == {"fid"}
    assert (rows["current"] < 0.05 * fid).all() and not failed(table)
    text = format_table(table)
    assert "2 calibration rows (real data scored as a model, never gated)" in text and "real data (floor)" in text


def test_the_findings_say_when_a_floor_had_to_come_from_the_train_split_the_classifier_saw():
    from ganbench.report.findings import _calibration

    models = pd.DataFrame([{"model": "NS GAN", "calibration": False, "fid_mean": 80.0, "fid_best": 70.0}])
    rows = pd.DataFrame([{"model": "real data (floor)", "calibration": True, "fid_mean": 10.0, "fid_best": 9.0},
                         {"model": "copycat (train images)", "calibration": True, "fid_mean": 11.0, "fid_best": 9.5}])
    said = " ".join(_calibration(models, rows, "fid", False, "500 train samples outside the 0 the metrics read"))
    assert "fit on the train split, so it has seen them" in said and "8.0× the floor" in said
    held_out = " ".join(_calibration(models, rows, "fid", False, "300 test samples outside the 300 the metrics read"))
    assert "has seen them" not in held_out
    beyond = pd.DataFrame([{"model": "Cheater", "calibration": False, "fid_mean": 5.0, "fid_best": 5.0}])
    assert "Cheater scores better than held-out real data" in " ".join(_calibration(beyond, rows, "fid", False))


def test_a_phase_cannot_take_the_calibration_rows_name():
    with pytest.raises(SpecError, match=r"phases\[0\].name: 'calibration' is the phase of the calibration rows"):
        suite(phases=[{"name": "calibration", "seeds": [0]}])
