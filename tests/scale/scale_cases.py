"""The four passes an executor runs, each as a function of the executor that returns bytes (or
ids) to compare: the local run and any executor's run must give the same, byte for byte."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson

from keel.collapse import Generation, watch
from keel.collapse.settings import WATCH_METRICS
from keel.judges import Candidates, judge_records, make_judge
from keel.ledger import Ledger, ingest
from keel.mix import MinHashConfig, dedup
from keel.records import Producer, text_record
from keel.scale import Executor
from keel.text import load_fortunes
from keel_cli import Cli

FORTUNES = load_fortunes()


def generations() -> list[Generation]:
    """A generation of human texts and two of recombined, narrowing ones."""
    rng = np.random.default_rng(7)
    words = " ".join(FORTUNES[:400]).split()
    gens = [Generation("g0", tuple(FORTUNES[400:700]))]
    for g, vocab in ((1, 2000), (2, 300)):
        texts = []
        for _ in range(300):
            start = int(rng.integers(0, vocab))
            texts.append(" ".join(words[start : start + int(rng.integers(4, 25))]))
        gens.append(Generation(f"g{g}", tuple(texts)))
    return gens


def watch_bytes(executor: Executor | None) -> bytes:
    """The watch's report (JSON) over `generations` against fortunes as the reference."""
    report = watch(generations(), FORTUNES[700:1500], config=WATCH_METRICS, executor=executor)
    return orjson.dumps(report.to_json())


def dedup_keepers(executor: Executor | None) -> tuple[int, ...]:
    """Near-duplicate groups of texts with planted copies and edits."""
    texts = [*FORTUNES[:300], *FORTUNES[:50], *(t + " indeed" for t in FORTUNES[100:150])]
    return dedup(texts, MinHashConfig(), executor=executor)


def write_rows(path: Path) -> Path:
    """A JSONL file of text rows: human, synthetic with producers, parents and tags."""
    lines = []
    for i, text in enumerate(FORTUNES[:500]):
        row: dict[str, object] = {"text": text, "origin": "human", "author": f"a{i % 7}"}
        if i % 3 == 1:
            row = {"text": text, "origin": "synthetic", "producer": "m", "generation": 1,
                   "tags": {"i": i}}  # fmt: skip
        lines.append(orjson.dumps(row))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def ledger_bytes(led: Ledger) -> tuple[bytes, list[bytes]]:
    """A ledger's root and every entry's bytes, in log order."""
    return led.root(), [loc.raw for loc in led.iter_located()]


def ingested(folder: Path, executor: Executor | None) -> tuple[bytes, list[bytes]]:
    """Ingest `write_rows` into a new ledger in `folder`; its root and entries."""
    folder.mkdir()
    with Ledger.open(folder / "k.db", key_path=folder / "k.key") as led:
        led.init_key("example.com/scale")
        ingest(led, write_rows(folder / "rows.jsonl"), executor=executor)
        return ledger_bytes(led)


def judged(folder: Path, executor: Executor | None) -> tuple[bytes, list[bytes]]:
    """A ledger of human and synthetic texts judged by the n-gram judge; root and entries."""
    folder.mkdir()
    with Ledger.open(folder / "k.db", key_path=folder / "k.key") as led:
        led.init_key("example.com/scale")
        led.append(text_record(t, "human", author="ann", generation=0) for t in FORTUNES[:300])
        bot = Producer("model", "1")
        led.append(
            text_record(t.upper() if i % 2 else t, "synthetic", producer=bot, generation=1)
            for i, t in enumerate(FORTUNES[300:700])
        )
        c = Candidates.of(led)
        judge = make_judge("likelihood", c.human)
        ids = c.select(led, generation=1)
        judge_records(led, judge, c, ids, executor=executor, concurrency=3)
        return ledger_bytes(led)


def cli_runs(cli: Cli, folder: Path, executor: str) -> list[object]:
    """`keel ingest`, `keel judge run`, `keel mix build --dry-run` and `keel watch` with
    `--executor executor` on a new ledger in `folder`: their JSON outputs, `folder` spelled
    FOLDER in them."""
    folder.mkdir()
    db = folder / "k.db"
    rows = write_rows(folder / "rows.jsonl")
    gen = folder / "g1.txt"
    gen.write_text("\n".join(t.replace("\n", " ") for t in FORTUNES[900:1200]) + "\n")
    ref = folder / "ref.txt"
    ref.write_text("\n".join(t.replace("\n", " ") for t in FORTUNES[1200:1800]) + "\n")
    flag = ("--executor", executor)
    runs = [
        cli.json("ingest", str(rows), *flag, db=db),
        cli.json("judge", "run", "--offline", "ngram", "--human-from-ledger", *flag, db=db),
        cli.json("mix", "build", "--size", "100", "--gate", "none", "--dry-run", *flag, db=db),
        cli.json("watch", str(gen), "--reference", str(ref), *flag),
    ]
    where = orjson.dumps(str(folder))[1:-1].decode()  # the folder as JSON strings spell it
    return list(orjson.loads(orjson.dumps(runs).decode().replace(where, "FOLDER")))
