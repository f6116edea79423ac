"""The Ray executor on a real local Ray instance: the same records as the local executor, through the
library (an instance the caller started, left running) and the CLI (an instance ganbench starts),
and a Ray worker killed mid-run settled like a local one."""
from __future__ import annotations

import importlib.util
import json
import os
import signal
import sys
import threading
import time

import pytest

from helpers.cli import ganbench_cli
from helpers.runs import (BASE_SUITE, DIVERGING_MODEL, assert_same_training, lock_owner, read_intact, run_dirs,
                           write_suite)
from ganbench.errors import GanbenchError
from ganbench.suite_runner import run_suite
from ganbench.run_one import RunOptions
from ganbench.results.store import Store
from ganbench.expand import expand

# Three runs that finish and one that diverges: both statuses must come back the same through Ray.
from ganbench.suite import load

# Three runs that finish and one that diverges: both statuses must come back the same through Ray.
RAY_SUITE = {"name": "rayed", "models": [*BASE_SUITE["models"], DIVERGING_MODEL], "seeds": 1,
             "budget": {"steps": 60, "eval_every": 20}}


requires_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed")


@pytest.fixture(scope="module")
def suite_and_local(tmp_path_factory):
    """The suite, and its results from the local executor with one 1-thread worker per core (as Ray runs it)."""
    work = tmp_path_factory.mktemp("ray")
    suite = write_suite(work, **RAY_SUITE)
    counts = run_suite(load(suite), Store(work / "local"), workers="2", device="cpu", progress=False)
    assert counts == {"done": 2, "diverged": 1}
    return work, suite


@pytest.fixture(scope="module")
def ray_instance():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield ray
    ray.shutdown()


@pytest.mark.slow
@requires_ray
def test_ray_executor_matches_the_local_executor(ray_instance, suite_and_local, tmp_path):
    work, suite = suite_and_local
    counts = run_suite(load(suite), Store(tmp_path / "ray"), device="cpu", executor="ray", progress=False)
    assert counts == {"done": 2, "diverged": 1}
    assert ray_instance.is_initialized()  # the caller's instance is the caller's to shut down
    assert_same_training(tmp_path / "ray" / "rayed", work / "local" / "rayed")
    again = run_suite(load(suite), Store(tmp_path / "ray"), device="cpu", executor="ray", progress=False)
    assert again == {}  # finished runs are skipped, nothing is submitted


@pytest.mark.slow
@requires_ray
def test_cli_with_ray_executor_matches_the_local_executor(suite_and_local, tmp_path):
    work, suite = suite_and_local
    proc = ganbench_cli("run", suite, "--results", tmp_path / "results", "--device", "cpu", "--executor", "ray", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "finished: 1 diverged, 2 done"
    assert_same_training(tmp_path / "results" / "rayed", work / "local" / "rayed")


@pytest.mark.slow
@requires_ray
def test_killed_ray_worker_fails_its_run_and_the_rest_go_on(ray_instance, tmp_path):
    from ganbench.executors.ray import run_ray

    suite = write_suite(tmp_path, name="raykill", seeds=1, budget={"steps": 600, "eval_every": 600})
    runs = expand(load(suite)).runs
    store = Store(tmp_path / "results")
    victim: dict[str, int] = {}

    def kill_first_owner() -> None:
        deadline = time.monotonic() + 60
        while not victim and time.monotonic() < deadline:
            for run_id, run_dir in run_dirs(store.root / "raykill").items():
                owner = lock_owner(run_dir)
                if owner and not (run_dir / "ckpt.pt").exists():
                    os.kill(owner["pid"], signal.SIGKILL)
                    victim[run_id] = owner["pid"]
                    return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_first_owner)
    killer.start()
    counts = run_ray(runs, store, RunOptions(device="cpu"))
    killer.join()
    assert len(victim) == 1 and counts == {"done": 1, "failed": 1}
    (run_id,) = victim
    result = json.loads((store.root / "raykill" / run_id / "result.json").read_text())
    assert result["status"] == "failed" and result["error"].startswith("Ray worker died")
    assert {r["status"] for r in read_intact(store.root / "raykill").values()} == {"done", "failed"}


def test_missing_ray_is_a_clear_user_error(monkeypatch, tmp_path):
    from ganbench.executors.ray import RAY_MISSING, run_ray

    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets when Ray is not installed
    spec = expand(load(write_suite(tmp_path))).runs[0]
    with pytest.raises(GanbenchError, match="pip install 'ganbench\\[ray\\]'") as err:
        run_ray([spec], Store(tmp_path / "results"), RunOptions(device="cpu"))
    assert str(err.value) == RAY_MISSING


@pytest.mark.slow
@requires_ray
def test_ray_trains_ensembles_as_the_local_executor_does(ray_instance, tmp_path):
    """--ensemble through Ray: one task per ensemble, the same records and checkpoints as locally, a diverging
    ensemble's members recorded diverged."""
    suite = load(write_suite(tmp_path, **{**RAY_SUITE, "name": "rayed_ensembles", "seeds": 2}))
    kwargs = dict(device="cpu", progress=False, ensemble=2, keep_checkpoints=True)
    local = run_suite(suite, Store(tmp_path / "local"), workers="2", **kwargs)
    rayed = run_suite(suite, Store(tmp_path / "ray"), executor="ray", **kwargs)
    assert local == rayed == {"done": 4, "diverged": 2}
    assert_same_training(tmp_path / "ray" / "rayed_ensembles", tmp_path / "local" / "rayed_ensembles")
    records = read_intact(tmp_path / "ray" / "rayed_ensembles")
    assert {r["compute"]["ensemble"]["members"] for r in records.values()} == {2}
