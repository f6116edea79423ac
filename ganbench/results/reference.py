"""Published numbers to set beside a report's own: the study's Table 2 ships with the package.

A reference table is a CSV of (model, dataset, fid_mean, fid_std, source); rows match a summary's on
dataset and model names up to case, spaces and dashes.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ganbench.results.names import normalise_name

__all__ = ["attach_reference", "default_reference_path", "reference_table"]


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
