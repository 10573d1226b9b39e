"""`export_tiles`: a ledger written as a c2sp.org/tlog-tiles log, read back by keel's reader.

Round trips at tile boundaries and random sizes, incremental exports that add only new files,
an export interrupted half-way (the old checkpoint still verifies), payloads and erasure, and
the folders an export must refuse.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keel.errors import InputError, VerificationError
from keel.ledger import Appended, Ledger, open_checkpoint
from keel.ledger.export_tiles import TileExport, export_tiles, payload_path
from keel.ledger.merkle import EMPTY_ROOT, Hash
from keel.ledger.tiles import entry_bundle_path, hash_tile_path, read_tile_log, verify_tile_log
from keel.records import text_record

Fill = Callable[..., list[Appended]]
ORIGIN = "example.com/test"


def files(root: Path) -> dict[str, tuple[int, int]]:
    """Every file of a tile log folder with its (inode, mtime in ns)."""
    out = {}
    for path in root.rglob("*"):
        if path.is_file():
            st_ = path.stat()
            out[path.relative_to(root).as_posix()] = (st_.st_ino, st_.st_mtime_ns)
    return out


def check(led: Ledger, out: Path, report: TileExport) -> None:
    """The folder's checkpoint is the ledger's, and keel's reader finds every entry in it."""
    cp = open_checkpoint((out / "checkpoint").read_bytes(), led.verifier())
    assert (cp.size, cp.root.hex()) == (report.size, report.root)
    assert cp.root == led.root(cp.size)
    verify_tile_log(out, cp.size, cp.root)
    entries, _ = read_tile_log(out, cp.size)
    assert entries == [led.at(i).raw for i in range(cp.size)]


@pytest.mark.parametrize("size", [0, 1, 255, 256, 257, 511, 512, 1000])
def test_round_trip(ledger: Ledger, fill_ledger: Fill, tmp_path: Path, size: int) -> None:
    fill_ledger(ledger, size)
    report = export_tiles(ledger, tmp_path / "tiles")
    assert report.size == size and report.previous_size == 0
    check(ledger, tmp_path / "tiles", report)
    if size == 0:
        assert bytes.fromhex(report.root) == EMPTY_ROOT
        assert not (tmp_path / "tiles" / "tile").exists()
    else:
        assert report.bundles == -(-size // 256)


@pytest.mark.slow
def test_layout_of_the_spec_example(ledger: Ledger, tmp_path: Path) -> None:
    """c2sp.org/tlog-tiles: a tree of 70,000 has 273 full level-0 tiles, a level-0 partial of
    112, one full level-1 tile, a level-1 partial of 17 and a level-2 partial of 1."""
    ledger.append(text_record(f"r{i}", "human") for i in range(70_000))
    out = tmp_path / "tiles"
    report = export_tiles(ledger, out)
    names = set(files(out))
    assert {hash_tile_path(0, 272), hash_tile_path(0, 273, 112)} <= names
    assert {hash_tile_path(1, 0), hash_tile_path(1, 1, 17), hash_tile_path(2, 0, 1)} <= names
    assert hash_tile_path(0, 273) not in names and hash_tile_path(1, 1) not in names
    assert report.tiles == 273 + 1 + 1 + 1 + 1 and report.bundles == 274
    assert (out / hash_tile_path(0, 272)).stat().st_size == 8192
    check(ledger, out, report)


def test_incremental_export_writes_only_what_is_new(
    ledger: Ledger, fill_ledger: Fill, tmp_path: Path
) -> None:
    out = tmp_path / "tiles"
    fill_ledger(ledger, 1000)  # 3 full tiles + 003.p/232; level 1: 000.p/3
    export_tiles(ledger, out)
    before = files(out)
    fill_ledger(ledger, 300, start=1000)  # 1300: 5 full tiles + 005.p/20; level 1: 000.p/5
    report = export_tiles(ledger, out)
    after = files(out)
    check(ledger, out, report)
    assert report.previous_size == 1000 and report.size == 1300
    for n in range(3):  # full tiles already there are not rewritten
        for rel in (hash_tile_path(0, n), entry_bundle_path(n)):
            assert after[rel] == before[rel]
    assert after[hash_tile_path(1, 0, 3)] == before[hash_tile_path(1, 0, 3)]
    new = set(after) - set(before)
    assert new == {
        *(hash_tile_path(0, n) for n in (3, 4)),
        *(entry_bundle_path(n) for n in (3, 4)),
        hash_tile_path(0, 5, 20),
        entry_bundle_path(5, 20),
        hash_tile_path(1, 0, 5),
    }
    assert after["checkpoint"] != before["checkpoint"]
    # the partial tile and bundle that full ones replaced are gone; level 1 keeps both partials
    assert set(before) - set(after) == {hash_tile_path(0, 3, 232), entry_bundle_path(3, 232)}
    assert report.removed == 2 and report.tiles == 4 and report.bundles == 3

    again = export_tiles(ledger, out)  # nothing new: nothing written
    assert (again.tiles, again.bundles, again.bytes, again.removed) == (0, 0, 0, 0)
    assert files(out) == after


def test_interrupted_export_keeps_the_old_checkpoint_valid(
    ledger: Ledger, fill_ledger: Fill, tmp_path: Path
) -> None:
    """An export that fails half-way leaves the folder's old checkpoint, whose tiles are all
    there; the next export finishes the job."""
    out = tmp_path / "tiles"
    fill_ledger(ledger, 600)
    first = export_tiles(ledger, out)
    fill_ledger(ledger, 1000, start=600)
    obstacle = out / entry_bundle_path(4)
    obstacle.mkdir(parents=True)  # the bundle cannot be renamed into place
    (obstacle / "keep").write_bytes(b"")
    with pytest.raises(InputError, match="cannot write"):
        export_tiles(ledger, out)
    assert (out / hash_tile_path(0, 3)).exists()  # some tiles were written ...
    cp = open_checkpoint((out / "checkpoint").read_bytes(), ledger.verifier())
    assert cp.size == first.size  # ... but the checkpoint is the old one, and it verifies
    verify_tile_log(out, cp.size, cp.root)
    shutil.rmtree(obstacle)
    check(ledger, out, export_tiles(ledger, out))


def test_payloads_are_exported_by_digest_and_never_when_redacted(
    ledger: Ledger, tmp_path: Path
) -> None:
    out = tmp_path / "tiles"
    texts = [f"payload {i}" for i in range(10)]
    added = ledger.append(text_record(t, "human") for t in texts)
    ledger.redact(added[3].id, "personal data")
    report = export_tiles(ledger, out, payloads=True)
    assert report.payloads == 9
    for i, t in enumerate(texts):
        path = out / payload_path(hashlib.sha256(t.encode()).hexdigest())
        assert path.exists() == (i != 3)
        if i != 3:
            assert path.read_text() == t
    ledger.redact(added[5].id, "asked to be forgotten")
    second = export_tiles(ledger, out, payloads=True)
    assert not (out / payload_path(hashlib.sha256(texts[5].encode()).hexdigest())).exists()
    assert second.removed >= 1
    # erasure reaches a folder exported with payloads even by an export without them
    ledger.redact(added[7].id, "gone too")
    export_tiles(ledger, out)
    assert not (out / payload_path(hashlib.sha256(texts[7].encode()).hexdigest())).exists()


def test_payloads_of_earlier_entries_when_first_asked(
    ledger: Ledger, fill_ledger: Fill, tmp_path: Path
) -> None:
    out = tmp_path / "tiles"
    fill_ledger(ledger, 20)
    export_tiles(ledger, out)
    assert not (out / "payload").exists()
    fill_ledger(ledger, 5, start=20)
    assert export_tiles(ledger, out, payloads=True).payloads == 25


def test_no_sign_publishes_the_latest_signed_checkpoint(
    ledger: Ledger, fill_ledger: Fill, tmp_path: Path
) -> None:
    fill_ledger(ledger, 300)
    ledger.checkpoint()
    fill_ledger(ledger, 10, start=300)
    report = export_tiles(ledger, tmp_path / "tiles", sign=False)
    assert report.size == 300 and ledger.size == 310
    check(ledger, tmp_path / "tiles", report)


def test_no_checkpoint_to_publish(ledger: Ledger, fill_ledger: Fill, tmp_path: Path) -> None:
    fill_ledger(ledger, 3)
    with pytest.raises(InputError, match="no signed checkpoint"):
        export_tiles(ledger, tmp_path / "tiles", sign=False)


def test_refuses_another_logs_folder(ledger: Ledger, fill_ledger: Fill, tmp_path: Path) -> None:
    other = Ledger.open(tmp_path / "o.db", key_path=tmp_path / "o.key")
    other.init_key("example.com/other")
    fill_ledger(other, 5)
    export_tiles(other, tmp_path / "tiles")
    fill_ledger(ledger, 5)
    with pytest.raises(InputError, match=r"another log \('example.com/other'"):
        export_tiles(ledger, tmp_path / "tiles")
    other.close()


def test_refuses_another_history_of_the_same_log(
    ledger: Ledger, fill_ledger: Fill, tmp_path: Path
) -> None:
    """A copy of the ledger that went its own way (a fork) cannot add to the folder."""
    ledger.close()
    shutil.copy(tmp_path / "k.db", tmp_path / "fork.db")
    shutil.copy(tmp_path / "k.key", tmp_path / "fork.key")
    led = Ledger.open(tmp_path / "k.db", key_path=tmp_path / "k.key")
    fork = Ledger.open(tmp_path / "fork.db", key_path=tmp_path / "fork.key")
    fill_ledger(led, 10)
    fill_ledger(fork, 12, prefix="forked")
    export_tiles(led, tmp_path / "tiles")
    with pytest.raises(VerificationError, match="another history"):
        export_tiles(fork, tmp_path / "tiles")
    led.close()
    fork.close()


def test_refuses_a_folder_that_is_no_tile_log(ledger: Ledger, tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("x")
    with pytest.raises(InputError, match="not part of a tile log"):
        export_tiles(ledger, tmp_path / "notes")
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file"):
        export_tiles(ledger, tmp_path / "file")
    with pytest.raises(InputError, match="does not exist"):
        export_tiles(ledger, tmp_path / "missing" / "tiles")


def test_an_entry_too_long_for_a_bundle(ledger: Ledger, tmp_path: Path) -> None:
    ledger.append([text_record("big", "human", tags={"blob": "x" * 70_000})])
    with pytest.raises(InputError, match="at most 65,535 bytes"):
        export_tiles(ledger, tmp_path / "tiles")
    assert not (tmp_path / "tiles" / "checkpoint").exists()


_counter = itertools.count()


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(sizes=st.lists(st.integers(0, 700), min_size=1, max_size=3))
def test_exports_in_steps_read_back_as_the_ledger(
    tmp_path_factory: pytest.TempPathFactory, sizes: list[int]
) -> None:
    """For any sizes, exporting after each batch reads back as the ledger's entries and root,
    and holds every file a one-shot export of the final tree holds, byte for byte."""
    tmp = tmp_path_factory.mktemp(f"steps{next(_counter)}")
    with Ledger.open(tmp / "k.db", key_path=tmp / "k.key") as led:
        led.init_key(ORIGIN)
        done = 0
        for n in sizes:
            led.append(text_record(f"e{done + i}", "human") for i in range(n))
            done += n
            report = export_tiles(led, tmp / "steps")
            check(led, tmp / "steps", report)
        assert report.root == led.root().hex()
        export_tiles(led, tmp / "once")
    once, steps = files(tmp / "once"), files(tmp / "steps")
    assert set(once) <= set(steps)
    for rel in once:
        assert (tmp / "once" / rel).read_bytes() == (tmp / "steps" / rel).read_bytes()
    extra = set(steps) - set(once)  # partial tiles of earlier checkpoints, kept as the spec says
    assert all(".p/" in rel for rel in extra)


@pytest.mark.slow
def test_round_trip_past_level_two(ledger: Ledger, tmp_path: Path) -> None:
    """65,537 entries: full level-0 and level-1 tiles, and partial tiles at levels 0 and 2."""
    ledger.append(text_record(f"r{i}", "human") for i in range(65_537))
    out = tmp_path / "tiles"
    report = export_tiles(ledger, out)
    assert {hash_tile_path(1, 0), hash_tile_path(2, 0, 1), hash_tile_path(0, 256, 1)} <= set(
        files(out)
    )
    check(ledger, out, report)
    assert Hash(bytes.fromhex(report.root)) == ledger.root()
    assert os.path.getsize(out / hash_tile_path(1, 0)) == 8192
