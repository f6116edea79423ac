"""Run records → one tidy pandas DataFrame: one row per run × metric × evaluation point.

Everything downstream of the store (reports, notebooks, the CLI, the regression gate) works on this
frame, so they share one vocabulary of columns. Each point row carries its metric's direction
(``higher_is_better``, from the record, never from the metrics registry) and ``is_best``: whether it
is the run's best value of that metric by :func:`~ganbench.results.record.best_over`, the one rule a
run is scored by.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ganbench import lucic2018
from ganbench.results.record import COMPLETE, STATUSES, RunRecord, best_over
from ganbench.schedules import describe, is_schedule

__all__ = ["RUN_COLUMNS", "STATUSES", "directions", "load_results", "metric_direction",
           "records_to_frame", "run_table", "save_frame"]

# Run-level columns, in frame order; the long frame adds the point columns after them.
ID_COLUMNS = ["suite", "run_id", "phase", "role", "dataset", "model", "kind", "loss", "arch", "penalty",
              "conditioning", "augment", "setting", "seed", "status", "complete"]
POINT_COLUMNS = ["step", "elapsed", "metric", "value", "higher_is_better", "is_best", "is_final"]
TAIL_COLUMNS = ["steps", "seconds", "train_seconds", "eval_seconds", "flops_per_step", "device", "ensemble",
                "compute_hours", "extractor", "extractor_identity", "real_split", "n_real", "n_gen",
                "diverged_at", "diverged_cause", "error", "dataset_params", "run_dir", "samples", "samples_2d",
                "mode_centres", "departures", "headline", "protocol_card", "sampling_panel", "calibration_samples"]
RUN_COLUMNS = ID_COLUMNS + TAIL_COLUMNS  # plus hp_<name> columns, inserted before TAIL_COLUMNS

_CATEGORICAL = {"suite", "run_id", "phase", "role", "dataset", "model", "kind", "loss", "arch", "penalty",
                "conditioning", "augment",
                "status", "metric", "device", "extractor", "extractor_identity", "real_split",
                "diverged_cause", "error", "dataset_params", "run_dir", "samples", "samples_2d", "mode_centres",
                "departures", "headline", "protocol_card", "sampling_panel", "calibration_samples"}
_INTEGER = {"setting", "seed", "steps", "n_real", "n_gen", "diverged_at", "step", "ensemble"}
_FLOAT = {"seconds", "train_seconds", "eval_seconds", "flops_per_step", "compute_hours", "elapsed",
          "value"}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        value = dict(value)
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
    if name in ("complete", "is_final", "is_best"):
        return np.asarray(values, dtype=bool)
    if name == "higher_is_better":
        return pd.array(values, dtype="boolean")
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
    return pd.Categorical([describe(v) if is_schedule(v) else _text(v) for v in values])  # a schedule in words


def _run_fields(rec: RunRecord) -> dict[str, Any]:
    """The run-level facts of one record (spec values where a record that failed early has no protocol)."""
    spec = rec.spec
    model = spec.get("model") or {}
    compute = rec.compute
    protocol = rec.protocol
    evaluation = spec.get("evaluation") or {}
    seconds = compute.get("seconds")
    if seconds is None and rec.history:
        seconds = rec.history[-1].get("seconds")
    return {
        "suite": rec.suite, "run_id": rec.run_id, "phase": rec.phase, "role": rec.role,
        "dataset": spec.get("dataset"), "model": model.get("name"), "kind": model.get("kind"),
        "loss": model.get("loss"), "arch": model.get("arch"), "penalty": model.get("penalty"),
        "conditioning": model.get("conditioning", "none") if model else None,
        "augment": model.get("augment", "none") if model else None,
        "setting": spec.get("setting"), "seed": spec.get("seed"), "status": rec.status,
        "complete": rec.status in COMPLETE,
        "steps": compute.get("steps", (spec.get("budget") or {}).get("steps")),
        "seconds": seconds, "train_seconds": compute.get("train_seconds"),
        "eval_seconds": compute.get("eval_seconds"), "flops_per_step": compute.get("flops_per_step"),
        "device": compute.get("device"),
        "ensemble": (compute.get("ensemble") or {}).get("members"),  # trained as a member of K (--ensemble)
        "compute_hours": None if seconds is None else float(seconds) / 3600.0,
        "extractor": protocol.get("extractor", evaluation.get("extractor")),
        "extractor_identity": protocol.get("identity"),
        "real_split": protocol.get("real_split", evaluation.get("split")),
        "n_real": protocol.get("n_real", evaluation.get("n_real")),
        "n_gen": protocol.get("n_gen", evaluation.get("n_gen")),
        "diverged_at": rec.diverged_at, "diverged_cause": rec.diverged_cause, "error": rec.error,
        "dataset_params": spec.get("dataset_params") or None,
        "run_dir": rec.run_dir, "samples": rec.sample_grid, "samples_2d": rec.sample_points,
        "mode_centres": [list(c) for c in rec.mode_centres] if rec.mode_centres else None,
        "departures": "; ".join(lucic2018.departures(spec)) if spec else None,
        "headline": spec.get("headline"),
        "protocol_card": protocol_card(protocol) if protocol else None,
        "sampling_panel": _final_panel(rec.history),
        "calibration_samples": protocol.get("calibration_samples"),  # a calibration row's: where they came from
    }


def _final_panel(history: Sequence[Mapping[str, Any]]) -> dict[str, list[float]] | None:
    """The seed panel of the last evaluation point that has one (metric key → its value under each sampling
    seed), what :func:`ganbench.results.study.seed_panel` decomposes; None when the run scored one seed."""
    for row in reversed(history):
        panel = row.get("sampling_panel")
        if panel:
            return {str(k): [float(v) for v in values] for k, values in panel.items()}
    return None


def protocol_card(protocol: Mapping[str, Any]) -> str:
    """What moved a run's numbers, in one line: extractor and weights, layer, preprocessing, sample counts and
    split, feature dtype, library versions (what an older record stored; fields it lacks are left out)."""
    parts = [f"{protocol.get('identity') or protocol.get('extractor')} ({protocol.get('pool_layer')} features)"]
    if protocol.get("preprocessing"):
        parts.append(f"preprocessing: {protocol['preprocessing']}")
    parts.append(f"{protocol.get('n_gen')} generated vs {protocol.get('n_real')} real ({protocol.get('real_split')})"
                 + (f", {protocol['n_train']} train" if protocol.get("n_train") else "")
                 + (f", mean of {protocol['sampling_seeds']} sampling seeds"
                    if (protocol.get("sampling_seeds") or 1) > 1 else ""))
    if protocol.get("feature_dtype"):
        parts.append(f"features {protocol['feature_dtype']}")
    versions = protocol.get("versions") or {}
    if versions:
        parts.append(", ".join(f"{k} {v}" for k, v in versions.items()))
    return " · ".join(parts)


def _empty_frame(hp_names: Sequence[str] = ()) -> pd.DataFrame:
    columns = ID_COLUMNS + POINT_COLUMNS + [f"hp_{n}" for n in hp_names] + TAIL_COLUMNS
    return pd.DataFrame({c: _typed(c, []) for c in columns})


def records_to_frame(records: Iterable[RunRecord | Mapping[str, Any]]) -> pd.DataFrame:
    """The tidy frame: one row per run × metric × evaluation point.

    Runs with no evaluation (failed early, diverged before the first checkpoint) keep one row with
    ``metric``/``value`` missing, so run counts and failure rates stay right. Columns are built as
    plain lists per run and per point and joined once by index (a DataFrame per row would be two
    orders of magnitude slower at 10,000 runs). A record repeated under the same (suite, run_id)
    is kept once; the count of dropped duplicates is in ``frame.attrs["duplicates"]``. A metric
    value that is not a number (e.g. a list of per-mode counts) becomes NaN. Records may be
    :class:`RunRecord` or their merged dictionary form (:meth:`RunRecord.from_dict`).
    """
    run_values: dict[str, list[Any]] = {c: [] for c in ID_COLUMNS + TAIL_COLUMNS}
    hparams: list[Mapping[str, Any]] = []
    points: dict[str, list[Any]] = {c: [] for c in ("run", *POINT_COLUMNS)}
    seen: set[tuple[Any, Any]] = set()
    duplicates = 0
    for raw in records:
        rec = RunRecord.from_dict(raw)
        if (rec.suite, rec.run_id) in seen:
            duplicates += 1
            continue
        seen.add((rec.suite, rec.run_id))
        index = len(hparams)
        for name, value in _run_fields(rec).items():
            run_values[name].append(value)
        hparams.append(rec.spec.get("hparams") or {})
        _, best_step = best_over(rec.history, rec.directions)
        start = len(points["run"])
        last = len(rec.history) - 1
        for j, point in enumerate(rec.history):
            metrics = point.get("metrics") or {}
            n, step = len(metrics), point.get("step")
            if not n:
                continue
            points["run"].extend([index] * n)
            points["step"].extend([step] * n)
            points["elapsed"].extend([point.get("seconds")] * n)
            points["metric"].extend(metrics.keys())
            points["value"].extend(metrics.values())
            points["higher_is_better"].extend(rec.directions.get(m) for m in metrics)
            points["is_best"].extend(best_step.get(m) == step for m in metrics)
            points["is_final"].extend([j == last] * n)
        if len(points["run"]) == start:
            # No history: keep the final metrics if the run recorded any, else one empty row.
            items = list(rec.final.items()) or [(None, None)]
            for metric, value in items:
                _add_point(points, index, run_values["steps"][-1] if rec.final else None,
                           run_values["seconds"][-1] if rec.final else None, metric, value,
                           rec.directions.get(metric) if metric else None, metric is not None, True)

    hp_names = sorted({name for hp in hparams for name in hp})
    if not hparams:
        frame = _empty_frame()
        frame.attrs["duplicates"] = duplicates
        return frame
    runs = {c: _typed(c, run_values[c]) for c in ID_COLUMNS}
    for name in hp_names:
        runs[f"hp_{name}"] = _hp_column([hp.get(name) for hp in hparams])
    runs.update({c: _typed(c, run_values[c]) for c in TAIL_COLUMNS})
    run_frame = pd.DataFrame(runs)

    take = np.asarray(points.pop("run"), dtype=np.intp)
    long = run_frame.iloc[take].reset_index(drop=True)
    try:
        values = np.asarray(points["value"], dtype=float)
    except (TypeError, ValueError):
        values = pd.to_numeric(pd.Series(points["value"], dtype=object), errors="coerce").to_numpy(float)
    columns = {name: (values if name == "value" else pd.Categorical(points[name]) if name == "metric"
                      else _typed(name, points[name])) for name in POINT_COLUMNS}
    position = len(ID_COLUMNS)
    for offset, (name, column) in enumerate(columns.items()):
        long.insert(position + offset, name, column)
    long.attrs["duplicates"] = duplicates
    return long


def _add_point(points: dict[str, list[Any]], run: int, step: Any, elapsed: Any, metric: Any, value: Any,
               higher: bool | None, is_best: bool, is_final: bool) -> None:
    for name, item in (("run", run), ("step", step), ("elapsed", elapsed), ("metric", metric), ("value", value),
                       ("higher_is_better", higher), ("is_best", is_best), ("is_final", is_final)):
        points[name].append(item)


def directions(df: pd.DataFrame) -> dict[str, bool]:
    """Metric → higher is better, as the frame's records say (metrics without a direction left out)."""
    if "higher_is_better" not in df.columns or "metric" not in df.columns:
        return {}
    known = df.loc[df["higher_is_better"].notna() & df["metric"].notna(), ["metric", "higher_is_better"]]
    pairs = known.drop_duplicates()
    out: dict[str, bool] = {}
    for metric, up in zip(pairs["metric"].astype(str), pairs["higher_is_better"]):
        if out.setdefault(metric, bool(up)) != bool(up):
            raise ValueError(f"metric '{metric}' is recorded with both directions")
    return out


def metric_direction(df: pd.DataFrame, key: str) -> bool:
    """True when larger values of ``key`` are better, as the records say; an unknown key is an error
    rather than a guess, because a wrong direction silently turns "best" into "worst". Runs without any
    metric value (a report of failed runs only) have nothing to order: lower, by convention."""
    found = directions(df).get(key)
    if found is None and not df["metric"].notna().any():
        return False
    if found is None:
        raise ValueError(f"metric '{key}' has no recorded direction in these runs")
    return found


def load_results(path: str | Path) -> pd.DataFrame:
    """Every readable run under ``path`` (results dir, one suite dir or one run dir) as a frame.

    Records the store could not read are listed in ``frame.attrs["unreadable"]`` as
    ``(path, reason)`` pairs, so a report can say what it left out instead of hiding it.
    """
    from ganbench.results.store import scan

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


def run_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run with its run-level columns (no metric values)."""
    columns = [c for c in df.columns if c not in POINT_COLUMNS]
    first = ~df.duplicated(["suite", "run_id"])
    return df.loc[first, columns].reset_index(drop=True)
