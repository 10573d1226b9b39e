"""Bad input on the command line or in a file is one `error:` line and exit 2, before any work:
never a traceback, an overflow, or an allocation that grows with a number the user typed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from keel_cli import Cli

WIDE = "human,a,b\nyes,yes,no\nno,no,no\nyes,yes,yes\nno,yes,no\n"


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KEEL_DB", raising=False)
    monkeypatch.delenv("KEEL_KEY", raising=False)
    Path("wide.csv").write_text(WIDE)
    return tmp_path


def refused(cli: Cli, *args: str) -> str:
    """The one error line of a command that must refuse its input with exit 2."""
    code, out, err = cli(*args)
    assert code == 2, err
    assert out == "" and "Traceback" not in err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    return err


@pytest.mark.parametrize("command", ["audit", "correct"])
@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_two_columns_of_one_name_are_refused(
    here: Path, cli: Cli, command: str, suffix: str
) -> None:
    if suffix == ".csv":
        Path("dup.csv").write_text("human,a,a\nyes,yes,no\nno,no,no\n")
        expected = "dup.csv:1: columns 2 and 3 are both named 'a'"
    else:  # JSON objects cannot repeat a key, but arrays in cells are no labels
        Path("dup.jsonl").write_text('{"human": true, "a": [1]}\n{"human": false, "a": [0]}\n')
        expected = "dup.jsonl column a"
    assert expected in refused(cli, "judge", command, f"dup{suffix}", "--judge", "a")


def test_array_cells_in_a_long_table_are_read_as_text(here: Path, cli: Cli) -> None:
    Path("long.jsonl").write_text('{"item": [], "judge": "j", "verdict": "yes"}\n')
    line = refused(cli, "judge", "audit", "long.jsonl", "--layout", "long")
    assert "long.jsonl: no human labels" in line


def test_a_non_utf8_column_name_is_refused(here: Path, cli: Cli) -> None:
    Path("bad.csv").write_bytes(b"\x80uman\r\n")
    assert "a column name is not UTF-8" in refused(cli, "judge", "audit", "bad.csv")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--resamples", "100000000000000000000"], "--resamples 100000000000000000000: use"),
        (["--resamples", "-1"], "--resamples -1: use a number from 0 to 100,000"),
        (["--threshold", "nan"], "--threshold nan: use a number (not NaN)"),
        (["--human-threshold", "nan"], "--human-threshold nan"),
        (["--seed", "-1"], "--seed -1: use a number from 0 to 9,007,199,254,740,991"),
    ],
)
def test_judge_audit_bounds(here: Path, cli: Cli, args: list[str], fragment: str) -> None:
    assert fragment in refused(cli, "judge", "audit", "missing.csv", *args)
    assert not Path("audit.html").exists()


@pytest.mark.parametrize(
    "args",
    [["--target-precision", "nan"], ["--target-width", "2"], ["--seed", "-3"]],
)
def test_judge_correct_bounds(here: Path, cli: Cli, args: list[str]) -> None:
    assert args[0] in refused(cli, "judge", "correct", "wide.csv", *args)


@pytest.mark.parametrize(
    "args", [["--concurrency", "0"], ["--retries", "1000"], ["--timeout", "nan"]]
)
def test_judge_run_bounds(here: Path, cli: Cli, args: list[str]) -> None:
    assert args[0] in refused(cli, "judge", "run", "--offline", "ngram", *args)


def test_audit_within_the_bounds_still_runs(here: Path, cli: Cli) -> None:
    doc = cli.json("judge", "audit", "wide.csv", "--resamples", "0", "--threshold", "0.5")
    assert {j["judge"] for j in doc["judges"]} == {"a", "b"}


@pytest.fixture
def ledger(here: Path, cli: Cli) -> str:
    """A ledger with one text record; returns the record's id."""
    cli.ok("ledger", "key", "init", db=Path("keel.db"))
    Path("h.jsonl").write_text('{"text": "hello"}\n')
    appended: list[str] = cli.json("ingest", "h.jsonl", "--origin", "human", db=Path("keel.db"))[
        "appended"
    ]
    return appended[0]


def _size(cli: Cli) -> int:
    size: int = cli.json("ledger", "info", db=Path("keel.db"))["size"]
    return size


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["find", "--text", "\udcff"], "--text is not valid UTF-8"),
        (["find", "\udcff"], "QUERY is not valid UTF-8"),
        (["add-verdict", "RID", "--judge", "j", "--label", "ok", "--rationale", "\udcff"],
         "--rationale is not valid UTF-8"),
        (["add-verdict", "\udcff", "--judge", "j", "--label", "ok"], "RECORD is not valid UTF-8"),
        (["add-verdict", "RID", "--judge", "j\udcff", "--label", "ok"],
         "--judge is not valid UTF-8"),
        (["log", "-n", "99999999999999999999"], "--count 99999999999999999999: use"),
        (["log", "-n", "0"], "--count 0: use a number from 1 to 100,000"),
    ],
)  # fmt: skip
def test_ledger_text_and_counts(
    here: Path, cli: Cli, ledger: str, args: list[str], fragment: str
) -> None:
    before = _size(cli)
    line = refused(cli, "--db", "keel.db", "ledger", *(ledger if a == "RID" else a for a in args))
    assert fragment in line
    assert _size(cli) == before


def test_ledger_log_within_the_bound(here: Path, cli: Cli, ledger: str) -> None:
    rows = cli.json("ledger", "log", "-n", "100000", db=Path("keel.db"))
    assert [r["id"] for r in rows] == [ledger]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--repetitions", "1000000", "--samples", "1000"], "values at once"),
        (["--samples", str(10**400)], "samples and sizes ≤ 50,000,000"),
        (["--keep", "1e-300"], "values at once"),
        (["--zipf", "nan", "--model", "categorical"], "Zipf exponent must be a finite number"),
        (["--noise", "nan", "--model", "regression"], "noise must be a finite number"),
        (["--seed", "-1"], "--seed -1"),
    ],
)
def test_simulate_bounds(here: Path, cli: Cli, args: list[str], fragment: str) -> None:
    assert fragment in refused(cli, "simulate", *args, "--html", "sim.html")
    assert not Path("sim.html").exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--trend-alpha", "nan"], "trend alpha"),
        (["--trend-window", "2"], "trend window"),
        (["--precision-ratio", "nan"], "precision_ratio"),
        (["--tail-min-count", "nan"], "tail_min_count"),
        (["--seed", "-1"], "--seed -1"),
    ],
)
def test_watch_bounds(here: Path, cli: Cli, args: list[str], fragment: str) -> None:
    Path("g1.txt").write_text("some words here\nmore words there\n")
    assert fragment in refused(cli, "watch", "g1.txt", *args, "--html", "w.html")
    assert not Path("w.html").exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--seed", "-1"], "seed must be from 0 to 2**53 - 1"),
        (["--size", str(2**53)], "the mix size must be from 1 to 2**53 - 1"),
        (["--tail-boost", "nan"], "the tail boost must be a finite number"),
    ],
)
def test_mix_build_bounds(
    here: Path, cli: Cli, ledger: str, args: list[str], fragment: str
) -> None:
    before = _size(cli)
    options = {"--size": "2", **dict(zip(args[::2], args[1::2], strict=True))}
    flat = [x for kv in options.items() for x in kv]
    assert fragment in refused(cli, "--db", "keel.db", "mix", "build", *flat)
    assert _size(cli) == before


@pytest.mark.parametrize(
    ("args", "fragment"),
    [(["--generations", "1001"], "--generations 1001"), (["--seed", "-1"], "--seed -1")],
)
def test_demo_bounds_write_nothing(here: Path, cli: Cli, args: list[str], fragment: str) -> None:
    assert fragment in refused(cli, "demo", "--out", "demo", *args)
    assert not Path("demo").exists()


def test_simulate_within_the_bounds_still_runs(here: Path, cli: Cli) -> None:
    code, out, err = cli("simulate", "--generations", "3", "--repetitions", "10", "--json")
    assert code == 0, err
    assert len(json.loads(out)["metrics"]["variance"]["mean"]) == 4
