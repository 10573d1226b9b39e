"""Policy optimisation with a KL leash: GRPO and DPO on a tiny causal language model.

The policy is a GPT-2-shaped model (`transformers.GPT2LMHeadModel`) built from a config, with
a word-level tokenizer trained locally (`tokenizers`), warm-started by a short supervised pass
(next-token cross-entropy on packed `[BOS] text [EOS]` windows) so that its samples are
text-like. Nothing is downloaded. The reference policy π_ref is a frozen copy taken after the
warm start.

GRPO (Shao et al. 2024, "DeepSeekMath", arXiv 2402.03300, §4.1, eq. 3) runs on TRL 1.16's
`GRPOTrainer` with `loss_type="grpo"`, one iteration per generation and `beta` > 0: for each
prompt q, G completions o_1…o_G are sampled from π; with rewards r_i, the group-relative
advantage is Â_i = (r_i − mean(r)) / (std(r) + 1e-4) for every token of o_i, and the loss is

    L = −(1/G) Σ_i (1/|o_i|) Σ_t [ (π(o_i,t)/π_old(o_i,t))·Â_i − β·D_t ],
    D_t = π_ref/π − log(π_ref/π) − 1,

D_t the unbiased, non-negative estimator of KL(π ‖ π_ref) per token (Schulman 2020, "k3"); the
logged KL is TRL's mean of D_t over the step's completion tokens. keel hands the trainer the
reward as a reward function (which also records the prompts and completions of each step for
the ledger), the gold reward as a second function of weight 0 (logged beside the proxy, never
trained on), and a callback that turns each step's log into a `StepLog`, asks the Goodhart gate
and stops the trainer between two steps. The reference policy is the warm-started weights,
saved to a temporary folder that the trainer loads π_ref from.

DPO (Rafailov et al. 2023, "Direct Preference Optimization", arXiv 2305.18290, eq. 7): on
pairs (x, y_w, y_l), L = −log σ(β·[log π(y_w|x)/π_ref(y_w|x) − log π(y_l|x)/π_ref(y_l|x)]).
Its KL and rewards are measured on completions sampled from π at each step. It stays a plain
torch loop beside TRL's `DPOTrainer`: the ledger must name the pairs each step trained on, which
the trainer's shuffling sampler does not tell its callbacks, and each step also samples the
policy for the KL and the gold reward the gate reads.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import random
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from keel.errors import ConfigError, InputError, require
from keel.records import JSON
from keel.rlaif.gate import GateConfig, GateDecision, check_gate

RewardFn = Callable[[Sequence[str], Sequence[str]], list[float]]
"""A reward function: (prompts, completions) → one reward per completion. R1's
`RewardModel.score`, `judge_reward`, `calibrated_reward` and any callable of this shape."""
Method = Literal["grpo", "dpo"]
SPECIALS = ("[UNK]", "[PAD]", "[BOS]", "[EOS]")


def extra(name: str) -> ModuleType:
    """Import one module of the `[rl]` extra, or a ConfigError naming the extra."""
    return require(
        name,
        f"policy optimisation needs {name}: pip install 'keel[rl]' (install torch's CPU build "
        "first to pick it)",
    )


@contextlib.contextmanager
def _threads(count: int) -> Iterator[None]:
    torch = extra("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """The tiny model's size, its warm start, and the optimisation's settings."""

    layers: int = 2
    width: int = 64
    heads: int = 2
    context: int = 40
    vocab: int = 2000
    """Most words the tokenizer keeps (the commonest); the rest read as [UNK]."""
    sft_steps: int = 200
    sft_batch: int = 32
    sft_lr: float = 3e-3
    steps: int = 30
    prompts_per_step: int = 4
    group: int = 6
    """G: completions sampled per prompt (GRPO); completions sampled per prompt to measure the
    KL (DPO)."""
    max_new_tokens: int = 16
    beta: float = 0.04
    lr: float = 5e-4
    temperature: float = 1.0
    group_steps: int = 10
    """Steps per step group: one ledger checkpoint per group."""
    seed: int = 0
    threads: int = 1

    def __post_init__(self) -> None:
        sizes = {
            "layers": self.layers,
            "width": self.width,
            "heads": self.heads,
            "steps": self.steps,
            "prompts_per_step": self.prompts_per_step,
            "max_new_tokens": self.max_new_tokens,
            "group_steps": self.group_steps,
            "threads": self.threads,
        }
        bad = [k for k, v in sizes.items() if v < 1]
        if bad or self.group < 2 or self.sft_steps < 0 or self.sft_batch < 1:
            raise ConfigError(
                f"policy settings {', '.join(bad) or 'group/sft'} out of range: sizes and "
                "counts must be >= 1, group >= 2 (advantages compare completions), "
                "sft_steps >= 0"
            )
        if self.width % self.heads:
            raise ConfigError(f"width {self.width} must be a multiple of heads {self.heads}")
        if self.context < self.max_new_tokens + 4:
            raise ConfigError(
                f"context {self.context} leaves no room for a prompt before {self.max_new_tokens}"
                " new tokens: raise context or lower max_new_tokens"
            )
        if self.beta < 0 or self.lr <= 0 or self.temperature <= 0 or self.vocab < 8:
            raise ConfigError("need beta >= 0, lr > 0, temperature > 0 and vocab >= 8")

    def to_json(self) -> dict[str, JSON]:
        out: dict[str, JSON] = dict(asdict(self))
        return out


@dataclass(frozen=True, slots=True)
class StepLog:
    """One optimisation step: β, KL(π ‖ π_ref) per token, the mean proxy reward, the mean gold
    reward (None without one), the loss, and the mean completion length in tokens."""

    step: int
    beta: float
    kl: float
    proxy: float
    gold: float | None
    loss: float
    length: float

    def to_json(self) -> dict[str, JSON]:
        out: dict[str, JSON] = dict(asdict(self))
        return out


@dataclass(frozen=True, slots=True)
class StepGroup:
    """What steps `first`…`last` used: the prompt of each completion, the completions, and the
    weights' SHA-256 after the last step (the checkpoint)."""

    first: int
    last: int
    prompts: tuple[str, ...]
    completions: tuple[str, ...]
    weights_sha256: str


@dataclass(frozen=True, slots=True)
class PolicyRun:
    """A finished run: its settings, the per-step log, the gate's last decision (None without
    a gold reward), the final weights' SHA-256 and a few (prompt, completion) samples."""

    method: Method
    config: PolicyConfig
    steps: tuple[StepLog, ...]
    gate: GateDecision | None
    weights_sha256: str
    samples: tuple[tuple[str, str], ...]

    @property
    def stopped(self) -> bool:
        return self.gate is not None and self.gate.stop

    def to_json(self) -> dict[str, object]:
        return {
            "method": self.method,
            "config": self.config.to_json(),
            "steps": [s.to_json() for s in self.steps],
            "gate": None if self.gate is None else self.gate.to_json(),
            "weights_sha256": self.weights_sha256,
            "samples": [list(s) for s in self.samples],
        }


def train_tokenizer(texts: Sequence[str], vocab: int) -> Any:
    """A word-level fast tokenizer trained on `texts` (whitespace and punctuation split); with
    special tokens on (how a trainer encodes its prompts) a text starts with [BOS], as every
    text of the warm start does."""
    tokenizers = extra("tokenizers")
    transformers = extra("transformers")
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(unk_token="[UNK]"))
    tok.normalizer = tokenizers.normalizers.Lowercase()
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    trainer = tokenizers.trainers.WordLevelTrainer(vocab_size=vocab, special_tokens=list(SPECIALS))
    tok.train_from_iterator(texts, trainer)
    tok.post_processor = tokenizers.processors.TemplateProcessing(
        single="[BOS] $A", special_tokens=[("[BOS]", tok.token_to_id("[BOS]"))]
    )
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        bos_token="[BOS]",
        eos_token="[EOS]",
    )


class TinyPolicy:
    """A tiny GPT-2 and its tokenizer: sampling, log-probabilities, the weights' digest."""

    def __init__(self, model: Any, tokenizer: Any, config: PolicyConfig) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.config = config

    @classmethod
    def build(cls, texts: Sequence[str], config: PolicyConfig | None = None) -> TinyPolicy:
        """Train the tokenizer on `texts`, build the model from the config, warm-start it."""
        cfg = config or PolicyConfig()
        if len(texts) < 2:
            raise InputError(f"the policy needs texts to train on; got {len(texts)}")
        torch = extra("torch")
        transformers = extra("transformers")
        tok = train_tokenizer(texts, cfg.vocab)
        torch.manual_seed(cfg.seed)
        gpt = transformers.GPT2Config(
            vocab_size=len(tok),
            n_positions=cfg.context,
            n_embd=cfg.width,
            n_layer=cfg.layers,
            n_head=cfg.heads,
            bos_token_id=tok.bos_token_id,
            eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
        )
        policy = cls(transformers.GPT2LMHeadModel(gpt), tok, cfg)
        policy.warm_start(texts)
        return policy

    def warm_start(self, texts: Sequence[str]) -> None:
        """`sft_steps` of next-token cross-entropy on windows of the packed texts."""
        torch = extra("torch")
        cfg = self.config
        if cfg.sft_steps == 0:
            return
        stream: list[int] = []
        for text in texts:
            stream += [
                self.tokenizer.bos_token_id,
                *self._encode(text),
                self.tokenizer.eos_token_id,
            ]
        if len(stream) <= cfg.context + 1:
            raise InputError(f"{len(texts)} texts are too short to warm the policy up on")
        data = torch.tensor(stream)
        draws = torch.Generator().manual_seed(cfg.seed)
        opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.sft_lr)
        self.model.train()
        with _threads(cfg.threads):
            for _ in range(cfg.sft_steps):
                starts = torch.randint(
                    0, len(stream) - cfg.context, (cfg.sft_batch,), generator=draws
                )
                batch = torch.stack([data[s : s + cfg.context] for s in starts.tolist()])
                logits = self.model(input_ids=batch, attention_mask=torch.ones_like(batch)).logits
                loss = torch.nn.functional.cross_entropy(
                    logits[:, :-1].reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1)
                )
                opt.zero_grad()
                loss.backward()
                opt.step()
        self.model.eval()

    def _encode(self, text: str) -> list[int]:
        ids: list[int] = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return ids

    def copy(self, config: PolicyConfig | None = None) -> TinyPolicy:
        """An independent, trainable copy, optimised with `config`'s settings when given (its
        sizes must be this model's): one warm start serves several runs."""
        cfg = config or self.config
        sizes = ("layers", "width", "heads", "context", "vocab")
        changed = [k for k in sizes if getattr(cfg, k) != getattr(self.config, k)]
        if changed:
            raise ConfigError(
                f"a copy keeps the model's size; {', '.join(changed)} differ: build a new policy"
            )
        return TinyPolicy(copy.deepcopy(self.model), self.tokenizer, cfg)

    def frozen_copy(self) -> TinyPolicy:
        """A copy whose weights do not train: the reference policy π_ref."""
        model = copy.deepcopy(self.model)
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        return TinyPolicy(model, self.tokenizer, self.config)

    def digest(self) -> str:
        """SHA-256 of the weights: each tensor's name and little-endian float32 bytes, by name."""
        h = hashlib.sha256()
        for name, tensor in sorted(self.model.state_dict().items()):
            h.update(name.encode() + b"\0")
            h.update(tensor.detach().to("cpu").float().contiguous().numpy().tobytes())
        return h.hexdigest()

    def prompt_ids(self, prompt: str) -> list[int]:
        """[BOS] and the prompt's ids, cut to leave room for `max_new_tokens`."""
        room = self.config.context - self.config.max_new_tokens - 1
        ids = self._encode(prompt)
        return (
            [self.tokenizer.bos_token_id, *ids[len(ids) - room :]]
            if len(ids) > room
            else [self.tokenizer.bos_token_id, *ids]
        )

    def sample(self, prompt: str, n: int, draws: Any) -> tuple[list[str], Any, Any, int]:
        """n completions of `prompt`: their texts, the ids (prompt then completion, padded
        after [EOS]), the mask of completion tokens ([EOS] included) and the prompt's length."""
        torch = extra("torch")
        eos, pad = self.tokenizer.eos_token_id, self.tokenizer.pad_token_id
        start = self.prompt_ids(prompt)
        ids = torch.tensor([start] * n)
        done = torch.zeros(n, dtype=torch.bool)
        new: list[Any] = []
        cache = None
        step_in = ids
        with torch.no_grad():
            for k in range(self.config.max_new_tokens):
                seen = torch.ones(n, len(start) + k, dtype=torch.long)
                out = self.model(
                    input_ids=step_in, cache=cache, attention_mask=seen, use_cache=True
                )
                cache = out.cache
                logits = out.logits[:, -1, :] / self.config.temperature
                logits[:, pad] = -torch.inf
                nxt = torch.multinomial(torch.softmax(logits, -1), 1, generator=draws)[:, 0]
                nxt = torch.where(done, torch.full_like(nxt, pad), nxt)
                new.append(nxt)
                done = done | (nxt == eos)
                step_in = nxt[:, None]
                if bool(done.all()):
                    break
        gen = torch.stack(new, 1)
        mask = torch.ones_like(gen, dtype=torch.float32)
        ended = torch.cumsum((gen == eos).int(), 1)
        mask[(ended - (gen == eos).int()) > 0] = 0.0
        texts = [
            self.tokenizer.decode([t for t in row if t not in (eos, pad)], skip_special_tokens=True)
            for row in gen.tolist()
        ]
        return texts, torch.cat([ids, gen], 1), mask, len(start)

    def token_log_probs(self, ids: Any, prompt_len: int) -> Any:
        """log π(token) of each completion token of `ids` (rows × completion length)."""
        torch = extra("torch")
        seen = torch.ones_like(ids)
        logits = self.model(input_ids=ids, attention_mask=seen).logits[:, prompt_len - 1 : -1, :]
        logp = torch.log_softmax(logits, -1)
        return logp.gather(-1, ids[:, prompt_len:, None])[..., 0]

    def complete(self, prompts: Sequence[str], *, seed: int = 0) -> list[str]:
        """One sampled completion per prompt."""
        torch = extra("torch")
        draws = torch.Generator().manual_seed(seed)
        with _threads(self.config.threads):
            return [self.sample(p, 1, draws)[0][0] for p in prompts]


def _encode_pair(policy: TinyPolicy, prompt: str, completion: str) -> tuple[Any, int]:
    torch = extra("torch")
    start = policy.prompt_ids(prompt)
    body = policy._encode(completion)[: policy.config.max_new_tokens - 1]
    return torch.tensor([[*start, *body, policy.tokenizer.eos_token_id]]), len(start)


class _Steps:
    """What both loops keep after each step: the log (handed to `on_step`), the gate's decision
    (with a gold reward), and the prompts and completions of the step group under way (handed
    to `on_group` every `group_steps` steps, after the last step, or when the gate stops)."""

    def __init__(
        self,
        config: PolicyConfig,
        gated: bool,
        gate: GateConfig | None,
        on_step: Callable[[StepLog], None] | None,
        on_group: Callable[[StepGroup], None] | None,
    ) -> None:
        self.config = config
        self.gated = gated
        self.gate = gate
        self.on_step = on_step
        self.on_group = on_group
        self.logs: list[StepLog] = []
        self.decision: GateDecision | None = None
        self.prompts: list[str] = []
        self.completions: list[str] = []
        self.first = 0

    def used(self, prompts: Sequence[str], completions: Sequence[str]) -> None:
        self.prompts += prompts
        self.completions += completions

    def after(self, log: StepLog, policy: TinyPolicy) -> bool:
        """Keep one step's log; True when the gate says stop."""
        self.logs.append(log)
        if self.on_step is not None:
            self.on_step(log)
        if self.gated:
            gold = [s.gold or 0.0 for s in self.logs]
            proxy = [s.proxy for s in self.logs]
            self.decision = check_gate(gold, proxy, [s.kl for s in self.logs], self.gate)
        stop = self.decision is not None and self.decision.stop
        step = log.step
        if self.on_group is not None and (
            stop or (step + 1) % self.config.group_steps == 0 or step + 1 == self.config.steps
        ):
            group = StepGroup(
                self.first, step, tuple(self.prompts), tuple(self.completions), policy.digest()
            )
            self.on_group(group)
            self.prompts, self.completions, self.first = [], [], step + 1
        return stop


def grpo(
    policy: TinyPolicy,
    prompts: Sequence[str],
    reward: RewardFn,
    *,
    gold: RewardFn | None = None,
    gate: GateConfig | None = None,
    on_step: Callable[[StepLog], None] | None = None,
    on_group: Callable[[StepGroup], None] | None = None,
) -> PolicyRun:
    """Optimise `policy` in place by GRPO on `prompts` with `reward`, on TRL's `GRPOTrainer`
    (module docstring): each step samples `group` completions of `prompts_per_step` prompts.

    With `gold`, each step also scores its completions with the gold reward and the Goodhart
    gate (`keel.rlaif.gate`) decides after each step whether to stop. `on_step` sees each
    step's log, `on_group` each step group (for the ledger)."""
    trl = extra("trl")
    datasets = extra("datasets")
    cfg = policy.config
    if not prompts:
        raise InputError("GRPO needs prompts: give at least one")
    room = cfg.context - cfg.max_new_tokens - 1
    long = next((p for p in prompts if len(policy._encode(p)) > room), None)
    if long is not None:
        raise InputError(
            f"the prompt {long[:60]!r} has more than {room} tokens, the room the context of "
            f"{cfg.context} leaves before {cfg.max_new_tokens} new tokens: shorten the prompts "
            "or raise context"
        )
    steps = _Steps(cfg, gold is not None, gate, on_step, on_group)

    def proxy(prompts: list[str], completions: list[str], **_: object) -> list[float]:
        r = reward(prompts, completions)
        if len(r) != len(completions):
            raise InputError(f"the reward gave {len(r)} rewards for {len(completions)} texts")
        steps.used(prompts, completions)
        return [float(v) for v in r]

    def gold_score(prompts: list[str], completions: list[str], **_: object) -> list[float]:
        assert gold is not None
        return [float(v) for v in gold(prompts, completions)]

    funcs: list[Callable[..., list[float]]] = [proxy] if gold is None else [proxy, gold_score]
    with (
        tempfile.TemporaryDirectory(prefix="keel-grpo-") as tmp,
        _threads(cfg.threads),
        warnings.catch_warnings(),
    ):
        # TRL 1.16 calls transformers' gradient-checkpointing names that v5 renamed
        warnings.filterwarnings(
            "ignore", "`.*` is deprecated and will be removed in v6", FutureWarning
        )
        model = policy.model
        named = model.config._name_or_path
        model.save_pretrained(tmp)  # π_ref: the trainer loads the reference policy from here
        model.config._name_or_path = tmp
        args = trl.GRPOConfig(
            output_dir=str(Path(tmp) / "trainer"),
            max_steps=cfg.steps,
            per_device_train_batch_size=cfg.prompts_per_step * cfg.group,
            num_generations=cfg.group,
            max_completion_length=cfg.max_new_tokens,
            temperature=cfg.temperature,
            beta=cfg.beta,
            loss_type="grpo",
            learning_rate=cfg.lr,
            lr_scheduler_type="constant",
            reward_weights=[1.0] if gold is None else [1.0, 0.0],
            disable_dropout=True,
            logging_steps=1,
            save_strategy="no",
            report_to="none",
            use_cpu=True,
            disable_tqdm=True,
            seed=cfg.seed,
        )
        trainer = trl.GRPOTrainer(
            model=model,
            reward_funcs=funcs,
            args=args,
            train_dataset=datasets.Dataset.from_dict({"prompt": list(prompts)}),
            processing_class=policy.tokenizer,
            callbacks=[_step_callback(steps, policy)],
        )
        trainer.remove_callback(extra("transformers").PrinterCallback)
        try:
            trainer.train()
        finally:
            model.config._name_or_path = named
    model.eval()
    samples = tuple(zip(prompts[:4], policy.complete(prompts[:4], seed=cfg.seed), strict=True))
    return PolicyRun("grpo", cfg, tuple(steps.logs), steps.decision, policy.digest(), samples)


def _step_callback(steps: _Steps, policy: TinyPolicy) -> Any:
    """A `TrainerCallback` that turns each step's log into a `StepLog` for `steps` and stops
    the trainer when the gate says so."""
    transformers = extra("transformers")

    class StepCallback(transformers.TrainerCallback):  # type: ignore[misc,name-defined]
        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **_: Any) -> Any:
            if not logs or "kl" not in logs:
                return control
            gold = logs.get("rewards/gold_score/mean")
            log = StepLog(
                state.global_step - 1,
                steps.config.beta,
                float(logs["kl"]),
                float(logs["rewards/proxy/mean"]),
                None if gold is None else float(gold),
                float(logs["loss"]),
                float(logs["completions/mean_length"]),
            )
            if steps.after(log, policy):
                control.should_training_stop = True
            return control

    return StepCallback()


def dpo(
    policy: TinyPolicy,
    pairs: Sequence[tuple[str, str, str]],
    *,
    reward: RewardFn | None = None,
    gold: RewardFn | None = None,
    gate: GateConfig | None = None,
    on_step: Callable[[StepLog], None] | None = None,
    on_group: Callable[[StepGroup], None] | None = None,
) -> PolicyRun:
    """Optimise `policy` in place by DPO (module docstring) on (prompt, chosen, rejected) pairs.

    Each step also samples `group` completions of one of its prompts to measure KL(π ‖ π_ref)
    (mean k3 per token), the proxy `reward` (or, without one, the mean implicit reward margin
    β·Δlog-ratio of the step's pairs) and the gold reward with its gate."""
    torch = extra("torch")
    cfg = policy.config
    if not pairs:
        raise InputError("DPO needs preference pairs (prompt, chosen, rejected): give some")
    ref = policy.frozen_copy()
    rng = random.Random(cfg.seed)
    draws = torch.Generator().manual_seed(cfg.seed)
    opt = torch.optim.AdamW(policy.model.parameters(), lr=cfg.lr)
    steps = _Steps(cfg, gold is not None, gate, on_step, on_group)

    def seq_logp(model: TinyPolicy, prompt: str, completion: str) -> Any:
        ids, plen = _encode_pair(policy, prompt, completion)
        return model.token_log_probs(ids, plen).sum()

    with _threads(cfg.threads):
        for step in range(cfg.steps):
            batch = [rng.choice(pairs) for _ in range(cfg.prompts_per_step)]
            opt.zero_grad()
            policy.model.train()
            total = margin = 0.0
            for prompt, chosen, rejected in batch:
                with torch.no_grad():
                    ref_w, ref_l = seq_logp(ref, prompt, chosen), seq_logp(ref, prompt, rejected)
                h = (seq_logp(policy, prompt, chosen) - ref_w) - (
                    seq_logp(policy, prompt, rejected) - ref_l
                )
                loss = -torch.nn.functional.logsigmoid(cfg.beta * h) / len(batch)
                loss.backward()
                total += float(loss.detach())
                margin += cfg.beta * float(h.detach()) / len(batch)
                steps.used([prompt, prompt], [chosen, rejected])
            opt.step()
            policy.model.eval()
            probe = batch[0][0]
            with torch.no_grad():
                texts, ids, mask, plen = policy.sample(probe, cfg.group, draws)
                diff = ref.token_log_probs(ids, plen) - policy.token_log_probs(ids, plen)
                k3 = torch.exp(diff) - diff - 1
                kl = float((k3 * mask).sum()) / max(float(mask.sum()), 1.0)
            proxy = margin if reward is None else _mean(reward([probe] * cfg.group, texts))
            g = None if gold is None else _mean(gold([probe] * cfg.group, texts))
            log = StepLog(step, cfg.beta, kl, proxy, g, total, float(mask.sum()) / cfg.group)
            if steps.after(log, policy):
                break
    heads = [p for p, _, _ in pairs[:4]]
    samples = tuple(zip(heads, policy.complete(heads, seed=cfg.seed), strict=True))
    return PolicyRun("dpo", cfg, tuple(steps.logs), steps.decision, policy.digest(), samples)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)
