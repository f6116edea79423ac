"""Known-answer tests for ganbench.results: the frame, run scores, summaries, budget curves, tests."""
from __future__ import annotations

import itertools
import math
from math import comb
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from ganbench.results import frame, names, reference, stats, study
from helpers.records import make_record, scored_record


# --------------------------------------------------------------------------------------------
# helpers


def known_study() -> list[dict]:
    """Model "NS GAN" on ring: 4 wide settings (best FID 10, 20, 30, 40), 5 seeds (12..20),
    one failed run without history, one running run, one diverged run (best 50)."""
    recs = [scored_record(v, phase="wide", setting=i, seed=0) for i, v in enumerate([10, 20, 30, 40])]
    recs += [scored_record(v, phase="seeds", setting=0, seed=s)
             for s, v in enumerate([12, 14, 16, 18, 20])]
    recs.append(make_record(phase="wide", setting=4, status="failed", error="CUDA OOM"))
    recs.append(make_record(phase="wide", setting=5, status="running",
                            history=[(500, {"fid": 60.0})]))
    recs.append(make_record(phase="wide", setting=6, status="diverged", diverged_at=1200,
                            history=[(500, {"fid": 50.0}), (1000, {"fid": 70.0})]))
    return recs


def brute_expected_min(values, k):
    """E[min] of k draws with replacement by enumerating every draw (small n, k only)."""
    return float(np.mean([min(t) for t in itertools.product(values, repeat=k)]))


# --------------------------------------------------------------------------------------------
# records → frame


def test_frame_has_one_row_per_run_metric_point_and_keeps_empty_runs():
    recs = known_study()
    df = frame.records_to_frame(recs)
    expected_rows = sum(max(1, sum(len(p["metrics"]) for p in r["history"])) for r in recs)
    assert len(df) == expected_rows
    assert df["run_id"].nunique() == len(recs)
    failed = df[df["status"] == "failed"]
    assert len(failed) == 1 and pd.isna(failed["metric"].iloc[0]) and np.isnan(failed["value"].iloc[0])
    assert bool(failed["is_final"].iloc[0]) and bool(failed["complete"].iloc[0])
    running = df[df["status"] == "running"]
    assert not running["complete"].any()
    for column in ("suite", "run_id", "phase", "dataset", "model", "kind", "loss", "arch", "penalty",
                   "setting", "seed", "status", "step", "metric", "value", "is_final", "steps",
                   "seconds", "flops_per_step", "device", "compute_hours", "extractor",
                   "extractor_identity", "real_split", "n_real", "n_gen", "complete", "hp_lr",
                   "hp_beta1", "hp_n_disc", "hp_d_norm"):
        assert column in df.columns, column
    assert isinstance(df["model"].dtype, pd.CategoricalDtype)
    assert isinstance(df["metric"].dtype, pd.CategoricalDtype)
    assert str(df["hp_n_disc"].dtype) == "Int64" and df["hp_lr"].dtype == float
    assert df["compute_hours"].iloc[0] == pytest.approx(1.0)


def test_is_final_marks_last_point_only():
    rec = make_record(history=[(500, {"fid": 3.0, "knn": 0.9}), (1000, {"fid": 2.0, "knn": 0.8})])
    df = frame.records_to_frame([rec])
    finals = df[df["is_final"]]
    assert sorted(finals["step"].tolist()) == [1000, 1000]
    assert set(df.loc[~df["is_final"], "step"]) == {500}


def test_final_only_record_and_duplicates_and_empty():
    rec = make_record(history=[])
    rec["final"] = {"fid": 7.0}
    df = frame.records_to_frame([rec, dict(rec)])
    assert len(df) == 1 and df["value"].iloc[0] == 7.0 and df.attrs["duplicates"] == 1
    empty = frame.records_to_frame([])
    assert empty.empty and {"metric", "value", "run_id", "complete"} <= set(empty.columns)
    assert study.summary(empty).empty


def test_non_numeric_metric_values_become_nan():
    rec = make_record(history=[(10, {"fid": 3.0, "mode_counts": [1, 2, 3], "flag": None})])
    df = frame.records_to_frame([rec]).set_index("metric")
    assert df.loc["fid", "value"] == 3.0
    assert np.isnan(df.loc["mode_counts", "value"]) and np.isnan(df.loc["flag", "value"])


def test_paths_are_resolved_against_run_dir(tmp_path):
    """One samples file per record: a PNG grid goes to ``samples``, 2-D points (0.1.0's ``samples_2d``
    key, or ``samples`` ending in .npy) to ``samples_2d``."""
    grid = make_record(history=[(1, {"fid": 1.0})], run_dir=tmp_path, samples="samples.png",
                       dataset_params={"modes": 8})
    points = make_record(history=[(1, {"fid": 1.0})], run_dir=tmp_path / "b", samples_2d="samples.npy", setting=1)
    df = frame.run_table(frame.records_to_frame([grid, points])).set_index("setting")
    assert df.loc[0, "samples"] == str(tmp_path / "samples.png") and pd.isna(df.loc[0, "samples_2d"])
    assert df.loc[1, "samples_2d"] == str(tmp_path / "b" / "samples.npy") and pd.isna(df.loc[1, "samples"])
    assert df.loc[0, "dataset_params"] == '{"modes": 8}'


def test_load_results_uses_store_scan_and_keeps_unreadable(monkeypatch, tmp_path):
    import ganbench.results.store as store

    calls = []

    def fake_scan(root):
        calls.append(root)
        return SimpleNamespace(records=known_study(), unreadable=[(tmp_path / "bad", "ValueError: x")])

    monkeypatch.setattr(store, "scan", fake_scan)
    df = frame.load_results(tmp_path)
    assert calls == [tmp_path]
    assert df.attrs["unreadable"] == [(str(tmp_path / "bad"), "ValueError: x")]
    assert df["run_id"].nunique() == len(known_study())


def test_save_frame_round_trips(tmp_path):
    df = frame.records_to_frame(known_study())
    parquet, csv = frame.save_frame(df, tmp_path)
    back = pd.read_parquet(parquet)
    assert len(back) == len(df) and isinstance(back["model"].dtype, pd.CategoricalDtype)
    np.testing.assert_allclose(back["value"].to_numpy(), df["value"].to_numpy())
    assert len(pd.read_csv(csv)) == len(df)


# --------------------------------------------------------------------------------------------
# run scores


def test_run_scores_best_final_and_direction():
    rec = make_record(history=[(500, {"fid": 30.0, "is_mean": 2.0}), (1000, {"fid": 10.0, "is_mean": 5.0}),
                               (1500, {"fid": 20.0, "is_mean": 3.0})])
    df = frame.records_to_frame([rec, make_record(setting=1, status="failed")])
    best = study.run_scores(df, "fid").set_index("setting")
    assert best.loc[0, "score"] == 10.0 and best.loc[0, "score_step"] == 1000
    assert np.isnan(best.loc[1, "score"])  # kept, so counts stay right
    assert study.run_scores(df, "fid", "final").set_index("setting").loc[0, "score"] == 20.0
    assert study.run_scores(df, "is_mean").set_index("setting").loc[0, "score"] == 5.0
    with pytest.raises(ValueError, match="no recorded direction"):
        study.run_scores(df, "mystery_metric")
    with pytest.raises(ValueError):
        study.run_scores(df, "fid", "median")


def test_metric_direction_comes_from_the_records():
    """The record's own directions decide (0.1.0 records: the legacy table), never the metrics registry."""
    legacy = make_record(history=[(1, {"fid": 3.0, "is_mean": 2.0, "modes_1pct": 4.0, "reverse_kl": 0.1})])
    df = frame.records_to_frame([legacy])
    assert frame.metric_direction(df, "fid") is False and frame.metric_direction(df, "is_mean") is True
    assert frame.metric_direction(df, "modes_1pct") is True and frame.metric_direction(df, "reverse_kl") is False
    stated = {**make_record(history=[(1, {"novel_score": 0.5})], setting=1), "schema": 2,
              "directions": {"novel_score": True}}
    assert frame.metric_direction(frame.records_to_frame([stated]), "novel_score") is True
    with pytest.raises(ValueError, match="no recorded direction"):
        frame.metric_direction(df, "novel_score")


# --------------------------------------------------------------------------------------------
# summary


def test_summary_known_answers():
    df = frame.records_to_frame(known_study())
    row = study.summary(df, metrics=["fid"], n_boot=500).iloc[0]
    assert (row["runs"], row["done"], row["diverged"], row["failed"], row["incomplete"]) == (12, 9, 1, 1, 1)
    assert row["fid_best"] == 10.0
    # settings: wide 10, 20, 30, 40, 50 (diverged), 60 (running), failed (no score), seeds 16
    assert row["fid_median"] == pytest.approx(np.median([10, 20, 30, 40, 50, 60, 16]))
    assert row["fid_seeds"] == 5 and row["fid_seed_setting"] == "seeds:0"
    assert row["fid_mean"] == pytest.approx(16.0)
    assert row["fid_std"] == pytest.approx(np.std([12, 14, 16, 18, 20], ddof=1))
    assert 12 <= row["fid_ci_low"] < 16 < row["fid_ci_high"] <= 20


def test_summary_bootstrap_is_deterministic_and_seeded():
    df = frame.records_to_frame(known_study())
    a = study.summary(df, metrics=["fid"], n_boot=300, seed=1)
    b = study.summary(df, metrics=["fid"], n_boot=300, seed=1)
    c = study.summary(df, metrics=["fid"], n_boot=300, seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert (a["fid_ci_low"].iloc[0], a["fid_ci_high"].iloc[0]) != (c["fid_ci_low"].iloc[0],
                                                                  c["fid_ci_high"].iloc[0])


def test_seed_study_without_seeds_phase_picks_most_seeds_then_best_mean():
    recs = [scored_record(v, phase="wide", setting=0, seed=s) for s, v in enumerate([30, 31])]
    recs += [scored_record(v, phase="wide", setting=1, seed=s) for s, v in enumerate([10, 11, 12])]
    recs += [scored_record(v, phase="wide", setting=2, seed=s) for s, v in enumerate([5, 50, 60])]
    row = study.summary(frame.records_to_frame(recs), metrics=["fid"], n_boot=100).iloc[0]
    assert row["fid_seed_setting"] == "wide:1" and row["fid_mean"] == pytest.approx(11.0)
    single = study.summary(frame.records_to_frame([scored_record(7.0)]), metrics=["fid"]).iloc[0]
    assert single["fid_seeds"] == 0 and np.isnan(single["fid_mean"]) and single["fid_best"] == 7.0


def test_recorded_roles_decide_the_seed_study_and_the_search_pool():
    """A ``best_of`` phase is the seed study whatever its name or shape; its runs never enter the search pool.
    Without such a phase (roles all ``search``) the shape decides, as for records written before roles."""
    def roled(value, phase, setting, seed, role):
        return {**scored_record(value, phase=phase, setting=setting, seed=seed), "schema": 2, "role": role,
                "directions": {"fid": False}}

    recs = [roled(v, "wide", 0, s, "search") for s, v in enumerate([30, 31, 32])]  # most seeds, but a search
    recs += [roled(v, "again", 0, s, "best_of") for s, v in enumerate([10, 12])]
    df = frame.records_to_frame(recs)
    row = study.summary(df, metrics=["fid"], n_boot=100).iloc[0]
    assert row["fid_seed_setting"] == "again:0" and row["fid_mean"] == pytest.approx(11.0)
    scores = study.run_scores(df, "fid")
    assert list(study.seed_mask(scores)) == [False] * 3 + [True] * 2
    assert list(study.search_mask(scores)) == [True] * 3 + [False] * 2
    searches = frame.records_to_frame([roled(v, "wide", 0, s, "search") for s, v in enumerate([30, 31, 32])])
    assert study.summary(searches, metrics=["fid"], n_boot=100).iloc[0]["fid_seed_setting"] == "wide:0"


def test_summary_higher_is_better_and_groups_and_model_order():
    recs = []
    for model, values in (("WGAN", [1.0, 3.0]), ("NS GAN", [2.0, 9.0])):
        for i, v in enumerate(values):
            recs.append(make_record(model=model, setting=i, history=[(100, {"is_mean": v})]))
    recs.append(make_record(dataset="grid", model="WGAN", history=[(100, {"is_mean": 4.0})]))
    table = study.summary(frame.records_to_frame(recs), metrics=["is_mean"])
    assert list(zip(table["dataset"], table["model"])) == [("grid", "WGAN"), ("ring", "NS GAN"),
                                                           ("ring", "WGAN")]
    assert table.set_index(["dataset", "model"]).loc[("ring", "NS GAN"), "is_mean_best"] == 9.0


def test_summary_several_suites_groups_by_suite():
    recs = [scored_record(10, suite="a"), scored_record(20, suite="b")]
    table = study.summary(frame.records_to_frame(recs), metrics=["fid"])
    assert list(table["suite"]) == ["a", "b"] and list(table["fid_best"]) == [10, 20]


def test_model_order_follows_the_study():
    assert names.model_order(["VAE", "WGAN GP", "zeta", "NS GAN", "MM GAN", "Alpha"]) == \
        ["MM GAN", "NS GAN", "WGAN GP", "VAE", "Alpha", "zeta"]


# --------------------------------------------------------------------------------------------
# budget curves


@pytest.mark.parametrize("values,k", [([3.0, 1.0, 2.0, 5.0], 3), ([4.0, 4.0, 1.0], 2), ([2.0], 4)])
def test_closed_form_matches_enumeration(values, k):
    assert stats.expected_min(values, k) == pytest.approx(brute_expected_min(values, k))


def study_scores(values, **kwargs):
    recs = [scored_record(v, setting=i, **kwargs) for i, v in enumerate(values)]
    return study.run_scores(frame.records_to_frame(recs), "fid")


def test_budget_exact_mode_equals_closed_form_and_bootstrap_is_close():
    values = [37.0, 12.5, 80.0, 22.0, 15.0, 60.0, 41.0, 19.0]
    scores = study_scores(values)
    exact = study.budget_curve(scores, n_boot=None)
    closed = stats.expected_min(values, np.arange(1, len(values) + 1))
    np.testing.assert_array_equal(exact["k"].to_numpy(), np.arange(1, 9))
    np.testing.assert_allclose(exact["mean"].to_numpy(), closed, rtol=0, atol=1e-12)
    boot = study.budget_curve(scores, n_boot=20000, seed=0)
    np.testing.assert_allclose(boot["mean"].to_numpy(), closed, rtol=0.02)
    assert (np.diff(boot["mean"].to_numpy()) <= 1e-9).all()  # more budget never hurts
    assert (boot["q_low"] <= boot["mean"] + 1e-9).all() and (boot["mean"] <= boot["q_high"] + 1e-9).all()


def test_budget_exact_quantiles():
    values = np.arange(1.0, 21.0)  # 1..20
    exact = study.budget_curve(study_scores(values), n_boot=None, quantiles=(0.05, 0.95))
    k1 = exact[exact["k"] == 1].iloc[0]
    assert (k1["q_low"], k1["q_high"]) == (1.0, 19.0)  # inverted-CDF quantiles of one draw
    k2 = exact[exact["k"] == 2].iloc[0]
    # P(min of 2 <= v) = 1 - ((20 - v) / 20)^2 first reaches 0.95 at v = 16.
    assert k2["q_high"] == 16.0


def test_budget_bootstrap_determinism_and_direction():
    scores = study_scores([5.0, 9.0, 1.0, 7.0, 3.0])
    a = study.budget_curve(scores, n_boot=400, seed=3)
    pd.testing.assert_frame_equal(a, study.budget_curve(scores, n_boot=400, seed=3))
    assert not np.array_equal(a["mean"], study.budget_curve(scores, n_boot=400, seed=4)["mean"])
    maximise = scores.assign(higher_is_better=True)
    exact = study.budget_curve(maximise, n_boot=None)
    values = np.array([5.0, 9.0, 1.0, 7.0, 3.0])
    np.testing.assert_allclose(exact["mean"], -stats.expected_min(-values, np.arange(1, 6)))
    assert (np.diff(exact["mean"]) >= 0).all() and (exact["q_low"] <= exact["q_high"]).all()


def test_budget_pool_keeps_failures_as_the_studys_31337_and_drops_seed_phases():
    """A run that failed (or diverged) before its first score stays in the pool as FID 31337
    (compare_gan v1.0 NAN_DETECTED); a run still going is left out; the seed phase is not search.
    Fails when failures are dropped (n = 3, a flattering curve) or the seed phase is pooled in."""
    recs = [scored_record(v, phase="wide", setting=i) for i, v in enumerate([10, 20, 30])]
    recs += [scored_record(1.0, phase="best", setting=0, seed=s) for s in range(5)]
    recs.append(make_record(phase="wide", setting=9, status="failed"))
    recs.append(make_record(phase="wide", setting=10, status="diverged", diverged_at=50))
    recs.append(make_record(phase="wide", setting=11, status="running"))
    scores = study.run_scores(frame.records_to_frame(recs), "fid")
    curve = study.budget_curve(scores, n_boot=None)
    assert set(curve["phase"]) == {"wide"}
    first = curve.iloc[0]
    assert (first["n"], first["n_failed"], first["n_missing"]) == (5, 2, 1)
    assert first["failure_share"] == pytest.approx(0.4)
    pool = [10.0, 20.0, 30.0, 31337.0, 31337.0]
    assert first["mean"] == pytest.approx(sum(pool) / 5)  # k = 1: the mean of the pool
    # k = 2: P(min = v_(i)) = ((n − i + 1)² − (n − i)²) / n², by hand over the sorted pool
    expected_k2 = sum(v * ((5 - i + 1) ** 2 - (5 - i) ** 2) / 25 for i, v in enumerate(sorted(pool), start=1))
    assert curve.iloc[1]["mean"] == pytest.approx(expected_k2)
    assert study.budget_curve(scores, n_boot=None, pool="all")["n"].iloc[0] == 10


def test_budget_curve_is_drawn_per_search_phase():
    """The narrow range (chosen from wide results) is not pooled with the wide one: one curve each."""
    recs = [scored_record(v, phase="wide", setting=i) for i, v in enumerate([10.0, 30.0])]
    recs += [scored_record(v, phase="narrow", setting=i) for i, v in enumerate([1.0, 2.0, 3.0])]
    curve = study.budget_curve(study.run_scores(frame.records_to_frame(recs), "fid"), n_boot=None)
    by_phase = {phase: part for phase, part in curve.groupby("phase")}
    assert set(by_phase) == {"wide", "narrow"}
    assert by_phase["wide"]["mean"].iloc[0] == pytest.approx(20.0) and by_phase["wide"]["n"].iloc[0] == 2
    assert by_phase["narrow"]["mean"].iloc[0] == pytest.approx(2.0) and by_phase["narrow"]["k"].max() == 3


def test_a_run_that_diverged_after_scoring_keeps_its_best_checkpoint():
    """The study takes the min over all checkpoint rows: a later NaN does not erase an earlier score."""
    diverged = make_record(phase="wide", setting=0, status="diverged", diverged_at=1200,
                           history=[(500, {"fid": 40.0}), (1000, {"fid": 25.0})])
    scores = study.run_scores(frame.records_to_frame([diverged, scored_record(30.0, setting=1)]), "fid")
    curve = study.budget_curve(scores, n_boot=None)
    assert curve.iloc[0]["n_failed"] == 0 and curve.iloc[0]["mean"] == pytest.approx((25.0 + 30.0) / 2)


def test_failure_score_is_the_studys_for_fid_and_the_worst_seen_otherwise():
    assert study.failure_score("fid", False, np.array([3.0])) == 31337.0
    assert study.failure_score("knn", False, np.array([0.6, 0.9])) == 0.9
    assert study.failure_score("modes", True, np.array([2.0, 7.0])) == 2.0
    assert math.isnan(study.failure_score("kid_mean", False, np.array([])))


def test_budget_hours_known_answer():
    values = np.array([8.0, 3.0, 6.0, 1.0, 9.0, 4.0])
    recs = [scored_record(v, setting=i, seconds=3600.0) for i, v in enumerate(values)]
    scores = study.run_scores(frame.records_to_frame(recs), "fid")
    curve = study.budget_curve(scores, budget="hours", n_boot=20000, seed=0, n_grid=25)
    assert curve["hours"].iloc[0] == pytest.approx(1.0) and curve["hours"].iloc[-1] == pytest.approx(6.0)
    assert (curve["reached"] == 1.0).all()  # every run takes the first grid point's hour
    v = np.sort(values)
    n = len(v)
    for row in curve.itertuples():
        m = int(math.floor(row.hours + 1e-9))  # runs finished by then (one hour each)
        # E[min of m drawn without replacement] = sum_i v_(i) C(n-i, m-1) / C(n, m)
        exact = sum(v[i - 1] * comb(n - i, m - 1) for i in range(1, n + 1)) / comb(n, m)
        assert row.mean == pytest.approx(exact, rel=0.03), row.hours
    assert curve["mean"].iloc[-1] == 1.0 and curve["q_high"].iloc[-1] == 1.0


def test_budget_groups_by_dataset_and_model():
    recs = [scored_record(v, model=m, dataset=d, setting=i)
            for d in ("ring", "grid") for m in ("A", "B") for i, v in enumerate([1.0, 2.0])]
    curve = study.budget_curve(study.run_scores(frame.records_to_frame(recs)), n_boot=None)
    assert len(curve.groupby(["dataset", "model"])) == 4 and len(curve) == 8


# --------------------------------------------------------------------------------------------
# pairwise tests


def seeds_scores(groups):
    recs = []
    for model, values in groups.items():
        recs += [scored_record(v, model=model, phase="wide", setting=i) for i, v in enumerate(values)]
        recs += [scored_record(v, model=model, phase="seeds", seed=s) for s, v in enumerate(values)]
    return study.run_scores(frame.records_to_frame(recs), "fid")


def test_pairwise_separated_and_identical():
    rng = np.random.default_rng(0)
    good, bad = list(rng.normal(20, 1, 12)), list(rng.normal(40, 1, 12))
    tests = study.pairwise_tests(seeds_scores({"NS GAN": good, "WGAN": bad, "LSGAN": list(good)}),
                             n_boot=500)
    by_pair = tests.set_index(["model_a", "model_b"])
    separated = by_pair.loc[("NS GAN", "WGAN")]
    assert separated["sample"] == "seeds" and separated["n_a"] == 12 and separated["n_b"] == 12
    assert separated["p_value"] < 1e-4 and separated["p_a_better"] == 1.0
    assert separated["rank_biserial"] == 1.0 and separated["diff"] < 0
    assert separated["share_diff_le0"] == 1.0 and separated["diff_ci_high"] < 0
    identical = by_pair.loc[("NS GAN", "LSGAN")]
    assert identical["p_value"] > 0.9 and identical["p_a_better"] == pytest.approx(0.5)
    assert identical["diff"] == pytest.approx(0.0)
    assert (tests["p_holm"] >= tests["p_value"] - 1e-12).all() and (tests["p_holm"] <= 1).all()
    assert list(tests["dataset"]) == ["ring"] * 3
    again = study.pairwise_tests(seeds_scores({"NS GAN": good, "WGAN": bad, "LSGAN": list(good)}),
                             n_boot=500)
    pd.testing.assert_frame_equal(tests, again)


@pytest.mark.parametrize("n_a, n_b", [(2, 2), (3, 3), (4, 4), (3, 5), (1, 6), (7, 7)])
def test_min_p_value_is_the_exact_two_sided_floor(n_a, n_b):
    """2 / C(n_a + n_b, n_a) for the exact test (scipy's choice below 8 per side without ties), and no
    arrangement of n_a vs n_b distinct values does better."""
    from scipy.stats import mannwhitneyu

    floor = study.min_p_value(n_a, n_b)
    assert floor == pytest.approx(min(1.0, 2 / comb(n_a + n_b, n_a)), rel=1e-12)
    rng = np.random.default_rng(n_a * 10 + n_b)
    for _ in range(50):
        values = rng.permutation(n_a + n_b).astype(float)
        assert mannwhitneyu(values[:n_a], values[n_a:], alternative="two-sided").pvalue >= floor - 1e-15
    assert math.isnan(study.min_p_value(0, 3))


def test_seeds_to_resolve_counts_the_holm_factor():
    assert study.seeds_to_resolve(1) == 4  # 2/70 = 0.029; 3 vs 3 gives 0.1
    assert study.seeds_to_resolve(3) == 5  # 3 × 2/252 = 0.024; 3 × 2/70 = 0.086
    assert study.seeds_to_resolve(28) == 7  # 28 pairs (8 models): 28 × 2/924 = 0.061 at 6, 0.016 at 7


def test_pairwise_floor_says_when_no_test_could_be_significant():
    """3 models × 3 seeds: each pair's exact floor is 0.1 and Holm over 3 pairs lifts every adjusted p to at
    least 0.3, however far apart the models are; the report says so and how many seeds would do."""
    from ganbench.report.views import power_notes

    apart = seeds_scores({"NS GAN": [1.0, 2.0, 3.0], "WGAN": [10.0, 11.0, 12.0], "LSGAN": [20.0, 21.0, 22.0]})
    tests = study.pairwise_tests(apart, n_boot=50)
    assert list(tests["p_min"]) == pytest.approx([0.1] * 3)
    assert list(tests["p_floor"]) == pytest.approx([0.3] * 3)
    assert (tests["p_holm"] >= tests["p_floor"] - 1e-12).all()
    (note,) = power_notes(tests)
    assert note.startswith("ring: no pairwise test can reach p < 0.05")
    assert "3 vs 3 seeds" in note and "0.3;" in note and "5 seeds per model would be needed" in note
    enough = seeds_scores({"NS GAN": [1.0, 2.0, 3.0, 4.0], "WGAN": [10.0, 11.0, 12.0, 13.0]})
    one_pair = study.pairwise_tests(enough, n_boot=50)
    assert one_pair["p_floor"].iloc[0] == pytest.approx(2 / 70) and one_pair["p_holm"].iloc[0] < 0.05
    assert power_notes(one_pair) == []


def test_detectable_difference_and_samples_to_detect_closed_forms():
    """(z_{1−α/2} + z_power)·√((s_a²/n_a + s_b²/n_b)·π/3), and the n per side that brings it to d; the two agree."""
    from scipy.stats import norm

    z = norm.ppf(1 - 0.05 / 2) + norm.ppf(0.8)
    assert stats.detectable_difference(1.0, 5, 2.0, 5) == pytest.approx(z * math.sqrt((1 / 5 + 4 / 5) * math.pi / 3))
    n = stats.samples_to_detect(0.5, 1.0, 1.0)
    assert n == math.ceil(z**2 * 2 * math.pi / 3 / 0.25)
    assert stats.detectable_difference(1.0, n, 1.0, n) <= 0.5 < stats.detectable_difference(1.0, n - 1, 1.0, n - 1)
    assert stats.samples_to_detect(100.0, 1.0, 1.0, least=5) == 5  # never fewer than the test can use
    assert stats.samples_to_detect(0.0, 1.0, 1.0) is None and stats.samples_to_detect(1e-6, 1.0, 1.0) is None
    assert math.isnan(stats.detectable_difference(1.0, 1, 1.0, 5))


def test_pairwise_verdicts_on_known_effects():
    """A big effect with 6 seeds: *different*; the same effect with 3 seeds: *cannot be significant with these
    seeds* (3 vs 3 never goes below 0.1); a small effect with 6 seeds: *not different at this power*, with an
    MDD above the observed gap and more seeds asked for than were run."""
    rng = np.random.default_rng(4)
    big = seeds_scores({"NS GAN": list(rng.normal(10, 1, 6)), "WGAN": list(rng.normal(20, 1, 6))})
    (row,) = study.pairwise_tests(big, n_boot=50).to_dict("records")
    assert row["verdict"] == "different" and row["p_holm"] < 0.05
    few = seeds_scores({"NS GAN": [9.0, 10.0, 11.0], "WGAN": [19.0, 20.0, 21.0]})
    (row,) = study.pairwise_tests(few, n_boot=50).to_dict("records")
    assert row["verdict"] == "cannot be significant with these seeds" and row["p_floor"] > 0.05
    assert row["seeds_needed"] == 4  # the effect is huge: the fewest seeds the rank test can use
    small = seeds_scores({"NS GAN": list(rng.normal(10, 1, 6)), "WGAN": list(rng.normal(10.3, 1, 6))})
    (row,) = study.pairwise_tests(small, n_boot=50).to_dict("records")
    assert row["verdict"] == "not different at this power"
    observed = abs(row["mean_a"] - row["mean_b"])
    assert row["mdd"] > observed and row["seeds_needed"] > 6
    assert row["mdd"] == pytest.approx(stats.detectable_difference(row["sd_a"], 6, row["sd_b"], 6, 0.05))
    seeds = small[(small["model"] == "NS GAN") & (small["phase"] == "seeds")]["score"]
    assert row["sd_a"] == pytest.approx(np.std(seeds, ddof=1)) and row["mean_a"] == pytest.approx(seeds.mean())


def test_pairwise_budget_part_uses_closed_form_at_k():
    scores = study_scores([10.0, 30.0], model="A")
    scores = pd.concat([scores, study_scores([20.0, 40.0], model="B")], ignore_index=True)
    row = study.pairwise_tests(scores, k=2, n_boot=200).iloc[0]
    assert row["sample"] == "runs" and row["k"] == 2
    assert row["emin_a"] == pytest.approx(stats.expected_min([10, 30], 2))
    assert row["diff"] == pytest.approx(stats.expected_min([10, 30], 2) - stats.expected_min([20, 40], 2))


def test_holm_adjustment_known_answer():
    np.testing.assert_allclose(stats.holm(np.array([0.01, 0.04, 0.03])), [0.03, 0.06, 0.06])


# --------------------------------------------------------------------------------------------
# published numbers


def test_normalised_names_match_variants():
    assert len({names.normalise_name(n) for n in ("NS GAN", "ns gan", "NS-GAN", "ns_gan")}) == 1
    assert names.normalise_name("WGAN GP") == names.normalise_name("WGAN-GP")
    assert names.normalise_name("fashion-mnist") == names.normalise_name("fashion_mnist")


def test_reference_table_shipped_and_attached(tmp_path):
    ref = reference.reference_table()
    assert len(ref) == 28 and set(ref["dataset"]) == {"mnist", "fashion_mnist", "cifar10", "celeba"}
    recs = [scored_record(7.0, dataset="mnist", model="NS-GAN"),
            scored_record(9.0, dataset="cifar10", model="wgan_gp"),
            scored_record(5.0, dataset="ring", model="NS GAN")]
    table = reference.attach_reference(study.summary(frame.records_to_frame(recs), metrics=["fid"]), ref)
    got = table.set_index(["dataset", "model"])
    assert got.loc[("mnist", "NS-GAN"), "published_fid_mean"] == 6.8
    assert got.loc[("mnist", "NS-GAN"), "published_fid_std"] == 0.5
    assert got.loc[("cifar10", "wgan_gp"), "published_fid_mean"] == 55.8
    assert got.loc[("cifar10", "wgan_gp"), "published_source"] == "Lucic et al. 2018 Table 2"
    assert np.isnan(got.loc[("ring", "NS GAN"), "published_fid_mean"])
    bad = tmp_path / "bad.csv"
    bad.write_text("model,dataset,fid\nA,b,1\n")
    with pytest.raises(ValueError, match="fid_mean"):
        reference.reference_table(bad)


# --------------------------------------------------------------------------------------------
# budget curves: known answers per group and for unequal run lengths


def test_budget_curve_keeps_each_dataset_and_model_to_its_own_runs():
    """Four (dataset, model) groups with values of their own and different sizes: each curve is the
    expected minimum of k draws with replacement from its own group, written out by hand for k ≤ 2
    (and enumerated beyond). Fails when runs are pooled across datasets or across models, when a
    group's curve is labelled with another's key, or when every curve is cut at the same n."""
    groups = {("ring", "A"): [5.0, 1.0, 3.0], ("ring", "B"): [10.0, 40.0, 20.0, 30.0],
              ("grid", "A"): [7.0, 2.0], ("grid", "B"): [100.0, 300.0, 200.0]}
    recs = [scored_record(v, dataset=d, model=m, setting=i)
            for (d, m), values in groups.items() for i, v in enumerate(values)]
    curve = study.budget_curve(study.run_scores(frame.records_to_frame(recs), "fid"), n_boot=None)
    # k = 1: the mean; k = 2: Σ v_(i)·((n − i + 1)² − (n − i)²)/n² over the sorted values
    by_hand = {("ring", "A"): {1: 3.0, 2: 19 / 9, 3: 45 / 27},  # P(min = 1, 3, 5) = 19/27, 7/27, 1/27
               ("ring", "B"): {1: 25.0, 2: (7 * 10 + 5 * 20 + 3 * 30 + 1 * 40) / 16},
               ("grid", "A"): {1: 4.5, 2: (3 * 2 + 1 * 7) / 4},
               ("grid", "B"): {1: 200.0, 2: (5 * 100 + 3 * 200 + 1 * 300) / 9,
                               3: (19 * 100 + 7 * 200 + 1 * 300) / 27}}
    got = {key: part for key, part in curve.groupby(["dataset", "model"], observed=True)}
    assert set(got) == set(groups)
    for key, values in groups.items():
        part = got[key].sort_values("k")
        assert list(part["k"]) == list(range(1, len(values) + 1)), key
        assert (part["n"] == len(values)).all(), key
        means = dict(zip(part["k"], part["mean"]))
        for k, expected in by_hand[key].items():
            assert means[k] == pytest.approx(expected, rel=1e-12), (key, k)
        for k in means:
            assert means[k] == pytest.approx(brute_expected_min(values, k), rel=1e-12), (key, k)


def exact_hours_curve(values, hours, grid):
    """Over every training order (all n! equally likely): the share of orders with a run finished by
    each grid time, and the mean and variance over those orders of the best value finished by then."""
    shares, means, variances = [], [], []
    orders = list(itertools.permutations(range(len(values))))
    for t in grid:
        bests = []
        for order in orders:
            done = np.cumsum([hours[i] for i in order]) <= t + 1e-12
            if done[0]:
                bests.append(min(values[i] for i, d in zip(order, done) if d))
        shares.append(len(bests) / len(orders))
        means.append(np.mean(bests) if bests else np.nan)
        variances.append(np.var(bests) if bests else np.nan)
    return np.array(shares), np.array(means), np.array(variances)


def test_budget_hours_with_unequal_run_lengths_matches_exact_enumeration():
    """Runs of 0.5, 1, 2 and 3 h with their own values: at each grid time the share of orders with a run
    finished and the expected best so far equal the exact average over all 4! training orders, within
    4 Monte-Carlo standard errors. Here the fastest run is not the best one, so a curve that counts runs
    instead of hours (every run 1 h), or that shuffles the values without their hours, is far off."""
    values = np.array([3.0, 1.0, 4.0, 2.0])
    hours = np.array([0.5, 3.0, 1.0, 2.0])
    recs = [scored_record(v, setting=i, seconds=h * 3600.0) for i, (v, h) in enumerate(zip(values, hours))]
    n_boot = 20000
    curve = study.budget_curve(study.run_scores(frame.records_to_frame(recs), "fid"), budget="hours", n_boot=n_boot,
                           seed=0, n_grid=30)
    grid = curve["hours"].to_numpy()
    assert grid[0] == pytest.approx(0.5) and grid[-1] == pytest.approx(6.5)
    share, mean, variance = exact_hours_curve(values, hours, grid)
    assert share[0] == pytest.approx(0.25) and share[-1] == 1.0  # only the 0.5 h run is done at 0.5 h
    assert (np.abs(curve["reached"].to_numpy() - share) <= 4 * np.sqrt(share * (1 - share) / n_boot) + 1e-12).all()
    tolerance = 4 * np.sqrt(variance / (n_boot * share)) + 1e-9
    assert (np.abs(curve["mean"].to_numpy() - mean) <= tolerance).all(), \
        np.c_[grid, curve["mean"].to_numpy(), mean, tolerance]
    assert curve["mean"].iloc[0] == 3.0 and curve["mean"].iloc[-1] == 1.0
    _, equal_lengths, _ = exact_hours_curve(values, np.full(4, hours.mean()), grid)
    assert np.nanmax(np.abs(mean - equal_lengths)) > 0.2  # the test can tell hours from run counts
