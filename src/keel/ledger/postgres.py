"""The shared store: one PostgreSQL database that processes on any number of hosts write at once.

Sequencing is Tessera's PostgreSQL driver's: every write transaction (an append batch) first
locks the one row of `keel.head` with `SELECT ... FOR UPDATE`, then reads the tree's size and
frontier, assigns the next leaf indexes, and writes entries, payloads and tree hashes before it
commits. Writers on any host therefore queue on that row; each sees everything committed before
it got the lock (READ COMMITTED takes a fresh snapshot per statement), so no index is given
twice and none is skipped. A batch that fails, or whose process dies, rolls back whole: an
acknowledged (committed) entry is never lost, an unacknowledged one leaves nothing. Reads that
must agree with each other run in one `REPEATABLE READ READ ONLY` transaction (`read()`).
Bulk rows go in with binary COPY.

The tables live in the schema `keel`; `keel.head` also marks the database as a keel ledger
(application "keel", the store version). keel opens only its own ledgers or a database with no
tables at all, never adds tables beside another application's, and never drops or overwrites.

Erasure is by key destruction: each payload is stored encrypted (AES-256-GCM) under its own
random key, kept in the small table `keel.payload_keys`. The plaintext never reaches any file of
the server. Redacting deletes the key row; `compact()` then rewrites the partition of that table
that held it (VACUUM FULL; the table is split in `KEY_PARTITIONS`) so the key leaves the table's
files, and, where the role may (superuser, or `pg_checkpoint` and
EXECUTE on `pg_switch_wal`), switches the WAL segment and checkpoints so that the segments that
held the key are removed (the server must run with `wal_recycle = off`, no archive and no
replication slot holding them: docs/scale.md). The ciphertext may stay anywhere, backups
included: without its key it is noise.

psycopg (the `[postgres]` extra) is imported on first use, so the core install works without it.
Every server error is raised as `keel.errors.StorageError` naming the URL without its password.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from itertools import count
from types import ModuleType
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from keel.errors import (
    ErasurePendingError,
    InputError,
    StorageError,
    VerificationError,
    require,
)
from keel.ledger.store import (
    HASHES_PER_CHUNK,
    EntryRow,
    PayloadRow,
    hashes_in_chunks,
    hashes_of_chunk,
)

APPLICATION = "keel"
"""`keel.head.application` of a keel ledger."""
STORE_VERSION = 1
"""`keel.head.version` of the table layout below."""
LOCK_TIMEOUT = 600.0
"""Seconds a writer waits for another writer's transaction (an ingest of millions of rows)."""
COMPACT_WAIT = 10.0
"""Seconds `compact()` waits for readers of older snapshots before giving up."""
URL_SCHEMES = ("postgresql://", "postgres://")
"""How a `--db` / KEEL_DB value names a PostgreSQL ledger (a libpq connection URL)."""

_HASH_SIZE = 32
_CHUNK_BYTES = HASHES_PER_CHUNK * _HASH_SIZE
_KEY_SIZE = 32
_NONCE = bytes(12)
"""AES-GCM nonce: constant, since each key encrypts exactly one payload."""
_FETCH = 4096
"""Rows fetched per round trip by the iterators (server-side cursors)."""
_ERASURE_PENDING = "erasure_pending"
_log = logging.getLogger("keel.ledger")
_T = TypeVar("_T")

_SCHEMA = """
CREATE SCHEMA keel;
CREATE TABLE keel.head (
    one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),  -- the single row writers lock
    application TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE TABLE keel.meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE keel.entries (
    idx BIGINT PRIMARY KEY,    -- leaf index in the log
    key BIGINT NOT NULL,       -- first 8 bytes of the entry id (SHA-256 of entry)
    payload BIGINT,            -- key of the committed payload, if any
    kind TEXT NOT NULL,        -- record, verdict, mix, run, redaction
    entry BYTEA NOT NULL       -- the exact logged bytes (RFC 8785 JSON)
);
CREATE UNIQUE INDEX entries_key ON keel.entries(key);
CREATE INDEX entries_payload ON keel.entries(payload, idx) WHERE payload IS NOT NULL;
CREATE INDEX entries_kind ON keel.entries(kind, idx) WHERE kind <> 'record';
CREATE TABLE keel.aliases (name TEXT PRIMARY KEY, idx BIGINT NOT NULL);
CREATE TABLE keel.refs (target BIGINT NOT NULL, source BIGINT NOT NULL);
CREATE INDEX refs_target ON keel.refs(target, source);
CREATE TABLE keel.hashes (chunk BIGINT PRIMARY KEY, data BYTEA NOT NULL);
CREATE TABLE keel.payloads (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key BIGINT NOT NULL,       -- first 8 bytes of the digest
    digest BYTEA NOT NULL,     -- SHA-256 of the plaintext
    data BYTEA                 -- AES-256-GCM ciphertext, NULL once redacted
);
CREATE UNIQUE INDEX payloads_key ON keel.payloads(key);
CREATE TABLE keel.payload_keys (key BIGINT PRIMARY KEY, secret BYTEA NOT NULL)
    PARTITION BY HASH (key);
CREATE TABLE keel.checkpoints (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    size BIGINT NOT NULL,
    note BYTEA NOT NULL
);
"""
KEY_PARTITIONS = 64
"""The key table is split into this many partitions, so that finishing an erasure rewrites the
partitions that held the destroyed keys (1/64 of the keys each), not every key."""
_SCHEMA += "".join(
    f"CREATE TABLE keel.payload_keys_{i} PARTITION OF keel.payload_keys "
    f"FOR VALUES WITH (MODULUS {KEY_PARTITIONS}, REMAINDER {i});\n"
    for i in range(KEY_PARTITIONS)
)
_PARTITION = re.compile(r"keel\.payload_keys_\d+")
_USER_TABLES = """
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp\\_%%'
ORDER BY 1, 2
"""
_INIT_LOCK = 0x6B65656C
"""The advisory lock that serialises creating the tables ("keel")."""


def is_postgres_url(db: object) -> bool:
    """Whether a `--db` / KEEL_DB value names a PostgreSQL ledger rather than an SQLite file."""
    return isinstance(db, str) and db.startswith(URL_SCHEMES)


def safe_url(url: str) -> str:
    """The URL without its password (in the user part or a `password=` parameter), for messages."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        user, host = netloc.rsplit("@", 1)
        netloc = f"{user.split(':', 1)[0]}@{host}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "password"], safe="/")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _psycopg() -> ModuleType:
    """psycopg 3, or a ConfigError saying how to install it."""
    return require(
        "psycopg",
        "a postgresql:// ledger needs psycopg 3: pip install 'keel[postgres]' "
        "(or pip install 'psycopg[binary]')",
    )


class PostgresStore:
    """A ledger in the `keel` schema of one PostgreSQL database, named by a libpq URL;
    `readonly` opens it for reading only (the session refuses writes too)."""

    def __init__(
        self,
        url: str,
        *,
        create: bool = True,
        readonly: bool = False,
        lock_timeout: float = LOCK_TIMEOUT,
    ) -> None:
        self.url = url
        self.where = safe_url(url)
        self.readonly = readonly
        self.lock_timeout = lock_timeout
        self._in_txn = False
        self._pg = _psycopg()
        self._names = count()
        name = f"keel {os.getpid()}@{socket.gethostname()}"[:63]  # names writers in messages
        options = "-c default_transaction_read_only=on" if readonly else ""
        try:
            self._db: Any = self._pg.connect(
                url, autocommit=True, application_name=name, options=options
            )
        except self._pg.Error as exc:
            raise StorageError(
                f"cannot connect to the PostgreSQL ledger at {self.where}: {_first_line(exc)}; "
                "check that the server runs and that the URL's host, port, database, user and "
                "password are right"
            ) from exc
        try:
            self._open(create)
        except BaseException:
            self._db.close()
            raise

    def _open(self, create: bool) -> None:
        version = self._version()
        if version is None:
            if not create or self.readonly:
                raise InputError(
                    f"no ledger at {self.where}: run `keel ingest` or `keel ledger key init` to "
                    "start one there, or point --db / KEEL_DB at an existing ledger"
                )
            self._initialise()
        elif version != STORE_VERSION:
            raise InputError(
                f"{self.where} is a keel ledger of store version {version}; this keel reads "
                f"version {STORE_VERSION}: use the keel that wrote it"
            )
        if not self.readonly and self.get_meta(_ERASURE_PENDING) is not None:
            try:
                self.compact(wait=0.5)
            except StorageError as exc:
                _log.warning("%s", exc)

    def _version(self) -> int | None:
        """The store version of the ledger here; None for a database with no tables at all;
        InputError for one that holds another application's tables."""
        with self.read():
            marked = self._one("SELECT to_regclass('keel.head') IS NOT NULL")[0]
            if marked:
                row = self._one_or_none("SELECT application, version FROM keel.head")
                if row is not None and row[0] == APPLICATION:
                    return int(row[1])
            tables = self._all(_USER_TABLES)
        if not tables:
            return None
        names = ", ".join(f"{s}.{t}" for s, t in tables[:6])
        raise InputError(
            f"{self.where} is not a keel ledger (it holds tables: {names}); keel reads and writes "
            "only its own databases: point --db / KEEL_DB at a keel ledger or at a new, empty "
            "database (CREATE DATABASE)"
        )

    def _initialise(self) -> None:
        with self._transaction("BEGIN"):
            self._run("SELECT pg_advisory_xact_lock(%s)", (_INIT_LOCK,))
            if self._one("SELECT to_regclass('keel.head') IS NOT NULL")[0]:
                return  # another process created it first
            if self._all(_USER_TABLES):
                raise InputError(f"{self.where} changed while keel was creating a ledger in it")
            self._run(_SCHEMA)
            self._run(
                "INSERT INTO keel.head(application, version) VALUES (%s, %s)",
                (APPLICATION, STORE_VERSION),
            )

    # -- transactions ----------------------------------------------------------------------
    @contextmanager
    def _transaction(self, begin: str) -> Iterator[None]:
        if self._in_txn:
            yield
            return
        self._run(begin)
        self._in_txn = True
        try:
            yield
        except BaseException:
            self._rollback()
            raise
        else:
            self._run("COMMIT")
        finally:
            self._in_txn = False

    def _rollback(self) -> None:
        """Roll back; a connection already lost rolled back on the server by itself."""
        if not self._db.closed:
            try:
                self._db.execute("ROLLBACK")
            except self._pg.Error as exc:
                _log.debug("rollback failed: %s", exc)

    @contextmanager
    def write(self) -> Iterator[None]:
        """One write transaction holding the tree head's lock (module docstring)."""
        if self._in_txn:
            yield
            return
        if self.readonly:
            raise StorageError(f"{self.where} was opened read-only; this command writes")
        with self._transaction("BEGIN ISOLATION LEVEL READ COMMITTED"):
            self._lock_head()
            yield

    def _lock_head(self) -> None:
        """Lock the head row, waiting up to `lock_timeout` and naming the writer that holds it."""
        self._run(f"SET LOCAL lock_timeout = '{int(self.lock_timeout * 1000)}ms'")
        self._run("SAVEPOINT keel_lock")
        try:
            self._db.execute("SELECT one FROM keel.head FOR UPDATE")
        except self._pg.errors.LockNotAvailable as exc:
            self._run("ROLLBACK TO SAVEPOINT keel_lock")
            holders = self._all(
                "SELECT a.pid, a.application_name FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.relation = 'keel.head'::regclass AND l.granted "
                "AND l.mode = 'RowShareLock' AND l.pid <> pg_backend_pid()"
            )
            who = "; ".join(f"pid {pid} ({name})" for pid, name in holders[:3])
            raise StorageError(
                f"{self.where}: another writer{f' ({who})' if who else ''} held the ledger for "
                f"{self.lock_timeout:.0f} s; wait for it to finish, then run this again"
            ) from exc
        except self._pg.Error as exc:
            raise self._error(exc) from exc
        self._run("RELEASE SAVEPOINT keel_lock")
        self._run("SET LOCAL lock_timeout = 0")

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._transaction("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"):
            yield

    def close(self) -> None:
        self._db.close()

    def compact(self, wait: float | None = None) -> None:
        """Rewrite the key partitions that held destroyed keys so the keys leave their files,
        then move the WAL past them.

        Waits up to `wait` (default `COMPACT_WAIT`) seconds for sessions whose snapshots predate
        the erasure (VACUUM FULL keeps rows they could still see); then raises
        `ErasurePendingError` (the next open of the ledger for writing tries again).
        """
        pending = self.get_meta(_ERASURE_PENDING)
        if pending is None:
            return
        xid, tables = _erasure(pending)
        wait = COMPACT_WAIT if wait is None else wait
        deadline = time.monotonic() + wait
        while holders := self._old_snapshots(xid):
            if time.monotonic() >= deadline:
                raise ErasurePendingError(
                    f"sessions ({'; '.join(holders[:3])}) hold snapshots older than the erasure "
                    f"on {self.where}, so destroyed keys may remain in its files; the next keel "
                    "command that writes this ledger removes them, or run `keel ledger compact` "
                    "once they have finished"
                )
            time.sleep(0.05)
        self._run(f"SET lock_timeout = '{int(wait * 1000)}ms'")
        try:
            for table in tables:
                self._run(f"VACUUM FULL {table}")
        finally:
            self._run("SET lock_timeout = 0")
        self._flush_wal()
        with self.write():
            self._run(
                "DELETE FROM keel.meta WHERE name = %s AND value = %s", (_ERASURE_PENDING, pending)
            )

    def _old_snapshots(self, xid: int) -> list[str]:
        """The other sessions on this database whose snapshot may still see rows deleted by
        transaction `xid` (their xmin is not after it), as "pid 12 (keel 34@host)"; sessions of
        other roles are visible only to a superuser or `pg_read_all_stats`."""
        rows = self._all(
            "SELECT pid, application_name FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_xmin IS NOT NULL AND age(backend_xmin) >= age(%s::text::xid)",
            (xid % 2**32,),
        )
        return [f"pid {pid} ({name})" for pid, name in rows]

    def _flush_wal(self) -> None:
        """Switch to a new WAL segment and checkpoint, so that the server removes the segments
        written before; a role without the privileges leaves that to the server's own
        checkpoints (within `checkpoint_timeout`), and a server that recycles or archives its
        segments keeps their bytes: both with a warning."""
        try:
            self._db.execute("CHECKPOINT")
            self._db.execute("SELECT pg_switch_wal()")
            self._db.execute("CHECKPOINT")
        except self._pg.errors.InsufficientPrivilege:
            _log.warning(
                "%s: the role may not run CHECKPOINT and pg_switch_wal(), so destroyed payload "
                "keys stay in the server's WAL until its next checkpoints remove those segments; "
                "grant pg_checkpoint and EXECUTE on pg_switch_wal to finish erasures at once",
                self.where,
            )
        except self._pg.Error as exc:
            raise self._error(exc) from exc
        recycle, archive = self._one(
            "SELECT current_setting('wal_recycle'), current_setting('archive_mode')"
        )
        if recycle != "off" or archive != "off":
            _log.warning(
                "%s: the server %s its old WAL segments, so destroyed payload keys may remain in "
                "them; set wal_recycle = off and archive_mode = off for erasures to reach the WAL "
                "(docs/scale.md, 'Erasure')",
                self.where,
                "recycles" if recycle != "off" else "archives",
            )

    # -- running statements ----------------------------------------------------------------
    def _run(self, sql: str, params: Sequence[object] | None = None) -> Any:
        try:
            return self._db.execute(sql, params)
        except self._pg.Error as exc:
            raise self._error(exc) from exc

    def _one(self, sql: str, params: Sequence[object] | None = None) -> tuple[Any, ...]:
        row = self._run(sql, params).fetchone()
        assert row is not None
        return tuple(row)

    def _one_or_none(
        self, sql: str, params: Sequence[object] | None = None
    ) -> tuple[Any, ...] | None:
        row = self._run(sql, params).fetchone()
        return None if row is None else tuple(row)

    def _all(self, sql: str, params: Sequence[object] | None = None) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self._run(sql, params).fetchall()]

    def _stream(
        self, sql: str, params: Sequence[object], make: Callable[[tuple[Any, ...]], _T]
    ) -> Iterator[_T]:
        """Rows of a query through a server-side cursor, read in one snapshot: the caller's
        transaction's, or, outside one, the query's own (a WITH HOLD cursor, which the server
        keeps after its statement commits, so no transaction stays open while the caller
        iterates or if it stops early)."""
        cur = self._db.cursor(name=f"keel_{next(self._names)}", withhold=not self._in_txn)
        try:
            try:
                cur.execute(sql, params)
            except self._pg.Error as exc:
                raise self._error(exc) from exc
            while True:
                try:
                    rows = cur.fetchmany(_FETCH)
                except self._pg.Error as exc:
                    raise self._error(exc) from exc
                if not rows:
                    return
                for row in rows:
                    yield make(tuple(row))
        finally:
            if not self._db.closed and not cur.closed:
                try:
                    cur.close()
                except self._pg.Error as exc:
                    _log.debug("closing a cursor failed: %s", exc)

    def _copy(self, sql: str, types: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        """Binary COPY of rows into a table (`sql` is the COPY ... FROM STDIN statement)."""
        with self._db.cursor() as cur, cur.copy(sql) as copy:
            copy.set_types(list(types))
            for row in rows:
                copy.write_row(row)

    def _error(self, exc: BaseException) -> StorageError:
        """The keel error for a server error on this ledger: what happened, what to do."""
        sqlstate = getattr(exc, "sqlstate", None) or ""
        kept = "nothing from this command was kept (the ledger is as it was)"
        what = _first_line(exc)
        if sqlstate == "53100":
            return StorageError(f"{self.where}: the server's disk is full; {kept}: free space")
        if sqlstate.startswith("42501"):
            return StorageError(
                f"{self.where}: the role lacks a privilege ({what}); grant it the ledger's "
                "schema `keel` (owner), or use the role that created the ledger"
            )
        if sqlstate == "25006":
            return StorageError(f"{self.where} was opened read-only; this command writes")
        if isinstance(exc, self._pg.OperationalError) or sqlstate.startswith("08"):
            return StorageError(
                f"{self.where}: the connection to the server failed ({what}); an append whose "
                "commit was not acknowledged may or may not be in the ledger: run it again "
                "(entries already logged are not logged twice)"
            )
        return StorageError(f"{self.where}: {what}")

    # -- metadata --------------------------------------------------------------------------
    def get_meta(self, name: str) -> str | None:
        row = self._one_or_none("SELECT value FROM keel.meta WHERE name = %s", (name,))
        return None if row is None else str(row[0])

    def set_meta(self, name: str, value: str) -> None:
        self._run(
            "INSERT INTO keel.meta(name, value) VALUES (%s, %s) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def iter_meta(self) -> Iterator[tuple[str, str]]:
        return self._stream(
            'SELECT name, value FROM keel.meta ORDER BY name COLLATE "C"',
            (),
            lambda r: (str(r[0]), str(r[1])),
        )

    # -- entries ---------------------------------------------------------------------------
    def size(self) -> int:
        value = self._one("SELECT max(idx) FROM keel.entries")[0]
        return 0 if value is None else int(value) + 1

    def insert_entries(
        self, start: int, rows: Sequence[tuple[int, int | None, str, bytes]]
    ) -> bool:
        if not rows:
            return True
        self._run("SAVEPOINT keel_entries")
        try:
            self._copy(
                "COPY keel.entries (idx, key, payload, kind, entry) FROM STDIN (FORMAT BINARY)",
                ("int8", "int8", "int8", "text", "bytea"),
                [(start + i, k, p, t, e) for i, (k, p, t, e) in enumerate(rows)],
            )
        except self._pg.errors.UniqueViolation as exc:
            self._run("ROLLBACK TO SAVEPOINT keel_entries")
            if exc.diag.constraint_name != "entries_key":
                raise VerificationError(
                    f"{self.where}: leaf index {start} or later is already taken although the "
                    "writer holds the tree head: run `keel ledger verify`"
                ) from exc
            return False
        except self._pg.Error as exc:
            raise self._error(exc) from exc
        self._run("RELEASE SAVEPOINT keel_entries")
        return True

    _ROW = "SELECT idx, key, entry, payload, kind FROM keel.entries"

    def entries_in_key_range(self, lo: int, hi: int) -> list[EntryRow]:
        rows = self._all(f"{self._ROW} WHERE key BETWEEN %s AND %s LIMIT 100", (lo, hi))
        return [EntryRow(*r) for r in rows]

    def entries_of_kind(self, kind: str) -> list[int]:
        query = "SELECT idx FROM keel.entries WHERE kind = %s"
        if kind != "record":
            query += " AND kind <> 'record'"  # lets the planner use the partial index
        return [int(r[0]) for r in self._all(query + " ORDER BY idx", (kind,))]

    def entries_by_key(self, keys: Sequence[int]) -> dict[int, EntryRow]:
        if not keys:
            return {}
        rows = self._all(f"{self._ROW} WHERE key = ANY(%s::bigint[]) ORDER BY idx", (list(keys),))
        return {r[1]: EntryRow(*r) for r in rows}

    def entry_at(self, idx: int) -> EntryRow | None:
        row = self._one_or_none(f"{self._ROW} WHERE idx = %s", (idx,))
        return None if row is None else EntryRow(*row)

    def iter_entries(self, start: int = 0, stop: int | None = None) -> Iterator[EntryRow]:
        return self._stream(
            f"{self._ROW} WHERE idx >= %s AND idx < %s ORDER BY idx",
            (start, 2**62 if stop is None else stop),
            lambda r: EntryRow(*r),
        )

    def entries_with_payload(self, payload_key: int) -> list[int]:
        rows = self._all(
            "SELECT idx FROM keel.entries WHERE payload = %s ORDER BY idx", (payload_key,)
        )
        return [int(r[0]) for r in rows]

    def last_entries(self, count: int) -> list[EntryRow]:
        return [
            EntryRow(*r) for r in self._all(f"{self._ROW} ORDER BY idx DESC LIMIT %s", (count,))
        ]

    # -- references ------------------------------------------------------------------------
    def insert_refs(self, rows: Sequence[tuple[int, int]]) -> None:
        if rows:
            self._copy_or_fail(
                "COPY keel.refs (target, source) FROM STDIN (FORMAT BINARY)", ("int8", "int8"), rows
            )

    def refs_to(self, target: int, since: int = 0) -> list[int]:
        rows = self._all(
            "SELECT source FROM keel.refs WHERE target = %s AND source >= %s ORDER BY source",
            (target, since),
        )
        return [int(r[0]) for r in rows]

    def iter_refs(self) -> Iterator[tuple[int, int]]:
        return self._stream(
            "SELECT source, target FROM keel.refs ORDER BY source, target",
            (),
            lambda r: (int(r[0]), int(r[1])),
        )

    # -- external ids ----------------------------------------------------------------------
    def insert_aliases(self, rows: Sequence[tuple[str, int]]) -> None:
        if rows:
            self._copy_or_fail(
                "COPY keel.aliases (name, idx) FROM STDIN (FORMAT BINARY)", ("text", "int8"), rows
            )

    def aliases(self, names: Sequence[str]) -> dict[str, int]:
        if not names:
            return {}
        rows = self._all(
            "SELECT name, idx FROM keel.aliases WHERE name = ANY(%s::text[])", (list(names),)
        )
        return {str(n): int(i) for n, i in rows}

    def iter_aliases(self) -> Iterator[tuple[str, int]]:
        return self._stream(
            'SELECT name, idx FROM keel.aliases ORDER BY name COLLATE "C"',
            (),
            lambda r: (str(r[0]), int(r[1])),
        )

    def _copy_or_fail(
        self, sql: str, types: Sequence[str], rows: Sequence[Sequence[object]]
    ) -> None:
        try:
            self._copy(sql, types, rows)
        except self._pg.Error as exc:
            raise self._error(exc) from exc

    # -- tree hashes -----------------------------------------------------------------------
    def hash_count(self) -> int:
        row = self._one_or_none(
            "SELECT chunk, length(data) FROM keel.hashes ORDER BY chunk DESC LIMIT 1"
        )
        return 0 if row is None else int(row[0]) * HASHES_PER_CHUNK + int(row[1]) // _HASH_SIZE

    def write_hashes(self, start: int, hashes: Sequence[bytes]) -> None:
        if not hashes:
            return
        chunk, offset = divmod(start, HASHES_PER_CHUNK)
        data = b"".join(hashes)
        if offset:
            row = self._one_or_none("SELECT data FROM keel.hashes WHERE chunk = %s", (chunk,))
            head = bytes(row[0]) if row is not None else b""
            if len(head) != offset * _HASH_SIZE:
                raise VerificationError(
                    f"stored tree hashes are inconsistent at chunk {chunk}: "
                    "run `keel ledger verify` to find the damage"
                )
            data = head + data
        chunks = list(range(chunk, chunk + (len(data) + _CHUNK_BYTES - 1) // _CHUNK_BYTES))
        blobs = [data[i * _CHUNK_BYTES : (i + 1) * _CHUNK_BYTES] for i in range(len(chunks))]
        self._run(
            "INSERT INTO keel.hashes(chunk, data) SELECT * FROM unnest(%s::bigint[], %s::bytea[]) "
            "ON CONFLICT (chunk) DO UPDATE SET data = excluded.data",
            (chunks, blobs),
        )

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        if not indexes:
            return []
        chunks = sorted({i // HASHES_PER_CHUNK for i in indexes})
        rows = self._all(
            "SELECT chunk, data FROM keel.hashes WHERE chunk = ANY(%s::bigint[])", (chunks,)
        )
        blobs = {int(c): bytes(d) for c, d in rows}
        return hashes_in_chunks(blobs, indexes)

    def iter_hashes(self) -> Iterator[bytes]:
        for blob in self._stream(
            "SELECT data FROM keel.hashes ORDER BY chunk", (), lambda r: bytes(r[0])
        ):
            yield from hashes_of_chunk(blob)

    # -- payloads --------------------------------------------------------------------------
    def insert_payloads(self, rows: Sequence[tuple[int, bytes, bytes]]) -> int:
        if not rows:
            return 0
        secrets = os.urandom(_KEY_SIZE * len(rows))
        keys = [secrets[i * _KEY_SIZE : (i + 1) * _KEY_SIZE] for i in range(len(rows))]
        sealed = [
            (k, d, AESGCM(s).encrypt(_NONCE, data, d))
            for (k, d, data), s in zip(rows, keys, strict=True)
        ]
        self._run("SAVEPOINT keel_payloads")
        try:
            self._copy(
                "COPY keel.payloads (key, digest, data) FROM STDIN (FORMAT BINARY)",
                ("int8", "bytea", "bytea"),
                sealed,
            )
            new = {k for k, _, _ in rows}
        except self._pg.errors.UniqueViolation:
            # Some are stored already: insert the others one statement at a time.
            self._run("ROLLBACK TO SAVEPOINT keel_payloads")
            inserted = self._all(
                "INSERT INTO keel.payloads(key, digest, data) "
                "SELECT * FROM unnest(%s::bigint[], %s::bytea[], %s::bytea[]) "
                "ON CONFLICT (key) DO NOTHING RETURNING key",
                ([k for k, _, _ in sealed], [d for _, d, _ in sealed], [c for _, _, c in sealed]),
            )
            new = {int(r[0]) for r in inserted}
        except self._pg.Error as exc:
            raise self._error(exc) from exc
        self._copy_or_fail(
            "COPY keel.payload_keys (key, secret) FROM STDIN (FORMAT BINARY)",
            ("int8", "bytea"),
            [(k, s) for (k, _, _), s in zip(rows, keys, strict=True) if k in new],
        )
        self._run("RELEASE SAVEPOINT keel_payloads")
        return len(new)

    _PAYLOAD = (
        "SELECT p.key, p.digest, p.data, k.secret FROM keel.payloads p "
        "LEFT JOIN keel.payload_keys k ON k.key = p.key"
    )

    def _open_payload(
        self, key: int, digest: bytes, data: bytes | None, secret: bytes | None
    ) -> PayloadRow:
        """Decrypt a stored payload; a ciphertext without its key is an erased payload."""
        if data is None or secret is None:
            return PayloadRow(key, bytes(digest), None)
        try:
            return PayloadRow(key, bytes(digest), AESGCM(secret).decrypt(_NONCE, data, digest))
        except InvalidTag as exc:
            raise VerificationError(
                f"{self.where}: the stored payload {bytes(digest).hex()} does not decrypt with "
                "its key (the database was edited or damaged): run `keel ledger verify`"
            ) from exc

    def payloads_by_key(self, keys: Sequence[int]) -> dict[int, PayloadRow]:
        if not keys:
            return {}
        rows = self._all(f"{self._PAYLOAD} WHERE p.key = ANY(%s::bigint[])", (list(keys),))
        return {int(k): self._open_payload(k, d, v, s) for k, d, v, s in rows}

    def erase_payload(self, key: int) -> None:
        self._run("UPDATE keel.payloads SET data = NULL WHERE key = %s", (key,))
        held = self._all(
            "DELETE FROM keel.payload_keys WHERE key = %s "
            "RETURNING (SELECT c.relname FROM pg_class c WHERE c.oid = payload_keys.tableoid)",
            (key,),
        )
        pending = self.get_meta(_ERASURE_PENDING)
        tables = set(_erasure(pending)[1] if pending is not None else ())
        tables |= {f"keel.{t}" for (t,) in held}
        xid = int(self._one("SELECT pg_current_xact_id()::text")[0])
        record = {"xid": xid, "tables": sorted(tables)}
        self.set_meta(_ERASURE_PENDING, orjson.dumps(record).decode())

    def iter_payloads(self) -> Iterator[PayloadRow]:
        return self._stream(f"{self._PAYLOAD} ORDER BY p.seq", (), lambda r: self._open_payload(*r))

    def uncommitted_payloads(self) -> list[bytes]:
        rows = self._all(
            "SELECT digest FROM keel.payloads p WHERE NOT EXISTS "
            "(SELECT 1 FROM keel.entries e WHERE e.payload = p.key) LIMIT 100"
        )
        return [bytes(r[0]) for r in rows]

    # -- checkpoints -----------------------------------------------------------------------
    def add_checkpoint(self, size: int, note: bytes) -> None:
        self._run("INSERT INTO keel.checkpoints(size, note) VALUES (%s, %s)", (size, note))

    def checkpoints(self) -> list[tuple[int, bytes]]:
        rows = self._all("SELECT size, note FROM keel.checkpoints ORDER BY seq")
        return [(int(s), bytes(n)) for s, n in rows]

    def latest_checkpoint(self) -> tuple[int, bytes] | None:
        row = self._one_or_none("SELECT size, note FROM keel.checkpoints ORDER BY seq DESC LIMIT 1")
        return None if row is None else (int(row[0]), bytes(row[1]))


def _erasure(pending: str) -> tuple[int, list[str]]:
    """The unfinished erasure a meta value records: the id of its (latest) transaction and the
    key-table partitions to rewrite. A value that is not keel's is refused, not run."""
    try:
        record = orjson.loads(pending)
        xid, tables = int(record["xid"]), [str(t) for t in record["tables"]]
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise VerificationError(
            f"the ledger's {_ERASURE_PENDING!r} setting is not keel's ({pending[:60]!r}): "
            "the database was edited; run `keel ledger verify`"
        ) from exc
    if not all(_PARTITION.fullmatch(t) for t in tables):
        raise VerificationError(
            f"the ledger's {_ERASURE_PENDING!r} setting names tables that are not keel's key "
            "partitions: the database was edited; run `keel ledger verify`"
        )
    return xid, tables


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
