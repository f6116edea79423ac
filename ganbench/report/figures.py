"""The report's plots, one function each: frames in, a saved :class:`FigureFile` (or None) out.

A function returns None when its data is absent (no precision/recall, no 2D samples, ...), so
the report draws only what the runs can support. Panels are datasets (``panel`` column), colours
and order come from one :class:`Style`, so a model looks the same in every figure.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import LogNorm
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ganbench.report.style import FigureFile, Style, best_per_model, incomplete_note, panel_grid, save_figure
from ganbench.report.views import format_p, metric_label

__all__ = ["Canvas", "budget_figure", "distribution_figure", "fid_vs_n_figure", "precision_recall_figure",
           "training_curves_figure", "mode_coverage_figure", "pvalue_heatmap_figure"]


@dataclass
class Canvas:
    """Where figures go and how they look: shared by every figure of one report.

    ``metrics`` maps each panel to the metric its runs are ranked by (its dataset's headline) and
    ``higher`` to that metric's direction, so every panel is labelled with what it shows."""

    directory: Path
    style: Style
    metrics: Mapping[str, str]
    higher: Mapping[str, bool]
    formats: tuple[str, ...] = ("png", "pdf")

    def label_for(self, panel: str) -> str:
        return metric_label(self.metrics[panel])

    @property
    def label(self) -> str:
        """The metric's name when every panel shows the same one, else "headline metric"."""
        names = set(self.metrics.values())
        return metric_label(names.pop()) if len(names) == 1 else "headline metric"

    @property
    def Label(self) -> str:
        """:attr:`label` at the start of a sentence or title."""
        return self.label[:1].upper() + self.label[1:]

    def panels(self, frame: pd.DataFrame) -> list[str]:
        present = set(frame["panel"].astype(str))
        return [p for p in self.style.panels if p in present]

    def legend(self, fig, models, extra: Sequence[tuple[Line2D, str]] = ()) -> None:
        handles, labels = self.style.legend_handles(models)
        for handle, label in extra:
            handles.append(handle)
            labels.append(label)
        if handles:
            fig.legend(handles, labels, loc="outside right upper", fontsize=8, frameon=False)

    def save(self, fig, name: str, title: str, caption: str,
             notes: Sequence[str | None] = ()) -> FigureFile:
        return save_figure(fig, self.directory, name, title, caption, notes, self.formats)


def _log_if_spread(ax, values: pd.Series, axis: str = "y", ratio: float = 20.0) -> None:
    """Log scale when positive values span more than ``ratio`` (a few diverged runs at FID 400)."""
    v = values.dropna()
    if len(v) and (v > 0).all() and v.max() / v.min() > ratio:
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
        _plain_log_ticks(ax, axis)


def _plain_log_ticks(ax, axis: str = "x") -> None:
    """Log axis with plain tick labels (0.5, 2, 10 instead of 10^0)."""
    fmt = FuncFormatter(lambda v, _: f"{v:g}")
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_formatter(fmt)


_PHASE_STYLES = {"-": "solid", "--": "dashed", ":": "dotted", "-.": "dash-dot"}


def _curve_label(row: Any, columns: Sequence[str]) -> str:
    """"NS GAN (ring, wide)": a budget curve's model, with its dataset and phase when known."""
    where = [str(getattr(row, c)) for c in ("dataset", "phase") if c in columns]
    return f"{row.model} ({', '.join(where)})" if where else str(row.model)


def budget_figure(canvas: Canvas, curves: pd.DataFrame, runs: pd.DataFrame, *,
                  x: str = "k", level: tuple[float, float] = (0.05, 0.95)) -> FigureFile | None:
    """Expected best score vs budget (settings, or compute hours), one line and band per model and
    search phase (a line style per phase).

    The study's central figure: how good a model gets for a given tuning budget. Failed runs are in
    the pool (as the study's FID 31337), and their share is printed under the figure, since a model
    that often fails needs a larger budget for the same expected best. Compute-hour curves are drawn
    where at least half of the random orders have finished one run.
    """
    if curves.empty:
        return None
    hours = x == "hours"
    phases = list(dict.fromkeys(curves["phase"].astype(str))) if "phase" in curves else [None]
    dashes = {phase: list(_PHASE_STYLES)[i % len(_PHASE_STYLES)] for i, phase in enumerate(phases)}
    panels = canvas.panels(curves)
    fig, axes = panel_grid(len(panels))
    for ax, panel in zip(axes, panels):
        sub = curves[curves["panel"] == panel]
        for model in canvas.style.present(sub["model"]):
            for phase in phases:
                line = sub[sub["model"] == model]
                if phase is not None:
                    line = line[line["phase"].astype(str) == phase]
                if hours:
                    line = line[line["reached"] >= 0.5]
                if line.empty:
                    continue
                color = canvas.style.colors[model]
                ax.plot(line[x], line["mean"], color=color, lw=1.8, ls=dashes[phase])
                ax.fill_between(line[x], line["q_low"], line["q_high"], color=color, alpha=0.18, lw=0)
        if hours or sub[x].max() >= 20:
            ax.set_xscale("log")
            _plain_log_ticks(ax)
        else:  # a handful of settings: whole numbers only
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(panel, fontsize=10)
        ax.set_xlabel("compute hours" if hours else "budget (hyperparameter settings)")
        ax.set_ylabel(f"expected best {canvas.label_for(panel)}")
    canvas.legend(fig, curves["model"].unique())
    group = [c for c in ("suite", "dataset", "model", "phase") if c in curves]
    per_curve = curves.drop_duplicates(group)
    missing = int(per_curve["n_missing"].sum())
    failing = per_curve[per_curve["n_failed"] > 0] if "n_failed" in per_curve else per_curve.iloc[:0]
    failures = "; ".join(f"{_curve_label(row, failing.columns)} {int(row.n_failed)}/{int(row.n)}"
                         for row in failing.itertuples())
    notes = [incomplete_note(runs), f"{missing} runs without a score yet left out" if missing else None,
             f"runs that failed before a score, in the pool as the worst draw: {failures}" if failures else None]
    band = f"{round(level[0] * 100)}–{round(level[1] * 100)}%"
    what = "cumulative compute hours (runs trained in a random order)" if hours \
        else "number k of hyperparameter settings tried (k runs drawn with replacement)"
    styles = ", ".join(f"{phase} {_PHASE_STYLES[dashes[phase]]}" for phase in phases if phase is not None)
    caption = (f"Expected best {canvas.label} against {what}: mean over bootstrap draws, band "
               f"{band} of draws. Each search phase is its own pool" + (f" ({styles})" if len(phases) > 1 else "")
               + "; seed-only phases left out; failed runs kept as failures.")
    name = "budget_hours" if hours else "budget_settings"
    title = f"Best {canvas.label} vs " + ("compute hours" if hours else "budget of settings")
    return canvas.save(fig, name, title, caption, notes)


def distribution_figure(canvas: Canvas, scores: pd.DataFrame, runs: pd.DataFrame, *,
                        which: str = "seeds",
                        published: Mapping[tuple[str, str], tuple[float, float, str]] | None = None,
                        calibration: Mapping[str, Mapping[str, float]] | None = None) -> FigureFile | None:
    """Box plot plus points of run scores per model: over seeds of the best setting, or over settings.

    Published numbers (mean ± std) are drawn as black diamonds beside the box they belong to; ``calibration``
    (panel → calibration row → its mean score: ganbench/calibration.py) as grey horizontal lines across it.
    """
    column = "seed_run" if which == "seeds" else "search_run"
    data = scores[scores[column].astype(bool) & scores["score"].notna()]
    if data.empty:
        return None
    panels = canvas.panels(data)
    fig, axes = panel_grid(len(panels), width=max(4.3, 0.8 * data["model"].nunique() + 1.5))
    drew_published = False
    drew_calibration: dict[str, str] = {}
    for ax, panel in zip(axes, panels):
        sub = data[data["panel"] == panel].assign(model=lambda f: f["model"].astype(str))
        order = canvas.style.present(sub["model"])
        common = dict(data=sub, x="model", y="score", order=order, ax=ax)
        with warnings.catch_warnings():
            # seaborn 0.13 passes matplotlib 3.11's deprecated ``vert``; nothing to fix on our side.
            warnings.filterwarnings("ignore", message=".*vert: bool was deprecated.*")
            sns.boxplot(**common, hue="model", hue_order=order, palette=canvas.style.palette(order),
                        legend=False, fliersize=0, width=0.6, boxprops={"alpha": 0.55})
        sns.stripplot(**common, color="0.15", size=3, alpha=0.6, jitter=0.2)
        for i, model in enumerate(order):
            ref = (published or {}).get((panel, model))
            if which == "seeds" and ref is not None and np.isfinite(ref[0]):
                ax.errorbar(i + 0.38, ref[0], yerr=ref[1] if np.isfinite(ref[1]) else None,
                            fmt="D", color="black", ms=5, capsize=3, lw=1)
                drew_published = True
        lines = {name: v for name, v in (calibration or {}).get(panel, {}).items() if np.isfinite(v)}
        for (name, value), style in zip(lines.items(), ("--", ":", "-.")):
            ax.axhline(value, color="0.35", ls=style, lw=1)
            drew_calibration.setdefault(name, style)
        _log_if_spread(ax, pd.concat([sub["score"], pd.Series(list(lines.values()), dtype=float)]))
        ax.set_title(panel, fontsize=10)
        ax.set_xlabel("")
        ax.set_ylabel(canvas.label_for(panel))
        ax.tick_params(axis="x", rotation=30 if len(order) > 3 else 0)
    extra = []
    if drew_published:
        sources = sorted({v[2] for v in (published or {}).values() if v[2]})
        extra.append((Line2D([], [], marker="D", color="black", linestyle=""),
                      "published: " + "; ".join(sources)))
    extra += [(Line2D([], [], color="0.35", ls=style, lw=1), name) for name, style in drew_calibration.items()]
    canvas.legend(fig, data["model"].unique(), extra)
    if which == "seeds":
        caption = (f"{canvas.Label} (best checkpoint) over the seeds of each model's seed study "
                   f"(best setting retrained with many seeds).")
        if drew_published:
            caption += " Black diamonds: published mean ± std."
        if drew_calibration:
            caption += (" Grey lines: real data scored as a model (calibration rows: the floor, held-out real "
                        "samples; the copycat, training images).")
        title = f"{canvas.Label} over seeds"
    else:
        caption = f"{canvas.Label} (best checkpoint) over the runs of the hyperparameter search."
        title = f"{canvas.Label} over hyperparameter settings"
    notes = [incomplete_note(runs[runs["run_id"].isin(data["run_id"])]) if len(runs) else None]
    return canvas.save(fig, f"distribution_{which}", title, caption, notes)


def _f1_isolines(ax) -> None:
    recall = np.linspace(0.001, 1, 200)
    for f1 in (0.2, 0.4, 0.6, 0.8):
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = f1 * recall / (2 * recall - f1)
        keep = (recall > f1 / 2) & (precision <= 1) & (precision > 0)
        ax.plot(recall[keep], precision[keep], color="0.6", lw=0.8, ls=":")
        ax.annotate(f"F1={f1}", (recall[keep][-1], precision[keep][-1]), fontsize=7, color="0.45",
                    xytext=(-28, 2), textcoords="offset points")


def precision_recall_figure(canvas: Canvas, frame: pd.DataFrame, runs: pd.DataFrame,
                            prefix: str = "") -> FigureFile | None:
    """Precision against recall per run (at its scored checkpoint), with F1 isolines."""
    p, r = f"{prefix}precision", f"{prefix}recall"
    if p not in frame.columns or r not in frame.columns:
        return None
    data = frame[frame[p].notna() & frame[r].notna()]
    if data.empty:
        return None
    panels = canvas.panels(data)
    fig, axes = panel_grid(len(panels), width=3.8, height=3.6)
    for ax, panel in zip(axes, panels):
        sub = data[data["panel"] == panel].assign(model=lambda f: f["model"].astype(str))
        _f1_isolines(ax)
        order = canvas.style.present(sub["model"])
        sns.scatterplot(data=sub, x=r, y=p, hue="model", hue_order=order,
                        palette=canvas.style.palette(order), s=22, alpha=0.75, legend=False, ax=ax)
        ax.set(xlim=(0, 1.02), ylim=(0, 1.02), xlabel="recall", ylabel="precision")
        ax.set_title(panel, fontsize=10)
    canvas.legend(fig, data["model"].unique())
    kind = prefix.replace("_", " ").strip()
    what = f"{kind} precision and recall" if kind else "precision and recall"
    caption = (f"{what[0].upper()}{what[1:]} of each run at the checkpoint with its best "
               f"{canvas.label}; dotted lines: equal F1.")
    notes = [incomplete_note(runs[runs["run_id"].isin(data["run_id"])])]
    title = f"{kind.capitalize()} precision vs recall" if kind else "Precision vs recall"
    return canvas.save(fig, f"{prefix}precision_recall", title, caption, notes)


def training_curves_figure(canvas: Canvas, points: pd.DataFrame, scores: pd.DataFrame,
                           runs: pd.DataFrame) -> FigureFile | None:
    """Metric against training step: median and inter-quartile band over seeds (else over runs)."""
    wanted = points["panel"].astype(str).map(canvas.metrics)
    data = points[(points["metric"].astype(str) == wanted).to_numpy() & points["value"].notna().to_numpy()
                  & points["step"].notna().to_numpy()]
    if data.empty or data["step"].nunique() < 2:
        return None
    flags = scores[["suite", "run_id", "seed_run"]]
    data = data.merge(flags, on=["suite", "run_id"], how="left")
    has_seeds = data.groupby(["panel", "model"], observed=True)["seed_run"].transform("any")
    data = data[data["seed_run"].fillna(False).astype(bool) | ~has_seeds.astype(bool)]
    data = data.assign(step=data["step"].astype(float), model=data["model"].astype(str))
    stats = data.groupby(["panel", "model", "step"], observed=True)["value"] \
        .quantile([0.25, 0.5, 0.75]).unstack().reset_index()
    panels = canvas.panels(stats)
    fig, axes = panel_grid(len(panels))
    for ax, panel in zip(axes, panels):
        sub = stats[stats["panel"] == panel]
        for model in canvas.style.present(sub["model"]):
            line = sub[sub["model"] == model].sort_values("step")
            color = canvas.style.colors[model]
            ax.plot(line["step"], line[0.5], color=color, lw=1.6, marker="o", ms=3)
            ax.fill_between(line["step"], line[0.25], line[0.75], color=color, alpha=0.18, lw=0)
        _log_if_spread(ax, sub[0.5])
        ax.set_title(panel, fontsize=10)
        ax.set_xlabel("training step")
        ax.set_ylabel(canvas.label_for(panel))
    canvas.legend(fig, stats["model"].unique())
    caption = (f"{canvas.Label} at each evaluation: median and 25–75% band over the seeds of each "
               f"model's seed study (over all runs where it has none).")
    notes = [incomplete_note(runs[runs["run_id"].isin(data["run_id"])])]
    return canvas.save(fig, "training_curves", f"{canvas.Label} during training", caption, notes)


def mode_coverage_figure(canvas: Canvas, frame: pd.DataFrame, runs: pd.DataFrame,
                         n_modes: Mapping[str, int] | None = None) -> FigureFile | None:
    """Modes captured (and modes holding ≥1% of samples) per model, mean ± std over runs.

    Both are shown because one stray high-quality sample counts a mode as captured, which
    flatters short runs; the dashed line is the number of modes of the mixture when known.
    """
    measures = [m for m in ("modes", "modes_1pct") if m in frame.columns and frame[m].notna().any()]
    if not measures:
        return None
    has_seeds = frame.groupby(["panel", "model"], observed=True)["seed_run"].transform("any")
    data = frame[frame["seed_run"].astype(bool) | ~has_seeds.astype(bool)]
    long = data.melt(id_vars=["panel", "model", "run_id"], value_vars=measures,
                     var_name="measure", value_name="count").dropna(subset=["count"])
    if long.empty:
        return None
    long["measure"] = long["measure"].map({"modes": "captured", "modes_1pct": "≥1% of samples"})
    long["model"] = long["model"].astype(str)
    panels = canvas.panels(long)
    fig, axes = panel_grid(len(panels))
    for ax, panel in zip(axes, panels):
        sub = long[long["panel"] == panel]
        order = canvas.style.present(sub["model"])
        sns.barplot(data=sub, x="measure", y="count", hue="model", hue_order=order,
                    palette=canvas.style.palette(order), errorbar="sd", legend=False, ax=ax,
                    err_kws={"linewidth": 1})
        total = (n_modes or {}).get(panel)
        if total:
            ax.axhline(total, color="0.3", ls="--", lw=1)
            ax.annotate(f"{total} modes", (0.01, total), xycoords=("axes fraction", "data"),
                        fontsize=7, color="0.3", xytext=(0, 2), textcoords="offset points")
        ax.set_title(panel, fontsize=10)
        ax.set_xlabel("")
        ax.set_ylabel("modes")
    canvas.legend(fig, long["model"].unique())
    caption = ("Modes captured (at least one high-quality sample) and modes holding at least 1% of "
               "the samples, at each run's scored checkpoint: mean ± std over seeds (over all runs "
               "where a model has no seed study).")
    notes = [incomplete_note(runs[runs["run_id"].isin(long["run_id"])])]
    return canvas.save(fig, "mode_coverage", "Mode coverage", caption, notes)


def pvalue_heatmap_figure(canvas: Canvas, pairs: pd.DataFrame) -> FigureFile | None:
    """Holm-adjusted Mann–Whitney p-values between every pair of models, one matrix per dataset."""
    data = pairs[pairs["p_holm"].notna()]
    if data.empty:
        return None
    panels = canvas.panels(data)
    size = max(3.6, 0.7 * (data["model_a"].nunique() + 1) + 1.5)
    fig, axes = panel_grid(len(panels), width=size, height=size * 0.85, legend_space=0.2)
    for ax, panel in zip(axes, panels):
        sub = data[data["panel"] == panel]
        order = canvas.style.present(set(sub["model_a"]) | set(sub["model_b"]))
        matrix = pd.DataFrame(np.nan, index=order, columns=order)
        for row in sub.itertuples(index=False):
            matrix.loc[row.model_a, row.model_b] = matrix.loc[row.model_b, row.model_a] = row.p_holm
        labels = matrix.map(lambda v: "" if pd.isna(v) else format_p(v))
        sns.heatmap(matrix.clip(lower=1e-4), annot=labels.to_numpy(), fmt="", cmap="rocket",
                    norm=LogNorm(vmin=1e-4, vmax=1), square=True, cbar=True, ax=ax,
                    annot_kws={"fontsize": 7}, cbar_kws={"label": "p (Holm)", "shrink": 0.8})
        ax.grid(False)
        ax.set_title(panel, fontsize=10)
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.tick_params(axis="x", rotation=45)
    sample = ", ".join(sorted(set(data["sample"])))
    caption = (f"Two-sided Mann–Whitney U on {canvas.label} between each pair of models "
               f"(sample: {sample}), Holm-adjusted per dataset; dark = small p.")
    return canvas.save(fig, "pairwise_pvalues", "Pairwise tests (p-values)", caption)


def fid_vs_n_figure(canvas: Canvas, frame: pd.DataFrame, runs: pd.DataFrame) -> FigureFile | None:
    """FID against the number of generated samples N, FID_N ≈ FD∞ + slope / N, per model (its best-scoring
    run's ``fd_inf`` and ``fd_inf_slope`` at the scored checkpoint), from N/10 to 100× the n it was measured at.

    Why: FID's bias depends on N *and* on the generator, so FIDs at different N are not comparable and two
    models can swap places as N grows; the dashed lines are FD∞, where every curve ends."""
    need = ("fd_inf", "fd_inf_slope")
    if not all(c in frame.columns for c in need):
        return None
    data = frame[frame["fd_inf"].notna() & frame["fd_inf_slope"].notna() & frame["n_gen"].notna()]
    if data.empty:
        return None
    best = best_per_model(data)
    panels = canvas.panels(best)
    fig, axes = panel_grid(len(panels))
    for ax, panel in zip(axes, panels):
        sub = best[best["panel"] == panel].assign(model=lambda f: f["model"].astype(str))
        for model in canvas.style.present(sub["model"]):
            row = sub[sub["model"] == model].iloc[0]
            n_gen = float(row["n_gen"])
            n = np.geomspace(max(n_gen / 10.0, 2.0), 100.0 * n_gen, 80)
            color = canvas.style.colors[model]
            ax.plot(n, row["fd_inf"] + row["fd_inf_slope"] / n, color=color, lw=1.6)
            ax.axhline(row["fd_inf"], color=color, lw=0.9, ls="--")
            ax.plot([n_gen], [row["fd_inf"] + row["fd_inf_slope"] / n_gen], "o", color=color, ms=5)
        ax.set_xscale("log")
        _plain_log_ticks(ax)
        ax.set_title(panel, fontsize=10)
        ax.set_xlabel("generated samples N")
        ax.set_ylabel("FID_N (fitted)")
    canvas.legend(fig, best["model"].unique())
    caption = ("FID as a function of the number of generated samples, FID_N ≈ FD∞ + slope/N (Chong & Forsyth "
               "2020), for each model's best run at its scored checkpoint: dots at the n it was evaluated with, "
               "dashed lines at FD∞. Curves that cross mean the two models' FID ranking depends on N.")
    notes = [incomplete_note(runs[runs["run_id"].isin(best["run_id"])])]
    return canvas.save(fig, "fid_vs_n", "FID against the number of samples", caption, notes)
