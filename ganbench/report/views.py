"""Which columns of the summary and pairwise frames a reader sees, formatted and with bold bests.

The frames from :mod:`ganbench.results.study` keep every number (they are also written as CSV); these
views choose the study's headline columns and decide once which cell is best, so Markdown,
LaTeX and HTML agree.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import pandas as pd

from ganbench.report.formats import MISSING, Cell, Table, decimals_for, number

__all__ = ["metric_label", "summary_view", "pairwise_view", "format_p"]

_LABELS = {"fid": "FID", "is_mean": "IS", "kid_mean": "KID", "knn": "1-NN accuracy",
           "modes": "modes captured", "modes_1pct": "modes with ≥1% of samples",
           "hq_share": "high-quality share", "reverse_kl": "reverse KL"}


def metric_label(metric: str) -> str:
    """Human name of a metric key ("fid" → "FID")."""
    return _LABELS.get(metric, metric.replace("_", " "))


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _group_ids(frame: pd.DataFrame, keys: Sequence[str]) -> list[tuple]:
    return [tuple(str(v) for v in row) for row in frame[list(keys)].itertuples(index=False, name=None)]


def _best_flags(values: Sequence[Any], groups: Sequence[tuple], higher: bool) -> list[bool]:
    """True where a value is the best of its group (ties all True)."""
    best: dict[tuple, float] = {}
    for value, group in zip(values, groups):
        if _finite(value):
            current = best.get(group)
            if current is None or (value > current if higher else value < current):
                best[group] = value
    return [_finite(v) and best.get(g) == v for v, g in zip(values, groups)]


def _starts(groups: Sequence[tuple]) -> set[int]:
    return {i for i in range(1, len(groups)) if groups[i] != groups[i - 1]}


def summary_view(table: pd.DataFrame, metric: str, higher: bool, *,
                 with_suite: bool | None = None, level: float = 0.95) -> Table:
    """The study's headline table for ``metric`` from :func:`ganbench.results.study.summary` output.

    Bold marks the best value per column within a dataset (and suite); numbers are never compared
    across datasets. A ``published_fid_*`` column (see ``attach_reference``) becomes "Published".
    """
    m = metric
    with_suite = (table["suite"].nunique() > 1 if "suite" in table.columns else False) \
        if with_suite is None else with_suite
    keys = (["suite"] if with_suite else []) + ["dataset"]
    groups = _group_ids(table, keys)
    best, median = table[f"{m}_best"].tolist(), table[f"{m}_median"].tolist()
    mean, std = table[f"{m}_mean"].tolist(), table[f"{m}_std"].tolist()
    low, high = table[f"{m}_ci_low"].tolist(), table[f"{m}_ci_high"].tolist()
    dec = decimals_for(best + median + mean)
    bold_best = _best_flags(best, groups, higher)
    bold_median = _best_flags(median, groups, higher)
    bold_mean = _best_flags(mean, groups, higher)
    published = "published_fid_mean" in table.columns and m == "fid" \
        and table["published_fid_mean"].notna().any()

    columns = (["Suite"] if with_suite else []) + [
        "Dataset", "Model", "Runs", "Diverged", "Failed", "Incomplete", "Best", "Median",
        "Seeds", "Mean ± std", f"{round(level * 100)}% CI"]
    align = ["l"] * (3 if with_suite else 2) + ["r"] * (len(columns) - (3 if with_suite else 2))
    if published:
        columns.append("Published")
        align.append("r")
    rows: list[list[Cell]] = []
    for i, row in enumerate(table.to_dict("records")):
        cells = ([Cell(str(row["suite"]))] if with_suite else []) + [
            Cell(str(row["dataset"])), Cell(str(row["model"])),
            Cell(str(int(row["runs"]))), Cell(str(int(row["diverged"]))),
            Cell(str(int(row["failed"]))), Cell(str(int(row["incomplete"]))),
            Cell(number(best[i], dec), bold_best[i]), Cell(number(median[i], dec), bold_median[i]),
            Cell(str(int(row.get(f"{m}_seeds", 0) or 0))),
            _pm(mean[i], std[i], dec, bold_mean[i]),
            Cell(f"[{number(low[i], dec)}, {number(high[i], dec)}]" if _finite(low[i]) else MISSING),
        ]
        if published:
            cells.append(_pm(row["published_fid_mean"], row["published_fid_std"], 1, False))
        rows.append(cells)
    direction = "higher is better" if higher else "lower is better"
    caption = (f"{metric_label(m)} ({direction}): best run, median over hyperparameter settings, "
               f"and mean ± std over the seeds of one setting with a {round(level * 100)}% bootstrap "
               f"CI of the mean. Bold: best per dataset.")
    if published:
        sources = sorted({str(s) for s in table["published_source"].dropna()})
        caption += f" Published: {'; '.join(sources)} (mean ± std, not re-computed here)."
    return Table(columns, rows, align, _starts(groups), caption, f"tab:ganbench-summary-{m}")


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


def pairwise_view(pairs: pd.DataFrame, metric: str, *, with_suite: bool | None = None,
                  alpha: float = 0.05) -> Table:
    """Pairwise comparisons from :func:`ganbench.results.study.pairwise_tests`; bold: Holm p < ``alpha``."""
    with_suite = (pairs["suite"].nunique() > 1 if "suite" in pairs.columns else False) \
        if with_suite is None else with_suite
    keys = (["suite"] if with_suite else []) + ["dataset"]
    groups = _group_ids(pairs, keys) if len(pairs) else []
    dec = decimals_for(pairs["emin_a"].tolist() + pairs["emin_b"].tolist()) if len(pairs) else 1
    columns = (["Suite"] if with_suite else []) + [
        "Dataset", "A", "B", "Sample", "n A", "n B", "p", "p (Holm)", "floor", "P(A better)", "k",
        "E[best] A", "E[best] B", "A − B [95% CI]", "P(A − B ≤ 0)"]
    align = ["l"] * (len(keys) + 3) + ["r"] * (len(columns) - len(keys) - 3)
    rows = []
    for row in pairs.to_dict("records"):
        significant = _finite(row["p_holm"]) and row["p_holm"] < alpha
        diff = (f"{number(row['diff'], dec)} [{number(row['diff_ci_low'], dec)}, "
                f"{number(row['diff_ci_high'], dec)}]" if _finite(row["diff"]) else MISSING)
        rows.append(([Cell(str(row["suite"]))] if with_suite else []) + [
            Cell(str(row["dataset"])), Cell(str(row["model_a"])), Cell(str(row["model_b"])),
            Cell(str(row["sample"])), Cell(str(int(row["n_a"]))), Cell(str(int(row["n_b"]))),
            Cell(format_p(row["p_value"])), Cell(format_p(row["p_holm"]), significant),
            Cell(format_p(row["p_floor"])),
            Cell(number(row["p_a_better"], 2)),
            Cell(str(int(row["k"])) if _finite(row["k"]) else MISSING),
            Cell(number(row["emin_a"], dec)), Cell(number(row["emin_b"], dec)), Cell(diff),
            Cell(number(row["share_diff_le0"], 2)),
        ])
    caption = (f"Pairwise comparison on {metric_label(metric)}: two-sided Mann–Whitney U over seeds "
               f"(or over all runs where a model has no seed study), Holm-adjusted per dataset; floor: the "
               f"smallest Holm p these sample sizes allow whatever the data (above {alpha}: the test could "
               f"never have been significant); "
               f"P(A better) is the common-language effect size; E[best] is the expected best score "
               f"with a budget of k settings, with a bootstrap CI of the difference. "
               f"Bold: Holm p < {alpha}.")
    return Table(columns, rows, align, _starts(groups), caption, f"tab:ganbench-pairwise-{metric}")


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
