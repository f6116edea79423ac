"""How much of the machine does a training step use? Achieved FLOP/s per architecture ÷ a large matmul's.

For each architecture of the zoo (``ganbench.nets.ARCHS``) a run is trained through ganbench's own
``train()`` at the study's defaults (NS loss, batch 64, width 64, z ∈ R^64, batch norm): ``mlp`` on the
2-D ring (its data), ``infogan``, ``dcgan``, ``sndcgan`` and ``resnet`` on 28×28×1 polygons. FLOPs per
step are ganbench's own count (``ganbench.flops.StepFlopCounter`` over the first cycle: one D update and
one G update, as stored in result.json ``compute.flops_per_step``); steps/s is measured between two
marks inside the loop after warm-up steps, the device synchronised at both. Achieved FLOP/s = FLOPs
per step × steps/s.

The reference is a float32 matmul of ``--matmul-n`` (default 2048 on CPU, 8192 on CUDA): 2n³ FLOPs per
product, timed just before every training window in the same process with the same torch threads, so
each ratio is taken under the same machine load (rounds alternate the order of the architectures).
On CUDA, PyTorch runs convolutions in TF32 by default (``torch.backends.cudnn.allow_tf32``) while the
float32 matmul is true float32 (``torch.backends.cuda.matmul.allow_tf32`` off), so conv nets can exceed
1.0; both flags are printed. A second reference, a 3×3 convolution (batch 64, 256 → 256 channels,
14×14; FLOPs counted as direct convolution), is timed next to it: on CPU the matmul goes through
MKL and the convolution through oneDNN, and on AMD CPUs MKL's sgemm reaches only about half of what
oneDNN does (on the 2-core AMD EPYC these figures were measured on: ~107 vs ~240 GFLOP/s per core),
so a conv net's ratio to the matmul can exceed 1.0 there too. Small nets at batch 64 are bound by per-op overhead, not arithmetic: low
ratios there are expected and are what this benchmark makes visible. No target (informative).

``--ensemble K`` adds, for each architecture with a grouped form (mlp, infogan, dcgan), a row ``<arch>×K``: K
seeds of the same run trained as one ensemble (``ganbench.ensemble.train.train_ensemble``), its achieved
FLOP/s being K × the solo FLOP count × the ensemble's steps/s, in the same rounds as the solo rows.

    python benchmarks/bench_hw_efficiency.py [--quick] [--device cpu|cuda] [--threads N] [--arch NAME ...]
                                             [--ensemble K]
"""
from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import Samples, add_common_args, finish_args, machine, now, print_table  # noqa: E402

from ganbench.data import Dataset, load_dataset  # noqa: E402
from ganbench.specs import RunSpec  # noqa: E402
from ganbench.expand import expand  # noqa: E402
from ganbench.suite import parse  # noqa: E402
from ganbench.train import train  # noqa: E402
from ganbench.ensemble.train import train_ensemble  # noqa: E402

DATA = {  # name → the suite's dataset entry
    "ring": {"name": "ring", "params": {"n_train": 4096, "n_test": 512}},
    "polygons": {"name": "polygons", "params": {"n_train": 4096, "n_test": 512, "n_holdout": 512}},
}
GROUPED = ("mlp", "infogan", "dcgan")  # the architectures an ensemble can group (ganbench.ensemble.grouped)
ARCH_DATA = {"mlp": "ring", "infogan": "polygons", "dcgan": "polygons", "sndcgan": "polygons", "resnet": "polygons"}


def run_spec(arch: str, steps: int) -> RunSpec:
    """The RunSpec a suite with just this architecture (NS loss, the study's defaults) would produce."""
    suite = parse({"name": "bench-hw", "datasets": [{**DATA[ARCH_DATA[arch]], "budget": {"steps": steps}}],
                   "models": [{"name": f"NS {arch}", "loss": "ns", "arch": arch}],
                   "evaluation": {"extractor": "raw", "metrics": ["fid"]}, "calibration": []})
    (spec,) = expand(suite).runs
    return spec


def train_window(spec: RunSpec, dataset: Dataset, device: torch.device, warm: int) -> tuple[float, float]:
    """(steps/s after step ``warm``, FLOPs per step as ganbench counted them) of one train() call."""
    steps, marks = spec.budget.steps, {}

    def progress(step: int) -> None:
        if step in (warm, steps):
            marks[step] = now(device)

    outcome = train(spec, dataset, device=device, evaluate=None, checkpointing=None, progress=progress)
    assert outcome.status == "done", outcome.status
    return (steps - warm) / (marks[steps] - marks[warm]), float(outcome.compute["flops_per_step"])


def ensemble_window(spec: RunSpec, dataset: Dataset, device: torch.device, warm: int,
                    k: int) -> tuple[float, float]:
    """(member-steps/s after step ``warm``, the solo FLOPs per step) of K seeds of ``spec`` as one ensemble."""
    steps, marks = spec.budget.steps, {}

    def progress(step: int) -> None:
        if step in (warm, steps):
            marks[step] = now(device)

    outcomes = train_ensemble([replace(spec, seed=seed) for seed in range(k)], dataset, device=device,
                              progress=progress)
    assert all(o.status == "done" for o in outcomes), [o.status for o in outcomes]
    return k * (steps - warm) / (marks[steps] - marks[warm]), float(outcomes[0].compute["flops_per_step"])


def matmul_rate(n: int, device: torch.device, min_seconds: float) -> float:
    """FLOP/s of float32 (n × n) @ (n × n), repeated for at least ``min_seconds`` after one untimed product."""
    gen = torch.Generator(device="cpu").manual_seed(0)
    a = torch.randn(n, n, generator=gen).to(device)
    b = torch.randn(n, n, generator=gen).to(device)
    torch.mm(a, b)
    count, start = 0, now(device)
    while True:
        torch.mm(a, b)
        count += 1
        if count % 4 == 0 or device.type == "cpu":
            elapsed = now(device) - start
            if elapsed >= min_seconds:
                return 2.0 * n**3 * count / elapsed


def conv_rate(device: torch.device, min_seconds: float) -> float:
    """FLOP/s (direct-convolution count) of a 3×3 conv, batch 64, 256 → 256 channels, 14×14, padding 1."""
    gen = torch.Generator(device="cpu").manual_seed(0)
    x = torch.randn(64, 256, 14, 14, generator=gen).to(device)
    w = torch.randn(256, 256, 3, 3, generator=gen).to(device)
    flops = 2.0 * 64 * 256 * 256 * 9 * 14 * 14
    torch.nn.functional.conv2d(x, w, padding=1)
    count, start = 0, now(device)
    while True:
        torch.nn.functional.conv2d(x, w, padding=1)
        count += 1
        if count % 4 == 0 or device.type == "cpu":
            elapsed = now(device) - start
            if elapsed >= min_seconds:
                return flops * count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(parser, repeats=3, quick_repeats=2)
    parser.add_argument("--arch", choices=list(ARCH_DATA), action="append", help="only these (repeatable)")
    parser.add_argument("--matmul-n", type=int, default=None, help="matrix side (default 2048 on CPU, 8192 on CUDA)")
    parser.add_argument("--ensemble", type=int, default=None, metavar="K",
                        help="also each grouped-form architecture as an ensemble of K seeds")
    args = finish_args(parser.parse_args())
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    n = args.matmul_n or (8192 if cuda else 2048)
    warm = 20 if cuda else (1 if args.quick else 2)  # step 1 holds the FLOP count: never inside the window
    measured = (200 if args.quick else 500) if cuda else (4 if args.quick else 12)
    min_mm_s = 0.5 if args.quick else 1.0
    chosen = args.arch or list(ARCH_DATA)
    windows = {arch: (arch, lambda spec, data, arch=arch: train_window(spec, data, device, warm)) for arch in chosen}
    for arch in chosen if args.ensemble else []:
        if arch in GROUPED:
            windows[f"{arch}×{args.ensemble}"] = (arch, lambda spec, data: ensemble_window(spec, data, device, warm,
                                                                                         args.ensemble))
    archs = list(windows)
    print(machine(device))
    if cuda:
        print(f"cudnn.allow_tf32={torch.backends.cudnn.allow_tf32} (convolutions), "
              f"cuda.matmul.allow_tf32={torch.backends.cuda.matmul.allow_tf32} (matmuls)")
    datasets = {name: load_dataset(DATA[name]["name"], DATA[name]["params"]) for name in set(ARCH_DATA.values())}
    specs = {label: run_spec(arch, warm + measured) for label, (arch, _) in windows.items()}

    # warm-up: one short run per architecture on CUDA (kernels, allocator; on CPU the warm-up steps of
    # every window suffice) and one product of each reference
    for label, (arch, window) in windows.items() if cuda else []:
        window(run_spec(arch, warm + 2), datasets[ARCH_DATA[arch]])
    matmul_rate(n, device, 0.1)
    conv_rate(device, 0.1)

    rate: dict[str, Samples] = {arch: Samples() for arch in archs}
    flops: dict[str, float] = {}
    reference: dict[str, Samples] = {arch: Samples() for arch in archs}
    conv_ref: dict[str, Samples] = {arch: Samples() for arch in archs}
    for r in range(args.repeats):
        for arch in archs if r % 2 == 0 else reversed(archs):
            reference[arch].values.append(matmul_rate(n, device, min_mm_s))
            conv_ref[arch].values.append(conv_rate(device, min_mm_s / 2))
            base, window = windows[arch]
            steps_per_s, flops[arch] = window(specs[arch], datasets[ARCH_DATA[base]])
            rate[arch].values.append(steps_per_s)

    every_mm = [v for s in reference.values() for v in s.values]
    peak = statistics.median(every_mm)
    every_conv = [v for s in conv_ref.values() for v in s.values]
    ratios = {arch: Samples([s * flops[arch] / mm for s, mm in zip(rate[arch].values, reference[arch].values)])
              for arch in archs}
    conv_ratios = {arch: Samples([s * flops[arch] / c for s, c in zip(rate[arch].values, conv_ref[arch].values)])
                   for arch in archs}
    rows = [[arch, ARCH_DATA[windows[arch][0]], f"{flops[arch] / 1e9:.3f}", f"{rate[arch].median:.2f}", rate[arch].spread,
             f"{flops[arch] * rate[arch].median / 1e9:.2f}"] for arch in archs]
    print_table(f"training steps (NS loss, batch 64, {measured} steps after {warm} warm-up; median of "
                f"{args.repeats} rounds)", ["arch", "data", "GFLOP/step", "steps/s", "spread", "GFLOP/s"], rows)
    print(f"\nreference: float32 matmul {n}×{n}, median {peak / 1e9:.1f} GFLOP/s "
          f"[{min(every_mm) / 1e9:.1f}–{max(every_mm) / 1e9:.1f}] over {len(every_mm)} timings (one before each window)")
    print(f"second reference: 3×3 conv (64×256×14×14, 256 out), median {statistics.median(every_conv) / 1e9:.1f} "
          f"GFLOP/s [{min(every_conv) / 1e9:.1f}–{max(every_conv) / 1e9:.1f}]")
    print("\nratios: achieved FLOP/s of a training step ÷ float32 matmul FLOP/s measured just before it "
          f"(and ÷ the 3×3 conv's), median over {args.repeats} rounds [min–max]; no target")
    for arch in archs:
        v, c = ratios[arch].values, conv_ratios[arch].values
        print(f"  {arch:8s} {statistics.median(v):.3f}× matmul [{min(v):.3f}–{max(v):.3f}]   "
              f"{statistics.median(c):.3f}× conv [{min(c):.3f}–{max(c):.3f}]")


if __name__ == "__main__":
    main()
