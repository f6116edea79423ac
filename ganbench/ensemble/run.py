"""Execute one work unit — one run, or the members of an ensemble — end to end, as :mod:`ganbench.run_one`
does for one run: skip what is finished, lock each member, load the data once, train the members as one
ensemble, and store each member's record the moment it is finished, so a killed ensemble loses no finished
member. Members that cannot train together (a network with no grouped form) train one by one instead.
"""
from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from typing import Sequence

from ganbench.errors import GanbenchError
from ganbench.results.store import Store
from ganbench.run_one import (RunOptions, execute, execute_owned, record_failure, settled, store_outcome,
                              stored_training, torch_threads)
from ganbench.specs import RunSpec

log = logging.getLogger(__name__)


def execute_unit(unit: Sequence[RunSpec], store: Store, options: RunOptions = RunOptions()) -> list[str]:
    """Each run's status, in order: one run executes as :func:`ganbench.run_one.execute`; several as one
    ensemble of those not finished and not owned by another driver."""
    if len(unit) == 1:
        return [execute(unit[0], store, options)]
    statuses: dict[str, str] = {}
    with contextlib.ExitStack() as locks:
        owned = []
        for spec in unit:
            status = settled(spec, store, options)
            if status is None:
                if not locks.enter_context(store.lock(spec)):
                    status = "locked"
                else:
                    status = settled(spec, store, options)  # finished by another driver while we waited
            if status is not None:
                statuses[spec.run_id] = status
            else:
                owned.append(spec)
        if len(owned) == 1:
            statuses[owned[0].run_id] = execute_owned(owned[0], store, options)
        elif owned:
            with torch_threads(options.threads):
                statuses.update(_train_and_record(owned, store, options))
    return [statuses[spec.run_id] for spec in unit]


def _train_and_record(specs: list[RunSpec], store: Store, options: RunOptions) -> dict[str, str]:
    import torch

    from ganbench.data import load_dataset
    from ganbench.ensemble.train import train_ensemble
    from ganbench.evaluate import Evaluator
    from ganbench.features.cache import default_cache_dir
    statuses: dict[str, str] = {}
    logs: list = []  # TensorBoard logs (ganbench.tensorboard.RunLog) to close
    tic = time.perf_counter()
    for spec in specs:
        if store.status(spec) == "failed":  # a failed run to retry (--retry-failed) starts afresh
            store.reset(spec)
        store.begin(spec)
    try:
        first = specs[0]
        device = torch.device(options.device)
        dataset = load_dataset(first.dataset, dict(first.dataset_params), data_root=options.data_root,
                               download=options.download)
        cache_dir = Path(options.cache_dir) if options.cache_dir else default_cache_dir()
        shared = Evaluator(first.evaluation, dataset, device=device, cache_dir=cache_dir, run_seed=first.seed)
        evaluators = [shared.for_run(spec.seed) for spec in specs]  # one extractor and real side for all
        stored = [stored_training(spec, store, evaluator, options.tensorboard)
                  for spec, evaluator in zip(specs, evaluators)]
        logs += [s.log for s in stored if s.log is not None]

        storing = 0.0  # seconds spent storing finished members, which the others are not charged

        def on_outcome(i: int, outcome) -> None:
            nonlocal storing
            start = time.perf_counter()
            statuses[specs[i].run_id] = store_outcome(specs[i], store, dataset, evaluators[i], outcome, options,
                                                      tic + storing, share=len(specs))
            storing += time.perf_counter() - start

        train_ensemble(specs, dataset, device=device, evaluators=evaluators,
                       checkpointings=[s.checkpointing for s in stored], on_outcome=on_outcome,
                       on_evaluation=lambda i, step, evaluation: stored[i].seen(step, evaluation))
    except (KeyboardInterrupt, SystemExit):
        raise
    except GanbenchError as err:
        if statuses:  # some members finished: this is a fault of the rest, recorded below
            return _fail_rest(specs, store, err, options, tic, statuses)
        log.info("training %d runs one by one: %s", len(specs), err)
        return {spec.run_id: execute_owned(spec, store, options) for spec in specs}
    except Exception as err:  # recorded for each unfinished member, and the grid goes on
        return _fail_rest(specs, store, err, options, tic, statuses)
    finally:
        for run_log in logs:
            run_log.close()
    return statuses


def _fail_rest(specs: list[RunSpec], store: Store, err: Exception, options: RunOptions, tic: float,
               statuses: dict[str, str]) -> dict[str, str]:
    for spec in specs:
        if spec.run_id not in statuses:
            statuses[spec.run_id] = record_failure(spec, store, err, options.device, time.perf_counter() - tic)
    return statuses
