"""Run a list of RunSpecs on this machine: in-process for one slot, else one worker process per device slot.

On CPU each run gets one torch thread unless the user asks for more, and "auto" starts one worker per
core (two 1-thread runs on a 2-core machine beat one 2-thread run, and survive a busy neighbour); on
GPUs each worker is pinned to one device through ``CUDA_VISIBLE_DEVICES`` (optionally several workers
per GPU). Runs already finished are skipped by
the runner itself, and a run owned by another driver is left to it.

Surviving faults. Workers are plain processes that the driver watches one by one (not a
``ProcessPoolExecutor``, which marks the whole pool broken when one worker dies and cannot say which
run it was executing). Each worker tells the driver when it starts a run, so when a worker dies —
SIGKILL, a segfault in native code, the out-of-memory killer — the driver knows exactly which run was
lost: a run with a checkpoint stays ``running`` and resumes on the next ``ganbench run``; one without
is recorded ``failed`` with the cause ("worker process died (signal 9: SIGKILL) ..."). A fresh worker
takes the slot and the remaining runs go on. Workers die with the driver (Linux ``PR_SET_PDEATHSIG``,
elsewhere a watchdog thread), so a killed driver leaves no orphan holding a run's lock. Ctrl-C is the
driver's alone: it terminates the workers, whose runs resume from their last checkpoints.
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, replace
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any, Callable, Iterable

from ganbench.ensemble.plan import Unit
from ganbench.errors import GanbenchError
from ganbench.specs import RunSpec

if TYPE_CHECKING:  # the real imports are deferred: a GPU worker must set CUDA_VISIBLE_DEVICES before torch loads
    from multiprocessing.process import BaseProcess

    from ganbench.run_one import RunOptions
    from ganbench.results.store import Store

log = logging.getLogger(__name__)

OnDone = Callable[[RunSpec, str], None]
STOP_TIMEOUT_S = 10.0  # how long an idle worker may take to exit before it is terminated
LOST_LOCK_WAIT_S = 5.0  # how long a lost run's lock may take to become stale (its dead owner not yet reaped)


@dataclass(frozen=True)
class Slot:
    device: str  # "cpu" or "cuda"
    visible_gpu: str | None  # CUDA_VISIBLE_DEVICES for the worker
    threads: int


def plan_slots(workers: int | str = "auto", gpus: int | None = None, cores: int | None = None,
               runs_per_gpu: int = 1, threads: int | None = None) -> list[Slot]:
    """Device slots for ``workers`` (a count or "auto") with ``threads`` torch threads per run.

    On CPU a run gets one thread unless asked for more: the study's nets are per-op-bound, so two
    1-thread runs beat one 2-thread run, and a multi-thread run on a machine with one other busy process
    collapses (OpenMP threads spin waiting for a core they do not get). "auto" is then one run per
    ``threads`` cores. On GPUs "auto" is every GPU × ``runs_per_gpu``, each worker with an equal share of
    the cores unless ``threads`` says otherwise.
    """
    if threads is not None and threads < 1:
        raise GanbenchError(f"--threads: expected a positive number of threads per run, got {threads}")
    count = None if workers == "auto" else _count(workers)
    if gpus is None:
        import torch

        gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    cores = cores or os.cpu_count() or 1
    if gpus:
        count = count or gpus * runs_per_gpu
        per_run = threads or max(1, cores // count)
        return [Slot("cuda", str(i % gpus), per_run) for i in range(count)]
    per_run = threads or 1
    count = count or max(1, cores // per_run)
    return [Slot("cpu", None, per_run) for _ in range(count)]


def _count(workers: int | str) -> int:
    try:
        count = int(workers)
    except (TypeError, ValueError):
        count = 0
    if count < 1:
        raise GanbenchError(f"--workers: expected 'auto' or a positive number of parallel runs, got '{workers}'")
    return count


def run_local(specs: Iterable[RunSpec], store: Store, options: RunOptions, slots: list[Slot],
              on_done: OnDone | None = None, ensemble: int | str | None = None,
              on_plan: Callable[[str], None] | None = None) -> Counter:
    """Execute every spec; returns a count of final statuses (done, diverged, failed, locked, running, ...).

    ``ensemble`` (``--ensemble``): runs that can train together do, in ensembles of at most that many members
    ("auto": :func:`ganbench.ensemble.plan.plan_units`), one ensemble per slot at a time; ``on_plan`` is told
    how they were grouped, in a line for the user.
    """
    specs = list(specs)
    if not specs:
        return Counter()
    if ensemble is None:
        units: list[Unit] = [(spec,) for spec in specs]
    else:
        from ganbench.ensemble.plan import describe_units, plan_units

        device = slots[0].device if slots else "cpu"
        units = plan_units(specs, ensemble, max(1, len(slots)), device)
        if on_plan is not None:
            on_plan(describe_units(units, ensemble, device))
    if len(slots) <= 1 or len(units) <= 1:
        return _run_in_process(units, store, options, slots[0] if slots else Slot("cpu", None, 0), on_done)
    return _Pool(store, options, slots[:len(units)], on_done).run(units)


def _run_in_process(units: list[Unit], store: Store, options: RunOptions, slot: Slot,
                    on_done: OnDone | None) -> Counter:
    """One slot needs no process boundary: simplest to debug, and a crash here is the driver's own."""
    from ganbench.ensemble.run import execute_unit

    opts = replace(options, device=slot.device if options.device == "cpu" else options.device,
                   threads=slot.threads or options.threads)
    counts: Counter = Counter()
    for unit in units:
        for spec, status in zip(unit, execute_unit(unit, store, opts)):
            counts[status] += 1
            if on_done:
                on_done(spec, status)
    return counts


# ---- the driver side of the worker processes

@dataclass
class _Worker:
    slot: Slot
    process: BaseProcess
    conn: Connection
    run: Unit | None = None  # handed to the worker, not yet reported back
    started: bool = False  # the worker said it began ``run`` (so a death is that unit's)


class _Pool:
    """One long-lived worker process per slot, fed one unit (a run, or an ensemble's runs) at a time and
    replaced when it dies."""

    def __init__(self, store: Store, options: RunOptions, slots: list[Slot], on_done: OnDone | None):
        self.store, self.options, self.slots, self.on_done = store, options, slots, on_done
        self.ctx = mp.get_context("spawn")  # fork would copy the driver's torch threads and CUDA state
        self.counts: Counter = Counter()
        self.unstarted: Counter = Counter()  # first run_id -> workers that died after receiving it, before starting it

    def run(self, units: list[Unit]) -> Counter:
        todo = deque(units)
        workers: list[_Worker] = []
        clean = False
        try:
            workers = [self._start(slot) for slot in self.slots]
            for worker in workers:
                self._hand_out(worker, todo)
            while any(w.run is not None for w in workers):
                busy = [w for w in workers if w.run is not None]
                wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
                for i, worker in enumerate(workers):
                    if worker.run is None or not self._poll(worker, todo):
                        continue
                    if not worker.process.is_alive() and todo:
                        worker.process.join()
                        worker = workers[i] = self._start(worker.slot)
                    self._hand_out(worker, todo)
            clean = True
        finally:
            _stop(workers, graceful=clean)
        return self.counts

    def _start(self, slot: Slot) -> _Worker:
        ours, theirs = self.ctx.Pipe()
        process = self.ctx.Process(target=_worker_main, name=f"ganbench-worker-{slot.device}",
                                   args=(theirs, slot, str(self.store.root), asdict(self.options), os.getpid()))
        process.start()
        theirs.close()  # so that the worker's death reads as end-of-file here
        return _Worker(slot, process, ours)

    def _hand_out(self, worker: _Worker, todo: deque[Unit]) -> None:
        worker.run, worker.started = None, False
        if not todo or not worker.process.is_alive():
            return
        unit = todo.popleft()
        worker.run = unit
        try:
            worker.conn.send([spec.to_dict() for spec in unit])
        except OSError:  # died since the check above; _poll sees the death and hands the run back
            pass

    def _poll(self, worker: _Worker, todo: deque[Unit]) -> bool:
        """Read what the worker said; True when its unit is over (reported, or lost with the worker)."""
        assert worker.run is not None
        try:
            while worker.conn.poll():
                kind, statuses = worker.conn.recv()
                if kind == "started":
                    worker.started = True
                else:
                    for spec, status in zip(worker.run, statuses):
                        self._finish(spec, status)
                    return True
        except (EOFError, OSError):  # the worker is gone (or going); what it did not report is settled below
            _reap(worker.process)
        if worker.process.is_alive():
            return False
        _reap(worker.process)  # so that its pid is dead and its lock can be taken over
        cause = describe_exit(worker.process.exitcode)
        unit = worker.run
        if worker.started:  # each run of the unit: as its member finished, resumable, or failed
            for spec in unit:
                self._finish(spec, record_lost_run(spec, self.store, f"worker process {cause}", worker.slot.device))
            return True
        self.unstarted[unit[0].run_id] += 1
        if self.unstarted[unit[0].run_id] < 2:  # died between two units: give this one to a fresh worker
            todo.appendleft(unit)
        else:  # the worker cannot even start a run (a broken environment); say so rather than loop
            for spec in unit:
                self._finish(spec, record_lost_run(spec, self.store, f"worker process {cause} before starting the "
                                                   "run", worker.slot.device))
        return True

    def _finish(self, spec: RunSpec, status: str) -> None:
        self.counts[status] += 1
        if self.on_done:
            self.on_done(spec, status)


def _stop(workers: list[_Worker], graceful: bool) -> None:
    """Idle workers are asked to exit; busy ones (the driver is failing or interrupted) are terminated."""
    for worker in workers:
        if graceful:
            try:
                worker.conn.send(None)
            except OSError:
                pass
        elif worker.process.is_alive():
            worker.process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for worker in workers:
        _reap(worker.process, max(0.0, deadline - time.monotonic()))
        worker.conn.close()


def _reap(process: BaseProcess, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """Wait for a worker that is exiting; kill one that hangs on its way out (e.g. in a CUDA teardown)."""
    process.join(timeout_s)
    if process.is_alive():
        process.kill()
        process.join()


def describe_exit(exitcode: int | None) -> str:
    """'died (signal 9: SIGKILL — ...)' or 'exited with code 1', for the failed run's record."""
    if exitcode is not None and exitcode < 0:
        number = -exitcode
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = "unknown signal"
        hint = _SIGNAL_HINTS.get(name)
        return f"died (signal {number}: {name}{' — ' + hint if hint else ''})"
    return f"exited with code {exitcode}"


_SIGNAL_HINTS = {
    "SIGKILL": "killed from outside, often by the out-of-memory killer",
    "SIGSEGV": "a crash in native code (torch, a CUDA driver, a C extension)",
    "SIGBUS": "a crash in native code, or a full /dev/shm",
    "SIGABRT": "aborted by native code",
}


def record_lost_run(spec: RunSpec, store: Store, cause: str, device: str) -> str:
    """Settle a run whose process died mid-run; returns its status.

    Finished or failed by the process before it died: as recorded. A checkpoint exists: left ``running``,
    so the next ``ganbench run`` resumes it (a deterministic crash fails again and then needs
    ``--retry-failed`` after a fix). No checkpoint: recorded ``failed`` with ``cause``, so ``ganbench
    status`` says why and ``--retry-failed`` retries it. The run's lock is taken first — the dead owner's
    lock is stale on this host once the process is reaped, which its parent (Ray's raylet) may do a
    moment later — so a live driver that took the run over meanwhile is left alone.
    """
    deadline = time.monotonic() + LOST_LOCK_WAIT_S
    while True:
        with store.lock(spec) as owned:
            if owned:
                return _settle_locked(spec, store, cause, device)
        if time.monotonic() > deadline:
            log.warning("%s: %s; its lock is still held (by another driver, or by the lost process until its "
                        "heartbeat goes stale), so the next `ganbench run` settles it", spec.run_id, cause)
            return "locked"
        time.sleep(0.1)


def _settle_locked(spec: RunSpec, store: Store, cause: str, device: str) -> str:
    from ganbench.run_one import failed_record

    status = store.status(spec)
    if status == "running":
        log.warning("%s: %s; it resumes from its last checkpoint on the next `ganbench run`", spec.run_id, cause)
    if status != "pending":
        return status
    message = f"{cause}; no checkpoint was written yet, so nothing to resume (retry: ganbench run --retry-failed)"
    store.write_error(spec, message + "\n")
    store.write_record(failed_record(spec, message, device))
    log.warning("%s: %s", spec.run_id, message)
    return "failed"


# ---- the worker side

def _worker_main(conn: Connection, slot: Slot, root: str, options: dict[str, Any], parent_pid: int) -> None:
    """Loop: receive a unit's spec dicts, say "started", execute it, report the statuses; None (or EOF) ends it."""
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle; it terminates workers
    if slot.visible_gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = slot.visible_gpu  # before anything initialises CUDA
    import torch

    from ganbench.ensemble.run import execute_unit
    from ganbench.run_one import RunOptions
    from ganbench.results.store import Store

    torch.set_num_threads(slot.threads)
    store = Store(root)
    opts = replace(RunOptions(**options), device=slot.device, threads=slot.threads)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the driver is gone
        if message is None:
            return
        unit = [RunSpec.from_dict(spec) for spec in message]
        conn.send(("started", None))
        conn.send(("status", execute_unit(unit, store, opts)))


def _die_with_parent(parent_pid: int) -> None:
    """Make this worker die with its driver: an orphan would keep training and hold its run's lock."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(pr_set_pdeathsig, signal.SIGKILL) == 0:
            if os.getppid() != parent_pid:  # the driver died before the request was in place
                os._exit(1)
            return

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="ganbench-parent-watch", daemon=True).start()
