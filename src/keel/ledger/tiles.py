"""Read and audit a c2sp.org/tlog-tiles log directory (hash tiles and entry bundles on disk).

Paths follow c2sp.org/tlog-tiles: `tile/<L>/<N>[.p/<W>]` for hash tiles and
`tile/entries/<N>[.p/<W>]` for entry bundles, N written as 3-digit groups, all but the last
prefixed with `x`. Full tiles hold 256 hashes (or entries); the rightmost one may be partial.
"""

from __future__ import annotations

from pathlib import Path

from keel.errors import InputError, VerificationError
from keel.ledger.merkle import HASH_SIZE, Hash, leaf_hash, root_of

__all__ = [
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "entry_bundle_path",
    "hash_tile_path",
    "read_tile_log",
    "verify_tile_log",
]

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT  # 256 hashes or entries in a full tile


def _index_path(n: int) -> str:
    """Tile index N as zero-padded 3-digit path elements, all but the last prefixed with `x`."""
    if n < 0:
        raise InputError(f"invalid tile index {n}: must be >= 0")
    groups = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        groups.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(groups))


def _suffix(width: int) -> str:
    if not 1 <= width <= TILE_WIDTH:
        raise InputError(f"invalid tile width {width}: must be 1 to {TILE_WIDTH}")
    return "" if width == TILE_WIDTH else f".p/{width}"


def hash_tile_path(level: int, n: int, width: int = TILE_WIDTH) -> str:
    """Relative path of the n-th hash tile at `level` with `width` hashes (c2sp.org/tlog-tiles)."""
    if not 0 <= level <= 63:
        raise InputError(f"invalid tile level {level}: must be 0 to 63")
    return f"tile/{level}/{_index_path(n)}{_suffix(width)}"


def entry_bundle_path(n: int, width: int = TILE_WIDTH) -> str:
    """Relative path of the n-th entry bundle holding `width` entries (c2sp.org/tlog-tiles)."""
    return f"tile/entries/{_index_path(n)}{_suffix(width)}"


def _read(root: Path, rel: str) -> bytes | None:
    try:
        return (root / rel).read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise InputError(f"cannot read {root / rel}: {e.strerror or e}") from e


def _read_tile(
    root: Path, level: int | None, n: int, width: int, *, required: bool = True
) -> tuple[str, bytes, bool] | None:
    """Bytes of a tile (or entry bundle when level is None), with the path read and whether it is
    the full tile standing in for a partial one (logs may delete a partial once it is full)."""
    paths = [hash_tile_path(level, n, width) if level is not None else entry_bundle_path(n, width)]
    if width < TILE_WIDTH:
        full = hash_tile_path(level, n) if level is not None else entry_bundle_path(n)
        paths.append(full)
    for rel in paths:
        data = _read(root, rel)
        if data is not None:
            return rel, data, rel != paths[0]
    if required:
        raise InputError(f"missing tile {root / paths[0]}")
    return None


def _read_hash_tile(
    root: Path, level: int, n: int, width: int, *, required: bool = True
) -> tuple[str, list[Hash]] | None:
    found = _read_tile(root, level, n, width, required=required)
    if found is None:
        return None
    rel, data, is_full = found
    want = (TILE_WIDTH if is_full else width) * HASH_SIZE
    if len(data) != want:
        raise InputError(f"malformed hash tile {root / rel}: {len(data)} bytes, expected {want}")
    return rel, [Hash(data[i : i + HASH_SIZE]) for i in range(0, width * HASH_SIZE, HASH_SIZE)]


def _level0_tile(root: Path, n: int, width: int) -> tuple[str, list[Hash]]:
    found = _read_hash_tile(root, 0, n, width)
    assert found is not None  # required=True raises instead
    return found


def _parse_bundle(data: bytes, count: int, where: Path) -> list[bytes]:
    """Entries of a bundle of uint16 big-endian length-prefixed entries; exactly `count` of them."""
    entries: list[bytes] = []
    pos, end = 0, len(data)
    while pos < end:
        if pos + 2 > end:
            raise InputError(f"malformed entry bundle {where}: truncated length at byte {pos}")
        length = int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        if pos + length > end:
            raise InputError(
                f"malformed entry bundle {where}: entry {len(entries)} needs {length} bytes, "
                f"only {end - pos} left"
            )
        entries.append(data[pos : pos + length])
        pos += length
    if len(entries) != count:
        raise InputError(
            f"malformed entry bundle {where}: {len(entries)} entries, expected {count}"
        )
    return entries


def _read_bundle(root: Path, n: int, width: int) -> tuple[str, list[bytes]]:
    found = _read_tile(root, None, n, width)
    assert found is not None  # required=True raises instead
    rel, data, is_full = found
    entries = _parse_bundle(data, TILE_WIDTH if is_full else width, root / rel)
    return rel, entries[:width]


def _tiles(count: int) -> list[tuple[int, int]]:
    """(index, width) of the tiles holding `count` consecutive items from 0."""
    return [(n, min(TILE_WIDTH, count - n * TILE_WIDTH)) for n in range(-(-count // TILE_WIDTH))]


def read_tile_log(root: Path, size: int) -> tuple[list[bytes], list[Hash]]:
    """Entries (from entry bundles) and level-0 hashes (from tile/0) of the first `size` leaves.

    Reads only; structural problems (missing file, wrong length, bad bundle) raise InputError.
    """
    if size < 0:
        raise InputError(f"invalid tree size {size}: must be >= 0")
    if not root.is_dir():
        raise InputError(f"tile log directory {root} does not exist")
    entries: list[bytes] = []
    hashes: list[Hash] = []
    for n, width in _tiles(size):
        entries.extend(_read_bundle(root, n, width)[1])
        hashes.extend(_level0_tile(root, n, width)[1])
    return entries, hashes


def verify_tile_log(root: Path, size: int, expected_root: Hash) -> None:
    """Audit the first `size` leaves of a tile log against a checkpoint root (RFC 9162 §2.1.1).

    Each level-0 hash must be leaf_hash of its entry, each higher-level tile present must hold the
    MTH of the full tiles below, and the MTH of all leaves must equal `expected_root`.
    """
    if len(expected_root) != HASH_SIZE:
        raise VerificationError(
            f"expected root is {len(expected_root)} bytes, expected a {HASH_SIZE}-byte SHA-256"
        )
    if size < 0:
        raise InputError(f"invalid tree size {size}: must be >= 0")
    if not root.is_dir():
        raise InputError(f"tile log directory {root} does not exist")

    leaves: list[Hash] = []
    for n, width in _tiles(size):
        bundle_rel, entries = _read_bundle(root, n, width)
        tile_rel, tile = _level0_tile(root, n, width)
        for i, (entry, stored) in enumerate(zip(entries, tile, strict=True)):
            computed = leaf_hash(entry)
            if computed != stored:
                index = n * TILE_WIDTH + i
                raise VerificationError(
                    f"entry {index} ({root / bundle_rel}, position {i}) hashes to "
                    f"{computed.hex()}, but {root / tile_rel} holds {stored.hex()} at position {i}"
                )
            leaves.append(computed)

    # Level L >= 1 hash j is the MTH of the j-th full tile at level L-1.
    below = leaves
    level = 1
    while True:
        count = len(below) // TILE_WIDTH
        if count == 0:
            break
        current = [root_of(below[j * TILE_WIDTH : (j + 1) * TILE_WIDTH]) for j in range(count)]
        for n, width in _tiles(count):
            found = _read_hash_tile(root, level, n, width, required=False)
            if found is None:
                continue  # higher-level tiles only cache level-0 data: absent ones are skipped
            rel, tile = found
            for i, stored in enumerate(tile):
                want = current[n * TILE_WIDTH + i]
                if stored != want:
                    raise VerificationError(
                        f"hash {i} of {root / rel} is {stored.hex()}, but the level-{level - 1} "
                        f"tile it covers hashes to {want.hex()}"
                    )
        below = current
        level += 1

    computed_root = root_of(leaves)
    if computed_root != expected_root:
        raise VerificationError(
            f"the {size} entries of {root} hash to root {computed_root.hex()}, "
            f"but the checkpoint says {expected_root.hex()}"
        )
