"""The loop waits for people: with `reviewer = "web"` each generation's review is a round in the
ledger that real reviewers decide; the loop stops (exit 7) until they have, resumes where it
stopped, never opens a second round for a generation, and holds back a generation that has
too few random anchors (`min_anchors`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import keel.loop.run as loop_run
from keel.errors import ConfigError, ReviewPending
from keel.experts.rounds import (
    decision,
    enrol,
    enrolments,
    load_round,
    open_round,
    rounds,
    sign,
    submit,
)
from keel.ledger import Ledger, Snapshot, verify
from keel.ledger.note import generate_key, parse_signer
from keel.loop import ReviewStatus, Step, load_config, run_loop
from keel.records import Mix
from keel_cli import Cli
from small_loop import write_loop

PEOPLE = ("ana", "bo", "cy")
WEB = {"reviewer": "web", "budget": 12, "random_share": 0.5, "overlap": 2}


def enrolled(db: Path, *names: str) -> dict[str, str]:
    """Enrol `names` as reviewers of the ledger at `db`; their signing keys by name."""
    keys = {}
    with Ledger.open(db) as led:
        for name in names:
            skey, vkey = generate_key(name)
            enrol(led, name, "reviewer", vkey)
            keys[name] = skey
    return keys


def decide_all(db: Path, keys: dict[str, str], label: str = "accept") -> int:
    """Every reviewer decides every item in their queues, as the review app would log it."""
    made = 0
    with Ledger.open(db, create=False) as led:
        for state in rounds(led):
            for who, skey in keys.items():
                for item in state.queue(who):
                    why = f"{who} read it: {label}"
                    v = decision(load_round(led, state.id), who, item.record, label, why)
                    submit(led, sign(v, enrolments(led)[who].id, parse_signer(skey)), why)
                    made += 1
    return made


def rounds_by_generation(db: Path) -> list[tuple[int | None, bool, int]]:
    """(generation, closed, items) of every round, oldest first."""
    with Ledger.open(db, create=False) as led:
        return [(s.round.generation, s.closed, len(s.round.items)) for s in rounds(led)]


def mixes(db: Path) -> dict[int, Mix]:
    with Ledger.open(db, create=False) as led:
        found = [loc.entry for loc in led.entries("mix")]
    return {m.generation: m for m in found if isinstance(m, Mix) and m.generation is not None}


def size(db: Path) -> int:
    with Ledger.open(db, create=False) as led:
        return led.size


def pending(path: Path, **options: Any) -> tuple[ReviewPending, list[Step]]:
    """Run the loop until it stops for people; the error and the steps it finished."""
    steps: list[Step] = []
    with pytest.raises(ReviewPending) as exc:
        run_loop(load_config(path), on_step=steps.append, **options)
    return exc.value, steps


@pytest.fixture
def web_loop(tmp_path: Path) -> Iterator[tuple[Path, Path, dict[str, str]]]:
    """A 2-generation loop reviewed by ana, bo and cy (enrolled before its first run)."""
    path = write_loop(tmp_path, review=WEB)
    yield path, tmp_path / "keel.db", enrolled(tmp_path / "keel.db", *PEOPLE)


def test_each_generation_waits_for_its_reviewers(
    web_loop: tuple[Path, Path, dict[str, str]],
) -> None:
    path, db, keys = web_loop
    first, steps = pending(path)
    assert first.generation == 1 and first.pending == 12 * 2 and first.exit_code == 7
    message = str(first)
    assert message.startswith("generation 1: 24 reviews pending in round ")
    assert "at http://127.0.0.1:8765/" in message and "review serve" in message
    assert "--wait" in message
    # the review step is where it stopped: nothing after it was logged
    assert (1, "judge") in [(s.generation, s.name) for s in steps]
    assert not [s for s in steps if s.generation == 1 and s.name in ("review", "human", "mix")]
    assert set(mixes(db)) == {1}
    assert rounds_by_generation(db) == [(1, False, 12)]

    # re-running before anyone decided appends nothing: the round is the one in the ledger
    logged = size(db)
    assert str(pending(path)[0]) == message
    assert size(db) == logged

    assert decide_all(db, keys) == 24
    second, steps = pending(path)
    assert second.generation == 2 and "24 reviews pending" in str(second)
    assert [(s.name, s.skipped) for s in steps if s.generation == 1][-5:] == [
        ("review", False),  # the round closed now
        ("human", False),
        ("mix", False),
        ("watch", False),
        ("checkpoint", False),
    ]
    assert rounds_by_generation(db) == [(1, True, 12), (2, False, 12)]

    decide_all(db, keys, "reject")
    result = run_loop(load_config(path))
    assert [g.reviewed for g in result.generations] == [0, 12, 12]
    assert rounds_by_generation(db) == [(1, True, 12), (2, True, 12)]  # one per generation
    again = run_loop(load_config(path))  # finished: nothing to do, nothing opened
    assert again.ledger_size == result.ledger_size
    assert rounds_by_generation(db) == [(1, True, 12), (2, True, 12)]
    logged_mixes = mixes(db)
    assert set(logged_mixes) == {1, 2, 3}
    assert logged_mixes[2].policy["min_anchors"] == logged_mixes[3].policy["min_anchors"] == 0
    with Ledger.open(db, create=False) as led:
        snap = Snapshot.load(led)
        reviewed = [j for j in snap.records if j.expert]
        assert len(reviewed) == 24 and all(len(j.expert) == 2 for j in reviewed)
        # generation 2's reviewers rejected every record they saw: none is in the last mix
        assert all(j.adopted is (j.record.generation == 1) for j in reviewed)
        report = verify(led.store, led.verifier())
        assert report.ok, report.problems


def test_a_loop_without_reviewers_waits_for_people_to_be_added(tmp_path: Path) -> None:
    path = write_loop(tmp_path, generations=1, review=WEB)
    db = tmp_path / "keel.db"
    error, _ = pending(path)
    assert (error.generation, error.pending) == (1, 0)
    assert "generation 1: its review round needs people (no reviewer is enrolled)" in str(error)
    assert "review add NAME" in str(error)
    keys = enrolled(db, "ana")
    error, _ = pending(path)  # overlap 2 needs two reviewers
    assert "overlap = 2 needs as many reviewers, and 1 is enrolled (ana)" in str(error)
    keys |= enrolled(db, "bo")
    assert "24 reviews pending" in str(pending(path)[0])
    decide_all(db, keys)
    assert run_loop(load_config(path)).generations[1].reviewed == 12


def test_named_reviewers_must_be_enrolled(tmp_path: Path) -> None:
    path = write_loop(tmp_path, generations=1, review={**WEB, "reviewers": ["ana", "zed"]})
    enrolled(tmp_path / "keel.db", *PEOPLE)
    assert "(zed is not enrolled)" in str(pending(path)[0])
    enrolled(tmp_path / "keel.db", "zed")
    pending(path)
    with Ledger.open(tmp_path / "keel.db", create=False) as led:
        (state,) = rounds(led)
    assert {who for i in state.round.items for who in i.reviewers} == {"ana", "zed"}


def test_too_few_random_anchors_hold_the_generation_back(tmp_path: Path) -> None:
    path = write_loop(tmp_path, generations=1, review={**WEB, "overlap": 1, "min_anchors": 10})
    db = tmp_path / "keel.db"
    keys = enrolled(db, *PEOPLE)
    pending(path)
    decide_all(db, keys)
    short, _ = pending(path)
    message = str(short)
    assert short.pending == 0
    assert "its review is complete with" in message
    assert "fewer than [review] min_anchors = 10" in message
    assert "review open --generation 1 --budget " in message and "-r ana -r bo -r cy" in message
    assert rounds_by_generation(db) == [(1, True, 12)]  # complete, so closed
    assert set(mixes(db)) == {1}
    with Ledger.open(db, create=False) as led:  # the administrator opens another round
        open_round(led, list(PEOPLE), budget=12, generation=1, random_share=1.0, seed=9)
    assert "12 reviews pending" in str(pending(path)[0])
    decide_all(db, keys)
    result = run_loop(load_config(path))
    assert result.generations[1].reviewed == 24
    assert rounds_by_generation(db) == [(1, True, 12), (1, True, 12)]
    assert mixes(db)[2].policy["min_anchors"] == 10
    assert result.generations[1].mix_counts["anchors"] >= 10


def test_waiting_polls_until_the_reviews_are_in(tmp_path: Path) -> None:
    path = write_loop(tmp_path, generations=1, review=WEB)
    db = tmp_path / "keel.db"
    keys = enrolled(db, *PEOPLE)
    heard: list[ReviewStatus] = []

    def people_decide(status: ReviewStatus) -> None:
        """Told when the status changes: ana decides first, then the others."""
        heard.append(status)
        decide_all(db, {"ana": keys["ana"]} if len(heard) == 1 else keys)

    result = run_loop(load_config(path), wait=0.01, on_pending=people_decide)
    assert result.generations[1].reviewed == 12
    assert heard[0].summary().startswith("generation 1: 24 reviews pending in round ")
    assert [s.pending for s in heard] == [24, 24 - 8]  # ana had 12 × 2 / 3 items
    assert not any(s.done for s in heard)
    assert rounds_by_generation(db) == [(1, True, 12)]


def test_the_command_exits_7_and_waits_with_wait(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_loop(tmp_path, generations=1, review=WEB)
    db = tmp_path / "keel.db"
    keys = enrolled(db, *PEOPLE)
    for extra in ((), ("--json",)):
        code, out, err = cli("loop", "run", str(path), *extra)
        assert (code, out) == (7, ""), err
        line = " ".join(err.split())
        assert line.startswith("error: generation 1: 24 reviews pending in round ")
        assert "http://127.0.0.1:8765/" in line and "Traceback" not in err

    slept: list[float] = []

    def reviewers_decide_meanwhile(seconds: float) -> None:
        slept.append(seconds)
        decide_all(db, keys)

    monkeypatch.setattr(loop_run, "time", SimpleNamespace(sleep=reviewers_decide_meanwhile))
    code, out, err = cli("loop", "run", str(path), "--wait", "--poll", "0.5", "--json")
    assert code == 0, err
    assert json.loads(out)["generations"][1]["reviewed"] == 12
    assert slept == [0.5]
    line = " ".join(err.split())
    assert "generation 1: 24 reviews pending in round " in line
    assert "at http://127.0.0.1:8765/; waiting, checking every 0.5 s" in line
    code, _, err = cli("loop", "run", str(path), "--wait", "--poll", "0")
    assert code == 2 and "--poll 0.0: use a number from 0.1 to 3,600" in err


def test_a_ledger_of_an_older_keel_is_refused_with_the_reason(tmp_path: Path) -> None:
    """Before `[review]` the loop stored `[experts]`: such a ledger resumes with its own keel."""
    path = write_loop(tmp_path, generations=1)
    with Ledger.open(tmp_path / "keel.db") as led:
        led.put_setting("loop_config", json.dumps({"experts": {"budget": 60}, "name": "small"}))
    with pytest.raises(
        ConfigError, match=r"written by an older keel .*\[experts\], now \[review\]"
    ):
        run_loop(load_config(path))
