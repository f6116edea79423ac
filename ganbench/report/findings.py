"""The report's opening paragraph: what the tables say, in sentences, one paragraph per dataset.

A reader should not have to work out from a 28-row pairwise table that nothing was significant because
every test ran on 2 vs 2 seeds. So per dataset this says how the models rank on its headline metric,
which pairs the tests tell apart (Holm-adjusted Mann–Whitney U, as the pairwise table), which they do
not and why — the sample sizes could never have reached the level (with the seeds that would), or they
could and the data did not (with the smallest difference those seeds detect and the seeds the observed gap
would need) —, how the budget curves order the models, and how many runs failed.
Everything is read from the summary and pairwise frames of :mod:`ganbench.results.study`; nothing is
recomputed, so the sentences cannot disagree with the tables.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import pandas as pd

from ganbench.report.formats import decimals_for, number
from ganbench.report.views import format_p, mean_or_best, metric_label
from ganbench.results.study import calibration_mask

__all__ = ["Finding", "findings", "findings_markdown"]


@dataclass(frozen=True)
class Finding:
    """The sentences about one dataset (``panel``: the dataset, or suite · dataset)."""

    panel: str
    metric: str
    sentences: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _names(items: list[str]) -> str:
    """"A", "A and B", "A, B and C"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def findings(table: pd.DataFrame, pairs: pd.DataFrame, headlines: Mapping[str, str],
             higher: Mapping[str, bool], *, alpha: float = 0.05,
             seed_panels: pd.DataFrame | None = None,
             floor_sources: Mapping[str, str] | None = None) -> list[Finding]:
    """One :class:`Finding` per panel of ``table`` (the summary, with a ``panel`` column) that has a
    headline; ``pairs`` is the pairwise frame (may be empty), ``headlines``/``higher`` map each *dataset*
    to its headline metric and that metric's direction; ``seed_panels``: the seed panel
    (:func:`ganbench.results.study.seed_panel`, with a ``panel`` column), when the runs scored several
    sampling seeds; ``floor_sources``: panel → where its floor row's samples came from."""
    out = []
    for panel_name, rows in table.groupby("panel", sort=False, observed=True):
        dataset = str(rows["dataset"].iloc[0])
        if dataset not in headlines:
            continue
        metric, up = headlines[dataset], bool(higher[dataset])
        tests = pairs[pairs["panel"].astype(str) == str(panel_name)] if len(pairs) and "panel" in pairs \
            else pairs.iloc[:0]
        marked = calibration_mask(rows)
        rows, calibration = rows[~marked], rows[marked]
        sentences = [_ranking(str(panel_name), rows, metric, up)]
        sentences += _calibration(rows, calibration, metric, up, (floor_sources or {}).get(str(panel_name)))
        sentences += _tests(tests, rows, metric, alpha)
        if seed_panels is not None and len(seed_panels):
            sentences += _seed_panel(seed_panels[seed_panels["panel"].astype(str) == str(panel_name)])
        sentences += _budget(tests, metric, up)
        sentences += _failures(rows)
        out.append(Finding(str(panel_name), metric, tuple(s for s in sentences if s)))
    return out


def _ranking(panel: str, rows: pd.DataFrame, metric: str, up: bool) -> str:
    label = f"{metric_label(metric)} ({'higher' if up else 'lower'} is better)"
    seeds = rows[f"{metric}_seeds"].fillna(0).astype(int) if f"{metric}_seeds" in rows else pd.Series(0, rows.index)
    by_seeds = bool((seeds >= 2).all())
    value = f"{metric}_mean" if by_seeds else f"{metric}_best"
    scored = rows[rows[value].map(_finite)] if value in rows else rows.iloc[:0]
    if scored.empty:
        return f"On {panel}, ranked by {label}, no model has a score yet."
    ordered = scored.sort_values(value, ascending=not up, kind="stable")
    dec = decimals_for(ordered[value].tolist())
    if by_seeds:
        parts = [f"{r['model']} {number(r[value], dec)}" + (f" ± {number(r[f'{metric}_std'], dec)}"
                                                            if _finite(r.get(f"{metric}_std")) else "")
                 for r in ordered.to_dict("records")]
        n = sorted(set(int(s) for s in seeds))
        many = f"{n[0]}" if len(n) == 1 else f"{n[0]}–{n[-1]}"
        how = f"mean ± std over {many} seeds of each model's best setting"
    else:
        parts = [f"{r['model']} {number(r[value], dec)}" for r in ordered.to_dict("records")]
        how = "best run of each model (no model has a seed study)"
    missing = sorted(set(rows["model"].astype(str)) - set(scored["model"].astype(str)))
    tail = f"; {_names(missing)} {'has' if len(missing) == 1 else 'have'} no score" if missing else ""
    return f"On {panel}, ranked by {label}, {how}: {', '.join(parts)}{tail}."


def _calibration(models: pd.DataFrame, calibration: pd.DataFrame, metric: str, up: bool,
                 floor_source: str | None = None) -> list[str]:
    """What the calibration rows say about the models (ganbench/calibration.py): where real data scores at this
    n, whether a model got past it (suspect), and whether the memorisation metrics caught the copycat; and,
    when the floor had to come from the train split, that it did (a feature network fit on that split has
    seen those samples, so the floor is then closer to the copycat than held-out data would be)."""
    if calibration.empty:
        return []
    from ganbench.catalog import CALIBRATIONS

    levels = {str(r["model"]): (mean_or_best(r, metric), r) for r in calibration.to_dict("records")}
    identity = levels.pop(CALIBRATIONS.meta("identity")["label"], None)
    floor, copycat = (levels.get(CALIBRATIONS.meta(kind)["label"]) for kind in ("floor", "copycat"))
    label = metric_label(metric)
    scored = {str(r["model"]): mean_or_best(r, metric) for r in models.to_dict("records") if _finite(mean_or_best(r, metric))}
    out = _identity(identity[0], scored, label, up) if identity is not None and _finite(identity[0]) else []
    shown = {name: v for name, (v, _) in levels.items() if _finite(v)}
    if not shown:
        return out
    dec = decimals_for(list(shown.values()) + list(scored.values()))
    out.append(f"As calibration, real data scored as a model reaches {label} "
               + " and ".join(f"{number(v, dec)} ({name})" for name, v in shown.items()) + " at this n.")
    if floor_source and " train " in f" {floor_source} ":
        out.append(f"The floor's samples are {floor_source}: the evaluation split has none left unread, and the "
                   f"domain classifier whose features score them was fit on the train split, so it has seen them — "
                   f"give the dataset a larger test split (params.n_test) for a held-out floor.")
    if floor is not None and _finite(floor[0]) and scored:
        beyond = [m for m, v in scored.items() if (v > floor[0] if up else v < floor[0])]
        if beyond:
            out.append(f"{_names(beyond)} {'scores' if len(beyond) == 1 else 'score'} better than held-out real "
                       f"data: suspect memorisation or an artefact of the metric (see the calibration table's "
                       f"authenticity and C_T).")
        elif not up and floor[0] > 0:
            best_name = min(scored, key=scored.get)
            out.append(f"The best model, {best_name}, is {scored[best_name] / floor[0]:.1f}× the floor.")
    if copycat is not None and floor is not None:
        cat, real = copycat[1], floor[1]
        caught = []
        for key in ("authenticity", "ct"):  # both fall when samples copy the training set
            a, b = mean_or_best(cat, key), mean_or_best(real, key)
            if _finite(a) and _finite(b):
                caught.append((metric_label(key), a, b, a < b))
        if caught:
            said = ", ".join(f"{name} {number(a, 2)} against the floor's {number(b, 2)}" for name, a, b, _ in caught)
            verdict = "they tell copying apart" if all(c for *_, c in caught) else "they do not all tell it apart"
            out.append(f"The memorisation metrics on the copycat: {said} — {verdict}.")
    return out


def _identity(level: float, scored: dict[str, float], label: str, up: bool) -> list[str]:
    """What the identity row of a translation dataset says: the score of copying the input, and which methods
    do not beat it (they have learnt nothing this metric sees)."""
    dec = decimals_for([level, *scored.values()])
    out = [f"Copying the input (the identity row) scores {label} {number(level, dec)}."]
    behind = [m for m, v in scored.items() if not (v > level if up else v < level)]
    if behind:
        out.append(f"{_names(behind)} {'does' if len(behind) == 1 else 'do'} not beat it: no translation this "
                   "metric can see.")
    elif scored:
        out.append("Every method beats it.")
    return out


def _seed_panel(rows: pd.DataFrame) -> list[str]:
    """How the spread over seeds divides between training and sampling (the seed panel), against the FID
    Lottery's 3.2."""
    if rows.empty:
        return []
    parts = [f"{r['model']} {number(r['ratio'], 1)}" + (f" [{number(r['ratio_low'], 1)}, {number(r['ratio_high'], 1)}]"
                                                         if _finite(r.get("ratio_low")) else "")
             for r in rows.to_dict("records") if _finite(r["ratio"])]
    if not parts:
        return []
    lottery = number(float(rows["lottery_ratio"].iloc[0]), 1)
    low = [str(r["model"]) for r in rows.to_dict("records") if _finite(r.get("ratio_high")) and r["ratio_high"] < 1.5]
    tail = (f"; for {_names(low)} the sampling noise is most of the spread, so more samples would sharpen the "
            f"comparison more than more seeds" if low else "")
    return [f"Retraining moves the score this many times further than redrawing one network's samples: "
            f"{', '.join(parts)} (the FID Lottery: {lottery}×){tail}."]


def _tests(tests: pd.DataFrame, rows: pd.DataFrame, metric: str, alpha: float) -> list[str]:
    """The pairs by their verdict (:data:`ganbench.results.study.VERDICTS`, as the pairwise table shows)."""
    from ganbench.results.study import VERDICTS, seeds_to_resolve

    tested = tests[tests["p_holm"].map(_finite)] if len(tests) else tests
    if tested.empty:
        return ["There is only one model with scores, so nothing is compared."
                if rows["model"].nunique() < 2 else "No pair of models could be tested."]
    out = []
    better = []
    for r in tested[tested["verdict"] == VERDICTS[0]].to_dict("records"):
        a_wins = r["p_a_better"] > 0.5
        winner, loser = (r["model_a"], r["model_b"]) if a_wins else (r["model_b"], r["model_a"])
        better.append(f"{winner} over {loser} (Holm p {format_p(r['p_holm'])})")
    if better:
        out.append(f"The tests tell apart: {'; '.join(better)}.")
    hopeless = tested[tested["verdict"] == VERDICTS[2]]
    possible = tested[tested["verdict"] == VERDICTS[1]]
    if len(hopeless):
        sizes = sorted({f"{int(a)} vs {int(b)}" for a, b in zip(hopeless["n_a"], hopeless["n_b"])})
        need = seeds_to_resolve(len(tested), alpha)
        what = "seeds" if (hopeless["sample"] == "seeds").all() else "runs"
        pairs_text = "no pair" if len(hopeless) == len(tested) else \
            f"{len(hopeless)} pair{'s' if len(hopeless) > 1 else ''} ({_pair_list(hopeless)})"
        out.append(f"With {', '.join(sizes)} {what}, {pairs_text} could reach Holm p < {alpha} whatever the runs "
                   f"showed: too few seeds to conclude"
                   + (f" ({need} seeds per model would be needed)." if need else "."))
    if len(possible):
        overlap = _overlap_note(possible, rows, metric)
        out.append(f"Not different at this power (smallest Holm p {format_p(float(possible['p_holm'].min()))}"
                   f"{overlap}): {'; '.join(_power_phrase(r) for r in possible.to_dict('records'))}.")
    return out


def _power_phrase(r: Mapping[str, Any]) -> str:
    """"NS GAN vs LSGAN — these seeds detect a difference of 35.2; the observed 7.4 would need ≈ 40 seeds per
    model" (from the pairwise frame's ``mdd`` and ``seeds_needed``; less when they are unknown)."""
    pair = f"{r['model_a']} vs {r['model_b']}"
    mdd, need = r.get("mdd"), r.get("seeds_needed")
    if not _finite(mdd):
        return pair
    observed = r["mean_a"] - r["mean_b"] if _finite(r.get("mean_a")) and _finite(r.get("mean_b")) else math.nan
    dec = decimals_for([mdd, abs(observed)] if _finite(observed) else [mdd])
    text = f"{pair} — these seeds detect a difference of {number(mdd, dec)}"
    if _finite(need) and _finite(observed):
        text += f"; the observed {number(abs(observed), dec)} would need ≈ {int(need)} seeds per model"
    elif _finite(observed) and observed == 0:
        text += "; the means are equal"
    return text


def _pair_list(frame: pd.DataFrame) -> str:
    return "; ".join(f"{r['model_a']} vs {r['model_b']}" for r in frame.to_dict("records"))


def _overlap_note(pairs: pd.DataFrame, rows: pd.DataFrame, metric: str) -> str:
    """", their 95% intervals overlap" when every untold pair's bootstrap CIs of the mean overlap."""
    low, high = f"{metric}_ci_low", f"{metric}_ci_high"
    if low not in rows or high not in rows:
        return ""
    ci = {str(r["model"]): (r[low], r[high]) for r in rows.to_dict("records")}
    flags = []
    for r in pairs.to_dict("records"):
        a, b = ci.get(str(r["model_a"])), ci.get(str(r["model_b"]))
        if a is None or b is None or not all(_finite(v) for v in (*a, *b)):
            return ""
        flags.append(a[0] <= b[1] and b[0] <= a[1])
    return "; their 95% intervals of the mean overlap" if flags and all(flags) else ""


def _budget(tests: pd.DataFrame, metric: str, up: bool) -> list[str]:
    """How the expected best at the pairwise budget k orders the models (the budget curves' reading)."""
    if tests.empty or "k" not in tests or not tests["k"].map(_finite).any():
        return []
    rows = tests[tests["k"].map(_finite)]
    best: dict[str, float] = {}
    for r in rows.to_dict("records"):
        best.setdefault(str(r["model_a"]), r["emin_a"])
        best.setdefault(str(r["model_b"]), r["emin_b"])
    values = {m: v for m, v in best.items() if _finite(v)}
    if len(values) < 2:
        return []
    ks = sorted({int(k) for k in rows["k"]})
    k = f"{ks[0]}" if len(ks) == 1 else f"{ks[0]}–{ks[-1]}"
    dec = decimals_for(list(values.values()))
    order = sorted(values, key=lambda m: -values[m] if up else values[m])
    return [f"With a budget of {k} hyperparameter setting{'s' if ks[-1] > 1 else ''}, the expected best "
            f"{metric_label(metric)} puts them in this order, best first: "
            f"{', '.join(f'{m} ({number(values[m], dec)})' for m in order)}."]


def _failures(rows: pd.DataFrame) -> list[str]:
    failing = [f"{r['model']} {int(r['diverged']) + int(r['failed'])} of {int(r['runs'])}"
               for r in rows.to_dict("records") if int(r["diverged"]) + int(r["failed"]) > 0]
    return [f"Runs that diverged or failed: {'; '.join(failing)}."] if failing else []


def findings_markdown(items: list[Finding]) -> str:
    """The findings as Markdown, one paragraph per dataset, for ``tables/findings.md``."""
    if not items:
        return "No dataset has a score to report on.\n"
    return "\n\n".join(f"**{f.panel}.** {f.text}" for f in items) + "\n"
