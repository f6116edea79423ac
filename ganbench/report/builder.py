"""``build``: the tidy results frame → ``tables/``, ``figures/`` and a self-contained ``index.html``.

The only function here that touches the disk; the numbers come from :mod:`ganbench.results.study`,
the pictures from :mod:`ganbench.report.figures` and :mod:`ganbench.report.samples`.
"""
from __future__ import annotations

import datetime as _dt
import html
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from ganbench.errors import GanbenchError
from ganbench.report import figures as F
from ganbench.report import samples as S
from ganbench.report.findings import Finding, findings, findings_markdown
from ganbench.report.formats import to_html, to_latex, to_markdown
from ganbench.report.html import Section, render_page
from ganbench.report.style import FigureFile, add_panel, make_style
from ganbench.report.views import (headline_label, mean_or_best, metric_label, metrics_view, pairwise_view,
                                   power_notes, seed_panel_view, summary_view)
from ganbench.results.frame import directions, run_table
from ganbench.results.headline import frame_headlines
from ganbench.results.names import metric_sort_key, model_order
from ganbench.results.reference import attach_reference, reference_table
from ganbench.results.study import (annotate_pools, budget_curve, calibration_mask, headline_scores, models_only,
                                    pairwise_tests, seed_panel, summary, values_at_score)

__all__ = ["build"]

# Files this module writes; stale ones from an earlier build are removed so the page and the
# folders always describe the same build.
_OWNED = {"figures": (".png", ".pdf"), "tables": (".csv", ".md", ".tex")}


def _filter(df: pd.DataFrame, column: str, wanted: Iterable[str] | None) -> pd.DataFrame:
    """Rows whose ``column`` is in ``wanted`` (None: all); unknown names are an error."""
    if not wanted:
        return df
    wanted = [str(w) for w in wanted]
    present = sorted(df[column].dropna().astype(str).unique())
    unknown = [w for w in wanted if w not in present]
    if unknown:
        raise GanbenchError(f"no runs with {column} {', '.join(map(repr, unknown))} "
                            f"(present: {', '.join(present) or 'none'})")
    return df[df[column].astype(str).isin(wanted).to_numpy()]


def _reference(reference: Any) -> pd.DataFrame | None:
    if reference is None or reference is False:
        return None
    if isinstance(reference, pd.DataFrame):
        return reference
    if reference is True or reference == "lucic2018":
        return reference_table()
    return reference_table(Path(reference))


def _clear(out: Path) -> None:
    for folder, suffixes in _OWNED.items():
        directory = out / folder
        if directory.is_dir():
            for path in directory.iterdir():
                if path.is_file() and path.suffix in suffixes:
                    path.unlink()


def _write_table(view, directory: Path, name: str) -> dict[str, Path]:
    paths = {"md": directory / f"{name}.md", "tex": directory / f"{name}.tex"}
    paths["md"].write_text(to_markdown(view), encoding="utf-8")
    paths["tex"].write_text(to_latex(view), encoding="utf-8")
    return paths


def _links(paths: Sequence[Path], root: Path) -> str:
    items = " · ".join(f'<a href="{html.escape(p.relative_to(root).as_posix())}">'
                       f"{html.escape(p.name)}</a>" for p in paths)
    return f'<p class="meta">Files: {items}</p>'


def _published(table: pd.DataFrame, multi_suite: bool) -> dict[tuple[str, str], tuple[float, float, str]]:
    if "published_fid_mean" not in table.columns:
        return {}
    table = add_panel(table, multi_suite)
    return {(str(r["panel"]), str(r["model"])): (float(r["published_fid_mean"]),
                                                  float(r["published_fid_std"]),
                                                  str(r["published_source"]))
            for r in table.to_dict("records") if pd.notna(r["published_fid_mean"])}


def build(df: pd.DataFrame, out_dir: str | Path, *, title: str = "ganbench report",
          metric: str | None = None, reference: str | Path | pd.DataFrame | bool | None = None,
          datasets: Sequence[str] | None = None, models: Sequence[str] | None = None,
          suites: Sequence[str] | None = None,
          unreadable: Sequence[tuple[Any, str]] | None = None, n_boot: int = 1000, seed: int = 0,
          budget_k: int | None = None, formats: Sequence[str] = ("png", "pdf")) -> Path:
    """Write the report for ``df`` (from :func:`ganbench.results.load_results`) under ``out_dir``.

    Each dataset's runs are ranked by its headline metric (:mod:`ganbench.results.headline`): it drives
    the budget curves, distributions, tests and the headline table (every metric with a known direction
    still goes into ``tables/summary.csv``). ``metric`` overrides the headline of every dataset that
    computed it. ``reference`` adds published numbers: a CSV path, a frame, or ``"lucic2018"``/``True``
    for the shipped table. ``datasets``/``models``/``suites`` filter the runs. ``unreadable`` defaults
    to ``df.attrs["unreadable"]`` and is listed on the page. Returns the path of ``index.html``.
    """
    out = Path(out_dir)
    unreadable = list(unreadable if unreadable is not None else df.attrs.get("unreadable", []))
    frame = _filter(_filter(_filter(df, "suite", suites), "dataset", datasets), "model", models)
    if frame.empty:
        raise GanbenchError("no runs to report (the results are empty or the filters match nothing)")
    present = sorted(frame["metric"].dropna().astype(str).unique(), key=metric_sort_key)
    if metric is not None and present and metric not in present:
        raise GanbenchError(f"metric '{metric}' is in none of these runs (present: {', '.join(present)})")
    try:
        known = directions(frame)
    except ValueError as err:
        raise GanbenchError(str(err)) from None
    if metric is not None and present and metric not in known:
        raise GanbenchError(f"metric '{metric}' has no recorded direction in these runs, so it cannot rank them")
    headlines = frame_headlines(frame, override=metric)
    multi = frame["suite"].nunique() > 1
    ref = _reference(reference)

    tables_dir, figures_dir = out / "tables", out / "figures"
    tables_dir.mkdir(parents=True, exist_ok=True)
    figures_dir.mkdir(parents=True, exist_ok=True)
    _clear(out)

    # ---- numbers
    runs = add_panel(run_table(frame), multi)
    # calibration rows (real data scored as a model) sit in the tables beside the models, and in no
    # ranking, test, budget curve or figure of the models
    scores = annotate_pools(add_panel(headline_scores(models_only(frame), headlines), multi))
    ranked = list(dict.fromkeys(headlines.values()))
    metrics = ranked + [m for m in present if m not in ranked and m in known]
    table = summary(frame, metrics=metrics, n_boot=n_boot, seed=seed)
    if ref is not None:
        table = attach_reference(table, ref)
    curves_k = add_panel(budget_curve(scores, n_boot=n_boot, seed=seed, budget="settings"), multi) \
        if scores["score"].notna().any() else pd.DataFrame()
    curves_h = add_panel(budget_curve(scores, n_boot=n_boot, seed=seed, budget="hours"), multi) \
        if scores["score"].notna().any() else pd.DataFrame()
    pairs = add_panel(pairwise_tests(scores, k=budget_k, n_boot=n_boot, seed=seed), multi) \
        if scores["model"].nunique() > 1 else pd.DataFrame()
    panel = add_panel(seed_panel(scores, n_boot=n_boot, seed=seed), multi)

    # ---- tables
    written: list[Path] = []
    table.to_csv(tables_dir / "summary.csv", index=False)
    written.append(tables_dir / "summary.csv")
    scores.drop(columns=["panel"]).to_csv(tables_dir / "run_scores.csv", index=False)
    written.append(tables_dir / "run_scores.csv")
    ups = {dataset: known[m] for dataset, m in headlines.items()}
    summary_tbl = summary_view(table, headlines, ups, with_suite=multi)
    written += _write_table(summary_tbl, tables_dir, "summary").values()
    conditioning_tbl = _conditioning_table(models_only(table), known, multi)
    if conditioning_tbl is not None:
        written += _write_table(conditioning_tbl, tables_dir, "conditioning").values()
    calibration_tbl = _calibration_table(table, headlines, known, multi)
    if calibration_tbl is not None:
        written += _write_table(calibration_tbl, tables_dir, "calibration").values()
    translation_tbl = _translation_table(table, known, multi)
    if translation_tbl is not None:
        written += _write_table(translation_tbl, tables_dir, "translation").values()
    for name, curve in (("budget_settings", curves_k), ("budget_hours", curves_h)):
        if not curve.empty:
            curve.drop(columns=["panel"]).to_csv(tables_dir / f"{name}.csv", index=False)
            written.append(tables_dir / f"{name}.csv")
    pair_tbl = None
    if not pairs.empty:
        pairs.drop(columns=["panel"]).to_csv(tables_dir / "pairwise.csv", index=False)
        written.append(tables_dir / "pairwise.csv")
        pair_tbl = pairwise_view(pairs, with_suite=multi)
        pair_paths = _write_table(pair_tbl, tables_dir, "pairwise")
        written += pair_paths.values()

    panel_tbl = None
    if not panel.empty:
        panel.drop(columns=["panel"]).to_csv(tables_dir / "seed_panel.csv", index=False)
        written.append(tables_dir / "seed_panel.csv")
        panel_tbl = seed_panel_view(panel, with_suite=multi)
        written += _write_table(panel_tbl, tables_dir, "seed_panel").values()

    cards = protocol_cards(models_only(runs))  # a calibration row scores one draw of fewer metrics, by design
    (tables_dir / "protocol.md").write_text(protocol_markdown(cards), encoding="utf-8")
    written.append(tables_dir / "protocol.md")

    found = findings(add_panel(table, multi), pairs, headlines, ups, seed_panels=panel,
                     floor_sources=_floor_sources(runs))
    (tables_dir / "findings.md").write_text(findings_markdown(found), encoding="utf-8")
    written.append(tables_dir / "findings.md")

    # ---- figures
    panel_metrics = _panel_metrics(runs, headlines)
    figs = _figures(models_only(frame), models_only(runs), scores, models_only(table), curves_k, curves_h, pairs,
                    figures_dir, panel_metrics,
                    {p: known[m] for p, m in panel_metrics.items()}, multi, tuple(formats),
                    _calibration_levels(add_panel(table, multi), panel_metrics))

    # ---- page
    notes = _headline_notes(frame, headlines, metric)
    page = _page(title, frame, runs, headlines, ups, summary_tbl, pair_tbl, figs, written,
                 unreadable, out, multi, _power_note(pairs) if pair_tbl is not None else "", notes, found,
                 conditioning_tbl, cards, calibration_tbl, panel_tbl, translation_tbl)
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def conditioning_keys() -> list[str]:
    """The output keys of the conditioning table's metrics (label consistency, intra-FID, CAS, code
    fidelity: ``catalog.CONDITIONING_METRICS``), in reading order."""
    from ganbench.catalog import CONDITIONING_METRICS, METRICS

    return [key for name in CONDITIONING_METRICS for key in METRICS.meta(name)["outputs"]]


def _conditioning_table(table: pd.DataFrame, known: Mapping[str, bool], multi: bool):
    """The conditional metrics per (dataset, model), for the datasets where any model computed one; None
    when no run did."""
    keys = [k for k in conditioning_keys() if k in known and f"{k}_best" in table.columns]
    keys = [k for k in keys if table[f"{k}_best"].notna().any()]
    if not keys:
        return None
    datasets = {d for d, group in table.groupby("dataset") if group[[f"{k}_best" for k in keys]].notna().any().any()}
    rows = table[table["dataset"].isin(datasets)]
    caption = ("Conditioning: label consistency (the domain classifier agrees with the label G was given), "
               "intra-class FID (mean and worst class), CAS (a classifier trained on the samples, tested on real "
               "data; CAS real: trained on as many real samples) and InfoGAN's code accuracy and NMI against the "
               "classes.")
    return metrics_view(rows, keys, known, caption=caption, label="conditioning", with_suite=multi)


#: the translation table's columns (ganbench/metrics/translation.py and the target domains' FID), each the mean
#: of the two directions; summary.csv holds every direction's own (``_ab``, ``_ba``)
TRANSLATION_KEYS = ("fid", "kid_mean", "content", "l1", "psnr", "ssim", "cycle")


def _translation_table(table: pd.DataFrame, known: Mapping[str, bool], multi: bool):
    """The translation metrics per (dataset, model) of the domain pairs, the identity row beside the methods;
    None when no dataset is a domain pair."""
    from ganbench.catalog import dataset_task

    pairs = table["dataset"].astype(str).map(dataset_task).eq("translation").to_numpy()
    if not pairs.any():
        return None
    rows = table[pairs]
    keys = [k for k in TRANSLATION_KEYS if k in known and f"{k}_best" in rows.columns and rows[f"{k}_best"].notna().any()]
    if not keys:
        return None
    caption = ("Translation, each number the mean of A → B and B → A: FID and KID of the translations against the "
               "target domain's real test samples, content (the target domain's classifier gives the source's "
               "label), L1, PSNR and SSIM to the hidden true counterpart, and the cycle's round-trip L1. The "
               "identity row copies its input: a method that does not beat it has learnt nothing.")
    return metrics_view(rows, keys, known, caption=caption, label="translation", with_suite=multi)


#: what the calibration table shows beside each dataset's headline: the memorisation metrics, which tell a
#: copycat from the floor, and the 1-NN two-sample accuracy
CALIBRATION_KEYS = ("authenticity", "ct", "knn")


def _calibration_table(table: pd.DataFrame, headlines: Mapping[str, str], known: Mapping[str, bool], multi: bool):
    """Models beside the calibration rows of their dataset (real data as a model: the floor, the copycat) on
    the headline and the memorisation metrics; None when no dataset has a calibration row."""
    marked = calibration_mask(table)
    if not marked.any():
        return None
    keys = list(dict.fromkeys(headlines.values())) + [k for k in CALIBRATION_KEYS if k in known]
    keys = [k for k in keys if f"{k}_best" in table.columns and table[f"{k}_best"].notna().any()]
    if not keys:
        return None
    datasets = set(table.loc[marked, "dataset"].astype(str))
    rows = table[table["dataset"].astype(str).isin(datasets).to_numpy()]
    caption = ("Calibration: the models beside real data scored as if it were a model (no training) — "
               "real data (floor): held-out real samples the evaluation uses nowhere else, the best each metric "
               "can reach at this n; copycat: training images returned as samples, a memoriser the "
               "memorisation metrics (authenticity ↑, C_T: ≪ 0 copies) should catch. A model beyond the floor "
               "is suspect.")
    return metrics_view(rows, keys, known, caption=caption, label="calibration", with_suite=multi)


def _floor_sources(runs: pd.DataFrame) -> dict[str, str]:
    """Panel → where its floor row's samples came from (the first run's words; every seed draws alike), where
    the features are the domain classifier's: a network fit on the train split, which a train-split floor has
    been seen by."""
    if "calibration_samples" not in runs.columns or "kind" not in runs.columns:
        return {}
    floors = runs[(runs["kind"].astype(str) == "floor").to_numpy() & runs["calibration_samples"].notna().to_numpy()
                  & (runs["extractor"].astype(str) == "domain").to_numpy()]
    return {str(p): str(s) for p, s in floors.groupby("panel", observed=True)["calibration_samples"].first().items()}


def _calibration_levels(table: pd.DataFrame, metrics: Mapping[str, str]) -> dict[str, dict[str, float]]:
    """Panel → calibration row → its mean (else best) headline score, for the figures' reference lines."""
    out: dict[str, dict[str, float]] = {}
    for r in table[calibration_mask(table)].to_dict("records"):
        metric = metrics.get(str(r["panel"]))
        if metric is None:
            continue
        out.setdefault(str(r["panel"]), {})[str(r["model"])] = mean_or_best(r, metric)
    return out


def _panel_metrics(runs: pd.DataFrame, headlines: Mapping[str, str]) -> dict[str, str]:
    """Panel (a dataset, or suite · dataset) → its dataset's headline metric."""
    pairs = runs[["panel", "dataset"]].astype(str).drop_duplicates()
    return {p: headlines[d] for p, d in zip(pairs["panel"], pairs["dataset"]) if d in headlines}


def _headline_notes(frame: pd.DataFrame, headlines: Mapping[str, str], override: str | None) -> list[str]:
    """What the page must say about the ranking: datasets an asked-for metric could not rank, and datasets
    left out of every ranking because no run of them holds a metric value."""
    notes = []
    if override is not None:
        other = {d: m for d, m in headlines.items() if m != override}
        if other:
            notes.append(f"{metric_label(override)} is not computed for "
                         + ", ".join(f"{d} (ranked by {metric_label(m)} instead)" for d, m in other.items()) + ".")
    unranked = sorted(set(frame["dataset"].dropna().astype(str)) - set(headlines))
    if unranked:
        notes.append(f"No run of {', '.join(unranked)} holds a metric value: "
                     f"{'it is' if len(unranked) == 1 else 'they are'} only counted, not ranked.")
    return notes


def _figures(frame, runs, scores, table, curves_k, curves_h, pairs, directory: Path, metrics: Mapping[str, str],
             higher: Mapping[str, bool], multi: bool, formats: tuple[str, ...],
             calibration: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, Any]:
    """Every figure the data supports, grouped by the page section it belongs to; ``metrics`` and
    ``higher``: each panel's headline metric and its direction; ``calibration``: each panel's calibration
    rows' mean headline (drawn as reference lines)."""
    import seaborn as sns

    points = add_panel(frame, multi)
    style = make_style(runs)
    canvas = F.Canvas(directory, style, metrics, higher, formats)
    out: dict[str, list[FigureFile]] = {k: [] for k in
                                        ("budget", "spread", "tests", "training", "quality", "samples")}
    skipped: list[str] = []

    def add(section: str, fig: FigureFile | None, what: str, why: str) -> None:
        if fig is None:
            skipped.append(f"{what}: {why}")
        else:
            out[section].append(fig)

    with sns.axes_style("whitegrid"):
        add("budget", F.budget_figure(canvas, curves_k, runs) if not curves_k.empty else None,
            "budget curve (settings)", "no run has a score")
        add("budget", F.budget_figure(canvas, curves_h, runs, x="hours") if not curves_h.empty else None,
            "budget curve (compute hours)", "no run has both a score and its compute time")
        add("spread", F.distribution_figure(canvas, scores, runs, which="seeds",
                                            published=_published(table, multi), calibration=calibration),
            "distribution over seeds", "no setting was run with several seeds")
        add("spread", F.distribution_figure(canvas, scores, runs, which="settings"),
            "distribution over settings", "no run has a score")
        add("tests", F.pvalue_heatmap_figure(canvas, pairs) if not pairs.empty else None,
            "pairwise p-values", "fewer than two models with scores")
        add("training", F.training_curves_figure(canvas, points, scores, runs),
            "training curves", "fewer than two evaluation points")
        quality = values_at_score(frame, scores, ["precision", "recall", "modes", "modes_1pct"])
        add("quality", F.precision_recall_figure(canvas, quality, runs),
            "precision–recall", "no precision/recall in these runs")
        if frame["metric"].isin(["polygon_precision", "polygon_recall"]).any():
            polygons = values_at_score(frame, scores, ["polygon_precision", "polygon_recall"])
            add("quality", F.precision_recall_figure(canvas, polygons, runs, prefix="polygon_"),
                "polygon precision–recall", "no run has both polygon precision and recall")
        centres = {p: S.panel_centres(runs, p) for p in style.panels
                   if _has_files(scores, p, "samples_2d")}
        add("quality", F.mode_coverage_figure(canvas, quality, runs,
                                              S.n_modes_by_panel(runs, style.panels, centres)),
            "mode coverage", "no mode metrics (2D mixtures only)")
        if frame["metric"].isin(["fd_inf"]).any():
            extrapolated = values_at_score(frame, scores, ["fd_inf", "fd_inf_slope"])
            add("quality", F.fid_vs_n_figure(canvas, extrapolated, runs),
                "FID against N", "no run has both fd_inf and its slope")
        best_png = S.best_with_file(scores, "samples")
        best_2d = S.best_with_file(scores, "samples_2d")
        for panel in style.panels:
            fig = S.sample_grid_figure(canvas, panel, best_png)
            if fig is not None:
                out["samples"].append(fig)
            if panel in centres:
                points_centres, why = centres[panel]
                fig = S.scatter_2d_figure(canvas, panel, best_2d, points_centres, why)
                if fig is not None:
                    out["samples"].append(fig)
        if not out["samples"]:
            skipped.append("samples: no run stored a readable samples.png or samples.npy")
    return {"figures": out, "skipped": skipped}


def _has_files(scores: pd.DataFrame, panel: str, column: str) -> bool:
    values = scores.loc[scores["panel"] == panel, column].dropna().astype(str)
    return any(Path(v).is_file() for v in values)


def protocol_note(runs: pd.DataFrame) -> tuple[str, list[str]]:
    """Whether these runs follow the study's protocol (:func:`ganbench.lucic2018.departures`): a one-line
    verdict for the page header and the departures found, each with how many runs show it."""
    if "departures" not in runs.columns or runs.empty:
        return "", []
    found = runs["departures"].astype(object).where(runs["departures"].notna(), "").astype(str)
    counts: dict[str, int] = {}
    for text in found:
        for item in filter(None, text.split("; ")):
            counts[item] = counts.get(item, 0) + 1
    items = [f"{item} — {n} of {len(runs)} runs" for item, n in sorted(counts.items(), key=lambda kv: -kv[1])]
    faithful = int((found == "").sum())
    if faithful == len(runs):
        return (f"Every run follows the protocol of Lucic et al. (2018) as its code ran it "
                f"(docs/protocol.md): its numbers are comparable with the published ones."), []
    if faithful == 0:
        verdict = ("No run follows the protocol of Lucic et al. (2018) (docs/protocol.md): these numbers are "
                   "not comparable with the published ones.")
    else:
        verdict = (f"{len(runs) - faithful} of {len(runs)} runs depart from the protocol of Lucic et al. (2018) "
                   f"(docs/protocol.md); only the other {faithful} are comparable with the published numbers.")
    return verdict, items


def ensemble_note(runs: pd.DataFrame) -> str:
    """How many runs trained as members of ensembles (``--ensemble``), or "" when none did: each is its run, on
    another floating-point path than a solo run's (docs/ensembles.md), which a reader comparing runs should know."""
    if "ensemble" not in runs.columns or runs.empty:
        return ""
    members = runs["ensemble"].notna()
    if not members.any():
        return ""
    sizes = sorted({int(k) for k in runs.loc[members, "ensemble"]})
    size_text = ", ".join(str(k) for k in sizes)
    return (f"{int(members.sum())} of {len(runs)} runs trained as members of ensembles of {size_text} "
            "(--ensemble): each is its run on another floating-point path than a solo run's; over seeds the "
            "outcomes are distributed alike (docs/ensembles.md).")


def protocol_cards(runs: pd.DataFrame) -> dict[str, list[tuple[str, int]]]:
    """Panel (dataset) → the distinct protocol cards of its runs with how many runs each, most runs first; a
    panel with more than one was scored under different protocols, whose numbers do not compare."""
    out: dict[str, list[tuple[str, int]]] = {}
    for panel, group in runs.groupby("panel", observed=True, sort=False):
        counts = group["protocol_card"].dropna().astype(str).value_counts()
        out[str(panel)] = [(card, int(n)) for card, n in counts.items()]
    return out


def protocol_markdown(cards: Mapping[str, list[tuple[str, int]]]) -> str:
    """tables/protocol.md: each panel's protocol card (several, flagged, when its runs differ)."""
    lines = ["# Protocol", ""]
    for panel, found in cards.items():
        if len(found) == 1:
            lines.append(f"- **{panel}**: {found[0][0]}")
        elif found:
            lines.append(f"- **{panel}**: scored under {len(found)} protocols — numbers across them do not compare:")
            lines += [f"  - {card} ({n} runs)" for card, n in found]
    return "\n".join(lines) + "\n"


def _cards_html(cards: Mapping[str, list[tuple[str, int]]]) -> list[str]:
    items = []
    for panel, found in cards.items():
        if len(found) == 1:
            items.append(f"<li><strong>{html.escape(panel)}</strong>: {html.escape(found[0][0])}</li>")
        elif found:
            inner = "".join(f"<li>{html.escape(card)} ({n} runs)</li>" for card, n in found)
            items.append(f'<li><strong>{html.escape(panel)}</strong>: <span class="note">scored under {len(found)} '
                         f"protocols — numbers across them do not compare</span><ul>{inner}</ul></li>")
    return [f"<ul>{''.join(items)}</ul>"] if items else []


def _page(title, frame, runs, headlines, ups, summary_tbl, pair_tbl, figs, written, unreadable,
          out: Path, multi: bool, power_note: str = "", headline_notes: Sequence[str] = (),
          found: Sequence[Finding] = (), conditioning_tbl=None,
          cards: Mapping[str, list[tuple[str, int]]] | None = None, calibration_tbl=None,
          panel_tbl=None, translation_tbl=None) -> str:
    from ganbench import __version__

    status = runs["status"].astype(str)
    counts = {"runs": len(runs), "done": int((status == "done").sum()),
              "diverged": int((status == "diverged").sum()),
              "failed": int((status == "failed").sum()),
              "incomplete": int((~runs["complete"].astype(bool)).sum()),
              "datasets": runs["dataset"].nunique(), "models": models_only(runs)["model"].nunique()}
    suites = sorted(runs["suite"].dropna().astype(str).unique())
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    source = frame.attrs.get("source")
    meta = [
        f"Suite{'s' if len(suites) > 1 else ''}: <strong>{html.escape(', '.join(suites))}</strong>"
        + (f" · results: <code>{html.escape(str(source))}</code>" if source else ""),
        f"Generated {now} by ganbench {html.escape(__version__)} · "
        f"models: {html.escape(', '.join(model_order(models_only(runs)['model'].astype(str).unique())))}",
        "Ranked by: " + html.escape("; ".join(f"{d}: {headline_label(m, ups[d])}" for d, m in headlines.items())
                                    or "nothing (no run holds a metric value)"),
    ]
    meta += [f'<span class="note">{html.escape(n)}</span>' for n in headline_notes]
    if unreadable:
        meta.append(f'<span class="note">{len(unreadable)} record(s) could not be read and are left '
                    f'out: see <a href="#unreadable">the list</a>.</span>')
    if counts["incomplete"]:
        meta.append(f'<span class="note">{counts["incomplete"]} of {counts["runs"]} runs are '
                    f"incomplete (still running or pending): numbers may change.</span>")
    mixed = [panel for panel, found in (cards or {}).items() if len(found) > 1]
    if mixed:
        meta.append(f'<span class="note">{html.escape(", ".join(mixed))}: runs scored under different protocols '
                    '(extractor, preprocessing, sample counts or library versions): see <a href="#protocol-card">'
                    "the protocol card</a>.</span>")
    together = ensemble_note(models_only(runs))
    if together:
        meta.append(f'<span class="note">{html.escape(together)}</span>')
    verdict, departures = protocol_note(models_only(runs))
    if verdict:
        link = ' See <a href="#protocol">the departures</a>.' if departures else ""
        meta.append(f'<span class="note">{html.escape(verdict)}{link}</span>')
    groups = figs["figures"]
    paragraphs = [f"<p><strong>{html.escape(f.panel)}.</strong> {html.escape(f.text)}</p>" for f in found]
    sections = [
        Section("Findings", "findings", paragraphs + [_links([p for p in written if p.stem == "findings"], out)])
    ] if found else []
    sections += [
        Section("Summary", "summary", [f'<div class="scroll">{to_html(summary_tbl)}</div>',
                                       _links([p for p in written if p.stem in ("summary", "run_scores")], out)]
                + ([f'<h3>Translation</h3><div class="scroll">{to_html(translation_tbl)}</div>',
                    _links([p for p in written if p.stem == "translation"], out)]
                   if translation_tbl is not None else [])
                + ([f'<h3>Calibration</h3><div class="scroll">{to_html(calibration_tbl)}</div>',
                    _links([p for p in written if p.stem == "calibration"], out)]
                   if calibration_tbl is not None else [])
                + ([f'<h3>Conditioning</h3><div class="scroll">{to_html(conditioning_tbl)}</div>',
                    _links([p for p in written if p.stem == "conditioning"], out)]
                   if conditioning_tbl is not None else [])),
        Section("Protocol card", "protocol-card", _cards_html(cards or {})
                + [_links([p for p in written if p.stem == "protocol"], out)]),
        Section("Budget", "budget", figures=groups["budget"],
                body=[_links([p for p in written if p.stem.startswith("budget")], out)]
                if groups["budget"] else []),
        Section("Spread over seeds and settings", "spread", figures=groups["spread"],
                body=[f'<h3>Seed panel</h3><div class="scroll">{to_html(panel_tbl)}</div>',
                      _links([p for p in written if p.stem == "seed_panel"], out)] if panel_tbl is not None else []),
        Section("Pairwise tests", "tests", figures=groups["tests"],
                body=[power_note, f'<div class="scroll">{to_html(pair_tbl)}</div>',
                      _links([p for p in written if p.stem == "pairwise"], out)]
                if pair_tbl is not None else []),
        Section("Training", "training", figures=groups["training"]),
        Section("Sample quality and coverage", "quality", figures=groups["quality"]),
        Section("Samples", "samples", figures=groups["samples"]),
    ]
    if departures:
        items = "".join(f"<li>{html.escape(d)}</li>" for d in departures)
        sections.append(Section("Departures from the study's protocol", "protocol", [f"<ul>{items}</ul>"]))
    notes = [f"<li>{html.escape(s)}</li>" for s in figs["skipped"]]
    if notes:
        sections.append(Section("Not drawn", "not-drawn", [f"<ul>{''.join(notes)}</ul>"]))
    if unreadable:
        items = "".join(f"<li><code>{html.escape(str(p))}</code>: {html.escape(str(r))}</li>"
                        for p, r in unreadable)
        sections.append(Section(f"Unreadable records ({len(unreadable)})", "unreadable",
                                [f'<ul class="note">{items}</ul>']))
    return render_page(title, meta, counts, sections, out)


def _power_note(pairs) -> str:
    """Where a dataset's tests could never have been significant, say so above the table (and how many seeds
    would do) rather than let a column of p = 1 read as "no difference"."""
    notes = power_notes(pairs.drop(columns=["panel"], errors="ignore"))
    if not notes:
        return ""
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return f'<p class="note">Too few seeds to conclude:</p><ul class="note">{items}</ul>'
