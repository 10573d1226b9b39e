"""Ingest records from JSONL, CSV or Parquet files into a ledger, in one transaction per file.

Each row becomes a Record entry; its text (or JSON value) becomes the payload. Row fields are
mapped by name (`FieldMap`), and command-line values fill what rows leave out (`Defaults`).
A malformed row fails the whole file with `file:line` and the reason; rows already logged are
reported with their existing ids, not appended again.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, cast

import orjson

from keel import jsonl
from keel.errors import InputError, KeelError
from keel.ledger.log import Appended, Ledger, Pending
from keel.records import (
    JSON,
    ORIGINS,
    SCHEMA_VERSION,
    Producer,
    as_digest,
    canonical,
    dumps_sorted,
    is_hex_digest,
    parse_json,
)

Format = Literal["jsonl", "csv", "parquet"]
_SUFFIXES: dict[str, Format] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_MAX_SAFE_INT = 2**53 - 1
_ORIGIN_JSON: dict[str, bytes] = {o: orjson.dumps(o) for o in ORIGINS}
_INTEGER = re.compile(r"-?[0-9]{1,16}")


@dataclass(frozen=True, slots=True)
class FieldMap:
    """Which row field holds each part of a record (a field absent from a row is left out)."""

    text: str = "text"
    json: str | None = None
    id: str | None = None
    parents: str = "parents"
    origin: str = "origin"
    author: str = "author"
    producer: str = "producer"
    generation: str = "generation"
    tags: str = "tags"

    @property
    def mapped(self) -> tuple[tuple[str, str], ...]:
        """The (part, column) pairs named away from the defaults: each must exist in the file."""
        default = FieldMap()
        return tuple(
            (f.name, column)
            for f in fields(self)
            if (column := getattr(self, f.name)) is not None and column != getattr(default, f.name)
        )

    @classmethod
    def parse(cls, pairs: list[str]) -> FieldMap:
        """Build from `part=column` strings (the CLI's repeatable --field)."""
        names = {f.name for f in fields(cls)}
        mapping: dict[str, str] = {}
        for pair in pairs:
            part, sep, column = pair.partition("=")
            if not sep or part not in names or not column:
                raise InputError(
                    f"--field {pair!r}: expected PART=COLUMN, "
                    f"PART one of {', '.join(sorted(names))}"
                )
            mapping[part] = column
        return cls(**mapping)


@dataclass(frozen=True, slots=True)
class Defaults:
    """Values for every row that does not carry its own."""

    origin: str | None = None
    producer: Producer | None = None
    generation: int | None = None
    author: str | None = None
    tags: Mapping[str, JSON] = field(default_factory=dict)


@dataclass(slots=True)
class IngestReport:
    """What an ingest did: rows read, entries appended, rows that were already logged."""

    path: str
    rows: int = 0
    appended: int = 0
    existing: int = 0
    ids: list[str] = field(default_factory=list)
    existing_ids: list[str] = field(default_factory=list)


def detect_format(path: Path, fmt: str | None = None) -> Format:
    """The file format from `fmt` or the file's suffix."""
    if fmt is not None:
        if fmt not in ("jsonl", "csv", "parquet"):
            raise InputError(f"--format must be jsonl, csv or parquet, got {fmt!r}")
        return cast(Format, fmt)
    found = _SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise InputError(f"{path}: cannot tell the format from the suffix; pass --format")
    return found


def read_rows(path: Path, fmt: Format) -> Iterator[tuple[int, int, dict[str, object]]]:
    """Yield (line or row number, bytes consumed, row) from a data file."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if fmt == "jsonl":
        yield from jsonl.objects(path)
    elif fmt == "csv":
        yield from _csv_rows(path)
    else:
        yield from _parquet_rows(path)


def _csv_rows(path: Path) -> Iterator[tuple[int, int, dict[str, object]]]:
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        reader = csv.DictReader(text)
        try:
            _unique_columns(reader.fieldnames or [], f"{path}:1")
            for row in reader:
                if None in row:
                    raise InputError(f"{path}:{reader.line_num}: more values than header columns")
                clean = {k: v for k, v in row.items() if v not in (None, "")}
                yield reader.line_num, 0, clean
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}:{reader.line_num + 1}: not UTF-8: {exc.reason}") from exc
        except csv.Error as exc:
            raise InputError(f"{path}:{reader.line_num}: malformed CSV: {exc}") from exc


def _parquet_rows(path: Path) -> Iterator[tuple[int, int, dict[str, object]]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        names = pf.schema_arrow.names
        _unique_columns(names, str(path))
        n = 0
        for batch in pf.iter_batches(batch_size=8192):
            columns = [
                _pylist(column, name, path, n)
                for name, column in zip(names, batch.columns, strict=True)
            ]
            for values in zip(*columns, strict=True):
                n += 1
                yield n, 0, {k: v for k, v in zip(names, values, strict=True) if v is not None}
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: not a readable Parquet file: {exc}") from exc


def _pylist(column: Any, name: str, path: Path, before: int) -> list[object]:
    """The Python values of a Parquet column; a string that is not UTF-8 is named by its row."""
    try:
        return cast(list[object], column.to_pylist())
    except UnicodeDecodeError:
        for i in range(len(column)):
            try:
                column[i].as_py()
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{path}:row {before + i + 1}: column {name!r} is not UTF-8: {exc.reason}"
                ) from exc
        raise


def _unique_columns(names: Sequence[str], where: str) -> None:
    repeated = [name for name, n in Counter(names).items() if n > 1]
    if repeated:
        raise InputError(f"{where}: column {repeated[0]!r} appears twice; rename one")


class RowBuilder:
    """Turns rows into pending Record entries: the per-row hot path of ingest.

    It builds exactly the entry that `keel.records.text_record` / `json_record` would, without
    the generic machinery: constant parts are canonicalised once, per-row values are checked
    to be strings and safe integers, so orjson's sorted output is RFC 8785 (see canonical()).
    """

    def __init__(
        self,
        fields_: FieldMap,
        defaults: Defaults,
        resolve: Callable[[list[str]], dict[str, str]] | None = None,
        *,
        text_cells: bool = False,
    ) -> None:
        self.f = fields_
        self.d = defaults
        self._resolve = resolve
        self._text_cells = text_cells
        self._aliases: dict[str, str] = {}
        if defaults.origin is not None and defaults.origin not in ORIGINS:
            raise InputError(
                f"--origin must be one of {', '.join(ORIGINS)}, got {defaults.origin!r}"
            )
        self._producer = (
            orjson.Fragment(canonical(defaults.producer.to_json()))
            if defaults.producer is not None
            else None
        )
        self._tags = dict(defaults.tags)
        self._template = self._entry_template()

    def _entry_template(self) -> tuple[bytes, bytes] | None:
        """The constant bytes around a plain text record's per-row fields, or None (JSON mode).

        A row with none of the parents, producer, generation and tags fields gets exactly the
        entry the generic path would build, with keys in RFC 8785 order: [author], [generation],
        kind, origin, payload, [producer], [tags], v; only author, origin and payload vary.
        """
        if self.f.json is not None or self.f.id is not None:
            return None  # JSON payloads and external ids take the generic path
        generation = b""
        if self.d.generation is not None:
            try:
                generation = b'"generation":%d,' % _int(self.d.generation, self.f.generation)
            except InputError:
                return None  # the generic path reports it with the row's place
        tail = b""
        if self._producer is not None:
            tail += b',"producer":' + orjson.dumps(self._producer)
        if self._tags:
            tail += b',"tags":' + canonical(cast(JSON, self._tags))
        return generation + b'"kind":"record","origin":', tail + b',"v":%d}' % SCHEMA_VERSION

    def _structured(self, value: object, name: str) -> object:
        """A row's part as a value: text cells (CSV, Parquet strings) may hold JSON text; a
        typed value (a JSONL field, a Python row) is taken as it is."""
        return _json_text(value, name) if self._text_cells else value

    def build(self, row: Mapping[str, object], where: str) -> Pending:
        f = self.f
        try:
            template = self._template
            if (
                template is not None
                and f.parents not in row
                and f.producer not in row
                and f.generation not in row
                and f.tags not in row
            ):
                return self._from_template(row, template)
            if f.json is not None:
                if f.json not in row:
                    raise InputError(f"no {f.json!r} field (the JSON payload)")
                data = _canonical(self._structured(row[f.json], f.json), f.json)
                ptype = "json"
            else:
                data = self._text(row)
                ptype = "text"
            digest = hashlib.sha256(data).digest()
            entry: dict[str, object] = {
                "kind": "record",
                "v": SCHEMA_VERSION,
                "origin": self._origin(row),
                "payload": {"sha256": digest.hex(), "size": len(data), "type": ptype},
            }
            author = row.get(f.author, self.d.author)
            if author is not None:
                entry["author"] = _string(author, f.author)
            producer = self._producer_of(row)
            if producer is not None:
                entry["producer"] = producer
            parents = self._parents_of(row)
            if parents:
                entry["parents"] = parents
            generation = row.get(f.generation, self.d.generation)
            if generation is not None:
                entry["generation"] = _int(generation, f.generation)
            tags = self._tags_of(row)
            if tags is not None:
                entry["tags"] = tags
            alias = None
            raw = dumps_sorted(entry)
            if f.id is not None:
                if row.get(f.id) is None:
                    state = "null" if f.id in row else "missing"
                    raise InputError(f"{f.id!r} (the external id) is {state}; give each row one")
                alias = str(row[f.id])
                if alias in self._aliases:
                    raise InputError(f"external id {alias!r} appears twice in this file")
                self._aliases[alias] = hashlib.sha256(raw).hexdigest()
            return Pending(
                raw,
                digest,
                data,
                tuple(parents),
                alias,
                "record",
            )
        except (KeelError, TypeError) as exc:
            raise InputError(f"{where}: {exc}") from exc

    def _from_template(self, row: Mapping[str, object], template: tuple[bytes, bytes]) -> Pending:
        """The entry of a plain text row, from the template: only author, origin and payload."""
        data = self._text(row)
        digest = hashlib.sha256(data).digest()
        author = row.get(self.f.author, self.d.author)
        raw = b"".join(
            (
                b"{"
                if author is None
                else b'{"author":' + orjson.dumps(_string(author, self.f.author)) + b",",
                template[0],
                _ORIGIN_JSON[self._origin(row)],
                b',"payload":{"sha256":"%s","size":%d,"type":"text"}'
                % (digest.hex().encode(), len(data)),
                template[1],
            )
        )
        return Pending(raw, digest, data)

    def _text(self, row: Mapping[str, object]) -> bytes:
        """The UTF-8 bytes of the row's text field."""
        text = row.get(self.f.text)
        if not isinstance(text, str):
            raise InputError(
                f"no {self.f.text!r} text field"
                if text is None
                else f"{self.f.text!r} is not a string"
            )
        return text.encode()

    def _parents_of(self, row: Mapping[str, object]) -> list[str]:
        """Parent ids, with external ids (from --field id) replaced by the keel ids they name."""
        parents = _parents(self._structured(row.get(self.f.parents), self.f.parents))
        names = [p for p in parents if not is_hex_digest(p) and p not in self._aliases]
        if names and self._resolve is not None:
            self._aliases.update(self._resolve(names))
        unknown = [p for p in parents if not is_hex_digest(p) and p not in self._aliases]
        if unknown:
            raise InputError(
                f"parent {unknown[0]!r} is neither a keel id nor an external id ingested "
                "with --field id=COLUMN"
            )
        return [p if is_hex_digest(p) else self._aliases[p] for p in parents]

    def _origin(self, row: Mapping[str, object]) -> str:
        origin = row.get(self.f.origin, self.d.origin)
        if origin is None:
            raise InputError(f"no {self.f.origin!r} field and no --origin given")
        if origin not in ORIGINS:
            raise InputError(f"origin must be one of {', '.join(ORIGINS)}, got {origin!r}")
        return cast(str, origin)

    def _producer_of(self, row: Mapping[str, object]) -> object:
        value = self._structured(row.get(self.f.producer), self.f.producer)
        if value is None:
            return self._producer
        producer = _producer(value, self.f.producer)
        return orjson.Fragment(_canonical(producer.to_json(), self.f.producer))

    def _tags_of(self, row: Mapping[str, object]) -> object:
        value = self._structured(row.get(self.f.tags), self.f.tags)
        if value is not None and not isinstance(value, dict):
            raise InputError(f"{self.f.tags!r} must be a JSON object")
        merged = {**self._tags, **(value or {})}
        return orjson.Fragment(_canonical(merged, self.f.tags)) if merged else None


def _string(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise InputError(f"{name!r} must be a string")
    return value


def _json_text(value: object, name: str) -> object:
    """A part that came as JSON text in a text cell: parse `[...]` / `{...}`."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return parse_json(value, name)
        except orjson.JSONDecodeError as exc:
            raise InputError(f"{name!r} is not valid JSON: {exc}") from exc
    return value


def _canonical(value: object, name: str) -> bytes:
    """canonical(value), its refusals naming the row field `name` the value came from."""
    try:
        return canonical(cast(JSON, value))
    except InputError as exc:
        raise InputError(f"{name}: {exc}") from exc


def _producer(value: object, name: str) -> Producer:
    """A producer from a model name or an object {model, version, params, prompt_sha256}."""
    if isinstance(value, str):
        return Producer(value)
    if not isinstance(value, dict) or not isinstance(value.get("model"), str):
        raise InputError(f"{name!r} must be a model name or an object with a 'model'")
    allowed = {"model", "version", "params", "prompt_sha256"}
    extra = set(value) - allowed
    if extra:
        raise InputError(f"producer has unknown fields {sorted(extra)}; allowed: {sorted(allowed)}")
    version, params, prompt = (
        value.get("version"),
        value.get("params") or {},
        value.get("prompt_sha256"),
    )
    if version is not None and not isinstance(version, str):
        raise InputError("producer version must be a string")
    if not isinstance(params, dict):
        raise InputError("producer params must be a JSON object")
    digest = None if prompt is None else as_digest(prompt, "producer prompt_sha256")
    return Producer(value["model"], version, params, digest)


def _int(value: object, name: str) -> int:
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        value = int(value)
    if type(value) is not int or not -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
        raise InputError(f"{name!r} must be an integer, got {value!r}")
    return value


def _parents(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        items: list[object] = [p for p in value.replace(",", " ").split() if p]
    elif isinstance(value, list):
        items = value
    else:
        raise InputError("parents must be a list of ids or a string of ids")
    out = []
    for p in items:
        if not isinstance(p, str) or not p:
            raise InputError(f"parent {p!r} is not an id")
        out.append(p.lower() if is_hex_digest(p.lower()) else p)
    return out


def ingest(
    ledger: Ledger,
    path: Path,
    *,
    fields_: FieldMap | None = None,
    defaults: Defaults | None = None,
    fmt: str | None = None,
    allow_unknown_parents: bool = False,
    keep_ids: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """Append every row of `path` as a record, in one transaction; see the module docstring.

    `progress(rows, bytes)` is called as rows are read. With `keep_ids=False` only counts are
    kept (for files of millions of rows).
    """
    kind = detect_format(path, fmt)
    builder = RowBuilder(
        fields_ or FieldMap(),
        defaults or Defaults(),
        ledger.resolve_aliases,
        text_cells=kind != "jsonl",
    )
    report = IngestReport(str(path))
    consumed = 0

    absent = {column for _, column in builder.f.mapped}
    found: set[str] = set()

    def pending() -> Iterator[Pending]:
        nonlocal consumed
        place = f"{path}:" if kind != "parquet" else f"{path}:row "
        build = builder.build
        for lineno, nbytes, row in read_rows(path, kind):
            report.rows += 1
            consumed += nbytes
            if progress is not None and report.rows % 4096 == 0:
                progress(report.rows, consumed)
            if absent:
                absent.difference_update(row)
                found.update(row)
            yield build(row, place + str(lineno))
        if absent:  # raised inside the transaction: nothing is appended
            part, column = next((p, c) for p, c in builder.f.mapped if c in absent)
            raise InputError(
                f"{path}: no row has a value in column {column!r} (--field {part}={column}); "
                f"columns found: {', '.join(sorted(found)) or 'none'}. Nothing was appended: "
                "fix the mapping and ingest again"
            )

    def collect(chunk: list[Appended]) -> None:
        if not keep_ids:
            new = sum(a.new for a in chunk)
            report.appended += new
            report.existing += len(chunk) - new
            return
        for a in chunk:
            if a.new:
                report.appended += 1
                report.ids.append(a.id)
            else:
                report.existing += 1
                report.existing_ids.append(a.id)

    ledger.append(pending(), allow_unknown_refs=allow_unknown_parents, on_chunk=collect)
    if progress is not None:
        progress(report.rows, consumed)
    return report


__all__ = [
    "Defaults",
    "FieldMap",
    "IngestReport",
    "RowBuilder",
    "detect_format",
    "ingest",
    "read_rows",
]
