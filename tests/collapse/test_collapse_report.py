"""The watch and simulation pages name what they show in words, and list only the settings that
apply to the model simulated."""

from __future__ import annotations

import re
from dataclasses import fields

import pytest

from keel.collapse import Simulation, simulate
from keel.collapse.metrics import CollapseMetrics
from keel.collapse.report import WATCH_SKIP, label, settings, simulation_sections
from keel.report import page

SNAKE = re.compile(r"\b[a-z]+_[a-z0-9_]+\b")


def test_every_metric_shown_has_a_readable_name() -> None:
    shown = [f.name for f in fields(CollapseMetrics) if f.name not in WATCH_SKIP]
    assert not [name for name in shown if SNAKE.search(label(name))]
    assert label("tail_retention") == "tail retention"


@pytest.mark.parametrize(
    ("config", "listed", "left_out"),
    [
        (Simulation(model="categorical"), ["1,000 categories", "Zipf exponent 1.1"],
         ["refit", "fresh human share", "components", "order"]),
        (Simulation(model="gaussian", refit="unbiased"), ["variance refit unbiased"],
         ["categories", "Zipf", "fresh human share"]),
        (Simulation(model="mixture", loop="fresh", alpha=0.2, alpha_decay=0.9),
         ["3 components", "fresh human share a = 0.2 (decay 0.9)", "judge filter keeps 100%"],
         ["refit", "categories"]),
        (Simulation(model="regression", dim=5, noise=0.5),
         ["d = 5 features, label noise s = 0.5"], ["judge filter", "refit", "categories"]),
        (Simulation(model="ngram", order=2), ["order 2, the fortunes"], ["refit", "categories"]),
    ],
)  # fmt: skip
def test_the_settings_listed_are_those_of_the_model(
    config: Simulation, listed: list[str], left_out: list[str]
) -> None:
    text = settings(config)
    assert all(s in text for s in listed), text
    assert not [s for s in left_out if s in text], text


def test_the_simulation_page_has_no_raw_metric_names() -> None:
    result = simulate(Simulation(model="categorical", generations=5, repetitions=3))
    html = page("simulation", simulation_sections(result))
    titles = re.findall(r'aria-label="([^"]*)"', html)
    assert "support (distinct types)" in titles and "Gini-Simpson diversity" in titles
    assert not [t for t in titles if SNAKE.search(t)]
    support = next(svg for svg in html.split("<svg") if 'aria-label="support' in svg)
    assert all(f">{tick}</text>" in support for tick in ("10", "100", "1,000"))  # a log axis
