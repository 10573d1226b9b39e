"""The review app under load (issue 16 targets): the review page renders in < 100 ms at the
server on a ledger of 1,000,000 entries, and a decision commits in < 50 ms median with 20
reviewers submitting at once.

    python benchmarks/bench_review.py [--records 1000000] [--reviewers 20] [--seconds 30]

Builds a ledger of `--records` synthetic records of generation 1 (keel ingest from a JSONL
file), enrols the reviewers, opens a round of `reviewers × 200` items, serves the app with
uvicorn on loopback (a child process: `keel review serve`), and runs one thread per reviewer
that logs in, then loads its next item and submits a server-signed decision, for `--seconds`
(bounded) or until its queue is empty. Two phases:

- paced: each reviewer reads for an exponentially distributed time of mean `--think` seconds
  (default 1 s; people take tens of seconds per item) before deciding, so the 20 submit
  concurrently but not in lockstep: the latency a reviewer sees;
- saturated: no reading time at all, every reviewer submits as fast as the server answers:
  the throughput ceiling, where latency is mostly the wait behind the other 19.

For each it prints the server's own time per request (the `Server-Timing` header the app sets)
and the latency at the client on loopback, medians and 95th percentiles.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

from bench_ledger import make_corpus


def keel(*args: str, db: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "keel", "--db", str(db), *args],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout


@dataclass
class Times:
    """Seconds per request: at the client and at the server (Server-Timing)."""

    pages: list[float] = field(default_factory=list)
    posts: list[float] = field(default_factory=list)
    page_server: list[float] = field(default_factory=list)
    post_server: list[float] = field(default_factory=list)


def reviewer(base: str, link: str, seconds: float, think: float, times: Times, seed: int) -> None:
    jar = http.cookiejar.CookieJar()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect())

    def call(path: str, form: dict[str, str] | None = None) -> tuple[int, str, float]:
        data = None if form is None else urllib.parse.urlencode(form).encode()
        try:
            with opener.open(urllib.request.Request(base + path, data=data), timeout=60) as r:
                return r.status, r.read().decode(), server_time(r.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(), server_time(exc.headers)

    rng = random.Random(seed)
    call(link)
    _, home, _ = call("/")
    round_id = re.search(r'href="/r/([0-9a-f]{64})"', home)
    if round_id is None:
        return
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        t0 = time.perf_counter()
        _, page, at_server = call(f"/r/{round_id.group(1)}")
        times.pages.append(time.perf_counter() - t0)
        times.page_server.append(at_server)
        action = re.search(r'<form id="decide" method="post" action="([^"]+)"', page)
        if action is None:
            return
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf is not None
        if think > 0:
            time.sleep(min(rng.expovariate(1 / think), max(0.0, stop - time.monotonic())))
        t0 = time.perf_counter()
        form = {"csrf": csrf.group(1), "decision": "accept", "rationale": "reads like a person"}
        status, _, at_server = call(action.group(1), form)
        times.posts.append(time.perf_counter() - t0)
        times.post_server.append(at_server)
        if status != 303:
            raise RuntimeError(f"decision refused: {status}")


def server_time(headers: Message) -> float:
    """Seconds from the `Server-Timing: app;dur=MS` header."""
    got = re.search(r"dur=([0-9.]+)", headers.get("Server-Timing", ""))
    return float(got.group(1)) / 1000 if got else float("nan")


def run_phase(
    base: str, links: dict[str, str], seconds: float, think: float
) -> tuple[Times, float]:
    times = Times()
    threads = [
        threading.Thread(target=reviewer, args=(base, link, seconds, think, times, i))
        for i, link in enumerate(links.values())
    ]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times, time.perf_counter() - t0


def report(label: str, times: Times, wall: float) -> None:
    def ms(xs: list[float]) -> str:
        p95 = sorted(xs)[min(len(xs) - 1, int(0.95 * len(xs)))]
        return f"median {statistics.median(xs) * 1000:6.1f} ms, p95 {p95 * 1000:6.1f} ms"

    print(f"{label}: {len(times.posts)} decisions in {wall:.1f} s "
          f"({len(times.posts) / wall:.0f}/s)")  # fmt: skip
    print(f"  review page  at the server {ms(times.page_server)}  "
          f"at the client {ms(times.pages)}  (target < 100 ms at the server)")  # fmt: skip
    print(f"  decision     at the server {ms(times.post_server)}  "
          f"at the client {ms(times.posts)}  (target < 50 ms median)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--reviewers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0, help="per phase")
    parser.add_argument("--think", type=float, default=1.0, help="mean reading time, paced")
    parser.add_argument("--port", type=int, default=8799)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = work / "k.db"
        corpus = work / "c.jsonl"
        make_corpus(corpus, args.records)
        t0 = time.perf_counter()
        keel("ingest", str(corpus), "--origin", "synthetic", "--generation", "1",
             "--producer", "bench-model", db=db)  # fmt: skip
        keel("ledger", "key", "init", db=db)
        print(f"ledger of {args.records:,} records built in {time.perf_counter() - t0:.0f} s")
        names = [f"rev{i:02d}" for i in range(args.reviewers)]
        links = {}
        for name in names:
            got = json.loads(keel("review", "add", name, "--port", str(args.port), "--json", db=db))
            links[name] = urllib.parse.urlparse(got["link"]).path
        t0 = time.perf_counter()
        reviewers = [f"-r{n}" for n in names]
        budget = str(200 * len(names))
        opened = json.loads(
            keel("review", "open", *reviewers, "--generation", "1", "--budget", budget, "--json",
                 db=db)
        )  # fmt: skip
        print(f"round of {opened['items']} items opened in {time.perf_counter() - t0:.1f} s")
        size = int(json.loads(keel("ledger", "info", "--json", db=db))["size"])
        server = subprocess.Popen(
            [sys.executable, "-m", "keel", "--db", str(db), "review", "serve", "--port",
             str(args.port)], env={**os.environ}, stderr=subprocess.PIPE,
        )  # fmt: skip
        base = f"http://127.0.0.1:{args.port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(base + "/static/keel.css", timeout=2).read()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            # each phase logs in afresh: a login link is good once, so add a second one each
            paced = run_phase(base, links, args.seconds, args.think)
            again = {}
            for name in names:
                got = json.loads(keel("review", "link", name, "--port", str(args.port), "--json",
                                      db=db))  # fmt: skip
                again[name] = urllib.parse.urlparse(got["link"]).path
            saturated = run_phase(base, again, args.seconds, 0.0)
        finally:
            server.terminate()
            server.wait(timeout=30)
        print(f"ledger size {size:,} entries; {len(names)} reviewers at once")
        report(f"paced (mean reading time {args.think:g} s)", *paced)
        report("saturated (no reading time)", *saturated)


if __name__ == "__main__":
    main()
