"""Does ganbench's ``train()`` cost anything on top of the GAN it trains? Steps/s against a hand-written loop.

The hand-written loop is what one would write for a single experiment: the same networks (built by
``ganbench.nets.build_nets``, so the architectures are identical), the same loss formula written
inline, Adam, the same batch, the same real data gathered the same way (indexing the in-memory split
and copying the batch to the device each step; its batch indices are drawn before the clock starts,
which only favours the hand-written loop). It even consumes the global RNG in the same order, so on
CPU both end with bit-identical generator weights: printed as a check that they computed the same
thing, which is what makes the ratio a measure of ganbench's own overhead (spec handling, loss and
penalty registries, hooks, divergence checks every 50 steps, the FLOP count of the first step).

Cases: DCGAN on 28×28 polygons with the non-saturating loss; DCGAN WGAN-GP (n_disc 5, λ 10, no norm in
D). A *cycle* is n_disc steps (one G update). Two ways of timing, both after warm-up steps:

* ``lockstep`` (default on CPU): both loops run at once in two threads taking turns cycle by cycle
  (``_timing.lockstep``); the result is the median over cycles of the paired ratio. Made for a
  shared machine, where other people's test suites slow everything by 2-4× for minutes at a time.
* ``sequential`` (default and only mode on CUDA): whole runs, alternating, steps/s between two marks
  taken inside the loop with the device synchronised at both; the median of the paired ratios.

A first pair of short sequential runs warms up, checks the weights agree, and times each whole call
(building the networks and ganbench's one-time FLOP count of the first cycle included).
Target: ganbench ≥ 0.95× the hand-written loop's steps/s.

    python benchmarks/bench_train_overhead.py [--quick] [--device cpu|cuda] [--mode lockstep|sequential]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import (Samples, add_common_args, finish_args, interleaved, lockstep, machine, now,  # noqa: E402
                     paired, print_table, verdict)

from ganbench.data import BatchSampler, Dataset, load_dataset  # noqa: E402
from ganbench.nets import NetConfig, build_nets  # noqa: E402
from ganbench.specs import RunSpec  # noqa: E402
from ganbench.expand import expand  # noqa: E402
from ganbench.suite import parse  # noqa: E402
from ganbench.train import train  # noqa: E402

TARGET = 0.95  # ganbench steps/s ÷ hand-written steps/s
DATA = {"name": "polygons", "params": {"n_train": 4096, "n_test": 512, "n_holdout": 512}}  # 28×28, uint8 storage
CASES = {  # name → the suite's model entry (everything else: the study's defaults, batch 64)
    "NS DCGAN": {"name": "NS DCGAN", "loss": "ns", "arch": "dcgan"},
    "WGAN-GP DCGAN": {"name": "WGAN-GP DCGAN", "loss": "wgan_gp", "arch": "dcgan",
                      "hparams": {"n_disc": 5, "d_norm": "none"}},
}


Progress = Callable[[int], None]


def run_spec(case: str, steps: int) -> RunSpec:
    """The RunSpec a suite with just this case would produce (validated like any suite)."""
    suite = parse({"name": "bench", "datasets": [{**DATA, "budget": {"steps": steps}}], "models": [CASES[case]],
                   "evaluation": {"extractor": "raw", "metrics": ["fid"]}, "calibration": []})
    (spec,) = expand(suite).runs
    return spec


def ganbench_loop(spec: RunSpec, dataset: Dataset, device: torch.device, progress: Progress) -> nn.Module:
    outcome = train(spec, dataset, device=device, evaluate=None, checkpointing=None, progress=progress)
    assert outcome.status == "done", outcome.status
    return outcome.generator


def hand_written(spec: RunSpec, dataset: Dataset, device: torch.device, progress: Progress) -> nn.Module:
    """A minimal GAN loop for the two cases (NS, or Wasserstein + gradient penalty), written out inline."""
    hp = spec.hparams
    batch, n_disc, steps, wgan = hp["batch_size"], hp["n_disc"], spec.budget.steps, spec.model.loss == "wgan_gp"
    torch.manual_seed(spec.seed)
    G, D = build_nets(spec.model.arch, dataset.info,
                      NetConfig(z_dim=hp["z_dim"], width=hp["width"], d_norm=hp["d_norm"], g_norm=hp["g_norm"]))
    G, D = G.to(device), D.to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]))
    opt_d = torch.optim.Adam(D.parameters(), lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]))
    data = dataset.split("train")
    sampler = BatchSampler(len(data), batch, seed=spec.seed)
    indices = [sampler.next_index() for _ in range(steps)]

    def z() -> Tensor:
        return torch.rand(batch, hp["z_dim"], device=device) * 2 - 1

    for step in range(1, steps + 1):
        latents = z()
        x = data.get(indices[step - 1]).to(device, non_blocking=True)
        with torch.no_grad():
            fake = G(latents)
        d_real, d_fake = D(x).reshape(-1), D(fake).reshape(-1)
        if wgan:
            d_loss = d_fake.mean() - d_real.mean()
            alpha = torch.rand(batch, 1, 1, 1, device=device)
            mixed = (alpha * x + (1 - alpha) * fake).detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(D(mixed).reshape(-1).sum(), mixed, create_graph=True)
            norm = torch.sqrt(1e-4 + grad.flatten(1).pow(2).sum(1))
            d_loss = d_loss + hp["lambda"] * (norm - 1).pow(2).mean()
        else:
            d_loss = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        if step == 1 or (step - 2) % n_disc == 0:  # the study's G schedule; WGAN-GP draws new latents
            D.requires_grad_(False)
            score = D(G(z() if wgan else latents)).reshape(-1)
            g_loss = -score.mean() if wgan else F.softplus(-score).mean()
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            D.requires_grad_(True)
        progress(step)
    return G


LOOPS = {"ganbench": ganbench_loop, "hand-written": hand_written}


def window(loop: Callable[..., nn.Module], spec: RunSpec, dataset: Dataset, device: torch.device,
           warm: int) -> tuple[float, float, nn.Module]:
    """(steps/s after step ``warm``, seconds of the whole call, G): one solo run, synchronised at the marks."""
    steps, times = spec.budget.steps, {}

    def progress(step: int) -> None:
        if step in (warm, steps):
            times[step] = now(device)

    start = now(device)
    G = loop(spec, dataset, device, progress)
    total = now(device) - start
    return (steps - warm) / (times[steps] - times[warm]), total, G


def max_weight_difference(a: nn.Module, b: nn.Module) -> float:
    return max(float((p - q).abs().max()) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def bench_case(case: str, args: argparse.Namespace, dataset: Dataset, device: torch.device) -> dict[str, Any]:
    n_disc = run_spec(case, 1).hparams["n_disc"]
    warm = n_disc * (1 if args.quick else 2)  # marks on multiples of n_disc: every cycle holds one G step
    cycles = max(3, (12 if args.quick else 60) // n_disc)
    spec = run_spec(case, warm + cycles * n_disc)
    check = {name: window(loop, run_spec(case, warm + 2 * n_disc), dataset, device, warm)
             for name, loop in LOOPS.items()}
    out = {"case": case, "steps": spec.budget.steps, "check_steps": warm + 2 * n_disc,
           "whole_call": {name: c[1] for name, c in check.items()},
           "diff": max_weight_difference(check["ganbench"][2], check["hand-written"][2])}
    if args.mode == "lockstep":
        ratios = Samples()
        for _ in range(args.repeats):
            timed, _ = lockstep({name: lambda mark, loop=loop: loop(
                spec, dataset, device, lambda step: mark() if step % n_disc == 0 else None)
                for name, loop in LOOPS.items()})
            skip = warm // n_disc  # the first cycles hold the build, the warm-up steps and the FLOP count
            ratios.values += paired(timed["hand-written"][skip:], timed["ganbench"][skip:]).values
            for name in LOOPS:
                out.setdefault("rate", {}).setdefault(name, Samples()).values += \
                    [n_disc / t for t in timed[name][skip:]]
        out["ratio"] = ratios
    else:
        runs = interleaved({name: lambda loop=loop: window(loop, spec, dataset, device, warm)[0]
                            for name, loop in LOOPS.items()}, args.repeats, warmup=[])
        out["rate"] = runs
        out["ratio"] = paired(runs["ganbench"].values, runs["hand-written"].values)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(parser, repeats=5, quick_repeats=2)
    parser.add_argument("--mode", choices=("lockstep", "sequential"), help="default: lockstep on CPU, else sequential")
    parser.add_argument("--case", choices=list(CASES), action="append", help="only these cases (repeatable)")
    args = finish_args(parser.parse_args())
    args.mode = args.mode or ("lockstep" if args.device == "cpu" else "sequential")
    if args.mode == "lockstep" and args.device != "cpu":
        raise SystemExit("--mode lockstep is CPU only (it would drain the GPU queue at every cycle)")
    device = torch.device(args.device)
    print(machine(device) + f"; mode {args.mode}")
    dataset = load_dataset(DATA["name"], DATA["params"])
    results = [bench_case(case, args, dataset, device) for case in args.case or CASES]
    unit = "cycle" if args.mode == "lockstep" else "run"
    rows = [[f"{r['case']}, {name}", f"{r['rate'][name].median:.2f}", f"{r['rate'][name].quantile(0.25):.2f}",
             f"{r['rate'][name].quantile(0.75):.2f}", f"{r['whole_call'][name]:.2f}"]
            for r in results for name in LOOPS]
    print_table(f"steps/s per {unit} ({args.repeats} rounds), and one whole call of {results[0]['check_steps']}"
                f"/{results[-1]['check_steps']} steps (build and warm-up included)",
                ["case, loop", "median", "q25", "q75", "whole call s"], rows)
    print("\nsame computation: max |G weight difference| after the check runs: "
          + ", ".join(f"{r['case']} {r['diff']:.1e}" for r in results) + "  (0 = bit-identical)")
    print(f"\nratios: ganbench ÷ hand-written steps/s, median over paired {unit}s [q25–q75]; target ≥ {TARGET}")
    for r in results:
        ratio = r["ratio"]
        print(f"  {r['case']:14s} {ratio.median:.3f}× [{ratio.quantile(0.25):.3f}–{ratio.quantile(0.75):.3f}] "
              f"over {len(ratio.values)} {unit}s  {verdict(ratio.median, TARGET)}")


if __name__ == "__main__":
    main()
