"""`keel review add | link | open | status | close`: what an administrator types to run a round
of expert review, checked against the ledger and the access file they write."""

from __future__ import annotations

from pathlib import Path

import pytest

from keel.experts.access import Access
from keel.experts.rounds import load_round
from keel.ledger import Ledger
from keel.records import text_record
from keel_cli import Cli


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    db = tmp_path / "keel.db"
    with Ledger.open(db, create=True) as led:
        led.init_key("test.example/review-cli")
        led.append([text_record(f"generated text {i}", "synthetic", generation=1)
                    for i in range(12)])  # fmt: skip
    return Cli(capsys, db)


def test_add_prints_a_link_that_works_once_and_link_replaces_it(cli: Cli) -> None:
    assert cli.db is not None
    added = cli.json("review", "add", "ana", "--port", "9000")
    assert added["role"] == "reviewer" and added["link"].startswith("http://127.0.0.1:9000/login/")
    with Ledger.open(cli.db) as led:
        assert led.locate(added["enrolment"]).entry.kind == "enrolment"
    again = cli.json("review", "link", "ana")
    assert again["name"] == "ana" and again["link"] != added["link"]
    admin = cli.json("review", "add-reviewer", "root", "--admin")  # the name for it
    assert admin["role"] == "admin"
    access = Access.open(cli.db)
    try:
        with pytest.raises(Exception, match="link"):
            access.login(added["link"].rsplit("/", 1)[1])  # the old link no longer works
        access.login(again["link"].rsplit("/", 1)[1])
    finally:
        access.close()


def test_open_status_close(cli: Cli) -> None:
    assert cli.db is not None
    for name in ("ana", "bo"):
        cli.ok("review", "add", name)
    opened = cli.json("review", "open", "-r", "ana", "-r", "bo", "--budget", "8",
                      "--generation", "1", "--overlap", "2")  # fmt: skip
    assert opened["items"] == 8 and opened["random"] + opened["uncertain"] == 8
    (status,) = cli.json("review", "status")
    assert status["round"] == opened["round"] and not status["closed"]
    assert status["progress"] == {"ana": [0, 8], "bo": [0, 8]}
    closed = cli.json("review", "close", opened["round"][:12])
    with Ledger.open(cli.db) as led:
        assert load_round(led, opened["round"]).closed
        assert led.locate(closed["close"]).entry.kind == "close"
    code, _, err = cli("review", "close", opened["round"])
    assert code == 2 and "closed" in err


def test_open_for_someone_not_enrolled_is_refused_and_logs_nothing(cli: Cli) -> None:
    assert cli.db is not None
    cli.ok("review", "add", "ana")
    with Ledger.open(cli.db) as led:
        size = led.size
    code, _, err = cli("review", "open", "-r", "ana", "-r", "nobody", "--budget", "4")
    assert code == 2 and "nobody" in err
    with Ledger.open(cli.db) as led:
        assert led.size == size
