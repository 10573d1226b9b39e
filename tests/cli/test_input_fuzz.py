"""Property tests of the commands that read user files: on random and mutated input they finish
with exit 0 or 2 (`ledger verify-proof` also 3: a receipt that does not verify), print one
`error:` line when they refuse, never raise, and write nothing when they refuse.

Exit codes (keel.errors): 0 done; 2 InputError / ConfigError (malformed input, refused);
3 VerificationError (well-formed but does not check out). Anything else fails the test.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tomli_w import dumps

import keel.loop.run as loop_run
from keel_cli import Cli
from small_loop import small_loop

FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """`original` with a few bytes changed, inserted or deleted, or cut short."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["set", "insert", "delete", "cut"]))
        at = draw(st.integers(0, len(data)))
        if op == "set" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif op == "cut":
            del data[at:]
    return bytes(data)


def maybe_mutated(original: bytes) -> st.SearchStrategy[bytes]:
    return st.one_of(st.just(original), mutated(original))


@contextmanager
def inside(root: Path) -> Iterator[Path]:
    """Work in a new folder under `root` (one per example of a property test)."""
    folder = Path(tempfile.mkdtemp(dir=root))
    old = Path.cwd()
    os.chdir(folder)
    try:
        yield folder
    finally:
        os.chdir(old)


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def clean(code: int, err: str, allowed: tuple[int, ...] = (0, 2)) -> None:
    assert code in allowed, err
    assert "Traceback" not in err
    if code:
        assert err.startswith("error: "), err


# -- keel judge audit / judge correct --------------------------------------------------------
NAMES = st.sampled_from(["human", "a", "b", "item", "judge", "verdict", "score", "run",
                         "category", "subject", "first", "gold", ""])  # fmt: skip
WORDS = ["yes", "no", "1", "0", "true", "FALSE", "na", "0.7", "-3", "1e400", "nan", "inf",
         "perhaps", "first", "tie", "a,b", '"', "é", ""]  # fmt: skip
CELLS = st.one_of(st.sampled_from(WORDS), st.text(max_size=6))
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=6,
)


@st.composite
def judge_file(draw: st.DrawFn) -> tuple[str, bytes]:
    """A small CSV, JSONL or Parquet verdict table, often malformed, as (suffix, bytes)."""
    suffix = draw(st.sampled_from([".csv", ".jsonl", ".parquet"]))
    if suffix == ".jsonl":
        rows = draw(st.lists(st.dictionaries(NAMES, JSON_VALUES, max_size=5), max_size=8))
        data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    else:
        names = draw(st.lists(NAMES, min_size=1, max_size=5))
        rows = draw(st.lists(st.lists(CELLS, min_size=len(names), max_size=len(names)), max_size=8))
        if suffix == ".csv":
            text = io.StringIO()
            csv.writer(text).writerows([names, *rows])
            data = text.getvalue().encode("utf-8", "surrogatepass")
        else:
            columns = [pa.array([r[k] for r in rows], pa.string()) for k in range(len(names))]
            sink = io.BytesIO()
            pq.write_table(pa.Table.from_arrays(columns, names=names), sink)
            data = sink.getvalue()
    return suffix, draw(maybe_mutated(data))


@settings(FUZZ, max_examples=50)  # two commands an example; each run of keel takes ~60 ms
@given(
    table=judge_file(),
    layout=st.sampled_from(["wide", "long", "pairwise"]),
    threshold=st.sampled_from([None, "0.5", "-1e300"]),
)
def test_judge_commands_survive_any_table(
    tmp_path: Path, cli: Cli, table: tuple[str, bytes], layout: str, threshold: str | None
) -> None:
    suffix, data = table
    with inside(tmp_path) as folder:
        Path(f"verdicts{suffix}").write_bytes(data)
        before = files(folder)
        options = ["--threshold", threshold] if threshold else []
        code, out, err = cli(
            "judge",
            "audit",
            f"verdicts{suffix}",
            "--layout",
            layout,
            "--resamples",
            "20",
            "--html",
            "audit.html",
            "--json",
            *options,
        )
        clean(code, err)
        if code == 0:
            json.loads(out)
            assert Path("audit.html").exists()
        else:
            assert files(folder) == before
        if layout != "pairwise":
            code, out, err = cli(
                "judge", "correct", f"verdicts{suffix}", "--layout", layout, "--json", *options
            )
            clean(code, err)
            if code == 0:
                json.loads(out)
        assert files(folder).get(f"verdicts{suffix}") == data


# -- keel ledger verify-proof ------------------------------------------------------------------
@pytest.fixture
def receipt(tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A real receipt for a text record of a 5-entry ledger: its files' bytes and the key."""
    monkeypatch.delenv("KEEL_KEY", raising=False)
    with inside(tmp_path):
        db = Path("keel.db")
        vkey = cli.ok("ledger", "key", "init", "--origin", "example.com/fuzz", db=db).strip()
        Path("t.jsonl").write_text(
            "".join(json.dumps({"text": f"text {i}"}) + "\n" for i in range(5))
        )
        rid = cli.json("ingest", "t.jsonl", "--origin", "human", db=db)["appended"][2]
        cli.ok("ledger", "checkpoint", db=db)
        cli.ok("ledger", "prove", rid, "-o", "r.tlog-proof", db=db)
        cli.ok("ledger", "entry", rid, "--raw", "-o", "e.entry", db=db)
        cli.ok("ledger", "payload", rid, "-o", "p.bin", db=db)
        names = {"receipt": "r.tlog-proof", "entry": "e.entry", "payload": "p.bin"}
        return {"vkey": vkey, **{k: Path(n).read_bytes() for k, n in names.items()}}


@st.composite
def receipt_files(draw: st.DrawFn, good: dict[str, Any]) -> dict[str, Any]:
    """The receipt's files and key, one or more of them mutated (or the receipt random)."""
    out = dict(good)
    for name in draw(st.sets(st.sampled_from(["receipt", "entry", "payload", "vkey"]))):
        if name == "vkey":
            text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\0"))
            out[name] = draw(
                st.one_of(
                    text,
                    mutated(good[name].encode()).map(
                        lambda b: b.decode("utf-8", "replace").replace("\0", "")
                    ),
                )
            )
        else:
            out[name] = draw(st.one_of(mutated(good[name]), st.binary(max_size=300)))
    return out


@FUZZ
@given(data=st.data(), with_payload=st.booleans())
def test_verify_proof_survives_any_receipt(
    tmp_path: Path, cli: Cli, receipt: dict[str, Any], data: st.DataObject, with_payload: bool
) -> None:
    got = data.draw(receipt_files(receipt))
    with inside(tmp_path) as folder:
        Path("r.tlog-proof").write_bytes(got["receipt"])
        Path("e.entry").write_bytes(got["entry"])
        Path("p.bin").write_bytes(got["payload"])
        before = files(folder)
        code, _, err = cli(
            "ledger",
            "verify-proof",
            "--key",
            got["vkey"],
            "r.tlog-proof",
            "e.entry",
            *(["--payload", "p.bin"] if with_payload else []),
        )
        clean(code, err, (0, 2, 3))
        assert files(folder) == before  # verify-proof reads; it never writes (no database)
    if code == 0:
        assert got["entry"] == receipt["entry"]  # a changed entry never verifies
        assert not with_payload or got["payload"] == receipt["payload"]


# -- keel loop run -----------------------------------------------------------------------------
class Accepted(Exception):  # noqa: N818 - a signal, not an error
    """Raised instead of running a loop whose config was accepted."""


CORPUS = "".join(f"human text number {i}\n" for i in range(60))
BASE = small_loop(
    generations=2, human={"corpus": "h.txt", "reference": 40, "initial": 10, "fresh": 2}
)
KEYS = st.text("abcxyz_", min_size=1, max_size=4)
ARRAYS = st.recursive(
    st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
    | st.text(st.characters(exclude_categories=["Cs"]), max_size=8),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=6,
)
TOML_VALUES = st.recursive(
    ARRAYS, lambda inner: st.dictionaries(KEYS, inner, max_size=3), max_leaves=8
)
"""Values TOML can hold (`tomli_w.dumps` writes them): scalars, arrays of them, tables."""


def _paths(table: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for k, v in table.items():
        out.append((*prefix, k))
        if isinstance(v, dict):
            out += _paths(v, (*prefix, k))
        elif isinstance(v, list):
            for i, item in enumerate(v):
                if isinstance(item, dict):
                    out += [(*prefix, k, str(i), *p) for p in _paths(item)]
    return out


@st.composite
def loop_file(draw: st.DrawFn) -> bytes:
    """The small loop's TOML with a value replaced, a key added or dropped, or bytes mutated."""
    table = json.loads(json.dumps(BASE))
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(_paths(table)))
        *parents, key = path
        node: Any = table
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        values = ARRAYS if any(p.isdigit() for p in parents) else TOML_VALUES  # [[judges]]
        op = draw(st.sampled_from(["set", "drop", "add"]))
        if op == "drop":
            node.pop(key)
        elif op == "add":
            node[draw(KEYS)] = draw(values)
        else:
            node[key] = draw(values)
    data = dumps(table).encode()
    return draw(maybe_mutated(data))


def _stop_before_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loop's work starts with its state (`_Loop`): a config that gets there is accepted."""

    def accepted(*args: object) -> None:
        raise Accepted

    monkeypatch.setattr(loop_run, "_Loop", accepted)


@FUZZ
@given(text=loop_file())
def test_loop_run_refuses_bad_configs_before_any_work(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch, text: bytes
) -> None:
    _stop_before_the_loop(monkeypatch)
    with inside(tmp_path) as folder:
        Path("h.txt").write_text(CORPUS)
        Path("loop.toml").write_bytes(text)
        before = files(folder)
        try:
            code, _, err = cli("loop", "run", "loop.toml", "--json")
        except Accepted:
            return
        clean(code, err, (2,))
        assert files(folder) == before


def test_the_fuzzed_loop_base_is_accepted(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stop_before_the_loop(monkeypatch)
    with inside(tmp_path), pytest.raises(Accepted):
        Path("h.txt").write_text(CORPUS)
        Path("loop.toml").write_text(dumps(BASE))
        cli("loop", "run", "loop.toml")
