"""keel.scale: the executor interface and its local default; every pass run in shards through
an executor gives exactly the local run's bytes (Ray itself: test_ray.py)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from scale_cases import cli_runs, dedup_keepers, ingested, judged, watch_bytes

from keel.errors import ConfigError, InputError
from keel.ledger import INGEST_FIELDS, Ledger, ingest
from keel.scale import LocalExecutor, chunked, executor_for, resolve
from keel_cli import Cli

T = TypeVar("T")
R = TypeVar("R")


class Counting(LocalExecutor):
    """The local executor, counting the calls it makes: shows that a pass went through it."""

    def __init__(self) -> None:
        self.calls = 0

    def map(
        self, fn: Callable[[T], R], items: Iterable[T], *, concurrency: int | None = None
    ) -> Iterator[R]:
        for item in items:
            self.calls += 1
            yield fn(item)


@pytest.fixture
def small_shards(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shards of a few texts or rows, so that small inputs span many of them."""
    module = importlib.import_module  # the module, not the package's function of its name
    monkeypatch.setattr(module("keel.collapse.metrics"), "SHARD_TEXTS", 97)
    monkeypatch.setattr(module("keel.collapse.embed"), "SHARD_TEXTS", 89)
    monkeypatch.setattr(module("keel.mix.dedup"), "SHARD_TEXTS", 31)
    monkeypatch.setattr(module("keel.ledger.ingest"), "BUILD_CHUNK", 13)


def test_local_map_is_ordered_and_lazy() -> None:
    seen: list[int] = []

    def items() -> Iterator[int]:
        for i in range(5):
            seen.append(i)
            yield i

    results = LocalExecutor().map(lambda x: x * x, items())
    assert seen == []
    assert next(results) == 0 and seen == [0]
    assert list(results) == [1, 4, 9, 16]


def test_chunked_and_the_factory() -> None:
    assert list(chunked(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(chunked([], 3)) == []
    with pytest.raises(ConfigError, match="at least 1"):
        list(chunked(range(3), 0))
    with LocalExecutor() as ex:
        assert ex.name == "local" and ex.workers == 1
    assert isinstance(executor_for(None), LocalExecutor)
    assert isinstance(executor_for("local"), LocalExecutor)
    assert isinstance(resolve(None), LocalExecutor)
    with pytest.raises(ConfigError, match="unknown executor 'spark'"):
        executor_for("spark")


def test_sharded_watch_is_byte_identical(small_shards: None) -> None:
    ex = Counting()
    assert watch_bytes(ex) == watch_bytes(None)
    assert ex.calls > 10


def test_sharded_dedup_keeps_the_same_texts(small_shards: None) -> None:
    ex = Counting()
    keepers = dedup_keepers(ex)
    assert keepers == dedup_keepers(None)
    assert ex.calls == 13 and sum(k != i for i, k in enumerate(keepers)) >= 50


def test_sharded_ingest_writes_the_same_ledger(tmp_path: Path, small_shards: None) -> None:
    ex = Counting()
    assert ingested(tmp_path / "a", ex) == ingested(tmp_path / "b", None)
    assert ex.calls == 39


@pytest.mark.parametrize(
    "bad",
    [
        b'{"text": "row 30", "origin": "robot"}',  # a row keel refuses
        b'{"text": "row 30", "origin": ',  # not JSON (lines are parsed in the workers)
        b'["row 30"]',  # not an object
        b'{"text": "row \xff 30", "origin": "human"}',  # not UTF-8
        b'{"text": "row 30", "origin": "human", "n": 1e400}',  # a number keel cannot keep
    ],
)
def test_sharded_ingest_reports_a_bad_row_as_the_local_run(
    tmp_path: Path, ledger: Ledger, small_shards: None, bad: bytes
) -> None:
    path = tmp_path / "bad.jsonl"
    rows = [b'{"text": "row %d", "origin": "human"}' % i for i in range(40)]
    rows[30] = bad
    path.write_bytes(b"\n".join(rows) + b"\n")
    messages = []
    for ex in (None, Counting()):
        with pytest.raises(InputError) as caught:
            ingest(ledger, path, executor=ex)
        messages.append(str(caught.value))
    assert messages[0] == messages[1] and "bad.jsonl:31" in messages[0]
    assert ledger.size == 0


def test_sharded_ingest_refuses_a_mapped_column_no_row_has_as_the_local_run(
    tmp_path: Path, ledger: Ledger, small_shards: None
) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(f'{{"body": "row {i}", "origin": "human"}}\n' for i in range(40)))
    fields = INGEST_FIELDS.parse(["text=body", "author=writer"])
    messages = []
    for ex in (None, Counting()):
        with pytest.raises(InputError) as caught:
            ingest(ledger, path, fields_=fields, executor=ex)
        messages.append(str(caught.value))
    assert messages[0] == messages[1] and "writer" in messages[0]
    assert ledger.size == 0


def test_sharded_ingest_resolves_external_parents_on_the_driver(
    tmp_path: Path, ledger: Ledger, small_shards: None
) -> None:
    first = tmp_path / "first.jsonl"
    first.write_text('{"text": "a parent", "origin": "human", "name": "p1"}\n')
    ingest(ledger, first, fields_=INGEST_FIELDS.parse(["id=name"]))
    child = tmp_path / "child.jsonl"
    rows = [f'{{"text": "child {i}", "origin": "synthetic", "parents": ["p1"]}}' for i in range(20)]
    child.write_text("\n".join(rows) + "\n")
    local = ingest(ledger, child)
    again = ingest(ledger, child, executor=Counting())
    assert again.existing_ids == local.ids and len(local.ids) == 20


def test_judging_through_an_executor_logs_the_same_verdicts(tmp_path: Path) -> None:
    ex = Counting()
    assert judged(tmp_path / "a", ex) == judged(tmp_path / "b", None)
    assert ex.calls == 2


def test_ray_missing_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(ConfigError, match=r"pip install 'keel\[scale\]'"):
        executor_for("ray")


def test_commands_take_an_executor(cli: Cli, tmp_path: Path, small_shards: None) -> None:
    runs = cli_runs(cli, tmp_path / "local", "local")
    assert runs[0]["rows"] == 500 and runs[1]["appended"] > 0
    code, _, err = cli("watch", "x.txt", "--executor", "spark")
    assert code == 2 and "unknown executor 'spark'" in err
