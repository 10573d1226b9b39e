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
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 36, 48
LEGEND = 150
"""The least room right of a line chart for its legend; long names get more (~7 px a letter)."""
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


def _finite(v: float | None) -> bool:
    return v is not None and math.isfinite(v)


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks: list[float] = []
    t = first
    while t <= hi + step * 1e-9:
        ticks.append(0.0 if abs(t) < step * 1e-9 else t)
        t += step
    return ticks


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e5 or a < 1e-3:
        return f"{v:.1e}"
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

    def _ty(self, y: float) -> float:
        return math.log10(y) if self.log_y else y

    def px(self, x: float) -> float:
        span = self.x1 - self.x0 or 1.0
        return LEFT + (x - self.x0) / span * (self.width - LEFT - RIGHT)

    def py(self, y: float) -> float:
        lo, hi = self._ty(self.y0), self._ty(self.y1)
        span = hi - lo or 1.0
        return TOP + (1 - (self._ty(y) - lo) / span) * (HEIGHT - TOP - BOTTOM)


def _svg(width: int, title: str, body: list[str], height: int = HEIGHT) -> str:
    return (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
        f'<text x="{width / 2:.1f}" y="20" text-anchor="middle" class="title">'
        f"{escape(title)}</text>" + "".join(body) + "</svg>"
    )


def _axes(
    frame: _Frame, xticks: Sequence[float], yticks: Sequence[float], xlabel: str, ylabel: str
) -> list[str]:
    right = frame.width - RIGHT
    bottom = HEIGHT - BOTTOM
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
            f'<text x="{(LEFT + right) / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
            f"{escape(xlabel)}</text>"
        )
    if ylabel:
        cy = (TOP + bottom) / 2
        out.append(
            f'<text x="14" y="{cy:.1f}" text-anchor="middle" transform="rotate(-90 14 {cy:.1f})">'
            f"{escape(ylabel)}</text>"
        )
    return out


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
    log_y: bool = False,
    y_range: tuple[float, float] | None = None,
) -> str:
    """Lines of y against x, one colour per series, with optional shaded bands and a legend."""
    ok = _log_ok if log_y else _finite
    xs = [x for s in series for x in s.x]
    ys: list[float | None] = [y for s in series for y in s.y]
    for s in series:
        ys.extend(s.lo or ())
        ys.extend(s.hi or ())
    finite_x = [x for x in xs if _finite(x)]
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
        yticks = [10.0**k for k in range(round(math.log10(y0)), round(math.log10(y1)) + 1)]
    else:
        y0, y1 = _extent(ys, y_range)
        yticks = nice_ticks(y0, y1)
    width = WIDTH + max(LEGEND, 28 + 7 * max((len(s.name) for s in series), default=0))
    frame = _Frame(x0, x1, y0, y1, WIDTH, log_y)
    body = _axes(frame, nice_ticks(x0, x1), yticks, xlabel, ylabel)
    for i, s in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        if s.lo is not None and s.hi is not None:
            band = [
                (frame.px(x), frame.py(lo), frame.py(hi))
                for x, lo, hi in zip(s.x, s.lo, s.hi, strict=True)
                if _finite(x) and ok(lo) and ok(hi)
            ]
            if len(band) > 1:
                upper = " ".join(f"{x:.1f},{h:.1f}" for x, _, h in band)
                lower = " ".join(f"{x:.1f},{lo:.1f}" for x, lo, _ in reversed(band))
                body.append(
                    f'<polygon points="{upper} {lower}" fill="{color}" fill-opacity="0.18" '
                    'stroke="none"/>'
                )
        pts = [
            (frame.px(x), frame.py(y)) if _finite(x) and ok(y) else None
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
    return _svg(width, title, body)


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
    frame = _Frame(x0, x1, y0, y1, WIDTH)
    body = _axes(frame, nice_ticks(x0, x1), nice_ticks(y0, y1), xlabel, ylabel)
    if diagonal:
        lo, hi = max(x0, y0), min(x1, y1)
        if lo < hi:
            body.append(
                f'<line x1="{frame.px(lo):.1f}" y1="{frame.py(lo):.1f}" x2="{frame.px(hi):.1f}" '
                f'y2="{frame.py(hi):.1f}" class="ref"/>'
            )
    for i, p in enumerate(points):
        if not (_finite(p.x) and _finite(p.y)):
            continue
        color = PALETTE[i % len(PALETTE)]
        cx, cy = frame.px(p.x), frame.py(p.y)
        if p.x_lo is not None and p.x_hi is not None and _finite(p.x_lo) and _finite(p.x_hi):
            body.append(
                f'<line x1="{frame.px(p.x_lo):.1f}" y1="{cy:.1f}" x2="{frame.px(p.x_hi):.1f}" '
                f'y2="{cy:.1f}" stroke="{color}"/>'
            )
        if p.y_lo is not None and p.y_hi is not None and _finite(p.y_lo) and _finite(p.y_hi):
            body.append(
                f'<line x1="{cx:.1f}" y1="{frame.py(p.y_lo):.1f}" x2="{cx:.1f}" '
                f'y2="{frame.py(p.y_hi):.1f}" stroke="{color}"/>'
            )
        body.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="{color}"/>')
        body.append(f'<text x="{cx + 6:.1f}" y="{cy - 6:.1f}">{escape(p.label)}</text>')
    return _svg(WIDTH, title, body)


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
    body = _axes(frame, [], nice_ticks(y0, y1), "", ylabel)
    slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    rotate = len(labels) > 8 or any(len(label) > 10 for label in labels)
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
        y = HEIGHT - BOTTOM + 14
        if rotate:
            body.append(
                f'<text x="{cx:.1f}" y="{y}" text-anchor="end" '
                f'transform="rotate(-35 {cx:.1f} {y})">{escape(label)}</text>'
            )
        else:
            body.append(f'<text x="{cx:.1f}" y="{y}" text-anchor="middle">{escape(label)}</text>')
    return _svg(WIDTH, title, body)


def heatmap(
    values: Sequence[Sequence[float]],
    *,
    rows: Sequence[str],
    cols: Sequence[str],
    title: str,
    fmt: str = "{:g}",
) -> str:
    """A grid of cells shaded by value (darker is larger), each showing its value."""
    if len(values) != len(rows) or any(len(r) != len(cols) for r in values):
        raise ValueError("heatmap: values must have one row per row label and one cell per column")
    finite = [v for r in values for v in r if _finite(v)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    span = hi - lo or 1.0
    label_w, cell_h = 120, 28
    cell_w = max(48, min(96, (WIDTH - label_w) // max(len(cols), 1)))
    width = label_w + cell_w * len(cols) + 8
    height = TOP + 24 + cell_h * len(rows) + 8
    body: list[str] = []
    for j, c in enumerate(cols):
        x = label_w + cell_w * (j + 0.5)
        body.append(f'<text x="{x:.1f}" y="{TOP + 14}" text-anchor="middle">{escape(c)}</text>')
    for i, (name, row) in enumerate(zip(rows, values, strict=True)):
        y = TOP + 24 + cell_h * i
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
                f'<rect x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" fill="{fill}"/>'
            )
            body.append(
                f'<text x="{x + cell_w / 2 - 1:.1f}" y="{y + cell_h / 2 + 4:.1f}" '
                f'text-anchor="middle" fill="{ink}">{text}</text>'
            )
    return _svg(width, title, body, height)
