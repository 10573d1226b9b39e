"""`keel ledger export-tiles` and `keel ledger serve`: the ledger as a c2sp.org/tlog-tiles log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from keel.cli._common import emit_json, err, open_ledger, out, progress, settings
from keel.errors import InputError
from keel.ledger.export_tiles import export_tiles


def export_tiles_command(
    ctx: typer.Context,
    directory: Annotated[
        Path,
        typer.Argument(help="The tile log folder: new, empty, or one an earlier export wrote."),
    ],
    payloads: Annotated[
        bool,
        typer.Option(
            "--payloads",
            help="Also write the payload bytes entries commit to, as payload/<sha256> "
            "(never redacted ones).",
        ),
    ] = False,
    no_sign: Annotated[
        bool,
        typer.Option(
            "--no-sign",
            help="Publish the latest checkpoint already signed instead of signing one of the "
            "whole log (no signing key needed).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for pipelines.")] = False,
) -> None:
    """Write the ledger as a static c2sp.org/tlog-tiles log (docs/transparency.md#tiles).

    Only what the folder lacks is written; the checkpoint is replaced last, so a reader of the
    folder never sees a checkpoint whose tiles are missing.
    """
    with (
        open_ledger(ctx, readonly=no_sign) as led,
        progress("export tiles", None) as update,
    ):
        report = export_tiles(
            led,
            directory,
            sign=not no_sign,
            payloads=payloads,
            progress=update,
        )
    if as_json:
        emit_json(
            {
                "path": str(report.path),
                "origin": report.origin,
                "size": report.size,
                "root": report.root,
                "previous_size": report.previous_size,
                "tiles": report.tiles,
                "bundles": report.bundles,
                "payloads": report.payloads,
                "bytes": report.bytes,
                "removed": report.removed,
            }
        )
        return
    if report.size == report.previous_size and not report.bytes:
        out.print(f"{escape(str(directory))} already holds the tree of size {report.size:,}")
        return
    out.print(
        f"{escape(str(directory))}: tree of size {report.size:,} (was {report.previous_size:,}), "
        f"root {report.root}; wrote {report.tiles:,} hash tile(s), "
        f"{report.bundles:,} entry bundle(s)"
        + (f", {report.payloads:,} payload(s)" if payloads else "")
        + f" ({report.bytes:,} bytes)"
        + (f"; removed {report.removed:,} superseded or redacted file(s)" if report.removed else "")
    )


def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8080,
    payloads: Annotated[
        bool,
        typer.Option("--payloads", help="Also serve /payload/<sha256> (never redacted ones)."),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="Do not log each request.")] = False,
) -> None:
    """Serve the ledger read-only over HTTP as a c2sp.org/tlog-tiles log, plus /entry/<id>
    and /receipt/<id> (docs/transparency.md#tiles); stop with Ctrl-C."""
    from keel.ledger.tile_server import TileServer  # http.server: loaded only to serve

    try:
        server = TileServer(settings(ctx).location, (host, port), payloads=payloads, quiet=quiet)
    except OSError as exc:
        raise InputError(
            f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port"
        ) from exc
    err.print(
        f"serving {escape(settings(ctx).shown)} at http://{host}:{server.server_port}/ "
        "(checkpoint, tile/..., entry/<id>, receipt/<id>"
        + (", payload/<sha256>)" if payloads else ")")
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
