"""Files keel writes for a user: atomically, never over keel's own database or key.

An output is written to a temporary file in its folder, flushed to disk, then renamed over the
target, so a reader never sees half a file and a failed write leaves the old one in place.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from keel.errors import InputError, StorageError


def write_file(
    path: Path, data: bytes, *, force: bool = False, protect: Iterable[Path] = ()
) -> None:
    """Write `data` to `path` atomically.

    Refuses a path that is one of `protect` (a ledger's database, its journals, its signing
    key), and an existing file unless `force`; outputs meant to be refreshed pass `force=True`.
    """
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
    if not target.parent.is_dir():
        raise InputError(f"cannot write {path}: folder {target.parent} does not exist")
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
