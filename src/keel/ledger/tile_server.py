"""Serve a ledger read-only over HTTP as a c2sp.org/tlog-tiles log, computed on each request.

The paths are those of a static export (`keel.ledger.export_tiles`), all bounded by the
latest signed checkpoint, so that everything served is covered by the checkpoint served:

- `/checkpoint`: the latest signed checkpoint note (`Cache-Control: no-cache`);
- `/tile/<L>/<N>` and `/tile/entries/<N>`: full tiles and bundles, immutable
  (`public, max-age=31536000, immutable`); `.p/<W>` partial ones, any width a
  checkpointed tree has, cached a minute (a static host may delete them once full);
- `/entry/<id>`: an entry's exact bytes by its 64-hex id (immutable);
- `/receipt/<id>`: a c2sp.org/tlog-proof@v1 receipt against the checkpoint served (`no-cache`:
  it follows the checkpoint);
- `/payload/<sha256>`: a payload's bytes, only when serving with payloads, and never a
  redacted one (410); `no-cache`, so that caches drop a payload once it is erased.

Anything else is 404. Each request reads one snapshot of the ledger.
"""

from __future__ import annotations

import queue
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from keel.errors import KeelError, NotFoundError, RedactedError, StorageError
from keel.ledger.bundle import ProofBundle
from keel.ledger.export_tiles import CHECKPOINT, hash_tile, level0_tile
from keel.ledger.log import Ledger
from keel.ledger.merkle import inclusion_proof
from keel.ledger.tiles import TILE_HEIGHT, TILE_WIDTH, entry_bundle_path, hash_tile_path

__all__ = [
    "IMMUTABLE",
    "REVALIDATE",
    "SHORT",
    "Response",
    "TileServer",
    "respond",
]

IMMUTABLE = "public, max-age=31536000, immutable"
"""Cache-Control of what never changes: full tiles and bundles, entries."""
SHORT = "public, max-age=60"
"""Cache-Control of partial tiles and bundles."""
REVALIDATE = "no-cache"
"""Cache-Control of what follows the log or erasure: the checkpoint, receipts, payloads."""

_TILE = re.compile(r"tile/(0|[1-9][0-9]?|entries)/((?:x[0-9]{3}/)*[0-9]{3})(?:\.p/([1-9][0-9]*))?")
_ID = re.compile(r"(entry|receipt|payload)/([0-9a-f]{64})")
_TEXT = "text/plain; charset=utf-8"
_BYTES = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP response: status, body, Content-Type and Cache-Control."""

    status: int
    body: bytes
    content_type: str = _TEXT
    cache: str = REVALIDATE


def respond(ledger: Ledger, path: str, *, payloads: bool = False) -> Response:
    """The response to `GET path` (module docstring), read from one snapshot of `ledger`."""
    rel = path.split("?", 1)[0].lstrip("/")
    with ledger.snapshot():
        latest = ledger.store.latest_checkpoint()
        if latest is None:
            return _missing("this log has no signed checkpoint yet: run `keel ledger checkpoint`")
        size, note = latest
        if rel == CHECKPOINT:
            return Response(200, note)
        tile = _TILE.fullmatch(rel)
        if tile is not None:
            return _tile(ledger, rel, size, *tile.groups())
        named = _ID.fullmatch(rel)
        if named is not None:
            what, digest = named.groups()
            if what == "payload":
                return _payload(ledger, digest, size) if payloads else _missing("not served")
            try:
                loc = ledger.locate(digest)
            except NotFoundError:
                loc = None
            if loc is None or loc.id != digest or loc.index >= size:  # ids only, not aliases
                return _missing(f"no entry {digest} in the checkpointed log")
            if what == "entry":
                return Response(200, loc.raw, "application/json", IMMUTABLE)
            proof = inclusion_proof(loc.index, size, ledger.read)
            return Response(200, ProofBundle(loc.index, tuple(proof), note).format())
    return _missing("no such path")


def _missing(why: str) -> Response:
    return Response(404, why.encode() + b"\n")


def _tile(
    ledger: Ledger, rel: str, size: int, level: str, index: str, width: str | None
) -> Response:
    """A hash tile or entry bundle, if the checkpointed tree has it and `rel` is its canonical
    path (c2sp.org/tlog-tiles)."""
    n = int(index.replace("x", "").replace("/", ""))
    lv = 0 if level == "entries" else int(level)
    w = TILE_WIDTH if width is None else int(width)
    if lv > 63 or (width is not None and w >= TILE_WIDTH):
        return _missing("not a tile path of c2sp.org/tlog-tiles")
    canonical = entry_bundle_path(n, w) if level == "entries" else hash_tile_path(lv, n, w)
    if rel != canonical:
        return _missing("not a tile path of c2sp.org/tlog-tiles (3-digit groups, x-prefixed)")
    if n * TILE_WIDTH + w > size >> (TILE_HEIGHT * lv):
        return _missing(f"the checkpointed tree (size {size}) has no such tile")
    if level == "entries":
        data = level0_tile(ledger.store, n, w)[1]
    else:
        data = hash_tile(ledger.store, lv, n, w)
    return Response(200, data, _BYTES, IMMUTABLE if width is None else SHORT)


def _payload(ledger: Ledger, digest: str, size: int) -> Response:
    """A payload's bytes, if an entry of the checkpointed log commits to it and it is held."""
    if not any(loc.index < size for loc in ledger.find_payload(digest)):
        return _missing(f"no entry of the checkpointed log commits to payload {digest}")
    try:
        data = ledger.payload(digest)
    except RedactedError:
        return Response(410, f"payload {digest} was redacted\n".encode())
    except NotFoundError:
        return _missing(f"payload {digest} is not held by this ledger")
    return Response(200, data, _BYTES, REVALIDATE)


class TileServer(ThreadingHTTPServer):
    """A threaded HTTP server of `respond` over the ledger at `db`; each request borrows one
    of a pool of read-only connections (a connection serves one request at a time)."""

    daemon_threads = True

    def __init__(
        self,
        db: str | Path,
        address: tuple[str, int],
        *,
        payloads: bool = False,
        quiet: bool = False,
    ) -> None:
        self.db = db
        self.payloads = payloads
        self.quiet = quiet
        self._pool: queue.SimpleQueue[Ledger] = queue.SimpleQueue()
        first = Ledger.open(db, create=False, readonly=True)  # refuse a missing ledger first
        self._pool.put(first)
        try:
            super().__init__(address, _Handler)
        except OSError:
            first.close()
            raise

    @contextmanager
    def ledger(self) -> Iterator[Ledger]:
        """A read-only ledger for one request, returned to the pool afterwards."""
        try:
            led = self._pool.get_nowait()
        except queue.Empty:
            led = Ledger.open(self.db, create=False, readonly=True)
        try:
            yield led
        finally:
            self._pool.put(led)

    def server_close(self) -> None:
        super().server_close()
        while True:
            try:
                self._pool.get_nowait().close()
            except queue.Empty:
                break


class _Handler(BaseHTTPRequestHandler):
    server: TileServer
    server_version = "keel"

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def _answer(self, *, head: bool) -> None:
        try:
            with self.server.ledger() as led:
                r = respond(led, self.path, payloads=self.server.payloads)
        except StorageError as exc:
            r = Response(503, f"{exc}\n".encode())
        except KeelError as exc:
            r = Response(500, f"{exc}\n".encode())
        self.send_response(r.status)
        self.send_header("Content-Type", r.content_type)
        self.send_header("Content-Length", str(len(r.body)))
        self.send_header("Cache-Control", r.cache)
        self.end_headers()
        if not head:
            self.wfile.write(r.body)

    def log_message(self, format: str, *args: object) -> None:
        if not self.server.quiet:
            super().log_message(format, *args)
