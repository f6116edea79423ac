"""Extractor doubles for tests."""
from __future__ import annotations


class CountingExtractor:
    """A feature extractor that records the number of samples in each of its passes, and otherwise is the one
    it wraps (its identity, layers and features)."""

    def __init__(self, inner):
        self.inner, self.passes = inner, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def __call__(self, x):
        self.passes.append(len(x))
        return self.inner(x)
