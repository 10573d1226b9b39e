"""`keel judge ...`: audit judges against human labels; correct a judge with human anchors."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

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
    settings,
)
from keel.errors import InputError
from keel.judges import JudgeBackend
from keel.mix import MAX_SEED
from keel.models import DEFAULT_KEY_ENV

if TYPE_CHECKING:
    from keel._input import Fields
    from keel.judges import Audit, Correction, Estimate, JudgeTable, Layout, PairProfile

app = typer.Typer(help="Judge audit: evaluation personalities, and correction with human anchors.")

PAIR_PANEL = "Pairwise columns (--layout pairwise)"
Files = Annotated[list[Path], typer.Argument(help="CSV, JSONL or Parquet files (stacked).")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for pipelines.")]
Item = Annotated[
    list[str] | None,
    typer.Option(
        "--item", help="Item id column; repeat for a composite id (default: the row number)."
    ),
]
Human = Annotated[str | None, typer.Option(help="Human label column (default: human).")]
JudgeCols = Annotated[
    list[str] | None,
    typer.Option(
        "--judge",
        help="Wide: a judge column, repeatable (default: every label column whose name marks no "
        "human or metadata data, such as a confidence).",
    ),
]
Threshold = Annotated[
    float | None, typer.Option(help="Scores >= this are accepts (not NaN).", callback=bounded())
]
HumanThreshold = Annotated[
    float | None,
    typer.Option(help="Human scores >= this are correct (not NaN).", callback=bounded()),
]
Seed = Annotated[
    int,
    typer.Option(
        help="Seed of the bootstrap / anchor sample, 0 to 2**53 - 1.",
        callback=bounded(0, MAX_SEED),
    ),
]
MAX_RESAMPLES = 100_000
"""The most bootstrap resamples `keel judge audit` draws (memory grows with them)."""
JudgeColumn = Annotated[
    str | None, typer.Option(help="Long and pairwise: the judge column (default: judge).")
]
VerdictColumn = Annotated[
    str | None, typer.Option(help="Long: the verdict column (default: verdict).")
]
ScoreColumn = Annotated[str | None, typer.Option(help="Long: the score column (default: score).")]


def _pair_option(role: str, what: str) -> object:
    return typer.Option(help=f"{what} (default: {role}).", rich_help_panel=PAIR_PANEL)


def _columns(
    item: list[str] | None, judges: list[str] | None, roles: dict[str, str | None]
) -> Fields:
    """The judge table's fields with the columns given on the command line."""
    from keel.judges import JUDGE_FIELDS

    return JUDGE_FIELDS.map(item=item, judges=judges, **roles)


def _pair_columns(item: list[str] | None, roles: dict[str, str | None]) -> Fields:
    """The pairwise table's fields with the columns given on the command line."""
    from keel.judges import PAIR_FIELDS

    if item and len(item) > 1:
        raise typer.BadParameter("--layout pairwise takes one --item column")
    return PAIR_FIELDS.map(item=item[0] if item else None, **roles)


@app.command("audit")
def audit_command(
    ctx: typer.Context,
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="CSV, JSONL or Parquet files (stacked); or --ledger."),
    ] = None,
    from_ledger: Annotated[
        bool,
        typer.Option(
            "--ledger",
            help="Audit the AI verdicts in the ledger (--db) against its expert decisions; "
            "--judge picks judges, --threshold turns scores into accepts (default 0.5).",
        ),
    ] = False,
    layout: Annotated[
        str, typer.Option(help="wide (a column per judge), long (a row per verdict), pairwise.")
    ] = "wide",
    item: Item = None,
    human: Human = None,
    judge: JudgeCols = None,
    judge_column: JudgeColumn = None,
    run: Annotated[
        str | None, typer.Option(help="Long: the run/repeat column (default: run).")
    ] = None,
    verdict: VerdictColumn = None,
    score: ScoreColumn = None,
    human_score: Annotated[
        str | None, typer.Option(help="Human ordinal scores (default: human_score).")
    ] = None,
    category: Annotated[
        str | None, typer.Option(help="Category column (default: category).")
    ] = None,
    subject: Annotated[
        str | None,
        typer.Option(help="The model that produced the item (default: subject)."),
    ] = None,
    group: Annotated[
        str | None,
        typer.Option(
            help="κ, π and accuracy per group, e.g. the exam-taker model, and their mean over "
            "the groups beside the pooled figure (default: group)."
        ),
    ] = None,
    first: Annotated[str | None, _pair_option("first", "Candidate in the first slot")] = None,
    second: Annotated[str | None, _pair_option("second", "Candidate in the second slot")] = None,
    decision: Annotated[
        str | None, _pair_option("decision", "The judge's pick: first/second/tie or an id")
    ] = None,
    gold: Annotated[str | None, _pair_option("gold", "The human preference")] = None,
    first_length: Annotated[
        str | None, _pair_option("first_length", "Length of the first candidate")
    ] = None,
    second_length: Annotated[
        str | None, _pair_option("second_length", "Length of the second candidate")
    ] = None,
    first_producer: Annotated[
        str | None, _pair_option("first_producer", "Model that wrote the first candidate")
    ] = None,
    second_producer: Annotated[
        str | None, _pair_option("second_producer", "Model that wrote the second candidate")
    ] = None,
    judge_model: Annotated[
        str | None, _pair_option("judge_model", "The judge's own model; else its name")
    ] = None,
    threshold: Threshold = None,
    human_threshold: HumanThreshold = None,
    penalty_category: Annotated[
        str | None, typer.Option(help="Report false rejections on this category.")
    ] = None,
    resamples: Annotated[
        int,
        typer.Option(
            help=f"Bootstrap resamples, 0 (none) to {MAX_RESAMPLES:,}.",
            callback=bounded(0, MAX_RESAMPLES),
        ),
    ] = 1000,
    seed: Seed = 0,
    intervals: Annotated[
        bool, typer.Option("--intervals", help="Show ± half the 95% interval under each value.")
    ] = False,
    html: Annotated[
        Path | None, typer.Option(help="Write the HTML report here.", callback=refreshed_output)
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Each judge's personality against the human labels, with 95% intervals."""
    from keel.judges import (
        audit,
        audit_pairwise,
        read_judge_table,
        read_pairwise,
        write_pairwise_report,
    )

    if from_ledger == bool(files):
        raise InputError("give label files, or --ledger, not both or neither")
    if from_ledger:
        for_files = {
            "--layout": layout != "wide",
            "--item": item,
            "--human": human,
            "--judge-column": judge_column,
            "--run": run,
            "--verdict": verdict,
            "--score": score,
            "--human-score": human_score,
            "--category": category,
            "--subject": subject,
            "--group": group,
            "--human-threshold": human_threshold,
            "--penalty-category": penalty_category,
        }
        if given := [flag for flag, value in for_files.items() if value]:
            raise InputError(f"{', '.join(given)}: for label files, not --ledger")
        table = _ledger_table(ctx, judge or (), threshold)
        _report(audit(table, n_resamples=resamples, seed=seed), html, intervals, as_json)
        return
    files = files or []
    if layout == "pairwise":
        pair_roles = {
            "judge": judge_column,
            "first": first,
            "second": second,
            "decision": decision,
            "gold": gold,
            "first_length": first_length,
            "second_length": second_length,
            "first_producer": first_producer,
            "second_producer": second_producer,
            "judge_model": judge_model,
        }
        rows = read_pairwise(files, _pair_columns(item, pair_roles))
        profiles = audit_pairwise(rows, n_resamples=resamples, seed=seed)
        source = ", ".join(map(str, files))
        if html is not None:
            write_pairwise_report(profiles, html, source=source)
            err.print(f"report written to {escape(str(html))}")
        if as_json:
            emit_json({"source": source, "judges": [p.to_json() for p in profiles]})
            return
        _print_pairwise(source, profiles, intervals)
        return
    if layout not in ("wide", "long"):
        raise typer.BadParameter(f"--layout {layout!r}: use wide, long or pairwise")
    roles = {
        "human": human,
        "judge": judge_column,
        "run": run,
        "verdict": verdict,
        "score": score,
        "human_score": human_score,
        "category": category,
        "subject": subject,
        "group": group,
    }
    cols = _columns(item, judge, roles)
    lay: Layout = "wide" if layout == "wide" else "long"
    table = read_judge_table(
        files, cols, layout=lay, threshold=threshold, human_threshold=human_threshold
    )
    result = audit(table, penalty_category=penalty_category, n_resamples=resamples, seed=seed)
    _report(result, html, intervals, as_json)


def _ledger_table(ctx: typer.Context, judges: Sequence[str], threshold: float | None) -> JudgeTable:
    """The ledger's AI verdicts against its expert decisions (`keel.judges.evals.judge_table`),
    read at one snapshot."""
    from keel.judges.evals import judge_table
    from keel.ledger import Snapshot

    with open_ledger(ctx, readonly=True) as ledger:
        return judge_table(
            Snapshot.load(ledger),
            judges,
            threshold=0.5 if threshold is None else threshold,
            source=settings(ctx).shown,
        )


def _report(result: Audit, html: Path | None, intervals: bool, as_json: bool) -> None:
    """Write the HTML report if asked, then print the audit as JSON or as tables."""
    from keel.judges import write_audit_report

    if html is not None:
        write_audit_report(result, html)
        err.print(f"report written to {escape(str(html))}")
    if as_json:
        emit_json(result.to_json())
        return
    _print_audit(result, intervals)


# -- terminal tables -------------------------------------------------------------------------
def _cell(e: Estimate | None, intervals: bool) -> str:
    """The value, and with `intervals` ± half the interval's width on a second line."""
    if e is None or math.isnan(e.value):
        return "-"
    if not intervals or math.isnan(e.lo):
        return f"{e.value:.3f}"
    return f"{e.value:.3f}\n±{(e.hi - e.lo) / 2:.3f}"


def _table(title: str, judges: Sequence[str], columns: Sequence[str]) -> Table:
    """A compact table whose judge column is never squeezed or wrapped."""
    t = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    t.add_column("judge", no_wrap=True, min_width=max(map(len, judges), default=5))
    for name in columns:
        if name == "personality":
            t.add_column(name, overflow="fold", ratio=1, min_width=10)
        else:
            t.add_column(name, justify="right", min_width=len(name))
    return t


def _print_audit(a: Audit, intervals: bool) -> None:
    from keel.judges.report import fmt

    names = [p.judge for p in a.profiles]
    how = "± half the 95% interval" if intervals else "--intervals for 95% intervals"
    out.print(escape(f"Judge audit of {a.source}: {a.n_items} items ({how}; all in --json)"))
    rates = _table("Rates", names, ("n", "accuracy", "confirm", "detect", "ratio", "leniency"))
    for p in a.profiles:
        f = p.figures
        rates.add_row(
            escape(p.judge), str(p.n),
            *(_cell(f[k], intervals) for k in ("accuracy", "confirmation", "detection",
                                                "bias_ratio", "leniency")),
        )  # fmt: skip
    out.print(rates)
    missing = [(p.judge, p.missing_verdicts + p.missing_human) for p in a.profiles]
    _print_missing("Left out as missing (verdict or human label)", missing)
    ranked = any("kendall_tau" in p.figures for p in a.profiles)
    columns = ("κ", "π", "AC1", "base rate", *(("τ models",) if ranked else ()), "personality")
    agreement = _table("Agreement with the humans", names, columns)
    for p in a.profiles:
        keys = ("kappa", "scott_pi", "gwet_ac1", "prevalence", *(("kendall_tau",) * ranked))
        agreement.add_row(
            escape(p.judge),
            *(_cell(p.figures.get(k), intervals) for k in keys),
            escape(p.personality),
        )
    out.print(agreement)
    _print_groups(a, intervals)
    panel = a.panel
    out.print(
        f"Krippendorff's alpha (judges + humans) {fmt(panel['alpha'])}; mean error correlation "
        f"{fmt(panel['error_correlation'])}; effective independent judges "
        f"{fmt(panel['effective_judges'])} of {len(a.profiles)}"
    )
    _print_pairs(a)
    for p in a.profiles:
        out.print(escape(p.summary))
    for note in a.notes:
        err.print(escape(note))


def _print_groups(a: Audit, intervals: bool) -> None:
    """Pooled κ, π and accuracy beside their unweighted mean over the groups, then each of
    them per group."""
    from keel.judges.audit import GROUP_FIGURES
    from keel.judges.report import GROUP_COLUMNS, GROUP_LABELS

    shown = [p for p in a.profiles if p.groups]
    if not shown:
        return
    names = [p.judge for p in shown]
    groups = [g.name for g in shown[0].groups]
    by = a.group_by or "group"
    title = f"Agreement pooled vs mean over the {len(groups)} groups of {by}"
    pooled = _table(escape(title), names, [label for _, label in GROUP_COLUMNS])
    for p in shown:
        cells = (_cell(p.figures.get(key), intervals) for key, _ in GROUP_COLUMNS)
        pooled.add_row(escape(p.judge), *cells)
    out.print(pooled)
    per = _table(escape(f"Agreement per {by}"), names, ())
    per.add_column(escape(by), no_wrap=True, min_width=max(map(len, groups)))
    for name in ("n", *(GROUP_LABELS[k] for k in GROUP_FIGURES)):
        per.add_column(name, justify="right", min_width=len(name))
    for p in shown:
        for k, g in enumerate(p.groups):
            cells = (_cell(getattr(g, f), intervals) for f in GROUP_FIGURES)
            per.add_row(escape(p.judge), escape(g.name), str(g.n), *cells,
                        end_section=k == len(p.groups) - 1)  # fmt: skip
    out.print(per)


def _print_pairs(a: Audit) -> None:
    if not a.comparisons:
        return
    differ = sum(c.p_holm < 0.05 for c in a.comparisons)
    line = (
        f"Judge pairs: {differ} of {len(a.comparisons)} differ in accuracy "
        f"(McNemar, Holm-adjusted p < 0.05)"
    )
    taus = [c for c in a.comparisons if not math.isnan(c.kendall_tau)]
    if taus:
        low = min(taus, key=lambda c: c.kendall_tau)
        median = sorted(c.kendall_tau for c in taus)[len(taus) // 2]
        line += (
            f"; ranking of the subjects: median τ-b {median:.2f}, lowest {low.kendall_tau:.2f} "
            f"({low.a} vs {low.b})"
        )
    out.print(escape(line))


def _print_pairwise(source: str, profiles: Sequence[PairProfile], intervals: bool) -> None:
    t = _table(
        f"Pairwise judges of {source}",
        [p.judge for p in profiles],
        ("n", "accuracy", "same win", "1st wins", "longer", "self-pref"),
    )
    for p in profiles:
        t.add_row(
            escape(p.judge), str(p.n),
            *(_cell(p.figures.get(k), intervals) for k in ("accuracy", "consistency",
                                                            "first_wins", "longer_wins",
                                                            "self_preference")),
        )  # fmt: skip
    out.print(t)
    _print_missing("Left out without a decision", [(p.judge, p.missing) for p in profiles])
    for p in profiles:
        out.print(escape(p.summary))


def _print_missing(what: str, counts: Sequence[tuple[str, int]]) -> None:
    """One line naming the judges with verdicts left out as missing (n counts the rest)."""
    some = [f"{judge} {k}" for judge, k in counts if k]
    if some:
        out.print(escape(f"{what}: " + ", ".join(some)))


@app.command("correct")
def correct_command(
    files: Files,
    layout: Annotated[str, typer.Option(help="wide or long.")] = "wide",
    item: Item = None,
    human: Human = None,
    judge: JudgeCols = None,
    judge_column: JudgeColumn = None,
    verdict: VerdictColumn = None,
    score: ScoreColumn = None,
    threshold: Threshold = None,
    human_threshold: HumanThreshold = None,
    target_precision: Annotated[
        float,
        typer.Option(
            help="Precision the kept data must reach (lower bound), 0 to 1.", callback=bounded(0, 1)
        ),
    ] = 0.9,
    target_width: Annotated[
        float,
        typer.Option(
            help="Half-width of the share's interval the anchor budget aims at, (0, 0.5].",
            callback=bounded(0, 0.5),
        ),
    ] = 0.02,
    anchor_sample: Annotated[
        int | None,
        typer.Option(help="Keep only this many random labelled items as anchors (a check)."),
    ] = None,
    seed: Seed = 0,
    as_json: JsonFlag = False,
) -> None:
    """Estimate the pool's true acceptable share from a judge and human anchors (labelled rows)."""
    from keel.judges import correction, read_judge_table

    if layout not in ("wide", "long"):
        raise typer.BadParameter(f"--layout {layout!r}: use wide or long")
    roles = {"human": human, "judge": judge_column, "verdict": verdict, "score": score}
    cols = _columns(item, judge, roles)
    lay: Layout = "wide" if layout == "wide" else "long"
    table = read_judge_table(
        files, cols, layout=lay, threshold=threshold, human_threshold=human_threshold
    )
    result = correction(
        table,
        target_precision=target_precision,
        target_width=target_width,
        anchor_sample=anchor_sample,
        seed=seed,
    )
    if as_json:
        emit_json(result.to_json())
        return
    _print_correction(result)


def _print_correction(c: Correction) -> None:
    from keel.judges.report import fmt

    head = f"{c.n_anchors} anchors, {c.n_pool} pool items"
    if c.hidden_truth is not None:
        head += f"; hidden true share {c.hidden_truth:.3f}"
    t = Table(title=f"Corrected acceptable share: {escape(head)}")
    t.add_column("judge", no_wrap=True, min_width=max((len(j.judge) for j in c.judges), default=5))
    for name in ("judge says", "PPI++", "Rogan-Gladen", "anchors for ±width"):
        t.add_column(name, justify="right")
    for j in c.judges:
        rg = fmt(j.rogan_gladen.estimate) if j.rogan_gladen.refused is None else "refused"
        budget = "-"
        if j.budget is not None:
            budget = "unreachable" if j.budget.anchors is None else str(j.budget.anchors)
        t.add_row(escape(j.judge), f"{j.judge_share:.3f}", fmt(j.ppi.estimate), rg, budget)
    out.print(t)
    out.print(f"anchors alone: {fmt(c.anchor_share)}; Dawid-Skene (anchors clamped): "
              f"{c.dawid_skene_share:.3f}")  # fmt: skip
    if c.rule is None:
        out.print(f"no rule reaches precision {c.target_precision:g} with confidence")
    else:
        r = c.rule
        out.print(
            f"keep rule for precision >= {c.target_precision:g}: {escape(r.describe())} "
            f"(precision {r.precision:.3f}, lower bound {r.lower_bound:.3f}, "
            f"keeps {r.kept_share:.1%})"
        )
    for j in c.judges:
        if j.rogan_gladen.refused is not None:
            err.print(f"{escape(j.judge)}: Rogan-Gladen refused: {escape(j.rogan_gladen.refused)}")


# -- keel judge run ----------------------------------------------------------------------------
LLM_PANEL = "LLM judge (--llm)"
OFFLINE_PANEL = "Offline judge (--offline)"
OFFLINE_JUDGES: dict[str, JudgeBackend] = {"ngram": "likelihood", "distinct": "repetition"}


def _check_choice(
    llm: str | None,
    offline: str | None,
    model: str | None,
    rubric: Path | None,
    human_from_ledger: bool,
) -> None:
    if (llm is None) == (offline is None):
        raise typer.BadParameter("pass either --llm URL (with --model and --rubric) or --offline")
    if llm is not None and (model is None or rubric is None):
        raise typer.BadParameter("--llm needs --model NAME and --rubric FILE")
    if offline is not None and offline not in OFFLINE_JUDGES:
        raise typer.BadParameter(f"--offline {offline!r}: use one of {', '.join(OFFLINE_JUDGES)}")
    if offline is not None and not human_from_ledger:
        raise typer.BadParameter("--offline needs human texts: pass --human-from-ledger")


@app.command("run")
def run_command(
    ctx: typer.Context,
    refs: Annotated[
        list[str] | None,
        typer.Argument(help="Records to judge (ids, prefixes, external ids); default: all."),
    ] = None,
    generation: Annotated[int | None, typer.Option(help="Only records of this generation.")] = None,
    origin: Annotated[
        list[str] | None,
        typer.Option(help="Only records of this origin (human, expert, synthetic); repeatable."),
    ] = None,
    judge_id: Annotated[
        str | None, typer.Option(help="The judge's id in the verdicts (default: from the judge).")
    ] = None,
    llm: Annotated[
        str | None,
        typer.Option(
            help="Base URL of an OpenAI-compatible API, e.g. http://localhost:8000/v1.",
            rich_help_panel=LLM_PANEL,
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model name.", rich_help_panel=LLM_PANEL)
    ] = None,
    rubric: Annotated[
        Path | None,
        typer.Option(
            help="Rubric: TOML with id and text, or a text file (id: its name).",
            rich_help_panel=LLM_PANEL,
        ),
    ] = None,
    api_key_env: Annotated[
        str,
        typer.Option(
            help="Environment variable holding the API key; keel reads only names ending in "
            "_API_KEY (e.g. OPENAI_API_KEY, KEEL_API_KEY).",
            rich_help_panel=LLM_PANEL,
        ),
    ] = DEFAULT_KEY_ENV,
    allow_insecure: Annotated[
        bool,
        typer.Option(
            "--allow-insecure",
            help="Send the key over plain http:// to a host other than this machine.",
            rich_help_panel=LLM_PANEL,
        ),
    ] = False,
    concurrency: Annotated[
        int,
        typer.Option(
            help="Requests in flight at most, 1 to 1,024.",
            callback=bounded(1, 1024),
            rich_help_panel=LLM_PANEL,
        ),
    ] = 16,
    timeout: Annotated[
        float,
        typer.Option(
            help="Seconds per request attempt, up to 3,600.",
            callback=bounded(0, 3600),
            rich_help_panel=LLM_PANEL,
        ),
    ] = 60.0,
    retries: Annotated[
        int,
        typer.Option(
            help="Retries on 429, 5xx and timeouts, 0 to 100.",
            callback=bounded(0, 100),
            rich_help_panel=LLM_PANEL,
        ),
    ] = 4,
    cache: Annotated[
        Path | None,
        typer.Option(
            help="Response cache file (default: beside the ledger, .llm-cache.sqlite).",
            rich_help_panel=LLM_PANEL,
        ),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Do not cache answers.", rich_help_panel=LLM_PANEL)
    ] = False,
    offline: Annotated[
        str | None,
        typer.Option(
            help="ngram (likelihood under human text) or distinct (repetition).",
            rich_help_panel=OFFLINE_PANEL,
        ),
    ] = None,
    human_from_ledger: Annotated[
        bool,
        typer.Option(
            "--human-from-ledger",
            help="Train and calibrate on the ledger's human and expert records.",
            rich_help_panel=OFFLINE_PANEL,
        ),
    ] = False,
    order: Annotated[int, typer.Option(help="n-gram order.", rich_help_panel=OFFLINE_PANEL)] = 3,
    threshold: Annotated[
        float,
        typer.Option(
            help="Accept when the p-value against human texts is at least this, 0 to 1.",
            callback=bounded(0, 1),
            rich_help_panel=OFFLINE_PANEL,
        ),
    ] = 0.05,
    as_json: JsonFlag = False,
    executor_: ExecutorOption = "local",
) -> None:
    """Judge ledger records with an LLM judge or an offline judge; append the verdicts.

    Records that already have a verdict from this judge are skipped, so a re-run resumes.
    """
    from keel.judges import Candidates, JudgeCounts, judge_records, make_judge
    from keel.models import ServedModel

    _check_choice(llm, offline, model, rubric, human_from_ledger)
    if cache is None and not no_cache and llm is not None:
        cache = (
            settings(ctx)
            .file("the LLM cache (--cache FILE or --no-cache)")
            .with_suffix(".llm-cache.sqlite")
        )
    served = (
        None
        if llm is None or model is None
        else ServedModel(
            llm, model, api_key_env=api_key_env, concurrency=concurrency, timeout=timeout,
            retries=retries, allow_insecure=allow_insecure,
            cache=None if no_cache else cache,
        )
    )  # fmt: skip
    with executor(executor_) as ex, open_ledger(ctx) as led:
        candidates = Candidates.of(led)
        judge = make_judge(
            OFFLINE_JUDGES[offline] if offline is not None else "llm",
            candidates.human,
            judge_id=judge_id,
            order=order,
            alpha=threshold,
            served=served,
            rubric=rubric,
        )
        chosen = candidates.select(led, refs or [], generation=generation, origins=origin or [])
        with progress(f"judge {judge.id}", len(candidates.todo(judge.id, chosen))) as update:
            done = judge_records(led, judge, candidates, chosen, on_done=update, executor=ex)
    counts = JudgeCounts.of(done.results)
    unparseable = done.unparseable
    summary = {
        "judge": judge.id, "kind": judge.kind, "rubric": judge.rubric, "selected": len(chosen),
        "already_judged": len(chosen) - len(done.ids), "judged": counts.judged,
        "accepted": counts.accepted, "rejected": counts.rejected,
        "unparseable": counts.unparseable, "appended": sum(a.new for a in done.appended),
        "verdicts": [a.id for a in done.appended], "unparseable_records": unparseable,
    }  # fmt: skip
    if as_json:
        emit_json(summary)
        return
    keys = ("selected", "already_judged", "judged", "accepted", "rejected", "unparseable",
            "appended")  # fmt: skip
    row = [str(summary[k]) for k in keys]
    t = fit_table(f"keel judge run: {judge.id}", [k.replace("_", " ") for k in keys], [row])
    out.print(t)
    if unparseable:
        shown = ", ".join(i[:12] for i in unparseable[:10])
        more = f" and {len(unparseable) - 10} more" if len(unparseable) > 10 else ""
        err.print(
            f"[yellow]warning:[/] unparseable answers, no verdict (re-run with --no-cache to ask "
            f"again): {shown}{more}"
        )
