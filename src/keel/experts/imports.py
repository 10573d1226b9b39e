"""Reviews made in other labelling tools (Argilla 2.x, Label Studio), logged as expert verdicts.

`read_export` parses a tool's JSON export into `ImportedReview`s, one per reviewer and item,
without touching a ledger; `import_reviews` finds each item's record in the ledger, checks every
review, and appends the verdicts in one `Ledger.append` call, or refuses the whole file
(`ImportRefusedError`, exit 2) and appends nothing.

Formats read (a JSON array, one object, or JSON Lines):

- Argilla 2.x records, nested as `dataset.records.to_json()` and `to_disk` write them
  (``responses: {question: [{value, user_id}]}``) or flat as
  `dataset.records.to_list(flatten=True)` and Hugging Face exports lay them out
  (``question.responses``, ``.responses.users``, ``.responses.status``).
- Label Studio's JSON export: tasks with ``data``, ``meta`` and ``annotations``, each annotation
  with ``completed_by``, ``was_cancelled`` and a ``result`` of ``choices`` / ``textarea`` regions.

An item names its record by keel id (Argilla ``metadata.keel_id`` or a record ``id`` of 64 hex
digits; Label Studio ``data.keel_id`` or ``meta.keel_id``), else by its exact text, which must
be the text of exactly one record. The decision is the answer to the label question, one of
`ACCEPT_WORDS`, `REJECT_WORDS` or `DEGENERATE_WORDS` (any case); the rationale the answer to a
text question. Discarded and draft Argilla responses, cancelled Label Studio annotations and
answers without a decision are skipped and counted.

The verdicts carry the rubric ``keel-import/<tool>`` and the reviewer ``<tool>:<user id>``, so
they are never taken for keel's own review rounds (``keel-review/...``, keel's reviewer names):
they are unsigned, answer no keel round, and their sample was drawn outside keel (not random
anchors in keel's sense).
"""

from __future__ import annotations

import codecs
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, cast, get_args

import orjson

from keel._input import read_rows
from keel.errors import InputError, NotFoundError
from keel.ledger import Ledger
from keel.records import JSON, Decided, EntryId, Verdict, is_hex_digest, parse_json, verdict

Tool = Literal["argilla", "labelstudio"]
TOOLS: tuple[Tool, ...] = get_args(Tool)
RUBRIC_PREFIX = "keel-import/"
"""Rubric of an imported verdict, followed by the tool's name (``keel-import/argilla``)."""
ACCEPT_WORDS = frozenset({"accept", "adopt", "yes", "good", "correct", "pass", "true"})
REJECT_WORDS = frozenset({"reject", "no", "bad", "incorrect", "fail", "false"})
DEGENERATE_WORDS = frozenset({"degenerate"})
RATIONALE_NAMES = frozenset(
    {"rationale", "comment", "comments", "reason", "explanation", "feedback", "note", "notes"}
)
"""Names of the text question taken as the rationale when none is named (any case)."""
SKIPPED_STATUSES = ("discarded", "draft")
"""Argilla response statuses that are not a decision (a draft may still change)."""
_ARGILLA_RESERVED = frozenset(
    {"id", "status", "_server_id", "keel_id", "score", "vectors", "fields", "metadata"}
)
"""Keys of a flattened Argilla record that are not its fields (its id, status and metadata)."""
_MAX_LISTED = 20
_NAMES: dict[Tool, str] = {"argilla": "Argilla", "labelstudio": "Label Studio"}
_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", int: "a number",
               float: "a number", bool: "a boolean"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ImportedReview:
    """One reviewer's answer on one item of an export, as read (nothing matched to a ledger yet).

    `where` is ``file:item`` (item counted from 1; the line in JSON Lines). Exactly one of
    `decision`, `skipped` (why the answer is no verdict: discarded, draft, cancelled, no answer)
    and `problem` (what is malformed) is set."""

    where: str
    tool: Tool
    reviewer: str
    text: str | None
    keel_id: str | None
    question: str | None
    decision: Decided | None = None
    rationale: str | None = None
    skipped: str | None = None
    problem: str | None = None

    @property
    def place(self) -> str:
        """Where the review is, with its reviewer: for messages."""
        return f"{self.where} ({self.reviewer})" if self.reviewer else self.where


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import logged: the answers read (`reviews`, skipped ones included), one verdict
    id per imported review (in file order), how many were new and how many already in the
    ledger, and the answers skipped by reason."""

    reviews: int
    verdicts: tuple[EntryId, ...]
    appended: int
    existing: int
    skipped: Mapping[str, int] = field(default_factory=dict)
    reviewers: tuple[str, ...] = ()
    records: int = 0
    by_text: int = 0
    """Reviews whose record was found by exact text (the others by keel id)."""


class ImportRefusedError(InputError):
    """Some reviews of an export cannot be logged (malformed, unknown or ambiguous item, a
    reviewer twice on one record); `problems` lists each, and nothing was appended."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        listed = "\n  ".join(self.problems[:_MAX_LISTED])
        more = len(self.problems) - _MAX_LISTED
        super().__init__(
            f"{len(self.problems)} review(s) cannot be imported, so nothing was appended; fix "
            f"or remove them and import again:\n  {listed}"
            + (f"\n  ... and {more} more" if more > 0 else "")
        )


# -- reading ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Answer:
    """One reviewer's answers on one item: question name -> (value, result type if known)."""

    reviewer: str
    answers: dict[str, tuple[JSON, str | None]]
    skipped: str | None = None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class _Item:
    """One exported record or task: where it is, how it names its record, who answered what."""

    where: str
    text: str | None
    keel_id: str | None
    answers: tuple[_Answer, ...]
    problem: str | None = None


def read_export(
    path: Path,
    fmt: str | None = None,
    question: str | None = None,
    *,
    rationale: str | None = None,
    text_field: str | None = None,
) -> list[ImportedReview]:
    """The reviews in an Argilla or Label Studio JSON export (module docstring), one per
    reviewer and item, in file order.

    `fmt` is ``argilla`` or ``labelstudio`` (default: told from the items). `question` names
    the label question (default: Label Studio's first ``choices`` control; Argilla's first
    question answered mostly with decision words); `rationale` the text question (default:
    Label Studio's first ``textarea``, else a question named as in `RATIONALE_NAMES`);
    `text_field` the item's text field (default: ``text``, else the item's only text field).
    A file that cannot be read as an export is an InputError; a malformed item or answer is a
    review with a `problem`, for `import_reviews` to report with the others.
    """
    if fmt is not None and fmt not in TOOLS:
        raise InputError(f"the format must be one of {', '.join(TOOLS)}, got {fmt!r}")
    rows = _rows(path)
    tool = _tool(rows, fmt, path)
    if tool is None:
        return []
    read = _argilla_item if tool == "argilla" else _labelstudio_item
    items = [read(f"{path}:{n}", row, text_field) for n, row in rows]
    question, rationale = _questions(items, tool, question, rationale, path)
    out: list[ImportedReview] = []
    for item in items:
        if item.problem is not None:
            review = ImportedReview(item.where, tool, "", item.text, item.keel_id, question)
            out.append(replace(review, problem=item.problem))
            continue
        out += [_review(item, a, tool, question, rationale) for a in item.answers]
    return out


def _rows(path: Path) -> list[tuple[int, JSON]]:
    """The items of a JSON array, a single JSON object, or JSON Lines, each with its number
    (item from 1, or line)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{path} is a folder: give the export's JSON file") from exc
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}") from exc
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{path}:{line}: not UTF-8 ({exc.reason} at byte {exc.start + 1} of the file); "
            "export the file again as UTF-8 JSON"
        ) from exc
    data = data.removeprefix(codecs.BOM_UTF8)
    if not data.strip():
        raise InputError(f"{path} is empty: give the tool's JSON export")
    try:
        value = parse_json(data, str(path))
    except orjson.JSONDecodeError as exc:
        lines = [line for line in data.splitlines() if line.strip()]
        if len(lines) > 1 and _is_object(lines[0]):
            return [(n, cast(JSON, row)) for n, _, row in read_rows(path, "jsonl")]
        raise InputError(
            f"{path}: not valid JSON ({exc}); give the JSON export of Argilla or Label Studio"
        ) from exc
    if isinstance(value, dict):
        return [(1, value)]
    if isinstance(value, list):
        return list(enumerate(value, 1))
    raise InputError(f"{path}: expected a JSON array of records or tasks, got {_kind(value)}")


def _is_object(line: bytes) -> bool:
    try:
        return isinstance(orjson.loads(line), dict)
    except orjson.JSONDecodeError:
        return False


def _tool(rows: Sequence[tuple[int, JSON]], fmt: Tool | None, path: Path) -> Tool | None:
    """The tool whose export `rows` are, told by the first item with a tool's keys: `fmt` if
    given (refused if the items say otherwise); None if there are no items."""
    told: Tool | None = None
    for _, row in rows:
        if not isinstance(row, dict):
            continue
        if "annotations" in row or "completions" in row or "data" in row:
            told = "labelstudio"
        elif "responses" in row or "fields" in row or any(k.endswith(".responses") for k in row):
            told = "argilla"
        else:
            continue
        break
    if fmt is not None and told is not None and told != fmt:
        raise InputError(
            f"{path} is an export of {_NAMES[told]}, not of {_NAMES[fmt]}: drop --format {fmt}"
        )
    if fmt is not None or told is not None or not rows:
        return fmt or told
    raise InputError(
        f"{path}: cannot tell an Argilla export from a Label Studio one (no item has "
        "'responses' or 'annotations'); pass --format argilla or --format labelstudio"
    )


def _text(fields: Mapping[str, JSON], text_field: str | None) -> str | None:
    """The item's text: the named field, else ``text``, else its only text field."""
    if text_field is not None:
        value = fields.get(text_field)
        return value if isinstance(value, str) else None
    if isinstance(fields.get("text"), str):
        return cast(str, fields["text"])
    texts = [v for v in fields.values() if isinstance(v, str)]
    return texts[0] if len(texts) == 1 else None


def _keel_id(value: JSON, what: str) -> tuple[str | None, str | None]:
    """(keel id, problem) of an item's keel id field."""
    if value is None:
        return None, None
    if isinstance(value, str) and is_hex_digest(value.lower()):
        return value.lower(), None
    return None, f"{what} {_short(value)} is not a keel record id (64 hex digits)"


def _argilla_item(where: str, row: JSON, text_field: str | None) -> _Item:
    if not isinstance(row, dict):
        return _Item(where, None, None, (), f"expected an Argilla record, got {_kind(row)}")
    nested = isinstance(row.get("responses"), dict) or isinstance(row.get("fields"), dict)
    if nested:
        fields, metadata = row.get("fields") or {}, row.get("metadata") or {}
        if not isinstance(fields, dict) or not isinstance(metadata, dict):
            return _Item(where, None, None, (), "'fields' and 'metadata' must be JSON objects")
        text = _text(fields, text_field)
    else:
        metadata = row
        fields = {
            k: v
            for k, v in row.items()
            if k not in _ARGILLA_RESERVED and ".responses" not in k and ".suggestion" not in k
        }
        text = _text(fields, text_field)
    keel_id, problem = _keel_id(metadata.get("keel_id"), "metadata keel_id")
    if keel_id is None and problem is None:
        record_id = row.get("id")
        if isinstance(record_id, str) and is_hex_digest(record_id.lower()):
            keel_id = record_id.lower()
    if problem is not None:
        return _Item(where, text, None, (), problem)
    answers, problem = _argilla_nested(row) if nested else _argilla_flat(row)
    return _Item(where, text, keel_id, answers, problem)


def _argilla_nested(row: dict[str, JSON]) -> tuple[tuple[_Answer, ...], str | None]:
    """Answers of a record as `Record.to_dict` writes them: {question: [{value, user_id}]}."""
    responses = row.get("responses") or {}
    if not isinstance(responses, dict):
        return (), "'responses' must be a JSON object of questions"
    by_user: dict[str, dict[str, tuple[JSON, str | None]]] = {}
    status: dict[str, str] = {}
    for name, listed in responses.items():
        if not isinstance(listed, list):
            return (), f"responses to {name!r} must be a list, got {_kind(listed)}"
        for response in listed:
            if not isinstance(response, dict):
                return (), f"a response to {name!r} is not a JSON object"
            user = response.get("user_id")
            if not isinstance(user, str | int) or isinstance(user, bool) or user == "":
                return (), f"a response to {name!r} has no user_id"
            reviewer = f"argilla:{user}"
            answers = by_user.setdefault(reviewer, {})
            if name in answers:
                return (), f"{reviewer} answers {name!r} twice"
            answers[name] = (response.get("value"), None)
            _note_status(status, reviewer, response.get("status"))
    return tuple(_Answer(r, a, status.get(r)) for r, a in by_user.items()), None


def _argilla_flat(row: dict[str, JSON]) -> tuple[tuple[_Answer, ...], str | None]:
    """Answers of a flattened record: ``q.responses``, ``q.responses.users``, ``.status``."""
    by_user: dict[str, dict[str, tuple[JSON, str | None]]] = {}
    status: dict[str, str] = {}
    for key, values in row.items():
        if not key.endswith(".responses") or values is None:
            continue
        name = key.removesuffix(".responses")
        users = row.get(f"{key}.users")
        statuses = row.get(f"{key}.status")
        if statuses is None and isinstance(values, list):
            statuses = [None] * len(values)
        if not (
            isinstance(values, list)
            and isinstance(users, list)
            and isinstance(statuses, list)
            and len(values) == len(users) == len(statuses)
        ):
            return (), (
                f"{key!r}, {key + '.users'!r} and {key + '.status'!r} must be lists of one "
                "length (a value, a user and a status per response)"
            )
        for value, user, given in zip(values, users, statuses, strict=True):
            if not isinstance(user, str | int) or isinstance(user, bool) or user == "":
                return (), f"a response to {name!r} has no user id"
            reviewer = f"argilla:{user}"
            answers = by_user.setdefault(reviewer, {})
            if name in answers:
                return (), f"{reviewer} answers {name!r} twice"
            answers[name] = (value, None)
            _note_status(status, reviewer, given)
    return tuple(_Answer(r, a, status.get(r)) for r, a in by_user.items()), None


def _note_status(skipped: dict[str, str], reviewer: str, status: JSON) -> None:
    """Mark `reviewer`'s answers on an item skipped if any of them is discarded or a draft
    (Argilla gives one status to all of a user's answers on a record)."""
    if isinstance(status, str) and status in SKIPPED_STATUSES:
        skipped.setdefault(reviewer, status)


def _kind(value: JSON) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _labelstudio_item(where: str, row: JSON, text_field: str | None) -> _Item:
    if not isinstance(row, dict):
        return _Item(where, None, None, (), f"expected a Label Studio task, got {_kind(row)}")
    annotations = row.get("annotations", row.get("completions")) or []
    data, meta = row.get("data") or {}, row.get("meta") or {}
    if not isinstance(annotations, list):
        return _Item(where, None, None, (), "'annotations' must be a list")
    if not isinstance(data, dict) or not isinstance(meta, dict):
        return _Item(where, None, None, (), "'data' and 'meta' must be JSON objects")
    text = _text({k: v for k, v in data.items() if k != "keel_id"}, text_field)
    keel_id, problem = _keel_id(data.get("keel_id"), "data keel_id")
    if keel_id is None and problem is None:
        keel_id, problem = _keel_id(meta.get("keel_id"), "meta keel_id")
    if problem is not None:
        return _Item(where, text, None, (), problem)
    answers = []
    for k, annotation in enumerate(annotations, 1):
        answer = _annotation(annotation)
        if answer.problem is not None:
            return _Item(where, text, keel_id, (), f"annotation {k}: {answer.problem}")
        answers.append(answer)
    return _Item(where, text, keel_id, tuple(answers))


def _annotation(annotation: JSON) -> _Answer:
    """One Label Studio annotation: its annotator, whether it was cancelled, its results."""
    if not isinstance(annotation, dict):
        return _Answer("", {}, problem="not a JSON object")
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        who = who.get("id", who.get("email"))
    if not isinstance(who, str | int) or isinstance(who, bool) or who == "":
        return _Answer("", {}, problem="no 'completed_by' (the annotator's user id)")
    reviewer = f"labelstudio:{who}"
    if annotation.get("was_cancelled") is True or annotation.get("skipped") is True:
        return _Answer(reviewer, {}, skipped="cancelled")
    results = annotation.get("result") or []
    if not isinstance(results, list):
        return _Answer(reviewer, {}, problem="'result' must be a list")
    answers: dict[str, tuple[JSON, str | None]] = {}
    for result in results:
        if not isinstance(result, dict) or not isinstance(result.get("from_name"), str):
            return _Answer(reviewer, {}, problem="a result without a 'from_name'")
        name, kind, value = result["from_name"], result.get("type"), result.get("value")
        kind = kind if isinstance(kind, str) else None
        if isinstance(value, dict) and kind in ("choices", "textarea"):
            value = value.get("choices" if kind == "choices" else "text")
        elif isinstance(value, dict) and "choices" in value:
            value = value["choices"]
        if name in answers:
            return _Answer(reviewer, {}, problem=f"two results for {name!r}")
        answers[cast(str, name)] = (value, kind)
    return _Answer(reviewer, answers)


def _questions(
    items: Sequence[_Item], tool: Tool, question: str | None, rationale: str | None, path: Path
) -> tuple[str | None, str | None]:
    """The label and rationale questions: as named, else found as `read_export` says."""
    names: dict[str, str | None] = {}  # question -> result type, in order of appearance
    values: dict[str, list[JSON]] = {}
    for item in items:
        for answer in item.answers:
            for name, (value, kind) in answer.answers.items():
                names.setdefault(name, kind)
                values.setdefault(name, []).append(value)
    if rationale is None:
        rationale = next((n for n, k in names.items() if k == "textarea"), None) or next(
            (n for n in names if n.lower() in RATIONALE_NAMES), None
        )
    if question is not None:
        if names and question not in names:
            raise InputError(
                f"{path}: no question {question!r}; the export answers "
                f"{', '.join(map(repr, names))}; name one with --question"
            )
        return question, rationale
    if not names:
        return None, rationale
    if tool == "labelstudio":
        question = next((n for n, k in names.items() if k == "choices"), None)
    else:
        question = next((n for n in names if n != rationale and _mostly_decisions(values[n])), None)
    if question is None:
        raise InputError(
            f"{path}: no {'choices question' if tool == 'labelstudio' else 'question'} whose "
            f"answers are decisions (accept, reject, degenerate, ...) among "
            f"{', '.join(map(repr, names))}; name the label question with --question"
        )
    return question, rationale


def _mostly_decisions(values: Sequence[JSON]) -> bool:
    """Whether most answers given are decision words (a label question, where a stray label
    is then reported as malformed rather than hiding the question)."""
    given = [v for v in values if v is not None and v != []]
    return 2 * sum(_decision(v)[0] is not None for v in given) > len(given)


def _decision(value: JSON) -> tuple[Decided | None, str | None]:
    """(decision, problem) of an answer: a decision word, or a list of exactly one."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ACCEPT_WORDS:
            return "accept", None
        if word in REJECT_WORDS:
            return "reject", None
        if word in DEGENERATE_WORDS:
            return "degenerate", None
    return None, (
        f"answer {_short(value)} is not a decision: use one of accept, adopt, yes, good, "
        "correct, pass, true / reject, no, bad, incorrect, fail, false / degenerate"
    )


def _review(
    item: _Item, answer: _Answer, tool: Tool, question: str | None, rationale: str | None
) -> ImportedReview:
    base = ImportedReview(item.where, tool, answer.reviewer, item.text, item.keel_id, question)
    if answer.skipped is not None:
        return replace(base, skipped=answer.skipped)
    value = answer.answers.get(question, (None, None))[0] if question else None
    if value is None or value == []:
        return replace(base, skipped="no answer")
    decision, problem = _decision(value)
    if problem is not None:
        return replace(base, problem=f"{question!r}: {problem}")
    why = answer.answers.get(rationale, (None, None))[0] if rationale else None
    if isinstance(why, list) and all(isinstance(w, str) for w in why):
        why = "\n".join(cast(list[str], why))
    if why is not None and not isinstance(why, str):
        return replace(base, problem=f"the answer to {rationale!r} is not text: {_short(why)}")
    if item.keel_id is None and item.text is None:
        return replace(
            base,
            problem="the item has no keel_id and no text field; name its text field with "
            "--text-field, or give it a keel_id",
        )
    return replace(base, decision=decision, rationale=(why.strip() or None) if why else None)


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- importing -------------------------------------------------------------------------------
def import_reviews(ledger: Ledger, reviews: Sequence[ImportedReview]) -> ImportReport:
    """Log `reviews` as expert verdicts in one append, after checking every one: each names
    exactly one record of the ledger (by keel id, else exact text), is well formed, and is the
    only review of its reviewer on its record. Any failure raises `ImportRefusedError` listing them
    all, and nothing is appended. A verdict already in the ledger is not appended again."""
    problems: list[str] = []
    skipped: Counter[str] = Counter()
    kept: list[ImportedReview] = []
    found: dict[tuple[bool, str], tuple[EntryId | None, str]] = {}  # (by id?, key) -> (id, why)
    records: list[EntryId] = []
    seen: dict[tuple[EntryId, str], str] = {}
    with ledger.snapshot():
        for r in reviews:
            if r.problem is not None:
                problems.append(f"{r.place}: {r.problem}")
                continue
            if r.skipped is not None:
                skipped[r.skipped] += 1
                continue
            key = (True, r.keel_id) if r.keel_id is not None else (False, cast(str, r.text))
            if key not in found:
                found[key] = _by_id(ledger, key[1]) if key[0] else _by_text(ledger, key[1])
            record, why = found[key]
            if record is None:
                problems.append(f"{r.place}: {why}")
                continue
            first = seen.setdefault((record, r.reviewer), r.where)
            if first != r.where:
                problems.append(
                    f"{r.place}: a second review of record {record[:12]} by {r.reviewer} "
                    f"(the first is at {first}); keep one"
                )
            kept.append(r)
            records.append(record)
    if problems:
        raise ImportRefusedError(problems)
    entries: list[tuple[Verdict, bytes | None]] = [
        verdict(
            record,
            r.reviewer,
            "expert",
            label=r.decision,
            score=1.0 if r.decision == "accept" else 0.0,
            rubric=RUBRIC_PREFIX + r.tool,
            rationale=r.rationale,
        )
        for r, record in zip(kept, records, strict=True)
    ]
    appended = ledger.append(entries) if entries else []
    new = sum(a.new for a in appended)
    return ImportReport(
        reviews=len(reviews),
        verdicts=tuple(a.id for a in appended),
        appended=new,
        existing=len(appended) - new,
        skipped=dict(skipped),
        reviewers=tuple(sorted({r.reviewer for r in kept})),
        records=len(set(records)),
        by_text=sum(r.keel_id is None for r in kept),
    )


def _by_id(ledger: Ledger, keel_id: str) -> tuple[EntryId | None, str]:
    """The record with this id, or why there is none."""
    try:
        located = ledger.locate(keel_id)
    except NotFoundError:
        located = None
    if located is None or located.id != keel_id:  # (locate also finds external ids)
        return None, f"no record {keel_id} in this ledger: was the export made from another?"
    if located.entry.kind != "record":
        return None, f"{keel_id} is a {located.entry.kind} entry, not a record"
    return located.id, ""


def _by_text(ledger: Ledger, text: str) -> tuple[EntryId | None, str]:
    """The one record whose text is exactly `text`, or why there is none."""
    ids = sorted({f.id for f in ledger.find_text(text) if f.entry.kind == "record"})
    if len(ids) == 1:
        return ids[0], ""
    if not ids:
        return (
            None,
            f"no record has exactly the text {_short(text)}: ingest it, or give the item a keel_id",
        )
    listed = ", ".join(i[:12] for i in ids)
    return None, (
        f"{len(ids)} records have exactly the text {_short(text)} ({listed}); give the item "
        "the keel_id of the one reviewed"
    )
