"""Execute one RunSpec end to end: lock → load data → train (resuming) → evaluate → store the record.

Any exception becomes a ``failed`` record with its traceback in ``error.txt``; a non-finite loss or
parameter becomes ``diverged``; either way the caller's grid goes on.
"""
from __future__ import annotations

import contextlib
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from ganbench import __version__
from ganbench.calibration import is_calibration
from ganbench.errors import GanbenchError
from ganbench.results.record import FINISHED, RunRecord, best_over
from ganbench.results.store import Store
from ganbench.specs import RunSpec


@dataclass(frozen=True)
class RunOptions:
    device: str = "cpu"
    data_root: str | None = None
    download: bool = False
    cache_dir: str | None = None
    retry_failed: bool = False
    threads: int | None = None  # torch intra-op threads for this run (None: leave as is)
    keep_checkpoints: bool = False  # keep a finished run's resumable training checkpoint (ckpt.pt)
    tensorboard: str | None = None  # write TensorBoard event files under this folder (ganbench.tensorboard)


def failed_record(spec: RunSpec, error: str, device: str, seconds: float | None = None) -> RunRecord:
    """The record of a run that failed before it finished (an exception, or a lost process)."""
    compute = {"device": device} if seconds is None else {"seconds": seconds, "device": device}
    return RunRecord(run_id=spec.run_id, suite=spec.suite, phase=spec.phase, role=spec.role, spec=spec.to_dict(),
                     status="failed", error=error, compute=compute, ganbench_version=__version__)


def evaluated_record(spec: RunSpec, history: list[dict[str, Any]], directions: dict[str, bool], *,
                     compute: dict[str, Any], protocol: dict[str, Any], status: str = "done",
                     samples: str | None = None, diverged_at: int | None = None, diverged_cause: str | None = None,
                     mode_centres: tuple[tuple[float, ...], ...] | None = None) -> RunRecord:
    """The record of a run that trained (or scored) to its end: its last evaluation's metrics and the best of
    each over its history (:func:`best_over`), with what it cost and the protocol it was scored under."""
    best, best_step = best_over(history, directions)
    return RunRecord(run_id=spec.run_id, suite=spec.suite, phase=spec.phase, role=spec.role, spec=spec.to_dict(),
                     status=status, diverged_at=diverged_at, diverged_cause=diverged_cause,
                     final=history[-1].get("metrics", {}) if history else {}, best=best, best_step=best_step,
                     directions=directions, compute=compute, protocol=protocol, samples=samples,
                     mode_centres=mode_centres, ganbench_version=__version__)


def execute(spec: RunSpec, store: Store, options: RunOptions = RunOptions(),
            progress: Callable[[int], None] | None = None) -> str:
    """Train and evaluate ``spec`` unless it is finished or owned by another driver; returns its status."""
    status = settled(spec, store, options)
    if status is not None:
        return status
    with store.lock(spec) as owned:
        if not owned:
            return "locked"
        status = settled(spec, store, options)  # another driver may have finished it while we waited
        if status is not None:
            return status
        return execute_owned(spec, store, options, progress)


def settled(spec: RunSpec, store: Store, options: RunOptions) -> str | None:
    """The run's status when there is nothing to do for it (finished, or failed without ``retry_failed``),
    else None."""
    status = store.status(spec)
    if status in FINISHED or (status == "failed" and not options.retry_failed):
        return status
    return None


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """``threads`` torch threads inside the block (None: as they are), the caller's count back afterwards."""
    import torch  # here, not at module level: `ganbench status` imports this module and needs no torch

    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def execute_owned(spec: RunSpec, store: Store, options: RunOptions,
                  progress: Callable[[int], None] | None = None) -> str:
    """Train and record a run whose lock the caller holds (a failed one to retry is reset first), with
    ``options.threads`` torch threads."""
    if store.status(spec) == "failed":
        store.reset(spec)
    with torch_threads(options.threads):
        return _train_and_record(spec, store, options, progress)


def _train_and_record(spec: RunSpec, store: Store, options: RunOptions, progress) -> str:
    import torch

    from ganbench.data import load_dataset
    from ganbench.data.pairs import is_domain_pair
    from ganbench.evaluate import Evaluator
    from ganbench.features.cache import default_cache_dir
    from ganbench.train import train

    store.begin(spec)
    tic = time.perf_counter()
    log = None
    try:
        device = torch.device(options.device)
        dataset = load_dataset(spec.dataset, dict(spec.dataset_params), data_root=options.data_root,
                               download=options.download)
        cache_dir = Path(options.cache_dir) if options.cache_dir else default_cache_dir()
        if is_domain_pair(dataset):  # a translation task (ganbench/translation/): its own trainer and evaluator
            from ganbench.translation.run import run_translation

            return run_translation(spec, store, dataset, device=device, cache_dir=cache_dir, progress=progress,
                                   keep_checkpoint=options.keep_checkpoints, tensorboard=options.tensorboard, tic=tic)
        evaluator = Evaluator(spec.evaluation, dataset, device=device, cache_dir=cache_dir, run_seed=spec.seed)
        if is_calibration(spec.model.kind):  # real data scored as a model: nothing to train
            return _score_calibration(spec, store, dataset, evaluator, tic)
        stored = stored_training(spec, store, evaluator, options.tensorboard)
        log = stored.log
        outcome = train(spec, dataset, device=device, evaluate=stored.evaluate, checkpointing=stored.checkpointing,
                        progress=progress)  # history.jsonl is written at every evaluation (on_history)
        return store_outcome(spec, store, dataset, evaluator, outcome, options, tic)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as err:  # recorded, and the grid goes on
        return record_failure(spec, store, err, options.device, time.perf_counter() - tic)
    finally:
        if log is not None:
            log.close()


@dataclass(frozen=True)
class StoredTraining:
    """What a trainer needs to keep a run in the store (:func:`stored_training`)."""

    evaluate: Any  # the evaluator, or its TensorBoard-logging wrapper
    checkpointing: Any  # ganbench.train.Checkpointing: saved and loaded by the store, history.jsonl at every row
    log: Any = None  # the TensorBoard log to close (ganbench.tensorboard.RunLog), or None
    seen: Callable[[int, Any], None] = lambda step, evaluation: None  # an evaluation made without ``evaluate``


def stored_training(spec: RunSpec, store: Store, evaluator: Any, tensorboard: str | None) -> StoredTraining:
    """The evaluate, Checkpointing and TensorBoard log of a run kept in the store; ``seen`` hands the log an
    evaluation made elsewhere (an ensemble's members are evaluated together, not through ``evaluate``)."""
    from ganbench.tensorboard import RunLog

    return logged_training(spec, store, evaluator, RunLog(tensorboard, spec) if tensorboard else None)


def logged_training(spec: RunSpec, store: Store, evaluator: Any, log: Any) -> StoredTraining:
    """:func:`stored_training` with a TensorBoard log the caller opened (a translation run opens it before it
    knows whether it trains), or None."""
    from ganbench.train import Checkpointing

    def on_history(history: list[dict[str, Any]]) -> None:
        store.write_history(spec, history)

    evaluate, write, seen = evaluator, on_history, StoredTraining.seen
    if log is not None:
        evaluate, write, seen = with_tensorboard(evaluator, on_history, log)
    checkpointing = Checkpointing(save=lambda state: store.save_checkpoint(spec, state),
                                  load=lambda: store.load_checkpoint(spec), on_history=write)
    return StoredTraining(evaluate, checkpointing, log, seen)


def store_outcome(spec: RunSpec, store: Store, dataset: Any, evaluator: Any, outcome: Any, options: RunOptions,
                  tic: float, share: int = 1) -> str:
    """Write a trained run's samples (a class grid for a conditional G), its record and its final weights;
    returns its status. ``outcome``: :class:`ganbench.train.Outcome`, of a solo run or an ensemble's member;
    ``share``: the members the wall time since ``tic`` was spent on (a member's ``seconds``, which the budget
    curves add up, are its share)."""
    from ganbench.evaluate import GRID_COLUMNS

    samples_file = None
    if outcome.status == "done":
        samples = outcome.samples
        grid = evaluator.class_grid(outcome.generator, outcome.sample_latent) if dataset.info.kind == "image" \
            else None
        if grid is not None:  # a conditional G: one row per class, the same z down each column
            samples_file = store.write_samples(spec, grid, columns=GRID_COLUMNS)
        else:
            if samples is None:  # resumed after its last evaluation: draw them as that evaluation did
                samples = evaluator.samples(outcome.generator.eval(), outcome.sample_latent, spec.budget.steps)
            samples_file = store.write_samples(spec, samples)
    store.write_record(evaluated_record(
        spec, outcome.history, evaluator.directions, status=outcome.status, diverged_at=outcome.diverged_at,
        diverged_cause=outcome.diverged_what,
        compute={**outcome.compute, "seconds": (time.perf_counter() - tic) / share, "device": options.device},
        protocol=_protocol(evaluator, outcome.sample_latent), samples=samples_file,
        mode_centres=_mode_centres(dataset)))
    store.finish(spec, outcome.generator.state_dict(), keep_checkpoint=options.keep_checkpoints)
    return outcome.status


def record_failure(spec: RunSpec, store: Store, err: Exception, device: str, seconds: float) -> str:
    """Record a run that raised: its traceback in ``error.txt``, a ``failed`` record with the message."""
    store.write_error(spec, traceback.format_exc())
    message = str(err) if isinstance(err, GanbenchError) else f"{type(err).__name__}: {err}"
    store.write_record(failed_record(spec, message, device, seconds))
    return "failed"


def _mode_centres(dataset: Any) -> tuple[tuple[float, ...], ...] | None:
    """A 2-D mixture's mode centres as plain floats, stored in its runs' records (None for other data)."""
    centres = dataset.info.extras.get("centres") if dataset.info.kind == "vector" else None
    return tuple(tuple(float(v) for v in c) for c in centres) if centres is not None else None


def _score_calibration(spec: RunSpec, store: Store, dataset: Any, evaluator: Any, tic: float) -> str:
    """A calibration row (:mod:`ganbench.calibration`): its real samples scored once, at step 0, by the
    evaluator the models use; stored as an ordinary finished record, with where its samples came from."""
    from ganbench.calibration import draw

    n_train = len(evaluator.train) if evaluator.train is not None else 0
    taken = draw(spec.model.kind, dataset, spec.evaluation, seed=spec.seed, n_train_used=n_train,
                 real_seed=evaluator.seed)
    tic_eval = time.perf_counter()
    evaluation = evaluator.score(taken.samples, 0)  # on the CPU, as a generator's samples reach the metrics
    seconds = time.perf_counter() - tic_eval
    history = [{"step": 0, "losses": {}, "seconds": 0.0, "metrics": dict(evaluation.metrics)}]
    store.write_history(spec, history)
    store.write_record(evaluated_record(
        spec, history, evaluator.directions,
        compute={"steps": 0, "train_seconds": 0.0, "eval_seconds": seconds,
                 "seconds": time.perf_counter() - tic, "device": str(evaluator.device)},
        protocol={**evaluator.record, "calibration_samples": taken.source},
        samples=store.write_samples(spec, taken.samples), mode_centres=_mode_centres(dataset)))
    store.finish(spec, None)
    return "done"


def _protocol(evaluator: Any, sample_latent: Any) -> dict[str, Any]:
    """The evaluation protocol, with how a conditional G's labels (or InfoGAN's codes) were drawn."""
    sampling = getattr(sample_latent, "label_sampling", None)
    return {**evaluator.record, "label_sampling": sampling} if sampling else evaluator.record


def with_tensorboard(evaluator, on_history, log):
    """(evaluate, write, seen): the evaluator and history writer, also logging each evaluation point (scalars
    and its samples) to TensorBoard once its history row is complete (losses and metrics). ``seen(step,
    evaluation)`` keeps the samples of an evaluation made without ``evaluate``."""
    samples: dict[int, Any] = {}

    def seen(step: int, evaluation) -> None:
        samples[step] = evaluation.samples

    def evaluate(first, second, step: int):  # (G, its latents, step), or a translation's (G_AB, G_BA, step)
        evaluation = evaluator(first, second, step)
        seen(step, evaluation)
        return evaluation

    def write(history: list[dict[str, Any]]) -> None:
        on_history(history)
        log.evaluation(history[-1], samples.pop(int(history[-1]["step"]), None))

    return evaluate, write, seen
