"""HTML documents and fragments: sections, tables, paragraphs, one stylesheet inline."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from keel.errors import InputError

STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 1000px; margin: 2em auto; padding: 0 1em;
       color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 1em 0; font-variant-numeric: tabular-nums; }
th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #e4e4e4; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f4f4f4; } caption { caption-side: top; text-align: left; color: #555; }
svg.chart { display: block; margin: 1em 0; max-width: 100%; height: auto; }
svg.chart text { font: 12px system-ui, sans-serif; fill: #222; }
svg.chart text.title { font-size: 14px; font-weight: 600; }
svg.chart .axis { stroke: #444; } svg.chart .grid { stroke: #e8e8e8; }
svg.chart .ref { stroke: #999; stroke-dasharray: 4 3; } svg.chart .err { stroke: #222; }
pre { background: #f6f6f6; padding: 0.6em 0.8em; overflow-x: auto; font-size: 0.85em; }
footer { margin-top: 3em; color: #777; font-size: 0.85em; }
"""


@dataclass(frozen=True, slots=True)
class Section:
    """A titled part of a report holding fragments (charts, tables, paragraphs) in order."""

    title: str
    blocks: Sequence[str]


def paragraph(text: str) -> str:
    """A paragraph of plain text."""
    return f"<p>{escape(text)}</p>"


def preformatted(text: str) -> str:
    """Text shown exactly as given, in a monospace block (signed notes, receipts, commands)."""
    return f"<pre>{escape(text)}</pre>"


def _cell(value: object) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return "&ndash;"
        return f"{value:.4g}"
    if value is None:
        return "&ndash;"
    return escape(str(value))


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, caption: str = "") -> str:
    """An HTML table; floats print with four significant digits, None and NaN as a dash."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in r) + "</tr>" for r in rows)
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def page(title: str, sections: Sequence[Section], *, intro: str = "") -> str:
    """A whole HTML document that needs nothing else to display."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
    ]
    if intro:
        parts.append(paragraph(intro))
    for s in sections:
        parts.append(f"<section><h2>{escape(s.title)}</h2>")
        parts.extend(s.blocks)
        parts.append("</section>")
    parts.append("<footer>Written by keel.</footer></body></html>\n")
    return "\n".join(parts)


def write_page(path: Path, title: str, sections: Sequence[Section], *, intro: str = "") -> Path:
    """Write `page(...)` to `path` (UTF-8) and return the path."""
    try:
        path.write_text(page(title, sections, intro=intro), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write the report to {path}: {exc.strerror}") from exc
    return path
