"""The study's size in `plan`, and `ganbench baseline` / `ganbench check` as a CI gate that can fail."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from helpers.cli import ganbench_cli

ROOT = Path(__file__).resolve().parents[1]

SUITE = {  # an NS GAN that learns the ring in a few seconds (the CI suite's set-up, shorter)
    "name": "gate",
    "datasets": [{"name": "ring", "params": {"n_train": 4000, "n_test": 500, "sigma": 0.05}}],
    "models": [{"name": "NS GAN", "loss": "ns", "arch": "mlp"}],
    "hparams": {"batch_size": 100, "width": 32, "z_dim": 2, "z_prior": "normal", "lr": 5e-4, "beta1": 0.5},
    "seeds": 2,
    "budget": {"steps": 600, "eval_every": 300},
    "evaluation": {"metrics": ["modes", "knn", "fid"], "n_gen": 500, "n_real": 500},
}


def test_plan_shows_the_study_at_its_real_size():
    proc = ganbench_cli("plan", str(ROOT / "suites" / "lucic.yaml"), "--json", cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    per_pair: dict[tuple[str, str], dict[str, int]] = {}
    calibration: dict[tuple[str, str], dict[str, int]] = {}
    for row in plan["rows"]:
        into = calibration if row["phase"] == "calibration" else per_pair
        into.setdefault((row["dataset"], row["model"]), {})[row["phase"]] = row["runs"]
    datasets = {"mnist", "fashion_mnist", "cifar10", "celeba"}
    models = {"MM GAN", "NS GAN", "LSGAN", "WGAN", "WGAN GP", "DRAGAN", "BEGAN", "VAE"}
    assert set(per_pair) == {(d, m) for d in datasets for m in models}
    # 100 wide settings (setting 0 = author defaults), 50 narrow, then the best wide setting × 50 seeds
    assert all(phases == {"wide": 100, "narrow": 50, "seeds": 50} for phases in per_pair.values()), per_pair
    # and per dataset the floor and the copycat over the last phase's 50 seeds, no training
    assert calibration == {(d, m): {"calibration": 50} for d in datasets
                           for m in ("real data (floor)", "copycat (train images)")}
    assert plan["total_runs"] == 4 * 8 * 200 + 4 * 2 * 50


@pytest.fixture(scope="module")
def gate(tmp_path_factory):
    work = tmp_path_factory.mktemp("gate")
    (work / "gate.yaml").write_text(yaml.safe_dump(SUITE, sort_keys=False))
    run = ganbench_cli("run", "gate.yaml", "--device", "cpu", "--workers", "auto", cwd=work)
    assert run.returncode == 0, run.stderr
    made = ganbench_cli("baseline", "gate.yaml", "--out", "baseline.json", "--drop-weak", cwd=work)
    assert made.returncode == 0, made.stderr
    return work, json.loads((work / "baseline.json").read_text()), made


def write(work: Path, doc: dict) -> str:
    (work / "edited.json").write_text(json.dumps(doc))
    return "edited.json"


def _best_per_run(work: Path, metric: str) -> list[float]:
    """Each model run's best value of ``metric``, read straight from its history.jsonl (not through ganbench);
    calibration rows (real data, spec role "calibration") are in no baseline."""
    up = metric in ("modes", "modes_1pct", "hq_share")
    best = []
    for history in sorted((work / "results" / "gate").glob("*/history.jsonl")):
        if json.loads((history.parent / "spec.json").read_text()).get("role") == "calibration":
            continue
        values = [json.loads(line)["metrics"][metric] for line in history.read_text().splitlines()]
        values = [v for v in values if v == v]
        best.append(max(values) if up else min(values))
    return best


def test_baseline_recomputes_median_spread_and_tolerance_from_the_runs(gate):
    """Median and std of the runs' best values (read from the histories here, independently), tolerance
    max(2·std, 10 % of the median, 1e-3); and every kept entry beats the untrained generator."""
    import statistics

    work, doc, _ = gate
    assert doc["entries"], doc
    for e in doc["entries"]:
        best = _best_per_run(work, e["metric"])
        assert e["runs"] == len(best) == 2
        assert e["value"] == pytest.approx(statistics.median(best))
        assert e["std"] == pytest.approx(statistics.stdev(best))
        assert e["tolerance"] == pytest.approx(max(2 * e["std"], 0.1 * abs(e["value"]), 1e-3))
        if e["untrained"] is None:  # undefined for an untrained G (no sample near a mode): "missing" fails it
            assert e["metric"] == "reverse_kl"
            continue
        worse = (e["value"] - e["untrained"]) if e["higher_is_better"] else (e["untrained"] - e["value"])
        assert worse > e["tolerance"], e
    assert "fid" in {e["metric"] for e in doc["entries"]}


def test_baseline_names_the_entries_it_left_out(gate):
    work, doc, made = gate
    kept = {e["metric"] for e in doc["entries"]}
    left = [line for line in made.stderr.splitlines() if line.startswith("left out ring/NS GAN/")]
    assert all(("can never fail" in line or "untrained" in line) for line in left)
    assert {line.split("/")[2].split(":")[0] for line in left}.isdisjoint(kept)


def test_check_passes_on_an_independently_trained_results_directory(gate):
    """Not the baseline's own files: the suite is trained again from scratch into another directory, with
    the same one-thread-per-run workers (CPU numbers are reproducible for a given thread count)."""
    work, _, _ = gate
    proc = ganbench_cli("check", "gate.yaml", "--baseline", "baseline.json", "--results", "again",
                        "--device", "cpu", "--workers", "auto", cwd=work)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "check passed" in proc.stdout and " regressed" not in proc.stdout.split("\n\n")[0]
    assert len(list((work / "again" / "gate").glob("*/result.json"))) == 2 + 2 * 2  # + floor, copycat × 2 seeds


def test_self_test_shows_the_gate_catches_an_untrained_generator(gate):
    work, _, _ = gate
    proc = ganbench_cli("check", "gate.yaml", "--baseline", "baseline.json", "--self-test", "--device", "cpu",
                        cwd=work)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "self-test passed: an untrained generator fails on all 1 (dataset, model) pairs" in proc.stdout
    assert (work / "results" / ".untrained" / "gate").is_dir()  # kept apart from the suite's results


def test_check_fails_with_a_readable_diff_on_a_stricter_baseline(gate):
    work, doc, _ = gate
    stricter = json.loads(json.dumps(doc))
    for e in stricter["entries"]:
        if e["metric"] == "fid":  # pretend the baseline was far better, with a tight tolerance
            e["value"], e["tolerance"] = e["value"] / 10 - 1.0, 1e-6
    proc = ganbench_cli("check", "gate.yaml", "--baseline", write(work, stricter), "--no-run", cwd=work)
    assert proc.returncode == 1
    lines = [line.split() for line in proc.stdout.splitlines()]
    row = next(cols for cols in lines if cols[:4] == ["ring", "NS", "GAN", "fid"])
    baseline, current, delta = (float(x) for x in row[4:7])
    assert row[-1] == "regressed" and delta == pytest.approx(current - baseline, rel=1e-2)
    assert "1 regressed" in proc.stdout and "FAILED" in proc.stderr
    # a looser scale lets the same move pass
    loose = ganbench_cli("check", "gate.yaml", "--baseline", "edited.json", "--no-run", "--tolerance", "1e9", cwd=work)
    assert loose.returncode == 0, loose.stdout


def test_check_reports_a_missing_pair(gate):
    work, doc, _ = gate
    extra = json.loads(json.dumps(doc))
    extra["entries"].append({**doc["entries"][0], "model": "LSGAN"})
    proc = ganbench_cli("check", "gate.yaml", "--baseline", write(work, extra), "--no-run", cwd=work)
    assert proc.returncode == 1
    assert any(line.split()[:2] == ["ring", "LSGAN"] and line.endswith("missing") for line in proc.stdout.splitlines())


def test_check_bad_baseline_is_exit_2(gate):
    work, _, _ = gate
    (work / "broken.json").write_text("{not json")
    proc = ganbench_cli("check", "gate.yaml", "--baseline", "broken.json", "--no-run", cwd=work)
    assert proc.returncode == 2 and "not a ganbench baseline" in proc.stderr and "Traceback" not in proc.stderr
    proc = ganbench_cli("check", "gate.yaml", "--baseline", "nowhere.json", "--no-run", cwd=work)
    assert proc.returncode == 2 and "ganbench baseline" in proc.stderr


# ---- entries that can fail (issue 20) -------------------------------------------------------------

def _frame(values_by_model: dict[str, list[float]], metric: str):
    from helpers.records import make_record

    from ganbench.results.frame import records_to_frame

    recs = [make_record(model=model, seed=i, run_id=f"{model[:2]}{i:010d}".replace(" ", "x"),
                        history=[(100, {metric: v})])
            for model, values in values_by_model.items() for i, v in enumerate(values)]
    return records_to_frame(recs)


def test_entries_recompute_median_spread_and_tolerance_from_the_runs():
    """Median and std over runs' best values, tolerance max(z·std, rel·|median|, floor): by hand."""
    import statistics

    from ganbench.check import make_entries

    values = [0.61, 0.70, 0.64, 0.90]
    (entry,) = make_entries(_frame({"NS GAN": values}, "knn"), z=2.0, rel=0.1)
    assert entry.value == pytest.approx(statistics.median(values))
    assert entry.std == pytest.approx(statistics.stdev(values))
    assert entry.tolerance == pytest.approx(max(2 * statistics.stdev(values), 0.1 * statistics.median(values)))
    assert entry.runs == 4 and entry.higher_is_better is False and entry.untrained is None


def test_an_entry_whose_tolerance_reaches_past_the_range_is_unfailable():
    """knn ∈ [0, 1]: 0.95 + 0.1 ≥ 1 can never regress; modes ∈ [0, 8]: 1 − 2 ≤ 0 can never regress."""
    from ganbench.check import Entry, unfailable

    knn = Entry("ring", "NS GAN", "knn", 0.95, 0.05, 3, False, 0.1)
    assert "can never fail" in unfailable(knn, 0.0, 1.0)
    assert unfailable(Entry("ring", "NS GAN", "knn", 0.7, 0.05, 3, False, 0.1), 0.0, 1.0) is None
    modes = Entry("ring", "WGAN GP", "modes", 1.0, 1.0, 3, True, 2.0)
    assert "lowest value 0" in unfailable(modes, 0.0, 8.0)
    assert unfailable(Entry("ring", "x", "fid", 3.0, 1.0, 3, False, 2.0), 0.0, math.inf) is None


def test_an_entry_an_untrained_generator_passes_is_blind():
    from ganbench.check import Entry, blind

    fid = Entry("ring", "WGAN GP", "fid", 1.039, 0.9, 3, False, 2.73, untrained=1.004)
    assert "untrained 1.004" in blind(fid)  # the measured case: untrained FID 1.004 passed 1.039 ± 2.73
    assert blind(Entry("ring", "NS GAN", "fid", 0.01, 0.01, 3, False, 0.03, untrained=1.0)) is None
    # undefined for the untrained G (no sample near a mode): the check reports it missing, which fails
    assert blind(Entry("ring", "NS GAN", "reverse_kl", 0.1, 0.0, 3, False, 0.1, untrained=None)) is None


def test_baseline_refuses_weak_entries_or_drops_them_on_request():
    from ganbench.check import aggregate, make_baseline
    from ganbench.errors import GanbenchError

    trained = _frame({"NS GAN": [0.60, 0.62, 0.64], "WGAN GP": [0.97, 0.99, 1.0]}, "knn")
    untrained = aggregate(_frame({"NS GAN": [1.0, 1.0, 1.0], "WGAN GP": [1.0, 1.0, 1.0]}, "knn"))
    with pytest.raises(GanbenchError, match=r"1 baseline entries could not catch a regression \(ring/WGAN GP/knn"):
        make_baseline(trained, "gate", untrained=untrained)
    doc, weak = make_baseline(trained, "gate", untrained=untrained, drop_weak=True)
    assert list(weak) == [("ring", "WGAN GP", "knn")]
    assert [(e["model"], e["metric"], e["untrained"]) for e in doc["entries"]] == [("NS GAN", "knn", 1.0)]


def test_self_test_needs_a_regression_by_value_on_every_pair():
    from ganbench.check import Entry, self_test

    baseline = [Entry("ring", "NS GAN", "knn", 0.62, 0.02, 3, False, 0.062),
                Entry("ring", "WGAN GP", "knn", 0.70, 0.02, 3, False, 0.07)]
    untrained = _frame({"NS GAN": [1.0, 1.0, 1.0], "WGAN GP": [0.71, 0.72, 0.70]}, "knn")
    assert self_test(untrained, baseline) == {("ring", "NS GAN"): True, ("ring", "WGAN GP"): False}
    missing = _frame({"NS GAN": [1.0]}, "knn")  # WGAN GP absent: "missing" fails a check, but proves no power
    assert self_test(missing, baseline)[("ring", "WGAN GP")] is False


def test_a_tolerance_tighter_than_the_seed_noise_is_flagged():
    """Spread 0.1 over 3 runs then and now: the medians' difference has a standard error of
    √(π/2)·0.1·√(2/3) ≈ 0.102, so a tolerance of 0.1 (under twice that) is flagged and one of 0.3 is not."""
    from ganbench.check import Entry, compare, format_table, median_noise, noisy

    assert median_noise(0.1, 3, 3) == pytest.approx(math.sqrt(math.pi / 2) * 0.1 * math.sqrt(2 / 3), rel=1e-12)
    assert math.isnan(median_noise(0.1, 0, 3))
    current = _frame({"NS GAN": [0.60, 0.62, 0.64], "WGAN GP": [0.70, 0.71, 0.72]}, "knn")
    baseline = [Entry("ring", "NS GAN", "knn", 0.62, 0.1, 3, False, 0.1),
                Entry("ring", "WGAN GP", "knn", 0.71, 0.1, 3, False, 0.3)]
    table = compare(current, baseline)
    assert list(noisy(table)["model"]) == ["NS GAN"]
    text = format_table(table)
    assert "1 tolerance(s) tighter than twice the seed noise of the median" in text
    assert "ring/NS GAN/knn ±0.1 vs noise 0.102" in text and "WGAN GP/knn ±" not in text
    assert set(table["status"]) == {"ok"}  # a flag, not a failure


# ---- the committed CI gate ------------------------------------------------------------------------

def _ci_entries():
    from ganbench.check import read_baseline

    return read_baseline(ROOT / "suites" / "ci-baseline.json")


def test_every_entry_of_the_committed_ci_baseline_can_fail():
    """Inside its metric's range on the bad side, and an untrained generator (the suite trained for one
    step, measured when the baseline was written) regresses on it by more than its tolerance."""
    from ganbench.check import metric_ranges, weaknesses
    from ganbench.data import load_dataset
    from ganbench.suite import load

    entries = _ci_entries()
    suite = load(ROOT / "suites" / "ci.yaml")
    infos = {d.name: load_dataset(d.name, dict(d.params)).info for d in suite.datasets if d.name == "ring"}
    assert {(e.dataset, e.model) for e in entries} == {(d, m) for d in ("ring", "digits") for m in ("NS GAN", "WGAN GP")}
    assert all(e.untrained is not None or e.metric == "reverse_kl" for e in entries)
    assert weaknesses(entries, metric_ranges(entries, infos)) == {}
    doc = json.loads((ROOT / "suites" / "ci-baseline.json").read_text())
    assert doc["tolerance_rule"] == {"z": 2.0, "rel": 0.1, "floor": 1e-3}  # check.py's own defaults


@pytest.mark.slow
def test_a_one_step_ci_suite_fails_the_check_on_every_pair(tmp_path):
    """`ganbench check --self-test` on the committed CI baseline: an untrained generator regresses on
    all four (dataset, model) pairs, by value."""
    proc = ganbench_cli("check", str(ROOT / "suites" / "ci.yaml"), "--baseline", str(ROOT / "suites" / "ci-baseline.json"),
                        "--self-test", "--results", str(tmp_path / "results"), "--device", "cpu", "--workers", "auto",
                        cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "self-test passed: an untrained generator fails on all 4 (dataset, model) pairs" in proc.stdout
    rows = [line.split() for line in proc.stdout.splitlines() if line.endswith(("regressed", "ok", "missing"))]
    for dataset in ("ring", "digits"):
        for model in (["NS", "GAN"], ["WGAN", "GP"]):
            assert any(r[0] == dataset and r[1:3] == model and r[-1] == "regressed" for r in rows), (dataset, model)
