"""`keel ledger import-verdicts`: append verdicts in bulk from tables or eval tools' logs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from keel.cli._common import emit_json, open_ledger, out, progress, utf8
from keel.errors import InputError


def _utf8_each(param: typer.CallbackParam, values: list[str]) -> list[str]:
    """`utf8` for each value of a repeatable option."""
    for value in values:
        utf8(param, value)
    return values


def import_verdicts_command(
    ctx: typer.Context,
    files: Annotated[
        list[Path],
        typer.Argument(
            help="CSV, JSONL or Parquet files, one verdict a row; with --from, eval logs."
        ),
    ],
    field: Annotated[
        list[str],
        typer.Option(
            help="Map a part to a column: PART=COLUMN, PART one of record, judge, kind, label, "
            "score, rationale, rubric (repeatable; default: the column of the part's name).",
            callback=_utf8_each,
        ),
    ] = [],  # noqa: B006
    judge: Annotated[
        str | None,
        typer.Option(help="The judge of rows without a judge value.", callback=utf8),
    ] = None,
    kind: Annotated[str, typer.Option(help="ai or expert, for rows without a kind value.")] = "ai",
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="jsonl, csv or parquet (default: from the suffix)."),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Read eval logs instead of tables: inspect (Inspect AI .eval/.json logs) or "
            "lm-eval (lm-evaluation-harness samples_*.jsonl from --log_samples).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for pipelines.")] = False,
) -> None:
    """Append every row of FILES as a verdict, all in one transaction or none (docs/import.md).

    A row names its record by entry id, external id or payload digest. Any row that cannot be
    logged (unknown record, bad score, no judge) is reported with its file and line, and then
    nothing is appended (exit 2). Verdicts already in the ledger are not appended again.
    """
    if source is not None:
        if field or judge or fmt:
            given = "--field" if field else "--judge" if judge else "--format"
            raise InputError(
                f"{given} maps the columns of a table; --from {source} reads an eval log whose "
                "judges and records the log names (docs/import.md): drop it"
            )
        from keel.judges.evals import eval_verdicts

        rows = eval_verdicts(files, source, kind=kind)
    else:
        from keel.ledger.verdicts import VERDICT_FIELDS, read_files

        rows = read_files(files, VERDICT_FIELDS.parse(field), judge=judge, kind=kind, fmt=fmt)
    from keel.ledger.verdicts import import_verdicts

    with (
        open_ledger(ctx) as led,
        progress("import verdicts", None, counter="rows") as update,
    ):
        report = import_verdicts(led, rows, keep_ids=as_json, progress=lambda n: update(0, count=n))
        total = led.size
    found = ", ".join(f"{n:,} by {how}" for how, n in sorted(report.found.items()))
    skipped = ", ".join(f"{n:,} {why}" for why, n in sorted(report.skipped.items()))
    if as_json:
        emit_json(
            {
                "files": [str(f) for f in files],
                "rows": report.rows,
                "appended": report.appended,
                "existing": report.existing,
                "verdicts": list(report.ids),
                "found": dict(report.found),
                "skipped": dict(report.skipped),
                "ledger_size": total,
            }
        )
        return
    names = escape(", ".join(str(f) for f in files))
    out.print(
        f"{names}: {report.rows:,} rows, [green]{report.appended:,} appended[/], "
        f"{report.existing:,} already in the ledger"
        + (f"; records found {found}" if found else "")
        + (f"; skipped {skipped}" if skipped else "")
        + f"; ledger size {total:,}"
    )
