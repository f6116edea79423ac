"""--tensorboard: each run's event files hold what its history.jsonl holds, and its samples, read back with
TensorBoard's own reader."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ganbench.results.store import Store
from ganbench.run_one import RunOptions, execute
from ganbench.tensorboard import run_log_dir
from helpers.cli import ganbench_cli
from helpers.specs import run_spec


def _events(folder: Path) -> EventAccumulator:
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return acc


@pytest.mark.parametrize("dataset, params, metrics", [("ring", {"n_train": 500, "n_test": 200}, ("knn", "modes")),
                                                      ("digits", {"size": 8}, ("knn",))])
def test_event_files_hold_every_evaluation_point_and_its_samples(tmp_path, dataset, params, metrics):
    spec = run_spec(dataset, arch="mlp" if dataset == "ring" else "dcgan", steps=20, eval_every=10,
                    dataset_params=params, metrics=metrics, n=64)
    store = Store(tmp_path / "results")
    assert execute(spec, store, RunOptions(tensorboard=str(tmp_path / "tb"))) == "done"
    history = [json.loads(line) for line in (store.run_dir(spec) / "history.jsonl").read_text().splitlines()]
    folder = run_log_dir(tmp_path / "tb", spec)
    assert folder.is_dir() and spec.run_id in folder.name
    acc = _events(folder)
    tags = acc.Tags()
    finite = [{k: v for k, v in row["metrics"].items() if v is not None and math.isfinite(v)} for row in history]
    expected = {f"metric/{k}" for row in finite for k in row} | \
        {f"loss/{k}" for row in history for k in row["losses"]} | {"time/train_s"}
    assert expected <= set(tags["scalars"])
    skipped = {f"metric/{k}" for row in history for k in row["metrics"]} - expected  # NaN (e.g. reverse_kl) has no point
    assert not skipped & set(tags["scalars"])
    for row, metrics in zip(history, finite):
        for key, value in metrics.items():
            logged = {e.step: e.value for e in acc.Scalars(f"metric/{key}")}
            assert logged[row["step"]] == pytest.approx(value, rel=1e-6), key  # float32 in the event file
        for key, value in row["losses"].items():
            assert {e.step: e.value for e in acc.Scalars(f"loss/{key}")}[row["step"]] == pytest.approx(value, rel=1e-6)
    images = acc.Images("samples")
    assert [im.step for im in images] == [row["step"] for row in history]
    assert all(im.width > 0 and im.height > 0 for im in images)


def test_without_the_flag_nothing_is_written(tmp_path):
    spec = run_spec("ring", steps=10, dataset_params={"n_train": 500, "n_test": 200}, n=64)
    assert execute(spec, Store(tmp_path / "results"), RunOptions()) == "done"
    assert not any(p.name.startswith("events.out.tfevents") for p in tmp_path.rglob("*"))


def test_cli_flag_reaches_the_worker_processes(tmp_path):
    suite = {"name": "tb", "datasets": [{"name": "ring", "params": {"n_train": 500, "n_test": 200}}],
             "models": [{"name": "NS GAN", "loss": "ns", "arch": "mlp"}], "seeds": 2,
             "hparams": {"batch_size": 16, "width": 8}, "budget": {"steps": 10, "eval_every": 5},
             "evaluation": {"metrics": ["knn"], "n_gen": 64, "n_real": 64}}
    (tmp_path / "tb.yaml").write_text(yaml.safe_dump(suite))
    proc = ganbench_cli("run", "tb.yaml", "--device", "cpu", "--workers", "2", "--tensorboard", "logs", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    runs = sorted((tmp_path / "logs" / "tb" / "ring" / "NS_GAN").iterdir())
    assert len(runs) == 2
    for folder in runs:
        assert [e.step for e in _events(folder).Scalars("metric/knn")] == [5, 10]


def test_ensemble_members_each_get_their_own_event_files(tmp_path):
    """--ensemble with --tensorboard: every member logs its own evaluation points and samples."""
    from ganbench.ensemble.run import execute_unit

    specs = [run_spec("ring", steps=20, eval_every=10, seed=seed, dataset_params={"n_train": 500, "n_test": 200},
                      metrics=("knn",), n=64) for seed in range(2)]
    store = Store(tmp_path / "results")
    assert execute_unit(specs, store, RunOptions(tensorboard=str(tmp_path / "tb"))) == ["done", "done"]
    for spec in specs:
        acc = _events(run_log_dir(tmp_path / "tb", spec))
        history = [json.loads(line) for line in (store.run_dir(spec) / "history.jsonl").read_text().splitlines()]
        logged = {e.step: e.value for e in acc.Scalars("metric/knn")}
        assert logged == pytest.approx({row["step"]: row["metrics"]["knn"] for row in history}, rel=1e-6)
        assert [im.step for im in acc.Images("samples")] == [10, 20]
