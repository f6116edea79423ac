"""Shared look of every figure: one colour and one position per model, panels per dataset.

Figures are built on ``matplotlib.figure.Figure`` objects (never pyplot's global state), so a
report can be built inside a notebook or a server without switching anybody's backend.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ganbench.results.names import model_order

__all__ = ["Style", "make_style", "add_panel", "best_per_model", "panel_grid", "slug", "incomplete_note",
           "FigureFile", "save_figure"]


@dataclass(frozen=True)
class Style:
    """Model order and colours, and the order of panels (a dataset, or suite · dataset)."""

    models: list[str]
    colors: dict[str, tuple[float, float, float]]
    panels: list[str]

    def present(self, models: Iterable[object]) -> list[str]:
        """The style's order restricted to ``models``."""
        wanted = {str(m) for m in models}
        return [m for m in self.models if m in wanted]

    def palette(self, models: Iterable[object] | None = None) -> dict[str, tuple[float, float, float]]:
        names = self.models if models is None else self.present(models)
        return {m: self.colors[m] for m in names}

    def legend_handles(self, models: Iterable[object]) -> tuple[list[Line2D], list[str]]:
        names = self.present(models)
        handles = [Line2D([], [], color=self.colors[m], marker="o", linestyle="-") for m in names]
        return handles, names


def add_panel(frame: pd.DataFrame, multi_suite: bool) -> pd.DataFrame:
    """``frame`` plus a ``panel`` column: the dataset, prefixed by the suite when there are several."""
    if multi_suite and "suite" in frame.columns:
        panel = frame["suite"].astype(str) + " · " + frame["dataset"].astype(str)
    else:
        panel = frame["dataset"].astype(str)
    out = frame.copy()  # also defragments a frame built column by column (pandas warns on assign)
    out["panel"] = panel.to_numpy()
    return out


def best_per_model(scores: pd.DataFrame) -> pd.DataFrame:
    """The best-scoring row per (panel, model), each in the direction its metric improves (the row's
    ``higher_is_better``: its panel's headline); unscored rows last, ties to the first."""
    up = scores["higher_is_better"].astype(object).fillna(False).astype(bool).to_numpy() \
        if "higher_is_better" in scores.columns else np.zeros(len(scores), dtype=bool)
    order = np.where(up, -1.0, 1.0) * scores["score"].to_numpy(dtype=float)
    ordered = scores.assign(_order=order).sort_values("_order", na_position="last", kind="stable")
    return ordered.drop(columns="_order").drop_duplicates(["panel", "model"]).reset_index(drop=True)


def make_style(runs: pd.DataFrame) -> Style:
    """Colours from seaborn's colour-blind palette (husl beyond ten models), fixed per model."""
    models = model_order(runs["model"].astype(str).unique())
    colors = sns.color_palette("colorblind", len(models)) if len(models) <= 10 \
        else sns.color_palette("husl", len(models))
    panels = sorted(runs["panel"].astype(str).unique()) if "panel" in runs.columns else []
    return Style(models, {m: tuple(c) for m, c in zip(models, colors)}, panels)


#: The widest a figure gets, in inches, legend included: wider panels wrap into more rows instead, so that
#: a figure shown at a page's width keeps legible tick labels (8 models' box plots are 7.9 in per panel).
MAX_WIDTH = 16.0


def panel_grid(n: int, *, width: float = 4.3, height: float = 3.3, max_cols: int = 3,
               legend_space: float = 1.6) -> tuple[Figure, list]:
    """A constrained-layout figure with ``n`` axes in up to ``max_cols`` columns (fewer when the panels are
    wide: the figure stays within :data:`MAX_WIDTH`), wrapping into rows; extras hidden."""
    fit = max(1, int((MAX_WIDTH - legend_space) // width))
    cols = max(1, min(n, max_cols, fit))
    rows = max(1, math.ceil(n / cols))
    fig = Figure(figsize=(width * cols + legend_space, height * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def slug(text: str) -> str:
    """A file-name-safe version of a panel name."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "all"


def incomplete_note(runs: pd.DataFrame) -> str | None:
    """"3 of 12 runs incomplete" (still running or pending), or None when all finished."""
    if "complete" not in runs.columns or not len(runs):
        return None
    unique = runs.drop_duplicates(["suite", "run_id"]) if "run_id" in runs.columns else runs
    missing = int((~unique["complete"].astype(bool)).sum())
    return f"{missing} of {len(unique)} runs incomplete" if missing else None


@dataclass
class FigureFile:
    """A figure written to disk: its name, files, and what the report says about it."""

    name: str
    title: str
    caption: str
    png: Path
    pdf: Path | None
    notes: list[str] = field(default_factory=list)


def save_figure(fig: Figure, directory: Path, name: str, title: str, caption: str,
                notes: Sequence[str | None] = (), formats: Sequence[str] = ("png", "pdf"),
                dpi: int = 130) -> FigureFile:
    """Write ``fig`` as ``<name>.png`` (and ``.pdf``), with notes printed under the panels."""
    notes = [n for n in notes if n]
    if notes:
        fig.supxlabel("; ".join(notes), fontsize=8, style="italic", color="0.35")
    fig.suptitle(title, fontsize=11)
    directory.mkdir(parents=True, exist_ok=True)
    png = directory / f"{name}.png"
    fig.savefig(png, dpi=dpi)
    pdf = None
    if "pdf" in formats:
        pdf = directory / f"{name}.pdf"
        fig.savefig(pdf)
    return FigureFile(name, title, caption, png, pdf, list(notes))
