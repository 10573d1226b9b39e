"""`keel watch` and `keel simulate`: the collapse watch and the recursive-training simulator."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.markup import escape
from rich.table import Table

from keel._files import output_folder
from keel.cli._common import (
    ExecutorOption,
    bounded,
    emit_json,
    err,
    executor,
    fit_table,
    open_ledger,
    out,
    progress,
    refreshed_output,
)
from keel.collapse.settings import WATCH_METRICS, Thresholds
from keel.collapse.simulate import LOOPS, MODELS, PACE_POINTS, Loop, Model, Refit
from keel.errors import ConfigError, InputError
from keel.mix import MAX_SEED

if TYPE_CHECKING:
    from keel.collapse import Simulation, SimulationResult, WatchReport
    from keel.collapse.simulate import PaceResult
    from keel.collapse.watch import Level

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for pipelines.")]
DEFAULTS = Thresholds()
HtmlPath = Annotated[
    Path | None,
    typer.Option(
        "--html", help="Write an HTML report with a plot per metric.", callback=refreshed_output
    ),
]


def watch_command(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Generation files (.txt, one text a line; .jsonl with text/origin) "
            "or folders of them, in generation order."
        ),
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(
            help="The human reference: a file, a folder, or 'fortunes' (default: for a loop's "
            "ledger the loop's held-out reference, else fortunes)."
        ),
    ] = None,
    from_ledger: Annotated[
        bool, typer.Option("--ledger", help="Read generations from the ledger (--db) instead.")
    ] = False,
    tail_ratio: Annotated[
        float,
        typer.Option(help="Below this tail ratio: degraded, or early collapse while it falls."),
    ] = DEFAULTS.tail_ratio,
    tail_floor: Annotated[
        float, typer.Option(help="Early alarm below this tail ratio whatever the trend.")
    ] = DEFAULTS.tail_floor,
    trend_window: Annotated[
        int, typer.Option(help="The tail ratio's slope is fitted over this many generations.")
    ] = DEFAULTS.trend_window,
    trend_alpha: Annotated[
        float, typer.Option(help="A fall is significant when the slope's p-value is below this.")
    ] = DEFAULTS.trend_alpha,
    precision_ratio: Annotated[
        float, typer.Option(help="Precision 'holds' above this.")
    ] = DEFAULTS.precision_ratio,
    entropy_ratio: Annotated[
        float, typer.Option(help="Late alarm below this entropy ratio.")
    ] = DEFAULTS.entropy_ratio,
    distinct_ratio: Annotated[
        float, typer.Option(help="Late alarm below this distinct-2 ratio.")
    ] = DEFAULTS.distinct_ratio,
    tail_quantile: Annotated[
        float, typer.Option(help="Tail: eligible types with count ≤ this quantile.")
    ] = WATCH_METRICS.tail_quantile,
    tail_min_count: Annotated[
        float, typer.Option(help="Eligible: expected ≥ this often in a same-size human sample.")
    ] = WATCH_METRICS.tail_min_count,
    embedding: Annotated[
        str, typer.Option(help="hashing or minilm (the embed extra).")
    ] = "hashing",
    seed: Annotated[
        int,
        typer.Option(
            help="Seed of the samples and the reference split, 0 to 2**53 - 1.",
            callback=bounded(0, MAX_SEED),
        ),
    ] = 0,
    fail_on: Annotated[
        str | None,
        typer.Option(
            help="Exit 1 if any generation reaches this level: degraded (or worse), early "
            "(early or late collapse) or late."
        ),
    ] = None,
    html: HtmlPath = None,
    as_json: JsonFlag = False,
    executor_: ExecutorOption = "local",
) -> None:
    """Measure each generation against the human reference and give a verdict per generation."""
    from keel._input import read_corpus
    from keel.collapse import embedder, watch
    from keel.collapse.report import write_watch_report
    from keel.collapse.watch import read_generations
    from keel.text import load_fortunes

    if fail_on not in (None, "degraded", "early", "late"):
        raise InputError(f"--fail-on takes degraded, early or late, got {fail_on!r}")
    if from_ledger == bool(paths):
        raise InputError("give generation files or folders, or --ledger, not both or neither")
    thresholds = Thresholds(
        tail_ratio=tail_ratio,
        tail_floor=tail_floor,
        trend_window=trend_window,
        trend_alpha=trend_alpha,
        precision_ratio=precision_ratio,
        entropy_ratio=entropy_ratio,
        distinct_ratio=distinct_ratio,
    )
    config = replace(
        WATCH_METRICS, tail_quantile=tail_quantile, tail_min_count=tail_min_count, seed=seed
    )
    human = None if reference is None else read_corpus(reference)
    if from_ledger:
        from keel.loop.run import watch_ledger

        with executor(executor_) as ex, open_ledger(ctx, readonly=True) as led:
            report = watch_ledger(
                led,
                reference=human,
                thresholds=thresholds,
                config=config,
                embedder=embedder(embedding),
                executor=ex,
            )
    else:
        generations = read_generations(paths or [])
        with executor(executor_) as ex:
            report = watch(
                generations,
                load_fortunes() if human is None else human,
                thresholds=thresholds,
                config=config,
                embedder=embedder(embedding),
                executor=ex,
            )
    if html is not None:
        write_watch_report(report, html)
    if as_json:
        emit_json(report.to_json())
    else:
        out.print(_watch_table(report))
        for g in report.generations:
            if g.reasons:
                out.print(f"{escape(g.name)}: {escape('; '.join(g.reasons))}")
        if (first := report.first_collapse()) is not None:
            out.print(
                f"collapse detected at {escape(first.name)} "
                f"(tail ratio {first.ratios['tail']:.3f}, {first.verdict})"
            )
    if html is not None:
        err.print(f"report written to {escape(str(html))}")
    if fail_on is not None and report.fails(cast("Level", fail_on)):
        raise typer.Exit(1)


WATCH_COLUMNS = ("generation", "texts", "alpha", "distinct-2", "H1 bits", "tail kept",
                 "tail ratio", "slope", "p fall", "KL", "prec", "recall", "Vendi", "self-BLEU",
                 "verdict")  # fmt: skip
WATCH_OPTIONAL = ("texts", "self-BLEU", "Vendi", "recall", "KL", "distinct-2", "tail kept",
                  "H1 bits", "prec")  # fmt: skip
"""Columns left out, in this order, when the terminal is too narrow."""


def _watch_table(report: WatchReport) -> Table:
    rows = []
    for g in report.generations:
        m = g.metrics
        color = {"healthy": "green", "degraded": "yellow"}.get(g.verdict, "red")
        rows.append(
            [
                escape(g.name),
                str(m.texts),
                "" if g.alpha is None else f"{g.alpha:.2f}",
                *(_num(v) for v in (m.distinct_2, m.entropy_1, m.tail_retention)),
                _num(g.ratios["tail"]),
                "-" if g.trend is None else f"{g.trend.slope:+.3f}",
                "-" if g.trend is None else _num(g.trend.p, 2),
                *(_num(v) for v in (m.kl_to_reference, m.precision, m.recall, m.vendi)),
                _num(m.self_bleu),
                f"[{color}]{g.verdict}[/]",
            ]
        )
    optional = [{WATCH_COLUMNS.index(c)} for c in WATCH_OPTIONAL]
    if all(g.alpha is None for g in report.generations):
        optional.insert(0, {WATCH_COLUMNS.index("alpha")})
    title = f"collapse watch ({report.anchor_texts} anchor texts)"
    return fit_table(title, WATCH_COLUMNS, rows, optional=optional)


def _num(v: float, digits: int = 4, *, signed: bool = False) -> str:
    """`digits` significant digits, no exponent below 10^digits, '-' for NaN."""
    if not math.isfinite(v):
        return "-"
    sign = "+" if signed else ""
    return f"{v:{sign}.0f}" if abs(v) >= 10**digits else f"{v:{sign}.{digits}g}"


def simulate_command(
    model: Annotated[str, typer.Option(help=f"One of {', '.join(MODELS)}.")] = "gaussian",
    loop: Annotated[str, typer.Option(help=f"One of {', '.join(LOOPS)}.")] = "replace",
    generations: Annotated[int, typer.Option(help="Generations after the truth.")] = 20,
    repetitions: Annotated[int, typer.Option(help="Independent runs (mean and spread).")] = 100,
    samples: Annotated[int, typer.Option(help="M: training points per generation.")] = 100,
    alpha: Annotated[float, typer.Option(help="Fresh human share (loop fresh).")] = 0.0,
    alpha_decay: Annotated[float, typer.Option(help="a_n = a·decay^(n-2); < 1 sends a → 0.")] = 1.0,
    refit: Annotated[str, typer.Option(help="Gaussian variance refit: mle or unbiased.")] = "mle",
    temperature: Annotated[float, typer.Option(help="Sampling temperature (bias if < 1).")] = 1.0,
    keep: Annotated[float, typer.Option(help="Judge filter: share of typical samples kept.")] = 1.0,
    seed: Annotated[
        int, typer.Option(help="Random seed, 0 to 2**53 - 1.", callback=bounded(0, MAX_SEED))
    ] = 0,
    categories: Annotated[int, typer.Option(help="Categorical: number of categories.")] = 1000,
    zipf: Annotated[float, typer.Option(help="Categorical: Zipf exponent.")] = 1.1,
    components: Annotated[int, typer.Option(help="Mixture: number of components.")] = 3,
    dim: Annotated[int, typer.Option(help="Regression: number of features d.")] = 10,
    noise: Annotated[float, typer.Option(help="Regression: label noise s.")] = 1.0,
    order: Annotated[int, typer.Option(help="n-gram: model order.")] = 3,
    corpus: Annotated[
        Path | None, typer.Option(help="n-gram: human texts file (default: fortunes).")
    ] = None,
    write_texts: Annotated[
        Path | None, typer.Option(help="n-gram: write each generation's texts (run 0) here.")
    ] = None,
    pace: Annotated[
        bool,
        typer.Option(
            "--pace",
            help="Sweep the loop pace s/r (generations per verified human item): run the fresh "
            "loop at α = min(1, r/(s·M)) for each and report the last generation's tail.",
        ),
    ] = False,
    pace_points: Annotated[
        int, typer.Option(help="Pace: number of s/r values, log-spaced.")
    ] = PACE_POINTS,
    pace_min: Annotated[
        float | None, typer.Option(help="Pace: smallest s/r (default 1/M, where α = 1).")
    ] = None,
    pace_max: Annotated[
        float | None,
        typer.Option(help="Pace: largest s/r (default 1, one verified item a generation)."),
    ] = None,
    pace_ratios: Annotated[
        str | None,
        typer.Option(help="Pace: comma-separated s/r values, instead of the log-spaced grid."),
    ] = None,
    html: HtmlPath = None,
    as_json: JsonFlag = False,
) -> None:
    """Simulate recursive training: per-generation metrics over repetitions, vs closed forms.

    Repetitions × the values of one generation (its draws, categories or generations) are at
    most 50,000,000 (`keel.collapse.simulate.MAX_VALUES`). With --pace, sweep the loop's speed
    against human review instead: the tail at the last generation for each s/r."""
    from keel._input import read_texts
    from keel.collapse import Simulation, simulate
    from keel.collapse.report import write_simulation_report

    cfg = Simulation(
        model=cast(Model, model),
        loop=cast(Loop, loop),
        generations=generations,
        repetitions=repetitions,
        samples=samples,
        alpha=alpha,
        alpha_decay=alpha_decay,
        refit=cast(Refit, refit),
        temperature=temperature,
        keep=keep,
        seed=seed,
        categories=categories,
        zipf_exponent=zipf,
        components=components,
        dim=dim,
        noise=noise,
        order=order,
        corpus=None if corpus is None else tuple(read_texts(corpus)),
    )
    if write_texts is not None and cfg.model != "ngram":
        raise InputError("--write-texts needs --model ngram")
    sweep = (pace_points != PACE_POINTS, pace_min, pace_max, pace_ratios)
    if not pace and any(v not in (None, False) for v in sweep):
        raise InputError("--pace-points, --pace-min, --pace-max and --pace-ratios need --pace")
    if pace:
        if write_texts is not None:
            raise InputError("--write-texts does not apply to --pace")
        ratios = _pace_ratios(cfg.samples, pace_points, pace_min, pace_max, pace_ratios)
        _simulate_pace(cfg, ratios, html, as_json=as_json)
        return
    if write_texts is not None:
        output_folder(write_texts)
    with progress("simulate", cfg.generations) as update:
        result = simulate(cfg, lambda done, total: update(done), keep_texts=write_texts is not None)
    if write_texts is not None:
        _write_generations(write_texts, result.texts)
    if html is not None:
        write_simulation_report(result, html)
    if as_json:
        emit_json(result.to_json())
    else:
        out.print(_simulation_table(result))
    if html is not None:
        err.print(f"report written to {escape(str(html))}")


def _pace_ratios(
    samples: int, points: int, low: float | None, high: float | None, listed: str | None
) -> tuple[float, ...]:
    """The s/r values: the listed ones, or the log-spaced grid."""
    from keel.collapse.simulate import pace_grid

    if listed is None:
        return pace_grid(samples, points, low, high)
    if low is not None or high is not None or points != PACE_POINTS:
        raise InputError("give --pace-ratios or --pace-points/--pace-min/--pace-max, not both")
    values = []
    for part in listed.split(","):
        try:
            values.append(float(part))
        except ValueError:
            raise ConfigError(f"--pace-ratios: {part.strip()!r} is not a number") from None
    return tuple(values)


def _simulate_pace(
    cfg: Simulation, ratios: Sequence[float], html: Path | None, *, as_json: bool
) -> None:
    from keel.collapse.report import write_pace_report
    from keel.collapse.simulate import pace_sweep

    with progress("pace", None) as update:
        result = pace_sweep(cfg, ratios, update)
    if html is not None:
        write_pace_report(result, html)
    if as_json:
        emit_json(result.to_json())
    else:
        out.print(_pace_table(result))
    if html is not None:
        err.print(f"report written to {escape(str(html))}")


def _pace_table(result: PaceResult) -> Table:
    """Per s/r: anchors a generation, α, the tail measure (mean, 95% interval, closed form) and
    its share of the fresh-data level."""
    m, cfg = result.metric, result.config
    theory = all(p.tail.theory is not None for p in result.points)
    headers = ["s/r", "r/s", "α", "fresh", m.label, "95% interval",
               *(["theory"] if theory else []), "of fresh"]  # fmt: skip
    rows = [
        [
            _num(p.ratio, 3),
            _num(p.anchors, 4),
            _num(p.alpha, 3),
            str(p.fresh),
            _num(p.tail.mean),
            f"{_num(p.tail.low)}–{_num(p.tail.high)}",
            *([_num(p.tail.theory)] if theory and p.tail.theory is not None else []),
            _num(kept, 3),
        ]
        for p, kept in zip(result.points, result.kept(), strict=True)
    ]
    fresh = result.fresh
    title = (
        f"{cfg.model}: {m.label} at generation {cfg.generations} against loop pace s/r, M = "
        f"{cfg.samples:,}, {cfg.repetitions} runs; fresh data keeps {_num(fresh.mean)}"
    )
    interval = {headers.index("95% interval")}
    return fit_table(title, headers, rows, optional=[interval, {headers.index("fresh")}])


def _simulation_table(result: SimulationResult) -> Table:
    """Mean, standard error and closed form of every metric at up to ~20 generations; on a
    narrow terminal the standard errors go first, then the metrics without a closed form, the
    last first."""
    cfg = result.config
    headers = ["gen"]
    errors: set[int] = set()
    plain: list[set[int]] = []
    for name in result.metrics:
        if name not in result.theory:
            plain.insert(0, {len(headers)})
        headers.append(name.replace("_", " "))
        errors.add(len(headers))
        headers.append("± s.e.")
        if name in result.theory:
            headers.append("theory")
    step = max(1, result.generations // 20)
    rows = []
    for g in range(0, result.generations, step):
        row = [str(g)]
        for name in result.metrics:
            row += [_num(result.mean(name)[g]), _num(result.stderr(name)[g], 2)]
            if name in result.theory:
                row.append(_num(result.theory[name][g]))
        rows.append(row)
    title = f"{cfg.model} / {cfg.loop}: mean over {cfg.repetitions} runs, ± s.e."
    return fit_table(title, headers, rows, optional=[errors, *plain])


def _write_generations(folder: Path, texts: tuple[tuple[str, ...], ...]) -> None:
    """gen-0.txt (the human sample), gen-1.txt, ...: one text a line, ready for `keel watch`."""
    width = len(str(len(texts) - 1))
    for g, gen in enumerate(texts):
        (folder / f"gen-{g:0{width}d}.txt").write_text("".join(t + "\n" for t in gen))
