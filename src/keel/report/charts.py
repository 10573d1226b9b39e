"""Line, scatter, bar and heat-map charts drawn as inline SVG.

Non-finite values (NaN, inf) are gaps, never drawn at zero: a metric that is undefined for a
generation must not look like a collapse to 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 640, 360
SCATTER_HEIGHT, SCATTER_ROOM = 520, 120
"""Scatter charts are taller, with room right of the plot: their points are labelled, and
often crowd."""
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 36, 48
LEGEND = 150
"""The least room right of a line chart for its legend; long names get more."""
FONT = 12
"""Pixel size of the charts' text (the stylesheet's `svg.chart text`); titles are 14."""
LINE = 14
"""Height of a line of chart text: a browser's box around 12 px text."""
SLANT = math.sqrt(0.5)
"""sin 45° = cos 45°: column and bar labels too wide to sit level are drawn at 45°."""
PALETTE = (
    "#0072b2",
    "#d55e00",
    "#009e73",
    "#cc79a7",
    "#e69f00",
    "#56b4e9",
    "#000000",
    "#f0e442",
    "#8c564b",
    "#7f7f7f",
)


@dataclass(frozen=True, slots=True)
class Series:
    """One named line; `lo`/`hi`, when given, shade a band around it (a spread or an interval)."""

    name: str
    x: Sequence[float]
    y: Sequence[float]
    lo: Sequence[float] | None = None
    hi: Sequence[float] | None = None


@dataclass(frozen=True, slots=True)
class Point:
    """One labelled point of a scatter chart, with optional error bars."""

    label: str
    x: float
    y: float
    x_lo: float | None = None
    x_hi: float | None = None
    y_lo: float | None = None
    y_hi: float | None = None


Box = tuple[float, float, float, float]
"""A rectangle in pixels: left, top, right, bottom."""
RINGS = (6, 12, 20, 30, 42, 56, 72, 90, 110, 135, 160, 200)
"""Distances in pixels, nearest first, at which a point's label is tried."""
DIRECTIONS = ((1, -1), (1, 1), (-1, -1), (-1, 1), (1, 0), (-1, 0), (0, -1), (0, 1))
"""Sides of a point a label is tried on, in order: the diagonals, then level, above, below."""


def _finite(v: float | None) -> bool:
    return v is not None and math.isfinite(v)


NARROW = frozenset(" !'()-./:;I[]fijlrt|")


def text_width(text: str, size: float = FONT) -> float:
    """An upper estimate of the width in pixels of `text` set at `size` px in a sans-serif font;
    charts size their margins and place their labels by it. The em widths are DejaVu Sans's
    (one of the widest): ≤ 0.42 for `NARROW`, ≤ 0.64 for other lower case and digits, ≤ 0.86
    for capitals, m and w."""
    return size * sum(
        0.42 if c in NARROW else 0.86 if c.isupper() or c in "mw" else 0.64 for c in text
    )


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9)
    ticks: list[float] = []
    k = first
    while k * step <= hi + step * 1e-9:
        ticks.append(k * step)
        k += 1
    return ticks


def log_ticks(lo: float, hi: float) -> list[float]:
    """Powers of ten covering [lo, hi] (lo > 0), with 2 and 5 times them over three decades
    or fewer, so that a short log axis still has a few labels."""
    first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    steps = (1.0, 2.0, 5.0) if last - first <= 3 else (1.0,)
    ticks = [m * 10.0**k for k in range(first, last + 1) for m in steps]
    return [t for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]


def spans_decades(values: Sequence[float | None]) -> bool:
    """Whether the finite values are all positive and the largest is over ten times the
    smallest: a linear axis would flatten all but the largest, so the axis is logarithmic."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return bool(finite) and min(finite) > 0 and max(finite) > 10 * min(finite)


def _fmt(v: float) -> str:
    """A tick label: `0.25`, `2,000`, `1e-5`, `2.5e6`."""
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e5 or a < 1e-3:
        mantissa, exponent = f"{v:.1e}".split("e")
        return f"{mantissa.removesuffix('.0')}e{int(exponent)}"
    if a >= 1000:
        return f"{v:,.6g}"
    return f"{v:.4g}"


def _extent(
    values: Sequence[float | None], fixed: tuple[float, float] | None
) -> tuple[float, float]:
    if fixed is not None:
        return fixed
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return (0.0, 1.0)
    lo, hi = min(finite), max(finite)
    if lo == hi:
        pad = abs(lo) * 0.1 or 1.0
        return (lo - pad, hi + pad)
    pad = (hi - lo) * 0.05
    return (lo - pad, hi + pad)


@dataclass(frozen=True, slots=True)
class _Frame:
    """Maps data coordinates to pixels inside the plot area."""

    x0: float
    x1: float
    y0: float
    y1: float
    width: int
    log_y: bool = False
    height: int = HEIGHT
    log_x: bool = False

    def _ty(self, y: float) -> float:
        return math.log10(y) if self.log_y else y

    def _tx(self, x: float) -> float:
        return math.log10(x) if self.log_x else x

    def px(self, x: float) -> float:
        lo, hi = self._tx(self.x0), self._tx(self.x1)
        span = hi - lo or 1.0
        return LEFT + (self._tx(x) - lo) / span * (self.width - LEFT - RIGHT)

    def py(self, y: float) -> float:
        lo, hi = self._ty(self.y0), self._ty(self.y1)
        span = hi - lo or 1.0
        return TOP + (1 - (self._ty(y) - lo) / span) * (self.height - TOP - BOTTOM)


def _svg(
    width: float, title: str, body: list[str], height: float = HEIGHT, *, left: float = 0.0
) -> str:
    """The chart's document; `left` is room added left of x = 0 for labels that reach there."""
    width = max(width, text_width(title, 14) + 16)
    full = math.ceil(width + left)
    x0 = f"{-left:.1f}" if left > 0 else "0"  # never "-0.0"
    return (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="{x0} 0 {full} {math.ceil(height)}" width="{full}" '
        f'height="{math.ceil(height)}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
        f'<text x="{width / 2:.1f}" y="20" text-anchor="middle" class="title">'
        f"{escape(title)}</text>" + "".join(body) + "</svg>"
    )


def _axes(
    frame: _Frame, xticks: Sequence[float], yticks: Sequence[float], xlabel: str, ylabel: str
) -> tuple[list[str], float]:
    """Axes, ticks, grid and axis labels, and the room they need left of x = 0 (the y label
    stands clear of the widest tick label)."""
    right = frame.width - RIGHT
    bottom = frame.height - BOTTOM
    out = [
        f'<line x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}" class="axis"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" class="axis"/>',
    ]
    for t in xticks:
        x = frame.px(t)
        out.append(
            f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 4}" class="axis"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">{escape(_fmt(t))}</text>'
        )
    for t in yticks:
        y = frame.py(t)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" class="grid"/>')
        out.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(_fmt(t))}</text>'
        )
    if xlabel:
        out.append(
            f'<text x="{(LEFT + right) / 2:.1f}" y="{frame.height - 8}" text-anchor="middle">'
            f"{escape(xlabel)}</text>"
        )
    left = 0.0
    if ylabel:
        cy = (TOP + bottom) / 2
        x = min(14.0, LEFT - 13 - max((text_width(_fmt(t)) for t in yticks), default=0.0))
        left = max(0.0, 12 - x)
        out.append(
            f'<text x="{x:.1f}" y="{cy:.1f}" text-anchor="middle" '
            f'transform="rotate(-90 {x:.1f} {cy:.1f})">{escape(ylabel)}</text>'
        )
    return out, left


def _diagonal(frame: _Frame) -> list[str]:
    """The dashed line y = x across the plot, where the axes share values."""
    lo, hi = max(frame.x0, frame.y0), min(frame.x1, frame.y1)
    if lo >= hi:
        return []
    return [
        f'<line x1="{frame.px(lo):.1f}" y1="{frame.py(lo):.1f}" x2="{frame.px(hi):.1f}" '
        f'y2="{frame.py(hi):.1f}" class="ref"/>'
    ]


def _legend(names: Sequence[str], x: float) -> list[str]:
    out: list[str] = []
    for i, name in enumerate(names):
        y = TOP + 8 + 18 * i
        color = PALETTE[i % len(PALETTE)]
        out.append(f'<rect x="{x:.1f}" y="{y - 8}" width="12" height="12" fill="{color}"/>')
        out.append(f'<text x="{x + 18:.1f}" y="{y + 2}">{escape(name)}</text>')
    return out


def _segments(points: list[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """Split a polyline at gaps (None)."""
    runs: list[list[tuple[float, float]]] = [[]]
    for p in points:
        if p is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(p)
    return [r for r in runs if r]


def _log_ok(v: float | None) -> bool:
    return _finite(v) and v is not None and v > 0


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    xlabel: str = "",
    ylabel: str = "",
    log_y: bool | None = None,
    y_range: tuple[float, float] | None = None,
    diagonal: bool = False,
    log_x: bool = False,
) -> str:
    """Lines of y against x, one colour per series, with optional shaded bands and a legend;
    `diagonal` draws y = x for reference on a linear axis. Whole x values (generations) get
    whole ticks only. `log_x`: a logarithmic x axis over the positive x values (ticks at 1, 2
    and 5 times powers of ten, `log_ticks`).

    The y axis is logarithmic when `log_y` says so or, left as None and without a `y_range`,
    when the lines' values span more than a factor of ten (`spans_decades`; bands, often
    reaching zero, do not count)."""
    xs = [x for s in series for x in s.x]
    ys: list[float | None] = [y for s in series for y in s.y]
    for s in series:
        ys.extend(s.lo or ())
        ys.extend(s.hi or ())
    if log_y is None:
        log_y = y_range is None and spans_decades([y for s in series for y in s.y])
    ok = _log_ok if log_y else _finite
    x_ok = _log_ok if log_x else _finite
    finite_x = [x for x in xs if x_ok(x)]
    integral = not log_x and all(x == int(x) for x in finite_x)
    x0, x1 = (
        (min(finite_x), max(finite_x))
        if finite_x and min(finite_x) < max(finite_x)
        else _extent(finite_x, None)
    )
    if log_y:
        positive = [y for y in ys if y is not None and ok(y)]
        lo_y = min(positive) if positive else 1.0
        hi_y = max(positive) if positive else 10.0
        y0, y1 = y_range or (10 ** math.floor(math.log10(lo_y)), 10 ** math.ceil(math.log10(hi_y)))
        if y1 <= y0:
            y1 = y0 * 10
        yticks = log_ticks(y0, y1)
    else:
        y0, y1 = _extent(ys, y_range)
        yticks = nice_ticks(y0, y1)
    width = WIDTH + max(LEGEND, 28 + max((text_width(s.name) for s in series), default=0))
    if log_x and x0 <= 0:
        x0, x1 = (1.0, 10.0) if x1 <= 0 else (x1 / 10, x1)
    frame = _Frame(x0, x1, y0, y1, WIDTH, log_y, log_x=log_x)
    if log_x:
        xticks = log_ticks(x0, x1)
    else:
        xticks = [t for t in nice_ticks(x0, x1) if not integral or math.isclose(t, round(t))]
    body, left = _axes(frame, xticks, yticks, xlabel, ylabel)
    if diagonal and not (log_y or log_x):
        body.extend(_diagonal(frame))
    for i, s in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        if s.lo is not None and s.hi is not None:
            band = [
                (frame.px(x), frame.py(lo), frame.py(hi))
                for x, lo, hi in zip(s.x, s.lo, s.hi, strict=True)
                if x_ok(x) and ok(lo) and ok(hi)
            ]
            if len(band) > 1:
                upper = " ".join(f"{x:.1f},{h:.1f}" for x, _, h in band)
                lower = " ".join(f"{x:.1f},{lo:.1f}" for x, lo, _ in reversed(band))
                body.append(
                    f'<polygon points="{upper} {lower}" fill="{color}" fill-opacity="0.18" '
                    'stroke="none"/>'
                )
        pts = [
            (frame.px(x), frame.py(y)) if x_ok(x) and ok(y) else None
            for x, y in zip(s.x, s.y, strict=True)
        ]
        for run in _segments(pts):
            coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
            body.append(
                f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2"/>'
            )
        if len(pts) <= 60:
            for p in pts:
                if p is not None:
                    body.append(f'<circle cx="{p[0]:.1f}" cy="{p[1]:.1f}" r="2.5" fill="{color}"/>')
    body.extend(_legend([s.name for s in series], WIDTH + 4))
    return _svg(width, title, body, max(HEIGHT, TOP + 18 * len(series) + 4), left=left)


def scatter_chart(
    points: Sequence[Point],
    *,
    title: str,
    xlabel: str = "",
    ylabel: str = "",
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    diagonal: bool = False,
) -> str:
    """Labelled points with optional error bars; `diagonal` draws y = x for reference."""
    xs = [v for p in points for v in (p.x, p.x_lo, p.x_hi)]
    ys = [v for p in points for v in (p.y, p.y_lo, p.y_hi)]
    x0, x1 = _extent(xs, x_range)
    y0, y1 = _extent(ys, y_range)
    frame = _Frame(x0, x1, y0, y1, WIDTH, height=SCATTER_HEIGHT)
    body, left = _axes(frame, nice_ticks(x0, x1), nice_ticks(y0, y1), xlabel, ylabel)
    if diagonal:
        body.extend(_diagonal(frame))
    taken: list[Box] = []
    labelled: list[tuple[float, float, str]] = []
    for i, p in enumerate(points):
        if not (_finite(p.x) and _finite(p.y)):
            continue
        color = PALETTE[i % len(PALETTE)]
        cx, cy = frame.px(p.x), frame.py(p.y)
        if p.x_lo is not None and p.x_hi is not None and _finite(p.x_lo) and _finite(p.x_hi):
            x_lo, x_hi = frame.px(p.x_lo), frame.px(p.x_hi)
            body.append(
                f'<line x1="{x_lo:.1f}" y1="{cy:.1f}" x2="{x_hi:.1f}" y2="{cy:.1f}" '
                f'stroke="{color}"/>'
            )
            taken.append((x_lo, cy - 1, x_hi, cy + 1))
        if p.y_lo is not None and p.y_hi is not None and _finite(p.y_lo) and _finite(p.y_hi):
            y_lo, y_hi = frame.py(p.y_lo), frame.py(p.y_hi)
            body.append(
                f'<line x1="{cx:.1f}" y1="{y_lo:.1f}" x2="{cx:.1f}" y2="{y_hi:.1f}" '
                f'stroke="{color}"/>'
            )
            taken.append((cx - 1, y_hi, cx + 1, y_lo))
        body.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="{color}"/>')
        taken.append((cx - 5, cy - 5, cx + 5, cy + 5))
        labelled.append((cx, cy, p.label))
    area = (LEFT + 2, TOP, WIDTH + SCATTER_ROOM, SCATTER_HEIGHT - BOTTOM)
    body.extend(_labels(labelled, area, taken))
    return _svg(WIDTH + SCATTER_ROOM + 4, title, body, SCATTER_HEIGHT, left=left)


def _beside(cx: float, cy: float, width: float, d: float, dx: int, dy: int) -> Box:
    """The box of a label `width` wide, `d` pixels from (cx, cy) on side (dx, dy)."""
    x0 = cx + d if dx > 0 else cx - d - width if dx < 0 else cx - width / 2
    y0 = cy + d if dy > 0 else cy - d - LINE if dy < 0 else cy - LINE / 2
    return (x0, y0, x0 + width, y0 + LINE)


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _labels(points: Sequence[tuple[float, float, str]], area: Box, taken: list[Box]) -> list[str]:
    """Each point's label at the nearest place inside `area` that is clear of the boxes in
    `taken` (markers, error bars) and of the labels placed before it; a thin grey line joins a
    label set further off than the first ring to its point."""
    out: list[str] = []
    for cx, cy, label in points:
        width = text_width(label) + 2
        inside = [
            b
            for d in RINGS
            for dx, dy in DIRECTIONS
            if area[0] <= (b := _beside(cx, cy, width, d, dx, dy))[0]
            and b[2] <= area[2]
            and area[1] <= b[1]
            and b[3] <= area[3]
        ]
        box = next((b for b in inside if not any(_overlap(b, t) for t in taken)), None)
        if box is None:  # crowded everywhere: the nearest place inside, or the default one
            box = inside[0] if inside else _beside(cx, cy, width, RINGS[0], 1, -1)
        taken.append(box)
        near = (min(max(cx, box[0]), box[2]), min(max(cy, box[1]), box[3]))
        if math.dist((cx, cy), near) > 2 * RINGS[0] + 2:
            out.append(
                f'<line x1="{cx:.1f}" y1="{cy:.1f}" x2="{near[0]:.1f}" y2="{near[1]:.1f}" '
                'class="leader"/>'
            )
        out.append(f'<text x="{box[0] + 1:.1f}" y="{box[1] + 11:.1f}">{escape(label)}</text>')
    return out


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    ylabel: str = "",
    lo: Sequence[float] | None = None,
    hi: Sequence[float] | None = None,
) -> str:
    """One bar per label from zero, with optional error bars from `lo` to `hi`."""
    extra = [v for v in (*(lo or ()), *(hi or ())) if _finite(v)]
    finite = [v for v in values if _finite(v)] + extra
    y0 = min([0.0, *finite])
    y1 = max([0.0, *finite]) or 1.0
    y1 += (y1 - y0) * 0.05
    frame = _Frame(0, len(labels), y0, y1, WIDTH)
    body, left = _axes(frame, [], nice_ticks(y0, y1), "", ylabel)
    slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    widths = [text_width(label) for label in labels]
    rotate = any(w > slot - 4 for w in widths)
    height = float(HEIGHT)
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        color = PALETTE[i % len(PALETTE)]
        cx = LEFT + slot * (i + 0.5)
        if _finite(v):
            top, base = frame.py(max(v, 0.0)), frame.py(min(v, 0.0))
            body.append(
                f'<rect x="{cx - slot * 0.35:.1f}" y="{top:.1f}" width="{slot * 0.7:.1f}" '
                f'height="{max(base - top, 0.5):.1f}" fill="{color}"/>'
            )
        if lo is not None and hi is not None and _finite(lo[i]) and _finite(hi[i]):
            body.append(
                f'<line x1="{cx:.1f}" y1="{frame.py(lo[i]):.1f}" x2="{cx:.1f}" '
                f'y2="{frame.py(hi[i]):.1f}" class="err"/>'
            )
        if rotate:
            y = HEIGHT - BOTTOM + 10
            height = max(height, y + (widths[i] + 3) * SLANT + 4)
            left = max(left, (widths[i] + FONT) * SLANT - cx + 2)
            body.append(
                f'<text x="{cx:.1f}" y="{y}" text-anchor="end" '
                f'transform="rotate(-45 {cx:.1f} {y})">{escape(label)}</text>'
            )
        else:
            y = HEIGHT - BOTTOM + 14
            body.append(f'<text x="{cx:.1f}" y="{y}" text-anchor="middle">{escape(label)}</text>')
    return _svg(WIDTH, title, body, height, left=left)


def heatmap(
    values: Sequence[Sequence[float]],
    *,
    rows: Sequence[str],
    cols: Sequence[str],
    title: str,
    fmt: str = "{:g}",
) -> str:
    """A grid of cells shaded by value (darker is larger), each showing its value; column
    labels wider than their cells are drawn at 45°."""
    if len(values) != len(rows) or any(len(r) != len(cols) for r in values):
        raise ValueError("heatmap: values must have one row per row label and one cell per column")
    finite = [v for r in values for v in r if _finite(v)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    span = hi - lo or 1.0
    label_w = 12 + max((text_width(r) for r in rows), default=0)
    cell_h = 28
    widths = [text_width(c) for c in cols]
    room = max(48, (WIDTH - label_w) // max(len(cols), 1))
    cell_w = min(room, max(96, max(widths, default=0) + 12))
    rotate = any(w > cell_w - 6 for w in widths)
    head = (max(widths, default=0) + 11) * SLANT if rotate else 24
    width = label_w + cell_w * len(cols) + 8
    body: list[str] = []
    for j, (c, w) in enumerate(zip(cols, widths, strict=True)):
        x = label_w + cell_w * (j + 0.5)
        if rotate:
            y = TOP + head - 6
            width = max(width, x + (w + 3) * SLANT + 8)
            body.append(
                f'<text x="{x:.1f}" y="{y:.1f}" transform="rotate(-45 {x:.1f} {y:.1f})">'
                f"{escape(c)}</text>"
            )
        else:
            body.append(f'<text x="{x:.1f}" y="{TOP + 14}" text-anchor="middle">{escape(c)}</text>')
    height = TOP + head + cell_h * len(rows) + 8
    for i, (name, row) in enumerate(zip(rows, values, strict=True)):
        y = TOP + head + cell_h * i
        body.append(
            f'<text x="{label_w - 6}" y="{y + cell_h / 2 + 4:.1f}" text-anchor="end">'
            f"{escape(name)}</text>"
        )
        for j, v in enumerate(row):
            x = label_w + cell_w * j
            if _finite(v):
                shade = (v - lo) / span
                fill = f"rgba(0,114,178,{0.08 + 0.82 * shade:.3f})"
                text = escape(fmt.format(v))
                ink = "#fff" if shade > 0.55 else "#000"
            else:
                fill, text, ink = "#eee", "&ndash;", "#000"
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell_w - 2}" height="{cell_h - 2}" '
                f'fill="{fill}"/>'
            )
            body.append(
                f'<text x="{x + cell_w / 2 - 1:.1f}" y="{y + cell_h / 2 + 4:.1f}" '
                f'text-anchor="middle" fill="{ink}">{text}</text>'
            )
    return _svg(width, title, body, height)
