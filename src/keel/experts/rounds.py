"""Review rounds with real reviewers: enrol, open a round, decide, close; all of it on the log.

A round is one ledger entry (`keel.records.Round`) that says which records are reviewed, why
each was chosen and with what probability, who reviews each, and (as a commitment) the answers
of its gold items. Each decision is an expert verdict naming the round, signed with the
reviewer's enrolled key (`keel.ledger.signed` checks it, before appending and in `verify`). A
`Close` entry ends the round and reveals the gold answers. Nothing about a round lives
outside the log except the gold salt and answers until the close (a ledger setting).

**The sample.** Candidates are a generation's synthetic records without an expert decision.
Each gets the inclusion probability

    π_i = s·b/N + (1 − s)·b·u_i / Σ_k u_k      (capped at 1, the excess spread again),

b the budget, N the candidates, s the random share and u_i the judges' uncertainty
(`keel.experts.review.uncertainty`). Exactly b items are drawn with these probabilities by
systematic sampling over a seeded random order (Madow 1949); each drawn item is then labelled
`random` with probability (s·b/N)/π_i (an independent seeded draw), else `uncertain`. So every
item is drawn as `random` with the same probability π_i · (s·b/N)/π_i = s·b/N (the unbiased
anchors the mix gate uses as they are; about s·b of them a round), and every drawn item
carries its π_i, so estimates over all reviewed items weight each by 1/π_i
(Horvitz & Thompson 1952) instead of throwing the targeted ones away.

**Assignment.** Each item goes to `overlap` reviewers: those with the fewest items so far,
then the highest reputation weight, then a seeded hash (so a round is reproducible). Gold
items go to every reviewer, interleaved with the rest in the round's seeded order, so that
every reviewer has a gold record to be scored on and cannot tell gold items apart.
"""

from __future__ import annotations

import base64
import hashlib
import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import orjson

from keel.errors import ConfigError, InputError, NotFoundError
from keel.experts.reputation import Reputation, Review, reputation
from keel.experts.review import RUBRIC_PREFIX, uncertainty
from keel.experts.votes import Floats, votes
from keel.ledger import ACCEPT, Appended, Ledger, Located, Snapshot
from keel.ledger.note import Signer
from keel.ledger.signed import check_round, check_signature, enrolment_verifier
from keel.records import (
    DECISIONS,
    Close,
    Decided,
    DecisionSignature,
    Enrolment,
    EntryId,
    ItemReason,
    PayloadRef,
    Role,
    Round,
    RoundItem,
    Verdict,
    decision_message,
    gold_commitment,
)

GOLD_SETTING = "review_gold_"
"""Ledger setting holding a round's gold salt and answers until its close (name + round id)."""


# -- the sample ------------------------------------------------------------------------------
def inclusion_probabilities(u: Floats, budget: int, random_share: float) -> tuple[Floats, float]:
    """π_i (module docstring) for uncertainties `u`, and the random part s·b/N every item has.

    Capping: items whose π reaches 1 are fixed at 1 and the rest of the targeted mass is spread
    again over the others in proportion to u (the usual πps capping); Σπ = b."""
    n = u.size
    if not 0 <= budget <= n:
        raise InputError(f"the budget must be between 0 and the {n} candidates, got {budget}")
    if not 0.0 < random_share <= 1.0:
        raise ConfigError(f"random_share must be in (0, 1], got {random_share}")
    if budget == 0:
        return np.zeros(n), 0.0
    base = random_share * budget / n
    weight = np.clip(np.nan_to_num(u), 0.0, None)
    if weight.sum() <= 0:
        weight = np.ones(n)
    pi = np.full(n, base)
    free = np.ones(n, dtype=bool)
    mass = budget - base * n
    while mass > 1e-12:
        share = np.where(free, weight, 0.0)
        if share.sum() <= 0:
            share = free.astype(np.float64)
        pi = pi + mass * (share / share.sum())  # divide first: tiny u would underflow
        over = pi > 1.0
        mass = float((pi[over] - 1.0).sum())
        pi[over] = 1.0
        free &= ~over
        if not free.any():
            break
    return pi, base


@dataclass(frozen=True, slots=True)
class Drawn:
    """Positions drawn (into the candidates), why each was drawn, and every candidate's π."""

    positions: tuple[int, ...]
    reasons: tuple[ItemReason, ...]
    pi: Floats = field(repr=False)


def draw(u: Floats, budget: int, random_share: float, seed: int) -> Drawn:
    """Exactly `budget` positions by systematic sampling with probabilities π (module
    docstring), each labelled random with probability (s·b/N)/π_i, else uncertain."""
    pi, base = inclusion_probabilities(u, budget, random_share)
    if budget == 0:
        return Drawn((), (), pi)
    rng = np.random.default_rng([seed, 0x726F756E64])  # "round"
    order = rng.permutation(u.size)
    ends = np.cumsum(pi[order])
    points = rng.random() + np.arange(budget)
    hit = np.minimum(np.searchsorted(ends, points, side="right"), u.size - 1)
    positions = [int(order[k]) for k in hit]
    labels = rng.random(len(positions))
    reasons = [
        "random" if u < base / pi[p] else "uncertain"
        for p, u in zip(positions, labels, strict=True)
    ]
    return Drawn(tuple(positions), tuple(reasons), pi)  # type: ignore[arg-type]


def _tie(seed: int, record: str, reviewer: str) -> bytes:
    return hashlib.sha256(f"{seed}:{record}:{reviewer}".encode()).digest()


def assign(
    records: Sequence[EntryId],
    reviewers: Sequence[str],
    overlap: int,
    seed: int,
    weights: Mapping[str, float] | None = None,
) -> list[tuple[str, ...]]:
    """For each record, the `overlap` reviewers it goes to (module docstring, "Assignment")."""
    if not reviewers:
        raise InputError("a round needs at least one reviewer: add one with `keel review add`")
    if len(set(reviewers)) != len(reviewers):
        raise InputError("a reviewer is named twice")
    if not 1 <= overlap <= len(reviewers):
        raise ConfigError(
            f"overlap must be between 1 and the {len(reviewers)} reviewers, got {overlap}"
        )
    load = dict.fromkeys(reviewers, 0)
    w = weights or {}
    out = []
    for rec in records:
        ranked = sorted(reviewers, key=lambda r: (load[r], -w.get(r, 0.0), _tie(seed, rec, r)))
        chosen = tuple(sorted(ranked[:overlap]))
        for r in chosen:
            load[r] += 1
        out.append(chosen)
    return out


# -- enrolment -------------------------------------------------------------------------------
def enrol(ledger: Ledger, name: str, role: Role, key: str) -> Appended:
    """Log `name`'s enrolment with verifier key `key` (note format, named `name`)."""
    entry = Enrolment(name, role, key)
    enrolment_verifier(entry)
    return ledger.append([(entry, None)])[0]


def enrolments(ledger: Ledger) -> dict[str, Located]:
    """Each reviewer's latest enrolment, by name (the one holding their current key)."""
    out: dict[str, Located] = {}
    for loc in ledger.entries("enrolment"):
        if isinstance(loc.entry, Enrolment):
            out[loc.entry.name] = loc
    return out


# -- rounds ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Opened:
    """A round just logged: its id, its entry and the append's result."""

    id: EntryId
    round: Round
    appended: Appended


def open_round(
    ledger: Ledger,
    reviewers: Sequence[str],
    *,
    budget: int,
    generation: int | None = None,
    random_share: float = 0.5,
    seed: int = 0,
    overlap: int = 1,
    gold: Mapping[EntryId, Decided] | None = None,
    guidelines: str = "",
    show_judges: bool = False,
    weights: Mapping[str, float] | None = None,
    reliability: Mapping[str, float] | None = None,
) -> Opened:
    """Draw up to `budget` synthetic records of `generation` (all generations when None) that
    have no expert decision yet, add the `gold` records, assign reviewers and log the round.

    Every reviewer must be enrolled; gold answers are committed with a fresh 16-byte salt,
    kept as a ledger setting until `close_round`. `weights` order the assignment (module
    docstring); by default they are the reviewers' reputation weights from the rounds so far."""
    known = enrolments(ledger)
    missing = [r for r in reviewers if r not in known]
    if missing:
        raise InputError(
            f"not enrolled: {', '.join(missing)}; add reviewers with `keel review add NAME`"
        )
    snap = Snapshot.load(ledger)
    scope = [
        j
        for j in snap.records
        if j.record.origin == "synthetic"
        and (generation is None or j.record.generation == generation)
        and j.adopted is None
    ]
    gold = dict(gold or {})
    unknown = [g for g in gold if g not in snap.by_id]
    if unknown:
        raise NotFoundError(f"gold item {unknown[0]} is not a record of this ledger")
    bad = [a for a in gold.values() if a not in DECISIONS]
    if bad:
        raise InputError(f"gold answers are {', '.join(DECISIONS)}, got {bad[0]!r}")
    scope = [j for j in scope if j.id not in gold]
    judges = snap.judges(scope)
    v, _ = votes(scope, judges)
    rel = None
    if reliability is not None:
        rel = np.array([reliability.get(name, 1.0) for name in judges])
    drawn = draw(uncertainty(v, rel), min(budget, len(scope)), random_share, seed)
    picked = [
        (scope[p].id, float(drawn.pi[p]), why)
        for p, why in zip(drawn.positions, drawn.reasons, strict=True)
    ]
    picked += [(g, 1.0, "gold") for g in gold]
    order = np.random.default_rng([seed, 0x676F6C64]).permutation(len(picked))  # "gold"
    picked = [picked[i] for i in order]
    plain = [rec for rec, _, why in picked if why != "gold"]
    if weights is None:
        weights = _reputation_weights(ledger)
    to = dict(zip(plain, assign(plain, reviewers, overlap, seed, weights), strict=True))
    everyone = tuple(sorted(reviewers))
    items = tuple(
        RoundItem(rec, p, why, everyone if why == "gold" else to[rec]) for rec, p, why in picked
    )
    salt = secrets.token_hex(16) if gold else None
    data = guidelines.encode() if guidelines else None
    entry = Round(
        items,
        budget=budget,
        random_share=random_share,
        seed=seed,
        overlap=overlap,
        show_judges=show_judges,
        generation=generation,
        gold=None if salt is None else gold_commitment(salt, gold),
        guidelines=None if data is None else PayloadRef.of(data, "text"),
    )
    check_round(entry)
    appended = ledger.append([(entry, data)])[0]
    if salt is not None:
        secret = orjson.dumps({"salt": salt, "answers": gold}, option=orjson.OPT_SORT_KEYS)
        ledger.put_setting(GOLD_SETTING + appended.id, secret.decode())
    return Opened(appended.id, entry, appended)


def _reputation_weights(ledger: Ledger) -> dict[str, float]:
    """Each reviewer's reputation weight from the rounds so far (none before the first)."""
    try:
        return {r.reviewer: r.weight for r in reputation_of(ledger).reviewers}
    except NotFoundError:
        return {}


@dataclass(frozen=True, slots=True)
class RoundState:
    """A round as the first `size` entries of the log hold it: the entry, the decisions on it
    by (reviewer, record), and whether it is closed."""

    located: Located
    decisions: Mapping[tuple[str, EntryId], Located]
    closed: bool
    size: int

    @property
    def id(self) -> EntryId:
        return self.located.id

    @property
    def index(self) -> int:
        return self.located.index

    @property
    def round(self) -> Round:
        assert isinstance(self.located.entry, Round)
        return self.located.entry

    def item(self, record: str) -> RoundItem | None:
        return next((i for i in self.round.items if i.record == record), None)

    def queue(self, reviewer: str) -> list[RoundItem]:
        """The items assigned to `reviewer` that they have not decided yet, in round order."""
        return [
            i
            for i in self.round.items
            if reviewer in i.reviewers and (reviewer, i.record) not in self.decisions
        ]

    def progress(self, reviewer: str) -> tuple[int, int]:
        """(decided, assigned) for `reviewer`."""
        assigned = [i for i in self.round.items if reviewer in i.reviewers]
        done = sum((reviewer, i.record) in self.decisions for i in assigned)
        return done, len(assigned)


def load_round(ledger: Ledger, ref: str) -> RoundState:
    """The state of round `ref` (an id or unique prefix), read from the entries pointing to it."""
    with ledger.snapshot():
        loc = ledger.locate(ref)
        if not isinstance(loc.entry, Round):
            raise InputError(f"{ref} is a {loc.entry.kind} entry, not a round")
        return _advance(ledger, RoundState(loc, {}, False, loc.index + 1))


def refresh(ledger: Ledger, state: RoundState) -> RoundState:
    """`state` brought up to the log's current size: only the entries appended since it was
    read are looked at, so a server holding a round's state pays for new decisions only."""
    with ledger.snapshot():
        return state if ledger.size == state.size else _advance(ledger, state)


def _advance(ledger: Ledger, state: RoundState) -> RoundState:
    """`state` plus the entries at leaf index ≥ state.size that point to the round (the caller
    holds a snapshot)."""
    decisions = dict(state.decisions)
    closed = state.closed
    size = ledger.size
    for f in ledger.refs_to(state.located, since=state.size):
        if f.index >= size:
            break
        e = f.entry
        if isinstance(e, Close):
            closed = True
        elif isinstance(e, Verdict) and e.round == state.id and e.judge_kind == "expert":
            decisions.setdefault((e.judge, e.record), f)
    return replace(state, decisions=decisions, closed=closed, size=size)


def rounds(ledger: Ledger) -> list[RoundState]:
    """Every round of the ledger, oldest first."""
    return [load_round(ledger, loc.id) for loc in ledger.entries("round")]


# -- decisions -------------------------------------------------------------------------------
def decision(
    state: RoundState,
    reviewer: str,
    record: str,
    decided: str,
    rationale: str,
    *,
    seconds: float | None = None,
    correction: str | None = None,
) -> Verdict:
    """The unsigned expert verdict for `reviewer`'s decision on `record` in this round, after
    checking that the round is open, the item is theirs and undecided, the decision is one of
    accept, reject, degenerate, and the rationale says why."""
    if state.closed:
        raise InputError("this round is closed: no more decisions are taken")
    item = state.item(record)
    if item is None or reviewer not in item.reviewers:
        raise InputError(f"record {record} is not in {reviewer}'s queue for this round")
    if (reviewer, item.record) in state.decisions:
        raise InputError(f"{reviewer} already decided on {record} in this round")
    if decided not in DECISIONS:
        raise InputError(f"a decision is {', '.join(DECISIONS)}, got {decided!r}")
    if not rationale.strip():
        raise InputError("say why: a decision needs a rationale")
    if seconds is not None and not (math.isfinite(seconds) and seconds >= 0):
        raise InputError(f"seconds must be a finite number ≥ 0, got {seconds}")
    return Verdict(
        item.record,
        reviewer,
        "expert",
        label=decided,
        score=1.0 if decided == ACCEPT else 0.0,
        rubric=RUBRIC_PREFIX + item.reason,
        rationale=PayloadRef.of(rationale.encode(), "text"),
        round=state.id,
        seconds=None if seconds is None else round(seconds, 3),
        correction=correction.strip() or None if correction else None,
    )


def sign(v: Verdict, enrolment: EntryId, signer: Signer) -> Verdict:
    """`v` signed on the server with the reviewer's key (`made`: server)."""
    sig = base64.b64encode(signer.sign(decision_message(v))).decode()
    return replace(v, signature=DecisionSignature(enrolment, "server", sig))


def submit(ledger: Ledger, v: Verdict, rationale: str) -> Appended:
    """Append a signed decision after checking its signature against the enrolment it names
    (InputError, nothing appended, if it does not verify). The same decision submitted twice
    is the same entry: the ledger returns the first (idempotent)."""
    sig = v.signature
    if sig is None:
        raise InputError("a decision must be signed before it is logged")
    loc = ledger.locate(sig.enrolment)
    if not isinstance(loc.entry, Enrolment):
        raise InputError(f"{sig.enrolment} is not an enrolment")
    check_signature(v, loc.entry, enrolment_verifier(loc.entry))
    if v.rationale is None or PayloadRef.of(rationale.encode(), "text") != v.rationale:
        raise InputError("the rationale does not match the decision's rationale digest")
    return ledger.append([(v, rationale.encode())])[0]


def close_round(ledger: Ledger, ref: str) -> Appended:
    """End round `ref`, revealing its gold answers (kept as a setting since it opened)."""
    state = load_round(ledger, ref)
    if state.closed:
        raise InputError(f"round {state.id} is already closed")
    if state.round.gold is None:
        return ledger.append([(Close(state.id), None)])[0]
    secret = ledger.setting(GOLD_SETTING + state.id)
    if secret is None:
        raise NotFoundError(
            f"the gold answers of round {state.id} are not in this ledger's settings: "
            "close it on the database it was opened on"
        )
    kept = orjson.loads(secret)
    answers = {EntryId(k): v for k, v in kept["answers"].items()}
    return ledger.append([(Close(state.id, kept["salt"], answers), None)])[0]


# -- reputation from the log -----------------------------------------------------------------
def reputation_of(ledger: Ledger, *, fast_seconds: float = 3.0, min_shared: int = 10) -> Reputation:
    """Every reviewer's reputation (`keel.experts.reputation`) from the log alone, in one
    snapshot: the decisions made in rounds, and the gold answers their closes revealed (a
    round's gold counts only once it is closed). `covers` is the number of entries read."""
    with ledger.snapshot():
        size = ledger.size
        states = rounds(ledger)
        gold: dict[str, bool] = {}
        for loc in ledger.entries("close"):
            if isinstance(loc.entry, Close) and loc.index < size:
                gold.update((k, v == ACCEPT) for k, v in loc.entry.answers.items())
        reviews = [
            Review(v.judge, v.record, v.label == ACCEPT, v.seconds)
            for s in states
            for loc in sorted(s.decisions.values(), key=lambda x: x.index)
            if isinstance(v := loc.entry, Verdict)
        ]
    if not reviews:
        raise NotFoundError("no decision made in a review round yet: nothing to score")
    return reputation(reviews, gold, covers=size, fast_seconds=fast_seconds, min_shared=min_shared)
