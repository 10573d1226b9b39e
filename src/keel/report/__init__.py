"""Self-contained HTML reports with inline SVG charts: no scripts, fonts or files fetched.

Every function returns an HTML fragment as a string; `page` wraps fragments into a document.
All text passed in is escaped here, so callers hand over plain strings.
"""

from keel.report.charts import Point, Series, bar_chart, heatmap, line_chart, scatter_chart
from keel.report.html import Section, page, paragraph, preformatted, table, write_page

__all__ = [
    "Point",
    "Section",
    "Series",
    "bar_chart",
    "heatmap",
    "line_chart",
    "page",
    "paragraph",
    "preformatted",
    "scatter_chart",
    "table",
    "write_page",
]
