"""The record of one run: what it leaves behind, typed and frozen, read the same from every version.

A run directory holds ``spec.json`` (the resolved :class:`~ganbench.specs.RunSpec`), ``result.json``
(this record, :meth:`RunRecord.to_json`) and ``history.jsonl`` (one line per evaluation point).
:class:`RunRecord` is their one typed form: the store writes it, the analysis reads it, and nothing else
re-defaults or re-interprets the files. Its schema (``SCHEMA``):

- ``status`` — one of :data:`STATUSES`, derived from files by :func:`status_from_files` alone;
- ``error`` (why a run failed) and ``diverged_cause`` / ``diverged_at`` (why and where one diverged);
- ``final`` / ``best`` / ``best_step`` — the last evaluation's metrics and the best value of each over
  the checkpoints, by :func:`best_over` alone;
- ``directions`` — metric key → higher is better, written at evaluation time from each metric's declared
  outputs, so nothing downstream needs the (torch-bound) metrics registry;
- ``compute``, ``protocol`` (the evaluation as run), ``role`` (``search``, ``best_of`` or ``calibration``: the
  phase's kind, kept out of the run id like the suite's name), ``samples`` (one file: a PNG grid, or ``.npy`` points
  for vector data), ``mode_centres`` (mixtures), ``ganbench_version``.

:meth:`RunRecord.from_json` keeps known fields only and reads every earlier format: ganbench 0.1.0 wrote
the divergence cause into ``error``, split samples into ``samples`` / ``samples_2d`` and stored no
directions (:data:`LEGACY_DIRECTIONS` fills them, a test keeps it equal to the registry).
Plain Python: importing this never imports torch.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable, Mapping

from ganbench.specs import frozen, thaw

SCHEMA = 2
STATUSES = ("done", "diverged", "failed", "running", "pending")
FINISHED = ("done", "diverged")  # never trained again
COMPLETE = ("done", "diverged", "failed")  # nothing changes without --retry-failed
ROLES = ("search", "best_of", "calibration")  # calibration: real data scored as a model (ganbench/calibration.py)

SPEC, RESULT, HISTORY, CHECKPOINT, GENERATOR, ERROR, LOCK = (
    "spec.json", "result.json", "history.jsonl", "ckpt.pt", "generator.pt", "error.txt", "lock")

#: Directions of the metric keys ganbench 0.1.0 wrote, for its records (which carried none).
LEGACY_DIRECTIONS: dict[str, bool] = {
    "fid": False, "kid_mean": False, "kid_std": False, "is_mean": True, "is_std": False,
    "precision": True, "recall": True, "f1": True, "density": True, "coverage": True,
    "knn": False, "knn_real": False, "knn_gen": False,
    "modes": True, "hq_share": True, "reverse_kl": False, "modes_1pct": True,
    "polygon_precision": True, "polygon_recall": True, "polygon_f1": True,
}


def status_from_files(run_dir: Path) -> str:
    """The one rule: a ``result.json`` says the status; otherwise a started run (a checkpoint or an
    evaluation written) is ``running`` (resumable), and a run with nothing written is ``pending``."""
    try:
        return str(json.loads((run_dir / RESULT).read_text())["status"])
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        pass
    return "running" if (run_dir / CHECKPOINT).exists() or (run_dir / HISTORY).exists() else "pending"


def best_over(history: Iterable[Mapping[str, Any]],
              directions: Mapping[str, bool]) -> tuple[dict[str, float], dict[str, int]]:
    """The one rule for a run's score: per metric with a known direction, its best finite value over the
    evaluation points and the first step reaching it (compare_gan takes the min FID over checkpoints;
    a run that diverged later keeps its best earlier checkpoint)."""
    best: dict[str, float] = {}
    step: dict[str, int] = {}
    for row in history:
        for key, value in (row.get("metrics") or {}).items():
            up = directions.get(key)
            if up is None or value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
                continue
            if key not in best or (value > best[key] if up else value < best[key]):
                best[key], step[key] = float(value), int(row["step"])
    return best, step


def _mapping(value: Any) -> Mapping[str, Any]:
    return frozen(value if isinstance(value, Mapping) else {})


@dataclass(frozen=True)
class RunRecord:
    """One run as stored: its spec, outcome, scores, compute and evaluation protocol."""

    run_id: str
    suite: str
    phase: str
    spec: Mapping[str, Any]
    status: str
    role: str | None = None  # None: written before roles were recorded
    error: str | None = None
    diverged_at: int | None = None
    diverged_cause: str | None = None
    final: Mapping[str, float] = field(default_factory=lambda: frozen({}))
    best: Mapping[str, float] = field(default_factory=lambda: frozen({}))
    best_step: Mapping[str, int] = field(default_factory=lambda: frozen({}))
    directions: Mapping[str, bool] = field(default_factory=lambda: frozen({}))
    compute: Mapping[str, Any] = field(default_factory=lambda: frozen({}))
    protocol: Mapping[str, Any] = field(default_factory=lambda: frozen({}))
    samples: str | None = None  # file name inside the run directory
    mode_centres: tuple[tuple[float, ...], ...] | None = None
    ganbench_version: str | None = None
    history: tuple[Mapping[str, Any], ...] = ()
    run_dir: str | None = None

    def __post_init__(self) -> None:
        for name in ("spec", "final", "best", "best_step", "directions", "compute", "protocol"):
            object.__setattr__(self, name, frozen(getattr(self, name)))  # read-only, whatever was passed
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {', '.join(STATUSES)}")
        if self.role is not None and self.role not in ROLES:
            raise ValueError(f"role {self.role!r} is not one of {', '.join(ROLES)}")

    # ---- views
    @property
    def sample_grid(self) -> str | None:
        """The samples PNG (image data), as a path when the run directory is known."""
        return self._sample_path(".png")

    @property
    def sample_points(self) -> str | None:
        """The generated points (``.npy``, vector data), as a path when the run directory is known."""
        return self._sample_path(".npy")

    def _sample_path(self, suffix: str) -> str | None:
        if not self.samples or not self.samples.endswith(suffix):
            return None
        return str(Path(self.run_dir) / self.samples) if self.run_dir else self.samples

    # ---- (de)serialisation
    def to_json(self) -> dict[str, Any]:
        """The ``result.json`` document (the spec and history live in their own files)."""
        out: dict[str, Any] = {"schema": SCHEMA}
        for f in fields(self):
            if f.name in ("spec", "history", "run_dir"):
                continue
            value = getattr(self, f.name)
            out[f.name] = [list(c) for c in value] if f.name == "mode_centres" and value is not None else thaw(value)
        return out

    @classmethod
    def from_json(cls, result: Mapping[str, Any] | None, spec: Mapping[str, Any], *,
                  history: Iterable[Mapping[str, Any]] = (), run_dir: str | Path | None = None,
                  run_id: str | None = None, status: str | None = None) -> "RunRecord":
        """A record from ``result.json`` (any version; None for a run without one) and ``spec.json``.

        Unknown keys are ignored; ``status`` overrides (the store passes :func:`status_from_files`).
        """
        r = dict(result or {})
        history = tuple(frozen(row) for row in history)
        legacy = "schema" not in r
        error, cause = r.get("error"), r.get("diverged_cause")
        status = status or r.get("status") or "pending"
        if legacy and status == "diverged" and cause is None:  # 0.1.0: the cause was kept in "error"
            error, cause = None, error
        directions = dict(r.get("directions") or {})
        if not directions:  # 0.1.0: no directions stored; the keys it could have written are known
            keys = set(r.get("best") or {}) | set(r.get("final") or {})
            keys |= {k for row in history for k in (row.get("metrics") or {})}
            directions = {k: LEGACY_DIRECTIONS[k] for k in keys if k in LEGACY_DIRECTIONS}
        samples = r.get("samples") or r.get("samples_2d")
        centres = r.get("mode_centres")
        return cls(
            run_id=str(run_id or r.get("run_id") or (Path(run_dir).name if run_dir else "")),
            suite=str(r.get("suite") or spec.get("suite")), phase=str(r.get("phase") or spec.get("phase")),
            spec=frozen(spec), status=status, role=r.get("role") or spec.get("role"), error=error,
            diverged_at=r.get("diverged_at"), diverged_cause=cause,
            final=_mapping(r.get("final")), best=_mapping(r.get("best")), best_step=_mapping(r.get("best_step")),
            directions=frozen(directions), compute=_mapping(r.get("compute")), protocol=_mapping(r.get("protocol")),
            samples=str(samples) if samples else None,
            mode_centres=tuple(tuple(float(v) for v in c) for c in centres) if centres else None,
            ganbench_version=r.get("ganbench_version"), history=history,
            run_dir=str(run_dir) if run_dir is not None else None)

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> "RunRecord":
        """A record from the merged dictionary form (the result's fields plus ``spec``, ``history`` and
        ``_dir``), which ganbench 0.1.0's scanner returned and test fixtures still build."""
        if isinstance(record, RunRecord):
            return record
        result = {k: v for k, v in record.items() if k not in ("spec", "history", "_dir")}
        return cls.from_json(result, record.get("spec") or {}, history=record.get("history") or (),
                             run_dir=record.get("_dir"), run_id=record.get("run_id"))
