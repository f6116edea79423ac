"""What the generators produce: the best run's image grid per model, and for 2D data its points
drawn over the mixture's mode centres.

The files are the runs' own (``samples.png``, ``samples.npy``), found through the frame's
``samples``/``samples_2d`` columns; a missing or unreadable file is skipped, not fatal.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ganbench.report.figures import Canvas
from ganbench.report.style import FigureFile, best_per_model, slug

__all__ = ["best_with_file", "sample_grid_figure", "scatter_2d_figure", "mode_centres"]


def best_with_file(scores: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per (panel, model) the best-scoring run whose ``column`` file exists (unscored runs last), in the
    direction each row's metric improves (``higher_is_better``: a panel's headline)."""
    if column not in scores.columns:
        return scores.iloc[:0]
    paths = scores[column].astype(object)
    exists = np.array([isinstance(p, str) and Path(p).is_file() for p in paths], dtype=bool)
    with_file = scores[exists]
    return with_file if with_file.empty else best_per_model(with_file)


def _grid(canvas: Canvas, n: int, size: float):
    from ganbench.report.style import panel_grid

    return panel_grid(n, width=size, height=size + 0.4, max_cols=min(n, 4), legend_space=0.0)


def _title(row: Any, canvas: Canvas) -> str:
    score = row.score
    tail = f"{canvas.label_for(row.panel)} {score:.3g}" if isinstance(score, float) and math.isfinite(score) \
        else "no score"
    return f"{row.model}\n{tail}"


def sample_grid_figure(canvas: Canvas, panel: str, best: pd.DataFrame) -> FigureFile | None:
    """The best run's ``samples.png`` for each model of one dataset, side by side."""
    import matplotlib.image as mpimg

    rows = best[best["panel"] == panel]
    images = []
    for row in rows.itertuples(index=False):
        try:
            images.append((row, mpimg.imread(str(row.samples))))
        except (OSError, ValueError, SyntaxError):
            continue
    if not images:
        return None
    order = {m: i for i, m in enumerate(canvas.style.models)}
    images.sort(key=lambda item: order.get(str(item[0].model), len(order)))
    fig, axes = _grid(canvas, len(images), 3.2)
    for ax, (row, image) in zip(axes, images):
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None, interpolation="nearest")
        ax.set_title(_title(row, canvas), fontsize=9, color=canvas.style.colors.get(str(row.model)))
        ax.set_axis_off()
    if _translated(rows):
        caption = (f"Translations by each model's best run (by {canvas.label_for(panel)}) on {panel}, eight test "
                   "inputs per row: A, A → B, A → B → A, then B, B → A, B → A → B.")
        return canvas.save(fig, f"samples_{slug(panel)}", f"Translations: {panel}", caption)
    caption = f"Samples of each model's best run (by {canvas.label_for(panel)}) on {panel}."
    conditioned = [str(row.model) for row, _ in images if str(getattr(row, "conditioning", "none") or "none") != "none"]
    if conditioned:
        caption += (f" {', '.join(conditioned)}: one row per class (InfoGAN: per value of its categorical code, "
                    "then each continuous code swept from −1 to 1), the same z down each column.")
    return canvas.save(fig, f"samples_{slug(panel)}", f"Samples: {panel}", caption)


def _translated(rows: pd.DataFrame) -> bool:
    """Whether a panel's runs translate (a domain pair), so their samples are translation grids."""
    from ganbench.catalog import dataset_task

    return "dataset" in rows.columns and any(dataset_task(str(d)) == "translation" for d in rows["dataset"])


def mode_centres(dataset: str, params_json: Any) -> tuple[np.ndarray | None, str | None]:
    """The mixture's centres from the dataset registry, or (None, why not)."""
    import json

    try:
        from ganbench.data import load_dataset

        params = json.loads(params_json) if isinstance(params_json, str) and params_json else {}
        info = load_dataset(dataset, params).info
        centres = np.asarray(info.extras["centres"], dtype=float)
        if centres.ndim != 2 or centres.shape[1] != 2:
            return None, f"centres of '{dataset}' are not 2D points"
        return centres, None
    except Exception as err:  # optional overlay: any failure only costs the centres
        return None, f"mode centres of '{dataset}' unavailable ({type(err).__name__}: {err})"


def scatter_2d_figure(canvas: Canvas, panel: str, best: pd.DataFrame,
                      centres: np.ndarray | None, note: str | None = None,
                      max_points: int = 2500) -> FigureFile | None:
    """Generated 2D points of each model's best run over the mode centres (red crosses)."""
    rows = best[best["panel"] == panel]
    clouds = []
    for row in rows.itertuples(index=False):
        try:
            points = np.load(str(row.samples_2d), allow_pickle=False)
        except (OSError, ValueError):
            continue
        if points.ndim == 2 and points.shape[1] == 2 and len(points):
            clouds.append((row, points[:max_points]))
    if not clouds:
        return None
    order = {m: i for i, m in enumerate(canvas.style.models)}
    clouds.sort(key=lambda item: order.get(str(item[0].model), len(order)))
    everything = np.concatenate([c for _, c in clouds] + ([centres] if centres is not None else []))
    low, high = np.nanpercentile(everything, [0.5, 99.5], axis=0)
    pad = 0.1 * (high - low).max() + 1e-6
    fig, axes = _grid(canvas, len(clouds), 3.0)
    for ax, (row, points) in zip(axes, clouds):
        ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.4,
                   color=canvas.style.colors.get(str(row.model), "0.3"), rasterized=True)
        if centres is not None:
            ax.scatter(centres[:, 0], centres[:, 1], marker="x", s=25, color="red", lw=1)
        ax.set(xlim=(low[0] - pad, high[0] + pad), ylim=(low[1] - pad, high[1] + pad), aspect="equal")
        ax.set_title(_title(row, canvas), fontsize=9)
        ax.tick_params(labelsize=7)
    caption = f"Generated points of each model's best run on {panel}"
    caption += "; red crosses: mode centres." if centres is not None else "."
    return canvas.save(fig, f"samples2d_{slug(panel)}", f"Generated points: {panel}", caption,
                       [note])


def panel_centres(runs: pd.DataFrame, panel: str) -> tuple[np.ndarray | None, str | None]:
    """Centres for a panel's dataset, from the first run's dataset parameters."""
    sub = runs[runs["panel"] == panel]
    if sub.empty:
        return None, None
    first = sub.iloc[0]
    return mode_centres(str(first["dataset"]), first.get("dataset_params"))


def n_modes_by_panel(runs: pd.DataFrame, panels: list[str],
                     cache: Mapping[str, tuple[np.ndarray | None, str | None]]) -> dict[str, int]:
    """Number of mixture modes per panel where the centres are known."""
    return {p: len(cache[p][0]) for p in panels if p in cache and cache[p][0] is not None}
