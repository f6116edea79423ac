"""What does the on-disk cache of real-side statistics save? A run's first evaluation, cold vs cached.

A run's first evaluation pays for the real side once: the feature extractor (the ``domain`` classifier
is *trained* on first use), the real split's features, FID's real-side factorisation. ganbench keeps
all of them in its cache (``$GANBENCH_CACHE``, else ``~/.cache/ganbench``; ``RunOptions.cache_dir``), so
every later run of a suite finds them there. Here one evaluation — ``Evaluator(...)`` (the real side)
followed by one ``evaluator(G, ...)`` call (sample, extract, every metric) on an untrained DCGAN
generator — is timed with:

* ``cold``: an empty cache folder (the first run of a suite on a fresh machine);
* ``features cold`` (``domain`` only): the classifier cached, the real features and FID reference not;
* ``cached``: the folder the warm-up filled (every later run).

Setups (``--setup``, repeatable; default ``digits`` and ``polygons``):

* ``digits``: 8×8 digits, ``domain`` extractor, fid + is + knn, 500 generated vs 300 real (the CI suite's
  protocol); the cold cost is mostly training the classifier (~3,000 steps on one CPU thread);
* ``polygons``: 28×28 polygons, ``raw`` pixels (784-d), fid + knn, 2,000 generated vs 10,000 real (2,000
  with --quick); the cold cost is the 784-d covariance and its factorisation;
* ``inception``: 28×28 polygons through Inception-v3 (torch-fidelity's ``inception-v3-compat``), fid + is,
  1,000 generated vs 10,000 real (2,000 with --quick). Needs the weights file already on disk (extractor
  option / ``GANBENCH_INCEPTION_WEIGHTS`` / torch.hub cache — ganbench never downloads; pass
  ``--inception-weights PATH``) and is meant for ``--device cuda``: 10,000 real images are ~57 TFLOP of
  Inception forward passes, minutes on a CPU, which is exactly the cost the cache removes from every
  later run (the cheap CPU extractors above understate it).

Every candidate uses its own temporary cache folder (never the user's), the data are loaded before the
clock starts, rounds alternate the order; medians, the speedups (cold ÷ cached) last.

    python benchmarks/bench_eval_cache.py [--quick] [--device cpu|cuda] [--threads N] [--setup NAME ...]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import Samples, add_common_args, finish_args, interleaved, machine, now, print_table  # noqa: E402

from ganbench.data import Dataset, load_dataset  # noqa: E402
from ganbench.evaluate import Evaluator  # noqa: E402
from ganbench.nets import NetConfig, build_nets  # noqa: E402
from ganbench.specs import EvalProtocol  # noqa: E402
from ganbench.expand import expand  # noqa: E402
from ganbench.suite import parse  # noqa: E402
from ganbench.train import latent_sampler  # noqa: E402


def setups(quick: bool, weights: str | None) -> dict[str, dict[str, Any]]:
    n_real = 2000 if quick else 10_000
    polygons = {"name": "polygons", "params": {"n_train": 1024, "n_test": n_real, "n_holdout": 256}}
    inception_options = {"weights": weights} if weights else {}
    return {
        "digits": {"dataset": {"name": "digits", "params": {"size": 8}},
                   "evaluation": {"extractor": "domain", "metrics": ["fid", "is", "knn"], "n_gen": 500,
                                  "n_real": 300}},
        "polygons": {"dataset": polygons,
                     "evaluation": {"extractor": "raw", "metrics": ["fid", "knn"], "n_gen": 2000, "n_real": n_real}},
        "inception": {"dataset": polygons,
                      "evaluation": {"extractor": "inception", "metrics": ["fid", "is"], "n_gen": 1000,
                                     "n_real": n_real, "extractor_options": inception_options}},
    }


def protocol(setup: dict[str, Any]) -> EvalProtocol:
    """The evaluation protocol a suite with this dataset and evaluation would give its runs."""
    suite = parse({"name": "bench-eval", "datasets": [{**setup["dataset"], "budget": {"steps": 1}}],
                   "models": [{"name": "NS", "loss": "ns", "arch": "dcgan"}], "evaluation": setup["evaluation"]})
    return expand(suite).runs[0].evaluation


class Case:
    """One setup: its data, protocol and generator, and a cache folder filled once (the 'cached' state)."""

    def __init__(self, name: str, setup: dict[str, Any], device: torch.device, root: Path):
        self.name, self.device, self.root = name, device, root
        self.protocol = protocol(setup)
        self.dataset: Dataset = load_dataset(setup["dataset"]["name"], setup["dataset"]["params"])
        for split in ("train", self.protocol.split):
            self.dataset.split(split)  # render / load the data now, not inside the first timing
        torch.manual_seed(0)
        G, _ = build_nets("dcgan", self.dataset.info, NetConfig())
        self.G = G.to(device).eval()
        self.sample_latent = latent_sampler("uniform", NetConfig().z_dim, device)
        self.filled = root / f"{name}-filled"
        self.seconds: dict[str, list[tuple[float, float]]] = {}  # candidate -> [(real side s, evaluation s)]
        self.values: dict[str, float] = {}

    def evaluate_once(self, cache_dir: Path) -> tuple[float, float, dict[str, float]]:
        """(seconds to build the Evaluator, seconds of one evaluation, the metrics)."""
        start = now(self.device)
        evaluator = Evaluator(self.protocol, self.dataset, device=self.device, cache_dir=cache_dir)
        built = now(self.device)
        values = dict(evaluator(self.G, self.sample_latent, 1).metrics)
        done = now(self.device)
        return built - start, done - built, values

    def candidate(self, label: str, prepare: Callable[[Path], None]) -> Callable[[], float]:
        """A timed call in a fresh folder that ``prepare`` fills first (untimed); returns the total seconds."""

        def run() -> float:
            with tempfile.TemporaryDirectory(dir=self.root, prefix=f"{self.name}-") as folder:
                cache = Path(folder) / "cache"
                prepare(cache)
                real_s, eval_s, values = self.evaluate_once(cache)
            if self.values and any(abs(values[k] - self.values[k]) > 1e-9 * max(1.0, abs(self.values[k]))
                                   for k in values):
                raise SystemExit(f"{self.name}/{label}: metrics differ from the warm-up's: {values} vs {self.values}")
            self.seconds.setdefault(label, []).append((real_s, eval_s))
            return real_s + eval_s

        return run

    def candidates(self) -> dict[str, Callable[[], float]]:
        out = {"cold": self.candidate("cold", lambda cache: cache.mkdir())}
        if self.protocol.extractor == "domain":
            out["features cold"] = self.candidate("features cold", lambda cache: shutil.copytree(
                self.filled / "domain", cache / "domain"))
        out["cached"] = self.candidate("cached", lambda cache: shutil.copytree(self.filled, cache))
        return out

    def warm_up(self) -> None:
        """Fill the cache folder every 'cached' candidate copies; keep the metrics to check the others."""
        *_, self.values = self.evaluate_once(self.filled)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(parser, repeats=5, quick_repeats=2)
    parser.add_argument("--setup", choices=("digits", "polygons", "inception"), action="append",
                        help="repeatable; default: digits and polygons")
    parser.add_argument("--inception-weights", help="torch-fidelity's Inception weights file (for --setup inception)")
    args = finish_args(parser.parse_args())
    device = torch.device(args.device)
    names = args.setup or ["digits", "polygons"]
    print(machine(device))
    if "inception" in names and device.type == "cpu":
        print("note: --setup inception on CPU extracts 10,000 (2,000 with --quick) real images with Inception-v3: "
              "expect minutes per cold candidate")
    all_setups = setups(args.quick, args.inception_weights)
    with tempfile.TemporaryDirectory(prefix="ganbench-bench-evalcache-") as root:
        cases = [Case(name, all_setups[name], device, Path(root)) for name in names]
        times: dict[str, dict[str, Samples]] = {}
        for case in cases:
            case.warm_up()
            times[case.name] = interleaved(case.candidates(), args.repeats, warmup=[])
    rows = []
    for case in cases:
        p = case.protocol
        for label, samples in times[case.name].items():
            parts = case.seconds[label]
            real = Samples([r for r, _ in parts]).median
            evaluation = Samples([e for _, e in parts]).median
            rows.append([f"{case.name}: {label}", f"{p.extractor}, {'+'.join(p.metrics)}, {p.n_gen} vs {p.n_real}",
                         f"{real:.3f}", f"{evaluation:.3f}", f"{samples.median:.3f}", samples.spread])
    print_table(f"one run's first evaluation (Evaluator built, then one call), seconds; median of {args.repeats}",
                ["setup: cache", "protocol", "real side", "evaluation", "total", "spread"], rows)
    print("\nratios: cold ÷ cached seconds, median over paired rounds [min–max]: whole first evaluation; real side only")
    for case in cases:
        t = times[case.name]
        for label in [k for k in t if k != "cached"]:
            whole = [a / b for a, b in zip(t[label].values, t["cached"].values)]
            real = [a[0] / b[0] for a, b in zip(case.seconds[label], case.seconds["cached"])]
            print(f"  {case.name} ({label} ÷ cached): {Samples(whole).median:.1f}× [{min(whole):.1f}–{max(whole):.1f}]; "
                  f"real side {Samples(real).median:.1f}× [{min(real):.1f}–{max(real):.1f}]")


if __name__ == "__main__":
    main()
