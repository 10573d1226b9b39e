"""The embedded store: one SQLite file in WAL mode.

Each write is one `BEGIN IMMEDIATE` transaction with `synchronous=FULL`, so an acknowledged
append survives a crash and a failed one leaves nothing; concurrent writers queue on the lock
(`busy_timeout`). `secure_delete` makes erasure overwrite the freed bytes.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import orjson

from keel.errors import InputError, KeelError
from keel.ledger.store import HASHES_PER_CHUNK, EntryRow, PayloadRow, Store

SCHEMA_VERSION = "1"
_HASH_SIZE = 32
_CHUNK_BYTES = HASHES_PER_CHUNK * _HASH_SIZE

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    idx INTEGER PRIMARY KEY,   -- leaf index in the log
    key INTEGER NOT NULL,      -- first 8 bytes of the entry id (SHA-256 of entry)
    payload INTEGER,           -- key of the committed payload, if any
    kind TEXT NOT NULL,        -- record, verdict, mix, run, redaction
    entry BLOB NOT NULL        -- the exact logged bytes (RFC 8785 JSON)
);
CREATE UNIQUE INDEX IF NOT EXISTS entries_key ON entries(key);
CREATE INDEX IF NOT EXISTS entries_payload ON entries(payload) WHERE payload IS NOT NULL;
CREATE INDEX IF NOT EXISTS entries_kind ON entries(kind) WHERE kind != 'record';
CREATE TABLE IF NOT EXISTS aliases (name TEXT PRIMARY KEY, idx INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS refs (target INTEGER NOT NULL, source INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS refs_target ON refs(target);
CREATE TABLE IF NOT EXISTS hashes (chunk INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS payloads (
    key INTEGER NOT NULL,      -- first 8 bytes of the digest
    digest BLOB NOT NULL,      -- SHA-256 of data
    data BLOB                  -- NULL once redacted
);
CREATE UNIQUE INDEX IF NOT EXISTS payloads_key ON payloads(key);
CREATE TABLE IF NOT EXISTS checkpoints (
    seq INTEGER PRIMARY KEY, size INTEGER NOT NULL, note BLOB NOT NULL
);
"""


def _set_wal(db: sqlite3.Connection) -> None:
    """Switch to WAL, retrying: the switch takes a lock that the busy timeout does not cover."""
    for attempt in range(200):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 199:
                raise
            time.sleep(0.01 + 0.001 * attempt)


class SQLiteStore(Store):
    """A ledger in one SQLite database file."""

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        path = Path(path)
        self.path = path
        self._in_write = False
        if not create and not path.exists():
            raise InputError(
                f"no ledger at {path}: run `keel ingest` or `keel ledger key init` to start one, "
                "or point --db / KEEL_DB at an existing ledger"
            )
        try:
            self._db = sqlite3.connect(
                path, isolation_level=None, timeout=60.0, check_same_thread=False
            )
            _set_wal(self._db)
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA secure_delete=ON")
            self._db.execute("PRAGMA cache_size=-131072")
            self._db.execute("PRAGMA temp_store=MEMORY")
            with self.write():
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        self._db.execute(stmt)
                version = self.get_meta("schema")
                if version is None:
                    self.set_meta("schema", SCHEMA_VERSION)
                elif version != SCHEMA_VERSION:
                    raise KeelError(
                        f"{path} has ledger schema {version}; this keel reads {SCHEMA_VERSION}"
                    )
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{path} is not a keel ledger database: {exc}") from exc

    # -- transactions ----------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[None]:
        if self._in_write:
            yield
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._in_write = True
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")
        finally:
            self._in_write = False

    def close(self) -> None:
        self._db.close()

    def compact(self) -> None:
        """Copy the WAL into the database and truncate it, so erased bytes leave the WAL too."""
        busy, _, _ = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise KeelError(
                f"{self.path}: another process holds the database open, so erased bytes may "
                "remain in its write-ahead log until it closes; run `keel ledger compact` then"
            )

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

    def entries_in_key_range(self, lo: int, hi: int) -> list[EntryRow]:
        cur = self._db.execute(
            "SELECT idx, key, entry, payload FROM entries WHERE key BETWEEN ? AND ? LIMIT 100",
            (lo, hi),
        )
        return [EntryRow(i, k, e, p) for i, k, e, p in cur]

    def entries_of_kind(self, kind: str) -> list[int]:
        cur = self._db.execute("SELECT idx FROM entries WHERE kind = ? ORDER BY idx", (kind,))
        return [r[0] for r in cur]

    def entries_by_key(self, keys: Sequence[int]) -> dict[int, EntryRow]:
        if not keys:
            return {}
        cur = self._db.execute(
            "SELECT idx, key, entry, payload FROM entries "
            "WHERE key IN (SELECT value FROM json_each(?))",
            (orjson.dumps(list(keys)).decode(),),
        )
        return {k: EntryRow(i, k, e, p) for i, k, e, p in cur}

    def entry_at(self, idx: int) -> EntryRow | None:
        row = self._db.execute(
            "SELECT idx, key, entry, payload FROM entries WHERE idx = ?", (idx,)
        ).fetchone()
        return None if row is None else EntryRow(row[0], row[1], row[2], row[3])

    def iter_entries(self, start: int = 0, stop: int | None = None) -> Iterator[EntryRow]:
        cur = self._db.execute(
            "SELECT idx, key, entry, payload FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx",
            (start, 2**62 if stop is None else stop),
        )
        for idx, key, entry, payload in cur:
            yield EntryRow(idx, key, entry, payload)

    def entries_with_payload(self, payload_key: int) -> list[int]:
        cur = self._db.execute(
            "SELECT idx FROM entries WHERE payload = ? ORDER BY idx", (payload_key,)
        )
        return [r[0] for r in cur]

    def last_entries(self, count: int) -> list[EntryRow]:
        cur = self._db.execute(
            "SELECT idx, key, entry, payload FROM entries ORDER BY idx DESC LIMIT ?", (count,)
        )
        return [EntryRow(i, k, e, p) for i, k, e, p in cur]

    # -- references ------------------------------------------------------------------------
    def insert_refs(self, rows: Sequence[tuple[int, int]]) -> None:
        self._db.executemany("INSERT INTO refs(target, source) VALUES (?, ?)", rows)

    def refs_to(self, target: int) -> list[int]:
        cur = self._db.execute(
            "SELECT source FROM refs WHERE target = ? ORDER BY source", (target,)
        )
        return [r[0] for r in cur]

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
                raise KeelError(
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
        out = []
        for i in indexes:
            c, o = divmod(i, HASHES_PER_CHUNK)
            h = blobs.get(c, b"")[o * _HASH_SIZE : (o + 1) * _HASH_SIZE]
            if len(h) != _HASH_SIZE:
                raise KeelError(
                    f"stored tree hash {i} is missing: run `keel ledger verify` to find the damage"
                )
            out.append(h)
        return out

    def iter_hashes(self) -> Iterator[bytes]:
        for (data,) in self._db.execute("SELECT data FROM hashes ORDER BY chunk"):
            blob = bytes(data)
            for o in range(0, len(blob), _HASH_SIZE):
                yield blob[o : o + _HASH_SIZE]

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
        return {k: PayloadRow(bytes(d), None if v is None else bytes(v)) for k, d, v in cur}

    def erase_payload(self, key: int) -> None:
        self._db.execute("UPDATE payloads SET data = NULL WHERE key = ?", (key,))

    def iter_payloads(self) -> Iterator[PayloadRow]:
        for digest, data in self._db.execute("SELECT digest, data FROM payloads ORDER BY rowid"):
            yield PayloadRow(bytes(digest), None if data is None else bytes(data))

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
