"""The collapse watch on the local executor and on Ray (issue 20, the [scale] extra).

One generation of `--texts` texts is watched against a reference of as many human texts (both
random 4–30-word windows of the fortune corpus; the generation's from a narrower slice of it),
with the watch's defaults (`keel.collapse.watch`): the reference's anchor half is tokenised,
then the generation and a same-size human sample (each half the texts, the holdout's size). It
runs first locally (`LocalExecutor`), then on a new local Ray cluster of `--cpus` CPUs, and
checks that both reports are the same bytes. Prints the seconds of each run, their ratio (the
target: Ray ≤ 1.5× local, Ray's overhead bounded), Ray's start-up seconds (`ray.init` plus a
first task on every worker) and the resident memory of this process and of Ray's processes
(peak of their sum, sampled every 0.2 s). Then, on the same cluster, the MinHash dedup of
`--others` texts and the ingest of as many JSONL rows, locally and on Ray.

    python benchmarks/bench_scale.py [--texts 1000000] [--cpus 2] [--others 100000]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import orjson
import psutil

from keel.collapse import Generation, watch
from keel.ledger import Ledger, ingest
from keel.mix import dedup
from keel.scale import Executor, executor_for
from keel.text import load_fortunes

MiB = 1 << 20


def windows(words: list[str], count: int, span: int, seed: int) -> list[str]:
    """`count` texts of 4–30 consecutive words starting in the first `span` words."""
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, span, count)
    lengths = rng.integers(4, 31, count)
    return [
        " ".join(words[s : s + n]) for s, n in zip(starts.tolist(), lengths.tolist(), strict=True)
    ]


def tree_rss(root: psutil.Process) -> int:
    """Resident bytes of `root` and its descendants (Ray's raylet, GCS and workers)."""
    total = 0
    for p in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):  # a worker that just exited
            total += p.memory_info().rss
    return total


class PeakRss:
    """Samples `tree_rss` of this process every 0.2 s; `peak` is the largest sum seen."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._me = psutil.Process(os.getpid())
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, tree_rss(self._me))

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return max(self.peak, tree_rss(self._me))


def timed(fn: Callable[[], bytes]) -> tuple[float, bytes]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _noop(x: int) -> int:
    return x


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--texts", type=int, default=1_000_000)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument(
        "--others", type=int, default=100_000, help="dedup texts and ingest rows (0: skip)"
    )
    args = ap.parse_args()
    words = " ".join(load_fortunes()).split()
    reference = windows(words, args.texts, len(words) - 31, seed=0)
    generation = Generation("g1", tuple(windows(words, args.texts, len(words) // 3, seed=1)))
    print(f"watch of {args.texts:,} texts against {args.texts:,} reference texts")

    def run(executor: Executor | None) -> bytes:
        return orjson.dumps(watch([generation], reference, executor=executor).to_json())

    local_s, local = timed(lambda: run(None))
    rss_local = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"  local:            {local_s:7.1f} s   peak RSS {rss_local / MiB:,.0f} MiB")

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    before = tree_rss(psutil.Process(os.getpid()))
    t0 = time.perf_counter()
    ex = executor_for("ray", num_cpus=args.cpus)
    init_s = time.perf_counter() - t0
    list(ex.map(_noop, range(4 * args.cpus)))  # every worker started
    start_s = time.perf_counter() - t0
    started = tree_rss(psutil.Process(os.getpid()))
    print(
        f"  Ray start-up:     {start_s:7.1f} s   (ray.init {init_s:.1f} s), "
        f"+{(started - before) / MiB:,.0f} MiB resident (Ray's processes and this one's growth)"
    )
    peak = PeakRss()
    try:
        ray_s, ray = timed(lambda: run(ex))
        top = peak.stop()
        print(f"  Ray ({args.cpus} CPUs):      {ray_s:7.1f} s   peak RSS of all processes "
              f"{top / MiB:,.0f} MiB")  # fmt: skip
        ratio = ray_s / local_s
        verdict = "met" if ratio <= 1.5 else "NOT met"
        print(f"  Ray / local:      {ratio:7.2f}×  (target ≤ 1.5×: {verdict})")
        print(f"  reports identical: {ray == local}")
        driver = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(f"  max RSS of this process: {driver / MiB:,.0f} MiB")
        if ray != local:
            raise SystemExit("the Ray report differs from the local one")
        if args.others:
            others(args.others, ex)
    finally:
        peak.stop()
        ex.close()


def others(n: int, ex: Executor) -> None:
    """Dedup of `n` texts and ingest of `n` rows, locally and on `ex`: seconds and identity."""
    fortunes = load_fortunes()
    texts = [f"{i % 5000} {fortunes[i % len(fortunes)]}" for i in range(n)]
    for name, fn in (
        (f"dedup of {n:,} texts", lambda e: orjson.dumps(dedup(texts, executor=e))),
        (f"ingest of {n:,} rows", lambda e: ingested(texts, e)),
    ):
        local_s, local = timed(lambda f=fn: f(None))  # type: ignore[misc]
        ray_s, ray = timed(lambda f=fn: f(ex))  # type: ignore[misc]
        print(f"  {name}: local {local_s:.1f} s, Ray {ray_s:.1f} s ({ray_s / local_s:.2f}×), "
              f"identical: {ray == local}")  # fmt: skip


def ingested(texts: list[str], ex: Executor | None) -> bytes:
    """The root of a new ledger after ingesting `texts` as JSONL rows."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = folder / "rows.jsonl"
        rows.write_bytes(b"".join(orjson.dumps({"text": t, "origin": "human"}) + b"\n"
                                  for t in texts))  # fmt: skip
        with Ledger.open(folder / "k.db", key_path=folder / "k.key") as led:
            led.init_key("example.com/bench")
            ingest(led, rows, keep_ids=False, executor=ex)
            return led.root()


if __name__ == "__main__":
    main()
