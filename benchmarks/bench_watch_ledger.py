"""`keel watch --ledger` against `keel watch` on the same texts given as files (issue 20).

Builds a ledger of `--records` text records as the loop logs them: generation 0, the human
start (origin human), then `--generations` generations of synthetic records, each with its
producer and a parent in the generation before, `--verdicts` AI verdicts on each synthetic
record; the texts are random 4–30-word windows of the fortune corpus, each generation's from a
narrower slice of it than the last (duplicates within a generation dropped, as the ledger keeps
one record of each). The same texts go to `gen-<g>.jsonl` files with their origins, so that both
commands report the same α; a human reference of `--reference` other windows goes to `ref.txt`
(default: twice the largest generation, so that the watch's holdout covers a generation and
every text is measured). Built once per `--work` folder and reused.

Then, in alternating fresh processes (`python -m keel`, the command itself), `--rounds` times:

    keel watch gen-0.jsonl … gen-N.jsonl --reference ref.txt --json
    keel --db keel.db watch --ledger --reference ref.txt --json

checks that both print the same bytes (and the same text table without --json, once), and
prints the median seconds of each and their ratio (target: ledger ≤ 1.3× files). With
`--baseline SRC`, a third command runs `--ledger` on another checkout's `src` folder (the code
before a change) in the same rounds, and its output must be the same bytes too.

    python benchmarks/bench_watch_ledger.py [--records 300000] [--generations 10] [--rounds 3]
        [--work DIR] [--baseline /tmp/before/src] [--src src]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

from keel.ledger import Ledger
from keel.records import EntryId, Producer, Verdict, text_record
from keel.text import load_fortunes

SRC = Path(__file__).resolve().parent.parent / "src"


def windows(words: list[str], count: int, span: int, seed: int) -> list[str]:
    """`count` distinct texts of 4–30 consecutive words starting in the first `span` words."""
    rng = np.random.default_rng(seed)
    found: dict[str, None] = {}
    while len(found) < count:
        starts = rng.integers(0, span, count)
        lengths = rng.integers(4, 31, count)
        for s, n in zip(starts.tolist(), lengths.tolist(), strict=True):
            found[" ".join(words[s : s + n])] = None
            if len(found) == count:
                break
    return list(found)


def build(work: Path, records: int, generations: int, reference: int, verdicts: int) -> None:
    """The ledger, the generation files and the reference file (once per folder)."""
    db = work / "keel.db"
    if db.exists():
        return
    words = " ".join(load_fortunes()).split()
    size = records // (generations + 1)
    t0 = time.perf_counter()
    (work / "ref.txt").write_text(
        "".join(t + "\n" for t in windows(words, reference, len(words) - 30, 1))
    )
    with Ledger.open(db.with_suffix(".part"), key_path=work / "keel.key") as led:
        led.init_key("bench.example/watch")
        parents: list[EntryId] = []
        for g in range(generations + 1):
            count = size + (records - size * (generations + 1) if g == generations else 0)
            span = int((len(words) - 30) * 0.85**g)
            gen_texts = windows(words, count, span, 100 + g)
            origin = "human" if g == 0 else "synthetic"
            producer = Producer("bench-ngram", f"gen-{g}", {"run": f"bench-ngram/gen-{g}"})
            rng = np.random.default_rng(200 + g)
            picks = rng.integers(0, max(len(parents), 1), count).tolist()
            items = [
                text_record(t, "human", author="bench", generation=0)
                if g == 0
                else text_record(
                    t, "synthetic", producer=producer, parents=[parents[p]], generation=g
                )
                for t, p in zip(gen_texts, picks, strict=True)
            ]
            appended = led.append(items)
            assert all(a.new for a in appended), "a duplicate record"
            parents = [a.id for a in appended]
            if g and verdicts:
                led.append(
                    (Verdict(a.id, f"judge-{k}", "ai", label="accept", score=0.9), None)
                    for k in range(verdicts)
                    for a in appended
                )
            rows = (orjson.dumps({"text": t, "origin": origin}) + b"\n" for t in gen_texts)
            (work / f"gen-{g}.jsonl").write_bytes(b"".join(rows))
        led.checkpoint()
        entries = led.size
    db.with_suffix(".part").rename(db)
    print(f"built {records:,} records ({entries:,} entries) in {time.perf_counter() - t0:.1f} s")


def run(argv: list[str], src: Path) -> tuple[float, float, bytes]:
    """Wall and CPU seconds (user + system) and standard output of `python -m keel ARGV` with
    `src` first on the path."""
    env = {**os.environ, "PYTHONPATH": str(src), "COLUMNS": "200"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "keel", *argv], env=env, capture_output=True, check=False
    )
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if done.returncode:
        sys.exit(f"keel {' '.join(argv)} exited {done.returncode}: {done.stderr.decode()[-800:]}")
    return seconds, cpu, done.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--records", type=int, default=300_000)
    ap.add_argument("--generations", type=int, default=10)
    ap.add_argument("--reference", type=int, default=0, help="default: 2 × a generation")
    ap.add_argument("--verdicts", type=int, default=0, help="AI verdicts per synthetic record")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--work", type=Path, default=None, help="default: a temporary folder")
    ap.add_argument("--baseline", type=Path, default=None, help="another checkout's src folder")
    ap.add_argument("--src", type=Path, default=SRC, help="the src folder to time")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-watch-ledger-"))
    work.mkdir(parents=True, exist_ok=True)
    last = args.records - args.records // (args.generations + 1) * args.generations
    reference = args.reference or 2 * last
    build(work, args.records, args.generations, reference, args.verdicts)
    files = [str(work / f"gen-{g}.jsonl") for g in range(args.generations + 1)]
    ref = ["--reference", str(work / "ref.txt")]
    src = args.src.resolve()
    commands = {
        "files": (["watch", *files, *ref], src),
        "ledger": (["--db", str(work / "keel.db"), "watch", "--ledger", *ref], src),
    }
    if args.baseline is not None:
        commands["baseline"] = (commands["ledger"][0], args.baseline.resolve())
    first = {name: run(argv, src)[2] for name, (argv, src) in commands.items()}
    assert len(set(first.values())) == 1, "the text tables differ"
    wall: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    outputs: dict[str, bytes] = {}
    for r in range(args.rounds):
        for name, (argv, src) in commands.items():
            seconds, used, outputs[name] = run([*argv, "--json"], src)
            wall[name].append(seconds)
            cpu[name].append(used)
        print(
            f"round {r + 1}: "
            + ", ".join(f"{n} {wall[n][-1]:.2f} s (CPU {cpu[n][-1]:.2f} s)" for n in commands)
        )
    assert len(set(outputs.values())) == 1, "the JSON reports differ"
    doc = orjson.loads(outputs["files"])
    texts = sum(g["metrics"]["texts"] for g in doc["generations"])
    print(
        f"{args.records:,} records, {len(files)} generations ({texts:,} texts measured), "
        f"reference {reference:,} texts; same JSON and text reports: yes"
    )
    medians = {n: (statistics.median(wall[n]), statistics.median(cpu[n])) for n in commands}
    for name, (w, c) in medians.items():
        print(f"  keel watch {name:<8} median {w:6.2f} s, CPU {c:6.2f} s over {args.rounds} rounds")
    for name in ("ledger", "baseline")[: len(commands) - 1]:
        w, c = (medians[name][i] / medians["files"][i] for i in (0, 1))
        paired = statistics.median(a / b for a, b in zip(wall[name], wall["files"], strict=True))
        target = " (target <= 1.3x)" if name == "ledger" else ""
        print(
            f"{name} / files: {w:.2f}x wall, {c:.2f}x CPU{target}; median of the rounds' "
            f"wall ratios {paired:.2f}x"
        )


if __name__ == "__main__":
    main()
