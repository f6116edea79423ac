"""The package as a user installs it: a wheel, outside the repository, finds and runs its shipped suites."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ganbench.errors import GanbenchError
from ganbench.suites import SHIPPED_DIR, resolve, shipped
from helpers.cli import ganbench_cli

ROOT = Path(__file__).resolve().parents[1]


def test_every_suite_ships_inside_the_package_and_the_checkout_links_to_it():
    assert set(shipped()) == {"ci", "conditional", "conditional_cifar10", "default", "lucic", "modern", "modern_cifar10",
                              "translation", "zoo"}
    assert (SHIPPED_DIR / "ci-baseline.json").is_file()
    assert (ROOT / "suites").resolve() == SHIPPED_DIR  # suites/ in a checkout is the package's folder


def test_a_suite_argument_is_a_path_or_a_shipped_name(tmp_path):
    own = tmp_path / "default"  # a file of that name wins over the shipped suite
    own.write_text("name: mine\n")
    assert resolve(own) == own
    assert resolve("default") == SHIPPED_DIR / "default.yaml"
    assert resolve(tmp_path / "missing.yaml") == tmp_path / "missing.yaml"  # the loader says it is missing
    with pytest.raises(GanbenchError, match=r"did you mean 'default'\?.*shipped: ci, conditional, conditional_cifar10, default, lucic, modern, "
                       r"modern_cifar10, translation, zoo"):
        resolve("defualt")


def test_cli_runs_a_shipped_suite_by_name_from_anywhere(tmp_path):
    proc = ganbench_cli("plan", "ci", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["total_runs"] == 12 + 12  # its calibration rows included
    listed = ganbench_cli("ls", "suites", cwd=tmp_path)
    assert listed.returncode == 0 and "default" in listed.stdout and "Lucic et al. (2018)" in listed.stdout
    wrong = ganbench_cli("plan", "defualt", cwd=tmp_path)
    assert wrong.returncode == 2 and "did you mean 'default'" in wrong.stderr and "Traceback" not in wrong.stderr


def _build_wheel(out: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True, text=True, timeout=300)
    (wheel,) = out.glob("ganbench-*.whl")
    return wheel


@pytest.mark.slow
def test_the_wheel_installed_outside_the_repository_plans_and_runs_shipped_suites(tmp_path):
    """pip wheel → pip install --target (away from the checkout) → the installed entry point, run from a folder
    that is not the repository, plans ``default`` and runs ``ci`` for 20 steps, by name. The checkout is not
    on the path: the import must come from the installed files, or the test fails. (A 20-step ``default`` is
    48 runs, minutes on 2 cores: ``ci``'s 12 runs exercise the same installed code.)"""
    wheel = _build_wheel(tmp_path / "dist")
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, text=True, timeout=300)
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "PYTHONWARNINGS": "ignore", "PYTHONSAFEPATH": "1"}

    def installed(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(site / "bin" / "ganbench"), *args], cwd=work, env=env, capture_output=True,
                              text=True, timeout=900)

    where = subprocess.run([sys.executable, "-c", "import ganbench, ganbench.suites as s; print(ganbench.__file__); "
                            "print(s.SHIPPED_DIR)"], cwd=work, env=env, capture_output=True, text=True, check=True)
    assert all(Path(line).is_relative_to(site) for line in where.stdout.split()), where.stdout
    planned = installed("plan", "default")
    assert planned.returncode == 0, planned.stderr
    assert "68 runs" in planned.stdout, planned.stdout  # the default suite's size, its 30 best_of runs and
    assert "real data (floor)" in planned.stdout  # 20 calibration rows included
    ran = installed("run", "ci", "--steps", "20")
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout.strip().endswith("finished: 24 done"), ran.stdout
    assert len(list((work / "results" / "ci").glob("*/generator.pt"))) == 12
