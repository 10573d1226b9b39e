"""Wall time and peak memory of `keel demo` with its defaults (target: < 120 s, < 2 GB on 2
cores), run as a fresh command in an empty folder. Memory is the peak of the summed resident
set of the command and all its child processes, sampled every 50 ms from /proc (Linux).

    python benchmarks/bench_demo.py [--repeats 3] [--generations 10]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def tree_rss(pid: int) -> int:
    """Resident bytes of `pid` and its descendants (0 for processes that are gone)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
        todo += [int(c) for c in children]
    return total


def run_once(generations: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "keel", "demo", "--out", f"{tmp}/demo",
               "--generations", str(generations)]  # fmt: skip
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        if proc.returncode:
            raise SystemExit(f"keel demo failed with exit code {proc.returncode}")
        return seconds, peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--generations", type=int, default=10)
    args = ap.parse_args()
    runs = []
    for i in range(args.repeats):
        seconds, peak = run_once(args.generations)
        runs.append((seconds, peak))
        print(f"run {i + 1}: {seconds:.1f} s, peak memory {peak / 2**20:.0f} MiB", flush=True)
    print(
        f"keel demo (defaults, {args.generations} generations): median "
        f"{statistics.median(s for s, _ in runs):.1f} s wall (target < 120 s), peak memory "
        f"{statistics.median(m for _, m in runs) / 2**20:.0f} MiB median, "
        f"{max(m for _, m in runs) / 2**20:.0f} MiB max (target < 2048 MiB)"
    )


if __name__ == "__main__":
    main()
