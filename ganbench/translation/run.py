"""One translation RunSpec end to end, inside :func:`ganbench.run_one.execute`: train (resuming), evaluate, record.

The record is an ordinary :class:`~ganbench.results.record.RunRecord`, so the store, ``status``, ``report`` and
``check`` read translation runs as any other; its samples file is the translation grid. The identity baseline
(calibration row ``identity``) trains nothing and is scored once, at step 0.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from ganbench.calibration import is_calibration
from ganbench.data.pairs import DomainPair
from ganbench.results.store import Store
from ganbench.specs import RunSpec


def run_translation(spec: RunSpec, store: Store, pair: DomainPair, *, device: Any, cache_dir: Path,
                    progress: Callable[[int], None] | None, keep_checkpoint: bool, tic: float,
                    tensorboard: str | None = None) -> str:
    """Train (or, for the identity row, only score) ``spec`` on ``pair`` and store its record; returns its status.
    With ``tensorboard``, each evaluation point's scalars and A → B translations go to TensorBoard as well."""
    log = None
    try:
        if tensorboard:
            from ganbench.tensorboard import RunLog

            log = RunLog(tensorboard, spec)
        return _run(spec, store, pair, device, cache_dir, progress, keep_checkpoint, tic, log)
    finally:
        if log is not None:
            log.close()


def _run(spec: RunSpec, store: Store, pair: DomainPair, device: Any, cache_dir: Path,
         progress: Callable[[int], None] | None, keep_checkpoint: bool, tic: float, log: Any) -> str:
    from ganbench.evaluate import GRID_COLUMNS
    from ganbench.run_one import evaluated_record, logged_training
    from ganbench.translation.evaluate import TranslationEvaluator, identity_translators
    from ganbench.translation.train import TranslationOutcome, train_translation

    evaluator = TranslationEvaluator(spec.evaluation, pair, device=device, cache_dir=cache_dir, run_seed=spec.seed)
    if is_calibration(spec.model.kind):
        g_ab, g_ba = identity_translators()
        tic_eval = time.perf_counter()
        history = [{"step": 0, "losses": {}, "seconds": 0.0, "metrics": dict(evaluator(g_ab, g_ba, 0).metrics)}]
        store.write_history(spec, history)
        outcome = TranslationOutcome("done", history, g_ab, g_ba, {
            "steps": 0, "train_seconds": 0.0, "eval_seconds": time.perf_counter() - tic_eval})
    else:
        # the evaluator's (G_AB, G_BA, step) rides where a generator's (G, latents, step) does
        stored = logged_training(spec, store, evaluator, log)
        outcome = train_translation(spec, pair, device=device, evaluate=stored.evaluate,
                                    checkpointing=stored.checkpointing, progress=progress)
    samples = None
    if outcome.status == "done":
        grid = evaluator.grid(outcome.g_ab, outcome.g_ba)
        samples = store.write_samples(spec, grid, columns=GRID_COLUMNS if grid.dim() > 2 else None)
    store.write_record(evaluated_record(
        spec, outcome.history, evaluator.directions, status=outcome.status, diverged_at=outcome.diverged_at,
        diverged_cause=outcome.diverged_what,
        compute={**outcome.compute, "seconds": time.perf_counter() - tic, "device": str(device)},
        protocol=evaluator.record, samples=samples))
    state = None if is_calibration(spec.model.kind) else \
        {"g_ab": outcome.g_ab.state_dict(), "g_ba": outcome.g_ba.state_dict()}
    store.finish(spec, state, keep_checkpoint=keep_checkpoint)
    return outcome.status
