"""Execute one RunSpec end to end: lock → load data → train (resuming) → evaluate → store the record.

Any exception becomes a ``failed`` record with its traceback in ``error.txt``; a non-finite loss or
parameter becomes ``diverged``; either way the caller's grid goes on.
"""
from __future__ import annotations

import math
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from ganbench import __version__
from ganbench.errors import GanbenchError
from ganbench.specs import RunSpec
from ganbench.store import FINISHED, Store


@dataclass(frozen=True)
class RunOptions:
    device: str = "cpu"
    data_root: str | None = None
    download: bool = False
    cache_dir: str | None = None
    retry_failed: bool = False
    threads: int | None = None  # torch intra-op threads for this run (None: leave as is)


def _best(history: list[dict[str, Any]]) -> tuple[dict[str, float], dict[str, int]]:
    from ganbench.metrics.base import higher_is_better

    best: dict[str, float] = {}
    best_step: dict[str, int] = {}
    for row in history:
        for key, value in row.get("metrics", {}).items():
            if value is None or not math.isfinite(value):
                continue
            up = higher_is_better(key)
            if up is None:
                continue
            if key not in best or (value > best[key] if up else value < best[key]):
                best[key], best_step[key] = value, row["step"]
    return best, best_step


def execute(spec: RunSpec, store: Store, options: RunOptions = RunOptions(),
            progress: Callable[[int], None] | None = None) -> str:
    """Train and evaluate ``spec`` unless it is finished or owned by another driver; returns its status."""
    status = store.status(spec)
    if status in FINISHED or (status == "failed" and not options.retry_failed):
        return status
    with store.lock(spec) as owned:
        if not owned:
            return "locked"
        status = store.status(spec)  # another driver may have finished it while we waited
        if status in FINISHED or (status == "failed" and not options.retry_failed):
            return status
        if status == "failed":
            store.reset(spec)
        return _execute_locked(spec, store, options, progress)


def _execute_locked(spec: RunSpec, store: Store, options: RunOptions, progress) -> str:
    """Run with ``options.threads`` torch threads, giving the caller back its own count afterwards."""
    before = torch.get_num_threads()
    if options.threads:
        torch.set_num_threads(options.threads)
    try:
        return _train_and_record(spec, store, options, progress)
    finally:
        torch.set_num_threads(before)


def _train_and_record(spec: RunSpec, store: Store, options: RunOptions, progress) -> str:
    from ganbench.data import load_dataset
    from ganbench.evaluate import Evaluator
    from ganbench.features.cache import default_cache_dir
    from ganbench.train import Checkpointing, train

    store.begin(spec)
    tic = time.perf_counter()
    base = {"status": "failed", "error": None, "diverged_at": None, "ganbench_version": __version__,
            "device": options.device}
    try:
        device = torch.device(options.device)
        dataset = load_dataset(spec.dataset, dict(spec.dataset_params), data_root=options.data_root,
                               download=options.download)
        cache_dir = Path(options.cache_dir) if options.cache_dir else default_cache_dir()
        evaluator = Evaluator(spec.evaluation, dataset, device=device, cache_dir=cache_dir, run_seed=spec.seed)
        checkpointing = Checkpointing(save=lambda state: store.save_checkpoint(spec, state),
                                      load=lambda: store.load_checkpoint(spec),
                                      on_history=lambda history: store.write_history(spec, history))
        outcome = train(spec, dataset, device=device, evaluate=evaluator, checkpointing=checkpointing,
                        progress=progress)
        store.write_history(spec, outcome.history)
        samples_file = None
        if outcome.status == "done":
            last = getattr(evaluator, "last_samples", None)
            if last is None:
                last = evaluator.samples(outcome.generator.eval(), outcome.sample_latent, spec.budget.steps)
            samples_file = store.write_samples(spec, last)
        best, best_step = _best(outcome.history)
        final = outcome.history[-1].get("metrics", {}) if outcome.history else {}
        compute = {**outcome.compute, "seconds": time.perf_counter() - tic, "device": str(device)}
        store.write_result(spec, {
            **base, "status": outcome.status, "diverged_at": outcome.diverged_at,
            "error": outcome.diverged_what, "final": final, "best": best, "best_step": best_step,
            "compute": compute, "protocol": evaluator.record,
            "samples": samples_file if samples_file == "samples.png" else None,
            "samples_2d": samples_file if samples_file == "samples.npy" else None})
        return outcome.status
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as err:  # recorded, and the grid goes on
        text = traceback.format_exc()
        store.write_error(spec, text)
        message = str(err) if isinstance(err, GanbenchError) else f"{type(err).__name__}: {err}"
        store.write_result(spec, {**base, "error": message,
                                  "compute": {"seconds": time.perf_counter() - tic, "device": options.device}})
        return "failed"
