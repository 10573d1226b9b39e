"""`keel ingest`: append the rows of a JSONL, CSV or Parquet file, or of a Hugging Face dataset
on disk (`--hf`), as records."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.markup import escape

from keel.cli._common import ExecutorOption, emit_json, executor, open_ledger, out, progress, utf8
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
        Path | None,
        typer.Argument(
            help="A .jsonl, .csv or .parquet file, one record a row.", show_default=False
        ),
    ] = None,
    hf: Annotated[
        str | None,
        typer.Option(
            "--hf",
            metavar="PATH",
            help="Instead of FILE, a Hugging Face dataset on disk: a save_to_disk folder, a "
            "folder of Parquet shards, or a quoted glob of them such as 'data/train-*.parquet' "
            "(docs/hf.md).",
            callback=utf8,
        ),
    ] = None,
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
    executor_: ExecutorOption = "local",
) -> None:
    """Append every row of FILE (or of the dataset --hf names) as a record, in one transaction
    (all or nothing).

    Rows already in the ledger are reported with their existing ids, not appended twice. Parents
    are keel ids or external ids given earlier with --field id=COLUMN.
    """
    if (file is None) == (hf is None):
        raise InputError(
            "give FILE or --hf PATH, not both"
            if file is not None
            else "missing FILE: give a .jsonl, .csv or .parquet file, or --hf PATH"
        )
    if hf is not None and fmt is not None:
        raise InputError("--format is for FILE; --hf reads Arrow or Parquet shards as they are")
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
    from keel._input import hf_shards
    from keel.ledger import INGEST_FIELDS, Defaults, ingest
    from keel.ledger.ingest import ingest_hf

    defaults = Defaults(origin, prod, generation, author, _pairs(tag, "--tag"))
    fields = INGEST_FIELDS.parse(field)
    if hf is not None:
        shards = hf_shards(hf)  # refused before a ledger is created
        size, name = shards.size, hf
    else:
        assert file is not None
        if not file.is_file():
            raise InputError(f"{file}: no such file")
        size, name = file.stat().st_size, file.name
    with (
        executor(executor_) as ex,
        open_ledger(ctx, create=True) as led,
        progress(f"ingest {name}", size or None, counter="rows") as update,
    ):
        if hf is not None:
            report = ingest_hf(
                led,
                shards,
                fields_=fields,
                defaults=defaults,
                allow_unknown_parents=allow_unknown_parents,
                keep_ids=as_json,
                progress=lambda rows, done: update(done, count=rows),
                executor=ex,
            )
        else:
            assert file is not None
            report = ingest(
                led,
                file,
                fields_=fields,
                defaults=defaults,
                fmt=fmt,
                allow_unknown_parents=allow_unknown_parents,
                keep_ids=as_json,
                progress=lambda rows, done: update(done, count=rows),
                executor=ex,
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
