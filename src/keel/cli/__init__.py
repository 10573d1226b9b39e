"""The `keel` command: parses arguments, calls the library, prints tables or JSON."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from keel import __version__
from keel.cli import _common, collapse, ingest, judge, ledger, loop, mix
from keel.errors import KeelError

app = typer.Typer(
    name="keel",
    help="Keep AI-trains-AI loops anchored to verified human data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(ledger.app, name="ledger")
app.add_typer(judge.app, name="judge")
app.add_typer(mix.app, name="mix")
app.add_typer(loop.app, name="loop")
app.command("demo")(loop.demo_command)
app.command("ingest")(ingest.ingest_command)
app.command("watch")(collapse.watch_command)
app.command("simulate")(collapse.simulate_command)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"keel {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    db: Annotated[
        Path,
        typer.Option("--db", envvar="KEEL_DB", help="Ledger database file.", show_default=True),
    ] = Path("keel.db"),
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            envvar="KEEL_KEY",
            help="The ledger's signing key file (default: the database path with .key).",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    ctx.obj = _common.Settings(db=db, key_file=key_file)


class _Warnings(logging.Handler):
    """Shows the library's warnings (a writer waiting for another, an unfinished erasure)."""

    def emit(self, record: logging.LogRecord) -> None:
        _common.err.print(Text.assemble(("warning:", "yellow"), " ", record.getMessage()))


def main(argv: list[str] | None = None) -> int:
    """Run the command line; user errors print one clean line and set the exit code."""
    log = logging.getLogger("keel")
    if not any(isinstance(h, _Warnings) for h in log.handlers):
        log.addHandler(_Warnings(logging.WARNING))
    try:
        app(args=argv, prog_name="keel")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except KeelError as exc:
        _common.err.print(Text.assemble(("error:", "bold red"), " ", str(exc)))
        return exc.exit_code
    except BrokenPipeError:
        return 0
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
