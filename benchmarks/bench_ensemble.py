"""Does ``--ensemble`` beat ``--workers auto``? Throughput of the same grid trained both ways.

Candidates, both through ``ganbench.executors.local.run_local`` on the same run specs and the same slots
(``plan_slots("auto")``: on CPU one 1-thread worker process per core, spawn included):

* workers: each run alone, one per slot (ganbench's default);
* ensemble: ``--ensemble K`` — the runs grouped into ensembles (:mod:`ganbench.ensemble`), one per slot; K is
  ``--members`` (default: the runs ÷ the slots, 8 for 16 runs on 2 cores, what ``auto`` forms where it groups —
  on a CPU ``auto`` leaves the conv nets alone, so ``--members auto`` on ``digits16`` measures nothing).

Every run trains and is evaluated as a user's would be (history, checkpoint, record, samples). Each repetition
writes into a fresh results folder; both share one feature cache, filled by an untimed warm-up. Repetitions
alternate the order; medians, and the ratio per paired round. Grids (16 seeds of one model, the default
suite's settings):

* ``ring``: NS GAN, the 2-D ring MLP (width 16, z 2, batch 100), 1,000 steps, one evaluation (modes, knn on
  1,000 samples) — issue 21's target ≥ 3× on 2 cores;
* ``digits16``: NS GAN, DCGAN on 16×16 digits (width 16, batch 64), 300 steps, one evaluation (FID on the
  domain classifier, 300 samples) — target ≥ 1.5× on 2 cores;
* ``infogan28``: NS GAN, the study's InfoGAN nets on 28×28 polygons, 32 seeds, 500 steps (meant for
  ``--device cuda``; issue 21's GPU target ≥ 8× the best ``--runs-per-gpu``, which ``--runs-per-gpu`` sets for
  the workers candidate).

    python benchmarks/bench_ensemble.py [--quick] [--grid ring|digits16|infogan28] [--device cpu|cuda]
                                        [--members K|auto]
"""
from __future__ import annotations

import argparse
import tempfile
import sys
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import add_common_args, finish_args, interleaved, machine, paired, print_table, verdict  # noqa: E402
from bench_parallel import run_grid  # noqa: E402  (the same timed grid, with --ensemble)

from ganbench.executors.local import plan_slots  # noqa: E402
from ganbench.expand import expand  # noqa: E402
from ganbench.run_one import RunOptions  # noqa: E402
from ganbench.specs import RunSpec  # noqa: E402
from ganbench.suite import parse  # noqa: E402

GRIDS: dict[str, dict[str, Any]] = {
    "ring": {"dataset": {"name": "ring", "params": {"n_train": 20000, "n_test": 2500, "sigma": 0.05},
                         "hparams": {"batch_size": 100, "z_dim": 2, "z_prior": "normal", "width": 16,
                                     "d_norm": "none", "lr": 1e-3},
                         "evaluation": {"extractor": "raw", "metrics": ["modes", "knn"], "n_gen": 1000,
                                        "n_real": 1000}},
             "arch": "mlp", "steps": 1000, "seeds": 16, "target": 3.0},
    "digits16": {"dataset": {"name": "digits", "params": {"size": 16, "n_test": 600},
                             "hparams": {"width": 16, "lr": 1e-3},
                             "evaluation": {"extractor": "domain", "metrics": ["fid"], "n_gen": 300, "n_real": 300}},
                 "arch": "dcgan", "steps": 300, "seeds": 16, "target": 1.5},
    "infogan28": {"dataset": {"name": "polygons", "params": {"n_train": 10000, "n_test": 2000},
                              "evaluation": {"extractor": "raw", "metrics": ["fid"], "n_gen": 2000, "n_real": 2000}},
                  "arch": "infogan", "steps": 500, "seeds": 32, "target": None},
}


def grid(name: str, steps: int, seeds: int) -> list[RunSpec]:
    """NS GAN × ``seeds`` seeds on the grid's dataset, one evaluation at the end."""
    g = GRIDS[name]
    dataset = {**g["dataset"], "budget": {"steps": steps, "eval_every": steps}}
    doc = {"name": f"bench-{name}", "datasets": [dataset], "calibration": [],
           "models": [{"name": "NS GAN", "loss": "ns", "arch": g["arch"]}], "seeds": seeds}
    return list(expand(parse(doc)).runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(parser, repeats=2, quick_repeats=1)
    parser.add_argument("--grid", choices=list(GRIDS), default="ring")
    parser.add_argument("--runs-per-gpu", type=int, default=4, help="the workers candidate's runs per GPU")
    parser.add_argument("--members", default=None, help="--ensemble's value: K or auto (default: runs ÷ slots)")
    args = finish_args(parser.parse_args())
    g = GRIDS[args.grid]
    steps, seeds = (g["steps"] // 4, g["seeds"] // 2) if args.quick else (g["steps"], g["seeds"])
    runs = grid(args.grid, steps, seeds)
    warmup = grid(args.grid, 4, 2)
    cuda = args.device == "cuda"
    workers = plan_slots("auto", gpus=None if cuda else 0, runs_per_gpu=args.runs_per_gpu if cuda else 1)
    ensembles = plan_slots("auto", gpus=None if cuda else 0, runs_per_gpu=1)
    members = args.members or str(-(-len(runs) // len(ensembles)))
    print(machine(args.device))
    with tempfile.TemporaryDirectory(prefix="ganbench-bench-cache-") as cache:
        options = RunOptions(device=args.device, cache_dir=cache)
        run_grid(warmup, workers, options, None)  # data, real features, classifier, kernels; untimed
        candidates: dict[str, Callable[[], float]] = {
            "workers": lambda: run_grid(runs, workers, options, None),
            "ensemble": lambda: run_grid(runs, ensembles, options, members if members == "auto" else int(members))}
        times = interleaved(candidates, args.repeats, warmup=[])
    slot_text = {"workers": f"{len(workers)} × {workers[0].device}, {workers[0].threads} thread(s), one run each",
                 "ensemble": f"{len(ensembles)} × {ensembles[0].device}, {ensembles[0].threads} thread(s), "
                             f"--ensemble {members}"}
    rows = [[name, slot_text[name], f"{s.median:.1f}", s.spread, f"{60 * len(runs) / s.median:.1f}"]
            for name, s in times.items()]
    print_table(f"{len(runs)} runs of {args.grid} ({steps} steps, one evaluation each); median of {args.repeats}",
                ["candidate", "slots", "seconds", "spread", "runs/min"], rows)
    ratio = paired(times["workers"].values, times["ensemble"].values)
    target = g["target"] if not cuda else None
    print(f"\nratio: ensemble ÷ workers throughput {ratio.median:.2f}× "
          f"[{min(ratio.values):.2f}–{max(ratio.values):.2f}] over {len(ratio.values)} paired rounds"
          + (f"; target ≥ {target}  {verdict(ratio.median, target)}" if target else ""))


if __name__ == "__main__":
    main()
