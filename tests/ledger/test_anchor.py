"""Chain anchors (`keel.ledger.anchor`, `keel ledger anchor` / `verify-anchor`).

The memo transaction is checked with solders' own decoder and `cryptography`'s Ed25519, not
keel's code; anchors go to LiteSVM (the real Memo program, in process) and to a real JSON-RPC
server on loopback backed by LiteSVM. Every forgery fails with a message saying what does not
match: a changed memo, another signer, a root the ledger never had, a binding the log key did
not sign. `keel ledger verify` rechecks bindings and anchored roots without solders.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extra_modules import need
from keel.errors import InputError, ServiceError, VerificationError
from keel.ledger import Ledger, generate_key, parse_signer
from keel.ledger.anchor import (
    MEMO_PROGRAM,
    Landed,
    LiteSVMChain,
    RpcChain,
    anchor_checkpoint,
    anchor_transaction,
    bind_anchor_key,
    memo_transaction,
    verify_anchor,
)
from keel.records import Anchor, AnchorKey, anchor_key_message, text_record
from keel_cli import Cli

TEST_ORIGIN = "example.com/test"
"""The origin of the `ledger` fixture's log (tests/conftest.py)."""
SOME_KEY = "HNbLTh7XNSeezKTWLDgu7RshWKM65hK2THzHNRq9aRce"
OTHER_KEY = "CTdBZZfbK1RBRcHQzuBaFfKCfrL7HkRyc5hk1TV1Km7v"


@pytest.fixture
def solders() -> Any:
    """The solders package (the [solana] extra)."""
    need("solders.litesvm", "solana")
    import solders

    return solders


@pytest.fixture
def led(ledger: Ledger) -> Ledger:
    """The signed test ledger with three records."""
    ledger.append([text_record(f"record {i}", "human") for i in range(3)])
    return ledger


@pytest.fixture
def rpc(solders: Any) -> Iterator[Any]:
    """A JSON-RPC server on loopback answering from its own LiteSVM chain."""
    from solana_rpc import solana_rpc

    with solana_rpc() as cluster:
        yield cluster


def _keypair(path: Path) -> Any:
    from solders.keypair import Keypair

    return Keypair.from_json(path.read_text())


def _memo_for(origin: str, size: int, root: bytes) -> bytes:
    """The memo the docs specify, written out here rather than taken from keel."""
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n".encode()


# -- anchoring on LiteSVM, checked without keel --------------------------------------------------


@pytest.mark.extra
def test_anchor_transaction_decodes_and_verifies_independently(
    solders: Any, led: Ledger, tmp_path: Path
) -> None:
    from solders.pubkey import Pubkey
    from solders.transaction import VersionedTransaction

    chain = LiteSVMChain()
    key_file = tmp_path / "k.anchor.json"
    done = anchor_checkpoint(led, chain, key_file)

    anchor_key = _keypair(key_file).pubkey()
    assert os.stat(key_file).st_mode & 0o777 == 0o600
    size = done.checkpoint.size
    assert size == 4  # the three records and the binding entry
    tx = VersionedTransaction.from_bytes(done.landed.transaction)
    msg = tx.message
    assert msg.header.num_required_signatures == 1
    assert msg.account_keys[0] == anchor_key
    (ix,) = msg.instructions
    assert msg.account_keys[ix.program_id_index] == Pubkey.from_string(MEMO_PROGRAM)
    assert [msg.account_keys[i] for i in ix.accounts] == [anchor_key]
    assert bytes(ix.data) == _memo_for(TEST_ORIGIN, size, led.root(size))
    Ed25519PublicKey.from_public_bytes(bytes(anchor_key)).verify(
        bytes(tx.signatures[0]), bytes(msg)
    )
    logs = chain.svm.get_transaction(tx.signatures[0]).logs()
    assert f"Program {MEMO_PROGRAM} success" in logs

    anchor, binding = done.anchor.entry, done.binding.entry
    assert isinstance(anchor, Anchor) and isinstance(binding, AnchorKey)
    assert (anchor.transaction, anchor.size, anchor.root) == (
        str(tx.signatures[0]),
        size,
        led.root(size).hex(),
    )
    assert (binding.key, binding.chain, anchor.binding) == (
        str(anchor_key),
        "solana:litesvm",
        done.binding.id,
    )
    assert led.verifier().verify(
        anchor_key_message(TEST_ORIGIN, binding.chain, binding.key),
        base64.b64decode(binding.ed25519),
    )


@pytest.mark.extra
def test_anchor_key_is_kept_and_bound_once(solders: Any, led: Ledger, tmp_path: Path) -> None:
    chain = LiteSVMChain()
    key_file = tmp_path / "k.anchor.json"
    first = anchor_checkpoint(led, chain, key_file)
    text = key_file.read_text()
    second = anchor_checkpoint(led, chain, key_file)
    assert key_file.read_text() == text
    assert first.bound_now and not second.bound_now
    assert second.binding.id == first.binding.id
    assert second.checkpoint.size == first.anchor.index + 1
    with pytest.raises(InputError, match="this log's anchor key on solana:litesvm is"):
        anchor_checkpoint(led, chain, tmp_path / "other.anchor.json")
    (tmp_path / "bad.json").write_text("[1, 2, 3]")
    with pytest.raises(InputError, match="not a Solana keypair file"):
        anchor_checkpoint(led, chain, tmp_path / "bad.json")
    assert led.verify().ok


@pytest.mark.extra
def test_verify_anchor_passes_from_a_file_and_from_the_chain(
    solders: Any, led: Ledger, tmp_path: Path
) -> None:
    chain = LiteSVMChain()
    done = anchor_checkpoint(led, chain, tmp_path / "k.anchor.json")
    from_file = verify_anchor(led, done.anchor.id, Landed(done.landed.transaction), led.verifier())
    assert from_file.size == done.checkpoint.size
    assert from_file.block_time is None
    fetched = anchor_transaction(led, done.anchor.id, chain)
    assert verify_anchor(led, done.anchor.id[:12], fetched, led.verifier()) == from_file
    led.append([text_record("later", "human")])
    assert verify_anchor(led, done.anchor.id, fetched, led.verifier()).root == from_file.root


# -- forgeries -------------------------------------------------------------------------------


def _send(chain: LiteSVMChain, keypair: Any, memo: bytes) -> Landed:
    """A memo transaction built by keel's builder for `keypair`, landed on `chain`."""
    landed = chain.submit(memo_transaction(keypair, memo, chain.latest_blockhash()))
    assert landed.error is None
    return landed


def _log_anchor(led: Ledger, binding: str, landed: Landed, size: int, root: str) -> str:
    from solders.transaction import VersionedTransaction

    sig = str(VersionedTransaction.from_bytes(landed.transaction).signatures[0])
    assert landed.slot is not None
    return led.append([(Anchor(binding, sig, landed.slot, size, root), None)])[0].id


@pytest.mark.extra
def test_a_changed_memo_fails(solders: Any, led: Ledger, tmp_path: Path) -> None:
    done = anchor_checkpoint(led, LiteSVMChain(), tmp_path / "k.anchor.json")
    raw = done.landed.transaction
    at = raw.index(TEST_ORIGIN.encode()) + len(TEST_ORIGIN) + 1
    tampered = raw[:at] + b"9" + raw[at + 1 :]
    with pytest.raises(VerificationError, match="does not verify: its bytes were changed"):
        verify_anchor(led, done.anchor.id, Landed(tampered), led.verifier())


@pytest.mark.extra
def test_a_memo_other_than_the_entry_says_fails(solders: Any, led: Ledger, tmp_path: Path) -> None:
    chain = LiteSVMChain()
    key_file = tmp_path / "k.anchor.json"
    done = anchor_checkpoint(led, chain, key_file)
    size = done.checkpoint.size
    other = _send(chain, _keypair(key_file), _memo_for(TEST_ORIGIN, size - 1, led.root(size - 1)))
    forged = _log_anchor(led, done.binding.id, other, size, led.root(size).hex())
    with pytest.raises(VerificationError, match=f"the memo is '{TEST_ORIGIN}\\\\n{size - 1}"):
        verify_anchor(led, forged, other, led.verifier())


@pytest.mark.extra
def test_a_transaction_signed_by_another_key_fails(
    solders: Any, led: Ledger, tmp_path: Path
) -> None:
    from solders.keypair import Keypair

    chain = LiteSVMChain()
    done = anchor_checkpoint(led, chain, tmp_path / "k.anchor.json")
    size = done.checkpoint.size
    intruder = Keypair()
    landed = _send(chain, intruder, _memo_for(TEST_ORIGIN, size, led.root(size)))
    forged = _log_anchor(led, done.binding.id, landed, size, led.root(size).hex())
    with pytest.raises(VerificationError, match=f"signed by {intruder.pubkey()}, but the log's"):
        verify_anchor(led, forged, landed, led.verifier())


@pytest.mark.extra
def test_an_anchor_of_a_root_the_ledger_never_had_fails(
    solders: Any, led: Ledger, tmp_path: Path
) -> None:
    chain = LiteSVMChain()
    key_file = tmp_path / "k.anchor.json"
    done = anchor_checkpoint(led, chain, key_file)
    size, fake = done.checkpoint.size, bytes(range(32))
    landed = _send(chain, _keypair(key_file), _memo_for(TEST_ORIGIN, size, fake))
    forged = _log_anchor(led, done.binding.id, landed, size, fake.hex())
    with pytest.raises(VerificationError, match="the log shown to the chain is not this one"):
        verify_anchor(led, forged, landed, led.verifier())
    problems = led.verify().problems
    assert [(p.where, p.at) for p in problems] == [("entry", str(led.locate(forged).index))]
    assert f"the log's root at that size is {led.root(size).hex()}" in problems[0].message


@pytest.mark.extra
def test_a_binding_signed_by_another_log_key_fails(
    solders: Any, led: Ledger, tmp_path: Path
) -> None:
    from solders.keypair import Keypair

    chain = LiteSVMChain()
    rogue = Keypair()
    other_log = parse_signer(generate_key(TEST_ORIGIN)[0])
    sig = other_log.sign(anchor_key_message(TEST_ORIGIN, chain.chain_id, str(rogue.pubkey())))
    binding = AnchorKey(chain.chain_id, str(rogue.pubkey()), base64.b64encode(sig).decode())
    bound = led.append([(binding, None)])[0]
    led.checkpoint()
    cp = led.latest_checkpoint()
    assert cp is not None
    landed = _send(chain, rogue, _memo_for(TEST_ORIGIN, cp.size, cp.root))
    forged = _log_anchor(led, bound.id, landed, cp.size, cp.root.hex())
    with pytest.raises(VerificationError, match="is not signed by the log key"):
        verify_anchor(led, forged, landed, led.verifier())


# -- over JSON-RPC ---------------------------------------------------------------------------


@pytest.mark.extra
def test_anchor_and_verify_over_json_rpc(rpc: Any, led: Ledger, tmp_path: Path) -> None:
    chain = RpcChain(rpc.url)
    done = anchor_checkpoint(led, chain, tmp_path / "k.anchor.json")
    assert done.landed.chain == f"solana:{rpc.genesis[:32]}"
    assert done.landed.slot == rpc.slot
    assert rpc.methods == [
        "getGenesisHash",
        "getLatestBlockhash",
        "sendTransaction",
        "getTransaction",
    ]
    binding = done.binding.entry
    assert isinstance(binding, AnchorKey) and binding.chain == done.landed.chain
    fetched = anchor_transaction(led, done.anchor.id, RpcChain(rpc.url))
    check = verify_anchor(led, done.anchor.id, fetched, led.verifier())
    assert (check.slot, check.block_time, check.chain) == (rpc.slot, rpc.block_time, binding.chain)


@pytest.mark.extra
def test_an_unfunded_anchor_key_is_named(solders: Any, led: Ledger, tmp_path: Path) -> None:
    from solana_rpc import FakeCluster, solana_rpc

    key_file = tmp_path / "k.anchor.json"
    with solana_rpc(FakeCluster(fund=False)) as cluster:
        with pytest.raises(ServiceError, match="sendTransaction failed") as failed:
            anchor_checkpoint(led, RpcChain(cluster.url), key_file)
        assert f"the anchor key {_keypair(key_file).pubkey()} pays the fee" in str(failed.value)
        assert led.entries("anchor") == []
        cluster.fund = True
        assert not anchor_checkpoint(led, RpcChain(cluster.url), key_file).bound_now


@pytest.mark.extra
def test_json_rpc_answers_that_do_not_match_fail(rpc: Any, led: Ledger, tmp_path: Path) -> None:
    from solana_rpc import FakeCluster, solana_rpc

    done = anchor_checkpoint(led, RpcChain(rpc.url), tmp_path / "k.anchor.json")
    rpc.slot += 1
    moved = anchor_transaction(led, done.anchor.id, RpcChain(rpc.url))
    with pytest.raises(VerificationError, match=f"landed in slot {rpc.slot}, but the anchor"):
        verify_anchor(led, done.anchor.id, moved, led.verifier())
    with solana_rpc(FakeCluster(genesis="4sGjMW1sUnHzSxGspuhpqLDx6wiyjNtZAMdL4VZHirAn")) as other:
        other.landed.update(rpc.landed)
        elsewhere = anchor_transaction(led, done.anchor.id, RpcChain(other.url))
    with pytest.raises(VerificationError, match="but the anchor key is bound on solana:EtWT"):
        verify_anchor(led, done.anchor.id, elsewhere, led.verifier())


# -- the commands ----------------------------------------------------------------------------


@pytest.mark.extra
def test_cli_anchor_and_verify_anchor(solders: Any, led: Ledger, tmp_path: Path, cli: Cli) -> None:
    db = tmp_path / "k.db"
    led.close()
    tx = tmp_path / "tx.bin"
    done = cli.json("ledger", "anchor", "--litesvm", "-o", str(tx), db=db)
    assert done["bound_now"] and done["chain"] == "solana:litesvm"
    assert (tmp_path / "k.anchor.json").exists()
    verify = ("ledger", "verify-anchor", done["anchor"])
    code, out, _ = cli(*verify, "--transaction", str(tx), db=db)
    assert code == 0 and out.startswith("OK anchor")
    check = cli.json(*verify, "--transaction", str(tx), db=db)
    assert (check["ok"], check["root"], check["key"]) == (True, done["root"], done["key"])
    raw = bytearray(tx.read_bytes())
    raw[-3] ^= 1
    tx.write_bytes(bytes(raw))
    code, _, err = cli(*verify, "--transaction", str(tx), db=db)
    assert code == 3 and "does not verify" in err
    code, _, err = cli("ledger", "anchor", db=db)
    assert code == 2 and "--rpc URL" in err
    code, _, err = cli(*verify, db=db)
    assert code == 2 and "--transaction FILE or --rpc URL" in err
    assert cli.json("ledger", "verify", db=db)["ok"]


@pytest.mark.extra
def test_cli_over_json_rpc(rpc: Any, led: Ledger, tmp_path: Path, cli: Cli) -> None:
    db = tmp_path / "k.db"
    led.close()
    done = cli.json("ledger", "anchor", "--rpc", rpc.url, db=db)
    check = cli.json("ledger", "verify-anchor", done["anchor"], "--rpc", rpc.url, db=db)
    assert (check["slot"], check["block_time"]) == (rpc.slot, rpc.block_time)
    said = cli.ok("ledger", "verify-anchor", done["anchor"], "--rpc", rpc.url, db=db)
    assert f"slot {rpc.slot} of solana:EtWT" in said
    assert "in a block of 2025-12-06T05:46:40+00:00" in said
    code, _, err = cli("ledger", "anchor", "--rpc", "http://127.0.0.1:9", db=db)
    assert code == 6 and "did not answer getGenesisHash" in err


# -- without solders -------------------------------------------------------------------------


def test_verify_rechecks_the_binding_with_the_log_key(
    led: Ledger, tmp_path: Path, cli: Cli
) -> None:
    bound, new = bind_anchor_key(led, SOME_KEY, "solana:litesvm")
    assert new and bind_anchor_key(led, SOME_KEY, "solana:litesvm") == (bound, False)
    assert led.verify().ok
    rogue = parse_signer(generate_key(TEST_ORIGIN)[0])
    sig = rogue.sign(anchor_key_message(TEST_ORIGIN, "solana:devnet", SOME_KEY))
    forged = AnchorKey("solana:devnet", SOME_KEY, base64.b64encode(sig).decode())
    at = led.append([(forged, None)])[0].index
    problems = led.verify().problems
    assert [(p.where, p.at) for p in problems] == [("entry", str(at))]
    assert "is not signed by the log key example.com/test" in problems[0].message
    code, out, _ = cli("ledger", "verify", db=tmp_path / "k.db")
    assert code == 3
    assert f"FAIL entry {at}: the binding of anchor key {SOME_KEY} on solana:devnet is not" in out
    # a binding the log key did not sign binds nothing: the log's own key can still be bound
    assert bind_anchor_key(led, OTHER_KEY, "solana:devnet")[1]
    assert len(led.verify().problems) == 1


def test_verify_rechecks_anchored_roots_and_bindings(led: Ledger) -> None:
    bound, _ = bind_anchor_key(led, SOME_KEY, "solana:litesvm")
    good = Anchor(bound.id, "5" * 88, 7, 2, led.root(2).hex())
    wrong_root = Anchor(bound.id, "6" * 88, 7, 3, led.root(2).hex())
    no_binding = Anchor(led.at(0).id, "7" * 88, 7, 1, led.root(1).hex())
    at = [a.index for a in led.append([(good, None), (wrong_root, None), (no_binding, None)])]
    problems = led.verify().problems
    assert [(p.where, p.at) for p in problems] == [("entry", str(at[2])), ("entry", str(at[1]))]
    assert problems[0].message.startswith(f"anchor names {led.at(0).id} as its key binding")
    assert problems[1].message == (
        f"anchor holds root {led.root(2).hex()} at size 3, but the log's root at that size is "
        f"{led.root(3).hex()}"
    )


def test_commands_without_the_extra_say_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, led: Ledger, tmp_path: Path, cli: Cli
) -> None:
    for name in [m for m in sys.modules if m == "solders" or m.startswith("solders.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "solders", None)
    led.close()
    for args in (
        ("ledger", "anchor", "--litesvm"),
        ("ledger", "verify-anchor", "abc", "--rpc", "x"),
    ):
        code, _, err = cli(*args, db=tmp_path / "k.db")
        assert code == 2 and "pip install 'keel[solana]'" in err
    assert json.loads(cli.ok("ledger", "verify", "--json", db=tmp_path / "k.db"))["ok"]


@pytest.mark.extra
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_verify_anchor_reads_any_transaction_file_without_a_traceback(
    solders: Any, led: Ledger, tmp_path: Path, cli: Cli, data: st.DataObject
) -> None:
    """A transaction file is user input: any bytes give exit 2 or 3 (0 only for the real
    transaction), one clean message, and the ledger unchanged."""
    db, tx = tmp_path / "k.db", tmp_path / "tx.bin"
    if not tx.exists():
        led.close()
        done = cli.json("ledger", "anchor", "--litesvm", "-o", str(tx), db=db)
        (tmp_path / "anchor.id").write_text(done["anchor"])
    real = tx.read_bytes()
    anchor_id = (tmp_path / "anchor.id").read_text()
    size = cli.json("ledger", "info", db=db)["size"]
    raw = data.draw(
        st.one_of(
            st.binary(max_size=400),
            st.builds(
                lambda i, b: real[:i] + bytes([b]) + real[i + 1 :],
                st.integers(0, len(real) - 1),
                st.integers(0, 255),
            ),
            st.integers(0, len(real)).map(lambda n: real[:n]),
        )
    )
    given_tx = tmp_path / "given.bin"
    given_tx.write_bytes(raw)
    code, _, err = cli("ledger", "verify-anchor", anchor_id, "--transaction", str(given_tx), db=db)
    assert code in ((0,) if raw == real else (2, 3)), err
    assert "Traceback" not in err
    assert cli.json("ledger", "info", db=db)["size"] == size
