"""Which metric a dataset's runs are ranked by: its *headline*.

One metric cannot serve every dataset: FID on raw 2-D points ranks a generator that covers half the
ring's modes with almost no mass first, and the polygons have no FID at all. So each dataset declares
the metric a researcher reads first for its kind of data (``headline`` in the dataset registry,
:mod:`ganbench.catalog`): for the Gaussian mixtures the total-variation distance between the samples'
shares of the modes (and off them) and the mixture's (``mode_tv``, which sees both the modes missed and
the points between modes that the mode counts let pass), polygon F1
against the known manifold for the polygons, FID for images. A suite may name another
(``evaluation.headline``) and a reader another again (``ganbench report --metric``).

The suite resolves it once per dataset and every run records it (``spec.headline``, outside the run
id: it changes what the report reads, not what a run computes), so the report needs no registry. For
records older than headlines the report resolves it the same way from the metrics they hold.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:  # the suite parser imports this module: no pandas for `ganbench plan`
    import pandas as pd

__all__ = ["FALLBACK_ORDER", "choose_headline", "frame_headlines"]

#: When a dataset's declared headline is not computed: the first of these that is, else the first metric
#: computed. Ranked by how much each says about a generator on its own (distribution distance first).
FALLBACK_ORDER = ("fid", "polygon_f1", "mode_tv", "modes_1pct", "kid_mean", "knn", "f1", "coverage", "is_mean",
                  "hq_share", "modes")


def choose_headline(declared: str | None, computed: Iterable[str]) -> str | None:
    """The headline among the metric keys ``computed`` (in their order): ``declared`` when computed, else
    the first of :data:`FALLBACK_ORDER` computed, else the first computed (None when nothing is)."""
    keys = list(dict.fromkeys(str(k) for k in computed))
    if declared is not None and declared in keys:
        return declared
    return next((k for k in FALLBACK_ORDER if k in keys), keys[0] if keys else None)


def frame_headlines(df: "pd.DataFrame", override: str | None = None) -> dict[str, str]:
    """Dataset → the metric its report ranks by, for a results frame (:mod:`ganbench.results.frame`).

    ``override`` (``report --metric``) wins for every dataset that computed it; the others keep their own.
    Otherwise the headline the runs recorded (the most common one, should a suite have changed it between
    runs), else the one :func:`choose_headline` picks from the registry's declaration and the metrics
    present. Datasets whose runs hold no metric value at all are left out.
    """
    from ganbench.catalog import DATASETS

    out: dict[str, str] = {}
    scored = df[df["metric"].notna()]
    if "higher_is_better" in scored.columns:  # a metric without a direction cannot rank anything
        scored = scored[scored["higher_is_better"].notna()]
    for dataset, rows in scored.groupby("dataset", observed=True, sort=True):
        present = list(dict.fromkeys(rows["metric"].astype(str)))
        if override is not None and override in present:
            out[str(dataset)] = override
            continue
        recorded = _recorded(rows)
        if recorded is not None and recorded in present:
            out[str(dataset)] = recorded
            continue
        declared = DATASETS.meta(str(dataset)).get("headline") if str(dataset) in DATASETS else None
        chosen = choose_headline(declared, present)
        if chosen is not None:
            out[str(dataset)] = chosen
    return out


def _recorded(rows: "pd.DataFrame") -> str | None:
    if "headline" not in rows.columns:
        return None
    values = rows.drop_duplicates(["suite", "run_id"])["headline"].dropna().astype(str)
    return str(values.value_counts().index[0]) if len(values) else None

