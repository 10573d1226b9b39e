"""c2sp.org/tlog-tiles reading and auditing: a real tessera log, synthetic logs, tampering."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from keel.errors import InputError, VerificationError
from keel.ledger.merkle import Hash, append_hashes, leaf_hash, root_of, stored_hash_index
from keel.ledger.tiles import (
    TILE_WIDTH,
    entry_bundle_path,
    hash_tile_path,
    read_tile_log,
    verify_tile_log,
)

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
LOG = VECTORS / "tlog-tiles" / "log"
TESSERA = json.loads((VECTORS / "signed-note" / "vectors.json").read_text())["tessera_test_log"]
ENTRIES = [e.encode() for e in TESSERA["entries"]]


def _checkpoint(path: Path) -> tuple[int, Hash]:
    """Size and root of a c2sp.org/tlog-checkpoint body (origin, size, base64 root)."""
    lines = path.read_text().split("\n")
    return int(lines[1]), Hash(base64.b64decode(lines[2], validate=True))


def test_vector_layout() -> None:
    assert (VECTORS / "signed-note" / TESSERA["log_dir"]).resolve() == LOG.resolve()
    assert len(ENTRIES) == 15
    assert (LOG / "checkpoint").read_bytes() == (LOG / "checkpoint.15").read_bytes()


@pytest.mark.parametrize("size", range(16))
def test_tessera_log(size: int) -> None:
    cp_size, root = _checkpoint(LOG / f"checkpoint.{size}")
    assert cp_size == size
    verify_tile_log(LOG, size, root)
    entries, hashes = read_tile_log(LOG, size)
    assert entries == ENTRIES[:size]
    assert hashes == [leaf_hash(e) for e in ENTRIES[:size]]
    assert root_of(hashes) == root


def test_tessera_log_wrong_root_or_size() -> None:
    _, root15 = _checkpoint(LOG / "checkpoint.15")
    _, root14 = _checkpoint(LOG / "checkpoint.14")
    with pytest.raises(VerificationError, match="checkpoint says"):
        verify_tile_log(LOG, 15, root14)
    with pytest.raises(VerificationError, match="checkpoint says"):
        verify_tile_log(LOG, 14, root15)
    with pytest.raises(VerificationError, match="32-byte"):
        verify_tile_log(LOG, 15, Hash(root15[:31]))
    with pytest.raises(InputError, match=r"000\.p/16"):
        verify_tile_log(LOG, 16, root15)  # no such tiles
    with pytest.raises(InputError):
        read_tile_log(LOG, -1)
    with pytest.raises(InputError, match="does not exist"):
        read_tile_log(LOG / "nope", 1)


def test_paths() -> None:
    assert hash_tile_path(0, 0) == "tile/0/000"
    assert hash_tile_path(0, 0, 5) == "tile/0/000.p/5"
    assert hash_tile_path(2, 1234067) == "tile/2/x001/x234/067"
    assert hash_tile_path(1, 1000, 255) == "tile/1/x001/000.p/255"
    assert hash_tile_path(0, 999) == "tile/0/999"
    assert hash_tile_path(63, 1_000_000) == "tile/63/x001/x000/000"
    assert entry_bundle_path(0, 15) == "tile/entries/000.p/15"
    assert entry_bundle_path(1234067) == "tile/entries/x001/x234/067"
    for bad in [(0, 0, 0), (0, 0, 257), (0, -1, 1), (64, 0, 1), (-1, 0, 1)]:
        with pytest.raises(InputError):
            hash_tile_path(*bad)


# --- tampering with a copy of the tessera log --------------------------------------------------


@pytest.fixture
def log_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "log"
    shutil.copytree(LOG, copy)
    return copy


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_tampered_hash_tile(log_copy: Path) -> None:
    _, root = _checkpoint(log_copy / "checkpoint.15")
    _flip_byte(log_copy / "tile/0/000.p/15", 32 * 6 + 9)  # hash of entry 6
    with pytest.raises(VerificationError, match=r"entry 6 .*tile/0/000\.p/15"):
        verify_tile_log(log_copy, 15, root)
    # Smaller sizes read other partial tiles and still pass.
    _, root14 = _checkpoint(log_copy / "checkpoint.14")
    verify_tile_log(log_copy, 14, root14)


def test_tampered_entry_bundle(log_copy: Path) -> None:
    _, root = _checkpoint(log_copy / "checkpoint.15")
    bundle = log_copy / "tile/entries/000.p/15"
    _flip_byte(bundle, len(bundle.read_bytes()) - 1)  # last byte of "fivten"
    with pytest.raises(VerificationError, match=r"entry 14 .*tile/entries/000\.p/15"):
        verify_tile_log(log_copy, 15, root)


def test_tampered_entry_and_hash_together_breaks_root(log_copy: Path) -> None:
    _, root = _checkpoint(log_copy / "checkpoint.15")
    entries = [*ENTRIES]
    entries[3] = b"FOUR"
    bundle = b"".join(len(e).to_bytes(2, "big") + e for e in entries)
    (log_copy / "tile/entries/000.p/15").write_bytes(bundle)
    (log_copy / "tile/0/000.p/15").write_bytes(b"".join(leaf_hash(e) for e in entries))
    with pytest.raises(VerificationError, match="checkpoint says"):
        verify_tile_log(log_copy, 15, root)


def test_malformed_files(log_copy: Path) -> None:
    _, root = _checkpoint(log_copy / "checkpoint.15")
    tile = log_copy / "tile/0/000.p/15"
    tile.write_bytes(tile.read_bytes()[:-1])
    with pytest.raises(InputError, match=r"malformed hash tile .*000\.p/15.*479 bytes"):
        verify_tile_log(log_copy, 15, root)
    tile.unlink()
    with pytest.raises(InputError, match="missing tile"):
        verify_tile_log(log_copy, 15, root)

    bundle = log_copy / "tile/entries/000.p/14"
    _flip_byte(bundle, 0)  # first length prefix becomes 259: runs past the end
    _, root14 = _checkpoint(log_copy / "checkpoint.14")
    with pytest.raises(InputError, match=r"malformed entry bundle .*000\.p/14"):
        verify_tile_log(log_copy, 14, root14)
    bundle.write_bytes(b"".join(len(e).to_bytes(2, "big") + e for e in ENTRIES[:13]))
    with pytest.raises(InputError, match="13 entries, expected 14"):
        read_tile_log(log_copy, 14)


# --- synthetic logs with full and higher-level tiles ------------------------------------------


def _write_tile_log(root: Path, entries: list[bytes], *, partials: bool = True) -> Hash:
    """Write a tile log per c2sp.org/tlog-tiles from independently computed stored hashes."""
    size = len(entries)
    stored, _ = append_hashes(0, [], [leaf_hash(e) for e in entries])

    def write(rel: str, data: bytes) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    for n in range(-(-size // TILE_WIDTH)):
        chunk = entries[n * TILE_WIDTH : (n + 1) * TILE_WIDTH]
        width = len(chunk)
        if width < TILE_WIDTH and not partials:
            continue
        write(entry_bundle_path(n, width), b"".join(len(e).to_bytes(2, "big") + e for e in chunk))
    level = 0
    while size >> (8 * level):
        count = size >> (8 * level)  # hashes at this tile level: nodes of height 8 * level
        for n in range(-(-count // TILE_WIDTH)):
            width = min(TILE_WIDTH, count - n * TILE_WIDTH)
            if width < TILE_WIDTH and not partials:
                continue
            hashes = [
                stored[stored_hash_index(8 * level, j)]
                for j in range(n * TILE_WIDTH, n * TILE_WIDTH + width)
            ]
            write(hash_tile_path(level, n, width), b"".join(hashes))
        level += 1
    return root_of([leaf_hash(e) for e in entries])


def test_synthetic_log_of_70000_entries(tmp_path: Path) -> None:
    entries = [b"entry %d" % i + b"!" * (i % 7) for i in range(70_000)]
    root = _write_tile_log(tmp_path, entries)
    # The shape given as an example in c2sp.org/tlog-tiles.
    files0 = [p for p in (tmp_path / "tile/0").rglob("*") if p.is_file()]
    full0 = [p for p in files0 if not p.parent.name.endswith(".p")]
    assert len(full0) == 273
    assert (tmp_path / "tile/0/273.p/112").is_file()
    assert (tmp_path / "tile/1/000").is_file()
    assert (tmp_path / "tile/1/001.p/17").is_file()
    assert (tmp_path / "tile/2/000.p/1").is_file()
    verify_tile_log(tmp_path, 70_000, root)
    got, hashes = read_tile_log(tmp_path, 70_000)
    assert got == entries and len(hashes) == 70_000

    # A level-1 hash that disagrees with the level-0 tile it covers is caught and named.
    _flip_byte(tmp_path / "tile/1/001.p/17", 32 * 16)
    with pytest.raises(VerificationError, match=r"hash 16 of .*tile/1/001\.p/17"):
        verify_tile_log(tmp_path, 70_000, root)
    (tmp_path / "tile/1/001.p/17").write_bytes(b"\0" * 31)
    with pytest.raises(InputError, match=r"tile/1/001\.p/17"):
        verify_tile_log(tmp_path, 70_000, root)
    # Higher-level tiles are optional for the audit: without them it still passes.
    shutil.rmtree(tmp_path / "tile/1")
    shutil.rmtree(tmp_path / "tile/2")
    verify_tile_log(tmp_path, 70_000, root)


def test_full_tile_stands_in_for_deleted_partial(tmp_path: Path) -> None:
    entries = [b"e%d" % i for i in range(600)]
    _write_tile_log(tmp_path, entries, partials=False)  # only full tiles: 000, 001
    for size in [1, 255, 256, 300, 511, 512]:
        verify_tile_log(tmp_path, size, root_of([leaf_hash(e) for e in entries[:size]]))
        assert read_tile_log(tmp_path, size)[0] == entries[:size]
    with pytest.raises(InputError, match=r"missing tile .*002\.p/1"):
        read_tile_log(tmp_path, 513)
