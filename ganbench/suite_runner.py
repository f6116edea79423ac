"""Drive a whole suite: preflight the data, expand, run what is not finished, then phases that await results."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Mapping

from ganbench.phases import best_lookup
from ganbench.results.record import FINISHED, RunRecord
from ganbench.results.store import Store, scan
from ganbench.run_one import RunOptions
from ganbench.specs import RunSpec, SuiteSpec
from ganbench.expand import Expansion, expand


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda"):
        from ganbench.errors import GanbenchError

        raise GanbenchError(f"--device: expected cpu, cuda or auto, got '{device}'")
    if device == "cuda" and not torch.cuda.is_available():
        from ganbench.errors import GanbenchError

        raise GanbenchError("--device cuda: no CUDA device is visible; use --device cpu")
    return device


def preflight(spec: SuiteSpec, data_root: str | None, download: bool) -> None:
    """Load every dataset once so missing files stop the command before any run starts (exit code 2)."""
    from ganbench.data import load_dataset

    for entry in spec.datasets:
        load_dataset(entry.name, dict(entry.params), data_root=data_root, download=download)


def todo(runs: tuple[RunSpec, ...], store: Store, retry_failed: bool) -> list[RunSpec]:
    skip = FINISHED if retry_failed else FINISHED + ("failed",)
    return [r for r in runs if store.status(r) not in skip]


def run_suite(spec: SuiteSpec, store: Store, *, workers: str = "auto", device: str = "auto", executor: str = "local",
              address: str | None = None, data_root: str | None = None, download: bool = False,
              cache_dir: str | None = None, retry_failed: bool = False, runs_per_gpu: int = 1,
              progress: bool = True, keep_checkpoints: bool = False, threads: int | None = None,
              tensorboard: str | None = None, ensemble: int | str | None = None) -> Counter:
    """Run until every run of every phase is finished (or failed); returns counts of the statuses reached.

    ``threads``: torch threads per run (default: one on CPU, see :func:`~ganbench.executors.local.plan_slots`).
    ``ensemble``: train runs that can train together as ensembles of up to that many members, or "auto"
    (:mod:`ganbench.ensemble`); None trains each run alone.
    """
    from tqdm.auto import tqdm

    from ganbench.errors import GanbenchError

    if executor != "ray":  # a Ray cluster decides "auto" and checks "cuda" against its own nodes
        device = resolve_device(device)
    preflight(spec, data_root, download)
    options = RunOptions(device=device, data_root=data_root, download=download, cache_dir=cache_dir,
                         retry_failed=retry_failed, keep_checkpoints=keep_checkpoints,
                         tensorboard=str(Path(tensorboard).resolve()) if tensorboard else None)
    counts: Counter = Counter()
    attempted: set[str] = set()
    while True:
        expansion = expand(spec, best_lookup(store, spec.name))
        batch = [r for r in todo(expansion.runs, store, retry_failed) if r.run_id not in attempted]
        if not batch:
            break
        attempted.update(r.run_id for r in batch)
        later = Counter()
        for p in expansion.pending:
            later[p.phase] += p.runs
        bar = tqdm(total=len(batch), desc=batch_label(spec.name, batch), unit="run", disable=not progress,
                   dynamic_ncols=True)

        done_counts: Counter = Counter()

        def on_plan(text: str) -> None:  # how --ensemble grouped this batch, above the bar
            if progress:
                bar.write(text)

        def on_done(run: RunSpec, status: str) -> None:
            done_counts[status] += 1
            bar.update(1)
            elapsed = bar.format_dict.get("elapsed", 0.0)
            bar.set_postfix_str(", ".join(f"{k}={v}" for k, v in sorted(done_counts.items()))
                                + time_left(bar.n, elapsed, len(batch) - bar.n, later), refresh=False)

        if executor == "local":
            from ganbench.executors.local import plan_slots, run_local

            slots = plan_slots(workers, gpus=0 if device == "cpu" else None, runs_per_gpu=runs_per_gpu,
                               threads=threads)
            counts += run_local(batch, store, options, slots, on_done, ensemble=ensemble, on_plan=on_plan)
        elif executor == "ray":
            from ganbench.executors.ray import run_ray

            counts += run_ray(batch, store, options, address=address, on_done=on_done,
                              runs_per_gpu=runs_per_gpu, cpus_per_run=threads or 1, ensemble=ensemble,
                              on_plan=on_plan)
        else:
            raise GanbenchError(f"--executor: expected local or ray, got '{executor}'")
        bar.close()
    return counts


def batch_label(suite: str, batch: list[RunSpec]) -> str:
    """"default · phase wide": what the progress bar is running (phases in the order they first appear)."""
    phases = list(dict.fromkeys(r.phase for r in batch))
    return f"{suite} · phase{'s' if len(phases) > 1 else ''} {', '.join(phases)}"


def time_left(done: int, elapsed: float, left: int, later: Mapping[str, int]) -> str:
    """", then 30 runs of seeds; ≈ 4 min left in all": the phases still to come (a best_of phase expands
    once its source is done) and the time the whole suite still needs at the pace of the runs so far."""
    waiting = sum(later.values())
    text = (", then " + ", ".join(f"{n} runs of {phase}" for phase, n in later.items())) if waiting else ""
    if done and waiting:  # with nothing after this batch, tqdm's own estimate says it
        seconds = elapsed / done * (left + waiting)
        text += f"; ≈ {_duration(seconds)} left in all"
    return text


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min" if seconds < 5400 \
        else f"{seconds / 3600:.1f} h"


def _label(spec: Mapping[str, Any]) -> str:
    return f"{spec['phase']}/{spec['dataset']}/{spec['model']['name']}/setting {spec['setting']}/seed {spec['seed']}"


def _why(record: RunRecord | None) -> str | None:
    """Why a run is where it is: its failure, or its divergence's cause and step."""
    if record is None:
        return None
    if record.status == "diverged" and record.diverged_cause:
        return f"{record.diverged_cause} at step {record.diverged_at}"
    return record.error


def suite_status(spec: SuiteSpec, store: Store, expansion: Expansion) -> list[dict[str, Any]]:
    """One row per run of the suite (pending best_of phases counted as pending runs)."""
    rows = []
    for run in expansion.runs:
        status = store.status(run)
        why = _why(store.record(run)) if status in ("failed", "diverged") else None
        if status == "running":
            owner = store.lock_owner(run)
            why = f"owned by pid {owner['pid']} on {owner['host']}" if owner else "interrupted; resumes on the next run"
        rows.append({"run_id": run.run_id, "status": status, "label": _label(run.to_dict()), "why": why})
    for p in expansion.pending:
        rows += [{"run_id": "-", "status": "pending", "label": f"{p.phase}/{p.dataset}/{p.model}",
                  "why": f"after phase '{p.waits_for}'"}] * p.runs
    return rows


def dir_status(path: Path) -> list[dict[str, Any]]:
    from ganbench.errors import GanbenchError

    if not path.exists():
        raise GanbenchError(f"{path}: neither a suite file nor a results directory")
    found = scan(path)
    rows = [{"run_id": r.run_id, "status": r.status, "label": _label(r.spec), "why": _why(r)}
            for r in found.records]
    rows += [{"run_id": p.name, "status": "failed", "label": str(p), "why": f"unreadable record: {why}"}
             for p, why in found.unreadable]
    return rows
