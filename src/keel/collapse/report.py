"""HTML reports of the watch and the simulator: every metric by generation, via keel.report."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from keel.collapse.metrics import CollapseMetrics
from keel.collapse.simulate import SimulationResult
from keel.collapse.watch import WatchReport
from keel.report import Section, Series, line_chart, paragraph, table, write_page

WATCH_SKIP = frozenset({"texts", "tail_types", "reference_tail_mass"})


def watch_sections(report: WatchReport) -> list[Section]:
    """A verdict table and one chart per metric (generation vs same-size human sample)."""
    t = report.thresholds
    x = [float(i) for i in range(len(report.generations))]
    names = ", ".join(f"{i}: {g.name}" for i, g in enumerate(report.generations))
    rows = [
        [
            g.name,
            "" if g.alpha is None else f"{g.alpha:.2f}",
            g.verdict,
            *(f"{v:.3f}" for v in g.ratios.values()),
            f"{g.tail_change:+.3f}",
            f"{g.tail_z:+.1f}",
            "; ".join(g.reasons),
        ]
        for g in report.generations
    ]
    heads = [
        "generation",
        "alpha",
        "verdict",
        *(f"{k} ratio" for k in report.generations[0].ratios),
    ]
    verdicts = Section(
        "Verdicts",
        [
            paragraph(
                f"Each generation is compared with a human sample of the same size, both against "
                f"an anchor of {report.anchor_texts} reference texts. Generations: {names}. "
                f"Early collapse: tail ratio < {t.tail_ratio} and falling by more than "
                f"{t.trend_z} standard errors since the previous generation, or tail ratio < "
                f"{t.tail_floor}; late collapse: entropy ratio < {t.entropy_ratio} or "
                f"distinct-2 ratio < {t.distinct_ratio}."
            ),
            table([*heads, "tail change", "change z", "reasons"], rows),
            line_chart(
                [
                    Series(f"{k} ratio", x, [float(g.ratios[k]) for g in report.generations])
                    for k in report.generations[0].ratios
                ],
                title="generation / same-size human sample",
                xlabel="generation",
                ylabel="ratio",
            ),
        ],
    )
    charts = []
    for f in fields(CollapseMetrics):
        if f.name in WATCH_SKIP:
            continue
        gen = [float(getattr(g.metrics, f.name)) for g in report.generations]
        base = [float(getattr(g.baseline, f.name)) for g in report.generations]
        charts.append(
            line_chart(
                [Series("generation", x, gen), Series("human, same size", x, base)],
                title=f.name,
                xlabel="generation",
                ylabel=f.name,
            )
        )
    return [verdicts, Section("Metrics by generation", charts)]


def simulation_sections(result: SimulationResult) -> list[Section]:
    """One chart per metric: mean over repetitions, a 10-90% band, and the closed form if any."""
    cfg = result.config
    x = [float(i) for i in range(result.generations)]
    charts = []
    for name in result.metrics:
        lo, hi = result.quantiles(name)
        series = [Series("simulated mean", x, result.mean(name).tolist(), lo.tolist(), hi.tolist())]
        if name in result.theory:
            series.append(Series("closed form", x, result.theory[name].tolist()))
        charts.append(line_chart(series, title=name, xlabel="generation", ylabel=name))
    intro = paragraph(
        f"model {cfg.model}, loop {cfg.loop}, M = {cfg.samples}, {cfg.repetitions} repetitions, "
        f"a = {cfg.alpha} (decay {cfg.alpha_decay}), T = {cfg.temperature}, keep = {cfg.keep}, "
        f"refit {cfg.refit}, seed {cfg.seed}. Bands: 10% and 90% quantiles over repetitions."
    )
    return [Section("Per-generation metrics", [intro, *charts])]


def write_watch_report(report: WatchReport, path: Path) -> Path:
    return write_page(path, "keel collapse watch", watch_sections(report))


def write_simulation_report(result: SimulationResult, path: Path) -> Path:
    return write_page(path, "keel recursive-training simulation", simulation_sections(result))
