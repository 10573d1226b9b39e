"""Log checkpoints (c2sp.org/tlog-checkpoint): a signed note whose text is a Merkle tree head.

The note text is ``<origin>\\n<tree size>\\n<base64 root hash>\\n`` followed by zero or more
non-empty extension lines. Parsing is strict, so that ``Checkpoint.parse(text).body() == text``.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from keel.errors import InputError, VerificationError
from keel.ledger.merkle import Hash
from keel.ledger.note import Signer, Verifier, open_note, sign_note

__all__ = ["MAX_TREE_SIZE", "Checkpoint", "open_checkpoint", "sign_checkpoint"]

MAX_TREE_SIZE = (1 << 63) - 1
"""Largest tree size accepted: Go's tlog and torchwood parse sizes as int64."""

_HASH_SIZE = 32
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


def _check_line(line: str, what: str) -> None:
    """A checkpoint line is non-empty, one line, and note-safe (no control characters)."""
    if not line:
        raise InputError(f"checkpoint {what} is empty")
    for c in line:
        if c < " ":
            raise InputError(f"checkpoint {what} contains control character U+{ord(c):04X}")
    try:
        line.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(f"checkpoint {what} is not valid Unicode") from exc


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: log origin, tree size, RFC 6962 root hash and opaque extension lines
    (c2sp.org/tlog-checkpoint, "Note text"). Invalid values are refused with :class:`InputError`."""

    origin: str
    size: int
    root: Hash
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "origin")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise InputError("checkpoint tree size must be an integer")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise InputError(f"checkpoint tree size {self.size} is out of range 0..2^63-1")
        if not isinstance(self.root, bytes) or len(self.root) != _HASH_SIZE:
            raise InputError("checkpoint root hash must be 32 bytes")
        object.__setattr__(self, "extensions", tuple(self.extensions))
        for i, ext in enumerate(self.extensions, start=1):
            _check_line(ext, f"extension line {i}")

    def body(self) -> str:
        """The note text: origin, size, base64 root, then each extension line, all newline-ended
        (c2sp.org/tlog-checkpoint, "Note text")."""
        root = base64.b64encode(self.root).decode("ascii")
        lines = [self.origin, str(self.size), root, *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint note text strictly: at least three non-empty lines, a decimal size
        without leading zeros, a canonical base64 32-byte root; :class:`InputError` otherwise."""
        if not text.endswith("\n"):
            raise InputError("checkpoint text must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise InputError(
                f"checkpoint has {len(lines)} line(s); it needs origin, size and root hash"
            )
        origin, size_text, root_text, *extensions = lines
        _check_line(origin, "origin (line 1)")
        if not _DECIMAL.fullmatch(size_text):
            raise InputError(
                f"checkpoint line 2: tree size {size_text!r} is not a decimal without leading zeros"
            )
        size = int(size_text)
        if size > MAX_TREE_SIZE:
            raise InputError(f"checkpoint line 2: tree size {size} is larger than 2^63-1")
        try:
            root = base64.b64decode(root_text, validate=True)
        except (binascii.Error, ValueError):
            root = b""
        if len(root) != _HASH_SIZE or base64.b64encode(root).decode("ascii") != root_text:
            raise InputError("checkpoint line 3: root hash is not the canonical base64 of 32 bytes")
        for i, ext in enumerate(extensions, start=4):
            _check_line(ext, f"extension line (line {i})")
        return cls(origin, size, Hash(root), tuple(extensions))


def sign_checkpoint(cp: Checkpoint, signer: Signer) -> bytes:
    """Sign ``cp`` as a note; the key name must be the origin, as c2sp.org/tlog-checkpoint
    ("Signatures") recommends and :func:`open_checkpoint` requires."""
    if signer.name != cp.origin:
        raise InputError(
            f"signer key {signer.name!r} cannot sign a checkpoint of log {cp.origin!r}: "
            "the key name must equal the checkpoint origin"
        )
    return sign_note(cp.body(), signer)


def open_checkpoint(signed: bytes, verifier: Verifier) -> Checkpoint:
    """Verify the log's signature, then parse the text (tlog-checkpoint): VerificationError on a bad
    signature or an origin other than the key's name, InputError if the text is no checkpoint."""
    note = open_note(signed, [verifier])
    cp = Checkpoint.parse(note.text)
    if cp.origin != verifier.name:
        raise VerificationError(
            f"checkpoint origin {cp.origin!r} is not the log {verifier.name!r} the key belongs to"
        )
    return cp
