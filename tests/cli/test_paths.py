"""Every command, given a path that is missing, a folder, or unwritable, says so in one line
and exits 2 before doing any work (the fuzz tests cover bad file contents)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from keel_cli import Cli

UNWRITABLE = "/proc/keel-cannot-write-here"


@pytest.fixture
def place(tmp_path: Path, cli: Cli) -> Path:
    """A folder with a signed ledger holding entry `a`, a judge table and a generation file."""
    db = tmp_path / "keel.db"
    cli.ok("ledger", "key", "init", "--origin", "example.com/paths", db=db)
    (tmp_path / "t.jsonl").write_text('{"id": "a", "text": "hello"}\n')
    cli.ok("ingest", str(tmp_path / "t.jsonl"), "--origin", "human", "--field", "id=id", db=db)
    (tmp_path / "v.csv").write_text(
        "human,judge_a\n" + "".join(f"{i % 2},{(i // 3) % 2}\n" for i in range(40))
    )
    (tmp_path / "gen.txt").write_text("".join(f"line {i} of text\n" for i in range(50)))
    (tmp_path / "existing").write_text("x")
    return tmp_path


OUTPUTS: dict[str, tuple[str, ...]] = {
    "entry": ("ledger", "entry", "a", "--raw", "-o"),
    "prove": ("ledger", "prove", "a", "-o"),
    "payload": ("ledger", "payload", "a", "-o"),
    "checkpoint": ("ledger", "checkpoint", "-o"),
    "audit html": ("judge", "audit", "{v.csv}", "--human", "human", "--resamples", "10", "--html"),
    "watch html": ("watch", "{gen.txt}", "--reference", "{gen.txt}", "--html"),
    "simulate html": ("simulate", "--generations", "1", "--html"),
}
BAD_OUTPUTS = {
    "missing folder": "{missing}/sub/out",
    "a folder": "{folder}",
    "unwritable": UNWRITABLE,
}
FOLDERS: dict[str, tuple[str, ...]] = {  # outputs that are folders, created when missing
    "simulate texts": ("simulate", "--model", "ngram", "--generations", "1", "--write-texts"),
    "demo": ("demo", "--generations", "1", "--out"),
}
BAD_FOLDERS = {"a file": "{existing}", "unwritable": UNWRITABLE}


def _args(place: Path, args: tuple[str, ...]) -> list[str]:
    return [str(place / a[1:-1]) if a.startswith("{") and a.endswith("}") else a for a in args]


def _one_clean_line(code: int, err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    return lines[0]


@pytest.mark.parametrize("bad", BAD_OUTPUTS)
@pytest.mark.parametrize("command", OUTPUTS)
def test_bad_output_paths_are_one_clean_line(place: Path, cli: Cli, command: str, bad: str) -> None:
    folder = place / "a-folder"
    folder.mkdir()
    target = BAD_OUTPUTS[bad].format(missing=place / "missing", folder=folder)
    code, _, err = cli(*_args(place, OUTPUTS[command]), target, db=place / "keel.db")
    _one_clean_line(code, err)


@pytest.mark.parametrize("bad", BAD_FOLDERS)
@pytest.mark.parametrize("command", FOLDERS)
def test_bad_output_folders_are_refused_before_any_work(
    place: Path, cli: Cli, command: str, bad: str
) -> None:
    target = BAD_FOLDERS[bad].format(existing=place / "existing")
    start = time.monotonic()
    code, _, err = cli(*_args(place, FOLDERS[command]), target, db=place / "keel.db")
    _one_clean_line(code, err)
    assert time.monotonic() - start < 5  # refused before the run, not after it


INPUTS: dict[str, tuple[str, ...]] = {
    "ingest": ("ingest", "{}", "--origin", "human"),
    "audit": ("judge", "audit", "{}"),
    "correct": ("judge", "correct", "{}"),
    "watch": ("watch", "{}", "--reference", "fortunes"),
    "loop": ("loop", "run", "{}"),
    "verify-proof": ("ledger", "verify-proof", "{}", "{}", "--key", "example.com/x+01234567+AQ=="),
    "add-mix": ("ledger", "add-mix", "{}"),
    "add-run": ("ledger", "add-run", "a", "--model", "m", "--artifact", "{}"),
}


@pytest.mark.parametrize("bad", ["missing", "an empty folder"])
@pytest.mark.parametrize("command", INPUTS)
def test_bad_input_paths_are_one_clean_line(place: Path, cli: Cli, command: str, bad: str) -> None:
    (place / "empty").mkdir()
    target = str(place / ("nothing-here" if bad == "missing" else "empty"))
    args = [target if a == "{}" else a for a in INPUTS[command]]
    code, _, err = cli(*args, db=place / "keel.db")
    _one_clean_line(code, err)


@pytest.mark.parametrize("db", ["{missing}/sub/keel.db", "{folder}"])
def test_a_bad_ledger_path_is_one_clean_line(place: Path, cli: Cli, db: str) -> None:
    path = Path(db.format(missing=place / "missing", folder=place))
    for args in (("ledger", "info"), ("ingest", str(place / "t.jsonl"), "--origin", "human")):
        code, _, err = cli(*args, db=path)
        _one_clean_line(code, err)
