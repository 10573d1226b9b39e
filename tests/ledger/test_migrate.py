"""`keel.ledger.migrate` and `keel ledger migrate`: an SQLite ledger copied into PostgreSQL is
the same ledger (root, checkpoints, payloads, erasures, external ids, settings), and a target
that is not empty is refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from keel.errors import InputError, RedactedError
from keel.ledger import Appended, Ledger, prepare
from keel.ledger.migrate import migrate
from keel.records import text_record
from keel_cli import Cli


def _source(led: Ledger, fill: Callable[..., list[Appended]]) -> list[Appended]:
    added = fill(led, 40)
    led.checkpoint()
    led.append([prepare(*text_record("named", "human"), alias="ext-1")])
    led.redact(added[3].id, "the author asked")
    led.put_setting("loop_config", "{}")
    led.checkpoint()
    fill(led, 5, start=100)
    return added


def test_a_migrated_ledger_is_the_same_ledger(
    ledger: Ledger, fill_ledger: Callable[..., list[Appended]], postgres_url: str
) -> None:
    added = _source(ledger, fill_ledger)
    with Ledger.open(postgres_url, key_path=ledger.key_path) as target:
        done = migrate(ledger, target)
        assert (done.size, done.checkpoints, done.redacted, done.aliases) == (47, 2, 1, 1)
        assert target.info() == ledger.info()
        assert target.store.checkpoints() == ledger.store.checkpoints()
        assert target.locate("ext-1").id == ledger.locate("ext-1").id
        assert target.setting("loop_config") == "{}"
        assert target.payload(ledger.payload_digest(added[0].id)) == b"record 0"
        with pytest.raises(RedactedError):
            target.payload(ledger.payload_digest(added[3].id))
        assert list(target.store.iter_refs()) == list(ledger.store.iter_refs())
        assert target.verify().ok
        target.checkpoint()  # the same key signs on
        with pytest.raises(InputError, match="already holds a ledger"):
            migrate(ledger, target)


def test_the_command_copies_and_refuses_a_non_empty_target(
    ledger: Ledger,
    fill_ledger: Callable[..., list[Appended]],
    postgres_url: str,
    cli: Cli,
    tmp_path: Path,
) -> None:
    _source(ledger, fill_ledger)
    root = ledger.info().root
    ledger.close()
    db, key = tmp_path / "k.db", str(tmp_path / "k.key")
    done = cli.json("ledger", "migrate", "--to", postgres_url, db=db)
    assert (done["size"], done["root"], done["checkpoints"]) == (47, root, 2)
    assert "OK 47 entries" in cli.ok("--db", postgres_url, "--key-file", key, "ledger", "verify")
    code, _, err = cli("ledger", "migrate", "--to", postgres_url, db=db)
    assert code == 2 and "already holds a ledger" in err
