"""The only reader and writer of ``results/``.

Layout: ``<root>/<suite>/<run_id>/`` holding ``spec.json`` (the resolved RunSpec), ``result.json``
(status, metrics, compute, protocol), ``history.jsonl`` (one line per evaluation point), ``samples.png``
(and ``samples.npy`` for 2D data), ``ckpt.pt`` (the latest checkpoint, for exact resume),
``error.txt`` (traceback of a failed run) and ``lock`` (owner of a run being trained).

Every write is atomic (temp file in the same folder + ``os.replace``), so a kill at any instant leaves
the old file or the new one, never a torn one. Locks carry pid, host and a heartbeat; a lock whose
owner is dead (same host) or whose heartbeat is stale (any host) is taken over.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import torch

from ganbench.specs import RunSpec

FINISHED = ("done", "diverged")  # never retrained
STATUSES = ("done", "diverged", "failed", "running", "pending")
SPEC, RESULT, HISTORY, CHECKPOINT, LOCK, ERROR = ("spec.json", "result.json", "history.jsonl", "ckpt.pt", "lock",
                                                  "error.txt")
HEARTBEAT_S = 10.0
STALE_AFTER_S = 120.0  # a lock not touched for this long belongs to a dead or hung driver


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=1, sort_keys=True, allow_nan=True) + "\n").encode())


@dataclass
class Scan:
    records: list[dict[str, Any]] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)


class Store:
    """Results of every suite under one root directory."""

    def __init__(self, root: str | Path = "results"):
        self.root = Path(root)

    # ---- paths and state
    def run_dir(self, spec: RunSpec) -> Path:
        return self.root / spec.suite / spec.run_id

    def result(self, spec: RunSpec) -> dict[str, Any] | None:
        try:
            return json.loads((self.run_dir(spec) / RESULT).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def status(self, spec: RunSpec) -> str:
        """done / diverged / failed / running (partial, resumable) / pending (never started)."""
        result = self.result(spec)
        if result is not None:
            return result["status"]
        return "running" if (self.run_dir(spec) / CHECKPOINT).exists() else "pending"

    # ---- writes
    def begin(self, spec: RunSpec) -> Path:
        run_dir = self.run_dir(spec)
        if not (run_dir / SPEC).exists():
            atomic_write_json(run_dir / SPEC, spec.to_dict())
        return run_dir

    def write_history(self, spec: RunSpec, history: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(row, sort_keys=True) + "\n" for row in history)
        atomic_write_bytes(self.run_dir(spec) / HISTORY, text.encode())

    def write_result(self, spec: RunSpec, result: dict[str, Any]) -> None:
        atomic_write_json(self.run_dir(spec) / RESULT, {"run_id": spec.run_id, **result})

    def write_error(self, spec: RunSpec, text: str) -> None:
        atomic_write_bytes(self.run_dir(spec) / ERROR, text.encode())

    def write_samples(self, spec: RunSpec, samples: torch.Tensor) -> str:
        """A grid image for image data, the points as ``.npy`` for vector data; returns the file name."""
        import numpy as np

        run_dir = self.run_dir(spec)
        if samples.dim() == 2:
            buffer = io.BytesIO()
            np.save(buffer, samples.detach().cpu().numpy())
            atomic_write_bytes(run_dir / "samples.npy", buffer.getvalue())
            return "samples.npy"
        from torchvision.utils import save_image

        buffer = io.BytesIO()
        save_image(samples[:64].detach().cpu().clamp(0, 1), buffer, format="png",
                   nrow=int(min(8, max(1, len(samples) ** 0.5))))
        atomic_write_bytes(run_dir / "samples.png", buffer.getvalue())
        return "samples.png"

    def save_checkpoint(self, spec: RunSpec, state: dict[str, Any]) -> None:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write_bytes(self.run_dir(spec) / CHECKPOINT, buffer.getvalue())

    def load_checkpoint(self, spec: RunSpec) -> dict[str, Any] | None:
        path = self.run_dir(spec) / CHECKPOINT
        if not path.exists():
            return None
        return torch.load(path, map_location="cpu", weights_only=True)

    def reset(self, spec: RunSpec) -> None:
        """Forget a failed run's outcome so it is attempted again (``--retry-failed``)."""
        for name in (RESULT, ERROR):
            with contextlib.suppress(FileNotFoundError):
                (self.run_dir(spec) / name).unlink()

    # ---- locks
    @contextlib.contextmanager
    def lock(self, spec: RunSpec) -> Iterator[bool]:
        """Yields True when this process owns the run (heartbeat kept while inside), False if another does."""
        path = self.begin(spec) / LOCK
        owned = _acquire(path)
        if not owned:
            yield False
            return
        _remove_dead_temp_files(path.parent)
        stop = threading.Event()
        beat = threading.Thread(target=_heartbeat, args=(path, stop), daemon=True)
        beat.start()
        try:
            yield True
        finally:
            stop.set()
            beat.join()
            with contextlib.suppress(FileNotFoundError):
                if _owner(path).get("token") == _token():
                    path.unlink()

    def lock_owner(self, spec: RunSpec) -> dict[str, Any] | None:
        path = self.run_dir(spec) / LOCK
        return _owner(path) if path.exists() and not _stale(path) else None


def _remove_dead_temp_files(run_dir: Path, young_s: float = 60.0) -> None:
    """Delete temp files a killed writer left behind; only the lock owner writes here, so they are dead.

    ``spec.json`` is the exception: ``begin`` writes it before taking the lock, so a young temp of it may
    belong to a live process racing us to the same run.
    """
    now = time.time()
    for tmp in run_dir.glob(".*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            if tmp.name.startswith(f".{SPEC}.") and now - tmp.stat().st_mtime < young_s:
                continue
            tmp.unlink()


def _token() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _owner(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale(path: Path) -> bool:
    owner = _owner(path)
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return True
    if not owner:  # being written right now, or torn by a kill between create and write
        return age > 5.0
    if owner.get("host") == socket.gethostname() and not _pid_alive(int(owner.get("pid", -1))):
        return True
    return age > STALE_AFTER_S


def _acquire(path: Path) -> bool:
    body = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "token": _token(),
                       "since": time.time()}).encode()
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if not _stale(path):
                return False
            # Move the stale lock aside; of several takers only one rename succeeds per lock file.
            with contextlib.suppress(FileNotFoundError):
                os.replace(path, path.with_name(f"{LOCK}.stale.{os.getpid()}"))
                os.unlink(path.with_name(f"{LOCK}.stale.{os.getpid()}"))
            continue
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
        return True
    return False


def _heartbeat(path: Path, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_S):
        with contextlib.suppress(FileNotFoundError):
            os.utime(path)


def _read_record(run_dir: Path) -> dict[str, Any]:
    spec = json.loads((run_dir / SPEC).read_text())
    result_path = run_dir / RESULT
    result = json.loads(result_path.read_text()) if result_path.exists() else {
        "status": "running" if (run_dir / CHECKPOINT).exists() or (run_dir / HISTORY).exists() else "pending"}
    history: list[dict[str, Any]] = []
    if (run_dir / HISTORY).exists():
        history = [json.loads(line) for line in (run_dir / HISTORY).read_text().splitlines() if line.strip()]
    record = {"run_id": run_dir.name, "suite": spec["suite"], "phase": spec["phase"], "spec": spec,
              "history": history, "error": None, "diverged_at": None, "final": {}, "best": {}, "best_step": {},
              "compute": {}, "protocol": {}, "samples": None, "samples_2d": None}
    record.update({k: v for k, v in result.items() if k not in ("run_id",)})
    record["_dir"] = str(run_dir)
    return record


def scan(root: str | Path) -> Scan:
    """Every run record under ``root`` (a results dir, one suite's dir, or one run's dir)."""
    root = Path(root)
    out = Scan()
    if (root / SPEC).exists():
        run_dirs = [root]
    else:
        run_dirs = sorted(p.parent for p in root.glob(f"*/{SPEC}")) + sorted(p.parent for p in root.glob(f"*/*/{SPEC}"))
    for run_dir in run_dirs:
        try:
            out.records.append(_read_record(run_dir))
        except (OSError, ValueError, KeyError) as err:
            out.unreadable.append((run_dir, f"{type(err).__name__}: {err}"))
    return out
