"""What does evaluating an ensemble's members together save? One evaluation point of K members, two ways.

* ``one by one``: each member gets its own :class:`~ganbench.evaluate.Evaluator`, built from the warm cache
  (extractor loaded, real features read, real-side caches such as the real k-NN tables computed again), and
  each is called on its own G: what the ensemble did before members were evaluated together;
* ``together``: one evaluator and :meth:`~ganbench.evaluate.Evaluator.for_run` for the others (one set-up), and
  :func:`~ganbench.evaluate.evaluate_together`: the members' samples through the extractor in one pass (as
  many as ``TOGETHER_BYTES`` allows), then each member's metrics (what ``ganbench run --ensemble`` does now).

Each round times what an ensemble does: the set-up once, then two evaluation points; both score the same K
untrained generators (seeds 0..K−1); the members' numbers are checked equal (rel 1e-6) before timing. Setups (``--setup``):

* ``digits``: 16×16 digits, the default suite's digits protocol (domain classifier; fid, fd_inf, vendi,
  authenticity, ct, knn, prc; 300 generated vs 300 real), DCGAN G (width 16);
* ``study``: 28×28 polygons, FID on the domain classifier with 10,000 generated samples per member (the
  study's protocol size; 2,000 with --quick), InfoGAN G. Meant for ``--device cuda`` too, where the
  extractor's passes are launch-bound and full batches should pay most.

    python benchmarks/bench_member_eval.py [--quick] [--setup digits|study] [--members K] [--device cpu|cuda]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import add_common_args, finish_args, interleaved, machine, now, paired, print_table  # noqa: E402

from ganbench.data import load_dataset  # noqa: E402
from ganbench.evaluate import Evaluator, evaluate_together  # noqa: E402
from ganbench.expand import expand  # noqa: E402
from ganbench.specs import RunSpec  # noqa: E402
from ganbench.suite import parse  # noqa: E402
from ganbench.train import build_networks, latent_sampler  # noqa: E402

SETUPS: dict[str, dict[str, Any]] = {
    "digits": {"dataset": {"name": "digits", "params": {"size": 16, "n_test": 600}}, "arch": "dcgan",
               "hparams": {"width": 16},
               "evaluation": {"extractor": "domain", "n_gen": 300, "n_real": 300,
                              "metrics": ["fid", "fd_inf", "vendi", "authenticity", "ct", "knn", "prc"]}},
    "study": {"dataset": {"name": "polygons", "params": {"n_train": 4000, "n_test": 10_000, "vertices": [3, 4, 5]}},
              "arch": "infogan",
              "hparams": {},
              "evaluation": {"extractor": "domain", "n_gen": 10_000, "n_real": 10_000, "metrics": ["fid"]}},
}


def members(setup: str, k: int, n_gen: int | None = None) -> list[RunSpec]:
    """NS GAN runs of the setup, seeds 0..k−1 (one ensemble's members)."""
    s = SETUPS[setup]
    evaluation = {**s["evaluation"], **({"n_gen": n_gen} if n_gen else {})}
    doc = {"name": f"bench-{setup}", "datasets": [{**s["dataset"], "evaluation": evaluation}], "calibration": [],
           "models": [{"name": "NS GAN", "loss": "ns", "arch": s["arch"]}], "hparams": s["hparams"],
           "budget": {"steps": 1, "eval_every": 1}, "seeds": k}
    return list(expand(parse(doc)).runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(parser, repeats=5, quick_repeats=3)
    parser.add_argument("--setup", choices=list(SETUPS), default="digits")
    parser.add_argument("--members", type=int, default=8, help="K, the ensemble's members (default 8)")
    args = finish_args(parser.parse_args())
    n_gen = 2000 if args.quick and args.setup == "study" else None
    specs = members(args.setup, args.members, n_gen)
    device = torch.device(args.device)
    dataset = load_dataset(specs[0].dataset, dict(specs[0].dataset_params))
    generators = []
    for spec in specs:
        torch.manual_seed(spec.seed)
        generators.append(build_networks(spec, dataset, None)[0].to(device))
    latents = [latent_sampler(s.hparams["z_prior"], s.hparams["z_dim"], device) for s in specs]
    print(machine(args.device))
    with tempfile.TemporaryDirectory(prefix="ganbench-bench-cache-") as cache:
        def build(spec: RunSpec) -> Evaluator:
            return Evaluator(spec.evaluation, dataset, device=device, cache_dir=Path(cache), run_seed=spec.seed)

        def set_up(way: str) -> list[Evaluator]:
            if way == "one by one":
                return [build(spec) for spec in specs]
            shared = build(specs[0])
            return [shared.for_run(spec.seed) for spec in specs]

        def evaluate(way: str, evaluators: list[Evaluator]) -> list:
            if way == "one by one":
                return [ev(G, latent, 1) for ev, G, latent in zip(evaluators, generators, latents)]
            return evaluate_together(evaluators, generators, latents, 1)

        ways = ("one by one", "together")
        first = {way: evaluate(way, set_up(way)) for way in ways}  # also the warm-up: classifier, real side cached
        for a, b in zip(*first.values()):
            for key, value in a.metrics.items():
                other = b.metrics[key]
                assert value == other or abs(value - other) <= 1e-6 * max(abs(value), 1e-3) or value != value, key
        parts: dict[str, dict[str, list[float]]] = {way: {"set-up": [], "point": []} for way in ways}

        def timed(way: str) -> Callable[[], float]:
            def run() -> float:  # as an ensemble does: set up once, then each evaluation point (here two)
                tic = now(device)
                evaluators = set_up(way)
                parts[way]["set-up"].append(now(device) - tic)
                for _ in range(2):
                    start = now(device)
                    evaluate(way, evaluators)
                    parts[way]["point"].append(now(device) - start)
                return now(device) - tic
            return run

        times = interleaved({way: timed(way) for way in ways}, args.repeats, warmup=[])
    rows = [[way, f"{statistics.median(parts[way]['set-up']):.2f}", f"{statistics.median(parts[way]['point']):.2f}",
             f"{s.median:.2f}", s.spread] for way, s in times.items()]
    n = specs[0].evaluation.n_gen
    print_table(f"{len(specs)} members, {args.setup} ({n} samples each): set-up, then two evaluation points; "
                f"median of {args.repeats}", ["candidate", "set-up s", "per point s", "total s", "spread"], rows)
    point = paired(parts["one by one"]["point"], parts["together"]["point"])
    ratio = paired(times["one by one"].values, times["together"].values)
    print(f"\nratio: one by one ÷ together, per evaluation point {point.median:.2f}× "
          f"[{min(point.values):.2f}–{max(point.values):.2f}], set-up and two points {ratio.median:.2f}× "
          f"[{min(ratio.values):.2f}–{max(ratio.values):.2f}] over {len(ratio.values)} paired rounds (informative)")

if __name__ == "__main__":
    main()
