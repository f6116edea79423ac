"""Suite YAML → validated, resolved SuiteSpec (expansion into runs is :mod:`ganbench.expand`).

Validation is strict and speaks in YAML paths (``models[2].loss: unknown loss 'wgan_pg' — did you
mean 'wgan_gp'?``). The format is documented in the README ("Suite format").
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import yaml

from ganbench.errors import GanbenchError, SpecError, UnknownNameError
from ganbench.expand import search_space
from ganbench.hparams import HPARAMS
from ganbench.registry import did_you_mean
from ganbench.specs import BestOf, Budget, DatasetEntry, Distribution, EvalProtocol, ModelEntry, Phase, SuiteSpec, frozen

DISTRIBUTIONS = ("loguniform", "uniform", "int", "choice")
DEFAULT_EVALUATION = {"extractor": "auto", "n_gen": 1000, "n_real": 1000, "split": "test"}

# ---------------------------------------------------------------- validation helpers


def _type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number", type(None): "empty"}.get(type(value), type(value).__name__)


def _mapping(node: Any, path: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(node, dict):
        raise SpecError(path, f"expected a mapping, got {_type_name(node)}")
    for key in node:
        if key not in allowed:
            hint = did_you_mean(str(key), allowed) or f" (allowed: {', '.join(allowed)})"
            raise SpecError(f"{path}.{key}" if path else str(key), f"unknown key '{key}'{hint}")
    for key in required:
        if key not in node:
            raise SpecError(f"{path}.{key}" if path else key, "is required")
    return node


def _int(node: Any, path: str, low: int = 0) -> int:
    if isinstance(node, bool) or not isinstance(node, int):
        raise SpecError(path, f"expected an integer, got {_type_name(node)} {node!r}")
    if node < low:
        raise SpecError(path, f"must be ≥ {low}, got {node}")
    return node


def _str(node: Any, path: str) -> str:
    if not isinstance(node, str) or not node:
        raise SpecError(path, f"expected a non-empty string, got {_type_name(node)} {node!r}")
    return node


def _bool(node: Any, path: str) -> bool:
    if not isinstance(node, bool):
        raise SpecError(path, f"expected true or false, got {_type_name(node)} {node!r}")
    return node


def _name(registry, node: Any, path: str) -> str:
    try:
        return registry.canonical(_str(node, path))
    except UnknownNameError as err:
        raise SpecError(path, str(err)) from None


def _seeds(node: Any, path: str) -> tuple[int, ...]:
    if isinstance(node, int) and not isinstance(node, bool):
        return tuple(range(_int(node, path, low=1)))
    if isinstance(node, list) and node:
        seeds = tuple(_int(s, f"{path}[{i}]") for i, s in enumerate(node))
        if len(set(seeds)) != len(seeds):
            raise SpecError(path, "seeds repeat")
        return seeds
    raise SpecError(path, f"expected a count or a non-empty list of integers, got {_type_name(node)} {node!r}")


def _hparam_value(name: str, node: Any, path: str) -> Any:
    """A fixed value, a grid (tuple) or a Distribution, each endpoint checked against the hyperparameter."""
    spec = HPARAMS.get(name)

    def checked(value: Any, where: str) -> Any:
        problem = spec.check(value)
        if problem:
            raise SpecError(where, problem)
        return spec.coerce(value)

    if isinstance(node, list):
        if not node:
            raise SpecError(path, "an empty grid; give at least one value")
        return tuple(checked(v, f"{path}[{i}]") for i, v in enumerate(node))
    if isinstance(node, dict):
        if len(node) != 1 or next(iter(node)) not in DISTRIBUTIONS:
            raise SpecError(path, f"a distribution is one of {{{', '.join(f'{d}: ...' for d in DISTRIBUTIONS)}}}, "
                                  f"got keys {', '.join(map(str, node)) or '(none)'}")
        kind, args = next(iter(node.items()))
        where = f"{path}.{kind}"
        if kind == "choice":
            if not isinstance(args, list) or not args:
                raise SpecError(where, "expected a non-empty list of values")
            return Distribution(kind, tuple(checked(v, f"{where}[{i}]") for i, v in enumerate(args)))
        if not isinstance(args, list) or len(args) != 2:
            raise SpecError(where, f"expected [low, high], got {args!r}")
        low, high = (checked(v, f"{where}[{i}]") for i, v in enumerate(args))
        if kind == "int" and spec.type is not int:
            raise SpecError(where, f"'{name}' is a {spec.type.__name__}, not an integer; use uniform or loguniform")
        if kind != "int" and spec.type is not float:
            raise SpecError(where, f"'{name}' is a {spec.type.__name__}; use choice or int")
        if not low < high:
            raise SpecError(where, f"low must be below high, got [{low}, {high}]")
        if kind == "loguniform" and low <= 0:
            raise SpecError(where, f"loguniform needs low > 0, got {low}")
        return Distribution(kind, (low, high))
    return checked(node, path)


def _hparams(node: Any, path: str, allow_search: bool = True) -> Mapping[str, Any]:
    if node is None:
        return frozen({})
    if not isinstance(node, dict):
        raise SpecError(path, f"expected a mapping of hyperparameters, got {_type_name(node)}")
    out = {}
    for key, value in node.items():
        name = _name(HPARAMS, key, f"{path}.{key}")
        out[name] = _hparam_value(name, value, f"{path}.{key}")
        if not allow_search and isinstance(out[name], (tuple, Distribution)):
            raise SpecError(f"{path}.{key}", "must be a single value here (no grid or distribution)")
    return frozen(out)


# ---------------------------------------------------------------- sections


def _budget(node: Any, path: str, base: dict[str, Any]) -> dict[str, Any]:
    node = _mapping(node, path, ("steps", "eval_every"))
    out = dict(base)
    for key in node:
        out[key] = _int(node[key], f"{path}.{key}", low=1)
    return out


def _evaluation(node: Any, path: str, base: dict[str, Any]) -> dict[str, Any]:
    from ganbench import features, metrics

    node = _mapping(node, path, ("extractor", "metrics", "n_gen", "n_real", "split", "extractor_options",
                                 "metric_options"))
    out = dict(base)
    if "extractor" in node:
        out["extractor"] = "auto" if node["extractor"] == "auto" else \
            _name(features.EXTRACTORS, node["extractor"], f"{path}.extractor")
    if "metrics" in node:
        items = node["metrics"]
        if not isinstance(items, list) or not items:
            raise SpecError(f"{path}.metrics", "expected a non-empty list of metric names")
        out["metrics"] = tuple(_name(metrics.METRICS, m, f"{path}.metrics[{i}]") for i, m in enumerate(items))
    for key in ("n_gen", "n_real"):
        if key in node:
            out[key] = _int(node[key], f"{path}.{key}", low=2)
    if "split" in node:
        out["split"] = _str(node["split"], f"{path}.split")
    if "extractor_options" in node:
        opts = node["extractor_options"]
        if not isinstance(opts, dict):
            raise SpecError(f"{path}.extractor_options", "expected a mapping")
        out["extractor_options"] = {**out.get("extractor_options", {}), **opts}
    if "metric_options" in node:
        opts = _mapping(node["metric_options"], f"{path}.metric_options", tuple(metrics.METRICS.names()))
        merged = dict(out.get("metric_options", {}))
        for metric, params in opts.items():
            allowed = tuple(metrics.METRICS.meta(metric).get("defaults", {}))
            merged[metric] = dict(_mapping(params, f"{path}.metric_options.{metric}", allowed))
        out["metric_options"] = merged
    return out


def _dataset(node: Any, path: str, budget: dict, evaluation: dict) -> DatasetEntry:
    from ganbench.data import DATASETS

    if isinstance(node, str):
        node = {"name": node}
    node = _mapping(node, path, ("name", "params", "budget", "evaluation", "hparams"), ("name",))
    name = _name(DATASETS, node["name"], f"{path}.name")
    meta = DATASETS.meta(name)
    accepted = dict(meta.get("params", {}))
    given = _mapping(node.get("params") or {}, f"{path}.params", tuple(accepted))
    params = {**accepted, **given}
    b = _budget(node.get("budget") or {}, f"{path}.budget", budget)
    if "steps" not in b:
        raise SpecError(f"{path}.budget.steps" if "budget" in node else "budget.steps", "is required")
    b.setdefault("eval_every", b["steps"])
    ev = _evaluation(node.get("evaluation") or {}, f"{path}.evaluation", evaluation)
    if "metrics" not in ev:
        raise SpecError("evaluation.metrics", "is required (e.g. [fid, prc, knn])")
    return DatasetEntry(name, frozen(params), meta["kind"], Budget(b["steps"], b["eval_every"]),
                        _protocol(ev, name, meta["kind"], f"{path}"), _hparams(node.get("hparams"), f"{path}.hparams"))


def _protocol(ev: dict[str, Any], dataset: str, kind: str, path: str) -> EvalProtocol:
    """Resolve ``auto`` and keep only the metrics that apply to this dataset and extractor."""
    from ganbench import features

    extractor = ev["extractor"]
    if extractor == "auto":
        extractor = "raw" if kind == "vector" else "domain"
    ex_meta = features.EXTRACTORS.meta(extractor)
    if kind not in ex_meta.get("data_kinds", ("image", "vector")):
        raise SpecError(f"{path}.evaluation.extractor" if path else "evaluation.extractor",
                        f"extractor '{extractor}' does not handle {kind} data of dataset '{dataset}'")
    chosen = tuple(m for m in ev["metrics"] if metric_applies(m, dataset, kind, ex_meta))
    return EvalProtocol(extractor, chosen, ev["n_gen"], ev["n_real"], ev["split"],
                        frozen(ev.get("extractor_options")), frozen(ev.get("metric_options")))


def metric_applies(metric: str, dataset: str, kind: str, extractor_meta: Mapping[str, Any]) -> bool:
    from ganbench.metrics import METRICS

    meta = METRICS.meta(metric)
    if kind not in meta.get("data_kinds", ("image", "vector")):
        return False
    if meta.get("datasets") and dataset not in meta["datasets"]:
        return False
    return not ("logits" in meta.get("needs", ()) and not extractor_meta.get("has_logits"))


def _model(node: Any, path: str, kinds: set[str]) -> ModelEntry:
    from ganbench.losses import LOSSES
    from ganbench.nets import ARCHS
    from ganbench.penalties import PENALTIES

    node = _mapping(node, path, ("name", "kind", "loss", "arch", "penalty", "hparams", "defaults"), ("arch",))
    kind = node.get("kind", "gan")
    if kind not in ("gan", "vae"):
        raise SpecError(f"{path}.kind", f"must be 'gan' or 'vae', got {kind!r}")
    if kind == "gan":
        if "loss" not in node:
            raise SpecError(f"{path}.loss", "is required for a GAN (e.g. ns, wgan_gp); or set kind: vae")
        loss = _name(LOSSES, node["loss"], f"{path}.loss")
        default_penalty = LOSSES.meta(loss)["default_penalty"]
        penalty = _name(PENALTIES, node["penalty"], f"{path}.penalty") if "penalty" in node else default_penalty
    else:
        for key in ("loss", "penalty"):
            if key in node:
                raise SpecError(f"{path}.{key}", "a VAE has no GAN loss or penalty; remove it")
        loss, penalty = None, "none"
    arch_node = node["arch"]
    arch_map = arch_node if isinstance(arch_node, dict) else {k: arch_node for k in kinds}
    if isinstance(arch_node, dict):
        _mapping(arch_node, f"{path}.arch", ("image", "vector"))
    arch: dict[str, str] = {}
    for data_kind in sorted(kinds):
        where = f"{path}.arch" + (f".{data_kind}" if isinstance(arch_node, dict) else "")
        if data_kind not in arch_map:
            raise SpecError(f"{path}.arch", f"no architecture for {data_kind} data; add '{data_kind}: <arch>'")
        name = _name(ARCHS, arch_map[data_kind], where)
        handled = ARCHS.get(name).data_kinds
        if data_kind not in handled:
            raise SpecError(where, f"architecture '{name}' handles {'/'.join(handled)} data, but the suite has "
                                   f"{data_kind} datasets; give one per kind, e.g. arch: {{image: infogan, vector: mlp}}")
        arch[data_kind] = name
    display = _str(node["name"], f"{path}.name") if "name" in node else (loss or "vae")
    hparams = _hparams(node.get("hparams"), f"{path}.hparams")
    defaults = _hparams(node.get("defaults"), f"{path}.defaults", allow_search=False)
    return ModelEntry(display, kind, loss, frozen(arch), penalty, hparams, defaults)


def _phase(node: Any, path: str, default_seeds: tuple[int, ...], default_samples: int, earlier: list[str],
           model_names: tuple[str, ...]) -> Phase:
    node = _mapping(node, path, ("name", "samples", "include_defaults", "seeds", "hparams", "model_hparams",
                                 "model_defaults", "best_of"), ("name",))
    name = _str(node["name"], f"{path}.name")
    if name in earlier:
        raise SpecError(f"{path}.name", f"phase '{name}' is defined twice")
    seeds = _seeds(node["seeds"], f"{path}.seeds") if "seeds" in node else default_seeds
    if "best_of" in node:
        for key in ("samples", "include_defaults", "hparams", "model_hparams", "model_defaults"):
            if key in node:
                raise SpecError(f"{path}.{key}", "a best_of phase retrains the best setting; it takes only seeds")
        best = _mapping(node["best_of"], f"{path}.best_of", ("phase", "metric"), ("phase",))
        source = _str(best["phase"], f"{path}.best_of.phase")
        if source not in earlier:
            raise SpecError(f"{path}.best_of.phase", f"no earlier phase '{source}' (earlier: {', '.join(earlier) or 'none'})")
        metric = _str(best.get("metric", "fid"), f"{path}.best_of.metric")
        return Phase(name, 1, False, seeds, frozen({}), BestOf(source, metric))
    samples = _int(node.get("samples", default_samples), f"{path}.samples", low=1)
    include = _bool(node.get("include_defaults", False), f"{path}.include_defaults")
    per_model = _mapping(node.get("model_hparams") or {}, f"{path}.model_hparams", model_names)
    model_hparams = {m: _hparams(v, f"{path}.model_hparams.{m}") for m, v in per_model.items()}
    per_model_defaults = _mapping(node.get("model_defaults") or {}, f"{path}.model_defaults", model_names)
    if per_model_defaults and not include:
        raise SpecError(f"{path}.model_defaults", "author defaults are setting 0 only when include_defaults is true")
    model_defaults = {m: _hparams(v, f"{path}.model_defaults.{m}", allow_search=False)
                      for m, v in per_model_defaults.items()}
    return Phase(name, samples, include, seeds, _hparams(node.get("hparams"), f"{path}.hparams"), None,
                 frozen(model_hparams), frozen(model_defaults))


TOP_KEYS = ("name", "description", "datasets", "models", "hparams", "search", "seeds", "phases", "budget",
            "evaluation", "data_root", "download")


def parse(doc: Any) -> SuiteSpec:
    """Validate a loaded YAML document into a SuiteSpec; raises SpecError naming the field."""
    from ganbench.catalog import registries

    registries()  # fill every registry before names are checked
    doc = _mapping(doc, "", TOP_KEYS, ("name", "datasets", "models"))
    name = _str(doc["name"], "name")
    if not name.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise SpecError("name", f"use letters, digits, '-', '_' or '.' (it names a results folder), got {name!r}")
    budget = _budget(doc.get("budget") or {}, "budget", {})
    evaluation = _evaluation(doc.get("evaluation") or {}, "evaluation", dict(DEFAULT_EVALUATION))
    if not isinstance(doc["datasets"], list) or not doc["datasets"]:
        raise SpecError("datasets", "expected a non-empty list of datasets")
    datasets = tuple(_dataset(d, f"datasets[{i}]", budget, evaluation) for i, d in enumerate(doc["datasets"]))
    if len({d.name for d in datasets}) != len(datasets) and len({(d.name, tuple(d.params.items())) for d in datasets}) != len(datasets):
        raise SpecError("datasets", "a dataset is listed twice with the same params")
    for i, d in enumerate(datasets):
        if not d.evaluation.metrics:
            raise SpecError(f"datasets[{i}].evaluation.metrics" if "evaluation" in doc["datasets"][i] else "evaluation.metrics",
                            f"none of the metrics applies to dataset '{d.name}' ({d.kind} data, extractor "
                            f"'{d.evaluation.extractor}')")
    if not isinstance(doc["models"], list) or not doc["models"]:
        raise SpecError("models", "expected a non-empty list of models")
    kinds = {d.kind for d in datasets}
    models = tuple(_model(m, f"models[{i}]", kinds) for i, m in enumerate(doc["models"]))
    seen: dict[str, int] = {}
    for i, m in enumerate(models):
        if m.name in seen:
            raise SpecError(f"models[{i}].name", f"'{m.name}' is also models[{seen[m.name]}]'s name; names must differ")
        seen[m.name] = i
    search = _mapping(doc.get("search") or {}, "search", ("samples", "include_defaults", "seed"))
    samples = _int(search.get("samples", 1), "search.samples", low=1)
    search_seed = _int(search.get("seed", 0), "search.seed")
    seeds = _seeds(doc["seeds"], "seeds") if "seeds" in doc else (0,)
    if "phases" in doc:
        if not isinstance(doc["phases"], list) or not doc["phases"]:
            raise SpecError("phases", "expected a non-empty list of phases")
        phases: list[Phase] = []
        for i, p in enumerate(doc["phases"]):
            phases.append(_phase(p, f"phases[{i}]", seeds, samples, [q.name for q in phases],
                                 tuple(m.name for m in models)))
    else:
        include = _bool(search.get("include_defaults", False), "search.include_defaults")
        phases = [Phase("main", samples, include, seeds, frozen({}))]
    hparams = _hparams(doc.get("hparams"), "hparams")
    data_root = _str(doc["data_root"], "data_root") if "data_root" in doc else None
    download = _bool(doc.get("download", False), "download")
    spec = SuiteSpec(name, str(doc.get("description", "")), datasets, models, hparams, tuple(phases), search_seed,
                     data_root, download)
    _check_search(spec)
    return spec


def _check_search(spec: SuiteSpec) -> None:
    for i, phase in enumerate(spec.phases):
        if phase.best_of:
            continue
        for model in spec.models:
            for dataset in spec.datasets:
                space = search_space(spec, phase, dataset, model)
                has_random = any(isinstance(v, Distribution) for v in space.values())
                if not has_random and phase.samples > 1:
                    where = f"phases[{i}].samples" if spec.phases[0].name != "main" else "search.samples"
                    raise SpecError(where, f"{phase.samples} random settings asked for, but no hyperparameter of "
                                           f"model '{model.name}' has a distribution (loguniform, uniform, int, choice)")


def load(path: str | Path) -> SuiteSpec:
    """Read and validate a suite file (``yaml.safe_load``: no arbitrary objects)."""
    path = Path(path)
    if not path.is_file():
        raise GanbenchError(f"{path}: no such suite file")
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise GanbenchError(f"{path}: not valid YAML{where}: {getattr(err, 'problem', err)}") from None
    try:
        return parse(doc)
    except SpecError as err:
        raise SpecError(err.path, err.detail) from None
