"""Small pieces every extractor shares: option checking and batched, gradient-free inference."""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from ganbench.errors import GanbenchError
from ganbench.registry import closest


def extractor_options(extractor: str, options: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``defaults`` updated by ``options``; an unknown option is an error, not silently ignored.

    A misspelt ``batch_sise`` that is dropped quietly changes nothing the user can see, so each
    extractor declares the options it reads and anything else is refused with a suggestion.
    """
    unknown = [key for key in options if key not in defaults]
    if unknown:
        hints = []
        for key in unknown:
            close = closest(key, defaults)
            hints.append(f"'{key}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        raise GanbenchError(f"feature extractor '{extractor}' has no option {', '.join(hints)}; "
                            f"it takes: {', '.join(sorted(defaults)) or '(none)'}")
    return {**defaults, **options}


def positive_int(extractor: str, key: str, value: Any) -> int:
    """``value`` as an int ≥ 1, or a GanbenchError naming the option."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise GanbenchError(f"feature extractor '{extractor}': option '{key}' must be a positive integer, "
                            f"got {value!r}")
    return value


@torch.no_grad()
def run_batched(fn: Callable[[torch.Tensor], Sequence[torch.Tensor]], x: torch.Tensor, batch_size: int,
                device: torch.device) -> list[np.ndarray]:
    """Apply ``fn`` to ``x`` in batches on ``device``; each of its outputs concatenated as float64.

    Float64 because the features feed covariance square roots (FID), where float32 round-off
    shows up in the reported digits.
    """
    if len(x) == 0:
        raise ValueError("feature extraction needs at least one sample")
    outputs: list[list[np.ndarray]] = []
    for start in range(0, len(x), batch_size):
        results = fn(x[start:start + batch_size].to(device))
        if not outputs:
            outputs = [[] for _ in results]
        for store, result in zip(outputs, results):
            store.append(result.detach().to("cpu", torch.float64).numpy())
    return [np.concatenate(store, axis=0) for store in outputs]
