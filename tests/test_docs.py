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
    pip = re.search(r'pip install (?:-q )?(-c constraints\.txt (?:-e "[^"]+"|-e \S+))', install).group(1)
    assert f"pip install -q {pip}" in ci or f"pip install {pip}" in ci
    assert (ROOT / "constraints.txt").is_file()
    assert test.startswith("python -m pytest -q")
    ci_test = next(line for line in ci.splitlines() if "python -m pytest" in line).split()
    assert all(word in ci_test for word in test.split()), (test, ci_test)  # the README's flags, -n auto too


def test_both_readme_commands_install_the_tested_versions():
    commands = re.findall(r"^# [12]\..*\n(.+)$", README, re.M)
    assert len(commands) == 2 and all("pip install -c constraints.txt -e " in c for c in commands), commands


def test_every_shipped_suite_is_valid():
    for path in sorted((ROOT / "suites").glob("*.yaml")):
        assert expand(parse(yaml.safe_load(path.read_text()))).runs, path.name


def test_constraints_pin_every_dependency_within_its_declared_range():
    """constraints.txt (what CI tests) and pyproject.toml (what users may have) must agree: each pinned
    version satisfies the range, and every direct dependency is pinned."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [Requirement(r) for r in project["dependencies"]]
    declared += [Requirement(r) for extra in project["optional-dependencies"].values() for r in extra]
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    for req in declared:
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not pinned in constraints.txt"
        assert req.specifier.contains(pins[name], prereleases=True), (str(req), pins[name])


def test_what_the_readme_says_auto_picks_is_what_the_parser_picks():
    said = re.search(r"extractor: auto\s+# auto \((\w+) on images, (\w+) on 2D\)", README)
    assert said, "README lost its note on extractor: auto"
    doc = {"name": "auto", "models": [{"name": "NS GAN", "loss": "ns", "arch": {"vector": "mlp", "image": "dcgan"}}],
           "datasets": [{"name": "digits", "params": {"size": 8}}, {"name": "ring"}],
           "budget": {"steps": 10}, "evaluation": {"extractor": "auto", "metrics": ["fid"]}}
    picked = {d.kind: d.evaluation.extractor for d in parse(doc).datasets}
    assert picked == {"image": said.group(1), "vector": said.group(2)}


def test_readme_states_the_default_suites_size():
    """The suites table says how many runs `default` is; the expansion (with its best_of phase) agrees."""
    spec = parse(yaml.safe_load((ROOT / "suites" / "default.yaml").read_text()))
    expansion = expand(spec)
    total = len(expansion.runs) + sum(p.runs for p in expansion.pending)
    row = next(line for line in README.splitlines() if line.startswith("| `default.yaml`"))
    assert f"| {total} runs," in row, row
