"""keel's tile logs audited over HTTP by Go's golang.org/x/mod/sumdb/tlog and sumdb/note.

tests/interop/tiles_client.go fetches the checkpoint, checks its signature, reads the tree
through tlog.TileHashReader, checks tlog.TreeHash, proves and checks records at the tile
boundaries, and checks each bundle's entries against their leaf hashes. It audits a static
export served by a plain static file server, and `keel ledger serve`; a flipped byte in a tile or
a bundle must make it fail.
"""

from __future__ import annotations

import base64
import functools
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from keel.ledger import Ledger, generate_key
from keel.ledger.export_tiles import export_tiles
from keel.ledger.tiles import entry_bundle_path, hash_tile_path
from keel.records import text_record

if TYPE_CHECKING:
    from conftest import GoVerifier

pytestmark = [pytest.mark.interop, pytest.mark.slow]

ORIGIN = "example.com/interop-tiles"
SIZE = 65_600
"""Past 65,536 = 256²: full level-0 and level-1 tiles, partial tiles at levels 0, 1 and 2."""
INDEXES = ["0", "1", "255", "256", "65535", "65536", str(SIZE - 1)]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def static_server(root: Path) -> Iterator[str]:
    """A plain static file server (python's http.server) of `root` on loopback; yields its URL."""
    handler = functools.partial(_Quiet, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class Exported:
    """A ledger of SIZE entries exported to `tiles`, with its verifier key and tree root."""

    db: Path
    tiles: Path
    vkey: str
    root_b64: str


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    tmp = tmp_path_factory.mktemp("go-tiles")
    with Ledger.open(tmp / "k.db", key_path=tmp / "k.key") as led:
        vkey = led.init_key(ORIGIN)
        led.append(text_record(f"entry {i}", "human") for i in range(SIZE))
        export_tiles(led, tmp / "tiles")
        cp = led.latest_checkpoint()
    assert cp is not None and cp.size == SIZE
    return Exported(tmp / "k.db", tmp / "tiles", vkey, base64.b64encode(cp.root).decode())


def audit(go: GoVerifier, url: str, e: Exported, *indexes: str) -> None:
    lines = go.run("audit", url, e.vkey, *indexes).stdout.splitlines()
    assert lines[0] == f"{SIZE} {e.root_b64}"
    assert lines[1:] == [f"ok {i}" for i in indexes]


def test_go_audits_a_static_export(go_tiles_client: GoVerifier, exported: Exported) -> None:
    with static_server(exported.tiles) as url:
        audit(go_tiles_client, url, exported, *INDEXES)


@pytest.mark.parametrize(
    ("rel", "offset", "index"),
    [
        (hash_tile_path(0, 0), 5, "0"),  # a leaf hash
        (hash_tile_path(1, 0), 32 * 255 + 1, "65535"),  # the level-1 hash over tile 255
        (hash_tile_path(0, 256, SIZE - 65_536), 0, "65536"),  # the partial level-0 tile
        (entry_bundle_path(255), -3, "65535"),  # a byte of entry 65535's JSON
        (entry_bundle_path(0), 10, "1"),  # a byte of entry 0, checked with its bundle
    ],
)
def test_go_rejects_a_flipped_byte(
    go_tiles_client: GoVerifier,
    exported: Exported,
    tmp_path: Path,
    rel: str,
    offset: int,
    index: str,
) -> None:
    copy = tmp_path / "tiles"
    shutil.copytree(exported.tiles, copy)
    data = bytearray((copy / rel).read_bytes())
    data[offset] ^= 0x01
    (copy / rel).write_bytes(bytes(data))
    with static_server(copy) as url:
        err = go_tiles_client.rejects("audit", url, exported.vkey, index)
    want = (
        "does not hash to its leaf hash" if rel.startswith("tile/entries") else "inconsistent tile"
    )
    assert want in err, err


def test_go_rejects_another_key(go_tiles_client: GoVerifier, exported: Exported) -> None:
    _, other = generate_key(ORIGIN)
    with static_server(exported.tiles) as url:
        err = go_tiles_client.rejects("audit", url, other, "0")
    assert "note.Open" in err


def test_go_audits_an_incremental_export(go_tiles_client: GoVerifier, tmp_path: Path) -> None:
    """After a second export the partial tiles full ones replaced are gone; Go still audits."""
    with Ledger.open(tmp_path / "k.db", key_path=tmp_path / "k.key") as led:
        vkey = led.init_key(ORIGIN)
        led.append(text_record(f"a {i}", "human") for i in range(1000))
        export_tiles(led, tmp_path / "tiles")
        led.append(text_record(f"b {i}", "human") for i in range(300))
        report = export_tiles(led, tmp_path / "tiles")
    assert report.removed == 2 and not (tmp_path / "tiles" / hash_tile_path(0, 3, 232)).exists()
    with static_server(tmp_path / "tiles") as url:
        out = go_tiles_client.run("audit", url, vkey, "0", "999", "1000", "1299").stdout
    assert out.splitlines()[1:] == ["ok 0", "ok 999", "ok 1000", "ok 1299"]


def test_go_audits_keel_ledger_serve(go_tiles_client: GoVerifier, exported: Exported) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "keel", "--db", str(exported.db), "ledger", "serve", "--port", "0",
         "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert found, line
        audit(go_tiles_client, f"http://127.0.0.1:{found.group(1)}", exported, *INDEXES)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
