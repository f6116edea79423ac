"""Startup cost of the commands that only read: ``ganbench plan`` of every shipped suite and ``ganbench --help``,
against ``python -c "import torch"``.

Validating and expanding a suite needs names and metadata only (ganbench/catalog.py declares every
registry entry lazily), so these commands must not import torch. Each candidate runs as a fresh
process, in rotating order (A B C, B C A, ...: slow drift of a shared machine hits all alike);
reported are the median wall time (with min–max) and the median peak RSS of the child process (its own
``ru_maxrss``, read with ``os.wait4``: ``getrusage(RUSAGE_CHILDREN)`` gives the same number for a process
that has one child, but a running maximum over all children for one that starts many). ``plan`` reads
an empty results folder (``--results`` in a temporary directory), so best_of phases are pending.
Targets (issue): each ``plan`` under 1 s and 150 MB on an idle machine. The ratios to ``import torch``
come last.

    python benchmarks/bench_startup.py [--repeats 7] [--quick]
"""
from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S, TARGET_MB = 1.0, 150.0


@dataclass
class Measured:
    """Wall seconds and peak RSS (MB) of each run of one command."""

    seconds: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return statistics.median(self.seconds)

    @property
    def rss(self) -> float:
        return statistics.median(self.peak_mb)


def run_once(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of ``argv`` run to completion with its output discarded."""
    tic = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - tic
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {err.strip()}")
    return seconds, usage.ru_maxrss / 1024  # kB on Linux


def candidates(results: Path) -> dict[str, list[str]]:
    cli = [sys.executable, "-m", "ganbench.cli"]
    found = {"import torch": [sys.executable, "-c", "import torch"], "ganbench --help": [*cli, "--help"]}
    for suite in sorted((ROOT / "suites").glob("*.yaml")):
        found[f"ganbench plan suites/{suite.name}"] = [*cli, "plan", str(suite), "--results", str(results)]
    return found


def machine() -> str:
    try:
        torch = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        torch = "not installed"
    return (f"python {platform.python_version()}, torch {torch} (not imported here), {os.cpu_count()} cores, "
            f"load average {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=None, help="runs per command (default 7; 3 with --quick)")
    parser.add_argument("--quick", action="store_true", help="3 runs per command")
    args = parser.parse_args()
    repeats = args.repeats or (3 if args.quick else 7)
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        commands = candidates(Path(tmp) / "results")
        names = list(commands)
        for name in names:  # warm the file cache once; not timed
            run_once(commands[name])
        measured = {name: Measured() for name in names}
        for r in range(repeats):
            for name in names[r % len(names):] + names[:r % len(names)]:
                seconds, mb = run_once(commands[name])
                measured[name].seconds.append(seconds)
                measured[name].peak_mb.append(mb)
    print(f"load average after: {os.getloadavg()[0]:.2f}; {repeats} runs per command")
    print(f"\n{'command':36s} {'wall s (median)':>16s} {'min–max':>13s} {'peak RSS MB':>12s}  target")
    for name, m in measured.items():
        target = ""
        if name.startswith("ganbench plan"):
            ok = m.wall < TARGET_S and m.rss < TARGET_MB
            target = f"< {TARGET_S:g} s, < {TARGET_MB:g} MB: {'meets' if ok else 'MISSES'}"
        print(f"{name:36s} {m.wall:16.3f} {min(m.seconds):6.3f}–{max(m.seconds):.3f} {m.rss:12.1f}  {target}")
    torch = measured["import torch"]
    print("\nratios to `python -c \"import torch\"` (wall, peak RSS):")
    for name, m in measured.items():
        if name != "import torch":
            print(f"  {name:36s} {m.wall / torch.wall:.3f}×  {m.rss / torch.rss:.3f}×")


if __name__ == "__main__":
    main()
