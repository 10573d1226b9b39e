"""CoT-Self-Instruct: synthetic prompts written after reasoning over seed prompts, then filtered.

Yu et al. 2025, "CoT-Self-Instruct: Building high-quality synthetic prompts for reasoning and
non-reasoning tasks" (arXiv 2507.23751): the generator is shown K seed prompts, asked to reason
step by step about their domain, difficulty and form, and only then to write one new prompt
(and, for a verifiable task, its answer). Two filters keep the good ones:

- **Answer-Consistency** (verifiable prompts): K solutions are sampled; the prompt is kept when
  the majority answer among them equals the answer the generator wrote;
- **RIP** (Yu et al. 2025, "RIP: Better Models by Survival of the Fittest Prompts",
  arXiv 2501.18578): K responses are sampled and scored by a reward; the prompt is kept when
  the lowest of the K rewards is at least the `percentile`-th percentile of the same statistic
  on the seed prompts (a low worst response marks an ambiguous or broken prompt).

Every generated prompt is logged as a synthetic record (parents: the seed records it was
written from) and every filter decision as a verdict on it (judge `answer-consistency` or
`rip`, label accept/reject, the agreement share or the lowest reward as score, the reason as
rationale).

What a tiny model can do: keel's tiny policies cannot follow an instruction, let alone reason.
With one (`TemplatedWriter`), the "reasoning" is a templated plan computed from the seeds (their
commonest content words and their median length) and the new prompt is the model's
continuation of a seed's opening with a planned word: the pipeline, its filters and its ledger
entries run end to end, but the prompts are only as good as a word-level model of fortunes.
Real use passes a `ServedWriter` (any served instruction model through `ServedModel`, cached),
which sends the paper's kind of request and parses its answer.
"""

from __future__ import annotations

import random
import re
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from keel.errors import ConfigError, InputError
from keel.ledger import Ledger
from keel.models import Sampling, ServedModel
from keel.records import EntryId, Producer, text_record, verdict
from keel.rlaif.policy import RewardFn
from keel.text import tokenize

Complete = Callable[[Sequence[str]], list[str]]
"""A model as the pipeline uses it: one answer per prompt (repeat a prompt for K samples)."""

COT_REQUEST = """You write new prompts for a training set. Here are {k} seed prompts:

{seeds}

First reason step by step about them: their domain, their difficulty, their form. Then write
one new prompt of the same kind and quality that is not a copy of any seed.{answer_rule}
Answer in exactly this form:
Reasoning: <your reasoning>
New prompt: <the prompt>{answer_line}"""
ANSWER_RULE = " The prompt must have one short verifiable answer; solve it yourself."
SOLVE_REQUEST = "{prompt}\n\nThink it through, then end with a line `Answer: <the answer>`."
_FIELD = re.compile(r"^\s*(Reasoning|New prompt|Answer)\s*:\s*", re.IGNORECASE | re.MULTILINE)
_ANSWER = re.compile(r"answer\s*(?:is|:)\s*\**\s*([^\n*]+)", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "he",
        "her",
        "his",
        "i",
        "if",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "she",
        "so",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "who",
        "will",
        "with",
        "you",
        "your",
    }
)


@dataclass(frozen=True, slots=True)
class Generated:
    """One new prompt: the reasoning before it, the prompt, its answer (verifiable tasks), the
    seeds it was written from and the generator's raw text."""

    reasoning: str
    prompt: str
    answer: str | None
    seeds: tuple[str, ...]
    raw: str


@dataclass(frozen=True, slots=True)
class Decision:
    """A filter's decision on a generated prompt: keep it or not, its score and why."""

    filter: str
    keep: bool
    score: float
    reason: str


@dataclass(frozen=True, slots=True)
class Filtered:
    """A generated prompt, the filter's decision, and its record and verdict ids when logged."""

    generated: Generated
    decision: Decision
    record: EntryId | None = None
    verdict: EntryId | None = None


def cot_request(seeds: Sequence[str], *, verifiable: bool) -> str:
    """The request that asks a model to reason over `seeds` and then write a new prompt."""
    listed = "\n".join(f"{i}. {s}" for i, s in enumerate(seeds, 1))
    return COT_REQUEST.format(
        k=len(seeds),
        seeds=listed,
        answer_rule=ANSWER_RULE if verifiable else "",
        answer_line="\nAnswer: <the answer>" if verifiable else "",
    )


def parse_generated(raw: str, seeds: Sequence[str]) -> Generated | None:
    """The reasoning, prompt and answer in a generator's answer; None when it has no prompt."""
    parts: dict[str, str] = {}
    marks = list(_FIELD.finditer(raw))
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(raw)
        parts[m.group(1).lower()] = raw[m.end() : end].strip()
    prompt = parts.get("new prompt", "")
    if not prompt:
        return None
    return Generated(parts.get("reasoning", ""), prompt, parts.get("answer"), tuple(seeds), raw)


def final_answer(text: str) -> str | None:
    """The answer a solution ends with: after the last `Answer:`/`answer is`, else its last
    number; normalised (lower case, no trailing full stop, numbers as their shortest form)."""
    found = _ANSWER.findall(text)
    value = found[-1] if found else (_NUMBER.findall(text) or [None])[-1]
    if value is None:
        return None
    value = value.strip().rstrip(".").strip().lower()
    number = _NUMBER.fullmatch(value)
    return f"{float(value):g}" if number else value


class Writer(Protocol):
    """Writes one generator answer (reasoning, then a new prompt) from seed prompts."""

    @property
    def id(self) -> str: ...

    def write(self, seed_sets: Sequence[Sequence[str]], *, verifiable: bool) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class ServedWriter:
    """A served instruction model asked `cot_request` (cached by its `ServedModel`)."""

    served: ServedModel
    sampling: Sampling = field(default_factory=lambda: Sampling(temperature=0.7, max_tokens=512))

    @property
    def id(self) -> str:
        return f"llm:{self.served.model}"

    def write(self, seed_sets: Sequence[Sequence[str]], *, verifiable: bool) -> list[str]:
        requests = [cot_request(s, verifiable=verifiable) for s in seed_sets]
        return self.served.generate(requests, sampling=self.sampling)


def plan(seeds: Sequence[str], words: int = 3) -> tuple[list[str], int]:
    """The templated plan: the seeds' commonest content words and their median length."""
    counts = Counter(
        t for s in seeds for t in tokenize(s.lower()) if t.isalpha() and t not in STOPWORDS
    )
    length = int(statistics.median(len(tokenize(s)) for s in seeds))
    return [w for w, _ in counts.most_common(words)], length


@dataclass(frozen=True, slots=True)
class TemplatedWriter:
    """A tiny model's stand-in for reasoning (module docstring): a plan from the seeds, then the
    model continues a seed's opening words and a planned word."""

    complete: Complete
    name: str = "tiny-policy"
    opening: int = 3
    seed: int = 0

    @property
    def id(self) -> str:
        return self.name

    def write(self, seed_sets: Sequence[Sequence[str]], *, verifiable: bool) -> list[str]:
        if verifiable:
            raise ConfigError(
                "a tiny model cannot write verifiable prompts with answers: use a ServedWriter "
                "for verifiable tasks, or verifiable=False with the RIP filter"
            )
        rng = random.Random(self.seed)
        starts, plans = [], []
        for seeds in seed_sets:
            words, length = plan(seeds)
            opening = " ".join(tokenize(rng.choice(seeds))[: self.opening])
            starts.append(f"{opening} {words[0]}" if words else opening)
            plans.append(
                f"the seeds speak of {', '.join(words) or 'nothing in common'}; they run to about "
                f"{length} words; open like a seed and use {words[0] if words else 'its words'}"
            )
        bodies = self.complete(starts)
        return [
            f"Reasoning: {p}\nNew prompt: {s} {b}".strip()
            for p, s, b in zip(plans, starts, bodies, strict=True)
        ]


def generate(
    writer: Writer,
    seeds: Sequence[str],
    count: int,
    *,
    k: int = 4,
    verifiable: bool = False,
    seed: int = 0,
) -> list[Generated]:
    """`count` generation attempts, each from `k` seeds drawn without replacement; the answers
    that hold no prompt are dropped."""
    if len(seeds) < k or k < 1:
        raise InputError(f"CoT-Self-Instruct shows {k} seeds at a time; got {len(seeds)} seeds")
    rng = random.Random(seed)
    sets = [rng.sample(list(seeds), k) for _ in range(count)]
    raws = writer.write(sets, verifiable=verifiable)
    parsed = (parse_generated(r, s) for r, s in zip(raws, sets, strict=True))
    return [g for g in parsed if g is not None]


def answer_consistency(generated: Generated, solver: Complete, *, k: int = 5) -> Decision:
    """Keep a verifiable prompt when the majority answer of `k` solutions equals its answer."""
    if generated.answer is None:
        return Decision("answer-consistency", False, 0.0, "the generator gave no answer")
    expected = final_answer(generated.answer)
    answers = [final_answer(s) for s in solver([SOLVE_REQUEST.format(prompt=generated.prompt)] * k)]
    votes = Counter(a for a in answers if a is not None)
    if not votes:
        return Decision("answer-consistency", False, 0.0, f"none of {k} solutions gave an answer")
    top, n = votes.most_common(1)[0]
    keep = top == expected and n > k / 2
    reason = (
        f"majority answer {top!r} ({n} of {k} solutions) "
        f"{'matches' if keep else 'does not match (or is no majority)'} the generated answer "
        f"{expected!r}"
    )
    return Decision("answer-consistency", keep, n / k if top == expected else 0.0, reason)


def lowest_rewards(
    prompts: Sequence[str], responder: Complete, reward: RewardFn, *, k: int = 4
) -> list[float]:
    """For each prompt, the lowest reward of `k` sampled responses (RIP's statistic)."""
    asked = [p for p in prompts for _ in range(k)]
    scores = reward(asked, responder(asked))
    return [min(scores[i * k : (i + 1) * k]) for i in range(len(prompts))]


def rip_threshold(seed_lowest: Sequence[float], percentile: float) -> float:
    """The `percentile`-th percentile (0–100, linear interpolation) of the seeds' lowest rewards."""
    if not 0 <= percentile <= 100 or not seed_lowest:
        raise ConfigError(f"RIP needs seed rewards and a percentile in [0, 100], got {percentile}")
    return float(np.percentile(np.asarray(seed_lowest, dtype=np.float64), percentile))


def rip(lowest: float, threshold: float, percentile: float) -> Decision:
    """Keep a prompt whose lowest reward is at least the seeds' threshold."""
    keep = lowest >= threshold
    reason = (
        f"lowest reward of its responses {lowest:.3f} {'>=' if keep else '<'} {threshold:.3f}, "
        f"the {percentile:g}th percentile of the seed prompts' lowest rewards"
    )
    return Decision("rip", keep, lowest, reason)


def log_filtered(
    ledger: Ledger,
    writer_id: str,
    items: Sequence[tuple[Generated, Decision]],
    seed_ids: dict[str, EntryId] | None = None,
) -> list[Filtered]:
    """Log each generated prompt as a synthetic record (its seeds' records as parents, when
    `seed_ids` maps their texts) and each decision as a verdict on it."""
    seeds = seed_ids or {}
    out = []
    for g, d in items:
        parents = [seeds[s] for s in g.seeds if s in seeds]
        tags = {} if g.answer is None else {"answer": g.answer}
        producer = Producer(writer_id, None, {"method": "cot-self-instruct", "k": len(g.seeds)})
        rec = ledger.append(
            [text_record(g.prompt, "synthetic", producer=producer, parents=parents, tags=tags)]
        )[0].id
        v = verdict(
            rec,
            d.filter,
            "ai",
            label="accept" if d.keep else "reject",
            score=d.score,
            rationale=d.reason,
        )
        out.append(Filtered(g, d, rec, ledger.append([v])[0].id))
    return out


def self_instruct(
    writer: Writer,
    seeds: Sequence[str],
    count: int,
    *,
    responder: Complete,
    reward: RewardFn | None = None,
    verifiable: bool = False,
    k: int = 4,
    samples: int = 4,
    percentile: float = 50.0,
    seed: int = 0,
    ledger: Ledger | None = None,
    seed_ids: dict[str, EntryId] | None = None,
) -> list[Filtered]:
    """Generate `count` prompts from `seeds` and filter them: Answer-Consistency with
    `responder` as the solver when `verifiable`, else RIP with `responder` and `reward`; with
    a ledger, log every prompt and decision (`log_filtered`)."""
    made = generate(writer, seeds, count, k=k, verifiable=verifiable, seed=seed)
    if verifiable:
        decisions = [answer_consistency(g, responder, k=samples) for g in made]
    else:
        if reward is None:
            raise ConfigError(
                "RIP filters by reward: give a reward function for non-verifiable tasks"
            )
        threshold = rip_threshold(lowest_rewards(seeds, responder, reward, k=samples), percentile)
        lows = lowest_rewards([g.prompt for g in made], responder, reward, k=samples)
        decisions = [rip(low, threshold, percentile) for low in lows]
    pairs = list(zip(made, decisions, strict=True))
    if ledger is None:
        return [Filtered(g, d) for g, d in pairs]
    return log_filtered(ledger, writer.id, pairs, seed_ids)
