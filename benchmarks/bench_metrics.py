"""Benchmark the metric layer against the obvious alternatives, side by side in one run.

(a) FID's trace term Tr (Σ_r Σ_g)^{1/2} at --dim (default 2048): ganbench's FrechetReference (real side
    factorised once; the figure is the cost of every later evaluation) vs torch-fidelity's
    ``fid_statistics_to_metric`` (eigvals of the non-symmetric Σ_r Σ_g) vs ``scipy.linalg.sqrtm`` —
    times, ratios and agreement of the resulting FIDs.
(b) prc + prdc + knn on --nn-n × --nn-n features of --nn-dim (default 10k × 10k × 2048) along the
    registered metrics' path (one real-side k-NN table shared by prc and prdc): time and peak extra memory
    (VmHWM from /proc/self/status, reset through /proc/self/clear_refs: it sees torch's allocations,
    which tracemalloc does not) against the float32 all-pairs matrices a naive implementation builds
    (computed, never allocated). Optionally (--naive) a naive all-pairs implementation actually run:
    three float32 distance matrices (real×real, gen×gen, real×gen) with torch.cdist, then the same five
    numbers from them (time, peak memory and agreement); and torch-fidelity's prc (--tf-prc).

Ratios are printed last. ``--quick`` shrinks everything to run in well under a minute:

    python benchmarks/bench_metrics.py --quick

Timings on a shared machine are noisy (multi-threaded BLAS degrades badly when other processes hold
the cores); for a single-thread comparison set OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
MKL_NUM_THREADS=1 before starting.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import scipy.linalg
import torch
from torch_fidelity.metric_fid import fid_statistics_to_metric
from torch_fidelity.metric_prc import prc_features_to_metric

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import machine  # noqa: E402

from ganbench.metrics import FrechetReference, density_coverage, frechet_statistics, knn_score, precision_recall
from ganbench.metrics.neighbours import CACHED_NEIGHBOURS, DEFAULT_BUDGET, PointSet, knn_sq_distances

MB = 2**20


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dim", type=int, default=2048, help="feature dimension for the FID part")
    p.add_argument("--fid-n", type=int, default=10_000, help="samples per side for the FID statistics")
    p.add_argument("--repeats", type=int, default=3, help="timed repetitions of each FID route (median reported)")
    p.add_argument("--nn-n", type=int, default=10_000, help="real and generated samples for prc/prdc/knn")
    p.add_argument("--nn-dim", type=int, default=2048, help="feature dimension for prc/prdc/knn")
    p.add_argument("--budget-mb", type=int, default=DEFAULT_BUDGET // MB, help="block budget of the neighbour passes")
    p.add_argument("--tf-prc", action="store_true", help="also time torch-fidelity's prc (builds full matrices)")
    p.add_argument("--naive", action="store_true", help="also run a naive all-pairs prc+prdc+knn (3 n×n float32 "
                   "matrices: 1.2 GB at 10k)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--only", choices=("fid", "nn"), help="run one part only")
    p.add_argument("--quick", action="store_true",
                   help="small sizes: --dim 512 --fid-n 2000 --nn-n 3000 --nn-dim 256 --budget-mb 16")
    args = p.parse_args()
    if args.quick:
        args.dim, args.fid_n, args.nn_n, args.nn_dim, args.budget_mb = 512, 2000, 3000, 256, 16
    return args


def features(n: int, d: int, seed: int, shift: float = 0.0) -> np.ndarray:
    """Non-negative, correlated features (like pooled ReLU activations), float32 values stored as float64."""
    rng = np.random.default_rng(seed)
    mix = np.random.default_rng(1234).normal(size=(d // 4, d)) / np.sqrt(d // 4)
    z = rng.normal(size=(n, d // 4)).astype(np.float32) @ mix.astype(np.float32)
    return np.maximum(z + 0.3 + shift, 0.0).astype(np.float64)


def timed(fn: Callable[[], Any], repeats: int = 1) -> tuple[Any, float]:
    """(last result, median wall time in seconds)."""
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return out, statistics.median(times)


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))
    except (OSError, StopIteration):
        return None


def measure_peak(fn: Callable[[], Any]) -> tuple[Any, float, float | None]:
    """(result, seconds, peak resident memory above the level at the start in bytes; None if unmeasurable)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
        base = _status_kb("VmRSS")
    except OSError:
        base = None
    out, seconds = timed(fn)
    peak = _status_kb("VmHWM")
    return out, seconds, (None if base is None or peak is None else (peak - base) * 1024.0)


def bench_fid(args: argparse.Namespace) -> dict[str, float]:
    d, n = args.dim, args.fid_n
    print(f"\n(a) FID trace term, {d}-d, statistics of {n} + {n} samples, median of {args.repeats}")
    (mu_r, sigma_r), t_stats = timed(lambda: frechet_statistics(features(n, d, seed=0)))
    mu_g, sigma_g = frechet_statistics(features(n, d, seed=1, shift=0.05))
    print(f"  statistics (mean, covariance) per side        {t_stats:8.3f} s   (paid by every route)")
    ref, t_factor = timed(lambda: FrechetReference(mu_r, sigma_r), args.repeats)
    ours, t_ours = timed(lambda: ref.distance(mu_g, sigma_g), args.repeats)
    print(f"  ganbench: real factorisation (eigh, once)     {t_factor:8.3f} s")
    print(f"  ganbench: each evaluation (2 matmul+eigvalsh) {t_ours:8.3f} s   FID {ours:.10g}")
    tf_stats = ({"mu": mu_r, "sigma": sigma_r}, {"mu": mu_g, "sigma": sigma_g})
    theirs, t_tf = timed(lambda: fid_statistics_to_metric(*tf_stats, verbose=False)["frechet_inception_distance"],
                         args.repeats)
    print(f"  torch-fidelity fid_statistics_to_metric       {t_tf:8.3f} s   FID {theirs:.10g}")

    def scipy_route() -> float:
        covmean = scipy.linalg.sqrtm(sigma_r @ sigma_g).real
        diff = mu_r - mu_g
        return float(diff @ diff + np.trace(sigma_r) + np.trace(sigma_g) - 2 * np.trace(covmean))

    sq, t_sq = timed(scipy_route, max(1, args.repeats // 3))
    print(f"  scipy.linalg.sqrtm                            {t_sq:8.3f} s   FID {sq:.10g}")
    return {"fid_ours_s": t_ours, "fid_factor_s": t_factor, "fid_tf_s": t_tf, "fid_sqrtm_s": t_sq,
            "fid_rel_tf": abs(ours - theirs) / abs(theirs), "fid_rel_sqrtm": abs(ours - sq) / abs(sq)}


def bench_neighbours(args: argparse.Namespace) -> dict[str, float]:
    n, d, budget = args.nn_n, args.nn_dim, args.budget_mb * MB
    print(f"\n(b) prc + prdc + knn, {n} real × {n} generated × {d}-d, block budget {args.budget_mb} MB")
    real, gen = PointSet(features(n, d, seed=2)), features(n, d, seed=3, shift=0.02)
    warm = np.random.default_rng(0).normal(size=(50, d))  # load BLAS/torch kernels before measuring memory
    precision_recall(warm, warm), density_coverage(warm, warm), knn_score(warm, warm)
    # The registered prc/prdc build the real k-NN table once per run (cached_knn_table) and share it.
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("real k-NN table (once per run)", lambda: knn_sq_distances(real, CACHED_NEIGHBOURS, budget=budget)),
    ]
    table_holder: dict[str, np.ndarray] = {}
    steps += [
        ("prc  (k=3)", lambda: precision_recall(gen, real, 3, real_sq_radii=table_holder["t"][:, 2], budget=budget)),
        ("prdc (k=5)", lambda: density_coverage(gen, real, 5, real_sq_radii=table_holder["t"][:, 4], budget=budget)),
        ("knn", lambda: knn_score(real, gen, budget=budget)),
    ]
    out: dict[str, float] = {}
    total_s, peak = 0.0, 0.0
    for label, fn in steps:
        values, seconds, extra = measure_peak(fn)
        if isinstance(values, np.ndarray):
            table_holder["t"] = values
            shown = ""
        else:
            shown = ", ".join(f"{k} {v:.4f}" for k, v in values.items())
        total_s += seconds
        peak = max(peak, extra or 0.0)
        out[f"{label.split()[0]}_s"] = seconds
        print(f"  {label:31s} {seconds:8.2f} s   peak extra {_mb(extra)}   {shown}".rstrip())
    naive_cross = n * n * 4.0
    naive_union = (2 * n) ** 2 * 4.0
    print(f"  {'total':31s} {total_s:8.2f} s   peak extra {_mb(peak)}   "
          f"(the features themselves: {2 * n * d * 8 / MB:,.0f} MB as float64)")
    print(f"  naive float32 all-pairs: one {n}×{n} matrix {naive_cross / MB:,.0f} MB; "
          f"1-NN union {2 * n}×{2 * n} {naive_union / MB:,.0f} MB")
    out.update(nn_total_s=total_s, nn_peak=peak, naive_cross=naive_cross, naive_union=naive_union)
    if args.naive:
        (naive, shown), seconds, extra = measure_peak(lambda: naive_all_pairs(real.x, gen))
        print(f"  {'naive all-pairs (3 matrices)':31s} {seconds:8.2f} s   peak extra {_mb(extra)}   {shown}")
        out.update(naive_s=seconds, naive_peak=extra or float("nan"))
    if args.tf_prc:
        g32, r32 = torch.from_numpy(gen.astype(np.float32)), torch.from_numpy(real.x.astype(np.float32))
        tf, seconds, extra = measure_peak(lambda: prc_features_to_metric(g32, r32, verbose=False))
        print(f"  {'torch-fidelity prc (k=3)':31s} {seconds:8.2f} s   peak extra {_mb(extra)}   "
              f"precision {tf['precision']:.4f}, recall {tf['recall']:.4f}")
        out.update(tf_prc_s=seconds, tf_prc_peak=extra or float("nan"))
    return out


def naive_all_pairs(real: np.ndarray, gen: np.ndarray) -> tuple[dict[str, float], str]:
    """prc (k=3), density/coverage (k=5) and the 1-NN score from full float32 distance matrices."""
    r, g = torch.from_numpy(real.astype(np.float32)), torch.from_numpy(gen.astype(np.float32))
    d_rr, d_gg, d_rg = torch.cdist(r, r), torch.cdist(g, g), torch.cdist(r, g)  # (n_r, n_r), (n_g, n_g), (n_r, n_g)
    d_rr.fill_diagonal_(float("inf"))
    d_gg.fill_diagonal_(float("inf"))
    r3, r5 = d_rr.kthvalue(3, dim=1).values, d_rr.kthvalue(5, dim=1).values
    g3 = d_gg.kthvalue(3, dim=1).values
    out = {"precision": float((d_rg <= r3[:, None]).any(0).float().mean()),
           "recall": float((d_rg <= g3[None, :]).any(1).float().mean()),
           "density": float((d_rg < r5[:, None]).sum(0).float().mean() / 5),
           "coverage": float((d_rg.min(1).values < r5).float().mean())}
    real_ok = d_rr.min(1).values < d_rg.min(1).values
    gen_ok = d_gg.min(1).values < d_rg.min(0).values
    out["knn"] = float((real_ok.sum() + gen_ok.sum()) / (len(real_ok) + len(gen_ok)))
    return out, ", ".join(f"{k} {v:.4f}" for k, v in out.items())


def _mb(x: float | None) -> str:
    return "n/a" if x is None else f"{x / MB:7.0f} MB"


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(machine("cpu") + f"; numpy {np.__version__}")
    fid_r = bench_fid(args) if args.only in (None, "fid") else {}
    nn_r = bench_neighbours(args) if args.only in (None, "nn") else {}
    print("\nratios")
    if fid_r:
        print(f"  FID evaluation: torch-fidelity / ganbench  {fid_r['fid_tf_s'] / fid_r['fid_ours_s']:6.1f}×   "
              f"(relative FID difference {fid_r['fid_rel_tf']:.1e})")
        print(f"  FID evaluation: sqrtm / ganbench           {fid_r['fid_sqrtm_s'] / fid_r['fid_ours_s']:6.1f}×   "
              f"(relative FID difference {fid_r['fid_rel_sqrtm']:.1e})")
        print(f"  FID first evaluation incl. factorisation: torch-fidelity / ganbench "
              f"{fid_r['fid_tf_s'] / (fid_r['fid_ours_s'] + fid_r['fid_factor_s']):.1f}×")
    if nn_r.get("nn_peak", 0) > 0:
        print(f"  prc+prdc+knn memory: naive {args.nn_n}² matrix / peak extra     "
              f"{nn_r['naive_cross'] / nn_r['nn_peak']:6.1f}×")
        print(f"  prc+prdc+knn memory: naive 1-NN union matrix / peak extra  "
              f"{nn_r['naive_union'] / nn_r['nn_peak']:6.1f}×")
    if "naive_s" in nn_r:
        print(f"  prc+prdc+knn time: naive all-pairs / ganbench                {nn_r['naive_s'] / nn_r['nn_total_s']:6.2f}×")
        if nn_r["nn_peak"] > 0:
            print(f"  prc+prdc+knn memory: naive all-pairs peak / ganbench peak    "
                  f"{nn_r['naive_peak'] / nn_r['nn_peak']:6.1f}×")
    if "tf_prc_s" in nn_r:
        print(f"  prc time: torch-fidelity / ganbench (gen radii + one cross pass) "
              f"{nn_r['tf_prc_s'] / nn_r['prc_s']:6.2f}×")
        print(f"  torch-fidelity prc time / ganbench prc+prdc+knn time        "
              f"{nn_r['tf_prc_s'] / nn_r['nn_total_s']:6.2f}×")
        if nn_r["nn_peak"] > 0:
            print(f"  torch-fidelity prc peak memory / ganbench prc+prdc+knn peak "
                  f"{nn_r['tf_prc_peak'] / nn_r['nn_peak']:6.1f}×")


if __name__ == "__main__":
    main()
