"""``ganbench plan``: what a suite expands to, counted per (phase, dataset, model), before anything runs."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

from ganbench.specs import SuiteSpec
from ganbench.expand import Expansion


def plan_table(spec: SuiteSpec, expansion: Expansion) -> dict[str, Any]:
    rows: "OrderedDict[tuple[str, str, str], dict[str, Any]]" = OrderedDict()
    for run in expansion.runs:
        key = (run.phase, run.dataset, run.model.name)
        row = rows.setdefault(key, {"phase": run.phase, "dataset": run.dataset, "model": run.model.name,
                                    "arch": run.model.arch, "settings": set(), "runs": 0, "steps": 0,
                                    "waits_for": None})
        row["settings"].add(run.setting)
        row["runs"] += 1
        row["steps"] += run.budget.steps
    steps_by_dataset = {d.name: d.budget.steps for d in spec.datasets}
    for p in expansion.pending:
        arch = next(m.arch for m in spec.models if m.name == p.model)
        kind = next(d.kind for d in spec.datasets if d.name == p.dataset)
        rows[(p.phase, p.dataset, p.model)] = {"phase": p.phase, "dataset": p.dataset, "model": p.model,
                                               "arch": arch[kind], "settings": {0}, "runs": p.runs,
                                               "steps": p.runs * steps_by_dataset[p.dataset], "waits_for": p.waits_for}
    out_rows = [{**r, "settings": len(r["settings"])} for r in rows.values()]
    return {
        "suite": spec.name,
        "phases": [p.name for p in spec.phases],
        "rows": out_rows,
        "total_runs": sum(r["runs"] for r in out_rows),
        "total_steps": sum(r["steps"] for r in out_rows),
        "datasets": [{"name": d.name, "kind": d.kind, "steps": d.budget.steps, "eval_every": d.budget.eval_every,
                      "extractor": d.evaluation.extractor, "metrics": list(d.evaluation.metrics),
                      "n_gen": d.evaluation.n_gen, "n_real": d.evaluation.n_real} for d in spec.datasets],
    }


def format_plan(table: dict[str, Any]) -> str:
    header = ("phase", "dataset", "model", "arch", "settings", "runs", "steps")
    lines = [[r["phase"], r["dataset"], r["model"], r["arch"], str(r["settings"]), str(r["runs"]),
              f"{r['steps']:,}" + (f"  (after phase '{r['waits_for']}')" if r["waits_for"] else "")]
             for r in table["rows"]]
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:{'>' if i in (4, 5) else '<'}{w}}}" for i, w in enumerate(widths[:-1])) + "  {}"
    out = [f"suite '{table['suite']}': {table['total_runs']:,} runs, {table['total_steps']:,} training steps",
           "", fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*line) for line in lines]
    out.append("")
    for d in table["datasets"]:
        out.append(f"{d['name']}: {d['steps']:,} steps, evaluated every {d['eval_every']:,} with '{d['extractor']}' "
                   f"features on {d['n_gen']:,} generated vs {d['n_real']:,} real: {', '.join(d['metrics'])}")
    return "\n".join(out)
