"""`TileServer` on loopback: the paths of a static export, byte for byte, with caching headers;
entries, receipts and payloads by id; 404 for what the checkpointed log does not have."""

from __future__ import annotations

import hashlib
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from email.message import Message
from pathlib import Path

import pytest

from keel.ledger import Appended, Ledger, ProofBundle, verify_bundle
from keel.ledger.export_tiles import export_tiles
from keel.ledger.tile_server import IMMUTABLE, REVALIDATE, SHORT, TileServer
from keel.records import text_record

Fill = Callable[..., list[Appended]]
Get = Callable[[str], tuple[int, Message, bytes]]


@pytest.fixture
def served(ledger: Ledger, tmp_path: Path) -> Iterator[Callable[..., Get]]:
    """Starts TileServers on loopback for the `ledger` fixture's file: yields
    `start(payloads=False) -> get`, where `get(path)` returns (status, headers, body)."""
    servers: list[TileServer] = []

    def start(*, payloads: bool = False) -> Get:
        server = TileServer(tmp_path / "k.db", ("127.0.0.1", 0), payloads=payloads, quiet=True)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}/"

        def get(path: str) -> tuple[int, Message, bytes]:
            try:
                with urllib.request.urlopen(base + path, timeout=10) as r:
                    return r.status, r.headers, r.read()
            except urllib.error.HTTPError as e:
                return e.code, e.headers, e.read()

        return get

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_serves_what_export_writes(
    ledger: Ledger, fill_ledger: Fill, tmp_path: Path, served: Callable[..., Get]
) -> None:
    fill_ledger(ledger, 1000)
    export_tiles(ledger, tmp_path / "tiles")
    get = served()
    paths = [p for p in (tmp_path / "tiles").rglob("*") if p.is_file()]
    assert len(paths) == 3 + 3 + 1 + 1 + 1 + 1  # full + bundles, partials, level 1, checkpoint
    for path in paths:
        rel = path.relative_to(tmp_path / "tiles").as_posix()
        status, headers, body = get(rel)
        assert status == 200, rel
        assert body == path.read_bytes(), rel
        if rel == "checkpoint":
            assert headers["Content-Type"] == "text/plain; charset=utf-8"
            assert headers["Cache-Control"] == REVALIDATE
        else:
            assert headers["Content-Type"] == "application/octet-stream"
            assert headers["Cache-Control"] == (SHORT if ".p/" in rel else IMMUTABLE)


def test_entries_and_receipts_by_id(
    ledger: Ledger, fill_ledger: Fill, served: Callable[..., Get]
) -> None:
    added = fill_ledger(ledger, 300)
    ledger.checkpoint()
    late = fill_ledger(ledger, 1, start=300)[0]  # not covered by a checkpoint: not served
    get = served()
    loc = ledger.at(257)
    status, headers, body = get(f"entry/{loc.id}")
    assert (status, body, headers["Cache-Control"]) == (200, loc.raw, IMMUTABLE)
    status, headers, body = get(f"receipt/{added[257].id}")
    assert status == 200 and headers["Cache-Control"] == REVALIDATE
    cp = verify_bundle(ProofBundle.parse(body), loc.raw, ledger.verifier())
    assert cp.size == 300
    for path in (f"entry/{late.id}", f"receipt/{late.id}", "entry/" + "0" * 64, "entry/abc"):
        assert get(path)[0] == 404, path


def test_tiles_beyond_the_checkpoint_and_odd_paths_are_404(
    ledger: Ledger, fill_ledger: Fill, served: Callable[..., Get]
) -> None:
    fill_ledger(ledger, 300)
    ledger.checkpoint()
    fill_ledger(ledger, 300, start=300)
    get = served()
    assert get("tile/0/000")[0] == 200
    assert get("tile/0/001.p/44")[0] == 200
    assert get("tile/0/001.p/10")[0] == 200  # any width a checkpointed tree has
    assert get("tile/entries/001.p/44")[0] == 200
    assert get("tile/1/000.p/1")[0] == 200
    for path in (
        "tile/0/001",  # full only after the next checkpoint
        "tile/0/001.p/45",
        "tile/0/000.p/256",
        "tile/0/0",
        "tile/0/x000/000",
        "tile/64/000.p/1",
        "tile/01/000",
        "tile/1/000",
        "payload/" + "0" * 64,
        "",
        "../k.db",
    ):
        assert get(path)[0] == 404, path


def test_no_checkpoint_yet(ledger: Ledger, fill_ledger: Fill, served: Callable[..., Get]) -> None:
    fill_ledger(ledger, 3)
    status, _, body = served()("checkpoint")
    assert status == 404 and b"keel ledger checkpoint" in body


def test_payloads_only_when_asked_and_never_redacted(
    ledger: Ledger, served: Callable[..., Get]
) -> None:
    added = ledger.append([text_record("keep me", "human"), text_record("erase me", "human")])
    ledger.redact(added[1].id, "personal data")
    ledger.checkpoint()
    keep, erased = (hashlib.sha256(t.encode()).hexdigest() for t in ("keep me", "erase me"))
    assert served()(f"payload/{keep}")[0] == 404
    get = served(payloads=True)
    status, headers, body = get(f"payload/{keep}")
    assert (status, body, headers["Cache-Control"]) == (200, b"keep me", REVALIDATE)
    assert get(f"payload/{erased}")[0] == 410
    assert get("payload/" + "1" * 64)[0] == 404
