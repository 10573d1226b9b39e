"""`keel mix build` and `keel mix show`, in-process on a ledger filled through the CLI itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from keel_cli import Cli


@pytest.fixture
def filled(tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """10 human texts, 20 synthetic ones of generation 1, a judge's verdicts, 8 expert ones."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KEEL_DB", raising=False)
    monkeypatch.delenv("KEEL_KEY", raising=False)
    Path("human.jsonl").write_text(
        "".join(
            json.dumps({"text": f"human sentence number {i} about herons"}) + "\n"
            for i in range(10)
        )
    )
    Path("synth.jsonl").write_text(
        "".join(
            json.dumps({"text": f"model text {i} with words {i * 7}"}) + "\n" for i in range(20)
        )
    )
    cli("ingest", "human.jsonl", "--origin", "human")
    cli(
        "ingest",
        "synth.jsonl",
        "--origin",
        "synthetic",
        "--producer",
        "m",
        "--generation",
        "1",
    )
    rows = cli.json("ledger", "log", "--count", "100")[::-1]
    human_ids = [r["id"] for r in rows if r.get("origin") == "human"]
    synth_ids = [r["id"] for r in rows if r.get("origin") == "synthetic"]
    assert len(human_ids) == 10 and len(synth_ids) == 20
    for i, rid in enumerate(synth_ids):
        label = "reject" if i % 4 == 0 else "accept"
        judges = [("j1", "ai"), ("expert:ana", "expert")] if i < 8 else [("j1", "ai")]
        for judge, kind in judges:
            add = ["ledger", "add-verdict", rid, "--judge", judge, "--judge-kind", kind]
            assert cli(*add, "--label", label)[0] == 0
    return {"human": human_ids, "synthetic": synth_ids}


def test_build_logs_a_mix_and_show_reads_it(filled: dict[str, list[str]], cli: Cli) -> None:
    doc = cli.json(
        "mix",
        "build",
        "--alpha",
        "0.2",
        "--size",
        "20",
        "--target-precision",
        "0.5",
        "--generation",
        "1",
    )
    assert doc["policy"]["alpha"] == 0.2
    assert doc["policy"]["rule"] == "at least 1 of j1 accept"
    assert doc["floor_met"] and doc["trains"] == 2 and doc["mix"]["new"]
    members = doc["members"]
    assert len(members) == 20
    assert sum(m["reason"] != "gate" for m in members) >= 4
    shown = cli.json("mix", "show", doc["mix"]["id"])
    assert sorted(m["id"] for m in shown["members"]) == sorted(m["id"] for m in members)
    assert shown["policy"]["counts"]["members"] == 20
    code, out, _ = cli("mix", "show", doc["mix"]["id"][:10])
    assert code == 0 and "20 members" in out and "synthetic" in out


def test_dry_run_logs_nothing_and_the_table_prints(filled: dict[str, list[str]], cli: Cli) -> None:
    size = cli.json("ledger", "info")["size"]
    code, out, _ = cli("mix", "build", "--size", "10", "--dry-run")
    assert code == 0 and "mix plan" in out and "gate" in out
    assert cli.json("ledger", "info")["size"] == size


def test_errors_are_one_line(filled: dict[str, list[str]], cli: Cli) -> None:
    code, _, err = cli("mix", "build", "--size", "10", "--alpha", "2")
    assert code == 2 and "alpha" in err and "Traceback" not in err
    code, _, err = cli("mix", "build", "--size", "10", "--gate", "maybe")
    assert code == 2 and "gate must be one of" in err
    code, _, err = cli("mix", "show", filled["human"][0])
    assert code == 2 and "not a mix" in err
