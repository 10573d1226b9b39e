"""Reports must be well-formed, escape what they show, and never draw a missing value as zero."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keel.errors import InputError
from keel.report import (
    Point,
    Section,
    Series,
    bar_chart,
    heatmap,
    line_chart,
    page,
    paragraph,
    scatter_chart,
    table,
    write_page,
)
from keel.report.charts import nice_ticks, text_width

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_line_chart_is_valid_svg_with_one_line_and_legend_per_series() -> None:
    svg = line_chart(
        [Series("a", [0, 1, 2], [1.0, 2.0, 3.0]), Series("b", [0, 1, 2], [3.0, 2.0, 1.0])],
        title="t",
        xlabel="generation",
        ylabel="entropy",
    )
    root = parse(svg)
    assert len(root.findall(f"{SVG}polyline")) == 2
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"a", "b", "generation", "entropy", "t"} <= set(texts)


def test_missing_values_are_gaps_not_zeros() -> None:
    svg = line_chart([Series("m", [0, 1, 2, 3, 4], [1.0, 2.0, math.nan, 2.0, 1.0])], title="gap")
    lines = parse(svg).findall(f"{SVG}polyline")
    assert [len(p.attrib["points"].split()) for p in lines] == [2, 2]


def test_band_is_drawn_between_lo_and_hi() -> None:
    s = Series("m", [0, 1, 2], [1.0, 2.0, 3.0], lo=[0.5, 1.5, 2.5], hi=[1.5, 2.5, 3.5])
    assert len(parse(line_chart([s], title="band")).findall(f"{SVG}polygon")) == 1


def test_log_axis_skips_non_positive_values() -> None:
    svg = line_chart([Series("v", [0, 1, 2], [1.0, 0.0, 0.01])], title="log", log_y=True)
    lines = parse(svg).findall(f"{SVG}polyline")
    assert [len(p.attrib["points"].split()) for p in lines] == [1, 1]


def test_text_is_escaped_everywhere() -> None:
    evil = "<script>alert(1)</script>&"
    fragments = [
        line_chart([Series(evil, [0, 1], [0.0, 1.0])], title=evil, xlabel=evil),
        scatter_chart([Point(evil, 0.2, 0.4)], title=evil),
        bar_chart([evil], [1.0], title=evil),
        heatmap([[1.0]], rows=[evil], cols=[evil], title=evil),
    ]
    for svg in fragments:
        assert "<script>" not in svg
        parse(svg)
    html = page(evil, [Section(evil, [paragraph(evil), table([evil], [[evil]])])], intro=evil)
    assert "<script>" not in html


def test_scatter_draws_error_bars_and_diagonal() -> None:
    svg = scatter_chart(
        [Point("judge", 0.4, 0.9, x_lo=0.3, x_hi=0.5, y_lo=0.85, y_hi=0.95)],
        title="bias",
        x_range=(0, 1),
        y_range=(0, 1),
        diagonal=True,
    )
    root = parse(svg)
    assert len(root.findall(f"{SVG}circle")) == 1
    assert any(line.get("class") == "ref" for line in root.findall(f"{SVG}line"))


def test_bar_chart_has_a_bar_per_finite_value() -> None:
    svg = bar_chart(
        ["a", "b", "c"], [1.0, -2.0, math.nan], title="bars", lo=[0.5, -3, 0], hi=[2, -1, 0]
    )
    assert len(parse(svg).findall(f"{SVG}rect")) == 2


def test_heatmap_shows_every_value_and_checks_its_shape() -> None:
    svg = heatmap(
        [[3.0, 1.0], [0.0, 7.0]], rows=["pass", "fail"], cols=["pass", "fail"], title="cm"
    )
    texts = [t.text for t in parse(svg).iter(f"{SVG}text")]
    assert {"3", "1", "0", "7"} <= set(texts)
    with pytest.raises(ValueError, match="one cell per column"):
        heatmap([[1.0]], rows=["a"], cols=["a", "b"], title="bad")


def test_table_formats_floats_and_missing_values() -> None:
    html = table(["name", "value"], [["x", 0.123456789], ["y", None], ["z", math.inf]])
    assert "0.1235" in html
    assert html.count("&ndash;") == 2


class _Balance(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.void = {"meta", "br", "img", "input", "link", "hr"}

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag not in self.void:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: object) -> None:
        pass

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, (self.stack, tag)
        self.stack.pop()


def test_page_is_a_balanced_self_contained_document(tmp_path: Path) -> None:
    chart = line_chart([Series("a", [0, 1], [0.0, 1.0])], title="c")
    path = write_page(tmp_path / "r.html", "Report", [Section("One", [chart, paragraph("p")])])
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    checker = _Balance()
    checker.feed(html)
    assert checker.stack == []


def test_write_page_to_an_unwritable_path_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder: give a file name"):
        write_page(tmp_path, "Report", [])


@given(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.floats(1e-6, 1e6, allow_nan=False),
)
def test_nice_ticks_are_sorted_round_and_inside_the_range(lo: float, width: float) -> None:
    hi = lo + width
    ticks = nice_ticks(lo, hi)
    assert ticks == sorted(ticks)
    assert 1 <= len(ticks) <= 11
    step = width  # ticks sit inside [lo, hi] up to rounding
    assert all(lo - step * 1e-6 <= t <= hi + step * 1e-6 for t in ticks)


def test_numbers_align_right_text_left_and_intervals_sit_under_their_value() -> None:
    html = table(
        ["judge", "n", "accuracy", "note"],
        [["a", 10, "0.912 [0.90, 0.92]", "5 of them"], ["b", None, "-", "fine"]],
    )
    heads = re.findall(r"<th( class=\"num\")?>", html)
    assert heads == ["", ' class="num"', ' class="num"', ""]
    assert '<td class="num">0.912<span class="ci">[0.90, 0.92]</span></td>' in html
    assert "<td>5 of them</td>" in html


def texts_of(svg: str) -> list[str]:
    return [t.text or "" for t in parse(svg).iter(f"{SVG}text")]


def test_values_over_orders_of_magnitude_get_a_log_axis() -> None:
    support = Series("support", [0, 1, 2, 3], [1000.0, 120.0, 60.0, 36.0])
    assert {"10", "100", "1,000", "20", "50"} <= set(texts_of(line_chart([support], title="s")))
    linear = texts_of(line_chart([support], title="s", log_y=False))
    assert "10" not in linear and "1,000" in linear
    narrow = Series("ratio", [0, 1], [0.5, 1.0])
    assert "0.6" in texts_of(line_chart([narrow], title="r"))
    bounded = Series("share", [0, 1], [0.01, 0.9])
    assert "0.2" in texts_of(line_chart([bounded], title="b", y_range=(0.0, 1.0)))


def test_tick_labels_are_short_and_generations_whole() -> None:
    tiny = Series("w", [0, 1, 2], [1e-5, 1e-3, 1e-1])
    assert {"1e-5", "1e-4", "0.001", "0.01", "0.1"} <= set(texts_of(line_chart([tiny], title="t")))
    big = Series("n", [1, 2], [10_000.0, 12_000.0])
    labels = texts_of(line_chart([big], title="n"))
    assert "10,000" in labels and "1.5" not in labels and {"1", "2"} <= set(labels)


def label_boxes(svg: str) -> list[tuple[float, float, float, float]]:
    """Estimated boxes of the point labels of a scatter chart (left-anchored texts)."""
    root = parse(svg)
    boxes = []
    for t in root.iter(f"{SVG}text"):
        if "text-anchor" not in t.attrib and "class" not in t.attrib:
            x, y = float(t.attrib["x"]), float(t.attrib["y"]) - 11
            boxes.append((x, y, x + text_width(t.text or ""), y + 14))
    return boxes


@given(st.lists(st.tuples(st.floats(0.85, 1.0), st.floats(0.6, 0.9)), min_size=2, max_size=12))
def test_crowded_scatter_labels_stay_apart_and_inside(points: list[tuple[float, float]]) -> None:
    names = ["Mistral-7B", "Llama-7B", "Llama-13B", "Llama3-8B", "Gemma-2B", "Llama-70B", "EM",
             "Llama3-70B", "GPT-4", "JudgeLM", "Contains", "exact-match"]  # fmt: skip
    svg = scatter_chart(
        [Point(n, x, y) for n, (x, y) in zip(names, points, strict=False)],
        title="bias",
        x_range=(0, 1),
        y_range=(0, 1),
    )
    width = float(parse(svg).attrib["width"])
    boxes = label_boxes(svg)
    assert len(boxes) == len(points)
    assert all(b[0] >= 0 and b[2] <= width for b in boxes)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = a[2] <= b[0] + 0.5 or b[2] <= a[0] + 0.5 or a[3] <= b[1] + 0.5
            assert apart or b[3] <= a[1] + 0.5, (a, b)


def test_heatmap_slants_column_labels_only_when_they_do_not_fit() -> None:
    short = heatmap([[1.0, 2.0]], rows=["r"], cols=["judge: accept", "judge: reject"], title="c")
    assert "rotate" not in short
    names = [f"llama2-{k}b-chat" for k in range(10)]
    wide = heatmap([[1.0] * 10], rows=["r"], cols=names, title="w")
    assert wide.count("rotate(-45") == 10
