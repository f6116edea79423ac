"""Stored run records → tidy pandas DataFrames, and the statistics the study reports from them.

Everything downstream of the store works on one long frame (one row per run × metric × evaluation
point) so that reports, notebooks and the CLI share one vocabulary of columns. The statistics
follow Lucic et al. (2018): a run is scored by its best checkpoint; models are compared by the
spread over seeds of their best setting and by the expected best score reachable with a budget of
k hyperparameter settings (or of compute hours), estimated by resampling the search runs.

All resampling is seeded from the group's name, so a number does not change when an unrelated
dataset or model is filtered out of the frame.
"""
from __future__ import annotations

import itertools
import json
import math
import re
import zlib
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ganbench import lucic2018

__all__ = [
    "STATUSES", "COMPLETE_STATUSES", "RUN_COLUMNS",
    "records_to_frame", "load_results", "save_frame", "run_table", "run_scores", "summary",
    "budget_curve", "expected_min", "pairwise_tests", "reference_table", "attach_reference",
    "default_reference_path", "metric_direction", "model_order", "default_by", "seed_mask",
    "search_mask", "normalise_name", "annotate_pools", "values_at_score", "metric_sort_key",
    "known_direction",
]

STATUSES = ("done", "diverged", "failed", "running", "pending")
COMPLETE_STATUSES = ("done", "diverged", "failed")  # "running"/"pending": the grid is still going

# Used only when the metric registry does not declare a key (it is filled by other modules).
_FALLBACK_HIGHER: dict[str, bool] = {
    "fid": False, "kid_mean": False, "knn": False, "reverse_kl": False,
    "is_mean": True, "precision": True, "recall": True, "f1": True, "density": True,
    "coverage": True, "modes": True, "hq_share": True, "modes_1pct": True,
    "polygon_precision": True, "polygon_recall": True, "polygon_f1": True,
    "polygon_precision_se": False, "polygon_recall_se": False,
}
# Display order of metrics in tables (unknown keys follow alphabetically).
_METRIC_ORDER = (
    "fid", "is_mean", "kid_mean", "precision", "recall", "f1", "density", "coverage", "knn",
    "modes", "modes_1pct", "hq_share", "reverse_kl", "polygon_precision", "polygon_recall",
    "polygon_f1", "polygon_precision_se", "polygon_recall_se",
)
# The study's model order, so tables and figures list models the way the paper does.
_STUDY_MODEL_ORDER = ("mmgan", "nsgan", "lsgan", "wgan", "wgangp", "dragan", "began", "vae")

# Run-level columns, in frame order; the long frame adds step/elapsed/metric/value/is_final.
_ID_COLUMNS = ["suite", "run_id", "phase", "dataset", "model", "kind", "loss", "arch", "penalty",
               "setting", "seed", "status", "complete"]
_POINT_COLUMNS = ["step", "elapsed", "metric", "value", "is_final"]
_TAIL_COLUMNS = ["steps", "seconds", "train_seconds", "eval_seconds", "flops_per_step", "device",
                 "compute_hours", "extractor", "extractor_identity", "real_split", "n_real", "n_gen",
                 "diverged_at", "error", "dataset_params", "run_dir", "samples", "samples_2d", "departures"]
RUN_COLUMNS = _ID_COLUMNS + _TAIL_COLUMNS  # plus hp_<name> columns, inserted before _TAIL_COLUMNS

_CATEGORICAL = {"suite", "run_id", "phase", "dataset", "model", "kind", "loss", "arch", "penalty",
                "status", "metric", "device", "extractor", "extractor_identity", "real_split",
                "error", "dataset_params", "run_dir", "samples", "samples_2d", "departures"}
_INTEGER = {"setting", "seed", "steps", "n_real", "n_gen", "diverged_at", "step"}
_FLOAT = {"seconds", "train_seconds", "eval_seconds", "flops_per_step", "compute_hours", "elapsed",
          "value"}


# ---------------------------------------------------------------------------------------------
# metric directions and names


@lru_cache(maxsize=None)
def _registry_direction(key: str) -> bool | None:
    try:
        import ganbench.metrics  # noqa: F401  (importing the package registers its metrics)
        from ganbench.metrics.base import higher_is_better
    except Exception:  # torch missing or a half-written metric module: fall back quietly
        return None
    try:
        return higher_is_better(key)
    except Exception:
        return None


def metric_direction(key: str, higher: bool | None = None) -> bool:
    """True when larger values of ``key`` are better; ``higher`` overrides the lookup.

    The metric registry is asked first; a small built-in table covers keys no metric has declared
    yet. An unknown key is an error rather than a guess, because a wrong direction silently turns
    "best" into "worst".
    """
    if higher is not None:
        return bool(higher)
    found = _registry_direction(key)
    if found is None:
        found = _FALLBACK_HIGHER.get(key)
    if found is None:
        raise ValueError(f"metric '{key}' has no known direction; pass higher=True/False")
    return bool(found)


def known_direction(key: str) -> bool:
    """Whether :func:`metric_direction` can answer for ``key`` (registry or built-in table)."""
    try:
        metric_direction(key)
    except ValueError:
        return False
    return True


def metric_sort_key(key: str) -> tuple[int, str]:
    """Sort key putting the study's headline metrics (FID first) before the rest."""
    return (_METRIC_ORDER.index(key) if key in _METRIC_ORDER else len(_METRIC_ORDER), key)


def normalise_name(name: Any) -> str:
    """Case, spaces, dashes and underscores ignored: "NS GAN" ~ "ns-gan" ~ "ns_gan" → "nsgan"."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def model_order(models: Iterable[Any]) -> list[str]:
    """Models in the study's order (MM GAN, NS GAN, LSGAN, ...), then the rest alphabetically.

    Every table and figure uses this order so a model keeps its position (and colour) throughout.
    """
    unique = sorted({str(m) for m in models if m is not None and not pd.isna(m)})

    def key(name: str) -> tuple[int, str]:
        norm = normalise_name(name)
        rank = _STUDY_MODEL_ORDER.index(norm) if norm in _STUDY_MODEL_ORDER else len(_STUDY_MODEL_ORDER)
        return (rank, name.lower())

    return sorted(unique, key=key)


def default_by(frame: pd.DataFrame, base: Sequence[str] = ("dataset", "model")) -> tuple[str, ...]:
    """Grouping keys: ``base``, with ``suite`` in front when the frame holds several suites.

    Two suites usually differ in protocol (steps, extractor, sample counts), so their numbers
    are kept apart unless the caller groups explicitly.
    """
    base = tuple(base)
    if "suite" in frame.columns and "suite" not in base and frame["suite"].nunique(dropna=False) > 1:
        return ("suite",) + base
    return base


def _as_keys(by: str | Sequence[str] | None, frame: pd.DataFrame,
             base: Sequence[str]) -> tuple[str, ...]:
    if by is None:
        return default_by(frame, base)
    return (by,) if isinstance(by, str) else tuple(by)


def _group_rng(seed: int, key: Any) -> np.random.Generator:
    """A generator seeded by ``seed`` and the group's name (stable across filtering)."""
    text = json.dumps([str(k) for k in (key if isinstance(key, tuple) else (key,))])
    return np.random.default_rng([int(seed), zlib.crc32(text.encode())])


# ---------------------------------------------------------------------------------------------
# records → frame


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def _typed(name: str, values: list[Any]) -> Any:
    """A column with a compact dtype: categories for text, nullable ints, float64."""
    if name in _CATEGORICAL:
        return pd.Categorical([_text(v) for v in values])
    if name in _INTEGER:
        return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").round().astype("Int64").array
    if name in _FLOAT:
        return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=float)
    if name == "complete" or name == "is_final":
        return np.asarray(values, dtype=bool)
    return _hp_column(values)


def _hp_column(values: list[Any]) -> Any:
    """Hyperparameters mix numbers and names (lr vs d_norm); each column gets the dtype it needs."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, (bool, np.bool_)) for v in present):
        return pd.array(values, dtype="boolean")
    if all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
           for v in present):
        if present and all(isinstance(v, (int, np.integer)) for v in present):
            return pd.array(values, dtype="Int64")
        return np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    return pd.Categorical([_text(v) for v in values])


def _run_fields(rec: Mapping[str, Any]) -> dict[str, Any]:
    """The run-level facts of one record, with fallbacks for records that failed early."""
    spec = rec.get("spec") or {}
    model = spec.get("model") or {}
    compute = rec.get("compute") or {}
    protocol = rec.get("protocol") or {}
    evaluation = spec.get("evaluation") or {}
    history = rec.get("history") or []
    status = rec.get("status")
    seconds = compute.get("seconds")
    if seconds is None and history:
        seconds = history[-1].get("seconds")
    run_dir = rec.get("_dir")

    def under_dir(rel: Any) -> str | None:
        if not rel:
            return None
        return str(Path(run_dir) / str(rel)) if run_dir else str(rel)

    return {
        "suite": rec.get("suite", spec.get("suite")), "run_id": rec.get("run_id"),
        "phase": rec.get("phase", spec.get("phase")),
        "dataset": spec.get("dataset"), "model": model.get("name"), "kind": model.get("kind"),
        "loss": model.get("loss"), "arch": model.get("arch"), "penalty": model.get("penalty"),
        "setting": spec.get("setting"), "seed": spec.get("seed"), "status": status,
        "complete": status in COMPLETE_STATUSES,
        "steps": compute.get("steps", (spec.get("budget") or {}).get("steps")),
        "seconds": seconds, "train_seconds": compute.get("train_seconds"),
        "eval_seconds": compute.get("eval_seconds"), "flops_per_step": compute.get("flops_per_step"),
        "device": compute.get("device"),
        "compute_hours": None if seconds is None else float(seconds) / 3600.0,
        "extractor": protocol.get("extractor", evaluation.get("extractor")),
        "extractor_identity": protocol.get("identity"),
        "real_split": protocol.get("real_split", evaluation.get("split")),
        "n_real": protocol.get("n_real", evaluation.get("n_real")),
        "n_gen": protocol.get("n_gen", evaluation.get("n_gen")),
        "diverged_at": rec.get("diverged_at"), "error": rec.get("error"),
        "dataset_params": spec.get("dataset_params") or None,
        "run_dir": run_dir, "samples": under_dir(rec.get("samples")),
        "samples_2d": under_dir(rec.get("samples_2d")),
        "departures": "; ".join(lucic2018.departures(spec)) if spec else None,
    }


def _empty_frame(hp_names: Sequence[str] = ()) -> pd.DataFrame:
    columns = _ID_COLUMNS + _POINT_COLUMNS + [f"hp_{n}" for n in hp_names] + _TAIL_COLUMNS
    return pd.DataFrame({c: _typed(c, []) for c in columns})


def records_to_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """The tidy frame: one row per run × metric × evaluation point.

    Runs with no evaluation (failed early, diverged before the first checkpoint) keep one row with
    ``metric``/``value`` missing, so run counts and failure rates stay right. Columns are built as
    plain lists per run and per point and joined once by index (a DataFrame per row would be two
    orders of magnitude slower at 10,000 runs). A record repeated under the same (suite, run_id)
    is kept once; the count of dropped duplicates is in ``frame.attrs["duplicates"]``. A metric
    value that is not a number (e.g. a list of per-mode counts) becomes NaN.
    """
    run_values: dict[str, list[Any]] = {c: [] for c in _ID_COLUMNS + _TAIL_COLUMNS}
    hparams: list[Mapping[str, Any]] = []
    p_run: list[int] = []
    p_step: list[Any] = []
    p_elapsed: list[Any] = []
    p_metric: list[Any] = []
    p_value: list[Any] = []
    p_final: list[bool] = []
    seen: set[tuple[Any, Any]] = set()
    duplicates = 0
    for rec in records:
        key = (rec.get("suite", (rec.get("spec") or {}).get("suite")), rec.get("run_id"))
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        index = len(hparams)
        for name, value in _run_fields(rec).items():
            run_values[name].append(value)
        hparams.append((rec.get("spec") or {}).get("hparams") or {})
        start = len(p_run)
        history = rec.get("history") or []
        last = len(history) - 1
        for j, point in enumerate(history):
            metrics = point.get("metrics") or {}
            n = len(metrics)
            if not n:
                continue
            p_run.extend([index] * n)
            p_step.extend([point.get("step")] * n)
            p_elapsed.extend([point.get("seconds")] * n)
            p_metric.extend(metrics.keys())
            p_value.extend(metrics.values())
            p_final.extend([j == last] * n)
        if len(p_run) == start:
            # No history: keep the final metrics if the run recorded any, else one empty row.
            final = rec.get("final") or {}
            items = list(final.items()) or [(None, None)]
            step = run_values["steps"][-1] if final else None
            p_run.extend([index] * len(items))
            p_step.extend([step] * len(items))
            p_elapsed.extend([run_values["seconds"][-1] if final else None] * len(items))
            p_metric.extend(k for k, _ in items)
            p_value.extend(v for _, v in items)
            p_final.extend([True] * len(items))

    hp_names = sorted({name for hp in hparams for name in hp})
    if not hparams:
        frame = _empty_frame()
        frame.attrs["duplicates"] = duplicates
        return frame
    runs = {c: _typed(c, run_values[c]) for c in _ID_COLUMNS}
    for name in hp_names:
        runs[f"hp_{name}"] = _hp_column([hp.get(name) for hp in hparams])
    runs.update({c: _typed(c, run_values[c]) for c in _TAIL_COLUMNS})
    run_frame = pd.DataFrame(runs)

    take = np.asarray(p_run, dtype=np.intp)
    long = run_frame.iloc[take].reset_index(drop=True)
    try:
        values = np.asarray(p_value, dtype=float)
    except (TypeError, ValueError):
        values = pd.to_numeric(pd.Series(p_value, dtype=object), errors="coerce").to_numpy(float)
    points = {"step": _typed("step", p_step), "elapsed": _typed("elapsed", p_elapsed),
              "metric": pd.Categorical(p_metric), "value": values,
              "is_final": np.asarray(p_final, dtype=bool)}
    position = len(_ID_COLUMNS)
    for offset, (name, column) in enumerate(points.items()):
        long.insert(position + offset, name, column)
    long.attrs["duplicates"] = duplicates
    return long


def load_results(path: str | Path) -> pd.DataFrame:
    """Every readable run under ``path`` (results dir, one suite dir or one run dir) as a frame.

    Records the store could not read are listed in ``frame.attrs["unreadable"]`` as
    ``(path, reason)`` pairs, so a report can say what it left out instead of hiding it.
    """
    from ganbench.store import scan  # lazily: the store may pull in heavier modules

    result = scan(Path(path))
    frame = records_to_frame(result.records)
    frame.attrs["unreadable"] = [(str(p), str(reason)) for p, reason in result.unreadable]
    frame.attrs["source"] = str(path)
    return frame


def save_frame(df: pd.DataFrame, directory: str | Path, name: str = "results") -> tuple[Path, Path]:
    """Write ``df`` as ``<name>.parquet`` (typed, compact) and ``<name>.csv`` (for anyone)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    parquet, csv = directory / f"{name}.parquet", directory / f"{name}.csv"
    clean = df.copy()
    clean.attrs = {k: v for k, v in df.attrs.items() if _jsonable(v)}
    clean.to_parquet(parquet, index=False)
    clean.to_csv(csv, index=False)
    return parquet, csv


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


# ---------------------------------------------------------------------------------------------
# one row per run


def run_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run with its run-level columns (no metric values)."""
    columns = [c for c in df.columns if c not in _POINT_COLUMNS]
    first = ~df.duplicated(["suite", "run_id"])
    return df.loc[first, columns].reset_index(drop=True)


def run_scores(df: pd.DataFrame, metric: str = "fid", how: str = "best", *,
               higher: bool | None = None, runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per run: its ``score`` for ``metric`` and the step it came from.

    ``how="best"`` is the study's rule (best value over checkpoints, direction from the metric
    registry); ``"final"`` takes the last checkpoint that has the metric. Runs without the metric
    stay in with a missing score so that failure counts are never lost.
    """
    if how not in ("best", "final"):
        raise ValueError(f"how must be 'best' or 'final', not {how!r}")
    up = metric_direction(metric, higher)
    runs = run_table(df) if runs is None else runs
    sub = df.loc[(df["metric"] == metric).to_numpy() & df["value"].notna().to_numpy(),
                 ["suite", "run_id", "step", "value"]]
    if len(sub):
        grouped = sub.groupby(["suite", "run_id"], observed=True, sort=False)
        if how == "best":
            pick = grouped["value"].idxmax() if up else grouped["value"].idxmin()
        else:
            pick = grouped["step"].idxmax()
        chosen = sub.loc[pick.to_numpy(), ["suite", "run_id", "value", "step"]]
    else:
        chosen = pd.DataFrame({"suite": pd.Series(dtype=runs["suite"].dtype),
                               "run_id": pd.Series(dtype=runs["run_id"].dtype),
                               "value": pd.Series(dtype=float), "step": pd.Series(dtype="Int64")})
    chosen = chosen.rename(columns={"value": "score", "step": "score_step"})
    out = runs.merge(chosen, on=["suite", "run_id"], how="left", sort=False)
    out.insert(len(_ID_COLUMNS), "metric", metric)
    out.insert(len(_ID_COLUMNS) + 1, "how", how)
    out.insert(len(_ID_COLUMNS) + 2, "higher_is_better", up)
    out.insert(len(_ID_COLUMNS) + 3, "score", out.pop("score"))
    out.insert(len(_ID_COLUMNS) + 4, "score_step", out.pop("score_step"))
    return out


def _scores_direction(scores: pd.DataFrame) -> bool:
    if "higher_is_better" in scores.columns and len(scores):
        return bool(scores["higher_is_better"].iloc[0])
    if "metric" in scores.columns and len(scores):
        return metric_direction(str(scores["metric"].iloc[0]))
    return False


# ---------------------------------------------------------------------------------------------
# which runs are the seed study and which are the search


def _plain(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.notna(), None)


def seed_mask(group: pd.DataFrame, higher: bool = False) -> np.ndarray:
    """Runs of one (dataset, model) that form its seed study ("best setting, many seeds").

    A phase named ``seeds`` wins. Otherwise the (phase, setting) with the most distinct seeds,
    if at least two; ties go to the setting with the best mean score, since the study retrains
    its *best* setting. All False when there is no seed study.
    """
    phase = _plain(group["phase"])
    if (phase == "seeds").any():
        return (phase == "seeds").to_numpy()
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

    Phases that only re-run one setting under many seeds (named ``seeds``, or holding a single
    setting with several seeds) are left out when other phases exist: resampling fifty copies of
    the best setting would make any budget look rich.
    """
    phase = _plain(group["phase"]).astype(str)
    setting = _plain(group["setting"]).astype(str)
    seeds = group["seed"].astype("Float64")
    info = pd.DataFrame({"phase": phase, "setting": setting, "seed": seeds}).groupby("phase").agg(
        settings=("setting", "nunique"), seeds=("seed", "nunique"))
    seed_only = info.index[(info.index == "seeds") | ((info["settings"] == 1) & (info["seeds"] >= 2))]
    keep = ~phase.isin(seed_only).to_numpy()
    return keep if keep.any() else np.ones(len(group), dtype=bool)


def _key(values: Any) -> tuple[str | None, ...]:
    """A group key as plain strings (missing → None), so keys from different frames compare."""
    values = values if isinstance(values, tuple) else (values,)
    return tuple(None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)
                 for v in values)


def annotate_pools(scores: pd.DataFrame, by: Sequence[str] | None = None) -> pd.DataFrame:
    """``scores`` plus boolean ``seed_run`` (:func:`seed_mask`) and ``search_run`` (:func:`search_mask`).

    Figures need to know, run by run, which spread a point belongs to: seeds of the best setting
    or the hyperparameter search.
    """
    keys = list(_as_keys(by, scores, ("dataset", "model")))
    up = _scores_direction(scores)
    seed_run = np.zeros(len(scores), dtype=bool)
    search_run = np.zeros(len(scores), dtype=bool)
    if len(scores):
        grouped = scores.groupby(keys, observed=True, dropna=False, sort=False)
        for positions in grouped.indices.values():
            group = scores.iloc[positions]
            seed_run[positions] = seed_mask(group, up)
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


def _groups(frame: pd.DataFrame, keys: Sequence[str]) -> Iterable[tuple[tuple, pd.DataFrame]]:
    if not len(frame):
        return []
    grouped = frame.groupby(list(keys), observed=True, sort=True, dropna=False)
    return ((_key(k), g) for k, g in grouped)


# ---------------------------------------------------------------------------------------------
# summary table


def _bootstrap_mean_ci(values: np.ndarray, rng: np.random.Generator, n_boot: int,
                       level: float) -> tuple[float, float]:
    if len(values) < 2:
        return (np.nan, np.nan)
    means = values[rng.integers(0, len(values), size=(n_boot, len(values)))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)


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
    keys = list(_as_keys(by, df, ("dataset", "model")))
    runs = run_table(df)
    if metrics is None:
        present = [str(m) for m in pd.unique(df["metric"].dropna().astype(str))]
        metrics = sorted((m for m in present if known_direction(m)), key=metric_sort_key)
    status = _plain(runs["status"]).fillna("unknown")
    counts = pd.DataFrame({k: runs[k] for k in keys})
    for name in COMPLETE_STATUSES:
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
        up = metric_direction(metric)
        per_group = {key: _metric_summary(group, metric, up, _group_rng(seed, (metric,) + key),
                                          n_boot, level)
                     for key, group in _groups(scores, keys)}
        empty = _metric_summary(scores.iloc[:0], metric, up, None, n_boot, level)
        for key in table[keys].itertuples(index=False, name=None):
            for name, value in per_group.get(_key(tuple(key)), empty).items():
                columns.setdefault(name, []).append(value)
    if columns:  # one concat, not one insert per column (pandas warns on fragmented frames)
        table = pd.concat([table, pd.DataFrame(columns, index=table.index)], axis=1)
    if "model" in keys and len(table):
        order = {m: i for i, m in enumerate(model_order(table["model"]))}
        other = [k for k in keys if k != "model"]
        table = table.assign(_order=table["model"].astype(str).map(order)) \
            .sort_values(other + ["_order"], kind="stable").drop(columns="_order") \
            .reset_index(drop=True)
    return table


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
    low, high = (_bootstrap_mean_ci(seeds, rng, n_boot, level) if rng is not None
                 else (np.nan, np.nan))
    out[f"{metric}_ci_low"], out[f"{metric}_ci_high"] = low, high
    return out


# ---------------------------------------------------------------------------------------------
# budget curves


def _min_weights(n: int, ks: np.ndarray) -> np.ndarray:
    """W[j, i]: probability that the i-th smallest of n values is the min of ks[j] draws.

    P(min = v_(i)) = ((n-i+1)/n)^k - ((n-i)/n)^k for 1-based i (with replacement), so the
    expected minimum is W @ sorted(values).
    """
    i = np.arange(1, n + 1, dtype=float)
    k = np.asarray(ks, dtype=float)[:, None]
    return ((n - i + 1) / n) ** k - ((n - i) / n) ** k


def expected_min(values: Sequence[float] | np.ndarray, k: int | Sequence[int]) -> np.ndarray | float:
    """Exact expected minimum of ``k`` draws with replacement from ``values`` (closed form)."""
    v = np.sort(np.asarray(values, dtype=float))
    if not len(v):
        raise ValueError("expected_min needs at least one value")
    ks = np.atleast_1d(np.asarray(k, dtype=int))
    if (ks < 1).any():
        raise ValueError("k must be >= 1")
    result = _min_weights(len(v), ks) @ v
    return float(result[0]) if np.ndim(k) == 0 else result


def _exact_min_quantiles(sorted_v: np.ndarray, ks: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """Quantiles (inverted CDF) of the min of k draws: P(min <= v_(i)) = 1 - ((n-i)/n)^k."""
    n = len(sorted_v)
    i = np.arange(1, n + 1, dtype=float)
    cdf = 1.0 - ((n - i) / n) ** ks[:, None].astype(float)
    out = np.empty((len(qs), len(ks)))
    for row, q in enumerate(qs):
        out[row] = sorted_v[np.argmax(cdf >= q - 1e-12, axis=1)]
    return out


def _settings_curve(values: np.ndarray, rng: np.random.Generator, n_boot: int | None,
                    qs: Sequence[float], max_k: int | None) -> dict[str, np.ndarray]:
    n = len(values)
    ks = np.arange(1, (min(max_k, n) if max_k else n) + 1)
    if n_boot is None:
        v = np.sort(values)
        mean = _min_weights(n, ks) @ v
        bands = _exact_min_quantiles(v, ks, qs)
    else:
        # The running minimum over n i.i.d. draws gives the min of the first k for every k at once.
        draws = values[rng.integers(0, n, size=(n_boot, ks[-1]))]
        mins = np.minimum.accumulate(draws, axis=1)
        mean = mins.mean(axis=0)
        bands = np.quantile(mins, qs, axis=0)
    return {"k": ks, "mean": mean, "q_low": bands[0], "q_high": bands[-1]}


def _hours_curve(values: np.ndarray, hours: np.ndarray, rng: np.random.Generator, n_boot: int,
                 qs: Sequence[float], n_grid: int) -> dict[str, np.ndarray]:
    """Best score so far when the runs are trained one after another in random order."""
    n = len(values)
    total = float(hours.sum())
    low = float(hours.min())
    grid = np.geomspace(low, total, n_grid) if low > 0 else np.linspace(low, total, n_grid)
    grid[-1] = total * (1 + 1e-9)  # every run finished, whatever the summation order
    order = np.argsort(rng.random((n_boot, n)), axis=1)
    done_at = np.cumsum(hours[order], axis=1)
    best = np.minimum.accumulate(values[order], axis=1)
    # One searchsorted over all draws: shift draw r by r * width so rows never overlap.
    width = 2.0 * total + 1.0
    shift = np.arange(n_boot, dtype=float)[:, None] * width
    flat = (done_at + shift).ravel()
    pos = np.searchsorted(flat, (grid[None, :] + shift).ravel(), side="right").reshape(n_boot, -1)
    last = pos - 1 - np.arange(n_boot)[:, None] * n  # index of the last finished run, -1 if none
    reached = last >= 0
    at = np.where(reached, np.take_along_axis(best, np.clip(last, 0, n - 1), axis=1), np.nan)
    share = reached.mean(axis=0)
    count = reached.sum(axis=0)
    mean = np.where(count > 0, np.where(reached, at, 0.0).sum(axis=0) / np.maximum(count, 1), np.nan)
    with np.errstate(all="ignore"):
        bands = np.full((len(qs), len(grid)), np.nan)
        cols = share > 0
        if cols.any():
            bands[:, cols] = np.nanquantile(at[:, cols], qs, axis=0)
    return {"hours": grid, "mean": mean, "q_low": bands[0], "q_high": bands[-1], "reached": share}


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
    keys = list(_as_keys(by, scores, ("dataset", "model")))
    up = _scores_direction(scores)
    sign = -1.0 if up else 1.0  # maximise by minimising the negation
    metric = str(scores["metric"].iloc[0]) if "metric" in scores.columns and len(scores) else None
    if pool == "search":
        scores = scores[_search_rows(scores, keys)]
        if "phase" in scores.columns and "phase" not in keys:
            keys = keys + ["phase"]
    parts = []
    for key, group in _groups(scores, keys):
        scored, failed, _ = _pool(group)
        if budget == "hours":
            timed = (group["compute_hours"].notna() & (group["compute_hours"] >= 0)).to_numpy()
            scored, failed = scored & timed, failed & timed
        n_missing = int(len(group) - scored.sum() - failed.sum())
        values = _pool_values(group[scored | failed], metric, up)  # scored first, then the failures
        if not len(values):
            continue  # nothing usable, or only failures of a metric without a failure score
        rng = _group_rng(seed, (budget,) + key)
        qs = (quantiles[1], quantiles[0]) if up else quantiles  # a low min is a high max
        signed = sign * values
        if budget == "settings":
            curve = _settings_curve(signed, rng, n_boot, qs, max_k)
        else:
            hours = np.concatenate([group["compute_hours"].to_numpy(dtype=float)[scored],
                                    group["compute_hours"].to_numpy(dtype=float)[failed]])
            curve = _hours_curve(signed, hours, rng, n_boot, qs, n_grid)
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


# ---------------------------------------------------------------------------------------------
# pairwise comparisons


def _holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (monotone, capped at 1)."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    if not ok.any():
        return out
    q = p[ok]
    m = len(q)
    order = np.argsort(q)
    adjusted = np.maximum.accumulate((m - np.arange(m)) * q[order])
    result = np.empty(m)
    result[order] = np.minimum(adjusted, 1.0)
    out[ok] = result
    return out


def _bootstrap_expected_min(values: np.ndarray, k: int, rng: np.random.Generator,
                            n_boot: int) -> np.ndarray:
    """Expected min at budget k for n_boot bootstrap resamples of ``values`` (closed form each)."""
    n = len(values)
    resampled = np.sort(values[rng.integers(0, n, size=(n_boot, n))], axis=1)
    return resampled @ _min_weights(n, np.array([k]))[0]


def pairwise_tests(scores: pd.DataFrame, by: str | Sequence[str] | None = None, *,
                   k: int | None = None, n_boot: int = 2000, seed: int = 0,
                   level: float = 0.95) -> pd.DataFrame:
    """Every pair of models within a dataset: rank test on seeds and a budget comparison.

    ``p_value`` is a two-sided Mann–Whitney U over the seed study of each model when both have
    one (``sample="seeds"``), else over all scored runs (``"runs"``); ``p_holm`` adjusts it over the
    pairs of one dataset. ``p_a_better`` is the common-language effect size (the chance a random
    run of A scores better than one of B, ties count half); ``rank_biserial`` = 2·p_a_better − 1.
    The budget part compares expected best scores at ``k`` settings (default: the smaller search
    pool) under a bootstrap of each model's runs of its main search phase (:func:`main_search_phase`,
    named in ``pool_phase``; failed runs in it as the study's failures, see :func:`budget_curve`):
    ``diff`` = A − B in metric units,
    ``diff_ci_low/high`` its ``level`` interval and ``share_diff_le0`` the share of bootstrap
    differences ≤ 0 (for FID: how often A's expected best is at least as good as B's).
    """
    from scipy.stats import mannwhitneyu

    keys = list(_as_keys(by, scores, ("dataset",)))
    up = _scores_direction(scores)
    metric = str(scores["metric"].iloc[0]) if "metric" in scores.columns and len(scores) else None
    sign = -1.0 if up else 1.0
    tail = (1.0 - level) / 2.0
    rows: list[dict[str, Any]] = []
    for key, group in _groups(scores, keys):
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
                rng = _group_rng(seed, ("pairwise",) + tuple(key) + (model, budget_k))
                pool_values = sign * per_model[model]["pool"]
                cache[model, budget_k] = sign * _bootstrap_expected_min(pool_values, budget_k, rng,
                                                                        n_boot)
            return cache[model, budget_k]

        start = len(rows)
        for a, b in itertools.combinations(model_order(per_model), 2):
            A, B = per_model[a], per_model[b]
            sample = "seeds" if len(A["seeds"]) >= 2 and len(B["seeds"]) >= 2 else "runs"
            x, y = A[sample], B[sample]
            row: dict[str, Any] = dict(zip(keys, key))
            row.update({"model_a": a, "model_b": b, "sample": sample, "n_a": len(x), "n_b": len(y)})
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
        holm = _holm(np.array([r["p_value"] for r in rows[start:]], dtype=float))
        for row, adjusted in zip(rows[start:], holm):
            row["p_holm"] = float(adjusted)
    columns = keys + ["model_a", "model_b", "sample", "n_a", "n_b", "u", "p_value", "p_holm",
                      "p_a_better", "rank_biserial", "pool_a", "pool_b", "pool_phase", "k", "emin_a", "emin_b",
                      "diff", "diff_ci_low", "diff_ci_high", "share_diff_le0"]
    return pd.DataFrame(rows, columns=columns)


# ---------------------------------------------------------------------------------------------
# published numbers


def default_reference_path() -> Path:
    """The study's Table 2 (FID mean ± std over 50 seeds), shipped with the package."""
    return Path(str(resources.files("ganbench") / "reference" / "lucic2018_fid.csv"))


_REFERENCE_COLUMNS = ("model", "dataset", "fid_mean", "fid_std", "source")


def reference_table(path: str | Path | None = None) -> pd.DataFrame:
    """A published-numbers CSV (model, dataset, fid_mean, fid_std, source); default: Lucic 2018."""
    path = default_reference_path() if path is None else Path(path)
    table = pd.read_csv(path)
    missing = [c for c in _REFERENCE_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: reference table lacks column(s) {', '.join(missing)} "
                         f"(needs {', '.join(_REFERENCE_COLUMNS)})")
    keys = table["dataset"].map(normalise_name) + "/" + table["model"].map(normalise_name)
    if keys.duplicated().any():
        raise ValueError(f"{path}: duplicate rows for {', '.join(sorted(set(keys[keys.duplicated()])))}")
    return table


def attach_reference(summary_table: pd.DataFrame, ref: pd.DataFrame | None) -> pd.DataFrame:
    """``summary_table`` plus ``published_fid_mean``, ``published_fid_std`` and ``published_source``.

    Rows match on dataset and model after :func:`normalise_name` ("WGAN GP" ~ "wgan-gp"), so a
    suite does not have to spell models like the paper. Unmatched rows get missing values.
    """
    out = summary_table.copy()
    lookup: dict[tuple[str, str], tuple[float, float, str]] = {}
    if ref is not None:
        for row in ref.itertuples(index=False):
            lookup[(normalise_name(row.dataset), normalise_name(row.model))] = (
                float(row.fid_mean), float(row.fid_std), str(row.source))
    matches = [lookup.get((normalise_name(d), normalise_name(m)), (np.nan, np.nan, None))
               for d, m in zip(out["dataset"], out["model"])]
    out["published_fid_mean"] = [m[0] for m in matches]
    out["published_fid_std"] = [m[1] for m in matches]
    out["published_source"] = [m[2] for m in matches]
    return out
