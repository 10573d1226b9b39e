"""Full verification of a ledger from its stored bytes, trusting nothing but the verifier key.

Recomputes every leaf from the entry bytes, the whole tree, every payload's digest, every
checkpoint's signature and root, and the consistency of consecutive checkpoints, and names the
first entry index, payload or checkpoint that fails. A redacted payload is reported as
redacted, never as tampered; bytes written back after their redaction are reported.

The indexes derived from the entries (each entry's kind and payload key, the references
between entries) are recomputed from the entry bytes and compared, so an edited index is
caught too. The review entries are checked against those before them (`keel.ledger.signed`):
every signed decision against its reviewer's enrolled key, every close against its round's
gold commitment. Every anchor-key entry must carry the log key's signature on its binding, and
every anchor must name a binding logged before it and hold the log's root at its size
(`keel.ledger.anchor`; `keel ledger verify-anchor` checks the chain's transaction). External
ids (aliases) are the one thing stored that the log does not cover: they are a user's names
for entries, unauthenticated, and said to be so wherever they are shown.
Everything is read in one snapshot, so a writer appending or redacting meanwhile is never
mistaken for tampering.

The entries are read and checked batch by batch, in log order. A record in its plainest form
(`keel.records.plain_record`, most of what ingest logs) is checked from its bytes without
building its value; every other entry is parsed into its value and checked as such.
"""

from __future__ import annotations

import hashlib
import logging
import re
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Literal, TypeVar, cast

import orjson

from keel.errors import InputError, KeelError, VerificationError
from keel.ledger.checkpoint import Checkpoint, open_checkpoint
from keel.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    Hash,
    append_hashes,
    consistency_proof,
    leaf_hash,
    node_hash,
    stored_hash_count,
    stored_hash_index,
    tree_hash,
    verify_consistency,
)
from keel.ledger.note import Verifier
from keel.ledger.signed import Reviews
from keel.ledger.store import EntryRow, Store, hash_reader, key_of
from keel.records import (
    JSON,
    MAX_DEPTH,
    Anchor,
    AnchorKey,
    EntryId,
    Record,
    Redaction,
    canonical,
    dumps_sorted,
    entry_from_json,
    loads,
    payload_of,
    plain_record,
    references,
)

Where = Literal["entry", "index", "payload", "tree", "checkpoint", "key"]
_CHUNK = 16384
_MISSING = "entry is missing (deleted from the log)"
_GONE = "payload bytes are gone but no redaction entry says why"
# A number with a fraction or an exponent, or of 16 digits or more (`records.loads` reads
# those as floats), where canonical JSON puts numbers: after `:`, `,` or `[` (or first, which
# `_entry_json` checks apart: an alternation with `^` triples the search's time).
_FLOAT_OR_LONG = re.compile(rb"[:,\[]-?\d(?:\d*[.eE]|\d{15})")
_log = logging.getLogger("keel.ledger")
_V = TypeVar("_V")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing that does not check out, and where."""

    where: Where
    at: str
    message: str


@dataclass(slots=True)
class Report:
    """What `verify` checked and what it found."""

    size: int = 0
    entries: int = 0
    payloads: int = 0
    redacted: list[str] = field(default_factory=list)
    checkpoints: int = 0
    checkpoint_size: int = 0
    root: str = ""
    problems: list[Problem] = field(default_factory=list)

    @property
    def uncovered(self) -> int:
        """Entries that no valid signed checkpoint covers: their history rests on this copy
        alone until `keel ledger checkpoint` signs a head that covers them."""
        return self.size - self.checkpoint_size

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None


def verify(
    store: Store,
    verifier: Verifier,
    *,
    progress: Callable[[int], None] | None = None,
    max_problems: int = 100,
) -> Report:
    """Check everything a ledger stores; see the module docstring. Never raises for tampering."""
    with store.read():
        return _verify(store, verifier, progress, max_problems)


def _verify(
    store: Store,
    verifier: Verifier,
    progress: Callable[[int], None] | None,
    max_problems: int,
) -> Report:
    report = Report()
    checkpoints = store.checkpoints()
    wanted_sizes = sorted({s for s, _ in checkpoints})
    roots: dict[int, Hash] = {}
    redactions: dict[str, int] = {}

    def problem(where: Where, at: str, message: str) -> None:
        if len(report.problems) < max_problems:
            report.problems.append(Problem(where, at, message))

    stored_vkey = store.get_meta("verifier_key")
    if stored_vkey is not None and stored_vkey != verifier.vkey:
        problem("key", "meta", f"the database names another verifier key ({stored_vkey})")

    # -- entries, their indexes and the tree, streamed ------------------------------------
    stored = store.iter_hashes()
    refs = _RefCheck(store, problem)
    anchors: list[tuple[int, Anchor]] = []
    size, count, front = 0, 0, list[Hash]()
    tree_ok = True
    if 0 in wanted_sizes:
        roots[0] = EMPTY_ROOT
    payloads = _Payloads(store)
    checks = _EntryCheck(verifier, wanted_sizes)
    for checked in map(checks.check, _tasks(store)):
        for p in checked.problems:
            problem(*p)
        if not checked.folded:  # the entries before a gap: the pass stops there
            problem("entry", str(size + checked.size), _MISSING)
            return _finish(report, store, size, roots, checkpoints, verifier, problem, False)
        for digest, idx in checked.redactions:
            redactions.setdefault(digest, idx)
        anchors += checked.anchors
        refs.check(checked.refs, checked.ids)
        payloads.check(checked, problem)
        got = list(islice(stored, len(checked.tree) // HASH_SIZE))
        if tree_ok and not _same(got, checked.tree):
            tree_ok = False
            _tree_problem(size, count, checked.tree, got, problem)
        size += checked.size
        count += len(checked.tree) // HASH_SIZE
        roots.update(checked.roots)
        front = checked.front
        report.entries = size
        if progress is not None:
            progress(size)
    if next(stored, None) is not None or count != stored_hash_count(size):
        problem("tree", str(count), "there are more stored tree hashes than entries need")
    refs.finish()
    for idx, anchor in anchors if tree_ok else ():
        root = tree_hash(anchor.size, hash_reader(store)).hex()
        if root != anchor.root:
            problem(
                "entry",
                str(idx),
                f"anchor holds root {anchor.root} at size {anchor.size}, but the log's root at "
                f"that size is {root}",
            )
    report.root = _root(front).hex() if size else EMPTY_ROOT.hex()

    # -- payloads --------------------------------------------------------------------------
    payloads.report(redactions, report, problem)
    uncommitted = [] if payloads.every() else store.uncommitted_payloads()
    for digest_bytes in uncommitted:
        problem("payload", digest_bytes.hex(), "payload is stored but no entry commits to it")

    return _finish(report, store, size, roots, checkpoints, verifier, problem, tree_ok)


# -- the entry pass --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Task:
    """A batch of entries to check: their stored columns."""

    start: int
    """The index of the first entry."""
    keys: list[int]
    """The stored id keys."""
    entries: list[bytes]
    """The entry bytes."""
    payload_keys: list[int | None]
    """The stored payload keys."""
    kinds: list[str]
    """The stored kinds."""
    fold: bool
    """Whether to fold the entries into the tree (not the entries before a gap)."""


def _tasks(store: Store) -> Iterator[_Task]:
    """The log's entries in batches, up to the first one missing (a gap in the indexes)."""
    start = 0
    rows = store.iter_entries()
    while batch := list(islice(rows, _CHUNK)):
        gap = _gap(batch, start)
        if gap is not None:
            batch = batch[:gap]
        yield _Task(
            start,
            [r.key for r in batch],
            [r.entry for r in batch],
            [r.payload_key for r in batch],
            [r.kind for r in batch],
            gap is None,
        )
        if gap is not None:
            return
        start += len(batch)


def _gap(batch: list[EntryRow], start: int) -> int | None:
    """The position in `batch` of the first entry whose leaf index is not the next one after
    `start` (an entry is missing before it), or None."""
    if [r.idx for r in batch] == list(range(start, start + len(batch))):
        return None
    return next(i for i, row in enumerate(batch) if row.idx != start + i)


@dataclass(slots=True)
class _Checked:
    """What the checks of one batch of entries found, and what the rest of the pass needs."""

    size: int
    """How many entries were checked ..."""
    folded: bool
    """... whether they were folded into the tree ..."""
    start: int
    """... and the index of the first."""
    problems: list[tuple[Where, str, str]] = field(default_factory=list)
    tree: bytes = b""
    """The tree hashes these entries add to the stored ones, concatenated, in stored order."""
    roots: dict[int, Hash] = field(default_factory=dict)
    """The tree's root at each checkpointed size these entries reach."""
    front: list[Hash] = field(default_factory=list)
    """The tree's frontier after these entries."""
    committed: list[int] = field(default_factory=list)
    """The index of each entry that commits to a payload (empty if each does, see
    `committers`), ..."""
    digests: list[bytes | None] = field(default_factory=list)
    """... the payload's digest (None where it is not lower-case hex, see `odd`) ..."""
    payload_keys: list[int] = field(default_factory=list)
    """... and its key."""
    each_commits: bool = False
    odd: dict[int, str] = field(default_factory=dict)
    """The digests (by their place in `digests`) that are not lower-case hex, as logged."""
    misindexed: bool = False
    """Whether an entry is indexed under another payload than it commits to."""
    refs: list[tuple[int, list[EntryId]]] = field(default_factory=list)
    """(entry index, the ids it refers to) of each entry that refers to others."""
    ids: dict[str, int] = field(default_factory=dict)
    """The valid entries of the batch by id (hex), if `refs` is not empty."""
    redactions: list[tuple[str, int]] = field(default_factory=list)
    anchors: list[tuple[int, Anchor]] = field(default_factory=list)

    @property
    def committers(self) -> Sequence[int]:
        """The index of each entry that commits to a payload."""
        return range(self.start, self.start + self.size) if self.each_commits else self.committed


class _EntryCheck:
    """The checks of each entry on its own and against those before it, and the tree fold.

    An entry must parse and be canonical, and its stored id key, kind and payload key must be
    its bytes'; review entries are checked against those before them (`Reviews`), anchor-key
    entries against the log key, anchors against the bindings before them. The leaves are
    folded into the tree, with its root at each checkpointed size.
    """

    def __init__(self, verifier: Verifier, wanted_sizes: list[int]) -> None:
        self.verifier = verifier
        self.wanted_sizes = wanted_sizes
        self.reviews = Reviews()
        self.bindings: set[str] = set()
        self.size = 0
        self.front: list[Hash] = []

    def check(self, task: _Task) -> _Checked:
        """Check one batch; see `_Task`."""
        start, keys, payload_keys = task.start, task.keys, task.payload_keys
        entries, kinds = task.entries, task.kinds
        out = _Checked(len(entries), task.fold, start)
        problems = out.problems
        ids = [hashlib.sha256(e).digest() for e in entries]
        valid: list[int] = []
        for i, plain in enumerate(map(plain_record, entries)):
            idx = start + i
            if plain is None:
                if self._parsed(idx, entries[i], keys[i], payload_keys[i], kinds[i], ids[i], out):
                    valid.append(i)
                continue
            digest, parents = plain
            if int.from_bytes(ids[i][:8], "big", signed=True) != keys[i]:
                problems.append(("entry", str(idx), "entry bytes do not match their stored id"))
            if kinds[i] != "record":
                problems.append(("index", str(idx), f"indexed as a {kinds[i]} but is a record"))
            raw = bytes.fromhex(digest)
            payload_key = int.from_bytes(raw[:8], "big", signed=True)
            if payload_keys[i] != payload_key:
                problems.append(
                    ("index", str(idx), "indexed under another payload than it commits to")
                )
                out.misindexed = True
            out.committed.append(idx)
            out.digests.append(raw)
            out.payload_keys.append(payload_key)
            if parents:
                out.refs.append((idx, parents))
            valid.append(i)
        if out.refs:
            out.ids = {ids[i].hex(): start + i for i in valid}
        if len(out.committed) == len(entries):  # each entry does, in order
            out.committed, out.each_commits = [], True
        if task.fold:
            out.tree, out.roots = self._fold(list(map(leaf_hash, entries)))
            out.front = list(self.front)
        return out

    def _parsed(
        self,
        idx: int,
        entry: bytes,
        key: int,
        payload_key_stored: int | None,
        kind: str,
        sha: bytes,
        out: _Checked,
    ) -> bool:
        """Check one entry through its value; False if it is not a valid entry."""
        problems = out.problems
        try:
            obj, plain = _entry_json(entry)
            value = entry_from_json(obj)
            if not (plain and dumps_sorted(obj) == entry) and canonical(obj) != entry:
                problems.append(
                    ("entry", str(idx), "entry bytes are not canonical JSON (RFC 8785)")
                )
        except KeelError as exc:
            problems.append(("entry", str(idx), f"entry is not a valid keel entry: {exc}"))
            return False
        sha_hex = sha.hex()
        if key_of(sha) != key:
            problems.append(("entry", str(idx), "entry bytes do not match their stored id"))
        if not isinstance(value, Record):
            try:
                self.reviews.check(EntryId(sha_hex), value)
            except InputError as exc:
                problems.append(("entry", str(idx), str(exc)))
        if isinstance(value, AnchorKey):
            from keel.ledger.anchor import check_anchor_key  # few logs hold anchors

            try:
                check_anchor_key(value, self.verifier)
            except VerificationError as exc:
                problems.append(("entry", str(idx), str(exc)))
            self.bindings.add(sha_hex)
        elif isinstance(value, Anchor):
            if value.binding not in self.bindings:
                problems.append(
                    (
                        "entry",
                        str(idx),
                        f"anchor names {value.binding} as its key binding: no anchor-key entry "
                        "logged before it",
                    )
                )
            if value.size > idx:
                problems.append(("entry", str(idx), f"anchors size {value.size}, beyond the log"))
            else:
                out.anchors.append((idx, value))
        ref = payload_of(value)
        raw = None if ref is None else bytes.fromhex(ref.sha256)
        payload_key = None if raw is None else key_of(raw)
        if kind != value.kind:
            problems.append(("index", str(idx), f"indexed as a {kind} but is a {value.kind}"))
        if payload_key_stored != payload_key:
            problems.append(("index", str(idx), "indexed under another payload than it commits to"))
            out.misindexed = True
        if ref is not None and raw is not None and payload_key is not None:
            if raw.hex() != ref.sha256:
                out.odd[len(out.digests)] = ref.sha256
            out.committed.append(idx)
            out.digests.append(None if raw.hex() != ref.sha256 else raw)
            out.payload_keys.append(payload_key)
        if isinstance(value, Redaction):
            out.redactions.append((value.digest, idx))
        targets = references(value)
        if targets:
            out.refs.append((idx, targets))
        return True

    def _fold(self, leaves: list[Hash]) -> tuple[bytes, dict[int, Hash]]:
        """Append `leaves` to the tree: the stored hashes they add, and the roots at the
        checkpointed sizes they reach."""
        added: list[Hash] = []
        roots: dict[int, Hash] = {}
        wanted = self.wanted_sizes
        pos = 0
        while pos < len(leaves):
            stop = len(leaves)
            nxt = bisect_right(wanted, self.size)
            if nxt < len(wanted) and wanted[nxt] <= self.size + len(leaves) - pos:
                stop = pos + wanted[nxt] - self.size
            new, self.front = append_hashes(self.size, self.front, leaves[pos:stop])
            added += new
            self.size += stop - pos
            pos = stop
            if nxt < len(wanted) and wanted[nxt] == self.size:
                roots[self.size] = _root(self.front)
        return b"".join(added), roots


# -- where the entry checks run --------------------------------------------------------------


class _Payloads:
    """The stored payloads, read in one ordered pass before the entries: each one's key and
    digest, so that the entries' commitments are looked up here rather than in the store
    (seeking keys at random costs more than the whole pass), and the rows whose bytes are gone
    or do not hash to their digest, for the redactions found in the entries to explain.

    A row whose key is not a 64-bit integer or whose digest is not 32 bytes (a damaged row)
    cannot be found by key, as in the store. Where a key is stored twice, the row stored last
    answers, as a lookup does.
    """

    def __init__(self, store: Store) -> None:
        import numpy as np  # a million keys, sorted once

        self.changed: list[tuple[int, bytes]] = []
        """(row, digest) of each row whose bytes do not hash to its digest ..."""
        self.gone: list[tuple[int, bytes]] = []
        """... and of each row whose bytes are gone."""
        self.count = 0
        keys = array("q")
        digests: list[bytes] = []
        unsized: list[int] = []
        damaged: list[int] = []
        rows = store.iter_payloads()
        while batch := list(islice(rows, _CHUNK)):
            start = self.count
            self.count += len(batch)
            digest = [row.digest for row in batch]
            data = [row.data for row in batch]
            hashed = [hashlib.sha256(d).digest() for d in data if d is not None]
            if len(hashed) < len(batch) or hashed != digest:
                for i, row in enumerate(batch, start):
                    if row.data is None:
                        self.gone.append((i, row.digest))
                    elif hashlib.sha256(row.data).digest() != row.digest:
                        self.changed.append((i, row.digest))
            blob = b"".join(digest)
            if len(blob) != len(batch) * HASH_SIZE:
                unsized += [i for i, d in enumerate(digest, start) if len(d) != HASH_SIZE]
                blob = b"".join(d if len(d) == HASH_SIZE else bytes(HASH_SIZE) for d in digest)
            digests.append(blob)
            try:
                keys.extend(array("q", [row.key for row in batch]))
            except (TypeError, OverflowError):
                for i, row in enumerate(batch, start):
                    int64 = type(row.key) is int and -(2**63) <= row.key < 2**63
                    keys.append(row.key if int64 else 0)
                    if not int64:
                        damaged.append(i)
        self.digests = np.frombuffer(b"".join(digests), np.uint8).reshape(-1, HASH_SIZE)
        """Each row's digest (zeros where it is not 32 bytes, see `sized`)."""
        self.sized = np.ones(self.count, bool)
        self.sized[unsized] = False
        findable = self.sized.copy()
        findable[damaged] = False
        self.damaged = not findable.all()
        by_row = np.frombuffer(keys, np.int64)
        self.rows = np.flatnonzero(findable)
        self.rows = self.rows[np.argsort(by_row[self.rows], kind="stable")]
        """The rows that can be found, in key order, ..."""
        self.keys = by_row[self.rows]
        """... and their keys."""
        self.found = ~findable
        """Whether each row was found under the key of a payload an entry commits to."""
        self.misindexed = False

    def check(self, checked: _Checked, problem: Callable[[Where, str, str], None]) -> None:
        """Each payload the entries commit to must be stored under its key with its digest
        (erased ones too: their digest stays)."""
        import numpy as np

        self.misindexed = self.misindexed or checked.misindexed
        if not checked.payload_keys:
            return
        wanted = np.array(checked.payload_keys, np.int64)
        order = np.argsort(wanted)  # sorted needles search the keys 6 times as fast
        at = np.empty_like(order)
        at[order] = np.searchsorted(self.keys, wanted[order], side="right") - 1
        hit = at >= 0
        hit[hit] = self.keys[at[hit]] == wanted[hit]
        rows = self.rows[at[hit]]
        self.found[rows] = True
        digests = cast("list[bytes]", checked.digests)  # None only where `odd` holds it
        if hit.all() and not checked.odd and self.digests[rows].tobytes() == b"".join(digests):
            return
        stored = iter(self.digests[rows])
        for i, (idx, raw) in enumerate(zip(checked.committers, checked.digests, strict=True)):
            digest = checked.odd[i] if raw is None else raw.hex()
            if not hit[i] or next(stored).tobytes().hex() != digest:
                problem("payload", digest, f"payload committed by entry {idx} is missing")

    def every(self) -> bool:
        """Whether the entries were found to commit to every stored payload, each entry indexed
        under the payload it commits to: then no payload is one that no entry is indexed under
        (the search for those, `Store.uncommitted_payloads`, would find none)."""
        return not self.misindexed and not self.damaged and bool(self.found.all())

    def report(
        self,
        redactions: dict[str, int],
        report: Report,
        problem: Callable[[Where, str, str], None],
    ) -> None:
        """Every stored payload's bytes must hash to its digest, unless a redaction entry
        erased them; erased bytes must be gone. Reported row by row, in storage order."""
        import numpy as np

        report.payloads = self.count
        erased = _by_digest(redactions)
        flagged = {*self.changed, *self.gone}
        if erased:  # the rows holding erased digests, found by their first 8 bytes first
            firsts = self.digests[:, :8].copy().view(">i8").ravel()
            near = np.isin(firsts, [key_of(d) for d in erased]) & self.sized
            for row in np.flatnonzero(near).tolist():
                digest = self.digests[row].tobytes()
                if digest in erased:
                    flagged.add((row, digest))
        gone = {i for i, _ in self.gone}
        for i, digest in sorted(flagged):
            erased_by = erased.get(digest)
            if i in gone:
                if erased_by is not None:
                    report.redacted.append(digest.hex())
                else:
                    problem("payload", digest.hex(), _GONE)
            elif erased_by is not None:
                problem(
                    "payload", digest.hex(), f"payload was redacted (entry {erased_by}) but is back"
                )
            else:
                problem(
                    "payload", digest.hex(), "payload bytes do not match their digest (changed)"
                )


def _same(got: list[bytes], tree: bytes) -> bool:
    """Whether the stored hashes `got` are the hashes `tree` concatenates."""
    return (
        len(got) * HASH_SIZE == len(tree)
        and (not got or min(map(len, got)) == HASH_SIZE)
        and b"".join(got) == tree
    )


def _by_digest(redactions: dict[str, int]) -> dict[bytes, int]:
    """The redactions by the bytes of their digest: a stored digest is one of them when its
    hex is (a digest that is not lower-case hex is no stored digest's hex)."""
    out = {}
    for digest, idx in redactions.items():
        try:
            raw = bytes.fromhex(digest)
        except ValueError:
            continue
        if raw.hex() == digest:
            out[raw] = idx
    return out


def _tree_problem(
    size: int, count: int, tree: bytes, got: list[bytes], problem: Callable[[Where, str, str], None]
) -> None:
    """Name the first hash of `tree` (those of the leaves from `size` on, stored from index
    `count`) that its stored hash in `got` does not match: its entry if it is a leaf's."""
    new = [tree[o : o + HASH_SIZE] for o in range(0, len(tree), HASH_SIZE)]
    j = next(j for j, h in enumerate(new) if j >= len(got) or got[j] != h)
    leaf_at = {stored_hash_index(0, size + i) - count: size + i for i in range(j + 1)}
    if j in leaf_at:
        problem(
            "entry",
            str(leaf_at[j]),
            "entry does not hash to its stored leaf: the entry bytes (or the stored tree) "
            "changed after logging",
        )
    else:
        problem("tree", str(count + j), "stored tree hash does not match the entries")


def _entry_json(entry: bytes) -> tuple[JSON, bool]:
    """`loads` of entry bytes (InputError as `parse_entry` says it), and whether the value's
    plain sorted dump is its canonical form: no floats (their text is ECMAScript's in RFC
    8785), ASCII only (no keys needing UTF-16 order) and too few brackets to nest beyond
    MAX_DEPTH. Otherwise (or where the dump differs) `canonical` decides."""
    first = entry[:1]
    plain = not (first.isdigit() or first == b"-") and _FLOAT_OR_LONG.search(entry) is None
    try:
        obj = orjson.loads(entry) if plain else loads(entry)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"entry is not JSON: {exc}") from exc
    plain = plain and entry.isascii() and entry.count(b"{") + entry.count(b"[") <= MAX_DEPTH
    return obj, plain


class _RefCheck:
    """Compares the stored reference index with the references the entry bytes make.

    An entry's references (a record's parents, a verdict's record, a run's mix) are indexed
    when they name an entry logged before it; both sides are walked in (source, target) order.
    """

    def __init__(self, store: Store, problem: Callable[[Where, str, str], None]) -> None:
        self.store = store
        self.problem = problem
        self.stored = store.iter_refs()
        self.ok = True

    def check(self, refs: list[tuple[int, list[EntryId]]], here: dict[str, int]) -> None:
        """`refs`: (index, ids it refers to) of the entries of a batch that refer to others, in
        order; `here`: the batch's valid entries by id."""
        wanted: set[str] = {r for _, targets in refs for r in targets}
        where = self._resolve(wanted, here)
        for idx, ids in refs:
            targets = sorted(t for r in ids if (t := where.get(r)) is not None and t < idx)
            for target in targets:
                self._expect((idx, target))

    def _resolve(self, ids: set[str], here: dict[str, int]) -> dict[str, int]:
        out = {i: here[i] for i in ids if i in here}
        rest = {key_of(bytes.fromhex(i)): i for i in ids if i not in here}
        for key, row in self.store.entries_by_key(list(rest)).items():
            if hashlib.sha256(row.entry).hexdigest() == rest[key]:
                out[rest[key]] = row.idx
        return out

    def _expect(self, pair: tuple[int, int]) -> None:
        got = next(self.stored, None)
        if self.ok and got != pair:
            self.ok = False
            source, target = pair if got is None or pair < got else got
            if got is None or pair < got:
                msg = f"refers to entry {target} but the reference index lacks it"
            else:
                msg = f"is indexed as referring to entry {target}, which its bytes do not say"
            self.problem("index", str(source), msg)

    def finish(self) -> None:
        extra = next(self.stored, None)
        if self.ok and extra is not None:
            self.ok = False
            self.problem(
                "index",
                str(extra[0]),
                f"is indexed as referring to entry {extra[1]}, which its bytes do not say",
            )


def _finish(
    report: Report,
    store: Store,
    size: int,
    roots: dict[int, Hash],
    checkpoints: list[tuple[int, bytes]],
    verifier: Verifier,
    problem: Callable[[Where, str, str], None],
    tree_ok: bool,
) -> Report:
    report.size = size
    prev: Checkpoint | None = None
    for seq, (stored_size, note) in enumerate(checkpoints):
        at = f"#{seq} (size {stored_size})"
        try:
            cp = open_checkpoint(note, verifier)
        except KeelError as exc:
            problem("checkpoint", at, f"signature does not verify with {verifier.name}: {exc}")
            continue
        report.checkpoints += 1
        if cp.size != stored_size:
            problem("checkpoint", at, f"signed size {cp.size} differs from the stored size")
        if cp.size > size:
            problem("checkpoint", at, f"signed for {cp.size} entries but the log has only {size}")
        elif cp.size in roots and roots[cp.size] != cp.root:
            problem("checkpoint", at, "signed root differs from the root of the stored entries")
        elif cp.size in roots:
            report.checkpoint_size = max(report.checkpoint_size, cp.size)
        if prev is not None:
            if cp.size < prev.size:
                problem("checkpoint", at, f"smaller than the checkpoint before it ({prev.size})")
            elif tree_ok and cp.size <= size:
                try:
                    proof = consistency_proof(prev.size, cp.size, hash_reader(store))
                    verify_consistency(prev.size, cp.size, proof, prev.root, cp.root)
                except KeelError as exc:
                    problem("checkpoint", at, f"not consistent with checkpoint {prev.size}: {exc}")
        prev = cp
    return report


def _root(front: list[Hash]) -> Hash:
    if not front:
        return EMPTY_ROOT
    h = front[-1]
    for left in reversed(front[:-1]):
        h = node_hash(left, h)
    return h


__all__ = ["Problem", "Report", "verify"]
