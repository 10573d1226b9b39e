"""What the PostgreSQL store promises beyond the store contract: it opens only its own
databases, many processes append at once with nothing lost or duplicated (even when some are
killed mid-batch), and erased payloads leave no byte in the server's files.

Each test gets a fresh database from KEEL_TEST_POSTGRES (tests/postgres_db.py).
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from keel.errors import ConfigError, ErasurePendingError, InputError, StorageError
from keel.ledger import Ledger
from keel.ledger.postgres import PostgresStore, safe_url
from keel.records import entry_bytes, text_record

WORKERS = 4
BATCH = 500
BATCHES = 12

_WORKER = textwrap.dedent(
    """
    import sys
    from keel.ledger import Ledger
    from keel.records import entry_bytes, text_record

    url, worker, batches, size, acks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \\
        int(sys.argv[4]), sys.argv[5]
    shared = [text_record(f"shared {i}", "human") for i in range(size)]
    with Ledger.open(url, create=False) as led, open(acks, "a") as out:
        for b in range(batches):
            items = shared if b == 0 else [
                text_record(f"worker {worker} batch {b} item {i}", "synthetic")
                for i in range(size)
            ]
            done = led.append(items)
            out.write("".join(f"{a.id}\\n" for a in done))
            out.flush()
    """
)


def _psql(url: str, sql: str) -> list[tuple[object, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql)
        return [tuple(r) for r in cur.fetchall()] if cur.description else []


def test_it_refuses_a_database_of_another_application(postgres_url: str) -> None:
    _psql(postgres_url, "CREATE TABLE invoices (id int)")
    with pytest.raises(InputError, match=r"not a keel ledger \(it holds tables: public.invoices\)"):
        PostgresStore(postgres_url)
    assert _psql(postgres_url, "SELECT to_regclass('keel.head') IS NULL") == [(True,)]


def test_it_refuses_another_store_version_and_opens_its_own(postgres_url: str) -> None:
    PostgresStore(postgres_url).close()
    PostgresStore(postgres_url, create=False).close()
    _psql(postgres_url, "UPDATE keel.head SET version = 99")
    with pytest.raises(InputError, match="store version 99"):
        PostgresStore(postgres_url)


def test_an_empty_database_is_not_a_ledger_until_created(postgres_url: str) -> None:
    with pytest.raises(InputError, match="no ledger at"):
        PostgresStore(postgres_url, create=False)
    with pytest.raises(InputError, match="no ledger at"):
        PostgresStore(postgres_url, readonly=True)


def test_a_readonly_store_refuses_writes(postgres_url: str) -> None:
    PostgresStore(postgres_url).close()
    store = PostgresStore(postgres_url, readonly=True)
    try:
        with pytest.raises(StorageError, match="read-only"), store.write():
            pass
    finally:
        store.close()


def test_an_unreachable_server_is_a_storage_error_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://keel:hunter2@/keel?host={tmp_path}&password=hunter3"
    with pytest.raises(StorageError, match="cannot connect") as caught:
        PostgresStore(url)
    assert "hunter" not in str(caught.value)
    assert safe_url(url) == f"postgresql://keel@/keel?host={tmp_path}"


def test_signing_needs_a_named_key_file(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEEL_KEY", raising=False)
    with Ledger.open(postgres_url) as led:
        assert led.key_path is None
        with pytest.raises(ConfigError, match="--key-file or KEEL_KEY"):
            led.init_key()


def test_appenders_killed_mid_batch_lose_and_duplicate_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    with Ledger.open(postgres_url, key_path=tmp_path / "k.key") as led:
        led.init_key("example.com/concurrent")
    procs = []
    for w in range(WORKERS):
        acks = tmp_path / f"acks-{w}"
        args = [postgres_url, str(w), str(BATCHES), str(BATCH), str(acks)]
        procs.append(subprocess.Popen([sys.executable, "-c", _WORKER, *args]))
    rng = random.Random(20)
    victims = rng.sample(range(WORKERS), 2)
    _kill_mid_run({procs[w]: tmp_path / f"acks-{w}" for w in victims}, 2 * BATCH, rng)
    for p in procs:
        p.wait(timeout=300)
    assert sorted(p.returncode for p in procs) == [-signal.SIGKILL] * 2 + [0] * (WORKERS - 2)

    acked = {line for w in range(WORKERS) for line in (tmp_path / f"acks-{w}").read_text().split()}
    with Ledger.open(postgres_url, key_path=tmp_path / "k.key") as led:
        ids = [hashlib.sha256(loc.raw).hexdigest() for loc in led.iter_located()]
        led.checkpoint()
        report = led.verify()
    assert report.ok, report.problems
    assert len(ids) == len(set(ids)) == report.size  # none duplicated
    assert acked <= set(ids)  # no acknowledged entry lost
    logged = set(ids)
    expected = BATCH  # the batch every worker appends first is logged once
    for w in range(WORKERS):
        present = [len(_batch_ids(w, b) & logged) for b in range(1, BATCHES)]
        assert set(present) <= {0, BATCH}, present  # each batch whole or not at all
        assert present == sorted(present, reverse=True)  # in the order it was appended
        expected += sum(present)
    assert report.size == expected


def _kill_mid_run(
    victims: dict[subprocess.Popen[bytes], Path], count: int, rng: random.Random
) -> None:
    """SIGKILL each victim a random few milliseconds after its acks file holds `count` ids,
    watching all of them at once (so none finishes while another is awaited)."""
    deadline = time.monotonic() + 120
    waiting = dict(victims)
    while waiting:
        for proc, acks in list(waiting.items()):
            assert proc.poll() is None and time.monotonic() < deadline, "a victim finished"
            if acks.exists() and len(acks.read_bytes().split()) >= count:
                time.sleep(rng.uniform(0, 0.02))
                proc.send_signal(signal.SIGKILL)
                del waiting[proc]
        time.sleep(0.002)


def _batch_ids(worker: int, batch: int) -> set[str]:
    """The entry ids of one batch of `_WORKER`."""
    return {
        hashlib.sha256(
            entry_bytes(text_record(f"worker {worker} batch {batch} item {i}", "synthetic")[0])
        ).hexdigest()
        for i in range(BATCH)
    }


@pytest.fixture
def data_dir() -> Path:
    """The server's data folder (KEEL_PG_DATA, set by .ci/postgres.sh), when readable here."""
    where = os.environ.get("KEEL_PG_DATA")
    if not where or not os.access(where, os.R_OK | os.X_OK):
        pytest.skip(
            "the erasure test reads the server's files: run it where KEEL_PG_DATA is readable"
        )
    return Path(where)


def _files_holding(root: Path, needle: bytes) -> list[Path]:
    """Every file under `root` whose bytes contain `needle`."""
    found = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            try:
                if needle in path.read_bytes():
                    found.append(path)
            except OSError:
                continue
    return found


def test_an_erased_payload_leaves_no_byte_in_the_servers_files(
    postgres_url: str, tmp_path: Path, data_dir: Path
) -> None:
    secret_text = f"ERASE ME {os.urandom(16).hex()}"
    with Ledger.open(postgres_url, key_path=tmp_path / "k.key") as led:
        led.init_key("example.com/erasure")
        added = led.append([text_record(secret_text, "human")])[0]
        (key,) = _psql(postgres_url, "SELECT secret FROM keel.payload_keys")[0]
        _psql(postgres_url, "CHECKPOINT")
        assert _files_holding(data_dir, secret_text.encode()) == []  # never written in clear
        assert _files_holding(data_dir, bytes(key))  # the search finds what is there
        led.redact(added.id, "the author asked")
        assert led.store.get_meta("erasure_pending") is None
        report = led.verify()
    assert report.ok and len(report.redacted) == 1
    _psql(postgres_url, "CHECKPOINT")
    assert _files_holding(data_dir, secret_text.encode()) == []
    assert _files_holding(data_dir, bytes(key)) == []


def test_an_erasure_a_reader_holds_up_is_finished_by_the_next_open(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("keel.ledger.postgres.COMPACT_WAIT", 0.2)
    with Ledger.open(postgres_url, key_path=tmp_path / "k.key") as led:
        led.init_key("example.com/erasure")
        added = led.append([text_record("held up", "human")])[0]
        reader = PostgresStore(postgres_url, readonly=True)
        with reader.read():
            assert reader.size() == 1  # a snapshot from before the erasure
            with pytest.raises(ErasurePendingError, match="hold snapshots older"):
                led.redact(added.id, "the author asked")
        reader.close()
        assert led.store.get_meta("erasure_pending") is not None
    with Ledger.open(postgres_url, key_path=tmp_path / "k.key") as led:
        assert led.store.get_meta("erasure_pending") is None
        assert _psql(postgres_url, "SELECT count(*) FROM keel.payload_keys") == [(0,)]


def test_a_writer_that_waits_too_long_names_the_one_holding_the_ledger(
    postgres_url: str,
) -> None:
    holder = PostgresStore(postgres_url)
    waiter = PostgresStore(postgres_url, lock_timeout=0.2)
    try:
        with holder.write():
            held = r"another writer \(pid \d+ \(keel \d+@"
            with pytest.raises(StorageError, match=held), waiter.write():
                pass
            assert waiter.size() == 0  # the waiter's connection is usable again
    finally:
        holder.close()
        waiter.close()
