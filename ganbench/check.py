"""GAN regression checks: compare a suite's results with a stored baseline, tolerant of seed variance.

A baseline holds, per (dataset, model, metric), the median over runs of each run's best value, the
spread over runs (std) and a tolerance derived from it: max(z·std, rel·|value|, floor). ``check``
recomputes the same median from current results; a metric that moved in its bad direction by more
than the tolerance (× ``scale``) is a regression, and a (dataset, model) in the baseline with no
finished run is reported as missing. Both fail the check.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from ganbench import __version__
from ganbench.errors import GanbenchError
from ganbench.metrics.base import higher_is_better

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


def aggregate(df: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, model, metric): median, std and count over finished runs of each run's best value."""
    from ganbench.tables import run_scores

    frames = []
    for metric in sorted(df["metric"].dropna().unique()):
        if higher_is_better(metric) is None:
            continue
        scores = run_scores(df, metric=metric, how="best")
        scores = scores[scores["status"] == "done"].dropna(subset=["score"])
        if scores.empty:
            continue
        grouped = scores.groupby(["dataset", "model"], observed=True)["score"]
        out = grouped.agg(value="median", std="std", runs="count").reset_index()
        out["metric"] = metric
        frames.append(out)
    if not frames:
        return pd.DataFrame(columns=["dataset", "model", "metric", "value", "std", "runs"])
    out = pd.concat(frames, ignore_index=True)
    out["std"] = out["std"].fillna(0.0)
    return out


def make_baseline(df: pd.DataFrame, suite: str, z: float = Z, rel: float = REL, floor: float = FLOOR) -> dict[str, Any]:
    agg = aggregate(df)
    if agg.empty:
        raise GanbenchError(f"no finished runs with metrics for suite '{suite}': run it first")
    entries = [Entry(str(r.dataset), str(r.model), str(r.metric), float(r.value), float(r.std), int(r.runs),
                     bool(higher_is_better(r.metric)), max(z * float(r.std), rel * abs(float(r.value)), floor))
               for r in agg.itertuples()]
    return {"suite": suite, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "ganbench_version": __version__, "tolerance_rule": {"z": z, "rel": rel, "floor": floor},
            "entries": [asdict(e) for e in entries]}


def read_baseline(path: Path) -> list[Entry]:
    try:
        doc = json.loads(Path(path).read_text())
        return [Entry(**e) for e in doc["entries"]]
    except FileNotFoundError:
        raise GanbenchError(f"{path}: no such baseline file (write one with `ganbench baseline SUITE --out {path}`)") from None
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise GanbenchError(f"{path}: not a ganbench baseline ({type(err).__name__}: {err})") from None


def compare(df: pd.DataFrame, baseline: list[Entry], scale: float = 1.0) -> pd.DataFrame:
    """One row per baseline entry (+ metrics new since): status ok / improved / regressed / missing / new."""
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
        rows.append({**asdict(e), "current": now, "delta": delta, "tolerance": tol, "status": status})
    if current is not None:
        for (dataset, model, metric), r in current.iterrows():
            if (dataset, model, metric) not in seen:
                rows.append({"dataset": dataset, "model": model, "metric": metric, "value": math.nan,
                             "current": float(r["value"]), "delta": math.nan, "tolerance": math.nan, "status": "new"})
    return pd.DataFrame(rows)


def failed(table: pd.DataFrame) -> bool:
    return bool(table["status"].isin(["regressed", "missing"]).any())


def format_table(table: pd.DataFrame) -> str:
    header = f"{'dataset':14s} {'model':14s} {'metric':12s} {'baseline':>10s} {'current':>10s} {'delta':>10s} {'±tol':>9s}  status"
    lines = [header, "-" * len(header)]
    order = {"regressed": 0, "missing": 1, "improved": 2, "new": 3, "ok": 4}
    for r in sorted(table.to_dict("records"), key=lambda r: (order[r["status"]], r["dataset"], r["model"], r["metric"])):
        def num(x: float) -> str:
            return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4g}"

        lines.append(f"{r['dataset']:14s} {r['model']:14s} {r['metric']:12s} {num(r['value']):>10s} "
                     f"{num(r['current']):>10s} {num(r['delta']):>10s} {num(r['tolerance']):>9s}  {r['status']}")
    counts = table["status"].value_counts().to_dict()
    lines.append("")
    lines.append(", ".join(f"{counts.get(s, 0)} {s}" for s in ("ok", "improved", "regressed", "missing", "new")))
    return "\n".join(lines)
