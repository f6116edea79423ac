"""GPU throughput: training steps/s per architecture, and what sharing one GPU between runs buys.

(a) Steps/s of ganbench's ``train()`` (NS loss, the study's batch 64 and defaults) for the image
    architectures on 28×28×1 polygons and on 32×32×3 synthetic images (uniform noise held in memory as
    uint8 like any dataset: the step's cost does not depend on what the pixels show, and nothing is
    downloaded), plus ``mlp`` on the 2-D ring. Steps/s between two marks inside the loop after warm-up
    steps, the device synchronised at both; achieved TFLOP/s from ganbench's own FLOP count. Rounds
    alternate the order; medians.
(b) A grid of small runs (DCGAN, NS, 28×28 polygons, evaluated once at the end with raw-pixel FID)
    through ``run_local`` with ``plan_slots("auto", gpus=1, runs_per_gpu=K)`` (K worker processes on one
    GPU, spawn and CUDA start-up included) vs ``runs_per_gpu=1`` (the runs one after another in this
    process). Small nets at batch 64 leave most of an H200 idle (kernel launches, not arithmetic, bound
    a step), so concurrent runs should add throughput. Both share one feature cache, filled by an
    untimed warm-up. Ratio: runs/minute with K per GPU ÷ with 1.

No targets (informative). About 1.5 minutes with --quick and under 5 without on an H200. Without a CUDA device the script prints one line saying it was skipped
and exits with status 0 (so it can sit in a benchmark loop on CPU machines).

    python benchmarks/bench_gpu.py [--quick] [--repeats N] [--runs-per-gpu K] [--only steps|sharing]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import interleaved, machine, now, paired, print_table  # noqa: E402

from ganbench.data import Dataset, load_dataset  # noqa: E402
from ganbench.data.base import DatasetInfo, Split  # noqa: E402
from ganbench.specs import RunSpec  # noqa: E402
from ganbench.expand import expand  # noqa: E402
from ganbench.suite import parse  # noqa: E402

POLYGONS = {"name": "polygons", "params": {"n_train": 8192, "n_test": 1024, "n_holdout": 512}}
RING = {"name": "ring", "params": {"n_train": 8192, "n_test": 1024}}
IMAGE_ARCHS = ("infogan", "dcgan", "sndcgan", "resnet")


def run_spec(arch: str, data: dict, steps: int, seed: int = 0, eval_every: int | None = None,
             evaluation: dict | None = None) -> RunSpec:
    """The RunSpec a suite with this one model (NS loss, the study's defaults) would produce."""
    suite = parse({"name": "bench-gpu", "seeds": [seed],
                   "datasets": [{**data, "budget": {"steps": steps, "eval_every": eval_every or steps}}],
                   "models": [{"name": f"NS {arch}", "loss": "ns", "arch": arch}],
                   "evaluation": evaluation or {"extractor": "raw", "metrics": ["fid"], "n_gen": 1000, "n_real": 1000},
                   "calibration": []})
    (spec,) = expand(suite).runs
    return spec


def synthetic_rgb32(n: int = 8192) -> Dataset:
    """32×32×3 images of uniform noise, stored as uint8 like the torchvision sets (no download)."""
    gen = torch.Generator().manual_seed(0)
    info = DatasetInfo(name="synthetic-rgb32", kind="image", shape=(3, 32, 32), value_range=(0.0, 1.0),
                       splits=("train", "test"))
    data = {split: Split(torch.randint(0, 256, (size, 3, 32, 32), dtype=torch.uint8, generator=gen), scale=1 / 255)
            for split, size in (("train", n), ("test", 1024))}
    return Dataset(info, data)


def steps_window(spec: RunSpec, dataset: Dataset, warm: int) -> tuple[float, float]:
    """(steps/s after step ``warm``, FLOPs per step) of one train() call on CUDA."""
    from ganbench.train import train

    steps, marks = spec.budget.steps, {}

    def progress(step: int) -> None:
        if step in (warm, steps):
            marks[step] = now("cuda")

    outcome = train(spec, dataset, device="cuda", evaluate=None, checkpointing=None, progress=progress)
    assert outcome.status == "done", outcome.status
    return (steps - warm) / (marks[steps] - marks[warm]), float(outcome.compute["flops_per_step"])


def bench_steps(args: argparse.Namespace) -> None:
    warm, measured = 30, (60 if args.quick else 150)
    data = {"28×28×1": load_dataset(POLYGONS["name"], POLYGONS["params"]), "32×32×3": synthetic_rgb32()}
    cases: dict[str, tuple[RunSpec, Dataset]] = {"mlp, ring 2-D": (run_spec("mlp", RING, warm + measured),
                                                                    load_dataset(RING["name"], RING["params"]))}
    for arch in IMAGE_ARCHS:
        for label, dataset in data.items():
            # the spec names polygons; train() builds the nets for the dataset it is handed
            cases[f"{arch}, {label}"] = (run_spec(arch, POLYGONS, warm + measured), dataset)
    flops: dict[str, float] = {}

    def candidate(name: str) -> Callable[[], float]:
        def run() -> float:
            rate, flops[name] = steps_window(*cases[name], warm)
            return rate
        return run

    for name, (spec, dataset) in cases.items():  # warm-up: kernels, cuDNN autotuning, allocator pools
        steps_window(run_spec(spec.model.arch, RING if spec.model.arch == "mlp" else POLYGONS, warm + 5), dataset, warm)
    rates = interleaved({name: candidate(name) for name in cases}, args.repeats, warmup=[])
    rows = [[name, f"{flops[name] / 1e9:.2f}", f"{s.median:.1f}", s.spread,
             f"{flops[name] * s.median / 1e12:.2f}"] for name, s in rates.items()]
    print_table(f"(a) train() steps/s on one GPU: NS loss, batch 64, {measured} steps after {warm} warm-up; "
                f"median of {args.repeats} rounds", ["arch, data", "GFLOP/step", "steps/s", "spread", "TFLOP/s"], rows)
    print(f"    cudnn.allow_tf32={torch.backends.cudnn.allow_tf32}, cuda.matmul.allow_tf32="
          f"{torch.backends.cuda.matmul.allow_tf32}, cudnn.benchmark={torch.backends.cudnn.benchmark}")


def bench_sharing(args: argparse.Namespace) -> float:
    from bench_parallel import run_grid
    from ganbench.executors.local import plan_slots
    from ganbench.run_one import RunOptions

    n_runs, steps = (8, 400) if args.quick else (8, 600)
    repeats = min(args.repeats, 2)  # a round of both candidates is over a minute
    runs = [run_spec("dcgan", POLYGONS, steps, seed=s) for s in range(n_runs)]
    shared = plan_slots("auto", gpus=1, runs_per_gpu=args.runs_per_gpu)
    alone = plan_slots("auto", gpus=1, runs_per_gpu=1)

    with tempfile.TemporaryDirectory(prefix="ganbench-bench-gpu-cache-") as cache:
        options = RunOptions(device="cuda", cache_dir=cache)
        run_grid([run_spec("dcgan", POLYGONS, 10, seed=0)], alone, options)  # warm-up: data, real features
        times = interleaved({f"{args.runs_per_gpu} per GPU": lambda: run_grid(runs, shared, options),
                             "1 per GPU": lambda: run_grid(runs, alone, options)}, repeats, warmup=[])
    label = {f"{args.runs_per_gpu} per GPU": f"{len(shared)} worker processes, {shared[0].threads} CPU threads each",
             "1 per GPU": f"in process, {alone[0].threads} CPU threads"}
    rows = [[name, label[name], f"{s.median:.1f}", s.spread, f"{60 * n_runs / s.median:.1f}"] for name, s in times.items()]
    print_table(f"(b) {n_runs} runs (DCGAN NS, 28×28 polygons, {steps} steps, raw-pixel FID at the end) via run_local; "
                f"median of {repeats}", ["runs per GPU", "slots", "seconds", "spread", "runs/min"], rows)
    return paired(times["1 per GPU"].values, times[f"{args.runs_per_gpu} per GPU"].values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and rounds (about a minute on an H200)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="rounds per candidate (default 3, at most 2 for (b); 1 with --quick)")
    parser.add_argument("--runs-per-gpu", type=int, default=4, help="concurrent runs for (b) (default 4)")
    parser.add_argument("--only", choices=("steps", "sharing"), help="run one part only")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("bench_gpu.py: skipped — needs a CUDA device (torch.cuda.is_available() is False)")
        return
    args.repeats = args.repeats or (1 if args.quick else 3)
    started = time.perf_counter()
    print(machine("cuda") + f"; {torch.cuda.device_count()} GPU(s) visible")
    if args.only in (None, "steps"):
        bench_steps(args)
    ratio = bench_sharing(args) if args.only in (None, "sharing") else None
    print(f"\n(total {time.perf_counter() - started:.0f} s)")
    if ratio is not None:
        print(f"\nratio: {args.runs_per_gpu} runs per GPU ÷ 1 run per GPU, runs/minute: {statistics.median(ratio.values):.2f}× "
              f"[{min(ratio.values):.2f}–{max(ratio.values):.2f}] over {len(ratio.values)} paired rounds; no target")


if __name__ == "__main__":
    main()
