"""Every page keel writes, in a real headless browser 1280 px wide: nothing wider than the window,
no text cut or hidden behind a scroll bar, no two labels of a chart on top of each other or past
its edge, no snake_case names; and a screenshot of each page for a person to look at, in
$KEEL_ARTIFACTS (CI keeps them) or else pytest's tmp_path.

Needs Chromium and its driver (Debian: `apt-get install chromium chromium-driver`) and selenium
(the dev extra); without them the tests skip, unless KEEL_REQUIRE_BROWSER=1 (CI) makes that a
failure."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pairwise_example
from keel.collapse import Simulation, simulate
from keel.collapse.report import write_simulation_report, write_watch_report
from keel.collapse.watch import Generation, watch
from keel.judges import (
    JudgeTable,
    audit,
    audit_pairwise,
    read_pairwise,
    write_audit_report,
    write_pairwise_report,
)
from keel.loop import load_config, run_loop
from keel.loop.demo import make_receipt
from keel.loop.report import read_arm, write_report
from keel.text import load_fortunes
from small_loop import write_loop

WIDTH = 1280

CHECK = """
const limit = document.documentElement.clientWidth;
const problems = [];
const name = el => `<${el.tagName.toLowerCase()}> "${(el.textContent || '').trim().slice(0, 60)}"`;
for (const el of document.body.querySelectorAll('*')) {
  const svg = el.closest('svg');
  if (svg && svg !== el) continue;
  const right = el.getBoundingClientRect().right;
  if (right > limit + 0.5) {
    problems.push(`wider than the window (${Math.round(right)} > ${limit} px): ${name(el)}`);
  }
  if (!svg && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) {
    problems.push(`cut or scrolled (${el.scrollWidth} > ${el.clientWidth} px): ${name(el)}`);
  }
}
const corners = t => {
  const b = t.getBBox(), m = t.getScreenCTM();
  return [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height], [b.x, b.y + b.height]]
    .map(([x, y]) => { const p = new DOMPoint(x, y).matrixTransform(m); return [p.x, p.y]; });
};
// Separating-axis test of two convex quadrilaterals (labels may be rotated); touching is apart.
const apart = (a, b) => [a, b].some(poly => poly.some(([x1, y1], i) => {
  const [x2, y2] = poly[(i + 1) % 4], nx = y2 - y1, ny = x1 - x2;
  const pa = a.map(([x, y]) => x * nx + y * ny), pb = b.map(([x, y]) => x * nx + y * ny);
  const tol = 0.5 * Math.hypot(nx, ny);
  return Math.max(...pa) <= Math.min(...pb) + tol || Math.max(...pb) <= Math.min(...pa) + tol;
}));
document.querySelectorAll('svg.chart').forEach(svg => {
  const chart = svg.getAttribute('aria-label');
  const box = svg.getBoundingClientRect();
  const labels = [...svg.querySelectorAll('text')]
    .filter(t => t.textContent.trim() && t.getBBox().width > 0)
    .map(t => [t.textContent, corners(t)]);
  for (const [text, quad] of labels) {
    if (quad.some(([x, y]) => x < box.left - 0.5 || x > box.right + 0.5 ||
                              y < box.top - 0.5 || y > box.bottom + 0.5)) {
      problems.push(`chart "${chart}": label "${text}" cut at the chart's edge`);
    }
  }
  labels.forEach(([a, qa], i) => labels.slice(i + 1).forEach(([b, qb]) => {
    if (!apart(qa, qb)) problems.push(`chart "${chart}": labels "${a}" and "${b}" overlap`);
  }));
});
const snake = /\\b[a-z]+_[a-z0-9_]+\\b/;
document.querySelectorAll('h2, th, caption, svg text').forEach(el => {
  if (snake.test(el.textContent)) problems.push(`a snake_case name: ${name(el)}`);
});
return problems;
"""


def demo_page(out: Path) -> Path:
    """The demo report of two small loops: one self-consuming, one anchored."""
    plain = write_loop(
        out / "self-consuming",
        name="self-consuming",
        judges=[],
        review={"budget": 0},
        mix={"alpha": 0.0, "size": 200, "gate": "none", "lineage": False, "dedup": False,
             "tails": False},
    )  # fmt: skip
    arms = [
        run_loop(load_config(p)) for p in (plain, write_loop(out / "anchored", name="anchored"))
    ]
    receipt = make_receipt(arms[-1], out / "receipt")
    return write_report(
        out / "report.html", arms, [read_arm(a, resamples=50) for a in arms], receipt
    )


JUDGES = {
    "Mistral-7B": (0.96, 0.74), "Llama-7B": (0.93, 0.69), "Llama-13B": (0.71, 0.93),
    "Llama3-8B": (0.90, 0.73), "Gemma-2B": (0.92, 0.46), "Llama-70B": (0.99, 0.69),
    "EM": (0.58, 1.0), "Llama3-70B": (0.98, 0.80), "GPT-4": (0.95, 0.83),
    "JudgeLM": (0.74, 0.94), "Contains": (0.79, 0.99), "exact-match-normalised": (0.60, 0.98),
}  # fmt: skip
"""Judges crowded as in the TriviaQA study: (confirmation, detection)."""
MODELS = ("gpt-4t", "llama2-13b-base", "llama2-13b-chat", "llama2-70b-base", "llama2-70b-chat",
          "llama2-7b-base", "llama2-7b-chat", "mistral-7B", "mistral-7b-chat")  # fmt: skip


def audit_page(out: Path) -> Path:
    """The audit of twelve judges with crowded rates, long names, categories and scores."""
    rng = np.random.default_rng(0)
    n = 900
    human = (rng.random(n) < 0.7).astype(float)
    rates = np.array(list(JUDGES.values()))
    u = rng.random((len(JUDGES), n, 1))
    accept = np.where(human[None, :, None] == 1, u < rates[:, :1, None], u >= rates[:, 1:, None])
    model = rng.integers(0, len(MODELS), n)
    table = JudgeTable(
        source="twelve judges",
        items=tuple(str(i) for i in range(n)),
        judges=tuple(JUDGES),
        human=human,
        verdicts=accept.astype(float),
        scores=np.clip(accept + rng.normal(0, 0.3, accept.shape), 0, 1),
        categories=MODELS,
        category=model,
        subjects=MODELS,
        subject=model,
    )
    a = audit(table, penalty_category="gpt-4t", n_resamples=50)
    return write_audit_report(a, out / "audit.html")


def pairwise_page(out: Path) -> Path:
    rows = read_pairwise([pairwise_example.write(out / "p.csv")], pairwise_example.FIELDS)
    return write_pairwise_report(
        audit_pairwise(rows, n_resamples=20), out / "pairwise.html", source="p.csv"
    )


def watch_page(out: Path) -> Path:
    """The watch of four generations of an n-gram model retrained on its own samples."""
    cfg = Simulation(model="ngram", generations=3, repetitions=1, samples=400)
    texts = simulate(cfg, keep_texts=True).texts
    gens = [
        Generation(f"gen-{g}", t, ("human" if g == 0 else "synthetic",) * len(t))
        for g, t in enumerate(texts)
    ]
    return write_watch_report(watch(gens, load_fortunes()), out / "watch.html")


def simulate_page(**settings: Any) -> Callable[[Path], Path]:
    def build(out: Path) -> Path:
        result = simulate(Simulation(generations=30, repetitions=20, **settings))
        return write_simulation_report(result, out / "simulate.html")

    return build


PAGES: dict[str, Callable[[Path], Path]] = {
    "demo": demo_page,
    "audit": audit_page,
    "pairwise": pairwise_page,
    "watch": watch_page,
    "simulate-categorical": simulate_page(model="categorical"),
    "simulate-gaussian": simulate_page(model="gaussian", refit="unbiased"),
    "simulate-mixture": simulate_page(model="mixture", loop="fresh", alpha=0.1),
    "simulate-regression": simulate_page(model="regression", loop="accumulate"),
}
SLOW = {"demo", "watch"}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=[pytest.mark.slow] if n in SLOW else []) for n in PAGES]
)
def test_page_reads_well_at_1280_px(
    name: str, browser: Any, artifacts: Path, tmp_path: Path
) -> None:
    page = PAGES[name](tmp_path)
    browser.set_window_size(WIDTH, 900)
    browser.get(page.as_uri())
    problems = browser.execute_script(CHECK)
    height = browser.execute_script(
        "return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight"
    )
    browser.set_window_size(WIDTH, height)
    browser.save_screenshot(str(artifacts / f"{name}.png"))
    assert problems == [], "\n".join(problems)


BAD_PAGE = """<!DOCTYPE html><html><body style="margin: 0">
<table><tr><th>members_verified</th><td style="white-space: nowrap">{wide}</td></tr></table>
<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="300" height="200"
     aria-label="bad"><text x="10" y="50">first label</text><text x="20" y="52">second</text>
<text x="280" y="100">cut at the edge</text>
<text x="100" y="150" transform="rotate(-45 100 150)">slanted one</text>
<text x="108" y="150" transform="rotate(-45 108 150)">slanted two</text></svg>
</body></html>"""


def test_the_checks_catch_a_page_that_reads_badly(browser: Any, tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text(BAD_PAGE.format(wide="word " * 300), encoding="utf-8")
    browser.set_window_size(WIDTH, 900)
    browser.get(page.as_uri())
    problems = "\n".join(browser.execute_script(CHECK))
    assert "wider than the window" in problems
    assert 'labels "first label" and "second" overlap' in problems
    assert 'label "cut at the edge" cut' in problems
    assert 'labels "slanted one" and "slanted two" overlap' in problems
    assert "a snake_case name: <th>" in problems
