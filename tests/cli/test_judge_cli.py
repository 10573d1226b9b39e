"""`keel judge audit / correct` driven in-process: JSON, HTML, tables and one-line errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import pairwise_example
from keel.cli._common import out
from keel_cli import Cli


@pytest.fixture
def wide(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    n = 300
    human = rng.random(n) < 0.6
    lenient = np.where(human, rng.random(n) < 0.97, rng.random(n) < 0.6)
    strict = np.where(human, rng.random(n) < 0.6, rng.random(n) < 0.03)
    lines = ["id,cat,human,lenient,strict"]
    for i in range(n):
        h = "" if i < 10 else ("yes" if human[i] else "no")
        lines.append(f"q{i},{'ab'[i % 2]},{h},{lenient[i]},{'' if i == 11 else strict[i]}")
    path = tmp_path / "verdicts.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_audit_json_and_html(wide: Path, tmp_path: Path, cli: Cli) -> None:
    html = tmp_path / "audit.html"
    code, out, err = cli("judge", "audit", str(wide), "--item", "id", "--category", "cat",
                         "--resamples", "100", "--html", str(html), "--json")  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    judges = {j["judge"]: j for j in doc["judges"]}
    assert judges["lenient"]["personality"].startswith("confirmer")
    assert judges["strict"]["personality"].startswith("critic")
    assert judges["strict"]["missing_verdicts"] == 1
    assert judges["lenient"]["missing_human"] == 10
    assert judges["lenient"]["n"] == 290
    assert "<svg" in html.read_text(encoding="utf-8")


def test_audit_table_by_default(wide: Path, cli: Cli) -> None:
    code, out, _ = cli("judge", "audit", str(wide), "--item", "id", "--resamples", "0")
    assert code == 0
    assert "lenient" in out and "effective independent judges" in out


def test_correct_json(wide: Path, cli: Cli) -> None:
    code, out, err = cli("judge", "correct", str(wide), "--item", "id", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["n_anchors"] == 290 and doc["n_pool"] == 10
    assert {j["judge"] for j in doc["judges"]} == {"lenient", "strict"}


def test_bad_input_is_one_clean_line(tmp_path: Path, cli: Cli) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("human,a\nyes,pass\nno,perhaps\n")
    code, _, err = cli("judge", "audit", str(bad), "--judge", "a")
    assert code == 2
    assert "bad.csv column a row 2: perhaps is not a label" in err
    assert "Traceback" not in err


def test_audit_table_at_80_columns_keeps_every_judge_name_whole(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ["Mistral-7B-Instruct", "Llama3-70B", "GPT-4-turbo", "Contains"]
    rng = np.random.default_rng(1)
    lines = ["human," + ",".join(names)]
    for _ in range(200):
        h = rng.random() < 0.7
        lines.append(f"{h}," + ",".join(str(h != (rng.random() < 0.2)) for _ in names))
    path = tmp_path / "wide.csv"
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(out, "width", 80)
    for flags in ((), ("--intervals",)):
        code, text, err = cli("judge", "audit", str(path), "--resamples", "50", *flags)
        assert code == 0, err
        table_lines = [line for line in text.splitlines() if line.startswith("  ")]
        assert all(len(line) <= 80 for line in table_lines)
        assert "…" not in text
        for name in names:
            assert sum(line.startswith(f"  {name} ") for line in table_lines) == 2  # 2 tables


@pytest.mark.parametrize("command", ["audit", "correct"])
def test_help_reads_cleanly(command: str, cli: Cli) -> None:
    code, text, _ = cli("judge", command, "--help")
    assert code == 0
    assert not re.search(r" \.(\s|$)", text), "a sentence ends in a stray space"
    assert "(default: human)" in text


def test_pairwise_with_mapped_columns_json_table_and_html(tmp_path: Path, cli: Cli) -> None:
    path = pairwise_example.write(tmp_path / "pairs.csv")
    flags = ["--item", "question", "--judge-column", "grader", "--judge-model", "grader_model",
             "--first", "answer_1", "--second", "answer_2", "--decision", "choice", "--gold",
             "human_choice", "--first-length", "words_1", "--second-length", "words_2",
             "--first-producer", "model_1", "--second-producer", "model_2"]  # fmt: skip
    base = ["judge", "audit", str(path), "--layout", "pairwise", "--resamples", "50", *flags]
    html = tmp_path / "pairs.html"
    code, text, err = cli(*base, "--json", "--html", str(html))
    assert code == 0, err
    doc = json.loads(text)
    judges = {j["judge"]: j for j in doc["judges"]}
    assert set(judges["judge-g"]["figures"]) == {"accuracy", "consistency", "first_wins",
                                                 "longer_wins", "self_preference"}  # fmt: skip
    assert judges["judge-g"]["personality"] == "self-preferring"
    assert judges["judge-l"]["missing"] == 1
    page = html.read_text(encoding="utf-8")
    assert "position consistency" in page and page.count("<svg") == 5
    code, text, _ = cli(*base)
    assert code == 0 and "judge-g: self-preferring" in text and "same win" in text
    code, _, err = cli("judge", "audit", str(path), "--layout", "pairwise")
    assert code == 2 and "no column 'item'" in err


@pytest.fixture
def by_model(tmp_path: Path) -> Path:
    """Answers of a strong and a weak model; the judge mostly follows the model, not the
    answer; a confidence column of booleans and a fully blank row ride along."""
    rng = np.random.default_rng(3)
    lines = ["model,human,human_confidence,judge_a"]
    for i in range(200):
        strong = i % 2 == 0
        h = rng.random() < (0.9 if strong else 0.2)
        v = h if rng.random() < 0.5 else strong
        lines.append(f"{'strong' if strong else 'weak'},{h},{rng.random() < 0.5},{v}")
    lines.insert(50, ",,,")
    path = tmp_path / "by_model.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_audit_per_group_figures_in_json_tables_and_html(
    by_model: Path, tmp_path: Path, cli: Cli
) -> None:
    html = tmp_path / "groups.html"
    base = ["judge", "audit", str(by_model), "--group", "model", "--resamples", "50"]
    code, text, err = cli(*base, "--json", "--html", str(html))
    assert code == 0, err
    doc = json.loads(text)
    assert doc["group_by"] == "model" and doc["blank_rows"] == 1 and doc["n_items"] == 200
    assert [j["judge"] for j in doc["judges"]] == ["judge_a"]
    judge = doc["judges"][0]
    assert judge["missing_verdicts"] == 0
    assert [g["name"] for g in judge["groups"]] == ["strong", "weak"]
    assert [g["n"] for g in judge["groups"]] == [100, 100]
    kappas = [g["kappa"]["value"] for g in judge["groups"]]
    mean = judge["figures"]["group_mean_kappa"]
    assert mean["value"] == pytest.approx(sum(kappas) / 2)
    assert mean["value"] < judge["figures"]["kappa"]["value"]  # pooling inflates κ here
    assert any("left out by their names" in note and "human_confidence" in note
               for note in doc["notes"])  # fmt: skip
    assert any("1 fully blank row" in note for note in doc["notes"])
    assert "κ per model" in html.read_text(encoding="utf-8")
    code, text, err = cli(*base)
    assert code == 0, err
    assert "Agreement pooled vs mean over the 2 groups of model" in text
    assert "κ pooled" in text and "κ mean" in text
    assert "Agreement per model" in text
    rows = [line.split() for line in text.splitlines() if line.startswith("  judge_a ")]
    assert [r[1] for r in rows[-2:]] == ["strong", "weak"]
    assert "fully blank" in err and "human_confidence" in err


def test_audit_without_human_names_the_default_column(tmp_path: Path, cli: Cli) -> None:
    path = tmp_path / "w.csv"
    path.write_text("HumanJudgement,a\nTrue,yes\nFalse,no\n")
    code, _, err = cli("judge", "audit", str(path))
    assert code == 2
    assert "no column 'human'" in err and "columns found: HumanJudgement, a" in err
    assert "Traceback" not in err


def test_correct_on_fully_labelled_data_points_to_anchor_sample(wide: Path, cli: Cli) -> None:
    labelled = wide.with_name("labelled.csv")
    labelled.write_text("".join(
        line for line in wide.read_text().splitlines(keepends=True) if ",," not in line
    ))  # fmt: skip
    code, _, err = cli("judge", "correct", str(labelled), "--item", "id")
    assert code == 2
    assert "nothing to correct" in err and "--anchor-sample N (2 to" in err
    code, text, err = cli("judge", "correct", str(labelled), "--item", "id",
                          "--anchor-sample", "100", "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(text)["hidden_truth"] is not None
