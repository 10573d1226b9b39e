"""Witnesses: c2sp.org/tlog-witness (add-checkpoint) and c2sp.org/tlog-cosignature (v1, Ed25519).

A witness keeps, for each log it trusts, the size and root hash of the latest checkpoint it
cosigned, and cosigns a new checkpoint only when a consistency proof shows that it extends that
one. A cosignature is a note signature line ``— <witness name> base64(key ID || timestamp ||
Ed25519 signature)`` over::

    cosignature/v1
    time <POSIX seconds>
    <the checkpoint's note text>

Cosigner keys are note keys of type 0x04 (tlog-cosignature, "Format"), key ID =
SHA-256(name || 0x0A || 0x04 || public key)[:4], as transparency-dev/formats'
``NewSignerForCosignatureV1`` reads them::

    signer:   PRIVATE+KEY+<name>+<hex8 key ID>+base64(0x04 || 32-byte Ed25519 seed)
    verifier: <name>+<hex8 key ID>+base64(0x04 || 32-byte Ed25519 public key)

`Witness.add_checkpoint` answers a request body with the status the protocol names (400, 403,
404, 409 with the held size, 422, 200 with the cosignature); `WitnessState` keeps what the witness
cosigned in its own SQLite file, one transaction per request with a compare-and-swap on the held
size, and keeps the log-signed checkpoints that failed a consistency check as evidence of a split
view. `serve` puts a witness on an HTTP server; `witness_ledger` is the log's side: it asks
witnesses to cosign a ledger's latest checkpoint and stores the cosigned note beside it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import logging
import os
import re
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from keel.errors import InputError, KeelError, ServiceError, StorageError, VerificationError
from keel.ledger.checkpoint import MAX_TREE_SIZE, Checkpoint
from keel.ledger.merkle import EMPTY_ROOT, HASH_SIZE, Hash, consistency_proof, verify_consistency
from keel.ledger.note import (
    MAX_NOTE_SIZE,
    Signature,
    Verifier,
    _key_id,
    _split_key,
    ed25519_public_key,
    is_valid_name,
    open_note,
    split_note,
)

if TYPE_CHECKING:
    from keel.ledger.log import Ledger

__all__ = [
    "ALG_COSIGNATURE_V1",
    "MAX_PROOF_LINES",
    "SIZE_CONTENT_TYPE",
    "AddCheckpoint",
    "Answer",
    "Cosigned",
    "Cosigner",
    "CosignerKey",
    "Held",
    "Witness",
    "WitnessReport",
    "WitnessState",
    "check_quorum",
    "cosignature_message",
    "generate_cosigner_key",
    "load_cosigner",
    "parse_cosigner",
    "parse_cosigner_key",
    "serve",
    "witness_ledger",
]

log = logging.getLogger("keel.witness")

ALG_COSIGNATURE_V1 = 0x04
"""Key type byte of Ed25519 cosignature/v1 keys (c2sp.org/tlog-cosignature, "Format")."""

MAX_PROOF_LINES = 63
"""Most consistency proof lines a request may carry (c2sp.org/tlog-witness, "add-checkpoint")."""

SIZE_CONTENT_TYPE = "text/x.tlog.size"
"""Content type of a 409 answer, whose body is the held tree size (tlog-witness)."""

MAX_REQUEST_SIZE = MAX_NOTE_SIZE + 64 * (MAX_PROOF_LINES + 2)
"""Most bytes of a request body: a largest note, a full proof and the old size line."""

MAX_EVIDENCE = 1000
"""Most refused log-signed checkpoints kept as evidence per log (only the log can add them)."""

_TIMESTAMP_SIZE = 8
_SIG_SIZE = 64
_MAX_TIMESTAMP = (1 << 63) - 1
_DECIMAL = re.compile(rb"0|[1-9][0-9]{0,18}")
_APPLICATION = "keel-witness"
_SCHEMA = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE logs (
  origin TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  root BLOB NOT NULL,
  note BLOB NOT NULL,
  cosigned INTEGER NOT NULL
);
CREATE TABLE evidence (
  seq INTEGER PRIMARY KEY,
  origin TEXT NOT NULL,
  held_size INTEGER NOT NULL,
  held_root BLOB NOT NULL,
  old_size INTEGER NOT NULL,
  note BLOB NOT NULL,
  reason TEXT NOT NULL,
  at INTEGER NOT NULL
);
"""


def cosignature_message(text: str, timestamp: int) -> bytes:
    """The bytes a cosignature/v1 signs: ``cosignature/v1\\ntime <T>\\n`` then the checkpoint's
    note text, final newline included (tlog-cosignature, "Ed25519 signed message")."""
    return f"cosignature/v1\ntime {timestamp}\n".encode("ascii") + text.encode("utf-8")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def generate_cosigner_key(name: str) -> tuple[str, str]:
    """A fresh Ed25519 cosigner key pair for ``name`` as (signer key string, verifier key string),
    type 0x04. Keep the first secret; hand the second to whoever checks cosignatures."""
    if not is_valid_name(name):
        raise InputError(
            f"witness name {name!r} is invalid: it must be non-empty, "
            "with no spaces, '+' or control characters"
        )
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes_raw()
    kid = _key_id(name, bytes([ALG_COSIGNATURE_V1]) + public)
    seed = key.private_bytes_raw()
    skey = f"PRIVATE+KEY+{name}+{kid:08x}+{_b64(bytes([ALG_COSIGNATURE_V1]) + seed)}"
    return skey, f"{name}+{kid:08x}+{_b64(bytes([ALG_COSIGNATURE_V1]) + public)}"


@dataclass(frozen=True)
class Cosigner:
    """A witness's public cosignature/v1 key: name, key ID, 32-byte Ed25519 public key. Parse one
    with :func:`parse_cosigner`; ``vkey`` gives the key string back."""

    name: str
    key_id: int
    public_key: bytes
    _key: Ed25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        key = ed25519_public_key(
            self.name, self.key_id, ALG_COSIGNATURE_V1, self.public_key, "witness"
        )
        object.__setattr__(self, "_key", key)

    @property
    def vkey(self) -> str:
        """The verifier key string ``<name>+<hex8 id>+base64(0x04 || public key)``."""
        raw = bytes([ALG_COSIGNATURE_V1]) + self.public_key
        return f"{self.name}+{self.key_id:08x}+{_b64(raw)}"

    def timestamp(self, text: str, sig: Signature) -> int | None:
        """The time of ``sig`` if it is this key's valid cosignature of note text ``text``, else
        None: name and key ID match, 8-byte timestamp in 1..2^63-1, Ed25519 signature valid."""
        if (sig.name, sig.key_id) != (self.name, self.key_id):
            return None
        if len(sig.sig) != _TIMESTAMP_SIZE + _SIG_SIZE:
            return None
        stamp = int.from_bytes(sig.sig[:_TIMESTAMP_SIZE], "big")
        if not 0 < stamp <= _MAX_TIMESTAMP:
            return None
        try:
            self._key.verify(sig.sig[_TIMESTAMP_SIZE:], cosignature_message(text, stamp))
        except InvalidSignature:
            return None
        return stamp


@dataclass(frozen=True)
class CosignerKey:
    """A witness's secret cosignature/v1 key (the seed is kept out of ``repr``). Parse one with
    :func:`parse_cosigner_key`."""

    name: str
    key_id: int
    seed: bytes = field(repr=False)
    _key: Ed25519PrivateKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        key = Ed25519PrivateKey.from_private_bytes(self.seed)
        public = key.public_key().public_bytes_raw()
        if self.key_id != _key_id(self.name, bytes([ALG_COSIGNATURE_V1]) + public):
            raise InputError(
                f"witness signer key {self.name}: key id {self.key_id:08x} does not match the "
                "name and key (the key string is corrupted or was edited)"
            )
        object.__setattr__(self, "_key", key)

    def cosign(self, text: str, timestamp: int) -> Signature:
        """The cosignature/v1 of note text ``text`` at POSIX time ``timestamp`` (1..2^63-1)."""
        if not 0 < timestamp <= _MAX_TIMESTAMP:
            raise InputError(f"cosignature timestamp {timestamp} is out of range 1..2^63-1")
        sig = self._key.sign(cosignature_message(text, timestamp))
        return Signature(self.name, self.key_id, timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + sig)

    def cosigner(self) -> Cosigner:
        """The matching public :class:`Cosigner`."""
        return Cosigner(self.name, self.key_id, self._key.public_key().public_bytes_raw())


def parse_cosigner(vkey: str) -> Cosigner:
    """Parse a cosigner verifier key ``<name>+<hex8 id>+base64(0x04 || public key)``;
    :class:`InputError` saying which part is wrong."""
    name, kid, public = _split_key(
        vkey.strip(), "witness key", secret=False, alg=ALG_COSIGNATURE_V1
    )
    return Cosigner(name, kid, public)


def parse_cosigner_key(skey: str) -> CosignerKey:
    """Parse a cosigner signer key ``PRIVATE+KEY+<name>+<hex8 id>+base64(0x04 || seed)``;
    :class:`InputError` saying what is wrong, never repeating the secret."""
    skey = skey.strip()
    prefix = "PRIVATE+KEY+"
    if not skey.startswith(prefix):
        raise InputError("witness signer key: expected PRIVATE+KEY+<name>+<key id>+<base64 key>")
    name, kid, seed = _split_key(
        skey[len(prefix) :], "witness signer key", secret=True, alg=ALG_COSIGNATURE_V1
    )
    return CosignerKey(name, kid, seed)


def load_cosigner(key: str) -> Cosigner:
    """The cosigner named by `key`: a verifier key string, or a file holding one or a signer key
    (whose public half it then is). A key string holds ``+``; a file name given for a key does
    not."""
    text = key.strip()
    if "+" not in key:
        try:
            text = Path(key).read_text().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(
                f"{key} is neither a witness key string (name+id+key) nor a readable key file"
            ) from exc
    if text.startswith("PRIVATE+KEY+"):
        return parse_cosigner_key(text).cosigner()
    return parse_cosigner(text)


@dataclass(frozen=True)
class Cosigned:
    """A valid cosignature found on a checkpoint: whose, and when it was made."""

    cosigner: Cosigner
    timestamp: int


def _cosigned(text: str, signatures: Sequence[Signature], cosigner: Cosigner) -> Cosigned | None:
    for sig in signatures:
        stamp = cosigner.timestamp(text, sig)
        if stamp is not None:
            return Cosigned(cosigner, stamp)
    return None


def check_quorum(note: bytes, cosigners: Sequence[Cosigner], quorum: int) -> list[Cosigned]:
    """The valid cosignatures on signed note ``note`` by ``cosigners``; VerificationError naming
    the witnesses without one when fewer than ``quorum`` cosigned. Lines by other keys are ignored
    (tlog-witness: clients MUST ignore cosignatures from unknown keys)."""
    if not 1 <= quorum <= len(cosigners):
        raise InputError(
            f"quorum {quorum} is impossible with {len(cosigners)} witness key(s): "
            "give a quorum from 1 to the number of --witness keys"
        )
    text, signatures = split_note(note)
    found: list[Cosigned] = []
    missing: list[str] = []
    for cosigner in dict.fromkeys(cosigners):  # a key given twice counts once
        cosigned = _cosigned(text, signatures, cosigner)
        if cosigned is None:
            bad = any((s.name, s.key_id) == (cosigner.name, cosigner.key_id) for s in signatures)
            missing.append(f"{cosigner.name} ({'invalid cosignature' if bad else 'none'})")
        else:
            found.append(cosigned)
    if len(found) < quorum:
        raise VerificationError(
            f"only {len(found)} of the {quorum} witness cosignatures needed are valid on this "
            f"checkpoint; missing: {', '.join(missing)}. Ask the log for a checkpoint its "
            "witnesses cosigned (`keel ledger witness`), or check the witness keys"
        )
    return found


# -- the add-checkpoint request ----------------------------------------------------------------
@dataclass(frozen=True)
class AddCheckpoint:
    """An add-checkpoint request body: the old size the client believes the witness holds, the
    consistency proof from it, and the signed checkpoint (tlog-witness, "add-checkpoint")."""

    old_size: int
    proof: tuple[Hash, ...]
    checkpoint: bytes

    def format(self) -> bytes:
        """The request body: ``old <size>``, one base64 hash a line, a blank line, the note."""
        lines = [f"old {self.old_size}", *(_b64(h) for h in self.proof)]
        return "".join(line + "\n" for line in lines).encode("ascii") + b"\n" + self.checkpoint

    @classmethod
    def parse(cls, body: bytes) -> AddCheckpoint:
        """Parse a request body strictly (decimal without leading zeros, at most 63 canonical
        base64 32-byte hashes); :class:`InputError` naming the line that is wrong."""
        end = body.find(b"\n")
        if end < 0 or not body.startswith(b"old "):
            raise InputError("line 1: expected 'old <tree size>'")
        digits = body[4:end]
        if not _DECIMAL.fullmatch(digits) or int(digits) > MAX_TREE_SIZE:
            raise InputError("line 1: the old size is not a decimal from 0 to 2^63-1")
        proof: list[Hash] = []
        pos = end + 1
        while True:
            end = body.find(b"\n", pos)
            if end < 0:
                raise InputError(f"line {len(proof) + 2}: missing (no blank line before the note)")
            line = body[pos:end]
            pos = end + 1
            if not line:
                break
            if len(proof) == MAX_PROOF_LINES:
                raise InputError(f"more than {MAX_PROOF_LINES} consistency proof lines")
            try:
                raw = base64.b64decode(line, validate=True)
            except (binascii.Error, ValueError):
                raw = b""
            if len(raw) != HASH_SIZE or base64.b64encode(raw) != line:
                raise InputError(
                    f"line {len(proof) + 2}: not the canonical base64 of a 32-byte hash"
                )
            proof.append(Hash(raw))
        return cls(int(digits), tuple(proof), body[pos:])


@dataclass(frozen=True)
class Answer:
    """A witness's answer to one request: HTTP status, body, content type."""

    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


def _text(status: int, message: str) -> Answer:
    return Answer(status, message.encode("utf-8") + b"\n")


@dataclass(frozen=True)
class Held:
    """What a witness holds for one log: the latest checkpoint it cosigned (size, root, the note
    with the log's signatures and its cosignature) and when."""

    origin: str
    size: int
    root: Hash
    note: bytes
    cosigned: int


# -- the witness's state -----------------------------------------------------------------------
def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    db.execute("PRAGMA synchronous=FULL")
    return db


class WitnessState:
    """The witness's memory, in its own SQLite file: per log origin the latest cosigned checkpoint,
    and refused log-signed checkpoints kept as evidence. The file belongs to one witness key for
    life; it is created once (:meth:`create`) and never replaced."""

    def __init__(self, path: Path, cosigner: Cosigner) -> None:
        """Open the state file at `path` of the witness `cosigner`; InputError when it is missing,
        not a witness state, or another witness's."""
        self.path = path
        if not path.is_file():
            raise InputError(
                f"witness state {path} does not exist: create it once with `keel witness key "
                "init`; a witness whose state was lost must take a new name and key, never "
                "start again from nothing under its old key"
            )
        try:
            with contextlib.closing(_connect(path)) as db:
                rows = dict(db.execute("SELECT name, value FROM meta").fetchall())
        except sqlite3.Error as exc:
            raise InputError(f"{path} is not a keel witness state file ({exc})") from exc
        if rows.get("application") != _APPLICATION:
            raise InputError(f"{path} is not a keel witness state file")
        if rows.get("cosigner") != cosigner.vkey:
            raise InputError(
                f"witness state {path} belongs to witness key {rows.get('cosigner')}, not "
                f"{cosigner.vkey}: pass that witness's key file"
            )

    @classmethod
    def create(cls, path: Path, cosigner: Cosigner) -> WitnessState:
        """Create a new, empty state file for `cosigner`; InputError when `path` exists (a
        witness's state is never overwritten)."""
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise InputError(
                f"{path} already exists: a witness never replaces its state; choose another path"
            ) from None
        except OSError as exc:
            raise InputError(f"cannot create {path}: {exc.strerror}") from exc
        os.close(fd)
        with contextlib.closing(_connect(path)) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA.split(";")[:-1]:
                db.execute(statement)
            db.executemany(
                "INSERT INTO meta(name, value) VALUES (?, ?)",
                [("application", _APPLICATION), ("cosigner", cosigner.vkey)],
            )
            db.execute("COMMIT")
        return cls(path, cosigner)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE: one writer at a time, across processes too),
        committed when the block ends, rolled back when it raises; StorageError on I/O errors."""
        try:
            db = _connect(self.path)
        except sqlite3.Error as exc:
            raise StorageError(f"witness state {self.path}: {exc}") from exc
        try:
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise StorageError(f"witness state {self.path}: {exc}") from exc
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    def held(self, origin: str) -> Held | None:
        """The latest checkpoint cosigned for `origin`, or None if none was."""
        with self.transaction() as db:
            row = db.execute(
                "SELECT size, root, note, cosigned FROM logs WHERE origin = ?", (origin,)
            ).fetchone()
        return None if row is None else Held(origin, row[0], Hash(bytes(row[1])), row[2], row[3])

    def evidence(self, origin: str | None = None) -> list[tuple[str, str, bytes]]:
        """Refused log-signed checkpoints, oldest first, as (origin, reason, note)."""
        with self.transaction() as db:
            rows = db.execute(
                "SELECT origin, reason, note FROM evidence WHERE ?1 IS NULL OR origin = ?1 "
                "ORDER BY seq",
                (origin,),
            ).fetchall()
        return [(o, r, bytes(n)) for o, r, n in rows]


def _keep_evidence(
    db: sqlite3.Connection,
    req: AddCheckpoint,
    cp: Checkpoint,
    held: tuple[int, Hash],
    why: str,
    at: int,
) -> None:
    """Keep a log-signed checkpoint that failed a consistency check: with the witness's own
    cosigned checkpoint it may prove that the log showed two views (tlog-witness allows it)."""
    log.warning("witness refused a checkpoint of %s at size %d: %s", cp.origin, cp.size, why)
    (count,) = db.execute("SELECT count(*) FROM evidence WHERE origin = ?", (cp.origin,)).fetchone()
    if count < MAX_EVIDENCE:
        db.execute(
            "INSERT INTO evidence(origin, held_size, held_root, old_size, note, reason, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (cp.origin, held[0], held[1], req.old_size, req.checkpoint, why, at),
        )


class Witness:
    """A witness: its cosigner key, the logs it trusts (note verifier keys, named by origin), and
    its state. :meth:`add_checkpoint` is the whole protocol, free of HTTP."""

    def __init__(
        self,
        key: CosignerKey,
        logs: Sequence[Verifier],
        state: WitnessState,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not logs:
            raise InputError("a witness needs at least one log key (--log)")
        self.key = key
        self.state = state
        self.clock = clock
        self.logs: dict[str, list[Verifier]] = {}
        for v in logs:
            keys = self.logs.setdefault(v.name, [])
            if v not in keys:
                keys.append(v)

    def add_checkpoint(self, body: bytes) -> Answer:
        """Answer an add-checkpoint request body as c2sp.org/tlog-witness says, checks in its
        order: 400 malformed, 404 unknown origin, 403 no valid log signature, 400 old size above
        the checkpoint's, 409 old size not the one held (body: the held size), 422 inconsistent
        (proof, same size with another root, empty tree with another root), else 200 with the
        cosignature line, the new state committed first."""
        if len(body) > MAX_REQUEST_SIZE:
            return _text(413, f"request body larger than {MAX_REQUEST_SIZE} bytes")
        try:
            req = AddCheckpoint.parse(body)
            text, _ = split_note(req.checkpoint)
            cp = Checkpoint.parse(text)
        except KeelError as exc:
            return _text(400, f"malformed request: {exc}")
        verifiers = self.logs.get(cp.origin)
        if verifiers is None:
            return _text(404, f"unknown log origin {cp.origin!r}")
        try:
            signed = open_note(req.checkpoint, verifiers)
        except VerificationError as exc:
            return _text(403, f"no valid signature by a key of {cp.origin}: {exc}")
        if req.old_size > cp.size:
            return _text(400, f"old size {req.old_size} is larger than the checkpoint's {cp.size}")
        with self.state.transaction() as db:
            return self._advance(db, req, cp, signed.signatures)

    def _advance(
        self,
        db: sqlite3.Connection,
        req: AddCheckpoint,
        cp: Checkpoint,
        log_signatures: Sequence[Signature],
    ) -> Answer:
        """Inside one transaction: compare with the held checkpoint, then cosign and swap. The
        note kept for monitors is the checkpoint with the log signatures that verified and this
        witness's cosignature (tlog-witness, "Monitor Retrieval Mechanism")."""
        now = int(self.clock())
        row = db.execute("SELECT size, root FROM logs WHERE origin = ?", (cp.origin,)).fetchone()
        held = (0, EMPTY_ROOT) if row is None else (int(row[0]), Hash(bytes(row[1])))
        if row is not None and cp.size == held[0] and cp.root != held[1]:
            _keep_evidence(db, req, cp, held, f"split view: another root for size {cp.size}", now)
            if req.old_size == held[0]:
                return _text(422, f"split view: this witness cosigned another root at {cp.size}")
        if req.old_size != held[0]:
            return Answer(409, f"{held[0]}\n".encode("ascii"), SIZE_CONTENT_TYPE)
        try:
            verify_consistency(held[0], cp.size, req.proof, held[1], cp.root)
        except VerificationError as exc:
            if row is not None:
                why = f"not consistent with size {held[0]}: {exc}"
                _keep_evidence(db, req, cp, held, why, now)
            return _text(422, f"inconsistent with the checkpoint held at size {held[0]}: {exc}")
        text = cp.body()
        line = self.key.cosign(text, now).line().encode("utf-8")
        signatures = "".join(sig.line() for sig in log_signatures)
        cosigned = f"{text}\n{signatures}".encode() + line
        if row is None:
            db.execute(
                "INSERT INTO logs(origin, size, root, note, cosigned) VALUES (?, ?, ?, ?, ?)",
                (cp.origin, cp.size, cp.root, cosigned, now),
            )
        else:
            swapped = db.execute(
                "UPDATE logs SET size = ?, root = ?, note = ?, cosigned = ? "
                "WHERE origin = ? AND size = ? AND root = ?",
                (cp.size, cp.root, cosigned, now, cp.origin, held[0], held[1]),
            ).rowcount
            if swapped != 1:  # another writer moved it: the held size is no longer old_size
                (size,) = db.execute(
                    "SELECT size FROM logs WHERE origin = ?", (cp.origin,)
                ).fetchone()
                return Answer(409, f"{size}\n".encode("ascii"), SIZE_CONTENT_TYPE)
        return Answer(200, line, "text/plain; charset=utf-8")

    def latest(self, origin_hash: str) -> Answer:
        """The monitoring endpoint (tlog-witness, "Monitor Retrieval Mechanism"): the latest
        cosigned checkpoint of the log whose origin's SHA-256 is `origin_hash` (lowercase hex)."""
        for origin in self.logs:
            if hashlib.sha256(origin.encode("utf-8")).hexdigest() == origin_hash:
                held = self.state.held(origin)
                if held is not None:
                    return Answer(200, held.note)
        return _text(404, "this witness cosigned no checkpoint of that log")


# -- HTTP --------------------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    """POST /add-checkpoint and GET /<origin hash>/checkpoint over HTTP/1.1 with keep-alive."""

    protocol_version = "HTTP/1.1"
    server_version = "keel-witness"
    timeout = 30
    disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms delayed-ACK stall
    server: _Server

    def _send(self, answer: Answer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def _answer(self, make: Callable[[], Answer]) -> None:
        try:
            answer = make()
        except StorageError as exc:
            log.error("witness state: %s", exc)
            answer = _text(503, "the witness cannot write its state now; try again later")
        except Exception:
            log.exception("witness: unexpected error")
            answer = _text(500, "internal error")
        self._send(answer)

    def do_POST(self) -> None:
        if self.path != "/add-checkpoint":
            self.close_connection = True
            self._send(_text(404, "no such endpoint: POST /add-checkpoint"))
            return
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True
            self._send(_text(411, "a Content-Length is required"))
            return
        if int(length) > MAX_REQUEST_SIZE:
            self.close_connection = True
            self._send(_text(413, f"request body larger than {MAX_REQUEST_SIZE} bytes"))
            return
        body = self.rfile.read(int(length))
        self._answer(lambda: self.server.witness.add_checkpoint(body))

    def do_GET(self) -> None:
        parts = self.path.split("/")
        if len(parts) == 3 and parts[0] == "" and parts[2] == "checkpoint":
            self._answer(lambda: self.server.witness.latest(parts[1]))
        else:
            self._send(_text(404, "no such endpoint"))

    def log_message(self, format: str, *args: object) -> None:
        log.info("%s " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's 5 resets a burst of connections from several logs

    def __init__(self, address: tuple[str, int], witness: Witness) -> None:
        self.witness = witness
        super().__init__(address, _Handler)


def serve(witness: Witness, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """An HTTP server (stdlib, one thread a connection) for `witness`, bound and ready; run it
    with ``serve_forever()``. Port 0 picks a free one (``server_address`` says which)."""
    try:
        return _Server((host, port), witness)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


# -- the log's side ----------------------------------------------------------------------------
def _post(url: str, body: bytes, timeout: float) -> tuple[int, bytes, str]:
    """POST `body` to `url`; (status, body, content type), ServiceError when unreachable."""
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return (
                response.status,
                response.read(MAX_NOTE_SIZE),
                response.headers.get_content_type(),
            )
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read(4096), exc.headers.get_content_type()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ServiceError(f"cannot reach {url}: {reason}") from exc


def _held_size(status: int, body: bytes, content_type: str) -> int | None:
    """The size a 409 answer names (tlog-witness: ``<size>\\n`` as text/x.tlog.size), or None."""
    if status != 409 or content_type != SIZE_CONTENT_TYPE or not body.endswith(b"\n"):
        return None
    digits = body[:-1]
    return int(digits) if _DECIMAL.fullmatch(digits) else None


def _failure(url: str, status: int, body: bytes) -> ServiceError:
    what = body.decode("utf-8", "replace").strip()[:300]
    return ServiceError(f"{url} answered {status}: {what}")


def _cosignature_lines(
    url: str, note: bytes, answer: bytes, cosigners: Sequence[Cosigner]
) -> tuple[Signature, ...]:
    """The cosignature lines of a 200 answer: checked against `cosigners` when given (lines by
    other keys dropped), else kept as they are when well formed."""
    if not answer.startswith("\u2014 ".encode()):
        raise ServiceError(f"{url} answered 200 without signature lines")
    try:
        text, signatures = split_note(note + answer)
    except VerificationError as exc:
        raise ServiceError(f"{url} answered 200 with malformed signature lines: {exc}") from exc
    lines = signatures[len(split_note(note)[1]) :]
    if not cosigners:
        shaped = tuple(s for s in lines if len(s.sig) == _TIMESTAMP_SIZE + _SIG_SIZE)
        if not shaped:
            raise ServiceError(f"{url} answered 200 without a cosignature/v1 line")
        return shaped
    valid = tuple(s for s in lines if any(c.timestamp(text, s) is not None for c in cosigners))
    if not valid:
        raise VerificationError(
            f"{url} answered with no valid cosignature by the --witness-key keys given"
        )
    return valid


@dataclass(frozen=True)
class WitnessReport:
    """What `witness_ledger` got: the checkpoint, the cosigned note stored, and per witness URL
    either its cosignature lines or why it gave none."""

    checkpoint: Checkpoint
    note: bytes
    cosigned: dict[str, tuple[Signature, ...]]
    failed: dict[str, str]


def _merge(note: bytes, lines: Sequence[Signature]) -> bytes:
    """`note` with the signature lines by keys it does not carry yet appended (one line a key)."""
    _, present = split_note(note)
    keys = {(s.name, s.key_id) for s in present}
    added = b""
    for sig in lines:
        if (sig.name, sig.key_id) not in keys:
            keys.add((sig.name, sig.key_id))
            added += sig.line().encode("utf-8")
    return note + added


def witness_ledger(
    led: Ledger,
    urls: Sequence[str],
    cosigners: Sequence[Cosigner] = (),
    quorum: int | None = None,
    timeout: float = 10.0,
) -> WitnessReport:
    """Ask each witness at `urls` to cosign the ledger's latest checkpoint (signing one first if
    the log grew) and store the cosigned note as a new checkpoint row, never changing an old one.

    Each witness is asked with old size 0 and an empty proof; one that answers 409 is asked once
    more from the size it names, with the consistency proof from that size. Requests run in
    parallel. ServiceError naming each failed witness and why when fewer than `quorum` (default:
    all) distinct witness keys cosigned; nothing is stored then."""
    if not urls:
        raise InputError("give at least one witness URL")
    need = len(urls) if quorum is None else quorum
    if not 1 <= need <= len(urls):
        raise InputError(f"--quorum {need} is impossible with {len(urls)} witness URL(s)")
    led.checkpoint()
    with led.snapshot():
        latest = led.store.latest_checkpoint()
        cp = led.latest_checkpoint()
    assert latest is not None and cp is not None
    note = latest[1]
    endpoints = {url: url.rstrip("/") + "/add-checkpoint" for url in urls}
    cosigned: dict[str, tuple[Signature, ...]] = {}
    failed: dict[str, str] = {}

    def post_all(bodies: dict[str, bytes]) -> dict[str, tuple[int, bytes, str]]:
        answers: dict[str, tuple[int, bytes, str]] = {}
        with ThreadPoolExecutor(max_workers=min(8, len(bodies) or 1)) as pool:
            futures = {u: pool.submit(_post, endpoints[u], b, timeout) for u, b in bodies.items()}
            for url, future in futures.items():
                try:
                    answers[url] = future.result()
                except KeelError as exc:
                    failed[url] = str(exc)
        return answers

    answers = post_all({url: AddCheckpoint(0, (), note).format() for url in urls})
    retry: dict[str, bytes] = {}
    for url, (status, body, content_type) in answers.items():
        held = _held_size(status, body, content_type)
        if held is None:
            continue
        if held > cp.size:
            failed[url] = (
                f"{url} already cosigned size {held} of {cp.origin}, more than this ledger's "
                f"{cp.size}: this ledger was rolled back, or its key signed another log"
            )
        else:
            with led.snapshot():
                proof = consistency_proof(held, cp.size, led.read)
            retry[url] = AddCheckpoint(held, tuple(proof), note).format()
    answers |= post_all(retry)
    for url, (status, body, _) in answers.items():
        if url in failed:
            continue
        try:
            if status != 200:
                raise _failure(url, status, body)
            cosigned[url] = _cosignature_lines(url, note, body, cosigners)
        except KeelError as exc:
            failed[url] = str(exc)
    lines = [s for url in urls for s in cosigned.get(url, ())]
    keys = {(s.name, s.key_id) for s in lines}  # two URLs of one witness count once
    if len(keys) < need:
        reasons = (
            "; ".join(failed[url] for url in urls if url in failed) or "the same witness twice"
        )
        raise ServiceError(
            f"only {len(keys)} of the {need} witness cosignatures needed for "
            f"{cp.origin} at size {cp.size}: {reasons}. Nothing was stored: fix or replace "
            "those witnesses and run `keel ledger witness` again"
        )
    with led.store.write():
        current = led.store.latest_checkpoint()
        if current is None or current[0] != cp.size:
            raise ServiceError(
                "a new checkpoint was signed meanwhile; run `keel ledger witness` again"
            )
        merged = _merge(current[1], lines)
        if merged != current[1]:
            led.store.add_checkpoint(cp.size, merged)
    return WitnessReport(cp, merged, cosigned, failed)
