"""The demo's report: collapse metrics of each arm by generation, each judge's personality per
generation, the expert sample, the mixes, and the ledgers with a checkpoint and a verified
receipt. Everything is read back from the loop results and the arms' ledgers."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from keel.experts import RUBRIC_PREFIX
from keel.judges import Audit, JudgeTable, audit
from keel.ledger import Judged, Ledger, Snapshot, texts
from keel.loop.run import GenerationSummary, LoopResult
from keel.report import Section, Series, line_chart, paragraph, preformatted, table, write_page

KINDS = ("record", "verdict", "mix", "run", "redaction")
METRICS = (
    ("tail", "tail ratio (rare human types kept, vs a human sample)"),
    ("entropy", "unigram entropy ratio"),
    ("distinct_2", "distinct-2 ratio"),
    ("precision", "k-NN precision ratio"),
)


@dataclass(frozen=True, slots=True)
class Receipt:
    """A c2sp.org/tlog-proof receipt for one record, written to files and verified offline."""

    record: str
    bundle: Path
    entry: Path
    verifier_key: str
    checkpoint_size: int
    command: str


@dataclass(frozen=True, slots=True)
class ArmLedger:
    """What the report shows of an arm's ledger."""

    name: str
    path: Path
    size: int
    kinds: dict[str, int]
    checkpoint: str
    personalities: dict[int, Audit]
    reviews: dict[int, Counter[str]]
    examples: tuple[tuple[str, str, str, str], ...]
    """(reason, label, text excerpt, rationale) of a few reviewed items of the last generation."""


def read_arm(result: LoopResult, *, resamples: int = 200) -> ArmLedger:
    """Read an arm's ledger: sizes by kind, latest checkpoint, judge audits on the random
    expert anchors of each generation, review counts, and review examples."""
    cfg = result.config
    with Ledger.open(cfg.ledger, create=False) as led:
        kinds = {k: len(led.entries(k)) for k in KINDS}
        snap = Snapshot.load(led)
        judges = [j.name for j in cfg.judges]
        by_gen: dict[int, list[Judged]] = {}
        reviews: dict[int, Counter[str]] = {}
        for j in snap.records:
            g = j.record.generation
            if g is None or not j.expert:
                continue
            last = j.expert[-1]
            reason = (last.rubric or "").removeprefix(RUBRIC_PREFIX)
            reviews.setdefault(g, Counter())[f"{reason} {last.label}"] += 1
            if reason == "random" and j.ai:
                by_gen.setdefault(g, []).append(j)
        audits = {
            g: a
            for g, items in sorted(by_gen.items())
            if (a := _audit(f"{cfg.name} gen {g}", items, judges, resamples)) is not None
        }
        last_gen = max(reviews, default=None)
        examples: list[tuple[str, str, str, str]] = []
        if last_gen is not None:
            shown = [j for j in snap.records if j.record.generation == last_gen and j.expert]
            shown = _one_of_each(shown)
            for j, text in zip(shown, texts(led, shown), strict=True):
                v = j.expert[-1]
                why = led.payload(v.rationale.sha256).decode() if v.rationale else ""
                excerpt = (text or "(redacted)")[:160]
                examples.append(
                    ((v.rubric or "").removeprefix(RUBRIC_PREFIX), v.label or "", excerpt, why)
                )
        return ArmLedger(
            cfg.name,
            cfg.ledger,
            led.size,
            kinds,
            result.checkpoint.decode(),
            audits,
            reviews,
            tuple(examples),
        )


def _one_of_each(items: Sequence[Judged]) -> list[Judged]:
    """Up to two reviewed items per (reason, label), in log order."""
    seen: Counter[tuple[str | None, str | None]] = Counter()
    out = []
    for j in items:
        key = (j.expert[-1].rubric, j.expert[-1].label)
        if seen[key] < 2:
            seen[key] += 1
            out.append(j)
    return out


def _audit(source: str, items: Sequence[Judged], judges: Sequence[str], n: int) -> Audit | None:
    """The judge audit of `judges` against the expert decisions on `items` (None if the
    experts all agreed one way: confirmation or detection would be undefined)."""
    human = np.array([1.0 if j.adopted else 0.0 for j in items])
    if human.min() == human.max():
        return None
    verdicts = np.full((len(judges), len(items), 1), np.nan)
    row = {name: k for k, name in enumerate(judges)}
    for i, j in enumerate(items):
        for v in j.ai:
            if v.judge in row:
                verdicts[row[v.judge], i, 0] = 1.0 if v.label == "accept" else 0.0
    table_ = JudgeTable(source, tuple(j.id for j in items), tuple(judges), human, verdicts)
    return audit(table_, n_resamples=n)


def vocabulary(g: GenerationSummary) -> float:
    """Distinct word types of the generation over those of a same-size human sample."""
    return g.watch.metrics.support / g.watch.baseline.support


def summary(arms: Sequence[LoopResult]) -> list[str]:
    """The findings in sentences with numbers: each arm's last generation against its first,
    then the last arm against the first (the demo: anchored against self-consuming)."""
    out = []
    for a in arms:
        first, last = a.generations[1].watch, a.generations[-1].watch
        alarm = a.watch.first_collapse()
        flagged = (
            "collapse never flagged"
            if alarm is None
            else f"collapse first flagged at {alarm.name}, tail {alarm.ratios['tail']:.0%}"
        )
        out.append(
            f"{a.config.name}: after {a.generations[-1].generation} generations the data keeps "
            f"{last.ratios['tail']:.0%} of the human tail (generation 1: "
            f"{first.ratios['tail']:.0%}) and uses {last.metrics.support:,} distinct words, "
            f"{vocabulary(a.generations[-1]):.0%} of a same-size human sample's; unigram "
            f"entropy {last.ratios['entropy']:.0%} of human text; JS divergence to the human "
            f"reference {last.metrics.js_to_reference:.3f} (generation 1: "
            f"{first.metrics.js_to_reference:.3f}); watch verdict: {last.verdict} ({flagged})."
        )
    if len(arms) > 1:
        base, best = arms[0], arms[-1]
        b, k = base.generations[-1], best.generations[-1]
        out.append(
            f"At generation {k.generation}, {best.config.name} keeps "
            f"{k.watch.ratios['tail'] / b.watch.ratios['tail']:.1f}× the tail and "
            f"{k.watch.metrics.support / b.watch.metrics.support:.1f}× the vocabulary of "
            f"{base.config.name}."
        )
    return out


def write_report(
    path: Path, arms: Sequence[LoopResult], ledgers: Sequence[ArmLedger], receipt: Receipt | None
) -> Path:
    """Write the demo report to `path` (one self-contained HTML file)."""
    gens = [g.generation for g in arms[0].generations]
    sections = [
        Section("What happened", [paragraph(s) for s in summary(arms)]),
        Section(
            "Collapse metrics by generation",
            [
                paragraph(
                    "Each generation's texts against the held-out human reference, each metric "
                    "divided by that of a same-size human sample (1 = human-like; "
                    "docs/collapse.md has the formulas). Generation 0 is the human start."
                ),
                *(_by_generation(arms, title, _ratio(key), "ratio") for key, title in METRICS),
                _by_generation(
                    arms,
                    "distinct words (support) over those of a same-size human sample",
                    vocabulary,
                    "ratio",
                ),
                _by_generation(
                    arms,
                    "JS divergence of unigram frequencies to the human reference",
                    lambda g: g.watch.metrics.js_to_reference,
                    "nats",
                ),
                table(
                    ["generation", *(a.config.name for a in arms)],
                    [
                        [
                            g,
                            *(
                                f"{a.generations[g].watch.ratios['tail']:.3f} "
                                f"{a.generations[g].watch.verdict}"
                                for a in arms
                            ),
                        ]
                        for g in gens
                    ],
                    caption="tail ratio and watch verdict",
                ),
            ],
        ),
        Section("Judges by generation", _judge_blocks(arms, ledgers)),
        Section("The expert sample", _expert_blocks(ledgers)),
        Section("Mixes", _mix_blocks(arms)),
        Section("Ledgers, checkpoints and a receipt", _ledger_blocks(ledgers, receipt)),
    ]
    intro = (
        "Three loops from the same 2,000 human texts (the FreeBSD fortunes), retrained from "
        "scratch each generation on the mix the previous generation produced. "
        "self-consuming: no human data, no gate; judge-filtered: no human data, kept when most "
        "AI judges accept; anchored: 20% fresh verified human texts, a judge gate corrected "
        "with expert anchors, lineage pruning, near-duplicate removal and tail-preserving "
        "sampling. The expert panel is SIMULATED: it answers from a ground truth built from "
        "held-out human text."
    )
    return write_page(
        path, "keel demo: model collapse, and an anchored loop", sections, intro=intro
    )


def _ratio(key: str) -> Callable[[GenerationSummary], float]:
    return lambda g: g.watch.ratios[key]


def _by_generation(
    arms: Sequence[LoopResult],
    title: str,
    value: Callable[[GenerationSummary], float],
    ylabel: str,
) -> str:
    """A line per arm of `value` by generation."""
    series = [
        Series(
            a.config.name, [g.generation for g in a.generations], [value(g) for g in a.generations]
        )
        for a in arms
    ]
    return line_chart(series, title=title, xlabel="generation", ylabel=ylabel)


def _judge_blocks(arms: Sequence[LoopResult], ledgers: Sequence[ArmLedger]) -> list[str]:
    blocks = []
    for a in arms:
        if not a.config.judges:
            continue
        names = [j.name for j in a.config.judges]
        blocks.append(
            line_chart(
                [
                    Series(
                        n,
                        [g.generation for g in a.generations[1:]],
                        [g.accepted.get(n, math.nan) for g in a.generations[1:]],
                    )
                    for n in names
                ],
                title=f"{a.config.name}: share of records each judge accepts",
                xlabel="generation",
                ylabel="accepted",
                y_range=(0.0, 1.0),
            )
        )
    for led in ledgers:
        if not led.personalities:
            continue
        blocks.append(
            paragraph(
                f"{led.name}: each judge against the experts' decisions on the randomly drawn "
                "anchors of each generation (unbiased; the items chosen for uncertainty are left "
                "out). Confirmation = share of adopted items the judge accepts; detection = "
                "share of rejected items it rejects; detection / confirmation > 1: a critic. "
                "95% intervals under each figure (docs/judges.md)."
            )
        )
        rows = []
        for g, found in led.personalities.items():
            for p in found.profiles:
                f = p.figures
                rows.append(
                    [
                        g,
                        p.judge,
                        p.n,
                        _est(f["confirmation"]),
                        _est(f["detection"]),
                        _est(f["bias_ratio"]),
                        p.personality,
                    ]
                )
        blocks.append(
            table(
                [
                    "generation",
                    "judge",
                    "anchors",
                    "confirmation",
                    "detection",
                    "detection / confirmation",
                    "personality",
                ],
                rows,
                caption=f"{led.name}: judge personalities per generation",
            )
        )
    return blocks


def _est(e: object) -> str:
    value, lo, hi = (getattr(e, k) for k in ("value", "lo", "hi"))
    if not math.isfinite(value):
        return "–"
    return f"{value:.2f} [{lo:.2f}, {hi:.2f}]" if math.isfinite(lo) else f"{value:.2f}"


def _expert_blocks(ledgers: Sequence[ArmLedger]) -> list[str]:
    blocks = []
    for led in ledgers:
        if not led.reviews:
            continue
        keys = sorted({k for c in led.reviews.values() for k in c})
        blocks.append(
            table(
                ["generation", *keys],
                [[g, *(c.get(k, 0) for k in keys)] for g, c in sorted(led.reviews.items())],
                caption=(
                    f"{led.name}: reviewed items per generation by why they were chosen "
                    "(random, or where the judges disagree) and the decision"
                ),
            )
        )
        blocks.append(
            table(
                ["chosen", "decision", "text", "rationale"],
                list(led.examples),
                caption=f"{led.name}: some reviews of the last generation",
            )
        )
    return blocks


MIX_COUNTS = (
    ("members_verified", "verified members"),
    ("members_synthetic", "synthetic members"),
    ("gate_accepted", "gate accepted"),
    ("gate_rejected", "gate rejected"),
    ("lineage_pruned", "lineage pruned"),
    ("near_duplicate", "near duplicates"),
    ("expert_rejected", "expert rejected"),
)
"""The counts of a generation's mix shown, by key, with their column headings."""


def _mix_blocks(arms: Sequence[LoopResult]) -> list[str]:
    blocks = []
    for a in arms:
        blocks.append(
            table(
                ["generation", *(label for _, label in MIX_COUNTS)],
                [
                    [g.generation, *(g.mix_counts.get(k, 0) for k, _ in MIX_COUNTS)]
                    for g in a.generations
                ],
                caption=f"{a.config.name}: the mix each generation built (it trains the next)",
            )
        )
        blocks.append(
            table(
                ["generations", "gate"],
                _gate_runs(a.generations),
                caption=f"{a.config.name}: the gate each generation's candidates went through",
            )
        )
    return blocks


def _gate_runs(generations: Sequence[GenerationSummary]) -> list[list[str]]:
    """(generations, gate) for each run of consecutive generations with the same gate."""
    runs: list[tuple[int, int, str]] = []
    for g in generations:
        if runs and runs[-1][2] == g.gate:
            runs[-1] = (runs[-1][0], g.generation, g.gate)
        else:
            runs.append((g.generation, g.generation, g.gate))
    return [[str(a) if a == b else f"{a}–{b}", gate] for a, b, gate in runs]


def _ledger_blocks(ledgers: Sequence[ArmLedger], receipt: Receipt | None) -> list[str]:
    blocks = [
        table(
            ["arm", "ledger", "entries", *KINDS],
            [[x.name, str(x.path), x.size, *(x.kinds[k] for k in KINDS)] for x in ledgers],
            caption="every record, verdict, mix and training run, logged with its lineage",
        )
    ]
    for x in ledgers:
        blocks += [paragraph(f"{x.name}: the latest signed checkpoint"), preformatted(x.checkpoint)]
    if receipt is not None:
        blocks += [
            paragraph(
                f"A receipt (c2sp.org/tlog-proof) for record {receipt.record} of the anchored "
                f"arm's last mix, verified offline against checkpoint size "
                f"{receipt.checkpoint_size} with the verifier key {receipt.verifier_key}: OK. "
                "Check it again, with no database:"
            ),
            preformatted(receipt.command),
            preformatted(receipt.bundle.read_text()),
        ]
    return blocks
