"""Which setting a ``best_of`` phase retrains: the best run of the source phase, per (dataset, model).

As compare_gan v1.0 ``BestFIDPerModel`` (the min over every checkpoint row of every run's scores): a
run's best checkpoint counts even when the run diverged later. Runs that failed, or are still going,
are not candidates.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

from ganbench.results.record import FINISHED
from ganbench.results.store import Store, scan
from ganbench.specs import thaw
from ganbench.expand import BestLookup

CANDIDATE_STATUSES = FINISHED  # a diverged run's best checkpoint counts; failed and unfinished runs do not


def best_lookup(store: Store, suite: str) -> BestLookup:
    """A lookup over the suite's stored records; ties go to the lower setting index (deterministic)."""
    records = scan(store.root / suite, with_history=False).records  # best values live in the records

    def lookup(phase: str, dataset: str, model: str, metric: str) -> Mapping[str, Any] | None:
        candidates = []
        for r in records:
            spec, value, up = r.spec, r.best.get(metric), r.directions.get(metric)
            if (r.phase == phase and spec["dataset"] == dataset and spec["model"]["name"] == model
                    and r.status in CANDIDATE_STATUSES and up is not None and value is not None
                    and math.isfinite(value)):
                candidates.append(((-1.0 if up else 1.0) * value, spec["setting"], spec["seed"], thaw(spec["hparams"])))
        return min(candidates, key=lambda c: c[:3])[3] if candidates else None

    return lookup
