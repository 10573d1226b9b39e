"""`keel rlaif pairs` and `keel rlaif reward fit`: import preferences, fit, log, report; and
the preference reader fuzzed: exit 0 or 2, one error line, nothing appended on a refusal."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keel.ledger import Ledger
from keel.records import Run
from keel.rlaif import Pair, critical_judge, judge_both_orders
from keel_cli import Cli

World = tuple[list[Pair], list[Pair], list[Pair]]


def write_rows(path: Path, world: World, n_train: int, n_labelled: int) -> None:
    """The critical judge's showings of the first pairs, and expert rows for the labelled ones."""
    train, anchors, _ = world
    rows = []
    for j in judge_both_orders(critical_judge(), train[:n_train] + anchors[:n_labelled]):
        for s in j.shown:
            first, second = (j.pair.a, j.pair.b) if s.a_first else (j.pair.b, j.pair.a)
            rows.append({"prompt": j.pair.prompt, "first": first.text, "second": second.text,
                         "choice": s.choice, "judge": j.judge})  # fmt: skip
    for p in anchors[:n_labelled]:
        rows.append({"prompt": p.prompt, "first": p.a.text, "second": p.b.text,
                     "choice": "first" if p.gold == "a" else "second", "judge": "alice",
                     "kind": "expert"})  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_import_and_fit_both_ways(cli: Cli, tmp_path: Path, world: World) -> None:
    db = tmp_path / "k.db"
    Ledger.open(db).close()
    f = tmp_path / "prefs.jsonl"
    write_rows(f, world, 300, 200)
    got = cli.json("rlaif", "pairs", str(f), db=db)
    assert got["pairs"] == 500 + 200 and len(got["preferences"]) == 1000 and len(got["gold"]) == 200
    again = cli.json("rlaif", "pairs", str(f), db=db)
    assert again["appended"] == 0
    plain = cli.json("rlaif", "reward", "fit", "--plain", "--epochs", "3", db=db)
    fixed = cli.json(
        "rlaif", "reward", "fit", "--corrected", "--epochs", "3", "--save",
        str(tmp_path / "r.bin"), db=db,
    )  # fmt: skip
    assert plain["pairs"] == {"trained": 400, "anchors": 100, "heldout": 100}
    assert (
        fixed["config"]["noise"]["eps_plus"]["value"]
        > fixed["config"]["noise"]["eps_minus"]["value"]
    )
    for done in (plain, fixed):
        acc = done["accuracy"]
        assert acc["lo"] <= acc["value"] <= acc["hi"] and acc["value"] > 0.6
    import hashlib

    assert hashlib.sha256((tmp_path / "r.bin").read_bytes()).hexdigest() == fixed["digest"]
    with Ledger.open(db) as led:
        run = led.locate(fixed["run"]).entry
        assert isinstance(run, Run) and run.artifact_sha256 == fixed["digest"] and run.uses
    text = cli.ok(
        "rlaif", "reward", "fit", "--corrected", "--curriculum", "3", "--epochs", "2", db=db
    )
    assert "held-out accuracy" in text and "ε₊" in text
    (profile,) = cli.json("rlaif", "audit", db=db)
    assert profile["judge"] == "sim:critical" and profile["n"] == 1000
    assert "first slot wins" in cli.ok("rlaif", "audit", db=db)
    code, _, err = cli("rlaif", "reward", "fit", "--judge", "nobody", db=db)
    assert code == 2 and err.startswith("error: ") and "no preferences of AI judge" in err
    code, _, err = cli("rlaif", "reward", "fit", "--orientation", "up", db=db)
    assert code == 2 and "longer or first" in err


FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
NAMES = st.sampled_from(["prompt", "first", "second", "choice", "judge", "kind", "score", "x", ""])
CELLS = st.one_of(
    st.sampled_from(
        ["first", "second", "tie", "b", "ai", "expert", "robot", "nan", "1e400", "0.5", ""]
    ),
    st.text(max_size=5),
)


@FUZZ
@given(
    names=st.lists(NAMES, min_size=1, max_size=6),
    rows=st.lists(st.lists(CELLS, min_size=6, max_size=6), max_size=5),
    jsonl=st.booleans(),
    cut=st.integers(0, 400),
)
def test_pairs_file_fuzz(
    cli: Cli,
    tmp_path_factory: object,
    names: list[str],
    rows: list[list[str]],
    jsonl: bool,
    cut: int,
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")  # type: ignore[attr-defined]
    db = folder / "k.db"
    Ledger.open(db).close()
    if jsonl:
        data = "".join(json.dumps(dict(zip(names, r, strict=False))) + "\n" for r in rows).encode()
        f = folder / "p.jsonl"
    else:
        text = io.StringIO()
        csv.writer(text).writerows([names, *(r[: len(names)] for r in rows)])
        data = text.getvalue().encode("utf-8", "surrogatepass")
        f = folder / "p.csv"
    f.write_bytes(data[: cut or None])
    with Ledger.open(db) as led:
        before = led.size
    code, _, err = cli("rlaif", "pairs", str(f), "--judge", "j", db=db)
    assert code in (0, 2), err
    assert "Traceback" not in err
    with Ledger.open(db) as led:
        after = led.size
    if code:
        assert err.startswith("error: ") and after == before
