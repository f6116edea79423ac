"""Run a list of RunSpecs as Ray tasks: on a private Ray instance on this machine, or on a cluster (``address``).

Each run is one task calling the same ``execute`` as the local executor, with the same results path,
so everything the store promises (atomic writes, resume from the last checkpoint, locks) holds here too.
On a multi-node cluster the results directory must be on a filesystem that every node mounts at the
same path (NFS, Lustre, a cloud file share): runs write their checkpoints and records there, and two
drivers are kept apart by the lock files in it. A task that cannot see the directory fails with a
message saying so, rather than writing results to a node's local disk where the driver never sees them.
ganbench (and the data and weights the suite needs) must be installed on every node too.

Resources: each task asks for ``cpus_per_run`` CPUs (default 1: on CPU, more 1-thread runs beat fewer
multi-thread ones) and torch uses that many threads; on GPUs each task asks for ``1 / runs_per_gpu``
GPUs and Ray pins it through ``CUDA_VISIBLE_DEVICES``. A task whose worker dies (killed, out of memory,
a segfault) is not retried by Ray: the run is settled as in the local executor — resumable from its
checkpoint, else ``failed`` with the cause.
"""
from __future__ import annotations

import logging
import os
import socket
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from ganbench.errors import GanbenchError
from ganbench.specs import RunSpec

if TYPE_CHECKING:
    from ganbench.run_one import RunOptions
    from ganbench.results.store import Store

RAY_MISSING = "the ray executor needs Ray: pip install 'ganbench[ray]'"


def run_ray(specs: Iterable[RunSpec], store: Store, options: RunOptions, address: str | None = None,
            on_done: Callable[[RunSpec, str], None] | None = None, *, cpus_per_run: int = 1,
            runs_per_gpu: int = 1, ensemble: int | str | None = None,
            on_plan: Callable[[str], None] | None = None) -> Counter:
    """Execute every spec as a Ray task; returns a count of final statuses, like ``run_local``. With
    ``ensemble``, runs that can train together are one task per ensemble (:mod:`ganbench.ensemble.plan`).

    Connects to ``address`` ("auto", "ray://head:10001", ...) when given, else starts a Ray instance with
    this machine's cores; reuses the connection when Ray is already initialised in this process. Only
    what this call started is shut down at the end.
    """
    specs = list(specs)
    if not specs:
        return Counter()
    ray = _import_ray()
    started = _connect(ray, address)
    try:
        device = _device(ray, options.device)
        resources = _resources(ray, device, cpus_per_run, runs_per_gpu)
        task = ray.remote(max_retries=0, **resources)(_run_task)
        root = str(store.root.resolve())
        store.root.mkdir(parents=True, exist_ok=True)  # so that a node without the shared mount can tell
        options = replace(options, device=device, data_root=_absolute(options.data_root),
                          cache_dir=_absolute(options.cache_dir))
        units = [(spec,) for spec in specs]
        if ensemble is not None:
            from ganbench.ensemble.plan import describe_units, plan_units

            slots = int(ray.cluster_resources().get("CPU", 1) // cpus_per_run) if device == "cpu" else \
                int(ray.cluster_resources().get("GPU", 1) * runs_per_gpu)
            units = plan_units(specs, ensemble, max(1, slots), device)
            if on_plan is not None:
                on_plan(describe_units(units, ensemble, device))
        pending = {task.remote([spec.to_dict() for spec in unit], root, options): unit for unit in units}
        counts: Counter = Counter()
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                unit = pending.pop(ref)
                for spec, status in zip(unit, _settle(ray, ref, unit, store, device)):
                    counts[status] += 1
                    if on_done:
                        on_done(spec, status)
        return counts
    finally:
        if started:
            ray.shutdown()


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as err:
        raise GanbenchError(RAY_MISSING) from err
    return ray


def _connect(ray: Any, address: str | None) -> bool:
    """Initialise Ray unless it already is; True when this call did (and so must shut it down)."""
    if ray.is_initialized():
        return False
    quiet: dict[str, Any] = {"logging_level": logging.WARNING, "configure_logging": True}
    if address:
        ray.init(address=address, **quiet)
    else:  # a private instance: no dashboard (its extra dependencies and port are not needed here)
        ray.init(num_cpus=os.cpu_count() or 1, include_dashboard=False, **quiet)
    return True


def _device(ray: Any, device: str) -> str:
    """The device the tasks use; "auto" is decided by the cluster (a CPU laptop may drive a GPU cluster)."""
    if device == "auto":
        return "cuda" if ray.cluster_resources().get("GPU", 0) > 0 else "cpu"
    return device


def _resources(ray: Any, device: str, cpus_per_run: int, runs_per_gpu: int) -> dict[str, float]:
    """Ray resources of one task; refuses requests no node can meet (Ray would wait for them forever)."""
    total = ray.cluster_resources()
    if cpus_per_run < 1 or runs_per_gpu < 1:
        raise GanbenchError(f"cpus_per_run and runs_per_gpu must be ≥ 1 (got {cpus_per_run}, {runs_per_gpu})")
    if total.get("CPU", 0) < cpus_per_run:
        raise GanbenchError(f"each run asks for {cpus_per_run} CPUs but the Ray cluster has {total.get('CPU', 0):g}")
    if device == "cuda":
        if total.get("GPU", 0) <= 0:
            raise GanbenchError("--device cuda: the Ray cluster has no GPUs; use --device cpu or auto")
        return {"num_cpus": cpus_per_run, "num_gpus": 1.0 / runs_per_gpu}
    return {"num_cpus": cpus_per_run, "num_gpus": 0}


def _absolute(path: str | None) -> str | None:
    """Task processes do not share the driver's working directory, so relative paths are resolved here."""
    return str(Path(path).resolve()) if path else None


def _settle(ray: Any, ref: Any, unit: tuple[RunSpec, ...], store: Store, device: str) -> list[str]:
    """The task's statuses, or — when the task itself was lost — its runs settled as the local executor does."""
    from ganbench.executors.local import record_lost_run

    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as err:  # raised outside execute's own net (e.g. no shared results dir)
        cause = f"Ray task raised {type(err.cause).__name__}: {err.cause}"
    except ray.exceptions.RayError as err:  # the worker died: killed, out of memory, node lost
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else ""
        cause = f"Ray worker died ({type(err).__name__}: {first_line})"
    return [record_lost_run(spec, store, cause, device) for spec in unit]


def _run_task(spec_dicts: list[dict[str, Any]], root: str, options: RunOptions) -> list[str]:
    """One unit (a run, or an ensemble's runs) inside a Ray worker, with as many torch threads as CPUs Ray
    gave the task."""
    import ray

    from ganbench.ensemble.run import execute_unit
    from ganbench.results.store import Store

    if not Path(root).is_dir():
        raise GanbenchError(f"results directory {root} is not visible on node {socket.gethostname()}: on a "
                            "multi-node Ray cluster it must be on a filesystem every node mounts at the same path")
    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1)
    options = replace(options, threads=max(1, int(cpus)))
    return execute_unit([RunSpec.from_dict(d) for d in spec_dicts], Store(root), options)
