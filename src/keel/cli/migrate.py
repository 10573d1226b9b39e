"""`keel ledger migrate`: copy this ledger into a new PostgreSQL database and check the copy."""

from __future__ import annotations

from typing import Annotated

import typer

from keel.cli._common import emit_json, err, open_ledger, out, progress, settings
from keel.errors import InputError
from keel.ledger import Ledger
from keel.ledger.migrate import migrate
from keel.ledger.postgres import is_postgres_url, safe_url


def migrate_command(
    ctx: typer.Context,
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="libpq URL of a new, empty PostgreSQL database, e.g. "
            "postgresql://keel@db.example.com/keel.",
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for pipelines.")] = False,
) -> None:
    """Copy the ledger (entries, payloads and erasures, checkpoints) into PostgreSQL; check
    that its root and every checkpoint are the same there. Refuses a target that is not empty."""
    if not is_postgres_url(to):
        raise InputError(f"--to {to!r}: give a postgresql:// URL of a new, empty database")
    with open_ledger(ctx, readonly=True) as source:
        total = source.size
        with Ledger.open(to) as target, progress("copying entries", total) as update:
            done = migrate(source, target, progress=update)
    key = settings(ctx).key_file or source.key_path
    if as_json:
        emit_json(
            {
                "to": safe_url(to),
                "size": done.size,
                "root": done.root,
                "payloads": done.payloads,
                "redacted": done.redacted,
                "checkpoints": done.checkpoints,
                "aliases": done.aliases,
            }
        )
        return
    out.print(
        f"copied {done.size:,} entries, {done.payloads:,} payloads ({done.redacted:,} redacted) "
        f"and {done.checkpoints:,} checkpoints to {safe_url(to)}; root {done.root} and every "
        "checkpoint match, and the copy verifies"
    )
    err.print(f"sign there with the same key file: keel --db URL --key-file {key} ...")
