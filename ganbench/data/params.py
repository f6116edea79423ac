"""Parameter checks shared by the dataset factories.

Factories receive a plain mapping (from a suite or the CLI); these helpers merge it with the
registered defaults and turn a bad value into one :class:`GanbenchError` that names the dataset,
the parameter and what is accepted, instead of a traceback deep inside generation code.
"""
from __future__ import annotations

from typing import Any, Mapping

from ganbench.errors import GanbenchError


def merged(dataset: str, params: Mapping[str, Any] | None, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``defaults`` overlaid with ``params``; an unknown key is an error naming the accepted ones."""
    params = dict(params or {})
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise GanbenchError(f"dataset '{dataset}' has no parameter {', '.join(map(repr, unknown))} "
                            f"(accepted: {', '.join(sorted(defaults)) or 'none'})")
    return {**defaults, **params}


def integer(dataset: str, params: Mapping[str, Any], key: str, lo: int | None = None,
            hi: int | None = None) -> int:
    """``params[key]`` as an int within [lo, hi] (bools and non-integral floats are rejected)."""
    value = params[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise GanbenchError(f"dataset '{dataset}': parameter '{key}' must be an integer, got {value!r}")
    value = int(value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise GanbenchError(f"dataset '{dataset}': parameter '{key}' must be {bounds}, got {value}")
    return value


def real(dataset: str, params: Mapping[str, Any], key: str, lo: float | None = None,
         hi: float | None = None, lo_open: bool = False, hi_open: bool = False) -> float:
    """``params[key]`` as a float within the bounds (``lo_open`` / ``hi_open`` exclude the bound itself)."""
    value = params[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise GanbenchError(f"dataset '{dataset}': parameter '{key}' must be a number, got {value!r}")
    value = float(value)
    too_low = lo is not None and (value <= lo if lo_open else value < lo)
    too_high = hi is not None and (value >= hi if hi_open else value > hi)
    if too_low or too_high:
        low = f"{'above' if lo_open else 'at least'} {lo}" if lo is not None else ""
        high = f"{'below' if hi_open else 'at most'} {hi}" if hi is not None else ""
        raise GanbenchError(f"dataset '{dataset}': parameter '{key}' must be "
                            f"{' and '.join(b for b in (low, high) if b)}, got {value}")
    return value


def choice(dataset: str, params: Mapping[str, Any], key: str, options: tuple[Any, ...]) -> Any:
    """``params[key]`` if it is one of ``options``."""
    value = params[key]
    if value not in options:
        raise GanbenchError(f"dataset '{dataset}': parameter '{key}' must be one of "
                            f"{', '.join(map(repr, options))}, got {value!r}")
    return value
