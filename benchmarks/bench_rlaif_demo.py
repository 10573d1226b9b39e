"""Wall time and peak memory of `keel rlaif demo` with its defaults (target: ≤ 300 s, ≤ 3 GB on
2 cores), run as a fresh command in an empty folder. Memory is the peak of the summed resident
set of the command and its child processes, sampled every 50 ms from /proc (Linux).

    python benchmarks/bench_rlaif_demo.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

from bench_demo import tree_rss


def run_once() -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "keel", "rlaif", "demo", "--out", f"{tmp}/demo"]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        if proc.returncode:
            raise SystemExit(f"keel rlaif demo failed with exit code {proc.returncode}")
        return seconds, peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    runs = []
    for i in range(args.repeats):
        seconds, peak = run_once()
        runs.append((seconds, peak))
        print(f"run {i + 1}: {seconds:.1f} s, peak memory {peak / 2**20:.0f} MiB", flush=True)
    print(
        f"keel rlaif demo (defaults): median {statistics.median(s for s, _ in runs):.1f} s wall "
        f"(target ≤ 300 s), peak memory {statistics.median(m for _, m in runs) / 2**20:.0f} MiB "
        f"median, {max(m for _, m in runs) / 2**20:.0f} MiB max (target ≤ 3072 MiB)"
    )


if __name__ == "__main__":
    main()
