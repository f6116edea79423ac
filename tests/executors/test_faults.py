"""Surviving faults with real processes: a driver SIGKILLed at random moments resumes to bit-identical
results, two drivers on one results directory train each run once, diverged and failing runs are recorded
while the grid goes on, and locks of dead owners are taken over while live ones are respected."""
from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time

import pytest

from helpers.cli import ganbench_cli, start_ganbench
from helpers.runs import (BASE_SUITE, DIVERGING_MODEL, LockWatcher, assert_same_training, lock_owner, pid_alive,
                           read_intact, run_dirs, write_suite)
from ganbench.run_one import execute
from ganbench.results.store import LOCK, STALE_AFTER_S, Store
from helpers.specs import run_spec

# 4 runs × 10 evaluation points (a checkpoint each): kills land before, between and after checkpoints.
FAULT_SUITE = {"budget": {"steps": 400, "eval_every": 40}}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The same suite run once, uninterrupted, with the same worker layout (1 torch thread per run)."""
    work = tmp_path_factory.mktemp("reference")
    suite = write_suite(work, **FAULT_SUITE)
    proc = ganbench_cli("run", suite, "--results", work / "results", "--device", "cpu", "--workers", "2", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert "finished: 4 done" in proc.stdout
    return work / "results" / BASE_SUITE["name"]


def _checkpoint_times(suite_dir) -> dict[str, int]:
    return {run_id: (d / "ckpt.pt").stat().st_mtime_ns for run_id, d in run_dirs(suite_dir).items()
            if (d / "ckpt.pt").exists()}


def _wait_for_a_checkpoint(proc: subprocess.Popen, suite_dir, timeout_s: float = 120.0) -> None:
    """Until the driver writes a checkpoint (or exits): kills then land in training whatever the machine's speed."""
    before = _checkpoint_times(suite_dir)
    deadline = time.monotonic() + timeout_s
    while proc.poll() is None and time.monotonic() < deadline:
        now = _checkpoint_times(suite_dir)
        if any(before.get(run_id) != mtime for run_id, mtime in now.items()):
            return
        time.sleep(0.02)


@pytest.mark.slow
def test_driver_killed_at_random_moments_resumes_to_identical_results(tmp_path, reference):
    suite = write_suite(tmp_path, **FAULT_SUITE)
    results = tmp_path / "results"
    suite_dir = results / BASE_SUITE["name"]
    rng = random.Random(2018)
    args = ("run", suite, "--results", results, "--device", "cpu", "--workers", "2")
    kills, interrupted = 0, set()  # runs cut between two checkpoints, so resumed from one
    for trial in range(4):
        proc = start_ganbench(*args, cwd=tmp_path)
        if trial == 0:
            time.sleep(rng.uniform(0.2, 2.0))  # during start-up: before or while the workers load
        else:
            _wait_for_a_checkpoint(proc, suite_dir)
            time.sleep(rng.uniform(0.0, 1.0))  # mid-training, often in the middle of an evaluation or a write
        if proc.poll() is not None:  # finished before the kill: nothing left to interrupt
            break
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        kills += 1
        interrupted |= {run_id for run_id, d in run_dirs(suite_dir).items()
                        if (d / "ckpt.pt").exists() and not (d / "result.json").exists()}
        # Workers die with their driver: no run stays locked by a live orphan.
        deadline = time.monotonic() + 5.0
        owners = []
        while time.monotonic() < deadline:
            owners = [o for d in run_dirs(suite_dir).values() if (o := lock_owner(d)) and pid_alive(o["pid"])]
            if not owners:
                break
            time.sleep(0.05)
        assert not owners, f"a killed driver left live workers holding locks: {owners}"
    assert kills >= 2 and interrupted, "the kills never cut a run between checkpoints; the test proves nothing"
    for _ in range(3):  # restart until finished
        proc = ganbench_cli(*args, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        if proc.stdout.strip() == "nothing to run":
            break
    records = read_intact(suite_dir)
    assert len(records) == 4 and {r["status"] for r in records.values()} == {"done"}
    for record in records.values():
        assert [row["step"] for row in record["history"]] == list(range(40, 401, 40))
    assert_same_training(suite_dir, reference)


@pytest.mark.slow
def test_two_drivers_at_once_train_each_run_once(tmp_path, reference):
    suite = write_suite(tmp_path, **FAULT_SUITE)
    results = tmp_path / "results"
    watcher = LockWatcher(results / BASE_SUITE["name"])
    watcher.start()
    drivers = [start_ganbench("run", suite, "--results", results, "--device", "cpu", "--workers", "2", cwd=tmp_path)
               for _ in range(2)]
    outputs = [d.communicate(timeout=300) for d in drivers]
    watcher.finish()
    for driver, (out, err) in zip(drivers, outputs):
        assert driver.returncode == 0, err
        assert out.startswith("finished:") or out.strip() == "nothing to run"
    records = read_intact(results / BASE_SUITE["name"])
    assert len(records) == 4 and {r["status"] for r in records.values()} == {"done"}
    for run_id in records:
        assert len(watcher.trainers.get(run_id, ())) == 1, f"{run_id} locked by {watcher.trainers.get(run_id)}"
        assert len(watcher.results[run_id]) == 1, f"{run_id}: result.json written more than once"
    assert_same_training(results / BASE_SUITE["name"], reference)


@pytest.mark.slow
def test_diverged_and_failing_runs_are_recorded_and_the_grid_goes_on(tmp_path):
    models = [BASE_SUITE["models"][0], DIVERGING_MODEL,
              # 10⁶ hidden units: the 2nd layer would need 156 TB, beyond any address space, so building
              # the network raises (RuntimeError from the allocator) inside the run, after preflight.
              {"name": "Huge", "loss": "ns", "arch": "mlp", "hparams": {"width": 1_000_000}}]
    suite = write_suite(tmp_path, name="faulty", models=models, seeds=1, budget={"steps": 60, "eval_every": 20})
    args = ("run", suite, "--results", tmp_path / "results", "--device", "cpu", "--workers", "2")
    proc = ganbench_cli(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "1 diverged" in proc.stdout and "1 done" in proc.stdout and "1 failed" in proc.stdout
    suite_dir = tmp_path / "results" / "faulty"
    by_model = {json.loads((d / "spec.json").read_text())["model"]["name"]: d for d in run_dirs(suite_dir).values()}
    diverged = json.loads((by_model["WGAN"] / "result.json").read_text())
    assert diverged["status"] == "diverged" and 1 <= diverged["diverged_at"] <= 60
    assert "non-finite" in diverged["diverged_cause"] and diverged["error"] is None
    failed = json.loads((by_model["Huge"] / "result.json").read_text())
    assert failed["status"] == "failed" and "allocate" in failed["error"]
    error_txt = (by_model["Huge"] / "error.txt").read_text()
    assert error_txt.startswith("Traceback") and "RuntimeError" in error_txt

    status = ganbench_cli("status", suite, "--results", tmp_path / "results", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "3 runs: 1 done, 1 diverged, 1 failed, 0 running, 0 pending" in status.stdout
    assert "failed" in status.stdout and "allocate" in status.stdout and "non-finite" in status.stdout

    again = ganbench_cli(*args, cwd=tmp_path)
    assert again.returncode == 0 and again.stdout.strip() == "nothing to run"
    first_attempt = (by_model["Huge"] / "error.txt").stat().st_mtime_ns
    retry = ganbench_cli(*args, "--retry-failed", cwd=tmp_path)
    assert retry.returncode == 0, retry.stderr
    assert retry.stdout.strip() == "finished: 1 failed"  # only the failed run was attempted again
    assert (by_model["Huge"] / "error.txt").stat().st_mtime_ns > first_attempt


def test_temp_files_of_a_killed_writer_are_removed_by_the_next_owner(tmp_path):
    spec = run_spec(steps=20, eval_every=10)
    store = Store(tmp_path)
    run_dir = store.begin(spec)
    torn = run_dir / ".ckpt.pt.k1ll3d.tmp"  # what a SIGKILL in the middle of atomic_write_bytes leaves
    torn.write_bytes(b"half a checkpoint")
    assert execute(spec, store) == "done"
    assert not torn.exists()
    assert read_intact(tmp_path / spec.suite)[spec.run_id]["status"] == "done"


# ---- locks

def _write_lock(run_dir, pid: int, host: str, age_s: float = 0.0) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK
    path.write_text(json.dumps({"pid": pid, "host": host, "token": f"{host}:{pid}:1", "since": time.time() - age_s}))
    if age_s:
        os.utime(path, (time.time() - age_s, time.time() - age_s))


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # reaped: the pid names no process now
    return proc.pid


@pytest.fixture
def spec():
    return run_spec(steps=20, eval_every=10)


def test_lock_of_a_dead_process_on_this_host_is_taken_over(tmp_path, spec):
    store = Store(tmp_path)
    _write_lock(store.run_dir(spec), _dead_pid(), socket.gethostname())
    assert execute(spec, store) == "done"
    assert not (store.run_dir(spec) / LOCK).exists()
    assert [p.name for p in store.run_dir(spec).iterdir() if p.name.startswith(LOCK)] == []


def test_fresh_lock_of_a_live_process_is_respected(tmp_path, spec):
    store = Store(tmp_path)
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _write_lock(store.run_dir(spec), owner.pid, socket.gethostname())
        assert execute(spec, store) == "locked"
        assert store.status(spec) == "pending" and store.record(spec).status == "pending"
        assert lock_owner(store.run_dir(spec))["pid"] == owner.pid  # untouched
    finally:
        owner.kill()
        owner.wait()
    assert execute(spec, store) == "done"  # its owner is gone now


def test_lock_from_another_host_is_respected_until_its_heartbeat_is_stale(tmp_path, spec):
    store = Store(tmp_path)
    _write_lock(store.run_dir(spec), 1, "another-node", age_s=STALE_AFTER_S / 2)
    assert execute(spec, store) == "locked"
    _write_lock(store.run_dir(spec), 1, "another-node", age_s=STALE_AFTER_S + 5)
    assert execute(spec, store) == "done"
