"""`keel simulate` and `keel watch` driven in-process: JSON, tables, HTML reports, the --fail-on
gate's exit code, generations read from the ledger, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from keel.cli import _common
from keel.ledger import Ledger
from keel.records import text_record
from keel.text import load_fortunes
from keel_cli import Cli


def test_simulate_json_table_and_html(cli: Cli, tmp_path: Path) -> None:
    code, out, _ = cli("simulate", "--generations", "4", "--repetitions", "20", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["theory"]["variance"][1] == pytest.approx(0.99)
    assert len(doc["metrics"]["variance"]["mean"]) == 5
    html = tmp_path / "sim.html"
    code, out, _ = cli("simulate", "--model", "categorical", "--generations", "3",
                       "--categories", "50", "--html", str(html))  # fmt: skip
    assert code == 0 and "categorical / replace" in out
    assert "<svg" in html.read_text()


def test_simulate_bad_option_is_one_line(cli: Cli) -> None:
    code, _, err = cli("simulate", "--alpha", "0.3")
    assert code == 2
    assert (
        err.strip().startswith("error:") and "fresh" in err and len(err.strip().splitlines()) == 1
    )


@pytest.fixture(scope="module")
def gens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gens")
    human = load_fortunes(("fortunes",))
    (folder / "gen-0.txt").write_text("\n".join(human[1::7][:400]) + "\n")
    short = [" ".join(t.split()[:5]) for t in human[1::7][:40]] * 10
    (folder / "gen-1.txt").write_text("\n".join(short) + "\n")
    (folder / "ref.txt").write_text("\n".join(human[::2][:3000]) + "\n")
    return folder


@pytest.mark.slow
def test_watch_files_gate_and_html(cli: Cli, gens: Path, tmp_path: Path) -> None:
    files = [str(gens / "gen-0.txt"), str(gens / "gen-1.txt")]
    ref = ["--reference", str(gens / "ref.txt")]
    code, out, _ = cli("watch", *files, *ref, "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["generations"][0]["verdict"] == "healthy"
    assert doc["generations"][1]["verdict"] == "late-collapse"
    code, out, _ = cli("watch", *files, *ref, "--fail-on", "late",
                       "--html", str(tmp_path / "w.html"))  # fmt: skip
    assert code == 1 and "gen-1: entropy ratio" in out
    assert "collapse detected at gen-1 (tail ratio" in out and doc["first_collapse"] == "gen-1"
    assert "<svg" in (tmp_path / "w.html").read_text()
    code, _, _ = cli("watch", files[0], *ref, "--fail-on", "early")
    assert code == 0


def test_tables_fit_80_columns(cli: Cli, monkeypatch: pytest.MonkeyPatch, gens: Path) -> None:
    """At 80 columns no line is wider and no value is cut; the s.e. columns come back when wide."""
    monkeypatch.setattr(_common.out, "width", 80)
    sim = ["simulate", "--model", "categorical", "--generations", "3", "--categories", "50"]
    watch = ["watch", str(gens / "gen-0.txt"), str(gens / "gen-1.txt"),
             "--reference", str(gens / "ref.txt")]  # fmt: skip
    for args in (sim, ["simulate", "--generations", "3"], watch):
        code, out, _ = cli(*args)
        assert code == 0 and out.count("\n") > 8
        assert max(len(line) for line in out.splitlines()) <= 80 and "…" not in out
    assert "late-collapse" in out and "left out to fit 80 columns" in out
    monkeypatch.setattr(_common.out, "width", 200)
    code, out, _ = cli(*sim)
    assert "± s.e." in out and "left out" not in out


def test_watch_reads_generations_from_the_ledger(cli: Cli, gens: Path, tmp_path: Path) -> None:
    db = tmp_path / "keel.db"
    human = load_fortunes(("fortunes",))[-300:]
    with Ledger.open(db) as led:
        led.append([text_record(t, "human", author="a", generation=0) for t in human[:100]])
        led.append([text_record(t, "human", author="a", generation=1) for t in human[:100]])
        led.append([text_record(t, "synthetic", generation=1) for t in human[100:300]])
    code, out, err = cli("--db", str(db), "watch", "--ledger", "--reference",
                         str(gens / "ref.txt"), "--json")  # fmt: skip
    assert code == 0, err
    g0, g1 = json.loads(out)["generations"]
    # a generation is the model's output; one without any (the start) is its human texts
    assert (g0["name"], g0["alpha"], g0["metrics"]["texts"]) == ("gen-0", 1.0, 100)
    assert (g1["name"], g1["alpha"], g1["metrics"]["texts"]) == ("gen-1", 0.0, 200)


def test_watch_errors_are_one_line(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("watch", str(tmp_path / "nope.txt"))
    assert code == 2 and "no such file" in err
    code, _, err = cli("watch", str(tmp_path), "--fail-on", "sometimes")
    assert code == 2 and "--fail-on" in err
