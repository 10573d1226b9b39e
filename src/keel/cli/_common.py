"""What every command shares: settings from the root options, consoles, JSON output."""

from __future__ import annotations

import math
import sys
import textwrap
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Protocol

import orjson
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from keel._files import check_output, write_file
from keel.errors import InputError
from keel.ledger import Ledger, ledger_files
from keel.ledger.postgres import is_postgres_url, safe_url

if TYPE_CHECKING:
    from keel.scale import Executor

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass(frozen=True, slots=True)
class Settings:
    """Options of the root command. A command that reads them takes `ctx: typer.Context`, and
    so also takes --db and --key-file after its name, where they win (`keel.cli._adjust`)."""

    db: str
    """--db / KEEL_DB as given: an SQLite file's path or a `postgresql://` URL."""
    key_file: Path | None

    @property
    def location(self) -> str | Path:
        """The ledger as `Ledger.open` takes it: the URL, or the SQLite file's path."""
        return self.db if is_postgres_url(self.db) else Path(self.db)

    @property
    def shown(self) -> str:
        """The ledger for messages and --json: the path, or the URL without its password."""
        return safe_url(self.db) if is_postgres_url(self.db) else self.db

    def file(self, what: str) -> Path:
        """The SQLite file, for `what`, which keeps a file beside the ledger; a PostgreSQL
        ledger has no folder, so that is an `InputError` saying to name the file."""
        if is_postgres_url(self.db):
            raise InputError(
                f"{what} keeps a file beside the ledger, and a PostgreSQL ledger has no folder: "
                "name the file with its option"
            )
        return Path(self.db)


def settings(ctx: typer.Context) -> Settings:
    obj = ctx.find_root().obj
    assert isinstance(obj, Settings)
    return obj


def open_ledger(ctx: typer.Context, *, create: bool = False, readonly: bool = False) -> Ledger:
    """Open the ledger named by --db / KEEL_DB (refusing to create one unless asked);
    `readonly` for commands that only read: they never wait on a writer."""
    s = settings(ctx)
    return Ledger.open(s.location, create=create, readonly=readonly, key_path=s.key_file)


def _flag(param: typer.CallbackParam) -> str:
    """A parameter as the user wrote it: an option's long flag, an argument's upper-case name."""
    if param.param_type_name == "option":
        return max(param.opts, key=len)
    return (param.name or "").upper()


def bounded(
    low: float = -math.inf, high: float = math.inf
) -> Callable[[typer.CallbackParam, float | None], float | None]:
    """An option callback that refuses NaN and values outside [low, high] as one `InputError`
    line (exit 2); the limit belongs in the option's help text."""
    if math.isinf(low) and math.isinf(high):
        allowed = "a number (not NaN)"
    else:
        allowed = f"a number from {low:,} to {high:,}"

    def check(param: typer.CallbackParam, value: float | None) -> float | None:
        if value is not None and not low <= value <= high:
            raise InputError(f"{_flag(param)} {value}: use {allowed}")
        return value

    return check


def utf8(param: typer.CallbackParam, value: str | None) -> str | None:
    """A parameter callback that refuses text that is not valid UTF-8 (undecodable bytes on the
    command line arrive as lone surrogates) as one `InputError` line (exit 2)."""
    if value is not None:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InputError(
                f"{_flag(param)} is not valid UTF-8 (character {exc.start + 1}): keel keeps "
                "text as UTF-8; pass the text in a UTF-8 locale"
            ) from exc
    return value


def emit_json(value: object) -> None:
    """Print a JSON document on stdout (for pipelines)."""
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def refreshed_output(value: Path | None) -> Path | None:
    """An option callback for outputs that are replaced when they exist (report pages): a bad
    path is refused before the command does its work (`keel._files.check_output`)."""
    if value is not None:
        check_output(value, force=True)
    return value


def check_out(ctx: typer.Context, path: Path | None, *, force: bool) -> None:
    """Refuse a bad output path before the command does its work (see `write_bytes`)."""
    if path is not None:
        s = settings(ctx)
        check_output(path, force=force, protect=ledger_files(s.location, s.key_file))


def write_bytes(ctx: typer.Context, data: bytes, path: Path | None, *, force: bool) -> None:
    """Write `data` to `path` (atomically, never over the ledger's own files, an existing file
    only with `force`), or exactly to stdout when no path is given."""
    if path is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        s = settings(ctx)
        write_file(path, data, force=force, protect=ledger_files(s.location, s.key_file))


def _executor_spec(value: str) -> str:
    from keel.scale import check_spec

    return check_spec(value)


ExecutorOption = Annotated[
    str,
    typer.Option(
        "--executor",
        callback=_executor_spec,
        help="Where the heavy work runs: local; ray (a new local Ray cluster, or the one in "
        "RAY_ADDRESS); or a Ray cluster's address (ray://HOST:10001). Ray needs the scale "
        "extra; the results are the same.",
    ),
]


@contextmanager
def executor(spec: str) -> Iterator[Executor | None]:
    """The executor `--executor` names (None for local), let go of at the end."""
    if spec == "local":
        yield None
        return
    from keel.scale import executor_for

    with executor_for(spec) as ex:
        yield ex


class Update(Protocol):
    """Moves a progress bar to `done` of `total` (None: unchanged) and its second count."""

    def __call__(self, done: float, total: float | None = None, *, count: int = 0) -> None: ...


@contextmanager
def progress(
    description: str, total: float | None, *, counter: str | None = None
) -> Iterator[Update]:
    """A transient progress bar on stderr, shown only on a terminal; yields its `Update`.

    `counter` names a second count shown beside the bar (e.g. rows read while the bar counts
    bytes); without it `count` is ignored.
    """
    columns: list[ProgressColumn] = [
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
    ]
    if counter is not None:
        columns += [TextColumn(f"{counter} {{task.fields[count]:,}}"), TimeElapsedColumn()]
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(description, total=total, count=0)

        def update(done: float, total: float | None = None, *, count: int = 0) -> None:
            bar.update(task, completed=done, total=total, count=count)

        yield update


def fit_table(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    optional: Sequence[Collection[int]] = (),
) -> Table:
    """A table whose cells never wrap, as wide as the terminal allows.

    Headers wrap at spaces to their column's widest cell; the `optional` groups of columns
    (indices) are left out, group by group, until the table fits, and a caption says which.
    """
    left_out: set[int] = set()
    for group in [(), *optional]:
        left_out |= set(group)
        table = Table(title=title)
        for i, head in enumerate(headers):
            if i not in left_out:
                cells = max((Text.from_markup(r[i]).cell_len for r in rows), default=1)
                lines = textwrap.wrap(head, max(cells, 1), break_long_words=False) or [""]
                table.add_column("\n".join(lines), no_wrap=True)
        for r in rows:
            table.add_row(*(c for i, c in enumerate(r) if i not in left_out))
        if out.measure(table, options=out.options.update_width(1 << 16)).maximum <= out.width:
            break
    if left_out:
        names = ", ".join(dict.fromkeys(headers[i] for i in sorted(left_out)))
        note = f"left out to fit {out.width} columns: {names} (see --json)"
        table.caption = Text(note, no_wrap=False, overflow="fold")
    return table
