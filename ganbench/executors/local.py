"""Run a list of RunSpecs on this machine: in-process, or one worker process per device slot.

On CPU each worker gets an equal share of the cores as torch threads (two 1-thread runs on a 2-core
machine beat one 2-thread run); on GPUs each worker is pinned to one device through
``CUDA_VISIBLE_DEVICES`` (optionally several workers per GPU). Runs already finished are skipped by
the runner itself, and a run owned by another driver is left to it.
"""
from __future__ import annotations

import multiprocessing as mp
import os
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Callable, Iterable

from ganbench.runner import RunOptions, execute
from ganbench.specs import RunSpec
from ganbench.store import Store


@dataclass(frozen=True)
class Slot:
    device: str  # "cpu" or "cuda"
    visible_gpu: str | None  # CUDA_VISIBLE_DEVICES for the worker
    threads: int


def plan_slots(workers: int | str, gpus: int | None = None, cores: int | None = None,
               runs_per_gpu: int = 1) -> list[Slot]:
    """Device slots for ``workers`` (a count or "auto"): every GPU (× runs_per_gpu), else the CPU cores."""
    if gpus is None:
        import torch

        gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    cores = cores or os.cpu_count() or 1
    if gpus:
        count = gpus * runs_per_gpu if workers == "auto" else int(workers)
        threads = max(1, cores // max(count, 1))
        return [Slot("cuda", str(i % gpus), threads) for i in range(count)]
    count = cores if workers == "auto" else int(workers)
    count = max(1, count)
    return [Slot("cpu", None, max(1, cores // count)) for _ in range(count)]


_SLOT: Slot | None = None


def _init_worker(slots: "mp.Queue[Slot]") -> None:
    global _SLOT
    _SLOT = slots.get()
    if _SLOT.visible_gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = _SLOT.visible_gpu  # before this process touches CUDA
    import torch

    torch.set_num_threads(_SLOT.threads)


def _work(spec_dict: dict, root: str, options: RunOptions) -> tuple[str, str]:
    assert _SLOT is not None
    spec = RunSpec.from_dict(spec_dict)
    status = execute(spec, Store(root), replace(options, device=_SLOT.device, threads=_SLOT.threads))
    return spec.run_id, status


def run_local(specs: Iterable[RunSpec], store: Store, options: RunOptions, slots: list[Slot],
              on_done: Callable[[RunSpec, str], None] | None = None) -> Counter:
    """Execute every spec; returns a count of final statuses (done, diverged, failed, locked, ...)."""
    specs = list(specs)
    counts: Counter = Counter()
    if len(slots) <= 1 or len(specs) <= 1:
        slot = slots[0] if slots else Slot("cpu", None, 0)
        opts = replace(options, device=slot.device if options.device == "cpu" else options.device,
                       threads=slot.threads or options.threads)
        for spec in specs:
            status = execute(spec, store, opts)
            counts[status] += 1
            if on_done:
                on_done(spec, status)
        return counts
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    for slot in slots:
        queue.put(slot)
    by_id = {s.run_id: s for s in specs}
    with ProcessPoolExecutor(len(slots), mp_context=ctx, initializer=_init_worker, initargs=(queue,)) as pool:
        todo = {pool.submit(_work, s.to_dict(), str(store.root), options) for s in specs}
        while todo:
            finished, todo = wait(todo, return_when=FIRST_COMPLETED)
            for future in finished:
                run_id, status = future.result()
                counts[status] += 1
                if on_done:
                    on_done(by_id[run_id], status)
    return counts
