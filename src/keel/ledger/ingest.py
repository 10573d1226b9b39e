"""Ingest records from JSONL, CSV or Parquet files, or a Hugging Face dataset on disk, into a
ledger, in one transaction per file or dataset.

Each row becomes a Record entry; its text (or JSON value) becomes the payload. Rows are read by
`keel._input.read_rows` (`ingest`) or `keel._input.read_hf_rows` (`ingest_hf`: a `save_to_disk`
folder or Parquet shards, streamed); their fields are mapped to the parts of a record by name
(`INGEST_FIELDS`, a `Fields`), and command-line values fill what rows leave out (`Defaults`).
A malformed row fails the whole file or dataset with `file:line` (`shard:row N`) and the
reason; rows already logged are reported with their existing ids, not appended again.
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import orjson

from keel._input import (
    ROW_FORMATS,
    Fields,
    Shards,
    detect_format,
    jsonl_lines,
    jsonl_row,
    read_hf_rows,
    read_rows,
    where,
)
from keel.errors import InputError, KeelError
from keel.ledger.log import Appended, Ledger, Pending
from keel.records import (
    ENTRY_VERSION,
    JSON,
    MAX_SAFE_INT,
    ORIGINS,
    Producer,
    as_digest,
    canonical,
    dumps_sorted,
    is_hex_digest,
    parse_json,
)
from keel.scale import Executor, chunked

_ORIGIN_JSON: dict[str, bytes] = {o: orjson.dumps(o) for o in ORIGINS}
_INTEGER = re.compile(r"-?[0-9]{1,16}")

INGEST_FIELDS = Fields.of(
    text="text",
    json=None,
    id=None,
    parents="parents",
    origin="origin",
    author="author",
    producer="producer",
    generation="generation",
    tags="tags",
)
"""Which row field holds each part of a record (a field absent from a row is left out); `json`
(a JSON payload instead of text) and `id` (an external id) are used only when mapped."""


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


class RowBuilder:
    """Turns rows into pending Record entries: the per-row hot path of ingest.

    It builds exactly the entry that `keel.records.text_record` / `json_record` would, without
    the generic machinery: constant parts are canonicalised once, per-row values are checked
    to be strings and safe integers, so orjson's sorted output is RFC 8785 (see canonical()).
    """

    def __init__(
        self,
        fields_: Fields,
        defaults: Defaults,
        resolve: Callable[[list[str]], dict[str, str]] | None = None,
        *,
        text_cells: bool = False,
    ) -> None:
        self.fields = fields_
        self.c = {role: c for role in fields_.columns if (c := fields_.get(role)) is not None}
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
        if "json" in self.c or "id" in self.c:
            return None  # JSON payloads and external ids take the generic path
        generation = b""
        if self.d.generation is not None:
            try:
                generation = b'"generation":%d,' % _int(self.d.generation, self.c["generation"])
            except InputError:
                return None  # the generic path reports it with the row's place
        tail = b""
        if self._producer is not None:
            tail += b',"producer":' + orjson.dumps(self._producer)
        if self._tags:
            tail += b',"tags":' + canonical(cast(JSON, self._tags))
        return generation + b'"kind":"record","origin":', tail + b',"v":%d}' % ENTRY_VERSION

    def _structured(self, value: object, name: str) -> object:
        """A row's part as a value: text cells (CSV, Parquet strings) may hold JSON text; a
        typed value (a JSONL field, a Python row) is taken as it is."""
        return _json_text(value, name) if self._text_cells else value

    def build(self, row: Mapping[str, object], where: str) -> Pending:
        f = self.c
        try:
            template = self._template
            if (
                template is not None
                and f["parents"] not in row
                and f["producer"] not in row
                and f["generation"] not in row
                and f["tags"] not in row
            ):
                return self._from_template(row, template)
            json_field = f.get("json")
            if json_field is not None:
                if json_field not in row:
                    raise InputError(f"no {json_field!r} field (the JSON payload)")
                data = _canonical(self._structured(row[json_field], json_field), json_field)
                ptype = "json"
            else:
                data = self._text(row)
                ptype = "text"
            digest = hashlib.sha256(data).digest()
            entry: dict[str, object] = {
                "kind": "record",
                "v": ENTRY_VERSION,
                "origin": self._origin(row),
                "payload": {"sha256": digest.hex(), "size": len(data), "type": ptype},
            }
            author = row.get(f["author"], self.d.author)
            if author is not None:
                entry["author"] = _string(author, f["author"])
            producer = self._producer_of(row)
            if producer is not None:
                entry["producer"] = producer
            parents = self._parents_of(row)
            if parents:
                entry["parents"] = parents
            generation = row.get(f["generation"], self.d.generation)
            if generation is not None:
                entry["generation"] = _int(generation, f["generation"])
            tags = self._tags_of(row)
            if tags is not None:
                entry["tags"] = tags
            alias = None
            raw = dumps_sorted(entry)
            id_field = f.get("id")
            if id_field is not None:
                if row.get(id_field) is None:
                    state = "null" if id_field in row else "missing"
                    raise InputError(
                        f"{id_field!r} (the external id) is {state}; give each row one"
                    )
                alias = str(row[id_field])
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
        author = row.get(self.c["author"], self.d.author)
        raw = b"".join(
            (
                b"{"
                if author is None
                else b'{"author":' + orjson.dumps(_string(author, self.c["author"])) + b",",
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
        text = row.get(self.c["text"])
        if not isinstance(text, str):
            raise InputError(
                f"no {self.c['text']!r} text field"
                if text is None
                else f"{self.c['text']!r} is not a string"
            )
        return text.encode()

    def _parents_of(self, row: Mapping[str, object]) -> list[str]:
        """Parent ids, with external ids (from --field id) replaced by the keel ids they name."""
        parents = _parents(self._structured(row.get(self.c["parents"]), self.c["parents"]))
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
        origin = row.get(self.c["origin"], self.d.origin)
        if origin is None:
            raise InputError(f"no {self.c['origin']!r} field and no --origin given")
        if origin not in ORIGINS:
            raise InputError(f"origin must be one of {', '.join(ORIGINS)}, got {origin!r}")
        return cast(str, origin)

    def _producer_of(self, row: Mapping[str, object]) -> object:
        value = self._structured(row.get(self.c["producer"]), self.c["producer"])
        if value is None:
            return self._producer
        producer = _producer(value, self.c["producer"])
        return orjson.Fragment(_canonical(producer.to_json(), self.c["producer"]))

    def _tags_of(self, row: Mapping[str, object]) -> object:
        value = self._structured(row.get(self.c["tags"]), self.c["tags"])
        if value is not None and not isinstance(value, dict):
            raise InputError(f"{self.c['tags']!r} must be a JSON object")
        merged = {**self._tags, **(value or {})}
        return orjson.Fragment(_canonical(merged, self.c["tags"])) if merged else None


BUILD_CHUNK = 4096
"""Rows per task when an executor builds the entries."""


LazyRow = tuple[str, int, Mapping[str, object] | bytes]
"""A row to ingest: its place for messages, the bytes it took in its file, and its fields, or
the JSONL line that holds them, still to parse (`_parsed`)."""


def _parsed(row: Mapping[str, object] | bytes, place: str) -> Mapping[str, object]:
    return jsonl_row(row, place) if isinstance(row, bytes) else row


@dataclass(frozen=True, slots=True)
class ChunkBuilder:
    """Parses and builds the entries of a chunk of placed rows away from the driver (an
    executor's task), with the columns the rows hold. A row it cannot build alone (an error
    to report, a parent named by external id) comes back as None for the driver's own
    `RowBuilder`, which builds it or raises as a local run does."""

    fields: Fields
    defaults: Defaults
    text_cells: bool

    def __call__(
        self, rows: list[tuple[str, Mapping[str, object] | bytes]]
    ) -> tuple[list[Pending | None], set[str]]:
        builder = RowBuilder(self.fields, self.defaults, text_cells=self.text_cells)
        out: list[Pending | None] = []
        columns: set[str] = set()
        for place, row in rows:
            try:
                parsed = _parsed(row, place)
                columns.update(parsed)
                out.append(builder.build(parsed, place))
            except InputError:
                out.append(None)
        return out, columns


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
    if type(value) is not int or not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
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
    fields_: Fields | None = None,
    defaults: Defaults | None = None,
    fmt: str | None = None,
    allow_unknown_parents: bool = False,
    keep_ids: bool = True,
    progress: Callable[[int, int], None] | None = None,
    executor: Executor | None = None,
) -> IngestReport:
    """Append every row of `path` as a record, in one transaction; see the module docstring.

    `progress(rows, bytes)` is called as rows are read. With `keep_ids=False` only counts are
    kept (for files of millions of rows). `fields_` maps the parts (`INGEST_FIELDS.parse`); a
    column it names must hold a value in some row. With an `executor` (`keel.scale`) the
    entries are built and hashed in chunks on it and appended here, in row order: the same
    ledger bytes (rows with external ids, `--field id`, are built here).
    """
    kind = detect_format(path, fmt, formats=ROW_FORMATS)
    rows: Iterable[LazyRow]
    if kind == "jsonl" and executor is not None:  # lines are parsed where entries are built
        rows = ((where(path, kind, n), len(line), line) for n, line in jsonl_lines(path))
    else:
        rows = ((where(path, kind, n), nbytes, row) for n, nbytes, row in read_rows(path, kind))
    return _ingest_rows(
        ledger,
        str(path),
        rows,
        fields_ or INGEST_FIELDS,
        defaults or Defaults(),
        text_cells=kind != "jsonl",
        allow_unknown_parents=allow_unknown_parents,
        keep_ids=keep_ids,
        progress=progress,
        executor=executor,
    )


def ingest_hf(
    ledger: Ledger,
    shards: Shards,
    *,
    fields_: Fields | None = None,
    defaults: Defaults | None = None,
    allow_unknown_parents: bool = False,
    keep_ids: bool = True,
    progress: Callable[[int, int], None] | None = None,
    executor: Executor | None = None,
) -> IngestReport:
    """Append every row of a Hugging Face dataset on disk (`keel._input.hf_shards`: a
    `save_to_disk` folder or Parquet shards) as a record, in one transaction, read a batch at
    a time; mapping, defaults, errors and `executor` are those of `ingest` on a Parquet file."""
    return _ingest_rows(
        ledger,
        shards.source,
        read_hf_rows(shards),
        fields_ or INGEST_FIELDS,
        defaults or Defaults(),
        text_cells=True,
        allow_unknown_parents=allow_unknown_parents,
        keep_ids=keep_ids,
        progress=progress,
        executor=executor,
    )


def _ingest_rows(
    ledger: Ledger,
    source: str,
    rows: Iterable[LazyRow],
    fields: Fields,
    defaults: Defaults,
    *,
    text_cells: bool,
    allow_unknown_parents: bool,
    keep_ids: bool,
    progress: Callable[[int, int], None] | None,
    executor: Executor | None = None,
) -> IngestReport:
    """Append `rows` (each with its place for messages) as records, in one transaction.

    `text_cells`: the rows' cells are text (CSV) or typed values that may hold JSON text
    (Parquet, Arrow), rather than JSON values (JSONL).
    """
    builder = RowBuilder(fields, defaults, ledger.resolve_aliases, text_cells=text_cells)
    report = IngestReport(source)
    consumed = 0

    absent = {column for role in fields.given for column in fields.names(role)}
    found: set[str] = set()

    def placed() -> Iterator[tuple[str, Mapping[str, object] | bytes]]:
        nonlocal consumed
        for place, nbytes, row in rows:
            report.rows += 1
            consumed += nbytes
            if progress is not None and report.rows % 4096 == 0:
                progress(report.rows, consumed)
            yield place, row

    def seen(columns: Iterable[str]) -> None:
        if absent:
            absent.difference_update(columns)
            found.update(columns)

    def built() -> Iterator[Pending]:
        build = builder.build
        if executor is None or "id" in builder.c:
            for place, row in placed():
                parsed = _parsed(row, place)
                seen(parsed)
                yield build(parsed, place)
            return
        sent: deque[list[tuple[str, Mapping[str, object] | bytes]]] = deque()

        def chunks() -> Iterator[list[tuple[str, Mapping[str, object] | bytes]]]:
            for chunk in chunked(placed(), BUILD_CHUNK):
                sent.append(chunk)
                yield chunk

        task = ChunkBuilder(fields, defaults, text_cells)
        for entries, columns in executor.map(task, chunks()):
            chunk = sent.popleft()
            seen(columns)
            for (place, row), entry in zip(chunk, entries, strict=True):
                yield build(_parsed(row, place), place) if entry is None else entry

    def pending() -> Iterator[Pending]:
        yield from built()
        if absent:  # raised inside the transaction: nothing is appended
            try:
                fields.check(sorted(found), source, absent="no row has a value in column")
            except InputError as exc:
                raise InputError(
                    f"{exc}. Nothing was appended: fix the mapping and ingest again"
                ) from None

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
    "INGEST_FIELDS",
    "Defaults",
    "IngestReport",
    "RowBuilder",
    "ingest",
    "ingest_hf",
]
