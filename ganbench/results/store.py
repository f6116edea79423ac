"""The only reader and writer of ``results/``.

Layout: ``<root>/<suite>/<run_id>/`` holding ``spec.json`` (the resolved RunSpec), ``result.json`` (the
run's :class:`~ganbench.results.record.RunRecord`), ``history.jsonl`` (one line per evaluation point),
``samples.png`` (or ``samples.npy`` for 2D data), ``ckpt.pt`` (the latest training checkpoint, for exact
resume, while the run trains), ``generator.pt`` (a finished run's G — the EMA copy when on — for
sampling later), ``error.txt`` (traceback of a failed run) and ``lock`` (owner of a run being trained).

Every write is atomic (:mod:`ganbench.atomic`), so a kill at any instant leaves the old file or the new
one, never a torn one. Locks carry pid, host and a heartbeat; a lock whose owner is dead (same host) or
whose heartbeat is stale (any host) is taken over. torch is imported only by the calls that need it.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ganbench.atomic import atomic_write_bytes, atomic_write_json
from ganbench.results.record import (CHECKPOINT, ERROR, FINISHED, GENERATOR, HISTORY, LOCK, RESULT, SPEC, STATUSES,
                                     RunRecord, status_from_files)
from ganbench.specs import RunSpec

__all__ = ["FINISHED", "STATUSES", "Scan", "Store", "atomic_write_bytes", "atomic_write_json", "read_record", "scan"]

HEARTBEAT_S = 10.0
STALE_AFTER_S = 120.0  # a lock not touched for this long belongs to a dead or hung driver


@dataclass
class Scan:
    records: list[RunRecord] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)


class Store:
    """Results of every suite under one root directory."""

    def __init__(self, root: str | Path = "results"):
        self.root = Path(root)

    # ---- paths and state
    def run_dir(self, spec: RunSpec) -> Path:
        return self.root / spec.suite / spec.run_id

    def record(self, spec: RunSpec) -> RunRecord | None:
        """The run's stored record (None before it started); see :func:`read_record`."""
        run_dir = self.run_dir(spec)
        return read_record(run_dir) if (run_dir / SPEC).exists() else None

    def status(self, spec: RunSpec) -> str:
        """done / diverged / failed / running (partial, resumable) / pending (never started)."""
        return status_from_files(self.run_dir(spec))

    # ---- writes
    def begin(self, spec: RunSpec) -> Path:
        run_dir = self.run_dir(spec)
        if not (run_dir / SPEC).exists():
            atomic_write_json(run_dir / SPEC, spec.to_dict())
        return run_dir

    def write_history(self, spec: RunSpec, history: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(row, sort_keys=True) + "\n" for row in history)
        atomic_write_bytes(self.run_dir(spec) / HISTORY, text.encode())

    def write_record(self, record: RunRecord) -> None:
        """The one writer of ``result.json``."""
        atomic_write_json(self.root / record.suite / record.run_id / RESULT, record.to_json())

    def write_error(self, spec: RunSpec, text: str) -> None:
        atomic_write_bytes(self.run_dir(spec) / ERROR, text.encode())

    def write_samples(self, spec: RunSpec, samples: "torch.Tensor", columns: int | None = None) -> str:
        """A grid image for image data (the first 64 samples, or all of them in rows of ``columns``: a
        conditional G's grid of one row per class), the points as ``.npy`` for vector data; returns the file
        name."""
        import numpy as np

        run_dir = self.run_dir(spec)
        if samples.dim() == 2:
            buffer = io.BytesIO()
            np.save(buffer, samples.detach().cpu().numpy())
            atomic_write_bytes(run_dir / "samples.npy", buffer.getvalue())
            return "samples.npy"
        from torchvision.utils import save_image

        buffer = io.BytesIO()
        shown = samples if columns else samples[:64]
        save_image(shown.detach().cpu().clamp(0, 1), buffer, format="png",
                   nrow=columns or int(min(8, max(1, len(samples) ** 0.5))))
        atomic_write_bytes(run_dir / "samples.png", buffer.getvalue())
        return "samples.png"

    def save_checkpoint(self, spec: RunSpec, state: dict[str, Any]) -> None:
        import torch

        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write_bytes(self.run_dir(spec) / CHECKPOINT, buffer.getvalue())

    def load_checkpoint(self, spec: RunSpec) -> dict[str, Any] | None:
        import torch

        path = self.run_dir(spec) / CHECKPOINT
        if not path.exists():
            return None
        return torch.load(path, map_location="cpu", weights_only=True)

    def finish(self, spec: RunSpec, generator_state: dict[str, Any] | None, keep_checkpoint: bool = False) -> None:
        """What a finished run keeps: G's weights (``generator.pt``, the network that was evaluated) and
        its record; the resumable training checkpoint (G, D, both optimizers) goes unless asked to stay."""
        import torch

        if generator_state is not None:
            buffer = io.BytesIO()
            torch.save(generator_state, buffer)
            atomic_write_bytes(self.run_dir(spec) / GENERATOR, buffer.getvalue())
        if not keep_checkpoint:
            with contextlib.suppress(FileNotFoundError):
                (self.run_dir(spec) / CHECKPOINT).unlink()

    def load_generator(self, spec: RunSpec) -> dict[str, Any] | None:
        """A finished run's generator weights (a state dict), or None."""
        import torch

        path = self.run_dir(spec) / GENERATOR
        return torch.load(path, map_location="cpu", weights_only=True) if path.exists() else None

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


def read_record(run_dir: Path, with_history: bool = True) -> RunRecord:
    """The :class:`RunRecord` of one run directory: spec, result (any version) and history, its status
    by :func:`~ganbench.results.record.status_from_files`. ``with_history=False`` skips the history
    (a lookup of best values needs only the record)."""
    spec = json.loads((run_dir / SPEC).read_text())
    result_path = run_dir / RESULT
    result = json.loads(result_path.read_text()) if result_path.exists() else None
    history: list[dict[str, Any]] = []
    if with_history and (run_dir / HISTORY).exists():
        history = [json.loads(line) for line in (run_dir / HISTORY).read_text().splitlines() if line.strip()]
    return RunRecord.from_json(result, spec, history=history, run_dir=run_dir, run_id=run_dir.name,
                               status=status_from_files(run_dir))


def scan(root: str | Path, with_history: bool = True) -> Scan:
    """Every run record under ``root`` (a results dir, one suite's dir, or one run's dir)."""
    root = Path(root)
    out = Scan()
    if (root / SPEC).exists():
        run_dirs = [root]
    else:
        run_dirs = sorted(p.parent for p in root.glob(f"*/{SPEC}")) + sorted(p.parent for p in root.glob(f"*/*/{SPEC}"))
    for run_dir in run_dirs:
        try:
            out.records.append(read_record(run_dir, with_history))
        except (OSError, ValueError, KeyError, TypeError) as err:
            out.unreadable.append((run_dir, f"{type(err).__name__}: {err}"))
    return out
