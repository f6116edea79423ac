"""The commands that only read a suite or the registries start without torch, and the catalog that lets
them is true: every lazily declared entry imports, and its metadata agrees with its object."""
from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ganbench.catalog import registries
from ganbench.registry import Lazy

ROOT = Path(__file__).resolve().parents[1]
SUITES = sorted((ROOT / "suites").glob("*.yaml"))

#: modules that cost a command 0.3–2.5 s and 50–600 MB to import, and that planning never needs
HEAVY = ("torch", "torchvision", "torch_fidelity", "pandas", "scipy", "matplotlib")

#: runs each command of argv[1] (a JSON list of argument lists) through the CLI's ``main`` in this one
#: process, and writes, per command, its exit code and the heavy modules imported so far to argv[2]
PROBE = """
import contextlib, io, json, sys
from ganbench.cli import main
commands, out, heavy = json.loads(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
report = []
for args in commands:
    sys.argv = ["ganbench", *args]
    text = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(text):
        try:
            main()
        except SystemExit as exit_:
            code = exit_.code or 0
    report.append({"args": args, "code": code, "stdout": text.getvalue(),
                   "heavy": [m for m in heavy if m in sys.modules]})
with open(out, "w") as f:
    json.dump(report, f)
"""


def probe(commands: list[list[str]], tmp_path: Path) -> list[dict]:
    out = tmp_path / "probe.json"
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(commands), str(out), json.dumps(HEAVY)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text())


def test_plan_ls_status_and_help_import_no_torch(tmp_path):
    """`plan` of every shipped suite (table and --json), `status`, `ls` and `--help` succeed, and after
    each of them neither torch nor another heavy module has been imported. Fails when a module on their
    path imports torch (or pandas) at module level, or a registry entry is imported to be described."""
    results = str(tmp_path / "results")
    commands = [["--help"], ["plan", "--help"], ["ls"], ["ls", "metrics"],
                *(["plan", str(suite), "--results", results] for suite in SUITES),
                ["plan", str(ROOT / "suites" / "ci.yaml"), "--json", "--results", results],
                ["status", str(ROOT / "suites" / "ci.yaml"), "--results", results]]
    report = probe(commands, tmp_path)
    assert [r["args"] for r in report] == commands
    for r in report:
        assert r["code"] == 0, r
        assert r["heavy"] == [], f"`ganbench {' '.join(r['args'])}` imported {r['heavy']}"
    by_command = {" ".join(r["args"][:2]): r["stdout"] for r in report}
    assert "plan" in by_command["--help"] and "fid" in by_command["ls metrics"]
    assert "infogan" in by_command["ls"] and "Kynkäänniemi" in by_command["ls metrics"]  # descriptions shown
    assert "ring" in by_command[f"plan {ROOT / 'suites' / 'ci.yaml'}"]
    assert json.loads(report[-2]["stdout"])["total_runs"] == 12 + 12  # + a floor and a copycat per dataset × 3 seeds
    assert report[-1]["stdout"].startswith("24 runs: 0 done")


def lazy_entries() -> list[tuple[str, str]]:
    return [(section, entry.name) for section, registry in registries().items() for entry in registry
            if entry.lazy is not None]


def test_the_built_in_entries_are_lazy():
    """Every loss, penalty, architecture, dataset, extractor and metric is declared lazily (the
    hyperparameters and model kinds, plain data, are held)."""
    held = {"hparams", "kinds"}
    lazy = {section for section, _ in lazy_entries()}
    assert lazy == set(registries()) - held
    for section, registry in registries().items():
        assert all((entry.lazy is not None) == (section not in held) for entry in registry), section


@pytest.mark.parametrize("section,name", lazy_entries())
def test_every_lazy_entry_resolves(section, name):
    """`get()` imports the declared object (and the registry keeps it); every import path named in
    the metadata (a metric's prepare hook) resolves too."""
    registry = registries()[section]
    entry = registry.entry(name)
    obj = registry.get(name)
    assert entry.loaded and registry.get(name) is obj
    if section == "architectures":
        from ganbench.nets.base import Architecture

        assert isinstance(obj, Architecture)
    else:
        assert callable(obj)  # a loss class, a penalty, a dataset / extractor factory, a metric function
    for value in entry.metadata.values():
        if isinstance(value, Lazy):
            assert callable(value.resolve()), value


def _keyword_params(fn) -> tuple[set[str], bool]:
    params = inspect.signature(fn).parameters.values()
    return ({p.name for p in params if p.kind is p.KEYWORD_ONLY},
            any(p.kind is p.VAR_KEYWORD for p in params))


@pytest.mark.parametrize("section,name", lazy_entries())
def test_declared_metadata_matches_what_the_object_states(section, name):
    """Where the object states a fact the catalog also declares, they agree: any attribute of the same
    name (an architecture's data_kinds, description, hparam_defaults), a loss's own parameters and
    its constructor, a metric's option defaults and its keyword parameters, each factory's signature."""
    registry = registries()[section]
    meta, obj = registry.meta(name), registry.get(name)
    shared = [key for key in meta if hasattr(obj, key)]
    for key in shared:
        assert getattr(obj, key) == meta[key], (name, key)
    if section == "architectures":
        assert obj.name == name and set(shared) >= {"data_kinds", "description", "hparam_defaults"}
    elif section == "losses":
        own = [p for p in inspect.signature(obj.__init__).parameters if p not in ("self", "args", "kwargs")]
        assert own == list(meta["params"]), name
    elif section == "metrics":
        keywords, open_ended = _keyword_params(obj)
        assert open_ended or keywords == set(meta["defaults"]), name
        assert set(meta["ranges"]) <= set(meta["outputs"]) and meta["outputs"], name
    elif section == "datasets":
        assert list(inspect.signature(obj).parameters) == ["params", "data_root", "download"], name
    elif section in ("extractors", "penalties"):
        assert len(inspect.signature(obj).parameters) == {"extractors": 1, "penalties": 3}[section], name


#: small versions of the embedded datasets, built to compare their kind with the declared one
SMALL = {"ring": {"n_train": 64, "n_test": 16}, "grid": {"n_train": 64, "n_test": 16}, "digits": {},
         "polygons": {"n_train": 16, "n_test": 8, "n_holdout": 8}, "digit_styles": {"size": 8},
         "polygon_styles": {"n_train": 16, "n_test": 8},
         "ring_warp": {"n_train": 64, "n_test": 16}}


def test_every_embedded_dataset_is_of_its_declared_kind():
    """Suite validation takes a dataset's kind (and so its architecture and metrics) from the catalog
    without building it; the built dataset must be of that kind. Files-backed datasets need data on
    disk and are left to tests/data/."""
    from ganbench.catalog import DATASETS

    embedded = {e.name for e in DATASETS if e.metadata["source"] == "embedded"}
    assert embedded == set(SMALL)
    for name, params in SMALL.items():
        dataset = DATASETS.get(name)(params, None, False)
        assert (dataset.info.name, dataset.info.kind) == (name, DATASETS.meta(name)["kind"])
