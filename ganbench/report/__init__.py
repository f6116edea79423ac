"""Reports: tidy results frame → tables (CSV, Markdown, LaTeX), figures (PNG, PDF), index.html.

Modules: ``builder`` (``build``, the only one that writes files), ``figures`` and ``samples``
(plots), ``views`` (which columns a reader sees), ``formats`` (Markdown/LaTeX/HTML writers),
``style`` (model colours and order), ``html`` (the page).
"""
from __future__ import annotations

from ganbench.report.builder import build

__all__ = ["build"]
