"""The `keel` command: parses arguments, calls the library, prints tables or JSON."""

from __future__ import annotations

import inspect
import logging
import sys
import typing
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text
from typer.core import TyperCommand, TyperGroup, TyperOption

from keel import __version__
from keel.cli import (
    _common,
    collapse,
    experts,
    ingest,
    judge,
    ledger,
    loop,
    mix,
    review,
    rlaif,
    witness,
)
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
app.add_typer(experts.app, name="experts")
app.add_typer(loop.app, name="loop")
app.add_typer(review.app, name="review")
app.add_typer(witness.app, name="witness")
app.add_typer(rlaif.app, name="rlaif")
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
        str,
        typer.Option(
            "--db",
            envvar="KEEL_DB",
            help="The ledger: an SQLite file, or a postgresql:// URL (keel's postgres extra); "
            "may also follow a command that uses it (the later one wins).",
            show_default=True,
        ),
    ] = "keel.db",
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            envvar="KEEL_KEY",
            help="The ledger's signing key file (default: the database path with its suffix "
            "replaced by .key, keel.key for keel.db); may also follow a command that uses it "
            "(the later one wins).",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    ctx.obj = _common.Settings(db=db, key_file=key_file)


def _db_after(ctx: typer.Context, value: str | None) -> None:
    if value is not None:
        ctx.find_root().obj = replace(_common.settings(ctx), db=value)


def _key_file_after(ctx: typer.Context, value: Path | None) -> None:
    if value is not None:
        ctx.find_root().obj = replace(_common.settings(ctx), key_file=value)


def _after_command(
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="The ledger: an SQLite file or a postgresql:// URL (default: a --db before the "
            "command, KEEL_DB, else keel.db).",
            callback=_db_after,
            rich_help_panel="Ledger",
        ),
    ] = None,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            help="The ledger's signing key file (default: a --key-file before the command, "
            "KEEL_KEY, else the database path with its suffix replaced by .key).",
            callback=_key_file_after,
            rich_help_panel="Ledger",
        ),
    ] = None,
) -> None:
    """Never run: its parameters are the root's ledger options, repeated after the name of
    each command that opens a ledger (`_ledger_options`)."""


def _ledger_options() -> list[TyperOption]:
    """--db and --key-file for after a command's name. Their values are not passed to the
    command: their callbacks replace the root's `Settings` (made before them), so a value after
    the command wins over one before it. Click parses them with the command's other options,
    so an option's value (`--field x=--db`) or anything after `--` is never taken for them."""
    holder = typer.Typer(add_completion=False)
    holder.command()(_after_command)
    options = [p for p in typer.main.get_command(holder).params if isinstance(p, TyperOption)]
    for option in options:
        option.expose_value = False
    return options


def _opens_ledger(command: TyperCommand) -> bool:
    """Whether the command reads the root's `Settings`: the commands that do take the context
    (`ctx: typer.Context`) for `_common.settings`."""
    if command.callback is None:
        return False
    return typer.Context in typing.get_type_hints(inspect.unwrap(command.callback)).values()


def _adjust(command: TyperCommand | TyperGroup, ledger_options: list[TyperOption]) -> None:
    """Two changes to `app`'s click commands that typer has no setting for: each command that
    opens a ledger also takes `ledger_options` after its name, and flags (options that take no
    value, --help included) show no `<bool>` type in --help."""
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            assert isinstance(sub, TyperCommand | TyperGroup)
            _adjust(sub, ledger_options)
    elif _opens_ledger(command):
        command.params.extend(ledger_options)
    help_option = command.get_help_option(typer.Context(command))
    for param in [*command.params, help_option]:
        if isinstance(param, TyperOption) and param.is_flag and not param.count:
            param.metavar = ""


class _Warnings(logging.Handler):
    """Shows the library's warnings (a writer waiting for another, an unfinished erasure)."""

    def emit(self, record: logging.LogRecord) -> None:
        _common.err.print(Text.assemble(("warning:", "yellow"), " ", record.getMessage()))


def _error(message: str) -> None:
    _common.err.print(Text.assemble(("error:", "bold red"), " ", message))


def _usage_error(exc: typer.TyperException) -> int:
    """Click's own errors (an unknown option, a missing argument, a value not among the
    choices) as keel prints every error: one `error:` line, here naming the command's --help."""
    if type(exc).__name__ == "NoArgsIsHelpError":  # as typer tells it: the help is printed
        return exc.exit_code
    message = exc.format_message().strip().rstrip(".")
    if message[1:2].islower():
        message = message[0].lower() + message[1:]
    path = getattr(getattr(exc, "ctx", None), "command_path", None)
    _error(f"{message}; see '{path} --help'" if isinstance(path, str) else message)
    return exc.exit_code


def command() -> TyperGroup:
    """The click command that `main` runs: `app` with `_adjust`'s changes."""
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    _adjust(root, _ledger_options())
    return root


def main(argv: list[str] | None = None) -> int:
    """Run the command line; user errors print one clean line and set the exit code."""
    log = logging.getLogger("keel")
    if not any(isinstance(h, _Warnings) for h in log.handlers):
        log.addHandler(_Warnings(logging.WARNING))
    try:
        code = command().main(args=argv, prog_name="keel", standalone_mode=False)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except KeelError as exc:
        _error(str(exc))
        return exc.exit_code
    except typer.TyperException as exc:
        return _usage_error(exc)
    except typer.Abort:
        _error("aborted")
        return 1
    except BrokenPipeError:
        return 0
    return code if isinstance(code, int) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
