"""The findings paragraph on records whose answers are known in advance."""
from __future__ import annotations

import pandas as pd

from ganbench.report import build
from ganbench.report.findings import findings, findings_markdown
from ganbench.report.style import add_panel
from ganbench.results import frame
from ganbench.results.headline import frame_headlines
from ganbench.results.study import headline_scores, pairwise_tests, summary
from helpers.records import make_record

FAST = {"n_boot": 200, "formats": ("png",)}


def _study(values: dict[str, list[float]], *, dataset: str = "ring", metric: str = "mode_tv",
           settings: int = 3) -> list[dict]:
    """Per model: a 'wide' search (settings at the model's first value) and a 'seeds' phase with one run per
    value — the seed study the tests run on."""
    records = []
    for model, seeds in values.items():
        for s in range(settings):
            records.append(make_record(dataset=dataset, model=model, phase="wide", setting=s,
                                       history=[(100, {metric: seeds[0] - 0.5 * s, "knn": 0.7})]))
        for i, value in enumerate(seeds):
            records.append(make_record(dataset=dataset, model=model, phase="seeds", setting=0, seed=i + 1,
                                       history=[(100, {metric: value, "knn": 0.7})]))
    return records


def _findings(records):
    df = frame.records_to_frame(records)
    headlines = frame_headlines(df)
    ups = {d: bool(df.loc[df["metric"] == m, "higher_is_better"].iloc[0]) for d, m in headlines.items()}
    scores = add_panel(headline_scores(df, headlines), False)
    table = add_panel(summary(df, metrics=list(headlines.values()), n_boot=200), False)
    pairs = add_panel(pairwise_tests(scores, n_boot=200), False)
    return findings(table, pairs, headlines, ups)


def test_separated_models_are_told_apart_and_equal_ones_are_not():
    """5 seeds each, modes held ≥ 1 % (higher is better): NS GAN and LSGAN cover all 8 modes, WGAN GP 3 — two
    resolved pairs, one not. The Holm p-values are scipy's (ties: the normal approximation) times the pairs."""
    [found] = _findings(_study({"NS GAN": [8, 8, 8, 7, 8], "LSGAN": [8, 7, 8, 8, 8],
                                "WGAN GP": [3, 2, 3, 4, 3]}, metric="modes_1pct"))
    text = found.text
    assert found.panel == "ring" and found.metric == "modes_1pct"  # mode_tv is not computed: the fallback
    assert text.startswith("On ring, ranked by modes with ≥1% of samples (higher is better), mean ± std over 5 "
                           "seeds of each model's best setting: NS GAN 7.80 ± 0.45, LSGAN 7.80 ± 0.45, "
                           "WGAN GP 3.00 ± 0.71.")
    assert "The tests tell apart: NS GAN over WGAN GP (Holm p 0.026); LSGAN over WGAN GP (Holm p 0.026)." in text
    assert ("Not different at this power (smallest Holm p 1.000; their 95% intervals of the mean overlap): NS GAN vs "
            "LSGAN — these seeds detect a difference of 0.937; the means are equal.") in text
    assert "could reach" not in text  # 5 vs 5 can reach p < 0.05 after Holm over 3 pairs
    assert "expected best modes with ≥1% of samples puts them in this order, best first: NS GAN" in text


def test_too_few_seeds_is_said_with_the_seeds_that_would_do():
    """2 vs 2 seeds can never reach p < 0.05: the finding says so, and that 5 per model would (3 pairs)."""
    [found] = _findings(_study({"NS GAN": [0.1, 0.12], "LSGAN": [0.1, 0.2], "WGAN GP": [0.6, 0.7]}))
    assert found.metric == "mode_tv"
    assert ("With 2 vs 2 seeds, no pair could reach Holm p < 0.05 whatever the runs showed: too few seeds to "
            "conclude (5 seeds per model would be needed).") in found.text
    assert "tell apart" not in found.text


def test_lower_is_better_metric_ranks_ascending_and_names_the_winner():
    """FID on digits: the lower model wins, and the budget order puts it first."""
    [found] = _findings(_study({"NS GAN": [60, 62, 61, 59, 60], "WGAN GP": [300, 280, 310, 290, 305]},
                               dataset="digits", metric="fid"))
    assert "ranked by FID (lower is better)" in found.text
    assert "NS GAN 60.4 ± 1.1, WGAN GP 297.0 ± 12.0" in found.text
    assert "The tests tell apart: NS GAN over WGAN GP (Holm p 0.012)." in found.text  # ties: not exact 0.008
    assert "best first: NS GAN (" in found.text


def test_an_unresolved_gap_says_what_these_seeds_detect_and_what_would_resolve_it():
    [found] = _findings(_study({"NS GAN": [0.30, 0.32, 0.35, 0.29, 0.4], "LSGAN": [0.36, 0.41, 0.33, 0.45, 0.38]}))
    assert ("Not different at this power (smallest Holm p 0.095; their 95% intervals of the mean overlap): NS GAN vs "
            "LSGAN — these seeds detect a difference of 0.082; the observed 0.054 would need ≈ 12 seeds per model."
            ) in found.text


def test_failures_are_counted():
    records = _study({"NS GAN": [0.1, 0.1, 0.1, 0.1, 0.1], "WGAN GP": [0.5, 0.5, 0.5, 0.5, 0.5]})
    records.append(make_record(dataset="ring", model="WGAN GP", phase="wide", setting=9, status="diverged",
                               diverged_at=50))
    [found] = _findings(records)
    assert "Runs that diverged or failed: WGAN GP 1 of 9." in found.text


def test_report_without_fid_fills_every_table_and_opens_with_findings(tmp_path):
    """Polygons compute no FID: their summary, pairwise table and findings are on polygon F1, without a
    missing value in the headline columns."""
    records = _study({"NS GAN": [0.6, 0.62, 0.58, 0.61, 0.6], "WGAN": [0.2, 0.25, 0.22, 0.21, 0.24]},
                     dataset="polygons", metric="polygon_f1")
    records += _study({"NS GAN": [0.1, 0.12, 0.1, 0.11, 0.2], "WGAN": [0.6, 0.5, 0.7, 0.6, 0.5]})
    build(frame.records_to_frame(records), tmp_path, title="no fid", **FAST)
    table = pd.read_csv(tmp_path / "tables" / "summary.csv")
    polygons, ring = table[table["dataset"] == "polygons"], table[table["dataset"] == "ring"]
    assert polygons["polygon_f1_best"].notna().all() and polygons["polygon_f1_mean"].notna().all()
    assert ring["mode_tv_best"].notna().all() and ring["mode_tv_mean"].notna().all()
    summary_md = (tmp_path / "tables" / "summary.md").read_text()
    rows = [line for line in summary_md.splitlines() if line.startswith("| polygons") or line.startswith("| ring")]
    assert len(rows) == 4 and all("| – |" not in row for row in rows), summary_md
    assert "polygon F1 ↑" in summary_md and "mode TV distance ↓" in summary_md
    pairs = pd.read_csv(tmp_path / "tables" / "pairwise.csv")
    assert dict(zip(pairs["dataset"], pairs["metric"])) == {"polygons": "polygon_f1", "ring": "mode_tv"}
    assert pairs["p_value"].notna().all()
    md = (tmp_path / "tables" / "findings.md").read_text()
    assert md.startswith("**polygons.** On polygons, ranked by polygon F1") and "**ring.** On ring" in md
    page = (tmp_path / "index.html").read_text()
    assert page.index('id="findings"') < page.index('id="summary"')
    assert "Ranked by: polygons: polygon F1 ↑; ring: mode TV distance ↓" in page


def test_report_metric_override_says_where_it_could_not_apply(tmp_path):
    records = _study({"NS GAN": [0.6, 0.62, 0.58], "WGAN": [0.2, 0.25, 0.22]}, dataset="polygons",
                     metric="polygon_f1")
    records += _study({"NS GAN": [0.1, 0.1, 0.2], "WGAN": [0.6, 0.5, 0.6]})
    for r in records:  # the ring also computes FID
        if r["spec"]["dataset"] == "ring":
            r["directions"]["fid"] = False
            for point in r["history"]:
                point["metrics"]["fid"] = 10.0 * point["metrics"]["mode_tv"]
    build(frame.records_to_frame(records), tmp_path, title="override", metric="fid", **FAST)
    page = (tmp_path / "index.html").read_text()
    assert "FID is not computed for polygons (ranked by polygon F1 instead)." in page
    assert "Ranked by: polygons: polygon F1 ↑; ring: FID ↓" in page


def test_findings_markdown_of_nothing():
    assert findings_markdown([]) == "No dataset has a score to report on.\n"

