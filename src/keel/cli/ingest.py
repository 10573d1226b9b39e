"""`keel ingest`: append the rows of a JSONL, CSV or Parquet file as records."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.markup import escape

from keel.cli._common import emit_json, open_ledger, out, progress
from keel.errors import InputError
from keel.records import JSON, Producer, as_digest, parse_json


def _pairs(items: list[str], what: str) -> dict[str, JSON]:
    """KEY=VALUE options: VALUE as JSON (refused if keel would not log it exactly), else text."""
    out_: dict[str, JSON] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise InputError(f"{what} {item!r}: expected KEY=VALUE")
        try:
            out_[key] = parse_json(raw, f"{what} {key}")
        except orjson.JSONDecodeError:
            out_[key] = raw
    return out_


def ingest_command(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="A .jsonl, .csv or .parquet file, one record a row.")
    ],
    origin: Annotated[
        str | None,
        typer.Option(help="human, expert or synthetic, for rows without an 'origin' field."),
    ] = None,
    producer: Annotated[
        str | None, typer.Option(help="Model that produced the rows (synthetic data).")
    ] = None,
    producer_version: Annotated[str | None, typer.Option(help="The producer's version.")] = None,
    param: Annotated[
        list[str], typer.Option(help="Sampling parameter KEY=VALUE of the producer (repeatable).")
    ] = [],  # noqa: B006
    prompt_sha256: Annotated[
        str | None, typer.Option(help="SHA-256 of the prompt template used (64 hex digits).")
    ] = None,
    generation: Annotated[int | None, typer.Option(help="Generation number of the rows.")] = None,
    author: Annotated[str | None, typer.Option(help="Author of the rows (human data).")] = None,
    tag: Annotated[list[str], typer.Option(help="Tag KEY=VALUE for every row (repeatable).")] = [],  # noqa: B006
    field: Annotated[
        list[str],
        typer.Option(
            help="Map a part to a column: PART=COLUMN, PART one of text, json, id, parents, "
            "origin, author, producer, generation, tags (repeatable)."
        ),
    ] = [],  # noqa: B006
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="jsonl, csv or parquet (default: from the suffix)."),
    ] = None,
    allow_unknown_parents: Annotated[
        bool,
        typer.Option(
            "--allow-unknown-parents",
            help="Accept parents that are not in the ledger (not recorded as links).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the ids as JSON.")] = False,
) -> None:
    """Append every row of FILE as a record, in one transaction (all or nothing).

    Rows already in the ledger are reported with their existing ids, not appended twice. Parents
    are keel ids or external ids given earlier with --field id=COLUMN.
    """
    prod = None
    if producer is not None:
        prod = Producer(
            producer,
            producer_version,
            _pairs(param, "--param"),
            None if prompt_sha256 is None else as_digest(prompt_sha256, "--prompt-sha256"),
        )
    elif param or producer_version or prompt_sha256:
        raise InputError("--param, --producer-version and --prompt-sha256 need --producer")
    from keel.ledger import INGEST_FIELDS, Defaults, ingest

    defaults = Defaults(origin, prod, generation, author, _pairs(tag, "--tag"))
    if not file.is_file():
        raise InputError(f"{file}: no such file")
    size = file.stat().st_size
    with (
        open_ledger(ctx, create=True) as led,
        progress(f"ingest {file.name}", size or None, counter="rows") as update,
    ):
        report = ingest(
            led,
            file,
            fields_=INGEST_FIELDS.parse(field),
            defaults=defaults,
            fmt=fmt,
            allow_unknown_parents=allow_unknown_parents,
            keep_ids=as_json,
            progress=lambda rows, done: update(done, count=rows),
        )
        total = led.size
    if as_json:
        emit_json(
            {
                "file": report.path,
                "rows": report.rows,
                "appended": report.ids,
                "existing": report.existing_ids,
                "ledger_size": total,
            }
        )
        return
    out.print(
        f"{escape(report.path)}: {report.rows:,} rows, [green]{report.appended:,} appended[/], "
        f"{report.existing:,} already in the ledger; ledger size {total:,}"
    )
