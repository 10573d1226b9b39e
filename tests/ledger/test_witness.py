"""c2sp.org/tlog-witness and tlog-cosignature: keel's witness over HTTP on loopback, its state,
split views, races, quorum checks, and the log's side (`witness_ledger`)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keel.errors import InputError, ServiceError, VerificationError
from keel.ledger import Ledger, open_checkpoint
from keel.ledger.checkpoint import Checkpoint, sign_checkpoint
from keel.ledger.merkle import EMPTY_ROOT, Hash, Node, consistency_proof, leaf_hash, root_of
from keel.ledger.note import Signer, generate_key, parse_signer, sign_note, split_note
from keel.ledger.witness import (
    SIZE_CONTENT_TYPE,
    AddCheckpoint,
    Cosigner,
    CosignerKey,
    Witness,
    WitnessState,
    check_quorum,
    generate_cosigner_key,
    load_cosigner,
    parse_cosigner,
    parse_cosigner_key,
    serve,
    witness_ledger,
)

ORIGIN = "example.com/witnessed"
NOW = 1_767_225_600  # 2026-01-01T00:00:00Z


def leaves(n: int, tag: str = "") -> list[Hash]:
    return [leaf_hash(f"entry {i}{tag}".encode()) for i in range(n)]


def read_from(hashes: Sequence[Hash]) -> Callable[[Sequence[Node]], list[Hash]]:
    """A HashReader over an in-memory list of leaf hashes."""
    return lambda nodes: [root_of(hashes[n << lv : (n + 1) << lv]) for lv, n in nodes]


@dataclass
class Log:
    """A toy log signed with a note key: its leaf hashes, checkpoints and consistency proofs."""

    signer: Signer
    hashes: list[Hash]

    def note(self, size: int) -> bytes:
        root = root_of(self.hashes[:size]) if size else EMPTY_ROOT
        return sign_checkpoint(Checkpoint(self.signer.name, size, root), self.signer)

    def request(self, old: int, size: int) -> bytes:
        proof = consistency_proof(old, size, read_from(self.hashes))
        return AddCheckpoint(old, tuple(proof), self.note(size)).format()


def new_log(origin: str = ORIGIN, n: int = 40, tag: str = "") -> Log:
    skey, _ = generate_key(origin)
    return Log(parse_signer(skey), leaves(n, tag))


@pytest.fixture
def log() -> Log:
    return new_log()


@pytest.fixture
def wkey() -> CosignerKey:
    return parse_cosigner_key(generate_cosigner_key("witness.example/w1")[0])


@pytest.fixture
def state(tmp_path: Path, wkey: CosignerKey) -> WitnessState:
    return WitnessState.create(tmp_path / "witness.db", wkey.cosigner())


@pytest.fixture
def witness(wkey: CosignerKey, log: Log, state: WitnessState) -> Witness:
    return Witness(wkey, [log.signer.verifier()], state, clock=lambda: NOW)


@contextmanager
def running(witness: Witness) -> Iterator[str]:
    """`witness` served on loopback in a thread; yields its base URL."""
    server = serve(witness, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def url(witness: Witness) -> Iterator[str]:
    with running(witness) as base:
        yield base


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str | None


def post(base: str, body: bytes, path: str = "/add-checkpoint", method: str = "POST") -> Reply:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(method, path, body=body if method == "POST" else None)
        response = conn.getresponse()
        return Reply(response.status, response.read(), response.getheader("Content-Type"))
    finally:
        conn.close()


def held(state: WitnessState, origin: str = ORIGIN) -> tuple[int, bytes]:
    """The (size, root) the witness holds for `origin`, which it must hold."""
    h = state.held(origin)
    assert h is not None, f"the witness holds nothing for {origin}"
    return h.size, h.root


# -- keys and cosignatures -------------------------------------------------------------------
def test_cosigner_key_strings_round_trip_with_type_0x04() -> None:
    skey, vkey = generate_cosigner_key("witness.example/w1")
    key = parse_cosigner_key(skey)
    assert key.cosigner().vkey == vkey == parse_cosigner(vkey).vkey
    name, kid, b64 = vkey.split("+", 2)
    raw = base64.b64decode(b64)
    assert raw[0] == 0x04 and len(raw) == 33
    # key ID = SHA-256(name || "\n" || 0x04 || public key)[:4] (tlog-cosignature, "Format")
    assert kid == hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4].hex()


def test_cosigner_keys_refuse_note_keys_and_edited_ids() -> None:
    _, note_vkey = generate_key("witness.example/w1")
    with pytest.raises(InputError, match="expected 0x04"):
        parse_cosigner(note_vkey)
    _, vkey = generate_cosigner_key("witness.example/w1")
    name, kid, b64 = vkey.split("+", 2)
    with pytest.raises(InputError, match="does not match"):
        parse_cosigner(f"{name}+{int(kid, 16) ^ 1:08x}+{b64}")
    with pytest.raises(InputError, match="neither a witness key"):
        load_cosigner("no-such-file")


def test_a_200_answer_is_a_cosignature_v1_checked_with_plain_ed25519(
    url: str, log: Log, wkey: CosignerKey
) -> None:
    note = log.note(5)
    reply = post(url, AddCheckpoint(0, (), note).format())
    assert reply.status == 200, reply.body
    assert reply.body.endswith(b"\n") and reply.body.count(b"\n") == 1
    name, blob = reply.body.decode().removeprefix("\u2014 ").split(" ")
    raw = base64.b64decode(blob)
    assert name == wkey.name and len(raw) == 4 + 8 + 64
    public = wkey.cosigner().public_key
    assert raw[:4] == hashlib.sha256(name.encode() + b"\n\x04" + public).digest()[:4]
    assert int.from_bytes(raw[4:12], "big") == NOW
    body = split_note(note)[0].encode()
    message = b"cosignature/v1\ntime " + str(NOW).encode() + b"\n" + body
    Ed25519PublicKey.from_public_bytes(public).verify(raw[12:], message)  # raises if invalid
    # The note with the answer appended opens with the log key and carries the cosignature.
    cosigned = note + reply.body
    assert open_checkpoint(cosigned, log.signer.verifier()).size == 5
    [found] = check_quorum(cosigned, [wkey.cosigner()], 1)
    assert found.timestamp == NOW


# -- every status of add-checkpoint ----------------------------------------------------------
def test_409_names_the_held_size_then_the_proof_from_it_is_cosigned(
    url: str, log: Log, state: WitnessState
) -> None:
    assert post(url, log.request(0, 8)).status == 200
    reply = post(url, log.request(0, 13))
    assert (reply.status, reply.body, reply.content_type) == (409, b"8\n", SIZE_CONTENT_TYPE)
    assert held(state)[0] == 8
    assert post(url, log.request(8, 13)).status == 200
    assert held(state) == (13, root_of(log.hashes[:13]))
    # The same checkpoint again (a lost answer): cosigned again, nothing moves.
    assert post(url, log.request(13, 13)).status == 200
    assert held(state)[0] == 13


def test_400_for_malformed_requests_and_an_old_size_above_the_checkpoint(
    url: str, log: Log, state: WitnessState
) -> None:
    note = log.note(5)
    for body in [
        b"",
        b"garbage",
        b"old 01\n\n" + note,
        b"old -1\n\n" + note,
        b"old 0\n" + note,  # no blank line
        b"old 0\nnot base64!\n\n" + note,
        b"old 0\n" + base64.b64encode(b"x" * 31) + b"\n\n" + note,
        b"old 0\n\n" + note.replace(b"\n5\n", b"\nfive\n"),
        b"old 0\n"
        + b"".join(base64.b64encode(bytes(32)) + b"\n" for _ in range(64))
        + b"\n"
        + note,
    ]:
        assert post(url, body).status == 400, body
    assert post(url, AddCheckpoint(6, (), note).format()).status == 400
    assert state.held(ORIGIN) is None


def test_403_without_a_valid_signature_by_a_trusted_log_key(url: str, log: Log) -> None:
    text, _ = split_note(log.note(5))
    impostor = parse_signer(generate_key(ORIGIN)[0])  # same origin, another key
    assert post(url, AddCheckpoint(0, (), sign_note(text, impostor)).format()).status == 403
    good = log.note(5)
    sig_at = good.rindex(b" ") + 1  # the log's signature: its last byte flipped
    blob = bytearray(base64.b64decode(good[sig_at:-1]))
    blob[-1] ^= 1
    forged = good[:sig_at] + base64.b64encode(bytes(blob)) + b"\n"
    assert post(url, AddCheckpoint(0, (), forged).format()).status == 403
    # A trusted signature among unknown ones is enough: unknown keys are ignored.
    other = parse_signer(generate_key("example.org/other")[0])
    both = sign_note(text, other, log.signer)
    assert post(url, AddCheckpoint(0, (), both).format()).status == 200


def test_404_for_a_log_the_witness_does_not_know(url: str) -> None:
    stranger = new_log("example.org/stranger")
    assert post(url, stranger.request(0, 3)).status == 404


def test_422_for_bad_proofs_and_a_wrong_empty_tree(url: str, log: Log, state: WitnessState) -> None:
    assert post(url, log.request(0, 4)).status == 200
    proof = consistency_proof(4, 9, read_from(log.hashes))
    bad = (proof[0], Hash(bytes(32)), *proof[2:])
    assert post(url, AddCheckpoint(4, bad, log.note(9)).format()).status == 422
    assert post(url, AddCheckpoint(4, (), log.note(9)).format()).status == 422
    assert held(state) == (4, root_of(log.hashes[:4]))
    assert len(state.evidence(ORIGIN)) == 2


def test_422_from_size_zero_with_a_proof_or_an_empty_tree_with_a_root(
    wkey: CosignerKey, tmp_path: Path
) -> None:
    log = new_log()
    state = WitnessState.create(tmp_path / "w.db", wkey.cosigner())
    witness = Witness(wkey, [log.signer.verifier()], state, clock=lambda: NOW)
    with_proof = AddCheckpoint(0, (Hash(bytes(32)),), log.note(3)).format()
    assert witness.add_checkpoint(with_proof).status == 422
    not_empty = sign_checkpoint(Checkpoint(ORIGIN, 0, Hash(bytes(32))), log.signer)
    assert witness.add_checkpoint(AddCheckpoint(0, (), not_empty).format()).status == 422
    assert witness.add_checkpoint(AddCheckpoint(0, (), log.note(0)).format()).status == 200
    assert held(state) == (0, EMPTY_ROOT)


def raw_status(base: str, request: bytes) -> int:
    """Send raw HTTP request bytes; the status code of the answer."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        return int(sock.makefile("rb").readline().split()[1])


def test_other_paths_methods_and_sizes(url: str, log: Log) -> None:
    assert post(url, log.request(0, 3), path="/add-checkpoint/x").status == 404
    assert post(url, b"", path="/", method="GET").status == 404
    head = b"POST /add-checkpoint HTTP/1.1\r\nHost: x\r\n"
    assert raw_status(url, head + b"Content-Length: 99999999\r\n\r\n") == 413
    assert raw_status(url, head + b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == 411


def test_the_monitoring_endpoint_serves_the_latest_cosigned_checkpoint(
    url: str, log: Log, wkey: CosignerKey
) -> None:
    path = f"/{hashlib.sha256(ORIGIN.encode()).hexdigest()}/checkpoint"
    assert post(url, b"", path=path, method="GET").status == 404
    other = parse_signer(generate_key("example.org/other")[0])
    note = sign_note(split_note(log.note(7))[0], other, log.signer)
    proof = consistency_proof(0, 7, read_from(log.hashes))
    assert post(url, AddCheckpoint(0, tuple(proof), note).format()).status == 200
    reply = post(url, b"", path=path, method="GET")
    assert reply.status == 200
    # The log's verified signature and the cosignature; not the line by a key it does not know.
    assert [s.name for s in split_note(reply.body)[1]] == [ORIGIN, wkey.name]
    assert open_checkpoint(reply.body, log.signer.verifier()).size == 7
    check_quorum(reply.body, [wkey.cosigner()], 1)


# -- split views -------------------------------------------------------------------------------
def test_a_split_view_is_refused_and_kept_as_evidence(
    url: str, log: Log, state: WitnessState
) -> None:
    """The log's key signs two histories that agree on 10 entries and then differ."""
    fork = Log(log.signer, log.hashes[:10] + leaves(30, "-fork"))
    assert post(url, log.request(0, 12)).status == 200
    before = held(state)
    # Another root for the size the witness cosigned: refused whatever old size comes with it.
    assert post(url, fork.request(12, 12)).status == 422
    assert post(url, fork.request(0, 12)).status == 409
    # A larger tree of the fork, with the fork's own (valid for the fork) proof from 12.
    assert post(url, fork.request(12, 20)).status == 422
    assert held(state) == before
    reasons = [reason for _, reason, _ in state.evidence(ORIGIN)]
    assert reasons[0].startswith("split view") and len(reasons) == 3
    assert all(
        open_checkpoint(note, log.signer.verifier()).root != before[1]
        for _, _, note in state.evidence()
    )
    # The honest history goes on being cosigned.
    assert post(url, log.request(12, 20)).status == 200


def test_a_smaller_tree_after_a_larger_one_is_never_cosigned(url: str, log: Log) -> None:
    assert post(url, log.request(0, 20)).status == 200
    assert post(url, log.request(0, 10)).status == 409
    assert post(url, AddCheckpoint(20, (), log.note(10)).format()).status == 400


# -- races and restarts -------------------------------------------------------------------------
def test_concurrent_requests_from_the_same_old_size_exactly_one_wins(
    url: str, log: Log, state: WitnessState
) -> None:
    assert post(url, log.request(0, 5)).status == 200
    bodies = [log.request(5, size) for size in range(6, 30)]
    barrier = threading.Barrier(len(bodies))
    statuses: dict[int, int] = {}

    def send(i: int) -> None:
        barrier.wait()
        statuses[i] = post(url, bodies[i]).status

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses.values()) == [200] + [409] * (len(bodies) - 1)
    winner = 6 + next(i for i, s in statuses.items() if s == 200)
    assert held(state) == (winner, root_of(log.hashes[:winner]))


def test_two_servers_on_one_state_file_cannot_both_win(
    witness: Witness, log: Log, wkey: CosignerKey, tmp_path: Path
) -> None:
    """A second witness process on the same file: BEGIN IMMEDIATE and the compare-and-swap
    serialise them."""
    twin = Witness(wkey, [log.signer.verifier()], WitnessState(witness.state.path, wkey.cosigner()))
    with running(witness) as a, running(twin) as b:
        barrier = threading.Barrier(2)
        results: list[int] = []

        def send(base: str, size: int) -> None:
            barrier.wait()
            results.append(post(base, log.request(0, size)).status)

        threads = [
            threading.Thread(target=send, args=(a, 7)),
            threading.Thread(target=send, args=(b, 9)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(results) == [200, 409]


def test_the_state_survives_a_restart_and_is_never_replaced(
    witness: Witness, log: Log, wkey: CosignerKey
) -> None:
    with running(witness) as base:
        assert post(base, log.request(0, 11)).status == 200
    path = witness.state.path
    with pytest.raises(InputError, match="already exists"):
        WitnessState.create(path, wkey.cosigner())
    again = Witness(wkey, [log.signer.verifier()], WitnessState(path, wkey.cosigner()))
    with running(again) as base:
        reply = post(base, log.request(0, 15))
        assert (reply.status, reply.body) == (409, b"11\n")
    other = parse_cosigner_key(generate_cosigner_key("witness.example/w2")[0])
    with pytest.raises(InputError, match="belongs to witness key"):
        WitnessState(path, other.cosigner())
    with pytest.raises(InputError, match="does not exist"):
        WitnessState(path.with_name("lost.db"), wkey.cosigner())


# -- fuzzing -----------------------------------------------------------------------------------
_VALID = new_log("example.com/fuzz")


def _mutations() -> st.SearchStrategy[bytes]:
    valid = _VALID.request(0, 9)
    return st.one_of(
        st.binary(max_size=600),
        st.tuples(st.integers(0, len(valid) - 1), st.binary(min_size=1, max_size=8)).map(
            lambda m: valid[: m[0]] + m[1] + valid[m[0] + len(m[1]) :]
        ),
        st.integers(0, len(valid)).map(lambda cut: valid[:cut]),
        st.lists(st.sampled_from(valid.split(b"\n")), max_size=12).map(b"\n".join),
    )


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=_mutations())
def test_any_bytes_get_a_4xx_and_change_nothing(
    body: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    key = _fuzz_key()
    path = tmp_path_factory.mktemp("fuzz") / "w.db"
    state = WitnessState.create(path, key.cosigner())
    witness = Witness(key, [_VALID.signer.verifier()], state, clock=lambda: NOW)
    assert witness.add_checkpoint(_VALID.request(0, 4)).status == 200
    answer = witness.add_checkpoint(body)
    if answer.status == 200:  # only a real, consistent checkpoint of the log gets cosigned
        assert open_checkpoint(AddCheckpoint.parse(body).checkpoint, _VALID.signer.verifier())
        return
    assert 400 <= answer.status < 500, answer
    assert held(state, "example.com/fuzz") == (4, root_of(_VALID.hashes[:4]))


_FUZZ_KEY: list[CosignerKey] = []


def _fuzz_key() -> CosignerKey:
    if not _FUZZ_KEY:
        _FUZZ_KEY.append(parse_cosigner_key(generate_cosigner_key("witness.example/fuzz")[0]))
    return _FUZZ_KEY[0]


def test_fuzzed_bytes_over_http_get_a_4xx(url: str, log: Log, state: WitnessState) -> None:
    assert post(url, log.request(0, 3)).status == 200
    valid = log.request(3, 9)
    for cut in range(0, len(valid), 7):
        body = valid[:cut] + b"\xff" + valid[cut + 1 :]
        assert 400 <= post(url, body).status < 500
    assert held(state)[0] == 3


# -- quorum ------------------------------------------------------------------------------------
def test_check_quorum_counts_valid_cosignatures_by_the_given_keys(log: Log) -> None:
    keys = [parse_cosigner_key(generate_cosigner_key(f"w{i}.example/w")[0]) for i in range(3)]
    cosigners = [k.cosigner() for k in keys]
    note = log.note(6)
    text = split_note(note)[0]
    cosigned = note + b"".join(
        k.cosign(text, NOW + i).line().encode() for i, k in enumerate(keys[:2])
    )
    assert [c.timestamp for c in check_quorum(cosigned, cosigners, 2)] == [NOW, NOW + 1]
    with pytest.raises(VerificationError, match=r"only 2 of the 3 .* w2\.example/w \(none\)"):
        check_quorum(cosigned, cosigners, 3)
    # A line by a known key that does not verify (another checkpoint's cosignature) counts nothing.
    stale = keys[2].cosign(split_note(log.note(5))[0], NOW).line().encode()
    with pytest.raises(VerificationError, match="invalid cosignature"):
        check_quorum(cosigned + stale, cosigners, 3)
    with pytest.raises(InputError, match="impossible"):
        check_quorum(cosigned, cosigners, 4)
    assert check_quorum(cosigned, cosigners[:1], 1)[0].cosigner == cosigners[0]


def test_a_note_signature_by_the_same_seed_is_not_a_cosignature(log: Log) -> None:
    """Type 0x04 gives another key ID than 0x01 and another message: a plain note signature by
    the witness's own seed is not taken for a cosignature."""
    key = parse_cosigner_key(generate_cosigner_key("w.example/w")[0])
    public = key.cosigner().public_key
    kid = hashlib.sha256(key.name.encode() + b"\n\x01" + public).digest()[:4]
    plain = Signer(key.name, int.from_bytes(kid, "big"), key.seed)
    note = log.note(6)
    with_plain = note + sign_note(split_note(note)[0], plain).split(b"\n\n")[-1]
    with pytest.raises(VerificationError, match=r"w\.example/w \(none\)"):
        check_quorum(with_plain, [key.cosigner()], 1)


# -- the log's side ----------------------------------------------------------------------------
@pytest.fixture
def witnesses(ledger: Ledger, tmp_path: Path) -> Iterator[tuple[list[str], list[Cosigner]]]:
    """Three keel witnesses of the `ledger` fixture's log, served on loopback."""
    urls: list[str] = []
    cosigners: list[Cosigner] = []
    with contextlib.ExitStack() as stack:
        for i in range(3):
            key = parse_cosigner_key(generate_cosigner_key(f"w{i}.example/w")[0])
            state = WitnessState.create(tmp_path / f"w{i}.db", key.cosigner())
            urls.append(stack.enter_context(running(Witness(key, [ledger.verifier()], state))))
            cosigners.append(key.cosigner())
        yield urls, cosigners


def test_witness_ledger_stores_a_new_cosigned_checkpoint_row(
    ledger: Ledger,
    witnesses: tuple[list[str], list[Cosigner]],
    fill_ledger: Callable[..., object],
) -> None:
    urls, cosigners = witnesses
    fill_ledger(ledger, 5)
    report = witness_ledger(ledger, urls, cosigners)
    assert report.checkpoint.size == 5 and not report.failed
    rows = ledger.store.checkpoints()
    assert [size for size, _ in rows] == [5, 5]
    assert rows[1][1].startswith(rows[0][1]) and rows[1][1] == report.note
    assert len(check_quorum(report.note, cosigners, 3)) == 3
    # The log grows: the witnesses answer 409 with 5, the client proves 5 -> 12 and retries.
    fill_ledger(ledger, 7, start=5)
    report = witness_ledger(ledger, urls, cosigners)
    assert report.checkpoint.size == 12
    # A receipt for an entry carries the cosignatures; the ledger still verifies.
    bundle = ledger.prove(ledger.at(3).id)
    assert len(check_quorum(bundle.checkpoint, cosigners, 3)) == 3
    assert ledger.verify(ledger.verifier()).ok
    # Asking again at the same size adds no row (the lines are there already).
    count = len(ledger.store.checkpoints())
    witness_ledger(ledger, urls, cosigners)
    assert len(ledger.store.checkpoints()) == count


def test_witness_ledger_fails_below_quorum_and_stores_nothing(
    ledger: Ledger,
    witnesses: tuple[list[str], list[Cosigner]],
    fill_ledger: Callable[..., object],
) -> None:
    urls, cosigners = witnesses
    fill_ledger(ledger, 4)
    stranger = parse_cosigner_key(generate_cosigner_key("stranger.example/w")[0]).cosigner()
    down = "http://127.0.0.1:9"  # discard port: nothing listens
    with pytest.raises(ServiceError, match=r"only 2 of the 3 .*cannot reach http://127\.0\.0\.1:9"):
        witness_ledger(ledger, [*urls[:2], down], cosigners)
    with pytest.raises(ServiceError, match="no valid cosignature by the --witness-key"):
        witness_ledger(ledger, urls[:1], [stranger])
    with pytest.raises(ServiceError, match="only 1 of the 2"):  # one witness under two URLs
        witness_ledger(ledger, [urls[0], urls[0] + "/"], cosigners)
    assert len(ledger.store.checkpoints()) == 1
    report = witness_ledger(ledger, [*urls[:2], down], cosigners, quorum=2)
    assert list(report.failed) == [down] and len(report.cosigned) == 2
    with pytest.raises(VerificationError, match=r"w2\.example/w \(none\)"):
        check_quorum(report.note, cosigners, 3)


def test_a_witness_ahead_of_the_ledger_is_reported(
    ledger: Ledger, witnesses: tuple[list[str], list[Cosigner]], fill_ledger: Callable[..., object]
) -> None:
    """A witness that cosigned a larger tree of this origin: the ledger was rolled back."""
    urls, cosigners = witnesses
    fill_ledger(ledger, 6)
    assert ledger.key_path is not None
    signer = parse_signer(ledger.key_path.read_text())
    ahead = Log(signer, [leaf_hash(e) for e in (ledger.at(i).raw for i in range(6))] + leaves(4))
    assert post(urls[0], ahead.request(0, 10)).status == 200
    with pytest.raises(ServiceError, match="already cosigned size 10"):
        witness_ledger(ledger, urls[:1], cosigners)
