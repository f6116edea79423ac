"""A small typed registry: every pluggable family (losses, archs, datasets, metrics, ...) is one of these.

Entries carry metadata (e.g. ``higher_is_better``), so the CLI, suite validation and reports can
describe an entry without calling it. Unknown names raise an error that suggests the closest names.

An entry is either held (:meth:`Registry.add`) or *lazy* (:meth:`Registry.declare`): declared with its
metadata and a ``"module:attr"`` import path, its object is imported on the first :meth:`Registry.get`.
The built-in entries are all lazy and declared in :mod:`ganbench.catalog`, a module that imports no
torch, so ``ganbench plan``, ``ls`` and suite validation start in a fraction of a second (as
lm-evaluation-harness's lazy registry entries do).
"""
from __future__ import annotations

import difflib
import importlib
import re
from typing import Any, Callable, Generic, Iterable, Iterator, Mapping, TypeVar

from ganbench.errors import UnknownNameError

T = TypeVar("T")

#: ``package.module:attribute`` (the attribute may be dotted: ``module:Class.method``)
IMPORT_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def closest(name: str, candidates: Iterable[str], n: int = 1, cutoff: float = 0.5) -> list[str]:
    """Up to ``n`` candidates close to ``name`` (difflib's similarity ≥ ``cutoff``), best first; a further
    one only when it is about as close as the best: the one "did you mean" rule of every message."""
    scored = sorted(((difflib.SequenceMatcher(None, name, c).ratio(), c) for c in dict.fromkeys(candidates)),
                    key=lambda pair: -pair[0])
    scored = [(r, c) for r, c in scored if r >= cutoff]
    best = scored[0][0] if scored else 0.0
    return [c for r, c in scored if r >= best - 0.1][:n]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """" — did you mean 'x'?" for the closest candidate, or "" when none is close."""
    close = closest(name, candidates)
    return f" — did you mean '{close[0]}'?" if close else ""


def check_import_path(path: str) -> str:
    """``path`` if it reads ``module:attr``; a ValueError (a programming error, not user input) otherwise."""
    if not isinstance(path, str) or not IMPORT_PATH.match(path):
        raise ValueError(f"import path {path!r} must read 'package.module:attribute'")
    return path


def import_object(path: str) -> Any:
    """The object at ``"module:attr"``, importing the module."""
    module_name, _, attr = check_import_path(path).partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise AttributeError(f"{path}: module '{module_name}' has no attribute '{attr}'") from None
    return obj


class Lazy:
    """A function named by its import path and imported on its first call, so metadata can name code
    (a metric's ``prepare`` hook) without importing it."""

    __slots__ = ("path", "_target")

    def __init__(self, path: str):
        self.path = check_import_path(path)
        self._target: Callable[..., Any] | None = None

    def resolve(self) -> Callable[..., Any]:
        if self._target is None:
            self._target = import_object(self.path)
        return self._target

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Lazy({self.path!r})"


_UNLOADED = object()


class Entry(Generic[T]):
    """One registered name: its metadata, and its object, held or imported from ``lazy`` on first use."""

    __slots__ = ("name", "metadata", "lazy", "_obj")

    def __init__(self, name: str, obj: Any = _UNLOADED, metadata: Mapping[str, Any] | None = None, *,
                 lazy: str | None = None):
        if (obj is _UNLOADED) == (lazy is None):
            raise ValueError(f"entry '{name}': give an object or a lazy import path, not both or neither")
        self.name = name
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.lazy = check_import_path(lazy) if lazy is not None else None
        self._obj = obj

    @property
    def obj(self) -> T:
        """The object, imported now if the entry is lazy and not yet loaded."""
        if self._obj is _UNLOADED:
            self._obj = import_object(self.lazy)  # type: ignore[arg-type]
        return self._obj  # type: ignore[return-value]

    @property
    def loaded(self) -> bool:
        """Whether the object is at hand (always, for a held entry) — reading metadata never loads it."""
        return self._obj is not _UNLOADED

    @property
    def doc(self) -> str:
        """First line of the entry's description, else of its object's docstring (a lazy entry always
        has a description, so this never imports)."""
        text = self.metadata.get("description") or getattr(self.obj, "__doc__", None) or ""
        return text.strip().splitlines()[0] if text.strip() else ""

    def __repr__(self) -> str:
        return f"Entry({self.name!r}, {'loaded' if self.loaded else self.lazy})"


class Registry(Generic[T]):
    """Name → object, with aliases, metadata and "did you mean" on lookup failure."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}
        self._aliases: dict[str, str] = {}

    def register(self, name: str, *, aliases: tuple[str, ...] = (), **metadata: Any) -> Callable[[T], T]:
        """Decorator form of :meth:`add`."""

        def decorator(obj: T) -> T:
            self.add(name, obj, aliases=aliases, **metadata)
            return obj

        return decorator

    def add(self, name: str, obj: T, *, aliases: tuple[str, ...] = (), **metadata: Any) -> None:
        """Register ``obj`` itself under ``name``."""
        self._insert(Entry(name, obj, metadata), aliases)

    def declare(self, name: str, path: str, *, aliases: tuple[str, ...] = (), **metadata: Any) -> None:
        """Register the object at ``path`` (``"module:attr"``) under ``name`` without importing it.

        The metadata must include a ``description``: listing entries must not import them either.
        """
        if not str(metadata.get("description", "")).strip():
            raise ValueError(f"{self.kind} '{name}': a lazy entry needs a description (ls shows it unimported)")
        self._insert(Entry(name, metadata=metadata, lazy=path), aliases)

    def _insert(self, entry: Entry[T], aliases: tuple[str, ...]) -> None:
        name = entry.name
        if not name or not name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"{self.kind} name {name!r} must be alphanumeric with _ or -")
        for key in (name, *aliases):
            if key in self._entries or key in self._aliases:
                raise ValueError(f"{self.kind} '{key}' is registered twice")
        self._entries[name] = entry
        for alias in aliases:
            self._aliases[alias] = name

    def canonical(self, name: str) -> str:
        """The registered name for ``name`` or one of its aliases."""
        if name in self._entries:
            return name
        if name in self._aliases:
            return self._aliases[name]
        raise UnknownNameError(self.kind, str(name), self.suggest(str(name)), self.names())

    def entry(self, name: str) -> Entry[T]:
        return self._entries[self.canonical(name)]

    def get(self, name: str) -> T:
        """The object of ``name``; a lazy entry's module is imported here, once."""
        return self.entry(name).obj

    def meta(self, name: str) -> dict[str, Any]:
        """The metadata of ``name``; never imports a lazy entry."""
        return self.entry(name).metadata

    def suggest(self, name: str, n: int = 2) -> list[str]:
        """Up to ``n`` close registered names (aliases count, reported as their entry): :func:`closest`."""
        names = [self._aliases.get(c, c) for c in closest(name, list(self._entries) + list(self._aliases), n=2 * n)]
        return list(dict.fromkeys(names))[:n]

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._aliases

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(sorted(self._entries.values(), key=lambda e: e.name))

    def __len__(self) -> int:
        return len(self._entries)
