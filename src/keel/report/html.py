"""HTML documents and fragments: sections, tables, paragraphs, one stylesheet inline."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from keel._files import write_file

STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em;
       color: #222; overflow-wrap: break-word; }
p { max-width: 90ch; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
div.table { overflow-x: auto; margin: 1em 0; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #e4e4e4; text-align: left;
         vertical-align: top; }
th { background: #f4f4f4; vertical-align: bottom; }
th.num, td.num { text-align: right; } td.num { white-space: nowrap; }
td:first-child { min-width: 7em; }
td .ci { display: block; font-size: 0.8em; color: #666; }
caption { caption-side: top; text-align: left; color: #555; }
svg.chart { display: inline-block; vertical-align: top; margin: 1em 1em 1em 0; max-width: 100%;
            height: auto; }
svg.chart text { font: 12px system-ui, sans-serif; fill: #222; }
svg.chart text.title { font-size: 14px; font-weight: 600; }
svg.chart .axis { stroke: #444; } svg.chart .grid { stroke: #e8e8e8; }
svg.chart .ref { stroke: #999; stroke-dasharray: 4 3; } svg.chart .err { stroke: #222; }
svg.chart .leader { stroke: #777; stroke-width: 0.8; }
pre { background: #f6f6f6; padding: 0.6em 0.8em; font-size: 0.85em; white-space: pre-wrap;
      overflow-wrap: anywhere; }
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


_NUMBER = r"[-+−]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)(?:e[-+]?\d+)?%?"
NUMBER = re.compile(rf"(?P<value>{_NUMBER})(?: (?P<interval>\[{_NUMBER}, {_NUMBER}\]))?|[-–]?")
"""A number as a cell shows it: `0.912`, `-3.8`, `1.2e-05`, `44,369`, `72%`, an estimate with
its interval `0.912 [0.90, 0.92]`, or a dash (or nothing) for a missing one."""


def _numeric(value: object) -> bool:
    if isinstance(value, str):
        return NUMBER.fullmatch(value) is not None
    return value is None or isinstance(value, int | float)


def _cell(value: object) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return "&ndash;"
        return f"{value:.4g}"
    if value is None:
        return "&ndash;"
    text = str(value)
    found = NUMBER.fullmatch(text)
    if found is not None and found["interval"]:
        return f'{escape(found["value"])}<span class="ci">{escape(found["interval"])}</span>'
    return escape(text)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, caption: str = "") -> str:
    """An HTML table; floats print with four significant digits, None and NaN as a dash.

    Columns of numbers are right-aligned and the rest left-aligned; an estimate's interval goes
    on a line of its own under the value, so that columns of them stay narrow."""
    numeric = [all(_numeric(r[k]) for r in rows) for k in range(len(headers))]
    cls = [' class="num"' if n else "" for n in numeric]
    head = "".join(f"<th{c}>{escape(h)}</th>" for c, h in zip(cls, headers, strict=True))
    body = "".join(
        "<tr>" + "".join(f"<td{c}>{_cell(v)}</td>" for c, v in zip(cls, r, strict=True)) + "</tr>"
        for r in rows
    )
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return (
        f'<div class="table"><table>{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


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
    """Write `page(...)` to `path` (UTF-8, replaced atomically) and return the path."""
    write_file(path, page(title, sections, intro=intro).encode(), force=True)
    return path
