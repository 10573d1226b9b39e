"""--db / KEEL_DB name a PostgreSQL ledger by URL, kept as written (`keel.cli._common.Settings`);
no server is needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from keel.cli._common import Settings
from keel_cli import Cli


def test_a_file_is_a_path_and_a_url_stays_as_written() -> None:
    assert Settings("ledgers/keel.db", None).location == Path("ledgers/keel.db")
    for url in (
        "postgresql://keel@db.example.com:5433/keel?sslmode=verify-full",
        "postgresql:///keel?host=/run/postgresql",
    ):
        assert Settings(url, None).location == url


def test_a_url_is_shown_without_its_password() -> None:
    shown = Settings("postgresql://keel:s3cret@db.example.com/keel", None).shown
    assert "s3cret" not in shown and "keel@db.example.com/keel" in shown


def test_files_kept_beside_the_ledger_need_their_own_option_on_postgresql(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEL_DB", "postgresql://keel:s3cret@127.0.0.1:1/keel")
    code, _, err = Cli(capsys)("review", "serve")
    assert code == 2
    assert "PostgreSQL ledger has no folder" in err and "s3cret" not in err


def test_an_unreachable_server_is_a_storage_error_without_the_password(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("psycopg", reason="the [postgres] extra reaches a server")
    monkeypatch.setenv("KEEL_DB", "postgresql://keel:s3cret@127.0.0.1:1/keel?connect_timeout=2")
    code, _, err = Cli(capsys)("ledger", "info")
    assert code == 5
    assert "127.0.0.1" in err and "s3cret" not in err
