"""Suite YAML → validated, resolved SuiteSpec (expansion into runs is :mod:`ganbench.expand`).

Validation is strict and speaks in YAML paths (``models[2].loss: unknown loss 'wgan_pg' — did you
mean 'wgan_gp'?``), and reports every problem of a suite in one pass, in document order (as a compiler
does): a part that cannot be parsed contributes its problem, and the rest is still checked. Reading the
file never ends in a traceback: undecodable bytes, YAML errors, deep nesting and huge numbers are each one
message. The format is documented in the README ("Suite format").
"""
from __future__ import annotations

import math
import reprlib
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar

import yaml

from ganbench.calibration import DEFAULT as CALIBRATION_DEFAULT
from ganbench.catalog import dataset_task, names_of_task, task_of
from ganbench.errors import GanbenchError, SpecError, SpecErrors, UnknownNameError
from ganbench.expand import CALIBRATION_PHASE, search_space
from ganbench.hparams import HPARAMS
from ganbench.registry import did_you_mean
from ganbench.schedules import SCHEDULES
from ganbench.specs import BestOf, Budget, DatasetEntry, Distribution, EvalProtocol, ModelEntry, Phase, SuiteSpec, frozen

DISTRIBUTIONS = ("loguniform", "uniform", "int", "choice")
DEFAULT_EVALUATION = {"extractor": "auto", "n_gen": 1000, "n_real": 1000, "split": "test"}

# Bounds far beyond any real suite, so a slip of the keyboard fails here, naming the field, instead of
# later as an OverflowError in numpy or torch, or as an expansion that never ends.
MAX_INT = 2**31 - 1  # any integer hyperparameter or option value (the sizes torch and numpy take)
MAX_SEED = 2**32 - 1  # numpy's seed range
MAX_COUNT = 100_000  # seeds given as a count; random settings per grid point
MAX_STEPS = 10**9  # training steps and the evaluation interval
MAX_SAMPLES = 10**7  # n_gen, n_real
MAX_DEPTH = 32  # nesting inside dataset params and free-form options
MAX_VALUES = 10_000  # values inside one of those (a YAML alias can repeat a value many times over)

T = TypeVar("T")

# ---------------------------------------------------------------- collecting problems


class Problems:
    """Every problem of one parse, so a suite's mistakes are reported together, as a compiler does.

    A section parser records a problem and goes on; what it could not parse is None, and the checks that
    need it are skipped, so one mistake is reported once, not again by everything that depends on it.
    """

    def __init__(self) -> None:
        self.found: list[SpecError] = []

    def add(self, err: SpecError) -> None:
        self.found.append(err)

    def attempt(self, parse: Callable[..., T], *args: Any) -> T | None:
        """``parse(*args)``, or None with its SpecError recorded."""
        try:
            return parse(*args)
        except SpecError as err:
            self.add(err)
            return None

    def mark(self) -> int:
        """A point to ask :meth:`clean_since` about: has anything gone wrong since?"""
        return len(self.found)

    def clean_since(self, mark: int) -> bool:
        return len(self.found) == mark

    def error(self, doc: Any, source: str) -> SpecError:
        """The problems found, deduplicated and in document order: one SpecError, or SpecErrors."""
        unique = list(dict.fromkeys((e.path, e.detail) for e in self.found))
        unique.sort(key=lambda problem: _position(doc, problem[0]))
        problems = [SpecError(_printable(path), _printable(detail)) for path, detail in unique]
        return problems[0] if len(problems) == 1 else SpecErrors(problems, source)


def _position(doc: Any, path: str) -> tuple[int, ...]:
    """Where ``path`` (``models[2].arch.image``) lies in ``doc``, as indices to sort problems by; a missing
    key sorts after its mapping's keys. Keys may hold dots (model names), so the longest key wins."""
    rank: list[int] = []
    node, rest = doc, path
    while rest:
        if rest[0] == "[" and isinstance(node, list):
            end = rest.find("]")
            if end < 0 or not rest[1:end].isdigit():
                break
            index = int(rest[1:end])
            rank.append(index)
            node, rest = (node[index] if index < len(node) else None), rest[end + 1:]
            continue
        if not isinstance(node, dict):
            break
        rest = rest[1:] if rest[0] == "." else rest
        keys = [str(k) for k in node]
        matches = [i for i, k in enumerate(keys) if k and (rest == k or rest.startswith((f"{k}.", f"{k}[")))]
        if not matches:
            rank.append(len(keys))
            break
        index = max(matches, key=lambda i: len(keys[i]))
        rank.append(index)
        node, rest = node[list(node)[index]], rest[len(keys[index]):]
    return tuple(rank)


def _printable(text: str) -> str:
    """``text`` with control characters and lone surrogates escaped: a problem stays one printable line."""
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


# ---------------------------------------------------------------- validation helpers

_SHOW = reprlib.Repr()
_SHOW.maxstring = _SHOW.maxother = 80
_SHOW.maxlevel = 3


def _show(value: Any) -> str:
    """``repr`` cut to a line: a value from YAML can be huge, deep, or (through an alias) contain itself."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**40:
        try:
            return f"a {len(str(abs(value))):,}-digit integer"
        except ValueError:  # past Python's limit on digits for str()
            return f"a {value.bit_length():,}-bit integer"
    return _SHOW.repr(value)


def _type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number", type(None): "empty", bytes: "binary data"}.get(type(value), type(value).__name__)


def _mapping(node: Any, path: str, allowed: tuple[str, ...], errs: Problems,
             required: tuple[str, ...] = ()) -> dict[str, Any]:
    """``node``'s allowed keys; each unknown or missing key is recorded. Raises when it is no mapping."""
    if not isinstance(node, dict):
        raise SpecError(path, f"expected a mapping, got {_type_name(node)}")
    for key in node:
        if key not in allowed:
            hint = did_you_mean(str(key), allowed) or f" (allowed: {', '.join(allowed)})"
            errs.add(SpecError(f"{path}.{key}" if path else str(key) or "''", f"unknown key '{key}'{hint}"))
    for key in required:
        if key not in node:
            errs.add(SpecError(f"{path}.{key}" if path else key, "is required"))
    return {key: value for key, value in node.items() if key in allowed}


def _int(node: Any, path: str, low: int = 0, high: int = MAX_INT) -> int:
    if isinstance(node, bool) or not isinstance(node, int):
        raise SpecError(path, f"expected an integer, got {_type_name(node)} {_show(node)}")
    if node < low:
        raise SpecError(path, f"must be ≥ {low}, got {_show(node)}")
    if node > high:
        raise SpecError(path, f"must be ≤ {high:,} (ganbench's limit), got {_show(node)}")
    return node


def _str(node: Any, path: str) -> str:
    if not isinstance(node, str) or not node:
        raise SpecError(path, f"expected a non-empty string, got {_type_name(node)} {_show(node)}")
    return node


def _bool(node: Any, path: str) -> bool:
    if not isinstance(node, bool):
        raise SpecError(path, f"expected true or false, got {_type_name(node)} {_show(node)}")
    return node


def _name(registry, node: Any, path: str) -> str:
    try:
        return registry.canonical(_str(node, path))
    except UnknownNameError as err:
        raise SpecError(path, str(err)) from None


def _seeds(node: Any, path: str) -> tuple[int, ...]:
    if isinstance(node, int) and not isinstance(node, bool):
        return tuple(range(_int(node, path, low=1, high=MAX_COUNT)))
    if isinstance(node, list) and node:
        if len(node) > MAX_COUNT:
            raise SpecError(path, f"{len(node):,} seeds, more than ganbench's limit of {MAX_COUNT:,}")
        seeds = tuple(_int(s, f"{path}[{i}]", high=MAX_SEED) for i, s in enumerate(node))
        if len(set(seeds)) != len(seeds):
            raise SpecError(path, "seeds repeat")
        return seeds
    raise SpecError(path, f"expected a count or a non-empty list of integers, got {_type_name(node)} {_show(node)}")


def _plain(node: Any, path: str) -> Any:
    """``node`` when it is what a spec stores as JSON: finite numbers, strings, booleans, lists and
    string-keyed mappings, not nested too deeply and not too many (YAML aliases can multiply a value)."""
    left = MAX_VALUES

    def visit(value: Any, where: str, inside: tuple[int, ...]) -> None:
        nonlocal left
        left -= 1
        if left < 0:
            raise SpecError(path, f"holds more than {MAX_VALUES:,} values (ganbench's limit)")
        if isinstance(value, float) and not math.isfinite(value):
            raise SpecError(where, f"must be a finite number, got {value}")
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            raise SpecError(where, f"must be within ±{MAX_INT:,} (ganbench's limit), got {_show(value)}")
        if value is None or isinstance(value, (bool, int, float, str)):
            return
        if not isinstance(value, (list, dict)):
            raise SpecError(where, f"expected a number, string, true/false, list or mapping, got {_type_name(value)}")
        if id(value) in inside:
            raise SpecError(where, "contains itself (a YAML alias inside its own anchor)")
        if len(inside) >= MAX_DEPTH:
            raise SpecError(where, f"nested more than {MAX_DEPTH} levels deep (ganbench's limit)")
        inside += (id(value),)
        for key, item in (enumerate(value) if isinstance(value, list) else value.items()):
            if isinstance(value, dict) and not isinstance(key, str):
                raise SpecError(where, f"key {_show(key)} is {_type_name(key)}; keys must be strings (quote it)")
            visit(item, f"{where}[{key}]" if isinstance(value, list) else f"{where}.{key}", inside)

    visit(node, path, ())
    return node


def _hparam_value(name: str, node: Any, path: str) -> Any:
    """A fixed value, a schedule, a grid (tuple) or a Distribution, each endpoint checked against the
    hyperparameter."""
    spec = HPARAMS.get(name)

    def checked(value: Any, where: str) -> Any:
        # what HParam.check cannot judge: containers, NaN and ±inf, integers past float's range
        if value is not None and not isinstance(value, (bool, int, float, str)):
            raise SpecError(where, f"expected {spec.type.__name__}, got {type(value).__name__} {_show(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise SpecError(where, f"must be a finite number, got {value}")
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            raise SpecError(where, f"must be within ±{MAX_INT:,} (ganbench's limit), got {_show(value)}")
        problem = spec.check(value)
        if problem:
            raise SpecError(where, problem)
        return spec.coerce(value)

    def schedule(value: dict, where: str) -> dict:
        kind, args = next(iter(value.items()))
        if not spec.schedulable:
            allowed = ", ".join(e.name for e in HPARAMS if e.obj.schedulable)
            raise SpecError(where, f"'{name}' cannot follow a schedule; these can: {allowed}")
        if not isinstance(args, list) or len(args) != 2:
            raise SpecError(f"{where}.{kind}", f"expected [start, end], got {_show(args)}")
        return {kind: tuple(checked(v, f"{where}.{kind}[{i}]") for i, v in enumerate(args))}

    def element(value: Any, where: str) -> Any:
        return schedule(value, where) if isinstance(value, dict) and len(value) == 1 \
            and next(iter(value)) in SCHEDULES else checked(value, where)

    if isinstance(node, list):
        if not node:
            raise SpecError(path, "an empty grid; give at least one value")
        return tuple(element(v, f"{path}[{i}]") for i, v in enumerate(node))
    if isinstance(node, dict) and len(node) == 1 and next(iter(node)) in SCHEDULES:
        return schedule(node, path)
    if isinstance(node, dict):
        if len(node) != 1 or next(iter(node)) not in DISTRIBUTIONS:
            schedules = f" or a schedule {{{', '.join(f'{k}: [start, end]' for k in SCHEDULES)}}}" \
                if spec.schedulable else ""
            raise SpecError(path, f"a distribution is one of {{{', '.join(f'{d}: ...' for d in DISTRIBUTIONS)}}}"
                                  f"{schedules}, got keys {', '.join(map(str, node)) or '(none)'}")
        kind, args = next(iter(node.items()))
        where = f"{path}.{kind}"
        if kind == "choice":
            if not isinstance(args, list) or not args:
                raise SpecError(where, "expected a non-empty list of values")
            return Distribution(kind, tuple(checked(v, f"{where}[{i}]") for i, v in enumerate(args)))
        if not isinstance(args, list) or len(args) != 2:
            raise SpecError(where, f"expected [low, high], got {_show(args)}")
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


def _hparams(node: Any, path: str, errs: Problems, allow_search: bool = True) -> Mapping[str, Any] | None:
    """The hyperparameters under ``path``, each wrong one recorded; None when any was wrong."""
    if node is None:
        return frozen({})
    if not isinstance(node, dict):
        errs.add(SpecError(path, f"expected a mapping of hyperparameters, got {_type_name(node)}"))
        return None
    mark, out = errs.mark(), {}
    for key, value in node.items():
        where = f"{path}.{key}"
        name = errs.attempt(_name, HPARAMS, key, where)
        if name is None:
            continue
        out[name] = errs.attempt(_hparam_value, name, value, where)
        if not allow_search and isinstance(out[name], (tuple, Distribution)):
            errs.add(SpecError(where, "must be a single value here (no grid or distribution)"))
    return frozen(out) if errs.clean_since(mark) else None


# ---------------------------------------------------------------- sections
# Each takes the Problems of the parse and returns what it could; a part given but wrong is None.


def _budget(node: Any, path: str, base: dict[str, Any], errs: Problems) -> dict[str, Any]:
    try:
        node = _mapping(node, path, ("steps", "eval_every"), errs)
    except SpecError as err:
        errs.add(err)
        return {"steps": None, "eval_every": None}
    out = dict(base)
    for key, value in node.items():
        out[key] = errs.attempt(_int, value, f"{path}.{key}", 1, MAX_STEPS)
    return out


EVALUATION_KEYS = ("extractor", "metrics", "n_gen", "n_real", "split", "extractor_options", "metric_options",
                   "headline", "sampling_seeds")
MAX_SAMPLING_SEEDS = 100  # redraws per evaluation point (each costs one generated-feature pass)
PROTOCOL_KEYS = ("extractor", "metrics", "n_gen", "n_real", "split")  # what _protocol needs, each known


def _evaluation(node: Any, path: str, base: dict[str, Any], errs: Problems) -> dict[str, Any]:
    from ganbench.catalog import EXTRACTORS, METRICS  # declared lazily: no torch

    try:
        node = _mapping(node, path, EVALUATION_KEYS, errs)
    except SpecError as err:
        errs.add(err)
        return {**base, **dict.fromkeys(PROTOCOL_KEYS)}
    out = dict(base)
    if "extractor" in node:
        out["extractor"] = "auto" if node["extractor"] == "auto" else \
            errs.attempt(_name, EXTRACTORS, node["extractor"], f"{path}.extractor")
    if "metrics" in node:
        items, out["metrics"] = node["metrics"], None
        if not isinstance(items, list) or not items:
            errs.add(SpecError(f"{path}.metrics", "expected a non-empty list of metric names"))
        else:
            names = [errs.attempt(_name, METRICS, m, f"{path}.metrics[{i}]") for i, m in enumerate(items)]
            out["metrics"] = None if None in names else tuple(names)
    for key in ("n_gen", "n_real"):
        if key in node:
            out[key] = errs.attempt(_int, node[key], f"{path}.{key}", 2, MAX_SAMPLES)
    if "split" in node:
        out["split"] = errs.attempt(_str, node["split"], f"{path}.split")
    if "sampling_seeds" in node:
        out["sampling_seeds"] = errs.attempt(_int, node["sampling_seeds"], f"{path}.sampling_seeds", 1,
                                             MAX_SAMPLING_SEEDS)
    if "headline" in node:  # checked against the dataset's metrics once they are known (_headline)
        out["headline"] = errs.attempt(_str, node["headline"], f"{path}.headline")
        out["headline_path"] = f"{path}.headline"
    if "extractor_options" in node:
        opts = node["extractor_options"]
        if not isinstance(opts, dict):
            errs.add(SpecError(f"{path}.extractor_options", "expected a mapping"))
        elif errs.attempt(_plain, opts, f"{path}.extractor_options") is not None:
            out["extractor_options"] = {**out.get("extractor_options", {}), **opts}
    if "metric_options" in node:
        opts = errs.attempt(_mapping, node["metric_options"], f"{path}.metric_options",
                            tuple(METRICS.names()), errs) or {}
        merged = dict(out.get("metric_options", {}))
        for metric, params in opts.items():
            where = f"{path}.metric_options.{metric}"
            allowed = tuple(METRICS.meta(metric).get("defaults", {}))
            given = errs.attempt(_mapping, params, where, allowed, errs)
            if given is not None and errs.attempt(_plain, given, where) is not None:
                merged[metric] = dict(given)
        out["metric_options"] = merged
    return out


DATASET_KEYS = ("name", "params", "budget", "evaluation", "hparams")


def _dataset(node: Any, path: str, budget: dict, evaluation: dict,
             errs: Problems) -> tuple[DatasetEntry | None, str | None]:
    """The entry (None when anything in it, or inherited by it, is wrong) and its data kind, known once
    its name is, so the models' architectures can still be checked against it."""
    from ganbench.catalog import DATASETS

    mark = errs.mark()
    if isinstance(node, str):
        node = {"name": node}
    node = _mapping(node, path, DATASET_KEYS, errs, ("name",))
    name = errs.attempt(_name, DATASETS, node["name"], f"{path}.name") if "name" in node else None
    meta = DATASETS.meta(name) if name else {}
    kind, params = meta.get("kind"), None
    if name:
        accepted = dict(meta.get("params", {}))
        given = errs.attempt(_mapping, node.get("params") or {}, f"{path}.params", tuple(accepted), errs)
        if given is not None:
            for key, value in given.items():
                errs.attempt(_plain, value, f"{path}.params.{key}")
            params = {**accepted, **given}
    b = _budget(node.get("budget") or {}, f"{path}.budget", budget, errs)
    if "steps" not in b:
        errs.add(SpecError(f"{path}.budget.steps" if "budget" in node else "budget.steps", "is required"))
    b.setdefault("eval_every", b.get("steps"))
    ev = _evaluation(node.get("evaluation") or {}, f"{path}.evaluation", evaluation, errs)
    if "metrics" not in ev:
        errs.add(SpecError("evaluation.metrics", "is required (e.g. [fid, prc, knn])"))
    hparams = _hparams(node.get("hparams"), f"{path}.hparams", errs)
    protocol = None
    if kind and all(ev.get(key) is not None for key in PROTOCOL_KEYS):
        protocol = errs.attempt(_protocol, ev, name, kind, path, dataset_labelled(name, params))
        if protocol is not None and not protocol.metrics:
            errs.add(SpecError(f"{path}.evaluation.metrics" if "evaluation" in node else "evaluation.metrics",
                               f"none of the metrics applies to dataset '{name}' ({kind} data, extractor "
                               f"'{protocol.extractor}')"))
    if protocol is not None and protocol.sampling_seeds > 1 and dataset_task(name) == "translation":
        errs.add(SpecError(f"{path}.evaluation.sampling_seeds",
                           f"a translation of dataset '{name}' draws no latents (it translates the test inputs), so "
                           "there is nothing to redraw; set sampling_seeds: 1"))
    headline = errs.attempt(_headline, ev, name, protocol) if protocol is not None and protocol.metrics else None
    if not errs.clean_since(mark) or protocol is None or b.get("steps") is None or b["eval_every"] is None:
        return None, kind
    return DatasetEntry(name, frozen(params), kind, Budget(b["steps"], b["eval_every"]), protocol, hparams,
                        headline), kind


def _headline(ev: dict[str, Any], dataset: str, protocol: EvalProtocol) -> str:
    """The metric key the dataset's runs are ranked by: the suite's ``evaluation.headline`` (one of the keys
    its metrics give), else the dataset's declared one, else a fallback (:func:`choose_headline`)."""
    from ganbench.catalog import DATASETS
    from ganbench.results.headline import choose_headline

    keys = [key for m in protocol.metrics for key in metric_output_keys(m, dataset)]
    wanted = ev.get("headline")
    if wanted is not None:
        if wanted not in keys:
            raise SpecError(ev["headline_path"], f"dataset '{dataset}' does not compute '{wanted}' (its metrics "
                                                 f"give: {', '.join(keys)}{did_you_mean(wanted, keys)})")
        return wanted
    return choose_headline(DATASETS.meta(dataset).get("headline"), keys)


def _datasets(node: Any, budget: dict, evaluation: dict, errs: Problems) -> tuple[list[DatasetEntry | None], set[str]]:
    """Every entry (None where broken) and the data kinds named; a dataset listed twice is a problem."""
    if not isinstance(node, list) or not node:
        errs.add(SpecError("datasets", "expected a non-empty list of datasets"))
        return [], set()
    entries: list[DatasetEntry | None] = []
    kinds: set[str] = set()
    for i, item in enumerate(node):
        entry, kind = errs.attempt(_dataset, item, f"datasets[{i}]", budget, evaluation, errs) or (None, None)
        entries.append(entry)
        kinds.update([kind] if kind else [])
    valid = [d for d in entries if d is not None]
    if len({(d.name, repr(tuple(d.params.items()))) for d in valid}) != len(valid):
        errs.add(SpecError("datasets", "a dataset is listed twice with the same params"))
    return entries, kinds


def dataset_classes(name: str | None, params: Mapping[str, Any] | None) -> int | None:
    """How many classes dataset ``name`` with ``params`` is labelled with, by its declaration (0: unlabelled;
    None: only its files tell, as an image folder's class subfolders)."""
    from ganbench.catalog import DATASETS

    if not name:
        return None
    classes = DATASETS.meta(name).get("classes")
    if not callable(classes):
        return classes
    try:
        return int(classes(dict(params or {})))
    except (TypeError, ValueError, OverflowError):  # a malformed parameter: the dataset's loader names it
        return None


def dataset_labelled(name: str | None, params: Mapping[str, Any] | None) -> bool | None:
    """Whether the dataset carries class labels (None: only its files tell)."""
    classes = dataset_classes(name, params)
    return None if classes is None else classes >= 2


#: what a metric may need that only labelled data gives (the real labels, a classifier of them)
LABEL_NEEDS = frozenset({"labels", "real_labels", "classifier"})


def _protocol(ev: dict[str, Any], dataset: str, kind: str, path: str, labelled: bool | None = None) -> EvalProtocol:
    """Resolve ``auto`` and keep only the metrics that apply to this dataset and extractor."""
    from ganbench.catalog import EXTRACTORS, METRICS

    extractor = ev["extractor"]
    if extractor == "auto":
        extractor = "raw" if kind == "vector" else "domain"
    ex_meta = EXTRACTORS.meta(extractor)
    where = f"{path}.evaluation.extractor" if path else "evaluation.extractor"
    if kind not in ex_meta.get("data_kinds", ("image", "vector")):
        raise SpecError(where, f"extractor '{extractor}' does not handle {kind} data of dataset '{dataset}'")
    if ex_meta.get("needs_labels") and labelled is False:
        shown = f"'{extractor}'" if ev["extractor"] == extractor else f"'auto' ({extractor} on {kind} data)"
        raise SpecError(where, f"extractor {shown} trains a classifier of the dataset's labels, and dataset "
                               f"'{dataset}' with these params has none; choose raw, inception or dinov2 "
                               f"(`ganbench ls extractors`), or labelled data (polygons: vertices [3, 4, 5])")
    chosen = tuple(m for m in ev["metrics"] if metric_applies(m, dataset, kind, ex_meta, extractor, labelled))
    against_train = [m for m in chosen if {"real", "train"} <= set(METRICS.meta(m).get("needs", ()))]
    if against_train and ev["split"] == "train":
        raise SpecError(f"{path}.evaluation.split" if path else "evaluation.split",
                        f"metric '{against_train[0]}' compares the samples' distances to the train split with a "
                        "held-out split's: evaluate on split test")
    return EvalProtocol(extractor, chosen, ev["n_gen"], ev["n_real"], ev["split"],
                        frozen(ev.get("extractor_options")), frozen(ev.get("metric_options")),
                        ev.get("sampling_seeds") or 1)


def metric_applies(metric: str, dataset: str, kind: str, extractor_meta: Mapping[str, Any],
                   extractor: str | None = None, labelled: bool | None = None) -> bool:
    from ganbench.catalog import METRICS

    meta = METRICS.meta(metric)
    if labelled is False and LABEL_NEEDS & set(meta.get("needs", ())):
        return False
    task = dataset_task(dataset)
    if task_of(METRICS, metric) == "translation" and task != "translation":
        return False
    if task == "translation" and not translation_can_feed(metric, dataset):
        return False
    if kind not in meta.get("data_kinds", ("image", "vector")):
        return False
    if meta.get("extractors") and extractor not in meta["extractors"]:
        return False
    if meta.get("datasets") and dataset not in meta["datasets"]:
        return False
    return not ("logits" in meta.get("needs", ()) and not extractor_meta.get("has_logits"))


#: what a translation's evaluation cannot give a metric of generation: a generator from noise, its labels or
#: codes, the target domain's train split, real samples, or the single-domain facts a metric reads off the
#: samples' dataset (the mixtures' σ; ganbench/translation/evaluate.py)
TRANSLATION_UNFED = frozenset({"generator", "labels", "codes", "train", "classifier", "real_samples", "samples"})


def translation_can_feed(metric: str, dataset: str) -> bool:
    """Whether a translation's evaluation feeds ``metric`` on domain pair ``dataset``: a distribution metric
    of the target domain, or a translation metric (ground truth only where the pair is paired)."""
    from ganbench.catalog import DATASETS, METRICS

    needs = set(METRICS.meta(metric).get("needs", ()))
    if "ground_truth" in needs and not DATASETS.meta(dataset).get("paired"):
        return False
    return task_of(METRICS, metric) == "translation" or not needs & TRANSLATION_UNFED


def metric_output_keys(metric: str, dataset: str) -> list[str]:
    """The keys a metric gives on ``dataset``: on a domain pair a distribution metric's come per direction
    (``fid_ab``, ``fid_ba``) and averaged (``fid``)."""
    from ganbench.catalog import METRICS

    meta = METRICS.meta(metric)
    keys = list(meta["outputs"])
    if dataset_task(dataset) == "translation" and task_of(METRICS, metric) != "translation":
        keys += [f"{k}_{d}" for d in ("ab", "ba") for k in meta["outputs"]]
    return keys


MODEL_KEYS = ("name", "kind", "loss", "arch", "penalty", "conditioning", "augment", "hparams", "defaults")


def _model(node: Any, path: str, kinds: set[str], unlabelled: list[str], errs: Problems) -> ModelEntry | None:
    """The entry, None when anything in it is wrong (``unlabelled``: the suite's datasets without class labels)."""
    from ganbench.catalog import ARCHS, AUGMENTATIONS, CONDITIONINGS, KINDS, LOSSES, PENALTIES

    mark = errs.mark()
    node = _mapping(node, path, MODEL_KEYS, errs, ("arch",))
    kind = errs.attempt(_name, KINDS, node["kind"], f"{path}.kind") if "kind" in node else "gan"
    loss, penalty = None, "none"
    if kind is None:
        pass
    elif KINDS.meta(kind)["uses_loss"]:
        if "loss" not in node:
            errs.add(SpecError(f"{path}.loss", "is required for a GAN (e.g. ns, wgan_gp); or set kind: vae"))
        else:
            loss = errs.attempt(_name, LOSSES, node["loss"], f"{path}.loss")
        if "penalty" in node:
            penalty = errs.attempt(_name, PENALTIES, node["penalty"], f"{path}.penalty")
        elif loss:
            penalty = LOSSES.meta(loss)["default_penalty"]
    else:
        for key in ("loss", "penalty"):
            if key in node:
                errs.add(SpecError(f"{path}.{key}", f"a {kind.upper()} has no GAN loss or penalty; remove it"))
    conditioning = "none"
    if "conditioning" in node:
        conditioning = errs.attempt(_name, CONDITIONINGS, node["conditioning"], f"{path}.conditioning")
        if conditioning not in (None, "none") and kind == "vae":
            errs.add(SpecError(f"{path}.conditioning", "the VAE baseline is unconditional; remove it"))
        elif conditioning not in (None, "none") and loss and LOSSES.meta(loss).get("d_output") == "reconstruction":
            errs.add(SpecError(f"{path}.conditioning", f"loss '{loss}' has an autoencoder D that scores "
                                                       "reconstructions, which no conditioning here extends; "
                                                       "use a loss with a logit D (e.g. ns, hinge, wgan_gp)"))
        elif conditioning and CONDITIONINGS.meta(conditioning)["needs_labels"] and unlabelled:
            hint = " (mix vertex counts, e.g. vertices: [3, 4, 5], to label polygons by count)" \
                if "polygons" in unlabelled else ""
            errs.add(SpecError(f"{path}.conditioning",
                               f"'{conditioning}' feeds G and D class labels, and dataset '{unlabelled[0]}' has "
                               f"none{hint}; use 'infogan' (no labels) or labelled datasets"))
    augment = "none"
    if "augment" in node:
        augment = errs.attempt(_name, AUGMENTATIONS, node["augment"], f"{path}.augment")
        if augment not in (None, "none") and kind != "gan":
            errs.add(SpecError(f"{path}.augment", f"augmentation feeds a GAN's D, and a {kind.upper()} has none; "
                                                  "remove it"))
    arch = _arch(node["arch"], f"{path}.arch", kinds, errs) if "arch" in node else None
    if arch and conditioning and CONDITIONINGS.meta(conditioning).get("needs_g_batch_norm"):
        bare = sorted({a for a in arch.values() if a and not ARCHS.meta(a).get("g_batch_norm", True)})
        if bare:
            errs.add(SpecError(f"{path}.conditioning",
                               f"'{conditioning}' conditions G through its batch norms, and architecture "
                               f"'{bare[0]}' has none in G; use 'cgan' (the label joins G's input: for stylegan2, "
                               "its mapping network, StyleGAN2-ADA's way) or another architecture"))
    if kind is not None:
        _check_translation_model(kind, loss, arch, conditioning, augment, path, errs)
    display = errs.attempt(_str, node["name"], f"{path}.name") if "name" in node else (loss or "vae")
    hparams = _hparams(node.get("hparams"), f"{path}.hparams", errs)
    defaults = _hparams(node.get("defaults"), f"{path}.defaults", errs, allow_search=False)
    if not errs.clean_since(mark):
        return None
    return ModelEntry(display, kind, loss, frozen(arch), penalty, hparams, defaults, conditioning or "none",
                      augment or "none")


def _check_translation_model(kind: str, loss: str | None, arch: dict[str, str] | None, conditioning: str | None,
                             augment: str | None, path: str, errs: Problems) -> None:
    """A translation kind takes translation architectures and a logit D, and no conditioning or augmentation; a
    generative kind takes no translation architecture."""
    from ganbench.catalog import ARCHS, KINDS, LOSSES

    task = task_of(KINDS, kind)
    for data_kind, name in (arch or {}).items():
        if name and task_of(ARCHS, name) != task:
            fits = [a for a in names_of_task(ARCHS, task) if data_kind in ARCHS.meta(a)["data_kinds"]]
            what = "translates a sample into another domain" if task == "translation" else "generates from noise"
            errs.add(SpecError(f"{path}.arch", f"architecture '{name}' does not fit a {kind} model, which {what}; "
                                               f"use {' or '.join(fits)} for {data_kind} data"))
    if task != "translation":
        return
    if loss and LOSSES.meta(loss).get("d_output") == "reconstruction":
        errs.add(SpecError(f"{path}.loss", f"loss '{loss}' has an autoencoder D, and a translation's Ds score "
                                           "patches with logits; use a loss with a logit D (e.g. lsgan, ns, hinge)"))
    for key, value in (("conditioning", conditioning), ("augment", augment)):
        if value not in (None, "none"):
            errs.add(SpecError(f"{path}.{key}", f"a {kind} model takes no {key} (its input is what it is told); "
                                                "remove it"))


def _check_tasks(datasets: list[DatasetEntry | None], nodes: Any, models: list[ModelEntry | None] | None,
                 errs: Problems) -> None:
    """One task per suite: domain pairs with translation models, single domains with generative ones; a paired
    method (pix2pix) only on paired domain pairs."""
    from ganbench.catalog import DATASETS, KINDS

    tasks = {d.name: dataset_task(d.name) for d in datasets if d is not None}
    unpaired = [name for name, t in tasks.items() if t == "translation" and not DATASETS.meta(name).get("paired")]
    for i, model in enumerate(models or ()):
        if model is None:
            continue
        task = task_of(KINDS, model.kind)
        wrong = next((name for name, t in tasks.items() if t != task), None)
        where = f"models[{i}].kind" if isinstance(nodes[i], dict) and "kind" in nodes[i] else f"models[{i}]"
        if KINDS.meta(model.kind).get("needs_pairs") and unpaired:
            errs.add(SpecError(where, f"{model.kind} trains on pairs, and dataset '{unpaired[0]}' is unpaired (two "
                                      "folders of unrelated images); use kind: cyclegan"))
        if wrong is None:
            continue
        if task == "translation":
            errs.add(SpecError(where, f"a {model.kind} model translates between two domains, and dataset '{wrong}' "
                                      f"is one domain; list domain pairs ({', '.join(names_of_task(DATASETS, task))})"
                                      " in a translation suite"))
        else:
            errs.add(SpecError(where, f"dataset '{wrong}' is a domain pair, for translation models; give this "
                                      f"model kind: {' or '.join(names_of_task(KINDS, 'translation'))} (or list "
                                      "single-domain datasets)"))


def _arch(node: Any, path: str, kinds: set[str], errs: Problems) -> dict[str, str]:
    """Data kind → architecture, from one name or a mapping per kind: every name given is checked, and
    every data kind of the suite (as far as its datasets are known) needs one that handles it."""
    from ganbench.catalog import ARCHS

    if isinstance(node, dict):
        given = _mapping(node, path, ("image", "vector"), errs)
        names = {k: errs.attempt(_name, ARCHS, v, f"{path}.{k}") for k, v in given.items()}
        where = {k: f"{path}.{k}" for k in names}
    else:
        name = errs.attempt(_name, ARCHS, node, path)
        names, where = dict.fromkeys(("image", "vector"), name), dict.fromkeys(("image", "vector"), path)
    arch: dict[str, str] = {}
    for data_kind in sorted(kinds):
        if data_kind not in names:
            errs.add(SpecError(path, f"no architecture for {data_kind} data; add '{data_kind}: <arch>'"))
            continue
        name = names[data_kind]
        if name is None:
            continue
        handled = ARCHS.meta(name)["data_kinds"]
        if data_kind not in handled:
            errs.add(SpecError(where[data_kind], f"architecture '{name}' handles {'/'.join(handled)} data, but the "
                                                 f"suite has {data_kind} datasets; give one per kind, e.g. arch: "
                                                 "{image: infogan, vector: mlp}"))
            continue
        arch[data_kind] = name
    return arch


def _models(node: Any, kinds: set[str], unlabelled: list[str], errs: Problems) -> list[ModelEntry | None] | None:
    """Every entry (None where broken), or None when the section is not a list; names must differ."""
    if not isinstance(node, list) or not node:
        errs.add(SpecError("models", "expected a non-empty list of models"))
        return None
    models = [errs.attempt(_model, m, f"models[{i}]", kinds, unlabelled, errs) for i, m in enumerate(node)]
    seen: dict[str, int] = {}
    for i, m in enumerate(models):
        if m is not None and m.name in seen:
            errs.add(SpecError(f"models[{i}].name",
                               f"'{m.name}' is also models[{seen[m.name]}]'s name; names must differ"))
        elif m is not None:
            seen[m.name] = i
    return models


PHASE_KEYS = ("name", "samples", "include_defaults", "seeds", "hparams", "model_hparams", "model_defaults", "best_of")


def _phase(node: Any, path: str, default_seeds: tuple[int, ...], default_samples: int, earlier: list[str] | None,
           model_names: tuple[str, ...] | None, errs: Problems) -> Phase | None:
    """The phase, None when anything in it is wrong. ``earlier``: the names of the phases before it, and
    ``model_names`` the models', each None when one of them is broken (a name unknown, so not checked)."""
    mark = errs.mark()
    node = _mapping(node, path, PHASE_KEYS, errs, ("name",))
    name = errs.attempt(_str, node["name"], f"{path}.name") if "name" in node else None
    if earlier is not None and name in earlier:
        errs.add(SpecError(f"{path}.name", f"phase '{name}' is defined twice"))
    if name == CALIBRATION_PHASE:
        errs.add(SpecError(f"{path}.name", f"'{CALIBRATION_PHASE}' is the phase of the calibration rows (real data "
                                           "scored as a model); name this phase otherwise"))
    seeds = errs.attempt(_seeds, node["seeds"], f"{path}.seeds") if "seeds" in node else default_seeds
    if "best_of" in node:
        for key in ("samples", "include_defaults", "hparams", "model_hparams", "model_defaults"):
            if key in node:
                errs.add(SpecError(f"{path}.{key}", "a best_of phase retrains the best setting; it takes only seeds"))
        best = errs.attempt(_best_of, node["best_of"], f"{path}.best_of", earlier, errs)
        return Phase(name, 1, False, seeds, frozen({}), best) if errs.clean_since(mark) else None
    samples = errs.attempt(_int, node.get("samples", default_samples), f"{path}.samples", 1, MAX_COUNT)
    include = errs.attempt(_bool, node.get("include_defaults", False), f"{path}.include_defaults")
    model_hparams = _per_model(node.get("model_hparams"), f"{path}.model_hparams", model_names, errs, True)
    model_defaults = _per_model(node.get("model_defaults"), f"{path}.model_defaults", model_names, errs, False)
    if isinstance(node.get("model_defaults"), dict) and node["model_defaults"] and include is False:
        errs.add(SpecError(f"{path}.model_defaults",
                           "author defaults are setting 0 only when include_defaults is true"))
    hparams = _hparams(node.get("hparams"), f"{path}.hparams", errs)
    if not errs.clean_since(mark):
        return None
    return Phase(name, samples, include, seeds, hparams, None, frozen(model_hparams), frozen(model_defaults))


def _best_of(node: Any, path: str, earlier: list[str] | None, errs: Problems) -> BestOf | None:
    best = _mapping(node, path, ("phase", "metric"), errs, ("phase",))
    source = errs.attempt(_str, best["phase"], f"{path}.phase") if "phase" in best else None
    if source is not None and earlier is not None and source not in earlier:
        errs.add(SpecError(f"{path}.phase", f"no earlier phase '{source}' (earlier: {', '.join(earlier) or 'none'})"))
    metric = errs.attempt(_str, best["metric"], f"{path}.metric") if "metric" in best else None
    if "metric" in best and metric is None:
        return None
    return BestOf(source, metric) if source is not None else None  # no metric: each dataset's headline


def _per_model(node: Any, path: str, model_names: tuple[str, ...] | None, errs: Problems,
               allow_search: bool) -> dict[str, Mapping[str, Any]]:
    """A phase's hyperparameters per model name (model_hparams or model_defaults), the valid ones."""
    if not node:
        return {}
    known = model_names if model_names is not None else \
        tuple(k for k in node if isinstance(k, str)) if isinstance(node, dict) else ()
    out = {}
    for model, values in (errs.attempt(_mapping, node, path, known, errs) or {}).items():
        parsed = _hparams(values, f"{path}.{model}", errs, allow_search)
        if parsed is not None:
            out[model] = parsed
    return out


def _phases(doc: dict[str, Any], seeds: tuple[int, ...], samples: int, search: dict[str, Any],
            model_names: tuple[str, ...] | None, errs: Problems) -> list[tuple[str, Phase]]:
    """The valid phases, each with the path that sets its samples; without ``phases``, the one phase 'main'."""
    if "phases" not in doc:
        include = errs.attempt(_bool, search.get("include_defaults", False), "search.include_defaults")
        return [("search.samples", Phase("main", samples, bool(include), seeds, frozen({})))]
    if not isinstance(doc["phases"], list) or not doc["phases"]:
        errs.add(SpecError("phases", "expected a non-empty list of phases"))
        return []
    phases: list[tuple[str, Phase]] = []
    earlier: list[str] | None = []
    for i, item in enumerate(doc["phases"]):
        phase = errs.attempt(_phase, item, f"phases[{i}]", seeds, samples, earlier, model_names, errs)
        if phase is not None:
            phases.append((f"phases[{i}].samples", phase))
        name = phase.name if phase is not None else item.get("name") if isinstance(item, dict) else None
        if earlier is not None:  # a broken phase's name still counts, so best_of can name it; an unknown one
            earlier = earlier + [name] if isinstance(name, str) and name else None  # stops the checks on names
    return phases


TOP_KEYS = ("name", "description", "datasets", "models", "hparams", "search", "seeds", "phases", "budget",
            "evaluation", "data_root", "download", "calibration")


def parse(doc: Any, source: str = "") -> SuiteSpec:
    """Validate a loaded YAML document into a SuiteSpec. One problem raises a SpecError naming the field;
    several raise SpecErrors listing them all, headed by ``source`` (the file) when given."""
    from ganbench.catalog import registries

    registries()  # fill every registry before names are checked
    if not isinstance(doc, dict):  # the whole document: no YAML path to name, so the file is named
        raise SpecError(source, f"a suite is a mapping (name: ..., datasets: ..., models: ...), got {_type_name(doc)}")
    errs = Problems()
    try:
        spec = _suite(doc, errs)
    except RecursionError:
        raise GanbenchError(f"{source + ': ' if source else ''}nested too deeply to be a suite") from None
    if errs.found:
        raise errs.error(doc, source)
    return spec


def _suite(doc: dict[str, Any], errs: Problems) -> SuiteSpec:
    """Every section parsed, problems recorded; the spec is complete only when none were."""
    doc = _mapping(doc, "", TOP_KEYS, errs, ("name", "datasets", "models"))
    name = errs.attempt(_suite_name, doc["name"]) if "name" in doc else None
    description = doc.get("description") or ""
    if not isinstance(description, (str, int, float)):  # not str() of a list: aliases can make it vast
        errs.add(SpecError("description", f"expected text, got {_type_name(description)}; put it in quotes"))
        description = ""
    budget = _budget(doc.get("budget") or {}, "budget", {}, errs)
    evaluation = _evaluation(doc.get("evaluation") or {}, "evaluation", dict(DEFAULT_EVALUATION), errs)
    datasets, kinds = _datasets(doc["datasets"], budget, evaluation, errs) if "datasets" in doc else ([], set())
    unlabelled = [d.name for d in datasets if d is not None and dataset_labelled(d.name, d.params) is False]
    models = _models(doc["models"], kinds, unlabelled, errs) if "models" in doc else None
    if models is not None and isinstance(doc["models"], list):
        _check_tasks(datasets, doc["models"], models, errs)
    model_names = tuple(m.name for m in models) if models is not None and None not in models else None
    search = errs.attempt(_mapping, doc.get("search") or {}, "search", ("samples", "include_defaults", "seed"),
                          errs) or {}
    samples = errs.attempt(_int, search.get("samples", 1), "search.samples", 1, MAX_COUNT)
    search_seed = errs.attempt(_int, search.get("seed", 0), "search.seed", 0, MAX_SEED)
    seeds = errs.attempt(_seeds, doc["seeds"], "seeds") if "seeds" in doc else (0,)
    phases = _phases(doc, seeds or (0,), samples or 1, search, model_names, errs)
    hparams = _hparams(doc.get("hparams"), "hparams", errs)
    data_root = errs.attempt(_str, doc["data_root"], "data_root") if "data_root" in doc else None
    download = errs.attempt(_bool, doc.get("download", False), "download")
    calibration = errs.attempt(_calibration, doc.get("calibration", list(CALIBRATION_DEFAULT)), "calibration")
    spec = SuiteSpec(name or "", str(description), tuple(d for d in datasets if d is not None),
                     tuple(m for m in models or () if m is not None), hparams or frozen({}),
                     tuple(phase for _, phase in phases), search_seed or 0, data_root, bool(download),
                     calibration or ())
    if hparams is not None:  # the valid parts are checked together even when others are broken
        _check_search(spec, [path for path, _ in phases], errs)
    _check_best_of(spec, [path for path, _ in phases], errs)
    if hparams is not None and not errs.found:
        _check_codes(spec, [path for path, _ in phases], errs)
    return spec


def _calibration(node: Any, path: str) -> tuple[str, ...]:
    """The calibration rows asked for (ganbench/calibration.py): a list of their names, [] for none."""
    from ganbench.catalog import CALIBRATIONS

    if node is None:
        return ()
    if not isinstance(node, list):
        raise SpecError(path, f"expected a list of calibration rows ({', '.join(CALIBRATIONS.names())}; [] for "
                              f"none), got {_type_name(node)}")
    names = tuple(_name(CALIBRATIONS, item, f"{path}[{i}]") for i, item in enumerate(node))
    if len(set(names)) != len(names):
        raise SpecError(path, "a calibration row is named twice")
    return names


def _largest(value: Any) -> Any:
    """The largest value a hyperparameter can take: itself, a grid's largest, a distribution's upper end."""
    if isinstance(value, tuple):
        return max(value)
    if isinstance(value, Distribution):
        return max(value.args) if value.kind == "choice" else value.args[-1]
    return value


def _check_codes(spec: SuiteSpec, paths: list[str], errs: Problems) -> None:
    """code_fidelity matches InfoGAN's categorical code to the classes one to one: a code with more values than
    the dataset has classes (or a dataset without classes) cannot be matched, so it is refused here."""
    from ganbench.catalog import CONDITIONINGS

    for i, model in enumerate(spec.models):
        own = CONDITIONINGS.meta(model.conditioning)["params"]
        if "info_cat" not in own:
            continue
        for j, dataset in enumerate(spec.datasets):
            classes = dataset_classes(dataset.name, dataset.params)
            if "code_fidelity" not in dataset.evaluation.metrics or classes is None:
                continue
            for path, phase in zip(paths, spec.phases):
                if phase.best_of:
                    continue
                space = search_space(spec, phase, dataset, model)
                largest = _largest(space.get("info_cat", own["info_cat"]))
                if classes < 2 or largest > classes:
                    where = next((p for p, source in (
                        (f"{path.removesuffix('.samples')}.model_hparams.{model.name}",
                         phase.model_hparams.get(model.name, {})),
                        (f"models[{i}].hparams", model.hparams), (f"datasets[{j}].hparams", dataset.hparams),
                        (f"{path.removesuffix('.samples')}.hparams", phase.hparams),
                        ("hparams", spec.hparams)) if "info_cat" in source), f"models[{i}].hparams")
                    have = f"{classes} classes" if classes >= 2 else "no class labels"
                    errs.add(SpecError(f"{where}.info_cat",
                                       f"InfoGAN's code can take {largest} values, and dataset '{dataset.name}' has "
                                       f"{have}: metric code_fidelity matches codes to classes one to one; set "
                                       f"info_cat ≤ {classes} for '{model.name}' there or drop code_fidelity"))
                    return


def _suite_name(node: Any) -> str:
    name = _str(node, "name")
    if not name.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise SpecError("name", f"use letters, digits, '-', '_' or '.' (it names a results folder), got {_show(name)}")
    return name


def _check_search(spec: SuiteSpec, paths: list[str], errs: Problems) -> None:
    """A phase asking for several random settings needs a distribution in every model's space."""
    for path, phase in zip(paths, spec.phases):
        if phase.best_of or phase.samples <= 1:
            continue
        fixed = next((model for model in spec.models for dataset in spec.datasets
                      if not any(isinstance(v, Distribution)
                                 for v in search_space(spec, phase, dataset, model).values())), None)
        if fixed is not None:
            errs.add(SpecError(path, f"{phase.samples} random settings asked for, but no hyperparameter of model "
                                     f"'{fixed.name}' has a distribution (loguniform, uniform, int, choice)"))


def _check_best_of(spec: SuiteSpec, paths: list[str], errs: Problems) -> None:
    """A best_of phase ranks its source phase's runs by ``metric``: every dataset must compute it, else that
    dataset's best setting can never be chosen and the phase would wait for ever."""
    from ganbench.catalog import METRICS

    for path, phase in zip(paths, spec.phases):
        if not phase.best_of:
            continue
        wanted = phase.best_of.metric
        if wanted is None:  # each dataset's headline, which it computes by construction
            continue
        lacking = []
        for dataset in spec.datasets:
            keys = {key for m in dataset.evaluation.metrics for key in METRICS.meta(m)["outputs"]}
            if wanted not in keys:
                lacking.append((dataset.name, sorted(keys)))
        if lacking:
            name, keys = lacking[0]
            names = ", ".join(f"'{n}'" for n, _ in lacking)
            what = f"no dataset computes '{wanted}'" if len(lacking) == len(spec.datasets) else \
                f"dataset {names} does not compute '{wanted}'" if len(lacking) == 1 else \
                f"datasets {names} do not compute '{wanted}'"
            errs.add(SpecError(f"{path.removesuffix('.samples')}.best_of.metric",
                               f"{what}, so the best setting could never be chosen there ({name}'s metrics "
                               f"give: {', '.join(keys) or 'nothing'}{did_you_mean(wanted, keys)})"))


# ---------------------------------------------------------------- reading the file


class _SuiteLoader(yaml.SafeLoader):
    """``yaml.safe_load``'s loader, but a scalar it cannot convert (a 5,000-digit integer, the date
    2024-13-45) is a YAML error at its line, not a bare ValueError."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as err:
            reason = str(err).split(";")[0]  # drop Python's advice to raise its digit limit
            raise yaml.constructor.ConstructorError(None, None, f"cannot read {_show(node.value)}: {reason}",
                                                    node.start_mark) from None


def _yaml_problem(err: yaml.YAMLError, text: str) -> str:
    """' at line L, column C: what' for a YAML error (a reader error knows only a character offset)."""
    if isinstance(err, yaml.reader.ReaderError):
        line = text.count("\n", 0, err.position) + 1
        column = err.position - (text.rfind("\n", 0, err.position) + 1) + 1
        return (f" at line {line}, column {column}: unacceptable character #x{err.character:04x} ({err.reason}); "
                "is it a binary file?")
    mark = getattr(err, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    return f"{where}: {' '.join(str(getattr(err, 'problem', None) or err).split())}"


def read(path: Path) -> Any:
    """The YAML document in a suite file; what cannot be read is a GanbenchError saying where and why."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise GanbenchError(f"{path}: cannot read the suite file ({err.strerror or err})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise GanbenchError(f"{path}: not UTF-8 text (byte 0x{data[err.start]:02x} at line {line}, column {column}); "
                            "save the suite as UTF-8") from None
    try:
        return yaml.load(text, Loader=_SuiteLoader)  # a SafeLoader: no arbitrary objects
    except RecursionError:
        raise GanbenchError(f"{path}: nested too deeply to read (lists or mappings hundreds of levels deep)") from None
    except yaml.YAMLError as err:
        raise GanbenchError(f"{path}: not valid YAML{_yaml_problem(err, text)}") from None


def load(path: str | Path) -> SuiteSpec:
    """Read and validate a suite file (``yaml.safe_load``'s loader: no arbitrary objects)."""
    path = Path(path)
    if not path.is_file():
        raise GanbenchError(f"{path}: no such suite file")
    return parse(read(path), source=str(path))
