"""Does ``run_local`` with ``plan_slots("auto")`` beat running the same grid in one process? Throughput ratio.

Candidates, both through ``ganbench.executors.local.run_local`` on the same run specs:

* parallel: the slots ``plan_slots("auto")`` plans for this machine (on CPU: one worker process per
  core, each with 1 torch thread), worker start-up (spawn, importing torch) included — a user pays it;
* sequential: one slot holding every core as torch threads, i.e. the runs one after another in this
  process (what ``--workers 1 --threads <cores>`` does; ganbench's default before 0.2).

Each repetition trains and evaluates the whole grid into a fresh temporary results folder (so nothing
is skipped as finished); both share one feature cache, filled by an untimed warm-up (one short run of
the same protocol), so neither pays the one-time real-feature / classifier cost. Repetitions alternate
the order; medians. Target on a 2-core CPU: parallel ≥ 1.15× the sequential runs/minute.

On a machine shared with other jobs the sequential candidate (2 torch threads) suffers far more than
two 1-thread workers (an intra-op thread waiting for a busy core stalls the whole step), so the ratio
is then inflated; measure on an otherwise idle machine for the figure to quote. ``--threads`` does not
apply here (each slot sets its own thread count).

    python benchmarks/bench_parallel.py [--quick] [--device cpu|cuda] [--grid digits|ring]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import add_common_args, finish_args, interleaved, machine, paired, print_table, verdict  # noqa: E402

from ganbench.executors.local import Slot, plan_slots, run_local  # noqa: E402
from ganbench.run_one import RunOptions  # noqa: E402
from ganbench.specs import RunSpec  # noqa: E402
from ganbench.results.store import Store  # noqa: E402
from ganbench.expand import expand  # noqa: E402
from ganbench.suite import parse  # noqa: E402

TARGET = 1.15  # parallel ÷ sequential runs per minute, on 2 cores
MODELS = [{"name": "NS GAN", "loss": "ns", "arch": {"vector": "mlp", "image": "dcgan"}},
          {"name": "WGAN GP", "loss": "wgan_gp", "arch": {"vector": "mlp", "image": "dcgan"},
           "hparams": {"n_disc": 2}}]
GRIDS: dict[str, dict[str, Any]] = {  # the CI suite's datasets (suites/ci.yaml), with a shorter budget
    "digits": {"name": "digits", "params": {"size": 8}, "hparams": {"width": 32, "lr": 2.0e-4},
               "evaluation": {"extractor": "domain", "metrics": ["fid", "knn"], "n_gen": 500, "n_real": 300}},
    "ring": {"name": "ring", "params": {"n_train": 20000, "n_test": 2500},
             "hparams": {"batch_size": 100, "z_dim": 2, "z_prior": "normal", "width": 32, "d_norm": "none"},
             "evaluation": {"extractor": "raw", "metrics": ["modes", "knn", "fid"], "n_gen": 1000, "n_real": 1000}},
}


def grid(name: str, steps: int, seeds: int) -> list[RunSpec]:
    """2 models × ``seeds`` seeds, evaluated at the half and at the end."""
    dataset = {**GRIDS[name], "budget": {"steps": steps, "eval_every": steps // 2}}
    return list(expand(parse({"name": f"bench-{name}", "datasets": [dataset], "models": MODELS,
                              "seeds": seeds, "calibration": []})).runs)


def run_grid(runs: list[RunSpec], slots: list[Slot], options: RunOptions,
             ensemble: int | str | None = None) -> float:
    """Seconds to train and evaluate every run into a fresh results folder (``ensemble``: run_local's
    ``--ensemble``); fails unless all are done."""
    with tempfile.TemporaryDirectory(prefix="ganbench-bench-results-") as root:
        start = time.perf_counter()
        counts = run_local(runs, Store(root), options, slots, ensemble=ensemble)
        seconds = time.perf_counter() - start
    if counts != Counter(done=len(runs)):
        raise SystemExit(f"not every run finished: {dict(counts)} (see the results folder's error.txt)")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(parser, repeats=3, quick_repeats=1)
    parser.add_argument("--grid", choices=list(GRIDS), default="digits")
    args = finish_args(parser.parse_args())
    steps, seeds = (400, 4) if args.quick else (800, 4)
    runs = grid(args.grid, steps, seeds)
    warmup_run = grid(args.grid, 10, 1)[:1]  # same data and evaluation protocol, 10 steps
    gpus = None if args.device == "cuda" else 0
    parallel = plan_slots("auto", gpus=gpus)
    cores = os.cpu_count() or 1
    sequential = [Slot(args.device, None, cores)]
    print(machine(args.device))
    with tempfile.TemporaryDirectory(prefix="ganbench-bench-cache-") as cache:
        options = RunOptions(device=args.device, cache_dir=cache)
        run_grid(warmup_run, sequential, options)  # warm-up: data, real features, classifier, kernels; untimed
        candidates: dict[str, Callable[[], float]] = {
            "parallel": lambda: run_grid(runs, parallel, options),
            "sequential": lambda: run_grid(runs, sequential, options)}
        times = interleaved(candidates, args.repeats, warmup=[])
    slot_text = {"parallel": f"{len(parallel)} × {parallel[0].device}, {parallel[0].threads} thread(s) each",
                 "sequential": f"1 × {args.device}, {cores} threads, in process"}
    rows = [[name, slot_text[name], f"{s.median:.1f}", s.spread, f"{60 * len(runs) / s.median:.1f}"]
            for name, s in times.items()]
    print_table(f"{len(runs)} runs of {args.grid} ({steps} steps, 2 evaluations each); median of {args.repeats}",
                ["executor", "slots", "seconds", "spread", "runs/min"], rows)
    ratio = paired(times["sequential"].values, times["parallel"].values)
    target = f"target ≥ {TARGET} on 2 cores" if args.device == "cpu" else "no target on GPU"
    print(f"\nratio: parallel ÷ sequential throughput {ratio.median:.2f}× "
          f"[{min(ratio.values):.2f}–{max(ratio.values):.2f}] over {len(ratio.values)} paired rounds; {target}"
          + (f"  {verdict(ratio.median, TARGET)}" if args.device == "cpu" else ""))


if __name__ == "__main__":
    main()
