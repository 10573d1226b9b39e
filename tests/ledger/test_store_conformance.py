"""The store contract (`keel.ledger.store`), checked on every store: one test per promise.

A store joins by adding its factory to `STORES`; nothing else changes. The PostgreSQL store
runs on a fresh database per test from KEEL_TEST_POSTGRES (skipped without it, see
tests/postgres_db.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from keel.errors import VerificationError
from keel.ledger.postgres import PostgresStore
from keel.ledger.sqlite import SQLiteStore
from keel.ledger.store import EntryRow, Store, key_of

Opener = Callable[[], Store]


def _sqlite(request: pytest.FixtureRequest) -> Opener:
    path: Path = request.getfixturevalue("tmp_path") / "conformance.db"
    return lambda: SQLiteStore(path)


def _postgres(request: pytest.FixtureRequest) -> Opener:
    url: str = request.getfixturevalue("postgres_url")
    return lambda: PostgresStore(url)


STORES: dict[str, Callable[[pytest.FixtureRequest], Opener]] = {
    "sqlite": _sqlite,
    "postgresql": _postgres,
}


@pytest.fixture(params=sorted(STORES))
def opener(request: pytest.FixtureRequest) -> Opener:
    """Opens (another connection to) one fresh store."""
    return STORES[request.param](request)


@pytest.fixture
def store(opener: Opener) -> Iterator[Store]:
    s = opener()
    try:
        yield s
    finally:
        s.close()


def _row(
    i: int, kind: str = "record", payload: int | None = None
) -> tuple[int, int | None, str, bytes]:
    entry = b'{"n":%d}' % i
    return key_of(hashlib.sha256(entry).digest()), payload, kind, entry


def _append(store: Store, *rows: tuple[int, int | None, str, bytes]) -> bool:
    with store.write():
        return store.insert_entries(store.size(), rows)


# -- transactions --------------------------------------------------------------------------
def test_a_failed_write_leaves_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.write():
        store.insert_entries(0, [_row(0)])
        store.set_meta("origin", "x")
        raise RuntimeError("boom")
    assert (store.size(), store.get_meta("origin")) == (0, None)


def test_a_read_sees_one_snapshot_while_another_connection_commits(opener: Opener) -> None:
    reader, writer = opener(), opener()
    try:
        _append(writer, _row(0))
        with reader.read():
            before = reader.size()
            _append(writer, _row(1))
            assert reader.size() == before == 1
            assert [r.idx for r in reader.iter_entries()] == [0]
        assert reader.size() == 2
    finally:
        reader.close()
        writer.close()


def test_nested_reads_and_writes_share_the_transaction(store: Store) -> None:
    with store.write():
        store.insert_entries(0, [_row(0)])
        with store.read():
            assert store.size() == 1
        with store.write():
            store.insert_entries(1, [_row(1)])
    assert store.size() == 2


# -- metadata ----------------------------------------------------------------------------
def test_metadata_is_set_and_replaced(store: Store) -> None:
    assert store.get_meta("origin") is None
    with store.write():
        store.set_meta("origin", "a")
        store.set_meta("origin", "b")
    assert store.get_meta("origin") == "b"
    with store.write():
        store.set_meta("Z", "1")
    assert list(store.iter_meta()) == [("Z", "1"), ("origin", "b")]


# -- entries and their indexes -------------------------------------------------------------
def test_entries_are_appended_all_or_nothing(store: Store) -> None:
    assert _append(store, _row(0), _row(1, "verdict", payload=7))
    assert store.size() == 2
    assert not _append(store, _row(2), _row(0))  # 0 is stored: none goes in
    assert store.size() == 2
    assert store.entry_at(1) == EntryRow(1, _row(1)[0], b'{"n":1}', 7, "verdict")
    assert store.entry_at(2) is None


def test_entry_lookups(store: Store) -> None:
    rows = [_row(i, "verdict" if i % 3 == 0 else "record", payload=i % 2) for i in range(10)]
    _append(store, *rows)
    keys = [r[0] for r in rows]
    found = store.entries_by_key([keys[4], keys[7], 12345])
    assert {k: r.idx for k, r in found.items()} == {keys[4]: 4, keys[7]: 7}
    assert store.entries_of_kind("verdict") == [0, 3, 6, 9]
    assert store.entries_with_payload(1) == [1, 3, 5, 7, 9]
    assert [r.idx for r in store.iter_entries(3, 6)] == [3, 4, 5]
    assert [r.idx for r in store.iter_entries(8)] == [8, 9]
    assert [r.idx for r in store.last_entries(3)] == [9, 8, 7]
    lo = min(keys)
    assert [r.key for r in store.entries_in_key_range(lo, lo)] == [lo]
    assert len(store.entries_in_key_range(-(2**63), 2**63 - 1)) == 10


def test_references(store: Store) -> None:
    _append(store, *(_row(i) for i in range(5)))
    with store.write():
        store.insert_refs([(0, 3), (1, 3), (0, 2), (0, 4)])
    assert store.refs_to(0) == [2, 3, 4]
    assert store.refs_to(0, since=3) == [3, 4]
    assert store.refs_to(0, since=5) == []
    assert list(store.iter_refs()) == [(2, 0), (3, 0), (3, 1), (4, 0)]


def test_aliases(store: Store) -> None:
    _append(store, _row(0), _row(1))
    with store.write():
        store.insert_aliases([("a", 0), ("b", 1)])
    assert store.aliases(["b", "zz", "a"]) == {"a": 0, "b": 1}
    assert store.aliases([]) == {}
    assert list(store.iter_aliases()) == [("a", 0), ("b", 1)]


# -- tree hashes -------------------------------------------------------------------------
def test_tree_hashes(store: Store) -> None:
    hashes = [hashlib.sha256(b"%d" % i).digest() for i in range(600)]
    with store.write():
        store.write_hashes(0, hashes[:300])
        store.write_hashes(300, hashes[300:])
    assert store.hash_count() == 600
    assert store.read_hashes([599, 0, 256, 255]) == [
        hashes[599],
        hashes[0],
        hashes[256],
        hashes[255],
    ]
    assert list(store.iter_hashes()) == hashes
    with pytest.raises(VerificationError, match="missing"):
        store.read_hashes([600])


# -- payloads ----------------------------------------------------------------------------
def test_payloads(store: Store) -> None:
    data = [b"alpha", b"beta"]
    rows = [(key_of(d := hashlib.sha256(x).digest()), d, x) for x in data]
    _append(store, _row(0, payload=rows[0][0]))
    with store.write():
        assert store.insert_payloads(rows) == 2
        assert store.insert_payloads(rows[:1]) == 0
    got = store.payloads_by_key([rows[0][0], rows[1][0]])
    assert got[rows[1][0]].data == b"beta"
    absent = key_of(hashlib.sha256(b"gamma").digest())
    got = store.payloads_by_key([rows[1][0], absent, rows[0][0]])
    assert {k: (p.key, p.digest) for k, p in got.items()} == {k: (k, d) for k, d, _ in rows}
    assert store.payloads_by_key([absent]) == {}
    assert store.payloads_by_key([]) == {}
    assert store.uncommitted_payloads() == [rows[1][1]]
    with store.write():
        store.erase_payload(rows[0][0])
    store.compact()
    erased = store.payloads_by_key([rows[0][0]])[rows[0][0]]
    assert (erased.digest, erased.data) == (rows[0][1], None)
    assert [(p.key, p.digest, p.data) for p in store.iter_payloads()] == [
        (rows[0][0], rows[0][1], None),
        (rows[1][0], rows[1][1], b"beta"),
    ]


def test_payload_and_entry_bytes_are_stored_exactly(store: Store) -> None:
    """Empty payloads stay empty (not erased), and any bytes come back unchanged, alone in a
    batch or among others: the stores pack batches (`keel.ledger.sqlite._packed`)."""
    data = [b"", b"\x00\xff\x80 not UTF-8", "naïve ✓".encode(), b"x" * 70_000]
    rows = [(key_of(d := hashlib.sha256(x).digest()), d, x) for x in data]
    entries = [(k, k, "record", b"\x00{" + x[:50] + b"}") for k, _, x in rows]
    with store.write():
        assert store.insert_entries(0, entries)
        assert store.insert_payloads(rows[:1]) == 1
        assert store.insert_payloads(rows) == len(data) - 1
    got = store.payloads_by_key([k for k, _, _ in rows])
    assert [(got[k].digest, got[k].data) for k, _, _ in rows] == [(d, x) for _, d, x in rows]
    assert [(r.idx, r.key, r.payload_key, r.kind, r.entry) for r in store.iter_entries(0)] == [
        (i, k, p, t, e) for i, (k, p, t, e) in enumerate(entries)
    ]


# -- checkpoints -------------------------------------------------------------------------
def test_checkpoints(store: Store) -> None:
    assert store.latest_checkpoint() is None
    with store.write():
        store.add_checkpoint(3, b"note 3")
        store.add_checkpoint(5, b"note 5")
    assert store.checkpoints() == [(3, b"note 3"), (5, b"note 5")]
    assert store.latest_checkpoint() == (5, b"note 5")
