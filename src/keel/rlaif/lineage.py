"""Policy runs in the ledger, and the walk from a policy checkpoint back to its judges.

What a policy run logs (`PolicyLog`):
- its prompts as records and a mix of them (the run's data);
- for each step group (`PolicyConfig.group_steps` steps): every completion sampled as a
  synthetic record (producer `keel.rlaif.policy`, version the checkpoint's weights SHA-256,
  parent the prompt's record), a mix of them, and a run entry (a checkpoint) on that mix whose
  `uses` name the prompts' mix, the reward model's run (when the reward is a logged reward model)
  and the previous checkpoint, with the weights' SHA-256 as its artifact;
- at the end, the policy run: a run entry on the prompts' mix with the config (β, seed, steps),
  the per-step log's summary and the gate's decision, the final weights' SHA-256, and `uses`
  the reward model's run and the last checkpoint.

`trace` walks breadth-first from any entry through everything it depends on (a run's mix and
`uses`, a mix's members, a record's parents, a verdict's or a preference's records), collecting
the judges named on the way: from a checkpoint it reaches the completions, the prompts, the
reward model's run, its pairs' mix, the preference entries and the judges that made them (and,
for a corrected fit, the anchors' expert preferences). The other judgements of the records it
reaches (verdicts, other judges' preferences) are listed apart: they are about those records,
but the start does not depend on them. `keel ledger lineage` walks a record's parents only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from keel.errors import NotFoundError
from keel.ledger import Ledger, Located
from keel.records import (
    JSON,
    Digest,
    EntryId,
    Mix,
    Origin,
    Producer,
    Record,
    Run,
    mix,
    parse_member_list,
    references,
    text_record,
)
from keel.rlaif.policy import PolicyConfig, PolicyRun, StepGroup

POLICY_MODEL = "keel.rlaif.policy"


class PolicyLog:
    """Logs one policy run as it trains: pass it as `on_group` to `grpo`/`dpo`, then `finish`."""

    def __init__(
        self,
        ledger: Ledger,
        prompts: Sequence[str],
        config: PolicyConfig,
        *,
        method: str = "grpo",
        reward_run: EntryId | None = None,
        prompt_origin: Origin = "human",
        prompt_author: str | None = None,
    ) -> None:
        self.ledger = ledger
        self.config = config
        self.method = method
        self.reward_run = reward_run
        found = ledger.append(
            text_record(p, prompt_origin, author=prompt_author) for p in dict.fromkeys(prompts)
        )
        self.prompt_ids = dict(zip(dict.fromkeys(prompts), (a.id for a in found), strict=True))
        entry, data = mix(list(self.prompt_ids.values()), {"role": "rlaif prompts"})
        self.prompts_mix = ledger.append([(entry, data)])[0].id
        self.checkpoints: list[EntryId] = []

    def _uses(self, *more: EntryId | None) -> tuple[EntryId, ...]:
        return tuple(dict.fromkeys(u for u in more if u is not None))

    def __call__(self, group: StepGroup) -> None:
        """Log one step group: its completions, their mix, and the checkpoint's run entry."""
        producer = Producer(
            POLICY_MODEL,
            group.weights_sha256,
            {"method": self.method, "steps": [group.first, group.last]},
        )
        records = []
        for prompt, completion in zip(group.prompts, group.completions, strict=True):
            parent = self.prompt_ids.get(prompt)
            if parent is None:
                found = self.ledger.append([text_record(prompt, "synthetic")])
                parent = self.prompt_ids[prompt] = found[0].id
            records.append(
                text_record(completion, "synthetic", producer=producer, parents=(parent,))
            )
        ids = [a.id for a in self.ledger.append(records)]
        entry, data = mix(ids, {"role": "rlaif completions", "steps": [group.first, group.last]})
        completions_mix = self.ledger.append([(entry, data)])[0].id
        config: dict[str, JSON] = {
            "method": self.method,
            "beta": self.config.beta,
            "seed": self.config.seed,
            "first_step": group.first,
            "last_step": group.last,
            "checkpoint": len(self.checkpoints),
        }
        run = Run(
            completions_mix,
            POLICY_MODEL,
            config,
            Digest(group.weights_sha256),
            self._uses(self.prompts_mix, self.reward_run, *self.checkpoints[-1:]),
        )
        self.checkpoints.append(self.ledger.append([(run, None)])[0].id)

    def finish(self, result: PolicyRun) -> EntryId:
        """Log the policy run itself (module docstring) and return its id."""
        config: dict[str, JSON] = {
            "method": result.method,
            **result.config.to_json(),
            "steps_done": len(result.steps),
            "final": result.steps[-1].to_json() if result.steps else None,
            "gate": None if result.gate is None else _json(result.gate.to_json()),
        }
        run = Run(
            self.prompts_mix,
            POLICY_MODEL,
            config,
            Digest(result.weights_sha256),
            self._uses(self.reward_run, *self.checkpoints[-1:]),
        )
        return self.ledger.append([(run, None)])[0].id


def _json(value: dict[str, object]) -> dict[str, JSON]:
    out: dict[str, JSON] = {}
    for k, v in value.items():
        assert v is None or isinstance(v, bool | int | float | str)
        out[k] = v
    return out


@dataclass(frozen=True, slots=True)
class Traced:
    """An entry reached by `trace`, `depth` references away from the start."""

    located: Located
    depth: int


@dataclass(frozen=True, slots=True)
class Trace:
    """What an entry depends on (breadth-first, nearest first), the judges named on the way,
    and the other judgements of the records reached (entries that judge them but that the start
    does not depend on: another judge's preferences on the same responses, expert verdicts)."""

    start: Located
    reached: tuple[Traced, ...]
    judges: tuple[str, ...]
    judgements: tuple[Located, ...]

    def of_kind(self, kind: str) -> list[Located]:
        return [t.located for t in self.reached if t.located.entry.kind == kind]


JUDGEMENTS = frozenset({"verdict", "preference"})
"""Kinds of the entries that judge a record."""


def trace(ledger: Ledger, ref: str) -> Trace:
    """Walk from `ref` through everything it depends on (module docstring), then collect the
    judgements of every record reached."""
    with ledger.snapshot():
        start = ledger.locate(ref)
        seen = {start.id}
        queue: list[tuple[Located, int]] = [(start, 0)]
        reached: list[Traced] = []
        judges: dict[str, None] = {}
        while queue:
            loc, depth = queue.pop(0)
            entry = loc.entry
            judge = getattr(entry, "judge", None)
            if isinstance(judge, str):
                judges[judge] = None
            ids = list(references(entry))
            if isinstance(entry, Mix):
                ids += parse_member_list(ledger.payload(entry.members.sha256))
            for f in (_locate(ledger, i) for i in ids if i not in seen):
                if f is not None and f.id not in seen:
                    seen.add(f.id)
                    reached.append(Traced(f, depth + 1))
                    queue.append((f, depth + 1))
        others: dict[EntryId, Located] = {}
        for t in reached:
            if isinstance(t.located.entry, Record):
                for j in ledger.refs_to(t.located):
                    if j.entry.kind in JUDGEMENTS and j.id not in seen:
                        others[j.id] = j
        return Trace(start, tuple(reached), tuple(judges), tuple(others.values()))


def _locate(ledger: Ledger, ref: EntryId) -> Located | None:
    try:
        return ledger.locate(ref)
    except NotFoundError:
        return None
