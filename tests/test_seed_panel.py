"""The seed panel: every evaluation point scored under S sampling seeds, and the spread over seeds split into
its training and sampling parts (ganbench.results.stats.seed_components, study.seed_panel)."""
from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from ganbench.data import load_dataset
from ganbench.errors import SpecError
from ganbench.evaluate import Evaluator
from ganbench.expand import expand
from ganbench.report import build
from ganbench.results import load_results
from ganbench.results.stats import LOTTERY_RATIO, seed_components
from ganbench.results.store import Store
from ganbench.results.study import seed_panel
from ganbench.run_one import execute
from ganbench.suite import parse
from ganbench.train import build_networks, latent_sampler

from helpers.specs import run_spec


def draw(rng, n: int, s: int, sd_training: float, sd_sampling: float) -> np.ndarray:
    """Scores of n networks × s redraws: a network effect of spread sd_training, redraw noise sd_sampling."""
    return 50.0 + rng.normal(0, sd_training, (n, 1)) + rng.normal(0, sd_sampling, (n, s))


# ---------------------------------------------------------------- the decomposition

def test_the_decomposition_is_the_anova_of_mean_squares_written_out():
    y = np.array([[10.0, 12.0, 11.0], [20.0, 19.0, 21.0], [15.0, 15.5, 14.5], [9.0, 11.0, 10.0]])
    n, s = y.shape
    grand = sum(map(sum, y)) / (n * s)
    ms_between = s * sum((sum(row) / s - grand) ** 2 for row in y) / (n - 1)
    ms_within = sum((v - sum(row) / s) ** 2 for row in y for v in row) / (n * (s - 1))
    found = seed_components(y)
    assert found["sampling_sd"] == pytest.approx(math.sqrt(ms_within))
    assert found["training_sd"] == pytest.approx(math.sqrt((ms_between - ms_within) / s))
    assert found["ratio"] == pytest.approx(math.sqrt((ms_between - ms_within) / s + ms_within) / math.sqrt(ms_within))
    assert (found["training_seeds"], found["sampling_seeds"]) == (4, 3)


@pytest.mark.parametrize("sd_training, sd_sampling", [(3.0, 1.0), (1.0, 2.0), (0.0, 1.5)])
def test_the_decomposition_recovers_known_components(sd_training, sd_sampling):
    rng = np.random.default_rng(7)
    found = seed_components(draw(rng, 600, 5, sd_training, sd_sampling), np.random.default_rng(1), n_boot=300)
    assert found["sampling_sd"] == pytest.approx(sd_sampling, rel=0.05)
    assert found["training_sd"] == pytest.approx(sd_training, abs=0.1 * max(sd_training, sd_sampling))
    truth = math.sqrt(sd_training ** 2 + sd_sampling ** 2) / sd_sampling
    assert found["ratio"] == pytest.approx(truth, rel=0.08)
    assert found["ratio_low"] <= found["ratio"] <= found["ratio_high"]


def test_the_bootstrap_intervals_cover_the_truth_about_as_often_as_they_say():
    """Over 60 studies of 40 seeds × 4 redraws, the 95% intervals hold the true σ sampling and ratio in most
    (a percentile bootstrap of a variance component undercovers a little at this n; a wrong one rarely covers)."""
    sd_training, sd_sampling = 2.0, 1.0
    truth = math.sqrt(sd_training ** 2 + sd_sampling ** 2) / sd_sampling
    held = {"sampling_sd": 0, "ratio": 0}
    for rep in range(60):
        found = seed_components(draw(np.random.default_rng(100 + rep), 40, 4, sd_training, sd_sampling),
                                np.random.default_rng(rep), n_boot=200)
        held["sampling_sd"] += found["sampling_sd_low"] <= sd_sampling <= found["sampling_sd_high"]
        held["ratio"] += found["ratio_low"] <= truth <= found["ratio_high"]
    assert held["sampling_sd"] >= 0.8 * 60 and held["ratio"] >= 0.8 * 60, held


def test_the_lottery_ratio_is_recovered_and_intervals_narrow_with_seeds():
    """Components chosen so that retraining moves the score 3.2× a redraw: √(σt² + σs²)/σs = 3.2."""
    sd_sampling = 1.0
    sd_training = math.sqrt(LOTTERY_RATIO ** 2 - 1) * sd_sampling
    widths = []
    for n in (8, 200):
        found = seed_components(draw(np.random.default_rng(n), n, 4, sd_training, sd_sampling),
                                np.random.default_rng(0), n_boot=400)
        widths.append(found["ratio_high"] - found["ratio_low"])
    assert found["ratio"] == pytest.approx(LOTTERY_RATIO, rel=0.1)
    assert widths[1] < widths[0] / 2


def test_the_decomposition_needs_two_seeds_of_two_redraws_each():
    for bad in (np.ones((1, 3)), np.ones((3, 1)), np.array([[1.0, np.nan], [2.0, 3.0]])):
        with pytest.raises(ValueError, match="2 training seeds"):
            seed_components(bad)


def test_seed_panel_reads_the_seed_study_runs_panels_per_model():
    rng = np.random.default_rng(3)
    rows = []
    for model, (t, s) in {"A": (4.0, 1.0), "B": (0.5, 2.0)}.items():
        for i, values in enumerate(draw(rng, 300, 4, t, s)):
            rows.append({"dataset": "d", "model": model, "metric": "fid", "seed_run": True,
                         "sampling_panel": json.dumps({"fid": list(values)})})
        rows.append({"dataset": "d", "model": model, "metric": "fid", "seed_run": False,  # a search run
                     "sampling_panel": json.dumps({"fid": [1e6, -1e6, 0.0, 5.0]})})
    rows.append({"dataset": "d", "model": "C", "metric": "fid", "seed_run": True, "sampling_panel": None})
    out = seed_panel(pd.DataFrame(rows), n_boot=100).set_index("model")
    assert list(out.index) == ["A", "B"]  # C scored one sampling seed: nothing to split
    assert out.loc["A", "training_sd"] == pytest.approx(4.0, rel=0.1)
    assert out.loc["B", "sampling_sd"] == pytest.approx(2.0, rel=0.1)
    assert out.loc["A", "ratio"] > LOTTERY_RATIO > out.loc["B", "ratio"]
    assert (out["training_seeds"] == 300).all() and (out["lottery_ratio"] == LOTTERY_RATIO).all()


# ---------------------------------------------------------------- the suite and the evaluator

def test_sampling_seeds_is_part_of_the_protocol_and_leaves_one_seed_run_ids_alone():
    one = run_spec(metrics=("knn",))
    same = run_spec(metrics=("knn",))
    assert one.run_id == same.run_id and "sampling_seeds" not in one.to_dict()["evaluation"]
    doc = {"name": "t", "datasets": ["ring"], "models": [{"name": "m", "loss": "ns", "arch": "mlp"}],
           "hparams": {"batch_size": 16, "width": 8}, "seeds": [0], "budget": {"steps": 20, "eval_every": 20},
           "evaluation": {"metrics": ["knn"], "n_gen": 100, "n_real": 100}}
    base = expand(parse(doc)).runs[0]
    assert base.run_id == one.run_id
    panel = expand(parse({**doc, "evaluation": {**doc["evaluation"], "sampling_seeds": 3}})).runs
    assert panel[0].evaluation.sampling_seeds == 3 and panel[0].run_id != base.run_id
    assert {r.evaluation.sampling_seeds for r in panel if r.role == "calibration"} == {1}  # one draw per seed
    for bad, message in ((0, "must be ≥ 1"), (101, "must be ≤ 100"), ("3", "expected an integer")):
        with pytest.raises(SpecError, match=rf"evaluation.sampling_seeds: .*{message}"):
            parse({**doc, "evaluation": {**doc["evaluation"], "sampling_seeds": bad}})


def test_the_evaluator_scores_s_redraws_their_mean_and_redraw_zero_is_the_one_seed_draw(tmp_path):
    params = {"n_train": 2000, "n_test": 600}
    one = run_spec(metrics=("knn", "fid"), n=300, dataset_params=params)
    three = replace(one, evaluation=replace(one.evaluation, sampling_seeds=3))
    dataset = load_dataset("ring", params)
    G = build_networks(one, dataset, None)[0].eval()
    latent = latent_sampler(one.hparams["z_prior"], one.hparams["z_dim"], torch.device("cpu"))
    single = Evaluator(one.evaluation, dataset, cache_dir=tmp_path)(G, latent, 10)
    panel = Evaluator(three.evaluation, dataset, cache_dir=tmp_path)(G, latent, 10)
    assert single.panel is None and set(panel.panel) == set(single.metrics)
    for key, values in panel.panel.items():
        assert len(values) == 3 and values[0] == pytest.approx(single.metrics[key])
        assert panel.metrics[key] == pytest.approx(sum(values) / 3)
    assert len(set(panel.panel["fid"])) == 3  # other latents, other numbers


@pytest.fixture(scope="module")
def panel_results(tmp_path_factory):
    root = tmp_path_factory.mktemp("panel")
    doc = {"name": "panel", "datasets": [{"name": "ring", "params": {"n_train": 3000, "n_test": 900, "sigma": 0.05}}],
           "models": [{"name": "NS GAN", "loss": "ns", "arch": "mlp"}],
           "hparams": {"batch_size": 64, "width": 8, "z_dim": 2, "lr": 1e-3}, "seeds": [0, 1, 2],
           "budget": {"steps": 40, "eval_every": 20}, "calibration": [],
           "evaluation": {"metrics": ["modes", "fid"], "n_gen": 300, "n_real": 300, "sampling_seeds": 3}}
    store = Store(root)
    for run in expand(parse(doc)).runs:
        assert execute(run, store) == "done"
    return root


def test_every_evaluation_point_stores_its_panel_and_the_report_splits_the_spread(panel_results, tmp_path):
    for history in (panel_results / "panel").glob("*/history.jsonl"):
        rows = [json.loads(line) for line in history.read_text().splitlines()]
        assert [r["step"] for r in rows] == [20, 40]
        for row in rows:
            assert len(row["sampling_panel"]["fid"]) == 3
            assert row["metrics"]["fid"] == pytest.approx(np.mean(row["sampling_panel"]["fid"]))
    frame = load_results(panel_results)
    assert frame["sampling_panel"].notna().all()
    build(frame, tmp_path / "report", n_boot=50, formats=("png",))
    tables = tmp_path / "report" / "tables"
    found = pd.read_csv(tables / "seed_panel.csv")
    assert list(found["model"]) == ["NS GAN"] and int(found["sampling_seeds"].iloc[0]) == 3
    assert int(found["training_seeds"].iloc[0]) == 3 and found["metric"].iloc[0] == "mode_tv"
    assert "Retrain ÷ redraw" in (tables / "seed_panel.md").read_text()
    assert "the FID Lottery: 3.2×" in (tables / "findings.md").read_text()
    assert "mean of 3 sampling seeds" in (tables / "protocol.md").read_text()
