"""`ganbench run --ensemble`: ensembles through the store, the executors and the CLI — members recorded as
ordinary runs, the same numbers in worker processes, an interrupted ensemble resumed exactly, and runs the
ensemble trainer cannot take trained alone."""
from __future__ import annotations

import json
import time

import pytest

from ganbench.ensemble import train as ensemble_train
from ganbench.executors.local import Slot, run_local
from ganbench.expand import expand
from ganbench.report.builder import ensemble_note
from ganbench.results.frame import records_to_frame, run_table
from ganbench.results.store import Store, scan
from ganbench.run_one import RunOptions
from ganbench.suite import load
from ganbench.suite_runner import run_suite
from helpers.cli import ganbench_cli
from helpers.runs import assert_same_training, write_suite

BUDGET = {"steps": 60, "eval_every": 20}


def _records(suite_dir):
    return {r.run_id: r for r in scan(suite_dir).records}


def test_members_are_recorded_as_ordinary_runs_noting_the_ensemble(tmp_path):
    models = [{"name": "NS GAN", "loss": "ns", "arch": "mlp"}, {"name": "VAE", "kind": "vae", "arch": "mlp"}]
    suite = write_suite(tmp_path, seeds=3, models=models, budget=BUDGET)
    counts = run_suite(load(suite), Store(tmp_path / "results"), workers="1", device="cpu", ensemble="auto",
                       progress=False)
    assert counts == {"done": 6}
    records = _records(tmp_path / "results" / "tiny")
    by_model = {}
    for record in records.values():
        by_model.setdefault(record.spec["model"]["name"], []).append(record)
    assert [r.compute["ensemble"]["members"] for r in by_model["NS GAN"]] == [3, 3, 3]
    assert sorted(r.compute["ensemble"]["member"] for r in by_model["NS GAN"]) == [0, 1, 2]
    assert all("ensemble" not in r.compute for r in by_model["VAE"])  # no ensemble form: trained alone
    for record in by_model["NS GAN"]:
        assert record.status == "done" and set(record.final) >= {"modes", "knn"}
        assert record.compute["train_seconds"] > 0 and record.compute["flops_per_step"] > 0
        history = (tmp_path / "results" / "tiny" / record.run_id / "history.jsonl").read_text().splitlines()
        assert [json.loads(row)["step"] for row in history] == [20, 40, 60]
    runs = run_table(records_to_frame(list(records.values())))  # what the report reads
    assert sorted(runs["ensemble"].dropna().tolist()) == [3, 3, 3] and runs["ensemble"].isna().sum() == 3
    assert ensemble_note(runs).startswith("3 of 6 runs trained as members of ensembles of 3 (--ensemble)")
    assert ensemble_note(runs[runs["model"] == "VAE"]) == ""


def test_each_member_is_charged_its_share_of_the_wall_time(tmp_path):
    """The budget curves add runs' seconds: three members must add up to the ensemble's time, not three times it."""
    suite = write_suite(tmp_path, seeds=3, models=[{"name": "NS GAN", "loss": "ns", "arch": "mlp"}], budget=BUDGET)
    tic = time.perf_counter()
    run_suite(load(suite), Store(tmp_path / "results"), workers="1", device="cpu", ensemble=3, progress=False)
    wall = time.perf_counter() - tic
    seconds = [r.compute["seconds"] for r in _records(tmp_path / "results" / "tiny").values()]
    assert len(seconds) == 3 and sum(seconds) <= wall
    assert max(seconds) == pytest.approx(min(seconds), rel=0.05)  # all finished together: equal shares


def test_worker_processes_train_an_ensemble_exactly_as_the_driver_does(tmp_path):
    runs = expand(load(write_suite(tmp_path, seeds=2, budget=BUDGET))).runs
    options = RunOptions(device="cpu", keep_checkpoints=True)
    for name, slots in (("in_process", [Slot("cpu", None, 1)]), ("workers", [Slot("cpu", None, 1)] * 2)):
        seen = []
        counts = run_local(runs, Store(tmp_path / name), options, slots, on_done=lambda r, s: seen.append(r.run_id),
                           ensemble=2)
        assert counts == {"done": 4} and sorted(seen) == sorted(r.run_id for r in runs)
    assert_same_training(tmp_path / "in_process" / "tiny", tmp_path / "workers" / "tiny")
    records = _records(tmp_path / "workers" / "tiny")
    assert {r.compute["ensemble"]["members"] for r in records.values()} == {2}


def test_an_interrupted_ensemble_resumes_and_ends_as_an_uninterrupted_one(tmp_path, monkeypatch):
    suite = load(write_suite(tmp_path, seeds=3, budget=BUDGET))
    run_suite(suite, Store(tmp_path / "whole"), workers="1", device="cpu", ensemble=3, progress=False,
              keep_checkpoints=True)
    original = ensemble_train._Ensemble.checkpoint

    def interrupted(self, i, step):
        original(self, i, step)
        if step == 40 and i == self.k - 1:
            raise KeyboardInterrupt  # Ctrl-C right after every member's step-40 checkpoint

    monkeypatch.setattr(ensemble_train._Ensemble, "checkpoint", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_suite(suite, Store(tmp_path / "resumed"), workers="1", device="cpu", ensemble=3, progress=False,
                  keep_checkpoints=True)
    store = Store(tmp_path / "resumed")
    assert {store.status(r) for r in expand(suite).runs if r.model.name == "NS GAN"} == {"running"}
    monkeypatch.setattr(ensemble_train._Ensemble, "checkpoint", original)
    counts = run_suite(suite, store, workers="1", device="cpu", ensemble=3, progress=False, keep_checkpoints=True)
    assert counts == {"done": 6}
    assert_same_training(tmp_path / "whole" / "tiny", tmp_path / "resumed" / "tiny")


def test_a_network_with_no_grouped_form_trains_its_runs_alone(tmp_path):
    suite = write_suite(tmp_path, seeds=2, budget={"steps": 4, "eval_every": 4},
                        datasets=[{"name": "digits", "params": {"size": 8}}],
                        models=[{"name": "SN", "loss": "ns", "arch": "sndcgan"}],
                        evaluation={"metrics": ["knn"], "n_gen": 50, "n_real": 50})
    counts = run_suite(load(suite), Store(tmp_path / "results"), workers="1", device="cpu", ensemble="auto",
                       progress=False)
    assert counts == {"done": 2}
    assert all("ensemble" not in r.compute for r in _records(tmp_path / "results" / "tiny").values())


def test_the_cli_says_how_it_grouped_the_runs(tmp_path):
    suite = write_suite(tmp_path, seeds=2, budget={"steps": 10, "eval_every": 10})
    out = ganbench_cli("run", suite, "--ensemble", "auto", "--workers", "1", "--results", tmp_path / "r", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "--ensemble auto: 4 runs in 2 ensembles of 2" in out.stdout
    assert "finished: 4 done" in out.stdout


def test_a_bad_ensemble_option_is_one_message_and_exit_code_2(tmp_path):
    suite = write_suite(tmp_path)
    out = ganbench_cli("run", suite, "--ensemble", "many", "--results", tmp_path / "r", cwd=tmp_path)
    assert out.returncode == 2
    assert "--ensemble: expected 'auto', 'off' or a number of members ≥ 1, got 'many'" in out.stderr + out.stdout
    assert "Traceback" not in out.stderr
