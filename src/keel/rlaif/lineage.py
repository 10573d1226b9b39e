"""Policy runs in the ledger: prompts, checkpoints and the run, each with what it used.

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

`keel.ledger.trace` (`keel ledger lineage CHECKPOINT`) walks back from a checkpoint to the
completions, the prompts, the reward model's run, its pairs' mix, the preference entries and
the judges that made them.
"""

from __future__ import annotations

from collections.abc import Sequence

from keel.ledger import Ledger
from keel.records import (
    JSON,
    Digest,
    EntryId,
    Origin,
    Producer,
    Run,
    mix,
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
