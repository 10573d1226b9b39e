"""`keel judge run` driven in-process against a real ledger and a real loopback LLM server:
verdicts appended, unparseable answers counted, re-runs resume, offline judges, clean errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from keel.ledger import Ledger
from keel.records import Producer, Verdict, text_record
from keel.text import load_fortunes
from keel_cli import Cli
from openai_server import judge_by_keyword, serve

SYNTHETIC = ["a good answer", "a bad answer", "garble garble", "another good one"]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A ledger of 60 human fortunes (generation 0) and 4 synthetic texts (generation 1)."""
    texts = load_fortunes()
    human = [texts[i] for i in np.random.default_rng(0).permutation(len(texts))[:60]]
    path = tmp_path / "k.db"
    with Ledger.open(path) as led:
        led.append([text_record(t, "human", author="corpus", generation=0) for t in human])
        led.append([
            text_record(t, "synthetic", producer=Producer("gen"), generation=1) for t in SYNTHETIC
        ])  # fmt: skip
    return path


@pytest.fixture
def rubric(tmp_path: Path) -> Path:
    path = tmp_path / "quality.toml"
    path.write_text('id = "quality"\ntext = """Accept good texts."""\n')
    return path


def verdicts(db: Path) -> list[Verdict]:
    with Ledger.open(db, create=False) as led:
        return [loc.entry for loc in led.iter_located() if isinstance(loc.entry, Verdict)]


def test_llm_judge_appends_verdicts_and_resumes(db: Path, rubric: Path, cli: Cli) -> None:
    with serve(judge_by_keyword) as fake:
        args = ["--db", str(db), "judge", "run", "--generation", "1", "--llm", fake.base_url,
                "--model", "jm", "--rubric", str(rubric), "--json"]  # fmt: skip
        code, out, err = cli(*args)
        assert code == 0, err
        doc: dict[str, Any] = json.loads(out)
        assert (doc["selected"], doc["judged"], doc["accepted"], doc["rejected"]) == (4, 4, 2, 1)
        assert doc["unparseable"] == 1 and len(doc["unparseable_records"]) == 1
        assert doc["appended"] == 3 and len(doc["verdicts"]) == 3
        assert doc["judge"] == "llm:jm" and doc["rubric"].startswith("quality@")
        code, out, _ = cli(*args)
        again = json.loads(out)
        assert (again["already_judged"], again["judged"], again["appended"]) == (3, 1, 0)
        assert fake.calls == 4
        assert (db.parent / "k.llm-cache.sqlite").exists()
    found = verdicts(db)
    assert sorted(v.label or "" for v in found) == ["accept", "accept", "reject"]
    assert {v.judge_kind for v in found} == {"ai"}


def test_judge_named_records_with_a_table(db: Path, rubric: Path, cli: Cli) -> None:
    with Ledger.open(db, create=False) as led:
        target = led.find_text("a good answer")[0].id
    with serve(judge_by_keyword) as fake:
        code, out, err = cli("--db", str(db), "judge", "run", target[:12], "--llm",
                             fake.base_url, "--model", "jm", "--rubric", str(rubric),
                             "--no-cache")  # fmt: skip
    assert code == 0, err
    assert "llm:jm" in out and "accepted" in out
    assert [v.record for v in verdicts(db)] == [target]


def test_offline_ngram_judge_from_human_records(db: Path, cli: Cli) -> None:
    code, out, err = cli("--db", str(db), "judge", "run", "--offline", "ngram",
                         "--human-from-ledger", "--origin", "synthetic", "--threshold", "0.1",
                         "--json")  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert doc["judge"] == "ngram3-human" and doc["judged"] == 4 and doc["unparseable"] == 0
    assert doc["accepted"] + doc["rejected"] == 4 == doc["appended"]
    assert all(0 < (v.score or 0) <= 1 for v in verdicts(db))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "either --llm"),
        (["--llm", "http://127.0.0.1:1/v1"], "needs --model"),
        (["--offline", "ngram"], "--human-from-ledger"),
        (["--offline", "bert", "--human-from-ledger"], "use one of ngram, distinct"),
    ],
)
def test_bad_choices_are_usage_errors(db: Path, cli: Cli, args: list[str], message: str) -> None:
    code, _, err = cli("--db", str(db), "judge", "run", *args)
    assert code == 2
    assert message in " ".join(err.split())


def test_only_api_key_variables_are_sent(
    db: Path, rubric: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "a secret")
    with serve(judge_by_keyword) as fake:
        args = ["--llm", fake.base_url, "--model", "jm", "--rubric", str(rubric)]
        code, _, err = cli("judge", "run", *args, "--api-key-env", "AWS_SECRET_ACCESS_KEY", db=db)
        assert fake.calls == 0
    assert code == 2
    assert "ends in _API_KEY" in err and "Traceback" not in err


def test_no_key_in_clear_text_to_another_host(
    db: Path, rubric: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEL_API_KEY", "sk-secret")
    code, _, err = cli("judge", "run", "--llm", "http://10.0.0.5:8000/v1", "--model", "jm",
                       "--rubric", str(rubric), "--api-key-env", "KEEL_API_KEY", db=db)  # fmt: skip
    assert code == 2
    assert "--allow-insecure" in " ".join(err.split()) and "Traceback" not in err


def test_too_few_human_records_is_one_clean_line(tmp_path: Path, cli: Cli) -> None:
    db = tmp_path / "small.db"
    with Ledger.open(db) as led:
        led.append([text_record(f"human text {i}", "human") for i in range(5)])
    code, _, err = cli("--db", str(db), "judge", "run", "--offline", "distinct",
                       "--human-from-ledger")  # fmt: skip
    assert code == 2
    assert "nothing could be rejected" in err and "Traceback" not in err
