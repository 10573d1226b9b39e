"""Chain anchors: a checkpoint's origin, size and root published in a Solana memo transaction.

An anchor shows that a tree head existed by the time of the block that holds it, and who
published it; it does not show that the entries are true. The pieces, each checkable without
keel (docs/transparency.md, "Anchors"):

- **The anchor key**: a Solana Ed25519 keypair in its own file (solana-keygen's format, a JSON
  array of the 64 bytes seed ‖ public key), created once and never overwritten. It pays for
  and signs every anchor transaction of the log.
- **Its binding**: an `anchor-key` entry in the log holding the key, the chain (a CAIP-2 id)
  and the log key's signature on `keel.records.anchor_key_message`, so that whoever holds the
  log's verifier key knows which chain key speaks for the log. A log binds one key per chain.
- **The memo**: the transaction calls the SPL Memo program (`MEMO_PROGRAM`) with the anchor
  key as its one signer account, and its memo is exactly the first three lines of the
  checkpoint's note text (`anchor_memo`): origin, size and base64 root, each ending in a
  newline, as c2sp.org/tlog-checkpoint writes them. No new format: any transparency-log client
  parses the memo with its checkpoint parser and compares it to the signed checkpoint.
- **The anchor entry**: once the transaction lands, an `anchor` entry records its signature,
  slot, the size and root it holds and the binding's id.

`verify_anchor` rechecks all of it against the transaction's bytes (a file, or fetched from a
chain): the signer, the signature, the memo byte for byte, the root recomputed from the ledger
at that size, and the binding's signature with the trusted log key.

Solana's types come from `solders` (the `[solana]` extra), imported on first use: the core
install reads and verifies the log's anchor entries without it. Two chains implement `Chain`:
`LiteSVMChain` (an in-process Solana VM with the real Memo program, for tests and demos; its
slots and times prove nothing) and `RpcChain` (a cluster's JSON-RPC API over HTTP).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol, cast

from keel.errors import InputError, NotFoundError, ServiceError, VerificationError, require
from keel.ledger.checkpoint import Checkpoint
from keel.ledger.merkle import Hash
from keel.ledger.note import Verifier
from keel.records import Anchor, AnchorKey, EntryId, anchor_key_message

if TYPE_CHECKING:
    from solders.keypair import Keypair

    from keel.ledger.log import Ledger, Located

MEMO_PROGRAM = "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr"
"""The SPL Memo program (v2): logs a UTF-8 memo and checks that its accounts signed."""
LITESVM_CHAIN = "solana:litesvm"
"""The CAIP-2 id keel gives LiteSVM's in-process chain (it has no genesis hash to name it)."""
RPC_TIMEOUT = 30.0
"""Seconds one JSON-RPC request may take."""
CONFIRM_TIMEOUT = 90.0
"""Seconds `RpcChain.submit` waits for a sent transaction to be confirmed."""
_INSTALL = "pip install 'keel[solana]'"


@dataclass(frozen=True, slots=True)
class Landed:
    """A transaction as a chain holds it: its wire bytes, and where it was read from and when
    it landed (the chain's CAIP-2 id, the slot, the block's Unix time) when a chain said so,
    None for a transaction read from a file; `error` is the chain's error if it failed."""

    transaction: bytes
    chain: str | None = None
    slot: int | None = None
    block_time: int | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Anchored:
    """What `anchor_checkpoint` did: the checkpoint it anchored, the anchor entry it logged
    (and the binding entry it logged first, the first time a key is used on a chain), and the
    transaction as it landed."""

    checkpoint: Checkpoint
    anchor: Located
    binding: Located
    bound_now: bool
    landed: Landed


@dataclass(frozen=True, slots=True)
class AnchorCheck:
    """An anchor that verified: the entry, its binding's chain and key, the transaction's id,
    slot and block time (None when read from a file), and the tree head the memo holds."""

    anchor: EntryId
    chain: str
    key: str
    transaction: str
    slot: int
    block_time: int | None
    size: int
    root: str


# -- the memo and the binding ------------------------------------------------------------------


def anchor_memo(origin: str, size: int, root: Hash) -> bytes:
    """The memo of an anchor: the checkpoint note text's first three lines (origin, size, base64
    root, each newline-ended; c2sp.org/tlog-checkpoint), in UTF-8."""
    return Checkpoint(origin, size, root).body().encode()


def check_anchor_key(binding: AnchorKey, verifier: Verifier) -> None:
    """VerificationError unless the log key `verifier` signed `binding`'s anchor key."""
    try:
        sig = base64.b64decode(binding.ed25519, validate=True)
    except (binascii.Error, ValueError):
        sig = b""
    message = anchor_key_message(verifier.name, binding.chain, binding.key)
    if not verifier.verify(message, sig):
        raise VerificationError(
            f"the binding of anchor key {binding.key} on {binding.chain} is not signed by the log "
            f"key {verifier.name}: this key does not speak for the log; do not trust its anchors"
        )


def _signed(binding: AnchorKey, verifier: Verifier) -> bool:
    try:
        check_anchor_key(binding, verifier)
    except VerificationError:
        return False
    return True


def default_anchor_key_path(db: Path) -> Path:
    """Where the anchor key of the ledger at `db` lives unless --anchor-key says otherwise."""
    return db.with_suffix(".anchor.json")


def load_anchor_key(path: Path) -> Keypair:
    """The anchor keypair in `path` (solana-keygen's JSON format), written there first when the
    file does not exist. An existing file is never written."""
    keypair_mod = _solders("keypair")
    if not path.exists():
        key = keypair_mod.Keypair()
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # made meanwhile by another process: read it below
        else:
            with os.fdopen(fd, "w") as f:
                f.write(str(key.to_json()) + "\n")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the anchor key {path}: {exc}") from exc
    try:
        return cast("Keypair", keypair_mod.Keypair.from_json(text.strip()))
    except ValueError as exc:
        raise InputError(
            f"{path} is not a Solana keypair file (a JSON array of 64 bytes, as solana-keygen "
            "writes): pass the anchor key file with --anchor-key"
        ) from exc


def bind_anchor_key(ledger: Ledger, key: str, chain: str) -> tuple[Located, bool]:
    """The entry binding anchor key `key` (base58) on `chain` to the log, logging it, signed by
    the log key, if it is not logged yet; and whether it was logged now. A log binds one key
    per chain: InputError if another key is bound on `chain` already. A binding the log key did
    not sign binds nothing (`keel ledger verify` reports it) and is passed over."""
    verifier = ledger.verifier()
    for loc in ledger.entries("anchor-key"):
        bound = loc.entry
        if isinstance(bound, AnchorKey) and bound.chain == chain and _signed(bound, verifier):
            if bound.key != key:
                raise InputError(
                    f"this log's anchor key on {chain} is {bound.key} (entry {loc.id}), not "
                    f"{key}: pass that key's file with --anchor-key (one anchor key per log "
                    "and chain lets anyone find every anchor of the log)"
                )
            return loc, False
    signer = ledger._signer()  # the log key vouches for the anchor key
    sig = signer.sign(anchor_key_message(signer.name, chain, key))
    binding = AnchorKey(chain, key, base64.b64encode(sig).decode("ascii"))
    appended = ledger.append([(binding, None)])[0]
    return ledger.at(appended.index), True


# -- anchoring ---------------------------------------------------------------------------------


def anchor_checkpoint(ledger: Ledger, chain: Chain, key_path: Path) -> Anchored:
    """Publish the log's current tree head on `chain` and log the anchor.

    Loads (or creates) the anchor key at `key_path`, binds it to the log the first time,
    signs a checkpoint covering everything logged, sends the memo transaction, paid and signed
    by the anchor key, and logs an `anchor` entry once the chain confirms it.
    """
    keypair = load_anchor_key(key_path)
    binding, bound_now = bind_anchor_key(ledger, str(keypair.pubkey()), chain.chain_id)
    assert isinstance(binding.entry, AnchorKey)
    ledger.checkpoint()
    cp = ledger.latest_checkpoint()
    assert cp is not None
    memo = anchor_memo(cp.origin, cp.size, cp.root)
    tx = memo_transaction(keypair, memo, chain.latest_blockhash())
    fund = (
        f"the anchor key {keypair.pubkey()} pays the fee: check that it holds SOL on "
        f"{chain.chain_id}, then run it again"
    )
    try:
        landed = chain.submit(tx)
    except ServiceError as exc:
        raise ServiceError(f"{exc}; {fund}") from exc
    if landed.error is not None:
        raise ServiceError(f"the anchor transaction failed: {landed.error}; {fund}")
    assert landed.slot is not None
    entry = Anchor(binding.id, _signature_of(tx), landed.slot, cp.size, cp.root.hex())
    appended = ledger.append([(entry, None)])[0]
    return Anchored(cp, ledger.at(appended.index), binding, bound_now, landed)


def memo_transaction(keypair: Keypair, memo: bytes, blockhash: bytes) -> bytes:
    """The wire bytes of a legacy transaction, paid and signed by `keypair`, with one
    instruction: the Memo program logging `memo`, with the key as its one (signer) account."""
    pubkey = _solders("pubkey")
    instruction = _solders("instruction")
    message = _solders("message")
    transaction = _solders("transaction")
    hash_mod = _solders("hash")
    payer = keypair.pubkey()
    ix = instruction.Instruction(
        pubkey.Pubkey.from_string(MEMO_PROGRAM),
        memo,
        [instruction.AccountMeta(payer, True, False)],
    )
    recent = hash_mod.Hash.from_bytes(blockhash)
    msg = message.Message.new_with_blockhash([ix], payer, recent)
    return bytes(transaction.Transaction([keypair], msg, recent))


def _signature_of(tx: bytes) -> str:
    """A transaction's id: its first signature, base58."""
    return str(_parse_transaction(tx).signatures[0])


# -- verifying ---------------------------------------------------------------------------------


def verify_anchor(ledger: Ledger, ref: str, landed: Landed, verifier: Verifier) -> AnchorCheck:
    """Check the anchor entry `ref` against its transaction; VerificationError naming the
    first thing that does not match.

    The binding entry must carry the log key's signature (`verifier`, the key you trust); the
    transaction must be the one the entry names, signed by the bound key (checked here, not
    taken from the chain), with exactly one instruction: the Memo program with the memo of the
    entry's size and root; that root must be the ledger's root at that size, recomputed from
    the entries. When the transaction comes from a chain, the chain must be the binding's and
    the slot the entry's, and the transaction must have succeeded.
    """
    require_solders()
    anchor_loc = ledger.locate(ref)
    anchor = anchor_loc.entry
    if not isinstance(anchor, Anchor):
        raise InputError(f"{ref} is a {anchor.kind} entry, not an anchor")
    try:
        binding = ledger.locate(anchor.binding).entry
    except NotFoundError:
        raise VerificationError(
            f"anchor {anchor_loc.id} names binding {anchor.binding}, which is not in the log"
        ) from None
    if not isinstance(binding, AnchorKey):
        raise VerificationError(
            f"anchor {anchor_loc.id} names entry {anchor.binding} as its key binding, but it "
            f"is a {binding.kind}"
        )
    check_anchor_key(binding, verifier)
    if landed.chain is not None and landed.chain != binding.chain:
        raise VerificationError(
            f"the transaction was read from {landed.chain}, but the anchor key is bound on "
            f"{binding.chain}: ask that chain's RPC"
        )
    if landed.error is not None:
        raise VerificationError(f"the anchor transaction failed on chain: {landed.error}")
    if landed.slot is not None and landed.slot != anchor.slot:
        raise VerificationError(
            f"the transaction landed in slot {landed.slot}, but the anchor entry says {anchor.slot}"
        )
    tx = _parse_transaction(landed.transaction)
    got = str(tx.signatures[0])
    if got != anchor.transaction:
        raise VerificationError(
            f"this is transaction {got}, but the anchor entry names {anchor.transaction}: "
            "give that transaction"
        )
    msg = tx.message
    keys = [str(k) for k in msg.account_keys]
    if keys[0] != binding.key:
        raise VerificationError(
            f"the transaction is signed by {keys[0]}, but the log's anchor key on "
            f"{binding.chain} is {binding.key}"
        )
    if not all(tx.verify_with_results()):
        raise VerificationError(
            f"a signature of transaction {got} does not verify: its bytes were changed"
        )
    memo = _memo(msg, keys, binding.key)
    origin = verifier.name
    root = bytes.fromhex(anchor.root)
    expected = anchor_memo(origin, anchor.size, Hash(root))
    if memo != expected:
        raise VerificationError(
            f"the memo is {_show(memo)}, but the anchor entry expects {_show(expected)}"
        )
    if anchor.size > ledger.size:
        raise VerificationError(
            f"the memo anchors size {anchor.size}, but the ledger has only {ledger.size} entries"
        )
    ours = ledger.root(anchor.size)
    if ours != root:
        raise VerificationError(
            f"the memo anchors root {anchor.root} at size {anchor.size}, but the ledger's root "
            f"at that size is {ours.hex()}: the log shown to the chain is not this one"
        )
    return AnchorCheck(
        anchor_loc.id,
        binding.chain,
        binding.key,
        got,
        anchor.slot,
        landed.block_time,
        anchor.size,
        anchor.root,
    )


def anchor_transaction(ledger: Ledger, ref: str, chain: Chain) -> Landed:
    """The transaction that the anchor entry `ref` names, as `chain` holds it."""
    loc = ledger.locate(ref)
    if not isinstance(loc.entry, Anchor):
        raise InputError(f"{ref} is a {loc.entry.kind} entry, not an anchor")
    return chain.fetch(loc.entry.transaction)


def _memo(msg: object, keys: list[str], signer: str) -> bytes:
    """The memo of a message that has exactly one instruction, a memo signed by `signer`."""
    instructions = list(getattr(msg, "instructions"))  # noqa: B009 - solders may be untyped here
    if len(instructions) != 1:
        raise VerificationError(
            f"the transaction has {len(instructions)} instructions; an anchor has one, the memo"
        )
    ix = instructions[0]
    program = keys[ix.program_id_index]
    if program != MEMO_PROGRAM:
        raise VerificationError(
            f"the transaction calls program {program}, not the Memo program {MEMO_PROGRAM}"
        )
    accounts = [keys[i] for i in list(ix.accounts)]
    if accounts != [signer]:
        raise VerificationError(
            f"the memo's signer accounts are {accounts}; an anchor's is the anchor key {signer}"
        )
    return bytes(ix.data)


def _show(memo: bytes) -> str:
    return repr(memo.decode("utf-8", "replace"))


def _parse_transaction(data: bytes) -> _Transaction:
    """The transaction in `data` (its exact wire bytes); InputError if it is not one."""
    transaction = _solders("transaction")
    try:
        tx = transaction.VersionedTransaction.from_bytes(data)
    except ValueError as exc:
        raise InputError(f"not a Solana transaction in wire format: {exc}") from exc
    if bytes(tx) != data:
        raise InputError("not a Solana transaction in wire format: bytes follow it")
    if not tx.signatures:
        raise InputError("the transaction carries no signature")
    return cast(_Transaction, tx)


class _Transaction(Protocol):
    """What keel reads of a solders VersionedTransaction."""

    @property
    def signatures(self) -> list[object]: ...
    @property
    def message(self) -> _Message: ...
    def verify_with_results(self) -> list[bool]: ...


class _Message(Protocol):
    @property
    def account_keys(self) -> list[object]: ...


def require_solders() -> None:
    """InputError saying how to install the `[solana]` extra unless solders is importable."""
    _solders("transaction")


def _solders(module: str) -> ModuleType:
    """`solders.<module>`, or an InputError saying how to install it."""
    return require(f"solders.{module}", f"chain anchors need solders: {_INSTALL}", InputError)


# -- chains ------------------------------------------------------------------------------------


class Chain(Protocol):
    """A Solana chain keel anchors on: its id, a recent blockhash, and sending and reading
    transactions."""

    @property
    def chain_id(self) -> str:
        """The chain's CAIP-2 id (`solana:` and the first 32 characters of its genesis hash)."""
        ...

    def latest_blockhash(self) -> bytes:
        """A recent blockhash (32 bytes) for a new transaction."""
        ...

    def submit(self, transaction: bytes) -> Landed:
        """Send a signed transaction and wait until the chain confirms it."""
        ...

    def fetch(self, signature: str) -> Landed:
        """The transaction with this signature (base58) as the chain holds it."""
        ...


class LiteSVMChain:
    """LiteSVM's in-process Solana VM, with the real Memo program: for tests and demos. Every
    fee payer is funded on first use; slots and times are LiteSVM's, and prove nothing."""

    def __init__(self) -> None:
        self.svm = _solders("litesvm").LiteSVM()
        self._sent: dict[str, bytes] = {}

    @property
    def chain_id(self) -> str:
        return LITESVM_CHAIN

    def latest_blockhash(self) -> bytes:
        return bytes(self.svm.latest_blockhash())

    def submit(self, transaction: bytes) -> Landed:
        tx = _solders("transaction").VersionedTransaction.from_bytes(transaction)
        payer = tx.message.account_keys[0]
        if not self.svm.get_balance(payer):
            self.svm.airdrop(payer, 1_000_000_000)
        result = self.svm.send_transaction(tx)
        signature = str(tx.signatures[0])
        error = getattr(result, "err", None)
        if error is None:
            self._sent[signature] = transaction
        return Landed(
            transaction,
            LITESVM_CHAIN,
            int(self.svm.get_clock().slot),
            int(self.svm.get_clock().unix_timestamp),
            None if error is None else str(error),
        )

    def fetch(self, signature: str) -> Landed:
        if signature not in self._sent:
            raise NotFoundError(f"LiteSVM holds no transaction {signature} (it forgets on exit)")
        return Landed(self._sent[signature], LITESVM_CHAIN, int(self.svm.get_clock().slot))


class RpcChain:
    """A Solana cluster through its JSON-RPC API (https://solana.com/docs/rpc) at `url`:
    getGenesisHash, getLatestBlockhash, sendTransaction and getTransaction, base64-encoded."""

    def __init__(self, url: str, *, commitment: str = "confirmed") -> None:
        self.url = url
        self.commitment = commitment
        self._chain_id: str | None = None

    @property
    def chain_id(self) -> str:
        if self._chain_id is None:
            genesis = self._call("getGenesisHash", [])
            if not isinstance(genesis, str) or not genesis:
                raise ServiceError(f"{self.url}: getGenesisHash answered {genesis!r}")
            self._chain_id = f"solana:{genesis[:32]}"
        return self._chain_id

    def latest_blockhash(self) -> bytes:
        answer = self._call("getLatestBlockhash", [{"commitment": self.commitment}])
        try:
            blockhash = answer["value"]["blockhash"]
            return bytes(_solders("hash").Hash.from_string(blockhash))
        except (KeyError, TypeError, ValueError) as exc:
            raise ServiceError(f"{self.url}: getLatestBlockhash answered {answer!r}") from exc

    def submit(self, transaction: bytes) -> Landed:
        encoded = base64.b64encode(transaction).decode("ascii")
        signature = self._call(
            "sendTransaction",
            [encoded, {"encoding": "base64", "preflightCommitment": self.commitment}],
        )
        if not isinstance(signature, str):
            raise ServiceError(f"{self.url}: sendTransaction answered {signature!r}")
        deadline = time.monotonic() + CONFIRM_TIMEOUT
        while True:
            landed = self._get(signature)
            if landed is not None:
                return landed
            if time.monotonic() > deadline:
                raise ServiceError(
                    f"transaction {signature} was sent to {self.url} but not confirmed within "
                    f"{CONFIRM_TIMEOUT:.0f} s; check it later with `keel ledger verify-anchor`"
                    " once it lands (no anchor entry was logged)"
                )
            time.sleep(1.0)

    def fetch(self, signature: str) -> Landed:
        landed = self._get(signature)
        if landed is None:
            raise NotFoundError(f"{self.url} knows no confirmed transaction {signature}")
        return landed

    def _get(self, signature: str) -> Landed | None:
        answer = self._call(
            "getTransaction",
            [
                signature,
                {
                    "encoding": "base64",
                    "commitment": self.commitment,
                    "maxSupportedTransactionVersion": 0,
                },
            ],
        )
        if answer is None:
            return None
        try:
            data, encoding = answer["transaction"]
            if encoding != "base64":
                raise ValueError(f"encoding {encoding!r}")
            error = (answer.get("meta") or {}).get("err")
            return Landed(
                base64.b64decode(data, validate=True),
                self.chain_id,
                int(answer["slot"]),
                None if answer.get("blockTime") is None else int(answer["blockTime"]),
                None if error is None else json.dumps(error),
            )
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise ServiceError(
                f"{self.url}: getTransaction answered something keel cannot read ({exc})"
            ) from exc

    def _call(self, method: str, params: list[object]) -> Any:
        """The `result` of a JSON-RPC 2.0 call (any JSON value); ServiceError on an error."""
        import urllib.error  # loaded here: every keel command imports this module, few call RPC
        import urllib.request

        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        request = urllib.request.Request(
            self.url, body.encode(), {"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=RPC_TIMEOUT) as response:
                answer = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ServiceError(
                f"the Solana RPC at {self.url} did not answer {method}: {exc}"
            ) from exc
        if not isinstance(answer, dict):
            raise ServiceError(f"{self.url}: {method} answered {answer!r}, not a JSON-RPC object")
        if answer.get("error") is not None:
            raise ServiceError(f"{self.url}: {method} failed: {answer['error']}")
        return answer.get("result")
