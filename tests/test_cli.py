"""The command line end to end on a tiny suite: plan, run (skip-if-done), status, report, ls, --help,
load_results, and a diverged run recorded while the grid goes on."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import ganbench

SUITE = {
    "name": "tiny",
    "datasets": [{"name": "ring", "params": {"n_train": 2000, "n_test": 300}}],
    "models": [
        {"name": "NS GAN", "loss": "ns", "arch": "mlp"},
        {"name": "WGAN", "loss": "wgan", "arch": "mlp",
         "hparams": {"lr": 1.0e+30, "clip": 1.0e+30, "beta1": 0.0}},  # diverges: NaN within a few steps
    ],
    "hparams": {"batch_size": 32, "width": 16, "z_dim": 2},
    "seeds": 2,
    "budget": {"steps": 60, "eval_every": 30},
    "evaluation": {"metrics": ["modes", "knn", "fid"], "n_gen": 200, "n_real": 200},
}


def ganbench_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "ganbench.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=600)


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    work = tmp_path_factory.mktemp("cli")
    (work / "tiny.yaml").write_text(yaml.safe_dump(SUITE, sort_keys=False))
    first = ganbench_cli("run", "tiny.yaml", "--device", "cpu", cwd=work)
    return work, first


def test_plan_counts_without_running(tmp_path):
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(SUITE))
    proc = ganbench_cli("plan", "tiny.yaml", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    table = json.loads(proc.stdout)
    assert table["total_runs"] == 4 and table["total_steps"] == 240
    assert {(r["model"], r["runs"]) for r in table["rows"]} == {("NS GAN", 2), ("WGAN", 2)}
    assert not (tmp_path / "results").exists()
    text = ganbench_cli("plan", "tiny.yaml", cwd=tmp_path).stdout
    assert "4 runs, 240 training steps" in text and "NS GAN" in text


def test_run_records_done_and_diverged_and_goes_on(ran):
    work, proc = ran
    assert proc.returncode == 0, proc.stderr
    assert "2 diverged" in proc.stdout and "2 done" in proc.stdout
    df = ganbench.load_results(work / "results" / "tiny")
    runs = df.drop_duplicates("run_id")
    assert sorted(runs["status"]) == ["diverged", "diverged", "done", "done"]
    diverged = [json.loads(p.read_text()) for p in (work / "results" / "tiny").glob("*/result.json")]
    diverged = [r for r in diverged if r["status"] == "diverged"]
    assert all(1 <= r["diverged_at"] <= 60 and r["error"] for r in diverged)


def test_run_writes_the_documented_layout(ran):
    work, _ = ran
    done = [p.parent for p in (work / "results" / "tiny").glob("*/result.json")
            if json.loads(p.read_text())["status"] == "done"]
    for run_dir in done:
        names = {p.name for p in run_dir.iterdir()}
        assert {"spec.json", "result.json", "history.jsonl", "ckpt.pt", "samples.npy"} <= names
        assert not [n for n in names if n.endswith(".tmp")] and "lock" not in names
        result = json.loads((run_dir / "result.json").read_text())
        assert set(result["final"]) >= {"modes", "hq_share", "knn", "knn_real", "knn_gen", "fid"}
        assert result["best"]["fid"] <= result["final"]["fid"]
        assert result["protocol"] == {**result["protocol"], "extractor": "raw", "n_gen": 200, "n_real": 200,
                                      "real_split": "test"}
        assert result["compute"]["steps"] == 60 and result["compute"]["flops_per_step"] > 0
        assert [json.loads(line)["step"] for line in (run_dir / "history.jsonl").read_text().splitlines()] == [30, 60]


def test_second_run_skips_finished_runs(ran):
    work, _ = ran
    before = {p: p.stat().st_mtime_ns for p in (work / "results" / "tiny").glob("*/result.json")}
    proc = ganbench_cli("run", "tiny.yaml", "--device", "cpu", cwd=work)
    assert proc.returncode == 0 and "nothing to run" in proc.stdout
    assert before == {p: p.stat().st_mtime_ns for p in (work / "results" / "tiny").glob("*/result.json")}


def test_status_counts(ran):
    work, _ = ran
    for target in ("tiny.yaml", "results/tiny"):
        proc = ganbench_cli("status", target, cwd=work)
        assert proc.returncode == 0
        assert "4 runs: 2 done, 0 running, 2 diverged, 0 failed, 0 pending" in proc.stdout
        assert "non-finite" in proc.stdout


def test_load_results_is_tidy(ran):
    work, _ = ran
    df = ganbench.load_results(work / "results" / "tiny")
    done = df[df["status"] == "done"]
    # one row per run × metric × evaluation step: 2 runs × 2 steps × 8 metric keys
    keys = done["metric"].nunique()
    assert len(done) == 2 * 2 * keys and keys == 8  # fid; modes, hq_share, reverse_kl, modes_1pct; knn ×3
    assert {"run_id", "dataset", "model", "seed", "step", "metric", "value", "hp_lr", "flops_per_step"} <= set(df.columns)


def test_report_builds_tables_figures_and_html(ran):
    work, _ = ran
    proc = ganbench_cli("report", "results/tiny", cwd=work)
    assert proc.returncode == 0, proc.stderr
    out = work / "reports" / "tiny"
    assert (out / "index.html").exists() and (out / "tables" / "summary.csv").exists()
    assert list((out / "figures").glob("*.png"))


@pytest.mark.parametrize("section", ["losses", "architectures", "datasets", "extractors", "metrics", "penalties"])
def test_ls_lists_each_registry(tmp_path, section):
    proc = ganbench_cli("ls", section, cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith(f"{section}:")
    expected = {"losses": "wgan_gp", "architectures": "infogan", "datasets": "polygons", "extractors": "inception",
                "metrics": "fid", "penalties": "r1"}[section]
    assert expected in proc.stdout


def test_ls_unknown_section_suggests(tmp_path):
    proc = ganbench_cli("ls", "loses", cwd=tmp_path)
    assert proc.returncode == 2 and "did you mean 'losses'" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", ["", "run", "plan", "status", "report", "ls", "preview", "check", "baseline"])
def test_help_explains_each_command(tmp_path, command):
    proc = ganbench_cli(*([command] if command else []), "--help", cwd=tmp_path)
    assert proc.returncode == 0 and "Usage" in proc.stdout and len(proc.stdout) > 200


def test_missing_suite_file_is_exit_2(tmp_path):
    proc = ganbench_cli("run", "nope.yaml", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.strip() == "error: nope.yaml: no such suite file"
