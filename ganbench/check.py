"""GAN regression checks: compare a suite's results with a stored baseline, tolerant of seed variance.

A baseline holds, per (dataset, model, metric), the median over runs of each run's best value, the
spread over runs (std) and a tolerance derived from it: max(z·std, rel·|value|, floor). ``check``
recomputes the same median from current results; a metric that moved in its bad direction by more
than the tolerance (× ``scale``) is a regression, and a (dataset, model) in the baseline with no
finished run is reported as missing. Both fail the check.

A gate that cannot fail only reassures, so a baseline entry must be able to fail twice over
(:func:`weaknesses`): its tolerance must stay inside the metric's range on the bad side (a 1-NN
accuracy of 0.98 ± 0.1 can never exceed 1), and the suite trained for a single step — an untrained
generator — must regress on it. ``ganbench baseline`` refuses entries that fail either test, and
``ganbench check --self-test`` proves the gate catches an untrained generator on every pair.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from ganbench import __version__
from ganbench.errors import GanbenchError
from ganbench.metrics.base import output_range
from ganbench.results.frame import directions

Z, REL, FLOOR = 2.0, 0.10, 1e-3  # default tolerance: 2 std over seeds, 10 % of the value, an absolute floor


@dataclass(frozen=True)
class Entry:
    dataset: str
    model: str
    metric: str
    value: float  # median over runs of each run's best value
    std: float  # spread over runs
    runs: int
    higher_is_better: bool
    tolerance: float
    untrained: float | None = None  # median of the suite trained for one step (None: not measured)


def aggregate(df: pd.DataFrame, calibration: bool = False) -> pd.DataFrame:
    """Per (dataset, model, metric): median, std and count over finished runs of each run's best value — of the
    models, or with ``calibration`` of the calibration rows (real data scored as a model), which train nothing:
    they calibrate a check's reading, no baseline entry guards them."""
    from ganbench.results.study import calibration_mask, run_scores

    frames = []
    known = directions(df)
    mask = calibration_mask(df)
    df = df[mask if calibration else ~mask]
    for metric in sorted(df["metric"].dropna().unique()):
        if metric not in known:
            continue
        scores = run_scores(df, metric=metric, how="best")
        scores = scores[scores["status"] == "done"].dropna(subset=["score"])
        if scores.empty:
            continue
        grouped = scores.groupby(["dataset", "model"], observed=True)["score"]
        out = grouped.agg(value="median", std="std", runs="count").reset_index()
        out["metric"] = metric
        out["higher_is_better"] = known[metric]
        frames.append(out)
    if not frames:
        return pd.DataFrame(columns=["dataset", "model", "metric", "value", "std", "runs", "higher_is_better"])
    out = pd.concat(frames, ignore_index=True)
    out["std"] = out["std"].fillna(0.0)
    return out


def make_entries(df: pd.DataFrame, z: float = Z, rel: float = REL, floor: float = FLOOR,
                 untrained: pd.DataFrame | None = None) -> list[Entry]:
    """One entry per (dataset, model, metric) of ``df``: median, spread, tolerance, and the untrained
    generator's median from ``untrained`` (an :func:`aggregate` of the one-step suite) when given."""
    agg = aggregate(df)
    base = untrained.set_index(["dataset", "model", "metric"])["value"] if untrained is not None and len(untrained) \
        else pd.Series(dtype=float)
    entries = []
    for r in agg.itertuples():
        key = (str(r.dataset), str(r.model), str(r.metric))
        start = float(base.loc[key]) if key in base.index else None
        entries.append(Entry(*key, float(r.value), float(r.std), int(r.runs), bool(r.higher_is_better),
                             max(z * float(r.std), rel * abs(float(r.value)), floor),
                             None if start is None or math.isnan(start) else start))
    return entries


def unfailable(entry: Entry, low: float, high: float) -> str | None:
    """Why ``entry`` can never regress (its tolerance reaches past the metric's range), or None."""
    if entry.higher_is_better:
        if entry.value - entry.tolerance <= low:
            return (f"can never fail: {entry.value:.4g} − tolerance {entry.tolerance:.4g} reaches the metric's "
                    f"lowest value {low:g}")
    elif entry.value + entry.tolerance >= high:
        return (f"can never fail: {entry.value:.4g} + tolerance {entry.tolerance:.4g} reaches the metric's "
                f"highest value {high:g}")
    return None


def blind(entry: Entry) -> str | None:
    """Why ``entry`` would let an untrained generator pass, or None.

    An untrained generator without a value (e.g. reverse KL, undefined when no sample is near a mode)
    is caught: the check reports the entry missing, which fails it.
    """
    if entry.untrained is None:
        return None
    worse = (entry.value - entry.untrained) if entry.higher_is_better else (entry.untrained - entry.value)
    if worse <= entry.tolerance:
        return (f"cannot tell an untrained generator apart: untrained {entry.untrained:.4g} against "
                f"{entry.value:.4g} ± {entry.tolerance:.4g}")
    return None


def weaknesses(entries: list[Entry], ranges: Mapping[tuple[str, str], tuple[float, float]]) -> dict[tuple[str, str, str], str]:
    """(dataset, model, metric) → why that entry cannot catch a regression, for every weak entry.

    ``ranges`` maps (dataset, metric) to the metric's range on that dataset (see
    :func:`ganbench.metrics.base.output_range`); a missing key is unbounded. Untrained values are
    only judged when the entries carry them.
    """
    out = {}
    for e in entries:
        low, high = ranges.get((e.dataset, e.metric), (-math.inf, math.inf))
        why = unfailable(e, low, high) or (blind(e) if any(x.untrained is not None for x in entries) else None)
        if why:
            out[(e.dataset, e.model, e.metric)] = why
    return out


def metric_ranges(entries: list[Entry], infos: Mapping[str, Any]) -> dict[tuple[str, str], tuple[float, float]]:
    """(dataset, metric) → range of every entry's metric, dataset-dependent bounds from ``infos``."""
    return {(e.dataset, e.metric): output_range(e.metric, infos.get(e.dataset)) for e in entries}


def make_baseline(df: pd.DataFrame, suite: str, z: float = Z, rel: float = REL, floor: float = FLOOR, *,
                  untrained: pd.DataFrame | None = None, infos: Mapping[str, Any] | None = None,
                  drop_weak: bool = False) -> tuple[dict[str, Any], dict[tuple[str, str, str], str]]:
    """The baseline document and the weak entries found (:func:`weaknesses`).

    Weak entries make this raise a :class:`GanbenchError` listing them, unless ``drop_weak`` leaves
    them out (the caller warns).
    """
    if aggregate(df).empty:
        raise GanbenchError(f"no finished runs with metrics for suite '{suite}': run it first")
    entries = make_entries(df, z, rel, floor, untrained)
    weak = weaknesses(entries, metric_ranges(entries, infos or {}))
    if weak and not drop_weak:
        lines = "; ".join(f"{d}/{m}/{k}: {why}" for (d, m, k), why in sorted(weak.items()))
        raise GanbenchError(f"{len(weak)} baseline entries could not catch a regression ({lines}) — make the "
                            f"models in the suite learn, tighten --z/--rel, or pass --drop-weak to leave them out")
    kept = [e for e in entries if (e.dataset, e.model, e.metric) not in weak]
    doc = {"suite": suite, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "ganbench_version": __version__, "tolerance_rule": {"z": z, "rel": rel, "floor": floor},
           "entries": [asdict(e) for e in kept],
           "left_out": [{"dataset": d, "model": m, "metric": k, "why": why} for (d, m, k), why in sorted(weak.items())]}
    return doc, weak


def self_test(untrained: pd.DataFrame, baseline: list[Entry], scale: float = 1.0) -> dict[tuple[str, str], bool]:
    """(dataset, model) → whether the suite trained for one step (its results frame ``untrained``)
    regresses on at least one of the pair's entries by *value* (a missing metric does not count): the
    gate's power, pair by pair."""
    table = compare(untrained, baseline, scale=scale)
    caught = table[table["status"] == "regressed"]
    pairs = {(e.dataset, e.model) for e in baseline}
    return {pair: bool(((caught["dataset"] == pair[0]) & (caught["model"] == pair[1])).any())
            for pair in sorted(pairs)}


def read_baseline(path: Path) -> list[Entry]:
    return read_baseline_doc(path)[0]


def read_baseline_doc(path: Path) -> tuple[list[Entry], set[tuple[str, str, str]]]:
    """(entries, keys left out as weak when the baseline was written) of a baseline file."""
    try:
        doc = json.loads(Path(path).read_text())
        left_out = {(e["dataset"], e["model"], e["metric"]) for e in doc.get("left_out", [])}
        return [Entry(**e) for e in doc["entries"]], left_out
    except FileNotFoundError:
        raise GanbenchError(f"{path}: no such baseline file (write one with `ganbench baseline SUITE --out {path}`)") from None
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise GanbenchError(f"{path}: not a ganbench baseline ({type(err).__name__}: {err})") from None


def compare(df: pd.DataFrame, baseline: list[Entry], scale: float = 1.0,
            left_out: set[tuple[str, str, str]] = frozenset()) -> pd.DataFrame:  # type: ignore[assignment]
    """One row per baseline entry (+ metrics new since): status ok / improved / regressed / missing / new,
    or "left out" for a metric the baseline refused as unable to fail (``left_out``); then, as "calibration",
    the calibration rows' values on the gated metrics (what real data scores there: read, never gated)."""
    current = aggregate(df).set_index(["dataset", "model", "metric"]) if not df.empty else None
    rows = []
    seen = set()
    for e in baseline:
        key = (e.dataset, e.model, e.metric)
        seen.add(key)
        tol = e.tolerance * scale
        if current is None or key not in current.index:
            rows.append({**asdict(e), "current": math.nan, "delta": math.nan, "tolerance": tol, "status": "missing"})
            continue
        now = float(current.loc[key, "value"])
        delta = now - e.value
        worse = -delta if e.higher_is_better else delta
        status = "regressed" if worse > tol else "improved" if worse < -tol else "ok"
        noise = median_noise(e.std, e.runs, int(current.loc[key, "runs"]))
        rows.append({**asdict(e), "current": now, "delta": delta, "tolerance": tol, "noise": noise, "status": status})
    if current is not None:
        for (dataset, model, metric), r in current.iterrows():
            if (dataset, model, metric) not in seen:
                rows.append({"dataset": dataset, "model": model, "metric": metric, "value": math.nan,
                             "current": float(r["value"]), "delta": math.nan, "tolerance": math.nan,
                             "status": "left out" if (dataset, model, metric) in left_out else "new"})
    gated = {(e.dataset, e.metric) for e in baseline}
    calibration = aggregate(df, calibration=True) if not df.empty else None
    for r in (calibration.to_dict("records") if calibration is not None else []):
        if (r["dataset"], r["metric"]) in gated:  # where real data scores on the metrics the gate reads
            rows.append({"dataset": r["dataset"], "model": r["model"], "metric": r["metric"], "value": math.nan,
                         "current": float(r["value"]), "delta": math.nan, "tolerance": math.nan,
                         "status": "calibration"})
    return pd.DataFrame(rows)


#: The standard error of a sample median is about √(π/2) ≈ 1.2533 times that of the mean (normal data).
MEDIAN_SE = math.sqrt(math.pi / 2)


def median_noise(std: float, runs_then: int, runs_now: int) -> float:
    """The standard error of (current median − baseline median) when nothing changed but the seeds: each
    median of n runs of spread ``std`` has √(π/2)·std/√n, and the two are independent."""
    if runs_then < 1 or runs_now < 1 or not math.isfinite(std):
        return math.nan
    return MEDIAN_SE * std * math.sqrt(1.0 / runs_then + 1.0 / runs_now)


def noisy(table: pd.DataFrame, z: float = 2.0) -> pd.DataFrame:
    """Rows of a :func:`compare` table whose tolerance is under ``z`` times their seed noise
    (:func:`median_noise`): at such a tolerance an unchanged model regresses more often than 1 in 20 checks
    (z = 2), so a regression there may be a false alarm — the baseline needs more seeds or a wider tolerance."""
    if "noise" not in table.columns:
        return table.iloc[:0]
    return table[(table["tolerance"] < z * table["noise"]).to_numpy()]


def failed(table: pd.DataFrame) -> bool:
    return bool(table["status"].isin(["regressed", "missing"]).any())


def format_table(table: pd.DataFrame) -> str:
    header = f"{'dataset':14s} {'model':14s} {'metric':12s} {'baseline':>10s} {'current':>10s} {'delta':>10s} {'±tol':>9s}  status"
    lines = [header, "-" * len(header)]
    order = {"regressed": 0, "missing": 1, "improved": 2, "new": 3, "ok": 4, "left out": 5, "calibration": 6}
    for r in sorted(table.to_dict("records"), key=lambda r: (order[r["status"]], r["dataset"], r["model"], r["metric"])):
        def num(x: float) -> str:
            return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4g}"

        lines.append(f"{r['dataset']:14s} {r['model']:14s} {r['metric']:12s} {num(r['value']):>10s} "
                     f"{num(r['current']):>10s} {num(r['delta']):>10s} {num(r['tolerance']):>9s}  {r['status']}")
    counts = table["status"].value_counts().to_dict()
    lines.append("")
    lines.append(", ".join(f"{counts.get(s, 0)} {s}" for s in ("ok", "improved", "regressed", "missing", "new", "left out"))
                 + (f"; {counts['calibration']} calibration rows (real data scored as a model, never gated)"
                    if counts.get("calibration") else ""))
    tight = noisy(table)
    if len(tight):
        lines.append(f"{len(tight)} tolerance(s) tighter than twice the seed noise of the median — a regression there "
                     "may be a false alarm (more seeds in the baseline, or --tolerance > 1): " +
                     "; ".join(f"{r['dataset']}/{r['model']}/{r['metric']} ±{r['tolerance']:.3g} vs noise "
                               f"{r['noise']:.3g}" for r in tight.to_dict("records")))
    return "\n".join(lines)
