"""HTML reports of the watch and the simulator: every metric by generation, via keel.report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path

from keel.collapse.metrics import CollapseMetrics
from keel.collapse.simulate import Model, PaceResult, Simulation, SimulationResult
from keel.collapse.watch import WatchReport
from keel.report import Section, Series, line_chart, paragraph, table, write_page

WATCH_SKIP = frozenset({"texts", "tail_types", "reference_tail_mass"})
LABELS = {
    "distinct_1": "distinct-1 (distinct words / words)",
    "distinct_2": "distinct-2 (distinct bigrams / bigrams)",
    "distinct_3": "distinct-3 (distinct trigrams / trigrams)",
    "entropy_1": "unigram entropy, bits",
    "entropy_2": "bigram entropy, bits",
    "gini_simpson": "Gini-Simpson diversity",
    "support": "support (distinct types)",
    "singleton_share": "share of types seen once",
    "tail_retention": "tail retention",
    "tail_mass": "tail mass",
    "singleton_retention": "singleton retention",
    "kl_to_reference": "KL divergence to the reference, bits",
    "js_to_reference": "JS divergence to the reference, bits",
    "self_bleu": "self-BLEU",
    "vendi": "Vendi score",
    "precision": "k-NN precision",
    "recall": "k-NN recall",
    "length_mean": "mean length, tokens",
    "length_std": "SD of length, tokens",
    "entropy": "entropy, bits",
    "js_to_truth": "JS divergence to the truth, bits",
    "kl": "KL divergence to the truth, nats",
    "min_weight": "smallest component weight",
    "test_error": "squared error of the fitted weights",
}
"""Readable names of the watch's metrics (`CollapseMetrics`) and the simulator's."""
RATIO_LABELS = {
    "tail": "tail ratio",
    "precision": "precision ratio",
    "entropy": "entropy ratio",
    "distinct_2": "distinct-2 ratio",
    "singletons": "singletons ratio",
}
"""Readable names of the watch's ratios (`keel.collapse.watch.RATIOS`)."""
MODEL_SETTINGS: dict[Model, Callable[[Simulation], str]] = {
    "gaussian": lambda c: f"variance refit {c.refit}",
    "mixture": lambda c: f"{c.components} components",
    "categorical": lambda c: f"{c.categories:,} categories, Zipf exponent {c.zipf_exponent}",
    "regression": lambda c: f"d = {c.dim} features, label noise s = {c.noise}",
    "ngram": lambda c: (
        f"order {c.order}, "
        + ("the fortunes" if c.corpus is None else f"{len(c.corpus):,} human texts")
    ),
}
"""The settings only one model reads, in words."""


def label(name: str) -> str:
    """The readable name of a metric."""
    return LABELS.get(name, name.replace("_", " "))


def settings(cfg: Simulation) -> str:
    """The settings of a simulation that apply to its model and loop, in words: the fresh share
    only for loop fresh, the judge filter except for regression, each model's own."""
    parts = [
        f"model {cfg.model}",
        f"loop {cfg.loop}",
        f"M = {cfg.samples:,} training points per generation",
        f"{cfg.repetitions} repetitions",
    ]
    if cfg.loop == "fresh":
        parts.append(f"fresh human share a = {cfg.alpha} (decay {cfg.alpha_decay})")
    parts.append(f"temperature T = {cfg.temperature}")
    if cfg.model != "regression":
        parts.append(f"judge filter keeps {cfg.keep:.0%}")
    parts += [MODEL_SETTINGS[cfg.model](cfg), f"seed {cfg.seed}"]
    return ", ".join(parts)


def watch_sections(report: WatchReport) -> list[Section]:
    """A verdict table and one chart per metric (generation vs same-size human sample)."""
    t = report.thresholds
    x = [float(i) for i in range(len(report.generations))]
    names = ", ".join(f"{i}: {g.name}" for i, g in enumerate(report.generations))
    alpha = any(g.alpha is not None for g in report.generations)
    rows = [
        [
            g.name,
            *(["" if g.alpha is None else f"{g.alpha:.2f}"] if alpha else []),
            g.verdict,
            *(f"{v:.3f}" for v in g.ratios.values()),
            *(("-", "-") if g.trend is None else (f"{g.trend.slope:+.3f}", f"{g.trend.p:.2g}")),
            "; ".join(g.reasons),
        ]
        for g in report.generations
    ]
    ratios = [RATIO_LABELS.get(k, f"{label(k)} ratio") for k in report.generations[0].ratios]
    heads = ["generation", *(["human share"] if alpha else []), "verdict", *ratios]
    verdicts = Section(
        "Verdicts",
        [
            paragraph(
                f"Each generation is compared with a human sample of the same size, both against "
                f"an anchor of {report.anchor_texts} reference texts. Generations: {names}. "
                f"Early collapse: tail ratio < {t.tail_ratio} and still falling (least-squares "
                f"slope over the last {t.trend_window} generations, one-sided p < "
                f"{t.trend_alpha}), or tail ratio < {t.tail_floor}; degraded: tail ratio < "
                f"{t.tail_ratio} and not falling; late collapse: entropy ratio < "
                f"{t.entropy_ratio} or distinct-2 ratio < {t.distinct_ratio}."
            ),
            table([*heads, "tail ratio slope", "p of a fall", "reasons"], rows),
            line_chart(
                [
                    Series(name, x, [float(g.ratios[k]) for g in report.generations])
                    for name, k in zip(ratios, report.generations[0].ratios, strict=True)
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
                [Series("the generation", x, gen), Series("human sample, same size", x, base)],
                title=label(f.name),
                xlabel="generation",
                ylabel=label(f.name),
            )
        )
    return [verdicts, Section("Metrics by generation", charts)]


def simulation_sections(result: SimulationResult) -> list[Section]:
    """One chart per metric: mean over repetitions, a 10-90% band, and the closed form if any."""
    x = [float(i) for i in range(result.generations)]
    charts = []
    for name in result.metrics:
        lo, hi = result.quantiles(name)
        series = [Series("simulated mean", x, result.mean(name).tolist(), lo.tolist(), hi.tolist())]
        if name in result.theory:
            series.append(Series("closed form", x, result.theory[name].tolist()))
        charts.append(
            line_chart(series, title=label(name), xlabel="generation", ylabel=label(name))
        )
    intro = paragraph(
        f"{settings(result.config)}. Bands: 10% and 90% quantiles over repetitions; an axis is "
        "logarithmic where its values span more than a factor of ten."
    )
    return [Section("Per-generation metrics", [intro, *charts])]


def pace_sections(result: PaceResult) -> list[Section]:
    """The pace sweep: its table and the tail measure against s/r on a logarithmic x axis, the
    simulated mean with its 95% confidence interval, the closed form where there is one, and the
    level fresh human data keeps (α = 1)."""
    cfg, m = result.config, result.metric
    x = [p.ratio for p in result.points]
    theory = all(p.tail.theory is not None for p in result.points)
    rows = [
        [
            f"{p.ratio:.4g}",
            f"{p.anchors:,.4g}",
            f"{p.alpha:.4g}",
            f"{p.fresh:,}",
            f"{p.tail.mean:.4f}",
            f"{p.tail.low:.4f}–{p.tail.high:.4f}",
            *([f"{p.tail.theory:.4f}"] if theory and p.tail.theory is not None else []),
            f"{kept:.3f}",
        ]
        for p, kept in zip(result.points, result.kept(), strict=True)
    ]
    heads = ["s/r", "r/s anchors a generation", "α", "fresh items", m.label, "95% interval",
             *(["closed form"] if theory else []), "share of the fresh-data level"]  # fmt: skip
    series = [
        Series(
            "simulated mean, 95% interval",
            x,
            [p.tail.mean for p in result.points],
            [p.tail.low for p in result.points],
            [p.tail.high for p in result.points],
        )
    ]
    if theory:
        series.append(
            Series("closed form", x, [float(p.tail.theory or 0.0) for p in result.points])
        )
    series.append(Series("fresh human data (α = 1)", x, [result.fresh.mean] * len(x)))
    described = settings(replace(cfg, loop="replace")).replace("loop replace", "loop fresh")
    intro = paragraph(
        f"{described}. People verify r human items per unit time and "
        f"the loop runs s generations per unit time: a generation gets the r/s items reviewed "
        f"while it runs, a fresh human share α = min(1, r/(s·M)) of its M = {cfg.samples:,} "
        f"training samples (round(α·M) items). {m.label.capitalize()}: {m.meaning}, at "
        f"generation {cfg.generations}; mean over {cfg.repetitions} repetitions with its 95% "
        f"confidence interval (Student t). Fresh human data alone keeps {result.fresh.mean:.4f} "
        "(generation 1, trained on human data only)."
    )
    chart = line_chart(
        series,
        title=f"{m.label} at generation {cfg.generations} against loop pace",
        xlabel="s/r: generations per verified human item (log scale)",
        ylabel=m.label,
        log_x=True,
        log_y=False,
    )
    return [Section("Speed against anchoring", [intro, table(heads, rows), chart])]


def write_pace_report(result: PaceResult, path: Path) -> Path:
    return write_page(path, "keel loop pace against human review", pace_sections(result))


def write_watch_report(report: WatchReport, path: Path) -> Path:
    return write_page(path, "keel collapse watch", watch_sections(report))


def write_simulation_report(result: SimulationResult, path: Path) -> Path:
    return write_page(path, "keel recursive-training simulation", simulation_sections(result))
