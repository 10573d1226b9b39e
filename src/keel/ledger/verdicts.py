"""Bulk verdicts: rows of CSV, JSONL or Parquet files (or of an eval tool's log) appended as
verdict entries in one transaction, all or nothing.

`read_verdicts` maps a file's columns to the parts of a verdict (`VERDICT_FIELDS`, a `Fields`:
record, judge, kind, label, score, rationale, rubric) and yields one `VerdictRow` per row,
read by `keel._input.read_rows`; adapters for other sources (`keel.judges.evals`: Inspect AI
and lm-evaluation-harness logs) yield the same rows. `import_verdicts` finds each row's record,
checks every row, and appends the verdicts in one `Ledger.append`; if any row cannot be logged
it raises `VerdictImportError` naming it (file:line) and appends nothing.

How a row names its record (`RecordRef`, tried in order; the first that names a record wins):

- a value of 64 hex digits (any case) is an entry id, else the SHA-256 of a record's payload
  (its text's UTF-8 bytes, as `keel ledger find` reads it), else an external id;
- any other value is an external id (`keel ingest --field id=COLUMN`);
- an adapter may add a payload digest computed from a text (Inspect's sample input).

The entry found must be a record; a digest must name exactly one record. Lookups are batched
(one query a few thousand rows for ids and external ids) and run inside the append's
transaction, so a concurrent writer cannot change what they see; each verdict's link to its
record (the reference index) is written from that lookup (`import_verdicts`).

Idempotence comes from the ledger: an entry id is the hash of its bytes, so a verdict identical
to one already logged (or repeated in the files) comes back from `Ledger.append` as not new and
is counted in `existing`, not appended again.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Literal

import orjson

from keel._input import ROW_FORMATS, Fields, detect_format, read_rows, where
from keel.errors import InputError, KeelError
from keel.ledger.log import Appended, Ledger, Pending
from keel.ledger.store import key_of
from keel.records import (
    ENTRY_VERSION,
    JUDGE_KINDS,
    EntryId,
    Record,
    es6_number,
    is_hex_digest,
)

VERDICT_FIELDS = Fields.of(
    record="record",
    judge="judge",
    kind="kind",
    label="label",
    score="score",
    rationale="rationale",
    rubric="rubric",
)
"""Which column holds each part of a verdict. `record` (an id, external id or payload digest)
is needed in every row; `judge` too unless a default judge is given; the rest is optional."""

Found = Literal["id", "external id", "digest"]
"""How a row's record was found: its entry id, its external id, or its payload's digest."""

BATCH = 4096
"""Rows whose records are looked up together."""
_MAX_KEPT = 1000
"""Problems kept on a `VerdictImportError` (all are counted)."""
_CACHE = 32_768
"""Record lookups remembered across batches (a record judged many times is looked up once)."""
_dumps = orjson.dumps
_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


@dataclass(frozen=True, slots=True)
class RecordRef:
    """One way a row names its record. `by="any"`: `value` is an entry id, a payload digest or
    an external id (the module docstring's rule); `by="digest"`: a payload digest only (one an
    adapter computed from a text). `what` says where the value came from, for messages."""

    value: str
    by: Literal["any", "digest"] = "any"
    what: str = ""

    def __hash__(self) -> int:  # the value's own (cached) hash: refs are looked up per row
        return hash(self.value)


@dataclass(frozen=True, slots=True)
class VerdictRow:
    """One verdict as read, before its record is found. `where` is ``file:line`` (or an
    adapter's place, e.g. ``log.eval:sample 3``). At most one of `problem` (what is malformed:
    the import is refused) and `skipped` (why the row is no verdict, e.g. an errored sample:
    counted, not logged) is set."""

    where: str
    refs: tuple[RecordRef, ...] = ()
    judge: str = ""
    kind: str = "ai"
    label: str | None = None
    score: float | None = None
    rubric: str | None = None
    rationale: str | None = None
    problem: str | None = None
    skipped: str | None = None


@dataclass(frozen=True, slots=True)
class VerdictImport:
    """What an import did: rows read (skipped ones included), verdicts appended and already in
    the ledger (or repeated in the files), the ids of the verdicts in row order (when asked
    for), rows skipped by reason, and how the records were found."""

    rows: int
    appended: int
    existing: int
    ids: tuple[EntryId, ...] = ()
    skipped: Mapping[str, int] = field(default_factory=dict)
    found: Mapping[str, int] = field(default_factory=dict)


class VerdictImportError(InputError):
    """Rows that cannot be logged (unknown or ambiguous record, bad score, no judge...): the
    first is named in the message with how many others there are; `problems` keeps the first
    1,000 (``file:line: why``) and `count` all of them. Nothing was appended."""

    def __init__(self, problems: Sequence[str], count: int) -> None:
        self.problems = tuple(problems)
        self.count = count
        more = ""
        if count > 1:
            places = ", ".join(p.split(": ", 1)[0] for p in self.problems[1:4])
            more = f"; {count - 1:,} more row(s) cannot be imported ({places}" + (
                ", ...)" if count > 4 else ")"
            )
        super().__init__(
            f"{self.problems[0]}{more}. Nothing was appended: fix the rows and import again"
        )


# -- reading ---------------------------------------------------------------------------------
def read_verdicts(
    path: Path,
    fields: Fields = VERDICT_FIELDS,
    *,
    judge: str | None = None,
    kind: str = "ai",
    fmt: str | None = None,
) -> Iterator[VerdictRow]:
    """The verdicts of a CSV, JSONL or Parquet file, one a row. `judge` and `kind` are the
    defaults for rows without their own. A malformed row is a `VerdictRow` with a `problem`;
    a file that cannot be read, or in which no row has a value in a column the mapping needs
    (the record's, the judge's when there is no default, any the user named), is an
    `InputError` naming the column and the columns found."""
    kind_ = detect_format(path, fmt, formats=ROW_FORMATS)
    roles = ("record", "judge", "kind", "label", "score", "rubric", "rationale")
    columns = tuple(fields.get(role) for role in roles)
    need = ("record",) if judge else ("record", "judge")
    absent = {c for role in (*fields.given, *need) for c in fields.names(role)}
    found: set[str] = set()
    rows = 0
    for lineno, _, row in read_rows(path, kind_):
        rows += 1
        if absent:
            absent.difference_update(row)
            found.update(row)
        yield _verdict_row(row, where(path, kind_, lineno), columns, judge, kind)
    if rows and absent:
        found_, place, hint = sorted(found), str(path), ""
        empty = "no row has a value in column"
        try:
            fields.check(found_, place, need=("record",), absent=empty)
            if not judge:
                hint = " (or pass --judge NAME)"
                fields.check(found_, place, need=("judge",), absent=empty)
            hint = ""
            fields.check(found_, place, absent=empty)
        except InputError as exc:
            raise InputError(
                f"{exc}{hint}. Nothing was appended: fix the mapping and import again"
            ) from None


def _verdict_row(
    row: dict[str, object],
    place: str,
    columns: tuple[str | None, ...],
    judge: str | None,
    kind: str,
) -> VerdictRow:
    """A row's verdict; the common row (text cells, a float or no score) without the checks'
    calls, any other through `_checked_row`."""
    c_record, c_judge, c_kind, c_label, c_score, c_rubric, c_rationale = columns
    get = row.get
    ref, who, label = get(c_record), get(c_judge), get(c_label)  # type: ignore[arg-type]
    score, rubric, why = get(c_score), get(c_rubric), get(c_rationale)  # type: ignore[arg-type]
    chosen = get(c_kind)  # type: ignore[arg-type]
    if (
        type(ref) is str
        and (ref := ref.strip())
        and (type(who) is str or who is None)
        and (who or judge)
        and (type(chosen) is str or chosen is None)
        and (type(label) is str or label is None)
        and ((type(score) is float and math.isfinite(score)) or score is None)
        and (type(rubric) is str or rubric is None)
        and (type(why) is str or why is None)
    ):
        return VerdictRow(
            place,
            (RecordRef(ref),),
            who or judge or "",
            chosen or kind,
            label or None,
            score,
            rubric or None,
            why or None,
        )
    return _checked_row(row, place, columns, judge, kind)


def _checked_row(
    row: dict[str, object],
    place: str,
    columns: tuple[str | None, ...],
    judge: str | None,
    kind: str,
) -> VerdictRow:
    """A row's verdict with every cell checked, or the row with its `problem`."""
    c_record, c_judge, c_kind, c_label, c_score, c_rubric, c_rationale = columns
    try:
        ref = _cell(row, c_record, "record")
        if ref is None or not ref.strip():
            raise InputError(f"no {c_record!r} value (the record)")
        who = _cell(row, c_judge, "judge") or judge
        if not who:
            raise InputError(f"no {c_judge!r} value (the judge): fill it or pass --judge NAME")
        return VerdictRow(
            place,
            (RecordRef(ref.strip()),),
            who,
            _cell(row, c_kind, "kind") or kind,
            _cell(row, c_label, "label"),
            _score(row, c_score),
            _cell(row, c_rubric, "rubric"),
            _cell(row, c_rationale, "rationale"),
        )
    except InputError as exc:
        return VerdictRow(place, problem=str(exc))


def _cell(row: dict[str, object], name: str | None, role: str) -> str | None:
    """The text in column `name` (an integer reads as its digits: ids and labels such as 0/1
    often come as numbers); None when the column is unmapped or the cell empty."""
    if name is None:
        return None
    value = row.get(name)
    if type(value) is str:
        return value or None
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise InputError(f"{name!r} (the {role}) must be text, got {_shown(value)}")


def _score(row: dict[str, object], name: str | None) -> float | None:
    """A finite number, from a number or a text cell (CSV cells are text)."""
    if name is None:
        return None
    value = row.get(name)
    if value is None or value == "":
        return None
    number: float | None = None
    text = value.strip() if isinstance(value, str) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif text is not None and _NUMBER.fullmatch(text):
        number = float(text)
    if number is None or not math.isfinite(number):
        raise InputError(f"{name!r} (the score) must be a finite number, got {_shown(value)}")
    return number


def _shown(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- finding records -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Found:
    """A record a row names: its id, its leaf index, and how it was found (`Found`)."""

    id: EntryId
    index: int
    how: Found


_Lookup = _Found | str
"""The record a ref names, or why it names none."""


class _Records:
    """Finds the records rows name, a batch at a time, remembering what it found."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.store = ledger.store
        self.known: dict[RecordRef, _Lookup] = {}

    def prepare(self, refs: Iterable[RecordRef]) -> None:
        """Look up every ref not seen yet (ids and external ids: one query for all)."""
        known = self.known
        todo: dict[RecordRef, tuple[str, int]] = {}  # ref -> (its value in lower case, key)
        for ref in refs:
            if ref not in known and ref not in todo:
                value = ref.value.lower()
                hexed = ref.by == "any" and is_hex_digest(value)
                todo[ref] = (value, key_of(bytes.fromhex(value)) if hexed else -1)
        if not todo:
            return
        if len(known) + len(todo) > _CACHE:
            known.clear()
        rows = self.store.entries_by_key(sorted({k for _, k in todo.values() if k != -1}))
        aliases: list[RecordRef] = []
        for ref, (value, key) in todo.items():
            if ref.by == "digest":
                known[ref] = (
                    f"{ref.what or 'the digest'} {ref.value!r} is not 64 hex digits"
                    if not is_hex_digest(value)
                    else self._by_digest(value)
                    or f"no record has {ref.what or 'the payload'} (SHA-256 {value[:16]}...)"
                )
                continue
            if key != -1:
                row = rows.get(key)
                if row is not None and hashlib.sha256(row.entry).hexdigest() == value:
                    known[ref] = (
                        _Found(EntryId(value), row.idx, "id")
                        if row.kind == "record"
                        else f"{value} is a {row.kind} entry, not a record"
                    )
                    continue
                by_digest = self._by_digest(value)
                if by_digest is not None:
                    known[ref] = by_digest
                    continue
            aliases.append(ref)
        self._by_alias(aliases, todo)

    def _by_digest(self, digest: str) -> _Lookup | None:
        """The one record whose payload has this SHA-256; None if there is none."""
        found = {
            f.id: f.index for f in self.ledger.find_payload(digest) if isinstance(f.entry, Record)
        }
        if not found:
            return None
        if len(found) == 1:
            ((record, index),) = found.items()
            return _Found(record, index, "digest")
        listed = ", ".join(sorted(i[:12] for i in found)[:5])
        return (
            f"{len(found)} records have the payload with SHA-256 {digest[:16]}... ({listed}); "
            "name the one judged by its id"
        )

    def _by_alias(self, refs: list[RecordRef], todo: dict[RecordRef, tuple[str, int]]) -> None:
        if not refs:
            return
        names = self.store.aliases([r.value for r in refs])
        for ref in refs:
            idx = names.get(ref.value)
            row = None if idx is None else self.store.entry_at(idx)
            if row is None:
                hexed = todo[ref][1] != -1
                what = "id, payload digest or external id" if hexed else "external id"
                self.known[ref] = f"no record with {what} {ref.value!r} in this ledger"
            elif row.kind != "record":
                self.known[ref] = f"{ref.value!r} names a {row.kind} entry, not a record"
            else:
                record = EntryId(hashlib.sha256(row.entry).hexdigest())
                self.known[ref] = _Found(record, row.idx, "external id")

    def find(self, row: VerdictRow) -> _Lookup:
        """The first record a row's refs name, or why none does."""
        reasons: list[str] = []
        for ref in row.refs:
            found = self.known[ref]
            if not isinstance(found, str):
                return found
            reasons.append(found)
        return "; ".join(reasons) or "the row names no record"


# -- importing -------------------------------------------------------------------------------
def import_verdicts(
    ledger: Ledger,
    rows: Iterable[VerdictRow],
    *,
    keep_ids: bool = False,
    progress: Callable[[int], None] | None = None,
) -> VerdictImport:
    """Append a verdict for every row of `rows` in one transaction, after checking them all
    (module docstring). Any row with a problem or an unknown record raises
    `VerdictImportError`, and nothing is appended. `progress(rows)` is called as rows are
    checked; with `keep_ids` the verdicts' ids come back in row order (else only counts, for
    files of millions of rows).

    Each verdict carries its record's leaf index from the lookup already made in the append's
    transaction (`Pending.ref_indexes`): letting `Ledger.append` look every record up a second
    time costs a third of the import at a million verdicts."""
    records = _Records(ledger)
    problems: list[str] = []
    count = 0
    read = 0
    skipped: Counter[str] = Counter()
    found: Counter[str] = Counter()
    appended = existing = 0
    ids: list[EntryId] = []

    def checked(batch: list[VerdictRow]) -> Iterator[Pending]:
        nonlocal count, read
        for row in batch:
            read += 1
            if row.skipped is not None and row.problem is None:
                skipped[row.skipped] += 1
                continue
            result = _pending(row, records)
            if isinstance(result, str):
                count += 1
                if len(problems) < _MAX_KEPT:
                    problems.append(f"{row.where}: {result}")
            elif not problems:
                entry, how = result
                found[how] += 1
                yield entry
        if progress is not None:
            progress(read)

    def pending() -> Iterator[Pending]:
        it = iter(rows)
        while batch := list(islice(it, BATCH)):
            records.prepare(r for row in batch for r in row.refs)
            yield from checked(batch)
        if problems:  # raised inside the transaction: nothing is appended
            raise VerdictImportError(problems, count)

    def collect(chunk: list[Appended]) -> None:
        nonlocal appended, existing
        new = sum(a.new for a in chunk)
        appended += new
        existing += len(chunk) - new
        if keep_ids:
            ids.extend(a.id for a in chunk)

    ledger.append(pending(), on_chunk=collect)
    return VerdictImport(read, appended, existing, tuple(ids), dict(skipped), dict(found))


def _pending(row: VerdictRow, records: _Records) -> tuple[Pending, Found] | str:
    """The entry of a row and how its record was found, or the row's problem."""
    if row.problem is not None:
        return row.problem
    record = records.find(row)
    if isinstance(record, str):
        return record
    try:
        return verdict_pending(record.id, row, record.index), record.how
    except KeelError as exc:
        return str(exc)
    except (orjson.JSONEncodeError, UnicodeEncodeError) as exc:
        return f"text keel cannot log as UTF-8 ({exc})"


def verdict_pending(record: EntryId, row: VerdictRow, index: int | None = None) -> Pending:
    """The entry of a row's verdict on `record` (at leaf `index`, when the caller has looked
    it up: `Pending.ref_indexes`): the bytes `keel.records.verdict` and
    `entry_bytes` give, joined from their parts in RFC 8785 key order (judge {id, kind},
    kind, label, rationale {sha256, size, type}, record, rubric, score, v) without the generic
    walk: every part is a string orjson escapes as RFC 8785 does, `record` an id, the score a
    finite float written as ECMAScript does. A row without a judge, with
    a kind other than ai or expert, or with neither label nor score is an `InputError`."""
    if not row.judge:
        raise InputError("no judge")
    if row.kind not in JUDGE_KINDS:
        raise InputError(
            f"the judge kind must be one of {', '.join(JUDGE_KINDS)} (a person's verdict is "
            f"expert), got {_shown(row.kind)}"
        )
    if row.label is None and row.score is None:
        raise InputError("no label and no score: a verdict needs one or both")
    parts = [b'{"judge":{"id":', _dumps(row.judge), b',"kind":', _dumps(row.kind)]
    parts.append(b'},"kind":"verdict"')
    if row.label is not None:
        parts += (b',"label":', _dumps(row.label))
    data = digest = None
    if row.rationale is not None:
        data = row.rationale.encode()
        digest = hashlib.sha256(data).digest()
        parts.append(
            b',"rationale":{"sha256":"%s","size":%d,"type":"text"}'
            % (digest.hex().encode(), len(data))
        )
    if not is_hex_digest(record):
        raise InputError(f"a record id is 64 lower-case hex digits, got {record!r}")
    parts.append(b',"record":"%s"' % record.encode())
    if row.rubric is not None:
        parts += (b',"rubric":', _dumps(row.rubric))
    if row.score is not None:
        parts += (b',"score":', _es6(row.score).encode())
    parts.append(b',"v":%d}' % ENTRY_VERSION)
    indexes = None if index is None else (index,)
    return Pending(b"".join(parts), digest, data, (record,), None, "verdict", indexes)


def _es6(x: float) -> str:
    """`es6_number(x)`, without its Decimal walk where Python already agrees: an integral
    value up to 2**53 is its exact digits; repr writes any other 1e-4 <= |x| < 1e16 in fixed
    notation with the shortest round-trip digits, as ECMAScript does (up to 1e21)."""
    if x.is_integer():
        return str(int(x)) if abs(x) <= 2**53 else es6_number(x)
    if 1e-4 <= abs(x) < 1e16:
        return repr(x)
    return es6_number(x)


def read_files(
    paths: Sequence[Path],
    fields: Fields = VERDICT_FIELDS,
    *,
    judge: str | None = None,
    kind: str = "ai",
    fmt: str | None = None,
) -> Iterator[VerdictRow]:
    """The rows of every file of `paths` in turn (`read_verdicts`); each file's format is
    checked before any is read."""
    if not paths:
        raise InputError("no file given: name one or more CSV, JSONL or Parquet files")
    for path in paths:
        detect_format(path, fmt, formats=ROW_FORMATS)
    return (
        row
        for path in paths
        for row in read_verdicts(path, fields, judge=judge, kind=kind, fmt=fmt)
    )


__all__ = [
    "BATCH",
    "VERDICT_FIELDS",
    "Found",
    "RecordRef",
    "VerdictImport",
    "VerdictImportError",
    "VerdictRow",
    "import_verdicts",
    "read_files",
    "read_verdicts",
    "verdict_pending",
]
