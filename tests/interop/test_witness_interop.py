"""Witnessing with implementations other than keel's (c2sp.org/tlog-witness, tlog-cosignature).

- aics-witness 0.1.0 (PyPI, Python >= 3.12, its own note and proof code in aics-tlog) cosigns
  keel's checkpoints through `keel ledger witness`, keel checks its cosignatures, and it refuses
  a fork of a keel ledger;
- aics-tlog's `verify-checkpoint` checks the cosignatures keel's witness makes;
- keel's witness cosigns the checkpoints of a real Tessera log (tests/vectors/tlog-tiles/log,
  written by transparency-dev/tessera) with consistency proofs computed from its tiles, and
  refuses forged ones.

aics-witness lives in its own virtual environment, .venv-witness at the repository root (or
$KEEL_WITNESS_VENV)::

    python3.12 -m venv .venv-witness && .venv-witness/bin/pip install aics-witness==0.1.0

Without it the aics tests are skipped, unless KEEL_REQUIRE_WITNESS=1 (then they fail); .ci/run
installs it and sets that flag. The Tessera tests need nothing and always run.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from keel.errors import ServiceError
from keel.ledger import Ledger
from keel.ledger.checkpoint import Checkpoint, sign_checkpoint
from keel.ledger.merkle import Hash, consistency_proof, root_of
from keel.ledger.note import parse_signer, parse_verifier, split_note
from keel.ledger.witness import (
    AddCheckpoint,
    CosignerKey,
    Witness,
    WitnessState,
    check_quorum,
    generate_cosigner_key,
    parse_cosigner,
    parse_cosigner_key,
    serve,
    witness_ledger,
)
from keel.records import text_record

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors"
TESSERA_DIR = VECTORS / "tlog-tiles" / "log"
TESSERA = json.loads((VECTORS / "signed-note" / "vectors.json").read_text())["tessera_test_log"]
SKIP_REASON = (
    "aics-witness is not installed: python3.12 -m venv .venv-witness && "
    ".venv-witness/bin/pip install aics-witness==0.1.0 (.ci/run does)"
)
START_TIMEOUT = 20


@dataclass(frozen=True)
class Aics:
    """The aics-witness virtual environment's commands."""

    bin: Path

    def run(self, *args: str, cwd: Path) -> str:
        proc = subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, f"{' '.join(args)}: {proc.stderr}{proc.stdout}"
        return proc.stdout


@pytest.fixture(scope="session")
def aics() -> Aics:
    venv = Path(os.environ.get("KEEL_WITNESS_VENV", ROOT / ".venv-witness"))
    if not (venv / "bin" / "aics-witness").is_file():
        if os.environ.get("KEEL_REQUIRE_WITNESS") == "1":
            pytest.fail(f"{venv}/bin/aics-witness is missing: {SKIP_REASON}", pytrace=False)
        pytest.skip(f"{venv}/bin/aics-witness is missing: {SKIP_REASON}")
    return Aics(venv / "bin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class AicsWitness:
    """A running aics-witness: its URL and its cosigner key."""

    url: str
    vkey: str


@contextlib.contextmanager
def aics_witness(aics: Aics, tmp: Path, logs: dict[str, str]) -> Iterator[AicsWitness]:
    """aics-witness set up with `init` and `add-log` (origin -> log vkey), served on loopback."""
    config = tmp / "aics" / "witness.json"
    vkey = aics.run(
        "aics-witness", "init", "--config", str(config), "--name", "aics.example/w1", cwd=tmp
    )
    for origin, log_vkey in logs.items():
        aics.run(
            "aics-witness",
            "add-log",
            "--config",
            str(config),
            "--origin",
            origin,
            "--vkey",
            log_vkey,
            cwd=tmp,
        )
    port = free_port()
    proc = subprocess.Popen(
        [
            str(aics.bin / "aics-witness"),
            "serve",
            "--config",
            str(config),
            "--listen",
            f"127.0.0.1:{port}",
        ],
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    _, err = proc.communicate(timeout=5)
                    pytest.fail(f"aics-witness serve did not start: {err.decode()}", pytrace=False)
                time.sleep(0.1)
        yield AicsWitness(url, vkey.strip())
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def grow(led: Ledger, n: int, tag: str = "") -> None:
    start = led.size
    led.append([text_record(f"record {i}{tag}", "human") for i in range(start, start + n)])


# -- aics-witness cosigns keel's checkpoints ---------------------------------------------------
def test_aics_witness_cosigns_keel_checkpoints_and_keel_checks_them(
    aics: Aics, ledger: Ledger, tmp_path: Path
) -> None:
    grow(ledger, 5)
    with aics_witness(aics, tmp_path, {ledger.origin or "": ledger.verifier().vkey}) as w:
        cosigner = parse_cosigner(w.vkey)
        report = witness_ledger(ledger, [w.url], [cosigner])
        assert report.checkpoint.size == 5
        [found] = check_quorum(report.note, [cosigner], 1)
        assert abs(found.timestamp - time.time()) < 60
        # The log grows: aics-witness answers 409 with 5, keel proves 5 -> 12 and retries.
        grow(ledger, 7)
        report = witness_ledger(ledger, [w.url], [cosigner])
        assert report.checkpoint.size == 12
        bundle = ledger.prove(ledger.at(9).id)
        assert check_quorum(bundle.checkpoint, [cosigner], 1)


def test_aics_witness_refuses_a_fork_of_a_keel_ledger(
    aics: Aics, ledger: Ledger, tmp_path: Path
) -> None:
    """A second ledger under the same key that agrees on 4 entries and then differs."""
    assert ledger.key_path is not None
    grow(ledger, 4)
    (tmp_path / "fork.key").write_text(ledger.key_path.read_text())
    with Ledger.open(tmp_path / "fork.db", key_path=tmp_path / "fork.key") as fork:
        with fork.store.write():  # the same origin and key, as a forger holding the key would
            fork.store.set_meta("origin", ledger.origin or "")
            fork.store.set_meta("verifier_key", ledger.verifier().vkey)
        fork.append([text_record(f"record {i}", "human") for i in range(4)])
        grow(ledger, 3)
        fork.append([text_record(f"forged {i}", "human") for i in range(3)])
        with aics_witness(aics, tmp_path, {ledger.origin or "": ledger.verifier().vkey}) as w:
            cosigner = parse_cosigner(w.vkey)
            witness_ledger(ledger, [w.url], [cosigner])
            with pytest.raises(ServiceError, match="answered 422"):
                witness_ledger(fork, [w.url], [cosigner])


# -- aics-tlog checks keel's cosignatures ------------------------------------------------------
def test_aics_tlog_verifies_the_cosignatures_keel_witness_makes(
    aics: Aics, ledger: Ledger, tmp_path: Path
) -> None:
    grow(ledger, 6)
    keys = [parse_cosigner_key(generate_cosigner_key(f"w{i}.example/keel")[0]) for i in range(2)]
    with contextlib.ExitStack() as stack:
        urls = [
            stack.enter_context(served(k, ledger, tmp_path / f"w{i}.db"))
            for i, k in enumerate(keys)
        ]
        report = witness_ledger(ledger, urls, [k.cosigner() for k in keys])
    note = tmp_path / "cosigned.note"
    note.write_bytes(report.note)

    def verify(*extra: str) -> dict[str, object]:
        out = subprocess.run(
            [
                str(aics.bin / "aics-tlog"),
                "verify-checkpoint",
                "--note",
                str(note),
                "--origin",
                ledger.origin or "",
                "--log-key",
                ledger.verifier().vkey,
                *(a for k in keys for a in ("--witness-key", k.cosigner().vkey)),
                *extra,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        ).stdout
        return dict(json.loads(out))

    result = verify("--quorum", "2")
    assert result["ok"] is True, result
    assert result["witnesses"] in (
        ["w0.example/keel", "w1.example/keel"],
        ["w1.example/keel", "w0.example/keel"],
    )
    # One cosignature byte flipped: aics-tlog names the witness whose cosignature fails.
    text = report.note.decode()
    line = next(ln for ln in text.splitlines() if ln.startswith("\u2014 w0.example/keel "))
    blob = bytearray(base64.b64decode(line.split(" ")[2]))
    blob[-1] ^= 1
    note.write_text(
        text.replace(line, f"\u2014 w0.example/keel {base64.b64encode(bytes(blob)).decode()}")
    )
    result = verify("--quorum", "2")
    assert result["ok"] is False, result
    assert result["error"] == "cosignature from w0.example/keel failed verification", result


@contextlib.contextmanager
def served(key: CosignerKey, ledger: Ledger, state: Path) -> Iterator[str]:
    witness = Witness(key, [ledger.verifier()], WitnessState.create(state, key.cosigner()))
    server = serve(witness)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# -- keel's witness cosigns a Tessera log --------------------------------------------------------
def tessera_leaves() -> list[Hash]:
    """The 15 leaf hashes of the Tessera log, read from its level-0 tile (c2sp.org/tlog-tiles)."""
    tile = (TESSERA_DIR / "tile" / "0" / "000.p" / "15").read_bytes()
    assert len(tile) == 15 * 32
    return [Hash(tile[i : i + 32]) for i in range(0, len(tile), 32)]


def tessera_proof(old: int, size: int) -> tuple[Hash, ...]:
    hashes = tessera_leaves()
    return tuple(
        consistency_proof(
            old, size, lambda nodes: [root_of(hashes[n << lv : (n + 1) << lv]) for lv, n in nodes]
        )
    )


@pytest.fixture
def tessera_witness(tmp_path: Path) -> Witness:
    key = parse_cosigner_key(generate_cosigner_key("witness.example/tessera")[0])
    state = WitnessState.create(tmp_path / "w.db", key.cosigner())
    return Witness(key, [parse_verifier(TESSERA["verifier_key"])], state)


def test_keel_witness_cosigns_every_tessera_checkpoint(tessera_witness: Witness) -> None:
    cosigner = tessera_witness.key.cosigner()
    old = 0
    for size in range(1, 16):
        note = (TESSERA_DIR / f"checkpoint.{size}").read_bytes()
        answer = tessera_witness.add_checkpoint(
            AddCheckpoint(old, tessera_proof(old, size), note).format()
        )
        assert answer.status == 200, (size, answer)
        check_quorum(note + answer.body, [cosigner], 1)
        old = size
    held = tessera_witness.state.held(TESSERA["verifier_key"].split("+")[0])
    assert held is not None and held.size == 15
    assert (TESSERA_DIR / "checkpoint").read_bytes().startswith(split_note(held.note)[0].encode())


def test_keel_witness_refuses_forged_tessera_checkpoints(tessera_witness: Witness) -> None:
    eight = (TESSERA_DIR / "checkpoint.8").read_bytes()
    assert tessera_witness.add_checkpoint(AddCheckpoint(0, (), eight).format()).status == 200
    signer = parse_signer(TESSERA["private_key"])
    real = Checkpoint.parse(split_note((TESSERA_DIR / "checkpoint.15").read_bytes())[0])
    # Signed by the log's own key but with another root: no proof from 8 leads to it.
    forged = sign_checkpoint(Checkpoint(real.origin, 15, Hash(bytes(32))), signer)
    assert (
        tessera_witness.add_checkpoint(
            AddCheckpoint(8, tessera_proof(8, 15), forged).format()
        ).status
        == 422
    )
    # The real checkpoint with a proof hash changed.
    proof = list(tessera_proof(8, 15))
    proof[0] = Hash(bytes(32))
    body = AddCheckpoint(8, tuple(proof), (TESSERA_DIR / "checkpoint.15").read_bytes()).format()
    assert tessera_witness.add_checkpoint(body).status == 422
    # The real checkpoint with its signature damaged.
    good = (TESSERA_DIR / "checkpoint.15").read_bytes()
    damaged = good[:-6] + (b"A" if good[-6:-5] != b"A" else b"B") + good[-5:]
    assert (
        tessera_witness.add_checkpoint(
            AddCheckpoint(8, tessera_proof(8, 15), damaged).format()
        ).status
        == 403
    )
    held = tessera_witness.state.held(real.origin)
    assert held is not None and held.size == 8
    assert len(tessera_witness.state.evidence(real.origin)) == 2
    # And the honest checkpoint is then cosigned.
    answer = tessera_witness.add_checkpoint(AddCheckpoint(8, tessera_proof(8, 15), good).format())
    assert answer.status == 200
