"""Does the CPU default survive a busy neighbour? Throughput with one competing busy process ÷ without.

CI machines and laptops are shared. A run whose torch (OpenMP) threads outnumber the free cores does not
slow down gracefully: a thread waiting for a core stalls every step, and the others spin. Candidates,
each the real command line (``ganbench run`` in a subprocess: worker start-up included, as a user pays it)
on the same small grid, each timed alone and beside one busy process (a single-threaded ``while True``
loop started just before and killed just after):

* default: ``ganbench run`` as it ships (``--workers auto``: one 1-thread run per core);
* all-threads: ``--workers 1 --threads <cores>`` (one run holding every core, ganbench's old default).

Ratio per candidate: alone seconds ÷ busy seconds (throughput with the neighbour ÷ without; a fair share
of a 2-core machine with one busy process is 0.5 or more, since the neighbour takes one core at most).
Target for the default: ≥ 0.4. A candidate still running at ``--limit`` seconds is stopped and its ratio
reported as an upper bound. One feature cache, filled by an untimed warm-up run, serves every run.
Alternating order (alone, busy, busy, alone, ...), medians.

    python benchmarks/bench_threads.py [--quick] [--repeats N] [--limit SECONDS]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

TARGET = 0.4  # default's throughput beside one busy process ÷ alone
BUSY = "while True: pass"


def suite(steps: int, seeds: int) -> dict:
    """The CI suite's ring (σ 0.05), NS GAN and LSGAN, ``seeds`` seeds, one evaluation at the end."""
    return {"name": "bench-threads",
            "datasets": [{"name": "ring", "params": {"n_train": 20000, "n_test": 2500, "sigma": 0.05},
                          "budget": {"steps": steps, "eval_every": steps},
                          "hparams": {"batch_size": 100, "z_dim": 2, "z_prior": "normal", "width": 32},
                          "evaluation": {"extractor": "raw", "metrics": ["modes", "knn"],
                                         "n_gen": 1000, "n_real": 1000}}],
            "models": [{"name": "NS GAN", "loss": "ns", "arch": "mlp"},
                       {"name": "LSGAN", "loss": "lsgan", "arch": "mlp"}],
            "seeds": seeds}


def timed_run(suite_file: Path, extra: list[str], env: dict[str, str], limit: float) -> float:
    """Seconds for ``ganbench run`` of the suite into a fresh results folder (``inf`` past ``limit``)."""
    with tempfile.TemporaryDirectory(prefix="ganbench-bench-threads-") as results:
        cmd = [sys.executable, "-m", "ganbench.cli", "run", str(suite_file), "--results", results,
               "--device", "cpu", *extra]
        start = time.perf_counter()
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=limit)
        except subprocess.TimeoutExpired:
            return float("inf")
        seconds = time.perf_counter() - start
    if proc.returncode != 0 or "failed" in proc.stdout:
        raise SystemExit(f"ganbench run {' '.join(extra)} did not finish cleanly:\n{proc.stdout}\n{proc.stderr}")
    return seconds


def beside_busy(fn):
    """``fn()`` while one single-threaded busy loop competes for a core."""
    hog = subprocess.Popen([sys.executable, "-c", BUSY])
    try:
        time.sleep(0.5)  # let it reach its loop
        return fn()
    finally:
        hog.kill()
        hog.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a shorter grid: a few minutes on 2 cores")
    parser.add_argument("--repeats", type=int, default=None, help="timed rounds per candidate (default 3; 1 quick)")
    parser.add_argument("--limit", type=float, default=300.0, help="seconds before a busy run is stopped")
    args = parser.parse_args()
    repeats = args.repeats or (1 if args.quick else 3)
    steps, seeds = (400, 2) if args.quick else (800, 2)
    cores = os.cpu_count() or 1
    candidates = {"default": [], "all-threads": ["--workers", "1", "--threads", str(cores)]}
    with tempfile.TemporaryDirectory(prefix="ganbench-bench-threads-cache-") as cache:
        env = {**os.environ, "GANBENCH_CACHE": cache, "PYTHONWARNINGS": "ignore"}
        env.pop("OMP_NUM_THREADS", None)  # the candidates set their own thread counts
        suite_file = Path(cache) / "suite.yaml"
        suite_file.write_text(yaml.safe_dump(suite(steps, seeds), sort_keys=False))
        warm = Path(cache) / "warm.yaml"
        warm.write_text(yaml.safe_dump({**suite(10, 1), "name": "warm"}, sort_keys=False))
        timed_run(warm, ["--workers", "1"], env, args.limit)  # data, real features; untimed
        times: dict[str, dict[str, list[float]]] = {name: {"alone": [], "busy": []} for name in candidates}
        for r in range(repeats):
            for name, extra in candidates.items():
                order = ("alone", "busy") if r % 2 == 0 else ("busy", "alone")
                for where in order:
                    run = lambda: timed_run(suite_file, extra, env, args.limit)  # noqa: E731
                    times[name][where].append(beside_busy(run) if where == "busy" else run())
    runs = 2 * seeds
    print(f"{cores} CPU cores; {runs} runs of the ring ({steps} steps, one evaluation each); "
          f"median of {repeats}; busy neighbour: one `python -c '{BUSY}'`")
    print(f"{'candidate':<12} {'flags':<28} {'alone s':>8} {'busy s':>8} {'busy ÷ alone throughput':>24}")
    for name, extra in candidates.items():
        alone, busy = statistics.median(times[name]["alone"]), statistics.median(times[name]["busy"])
        ratio = alone / busy
        text = f"< {alone / args.limit:.2f} (stopped at {args.limit:.0f} s)" if busy == float("inf") else f"{ratio:.2f}"
        flags = " ".join(extra) or "(none: --workers auto)"
        print(f"{name:<12} {flags:<28} {alone:>8.1f} {busy:>8.1f} {text:>24}")
    ratio = statistics.median(times["default"]["alone"]) / statistics.median(times["default"]["busy"])
    print(f"\nratio: default's throughput beside a busy process ÷ alone {ratio:.2f}; target ≥ {TARGET}  "
          f"{'meets' if ratio >= TARGET else 'MISSES'}")


if __name__ == "__main__":
    main()
