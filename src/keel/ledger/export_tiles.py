"""Write a ledger as a c2sp.org/tlog-tiles log: hash tiles, entry bundles, the signed checkpoint.

The layout is the one `keel.ledger.tiles` reads: `tile/<L>/<N>[.p/<W>]` hash tiles at every
level, `tile/entries/<N>[.p/<W>]` entry bundles (each entry a big-endian uint16 length then its
bytes), and `checkpoint`, the ledger's latest signed checkpoint note. With `payloads`, the
payload bytes the exported entries commit to go to `payload/<sha256 hex>` (never a redacted one).

An export is incremental and safe for readers of the folder at any moment: it writes only the
tiles that the folder's own checkpoint does not cover yet, each file through a temporary file
and a rename, flushes them to disk, and replaces `checkpoint` last, so no reader ever sees a
checkpoint whose tiles are missing. Partial tiles stay until the full tile replaces them (the
spec lets a log delete them then); payloads redacted since an earlier export are deleted.
Everything is read from one snapshot of the ledger.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from keel._files import check_parent
from keel.errors import InputError, KeelError, StorageError, VerificationError
from keel.ledger.checkpoint import Checkpoint, open_checkpoint
from keel.ledger.log import PAYLOAD_BATCH, Ledger
from keel.ledger.merkle import stored_hash_index
from keel.ledger.note import Verifier
from keel.ledger.store import EntryRow, Store
from keel.ledger.tiles import TILE_HEIGHT, TILE_WIDTH, entry_bundle_path, hash_tile_path

__all__ = [
    "CHECKPOINT",
    "MAX_ENTRY_SIZE",
    "PAYLOAD_DIR",
    "TileExport",
    "entry_bundle",
    "export_tiles",
    "hash_tile",
    "level0_tile",
    "payload_path",
]

CHECKPOINT = "checkpoint"
"""Where the signed checkpoint lives in a tile log (c2sp.org/tlog-tiles, "Checkpoints")."""
PAYLOAD_DIR = "payload"
"""Folder of exported payloads, each at `payload/<sha256 hex>` (keel's choice: the spec has
no payloads, only entries)."""
MAX_ENTRY_SIZE = 0xFFFF
"""Largest entry an entry bundle can hold: its length is a big-endian uint16."""


@dataclass(frozen=True, slots=True)
class TileExport:
    """What one export wrote into `path`: the tree it publishes, and the files it added."""

    path: Path
    origin: str
    size: int
    root: str
    previous_size: int
    """Tree size of the checkpoint the folder held before (0 for a new folder)."""
    tiles: int
    bundles: int
    payloads: int
    bytes: int
    removed: int
    """Partial tiles superseded by full ones, and payloads redacted since, deleted."""


def payload_path(digest: str) -> str:
    """Relative path of an exported payload: `payload/<sha256 hex>`."""
    return f"{PAYLOAD_DIR}/{digest}"


def level0_tile(store: Store, n: int, width: int) -> tuple[bytes, bytes]:
    """The n-th level-0 hash tile and entry bundle, `width` leaves wide, read from `store`.

    Leaf hashes are computed from the entry bytes and must equal the stored ones, so that the
    tiles match the checkpoint the stored tree was signed with.
    """
    rows = list(store.iter_entries(n * TILE_WIDTH, n * TILE_WIDTH + width))
    if len(rows) != width:
        raise InputError(f"entry bundle {n} needs {width} entries; the log has fewer")
    return _level0(store, n, rows)


def entry_bundle(store: Store, n: int, width: int) -> bytes:
    """The n-th entry bundle, `width` entries wide (`level0_tile`'s second half)."""
    return level0_tile(store, n, width)[1]


def hash_tile(store: Store, level: int, n: int, width: int) -> bytes:
    """The n-th hash tile at `level`, `width` hashes wide: level 0 from the entries, higher
    levels from the stored tree (the hashes at height 8·level, c2sp.org/tlog-tiles)."""
    if level == 0:
        return level0_tile(store, n, width)[0]
    height = TILE_HEIGHT * level
    indexes = [stored_hash_index(height, n * TILE_WIDTH + i) for i in range(width)]
    return b"".join(store.read_hashes(indexes))


def export_tiles(
    ledger: Ledger,
    directory: Path,
    *,
    sign: bool = True,
    payloads: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> TileExport:
    """Export the ledger into the tile log folder `directory` (created if missing), as the
    module docstring says; return what was written.

    With `sign`, a checkpoint of the whole log is signed first (`Ledger.checkpoint`, which needs
    the signing key); without, the export covers the latest checkpoint already signed.
    `progress(entries done, entries to do)` is called once a tile.
    """
    target = _check_directory(directory)
    verifier = ledger.verifier()
    if sign:
        ledger.checkpoint()
    with ledger.snapshot():
        latest = ledger.store.latest_checkpoint()
        if latest is None:
            raise InputError(
                "this ledger has no signed checkpoint to publish: run `keel ledger checkpoint` "
                "or export without --no-sign"
            )
        note = latest[1]
        cp = open_checkpoint(note, verifier)
        if ledger.root(cp.size) != cp.root:
            raise VerificationError(
                f"the latest checkpoint (size {cp.size}) does not match the stored tree: "
                "run `keel ledger verify`"
            )
        old = _previous(ledger, target, verifier, cp)
        try:
            target.mkdir(exist_ok=True)
        except OSError as exc:
            raise _write_error(target, exc) from exc
        writer = _Writer(target)
        removed = _remove_redacted(ledger, target)
        if payloads:
            (target / PAYLOAD_DIR).mkdir(exist_ok=True)
        old_size = 0 if old is None else old.size
        tiles, bundles = _write_tiles(ledger.store, writer, old_size, cp.size, progress)
        count = _write_payloads(ledger.store, writer, old_size, cp.size) if payloads else 0
    if writer.written:
        os.sync()  # every tile reaches the disk before the checkpoint that needs it
    if old is None or (target / CHECKPOINT).read_bytes() != note:
        writer.write(CHECKPOINT, note, durable=True)
    removed += _remove_superseded(target, old_size, cp.size)
    return TileExport(
        path=target,
        origin=cp.origin,
        size=cp.size,
        root=cp.root.hex(),
        previous_size=old_size,
        tiles=tiles,
        bundles=bundles,
        payloads=count,
        bytes=writer.bytes,
        removed=removed,
    )


def _check_directory(directory: Path) -> Path:
    """The absolute export folder, refused before any work when it is a file, cannot be
    created or written, or holds anything but a tile log (`checkpoint`, `tile/`, `payload/`)."""
    target = Path(os.path.abspath(directory))
    if not target.exists():
        check_parent(directory, target)
        return target
    if not target.is_dir():
        raise InputError(f"{directory} is a file: give a folder for the tile log")
    if not os.access(target, os.W_OK):
        raise InputError(f"cannot write into folder {directory}: it is not writable")
    foreign = sorted(
        p.name
        for p in target.iterdir()
        if not p.name.startswith(".") and p.name not in (CHECKPOINT, "tile", PAYLOAD_DIR)
    )
    if foreign:
        raise InputError(
            f"{directory} holds {foreign[0]!r}, which is not part of a tile log: export into an "
            "empty or new folder, or one an earlier export wrote"
        )
    return target


def _previous(
    ledger: Ledger, target: Path, verifier: Verifier, cp: Checkpoint
) -> Checkpoint | None:
    """The checkpoint an earlier export left in `target`, checked to be this log's and a
    prefix of the tree being exported; None when there is none."""
    path = target / CHECKPOINT
    try:
        note = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    origin = note.split(b"\n", 1)[0].decode("utf-8", "replace")
    if origin != cp.origin:
        raise InputError(
            f"{target} holds the tiles of another log ({origin!r}, not {cp.origin!r}): export "
            "into an empty folder or into the one this ledger exported to before"
        )
    try:
        old = open_checkpoint(note, verifier)
    except KeelError as exc:
        raise VerificationError(
            f"{path} names this log but is not a checkpoint signed by its key ({exc}): move the "
            "folder aside and export into a new one"
        ) from exc
    if old.size > cp.size:
        raise InputError(
            f"{path} covers {old.size} entries, more than the {cp.size} of this ledger's latest "
            "checkpoint: sign one (`keel ledger checkpoint`) or export without --no-sign"
        )
    if ledger.root(old.size) != old.root:
        raise VerificationError(
            f"{path} (size {old.size}) is not a checkpoint of this ledger's history: the folder "
            "holds another history of the same log; move it aside and export into a new one"
        )
    return old


class _Writer:
    """Writes files under a tile log folder atomically (temporary file, then rename) and
    counts what it wrote."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.written = 0
        self.bytes = 0

    def write(self, rel: str, data: bytes, *, durable: bool = False) -> None:
        """Write `data` at `rel`; `durable` flushes it and its folder to disk (the checkpoint)."""
        path = self.root / rel
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        except OSError as exc:
            raise _write_error(path, exc) from exc
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                if durable:
                    f.flush()
                    os.fsync(f.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
            if durable:
                dirfd = os.open(path.parent, os.O_RDONLY)
                try:
                    os.fsync(dirfd)
                finally:
                    os.close(dirfd)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise _write_error(path, exc) from exc
        self.written += 1
        self.bytes += len(data)


def _write_error(path: Path, exc: OSError) -> InputError | StorageError:
    """A disk that is full or failing is a StorageError; anything else (a folder in the way,
    no permission) the user's to fix. The folder's checkpoint is left as it was."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO):
        return StorageError(
            f"cannot write {path}: {exc.strerror}; the folder's checkpoint is unchanged"
        )
    return InputError(f"cannot write {path}: {exc.strerror}")


def _level0(store: Store, n: int, rows: list[EntryRow]) -> tuple[bytes, bytes]:
    """Level-0 tile and entry bundle of tile n from its entry rows (see `level0_tile`)."""
    start = n * TILE_WIDTH
    stored = store.read_hashes([stored_hash_index(0, start + i) for i in range(len(rows))])
    bundle = bytearray()
    for i, (row, want) in enumerate(zip(rows, stored, strict=True)):
        data = row.entry
        if len(data) > MAX_ENTRY_SIZE:
            raise InputError(
                f"entry {start + i} is {len(data):,} bytes; c2sp.org/tlog-tiles entry bundles "
                f"hold entries of at most {MAX_ENTRY_SIZE:,} bytes, so this log cannot be tiled"
            )
        if hashlib.sha256(b"\x00" + data).digest() != want:
            raise VerificationError(
                f"entry {start + i} does not hash to its stored leaf hash: run `keel ledger verify`"
            )
        bundle += len(data).to_bytes(2, "big")
        bundle += data
    return b"".join(stored), bytes(bundle)


def _chunks(rows: Iterator[EntryRow], first: int) -> Iterator[tuple[int, list[EntryRow]]]:
    """(tile index, rows) of consecutive entries grouped by level-0 tile, from tile `first`."""
    n, chunk = first, list[EntryRow]()
    for row in rows:
        chunk.append(row)
        if len(chunk) == TILE_WIDTH:
            yield n, chunk
            n, chunk = n + 1, []
    if chunk:
        yield n, chunk


def _write_tiles(
    store: Store,
    writer: _Writer,
    old: int,
    new: int,
    progress: Callable[[int, int], None] | None,
) -> tuple[int, int]:
    """Write the tiles and bundles a tree of size `new` has and one of size `old` lacks: the
    full tiles from the old partial one on, and the new partial tile at each level."""
    first = old // TILE_WIDTH
    todo = new - first * TILE_WIDTH
    tiles = bundles = 0
    for n, rows in _chunks(store.iter_entries(first * TILE_WIDTH, new), first):
        width = len(rows)
        if width == TILE_WIDTH or n * TILE_WIDTH + width != old:
            tile, bundle = _level0(store, n, rows)
            writer.write(hash_tile_path(0, n, width), tile)
            writer.write(entry_bundle_path(n, width), bundle)
            tiles, bundles = tiles + 1, bundles + 1
        if progress is not None:
            progress(n * TILE_WIDTH + width - first * TILE_WIDTH, todo)
    level = 1
    while new >> (TILE_HEIGHT * level):
        old_n = old >> (TILE_HEIGHT * level)
        new_n = new >> (TILE_HEIGHT * level)
        for n in range(old_n // TILE_WIDTH, -(-new_n // TILE_WIDTH)):
            width = min(TILE_WIDTH, new_n - n * TILE_WIDTH)
            if width == TILE_WIDTH or n * TILE_WIDTH + width != old_n:
                writer.write(hash_tile_path(level, n, width), hash_tile(store, level, n, width))
                tiles += 1
        level += 1
    return tiles, bundles


def _write_payloads(store: Store, writer: _Writer, old: int, new: int) -> int:
    """Write `payload/<digest>` for the payloads that entries old..new commit to (from entry 0
    when the folder had none yet); redacted payloads are skipped. Returns how many."""
    folder = writer.root / PAYLOAD_DIR
    start = old if any(folder.iterdir()) else 0
    count = 0
    keys: list[int] = []
    for row in store.iter_entries(start, new):
        if row.payload_key is not None:
            keys.append(row.payload_key)
        if len(keys) == PAYLOAD_BATCH:
            count += _write_payload_batch(store, writer, keys)
            keys = []
    return count + _write_payload_batch(store, writer, keys)


def _write_payload_batch(store: Store, writer: _Writer, keys: list[int]) -> int:
    """Write the payloads with these keys that are held and not exported yet; return how many."""
    count = 0
    for row in store.payloads_by_key(keys).values():
        digest = row.digest.hex()
        if row.data is None or (writer.root / payload_path(digest)).exists():
            continue
        if hashlib.sha256(row.data).digest() != row.digest:
            raise VerificationError(
                f"payload {digest} does not hash to its digest: run `keel ledger verify`"
            )
        writer.write(payload_path(digest), row.data)
        count += 1
    return count


def _remove_redacted(ledger: Ledger, target: Path) -> int:
    """Delete exported payloads whose bytes the ledger has erased since; return how many."""
    folder = target / PAYLOAD_DIR
    if not folder.is_dir():
        return 0
    removed = 0
    for digest in ledger.redacted():
        path = folder / digest
        if path.exists():
            path.unlink()
            removed += 1
    return removed


def _remove_superseded(target: Path, old: int, new: int) -> int:
    """Delete the partial tiles and bundles that this export replaced with full ones."""
    removed = 0
    level = 0
    while old >> (TILE_HEIGHT * level):
        old_n = old >> (TILE_HEIGHT * level)
        new_n = new >> (TILE_HEIGHT * level)
        for n in range(old_n // TILE_WIDTH, new_n // TILE_WIDTH):
            paths = [hash_tile_path(level, n)] + ([entry_bundle_path(n)] if level == 0 else [])
            for full in paths:
                partials = target / (full + ".p")
                if partials.is_dir():
                    removed += sum(1 for p in partials.iterdir() if not p.name.startswith("."))
                    shutil.rmtree(partials)
        level += 1
    return removed
