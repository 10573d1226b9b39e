"""Reputation from the log: `keel experts reputation` on a copy of a ledger gives the same
numbers, and a script that knows nothing of keel (sqlite3, json, scipy, sklearn) recomputes
them from the entry bytes."""

from __future__ import annotations

import json
import random
import sqlite3
import statistics
from collections import defaultdict
from pathlib import Path

import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score

from keel.experts.rounds import (
    close_round,
    decision,
    enrol,
    enrolments,
    load_round,
    open_round,
    sign,
    submit,
)
from keel.ledger import Ledger
from keel.ledger.note import generate_key, parse_signer
from keel.records import text_record
from keel_cli import Cli

ACCURACY = {"ana": 0.95, "bo": 0.8, "cy": 0.6}


def reviewed_ledger(db: Path) -> None:
    """60 records, one gold record, three reviewers of different accuracy, overlap 2, closed."""
    with Ledger.open(db, create=True) as led:
        led.init_key("test.example/reputation")
        good = [i % 3 != 0 for i in range(60)]
        ids = [a.id for a in led.append([text_record(f"text {i}", "synthetic", generation=1)
                                         for i in range(60)])]  # fmt: skip
        truth = dict(zip(ids, good, strict=True))
        gold = led.append([text_record("a known good human text", "human")])[0].id
        truth[gold] = True
        keys = {}
        for name in ACCURACY:
            skey, vkey = generate_key(name)
            enrol(led, name, "reviewer", vkey)
            keys[name] = parse_signer(skey)
        opened = open_round(led, list(ACCURACY), budget=60, generation=1, overlap=2,
                            gold={gold: "accept"}, seed=4)  # fmt: skip
        enrolled = enrolments(led)
        for k, (name, acc) in enumerate(ACCURACY.items()):
            rng = random.Random(k)
            for j, item in enumerate(load_round(led, opened.id).queue(name)):
                right = rng.random() < acc
                adopt = truth[item.record] == right
                state = load_round(led, opened.id)
                v = decision(state, name, item.record, "accept" if adopt else "reject",
                             "checked", seconds=1.0 + j % 5 + k)  # fmt: skip
                submit(led, sign(v, enrolled[name].id, keys[name]), "checked")
        close_round(led, opened.id)


def independent(db: Path) -> dict[str, dict[str, float]]:
    """Per reviewer: decisions, gold right / seen, the Beta bound, median seconds; and κ per
    pair, from the raw entries (no keel code)."""
    rows = sqlite3.connect(db).execute("SELECT entry FROM entries ORDER BY idx").fetchall()
    entries = [json.loads(r[0]) for r in rows]
    gold: dict[str, str] = {}
    for e in entries:
        if e["kind"] == "close":
            gold.update(e.get("answers", {}))
    decided: dict[str, dict[str, bool]] = defaultdict(dict)
    seconds: dict[str, list[float]] = defaultdict(list)
    for e in entries:
        if e["kind"] == "verdict" and "round" in e:
            decided[e["judge"]["id"]][e["record"]] = e["label"] == "accept"
            seconds[e["judge"]["id"]].append(e["seconds"])
    out = {}
    for name, mine in decided.items():
        on_gold = [(adopt, gold[r] == "accept") for r, adopt in mine.items() if r in gold]
        right = sum(a == g for a, g in on_gold)
        out[name] = {
            "n": len(mine),
            "gold_n": len(on_gold),
            "gold_correct": right,
            "gold_lower": stats.beta.ppf(0.05, 1 + right, 1 + len(on_gold) - right),
            "median_seconds": statistics.median(seconds[name]),
        }
    for a, of_a in decided.items():
        for b, of_b in decided.items():
            shared = sorted(set(of_a) & set(of_b))
            if a < b and len(shared) >= 10:
                kappa = cohen_kappa_score([of_a[r] for r in shared], [of_b[r] for r in shared])
                out[f"{a}|{b}"] = {"kappa": kappa}
    return out


def test_reputation_is_recomputed_from_a_copy_of_the_log(tmp_path: Path, cli: Cli) -> None:
    db = tmp_path / "k.db"
    reviewed_ledger(db)
    copy = tmp_path / "copy" / "k.db"
    copy.parent.mkdir()
    with sqlite3.connect(db) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)  # an exported copy: the same log, another file
    cli.db = db
    ours = cli.json("experts", "reputation")
    cli.db = copy
    theirs = cli.json("experts", "reputation")
    assert ours == theirs
    assert ours["covers"] == Ledger.open(copy, readonly=True).size
    check = independent(copy)
    by_name = {r["reviewer"]: r for r in ours["reviewers"]}
    assert set(by_name) == set(ACCURACY)
    for name, expected in check.items():
        if "|" in name:
            a, b = name.split("|")
            (k,) = [p["kappa"] for p in ours["kappa"] if (p["a"], p["b"]) == (a, b)]
            assert k == pytest.approx(expected["kappa"], abs=1e-12)
            continue
        got = by_name[name]
        assert got["n"] == expected["n"]
        assert (got["gold_n"], got["gold_correct"]) == (
            expected["gold_n"],
            expected["gold_correct"],
        )
        assert got["gold_lower"] == pytest.approx(expected["gold_lower"], abs=1e-12)
        assert got["median_seconds"] == pytest.approx(expected["median_seconds"])
    # the most accurate reviewer carries the most weight, the least the least
    weights = [by_name[n]["ds_accuracy"] for n in ACCURACY]
    assert weights == sorted(weights, reverse=True)


def test_no_rounds_no_reputation(tmp_path: Path, cli: Cli) -> None:
    cli.db = tmp_path / "e.db"
    with Ledger.open(cli.db, create=True) as led:
        led.append([text_record("a text", "human")])
    code, _, err = cli("experts", "reputation")
    assert code == 2
    assert "no decision made in a review round yet" in err
