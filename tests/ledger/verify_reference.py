"""The entry pass of `keel.ledger.verify` as it was before its fast paths (issue 20: plain
records checked from their bytes, the tree compared batch by batch), kept unchanged but for its
imports: the reference that `test_verify_fast.py` holds the fast paths to. Every report must be
the same, problem for problem, in the same order. The parts the fast paths left as they were
(`_entry_json`, `_finish`, `_root`) are imported from keel.ledger.verify.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator

from keel.errors import InputError, KeelError, VerificationError
from keel.ledger.merkle import (
    EMPTY_ROOT,
    Hash,
    append_hashes,
    leaf_hash,
    stored_hash_count,
    stored_hash_index,
    tree_hash,
)
from keel.ledger.note import Verifier
from keel.ledger.signed import Reviews
from keel.ledger.store import EntryRow, Store, hash_reader, key_of
from keel.ledger.verify import Problem, Report, Where, _entry_json, _finish, _root
from keel.records import (
    Anchor,
    AnchorKey,
    Entry,
    EntryId,
    Record,
    Redaction,
    canonical,
    dumps_sorted,
    entry_from_json,
    payload_of,
    references,
)

_CHUNK = 16384
# A number with a fraction or an exponent, or of 16 digits or more (`records.loads` reads
# those as floats), where canonical JSON puts numbers: after `:`, `,` or `[` (or first, which
# `_entry_json` checks apart: an alternation with `^` triples the search's time).
_FLOAT_OR_LONG = re.compile(rb"[:,\[]-?\d(?:\d*[.eE]|\d{15})")


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
    reviews = Reviews()
    bindings: set[str] = set()
    anchors: list[tuple[int, Anchor]] = []
    size, count, front = 0, 0, list[Hash]()
    tree_ok = True
    if 0 in wanted_sizes:
        roots[0] = EMPTY_ROOT
    for batch in _batches(store, _CHUNK):
        leaves: list[Hash] = []
        committed: list[tuple[int, str, int]] = []
        parsed: list[tuple[EntryRow, Entry, str]] = []
        for row in batch:
            if row.idx != size + len(leaves):
                problem("entry", str(size + len(leaves)), "entry is missing (deleted from the log)")
                return _finish(report, store, size, roots, checkpoints, verifier, problem, False)
            leaves.append(leaf_hash(row.entry))
            try:
                obj, plain = _entry_json(row.entry)
                value = entry_from_json(obj)
                if not (plain and dumps_sorted(obj) == row.entry) and canonical(obj) != row.entry:
                    problem("entry", str(row.idx), "entry bytes are not canonical JSON (RFC 8785)")
            except KeelError as exc:
                problem("entry", str(row.idx), f"entry is not a valid keel entry: {exc}")
                continue
            sha = hashlib.sha256(row.entry).digest()
            sha_hex = sha.hex()
            if key_of(sha) != row.key:
                problem("entry", str(row.idx), "entry bytes do not match their stored id")
            if not isinstance(value, Record):
                try:
                    reviews.check(EntryId(sha_hex), value)
                except InputError as exc:
                    problem("entry", str(row.idx), str(exc))
            if isinstance(value, AnchorKey):
                from keel.ledger.anchor import check_anchor_key  # few logs hold anchors

                try:
                    check_anchor_key(value, verifier)
                except VerificationError as exc:
                    problem("entry", str(row.idx), str(exc))
                bindings.add(sha_hex)
            elif isinstance(value, Anchor):
                if value.binding not in bindings:
                    problem(
                        "entry",
                        str(row.idx),
                        f"anchor names {value.binding} as its key binding: no anchor-key entry "
                        "logged before it",
                    )
                if value.size > row.idx:
                    problem("entry", str(row.idx), f"anchors size {value.size}, beyond the log")
                else:
                    anchors.append((row.idx, value))
            ref = payload_of(value)
            payload_key = None if ref is None else key_of(bytes.fromhex(ref.sha256))
            if row.kind != value.kind:
                problem("index", str(row.idx), f"indexed as a {row.kind} but is a {value.kind}")
            if row.payload_key != payload_key:
                problem("index", str(row.idx), "indexed under another payload than it commits to")
            if ref is not None and payload_key is not None:
                committed.append((row.idx, ref.sha256, payload_key))
            if isinstance(value, Redaction):
                redactions.setdefault(value.digest, row.idx)
            parsed.append((row, value, sha_hex))
        refs.check(parsed)
        held = store.payloads_by_key([k for _, _, k in committed])
        for idx, digest, k in committed:
            got = held.get(k)
            if got is None or got.digest.hex() != digest:
                problem("payload", digest, f"payload committed by entry {idx} is missing")
        # fold leaves in, stopping at every checkpointed size to record its root
        pos = 0
        while pos < len(leaves):
            stop = len(leaves)
            for s in wanted_sizes:
                if size < s <= size + len(leaves) - pos:
                    stop = pos + (s - size)
                    break
            part = leaves[pos:stop]
            new, front = append_hashes(size, front, part)
            leaf_at = {stored_hash_index(0, size + i) - count: size + i for i in range(len(part))}
            for j, h in enumerate(new):
                got = next(stored, None)
                if tree_ok and got != h:
                    tree_ok = False
                    if j in leaf_at:
                        problem(
                            "entry",
                            str(leaf_at[j]),
                            "entry does not hash to its stored leaf: the entry bytes (or the "
                            "stored tree) changed after logging",
                        )
                    else:
                        problem(
                            "tree", str(count + j), "stored tree hash does not match the entries"
                        )
            size += len(part)
            count += len(new)
            pos = stop
            if size in wanted_sizes:
                roots[size] = _root(front)
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
    for prow in store.iter_payloads():
        digest = prow.digest.hex()
        report.payloads += 1
        erased_by = redactions.get(digest)
        if prow.data is None:
            if erased_by is not None:
                report.redacted.append(digest)
            else:
                problem("payload", digest, "payload bytes are gone but no redaction entry says why")
        elif erased_by is not None:
            problem("payload", digest, f"payload was redacted (entry {erased_by}) but is back")
        elif hashlib.sha256(prow.data).hexdigest() != digest:
            problem("payload", digest, "payload bytes do not match their digest (changed)")
    for digest_bytes in store.uncommitted_payloads():
        problem("payload", digest_bytes.hex(), "payload is stored but no entry commits to it")

    return _finish(report, store, size, roots, checkpoints, verifier, problem, tree_ok)


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

    def check(self, parsed: list[tuple[EntryRow, Entry, str]]) -> None:
        """`parsed`: each entry's row, value and id (hex)."""
        wanted: set[str] = {r for _, value, _ in parsed for r in references(value)}
        where = self._resolve(wanted, parsed)
        for row, value, _ in parsed:
            targets = sorted(
                t for r in references(value) if (t := where.get(r)) is not None and t < row.idx
            )
            for target in targets:
                self._expect((row.idx, target))

    def _resolve(self, ids: set[str], parsed: list[tuple[EntryRow, Entry, str]]) -> dict[str, int]:
        here = {sha_hex: row.idx for row, _, sha_hex in parsed}
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


def _batches(store: Store, n: int) -> Iterator[list[EntryRow]]:
    batch: list[EntryRow] = []
    for row in store.iter_entries():
        batch.append(row)
        if len(batch) == n:
            yield batch
            batch = []
    if batch:
        yield batch


__all__ = ["verify"]
