"""The review app under load (issue 16 targets): the review page renders in < 100 ms at the
server on a ledger of 1,000,000 entries, and a decision commits in < 50 ms median with 20
reviewers submitting at once.

    python benchmarks/bench_review.py [--records 1000000] [--reviewers 20] [--seconds 30]

Builds a ledger of `--records` synthetic records of generation 1 (keel ingest from a JSONL
file), enrols the reviewers, opens a round of `reviewers × 60` items, serves the app with
uvicorn on loopback (a child process: `keel review serve`), and runs one thread per reviewer
that logs in, then loads its next item and submits a server-signed decision, as fast as it
can, for `--seconds` (bounded) or until its queue is empty. Latencies are measured at the
client on loopback, so they bound the server's time from above. Prints medians and 95th
percentiles.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from bench_ledger import make_corpus


def keel(*args: str, db: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "keel", "--db", str(db), *args],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout


def reviewer(base: str, link: str, seconds: float, pages: list[float], posts: list[float]) -> None:
    jar = http.cookiejar.CookieJar()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect())

    def call(path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        data = None if form is None else urllib.parse.urlencode(form).encode()
        try:
            with opener.open(urllib.request.Request(base + path, data=data), timeout=60) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    call(link)
    status, home = call("/")
    round_id = re.search(r'href="/r/([0-9a-f]{64})"', home)
    if round_id is None:
        return
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        t0 = time.perf_counter()
        status, page = call(f"/r/{round_id.group(1)}")
        pages.append(time.perf_counter() - t0)
        action = re.search(r'<form id="decide" method="post" action="([^"]+)"', page)
        if action is None:
            return
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf is not None
        t0 = time.perf_counter()
        form = {"csrf": csrf.group(1), "decision": "accept", "rationale": "reads like a person"}
        status, _ = call(action.group(1), form)
        posts.append(time.perf_counter() - t0)
        if status != 303:
            raise RuntimeError(f"decision refused: {status}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--reviewers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
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
        budget = str(60 * len(names))
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
            pages: list[float] = []
            posts: list[float] = []
            threads = [
                threading.Thread(target=reviewer, args=(base, links[n], args.seconds, pages, posts))
                for n in names
            ]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
        finally:
            server.terminate()
            server.wait(timeout=30)

        def q(xs: list[float], p: float) -> float:
            return sorted(xs)[min(len(xs) - 1, int(p * len(xs)))] * 1000

        print(f"ledger size {size:,} entries; {len(names)} reviewers at once for {wall:.1f} s")
        print(f"review page: {len(pages)} loads, median {statistics.median(pages) * 1000:.1f} ms, "
              f"p95 {q(pages, 0.95):.1f} ms (target < 100 ms)")  # fmt: skip
        print(f"decision:    {len(posts)} commits, median {statistics.median(posts) * 1000:.1f} ms,"
              f" p95 {q(posts, 0.95):.1f} ms (target < 50 ms median); "
              f"{len(posts) / wall:.0f} decisions/s")  # fmt: skip


if __name__ == "__main__":
    main()
