"""Copy a ledger into a new, empty store (an SQLite file into PostgreSQL) and prove the copy.

Everything is copied as stored, in one write transaction on the target read from one snapshot
of the source: entries with their indexes, references, external ids, tree hashes, payloads
(erased ones stay erased: only their digests travel), signed checkpoints and settings. The copy
is then checked: the target's root equals the source's, each checkpoint is the same note and
opens to the target's root at its size, and `keel.ledger.verify` rechecks the whole target.
The signing key file is not copied: it stays where it is, to be named with --key-file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import TypeVar

from keel.errors import InputError, VerificationError
from keel.ledger.checkpoint import open_checkpoint
from keel.ledger.log import Ledger
from keel.ledger.store import Store, key_of

BATCH = 8192
"""Rows copied per call into the target store."""
_NOT_COPIED = frozenset({"erasure_pending", "schema"})
"""Settings that describe the source store's own state, not the ledger."""
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Migrated:
    """What a migration copied, and the root both ledgers share."""

    size: int
    root: str
    payloads: int
    redacted: int
    checkpoints: int
    aliases: int


def migrate(
    source: Ledger, target: Ledger, *, progress: Callable[[int], None] | None = None
) -> Migrated:
    """Copy `source` into the empty `target` and check the copy (module docstring); `progress`
    is called with the number of entries copied so far."""
    src, dst = source.store, target.store
    with src.read():
        _check_empty(dst)
        payloads = redacted = aliases = 0
        with dst.write():
            for name, value in src.iter_meta():
                if name not in _NOT_COPIED:
                    dst.set_meta(name, value)
            copied = 0
            for rows in _batches(src.iter_entries()):
                if not dst.insert_entries(
                    copied, [(r.key, r.payload_key, r.kind, r.entry) for r in rows]
                ):
                    raise VerificationError(
                        f"the source repeats an entry id key before index {copied + len(rows)}: "
                        "run `keel ledger verify` on it"
                    )
                copied += len(rows)
                if progress is not None:
                    progress(copied)
            for refs in _batches(src.iter_refs()):
                dst.insert_refs([(target_idx, source_idx) for source_idx, target_idx in refs])
            for names in _batches(src.iter_aliases()):
                dst.insert_aliases(names)
                aliases += len(names)
            hashes = 0
            for chunk in _batches(src.iter_hashes()):
                dst.write_hashes(hashes, chunk)
                hashes += len(chunk)
            for prows in _batches(src.iter_payloads()):
                dst.insert_payloads([(key_of(p.digest), p.digest, p.data or b"") for p in prows])
                for p in prows:
                    if p.data is None:
                        dst.erase_payload(key_of(p.digest))
                        redacted += 1
                payloads += len(prows)
            for size, note in src.checkpoints():
                dst.add_checkpoint(size, note)
        if redacted:
            dst.compact()
        size = source.size
        root = source.root(size)
        checkpoints = src.checkpoints()
    _check_copy(source, target, size, root, checkpoints)
    return Migrated(size, root.hex(), payloads, redacted, len(checkpoints), aliases)


def _check_empty(store: Store) -> None:
    """Refuse a target that holds anything of a ledger already (a key, settings, payloads)."""
    held = store.size() or store.hash_count() or store.checkpoints() or store.uncommitted_payloads()
    if held or list(store.iter_meta()):
        raise InputError(
            "the target already holds a ledger; migrate only into a new, empty database "
            "(CREATE DATABASE), never over one"
        )


def _check_copy(
    source: Ledger, target: Ledger, size: int, root: bytes, checkpoints: list[tuple[int, bytes]]
) -> None:
    """The target has the source's size, root and checkpoints, and verifies."""
    with target.snapshot():
        if (target.size, target.root(target.size)) != (size, root):
            raise VerificationError(
                f"the copy's root differs from the source's at size {size}: the target was "
                "written meanwhile or damaged; start again on a new, empty database"
            )
        if target.store.checkpoints() != checkpoints:
            raise VerificationError("the copy's checkpoints differ from the source's")
    if not source.has_key:
        return
    verifier = source.verifier()
    for at, note in checkpoints:
        if open_checkpoint(note, verifier).root != target.root(at):
            raise VerificationError(f"the copy's tree does not match checkpoint {at}")
    report = target.verify(verifier)
    if not report.ok:
        raise VerificationError(f"the copy does not verify: {report.problems[0]}")


def _batches(rows: Iterable[_T]) -> Iterator[list[_T]]:
    it = iter(rows)
    while batch := list(islice(it, BATCH)):
        yield batch
