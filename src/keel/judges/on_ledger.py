"""Judging a ledger's records: which judge to build, which records it still has to judge, and
the verdicts appended for them. `keel judge run` and the loop's judge step both go through here.

A judge is built from its backend (`make_judge`): ``likelihood`` (an n-gram model of human
texts, conformal p-value of the mean log-likelihood), ``repetition`` (conformal p-value of
distinct-3 against human texts), or ``llm`` (a served model with a rubric). The offline ones
need the verified human texts they are calibrated on; which texts those are is the caller's
choice (the loop: generation 0 of its split; the CLI: the ledger's human and expert records).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from keel.errors import ConfigError, InputError
from keel.judges.backends import LLMJudge, likelihood_judge, repetition_judge
from keel.judges.base import Judge, JudgeBackend, JudgeResult, Rubric, run_judge, to_verdicts
from keel.ledger import Appended, Judged, Ledger, Snapshot, texts
from keel.models import ServedModel
from keel.records import HUMAN_ORIGINS, EntryId, Record
from keel.scale import Executor


def make_judge(
    backend: JudgeBackend,
    human: Sequence[str] = (),
    *,
    judge_id: str | None = None,
    order: int = 3,
    alpha: float = 0.05,
    seed: int = 0,
    served: ServedModel | None = None,
    rubric: Path | None = None,
) -> Judge:
    """The judge of `backend`: offline ones trained and calibrated on `human` (accept at
    conformal p ≥ `alpha`), an llm one asking `served` with the rubric file `rubric`."""
    if backend == "likelihood":
        return likelihood_judge(human, order=order, alpha=alpha, seed=seed, judge_id=judge_id)
    if backend == "repetition":
        return repetition_judge(human, alpha=alpha, judge_id=judge_id)
    if served is None or rubric is None:
        raise ConfigError("an llm judge needs a served model and a rubric file")
    return LLMJudge(served, Rubric.load(rubric), judge_id)


@dataclass(frozen=True, slots=True)
class Candidates:
    """The text records of one ledger snapshot that a judge can read (payload present), in log
    order, with their text and the ids of the judges (AI and expert) that judged each."""

    records: Mapping[EntryId, tuple[Record, str]]
    judged_by: Mapping[EntryId, frozenset[str]]

    @classmethod
    def of(cls, led: Ledger, items: Sequence[Judged] | None = None) -> Candidates:
        """The candidates among `items` (default: every record of a fresh snapshot)."""
        if items is None:
            items = Snapshot.load(led).records
        items = [j for j in items if j.record.payload.type == "text"]
        records: dict[EntryId, tuple[Record, str]] = {}
        judged_by: dict[EntryId, frozenset[str]] = {}
        for j, text in zip(items, texts(led, items), strict=True):
            if text is not None:
                records[j.id] = (j.record, text)
                judged_by[j.id] = frozenset(v.judge for v in (*j.ai, *j.expert))
        return cls(records, judged_by)

    @property
    def human(self) -> list[str]:
        """The texts of the human and expert records, for calibrating an offline judge."""
        return [t for r, t in self.records.values() if r.origin in HUMAN_ORIGINS]

    def select(
        self,
        led: Ledger,
        refs: Sequence[str] = (),
        *,
        generation: int | None = None,
        origins: Sequence[str] = (),
    ) -> list[EntryId]:
        """The records named by `refs` (ids, id prefixes, external ids; default: all), narrowed
        to `generation` and `origins` when given, each once, in the order named."""
        if refs:
            ids = [led.locate(r).id for r in refs]
            for rid, ref in zip(ids, refs, strict=True):
                if rid not in self.records:
                    raise InputError(
                        f"{ref} is not a text record with its payload: cannot judge it"
                    )
        else:
            ids = list(self.records)
        return [
            i
            for i in dict.fromkeys(ids)
            if (generation is None or self.records[i][0].generation == generation)
            and (not origins or self.records[i][0].origin in origins)
        ]

    def todo(self, judge_id: str, ids: Sequence[EntryId]) -> list[EntryId]:
        """`ids` that `judge_id` has no verdict on yet: a rerun resumes where one stopped."""
        return [i for i in ids if judge_id not in self.judged_by.get(i, frozenset())]


@dataclass(frozen=True, slots=True)
class Judging:
    """What one judge did to a ledger: results per record judged, the entries appended."""

    judge: Judge
    ids: tuple[EntryId, ...]
    results: tuple[JudgeResult, ...]
    appended: tuple[Appended, ...]

    @property
    def unparseable(self) -> list[EntryId]:
        """Records whose answer could not be read: no verdict was logged for them."""
        return [i for i, r in zip(self.ids, self.results, strict=True) if not r.parsed]


def judge_records(
    led: Ledger,
    judge: Judge,
    candidates: Candidates,
    ids: Sequence[EntryId],
    *,
    on_done: Callable[[int], None] | None = None,
    executor: Executor | None = None,
    concurrency: int | None = None,
) -> Judging:
    """Judge the records `ids` (candidates) that `judge` has not judged yet and append the
    verdicts of the answers it could read. With an `executor` (`keel.scale`) the judging runs
    in chunks on it, at most `concurrency` at once; the verdicts are appended here, by the
    driver, in the order of `ids` (the same entries on any executor)."""
    todo = candidates.todo(judge.id, ids)
    results = run_judge(
        judge,
        [candidates.records[i][1] for i in todo],
        on_done=on_done,
        executor=executor,
        concurrency=concurrency,
    )
    appended = led.append(to_verdicts(judge, todo, results)) if todo else []
    return Judging(judge, tuple(todo), tuple(results), tuple(appended))
