"""What every command says and how it fails: --help texts without typer's noise, --db and
--key-file before or after the command, click's usage errors as one `error:` line, and
`keel ledger info` without a `None`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.core import TyperCommand, TyperGroup

from keel.cli import command
from keel_cli import Cli


def commands(
    cmd: TyperCommand | TyperGroup, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], TyperCommand | TyperGroup]]:
    yield path, cmd
    if isinstance(cmd, TyperGroup):
        for name, sub in cmd.commands.items():
            assert isinstance(sub, TyperCommand | TyperGroup)
            yield from commands(sub, (*path, name))


COMMANDS = dict(commands(command()))
OPENS_LEDGER = {
    "ingest",
    "watch",
    "ledger",
    "mix",
    "judge run",
    "judge audit",
    "review",
    "experts",
    "rlaif pairs",
    "rlaif audit",
    "rlaif reward fit",
}


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KEEL_DB", raising=False)
    monkeypatch.delenv("KEEL_KEY", raising=False)
    monkeypatch.setenv("COLUMNS", "100")
    return Cli(capsys)


def test_the_walk_finds_every_command() -> None:
    assert {"ledger key init", "judge run", "mix build", "loop run", "demo", "simulate"} <= {
        " ".join(p) for p in COMMANDS
    }


@pytest.mark.parametrize("path", list(COMMANDS), ids=lambda p: " ".join(p) or "keel")
def test_help_reads_cleanly(cli: Cli, path: tuple[str, ...]) -> None:
    code, text, _ = cli(*path, "--help")
    assert code == 0
    assert "Usage: keel" in text
    for noise in ("<bool>", "[default: False]", "[default: True]", "()", "--no-allow-"):
        assert noise not in text
    assert not re.search(r"\w \.(\s|$)", text), "a space before a full stop"
    cmd = COMMANDS[path]
    texts = [cmd.help or "", *(getattr(p, "help", None) or "" for p in cmd.params)]
    for t in filter(None, texts):
        first = t.split("\n\n")[0]
        assert "  " not in " ".join(first.splitlines()), t  # no stray double space
        assert "[" not in t, t  # rich markup: square brackets vanish from the help
        assert first.rstrip().endswith("."), t


@pytest.mark.parametrize("path", list(COMMANDS), ids=lambda p: " ".join(p) or "keel")
def test_ledger_options_follow_each_command_that_opens_a_ledger(path: tuple[str, ...]) -> None:
    cmd = COMMANDS[path]
    if isinstance(cmd, TyperGroup):
        return
    names = {o for p in cmd.params for o in p.opts}
    opens = any(" ".join(path).startswith(c) for c in OPENS_LEDGER) and path[-1] != "verify-proof"
    assert ({"--db", "--key-file"} <= names) == opens


def human_file() -> Path:
    path = Path("h.jsonl")
    path.write_text('{"text": "A rare, true sentence."}\n{"text": "--db"}\n')
    return path


def test_db_after_the_command_is_the_same_ledger(cli: Cli) -> None:
    human_file()
    cli.ok("ingest", "h.jsonl", "--origin", "human", "--db", "a.db")
    assert Path("a.db").exists()
    assert not Path("keel.db").exists()
    after = cli.json("ledger", "info", "--db", "a.db")
    before = cli.json("--db", "a.db", "ledger", "info")
    assert after == before
    assert after["size"] == 2


def test_the_later_db_wins(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    human_file()
    cli.ok("--db", "a.db", "ingest", "h.jsonl", "--origin", "human")
    assert cli.json("--db", "b.db", "ledger", "info", "--db", "a.db")["db"] == "a.db"
    code, _, err = cli("--db", "a.db", "ledger", "info", "--db", "b.db")
    assert code == 2
    assert "no ledger at b.db" in err
    monkeypatch.setenv("KEEL_DB", "b.db")
    assert cli.json("ledger", "info", "--db", "a.db")["db"] == "a.db"


def test_an_option_value_or_text_after_dashes_is_not_the_db(cli: Cli) -> None:
    human_file()
    got = cli.json(
        "ingest", "h.jsonl", "--origin", "human", "--author", "--db", "--tag", "x=--db",
        "--db", "a.db",
    )  # fmt: skip
    assert not Path("keel.db").exists()
    code, out, err = cli("ledger", "find", "--db", "a.db", "--text", "--db", "--json")
    assert code == 0, err
    assert [e["id"] for e in json.loads(out)] == [got["appended"][1]]
    code, _, err = cli("ledger", "find", "--db", "a.db", "--", "--db")
    assert code == 2
    assert "nothing found" in err  # "--db" after -- was the query


def test_key_file_after_the_command(cli: Cli) -> None:
    cli.ok("ledger", "key", "init", "--db", "a.db", "--key-file", "secret/a.sk")
    assert Path("secret/a.sk").exists()
    assert not Path("a.key").exists()
    code, _, err = cli("ledger", "checkpoint", "--db", "a.db")
    assert code == 2
    assert err.startswith("error:")
    cli.ok("ledger", "checkpoint", "--db", "a.db", "--key-file", "secret/a.sk")
    cli.ok("--key-file", "elsewhere.sk", "ledger", "checkpoint", "--db", "a.db",
           "--key-file", "secret/a.sk")  # fmt: skip


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["ledger", "info", "--bogus"], "no such option: --bogus; see 'keel ledger info --help'"),
        (["ledger", "prove"], "missing argument 'ref'; see 'keel ledger prove --help'"),
        (["ledger", "log", "-n", "many"], "invalid value for '-n' / '--count'"),
        (["nosuch"], "no such command 'nosuch'; see 'keel --help'"),
        (["ledger"], "missing command; see 'keel ledger --help'"),
        (["simulate", "--db", "a.db"], "no such option: --db"),
        (["--db"], "option '--db' requires an argument"),
    ],
)
def test_usage_errors_are_one_error_line(cli: Cli, args: list[str], fragment: str) -> None:
    code, out, err = cli(*args)
    assert code == 2
    assert out == ""
    assert err.startswith("error: ")
    assert len(err.strip().splitlines()) == 1, err
    assert fragment in err
    assert "Usage:" not in err
    assert "╭" not in err


def test_no_arguments_shows_the_help(cli: Cli) -> None:
    code, out, err = cli()
    assert code == 2
    assert "Usage: keel" in out
    assert err == ""


def info_lines(cli: Cli) -> dict[str, str]:
    out = cli.ok("ledger", "info")
    assert "None" not in out
    lines = dict(line.split(maxsplit=1) for line in out.splitlines())
    assert set(lines) == set(cli.json("ledger", "info"))
    return lines


def test_ledger_info_never_says_none(cli: Cli) -> None:
    cli.db = Path("k.db")
    human_file()
    cli.ok("ingest", "h.jsonl", "--origin", "human")  # a ledger without a key
    lines = info_lines(cli)
    assert "no key yet" in lines["origin"]
    assert "no key yet" in lines["verifier_key"]
    assert "none signed yet" in lines["checkpoint_size"]
    cli.db = Path("empty.db")
    cli.ok("ledger", "key", "init")  # an empty ledger with a key, no checkpoint
    assert info_lines(cli)["size"] == "0"
    cli.ok("ledger", "checkpoint")
    assert info_lines(cli)["checkpoint_size"] == "0"
