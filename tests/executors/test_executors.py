"""The local executor: device slots, the same numbers in worker processes as in-process, and a worker
killed mid-run (SIGKILL, SIGSEGV) settled as failed or resumable while the rest of the grid goes on."""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from helpers.cli import ganbench_cli, start_ganbench
from helpers.runs import BASE_SUITE, assert_same_training, lock_owner, run_dirs, write_suite
from ganbench.executors.local import Slot, describe_exit, plan_slots, run_local
from ganbench.run_one import RunOptions
from ganbench.results.store import Store
from ganbench.errors import GanbenchError
from ganbench.expand import expand
from ganbench.suite import load


def test_auto_on_cpu_is_one_single_thread_worker_per_core():
    assert plan_slots("auto", gpus=0, cores=4) == [Slot("cpu", None, 1)] * 4
    assert plan_slots(gpus=0, cores=4) == [Slot("cpu", None, 1)] * 4  # the default
    # a run never takes every core unasked: one busy neighbour would stall its OpenMP threads
    assert plan_slots("1", gpus=0, cores=4) == [Slot("cpu", None, 1)]
    assert plan_slots(3, gpus=0, cores=8) == [Slot("cpu", None, 1)] * 3


def test_threads_per_run_are_the_users_choice_and_auto_fills_the_cores_with_them():
    assert plan_slots("auto", gpus=0, cores=4, threads=2) == [Slot("cpu", None, 2)] * 2
    assert plan_slots("auto", gpus=0, cores=2, threads=4) == [Slot("cpu", None, 4)]
    assert plan_slots("1", gpus=0, cores=4, threads=4) == [Slot("cpu", None, 4)]
    assert {s.threads for s in plan_slots("auto", gpus=2, cores=8, threads=1)} == {1}


@pytest.mark.parametrize("workers, threads, field", [("many", None, "--workers"), ("0", None, "--workers"),
                                                      ("-2", None, "--workers"), ("auto", 0, "--threads")])
def test_bad_workers_or_threads_name_the_option(workers, threads, field):
    with pytest.raises(GanbenchError, match=field):
        plan_slots(workers, gpus=0, cores=4, threads=threads)


def test_auto_on_gpus_is_runs_per_gpu_workers_per_device():
    slots = plan_slots("auto", gpus=2, cores=8, runs_per_gpu=2)
    assert [s.visible_gpu for s in slots] == ["0", "1", "0", "1"]
    assert {s.device for s in slots} == {"cuda"} and {s.threads for s in slots} == {2}
    assert [s.visible_gpu for s in plan_slots("3", gpus=2, cores=6)] == ["0", "1", "0"]


def test_exit_causes_read_like_a_diagnosis():
    assert describe_exit(-9).startswith("died (signal 9: SIGKILL") and "out-of-memory" in describe_exit(-9)
    assert describe_exit(-11).startswith("died (signal 11: SIGSEGV")
    assert describe_exit(1) == "exited with code 1"


def test_worker_processes_train_exactly_like_the_driver_process(tmp_path):
    suite = write_suite(tmp_path, seeds=1, budget={"steps": 40, "eval_every": 20})
    runs = expand(load(suite)).runs
    options = RunOptions(device="cpu")
    for name, slots in (("in_process", [Slot("cpu", None, 1)]), ("workers", [Slot("cpu", None, 1)] * 2)):
        seen = []
        counts = run_local(runs, Store(tmp_path / name), options, slots, on_done=lambda r, s: seen.append(r.run_id))
        assert counts == {"done": 2} and sorted(seen) == sorted(r.run_id for r in runs)
    assert_same_training(tmp_path / "in_process" / "tiny", tmp_path / "workers" / "tiny")


def _kill_workers(suite_dir: Path, driver_pid: int, timeout_s: float = 60.0) -> dict[str, str]:
    """SIGKILL the first worker seen holding a run's lock (before its first checkpoint), then SIGSEGV one
    holding another run that has a checkpoint; returns run_id -> what was done to it."""
    done: dict[str, str] = {}
    deadline = time.monotonic() + timeout_s
    while len(done) < 2 and time.monotonic() < deadline:
        for run_id, run_dir in run_dirs(suite_dir).items():
            owner = lock_owner(run_dir)
            if run_id in done or not owner or owner["pid"] == driver_pid:
                continue
            has_checkpoint = (run_dir / "ckpt.pt").exists()
            if not done and not has_checkpoint:
                os.kill(owner["pid"], signal.SIGKILL)
                done[run_id] = "killed before a checkpoint"
            elif done and has_checkpoint:
                os.kill(owner["pid"], signal.SIGSEGV)
                done[run_id] = "crashed after a checkpoint"
        time.sleep(0.02)
    return done


@pytest.mark.slow
def test_a_dead_worker_fails_or_pauses_its_run_and_the_grid_goes_on(tmp_path):
    # Checkpoints at steps 200, 400, 600: wide windows before the first one and between them.
    suite = write_suite(tmp_path, budget={"steps": 600, "eval_every": 200})
    results = tmp_path / "results"
    args = ("run", suite, "--results", results, "--device", "cpu", "--workers", "2")
    driver = start_ganbench(*args, cwd=tmp_path)
    victims = _kill_workers(results / BASE_SUITE["name"], driver.pid)
    out, err = driver.communicate(timeout=300)
    assert len(victims) == 2, f"could not catch two workers mid-run: {victims}\n{err}"
    assert driver.returncode == 0, err
    assert out.strip() == "finished: 2 done, 1 failed, 1 running"
    failed_id, paused_id = list(victims)

    failed = json.loads((results / "tiny" / failed_id / "result.json").read_text())
    assert failed["status"] == "failed"
    assert failed["error"].startswith("worker process died (signal 9: SIGKILL")
    assert "--retry-failed" in failed["error"]
    assert (results / "tiny" / failed_id / "error.txt").read_text().strip() == failed["error"]
    assert not (results / "tiny" / paused_id / "result.json").exists()  # left resumable
    assert (results / "tiny" / paused_id / "ckpt.pt").exists()
    assert f"{paused_id}: worker process died (signal 11: SIGSEGV" in err
    assert "resumes from its last checkpoint" in err

    status = ganbench_cli("status", suite, "--results", results, cwd=tmp_path)
    assert "4 runs: 2 done, 0 diverged, 1 failed, 1 running, 0 pending" in status.stdout
    assert f"failed   {failed_id}" in status.stdout and "signal 9: SIGKILL" in status.stdout
    assert f"running  {paused_id}" in status.stdout and "resumes on the next run" in status.stdout

    resumed = ganbench_cli(*args, cwd=tmp_path)  # the paused run resumes; the failed one waits for --retry-failed
    assert resumed.returncode == 0 and resumed.stdout.strip() == "finished: 1 done", resumed.stderr
    history = [json.loads(line) for line in (results / "tiny" / paused_id / "history.jsonl").read_text().splitlines()]
    assert [row["step"] for row in history] == [200, 400, 600]
    retried = ganbench_cli(*args, "--retry-failed", cwd=tmp_path)
    assert retried.returncode == 0 and retried.stdout.strip() == "finished: 1 done", retried.stderr
    assert not (results / "tiny" / failed_id / "error.txt").exists()


def test_an_in_process_run_gives_the_caller_its_thread_count_back(tmp_path):
    import torch

    from ganbench.run_one import execute

    from helpers.specs import run_spec

    spec = run_spec(steps=5, dataset_params={"n_train": 500, "n_test": 200})
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert execute(spec, Store(tmp_path), RunOptions(threads=1)) == "done"
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
