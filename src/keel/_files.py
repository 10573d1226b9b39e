"""Files keel writes for a user: checked before the work, written atomically, never over
keel's own database or key.

An output is written to a temporary file in its folder, flushed to disk, then renamed over the
target, so a reader never sees half a file and a failed write leaves the old one in place.
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from keel.errors import InputError, StorageError


def check_output(path: Path, *, force: bool = False, protect: Iterable[Path] = ()) -> Path:
    """Refuse an output path before any work is done: one of `protect` (a ledger's database,
    its journals, its signing key), a folder, an existing file unless `force`, or a place that
    cannot be written. Returns the absolute path."""
    target = Path(os.path.abspath(path))
    for own in protect:
        if _same(target, Path(os.path.abspath(own))):
            raise InputError(
                f"{path} is the ledger's own file ({own.name}); keel never writes over it: "
                "choose another output path"
            )
    if target.is_dir():
        raise InputError(f"{path} is a folder: give a file name")
    if target.exists() and not force:
        raise InputError(f"{path} exists: pass --force to replace it, or choose another path")
    check_parent(path, target)
    return target


def check_parent(path: Path, target: Path) -> None:
    """Refuse `path` (absolute: `target`) when its folder is missing or not writable."""
    if not target.parent.is_dir():
        raise InputError(f"cannot write {path}: folder {target.parent} does not exist")
    if not os.access(target.parent, os.W_OK):
        raise InputError(f"cannot write {path}: folder {target.parent} is not writable")


def write_file(
    path: Path, data: bytes, *, force: bool = False, protect: Iterable[Path] = ()
) -> None:
    """Write `data` to `path` atomically, after `check_output`; outputs meant to be refreshed
    (a published checkpoint, a report page) pass `force=True`."""
    target = check_output(path, force=force, protect=protect)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as exc:
        raise _write_error(path, exc) from exc
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, target)
    except OSError as exc:
        os.unlink(tmp)
        raise _write_error(path, exc) from exc


def output_folder(path: Path) -> Path:
    """Create (with its parents) a folder that keel will write files into, or say why not."""
    if path.exists() and not path.is_dir():
        raise InputError(f"{path} is a file: give a folder (it is created if missing)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create folder {path}: {exc.strerror}") from exc
    if not os.access(path, os.W_OK):
        raise InputError(f"cannot write into folder {path}: it is not writable")
    return path


def sha256_file(path: Path) -> str:
    """The hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    try:
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except IsADirectoryError as exc:
        raise InputError(f"{path} is a folder: give a file") from exc
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}") from exc
    return h.hexdigest()


def _same(a: Path, b: Path) -> bool:
    if a == b or os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_error(path: Path, exc: OSError) -> InputError | StorageError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO):
        return StorageError(f"cannot write {path}: {exc.strerror}; nothing was written")
    return InputError(f"cannot write {path}: {exc.strerror}")
