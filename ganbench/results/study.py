"""The study's analysis of stored runs: scores, pools, summaries, budget curves and pairwise tests.

It follows Lucic et al. (2018) as their code ran it (docs/protocol.md): a run is scored by its best
checkpoint (:func:`~ganbench.results.record.best_over`, marked ``is_best`` in the frame); models are
compared by the spread over seeds of their best setting (the ``best_of`` phase) and by the expected best
score reachable with a budget of k hyperparameter settings, or of compute hours, resampled from one
search phase with its failures kept. The numerical kernels live in :mod:`ganbench.results.stats`.

All resampling is seeded from the group's name, so a number does not change when an unrelated
dataset or model is filtered out of the frame.
"""
from __future__ import annotations

import itertools
import json
import math
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ganbench.results.frame import ID_COLUMNS, directions, metric_direction, run_table
from ganbench.results.names import as_keys, group_rng, groups, metric_sort_key, model_order, plain_key
from ganbench.results.record import COMPLETE
from ganbench.results.stats import (LOTTERY_RATIO, bootstrap_expected_min, bootstrap_mean_ci, detectable_difference,
                                    expected_min, holm, hours_curve, samples_to_detect, seed_components,
                                    settings_curve)

__all__ = ["FAILED_STATUSES", "STUDY_FAILURE_SCORE", "annotate_pools", "budget_curve", "calibration_mask",
           "failure_score", "headline_scores", "main_search_phase", "min_p_value", "models_only", "pairwise_tests",
           "run_scores", "search_mask", "seed_mask", "seed_panel", "seeds_to_resolve", "summary", "values_at_score",
           "VERDICTS"]


def run_scores(df: pd.DataFrame, metric: str = "fid", how: str = "best", *,
               runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per run: its ``score`` for ``metric`` and the step it came from.

    ``how="best"`` is the study's rule, the point the frame marks ``is_best`` (the record's best over
    checkpoints, in the metric's recorded direction); ``"final"`` takes the last checkpoint that has the
    metric. Runs without the metric stay in with a missing score so that failure counts are never lost.
    """
    if how not in ("best", "final"):
        raise ValueError(f"how must be 'best' or 'final', not {how!r}")
    up = metric_direction(df, metric)
    runs = run_table(df) if runs is None else runs
    rows = (df["metric"] == metric).to_numpy() & df["value"].notna().to_numpy()
    if how == "best":
        rows &= df["is_best"].to_numpy(dtype=bool)
    sub = df.loc[rows, ["suite", "run_id", "step", "value"]]
    if how == "final" and len(sub):
        sub = sub.loc[sub.groupby(["suite", "run_id"], observed=True, sort=False)["step"].idxmax().to_numpy()]
    if len(sub):
        chosen = sub.drop_duplicates(["suite", "run_id"])[["suite", "run_id", "value", "step"]]
    else:
        chosen = pd.DataFrame({"suite": pd.Series(dtype=runs["suite"].dtype),
                               "run_id": pd.Series(dtype=runs["run_id"].dtype),
                               "value": pd.Series(dtype=float), "step": pd.Series(dtype="Int64")})
    chosen = chosen.rename(columns={"value": "score", "step": "score_step"})
    out = runs.merge(chosen, on=["suite", "run_id"], how="left", sort=False)
    out.insert(len(ID_COLUMNS), "metric", metric)
    out.insert(len(ID_COLUMNS) + 1, "how", how)
    out.insert(len(ID_COLUMNS) + 2, "higher_is_better", up)
    out.insert(len(ID_COLUMNS) + 3, "score", out.pop("score"))
    out.insert(len(ID_COLUMNS) + 4, "score_step", out.pop("score_step"))
    return out


def _scores_direction(scores: pd.DataFrame) -> bool:
    """The direction :func:`run_scores` stamped on its rows (False for an empty table)."""
    if "higher_is_better" in scores.columns and len(scores):
        return bool(scores["higher_is_better"].iloc[0])
    return False


def _scores_metric(scores: pd.DataFrame) -> str | None:
    """The metric :func:`run_scores` scored these rows by (None for an empty table)."""
    return str(scores["metric"].iloc[0]) if "metric" in scores.columns and len(scores) else None


def headline_scores(df: pd.DataFrame, headlines: Mapping[str, str], how: str = "best") -> pd.DataFrame:
    """:func:`run_scores` with each dataset scored by its own metric (``headlines``: dataset → metric key,
    from :func:`ganbench.results.headline.frame_headlines`); the ``metric`` and ``higher_is_better``
    columns say, row by row, what a score means. Datasets not in ``headlines`` are left out."""
    parts = [run_scores(df[(df["dataset"].astype(str) == dataset).to_numpy()], metric, how)
             for dataset, metric in headlines.items()]
    if not parts:
        return run_scores(df.iloc[:0], "fid", how)
    out = pd.concat(parts, ignore_index=True)
    for column in ("suite", "run_id", "dataset", "model", "metric", "phase"):
        if column in out.columns:  # concat of differing categories falls back to object
            out[column] = out[column].astype("category")
    return out


def _plain(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.notna(), None)


def _roles(group: pd.DataFrame) -> pd.Series | None:
    """The phases' recorded roles, or None when some record predates roles (ganbench 0.1.0)."""
    if "role" not in group.columns:
        return None
    roles = _plain(group["role"])
    return None if roles.isna().any() else roles.astype(str)


def seed_mask(group: pd.DataFrame, higher: bool = False) -> np.ndarray:
    """Runs of one (dataset, model) that form its seed study ("best setting, many seeds").

    Recorded roles decide where a ``best_of`` phase exists (the suite knew which phase retrains the best
    setting). Otherwise — no such phase, or records that predate roles — the shape does: the (phase,
    setting) with the most distinct seeds, if at least two (a suite of one setting under three seeds is
    a seed study); ties go to the setting with the best mean score, since the study retrains its *best*
    setting. All False when there is no seed study.
    """
    roles = _roles(group)
    if roles is not None and (roles == "best_of").any():
        return (roles == "best_of").to_numpy()
    phase = _plain(group["phase"])
    score = group["score"].to_numpy(dtype=float) if "score" in group else np.full(len(group), np.nan)
    keys = pd.DataFrame({"phase": phase.astype(str), "setting": _plain(group["setting"]).astype(str),
                         "seed": group["seed"].astype("Float64").to_numpy(), "score": score})
    stats = keys.groupby(["phase", "setting"], sort=True).agg(seeds=("seed", "nunique"),
                                                               mean=("score", "mean"))
    stats = stats[stats["seeds"] >= 2]
    if stats.empty:
        return np.zeros(len(group), dtype=bool)
    stats = stats.assign(order=-stats["mean"] if higher else stats["mean"])
    best = stats.sort_values(["seeds", "order"], ascending=[False, True], na_position="last").index[0]
    return ((keys["phase"] == best[0]) & (keys["setting"] == best[1])).to_numpy()


def search_mask(group: pd.DataFrame) -> np.ndarray:
    """Runs of one (dataset, model) that are hyperparameter search, i.e. budget-curve material.

    Recorded roles decide (the ``search`` phases). Records that predate roles fall back on shape:
    phases that only re-run one setting under many seeds are left out when other phases exist, since
    resampling fifty copies of the best setting would make any budget look rich.
    """
    roles = _roles(group)
    if roles is not None:
        return (roles == "search").to_numpy()
    phase = _plain(group["phase"]).astype(str)
    setting = _plain(group["setting"]).astype(str)
    seeds = group["seed"].astype("Float64")
    info = pd.DataFrame({"phase": phase, "setting": setting, "seed": seeds}).groupby("phase").agg(
        settings=("setting", "nunique"), seeds=("seed", "nunique"))
    seed_only = info.index[(info["settings"] == 1) & (info["seeds"] >= 2)]
    keep = ~phase.isin(seed_only).to_numpy()
    return keep if keep.any() else np.ones(len(group), dtype=bool)


def annotate_pools(scores: pd.DataFrame, by: Sequence[str] | None = None) -> pd.DataFrame:
    """``scores`` plus boolean ``seed_run`` (:func:`seed_mask`) and ``search_run`` (:func:`search_mask`).

    Figures need to know, run by run, which spread a point belongs to: seeds of the best setting
    or the hyperparameter search.
    """
    keys = list(as_keys(by, scores, ("dataset", "model")))
    seed_run = np.zeros(len(scores), dtype=bool)
    search_run = np.zeros(len(scores), dtype=bool)
    if len(scores):
        grouped = scores.groupby(keys, observed=True, dropna=False, sort=False)
        for positions in grouped.indices.values():
            group = scores.iloc[positions]
            seed_run[positions] = seed_mask(group, _scores_direction(group))
            search_run[positions] = search_mask(group)
    return scores.assign(seed_run=seed_run, search_run=search_run)


def values_at_score(df: pd.DataFrame, scores: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """``scores`` plus one column per metric in ``metrics``: its value at the run's scored checkpoint.

    Precision and recall of a run are read where its FID was best, so a scatter shows the
    trade-off of the checkpoint the study would keep; runs without a score use their last one.
    """
    present = set(df["metric"].dropna().astype(str).unique())
    wanted = [m for m in metrics if m in present and m not in scores.columns]
    if not wanted or not len(scores):
        return scores.assign(**{m: np.nan for m in metrics if m not in scores.columns})
    sub = df.loc[df["metric"].isin(wanted).to_numpy(), ["suite", "run_id", "step", "metric", "value"]]
    sub = sub[sub["step"].notna()].assign(metric=sub["metric"].astype(str))
    wide = sub.pivot_table(index=["suite", "run_id", "step"], columns="metric", values="value",
                           aggfunc="first", observed=True).reset_index()
    wide.columns.name = None
    last = sub.groupby(["suite", "run_id"], observed=True)["step"].max().rename("_last").reset_index()
    out = scores.merge(last, on=["suite", "run_id"], how="left", sort=False)
    out["_step"] = out["score_step"].astype("Int64").fillna(out["_last"].astype("Int64"))
    wide = wide.rename(columns={"step": "_step"})
    wide["_step"] = wide["_step"].astype("Int64")
    out = out.merge(wide, on=["suite", "run_id", "_step"], how="left", sort=False)
    for m in metrics:
        if m not in out.columns:
            out[m] = np.nan
    return out.drop(columns=["_last", "_step"])

def summary(df: pd.DataFrame, metrics: Sequence[str] | None = None, *,
            by: Sequence[str] | None = None, how: str = "best", n_boot: int = 2000,
            seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """Per (dataset, model): run counts by status and, for each metric, the study's numbers.

    Columns per metric ``m``: ``m_best`` (best run, ``m_best_run`` its id), ``m_median`` (median
    over hyperparameter settings: each (phase, setting) contributes the median of its runs, so a
    many-seed setting counts once), and for the seed study (see :func:`seed_mask`) ``m_seeds``,
    ``m_mean``, ``m_std`` (ddof 1) and a ``level`` percentile-bootstrap CI of the mean
    (``m_ci_low``, ``m_ci_high``), plus ``m_seed_setting`` naming the setting used.
    ``metrics`` defaults to every metric in the frame whose direction is known.
    """
    keys = list(as_keys(by, df, ("dataset", "model")))
    runs = run_table(df)
    if metrics is None:
        present = [str(m) for m in pd.unique(df["metric"].dropna().astype(str))]
        known = directions(df)
        metrics = sorted((m for m in present if m in known), key=metric_sort_key)
    status = _plain(runs["status"]).fillna("unknown")
    counts = pd.DataFrame({k: runs[k] for k in keys})
    for name in COMPLETE:
        counts[name] = (status == name).to_numpy()
    counts["incomplete"] = ~runs["complete"].to_numpy(dtype=bool)
    counts["runs"] = 1
    counts["setting_key"] = _plain(runs["phase"]).astype(str) + ":" + _plain(runs["setting"]).astype(str)
    table = counts.groupby(keys, observed=True, sort=True, dropna=False).agg(
        runs=("runs", "sum"), settings=("setting_key", "nunique"), done=("done", "sum"),
        diverged=("diverged", "sum"), failed=("failed", "sum"), incomplete=("incomplete", "sum"))
    table = table.reset_index()
    columns: dict[str, list[Any]] = {}
    for metric in metrics:
        scores = run_scores(df, metric, how, runs=runs)
        up = metric_direction(df, metric)
        per_group = {key: _metric_summary(group, metric, up, group_rng(seed, (metric,) + key),
                                          n_boot, level)
                     for key, group in groups(scores, keys)}
        empty = _metric_summary(scores.iloc[:0], metric, up, None, n_boot, level)
        for key in table[keys].itertuples(index=False, name=None):
            for name, value in per_group.get(plain_key(tuple(key)), empty).items():
                columns.setdefault(name, []).append(value)
    if columns:  # one concat, not one insert per column (pandas warns on fragmented frames)
        table = pd.concat([table, pd.DataFrame(columns, index=table.index)], axis=1)
    calibration = calibration_mask(runs)
    if len(table):
        rows = counts.assign(_calibration=calibration).groupby(keys, observed=True, sort=True, dropna=False)
        table.insert(len(keys), "calibration", rows["_calibration"].all().to_numpy(dtype=bool))
    else:
        table.insert(len(keys), "calibration", pd.Series(dtype=bool))
    return _in_model_order(table, keys, before=["calibration"])


def _in_model_order(table: pd.DataFrame, keys: Sequence[str], before: Sequence[str] = ()) -> pd.DataFrame:
    """``table`` sorted by its keys, with the models in the study's order (:func:`model_order`) and the
    calibration rows last, the floor first; ``before``: columns sorted on ahead of the model."""
    if "model" not in keys or not len(table):
        return table
    from ganbench.calibration import DEFAULT
    from ganbench.catalog import CALIBRATIONS

    order = {m: i for i, m in enumerate(model_order(table["model"]))}
    rows = list(dict.fromkeys([*DEFAULT, *CALIBRATIONS.names()]))  # the floor first, then the copycat
    order.update({CALIBRATIONS.meta(k)["label"]: len(order) + i for i, k in enumerate(rows)})
    other = [k for k in keys if k != "model"]
    return table.assign(_order=table["model"].astype(str).map(order)) \
        .sort_values(other + list(before) + ["_order"], kind="stable").drop(columns="_order") \
        .reset_index(drop=True)


def calibration_mask(frame: pd.DataFrame) -> np.ndarray:
    """Rows of calibration runs (real data scored as a model, :mod:`ganbench.calibration`): a report shows
    them beside the models and keeps them out of every ranking, test and budget curve. Works on the frame,
    the run table and scores (their ``role``) and on :func:`summary` output (its ``calibration`` column)."""
    if "calibration" in frame.columns:
        return frame["calibration"].fillna(False).to_numpy(dtype=bool)
    if "role" not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return (frame["role"].astype(str) == "calibration").to_numpy()


def models_only(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without its calibration rows (:func:`calibration_mask`)."""
    mask = calibration_mask(frame)
    return frame[~mask] if mask.any() else frame


def _metric_summary(group: pd.DataFrame, metric: str, up: bool, rng: np.random.Generator | None,
                    n_boot: int, level: float) -> dict[str, Any]:
    scored = group[group["score"].notna()]
    out: dict[str, Any] = {f"{metric}_scored": int(len(scored))}
    if len(scored):
        pos = scored["score"].to_numpy().argmax() if up else scored["score"].to_numpy().argmin()
        out[f"{metric}_best"] = float(scored["score"].iloc[pos])
        out[f"{metric}_best_run"] = str(scored["run_id"].iloc[pos])
        settings = pd.DataFrame({"phase": _plain(scored["phase"]).astype(str),
                                 "setting": _plain(scored["setting"]).astype(str),
                                 "score": scored["score"].to_numpy()})
        out[f"{metric}_median"] = float(settings.groupby(["phase", "setting"])["score"].median().median())
    else:
        out.update({f"{metric}_best": np.nan, f"{metric}_best_run": None, f"{metric}_median": np.nan})
    mask = seed_mask(group, up) if len(group) else np.zeros(0, dtype=bool)
    seeds = group.loc[mask, "score"].dropna().to_numpy(dtype=float)
    out[f"{metric}_seeds"] = int(len(seeds))
    out[f"{metric}_seed_setting"] = (
        f"{_plain(group['phase'])[mask].iloc[0]}:{_plain(group['setting'])[mask].iloc[0]}"
        if mask.any() else None)
    out[f"{metric}_mean"] = float(seeds.mean()) if len(seeds) else np.nan
    out[f"{metric}_std"] = float(seeds.std(ddof=1)) if len(seeds) >= 2 else np.nan
    low, high = (bootstrap_mean_ci(seeds, rng, n_boot, level) if rng is not None
                 else (np.nan, np.nan))
    out[f"{metric}_ci_low"], out[f"{metric}_ci_high"] = low, high
    return out

#: What a run that failed or diverged before its first score counts as in a budget pool: compare_gan
#: v1.0 ``eval_gan_lib.py`` scores a checkpoint with NaN samples FID 31337 (``NAN_DETECTED``) and keeps it.
STUDY_FAILURE_SCORE = {"fid": 31337.0}
FAILED_STATUSES = ("diverged", "failed")


def failure_score(metric: str | None, up: bool, observed: np.ndarray) -> float:
    """The score a failed run takes in a pool: the study's 31337 for FID; for any other metric the worst
    score seen in the pool (a failure ties with the worst success; NaN when nothing succeeded)."""
    if metric in STUDY_FAILURE_SCORE:
        return STUDY_FAILURE_SCORE[metric]
    if not len(observed):
        return math.nan
    return float(observed.min() if up else observed.max())


def _pool(group: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, int]:
    """(mask of the scored runs, mask of the failed runs, count of runs not drawn) of one pool.

    Failed runs (failed or diverged before a score) become :func:`failure_score` in a pool; runs
    still going, or finished without the metric, are not drawn.
    """
    scored = group["score"].notna().to_numpy()
    failed = ~scored & group["status"].astype(str).isin(FAILED_STATUSES).to_numpy() \
        if "status" in group.columns else np.zeros(len(group), dtype=bool)
    return scored, failed, int(len(group) - scored.sum() - failed.sum())


def _pool_values(group: pd.DataFrame, metric: str | None, up: bool) -> np.ndarray:
    """A pool's values, failures included as :func:`failure_score` (NaN-free; empty if none usable)."""
    scored, failed, _ = _pool(group)
    observed = group["score"].to_numpy(dtype=float)[scored]
    fail_value = failure_score(metric, up, observed)
    if failed.any() and not math.isfinite(fail_value):
        return np.empty(0)
    return np.concatenate([observed, np.full(int(failed.sum()), fail_value)])


def main_search_phase(group: pd.DataFrame) -> np.ndarray:
    """Rows of the largest search phase of one (dataset, model): the study's wide range (100 settings,
    against the narrow range's 50); ties go to the phase name first in sort order."""
    search = search_mask(group)
    if "phase" not in group.columns or not search.any():
        return search
    phases = _plain(group["phase"]).astype(str)
    counts = phases[search].value_counts()
    largest = sorted(counts.index[counts == counts.max()])[0]
    return search & (phases == largest).to_numpy()


def _search_rows(scores: pd.DataFrame, keys: Sequence[str]) -> np.ndarray:
    """Rows of search phases (:func:`search_mask`, decided per group of ``keys``)."""
    keep = np.zeros(len(scores), dtype=bool)
    if len(scores):
        grouped = scores.groupby(list(keys), observed=True, dropna=False, sort=False)
        for positions in grouped.indices.values():
            keep[positions] = search_mask(scores.iloc[positions])
    return keep


def budget_curve(scores: pd.DataFrame, n_boot: int | None = 1000, seed: int = 0,
                 by: Sequence[str] | None = None, budget: str = "settings", *,
                 quantiles: tuple[float, float] = (0.05, 0.95), pool: str = "search",
                 max_k: int | None = None, n_grid: int = 60) -> pd.DataFrame:
    """Expected best score reachable with a budget, per group (Lucic et al. 2018, Fig. 4/5).

    ``budget="settings"``: for k = 1..n, the min (max for higher-is-better metrics) of k runs
    drawn with replacement from the group's n runs; ``n_boot`` draws give the mean and a
    ``quantiles`` band, ``n_boot=None`` gives the exact expectation and exact quantiles.
    ``budget="hours"``: each draw trains the runs in a random order; the best score so far is read
    on a common (geometric) grid of cumulative compute hours; ``reached`` is the share of draws with
    at least one finished run at that point (mean/band are over those draws).

    The pool is the study's: ``pool="search"`` draws from **one search phase** (each search phase gets
    a curve of its own, keyed by ``phase``; seed-only phases are left out, see :func:`search_mask`),
    because a narrow range chosen from wide results is a different distribution; ``"all"`` pools every
    run of the group. A run that failed or diverged before it was scored **stays in the pool** as a
    failure scored :func:`failure_score` (FID 31337, as compare_gan), since dropping failures flatters
    exactly the unstable models; ``n_failed`` and ``failure_share`` say how many. Runs not finished
    yet, or finished without the metric, are not drawn; ``n_missing`` counts them.
    ``by`` defaults to (dataset, model), with suite in front when several suites are present.
    """
    if budget not in ("settings", "hours"):
        raise ValueError(f"budget must be 'settings' or 'hours', not {budget!r}")
    if pool not in ("search", "all"):
        raise ValueError(f"pool must be 'search' or 'all', not {pool!r}")
    if budget == "hours" and n_boot is None:
        raise ValueError("the compute-hours curve has no closed form; give n_boot")
    keys = list(as_keys(by, scores, ("dataset", "model")))
    if pool == "search":
        scores = scores[_search_rows(scores, keys)]
        if "phase" in scores.columns and "phase" not in keys:
            keys = keys + ["phase"]
    parts = []
    for key, group in groups(scores, keys):
        up, metric = _scores_direction(group), _scores_metric(group)  # a dataset's own headline
        sign = -1.0 if up else 1.0  # maximise by minimising the negation
        scored, failed, _ = _pool(group)
        if budget == "hours":
            timed = (group["compute_hours"].notna() & (group["compute_hours"] >= 0)).to_numpy()
            scored, failed = scored & timed, failed & timed
        n_missing = int(len(group) - scored.sum() - failed.sum())
        values = _pool_values(group[scored | failed], metric, up)  # scored first, then the failures
        if not len(values):
            continue  # nothing usable, or only failures of a metric without a failure score
        rng = group_rng(seed, (budget,) + key)
        qs = (quantiles[1], quantiles[0]) if up else quantiles  # a low min is a high max
        signed = sign * values
        if budget == "settings":
            curve = settings_curve(signed, rng, n_boot, qs, max_k)
        else:
            hours = np.concatenate([group["compute_hours"].to_numpy(dtype=float)[scored],
                                    group["compute_hours"].to_numpy(dtype=float)[failed]])
            curve = hours_curve(signed, hours, rng, n_boot, qs, n_grid)
        for name in ("mean", "q_low", "q_high"):
            curve[name] = sign * curve[name]
        part = pd.DataFrame(curve)
        for position, (name, value) in enumerate(zip(keys, key)):
            part.insert(position, name, value)
        part.insert(len(keys), "budget", budget)
        part["n"] = len(values)
        part["n_failed"] = int(failed.sum())
        part["failure_share"] = float(failed.sum()) / len(values)
        part["n_missing"] = n_missing
        part["metric"] = metric
        parts.append(part)
    if not parts:
        x = "k" if budget == "settings" else "hours"
        return pd.DataFrame(columns=keys + ["budget", x, "mean", "q_low", "q_high", "n", "n_failed",
                                            "failure_share", "n_missing", "metric"])
    return pd.concat(parts, ignore_index=True)

VERDICTS = ("different", "not different at this power", "cannot be significant with these seeds")


def _power(rows: list[dict[str, Any]], tested: int, alpha: float, power: float) -> None:
    """Each pair's power figures and verdict, at Holm's strictest level α / pairs (the level its smallest p
    must pass; conservative for the others): ``mdd``, the smallest difference in means these sample sizes
    detect with probability ``power`` given the measured spreads; ``seeds_needed``, the samples per model that
    would detect the observed difference of means (at least the fewest that let Holm reach ``alpha`` at all);
    ``verdict``: *different* (Holm p < ``alpha``), *cannot be significant with these seeds* (the floor is
    above ``alpha``: no data could have made it significant), else *not different at this power*."""
    level = alpha / max(tested, 1)
    least = seeds_to_resolve(max(tested, 1), alpha) or 2
    for row in rows:
        row["mdd"] = detectable_difference(row["sd_a"], row["n_a"], row["sd_b"], row["n_b"], level, power)
        row["seeds_needed"] = samples_to_detect(row["mean_a"] - row["mean_b"], row["sd_a"], row["sd_b"], level,
                                                power, least=least)
        if math.isfinite(row["p_holm"]) and row["p_holm"] < alpha:
            row["verdict"] = VERDICTS[0]
        elif math.isfinite(row["p_floor"]) and row["p_floor"] > alpha:
            row["verdict"] = VERDICTS[2]
        elif math.isfinite(row["p_holm"]):
            row["verdict"] = VERDICTS[1]
        else:
            row["verdict"] = None


def min_p_value(n_a: int, n_b: int) -> float:
    """The smallest two-sided Mann–Whitney U p-value ``n_a`` vs ``n_b`` values can give, whatever they are:
    the p-value of complete separation without ties, as scipy computes it (exactly, 2 / C(n_a + n_b, n_a),
    for small samples). 3 vs 3 seeds can never go below 0.1. NaN when either side is empty."""
    if n_a < 1 or n_b < 1:
        return math.nan
    from scipy.stats import mannwhitneyu

    return float(mannwhitneyu(np.arange(n_a), np.arange(n_a, n_a + n_b), alternative="two-sided").pvalue)


def seeds_to_resolve(pairs: int, alpha: float = 0.05, most: int = 200) -> int | None:
    """Seeds per model for a Holm-adjusted test over ``pairs`` pairs to be able to reach ``alpha`` at all
    (``pairs`` × the smallest p ≤ ``alpha``); None beyond ``most``."""
    for n in range(2, most + 1):
        if max(pairs, 1) * min_p_value(n, n) <= alpha:
            return n
    return None


def _panel_values(text: Any, metric: str) -> list[float] | None:
    """A run's seed-panel values of ``metric`` (the frame's ``sampling_panel`` JSON), None without one."""
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return None
    values = json.loads(str(text)).get(metric)
    return [float(v) for v in values] if values else None


def seed_panel(scores: pd.DataFrame, by: Sequence[str] | None = None, *, n_boot: int = 1000, seed: int = 0,
               level: float = 0.95) -> pd.DataFrame:
    """Per (dataset, model): its score's spread over the seed study split into training and sampling seeds
    (:func:`ganbench.results.stats.seed_components`), from the runs' seed panels at their last evaluation
    point (``evaluation.sampling_seeds`` > 1).

    ``scores``: :func:`annotate_pools` output (its ``seed_run``, ``metric`` and ``sampling_panel``). A group
    needs ≥ 2 seed-study runs with a panel of ≥ 2 finite values, all of one size; others are left out.
    Columns: the keys, ``metric``, ``training_seeds``, ``sampling_seeds``, ``training_sd``, ``sampling_sd``,
    ``ratio`` (each with ``_low``/``_high``), ``training_share`` and ``lottery_ratio`` (3.2) to compare with.
    """
    keys = list(as_keys(by, scores, ("dataset", "model")))
    rows = []
    if "sampling_panel" not in scores.columns or not len(scores):
        return pd.DataFrame(columns=keys + ["metric", "training_seeds", "sampling_seeds", "training_sd",
                                            "sampling_sd", "ratio", "training_share", "lottery_ratio"])
    for key, group in groups(scores, keys):
        if "seed_run" in group.columns:
            group = group[group["seed_run"].to_numpy(dtype=bool)]
        metric = _scores_metric(group)
        if metric is None:
            continue
        panels = [_panel_values(text, metric) for text in group["sampling_panel"]]
        panels = [p for p in panels if p is not None and len(p) >= 2 and all(math.isfinite(v) for v in p)]
        if len(panels) < 2 or len({len(p) for p in panels}) != 1:
            continue
        found = seed_components(np.array(panels), group_rng(seed, ("seed panel", metric) + key), n_boot, level)
        rows.append({**dict(zip(keys, key)), "metric": metric, **found, "lottery_ratio": LOTTERY_RATIO})
    columns = keys + ["metric", "training_seeds", "sampling_seeds", "training_sd", "training_sd_low",
                      "training_sd_high", "sampling_sd", "sampling_sd_low", "sampling_sd_high", "ratio", "ratio_low",
                      "ratio_high", "training_share", "lottery_ratio"]
    return _in_model_order(pd.DataFrame(rows, columns=columns), keys)


def pairwise_tests(scores: pd.DataFrame, by: str | Sequence[str] | None = None, *,
                   k: int | None = None, n_boot: int = 2000, seed: int = 0,
                   level: float = 0.95, alpha: float = 0.05, power: float = 0.8) -> pd.DataFrame:
    """Every pair of models within a dataset: rank test on seeds and a budget comparison.

    ``p_value`` is a two-sided Mann–Whitney U over the seed study of each model when both have
    one (``sample="seeds"``), else over all scored runs (``"runs"``); ``p_holm`` adjusts it over the
    pairs of one dataset. ``p_floor`` is the smallest Holm-adjusted p-value the pair could have reached
    whatever the data (:func:`min_p_value` of its sample sizes, and the dataset's pairs × the smallest
    of those): a pair whose floor exceeds the level of a test could never have been significant.
    ``mean_a``/``mean_b``, ``sd_a``/``sd_b`` describe the two samples tested; ``mdd``, ``seeds_needed`` and
    ``verdict`` (one of :data:`VERDICTS`) say what this many seeds can tell at ``alpha`` with ``power``
    (:func:`_power`). ``p_a_better`` is the common-language effect size (the chance a random run of A scores better than
    one of B, ties count half); ``rank_biserial`` = 2·p_a_better − 1.
    The budget part compares expected best scores at ``k`` settings (default: the smaller search
    pool) under a bootstrap of each model's runs of its main search phase (:func:`main_search_phase`,
    named in ``pool_phase``; failed runs in it as the study's failures, see :func:`budget_curve`):
    ``diff`` = A − B in metric units,
    ``diff_ci_low/high`` its ``level`` interval and ``share_diff_le0`` the share of bootstrap
    differences ≤ 0 (for FID: how often A's expected best is at least as good as B's).
    """
    from scipy.stats import mannwhitneyu

    keys = list(as_keys(by, scores, ("dataset",)))
    tail = (1.0 - level) / 2.0
    rows: list[dict[str, Any]] = []
    for key, group in groups(scores, keys):
        up, metric = _scores_direction(group), _scores_metric(group)  # a dataset's own headline
        sign = -1.0 if up else 1.0
        per_model = {}
        for model, g in group.groupby("model", observed=True):
            mask = seed_mask(g, up)
            main = main_search_phase(g)
            per_model[str(model)] = {
                "seeds": g.loc[mask, "score"].dropna().to_numpy(float),
                "runs": g["score"].dropna().to_numpy(float),
                "pool": _pool_values(g[main], metric, up),
                "pool_phase": str(g.loc[main, "phase"].iloc[0]) if main.any() and "phase" in g else None,
            }
        cache: dict[tuple[str, int], np.ndarray] = {}

        def boot(model: str, budget_k: int) -> np.ndarray:
            """Bootstrap of one model's expected best at k; reused by every pair it is in."""
            if (model, budget_k) not in cache:
                rng = group_rng(seed, ("pairwise",) + tuple(key) + (model, budget_k))
                pool_values = sign * per_model[model]["pool"]
                cache[model, budget_k] = sign * bootstrap_expected_min(pool_values, budget_k, rng,
                                                                        n_boot)
            return cache[model, budget_k]

        start = len(rows)
        for a, b in itertools.combinations(model_order(per_model), 2):
            A, B = per_model[a], per_model[b]
            sample = "seeds" if len(A["seeds"]) >= 2 and len(B["seeds"]) >= 2 else "runs"
            x, y = A[sample], B[sample]
            row: dict[str, Any] = dict(zip(keys, key))
            row.update({"metric": metric, "higher_is_better": up, "model_a": a, "model_b": b, "sample": sample,
                        "n_a": len(x), "n_b": len(y),
                        "mean_a": float(x.mean()) if len(x) else math.nan,
                        "mean_b": float(y.mean()) if len(y) else math.nan,
                        "sd_a": float(x.std(ddof=1)) if len(x) > 1 else math.nan,
                        "sd_b": float(y.std(ddof=1)) if len(y) > 1 else math.nan})
            row["p_min"] = min_p_value(len(x), len(y))
            if len(x) and len(y):
                test = mannwhitneyu(x, y, alternative="two-sided")
                share_greater = float(test.statistic) / (len(x) * len(y))
                row["u"] = float(test.statistic)
                row["p_value"] = float(test.pvalue)
                row["p_a_better"] = share_greater if up else 1.0 - share_greater
                row["rank_biserial"] = 2.0 * row["p_a_better"] - 1.0
            else:
                row.update({"u": np.nan, "p_value": np.nan, "p_a_better": np.nan,
                            "rank_biserial": np.nan})
            pa, pb = A["pool"], B["pool"]
            row.update({"pool_a": len(pa), "pool_b": len(pb),
                        "pool_phase": A["pool_phase"] if A["pool_phase"] == B["pool_phase"]
                        else f"{A['pool_phase']} / {B['pool_phase']}"})
            if len(pa) and len(pb):
                kk = int(k) if k is not None else min(len(pa), len(pb))
                diff = boot(a, kk) - boot(b, kk)
                row.update({
                    "k": kk, "emin_a": float(sign * expected_min(sign * pa, kk)),
                    "emin_b": float(sign * expected_min(sign * pb, kk)),
                })
                row["diff"] = row["emin_a"] - row["emin_b"]
                row["diff_ci_low"], row["diff_ci_high"] = (float(v) for v in
                                                           np.quantile(diff, [tail, 1 - tail]))
                row["share_diff_le0"] = float((diff <= 0).mean())
            else:
                row.update({"k": np.nan, "emin_a": np.nan, "emin_b": np.nan, "diff": np.nan,
                            "diff_ci_low": np.nan, "diff_ci_high": np.nan, "share_diff_le0": np.nan})
            rows.append(row)
        adjusted_p = holm(np.array([r["p_value"] for r in rows[start:]], dtype=float))
        floors = np.array([r["p_min"] for r in rows[start:]], dtype=float)
        tested = int(np.isfinite(floors).sum())
        lowest = float(np.nanmin(floors)) if tested else math.nan
        for row, adjusted in zip(rows[start:], adjusted_p):
            row["p_holm"] = float(adjusted)
            # Holm multiplies the smallest p by the number of tests, and every adjusted p is at least that
            row["p_floor"] = min(1.0, max(row["p_min"], tested * lowest)) if math.isfinite(row["p_min"]) \
                else math.nan
        _power(rows[start:], tested, alpha, power)
    columns = keys + ["metric", "higher_is_better", "model_a", "model_b", "sample", "n_a", "n_b", "u", "p_value",
                      "p_holm", "p_min", "p_floor", "verdict", "mean_a", "mean_b", "sd_a", "sd_b", "mdd",
                      "seeds_needed", "p_a_better", "rank_biserial", "pool_a", "pool_b", "pool_phase",
                      "k", "emin_a", "emin_b",
                      "diff", "diff_ci_low", "diff_ci_high", "share_diff_le0"]
    return pd.DataFrame(rows, columns=columns)
