"""Synthetic run records in the store's format, for table/report tests and the report benchmark.

Built directly as dicts (no store, no training) so the numbers are known in advance.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

METRIC_KEYS = ("fid", "is_mean", "precision", "recall", "knn", "modes")


def make_record(*, suite: str = "default", phase: str = "wide", dataset: str = "ring",
                model: str = "NS GAN", loss: str | None = "ns", kind: str = "gan", setting: int = 0,
                seed: int = 0, status: str = "done",
                history: Sequence[tuple[int, Mapping[str, float]]] = (),
                seconds: float | None = 3600.0, hparams: Mapping[str, Any] | None = None,
                run_dir: Path | None = None, samples: str | None = None,
                samples_2d: str | None = None, dataset_params: Mapping[str, Any] | None = None,
                run_id: str | None = None, diverged_at: int | None = None,
                error: str | None = None, headline: str | None = None,
                conditioning: str | None = None) -> dict[str, Any]:
    """One stored record; ``history`` is ``[(step, {metric: value}), ...]`` in ascending step; ``headline``:
    the metric the suite ranked the dataset by (absent, as in records older than headlines, when None)."""
    spec = {
        "dataset": dataset, "dataset_params": dict(dataset_params or {}),
        "model": {"name": model, "kind": kind, "loss": loss, "arch": "mlp", "penalty": "none"},
        "hparams": dict(hparams if hparams is not None else
                        {"lr": 1e-4, "beta1": 0.5, "n_disc": 1, "d_norm": "batch"}),
        "setting": setting, "seed": seed,
        "budget": {"steps": 2000, "eval_every": 500},
        "evaluation": {"extractor": "raw", "metrics": ["fid"], "n_gen": 2500, "n_real": 2500,
                       "split": "test"},
    }
    if headline is not None:
        spec["headline"] = headline
    if conditioning is not None:
        spec["model"]["conditioning"] = conditioning
    if run_id is None:
        text = f"{suite}|{phase}|{dataset}|{model}|{setting}|{seed}"
        run_id = hashlib.sha1(text.encode()).hexdigest()[:12]
    points = [{"step": int(step), "seconds": float(step) / 100.0, "metrics": dict(metrics),
               "losses": {"d": 1.0, "g": 0.7}} for step, metrics in history]
    final = dict(points[-1]["metrics"]) if points else {}
    directions = {key: up for key, up in _registry_directions().items()
                  if any(key in point["metrics"] for point in points)}  # as the evaluator writes them
    record: dict[str, Any] = {
        "run_id": run_id, "suite": suite, "phase": phase, "spec": spec, "status": status,
        "error": error, "diverged_at": diverged_at, "history": points, "final": final,
        "best": {}, "best_step": {}, "directions": directions,
        "compute": {"steps": 2000, "seconds": seconds, "train_seconds": seconds,
                    "eval_seconds": 0.0, "flops_per_step": None, "device": "cpu"},
        "protocol": {"extractor": "raw", "identity": "raw", "real_split": "test",
                     "n_real": 2500, "n_gen": 2500},
        "samples": samples, "samples_2d": samples_2d,
    }
    if run_dir is not None:
        record["_dir"] = str(run_dir)
    return record


def _registry_directions() -> dict[str, bool]:
    """Every metric key the registry declares, with its direction (keys it does not know get none)."""
    from ganbench.catalog import METRICS

    return {key: up for entry in METRICS for key, up in entry.metadata["outputs"].items()}


def scored_record(score: float, **kwargs: Any) -> dict[str, Any]:
    """A run whose best FID is ``score`` (reached at the middle checkpoint, worse at the end)."""
    history = [(500, {"fid": score + 10.0}), (1000, {"fid": score}), (1500, {"fid": score + 2.0})]
    return make_record(history=history, **kwargs)


def synthetic_study(*, datasets: Sequence[str] = ("ring", "grid"),
                    models: Sequence[str] = ("NS GAN", "WGAN", "LSGAN"), n_settings: int = 20,
                    n_seeds: int = 10, steps: Sequence[int] = (500, 1000, 1500, 2000),
                    metrics: Sequence[str] = METRIC_KEYS, suite: str = "default",
                    seed: int = 0, running_share: float = 0.0,
                    diverged_share: float = 0.05) -> list[dict[str, Any]]:
    """A Lucic-shaped grid: ``n_settings`` random settings ("wide") + ``n_seeds`` seeds ("seeds").

    Models differ in location (model i is i·5 FID worse), so orderings are predictable. Written
    for speed (the benchmark builds 10,000 of these) rather than realism.
    """
    rng = np.random.default_rng(seed)
    records: list[dict[str, Any]] = []
    steps = list(steps)
    for dataset in datasets:
        for m_index, model in enumerate(models):
            runs = [("wide", s, 0) for s in range(n_settings)] + [("seeds", 0, s) for s in range(n_seeds)]
            for phase, setting, run_seed in runs:
                base = 20.0 + 5.0 * m_index + rng.gamma(2.0, 5.0 if phase == "wide" else 1.0)
                draw = rng.random()
                status = ("running" if draw < running_share else
                          "diverged" if draw < running_share + diverged_share else "done")
                n_points = len(steps) if status == "done" else max(1, len(steps) // 2)
                history = []
                for j in range(n_points):
                    decay = (len(steps) - j) * 3.0
                    values = {"fid": base + decay, "is_mean": 8.0 - 0.1 * base / 10 + j * 0.1,
                              "precision": float(np.clip(0.9 - base / 200, 0, 1)),
                              "recall": float(np.clip(0.8 - base / 150, 0, 1)),
                              "knn": 0.5 + base / 400, "modes": float(8 - j % 2)}
                    history.append((steps[j], {k: values.get(k, float(j)) for k in metrics}))
                lr = float(10 ** rng.uniform(-5, -2))
                records.append(make_record(
                    suite=suite, phase=phase, dataset=dataset, model=model,
                    loss=model.split()[0].lower(), setting=setting, seed=run_seed, status=status,
                    history=history, seconds=float(rng.uniform(600, 7200)),
                    hparams={"lr": lr, "beta1": 0.5, "n_disc": int(rng.choice([1, 5])),
                             "d_norm": "batch" if rng.random() < 0.5 else "none"},
                    diverged_at=steps[n_points - 1] + 1 if status == "diverged" else None))
    return records
