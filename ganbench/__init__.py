"""ganbench: train and evaluate GAN variants under one protocol, and compare them fairly."""
from __future__ import annotations

__version__ = "0.2.0"

__all__ = ["__version__", "load_results"]


def load_results(path: str = "results"):
    """All stored runs under ``path`` as a tidy DataFrame: one row per run × metric × evaluation step."""
    from ganbench.results.frame import load_results as _load

    return _load(path)
