"""The typed record: one writer of result.json, one status rule, one best rule, one direction source."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ganbench.results.frame import directions, records_to_frame
from ganbench.results.record import (CHECKPOINT, HISTORY, LEGACY_DIRECTIONS, RESULT, SCHEMA, SPEC, RunRecord,
                                     best_over, status_from_files)
from ganbench.results.store import Store, read_record

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "ganbench"
FIXTURE = ROOT / "tests" / "fixtures" / "results_v0_1_0"


def test_results_and_report_never_import_torch():
    code = ("import sys, ganbench.report, ganbench.results, ganbench.results.store, ganbench.results.study, "
            "ganbench.results.reference; assert 'torch' not in sys.modules, 'torch imported'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_one_writer_of_result_json():
    """Only ``Store.write_record`` writes ``result.json``: no other module names the file or its constant
    in a write. Fails if a second writer (the old executor's lost-run settling) comes back."""
    writers = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")).startswith(
                    ("atomic_write", "write_text", "write_bytes")):
                text = ast.unparse(node)
                if "RESULT" in text or "result.json" in text:
                    writers.append((path.relative_to(ROOT).as_posix(), text))
    assert writers == [("ganbench/results/store.py",
                        "atomic_write_json(self.root / record.suite / record.run_id / RESULT, record.to_json())")]
    sources = {p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py") if '"result.json"' in p.read_text()}
    assert sources == {"ganbench/results/record.py"}


def _run_dir(tmp_path: Path, **files: str) -> Path:
    run_dir = tmp_path / "suite" / "abc"
    run_dir.mkdir(parents=True)
    (run_dir / SPEC).write_text(json.dumps({"suite": "suite", "phase": "p", "dataset": "ring", "model": {}}))
    for name, text in files.items():
        (run_dir / name).write_text(text)
    return run_dir


@pytest.mark.parametrize("files, status", [
    ({}, "pending"),
    ({CHECKPOINT: "x"}, "running"),
    ({HISTORY: '{"step": 1, "metrics": {}}\n'}, "running"),  # 0.1.0's scanner and store disagreed here
    ({HISTORY: "", RESULT: '{"status": "diverged"}'}, "diverged"),
    ({CHECKPOINT: "x", RESULT: '{"status": "done"}'}, "done"),
])
def test_one_status_rule_for_the_store_and_the_scanner(tmp_path, files, status):
    run_dir = _run_dir(tmp_path, **files)
    assert status_from_files(run_dir) == status
    assert read_record(run_dir).status == status


def test_one_best_rule():
    """Best finite value per metric in its direction, the first step reaching it; a later NaN (a run that
    diverged) does not erase it; metrics without a direction are not scored."""
    history = [{"step": 10, "metrics": {"fid": 5.0, "modes": 3.0, "odd": 1.0}},
               {"step": 20, "metrics": {"fid": 2.0, "modes": 7.0}},
               {"step": 30, "metrics": {"fid": 2.0, "modes": 7.0}},
               {"step": 40, "metrics": {"fid": float("nan"), "modes": float("nan")}}]
    best, step = best_over(history, {"fid": False, "modes": True})
    assert best == {"fid": 2.0, "modes": 7.0} and step == {"fid": 20, "modes": 20}
    record = RunRecord.from_json({"schema": SCHEMA, "status": "diverged", "directions": {"fid": False, "modes": True}},
                                 {"suite": "s", "phase": "p"}, history=history, run_id="r")
    df = records_to_frame([record])
    marked = df[df["is_best"]].set_index("metric")["step"]
    assert marked.to_dict() == {"fid": 20, "modes": 20}


def test_directions_come_from_the_record_and_the_legacy_table_matches_the_registry():
    from ganbench.metrics.base import higher_is_better

    assert all(higher_is_better(key) is up for key, up in LEGACY_DIRECTIONS.items())
    record = RunRecord.from_json({"schema": SCHEMA, "status": "done", "directions": {"fid": True}},
                                 {"suite": "s", "phase": "p"}, history=[{"step": 1, "metrics": {"fid": 3.0}}],
                                 run_id="r")
    assert directions(records_to_frame([record])) == {"fid": True}  # the record wins, whatever the registry says


def test_record_round_trips_and_freezes(tmp_path):
    record = RunRecord(run_id="abc", suite="s", phase="wide", role="search", spec={"suite": "s", "phase": "wide"},
                       status="diverged", diverged_at=40, diverged_cause="non-finite loss",
                       best={"fid": 1.5}, best_step={"fid": 20}, directions={"fid": False},
                       compute={"steps": 40}, samples="samples.npy", mode_centres=((1.0, 0.0), (0.0, 1.0)))
    doc = json.loads(json.dumps(record.to_json()))
    assert doc["schema"] == SCHEMA and "history" not in doc and "spec" not in doc
    again = RunRecord.from_json(doc, dict(record.spec), run_dir=tmp_path / "abc")
    assert again.to_json() == record.to_json()
    assert again.sample_points == str(tmp_path / "abc" / "samples.npy") and again.sample_grid is None
    with pytest.raises(TypeError):
        record.best["fid"] = 0.0  # type: ignore[index]
    with pytest.raises(ValueError, match="status"):
        RunRecord(run_id="x", suite="s", phase="p", spec={}, status="finished")


def test_records_of_release_0_1_0_read_into_the_schema():
    """0.1.0 kept a divergence's cause in ``error``, 2-D samples under ``samples_2d`` and no directions."""
    legacy = {"run_id": "r", "status": "diverged", "error": "non-finite loss", "diverged_at": 50,
              "best": {"fid": 2.0, "knn": 0.9}, "samples": None, "samples_2d": "samples.npy"}
    record = RunRecord.from_json(legacy, {"suite": "s", "phase": "p"})
    assert (record.error, record.diverged_cause, record.samples) == (None, "non-finite loss", "samples.npy")
    assert dict(record.directions) == {"fid": False, "knn": False} and record.role is None
    stored = [read_record(d) for d in sorted((FIXTURE / "fixture").iterdir())]
    assert {r.status for r in stored} == {"done"} and all(r.directions and r.samples for r in stored)


def test_a_finished_run_keeps_its_generator_not_its_training_checkpoint(tmp_path):
    """generator.pt holds the evaluated G (loads into a fresh network and samples as it did); ckpt.pt
    (G, D and both Adam states) is removed, unless --keep-checkpoints."""
    import torch

    import numpy as np

    from ganbench.data import load_dataset
    from ganbench.evaluate import Evaluator
    from ganbench.run_one import RunOptions, execute
    from ganbench.train import build_networks, latent_sampler

    sys.path.insert(0, str(ROOT / "tests"))
    from helpers.specs import run_spec

    spec = run_spec(steps=20, eval_every=10, hparams={"ema": 0.9}, metrics=("knn",), n=100)
    store = Store(tmp_path)
    assert execute(spec, store) == "done"
    run_dir = store.run_dir(spec)
    assert not (run_dir / CHECKPOINT).exists() and (run_dir / "generator.pt").exists()
    dataset = load_dataset(spec.dataset, dict(spec.dataset_params))
    G, _ = build_networks(spec, dataset, None)
    G.load_state_dict(store.load_generator(spec))
    evaluator = Evaluator(spec.evaluation, dataset, cache_dir=tmp_path / "cache", run_seed=spec.seed)
    again = evaluator.samples(G.eval(), latent_sampler(spec.hparams["z_prior"], spec.hparams["z_dim"],
                                                       torch.device("cpu")), spec.budget.steps)
    assert np.array_equal(np.load(run_dir / "samples.npy"), again.numpy())  # the EMA G, as evaluated
    record = store.record(spec)
    assert record.role == "search" and dict(record.directions)["knn"] is False
    kept = run_spec(steps=20, eval_every=10, seed=1, metrics=("knn",), n=100)
    assert execute(kept, store, RunOptions(keep_checkpoints=True)) == "done"
    assert (store.run_dir(kept) / CHECKPOINT).exists()
    assert torch.load(store.run_dir(kept) / CHECKPOINT, weights_only=True)["step"] == 20
