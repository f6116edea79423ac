"""Everything a run leaves behind and everything read from it, with a typed record at the bottom.

- :mod:`~ganbench.results.record` — :class:`RunRecord`, the statuses and the one rule each for status and
  for a run's best value;
- :mod:`~ganbench.results.store` — the only reader and writer of ``results/``;
- :mod:`~ganbench.results.frame` — records → one tidy DataFrame (:func:`load_results`);
- :mod:`~ganbench.results.names` — metric and model order, grouping keys;
- :mod:`~ganbench.results.stats` — numpy kernels (expected minimum, bootstrap, Holm);
- :mod:`~ganbench.results.study` — scores, pools, summaries, budget curves, pairwise tests;
- :mod:`~ganbench.results.reference` — published numbers.

Nothing here imports torch (a test holds it to that): reports and notebooks read results on any machine.
"""
from __future__ import annotations

from typing import Any

from ganbench.results.record import COMPLETE, FINISHED, STATUSES, RunRecord, best_over, status_from_files

__all__ = ["COMPLETE", "FINISHED", "STATUSES", "RunRecord", "best_over", "directions", "load_results",
           "records_to_frame", "run_table", "save_frame", "status_from_files"]

_FRAME = ("directions", "load_results", "records_to_frame", "run_table", "save_frame")


def __getattr__(name: str) -> Any:
    """The DataFrame functions, imported from :mod:`~ganbench.results.frame` on first use: pandas takes
    half a second that ``ganbench plan`` and ``status`` (which read records through the store) do not need."""
    if name in _FRAME:
        from ganbench.results import frame

        return getattr(frame, name)
    raise AttributeError(f"module 'ganbench.results' has no attribute '{name}'")
