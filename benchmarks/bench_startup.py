"""Start-up of the command line: `keel --help` and `keel ledger info` against `python -c pass`.

Each command runs `--runs` times in a fresh process (interleaved, so that a busy machine slows
all three alike); prints the median wall time, its difference to and ratio over `python -c
pass`, and the median peak resident memory (the child's `ru_maxrss`, from `os.wait4`).
`keel ledger info` reads a ledger of 3 records made with `keel ingest` before the timing.
Target (issue 7): both keel commands ≤ 0.3 s above `python -c pass` and ≤ 60 MB.

    python benchmarks/bench_startup.py [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KEEL = [sys.executable, "-c", "from keel.cli import run; run()"]


def measure(argv: list[str], cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS in bytes of one run of `argv`, which must succeed."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed with exit code {proc.returncode}")
    return seconds, usage.ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        rows = "".join(f'{{"text": "text {i}", "origin": "human"}}\n' for i in range(3))
        (cwd / "records.jsonl").write_text(rows)
        subprocess.run([*KEEL, "--db", "keel.db", "ingest", "records.jsonl"], cwd=cwd, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "keel --help": [*KEEL, "--help"],
            "keel ledger info": [*KEEL, "--db", "keel.db", "ledger", "info"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        peaks: dict[str, list[int]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, argv in commands.items():
                seconds, peak = measure(argv, cwd)
                times[name].append(seconds)
                peaks[name].append(peak)
    floor = statistics.median(times["python -c pass"])
    print(f"{'command':<18} {'median s':>9} {'above floor':>12} {'ratio':>6} {'peak MB':>8}")
    for name in commands:
        median = statistics.median(times[name])
        peak = statistics.median(peaks[name]) / 1e6
        print(f"{name:<18} {median:>9.3f} {median - floor:>+12.3f} {median / floor:>6.1f} "
              f"{peak:>8.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
