"""The embedded store: one SQLite file in WAL mode.

Each write is one `BEGIN IMMEDIATE` transaction with `synchronous=FULL`, so an acknowledged
append survives a crash and a failed one leaves nothing; concurrent writers queue on the lock,
and one that waits says which process holds it. Readers never wait: in WAL mode a read
transaction sees the last commit before it began, whatever a writer does meanwhile, so every
multi-step read runs inside `read()` and sees one snapshot. `secure_delete` makes erasure
overwrite the freed bytes, and `compact()` moves the erased pages out of the write-ahead log.

The file is marked as keel's (SQLite `application_id` 0x6B65656C, "keel", and `user_version`
the store version): keel opens only its own ledgers or an empty file, and never adds tables to
another database. A new ledger file is created with mode 0600, since it holds the payloads.
Every SQLite error is raised as `keel.errors.StorageError` (or `InputError` for a file that is
not a ledger) with what happened and what to do.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import starmap
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

from keel.errors import (
    ErasurePendingError,
    InputError,
    KeelError,
    StorageError,
    VerificationError,
)
from keel.ledger.store import (
    HASHES_PER_CHUNK,
    EntryRow,
    PayloadRow,
    hashes_in_chunks,
    hashes_of_chunk,
)

APPLICATION_ID = 0x6B65656C
"""SQLite `PRAGMA application_id` of a keel ledger: the ASCII bytes of "keel"."""
STORE_VERSION = 1
"""SQLite `PRAGMA user_version` of the table layout below."""
UNMARKED_LAYOUT = "1"
"""The meta `schema` value of a ledger written before files were marked (the same layout)."""
LOCK_TIMEOUT = 600.0
"""Seconds a writer waits for another writer's transaction (an ingest of millions of rows)."""
COMPACT_WAIT = 10.0
"""Seconds `compact()` waits for readers of older snapshots before giving up."""

_HASH_SIZE = 32
_CHUNK_BYTES = HASHES_PER_CHUNK * _HASH_SIZE
_ERASURE_PENDING = "erasure_pending"
_FETCH = 1024
"""Rows fetched from SQLite at a time by the store's iterators."""
_BUSY_MS = 5000
"""How long one statement waits on a lock (readers: a WAL recovery; writers: see `write`)."""
_log = logging.getLogger("keel.ledger")

_SCHEMA = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE entries (
    idx INTEGER PRIMARY KEY,   -- leaf index in the log
    key INTEGER NOT NULL,      -- first 8 bytes of the entry id (SHA-256 of entry)
    payload INTEGER,           -- key of the committed payload, if any
    kind TEXT NOT NULL,        -- record, verdict, mix, run, redaction
    entry BLOB NOT NULL        -- the exact logged bytes (RFC 8785 JSON)
);
CREATE UNIQUE INDEX entries_key ON entries(key);
CREATE INDEX entries_payload ON entries(payload) WHERE payload IS NOT NULL;
CREATE INDEX entries_kind ON entries(kind) WHERE kind != 'record';
CREATE TABLE aliases (name TEXT PRIMARY KEY, idx INTEGER NOT NULL);
CREATE TABLE refs (target INTEGER NOT NULL, source INTEGER NOT NULL);
CREATE INDEX refs_target ON refs(target);
CREATE TABLE hashes (chunk INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE payloads (
    key INTEGER NOT NULL,      -- first 8 bytes of the digest
    digest BLOB NOT NULL,      -- SHA-256 of data
    data BLOB                  -- NULL once redacted
);
CREATE UNIQUE INDEX payloads_key ON payloads(key);
CREATE TABLE checkpoints (
    seq INTEGER PRIMARY KEY, size INTEGER NOT NULL, note BLOB NOT NULL
);
"""
_TABLES = frozenset({"meta", "entries", "aliases", "refs", "hashes", "payloads", "checkpoints"})


class SQLiteStore:
    """A ledger in one SQLite database file; `readonly` opens it for reading only."""

    def __init__(
        self,
        path: str | Path,
        *,
        create: bool = True,
        readonly: bool = False,
        lock_timeout: float = LOCK_TIMEOUT,
    ) -> None:
        path = Path(path)
        self.path = path
        self.readonly = readonly
        self.lock_timeout = lock_timeout
        self._in_txn = False
        if path.is_dir():
            raise InputError(f"{path} is a folder: --db / KEEL_DB names the ledger's file")
        if not path.exists():
            if not create or readonly:
                raise InputError(
                    f"no ledger at {path}: run `keel ingest` or `keel ledger key init` to start "
                    "one, or point --db / KEEL_DB at an existing ledger"
                )
            _create_private(path)
        mode = "ro" if readonly else "rw"
        uri = f"file:{quote(str(path.absolute()))}?mode={mode}"
        try:
            self._db = sqlite3.connect(
                uri,
                uri=True,
                isolation_level=None,
                timeout=_BUSY_MS / 1000,
                check_same_thread=False,
                factory=_Connection,
            )
        except sqlite3.Error as exc:
            raise storage_error(path, exc) from exc
        self._db.path = path
        try:
            self._open()
        except BaseException:
            self._db.close()
            raise

    def _open(self) -> None:
        for pragma in (
            "synchronous=FULL",
            "secure_delete=ON",
            "cache_size=-131072",
            "temp_store=MEMORY",
        ):
            self._db.execute(f"PRAGMA {pragma}")
        app_id, version, tables = self._mark()
        if app_id == APPLICATION_ID:
            if version != STORE_VERSION:
                raise InputError(
                    f"{self.path} is a keel ledger of store version {version}; this keel reads "
                    f"version {STORE_VERSION}: use the keel that wrote it"
                )
        elif app_id == 0 and not tables:
            if self.readonly:
                raise InputError(f"{self.path} is an empty file, not a ledger yet")
            self._initialise()
        elif app_id == 0 and tables >= _TABLES and self._unmarked_keel_ledger():
            if not self.readonly:
                with self.write():
                    self._db.execute(f"PRAGMA application_id={APPLICATION_ID}")
                    self._db.execute(f"PRAGMA user_version={STORE_VERSION}")
        else:
            names = ", ".join(sorted(tables)[:6]) or "none"
            raise InputError(
                f"{self.path} is not a keel ledger (SQLite application id {app_id:#x}, tables: "
                f"{names}); keel reads and writes only its own databases: point --db / KEEL_DB "
                "at a keel ledger or at a new file"
            )
        if self.get_meta(_ERASURE_PENDING) is not None:
            self._finish_erasure()

    def _mark(self) -> tuple[int, int, frozenset[str]]:
        with self.read():
            return self._read_mark()

    def _read_mark(self) -> tuple[int, int, frozenset[str]]:
        app_id = int(self._db.execute("PRAGMA application_id").fetchone()[0])
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        rows = self._db.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")
        return app_id, version, frozenset(str(r[0]) for r in rows)

    def _unmarked_keel_ledger(self) -> bool:
        """A ledger written before files were marked: keel's tables, `UNMARKED_LAYOUT` in meta."""
        row = self._db.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
        return row is not None and row[0] == UNMARKED_LAYOUT

    def _initialise(self) -> None:
        _set_wal(self._db)
        with self.write():
            app_id, _, tables = self._mark()
            if app_id == APPLICATION_ID:
                return  # another process initialised it first
            if tables:
                raise InputError(f"{self.path} changed while keel was creating a ledger in it")
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    self._db.execute(stmt)
            self._db.execute(f"PRAGMA application_id={APPLICATION_ID}")
            self._db.execute(f"PRAGMA user_version={STORE_VERSION}")

    # -- transactions ----------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[None]:
        if self._in_txn:
            yield
            return
        self._begin_write()
        self._in_txn = True
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")
        finally:
            self._in_txn = False

    @contextmanager
    def read(self) -> Iterator[None]:
        if self._in_txn:
            yield
            return
        self._db.execute("BEGIN")
        self._in_txn = True
        try:
            yield
        finally:
            self._in_txn = False
            self._db.execute("COMMIT")

    def _begin_write(self) -> None:
        """`BEGIN IMMEDIATE`, waiting up to `lock_timeout` for another writer and naming it."""
        deadline = time.monotonic() + self.lock_timeout
        noted = False
        while True:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                return
            except StorageError as exc:
                if not _is_busy(exc):
                    raise
                holders = lock_holders(self.path)
                if time.monotonic() >= deadline:
                    raise StorageError(
                        f"{self.path}: another writer{holders} held the ledger for "
                        f"{self.lock_timeout:.0f} s; wait for it to finish, then run this again"
                    ) from exc
                if not noted:
                    _log.warning("waiting for another writer%s to finish", holders)
                    noted = True

    def close(self) -> None:
        self._db.close()

    def compact(self, wait: float | None = None) -> None:
        """Copy the WAL into the database and truncate it, so erased bytes leave the WAL too.

        Waits up to `wait` (default `COMPACT_WAIT`) seconds for readers of older snapshots;
        then raises `ErasurePendingError` (the next open of the ledger tries again).
        """
        if not self._checkpoint_wal(COMPACT_WAIT if wait is None else wait):
            holders = lock_holders(self.path)
            raise ErasurePendingError(
                f"another process{holders} is reading {self.path}, so erased bytes may remain "
                "in its files; the next keel command on this ledger removes them, or run "
                "`keel ledger compact` once that process has finished"
            )
        if self.get_meta(_ERASURE_PENDING) is not None:
            with self.write():
                self._db.execute("DELETE FROM meta WHERE name = ?", (_ERASURE_PENDING,))

    def _checkpoint_wal(self, wait: float) -> bool:
        """`wal_checkpoint(TRUNCATE)`; SQLite's busy handler waits up to `wait` seconds for
        readers of older snapshots. True when the WAL is empty afterwards."""
        self._db.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
        try:
            busy = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except StorageError as exc:
            if not _is_busy(exc):
                raise
            busy = 1
        finally:
            self._db.execute(f"PRAGMA busy_timeout = {_BUSY_MS}")
        return not busy

    def _finish_erasure(self) -> None:
        """Finish an erasure that a crash or a busy reader interrupted (see `compact`)."""
        if self.readonly:
            if not os.access(self.path, os.W_OK):
                _log.warning("%s: an erasure is unfinished; run `keel ledger compact`", self.path)
                return
            try:
                SQLiteStore(self.path, create=False).close()
            except StorageError as exc:
                _log.warning("%s", exc)
            return
        try:
            self.compact(wait=0.5)
        except StorageError as exc:
            _log.warning("%s", exc)

    # -- metadata --------------------------------------------------------------------------
    def get_meta(self, name: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, name: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta(name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def iter_meta(self) -> Iterator[tuple[str, str]]:
        yield from self._db.execute("SELECT name, value FROM meta ORDER BY name")

    # -- entries ---------------------------------------------------------------------------
    def size(self) -> int:
        row = self._db.execute("SELECT max(idx) FROM entries").fetchone()
        return 0 if row[0] is None else int(row[0]) + 1

    def insert_entries(
        self, start: int, rows: Sequence[tuple[int, int | None, str, bytes]]
    ) -> bool:
        self._db.execute("SAVEPOINT keel_entries")
        before = self._db.total_changes
        self._db.executemany(
            "INSERT INTO entries(idx, key, payload, kind, entry) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(key) DO NOTHING",
            [(start + i, k, p, t, e) for i, (k, p, t, e) in enumerate(rows)],
        )
        inserted = self._db.total_changes - before == len(rows)
        if not inserted:
            self._db.execute("ROLLBACK TO keel_entries")
        self._db.execute("RELEASE keel_entries")
        return inserted

    _ROW = "SELECT idx, key, entry, payload, kind FROM entries"

    def entries_in_key_range(self, lo: int, hi: int) -> list[EntryRow]:
        cur = self._db.execute(f"{self._ROW} WHERE key BETWEEN ? AND ? LIMIT 100", (lo, hi))
        return [EntryRow(*r) for r in cur]

    def entries_of_kind(self, kind: str) -> list[int]:
        # The kind index leaves records out (`WHERE kind != 'record'`): the planner uses it for
        # a bound kind only when the query says so too; otherwise it scans every entry.
        query = "SELECT idx FROM entries WHERE kind = ?"
        if kind != "record":
            query += " AND kind != 'record'"
        cur = self._db.execute(query + " ORDER BY idx", (kind,))
        return [r[0] for r in cur]

    def entries_by_key(self, keys: Sequence[int]) -> dict[int, EntryRow]:
        # Two steps: the key index alone gives each key's idx (it holds the rowid, which is
        # idx), then the rows are read in idx order. Keys are random, so reading rows in key
        # order seeks all over the table; rows named together were mostly appended together,
        # and in idx order they are read page after page (a third of the time per lookup at a
        # million entries). Keys not in the log, as for most entries being appended, read no
        # row at all.
        if not keys:
            return {}
        cur = self._db.execute(
            "SELECT idx FROM entries WHERE key IN (SELECT value FROM json_each(?))",
            (orjson.dumps(list(keys)).decode(),),
        )
        found = sorted(r[0] for r in cur)
        if not found:
            return {}
        cur = self._db.execute(
            f"{self._ROW} WHERE idx IN (SELECT value FROM json_each(?)) ORDER BY idx",
            (orjson.dumps(found).decode(),),
        )
        return {r[1]: EntryRow(*r) for r in cur}

    def entry_at(self, idx: int) -> EntryRow | None:
        row = self._db.execute(f"{self._ROW} WHERE idx = ?", (idx,)).fetchone()
        return None if row is None else EntryRow(*row)

    def iter_entries(self, start: int = 0, stop: int | None = None) -> Iterator[EntryRow]:
        cur = self._db.execute(
            f"{self._ROW} WHERE idx >= ? AND idx < ? ORDER BY idx",
            (start, 2**62 if stop is None else stop),
        )
        yield from starmap(EntryRow, cur)

    def entries_with_payload(self, payload_key: int) -> list[int]:
        cur = self._db.execute(
            "SELECT idx FROM entries WHERE payload = ? ORDER BY idx", (payload_key,)
        )
        return [r[0] for r in cur]

    def last_entries(self, count: int) -> list[EntryRow]:
        cur = self._db.execute(f"{self._ROW} ORDER BY idx DESC LIMIT ?", (count,))
        return [EntryRow(*r) for r in cur]

    # -- references ------------------------------------------------------------------------
    def insert_refs(self, rows: Sequence[tuple[int, int]]) -> None:
        self._db.executemany("INSERT INTO refs(target, source) VALUES (?, ?)", rows)

    def refs_to(self, target: int, since: int = 0) -> list[int]:
        cur = self._db.execute(
            "SELECT source FROM refs WHERE target = ? AND source >= ? ORDER BY source",
            (target, since),
        )
        return [r[0] for r in cur]

    def iter_refs(self) -> Iterator[tuple[int, int]]:
        yield from self._db.execute("SELECT source, target FROM refs ORDER BY source, target")

    # -- external ids ----------------------------------------------------------------------
    def insert_aliases(self, rows: Sequence[tuple[str, int]]) -> None:
        self._db.executemany("INSERT INTO aliases(name, idx) VALUES (?, ?)", rows)

    def aliases(self, names: Sequence[str]) -> dict[str, int]:
        if not names:
            return {}
        cur = self._db.execute(
            "SELECT name, idx FROM aliases WHERE name IN (SELECT value FROM json_each(?))",
            (orjson.dumps(list(names)).decode(),),
        )
        return {n: i for n, i in cur}

    def iter_aliases(self) -> Iterator[tuple[str, int]]:
        yield from self._db.execute("SELECT name, idx FROM aliases ORDER BY name")

    # -- tree hashes -----------------------------------------------------------------------
    def hash_count(self) -> int:
        row = self._db.execute(
            "SELECT chunk, length(data) FROM hashes ORDER BY chunk DESC LIMIT 1"
        ).fetchone()
        return 0 if row is None else row[0] * HASHES_PER_CHUNK + row[1] // _HASH_SIZE

    def write_hashes(self, start: int, hashes: Sequence[bytes]) -> None:
        if not hashes:
            return
        chunk, offset = divmod(start, HASHES_PER_CHUNK)
        data = b"".join(hashes)
        if offset:
            row = self._db.execute("SELECT data FROM hashes WHERE chunk = ?", (chunk,)).fetchone()
            head = bytes(row[0]) if row is not None else b""
            if len(head) != offset * _HASH_SIZE:
                raise VerificationError(
                    f"stored tree hashes are inconsistent at chunk {chunk}: "
                    "run `keel ledger verify` to find the damage"
                )
            data = head + data
        rows = [
            (chunk + i, data[i * _CHUNK_BYTES : (i + 1) * _CHUNK_BYTES])
            for i in range((len(data) + _CHUNK_BYTES - 1) // _CHUNK_BYTES)
        ]
        self._db.executemany("INSERT OR REPLACE INTO hashes(chunk, data) VALUES (?, ?)", rows)

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        if not indexes:
            return []
        chunks = sorted({i // HASHES_PER_CHUNK for i in indexes})
        cur = self._db.execute(
            "SELECT chunk, data FROM hashes WHERE chunk IN (SELECT value FROM json_each(?))",
            (orjson.dumps(chunks).decode(),),
        )
        blobs = {c: bytes(d) for c, d in cur}
        return hashes_in_chunks(blobs, indexes)

    def iter_hashes(self) -> Iterator[bytes]:
        for (data,) in self._db.execute("SELECT data FROM hashes ORDER BY chunk"):
            blob = bytes(data)
            yield from hashes_of_chunk(blob)

    # -- payloads --------------------------------------------------------------------------
    def insert_payloads(self, rows: Sequence[tuple[int, bytes, bytes]]) -> int:
        before = self._db.total_changes
        self._db.executemany(
            "INSERT INTO payloads(key, digest, data) VALUES (?, ?, ?) ON CONFLICT(key) DO NOTHING",
            rows,
        )
        return self._db.total_changes - before

    def payloads_by_key(self, keys: Sequence[int]) -> dict[int, PayloadRow]:
        if not keys:
            return {}
        cur = self._db.execute(
            "SELECT key, digest, data FROM payloads WHERE key IN (SELECT value FROM json_each(?))",
            (orjson.dumps(list(keys)).decode(),),
        )
        return {k: PayloadRow(k, bytes(d), None if v is None else bytes(v)) for k, d, v in cur}

    def erase_payload(self, key: int) -> None:
        self._db.execute("UPDATE payloads SET data = NULL WHERE key = ?", (key,))
        self.set_meta(_ERASURE_PENDING, "1")

    def iter_payloads(self) -> Iterator[PayloadRow]:
        # As blobs whatever they hold, so a damaged row reads as bytes for verify to report.
        yield from starmap(
            PayloadRow,
            self._db.execute(
                "SELECT key, CAST(digest AS BLOB), CAST(data AS BLOB) FROM payloads ORDER BY rowid"
            ),
        )

    def uncommitted_payloads(self) -> list[bytes]:
        cur = self._db.execute(
            "SELECT digest FROM payloads WHERE key NOT IN "
            "(SELECT payload FROM entries WHERE payload IS NOT NULL) LIMIT 100"
        )
        return [bytes(r[0]) for r in cur]

    # -- checkpoints -----------------------------------------------------------------------
    def add_checkpoint(self, size: int, note: bytes) -> None:
        self._db.execute("INSERT INTO checkpoints(size, note) VALUES (?, ?)", (size, note))

    def checkpoints(self) -> list[tuple[int, bytes]]:
        cur = self._db.execute("SELECT size, note FROM checkpoints ORDER BY seq")
        return [(s, bytes(n)) for s, n in cur]

    def latest_checkpoint(self) -> tuple[int, bytes] | None:
        row = self._db.execute(
            "SELECT size, note FROM checkpoints ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return None if row is None else (row[0], bytes(row[1]))


# -- the connection: every SQLite error becomes a keel error ---------------------------------
@contextmanager
def _keel_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise storage_error(path, exc) from exc


class _Cursor(sqlite3.Cursor):
    path: Path

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]  # rows all the same
        # Rows are fetched many at a time: converting errors in a Python `__next__` cost more
        # than the row (a third of reading a million entries).
        while rows := self.fetchmany(_FETCH):
            yield from rows

    def fetchmany(self, size: int | None = 1) -> list[Any]:
        with _keel_errors(self.path):
            return super().fetchmany(size)

    def fetchone(self) -> Any:
        with _keel_errors(self.path):
            return super().fetchone()


class _Connection(sqlite3.Connection):
    path: Path

    def _cursor(self) -> _Cursor:
        cur = self.cursor(_Cursor)
        cur.path = self.path
        return cur

    def execute(self, sql: str, parameters: Any = (), /) -> _Cursor:
        cur = self._cursor()
        with _keel_errors(self.path):
            cur.execute(sql, parameters)
        return cur

    def executemany(self, sql: str, parameters: Any, /) -> _Cursor:
        cur = self._cursor()
        with _keel_errors(self.path):
            cur.executemany(sql, parameters)
        return cur


def storage_error(path: Path, exc: sqlite3.Error) -> KeelError:
    """The keel error for an SQLite error on the ledger at `path`: what happened, what to do."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    kept = "nothing from this command was kept (the ledger is as it was)"
    if name.startswith("SQLITE_FULL"):
        return StorageError(f"{path}: the disk is full; {kept}: free space and run it again")
    if name.startswith("SQLITE_IOERR"):
        return StorageError(
            f"{path}: I/O error ({name}); {kept}: check the disk, then run `keel ledger verify`"
        )
    if name.startswith("SQLITE_READONLY"):
        return StorageError(
            f"{path}: the ledger is read-only here (file or folder permissions, or a read-only "
            "mount); run this where the ledger and its folder are writable"
        )
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return StorageError(f"{path}: the ledger is locked by another process{lock_holders(path)}")
    if name.startswith("SQLITE_CANTOPEN"):
        return StorageError(f"{path}: cannot open the ledger (is its folder readable?)")
    if name.startswith("SQLITE_NOTADB"):
        return InputError(f"{path} is not a keel ledger database ({exc})")
    if name.startswith("SQLITE_CORRUPT"):
        return StorageError(
            f"{path}: the database file is damaged ({exc}); restore it from a copy and run "
            "`keel ledger verify`"
        )
    return StorageError(f"{path}: {exc}")


def _is_busy(exc: StorageError) -> bool:
    cause = exc.__cause__
    name = getattr(cause, "sqlite_errorname", "") or ""
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


def lock_holders(path: Path) -> str:
    """The other processes that have the ledger open, as far as /proc shows (Linux; empty
    elsewhere), as " (the ledger is open in pid 123: keel ingest big.csv)"."""
    wanted = {str(path.absolute()), str(path.absolute()) + "-wal"}
    try:
        wanted |= {str(path.resolve()), str(path.resolve()) + "-wal"}
        pids = [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]
    except OSError:
        return ""
    found = []
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") in wanted for fd in fds):
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
                found.append(f"pid {pid}: {cmd[:80]}")
        except OSError:
            continue
    return f" (the ledger is open in {'; '.join(found[:3])})" if found else ""


def database_files(path: Path) -> tuple[Path, ...]:
    """The files SQLite keeps for the database at `path`: the file and its journals."""
    return tuple(Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm", "-journal"))


def _create_private(path: Path) -> None:
    """Create an empty ledger file readable by its owner only (it holds the payloads)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except FileNotFoundError as exc:
        raise InputError(f"cannot create {path}: its folder does not exist") from exc
    except OSError as exc:
        raise StorageError(f"cannot create {path}: {exc.strerror}") from exc


def _set_wal(db: sqlite3.Connection) -> None:
    """Switch to WAL, retrying: the switch takes a lock that the busy timeout does not cover."""
    for attempt in range(200):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except StorageError as exc:
            if not _is_busy(exc) or attempt == 199:
                raise
            time.sleep(0.01 + 0.001 * attempt)
