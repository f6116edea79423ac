"""The README stays true: its suite example parses, and CI runs the README's own test command."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from ganbench.expand import expand

from ganbench.suite import parse

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_suite_reference_is_a_valid_suite():
    block = re.findall(r"```yaml\n(.*?)```", README, re.S)[0]
    expansion = expand(parse(yaml.safe_load(block)))
    assert expansion.runs and expansion.pending  # a search phase that runs now, a best_of phase that waits


def test_ci_installs_and_tests_as_the_readme_says():
    commands = re.findall(r"^# 2\..*\n(.+)$", README, re.M)
    assert commands, "README lost its test command"
    install, _, test = commands[0].rpartition(" && ")
    ci = (ROOT / ".ci" / "run").read_text()
    pip = re.search(r'pip install (?:-q )?(-e "[^"]+"|-e \S+)', install).group(1)
    assert f"pip install -q {pip}" in ci or f"pip install {pip}" in ci
    assert test.startswith("python -m pytest -q")
    ci_test = next(line for line in ci.splitlines() if "python -m pytest" in line).split()
    assert all(word in ci_test for word in test.split()), (test, ci_test)  # the README's flags, -n auto too


def test_every_shipped_suite_is_valid():
    for path in sorted((ROOT / "suites").glob("*.yaml")):
        assert expand(parse(yaml.safe_load(path.read_text()))).runs, path.name
