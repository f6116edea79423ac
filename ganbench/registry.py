"""A small typed registry: every pluggable family (losses, archs, datasets, metrics, ...) is one of these.

Entries carry metadata (e.g. ``higher_is_better``), so the CLI, suite validation and reports can
describe an entry without calling it. Unknown names raise an error that suggests the closest names.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Iterable, Iterator, TypeVar

from ganbench.errors import UnknownNameError

T = TypeVar("T")


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


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    obj: T
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def doc(self) -> str:
        """First line of the entry's description or docstring."""
        text = self.metadata.get("description") or getattr(self.obj, "__doc__", None) or ""
        return text.strip().splitlines()[0] if text.strip() else ""


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
        if not name or not name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"{self.kind} name {name!r} must be alphanumeric with _ or -")
        for key in (name, *aliases):
            if key in self._entries or key in self._aliases:
                raise ValueError(f"{self.kind} '{key}' is registered twice")
        self._entries[name] = Entry(name, obj, dict(metadata))
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
        return self.entry(name).obj

    def meta(self, name: str) -> dict[str, Any]:
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
