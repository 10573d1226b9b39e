"""The `keel` command line, driven in-process through keel.cli.main: the README tour end to end,
JSON output of every --json command, and clean one-line errors."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from keel.cli import main
from keel.ledger import Ledger, ProofBundle, verify_bundle
from keel.ledger.note import parse_verifier
from keel_cli import Cli

HUMAN = [
    {"id": "h1", "text": "The heron stood in the shallows, patient as a clock."},
    {"id": "h2", "text": "Sesquipedalian words are rare in children's books."},
    {"id": "h3", "text": "Rain on a tin roof sounds like applause for nobody."},
]
SYNTH = [
    {"text": "The heron stood patient in the shallows.", "parents": ["h1"]},
    {"text": "Rare words like sesquipedalian make rain sound like applause.",
     "parents": ["h2", "h3"]},
]  # fmt: skip


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def keel(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Cli:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KEEL_DB", raising=False)
    monkeypatch.delenv("KEEL_KEY", raising=False)
    return Cli(capsys, Path("keel.db"))


@pytest.fixture
def toured(keel: Cli) -> dict[str, Any]:
    """A ledger after the first steps of the tour: key, human and synthetic data, ids."""
    vkey = keel.ok("ledger", "key", "init", "--origin", "example.com/tour").strip()
    write_jsonl(Path("human.jsonl"), HUMAN)
    write_jsonl(Path("synth.jsonl"), SYNTH)
    human = keel.json("ingest", "human.jsonl", "--origin", "human", "--field", "id=id")
    synth = keel.json(
        "ingest", "synth.jsonl", "--origin", "synthetic", "--producer", "m", "--generation", "1"
    )
    return {"vkey": vkey, "human": human["appended"], "synth": synth["appended"]}


def test_readme_tour(keel: Cli, toured: dict[str, Any]) -> None:
    vkey = toured["vkey"]
    assert vkey.startswith("example.com/tour+")
    parse_verifier(vkey)
    assert Path("keel.key").exists()
    assert keel.ok("ledger", "key", "show").strip() == vkey
    s2 = toured["synth"][1]

    # the ingest of already-logged rows appends nothing
    again = keel.json("ingest", "human.jsonl", "--origin", "human", "--field", "id=id")
    assert again["appended"] == []
    assert again["existing"] == toured["human"]
    assert again["ledger_size"] == 5

    note = keel.ok("ledger", "checkpoint")
    assert note.startswith("example.com/tour\n5\n")

    assert keel.ok("ledger", "prove", s2, "-o", "r.tlog-proof") == ""
    assert keel.ok("ledger", "entry", s2, "--raw", "-o", "e.json") == ""
    raw = Path("e.json").read_bytes()
    with Ledger.open("keel.db", create=False) as led:
        assert raw == led.locate(s2).raw
        assert set(led.locate(s2).entry.parents) == set(toured["human"][1:])  # type: ignore[union-attr]
    cp = verify_bundle(ProofBundle.parse(Path("r.tlog-proof").read_bytes()), raw,
                       parse_verifier(vkey))  # fmt: skip
    assert cp.size == 5

    out = keel.ok("ledger", "verify-proof", "--key", vkey, "r.tlog-proof", "e.json")
    assert out.startswith("OK entry 4")
    Path("vkey.txt").write_text(vkey + "\n")  # the key may also come from a file
    assert keel("ledger", "verify-proof", "--key", "vkey.txt", "r.tlog-proof", "e.json")[0] == 0

    h2 = toured["human"][1]
    redacted = keel.json("ledger", "redact", h2, "--reason", "x")
    assert redacted["new"] is True
    code, out, _ = keel("ledger", "verify")
    assert code == 0
    assert out.rstrip().splitlines()[-1].startswith("OK 6 entries")
    # the receipt issued before the redaction still verifies
    assert keel("ledger", "verify-proof", "--key", vkey, "r.tlog-proof", "e.json")[0] == 0
    code, _, err = keel("ledger", "payload", h2)
    assert code == 4
    assert err.startswith("error:")

    # tamper with a copy: one byte of entry 1
    shutil.copy("keel.db", "copy.db")
    with sqlite3.connect("copy.db") as db:
        (entry,) = db.execute("SELECT entry FROM entries WHERE idx = 1").fetchone()
        db.execute("UPDATE entries SET entry = ? WHERE idx = 1",
                   (entry.replace(b'"origin":"human"', b'"origin":"humaN"'),))  # fmt: skip
    db.close()
    code, out, _ = keel("ledger", "verify", "--key", vkey, db=Path("copy.db"))
    assert code == 3
    assert "FAIL entry 1:" in out
    assert "TAMPERED" in out
    report = json.loads(keel("ledger", "verify", "--key", vkey, "--json", db=Path("copy.db"))[1])
    assert report["ok"] is False
    assert (report["problems"][0]["where"], report["problems"][0]["at"]) == ("entry", "1")
    # the original is untouched
    assert keel("ledger", "verify", "--key", vkey)[0] == 0


def test_verify_proof_rejects_the_wrong_entry_or_key(keel: Cli, toured: dict[str, Any]) -> None:
    s1, s2 = toured["synth"]
    keel.ok("ledger", "prove", s2, "-o", "r.tlog-proof")
    keel.ok("ledger", "entry", s1, "--raw", "-o", "other.json")
    code, _, err = keel("ledger", "verify-proof", "--key", toured["vkey"], "r.tlog-proof",
                        "other.json")  # fmt: skip
    assert code == 3
    assert err.startswith("error:")
    other = keel("ledger", "key", "init", "--origin", "example.com/other", db=Path("o.db"))[1]
    code, _, err = keel("ledger", "verify-proof", "--key", other.strip(), "r.tlog-proof",
                        "other.json")  # fmt: skip
    assert code == 3
    assert "Traceback" not in err


def test_entry_raw_writes_exact_bytes_to_stdout(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    from keel.records import text_record

    with Ledger.open(tmp_path / "raw.db", key_path=tmp_path / "raw.key") as led:
        rid = led.append([text_record("ünïcødé text 😀", "human", tags={"w": 0.5})])[0].id
        raw = led.locate(rid).raw
    capsysbinary.readouterr()
    assert main(["--db", str(tmp_path / "raw.db"), "ledger", "entry", rid[:10], "--raw"]) == 0
    assert capsysbinary.readouterr().out == raw


def test_every_json_command_prints_valid_json(keel: Cli, toured: dict[str, Any]) -> None:
    s1, s2 = toured["synth"]
    h1 = toured["human"][0]
    assert keel.json("ledger", "key", "show")["verifier_key"] == toured["vkey"]
    assert keel.json("ledger", "info")["size"] == 5
    assert keel.json("ledger", "checkpoint")["size"] == 5
    entry = keel.json("ledger", "entry", s2)
    assert (entry["id"], entry["index"], entry["entry"]["kind"]) == (s2, 4, "record")
    assert [r["id"] for r in keel.json("ledger", "find", "h1")] == [h1]
    assert [r["id"] for r in keel.json("ledger", "find", "--text", HUMAN[0]["text"])] == [h1]
    lineage = keel.json("ledger", "lineage", s1)
    assert [a["id"] for a in lineage["ancestors"]] == [h1]
    assert [r["index"] for r in keel.json("ledger", "log", "-n", "2")] == [4, 3]
    verdict = keel.json("ledger", "add-verdict", s1, "--judge", "judge-a", "--label", "reject",
                        "--score", "0.31", "--rationale", "meh")  # fmt: skip
    assert verdict["new"] is True
    assert keel.json("ledger", "lineage", s1)["verdicts"][0]["id"] == verdict["id"]
    Path("members.txt").write_text(f"{s1}\nh1\n")
    mix = keel.json("ledger", "add-mix", "members.txt", "--policy", '{"human_share": 0.5}')
    Path("weights.bin").write_bytes(b"\0" * 100)
    run = keel.json("ledger", "add-run", mix["id"], "--model", "m2", "--config", '{"lr": 0.001}',
                    "--artifact", "weights.bin")  # fmt: skip
    assert run["index"] == 7
    keel.ok("ledger", "prove", run["id"], "-o", "run.tlog-proof")
    keel.ok("ledger", "entry", run["id"], "--raw", "-o", "run.json")
    result = keel.json("ledger", "verify-proof", "--key", toured["vkey"], "run.tlog-proof",
                       "run.json")  # fmt: skip
    assert (result["ok"], result["index"], result["tree_size"]) == (True, 7, 8)
    keel.ok("ledger", "entry", s1, "--raw", "-o", "s1.json")
    keel.ok("ledger", "prove", s1, "-o", "s1.tlog-proof")
    Path("s1.txt").write_text(SYNTH[0]["text"])
    with_payload = keel.json("ledger", "verify-proof", "--key", toured["vkey"], "s1.tlog-proof",
                             "s1.json", "--payload", "s1.txt")  # fmt: skip
    assert "payload" in with_payload
    red = keel.json("ledger", "redact", h1, "--reason", "gdpr")
    report = keel.json("ledger", "verify")
    assert report["ok"] is True
    assert report["redacted"] == [red["digest"]]
    assert report["key_source"] == "key file"
    again = keel.json("ledger", "redact", h1, "--reason", "gdpr")
    assert again["new"] is False


def test_console_script_runs(tmp_path: Path) -> None:
    keel_bin = Path(sys.executable).with_name("keel")
    done = subprocess.run(
        [str(keel_bin), "--db", str(tmp_path / "x.db"), "ledger", "entry", "nope"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error:")
    assert "Traceback" not in done.stderr
    assert subprocess.run([str(keel_bin), "--version"], capture_output=True, text=True,
                          check=False).stdout.startswith("keel ")  # fmt: skip


# --- errors ----------------------------------------------------------------------------------


def squash(text: str) -> str:
    return "".join(text.split())


def clean_error(err: str) -> str:
    """The error text: one `error: ...` message and no traceback (line wrapping aside, see
    test_errors_are_one_line_at_80_columns)."""
    assert "Traceback" not in err
    assert err.startswith("error: "), err
    assert err.count("error:") == 1, err
    return " ".join(err.split())


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["ingest", "missing.jsonl", "--origin", "human"], 2, "missing.jsonl: no such file"),
        (["ingest", "synth.jsonl", "--field", "bogus"], 2, "--field 'bogus'"),
        (["ingest", "synth.jsonl", "--field", "colour=c"], 2, "--field"),
        (["ingest", "bad.jsonl", "--origin", "human"], 2, "bad.jsonl:2:"),
        (["ingest", "synth.jsonl", "--origin", "robot"], 2, "--origin"),
        (["ingest", "synth.jsonl", "--origin", "human", "--param", "t=1"], 2, "--producer"),
        (["ingest", "synth.jsonl", "--format", "xml"], 2, "--format"),
        (
            ["ingest", "synth.jsonl", "--origin", "human", "--tag", "n=18446744073709551616"],
            2,
            "--tag n: integer 18446744073709551616 is outside I-JSON's exact range",
        ),
        (
            ["ingest", "synth.jsonl", "--origin", "human", "--tag", 'n={"a": [1e-400]}'],
            2,
            "--tag n.a[0]: number 1e-400 is not exactly a double",
        ),
        (
            ["ingest", "synth.jsonl", "--origin", "human", "--tag", "n=" + "[" * 99 + "]" * 99],
            2,
            "--tag n[0]: nested deeper than 64 levels",
        ),
        (
            ["ingest", "synth.jsonl", "--producer", "m", "--param", 't={"a": 1, "a": 2}'],
            2,
            "--param t: key 'a' appears twice",
        ),
        (
            ["ingest", "synth.jsonl", "--producer", "m", "--prompt-sha256", "abc123"],
            2,
            "--prompt-sha256 must be a SHA-256: 64 hex digits, got 'abc123'",
        ),
        (["ledger", "entry", "nosuchid"], 2, "nosuchid"),
        (["ledger", "entry", "0123456789abcdef"], 2, "0123456789abcdef"),
        (["ledger", "lineage", "nosuchid"], 2, "nosuchid"),
        (["ledger", "prove", "nosuchid"], 2, "nosuchid"),
        (["ledger", "redact", "h1", "--reason", " "], 2, "reason"),
        (["ledger", "find"], 2, "exactly one"),
        (["ledger", "add-mix", "members.txt", "--policy", "{nope"], 2, "--policy"),
        (["ledger", "verify-proof", "--key", "VKEY", "absent.proof", "e.json"], 2, "absent.proof"),
        (["ledger", "verify-proof", "--key", "not-a-key", "r.proof", "e.json"], 2, "verifier key"),
        (["ledger", "key", "init"], 2, "already has a key"),
    ],
)
def test_user_errors_are_one_clean_line(
    keel: Cli, toured: dict[str, Any], args: list[str], code: int, fragment: str
) -> None:
    write_jsonl(Path("bad.jsonl"), [{"text": "fine"}])
    with Path("bad.jsonl").open("a") as f:
        f.write('{"text": "broken",\n')
    Path("members.txt").write_text(toured["human"][0] + "\n")
    size = keel.json("ledger", "info")["size"]
    got, out, err = keel(*(toured["vkey"] if a == "VKEY" else a for a in args))
    assert got == code
    assert out == ""
    assert squash(fragment) in squash(clean_error(err))
    assert keel.json("ledger", "info")["size"] == size


def test_errors_without_a_ledger(keel: Cli) -> None:
    code, _, err = keel("ledger", "verify")
    assert code == 2
    assert "no ledger at" in clean_error(err)
    assert not Path("keel.db").exists()
    Path("junk.db").write_bytes(b"this is not sqlite" * 100)
    code, _, err = keel("ledger", "info", db=Path("junk.db"))
    assert code == 2
    assert "not a keel ledger database" in clean_error(err)
    write_jsonl(Path("h.jsonl"), HUMAN)
    keel.ok("ingest", "h.jsonl", "--origin", "human")  # ingest starts a ledger without a key
    code, _, err = keel("ledger", "checkpoint")
    assert code == 2
    assert "keel ledger key init" in clean_error(err)


def test_errors_are_one_line_at_80_columns(tmp_path: Path) -> None:
    keel_bin = Path(sys.executable).with_name("keel")
    env = {**os.environ, "COLUMNS": "80"}
    env.pop("KEEL_DB", None)
    env.pop("KEEL_KEY", None)
    for args in (
        ["ledger", "verify"],
        [
            "ingest",
            str(tmp_path / ("long-directory-name-" * 4) / "data.jsonl"),
            "--origin",
            "human",
        ],
    ):
        done = subprocess.run([str(keel_bin), "--db", str(tmp_path / "k.db"), *args],
                              capture_output=True, text=True, env=env, check=False)  # fmt: skip
        assert done.returncode == 2
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith("error: ")


@pytest.mark.parametrize("name", ["data[bold].jsonl", "data[/x].jsonl"])
def test_error_messages_are_not_markup(keel: Cli, name: str) -> None:
    code, _, err = keel("ingest", name, "--origin", "human")
    assert code == 2
    assert name in clean_error(err)


def test_logged_values_are_not_markup(keel: Cli, toured: dict[str, Any]) -> None:
    s1 = toured["synth"][0]
    keel.ok("ledger", "add-verdict", s1, "--judge", "j", "--label", "[/INST]")
    code, out, _ = keel("ledger", "log")
    assert code == 0
    assert "[/INST]" in out
    code, out, _ = keel("ledger", "lineage", s1)
    assert code == 0
    assert "[/INST]" in out


def test_failed_ingest_of_missing_file_creates_no_ledger(keel: Cli) -> None:
    code, _, _ = keel("ingest", "typo.jsonl", "--origin", "human")
    assert code == 2
    assert not Path("keel.db").exists()
