"""The storage interface of the ledger: entries, the Merkle tree's hashes, payloads, checkpoints.

A store is dumb persistence with one write transaction at a time; the ledger's logic (ids,
dedup, the tree, signing) lives in `keel.ledger.log` and works on any store. SQLite is the
embedded default; a PostgreSQL store implements the same methods.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from keel.ledger.merkle import Hash, HashReader, Node, stored_hash_index

HASHES_PER_CHUNK = 256
"""Stored tree hashes are kept in blobs of this many consecutive hashes (8 KiB)."""


def hash_reader(store: Store) -> HashReader:
    """The `HashReader` over a store's tree, for the proof functions of `keel.ledger.merkle`."""

    def read(nodes: Sequence[Node]) -> list[Hash]:
        indexes = [stored_hash_index(level, n) for level, n in nodes]
        return [Hash(h) for h in store.read_hashes(indexes)]

    return read


def key_of(digest: bytes) -> int:
    """The 64-bit index key of a SHA-256 digest: its first 8 bytes as a signed big-endian integer.

    Keys index entries and payloads compactly; every lookup then compares the full digest,
    so two digests that share a key are told apart (and refused), never confused.
    """
    return int.from_bytes(digest[:8], "big", signed=True)


@dataclass(frozen=True, slots=True)
class EntryRow:
    """An entry as stored: its leaf index, id key, logged bytes, and the key of its payload."""

    idx: int
    key: int
    entry: bytes
    payload_key: int | None


@dataclass(frozen=True, slots=True)
class PayloadRow:
    """A payload as stored: its digest and bytes (None once redacted)."""

    digest: bytes
    data: bytes | None


class Store(ABC):
    """Persistence for one ledger. Writes happen only inside `write()`."""

    # -- transactions ----------------------------------------------------------------------
    @abstractmethod
    def write(self) -> AbstractContextManager[None]:
        """An exclusive write transaction: everything inside commits together or not at all."""

    @abstractmethod
    def compact(self) -> None:
        """Make erased bytes leave every file of the store (journals, free pages)."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""

    # -- metadata --------------------------------------------------------------------------
    @abstractmethod
    def get_meta(self, name: str) -> str | None:
        """A ledger setting (origin, verifier key), or None."""

    @abstractmethod
    def set_meta(self, name: str, value: str) -> None:
        """Set a ledger setting (inside `write()`)."""

    # -- entries ---------------------------------------------------------------------------
    @abstractmethod
    def size(self) -> int:
        """The number of entries (leaves) in the log."""

    @abstractmethod
    def insert_entries(
        self, start: int, rows: Sequence[tuple[int, int | None, str, bytes]]
    ) -> bool:
        """Append (key, payload key, kind, entry bytes) rows at leaf indexes start, start+1, ...

        All or nothing: if any key is already stored, insert none and return False.
        """

    @abstractmethod
    def entries_by_key(self, keys: Sequence[int]) -> dict[int, EntryRow]:
        """The stored entries whose id key is among `keys`."""

    @abstractmethod
    def entries_in_key_range(self, lo: int, hi: int) -> list[EntryRow]:
        """The stored entries whose id key lies in [lo, hi] (id-prefix lookups)."""

    @abstractmethod
    def entries_of_kind(self, kind: str) -> list[int]:
        """Leaf indexes of the entries of one kind (record, verdict, mix, run, redaction)."""

    @abstractmethod
    def entry_at(self, idx: int) -> EntryRow | None:
        """The entry at leaf index `idx`."""

    @abstractmethod
    def iter_entries(self, start: int = 0, stop: int | None = None) -> Iterator[EntryRow]:
        """Entries in log order from `start` to `stop` (exclusive)."""

    @abstractmethod
    def entries_with_payload(self, payload_key: int) -> list[int]:
        """Leaf indexes of the entries committing to the payload with this key."""

    @abstractmethod
    def last_entries(self, count: int) -> list[EntryRow]:
        """The `count` most recent entries, newest first."""

    # -- references (lineage, verdicts) ------------------------------------------------------
    @abstractmethod
    def insert_refs(self, rows: Sequence[tuple[int, int]]) -> None:
        """Record (target idx, source idx): entry `source` points to entry `target`."""

    @abstractmethod
    def refs_to(self, target: int) -> list[int]:
        """Leaf indexes of the entries that point to `target`, in log order."""

    # -- external ids ----------------------------------------------------------------------
    @abstractmethod
    def insert_aliases(self, rows: Sequence[tuple[str, int]]) -> None:
        """Record (external id, idx): a user's own id for an entry (not logged; an index only)."""

    @abstractmethod
    def aliases(self, names: Sequence[str]) -> dict[str, int]:
        """The leaf indexes of the entries with these external ids."""

    # -- tree hashes -----------------------------------------------------------------------
    @abstractmethod
    def hash_count(self) -> int:
        """How many stored tree hashes there are."""

    @abstractmethod
    def write_hashes(self, start: int, hashes: Sequence[bytes]) -> None:
        """Store hashes at stored-hash indexes start, start+1, ... (start == hash_count())."""

    @abstractmethod
    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        """The stored hashes at these stored-hash indexes, in the same order."""

    @abstractmethod
    def iter_hashes(self) -> Iterator[bytes]:
        """Every stored hash in stored-hash index order."""

    # -- payloads --------------------------------------------------------------------------
    @abstractmethod
    def insert_payloads(self, rows: Sequence[tuple[int, bytes, bytes]]) -> int:
        """Add (key, digest, data) rows, skipping keys already stored; return how many were new."""

    @abstractmethod
    def payloads_by_key(self, keys: Sequence[int]) -> dict[int, PayloadRow]:
        """The stored payloads whose key is among `keys`."""

    @abstractmethod
    def erase_payload(self, key: int) -> None:
        """Overwrite and drop the bytes of a payload, keeping its digest (redaction)."""

    @abstractmethod
    def iter_payloads(self) -> Iterator[PayloadRow]:
        """Every stored payload, redacted ones with data None."""

    # -- checkpoints -----------------------------------------------------------------------
    @abstractmethod
    def add_checkpoint(self, size: int, note: bytes) -> None:
        """Keep a signed checkpoint of the tree at `size`."""

    @abstractmethod
    def checkpoints(self) -> list[tuple[int, bytes]]:
        """Every stored (size, signed note), oldest first."""

    @abstractmethod
    def latest_checkpoint(self) -> tuple[int, bytes] | None:
        """The most recent (size, signed note), or None."""
