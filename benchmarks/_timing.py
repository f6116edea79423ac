"""Timing helpers shared by the benchmarks: one way to warm up, interleave, synchronise and report.

Absolute times on a shared machine are noise (another process takes a core and everything slows by
2×); what survives is the *ratio* of two candidates measured in the same run under the same noise. So
every benchmark here times its candidates in alternating order (A B, B A, A B, ...: slow drift of the
machine hits both equally), repeats, and reports medians with their spread, the ratios last.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch


def add_common_args(parser: argparse.ArgumentParser, repeats: int, quick_repeats: int) -> None:
    """``--quick``, ``--device``, ``--threads`` and ``--repeats`` (``repeats``, or ``quick_repeats`` with --quick)."""
    parser.add_argument("--quick", action="store_true", help="small sizes: about a minute on a 2-core CPU")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="where to run (default cpu)")
    parser.add_argument("--repeats", type=int, default=None,
                        help=f"timed repetitions per candidate (default {repeats}; {quick_repeats} with --quick)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's choice); 1 is far steadier on a machine shared with "
                             "other jobs, where a 2-thread step can take 10× its time waiting for a core")
    parser.set_defaults(_repeats=(repeats, quick_repeats))


def finish_args(args: argparse.Namespace) -> argparse.Namespace:
    """Resolve ``--repeats`` from ``--quick`` and refuse ``--device cuda`` without a GPU (say so, don't fall back)."""
    if args.repeats is None:
        args.repeats = args._repeats[1] if args.quick else args._repeats[0]
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is visible to torch")
    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    return args


def sync(device: torch.device | str) -> None:
    """Wait for queued device work: a CUDA kernel launch returns before the kernel has run."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def now(device: torch.device | str) -> float:
    """A wall-clock reading taken after the device has caught up."""
    sync(device)
    return time.perf_counter()


def machine(device: torch.device | str) -> str:
    """One line naming what was measured on (the first line of every benchmark's output)."""
    dev = torch.cuda.get_device_name() if torch.device(device).type == "cuda" else platform.processor() or "cpu"
    return (f"torch {torch.__version__}, device {device} ({dev}), {torch.get_num_threads()} torch threads, "
            f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")


@dataclass
class Samples:
    """Repeated measurements of one candidate (any unit: seconds, steps/s, ...)."""

    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def quantile(self, q: float) -> float:
        return statistics.quantiles(self.values, n=100, method="inclusive")[round(q * 100) - 1] \
            if len(self.values) > 1 else self.values[0]

    @property
    def spread(self) -> str:
        """min–max as a percentage of the median, e.g. '±3 %' — how much to trust the median."""
        if len(self.values) < 2:
            return "n=1"
        half = (max(self.values) - min(self.values)) / 2
        return f"±{100 * half / self.median:.0f} %"


def interleaved(candidates: dict[str, Callable[[], float]], repeats: int,
                warmup: Sequence[str] | None = None) -> dict[str, Samples]:
    """Call each candidate ``repeats`` times, alternating the order every round; returns their values.

    Each candidate returns its own measurement (it knows what to time and where to synchronise).
    Every candidate named in ``warmup`` (default: all) is called once first, untimed: kernels,
    allocator pools, imports and caches are then in place for both.
    """
    for name in warmup if warmup is not None else candidates:
        candidates[name]()
    out = {name: Samples() for name in candidates}
    names = list(candidates)
    for r in range(repeats):
        for name in names if r % 2 == 0 else reversed(names):
            out[name].values.append(candidates[name]())
    return out


Loop = Callable[[Callable[[], None]], Any]  # a loop that calls ``mark()`` at every cycle boundary


def lockstep(loops: dict[str, Loop]) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Run loops one cycle at a time in turn (A's cycle 1, B's cycle 1, A's cycle 2, ...); returns
    (seconds of each loop's cycles, each loop's return value).

    Each loop runs in its own thread but only one runs at a time: ``mark()`` records the cycle just
    finished and hands the turn to the next loop. Cycle i of every loop thus ran within a second of
    the others, under the same load, so their ratio survives the minutes-long bursts of a shared
    machine that ruin whole-run comparisons. CPU only: on a GPU the queue would have to be drained at
    every mark, which changes what is measured. Both loops see the same global RNG in turn, so their
    random streams differ from a solo run's (the cost does not).
    """
    names = list(loops)
    cond = threading.Condition()
    turn, done = [0], set()
    cycles: dict[str, list[float]] = {n: [] for n in names}
    results: dict[str, Any] = {}
    errors: list[BaseException] = []

    def pass_turn(i: int) -> None:
        with cond:
            following = [(i + k) % len(names) for k in range(1, len(names) + 1)]
            turn[0] = next((j for j in following if names[j] not in done), i)
            cond.notify_all()

    def wait_turn(i: int) -> float:
        with cond:
            cond.wait_for(lambda: turn[0] == i)
        return time.perf_counter()

    def run(i: int) -> None:
        name = names[i]
        start = [wait_turn(i)]

        def mark() -> None:
            cycles[name].append(time.perf_counter() - start[0])
            pass_turn(i)
            start[0] = wait_turn(i)

        try:
            results[name] = loops[name](mark)
        except BaseException as err:  # noqa: BLE001 — re-raised in the caller's thread
            errors.append(err)
        finally:
            with cond:
                done.add(name)
            pass_turn(i)

    threads = [threading.Thread(target=run, args=(i,), name=f"lockstep-{n}") for i, n in enumerate(names)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return cycles, results


def paired(num: Sequence[float], den: Sequence[float]) -> Samples:
    """Element-wise ratios num[i] / den[i] of two equally long series measured side by side."""
    return Samples([a / b for a, b in zip(num, den, strict=True)])


def ratio_spread(num: Samples, den: Samples) -> tuple[float, float, float]:
    """(median ratio, min, max) over the paired rounds: num[i] / den[i], i.e. measured under the same load."""
    pairs = [a / b for a, b in zip(num.values, den.values)]
    return statistics.median(pairs), min(pairs), max(pairs)


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A plain aligned table (left-aligned first column, right-aligned others)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    for row in [header, *rows]:
        cells = [str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        print("  " + "  ".join(cells))


def verdict(value: float, target: float, higher_is_better: bool = True) -> str:
    """'meets' / 'MISSES' a target, so the last lines read as pass/fail at a glance."""
    ok = value >= target if higher_is_better else value <= target
    return "meets" if ok else "MISSES"
