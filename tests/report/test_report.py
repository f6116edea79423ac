"""ganbench.report: tables (Markdown/LaTeX/HTML), figures and the self-contained index.html."""
from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from ganbench.results import frame, study
from ganbench.errors import GanbenchError
from ganbench.report import build
from ganbench.report.formats import MISSING, Cell, Table, latex_escape, to_html, to_latex, to_markdown
from ganbench.report.views import summary_view
from helpers.records import make_record, scored_record, synthetic_study

FAST = {"n_boot": 200, "formats": ("png",)}


class _Page(HTMLParser):
    """Collects img tags and links of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str]] = []
        self.links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
        if tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])

    def handle_data(self, data):
        self.text.append(data)


def parse(index: Path) -> _Page:
    page = _Page()
    page.feed(index.read_text(encoding="utf-8"))
    return page


def with_files(records: list[dict], root: Path, *, points: bool = True) -> list[dict]:
    """Give each record a run dir with its one samples file, as the store would: samples.npy (points of
    vector data) or, with ``points=False``, samples.png (an image grid)."""
    rng = np.random.default_rng(0)
    for rec in records:
        run_dir = root / rec["suite"] / rec["run_id"]
        run_dir.mkdir(parents=True, exist_ok=True)
        rec["_dir"] = str(run_dir)
        if points:
            np.save(run_dir / "samples.npy", rng.normal(size=(200, 2)))
            rec["samples"] = "samples.npy"
        else:
            mpimg.imsave(run_dir / "samples.png", rng.random((16, 16)), cmap="gray")
            rec["samples"] = "samples.png"
    return records


def assert_page_references_every_figure(out: Path) -> _Page:
    page = parse(out / "index.html")
    pngs = {p.relative_to(out).as_posix() for p in (out / "figures").glob("*.png")}
    referenced = {img["data-file"] for img in page.images}
    assert pngs and referenced == pngs
    for img in page.images:
        assert img["src"].startswith("data:image/png;base64,")
        assert base64.b64decode(img["src"].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    for pdf in (out / "figures").glob("*.pdf"):
        assert pdf.relative_to(out).as_posix() in page.links
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "<script" not in html and "<link" not in html and 'src="http' not in html  # offline
    return page


def balanced_braces(tex: str) -> bool:
    depth = 0
    for char in re.sub(r"\\[{}]", "", tex):
        depth += char == "{"
        depth -= char == "}"
        if depth < 0:
            return False
    return depth == 0


# --------------------------------------------------------------------------------------------
# the full report on a partial Lucic-shaped grid


@pytest.fixture(scope="module")
def full_report(tmp_path_factory):
    root = tmp_path_factory.mktemp("full")
    records = synthetic_study(datasets=("ring",), models=("NS GAN", "WGAN", "LSGAN"), n_settings=8,
                              n_seeds=5, running_share=0.15, seed=1)
    df = frame.records_to_frame(with_files(records, root / "results"))
    df.attrs["unreadable"] = [("results/default/broken", "JSONDecodeError: line 1")]
    index = build(df, root / "report", title="Full & <test>", n_boot=300)
    return root / "report", index, df


def test_full_report_writes_tables_figures_and_page(full_report):
    out, index, df = full_report
    assert index == out / "index.html"
    stems = {p.stem for p in (out / "figures").glob("*.png")}
    assert {"budget_settings", "budget_hours", "distribution_seeds", "distribution_settings",
            "training_curves", "precision_recall", "mode_coverage", "pairwise_pvalues",
            "samples2d_ring"} <= stems
    assert stems == {p.stem for p in (out / "figures").glob("*.pdf")}
    for name in ("summary.csv", "summary.md", "summary.tex", "run_scores.csv", "budget_settings.csv",
                 "budget_hours.csv", "pairwise.csv", "pairwise.md", "pairwise.tex"):
        assert (out / "tables" / name).is_file(), name
    page = assert_page_references_every_figure(out)
    text = " ".join(page.text)
    assert "Full & <test>" in text and "default" in text and "ganbench" in text
    assert "results/default/broken" in text and "JSONDecodeError" in text
    incomplete = int((~frame.run_table(df)["complete"]).sum())
    assert incomplete > 0 and f"{incomplete} of {df['run_id'].nunique()} runs" in text
    summary_csv = pd.read_csv(out / "tables" / "summary.csv")
    assert list(summary_csv["model"]) == ["NS GAN", "LSGAN", "WGAN"]  # the study's order
    assert len(pd.read_csv(out / "tables" / "run_scores.csv")) == df["run_id"].nunique()


def test_markdown_table_shape(full_report):
    out, _, _ = full_report
    lines = (out / "tables" / "summary.md").read_text().strip().splitlines()
    summary_csv = pd.read_csv(out / "tables" / "summary.csv")
    assert len(lines) == len(summary_csv) + 2
    widths = {len(re.findall(r"(?<!\\)\|", line)) for line in lines}
    assert len(widths) == 1
    assert re.fullmatch(r"\|(:?-+:?\|)+", lines[1])


def test_latex_summary_is_sound_and_bolds_the_best(full_report):
    out, _, _ = full_report
    tex = (out / "tables" / "summary.tex").read_text()
    assert balanced_braces(tex)
    for rule in ("\\toprule", "\\midrule", "\\bottomrule", "\\begin{tabular}", "\\end{tabular}"):
        assert rule in tex
    table = pd.read_csv(out / "tables" / "summary.csv")
    best_model = table.loc[table["fid_best"].idxmin(), "model"]
    rows = [line for line in tex.splitlines() if line.endswith("\\\\") and "&" in line][1:]
    assert len(rows) == len(table)
    for line in rows:
        cells = [c.strip() for c in line[:-2].split(" & ")]
        best_cell = cells[6]  # Dataset, Model, Runs, Diverged, Failed, Incomplete, Best
        assert best_cell.startswith("\\textbf{") == (cells[1] == best_model), line
    best_mean_model = table.loc[table["fid_mean"].idxmin(), "model"]
    bold_pm = [line for line in rows if "\\mathbf{" in line and "\\pm" in line]
    assert len(bold_pm) == 1 and f"& {best_mean_model} &" in bold_pm[0]
    assert re.search(r"\$\d+\.\d \\pm \d+\.\d\$", tex)


# --------------------------------------------------------------------------------------------
# formatters on hostile names


def test_latex_escapes_every_special_character():
    nasty = "A_B & C #1 50% $x$ {y} ~z ^w \\v"
    escaped = latex_escape(nasty)
    assert escaped == (r"A\_B \& C \#1 50\% \$x\$ \{y\} \textasciitilde{}z \textasciicircum{}w "
                       r"\textbackslash{}v")
    table = Table(["Model", "Score"], [[Cell(nasty), Cell("1.0", bold=True)],
                                       [Cell("plain"), Cell("2.0 ± 0.1", math="2.0 \\pm 0.1")]],
                  ["l", "r"], caption="50% of runs_x")
    tex = to_latex(table)
    assert balanced_braces(tex)
    body = tex.split("\\midrule", 1)[1]
    unescaped = re.findall(r"(?<!\\)[&%#_$]", re.sub(r"\$2\.0 \\pm 0\.1\$", "", body.replace(" & ", " ")))
    assert unescaped == []
    assert "\\textbf{1.0}" in tex and "$2.0 \\pm 0.1$" in tex and "50\\% of runs\\_x" in tex


def test_markdown_and_html_escape_and_bold():
    table = Table(["a|b", "n"], [[Cell("x|y"), Cell("3", bold=True)], [Cell("<z>"), Cell("4")]],
                  ["l", "r"])
    md = to_markdown(table).splitlines()
    assert md[0] == "| a\\|b | n |" and md[1] == "|:---|---:|" and md[2] == "| x\\|y | **3** |"
    html = to_html(table)
    assert "&lt;z&gt;" in html and "<strong>3</strong>" in html and "<z>" not in html
    with pytest.raises(ValueError):
        Table(["a"], [[Cell("1"), Cell("2")]], ["l"])


def test_summary_view_bolds_per_dataset_and_higher_is_better():
    recs = []
    for dataset, values in (("ring", {"A": 2.0, "B": 5.0}), ("grid", {"A": 9.0, "B": 1.0})):
        for model, value in values.items():
            recs.append(make_record(dataset=dataset, model=model, history=[(10, {"is_mean": value})]))
    table = study.summary(frame.records_to_frame(recs), metrics=["is_mean"])
    view = summary_view(table, "is_mean", higher=True)
    bold = {(row[0].text, row[1].text): row[6].bold for row in view.rows}
    assert bold == {("grid", "A"): True, ("grid", "B"): False, ("ring", "A"): False, ("ring", "B"): True}
    assert view.group_starts == {2}


# --------------------------------------------------------------------------------------------
# small and odd inputs


def test_single_run_report(tmp_path):
    df = frame.records_to_frame(with_files([scored_record(12.0)], tmp_path / "results", points=False))
    out = tmp_path / "report"
    build(df, out, title="one run", **FAST)
    page = assert_page_references_every_figure(out)
    assert {p.stem for p in (out / "figures").glob("*.png")} >= {"budget_settings", "samples_ring"}
    assert not (out / "tables" / "pairwise.csv").exists()
    assert not (out / "figures" / "distribution_seeds.png").exists()
    assert "no setting was run with several seeds" in " ".join(page.text)


def test_report_of_failed_runs_only(tmp_path):
    df = frame.records_to_frame([make_record(status="failed", error="boom"),
                             make_record(setting=1, status="running")])
    build(df, tmp_path, title="nothing yet", **FAST)
    summary_csv = pd.read_csv(tmp_path / "tables" / "summary.csv")
    assert (summary_csv["failed"].iloc[0], summary_csv["incomplete"].iloc[0]) == (1, 1)
    assert list((tmp_path / "figures").glob("*.png")) == []
    assert "1 of 2 runs are incomplete" in " ".join(parse(tmp_path / "index.html").text)


def test_several_suites_and_filters(tmp_path):
    recs = synthetic_study(datasets=("ring", "grid"), models=("NS GAN", "WGAN"), n_settings=4,
                           n_seeds=3, suite="a", metrics=("fid",))
    recs += synthetic_study(datasets=("ring",), models=("NS GAN", "WGAN"), n_settings=4, n_seeds=3,
                            suite="b", seed=5, metrics=("fid",))
    df = frame.records_to_frame(recs)
    out = tmp_path / "both"
    build(df, out, title="two suites", **FAST)
    table = pd.read_csv(out / "tables" / "summary.csv")
    assert set(zip(table["suite"], table["dataset"])) == {("a", "ring"), ("a", "grid"), ("b", "ring")}
    assert (out / "tables" / "summary.md").read_text().startswith("| Suite | Dataset |")
    assert set(pd.read_csv(out / "tables" / "pairwise.csv")["suite"]) == {"a", "b"}
    text = " ".join(parse(out / "index.html").text)  # 3 vs 3 seeds, one pair: p can never go below 0.1
    assert "Too few seeds to conclude" in text and "a / ring: no pairwise test can reach p < 0.05" in text
    assert "4 seeds per model would be needed" in text
    assert (pd.read_csv(out / "tables" / "pairwise.csv")["p_floor"] >= 0.1 - 1e-12).all()
    assert set(pd.read_csv(out / "tables" / "budget_settings.csv")["suite"]) == {"a", "b"}
    assert_page_references_every_figure(out)

    only = tmp_path / "ring-ns"
    build(df, only, title="filtered", datasets=["ring"], models=["NS GAN"], suites=["a"], **FAST)
    table = pd.read_csv(only / "tables" / "summary.csv")
    assert list(zip(table["dataset"], table["model"])) == [("ring", "NS GAN")]
    with pytest.raises(GanbenchError, match="present: NS GAN, WGAN"):
        build(df, tmp_path / "x", title="bad", models=["BEGAN"], **FAST)
    with pytest.raises(GanbenchError, match="metric 'is_mean'"):
        build(df, tmp_path / "y", title="bad", metric="is_mean", **FAST)


def test_reference_marker_and_columns(tmp_path):
    recs = [scored_record(v, dataset="mnist", model="NS-GAN", phase="seeds", seed=s)
            for s, v in enumerate([6.0, 7.0, 8.0])]
    recs += [scored_record(v, dataset="mnist", model="WGAN", phase="seeds", seed=s)
             for s, v in enumerate([9.0, 10.0])]
    out = tmp_path / "ref"
    build(frame.records_to_frame(recs), out, title="mnist", reference="lucic2018", **FAST)
    table = pd.read_csv(out / "tables" / "summary.csv").set_index("model")
    assert table.loc["NS-GAN", "published_fid_mean"] == 6.8 and table.loc["WGAN", "published_fid_std"] == 0.4
    md = (out / "tables" / "summary.md").read_text()
    assert "Published" in md and "6.8 ± 0.5" in md
    assert "$6.8 \\pm 0.5$" in (out / "tables" / "summary.tex").read_text()
    text = " ".join(parse(out / "index.html").text)
    assert "Black diamonds: published mean ± std" in text and "Lucic et al. 2018 Table 2" in text


def test_rebuild_removes_stale_figures(tmp_path):
    recs = synthetic_study(datasets=("ring",), models=("NS GAN", "WGAN"), n_settings=4, n_seeds=3,
                           metrics=("fid",))
    df = frame.records_to_frame(recs)
    build(df, tmp_path, title="first", **FAST)
    assert (tmp_path / "figures" / "pairwise_pvalues.png").exists()
    build(df, tmp_path, title="second", models=["NS GAN"], **FAST)
    assert not (tmp_path / "figures" / "pairwise_pvalues.png").exists()
    assert_page_references_every_figure(tmp_path)


def test_higher_is_better_metric_and_polygon_precision_recall(tmp_path):
    recs = []
    for model, base in (("NS GAN", 0.8), ("WGAN", 0.5)):
        for setting in range(3):
            values = {"is_mean": 5.0 + base + setting, "mystery": 0.1,
                      "polygon_precision": base, "polygon_recall": base - 0.1 * setting}
            recs.append(make_record(dataset="polygons", model=model, setting=setting,
                                    history=[(100, values), (200, values)]))
    df = frame.records_to_frame(recs)
    build(df, tmp_path, title="polygons", metric="is_mean", **FAST)
    assert (tmp_path / "figures" / "polygon_precision_recall.png").exists()
    assert_page_references_every_figure(tmp_path)
    table = pd.read_csv(tmp_path / "tables" / "summary.csv").set_index("model")
    assert table.loc["NS GAN", "is_mean_best"] == pytest.approx(7.8)  # the max: higher is better
    assert "higher is better" in (tmp_path / "tables" / "summary.md").read_text() or \
        "higher is better" in (tmp_path / "tables" / "summary.tex").read_text()
    with pytest.raises(GanbenchError, match="no recorded direction"):
        build(df, tmp_path / "std", title="x", metric="mystery", **FAST)


def test_end_to_end_through_the_store(tmp_path):
    """Records written by the lead's Store, read back by load_results, reported."""
    torch = pytest.importorskip("torch")
    from ganbench.results.record import RunRecord
    from ganbench.results.store import Store
    from ganbench.specs import RunSpec

    store = Store(tmp_path / "results")
    for model in ("NS GAN", "WGAN"):
        for setting, best in enumerate((20.0, 30.0)):
            spec_dict = dict(make_record(model=model, setting=setting)["spec"], suite="mix", phase="wide")
            spec = RunSpec.from_dict(spec_dict)
            store.begin(spec)
            store.write_history(spec, [{"step": 500, "seconds": 5.0, "metrics": {"fid": best + 5}},
                                       {"step": 1000, "seconds": 10.0, "metrics": {"fid": best}}])
            name = store.write_samples(spec, torch.randn(100, 2))
            store.write_record(RunRecord(run_id=spec.run_id, suite=spec.suite, phase=spec.phase,
                                         spec=spec.to_dict(), status="done", directions={"fid": False},
                                         compute={"steps": 1000, "seconds": 10.0}, samples=name))
    broken = tmp_path / "results" / "mix" / "broken"
    broken.mkdir(parents=True)
    (broken / "spec.json").write_text("{not json")

    df = frame.load_results(tmp_path / "results")
    assert df["run_id"].nunique() == 4 and len(df.attrs["unreadable"]) == 1
    out = tmp_path / "report"
    build(df, out, title="store", **FAST)
    assert (out / "figures" / "samples2d_ring.png").exists()
    page = assert_page_references_every_figure(out)
    assert "broken" in " ".join(page.text)
    table = pd.read_csv(out / "tables" / "summary.csv")
    assert list(table["fid_best"]) == [20.0, 20.0] and list(table["runs"]) == [2, 2]


def test_report_says_whether_runs_follow_the_studys_protocol():
    """A Lucic-suite run with nothing changed is the study; one with 5,000 samples is not, and says why;
    embedded datasets are never the study."""
    from pathlib import Path

    from ganbench.report.builder import protocol_note
    from ganbench.expand import expand
    from ganbench.suite import load
    from ganbench.results.frame import records_to_frame, run_table

    from helpers.records import make_record

    spec = expand(load(Path(__file__).resolve().parents[2] / "suites" / "lucic.yaml")).runs[0].to_dict()
    faithful = {**make_record(run_id="a" * 12), "spec": spec}
    changed = {**make_record(run_id="b" * 12), "spec": {**spec, "evaluation": {**spec["evaluation"], "n_gen": 5000}}}
    verdict, items = protocol_note(run_table(records_to_frame([faithful])))
    assert verdict.startswith("Every run follows the protocol") and items == []
    verdict, items = protocol_note(run_table(records_to_frame([faithful, changed])))
    assert verdict.startswith("1 of 2 runs depart") and items == ["generated samples 5000 (study: 10000) — 1 of 2 runs"]
    verdict, items = protocol_note(run_table(records_to_frame([make_record()])))
    assert verdict.startswith("No run follows") and "dataset 'ring' is not one of the study's" in items[0]


def test_wide_panels_wrap_into_rows_within_the_page_width():
    """8 models' box plots (7.9 in per panel) go one per row rather than three in a 25-inch strip; 3 models'
    (4.3 in) stay side by side."""
    from ganbench.report.style import MAX_WIDTH, panel_grid

    fig, axes = panel_grid(3, width=7.9)
    assert len(axes) == 3 and fig.get_figwidth() <= MAX_WIDTH
    assert len({ax.get_subplotspec().rowspan.start for ax in axes}) == 3
    fig, axes = panel_grid(3, width=4.3)
    assert len({ax.get_subplotspec().rowspan.start for ax in axes}) == 1 and fig.get_figwidth() <= MAX_WIDTH


def test_fid_against_n_is_drawn_from_fd_inf_and_its_slope(tmp_path):
    """Runs that computed FD∞: one curve FD∞ + slope / N per model, through the FID measured at its n."""
    recs = []
    for model, (inf, slope) in (("NS GAN", (10.0, 20_000.0)), ("WGAN", (14.0, 2_000.0))):
        for seed in range(3):
            values = {"fid": inf + slope / 2500 + seed, "fd_inf": inf + seed, "fd_inf_slope": slope}
            recs.append(make_record(dataset="digits", model=model, phase="seeds", seed=seed,
                                    history=[(100, values)]))
    build(frame.records_to_frame(recs), tmp_path, title="fd", **FAST)
    assert (tmp_path / "figures" / "fid_vs_n.png").is_file()
    assert_page_references_every_figure(tmp_path)
    assert "FID against the number of samples" in (tmp_path / "index.html").read_text()
    without = frame.records_to_frame([make_record(dataset="digits", model="NS GAN", history=[(100, {"fid": 3.0})])])
    build(without, tmp_path / "none", title="no fd", **FAST)
    assert not (tmp_path / "none" / "figures" / "fid_vs_n.png").exists()


def test_best_per_model_follows_each_rows_direction():
    """One panel ranked by FID (lower), one by polygon F1 (higher); unscored runs only when nothing else."""
    from ganbench.report.style import best_per_model

    scores = pd.DataFrame({"panel": ["a", "a", "a", "b", "b", "b"], "model": ["m"] * 6,
                           "run_id": list("123456"), "score": [5.0, 2.0, np.nan, 0.4, 0.9, np.nan],
                           "higher_is_better": [False, False, False, True, True, True]})
    best = best_per_model(scores)
    assert sorted(zip(best["panel"], best["run_id"])) == [("a", "2"), ("b", "5")]
    only_unscored = scores[scores["score"].isna()]
    assert len(best_per_model(only_unscored)) == 2


def test_conditional_metrics_get_their_own_table_with_a_dash_for_models_without_them(tmp_path):
    recs = []
    for seed in range(3):
        recs.append(make_record(dataset="digits", model="NS GAN", seed=seed, phase="seeds",
                                history=[(500, {"fid": 50.0 + seed})]))
        recs.append(make_record(dataset="digits", model="CGAN", seed=seed, phase="seeds", conditioning="cgan",
                                history=[(500, {"fid": 40.0 + seed, "label_consistency": 0.8 + 0.02 * seed,
                                                "intra_fid": 60.0, "intra_fid_worst": 90.0})]))
        recs.append(make_record(dataset="digits", model="InfoGAN", seed=seed, phase="seeds", conditioning="infogan",
                                history=[(500, {"fid": 70.0, "code_accuracy": 0.5, "code_nmi": 0.4})]))
    recs.append(make_record(dataset="ring", model="NS GAN", history=[(500, {"mode_tv": 0.2})]))
    df = frame.records_to_frame(recs)
    assert set(df["conditioning"].astype(str)) == {"none", "cgan", "infogan"}
    index = build(df, tmp_path, title="conditional", **FAST)
    table = (tmp_path / "tables" / "conditioning.md").read_text()
    lines = [line for line in table.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == ["Dataset", "Model", "label consistency ↑", "intra-FID ↓", "worst-class FID ↓",
                      "code accuracy ↑", "code NMI ↑"]
    rows = {c[1]: c for c in ([x.strip() for x in line.strip("|").split("|")] for line in lines[2:])}
    assert set(rows) == {"NS GAN", "CGAN", "InfoGAN"}  # the ring computed none of them: not in this table
    assert rows["NS GAN"][2:] == [MISSING] * 5
    assert rows["CGAN"][2] == "**0.820 ± 0.020**" and rows["CGAN"][5:] == [MISSING, MISSING]
    assert rows["InfoGAN"][5:] == ["**0.500 ± 0.000**", "**0.400 ± 0.000**"]
    assert "<h3>Conditioning</h3>" in index.read_text()


def test_no_conditioning_table_without_conditional_metrics(tmp_path):
    build(frame.records_to_frame([make_record(history=[(500, {"fid": 3.0})])]), tmp_path, title="plain", **FAST)
    assert not (tmp_path / "tables" / "conditioning.md").exists()


def test_the_protocol_card_is_printed_once_per_dataset_and_flags_runs_scored_differently(tmp_path):
    """Every record's protocol becomes one card line (extractor, layer, preprocessing, counts, dtype, versions);
    a dataset whose runs were scored under two protocols is flagged on the page and in tables/protocol.md."""
    card = {"extractor": "raw", "identity": "raw", "pool_layer": "input", "real_split": "test", "n_real": 2500,
            "n_gen": 2500, "preprocessing": "none", "feature_dtype": "float64",
            "versions": {"ganbench": "9.9", "torch": "2.14.1"}}
    same = [scored_record(10.0 + i, seed=i) for i in range(3)]
    for r in same:
        r["protocol"] = dict(card)
    other = scored_record(11.0, seed=9, dataset="grid")
    other["protocol"] = {**card, "n_gen": 500}
    grid = scored_record(12.0, seed=8, dataset="grid")
    grid["protocol"] = dict(card)
    df = frame.records_to_frame(with_files(same + [other, grid], tmp_path / "results", points=False))
    line = ("raw (input features) · preprocessing: none · 2500 generated vs 2500 real (test) · features float64 · "
            "ganbench 9.9, torch 2.14.1")
    assert set(frame.run_table(df).query("dataset == 'ring'")["protocol_card"].astype(str)) == {line}
    index = build(df, tmp_path / "report", **FAST)
    text = (tmp_path / "report" / "tables" / "protocol.md").read_text()
    assert f"- **ring**: {line}" in text
    assert "- **grid**: scored under 2 protocols — numbers across them do not compare:" in text
    assert "500 generated vs 2500 real (test)" in text
    page = index.read_text()
    assert "grid: runs scored under different protocols" in page and 'id="protocol-card"' in page
