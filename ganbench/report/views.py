"""Which columns of the summary and pairwise frames a reader sees, formatted and with bold bests.

The frames from :mod:`ganbench.results.study` keep every number (they are also written as CSV); these
views choose the study's headline columns and decide once which cell is best, so Markdown,
LaTeX and HTML agree.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import pandas as pd

from ganbench.report.formats import MISSING, Cell, Table, decimals_for, number

__all__ = ["metric_label", "headline_label", "summary_view", "metrics_view", "pairwise_view", "format_p",
           "power_notes", "seed_panel_view", "mean_or_best"]

_LABELS = {"fid": "FID", "is_mean": "IS", "kid_mean": "KID", "knn": "1-NN accuracy",
           "modes": "modes captured", "modes_1pct": "modes with ≥1% of samples",
           "hq_share": "high-quality share", "reverse_kl": "reverse KL", "f1": "F1",
           "mode_tv": "mode TV distance",
           "polygon_f1": "polygon F1", "polygon_precision": "polygon precision", "polygon_recall": "polygon recall",
           "label_consistency": "label consistency", "intra_fid": "intra-FID", "intra_fid_worst": "worst-class FID",
           "cas": "CAS", "cas_real": "CAS real", "code_accuracy": "code accuracy", "code_nmi": "code NMI",
           "ct": "C_T", "fd_inf": "FD∞", "vendi": "Vendi score",
           "l1": "L1 to truth", "psnr": "PSNR", "ssim": "SSIM", "content": "content kept", "cycle": "cycle L1"}
#: a translation's per-direction keys (``fid_ab``) read as their metric with its direction ("FID A→B")
_DIRECTION_LABELS = {"_ab": " A→B", "_ba": " B→A"}


def metric_label(metric: str) -> str:
    """Human name of a metric key ("fid" → "FID")."""
    if metric not in _LABELS and metric[-3:] in _DIRECTION_LABELS and metric[:-3] in _LABELS:
        return _LABELS[metric[:-3]] + _DIRECTION_LABELS[metric[-3:]]
    return _LABELS.get(metric, metric.replace("_", " "))


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _group_ids(frame: pd.DataFrame, keys: Sequence[str]) -> list[tuple]:
    return [tuple(str(v) for v in row) for row in frame[list(keys)].itertuples(index=False, name=None)]


def _best_flags(values: Sequence[Any], groups: Sequence[tuple], higher: bool | Sequence[bool]) -> list[bool]:
    """True where a value is the best of its group (ties all True); ``higher`` may differ by row (each
    dataset its own metric), but is one direction within a group."""
    ups = [higher] * len(values) if isinstance(higher, bool) else list(higher)
    best: dict[tuple, float] = {}
    for value, group, up in zip(values, groups, ups):
        if _finite(value):
            current = best.get(group)
            if current is None or (value > current if up else value < current):
                best[group] = value
    return [_finite(v) and best.get(g) == v for v, g in zip(values, groups)]


def mean_or_best(row: Mapping[str, Any], metric: str) -> float:
    """A summary row's value of ``metric``: its seed study's mean, else its best run's (NaN without either)."""
    mean = row.get(f"{metric}_mean")
    return float(mean) if _finite(mean) else float(row.get(f"{metric}_best", math.nan))


def _calibration_rows(records: Sequence[Mapping[str, Any]]) -> list[bool]:
    """Which summary rows are calibration rows (real data scored as a model: ganbench/calibration.py)."""
    return [bool(r.get("calibration", False)) for r in records]


def _blank_calibration(values: Sequence[Any], calibration: Sequence[bool]) -> list[Any]:
    """``values`` with the calibration rows' blanked: they are shown, never marked best."""
    return [math.nan if c else v for v, c in zip(values, calibration)]


def _model_cell(row: Mapping[str, Any]) -> Cell:
    return Cell(f"{row['model']} †" if row.get("calibration") else str(row["model"]))


CALIBRATION_NOTE = (" † Calibration rows: real data scored as if it were a model (ganbench/calibration.py) — never "
                    "marked best, never tested.")


def _starts(groups: Sequence[tuple]) -> set[int]:
    return {i for i in range(1, len(groups)) if groups[i] != groups[i - 1]}


def headline_label(metric: str, higher: bool) -> str:
    """"FID ↓", "modes with ≥1% of samples ↑": a metric with the way it improves."""
    return f"{metric_label(metric)} {'↑' if higher else '↓'}"


def _decimals_by_group(values: Sequence[Sequence[Any]], groups: Sequence[tuple]) -> list[int]:
    """Decimals per row, decided per group: a dataset's FIDs in the hundreds and another's F1 below one
    each get the precision they need."""
    chosen: dict[tuple, int] = {}
    for group in dict.fromkeys(groups):
        rows = [i for i, g in enumerate(groups) if g == group]
        chosen[group] = decimals_for([column[i] for column in values for i in rows])
    return [chosen[g] for g in groups]


def summary_view(table: pd.DataFrame, metric: str | Mapping[str, str], higher: bool | Mapping[str, bool], *,
                 with_suite: bool | None = None, level: float = 0.95) -> Table:
    """The study's headline table from :func:`ganbench.results.study.summary` output.

    ``metric`` is one metric key for every dataset, or dataset → its headline metric
    (:func:`ganbench.results.headline.frame_headlines`), with ``higher`` the matching direction(s): a
    dataset of another metric than its neighbours gets a Metric column saying which (``higher``: one
    direction, or dataset → direction). A dataset without a headline (no run of it holds a metric value)
    keeps its rows of run counts. Bold marks the best value per column within a dataset (and suite);
    numbers are never compared across datasets. A ``published_fid_*`` column (see ``attach_reference``)
    becomes "Published".
    """
    with_suite = (table["suite"].nunique() > 1 if "suite" in table.columns else False) \
        if with_suite is None else with_suite
    datasets = table["dataset"].astype(str)
    headline = {d: metric for d in datasets} if isinstance(metric, str) else dict(metric)
    records = table.to_dict("records")
    chosen = [headline.get(str(r["dataset"])) for r in records]  # None: no run of it has a metric value
    ups = [higher if isinstance(higher, bool) else bool(higher.get(str(r["dataset"]), False)) for r in records]
    mixed = len(set(chosen)) > 1

    def column(suffix: str) -> list[Any]:
        return [r.get(f"{m}_{suffix}", math.nan) if m else math.nan for r, m in zip(records, chosen)]

    keys = (["suite"] if with_suite else []) + ["dataset"]
    groups = _group_ids(table, keys) if len(table) else []
    best, median, mean, std = column("best"), column("median"), column("mean"), column("std")
    low, high = column("ci_low"), column("ci_high")
    decimals = _decimals_by_group([best, median, mean], groups)
    calibration = _calibration_rows(records)
    bold_best = _best_flags(_blank_calibration(best, calibration), groups, ups)
    bold_median = _best_flags(_blank_calibration(median, calibration), groups, ups)
    bold_mean = _best_flags(_blank_calibration(mean, calibration), groups, ups)
    published = "published_fid_mean" in table.columns and "fid" in chosen \
        and table["published_fid_mean"].notna().any()

    lead = (["Suite"] if with_suite else []) + ["Dataset"] + (["Metric"] if mixed else []) + ["Model"]
    columns = lead + ["Runs", "Diverged", "Failed", "Incomplete", "Best", "Median", "Seeds", "Mean ± std",
                      f"{round(level * 100)}% CI"]
    align = ["l"] * len(lead) + ["r"] * (len(columns) - len(lead))
    if published:
        columns.append("Published")
        align.append("r")
    rows: list[list[Cell]] = []
    for i, row in enumerate(records):
        dec = decimals[i]
        cells = ([Cell(str(row["suite"]))] if with_suite else []) + [Cell(str(row["dataset"]))] \
            + ([Cell(headline_label(chosen[i], ups[i]) if chosen[i] else MISSING)] if mixed else []) + [
            _model_cell(row),
            Cell(str(int(row["runs"]))), Cell(str(int(row["diverged"]))),
            Cell(str(int(row["failed"]))), Cell(str(int(row["incomplete"]))),
            Cell(number(best[i], dec), bold_best[i]), Cell(number(median[i], dec), bold_median[i]),
            Cell(str(int(row.get(f"{chosen[i]}_seeds", 0) or 0)) if chosen[i] else MISSING),
            _pm(mean[i], std[i], dec, bold_mean[i]),
            Cell(f"[{number(low[i], dec)}, {number(high[i], dec)}]" if _finite(low[i]) else MISSING),
        ]
        if published:
            cells.append(_pm(row["published_fid_mean"], row["published_fid_std"], 1, False)
                         if chosen[i] == "fid" else Cell(MISSING))
        rows.append(cells)
    if mixed:
        what = "Each dataset's headline metric (Metric; ↑ higher is better, ↓ lower is better)"
    else:
        only = chosen[0] if chosen and chosen[0] else (metric if isinstance(metric, str) else "fid")
        up = ups[0] if ups else bool(higher) if isinstance(higher, bool) else False
        what = f"{metric_label(only)} ({'higher' if up else 'lower'} is better)"
    caption = (f"{what}: best run, median over hyperparameter settings, "
               f"and mean ± std over the seeds of one setting with a {round(level * 100)}% bootstrap "
               f"CI of the mean. Bold: best per dataset.")
    if published:
        sources = sorted({str(s) for s in table["published_source"].dropna()})
        caption += f" Published: {'; '.join(sources)} (FID mean ± std, not re-computed here)."
    if any(calibration):
        caption += CALIBRATION_NOTE
    label = "-".join(dict.fromkeys(m for m in chosen if m)) or "none"
    return Table(columns, rows, align, _starts(groups), caption, f"tab:ganbench-summary-{label}")


def metrics_view(table: pd.DataFrame, metrics: Sequence[str], higher: Mapping[str, bool], *, caption: str,
                 label: str, with_suite: bool | None = None) -> Table:
    """Several metrics side by side per (dataset, model) from :func:`ganbench.results.study.summary` output:
    each the mean ± std over the seed study's runs where there is one, else the best run's value (marked *).

    A model that does not compute a metric (an unconditional G has no label consistency) shows ``MISSING``; bold
    marks the best per metric within a dataset (and suite); decimals are chosen per metric and dataset.
    """
    with_suite = (table["suite"].nunique() > 1 if "suite" in table.columns else False) \
        if with_suite is None else with_suite
    keys = (["suite"] if with_suite else []) + ["dataset"]
    groups = _group_ids(table, keys) if len(table) else []
    records = table.to_dict("records")
    calibration = _calibration_rows(records)
    cells_by_metric: list[list[Cell]] = []
    for metric in metrics:
        seeded = [_finite(r.get(f"{metric}_mean")) for r in records]
        value = [r.get(f"{metric}_mean") if s else r.get(f"{metric}_best", math.nan) for r, s in zip(records, seeded)]
        std = [r.get(f"{metric}_std", math.nan) if s else math.nan for r, s in zip(records, seeded)]
        decimals = _decimals_by_group([value], groups)
        bold = _best_flags(_blank_calibration(value, calibration), groups, bool(higher.get(metric, False)))
        column = []
        for i, v in enumerate(value):
            cell = _pm(v, std[i], decimals[i], bold[i])
            if _finite(v) and not seeded[i]:
                cell = Cell(f"{cell.text}*", cell.bold)
            column.append(cell)
        cells_by_metric.append(column)
    lead = (["Suite"] if with_suite else []) + ["Dataset", "Model"]
    columns = lead + [headline_label(m, bool(higher.get(m, False))) for m in metrics]
    rows = []
    for i, r in enumerate(records):
        lead_cells = ([Cell(str(r["suite"]))] if with_suite else []) + [Cell(str(r["dataset"])), _model_cell(r)]
        rows.append(lead_cells + [column[i] for column in cells_by_metric])
    align = ["l"] * len(lead) + ["r"] * len(metrics)
    text = caption + (" Mean ± std over the seeds of one setting (* the best run's value where no setting was "
                      f"retrained over seeds); {MISSING} where a model does not compute it. Bold: best per dataset.")
    if any(calibration):
        text += CALIBRATION_NOTE
    return Table(columns, rows, align, _starts(groups), text, f"tab:ganbench-{label}")


def _pm(mean: Any, std: Any, decimals: int, bold: bool) -> Cell:
    if not _finite(mean):
        return Cell(MISSING)
    if not _finite(std):
        return Cell(number(mean, decimals), bold)
    m, s = number(mean, decimals), number(std, decimals)
    return Cell(f"{m} ± {s}", bold, math=f"{m} \\pm {s}")


def format_p(p: Any) -> str:
    """A p-value for reading: three decimals, "<0.001" below that."""
    if not _finite(p):
        return MISSING
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def pairwise_view(pairs: pd.DataFrame, metric: str | None = None, *, with_suite: bool | None = None,
                  alpha: float = 0.05) -> Table:
    """Pairwise comparisons from :func:`ganbench.results.study.pairwise_tests`; bold: Holm p < ``alpha``.

    Each dataset's pairs are on its own metric (the frame's ``metric`` column; ``metric`` names it for
    frames without one): when datasets differ, a Metric column says which."""
    with_suite = (pairs["suite"].nunique() > 1 if "suite" in pairs.columns else False) \
        if with_suite is None else with_suite
    keys = (["suite"] if with_suite else []) + ["dataset"]
    groups = _group_ids(pairs, keys) if len(pairs) else []
    records = pairs.to_dict("records")
    chosen = [str(r.get("metric") or metric) for r in records]
    ups = [bool(r["higher_is_better"]) if _known(r.get("higher_is_better")) else False for r in records]
    mixed = len(set(chosen)) > 1
    decimals = _decimals_by_group([[r["emin_a"] for r in records], [r["emin_b"] for r in records]], groups)
    lead = (["Suite"] if with_suite else []) + ["Dataset"] + (["Metric"] if mixed else [])
    columns = lead + ["A", "B", "Sample", "n A", "n B", "p", "p (Holm)", "floor", "Verdict", "MDD", "Seeds needed",
                      "P(A better)", "k", "E[best] A", "E[best] B", "A − B [95% CI]", "P(A − B ≤ 0)"]
    align = ["l"] * (len(lead) + 2) + ["r"] * 6 + ["l"] + ["r"] * (len(columns) - len(lead) - 9)
    rows = []
    for i, row in enumerate(records):
        dec = decimals[i]
        significant = _finite(row["p_holm"]) and row["p_holm"] < alpha
        diff = (f"{number(row['diff'], dec)} [{number(row['diff_ci_low'], dec)}, "
                f"{number(row['diff_ci_high'], dec)}]" if _finite(row["diff"]) else MISSING)
        rows.append(([Cell(str(row["suite"]))] if with_suite else []) + [Cell(str(row["dataset"]))]
                    + ([Cell(headline_label(chosen[i], ups[i]) if chosen[i] else MISSING)] if mixed else []) + [
            Cell(str(row["model_a"])), Cell(str(row["model_b"])),
            Cell(str(row["sample"])), Cell(str(int(row["n_a"]))), Cell(str(int(row["n_b"]))),
            Cell(format_p(row["p_value"])), Cell(format_p(row["p_holm"]), significant),
            Cell(format_p(row["p_floor"])),
            Cell(str(row["verdict"]) if isinstance(row.get("verdict"), str) else MISSING),
            Cell(number(row.get("mdd"), dec)),
            Cell(str(int(row["seeds_needed"])) if _finite(row.get("seeds_needed")) else MISSING),
            Cell(number(row["p_a_better"], 2)),
            Cell(str(int(row["k"])) if _finite(row["k"]) else MISSING),
            Cell(number(row["emin_a"], dec)), Cell(number(row["emin_b"], dec)), Cell(diff),
            Cell(number(row["share_diff_le0"], 2)),
        ])
    on = "each dataset's headline metric (Metric)" if mixed else metric_label(chosen[0] if chosen else metric or "fid")
    caption = (f"Pairwise comparison on {on}: two-sided Mann–Whitney U over seeds "
               f"(or over all runs where a model has no seed study), Holm-adjusted per dataset; floor: the "
               f"smallest Holm p these sample sizes allow whatever the data (above {alpha}: the test could "
               f"never have been significant); "
               f"MDD: the smallest difference in means these seeds detect with power 0.8 at Holm's strictest level "
               f"(α / pairs), from the measured spreads; seeds needed: per model, to detect the observed difference "
               f"of means so (– when none was observed); "
               f"P(A better) is the common-language effect size; E[best] is the expected best score "
               f"with a budget of k settings, with a bootstrap CI of the difference (for a metric where lower "
               f"is better, A − B ≤ 0 means A is at least as good). "
               f"Bold: Holm p < {alpha}.")
    label = "-".join(dict.fromkeys(chosen)) if chosen else (metric or "none")
    return Table(columns, rows, align, _starts(groups), caption, f"tab:ganbench-pairwise-{label}")


def _known(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value)) and value is not pd.NA


def power_notes(pairs: pd.DataFrame, alpha: float = 0.05) -> list[str]:
    """One sentence per dataset whose pairwise tests could never reach ``alpha`` whatever the data (every
    pair's ``p_floor`` above it), with the sample sizes behind it and the seeds per model that would do."""
    from ganbench.results.study import seeds_to_resolve

    if pairs.empty or "p_floor" not in pairs.columns:
        return []
    keys = [k for k in ("suite", "dataset") if k in pairs.columns]
    notes = []
    for key, group in pairs.groupby(keys, observed=True, sort=False):
        floors = group["p_floor"].dropna()
        if floors.empty or (floors <= alpha).any():
            continue
        where = " / ".join(str(k) for k in (key if isinstance(key, tuple) else (key,)))
        sizes = sorted({f"{int(a)} vs {int(b)}" for a, b in zip(group["n_a"], group["n_b"])})
        need = seeds_to_resolve(len(floors), alpha)
        notes.append(f"{where}: no pairwise test can reach p < {alpha} whatever the runs show — with "
                     f"{', '.join(sizes)} {'seeds' if (group['sample'] == 'seeds').all() else 'runs'} the smallest "
                     f"Holm-adjusted p over {len(floors)} pair{'s' if len(floors) > 1 else ''} is "
                     f"{floors.min():.3g}; "
                     + (f"{need} seeds per model would be needed." if need else "more seeds would be needed."))
    return notes


def seed_panel_view(panel: pd.DataFrame, *, with_suite: bool | None = None) -> Table:
    """The seed panel (:func:`ganbench.results.study.seed_panel`): per (dataset, model) the spread of its score
    over training seeds and over sampling seeds of one network, and their ratio beside the FID Lottery's."""
    with_suite = (panel["suite"].nunique() > 1 if "suite" in panel.columns else False) \
        if with_suite is None else with_suite
    keys = (["suite"] if with_suite else []) + ["dataset"]
    groups = _group_ids(panel, keys) if len(panel) else []
    records = panel.to_dict("records")
    decimals = _decimals_by_group([[r["training_sd"] for r in records], [r["sampling_sd"] for r in records]], groups)

    def interval(r: Mapping[str, Any], name: str, dec: int) -> Cell:
        low, high = r.get(f"{name}_low"), r.get(f"{name}_high")
        text = number(r[name], dec)
        return Cell(f"{text} [{number(low, dec)}, {number(high, dec)}]" if _finite(low) and _finite(high) else text)

    lead = (["Suite"] if with_suite else []) + ["Dataset", "Model", "Metric"]
    columns = lead + ["Seeds × redraws", "σ training", "σ sampling", "Retrain ÷ redraw", "Lottery"]
    rows = []
    for i, r in enumerate(records):
        rows.append(([Cell(str(r["suite"]))] if with_suite else []) + [
            Cell(str(r["dataset"])), Cell(str(r["model"])), Cell(metric_label(str(r["metric"]))),
            Cell(f"{int(r['training_seeds'])} × {int(r['sampling_seeds'])}"),
            interval(r, "training_sd", decimals[i]), interval(r, "sampling_sd", decimals[i]),
            interval(r, "ratio", 2), Cell(number(r["lottery_ratio"], 1))])
    caption = ("Seed panel: each seed-study run scored under several sampling seeds at its last evaluation point; "
               "a one-way random-effects ANOVA splits the spread into σ training (which network a seed trained) "
               "and σ sampling (which samples one network was scored on), with 95% bootstrap intervals over "
               "training seeds. Retrain ÷ redraw = √(σ²training + σ²sampling) / σ sampling: how much further a "
               "retrained network's score moves than a redraw's — 3.2 for FID in the FID Lottery (Dufour et al. "
               "2026). Near 1, sampling noise dominates: more samples, not more seeds, would sharpen the comparison.")
    align = ["l"] * len(lead) + ["r"] * 5
    return Table(columns, rows, align, _starts(groups), caption, "tab:ganbench-seed-panel")
