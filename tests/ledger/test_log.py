"""keel.ledger.log: appends (dedup, atomic batches), lookups, lineage, checkpoints, receipts, and
two processes appending to one database at once."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from keel.errors import InputError, NotFoundError, VerificationError
from keel.ledger import Ledger, open_checkpoint, prepare, verify, verify_bundle
from keel.records import (
    Producer,
    Record,
    Run,
    entry_bytes,
    mix,
    text_record,
    verdict,
)

Fill = Callable[..., Any]

# Two texts whose human records' ids share their first 8 hex digits (found by brute force).
COLLIDING = ("prefix-collision-24233", "prefix-collision-37963")


def counts(led: Ledger) -> dict[str, int]:
    with sqlite3.connect(led.store.path) as db:  # type: ignore[attr-defined]
        return {
            t: int(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
            for t in ("entries", "payloads", "hashes", "aliases", "refs", "checkpoints")
        }


def hash_bytes(led: Ledger) -> bytes:
    with sqlite3.connect(led.store.path) as db:  # type: ignore[attr-defined]
        return b"".join(bytes(r[0]) for r in db.execute("SELECT data FROM hashes ORDER BY chunk"))


# --- appending -----------------------------------------------------------------------------


def test_append_returns_ids_indexes_and_new(ledger: Ledger) -> None:
    a = text_record("alpha", "human")
    b = text_record("beta", "synthetic", producer=Producer("m"))
    res = ledger.append([a, b])
    assert [r.index for r in res] == [0, 1]
    assert [r.new for r in res] == [True, True]
    assert [r.id for r in res] == [hashlib.sha256(entry_bytes(x[0])).hexdigest() for x in (a, b)]
    assert ledger.size == 2
    assert ledger.at(1).raw == entry_bytes(b[0])
    assert ledger.payload(a[0].payload.sha256) == b"alpha"


def test_same_entry_twice_in_one_batch_is_one_entry(ledger: Ledger) -> None:
    a = text_record("alpha", "human")
    res = ledger.append([a, text_record("beta", "human"), a])
    assert [(r.index, r.new) for r in res] == [(0, True), (1, True), (0, False)]
    assert res[0].id == res[2].id
    assert ledger.size == 2


def test_same_entry_across_batches_is_one_entry(ledger: Ledger) -> None:
    a = text_record("alpha", "human")
    first = ledger.append([a])[0]
    c = counts(ledger)
    again = ledger.append([text_record("beta", "human"), a])
    assert again[1] == type(first)(first.id, first.index, False)
    assert again[0].new
    assert ledger.size == 2
    assert counts(ledger)["payloads"] == c["payloads"] + 1


def test_same_text_two_provenances_shares_one_payload(ledger: Ledger) -> None:
    res = ledger.append(
        [
            text_record("shared", "synthetic", producer=Producer("a")),
            text_record("shared", "synthetic", producer=Producer("b")),
        ]
    )
    assert res[0].id != res[1].id
    assert counts(ledger)["payloads"] == 1
    assert [loc.id for loc in ledger.find_text("shared")] == [res[0].id, res[1].id]


def test_payload_must_match_its_entry() -> None:
    rec, _ = text_record("real", "human")
    with pytest.raises(InputError, match="do not match"):
        prepare(rec, b"fake")
    with pytest.raises(InputError, match="pass its bytes"):
        prepare(rec, None)
    run = Run(mix="a" * 64, model="m")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="no payload"):
        prepare(run, b"x")


def test_failed_batch_leaves_nothing_behind(ledger: Ledger, fill_ledger: Fill) -> None:
    fill_ledger(ledger, 5)
    ledger.checkpoint()
    before, hashes, root = counts(ledger), hash_bytes(ledger), ledger.root()
    good = [prepare(*text_record(f"new {i}", "human"), alias=f"ext-{i}") for i in range(3)]
    v, why = verdict("f" * 64, "judge", "ai", label="bad", rationale="no such record")
    with pytest.raises(NotFoundError, match="not in the ledger"):
        ledger.append([*good, prepare(v, why)])
    assert counts(ledger) == before
    assert hash_bytes(ledger) == hashes
    assert ledger.root() == root
    assert ledger.find_text("new 0") == []
    assert ledger.resolve_aliases(["ext-0"]) == {}
    with pytest.raises(NotFoundError):
        ledger.payload(hashlib.sha256(b"new 0").hexdigest())
    # the ledger still works and takes the same good entries afterwards
    assert [r.index for r in ledger.append(good)] == [5, 6, 7]
    assert verify(ledger.store, ledger.verifier()).ok


def test_reference_later_in_the_batch_is_refused(ledger: Ledger) -> None:
    parent, pdata = text_record("parent", "human")
    pid = hashlib.sha256(entry_bytes(parent)).hexdigest()
    child = text_record("child", "synthetic", parents=[pid])
    with pytest.raises(NotFoundError, match="later in the batch"):
        ledger.append([child, (parent, pdata)])
    assert ledger.size == 0
    res = ledger.append([(parent, pdata), child])
    assert ledger.lineage(res[1].id).ancestors[0].located.id == pid


def test_unknown_refs_allowed_only_on_request(ledger: Ledger) -> None:
    v, _ = verdict("e" * 64, "judge", "ai", score=0.5)
    with pytest.raises(NotFoundError):
        ledger.append([(v, None)])
    res = ledger.append([(v, None)], allow_unknown_refs=True)
    assert res[0].new
    assert counts(ledger)["refs"] == 0


def test_external_id_must_be_unique(ledger: Ledger) -> None:
    ledger.append([prepare(*text_record("one", "human"), alias="x")])
    with pytest.raises(InputError, match="already names"):
        ledger.append([prepare(*text_record("two", "human"), alias="x")])
    assert ledger.size == 1


def test_on_chunk_streams_results(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    import keel.ledger.log as log_module

    monkeypatch.setattr(log_module, "CHUNK", 4)
    seen: list[list[Any]] = []
    items = [text_record(f"r{i}", "human") for i in range(10)]
    items.append(items[2])  # a duplicate from an earlier chunk
    out = ledger.append(items, on_chunk=seen.append)
    assert out == []
    assert [len(c) for c in seen] == [4, 4, 3]
    flat = [a for c in seen for a in c]
    assert [a.index for a in flat] == [*range(10), 2]
    assert flat[-1].new is False
    assert ledger.size == 10
    assert verify(ledger.store, ledger.verifier()).ok


# --- lookups -----------------------------------------------------------------------------------


def test_locate_by_id_prefix_and_external_id(ledger: Ledger, fill_ledger: Fill) -> None:
    res = fill_ledger(ledger, 6)
    ledger.append([prepare(*text_record("aliased", "human"), alias="my-id-1")])
    target = res[3]
    assert ledger.locate(target.id).index == 3
    assert ledger.locate(target.id.upper()).index == 3
    assert ledger.locate(f"  {target.id}\n").index == 3
    assert ledger.locate(target.id[:8]).index == 3
    assert ledger.locate(target.id[:13].upper()).index == 3
    assert ledger.locate("my-id-1").index == 6
    assert ledger.locate("my-id-1").entry == text_record("aliased", "human")[0]
    with pytest.raises(NotFoundError):
        ledger.locate("0" * 64 if not target.id.startswith("0" * 8) else "1" * 64)
    with pytest.raises(NotFoundError):
        ledger.locate("nobody")
    with pytest.raises(NotFoundError):
        ledger.locate(target.id[:7])  # prefixes need 8+ hex digits
    with pytest.raises(NotFoundError):
        ledger.at(99)


def test_ambiguous_prefix(ledger: Ledger) -> None:
    res = ledger.append([text_record(t, "human") for t in COLLIDING])
    assert res[0].id[:8] == res[1].id[:8]
    common = next(i for i in range(64) if res[0].id[i] != res[1].id[i])
    with pytest.raises(InputError, match="ambiguous"):
        ledger.locate(res[0].id[:8])
    assert ledger.locate(res[0].id[: common + 1]).index == 0
    assert ledger.locate(res[1].id[: common + 1]).index == 1


def test_locate_upper_case_hex_looking_external_id(ledger: Ledger) -> None:
    ledger.append([prepare(*text_record("aliased", "human"), alias="A1")])
    assert ledger.resolve_aliases(["A1"])  # it is stored
    assert ledger.locate("A1").index == 0


def test_find_text_and_payload(ledger: Ledger) -> None:
    res = ledger.append(
        [
            text_record("needle", "human"),
            text_record("hay", "human"),
            text_record("needle", "synthetic", producer=Producer("m")),
        ]
    )
    digest = hashlib.sha256(b"needle").hexdigest()
    assert [loc.id for loc in ledger.find_text("needle")] == [res[0].id, res[2].id]
    assert [loc.index for loc in ledger.find_payload(digest)] == [0, 2]
    assert ledger.find_text("absent") == []
    with pytest.raises(InputError):
        ledger.find_payload("not-a-digest")
    v, why = verdict(res[1].id, "j", "ai", label="ok", rationale="needle")
    ledger.append([(v, why)])
    assert [loc.index for loc in ledger.find_text("needle")] == [0, 2, 3]


def test_recent_and_iter_located(ledger: Ledger, fill_ledger: Fill) -> None:
    res = fill_ledger(ledger, 5)
    assert [loc.index for loc in ledger.recent(3)] == [4, 3, 2]
    assert [loc.id for loc in ledger.iter_located()] == [r.id for r in res]


def test_lineage_depth_verdicts_and_children(ledger: Ledger) -> None:
    (grand,) = ledger.append([text_record("grandparent", "human", author="ana")])
    (other,) = ledger.append([text_record("other root", "expert")])
    (parent,) = ledger.append(
        [text_record("parent", "synthetic", parents=[grand.id], generation=1)]
    )
    (child,) = ledger.append(
        [text_record("child", "synthetic", parents=[parent.id, other.id], generation=2)]
    )
    (sibling,) = ledger.append([text_record("sibling", "synthetic", parents=[parent.id])])
    v_grand = ledger.append([verdict(grand.id, "expert:bo", "expert", label="accept")])[0]
    v_child = ledger.append([verdict(child.id, "judge-1", "ai", score=0.2, rationale="meh")])[0]

    lin = ledger.lineage(child.id)
    assert lin.record.id == child.id
    assert [v.id for v in lin.verdicts] == [v_child.id]
    assert [(a.located.id, a.depth) for a in lin.ancestors] == [
        (parent.id, 1),
        (other.id, 1),
        (grand.id, 2),
    ]
    by_id = {a.located.id: a for a in lin.ancestors}
    assert [v.id for v in by_id[grand.id].verdicts] == [v_grand.id]
    assert by_id[parent.id].verdicts == ()
    assert set(ledger.lineage(parent.id).children) == {child.id, sibling.id}
    assert ledger.lineage(grand.id).ancestors == ()
    with pytest.raises(InputError, match="not a record"):
        ledger.lineage(v_child.id)
    refs = ledger.refs_to(ledger.locate(grand.id))
    assert [r.id for r in refs] == [parent.id, v_grand.id]


# --- checkpoints -----------------------------------------------------------------------------


def test_checkpoint_signs_the_current_root(ledger: Ledger, fill_ledger: Fill) -> None:
    fill_ledger(ledger, 7)
    note = ledger.checkpoint()
    cp = open_checkpoint(note, ledger.verifier())
    assert (cp.origin, cp.size, cp.root) == ("example.com/test", 7, ledger.root())
    assert ledger.checkpoint() == note  # nothing new: the same checkpoint
    fill_ledger(ledger, 3, start=7)
    cp2 = open_checkpoint(ledger.checkpoint(), ledger.verifier())
    assert cp2.size == 10
    assert ledger.latest_checkpoint() == cp2
    assert counts(ledger)["checkpoints"] == 2


def test_checkpoint_needs_the_right_key(tmp_path: Path, ledger: Ledger) -> None:
    other = Ledger.open(tmp_path / "other.db", key_path=tmp_path / "other.key")
    other.init_key("example.com/other")
    other.close()
    wrong = Ledger.open(tmp_path / "k.db", key_path=tmp_path / "other.key")
    try:
        with pytest.raises(VerificationError, match="not this ledger's key"):
            wrong.checkpoint()
    finally:
        wrong.close()
    missing = Ledger.open(tmp_path / "k.db", key_path=tmp_path / "absent.key")
    try:
        with pytest.raises(InputError, match=r"signing key not found.*--key-file"):
            missing.checkpoint()
    finally:
        missing.close()
    with pytest.raises(InputError, match="already has a key"):
        ledger.init_key("example.com/again")


def test_checkpoint_refuses_a_rewritten_tree(
    ledger: Ledger, fill_ledger: Fill, forge_entry: Callable[[Path, int, bytes], None]
) -> None:
    fill_ledger(ledger, 9)
    ledger.checkpoint()
    forged, _ = text_record("forged", "human")
    forge_entry(ledger.store.path, 4, entry_bytes(forged))  # type: ignore[attr-defined]
    with pytest.raises(VerificationError, match="refusing to sign"):
        ledger.checkpoint()
    fill_ledger(ledger, 2, start=9)  # appending more does not launder it
    with pytest.raises(VerificationError, match="refusing to sign"):
        ledger.checkpoint()
    assert counts(ledger)["checkpoints"] == 1


def test_checkpoint_refuses_corrupted_stored_hashes(ledger: Ledger, fill_ledger: Fill) -> None:
    fill_ledger(ledger, 12)
    ledger.checkpoint()
    with sqlite3.connect(ledger.store.path) as db:  # type: ignore[attr-defined]
        (blob,) = db.execute("SELECT data FROM hashes WHERE chunk = 0").fetchone()
        flipped = bytes(b ^ 0xFF if i % 32 == 0 else b for i, b in enumerate(bytes(blob)))
        db.execute("UPDATE hashes SET data = ? WHERE chunk = 0", (flipped,))
    fill_ledger(ledger, 1, start=12)
    with pytest.raises(VerificationError):
        ledger.checkpoint()
    assert counts(ledger)["checkpoints"] == 1


def test_checkpoint_never_signs_a_smaller_tree(ledger: Ledger, fill_ledger: Fill) -> None:
    fill_ledger(ledger, 6)
    ledger.checkpoint()
    with sqlite3.connect(ledger.store.path) as db:  # type: ignore[attr-defined]
        db.execute("DELETE FROM entries WHERE idx = 5")
    assert ledger.size == 5
    with pytest.raises(VerificationError, match="deleted"):
        ledger.checkpoint()
    assert counts(ledger)["checkpoints"] == 1


def test_append_refuses_when_hash_count_does_not_match(ledger: Ledger, fill_ledger: Fill) -> None:
    fill_ledger(ledger, 6)
    with sqlite3.connect(ledger.store.path) as db:  # type: ignore[attr-defined]
        db.execute("DELETE FROM entries WHERE idx = 5")
    with pytest.raises(VerificationError, match="stored tree hashes"):
        fill_ledger(ledger, 1, start=100)


# --- receipts --------------------------------------------------------------------------------


def _one_of_each(led: Ledger) -> dict[str, str]:
    rec = led.append([text_record("judged", "human")])[0]
    vd = led.append([verdict(rec.id, "judge", "ai", label="ok", rationale="fine")])[0]
    m, mdata = mix([rec.id], {"human_share": 1.0}, generation=1)
    mx = led.append([(m, mdata)])[0]
    run = led.append([(Run(mix=mx.id, model="m1", config={"lr": 3e-4}), None)])[0]  # type: ignore[arg-type]
    return {"record": rec.id, "verdict": vd.id, "mix": mx.id, "run": run.id}


@pytest.mark.parametrize("kind", ["record", "verdict", "mix", "run"])
def test_prove_each_kind(ledger: Ledger, fill_ledger: Fill, kind: str) -> None:
    fill_ledger(ledger, 5)
    ids = _one_of_each(ledger)
    fill_ledger(ledger, 3, start=5)
    loc = ledger.locate(ids[kind])
    assert loc.entry.kind == kind
    bundle = ledger.prove(ids[kind])
    assert bundle.index == loc.index
    cp = verify_bundle(bundle, ledger.at(loc.index).raw, ledger.verifier())
    assert cp.size == ledger.size == 12
    other = ledger.at(0 if loc.index else 1).raw
    with pytest.raises(VerificationError):
        verify_bundle(bundle, other, ledger.verifier())
    with pytest.raises(VerificationError):
        verify_bundle(bundle, loc.raw + b" ", ledger.verifier())


def test_prove_signs_a_checkpoint_only_when_needed(ledger: Ledger, fill_ledger: Fill) -> None:
    res = fill_ledger(ledger, 4)
    ledger.prove(res[1].id)
    assert counts(ledger)["checkpoints"] == 1
    ledger.prove(res[3].id)  # already covered
    assert counts(ledger)["checkpoints"] == 1
    more = fill_ledger(ledger, 2, start=4)
    ledger.prove(more[1].id)
    assert counts(ledger)["checkpoints"] == 2


def test_receipts_survive_later_appends(ledger: Ledger, fill_ledger: Fill) -> None:
    res = fill_ledger(ledger, 5)
    old = [(r.index, ledger.prove(r.id)) for r in res]
    for batch in range(3):
        fill_ledger(ledger, 7, start=5 + 7 * batch)
        ledger.checkpoint()
    for index, bundle in old:
        cp = verify_bundle(bundle, ledger.at(index).raw, ledger.verifier())
        assert cp.size == 5
    fresh = ledger.prove(res[2].id)
    assert open_checkpoint(fresh.checkpoint, ledger.verifier()).size == 26  # the latest one
    assert verify_bundle(fresh, ledger.at(2).raw, ledger.verifier()).size == 26
    assert verify(ledger.store, ledger.verifier()).ok


# --- concurrency -----------------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys
    import time
    from pathlib import Path
    from keel.ledger import Ledger
    from keel.records import text_record

    db, key, name, n, batch = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), 25
    led = Ledger.open(Path(db), key_path=Path(key))
    (Path(db).parent / f"{name}.ready").touch()
    while not (Path(db).parent / "go").exists():  # start both writers together
        time.sleep(0.005)
    done = 0
    for start in range(0, n, batch):
        items = [
            text_record(f"{name} {i}", "human", author=name)
            for i in range(start, start + batch)
        ]
        res = led.append(items)
        assert all(r.new for r in res), res
        done += len(res)
    led.close()
    print(done)
    """
)


def test_two_processes_append_concurrently(tmp_path: Path, ledger: Ledger) -> None:
    db, key = tmp_path / "k.db", tmp_path / "k.key"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), str(key), name, "2000"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("writer-a", "writer-b")
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"{n}.ready").exists() for n in ("writer-a", "writer-b")):
        assert time.monotonic() < deadline, "writers did not start"
        assert all(p.poll() is None for p in procs), "a writer died before starting"
        time.sleep(0.01)
    (tmp_path / "go").touch()
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert out.strip() == "2000"
    assert ledger.size == 4000
    authors = [loc.entry.author for loc in ledger.iter_located() if isinstance(loc.entry, Record)]
    assert authors.count("writer-a") == authors.count("writer-b") == 2000
    ledger.checkpoint()
    report = verify(ledger.store, ledger.verifier())
    assert report.ok, report.problems
    assert report.size == 4000
    assert report.payloads == 4000


OPENER = textwrap.dedent(
    """
    import sys
    import time
    from pathlib import Path
    from keel.ledger import Ledger
    from keel.records import text_record

    folder, name, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    failures = []
    for r in range(rounds):
        while not (folder / f"go{r}").exists():
            time.sleep(0.0005)
        try:
            led = Ledger.open(folder / f"r{r}.db", key_path=folder / f"r{r}.key")
            led.append([text_record(f"{name} {r}", "human")])
            led.close()
        except Exception as exc:
            failures.append(f"round {r}: {type(exc).__name__}: {exc}")
        (folder / f"done{r}.{name}").touch()
    print("\\n".join(failures))
    """
)


def test_processes_creating_one_ledger_at_once(tmp_path: Path) -> None:
    rounds, names = 60, ("a", "b", "c", "d")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, str(tmp_path), name, str(rounds)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    try:
        for r in range(rounds):  # all four race to create a fresh ledger, round after round
            (tmp_path / f"go{r}").touch()
            deadline = time.monotonic() + 60
            while not all((tmp_path / f"done{r}.{n}").exists() for n in names):
                assert time.monotonic() < deadline, "a writer hung"
                assert all(
                    p.poll() is None or (tmp_path / f"done{r}.{n}").exists()
                    for p, n in zip(procs, names, strict=True)
                ), "a writer died"
                time.sleep(0.0005)
    finally:
        outputs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for _, e in outputs]
    failures = [line for out, _ in outputs for line in out.splitlines() if line]
    assert failures == []
    for r in range(rounds):
        with Ledger.open(tmp_path / f"r{r}.db", create=False) as led:
            assert led.size == len(names)


def test_settings_are_kept_never_overwritten_and_never_the_ledgers_own(
    tmp_path: Path, ledger: Ledger
) -> None:
    assert ledger.setting("loop_config") is None
    ledger.put_setting("loop_config", '{"seed":1}')
    ledger.put_setting("loop_config", '{"seed":1}')  # the same value again is fine
    with pytest.raises(InputError, match="already set"):
        ledger.put_setting("loop_config", '{"seed":2}')
    with pytest.raises(InputError, match="cannot name a ledger setting"):
        ledger.put_setting("verifier_key", "forged")
    with pytest.raises(InputError, match="cannot name a ledger setting"):
        ledger.setting("origin")
    ledger.close()
    with Ledger.open(ledger.store.path, create=False) as again:  # type: ignore[attr-defined]
        assert again.setting("loop_config") == '{"seed":1}'
        assert again.has_key


def test_payloads_are_read_in_order_across_batches_with_none_for_erased_or_unknown(
    ledger: Ledger,
) -> None:
    from keel.ledger.log import PAYLOAD_BATCH

    n = PAYLOAD_BATCH + 5
    got = ledger.append([text_record(f"text {i}", "human") for i in range(n)])
    ledger.redact(got[3].id, "gdpr")
    digests = [hashlib.sha256(f"text {i}".encode()).hexdigest() for i in range(n)]
    digests.append("ab" * 32)  # no payload has it
    texts = ledger.payloads(digests)
    assert len(texts) == n + 1
    assert texts[3] is None and texts[-1] is None
    assert texts[0] == b"text 0" and texts[n - 1] == f"text {n - 1}".encode()
    assert all(t == f"text {i}".encode() for i, t in enumerate(texts[:n]) if i != 3)
