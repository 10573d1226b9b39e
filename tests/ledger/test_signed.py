"""Review entries on the log: enrolments, rounds, signed decisions and closes with gold answers,
their bytes, and what `verify` says when one is forged."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keel.errors import InputError
from keel.ledger import Ledger
from keel.ledger.note import generate_key, parse_signer
from keel.records import (
    DECISION_CONTEXT,
    Close,
    DecisionSignature,
    Enrolment,
    EntryId,
    PayloadRef,
    Round,
    RoundItem,
    Verdict,
    canonical,
    decision_message,
    entry_bytes,
    gold_commitment,
    parse_entry,
    text_record,
)

HEX = st.text("0123456789abcdef", min_size=64, max_size=64).map(EntryId)


@pytest.fixture
def led(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger.open(tmp_path / "k.db", create=True) as ledger:
        ledger.init_key("test.example/review")
        yield ledger


def enrol(led: Ledger, name: str) -> tuple[EntryId, str]:
    """Enrol `name` with a fresh key: the enrolment id and the secret key."""
    skey, vkey = generate_key(name)
    return led.append([(Enrolment(name, "reviewer", vkey), None)])[0].id, skey


def signed(v: Verdict, enrolment: EntryId, skey: str) -> Verdict:
    sig = parse_signer(skey).sign(decision_message(v))
    return replace(
        v, signature=DecisionSignature(enrolment, "server", base64.b64encode(sig).decode())
    )


def a_round(led: Ledger, answers: dict[EntryId, str] | None = None) -> tuple[EntryId, EntryId]:
    """A round over one synthetic record (and gold items, with `answers`): (round, record)."""
    rec = led.append([text_record("a generated text", "synthetic")])[0].id
    items = [RoundItem(rec, 0.25, "random", ("ana", "bo"))]
    items += [RoundItem(g, 1.0, "gold", ("ana", "bo")) for g in answers or {}]
    salt = "00" * 16
    gold = gold_commitment(salt, answers) if answers else None  # type: ignore[arg-type]
    guidelines = b"Adopt a text a careful human could have written."
    r = Round(tuple(items), budget=2, random_share=0.5, seed=7, overlap=2, generation=1,
              gold=gold, guidelines=PayloadRef.of(guidelines, "text"))  # fmt: skip
    return led.append([(r, guidelines)])[0].id, rec


def decision(rec: EntryId, who: str, rnd: EntryId | None, label: str = "accept") -> Verdict:
    return Verdict(rec, who, "expert", label, 1.0 if label == "accept" else 0.0,
                   "keel-review/random", None, rnd, 4.5)  # fmt: skip


def problems(led: Ledger) -> list[str]:
    return [f"{p.where} {p.at}: {p.message}" for p in led.verify().problems]


def test_a_signed_decision_on_a_round_verifies(led: Ledger) -> None:
    ana, skey = enrol(led, "ana")
    rnd, rec = a_round(led)
    led.append([(signed(decision(rec, "ana", rnd), ana, skey), None)])
    report = led.verify()
    assert report.ok, report.problems
    (entry,) = [e.entry for e in led.entries("verdict")]
    assert isinstance(entry, Verdict)
    assert entry.signature is not None
    assert entry.round == rnd
    (on_record,) = led.lineage(rec).verdicts  # the decision is found from its record
    assert on_record.entry == entry


def test_the_decision_message_is_the_context_and_the_unsigned_entry() -> None:
    v = decision(EntryId("ab" * 32), "ana", EntryId("cd" * 32))
    assert decision_message(v) == DECISION_CONTEXT + canonical(v.to_json())
    with_sig = replace(v, signature=DecisionSignature(EntryId("ef" * 32), "browser", "AA=="))
    assert decision_message(with_sig) == decision_message(v)
    assert b'"signature"' in entry_bytes(with_sig)


def test_a_forged_signature_is_named_by_verify(led: Ledger) -> None:
    ana, _ = enrol(led, "ana")
    rnd, rec = a_round(led)
    forger, _ = generate_key("ana")  # the right name, the wrong key
    bad = led.append([(signed(decision(rec, "ana", rnd), ana, forger), None)])[0]
    (p,) = problems(led)
    assert p.startswith(f"entry {bad.index}:")
    assert "does not verify with their enrolled key" in p


def test_a_signature_with_another_reviewers_key_is_refused(led: Ledger) -> None:
    _, ana_key = enrol(led, "ana")
    bo, bo_key = enrol(led, "bo")
    rnd, rec = a_round(led)
    led.append([(signed(decision(rec, "ana", rnd), bo, bo_key), None)])
    (p,) = problems(led)
    assert "each reviewer signs with their own key" in p
    assert ana_key != bo_key


def test_an_edited_decision_no_longer_verifies(led: Ledger) -> None:
    ana, skey = enrol(led, "ana")
    rnd, rec = a_round(led)
    good = signed(decision(rec, "ana", rnd), ana, skey)
    flipped = replace(good, label="reject", score=0.0)
    led.append([(flipped, None)])
    assert any("does not verify" in p for p in problems(led))


def test_a_key_named_for_someone_else_is_refused(led: Ledger) -> None:
    _, vkey = generate_key("mallory")
    led.append([(Enrolment("ana", "reviewer", vkey), None)])
    (p,) = problems(led)
    assert "a reviewer's key must carry the reviewer's name" in p


def gold_round(led: Ledger) -> tuple[EntryId, EntryId, dict[EntryId, str]]:
    g1 = led.append([text_record("a gold text that is fine", "human")])[0].id
    g2 = led.append([text_record("gold gold gold gold", "synthetic")])[0].id
    answers: dict[EntryId, str] = {g1: "accept", g2: "degenerate"}
    rnd, rec = a_round(led, answers)
    return rnd, rec, answers


def test_closing_reveals_the_gold_answers_committed_to(led: Ledger) -> None:
    rnd, _, answers = gold_round(led)
    led.append([(Close(rnd, "00" * 16, answers), None)])  # type: ignore[arg-type]
    assert led.verify().ok


def test_changed_gold_answers_are_caught(led: Ledger) -> None:
    rnd, _, answers = gold_round(led)
    changed = dict.fromkeys(answers, "accept")
    bad = led.append([(Close(rnd, "00" * 16, changed), None)])[0]  # type: ignore[arg-type]
    (p,) = problems(led)
    assert p.startswith(f"entry {bad.index}:")
    assert "do not match the round's commitment" in p


def test_no_decision_after_the_close_and_one_close_a_round(led: Ledger) -> None:
    ana, skey = enrol(led, "ana")
    rnd, rec = a_round(led)
    led.append([(Close(rnd), None)])
    late = led.append([(signed(decision(rec, "ana", rnd), ana, skey), None)])[0]
    again = led.append([(Close(rnd, "00" * 16, {}), None)])[0]
    assert problems(led) == [
        f"entry {late.index}: the decision was logged after round {rnd} closed",
        f"entry {again.index}: round {rnd} is closed twice",
    ]


def test_the_commitment_needs_a_real_salt() -> None:
    with pytest.raises(InputError, match="at least 16 random bytes"):
        gold_commitment("00" * 8, {})
    one = gold_commitment(secrets.token_hex(16), {EntryId("ab" * 32): "accept"})
    assert len(one) == 64


def test_a_round_with_an_impossible_probability_is_named(led: Ledger) -> None:
    rec = led.append([text_record("some text", "synthetic")])[0].id
    led.append([(Round((RoundItem(rec, 0.0, "random", ("ana",)),), 1, 1.0, 0, 1), None)])
    (p,) = problems(led)
    assert "inclusion probability 0.0 is not in (0, 1]" in p


def test_a_decision_must_name_a_logged_round(led: Ledger) -> None:
    rec = led.append([text_record("some text", "synthetic")])[0].id
    with pytest.raises(InputError):  # references must exist: the append refuses it
        led.append([(decision(rec, "ana", EntryId("ab" * 32)), None)])


@given(
    items=st.lists(
        st.tuples(HEX, st.floats(0.001, 1.0), st.sampled_from(["random", "uncertain", "gold"]),
                  st.lists(st.text("abcxyz", min_size=1, max_size=5), max_size=3)),
        max_size=5, unique_by=lambda t: t[0],
    ),
    overlap=st.integers(1, 5), seed=st.integers(0, 2**53 - 1),
    show=st.booleans(), generation=st.none() | st.integers(0, 1000),
)  # fmt: skip
def test_review_entries_read_back_from_their_bytes(
    items: list[tuple[EntryId, float, str, list[str]]],
    overlap: int,
    seed: int,
    show: bool,
    generation: int | None,
) -> None:
    r = Round(
        tuple(RoundItem(rec, p, why, tuple(to)) for rec, p, why, to in items),  # type: ignore[arg-type]
        budget=len(items), random_share=0.5, seed=seed, overlap=overlap, show_judges=show,
        generation=generation, gold="ab" * 32,
    )  # fmt: skip
    assert parse_entry(entry_bytes(r)) == r
    e = Enrolment("ana", "admin", "ana+01234567+AQ==")
    assert parse_entry(entry_bytes(e)) == e
    rv = Close(EntryId("cd" * 32), "00" * 16, {rec: "reject" for rec, *_ in items})
    assert parse_entry(entry_bytes(rv)) == rv
