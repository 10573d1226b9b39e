"""The audit as an HTML page: comparison table, confirmation-vs-detection chart, confusion
matrices, per-category spread, calibration curves, McNemar comparisons and the ranking
agreement between judges; and the page of a pairwise audit (via keel.report)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from keel.judges.audit import GROUP_FIGURES, Audit, JudgeProfile
from keel.judges.pairwise import FIGURES as PAIR_FIGURES
from keel.judges.pairwise import PairProfile
from keel.judges.stats import Estimate
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

COLUMNS = (
    ("accuracy", "accuracy"),
    ("confirmation", "confirmation"),
    ("detection", "detection"),
    ("bias_ratio", "detect/confirm"),
    ("leniency", "leniency"),
    ("kappa", "κ"),
    ("gwet_ac1", "AC1"),
)

CAPTION = "Each figure with its 95% interval."

GROUP_LABELS = {"accuracy": "accuracy", "kappa": "κ", "scott_pi": "π"}
GROUP_COLUMNS = tuple(
    (key, f"{GROUP_LABELS[name]} {how}")
    for name in GROUP_FIGURES
    for key, how in ((name, "pooled"), (f"group_mean_{name}", "mean"))
)
"""Each per-group figure pooled over all items beside its unweighted mean over the groups."""


def fmt(e: Estimate | None) -> str:
    """`0.912 [0.90, 0.92]`, or a dash for an undefined figure."""
    if e is None or math.isnan(e.value):
        return "-"
    if math.isnan(e.lo):
        return f"{e.value:.3f}"
    return f"{e.value:.3f} [{e.lo:.2f}, {e.hi:.2f}]"


def _comparison(a: Audit) -> str:
    headers = ["judge", "personality", "n", *(label for _, label in COLUMNS), "base rate"]
    rows = [
        [
            p.judge,
            p.personality,
            p.n,
            *(fmt(p.figures.get(k)) for k, _ in COLUMNS),
            fmt(p.figures["prevalence"]),
        ]
        for p in a.profiles
    ]
    return table(headers, rows, caption=CAPTION)


def _bias_chart(a: Audit) -> str:
    points = []
    for p in a.profiles:
        c, d = p.figures["confirmation"], p.figures["detection"]
        points.append(Point(p.judge, c.value, d.value, c.lo, c.hi, d.lo, d.hi))
    return scatter_chart(
        points,
        title="Confirmation vs error detection (above the diagonal: a critic)",
        xlabel="confirmation rate (accepts | human: correct)",
        ylabel="error-detection rate (rejects | human: flawed)",
        x_range=(0.0, 1.0),
        y_range=(0.0, 1.0),
        diagonal=True,
    )


def _confusion(p: JudgeProfile) -> str:
    tp, fp, fn, tn = p.confusion
    return heatmap(
        [[tp, fn], [fp, tn]],
        rows=["human: correct", "human: flawed"],
        cols=["judge: accept", "judge: reject"],
        title=f"{p.judge}: {p.personality}",
        fmt="{:.0f}",
    )


def _categories(a: Audit) -> list[str]:
    with_cats = [p for p in a.profiles if p.categories]
    if not with_cats:
        return []
    names = [c.name for c in with_cats[0].categories]
    blocks = [
        heatmap(
            [[c.accuracy.value for c in p.categories] for p in with_cats],
            rows=[p.judge for p in with_cats],
            cols=names,
            title="Accuracy per category",
            fmt="{:.2f}",
        ),
        bar_chart(
            [p.judge for p in with_cats],
            [p.figures["category_spread"].value for p in with_cats],
            title="Spread of accuracy across categories (SD, the study's ±x%)",
            ylabel="SD of per-category accuracy",
            lo=[p.figures["category_spread"].lo for p in with_cats],
            hi=[p.figures["category_spread"].hi for p in with_cats],
        ),
    ]
    if a.penalty_category is not None:
        rows = [
            [p.judge, fmt(p.figures.get("penalty_frr")), fmt(p.figures.get("frr"))]
            for p in a.profiles
        ]
        blocks.append(
            table(
                ["judge", f"false rejections on {a.penalty_category}", "overall"],
                rows,
                caption="False-rejection rate: rejects | human says correct.",
            )
        )
    return blocks


def _groups(a: Audit) -> list[str]:
    """κ, π and accuracy pooled beside their unweighted mean over the groups; κ per group."""
    shown = [p for p in a.profiles if p.groups]
    if not shown:
        return []
    by = a.group_by or "group"
    headers = ["judge", *(label for _, label in GROUP_COLUMNS)]
    rows = [[p.judge, *(fmt(p.figures.get(key)) for key, _ in GROUP_COLUMNS)] for p in shown]
    return [
        table(headers, rows, caption=f"Mean: the unweighted mean over the groups of {by}."),
        heatmap(
            [[g.kappa.value for g in p.groups] for p in shown],
            rows=[p.judge for p in shown],
            cols=[g.name for g in shown[0].groups],
            title=f"κ per {by}",
            fmt="{:.2f}",
        ),
    ]


def _calibration(a: Audit) -> list[str]:
    series = [
        Series(p.judge, [b.mean_score for b in p.calibration], [b.accepted for b in p.calibration])
        for p in a.profiles
        if p.calibration
    ]
    if not series:
        return []
    rows = [
        [p.judge, fmt(p.figures.get("brier")), fmt(p.figures.get("ece"))]
        for p in a.profiles
        if p.calibration
    ]
    return [
        line_chart(
            series,
            title="Calibration: share humans accept per score bin (dashed: perfect)",
            xlabel="mean judge score in bin",
            ylabel="share accepted by humans",
            y_range=(0.0, 1.0),
            diagonal=True,
        ),
        table(["judge", "Brier", "ECE"], rows),
    ]


def audit_report(a: Audit) -> str:
    """The whole audit as one self-contained HTML document."""
    return page(_title(a), _sections(a), intro=_intro(a))


def write_audit_report(a: Audit, path: Path) -> Path:
    """Write `audit_report(a)` to `path`."""
    return write_page(path, _title(a), _sections(a), intro=_intro(a))


def _title(a: Audit) -> str:
    return f"Judge audit: {a.source}"


def _intro(a: Audit) -> str:
    return (
        f"{len(a.profiles)} judges, {a.n_items} items, {a.n_runs} run(s) per item; intervals "
        f"are 95% (Wilson for proportions without repeats, else an item-clustered bootstrap "
        f"of {a.n_resamples} resamples, seed {a.seed})."
    )


def _sections(a: Audit) -> list[Section]:
    panel = a.panel
    sections = [
        Section("Personalities", [paragraph(p.summary) for p in a.profiles]),
        Section("Side by side", [_comparison(a)]),
        Section("Bias at a glance", [_bias_chart(a)]),
        Section(
            "Panel",
            [
                paragraph(
                    f"Krippendorff's alpha across all judges and the human labels: "
                    f"{fmt(panel['alpha'])}. Mean error correlation between judges: "
                    f"{fmt(panel['error_correlation'])}, so the panel counts as "
                    f"{fmt(panel['effective_judges'])} independent judges."
                )
            ],
        ),
        Section("Confusion matrices", [_confusion(p) for p in a.profiles]),
    ]
    cats = _categories(a)
    if cats:
        sections.append(Section("Per category", cats))
    groups = _groups(a)
    if groups:
        sections.append(Section("Per group", groups))
    cal = _calibration(a)
    if cal:
        sections.append(Section("Calibration", cal))
    if a.comparisons:
        sections.append(Section("Pairs of judges", _pairs(a)))
    return sections


def _pairs(a: Audit) -> list[str]:
    rows = [
        [c.a, c.b, c.n, c.only_a_right, c.only_b_right, c.p_value, c.p_holm,
         _number(c.kendall_tau), _number(c.kendall_p)]
        for c in a.comparisons
    ]  # fmt: skip
    headers = ["a", "b", "n", "only a right", "only b right", "p", "p (Holm)", "τ-b", "p (τ)"]
    blocks = [
        table(
            headers,
            rows,
            caption="McNemar's exact test of accuracy (Holm-adjusted across pairs); Kendall's "
            "τ-b between the two judges' rankings of the subjects by acceptance rate.",
        )
    ]
    names = [p.judge for p in a.profiles]
    tau = {(c.a, c.b): c.kendall_tau for c in a.comparisons}
    if any(not math.isnan(x) for x in tau.values()):
        grid = [
            [1.0 if x == y else tau.get((x, y), tau.get((y, x), math.nan)) for y in names]
            for x in names
        ]
        blocks.append(
            heatmap(grid, rows=names, cols=names, title="Ranking agreement (τ-b)", fmt="{:.2f}")
        )
    return blocks


def _number(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.3g}"


# -- pairwise --------------------------------------------------------------------------------
PAIR_LABELS = {
    "accuracy": "accuracy (both orders)",
    "consistency": "position consistency",
    "first_wins": "P(first slot wins)",
    "longer_wins": "P(longer wins)",
    "self_preference": "self-preference",
}


def pairwise_report(profiles: Sequence[PairProfile], *, source: str) -> str:
    """A pairwise audit as one self-contained HTML document."""
    return page(f"Pairwise judge audit: {source}", _pair_sections(profiles))


def write_pairwise_report(profiles: Sequence[PairProfile], path: Path, *, source: str) -> Path:
    """Write `pairwise_report(profiles, source=source)` to `path`."""
    return write_page(path, f"Pairwise judge audit: {source}", _pair_sections(profiles))


def _pair_sections(profiles: Sequence[PairProfile]) -> list[Section]:
    headers = ["judge", "personality", "n", "missing", *PAIR_LABELS.values()]
    rows = [
        [p.judge, p.personality, p.n, p.missing, *(fmt(p.figures.get(k)) for k in PAIR_FIGURES)]
        for p in profiles
    ]
    charts = []
    for key in PAIR_FIGURES:
        shown = [p for p in profiles if key in p.figures]
        if shown:
            charts.append(
                bar_chart(
                    [p.judge for p in shown],
                    [p.figures[key].value for p in shown],
                    title=PAIR_LABELS[key],
                    lo=[p.figures[key].lo for p in shown],
                    hi=[p.figures[key].hi for p in shown],
                )
            )
    return [
        Section("Personalities", [paragraph(p.summary) for p in profiles]),
        Section("Side by side", [table(headers, rows, caption=CAPTION)]),
        Section("Biases", charts),
    ]
