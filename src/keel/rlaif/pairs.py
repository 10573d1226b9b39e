"""Preference pairs: where they come from, how a judge sees them, and their entries in the ledger.

A pair is a prompt and two responses `a` and `b`, with the expert's (or, in a simulation, the
ground truth's) preference when it is known. A judge sees each pair twice, once in each order,
and each showing is one `preference` entry (keel.records.Preference), so that position bias is
measured, not averaged away. Pairs come from a keel generator (two samples per prompt), from
human text against degraded copies of it (easy pairs by construction, harder as the two copies'
degradation levels approach), or from a file of preferences. `audit_preferences` feeds the
logged preferences to keel's pairwise audit (position bias, consistency, length bias,
self-preference; `keel.judges.pairwise`).

The simulated judges decide from a pair's known preference with seeded, asymmetric flips,
oriented by length: `flip_longer` = P(the judge picks the shorter response | the longer one is
better), `flip_shorter` = P(it picks the longer | the shorter is better). A critic finds more
to fault in a longer answer: `critical_judge` flips against the longer one twice as often
(2:1, the ratio of error-detection to confirmation rates that keel's audit reports for critical
judges; Abdoli et al., arXiv 2509.10707). `length_judge` has the verbosity bias (Zheng et al.
2023, arXiv 2306.05685): it picks the longer response whenever it flips.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, Protocol, cast

import numpy as np

from keel._input import Fields, read_rows
from keel.errors import ConfigError, InputError
from keel.judges import PairProfile, audit_pairwise
from keel.ledger import Appended, Ledger, Pending, prepare
from keel.models import TextModel
from keel.records import (
    HUMAN_ORIGINS,
    ORIGINS,
    Choice,
    EntryId,
    JudgeKind,
    Origin,
    Preference,
    Producer,
    Record,
    entry_id,
    parse_entry,
    preference,
    text_record,
)
from keel.text import detokenize, tokenize

Side = Literal["a", "b", "tie"]
"""Which response of a pair is better: `a`, `b`, or neither."""
SIDES: tuple[Side, ...] = ("a", "b", "tie")
GOLD_JUDGE = "expert:gold"
"""The judge id of logged gold preferences whose file or source names no expert."""
FILLERS = ("um", "uh", "basically", "like", "stuff", "literally", "whatever", "so")
"""Words the degradation puts in: filler a reader notices (and a reward model can learn)."""


@dataclass(frozen=True, slots=True)
class Response:
    """One response of a pair: its text, its origin and the model that produced it, if any."""

    text: str
    origin: Origin = "synthetic"
    producer: str | None = None


@dataclass(frozen=True, slots=True)
class Pair:
    """A prompt and two responses; `gold` is the expert's preference when known (the anchors)."""

    prompt: str
    a: Response
    b: Response
    gold: Side | None = None
    gold_judge: str = GOLD_JUDGE
    prompt_origin: Origin = "human"
    gold_entries: tuple[EntryId, ...] = ()
    """The expert preference entries the gold comes from, when read from the ledger."""

    @property
    def longer_is_a(self) -> bool:
        """Whether `a` is the longer response in characters (ties: `a`, the first of the pair):
        the orientation of the simulated judges' and of `NoiseRates`' flips."""
        return len(self.a.text) >= len(self.b.text)


@dataclass(frozen=True, slots=True)
class Shown:
    """One showing of a pair to a judge: whether `a` came first, and the judge's answer."""

    a_first: bool
    choice: Choice
    score: float | None = None
    rationale: str | None = None

    @property
    def for_a(self) -> float:
        """1 when the judge picked `a`, 0 when it picked `b`, 0.5 for a tie."""
        if self.choice == "tie":
            return 0.5
        return 1.0 if (self.choice == "first") == self.a_first else 0.0


@dataclass(frozen=True, slots=True)
class JudgedPair:
    """A pair with one judge's answers, one per showing (both orders when judged here)."""

    pair: Pair
    judge: str
    judge_kind: JudgeKind
    shown: tuple[Shown, ...]
    judge_model: str | None = None
    """The model behind the judge, for self-preference (its own responses name it as producer;
    without it the audit takes the judge id for the model, as `keel judge audit` does)."""
    entries: tuple[EntryId, ...] = ()
    """The preference entries of the showings, when read from the ledger (`load_preferences`)."""

    @property
    def for_a(self) -> float:
        """The share of showings in which the judge preferred `a` (ties count half)."""
        return sum(s.for_a for s in self.shown) / len(self.shown)


class PairJudge(Protocol):
    """A judge of pairs: an id, its kind and model, and its answer for each pair shown in one
    order (`a_first`)."""

    @property
    def id(self) -> str: ...

    @property
    def kind(self) -> JudgeKind: ...

    @property
    def model(self) -> str | None: ...

    def compare(self, pairs: Sequence[Pair], *, a_first: bool) -> list[Shown]: ...


@dataclass(frozen=True, slots=True)
class SimulatedJudge:
    """An offline judge that answers from each pair's known preference (`gold`) with seeded,
    asymmetric flips (the module docstring), a pull towards the first slot (`first_bias`:
    P(it picks the first shown, whatever the pair)) and towards its own model's responses
    (`self_bias`). Each showing draws its own uniforms from (seed, judge id, the texts in the
    order shown): the same pair shown the same way gets the same answer in any batch."""

    id: str
    flip_longer: float = 0.0
    flip_shorter: float = 0.0
    first_bias: float = 0.0
    self_bias: float = 0.0
    model: str | None = None
    seed: int = 0
    kind: JudgeKind = "ai"

    def __post_init__(self) -> None:
        for name in ("flip_longer", "flip_shorter", "first_bias", "self_bias"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ConfigError(f"judge {self.id}: {name} must be in [0, 1], got {value}")

    def compare(self, pairs: Sequence[Pair], *, a_first: bool) -> list[Shown]:
        return [self._one(p, a_first) for p in pairs]

    def _one(self, pair: Pair, a_first: bool) -> Shown:
        if pair.gold is None:
            raise InputError(
                f"judge {self.id} is simulated from each pair's known preference, and a pair "
                "has none: give pairs with gold, or use a judge that reads the texts"
            )
        first, second = (pair.a, pair.b) if a_first else (pair.b, pair.a)
        key = hashlib.sha256(
            "\x00".join((self.id, pair.prompt, first.text, second.text)).encode()
        ).digest()
        u = np.random.default_rng([self.seed, int.from_bytes(key[:8], "big")]).random(3)
        if u[0] < self.first_bias:
            return Shown(a_first, "first", rationale="first slot")
        own = [r.producer == self.model and self.model is not None for r in (first, second)]
        if sum(own) == 1 and u[1] < self.self_bias:
            return Shown(a_first, "first" if own[0] else "second", rationale="own model")
        if pair.gold == "tie":
            return Shown(a_first, "tie", rationale="neither is better")
        better_is_longer = (pair.gold == "a") == pair.longer_is_a
        flip = u[2] < (self.flip_longer if better_is_longer else self.flip_shorter)
        picks_a = (pair.gold == "a") != flip
        choice: Choice = "first" if picks_a == a_first else "second"
        return Shown(a_first, choice, rationale="flipped" if flip else "agrees")


def critical_judge(
    *, rate: float = 0.15, ratio: float = 2.0, seed: int = 0, judge_id: str = "sim:critical"
) -> SimulatedJudge:
    """A judge that wrongly turns against the longer response `ratio` times as often as against
    the shorter: flip_longer = ratio·rate, flip_shorter = rate (2:1 by default)."""
    return SimulatedJudge(judge_id, flip_longer=ratio * rate, flip_shorter=rate, seed=seed)


def length_judge(
    *, bias: float = 0.3, seed: int = 0, judge_id: str = "sim:length"
) -> SimulatedJudge:
    """A judge that picks the longer response with probability `bias` when the shorter is
    better (verbosity bias), and is right otherwise."""
    return SimulatedJudge(judge_id, flip_shorter=bias, seed=seed)


def judge_both_orders(judge: PairJudge, pairs: Sequence[Pair]) -> list[JudgedPair]:
    """Show every pair to `judge` in both orders: `a` first, then `b` first."""
    ab = judge.compare(pairs, a_first=True)
    ba = judge.compare(pairs, a_first=False)
    if len(ab) != len(pairs) or len(ba) != len(pairs):
        raise InputError(f"judge {judge.id} answered {len(ab)} and {len(ba)} of {len(pairs)} pairs")
    return [
        JudgedPair(p, judge.id, judge.kind, (x, y), judge.model)
        for p, x, y in zip(pairs, ab, ba, strict=True)
    ]


# -- sources ---------------------------------------------------------------------------------
def degrade(text: str, level: float, rng: np.random.Generator) -> str:
    """A copy of `text` with each token replaced, with probability `level`, by a filler word or
    a repeat of the token before it, then shortened or lengthened (even odds) by level/2 of its
    tokens (the tail cut, or fillers appended). Level 0 gives the text's tokens unchanged."""
    tokens = tokenize(text, lower=False)
    if level <= 0 or not tokens:
        return detokenize(tokens)
    out: list[str] = []
    for i, tok in enumerate(tokens):
        if rng.random() >= level:
            out.append(tok)
        elif i == 0 or rng.random() < 0.5:
            out.append(FILLERS[rng.integers(len(FILLERS))])
        else:
            out.append(out[-1])
    change = round(level / 2 * len(out))
    if change and rng.random() < 0.5:
        out = out[: max(1, len(out) - change)]
    elif change:
        out += [FILLERS[k] for k in rng.integers(len(FILLERS), size=change)]
    return detokenize(out)


def degraded_pairs(
    texts: Sequence[str],
    *,
    levels: Sequence[float] = (0.0, 0.15, 0.3, 0.45, 0.6),
    prompt_tokens: int = 4,
    seed: int = 0,
) -> list[Pair]:
    """One pair per human text with at least `prompt_tokens` + 2 tokens: the prompt is its first
    `prompt_tokens` tokens, the responses are the rest degraded at two distinct `levels` drawn
    at random (`degrade`; a pair whose copies came out the same is dropped), and the less
    degraded one is gold. Level 0 is the human text itself
    (origin human): a pair far apart in level is easy by construction, a close one hard."""
    if len(levels) < 2 or any(not 0 <= x <= 1 for x in levels):
        raise ConfigError(f"degraded pairs need two or more levels in [0, 1], got {list(levels)}")
    rng = np.random.default_rng(seed)
    pairs = []
    for text in texts:
        tokens = tokenize(text, lower=False)
        if len(tokens) < prompt_tokens + 2:
            continue
        prompt, rest = detokenize(tokens[:prompt_tokens]), detokenize(tokens[prompt_tokens:])
        la, lb = (float(levels[k]) for k in rng.choice(len(levels), size=2, replace=False))
        a, b = (_degraded(rest, level, rng) for level in (la, lb))
        if a.text != b.text:
            pairs.append(Pair(prompt, a, b, "a" if la < lb else "b"))
    return pairs


def _degraded(text: str, level: float, rng: np.random.Generator) -> Response:
    if level == 0:
        return Response(text, "human")
    return Response(degrade(text, level, rng), "synthetic", f"degrade@{level:g}")


def sampled_pairs(
    model: TextModel,
    prompts: Sequence[str],
    *,
    producer: str,
    seed: int = 0,
    temperature: float = 1.0,
    max_tokens: int = 40,
) -> list[Pair]:
    """Two samples of a keel generator for each prompt (no known preference: judges and
    experts supply it). `producer` names the model in each response's record."""
    texts = model.generate(
        2 * len(prompts),
        seed=seed,
        temperature=temperature,
        max_tokens=max_tokens,
        prompts=[p for p in prompts for _ in range(2)],
    )
    return [
        Pair(
            p,
            Response(texts[2 * i], "synthetic", producer),
            Response(texts[2 * i + 1], "synthetic", producer),
        )
        for i, p in enumerate(prompts)
    ]


# -- files -----------------------------------------------------------------------------------
PAIR_FILE_FIELDS = Fields.of(
    prompt="prompt",
    first="first",
    second="second",
    choice="choice",
    judge="judge",
    kind="kind",
    score="score",
    rationale="rationale",
    first_producer="first_producer",
    second_producer="second_producer",
    first_origin="first_origin",
    second_origin="second_origin",
    judge_model="judge_model",
)
"""Which column holds each part of a preference file (`PAIR_FILE_FIELDS.parse(["first=a"])`):
one row is one showing, `first` and `second` the texts in the order shown, `choice` first,
second or tie (also a/b, 1/2). `first` and `second` are required; so is `choice`; `judge` and
`kind` fall back to the reader's defaults; the rest are used when present."""
_CHOICE_WORDS = {
    "first": "first", "a": "first", "1": "first", "left": "first",
    "second": "second", "b": "second", "2": "second", "right": "second",
    "tie": "tie", "draw": "tie", "equal": "tie", "both": "tie", "none": "tie",
}  # fmt: skip


def read_preferences(
    path: Path,
    fields: Fields = PAIR_FILE_FIELDS,
    *,
    judge: str | None = None,
    kind: str = "ai",
    fmt: str | None = None,
) -> list[JudgedPair]:
    """The showings in a CSV, JSONL or Parquet file, grouped into judged pairs (rows of one
    judge on the same prompt and the same two texts, in either order, make one pair). A row
    without a judge takes `judge`; without a kind, `kind`. Expert rows (kind expert) are kept
    as judged pairs of their own; `with_gold` turns them into the pairs' gold. InputError
    names the file and line of the first bad row."""
    rows = read_rows(path, fmt)
    f = fields
    first_row = True
    grouped: dict[tuple[str, str, str, str, str], list[tuple[Pair, Shown, JudgeKind, str | None]]]
    grouped = {}
    for lineno, _, row in rows:
        where = f"{path}:{lineno}"
        if first_row:
            f.check(list(row), where, need=("first", "second", "choice"), absent="no value for")
            first_row = False
        cell = _cells(row, f, where)
        texts = (cell("first"), cell("second"))
        if texts[0] is None or texts[1] is None:
            raise InputError(f"{where}: a row needs both texts ({f['first']}, {f['second']})")
        if texts[0] == texts[1]:
            raise InputError(f"{where}: both texts are the same; a pair needs two responses")
        word = (cell("choice") or "").strip().lower()
        if word not in _CHOICE_WORDS:
            raise InputError(
                f"{where}: {f['choice']} {word!r:.40} is not first, second or tie (a/b, 1/2 too)"
            )
        who = cell("judge") or judge
        if not who:
            raise InputError(f"{where}: no judge; give a {f['judge']} column or --judge")
        judge_kind = _kind(cell("kind") or kind, where)
        score_text = cell("score")
        score = _score(score_text, where) if score_text is not None else None
        prompt = cell("prompt") or ""
        first = Response(texts[0], _origin(cell("first_origin"), where), cell("first_producer"))
        second = Response(texts[1], _origin(cell("second_origin"), where), cell("second_producer"))
        a, b = (first, second) if texts[0] < texts[1] else (second, first)
        shown = Shown(a is first, cast(Choice, _CHOICE_WORDS[word]), score, cell("rationale"))
        key = (who, judge_kind, prompt, a.text, b.text)
        grouped.setdefault(key, []).append(
            (Pair(prompt, a, b), shown, judge_kind, cell("judge_model"))
        )
    if first_row:
        raise InputError(f"{path}: no preferences")
    return [
        JudgedPair(items[0][0], key[0], items[0][2], tuple(s for _, s, _, _ in items), items[0][3])
        for key, items in grouped.items()
    ]


def _cells(row: Mapping[str, object], f: Fields, where: str) -> Callable[[str], str | None]:
    def cell(role: str) -> str | None:
        column = f.get(role)
        value = None if column is None else row.get(column)
        if value is None:
            return None
        if isinstance(value, dict | list | bool):
            raise InputError(f"{where}: {column} must be text or a number, got {value!r:.40}")
        text = str(value)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InputError(f"{where}: {column} is not valid UTF-8 text") from exc
        return text

    return cell


def _kind(value: str, where: str) -> JudgeKind:
    for k in ("ai", "expert"):
        if value == k:
            return k
    raise InputError(f"{where}: judge kind must be ai or expert, got {value!r:.40}")


def _origin(value: str | None, where: str) -> Origin:
    if value is None:
        return "synthetic"
    for o in ORIGINS:
        if value == o:
            return o
    raise InputError(f"{where}: origin must be one of {', '.join(ORIGINS)}, got {value!r:.40}")


def _score(text: str, where: str) -> float:
    try:
        x = float(text)
    except ValueError:
        x = float("nan")
    if not np.isfinite(x):
        raise InputError(f"{where}: score {text!r:.40} is not a finite number")
    return x


def with_gold(judged: Sequence[JudgedPair]) -> list[JudgedPair]:
    """The AI judges' pairs with the experts' preference as each pair's gold: an expert's
    showings that favour `a` on balance make gold `a` (`b`, or `tie` when even). Pairs no
    expert judged keep the gold they had."""
    experts: dict[tuple[str, str, str], list[JudgedPair]] = {}
    for j in judged:
        if j.judge_kind == "expert":
            experts.setdefault(_key(j.pair), []).append(j)
    out = []
    for j in judged:
        found = experts.get(_key(j.pair))
        if j.judge_kind == "expert":
            continue
        if found is None:
            out.append(j)
            continue
        x = sum(e.for_a for e in found) / len(found)
        gold: Side = "a" if x > 0.5 else "b" if x < 0.5 else "tie"
        entries = tuple(i for e in found for i in e.entries)
        names = ",".join(sorted({e.judge for e in found}))
        pair = replace(j.pair, gold=gold, gold_judge=names, gold_entries=entries)
        out.append(replace(j, pair=pair))
    return out


def _key(pair: Pair) -> tuple[str, str, str]:
    return (pair.prompt, pair.a.text, pair.b.text)


# -- the ledger ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LoggedPairs:
    """What `log_preferences` appended: the preference entries (AI judges' showings and gold)
    and how many entries were new."""

    preferences: tuple[EntryId, ...]
    gold: tuple[EntryId, ...]
    appended: int
    existing: int


def preference_entries(judged: Iterable[JudgedPair]) -> list[Pending]:
    """The entries that log judged pairs: the prompt and response records, one preference per
    showing, and each pair's gold (once) as an expert preference with `a` shown first."""
    out: dict[bytes, Pending] = {}

    def add(entry: Record | Preference, data: bytes | None) -> EntryId:
        pending = prepare(entry, data)
        out.setdefault(pending.entry, pending)
        return entry_id(pending.entry)

    golds: set[tuple[str, str, str]] = set()
    for j in judged:
        p = j.pair
        prompt = add(*text_record(p.prompt, p.prompt_origin)) if p.prompt else None
        ids = {side: add(*_record(r)) for side, r in (("a", p.a), ("b", p.b))}
        for s in j.shown:
            first, second = (ids["a"], ids["b"]) if s.a_first else (ids["b"], ids["a"])
            add(*preference(first, second, j.judge, j.judge_kind, s.choice, prompt=prompt,
                            score=s.score, rationale=s.rationale))  # fmt: skip
        if p.gold is not None and _key(p) not in golds:
            golds.add(_key(p))
            choice = {"a": "first", "b": "second", "tie": "tie"}[p.gold]
            add(*preference(ids["a"], ids["b"], p.gold_judge, "expert", choice, prompt=prompt))
    return list(out.values())


def _record(r: Response) -> tuple[Record, bytes]:
    keep = r.producer is not None and r.origin not in HUMAN_ORIGINS
    producer = Producer(model=r.producer) if keep and r.producer is not None else None
    return text_record(r.text, r.origin, producer=producer)


def log_preferences(ledger: Ledger, judged: Sequence[JudgedPair]) -> LoggedPairs:
    """Append the pairs, each showing and each pair's gold in one transaction."""
    pending = preference_entries(judged)
    done: list[Appended] = ledger.append(pending)
    ai: list[EntryId] = []
    gold: list[EntryId] = []
    for a, p in zip(done, pending, strict=True):
        entry = parse_entry(p.entry) if p.kind == "preference" else None
        if isinstance(entry, Preference):
            (gold if entry.judge_kind == "expert" else ai).append(a.id)
    new = sum(a.new for a in done)
    return LoggedPairs(tuple(ai), tuple(gold), new, len(done) - new)


def load_preferences(ledger: Ledger, ids: Sequence[str] | None = None) -> list[JudgedPair]:
    """The judged pairs in the ledger (or made of the preference entries `ids`), read in one
    snapshot: showings of one judge on the same prompt and records, in either order, make one
    pair, with `a` the record whose id sorts first. Expert pairs are kept; `with_gold` folds
    them into the AI judges' pairs as gold."""
    with ledger.snapshot():
        located = ledger.entries("preference") if ids is None else [ledger.locate(i) for i in ids]
        prefs = []
        for loc in located:
            if not isinstance(loc.entry, Preference):
                raise InputError(f"entry {loc.id} is a {loc.entry.kind}, not a preference")
            prefs.append(loc.entry)
        wanted = {r for p in prefs for r in (p.first, p.second, p.prompt) if r is not None}
        records: dict[str, object] = {r: ledger.locate(r).entry for r in wanted}
        texts = _texts(ledger, records)
        rationales = {
            p.rationale.sha256: ledger.payload(p.rationale.sha256).decode()
            for p in prefs
            if p.rationale is not None
        }
    grouped: dict[tuple[str, str, str | None, str, str], list[tuple[Shown, EntryId]]] = {}
    for loc, p in zip(located, prefs, strict=True):
        a, b = sorted((p.first, p.second))
        shown = Shown(
            p.first == a,
            p.choice,
            p.score,
            None if p.rationale is None else rationales[p.rationale.sha256],
        )
        grouped.setdefault((p.judge, p.judge_kind, p.prompt, a, b), []).append((shown, loc.id))
    out = []
    for (judge, kind, prompt, first, second), showings in grouped.items():
        pair = Pair(
            "" if prompt is None else texts[prompt],
            _response(records[first], texts[first]),
            _response(records[second], texts[second]),
            prompt_origin=_origin_of(records[prompt]) if prompt is not None else "human",
        )
        out.append(
            JudgedPair(
                pair,
                judge,
                cast(JudgeKind, kind),
                tuple(s for s, _ in showings),
                entries=tuple(i for _, i in showings),
            )
        )
    return out


def _texts(ledger: Ledger, records: Mapping[str, object]) -> dict[str, str]:
    out = {}
    for rid, rec in records.items():
        if not isinstance(rec, Record):
            raise InputError(f"a preference names entry {rid}, which is not a record")
        out[rid] = ledger.payload(rec.payload.sha256).decode()
    return out


def _response(rec: object, text: str) -> Response:
    assert isinstance(rec, Record)
    return Response(text, rec.origin, None if rec.producer is None else rec.producer.model)


def _origin_of(rec: object) -> Origin:
    assert isinstance(rec, Record)
    return rec.origin


def audit_rows(judged: Sequence[JudgedPair]) -> list[dict[str, object]]:
    """Rows of `keel.judges.audit_pairwise` (one per showing): the item is the pair, the
    candidates are named by the SHA-256 of their text, the gold is the pair's, lengths in
    characters, producers and the judge's model for self-preference."""
    rows: list[dict[str, object]] = []
    for j in judged:
        p = j.pair
        names = {
            s: hashlib.sha256(r.text.encode()).hexdigest() for s, r in (("a", p.a), ("b", p.b))
        }
        item = hashlib.sha256("\x00".join((p.prompt, names["a"], names["b"])).encode()).hexdigest()
        for s in j.shown:
            first, second = ("a", "b") if s.a_first else ("b", "a")
            gold = (
                np.nan if p.gold is None else (0.5 if p.gold == "tie" else float(p.gold != first))
            )
            rows.append(
                {
                    "item": item,
                    "judge": j.judge,
                    "first": names[first],
                    "second": names[second],
                    "decision": {"first": 0.0, "second": 1.0, "tie": 0.5}[s.choice],
                    "gold": gold,
                    "first_length": float(len(getattr(p, first).text)),
                    "second_length": float(len(getattr(p, second).text)),
                    "first_producer": getattr(p, first).producer,
                    "second_producer": getattr(p, second).producer,
                    "judge_model": j.judge_model,
                }
            )
    return rows


def audit_preferences(judged: Sequence[JudgedPair], *, seed: int = 0) -> tuple[PairProfile, ...]:
    """keel's pairwise audit of the judges' showings: accuracy against gold over both orders,
    position consistency, P(first slot wins), P(longer wins) and self-preference, each with an
    item-clustered bootstrap interval (keel.judges.pairwise)."""
    if not judged:
        raise InputError("no judged pairs to audit")
    return audit_pairwise(audit_rows(judged), seed=seed)
