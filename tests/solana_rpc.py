"""A real HTTP server on 127.0.0.1 that answers Solana JSON-RPC from a LiteSVM chain, for tests.

It serves the four methods `keel.ledger.anchor.RpcChain` calls, with the shapes of
https://solana.com/docs/rpc/http: getGenesisHash (a fixed hash, `genesis`), getLatestBlockhash,
sendTransaction (base64; the transaction runs on LiteSVM, with the real Memo program, an unfunded
fee payer is funded unless `fund` is False, and a failed transaction is answered with a
JSON-RPC error, as preflight does) and getTransaction (base64,
null for an unknown signature). `slot` is reported for every landed transaction.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from solders.litesvm import LiteSVM
from solders.transaction import VersionedTransaction

DEVNET_GENESIS = "EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG"


@dataclass
class FakeCluster:
    """The chain behind the server and what it holds; `url` is what a client passes."""

    genesis: str = DEVNET_GENESIS
    fund: bool = True
    """Airdrop SOL to a fee payer that has none, as a faucet would (False: leave it empty)."""
    slot: int = 4242
    block_time: int = 1_765_000_000
    svm: LiteSVM = field(default_factory=LiteSVM)
    landed: dict[str, bytes] = field(default_factory=dict)
    methods: list[str] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, method: str, params: list[Any]) -> Any:
        """The `result` of one call; raises ValueError for a JSON-RPC error."""
        if method == "getGenesisHash":
            return self.genesis
        if method == "getLatestBlockhash":
            return {
                "context": {"slot": self.slot},
                "value": {"blockhash": str(self.svm.latest_blockhash()), "lastValidBlockHeight": 1},
            }
        if method == "sendTransaction":
            raw = base64.b64decode(params[0])
            tx = VersionedTransaction.from_bytes(raw)
            payer = tx.message.account_keys[0]
            if self.fund and not self.svm.get_balance(payer):
                self.svm.airdrop(payer, 1_000_000_000)
            result = self.svm.send_transaction(tx)
            if hasattr(result, "err"):
                raise ValueError(f"Transaction simulation failed: {result.err}")
            self.landed[str(tx.signatures[0])] = raw
            return str(tx.signatures[0])
        if method == "getTransaction":
            raw = self.landed.get(params[0])
            if raw is None:
                return None
            return {
                "slot": self.slot,
                "blockTime": self.block_time,
                "transaction": [base64.b64encode(raw).decode(), "base64"],
                "meta": {"err": None, "fee": 5000},
                "version": "legacy",
            }
        raise ValueError(f"Method not found: {method}")


@contextmanager
def solana_rpc(cluster: FakeCluster | None = None) -> Iterator[FakeCluster]:
    """Serve `cluster` (a fresh one by default) on a free loopback port while in the block."""
    state = cluster or FakeCluster()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                state.methods.append(body["method"])
                try:
                    reply = {"result": state.answer(body["method"], body["params"])}
                except ValueError as exc:
                    reply = {"error": {"code": -32002, "message": str(exc)}}
            data = json.dumps({"jsonrpc": "2.0", "id": body["id"], **reply}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
