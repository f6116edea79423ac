"""The benchmarks' own run specs still build: a suite change (such as the calibration rows every suite gets by
default) must not leave a benchmark that fails before it measures anything. Nothing is timed here."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCHMARKS))
    yield lambda name: importlib.import_module(name)
    sys.path.remove(str(BENCHMARKS))


def test_single_run_benchmarks_build_one_trained_run_each(bench):
    hw, overhead, gpu = bench("bench_hw_efficiency"), bench("bench_train_overhead"), bench("bench_gpu")
    for arch in hw.ARCH_DATA:
        assert hw.run_spec(arch, 10).model.arch == arch
    for case in overhead.CASES:
        assert overhead.run_spec(case, 10).budget.steps == 10
    assert gpu.run_spec("dcgan", gpu.POLYGONS, 10).model.arch == "dcgan"


def test_grid_benchmarks_build_only_trained_runs(bench):
    parallel, ensemble = bench("bench_parallel"), bench("bench_ensemble")
    runs = parallel.grid("ring", 100, 2)
    assert len(runs) == 4 and all(r.model.kind == "gan" for r in runs)
    for name, grid in ensemble.GRIDS.items():
        runs = ensemble.grid(name, 10, grid["seeds"])
        assert len(runs) == grid["seeds"] and len({r.seed for r in runs}) == grid["seeds"]


def test_the_member_evaluation_benchmark_builds_one_ensembles_members(bench):
    member_eval = bench("bench_member_eval")
    for setup in member_eval.SETUPS:
        runs = member_eval.members(setup, 3, n_gen=50)
        assert [r.seed for r in runs] == [0, 1, 2] and {r.evaluation.n_gen for r in runs} == {50}
        assert all(r.evaluation == runs[0].evaluation for r in runs)  # one protocol: what for_run needs
