"""`keel experts ...`: reviewers' reputation from the log; reviews from labelling tools."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from keel.cli._common import emit_json, open_ledger, out, utf8

app = typer.Typer(
    help="Expert reviewers: their reputation from the ledger, reviews from labelling tools."
)


@app.command("import")
def import_command(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="An Argilla 2.x or Label Studio JSON export (or JSON Lines).")
    ],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="argilla or labelstudio (default: told from the items)."),
    ] = None,
    question: Annotated[
        str | None,
        typer.Option(
            help="The label question whose answers are the decisions (default: the first "
            "choices question; for Argilla, the first question answered mostly with decision "
            "words).",
            callback=utf8,
        ),
    ] = None,
    rationale: Annotated[
        str | None,
        typer.Option(
            help="The text question whose answers are the rationales (default: the first "
            "textarea, else a question named rationale, comment, reason, explanation, "
            "feedback or note).",
            callback=utf8,
        ),
    ] = None,
    text_field: Annotated[
        str | None,
        typer.Option(
            help="The item field holding the reviewed text, for items without a keel_id "
            "(default: text, else the item's only text field).",
            callback=utf8,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for pipelines.")] = False,
) -> None:
    """Append the reviews in FILE as expert verdicts, all in one transaction or none.

    Each item names its record by keel_id (Argilla metadata or record id; Label Studio data or
    meta), else by its exact text. Answers map to accept, reject or degenerate; discarded or
    draft responses and cancelled annotations are skipped. Unknown, ambiguous or malformed
    items and a reviewer twice on one record are all reported, and then nothing is appended
    (exit 2). Imported verdicts are unsigned and belong to no keel review round.
    """
    from keel.experts.imports import import_reviews, read_export

    reviews = read_export(file, fmt, question, rationale=rationale, text_field=text_field)
    with open_ledger(ctx) as led:
        report = import_reviews(led, reviews)
        total = led.size
    skipped = ", ".join(f"{n} {why}" for why, n in sorted(report.skipped.items()))
    if as_json:
        emit_json(
            {
                "file": str(file),
                "reviews": report.reviews,
                "verdicts": list(report.verdicts),
                "appended": report.appended,
                "existing": report.existing,
                "skipped": dict(report.skipped),
                "reviewers": list(report.reviewers),
                "records": report.records,
                "matched_by_text": report.by_text,
                "ledger_size": total,
            }
        )
        return
    out.print(
        f"{escape(str(file))}: {report.reviews:,} answers, {len(report.verdicts):,} verdicts by "
        f"{len(report.reviewers):,} reviewers on {report.records:,} records: "
        f"[green]{report.appended:,} appended[/], "
        f"{report.existing:,} already in the ledger"
        + (f"; skipped {skipped}" if skipped else "")
        + f"; ledger size {total:,}"
    )


def _fmt(x: float, spec: str) -> str:
    return "–" if math.isnan(x) else format(x, spec)


@app.command("reputation")
def reputation_command(
    ctx: typer.Context,
    fast: Annotated[
        float, typer.Option(help="Flag a reviewer whose median seconds per item is below this.")
    ] = 3.0,
    min_shared: Annotated[
        int, typer.Option(help="Pairs of reviewers need this many shared items for a κ.")
    ] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for pipelines.")] = False,
) -> None:
    """Every reviewer's reputation, recomputed from the ledger alone (docs/review.md)."""
    from keel.experts.rounds import reputation_of

    with open_ledger(ctx, readonly=True) as led:
        rep = reputation_of(led, fast_seconds=fast, min_shared=min_shared)
    if as_json:
        emit_json(rep.to_json())
        return
    table = Table(box=box.SIMPLE_HEAD)
    for name in ("reviewer", "decisions", "gold", "gold bound", "Dawid–Skene", "peer",
                 "median s", "weight"):  # fmt: skip
        table.add_column(name, justify="left" if name == "reviewer" else "right")
    for r in rep.reviewers:
        table.add_row(
            escape(r.reviewer) + (" [yellow](fast)[/]" if r.too_fast else ""),
            f"{r.n:,}",
            f"{r.gold_correct}/{r.gold_n}",
            _fmt(r.gold_lower, ".2f"),
            _fmt(r.ds_accuracy, ".2f"),
            _fmt(r.peer, "+.3f"),
            _fmt(r.median_seconds, ".1f"),
            f"{r.weight:.2f}",
        )
    out.print(table)
    out.print(
        f"Krippendorff's α {_fmt(rep.alpha, '.3f')} over items with 2+ decisions; "
        f"{len(rep.kappa)} pairs with a κ; from the ledger's first {rep.covers:,} entries"
    )
