"""Helpers for the executor, fault and Ray tests: tiny suites, the real CLI in a subprocess, and checks that
a results directory is intact and trained exactly like another one."""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import torch
import yaml

from ganbench.specs import RunSpec

# Small enough for a 2-core machine: a run of 100 steps takes about a second with one thread.
BASE_SUITE: dict[str, Any] = {
    "name": "tiny",
    "datasets": [{"name": "ring", "params": {"n_train": 2000, "n_test": 300}}],
    "models": [{"name": "NS GAN", "loss": "ns", "arch": "mlp"}, {"name": "LSGAN", "loss": "ls", "arch": "mlp"}],
    "hparams": {"batch_size": 32, "width": 16, "z_dim": 2},
    "seeds": 2,
    "budget": {"steps": 100, "eval_every": 20},
    "evaluation": {"metrics": ["modes", "knn"], "n_gen": 200, "n_real": 200},
    "calibration": [],  # these suites test how runs train; calibration rows: tests/test_calibration.py, test_cli.py
}
# Deterministically NaN within a few steps on CPU (no clipping to speak of, an absurd learning rate).
DIVERGING_MODEL = {"name": "WGAN", "loss": "wgan", "arch": "mlp",
                   "hparams": {"lr": 1.0e+30, "clip": 1.0e+30, "beta1": 0.0}}


def write_suite(directory: Path, **changes: Any) -> Path:
    """BASE_SUITE with top-level keys replaced, written to ``directory/<name>.yaml``."""
    doc = {**BASE_SUITE, **changes}
    path = directory / f"{doc['name']}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def run_dirs(suite_dir: Path) -> dict[str, Path]:
    """Run directories by run_id (none before the suite's first run starts)."""
    return {p.name: p for p in sorted(suite_dir.iterdir()) if p.is_dir()} if suite_dir.exists() else {}


def lock_owner(run_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((run_dir / "lock").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def read_intact(suite_dir: Path) -> dict[str, dict[str, Any]]:
    """Every run's result (with its history); asserts that nothing is torn, duplicated or left behind."""
    out = {}
    leftovers = [p for p in suite_dir.rglob("*") if p.name.endswith(".tmp") or p.name == "lock"]
    assert not leftovers, f"temp or lock files left behind: {leftovers}"
    for run_id, run_dir in run_dirs(suite_dir).items():
        assert RunSpec.from_dict(json.loads((run_dir / "spec.json").read_text())).run_id == run_id
        result = json.loads((run_dir / "result.json").read_text())
        assert result["run_id"] == run_id
        has_history = (run_dir / "history.jsonl").exists()
        # history.jsonl is written at each evaluation: only a run that failed or diverged before its first has none
        assert has_history or result["status"] in ("failed", "diverged"), f"{run_id}: a done run without history"
        assert has_history or not result.get("best"), f"{run_id}: scores without a history"
        lines = (run_dir / "history.jsonl").read_text().splitlines() if has_history else []
        history = [json.loads(line) for line in lines]
        steps = [row["step"] for row in history]
        assert steps == sorted(set(steps)), f"{run_id}: history steps not strictly increasing: {steps}"
        out[run_id] = {**result, "history": history}
    return out


def _canonical(value: Any) -> str:
    """JSON text with NaN spelled out, so that NaN metrics compare equal to NaN."""
    return json.dumps(value, sort_keys=True, allow_nan=True)


def _without_timings(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


def tensors(obj: Any, prefix: str = "") -> dict[str, torch.Tensor]:
    """Every tensor in a checkpoint, by its path (the timings stored beside them differ between runs)."""
    if isinstance(obj, torch.Tensor):
        return {prefix: obj}
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, (list, tuple)) else ()
    found: dict[str, torch.Tensor] = {}
    for key, value in items:
        found.update(tensors(value, f"{prefix}/{key}"))
    return found


def assert_bit_identical(a: torch.Tensor, b: torch.Tensor, where: str) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape, where
    assert torch.equal(a, b) or torch.equal(a.reshape(-1).view(torch.uint8), b.reshape(-1).view(torch.uint8)), \
        f"{where} differs"  # the byte view makes NaN parameters of a diverged run compare equal too


def assert_same_training(dir_a: Path, dir_b: Path) -> None:
    """Same runs, statuses, metrics at every evaluation point, and bit-identical checkpoints."""
    a, b = read_intact(dir_a), read_intact(dir_b)
    assert sorted(a) == sorted(b)
    for run_id in a:
        for key in ("status", "diverged_at", "final", "best", "best_step"):
            assert _canonical(a[run_id][key]) == _canonical(b[run_id][key]), f"{run_id}: {key} differs"
        assert _canonical(_without_timings(a[run_id]["history"])) == _canonical(_without_timings(b[run_id]["history"]))
        ckpt_a, ckpt_b = dir_a / run_id / "ckpt.pt", dir_b / run_id / "ckpt.pt"
        assert ckpt_a.exists() == ckpt_b.exists(), run_id
        if ckpt_a.exists():
            ta = tensors(torch.load(ckpt_a, map_location="cpu", weights_only=True))
            tb = tensors(torch.load(ckpt_b, map_location="cpu", weights_only=True))
            assert sorted(ta) == sorted(tb) and ta
            for key in ta:
                assert_bit_identical(ta[key], tb[key], f"{run_id} ckpt {key}")


class LockWatcher(threading.Thread):
    """Polls a suite's run directories: who held each run's lock before its result existed, and every
    version of its result.json — evidence of a run trained twice, which the final files cannot show."""

    def __init__(self, suite_dir: Path, every_s: float = 0.01):
        super().__init__(daemon=True)
        self.suite_dir, self.every_s = suite_dir, every_s
        self.trainers: dict[str, set[str]] = {}
        self.results: dict[str, set[tuple[int, int, int]]] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.every_s):
            self.poll()

    def poll(self) -> None:
        if not self.suite_dir.exists():
            return
        for run_id, run_dir in run_dirs(self.suite_dir).items():
            owner = lock_owner(run_dir)  # read before the result: an owner seen while no result exists trained it
            try:
                st = (run_dir / "result.json").stat()
            except FileNotFoundError:
                if owner:
                    self.trainers.setdefault(run_id, set()).add(owner["token"])
                continue
            self.results.setdefault(run_id, set()).add((st.st_ino, st.st_mtime_ns, st.st_size))

    def finish(self) -> None:
        self.stop.set()
        self.join()
        self.poll()
