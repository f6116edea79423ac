"""Results written by an earlier release keep loading, reporting and naming their runs."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from ganbench.specs import RunSpec
from ganbench.store import Store
from ganbench.tables import load_results

FIXTURE = Path(__file__).parent / "fixtures" / "results_v0_1_0"


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
