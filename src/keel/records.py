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
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, NewType, NoReturn, TypeAlias, TypeVar, cast, get_args

import orjson

from keel.errors import InputError

JSON: TypeAlias = bool | int | float | str | list["JSON"] | dict[str, "JSON"] | None
"""A JSON value as Python holds it."""

Origin = Literal["human", "expert", "synthetic"]
JudgeKind = Literal["ai", "expert"]
PayloadType = Literal["text", "json", "ids"]
Kind = Literal[
    "record",
    "verdict",
    "mix",
    "run",
    "redaction",
    "enrolment",
    "round",
    "close",
    "anchor-key",
    "anchor",
    "preference",
]
Choice = Literal["first", "second", "tie"]
"""A pairwise judge's answer: the candidate shown first, the one shown second, or neither."""
Role = Literal["reviewer", "admin"]
Decided = Literal["accept", "reject", "degenerate"]
"""An expert's decision on a record: adopt it, reject it, or reject it and flag its descendants
(degenerate)."""
ItemReason = Literal["random", "uncertain", "gold"]
"""Why a record is in a review round: drawn at random, drawn for the judges' uncertainty (with
probability growing with it), or a gold item whose answer the round committed to."""
Made = Literal["browser", "server"]
"""Where a decision was signed: in the reviewer's browser (WebCrypto) with a key that never left
it, or by keel's server with the reviewer's key held server-side."""

EntryId = NewType("EntryId", str)
"""Lower-case hex SHA-256 of an entry's canonical bytes."""
Digest = NewType("Digest", str)
"""Lower-case hex SHA-256 of a payload's bytes."""

ORIGINS: tuple[Origin, ...] = get_args(Origin)
ROLES: tuple[Role, ...] = get_args(Role)
DECISIONS: tuple[Decided, ...] = get_args(Decided)
ITEM_REASONS: tuple[ItemReason, ...] = get_args(ItemReason)
SIGNED_IN: tuple[Made, ...] = get_args(Made)
CHOICES: tuple[Choice, ...] = get_args(Choice)
DECISION_CONTEXT = b"keel/decision/v1\n"
"""Prefix of every signed decision message (domain separation: a reviewer's signature on a
decision can never be taken for a signature on anything else, such as a checkpoint note)."""
ANCHOR_KEY_CONTEXT = "keel/anchor-key/v1"
"""First line of the note a log key signs to bind an anchor key (`anchor_key_message`): a
checkpoint's second line is a decimal size, so no binding text is a checkpoint text."""
HUMAN_ORIGINS: frozenset[Origin] = frozenset({"human", "expert"})
"""Origins of verified human text: the anchor of every loop."""
JUDGE_KINDS: tuple[JudgeKind, ...] = get_args(JudgeKind)
KINDS: tuple[Kind, ...] = get_args(Kind)
ENTRY_VERSION = 1
"""The version of the entry format: every entry's `"v"` field."""
MAX_DEPTH = 64
"""The deepest nesting of arrays and objects keel accepts in a JSON value (RFC 8259 §9 lets a
parser set one): a row, a cell, a tag or a parameter; deeper input is refused, not recursed into."""
MAX_SAFE_INT = 2**53 - 1
"""The largest integer I-JSON (RFC 7493) keeps exact; `loads` reads a larger one as a double."""
_S = TypeVar("_S", bound=str)
_DBL_MIN = sys.float_info.min
_HEX = frozenset("0123456789abcdef")


# --- canonical bytes (RFC 8785) -------------------------------------------------------------


def canonical(value: JSON) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON value.

    Strings are escaped as ECMAScript's JSON.stringify does (orjson matches it byte for byte),
    numbers are I-JSON (integers within ±(2**53 - 1), finite floats in ECMAScript's shortest
    form) and object keys sort by UTF-16 code units (RFC 8785 §3.2.3).
    Arrays and objects nest at most MAX_DEPTH levels.
    """
    prepared, needs_utf16_sort = _prepare(value, 1)
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


def _prepare(value: JSON, depth: int) -> tuple[object, bool]:
    """Check I-JSON rules, swap floats for their ECMAScript text, flag keys needing UTF-16 order.

    `depth` is the nesting level of `value` if it is an array or object (1 for the outermost).
    """
    t = type(value)
    if t is str or t is bool or value is None:
        return value, False
    if t is int:
        if -MAX_SAFE_INT <= cast(int, value) <= MAX_SAFE_INT:
            return value, False
        raise InputError(_OUT_OF_RANGE.format(value))
    if t is float:
        return orjson.Fragment(es6_number(cast(float, value))), False
    if depth > MAX_DEPTH and (t is list or t is dict or isinstance(value, tuple)):
        raise InputError(f"JSON value {_TOO_DEEP}")
    if t is list or isinstance(value, tuple):
        out_list: list[object] = []
        utf16 = False
        for item in cast(list[JSON], value):
            p, u = _prepare(item, depth + 1)
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
            p, u = _prepare(item, depth + 1)
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
    return orjson.dumps(_prepare(value, 1)[0]).decode()


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
    return _big_ints_to_floats(value) if _LONG_NUMBER.search(data) else value


# A number of 16 digits or more. Canonical JSON has no whitespace, so a number starts the text
# or follows `:`, `,` or `[`; digits inside strings (hex digests) mostly do not, and a string
# that does only costs the walk.
_LONG_NUMBER = re.compile(rb"(?:^|[:,\[])-?\d{16}")


def _big_ints_to_floats(value: JSON) -> JSON:
    if type(value) is int and not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
        return float(value)
    if isinstance(value, list):
        return [_big_ints_to_floats(v) for v in value]
    if isinstance(value, dict):
        return {k: _big_ints_to_floats(v) for k, v in value.items()}
    return value


# --- JSON text from users ------------------------------------------------------------------

_OUT_OF_RANGE = "integer {} is outside I-JSON's exact range ±(2**53 - 1); store it as a string"
_TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels (keel's limit for JSON values); flatten it"
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_DIGITS_AS_ZEROS = bytes.maketrans(b"123456789.", b"0000000000")
_LONG_LITERAL = b"0" * 16


def parse_json(text: bytes | str, where: str = "") -> JSON:
    """Parse JSON text that a user gave; refuse what keel could not log exactly as written.

    The rule for numbers is RFC 8785's, which takes I-JSON's (RFC 7493 §2.2): an integer
    literal (no fraction, no exponent) must lie within ±(2**53 - 1); any other literal must
    name a finite double exactly, i.e. have the decimal value of the double's shortest form,
    which is what RFC 8785 writes. So `1.50`, `1e-5` and `1e300` are kept, while `1e400`
    (overflows), `1e-400` (underflows to 0) and `0.10000000000000000001` (rounds to 0.1) are
    refused, never rounded; NaN and Infinity are not JSON. An object must not name a key twice
    (parsers disagree on which one wins) and arrays and objects nest at most MAX_DEPTH levels.

    A refusal is an InputError naming `where` and the path inside the value (`tags.n[2]`); text
    that is not JSON raises orjson.JSONDecodeError for the caller to place. orjson parses every
    text; only when cheap counts leave doubt (a literal of 16 digits or more, an exponent that
    may have underflowed, colons that do not add up) does the json module parse it again, with
    hooks that see each number literal and each object's keys.
    """
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    try:
        value = cast(JSON, orjson.loads(data))
    except orjson.JSONDecodeError as exc:
        number = _NUMBER.match(data.decode("utf-8", "replace"), exc.pos)
        if number is not None and math.isinf(float(number[0])):
            raise InputError(
                _placed(
                    where,
                    f"number {_shorten(number[0])} (column {exc.colno}) is beyond "
                    "a double's range; store it as a string",
                )
            ) from exc
        raise
    # A repeated key: each colon outside strings ends a key, and `value` keeps one key per name,
    # so the text repeats no key if its colons, counting each \u003a escape as one, are as many
    # as orjson writes back for `value` (a colon per key and per colon inside a string).
    colons = data.count(b":")
    if type(value) is dict and colons == len(value):
        for item in value.values():
            if type(item) is not str:
                break
        else:
            return value  # the commonest row: a flat object of strings, no colon in them
    # An inexact number: orjson reads integers exactly, and a decimal of at most 15 significant
    # digits survives the round trip through a double unless it leaves the normal range (DBL_DIG,
    # C11 §5.2.4.2.2; orjson refuses an overflow). Doubt remains where a literal has 16 digits
    # or more (a run of 16 digits and points) or an exponent, if a zero or subnormal came of it.
    digits = data.translate(_DIGITS_AS_ZEROS)
    exponent = b"0e" in digits or b"0E" in digits
    found = [False, False]  # a zero or subnormal float, nesting past MAX_DEPTH
    if exponent or data.count(b"[") + data.count(b"{") > MAX_DEPTH:
        _survey((value,), 0, found)
        if found[1]:
            _refuse(value, where)
    if (
        _LONG_LITERAL in digits
        or found[0]
        or colons + data.count(b"\\u003a") + data.count(b"\\u003A")
        != orjson.dumps(value).count(b":")
    ):
        value = _parse_checked(data, where)
    return value


def _survey(container: Iterable[object], depth: int, found: list[bool]) -> None:
    """Mark in `found` whether `container` holds a zero or subnormal float, and whether it
    nests past MAX_DEPTH (then it stops looking)."""
    if depth > MAX_DEPTH:
        found[1] = True
        return
    for item in container.values() if type(container) is dict else container:
        if type(item) is dict or type(item) is list:
            _survey(item, depth + 1, found)
        elif type(item) is float and -_DBL_MIN < item < _DBL_MIN:
            found[0] = True


@dataclass(frozen=True, slots=True)
class _Refusal:
    """Stands where parse_json's hooks refused a literal or an object, so its path can be named."""

    reason: str


def _parse_checked(data: bytes, where: str) -> JSON:
    """Parse `data` with hooks that see every number literal and every object's keys."""
    refused: list[_Refusal] = []

    def refuse(reason: str) -> _Refusal:
        refused.append(_Refusal(reason))
        return refused[-1]

    def integer(literal: str) -> object:
        digits = literal.lstrip("-")
        if len(digits) <= 16 and int(digits) <= MAX_SAFE_INT:
            return int(literal)
        return refuse(_OUT_OF_RANGE.format(_shorten(literal)))

    def number(literal: str) -> object:
        x = float(literal)
        if x == 0:  # a zero's literal may carry any exponent, beyond what Decimal can hold
            exact = literal.lower().partition("e")[0].strip("-0.") == ""
        else:
            exact = Decimal(literal) == Decimal(repr(x))
        if exact:
            return x
        return refuse(
            f"number {_shorten(literal)} is not exactly a double (the nearest is {x!r}); "
            "store it as a string"
        )

    def obj(pairs: list[tuple[str, object]]) -> object:
        value = dict(pairs)
        if len(value) == len(pairs):
            return value
        counts = Counter(key for key, _ in pairs)
        repeated = next(key for key, n in counts.items() if n > 1)
        return refuse(f"key {repeated!r} appears twice in one object; keep one")

    value = cast(
        JSON, json.loads(data, object_pairs_hook=obj, parse_int=integer, parse_float=number)
    )
    if refused:
        _refuse(value, where)
    return value


def _refuse(value: object, where: str) -> NoReturn:
    """Raise InputError for the first refusal, or the first nesting past MAX_DEPTH, in `value`."""
    found = _first_refusal(value, (), 1)
    assert found is not None, "parse_json refuses only what it finds"
    path, reason = found
    place = where
    for part in path:
        place += f"[{part}]" if isinstance(part, int) else f".{part}" if place else part
    raise InputError(_placed(place, reason))


def _first_refusal(
    value: object, path: tuple[str | int, ...], depth: int
) -> tuple[tuple[str | int, ...], str] | None:
    """The path and reason of the first problem in document order (a too-deep one by its field)."""
    if isinstance(value, _Refusal):
        return path, value.reason
    if isinstance(value, dict | list):
        if depth > MAX_DEPTH:
            return path[:1], _TOO_DEEP
        parts = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in parts:
            found = _first_refusal(item, (*path, key), depth + 1)
            if found is not None:
                return found
    return None


def _placed(place: str, reason: str) -> str:
    return f"{place}: {reason}" if place else reason


def _shorten(literal: str) -> str:
    return literal if len(literal) <= 40 else f"{literal[:20]}…({len(literal)} characters)"


def sha256_hex(data: bytes) -> str:
    """Lower-case hex SHA-256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def entry_id(entry_bytes: bytes) -> EntryId:
    """The id of an entry: the hex SHA-256 of its canonical bytes."""
    return EntryId(hashlib.sha256(entry_bytes).hexdigest())


def is_hex_digest(s: object) -> bool:
    """True when `s` is a 64-character lower-case hex string (an id or a digest)."""
    return isinstance(s, str) and len(s) == 64 and _HEX.issuperset(s)


def as_digest(value: object, what: str) -> Digest:
    """`value` as a Digest if it is 64 hex digits, in either case (logged in lower case)."""
    if isinstance(value, str) and is_hex_digest(value.lower()):
        return Digest(value.lower())
    raise InputError(f"{what} must be a SHA-256: 64 hex digits, got {value!r}")


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
            "v": ENTRY_VERSION,
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
    round: EntryId | None = None
    """The review round the decision answers (expert verdicts made through `keel review`)."""
    seconds: float | None = None
    """Time the reviewer spent on the item, from showing it to deciding (the server's clock)."""
    signature: DecisionSignature | None = None
    correction: str | None = None
    """An expert's corrected label for the record (e.g. its class), beside the decision."""
    kind: Literal["verdict"] = "verdict"

    def to_json(self) -> dict[str, JSON]:
        out = self.unsigned_json()
        if self.signature is not None:
            out["signature"] = self.signature.to_json()
        return out

    def unsigned_json(self) -> dict[str, JSON]:
        """The entry without its signature: what a reviewer signs (`decision_message`)."""
        out: dict[str, JSON] = {
            "kind": "verdict",
            "v": ENTRY_VERSION,
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
        if self.round is not None:
            out["round"] = self.round
        if self.seconds is not None:
            out["seconds"] = self.seconds
        if self.correction is not None:
            out["correction"] = self.correction
        return out


@dataclass(frozen=True, slots=True)
class DecisionSignature:
    """A reviewer's Ed25519 signature on a decision: the enrolment entry holding the key, where
    it was made, and the signature (standard base64 of 64 bytes) on `decision_message`."""

    enrolment: EntryId
    made: Made
    ed25519: str

    def to_json(self) -> dict[str, JSON]:
        return {"enrolment": self.enrolment, "made": self.made, "ed25519": self.ed25519}


def decision_message(v: Verdict) -> bytes:
    """The bytes a reviewer signs: `DECISION_CONTEXT` then the RFC 8785 bytes of the verdict
    entry without its `signature` member. Anyone holding the entry can rebuild them."""
    return DECISION_CONTEXT + canonical(v.unsigned_json())


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
            "v": ENTRY_VERSION,
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
    uses: tuple[EntryId, ...] = ()
    """Other entries the run depends on (a policy run's reward-model run, an earlier
    checkpoint's run): references, so lineage goes from the run through them."""
    kind: Literal["run"] = "run"

    def to_json(self) -> dict[str, JSON]:
        out: dict[str, JSON] = {
            "kind": "run",
            "v": ENTRY_VERSION,
            "mix": self.mix,
            "model": self.model,
            "config": dict(self.config),
        }
        if self.artifact_sha256 is not None:
            out["artifact_sha256"] = self.artifact_sha256
        if self.uses:
            out["uses"] = list(self.uses)
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
            "v": ENTRY_VERSION,
            "digest": self.digest,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A reviewer joins (or changes key): the name their decisions carry as judge id, their
    role, and their Ed25519 verifier key in the note format (`name+hex8+base64`, whose name is
    the reviewer's). The last enrolment of a name logged before a decision holds its key."""

    name: str
    role: Role
    key: str
    kind: Literal["enrolment"] = "enrolment"

    def to_json(self) -> dict[str, JSON]:
        return {
            "kind": "enrolment",
            "v": ENTRY_VERSION,
            "name": self.name,
            "role": self.role,
            "key": self.key,
        }


@dataclass(frozen=True, slots=True)
class RoundItem:
    """A record in a review round: its inclusion probability p (the chance the sampler gave it,
    for inverse-probability weighting; 1 for gold items), why it was chosen, and the reviewers
    it is assigned to."""

    record: EntryId
    p: float
    reason: ItemReason
    reviewers: tuple[str, ...]

    def to_json(self) -> dict[str, JSON]:
        return {
            "record": self.record,
            "p": self.p,
            "reason": self.reason,
            "reviewers": list(self.reviewers),
        }


@dataclass(frozen=True, slots=True)
class Round:
    """A review round: the generation it reviews, how its sample was drawn (budget, random
    share, seed), its items, the overlap (reviewers per item), whether reviewers see the AI
    judges' verdicts, the guidelines (a text payload) and the commitment to the gold answers
    (`gold_commitment`), revealed by the `Close` entry that ends the round."""

    items: tuple[RoundItem, ...]
    budget: int
    random_share: float
    seed: int
    overlap: int
    show_judges: bool = False
    generation: int | None = None
    gold: str | None = None
    """Hex SHA-256 commitment to the gold answers (`gold_commitment`); None: no gold items."""
    guidelines: PayloadRef | None = None
    kind: Literal["round"] = "round"

    def to_json(self) -> dict[str, JSON]:
        out: dict[str, JSON] = {
            "kind": "round",
            "v": ENTRY_VERSION,
            "items": [i.to_json() for i in self.items],
            "budget": self.budget,
            "random_share": self.random_share,
            "seed": self.seed,
            "overlap": self.overlap,
            "show_judges": self.show_judges,
        }
        if self.generation is not None:
            out["generation"] = self.generation
        if self.gold is not None:
            out["gold"] = self.gold
        if self.guidelines is not None:
            out["guidelines"] = self.guidelines.to_json()
        return out


@dataclass(frozen=True, slots=True)
class Close:
    """The end of a round: no decision on it is taken after this entry. A round with gold items
    reveals them here: the salt and the answers whose commitment the round holds
    (`gold_commitment(salt, answers) == round.gold`)."""

    round: EntryId
    salt: str | None = None
    answers: Mapping[EntryId, Decided] = field(default_factory=dict)
    kind: Literal["close"] = "close"

    def to_json(self) -> dict[str, JSON]:
        out: dict[str, JSON] = {"kind": "close", "v": ENTRY_VERSION, "round": self.round}
        if self.salt is not None:
            out["salt"] = self.salt
            out["answers"] = _answers_json(self.answers)
        return out


def gold_commitment(salt: str, answers: Mapping[EntryId, Decided]) -> str:
    """Hex SHA-256 of the salt's bytes (hex-decoded, ≥ 16 bytes) followed by the RFC 8785 bytes
    of the answers object: a hiding, binding commitment (the salt stops anyone guessing the
    answers from the hash; the hash stops anyone changing them once reviews are in)."""
    raw = bytes.fromhex(salt)
    if len(raw) < 16:
        raise InputError("a gold salt needs at least 16 random bytes")
    return sha256_hex(raw + canonical(_answers_json(answers)))


def _answers_json(answers: Mapping[EntryId, Decided]) -> dict[str, JSON]:
    return {str(k): str(v) for k, v in answers.items()}


@dataclass(frozen=True, slots=True)
class AnchorKey:
    """The log binds an anchor key: the Ed25519 public key (base58, as Solana writes it) whose
    transactions on `chain` (a CAIP-2 chain id, e.g. `solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp`)
    publish this log's checkpoints, and the log key's signature (standard base64 of 64 bytes)
    on `anchor_key_message`, which anyone holding the log's verifier key can check."""

    chain: str
    key: str
    ed25519: str
    kind: Literal["anchor-key"] = "anchor-key"

    def to_json(self) -> dict[str, JSON]:
        return {
            "kind": "anchor-key",
            "v": ENTRY_VERSION,
            "chain": self.chain,
            "key": self.key,
            "ed25519": self.ed25519,
        }


def anchor_key_message(origin: str, chain: str, key: str) -> bytes:
    """The text a log's checkpoint key signs to bind an anchor key: `ANCHOR_KEY_CONTEXT`, the
    log's origin, the chain and the anchor key, one a line. It is a c2sp.org/signed-note text
    signed as a note is, so the binding also opens as a note (`— <origin> <base64 key id ‖
    signature>` appended) with any signed-note verifier."""
    return f"{ANCHOR_KEY_CONTEXT}\n{origin}\n{chain}\n{key}\n".encode()


@dataclass(frozen=True, slots=True)
class Anchor:
    """A checkpoint published on a chain: the anchor-key entry (`binding`) whose key signed the
    transaction, the transaction's id (its first signature, base58) and slot, and the tree size
    and root hash (hex) its memo holds (`keel.ledger.anchor`)."""

    binding: EntryId
    transaction: str
    slot: int
    size: int
    root: str
    kind: Literal["anchor"] = "anchor"

    def to_json(self) -> dict[str, JSON]:
        return {
            "kind": "anchor",
            "v": ENTRY_VERSION,
            "binding": self.binding,
            "transaction": self.transaction,
            "slot": self.slot,
            "size": self.size,
            "root": self.root,
        }


@dataclass(frozen=True, slots=True)
class Preference:
    """A pairwise judgement: which of two records (responses to the `prompt` record, if any) the
    judge prefers, in the order they were shown. Showing both orders gives two entries, so
    position bias is measurable (`keel.rlaif.pairs`). `score` is the judge's margin or
    confidence when it gives one; the rationale is a payload, as a verdict's is."""

    first: EntryId
    second: EntryId
    judge: str
    judge_kind: JudgeKind
    choice: Choice
    prompt: EntryId | None = None
    score: float | None = None
    rationale: PayloadRef | None = None
    kind: Literal["preference"] = "preference"

    def to_json(self) -> dict[str, JSON]:
        out: dict[str, JSON] = {
            "kind": "preference",
            "v": ENTRY_VERSION,
            "first": self.first,
            "second": self.second,
            "judge": {"id": self.judge, "kind": self.judge_kind},
            "choice": self.choice,
        }
        if self.prompt is not None:
            out["prompt"] = self.prompt
        if self.score is not None:
            out["score"] = self.score
        if self.rationale is not None:
            out["rationale"] = self.rationale.to_json()
        return out


Entry: TypeAlias = (
    Record
    | Verdict
    | Mix
    | Run
    | Redaction
    | Enrolment
    | Round
    | Close
    | AnchorKey
    | Anchor
    | Preference
)


def entry_bytes(entry: Entry) -> bytes:
    """The exact bytes that the ledger logs for `entry`."""
    return canonical(entry.to_json())


def payload_of(entry: Entry) -> PayloadRef | None:
    """The payload an entry commits to, if any."""
    if isinstance(entry, Record):
        return entry.payload
    if isinstance(entry, Verdict | Preference):
        return entry.rationale
    if isinstance(entry, Mix):
        return entry.members
    if isinstance(entry, Round):
        return entry.guidelines
    return None


def references(entry: Entry) -> list[EntryId]:
    """The ids of the entries `entry` points to (parents, judged record, round, signing key's
    enrolment, mix, a round's items, an anchor's key binding, a preference's prompt and
    candidates); they must exist."""
    if isinstance(entry, Record):
        return list(entry.parents)
    if isinstance(entry, Verdict):
        out = [entry.record]
        if entry.round is not None:
            out.append(entry.round)
        if entry.signature is not None:
            out.append(entry.signature.enrolment)
        return out
    if isinstance(entry, Run):
        return list(dict.fromkeys((entry.mix, *entry.uses)))
    if isinstance(entry, Round):
        return list(dict.fromkeys(i.record for i in entry.items))
    if isinstance(entry, Close):
        return [entry.round]
    if isinstance(entry, Anchor):
        return [entry.binding]
    if isinstance(entry, Preference):
        both = (entry.first, entry.second)
        return list(dict.fromkeys(both if entry.prompt is None else (entry.prompt, *both)))
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


def preference(
    first: str,
    second: str,
    judge: str,
    judge_kind: str,
    choice: str,
    *,
    prompt: str | None = None,
    score: float | None = None,
    rationale: str | None = None,
) -> tuple[Preference, bytes | None]:
    """A preference between the records `first` and `second` (in the order shown) and its
    rationale bytes, if any."""
    kind = next((k for k in JUDGE_KINDS if k == judge_kind), None)
    if kind is None:
        raise InputError(f"judge kind must be one of {', '.join(JUDGE_KINDS)}, got {judge_kind!r}")
    picked = next((c for c in CHOICES if c == choice), None)
    if picked is None:
        raise InputError(
            f"a preference's choice must be one of {', '.join(CHOICES)}, got {choice!r}"
        )
    if first == second:
        raise InputError(f"a preference compares two different records; both are {first}")
    if score is not None and not math.isfinite(score):
        raise InputError(f"a preference's score must be a finite number, got {score}")
    data = rationale.encode() if rationale is not None else None
    p = Preference(
        first=_check_id(first, "first"),
        second=_check_id(second, "second"),
        judge=judge,
        judge_kind=kind,
        choice=picked,
        prompt=None if prompt is None else _check_id(prompt, "prompt"),
        score=score,
        rationale=PayloadRef.of(data, "text") if data is not None else None,
    )
    return p, data


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
    return entry_from_json(obj)


def entry_from_json(obj: JSON) -> Entry:
    """`parse_entry` of bytes already parsed by `loads` (a reader that also needs the JSON
    parses once); InputError if it is not a keel entry."""
    if not isinstance(obj, dict) or obj.get("v") != ENTRY_VERSION:
        raise InputError('entry is not a keel v1 entry (expected an object with "v": 1)')
    try:
        return _from_json(obj)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"malformed {obj.get('kind')} entry: {exc!r}") from exc


# The plainest record entries (`plain_record`), as RFC 8785 writes them: keys in order, no
# space, strings of printable ASCII other than `"` and `\` (their JSON text is the string
# itself), integers of at most 15 digits (exact in a double, and never read back as a float).
_PLAIN_STR = rb'"[ !#-\[\]-~]*"'
_PLAIN_INT = rb"(?:0|-?[1-9][0-9]{0,14})"
_PLAIN_ID = rb'"[0-9a-f]{64}"'
_PLAIN_TAG = _PLAIN_STR + rb":(?:" + _PLAIN_STR + rb"|" + _PLAIN_INT + rb"|true|false|null)"
_PLAIN_RECORD = re.compile(
    rb'\{(?:"author":' + _PLAIN_STR + rb",)?"
    rb'(?:"generation":' + _PLAIN_INT + rb",)?"
    rb'"kind":"record","origin":"(?:' + "|".join(ORIGINS).encode() + rb')",'
    rb'(?:"parents":\[(?P<parents>' + _PLAIN_ID + rb"(?:," + _PLAIN_ID + rb")*)\],)?"
    rb'"payload":\{"sha256":"(?P<sha256>[0-9a-f]{64})","size":'
    + _PLAIN_INT
    + rb',"type":"(?:'
    + "|".join(get_args(PayloadType)).encode()
    + rb')"\},'
    rb'(?:"tags":(?P<tags>\{(?:' + _PLAIN_TAG + rb"(?:," + _PLAIN_TAG + rb")*)?\}),)?"
    rb'"v":' + str(ENTRY_VERSION).encode() + rb"\}"
)


def plain_record(data: bytes) -> tuple[Digest, list[EntryId]] | None:
    """The payload digest and parents of a record entry in its plainest form, or None.

    The plainest form is what ingest logs for most rows: a record with an author, generation,
    parents and tags of plain strings and small integers (no producer, no floats, ASCII only),
    byte for byte in RFC 8785 form. Bytes that match are a valid entry in canonical form:
    `parse_entry` gives the Record these fields come from, and `canonical` of their JSON gives
    the bytes back. None says nothing: parse the bytes to know (`parse_entry`, `canonical`).
    A reader of many entries (`keel ledger verify`) uses it to skip building the value.
    """
    m = _PLAIN_RECORD.fullmatch(data)
    if m is None:
        return None
    tags = m["tags"]
    if tags is not None and dumps_sorted(orjson.loads(tags)) != tags:
        return None  # keys out of order or repeated
    parents = m["parents"]
    ids = [] if parents is None else parents[1:-1].decode().split('","')
    return Digest(m["sha256"].decode()), cast(list[EntryId], ids)


def _payload(obj: dict[str, JSON]) -> PayloadRef:
    if not is_hex_digest(obj["sha256"]):
        raise ValueError(f"payload digest {obj['sha256']!r} is not 64 lower-case hex digits")
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
        sig = cast(dict[str, JSON] | None, obj.get("signature"))
        return Verdict(
            record=EntryId(str(obj["record"])),
            judge=str(judge["id"]),
            judge_kind=cast(JudgeKind, judge["kind"]),
            label=cast(str | None, obj.get("label")),
            score=cast(float | None, obj.get("score")),
            rubric=cast(str | None, obj.get("rubric")),
            rationale=None if rationale is None else _payload(rationale),
            round=None if obj.get("round") is None else _check_id(obj["round"], "round"),
            seconds=cast(float | None, obj.get("seconds")),
            correction=cast(str | None, obj.get("correction")),
            signature=None
            if sig is None
            else DecisionSignature(
                _check_id(sig["enrolment"], "enrolment"),
                _one_of(sig["made"], SIGNED_IN, "made"),
                str(sig["ed25519"]),
            ),
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
            uses=tuple(_check_id(u, "run input") for u in cast(list[JSON], obj.get("uses", []))),
        )
    if kind == "redaction":
        return Redaction(digest=Digest(str(obj["digest"])), reason=str(obj["reason"]))
    if kind == "enrolment":
        return Enrolment(
            name=str(obj["name"]), role=_one_of(obj["role"], ROLES, "role"), key=str(obj["key"])
        )
    if kind == "round":
        guidelines = cast(dict[str, JSON] | None, obj.get("guidelines"))
        return Round(
            items=tuple(
                _round_item(cast(dict[str, JSON], i)) for i in cast(list[JSON], obj["items"])
            ),
            budget=int(cast(int, obj["budget"])),
            random_share=float(cast(float, obj["random_share"])),
            seed=int(cast(int, obj["seed"])),
            overlap=int(cast(int, obj["overlap"])),
            show_judges=bool(obj["show_judges"]),
            generation=cast(int | None, obj.get("generation")),
            gold=cast(str | None, obj.get("gold")),
            guidelines=None if guidelines is None else _payload(guidelines),
        )
    if kind == "close":
        answers = cast(dict[str, JSON], obj.get("answers", {}))
        return Close(
            round=_check_id(obj["round"], "round"),
            salt=cast(str | None, obj.get("salt")),
            answers={
                _check_id(k, "gold item"): _one_of(v, DECISIONS, "gold answer")
                for k, v in answers.items()
            },
        )
    if kind == "anchor-key":
        return AnchorKey(chain=str(obj["chain"]), key=str(obj["key"]), ed25519=str(obj["ed25519"]))
    if kind == "anchor":
        return Anchor(
            binding=_check_id(obj["binding"], "binding"),
            transaction=str(obj["transaction"]),
            slot=int(cast(int, obj["slot"])),
            size=int(cast(int, obj["size"])),
            root=_hex_root(obj["root"]),
        )
    if kind == "preference":
        judge = cast(dict[str, JSON], obj["judge"])
        rationale = cast(dict[str, JSON] | None, obj.get("rationale"))
        return Preference(
            first=_check_id(obj["first"], "first"),
            second=_check_id(obj["second"], "second"),
            judge=str(judge["id"]),
            judge_kind=_one_of(judge["kind"], JUDGE_KINDS, "judge kind"),
            choice=_one_of(obj["choice"], CHOICES, "choice"),
            prompt=None if obj.get("prompt") is None else _check_id(obj["prompt"], "prompt"),
            score=cast(float | None, obj.get("score")),
            rationale=None if rationale is None else _payload(rationale),
        )
    raise ValueError(f"unknown kind {kind!r}")


def _hex_root(value: JSON) -> str:
    if not is_hex_digest(value):
        raise ValueError(f"an anchor's root must be 64 lower-case hex digits, got {value!r}")
    return cast(str, value)


def _round_item(obj: dict[str, JSON]) -> RoundItem:
    return RoundItem(
        record=_check_id(obj["record"], "round item"),
        p=float(cast(float, obj["p"])),
        reason=_one_of(obj["reason"], ITEM_REASONS, "reason"),
        reviewers=tuple(str(r) for r in cast(list[JSON], obj["reviewers"])),
    )


def _one_of(value: JSON, allowed: tuple[_S, ...], what: str) -> _S:
    for a in allowed:
        if value == a:
            return a
    raise ValueError(f"{what} must be one of {', '.join(allowed)}, got {value!r}")
