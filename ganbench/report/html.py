"""The self-contained ``index.html``: every figure embedded as a base64 PNG, tables inline.

One file that opens offline and can be mailed or attached to a paper review; each ``<img>`` also
names its file on disk (``data-file``) and links the PDF next to it.
"""
from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ganbench.report.style import FigureFile

__all__ = ["Section", "render_page", "figure_html"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem auto;
max-width:1200px;padding:0 1rem;color:#222;line-height:1.45}
h1{margin-bottom:.2rem} h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2.2rem}
.meta{color:#555;font-size:.92rem} .note{color:#8a5300;font-size:.9rem}
table.results,table.counts{border-collapse:collapse;font-size:.85rem;margin:.6rem 0}
table.results th,table.results td,table.counts th,table.counts td{padding:.25rem .55rem;
border-bottom:1px solid #e5e5e5} table.results th{background:#f5f5f5;text-align:left}
tr.group-start td{border-top:2px solid #bbb} caption{caption-side:bottom;text-align:left;
color:#555;font-size:.8rem;padding-top:.3rem} figure{margin:1.2rem 0}
figure img{max-width:100%;border:1px solid #eee} figcaption{color:#444;font-size:.85rem}
.scroll{overflow-x:auto} code{font-size:.85rem}
"""


@dataclass
class Section:
    """A heading with HTML body fragments (already escaped) and figures."""

    title: str
    anchor: str
    body: list[str] = field(default_factory=list)
    figures: list[FigureFile] = field(default_factory=list)


def figure_html(fig: FigureFile, root: Path) -> str:
    """A ``<figure>`` with the PNG inlined and links to the files relative to ``root``."""
    data = base64.b64encode(fig.png.read_bytes()).decode("ascii")
    png_rel = fig.png.relative_to(root).as_posix()
    links = [f'<a href="{html.escape(png_rel)}">PNG</a>']
    if fig.pdf is not None:
        links.append(f'<a href="{html.escape(fig.pdf.relative_to(root).as_posix())}">PDF</a>')
    notes = "".join(f' <span class="note">({html.escape(n)})</span>' for n in fig.notes)
    return (f'<figure id="fig-{html.escape(fig.name)}"><img src="data:image/png;base64,{data}" '
            f'alt="{html.escape(fig.title)}" data-file="{html.escape(png_rel)}">'
            f"<figcaption><strong>{html.escape(fig.title)}.</strong> {html.escape(fig.caption)}"
            f"{notes} [{' · '.join(links)}]</figcaption></figure>")


def render_page(title: str, meta: Sequence[str], counts: dict[str, int | str],
                sections: Sequence[Section], root: Path) -> str:
    """The whole page: header (meta lines, counts), a contents list, then each non-empty section."""
    used = [s for s in sections if s.body or s.figures]
    toc = " · ".join(f'<a href="#{html.escape(s.anchor)}">{html.escape(s.title)}</a>' for s in used)
    count_cells = "".join(f"<th>{html.escape(str(k))}</th>" for k in counts)
    count_values = "".join(f"<td>{html.escape(str(v))}</td>" for v in counts.values())
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{html.escape(title)}</h1>",
        *[f'<p class="meta">{line}</p>' for line in meta],
        f'<table class="counts"><tr>{count_cells}</tr><tr>{count_values}</tr></table>',
        f"<nav>{toc}</nav></header>",
    ]
    for section in used:
        parts.append(f'<section id="{html.escape(section.anchor)}"><h2>{html.escape(section.title)}</h2>')
        parts.extend(section.body)
        parts.extend(figure_html(f, root) for f in section.figures)
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
