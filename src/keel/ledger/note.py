"""Signed notes (c2sp.org/signed-note) with Ed25519 keys in the golang.org/x/mod/sumdb/note format.

A signed note is a UTF-8 text ending in a newline, a blank line, and one or more signature lines
``— <key name> base64(key ID || signature)``. Keys travel as strings::

    signer:   PRIVATE+KEY+<name>+<hex8 key ID>+base64(0x01 || 32-byte Ed25519 seed)
    verifier: <name>+<hex8 key ID>+base64(0x01 || 32-byte Ed25519 public key)

where key ID = SHA-256(name || 0x0A || 0x01 || public key)[:4], big-endian. Signing reproduces Go's
``note.Sign`` byte for byte; opening follows Go's ``note.Open``. Key strings and signatures must be
canonical (lowercase hex, canonical padded base64), so a parsed key prints back exactly.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from keel.errors import InputError, VerificationError

__all__ = [
    "ALG_ED25519",
    "MAX_NOTE_SIZE",
    "MAX_SIGNATURES",
    "Note",
    "Signature",
    "Signer",
    "Verifier",
    "generate_key",
    "is_valid_name",
    "open_note",
    "parse_signer",
    "parse_verifier",
    "sign_note",
    "split_note",
    "verifier_key",
]

ALG_ED25519 = 0x01
"""Signature type byte for Ed25519 (c2sp.org/signed-note, "Signature types")."""

MAX_SIGNATURES = 100
"""Most signature lines a note may carry (the spec asks for a limit of at least 16; Go uses 100)."""

MAX_NOTE_SIZE = 1 << 20
"""Most bytes a whole signed note may have (the spec's "overall size" limit; 1 MiB here)."""

_ED25519_KEY_SIZE = 32
_ED25519_SIG_SIZE = 64
_KEY_ID_SIZE = 4
_SIG_PREFIX = "\u2014 "  # em dash, space
_SIG_SPLIT = b"\n\n"
_HEX_DIGITS = frozenset("0123456789abcdef")

# Go's unicode.IsSpace: the Unicode White_Space property.
_UNICODE_SPACES = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


def is_valid_name(name: str) -> bool:
    """Whether ``name`` may name a key: non-empty UTF-8, no Unicode spaces, no '+' (signed-note,
    "Format"), and no ASCII control characters, which no note may contain."""
    if not name or "+" in name:
        return False
    if any(c in _UNICODE_SPACES or c < " " for c in name):
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return False
    return True


def _key_id(name: str, alg_and_key: bytes) -> int:
    """The recommended key ID: SHA-256(name || 0x0A || type || key)[:4] as a big-endian uint32."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + alg_and_key).digest()
    return int.from_bytes(digest[:_KEY_ID_SIZE], "big")


def _b64decode(text: str) -> bytes | None:
    """Decode canonical, padded standard base64 (RFC 4648 §4); ``None`` for anything else."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if base64.b64encode(raw).decode("ascii") != text:
        return None  # non-canonical padding bits or padding: refuse, so bytes print back exactly
    return raw


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _parse_key_id(hex8: str) -> int | None:
    if len(hex8) != 8 or not set(hex8) <= _HEX_DIGITS:
        return None
    return int(hex8, 16)


def ed25519_public_key(
    name: str, key_id: int, alg: int, public_key: bytes, what: str
) -> Ed25519PublicKey:
    """The Ed25519 key of a key string's parts, once its key ID is checked against SHA-256(name
    ‖ 0x0A ‖ alg ‖ key)[:4] (signed-note; `alg` 0x01 for note keys, 0x04 for cosignature/v1
    keys); `what` names the key in the `InputError`."""
    if key_id != _key_id(name, bytes([alg]) + public_key):
        raise InputError(
            f"{what} key {name}: key id {key_id:08x} does not match the name and public key "
            "(the key string is corrupted or was edited)"
        )
    try:
        return Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError as exc:
        raise InputError(f"{what} key {name}: not an Ed25519 public key") from exc


@dataclass(frozen=True)
class Verifier:
    """An Ed25519 note verifier key: name, key ID and 32-byte public key (signed-note, "Ed25519
    signatures"). Construct it with :func:`parse_verifier`; ``vkey`` gives the key string back."""

    name: str
    key_id: int
    public_key: bytes
    _key: Ed25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not is_valid_name(self.name):
            raise InputError(
                f"verifier key name {self.name!r} is invalid: it must be non-empty, "
                "with no spaces, '+' or control characters"
            )
        if not isinstance(self.public_key, bytes) or len(self.public_key) != _ED25519_KEY_SIZE:
            raise InputError("verifier key: an Ed25519 public key must be exactly 32 bytes")
        key = ed25519_public_key(self.name, self.key_id, ALG_ED25519, self.public_key, "verifier")
        object.__setattr__(self, "_key", key)

    @property
    def vkey(self) -> str:
        """The verifier key string ``<name>+<hex8 id>+base64(0x01 || public key)``."""
        return f"{self.name}+{self.key_id:08x}+{_b64encode(bytes([ALG_ED25519]) + self.public_key)}"

    def verify(self, msg: bytes, sig: bytes) -> bool:
        """Whether ``sig`` is a valid 64-byte Ed25519 signature of ``msg`` by this key (RFC 8032
        via signed-note, "Ed25519 signatures")."""
        if len(sig) != _ED25519_SIG_SIZE:
            return False
        try:
            self._key.verify(sig, msg)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    """An Ed25519 note signer key: name, key ID and 32-byte seed (kept out of ``repr``).
    Construct it with :func:`parse_signer`; the seed is secret."""

    name: str
    key_id: int
    seed: bytes = field(repr=False)
    _key: Ed25519PrivateKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not is_valid_name(self.name):
            raise InputError(
                f"signer key name {self.name!r} is invalid: it must be non-empty, "
                "with no spaces, '+' or control characters"
            )
        if not isinstance(self.seed, bytes) or len(self.seed) != _ED25519_KEY_SIZE:
            raise InputError("signer key: an Ed25519 seed must be exactly 32 bytes")
        key = Ed25519PrivateKey.from_private_bytes(self.seed)
        public = key.public_key().public_bytes_raw()
        if self.key_id != _key_id(self.name, bytes([ALG_ED25519]) + public):
            raise InputError(
                f"signer key {self.name}: key id {self.key_id:08x} does not match the name "
                "and key (the key string is corrupted or was edited)"
            )
        object.__setattr__(self, "_key", key)

    def sign(self, msg: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``msg`` (deterministic, RFC 8032)."""
        return self._key.sign(msg)

    def verifier(self) -> Verifier:
        """The matching :class:`Verifier` (same name, key ID and public key)."""
        return Verifier(self.name, self.key_id, self._key.public_key().public_bytes_raw())


def generate_key(name: str) -> tuple[str, str]:
    """A fresh Ed25519 key pair for ``name`` as (signer key string, verifier key string), like Go's
    ``note.GenerateKey``. Keep the first secret; hand the second to verifiers."""
    if not is_valid_name(name):
        raise InputError(
            f"key name {name!r} is invalid: it must be non-empty, "
            "with no spaces, '+' or control characters"
        )
    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes_raw()
    public = key.public_key().public_bytes_raw()
    kid = _key_id(name, bytes([ALG_ED25519]) + public)
    skey = f"PRIVATE+KEY+{name}+{kid:08x}+{_b64encode(bytes([ALG_ED25519]) + seed)}"
    vkey = f"{name}+{kid:08x}+{_b64encode(bytes([ALG_ED25519]) + public)}"
    return skey, vkey


def _split_key(
    text: str, what: str, *, secret: bool, alg: int = ALG_ED25519
) -> tuple[str, int, bytes]:
    """Split ``<name>+<hex8>+<base64>`` into name, key ID and Ed25519 key bytes (without the type
    byte `alg`: 0x01 for note keys, 0x04 for cosigner keys). Messages say which part is wrong; for
    a secret key they repeat nothing from it."""
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise InputError(f"{what}: expected <name>+<8 hex digit key id>+<base64 key>")
    name, hex8, b64 = parts
    # In a garbled signer key the "name" may be a piece of the secret: never echo it.
    label = what if secret else f"{what} {name!r}"
    if not is_valid_name(name):
        raise InputError(
            f"{label}: the key name is invalid: it must be non-empty, "
            "with no spaces, '+' or control characters"
        )
    kid = _parse_key_id(hex8)
    if kid is None:
        raise InputError(f"{label}: the key id must be 8 lowercase hex digits")
    try:
        raw = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"{label}: the key data is not padded base64") from None
    if not raw:
        raise InputError(f"{label}: the key data is empty")
    if raw[0] != alg:
        raise InputError(
            f"{label}: key algorithm byte 0x{raw[0]:02x}, expected 0x{alg:02x} "
            f"({'Ed25519' if alg == ALG_ED25519 else 'Ed25519 cosignature/v1'})"
        )
    if len(raw) != 1 + _ED25519_KEY_SIZE:
        raise InputError(
            f"{label}: an Ed25519 key is 32 bytes after the algorithm byte, got {len(raw) - 1}"
        )
    if _b64encode(raw) != b64:
        raise InputError(f"{label}: the key data is not canonical base64")
    return name, kid, raw[1:]


def parse_verifier(vkey: str) -> Verifier:
    """Parse a verifier key string ``<name>+<hex8 id>+base64(0x01 || pubkey)``; :class:`InputError`
    on a bad name, id, encoding, algorithm byte, length, or an id that does not match the key."""
    name, kid, public = _split_key(vkey.strip(), "verifier key", secret=False)
    return Verifier(name, kid, public)


def ed25519_verifier(name: str, public_key: bytes) -> Verifier:
    """The verifier of `name` for a raw 32-byte Ed25519 public key (as WebCrypto exports one),
    with its key ID computed as signed-note does."""
    return Verifier(name, _key_id(name, bytes([ALG_ED25519]) + public_key), public_key)


def parse_signer(skey: str) -> Signer:
    """Parse a signer key string ``PRIVATE+KEY+<name>+<hex8 id>+base64(0x01 || seed)``;
    :class:`InputError` saying what is wrong, never repeating the secret."""
    skey = skey.strip()
    prefix = "PRIVATE+KEY+"
    if not skey.startswith(prefix):
        raise InputError("signer key: expected PRIVATE+KEY+<name>+<key id>+<base64 key>")
    name, kid, seed = _split_key(skey[len(prefix) :], "signer key", secret=True)
    return Signer(name, kid, seed)


def verifier_key(skey: str) -> str:
    """The verifier key string that matches signer key string ``skey``."""
    return parse_signer(skey).verifier().vkey


def load_verifier(key: str) -> Verifier:
    """The verifier named by `key`: a verifier key string, a file holding one, or a signer key
    (string or file), whose verifier it then is. A key string holds ``+``; a file name a user
    gives for a key does not."""
    text = key.strip()
    if "+" not in key:
        path = Path(key)
        try:
            text = path.read_text().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(
                f"{key} is neither a verifier key string (name+id+key) nor a readable key file"
            ) from exc
    if text.startswith("PRIVATE+KEY+"):
        text = verifier_key(text)
    return parse_verifier(text)


@dataclass(frozen=True)
class Signature:
    """One signature line of a note: key name, key ID and the signature bytes that follow the key
    ID (64 bytes for Ed25519) (signed-note, "Signatures")."""

    name: str
    key_id: int
    sig: bytes

    def line(self) -> str:
        """The signature line, ``— <name> base64(key ID || sig)`` plus newline."""
        blob = self.key_id.to_bytes(_KEY_ID_SIZE, "big") + self.sig
        return f"{_SIG_PREFIX}{self.name} {_b64encode(blob)}\n"


@dataclass(frozen=True)
class Note:
    """An opened note: its text (with final newline) and the signatures that verified; signatures
    by unknown keys are in ``unverified``, never trusted."""

    text: str
    signatures: tuple[Signature, ...]
    unverified: tuple[Signature, ...] = ()


def _check_chars(text: str, what: str) -> None:
    """Refuse ASCII control characters other than newline (signed-note, "Format")."""
    for i, c in enumerate(text):
        if c < " " and c != "\n":
            raise InputError(f"{what}: control character U+{ord(c):04X} at offset {i}")


def sign_note(text: str, *signers: Signer) -> bytes:
    """Sign ``text`` byte for byte as Go's ``note.Sign`` (signed-note, "Format"); InputError for
    text that could not be opened: no final newline, control characters, over the size limits."""
    if not text.endswith("\n"):
        raise InputError("note text must end with a newline")
    _check_chars(text, "note text")
    if not signers:
        raise InputError("a signed note needs at least one signer")
    if len(signers) > MAX_SIGNATURES:
        raise InputError(f"a note carries at most {MAX_SIGNATURES} signatures")
    try:
        msg = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError("note text is not valid Unicode (lone surrogate)") from exc
    lines = [Signature(s.name, s.key_id, s.sign(msg)).line() for s in signers]
    out = msg + b"\n" + "".join(lines).encode("utf-8")
    if len(out) > MAX_NOTE_SIZE:
        raise InputError(f"the signed note would exceed {MAX_NOTE_SIZE} bytes")
    return out


def split_note(msg: bytes) -> tuple[str, tuple[Signature, ...]]:
    """A note's text (with final newline) and its signature lines, unverified, in order; the
    structure checks of Go's ``note.Open`` (signed-note, "Format"), VerificationError naming the
    first malformed part."""
    if len(msg) > MAX_NOTE_SIZE:
        raise VerificationError(f"malformed note: larger than {MAX_NOTE_SIZE} bytes")
    try:
        decoded = msg.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise VerificationError(f"malformed note: invalid UTF-8 at byte {exc.start}") from exc
    for i, c in enumerate(decoded):
        if c < " " and c != "\n":
            raise VerificationError(f"malformed note: control character U+{ord(c):04X} at {i}")

    split = msg.rfind(_SIG_SPLIT)
    if split < 0:
        raise VerificationError("malformed note: no blank line before the signatures")
    text_bytes, sig_block = msg[: split + 1], msg[split + 2 :]
    if not sig_block or not sig_block.endswith(b"\n"):
        raise VerificationError("malformed note: signature block missing or not newline-terminated")

    signatures: list[Signature] = []
    lines = sig_block.decode("utf-8").split("\n")[:-1]
    for number, line in enumerate(lines, start=1):
        if number > MAX_SIGNATURES:
            raise VerificationError(f"malformed note: more than {MAX_SIGNATURES} signatures")
        if not line.startswith(_SIG_PREFIX):
            raise VerificationError(
                f"malformed note: signature line {number} does not start with an em dash and space"
            )
        name, _, b64 = line[len(_SIG_PREFIX) :].partition(" ")
        blob = _b64decode(b64)
        if not is_valid_name(name) or blob is None or len(blob) <= _KEY_ID_SIZE:
            raise VerificationError(
                f"malformed note: signature line {number} is not '— <name> <base64 signature>'"
            )
        signatures.append(
            Signature(name, int.from_bytes(blob[:_KEY_ID_SIZE], "big"), blob[_KEY_ID_SIZE:])
        )
    return text_bytes.decode("utf-8"), tuple(signatures)


def open_note(msg: bytes, verifiers: Sequence[Verifier]) -> Note:
    """Verify ``msg`` by Go's ``note.Open`` rules (signed-note, "Signatures"): VerificationError if
    malformed, a known key's signature is bad, or no known key signed; unknown keys are ignored."""
    text, signatures = split_note(msg)
    text_bytes = text.encode("utf-8")

    known: dict[tuple[str, int], Verifier] = {}
    for v in verifiers:
        other = known.setdefault((v.name, v.key_id), v)
        if other != v:
            raise VerificationError(
                f"ambiguous key {v.name}+{v.key_id:08x}: two verifiers share it"
            )

    verified: list[Signature] = []
    unverified: list[Signature] = []
    seen: set[tuple[str, int]] = set()
    seen_unknown: set[Signature] = set()
    for sig in signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            if sig not in seen_unknown:
                seen_unknown.add(sig)
                unverified.append(sig)
            continue
        if (sig.name, sig.key_id) in seen:
            continue  # Go keeps the first signature by a key and skips the rest unchecked
        seen.add((sig.name, sig.key_id))
        if not verifier.verify(text_bytes, sig.sig):
            raise VerificationError(f"invalid signature for key {sig.name}+{sig.key_id:08x}")
        verified.append(sig)

    if not verified:
        raise VerificationError("note has no verifiable signatures (no known key signed it)")
    return Note(text, tuple(verified), tuple(unverified))
