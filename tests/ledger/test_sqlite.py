"""keel.ledger.sqlite: one snapshot per read under concurrent writers, only keel's own files,
readers that never wait, erasure that finishes, and storage faults as one clear line."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from keel.errors import ErasurePendingError, InputError, StorageError
from keel.ledger import Ledger, verify
from keel.ledger import sqlite as keel_sqlite
from keel.records import text_record
from keel_cli import Cli

SECRET = "SECRET-PERSONAL-DATA " + "0123456789abcdefghij-" * 40 + " END-OF-SECRET"
MARK = b"END-OF-SECRET"


def _files(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (db, Path(f"{db}-wal")) if p.exists())


def _keel(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keel", *args], capture_output=True, text=True, check=False, **kw
    )  # type: ignore[call-overload]


@contextlib.contextmanager
def _process(code: str, *args: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _wait_for(path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


@pytest.fixture
def signed(tmp_path: Path) -> Path:
    """A ledger at tmp_path/k.db with a key, 20 records and a checkpoint; closed."""
    db = tmp_path / "k.db"
    with Ledger.open(db, key_path=tmp_path / "k.key") as led:
        led.init_key("example.com/test")
        led.append([text_record(f"record {i}", "human") for i in range(20)])
        led.checkpoint()
    return db


# -- one snapshot per read -----------------------------------------------------------------
WRITER = """
    import sys, time
    from pathlib import Path
    from keel.errors import ErasurePendingError
    from keel.ledger import Ledger
    from keel.records import text_record
    db, stop = Path(sys.argv[1]), Path(sys.argv[2])
    with Ledger.open(db, key_path=db.with_suffix(".key")) as led:
        n = 0
        while not stop.exists():
            res = led.append([text_record(f"w {n} {i} " + "x" * 300, "human") for i in range(50)])
            try:
                led.redact(res[n % 50].id, "concurrent erasure")
            except ErasurePendingError:
                pass  # committed; readers keep the old pages until a later command compacts
            if n % 5 == 0:
                led.checkpoint()
            n += 1
            (db.parent / "progress").write_text(str(n))
"""


@pytest.mark.slow
def test_verify_sees_one_snapshot_while_another_process_appends_and_redacts(
    signed: Path,
) -> None:
    stop = signed.parent / "stop"
    verifier = None
    runs = 0
    with _process(WRITER, str(signed), str(stop)) as writer:
        _wait_for(signed.parent / "progress")
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            with Ledger.open(signed, readonly=True) as led:
                verifier = verifier or led.verifier()
                report = verify(led.store, verifier)
                assert report.ok, report.problems
                info = led.info()
                assert info.uncovered >= 0 and info.root == led.root(info.size).hex()
            runs += 1
        stop.touch()
        assert writer.wait(60) == 0, writer.stderr.read() if writer.stderr else ""
    redactions = int((signed.parent / "progress").read_text())
    assert runs >= 3 and redactions >= 3
    with Ledger.open(signed, readonly=True) as led:
        assert verify(led.store, led.verifier()).ok


# -- only keel's own files -----------------------------------------------------------------
def test_a_database_that_is_not_keels_is_refused_and_left_untouched(
    tmp_path: Path, cli: Cli
) -> None:
    other = tmp_path / "other.db"
    with contextlib.closing(sqlite3.connect(other)) as conn, conn:
        conn.execute("CREATE TABLE users (name TEXT)")
        conn.execute("INSERT INTO users VALUES ('ana')")
    before = other.read_bytes()
    for args in (("ledger", "verify"), ("ledger", "info"), ("ledger", "key", "init")):
        code, _, err = cli(*args, db=other)
        assert code == 2, err
        assert "not a keel ledger" in err and "users" in err
    with pytest.raises(InputError, match="not a keel ledger"):
        Ledger.open(other)
    assert other.read_bytes() == before


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path, cli: Cli) -> None:
    key = tmp_path / "k.key"
    key.write_text("PRIVATE+KEY+example.com/x+00000000+AAAA\n")
    code, _, err = cli("ledger", "info", db=key)
    assert code == 2 and "not a keel ledger" in err
    assert key.read_text() == "PRIVATE+KEY+example.com/x+00000000+AAAA\n"


def test_an_empty_file_becomes_a_private_marked_ledger(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    with Ledger.open(empty) as led:
        led.append([text_record("a", "human")])
    new = tmp_path / "new.db"
    with Ledger.open(new) as led:
        assert led.size == 0
    assert new.stat().st_mode & 0o777 == 0o600
    with contextlib.closing(sqlite3.connect(new)) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == 0x6B65656C
    with Ledger.open(empty, readonly=True) as led:
        assert led.size == 1


# -- readers never wait; a waiting writer names the holder ---------------------------------
HOLDER = """
    import sqlite3, sys, time
    from pathlib import Path
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO meta(name, value) VALUES ('long', 'write')")
    Path(sys.argv[2]).touch()
    time.sleep(120)
"""


def test_readers_do_not_wait_for_a_long_write(signed: Path, cli: Cli) -> None:
    ready = signed.parent / "ready"
    with _process(HOLDER, str(signed), str(ready)) as holder:
        _wait_for(ready)
        start = time.monotonic()
        info = cli.json("ledger", "info", db=signed)
        assert info["size"] == 20
        code, _, err = cli("ledger", "verify", db=signed)
        assert code == 0, err
        assert time.monotonic() - start < 10
        with pytest.raises(
            StorageError, match=rf"another writer \(the ledger is open in pid {holder.pid}: "
        ):
            keel_sqlite.SQLiteStore(signed, lock_timeout=0.5).write().__enter__()


# -- erasure finishes ---------------------------------------------------------------------
def _hold_read(db: Path, seconds: float, started: threading.Event) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN")
    conn.execute("SELECT count(*) FROM payloads").fetchone()
    started.set()
    time.sleep(seconds)
    conn.execute("COMMIT")
    conn.close()


@pytest.fixture
def secret(signed: Path) -> tuple[Path, str]:
    with Ledger.open(signed) as led:
        (res,) = led.append([text_record(SECRET, "human")])
    with contextlib.closing(sqlite3.connect(signed)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert MARK in signed.read_bytes()
    return signed, res.id


def test_redact_waits_for_a_reader_and_finishes(secret: tuple[Path, str], cli: Cli) -> None:
    db, sid = secret
    started = threading.Event()
    reader = threading.Thread(target=_hold_read, args=(db, 1.5, started))
    reader.start()
    started.wait()
    code, _, err = cli("ledger", "redact", sid, "--reason", "gdpr", db=db)
    reader.join()
    assert code == 0, err
    assert MARK not in _files(db)


def test_redact_blocked_by_a_reader_says_what_is_committed_and_the_next_command_finishes(
    secret: tuple[Path, str], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, sid = secret
    monkeypatch.setattr(keel_sqlite, "COMPACT_WAIT", 0.3)
    started = threading.Event()
    reader = threading.Thread(target=_hold_read, args=(db, 2.0, started))
    reader.start()
    started.wait()
    code, _, err = cli("ledger", "redact", sid, "--reason", "gdpr", db=db)
    assert code == ErasurePendingError.exit_code == 5
    assert "is committed" in err and "keel ledger compact" in err
    assert MARK in _files(db)  # the reader keeps the old pages alive for now
    reader.join()
    cli.ok("ledger", "info", db=db)  # any next command finishes the erasure
    assert MARK not in _files(db)
    assert cli.json("ledger", "verify", db=db)["redacted"] == [
        hashlib.sha256(SECRET.encode()).hexdigest()
    ]
    cli.ok("ledger", "compact", db=db)


CRASH_AFTER_COMMIT = """
    import os, sys
    from pathlib import Path
    from keel.ledger import Ledger
    from keel.ledger.store import key_of
    from keel.records import Digest, Redaction
    led = Ledger.open(Path(sys.argv[1]))
    digest = sys.argv[2]
    with led.store.write():
        led.append([(Redaction(Digest(digest), "gdpr"), None)])
        led.store.erase_payload(key_of(bytes.fromhex(digest)))
    os._exit(0)  # killed between the commit and the WAL truncation
"""


def test_a_crash_after_the_erasure_commit_is_finished_by_the_next_command(
    secret: tuple[Path, str], cli: Cli
) -> None:
    db, _ = secret
    digest = hashlib.sha256(SECRET.encode()).hexdigest()
    with _process(CRASH_AFTER_COMMIT, str(db), digest) as proc:
        assert proc.wait(60) == 0, proc.stderr.read() if proc.stderr else ""
    assert MARK in db.read_bytes()  # the committed erasure is still in the WAL only
    cli.ok("ledger", "log", db=db)  # a read-only command
    assert MARK not in _files(db)
    assert cli.json("ledger", "verify", db=db)["ok"]


# -- storage faults ----------------------------------------------------------------------
def _rows(path: Path, n: int) -> Path:
    path.write_text("".join(f'{{"text": "row {i} {"y" * 400}"}}\n' for i in range(n)))
    return path


def _one_clean_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    return lines[0]


def _size_and_ok(db: Path) -> tuple[int, bool]:
    with Ledger.open(db, readonly=True) as led:
        return led.size, verify(led.store, led.verifier()).ok


def test_a_full_disk_is_one_clear_line_and_nothing_is_kept(signed: Path) -> None:
    rows = _rows(signed.parent / "rows.jsonl", 5000)
    limit = signed.stat().st_size + 200_000

    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = _keel(
        "--db", str(signed), "ingest", str(rows), "--origin", "human", preexec_fn=small_disk
    )
    assert proc.returncode == StorageError.exit_code, proc.stderr
    assert re.search("disk is full|I/O error", _one_clean_line(proc))
    assert _size_and_ok(signed) == (20, True)


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
@pytest.mark.parametrize(
    ("syscalls", "errno_name"),
    [
        ("pwrite64", "EIO"),
        ("pwrite64", "ENOSPC"),
        ("fsync,fdatasync", "EIO"),
        ("ftruncate", "EIO"),
        ("pwrite64", "EROFS"),
    ],
)
def test_injected_io_faults_are_one_clear_line(
    signed: Path, syscalls: str, errno_name: str
) -> None:
    rows = _rows(signed.parent / "rows.jsonl", 2000)
    for when in ("1", "3+"):
        proc = subprocess.run(
            ["strace", "-f", "-qq", "-o", os.devnull, "-e", "trace=none",
             "-e", f"inject={syscalls}:error={errno_name}:when={when}",
             sys.executable, "-m", "keel", "--db", str(signed),
             "ingest", str(rows), "--origin", "human"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if proc.returncode == 0:  # the syscall was not reached on this path
            continue
        assert proc.returncode == StorageError.exit_code, proc.stderr
        _one_clean_line(proc)
        size, ok = _size_and_ok(signed)
        assert ok and size in (20, 2020)
