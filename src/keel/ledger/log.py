"""The provenance ledger: an append-only RFC 9162 log of canonical entries, with signed checkpoints.

`Ledger` holds the logic (ids, de-duplication, references, the Merkle tree, signing, erasure)
and keeps all state in a `Store`. Every append is one transaction: an acknowledged entry is
never lost, a failed batch leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path

from keel.errors import (
    ConfigError,
    ErasurePendingError,
    InputError,
    NotFoundError,
    RedactedError,
    VerificationError,
)
from keel.ledger.bundle import ProofBundle
from keel.ledger.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from keel.ledger.merkle import (
    Hash,
    Node,
    append_hashes,
    consistency_proof,
    frontier,
    inclusion_proof,
    leaf_hash,
    stored_hash_count,
    stored_hash_index,
    tree_hash,
    verify_consistency,
)
from keel.ledger.note import (
    Signer,
    Verifier,
    generate_key,
    load_verifier,
    parse_signer,
    parse_verifier,
    verifier_key,
)
from keel.ledger.postgres import PostgresStore, is_postgres_url
from keel.ledger.sqlite import SQLiteStore, database_files
from keel.ledger.store import EntryRow, Store, hash_reader, key_of
from keel.ledger.verify import Report, verify
from keel.records import (
    Digest,
    Entry,
    EntryId,
    Record,
    Redaction,
    Verdict,
    entry_bytes,
    is_hex_digest,
    parse_entry,
    payload_of,
    references,
)

CHUNK = 8192
"""Entries handled per round trip inside one append transaction."""


PAYLOAD_BATCH = 4096
"""Payloads `Ledger.payloads` reads with one query."""


@dataclass(frozen=True, slots=True)
class Pending:
    """An entry ready to append: its logged bytes, the payload it commits to, and its references."""

    entry: bytes
    payload_digest: bytes | None = None
    payload: bytes | None = None
    refs: tuple[str, ...] = ()
    alias: str | None = None
    kind: str = "record"
    ref_indexes: tuple[int, ...] | None = None
    """The leaf indexes of `refs`, when the caller found them inside this append's write
    transaction (a bulk import looks its records up anyway): the links are then written
    without a second lookup. `keel ledger verify` rechecks every link from the entry bytes."""


@dataclass(frozen=True, slots=True)
class Appended:
    """The outcome of appending one entry: where it is, and whether it was already there."""

    id: EntryId
    index: int
    new: bool


@dataclass(frozen=True, slots=True)
class Located:
    """An entry found in the ledger, with its parsed value; `alias` is the external id it was
    found by, if any (a user's lookup name, not covered by the log: unauthenticated)."""

    id: EntryId
    index: int
    raw: bytes
    entry: Entry
    alias: str | None = None


@dataclass(frozen=True, slots=True)
class Ancestor:
    """A record in the lineage of another, `depth` generations of parents away."""

    located: Located
    depth: int
    verdicts: tuple[Located, ...]


@dataclass(frozen=True, slots=True)
class Lineage:
    """A record, its ancestors (nearest first) and the verdicts on each."""

    record: Located
    verdicts: tuple[Located, ...]
    ancestors: tuple[Ancestor, ...]
    children: tuple[EntryId, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Info:
    """A ledger at a glance: its size and root, its key, and what its checkpoints cover."""

    size: int
    root: str
    origin: str | None
    verifier_key: str | None
    checkpoints: int
    checkpoint_size: int | None

    @property
    def uncovered(self) -> int:
        """Entries that no signed checkpoint covers yet (`keel ledger checkpoint` covers them)."""
        return self.size - (self.checkpoint_size or 0)


def prepare(entry: Entry, payload: bytes | None = None, alias: str | None = None) -> Pending:
    """Turn an entry value and its payload bytes into a `Pending`, checking that they match."""
    ref = payload_of(entry)
    digest = None
    if ref is not None:
        if payload is None:
            raise InputError(f"this {entry.kind} commits to a payload: pass its bytes too")
        if ref.size != len(payload) or hashlib.sha256(payload).hexdigest() != ref.sha256:
            raise InputError(f"the payload bytes do not match the {entry.kind}'s payload digest")
        digest = bytes.fromhex(ref.sha256)
    elif payload is not None:
        raise InputError(f"a {entry.kind} entry has no payload")
    return Pending(entry_bytes(entry), digest, payload, tuple(references(entry)), alias, entry.kind)


def default_key_path(db: str | Path) -> Path | None:
    """Where the signing key of the ledger at `db` lives unless --key-file says otherwise:
    KEEL_KEY, else beside an SQLite file (keel.key for keel.db); a PostgreSQL ledger has no
    folder, so its key file must be named (None)."""
    env = os.environ.get("KEEL_KEY")
    if env:
        return Path(env)
    return None if is_postgres_url(db) else Path(db).with_suffix(".key")


def ledger_files(db: str | Path, key_path: Path | None = None) -> tuple[Path, ...]:
    """The files keel never writes over for the ledger at `db`: the database, its journals
    and its signing key (only the key for a PostgreSQL ledger)."""
    key = key_path or default_key_path(db)
    keys = () if key is None else (key,)
    return keys if is_postgres_url(db) else (*database_files(Path(db)), *keys)


class Ledger:
    """A provenance ledger backed by a store; open with `Ledger.open(path)`."""

    def __init__(self, store: Store, key_path: Path | None = None) -> None:
        self.store = store
        self.key_path = key_path

    @classmethod
    def open(
        cls,
        db: str | Path,
        *,
        create: bool = True,
        readonly: bool = False,
        key_path: Path | None = None,
    ) -> Ledger:
        """Open (or create) the ledger at `db`: an SQLite file, or a PostgreSQL database named
        by a `postgresql://` URL (`keel.ledger.postgres`); its signing key lives at `key_path`
        (default: `default_key_path`).

        `readonly` opens it for reading only: such a reader never waits on a writer.
        """
        store: Store
        if is_postgres_url(db):
            store = PostgresStore(str(db), create=create, readonly=readonly)
        else:
            store = SQLiteStore(Path(db), create=create, readonly=readonly)
        return cls(store, key_path or default_key_path(db))

    def snapshot(self) -> AbstractContextManager[None]:
        """Every read inside this block sees the ledger as of one moment (one transaction).

        Multi-step reads (verify, lineage, receipts, the loop's view) run inside one, so that
        an append or a redaction committed meanwhile by another process is either wholly seen
        or not at all.
        """
        return self.store.read()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- keys ------------------------------------------------------------------------------
    @property
    def origin(self) -> str | None:
        """The log's origin line (the checkpoint key's name), once a key exists."""
        return self.store.get_meta("origin")

    def verifier(self) -> Verifier:
        """The verifier key recorded for this ledger."""
        vkey = self.store.get_meta("verifier_key")
        if vkey is None:
            raise _no_key()
        return parse_verifier(vkey)

    def trusted_verifier(self, key: str | None = None) -> tuple[Verifier, str]:
        """The verifier to check this ledger with, and where it came from: `key` (a key string
        or file, `load_verifier`) when given, else the signing key file's, else the one stored
        in the database (which a forger of the database could have replaced)."""
        if key is not None:
            return load_verifier(key), "--key"
        if self.key_path is not None and self.key_path.exists():
            return parse_verifier(verifier_key(self.key_path.read_text().strip())), "key file"
        return self.verifier(), "database"

    def init_key(self, origin: str | None = None) -> str:
        """Create the ledger's Ed25519 checkpoint key and its key file; return the verifier key."""
        if self.store.get_meta("verifier_key") is not None:
            raise InputError(
                f"this ledger already has a key ({self.store.get_meta('verifier_key')}); "
                "a log keeps one key for life"
            )
        if self.key_path is None:
            raise ConfigError(_NO_KEY_PATH)
        if self.key_path.exists():
            raise InputError(f"{self.key_path} already exists: move it away or set KEEL_KEY")
        name = origin or f"keel.localhost/ledger/{secrets.token_hex(4)}"
        skey, vkey = generate_key(name)
        self.key_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(skey + "\n")
        with self.store.write():
            self.store.set_meta("origin", name)
            self.store.set_meta("verifier_key", vkey)
        return vkey

    def _signer(self) -> Signer:
        vkey = self.store.get_meta("verifier_key")
        if vkey is None:
            raise _no_key()
        if self.key_path is None:
            raise ConfigError(_NO_KEY_PATH)
        if not self.key_path.exists():
            raise InputError(
                f"signing key not found at {self.key_path}: pass this ledger's key file (the one "
                f"`keel ledger key init` wrote for {vkey}) with --key-file or KEEL_KEY"
            )
        skey = self.key_path.read_text().strip()
        signer = parse_signer(skey)
        if signer.name != self.origin or vkey != verifier_key(skey):
            raise VerificationError(f"the key in {self.key_path} is not this ledger's key ({vkey})")
        return signer

    # -- appending -------------------------------------------------------------------------
    def append(
        self,
        items: Iterable[Pending | tuple[Entry, bytes | None]],
        *,
        allow_unknown_refs: bool = False,
        on_chunk: Callable[[list[Appended]], None] | None = None,
    ) -> list[Appended]:
        """Append entries in one transaction; entries already logged come back with new=False.

        References (a record's parents, a verdict's record, a run's mix) must name entries
        logged earlier (or earlier in this batch) unless `allow_unknown_refs`. With `on_chunk`,
        results are passed chunk by chunk instead of being collected (for huge batches).
        """
        out: list[Appended] = []
        sink = on_chunk or out.extend
        with self.store.write():
            state = _TreeState.load(self.store)
            chunk: list[Pending] = []
            for item in items:
                chunk.append(item if isinstance(item, Pending) else prepare(*item))
                if len(chunk) == CHUNK:
                    sink(self._append_chunk(state, chunk, allow_unknown_refs))
                    chunk = []
            if chunk:
                sink(self._append_chunk(state, chunk, allow_unknown_refs))
        return out

    def _append_chunk(
        self, state: _TreeState, items: list[Pending], allow_unknown_refs: bool
    ) -> list[Appended]:
        store = self.store
        digests = [hashlib.sha256(p.entry).digest() for p in items]
        keys = [key_of(d) for d in digests]
        # Optimistic: most entries are new, so insert first and look up only on a conflict.
        results, rows, new_items, batch = self._classify(state, items, digests, keys, {})
        if rows and not store.insert_entries(state.size, rows):
            existing = store.entries_by_key(keys)
            results, rows, new_items, batch = self._classify(state, items, digests, keys, existing)
            if rows and not store.insert_entries(state.size, rows):
                raise VerificationError(
                    "the entries index changed under a write: run `keel ledger verify`"
                )
        if not rows:
            return results
        self._write_payloads(new_items)
        self._write_refs(new_items, batch, allow_unknown_refs)
        self._write_aliases(new_items)
        state.extend(store, [leaf_hash(r[3]) for r in rows])
        return results

    @staticmethod
    def _classify(
        state: _TreeState,
        items: list[Pending],
        digests: list[bytes],
        keys: list[int],
        existing: dict[int, EntryRow],
    ) -> tuple[
        list[Appended],
        list[tuple[int, int | None, str, bytes]],
        list[tuple[int, Pending]],
        dict[int, tuple[bytes, int]],
    ]:
        """Split a chunk into entries already stored, repeated within it, and new (with indexes)."""
        results: list[Appended] = []
        rows: list[tuple[int, int | None, str, bytes]] = []
        new_items: list[tuple[int, Pending]] = []
        batch: dict[int, tuple[bytes, int]] = {}
        for item, digest, key in zip(items, digests, keys, strict=True):
            eid = EntryId(digest.hex())
            row = existing.get(key)
            if row is not None:
                _check_same(row.entry, digest, key)
                results.append(Appended(eid, row.idx, False))
                continue
            seen = batch.get(key)
            if seen is not None:
                if seen[0] != digest:
                    raise _collision(key)
                results.append(Appended(eid, seen[1], False))
                continue
            idx = state.size + len(rows)
            batch[key] = (digest, idx)
            pkey = key_of(item.payload_digest) if item.payload_digest is not None else None
            rows.append((key, pkey, item.kind, item.entry))
            new_items.append((idx, item))
            results.append(Appended(eid, idx, True))
        return results, rows, new_items, batch

    def _write_payloads(self, new_items: list[tuple[int, Pending]]) -> None:
        rows: dict[int, tuple[int, bytes, bytes]] = {}
        missing: list[tuple[int, int, bytes]] = []
        for idx, p in new_items:
            if p.payload_digest is None:
                continue
            k = key_of(p.payload_digest)
            if p.payload is None:
                missing.append((idx, k, p.payload_digest))
            elif k not in rows:
                rows[k] = (k, p.payload_digest, p.payload)
        inserted = self.store.insert_payloads(list(rows.values()))
        if inserted < len(rows):
            stored = self.store.payloads_by_key(list(rows))
            for k, (_, digest, _) in rows.items():
                if stored[k].digest != digest:
                    raise _collision(k)
        if missing:
            stored = self.store.payloads_by_key([k for _, k, _ in missing])
            for idx, k, digest in missing:
                row = stored.get(k)
                if row is None or row.digest != digest:
                    raise InputError(
                        f"entry {idx} commits to payload {digest.hex()} but no bytes were given "
                        "and the ledger does not hold them"
                    )

    def _write_refs(
        self,
        new_items: list[tuple[int, Pending]],
        batch: dict[int, tuple[bytes, int]],
        allow_unknown: bool,
    ) -> None:
        wanted = {r for _, p in new_items if p.ref_indexes is None for r in p.refs}
        resolved = self._resolve_refs(wanted, batch) if wanted else {}
        rows = []
        for idx, p in new_items:
            known = p.ref_indexes
            for i, ref in enumerate(p.refs):
                target = resolved.get(ref) if known is None else known[i]
                if target is None or target >= idx:
                    if allow_unknown and target is None:
                        continue
                    why = "is not in the ledger" if target is None else "comes later in the batch"
                    raise NotFoundError(
                        f"entry {idx} refers to {ref}, which {why}: append it first"
                        + ("" if target is not None else " (or allow unknown parents)")
                    )
                rows.append((target, idx))
        self.store.insert_refs(rows)

    def _resolve_refs(self, refs: set[str], batch: dict[int, tuple[bytes, int]]) -> dict[str, int]:
        out: dict[str, int] = {}
        by_key: dict[int, str] = {}
        for r in refs:
            digest = bytes.fromhex(r)
            k = key_of(digest)
            hit = batch.get(k)
            if hit is not None and hit[0] == digest:
                out[r] = hit[1]
            else:
                by_key[k] = r
        for k, row in self.store.entries_by_key(list(by_key)).items():
            if hashlib.sha256(row.entry).hexdigest() == by_key[k]:
                out[by_key[k]] = row.idx
        return out

    def resolve_aliases(self, names: Sequence[str]) -> dict[str, str]:
        """The entry ids of the entries with these external ids (those that exist)."""
        return {n: self.at(i).id for n, i in self.store.aliases(list(names)).items()}

    def _write_aliases(self, new_items: list[tuple[int, Pending]]) -> None:
        rows = [(p.alias, idx) for idx, p in new_items if p.alias is not None]
        if not rows:
            return
        taken = self.store.aliases([a for a, _ in rows])
        if taken:
            name, idx = next(iter(taken.items()))
            raise InputError(
                f"external id {name!r} already names entry {idx}; ids must be unique. To log "
                "corrected records in place of ones ingested wrongly, give them new external ids "
                "(docs/ledger.md, 'Correcting an ingest')"
            )
        self.store.insert_aliases(rows)

    # -- reading ---------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return self.store.size()

    def read(self, nodes: Sequence[Node]) -> Sequence[Hash]:
        """The `HashReader` of the stored tree, for the proof functions of `keel.ledger.merkle`."""
        return hash_reader(self.store)(nodes)

    def root(self, size: int | None = None) -> Hash:
        """The tree hash at `size` (default: now)."""
        return tree_hash(self.size if size is None else size, self.read)

    def locate(self, ref: str) -> Located:
        """The entry named by an id, a unique id prefix (8+ hex digits) or an external id."""
        name = ref.strip()
        hexed = name.lower()
        if is_hex_digest(hexed):
            digest = bytes.fromhex(hexed)
            row = self.store.entries_by_key([key_of(digest)]).get(key_of(digest))
            if row is not None and hashlib.sha256(row.entry).digest() == digest:
                return _located(row)
        elif is_hex_prefix(hexed) and len(hexed) >= 8:
            lo, hi = _key_range(hexed)
            rows = [
                r
                for r in self.store.entries_in_key_range(lo, hi)
                if hashlib.sha256(r.entry).hexdigest().startswith(hexed)
            ]
            if len(rows) == 1:
                return _located(rows[0])
            if len(rows) > 1:
                raise InputError(
                    f"id prefix {hexed} is ambiguous ({len(rows)} entries): give more digits"
                )
        aliased = self.store.aliases([name])
        if name in aliased:
            row2 = self.store.entry_at(aliased[name])
            if row2 is not None:
                return replace(_located(row2), alias=name)
        raise NotFoundError(f"no entry with id, id prefix or external id {name!r}")

    def at(self, index: int) -> Located:
        """The entry at leaf index `index`."""
        row = self.store.entry_at(index)
        if row is None:
            raise NotFoundError(f"no entry at index {index}; the log has {self.size}")
        return _located(row)

    def find_payload(self, digest: str) -> list[Located]:
        """Entries that commit to the payload with this hex SHA-256."""
        if not is_hex_digest(digest):
            raise InputError(f"a payload digest is 64 lower-case hex characters, got {digest!r}")
        k = key_of(bytes.fromhex(digest))
        found = [self.at(i) for i in self.store.entries_with_payload(k)]
        return [f for f in found if (p := payload_of(f.entry)) is not None and p.sha256 == digest]

    def find_text(self, text: str) -> list[Located]:
        """Entries whose payload is exactly `text` (UTF-8)."""
        return self.find_payload(hashlib.sha256(text.encode()).hexdigest())

    def payload(self, digest: str) -> bytes:
        """The payload bytes with this digest; RedactedError if erased, NotFoundError if unknown."""
        k = key_of(bytes.fromhex(digest))
        row = self.store.payloads_by_key([k]).get(k)
        if row is None or row.digest.hex() != digest:
            raise NotFoundError(f"no payload with digest {digest}")
        if row.data is None:
            raise RedactedError(
                f"payload {digest} was redacted; its digest and the redaction remain"
            )
        return row.data

    def payloads(self, digests: Sequence[str]) -> list[bytes | None]:
        """The bytes of each payload, in order, read in batches of `PAYLOAD_BATCH`; None
        where a payload was redacted or is not held (`payload` says which, one at a time)."""
        out: list[bytes | None] = []
        for start in range(0, len(digests), PAYLOAD_BATCH):
            batch = digests[start : start + PAYLOAD_BATCH]
            keys = [key_of(bytes.fromhex(d)) for d in batch]
            rows = self.store.payloads_by_key(keys)
            for k, d in zip(keys, batch, strict=True):
                row = rows.get(k)
                out.append(row.data if row is not None and row.digest.hex() == d else None)
        return out

    def recent(self, count: int = 20) -> list[Located]:
        """The most recent entries, newest first."""
        return [_located(r) for r in self.store.last_entries(count)]

    def refs_to(self, located: Located, since: int = 0) -> list[Located]:
        """Entries that point to this one (children, verdicts, runs), in log order; with
        `since`, only those at leaf index `since` or later (what was appended after a read).

        The reference index only finds candidates: each one's own bytes must name `located`,
        so an edited index cannot attach a verdict to a record it is not about.
        """
        found = (self.at(i) for i in self.store.refs_to(located.index, since))
        return [f for f in found if located.id in references(f.entry)]

    def lineage(self, ref: str) -> Lineage:
        """A record's ancestors, nearest first (breadth-first over parents), and their verdicts."""
        with self.snapshot():
            return self._lineage(ref)

    def _lineage(self, ref: str) -> Lineage:
        start = self.locate(ref)
        if not isinstance(start.entry, Record):
            raise InputError(
                f"{start.id} is a {start.entry.kind}, not a record: lineage is of records"
            )

        def verdicts(loc: Located) -> tuple[Located, ...]:
            return tuple(r for r in self.refs_to(loc) if isinstance(r.entry, Verdict))

        seen = {start.id}
        frontier_: list[tuple[Located, int]] = [(start, 0)]
        ancestors: list[Ancestor] = []
        while frontier_:
            loc, depth = frontier_.pop(0)
            assert isinstance(loc.entry, Record)
            for parent in loc.entry.parents:
                if parent in seen:
                    continue
                seen.add(parent)
                try:
                    ploc = self.locate(parent)
                except NotFoundError:
                    continue
                ancestors.append(Ancestor(ploc, depth + 1, verdicts(ploc)))
                if isinstance(ploc.entry, Record):
                    frontier_.append((ploc, depth + 1))
        children = tuple(r.id for r in self.refs_to(start) if isinstance(r.entry, Record))
        return Lineage(start, verdicts(start), tuple(ancestors), children)

    # -- checkpoints and proofs ------------------------------------------------------------
    def checkpoint(self) -> bytes:
        """Sign a checkpoint of the tree now, after checking it extends the previous one."""
        signer = self._signer()
        verifier = self.verifier()
        with self.store.write():
            size = self.size
            root = self.root(size)
            latest = self.store.latest_checkpoint()
            if latest is not None:
                prev = open_checkpoint(latest[1], verifier)
                if prev.size > size:
                    raise VerificationError(
                        f"the last checkpoint has {prev.size} entries but the log has {size}: "
                        "entries were deleted; run `keel ledger verify`"
                    )
                proof = consistency_proof(prev.size, size, self.read)
                try:
                    verify_consistency(prev.size, size, proof, prev.root, root)
                except VerificationError as exc:
                    raise VerificationError(
                        f"refusing to sign: the tree is not consistent with checkpoint {prev.size} "
                        f"({exc}); run `keel ledger verify`"
                    ) from exc
                if prev.size == size:
                    return latest[1]
            assert self.origin is not None
            note = sign_checkpoint(Checkpoint(self.origin, size, root), signer)
            self.store.add_checkpoint(size, note)
            return note

    def latest_checkpoint(self) -> Checkpoint | None:
        """The most recent signed checkpoint, opened with the ledger's key."""
        latest = self.store.latest_checkpoint()
        return None if latest is None else open_checkpoint(latest[1], self.verifier())

    def prove(self, ref: str) -> ProofBundle:
        """A c2sp.org/tlog-proof@v1 receipt for an entry against the latest checkpoint.

        Signs a new checkpoint first when the latest one does not cover the entry yet.
        """
        with self.snapshot():
            loc = self.locate(ref)
            latest = self.store.latest_checkpoint()
            if latest is not None and latest[0] > loc.index:
                return self._receipt(loc.index, *latest)
        note = self.checkpoint()
        with self.snapshot():
            return self._receipt(loc.index, open_checkpoint(note, self.verifier()).size, note)

    def _receipt(self, index: int, size: int, note: bytes) -> ProofBundle:
        return ProofBundle(index, tuple(inclusion_proof(index, size, self.read)), note)

    def verify(
        self, verifier: Verifier | None = None, *, progress: Callable[[int], None] | None = None
    ) -> Report:
        """Recheck everything the ledger stores (`keel.ledger.verify`) in one snapshot.

        `verifier` is the key to trust; without it, the key the database names is used, which
        whoever can edit the database could replace: pass the key you trust.
        """
        return verify(self.store, verifier or self.verifier(), progress=progress)

    # -- erasure ---------------------------------------------------------------------------
    def redact(self, ref: str, reason: str) -> Appended:
        """Erase a payload's bytes (named by an entry or by its digest) and log why.

        The log, every checkpoint and every receipt stay valid: entries hold only digests.
        """
        if not reason.strip():
            raise InputError("a redaction needs a reason (--reason)")
        digest = self.payload_digest(ref)
        k = key_of(bytes.fromhex(digest))
        with self.store.write():
            row = self.store.payloads_by_key([k]).get(k)
            if row is None or row.digest.hex() != digest:
                raise NotFoundError(f"no payload with digest {digest}")
            result = self.append([(Redaction(Digest(digest), reason), None)])[0]
            self.store.erase_payload(k)
        try:
            self.store.compact()
        except ErasurePendingError as exc:
            raise ErasurePendingError(
                f"redaction entry {result.id} (index {result.index}) is committed and the "
                f"payload is erased from the ledger's tables, but {exc}"
            ) from exc
        return result

    def compact(self) -> None:
        """Finish erasures: move erased bytes out of the database's journal and free pages."""
        self.store.compact()

    def payload_digest(self, ref: str) -> str:
        """The payload digest `ref` names: `ref` itself when it is the digest of a payload this
        ledger holds or erased, else the payload digest of the entry it names."""
        if is_hex_digest(ref):
            k = key_of(bytes.fromhex(ref))
            row = self.store.payloads_by_key([k]).get(k)
            if (row is not None and row.digest.hex() == ref) or ref in self.redacted():
                return ref
        loc = self.locate(ref)
        ref_ = payload_of(loc.entry)
        if ref_ is None:
            raise InputError(f"entry {loc.id} is a {loc.entry.kind} with no payload")
        return ref_.sha256

    def redacted(self) -> dict[str, Located]:
        """Redaction entries by the digest they erased."""
        return {
            loc.entry.digest: loc
            for loc in self.entries("redaction")
            if isinstance(loc.entry, Redaction)
        }

    def entries(self, kind: str) -> list[Located]:
        """The entries of one kind (record, verdict, mix, run, redaction), in log order."""
        with self.snapshot():
            found = [self.at(i) for i in self.store.entries_of_kind(kind)]
        return [f for f in found if f.entry.kind == kind]

    def info(self) -> Info:
        """Size, root, key and checkpoint coverage, read from one snapshot."""
        with self.snapshot():
            size = self.size
            checkpoints = self.store.checkpoints()
            return Info(
                size=size,
                root=self.root(size).hex(),
                origin=self.origin,
                verifier_key=self.store.get_meta("verifier_key"),
                checkpoints=len(checkpoints),
                checkpoint_size=checkpoints[-1][0] if checkpoints else None,
            )

    @property
    def has_key(self) -> bool:
        """Whether a checkpoint key was made for this ledger (`init_key`)."""
        return self.store.get_meta("verifier_key") is not None

    # -- settings of the applications that write this ledger --------------------------------
    def setting(self, name: str) -> str | None:
        """A setting an application stored beside this ledger (the loop stores its config).

        Settings are not entries: no checkpoint covers them and verify cannot check them. Use
        one to refuse a mistake (resuming a loop with another config), never as evidence.
        """
        return self.store.get_meta(_setting(name))

    def put_setting(self, name: str, value: str) -> None:
        """Store `value` as the setting `name`, once: a setting is never overwritten."""
        key = _setting(name)
        with self.store.write():
            stored = self.store.get_meta(key)
            if stored is not None and stored != value:
                raise InputError(f"this ledger's setting {name!r} is already set to another value")
            self.store.set_meta(key, value)

    def iter_located(self, start: int = 0) -> Iterator[Located]:
        """Every entry in log order, from index `start`."""
        for row in self.store.iter_entries(start):
            yield _located(row)


class _TreeState:
    """The size, stored-hash count and frontier of the tree during one write transaction."""

    def __init__(self, size: int, count: int, front: list[Hash]) -> None:
        self.size = size
        self.count = count
        self.front = front

    @classmethod
    def load(cls, store: Store) -> _TreeState:
        size = store.size()
        count = store.hash_count()
        if count != stored_hash_count(size):
            raise VerificationError(
                f"the log has {size} entries but {count} stored tree hashes: "
                "run `keel ledger verify` to find the damage"
            )
        nodes = frontier(size)
        front = [Hash(h) for h in store.read_hashes([stored_hash_index(lv, n) for lv, n in nodes])]
        return cls(size, count, front)

    def extend(self, store: Store, leaves: list[Hash]) -> None:
        new, self.front = append_hashes(self.size, self.front, leaves)
        store.write_hashes(self.count, new)
        self.size += len(leaves)
        self.count += len(new)


_NO_KEY_PATH = (
    "no key file for this ledger: a PostgreSQL ledger has no folder to keep keel.key in, so "
    "name the signing key's file with --key-file or KEEL_KEY (on every host that signs)"
)

_LEDGER_META = frozenset({"origin", "verifier_key", "schema", "erasure_pending"})


def _setting(name: str) -> str:
    """The metadata key of an application setting; the ledger's own keys are not settings."""
    if name in _LEDGER_META or not name.isidentifier():
        raise InputError(f"{name!r} cannot name a ledger setting: use an identifier of your own")
    return name


def _located(row: EntryRow) -> Located:
    return Located(
        EntryId(hashlib.sha256(row.entry).hexdigest()), row.idx, row.entry, parse_entry(row.entry)
    )


def _check_same(stored: bytes, digest: bytes, key: int) -> None:
    if hashlib.sha256(stored).digest() != digest:
        raise _collision(key)


def _no_key() -> InputError:
    return InputError(
        "this ledger has no signing key yet: run `keel ledger key init` to create it (its file "
        "goes where --key-file or KEEL_KEY says, by default beside the database)"
    )


def _collision(key: int) -> VerificationError:
    return VerificationError(
        f"two different digests share the index key {key}; this is astronomically unlikely "
        "unless the database was edited: run `keel ledger verify`"
    )


def is_hex_prefix(s: str) -> bool:
    """True when `s` looks like (a prefix of) a hex id."""
    t = s.strip().lower()
    return 0 < len(t) <= 64 and all(c in "0123456789abcdef" for c in t)


def _key_range(prefix: str) -> tuple[int, int]:
    p = prefix[:16]
    lo = int(p.ljust(16, "0"), 16)
    hi = int(p.ljust(16, "f"), 16)

    def signed(u: int) -> int:
        return u - 2**64 if u >= 2**63 else u

    return signed(lo), signed(hi)


__all__ = [
    "Ancestor",
    "Appended",
    "Info",
    "Ledger",
    "Lineage",
    "Located",
    "Pending",
    "default_key_path",
    "ledger_files",
    "prepare",
]
