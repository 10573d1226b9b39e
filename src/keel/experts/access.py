"""Who may use the review app: reviewers' login links, sessions and server-held keys.

Access is not provenance, so it lives beside the ledger, not in it: a small SQLite file
(`<ledger>.review.sqlite`, mode 0600) holding, per reviewer, their role, the SHA-256 of their
one-time login token, and the Ed25519 key the server signs with for them when their browser
cannot; per session, the SHA-256 of its cookie, its CSRF token and its expiry; when each item
was first shown to each reviewer (the decision's `seconds`); and, for browser signing, the
decision a reviewer is about to sign. Tokens and cookies are stored hashed: the file alone
does not let anyone log in. What a reviewer decided is only ever in the ledger.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from keel.errors import InputError, NotFoundError
from keel.ledger.note import Signer, generate_key, is_valid_name, parse_signer
from keel.records import ROLES, Role

SESSION_SECONDS = 12 * 3600
"""How long a login lasts."""
_SCHEMA = """
CREATE TABLE IF NOT EXISTS people (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    token_sha256 BLOB,          -- the one-time login token, NULL once used
    signer TEXT NOT NULL,       -- the reviewer's server-held signing key (secret)
    browser_key TEXT            -- the verifier key their browser enrolled, if any
);
CREATE TABLE IF NOT EXISTS sessions (
    sid_sha256 BLOB PRIMARY KEY,
    name TEXT NOT NULL REFERENCES people(name),
    csrf TEXT NOT NULL,
    expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS shown (
    name TEXT NOT NULL, round TEXT NOT NULL, record TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (name, round, record)
);
CREATE TABLE IF NOT EXISTS drafts (
    name TEXT NOT NULL, round TEXT NOT NULL, record TEXT NOT NULL,
    verdict BLOB NOT NULL, rationale TEXT NOT NULL,
    PRIMARY KEY (name, round, record)
);
"""


def access_path(db: Path) -> Path:
    """The access file of the ledger at `db`."""
    return db.with_name(db.name + ".review.sqlite")


def _sha(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True, slots=True)
class Person:
    """A reviewer as the app knows them."""

    name: str
    role: Role
    browser_key: str | None


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in reviewer and the CSRF token their forms must carry."""

    person: Person
    csrf: str


class Access:
    """The access file of one ledger (module docstring); `Access.open(db)` creates it 0600."""

    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        self.path = path
        self._db = db

    @classmethod
    def open(cls, ledger_db: Path) -> Access:
        path = access_path(ledger_db)
        if not path.exists():
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            os.close(fd)
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        # Sessions and timings, not provenance: in WAL mode NORMAL survives a crash of the app
        # and may lose the last commits only to a power cut (a reviewer logs in again).
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        return cls(path, db)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- people ------------------------------------------------------------------------------
    def add(self, name: str, role: Role) -> tuple[str, str]:
        """Add reviewer `name`: a fresh server-held key and one-time login token. Returns (the
        token, the verifier key to enrol). InputError if the name is taken or invalid."""
        if not is_valid_name(name) or "/" in name:
            raise InputError(
                f"reviewer name {name!r} is invalid: use letters, digits and -_. (no spaces, "
                "'+' or '/')"
            )
        if role not in ROLES:
            raise InputError(f"a role is {' or '.join(ROLES)}, got {role!r}")
        skey, vkey = generate_key(name)
        token = secrets.token_urlsafe(32)
        with self._write() as db:
            if db.execute("SELECT 1 FROM people WHERE name = ?", (name,)).fetchone():
                raise InputError(
                    f"reviewer {name} exists: give them a new login link with "
                    f"`keel review link {name}`"
                )
            db.execute(
                "INSERT INTO people(name, role, token_sha256, signer) VALUES (?, ?, ?, ?)",
                (name, role, _sha(token), skey),
            )
        return token, vkey

    def new_link(self, name: str) -> str:
        """A new one-time login token for `name` (the old one stops working)."""
        token = secrets.token_urlsafe(32)
        with self._write() as db:
            cur = db.execute(
                "UPDATE people SET token_sha256 = ? WHERE name = ?", (_sha(token), name)
            )
            if cur.rowcount != 1:
                raise NotFoundError(f"no reviewer {name}: add them with `keel review add {name}`")
        return token

    def people(self) -> list[Person]:
        rows = self._db.execute("SELECT name, role, browser_key FROM people ORDER BY name")
        return [Person(n, r, b) for n, r, b in rows]

    def person(self, name: str) -> Person:
        row = self._db.execute(
            "SELECT name, role, browser_key FROM people WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no reviewer {name}")
        return Person(*row)

    def signer(self, name: str) -> Signer:
        """The server-held key of `name`."""
        row = self._db.execute("SELECT signer FROM people WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFoundError(f"no reviewer {name}")
        return parse_signer(row[0])

    def set_browser_key(self, name: str, vkey: str) -> None:
        with self._write() as db:
            db.execute("UPDATE people SET browser_key = ? WHERE name = ?", (vkey, name))

    # -- sessions ----------------------------------------------------------------------------
    def login(self, token: str, now: float | None = None) -> tuple[str, Session]:
        """Exchange a one-time token for a session: (the session cookie, the session)."""
        now = time.time() if now is None else now
        sid = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24)
        with self._write() as db:
            row = db.execute(
                "SELECT name FROM people WHERE token_sha256 = ?", (_sha(token),)
            ).fetchone()
            if row is None:
                raise InputError("this login link is not valid (used already, or replaced)")
            db.execute("UPDATE people SET token_sha256 = NULL WHERE name = ?", (row[0],))
            db.execute(
                "INSERT INTO sessions(sid_sha256, name, csrf, expires) VALUES (?, ?, ?, ?)",
                (_sha(sid), row[0], csrf, now + SESSION_SECONDS),
            )
        return sid, Session(self.person(row[0]), csrf)

    def session(self, sid: str | None, now: float | None = None) -> Session | None:
        """The live session of cookie `sid`, if any."""
        if not sid:
            return None
        now = time.time() if now is None else now
        row = self._db.execute(
            "SELECT name, csrf FROM sessions WHERE sid_sha256 = ? AND expires > ?",
            (_sha(sid), now),
        ).fetchone()
        return None if row is None else Session(self.person(row[0]), row[1])

    def logout(self, sid: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM sessions WHERE sid_sha256 = ?", (_sha(sid),))

    # -- timing and drafts -------------------------------------------------------------------
    def shown(self, name: str, round_id: str, record: str, now: float | None = None) -> float:
        """When `record` was first shown to `name` in the round (recorded now if never)."""
        now = time.time() if now is None else now
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO shown(name, round, record, at) VALUES (?, ?, ?, ?)",
                (name, round_id, record, now),
            )
            row = db.execute(
                "SELECT at FROM shown WHERE name = ? AND round = ? AND record = ?",
                (name, round_id, record),
            ).fetchone()
        return float(row[0])

    def put_draft(
        self, name: str, round_id: str, record: str, verdict: bytes, rationale: str
    ) -> None:
        """Keep the unsigned decision `name`'s browser is signing (the last one prepared)."""
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO drafts(name, round, record, verdict, rationale) "
                "VALUES (?, ?, ?, ?, ?)",
                (name, round_id, record, verdict, rationale),
            )

    def draft(self, name: str, round_id: str, record: str) -> tuple[bytes, str] | None:
        row = self._db.execute(
            "SELECT verdict, rationale FROM drafts WHERE name = ? AND round = ? AND record = ?",
            (name, round_id, record),
        ).fetchone()
        return None if row is None else (bytes(row[0]), str(row[1]))
