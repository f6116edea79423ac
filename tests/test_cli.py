"""The command line end to end on a tiny suite: plan, run (skip-if-done), status, report, ls, --help,
load_results, and a diverged run recorded while the grid goes on."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import ganbench
from helpers.cli import ganbench_cli

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
    "calibration": [],  # counted runs are the models'; calibration rows through the CLI: test_check.py's gate
}


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
    assert all(1 <= r["diverged_at"] <= 60 and r["diverged_cause"] and r["error"] is None for r in diverged)


def test_run_writes_the_documented_layout(ran):
    work, _ = ran
    done = [p.parent for p in (work / "results" / "tiny").glob("*/result.json")
            if json.loads(p.read_text())["status"] == "done"]
    for run_dir in done:
        names = {p.name for p in run_dir.iterdir()}
        assert {"spec.json", "result.json", "history.jsonl", "generator.pt", "samples.npy"} <= names
        assert "ckpt.pt" not in names  # a finished run keeps G, not the resumable training checkpoint
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
        assert "4 runs: 2 done, 2 diverged, 0 failed, 0 running, 0 pending" in proc.stdout
        assert "non-finite" in proc.stdout


def test_load_results_is_tidy(ran):
    work, _ = ran
    df = ganbench.load_results(work / "results" / "tiny")
    done = df[df["status"] == "done"]
    # one row per run × metric × evaluation step: 2 runs × 2 steps × 9 metric keys
    keys = done["metric"].nunique()
    assert len(done) == 2 * 2 * keys and keys == 9  # fid; modes, hq_share, reverse_kl, modes_1pct, mode_tv; knn ×3
    assert set(done["headline"].astype(str)) == {"mode_tv"}  # the ring's, recorded by every run
    assert {"run_id", "dataset", "model", "seed", "step", "metric", "value", "hp_lr", "flops_per_step"} <= set(df.columns)


#: Which way each metric of the tiny suite improves (the metrics' registry declares the same).
LOWER_IS_BETTER = {"fid", "knn", "knn_real", "knn_gen", "reverse_kl", "mode_tv"}
HIGHER_IS_BETTER = {"modes", "modes_1pct", "hq_share"}


def stored_runs(suite_dir: Path) -> list[dict]:
    """Each stored run as (model, dataset, status, run_id, best value of every metric over its history),
    read straight from its spec.json, result.json and history.jsonl."""
    runs = []
    for run_dir in sorted(p for p in suite_dir.iterdir() if (p / "spec.json").exists()):
        spec = json.loads((run_dir / "spec.json").read_text())
        history = run_dir / "history.jsonl"
        rows = [json.loads(line) for line in history.read_text().splitlines()] if history.exists() else []
        values: dict[str, list[float]] = {}
        for row in rows:
            for key, value in row.get("metrics", {}).items():
                if isinstance(value, (int, float)) and math.isfinite(value):
                    values.setdefault(key, []).append(float(value))
        best = {key: (max(v) if key in HIGHER_IS_BETTER else min(v)) for key, v in values.items()}
        runs.append({"model": spec["model"]["name"], "dataset": spec["dataset"], "run_id": run_dir.name,
                     "status": json.loads((run_dir / "result.json").read_text())["status"], "best": best})
    return runs


def test_report_builds_tables_figures_and_html(ran):
    """summary.csv holds, per (dataset, model), the numbers recomputed here from each run's history.jsonl:
    run counts by status; per metric the best run's value and id, the median over settings (one setting
    of two seeds here: the median of the two runs' bests), and the seeds' mean, ddof-1 std and a CI around
    the mean. Fails on a summary that scores runs by their last point instead of their best, takes a
    metric the wrong way round, drops or mislabels the diverged runs, or reads another model's runs."""
    work, _ = ran
    proc = ganbench_cli("report", "results/tiny", cwd=work)
    assert proc.returncode == 0, proc.stderr
    out = work / "reports" / "tiny"
    assert (out / "index.html").exists() and (out / "tables" / "summary.csv").exists()
    assert list((out / "figures").glob("*.png"))

    summary = pd.read_csv(out / "tables" / "summary.csv")
    runs = stored_runs(work / "results" / "tiny")
    metrics = set().union(*(r["best"] for r in runs))
    assert metrics == LOWER_IS_BETTER | HIGHER_IS_BETTER  # every stored metric of the suite, no other
    assert sorted(zip(summary["dataset"], summary["model"])) == [("ring", "NS GAN"), ("ring", "WGAN")]
    for row in summary.itertuples(index=False):
        group = [r for r in runs if (r["dataset"], r["model"]) == (row.dataset, row.model)]
        assert (row.runs, row.settings) == (len(group), 1)
        for status in ("done", "diverged", "failed"):
            assert getattr(row, status) == sum(r["status"] == status for r in group), status
        for metric in metrics:
            col = lambda name: getattr(row, f"{metric}_{name}")
            scored = [r for r in group if metric in r["best"]]
            assert col("scored") == len(scored), metric
            if not scored:  # the diverged WGAN runs never reached an evaluation point
                assert all(math.isnan(col(name)) for name in ("best", "median", "mean", "std")), metric
                continue
            pick = max if metric in HIGHER_IS_BETTER else min
            best = pick(scored, key=lambda r: r["best"][metric])
            values = np.array([r["best"][metric] for r in scored])
            assert col("best") == pytest.approx(best["best"][metric], rel=1e-12, abs=1e-15), metric
            assert col("best_run") == best["run_id"] or values.min() == values.max(), metric
            assert col("median") == pytest.approx(np.median(values), rel=1e-12, abs=1e-15), metric
            assert col("seeds") == len(values) == 2, metric
            assert col("mean") == pytest.approx(values.mean(), rel=1e-12, abs=1e-15), metric
            assert col("std") == pytest.approx(values.std(ddof=1), rel=1e-9, abs=1e-15), metric
            assert values.min() - 1e-12 <= col("ci_low") <= col("mean") <= col("ci_high") <= values.max() + 1e-12
    ns = summary.set_index("model").loc["NS GAN"]
    assert (ns["runs"], ns["done"], ns["diverged"]) == (2, 2, 0)
    assert summary.set_index("model").loc["WGAN", "diverged"] == 2


@pytest.mark.parametrize("section", ["kinds", "losses", "architectures", "datasets", "extractors", "metrics",
                                     "penalties"])
def test_ls_lists_each_registry(tmp_path, section):
    proc = ganbench_cli("ls", section, cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith(f"{section}:")
    expected = {"kinds": "vae", "losses": "wgan_gp", "architectures": "infogan", "datasets": "polygons", "extractors": "inception",
                "metrics": "fid", "penalties": "r1"}[section]
    assert expected in proc.stdout
    if section == "datasets":  # each dataset says which metric ranks it
        lines = {line.split()[0]: line for line in proc.stdout.splitlines()[1:] if line.strip()}
        assert lines["ring"].endswith("[headline: mode_tv]") and lines["mnist"].endswith("[headline: fid]")
        assert lines["polygons"].endswith("[headline: polygon_f1]")


def test_ls_unknown_section_suggests(tmp_path):
    proc = ganbench_cli("ls", "loses", cwd=tmp_path)
    assert proc.returncode == 2 and "did you mean 'losses'" in proc.stderr and "Traceback" not in proc.stderr


#: Options each command has had since its first release (flags with their --no- form): renaming or
#: dropping one breaks users' scripts. Options added later are checked too, from what the app declares.
OPTIONS = {
    "run": ["--results", "--workers", "-w", "--threads", "--offline", "--keep-checkpoints", "--device", "--executor",
            "--address", "--steps", "--data-root",
            "--download", "--no-download", "--inception-weights", "--cache-dir", "--retry-failed",
            "--no-retry-failed", "--report", "--no-report", "--runs-per-gpu"],
    "plan": ["--json", "--results"],
    "status": ["--results"],
    "report": ["--out", "--metric", "--dataset", "--model", "--reference"],
    "ls": [],
    "preview": ["--out", "--param", "--data-root", "--download", "--no-download", "--n"],
    "check": ["--baseline", "--results", "--tolerance", "--run", "--no-run", "--workers", "-w", "--device"],
    "baseline": ["--out", "--results", "--z", "--rel"],
}


def declared_options(command: str) -> set[str]:
    """Every option name the typer app declares for ``command``, --no- forms included."""
    import typer

    from ganbench.cli import app

    params = typer.main.get_command(app).commands[command].params
    return {name for p in params if p.param_type_name == "option" for name in (*p.opts, *p.secondary_opts)}


def in_help(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


@pytest.mark.parametrize("command", sorted(OPTIONS))
def test_help_explains_each_command(tmp_path, command):
    """``ganbench COMMAND --help`` shows the command's own summary (its docstring's first paragraph) and
    every option the command declares, which include the ones listed above. Fails when an option is
    renamed, dropped or hidden from the help, or when the command's summary is not in it."""
    import typer

    from ganbench.cli import app

    declared = declared_options(command)
    assert set(OPTIONS[command]) <= declared, set(OPTIONS[command]) - declared
    proc = ganbench_cli(command, "--help", cwd=tmp_path, env={"COLUMNS": "200"})
    assert proc.returncode == 0 and "Usage" in proc.stdout, proc.stderr
    missing = sorted(opt for opt in declared | {"--help"} if not in_help(proc.stdout, opt))
    assert not missing, f"{command} --help does not show {missing}"
    callback = typer.main.get_command(app).commands[command].callback
    summary = " ".join(callback.__doc__.split("\n\n")[0].split())
    assert summary in " ".join(proc.stdout.split()), summary


def test_top_level_help_lists_every_command(tmp_path):
    """``ganbench --help`` has a line for every command the app declares (those above among them): its
    name, then the start of its summary. Fails when a command is hidden, dropped or renamed."""
    import typer

    from ganbench.cli import app

    commands = typer.main.get_command(app).commands
    assert set(OPTIONS) <= set(commands)
    proc = ganbench_cli("--help", cwd=tmp_path, env={"COLUMNS": "200"})
    assert proc.returncode == 0 and "Usage" in proc.stdout
    text = " ".join(proc.stdout.replace("│", " ").split())
    for name, command in commands.items():
        start = " ".join(command.callback.__doc__.split()[:4])
        assert f" {name} {start}" in text, name


def test_missing_suite_file_is_exit_2(tmp_path):
    proc = ganbench_cli("run", "nope.yaml", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.strip() == "error: nope.yaml: no such suite file"


def test_offline_run_never_fetches_and_says_so(tmp_path):
    """``--offline`` reaches the worker that resolves the weights: a suite needing Inception with an empty hub
    cache fails its runs with the offline message (no download attempted), and the grid still finishes."""
    suite = {"name": "needs-inception", "datasets": [{"name": "digits", "params": {"size": 8}}],
             "models": [{"name": "NS GAN", "loss": "ns", "arch": "dcgan"}], "hparams": {"width": 8},
             "budget": {"steps": 2, "eval_every": 2},
             "evaluation": {"extractor": "inception", "metrics": ["fid"], "n_gen": 20, "n_real": 20}}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(suite))
    env = {"TORCH_HOME": str(tmp_path / "empty-torch-home"), "GANBENCH_OFFLINE": "0"}
    proc = ganbench_cli("run", "s.yaml", "--offline", "--device", "cpu", "--workers", "1", cwd=tmp_path, env=env)
    status = ganbench_cli("status", "s.yaml", cwd=tmp_path, env=env)
    text = proc.stdout + proc.stderr + status.stdout
    assert "Offline (GANBENCH_OFFLINE=1): ganbench never downloads" in text, text
    assert "fetching" not in proc.stderr and "Traceback" not in proc.stderr
