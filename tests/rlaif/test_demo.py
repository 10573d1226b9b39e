"""`keel rlaif demo`: two biased judges, plain and corrected reward models, a GRPO run on each
with the gate, a control run on the gold reward, the report, and a ledger in which each run's
checkpoints lead back to the preference pairs and the judges."""

from __future__ import annotations

from pathlib import Path

import pytest

from extra_modules import need
from keel.ledger import Ledger, trace
from keel.records import Run
from keel_cli import Cli


def test_demo_refuses_to_reuse_a_ledger(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "rlaif.db").write_bytes(b"")
    code, _, err = cli("rlaif", "demo", "--out", str(tmp_path))
    assert code == 2 and "starts a fresh ledger" in err


@pytest.mark.extra
@pytest.mark.slow
def test_demo_reports_gates_and_traces_back_to_the_judges(cli: Cli, tmp_path: Path) -> None:
    need("torch", "rl")
    need("transformers", "rl")
    need("tokenizers", "rl")
    result = cli.json("rlaif", "demo", "--out", str(tmp_path / "demo"))
    arms = {(a["judge"], a["corrected"]): a for a in result["arms"]}
    assert set(arms) == {
        ("sim:critical", False),
        ("sim:critical", True),
        ("sim:length", False),
        ("sim:length", True),
        ("gold", False),
    }
    for (judge, _), arm in arms.items():
        assert arm["steps"] and all(s["beta"] > 0 and s["kl"] >= 0 for s in arm["steps"])
        assert arm["gate"] is not None
        if judge == "gold":
            assert not arm["gate"]["stop"] and arm["reward_run"] is None
            continue
        acc = arm["heldout_accuracy"]
        assert 0.5 < acc["lo"] <= acc["value"] <= acc["hi"] <= 1
        assert judge in arm["lineage"]["judges"]
    assert any(a["gate"]["stop"] for a in result["arms"]), "no reward model was gamed"
    assert result["seconds"] < 300

    report = (tmp_path / "demo" / "report.html").read_text()
    assert "Reward against KL" in report and "The Goodhart gate" in report
    assert "<svg" in report and "control: gold as reward" in report

    corrected = arms[("sim:critical", True)]
    with Ledger.open(tmp_path / "demo" / "rlaif.db", readonly=True) as led:
        run = led.locate(corrected["policy_run"]).entry
        assert isinstance(run, Run) and run.artifact_sha256 == corrected["weights_sha256"]
        assert run.uses[0] == corrected["reward_run"]
        t = trace(led, corrected["checkpoints"][-1])
        assert corrected["reward_run"] in {r.located.id for r in t.reached}
        assert {"sim:critical", "expert:gold"} <= set(t.judges)
        assert "sim:length" not in t.judges  # it judged the same responses, trained nothing
        assert any(getattr(j.entry, "judge", "") == "sim:length" for j in t.judgements)
        assert t.of_kind("preference")
    # the CLI: `keel ledger lineage` of a policy checkpoint walks back to its pairs and judges
    db = tmp_path / "demo" / "rlaif.db"
    traced = cli.json("ledger", "lineage", corrected["checkpoints"][-1], db=db)
    assert traced["start"]["kind"] == "run" and traced["judges"] == list(t.judges)
    reached = {r["id"]: r for r in traced["reached"]}
    assert len(reached) == len(t.reached) and corrected["reward_run"] in reached
    assert {p.id for p in t.of_kind("preference")} <= set(reached)
    assert reached[corrected["reward_run"]]["model"] == "reward-model/noise-corrected"
    shown = cli.ok("ledger", "lineage", corrected["checkpoints"][-1], db=db)
    assert "sim:critical" in shown and "reward-model/noise-corrected" in shown

    # the logged figures, recomputed from the ledger and the saved weights without keel.rlaif
    from recompute_reward import main as recompute

    got = recompute([str(db), corrected["reward_run"], "--weights", corrected["reward_weights"]])
    assert got["weights_sha256_ok"] and got["heldout"] == corrected["heldout_pairs"]
    assert got["accuracy_of_weights"]["value"] == corrected["heldout_accuracy"]["value"]
    assert got["refit_accuracy"]["value"] == pytest.approx(
        corrected["heldout_accuracy"]["value"], abs=0.04
    )
