"""What every judge shares: its result, the `Judge` interface, rubrics, parsing an LLM
judge's answer, running a judge in chunks and turning its results into ledger verdicts.

An LLM judge must answer one JSON object; an answer that does not parse is counted as
unparseable and gives no verdict (it is never guessed). The judges themselves are in
`keel.judges.backends`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import orjson

from keel.errors import InputError
from keel.records import JudgeKind, Verdict, sha256_hex, verdict
from keel.scale import Executor, resolve

Label = Literal["accept", "reject"]
JudgeBackend = Literal["likelihood", "repetition", "llm"]
"""How a judge judges: n-gram likelihood or repetition against human texts, or a served LLM."""
JUDGE_BACKENDS: tuple[JudgeBackend, ...] = ("likelihood", "repetition", "llm")
FENCED = re.compile(r"\A```(?:json)?[ \t]*\n(.*?)\n?```\Z", re.DOTALL)


@dataclass(frozen=True, slots=True)
class JudgeResult:
    """One judgement; `label` is None when the answer could not be parsed (`error` says why)."""

    label: Label | None
    score: float | None
    rationale: str
    """The judge's reason; for an unparseable answer, the raw answer."""
    error: str | None = None

    @property
    def parsed(self) -> bool:
        return self.label is not None


class Judge(Protocol):
    """A judge that runs: an id, its kind, the rubric it applies, and `judge(texts)`."""

    @property
    def id(self) -> str: ...

    @property
    def kind(self) -> JudgeKind: ...

    @property
    def rubric(self) -> str | None: ...

    def judge(self, texts: Sequence[str]) -> list[JudgeResult]: ...


@dataclass(frozen=True, slots=True)
class Rubric:
    """What an LLM judge checks: an id and the text put in its prompt."""

    id: str
    text: str

    @property
    def ref(self) -> str:
        """The id with the first 12 hex digits of the text's SHA-256: edits show in verdicts."""
        return f"{self.id}@{sha256_hex(self.text.encode())[:12]}"

    @classmethod
    def load(cls, path: Path) -> Rubric:
        """A rubric file: TOML with `id` and `text`, or any other text file (id: its stem)."""
        try:
            raw = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read rubric {path}: {exc.strerror}") from exc
        if path.suffix != ".toml":
            return cls._checked(path.stem, raw, path)
        import tomllib

        try:
            doc = tomllib.loads(raw)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"rubric {path}: {exc}") from exc
        rid, text = doc.get("id"), doc.get("text")
        if not isinstance(rid, str) or not isinstance(text, str):
            raise InputError(f'rubric {path} needs string keys id = "..." and text = """..."""')
        return cls._checked(rid, text, path)

    @classmethod
    def _checked(cls, rid: str, text: str, path: Path) -> Rubric:
        if not rid.strip() or not text.strip():
            raise InputError(f"rubric {path} has an empty id or text")
        return cls(rid.strip(), text.strip())


def parse_judgement(answer: str) -> JudgeResult:
    """Parse an LLM judge's answer: one JSON object (alone, or alone in a ```json fence) with
    "verdict" accept|reject, a numeric "score" in [0, 1] and a string "rationale"."""
    body = answer.strip()
    fenced = FENCED.match(body)
    if fenced is not None:
        body = fenced.group(1).strip()
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _unparseable(answer, "the answer is not a JSON object")
    if not isinstance(obj, dict):
        return _unparseable(answer, "the answer is JSON but not an object")
    label = obj.get("verdict")
    score = obj.get("score")
    rationale = obj.get("rationale")
    if not isinstance(label, str) or label.strip().lower() not in ("accept", "reject"):
        return _unparseable(answer, f'"verdict" must be "accept" or "reject", got {label!r}')
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
        return _unparseable(answer, f'"score" must be a number in [0, 1], got {score!r}')
    if not isinstance(rationale, str):
        return _unparseable(answer, f'"rationale" must be a string, got {rationale!r}')
    clean: Label = "accept" if label.strip().lower() == "accept" else "reject"
    return JudgeResult(clean, float(score), rationale)


def _unparseable(answer: str, why: str) -> JudgeResult:
    return JudgeResult(None, None, answer, why)


def run_judge(
    judge: Judge,
    texts: Sequence[str],
    *,
    chunk: int = 256,
    on_done: Callable[[int], None] | None = None,
    executor: Executor | None = None,
    concurrency: int | None = None,
) -> list[JudgeResult]:
    """`judge.judge(texts)` in chunks, calling `on_done(n judged so far)` after each.

    The chunks run on `executor` (`keel.scale`; default: here, one after another), at most
    `concurrency` at once, and their results come back in order: the same list on any
    executor. A remote executor needs a judge that pickles (the offline ones do)."""
    results: list[JudgeResult] = []
    chunks = [texts[start : start + chunk] for start in range(0, len(texts), chunk)]
    for done in resolve(executor).map(judge.judge, chunks, concurrency=concurrency):
        results.extend(done)
        if on_done is not None:
            on_done(len(results))
    return results


@dataclass(frozen=True, slots=True)
class JudgeCounts:
    """How a batch of judgements came out."""

    judged: int
    accepted: int
    rejected: int
    unparseable: int

    @classmethod
    def of(cls, results: Sequence[JudgeResult]) -> JudgeCounts:
        labels = [r.label for r in results]
        return cls(len(results), labels.count("accept"), labels.count("reject"), labels.count(None))


def to_verdicts(
    judge: Judge, records: Sequence[str], results: Sequence[JudgeResult]
) -> list[tuple[Verdict, bytes | None]]:
    """Ledger verdict entries (with rationale bytes) for the parsed results; unparseable ones
    give none."""
    if len(records) != len(results):
        raise InputError(f"{len(records)} record ids for {len(results)} judge results")
    return [
        verdict(
            rid,
            judge.id,
            judge.kind,
            label=r.label,
            score=r.score,
            rationale=r.rationale,
            rubric=judge.rubric,
        )
        for rid, r in zip(records, results, strict=True)
        if r.parsed
    ]
