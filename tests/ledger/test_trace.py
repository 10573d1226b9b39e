"""`keel ledger lineage` of an entry that is not a record (`keel.ledger.trace`): from a training
run back through its mix to the records, the preference pairs and the judges behind them, with
the judgements it does not depend on listed apart."""

from __future__ import annotations

from pathlib import Path

from keel.ledger import Ledger, trace
from keel.records import Digest, Run, mix, preference, text_record, verdict
from keel_cli import Cli


def build(led: Ledger) -> dict[str, str]:
    """A prompt, two responses judged by a critic in both orders, a reward-model run on the
    pairs' mix, a policy run that uses it, and judgements the run does not depend on."""
    prompt, good, bad = (
        a.id
        for a in led.append(
            [
                text_record("a prompt", "human", author="ann"),
                text_record("a fine reply", "human", author="ann"),
                text_record("a reply reply", "synthetic"),
            ]
        )
    )
    shown = [
        preference(good, bad, "critic", "ai", "first", prompt=prompt),
        preference(bad, good, "critic", "ai", "second", prompt=prompt),
    ]
    prefs = [a.id for a in led.append(shown)]
    pairs = led.append([mix(prefs, {"purpose": "reward-model pairs"})])[0].id
    fit = Run(pairs, "reward-model/noise-corrected", {"seed": 0}, Digest("ab" * 32))
    reward = led.append([(fit, None)])[0].id
    prompts = led.append([mix([prompt], {"purpose": "prompts"})])[0].id
    policy = Run(prompts, "keel.rlaif.policy", {"beta": 0.05}, Digest("cd" * 32), uses=(reward,))
    run = led.append([(policy, None)])[0].id
    other = led.append(
        [
            preference(good, bad, "verbose", "ai", "first", prompt=prompt),
            verdict(good, "bob", "expert", label="accept"),
        ]
    )
    return {
        "prompt": prompt,
        "good": good,
        "bad": bad,
        "pairs": pairs,
        "reward": reward,
        "run": run,
        "prefs": " ".join(prefs),
        "others": " ".join(a.id for a in other),
    }


def test_trace_walks_from_a_run_to_its_pairs_and_judges(ledger: Ledger) -> None:
    ids = build(ledger)
    t = trace(ledger, ids["run"])
    reached = [r.located.id for r in t.reached]
    assert {ids["pairs"], ids["prompt"], ids["good"], ids["bad"], *ids["prefs"].split()} <= set(
        reached
    )
    depth = {r.located.id: r.depth for r in t.reached}  # nearest first
    assert [r.depth for r in t.reached] == sorted(depth.values())
    assert depth[ids["reward"]] == 1 and depth[ids["pairs"]] == 2 and depth[ids["good"]] == 4
    assert t.judges == ("critic",)  # the verbose judge and the expert trained nothing here
    assert {j.id for j in t.judgements} == set(ids["others"].split())


def test_cli_lineage_of_a_run(cli: Cli, ledger: Ledger, tmp_path: Path) -> None:
    ids = build(ledger)
    db = tmp_path / "k.db"
    got = cli.json("ledger", "lineage", ids["run"][:12], db=db)
    assert got["start"]["id"] == ids["run"] and got["start"]["model"] == "keel.rlaif.policy"
    reached = {r["id"]: r for r in got["reached"]}
    assert reached[ids["reward"]]["model"] == "reward-model/noise-corrected"
    assert reached[ids["reward"]]["depth"] == 1 and reached[ids["pairs"]]["kind"] == "mix"
    assert set(ids["prefs"].split()) <= set(reached)
    assert got["judges"] == ["critic"]
    assert set(got["other_judgements"]) == set(ids["others"].split())

    shown = cli.ok("ledger", "lineage", ids["run"], db=db)
    assert "depends on 8 entries" in shown and "judges: critic" in shown
    assert "2 preference" in shown and "runs and mixes it depends on" in shown

    # a record still shows its ancestors and the verdicts on each
    record = cli.json("ledger", "lineage", ids["good"], db=db)
    assert record["record"]["id"] == ids["good"] and len(record["verdicts"]) == 1
