"""How tables and figures name, order and group things: metrics, models, group keys, seeded groups.

Every table and figure uses these, so a model keeps its position (and colour) and a metric its column
throughout a report, and a resampled number does not change when an unrelated group is filtered out.
"""
from __future__ import annotations

import json
import re
import zlib
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

# Display order of metrics in tables (unknown keys follow alphabetically).
METRIC_ORDER = (
    "fid", "is_mean", "kid_mean", "precision", "recall", "f1", "density", "coverage", "knn",
    "mode_tv", "modes", "modes_1pct", "hq_share", "reverse_kl", "polygon_precision", "polygon_recall",
    "polygon_f1", "polygon_precision_se", "polygon_recall_se",
)
# The study's model order, so tables and figures list models the way the paper does.
STUDY_MODEL_ORDER = ("mmgan", "nsgan", "lsgan", "wgan", "wgangp", "dragan", "began", "vae")


def metric_sort_key(key: str) -> tuple[int, str]:
    """Sort key putting the study's headline metrics (FID first) before the rest."""
    return (METRIC_ORDER.index(key) if key in METRIC_ORDER else len(METRIC_ORDER), key)


def normalise_name(name: Any) -> str:
    """Case, spaces, dashes and underscores ignored: "NS GAN" ~ "ns-gan" ~ "ns_gan" → "nsgan"."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def model_order(models: Iterable[Any]) -> list[str]:
    """Models in the study's order (MM GAN, NS GAN, LSGAN, ...), then the rest alphabetically."""
    unique = sorted({str(m) for m in models if m is not None and not pd.isna(m)})

    def key(name: str) -> tuple[int, str]:
        norm = normalise_name(name)
        rank = STUDY_MODEL_ORDER.index(norm) if norm in STUDY_MODEL_ORDER else len(STUDY_MODEL_ORDER)
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


def as_keys(by: str | Sequence[str] | None, frame: pd.DataFrame, base: Sequence[str]) -> tuple[str, ...]:
    """Explicit grouping keys, or :func:`default_by`."""
    if by is None:
        return default_by(frame, base)
    return (by,) if isinstance(by, str) else tuple(by)


def group_rng(seed: int, key: Any) -> np.random.Generator:
    """A generator seeded by ``seed`` and the group's name (stable across filtering)."""
    text = json.dumps([str(k) for k in (key if isinstance(key, tuple) else (key,))])
    return np.random.default_rng([int(seed), zlib.crc32(text.encode())])


def plain_key(values: Any) -> tuple[str | None, ...]:
    """A group key as plain strings (missing → None), so keys from different frames compare."""
    values = values if isinstance(values, tuple) else (values,)
    return tuple(None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)
                 for v in values)


def groups(frame: pd.DataFrame, keys: Sequence[str]) -> Iterable[tuple[tuple, pd.DataFrame]]:
    """(plain key, rows) per group of ``keys``, in sorted order, missing values kept as a group."""
    if not len(frame):
        return []
    grouped = frame.groupby(list(keys), observed=True, sort=True, dropna=False)
    return ((plain_key(k), g) for k, g in grouped)
