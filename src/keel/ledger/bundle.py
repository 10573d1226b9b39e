"""Offline inclusion receipts in the c2sp.org/tlog-proof@v1 text format.

::

    c2sp.org/tlog-proof@v1
    extra <base64 opaque data>          (optional, unauthenticated)
    index <decimal leaf index>
    <base64 hash>                       (zero or more: the RFC 6962 inclusion proof)

    <signed checkpoint, verbatim>

Parsing is strict (canonical base64 and decimals), so ``ProofBundle.parse(b).format() == b``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from keel.errors import InputError, VerificationError
from keel.ledger.checkpoint import MAX_TREE_SIZE, Checkpoint, open_checkpoint
from keel.ledger.merkle import Hash, leaf_hash, verify_inclusion
from keel.ledger.note import Verifier
from keel.records import parse_entry, payload_of

__all__ = ["HEADER", "MAX_PROOF_HASHES", "ProofBundle", "verify_bundle"]

HEADER = b"c2sp.org/tlog-proof@v1"
"""First line of every proof (c2sp.org/tlog-proof, "Format")."""

MAX_PROOF_HASHES = 64
"""Most hashes an inclusion proof can need in a tree of at most 2^63-1 leaves (with margin)."""

_HASH_SIZE = 32
_DECIMAL = re.compile(rb"0|[1-9][0-9]*")


def _b64decode(data: bytes) -> bytes | None:
    """Decode canonical, padded standard base64; ``None`` for anything else."""
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if base64.b64encode(raw) == data else None


@dataclass(frozen=True)
class ProofBundle:
    """A tlog-proof: leaf index, inclusion proof hashes (leaf's sibling first), the signed
    checkpoint bytes, and optional unauthenticated extra data (c2sp.org/tlog-proof, "Format")."""

    index: int
    proof: tuple[Hash, ...]
    checkpoint: bytes
    extra: bytes | None = None

    def __post_init__(self) -> None:
        if isinstance(self.index, bool) or not isinstance(self.index, int):
            raise InputError("tlog-proof index must be an integer")
        if not 0 <= self.index <= MAX_TREE_SIZE:
            raise InputError(f"tlog-proof index {self.index} is out of range 0..2^63-1")
        object.__setattr__(self, "proof", tuple(self.proof))
        if len(self.proof) > MAX_PROOF_HASHES:
            raise InputError(f"tlog-proof has more than {MAX_PROOF_HASHES} proof hashes")
        for i, h in enumerate(self.proof):
            if not isinstance(h, bytes) or len(h) != _HASH_SIZE:
                raise InputError(f"tlog-proof hash {i} is not 32 bytes")
        if not isinstance(self.checkpoint, bytes) or not self.checkpoint:
            raise InputError("tlog-proof checkpoint must be non-empty bytes")
        if self.extra is not None and not isinstance(self.extra, bytes):
            raise InputError("tlog-proof extra data must be bytes or None")

    def format(self) -> bytes:
        """The exact c2sp.org/tlog-proof@v1 text: header, optional extra line, index line, one
        base64 hash per line, a blank line, then the checkpoint verbatim."""
        lines = [HEADER]
        if self.extra is not None:
            lines.append(b"extra " + base64.b64encode(self.extra))
        lines.append(b"index " + str(self.index).encode("ascii"))
        lines.extend(base64.b64encode(h) for h in self.proof)
        return b"".join(line + b"\n" for line in lines) + b"\n" + self.checkpoint

    @classmethod
    def parse(cls, data: bytes) -> ProofBundle:
        """Parse a c2sp.org/tlog-proof@v1 text strictly; :class:`InputError` naming the line that
        is wrong. The checkpoint is kept verbatim and checked only by :func:`verify_bundle`."""
        pos = 0
        number = 0

        def next_line() -> bytes:
            """The next newline-terminated line, without its newline."""
            nonlocal pos, number
            number += 1
            end = data.find(b"\n", pos)
            if end < 0:
                raise InputError(f"tlog-proof line {number}: missing (the text ends early)")
            line = data[pos:end]
            pos = end + 1
            return line

        if next_line() != HEADER:
            raise InputError(f"tlog-proof line 1: expected {HEADER.decode()!r}")

        extra: bytes | None = None
        line = next_line()
        if line.startswith(b"extra "):
            extra = _b64decode(line[len(b"extra ") :])
            if extra is None:
                raise InputError(
                    f"tlog-proof line {number}: extra data is not canonical padded base64"
                )
            line = next_line()

        if not line.startswith(b"index "):
            raise InputError(f"tlog-proof line {number}: expected 'index <decimal>'")
        digits = line[len(b"index ") :]
        if not _DECIMAL.fullmatch(digits):
            raise InputError(
                f"tlog-proof line {number}: index is not a decimal without leading zeros"
            )
        index = int(digits)
        if index > MAX_TREE_SIZE:
            raise InputError(f"tlog-proof line {number}: index is larger than 2^63-1")

        proof: list[Hash] = []
        while (line := next_line()) != b"":
            if len(proof) == MAX_PROOF_HASHES:
                raise InputError(
                    f"tlog-proof line {number}: more than {MAX_PROOF_HASHES} proof hashes"
                )
            raw = _b64decode(line)
            if raw is None or len(raw) != _HASH_SIZE:
                raise InputError(
                    f"tlog-proof line {number}: proof hash is not the canonical base64 of 32 bytes"
                )
            proof.append(Hash(raw))

        checkpoint = data[pos:]
        if not checkpoint:
            raise InputError(f"tlog-proof line {number + 1}: the checkpoint is missing")
        return cls(index, tuple(proof), checkpoint, extra)


def verify_bundle(bundle: ProofBundle, entry: bytes, verifier: Verifier) -> Checkpoint:
    """Prove ``entry`` is leaf ``bundle.index`` (tlog-proof): open the checkpoint with the log key,
    verify the RFC 6962 inclusion proof to its root, return it; VerificationError otherwise."""
    cp = open_checkpoint(bundle.checkpoint, verifier)
    verify_inclusion(leaf_hash(entry), bundle.index, cp.size, bundle.proof, cp.root)
    return cp


def check_payload(entry: bytes, payload: bytes) -> str:
    """Check that `payload` is the payload `entry` (exact entry bytes) commits to: its SHA-256
    digest; InputError when the entry commits to none, VerificationError when it differs."""
    ref = payload_of(parse_entry(entry))
    if ref is None:
        raise InputError("this entry commits to no payload")
    if hashlib.sha256(payload).hexdigest() != ref.sha256:
        raise VerificationError("these are not the payload bytes this entry commits to")
    return ref.sha256
