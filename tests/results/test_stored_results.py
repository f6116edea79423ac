"""Results written by an earlier release keep loading, reporting and naming their runs."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ganbench.results.frame import load_results
from ganbench.results.store import Store
from ganbench.specs import RunSpec

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "results_v0_1_0"


def test_results_of_release_0_1_0_load_with_their_numbers(tmp_path):
    root = tmp_path / "results"
    shutil.copytree(FIXTURE, root)
    df = load_results(root)
    assert df["run_id"].nunique() == 6 and set(df["status"].astype(str)) == {"done"}
    assert set(df["model"].astype(str)) == {"NS GAN", "BEGAN", "VAE"}
    one = next((root / "fixture").iterdir())
    result = json.loads((one / "result.json").read_text())
    rows = df[(df["run_id"] == one.name) & (df["metric"] == "fid")]
    assert sorted(rows["value"]) == sorted(h["metrics"]["fid"] for h in map(
        json.loads, (one / "history.jsonl").read_text().splitlines()))
    assert min(rows["value"]) == result["best"]["fid"]


def test_old_specs_keep_their_run_ids_and_status(tmp_path):
    """spec.json of 0.1.0 has no `revisions`: it hashes to its directory's name, so status and
    resuming find it (and new-code runs of the same suite get other ids)."""
    store = Store(FIXTURE)
    for run_dir in (FIXTURE / "fixture").iterdir():
        spec = RunSpec.from_dict(json.loads((run_dir / "spec.json").read_text()))
        assert spec.run_id == run_dir.name and not spec.revisions
        assert store.status(spec) == "done"


def test_a_report_builds_from_release_0_1_0_results(tmp_path):
    from ganbench.report import build

    root = tmp_path / "results"
    shutil.copytree(FIXTURE, root)
    index = build(load_results(root), tmp_path / "report", metric="fid", n_boot=50, formats=("png",))
    page = index.read_text()
    assert "NS GAN" in page and "No run follows the protocol of Lucic et al." in page
    summary = (tmp_path / "report" / "tables" / "summary.csv").read_text()
    assert "BEGAN" in summary and "VAE" in summary


FIXTURE_SUITE = """\
name: fixture
datasets:
  - name: ring
    params: {n_train: 2000, n_test: 500}
    budget: {steps: 40, eval_every: 20}
    hparams: {batch_size: 32, width: 8, z_dim: 2}
    evaluation: {extractor: raw, metrics: [fid, modes, knn], n_gen: 200, n_real: 200}
models:
  - {name: NS GAN, loss: ns, arch: mlp}
  - {name: BEGAN, loss: began, arch: mlp}
  - {name: VAE, kind: vae, arch: mlp}
seeds: 2
"""


def _fixture_baseline(scale: float) -> dict:
    """Entries written from the raw 0.1.0 files, not through the loader: the median over seeds of each run's
    ``best`` FID, with a tolerance of ``scale`` × the value."""
    import statistics

    best: dict[str, list[float]] = {}
    for run_dir in (FIXTURE / "fixture").iterdir():
        model = json.loads((run_dir / "spec.json").read_text())["model"]["name"]
        best.setdefault(model, []).append(json.loads((run_dir / "result.json").read_text())["best"]["fid"])
    entries = [{"dataset": "ring", "model": m, "metric": "fid", "higher_is_better": False, "runs": len(v),
                "std": 0.0, "tolerance": scale * statistics.median(v), "value": statistics.median(v)}
               for m, v in sorted(best.items())]
    return {"suite": "fixture", "entries": entries}


@pytest.mark.parametrize("shift, code", [(1.0, 0), (0.5, 1)])
def test_check_passes_on_release_0_1_0_results_and_still_catches_a_regression(tmp_path, shift, code):
    """``ganbench check --no-run`` reads the old directory unchanged: it passes against its own numbers and fails
    (exit 1) against a baseline that claims every model was twice as good."""
    from helpers.cli import ganbench_cli

    shutil.copytree(FIXTURE, tmp_path / "results")
    (tmp_path / "fixture.yaml").write_text(FIXTURE_SUITE)
    doc = _fixture_baseline(0.05)
    for e in doc["entries"]:
        e["value"] *= shift
        e["tolerance"] *= shift
    (tmp_path / "baseline.json").write_text(json.dumps(doc))
    out = ganbench_cli("check", "fixture.yaml", "--baseline", "baseline.json", "--no-run", cwd=tmp_path)
    assert out.returncode == code, out.stdout + out.stderr
    assert ("check passed" in out.stdout) == (code == 0)
    assert f"{0 if code else 3} ok, 0 improved, {3 if code else 0} regressed, 0 missing" in out.stdout
