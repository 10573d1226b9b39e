"""The README's Python snippets run as written, on the files `examples/` ships."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SNIPPETS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text("utf-8"), re.S)


def snippet(word: str) -> str:
    (found,) = [s for s in SNIPPETS if word in s]
    return found


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding a copy of `examples/`, as a user's checkout has."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KEEL_DB", raising=False)
    monkeypatch.delenv("KEEL_KEY", raising=False)
    return tmp_path


def test_the_snippets_are_found() -> None:
    assert len(SNIPPETS) == 3


def test_the_ledger_snippet(here: Path) -> None:
    exec(snippet("Ledger.open"), {})
    assert (here / "keel.db").exists()
    assert (here / "keel.key").exists()  # the key file beside the database, as documented


def test_the_judges_and_collapse_snippet(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exec(snippet("read_judge_table"), {})
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[:3]] == ["judge_a", "judge_b", "judge_c"]
    assert 0 < float(lines[-1]) <= 1  # a tail retention


@pytest.mark.slow
def test_the_loop_snippet(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exec(snippet("run_loop"), {})
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].startswith("10 ")  # the tenth generation's ratio, verdict and gate
    assert (here / "examples" / "keel.db").exists()
