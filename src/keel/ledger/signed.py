"""The review entries whose checks need more than their own bytes, checked from the log alone.

- An **enrolment** holds a reviewer's Ed25519 verifier key (note format); the key's name must
  be the reviewer's name, so a key string cannot be passed off as another reviewer's.
- A **signed decision** (an expert verdict with a `signature`) names the enrolment holding its
  key; the enrolment must be logged before it and be the same reviewer's (its name is the
  verdict's judge id), and the signature must verify on `keel.records.decision_message`.
- A **close** ends its round (logged once) and opens the round's gold commitment:
  `gold_commitment(salt, answers)` must equal the round's `gold`, and the answers must cover
  exactly the round's gold items. A decision on a closed round is refused.

`Reviews` keeps what these checks need (enrolments and rounds by id) while the log is read in
order, so `keel ledger verify` makes them in its one pass; the review service runs the same
checks before it appends.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from keel.errors import InputError
from keel.ledger.note import Verifier, parse_verifier
from keel.records import (
    Close,
    Enrolment,
    Entry,
    EntryId,
    Round,
    Verdict,
    decision_message,
    gold_commitment,
)


def enrolment_verifier(e: Enrolment) -> Verifier:
    """The verifier key an enrolment holds; InputError unless it parses and is named for the
    reviewer."""
    verifier = parse_verifier(e.key)
    if verifier.name != e.name:
        raise InputError(
            f"the key of reviewer {e.name!r} is named {verifier.name!r}: a reviewer's key must "
            "carry the reviewer's name"
        )
    return verifier


def check_round(r: Round) -> None:
    """InputError unless every inclusion probability is in (0, 1], the overlap is ≥ 1, gold
    items come with a commitment and no record appears twice."""
    if r.overlap < 1:
        raise InputError(f"a round's overlap must be ≥ 1 reviewer per item, got {r.overlap}")
    seen: set[str] = set()
    for item in r.items:
        if not 0.0 < item.p <= 1.0:
            raise InputError(f"item {item.record}: inclusion probability {item.p} is not in (0, 1]")
        if item.record in seen:
            raise InputError(f"item {item.record} appears twice in the round")
        seen.add(item.record)
    has_gold = any(i.reason == "gold" for i in r.items)
    if has_gold != (r.gold is not None):
        raise InputError("a round has a gold commitment exactly when it has gold items")


def check_signature(v: Verdict, enrolment: Enrolment, verifier: Verifier) -> None:
    """InputError unless `v`'s signature is `enrolment`'s reviewer's, on `v`'s decision."""
    sig = v.signature
    if sig is None:
        raise InputError(f"the decision of {v.judge} on {v.record} is not signed")
    if v.judge_kind != "expert" or v.judge != enrolment.name:
        raise InputError(
            f"a decision by {v.judge!r} names the key of reviewer {enrolment.name!r}: "
            "each reviewer signs with their own key"
        )
    try:
        raw = base64.b64decode(sig.ed25519, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError("the signature is not standard base64") from exc
    if not verifier.verify(decision_message(v), raw):
        raise InputError(
            f"the signature of {v.judge} on {v.record} does not verify with their enrolled key"
        )


def check_close(close: Close, r: Round) -> None:
    """InputError unless the close opens the round's commitment on exactly its gold items (or,
    for a round without gold, reveals nothing)."""
    if r.gold is None:
        if close.salt is not None or close.answers:
            raise InputError("the round has no gold items, yet its close reveals answers")
        return
    if close.salt is None:
        raise InputError("the round has gold items: its close must reveal them")
    gold = {i.record for i in r.items if i.reason == "gold"}
    if set(close.answers) != gold:
        raise InputError("the revealed answers are not those of the round's gold items")
    try:
        opened = gold_commitment(close.salt, close.answers)
    except ValueError as exc:
        raise InputError(f"the salt is not hex: {exc}") from exc
    if opened != r.gold:
        raise InputError(
            "the revealed gold answers do not match the round's commitment: they were changed "
            "after the round opened"
        )


@dataclass(slots=True)
class Reviews:
    """The enrolments and rounds seen so far in a pass over the log, to check what follows."""

    enrolments: dict[str, tuple[Enrolment, Verifier]] = field(default_factory=dict)
    rounds: dict[str, Round] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)

    def check(self, entry_id: EntryId, entry: Entry) -> None:
        """Check one entry against those before it; InputError says what is wrong."""
        if isinstance(entry, Enrolment):
            self.enrolments[entry_id] = (entry, enrolment_verifier(entry))
        elif isinstance(entry, Round):
            check_round(entry)
            self.rounds[entry_id] = entry
        elif isinstance(entry, Close):
            r = self.rounds.get(entry.round)
            if r is None:
                raise InputError(f"the close names round {entry.round}, not logged before it")
            if entry.round in self.closed:
                raise InputError(f"round {entry.round} is closed twice")
            check_close(entry, r)
            self.closed.add(entry.round)
        elif isinstance(entry, Verdict):
            if entry.round is not None:
                if entry.round not in self.rounds:
                    raise InputError(
                        f"the decision names round {entry.round}, not logged before it"
                    )
                if entry.round in self.closed:
                    raise InputError(f"the decision was logged after round {entry.round} closed")
            if entry.signature is not None:
                found = self.enrolments.get(entry.signature.enrolment)
                if found is None:
                    raise InputError(
                        f"the signature names enrolment {entry.signature.enrolment}, "
                        "not logged before it"
                    )
                check_signature(entry, *found)
