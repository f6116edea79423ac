"""Issue 7: the study's size in `plan`, and `ganbench baseline` / `ganbench check` as a CI gate."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from test_cli import ganbench_cli

ROOT = Path(__file__).resolve().parents[1]

SUITE = {
    "name": "gate",
    "datasets": [{"name": "ring", "params": {"n_train": 2000, "n_test": 300}}],
    "models": [{"name": "NS GAN", "loss": "ns", "arch": "mlp"}],
    "hparams": {"batch_size": 32, "width": 16, "z_dim": 2},
    "seeds": 2,
    "budget": {"steps": 60, "eval_every": 30},
    "evaluation": {"metrics": ["modes", "knn", "fid"], "n_gen": 200, "n_real": 200},
}


def test_plan_shows_the_study_at_its_real_size():
    proc = ganbench_cli("plan", str(ROOT / "suites" / "lucic.yaml"), "--json", cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    per_pair: dict[tuple[str, str], dict[str, int]] = {}
    for row in plan["rows"]:
        per_pair.setdefault((row["dataset"], row["model"]), {})[row["phase"]] = row["runs"]
    datasets = {"mnist", "fashion_mnist", "cifar10", "celeba"}
    models = {"MM GAN", "NS GAN", "LSGAN", "WGAN", "WGAN GP", "DRAGAN", "BEGAN", "VAE"}
    assert set(per_pair) == {(d, m) for d in datasets for m in models}
    # 100 wide settings (setting 0 = author defaults), 50 narrow, then the best wide setting × 50 seeds
    assert all(phases == {"wide": 100, "narrow": 50, "seeds": 50} for phases in per_pair.values()), per_pair
    assert plan["total_runs"] == 4 * 8 * 200


@pytest.fixture(scope="module")
def gate(tmp_path_factory):
    work = tmp_path_factory.mktemp("gate")
    (work / "gate.yaml").write_text(yaml.safe_dump(SUITE, sort_keys=False))
    run = ganbench_cli("run", "gate.yaml", "--device", "cpu", "--workers", "auto", cwd=work)
    assert run.returncode == 0, run.stderr
    made = ganbench_cli("baseline", "gate.yaml", "--out", "baseline.json", cwd=work)
    assert made.returncode == 0, made.stderr
    return work, json.loads((work / "baseline.json").read_text())


def write(work: Path, doc: dict) -> str:
    (work / "edited.json").write_text(json.dumps(doc))
    return "edited.json"


def test_baseline_holds_median_spread_and_tolerance_per_metric(gate):
    _, doc = gate
    keys = {(e["dataset"], e["model"], e["metric"]) for e in doc["entries"]}
    assert {("ring", "NS GAN", m) for m in ("fid", "knn", "modes")} <= keys
    for e in doc["entries"]:
        assert e["runs"] == 2 and e["tolerance"] >= max(2 * e["std"], 0.1 * abs(e["value"])) - 1e-12


def test_check_passes_on_its_own_baseline(gate):
    work, _ = gate
    proc = ganbench_cli("check", "gate.yaml", "--baseline", "baseline.json", "--no-run", cwd=work)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "check passed" in proc.stdout and " regressed" not in proc.stdout.split("\n\n")[0]


def test_check_fails_with_a_readable_diff_on_a_stricter_baseline(gate):
    work, doc = gate
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
    work, doc = gate
    extra = json.loads(json.dumps(doc))
    extra["entries"].append({**doc["entries"][0], "model": "LSGAN"})
    proc = ganbench_cli("check", "gate.yaml", "--baseline", write(work, extra), "--no-run", cwd=work)
    assert proc.returncode == 1
    assert any(line.split()[:2] == ["ring", "LSGAN"] and line.endswith("missing") for line in proc.stdout.splitlines())


def test_check_bad_baseline_is_exit_2(gate):
    work, _ = gate
    (work / "broken.json").write_text("{not json")
    proc = ganbench_cli("check", "gate.yaml", "--baseline", "broken.json", "--no-run", cwd=work)
    assert proc.returncode == 2 and "not a ganbench baseline" in proc.stderr and "Traceback" not in proc.stderr
    proc = ganbench_cli("check", "gate.yaml", "--baseline", "nowhere.json", "--no-run", cwd=work)
    assert proc.returncode == 2 and "ganbench baseline" in proc.stderr
