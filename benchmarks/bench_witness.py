"""add-checkpoint requests per second that keel's witness answers on loopback (issue 19).

    .venv/bin/python benchmarks/bench_witness.py --requests 500 --runs 5 --clients 1

Each client is a log of its own (its own origin and key) that sends, over one keep-alive HTTP/1.1
connection, `--requests` add-checkpoint requests in a row, each one entry larger than the last,
with the consistency proof from the previous size: every request is verified (log signature,
proof), committed to the witness's SQLite state (synchronous=FULL) and cosigned. Bodies are
built before the clock starts. Prints each run's rate and the median of `--runs` runs; every
answer must be 200. Target: at least 50 requests per second.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import tempfile
import threading
import time
from pathlib import Path

from keel.ledger.checkpoint import Checkpoint, sign_checkpoint
from keel.ledger.merkle import Hash, Node, consistency_proof, leaf_hash, root_of
from keel.ledger.note import Signer, generate_key, parse_signer
from keel.ledger.witness import (
    AddCheckpoint,
    Witness,
    WitnessState,
    generate_cosigner_key,
    parse_cosigner_key,
    serve,
)


def bodies(signer: Signer, count: int) -> list[bytes]:
    """`count` requests of one log growing 1, 2, ... entries, each proved from the last size."""
    leaves = [leaf_hash(f"{signer.name} entry {i}".encode()) for i in range(count)]
    # Each node hash once: the stored hashes a log would read.
    memo: dict[Node, Hash] = {}

    def read(nodes: list[Node]) -> list[Hash]:
        for lv, n in nodes:
            if (lv, n) not in memo:
                memo[lv, n] = root_of(leaves[n << lv : (n + 1) << lv])
        return [memo[node] for node in nodes]

    out = []
    for size in range(1, count + 1):
        note = sign_checkpoint(Checkpoint(signer.name, size, root_of(leaves[:size])), signer)
        proof = consistency_proof(size - 1, size, read)  # type: ignore[arg-type]
        out.append(AddCheckpoint(size - 1, tuple(proof), note).format())
    return out


def client(port: int, requests: list[bytes], statuses: list[int]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for body in requests:
        conn.request("POST", "/add-checkpoint", body=body)
        response = conn.getresponse()
        response.read()
        statuses.append(response.status)
    conn.close()


def run(requests: int, clients: int, folder: Path) -> float:
    """Requests per second of one run with a fresh witness state."""
    signers = [parse_signer(generate_key(f"example.com/log{i}")[0]) for i in range(clients)]
    work = [bodies(s, requests) for s in signers]
    key = parse_cosigner_key(generate_cosigner_key("witness.example/bench")[0])
    state = WitnessState.create(folder / f"witness-{time.monotonic_ns()}.db", key.cosigner())
    server = serve(Witness(key, [s.verifier() for s in signers], state))
    port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    statuses: list[int] = []
    threads = [threading.Thread(target=client, args=(port, w, statuses)) for w in work]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    server.shutdown()
    server.server_close()
    if statuses != [200] * (requests * clients):
        raise SystemExit(f"not every request was cosigned: {sorted(set(statuses))}")
    return requests * clients / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="requests per client per run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clients", type=int, default=1, help="logs sending at the same time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rates = []
        for i in range(args.runs):
            rate = run(args.requests, args.clients, Path(tmp))
            rates.append(rate)
            print(f"run {i + 1}: {rate:,.0f} add-checkpoint requests/s")
    print(
        f"median of {args.runs} runs: {statistics.median(rates):,.0f} requests/s "
        f"({args.clients} client(s) x {args.requests} requests; target >= 50/s)"
    )


if __name__ == "__main__":
    main()
