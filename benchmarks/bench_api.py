"""Requests per second of the served-model client (`keel.models.ServedModel`) against a local
OpenAI-compatible server that answers instantly: the client's own overhead. The server
(`tests/openai_server.py`) runs in another process so that it does not share the client's GIL.
Prints the median of the runs without a cache, writing to the on-disk cache, and reading it back.

    python benchmarks/bench_api.py [--requests 2000] [--concurrency 32] [--repeats 3]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

from keel.models import ServedModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from openai_server import serve


def _server(conn: Connection) -> None:
    with serve() as fake:
        conn.send(fake.base_url)
        conn.recv()


def _rate(model: ServedModel, prompts: list[str]) -> float:
    start = time.perf_counter()
    model.generate(prompts)
    return len(prompts) / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    parent, child = mp.Pipe()
    proc = mp.Process(target=_server, args=(child,), daemon=True)
    proc.start()
    url = parent.recv()
    try:
        figures: dict[str, list[float]] = {"no cache": [], "cache write": [], "cache hits": []}
        with tempfile.TemporaryDirectory() as tmp:
            for rep in range(args.repeats):
                prompts = [f"prompt {rep} {i}" for i in range(args.requests)]
                plain = ServedModel(url, "bench", concurrency=args.concurrency)
                figures["no cache"].append(_rate(plain, prompts))
                cached = ServedModel(
                    url, "bench", concurrency=args.concurrency, cache=Path(tmp) / f"c{rep}.sqlite"
                )
                figures["cache write"].append(_rate(cached, [p + " c" for p in prompts]))
                figures["cache hits"].append(_rate(cached, [p + " c" for p in prompts]))
    finally:
        parent.send("stop")
        proc.join(5)
    print(f"{args.requests} requests, concurrency {args.concurrency}, {args.repeats} runs")
    for name, rates in figures.items():
        runs = ", ".join(f"{r:,.0f}" for r in rates)
        print(f"{name:>12}: median {statistics.median(rates):,.0f} requests/s ({runs})")


if __name__ == "__main__":
    main()
