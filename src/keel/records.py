"""The data model of the ledger: records, verdicts, mixes, runs and redactions, and their bytes.

Every entry is logged as RFC 8785 (JSON Canonicalization Scheme) bytes. An entry carries metadata
and the SHA-256 of its payload, never the payload itself: payload bytes live in a
content-addressed store beside the log, so that they can be erased without breaking the log.
An entry's id is the SHA-256 of its canonical bytes: the same content with the same provenance
is the same entry.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, NewType, TypeAlias, cast, get_args

import orjson

from keel.errors import InputError

JSON: TypeAlias = bool | int | float | str | list["JSON"] | dict[str, "JSON"] | None
"""A JSON value as Python holds it."""

Origin = Literal["human", "expert", "synthetic"]
JudgeKind = Literal["ai", "expert"]
PayloadType = Literal["text", "json", "ids"]
Kind = Literal["record", "verdict", "mix", "run", "redaction"]

EntryId = NewType("EntryId", str)
"""Lower-case hex SHA-256 of an entry's canonical bytes."""
Digest = NewType("Digest", str)
"""Lower-case hex SHA-256 of a payload's bytes."""

ORIGINS: tuple[Origin, ...] = get_args(Origin)
JUDGE_KINDS: tuple[JudgeKind, ...] = get_args(JudgeKind)
KINDS: tuple[Kind, ...] = get_args(Kind)
SCHEMA_VERSION = 1
_MAX_SAFE_INT = 2**53 - 1
_HEX = frozenset("0123456789abcdef")


# --- canonical bytes (RFC 8785) -------------------------------------------------------------


def canonical(value: JSON) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON value.

    Strings are escaped as ECMAScript's JSON.stringify does (orjson matches it byte for byte),
    numbers are I-JSON (integers within ±(2**53 - 1), finite floats in ECMAScript's shortest
    form) and object keys sort by UTF-16 code units (RFC 8785 §3.2.3).
    """
    prepared, needs_utf16_sort = _prepare(value)
    try:
        if needs_utf16_sort:
            return _encode_utf16_sorted(value).encode()
        return dumps_sorted(prepared)
    except (orjson.JSONEncodeError, UnicodeEncodeError) as exc:
        raise InputError(f"not valid JSON text (lone surrogate?): {exc}") from exc


def dumps_sorted(value: object) -> bytes:
    """orjson.dumps with sorted keys, in a bytes object of its exact size.

    orjson 3.12+ returns each result inside a buffer of at least 4 KiB; a batch of a million
    entries held for one append would otherwise take 4 GB instead of 200 MB.
    """
    return bytes(memoryview(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)))


def _prepare(value: JSON) -> tuple[object, bool]:
    """Check I-JSON rules, swap floats for their ECMAScript text, flag keys needing UTF-16 order."""
    t = type(value)
    if t is str or t is bool or value is None:
        return value, False
    if t is int:
        if -_MAX_SAFE_INT <= cast(int, value) <= _MAX_SAFE_INT:
            return value, False
        raise InputError(
            f"integer {value} is outside I-JSON's exact range ±(2**53 - 1); store it as a string"
        )
    if t is float:
        return orjson.Fragment(es6_number(cast(float, value))), False
    if t is list or isinstance(value, tuple):
        out_list: list[object] = []
        utf16 = False
        for item in cast(list[JSON], value):
            p, u = _prepare(item)
            out_list.append(p)
            utf16 = utf16 or u
        return out_list, utf16
    if t is dict:
        out: dict[str, object] = {}
        utf16 = False
        for key, item in cast(dict[str, JSON], value).items():
            if type(key) is not str:
                raise InputError(f"JSON object keys must be strings, got {key!r}")
            if not key.isascii() and max(key) > "\uffff":
                utf16 = True
            p, u = _prepare(item)
            out[key] = p
            utf16 = utf16 or u
        return out, utf16
    raise InputError(f"{t.__name__} is not a JSON value: {value!r}")


def _encode_utf16_sorted(value: JSON) -> str:
    """Slow path of `canonical` for objects whose keys need UTF-16 code-unit order."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        inner = ",".join(f"{_encode_str(k)}:{_encode_utf16_sorted(value[k])}" for k in keys)
        return "{" + inner + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode_utf16_sorted(v) for v in value) + "]"
    if isinstance(value, str):
        return _encode_str(value)
    return orjson.dumps(_prepare(value)[0]).decode()


def _encode_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def es6_number(x: float) -> str:
    """Format a finite double as ECMAScript's Number.prototype.toString (RFC 8785 §3.2.2.3)."""
    if not math.isfinite(x):
        raise InputError(f"{x} is not a JSON number: RFC 8785 allows finite numbers only")
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    _, digit_tuple, exp = Decimal(repr(abs(x))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    exp = cast(int, exp) + len(digit_tuple) - len(digits)
    k = len(digits)
    n = k + exp  # value = 0.digits * 10**n
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        body = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + body


def loads(data: bytes) -> JSON:
    """Parse canonical JSON bytes; integers beyond ±(2**53 - 1) come back as the doubles they are.

    RFC 8785 writes an integral double such as 1e17 as `100000000000000000`; reading it as a
    Python int would make it unencodable again, so it is read as a float.
    """
    value = cast(JSON, orjson.loads(data))
    return _big_ints_to_floats(value) if _LONG_DIGITS.search(data) else value


_LONG_DIGITS = re.compile(rb"\d{16}")


def _big_ints_to_floats(value: JSON) -> JSON:
    if type(value) is int and not -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
        return float(value)
    if isinstance(value, list):
        return [_big_ints_to_floats(v) for v in value]
    if isinstance(value, dict):
        return {k: _big_ints_to_floats(v) for k, v in value.items()}
    return value


def sha256_hex(data: bytes) -> str:
    """Lower-case hex SHA-256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def entry_id(entry_bytes: bytes) -> EntryId:
    """The id of an entry: the hex SHA-256 of its canonical bytes."""
    return EntryId(hashlib.sha256(entry_bytes).hexdigest())


def is_hex_digest(s: object) -> bool:
    """True when `s` is a 64-character lower-case hex string (an id or a digest)."""
    return isinstance(s, str) and len(s) == 64 and _HEX.issuperset(s)


# --- entries --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PayloadRef:
    """The logged commitment to payload bytes kept in the content-addressed store."""

    sha256: Digest
    size: int
    type: PayloadType

    def to_json(self) -> dict[str, JSON]:
        return {"sha256": self.sha256, "size": self.size, "type": self.type}

    @classmethod
    def of(cls, data: bytes, type: PayloadType) -> PayloadRef:
        """Commit to `data`."""
        return cls(Digest(sha256_hex(data)), len(data), type)


@dataclass(frozen=True, slots=True)
class Producer:
    """The model that produced a synthetic record: name, version, sampling parameters, prompt."""

    model: str
    version: str | None = None
    params: Mapping[str, JSON] = field(default_factory=dict)
    prompt_sha256: Digest | None = None

    def to_json(self) -> dict[str, JSON]:
        out: dict[str, JSON] = {"model": self.model}
        if self.version is not None:
            out["version"] = self.version
        if self.params:
            out["params"] = dict(self.params)
        if self.prompt_sha256 is not None:
            out["prompt_sha256"] = self.prompt_sha256
        return out


@dataclass(frozen=True, slots=True)
class Record:
    """A training record: who or what made it, from which parents, in which generation."""

    origin: Origin
    payload: PayloadRef
    author: str | None = None
    producer: Producer | None = None
    parents: tuple[EntryId, ...] = ()
    generation: int | None = None
    tags: Mapping[str, JSON] = field(default_factory=dict)
    kind: Literal["record"] = "record"

    def to_json(self) -> dict[str, JSON]:
        out: dict[str, JSON] = {
            "kind": "record",
            "v": SCHEMA_VERSION,
            "origin": self.origin,
            "payload": self.payload.to_json(),
        }
        if self.author is not None:
            out["author"] = self.author
        if self.producer is not None:
            out["producer"] = self.producer.to_json()
        if self.parents:
            out["parents"] = list(self.parents)
        if self.generation is not None:
            out["generation"] = self.generation
        if self.tags:
            out["tags"] = dict(self.tags)
        return out


@dataclass(frozen=True, slots=True)
class Verdict:
    """A judgement of a record by an AI judge or an expert; the rationale is a payload."""

    record: EntryId
    judge: str
    judge_kind: JudgeKind
    label: str | None = None
    score: float | None = None
    rubric: str | None = None
    rationale: PayloadRef | None = None
    kind: Literal["verdict"] = "verdict"

    def to_json(self) -> dict[str, JSON]:
        out: dict[str, JSON] = {
            "kind": "verdict",
            "v": SCHEMA_VERSION,
            "record": self.record,
            "judge": {"id": self.judge, "kind": self.judge_kind},
        }
        if self.label is not None:
            out["label"] = self.label
        if self.score is not None:
            out["score"] = self.score
        if self.rubric is not None:
            out["rubric"] = self.rubric
        if self.rationale is not None:
            out["rationale"] = self.rationale.to_json()
        return out


@dataclass(frozen=True, slots=True)
class Mix:
    """A training set: its member list (a payload of record ids) and the policy that chose it."""

    members: PayloadRef
    count: int
    policy: Mapping[str, JSON] = field(default_factory=dict)
    generation: int | None = None
    kind: Literal["mix"] = "mix"

    def to_json(self) -> dict[str, JSON]:
        out: dict[str, JSON] = {
            "kind": "mix",
            "v": SCHEMA_VERSION,
            "members": self.members.to_json(),
            "count": self.count,
            "policy": dict(self.policy),
        }
        if self.generation is not None:
            out["generation"] = self.generation
        return out


@dataclass(frozen=True, slots=True)
class Run:
    """A training run: the model trained, on which mix, with which settings and outputs."""

    mix: EntryId
    model: str
    config: Mapping[str, JSON] = field(default_factory=dict)
    artifact_sha256: Digest | None = None
    kind: Literal["run"] = "run"

    def to_json(self) -> dict[str, JSON]:
        out: dict[str, JSON] = {
            "kind": "run",
            "v": SCHEMA_VERSION,
            "mix": self.mix,
            "model": self.model,
            "config": dict(self.config),
        }
        if self.artifact_sha256 is not None:
            out["artifact_sha256"] = self.artifact_sha256
        return out


@dataclass(frozen=True, slots=True)
class Redaction:
    """The logged erasure of a payload's bytes: which digest, and why."""

    digest: Digest
    reason: str
    kind: Literal["redaction"] = "redaction"

    def to_json(self) -> dict[str, JSON]:
        return {
            "kind": "redaction",
            "v": SCHEMA_VERSION,
            "digest": self.digest,
            "reason": self.reason,
        }


Entry: TypeAlias = Record | Verdict | Mix | Run | Redaction


def entry_bytes(entry: Entry) -> bytes:
    """The exact bytes that the ledger logs for `entry`."""
    return canonical(entry.to_json())


def payload_of(entry: Entry) -> PayloadRef | None:
    """The payload an entry commits to, if any."""
    if isinstance(entry, Record):
        return entry.payload
    if isinstance(entry, Verdict):
        return entry.rationale
    if isinstance(entry, Mix):
        return entry.members
    return None


def references(entry: Entry) -> list[EntryId]:
    """The ids of the entries `entry` points to (parents, judged record, mix); they must exist."""
    if isinstance(entry, Record):
        return list(entry.parents)
    if isinstance(entry, Verdict):
        return [entry.record]
    if isinstance(entry, Run):
        return [entry.mix]
    return []


# --- constructors from user data ------------------------------------------------------------


def text_record(
    text: str,
    origin: Origin,
    *,
    author: str | None = None,
    producer: Producer | None = None,
    parents: Sequence[str] = (),
    generation: int | None = None,
    tags: Mapping[str, JSON] | None = None,
) -> tuple[Record, bytes]:
    """A record of `text` and its payload bytes (UTF-8), ready to append."""
    data = text.encode()
    record = Record(
        origin=_check_origin(origin),
        payload=PayloadRef.of(data, "text"),
        author=author,
        producer=producer,
        parents=tuple(_check_id(p, "parent") for p in parents),
        generation=generation,
        tags=dict(tags or {}),
    )
    return record, data


def json_record(
    value: JSON,
    origin: Origin,
    *,
    author: str | None = None,
    producer: Producer | None = None,
    parents: Sequence[str] = (),
    generation: int | None = None,
    tags: Mapping[str, JSON] | None = None,
) -> tuple[Record, bytes]:
    """A record of a JSON value (stored as its canonical bytes) and its payload bytes."""
    data = canonical(value)
    record = Record(
        origin=_check_origin(origin),
        payload=PayloadRef.of(data, "json"),
        author=author,
        producer=producer,
        parents=tuple(_check_id(p, "parent") for p in parents),
        generation=generation,
        tags=dict(tags or {}),
    )
    return record, data


def verdict(
    record: str,
    judge: str,
    judge_kind: str,
    *,
    label: str | None = None,
    score: float | None = None,
    rubric: str | None = None,
    rationale: str | None = None,
) -> tuple[Verdict, bytes | None]:
    """A verdict on `record` and its rationale bytes, if any."""
    kind = next((k for k in JUDGE_KINDS if k == judge_kind), None)
    if kind is None:
        raise InputError(f"judge kind must be one of {', '.join(JUDGE_KINDS)}, got {judge_kind!r}")
    if label is None and score is None:
        raise InputError("a verdict needs a label, a score, or both")
    data = rationale.encode() if rationale is not None else None
    v = Verdict(
        record=_check_id(record, "record"),
        judge=judge,
        judge_kind=kind,
        label=label,
        score=score,
        rubric=rubric,
        rationale=PayloadRef.of(data, "text") if data is not None else None,
    )
    return v, data


def mix(
    members: Sequence[str],
    policy: Mapping[str, JSON],
    *,
    generation: int | None = None,
) -> tuple[Mix, bytes]:
    """A mix of `members` (record ids; stored sorted and de-duplicated, one per line)."""
    ids = sorted({_check_id(m, "member") for m in members})
    data = "".join(i + "\n" for i in ids).encode()
    return Mix(PayloadRef.of(data, "ids"), len(ids), dict(policy), generation), data


def parse_member_list(data: bytes) -> list[EntryId]:
    """The record ids of a mix's member payload."""
    return [_check_id(line, "member") for line in data.decode().splitlines()]


def _check_origin(origin: str) -> Origin:
    for o in ORIGINS:
        if origin == o:
            return o
    raise InputError(f"origin must be one of {', '.join(ORIGINS)}, got {origin!r}")


def _check_id(value: object, what: str) -> EntryId:
    if not is_hex_digest(value):
        raise InputError(f"{what} id must be 64 lower-case hex characters, got {value!r}")
    return EntryId(cast(str, value))


# --- parsing logged bytes back --------------------------------------------------------------


def parse_entry(data: bytes) -> Entry:
    """Parse logged entry bytes back into a value; InputError if they are not a keel entry."""
    try:
        obj = loads(data)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"entry is not JSON: {exc}") from exc
    if not isinstance(obj, dict) or obj.get("v") != SCHEMA_VERSION:
        raise InputError('entry is not a keel v1 entry (expected an object with "v": 1)')
    try:
        return _from_json(obj)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"malformed {obj.get('kind')} entry: {exc!r}") from exc


def _payload(obj: dict[str, JSON]) -> PayloadRef:
    return PayloadRef(
        Digest(str(obj["sha256"])), int(cast(int, obj["size"])), cast(PayloadType, obj["type"])
    )


def _from_json(obj: dict[str, JSON]) -> Entry:
    kind = obj.get("kind")
    if kind == "record":
        prod = cast(dict[str, JSON] | None, obj.get("producer"))
        return Record(
            origin=_check_origin(str(obj["origin"])),
            payload=_payload(cast(dict[str, JSON], obj["payload"])),
            author=cast(str | None, obj.get("author")),
            producer=None
            if prod is None
            else Producer(
                model=str(prod["model"]),
                version=cast(str | None, prod.get("version")),
                params=cast(dict[str, JSON], prod.get("params", {})),
                prompt_sha256=cast(Digest | None, prod.get("prompt_sha256")),
            ),
            parents=tuple(EntryId(str(p)) for p in cast(list[JSON], obj.get("parents", []))),
            generation=cast(int | None, obj.get("generation")),
            tags=cast(dict[str, JSON], obj.get("tags", {})),
        )
    if kind == "verdict":
        judge = cast(dict[str, JSON], obj["judge"])
        rationale = cast(dict[str, JSON] | None, obj.get("rationale"))
        return Verdict(
            record=EntryId(str(obj["record"])),
            judge=str(judge["id"]),
            judge_kind=cast(JudgeKind, judge["kind"]),
            label=cast(str | None, obj.get("label")),
            score=cast(float | None, obj.get("score")),
            rubric=cast(str | None, obj.get("rubric")),
            rationale=None if rationale is None else _payload(rationale),
        )
    if kind == "mix":
        return Mix(
            members=_payload(cast(dict[str, JSON], obj["members"])),
            count=int(cast(int, obj["count"])),
            policy=cast(dict[str, JSON], obj.get("policy", {})),
            generation=cast(int | None, obj.get("generation")),
        )
    if kind == "run":
        return Run(
            mix=EntryId(str(obj["mix"])),
            model=str(obj["model"]),
            config=cast(dict[str, JSON], obj.get("config", {})),
            artifact_sha256=cast(Digest | None, obj.get("artifact_sha256")),
        )
    if kind == "redaction":
        return Redaction(digest=Digest(str(obj["digest"])), reason=str(obj["reason"]))
    raise ValueError(f"unknown kind {kind!r}")
